//! Item-to-item co-engagement learned online: when a user engages with video j,
//! every video in their recent history gains weight with j, more for the ones
//! engaged just before (a sequence window with geometric decay). This is the
//! recency-aware item-kNN that short-video feeds live on: "people who just
//! watched this, watched that next".
//!
//! Each video keeps at most `cap` neighbours; a new neighbour displaces the
//! weakest one only if it is stronger, so memory is bounded at any catalog size.

use serde::{Deserialize, Serialize};

/// A video's neighbours as (id, weight) pairs sorted by id, in one allocation:
/// the learner touches ten of these lists per engagement, each a likely cache
/// miss at a million videos, so ids and weights share their cache lines.
/// Snapshots keep the older two-array shape (`ids`, `weights`).
#[derive(Debug, Clone, Default)]
pub struct NeighbourList {
    entries: Vec<(u32, f32)>,
    /// A lower bound on the smallest weight of a full list (0 when unknown).
    /// Weights only grow, so a bound stays a bound; a new neighbour no
    /// stronger than it is turned away without scanning the list for its
    /// weakest entry, which is most of what a full list sees.
    min_bound: f32,
}

/// One column of the entries, serialised as a sequence without copying it out.
struct Column<'a, T: Serialize>(&'a [(u32, f32)], fn(&(u32, f32)) -> T);

impl<T: Serialize> Serialize for Column<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(self.1))
    }
}

#[derive(Deserialize)]
struct SavedList {
    ids: Vec<u32>,
    weights: Vec<f32>,
}

impl Serialize for NeighbourList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("NeighbourList", 2)?;
        st.serialize_field("ids", &Column(&self.entries, |e| e.0))?;
        st.serialize_field("weights", &Column(&self.entries, |e| e.1))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for NeighbourList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let saved = SavedList::deserialize(d)?;
        if saved.ids.len() != saved.weights.len() {
            return Err(serde::de::Error::custom(
                "neighbour ids and weights differ in length",
            ));
        }
        Ok(NeighbourList {
            entries: saved.ids.into_iter().zip(saved.weights).collect(),
            min_bound: 0.0,
        })
    }
}

impl NeighbourList {
    fn find(&self, id: u32) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&id, |e| e.0)
    }

    /// Loads one entry of every cache line of the list, independently of each
    /// other, so the memory system fetches them all at once. A binary search
    /// alone is a chain of dependent loads, and at a million videos each one
    /// was a cache miss: the learner spent most of its time there.
    fn warm(&self) {
        let mut x = 0u32;
        for e in self.entries.iter().step_by(8) {
            x ^= e.0;
        }
        std::hint::black_box(x);
    }

    /// Ids are kept sorted so lookups are a binary search: scoring looks up
    /// every (recent engagement, candidate) pair, far more often than it adds.
    fn add(&mut self, id: u32, w: f32, cap: usize) {
        self.warm();
        let at = match self.find(id) {
            Ok(i) => {
                self.entries[i].1 += w;
                return;
            }
            Err(at) => at,
        };
        if self.entries.len() < cap {
            self.entries.insert(at, (id, w));
            // A lighter newcomer lowers the minimum (if the cap changed).
            self.min_bound = self.min_bound.min(w);
            return;
        }
        if w <= self.min_bound {
            return;
        }
        let (mut min_i, mut min_w, mut second) = (0, f32::INFINITY, f32::INFINITY);
        for (i, e) in self.entries.iter().enumerate() {
            if e.1 < min_w {
                min_i = i;
                second = min_w;
                min_w = e.1;
            } else if e.1 < second {
                second = e.1;
            }
        }
        if min_w < w {
            // After the swap the weakest is the runner-up or the newcomer.
            self.min_bound = second.min(w);
            // Drop the weakest and insert in order with one shift of the span between.
            if min_i < at {
                self.entries[min_i..at].rotate_left(1);
                self.entries[at - 1] = (id, w);
            } else {
                self.entries[at..=min_i].rotate_right(1);
                self.entries[at] = (id, w);
            }
        } else {
            self.min_bound = min_w;
        }
    }

    pub fn get(&self, id: u32) -> f32 {
        self.find(id).map_or(0.0, |i| self.entries[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.entries.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries.iter().map(|e| e.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileEntry {
    pub score: f32,
    pub seed: u32,
    best: f32,
}

pub type Profile = crate::ids::IntMap<u32, ProfileEntry>;

/// How much of the sequence window is fetched ahead (the rest of a longer
/// window, which no shipped release has, is linked the same, only unfetched).
const WARM_WINDOW: usize = 32;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CoEngagement {
    lists: Vec<NeighbourList>,
}

/// How strongly co-engagement of `a` with `b` counts, given each one's total
/// engagement: a cosine-style normalisation so blockbusters do not neighbour everything.
pub fn normalise(raw: f32, engaged_a: f32, engaged_b: f32) -> f32 {
    raw / ((engaged_a + 1.0) * (engaged_b + 1.0)).sqrt()
}

impl CoEngagement {
    fn list_mut(&mut self, v: u32) -> &mut NeighbourList {
        if self.lists.len() <= v as usize {
            self.lists
                .resize_with(v as usize + 1, NeighbourList::default);
        }
        &mut self.lists[v as usize]
    }

    /// Starts fetching `v`'s list header and its first entries.
    pub fn prefetch(&self, v: u32) {
        if let Some(l) = self.lists.get(v as usize) {
            crate::model::prefetch(l);
            if let Some(e) = l.entries.first() {
                crate::model::prefetch(e);
            }
        }
    }

    pub fn list(&self, v: u32) -> Option<&NeighbourList> {
        self.lists.get(v as usize)
    }

    /// Records that `j` was engaged right after `recent` (most recent first).
    pub fn observe(
        &mut self,
        recent: impl Iterator<Item = u32>,
        j: u32,
        window: usize,
        decay: f32,
        cap: usize,
    ) {
        // The window's lists are fetched together first (they are
        // independent of each other), then updated.
        let mut recent = recent.take(window);
        let mut recent_buf = [0u32; WARM_WINDOW];
        let mut n = 0;
        for h in recent.by_ref().take(WARM_WINDOW) {
            recent_buf[n] = h;
            n += 1;
        }
        let rest: Vec<u32> = recent.collect();
        let recent = &recent_buf[..n];
        let top = recent.iter().copied().chain([j]).max().unwrap_or(j);
        if self.lists.len() <= top as usize {
            self.lists
                .resize_with(top as usize + 1, NeighbourList::default);
        }
        for &h in recent {
            self.lists[h as usize].warm();
        }
        let mut w = 1.0f32;
        for &h in recent.iter().chain(&rest) {
            if h != j {
                self.list_mut(h).add(j, w, cap);
                self.list_mut(j).add(h, w, cap);
            }
            w *= decay;
        }
    }

    /// Forgets a video's own list (its slot is never reused for another video).
    pub fn clear(&mut self, v: u32) {
        if let Some(l) = self.lists.get_mut(v as usize) {
            *l = NeighbourList::default();
        }
    }

    /// Co-engagement profile of a history: candidate → Σ weightₖ · sim(hₖ, candidate),
    /// remembering which history item contributed most (the "because you watched").
    pub fn accumulate(
        &self,
        history: &[(u32, f32)],
        engaged: impl Fn(u32) -> f32,
        out: &mut Profile,
    ) {
        for &(h, wh) in history {
            let Some(list) = self.list(h) else { continue };
            let eh = engaged(h);
            for (n, c) in list.iter() {
                let add = wh * normalise(c, eh, engaged(n));
                let e = out.entry(n).or_insert(ProfileEntry {
                    score: 0.0,
                    seed: h,
                    best: 0.0,
                });
                e.score += add;
                if add > e.best {
                    e.best = add;
                    e.seed = h;
                }
            }
        }
    }

    /// The same score for one candidate, without building the whole profile.
    ///
    /// Links are added in both directions with the same weight, so `v`'s own
    /// list holds the weight of each (history item, `v`) pair: one list, already
    /// in cache after the first lookup, instead of one cache miss per history
    /// item. The two sides can differ only after one list evicted the pair
    /// (then the side that kept it is read); this runs for every learned event,
    /// where that difference does not matter and the misses do.
    pub fn score(&self, history: &[(u32, f32)], v: u32, engaged: impl Fn(u32) -> f32) -> f32 {
        // A video with an empty list appears in no other list (links are added
        // both ways, and a list only drops entries once it is full), so its score
        // is exactly zero. Most sampled negatives in a large catalog are such videos.
        let Some(list) = self.list(v).filter(|l| !l.is_empty()) else {
            return 0.0;
        };
        list.warm();
        let ev = engaged(v);
        history
            .iter()
            .map(|&(h, wh)| {
                let c = list.get(h);
                if c == 0.0 {
                    0.0
                } else {
                    wh * normalise(c, engaged(h), ev)
                }
            })
            .sum()
    }

    pub fn check(&self, videos: usize) -> Result<(), String> {
        if self.lists.len() > videos
            || self
                .lists
                .iter()
                .any(|l| !l.entries.is_sorted_by(|a, b| a.0 < b.0))
        {
            return Err("co-engagement lists inconsistent".into());
        }
        if self
            .lists
            .iter()
            .any(|l| l.ids().any(|i| i as usize >= videos))
        {
            return Err("co-engagement neighbour out of range".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_decay_and_cap() {
        let mut c = CoEngagement::default();
        // History (most recent first): 2, 1. Engaging 3 links 3-2 at 1.0 and 3-1 at 0.5.
        c.observe([2u32, 1].into_iter(), 3, 10, 0.5, 2);
        assert_eq!(c.list(3).unwrap().get(2), 1.0);
        assert_eq!(c.list(3).unwrap().get(1), 0.5);
        // A stronger new neighbour displaces the weakest when full; a weaker one does not.
        c.observe([4u32].into_iter(), 3, 10, 0.5, 2);
        assert_eq!(c.list(3).unwrap().get(4), 1.0);
        assert_eq!(c.list(3).unwrap().get(1), 0.0);
        assert_eq!(c.list(3).unwrap().len(), 2);
        let mut prof = Profile::default();
        c.accumulate(&[(3, 1.0)], |_| 0.0, &mut prof);
        assert_eq!(prof.len(), 2);
        assert_eq!(c.score(&[(3, 1.0)], 2, |_| 0.0), prof[&2].score);
        assert_eq!(prof[&2].seed, 3);
    }

    #[test]
    fn lists_stay_sorted_and_match_a_reference() {
        let mut l = NeighbourList::default();
        let mut reference = std::collections::HashMap::new();
        let mut x = 7u64;
        for _ in 0..2000 {
            x = crate::ids::mix64(x);
            let id = (x % 50) as u32;
            l.add(id, 1.0, 64);
            *reference.entry(id).or_insert(0.0) += 1.0;
        }
        assert!(l.ids().is_sorted());
        for (id, w) in reference {
            assert_eq!(l.get(id), w);
        }
        // Under a cap the weakest go first, and order is kept.
        let mut c = NeighbourList::default();
        for (id, w) in [(9, 5.0), (3, 1.0), (7, 4.0), (1, 6.0)] {
            c.add(id, w, 3);
        }
        assert_eq!(c.ids().collect::<Vec<_>>(), vec![1, 7, 9]);
        // Snapshots keep the two-array shape.
        let bytes = postcard::to_allocvec(&c).unwrap();
        #[derive(Deserialize)]
        struct TwoArrays {
            ids: Vec<u32>,
            weights: Vec<f32>,
        }
        let old: TwoArrays = postcard::from_bytes(&bytes).unwrap();
        assert_eq!((old.ids, old.weights), (vec![1, 7, 9], vec![6.0, 4.0, 5.0]));
        let back: NeighbourList = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.entries, c.entries);
    }
}
