//! Deleted or removed videos never appear, whatever a source remembered.
use crate::pipeline::{Candidate, EngineView, Filter, RankContext};

pub struct DeletedFilter;

impl Filter for DeletedFilter {
    fn name(&self) -> &'static str {
        "deleted"
    }

    fn keep(&self, view: &EngineView, _ctx: &RankContext, c: &Candidate) -> bool {
        let row = view.catalog.row(c.video);
        row.live && !row.deleted
    }
}
