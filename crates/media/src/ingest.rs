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

use crate::sniff::{Container, SNIFF_LEN, Sniff, sniff};

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
            IngestError::NotAVideo => 415,
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
    let (std_file, file) = tempfile::Builder::new()
        .prefix("upload-")
        .tempfile_in(tmp_dir)?
        .into_parts();
    let mut writer =
        tokio::io::BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(std_file));
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_LEN);
    let mut container = None;

    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| IngestError::Interrupted(e.to_string()))?;
        size = size.saturating_add(chunk.len() as u64);
        // Checked before writing, so nothing past the limit touches the disk.
        if size > limits.max_bytes {
            return Err(IngestError::TooLarge {
                limit: limits.max_bytes,
            });
        }
        if container.is_none() {
            let take = (SNIFF_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            match sniff(&head) {
                Sniff::Video(c) => container = Some(c),
                // Refuse early: no point receiving 200 MB of something else.
                Sniff::NotVideo => return Err(IngestError::NotAVideo),
                Sniff::NeedMore | Sniff::Partial if head.len() >= SNIFF_LEN => {
                    return Err(IngestError::NotAVideo);
                }
                Sniff::NeedMore | Sniff::Partial => {}
            }
        }
        hasher.update(&chunk);
        writer.write_all(&chunk).await?;
    }

    if size == 0 {
        return Err(IngestError::Empty);
    }
    let container = match container {
        Some(c) => c,
        None if sniff(&head) == Sniff::Partial => return Err(IngestError::Truncated),
        None => return Err(IngestError::NotAVideo),
    };
    writer.flush().await?;
    // Close the handle before handing the path out.
    drop(writer);

    Ok(Ingested {
        file,
        sha256: hex::encode(hasher.finalize()),
        size,
        container,
    })
}
