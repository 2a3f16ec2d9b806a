//! Plain records read from and written to the stores.

use serde::{Deserialize, Serialize};
use sovereel_model::{AccountState, CommentPolicy, VideoState, Visibility};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub views: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub private: bool,
    pub email: String,
    pub birthdate: String,
    pub country: String,
    pub password_hash: String,
    pub non_profiled: bool,
    pub state: AccountState,
    pub delete_after: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub private: Option<bool>,
    pub non_profiled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoRecord {
    pub id: String,
    pub author_id: String,
    pub caption: String,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub visibility: Visibility,
    pub comments_policy: CommentPolicy,
    pub state: VideoState,
    pub state_reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub media_key: Option<String>,
    pub poster_key: Option<String>,
    pub content_type: Option<String>,
    pub sha256: String,
    pub size_bytes: i64,
    pub transcoded: bool,
    pub created_at: i64,
    pub counts: Counts,
}

/// The outcome of background processing of an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingOutcome {
    pub state: VideoState,
    pub state_reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub media_key: Option<String>,
    pub poster_key: Option<String>,
    pub content_type: Option<String>,
    pub transcoded: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogVideo {
    pub id: String,
    pub author_id: String,
    pub caption: String,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub comments_policy: CommentPolicy,
    pub duration_ms: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub labels: Vec<String>,
    pub created_at: i64,
    pub counts: Counts,
    pub hot: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRecord {
    pub user_id: String,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub private: bool,
    pub region: String,
    pub hidden: bool,
    pub created_at: i64,
    pub followers: i64,
    pub following: i64,
    pub videos: i64,
    pub likes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentRecord {
    pub id: String,
    pub video_id: String,
    pub author_id: String,
    pub author_handle: String,
    pub text: String,
    pub parent_id: Option<String>,
    pub created_at: i64,
    pub replies_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub user_id: String,
    pub video_id: String,
    pub kind: String,
    pub watch_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowState {
    Pending,
    Approved,
}

impl FollowState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            _ => None,
        }
    }
}

/// A keyset cursor for lists ordered by (time or score) descending, then id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub key: f64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}~{}", self.key, self.id)
    }
    pub fn decode(s: &str) -> Option<Self> {
        let (k, id) = s.split_once('~')?;
        let key: f64 = k.parse().ok()?;
        if !key.is_finite()
            || id.is_empty()
            || id.len() > 64
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return None;
        }
        Some(Self {
            key,
            id: id.to_string(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: String,
    pub handle: String,
    /// `platform` or `custodian`.
    pub org: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub id: String,
    pub video_id: String,
    pub subject_id: String,
    pub category: String,
    /// `open` or `closed`.
    pub state: String,
    pub assignee: Option<String>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}
