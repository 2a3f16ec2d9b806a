//! Regional trending: time-decayed engagement in this region. Non-profiled
//! feeds are built from this source and fresh uploads only.
use crate::pipeline::{Candidate, CandidateSource, EngineView, RankContext, Reason, SourceKind};

pub struct TrendingSource;

impl CandidateSource for TrendingSource {
    fn name(&self) -> &'static str {
        "trending"
    }

    fn enable(&self, _ctx: &RankContext) -> bool {
        true
    }

    fn fetch(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate> {
        // Fetch past the page offset so non-profiled paging still has a full budget.
        let budget = view.release.source_mix.trending + ctx.page as usize * ctx.limit;
        view.catalog
            .trending
            .iter_desc()
            .take(budget)
            .map(|(v, key)| {
                Candidate::new(v, SourceKind::Trending, Reason::PopularInRegion, key as f32)
            })
            .collect()
    }
}
