//! Editorial decisions: a promoted video scores half its magnitude higher, a
//! demoted one half lower. Each is a moderation decision with a statement of
//! reasons on the region's ledger (the server writes the marker only that
//! way), and "why this video" says so for a promoted one.
use crate::catalog::Editorial;
use crate::pipeline::{Candidate, EngineView, RankContext, Scorer};

pub struct EditorialScorer;

/// How far an editorial decision moves a score, as a share of its magnitude.
pub const SHIFT: f32 = 0.5;

impl Scorer for EditorialScorer {
    fn name(&self) -> &'static str {
        "editorial"
    }

    fn score(&self, view: &EngineView, _ctx: &RankContext, candidates: &mut [Candidate]) {
        if view.catalog.editorial.is_empty() {
            return;
        }
        for c in candidates.iter_mut() {
            match view.catalog.editorial.get(&c.video) {
                Some(Editorial::Promoted) => c.score += SHIFT * c.score.abs(),
                Some(Editorial::Demoted) => c.score -= SHIFT * c.score.abs(),
                None => {}
            }
        }
    }
}
