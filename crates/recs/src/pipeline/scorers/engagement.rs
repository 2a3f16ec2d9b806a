//! Predicted engagement: P(completion, like, share, follow, skip) from the
//! online heads, combined by the release's objective weights.
use crate::model::Viewer;
use crate::pipeline::{Candidate, EngineView, RankContext, Scorer};

pub struct EngagementScorer;

impl Scorer for EngagementScorer {
    fn name(&self) -> &'static str {
        "engagement"
    }

    fn score(&self, view: &EngineView, ctx: &RankContext, candidates: &mut [Candidate]) {
        let viewer = Viewer {
            slot: if ctx.profiled { ctx.user_slot } else { None },
            state: if ctx.profiled { view.user } else { None },
            history: &ctx.history,
            profile: Some(&ctx.profile),
            follows: &ctx.follows,
        };
        let w = view.release.objective_weights.as_array();
        for c in candidates.iter_mut() {
            c.features = view
                .model
                .features(view.catalog, &viewer, c.video, ctx.now_ms);
            c.objectives = view.model.heads.predict(&c.features);
            c.score = c.objectives.iter().zip(&w).map(|(p, w)| p * w).sum();
        }
    }
}
