//! The release manifest: everything about the algorithm that a custodian
//! reviews and approves. The engine reads its tunables only from the active
//! manifest, so what runs is exactly what was signed.

use crate::error::ReleaseError;
use serde::{Deserialize, Serialize};

/// The engine version this build implements; a manifest must name it.
pub const ENGINE_VERSION: &str = "sovereel-recs/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique release id, e.g. `2026-11-28.1`.
    pub id: String,
    pub engine_version: String,
    pub objective_weights: ObjectiveWeights,
    pub source_mix: SourceMix,
    /// Share of each page reserved for exploration (fresh uploads), 0..=0.5.
    pub exploration_rate: f32,
    pub filters: FilterThresholds,
    pub hyper: HyperParams,
}

/// Weights of the ranking score Σ wₒ·P(objective). Skip is usually negative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveWeights {
    pub completion: f32,
    pub like: f32,
    pub share: f32,
    pub follow: f32,
    pub skip: f32,
}

impl ObjectiveWeights {
    pub fn as_array(&self) -> [f32; crate::model::objectives::OBJECTIVES] {
        [
            self.completion,
            self.like,
            self.share,
            self.follow,
            self.skip,
        ]
    }
}

/// How many candidates each source may contribute per request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceMix {
    pub embedding: usize,
    pub following: usize,
    pub trending: usize,
    pub hashtag: usize,
    pub co_engagement: usize,
    pub fresh: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterThresholds {
    /// A served or watched video is not shown again within this window.
    pub seen_window_secs: i64,
    /// How many seen videos are remembered per user.
    pub seen_capacity: usize,
    /// At most this many videos by one author per page.
    pub max_per_author: usize,
    pub exclude_age_restricted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HyperParams {
    /// AdaGrad step for the objective heads.
    pub head_learning_rate: f32,
    pub head_l2: f32,
    pub embedding_learning_rate: f32,
    pub embedding_l2: f32,
    /// Recent engagements remembered per user.
    pub history_len: usize,
    /// How far back a new engagement links to earlier ones, and the decay per step.
    pub co_window: usize,
    pub co_decay: f32,
    /// Weight of the k-th most recent engagement when ranking: decay^k.
    pub recency_decay: f32,
    /// Most recent engagements used to build the co-engagement profile.
    pub profile_len: usize,
    /// Neighbours kept per video.
    pub neighbours: usize,
    /// Sightings before an id gets an embedding row.
    pub admission_threshold: u16,
    /// Idle users and embedding rows expire after this long.
    pub idle_expiry_secs: i64,
    /// Sampled negatives per positive, for the heads and embeddings.
    pub negatives: usize,
}

impl Manifest {
    /// The defaults the platform ships as its first release.
    pub fn default_with_id(id: &str) -> Self {
        Manifest {
            id: id.into(),
            engine_version: ENGINE_VERSION.into(),
            objective_weights: ObjectiveWeights {
                completion: 1.0,
                like: 2.0,
                share: 3.0,
                follow: 3.0,
                skip: -1.0,
            },
            source_mix: SourceMix {
                embedding: 60,
                following: 30,
                trending: 60,
                hashtag: 60,
                co_engagement: 120,
                fresh: 30,
            },
            exploration_rate: 0.1,
            filters: FilterThresholds {
                seen_window_secs: 7 * 24 * 3600,
                seen_capacity: 2000,
                max_per_author: 2,
                exclude_age_restricted: false,
            },
            hyper: HyperParams {
                head_learning_rate: 0.2,
                head_l2: 1e-4,
                embedding_learning_rate: 0.05,
                embedding_l2: 1e-3,
                history_len: 50,
                co_window: 10,
                co_decay: 0.85,
                recency_decay: 0.8,
                profile_len: 20,
                neighbours: 128,
                admission_threshold: 1,
                idle_expiry_secs: 90 * 24 * 3600,
                negatives: 1,
            },
        }
    }

    /// Rejects manifests that would make the engine misbehave, before anything is signed or run.
    pub fn validate(&self) -> Result<(), ReleaseError> {
        let bad = |m: &str| Err(ReleaseError::InvalidManifest(m.into()));
        if !crate::ids::valid_id(&self.id) {
            return bad("id must be 1..=128 printable characters without spaces");
        }
        if self.engine_version != ENGINE_VERSION {
            return Err(ReleaseError::UnsupportedEngine {
                found: self.engine_version.clone(),
                supported: ENGINE_VERSION.into(),
            });
        }
        let w = self.objective_weights.as_array();
        if w.iter().any(|x| !x.is_finite() || x.abs() > 1000.0) {
            return bad("objective weights must be finite and within ±1000");
        }
        if !(0.0..=0.5).contains(&self.exploration_rate) {
            return bad("exploration_rate must be within 0..=0.5");
        }
        let m = &self.source_mix;
        for n in [
            m.embedding,
            m.following,
            m.trending,
            m.hashtag,
            m.co_engagement,
            m.fresh,
        ] {
            if n > 10_000 {
                return bad("a source may contribute at most 10000 candidates");
            }
        }
        let f = &self.filters;
        if f.seen_window_secs < 0 || f.seen_capacity > 100_000 || f.max_per_author == 0 {
            return bad("filter thresholds out of range");
        }
        let h = &self.hyper;
        let rates = [
            h.head_learning_rate,
            h.head_l2,
            h.embedding_learning_rate,
            h.embedding_l2,
        ];
        if rates
            .iter()
            .any(|x| !x.is_finite() || *x < 0.0 || *x > 10.0)
        {
            return bad("learning rates must be within 0..=10");
        }
        if !(0.0..=1.0).contains(&h.co_decay) || !(0.0..=1.0).contains(&h.recency_decay) {
            return bad("decays must be within 0..=1");
        }
        if h.history_len == 0
            || h.history_len > 10_000
            || h.co_window > 1000
            || h.profile_len > h.history_len
        {
            return bad("history lengths out of range");
        }
        if h.neighbours == 0
            || h.neighbours > 10_000
            || h.negatives > 100
            || h.idle_expiry_secs <= 0
        {
            return bad("hyper-parameters out of range");
        }
        Ok(())
    }
}
