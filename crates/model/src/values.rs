//! Validated values. Each is built by a fallible `parse`, so an invalid
//! handle, email or birthdate cannot exist past the HTTP boundary.

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

/// A handle: 3–24 characters of lowercase letters, digits, `_` and `.`,
/// starting with a letter or digit. Stored lowercased; unique across regions.
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
        Ok(Self(lower))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
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

/// A display name: 1–50 characters with no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        let n = s.chars().count();
        if n == 0 || n > 50 {
            return Err(InvalidValue::new(
                "display_name",
                "must be 1 to 50 characters",
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(InvalidValue::new(
                "display_name",
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who may see a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Followers,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Followers => "followers",
            Self::Private => "private",
        }
    }
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "public" => Ok(Self::Public),
            "followers" => Ok(Self::Followers),
            "private" => Ok(Self::Private),
            _ => Err(InvalidValue::new(
                "visibility",
                "must be one of public, followers, private",
            )),
        }
    }
}

/// Who may comment on a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentPolicy {
    Everyone,
    Followers,
    Nobody,
}

impl CommentPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Everyone => "everyone",
            Self::Followers => "followers",
            Self::Nobody => "nobody",
        }
    }
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "everyone" => Ok(Self::Everyone),
            "followers" => Ok(Self::Followers),
            "nobody" => Ok(Self::Nobody),
            _ => Err(InvalidValue::new(
                "comments",
                "must be one of everyone, followers, nobody",
            )),
        }
    }
}

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
