//! HTTP `Range` requests for playback (RFC 9110 §14).
//!
//! Only the `bytes` unit exists. The parser returns one satisfiable range, no
//! range (serve the whole representation with 200), or an error that must be
//! answered with 416 and `Content-Range: bytes */<size>`.
//!
//! Choices, all allowed by RFC 9110:
//! * A header we cannot parse, or with another unit, is ignored (§14.2: a
//!   server MAY ignore the Range header), so the client gets the whole file.
//! * A request for **several ranges** is answered with the **whole file**
//!   (200). Browsers' media elements only ever ask for one range, and ignoring
//!   the header is always a correct answer, whereas a single part in reply to
//!   a multi-range request is not. 416 is never sent for a multi-range request.

use std::fmt;
use std::ops::Range;

/// A satisfiable byte range, inclusive at both ends as in the header syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte position.
    pub first: u64,
    /// Last byte position (inclusive), always `< size` of the representation.
    pub last: u64,
}

impl ByteRange {
    /// The whole representation of `size` bytes; `None` when it is empty
    /// (an empty file has no satisfiable range).
    pub fn full(size: u64) -> Option<ByteRange> {
        (size > 0).then(|| ByteRange {
            first: 0,
            last: size - 1,
        })
    }

    /// Number of bytes in the range (the response's `Content-Length`).
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true: a satisfiable range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The half-open offsets, as object stores want them.
    pub fn to_offsets(&self) -> Range<u64> {
        self.first..self.last + 1
    }

    /// `Content-Range` value for a 206 response, e.g. `bytes 0-99/1000`.
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{}", self.first, self.last, size)
    }
}

/// The Range header asked only for bytes that do not exist: answer 416.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("requested range not satisfiable (the file has {size} bytes)")]
pub struct RangeNotSatisfiable {
    /// Size of the representation, for the `Content-Range` header.
    pub size: u64,
}

impl RangeNotSatisfiable {
    /// HTTP status to answer with.
    pub const STATUS: u16 = 416;

    /// `Content-Range` value for the 416 response: `bytes */<size>`.
    pub fn content_range(&self) -> String {
        unsatisfied_content_range(self.size)
    }
}

/// `Content-Range` value for a 416 response: `bytes */<size>`.
pub fn unsatisfied_content_range(size: u64) -> String {
    format!("bytes */{size}")
}

/// Parses a `Range` header value against a representation of `size` bytes.
///
/// * `Ok(Some(r))`: answer 206 with `r` and `Content-Range: r.content_range(size)`.
/// * `Ok(None)`: ignore the header and answer 200 with the whole file
///   (syntax we do not accept, another unit, or several ranges).
/// * `Err(_)`: answer 416 with `Content-Range: bytes */size`.
pub fn parse_range(header: &str, size: u64) -> Result<Option<ByteRange>, RangeNotSatisfiable> {
    let Some(spec) = parse_spec(header) else {
        return Ok(None);
    };
    let specs: Vec<&str> = spec
        .split(',')
        .map(|s| s.trim_matches([' ', '\t']))
        .collect();
    // Empty list elements are allowed by the list syntax (RFC 9110 §5.6.1).
    let specs: Vec<&str> = specs.into_iter().filter(|s| !s.is_empty()).collect();
    let parsed: Option<Vec<Spec>> = specs.iter().map(|s| parse_one(s)).collect();
    let Some(parsed) = parsed else {
        return Ok(None);
    };
    match parsed.as_slice() {
        [one] => one
            .resolve(size)
            .map(Some)
            .ok_or(RangeNotSatisfiable { size }),
        // No ranges, or several: serve the whole file (see module docs).
        _ => Ok(None),
    }
}

/// Strips the case-insensitive `bytes=` unit, tolerating whitespace around `=`.
fn parse_spec(header: &str) -> Option<&str> {
    let header = header.trim_matches([' ', '\t']);
    let (unit, rest) = header.split_once('=')?;
    if !unit
        .trim_end_matches([' ', '\t'])
        .eq_ignore_ascii_case("bytes")
    {
        return None;
    }
    Some(rest)
}

#[derive(Debug, Clone, Copy)]
enum Spec {
    /// `first-` or `first-last`.
    FromTo(u64, Option<u64>),
    /// `-suffix`: the last `suffix` bytes.
    Suffix(u64),
}

impl Spec {
    fn resolve(self, size: u64) -> Option<ByteRange> {
        match self {
            Spec::FromTo(first, last) => {
                if first >= size {
                    return None;
                }
                let last = last.map_or(size - 1, |l| l.min(size - 1));
                Some(ByteRange { first, last })
            }
            Spec::Suffix(n) => {
                if n == 0 || size == 0 {
                    return None;
                }
                Some(ByteRange {
                    first: size - n.min(size),
                    last: size - 1,
                })
            }
        }
    }
}

fn parse_one(s: &str) -> Option<Spec> {
    let (a, b) = s.split_once('-')?;
    if a.is_empty() {
        return Some(Spec::Suffix(parse_pos(b)?));
    }
    let first = parse_pos(a)?;
    if b.is_empty() {
        return Some(Spec::FromTo(first, None));
    }
    let last = parse_pos(b)?;
    // RFC 9110 §14.1.1: last < first makes the range-spec invalid, not
    // unsatisfiable, so the header is ignored.
    (last >= first).then_some(Spec::FromTo(first, Some(last)))
}

/// 1*DIGIT. Values beyond u64 saturate: they are past the end of any file,
/// and a client may legitimately send a huge last-pos.
fn parse_pos(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(first: u64, last: u64) -> Option<ByteRange> {
        Some(ByteRange { first, last })
    }

    #[test]
    fn common_forms() {
        assert_eq!(parse_range("bytes=0-", 1000), Ok(r(0, 999)));
        assert_eq!(parse_range("bytes=0-0", 1000), Ok(r(0, 0)));
        assert_eq!(parse_range("bytes=100-199", 1000), Ok(r(100, 199)));
        assert_eq!(parse_range("bytes=500-", 1000), Ok(r(500, 999)));
        assert_eq!(parse_range("bytes=-1", 1000), Ok(r(999, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Ok(r(900, 999)));
        assert_eq!(parse_range("Bytes = 1-2", 1000), Ok(r(1, 2)));
        assert_eq!(parse_range("bytes=1-2, ", 1000), Ok(r(1, 2)));
    }

    #[test]
    fn clamps_to_the_end() {
        assert_eq!(parse_range("bytes=900-5000", 1000), Ok(r(900, 999)));
        assert_eq!(parse_range("bytes=-5000", 1000), Ok(r(0, 999)));
        assert_eq!(
            parse_range("bytes=0-99999999999999999999999999", 10),
            Ok(r(0, 9))
        );
    }

    #[test]
    fn past_the_end_is_416() {
        let e = RangeNotSatisfiable { size: 1000 };
        assert_eq!(parse_range("bytes=1000-", 1000), Err(e));
        assert_eq!(parse_range("bytes=1000-2000", 1000), Err(e));
        assert_eq!(parse_range("bytes=-0", 1000), Err(e));
        assert_eq!(parse_range("bytes=99999999999999999999999-", 1000), Err(e));
        assert_eq!(
            parse_range("bytes=0-", 0),
            Err(RangeNotSatisfiable { size: 0 })
        );
        assert_eq!(
            parse_range("bytes=-5", 0),
            Err(RangeNotSatisfiable { size: 0 })
        );
        assert_eq!(e.content_range(), "bytes */1000");
        assert_eq!(RangeNotSatisfiable::STATUS, 416);
    }

    #[test]
    fn ignored_headers_serve_the_whole_file() {
        for h in [
            "",
            "bytes",
            "bytes=",
            "bytes=abc",
            "bytes=5-1",
            "bytes=--1",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes= 1 - 2",
            "items=0-1",
            "bytes=0-1,5-9",
            "bytes=2000-3000,4000-",
        ] {
            assert_eq!(parse_range(h, 1000), Ok(None), "header {h:?}");
        }
    }

    #[test]
    fn content_range_values() {
        assert_eq!(r(0, 99).unwrap().content_range(1000), "bytes 0-99/1000");
        assert_eq!(r(10, 19).unwrap().len(), 10);
        assert_eq!(r(10, 19).unwrap().to_offsets(), 10..20);
        assert_eq!(ByteRange::full(0), None);
        assert_eq!(ByteRange::full(5), r(0, 4));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_and_stays_in_bounds(header in ".{0,64}", size in 0u64..u64::MAX) {
            if let Ok(Some(r)) = parse_range(&header, size) {
                prop_assert!(r.first <= r.last && r.last < size);
            }
        }

        #[test]
        fn byte_range_syntax_is_never_panicky(header in "(bytes|BYTES|items)? ?=?[0-9 ,-]{0,40}", size in 0u64..10_000) {
            if let Ok(Some(r)) = parse_range(&header, size) {
                prop_assert!(r.first <= r.last && r.last < size);
                prop_assert_eq!(r.len(), r.last - r.first + 1);
            }
        }

        #[test]
        fn first_last_ranges(first in 0u64..2000, len in 1u64..2000, size in 0u64..2000) {
            let last = first + len - 1;
            let got = parse_range(&format!("bytes={first}-{last}"), size);
            if first < size {
                prop_assert_eq!(got, Ok(Some(ByteRange { first, last: last.min(size - 1) })));
            } else {
                prop_assert_eq!(got, Err(RangeNotSatisfiable { size }));
            }
        }

        #[test]
        fn suffix_ranges(n in 0u64..5000, size in 0u64..5000) {
            let got = parse_range(&format!("bytes=-{n}"), size);
            if n == 0 || size == 0 {
                prop_assert_eq!(got, Err(RangeNotSatisfiable { size }));
            } else {
                let r = got.unwrap().unwrap();
                prop_assert_eq!(r.len(), n.min(size));
                prop_assert_eq!(r.last, size - 1);
            }
        }
    }
}
