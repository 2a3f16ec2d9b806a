//! Authors the viewer blocked or muted.
use crate::pipeline::{Candidate, EngineView, Filter, RankContext};

pub struct BlockedAuthorsFilter;

impl Filter for BlockedAuthorsFilter {
    fn name(&self) -> &'static str {
        "blocked_authors"
    }

    fn enable(&self, ctx: &RankContext) -> bool {
        !ctx.blocked_authors.is_empty()
    }

    fn keep(&self, view: &EngineView, ctx: &RankContext, c: &Candidate) -> bool {
        !ctx.blocked_authors
            .contains(&view.catalog.row(c.video).author)
    }
}
