//! No repeats: videos this session already showed, and, when profiled, videos
//! served or watched within the release's seen window. Non-profiled feeds page
//! by cursor instead, so they never read the user's history.
use crate::pipeline::{Candidate, EngineView, Filter, RankContext};

pub struct SeenFilter;

impl Filter for SeenFilter {
    fn name(&self) -> &'static str {
        "seen"
    }

    fn keep(&self, view: &EngineView, ctx: &RankContext, c: &Candidate) -> bool {
        !already_seen(view, ctx, c.video)
    }
}

/// Shared with the sources that walk long lists (trending, fresh, hashtags), so
/// they skip what the viewer has seen and still fill their budget.
pub fn already_seen(view: &EngineView, ctx: &RankContext, video: u32) -> bool {
    if ctx.exclude.contains(&video) {
        return true;
    }
    match (ctx.profiled, view.user) {
        (true, Some(user)) => {
            let window_ms = view.release.filters.seen_window_secs.saturating_mul(1000);
            user.seen_within(video, ctx.now_ms, window_ms)
        }
        _ => false,
    }
}
