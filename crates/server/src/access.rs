//! Who may see what. Every read of a video or a profile on behalf of a
//! viewer goes through these functions, so visibility (public, followers,
//! private), blocks and processing state are decided in one place. A video
//! the viewer may not see is reported as not found, never as forbidden, so
//! its existence is not revealed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sovereel_model::VideoId;
use sovereel_store::{CatalogVideo, Counts, FollowState, ProfileRecord, VideoRecord};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::{App, RegionPlane};
use crate::views::{VideoView, author_view};

pub struct LoadedVideo {
    pub record: VideoRecord,
    pub home: Arc<RegionPlane>,
    /// The catalog's copy, for public ready videos.
    pub public: Option<CatalogVideo>,
    pub author: Option<ProfileRecord>,
}

impl LoadedVideo {
    pub fn is_public(&self) -> bool {
        self.public.is_some()
    }
    /// Counters live in the catalog for public videos, at home otherwise.
    pub fn counts(&self) -> Counts {
        self.public
            .as_ref()
            .map(|p| p.counts)
            .unwrap_or(self.record.counts)
    }
    pub fn labels(&self) -> Vec<String> {
        self.public
            .as_ref()
            .map(|p| p.labels.clone())
            .unwrap_or_default()
    }
}

/// Whether `viewer` is an approved follower of `author_id`. The follow is
/// stored at the viewer's home, and only the author can approve it.
pub async fn approved_follower(app: &App, viewer: &str, author_id: &str) -> ApiResult<bool> {
    let Some(home) = app.region(viewer.split('_').next().unwrap_or_default()) else {
        return Ok(false);
    };
    Ok(home.store.follow_state(viewer, author_id).await? == Some(FollowState::Approved))
}

/// Whether either of the two has blocked the other: each block is stored at
/// its author's home, so both homes are asked.
pub async fn blocked(app: &App, viewer: Option<&AuthUser>, other: &str) -> ApiResult<bool> {
    let Some(v) = viewer else { return Ok(false) };
    if v.home.store.has_blocked(v.id.as_str(), other).await? {
        return Ok(true);
    }
    match app.region(other.split('_').next().unwrap_or_default()) {
        Some(home) => Ok(home.store.has_blocked(other, v.id.as_str()).await?),
        None => Ok(false),
    }
}

/// Everyone the viewer blocked or who blocked the viewer, in any region.
pub async fn block_set(app: &App, v: &AuthUser) -> ApiResult<HashSet<String>> {
    let mut set: HashSet<String> = v
        .home
        .store
        .blocked_by(v.id.as_str())
        .await?
        .into_iter()
        .collect();
    for plane in app.regions.values() {
        set.extend(plane.store.blockers_of(v.id.as_str()).await?);
    }
    Ok(set)
}

/// Loads a video the viewer may see, or answers not found.
pub async fn load_video(app: &App, viewer: Option<&AuthUser>, id: &str) -> ApiResult<LoadedVideo> {
    let vid = VideoId::parse(id).map_err(|_| ApiError::not_found("video"))?;
    let home = app
        .region(vid.region_str())
        .ok_or_else(|| ApiError::not_found("video"))?
        .clone();
    let record = home
        .store
        .video(id)
        .await?
        .ok_or_else(|| ApiError::not_found("video"))?;
    let is_owner = viewer.is_some_and(|v| v.id.as_str() == record.author_id);
    if !is_owner {
        let visible = match record.visibility.as_str() {
            "public" => record.state == "ready",
            "followers" => match viewer {
                Some(v) => {
                    record.state == "ready"
                        && approved_follower(app, v.id.as_str(), &record.author_id).await?
                }
                None => false,
            },
            _ => false,
        };
        if !visible || blocked(app, viewer, &record.author_id).await? {
            return Err(ApiError::not_found("video"));
        }
    }
    let public = if record.visibility == "public" && record.state == "ready" {
        app.catalog.video(id).await?
    } else {
        None
    };
    let author = app.catalog.profile(&record.author_id).await?;
    if author.as_ref().is_some_and(|a| a.hidden) && !is_owner {
        return Err(ApiError::not_found("video"));
    }
    Ok(LoadedVideo {
        record,
        home,
        public,
        author,
    })
}

pub async fn video_view(viewer: Option<&AuthUser>, v: &LoadedVideo) -> ApiResult<VideoView> {
    let liked = match viewer {
        Some(u) => !u
            .home
            .store
            .liked_among(u.id.as_str(), std::slice::from_ref(&v.record.id))
            .await?
            .is_empty(),
        None => false,
    };
    Ok(VideoView::from_record(
        &v.record,
        author_view(v.author.as_ref(), &v.record.author_id),
        v.counts(),
        v.labels(),
        liked,
    ))
}

/// Views of catalog videos for a viewer, in the given order, with authors
/// and `liked_by_me` fetched in one query each. Videos by blocked or hidden
/// accounts are dropped.
pub async fn catalog_views(
    app: &App,
    viewer: Option<&AuthUser>,
    videos: &[CatalogVideo],
) -> ApiResult<Vec<VideoView>> {
    if videos.is_empty() {
        return Ok(vec![]);
    }
    let mut author_ids: Vec<String> = videos.iter().map(|v| v.author_id.clone()).collect();
    author_ids.sort();
    author_ids.dedup();
    let profiles: HashMap<String, ProfileRecord> = app
        .catalog
        .profiles(&author_ids)
        .await?
        .into_iter()
        .map(|p| (p.user_id.clone(), p))
        .collect();
    let ids: Vec<String> = videos.iter().map(|v| v.id.clone()).collect();
    let (liked, blocks): (HashSet<String>, HashSet<String>) = match viewer {
        Some(u) => (
            u.home
                .store
                .liked_among(u.id.as_str(), &ids)
                .await?
                .into_iter()
                .collect(),
            block_set(app, u).await?,
        ),
        None => Default::default(),
    };
    Ok(videos
        .iter()
        .filter(|v| !blocks.contains(&v.author_id))
        .filter(|v| profiles.get(&v.author_id).is_some_and(|p| !p.hidden))
        .map(|v| {
            VideoView::from_catalog(
                v,
                author_view(profiles.get(&v.author_id), &v.author_id),
                liked.contains(&v.id),
                true,
            )
        })
        .collect())
}
