//! Editing a posted video (or a draft): its caption, visibility and who may
//! comment, by its owner only.
//!
//! The order makes a failure at any step leave the video as it was:
//!
//! 1. Validate everything, as at upload (caption, visibility, policy).
//! 2. When the visibility crosses the public line, the media changes form:
//!    public media is stored as it is, non-public media sealed under the
//!    owner's data key. The new form is written beside the old one, under
//!    new object keys; the old objects still serve the video meanwhile.
//! 3. One transaction at home changes the row (only if it still holds what
//!    step 1 read: a concurrent edit makes this one a 409) and queues what
//!    follows for the catalog: the edit of a public video, its withdrawal
//!    from the catalog (and so from every region's feeds and search) when it
//!    leaves the public, its publication when it joins it, and a
//!    notification to each account newly mentioned.
//! 4. The old media objects are deleted. A crash before step 3 leaves
//!    unused objects, never a row pointing at media of the wrong form.

use std::sync::Arc;

use axum::extract::State;
use futures::TryStreamExt;
use serde::Deserialize;
use sovereel_model::{CommentPolicy, VideoState, Visibility, text};
use sovereel_store::{Change, OutboxItem, Target, VideoEdit, VideoRecord};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

use crate::api::drafts::{self, own_video, require_ready};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Kind};
use crate::plane::LocalPlane;
use crate::state::App;
use crate::views::VideoView;

/// What to change; fields left out stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoPatch {
    /// The new caption; its hashtags and mentions are derived again.
    pub caption: Option<String>,
    /// `public`, `followers` or `private`.
    pub visibility: Option<String>,
    /// Who may comment: `everyone`, `followers` or `nobody`.
    pub comments: Option<String>,
}

/// Edit my video's caption, visibility or who may comment. A public video
/// made private leaves the catalog, feeds and search of every region; a
/// private one made public joins them. Accounts the new caption mentions
/// for the first time are told once the video is public.
#[utoipa::path(patch, operation_id = "edit_video", path = "/v1/videos/{id}", tag = "videos", params(crate::api::VideoIdPath), request_body = VideoPatch,
    responses((status = 200, body = VideoView), (status = 404, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn edit(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<VideoPatch>,
) -> ApiResult<ApiJson<VideoView>> {
    // 1. Validate.
    if patch.caption.is_none() && patch.visibility.is_none() && patch.comments.is_none() {
        return Err(ApiError::new(
            Kind::InvalidField,
            "nothing to change: give caption, visibility or comments",
        ));
    }
    let new_caption = patch
        .caption
        .as_deref()
        .map(text::parse_caption)
        .transpose()?;
    let new_visibility = patch
        .visibility
        .as_deref()
        .map(Visibility::parse)
        .transpose()?;
    let new_comments = patch
        .comments
        .as_deref()
        .map(CommentPolicy::parse)
        .transpose()?;
    let was = own_video(&user, &id).await?;
    require_ready(&was)?;
    let mut opened = [was.clone()];
    drafts::open_drafts(&app, &user.home, user.id.as_str(), &mut opened).await?;
    let [before] = opened;
    let caption = match new_caption {
        Some(c) => c,
        None => text::parse_caption(&before.caption).unwrap_or_default(),
    };
    let mut after = before.clone();
    after.caption = caption.text;
    after.hashtags = caption.hashtags;
    after.mentions = caption.mentions;
    after.visibility = new_visibility.unwrap_or(before.visibility);
    after.comments_policy = new_comments.unwrap_or(before.comments_policy);

    // What follows for the catalog and the inbox, worked out before any
    // media moves, so nothing can fail between steps 2 and 3.
    let was_public = before.visibility == Visibility::Public;
    let now_public = after.visibility == Visibility::Public;
    let in_catalog_before = !before.draft && was_public;
    let in_catalog_after = !after.draft && now_public;
    let out = match (in_catalog_before, in_catalog_after) {
        (true, true) => {
            let mut out = vec![OutboxItem::new(
                Target::Catalog,
                Change::EditVideo {
                    id: id.clone(),
                    caption: after.caption.clone(),
                    hashtags: after.hashtags.clone(),
                    mentions: after.mentions.clone(),
                    comments_policy: after.comments_policy,
                },
            )];
            out.extend(newly_mentioned(&app, &user, &before, &after).await?);
            out
        }
        (true, false) => vec![OutboxItem::new(
            Target::Catalog,
            Change::WithdrawVideo {
                id: id.clone(),
                author_id: after.author_id.clone(),
            },
        )],
        (false, true) => drafts::publication(&app, &user.home, &after).await?,
        (false, false) => vec![],
    };
    let stored_caption = if after.draft {
        drafts::seal_caption(&app, &user, &after.caption).await?
    } else {
        after.caption.clone()
    };
    // 2. Media in the form the new visibility needs.
    let moved = if was_public != now_public {
        let moved = move_media(&app, &user, &before, !now_public).await?;
        after.media_key = moved.media_key.clone();
        after.poster_key = moved.poster_key.clone();
        Some(moved)
    } else {
        None
    };

    let edit = VideoEdit {
        caption: stored_caption,
        hashtags: if after.draft {
            vec![]
        } else {
            after.hashtags.clone()
        },
        mentions: if after.draft {
            vec![]
        } else {
            after.mentions.clone()
        },
        visibility: after.visibility,
        comments_policy: after.comments_policy,
        draft: after.draft,
        media_key: after.media_key.clone(),
        poster_key: after.poster_key.clone(),
        was_caption: was.caption.clone(),
        was_visibility: was.visibility,
        was_draft: was.draft,
    };
    // 3. The row and what follows, in one transaction.
    let applied = user.home.store.edit_video(&id, &edit, &out).await?;
    // 4. The media in the form no longer used (the new form's, if the edit
    // lost a race).
    if let Some(moved) = &moved {
        let unused: [&Option<String>; 2] = if applied {
            [&before.media_key, &before.poster_key]
        } else {
            [&moved.media_key, &moved.poster_key]
        };
        for key in unused.into_iter().flatten() {
            if let Err(e) = user.home.media.delete(key).await {
                tracing::warn!(error = %e, "deleting media replaced by an edit");
            }
        }
    }
    if !applied {
        return Err(ApiError::new(
            Kind::Conflict,
            "the video changed while it was being edited; try again",
        ));
    }
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    Ok(ApiJson(drafts::owner_view(&app, &after).await?))
}

/// Notifications for the accounts the new caption of a public video
/// mentions and the old one did not: each is told once, not at every edit.
async fn newly_mentioned(
    app: &App,
    user: &AuthUser,
    before: &VideoRecord,
    after: &VideoRecord,
) -> ApiResult<Vec<OutboxItem>> {
    let fresh: Vec<String> = after
        .mentions
        .iter()
        .filter(|m| !before.mentions.contains(m))
        .cloned()
        .collect();
    if fresh.is_empty() {
        return Ok(vec![]);
    }
    let actor = crate::api::notifications::Actor::of(app, user).await?;
    let blocked = crate::api::notifications::blocked_by(user).await?;
    crate::api::notifications::mentions(
        app,
        &actor,
        &blocked,
        &fresh,
        &[],
        &after.id,
        None,
        sovereel_model::now_millis(),
    )
    .await
}

struct Moved {
    media_key: Option<String>,
    poster_key: Option<String>,
}

/// A new object key beside `old` for the video's media in its new form:
/// `videos/<id>/<stamp>-video.mp4`, so the old object keeps serving until
/// the row points at the new one.
fn fresh_key(old: &str) -> String {
    let (dir, name) = old.rsplit_once('/').unwrap_or(("", old));
    let base = name.rsplit('-').next().unwrap_or(name);
    let stamp = format!("{:x}", sovereel_model::now_millis());
    if dir.is_empty() {
        format!("{stamp}-{base}")
    } else {
        format!("{dir}/{stamp}-{base}")
    }
}

/// Writes the video's media (stream and poster) in the other form: sealed
/// under the owner's data key when `seal`, as it is otherwise.
async fn move_media(app: &App, user: &AuthUser, v: &VideoRecord, seal: bool) -> ApiResult<Moved> {
    if v.state != VideoState::Ready {
        return Err(ApiError::new(Kind::Conflict, "the video is not ready"));
    }
    let key = Arc::new(
        crate::custody::own_key(
            &app.gateway,
            &user.home,
            &user.id,
            crate::custody::WriteProtected,
        )
        .await?,
    );
    let mut moved = Moved {
        media_key: None,
        poster_key: None,
    };
    let objects = [
        (&v.media_key, v.id.clone(), &mut moved.media_key),
        (
            &v.poster_key,
            format!("{}/poster", v.id),
            &mut moved.poster_key,
        ),
    ];
    for (old, sealed_as, new) in objects {
        let Some(old) = old else { continue };
        let target = fresh_key(old);
        copy_object(app, &user.home, &key, old, &target, &sealed_as, seal).await?;
        *new = Some(target);
    }
    Ok(moved)
}

/// Copies one media object into its other form through a temporary file.
async fn copy_object(
    app: &App,
    plane: &LocalPlane,
    key: &Arc<sovereel_custody::UserKey>,
    from: &str,
    to: &str,
    sealed_as: &str,
    seal: bool,
) -> ApiResult<()> {
    let tmp = tempfile::Builder::new()
        .prefix("reseal-")
        .tempdir_in(&app.tmp_dir)
        .map_err(ApiError::internal)?;
    let plain = tmp.path().join("plain");
    let playback = if seal {
        sovereel_media::open_playback(&plane.media, from, None).await
    } else {
        let reader =
            sovereel_custody::DecryptingReader::new(plane.media.clone(), key.clone(), sealed_as);
        sovereel_media::open_playback(&reader, from, None).await
    }
    .map_err(ApiError::internal)?;
    let mut file = tokio::fs::File::create(&plain)
        .await
        .map_err(ApiError::internal)?;
    let mut body = playback.body;
    while let Some(chunk) = body.try_next().await.map_err(ApiError::internal)? {
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.sync_all().await.map_err(ApiError::internal)?;
    drop(file);
    if seal {
        key.store_encrypted_media(&plane.media, to, sealed_as, &plain)
            .await
            .map_err(ApiError::internal)?;
    } else {
        plane
            .media
            .put_file(to, &plain)
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}
