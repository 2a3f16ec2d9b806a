//! Videos co-engaged with the viewer's recent engagements, recency-weighted.
//! On short-video and on MovieLens alike this is the strongest single source.
use crate::pipeline::{
    Candidate, CandidateSource, EngineView, RankContext, Reason, SourceKind, cut_to_budget,
};

pub struct CoEngagementSource;

impl CandidateSource for CoEngagementSource {
    fn name(&self) -> &'static str {
        "co_engagement"
    }

    fn enable(&self, ctx: &RankContext) -> bool {
        ctx.profiled && !ctx.profile.is_empty()
    }

    fn fetch(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate> {
        let out: Vec<Candidate> = ctx
            .profile
            .iter()
            .map(|(&v, e)| {
                Candidate::new(
                    v,
                    SourceKind::CoEngagement,
                    Reason::AlsoEngaged { seed: e.seed },
                    e.score,
                )
            })
            .collect();
        cut_to_budget(out, view.release.source_mix.co_engagement)
    }
}
