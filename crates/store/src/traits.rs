//! The storage interface, one trait per aggregate. A region's database
//! implements [`RegionStore`]; the public catalog implements
//! [`CatalogStore`]. Handlers depend on these traits only.

use async_trait::async_trait;

use crate::Result;
use crate::outbox::{Change, OutboxItem, PendingChange};
use crate::records::*;

#[async_trait]
pub trait Accounts: Send + Sync {
    /// Creates a user; `Conflict("handle")` if the handle exists here.
    async fn create_user(&self, user: &UserRecord, outbox: &[OutboxItem]) -> Result<()>;
    async fn user(&self, id: &str) -> Result<Option<UserRecord>>;
    async fn user_by_handle(&self, handle: &str) -> Result<Option<UserRecord>>;
    /// Ids of every user homed here, in id order, after `after` (for the
    /// region-wide steps of its lifecycle: notices, exports, wind-down).
    async fn user_ids(&self, after: Option<&str>, limit: i64) -> Result<Vec<String>>;
    async fn update_profile(
        &self,
        id: &str,
        patch: &ProfilePatch,
        outbox: &[OutboxItem],
    ) -> Result<UserRecord>;
}

/// Account deletion: hide at once, shred at the deadline.
#[async_trait]
pub trait Deletion: Send + Sync {
    /// Marks the account `deleting` with its deadline and ends its sessions.
    async fn schedule_deletion(
        &self,
        id: &str,
        delete_after: i64,
        outbox: &[OutboxItem],
    ) -> Result<()>;
    /// Back to `active` (a login during the grace period).
    async fn cancel_deletion(&self, id: &str, outbox: &[OutboxItem]) -> Result<bool>;
    async fn due_for_deletion(&self, now: i64, limit: i64) -> Result<Vec<String>>;
    /// Deletes every row about the user stored here (account, sessions,
    /// videos, likes, follows, blocks, shares, comments, events), with the
    /// changes that remove their public content elsewhere; answers the media
    /// keys of their videos so the caller can delete the objects.
    async fn purge_user(&self, id: &str, outbox: &[OutboxItem]) -> Result<Vec<String>>;
}

/// One stored row, every value as text, for data exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    pub table: String,
    pub values: Vec<(String, Option<String>)>,
}

#[async_trait]
pub trait Export: Send + Sync {
    /// Every row about the user stored in this region's database, as text
    /// (sessions excepted: only their hashes are stored, which say nothing).
    async fn export_user(&self, user_id: &str) -> Result<Vec<ExportRow>>;
}

#[async_trait]
pub trait Staff: Send + Sync {
    /// `Conflict("staff handle")` if the handle exists in this region.
    async fn create_staff(&self, staff: &StaffRecord) -> Result<()>;
    async fn staff_by_handle(&self, handle: &str) -> Result<Option<StaffRecord>>;
    async fn create_staff_session(
        &self,
        token_hash: &str,
        staff_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;
    async fn staff_session(&self, token_hash: &str, now: i64) -> Result<Option<StaffRecord>>;
    async fn delete_staff_session(&self, token_hash: &str) -> Result<()>;
    /// Ends the session of every staff member of this region but the
    /// platform's and those of `keep_org` (a hand-over: the outgoing
    /// custodian's staff lose access at once). Answers how many ended.
    async fn end_staff_sessions_except(&self, keep_org: &str) -> Result<u64>;
}

/// Counts shown above the moderation queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Open cases of every kind.
    pub open: i64,
    /// Open cases nobody has taken.
    pub unassigned: i64,
    /// Open cases assigned to the asking moderator.
    pub mine: i64,
    /// Open appeals.
    pub appeals: i64,
}

/// What a decision changes where it is stored, written in the same
/// transaction that closes its case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionEffects {
    /// A video homed here takes this state (a removal, or its reversal).
    pub video_state: Option<(String, sovereel_model::VideoState, Option<String>)>,
    /// Changes for the catalog or other regions (labels, unpublishing,
    /// comment deletion, restoring).
    pub outbox: Vec<OutboxItem>,
}

/// Reports (at the reporter's home), and cases and decisions (at the home
/// of the content they are about, which is its creator's home).
#[async_trait]
pub trait Moderation: Send + Sync {
    /// Stores a report unless this reporter already reported this target;
    /// answers the stored report and whether it is new.
    async fn create_report(&self, report: &ReportRecord) -> Result<(ReportRecord, bool)>;
    /// Notes the case a report joined.
    async fn set_report_case(&self, report_id: &str, case_id: &str) -> Result<()>;
    /// The targets a user reported, newest first: hidden from them.
    async fn reported_by(
        &self,
        reporter_id: &str,
        limit: i64,
    ) -> Result<Vec<(sovereel_model::moderation::TargetKind, String)>>;
    /// Adds a report to the open case on its target, or opens one with
    /// `new_id`; answers the case as it now stands.
    async fn join_case(&self, new_id: &str, report: &CaseReport) -> Result<CaseRecord>;
    /// Opens an appeal or an intervention case; `Conflict("appeal")` when
    /// the decision was appealed already.
    async fn create_case(&self, case: &CaseRecord) -> Result<()>;
    async fn case(&self, id: &str) -> Result<Option<CaseRecord>>;
    /// Open cases by priority (severity, reports, age), after `after`.
    async fn case_queue(&self, after: Option<&QueueCursor>, limit: i64) -> Result<Vec<CaseRecord>>;
    async fn queue_counts(&self, staff_id: &str) -> Result<QueueCounts>;
    /// Assigns an open case that is free or already the moderator's; false
    /// when it is closed, gone or someone else's.
    async fn assign_case(&self, id: &str, staff_id: &str) -> Result<bool>;
    /// Claims an open case assigned to `staff_id` for `decision` (stored
    /// without a ledger index); false when the case is not open or not
    /// theirs: exactly one decision claims a case.
    async fn claim_case(&self, decision: &DecisionRecord, staff_id: &str) -> Result<bool>;
    /// Finishes a claimed decision in one transaction: its ledger index, its
    /// case closed, an appealed decision marked reversed, its effects.
    /// False when it was finished (or undone) already.
    async fn finish_decision(
        &self,
        id: &str,
        ledger_index: i64,
        effects: &DecisionEffects,
        now: i64,
    ) -> Result<bool>;
    /// Undoes a claim whose ledger entry was never written: the decision
    /// goes and its case reopens.
    async fn abandon_decision(&self, id: &str) -> Result<bool>;
    /// Decisions claimed but not finished (to settle at start-up).
    async fn pending_decisions(&self) -> Result<Vec<DecisionRecord>>;
    async fn decision(&self, id: &str) -> Result<Option<DecisionRecord>>;
    async fn decision_of_case(&self, case_id: &str) -> Result<Option<DecisionRecord>>;
    /// The appeal of a decision, if it was appealed.
    async fn appeal_case(&self, decision_id: &str) -> Result<Option<CaseRecord>>;
    /// Finished decisions about a user's content, newest first.
    async fn decisions_about(
        &self,
        subject_id: &str,
        before: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<DecisionRecord>>;
    /// Finished decisions on one target, oldest first.
    async fn decisions_on(
        &self,
        target_kind: sovereel_model::moderation::TargetKind,
        target_id: &str,
    ) -> Result<Vec<DecisionRecord>>;
}

#[async_trait]
pub trait Compact: Send + Sync {
    /// Makes deleted bytes unrecoverable from the database files where the
    /// backend allows it: SQLite runs with `secure_delete` (freed pages are
    /// zeroed) and this checkpoints and truncates the WAL, which still holds
    /// old page images. PostgreSQL: `VACUUM` of the touched tables.
    async fn compact(&self) -> Result<()>;
}

#[async_trait]
pub trait Sessions: Send + Sync {
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;
    /// The user of a live session.
    async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<String>>;
    async fn delete_session(&self, token_hash: &str) -> Result<bool>;
}

#[async_trait]
pub trait Videos: Send + Sync {
    async fn insert_video(&self, video: &VideoRecord) -> Result<()>;
    async fn video(&self, id: &str) -> Result<Option<VideoRecord>>;
    /// Records the outcome of processing, with the changes that follow.
    async fn finish_processing(
        &self,
        id: &str,
        outcome: &ProcessingOutcome,
        outbox: &[OutboxItem],
    ) -> Result<()>;
    /// Deletes a video and its likes stored here.
    async fn delete_video(&self, id: &str, outbox: &[OutboxItem]) -> Result<bool>;
    /// Videos still being processed (to resume after a restart).
    async fn processing_videos(&self) -> Result<Vec<VideoRecord>>;
    /// An author's ready videos among `visibilities`, newest first.
    async fn author_videos(
        &self,
        author_ids: &[String],
        visibilities: &[sovereel_model::Visibility],
        before: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<VideoRecord>>;
    /// An author's drafts (any state), newest first.
    async fn drafts(
        &self,
        author_id: &str,
        before: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<VideoRecord>>;
    /// Applies an owner's edit to a ready video with the changes that
    /// follow, in one transaction; false when the video is gone, not ready,
    /// or no longer what the edit was made from.
    async fn edit_video(&self, id: &str, edit: &VideoEdit, outbox: &[OutboxItem]) -> Result<bool>;
}

/// A user's content filters and topic preferences: one sealed document.
#[async_trait]
pub trait Preferences: Send + Sync {
    /// The stored document and its version.
    async fn content_filters(&self, user_id: &str) -> Result<Option<(String, i64)>>;
    /// Stores `body` as version `expected + 1` if the stored version is
    /// still `expected` (0: none stored yet); false when it moved on.
    async fn save_content_filters(
        &self,
        user_id: &str,
        body: &str,
        expected: i64,
        now: i64,
    ) -> Result<bool>;
}

#[async_trait]
pub trait Social: Send + Sync {
    /// Idempotent; true when the like is new.
    async fn like(
        &self,
        user_id: &str,
        video_id: &str,
        now: i64,
        outbox: &[OutboxItem],
    ) -> Result<bool>;
    /// Idempotent; true when a like was removed.
    async fn unlike(&self, user_id: &str, video_id: &str, outbox: &[OutboxItem]) -> Result<bool>;
    async fn liked_among(&self, user_id: &str, video_ids: &[String]) -> Result<Vec<String>>;
    /// The videos `user_id` liked, most recent like first: `(video_id,
    /// liked_at)`, after `before` (its key the like's time, its id the
    /// video's).
    async fn liked_videos(
        &self,
        user_id: &str,
        before: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<(String, i64)>>;
    /// Sets the follow edge (at the follower's home); returns the previous state.
    async fn follow(
        &self,
        follower: &str,
        followee: &str,
        state: FollowState,
        now: i64,
        outbox: &[OutboxItem],
    ) -> Result<Option<FollowState>>;
    async fn unfollow(
        &self,
        follower: &str,
        followee: &str,
        outbox: &[OutboxItem],
    ) -> Result<Option<FollowState>>;
    async fn follow_state(&self, follower: &str, followee: &str) -> Result<Option<FollowState>>;
    async fn following(&self, follower: &str, limit: i64) -> Result<Vec<String>>;
    /// Approved followers of `followee` homed here, most recent follow
    /// first: `(follower, followed_at)` after `before` (the follow's time,
    /// the follower's id).
    async fn followers_page(
        &self,
        followee: &str,
        before: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<(String, i64)>>;
    /// The accounts `follower` (homed here) follows, approved, the same way.
    async fn following_page(
        &self,
        follower: &str,
        before: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<(String, i64)>>;
    /// Followers (homed here) with a pending request to `followee`.
    async fn pending_requests(&self, followee: &str, limit: i64) -> Result<Vec<String>>;
    async fn block(
        &self,
        blocker: &str,
        blocked: &str,
        now: i64,
        outbox: &[OutboxItem],
    ) -> Result<bool>;
    async fn unblock(&self, blocker: &str, blocked: &str, outbox: &[OutboxItem]) -> Result<bool>;
    /// Whether `blocker` (homed here) has blocked `blocked`.
    async fn has_blocked(&self, blocker: &str, blocked: &str) -> Result<bool>;
    /// Everyone `a` (homed here) blocked.
    async fn blocked_by(&self, a: &str) -> Result<Vec<String>>;
    /// Users homed here who blocked `b`.
    async fn blockers_of(&self, b: &str) -> Result<Vec<String>>;
    async fn record_share(
        &self,
        id: &str,
        user_id: &str,
        video_id: &str,
        now: i64,
        outbox: &[OutboxItem],
    ) -> Result<()>;
    /// Remembers that the user wrote a comment (the protected authorship link).
    async fn record_comment(
        &self,
        comment_id: &str,
        user_id: &str,
        video_id: &str,
        now: i64,
        outbox: &[OutboxItem],
    ) -> Result<()>;
}

#[async_trait]
pub trait Comments: Send + Sync {
    async fn comments(
        &self,
        video_id: &str,
        parent_id: Option<&str>,
        after: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<CommentRecord>>;
    async fn comment(&self, id: &str) -> Result<Option<CommentRecord>>;
}

#[async_trait]
pub trait Events: Send + Sync {
    async fn append_events(&self, events: &[EventRecord], outbox: &[OutboxItem]) -> Result<()>;
    /// Videos the user has had an impression of (or skipped, or viewed).
    async fn seen_videos(&self, user_id: &str, limit: i64) -> Result<Vec<String>>;
    /// Videos the user marked "not interested".
    async fn not_interested_videos(&self, user_id: &str, limit: i64) -> Result<Vec<String>>;
}

#[async_trait]
pub trait Outbox: Send + Sync {
    async fn pending_changes(&self, limit: i64) -> Result<Vec<PendingChange>>;
    async fn mark_applied(&self, seqs: &[i64]) -> Result<()>;
}

/// Applies changes that arrive from a region's outbox, idempotently.
#[async_trait]
pub trait ApplyChanges: Send + Sync {
    /// Applies `change` unless `(origin, seq)` was applied already.
    async fn apply_change(&self, origin: &str, seq: i64, change: &Change) -> Result<bool>;
}

/// A region's database.
pub trait RegionStore:
    Accounts
    + Deletion
    + Export
    + Staff
    + Moderation
    + Compact
    + Sessions
    + Videos
    + Preferences
    + Social
    + Comments
    + Events
    + crate::Counting
    + crate::Inbox
    + crate::Credentials
    + Outbox
    + ApplyChanges
    + crate::BulkLoad
    + crate::BulkRegion
{
}

#[async_trait]
pub trait Directory: Send + Sync {
    /// Reserves a handle across every region; `Conflict("handle")` if taken.
    async fn reserve_handle(
        &self,
        handle: &str,
        user_id: &str,
        region: &str,
        now: i64,
    ) -> Result<()>;
    async fn release_handle(&self, handle: &str, user_id: &str) -> Result<()>;
    /// `(user_id, region)` of a handle.
    async fn resolve_handle(&self, handle: &str) -> Result<Option<(String, String)>>;
}

#[async_trait]
pub trait Catalog: Send + Sync {
    async fn profile(&self, user_id: &str) -> Result<Option<ProfileRecord>>;
    async fn profile_by_handle(&self, handle: &str) -> Result<Option<ProfileRecord>>;
    async fn profiles(&self, user_ids: &[String]) -> Result<Vec<ProfileRecord>>;
    async fn video(&self, id: &str) -> Result<Option<CatalogVideo>>;
    async fn videos(&self, ids: &[String]) -> Result<Vec<CatalogVideo>>;
    /// Public videos of these authors, newest first.
    async fn videos_by_authors(
        &self,
        author_ids: &[String],
        before: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<CatalogVideo>>;
    /// Public videos by hot score, highest first.
    async fn hot_videos(&self, before: Option<&Cursor>, limit: i64) -> Result<Vec<CatalogVideo>>;
    /// Public videos, newest first.
    async fn fresh_videos(&self, before: Option<&Cursor>, limit: i64) -> Result<Vec<CatalogVideo>>;
    async fn hashtag_videos(
        &self,
        tag: &str,
        before: Option<&Cursor>,
        limit: i64,
    ) -> Result<Vec<CatalogVideo>>;
    async fn hashtag_count(&self, tag: &str) -> Result<i64>;
    async fn search_profiles(&self, q: &str, limit: i64) -> Result<Vec<ProfileRecord>>;
    async fn search_hashtags(&self, q: &str, limit: i64) -> Result<Vec<(String, i64)>>;
    /// `(accounts homed in region, public videos by them)`.
    async fn region_counts(&self, region: &str) -> Result<(i64, i64)>;
    async fn search_captions(&self, words: &[String], limit: i64) -> Result<Vec<CatalogVideo>>;
}

/// The public catalog.
pub trait CatalogStore:
    Directory + Catalog + Comments + ApplyChanges + Compact + crate::BulkLoad + crate::BulkDirectory
{
}
