//! The online model: co-engagement, embeddings with their ANN index, and the
//! objective heads. Everything here learns one event at a time; there is no
//! batch job anywhere, which is why a like shows up in the very next page.

pub mod ann;
pub mod coengagement;
pub mod embeddings;
pub mod objectives;

use crate::catalog::Catalog;
use crate::ids::mix64;
use crate::release::manifest::HyperParams;
use crate::user::{UserState, unengaged_labels};
use ann::AnnIndex;
use coengagement::CoEngagement;
use embeddings::{EmbeddingTable, NS_TAG, NS_USER, NS_VIDEO, dot, feature_key, init_random};
use objectives::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub const DEFAULT_DIM: usize = 16;

/// A hint to fetch the cache line holding `x` (nothing happens on other
/// architectures). It never faults and changes no value.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching only reads, may not fault, and `x` is a valid reference.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}
/// Largest embedding dimension an engine accepts.
pub const MAX_DIM: usize = 128;
const INIT_SCALE: f32 = 0.1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub co: CoEngagement,
    pub video_emb: EmbeddingTable,
    pub user_emb: EmbeddingTable,
    pub tag_emb: EmbeddingTable,
    pub ann: AnnIndex,
    pub heads: ObjectiveHeads,
    rng: u64,
    /// The negatives sampled for the last positive: the heads and the
    /// embeddings learn from the same ones (one random catalog read, not two).
    #[serde(skip)]
    negatives_buf: Vec<u32>,
}

/// What the scorer and the learner know about the viewer for one (user, video) pair.
pub struct Viewer<'a> {
    pub slot: Option<u32>,
    pub state: Option<&'a UserState>,
    /// Recency-weighted recent engagements (empty when not profiled).
    pub history: &'a [(u32, f32)],
    /// Co-engagement profile of `history`, when the caller already built it.
    pub profile: Option<&'a coengagement::Profile>,
    pub follows: &'a HashSet<u32>,
}

impl Model {
    pub fn new(dim: usize, hyper: &HyperParams) -> Self {
        Model {
            co: CoEngagement::default(),
            video_emb: EmbeddingTable::new(dim, 1),
            user_emb: EmbeddingTable::new(dim, hyper.admission_threshold),
            tag_emb: EmbeddingTable::new(dim, 1),
            ann: AnnIndex::new(dim, 4, if dim >= 8 { 12 } else { 6 }),
            heads: ObjectiveHeads::default(),
            rng: 0x5eed,
            negatives_buf: Vec::new(),
        }
    }

    pub fn apply_hyper(&mut self, hyper: &HyperParams) {
        self.user_emb
            .set_admission_threshold(hyper.admission_threshold);
    }

    fn next_rand(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.rng)
    }

    pub fn user_vec(&self, user: u32) -> Option<&[f32]> {
        self.user_emb.get(feature_key(NS_USER, user))
    }

    pub fn video_vec(&self, v: u32) -> Option<&[f32]> {
        self.video_emb.get(feature_key(NS_VIDEO, v))
    }

    /// The feature vector of (viewer, video) at `now_ms`. Personal features are
    /// zero when the viewer has no state, which is how non-profiled ranking works.
    pub fn features(&self, catalog: &Catalog, viewer: &Viewer, v: u32, now_ms: i64) -> Features {
        let row = catalog.row(v);
        let engaged = |x: u32| {
            catalog
                .rows
                .get(x as usize)
                .map_or(0.0, |r| r.stats.engaged)
        };
        let mut f = [0.0; NF];
        f[F_BIAS] = 1.0;
        let co = match viewer.profile {
            Some(p) => p.get(&v).map_or(0.0, |e| e.score),
            None => self.co.score(viewer.history, v, engaged),
        };
        f[F_CO] = (1.0 + 10.0 * co).ln();
        if let (Some(u), Some(vv)) = (
            viewer.slot.and_then(|u| self.user_vec(u)),
            self.video_vec(v),
        ) {
            f[F_EMB] = dot(u, vv).clamp(-5.0, 5.0);
        }
        if let Some(s) = viewer.state {
            f[F_TAG] = (1.0 + s.tag_affinity(&row.tags)).ln();
            f[F_AUTHOR] = (1.0 + s.author_affinity(row.author)).ln();
            f[F_AVERSION] = (1.0 + s.aversion(&row.tags, row.author)).ln();
        }
        f[F_FOLLOWS] = if viewer.follows.contains(&row.author) {
            1.0
        } else {
            0.0
        };
        f[F_TREND] = (1.0 + catalog.trend_now(v, now_ms) as f32).ln() / 5.0;
        let age_h = (now_ms - row.created_at_ms).max(0) as f32 / 3_600_000.0;
        f[F_FRESH] = (-age_h / 24.0).exp();
        f[F_COMPLETION_RATE] = row.stats.completion_rate();
        f[F_LIKE_RATE] = row.stats.like_rate();
        f[F_SKIP_RATE] = row.stats.skip_rate();
        f
    }

    /// A positive engagement of strength `s`: co-engagement with the user's recent
    /// history, embeddings pulled together, and sampled negatives pushed apart.
    #[allow(clippy::too_many_arguments)]
    pub fn learn_positive(
        &mut self,
        catalog: &mut Catalog,
        user_slot: u32,
        user: &UserState,
        v: u32,
        s: f32,
        at_ms: i64,
        hp: &HyperParams,
    ) {
        self.co.observe(
            user.history.iter().map(|e| e.video),
            v,
            hp.co_window,
            hp.co_decay,
            hp.neighbours,
        );
        catalog.rows[v as usize].stats.engaged += 1.0;
        catalog.add_trend(v, at_ms, f64::from(s));
        self.embedding_step(catalog, user_slot, v, 1.0, s.min(2.0), at_ms, hp);
        let negatives = std::mem::take(&mut self.negatives_buf);
        for &n in &negatives {
            self.embedding_step(catalog, user_slot, n, 0.0, 1.0, at_ms, hp);
        }
        self.negatives_buf = negatives;
    }

    /// Samples the negatives of a positive event: random catalog videos the user
    /// did not engage with. [`Self::learn_positive`] pushes them away from the
    /// user's embedding; with `train_heads` they also train the heads as not
    /// engaged, the "negatives from unengaged impressions" when the client sent
    /// no impressions (a served video's own outcome makes them unnecessary).
    ///
    /// The negatives are drawn by [`Self::sample_negatives`] first.
    pub fn learn_sampled_negatives(
        &mut self,
        catalog: &Catalog,
        viewer: &Viewer,
        at_ms: i64,
        hp: &HyperParams,
        train_heads: bool,
    ) {
        if !train_heads {
            return;
        }
        for k in 0..self.negatives_buf.len() {
            let n = self.negatives_buf[k];
            {
                let f = self.features(catalog, viewer, n, at_ms);
                self.heads.train_example(
                    &f,
                    &unengaged_labels(),
                    hp.head_learning_rate,
                    hp.head_l2,
                    true,
                );
            }
        }
    }

    /// A negative engagement (skip, not interested): push user and video apart.
    pub fn learn_negative(
        &mut self,
        catalog: &Catalog,
        user_slot: u32,
        v: u32,
        at_ms: i64,
        hp: &HyperParams,
    ) {
        self.embedding_step(catalog, user_slot, v, 0.0, 1.0, at_ms, hp);
    }

    /// Draws the negatives of a positive on `v` (random live catalog videos)
    /// and starts fetching what learning from them will read: they are
    /// random videos of a large catalog, so every one of those reads is a
    /// cache miss, and fetched now they arrive while the event's own
    /// features are computed.
    pub fn sample_negatives(&mut self, catalog: &Catalog, v: u32, hp: &HyperParams) {
        self.negatives_buf.clear();
        for _ in 0..hp.negatives {
            if let Some(n) = self.sample_video(catalog, v) {
                self.negatives_buf.push(n);
                self.prefetch_video(n);
            }
        }
    }

    /// Hints the memory system to fetch video `v`'s co-engagement list,
    /// embedding row and index entries.
    pub fn prefetch_video(&self, v: u32) {
        self.co.prefetch(v);
        self.video_emb.prefetch(feature_key(NS_VIDEO, v));
        self.ann.prefetch(v);
    }

    fn sample_video(&mut self, catalog: &Catalog, not: u32) -> Option<u32> {
        let n = catalog.rows.len() as u64;
        if n < 2 {
            return None;
        }
        for _ in 0..4 {
            let c = (self.next_rand() % n) as u32;
            if c != not && catalog.rows[c as usize].live {
                return Some(c);
            }
        }
        None
    }

    /// One logistic SGD step on σ(u·v) towards `label`, for the user, the video
    /// and (on positives) the video's hashtags, which give new uploads a starting point.
    ///
    /// Each row is looked up once and updated in place (this runs for every
    /// positive and every sampled negative): the user's and the video's rows
    /// live in different tables, so both are borrowed at once, and the old
    /// values each update needs are read coordinate by coordinate.
    #[allow(clippy::too_many_arguments)]
    fn embedding_step(
        &mut self,
        catalog: &Catalog,
        user_slot: u32,
        v: u32,
        label: f32,
        weight: f32,
        at_ms: i64,
        hp: &HyperParams,
    ) {
        let uk = feature_key(NS_USER, user_slot);
        let Some(ur) = self
            .user_emb
            .admit_index(uk, at_ms, |r| init_random(uk, r, INIT_SCALE))
        else {
            return;
        };
        let tags = &catalog.row(v).tags;
        let vk = feature_key(NS_VIDEO, v);
        let vr = match self.video_emb.index_of(vk) {
            Some(r) => {
                self.video_emb.touch(r, at_ms);
                r
            }
            None => {
                let dim = self.video_emb.dim.min(MAX_DIM);
                let mut init = [0f32; MAX_DIM];
                self.video_init_into(v, tags, &mut init[..dim]);
                match self
                    .video_emb
                    .admit_index(vk, at_ms, |r| r.copy_from_slice(&init[..dim]))
                {
                    Some(r) => r,
                    None => return,
                }
            }
        };
        let lr = hp.embedding_learning_rate;
        // The hashtags move towards the user as they were before this step.
        if label > 0.0 {
            let u = self.user_emb.row(ur);
            let mut u_old = [0f32; MAX_DIM];
            let dim = u.len().min(MAX_DIM);
            u_old[..dim].copy_from_slice(&u[..dim]);
            for &t in tags {
                let tk = feature_key(NS_TAG, t);
                if let Some(tv) = self
                    .tag_emb
                    .admit(tk, at_ms, |r| init_random(tk, r, INIT_SCALE))
                {
                    for (x, uo) in tv.iter_mut().zip(&u_old[..dim]) {
                        *x += lr * 0.5 * (uo - *x);
                    }
                }
            }
        }
        let u = self.user_emb.row_mut(ur);
        let vv = self.video_emb.row_mut(vr);
        let g = weight * (label - sigmoid(dot(u, vv)));
        let l2 = hp.embedding_l2;
        let mut moved_sq = 0f32;
        for (x, y) in vv.iter_mut().zip(u.iter_mut()) {
            let (vo, uo) = (*x, *y);
            *x = vo + lr * (g * uo - l2 * vo);
            *y = uo + lr * (g * vo - l2 * uo);
            moved_sq += (*x - vo) * (*x - vo);
        }
        let row = catalog.row(v);
        if row.live && !row.deleted && !row.misinformation {
            self.ann
                .upsert_moved(v, self.video_emb.row(vr), moved_sq.sqrt());
        }
    }

    /// A new video starts from its hashtags' embeddings, so embedding retrieval
    /// can find it before anyone has watched it.
    pub fn video_init(&self, v: u32, tags: &[u32]) -> Vec<f32> {
        let mut out = vec![0.0; self.video_emb.dim];
        self.video_init_into(v, tags, &mut out);
        out
    }

    /// [`Self::video_init`] into `out` (of the table's dimension), without allocating.
    pub fn video_init_into(&self, v: u32, tags: &[u32], out: &mut [f32]) {
        init_random(feature_key(NS_VIDEO, v), out, INIT_SCALE * 0.5);
        let mut n = 0.0;
        let mut acc = [0f32; MAX_DIM];
        let acc = &mut acc[..out.len()];
        for &t in tags {
            if let Some(tv) = self.tag_emb.get(feature_key(NS_TAG, t)) {
                for (a, x) in acc.iter_mut().zip(tv) {
                    *a += x;
                }
                n += 1.0;
            }
        }
        if n > 0.0 {
            for (o, a) in out.iter_mut().zip(acc.iter()) {
                *o += a / n;
            }
        }
    }

    /// Indexes a newly uploaded video under its hashtag-derived embedding.
    pub fn index_new_video(&mut self, catalog: &Catalog, v: u32, at_ms: i64) {
        let tags = catalog.row(v).tags.clone();
        if tags
            .iter()
            .all(|&t| self.tag_emb.get(feature_key(NS_TAG, t)).is_none())
        {
            return;
        }
        let init = self.video_init(v, &tags);
        let vk = feature_key(NS_VIDEO, v);
        if let Some(row) = self
            .video_emb
            .admit(vk, at_ms, |r| r.copy_from_slice(&init))
        {
            let vec = row.to_vec();
            self.ann.upsert(v, &vec);
        }
    }

    pub fn remove_video(&mut self, v: u32) {
        self.ann.remove(v);
        self.video_emb.remove(feature_key(NS_VIDEO, v));
        self.co.clear(v);
    }

    pub fn forget_user(&mut self, user_slot: u32) {
        self.user_emb.remove(feature_key(NS_USER, user_slot));
    }

    pub fn check(&self, videos: usize) -> Result<(), String> {
        self.co.check(videos)?;
        self.video_emb.check()?;
        self.user_emb.check()?;
        self.tag_emb.check()?;
        self.ann.check()?;
        self.heads.check()
    }
}
