//! Videos and creators the viewer marked "not interested". An explicit choice,
//! not a profile, so it applies in non-profiled mode too.
use crate::pipeline::{Candidate, EngineView, Filter, RankContext};

pub struct NotInterestedFilter;

impl Filter for NotInterestedFilter {
    fn name(&self) -> &'static str {
        "not_interested"
    }

    fn keep(&self, view: &EngineView, _ctx: &RankContext, c: &Candidate) -> bool {
        let Some(user) = view.user else { return true };
        let author = view.catalog.row(c.video).author;
        !user.not_interested_authors.contains(&author)
            && !user.not_interested_videos.contains(&c.video)
    }
}
