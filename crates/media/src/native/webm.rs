//! WebM/Matroska (EBML) element parser.
//!
//! Reads the Segment's `Info` (timestamp scale, duration) and `Tracks`
//! (codec IDs, pixel size), and walks `Cluster`s for block timestamps so a
//! file without a `Duration` (as written by browsers' MediaRecorder) still
//! gets one. Elements are walked by header; payloads are skipped with seeks.
//! Unknown-size Clusters (live streams) are handled by reading their children
//! at segment level: a Cluster child ID can never be a Segment child ID.

use std::io::{Read, Seek, SeekFrom};

use super::{
    NativeInfo, ParseError, VideoTrack, clean_codec, corrupt, read_body, read_exact_or_truncated,
};

const ID_EBML: u64 = 0x1A45_DFA3;
const ID_SEGMENT: u64 = 0x1853_8067;
const ID_INFO: u64 = 0x1549_A966;
const ID_TIMESTAMP_SCALE: u64 = 0x2A_D7B1;
const ID_DURATION: u64 = 0x4489;
const ID_TRACKS: u64 = 0x1654_AE6B;
const ID_TRACK_ENTRY: u64 = 0xAE;
const ID_TRACK_TYPE: u64 = 0x83;
const ID_CODEC_ID: u64 = 0x86;
const ID_VIDEO: u64 = 0xE0;
const ID_PIXEL_WIDTH: u64 = 0xB0;
const ID_PIXEL_HEIGHT: u64 = 0xBA;
const ID_CLUSTER: u64 = 0x1F43_B675;
const ID_TIMESTAMP: u64 = 0xE7;
const ID_SIMPLE_BLOCK: u64 = 0xA3;
const ID_BLOCK_GROUP: u64 = 0xA0;
const ID_BLOCK: u64 = 0xA1;
const ID_VOID: u64 = 0xEC;

const MAX_HEADER: u64 = 4096;
const MAX_INFO: u64 = 1024 * 1024;
const MAX_TRACKS: u64 = 16 * 1024 * 1024;
const MAX_ELEMENTS: usize = 2_000_000;

/// An element header: ID, data size (None = unknown) and where its data starts.
struct Header {
    id: u64,
    size: Option<u64>,
    data_start: u64,
}

pub(crate) fn parse<R: Read + Seek>(r: &mut R, file_len: u64) -> Result<NativeInfo, ParseError> {
    r.seek(SeekFrom::Start(0))?;
    let ebml = read_header(r, 0)?;
    if ebml.id != ID_EBML {
        return corrupt("not an EBML file");
    }
    let Some(ebml_size) = ebml.size else {
        return corrupt("EBML header of unknown size");
    };
    // The DocType was checked by the sniffer; skip the header.
    let mut pos = checked_end(
        ebml.data_start,
        ebml_size,
        file_len,
        "the EBML header",
        MAX_HEADER,
    )?;

    // Skip Void elements before the Segment.
    let segment = loop {
        if pos >= file_len {
            return Err(ParseError::Truncated("no Segment in the file".into()));
        }
        let h = read_header(r, pos)?;
        match (h.id, h.size) {
            (ID_SEGMENT, _) => break h,
            (ID_VOID, Some(size)) => {
                pos = checked_end(h.data_start, size, file_len, "a Void element", u64::MAX)?
            }
            _ => return corrupt("expected a Segment after the EBML header"),
        }
    };
    let seg_end = match segment.size {
        Some(size) => checked_end(segment.data_start, size, file_len, "the Segment", u64::MAX)?,
        None => file_len,
    };

    let mut state = State::default();
    walk(r, segment.data_start, seg_end, &mut state, 0)?;

    let Some(scale) = state.timestamp_scale.or(Some(1_000_000)).filter(|s| *s > 0) else {
        return corrupt("TimestampScale is zero");
    };
    let duration_ms = match state.duration {
        Some(d) => {
            let ms = d * scale as f64 / 1_000_000.0;
            if !ms.is_finite() || !(0.0..1e15).contains(&ms) {
                return corrupt("Duration is out of range");
            }
            ms as u64
        }
        // Block timestamps are in TimestampScale units as well.
        None => u64::try_from(u128::from(state.max_block_ts) * u128::from(scale) / 1_000_000)
            .unwrap_or(u64::MAX),
    };
    Ok(NativeInfo {
        duration_ms,
        video: state.video,
        audio_codec: state.audio_codec,
    })
}

#[derive(Default)]
struct State {
    timestamp_scale: Option<u64>,
    duration: Option<f64>,
    video: Option<VideoTrack>,
    audio_codec: Option<String>,
    seen_tracks: bool,
    cluster_ts: u64,
    max_block_ts: u64,
    elements: usize,
}

/// Walks the children of a master element between `start` and `end`.
fn walk<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
    st: &mut State,
    depth: usize,
) -> Result<(), ParseError> {
    if depth > 4 {
        return corrupt("elements nested too deeply");
    }
    let mut pos = start;
    while pos < end {
        st.elements += 1;
        if st.elements > MAX_ELEMENTS {
            return corrupt("too many elements");
        }
        let h = read_header(r, pos)?;
        let Some(size) = h.size else {
            if h.id == ID_CLUSTER {
                // Unknown-size cluster: its children follow at this level.
                pos = h.data_start;
                continue;
            }
            return corrupt("element of unknown size");
        };
        let data_end = checked_end(h.data_start, size, end, "an element", u64::MAX)?;
        match h.id {
            ID_INFO => {
                r.seek(SeekFrom::Start(h.data_start))?;
                let body = read_body(r, size, MAX_INFO, "Info")?;
                parse_info(&body, st)?;
            }
            ID_TRACKS => {
                r.seek(SeekFrom::Start(h.data_start))?;
                let body = read_body(r, size, MAX_TRACKS, "Tracks")?;
                parse_tracks(&body, st)?;
            }
            ID_CLUSTER | ID_BLOCK_GROUP => walk(r, h.data_start, data_end, st, depth + 1)?,
            ID_TIMESTAMP => {
                r.seek(SeekFrom::Start(h.data_start))?;
                let body = read_body(r, size, 8, "a cluster timestamp")?;
                st.cluster_ts = be_uint(&body);
            }
            ID_SIMPLE_BLOCK | ID_BLOCK => {
                r.seek(SeekFrom::Start(h.data_start))?;
                let mut head = [0u8; 12];
                let n = size.min(head.len() as u64) as usize;
                read_exact_or_truncated(r, &mut head[..n], "a block")?;
                if let Some(rel) = block_relative_ts(&head[..n]) {
                    let ts = st.cluster_ts.saturating_add_signed(i64::from(rel));
                    st.max_block_ts = st.max_block_ts.max(ts);
                }
            }
            _ => {}
        }
        pos = data_end;
    }
    Ok(())
}

/// Data end of an element, checking it fits within its parent (or the file)
/// and a size cap.
fn checked_end(
    data_start: u64,
    size: u64,
    limit: u64,
    what: &str,
    cap: u64,
) -> Result<u64, ParseError> {
    if size > cap {
        return corrupt(format!("{what} is implausibly large"));
    }
    match data_start.checked_add(size) {
        Some(end) if end <= limit => Ok(end),
        _ => Err(ParseError::Truncated(format!(
            "{what} runs past the end of its container"
        ))),
    }
}

fn read_header<R: Read + Seek>(r: &mut R, pos: u64) -> Result<Header, ParseError> {
    r.seek(SeekFrom::Start(pos))?;
    let mut first = [0u8; 1];
    read_exact_or_truncated(r, &mut first, "an element header")?;
    let id_len = first[0].leading_zeros() as usize + 1;
    if id_len > 4 {
        return corrupt("invalid element ID");
    }
    let mut id_bytes = [0u8; 4];
    id_bytes[0] = first[0];
    read_exact_or_truncated(r, &mut id_bytes[1..id_len], "an element header")?;
    let id = id_bytes[..id_len]
        .iter()
        .fold(0u64, |a, b| (a << 8) | u64::from(*b));

    read_exact_or_truncated(r, &mut first, "an element header")?;
    if first[0] == 0 {
        return corrupt("invalid element size");
    }
    let size_len = first[0].leading_zeros() as usize + 1;
    let mut size_bytes = [0u8; 8];
    size_bytes[0] = first[0];
    read_exact_or_truncated(r, &mut size_bytes[1..size_len], "an element header")?;
    let size = vint(&size_bytes[..size_len]);
    Ok(Header {
        id,
        size,
        data_start: pos + (id_len + size_len) as u64,
    })
}

/// Decodes a VINT data size from exactly its bytes; `None` = unknown size.
fn vint(bytes: &[u8]) -> Option<u64> {
    let len = bytes.len();
    let mask = if len >= 8 { 0 } else { 0xFFu8 >> len };
    let mut value = u64::from(bytes[0] & mask);
    for b in &bytes[1..] {
        value = (value << 8) | u64::from(*b);
    }
    let all_ones = (1u64 << (7 * len)) - 1;
    (value != all_ones).then_some(value)
}

/// Iterates over (id, body) children of an in-memory master element.
fn mem_children(buf: &[u8]) -> impl Iterator<Item = Result<(u64, &[u8]), ParseError>> {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= buf.len() {
            return None;
        }
        let mut cursor = std::io::Cursor::new(&buf[pos..]);
        let result = read_header(&mut cursor, 0).and_then(|h| {
            let size = h
                .size
                .ok_or_else(|| ParseError::Corrupt("element of unknown size".into()))?;
            let start = h.data_start as usize;
            let end = checked_end(
                h.data_start,
                size,
                (buf.len() - pos) as u64,
                "an element",
                u64::MAX,
            )? as usize;
            Ok((h.id, start, end))
        });
        match result {
            Ok((id, start, end)) => {
                let body = &buf[pos + start..pos + end];
                pos += end;
                Some(Ok((id, body)))
            }
            Err(e) => {
                failed = true;
                // Inside an element read whole, running out is corruption.
                Some(Err(match e {
                    ParseError::Truncated(m) => ParseError::Corrupt(m),
                    other => other,
                }))
            }
        }
    })
}

fn be_uint(body: &[u8]) -> u64 {
    body.iter()
        .take(8)
        .fold(0u64, |a, b| (a << 8) | u64::from(*b))
}

fn float(body: &[u8]) -> Result<f64, ParseError> {
    match body.len() {
        0 => Ok(0.0),
        4 => Ok(f64::from(f32::from_be_bytes([
            body[0], body[1], body[2], body[3],
        ]))),
        8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(body);
            Ok(f64::from_be_bytes(b))
        }
        _ => corrupt("float element of invalid length"),
    }
}

fn parse_info(body: &[u8], st: &mut State) -> Result<(), ParseError> {
    for child in mem_children(body) {
        let (id, data) = child?;
        match id {
            ID_TIMESTAMP_SCALE => st.timestamp_scale = Some(be_uint(data)),
            ID_DURATION => st.duration = Some(float(data)?),
            _ => {}
        }
    }
    Ok(())
}

fn parse_tracks(body: &[u8], st: &mut State) -> Result<(), ParseError> {
    if st.seen_tracks {
        return corrupt("two Tracks elements");
    }
    st.seen_tracks = true;
    for child in mem_children(body) {
        let (id, entry) = child?;
        if id != ID_TRACK_ENTRY {
            continue;
        }
        let mut kind = 0;
        let mut codec = None;
        let mut size = (0u32, 0u32);
        for field in mem_children(entry) {
            let (fid, data) = field?;
            match fid {
                ID_TRACK_TYPE => kind = be_uint(data),
                ID_CODEC_ID => codec = Some(normalise_codec(data)),
                ID_VIDEO => {
                    for v in mem_children(data) {
                        let (vid, vdata) = v?;
                        let value = u32::try_from(be_uint(vdata)).unwrap_or(u32::MAX);
                        match vid {
                            ID_PIXEL_WIDTH => size.0 = value,
                            ID_PIXEL_HEIGHT => size.1 = value,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        match kind {
            1 if st.video.is_none() => {
                let Some(codec) = codec else {
                    return corrupt("video track without CodecID");
                };
                st.video = Some(VideoTrack {
                    codec,
                    width: size.0,
                    height: size.1,
                });
            }
            2 if st.audio_codec.is_none() => st.audio_codec = codec,
            _ => {}
        }
    }
    Ok(())
}

/// Relative timestamp of a (Simple)Block: track number VINT, then i16.
fn block_relative_ts(head: &[u8]) -> Option<i16> {
    let first = *head.first()?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    let b = head.get(len..len + 2)?;
    Some(i16::from_be_bytes([b[0], b[1]]))
}

/// Maps Matroska CodecIDs to the codec names ffprobe uses.
fn normalise_codec(raw: &[u8]) -> String {
    let raw = raw.split(|b| *b == 0).next().unwrap_or_default();
    match raw {
        b"V_VP8" => "vp8".into(),
        b"V_VP9" => "vp9".into(),
        b"V_AV1" => "av1".into(),
        b"V_MPEG4/ISO/AVC" => "h264".into(),
        b"V_MPEGH/ISO/HEVC" => "hevc".into(),
        b"A_OPUS" => "opus".into(),
        b"A_VORBIS" => "vorbis".into(),
        b"A_AAC" => "aac".into(),
        other => clean_codec(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// An element with a 1-byte size (bodies under 127 bytes).
    fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
        assert!(body.len() < 127);
        let mut v = id.to_vec();
        v.push(0x80 | body.len() as u8);
        v.extend_from_slice(body);
        v
    }

    /// An element header of unknown size, as live writers emit.
    fn unknown(id: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        v
    }

    fn simple_block(rel_ts: i16) -> Vec<u8> {
        let mut body = vec![0x81]; // track 1
        body.extend_from_slice(&rel_ts.to_be_bytes());
        body.push(0x80); // keyframe flag
        body.extend_from_slice(&[0xAA; 8]); // frame data
        el(&[0xA3], &body)
    }

    /// What MediaRecorder writes: unknown-size Segment and Clusters, no Duration.
    fn live_recording() -> Vec<u8> {
        let mut f = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        f.extend(unknown(&[0x18, 0x53, 0x80, 0x67]));
        f.extend(el(
            &[0x15, 0x49, 0xA9, 0x66],
            &el(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]),
        ));
        let video = [el(&[0xB0], &[0x01, 0x40]), el(&[0xBA], &[0xF0])].concat();
        let entry = [
            el(&[0x83], &[1]),
            el(&[0x86], b"V_VP8"),
            el(&[0xE0], &video),
        ]
        .concat();
        let audio = [el(&[0x83], &[2]), el(&[0x86], b"A_OPUS")].concat();
        f.extend(el(
            &[0x16, 0x54, 0xAE, 0x6B],
            &[el(&[0xAE], &entry), el(&[0xAE], &audio)].concat(),
        ));
        for (cluster_ts, blocks) in [(0u16, [0i16, 33, 66]), (1000, [0, 500, 960])] {
            f.extend(unknown(&[0x1F, 0x43, 0xB6, 0x75]));
            f.extend(el(&[0xE7], &cluster_ts.to_be_bytes()));
            for b in blocks {
                f.extend(simple_block(b));
            }
        }
        f
    }

    #[test]
    fn live_recordings_get_a_duration_from_their_blocks() {
        let f = live_recording();
        let info = parse(&mut Cursor::new(&f), f.len() as u64).unwrap();
        assert_eq!(info.duration_ms, 1960);
        assert_eq!(
            info.video,
            Some(VideoTrack {
                codec: "vp8".into(),
                width: 320,
                height: 240
            })
        );
        assert_eq!(info.audio_codec.as_deref(), Some("opus"));
    }

    #[test]
    fn a_cut_live_recording_is_truncated() {
        let f = live_recording();
        // Cut inside the last block: its size runs past the end.
        let cut = &f[..f.len() - 3];
        assert!(matches!(
            parse(&mut Cursor::new(cut), cut.len() as u64),
            Err(ParseError::Truncated(_))
        ));
    }

    #[test]
    fn a_known_duration_wins_over_blocks() {
        let mut f = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        let info = [
            el(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]),
            el(&[0x44, 0x89], &2500f32.to_be_bytes()),
        ]
        .concat();
        let video = [el(&[0xB0], &[0x10]), el(&[0xBA], &[0x10])].concat();
        let entry = [
            el(&[0x83], &[1]),
            el(&[0x86], b"V_VP9"),
            el(&[0xE0], &video),
        ]
        .concat();
        let segment = [
            el(&[0x15, 0x49, 0xA9, 0x66], &info),
            el(&[0x16, 0x54, 0xAE, 0x6B], &el(&[0xAE], &entry)),
        ]
        .concat();
        f.extend(el(&[0x18, 0x53, 0x80, 0x67], &segment));
        let got = parse(&mut Cursor::new(&f), f.len() as u64).unwrap();
        assert_eq!(got.duration_ms, 2500);
        assert_eq!(got.video.unwrap().codec, "vp9");
        // The Segment claims more than the file holds.
        let cut = &f[..f.len() - 1];
        assert!(matches!(
            parse(&mut Cursor::new(cut), cut.len() as u64),
            Err(ParseError::Truncated(_))
        ));
    }
}
