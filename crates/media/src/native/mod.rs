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
