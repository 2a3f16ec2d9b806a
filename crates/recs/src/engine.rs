//! The per-region engine: the in-process API the server calls.
//!
//! One `Engine` per region. It learns only from the events its region feeds it
//! (`observe`), ranks over the public catalog (`rank`), and runs only releases
//! signed by the platform and approved by the region's custodian. Methods take
//! `&mut self`; the server keeps each region's engine behind a mutex, which is
//! cheap because a rank takes well under a millisecond.

use crate::catalog::{Catalog, CatalogConfig, MAX_TAGS, VideoMeta};
use crate::error::{EventError, ReleaseError, SnapshotError};
use crate::event::{Event, EventKind};
use crate::ids::{KeyTable, SavedKeys, valid_id};
use crate::model::objectives::{
    COMPLETION, FEATURE_NAMES, FOLLOW, LIKE, Labels, OBJECTIVE_NAMES, OBJECTIVES, SHARE, SKIP,
};
use crate::model::{DEFAULT_DIM, Model, Viewer};
use crate::pipeline::{EngineView, Pipeline, RankContext};
use crate::release::manifest::Manifest;
use crate::release::{ReleaseSet, ReleaseTrust};
use crate::user::{Pending, UserState, unengaged_labels};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Largest page a client may ask for.
pub const MAX_LIMIT: usize = 100;
/// Lists in a query longer than this are truncated: they come from the server,
/// but a runaway follow list must not make one request slow for everyone.
const MAX_QUERY_LIST: usize = 5000;

/// A watch at or past this fraction of the duration counts as completed.
const COMPLETION_FRACTION: f32 = 0.8;
/// Below this fraction a view is a skip.
const SKIP_FRACTION: f32 = 0.2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineConfig {
    pub region: String,
    pub embedding_dim: usize,
    pub catalog: CatalogConfig,
}

impl EngineConfig {
    pub fn new(region: &str) -> Self {
        EngineConfig {
            region: region.into(),
            embedding_dim: DEFAULT_DIM,
            catalog: CatalogConfig::default(),
        }
    }
}

/// A For You request, as the server builds it from the session and the social graph.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Query {
    pub user: String,
    pub follows: Vec<String>,
    pub blocked_authors: Vec<String>,
    pub muted_authors: Vec<String>,
    /// The user's "non-profiled For You" setting.
    pub non_profiled: bool,
    pub viewer_is_adult: bool,
    pub limit: usize,
    /// The `next_cursor` of the previous page, if any.
    pub cursor: Option<String>,
    /// Videos the client already has on screen, never repeated.
    pub exclude: Vec<String>,
    pub now_ms: i64,
}

impl Query {
    pub fn new(user: &str, limit: usize, now_ms: i64) -> Self {
        Query {
            user: user.into(),
            limit,
            now_ms,
            viewer_is_adult: true,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedItem {
    pub video_id: String,
    pub score: f32,
    /// Human-readable, for the "why am I seeing this" line.
    pub reason: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub items: Vec<FeedItem>,
    pub next_cursor: String,
    /// The release that ranked this page.
    pub release_id: String,
}

/// "Why this video": the features, each objective's probability and how the
/// release's weights combined them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub video_id: String,
    pub release_id: String,
    pub score: f32,
    pub summary: String,
    pub objectives: Vec<(String, f32, f32)>,
    pub signals: Vec<(String, f32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RankError {
    #[error("invalid user id")]
    InvalidUser,
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("unknown video {0}")]
    UnknownVideo(String),
}

/// What `observe` did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    Learned,
    /// Valid but nothing to learn (e.g. an unlike of a video never liked).
    Ignored,
}

/// The mutable state; what snapshots capture.
pub struct EngineCore {
    pub config: EngineConfig,
    pub catalog: Catalog,
    pub model: Model,
    pub users: KeyTable,
    pub user_states: Vec<Option<UserState>>,
    /// The active release's manifest (copied out of the release set for speed).
    pub release: Manifest,
    pub events_learned: u64,
    pub events_rejected: u64,
    /// The learner's weighted-history buffer, reused across events.
    pub(crate) history_buf: Vec<(u32, f32)>,
}

impl EngineCore {
    pub fn user_mut(&mut self, slot: u32) -> Option<&mut UserState> {
        self.user_states.get_mut(slot as usize)?.as_mut()
    }

    fn user_slot_or_create(&mut self, user: &str, at_ms: i64) -> u32 {
        let (slot, _) = self.users.insert(user, at_ms);
        if self.user_states.len() <= slot as usize {
            self.user_states.resize_with(slot as usize + 1, || None);
        }
        if self.user_states[slot as usize].is_none() {
            self.user_states[slot as usize] = Some(UserState::default());
        }
        slot
    }

    /// Opens an impression; the one it pushes out is closed as not engaged.
    pub fn open_impression(&mut self, user: u32, p: Pending) {
        let hp = self.release.hyper.clone();
        let Some(state) = self.user_mut(user) else {
            return;
        };
        if let Some(old) = state.open_impression(p) {
            self.model.heads.train(
                &old.features,
                &finish_labels(old.labels),
                hp.head_learning_rate,
                hp.head_l2,
            );
        }
    }
}

/// An impression closed with partial labels: whatever was not observed did not happen.
fn finish_labels(mut l: Labels) -> Labels {
    let base = unengaged_labels();
    for o in 0..OBJECTIVES {
        if l[o].is_none() {
            l[o] = base[o];
        }
    }
    l
}

pub struct Engine {
    pub(crate) core: EngineCore,
    pipeline: Pipeline,
    releases: ReleaseSet,
}

impl Engine {
    /// Starts an engine that trusts `trust` and runs the signed, approved release
    /// in `release_note` (a C2SP signed note).
    pub fn new(
        config: EngineConfig,
        trust: ReleaseTrust,
        release_note: &[u8],
    ) -> Result<Self, ReleaseError> {
        let mut releases = ReleaseSet::new(trust);
        let id = releases.install(release_note)?;
        releases.activate(&id)?;
        let manifest = releases.active().clone();
        let mut config = config;
        config.embedding_dim = config.embedding_dim.clamp(2, crate::model::MAX_DIM);
        let core = EngineCore {
            catalog: Catalog::new(config.catalog.clone()),
            model: Model::new(config.embedding_dim, &manifest.hyper),
            config,
            users: KeyTable::new(),
            user_states: Vec::new(),
            release: manifest,
            events_learned: 0,
            events_rejected: 0,
            history_buf: Vec::new(),
        };
        Ok(Engine {
            core,
            pipeline: Pipeline::standard(),
            releases,
        })
    }

    pub fn region(&self) -> &str {
        &self.core.config.region
    }

    // ---- releases -------------------------------------------------------

    /// Verifies and stores a release note; it does not become active.
    pub fn install_release(&mut self, note: &[u8]) -> Result<String, ReleaseError> {
        self.releases.install(note)
    }

    /// Switches the running release. On error the current one keeps running.
    pub fn activate_release(&mut self, id: &str) -> Result<(), ReleaseError> {
        self.releases.activate(id)?;
        self.core.release = self.releases.active().clone();
        self.core.model.apply_hyper(&self.core.release.hyper);
        Ok(())
    }

    /// Installs and activates in one step, as `sovereel release activate` does.
    pub fn install_and_activate(&mut self, note: &[u8]) -> Result<String, ReleaseError> {
        let id = self.install_release(note)?;
        self.activate_release(&id)?;
        Ok(id)
    }

    pub fn release_id(&self) -> &str {
        &self.core.release.id
    }

    pub fn release(&self) -> &Manifest {
        &self.core.release
    }

    pub fn installed_releases(&self) -> Vec<String> {
        self.releases.ids()
    }

    // ---- catalog --------------------------------------------------------

    /// Adds or updates a video (metadata, labels, visibility, deletion).
    pub fn upsert_video(&mut self, meta: &VideoMeta) -> Result<(), EventError> {
        let core = &mut self.core;
        let v = core.catalog.upsert(meta).ok_or(EventError::InvalidVideo)?;
        let row = core.catalog.row(v);
        if row.deleted || row.misinformation || row.visibility != crate::catalog::Visibility::Public
        {
            core.model.ann.remove(v);
        } else if core.model.video_vec(v).is_none() {
            core.model
                .index_new_video(&core.catalog, v, meta.created_at_ms);
        }
        Ok(())
    }

    pub fn remove_video(&mut self, id: &str) -> bool {
        match self.core.catalog.remove(id) {
            Some(v) => {
                self.core.model.remove_video(v);
                true
            }
            None => false,
        }
    }

    pub fn video_count(&self) -> usize {
        self.core.catalog.live_count
    }

    pub fn user_count(&self) -> usize {
        self.core.users.len()
    }

    // ---- learning -------------------------------------------------------

    /// Learns from one event, as soon as it arrives. Invalid events and events
    /// about unknown videos are rejected and leave the model untouched.
    pub fn observe(&mut self, e: &Event) -> Result<Observed, EventError> {
        let res = self.observe_inner(e);
        match res {
            Ok(_) => self.core.events_learned += 1,
            Err(_) => self.core.events_rejected += 1,
        }
        res
    }

    fn observe_inner(&mut self, e: &Event) -> Result<Observed, EventError> {
        e.validate()?;
        let core = &mut self.core;
        let v = core
            .catalog
            .video(&e.video)
            .ok_or_else(|| EventError::UnknownVideo(e.video.clone()))?;
        let u = core.user_slot_or_create(&e.user, e.at_ms);
        let hp = core.release.hyper.clone();
        // The video's hashtags, copied to the stack: the row is borrowed mutably
        // below, and a clone here was one allocation per event.
        let (author, tag_buf, n_tags) = {
            let row = core.catalog.row(v);
            let mut buf = [0u32; MAX_TAGS];
            let n = row.tags.len().min(MAX_TAGS);
            buf[..n].copy_from_slice(&row.tags[..n]);
            (row.author, buf, n)
        };
        let tags = &tag_buf[..n_tags];
        let t = e.at_ms;

        // Labels this event contributes, and how strongly it counts as a positive.
        let mut labels: Labels = [None; OBJECTIVES];
        let mut strength = 0.0f32;
        let mut negative = false;
        let mut closes = false;
        {
            let stats = &mut core.catalog.rows[v as usize].stats;
            match e.kind {
                EventKind::Impression => stats.impressions += 1.0,
                EventKind::View {
                    watch_ms,
                    duration_ms,
                } => {
                    let frac = (watch_ms as f32 / duration_ms as f32).min(MAX_FRAC);
                    stats.views += 1.0;
                    closes = true;
                    if frac >= COMPLETION_FRACTION {
                        stats.completions += 1.0;
                        labels[COMPLETION] = Some(1.0);
                        labels[SKIP] = Some(0.0);
                        // Rewatching loops counts a bit more than one full watch.
                        strength = 1.0 + (frac - 1.0).clamp(0.0, 2.0) * 0.25;
                    } else if frac < SKIP_FRACTION {
                        stats.skips += 1.0;
                        labels[COMPLETION] = Some(0.0);
                        labels[SKIP] = Some(1.0);
                        negative = true;
                    } else {
                        labels[COMPLETION] = Some(0.0);
                        labels[SKIP] = Some(0.0);
                        strength = 0.3 * frac;
                    }
                }
                EventKind::Skip => {
                    stats.skips += 1.0;
                    labels[COMPLETION] = Some(0.0);
                    labels[SKIP] = Some(1.0);
                    negative = true;
                    closes = true;
                }
                EventKind::Like => {
                    stats.likes += 1.0;
                    labels[LIKE] = Some(1.0);
                    strength = 2.0;
                }
                EventKind::Unlike => {
                    stats.likes = (stats.likes - 1.0).max(0.0);
                    labels[LIKE] = Some(0.0);
                }
                EventKind::Comment => strength = 1.5,
                EventKind::Share => {
                    stats.shares += 1.0;
                    labels[SHARE] = Some(1.0);
                    strength = 3.0;
                }
                EventKind::Follow => {
                    labels[FOLLOW] = Some(1.0);
                    strength = 2.0;
                }
                EventKind::NotInterested => {
                    labels[SKIP] = Some(1.0);
                    labels[COMPLETION] = Some(0.0);
                    labels[LIKE] = Some(0.0);
                    negative = true;
                    closes = true;
                }
            }
        }

        // Features as the model saw this (user, video) before this event, from
        // the pending impression when the video was served, else computed now.
        // The weighted history is built once, into a buffer kept across events,
        // and serves the sampled negatives below too: they are scored against
        // the user as they were before this event, like the event itself.
        // The negatives are drawn now, and everything the learner will read
        // about them, this video and the user's recent engagements is
        // requested from memory before the features are computed.
        if strength > 0.0 {
            core.model.sample_negatives(&core.catalog, v, &hp);
        }
        core.model.prefetch_video(v);
        core.model
            .user_emb
            .prefetch(crate::model::embeddings::feature_key(
                crate::model::embeddings::NS_USER,
                u,
            ));
        let follows = HashSet::new();
        let mut state = core.user_states[u as usize].take().unwrap_or_default();
        if strength > 0.0 {
            for h in state.history.iter().take(hp.co_window) {
                core.model.co.prefetch(h.video);
            }
        }
        let mut history = std::mem::take(&mut core.history_buf);
        state.weighted_history_into(hp.profile_len, hp.recency_decay, &mut history);
        // Whether this event is the outcome of an impression the client reported
        // (or the engine served): then real unengaged impressions teach the
        // heads what "not engaged" looks like, and random catalog videos would
        // only skew their probabilities downwards.
        let served = state.pending_mut(v).is_some();
        let features = match state.pending_mut(v) {
            Some(p) => p.features,
            None => {
                let viewer = Viewer {
                    slot: Some(u),
                    state: Some(&state),
                    history: &history,
                    profile: None,
                    follows: &follows,
                };
                core.model.features(&core.catalog, &viewer, v, t)
            }
        };

        if matches!(e.kind, EventKind::Impression) {
            if state.pending_mut(v).is_none() {
                let p = Pending {
                    video: v,
                    at_ms: t,
                    features,
                    labels: [None; OBJECTIVES],
                };
                if let Some(old) = state.open_impression(p) {
                    core.model.heads.train(
                        &old.features,
                        &finish_labels(old.labels),
                        hp.head_learning_rate,
                        hp.head_l2,
                    );
                }
            }
            state.mark_seen(v, t, core.release.filters.seen_capacity);
            core.users.touch(u, t);
            core.user_states[u as usize] = Some(state);
            core.history_buf = history;
            return Ok(Observed::Learned);
        }

        // Join the labels with the pending impression; train when it closes.
        let mut train_now: Option<Labels> = None;
        if let Some(p) = state.pending_mut(v) {
            for (slot, l) in p.labels.iter_mut().zip(labels) {
                if l.is_some() {
                    *slot = l;
                }
            }
            if closes {
                train_now = state.close_impression(v).map(|p| finish_labels(p.labels));
            }
        } else if labels.iter().any(Option::is_some) {
            train_now = Some(labels);
        }
        if let Some(l) = train_now {
            core.model
                .heads
                .train(&features, &l, hp.head_learning_rate, hp.head_l2);
        }

        let mut learned = train_now.is_some();
        if strength > 0.0 {
            // Sampled negatives are scored against the user as they were before
            // this positive, like the positive itself.
            {
                let viewer = Viewer {
                    slot: Some(u),
                    state: Some(&state),
                    history: &history,
                    profile: None,
                    follows: &follows,
                };
                core.model
                    .learn_sampled_negatives(&core.catalog, &viewer, t, &hp, !served);
            }
            core.model
                .learn_positive(&mut core.catalog, u, &state, v, strength, t, &hp);
            state.engage(v, t, strength, hp.history_len);
            state.bump_tags(tags, strength);
            state.forgive(tags, author);
            state.bump_author(
                author,
                strength
                    * if matches!(e.kind, EventKind::Follow) {
                        3.0
                    } else {
                        1.0
                    },
            );
            learned = true;
        }
        if negative {
            core.model.learn_negative(&core.catalog, u, v, t, &hp);
            state.dampen(tags, author, 0.7);
            learned = true;
        }
        match e.kind {
            EventKind::NotInterested => {
                state.not_interested_in(author, v);
                state.dampen(tags, author, 0.3);
            }
            EventKind::Unlike => {
                state.dampen(tags, author, 0.5);
                if let Some(h) = state.history.iter_mut().find(|h| h.video == v) {
                    h.strength = (h.strength - 2.0).max(0.1);
                }
            }
            _ => {}
        }
        // Whatever the user watched or acted on counts as seen.
        state.mark_seen(v, t, core.release.filters.seen_capacity);
        state.events += 1;
        core.users.touch(u, t);
        core.user_states[u as usize] = Some(state);
        core.history_buf = history;
        Ok(if learned || matches!(e.kind, EventKind::Unlike) {
            Observed::Learned
        } else {
            Observed::Ignored
        })
    }

    /// Learns from a batch; returns how many were learned and the rejections by index.
    pub fn observe_batch(&mut self, events: &[Event]) -> (usize, Vec<(usize, EventError)>) {
        let mut ok = 0;
        let mut errs = Vec::new();
        for (i, e) in events.iter().enumerate() {
            match self.observe(e) {
                Ok(_) => ok += 1,
                Err(err) => errs.push((i, err)),
            }
        }
        (ok, errs)
    }

    // ---- ranking --------------------------------------------------------

    /// Ranks a For You page. In non-profiled mode nothing the engine learned
    /// about this user is read, so every user gets the same regional ranking.
    pub fn rank(&mut self, q: &Query) -> Result<Page, RankError> {
        let (page, mut ctx, selected) = self.rank_inner(q)?;
        // A first-time viewer gets state now, so even their first page counts
        // as seen and the second page does not repeat it.
        if ctx.profiled && ctx.user_slot.is_none() {
            ctx.user_slot = Some(self.core.user_slot_or_create(&q.user, q.now_ms));
        }
        for s in &self.pipeline.side_effects {
            s.apply(&mut self.core, &ctx, &selected);
        }
        Ok(page)
    }

    /// Ranks without side effects: nothing is marked seen and no impression is
    /// opened. For previews, evaluation and benchmarks.
    pub fn rank_preview(&self, q: &Query) -> Result<Page, RankError> {
        self.rank_inner(q).map(|(page, _, _)| page)
    }

    #[allow(clippy::type_complexity)]
    fn rank_inner(
        &self,
        q: &Query,
    ) -> Result<(Page, RankContext, Vec<crate::pipeline::Candidate>), RankError> {
        if !valid_id(&q.user) {
            return Err(RankError::InvalidUser);
        }
        let page = parse_cursor(q.cursor.as_deref())?;
        let mut q_owned;
        let q = if q.follows.len() > MAX_QUERY_LIST
            || q.blocked_authors.len() > MAX_QUERY_LIST
            || q.exclude.len() > MAX_QUERY_LIST
        {
            q_owned = q.clone();
            q_owned.follows.truncate(MAX_QUERY_LIST);
            q_owned.blocked_authors.truncate(MAX_QUERY_LIST);
            q_owned.muted_authors.truncate(MAX_QUERY_LIST);
            q_owned.exclude.truncate(MAX_QUERY_LIST);
            &q_owned
        } else {
            q
        };
        let core = &self.core;
        let user_slot = core.users.get(&q.user);
        let mut ctx = RankContext {
            page,
            user_slot,
            profiled: !q.non_profiled,
            ..Default::default()
        };
        let user = user_slot
            .and_then(|u| core.user_states.get(u as usize))
            .and_then(Option::as_ref);
        let view = EngineView {
            catalog: &core.catalog,
            model: &core.model,
            user: if q.non_profiled { None } else { user },
            release: &core.release,
        };
        // The not-interested filter is an explicit choice and applies even when
        // not profiled, so it gets the state through its own view.
        let selected = {
            let view_ni = EngineView { user, ..view };
            self.pipeline.hydrate(&view_ni, q, &mut ctx);
            if q.non_profiled {
                ctx.history.clear();
                ctx.profile.clear();
                ctx.top_tags.clear();
            }
            self.pipeline.candidates(&view_ni, &ctx)
        };
        let items = selected
            .iter()
            .map(|c| FeedItem {
                video_id: core
                    .catalog
                    .videos
                    .key(c.video)
                    .unwrap_or_default()
                    .to_string(),
                score: c.score,
                reason: c.reason.render(&core.catalog),
                source: c.source.as_str().to_string(),
            })
            .collect();
        let release_id = core.release.id.clone();
        let page = Page {
            items,
            next_cursor: format!("p{}", page + 1),
            release_id,
        };
        Ok((page, ctx, selected))
    }

    /// "Why this video": the signals and objective probabilities behind its score for this user.
    pub fn explain(&self, user: &str, video: &str, now_ms: i64) -> Result<Explanation, RankError> {
        if !valid_id(user) {
            return Err(RankError::InvalidUser);
        }
        let core = &self.core;
        let v = core
            .catalog
            .video(video)
            .ok_or_else(|| RankError::UnknownVideo(video.into()))?;
        let slot = core.users.get(user);
        let state = slot
            .and_then(|u| core.user_states.get(u as usize))
            .and_then(Option::as_ref);
        let hp = &core.release.hyper;
        let history = state
            .map(|s| s.weighted_history(hp.profile_len, hp.recency_decay))
            .unwrap_or_default();
        let follows = HashSet::new();
        let viewer = Viewer {
            slot,
            state,
            history: &history,
            profile: None,
            follows: &follows,
        };
        let f = core.model.features(&core.catalog, &viewer, v, now_ms);
        let p = core.model.heads.predict(&f);
        let w = core.release.objective_weights.as_array();
        let score = p.iter().zip(&w).map(|(a, b)| a * b).sum();
        let objectives = (0..OBJECTIVES)
            .map(|o| (OBJECTIVE_NAMES[o].to_string(), p[o], w[o]))
            .collect();
        // Contribution of each signal to the like objective, the most personal one.
        let mut signals: Vec<(String, f32)> = (1..f.len())
            .map(|i| {
                (
                    FEATURE_NAMES[i].to_string(),
                    f[i] * core.model.heads.weights[LIKE][i],
                )
            })
            .collect();
        signals.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let mut summary = match signals.first() {
            Some((name, c)) if *c > 0.0 => format!("mostly because of {name}"),
            _ => "popularity and freshness in your region".to_string(),
        };
        // An editorial promotion is said first: it is a decision, not a signal.
        if core.catalog.editorial.get(&v) == Some(&crate::catalog::Editorial::Promoted) {
            summary = format!(
                "promoted by an editorial decision (a moderation decision on the region's transparency log), and {summary}"
            );
            signals.insert(0, ("editorial promotion".to_string(), 1.0));
        }
        Ok(Explanation {
            video_id: video.into(),
            release_id: core.release.id.clone(),
            score,
            summary,
            objectives,
            signals,
        })
    }

    // ---- user controls --------------------------------------------------

    /// "Reset my For You" and account deletion: drops everything learned about
    /// the user. Aggregate counts they contributed to (trending, co-engagement
    /// between videos) are not personal data and stay.
    pub fn forget_user(&mut self, user: &str) -> bool {
        let Some(slot) = self.core.users.remove(user) else {
            return false;
        };
        if let Some(s) = self.core.user_states.get_mut(slot as usize) {
            *s = None;
        }
        self.core.model.forget_user(slot);
        true
    }

    /// Drops users and embedding rows idle for longer than the release allows.
    pub fn expire_idle(&mut self, now_ms: i64) -> usize {
        let cutoff = now_ms.saturating_sub(
            self.core
                .release
                .hyper
                .idle_expiry_secs
                .saturating_mul(1000),
        );
        let freed = self.core.users.expire_idle(cutoff);
        for &u in &freed {
            if let Some(s) = self.core.user_states.get_mut(u as usize) {
                *s = None;
            }
            self.core.model.forget_user(u);
        }
        let rows = self.core.model.user_emb.expire_idle(cutoff).len()
            + self.core.model.video_emb.expire_idle(cutoff).len();
        freed.len() + rows
    }

    /// Events that were learned from and that were rejected, since start.
    pub fn event_counts(&self) -> (u64, u64) {
        (self.core.events_learned, self.core.events_rejected)
    }

    // ---- persistence ----------------------------------------------------

    /// Serialises the model state for the region's store.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        crate::snapshot::encode(&self.core)
    }

    /// Restores model state saved by `snapshot`. The releases (and the active
    /// one) stay as this engine has them: a snapshot cannot smuggle in a release.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let mut core = crate::snapshot::decode(bytes)?;
        core.release = self.core.release.clone();
        core.model.apply_hyper(&core.release.hyper);
        self.core = core;
        Ok(())
    }
}

const MAX_FRAC: f32 = crate::event::MAX_LOOPS as f32;

fn parse_cursor(c: Option<&str>) -> Result<u32, RankError> {
    match c {
        None | Some("") => Ok(0),
        Some(c) => {
            let n = c.strip_prefix('p').ok_or(RankError::InvalidCursor)?;
            n.parse::<u32>()
                .ok()
                .filter(|&n| n <= 10_000)
                .ok_or(RankError::InvalidCursor)
        }
    }
}

/// Serialisable form of the user table, used by the snapshot module.
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedUsers {
    pub keys: SavedKeys,
    pub states: Vec<Option<UserState>>,
}
