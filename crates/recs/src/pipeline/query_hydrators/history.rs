//! The user's recent engagements (recency-weighted) and strongest hashtags.
use crate::engine::Query;
use crate::pipeline::{EngineView, QueryHydrator, RankContext};

/// Hashtags consulted by the hashtag source.
const TOP_TAGS: usize = 5;

pub struct HistoryHydrator;

impl QueryHydrator for HistoryHydrator {
    fn name(&self) -> &'static str {
        "history"
    }

    fn hydrate(&self, view: &EngineView, _q: &Query, ctx: &mut RankContext) {
        let (true, Some(user)) = (ctx.profiled, view.user) else {
            return;
        };
        let hp = &view.release.hyper;
        ctx.history = user.weighted_history(hp.profile_len, hp.recency_decay);
        let mut tags = user.tag_affinity.clone();
        tags.sort_by(|a, b| b.1.total_cmp(&a.1));
        tags.truncate(TOP_TAGS);
        ctx.top_tags = tags;
    }
}
