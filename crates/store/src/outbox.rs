//! Changes that cross from a region's database to another database.
//!
//! A handler never writes two databases in one step. It writes its own
//! change and the [`Change`]s that follow from it into the region's outbox,
//! in one transaction. A relay then applies each pending change to its
//! target and records `(origin, seq)` there in the same transaction as the
//! change, so applying twice is harmless. Everything in a `Change` is public,
//! aggregate or interop by construction: this is the only path by which
//! data leaves a region's database.

use serde::{Deserialize, Serialize};

use crate::records::{CommentRecord, VideoRecord};

/// Where a change is applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    Catalog,
    Region(String),
}

impl Target {
    pub fn encode(&self) -> String {
        match self {
            Self::Catalog => "catalog".into(),
            Self::Region(r) => format!("region:{r}"),
        }
    }
    pub fn decode(s: &str) -> Option<Self> {
        if s == "catalog" {
            Some(Self::Catalog)
        } else {
            s.strip_prefix("region:")
                .map(|r| Self::Region(r.to_string()))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Public profile fields (catalog).
    UpsertProfile {
        user_id: String,
        handle: String,
        display_name: String,
        bio: String,
        private: bool,
        region: String,
        created_at: i64,
    },
    SetProfileHidden {
        user_id: String,
        hidden: bool,
    },
    /// A public video became ready (catalog).
    PublishVideo {
        id: String,
        author_id: String,
        caption: String,
        hashtags: Vec<String>,
        mentions: Vec<String>,
        comments_policy: sovereel_model::CommentPolicy,
        duration_ms: Option<i64>,
        width: Option<i32>,
        height: Option<i32>,
        created_at: i64,
    },
    UnpublishVideo {
        id: String,
        author_id: String,
    },
    /// A public video's owner changed its caption or who may comment
    /// (catalog): its hashtags and mentions follow the caption.
    EditVideo {
        id: String,
        caption: String,
        hashtags: Vec<String>,
        mentions: Vec<String>,
        comments_policy: sovereel_model::CommentPolicy,
    },
    /// Counter deltas of a video, applied wherever its metadata lives.
    VideoCounts {
        video_id: String,
        likes: i64,
        comments: i64,
        shares: i64,
        views: i64,
    },
    ProfileCounts {
        user_id: String,
        followers: i64,
        following: i64,
        likes: i64,
    },
    InsertComment {
        comment: CommentRecord,
    },
    /// The moderation standing of a public video: the labels viewers see
    /// (`unverified`, `misleading`, `graphic`, `sensitive`), the ranking
    /// markers (`restricted`, `demoted`, `promoted`), and the fact-check
    /// note shown beside a label.
    SetLabels {
        video_id: String,
        labels: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A public video removed by a moderation decision leaves the catalog;
    /// unlike a deletion, its public comments stay (unreachable while it is
    /// gone), so a reversed decision can bring it back whole.
    WithdrawVideo {
        id: String,
        author_id: String,
    },
    /// A comment deleted by its author, by the video's owner or by a
    /// moderation decision, with its replies stored in the same database;
    /// a reply takes one from its parent's count. Counters of the video
    /// follow as their own `VideoCounts`.
    DeleteComment {
        id: String,
        video_id: String,
    },
    /// A deleted account: its profile, handle, public videos and public
    /// comments leave the catalog.
    PurgeUser {
        user_id: String,
        handle: String,
    },
    /// A notification for a user homed at the target region. It carries
    /// interop fields only: ids, the kind, and the actor's handle and
    /// region; never text, so a comment on a non-public video or anything
    /// else protected cannot ride along.
    Notify {
        id: String,
        recipient_id: String,
        kind: sovereel_model::InboxKind,
        actor_id: String,
        actor_handle: String,
        actor_region: String,
        video_id: Option<String>,
        comment_id: Option<String>,
        created_at: i64,
    },
    /// An unlike or an unfollow takes back its notification.
    Retract {
        recipient_id: String,
        kind: sovereel_model::InboxKind,
        actor_id: String,
        video_id: Option<String>,
    },
    /// A block: the blocker and the blocked see nothing more of each other
    /// in their inboxes.
    ForgetActor {
        recipient_id: String,
        actor_id: String,
    },
}

/// A change to enqueue with its target.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub target: Target,
    pub change: Change,
}

impl OutboxItem {
    pub fn new(target: Target, change: Change) -> Self {
        Self { target, change }
    }
}

/// A change waiting in a region's outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingChange {
    pub seq: i64,
    pub target: Target,
    pub change: Change,
}

impl Change {
    /// The catalog change that publishes a public video as its home stores
    /// it (after a draft is published, or a removal reversed).
    pub fn publish(v: &VideoRecord) -> Change {
        Change::PublishVideo {
            id: v.id.clone(),
            author_id: v.author_id.clone(),
            caption: v.caption.clone(),
            hashtags: v.hashtags.clone(),
            mentions: v.mentions.clone(),
            comments_policy: v.comments_policy,
            duration_ms: v.duration_ms,
            width: v.width,
            height: v.height,
            created_at: v.created_at,
        }
    }
}
