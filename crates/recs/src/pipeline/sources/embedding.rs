//! Approximate nearest neighbours of the viewer's embedding.
use crate::model::embeddings::dot;
use crate::pipeline::{
    Candidate, CandidateSource, EngineView, RankContext, Reason, SourceKind, cut_to_budget,
};
use std::collections::HashSet;

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
        let mut visited = HashSet::new();
        let mut out = Vec::new();
        view.model.ann.probe(u, |v| {
            if visited.insert(v)
                && let Some(vv) = view.model.video_vec(v)
            {
                out.push(Candidate::new(
                    v,
                    SourceKind::Embedding,
                    Reason::SimilarTaste,
                    dot(u, vv),
                ));
            }
        });
        cut_to_budget(out, view.release.source_mix.embedding)
    }
}
