//! The RFC 9162 (RFC 6962) Merkle tree: leaf and node hashing, proof
//! generation from stored subtree hashes, and proof verification.
//!
//! Proof generation is split in two: a pure `ProofPlan` says which complete
//! subtrees a proof needs, and the caller fetches them (from memory or from
//! tiles, possibly over the network) before `ProofPlan::assemble`. That keeps
//! the tree arithmetic free of I/O, so it can be tested exhaustively.

use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// The root of the empty tree, `SHA-256("")`.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// Hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old} is larger than new size {new}")]
    SizesReversed { old: u64, new: u64 },
    #[error("proof has the wrong length")]
    WrongLength,
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    #[error("proof does not lead to the expected old root")]
    OldRootMismatch,
    #[error("a subtree hash the proof needs is missing")]
    MissingHash,
}

/// Largest power of two strictly smaller than `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH over a list of leaf hashes, by the RFC's recursive definition. Used for
/// small in-memory trees (tile hashing, tests).
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(
                &root_from_leaves(&leaves[..k]),
                &root_from_leaves(&leaves[k..]),
            )
        }
    }
}

/// A complete subtree: the `2^level` leaves starting at `index * 2^level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtree {
    pub level: u8,
    pub index: u64,
}

/// The complete subtrees whose right fold is MTH(D[lo:hi]). Every range an
/// RFC 9162 proof mentions starts at a multiple of a power of two at least as
/// large as the range, so the greedy left-to-right decomposition into aligned
/// power-of-two blocks reproduces the RFC's own split.
pub fn range_subtrees(lo: u64, hi: u64) -> Vec<Subtree> {
    let mut out = Vec::new();
    let mut lo = lo;
    while lo < hi {
        let align = if lo == 0 {
            63
        } else {
            lo.trailing_zeros().min(63)
        };
        let fit = 63 - (hi - lo).leading_zeros();
        let level = align.min(fit) as u8;
        out.push(Subtree {
            level,
            index: lo >> level,
        });
        lo += 1u64 << level;
    }
    out
}

/// Right fold of subtree hashes, as produced by [`range_subtrees`].
pub fn fold_subtrees(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_ROOT;
    };
    let mut acc = *last;
    for h in iter {
        acc = node_hash(h, &acc);
    }
    acc
}

/// Which subtree hashes a proof needs and how to combine them.
#[derive(Debug, Clone, Default)]
pub struct ProofPlan {
    elements: Vec<Vec<Subtree>>,
}

impl ProofPlan {
    /// Inclusion proof of leaf `index` in a tree of `size` (RFC 9162 2.1.3.1).
    pub fn inclusion(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut ranges = Vec::new();
        inclusion_ranges(index, 0, size, &mut ranges);
        Ok(ProofPlan::from_ranges(&ranges))
    }

    /// Consistency proof from `old` to `new` (RFC 9162 2.1.4.1). Empty when
    /// `old` is 0 or equal to `new`.
    pub fn consistency(old: u64, new: u64) -> Result<ProofPlan, ProofError> {
        if old > new {
            return Err(ProofError::SizesReversed { old, new });
        }
        let mut ranges = Vec::new();
        if old > 0 && old < new {
            subproof_ranges(old, 0, new, true, &mut ranges);
        }
        Ok(ProofPlan::from_ranges(&ranges))
    }

    fn from_ranges(ranges: &[(u64, u64)]) -> ProofPlan {
        ProofPlan {
            elements: ranges.iter().map(|&(a, b)| range_subtrees(a, b)).collect(),
        }
    }

    /// Every subtree hash the proof needs.
    pub fn subtrees(&self) -> impl Iterator<Item = Subtree> + '_ {
        self.elements.iter().flatten().copied()
    }

    /// Builds the proof from looked-up subtree hashes.
    pub fn assemble(
        &self,
        mut lookup: impl FnMut(Subtree) -> Option<Hash>,
    ) -> Result<Vec<Hash>, ProofError> {
        self.elements
            .iter()
            .map(|parts| {
                let hashes = parts
                    .iter()
                    .map(|s| lookup(*s).ok_or(ProofError::MissingHash))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(fold_subtrees(&hashes))
            })
            .collect()
    }
}

fn inclusion_ranges(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if n == 1 {
        return;
    }
    let k = split_point(n);
    if m - lo < k {
        inclusion_ranges(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        inclusion_ranges(m, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

fn subproof_ranges(m: u64, lo: u64, hi: u64, whole: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push((lo, hi));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof_ranges(m, lo, lo + k, whole, out);
        out.push((lo + k, hi));
    } else {
        subproof_ranges(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// Verifies an inclusion proof (RFC 9162 2.1.3.2), including the final
/// `sn == 0` check: without it a proof with extra trailing elements, or one
/// made for a different tree size, can be accepted.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof (RFC 9162 2.1.4.2). An empty old tree is
/// consistent with everything (the proof must then be empty), and equal sizes
/// need an empty proof and equal roots.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesReversed {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        if old_root != &EMPTY_ROOT {
            return Err(ProofError::OldRootMismatch);
        }
        return Ok(());
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let mut fnode = old_size - 1;
    let mut snode = new_size - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if &sr != new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// A whole tree held in memory, level by level. The auditor and the tests use
/// it; the log itself keeps only the right edge (see `tiles::Edge`).
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of complete subtree (l, i).
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        MemoryTree {
            levels: vec![Vec::new()],
        }
    }

    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        self.levels[0].push(leaf);
        let mut l = 0;
        while self.levels[l].len().is_multiple_of(2) {
            let n = self.levels[l].len();
            let parent = node_hash(&self.levels[l][n - 2], &self.levels[l][n - 1]);
            if self.levels.len() == l + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[l + 1].push(parent);
            l += 1;
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.push_leaf_hash(leaf_hash(data));
    }

    pub fn subtree(&self, s: Subtree) -> Option<Hash> {
        self.levels
            .get(s.level as usize)
            .and_then(|l| l.get(s.index as usize))
            .copied()
    }

    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels[0].get(index as usize).copied()
    }

    /// Root of the prefix of `size` leaves.
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        if size > self.size() {
            return None;
        }
        let parts: Option<Vec<Hash>> = range_subtrees(0, size)
            .into_iter()
            .map(|s| self.subtree(s))
            .collect();
        parts.map(|p| fold_subtrees(&p))
    }

    pub fn root(&self) -> Hash {
        self.root_at(self.size()).unwrap_or(EMPTY_ROOT)
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size > self.size() {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        ProofPlan::inclusion(index, size)?.assemble(|s| self.subtree(s))
    }

    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        if new > self.size() {
            return Err(ProofError::SizesReversed { old, new });
        }
        ProofPlan::consistency(old, new)?.assemble(|s| self.subtree(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(format!("leaf {i}").as_bytes());
        }
        t
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
    }

    #[test]
    fn memory_tree_root_matches_recursive_definition() {
        for n in 0..70u64 {
            let t = tree(n);
            let leaves: Vec<Hash> = (0..n).map(|i| t.leaf(i).unwrap()).collect();
            assert_eq!(t.root(), root_from_leaves(&leaves), "size {n}");
        }
    }

    #[test]
    fn all_small_proofs_verify() {
        let t = tree(40);
        for size in 1..=40 {
            let root = t.root_at(size).unwrap();
            for i in 0..size {
                let p = t.inclusion_proof(i, size).unwrap();
                verify_inclusion(&t.leaf(i).unwrap(), i, size, &p, &root).unwrap();
                // One element too many must fail, thanks to the `sn == 0` check.
                let mut longer = p.clone();
                longer.push(root);
                assert!(verify_inclusion(&t.leaf(i).unwrap(), i, size, &longer, &root).is_err());
            }
            for old in 0..=size {
                let p = t.consistency_proof(old, size).unwrap();
                let old_root = t.root_at(old).unwrap();
                verify_consistency(old, size, &old_root, &root, &p).unwrap();
            }
        }
    }

    #[test]
    fn inclusion_proof_for_wrong_size_is_rejected() {
        // The classic bug: a proof for size 6 accepted as a proof for size 8
        // when the final `sn == 0` check is missing.
        let t = tree(8);
        let p = t.inclusion_proof(4, 5).unwrap();
        let leaf = t.leaf(4).unwrap();
        assert!(verify_inclusion(&leaf, 4, 8, &p, &t.root_at(5).unwrap()).is_err());
    }
}
