//! Served videos join the seen set, so the next page does not repeat them.
use crate::engine::EngineCore;
use crate::pipeline::{Candidate, RankContext, SideEffect};

pub struct RecordServed;

impl SideEffect for RecordServed {
    fn name(&self) -> &'static str {
        "record_served"
    }

    fn apply(&self, engine: &mut EngineCore, ctx: &RankContext, selected: &[Candidate]) {
        let (true, Some(u)) = (ctx.profiled, ctx.user_slot) else {
            return;
        };
        let cap = engine.release.filters.seen_capacity;
        if let Some(state) = engine.user_mut(u) {
            for c in selected {
                state.mark_seen(c.video, ctx.now_ms, cap);
            }
        }
    }
}
