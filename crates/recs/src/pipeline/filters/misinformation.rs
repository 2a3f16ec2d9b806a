//! Labelled videos (unverified, misleading, graphic or sensitive content, and
//! the older `misinformation` label) and videos a moderator restricted stay
//! reachable by link but are not eligible for For You (DESIGN: "a labelled
//! or restricted video is not eligible for For You").
use crate::pipeline::{Candidate, EngineView, Filter, RankContext};

pub struct MisinformationFilter;

impl Filter for MisinformationFilter {
    fn name(&self) -> &'static str {
        "misinformation"
    }

    fn keep(&self, view: &EngineView, _ctx: &RankContext, c: &Candidate) -> bool {
        !view.catalog.row(c.video).misinformation
    }
}
