//! The crate's error types: one for events, one for releases, one for snapshots.
//! The server maps each variant to a stable problem+json type, so variants are
//! specific enough for a client to act on.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EventError {
    #[error("invalid user id")]
    InvalidUser,
    #[error("invalid video id")]
    InvalidVideo,
    #[error("unknown video {0}")]
    UnknownVideo(String),
    #[error("watch_ms {0} is negative")]
    NegativeWatch(i64),
    #[error("watch_ms {watch_ms} is implausible for a video of {duration_ms} ms")]
    AbsurdWatch { watch_ms: i64, duration_ms: i64 },
    #[error("duration_ms {0} is out of range")]
    BadDuration(i64),
    #[error("timestamp {0} is out of range")]
    BadTimestamp(i64),
    #[error("batch of {0} events exceeds the limit of {1}")]
    BatchTooLarge(usize, usize),
    #[error("event is for user {found}, not the caller")]
    WrongUser { found: String },
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReleaseError {
    #[error("release note is malformed: {0}")]
    Malformed(String),
    #[error("release manifest is invalid: {0}")]
    InvalidManifest(String),
    #[error("release is not signed by the platform key {0}")]
    NotSignedByPlatform(String),
    #[error("release is not approved by this region's custodian key {0}")]
    NotApproved(String),
    #[error("release {0} is not installed")]
    UnknownRelease(String),
    #[error("release {0} is already installed with different content")]
    Conflict(String),
    #[error("release engine version {found} is not supported by this engine ({supported})")]
    UnsupportedEngine { found: String, supported: String },
}

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("snapshot is not a sovereel-recs snapshot")]
    BadMagic,
    #[error("snapshot format version {0} is not supported")]
    UnsupportedVersion(u32),
    #[error("snapshot is corrupt: {0}")]
    Corrupt(String),
    #[error("snapshot encoding failed: {0}")]
    Encode(String),
}
