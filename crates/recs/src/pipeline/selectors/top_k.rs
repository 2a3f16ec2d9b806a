//! Top-k by score with author diversity and exploration slots.
//!
//! Exploration slots go to the best-scored fresh uploads not already on the
//! page, so new creators get impressions without a coin flip: the same state
//! gives the same page, which keeps non-profiled feeds identical across users
//! and makes "why this video" reproducible.
use crate::ids::IntMap;
use crate::pipeline::{Candidate, EngineView, RankContext, Selector, SourceKind};

pub struct DiverseTopKSelector;

impl Selector for DiverseTopKSelector {
    fn name(&self) -> &'static str {
        "diverse_top_k"
    }

    fn select(
        &self,
        view: &EngineView,
        ctx: &RankContext,
        mut candidates: Vec<Candidate>,
    ) -> Vec<Candidate> {
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.video.cmp(&b.video)));
        let max_per_author = view.release.filters.max_per_author;
        let explore = (ctx.limit as f32 * view.release.exploration_rate).round() as usize;
        // Non-profiled pages are slices of one shared ranking.
        let skip = if ctx.profiled {
            0
        } else {
            ctx.page as usize * ctx.limit
        };
        let want = skip + ctx.limit;
        let mut per_author: IntMap<u32, usize> = IntMap::default();
        let mut taken = vec![false; candidates.len()];
        let mut picked: Vec<usize> = Vec::with_capacity(want);
        let mut admit = |i: usize, picked: &mut Vec<usize>, taken: &mut Vec<bool>| {
            let author = view.catalog.row(candidates[i].video).author;
            let n = per_author.entry(author).or_insert(0);
            if *n >= max_per_author {
                return;
            }
            *n += 1;
            taken[i] = true;
            picked.push(i);
        };
        // Each page of `limit` reserves its exploration slots at the end.
        for page_start in (0..want).step_by(ctx.limit) {
            let exploit_until = page_start + ctx.limit - explore.min(ctx.limit);
            for i in 0..candidates.len() {
                if picked.len() >= exploit_until {
                    break;
                }
                if !taken[i] {
                    admit(i, &mut picked, &mut taken);
                }
            }
            for i in 0..candidates.len() {
                if picked.len() >= page_start + ctx.limit {
                    break;
                }
                if !taken[i] && candidates[i].source == SourceKind::Fresh {
                    admit(i, &mut picked, &mut taken);
                }
            }
            // Not enough fresh uploads: fill with the best of the rest.
            for i in 0..candidates.len() {
                if picked.len() >= page_start + ctx.limit {
                    break;
                }
                if !taken[i] {
                    admit(i, &mut picked, &mut taken);
                }
            }
        }
        let mut slots: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
        picked
            .into_iter()
            .skip(skip)
            .filter_map(|i| slots[i].take())
            .collect()
    }
}
