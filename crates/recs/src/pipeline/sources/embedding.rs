//! Approximate nearest neighbours of the viewer's embedding.
use crate::model::embeddings::dot;
use crate::pipeline::{
    Candidate, CandidateSource, EngineView, RankContext, Reason, SourceKind, cut_to_budget,
};

pub struct EmbeddingSource;

impl CandidateSource for EmbeddingSource {
    fn name(&self) -> &'static str {
        "embedding"
    }

    fn enable(&self, ctx: &RankContext) -> bool {
        ctx.profiled && ctx.user_slot.is_some()
    }

    fn fetch(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate> {
        let Some(u) = ctx.user_slot.and_then(|u| view.model.user_vec(u)) else {
            return Vec::new();
        };
        // Collect, then de-duplicate by sorting: cheaper than a hash set for the
        // few thousand entries a probe returns.
        let mut visited = Vec::with_capacity(crate::model::ann::MAX_VISITS);
        view.model.ann.probe(u, |v| visited.push(v));
        visited.sort_unstable();
        visited.dedup();
        let out: Vec<Candidate> = visited
            .into_iter()
            .filter_map(|v| {
                let vv = view.model.video_vec(v)?;
                Some(Candidate::new(
                    v,
                    SourceKind::Embedding,
                    Reason::SimilarTaste,
                    dot(u, vv),
                ))
            })
            .collect();
        cut_to_budget(out, view.release.source_mix.embedding)
    }
}
