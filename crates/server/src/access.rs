//! Who may see what. Every read of a video or a profile on behalf of a
//! viewer goes through these functions, so visibility (public, followers,
//! private), blocks and processing state are decided in one place. A video
//! the viewer may not see is reported as not found, never as forbidden, so
//! its existence is not revealed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sovereel_model::{VideoId, VideoState, Visibility};
use sovereel_store::{CatalogVideo, Counts, FollowState, ProfileRecord, VideoRecord};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::plane::RegionPlane;
use crate::state::App;
use crate::views::{VideoView, author_view};

pub struct LoadedVideo {
    pub record: VideoRecord,
    /// The video's home region.
    pub home: Arc<dyn RegionPlane>,
    /// The catalog's copy, for public ready videos.
    pub public: Option<CatalogVideo>,
    pub author: Option<ProfileRecord>,
}

/// What a write about a video (a like, a share) needs to know of it: who
/// made it, where it lives, and whether it is public (its counters then
/// live in the catalog).
pub struct VideoRef {
    pub id: String,
    pub author_id: String,
    pub home: Arc<dyn RegionPlane>,
    pub public: bool,
}

impl From<&LoadedVideo> for VideoRef {
    fn from(v: &LoadedVideo) -> Self {
        VideoRef {
            id: v.record.id.clone(),
            author_id: v.record.author_id.clone(),
            home: v.home.clone(),
            public: v.is_public(),
        }
    }
}

/// A video the viewer may act on. A public video homed in another region
/// is decided from the catalog, without a call to its home: it is public
/// and ready there, its author is not hidden, and neither blocked the
/// other (the block set the viewer's feeds use, whose answers from other
/// regions are at most [`RemoteBlockers::TTL`] old). Everything else is
/// decided by [`load_video`].
pub async fn load_ref(app: &App, viewer: &AuthUser, id: &str) -> ApiResult<VideoRef> {
    let vid = VideoId::parse(id).map_err(|_| ApiError::not_found("video"))?;
    if app.local(vid.region_str()).is_none()
        && let Some(home) = app.plane(vid.region_str())
        && let Some(public) = app.catalog.video(id).await?
    {
        let blocks = block_set(app, viewer).await?;
        // A region that cannot say whom its users blocked: decided by its
        // home, which answers that it is unavailable.
        if !blocks.unknown_regions.contains(vid.region_str()) {
            let author = app.catalog.profile(&public.author_id).await?;
            if blocks.users.contains(&public.author_id)
                || author.is_none_or(|a| a.hidden) && public.author_id != viewer.id.as_str()
            {
                return Err(ApiError::not_found("video"));
            }
            return Ok(VideoRef {
                id: public.id,
                author_id: public.author_id,
                home: home.clone(),
                public: true,
            });
        }
    }
    Ok(VideoRef::from(&load_video(app, Some(viewer), id).await?))
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
    /// The labels viewers see (public videos carry them, in the catalog).
    pub fn labels(&self) -> Vec<crate::moderation::LabelView> {
        self.public
            .as_ref()
            .map(|p| crate::moderation::viewer_labels(&p.labels, p.label_note.as_deref()))
            .unwrap_or_default()
    }
}

/// The home region named by an id's prefix (`<region>_…`).
pub fn home_of(id: &str) -> &str {
    id.split('_').next().unwrap_or_default()
}

/// Whether `viewer` is an approved follower of `author_id`. The follow is
/// stored at the viewer's home, and only the author can approve it.
pub async fn approved_follower(app: &App, viewer: &str, author_id: &str) -> ApiResult<bool> {
    let Some(home) = app.plane(home_of(viewer)) else {
        return Ok(false);
    };
    Ok(home.follow_state(viewer, author_id).await? == Some(FollowState::Approved))
}

/// Whether either of the two has blocked the other: each block is stored at
/// its author's home, so both homes are asked.
pub async fn blocked(app: &App, viewer: Option<&AuthUser>, other: &str) -> ApiResult<bool> {
    blocked_ids(app, viewer.map(|v| v.id.as_str()), other).await
}

pub async fn blocked_ids(app: &App, viewer: Option<&str>, other: &str) -> ApiResult<bool> {
    let Some(v) = viewer else { return Ok(false) };
    if let Some(home) = app.plane(home_of(v))
        && home.has_blocked(v, other).await?
    {
        return Ok(true);
    }
    match app.plane(home_of(other)) {
        Some(home) => Ok(home.has_blocked(other, v).await?),
        None => Ok(false),
    }
}

/// Everyone the viewer blocked or who blocked the viewer, in any region
/// (one call per region), and the regions that could not answer: content
/// by their users is left out rather than shown unchecked.
/// It also holds what the viewer reported: a reported video, comment or
/// account is hidden from its reporter at once.
#[derive(Clone)]
pub struct BlockSet {
    pub users: HashSet<String>,
    pub unknown_regions: HashSet<String>,
    pub reported_videos: HashSet<String>,
    pub reported_comments: HashSet<String>,
}

impl BlockSet {
    pub fn hides(&self, author_id: &str) -> bool {
        self.users.contains(author_id) || self.unknown_regions.contains(home_of(author_id))
    }

    /// A video the viewer may not be shown in lists: reported, or by an
    /// author hidden from them.
    pub fn hides_video(&self, video_id: &str, author_id: &str) -> bool {
        self.reported_videos.contains(video_id) || self.hides(author_id)
    }

    pub fn hides_comment(&self, comment_id: &str, author_id: &str) -> bool {
        self.reported_comments.contains(comment_id) || self.hides(author_id)
    }
}

pub async fn block_set(app: &App, v: &AuthUser) -> ApiResult<BlockSet> {
    v.blocks
        .get_or_try_init(|| ask_block_set(app, v))
        .await
        .cloned()
}

async fn ask_block_set(app: &App, v: &AuthUser) -> ApiResult<BlockSet> {
    let mut users: HashSet<String> = v
        .home
        .store
        .blocked_by(v.id.as_str())
        .await?
        .into_iter()
        .collect();
    let mut unknown_regions = HashSet::new();
    let asks = app.planes().map(|plane| async move {
        let region = plane.id().to_string();
        let answer = if app.local(&region).is_some() {
            plane.blockers_of(v.id.as_str()).await
        } else {
            app.remote_blockers
                .get_or_ask(&region, v.id.as_str(), || plane.blockers_of(v.id.as_str()))
                .await
        };
        (region, answer)
    });
    for (region, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(list) => users.extend(list),
            Err(crate::plane::PlaneError::Unavailable { .. }) => {
                unknown_regions.insert(region);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let reported = crate::api::moderation::reported_by(v).await?;
    users.extend(reported.accounts);
    Ok(BlockSet {
        users,
        unknown_regions,
        reported_videos: reported.videos,
        reported_comments: reported.comments,
    })
}

/// Loads a video the viewer may see, or answers not found.
pub async fn load_video(app: &App, viewer: Option<&AuthUser>, id: &str) -> ApiResult<LoadedVideo> {
    load_video_for(app, viewer.map(|v| v.id.as_str()), id).await
}

/// The same for a viewer named by id.
pub async fn load_video_for(app: &App, viewer: Option<&str>, id: &str) -> ApiResult<LoadedVideo> {
    load_video_checked(app, viewer, id, Blocks::Both).await
}

/// At the video's home, for a viewer homed at the calling region (a plane
/// call): the author's blocks are checked here, the viewer's own blocks by
/// the caller, which keeps them.
pub async fn load_video_at_home(
    app: &App,
    viewer: Option<&str>,
    id: &str,
) -> ApiResult<LoadedVideo> {
    load_video_checked(app, viewer, id, Blocks::AuthorsOnly).await
}

/// Which blocks a visibility decision asks about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Blocks {
    Both,
    AuthorsOnly,
}

async fn load_video_checked(
    app: &App,
    viewer: Option<&str>,
    id: &str,
    blocks: Blocks,
) -> ApiResult<LoadedVideo> {
    let vid = VideoId::parse(id).map_err(|_| ApiError::not_found("video"))?;
    let home = app
        .plane(vid.region_str())
        .ok_or_else(|| ApiError::not_found("video"))?
        .clone();
    let mut record = home
        .video(id, viewer)
        .await?
        .ok_or_else(|| ApiError::not_found("video"))?;
    let is_owner = viewer.is_some_and(|v| v == record.author_id);
    // A draft is its owner's alone, its caption opened only for them.
    if record.draft {
        let Some(local) = app.local(vid.region_str()).filter(|_| is_owner) else {
            return Err(ApiError::not_found("video"));
        };
        let owner = record.author_id.clone();
        crate::api::drafts::open_drafts(app, local, &owner, std::slice::from_mut(&mut record))
            .await?;
    }
    // A remote home answers only a video the viewer may see, decided there
    // (visibility, and the author's blocks); a local one answers raw.
    let decided_at_home = app.local(vid.region_str()).is_none();
    if !is_owner && decided_at_home {
        // What is left is the viewer's own blocks, kept at the viewer's home.
        if let Some(v) = viewer
            && let Some(own) = app.local(home_of(v))
            && own.store.has_blocked(v, &record.author_id).await?
        {
            return Err(ApiError::not_found("video"));
        }
    } else if !is_owner {
        let ready = record.state == VideoState::Ready;
        let visible = match record.visibility {
            Visibility::Public => ready,
            Visibility::Followers => match viewer {
                Some(v) => ready && approved_follower(app, v, &record.author_id).await?,
                None => false,
            },
            Visibility::Private => false,
        };
        let blocked = match (blocks, viewer) {
            (Blocks::Both, _) => blocked_ids(app, viewer, &record.author_id).await?,
            (Blocks::AuthorsOnly, Some(v)) => home.has_blocked(&record.author_id, v).await?,
            (Blocks::AuthorsOnly, None) => false,
        };
        if !visible || blocked {
            return Err(ApiError::not_found("video"));
        }
    }
    let public = if record.visibility == Visibility::Public && record.state == VideoState::Ready {
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
    let (liked, blocks): (HashSet<String>, Option<BlockSet>) = match viewer {
        Some(u) => (
            u.home
                .store
                .liked_among(u.id.as_str(), &ids)
                .await?
                .into_iter()
                .collect(),
            Some(block_set(app, u).await?),
        ),
        None => Default::default(),
    };
    Ok(videos
        .iter()
        .filter(|v| {
            !blocks
                .as_ref()
                .is_some_and(|b| b.hides_video(&v.id, &v.author_id))
        })
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

/// Other regions' answers to "who there blocked this user", kept for a
/// moment. Feeds ask it on every page; a block made in another region
/// reaches the blocked user's feed filters within [`RemoteBlockers::TTL`],
/// while a direct view of the blocker's content or profile asks the
/// blocker's home every time (`blocked_ids`).
#[derive(Default)]
pub struct RemoteBlockers {
    /// (region, user) → when asked, and the answer.
    entries: std::sync::Mutex<HashMap<(String, String), Asked>>,
}

type Asked = (std::time::Instant, Vec<String>);

impl RemoteBlockers {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(2);
    const MAX_ENTRIES: usize = 50_000;

    async fn get_or_ask<F, Fut>(
        &self,
        region: &str,
        user: &str,
        ask: F,
    ) -> Result<Vec<String>, crate::plane::PlaneError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<String>, crate::plane::PlaneError>>,
    {
        let key = (region.to_string(), user.to_string());
        if let Some((at, list)) = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            && at.elapsed() < Self::TTL
        {
            return Ok(list.clone());
        }
        let list = ask().await?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < Self::TTL);
        }
        entries.insert(key, (std::time::Instant::now(), list.clone()));
        Ok(list)
    }
}
