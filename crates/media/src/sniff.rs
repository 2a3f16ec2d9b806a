//! Content sniffing: decides from the first bytes of an upload whether it is a
//! video container we handle (ISO BMFF MP4, QuickTime MOV, WebM, Matroska).
//!
//! The file name and the client's Content-Type are never consulted: both are
//! chosen by the uploader. The sniffer only looks at a bounded prefix
//! ([`SNIFF_LEN`]) so it can run while the upload is still streaming, and it
//! must never panic on arbitrary bytes.

/// How many leading bytes the sniffer may need before it gives a verdict.
pub const SNIFF_LEN: usize = 4096;

/// A container format recognised from content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    /// ISO base media file format (`ftyp` with an ISO/MP4 brand).
    Mp4,
    /// QuickTime (`ftyp` with the `qt  ` brand); structurally the same box tree.
    QuickTime,
    /// Matroska with the `webm` DocType.
    WebM,
    /// Matroska with the `matroska` DocType (MKV).
    Matroska,
}

impl Container {
    /// The media type to serve the file as, when it is served unchanged.
    ///
    /// QuickTime holding H.264 is served as `video/mp4`: browsers play that
    /// box tree fine but refuse the `video/quicktime` label.
    pub fn content_type(self) -> &'static str {
        match self {
            Container::Mp4 | Container::QuickTime => "video/mp4",
            Container::WebM => "video/webm",
            Container::Matroska => "video/x-matroska",
        }
    }

    /// True for the ISO BMFF family (MP4 and MOV).
    pub fn is_iso_bmff(self) -> bool {
        matches!(self, Container::Mp4 | Container::QuickTime)
    }

    /// A short lowercase name (`mp4`, `mov`, `webm`, `mkv`).
    pub fn name(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::QuickTime => "mov",
            Container::WebM => "webm",
            Container::Matroska => "mkv",
        }
    }
}

/// The sniffer's verdict on a prefix of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// The prefix identifies this container.
    Video(Container),
    /// A container signature matched but its header is not complete yet. If
    /// the file ends here, it is a truncated video rather than "not a video".
    Partial,
    /// Too few bytes to tell anything yet.
    NeedMore,
    /// Not a container we accept, whatever follows.
    NotVideo,
}

/// How many leading bytes [`sniff_image`] needs.
pub const IMAGE_SNIFF_LEN: usize = 12;

/// A poster image format recognised from content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (the 8-byte PNG signature).
    Png,
    /// WebP (`RIFF` container with the `WEBP` form type).
    Webp,
}

impl ImageFormat {
    /// The media type to serve the image as.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
        }
    }
}

/// Sniffs a poster image from its first [`IMAGE_SNIFF_LEN`] bytes; `None`
/// for anything else, including fewer bytes than a signature needs.
pub fn sniff_image(head: &[u8]) -> Option<ImageFormat> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];
const EBML_DOCTYPE: u64 = 0x4282;

/// Sniffs `head`, the first bytes of a file (any length; at most
/// [`SNIFF_LEN`] are looked at).
pub fn sniff(head: &[u8]) -> Sniff {
    let head = &head[..head.len().min(SNIFF_LEN)];
    if head.len() < 4 {
        // Four bytes could still be either a box size or the EBML magic.
        return if EBML_MAGIC.starts_with(head) || head.len() < 4 {
            Sniff::NeedMore
        } else {
            Sniff::NotVideo
        };
    }
    if head[..4] == EBML_MAGIC {
        return sniff_ebml(head);
    }
    sniff_ftyp(head)
}

/// ISO BMFF: the first box must be `ftyp`, sized like one, with a brand.
fn sniff_ftyp(head: &[u8]) -> Sniff {
    if head.len() < 8 {
        // The type field is partially present: it must agree with "ftyp".
        return if b"ftyp".starts_with(&head[4..]) {
            Sniff::NeedMore
        } else {
            Sniff::NotVideo
        };
    }
    if &head[4..8] != b"ftyp" {
        return Sniff::NotVideo;
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    // major brand + minor version + compatible brands, in 4-byte units; a huge
    // ftyp is not something any muxer writes.
    if !(16..=4096).contains(&size) || !size.is_multiple_of(4) {
        return Sniff::NotVideo;
    }
    if head.len() < 12 {
        return Sniff::Partial;
    }
    let brand = &head[8..12];
    if !brand.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Sniff::NotVideo;
    }
    // Image formats share the box syntax; their brands must not pass as video.
    const STILL_IMAGE_BRANDS: [&[u8; 4]; 6] =
        [b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"];
    if STILL_IMAGE_BRANDS.iter().any(|b| &b[..] == brand) {
        return Sniff::NotVideo;
    }
    if brand == b"qt  " {
        Sniff::Video(Container::QuickTime)
    } else {
        Sniff::Video(Container::Mp4)
    }
}

/// EBML: walk the header's children looking for DocType.
fn sniff_ebml(head: &[u8]) -> Sniff {
    let Some((header_size, mut pos)) = read_size(head, 4) else {
        return Sniff::Partial;
    };
    let Some(header_size) = header_size else {
        // The EBML header must have a known size.
        return Sniff::NotVideo;
    };
    let Some(header_end) = pos.checked_add(header_size as usize) else {
        return Sniff::NotVideo;
    };
    if header_size > 1024 {
        return Sniff::NotVideo;
    }
    while pos < header_end {
        let (id, after_id) = match read_id(head, pos) {
            Ok(Some(id)) => id,
            Ok(None) => return Sniff::Partial,
            Err(()) => return Sniff::NotVideo,
        };
        let Some((size, body)) = read_size(head, after_id) else {
            return Sniff::Partial;
        };
        let Some(size) = size else {
            return Sniff::NotVideo;
        };
        let Some(end) = body.checked_add(size as usize).filter(|e| *e <= header_end) else {
            return Sniff::NotVideo;
        };
        if id == EBML_DOCTYPE {
            if end > head.len() {
                return Sniff::Partial;
            }
            let doctype = &head[body..end];
            // DocType strings may be NUL-padded.
            let doctype = doctype.split(|b| *b == 0).next().unwrap_or_default();
            return match doctype {
                b"webm" => Sniff::Video(Container::WebM),
                b"matroska" => Sniff::Video(Container::Matroska),
                _ => Sniff::NotVideo,
            };
        }
        pos = end;
    }
    if header_end > head.len() {
        return Sniff::Partial;
    }
    // The specification's default DocType is "matroska".
    Sniff::Video(Container::Matroska)
}

/// Reads an EBML element ID (1–4 bytes, marker bit kept). `Ok(None)` if
/// the bytes run out, `Err` if the ID is malformed.
fn read_id(buf: &[u8], pos: usize) -> Result<Option<(u64, usize)>, ()> {
    let Some(&first) = buf.get(pos) else {
        return Ok(None);
    };
    let len = first.leading_zeros() as usize + 1;
    if len > 4 {
        return Err(());
    }
    let Some(bytes) = buf.get(pos..pos + len) else {
        return Ok(None);
    };
    let id = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok(Some((id, pos + len)))
}

/// Reads an EBML data size (1–8 bytes, marker bit removed). The inner
/// `None` is the reserved "unknown size" value. A zero first byte (a size
/// longer than 8 bytes, invalid) is reported as unknown, which every caller
/// rejects.
fn read_size(buf: &[u8], pos: usize) -> Option<(Option<u64>, usize)> {
    let first = *buf.get(pos)?;
    if first == 0 {
        return Some((None, pos + 1));
    }
    let len = first.leading_zeros() as usize + 1;
    let bytes = buf.get(pos..pos + len)?;
    let mask = if len == 8 { 0 } else { 0xFFu8 >> len };
    let mut value = u64::from(bytes[0] & mask);
    for b in &bytes[1..] {
        value = (value << 8) | u64::from(*b);
    }
    let all_ones = (1u64 << (7 * len)) - 1;
    let size = if value == all_ones { None } else { Some(value) };
    Some((size, pos + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_mp4_and_quicktime() {
        let mut mp4 = vec![0, 0, 0, 24];
        mp4.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
        assert_eq!(sniff(&mp4), Sniff::Video(Container::Mp4));
        let mut mov = vec![0, 0, 0, 20];
        mov.extend_from_slice(b"ftypqt  \0\0\x02\0qt  ");
        assert_eq!(sniff(&mov), Sniff::Video(Container::QuickTime));
        assert_eq!(sniff(&mp4[..10]), Sniff::Partial);
        assert_eq!(sniff(&mp4[..6]), Sniff::NeedMore);
    }

    #[test]
    fn rejects_images_text_and_odd_ftyp() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert_eq!(sniff(&heic), Sniff::NotVideo);
        assert_eq!(sniff(b"hello, this is not a video at all"), Sniff::NotVideo);
        assert_eq!(sniff(b"\0\0\0\x09ftypisom"), Sniff::NotVideo);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), Sniff::NotVideo);
        assert_eq!(sniff(b"x"), Sniff::NeedMore);
        assert_eq!(sniff(b""), Sniff::NeedMore);
    }

    #[test]
    fn recognises_poster_images() {
        assert_eq!(
            sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            sniff_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageFormat::Png)
        );
        assert_eq!(
            sniff_image(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(ImageFormat::Webp)
        );
        assert_eq!(sniff_image(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff_image(b"GIF89a......"), None);
        assert_eq!(sniff_image(b"\xFF\xD8"), None);
        assert_eq!(ImageFormat::Png.content_type(), "image/png");
    }

    #[test]
    fn recognises_webm_and_matroska() {
        // EBML header: DocType "webm" preceded by EBMLVersion.
        let webm = [
            0x1A, 0x45, 0xDF, 0xA3, 0x8B, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84, b'w', b'e',
            b'b', b'm',
        ];
        assert_eq!(sniff(&webm), Sniff::Video(Container::WebM));
        assert_eq!(sniff(&webm[..12]), Sniff::Partial);
        assert_eq!(sniff(&webm[..3]), Sniff::NeedMore);
        let mkv = [
            0x1A, 0x45, 0xDF, 0xA3, 0x8B, 0x42, 0x82, 0x88, b'm', b'a', b't', b'r', b'o', b's',
            b'k', b'a',
        ];
        assert_eq!(sniff(&mkv), Sniff::Video(Container::Matroska));
        let other = [
            0x1A, 0x45, 0xDF, 0xA3, 0x87, 0x42, 0x82, 0x84, b'a', b'b', b'c', b'd',
        ];
        assert_eq!(sniff(&other), Sniff::NotVideo);
        // DocType element claiming to extend past its header.
        let bad = [0x1A, 0x45, 0xDF, 0xA3, 0x83, 0x42, 0x82, 0x88, b'w'];
        assert_eq!(sniff(&bad), Sniff::NotVideo);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn prefixed() -> impl Strategy<Value = Vec<u8>> {
        let heads = prop_oneof![
            Just(vec![]),
            Just(vec![0x1A, 0x45, 0xDF, 0xA3]),
            Just(vec![0, 0, 0, 24, b'f', b't', b'y', b'p']),
            Just(vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x84]),
        ];
        (heads, proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|(mut h, t)| {
            h.extend(t);
            h
        })
    }

    proptest! {
        /// A verdict reached on a prefix never changes as more bytes arrive:
        /// ingest decides on the prefix while the upload is streaming.
        #[test]
        fn verdicts_are_stable_under_extension(data in prefixed(), cut in 0usize..300) {
            let cut = cut.min(data.len());
            match sniff(&data[..cut]) {
                Sniff::Video(c) => prop_assert_eq!(sniff(&data), Sniff::Video(c)),
                Sniff::NotVideo => prop_assert_eq!(sniff(&data), Sniff::NotVideo),
                Sniff::Partial => prop_assert_ne!(sniff(&data), Sniff::NeedMore),
                Sniff::NeedMore => {}
            }
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..5000)) {
            let _ = sniff(&data);
            let _ = sniff_image(&data);
        }
    }
}
