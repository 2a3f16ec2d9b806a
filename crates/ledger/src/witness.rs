//! Witnessing (c2sp.org/tlog-witness): each region's custodian runs a
//! `Witness` that cosigns the other regions' checkpoints, after checking a
//! consistency proof from the last size it cosigned, so that no custodian
//! can show different histories to different people unseen.
//!
//! Logs reach witnesses through `WitnessClient`: in-process for regions run
//! by the same binary, or over HTTP (`HttpWitness`).
//!
//! A log's key can move (a region handed to a new custodian). The witness
//! follows it only on the old key's word: the log shows it the
//! `custody_transfer` entry with an inclusion proof in the checkpoint the
//! witness last cosigned, signed by the key it knows; the entry names the
//! new key and is itself signed by the old one
//! ([`Witness::accept_key_transfer`]). From then on the witness checks
//! that log's checkpoints with the new key, and remembers it across
//! restarts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use futures::future::BoxFuture;

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::entry::{Entry, EntryBody};
use crate::merkle::{EMPTY_ROOT, Hash, verify_consistency};
use crate::note::{CosignatureSigner, Note, NoteError, NoteSignature, NoteVerifier};
use crate::proof::InclusionProof;
use crate::storage::LogStorage;

/// The consistency proof has at most 63 lines.
pub const MAX_PROOF_LINES: usize = 63;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: Bytes,
}

impl AddCheckpoint {
    pub fn to_body(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    pub fn parse(body: &[u8]) -> Result<Self, WitnessError> {
        let bad = |why: &str| WitnessError::BadRequest(why.to_string());
        let mut rest = body;
        let next_line = |rest: &mut &[u8]| -> Result<String, WitnessError> {
            let nl = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(|| bad("unterminated line"))?;
            let line = std::str::from_utf8(&rest[..nl])
                .map_err(|_| bad("not UTF-8"))?
                .to_string();
            *rest = &rest[nl + 1..];
            Ok(line)
        };
        let first = next_line(&mut rest)?;
        let size_s = first
            .strip_prefix("old ")
            .ok_or_else(|| bad("first line must be `old <size>`"))?;
        if size_s.is_empty()
            || !size_s.bytes().all(|b| b.is_ascii_digit())
            || (size_s.len() > 1 && size_s.starts_with('0'))
        {
            return Err(bad("old size is not a canonical decimal"));
        }
        let old_size: u64 = size_s.parse().map_err(|_| bad("old size out of range"))?;
        let mut proof = Vec::new();
        loop {
            let line = next_line(&mut rest)?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("too many proof lines"));
            }
            let h = B64
                .decode(&line)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or_else(|| bad("proof line is not a base64 hash"))?;
            proof.push(h);
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: Bytes::copy_from_slice(rest),
        })
    }
}

/// Outcomes of `add-checkpoint` other than success, with their HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    #[error("unknown log origin")]
    UnknownLog,
    #[error("no valid signature by a known log key")]
    Forbidden,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("old size does not match; the witness is at size {0}")]
    Conflict(u64),
    #[error("checkpoint has the same size but a different root than the one cosigned")]
    Fork,
    #[error("consistency proof does not verify")]
    InvalidProof,
    #[error("witness unavailable: {0}")]
    Unavailable(String),
}

impl WitnessError {
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::UnknownLog => 404,
            WitnessError::Forbidden => 403,
            WitnessError::BadRequest(_) => 400,
            WitnessError::Conflict(_) | WitnessError::Fork => 409,
            WitnessError::InvalidProof => 422,
            WitnessError::Unavailable(_) => 503,
        }
    }
}

/// The latest checkpoint a witness cosigned for one log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    size: u64,
    root: Hash,
}

/// A tlog-witness: cosigns checkpoints of the logs it knows.
pub struct Witness {
    signer: CosignatureSigner,
    /// Each log's key in force, by origin (moved by a key transfer).
    logs: std::sync::RwLock<HashMap<String, NoteVerifier>>,
    storage: LogStorage,
    /// Checking the old size and persisting the new one happen under this
    /// lock, so two concurrent requests can never roll the state back.
    state: tokio::sync::Mutex<HashMap<String, Seen>>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("name", &self.signer.name())
            .finish()
    }
}

fn state_key(origin: &str) -> String {
    use sha2::Digest;
    format!(
        "witness-state/{}",
        hex::encode(sha2::Sha256::digest(origin))
    )
}

/// Where the witness remembers a log key that a transfer moved.
fn key_state(origin: &str) -> String {
    use sha2::Digest;
    format!("witness-keys/{}", hex::encode(sha2::Sha256::digest(origin)))
}

impl Witness {
    /// A witness for `logs` (their verifier keys; each key name is the log
    /// origin), persisting its state in `storage`.
    pub async fn open(
        signer: CosignatureSigner,
        logs: Vec<NoteVerifier>,
        storage: LogStorage,
    ) -> Result<Witness, crate::storage::StorageError> {
        let mut state = HashMap::new();
        // A key a transfer moved replaces the configured one: the witness
        // accepted it on the old key's signature, and configuration files
        // elsewhere may still name the old one.
        let mut logs = logs;
        for v in logs.iter_mut() {
            if let Some(b) = storage.get(&key_state(v.name())).await?
                && let Ok(moved) = NoteVerifier::parse(String::from_utf8_lossy(&b).trim())
                && moved.name() == v.name()
            {
                *v = moved;
            }
        }
        for v in &logs {
            if let Some(b) = storage.get(&state_key(v.name())).await? {
                // The state file is a checkpoint body we wrote ourselves.
                let text = String::from_utf8_lossy(&b).to_string();
                if let Ok(cp) = Checkpoint::parse(&text) {
                    state.insert(
                        v.name().to_string(),
                        Seen {
                            size: cp.size,
                            root: cp.root,
                        },
                    );
                }
            }
        }
        Ok(Witness {
            signer,
            logs: std::sync::RwLock::new(
                logs.into_iter()
                    .map(|v| (v.name().to_string(), v))
                    .collect(),
            ),
            storage,
            state: tokio::sync::Mutex::new(state),
        })
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// The size this witness last cosigned for `origin` (0 if never).
    pub async fn latest_size(&self, origin: &str) -> u64 {
        self.state.lock().await.get(origin).map_or(0, |s| s.size)
    }

    /// Handles an `add-checkpoint` body; on success returns the response
    /// body: one cosignature line.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, WitnessError> {
        let req = AddCheckpoint::parse(body)?;
        let note = Note::parse(&req.checkpoint)
            .map_err(|e| WitnessError::BadRequest(format!("checkpoint note: {e}")))?;
        let cp = Checkpoint::parse(&note.text)
            .map_err(|e| WitnessError::BadRequest(format!("checkpoint: {e}")))?;
        let log = self.log_key(&cp.origin).ok_or(WitnessError::UnknownLog)?;
        match note.verify(std::slice::from_ref(&log)) {
            Ok(_) => {}
            Err(NoteError::Malformed(m)) => return Err(WitnessError::BadRequest(m.to_string())),
            Err(_) => return Err(WitnessError::Forbidden),
        }
        if req.old_size > cp.size {
            return Err(WitnessError::BadRequest(
                "old size above checkpoint size".into(),
            ));
        }
        let mut state = self.state.lock().await;
        let seen = state.get(&cp.origin).cloned().unwrap_or(Seen {
            size: 0,
            root: EMPTY_ROOT,
        });
        if req.old_size != seen.size {
            return Err(WitnessError::Conflict(seen.size));
        }
        if req.old_size == 0 && !req.proof.is_empty() {
            return Err(WitnessError::BadRequest(
                "proof must be empty from size 0".into(),
            ));
        }
        if req.old_size == cp.size && seen.size > 0 {
            if seen.root != cp.root {
                return Err(WitnessError::Fork);
            }
        } else if req.old_size > 0 {
            verify_consistency(seen.size, cp.size, &seen.root, &cp.root, &req.proof)
                .map_err(|_| WitnessError::InvalidProof)?;
        }
        // Persist before answering: a cosignature must never be handed out
        // for a state the witness could forget after a crash.
        let body_text = Checkpoint::new(&cp.origin, cp.size, cp.root).to_text();
        self.storage
            .put(&state_key(&cp.origin), Bytes::from(body_text))
            .await
            .map_err(|e| WitnessError::Unavailable(e.to_string()))?;
        state.insert(
            cp.origin.clone(),
            Seen {
                size: cp.size,
                root: cp.root,
            },
        );
        drop(state);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(self.signer.cosign(&note.text, now).line())
    }

    /// The key this witness checks `origin`'s checkpoints with.
    pub fn log_key(&self, origin: &str) -> Option<NoteVerifier> {
        self.logs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(origin)
            .cloned()
    }

    /// Follows a log's key to a new custodian. `body` is the inclusion
    /// proof (JSON) of the log's `custody_transfer` entry in the checkpoint
    /// this witness last cosigned, which must end with that entry. The
    /// checkpoint must verify under the key the witness knows, and so must
    /// the entry's own signature over its statement; then the entry's new
    /// key is the log's key from here on. Repeating an accepted transfer
    /// is a no-op.
    pub async fn accept_key_transfer(&self, body: &[u8]) -> Result<(), WitnessError> {
        let bad = |why: &str| WitnessError::BadRequest(why.to_string());
        let proof: InclusionProof =
            serde_json::from_slice(body).map_err(|_| bad("not an inclusion proof"))?;
        let note = Note::parse(proof.checkpoint.as_bytes())
            .map_err(|e| WitnessError::BadRequest(format!("checkpoint note: {e}")))?;
        let origin = Checkpoint::parse(&note.text)
            .map_err(|e| WitnessError::BadRequest(format!("checkpoint: {e}")))?
            .origin;
        let known = self.log_key(&origin).ok_or(WitnessError::UnknownLog)?;
        let entry_bytes = proof
            .entry_bytes()
            .map_err(|_| bad("entry is not base64"))?;
        let Ok(Entry {
            body: EntryBody::CustodyTransfer(t),
            ..
        }) = Entry::parse(&entry_bytes)
        else {
            return Err(bad("the entry is not a custody transfer"));
        };
        if t.new_vkey == known.vkey() {
            return Ok(());
        }
        let cp = SignedCheckpoint::verify(proof.checkpoint.as_bytes(), &known, &[])
            .map_err(|_| WitnessError::Forbidden)?;
        proof
            .verify(&known, &[])
            .map_err(|_| WitnessError::InvalidProof)?;
        let state = self.state.lock().await;
        let seen = state.get(&origin).cloned().unwrap_or(Seen {
            size: 0,
            root: EMPTY_ROOT,
        });
        // Only the checkpoint this witness stands behind, ending with the
        // transfer: no later entry was signed by the old key unseen.
        if seen.size != cp.checkpoint.size || seen.root != cp.checkpoint.root {
            return Err(WitnessError::Conflict(seen.size));
        }
        if proof.index + 1 != proof.tree_size || t.tree_size != proof.index {
            return Err(bad("the transfer is not the last entry of the checkpoint"));
        }
        if t.origin != origin || t.old_vkey != known.vkey() {
            return Err(WitnessError::Forbidden);
        }
        let sig = NoteSignature::parse_line(&t.signature).map_err(|_| WitnessError::Forbidden)?;
        let statement = Note {
            text: t.statement(),
            signatures: vec![sig],
        };
        statement
            .verify(std::slice::from_ref(&known))
            .map_err(|_| WitnessError::Forbidden)?;
        let new =
            NoteVerifier::parse(&t.new_vkey).map_err(|_| bad("the new key does not parse"))?;
        if new.name() != origin || new.is_cosigner() {
            return Err(bad("the new key is not a log key for this origin"));
        }
        // Remembered before it takes effect, like every witness state.
        self.storage
            .put(
                &key_state(&origin),
                Bytes::from(format!("{}\n", new.vkey())),
            )
            .await
            .map_err(|e| WitnessError::Unavailable(e.to_string()))?;
        self.logs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(origin, new);
        drop(state);
        Ok(())
    }
}

/// How a log reaches one witness.
pub trait WitnessClient: Send + Sync {
    /// The witness's cosigner key; cosignatures not verifying under it are dropped.
    fn verifier(&self) -> &NoteVerifier;
    /// Sends `add-checkpoint`; returns the cosignature lines.
    fn add_checkpoint<'a>(
        &'a self,
        req: &'a AddCheckpoint,
    ) -> BoxFuture<'a, Result<Vec<NoteSignature>, WitnessError>>;
    /// Shows the witness a transfer of the log's key (see
    /// [`Witness::accept_key_transfer`]).
    fn key_transfer<'a>(
        &'a self,
        proof: &'a InclusionProof,
    ) -> BoxFuture<'a, Result<(), WitnessError>> {
        let _ = proof;
        Box::pin(async {
            Err(WitnessError::Unavailable(
                "this witness does not follow key transfers".into(),
            ))
        })
    }
}

fn parse_cosignature_lines(body: &str) -> Result<Vec<NoteSignature>, WitnessError> {
    body.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            NoteSignature::parse_line(l)
                .map_err(|e| WitnessError::Unavailable(format!("bad cosignature line: {e}")))
        })
        .collect()
}

/// A witness in the same process (another region of the same binary).
#[derive(Clone, Debug)]
pub struct InProcessWitness {
    witness: Arc<Witness>,
    verifier: NoteVerifier,
}

impl InProcessWitness {
    pub fn new(witness: Arc<Witness>) -> Self {
        let verifier = witness.verifier();
        InProcessWitness { witness, verifier }
    }
}

impl WitnessClient for InProcessWitness {
    fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    fn add_checkpoint<'a>(
        &'a self,
        req: &'a AddCheckpoint,
    ) -> BoxFuture<'a, Result<Vec<NoteSignature>, WitnessError>> {
        Box::pin(async move {
            let body = self.witness.add_checkpoint(&req.to_body()).await?;
            parse_cosignature_lines(&body)
        })
    }

    fn key_transfer<'a>(
        &'a self,
        proof: &'a InclusionProof,
    ) -> BoxFuture<'a, Result<(), WitnessError>> {
        Box::pin(async move {
            let body =
                serde_json::to_vec(proof).map_err(|e| WitnessError::Unavailable(e.to_string()))?;
            self.witness.accept_key_transfer(&body).await
        })
    }
}

/// A witness reached over HTTP at `<submission prefix>/add-checkpoint`.
#[derive(Clone, Debug)]
pub struct HttpWitness {
    url: String,
    transfer_url: String,
    verifier: NoteVerifier,
    client: reqwest::Client,
}

impl HttpWitness {
    /// `prefix` is the witness's submission prefix, e.g. `https://host/log/au`.
    pub fn new(prefix: &str, verifier: NoteVerifier, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Self::with_client(prefix, verifier, client)
    }

    /// The same with a client of the caller's (for example one that
    /// presents a TLS client certificate).
    pub fn with_client(prefix: &str, verifier: NoteVerifier, client: reqwest::Client) -> Self {
        HttpWitness {
            url: format!("{}/add-checkpoint", prefix.trim_end_matches('/')),
            transfer_url: format!("{}/key-transfer", prefix.trim_end_matches('/')),
            verifier,
            client,
        }
    }
}

impl WitnessClient for HttpWitness {
    fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    fn add_checkpoint<'a>(
        &'a self,
        req: &'a AddCheckpoint,
    ) -> BoxFuture<'a, Result<Vec<NoteSignature>, WitnessError>> {
        Box::pin(async move {
            let resp = self
                .client
                .post(&self.url)
                .body(req.to_body())
                .send()
                .await
                .map_err(|e| WitnessError::Unavailable(e.to_string()))?;
            let status = resp.status().as_u16();
            let body = resp
                .text()
                .await
                .map_err(|e| WitnessError::Unavailable(e.to_string()))?;
            match status {
                200 => parse_cosignature_lines(&body),
                409 => match body.trim_end().parse::<u64>() {
                    Ok(size) => Err(WitnessError::Conflict(size)),
                    Err(_) => Err(WitnessError::Fork),
                },
                404 => Err(WitnessError::UnknownLog),
                403 => Err(WitnessError::Forbidden),
                400 => Err(WitnessError::BadRequest(body)),
                422 => Err(WitnessError::InvalidProof),
                s => Err(WitnessError::Unavailable(format!("HTTP {s}"))),
            }
        })
    }

    fn key_transfer<'a>(
        &'a self,
        proof: &'a InclusionProof,
    ) -> BoxFuture<'a, Result<(), WitnessError>> {
        Box::pin(async move {
            let resp = self
                .client
                .post(&self.transfer_url)
                .json(proof)
                .send()
                .await
                .map_err(|e| WitnessError::Unavailable(e.to_string()))?;
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            match status {
                200 => Ok(()),
                409 => Err(WitnessError::Conflict(
                    body.trim_end().parse().unwrap_or_default(),
                )),
                404 => Err(WitnessError::UnknownLog),
                403 => Err(WitnessError::Forbidden),
                400 => Err(WitnessError::BadRequest(body)),
                422 => Err(WitnessError::InvalidProof),
                s => Err(WitnessError::Unavailable(format!("HTTP {s}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_and_rejects_garbage() {
        let r = AddCheckpoint {
            old_size: 5,
            proof: vec![[1; 32], [2; 32]],
            checkpoint: Bytes::from_static(b"o\n9\nAAAA\n\n\xe2\x80\x94 o AAAAAAAA\n"),
        };
        assert_eq!(AddCheckpoint::parse(&r.to_body()).unwrap(), r);
        for bad in [
            &b""[..],
            b"old 1",
            b"old 01\n\n",
            b"new 1\n\n",
            b"old 1\nnotbase64\n\n",
            b"old 1\nAAAA\n\n",
            b"old 99999999999999999999999\n\n",
        ] {
            assert!(AddCheckpoint::parse(bad).is_err());
        }
        let mut many = b"old 1\n".to_vec();
        for _ in 0..64 {
            many.extend_from_slice(format!("{}\n", B64.encode([0u8; 32])).as_bytes());
        }
        many.push(b'\n');
        assert!(AddCheckpoint::parse(&many).is_err());
    }
}
