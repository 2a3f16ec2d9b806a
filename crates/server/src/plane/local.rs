//! A region served by this process: its store, media, keyring, ledger and
//! engine. Only code running inside the region's own service touches these
//! (its handlers, its relay, its plane service); every other region sees
//! the [`RegionPlane`] operations only.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sovereel_custody::PolicyGateway;
use sovereel_media::MediaStore;
use sovereel_model::{RegionId, UserId, VideoState, Visibility};
use sovereel_store::{
    CaseReport, Change, CommentRecord, Cursor, FollowState, RegionStore, VideoRecord,
};

use super::{FollowDecision, FollowList, MediaKind, PlaneError, PlaneResult, RegionPlane};
use crate::error::{ApiError, Kind};

/// One jurisdiction's data plane, in this process.
pub struct LocalPlane {
    pub(crate) id: RegionId,
    pub(crate) store: Arc<dyn RegionStore>,
    pub(crate) media: MediaStore,
    /// The region's transparency log, witness and keys.
    pub(crate) ledger: Arc<crate::transparency::RegionLedger>,
    /// The region's keyring: its key-encryption key and users' data keys.
    pub(crate) keyring: sovereel_custody::Keyring,
    /// The region's recommendation engine (its own events only).
    pub(crate) recs: Arc<crate::recommend::RegionEngine>,
    /// The policy gateway every protected read or write here passes.
    pub(crate) gateway: Arc<PolicyGateway>,
    /// The region's lifecycle: active, suspended, winding down or closed,
    /// and the custodian in force (`lifecycle.rs`).
    pub(crate) lifecycle: Arc<crate::lifecycle::Lifecycle>,
    /// Serialises outbox draining, so changes apply in order.
    pub(crate) relay_lock: tokio::sync::Mutex<()>,
    /// Held for the life of the service: the one writer of this region's
    /// log and keyring (`lease.rs`).
    pub(crate) _lease: crate::lease::Lease,
}

impl LocalPlane {
    /// The region's store, for tools that run on the region's own machine
    /// (seeding, custody checks).
    pub fn store(&self) -> &Arc<dyn RegionStore> {
        &self.store
    }

    pub fn region(&self) -> &RegionId {
        &self.id
    }

    /// The media of a video homed here. A sealed (non-public) video's data
    /// key comes from the keyring only with a grant, which the ledger
    /// records first when the viewer is not the owner; the caller has
    /// already decided that the viewer may see the video (`access.rs`).
    pub async fn media_response(
        &self,
        record: &VideoRecord,
        kind: MediaKind,
        viewer: Option<&str>,
        range: Option<&str>,
    ) -> Result<Response, ApiError> {
        if kind == MediaKind::Stream && record.state != VideoState::Ready {
            return Err(ApiError::new(
                Kind::Conflict,
                "the video is still processing",
            ));
        }
        let stored = match kind {
            MediaKind::Stream => record.media_key.is_some(),
            MediaKind::Poster => record.poster_key.is_some(),
        };
        // The grant (and its ledger entry) only for media that exists.
        let data_key = if stored {
            self.media_key(record, viewer).await?
        } else {
            None
        };
        self.serve_media(record, kind, data_key, range, false).await
    }

    /// Media of a video homed here with the data key already obtained
    /// (under whatever grant allowed it), honouring `range`. `any_state`
    /// serves a video whatever its state (a moderator reviewing a removed
    /// one).
    pub async fn serve_media(
        &self,
        record: &VideoRecord,
        kind: MediaKind,
        data_key: Option<Arc<sovereel_custody::UserKey>>,
        range: Option<&str>,
        any_state: bool,
    ) -> Result<Response, ApiError> {
        let (key, sealed_as, content_type) = match kind {
            MediaKind::Stream => {
                if record.state == VideoState::Processing
                    || (!any_state && record.state != VideoState::Ready)
                {
                    return Err(ApiError::new(
                        Kind::Conflict,
                        "the video is still processing",
                    ));
                }
                (
                    record.media_key.as_ref(),
                    record.id.clone(),
                    record
                        .content_type
                        .clone()
                        .unwrap_or_else(|| "video/mp4".into()),
                )
            }
            MediaKind::Poster => (
                record.poster_key.as_ref(),
                format!("{}/poster", record.id),
                "image/jpeg".to_string(),
            ),
        };
        let key = key.ok_or_else(|| ApiError::not_found("media"))?;
        let public = record.visibility == Visibility::Public;
        let pb = match data_key {
            Some(data_key) => {
                let reader = sovereel_custody::DecryptingReader::new(
                    self.media.clone(),
                    data_key,
                    &sealed_as,
                );
                sovereel_media::open_playback(&reader, key, range).await
            }
            None => sovereel_media::open_playback(&self.media, key, range).await,
        }
        .map_err(|e| match e {
            sovereel_media::PlaybackError::RangeNotSatisfiable(r) => ApiError::new(
                Kind::RangeNotSatisfiable,
                "the range starts past the end of the file",
            )
            .with_header(header::CONTENT_RANGE, r.content_range()),
            sovereel_media::PlaybackError::Store(s) if s.http_status() == 404 => {
                ApiError::not_found("media")
            }
            other => ApiError::internal(other),
        })?;
        let status = StatusCode::from_u16(pb.http_status()).unwrap_or(StatusCode::OK);
        let mut resp = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, pb.content_length)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(
                header::CACHE_CONTROL,
                if public {
                    "public, max-age=3600"
                } else {
                    "private, max-age=3600"
                },
            );
        if let Some(cr) = pb.content_range() {
            resp = resp.header(header::CONTENT_RANGE, cr);
        }
        resp.body(Body::from_stream(pb.body))
            .map_err(ApiError::internal)
    }

    async fn media_key(
        &self,
        record: &VideoRecord,
        viewer: Option<&str>,
    ) -> Result<Option<Arc<sovereel_custody::UserKey>>, ApiError> {
        if record.visibility == Visibility::Public {
            return Ok(None);
        }
        let owner = UserId::parse(&record.author_id).map_err(ApiError::internal)?;
        let viewer = viewer.ok_or_else(|| ApiError::not_found("video"))?;
        let viewer = UserId::parse(viewer).map_err(|_| ApiError::not_found("video"))?;
        let key = if viewer == owner {
            crate::custody::own_key(&self.gateway, self, &owner, crate::custody::ReadProtected)
                .await?
        } else {
            let principal = sovereel_custody::Principal::user(viewer);
            let context = sovereel_custody::AccessContext::shared_by_owner()
                .with_purpose("followers-only video");
            let grant = crate::custody::authorize(
                &self.gateway,
                self,
                &principal,
                crate::custody::ReadProtected,
                &sovereel_custody::Resource::protected(&owner),
                &context,
            )
            .await?;
            crate::custody::key_for(self, &grant, &owner)?
        };
        Ok(Some(Arc::new(key)))
    }
}

fn cursor(c: Option<&str>) -> PlaneResult<Option<Cursor>> {
    c.map(|s| Cursor::decode(s).ok_or_else(|| PlaneError::Other("a malformed cursor".into())))
        .transpose()
}

#[async_trait]
impl RegionPlane for LocalPlane {
    fn id(&self) -> &RegionId {
        &self.id
    }

    async fn follow_state(
        &self,
        follower: &str,
        followee: &str,
    ) -> PlaneResult<Option<FollowState>> {
        Ok(self.store.follow_state(follower, followee).await?)
    }

    async fn follow_list(
        &self,
        user: &str,
        list: FollowList,
        _viewer: Option<&str>,
        cursor_at: Option<&str>,
        limit: i64,
    ) -> PlaneResult<Vec<(String, i64)>> {
        let c = cursor(cursor_at)?;
        Ok(match list {
            FollowList::Followers => self.store.followers_page(user, c.as_ref(), limit).await?,
            FollowList::Following => self.store.following_page(user, c.as_ref(), limit).await?,
        })
    }

    async fn has_blocked(&self, blocker: &str, target: &str) -> PlaneResult<bool> {
        Ok(self.store.has_blocked(blocker, target).await?)
    }

    async fn blockers_of(&self, user: &str) -> PlaneResult<Vec<String>> {
        Ok(self.store.blockers_of(user).await?)
    }

    async fn pending_requests(&self, followee: &str, limit: i64) -> PlaneResult<Vec<String>> {
        Ok(self.store.pending_requests(followee, limit).await?)
    }

    async fn settle_follow(
        &self,
        follower: &str,
        followee: &str,
        decision: FollowDecision,
    ) -> PlaneResult<bool> {
        let current = self.store.follow_state(follower, followee).await?;
        match decision {
            FollowDecision::Approve => {
                if current != Some(FollowState::Pending) {
                    return Ok(false);
                }
                let out = crate::api::social::follow_changes(follower, followee, 1);
                self.store
                    .follow(
                        follower,
                        followee,
                        FollowState::Approved,
                        sovereel_model::now_millis(),
                        &out,
                    )
                    .await?;
            }
            FollowDecision::Decline => {
                if current != Some(FollowState::Pending) {
                    return Ok(false);
                }
                self.store.unfollow(follower, followee, &[]).await?;
            }
            FollowDecision::Drop => {
                let Some(state) = current else {
                    return Ok(false);
                };
                let delta = if state == FollowState::Approved {
                    -1
                } else {
                    0
                };
                let out = crate::api::social::follow_changes(follower, followee, delta);
                self.store.unfollow(follower, followee, &out).await?;
            }
        }
        Ok(true)
    }

    async fn video(&self, id: &str, _viewer: Option<&str>) -> PlaneResult<Option<VideoRecord>> {
        Ok(self.store.video(id).await?)
    }

    async fn author_videos(
        &self,
        authors: &[String],
        visibilities: &[Visibility],
        _viewer: Option<&str>,
        cursor_at: Option<&str>,
        limit: i64,
    ) -> PlaneResult<Vec<VideoRecord>> {
        let c = cursor(cursor_at)?;
        Ok(self
            .store
            .author_videos(authors, visibilities, c.as_ref(), limit)
            .await?)
    }

    async fn comments(
        &self,
        video: &str,
        parent: Option<&str>,
        cursor_at: Option<&str>,
        limit: i64,
        _viewer: Option<&str>,
    ) -> PlaneResult<Vec<CommentRecord>> {
        let c = cursor(cursor_at)?;
        Ok(self
            .store
            .comments(video, parent, c.as_ref(), limit)
            .await?)
    }

    async fn comment(&self, id: &str, _viewer: Option<&str>) -> PlaneResult<Option<CommentRecord>> {
        Ok(self.store.comment(id).await?)
    }

    async fn file_report(&self, report: &CaseReport) -> PlaneResult<String> {
        crate::api::moderation::file_report(self, report)
            .await
            .map_err(|e| match e.kind {
                Kind::Unavailable => PlaneError::Unavailable {
                    region: self.id.to_string(),
                },
                _ => PlaneError::Other(e.detail),
            })
    }

    async fn media(
        &self,
        video: &str,
        kind: MediaKind,
        viewer: Option<&str>,
        range: Option<&str>,
    ) -> PlaneResult<Response> {
        let Some(record) = self.store.video(video).await? else {
            return Ok(ApiError::not_found("video").into_response());
        };
        Ok(
            match self.media_response(&record, kind, viewer, range).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            },
        )
    }

    async fn apply_changes(&self, origin: &str, changes: &[(i64, Change)]) -> PlaneResult<()> {
        for (seq, change) in changes {
            self.store.apply_change(origin, *seq, change).await?;
        }
        Ok(())
    }
}
