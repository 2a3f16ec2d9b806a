//! Fresh uploads, newest first: exploration, so new creators get impressions.
use crate::pipeline::filters::seen::already_seen;
use crate::pipeline::{
    Candidate, CandidateSource, EngineView, RankContext, Reason, SourceKind, non_profiled_depth,
};

pub struct FreshSource;

impl CandidateSource for FreshSource {
    fn name(&self) -> &'static str {
        "fresh"
    }

    fn enable(&self, _ctx: &RankContext) -> bool {
        true
    }

    fn fetch(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate> {
        let budget = view.release.source_mix.fresh + non_profiled_depth(ctx);
        view.catalog
            .fresh
            .iter()
            .filter(|v| !already_seen(view, ctx, **v))
            .take(budget)
            .map(|&v| {
                let created = view.catalog.row(v).created_at_ms;
                Candidate::new(v, SourceKind::Fresh, Reason::FreshUpload, created as f32)
            })
            .collect()
    }
}
