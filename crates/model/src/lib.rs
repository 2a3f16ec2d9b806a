//! The pure domain of Sovereel: identifiers, validated values ("parse, don't
//! validate"), regions and countries, and the data-class registry that says
//! where every stored column may live. No I/O happens here; every other crate
//! depends inward on this one.

pub mod classes;
pub mod country;
pub mod ids;
pub mod inbox;
pub mod moderation;
pub mod text;
pub mod values;

pub use classes::{COLUMNS, Column, DataClass, Db};
pub use country::CountryCode;
pub use ids::{
    CaseId, CommentId, Id, IdKind, NotificationId, RegionId, ReportId, ShareId, UserId, VideoId,
    random_hex,
};
pub use inbox::InboxKind;
pub use text::{ParsedCaption, parse_caption};
pub use values::{
    AccountState, Birthdate, CommentPolicy, DisplayName, Email, Handle, MAX_STACKED_MARKS,
    Password, VideoState, Visibility, handle_skeleton,
};

/// Milliseconds since the Unix epoch: the one time representation stored
/// in every backend, so SQLite and PostgreSQL agree to the millisecond.
pub type Millis = i64;

/// The current wall-clock time in milliseconds.
pub fn now_millis() -> Millis {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Formats milliseconds as RFC 3339, the form the API shows.
pub fn rfc3339(ms: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Reads an RFC 3339 time (as the API shows them) as milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A value failed to parse at the boundary. The message is safe to show to
/// the client: it names the field and the rule, never the stored data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub message: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
