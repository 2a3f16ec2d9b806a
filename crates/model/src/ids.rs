//! Identifiers. Every id names its home region as a prefix
//! (`au_k3j9…`), so the edge can route a request to the right data plane
//! without a lookup, and carries 128 random bits, so ids cannot be
//! enumerated or guessed.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::InvalidValue;

/// A region's id: 1–16 lowercase ASCII letters or digits (`us`, `au`, `global`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionId(String);

impl RegionId {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let ok = !s.is_empty()
            && s.len() <= 16
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(InvalidValue::new(
                "region",
                "a region id is 1 to 16 lowercase letters or digits",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RegionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RegionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RegionId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What an id names; only used as a type tag.
pub trait IdKind {
    const NAME: &'static str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserKind {}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoKind {}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentKind {}
impl IdKind for UserKind {
    const NAME: &'static str = "user id";
}
impl IdKind for VideoKind {
    const NAME: &'static str = "video id";
}
impl IdKind for CommentKind {
    const NAME: &'static str = "comment id";
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShareKind {}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseKind {}
impl IdKind for ShareKind {
    const NAME: &'static str = "share id";
}
impl IdKind for ReportKind {
    const NAME: &'static str = "report id";
}
impl IdKind for CaseKind {
    const NAME: &'static str = "case id";
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {}
impl IdKind for NotificationKind {
    const NAME: &'static str = "notification id";
}

pub type UserId = Id<UserKind>;
pub type VideoId = Id<VideoKind>;
pub type CommentId = Id<CommentKind>;
pub type ShareId = Id<ShareKind>;
pub type ReportId = Id<ReportKind>;
pub type CaseId = Id<CaseKind>;
/// A notification's id names the recipient's home, where it is stored.
pub type NotificationId = Id<NotificationKind>;

/// Crockford-style base32 alphabet (no i, l, o, u): readable and URL-safe.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 26 base32 characters carry 130 bits; 128 of them are random.
const RANDOM_LEN: usize = 26;

/// `n` bytes from the operating system's random source, as lower-case hex:
/// the one generator of the random names that are not region-prefixed ids
/// (request ids, staff ids, generated passwords, cluster names).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).expect("the operating system's random source failed");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A region-prefixed random identifier.
pub struct Id<K> {
    text: String,
    split: usize,
    _kind: PhantomData<K>,
}

impl<K> Id<K> {
    /// A fresh random id homed in `region`.
    pub fn generate(region: &RegionId) -> Self {
        let mut bytes = [0u8; 17];
        getrandom::getrandom(&mut bytes).expect("the operating system's random source failed");
        let mut acc: u128 = u128::from_le_bytes(bytes[..16].try_into().unwrap());
        let mut tail = String::with_capacity(RANDOM_LEN);
        for i in 0..RANDOM_LEN {
            let idx = if i < 25 {
                let v = (acc & 31) as usize;
                acc >>= 5;
                v
            } else {
                (acc as usize & 7) | ((bytes[16] as usize & 3) << 3)
            };
            tail.push(ALPHABET[idx] as char);
        }
        let text = format!("{}_{}", region.as_str(), tail);
        Self {
            split: region.as_str().len(),
            text,
            _kind: PhantomData,
        }
    }

    /// The home region, read from the id itself.
    pub fn region(&self) -> RegionId {
        RegionId(self.text[..self.split].to_string())
    }

    pub fn region_str(&self) -> &str {
        &self.text[..self.split]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<K: IdKind> Id<K> {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let err = || InvalidValue::new("id", format!("not a valid {}", K::NAME));
        let (region, tail) = s.split_once('_').ok_or_else(err)?;
        RegionId::parse(region).map_err(|_| err())?;
        if tail.len() != RANDOM_LEN || !tail.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(err());
        }
        Ok(Self {
            text: s.to_string(),
            split: region.len(),
            _kind: PhantomData,
        })
    }
}

impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        Self {
            text: self.text.clone(),
            split: self.split,
            _kind: PhantomData,
        }
    }
}
impl<K> PartialEq for Id<K> {
    fn eq(&self, o: &Self) -> bool {
        self.text == o.text
    }
}
impl<K> Eq for Id<K> {}
impl<K> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.text.hash(h)
    }
}
impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<K> Ord for Id<K> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.text.cmp(&o.text)
    }
}
impl<K> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
impl<K: IdKind> FromStr for Id<K> {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
impl<K> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}
impl<'de, K: IdKind> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_region_and_round_trip() {
        let au = RegionId::parse("au").unwrap();
        let id = UserId::generate(&au);
        assert_eq!(id.region(), au);
        assert_eq!(UserId::parse(id.as_str()).unwrap(), id);
        assert_ne!(UserId::generate(&au), id);
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "",
            "au",
            "au_",
            "AU_0123456789abcdefghjkmnpqrs",
            "au_short",
            "au_0123456789abcdefghjkmnpqri",
        ] {
            assert!(VideoId::parse(bad).is_err(), "{bad}");
        }
    }
}
