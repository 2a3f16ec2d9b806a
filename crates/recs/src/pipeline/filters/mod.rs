//! Filters: each removes candidates that must not be shown, for one reason.
pub mod age_restricted;
pub mod blocked_authors;
pub mod deleted;
pub mod misinformation;
pub mod not_interested;
pub mod seen;
pub mod visibility;
