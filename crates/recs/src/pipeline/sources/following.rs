//! Newest videos from accounts the viewer follows.
use crate::pipeline::{
    Candidate, CandidateSource, EngineView, RankContext, Reason, SourceKind, cut_to_budget,
};

/// Per followed account, so one prolific creator cannot fill the source.
const PER_AUTHOR: usize = 3;

pub struct FollowingSource;

impl CandidateSource for FollowingSource {
    fn name(&self) -> &'static str {
        "following"
    }

    fn enable(&self, ctx: &RankContext) -> bool {
        ctx.profiled && !ctx.follows.is_empty()
    }

    fn fetch(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate> {
        let cat = view.catalog;
        let mut out = Vec::new();
        for &a in &ctx.follows {
            for &v in cat
                .author_recent
                .get(a as usize)
                .into_iter()
                .flatten()
                .take(PER_AUTHOR)
            {
                let created = cat.row(v).created_at_ms;
                out.push(Candidate::new(
                    v,
                    SourceKind::Following,
                    Reason::FromFollowed { author: a },
                    created as f32,
                ));
            }
        }
        cut_to_budget(out, view.release.source_mix.following)
    }
}
