//! Entry points for the fuzz targets in `fuzz/`, compiled only with the
//! `fuzzing` feature. The native parsers are private to this crate, and a
//! fuzzer should reach them without a temporary file and an async runtime in
//! between: this module runs them over bytes in memory, exactly as
//! `MediaProcessor::probe` runs them over a file.

use std::io::Cursor;

use crate::native::{self, NativeInfo};

/// What a native parser learnt, in a form the fuzz targets can compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub duration_ms: u64,
    /// Codec, width and height of the first video track.
    pub video: Option<(String, u32, u32)>,
    pub audio_codec: Option<String>,
}

impl From<NativeInfo> for Parsed {
    fn from(n: NativeInfo) -> Self {
        Parsed {
            duration_ms: n.duration_ms,
            video: n.video.map(|v| (v.codec, v.width, v.height)),
            audio_codec: n.audio_codec,
        }
    }
}

/// Parses `data` as a whole MP4/MOV file; the error is its message.
pub fn parse_mp4(data: &[u8]) -> Result<Parsed, String> {
    native::mp4::parse(&mut Cursor::new(data), data.len() as u64)
        .map(Parsed::from)
        .map_err(|e| e.to_string())
}

/// Parses `data` as a whole WebM/Matroska file; the error is its message.
pub fn parse_webm(data: &[u8]) -> Result<Parsed, String> {
    native::webm::parse(&mut Cursor::new(data), data.len() as u64)
        .map(Parsed::from)
        .map_err(|e| e.to_string())
}

/// Blanks the metadata boxes of an MP4 in place, as is done before one is
/// served as uploaded. Returns how many boxes were blanked.
pub fn blank_mp4_metadata(data: &mut Vec<u8>) -> Result<usize, String> {
    let len = data.len() as u64;
    let mut file = Cursor::new(std::mem::take(data));
    let blanked = native::mp4::blank_metadata(&mut file, len).map_err(|e| e.to_string());
    *data = file.into_inner();
    blanked
}
