//! Regional trending: time-decayed engagement in this region. Non-profiled
//! feeds are built from this source and fresh uploads only.
use crate::pipeline::filters::seen::already_seen;
use crate::pipeline::{
    Candidate, CandidateSource, EngineView, RankContext, Reason, SourceKind, non_profiled_depth,
};

pub struct TrendingSource;

impl CandidateSource for TrendingSource {
    fn name(&self) -> &'static str {
        "trending"
    }

    fn enable(&self, _ctx: &RankContext) -> bool {
        true
    }

    fn fetch(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate> {
        let budget = view.release.source_mix.trending + non_profiled_depth(ctx);
        view.catalog
            .trending
            .iter_desc()
            .filter(|(v, _)| !already_seen(view, ctx, *v))
            .take(budget)
            .map(|(v, key)| {
                Candidate::new(v, SourceKind::Trending, Reason::PopularInRegion, key as f32)
            })
            .collect()
    }
}
