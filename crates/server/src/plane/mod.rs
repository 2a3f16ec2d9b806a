//! The plane seam: how one region reaches another.
//!
//! A region's own requests run inside its own service, on its custodian's
//! machines, against its [`LocalPlane`] (store, media, keyring, ledger,
//! engine). What a request needs of *another* region goes through the
//! [`RegionPlane`] trait, whose operations are coarse and batched: one call
//! per request and region, never a per-row protocol. Two implementations:
//!
//! * [`LocalPlane`]: the region in this process (the embedded default runs
//!   every region in one process, so every plane is local);
//! * [`RemotePlane`]: a client of another region's service, over mutual TLS
//!   (`cluster.rs`), answered by that region's `plane/service.rs`.
//!
//! A remote plane answers only what the region's own rules let leave it:
//! the receiving service decides visibility and custody with its own
//! gateway and ledger (`service.rs`), so a caller cannot skip them. The
//! local implementation answers raw records because its caller runs the
//! same rules in the same process (`access.rs`).

pub mod local;
pub mod remote;
pub mod service;

use async_trait::async_trait;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sovereel_model::{RegionId, Visibility};
use sovereel_store::{CaseReport, Change, CommentRecord, FollowState, VideoRecord};

pub use local::LocalPlane;
pub use remote::RemotePlane;

/// Why a plane could not answer.
#[derive(Debug, thiserror::Error)]
pub enum PlaneError {
    /// The region's service does not answer (down, restarting, unreachable).
    #[error("region `{region}` is unavailable")]
    Unavailable { region: String },
    /// The region refused the call (credentials, policy).
    #[error("region `{region}` refused the call: {detail}")]
    Refused { region: String, detail: String },
    #[error(transparent)]
    Store(#[from] sovereel_store::StoreError),
    #[error("{0}")]
    Other(String),
}

pub type PlaneResult<T> = Result<T, PlaneError>;

/// What becomes of a follow edge (stored at the follower's home).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowDecision {
    /// The followee approved a pending request.
    Approve,
    /// The followee declined a pending request.
    Decline,
    /// The edge goes, whatever its state (a block).
    Drop,
}

/// Which list of follow edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowList {
    /// Who follows the user: edges kept at each follower's home.
    Followers,
    /// Whom the user follows: edges kept at the user's home.
    Following,
}

/// Which media object of a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Stream,
    Poster,
}

/// One region, as every other region and the edges see it.
#[async_trait]
pub trait RegionPlane: Send + Sync {
    fn id(&self) -> &RegionId;

    /// The follow edge `follower → followee`; `follower` is homed here.
    async fn follow_state(
        &self,
        follower: &str,
        followee: &str,
    ) -> PlaneResult<Option<FollowState>>;

    /// One page of approved follow edges kept here, newest first, as
    /// `(user id, followed at)` after `cursor` (an encoded cursor):
    /// `Followers`, users homed here who follow `user`; `Following`, whom
    /// `user` (homed here) follows. A remote plane answers a private
    /// account's lists only for a viewer homed at the caller (whose home
    /// checked that the viewer is the account or an approved follower), and
    /// leaves private accounts out of someone's `Following` for anyone but
    /// that someone.
    async fn follow_list(
        &self,
        user: &str,
        list: FollowList,
        viewer: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> PlaneResult<Vec<(String, i64)>>;

    /// Whether `blocker` (homed here) blocked `target`.
    async fn has_blocked(&self, blocker: &str, target: &str) -> PlaneResult<bool>;

    /// Everyone homed here who blocked `user`.
    async fn blockers_of(&self, user: &str) -> PlaneResult<Vec<String>>;

    /// Pending follow requests to `followee` from users homed here.
    async fn pending_requests(&self, followee: &str, limit: i64) -> PlaneResult<Vec<String>>;

    /// Settles the edge `follower → followee` (follower homed here): answers
    /// false when there was nothing to settle (an approval needs a pending
    /// request). The counter changes follow through the region's outbox.
    async fn settle_follow(
        &self,
        follower: &str,
        followee: &str,
        decision: FollowDecision,
    ) -> PlaneResult<bool>;

    /// A video homed here, for `viewer` (homed at the caller). A remote
    /// plane answers only a video the viewer may see.
    async fn video(&self, id: &str, viewer: Option<&str>) -> PlaneResult<Option<VideoRecord>>;

    /// Videos of `authors` (homed here) with the given visibilities, newest
    /// first, after `cursor` (an encoded cursor). A remote plane answers
    /// `public` to anyone, `followers` only for a viewer homed at the
    /// caller (whose home keeps, and vouches for, the follow edge), and
    /// `private` to no other region.
    async fn author_videos(
        &self,
        authors: &[String],
        visibilities: &[Visibility],
        viewer: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> PlaneResult<Vec<VideoRecord>>;

    /// Comments on a non-public video, oldest first. Asked of the video's
    /// home for a viewer homed at the caller, a remote plane gathers every
    /// region's comments once it has decided the viewer may see the video;
    /// asked by the video's home, it answers those stored here (written by
    /// users homed here). A local plane answers those stored here.
    async fn comments(
        &self,
        video: &str,
        parent: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
        viewer: Option<&str>,
    ) -> PlaneResult<Vec<CommentRecord>>;

    /// One comment stored here. A remote plane answers its ids only (what
    /// a reply needs to name its parent), never its text.
    async fn comment(&self, id: &str, viewer: Option<&str>) -> PlaneResult<Option<CommentRecord>>;

    /// A report on content (or an account) homed here: it joins the open
    /// case on its target, or opens one, and the step is ledgered here.
    /// Answers the case's id. The report does not name its reporter.
    async fn file_report(&self, report: &CaseReport) -> PlaneResult<String>;

    /// A video's media for `viewer`, honouring `range`: the whole HTTP
    /// answer (200, 206 or a problem), streamed.
    async fn media(
        &self,
        video: &str,
        kind: MediaKind,
        viewer: Option<&str>,
        range: Option<&str>,
    ) -> PlaneResult<Response>;

    /// Applies outbox changes from `origin` in order; each `(origin, seq)`
    /// applies once, however often it is delivered.
    async fn apply_changes(&self, origin: &str, changes: &[(i64, Change)]) -> PlaneResult<()>;
}
