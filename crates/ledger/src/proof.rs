//! Proofs computed from tiles: what a log server answers for a user's
//! access log, and what an auditor computes from a tiled log it fetched.
//! Works over any `TileSource`, so both sides share one implementation.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::merkle::{
    Hash, ProofError, ProofPlan, Subtree, leaf_hash, root_from_leaves, verify_inclusion,
};
use crate::note::NoteVerifier;
use crate::storage::TileSource;
use crate::tiles::{
    TILE_HEIGHT, TILE_WIDTH, TileError, TileKind, decode_bundle, tile_hashes, tile_in_tree,
};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot read {path}: {why}")]
    Read { path: String, why: String },
    #[error("{0} is missing")]
    Missing(String),
    #[error(transparent)]
    Tile(#[from] TileError),
    #[error(transparent)]
    Proof(#[from] ProofError),
}

async fn fetch_required(src: &dyn TileSource, path: &str) -> Result<Bytes, FetchError> {
    src.fetch(path)
        .await
        .map_err(|why| FetchError::Read {
            path: path.to_string(),
            why,
        })?
        .ok_or_else(|| FetchError::Missing(path.to_string()))
}

/// Reads the hashes of a tile as it exists in a tree of `size`.
async fn tile_of(
    src: &dyn TileSource,
    level: u8,
    index: u64,
    size: u64,
    cache: &mut HashMap<(u8, u64), Vec<Hash>>,
) -> Result<Vec<Hash>, FetchError> {
    if let Some(h) = cache.get(&(level, index)) {
        return Ok(h.clone());
    }
    let t = tile_in_tree(TileKind::Hash(level), index, size)
        .ok_or_else(|| FetchError::Missing(format!("tile {level}/{index} at size {size}")))?;
    let bytes = fetch_required(src, &t.path()).await?;
    let h = tile_hashes(&t, &bytes)?;
    cache.insert((level, index), h.clone());
    Ok(h)
}

/// Hash of a complete subtree, from the tile that holds its leaves' level.
async fn subtree_hash(
    src: &dyn TileSource,
    s: Subtree,
    size: u64,
    cache: &mut HashMap<(u8, u64), Vec<Hash>>,
) -> Result<Hash, FetchError> {
    let tile_level = (s.level as u32 / TILE_HEIGHT) as u8;
    let r = s.level as u32 % TILE_HEIGHT;
    let first = s.index << r;
    let count = 1usize << r;
    let hashes = tile_of(src, tile_level, first / TILE_WIDTH, size, cache).await?;
    let pos = (first % TILE_WIDTH) as usize;
    let slice = hashes
        .get(pos..pos + count)
        .ok_or_else(|| FetchError::Missing(format!("subtree {}/{}", s.level, s.index)))?;
    Ok(root_from_leaves(slice))
}

async fn assemble(
    src: &dyn TileSource,
    plan: ProofPlan,
    size: u64,
) -> Result<Vec<Hash>, FetchError> {
    let mut cache = HashMap::new();
    let mut found = HashMap::new();
    for s in plan.subtrees() {
        if let std::collections::hash_map::Entry::Vacant(slot) = found.entry(s) {
            slot.insert(subtree_hash(src, s, size, &mut cache).await?);
        }
    }
    Ok(plan.assemble(|s| found.get(&s).copied())?)
}

/// Inclusion proof of entry `index` in the tree of `size`, from tiles.
pub async fn prove_inclusion(
    src: &dyn TileSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, FetchError> {
    assemble(src, ProofPlan::inclusion(index, size)?, size).await
}

/// Consistency proof from `old` to `new`, from the tiles of tree `new`.
pub async fn prove_consistency(
    src: &dyn TileSource,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, FetchError> {
    assemble(src, ProofPlan::consistency(old, new)?, new).await
}

/// Entry `index` of a tree of `size`, from its entry bundle.
pub async fn read_entry(src: &dyn TileSource, index: u64, size: u64) -> Result<Bytes, FetchError> {
    let t = tile_in_tree(TileKind::Entries, index / TILE_WIDTH, size)
        .filter(|_| index < size)
        .ok_or_else(|| FetchError::Missing(format!("entry {index} at size {size}")))?;
    let bytes = fetch_required(src, &t.path()).await?;
    let entries = decode_bundle(&t, &bytes)?;
    Ok(entries[(index % TILE_WIDTH) as usize].clone())
}

/// A self-contained proof that an entry is in the log: the entry, its
/// audit path and the signed checkpoint (with cosignatures) it leads to.
/// This is what `GET /v1/me/access-log` returns per entry, and what
/// `sovereel audit inclusion --proof` checks offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    /// The entry bytes, base64.
    pub entry: String,
    /// Audit path hashes, base64, leaf to root.
    pub proof: Vec<String>,
    /// The signed checkpoint note the proof leads to.
    pub checkpoint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InclusionError {
    #[error("malformed proof: {0}")]
    Malformed(&'static str),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("proof is for tree size {proof} but the checkpoint has size {checkpoint}")]
    SizeMismatch { proof: u64, checkpoint: u64 },
    #[error("entry {index} is not included in the checkpoint: {source}")]
    NotIncluded { index: u64, source: ProofError },
}

impl InclusionProof {
    pub fn new(
        index: u64,
        entry: &[u8],
        proof: &[Hash],
        checkpoint: &[u8],
        tree_size: u64,
    ) -> Self {
        InclusionProof {
            index,
            tree_size,
            entry: B64.encode(entry),
            proof: proof.iter().map(|h| B64.encode(h)).collect(),
            checkpoint: String::from_utf8_lossy(checkpoint).into_owned(),
        }
    }

    pub fn entry_bytes(&self) -> Result<Vec<u8>, InclusionError> {
        B64.decode(&self.entry)
            .map_err(|_| InclusionError::Malformed("entry is not base64"))
    }

    /// Checks the checkpoint signature (and the given cosigners) and the
    /// audit path. Returns the entry bytes.
    pub fn verify(
        &self,
        log: &NoteVerifier,
        witnesses: &[NoteVerifier],
    ) -> Result<Vec<u8>, InclusionError> {
        let cp = SignedCheckpoint::verify(self.checkpoint.as_bytes(), log, witnesses)?;
        if cp.checkpoint.size != self.tree_size {
            return Err(InclusionError::SizeMismatch {
                proof: self.tree_size,
                checkpoint: cp.checkpoint.size,
            });
        }
        let entry = self.entry_bytes()?;
        let path = self
            .proof
            .iter()
            .map(|p| {
                B64.decode(p)
                    .ok()
                    .and_then(|v| <[u8; 32]>::try_from(v).ok())
                    .ok_or(InclusionError::Malformed(
                        "proof hash is not base64 of 32 bytes",
                    ))
            })
            .collect::<Result<Vec<_>, _>>()?;
        verify_inclusion(
            &leaf_hash(&entry),
            self.index,
            self.tree_size,
            &path,
            &cp.checkpoint.root,
        )
        .map_err(|source| InclusionError::NotIncluded {
            index: self.index,
            source,
        })?;
        Ok(entry)
    }
}
