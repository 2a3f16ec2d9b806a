//! Videos labelled as misinformation stay reachable by link but are not
//! eligible for For You (DESIGN: "labelled videos are not eligible").
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
