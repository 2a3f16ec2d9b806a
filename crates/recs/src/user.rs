//! Per-user state the engine keeps inside the region: recent engagements,
//! hashtag and creator affinities, the seen set, "not interested" choices, and
//! impressions waiting for their outcome (the online joiner that turns an
//! impression plus what followed into labels). All of it is protected data and
//! is dropped whole by `forget_user`.

use crate::model::objectives::{Features, Labels, OBJECTIVES};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Affinity lists are small and decayed: a few dozen tags/creators describe a taste.
const AFFINITY_CAP: usize = 32;
const AFFINITY_DECAY: f32 = 0.97;
const NOT_INTERESTED_CAP: usize = 512;
/// Impressions awaiting an outcome; older ones are closed as "not engaged".
pub const PENDING_CAP: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Engagement {
    pub video: u32,
    pub at_ms: i64,
    pub strength: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub video: u32,
    pub at_ms: i64,
    pub features: Features,
    pub labels: Labels,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserState {
    /// Most recent first.
    pub history: VecDeque<Engagement>,
    pub tag_affinity: Vec<(u32, f32)>,
    /// Hashtags and creators the user keeps skipping (kept apart from affinity
    /// so a negative signal is a feature of its own, not just a missing positive).
    pub tag_aversion: Vec<(u32, f32)>,
    pub author_aversion: Vec<(u32, f32)>,
    pub author_affinity: Vec<(u32, f32)>,
    pub not_interested_authors: VecDeque<u32>,
    pub not_interested_videos: VecDeque<u32>,
    /// Video → when it was last served or watched.
    pub seen: crate::ids::IntMap<u32, i64>,
    seen_order: VecDeque<(u32, i64)>,
    pub pending: VecDeque<Pending>,
    pub events: u64,
}

fn bump(list: &mut Vec<(u32, f32)>, key: u32, w: f32) {
    for e in list.iter_mut() {
        e.1 *= AFFINITY_DECAY;
    }
    if let Some(e) = list.iter_mut().find(|e| e.0 == key) {
        e.1 += w;
    } else if list.len() < AFFINITY_CAP {
        list.push((key, w));
    } else if let Some(min) = list.iter_mut().min_by(|a, b| a.1.total_cmp(&b.1))
        && min.1 < w
    {
        *min = (key, w);
    }
    list.retain(|e| e.1 > 1e-3);
}

impl UserState {
    pub fn engage(&mut self, video: u32, at_ms: i64, strength: f32, history_len: usize) {
        if let Some(first) = self.history.front_mut()
            && first.video == video
        {
            first.strength += strength;
            first.at_ms = at_ms;
            return;
        }
        self.history.push_front(Engagement {
            video,
            at_ms,
            strength,
        });
        self.history.truncate(history_len);
    }

    pub fn bump_tags(&mut self, tags: &[u32], w: f32) {
        for &t in tags {
            bump(&mut self.tag_affinity, t, w / (tags.len() as f32).sqrt());
        }
    }

    pub fn bump_author(&mut self, author: u32, w: f32) {
        bump(&mut self.author_affinity, author, w);
    }

    /// Negative feedback lowers affinity without ever turning it into a recommendation.
    pub fn dampen(&mut self, tags: &[u32], author: u32, factor: f32) {
        for e in self.tag_affinity.iter_mut().filter(|e| tags.contains(&e.0)) {
            e.1 *= factor;
        }
        if let Some(e) = self.author_affinity.iter_mut().find(|e| e.0 == author) {
            e.1 *= factor;
        }
        let w = 1.0 - factor;
        for &t in tags {
            bump(&mut self.tag_aversion, t, w / (tags.len() as f32).sqrt());
        }
        bump(&mut self.author_aversion, author, w);
    }

    /// A positive engagement halves the aversion to what it was about.
    pub fn forgive(&mut self, tags: &[u32], author: u32) {
        for e in self.tag_aversion.iter_mut().filter(|e| tags.contains(&e.0)) {
            e.1 *= 0.5;
        }
        if let Some(e) = self.author_aversion.iter_mut().find(|e| e.0 == author) {
            e.1 *= 0.5;
        }
    }

    pub fn aversion(&self, tags: &[u32], author: u32) -> f32 {
        let t: f32 = self
            .tag_aversion
            .iter()
            .filter(|e| tags.contains(&e.0))
            .map(|e| e.1)
            .sum();
        let a = self
            .author_aversion
            .iter()
            .find(|e| e.0 == author)
            .map_or(0.0, |e| e.1);
        t + a
    }

    pub fn tag_affinity(&self, tags: &[u32]) -> f32 {
        self.tag_affinity
            .iter()
            .filter(|e| tags.contains(&e.0))
            .map(|e| e.1)
            .sum()
    }

    pub fn author_affinity(&self, author: u32) -> f32 {
        self.author_affinity
            .iter()
            .find(|e| e.0 == author)
            .map_or(0.0, |e| e.1)
    }

    pub fn not_interested_in(&mut self, author: u32, video: u32) {
        if !self.not_interested_authors.contains(&author) {
            self.not_interested_authors.push_front(author);
            self.not_interested_authors.truncate(NOT_INTERESTED_CAP);
        }
        self.not_interested_videos.push_front(video);
        self.not_interested_videos.truncate(NOT_INTERESTED_CAP);
        self.history.retain(|e| e.video != video);
        self.author_affinity.retain(|e| e.0 != author);
    }

    pub fn mark_seen(&mut self, video: u32, at_ms: i64, capacity: usize) {
        self.seen.insert(video, at_ms);
        self.seen_order.push_back((video, at_ms));
        // The order queue may hold stale duplicates; only evict entries still current.
        while self.seen.len() > capacity {
            let Some((v, t)) = self.seen_order.pop_front() else {
                break;
            };
            if self.seen.get(&v) == Some(&t) {
                self.seen.remove(&v);
            }
        }
        if self.seen_order.len() > 2 * capacity.max(16) {
            let seen = &self.seen;
            self.seen_order.retain(|(v, t)| seen.get(v) == Some(t));
        }
    }

    pub fn seen_within(&self, video: u32, now_ms: i64, window_ms: i64) -> bool {
        self.seen
            .get(&video)
            .is_some_and(|&t| now_ms.saturating_sub(t) < window_ms)
    }

    /// Starts waiting for the outcome of an impression. Returns the impression it
    /// pushed out, which is closed as not engaged.
    pub fn open_impression(&mut self, p: Pending) -> Option<Pending> {
        self.pending.retain(|q| q.video != p.video);
        self.pending.push_back(p);
        if self.pending.len() > PENDING_CAP {
            self.pending.pop_front()
        } else {
            None
        }
    }

    pub fn pending_mut(&mut self, video: u32) -> Option<&mut Pending> {
        self.pending.iter_mut().find(|p| p.video == video)
    }

    pub fn close_impression(&mut self, video: u32) -> Option<Pending> {
        let i = self.pending.iter().position(|p| p.video == video)?;
        self.pending.remove(i)
    }

    /// The recency-weighted profile the co-engagement source and scorer use.
    pub fn weighted_history(&self, len: usize, decay: f32) -> Vec<(u32, f32)> {
        let mut out = Vec::with_capacity(len.min(self.history.len()));
        self.weighted_history_into(len, decay, &mut out);
        out
    }

    /// [`Self::weighted_history`] into a buffer the caller keeps, so the learner
    /// does not allocate per event.
    pub fn weighted_history_into(&self, len: usize, decay: f32, out: &mut Vec<(u32, f32)>) {
        out.clear();
        let mut w = 1.0;
        for e in self.history.iter().take(len) {
            out.push((e.video, w * e.strength.min(3.0)));
            w *= decay;
        }
    }
}

/// Labels for an impression nobody engaged with: every positive objective is 0.
pub fn unengaged_labels() -> Labels {
    let mut l = [Some(0.0); OBJECTIVES];
    l[crate::model::objectives::SKIP] = None;
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_set_is_bounded_and_windowed() {
        let mut u = UserState::default();
        for v in 0..10 {
            u.mark_seen(v, 1000 + i64::from(v), 5);
        }
        assert_eq!(u.seen.len(), 5);
        assert!(!u.seen.contains_key(&0));
        assert!(u.seen_within(9, 1010, 100));
        assert!(
            !u.seen_within(9, 5000, 100),
            "outside the window it may come back"
        );
        // Re-marking keeps the newest time and does not evict it early.
        u.mark_seen(5, 2000, 5);
        u.mark_seen(50, 2001, 5);
        assert!(u.seen.contains_key(&5));
    }

    #[test]
    fn pending_impressions_are_bounded() {
        let mut u = UserState::default();
        let p = |v| Pending {
            video: v,
            at_ms: 0,
            features: [0.0; crate::model::objectives::NF],
            labels: [None; 5],
        };
        for v in 0..PENDING_CAP as u32 {
            assert!(u.open_impression(p(v)).is_none());
        }
        assert_eq!(u.open_impression(p(999)).map(|q| q.video), Some(0));
        assert!(u.close_impression(999).is_some());
        assert!(u.close_impression(999).is_none());
    }

    #[test]
    fn affinities_decay_and_not_interested_clears() {
        let mut u = UserState::default();
        u.bump_author(1, 1.0);
        u.bump_author(2, 1.0);
        assert!(u.author_affinity(1) < u.author_affinity(2));
        u.engage(7, 0, 1.0, 10);
        u.not_interested_in(2, 7);
        assert_eq!(u.author_affinity(2), 0.0);
        assert!(u.history.is_empty());
        assert!(u.not_interested_authors.contains(&2));
    }
}
