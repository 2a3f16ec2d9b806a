//! Age-restricted videos only for adult viewers, and not at all when the
//! release excludes them from For You.
use crate::pipeline::{Candidate, EngineView, Filter, RankContext};

pub struct AgeRestrictedFilter;

impl Filter for AgeRestrictedFilter {
    fn name(&self) -> &'static str {
        "age_restricted"
    }

    fn keep(&self, view: &EngineView, ctx: &RankContext, c: &Candidate) -> bool {
        let allowed = ctx.viewer_is_adult && !view.release.filters.exclude_age_restricted;
        allowed || !view.catalog.row(c.video).age_restricted
    }
}
