//! Feeds and client events. For You here ranks regional trending (the
//! time-decayed `hot` score) with fresh uploads mixed in, skipping what the
//! viewer has already seen; the recommendation engine replaces this ranking
//! when it is wired in. Following is reverse-chronological.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sovereel_model::VideoId;
use sovereel_store::{Change, Cursor, EventRecord, OutboxItem, Target};
use utoipa::ToSchema;

use crate::access;
use crate::api::social::{PageQuery, page_limit, parse_cursor};
use crate::auth::{AuthUser, Viewer};
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, Kind};
use crate::state::App;
use crate::views::{FeedItem, FeedPage, VideoView, author_view};

/// The ranking in force until signed recommendation releases replace it.
pub const BASELINE_RELEASE: &str = "baseline-trending-v1";

/// For You: trending and fresh videos the viewer has not seen.
#[utoipa::path(get, path = "/v1/feed/for-you", tag = "feeds", params(PageQuery), responses((status = 200, body = FeedPage)))]
pub async fn for_you(
    State(app): State<Arc<App>>,
    Viewer(viewer): Viewer,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<FeedPage>> {
    if let Some(v) = &viewer {
        let page = ranked_for_you(&app, v, q.limit, q.cursor.as_deref()).await?;
        // The viewer's filters and topics, around the engine's ranking.
        let page = crate::api::filters::Filters::of(&app, Some(v))
            .await?
            .for_you(page);
        served(v, &page).await?;
        return Ok(ApiJson(page));
    }
    let limit = page_limit(q.limit, 10)?;
    let cursor = parse_cursor(q.cursor.as_deref())?;
    let seen: HashSet<String> = match &viewer {
        Some(v) => v
            .home
            .store
            .seen_videos(v.id.as_str(), 2000)
            .await?
            .into_iter()
            .collect(),
        None => HashSet::new(),
    };
    let me = viewer.as_ref().map(|v| v.id.to_string());
    let mut items: Vec<FeedItem> = vec![];
    let mut after = cursor.clone();
    let mut next_cursor = None;
    // Walk the hot list until a page of unseen videos is found.
    for _ in 0..10 {
        let batch = app.catalog.hot_videos(after.as_ref(), limit * 3).await?;
        let exhausted = (batch.len() as i64) < limit * 3;
        if let Some(last) = batch.last() {
            after = Some(Cursor {
                key: last.hot,
                id: last.id.clone(),
            });
        }
        // Labelled and restricted videos are not eligible for For You.
        let fresh: Vec<_> = batch
            .into_iter()
            .filter(|v| !seen.contains(&v.id) && Some(&v.author_id) != me.as_ref())
            .filter(|v| !crate::moderation::excluded_from_for_you(&v.labels))
            .collect();
        for v in access::catalog_views(&app, viewer.as_ref(), &fresh).await? {
            if items.len() as i64 >= limit {
                break;
            }
            let reason = match v.hashtags.first() {
                Some(tag) => format!("Popular now in #{tag}"),
                None => "Popular on Sovereel right now".to_string(),
            };
            let cur = fresh.iter().find(|c| c.id == v.id).map(|c| Cursor {
                key: c.hot,
                id: c.id.clone(),
            });
            items.push(FeedItem {
                video: v,
                reason,
                source: "trending".into(),
            });
            next_cursor = cur.map(|c| c.encode());
        }
        if items.len() as i64 >= limit || exhausted {
            if (items.len() as i64) < limit {
                next_cursor = None;
            }
            break;
        }
    }
    // One slot in five goes to the newest upload not yet shown, so new
    // creators get impressions.
    if cursor.is_none() {
        let shown: HashSet<String> = items.iter().map(|i| i.video.id.clone()).collect();
        let newest = app.catalog.fresh_videos(None, 20).await?;
        let candidates: Vec<_> = newest
            .into_iter()
            .filter(|v| {
                !seen.contains(&v.id) && !shown.contains(&v.id) && Some(&v.author_id) != me.as_ref()
            })
            .filter(|v| !crate::moderation::excluded_from_for_you(&v.labels))
            .collect();
        let views = access::catalog_views(&app, viewer.as_ref(), &candidates).await?;
        for (slot, v) in (4..)
            .step_by(5)
            .zip(views.into_iter().take((limit as usize).div_ceil(5)))
        {
            let item = FeedItem {
                video: v,
                reason: "New on Sovereel".into(),
                source: "fresh".into(),
            };
            if slot < items.len() {
                items.insert(slot, item);
            } else {
                items.push(item);
            }
        }
        items.truncate(limit as usize);
    }
    Ok(ApiJson(FeedPage {
        items,
        next_cursor,
        release: BASELINE_RELEASE.into(),
    }))
}

/// For You for a logged-in viewer, ranked by the region's engine under its
/// active release.
async fn ranked_for_you(
    app: &App,
    v: &AuthUser,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> ApiResult<FeedPage> {
    let limit = page_limit(limit, 10)?;
    if cursor.is_some_and(|c| c.len() > 32) {
        return Err(ApiError::new(
            Kind::InvalidField,
            "cursor: not a cursor this server issued",
        ));
    }
    let me = v
        .home
        .store
        .user(v.id.as_str())
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let key = crate::custody::own_key(&app.gateway, &v.home, &v.id, crate::custody::ReadProtected)
        .await?;
    let birthdate = key
        .decrypt_field("users.birthdate", &me.birthdate)
        .map_err(ApiError::internal)?;
    let adult = sovereel_model::Birthdate::parse(&birthdate)
        .map(|b| b.age() >= 18)
        .unwrap_or(false);
    let mut q =
        sovereel_recs::Query::new(v.id.as_str(), limit as usize, sovereel_model::now_millis());
    q.follows = v.home.store.following(v.id.as_str(), 5000).await?;
    q.blocked_authors = access::block_set(app, v).await?.users.into_iter().collect();
    q.non_profiled = me.non_profiled;
    q.viewer_is_adult = adult;
    q.cursor = cursor.map(str::to_string);
    q.exclude = v.home.store.seen_videos(v.id.as_str(), 500).await?;
    let page = v.home.recs.lock().rank(&q).map_err(|e| match e {
        sovereel_recs::RankError::InvalidCursor => ApiError::new(
            Kind::InvalidField,
            "cursor: not a cursor this server issued",
        ),
        other => ApiError::internal(other),
    })?;
    let ids: Vec<String> = page.items.iter().map(|i| i.video_id.clone()).collect();
    let videos = app.catalog.videos(&ids).await?;
    let views = access::catalog_views(app, Some(v), &videos).await?;
    let items = page
        .items
        .iter()
        .filter_map(|i| {
            views.iter().find(|w| w.id == i.video_id).map(|w| {
                // The engine speaks in ids; people read handles.
                let author = videos
                    .iter()
                    .find(|c| c.id == i.video_id)
                    .map(|c| c.author_id.as_str())
                    .unwrap_or("");
                let reason = if author.is_empty() {
                    i.reason.clone()
                } else {
                    i.reason.replace(author, &format!("@{}", w.author.handle))
                };
                FeedItem {
                    video: w.clone(),
                    reason,
                    source: i.source.clone(),
                }
            })
        })
        .collect::<Vec<_>>();
    let mut items = items;
    // A small or young catalog can leave the engine's candidate sources
    // with nothing to offer; unseen popular videos then fill the page, so a
    // feed is never empty while there is something left to watch. A short
    // but non-empty page is left as the engine ranked it: filling it would
    // dilute what the engine learned.
    if items.is_empty() {
        let seen: std::collections::HashSet<&String> = q.exclude.iter().collect();
        let shown: std::collections::HashSet<String> =
            items.iter().map(|i| i.video.id.clone()).collect();
        let muted: std::collections::HashSet<String> = app
            .catalog
            .videos(
                &v.home
                    .store
                    .not_interested_videos(v.id.as_str(), 200)
                    .await?,
            )
            .await?
            .into_iter()
            .map(|c| c.author_id)
            .collect();
        let hot = app.catalog.hot_videos(None, 200).await?;
        let fill: Vec<_> = hot
            .into_iter()
            .filter(|c| {
                !seen.contains(&c.id)
                    && !shown.contains(&c.id)
                    && c.author_id != v.id.as_str()
                    && !q.blocked_authors.contains(&c.author_id)
                    && !muted.contains(&c.author_id)
                    // Labelled and restricted videos are not eligible here either.
                    && !crate::moderation::excluded_from_for_you(&c.labels)
            })
            .collect();
        for w in access::catalog_views(app, Some(v), &fill).await? {
            if items.len() as i64 >= limit {
                break;
            }
            items.push(FeedItem {
                video: w,
                reason: "Popular on Sovereel right now".into(),
                source: "trending".into(),
            });
        }
    }
    let next_cursor =
        (!page.items.is_empty() && !page.next_cursor.is_empty()).then_some(page.next_cursor);
    Ok(FeedPage {
        items,
        next_cursor,
        release: page.release_id,
    })
}

/// Tells the viewer's home engine about an interaction, as it happens. The
/// engine ignores videos it does not rank (non-public ones).
pub fn learn(user: &AuthUser, video_id: &str, kind: sovereel_recs::EventKind) {
    let e = sovereel_recs::Event::new(
        user.id.as_str(),
        video_id,
        sovereel_model::now_millis(),
        kind,
    );
    if let Err(err) = user.home.recs.lock().observe(&e) {
        tracing::debug!(error = %err, "event not learned");
    }
}

/// Following: newest videos of the accounts the viewer follows, including
/// followers-only ones.
#[utoipa::path(get, path = "/v1/feed/following", tag = "feeds", params(PageQuery), responses((status = 200, body = FeedPage), (status = 401, body = crate::error::ProblemBody)))]
pub async fn following(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<FeedPage>> {
    let limit = page_limit(q.limit, 10)?;
    let cursor = parse_cursor(q.cursor.as_deref())?;
    let followees = user.home.store.following(user.id.as_str(), 5000).await?;
    let mut merged: Vec<(i64, String, VideoView)> = vec![];
    for chunk in followees.chunks(500) {
        let public = app
            .catalog
            .videos_by_authors(chunk, cursor.as_ref(), limit)
            .await?;
        for v in access::catalog_views(&app, Some(&user), &public).await? {
            let at = public
                .iter()
                .find(|p| p.id == v.id)
                .map(|p| p.created_at)
                .unwrap_or(0);
            merged.push((at, v.id.clone(), v));
        }
        // Followers-only videos stay at each author's home.
        let mut by_region: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for a in chunk {
            by_region
                .entry(a.split('_').next().unwrap_or_default().to_string())
                .or_default()
                .push(a.clone());
        }
        for (region, authors) in by_region {
            let Some(plane) = app.plane(&region) else {
                continue;
            };
            let recs = match plane
                .author_videos(
                    &authors,
                    &[sovereel_model::Visibility::Followers],
                    Some(user.id.as_str()),
                    cursor
                        .as_ref()
                        .map(sovereel_store::Cursor::encode)
                        .as_deref(),
                    limit,
                )
                .await
            {
                Ok(r) => r,
                // A region that does not answer leaves its followers-only
                // videos out of this page; the rest of the feed still works.
                Err(crate::plane::PlaneError::Unavailable { region }) => {
                    tracing::warn!(%region, "followers-only videos skipped: region unavailable");
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if recs.is_empty() {
                continue;
            }
            let liked: HashSet<String> = user
                .home
                .store
                .liked_among(
                    user.id.as_str(),
                    &recs.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                )
                .await?
                .into_iter()
                .collect();
            let profiles = app.catalog.profiles(&authors).await?;
            for r in recs {
                let p = profiles.iter().find(|p| p.user_id == r.author_id);
                let view = VideoView::from_record(
                    &r,
                    author_view(p, &r.author_id),
                    r.counts,
                    vec![],
                    liked.contains(&r.id),
                );
                merged.push((r.created_at, r.id.clone(), view));
            }
        }
    }
    merged.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    merged.truncate(limit as usize);
    let next_cursor = (merged.len() as i64 == limit)
        .then(|| {
            merged.last().map(|(at, id, _)| {
                Cursor {
                    key: *at as f64,
                    id: id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    let filters = crate::api::filters::Filters::of(&app, Some(&user)).await?;
    let items = merged
        .into_iter()
        .filter(|(_, _, v)| !filters.hides_video(v))
        .map(|(_, _, v)| FeedItem {
            video: v,
            reason: "From an account you follow".into(),
            source: "following".into(),
        })
        .collect();
    let page = FeedPage {
        items,
        next_cursor,
        release: BASELINE_RELEASE.into(),
    };
    served(&user, &page).await?;
    Ok(ApiJson(page))
}

/// Remembers which videos a feed page showed the user: their events may
/// name those (see `events`).
async fn served(user: &AuthUser, page: &FeedPage) -> ApiResult<()> {
    let ids: Vec<String> = page.items.iter().map(|i| i.video.id.clone()).collect();
    user.home
        .store
        .record_shown(
            user.id.as_str(),
            sovereel_store::SERVED,
            &ids,
            sovereel_model::now_millis(),
        )
        .await?;
    Ok(())
}

/// How long ago a video may have been shown for the user's events to name
/// it: as far back as an event's `at` may be.
const SHOWN_WINDOW_MS: i64 = 7 * 86_400_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientEvent {
    /// `impression`, `view`, `skip` or `not_interested`.
    #[serde(rename = "type")]
    pub kind: String,
    pub video_id: String,
    pub watch_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    /// Milliseconds since the epoch; defaults to the time of receipt.
    pub at: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    pub events: Vec<ClientEvent>,
}

#[derive(Serialize, ToSchema)]
pub struct EventsAccepted {
    pub accepted: usize,
}

pub const MAX_EVENTS: usize = 500;
/// No view is longer than this (a 3-minute video watched on loop for an hour).
const MAX_WATCH_MS: i64 = 3_600_000;

/// Record a batch of client events. The batch is all-or-nothing: one bad
/// event rejects it, naming its index, and nothing is stored.
#[utoipa::path(post, path = "/v1/events", tag = "feeds", request_body = EventBatch,
    responses((status = 202, body = EventsAccepted), (status = 422, body = crate::error::ProblemBody)))]
pub async fn events(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiJson(batch): ApiJson<EventBatch>,
) -> ApiResult<(StatusCode, ApiJson<EventsAccepted>)> {
    if batch.events.is_empty() {
        return Err(ApiError::new(
            Kind::InvalidField,
            "events: must hold at least one event",
        ));
    }
    if batch.events.len() > MAX_EVENTS {
        return Err(ApiError::new(
            Kind::InvalidField,
            format!("events: at most {MAX_EVENTS} per batch"),
        ));
    }
    let now = sovereel_model::now_millis();
    let mut records = Vec::with_capacity(batch.events.len());
    let mut views: std::collections::BTreeMap<String, i64> = Default::default();
    let ids: Vec<String> = batch.events.iter().map(|e| e.video_id.clone()).collect();
    let known: HashSet<String> = app
        .catalog
        .videos(&ids)
        .await?
        .into_iter()
        .map(|v| v.id)
        .collect();
    // Counts mean something (DESIGN, "Abuse resistance"): events about a
    // video the server never showed this user (in a feed page, or opened)
    // are accepted and count for nothing, neither in the counters nor in
    // the learner; a view counts once per user, video and (UTC) day; and
    // nothing counts for an author who blocked the user, or whom the user
    // blocked.
    let shown = user
        .home
        .store
        .shown_among(user.id.as_str(), &ids, now - SHOWN_WINDOW_MS)
        .await?;
    let mut viewed_today = user
        .home
        .store
        .viewed_among(user.id.as_str(), &ids, now - now.rem_euclid(DAY_MS))
        .await?;
    let blocks = access::block_set(&app, &user).await?;
    let authors: std::collections::HashMap<String, String> = app
        .catalog
        .videos(&ids)
        .await?
        .into_iter()
        .map(|v| (v.id, v.author_id))
        .collect();
    for (i, e) in batch.events.iter().enumerate() {
        let bad = |m: &str| ApiError::new(Kind::InvalidField, format!("events[{i}]: {m}"));
        if !matches!(
            e.kind.as_str(),
            "impression" | "view" | "skip" | "not_interested"
        ) {
            return Err(bad("type must be impression, view, skip or not_interested"));
        }
        VideoId::parse(&e.video_id).map_err(|_| bad("video_id is not a video id"))?;
        if !known.contains(&e.video_id) {
            // Events about non-public videos are checked one by one.
            access::load_video(&app, Some(&user), &e.video_id)
                .await
                .map_err(|_| bad("no such video"))?;
        }
        for (name, v) in [("watch_ms", e.watch_ms), ("duration_ms", e.duration_ms)] {
            if let Some(v) = v
                && !(0..=MAX_WATCH_MS).contains(&v)
            {
                return Err(bad(&format!("{name} must be between 0 and {MAX_WATCH_MS}")));
            }
        }
        if e.kind == "view" && e.watch_ms.is_none() {
            return Err(bad("a view needs watch_ms"));
        }
        let at = e.at.unwrap_or(now);
        if at > now + 60_000 || at < now - 7 * 86_400_000 {
            return Err(bad("at must be within the last 7 days"));
        }
        if !shown.contains(&e.video_id) {
            continue;
        }
        let blocked = authors
            .get(&e.video_id)
            .is_some_and(|a| blocks.users.contains(a));
        if e.kind == "view" && !blocked && viewed_today.insert(e.video_id.clone()) {
            *views.entry(e.video_id.clone()).or_default() += 1;
        }
        if blocked {
            continue;
        }
        records.push(EventRecord {
            user_id: user.id.to_string(),
            video_id: e.video_id.clone(),
            kind: e.kind.clone(),
            watch_ms: e.watch_ms,
            duration_ms: e.duration_ms,
            at,
        });
    }
    let out: Vec<OutboxItem> = views
        .into_iter()
        .filter(|(id, _)| known.contains(id))
        .map(|(id, n)| {
            OutboxItem::new(
                Target::Catalog,
                Change::VideoCounts {
                    video_id: id,
                    likes: 0,
                    comments: 0,
                    shares: 0,
                    views: n,
                },
            )
        })
        .collect();
    user.home.store.append_events(&records, &out).await?;
    let durations: std::collections::HashMap<String, i64> = app
        .catalog
        .videos(&ids)
        .await?
        .into_iter()
        .map(|v| (v.id, v.duration_ms.unwrap_or(0)))
        .collect();
    {
        let mut engine = user.home.recs.lock();
        for r in &records {
            let kind = match r.kind.as_str() {
                "impression" => sovereel_recs::EventKind::Impression,
                "skip" => sovereel_recs::EventKind::Skip,
                "not_interested" => sovereel_recs::EventKind::NotInterested,
                _ => sovereel_recs::EventKind::View {
                    watch_ms: r.watch_ms.unwrap_or(0),
                    duration_ms: r
                        .duration_ms
                        .filter(|d| *d > 0)
                        .or_else(|| durations.get(&r.video_id).copied())
                        .unwrap_or(0),
                },
            };
            let e = sovereel_recs::Event::new(&r.user_id, &r.video_id, r.at, kind);
            if let Err(err) = engine.observe(&e) {
                tracing::debug!(error = %err, "event not learned");
            }
        }
    }
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(EventsAccepted {
            accepted: records.len(),
        }),
    ))
}
