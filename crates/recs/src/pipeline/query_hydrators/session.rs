//! Session facts: page size, what this session already showed, viewer age.
use crate::engine::{MAX_LIMIT, Query};
use crate::pipeline::{EngineView, QueryHydrator, RankContext};

pub struct SessionHydrator;

impl QueryHydrator for SessionHydrator {
    fn name(&self) -> &'static str {
        "session"
    }

    fn hydrate(&self, view: &EngineView, q: &Query, ctx: &mut RankContext) {
        ctx.now_ms = q.now_ms;
        ctx.limit = q.limit.clamp(1, MAX_LIMIT);
        ctx.viewer_is_adult = q.viewer_is_adult;
        ctx.exclude = q
            .exclude
            .iter()
            .filter_map(|id| view.catalog.videos.get(id))
            .collect();
    }
}
