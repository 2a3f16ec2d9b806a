//! Sovereel's recommendation engine ("the algorithm").
//!
//! One [`Engine`] per region learns online from that region's events and ranks
//! For You pages over the public catalog, through a candidate pipeline whose
//! folders name its stages (see [`pipeline`]). It runs only releases signed by
//! the platform and approved by the region's custodian ([`release`]). The
//! evaluation ([`eval`]) and benchmarks ([`bench`]) drive this same engine.
//!
//! The server's calls: [`Engine::new`], [`Engine::upsert_video`],
//! [`Engine::remove_video`], [`Engine::observe`] / [`Engine::observe_batch`]
//! (after [`event::validate_batch`]), [`Engine::rank`], [`Engine::explain`],
//! [`Engine::forget_user`], [`Engine::install_release`] /
//! [`Engine::activate_release`], [`Engine::snapshot`] / [`Engine::restore`].

pub mod bench;
pub mod catalog;
pub mod engine;
pub mod error;
pub mod eval;
pub mod event;
pub mod ids;
pub mod model;
pub mod pipeline;
pub mod release;
pub mod snapshot;
pub mod user;

pub use catalog::{VideoMeta, Visibility};
pub use engine::{Engine, EngineConfig, Explanation, FeedItem, Observed, Page, Query, RankError};
pub use error::{EventError, ReleaseError, SnapshotError};
pub use event::{Event, EventKind, validate_batch};
pub use release::manifest::Manifest;
pub use release::{ReleaseTrust, approve_release, manifest_sha256, sign_release, verify_release};

#[cfg(test)]
mod tests {
    /// The server shares one engine per region across tasks behind a mutex.
    #[test]
    fn engine_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<crate::Engine>();
    }
}
