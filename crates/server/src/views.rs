//! The JSON shapes of the API (see DESIGN.md, "Shapes"), and how stored
//! records become them.

use serde::{Deserialize, Serialize};
use sovereel_model::{CommentPolicy, VideoState, Visibility};
use sovereel_store::{CatalogVideo, Counts, ProfileRecord, VideoRecord};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthorView {
    pub handle: String,
    pub display_name: String,
    pub region: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct CountsView {
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub views: i64,
}

impl From<Counts> for CountsView {
    fn from(c: Counts) -> Self {
        Self {
            likes: c.likes,
            comments: c.comments,
            shares: c.shares,
            views: c.views,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VideoView {
    pub id: String,
    pub author: AuthorView,
    pub caption: String,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub visibility: Visibility,
    /// Who may comment.
    pub comments: CommentPolicy,
    pub state: VideoState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub counts: CountsView,
    pub liked_by_me: bool,
    pub stream_url: String,
    pub poster_url: Option<String>,
    /// Labels a moderator put on the video, as viewers see them.
    pub labels: Vec<crate::moderation::LabelView>,
    pub created_at: String,
    /// A draft, seen by its owner only until published.
    pub draft: bool,
}

fn urls(id: &str, has_poster: bool) -> (String, Option<String>) {
    (
        format!("/v1/videos/{id}/stream"),
        has_poster.then(|| format!("/v1/videos/{id}/poster")),
    )
}

pub fn author_view(p: Option<&ProfileRecord>, author_id: &str) -> AuthorView {
    match p {
        Some(p) => AuthorView {
            handle: p.handle.clone(),
            display_name: p.display_name.clone(),
            region: p.region.clone(),
        },
        None => AuthorView {
            handle: String::new(),
            display_name: String::new(),
            region: author_id.split('_').next().unwrap_or_default().to_string(),
        },
    }
}

impl VideoView {
    /// A public video as the catalog knows it; public catalog videos are
    /// always ready and always have a poster once transcoded.
    pub fn from_catalog(
        v: &CatalogVideo,
        author: AuthorView,
        liked: bool,
        has_poster: bool,
    ) -> Self {
        let (stream_url, poster_url) = urls(&v.id, has_poster);
        Self {
            id: v.id.clone(),
            author,
            caption: v.caption.clone(),
            hashtags: v.hashtags.clone(),
            mentions: v.mentions.clone(),
            visibility: Visibility::Public,
            comments: v.comments_policy,
            state: VideoState::Ready,
            state_reason: None,
            duration_ms: v.duration_ms,
            width: v.width,
            height: v.height,
            counts: v.counts.into(),
            liked_by_me: liked,
            stream_url,
            poster_url,
            labels: crate::moderation::viewer_labels(&v.labels, v.label_note.as_deref()),
            created_at: sovereel_model::rfc3339(v.created_at),
            draft: false,
        }
    }

    /// A video from its home region; `counts` come from wherever they are
    /// authoritative (the catalog for public videos).
    pub fn from_record(
        v: &VideoRecord,
        author: AuthorView,
        counts: Counts,
        labels: Vec<crate::moderation::LabelView>,
        liked: bool,
    ) -> Self {
        let (stream_url, poster_url) = urls(&v.id, v.poster_key.is_some());
        Self {
            id: v.id.clone(),
            author,
            caption: v.caption.clone(),
            hashtags: v.hashtags.clone(),
            mentions: v.mentions.clone(),
            visibility: v.visibility,
            comments: v.comments_policy,
            state: v.state,
            state_reason: v.state_reason.clone(),
            duration_ms: v.duration_ms,
            width: v.width,
            height: v.height,
            counts: counts.into(),
            liked_by_me: liked,
            stream_url,
            poster_url,
            labels,
            created_at: sovereel_model::rfc3339(v.created_at),
            draft: v.draft,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserCounts {
    pub followers: i64,
    pub following: i64,
    pub videos: i64,
    pub likes: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub region: String,
    pub private: bool,
    pub counts: UserCounts,
    pub followed_by_me: bool,
    /// `none`, `pending` (a request to a private account) or `approved`.
    pub follow_state: String,
}

impl UserView {
    pub fn from_profile(
        p: &ProfileRecord,
        follow_state: Option<sovereel_store::FollowState>,
    ) -> Self {
        Self {
            handle: p.handle.clone(),
            display_name: p.display_name.clone(),
            bio: p.bio.clone(),
            region: p.region.clone(),
            private: p.private,
            counts: UserCounts {
                followers: p.followers,
                following: p.following,
                videos: p.videos,
                likes: p.likes,
            },
            followed_by_me: follow_state == Some(sovereel_store::FollowState::Approved),
            follow_state: follow_state
                .map(|s| s.as_str())
                .unwrap_or("none")
                .to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionView {
    pub id: String,
    pub name: String,
    pub custodian: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommentView {
    pub id: String,
    pub author: AuthorView,
    pub text: String,
    pub parent_id: Option<String>,
    pub created_at: String,
    pub replies_count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedItem {
    pub video: VideoView,
    pub reason: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    pub next_cursor: Option<String>,
    pub release: String,
}
