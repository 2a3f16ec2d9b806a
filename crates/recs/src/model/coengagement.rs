//! Item-to-item co-engagement learned online: when a user engages with video j,
//! every video in their recent history gains weight with j, more for the ones
//! engaged just before (a sequence window with geometric decay). This is the
//! recency-aware item-kNN that short-video feeds live on: "people who just
//! watched this, watched that next".
//!
//! Each video keeps at most `cap` neighbours; a new neighbour displaces the
//! weakest one only if it is stronger, so memory is bounded at any catalog size.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NeighbourList {
    ids: Vec<u32>,
    weights: Vec<f32>,
}

impl NeighbourList {
    /// Ids are kept sorted so lookups are a binary search: scoring looks up
    /// every (recent engagement, candidate) pair, far more often than it adds.
    fn add(&mut self, id: u32, w: f32, cap: usize) {
        let at = match self.ids.binary_search(&id) {
            Ok(i) => {
                self.weights[i] += w;
                return;
            }
            Err(at) => at,
        };
        if self.ids.len() < cap {
            self.ids.insert(at, id);
            self.weights.insert(at, w);
            return;
        }
        let (mut min_i, mut min_w) = (0, f32::INFINITY);
        for (i, &x) in self.weights.iter().enumerate() {
            if x < min_w {
                min_i = i;
                min_w = x;
            }
        }
        if min_w < w {
            self.ids.remove(min_i);
            self.weights.remove(min_i);
            let at = if min_i < at { at - 1 } else { at };
            self.ids.insert(at, id);
            self.weights.insert(at, w);
        }
    }

    pub fn get(&self, id: u32) -> f32 {
        self.ids.binary_search(&id).map_or(0.0, |i| self.weights[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.ids.iter().copied().zip(self.weights.iter().copied())
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileEntry {
    pub score: f32,
    pub seed: u32,
    best: f32,
}

pub type Profile = crate::ids::IntMap<u32, ProfileEntry>;

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
        let mut w = 1.0f32;
        for h in recent.take(window) {
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
    pub fn score(&self, history: &[(u32, f32)], v: u32, engaged: impl Fn(u32) -> f32) -> f32 {
        // Links are always added in both directions, and a list only drops
        // entries once it is full; so a video with an empty list appears in no
        // other list and its score is exactly zero. Most sampled negatives in
        // a large catalog are such videos.
        if self.list(v).is_none_or(NeighbourList::is_empty) {
            return 0.0;
        }
        let ev = engaged(v);
        history
            .iter()
            .filter_map(|&(h, wh)| {
                self.list(h)
                    .map(|l| wh * normalise(l.get(v), engaged(h), ev))
            })
            .sum()
    }

    pub fn check(&self, videos: usize) -> Result<(), String> {
        if self.lists.len() > videos
            || self
                .lists
                .iter()
                .any(|l| l.ids.len() != l.weights.len() || !l.ids.is_sorted_by(|a, b| a < b))
        {
            return Err("co-engagement lists inconsistent".into());
        }
        if self
            .lists
            .iter()
            .any(|l| l.ids.iter().any(|&i| i as usize >= videos))
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
        assert!(l.ids.is_sorted());
        for (id, w) in reference {
            assert_eq!(l.get(id), w);
        }
        // Under a cap the weakest go first, and order is kept.
        let mut c = NeighbourList::default();
        for (id, w) in [(9, 5.0), (3, 1.0), (7, 4.0), (1, 6.0)] {
            c.add(id, w, 3);
        }
        assert_eq!(c.ids, vec![1, 7, 9]);
    }
}
