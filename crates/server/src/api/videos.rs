//! Videos: upload, metadata, playback, likes, comments and shares.

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sovereel_model::{CommentId, CommentPolicy, VideoId, VideoState, Visibility, text};
use sovereel_store::{Change, CommentRecord, Counts, Cursor, OutboxItem, Target, VideoRecord};
use utoipa::ToSchema;

use crate::access::{self, LoadedVideo, VideoRef};
use crate::auth::{AuthUser, Viewer};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Kind};
use crate::plane::MediaKind;
use crate::state::App;
use crate::views::{CommentView, CountsView, VideoView, author_view};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadMeta {
    #[serde(default)]
    pub caption: String,
    #[serde(default = "default_visibility")]
    pub visibility: String,
    #[serde(default = "default_comments")]
    pub comments: String,
    /// Save as a draft: seen by its owner only until published
    /// (`POST /v1/videos/{id}/publish`).
    #[serde(default)]
    pub draft: bool,
}

fn default_visibility() -> String {
    "public".into()
}
fn default_comments() -> String {
    "everyone".into()
}

/// The multipart form of an upload, for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The video file (MP4, MOV or WebM).
    #[schema(format = Binary)]
    file: String,
    /// JSON: `{caption, visibility, comments, draft}`.
    meta: String,
    /// Optional JPEG poster made by the client when the server has no ffmpeg.
    #[schema(format = Binary)]
    poster: Option<String>,
}

const MAX_META_BYTES: usize = 16 * 1024;
const MAX_POSTER_BYTES: u64 = 2 * 1024 * 1024;

/// Upload a video: multipart `file` and `meta`. The file is streamed to disk
/// with a bounded buffer and hashed on the way; its structure and duration
/// are checked before the answer, and transcoding runs in the background.
#[utoipa::path(post, path = "/v1/videos", tag = "videos", request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = VideoView), (status = 413, body = crate::error::ProblemBody), (status = 415, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn upload(
    State(app): State<Arc<App>>,
    user: AuthUser,
    mut form: Multipart,
) -> ApiResult<Response> {
    let mut meta: Option<UploadMeta> = None;
    let mut file: Option<sovereel_media::Ingested> = None;
    let mut poster: Option<sovereel_media::IngestedImage> = None;
    let limits = sovereel_media::IngestLimits {
        max_bytes: app.config.limits.max_upload_bytes,
    };
    while let Some(field) = form.next_field().await? {
        match field.name() {
            Some("meta") => {
                let raw = field.bytes().await?;
                if raw.len() > MAX_META_BYTES {
                    return Err(ApiError::new(Kind::InvalidField, "meta: too large"));
                }
                meta = Some(serde_json::from_slice(&raw).map_err(|e| {
                    let m = e.to_string();
                    ApiError::new(
                        Kind::InvalidField,
                        format!("meta: {}", m.split(" at line ").next().unwrap_or(&m)),
                    )
                })?);
            }
            Some("file") if file.is_none() => {
                let stream = field.map_err(|e| e.body_text());
                let ingested = sovereel_media::ingest(stream, &limits, &app.tmp_dir)
                    .await
                    .map_err(ingest_error)?;
                file = Some(ingested);
            }
            Some("poster") if poster.is_none() => {
                let stream = field.map_err(|e| e.body_text());
                let img = sovereel_media::ingest_image(stream, MAX_POSTER_BYTES, &app.tmp_dir)
                    .await
                    .map_err(|e| match e.http_status() {
                        500 => ApiError::internal(e),
                        _ => ApiError::new(
                            Kind::InvalidField,
                            "poster: must be a JPEG of at most 2 MB",
                        ),
                    })?;
                if img.format != sovereel_media::ImageFormat::Jpeg {
                    return Err(ApiError::new(
                        Kind::InvalidField,
                        "poster: must be a JPEG of at most 2 MB",
                    ));
                }
                poster = Some(img);
            }
            Some(other) => {
                let name = other.chars().take(32).collect::<String>();
                return Err(ApiError::new(
                    Kind::InvalidField,
                    format!("unexpected form field `{name}`"),
                ));
            }
            None => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    "a form field has no name",
                ));
            }
        }
    }
    let file = file.ok_or_else(|| ApiError::new(Kind::InvalidField, "file: missing"))?;
    let meta = meta.ok_or_else(|| ApiError::new(Kind::InvalidField, "meta: missing"))?;
    let caption = text::parse_caption(&meta.caption)?;
    let visibility = Visibility::parse(&meta.visibility)?;
    let comments = CommentPolicy::parse(&meta.comments)?;
    let sealed_caption = match meta.draft {
        true => Some(crate::api::drafts::seal_caption(&app, &user, &caption.text).await?),
        false => None,
    };
    // Structure and duration are checked now, so a truncated or overlong
    // file is refused with a 4xx and leaves nothing behind.
    let info = app
        .processor
        .probe(file.path())
        .await
        .map_err(process_error)?;
    let id = VideoId::generate(&user.home.id);
    let incoming = app.incoming_dir.join(id.as_str());
    let Ingested {
        file: temp,
        sha256,
        size,
        ..
    } = file;
    temp.persist(&incoming)
        .map_err(|e| ApiError::internal(format!("keeping upload: {e}")))?;
    if let Some(p) = poster {
        p.file
            .persist(incoming.with_extension("poster.jpg"))
            .map_err(|e| ApiError::internal(format!("keeping poster: {e}")))?;
    }
    let record = VideoRecord {
        id: id.to_string(),
        author_id: user.id.to_string(),
        caption: caption.text,
        hashtags: caption.hashtags,
        mentions: caption.mentions,
        visibility,
        comments_policy: comments,
        state: VideoState::Processing,
        state_reason: None,
        duration_ms: Some(info.duration_ms as i64),
        width: Some(info.width as i32),
        height: Some(info.height as i32),
        media_key: None,
        poster_key: None,
        content_type: None,
        sha256,
        size_bytes: size as i64,
        transcoded: false,
        created_at: sovereel_model::now_millis(),
        counts: Counts::default(),
        draft: meta.draft,
    };
    let stored = crate::api::drafts::stored_form(&record, sealed_caption);
    if let Err(e) = user.home.store.insert_video(&stored).await {
        let _ = std::fs::remove_file(&incoming);
        return Err(e.into());
    }
    app.metrics
        .uploads
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::processing::spawn(app.clone(), user.home.clone(), record.id.clone());
    let author = app.catalog.profile(user.id.as_str()).await?;
    let view = VideoView::from_record(
        &record,
        author_view(author.as_ref(), user.id.as_str()),
        Counts::default(),
        vec![],
        false,
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/videos/{}", record.id))],
        ApiJson(view),
    )
        .into_response())
}

use sovereel_media::Ingested;

fn ingest_error(e: sovereel_media::IngestError) -> ApiError {
    let kind = match e.http_status() {
        413 => Kind::PayloadTooLarge,
        415 => Kind::UnsupportedMedia,
        422 => Kind::InvalidVideo,
        400 if matches!(e, sovereel_media::IngestError::Empty) => Kind::InvalidVideo,
        400 => Kind::InvalidField,
        _ => return ApiError::internal(e),
    };
    ApiError::new(kind, e.to_string())
}

fn process_error(e: sovereel_media::ProcessError) -> ApiError {
    match e.http_status() {
        415 => ApiError::new(Kind::UnsupportedMedia, e.to_string()),
        s if (400..500).contains(&s) => ApiError::new(Kind::InvalidVideo, e.to_string()),
        _ => ApiError::internal(e),
    }
}

/// A video's metadata.
#[utoipa::path(get, path = "/v1/videos/{id}", tag = "videos", params(crate::api::VideoIdPath), responses((status = 200, body = VideoView), (status = 404, body = crate::error::ProblemBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    Viewer(viewer): Viewer,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<VideoView>> {
    let v = access::load_video(&app, viewer.as_ref(), &id).await?;
    if let Some(u) = &viewer {
        // Opened: the user's events may name this video (see `feeds::events`).
        u.home
            .store
            .record_shown(
                u.id.as_str(),
                sovereel_store::OPENED,
                std::slice::from_ref(&id),
                sovereel_model::now_millis(),
            )
            .await?;
    }
    Ok(ApiJson(access::video_view(viewer.as_ref(), &v).await?))
}

/// Delete one's own video.
#[utoipa::path(delete, path = "/v1/videos/{id}", tag = "videos", params(crate::api::VideoIdPath), responses((status = 204), (status = 404, body = crate::error::ProblemBody)))]
pub async fn delete(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let v = access::load_video(&app, Some(&user), &id).await?;
    if v.record.author_id != user.id.as_str() {
        // Someone else's video: not theirs to delete, and no hint whether it exists.
        return Err(ApiError::not_found("video"));
    }
    let mut out = vec![];
    if v.is_public() {
        out.push(OutboxItem::new(
            Target::Catalog,
            Change::UnpublishVideo {
                id: id.clone(),
                author_id: v.record.author_id.clone(),
            },
        ));
    }
    // The author's video is homed with the author, so at the user's home.
    let home = &user.home;
    home.store.delete_video(&id, &out).await?;
    app.relay(home).await.map_err(ApiError::internal)?;
    for key in [&v.record.media_key, &v.record.poster_key]
        .into_iter()
        .flatten()
    {
        if let Err(e) = home.media.delete(key).await {
            tracing::warn!(error = %e, "deleting media of a deleted video");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Play a video; supports `Range` (206) and answers 416 past the end.
#[utoipa::path(get, path = "/v1/videos/{id}/stream", tag = "videos", params(crate::api::VideoIdPath), responses((status = 200), (status = 206), (status = 404, body = crate::error::ProblemBody), (status = 416, body = crate::error::ProblemBody)))]
pub async fn stream(
    State(app): State<Arc<App>>,
    Viewer(viewer): Viewer,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    media(&app, viewer.as_ref(), &id, MediaKind::Stream, &headers).await
}

/// The poster frame (JPEG).
#[utoipa::path(get, path = "/v1/videos/{id}/poster", tag = "videos", params(crate::api::VideoIdPath), responses((status = 200), (status = 404, body = crate::error::ProblemBody)))]
pub async fn poster(
    State(app): State<Arc<App>>,
    Viewer(viewer): Viewer,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    media(&app, viewer.as_ref(), &id, MediaKind::Poster, &headers).await
}

/// A video's media, from its home: read here when the home is served
/// here, streamed from the home's service otherwise (which decides again,
/// with its own gateway and ledger, whether the viewer may have it).
async fn media(
    app: &App,
    viewer: Option<&AuthUser>,
    id: &str,
    kind: MediaKind,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let v = access::load_video(app, viewer, id).await?;
    let viewer = viewer.map(|u| u.id.as_str());
    let range = headers.get(header::RANGE).and_then(|h| h.to_str().ok());
    match app.local(v.home.id().as_str()) {
        Some(home) => home.media_response(&v.record, kind, viewer, range).await,
        None => Ok(v.home.media(id, kind, viewer, range).await?),
    }
}

#[derive(Serialize, ToSchema)]
pub struct LikeAnswer {
    pub liked: bool,
    pub counts: CountsView,
}

fn counter_target(v: &VideoRef) -> Target {
    if v.public {
        Target::Catalog
    } else {
        Target::Region(v.home.id().to_string())
    }
}

fn video_counts(v: &VideoRef, likes: i64, comments: i64, shares: i64, views: i64) -> OutboxItem {
    OutboxItem::new(
        counter_target(v),
        Change::VideoCounts {
            video_id: v.id.clone(),
            likes,
            comments,
            shares,
            views,
        },
    )
}

/// A video's counters just after the viewer's write: from the catalog for
/// a public video (no second call to its home), from its home otherwise.
async fn fresh_counts(app: &App, viewer: &AuthUser, id: &str) -> ApiResult<Counts> {
    if let Some(c) = app.catalog.video(id).await? {
        return Ok(c.counts);
    }
    Ok(access::load_video(app, Some(viewer), id).await?.counts())
}

async fn like_answer(
    app: &App,
    viewer: &AuthUser,
    id: &str,
    liked: bool,
) -> ApiResult<ApiJson<LikeAnswer>> {
    Ok(ApiJson(LikeAnswer {
        liked,
        counts: fresh_counts(app, viewer, id).await?.into(),
    }))
}

/// Like (idempotent). The like is stored at the viewer's home; only the
/// counter reaches the catalog.
#[utoipa::path(put, path = "/v1/videos/{id}/like", tag = "videos", params(crate::api::VideoIdPath), responses((status = 200, body = LikeAnswer), (status = 404, body = crate::error::ProblemBody)))]
pub async fn like(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<LikeAnswer>> {
    let v = access::load_ref(&app, &user, &id).await?;
    let mut out = vec![video_counts(&v, 1, 0, 0, 0)];
    if v.public {
        out.push(OutboxItem::new(
            Target::Catalog,
            Change::ProfileCounts {
                user_id: v.author_id.clone(),
                followers: 0,
                following: 0,
                likes: 1,
            },
        ));
    }
    let now = sovereel_model::now_millis();
    let actor = crate::api::notifications::Actor::of(&app, &user).await?;
    out.extend(crate::api::notifications::notification(
        &v.author_id,
        sovereel_model::InboxKind::Like,
        &actor,
        Some(&id),
        None,
        now,
    ));
    user.home
        .store
        .like(user.id.as_str(), &id, now, &out)
        .await?;
    crate::api::feeds::learn(&user, &id, sovereel_recs::EventKind::Like);
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    like_answer(&app, &user, &id, true).await
}

/// Unlike (idempotent).
#[utoipa::path(delete, path = "/v1/videos/{id}/like", tag = "videos", params(crate::api::VideoIdPath), responses((status = 200, body = LikeAnswer), (status = 404, body = crate::error::ProblemBody)))]
pub async fn unlike(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<LikeAnswer>> {
    let v = access::load_ref(&app, &user, &id).await?;
    let mut out = vec![video_counts(&v, -1, 0, 0, 0)];
    if v.public {
        out.push(OutboxItem::new(
            Target::Catalog,
            Change::ProfileCounts {
                user_id: v.author_id.clone(),
                followers: 0,
                following: 0,
                likes: -1,
            },
        ));
    }
    if v.author_id != user.id.as_str() {
        out.push(crate::api::notifications::retraction(
            &v.author_id,
            sovereel_model::InboxKind::Like,
            user.id.as_str(),
            Some(&id),
        ));
    }
    user.home.store.unlike(user.id.as_str(), &id, &out).await?;
    crate::api::feeds::learn(&user, &id, sovereel_recs::EventKind::Unlike);
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    like_answer(&app, &user, &id, false).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    pub text: String,
    pub parent_id: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentQuery {
    pub parent_id: Option<String>,
    pub cursor: Option<String>,
    /// How many items, 1 to 100.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CommentList {
    pub items: Vec<CommentView>,
    pub next_cursor: Option<String>,
}

async fn comment_views(app: &App, list: &[CommentRecord]) -> ApiResult<Vec<CommentView>> {
    let ids: Vec<String> = list.iter().map(|c| c.author_id.clone()).collect();
    let profiles: std::collections::HashMap<String, sovereel_store::ProfileRecord> = app
        .catalog
        .profiles(&ids)
        .await?
        .into_iter()
        .map(|p| (p.user_id.clone(), p))
        .collect();
    Ok(list
        .iter()
        .filter(|c| profiles.get(&c.author_id).is_none_or(|p| !p.hidden))
        .map(|c| CommentView {
            id: c.id.clone(),
            author: author_view(profiles.get(&c.author_id), &c.author_id),
            text: c.text.clone(),
            parent_id: c.parent_id.clone(),
            created_at: sovereel_model::rfc3339(c.created_at),
            replies_count: c.replies_count,
        })
        .collect())
}

/// Comments on a video, oldest first; `parent_id` lists the replies to one.
#[utoipa::path(get, path = "/v1/videos/{id}/comments", tag = "videos", params(crate::api::VideoIdPath, CommentQuery), responses((status = 200, body = CommentList), (status = 404, body = crate::error::ProblemBody)))]
pub async fn comments(
    State(app): State<Arc<App>>,
    Viewer(viewer): Viewer,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<CommentQuery>,
) -> ApiResult<ApiJson<CommentList>> {
    let limit = crate::api::social::page_limit(q.limit, 50)?;
    let cursor = crate::api::social::parse_cursor(q.cursor.as_deref())?;
    let v = access::load_video(&app, viewer.as_ref(), &id).await?;
    let list = if v.is_public() {
        app.catalog
            .comments(&id, q.parent_id.as_deref(), cursor.as_ref(), limit)
            .await?
    } else {
        scattered_comments(
            &app,
            viewer.as_ref(),
            &id,
            q.parent_id.as_deref(),
            cursor.as_ref(),
            limit,
        )
        .await?
    };
    let next_cursor = (list.len() as i64 == limit)
        .then(|| {
            list.last().map(|c| {
                Cursor {
                    key: c.created_at as f64,
                    id: c.id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    // What the viewer reported (and whom they block) is not shown to them.
    let list = match &viewer {
        Some(u) => {
            let hidden = access::block_set(&app, u).await?;
            list.into_iter()
                .filter(|c| !hidden.hides_comment(&c.id, &c.author_id))
                .collect()
        }
        None => list,
    };
    // Comments that hit the viewer's keyword or hashtag filters.
    let filters = crate::api::filters::Filters::of(&app, viewer.as_ref()).await?;
    let list: Vec<CommentRecord> = list
        .into_iter()
        .filter(|c| {
            let tags = text::parse_caption(&c.text)
                .map(|p| p.hashtags)
                .unwrap_or_default();
            !filters.hides_text(&c.text, &tags)
        })
        .collect();
    Ok(ApiJson(CommentList {
        items: comment_views(&app, &list).await?,
        next_cursor,
    }))
}

/// A comment of this video by id: in the catalog for public videos; for the
/// others, at the home of whoever wrote it.
async fn find_comment(
    app: &App,
    viewer: &AuthUser,
    v: &LoadedVideo,
    id: &str,
) -> ApiResult<Option<CommentRecord>> {
    if v.is_public() {
        return Ok(app.catalog.comment(id).await?);
    }
    let Ok(cid) = sovereel_model::CommentId::parse(id) else {
        return Ok(None);
    };
    match app.plane(cid.region_str()) {
        Some(plane) => Ok(plane.comment(id, Some(viewer.id.as_str())).await?),
        None => Ok(None),
    }
}

/// Comments of a non-public video. Each is stored at its author's home; the
/// video's home gathers them, so a viewer homed elsewhere asks it (one
/// call), and it decides whether that viewer may see the video at all.
async fn scattered_comments(
    app: &App,
    viewer: Option<&AuthUser>,
    video: &str,
    parent: Option<&str>,
    after: Option<&Cursor>,
    limit: i64,
) -> ApiResult<Vec<CommentRecord>> {
    let after = after.map(Cursor::encode);
    let home = crate::access::home_of(video);
    if app.local(home).is_some() {
        return gather_comments(app, video, parent, after.as_deref(), limit).await;
    }
    let plane = app
        .plane(home)
        .ok_or_else(|| ApiError::not_found("video"))?;
    Ok(plane
        .comments(
            video,
            parent,
            after.as_deref(),
            limit,
            viewer.map(|v| v.id.as_str()),
        )
        .await?)
}

/// At the video's home: every region's comments on it (one call each),
/// merged in order.
pub async fn gather_comments(
    app: &App,
    video: &str,
    parent: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<CommentRecord>> {
    let asks = app
        .planes()
        .map(|plane| plane.comments(video, parent, after, limit, None));
    let mut all = vec![];
    for answer in futures::future::join_all(asks).await {
        all.extend(answer?);
    }
    all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    all.truncate(limit as usize);
    Ok(all)
}

#[derive(Serialize, ToSchema)]
pub struct WhyAnswer {
    /// At most three short reasons in words, strongest first ("You watched
    /// several #cooking videos", "Popular in Australia right now"). No
    /// probabilities, weights or ids.
    pub reasons: Vec<String>,
    /// The reasons as one sentence.
    pub reason: String,
    /// The release whose weights produced the score.
    pub release: String,
    pub score: f32,
    /// Each objective's probability and weight, and the signals behind them.
    pub details: Vec<String>,
}

/// "Why this video": what the viewer's home engine knows and how the
/// active release weighs it.
#[utoipa::path(get, path = "/v1/videos/{id}/why", tag = "feeds", params(crate::api::VideoIdPath), responses((status = 200, body = WhyAnswer), (status = 404, body = crate::error::ProblemBody)))]
pub async fn why(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<WhyAnswer>> {
    let loaded = access::load_video(&app, Some(&user), &id).await?;
    let x = user
        .home
        .recs
        .lock()
        .explain(user.id.as_str(), &id, sovereel_model::now_millis());
    let x = x.map_err(|_| ApiError::not_found("explanation for this video"))?;
    let mut details: Vec<String> = x
        .objectives
        .iter()
        .map(|(name, p, w)| format!("{name}: probability {p:.2} × weight {w:+.1}"))
        .collect();
    details.extend(x.signals.iter().map(|(name, v)| format!("{name}: {v:.2}")));
    let region_name = app
        .config
        .regions
        .iter()
        .find(|r| r.id == user.home.id.as_str())
        .map(|r| r.name.clone())
        .unwrap_or_else(|| user.home.id.to_string());
    let author = loaded.author.as_ref().map(|p| p.handle.as_str());
    let reasons = reasons_in_words(
        &x.signals,
        loaded.record.hashtags.first().map(String::as_str),
        author,
        &region_name,
    );
    Ok(ApiJson(WhyAnswer {
        reason: if reasons.is_empty() {
            x.summary
        } else {
            reasons.join(". ")
        },
        reasons,
        release: x.release_id,
        score: x.score,
        details,
    }))
}

/// The engine's strongest positive signals for a video, as at most three
/// sentences a viewer understands. Signals that count against a video, and
/// the constant bias, say nothing; co-engagement never names the videos it
/// comes from.
pub fn reasons_in_words(
    signals: &[(String, f32)],
    hashtag: Option<&str>,
    author: Option<&str>,
    region: &str,
) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for (name, contribution) in signals {
        if *contribution <= 0.0 && name != "editorial promotion" {
            continue;
        }
        let sentence = match (name.as_str(), hashtag, author) {
            ("editorial promotion", _, _) => {
                "Promoted by an editorial decision, which is on your region's public log"
                    .to_string()
            }
            ("co-engagement", _, _) => {
                "People who enjoyed videos you enjoyed also enjoyed this one".to_string()
            }
            ("embedding", _, _) => "It is like videos you watched to the end".to_string(),
            ("hashtag affinity", Some(tag), _) => format!("You watched several #{tag} videos"),
            ("hashtag affinity", None, _) => "It is about topics you watch".to_string(),
            ("author affinity", _, Some(a)) => format!("You often watch @{a}"),
            ("follows author", _, Some(a)) => format!("You follow @{a}"),
            ("trending", _, _) => format!("Popular in {region} right now"),
            ("freshness", _, _) => "Posted recently".to_string(),
            ("completion rate", _, _) => "Most people who start it watch it to the end".to_string(),
            ("like rate", _, _) => "Many people who watch it like it".to_string(),
            _ => continue,
        };
        if !out.contains(&sentence) {
            out.push(sentence);
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}

/// Comment (or reply to a top-level comment), within the video's comment policy.
#[utoipa::path(post, path = "/v1/videos/{id}/comments", tag = "videos", params(crate::api::VideoIdPath), request_body = CommentBody,
    responses((status = 201, body = CommentView), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody)))]
pub async fn post_comment(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CommentBody>,
) -> ApiResult<Response> {
    let text = text::parse_comment(&body.text)?;
    let v = access::load_video(&app, Some(&user), &id).await?;
    let is_owner = v.record.author_id == user.id.as_str();
    let allowed = is_owner
        || match v.record.comments_policy {
            CommentPolicy::Everyone => true,
            CommentPolicy::Followers => {
                access::approved_follower(&app, user.id.as_str(), &v.record.author_id).await?
            }
            CommentPolicy::Nobody => false,
        };
    if !allowed {
        return Err(ApiError::new(
            Kind::CommentsClosed,
            "the creator limited who can comment on this video",
        ));
    }
    let mut parent_author = None;
    if let Some(parent) = &body.parent_id {
        let p = find_comment(&app, &user, &v, parent).await?;
        match p {
            Some(p) if p.video_id == id && p.parent_id.is_none() => {
                parent_author = Some(p.author_id);
            }
            Some(_) => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    "parent_id: replies go one level deep, to a top-level comment of this video",
                ));
            }
            None => {
                return Err(ApiError::new(
                    Kind::InvalidField,
                    "parent_id: no such comment on this video",
                ));
            }
        }
    }
    let me = app
        .catalog
        .profile(user.id.as_str())
        .await?
        .ok_or_else(|| ApiError::internal("profile missing"))?;
    let now = sovereel_model::now_millis();
    let record = CommentRecord {
        id: CommentId::generate(&user.home.id).to_string(),
        video_id: id.clone(),
        author_id: user.id.to_string(),
        author_handle: me.handle.clone(),
        text,
        parent_id: body.parent_id.clone(),
        created_at: now,
        replies_count: 0,
    };
    // A public comment is public content (the catalog); a comment on a
    // followers-only or private video stays at its author's home.
    let comment_target = if v.is_public() {
        Target::Catalog
    } else {
        Target::Region(user.home.id.to_string())
    };
    let mut out = vec![
        OutboxItem::new(
            comment_target,
            Change::InsertComment {
                comment: record.clone(),
            },
        ),
        video_counts(&VideoRef::from(&v), 0, 1, 0, 0),
    ];
    out.extend(comment_notifications(&app, &user, &v, &record, parent_author.as_deref()).await?);
    user.home
        .store
        .record_comment(&record.id, user.id.as_str(), &id, now, &out)
        .await?;
    crate::api::feeds::learn(&user, &id, sovereel_recs::EventKind::Comment);
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    let view = comment_views(&app, std::slice::from_ref(&record))
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("comment view"))?;
    Ok((StatusCode::CREATED, ApiJson(view)).into_response())
}

/// Who a new comment tells: the author of the comment it replies to
/// (`reply`), the video's author (`comment`, unless told of the reply),
/// and, on a public video, the people it mentions (`mention`). Each
/// notification carries ids only; the text stays where the comment is.
async fn comment_notifications(
    app: &App,
    user: &AuthUser,
    v: &LoadedVideo,
    c: &CommentRecord,
    parent_author: Option<&str>,
) -> ApiResult<Vec<OutboxItem>> {
    use sovereel_model::InboxKind;
    let actor = crate::api::notifications::Actor {
        id: c.author_id.clone(),
        handle: c.author_handle.clone(),
    };
    let blocked = crate::api::notifications::blocked_by(user).await?;
    let video_author = v.record.author_id.as_str();
    let mut told: Vec<&str> = vec![];
    let mut out = vec![];
    let mut tell = |recipient: &str, kind: InboxKind| {
        if !blocked.contains(recipient) {
            out.extend(crate::api::notifications::notification(
                recipient,
                kind,
                &actor,
                Some(&c.video_id),
                Some(&c.id),
                c.created_at,
            ));
        }
    };
    if let Some(p) = parent_author {
        tell(p, InboxKind::Reply);
        told.push(p);
    }
    if !told.contains(&video_author) {
        tell(video_author, InboxKind::Comment);
        told.push(video_author);
    }
    if v.is_public() {
        let handles = text::parse_caption(&c.text)
            .map(|p| p.mentions)
            .unwrap_or_default();
        out.extend(
            crate::api::notifications::mentions(
                app,
                &actor,
                &blocked,
                &handles,
                &told,
                &c.video_id,
                Some(&c.id),
                c.created_at,
            )
            .await?,
        );
    }
    Ok(out)
}

#[derive(Serialize, ToSchema)]
pub struct ShareAnswer {
    /// A link to the video in the web app.
    pub link: String,
    pub counts: CountsView,
}

/// Share: answers a link and counts the share. A labelled video answers 409
/// `/problems/share-confirmation-required` until the request is repeated
/// with `{"confirm": true}` (the "share anyway?" prompt).
#[utoipa::path(post, path = "/v1/videos/{id}/shares", tag = "videos", params(crate::api::VideoIdPath),
    request_body(content = Option<crate::api::moderation::ShareBody>, description = "`{\"confirm\": true}` to share a labelled video anyway"),
    responses((status = 201, body = ShareAnswer), (status = 404, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody)))]
pub async fn share(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let v = access::load_ref(&app, &user, &id).await?;
    crate::api::moderation::share_gate(&app, &id, &body).await?;
    let share_id = sovereel_model::ShareId::generate(&user.home.id).to_string();
    // Every share gets its link; only a user's first share of a video counts.
    let first = !user.home.store.has_shared(user.id.as_str(), &id).await?;
    let counted = if first {
        vec![video_counts(&v, 0, 0, 1, 0)]
    } else {
        vec![]
    };
    user.home
        .store
        .record_share(
            &share_id,
            user.id.as_str(),
            &id,
            sovereel_model::now_millis(),
            &counted,
        )
        .await?;
    if first {
        crate::api::feeds::learn(&user, &id, sovereel_recs::EventKind::Share);
    }
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    let counts = fresh_counts(&app, &user, &id).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(ShareAnswer {
            link: format!("/v/{id}"),
            counts: counts.into(),
        }),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::reasons_in_words;

    fn s(name: &str, v: f32) -> (String, f32) {
        (name.to_string(), v)
    }

    #[test]
    fn at_most_three_reasons_in_words_strongest_first_and_none_against() {
        let signals = [
            s("hashtag affinity", 2.0),
            s("skip rate", -1.5),
            s("co-engagement", 1.0),
            s("trending", 0.5),
            s("freshness", 0.2),
        ];
        let r = reasons_in_words(&signals, Some("cooking"), Some("chef_maria"), "Australia");
        assert_eq!(
            r,
            [
                "You watched several #cooking videos",
                "People who enjoyed videos you enjoyed also enjoyed this one",
                "Popular in Australia right now",
            ]
        );
        for reason in &r {
            assert!(
                !reason.contains("probability") && !reason.contains('_'),
                "{reason}"
            );
        }
        // Nothing positive: no reasons (the caller falls back to a summary).
        assert!(
            reasons_in_words(&[s("skip rate", -1.0), s("bias", 0.0)], None, None, "us").is_empty()
        );
        // A promotion is said even though it is not a learned weight.
        let r = reasons_in_words(&[s("editorial promotion", 1.0)], None, None, "us");
        assert!(r[0].contains("editorial decision"));
    }
}
