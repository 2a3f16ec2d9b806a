//! For You shows public videos only; followers-only and private videos stay
//! on the following feed and the author's profile.
use crate::catalog::Visibility;
use crate::pipeline::{Candidate, EngineView, Filter, RankContext};

pub struct VisibilityFilter;

impl Filter for VisibilityFilter {
    fn name(&self) -> &'static str {
        "visibility"
    }

    fn keep(&self, view: &EngineView, _ctx: &RankContext, c: &Candidate) -> bool {
        view.catalog.row(c.video).visibility == Visibility::Public
    }
}
