//! The fixed keys the ledger targets verify against, shared with `seedgen`
//! (which signs the seed checkpoints with them) so that seeds reach the
//! signature checks instead of stopping at "unknown key".

use ed25519_dalek::SigningKey;
use sovereel_ledger::{CosignatureSigner, NoteSigner, NoteVerifier};

pub const LOG_ORIGIN: &str = "fuzz.sovereel.example/log/us";
pub const WITNESS_NAME: &str = "fuzz.sovereel.example/witness";

pub fn log_signer() -> NoteSigner {
    NoteSigner::new(LOG_ORIGIN, SigningKey::from_bytes(&[1; 32])).expect("valid key name")
}

pub fn witness_signer() -> CosignatureSigner {
    CosignatureSigner::new(WITNESS_NAME, SigningKey::from_bytes(&[2; 32])).expect("valid key name")
}

/// The log's verifier and the witness's, in that order.
#[allow(dead_code)]
pub fn verifiers() -> (NoteVerifier, NoteVerifier) {
    (log_signer().verifier(), witness_signer().verifier())
}
