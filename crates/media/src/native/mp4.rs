//! ISO BMFF (MP4/MOV) box parser.
//!
//! Top-level boxes are walked by their headers only (seeking over `mdat`);
//! `moov` is read into memory (capped) and parsed for `mvhd` (duration),
//! each `trak`'s `tkhd` (size and rotation), `hdlr` (track kind) and `stsd`
//! (codec four-cc).

use std::io::{Read, Seek, SeekFrom};

use super::{
    NativeInfo, ParseError, VideoTrack, clean_codec, corrupt, read_body, read_exact_or_truncated,
};

/// Largest `moov` we read; a three-minute clip's is well under 1 MiB.
const MAX_MOOV: u64 = 64 * 1024 * 1024;
/// Most top-level boxes we walk before calling the file corrupt.
const MAX_TOP_LEVEL_BOXES: usize = 100_000;
/// Deepest box nesting we follow.
const MAX_DEPTH: usize = 8;

pub(crate) fn parse<R: Read + Seek>(r: &mut R, file_len: u64) -> Result<NativeInfo, ParseError> {
    let mut pos = 0u64;
    let mut moov = None;
    let mut boxes = 0usize;
    while pos < file_len {
        boxes += 1;
        if boxes > MAX_TOP_LEVEL_BOXES {
            return corrupt("too many top-level boxes");
        }
        r.seek(SeekFrom::Start(pos))?;
        let remaining = file_len - pos;
        if remaining < 8 {
            // A few zero bytes after the last box are padding some writers
            // leave; anything else is a box header cut short.
            let mut tail = [0u8; 8];
            read_exact_or_truncated(r, &mut tail[..remaining as usize], "the file")?;
            if pos > 0 && tail.iter().all(|b| *b == 0) {
                break;
            }
            return Err(ParseError::Truncated(
                "file ends inside a box header".into(),
            ));
        }
        let mut header = [0u8; 8];
        read_exact_or_truncated(r, &mut header, "a box header")?;
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        let (size, header_len) =
            match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
                // Size 0: the box runs to the end of the file.
                0 => (remaining, 8),
                1 => {
                    let mut large = [0u8; 8];
                    read_exact_or_truncated(r, &mut large, "a box header")?;
                    (u64::from_be_bytes(large), 16)
                }
                n => (u64::from(n), 8),
            };
        if size < header_len {
            return corrupt(format!("box {} has an impossible size", clean_codec(&kind)));
        }
        if size > remaining {
            return Err(ParseError::Truncated(format!(
                "box {} needs {size} bytes but only {remaining} remain",
                clean_codec(&kind)
            )));
        }
        if pos == 0 && &kind != b"ftyp" {
            return corrupt("the file does not start with an ftyp box");
        }
        if &kind == b"moov" {
            if moov.is_some() {
                return corrupt("two moov boxes");
            }
            moov = Some(read_body(r, size - header_len, MAX_MOOV, "moov")?);
        }
        pos += size;
    }
    let Some(moov) = moov else {
        return Err(ParseError::Truncated(
            "no movie header (moov) in the file".into(),
        ));
    };
    parse_moov(&moov)
}

/// Iterates over the boxes in `buf`, bounds-checked.
fn children(buf: &[u8]) -> impl Iterator<Item = Result<([u8; 4], &[u8]), ParseError>> {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= buf.len() {
            return None;
        }
        let rest = &buf[pos..];
        let parsed = (|| {
            if rest.len() < 8 {
                return corrupt("box header runs past its parent");
            }
            let kind = [rest[4], rest[5], rest[6], rest[7]];
            let (size, header) = match u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) {
                0 => (rest.len() as u64, 8usize),
                1 => {
                    let Some(large) = rest.get(8..16) else {
                        return corrupt("box header runs past its parent");
                    };
                    let mut b = [0u8; 8];
                    b.copy_from_slice(large);
                    (u64::from_be_bytes(b), 16usize)
                }
                n => (u64::from(n), 8usize),
            };
            if size < header as u64 || size > rest.len() as u64 {
                return corrupt(format!("box {} runs past its parent", clean_codec(&kind)));
            }
            Ok((kind, &rest[header..size as usize], size as usize))
        })();
        match parsed {
            Ok((kind, body, size)) => {
                pos += size;
                Some(Ok((kind, body)))
            }
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}

fn find<'a>(buf: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, ParseError> {
    for child in children(buf) {
        let (k, body) = child?;
        if &k == kind {
            return Ok(Some(body));
        }
    }
    Ok(None)
}

/// Follows a path of box types from `buf` (e.g. mdia/minf/stbl/stsd).
fn find_path<'a>(buf: &'a [u8], path: &[&[u8; 4]]) -> Result<Option<&'a [u8]>, ParseError> {
    let mut cur = buf;
    for (depth, kind) in path.iter().enumerate() {
        if depth >= MAX_DEPTH {
            return corrupt("boxes nested too deeply");
        }
        match find(cur, kind)? {
            Some(body) => cur = body,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be_u64(buf: &[u8], at: usize) -> Option<u64> {
    let b = buf.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_be_bytes(a))
}

/// (timescale, duration) of an `mvhd` or `mdhd` full box; both share the layout.
fn header_timing(body: &[u8], what: &str) -> Result<(u32, u64), ParseError> {
    let timing = match body.first() {
        Some(0) => be_u32(body, 12).zip(be_u32(body, 16).map(u64::from)),
        Some(1) => be_u32(body, 20).zip(be_u64(body, 24)),
        _ => None,
    };
    match timing {
        Some(t) => Ok(t),
        None => corrupt(format!("{what} is malformed")),
    }
}

fn to_ms(duration: u64, timescale: u32) -> Option<u64> {
    // All ones means "unknown" in both the 32- and 64-bit forms.
    if timescale == 0 || duration == u64::from(u32::MAX) || duration == u64::MAX {
        return None;
    }
    u64::try_from(u128::from(duration) * 1000 / u128::from(timescale)).ok()
}

fn parse_moov(moov: &[u8]) -> Result<NativeInfo, ParseError> {
    let Some(mvhd) = find(moov, b"mvhd")? else {
        return corrupt("moov has no mvhd");
    };
    let (timescale, duration) = header_timing(mvhd, "mvhd")?;
    let mut duration_ms = to_ms(duration, timescale).unwrap_or(0);
    if duration_ms == 0 {
        // Fragmented files carry the total in mvex/mehd (same timescale).
        if let Some(mehd) = find_path(moov, &[b"mvex", b"mehd"])? {
            let d = match mehd.first() {
                Some(1) => be_u64(mehd, 4),
                _ => be_u32(mehd, 4).map(u64::from),
            };
            duration_ms = d.and_then(|d| to_ms(d, timescale)).unwrap_or(0);
        }
    }

    let mut video: Option<VideoTrack> = None;
    let mut audio_codec = None;
    let mut track_ms = 0u64;
    let mut tracks = 0usize;
    for child in children(moov) {
        let (kind, trak) = child?;
        if &kind != b"trak" {
            continue;
        }
        tracks += 1;
        if tracks > 64 {
            return corrupt("too many tracks");
        }
        let Some(hdlr) = find_path(trak, &[b"mdia", b"hdlr"])? else {
            return corrupt("track without a handler");
        };
        let handler = hdlr.get(8..12).unwrap_or_default();
        let codec = match find_path(trak, &[b"mdia", b"minf", b"stbl", b"stsd"])? {
            // version/flags, entry count, then the first entry's size and type.
            Some(stsd) => stsd.get(12..16).map(normalise_codec),
            None => None,
        };
        if let Some(mdhd) = find_path(trak, &[b"mdia", b"mdhd"])? {
            let (ts, d) = header_timing(mdhd, "mdhd")?;
            track_ms = track_ms.max(to_ms(d, ts).unwrap_or(0));
        }
        match handler {
            b"vide" if video.is_none() => {
                let Some(tkhd) = find(trak, b"tkhd")? else {
                    return corrupt("video track without tkhd");
                };
                let Some(codec) = codec else {
                    return corrupt("video track without a sample description");
                };
                let (width, height) = tkhd_display_size(tkhd)?;
                video = Some(VideoTrack {
                    codec,
                    width,
                    height,
                });
            }
            b"soun" if audio_codec.is_none() => audio_codec = codec,
            _ => {}
        }
    }
    if duration_ms == 0 {
        duration_ms = track_ms;
    }
    Ok(NativeInfo {
        duration_ms,
        video,
        audio_codec,
    })
}

/// Width and height from `tkhd` (16.16 fixed point), swapped when the
/// matrix rotates by 90° or 270° (phones record portrait video that way).
fn tkhd_display_size(tkhd: &[u8]) -> Result<(u32, u32), ParseError> {
    let (matrix_at, size_at) = match tkhd.first() {
        Some(0) => (40, 76),
        Some(1) => (52, 88),
        _ => return corrupt("tkhd has an unknown version"),
    };
    let (Some(w), Some(h)) = (be_u32(tkhd, size_at), be_u32(tkhd, size_at + 4)) else {
        return corrupt("tkhd is too short");
    };
    let (w, h) = (w >> 16, h >> 16);
    let a = be_u32(tkhd, matrix_at).unwrap_or(0x10000);
    let d = be_u32(tkhd, matrix_at + 16).unwrap_or(0x10000);
    if a == 0 && d == 0 {
        Ok((h, w))
    } else {
        Ok((w, h))
    }
}

/// Maps sample-entry four-ccs to the codec names ffprobe uses.
fn normalise_codec(fourcc: &[u8]) -> String {
    match fourcc {
        b"avc1" | b"avc3" => "h264".into(),
        b"hvc1" | b"hev1" => "hevc".into(),
        b"vp08" => "vp8".into(),
        b"vp09" => "vp9".into(),
        b"av01" => "av1".into(),
        b"mp4a" => "aac".into(),
        b"Opus" => "opus".into(),
        b"ac-3" => "ac3".into(),
        b".mp3" => "mp3".into(),
        other => clean_codec(other),
    }
}

/// Blanks user metadata in place: every `udta` and `meta` box at file level,
/// in `moov` and in each `trak` becomes a `free` box of the same size with
/// zeroed content. Phones store the recording location there (`loci`,
/// `©xyz`, Apple's `mdta` keys), and a video served as uploaded must not
/// publish where its author was. Same-size replacement keeps every chunk
/// offset valid, and players skip `free` boxes. Returns how many boxes were
/// blanked.
pub(crate) fn blank_metadata<F: Read + std::io::Write + Seek>(
    file: &mut F,
    file_len: u64,
) -> Result<usize, ParseError> {
    // (box offset, box size, header length) of each box to blank.
    let mut targets: Vec<(u64, u64, u64)> = Vec::new();
    let mut pos = 0u64;
    let mut boxes = 0usize;
    while pos + 8 <= file_len {
        boxes += 1;
        if boxes > MAX_TOP_LEVEL_BOXES {
            return corrupt("too many top-level boxes");
        }
        file.seek(SeekFrom::Start(pos))?;
        let mut header = [0u8; 16];
        read_exact_or_truncated(file, &mut header[..8], "a box header")?;
        let kind = [header[4], header[5], header[6], header[7]];
        let (size, header_len) =
            match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
                0 => (file_len - pos, 8),
                1 => {
                    read_exact_or_truncated(file, &mut header[8..16], "a box header")?;
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&header[8..16]);
                    (u64::from_be_bytes(b), 16)
                }
                n => (u64::from(n), 8),
            };
        if size < header_len || size > file_len - pos {
            return corrupt("box sizes are inconsistent");
        }
        match &kind {
            b"udta" | b"meta" => targets.push((pos, size, header_len)),
            b"moov" => {
                let moov = read_body(file, size - header_len, MAX_MOOV, "moov")?;
                collect_metadata(&moov, pos + header_len, &mut targets, 0)?;
            }
            _ => {}
        }
        pos += size;
    }
    let zeros = [0u8; 8192];
    for &(offset, size, header_len) in &targets {
        // The size field stays, the type becomes `free`, the body is zeroed.
        file.seek(SeekFrom::Start(offset + 4))?;
        file.write_all(b"free")?;
        file.seek(SeekFrom::Start(offset + header_len))?;
        let mut left = size - header_len;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n])?;
            left -= n as u64;
        }
    }
    file.flush()?;
    Ok(targets.len())
}

/// Finds `udta`/`meta` boxes among `buf`'s children (and inside `trak`s),
/// recording their absolute offsets given that `buf` starts at `base`.
fn collect_metadata(
    buf: &[u8],
    base: u64,
    out: &mut Vec<(u64, u64, u64)>,
    depth: usize,
) -> Result<(), ParseError> {
    let mut pos = 0usize;
    for child in children(buf) {
        let (kind, body) = child?;
        // Recover this child's extent from its body: the body ends where the
        // child ends, and iteration is in order.
        let body_start = body.as_ptr() as usize - buf.as_ptr() as usize;
        let end = body_start + body.len();
        let offset = base + pos as u64;
        match &kind {
            b"udta" | b"meta" => {
                out.push((offset, (end - pos) as u64, (body_start - pos) as u64));
            }
            b"trak" if depth == 0 => {
                collect_metadata(body, base + body_start as u64, out, depth + 1)?
            }
            _ => {}
        }
        pos = end;
    }
    Ok(())
}
