//! A region run by another service: each [`RegionPlane`] operation is one
//! HTTPS request over the cluster's mutual TLS to that region's plane
//! service (`service.rs`), which decides what it answers.

use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;
use sovereel_model::{RegionId, Visibility};
use sovereel_store::{CaseReport, Change, CommentRecord, FollowState, VideoRecord};

use super::service::Call;
use super::{FollowDecision, FollowList, MediaKind, PlaneError, PlaneResult, RegionPlane};
use crate::config::Config;

pub struct RemotePlane {
    id: RegionId,
    url: String,
    /// Plane calls: short, with a deadline.
    calls: reqwest::Client,
    /// Media: streamed, no overall deadline.
    media: reqwest::Client,
}

impl RemotePlane {
    pub fn new(config: &Config, region: &str) -> anyhow::Result<RemotePlane> {
        let c = config.cluster.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "region `{region}` is not served here and there is no [cluster] section"
            )
        })?;
        let r = c
            .regions
            .get(region)
            .ok_or_else(|| anyhow::anyhow!("the cluster file does not list region `{region}`"))?;
        Ok(RemotePlane {
            id: RegionId::parse(region)?,
            url: r.url.trim_end_matches('/').to_string(),
            calls: crate::cluster::client(config, c, Duration::from_secs(5))?,
            media: crate::cluster::client(config, c, Duration::ZERO)?,
        })
    }

    fn unavailable(&self) -> PlaneError {
        PlaneError::Unavailable {
            region: self.id.to_string(),
        }
    }

    async fn call<T: DeserializeOwned>(&self, call: &Call) -> PlaneResult<T> {
        let resp = self
            .calls
            .post(format!("{}/plane/v1/call", self.url))
            .json(call)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(region = %self.id, error = %e, "plane call failed");
                self.unavailable()
            })?;
        let status = resp.status();
        if status.is_success() {
            return resp
                .json::<T>()
                .await
                .map_err(|e| PlaneError::Other(format!("region {} answered: {e}", self.id)));
        }
        let detail = resp.text().await.unwrap_or_default();
        Err(match status {
            StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::BAD_GATEWAY
            | StatusCode::GATEWAY_TIMEOUT => self.unavailable(),
            _ => PlaneError::Refused {
                region: self.id.to_string(),
                detail: format!(
                    "HTTP {status}: {}",
                    detail.chars().take(300).collect::<String>()
                ),
            },
        })
    }
}

#[async_trait]
impl RegionPlane for RemotePlane {
    fn id(&self) -> &RegionId {
        &self.id
    }

    async fn follow_state(
        &self,
        follower: &str,
        followee: &str,
    ) -> PlaneResult<Option<FollowState>> {
        self.call(&Call::FollowState {
            follower: follower.into(),
            followee: followee.into(),
        })
        .await
    }

    async fn has_blocked(&self, blocker: &str, target: &str) -> PlaneResult<bool> {
        self.call(&Call::HasBlocked {
            blocker: blocker.into(),
            target: target.into(),
        })
        .await
    }

    async fn follow_list(
        &self,
        user: &str,
        list: FollowList,
        viewer: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> PlaneResult<Vec<(String, i64)>> {
        self.call(&Call::FollowList {
            user: user.into(),
            list,
            viewer: viewer.map(str::to_string),
            cursor: cursor.map(str::to_string),
            limit,
        })
        .await
    }

    async fn blockers_of(&self, user: &str) -> PlaneResult<Vec<String>> {
        self.call(&Call::BlockersOf { user: user.into() }).await
    }

    async fn pending_requests(&self, followee: &str, limit: i64) -> PlaneResult<Vec<String>> {
        self.call(&Call::PendingRequests {
            followee: followee.into(),
            limit,
        })
        .await
    }

    async fn settle_follow(
        &self,
        follower: &str,
        followee: &str,
        decision: FollowDecision,
    ) -> PlaneResult<bool> {
        self.call(&Call::SettleFollow {
            follower: follower.into(),
            followee: followee.into(),
            decision,
        })
        .await
    }

    async fn video(&self, id: &str, viewer: Option<&str>) -> PlaneResult<Option<VideoRecord>> {
        self.call(&Call::Video {
            id: id.into(),
            viewer: viewer.map(str::to_string),
        })
        .await
    }

    async fn author_videos(
        &self,
        authors: &[String],
        visibilities: &[Visibility],
        viewer: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> PlaneResult<Vec<VideoRecord>> {
        self.call(&Call::AuthorVideos {
            authors: authors.to_vec(),
            visibilities: visibilities.to_vec(),
            viewer: viewer.map(str::to_string),
            cursor: cursor.map(str::to_string),
            limit,
        })
        .await
    }

    async fn comments(
        &self,
        video: &str,
        parent: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
        viewer: Option<&str>,
    ) -> PlaneResult<Vec<CommentRecord>> {
        self.call(&Call::Comments {
            video: video.into(),
            parent: parent.map(str::to_string),
            cursor: cursor.map(str::to_string),
            limit,
            viewer: viewer.map(str::to_string),
        })
        .await
    }

    async fn comment(&self, id: &str, viewer: Option<&str>) -> PlaneResult<Option<CommentRecord>> {
        self.call(&Call::Comment {
            id: id.into(),
            viewer: viewer.map(str::to_string),
        })
        .await
    }

    async fn file_report(&self, report: &CaseReport) -> PlaneResult<String> {
        self.call(&Call::FileReport {
            report: report.clone(),
        })
        .await
    }

    async fn media(
        &self,
        video: &str,
        kind: MediaKind,
        viewer: Option<&str>,
        range: Option<&str>,
    ) -> PlaneResult<Response> {
        let kind = match kind {
            MediaKind::Stream => "stream",
            MediaKind::Poster => "poster",
        };
        let mut req = self
            .media
            .get(format!("{}/plane/v1/media/{video}/{kind}", self.url));
        if let Some(v) = viewer {
            req = req.query(&[("viewer", v)]);
        }
        if let Some(r) = range {
            req = req.header(header::RANGE, r);
        }
        let resp = req.send().await.map_err(|e| {
            tracing::warn!(region = %self.id, error = %e, "plane media call failed");
            self.unavailable()
        })?;
        let mut out = Response::builder().status(resp.status().as_u16());
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_RANGE,
            header::ACCEPT_RANGES,
            header::CACHE_CONTROL,
        ] {
            if let Some(v) = resp.headers().get(&name) {
                out = out.header(name, v.as_bytes());
            }
        }
        out.body(Body::from_stream(resp.bytes_stream()))
            .map_err(|e| PlaneError::Other(e.to_string()))
    }

    async fn apply_changes(&self, origin: &str, changes: &[(i64, Change)]) -> PlaneResult<()> {
        self.call::<serde_json::Value>(&Call::ApplyChanges {
            origin: origin.into(),
            changes: changes.to_vec(),
        })
        .await
        .map(drop)
    }
}
