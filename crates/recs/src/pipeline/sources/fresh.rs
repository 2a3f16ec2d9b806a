//! Fresh uploads, newest first: exploration, so new creators get impressions.
use crate::pipeline::{Candidate, CandidateSource, EngineView, RankContext, Reason, SourceKind};

pub struct FreshSource;

impl CandidateSource for FreshSource {
    fn name(&self) -> &'static str {
        "fresh"
    }

    fn enable(&self, _ctx: &RankContext) -> bool {
        true
    }

    fn fetch(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate> {
        let budget = view.release.source_mix.fresh + ctx.page as usize * ctx.limit;
        view.catalog
            .fresh
            .iter()
            .take(budget)
            .map(|&v| {
                let created = view.catalog.row(v).created_at_ms;
                Candidate::new(v, SourceKind::Fresh, Reason::FreshUpload, created as f32)
            })
            .collect()
    }
}
