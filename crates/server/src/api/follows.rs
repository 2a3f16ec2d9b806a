//! Follower and following lists.
//!
//! A follow edge is kept at the follower's home, so whom someone follows is
//! one region's answer (their home), and who follows them is every
//! region's: one batched call per region, merged by the time of the follow.
//! Only ids cross the seam; what the list shows of each account comes from
//! the public catalog. A private account's lists are for the account and
//! its approved followers; whom someone follows leaves out the private
//! accounts among them for anyone else (a follow of a private account is
//! protected); blocked accounts, either way, appear in no list.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use sovereel_store::{Cursor, ProfileRecord};
use utoipa::ToSchema;

use crate::access;
use crate::api::social::{PageQuery, page_limit, parse_cursor, resolve_user};
use crate::auth::Viewer;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Kind};
use crate::plane::{FollowList, PlaneError};
use crate::state::App;
use crate::views::UserView;

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    pub next_cursor: Option<String>,
}

/// Who follows an account, most recent first.
#[utoipa::path(get, operation_id = "user_followers", path = "/v1/users/{handle}/followers", tag = "social", params(crate::api::HandlePath, PageQuery),
    responses((status = 200, body = UserList), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn followers(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<UserList>> {
    list(&app, viewer, &handle, FollowList::Followers, q).await
}

/// Whom an account follows, most recent first.
#[utoipa::path(get, operation_id = "user_following", path = "/v1/users/{handle}/following", tag = "social", params(crate::api::HandlePath, PageQuery),
    responses((status = 200, body = UserList), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn following(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<UserList>> {
    list(&app, viewer, &handle, FollowList::Following, q).await
}

async fn list(
    app: &App,
    Viewer(viewer): Viewer,
    handle: &str,
    which: FollowList,
    q: PageQuery,
) -> ApiResult<ApiJson<UserList>> {
    let limit = page_limit(q.limit, 20)?;
    let cursor = parse_cursor(q.cursor.as_deref())?;
    let (id, home) = resolve_user(app, handle).await?;
    let profile = app
        .catalog
        .profile(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let viewer_id = viewer.as_ref().map(|v| v.id.as_str());
    let is_self = viewer_id == Some(id.as_str());
    if (profile.hidden && !is_self) || access::blocked(app, viewer.as_ref(), &id).await? {
        return Err(ApiError::not_found("user"));
    }
    if profile.private && !is_self {
        let approved = match viewer_id {
            Some(v) => access::approved_follower(app, v, &id).await?,
            None => false,
        };
        if !approved {
            return Err(ApiError::new(
                Kind::Forbidden,
                "this account is private: only it and its approved followers see its followers and whom it follows",
            ));
        }
    }
    let cursor = cursor.as_ref().map(Cursor::encode);
    let mut edges: Vec<(String, i64)> = match which {
        FollowList::Following => {
            home.follow_list(&id, which, viewer_id, cursor.as_deref(), limit)
                .await?
        }
        FollowList::Followers => {
            let asks = app
                .planes()
                .map(|plane| plane.follow_list(&id, which, viewer_id, cursor.as_deref(), limit));
            let mut all = vec![];
            for answer in futures::future::join_all(asks).await {
                match answer {
                    Ok(list) => all.extend(list),
                    // A region that does not answer leaves its users out of
                    // this page; the rest of the list still works.
                    Err(PlaneError::Unavailable { region }) => {
                        tracing::warn!(%region, "followers skipped: region unavailable");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            all
        }
    };
    edges.sort_by(|a, b| (b.1, &b.0).cmp(&(a.1, &a.0)));
    edges.truncate(limit as usize);
    let next_cursor = (edges.len() as i64 == limit)
        .then(|| {
            edges.last().map(|(who, at)| {
                Cursor {
                    key: *at as f64,
                    id: who.clone(),
                }
                .encode()
            })
        })
        .flatten();
    let ids: Vec<String> = edges.iter().map(|(who, _)| who.clone()).collect();
    let profiles: HashMap<String, ProfileRecord> = app
        .catalog
        .profiles(&ids)
        .await?
        .into_iter()
        .map(|p| (p.user_id.clone(), p))
        .collect();
    let blocks = match &viewer {
        Some(v) => Some(access::block_set(app, v).await?),
        None => None,
    };
    let items = edges
        .iter()
        .filter_map(|(who, _)| profiles.get(who))
        .filter(|p| !p.hidden)
        // Whom someone follows: a follow of a private account is theirs.
        .filter(|p| which == FollowList::Followers || is_self || !p.private)
        .filter(|p| !blocks.as_ref().is_some_and(|b| b.hides(&p.user_id)))
        .map(|p| UserView::from_profile(p, None))
        .collect();
    Ok(ApiJson(UserList { items, next_cursor }))
}
