//! Drafts: uploads their owner saved without publishing (`meta.draft`).
//!
//! A draft is protected data. It stays at its owner's home, in no list but
//! the owner's own (`GET /v1/me/drafts`), never in the catalog, feeds,
//! search or the profile. Its caption is sealed under the owner's data key
//! (field `videos.caption`), and the hashtags and mentions derived from it
//! are not stored until publication, so a crypto-shred leaves nothing of
//! it readable. Publishing opens the caption, derives its hashtags and
//! mentions again, and goes to the catalog exactly as a public upload does
//! when it becomes ready: the account's standing comes with it, and those
//! it mentions are told.

use std::sync::Arc;

use axum::extract::State;
use sovereel_model::moderation::TargetKind;
use sovereel_model::{VideoState, Visibility, text};
use sovereel_store::{Change, Counts, Cursor, OutboxItem, Target, VideoEdit, VideoRecord};

use crate::api::social::{PageQuery, VideoList, page_limit, parse_cursor};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Kind};
use crate::plane::LocalPlane;
use crate::state::App;
use crate::views::{VideoView, author_view};

/// The field a draft's caption is sealed as.
pub const CAPTION_FIELD: &str = "videos.caption";

/// Seals a draft's caption under its owner's data key.
pub async fn seal_caption(app: &App, user: &AuthUser, caption: &str) -> ApiResult<String> {
    let key = crate::custody::own_key(
        &app.gateway,
        &user.home,
        &user.id,
        crate::custody::WriteProtected,
    )
    .await?;
    Ok(key.encrypt_field(CAPTION_FIELD, caption))
}

/// What an upload stores: a draft keeps only its sealed caption, and
/// nothing derived from it, until it is published.
pub fn stored_form(record: &VideoRecord, sealed_caption: Option<String>) -> VideoRecord {
    let mut stored = record.clone();
    if let Some(sealed) = sealed_caption {
        stored.caption = sealed;
        stored.hashtags.clear();
        stored.mentions.clear();
        stored.draft = true;
    }
    stored
}

/// Opens the captions of drafts for their owner (homed at `plane`), with
/// the hashtags and mentions they hold, for the owner's eyes.
pub async fn open_drafts(
    app: &App,
    plane: &LocalPlane,
    owner: &str,
    drafts: &mut [VideoRecord],
) -> ApiResult<()> {
    if drafts.iter().all(|d| !d.draft) {
        return Ok(());
    }
    let owner = sovereel_model::UserId::parse(owner).map_err(ApiError::internal)?;
    let key =
        crate::custody::own_key(&app.gateway, plane, &owner, crate::custody::ReadProtected).await?;
    for d in drafts.iter_mut().filter(|d| d.draft) {
        let plain = key
            .decrypt_field(CAPTION_FIELD, &d.caption)
            .map_err(ApiError::internal)?;
        let parsed = text::parse_caption(&plain).unwrap_or_default();
        d.caption = plain.to_string();
        d.hashtags = parsed.hashtags;
        d.mentions = parsed.mentions;
    }
    Ok(())
}

/// What publishing a ready public video sends to the catalog: the video,
/// the standing of its account and of the video itself (labels and ranking
/// markers), and a notification to each account the caption mentions.
pub async fn publication(
    app: &App,
    plane: &LocalPlane,
    v: &VideoRecord,
) -> ApiResult<Vec<OutboxItem>> {
    let mut out = vec![OutboxItem::new(Target::Catalog, Change::publish(v))];
    let account = crate::moderation::account_standing(plane, &v.author_id).await?;
    let own =
        crate::moderation::Standing::of(&plane.store.decisions_on(TargetKind::Video, &v.id).await?);
    let labels = own.catalog_labels(&account);
    if !labels.is_empty() {
        out.push(OutboxItem::new(
            Target::Catalog,
            Change::SetLabels {
                video_id: v.id.clone(),
                labels,
                note: own.note.clone(),
            },
        ));
    }
    out.extend(
        crate::api::notifications::caption_mentions(app, plane, v)
            .await
            .map_err(ApiError::internal)?,
    );
    Ok(out)
}

/// The owner's own video at their home, or not found (someone else's
/// video is not theirs to change, and its existence is not revealed).
pub async fn own_video(user: &AuthUser, id: &str) -> ApiResult<VideoRecord> {
    if crate::access::home_of(id) != user.home.id.as_str() {
        return Err(ApiError::not_found("video"));
    }
    match user.home.store.video(id).await? {
        Some(v) if v.author_id == user.id.as_str() => Ok(v),
        _ => Err(ApiError::not_found("video")),
    }
}

/// An owner's change needs the video ready: processing decides where its
/// media goes (sealed or not) and what reaches the catalog.
pub fn require_ready(v: &VideoRecord) -> ApiResult<()> {
    match v.state {
        VideoState::Ready => Ok(()),
        VideoState::Processing => Err(ApiError::new(
            Kind::Conflict,
            "the video is still processing; try again when it is ready",
        )),
        _ => Err(ApiError::new(
            Kind::Conflict,
            "the video is not playable (processing failed or it was removed), so it cannot be changed",
        )),
    }
}

/// The owner's view of one of their videos.
pub async fn owner_view(app: &App, v: &VideoRecord) -> ApiResult<VideoView> {
    let author = app.catalog.profile(&v.author_id).await?;
    let counts = match app.catalog.video(&v.id).await? {
        Some(c) => c.counts,
        None => v.counts,
    };
    Ok(VideoView::from_record(
        v,
        author_view(author.as_ref(), &v.author_id),
        counts,
        vec![],
        false,
    ))
}

/// My drafts, newest first (any state: one still processing is listed too).
#[utoipa::path(get, operation_id = "my_drafts", path = "/v1/me/drafts", tag = "videos", params(PageQuery),
    responses((status = 200, body = VideoList), (status = 401, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<VideoList>> {
    let limit = page_limit(q.limit, 20)?;
    let cursor = parse_cursor(q.cursor.as_deref())?;
    let mut drafts = user
        .home
        .store
        .drafts(user.id.as_str(), cursor.as_ref(), limit)
        .await?;
    open_drafts(&app, &user.home, user.id.as_str(), &mut drafts).await?;
    let next_cursor = (drafts.len() as i64 == limit)
        .then(|| {
            drafts.last().map(|d| {
                Cursor {
                    key: d.created_at as f64,
                    id: d.id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    let author = app.catalog.profile(user.id.as_str()).await?;
    let items = drafts
        .iter()
        .map(|d| {
            VideoView::from_record(
                d,
                author_view(author.as_ref(), &d.author_id),
                Counts::default(),
                vec![],
                false,
            )
        })
        .collect();
    Ok(ApiJson(VideoList { items, next_cursor }))
}

/// Publish one of my drafts: it becomes an ordinary video with the
/// visibility it was saved with (a public one joins the catalog, feeds and
/// search). A draft still processing answers 409 until it is ready.
#[utoipa::path(post, operation_id = "publish_draft", path = "/v1/videos/{id}/publish", tag = "videos", params(crate::api::VideoIdPath),
    responses((status = 200, body = VideoView), (status = 404, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody)))]
pub async fn publish(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<VideoView>> {
    let was = own_video(&user, &id).await?;
    if !was.draft {
        return Err(ApiError::new(
            Kind::Conflict,
            "the video is published already",
        ));
    }
    require_ready(&was)?;
    let mut opened = [was.clone()];
    open_drafts(&app, &user.home, user.id.as_str(), &mut opened).await?;
    let [mut published] = opened;
    // Validated again, as at upload: the rules may have changed meanwhile.
    let caption = text::parse_caption(&published.caption)?;
    published.caption = caption.text;
    published.hashtags = caption.hashtags;
    published.mentions = caption.mentions;
    published.draft = false;
    let out = if published.visibility == Visibility::Public {
        publication(&app, &user.home, &published).await?
    } else {
        vec![]
    };
    let edit = VideoEdit {
        caption: published.caption.clone(),
        hashtags: published.hashtags.clone(),
        mentions: published.mentions.clone(),
        visibility: published.visibility,
        comments_policy: published.comments_policy,
        draft: false,
        media_key: published.media_key.clone(),
        poster_key: published.poster_key.clone(),
        was_caption: was.caption.clone(),
        was_visibility: was.visibility,
        was_draft: true,
    };
    if !user.home.store.edit_video(&id, &edit, &out).await? {
        return Err(ApiError::new(
            Kind::Conflict,
            "the draft changed while it was being published; try again",
        ));
    }
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    Ok(ApiJson(owner_view(&app, &published).await?))
}
