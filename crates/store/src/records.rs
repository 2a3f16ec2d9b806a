//! Plain records read from and written to the stores.

use serde::{Deserialize, Serialize};
use sovereel_model::moderation::{
    Action, CaseKind, CaseState, Ground, LabelKind, ReportCategory, TargetKind,
};
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
    /// Not published yet: seen by its owner only, its caption sealed.
    #[serde(default)]
    pub draft: bool,
}

/// A change to a video's metadata by its owner (an edit, or a draft's
/// publication), applied only if the row still holds what the owner's
/// request read (`was_*`), so two edits made at once cannot mix.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoEdit {
    pub caption: String,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub visibility: Visibility,
    pub comments_policy: CommentPolicy,
    pub draft: bool,
    /// The media objects, moved when a visibility change seals or unseals them.
    pub media_key: Option<String>,
    pub poster_key: Option<String>,
    pub was_caption: String,
    pub was_visibility: Visibility,
    pub was_draft: bool,
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
    /// The fact-check note beside the label, if any.
    #[serde(default)]
    pub label_note: Option<String>,
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

/// A report, kept at the reporter's home: once per reporter and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecord {
    pub id: String,
    pub reporter_id: String,
    pub target_kind: TargetKind,
    pub target_id: String,
    pub category: ReportCategory,
    pub details: String,
    /// The case it joined at the target's home; None until it has.
    pub case_id: Option<String>,
    pub created_at: i64,
}

/// A report as it reaches the target's home: it names the target, never
/// the reporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseReport {
    pub target_kind: TargetKind,
    pub target_id: String,
    /// The user the target belongs to (its creator, or the account).
    pub subject_id: String,
    pub category: ReportCategory,
    pub at: i64,
}

/// A case at the home of the content it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub id: String,
    pub kind: CaseKind,
    pub target_kind: TargetKind,
    pub target_id: String,
    pub subject_id: String,
    /// Every category reported, most severe first.
    pub categories: Vec<ReportCategory>,
    pub reports_count: i64,
    /// The highest severity among the categories.
    pub severity: i32,
    pub state: CaseState,
    pub assignee: Option<String>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    /// For an appeal: the decision appealed, the creator's words, and the
    /// moderator who decided (who may not decide the appeal).
    pub appeal_of: Option<String>,
    pub appeal_text: Option<String>,
    pub decided_by: Option<String>,
}

impl CaseRecord {
    /// A fresh open case of one report.
    pub fn from_report(id: String, r: &CaseReport) -> Self {
        CaseRecord {
            id,
            kind: CaseKind::Report,
            target_kind: r.target_kind,
            target_id: r.target_id.clone(),
            subject_id: r.subject_id.clone(),
            categories: vec![r.category],
            reports_count: 1,
            severity: r.category.severity(),
            state: CaseState::Open,
            assignee: None,
            created_at: r.at,
            closed_at: None,
            appeal_of: None,
            appeal_text: None,
            decided_by: None,
        }
    }

    /// The queue position: severity, then reporters, then age (oldest first).
    pub fn queue_cursor(&self) -> QueueCursor {
        QueueCursor {
            severity: self.severity,
            reports: self.reports_count,
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}

/// A keyset position in the moderation queue, ordered by severity
/// (highest first), number of reports (most first), age (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCursor {
    pub severity: i32,
    pub reports: i64,
    pub created_at: i64,
    pub id: String,
}

impl QueueCursor {
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.severity, self.reports, self.created_at, self.id
        )
    }
    pub fn decode(s: &str) -> Option<Self> {
        let mut it = s.splitn(4, '.');
        let severity = it.next()?.parse().ok()?;
        let reports = it.next()?.parse().ok()?;
        let created_at = it.next()?.parse().ok()?;
        let id = it.next()?;
        if id.is_empty()
            || id.len() > 64
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return None;
        }
        Some(Self {
            severity,
            reports,
            created_at,
            id: id.to_string(),
        })
    }
}

/// A decision with its statement of reasons (DSA Art. 17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub id: String,
    pub case_id: String,
    pub case_kind: CaseKind,
    pub subject_id: String,
    pub target_kind: TargetKind,
    pub target_id: String,
    pub action: Action,
    pub label: Option<LabelKind>,
    /// The fact-check note shown beside a label.
    pub note: Option<String>,
    pub categories: Vec<ReportCategory>,
    pub ground: Ground,
    /// The clause of the terms, or the law, relied on.
    pub reference: String,
    pub facts: String,
    pub automated: bool,
    pub territorial_scope: String,
    pub redress: String,
    pub moderator_id: String,
    /// For an appeal's decision: the decision appealed.
    pub appeal_of: Option<String>,
    /// What a reversal needs to put back (a removed comment, a removed
    /// video's counters), as JSON.
    pub restore: Option<String>,
    pub case_opened_at: i64,
    /// The `moderation` entry recording it; None while it is being written.
    pub ledger_index: Option<i64>,
    pub created_at: i64,
    pub reversed_at: Option<i64>,
}
