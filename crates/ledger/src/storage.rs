//! Where a log's files live: any `object_store` backend (local disk by
//! default, S3 and friends in deployments) under a prefix the caller picks.
//! [`LogStorage::from_url`] takes a path, `file://…` or `s3://bucket/prefix`
//! (an S3-compatible service, configured by the usual `AWS_*` variables).
//!
//! Object stores make each single put atomic, which is what the sequencer's
//! crash-safety argument needs. On local disk we additionally fsync each
//! written file and its directories, because `LocalFileSystem` renames into
//! place without syncing and an acknowledged entry must survive power loss,
//! not only a killed process.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ObjectStore, PutPayload, RetryConfig};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid object path {0:?}")]
    BadPath(String),
    #[error("invalid log storage URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// The store answered, but not as a usable log store: wrong
    /// credentials, a missing bucket, an endpoint that is down.
    #[error("cannot use the log store {store} at {endpoint}: {reason}")]
    Unreachable {
        store: String,
        endpoint: String,
        reason: String,
    },
}

/// A log's (or a witness's) storage: an object store and a key prefix.
#[derive(Clone)]
pub struct LogStorage {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// Set for local directories, whose writes we fsync.
    local_root: Option<PathBuf>,
    /// `s3://bucket/prefix`, `file:///dir`, … for messages.
    description: String,
    /// Where requests go (an S3 endpoint), for messages.
    endpoint: String,
}

impl std::fmt::Debug for LogStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStorage")
            .field("store", &self.description)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl LogStorage {
    /// A log stored in a local directory (created if missing).
    pub fn local(dir: &FsPath) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir)?;
        let dir = std::fs::canonicalize(dir)?;
        let store = LocalFileSystem::new_with_prefix(&dir)?;
        Ok(LogStorage {
            store: Arc::new(store),
            prefix: String::new(),
            description: format!("file://{}", dir.display()),
            endpoint: "the local file system".into(),
            local_root: Some(dir),
        })
    }

    /// A log stored in any object store under `prefix` (e.g. `ledger/us`).
    /// Durability is then the store's own (S3 puts are durable on success).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/').to_string();
        LogStorage {
            description: format!("{store}/{prefix}"),
            endpoint: store.to_string(),
            store,
            prefix,
            local_root: None,
        }
    }

    /// The storage a URL names: a plain path or `file:///dir` (local
    /// files), or `s3://bucket/prefix` (S3 or any S3-compatible service,
    /// configured from `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, …). Nothing is contacted
    /// yet: call [`LogStorage::check`] to fail early with a clear message.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        let bad = |reason: &str| StorageError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if url.trim().is_empty() {
            return Err(bad("empty"));
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return LogStorage::local(FsPath::new(url));
        };
        match scheme {
            "file" => {
                let path = rest.strip_prefix("localhost").unwrap_or(rest);
                if !path.starts_with('/') {
                    return Err(bad("file URLs need an absolute path (file:///dir)"));
                }
                LogStorage::local(FsPath::new(path))
            }
            "s3" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(bad("missing bucket name (s3://bucket/prefix)"));
                }
                LogStorage::s3(AmazonS3Builder::from_env(), bucket, prefix)
                    .map_err(|e| bad(&e.to_string()))
            }
            other => Err(bad(&format!(
                "unknown scheme {other:?} (expected a path, file:// or s3://)"
            ))),
        }
    }

    /// A log in an S3 bucket under `prefix`, with the client `builder`
    /// describes (endpoint, region, credentials). Requests that fail are
    /// retried for a few seconds, not minutes, so that a store that is down
    /// stops the log promptly instead of stalling every appender.
    pub fn s3(builder: AmazonS3Builder, bucket: &str, prefix: &str) -> Result<Self, StorageError> {
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .unwrap_or_else(|| "the default AWS endpoint".into());
        let store = builder
            .with_bucket_name(bucket)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(15),
            })
            .build()?;
        let prefix = prefix.trim_matches('/').to_string();
        Ok(LogStorage {
            store: Arc::new(store),
            description: format!("s3://{bucket}/{prefix}"),
            endpoint,
            prefix,
            local_root: None,
        })
    }

    /// `s3://bucket/prefix`, `file:///dir`, …
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Where requests go (the S3 endpoint), for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Is this a local directory (one machine, fsynced writes)?
    pub fn is_local(&self) -> bool {
        self.local_root.is_some()
    }

    /// Checks that the store answers and accepts our credentials, so that a
    /// misconfiguration stops the start-up with a message naming the
    /// endpoint instead of failing the first append.
    pub async fn check(&self) -> Result<(), StorageError> {
        // A listing, not a HEAD: S3 answers a HEAD in a missing bucket with
        // a bare 404, which would read as "no checkpoint yet".
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        match self.store.list_with_delimiter(prefix.as_ref()).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.unreachable(e)),
        }
    }

    /// Names the store and its endpoint in an error, with a hint at the
    /// usual causes.
    pub(crate) fn unreachable(&self, e: object_store::Error) -> StorageError {
        let text = e.to_string();
        let hint = if text.contains("403")
            || text.contains("InvalidAccessKeyId")
            || text.contains("SignatureDoesNotMatch")
            || text.contains("AccessDenied")
        {
            " (the credentials were refused: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        } else if text.contains("NoSuchBucket") || text.contains("404") {
            " (no such bucket)"
        } else if text.contains("error sending request")
            || text.contains("connect")
            || text.contains("Connection refused")
        {
            " (the endpoint does not answer: check AWS_ENDPOINT)"
        } else {
            ""
        };
        StorageError::Unreachable {
            store: self.description.clone(),
            endpoint: self.endpoint.clone(),
            reason: format!("{text}{hint}"),
        }
    }

    pub(crate) fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(crate) fn local_root(&self) -> Option<&FsPath> {
        self.local_root.as_deref()
    }

    pub(crate) fn key(&self, rel: &str) -> Result<Path, StorageError> {
        let full = if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{}", self.prefix, rel)
        };
        Path::parse(&full).map_err(|_| StorageError::BadPath(full))
    }

    pub async fn get(&self, rel: &str) -> Result<Option<Bytes>, StorageError> {
        match self.store.get(&self.key(rel)?).await {
            Ok(r) => Ok(Some(r.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes one object atomically and durably.
    pub async fn put(&self, rel: &str, data: Bytes) -> Result<(), StorageError> {
        self.put_all(&[(rel.to_string(), data)]).await
    }

    /// Writes several objects (concurrently), then makes them all durable.
    pub async fn put_all(&self, items: &[(String, Bytes)]) -> Result<(), StorageError> {
        let pending = self.put_all_deferred(items).await?;
        self.sync(pending).await
    }

    /// Writes several objects (each atomically, and visible at once) but
    /// leaves making them durable to a later [`LogStorage::sync`], so that
    /// several writes can share one round of fsyncs.
    pub async fn put_all_deferred(
        &self,
        items: &[(String, Bytes)],
    ) -> Result<PendingSync, StorageError> {
        let keys = items
            .iter()
            .map(|(rel, _)| self.key(rel))
            .collect::<Result<Vec<_>, _>>()?;
        let files: Vec<PathBuf> = match &self.local_root {
            Some(root) => keys.iter().map(|k| root.join(k.as_ref())).collect(),
            None => Vec::new(),
        };
        let new_dirs = match &self.local_root {
            Some(root) => missing_dirs(root, &files),
            None => Vec::new(),
        };
        let puts: Vec<_> = keys
            .iter()
            .cloned()
            .zip(items.iter().map(|(_, d)| d.clone()))
            .map(|(k, d)| {
                let store = self.store.clone();
                async move { store.put(&k, PutPayload::from(d)).await }
            })
            .collect();
        let mut puts = futures::stream::iter(puts).buffer_unordered(16);
        while let Some(r) = puts.next().await {
            r?;
        }
        Ok(PendingSync { files, new_dirs })
    }

    /// Makes earlier deferred writes durable (a no-op for remote stores,
    /// whose puts are durable when they return).
    pub async fn sync(&self, pending: PendingSync) -> Result<(), StorageError> {
        if let Some(root) = &self.local_root
            && !pending.files.is_empty()
        {
            let root = root.clone();
            tokio::task::spawn_blocking(move || {
                sync_files(&root, &pending.files, &pending.new_dirs)
            })
            .await
            .map_err(std::io::Error::other)??;
        }
        Ok(())
    }

    pub async fn delete(&self, rel: &str) -> Result<(), StorageError> {
        match self.store.delete(&self.key(rel)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Paths (relative to the prefix) of the objects under `rel`.
    pub async fn list(&self, rel: &str) -> Result<Vec<String>, StorageError> {
        let base = self.key(rel)?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let metas: Vec<_> = self.store.list(Some(&base)).try_collect().await?;
        Ok(metas
            .into_iter()
            .map(|m| {
                let s = m.location.to_string();
                s.strip_prefix(&strip).unwrap_or(&s).to_string()
            })
            .collect())
    }
}

/// Writes not yet known to be durable; see [`LogStorage::put_all_deferred`].
#[derive(Debug, Default)]
#[must_use = "deferred writes are not durable until synced"]
pub struct PendingSync {
    files: Vec<PathBuf>,
    new_dirs: Vec<PathBuf>,
}

impl PendingSync {
    /// Merges two pending sets into one round of fsyncs.
    pub fn merge(mut self, other: PendingSync) -> PendingSync {
        self.files.extend(other.files);
        self.new_dirs.extend(other.new_dirs);
        self
    }
}

/// Anything tiles can be read from: a log's storage, or a log served over
/// HTTP (see `audit`).
pub trait TileSource: Send + Sync {
    /// Fetches an object relative to the log prefix (`checkpoint`,
    /// `tile/...`); `Ok(None)` if it does not exist.
    fn fetch<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, String>>;
}

impl TileSource for LogStorage {
    fn fetch<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, String>> {
        Box::pin(async move { self.get(rel).await.map_err(|e| e.to_string()) })
    }
}

/// Makes written files durable: each file, the directory it was renamed
/// into, and the parents of any directory the write created. The fsyncs
/// run in parallel, so the file system can commit them together.
fn sync_files(root: &FsPath, files: &[PathBuf], new_dirs: &[PathBuf]) -> std::io::Result<()> {
    let mut targets: std::collections::BTreeSet<PathBuf> = files.iter().cloned().collect();
    for f in files {
        if let Some(d) = f.parent() {
            targets.insert(d.to_path_buf());
        }
    }
    for d in new_dirs {
        if let Some(p) = d.parent()
            && p.starts_with(root)
        {
            targets.insert(p.to_path_buf());
        }
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = targets
            .iter()
            .map(|t| s.spawn(move || std::fs::File::open(t)?.sync_all()))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("fsync thread panicked")))
        })
    })
}

/// Directories on the way to `files` that do not exist yet.
fn missing_dirs(root: &FsPath, files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in files {
        let mut d = f.parent();
        while let Some(dir) = d {
            if dir == root || !dir.starts_with(root) || dir.exists() || out.iter().any(|o| o == dir)
            {
                break;
            }
            out.push(dir.to_path_buf());
            d = dir.parent();
        }
    }
    out
}
