//! A region's plane service: what other regions (and, for the directory
//! only, the edges) may ask of it, at `/plane/v1/…`.
//!
//! Every call names the peer that made it (the TLS layer pins its
//! certificate to a role), and the region decides, with its own rules,
//! what may leave: a caller region may ask only about its own users
//! (a viewer, a follower, a blocker homed there), and a record leaves only
//! when the viewer may see it, decided here with this region's access
//! rules, gateway and ledger. A refused call is a `403` with nothing else,
//! and an `access` entry with decision `deny` on this region's ledger.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use sovereel_ledger::entry::{
    Access, DataClass as LedgerClass, Decision, Principal as LedgerPrincipal,
};
use sovereel_ledger::{Entry, EntryBody};
use sovereel_store::{CaseReport, Change};

use super::{FollowDecision, FollowList, MediaKind, RegionPlane};
use crate::cluster::Peer;
use crate::error::{ApiError, Kind};
use crate::state::App;

/// One call of the plane protocol.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Call {
    FollowState {
        follower: String,
        followee: String,
    },
    HasBlocked {
        blocker: String,
        target: String,
    },
    BlockersOf {
        user: String,
    },
    FollowList {
        user: String,
        list: FollowList,
        viewer: Option<String>,
        cursor: Option<String>,
        limit: i64,
    },
    PendingRequests {
        followee: String,
        limit: i64,
    },
    SettleFollow {
        follower: String,
        followee: String,
        decision: FollowDecision,
    },
    Video {
        id: String,
        viewer: Option<String>,
    },
    AuthorVideos {
        authors: Vec<String>,
        visibilities: Vec<sovereel_model::Visibility>,
        viewer: Option<String>,
        cursor: Option<String>,
        limit: i64,
    },
    Comments {
        video: String,
        parent: Option<String>,
        cursor: Option<String>,
        limit: i64,
        viewer: Option<String>,
    },
    Comment {
        id: String,
        viewer: Option<String>,
    },
    FileReport {
        report: CaseReport,
    },
    ApplyChanges {
        origin: String,
        changes: Vec<(i64, Change)>,
    },
}

impl Call {
    fn name(&self) -> &'static str {
        match self {
            Call::FollowState { .. } => "follow_state",
            Call::HasBlocked { .. } => "has_blocked",
            Call::BlockersOf { .. } => "blockers_of",
            Call::FollowList { .. } => "follow_list",
            Call::PendingRequests { .. } => "pending_requests",
            Call::SettleFollow { .. } => "settle_follow",
            Call::Video { .. } => "video",
            Call::AuthorVideos { .. } => "author_videos",
            Call::Comments { .. } => "comments",
            Call::Comment { .. } => "comment",
            Call::FileReport { .. } => "file_report",
            Call::ApplyChanges { .. } => "apply_changes",
        }
    }

    /// The ids whose home must be the calling region, and those that must
    /// be homed here.
    fn homes(&self) -> (Vec<&str>, Vec<&str>) {
        fn v(o: &Option<String>) -> Vec<&str> {
            o.as_deref().into_iter().collect()
        }
        match self {
            Call::FollowState { follower, followee } => (vec![followee], vec![follower]),
            Call::HasBlocked { blocker, target } => (vec![target], vec![blocker]),
            Call::BlockersOf { user } => (vec![user], vec![]),
            Call::FollowList {
                user, list, viewer, ..
            } => match list {
                FollowList::Followers => (v(viewer), vec![]),
                FollowList::Following => (v(viewer), vec![user]),
            },
            Call::PendingRequests { followee, .. } => (vec![followee], vec![]),
            Call::SettleFollow {
                follower, followee, ..
            } => (vec![followee], vec![follower]),
            Call::Video { id, viewer } => (v(viewer), vec![id]),
            Call::AuthorVideos {
                authors, viewer, ..
            } => (v(viewer), authors.iter().map(String::as_str).collect()),
            Call::Comments { viewer, .. } => (v(viewer), vec![]),
            Call::Comment { id, .. } => (vec![], vec![id]),
            Call::FileReport { report } => (vec![], vec![&report.target_id]),
            // A region id is homed in itself.
            Call::ApplyChanges { origin, .. } => (vec![origin], vec![]),
        }
    }
}

fn home_of(id: &str) -> &str {
    id.split('_').next().unwrap_or_default()
}

/// The routes of the plane service.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/plane/v1/call", post(call))
        .route("/plane/v1/media/{video}/{kind}", get(media))
        .route("/plane/v1/directory/{handle}", get(directory))
}

/// Records a refused service call on this region's ledger.
async fn refuse(app: &App, region: &str, peer: Option<&Peer>, op: &str, why: &str) -> Response {
    if let Some(plane) = app.local(region) {
        let entry = Entry::now(EntryBody::Access(Access {
            principal: LedgerPrincipal::System {
                component: format!(
                    "service:{}",
                    peer.map(|p| p.0.as_str()).unwrap_or("unknown")
                ),
            },
            action: format!("plane:{op}"),
            resource_class: LedgerClass::Protected,
            subject: None,
            purpose: Some(why.to_string()),
            case_id: None,
            decision: Decision::Deny,
            policy_id: None,
        }));
        if let Err(e) = plane.ledger.log.append_entry(&entry).await {
            tracing::error!(error = %e, "recording a refused service call failed");
        }
    }
    tracing::warn!(peer = ?peer, op, why, "refused a plane call");
    ApiError::new(Kind::Forbidden, "this service may not make this call").into_response()
}

/// The one region this process serves (a plane service serves one).
fn served(app: &App) -> Option<String> {
    let mut it = app.locals();
    let first = it.next()?;
    it.next().is_none().then(|| first.id.to_string())
}

async fn call(
    State(app): State<Arc<App>>,
    peer: Option<Extension<Peer>>,
    body: axum::body::Bytes,
) -> Response {
    let peer = peer.map(|Extension(p)| p);
    let Some(here) = served(&app) else {
        return ApiError::new(Kind::NotFound, "no plane service here").into_response();
    };
    let call: Call = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return ApiError::new(Kind::MalformedJson, format!("plane call: {e}")).into_response();
        }
    };
    let op = call.name();
    let Some(caller) = peer.as_ref().and_then(|p| p.region()).map(str::to_string) else {
        return refuse(
            &app,
            &here,
            peer.as_ref(),
            op,
            "only region services make plane calls",
        )
        .await;
    };
    let (theirs, ours) = call.homes();
    if theirs.iter().any(|id| home_of(id) != caller) || ours.iter().any(|id| home_of(id) != here) {
        return refuse(
            &app,
            &here,
            peer.as_ref(),
            op,
            "the call names users or content that are not the caller's or this region's",
        )
        .await;
    }
    match answer(&app, &here, &caller, call).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn answer(
    app: &App,
    here: &str,
    caller: &str,
    call: Call,
) -> Result<serde_json::Value, ApiError> {
    let plane = app.local(here).expect("served region").clone();
    let j = |v: serde_json::Result<serde_json::Value>| v.map_err(ApiError::internal);
    match call {
        Call::FollowState { follower, followee } => j(serde_json::to_value(
            plane.follow_state(&follower, &followee).await?,
        )),
        Call::HasBlocked { blocker, target } => j(serde_json::to_value(
            plane.has_blocked(&blocker, &target).await?,
        )),
        Call::BlockersOf { user } => j(serde_json::to_value(plane.blockers_of(&user).await?)),
        Call::FollowList {
            user,
            list,
            viewer,
            cursor,
            limit,
        } => j(serde_json::to_value(
            follow_list(
                app,
                &plane,
                &user,
                list,
                viewer.as_deref(),
                cursor.as_deref(),
                limit,
            )
            .await?,
        )),
        Call::PendingRequests { followee, limit } => j(serde_json::to_value(
            plane
                .pending_requests(&followee, limit.clamp(1, 500))
                .await?,
        )),
        Call::SettleFollow {
            follower,
            followee,
            decision,
        } => {
            let done = plane.settle_follow(&follower, &followee, decision).await?;
            app.relay(&plane).await.map_err(ApiError::internal)?;
            j(serde_json::to_value(done))
        }
        Call::Video { id, viewer } => {
            // Visibility is decided here, by this region's rules.
            let v = match crate::access::load_video_at_home(app, viewer.as_deref(), &id).await {
                Ok(v) => Some(v.record),
                Err(e) if e.kind == Kind::NotFound => None,
                Err(e) => return Err(e),
            };
            j(serde_json::to_value(v))
        }
        Call::AuthorVideos {
            authors,
            visibilities,
            viewer,
            cursor,
            limit,
        } => {
            // Public videos to anyone; followers-only ones for a viewer of
            // the caller's, whose home keeps the follow edges and is their
            // authority; private ones never leave.
            use sovereel_model::Visibility;
            let allowed = visibilities.iter().all(|v| match v {
                Visibility::Public => true,
                Visibility::Followers => viewer.is_some(),
                Visibility::Private => false,
            });
            if !allowed {
                return Err(ApiError::new(
                    Kind::Forbidden,
                    "these videos do not leave their region",
                ));
            }
            let list = plane
                .author_videos(
                    &authors,
                    &visibilities,
                    None,
                    cursor.as_deref(),
                    limit.clamp(1, 100),
                )
                .await?;
            j(serde_json::to_value(list))
        }
        Call::Comments {
            video,
            parent,
            cursor,
            limit,
            viewer,
        } => {
            let limit = limit.clamp(1, 100);
            let list = if home_of(&video) == here {
                // Our video: we decide who sees it, then gather its
                // comments from every region (each at its author's home).
                crate::access::load_video_at_home(app, viewer.as_deref(), &video).await?;
                crate::api::videos::gather_comments(
                    app,
                    &video,
                    parent.as_deref(),
                    cursor.as_deref(),
                    limit,
                )
                .await?
            } else if home_of(&video) == caller && viewer.is_none() {
                // The video's home gathers comments for a viewer it cleared.
                plane
                    .comments(&video, parent.as_deref(), cursor.as_deref(), limit, None)
                    .await?
            } else {
                return Err(ApiError::new(
                    Kind::Forbidden,
                    "comments go to the video's home only",
                ));
            };
            j(serde_json::to_value(list))
        }
        Call::Comment { id, .. } => {
            // Only what a reply needs to name its parent: ids, no text.
            let c = plane.comment(&id, None).await?.map(|mut c| {
                c.text.clear();
                c.author_handle.clear();
                c
            });
            j(serde_json::to_value(c))
        }
        Call::FileReport { report } => j(serde_json::to_value(plane.file_report(&report).await?)),
        Call::ApplyChanges { origin, changes } => {
            plane.apply_changes(&origin, &changes).await?;
            j(Ok(serde_json::Value::Null))
        }
    }
}

/// Follow edges kept here, for another region's viewer. Follows are
/// protected: a private account's lists leave only for a named viewer of
/// the caller's (whose home keeps the viewer's own follow edge and vouches
/// for it), and whom someone follows leaves without the private accounts
/// among them, unless the viewer is that someone.
async fn follow_list(
    app: &App,
    plane: &crate::plane::LocalPlane,
    user: &str,
    list: FollowList,
    viewer: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, i64)>, ApiError> {
    let profile = app
        .catalog
        .profile(user)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if profile.hidden || (profile.private && viewer.is_none()) {
        return Err(ApiError::new(
            Kind::Forbidden,
            "this account's follow lists do not leave their region",
        ));
    }
    let mut edges = plane
        .follow_list(user, list, viewer, cursor, limit.clamp(1, 100))
        .await?;
    if list == FollowList::Following && viewer != Some(user) {
        let ids: Vec<String> = edges.iter().map(|(id, _)| id.clone()).collect();
        let public: std::collections::HashSet<String> = app
            .catalog
            .profiles(&ids)
            .await?
            .into_iter()
            .filter(|p| !p.private && !p.hidden)
            .map(|p| p.user_id)
            .collect();
        edges.retain(|(id, _)| public.contains(id));
    }
    Ok(edges)
}

#[derive(Deserialize)]
struct MediaQuery {
    viewer: Option<String>,
}

async fn media(
    State(app): State<Arc<App>>,
    peer: Option<Extension<Peer>>,
    Path((video, kind)): Path<(String, String)>,
    Query(q): Query<MediaQuery>,
    headers: HeaderMap,
) -> Response {
    let peer = peer.map(|Extension(p)| p);
    let Some(here) = served(&app) else {
        return ApiError::new(Kind::NotFound, "no plane service here").into_response();
    };
    let Some(caller) = peer.as_ref().and_then(|p| p.region()) else {
        return refuse(
            &app,
            &here,
            peer.as_ref(),
            "media",
            "only region services make plane calls",
        )
        .await;
    };
    if home_of(&video) != here || q.viewer.as_deref().is_some_and(|v| home_of(v) != caller) {
        return refuse(
            &app,
            &here,
            peer.as_ref(),
            "media",
            "the call names a viewer that is not the caller's",
        )
        .await;
    }
    let kind = match kind.as_str() {
        "stream" => MediaKind::Stream,
        "poster" => MediaKind::Poster,
        _ => return ApiError::not_found("media").into_response(),
    };
    let v = match crate::access::load_video_at_home(&app, q.viewer.as_deref(), &video).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let plane = app.local(&here).expect("served region");
    let range = headers.get(header::RANGE).and_then(|h| h.to_str().ok());
    match plane
        .media_response(&v.record, kind, q.viewer.as_deref(), range)
        .await
    {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

#[derive(Serialize)]
struct DirectoryAnswer {
    region: String,
}

/// Where a handle is homed (interop data): edges route log-ins with it.
async fn directory(
    State(app): State<Arc<App>>,
    peer: Option<Extension<Peer>>,
    Path(handle): Path<String>,
) -> Response {
    if peer.is_none() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Ok(h) = sovereel_model::Handle::parse(&handle) else {
        return ApiError::not_found("user").into_response();
    };
    match app.catalog.resolve_handle(h.as_str()).await {
        Ok(Some((_, region))) => Json(DirectoryAnswer { region }).into_response(),
        Ok(None) => ApiError::not_found("user").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
