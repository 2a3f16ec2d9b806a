//! Storage for Sovereel: one trait per aggregate, and one SQL implementation
//! compiled for two backends, SQLite (the embedded default) and PostgreSQL
//! (for scale). Each backend has its own migrations, which are only ever
//! added, never edited.
//!
//! Two kinds of database exist. A *region* database holds the protected data
//! of the users homed in that region. The *catalog* holds public content,
//! counters and the handle directory. Writes that must reach another
//! database (a counter in the catalog, a follow mirrored at the followee's
//! home) are written to the region's outbox in the same transaction as the
//! change that causes them, and applied elsewhere idempotently by
//! [`Change`] (see `outbox.rs`): a crash between the two steps delays a
//! counter, it never loses or doubles one.

mod credentials;
mod error;
mod inbox;
mod outbox;
mod records;
mod sql;
pub mod testing;
mod traits;

pub use credentials::Credentials;
pub use error::StoreError;
pub use inbox::{
    GroupCursor, Inbox, NOTIFICATION_WINDOW_MS, NotificationGroup, NotificationRecord,
};
pub use outbox::{Change, OutboxItem, PendingChange, Target};
pub use records::*;
pub use sql::bulk::{BulkDirectory, BulkLoad, BulkRegion, NewFollow};
pub use sql::counting::{Counting, OPENED, SERVED};
pub use sql::{Backend, SqlCatalog, SqlRegion, open_catalog, open_region};
pub use traits::*;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The ranking used for "hot" lists (trending, hashtag pages, caption
/// search): log engagement plus a time term, so newer videos overtake older
/// ones without any periodic recomputation. Six hours of age weigh as much as
/// a factor of e in engagement.
pub fn hot_score(c: &Counts, created_at_ms: i64) -> f64 {
    let engagement = 1.0
        + 3.0 * c.likes as f64
        + 4.0 * c.comments as f64
        + 5.0 * c.shares as f64
        + c.views as f64;
    engagement.ln() + created_at_ms as f64 / 21_600_000.0
}
