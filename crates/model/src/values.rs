//! Validated values. Each is built by a fallible `parse`, so an invalid
//! handle, email or birthdate cannot exist past the HTTP boundary.

use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;

use crate::InvalidValue;

/// A handle: 3–24 characters of lowercase letters, digits, `_` and `.`,
/// starting with a letter or digit and not ending with `.`. Stored
/// lowercased; unique across regions by its [`skeleton`](Handle::skeleton),
/// not only by its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Handle(String);

impl Handle {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim_start_matches('@');
        let lower = s.to_ascii_lowercase();
        let n = lower.chars().count();
        if !(3..=24).contains(&n) {
            return Err(InvalidValue::new("handle", "must be 3 to 24 characters"));
        }
        if !lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        {
            return Err(InvalidValue::new(
                "handle",
                "may contain only letters, digits, '_' and '.' (no spaces)",
            ));
        }
        if !lower.as_bytes()[0].is_ascii_alphanumeric() {
            return Err(InvalidValue::new(
                "handle",
                "must start with a letter or digit",
            ));
        }
        // A caption's `@alice_us.` at the end of a sentence mentions
        // `alice_us`, so a handle ending in `.` could never be mentioned and
        // would only ever pass for its neighbour.
        if lower.ends_with('.') {
            return Err(InvalidValue::new("handle", "must not end with '.'"));
        }
        Ok(Self(lower))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The handle's skeleton: what it looks like to a reader who cannot
    /// tell `0` from `o` or `alice_us` from `alice.us_`. Two handles with
    /// the same skeleton are the same name, so uniqueness (and the
    /// reservation of deleted accounts' handles) is checked on the
    /// skeleton. See [`handle_skeleton`] for the rule.
    pub fn skeleton(&self) -> String {
        handle_skeleton(&self.0)
    }
}

/// The skeleton of a handle given as text (a stored handle, or one typed by
/// a client, with or without `@`). It never fails, so existing rows can be
/// backfilled whatever rules they were accepted under. The rule, applied in
/// this order:
///
/// 1. leading `@`s are dropped (as [`Handle::parse`] drops them) and ASCII
///    letters are lowercased;
/// 2. letters and digits that look alike become one: `0` → `o`;
///    `1`, `i` → `l`; `5` → `s`; and the letter pairs that pass for one
///    letter are spelt out: `m` → `rn`, `w` → `vv`, `d` → `cl`;
/// 3. `.` and `_` are one separator: each run of them becomes a single `_`,
///    and separators at either end are dropped.
///
/// So `alice_us`, `alice_us.`, `Alice.US_`, `a1ice__us` and `@alice.u5` all
/// have the skeleton `allce_us`. A skeleton is a key for comparison, never
/// shown to anyone. Characters outside the handle alphabet are kept as they
/// are (after lowercasing), so text that is not a handle cannot collide
/// with one by accident.
pub fn handle_skeleton(handle: &str) -> String {
    // Separators before the first letter are dropped with the `@`s, so a
    // skeleton never starts with a character this function would drop.
    let handle = handle.trim_start_matches(['@', '.', '_']);
    let mut out = String::with_capacity(handle.len() + 4);
    let mut pending_separator = false;
    for c in handle.chars().map(|c| c.to_ascii_lowercase()) {
        if c == '.' || c == '_' {
            pending_separator = !out.is_empty();
            continue;
        }
        if pending_separator {
            out.push('_');
            pending_separator = false;
        }
        match c {
            '0' => out.push('o'),
            '1' | 'i' => out.push('l'),
            '5' => out.push('s'),
            'm' => out.push_str("rn"),
            'w' => out.push_str("vv"),
            'd' => out.push_str("cl"),
            other => out.push(other),
        }
    }
    out
}

impl std::fmt::Display for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, checked for shape only (one `@`, a dotted domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        let bad = || InvalidValue::new("email", "is not a valid email address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(bad());
        }
        if domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password: 8 to 128 characters. Never logged, never stored in clear.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let n = s.chars().count();
        if n < 8 {
            return Err(InvalidValue::new(
                "password",
                "must be at least 8 characters",
            ));
        }
        if n > 128 {
            return Err(InvalidValue::new(
                "password",
                "must be at most 128 characters",
            ));
        }
        Ok(Self(s.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A birthdate (`YYYY-MM-DD`), never in the future nor before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Birthdate(time::Date);

impl Birthdate {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let d = time::Date::parse(s.trim(), &fmt)
            .map_err(|_| InvalidValue::new("birthdate", "must be a date as YYYY-MM-DD"))?;
        let today = time::OffsetDateTime::now_utc().date();
        if d > today || d.year() < 1900 {
            return Err(InvalidValue::new(
                "birthdate",
                "is not a plausible birthdate",
            ));
        }
        Ok(Self(d))
    }

    /// Whole years of age on `today`.
    pub fn age_on(&self, today: time::Date) -> i32 {
        let mut age = today.year() - self.0.year();
        if (today.month() as u8, today.day()) < (self.0.month() as u8, self.0.day()) {
            age -= 1;
        }
        age
    }

    pub fn age(&self) -> i32 {
        self.age_on(time::OffsetDateTime::now_utc().date())
    }

    pub fn to_iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month() as u8,
            self.0.day()
        )
    }
}

/// A display name: 1–50 characters that show as what they are. Refused:
/// control characters; bidirectional controls, which reorder the text
/// around them (`\u{202E}` makes `gnp.exe` read as `exe.png`); zero-width
/// characters, which make two names that look the same differ; and more
/// than [`MAX_STACKED_MARKS`] combining marks on one character, which
/// spill over the lines around the name. Zero-width joiners go too, and
/// with them the emoji sequences built with one (woman, ZWJ, laptop): a
/// name that cannot hide anything is worth more than those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

/// Combining marks allowed in a row: enough for Vietnamese (`ệ` spelt with
/// two marks), Thai and Devanagari vowel signs with a tone or nasal mark.
pub const MAX_STACKED_MARKS: usize = 2;

/// Bidirectional formatting characters: embeddings and overrides
/// (U+202A–U+202E), isolates (U+2066–U+2069), and the implicit marks
/// (U+200E, U+200F, U+061C).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters with no width: zero-width space, non-joiner and joiner
/// (U+200B–U+200D), word joiner (U+2060) and the byte-order mark (U+FEFF).
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

impl DisplayName {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let invalid = |message: String| Err(InvalidValue::new("display_name", message));
        let s = s.trim();
        let n = s.chars().count();
        if n == 0 || n > 50 {
            return invalid("must be 1 to 50 characters".into());
        }
        let mut marks_in_a_row = 0;
        for c in s.chars() {
            if c.is_control() {
                return invalid("must not contain control characters".into());
            }
            if is_bidi_control(c) {
                return invalid(format!(
                    "must not contain bidirectional control characters (found U+{:04X})",
                    c as u32
                ));
            }
            if is_zero_width(c) {
                return invalid(format!(
                    "must not contain zero-width characters (found U+{:04X})",
                    c as u32
                ));
            }
            if is_combining_mark(c) {
                marks_in_a_row += 1;
                if marks_in_a_row > MAX_STACKED_MARKS {
                    return invalid(format!(
                        "must not stack more than {MAX_STACKED_MARKS} combining marks on one character"
                    ));
                }
            } else {
                marks_in_a_row = 0;
            }
        }
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A closed set of lower-case names, stored and sent as those names: the
/// enum, `as_str`, `parse` (naming the field and the allowed values when it
/// refuses) and `Display`, written once for every such type.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Result<Self, InvalidValue> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(InvalidValue::new(
                        $field,
                        concat!("must be one of ", string_enum!(@list $($text),+)),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    (@list $first:literal $(, $rest:literal)*) => { concat!($first $(, ", ", $rest)*) };
}

string_enum!(
    /// Who may see a video.
    Visibility, "visibility" {
        Public => "public",
        Followers => "followers",
        Private => "private",
    }
);

string_enum!(
    /// Who may comment on a video.
    CommentPolicy, "comments" {
        Everyone => "everyone",
        Followers => "followers",
        Nobody => "nobody",
    }
);

string_enum!(
    /// Where an upload is in its life: processing in the background, ready
    /// to play, refused by processing (with a reason beside it), or removed
    /// by a moderation decision (kept, unseen, until an appeal or its end).
    VideoState, "state" {
        Processing => "processing",
        Ready => "ready",
        Failed => "failed",
        Removed => "removed",
    }
);

string_enum!(
    /// An account is active, or deleting during its grace period.
    AccountState, "state" {
        Active => "active",
        Deleting => "deleting",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles() {
        assert_eq!(Handle::parse("@Alice_1").unwrap().as_str(), "alice_1");
        for bad in [
            "ab",
            "has space",
            "_lead",
            "way_too_long_handle_for_us_",
            "émile",
        ] {
            assert!(Handle::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn handles_may_not_end_with_a_dot() {
        let e = Handle::parse("alice_us.").unwrap_err();
        assert_eq!(e.message, "must not end with '.'");
        assert!(Handle::parse("alice.us").is_ok());
        assert!(Handle::parse("alice_us_").is_ok());
    }

    #[test]
    fn trailing_punctuation_does_not_make_a_new_handle() {
        let taken = Handle::parse("alice_us").unwrap().skeleton();
        for same in [
            "alice_us_",
            "alice_us__",
            "Alice_US",
            "@alice_us",
            "alice.us_",
        ] {
            assert_eq!(Handle::parse(same).unwrap().skeleton(), taken, "{same}");
        }
        // Stored handles from before the rule still get a skeleton.
        assert_eq!(handle_skeleton("alice_us."), taken);
        assert_eq!(handle_skeleton("alice_us._."), taken);
        // However many `@`s Handle::parse drops, the skeleton drops too.
        assert_eq!(handle_skeleton("@@alice_us"), taken);
    }

    #[test]
    fn confusable_handles_share_a_skeleton() {
        let sk = |h: &str| Handle::parse(h).unwrap().skeleton();
        assert_eq!(sk("alice_us"), "allce_us");
        for (a, b) in [
            ("bob", "b0b"),
            ("lily", "1i1y"),
            ("lily", "IiLy"),
            ("sam", "5arn"),
            ("wendy", "vvencly"),
            ("alice_us", "a1ice__us"),
            ("alice_us", "alice.u5"),
            ("first.last", "first_last"),
            ("modern", "rnodern"),
        ] {
            assert_eq!(sk(a), sk(b), "{a} / {b}");
        }
        for (a, b) in [
            ("alice", "alicia"),
            ("alice_us", "aliceus"),
            ("bob", "bobb"),
        ] {
            assert_ne!(sk(a), sk(b), "{a} / {b}");
        }
    }

    #[test]
    fn skeletons_are_stable() {
        // The store keeps skeletons: taking one twice must change nothing,
        // or a backfill and a sign-up would disagree.
        // "@_@c" was found by fuzz/fuzz_targets/model_names.rs: dropping
        // the leading separator used to leave a leading `@` behind.
        for h in ["alice_us", "b0b.", "__x__", "m1w_d", "@Q.5", "@_@cUd\t"] {
            let once = handle_skeleton(h);
            assert_eq!(handle_skeleton(&once), once, "{h}");
        }
    }

    fn display_name_error(s: &str) -> String {
        DisplayName::parse(s).unwrap_err().message
    }

    #[test]
    fn display_names_refuse_bidi_controls() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let name = format!("Ali{c}ce");
            assert_eq!(
                display_name_error(&name),
                format!(
                    "must not contain bidirectional control characters (found U+{:04X})",
                    c as u32
                )
            );
        }
        assert_eq!(
            display_name_error("\u{202E}gnp.exe"),
            "must not contain bidirectional control characters (found U+202E)"
        );
        // Right-to-left text itself is welcome.
        assert!(DisplayName::parse("مريم").is_ok());
        assert!(DisplayName::parse("שרה Cohen").is_ok());
    }

    #[test]
    fn display_names_refuse_zero_width_characters() {
        for (c, code) in [
            ('\u{200B}', "200B"),
            ('\u{200C}', "200C"),
            ('\u{200D}', "200D"),
            ('\u{2060}', "2060"),
            ('\u{FEFF}', "FEFF"),
        ] {
            assert_eq!(
                display_name_error(&format!("Al{c}ice")),
                format!("must not contain zero-width characters (found U+{code})")
            );
        }
        // Leading and trailing ones are not trimmed away silently either.
        assert!(DisplayName::parse("\u{FEFF}Alice").is_err());
        assert!(DisplayName::parse("Alice\u{200B}").is_err());
    }

    #[test]
    fn display_names_refuse_stacked_combining_marks() {
        // The reported name: one letter and 49 marks, 50 characters.
        let zalgo = format!("Z{}", "\u{0301}".repeat(49));
        assert_eq!(
            display_name_error(&zalgo),
            "must not stack more than 2 combining marks on one character"
        );
        assert!(DisplayName::parse("e\u{0302}\u{0301}\u{0323}").is_err());
        // Two in a row is ordinary writing: Vietnamese ế spelt with marks,
        // Hindi है with a nasal sign, and marks spread over a word.
        for ok in [
            "Nguye\u{0302}\u{0303}n",
            "Nguyễn",
            "\u{0939}\u{0948}\u{0902}",
            "a\u{0301}b\u{0301}c\u{0301}d\u{0301}",
            "José Müller",
        ] {
            assert!(DisplayName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn display_names_keep_the_old_rules() {
        assert_eq!(display_name_error("   "), "must be 1 to 50 characters");
        assert_eq!(
            display_name_error(&"x".repeat(51)),
            "must be 1 to 50 characters"
        );
        assert_eq!(
            display_name_error("tab\there"),
            "must not contain control characters"
        );
        assert_eq!(DisplayName::parse("  Alice  ").unwrap().as_str(), "Alice");
    }

    #[test]
    fn ages() {
        let b = Birthdate::parse("2010-06-15").unwrap();
        let d = |y, m, day| {
            time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), day).unwrap()
        };
        assert_eq!(b.age_on(d(2023, 6, 14)), 12);
        assert_eq!(b.age_on(d(2023, 6, 15)), 13);
        assert!(Birthdate::parse("2999-01-01").is_err());
        assert!(Birthdate::parse("yesterday").is_err());
    }

    #[test]
    fn emails() {
        assert!(Email::parse("a@b.co").is_ok());
        for bad in ["", "a", "a@b", "a b@c.de", "@c.de", "a@.de", "a@de."] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
