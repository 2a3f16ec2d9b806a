//! C2SP tlog-checkpoint: the signed tree head of a log, as the text of a
//! signed note (`<origin>\n<size>\n<base64 root>\n[extension lines]`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::merkle::Hash;
use crate::note::{Note, NoteError, NoteVerifier, VerifiedSignature};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error("checkpoint signature: {0}")]
    Note(#[from] NoteError),
    #[error("checkpoint is not signed by the log key {0}")]
    NotSignedByLog(String),
    #[error("checkpoint lacks a valid cosignature from witness {0}")]
    MissingCosignature(String),
}

/// A parsed checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub extensions: Vec<String>,
}

impl Checkpoint {
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("must end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(CheckpointError::Malformed("empty origin"))?;
        let size_s = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing size"))?;
        if size_s.is_empty()
            || !size_s.bytes().all(|b| b.is_ascii_digit())
            || (size_s.len() > 1 && size_s.starts_with('0'))
        {
            return Err(CheckpointError::Malformed(
                "size is not a canonical decimal",
            ));
        }
        let size: u64 = size_s
            .parse()
            .map_err(|_| CheckpointError::Malformed("size out of range"))?;
        let root_s = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing root hash"))?;
        let root_v = B64
            .decode(root_s)
            .map_err(|_| CheckpointError::Malformed("root hash is not base64"))?;
        let root: Hash = root_v
            .try_into()
            .map_err(|_| CheckpointError::Malformed("root hash is not 32 bytes"))?;
        let mut extensions = Vec::new();
        for e in lines {
            if e.is_empty() {
                return Err(CheckpointError::Malformed("empty extension line"));
            }
            extensions.push(e.to_string());
        }
        let cp = Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        };
        // Refuse anything that would not round-trip byte for byte (e.g. a
        // non-canonical base64 root), so two parties never disagree on a body.
        if cp.to_text() != text {
            return Err(CheckpointError::Malformed("not in canonical form"));
        }
        Ok(cp)
    }
}

/// A checkpoint whose log signature (and the requested cosignatures) verified.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: Note,
    pub signatures: Vec<VerifiedSignature>,
}

impl SignedCheckpoint {
    /// Parses and verifies a checkpoint note: it must carry a valid signature
    /// by `log` (whose name is the origin) and a valid cosignature from every
    /// key in `witnesses`. Signatures by other keys are ignored.
    pub fn verify(
        bytes: &[u8],
        log: &NoteVerifier,
        witnesses: &[NoteVerifier],
    ) -> Result<Self, CheckpointError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        if checkpoint.origin != log.name() {
            return Err(CheckpointError::WrongOrigin {
                expected: log.name().to_string(),
                found: checkpoint.origin,
            });
        }
        let mut known = vec![log.clone()];
        known.extend(witnesses.iter().cloned());
        let signatures = note.verify(&known)?;
        if !signatures
            .iter()
            .any(|s| s.name == log.name() && s.id == log.key_id())
        {
            return Err(CheckpointError::NotSignedByLog(log.vkey()));
        }
        for w in witnesses {
            if !signatures
                .iter()
                .any(|s| s.name == w.name() && s.id == w.key_id())
            {
                return Err(CheckpointError::MissingCosignature(w.vkey()));
            }
        }
        Ok(SignedCheckpoint {
            checkpoint,
            note,
            signatures,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_parses_and_round_trips() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse(text).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20852163);
        assert_eq!(cp.to_text(), text);
    }

    #[test]
    fn malformed_checkpoints_are_errors() {
        for bad in [
            "",
            "origin\n",
            "origin\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2\n",
            "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n99999999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
