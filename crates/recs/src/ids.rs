//! Collision-free hashed id tables, after Monolith's embedding hash table.
//!
//! Ids arrive as opaque strings (`us_k3j…`). Each is hashed to a u64, but the
//! full key is kept in its slot and compared on lookup, so two ids whose hashes
//! collide still get distinct dense slots: a model never mixes two users' or two
//! videos' parameters. Slots are dense `u32` indices so per-entity state can live
//! in flat vectors, which is what keeps a million videos cheap.

use serde::{Deserialize, Serialize};

/// Longest id accepted; anything longer is hostile input, not an id.
pub const MAX_ID_LEN: usize = 128;

const NONE: u32 = u32::MAX;

/// FNV-1a then a 64-bit finaliser: cheap, deterministic across runs and
/// platforms (snapshots rebuild the index from keys, but eval seeds rely on it).
pub fn hash_id(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// SplitMix64's finaliser, also used to derive deterministic pseudo-random values.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hasher for keys that are already integers: one multiply-xorshift instead of
/// SipHash. Keys come from this engine (dense slots, hashed ids), not from
/// clients, so HashDoS resistance is not needed on these maps.
#[derive(Debug, Default, Clone, Copy)]
pub struct IntHasher(u64);

impl std::hash::Hasher for IntHasher {
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u32(&mut self, x: u32) {
        self.0 ^= u64::from(x);
    }
    fn write_u64(&mut self, x: u64) {
        self.0 ^= x;
    }
}

/// A HashMap over integer keys using [`IntHasher`].
pub type IntMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IntHasher>>;

/// Checks that an opaque id is plausible: non-empty, bounded, printable ASCII.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// An id as a slot keeps it: short ids (every id the platform mints) inline,
/// so a lookup compares the key in the slot's own cache line instead of
/// following a pointer to the heap (one cache miss less per event and table
/// at a million videos); longer ones on the heap.
#[derive(Clone)]
enum IdKey {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<str>),
}

const INLINE_KEY: usize = 22;

impl IdKey {
    fn new(s: &str) -> Self {
        if s.len() <= INLINE_KEY {
            let mut bytes = [0u8; INLINE_KEY];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            IdKey::Inline {
                len: s.len() as u8,
                bytes,
            }
        } else {
            IdKey::Heap(s.into())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            IdKey::Inline { len, bytes } => &bytes[..*len as usize],
            IdKey::Heap(s) => s.as_bytes(),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Built from a whole `&str`, so always valid UTF-8.
            IdKey::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            IdKey::Heap(s) => s,
        }
    }
}

impl std::fmt::Debug for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

#[derive(Debug, Clone)]
struct Slot {
    key: IdKey,
    hash: u64,
    /// Next slot whose key has the same 64-bit hash (almost always `NONE`).
    next_same_hash: u32,
    last_used_ms: i64,
}

/// String id → dense slot, with full-key comparison and idle expiry.
#[derive(Debug, Clone, Default)]
pub struct KeyTable {
    heads: IntMap<u64, u32>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    len: usize,
}

impl KeyTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slot indices ever handed out (live or free); per-slot vectors size to this.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn get(&self, key: &str) -> Option<u32> {
        let h = hash_id(key);
        let mut at = *self.heads.get(&h)?;
        while at != NONE {
            let slot = self.slots[at as usize].as_ref()?;
            if slot.hash == h && slot.key.as_bytes() == key.as_bytes() {
                return Some(at);
            }
            at = slot.next_same_hash;
        }
        None
    }

    /// Returns the slot for `key`, creating it if needed; the bool says whether it is new.
    pub fn insert(&mut self, key: &str, now_ms: i64) -> (u32, bool) {
        if let Some(at) = self.get(key) {
            self.touch(at, now_ms);
            return (at, false);
        }
        let h = hash_id(key);
        let next = self.heads.get(&h).copied().unwrap_or(NONE);
        let slot = Slot {
            key: IdKey::new(key),
            hash: h,
            next_same_hash: next,
            last_used_ms: now_ms,
        };
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at as usize] = Some(slot);
                at
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        self.heads.insert(h, at);
        self.len += 1;
        (at, true)
    }

    pub fn touch(&mut self, at: u32, now_ms: i64) {
        if let Some(Some(slot)) = self.slots.get_mut(at as usize) {
            slot.last_used_ms = slot.last_used_ms.max(now_ms);
        }
    }

    pub fn key(&self, at: u32) -> Option<&str> {
        self.slots
            .get(at as usize)?
            .as_ref()
            .map(|s| s.key.as_str())
    }

    pub fn last_used_ms(&self, at: u32) -> Option<i64> {
        self.slots
            .get(at as usize)?
            .as_ref()
            .map(|s| s.last_used_ms)
    }

    /// Frees the slot of `key`; the slot index may be reused by a later insert.
    pub fn remove(&mut self, key: &str) -> Option<u32> {
        let at = self.get(key)?;
        self.remove_slot(at);
        Some(at)
    }

    fn remove_slot(&mut self, at: u32) {
        let Some(slot) = self.slots[at as usize].take() else {
            return;
        };
        // Unlink from its same-hash chain.
        let head = self.heads[&slot.hash];
        if head == at {
            if slot.next_same_hash == NONE {
                self.heads.remove(&slot.hash);
            } else {
                self.heads.insert(slot.hash, slot.next_same_hash);
            }
        } else {
            let mut prev = head;
            while let Some(Some(p)) = self.slots.get(prev as usize) {
                if p.next_same_hash == at {
                    break;
                }
                prev = p.next_same_hash;
            }
            if let Some(Some(p)) = self.slots.get_mut(prev as usize) {
                p.next_same_hash = slot.next_same_hash;
            }
        }
        self.free.push(at);
        self.len -= 1;
    }

    /// Removes every entry idle since before `cutoff_ms`, returning the freed slots
    /// so callers can clear the state they keep per slot.
    pub fn expire_idle(&mut self, cutoff_ms: i64) -> Vec<u32> {
        let idle: Vec<u32> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Some(s) if s.last_used_ms < cutoff_ms => Some(i as u32),
                _ => None,
            })
            .collect();
        for &at in &idle {
            self.remove_slot(at);
        }
        idle
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as u32, s.key.as_str())))
    }

    /// Serialisable form: slot order is kept so per-slot vectors stay aligned.
    /// Borrows the keys for serialisation (a snapshot must not double memory).
    pub fn to_saved(&self) -> SavedKeys<&str> {
        SavedKeys {
            keys: self
                .slots
                .iter()
                .map(|s| s.as_ref().map(|s| (s.key.as_str(), s.last_used_ms)))
                .collect(),
        }
    }

    pub fn from_saved(saved: SavedKeys) -> Result<Self, String> {
        let mut t = KeyTable::new();
        for (i, entry) in saved.keys.into_iter().enumerate() {
            match entry {
                Some((key, last)) => {
                    if !valid_id(&key) || t.get(&key).is_some() {
                        return Err(format!("invalid or duplicate key at slot {i}"));
                    }
                    let h = hash_id(&key);
                    let next = t.heads.get(&h).copied().unwrap_or(NONE);
                    t.slots.push(Some(Slot {
                        key: IdKey::new(&key),
                        hash: h,
                        next_same_hash: next,
                        last_used_ms: last,
                    }));
                    t.heads.insert(h, i as u32);
                    t.len += 1;
                }
                None => {
                    t.slots.push(None);
                    t.free.push(i as u32);
                }
            }
        }
        Ok(t)
    }

    #[cfg(test)]
    fn insert_with_hash(&mut self, key: &str, h: u64) -> u32 {
        let next = self.heads.get(&h).copied().unwrap_or(NONE);
        self.slots.push(Some(Slot {
            key: IdKey::new(key),
            hash: h,
            next_same_hash: next,
            last_used_ms: 0,
        }));
        let at = (self.slots.len() - 1) as u32;
        self.heads.insert(h, at);
        self.len += 1;
        at
    }
}

/// Serialisable form of a [`KeyTable`]: borrowed (`&str`) to save, owned to load.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SavedKeys<K = String> {
    keys: Vec<Option<(K, i64)>>,
}

/// Count-min sketch: the frequency filter in front of admission. An id must be
/// seen `threshold` times before it gets parameters of its own, so one-off ids
/// (bots, typos, a video watched once) do not grow the tables.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrequencyFilter {
    width: u32,
    counts: Vec<u16>,
    pub threshold: u16,
}

const SKETCH_ROWS: usize = 4;

impl FrequencyFilter {
    pub fn new(width: u32, threshold: u16) -> Self {
        let width = width.max(64);
        Self {
            width,
            counts: vec![0; SKETCH_ROWS * width as usize],
            threshold,
        }
    }

    fn cells(&self, key: u64) -> [usize; SKETCH_ROWS] {
        let mut out = [0; SKETCH_ROWS];
        for (row, cell) in out.iter_mut().enumerate() {
            let h = mix64(key ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            *cell = row * self.width as usize + (h % u64::from(self.width)) as usize;
        }
        out
    }

    /// Counts one sighting and says whether the key has now earned admission.
    pub fn observe(&mut self, key: u64) -> bool {
        let cells = self.cells(key);
        let mut est = u16::MAX;
        for c in cells {
            self.counts[c] = self.counts[c].saturating_add(1);
            est = est.min(self.counts[c]);
        }
        est >= self.threshold
    }

    pub fn estimate(&self, key: u64) -> u16 {
        self.cells(key)
            .iter()
            .map(|&c| self.counts[c])
            .min()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_hashes_keep_distinct_slots() {
        let mut t = KeyTable::new();
        let a = t.insert_with_hash("us_a", 42);
        let b = t.insert_with_hash("us_b", 42);
        assert_ne!(a, b);
        // Lookups by the real hash would miss these, so check the chain directly.
        let head = t.heads[&42];
        assert_eq!(head, b);
        assert_eq!(t.slots[b as usize].as_ref().unwrap().next_same_hash, a);
        t.remove_slot(b);
        assert_eq!(t.heads[&42], a);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn insert_get_remove_and_reuse() {
        let mut t = KeyTable::new();
        let (a, new) = t.insert("us_k3j", 1);
        assert!(new);
        assert_eq!(t.insert("us_k3j", 2), (a, false));
        assert_eq!(t.get("us_k3j"), Some(a));
        assert_eq!(t.remove("us_k3j"), Some(a));
        assert_eq!(t.get("us_k3j"), None);
        let (b, _) = t.insert("us_zzz", 3);
        assert_eq!(a, b, "freed slot is reused");
        assert_eq!(t.key(b), Some("us_zzz"));
    }

    #[test]
    fn expiry_frees_only_idle_entries() {
        let mut t = KeyTable::new();
        t.insert("old", 10);
        let (fresh, _) = t.insert("fresh", 1000);
        let freed = t.expire_idle(500);
        assert_eq!(freed.len(), 1);
        assert_eq!(t.get("old"), None);
        assert_eq!(t.get("fresh"), Some(fresh));
    }

    #[test]
    fn saved_round_trip_keeps_slots() {
        let mut t = KeyTable::new();
        t.insert("a", 1);
        t.insert("b", 2);
        t.remove("a");
        t.insert("c", 3);
        t.insert("d", 4);
        let bytes = postcard::to_allocvec(&t.to_saved()).unwrap();
        let back = KeyTable::from_saved(postcard::from_bytes(&bytes).unwrap()).unwrap();
        for k in ["b", "c", "d"] {
            assert_eq!(back.get(k), t.get(k));
        }
        assert_eq!(back.get("a"), None);
    }

    #[test]
    fn frequency_filter_admits_after_threshold() {
        let mut f = FrequencyFilter::new(1024, 3);
        assert!(!f.observe(7));
        assert!(!f.observe(7));
        assert!(f.observe(7));
        assert!(f.estimate(8) < 3);
    }

    #[test]
    fn id_validation() {
        assert!(valid_id("us_k3j"));
        assert!(!valid_id(""));
        assert!(!valid_id("has space"));
        assert!(!valid_id(&"x".repeat(MAX_ID_LEN + 1)));
    }
}
