//! Container parsers that need no external tool.
//!
//! They read just enough of an MP4/MOV box tree or a WebM/Matroska element
//! tree to learn the duration, the picture size and the codecs, and to notice
//! a file that was cut short (an element or box that claims to extend past
//! the end of the file). They are used on their own when ffmpeg is not
//! installed, and as a cheap truncation check before ffprobe, which happily
//! reports a truncated file as fine.
//!
//! Every read is bounds-checked against the file length and every loop is
//! capped, so arbitrary bytes give an error, never a panic or a runaway.

pub(crate) mod mp4;
pub(crate) mod webm;

use std::io::{Read, Seek};

/// What a native parser learnt about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NativeInfo {
    pub duration_ms: u64,
    /// Displayed picture size of the first video track (rotation applied).
    pub video: Option<VideoTrack>,
    /// Normalised codec name of the first audio track.
    pub audio_codec: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VideoTrack {
    pub codec: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ParseError {
    /// The structure runs past the end of the file.
    #[error("truncated: {0}")]
    Truncated(String),
    /// The structure is inconsistent.
    #[error("corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub(crate) fn corrupt<T>(what: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError::Corrupt(what.into()))
}

/// Reads exactly `buf.len()` bytes, reporting a short file as truncation.
pub(crate) fn read_exact_or_truncated<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    what: &str,
) -> Result<(), ParseError> {
    match r.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(ParseError::Truncated(format!("file ends inside {what}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads `len` bytes at the reader's position into memory, refusing more
/// than `cap` (hostile sizes must not become allocations).
pub(crate) fn read_body<R: Read + Seek>(
    r: &mut R,
    len: u64,
    cap: u64,
    what: &str,
) -> Result<Vec<u8>, ParseError> {
    if len > cap {
        return corrupt(format!("{what} is implausibly large ({len} bytes)"));
    }
    let mut buf = vec![0u8; len as usize];
    read_exact_or_truncated(r, &mut buf, what)?;
    Ok(buf)
}

/// Keeps only printable ASCII of a codec identifier and lowercases it, so a
/// hostile file cannot put control characters into logs or API answers.
pub(crate) fn clean_codec(raw: &[u8]) -> String {
    let s: String = raw
        .iter()
        .filter(|b| b.is_ascii_graphic())
        .take(32)
        .map(|b| b.to_ascii_lowercase() as char)
        .collect();
    if s.is_empty() { "unknown".into() } else { s }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    fn parse_both(data: &[u8]) {
        let len = data.len() as u64;
        let before = mp4::parse(&mut Cursor::new(data), len);
        let _ = webm::parse(&mut Cursor::new(data), len);
        // Blanking metadata never panics, never changes the length, and
        // never changes what the parser reads from a valid file.
        let mut blanked = Cursor::new(data.to_vec());
        if mp4::blank_metadata(&mut blanked, len).is_ok() {
            let blanked = blanked.into_inner();
            assert_eq!(blanked.len(), data.len());
            if let Ok(info) = before {
                let after = mp4::parse(&mut Cursor::new(&blanked[..]), len);
                assert_eq!(after.ok(), Some(info));
            }
        }
    }

    /// Plausible starts, so the random tail reaches the deeper parsing code.
    fn structured() -> impl Strategy<Value = Vec<u8>> {
        let ftyp = b"\0\0\0\x10ftypisom\0\0\0\0".to_vec();
        let ebml = vec![
            0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, b'w', 0x18, 0x53, 0x80, 0x67, 0x01,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        let boxes = proptest::collection::vec(
            (
                0u32..400,
                prop_oneof![
                    Just(*b"moov"),
                    Just(*b"trak"),
                    Just(*b"mvhd"),
                    Just(*b"tkhd"),
                    Just(*b"mdia"),
                    Just(*b"hdlr"),
                    Just(*b"minf"),
                    Just(*b"stbl"),
                    Just(*b"stsd"),
                    Just(*b"mdat"),
                    Just(*b"mvex"),
                    Just(*b"mehd"),
                    Just(*b"udta"),
                    Just(*b"meta")
                ],
                proptest::collection::vec(any::<u8>(), 0..40),
            ),
            0..12,
        );
        prop_oneof![
            boxes.prop_map(move |bs| {
                let mut out = ftyp.clone();
                for (size, kind, body) in bs {
                    out.extend_from_slice(&size.to_be_bytes());
                    out.extend_from_slice(&kind);
                    out.extend(body);
                }
                out
            }),
            proptest::collection::vec(any::<u8>(), 0..400).prop_map(move |t| {
                let mut out = ebml.clone();
                out.extend(t);
                out
            }),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            parse_both(&data);
        }

        #[test]
        fn structured_garbage_never_panics(data in structured()) {
            parse_both(&data);
        }
    }
}
