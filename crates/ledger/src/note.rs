//! C2SP signed notes: Ed25519 note signatures (type 0x01), timestamped
//! Ed25519 cosignatures (type 0x04, c2sp.org/tlog-cosignature), verifier keys
//! (`<name>+<hex id>+<base64(type || key)>`) and the note wire format.
//!
//! Parsing is strict and never panics on hostile input; verification follows
//! the spec: signatures from unknown keys are ignored, a known key whose
//! signature does not verify rejects the whole note, and at least one known
//! signature must verify.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of plain Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 cosignatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Notes above this size are refused before parsing (bounds memory use).
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// The spec asks for at least 16; more than this is treated as malformed.
pub const MAX_SIGNATURES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    #[error("invalid key name")]
    BadKeyName,
    #[error("signature by {name} does not verify")]
    InvalidSignature { name: String },
    #[error("no signature by a known key")]
    NoKnownSignature,
    #[error("duplicate signature by {name}")]
    DuplicateSignature { name: String },
}

/// Key names are non-empty, with no Unicode whitespace and no `+`.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// `SHA-256(name || 0x0A || alg || public key)[:4]` as a big-endian u32.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A signer of notes with a plain Ed25519 signature (type 0x01).
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    id: u32,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish()
    }
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::BadKeyName);
        }
        let id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(NoteSigner {
            name: name.to_string(),
            key,
            id,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            alg: ALG_ED25519,
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` (which must end in a newline) and returns the signature line.
    pub fn sign(&self, text: &str) -> NoteSignature {
        let sig = self.key.sign(text.as_bytes());
        let mut bytes = self.id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            id: self.id,
            bytes,
        }
    }
}

/// A cosigner (witness) key: timestamped Ed25519 cosignatures, type 0x04.
#[derive(Clone)]
pub struct CosignatureSigner {
    name: String,
    key: SigningKey,
    id: u32,
}

impl std::fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosignatureSigner")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish()
    }
}

/// The message a v1 cosignature signs (c2sp.org/tlog-cosignature).
pub fn cosignature_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

impl CosignatureSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::BadKeyName);
        }
        let id = key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes());
        Ok(CosignatureSigner {
            name: name.to_string(),
            key,
            id,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            alg: ALG_COSIGNATURE_V1,
            key: self.key.verifying_key(),
        }
    }

    /// Cosigns a checkpoint body at `timestamp` (seconds since the epoch).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> NoteSignature {
        let sig = self
            .key
            .sign(&cosignature_message(timestamp, checkpoint_text));
        let mut bytes = self.id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            id: self.id,
            bytes,
        }
    }
}

/// A public key that can check note signatures or cosignatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    alg: u8,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key `<name>+<hex id>+<base64(alg || key)>`. Only
    /// Ed25519 (0x01) and Ed25519 cosignature (0x04) keys are supported.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let vkey = vkey.trim_end_matches(['\n', '\r']);
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::BadVerifierKey("expected name+id+key"));
        };
        if !valid_key_name(name) {
            return Err(NoteError::BadVerifierKey("invalid name"));
        }
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NoteError::BadVerifierKey("key id must be 8 hex digits"));
        }
        let id = u32::from_str_radix(id_hex, 16)
            .map_err(|_| NoteError::BadVerifierKey("key id must be 8 hex digits"))?;
        let raw = B64
            .decode(key_b64)
            .map_err(|_| NoteError::BadVerifierKey("key is not base64"))?;
        if raw.len() != 33 {
            return Err(NoteError::BadVerifierKey("unsupported key length"));
        }
        let alg = raw[0];
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::BadVerifierKey("unsupported signature type"));
        }
        let bytes: [u8; 32] = raw[1..]
            .try_into()
            .map_err(|_| NoteError::BadVerifierKey("unsupported key length"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError::BadVerifierKey("not an Ed25519 point"))?;
        if key_id(name, alg, &bytes) != id {
            return Err(NoteError::BadVerifierKey("key id does not match key"));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            id,
            alg,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    pub fn is_cosigner(&self) -> bool {
        self.alg == ALG_COSIGNATURE_V1
    }

    /// The verifier key string.
    pub fn vkey(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }

    /// Checks one signature over `text`; returns the cosignature timestamp
    /// for cosigners (0 for plain signatures).
    fn check(&self, text: &str, sig: &[u8]) -> Result<u64, ()> {
        match self.alg {
            ALG_ED25519 => {
                let s = Signature::from_slice(sig).map_err(|_| ())?;
                self.key.verify(text.as_bytes(), &s).map_err(|_| ())?;
                Ok(0)
            }
            ALG_COSIGNATURE_V1 => {
                if sig.len() != 72 {
                    return Err(());
                }
                let ts = u64::from_be_bytes(sig[..8].try_into().map_err(|_| ())?);
                if ts > i64::MAX as u64 {
                    return Err(());
                }
                let s = Signature::from_slice(&sig[8..]).map_err(|_| ())?;
                self.key
                    .verify(&cosignature_message(ts, text), &s)
                    .map_err(|_| ())?;
                Ok(ts)
            }
            _ => Err(()),
        }
    }
}

impl std::fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.vkey())
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub id: u32,
    /// Key id followed by the signature bytes, as base64-encoded on the line.
    pub bytes: Vec<u8>,
}

impl NoteSignature {
    /// `— <name> <base64>\n`
    pub fn line(&self) -> String {
        format!("\u{2014} {} {}\n", self.name, B64.encode(&self.bytes))
    }

    /// Parses one signature line without its trailing newline.
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed(
            "signature line must start with an em dash",
        ))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(NoteError::Malformed("signature line lacks a signature"))?;
        if !valid_key_name(name) {
            return Err(NoteError::Malformed("invalid key name in signature"));
        }
        let bytes = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("signature is not base64"))?;
        if bytes.len() < 5 {
            return Err(NoteError::Malformed("signature too short"));
        }
        let id = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        Ok(NoteSignature {
            name: name.to_string(),
            id,
            bytes,
        })
    }
}

/// A parsed (not yet verified) signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// A signature that verified against a known key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub name: String,
    pub id: u32,
    pub cosigner: bool,
    /// Cosignature timestamp (seconds); 0 for plain signatures.
    pub timestamp: u64,
}

impl Note {
    /// A note with no signatures yet.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::Malformed("text must end in a newline"));
        }
        Ok(Note {
            text: text.to_string(),
            signatures: Vec::new(),
        })
    }

    pub fn parse(msg: &[u8]) -> Result<Self, NoteError> {
        if msg.len() > MAX_NOTE_SIZE {
            return Err(NoteError::Malformed("note too large"));
        }
        let msg = std::str::from_utf8(msg).map_err(|_| NoteError::Malformed("not UTF-8"))?;
        check_text(msg)?;
        // The text ends at the last blank line.
        let split = msg
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before signatures"))?;
        let text = &msg[..split + 1];
        let sigs = &msg[split + 2..];
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::Malformed(
                "signature block must end in a newline",
            ));
        }
        let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::Malformed("too many signatures"));
        }
        let signatures = lines
            .into_iter()
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// Verifies against the given keys and returns the signatures that
    /// verified. Unknown signatures are ignored; a known one that fails
    /// rejects the note; duplicates of a known key are malformed.
    pub fn verify(&self, known: &[NoteVerifier]) -> Result<Vec<VerifiedSignature>, NoteError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for sig in &self.signatures {
            let Some(v) = known.iter().find(|v| v.name == sig.name && v.id == sig.id) else {
                continue;
            };
            if verified
                .iter()
                .any(|s| s.name == sig.name && s.id == sig.id)
            {
                return Err(NoteError::DuplicateSignature {
                    name: sig.name.clone(),
                });
            }
            let timestamp =
                v.check(&self.text, &sig.bytes[4..])
                    .map_err(|_| NoteError::InvalidSignature {
                        name: sig.name.clone(),
                    })?;
            verified.push(VerifiedSignature {
                name: sig.name.clone(),
                id: sig.id,
                cosigner: v.is_cosigner(),
                timestamp,
            });
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified)
    }

    /// Adds a signature, replacing an earlier one by the same key.
    pub fn add_signature(&mut self, sig: NoteSignature) {
        self.signatures
            .retain(|s| !(s.name == sig.name && s.id == sig.id));
        self.signatures.push(sig);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + 128 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out.into_bytes()
    }
}

fn check_text(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character in note"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let s = signer("example.com/log", 1);
        let mut n = Note::new("hello\nworld\n").unwrap();
        n.add_signature(s.sign(&n.text));
        let parsed = Note::parse(&n.to_bytes()).unwrap();
        assert_eq!(parsed, n);
        let v = parsed.verify(&[s.verifier()]).unwrap();
        assert_eq!(v.len(), 1);
        let vk = NoteVerifier::parse(&s.verifier().vkey()).unwrap();
        assert_eq!(vk, s.verifier());
    }

    #[test]
    fn unknown_signatures_are_ignored_and_bad_known_ones_reject() {
        let s = signer("example.com/log", 1);
        let other = signer("example.com/other", 2);
        let mut n = Note::new("text\n").unwrap();
        n.add_signature(other.sign(&n.text));
        n.add_signature(s.sign(&n.text));
        assert!(n.verify(&[s.verifier()]).is_ok());
        assert_eq!(n.verify(&[]), Err(NoteError::NoKnownSignature));
        // A signature under the known name and id but by a different key.
        let mut forged = n.clone();
        let mut bad = other.sign(&n.text);
        bad.name = s.name().into();
        bad.id = s.key_id();
        bad.bytes[..4].copy_from_slice(&s.key_id().to_be_bytes());
        forged.signatures = vec![bad];
        assert!(matches!(
            forged.verify(&[s.verifier()]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn accepts_many_signatures() {
        let s = signer("example.com/log", 1);
        let mut n = Note::new("text\n").unwrap();
        for i in 0..20u8 {
            let o = signer(&format!("w{i}.example"), 10 + i);
            n.add_signature(o.sign(&n.text));
        }
        n.add_signature(s.sign(&n.text));
        let parsed = Note::parse(&n.to_bytes()).unwrap();
        assert!(parsed.verify(&[s.verifier()]).is_ok());
    }

    #[test]
    fn cosignature_round_trip() {
        let w =
            CosignatureSigner::new("witness.example/w1", SigningKey::from_bytes(&[7; 32])).unwrap();
        let mut n = Note::new("origin\n1\nAAAA\n").unwrap();
        n.add_signature(w.cosign(&n.text, 1_679_315_147));
        let v = Note::parse(&n.to_bytes())
            .unwrap()
            .verify(&[w.verifier()])
            .unwrap();
        assert_eq!(v[0].timestamp, 1_679_315_147);
        assert!(v[0].cosigner);
        let vk = w.verifier().vkey();
        assert_eq!(NoteVerifier::parse(&vk).unwrap(), w.verifier());
    }

    #[test]
    fn malformed_notes_are_errors() {
        for bad in [
            &b""[..],
            b"no blank line\n",
            b"text\n\n",
            b"text\n\n\xe2\x80\x94 name\n",
            b"text\n\n- name AAAAAAAA\n",
            b"text\n\n\xe2\x80\x94 name !!!!\n",
            b"text\n\n\xe2\x80\x94 name AAAA\n",
            b"te\rxt\n\n\xe2\x80\x94 name AAAAAAAA\n",
            b"text\n\n\xe2\x80\x94 name AAAAAAAA",
            b"\xff\n\n",
        ] {
            assert!(
                Note::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        for bad in [
            "",
            "a+b",
            "a+0000000+AQ==",
            "a+zzzzzzzz+AQ==",
            "a b+00000000+AQ==",
        ] {
            assert!(NoteVerifier::parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod spec_vectors {
    use super::*;

    /// The example from golang.org/x/mod/sumdb/note, an independent implementation.
    #[test]
    fn go_note_example_verifies() {
        let v = NoteVerifier::parse(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .unwrap();
        let msg = "If you think cryptography is the answer to your problem,\n\
                   then you don't know what your problem is.\n\
                   \n\
                   \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let note = Note::parse(msg.as_bytes()).unwrap();
        assert_eq!(
            note.verify(std::slice::from_ref(&v)).unwrap()[0].name,
            "PeterNeumann"
        );
        // Flip one bit of the text: the note must be rejected.
        let mut bytes = msg.as_bytes().to_vec();
        bytes[3] ^= 1;
        assert!(Note::parse(&bytes).unwrap().verify(&[v]).is_err());
    }
}
