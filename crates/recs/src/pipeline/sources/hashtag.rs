//! Trending and new videos under the viewer's strongest hashtags.
use crate::pipeline::filters::seen::already_seen;
use crate::pipeline::{
    Candidate, CandidateSource, EngineView, RankContext, Reason, SourceKind, cut_to_budget,
};

pub struct HashtagAffinitySource;

impl CandidateSource for HashtagAffinitySource {
    fn name(&self) -> &'static str {
        "hashtag"
    }

    fn enable(&self, ctx: &RankContext) -> bool {
        ctx.profiled && !ctx.top_tags.is_empty()
    }

    fn fetch(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate> {
        let budget = view.release.source_mix.hashtag;
        let total: f32 = ctx.top_tags.iter().map(|t| t.1).sum::<f32>().max(1e-6);
        let mut out = Vec::new();
        for &(tag, aff) in &ctx.top_tags {
            // Each tag gets a share of the budget proportional to its affinity.
            let share = ((budget as f32 * aff / total).ceil() as usize).max(1);
            let Some(top) = view.catalog.tag_trending.get(tag as usize) else {
                continue;
            };
            for (rank, (v, _)) in top
                .iter_desc()
                .filter(|(v, _)| !already_seen(view, ctx, *v))
                .take(share)
                .enumerate()
            {
                let retrieval = aff / (1.0 + rank as f32);
                out.push(Candidate::new(
                    v,
                    SourceKind::Hashtag,
                    Reason::LikedHashtag { tag },
                    retrieval,
                ));
            }
        }
        cut_to_budget(out, budget)
    }
}
