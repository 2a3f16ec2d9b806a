//! Interaction events and their validation.
//!
//! Events come from clients, so they are hostile input: the engine learns only
//! from events that pass `Event::validate` and refer to a known, live video.
//! The server checks that a batch belongs to the session's user with
//! [`validate_batch`] before handing events over.

use crate::error::EventError;
use crate::ids::valid_id;
use serde::{Deserialize, Serialize};

/// Most events a client may post at once (the `POST /v1/events` limit).
pub const MAX_BATCH: usize = 500;
/// Longest video the platform accepts is 3 minutes; allow generous slack for
/// looping playback but nothing absurd.
pub const MAX_DURATION_MS: i64 = 3_600_000;
/// A view may loop; more than this many plays in one view event is not a person.
pub const MAX_LOOPS: i64 = 20;
/// 2000-01-01 .. 2200-01-01 in Unix ms; anything outside is a broken clock or an attack.
const MIN_TS: i64 = 946_684_800_000;
const MAX_TS: i64 = 7_258_118_400_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Impression,
    View {
        watch_ms: i64,
        duration_ms: i64,
    },
    Skip,
    Like,
    Unlike,
    Comment,
    Share,
    /// Following the video's author, from the video.
    Follow,
    NotInterested,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub user: String,
    pub video: String,
    /// Unix milliseconds.
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    pub fn new(user: &str, video: &str, at_ms: i64, kind: EventKind) -> Self {
        Event {
            user: user.into(),
            video: video.into(),
            at_ms,
            kind,
        }
    }

    /// Checks everything that does not need the catalog.
    pub fn validate(&self) -> Result<(), EventError> {
        if !valid_id(&self.user) {
            return Err(EventError::InvalidUser);
        }
        if !valid_id(&self.video) {
            return Err(EventError::InvalidVideo);
        }
        if !(MIN_TS..=MAX_TS).contains(&self.at_ms) {
            return Err(EventError::BadTimestamp(self.at_ms));
        }
        if let EventKind::View {
            watch_ms,
            duration_ms,
        } = self.kind
        {
            if !(1..=MAX_DURATION_MS).contains(&duration_ms) {
                return Err(EventError::BadDuration(duration_ms));
            }
            if watch_ms < 0 {
                return Err(EventError::NegativeWatch(watch_ms));
            }
            if watch_ms > duration_ms.saturating_mul(MAX_LOOPS) {
                return Err(EventError::AbsurdWatch {
                    watch_ms,
                    duration_ms,
                });
            }
        }
        Ok(())
    }
}

/// The server-side checks on a posted batch: its size, that every event is the
/// caller's own, and each event's own validity. Nothing in a rejected batch
/// should be learned from.
pub fn validate_batch(caller: &str, events: &[Event]) -> Result<(), EventError> {
    if events.len() > MAX_BATCH {
        return Err(EventError::BatchTooLarge(events.len(), MAX_BATCH));
    }
    for e in events {
        if e.user != caller {
            return Err(EventError::WrongUser {
                found: e.user.clone(),
            });
        }
        e.validate()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_750_000_000_000;

    fn view(w: i64, d: i64) -> Event {
        Event::new(
            "us_a",
            "v1",
            T,
            EventKind::View {
                watch_ms: w,
                duration_ms: d,
            },
        )
    }

    #[test]
    fn rejects_bad_watch_and_ids() {
        assert_eq!(
            view(-1, 1000).validate(),
            Err(EventError::NegativeWatch(-1))
        );
        assert!(matches!(
            view(1_000_000, 1000).validate(),
            Err(EventError::AbsurdWatch { .. })
        ));
        assert_eq!(view(10, 0).validate(), Err(EventError::BadDuration(0)));
        assert!(view(1500, 1000).validate().is_ok(), "a loop is fine");
        let mut e = view(10, 10);
        e.user = "bad id".into();
        assert_eq!(e.validate(), Err(EventError::InvalidUser));
        let mut e = view(10, 10);
        e.at_ms = -5;
        assert_eq!(e.validate(), Err(EventError::BadTimestamp(-5)));
    }

    #[test]
    fn batch_checks_owner_and_size() {
        let ok = vec![view(10, 100); 3];
        assert!(validate_batch("us_a", &ok).is_ok());
        assert!(matches!(
            validate_batch("us_b", &ok),
            Err(EventError::WrongUser { .. })
        ));
        let big = vec![view(10, 100); MAX_BATCH + 1];
        assert_eq!(
            validate_batch("us_a", &big),
            Err(EventError::BatchTooLarge(MAX_BATCH + 1, MAX_BATCH))
        );
    }

    #[test]
    fn json_shape_matches_the_api() {
        let e: Event = serde_json::from_str(
            r#"{"user":"us_a","video":"v1","at_ms":1750000000000,"type":"view","watch_ms":5,"duration_ms":9}"#,
        )
        .unwrap();
        assert_eq!(e, view(5, 9));
    }
}
