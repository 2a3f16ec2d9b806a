//! Proofs a client or an auditor is handed: the self-contained inclusion
//! proof of `GET /v1/me/access-log` (JSON, checked offline by
//! `sovereel audit inclusion --proof`), and raw RFC 9162 inclusion and
//! consistency proofs with hostile indices, sizes and paths. None may panic.
#![no_main]

#[path = "../keys.rs"]
mod keys;

use libfuzzer_sys::fuzz_target;
use sovereel_ledger::InclusionProof;
use sovereel_ledger::merkle::{verify_consistency, verify_inclusion};

fn hashes(bytes: &[u8]) -> Vec<[u8; 32]> {
    bytes
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = serde_json::from_slice::<InclusionProof>(data) {
        let (log, witness) = keys::verifiers();
        let _ = proof.verify(&log, &[]);
        let _ = proof.verify(&log, std::slice::from_ref(&witness));
        return;
    }
    if data.len() < 16 {
        return;
    }
    let a = u64::from_le_bytes(data[..8].try_into().unwrap());
    let b = u64::from_le_bytes(data[8..16].try_into().unwrap());
    // Small numbers reach the interesting branches; keep some huge ones.
    let (a, b) = if data[0] & 1 == 0 {
        (a % 1024, b % 1024)
    } else {
        (a, b)
    };
    let path = hashes(&data[16..]);
    let (first, rest) = path
        .split_first()
        .map(|(h, r)| (*h, r))
        .unwrap_or(([0; 32], &[]));
    let _ = verify_inclusion(&first, a, b, rest, &first);
    let _ = verify_consistency(a, b, &first, &first, rest);
    let _ = verify_consistency(a.min(b), a.max(b), &first, &[7; 32], rest);
});
