//! Top-k by score with author diversity and exploration slots.
//!
//! Exploration slots go to the best-scored fresh uploads not already on the
//! page, so new creators get impressions without a coin flip: the same state
//! gives the same page, which keeps non-profiled feeds identical across users
//! and makes "why this video" reproducible.
//!
//! A new viewer's pages (their first [`WARM_UP_EVENTS`] outcomes) differ in
//! what fills the slots, never in how many are exploration:
//! * until they first engage, each slot goes to the best video that brings a
//!   hashtag not yet on the page and not yet tried (skipped): their swipes are
//!   then one answer per topic, which is what the next page learns their taste
//!   from; a page of the region's top hashtag would only ask about that one;
//! * once they have, slots go first to the best-scored videos under the
//!   hashtags they engaged with most: the global heads, trained on everyone,
//!   would otherwise let a two-video history's co-engagement neighbours (other
//!   people's tastes) crowd out what this viewer just said they like.
//!
//! Their exploration slots still go to fresh uploads, preferring fresh uploads
//! that fit the page's purpose (a new hashtag; one of theirs).
use crate::ids::IntMap;
use crate::pipeline::{Candidate, EngineView, RankContext, Selector, SourceKind};

/// Until this many outcomes (views, skips, likes…) a viewer is new: their pages
/// spread over hashtags until they first engage, then favour what they engaged with.
pub const WARM_UP_EVENTS: u64 = 30;
/// Hashtag affinity that counts as "engaged with": one full watch gives about 0.7.
const ENGAGED_AFFINITY: f32 = 0.5;
/// A hashtag counts as the viewer's if its affinity is at least this share of their strongest.
const WARM_UP_TAG_SHARE: f32 = 0.5;

pub struct DiverseTopKSelector;

/// How a new viewer's page is chosen.
enum NewViewer {
    /// Not new (or not profiled): the plain top-k.
    No,
    /// Nothing engaged with yet: spread over hashtags, starting with those not
    /// yet tried (skipped ones count as tried).
    Spread { tried: Vec<u32> },
    /// Favour these hashtags.
    WarmUp { tags: Vec<u32> },
}

fn new_viewer(view: &EngineView, ctx: &RankContext) -> NewViewer {
    if !ctx.profiled {
        return NewViewer::No;
    }
    let Some(user) = view.user else {
        return NewViewer::Spread { tried: Vec::new() };
    };
    if user.events >= WARM_UP_EVENTS {
        return NewViewer::No;
    }
    match ctx.top_tags.first() {
        // A hashtag that also came with skips (a full watch's second hashtag,
        // say, that the viewer skipped elsewhere) is not yet theirs.
        Some(top) if top.1 >= ENGAGED_AFFINITY => NewViewer::WarmUp {
            tags: ctx
                .top_tags
                .iter()
                .filter(|t| t.1 >= WARM_UP_TAG_SHARE * top.1)
                .filter(|t| {
                    let aversion = user.tag_aversion.iter().find(|a| a.0 == t.0);
                    aversion.is_none_or(|a| a.1 < t.1)
                })
                .map(|t| t.0)
                .collect(),
        },
        _ => NewViewer::Spread {
            tried: user.tag_aversion.iter().map(|t| t.0).collect(),
        },
    }
}

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
        let (cold, warm_up, tried) = match new_viewer(view, ctx) {
            NewViewer::No => (false, Vec::new(), Vec::new()),
            NewViewer::Spread { tried } => (true, Vec::new(), tried),
            NewViewer::WarmUp { tags } => (false, tags, Vec::new()),
        };
        // Hashtags already on a spread page, or tried before.
        let mut covered: Vec<u32> = tried;
        for page_start in (0..want).step_by(ctx.limit) {
            let exploit_until = page_start + ctx.limit - explore.min(ctx.limit);
            // Single-hashtag videos first: a full watch of one then says which
            // hashtag the viewer likes; of a two-hashtag video, only that it is
            // one of the two.
            for single in [true, false].into_iter().filter(|_| cold) {
                for i in 0..candidates.len() {
                    if picked.len() >= exploit_until {
                        break;
                    }
                    let tags = &view.catalog.row(candidates[i].video).tags;
                    if single && tags.len() != 1 {
                        continue;
                    }
                    if !taken[i] && tags.iter().any(|t| !covered.contains(t)) {
                        let before = picked.len();
                        admit(i, &mut picked, &mut taken);
                        if picked.len() > before {
                            covered.extend(tags.iter().copied());
                        }
                    }
                }
            }
            for i in 0..candidates.len() {
                if warm_up.is_empty() || picked.len() >= exploit_until {
                    break;
                }
                let tags = &view.catalog.row(candidates[i].video).tags;
                if !taken[i] && tags.iter().any(|t| warm_up.contains(t)) {
                    admit(i, &mut picked, &mut taken);
                }
            }
            for i in 0..candidates.len() {
                if picked.len() >= exploit_until {
                    break;
                }
                if !taken[i] {
                    admit(i, &mut picked, &mut taken);
                }
            }
            // The exploration slots: fresh uploads. A new viewer's go first to
            // fresh uploads that also answer the page's question (a hashtag not
            // yet on the first page; one of their hashtags in the warm-up):
            // still new creators' videos, just not ones they will surely skip.
            let fits = |i: usize, covered: &[u32]| {
                let tags = &view.catalog.row(candidates[i].video).tags;
                if cold {
                    tags.iter().any(|t| !covered.contains(t))
                } else {
                    tags.iter().any(|t| warm_up.contains(t))
                }
            };
            if cold || !warm_up.is_empty() {
                for i in 0..candidates.len() {
                    if picked.len() >= page_start + ctx.limit {
                        break;
                    }
                    if !taken[i] && candidates[i].source == SourceKind::Fresh && fits(i, &covered) {
                        let before = picked.len();
                        admit(i, &mut picked, &mut taken);
                        if cold && picked.len() > before {
                            covered.extend(view.catalog.row(candidates[i].video).tags.iter());
                        }
                    }
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
