//! C2SP tlog-tiles: tile coordinates and paths (`tile/<L>/<N>[.p/<W>]`,
//! `tile/entries/<N>[.p/<W>]`), entry bundles (uint16 length-prefixed), and
//! `Edge`, the right edge of a tiled tree, which is all the state a writer
//! (or an auditor replaying the log) needs to extend it.

use bytes::Bytes;

use crate::merkle::{EMPTY_ROOT, Hash, fold_subtrees, leaf_hash, root_from_leaves};

/// Each tile covers 8 levels of the tree: 256 hashes.
pub const TILE_HEIGHT: u32 = 8;
pub const TILE_WIDTH: u64 = 256;
/// Entry bundles prefix each entry with a big-endian u16 length.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;
const MAX_LEVEL: u8 = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("malformed tile path: {0}")]
    BadPath(&'static str),
    #[error("tile {path} has {found} bytes, expected {expected}")]
    WrongLength {
        path: String,
        found: usize,
        expected: usize,
    },
    #[error("entry bundle {path} is malformed: {why}")]
    BadBundle { path: String, why: &'static str },
    #[error("entry of {0} bytes exceeds the 65535-byte limit")]
    EntryTooLarge(usize),
}

/// Which tile family: hash tiles at a level, or entry bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    Hash(u8),
    Entries,
}

/// One tile: its kind, index within the level and width (1..=256; 256 is full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileRef {
    pub kind: TileKind,
    pub index: u64,
    pub width: u16,
}

/// Encodes a tile index in zero-padded 3-digit groups, all but the last
/// prefixed with `x`: 1234067 becomes `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut digits = n.to_string();
    while !digits.len().is_multiple_of(3) {
        digits.insert(0, '0');
    }
    let groups: Vec<&str> = (0..digits.len() / 3)
        .map(|i| &digits[i * 3..i * 3 + 3])
        .collect();
    let mut out = String::new();
    for (i, g) in groups.iter().enumerate() {
        if i + 1 < groups.len() {
            out.push('x');
            out.push_str(g);
            out.push('/');
        } else {
            out.push_str(g);
        }
    }
    out
}

impl TileRef {
    pub fn is_full(&self) -> bool {
        self.width as u64 == TILE_WIDTH
    }

    /// The path relative to the log prefix, e.g. `tile/0/x001/234.p/7`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hash(l) => l.to_string(),
            TileKind::Entries => "entries".to_string(),
        };
        let mut p = format!("tile/{level}/{}", encode_index(self.index));
        if !self.is_full() {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }

    /// Parses a path relative to the log prefix. Only canonical encodings
    /// are accepted, so each tile has exactly one name.
    pub fn parse(path: &str) -> Result<TileRef, TileError> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or(TileError::BadPath("must start with tile/"))?;
        let (level_s, rest) = rest
            .split_once('/')
            .ok_or(TileError::BadPath("missing index"))?;
        let kind = if level_s == "entries" {
            TileKind::Entries
        } else {
            if level_s.is_empty()
                || level_s.len() > 2
                || !level_s.bytes().all(|b| b.is_ascii_digit())
                || (level_s.len() > 1 && level_s.starts_with('0'))
            {
                return Err(TileError::BadPath("bad level"));
            }
            let l: u8 = level_s
                .parse()
                .map_err(|_| TileError::BadPath("bad level"))?;
            if l > MAX_LEVEL {
                return Err(TileError::BadPath("level above 63"));
            }
            TileKind::Hash(l)
        };
        let (index_s, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                if w.is_empty()
                    || w.len() > 3
                    || !w.bytes().all(|b| b.is_ascii_digit())
                    || w.starts_with('0')
                {
                    return Err(TileError::BadPath("bad width"));
                }
                let w: u16 = w.parse().map_err(|_| TileError::BadPath("bad width"))?;
                if !(1..=255).contains(&w) {
                    return Err(TileError::BadPath("width must be 1..255"));
                }
                (i, w)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let mut digits = String::new();
        let groups: Vec<&str> = index_s.split('/').collect();
        if groups.len() > 7 {
            return Err(TileError::BadPath("index too long"));
        }
        for (i, g) in groups.iter().enumerate() {
            let g = if i + 1 < groups.len() {
                g.strip_prefix('x')
                    .ok_or(TileError::BadPath("inner index group lacks x"))?
            } else {
                g
            };
            if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TileError::BadPath("index group must be 3 digits"));
            }
            digits.push_str(g);
        }
        let index: u64 = digits
            .parse()
            .map_err(|_| TileError::BadPath("index out of range"))?;
        let t = TileRef { kind, index, width };
        if t.path() != path {
            return Err(TileError::BadPath("not canonical"));
        }
        Ok(t)
    }

    /// Expected byte length for hash tiles (entry bundles vary).
    pub fn hash_tile_len(&self) -> usize {
        self.width as usize * 32
    }
}

/// Number of hashes at tile level `level` (tree level 8*level) in a tree of `size`.
fn hashes_at(level: u8, size: u64) -> u64 {
    let shift = TILE_HEIGHT * level as u32;
    if shift >= 64 { 0 } else { size >> shift }
}

/// The tile with index `index` of `kind` as it exists in a tree of `size`,
/// or None if that tile is empty.
pub fn tile_in_tree(kind: TileKind, index: u64, size: u64) -> Option<TileRef> {
    let level = match kind {
        TileKind::Hash(l) => l,
        TileKind::Entries => 0,
    };
    let count = hashes_at(level, size);
    let start = index.checked_mul(TILE_WIDTH)?;
    if count <= start {
        return None;
    }
    let width = (count - start).min(TILE_WIDTH) as u16;
    Some(TileRef { kind, index, width })
}

/// Every hash tile of a tree of `size`, level by level (entry bundles are
/// the level-0 indices with `TileKind::Entries`).
pub fn hash_tiles_for_size(size: u64) -> Vec<TileRef> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let count = hashes_at(level, size);
        if count == 0 {
            break;
        }
        for index in 0..count.div_ceil(TILE_WIDTH) {
            if let Some(t) = tile_in_tree(TileKind::Hash(level), index, size) {
                out.push(t);
            }
        }
        level += 1;
    }
    out
}

/// Tiles (hash and entries) whose content differs between trees of size
/// `old` and `new`: exactly what a writer must upload to grow the tree.
pub fn changed_tiles(old: u64, new: u64) -> Vec<TileRef> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let (c_old, c_new) = (hashes_at(level, old), hashes_at(level, new));
        if c_new == 0 || c_new == c_old {
            break;
        }
        let first = c_old / TILE_WIDTH;
        let last = (c_new - 1) / TILE_WIDTH;
        for index in first..=last {
            if let Some(t) = tile_in_tree(TileKind::Hash(level), index, new) {
                out.push(t);
                if level == 0 {
                    out.push(TileRef {
                        kind: TileKind::Entries,
                        ..t
                    });
                }
            }
        }
        level += 1;
    }
    out
}

/// Splits a hash tile into hashes, checking its length.
pub fn tile_hashes(tile: &TileRef, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    if bytes.len() != tile.hash_tile_len() {
        return Err(TileError::WrongLength {
            path: tile.path(),
            found: bytes.len(),
            expected: tile.hash_tile_len(),
        });
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// Encodes an entry bundle. Entries must be at most 65535 bytes.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.as_ref().len() + 2).sum());
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle that must hold exactly `tile.width` entries.
pub fn decode_bundle(tile: &TileRef, bytes: &[u8]) -> Result<Vec<Bytes>, TileError> {
    let bad = |why| TileError::BadBundle {
        path: tile.path(),
        why,
    };
    let mut out = Vec::with_capacity(tile.width as usize);
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(bad("truncated length prefix"));
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        rest = &rest[2..];
        if rest.len() < len {
            return Err(bad("truncated entry"));
        }
        out.push(Bytes::copy_from_slice(&rest[..len]));
        rest = &rest[len..];
        if out.len() > tile.width as usize {
            return Err(bad("more entries than the tile width"));
        }
    }
    if out.len() != tile.width as usize {
        return Err(bad("fewer entries than the tile width"));
    }
    Ok(out)
}

/// Tiles produced while growing a tree, in upload order (lower levels first).
pub type TileSet = Vec<(TileRef, Bytes)>;

/// The right edge of a tiled tree: the partial tile at each level and the
/// partial entry bundle. Full tiles never change, so this is enough to
/// extend the tree and to compute its root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edge {
    size: u64,
    levels: Vec<Vec<Hash>>,
    entries: Vec<Bytes>,
}

impl Edge {
    /// The empty tree.
    pub fn new() -> Self {
        Edge::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The partial tiles a tree of `size` has (what `from_parts` needs).
    pub fn partial_tiles(size: u64) -> Vec<TileRef> {
        let mut out = Vec::new();
        let mut level = 0u8;
        while hashes_at(level, size) > 0 {
            let count = hashes_at(level, size);
            if !count.is_multiple_of(TILE_WIDTH) {
                out.push(TileRef {
                    kind: TileKind::Hash(level),
                    index: count / TILE_WIDTH,
                    width: (count % TILE_WIDTH) as u16,
                });
                if level == 0 {
                    out.push(TileRef {
                        kind: TileKind::Entries,
                        index: count / TILE_WIDTH,
                        width: (count % TILE_WIDTH) as u16,
                    });
                }
            }
            level += 1;
        }
        out
    }

    /// Rebuilds the edge of a tree of `size` from its partial tiles, as
    /// returned by `fetch` for each of `Edge::partial_tiles(size)`.
    pub fn from_parts(
        size: u64,
        mut fetch: impl FnMut(&TileRef) -> Option<Bytes>,
    ) -> Result<Edge, TileError> {
        let mut edge = Edge {
            size,
            levels: Vec::new(),
            entries: Vec::new(),
        };
        let mut level = 0u8;
        while hashes_at(level, size) > 0 {
            edge.levels.push(Vec::new());
            level += 1;
        }
        for t in Edge::partial_tiles(size) {
            let bytes = fetch(&t).ok_or(TileError::BadBundle {
                path: t.path(),
                why: "missing",
            })?;
            match t.kind {
                TileKind::Hash(l) => edge.levels[l as usize] = tile_hashes(&t, &bytes)?,
                TileKind::Entries => {
                    edge.entries = decode_bundle(&t, &bytes)?;
                }
            }
        }
        // The partial bundle must hash to the partial level-0 tile.
        let l0 = edge.levels.first().cloned().unwrap_or_default();
        if l0.len() != edge.entries.len()
            || edge
                .entries
                .iter()
                .zip(&l0)
                .any(|(e, h)| leaf_hash(e) != *h)
        {
            return Err(TileError::BadBundle {
                path: "tile/entries (partial)".into(),
                why: "does not match the level-0 tile",
            });
        }
        Ok(edge)
    }

    /// Appends entries, pushing every tile that changed (full tiles as they
    /// fill, then the new partial tiles) onto `out`.
    pub fn append(&mut self, entries: &[Bytes], out: &mut TileSet) -> Result<(), TileError> {
        if let Some(e) = entries.iter().find(|e| e.len() > MAX_ENTRY_SIZE) {
            return Err(TileError::EntryTooLarge(e.len()));
        }
        let mut dirty = vec![false; self.levels.len().max(1)];
        for e in entries {
            if self.levels.is_empty() {
                self.levels.push(Vec::new());
            }
            self.entries.push(e.clone());
            self.levels[0].push(leaf_hash(e));
            self.size += 1;
            dirty[0] = true;
            let mut level = 0usize;
            while self.levels[level].len() as u64 == TILE_WIDTH {
                let index = hashes_at(level as u8, self.size) / TILE_WIDTH - 1;
                let hashes = std::mem::take(&mut self.levels[level]);
                let tile = TileRef {
                    kind: TileKind::Hash(level as u8),
                    index,
                    width: TILE_WIDTH as u16,
                };
                out.push((tile, Bytes::from(hashes.concat())));
                if level == 0 {
                    let bundle = encode_bundle(&std::mem::take(&mut self.entries))?;
                    out.push((
                        TileRef {
                            kind: TileKind::Entries,
                            ..tile
                        },
                        Bytes::from(bundle),
                    ));
                }
                let parent = root_from_leaves(&hashes);
                if self.levels.len() == level + 1 {
                    self.levels.push(Vec::new());
                }
                if dirty.len() < self.levels.len() {
                    dirty.resize(self.levels.len(), false);
                }
                self.levels[level + 1].push(parent);
                dirty[level + 1] = true;
                level += 1;
            }
        }
        for (level, hashes) in self.levels.iter().enumerate() {
            if !dirty.get(level).copied().unwrap_or(false) || hashes.is_empty() {
                continue;
            }
            let tile = TileRef {
                kind: TileKind::Hash(level as u8),
                index: hashes_at(level as u8, self.size) / TILE_WIDTH,
                width: hashes.len() as u16,
            };
            out.push((tile, Bytes::from(hashes.concat())));
            if level == 0 {
                out.push((
                    TileRef {
                        kind: TileKind::Entries,
                        ..tile
                    },
                    Bytes::from(encode_bundle(&self.entries)?),
                ));
            }
        }
        Ok(())
    }

    /// The current partial tiles (hash tiles and the entry bundle), as a
    /// log of this size serves them.
    pub fn partials(&self) -> Result<TileSet, TileError> {
        let mut out = Vec::new();
        for (level, hashes) in self.levels.iter().enumerate() {
            if hashes.is_empty() {
                continue;
            }
            let tile = TileRef {
                kind: TileKind::Hash(level as u8),
                index: hashes_at(level as u8, self.size) / TILE_WIDTH,
                width: hashes.len() as u16,
            };
            out.push((tile, Bytes::from(hashes.concat())));
            if level == 0 {
                out.push((
                    TileRef {
                        kind: TileKind::Entries,
                        ..tile
                    },
                    Bytes::from(encode_bundle(&self.entries)?),
                ));
            }
        }
        Ok(out)
    }

    /// The Merkle tree hash of the whole tree.
    pub fn root(&self) -> Hash {
        let mut parts: Vec<Hash> = Vec::new();
        for hashes in self.levels.iter().rev() {
            let mut start = 0usize;
            let mut remaining = hashes.len();
            while remaining > 0 {
                let chunk = 1usize << (usize::BITS - 1 - remaining.leading_zeros());
                parts.push(root_from_leaves(&hashes[start..start + chunk]));
                start += chunk;
                remaining -= chunk;
            }
        }
        if parts.is_empty() {
            EMPTY_ROOT
        } else {
            fold_subtrees(&parts)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryTree;

    #[test]
    fn index_encoding_matches_spec() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1000), "x001/000");
        let t = TileRef {
            kind: TileKind::Hash(0),
            index: 1234067,
            width: 17,
        };
        assert_eq!(t.path(), "tile/0/x001/x234/067.p/17");
        assert_eq!(TileRef::parse(&t.path()).unwrap(), t);
        let e = TileRef::parse("tile/entries/x001/x234/067").unwrap();
        assert_eq!(e.kind, TileKind::Entries);
        assert!(e.is_full());
    }

    #[test]
    fn bad_paths_are_errors() {
        for bad in [
            "tile/0/67",
            "tile/0/x000/067",
            "tile/64/000",
            "tile/00/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/07",
            "tile/0/001/002",
            "tile/0/x001/x002",
            "tile/0/",
            "tile/x/000",
            "tile//000",
            "tile/0/x99999/000",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
        ] {
            assert!(TileRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tile_layout_for_70000() {
        let tiles = hash_tiles_for_size(70_000);
        let full0 = tiles
            .iter()
            .filter(|t| t.kind == TileKind::Hash(0) && t.is_full())
            .count();
        assert_eq!(full0, 273);
        let partial: Vec<_> = tiles.iter().filter(|t| !t.is_full()).collect();
        let full1 = tiles
            .iter()
            .filter(|t| t.kind == TileKind::Hash(1) && t.is_full())
            .count();
        assert_eq!(full1, 1);
        assert_eq!(
            partial
                .iter()
                .map(|t| (t.kind, t.index, t.width))
                .collect::<Vec<_>>(),
            vec![
                (TileKind::Hash(0), 273, 112),
                (TileKind::Hash(1), 1, 17),
                (TileKind::Hash(2), 0, 1)
            ]
        );
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
        // A tree of 256: one full level-0 tile and a level-1 partial of width 1.
        let t256 = hash_tiles_for_size(256);
        assert_eq!(t256.len(), 2);
        assert!(t256[0].is_full());
        assert_eq!((t256[1].kind, t256[1].width), (TileKind::Hash(1), 1));
    }

    #[test]
    fn edge_matches_memory_tree_and_emits_changed_tiles() {
        let mut edge = Edge::new();
        let mut mem = MemoryTree::new();
        let mut store = std::collections::HashMap::new();
        let mut n = 0u64;
        for batch in [1usize, 5, 250, 1, 300, 65_536 - 557, 7, 256] {
            let entries: Vec<Bytes> = (0..batch)
                .map(|i| Bytes::from(format!("entry {}", n + i as u64)))
                .collect();
            let mut out = Vec::new();
            let old = edge.size();
            edge.append(&entries, &mut out).unwrap();
            for e in &entries {
                mem.push(e);
            }
            n += batch as u64;
            let mut written: Vec<TileRef> = out.iter().map(|(t, _)| *t).collect();
            let mut expected = changed_tiles(old, n);
            written.sort();
            expected.sort();
            assert_eq!(written, expected, "batch to size {n}");
            for (t, b) in out {
                store.insert(t, b);
            }
            assert_eq!(edge.root(), mem.root(), "size {n}");
            let rebuilt = Edge::from_parts(n, |t| store.get(t).cloned()).unwrap();
            assert_eq!(rebuilt, edge);
        }
        // Every stored tile agrees with the in-memory tree.
        for t in hash_tiles_for_size(n) {
            let TileKind::Hash(l) = t.kind else { continue };
            let hashes = tile_hashes(&t, &store[&t]).unwrap();
            for (i, h) in hashes.iter().enumerate() {
                let s = crate::merkle::Subtree {
                    level: l * 8,
                    index: t.index * 256 + i as u64,
                };
                assert_eq!(Some(*h), mem.subtree(s));
            }
        }
    }

    #[test]
    fn bundles_round_trip_and_reject_garbage() {
        let entries = vec![
            Bytes::from_static(b"a"),
            Bytes::from_static(b""),
            Bytes::from(vec![7u8; 300]),
        ];
        let b = encode_bundle(&entries).unwrap();
        let t = TileRef {
            kind: TileKind::Entries,
            index: 0,
            width: 3,
        };
        assert_eq!(decode_bundle(&t, &b).unwrap(), entries);
        assert!(decode_bundle(&t, &b[..b.len() - 1]).is_err());
        let t2 = TileRef { width: 2, ..t };
        assert!(decode_bundle(&t2, &b).is_err());
        assert!(encode_bundle(&[vec![0u8; 65_536]]).is_err());
    }
}
