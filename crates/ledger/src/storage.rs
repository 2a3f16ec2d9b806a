//! Where a log's files live: any `object_store` backend (local disk by
//! default, S3 and friends in deployments) under a prefix the caller picks.
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
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid object path {0:?}")]
    BadPath(String),
}

/// A log's (or a witness's) storage: an object store and a key prefix.
#[derive(Clone)]
pub struct LogStorage {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// Set for local directories, whose writes we fsync.
    local_root: Option<PathBuf>,
}

impl std::fmt::Debug for LogStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStorage")
            .field("store", &self.store.to_string())
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
            local_root: Some(dir),
        })
    }

    /// A log stored in any object store under `prefix` (e.g. `ledger/us`).
    /// Durability is then the store's own (S3 puts are durable on success).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        LogStorage {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            local_root: None,
        }
    }

    fn key(&self, rel: &str) -> Result<Path, StorageError> {
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
