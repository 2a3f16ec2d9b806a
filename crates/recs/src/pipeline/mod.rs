//! The For You candidate pipeline, laid out like x-algorithm's home-mixer:
//! query hydrators → candidate sources → filters → scorers → selectors → side
//! effects. One trait per stage, one small file per component; adding a filter
//! is adding a file and a line in [`Pipeline::standard`].

pub mod filters;
pub mod query_hydrators;
pub mod scorers;
pub mod selectors;
pub mod side_effects;
pub mod sources;

use crate::catalog::Catalog;
use crate::model::Model;
use crate::model::objectives::{Features, OBJECTIVES};
use crate::release::manifest::Manifest;
use crate::user::UserState;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Read-only view of the engine that every stage sees.
pub struct EngineView<'a> {
    pub catalog: &'a Catalog,
    pub model: &'a Model,
    pub user: Option<&'a UserState>,
    pub release: &'a Manifest,
}

/// Which source produced a candidate. Serialised as the feed item's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Following,
    CoEngagement,
    Hashtag,
    Embedding,
    Trending,
    Fresh,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Following => "following",
            SourceKind::CoEngagement => "co_engagement",
            SourceKind::Hashtag => "hashtag",
            SourceKind::Embedding => "embedding",
            SourceKind::Trending => "trending",
            SourceKind::Fresh => "fresh",
        }
    }
}

/// Why a candidate was retrieved, rendered for people by [`Reason::render`].
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    FromFollowed { author: u32 },
    AlsoEngaged { seed: u32 },
    LikedHashtag { tag: u32 },
    SimilarTaste,
    PopularInRegion,
    FreshUpload,
}

impl Reason {
    pub fn render(&self, catalog: &Catalog) -> String {
        match self {
            Reason::FromFollowed { author } => {
                format!(
                    "from {}, an account you follow",
                    catalog.authors.key(*author).unwrap_or("a creator")
                )
            }
            Reason::AlsoEngaged { seed } => format!(
                "people who watched {} also watched this",
                catalog.videos.key(*seed).unwrap_or("a video you liked")
            ),
            Reason::LikedHashtag { tag } => {
                format!(
                    "because you liked #{}",
                    catalog.tags.key(*tag).unwrap_or("a hashtag")
                )
            }
            Reason::SimilarTaste => "similar to videos you watch to the end".into(),
            Reason::PopularInRegion => "popular in your region".into(),
            Reason::FreshUpload => "a new upload, shown to help new videos find viewers".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Candidate {
    pub video: u32,
    pub source: SourceKind,
    pub reason: Reason,
    /// The source's own relevance, used only to cut each source to its budget.
    pub retrieval: f32,
    pub features: Features,
    pub objectives: [f32; OBJECTIVES],
    pub score: f32,
}

impl Candidate {
    pub fn new(video: u32, source: SourceKind, reason: Reason, retrieval: f32) -> Self {
        Candidate {
            video,
            source,
            reason,
            retrieval,
            features: [0.0; crate::model::objectives::NF],
            objectives: [0.0; OBJECTIVES],
            score: 0.0,
        }
    }
}

/// The hydrated query, built by the query hydrators.
#[derive(Debug, Clone, Default)]
pub struct RankContext {
    pub now_ms: i64,
    pub limit: usize,
    pub page: u32,
    pub user_slot: Option<u32>,
    /// False in non-profiled mode: no stage may then read the user's learned state.
    pub profiled: bool,
    pub viewer_is_adult: bool,
    pub follows: HashSet<u32>,
    pub blocked_authors: HashSet<u32>,
    pub exclude: HashSet<u32>,
    /// Recency-weighted recent engagements, most recent first.
    pub history: Vec<(u32, f32)>,
    /// Co-engagement profile of the history: candidate → score.
    pub profile: crate::model::coengagement::Profile,
    /// The user's strongest hashtags.
    pub top_tags: Vec<(u32, f32)>,
}

pub trait QueryHydrator: Send + Sync {
    fn name(&self) -> &'static str;
    fn hydrate(&self, view: &EngineView, query: &crate::engine::Query, ctx: &mut RankContext);
}

pub trait CandidateSource: Send + Sync {
    fn name(&self) -> &'static str;
    fn enable(&self, ctx: &RankContext) -> bool;
    fn fetch(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate>;
}

pub struct FilterResult {
    pub kept: Vec<Candidate>,
    pub removed: Vec<Candidate>,
}

pub trait Filter: Send + Sync {
    fn name(&self) -> &'static str;
    fn enable(&self, _ctx: &RankContext) -> bool {
        true
    }
    fn keep(&self, view: &EngineView, ctx: &RankContext, c: &Candidate) -> bool;
    fn filter(
        &self,
        view: &EngineView,
        ctx: &RankContext,
        candidates: Vec<Candidate>,
    ) -> FilterResult {
        let (kept, removed) = candidates
            .into_iter()
            .partition(|c| self.keep(view, ctx, c));
        FilterResult { kept, removed }
    }
}

pub trait Scorer: Send + Sync {
    fn name(&self) -> &'static str;
    fn score(&self, view: &EngineView, ctx: &RankContext, candidates: &mut [Candidate]);
}

pub trait Selector: Send + Sync {
    fn name(&self) -> &'static str;
    fn select(
        &self,
        view: &EngineView,
        ctx: &RankContext,
        candidates: Vec<Candidate>,
    ) -> Vec<Candidate>;
}

/// Side effects see the engine mutably, after the page is decided.
pub trait SideEffect: Send + Sync {
    fn name(&self) -> &'static str;
    fn apply(
        &self,
        engine: &mut crate::engine::EngineCore,
        ctx: &RankContext,
        selected: &[Candidate],
    );
}

pub struct Pipeline {
    pub hydrators: Vec<Box<dyn QueryHydrator>>,
    pub sources: Vec<Box<dyn CandidateSource>>,
    pub filters: Vec<Box<dyn Filter>>,
    pub scorers: Vec<Box<dyn Scorer>>,
    pub selector: Box<dyn Selector>,
    pub side_effects: Vec<Box<dyn SideEffect>>,
}

impl Pipeline {
    /// The production pipeline. Source order is also reason priority: when two
    /// sources return the same video, the more personal explanation wins.
    pub fn standard() -> Self {
        Pipeline {
            hydrators: vec![
                Box::new(query_hydrators::session::SessionHydrator),
                Box::new(query_hydrators::social_graph::SocialGraphHydrator),
                Box::new(query_hydrators::history::HistoryHydrator),
                Box::new(query_hydrators::co_engagement_profile::CoEngagementProfileHydrator),
            ],
            sources: vec![
                Box::new(sources::following::FollowingSource),
                Box::new(sources::co_engagement::CoEngagementSource),
                Box::new(sources::hashtag::HashtagAffinitySource),
                Box::new(sources::embedding::EmbeddingSource),
                Box::new(sources::trending::TrendingSource),
                Box::new(sources::fresh::FreshSource),
            ],
            filters: vec![
                Box::new(filters::deleted::DeletedFilter),
                Box::new(filters::visibility::VisibilityFilter),
                Box::new(filters::misinformation::MisinformationFilter),
                Box::new(filters::age_restricted::AgeRestrictedFilter),
                Box::new(filters::blocked_authors::BlockedAuthorsFilter),
                Box::new(filters::not_interested::NotInterestedFilter),
                Box::new(filters::seen::SeenFilter),
            ],
            scorers: vec![
                Box::new(scorers::engagement::EngagementScorer),
                Box::new(scorers::editorial::EditorialScorer),
            ],
            selector: Box::new(selectors::top_k::DiverseTopKSelector),
            side_effects: vec![
                Box::new(side_effects::record_served::RecordServed),
                Box::new(side_effects::open_impressions::OpenImpressions),
            ],
        }
    }

    pub fn hydrate(&self, view: &EngineView, query: &crate::engine::Query, ctx: &mut RankContext) {
        for h in &self.hydrators {
            h.hydrate(view, query, ctx);
        }
    }

    /// Sources, de-duplication, filters, scorers and the selector.
    pub fn candidates(&self, view: &EngineView, ctx: &RankContext) -> Vec<Candidate> {
        let mut seen: crate::ids::IntMap<u32, ()> = Default::default();
        let mut all = Vec::new();
        for s in self.sources.iter().filter(|s| s.enable(ctx)) {
            for c in s.fetch(view, ctx) {
                if seen.insert(c.video, ()).is_none() {
                    all.push(c);
                }
            }
        }
        for f in self.filters.iter().filter(|f| f.enable(ctx)) {
            all = f.filter(view, ctx, all).kept;
        }
        for s in &self.scorers {
            s.score(view, ctx, &mut all);
        }
        self.selector.select(view, ctx, all)
    }
}

/// Non-profiled pages are slices of one ranking over a candidate pool that must
/// not depend on the page, or items would shift between pages and repeat; so
/// that pool is fetched deeper, the same for every page.
pub const NON_PROFILED_DEPTH: usize = 400;

pub fn non_profiled_depth(ctx: &RankContext) -> usize {
    if ctx.profiled { 0 } else { NON_PROFILED_DEPTH }
}

/// Keeps the `budget` best candidates by retrieval score (partial sort, no full sort).
pub fn cut_to_budget(mut c: Vec<Candidate>, budget: usize) -> Vec<Candidate> {
    if c.len() > budget {
        c.select_nth_unstable_by(budget, |a, b| {
            b.retrieval
                .total_cmp(&a.retrieval)
                .then(a.video.cmp(&b.video))
        });
        c.truncate(budget);
    }
    c
}
