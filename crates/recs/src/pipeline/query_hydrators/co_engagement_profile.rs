//! Builds the co-engagement profile once per request; both the co-engagement
//! source and the scorer read it, so it is computed here rather than twice.
use crate::engine::Query;
use crate::pipeline::{EngineView, QueryHydrator, RankContext};

pub struct CoEngagementProfileHydrator;

impl QueryHydrator for CoEngagementProfileHydrator {
    fn name(&self) -> &'static str {
        "co_engagement_profile"
    }

    fn hydrate(&self, view: &EngineView, _q: &Query, ctx: &mut RankContext) {
        if ctx.history.is_empty() {
            return;
        }
        let rows = &view.catalog.rows;
        let engaged = |v: u32| rows.get(v as usize).map_or(0.0, |r| r.stats.engaged);
        view.model
            .co
            .accumulate(&ctx.history, engaged, &mut ctx.profile);
    }
}
