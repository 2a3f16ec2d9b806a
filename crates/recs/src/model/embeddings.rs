//! Monolith-style embedding tables: rows keyed by collision-free u64 keys,
//! admitted only after a frequency filter, and expired when idle.
//!
//! Keys are `namespace << 56 | dense slot`, and dense slots come from the
//! collision-free [`crate::ids::KeyTable`], so two entities never share a row.

use crate::ids::{FrequencyFilter, mix64};
use serde::{Deserialize, Serialize};

pub const NS_USER: u64 = 1;
pub const NS_VIDEO: u64 = 2;
pub const NS_TAG: u64 = 3;

pub fn feature_key(namespace: u64, slot: u32) -> u64 {
    (namespace << 56) | u64::from(slot)
}

const FREE: u64 = u64::MAX;
/// Largest slot a restored index accepts (128 Mi entities, 512 MiB of index).
const MAX_SLOT: u64 = 1 << 27;
/// No row: an entry of [`RowIndex`] whose key has none.
const NO_ROW: u32 = u32::MAX;

/// Key → row, as a flat array indexed by the key's dense slot: every key of
/// one table has the same namespace, and slots are dense, so one array read
/// replaces a hash-table probe (two cache misses at a million videos, on
/// every embedding lookup the learner and the scorer make). Saved as the map
/// it stands for, so snapshots keep their format.
#[derive(Debug, Clone, Default)]
struct RowIndex {
    /// The namespace of every key (set by the first key inserted into the
    /// empty table).
    ns: Option<u64>,
    rows: Vec<u32>,
    len: usize,
}

impl RowIndex {
    fn slot(&self, key: u64) -> Option<usize> {
        (self.ns == Some(key >> 56)).then_some((key & 0xffff_ffff) as usize)
    }

    fn get(&self, key: u64) -> Option<u32> {
        let r = *self.rows.get(self.slot(key)?)?;
        (r != NO_ROW).then_some(r)
    }

    /// Whether `key` can be stored: its slot fits in 32 bits and its namespace
    /// is the table's.
    fn accepts(&self, key: u64) -> bool {
        key >> 32 & 0xff_ffff == 0 && (self.len == 0 || self.ns == Some(key >> 56))
    }

    fn insert(&mut self, key: u64, r: u32) {
        debug_assert!(self.accepts(key));
        self.ns = Some(key >> 56);
        let i = (key & 0xffff_ffff) as usize;
        if self.rows.len() <= i {
            self.rows.resize(i + 1, NO_ROW);
        }
        if self.rows[i] == NO_ROW {
            self.len += 1;
        }
        self.rows[i] = r;
    }

    fn remove(&mut self, key: u64) -> Option<u32> {
        let i = self.slot(key)?;
        let r = std::mem::replace(self.rows.get_mut(i)?, NO_ROW);
        if r == NO_ROW {
            return None;
        }
        self.len -= 1;
        Some(r)
    }

    fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        let ns = self.ns.unwrap_or(0) << 56;
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| **r != NO_ROW)
            .map(move |(i, &r)| (ns | i as u64, r))
    }
}

impl Serialize for RowIndex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // postcard writes the length first, so it must be known up front.
        let mut m = s.serialize_map(Some(self.len))?;
        for (k, r) in self.iter() {
            m.serialize_entry(&k, &r)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for RowIndex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let saved = crate::ids::IntMap::<u64, u32>::deserialize(d)?;
        let mut idx = RowIndex::default();
        for (k, r) in saved {
            if !idx.accepts(k) || r == NO_ROW {
                return Err(serde::de::Error::custom(
                    "embedding keys of more than one namespace in a table",
                ));
            }
            // Slots are dense; a corrupt snapshot must not make the index
            // allocate gigabytes before the consistency checks run.
            if (k & 0xffff_ffff) >= MAX_SLOT {
                return Err(serde::de::Error::custom("embedding key slot out of range"));
            }
            idx.insert(k, r);
        }
        Ok(idx)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmbeddingTable {
    pub dim: usize,
    rows: RowIndex,
    data: Vec<f32>,
    owner: Vec<u64>,
    last_ms: Vec<i64>,
    free: Vec<u32>,
    filter: FrequencyFilter,
}

impl EmbeddingTable {
    pub fn new(dim: usize, admission_threshold: u16) -> Self {
        EmbeddingTable {
            dim,
            rows: RowIndex::default(),
            data: Vec::new(),
            owner: Vec::new(),
            last_ms: Vec::new(),
            free: Vec::new(),
            filter: FrequencyFilter::new(1 << 16, admission_threshold),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len
    }

    pub fn is_empty(&self) -> bool {
        self.rows.len == 0
    }

    pub fn set_admission_threshold(&mut self, t: u16) {
        self.filter.threshold = t;
    }

    /// Starts fetching the row of `key` (and its index entry).
    pub fn prefetch(&self, key: u64) {
        if let Some(i) = self.rows.slot(key)
            && let Some(r) = self.rows.rows.get(i)
        {
            crate::model::prefetch(r);
            if let Some(x) = self.data.get(*r as usize * self.dim) {
                crate::model::prefetch(x);
            }
        }
    }

    pub fn get(&self, key: u64) -> Option<&[f32]> {
        let r = self.rows.get(key)? as usize;
        Some(&self.data[r * self.dim..(r + 1) * self.dim])
    }

    pub fn get_mut(&mut self, key: u64, now_ms: i64) -> Option<&mut [f32]> {
        let r = self.rows.get(key)? as usize;
        self.last_ms[r] = self.last_ms[r].max(now_ms);
        Some(&mut self.data[r * self.dim..(r + 1) * self.dim])
    }

    /// Counts a sighting of `key` and returns its row, creating it once the key
    /// has passed the frequency filter. `init` fills a new row.
    pub fn admit(
        &mut self,
        key: u64,
        now_ms: i64,
        init: impl FnOnce(&mut [f32]),
    ) -> Option<&mut [f32]> {
        if self.rows.get(key).is_none() {
            if !self.rows.accepts(key) || !self.filter.observe(key) {
                return None;
            }
            let r = match self.free.pop() {
                Some(r) => r,
                None => {
                    self.data.resize(self.data.len() + self.dim, 0.0);
                    self.owner.push(FREE);
                    self.last_ms.push(now_ms);
                    (self.owner.len() - 1) as u32
                }
            };
            self.owner[r as usize] = key;
            self.rows.insert(key, r);
            let row = &mut self.data[r as usize * self.dim..(r as usize + 1) * self.dim];
            init(row);
        }
        self.get_mut(key, now_ms)
    }

    /// The row index of `key`, for callers that read and write the same row
    /// several times: one hash lookup instead of one per access.
    pub fn index_of(&self, key: u64) -> Option<usize> {
        self.rows.get(key).map(|r| r as usize)
    }

    /// [`Self::admit`], answering the row index (and marking it used now).
    pub fn admit_index(
        &mut self,
        key: u64,
        now_ms: i64,
        init: impl FnOnce(&mut [f32]),
    ) -> Option<usize> {
        let r = match self.rows.get(key) {
            Some(r) => r as usize,
            None => {
                self.admit(key, now_ms, init)?;
                return self.index_of(key);
            }
        };
        self.touch(r, now_ms);
        Some(r)
    }

    /// Marks row `r` used at `now_ms` (idle expiry).
    pub fn touch(&mut self, r: usize, now_ms: i64) {
        self.last_ms[r] = self.last_ms[r].max(now_ms);
    }

    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.dim..(r + 1) * self.dim]
    }

    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.dim..(r + 1) * self.dim]
    }

    pub fn remove(&mut self, key: u64) -> bool {
        let Some(r) = self.rows.remove(key) else {
            return false;
        };
        self.owner[r as usize] = FREE;
        self.data[r as usize * self.dim..(r as usize + 1) * self.dim].fill(0.0);
        self.free.push(r);
        true
    }

    /// Drops rows idle since before `cutoff_ms`, returning their keys.
    pub fn expire_idle(&mut self, cutoff_ms: i64) -> Vec<u64> {
        let idle: Vec<u64> = self
            .owner
            .iter()
            .zip(&self.last_ms)
            .filter(|(o, l)| **o != FREE && **l < cutoff_ms)
            .map(|(o, _)| *o)
            .collect();
        for &k in &idle {
            self.remove(k);
        }
        idle
    }

    /// Checks the invariants a restored snapshot must hold.
    pub fn check(&self) -> Result<(), String> {
        let n = self.owner.len();
        if self.data.len() != n * self.dim || self.last_ms.len() != n {
            return Err("embedding table sizes disagree".into());
        }
        if self.rows.iter().any(|(_, r)| r as usize >= n)
            || self.free.iter().any(|&r| r as usize >= n)
        {
            return Err("embedding row out of range".into());
        }
        Ok(())
    }
}

/// Deterministic small initial values, so runs and tests are reproducible.
pub fn init_random(key: u64, row: &mut [f32], scale: f32) {
    for (i, x) in row.iter_mut().enumerate() {
        let h = mix64(key ^ ((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        *x = ((h >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * scale;
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_expiry_and_reuse() {
        let mut t = EmbeddingTable::new(4, 2);
        let k = feature_key(NS_USER, 7);
        assert!(
            t.admit(k, 0, |r| r.fill(1.0)).is_none(),
            "first sighting is filtered"
        );
        assert_eq!(t.admit(k, 1, |r| r.fill(1.0)).unwrap(), &[1.0; 4]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.expire_idle(1), Vec::<u64>::new());
        assert_eq!(t.expire_idle(2), vec![k]);
        assert!(t.get(k).is_none());
        let k2 = feature_key(NS_VIDEO, 7);
        t.admit(k2, 5, |_| {});
        t.admit(k2, 5, |r| r.fill(2.0));
        assert_eq!(
            t.get(k2).unwrap(),
            &[2.0; 4],
            "freed row reused and re-initialised"
        );
        assert!(t.check().is_ok());
    }
}
