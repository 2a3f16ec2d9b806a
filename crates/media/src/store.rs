//! Where media lives: a thin wrapper over `object_store`, chosen by URL.
//!
//! * `file:///abs/dir` or a plain path: the local file system (the directory
//!   is created). This is the embedded default.
//! * `s3://bucket/prefix`: Amazon S3 or any S3-compatible store, configured
//!   from the usual `AWS_*` environment variables (`AWS_ENDPOINT`,
//!   `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_ALLOW_HTTP`, …).
//! * `memory://`: in memory, for tests.
//!
//! [`MediaStore::open`] also checks that the store answers and accepts the
//! credentials, so that a wrong endpoint, key or bucket stops the start-up
//! with a message naming the endpoint rather than failing the first upload.
//!
//! Reads go through the small [`RangedRead`] trait rather than the store
//! itself, so that the encrypting layer for private media (fixed-size AEAD
//! chunks, decrypted per requested range) can wrap a store without the HTTP
//! handlers changing.

use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{
    BackoffConfig, GetOptions, GetRange, GetResultPayload, ObjectStore, RetryConfig, WriteMultipart,
};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::range::{ByteRange, RangeNotSatisfiable, parse_range};

/// Part size of multipart uploads. S3 refuses parts under 5 MiB (except the
/// last), and this is also the unit of memory a put holds per part.
const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts in flight at once; memory of a put is about `(PART_SIZE) * (PARTS_IN_FLIGHT + 1)`.
const PARTS_IN_FLIGHT: usize = 2;
/// Chunk size of streamed reads from local files.
const READ_CHUNK: usize = 64 * 1024;

/// A stream of the bytes of a (range of a) media object.
pub type ByteStream = BoxStream<'static, Result<Bytes, StoreError>>;

/// Errors of the media store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No object under this key. HTTP 404.
    #[error("media object not found: {key}")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// The key is not a valid object path (empty segment, `..`, …). HTTP 500:
    /// keys are made by the server, never taken from clients.
    #[error("invalid media key {key:?}")]
    InvalidKey {
        /// The offending key.
        key: String,
    },
    /// The media URL from configuration cannot be used. A start-up error.
    #[error("invalid media store URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The backend failed. HTTP 500 (or 503 for a remote store).
    #[error("media store error: {0}")]
    Backend(#[source] object_store::Error),
    /// The store cannot be used: it does not answer, refuses the
    /// credentials, or has no such bucket. A start-up error.
    #[error("cannot use the media store {store} at {endpoint}: {reason}")]
    Unreachable {
        /// `s3://bucket/prefix`
        store: String,
        /// Where requests go.
        endpoint: String,
        /// What went wrong, with a hint.
        reason: String,
    },
    /// Reading the local source file failed. HTTP 500.
    #[error("media i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// The HTTP status this error should be answered with.
    pub fn http_status(&self) -> u16 {
        match self {
            StoreError::NotFound { .. } => 404,
            _ => 500,
        }
    }

    fn backend(key: &ObjectPath, e: object_store::Error) -> StoreError {
        match e {
            object_store::Error::NotFound { .. } => StoreError::NotFound {
                key: key.to_string(),
            },
            e => StoreError::Backend(e),
        }
    }
}

/// Read access by byte range: what playback needs.
///
/// Implemented by [`MediaStore`]; an encrypting layer implements it too by
/// mapping a plaintext range onto the covering ciphertext chunks of its inner
/// reader, and `size` then reports the plaintext size. The methods return
/// boxed futures so the trait stays usable as `dyn RangedRead`.
pub trait RangedRead: Send + Sync {
    /// Size in bytes of the object under `key` (as the client will see it).
    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Streams the bytes of `range` of the object under `key`. The stream is
    /// produced as it is read, never buffered whole.
    fn read_range<'a>(
        &'a self,
        key: &'a str,
        range: ByteRange,
    ) -> BoxFuture<'a, Result<ByteStream, StoreError>>;
}

/// The media store of one region.
#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
    description: String,
    endpoint: String,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("store", &self.description)
            .finish()
    }
}

impl MediaStore {
    /// Opens the store a media URL names (see the module docs).
    pub fn from_url(url: &str) -> Result<MediaStore, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if url.trim().is_empty() {
            return Err(invalid("empty"));
        }
        if !url.contains("://") {
            return MediaStore::local(Path::new(url));
        }
        let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        match parsed.scheme() {
            "file" => {
                if parsed
                    .host_str()
                    .is_some_and(|h| !h.is_empty() && h != "localhost")
                {
                    return Err(invalid("file URLs must not name a host"));
                }
                let path = parsed
                    .to_file_path()
                    .map_err(|()| invalid("not an absolute file path"))?;
                MediaStore::local(&path)
            }
            "s3" => {
                let bucket = parsed.host_str().filter(|b| !b.is_empty());
                let bucket = bucket.ok_or_else(|| invalid("missing bucket name"))?;
                MediaStore::s3(AmazonS3Builder::from_env(), bucket, parsed.path())
                    .map_err(|e| invalid(&e.to_string()))
            }
            "memory" => Ok(MediaStore::in_memory()),
            other => Err(invalid(&format!(
                "unknown scheme {other:?} (expected file://, s3:// or a path)"
            ))),
        }
    }

    /// Opens the store a media URL names, and checks that it answers and
    /// accepts our credentials (see [`MediaStore::check`]).
    pub async fn open(url: &str) -> Result<MediaStore, StoreError> {
        let store = MediaStore::from_url(url)?;
        store.check().await?;
        Ok(store)
    }

    /// A store in an S3 bucket under `prefix`, with the client `builder`
    /// describes (endpoint, region, credentials; path-style requests unless
    /// it asks for virtual-hosted ones). Failed requests are retried for
    /// seconds rather than minutes, so a store that is down answers 5xx
    /// promptly instead of hanging playback.
    pub fn s3(
        builder: AmazonS3Builder,
        bucket: &str,
        prefix: &str,
    ) -> Result<MediaStore, StoreError> {
        let invalid = |reason: String| StoreError::InvalidUrl {
            url: format!("s3://{bucket}/{prefix}"),
            reason,
        };
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .unwrap_or_else(|| "the default AWS endpoint".into());
        let s3 = builder
            .with_bucket_name(bucket)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(15),
            })
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let prefix = prefix.trim_matches('/');
        let description = format!("s3://{bucket}/{prefix}");
        let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            let prefix = ObjectPath::parse(prefix).map_err(|e| invalid(e.to_string()))?;
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Ok(MediaStore {
            inner,
            description,
            endpoint,
        })
    }

    /// Checks that the store answers, knows the bucket and accepts our
    /// credentials, by listing (not reading) its top level.
    pub async fn check(&self) -> Result<(), StoreError> {
        match self.inner.list_with_delimiter(None).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = e.to_string();
                let hint = if [
                    "403",
                    "InvalidAccessKeyId",
                    "SignatureDoesNotMatch",
                    "AccessDenied",
                ]
                .iter()
                .any(|s| text.contains(s))
                {
                    " (the credentials were refused: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
                } else if text.contains("NoSuchBucket") || text.contains("404") {
                    " (no such bucket)"
                } else if text.contains("error sending request") || text.contains("connect") {
                    " (the endpoint does not answer: check AWS_ENDPOINT)"
                } else {
                    ""
                };
                Err(StoreError::Unreachable {
                    store: self.description.clone(),
                    endpoint: self.endpoint.clone(),
                    reason: format!("{text}{hint}"),
                })
            }
        }
    }

    /// A store on the local file system under `dir`, created if missing.
    pub fn local(dir: &Path) -> Result<MediaStore, StoreError> {
        std::fs::create_dir_all(dir)?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StoreError::InvalidUrl {
                url: dir.display().to_string(),
                reason: e.to_string(),
            })?
            // Deleting a video should not leave its empty directories behind.
            .with_automatic_cleanup(true);
        Ok(MediaStore {
            inner: Arc::new(fs),
            description: format!("file://{}", dir.display()),
            endpoint: "the local file system".into(),
        })
    }

    /// A store in memory (tests).
    pub fn in_memory() -> MediaStore {
        MediaStore {
            inner: Arc::new(InMemory::new()),
            description: "memory://".into(),
            endpoint: "memory".into(),
        }
    }

    /// Wraps any `object_store` implementation.
    pub fn from_object_store(inner: Arc<dyn ObjectStore>, description: &str) -> MediaStore {
        MediaStore {
            endpoint: inner.to_string(),
            inner,
            description: description.to_string(),
        }
    }

    /// A human-readable description of the backend (for logs).
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Uploads the local file at `source` under `key`, streaming it in parts so
    /// memory stays bounded. The object appears whole or not at all. Returns
    /// the number of bytes stored.
    pub async fn put_file(&self, key: &str, source: &Path) -> Result<u64, StoreError> {
        let location = object_path(key)?;
        let mut file = tokio::fs::File::open(source).await?;
        let size = file.metadata().await?.len();
        if size <= PART_SIZE as u64 {
            // One request is cheaper than a multipart upload for small files.
            let mut buf = Vec::with_capacity(size as usize);
            file.read_to_end(&mut buf).await?;
            let written = buf.len() as u64;
            self.inner
                .put(&location, buf.into())
                .await
                .map_err(|e| StoreError::backend(&location, e))?;
            return Ok(written);
        }

        let upload = self
            .inner
            .put_multipart(&location)
            .await
            .map_err(|e| StoreError::backend(&location, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let result = async {
            let mut written = 0u64;
            loop {
                // Back-pressure: wait for an upload slot before reading more.
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| StoreError::backend(&location, e))?;
                // One exact-size allocation per part, filled completely so
                // parts (except the last) are PART_SIZE as S3 requires.
                let mut part = vec![0u8; PART_SIZE];
                let mut filled = 0;
                while filled < PART_SIZE {
                    let n = file.read(&mut part[filled..]).await?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    break;
                }
                part.truncate(filled);
                written += filled as u64;
                writer.put(Bytes::from(part));
            }
            Ok::<u64, StoreError>(written)
        }
        .await;
        match result {
            Ok(written) => {
                writer
                    .finish()
                    .await
                    .map_err(|e| StoreError::backend(&location, e))?;
                Ok(written)
            }
            Err(e) => {
                // Best effort: the original error is the one worth reporting.
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "could not abort multipart upload");
                }
                Err(e)
            }
        }
    }

    /// Deletes the object under `key`. Deleting a missing object succeeds, so
    /// a retried deletion is harmless.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let location = object_path(key)?;
        match self.inner.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StoreError::Backend(e)),
        }
    }

    /// Size in bytes of the object under `key`.
    pub async fn head(&self, key: &str) -> Result<u64, StoreError> {
        let location = object_path(key)?;
        let meta = self
            .inner
            .head(&location)
            .await
            .map_err(|e| StoreError::backend(&location, e))?;
        Ok(meta.size)
    }

    /// Streams `range` of the object under `key`.
    pub async fn get_range(&self, key: &str, range: ByteRange) -> Result<ByteStream, StoreError> {
        let location = object_path(key)?;
        let options = GetOptions {
            range: Some(GetRange::Bounded(range.to_offsets())),
            ..GetOptions::default()
        };
        let result = self
            .inner
            .get_opts(&location, options)
            .await
            .map_err(|e| StoreError::backend(&location, e))?;
        let got = result.range.clone();
        match result.payload {
            // Local files: read with a larger chunk than object_store's 8 KiB
            // default; each chunk costs a trip to the blocking pool.
            GetResultPayload::File(file, _) => Ok(file_range_stream(file, got)),
            GetResultPayload::Stream(stream) => {
                let key = location.clone();
                Ok(stream
                    .map_err(move |e| StoreError::backend(&key, e))
                    .boxed())
            }
        }
    }

    /// Every object of the store (under its prefix), listed page by page
    /// as the stream is consumed. Keys are as stored, whoever wrote them, so
    /// they are read back with [`MediaStore::get_listed`], not by key.
    pub fn list(&self) -> BoxStream<'static, Result<ListedObject, StoreError>> {
        self.inner
            .list(None)
            .map(|m| {
                m.map(|m| ListedObject {
                    key: m.location.to_string(),
                    size: m.size,
                    location: m.location,
                })
                .map_err(StoreError::Backend)
            })
            .boxed()
    }

    /// Streams the whole of a listed object (never buffered whole; an empty
    /// object is an empty stream).
    pub async fn get_listed(&self, object: &ListedObject) -> Result<ByteStream, StoreError> {
        let location = &object.location;
        let result = self
            .inner
            .get(location)
            .await
            .map_err(|e| StoreError::backend(location, e))?;
        let got = result.range.clone();
        match result.payload {
            GetResultPayload::File(file, _) => Ok(file_range_stream(file, got)),
            GetResultPayload::Stream(stream) => {
                let key = location.clone();
                Ok(stream
                    .map_err(move |e| StoreError::backend(&key, e))
                    .boxed())
            }
        }
    }
}

/// One object of a store, as [`MediaStore::list`] found it.
#[derive(Debug, Clone)]
pub struct ListedObject {
    /// Its key, relative to the store's prefix.
    pub key: String,
    /// Its size in bytes, as listed.
    pub size: u64,
    location: ObjectPath,
}

impl RangedRead for MediaStore {
    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(self.head(key))
    }

    fn read_range<'a>(
        &'a self,
        key: &'a str,
        range: ByteRange,
    ) -> BoxFuture<'a, Result<ByteStream, StoreError>> {
        Box::pin(self.get_range(key, range))
    }
}

fn object_path(key: &str) -> Result<ObjectPath, StoreError> {
    let invalid = || StoreError::InvalidKey {
        key: key.to_string(),
    };
    // Stricter than object_store's own parsing, which tolerates leading and
    // doubled slashes and "."/".." segments: one key, one spelling, and no
    // way out of a local store's directory.
    let segments_ok = key.split('/').all(|seg| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && !seg.chars().any(|c| c.is_control() || c == '\\')
    });
    if key.is_empty() || !segments_ok {
        return Err(invalid());
    }
    ObjectPath::parse(key).map_err(|_| invalid())
}

fn file_range_stream(file: std::fs::File, range: std::ops::Range<u64>) -> ByteStream {
    struct State {
        file: tokio::fs::File,
        next: u64,
        end: u64,
        positioned: bool,
    }
    let state = State {
        file: tokio::fs::File::from_std(file),
        next: range.start,
        end: range.end,
        positioned: false,
    };
    futures::stream::try_unfold(state, |mut s| async move {
        if s.next >= s.end {
            return Ok(None);
        }
        if !s.positioned {
            s.file.seek(std::io::SeekFrom::Start(s.next)).await?;
            s.positioned = true;
        }
        let want = (s.end - s.next).min(READ_CHUNK as u64) as usize;
        let mut buf = BytesMut::zeroed(want);
        let n = s.file.read(&mut buf).await?;
        if n == 0 {
            // The file shrank under us: end the body early rather than hang.
            return Err(StoreError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        buf.truncate(n);
        s.next += n as u64;
        Ok(Some((buf.freeze(), s)))
    })
    .boxed()
}

/// What to send for a playback request.
pub struct Playback {
    /// Total size of the media object.
    pub size: u64,
    /// `Some` for a 206 answer (with `Content-Range: range.content_range(size)`);
    /// `None` for a 200 with the whole object.
    pub range: Option<ByteRange>,
    /// Number of body bytes (the `Content-Length`).
    pub content_length: u64,
    /// The body, streamed.
    pub body: ByteStream,
}

impl Playback {
    /// HTTP status of the answer: 206 or 200.
    pub fn http_status(&self) -> u16 {
        if self.range.is_some() { 206 } else { 200 }
    }

    /// `Content-Range` header value, for a 206.
    pub fn content_range(&self) -> Option<String> {
        self.range.map(|r| r.content_range(self.size))
    }
}

impl std::fmt::Debug for Playback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playback")
            .field("size", &self.size)
            .field("range", &self.range)
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

/// Why a playback request cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    /// HTTP 416 with `Content-Range: bytes */size` (see [`RangeNotSatisfiable::content_range`]).
    #[error(transparent)]
    RangeNotSatisfiable(#[from] RangeNotSatisfiable),
    /// HTTP 404 for [`StoreError::NotFound`], else 500.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PlaybackError {
    /// The HTTP status this error should be answered with.
    pub fn http_status(&self) -> u16 {
        match self {
            PlaybackError::RangeNotSatisfiable(_) => RangeNotSatisfiable::STATUS,
            PlaybackError::Store(e) => e.http_status(),
        }
    }
}

/// Resolves a playback request: sizes the object, applies the `Range`
/// header (if any) and opens the streamed body.
pub async fn open_playback(
    reader: &dyn RangedRead,
    key: &str,
    range_header: Option<&str>,
) -> Result<Playback, PlaybackError> {
    let size = reader.size(key).await?;
    let range = match range_header {
        Some(h) => parse_range(h, size)?,
        None => None,
    };
    let Some(span) = range.or_else(|| ByteRange::full(size)) else {
        // An empty object: a 200 with an empty body.
        return Ok(Playback {
            size,
            range: None,
            content_length: 0,
            body: futures::stream::empty().boxed(),
        });
    };
    let body = reader.read_range(key, span).await?;
    Ok(Playback {
        size,
        range,
        content_length: span.len(),
        body,
    })
}
