//! Upload ingest: the first stop of an uploaded video.
//!
//! The request body is streamed into a temporary file with a bounded buffer,
//! hashed with SHA-256 on the way, cut off as soon as it passes the size
//! limit, and sniffed from its first bytes, so a 200 MB upload costs the
//! server a constant amount of memory and a non-video is refused after a few
//! kilobytes. On any error the temporary file is removed (it is a
//! [`TempPath`], deleted on drop, which also covers a cancelled request).

use std::path::Path;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

use crate::sniff::{Container, IMAGE_SNIFF_LEN, ImageFormat, SNIFF_LEN, Sniff, sniff, sniff_image};

/// Default upload limit: 200 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 200 * 1024 * 1024;

/// Write buffer between the body stream and the temporary file. Small body
/// chunks (multipart parsers yield a few KiB at a time) are batched into one
/// write; large ones go straight through.
const WRITE_BUFFER: usize = 256 * 1024;

/// Limits applied while the upload streams in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestLimits {
    /// Largest accepted upload, in bytes.
    pub max_bytes: u64,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}

/// An upload that was received completely and looks like a video container.
///
/// Its structure has not been checked yet: that is [`crate::MediaProcessor`]'s job.
#[derive(Debug)]
pub struct Ingested {
    /// The temporary file. It is deleted when this value is dropped; call
    /// [`TempPath::keep`] to take ownership of it.
    pub file: TempPath,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Container recognised from the content.
    pub container: Container,
}

impl Ingested {
    /// Path of the temporary file holding the upload.
    pub fn path(&self) -> &Path {
        &self.file
    }
}

/// Why an upload was refused. The `Display` text is fit for the client.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body held no bytes. HTTP 400.
    #[error("the uploaded file is empty")]
    Empty,
    /// The body passed the size limit; reading stopped there. HTTP 413.
    #[error("the uploaded file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The content is not an MP4, MOV, WebM or Matroska file. HTTP 415.
    #[error("the uploaded file is not a video (MP4, MOV or WebM expected)")]
    NotAVideo,
    /// A poster that is not a JPEG, PNG or WebP image. HTTP 415.
    #[error("the uploaded poster is not an image (JPEG, PNG or WebP expected)")]
    NotAnImage,
    /// The content starts like a video but ends inside its header. HTTP 422.
    #[error("the uploaded video is truncated")]
    Truncated,
    /// The body stream failed before its end (client gone, malformed
    /// multipart, …). HTTP 400.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// Local disk trouble on our side. HTTP 500.
    #[error("could not store the upload")]
    Io(#[from] std::io::Error),
}

impl IngestError {
    /// The HTTP status this error should be answered with.
    pub fn http_status(&self) -> u16 {
        match self {
            IngestError::Empty | IngestError::Interrupted(_) => 400,
            IngestError::TooLarge { .. } => 413,
            IngestError::NotAVideo | IngestError::NotAnImage => 415,
            IngestError::Truncated => 422,
            IngestError::Io(_) => 500,
        }
    }

    /// A stable machine-readable code, usable as the tail of a problem `type`.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Empty => "video-empty",
            IngestError::TooLarge { .. } => "video-too-large",
            IngestError::NotAVideo => "not-a-video",
            IngestError::NotAnImage => "not-an-image",
            IngestError::Truncated => "video-truncated",
            IngestError::Interrupted(_) => "upload-interrupted",
            IngestError::Io(_) => "internal",
        }
    }
}

/// Receives an upload body into a temporary file in `tmp_dir`.
///
/// Memory use is bounded by the write buffer plus the largest chunk the
/// stream yields, whatever the size of the upload.
pub async fn ingest<S, E>(
    body: S,
    limits: &IngestLimits,
    tmp_dir: &Path,
) -> Result<Ingested, IngestError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let decide = |head: &[u8], at_end: bool| match sniff(head) {
        Sniff::Video(c) => Decision::Accept(c),
        // Refuse early: no point receiving 200 MB of something else.
        Sniff::NotVideo => Decision::Reject(IngestError::NotAVideo),
        Sniff::Partial if at_end => Decision::Reject(IngestError::Truncated),
        _ if at_end || head.len() >= SNIFF_LEN => Decision::Reject(IngestError::NotAVideo),
        Sniff::NeedMore | Sniff::Partial => Decision::Wait,
    };
    let (file, sha256, size, container) =
        receive(body, limits.max_bytes, tmp_dir, "upload-", decide).await?;
    Ok(Ingested {
        file,
        sha256,
        size,
        container,
    })
}

/// A poster image that was received completely.
#[derive(Debug)]
pub struct IngestedImage {
    /// The temporary file, deleted when this value is dropped.
    pub file: TempPath,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Format recognised from the content.
    pub format: ImageFormat,
}

impl IngestedImage {
    /// Path of the temporary file holding the image.
    pub fn path(&self) -> &Path {
        &self.file
    }
}

/// Receives a client-supplied poster (used when the server cannot make one
/// because ffmpeg is missing): JPEG, PNG or WebP, sniffed from the content,
/// at most `max_bytes`. Errors are those of [`ingest`], with
/// [`IngestError::NotAnImage`] for content of another kind.
pub async fn ingest_image<S, E>(
    body: S,
    max_bytes: u64,
    tmp_dir: &Path,
) -> Result<IngestedImage, IngestError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let decide = |head: &[u8], at_end: bool| match sniff_image(head) {
        Some(format) => Decision::Accept(format),
        None if at_end || head.len() >= IMAGE_SNIFF_LEN => {
            Decision::Reject(IngestError::NotAnImage)
        }
        None => Decision::Wait,
    };
    let (file, sha256, size, format) = receive(body, max_bytes, tmp_dir, "poster-", decide).await?;
    Ok(IngestedImage {
        file,
        sha256,
        size,
        format,
    })
}

/// What a sniffer makes of the prefix received so far.
enum Decision<T> {
    Accept(T),
    Reject(IngestError),
    /// Not enough bytes yet.
    Wait,
}

/// The streaming loop shared by videos and images. `decide` sees the first
/// bytes (up to [`SNIFF_LEN`]) after each chunk until it accepts or rejects;
/// at the end of the body it is called with `at_end` and must not wait.
async fn receive<S, E, T>(
    body: S,
    max_bytes: u64,
    tmp_dir: &Path,
    prefix: &str,
    decide: impl Fn(&[u8], bool) -> Decision<T>,
) -> Result<(TempPath, String, u64, T), IngestError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let (std_file, file) = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(tmp_dir)?
        .into_parts();
    let mut writer =
        tokio::io::BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(std_file));
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_LEN);
    let mut verdict = None;

    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| IngestError::Interrupted(e.to_string()))?;
        size = size.saturating_add(chunk.len() as u64);
        // Checked before writing, so nothing past the limit touches the disk.
        if size > max_bytes {
            return Err(IngestError::TooLarge { limit: max_bytes });
        }
        if verdict.is_none() && !chunk.is_empty() {
            let take = (SNIFF_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            match decide(&head, false) {
                Decision::Accept(v) => verdict = Some(v),
                Decision::Reject(e) => return Err(e),
                Decision::Wait => {}
            }
        }
        hasher.update(&chunk);
        writer.write_all(&chunk).await?;
    }

    if size == 0 {
        return Err(IngestError::Empty);
    }
    let verdict = match verdict {
        Some(v) => v,
        None => match decide(&head, true) {
            Decision::Accept(v) => v,
            Decision::Reject(e) => return Err(e),
            Decision::Wait => return Err(IngestError::Truncated),
        },
    };
    writer.flush().await?;
    // Close the handle before handing the path out.
    drop(writer);
    Ok((file, hex::encode(hasher.finalize()), size, verdict))
}
