//! Profiles, follows and blocks. A follow is stored at the follower's
//! home only; other regions ask that home when they need to know (who may
//! see followers-only videos, who blocked whom). Counters go to the catalog.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sovereel_model::Handle;
use sovereel_store::{Change, Cursor, FollowState, OutboxItem, Target};
use utoipa::ToSchema;

use crate::access;
use crate::auth::{AuthUser, Viewer};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Kind};
use crate::plane::{FollowDecision, RegionPlane};
use crate::state::App;
use crate::views::{UserView, VideoView, author_view};

/// `(user id, home plane)` of a handle, or not found.
pub async fn resolve_user(app: &App, handle: &str) -> ApiResult<(String, Arc<dyn RegionPlane>)> {
    let h = Handle::parse(handle).map_err(|_| ApiError::not_found("user"))?;
    let (id, region) = app
        .catalog
        .resolve_handle(h.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let home = app
        .plane(&region)
        .ok_or_else(|| ApiError::not_found("user"))?
        .clone();
    Ok((id, home))
}

/// The same for a user homed in a region served here (staff act only
/// inside their own region); a user homed elsewhere is not found.
pub async fn resolve_local_user(
    app: &App,
    handle: &str,
) -> ApiResult<(String, Arc<crate::plane::LocalPlane>)> {
    let (id, home) = resolve_user(app, handle).await?;
    let local = app
        .local(home.id().as_str())
        .ok_or_else(|| ApiError::not_found("user"))?
        .clone();
    Ok((id, local))
}

/// The counter changes of a follow edge whose approval changes by `delta`.
/// The edge itself stays at the follower's home only.
pub fn follow_changes(follower: &str, followee: &str, delta: i64) -> Vec<OutboxItem> {
    if delta == 0 {
        return vec![];
    }
    vec![
        OutboxItem::new(
            Target::Catalog,
            Change::ProfileCounts {
                user_id: followee.into(),
                followers: delta,
                following: 0,
                likes: 0,
            },
        ),
        OutboxItem::new(
            Target::Catalog,
            Change::ProfileCounts {
                user_id: follower.into(),
                followers: 0,
                following: delta,
                likes: 0,
            },
        ),
    ]
}

/// A profile.
#[utoipa::path(get, path = "/v1/users/{handle}", tag = "social", params(crate::api::HandlePath), responses((status = 200, body = UserView), (status = 404, body = crate::error::ProblemBody)))]
pub async fn profile(
    State(app): State<Arc<App>>,
    Viewer(viewer): Viewer,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<ApiJson<UserView>> {
    let (id, _) = resolve_user(&app, &handle).await?;
    let p = app
        .catalog
        .profile(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let is_self = viewer.as_ref().is_some_and(|v| v.id.as_str() == id);
    if (p.hidden && !is_self) || access::blocked(&app, viewer.as_ref(), &id).await? {
        return Err(ApiError::not_found("user"));
    }
    let state = match &viewer {
        Some(v) if !is_self => v.home.store.follow_state(v.id.as_str(), &id).await?,
        _ => None,
    };
    Ok(ApiJson(UserView::from_profile(&p, state)))
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub cursor: Option<String>,
    /// How many items, 1 to 100.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct VideoList {
    pub items: Vec<VideoView>,
    pub next_cursor: Option<String>,
}

pub fn page_limit(q: Option<i64>, default: i64) -> ApiResult<i64> {
    match q {
        None => Ok(default),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::new(
            Kind::InvalidField,
            "limit: must be between 1 and 100",
        )),
    }
}

pub fn parse_cursor(c: Option<&str>) -> ApiResult<Option<Cursor>> {
    c.map(|s| {
        Cursor::decode(s).ok_or_else(|| {
            ApiError::new(
                Kind::InvalidField,
                "cursor: not a cursor this server issued",
            )
        })
    })
    .transpose()
}

/// A user's videos the viewer may see, newest first.
#[utoipa::path(get, path = "/v1/users/{handle}/videos", tag = "social", params(crate::api::HandlePath, PageQuery), responses((status = 200, body = VideoList), (status = 404, body = crate::error::ProblemBody)))]
pub async fn user_videos(
    State(app): State<Arc<App>>,
    Viewer(viewer): Viewer,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<VideoList>> {
    let limit = page_limit(q.limit, 24)?;
    let cursor = parse_cursor(q.cursor.as_deref())?;
    let (id, home) = resolve_user(&app, &handle).await?;
    let p = app
        .catalog
        .profile(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let is_self = viewer.as_ref().is_some_and(|v| v.id.as_str() == id);
    if (p.hidden && !is_self) || access::blocked(&app, viewer.as_ref(), &id).await? {
        return Err(ApiError::not_found("user"));
    }
    let follower = match &viewer {
        Some(v) if !is_self => access::approved_follower(&app, v.id.as_str(), &id).await?,
        _ => false,
    };
    use sovereel_model::Visibility::{Followers, Private, Public};
    let visibilities: &[sovereel_model::Visibility] = if is_self {
        &[Public, Followers, Private]
    } else if follower {
        &[Public, Followers]
    } else if p.private {
        // A private account shows its videos to approved followers only.
        &[]
    } else {
        &[Public]
    };
    let records = if visibilities.is_empty() {
        vec![]
    } else {
        home.author_videos(
            std::slice::from_ref(&id),
            visibilities,
            viewer.as_ref().map(|v| v.id.as_str()),
            cursor.as_ref().map(Cursor::encode).as_deref(),
            limit,
        )
        .await?
    };
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let public: std::collections::HashMap<String, sovereel_store::CatalogVideo> = app
        .catalog
        .videos(&ids)
        .await?
        .into_iter()
        .map(|v| (v.id.clone(), v))
        .collect();
    let liked: std::collections::HashSet<String> = match &viewer {
        Some(v) => v
            .home
            .store
            .liked_among(v.id.as_str(), &ids)
            .await?
            .into_iter()
            .collect(),
        None => Default::default(),
    };
    let next_cursor = (records.len() as i64 == limit)
        .then(|| {
            records.last().map(|r| {
                Cursor {
                    key: r.created_at as f64,
                    id: r.id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    let items = records
        .iter()
        .map(|r| {
            let pc = public.get(&r.id);
            VideoView::from_record(
                r,
                author_view(Some(&p), &id),
                pc.map(|c| c.counts).unwrap_or(r.counts),
                pc.map(|c| crate::moderation::viewer_labels(&c.labels, c.label_note.as_deref()))
                    .unwrap_or_default(),
                liked.contains(&r.id),
            )
        })
        .collect();
    Ok(ApiJson(VideoList { items, next_cursor }))
}

/// The videos I liked, most recent like first (the "Liked" tab of my
/// profile). Likes are mine and kept at my home, so only I see this list.
/// It shows the liked videos that are public now; a like of a video that
/// was since deleted, removed or made non-public stays stored, unlisted.
#[utoipa::path(get, path = "/v1/me/likes", tag = "social", params(PageQuery), responses((status = 200, body = VideoList), (status = 401, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn my_likes(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<VideoList>> {
    let limit = page_limit(q.limit, 24)?;
    let cursor = parse_cursor(q.cursor.as_deref())?;
    let likes = user
        .home
        .store
        .liked_videos(user.id.as_str(), cursor.as_ref(), limit)
        .await?;
    let ids: Vec<String> = likes.iter().map(|(id, _)| id.clone()).collect();
    let mut public: std::collections::HashMap<String, sovereel_store::CatalogVideo> = app
        .catalog
        .videos(&ids)
        .await?
        .into_iter()
        .map(|v| (v.id.clone(), v))
        .collect();
    let in_order: Vec<sovereel_store::CatalogVideo> =
        ids.iter().filter_map(|id| public.remove(id)).collect();
    let items = access::catalog_views(&app, Some(&user), &in_order).await?;
    let next_cursor = (likes.len() as i64 == limit)
        .then(|| {
            likes.last().map(|(id, at)| {
                Cursor {
                    key: *at as f64,
                    id: id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    Ok(ApiJson(VideoList { items, next_cursor }))
}

#[derive(Serialize, ToSchema)]
pub struct FollowAnswer {
    /// `approved`, or `pending` for a request to a private account.
    pub state: String,
}

/// Follow. A private account gets a request it must approve.
#[utoipa::path(put, path = "/v1/users/{handle}/follow", tag = "social", params(crate::api::HandlePath), responses((status = 200, body = FollowAnswer), (status = 404, body = crate::error::ProblemBody)))]
pub async fn follow(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<ApiJson<FollowAnswer>> {
    let (target, _) = resolve_user(&app, &handle).await?;
    if target == user.id.as_str() {
        return Err(ApiError::new(
            Kind::InvalidField,
            "you cannot follow yourself",
        ));
    }
    let p = app
        .catalog
        .profile(&target)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if p.hidden {
        return Err(ApiError::not_found("user"));
    }
    if access::blocked(&app, Some(&user), &target).await? {
        return Err(ApiError::new(
            Kind::Blocked,
            "you cannot follow this account",
        ));
    }
    let current = user
        .home
        .store
        .follow_state(user.id.as_str(), &target)
        .await?;
    let state = match current {
        Some(FollowState::Approved) => FollowState::Approved,
        _ if p.private => FollowState::Pending,
        _ => FollowState::Approved,
    };
    let delta = i64::from(state == FollowState::Approved && current != Some(FollowState::Approved));
    let now = sovereel_model::now_millis();
    let mut out = follow_changes(user.id.as_str(), &target, delta);
    // Enqueued only when the edge changes, so following again tells no one.
    let kind = match state {
        FollowState::Approved => sovereel_model::InboxKind::Follow,
        FollowState::Pending => sovereel_model::InboxKind::FollowRequest,
    };
    let actor = crate::api::notifications::Actor {
        id: user.id.to_string(),
        handle: app
            .catalog
            .profile(user.id.as_str())
            .await?
            .map(|p| p.handle)
            .unwrap_or_default(),
    };
    out.extend(crate::api::notifications::notification(
        &target, kind, &actor, None, None, now,
    ));
    user.home
        .store
        .follow(user.id.as_str(), &target, state, now, &out)
        .await?;
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    Ok(ApiJson(FollowAnswer {
        state: state.as_str().into(),
    }))
}

/// Unfollow (or withdraw a request). Idempotent.
#[utoipa::path(delete, path = "/v1/users/{handle}/follow", tag = "social", params(crate::api::HandlePath), responses((status = 204), (status = 404, body = crate::error::ProblemBody)))]
pub async fn unfollow(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let (target, _) = resolve_user(&app, &handle).await?;
    let had = user
        .home
        .store
        .follow_state(user.id.as_str(), &target)
        .await?
        .is_some();
    unfollow_edge(&app, user.home.as_ref(), user.id.as_str(), &target).await?;
    if had {
        use sovereel_model::InboxKind::{Follow, FollowRequest};
        let me = user.id.as_str();
        crate::api::notifications::send(
            &app,
            &user.home,
            &[
                crate::api::notifications::retraction(&target, Follow, me, None),
                crate::api::notifications::retraction(&target, FollowRequest, me, None),
            ],
        )
        .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unfollow_edge(
    app: &App,
    follower_home: &dyn RegionPlane,
    follower: &str,
    target: &str,
) -> ApiResult<()> {
    if follower_home
        .settle_follow(follower, target, FollowDecision::Drop)
        .await?
    {
        app.relay_region(follower_home.id().as_str())
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// Block: hides each from the other and removes follows both ways.
#[utoipa::path(put, path = "/v1/users/{handle}/block", tag = "social", params(crate::api::HandlePath), responses((status = 204), (status = 404, body = crate::error::ProblemBody)))]
pub async fn block(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let (target, target_home) = resolve_user(&app, &handle).await?;
    if target == user.id.as_str() {
        return Err(ApiError::new(
            Kind::InvalidField,
            "you cannot block yourself",
        ));
    }
    user.home
        .store
        .block(user.id.as_str(), &target, sovereel_model::now_millis(), &[])
        .await?;
    unfollow_edge(&app, user.home.as_ref(), user.id.as_str(), &target).await?;
    unfollow_edge(&app, target_home.as_ref(), &target, user.id.as_str()).await?;
    crate::api::notifications::send(
        &app,
        &user.home,
        &crate::api::notifications::forget_each_other(user.id.as_str(), &target),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblock. Idempotent.
#[utoipa::path(delete, path = "/v1/users/{handle}/block", tag = "social", params(crate::api::HandlePath), responses((status = 204), (status = 404, body = crate::error::ProblemBody)))]
pub async fn unblock(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let (target, _) = resolve_user(&app, &handle).await?;
    user.home
        .store
        .unblock(user.id.as_str(), &target, &[])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
