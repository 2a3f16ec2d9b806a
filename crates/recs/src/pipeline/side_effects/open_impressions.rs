//! Remembers the features each served video was ranked with, so the outcome
//! events that follow (view, like, skip…) train the heads on exactly what the
//! model saw; impressions that get no outcome become negatives.
use crate::engine::EngineCore;
use crate::pipeline::{Candidate, RankContext, SideEffect};
use crate::user::Pending;

pub struct OpenImpressions;

impl SideEffect for OpenImpressions {
    fn name(&self) -> &'static str {
        "open_impressions"
    }

    fn apply(&self, engine: &mut EngineCore, ctx: &RankContext, selected: &[Candidate]) {
        let (true, Some(u)) = (ctx.profiled, ctx.user_slot) else {
            return;
        };
        for c in selected {
            let p = Pending {
                video: c.video,
                at_ms: ctx.now_ms,
                features: c.features,
                labels: [None; 5],
            };
            engine.open_impression(u, p);
        }
    }
}
