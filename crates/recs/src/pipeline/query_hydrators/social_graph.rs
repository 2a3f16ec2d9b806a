//! Follows, blocks and mutes, resolved to author slots. The server owns the
//! social graph and passes it in; the engine never stores it.
use crate::engine::Query;
use crate::pipeline::{EngineView, QueryHydrator, RankContext};

pub struct SocialGraphHydrator;

impl QueryHydrator for SocialGraphHydrator {
    fn name(&self) -> &'static str {
        "social_graph"
    }

    fn hydrate(&self, view: &EngineView, q: &Query, ctx: &mut RankContext) {
        let authors = &view.catalog.authors;
        // Following is a personal signal, so non-profiled ranking ignores it;
        // blocks and mutes are explicit choices and always apply.
        if ctx.profiled {
            ctx.follows = q.follows.iter().filter_map(|a| authors.get(a)).collect();
        }
        ctx.blocked_authors = q
            .blocked_authors
            .iter()
            .chain(&q.muted_authors)
            .filter_map(|a| authors.get(a))
            .collect();
    }
}
