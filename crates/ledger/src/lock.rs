//! Where a log's committed checkpoint lives, and who may advance it.
//!
//! The committed checkpoint is the log's point of no return (step 3 in
//! `log.rs`). It only ever moves by compare-and-swap: "replace the
//! checkpoint I committed last with this one", which fails if anyone else
//! committed in between. Two sequencers on one log can therefore never both
//! extend it; the second to try learns that it lost and stops. This is
//! Sunlight's design, where the same role is played by a lock backend
//! (DynamoDB, SQLite or S3 conditional writes).
//!
//! Backends:
//! * [`StorageLock`] keeps it at `state/checkpoint` in the log's own
//!   storage. On local files one machine is the whole story: an exclusive
//!   file lock is the sequencer lease, and compare-then-put under it is a
//!   compare-and-swap. On an object store it uses conditional writes
//!   (`If-None-Match: *` to create, `If-Match: <etag>` to replace), and it
//!   first checks that the store honours them: one that silently ignores
//!   them (Garage 2.5 does) would let two writers fork the log, so it is
//!   refused with a message that says to configure a lock backend.
//! * [`PostgresLock`] keeps it in a PostgreSQL row with a version column,
//!   and its lease is a session advisory lock: held as long as the
//!   sequencer's connection lives, released by the server the moment the
//!   process dies, even by SIGKILL.
//!
//! The lease only keeps a second sequencer from starting. Safety never
//! depends on it: a sequencer that lost its lease without noticing is still
//! stopped by the compare-and-swap.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use object_store::{PutMode, PutOptions, PutPayload, UpdateVersion};

use crate::storage::{LogStorage, StorageError};

const COMMITTED: &str = "state/checkpoint";
const LEASE_FILE: &str = "state/sequencer.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else committed: this sequencer must stop.
    #[error("{0}")]
    Conflict(String),
    /// Another sequencer holds the lease of this log.
    #[error("{0}")]
    Held(String),
    /// The lock backend cannot be reached or failed; whether a write landed
    /// is unknown.
    #[error("{0}")]
    Unavailable(String),
    /// The backend cannot provide compare-and-swap.
    #[error("{0}")]
    Unsupported(String),
}

impl From<StorageError> for LockError {
    fn from(e: StorageError) -> Self {
        LockError::Unavailable(e.to_string())
    }
}

/// The committed checkpoint note, with what the backend needs to swap it.
#[derive(Debug, Clone)]
pub struct Committed {
    pub note: Bytes,
    version: Version,
}

#[derive(Debug, Clone)]
enum Version {
    /// Compared by content (local files, under the file lock).
    Content,
    /// An object version for `If-Match`.
    Object(UpdateVersion),
    /// The row's version column.
    Row(i64),
}

/// Proof that this process is the log's one sequencer. Dropping it releases
/// the lease.
pub struct Lease {
    lost: Arc<AtomicBool>,
    _held: Box<dyn std::any::Any + Send + Sync>,
    on_drop: Option<tokio::task::JoinHandle<()>>,
}

impl Lease {
    /// A lease that is not enforced by anything but the compare-and-swap.
    pub fn unenforced() -> Lease {
        Lease {
            lost: Arc::new(AtomicBool::new(false)),
            _held: Box::new(()),
            on_drop: None,
        }
    }

    /// Still held, as far as we know?
    pub fn is_held(&self) -> bool {
        !self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(h) = self.on_drop.take() {
            h.abort();
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("held", &self.is_held())
            .finish()
    }
}

/// Compare-and-swap of the committed checkpoint, and the sequencer lease.
pub trait CheckpointLock: Send + Sync {
    /// What and where, for messages (`postgres://…/db`, `s3://b/p`, …).
    fn describe(&self) -> String;

    /// Takes the lease of this log for `holder` (a description of this
    /// process), waiting up to `wait` for a previous holder to let go.
    fn lease<'a>(
        &'a self,
        holder: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Lease, LockError>>;

    /// The committed checkpoint, if the log has one.
    fn fetch(&self) -> BoxFuture<'_, Result<Option<Committed>, LockError>>;

    /// Commits the first checkpoint; `Conflict` if there already is one.
    fn create(&self, note: Bytes) -> BoxFuture<'_, Result<Committed, LockError>>;

    /// Replaces `old` by `note`; `Conflict` if `old` is no longer the
    /// committed checkpoint.
    fn replace<'a>(
        &'a self,
        old: &'a Committed,
        note: Bytes,
    ) -> BoxFuture<'a, Result<Committed, LockError>>;
}

/// A description of this process for lease messages: host, pid and when
/// it first asked.
pub fn this_process() -> String {
    static ME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ME.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "this host".into());
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        format!("pid {} on {host}, started {now}", std::process::id())
    })
    .clone()
}

/// The committed checkpoint in the log's own storage (see the module docs).
pub struct StorageLock {
    storage: LogStorage,
}

impl StorageLock {
    /// For a local directory, or an object store that honours conditional
    /// writes (checked here, by trying them).
    pub async fn new(storage: LogStorage) -> Result<StorageLock, LockError> {
        if !storage.is_local() {
            probe_conditional_writes(&storage).await?;
        }
        Ok(StorageLock { storage })
    }
}

/// Writes a fresh probe object twice with `If-None-Match: *`, and replaces
/// it with a wrong `If-Match`: both second writes must be refused.
async fn probe_conditional_writes(storage: &LogStorage) -> Result<(), LockError> {
    let store = storage.object_store();
    let mut nonce = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
    let key = storage.key(&format!("state/cas-probe/{}", hex::encode(nonce)))?;
    let create = PutOptions::from(PutMode::Create);
    let first = store
        .put_opts(&key, PutPayload::from_static(b"1"), create.clone())
        .await
        .map_err(|e| LockError::Unavailable(storage.unreachable(e).to_string()))?;
    let again = store
        .put_opts(&key, PutPayload::from_static(b"2"), create)
        .await;
    let wrong = UpdateVersion {
        e_tag: Some("\"sovereel-no-such-etag\"".into()),
        version: None,
    };
    let swap = match &again {
        Err(object_store::Error::AlreadyExists { .. }) => Some(
            store
                .put_opts(
                    &key,
                    PutPayload::from_static(b"3"),
                    PutOptions::from(PutMode::Update(wrong)),
                )
                .await,
        ),
        _ => None,
    };
    let _ = store.delete(&key).await;
    drop(first);
    let unsupported = |what: &str| {
        LockError::Unsupported(format!(
            "the object store {} at {} {what}, so it cannot be trusted to advance the \
             checkpoint by compare-and-swap; configure a lock backend for this log \
             (a PostgreSQL URL)",
            storage.describe(),
            storage.endpoint()
        ))
    };
    use object_store::Error::{AlreadyExists, NotImplemented, Precondition};
    match (again, swap) {
        (Err(AlreadyExists { .. }), Some(Err(Precondition { .. }))) => Ok(()),
        (Ok(_), _) => Err(unsupported(
            "ignores If-None-Match on PutObject (a second create succeeded)",
        )),
        (Err(AlreadyExists { .. }), Some(Ok(_))) => Err(unsupported(
            "ignores If-Match on PutObject (a replace with a wrong ETag succeeded)",
        )),
        (Err(NotImplemented), _) | (Err(AlreadyExists { .. }), Some(Err(NotImplemented))) => {
            Err(unsupported("does not implement conditional writes"))
        }
        (Err(AlreadyExists { .. }), Some(Err(e))) | (Err(e), _) => Err(LockError::Unavailable(
            format!("probing conditional writes on {}: {e}", storage.describe()),
        )),
    }
}

impl CheckpointLock for StorageLock {
    fn describe(&self) -> String {
        self.storage.describe().to_string()
    }

    fn lease<'a>(
        &'a self,
        holder: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Lease, LockError>> {
        Box::pin(async move {
            let Some(root) = self.storage.local_root() else {
                // An object store has no lease here; the compare-and-swap
                // stops a second writer at its first commit.
                return Ok(Lease::unenforced());
            };
            let path = root.join(LEASE_FILE);
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d).map_err(StorageError::from)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(StorageError::from)?;
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                match file.try_lock() {
                    Ok(()) => break,
                    Err(std::fs::TryLockError::WouldBlock) => {
                        if tokio::time::Instant::now() >= deadline {
                            let who = std::fs::read_to_string(&path).unwrap_or_default();
                            return Err(LockError::Held(format!(
                                "another sequencer is writing the log in {} ({}); a second \
                                 one would fork it",
                                root.display(),
                                if who.trim().is_empty() {
                                    "holder unknown"
                                } else {
                                    who.trim()
                                }
                            )));
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(StorageError::from(e).into());
                    }
                }
            }
            use std::io::Write;
            let mut f = &file;
            let _ = f.set_len(0);
            let _ = f.write_all(holder.as_bytes());
            Ok(Lease {
                lost: Arc::new(AtomicBool::new(false)),
                _held: Box::new(file),
                on_drop: None,
            })
        })
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Option<Committed>, LockError>> {
        Box::pin(async move {
            if self.storage.is_local() {
                return Ok(self.storage.get(COMMITTED).await?.map(|note| Committed {
                    note,
                    version: Version::Content,
                }));
            }
            let key = self.storage.key(COMMITTED)?;
            match self.storage.object_store().get(&key).await {
                Ok(r) => {
                    let version = UpdateVersion {
                        e_tag: r.meta.e_tag.clone(),
                        version: r.meta.version.clone(),
                    };
                    let note = r.bytes().await.map_err(StorageError::from)?;
                    Ok(Some(Committed {
                        note,
                        version: Version::Object(version),
                    }))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(StorageError::from(e).into()),
            }
        })
    }

    fn create(&self, note: Bytes) -> BoxFuture<'_, Result<Committed, LockError>> {
        Box::pin(async move {
            if self.storage.is_local() {
                if self.storage.get(COMMITTED).await?.is_some() {
                    return Err(LockError::Conflict(
                        "a checkpoint was committed while we created the log".into(),
                    ));
                }
                self.storage.put(COMMITTED, note.clone()).await?;
                return Ok(Committed {
                    note,
                    version: Version::Content,
                });
            }
            let key = self.storage.key(COMMITTED)?;
            match self
                .storage
                .object_store()
                .put_opts(&key, note.clone().into(), PutMode::Create.into())
                .await
            {
                Ok(r) => Ok(Committed {
                    note,
                    version: Version::Object(r.into()),
                }),
                Err(object_store::Error::AlreadyExists { .. }) => Err(LockError::Conflict(
                    "another sequencer created this log's first checkpoint".into(),
                )),
                Err(e) => Err(StorageError::from(e).into()),
            }
        })
    }

    fn replace<'a>(
        &'a self,
        old: &'a Committed,
        note: Bytes,
    ) -> BoxFuture<'a, Result<Committed, LockError>> {
        Box::pin(async move {
            match &old.version {
                Version::Object(v) => {
                    let key = self.storage.key(COMMITTED)?;
                    match self
                        .storage
                        .object_store()
                        .put_opts(&key, note.clone().into(), PutMode::Update(v.clone()).into())
                        .await
                    {
                        Ok(r) => Ok(Committed {
                            note,
                            version: Version::Object(r.into()),
                        }),
                        Err(object_store::Error::Precondition { .. })
                        | Err(object_store::Error::NotFound { .. }) => {
                            Err(LockError::Conflict(format!(
                                "the committed checkpoint in {} changed under us: another \
                                 sequencer is writing this log",
                                self.storage.describe()
                            )))
                        }
                        Err(e) => Err(StorageError::from(e).into()),
                    }
                }
                _ => {
                    // Local files, under the file lock: compare, then put.
                    if self.storage.get(COMMITTED).await?.as_ref() != Some(&old.note) {
                        return Err(LockError::Conflict(
                            "the committed checkpoint changed under us: another writer?".into(),
                        ));
                    }
                    self.storage.put(COMMITTED, note.clone()).await?;
                    Ok(Committed {
                        note,
                        version: Version::Content,
                    })
                }
            }
        })
    }
}

/// The committed checkpoint in a PostgreSQL row (see the module docs).
/// Several logs can share one database; each is keyed by its origin.
pub struct PostgresLock {
    url: String,
    shown: String,
    log: String,
    pool: sqlx::PgPool,
}

impl PostgresLock {
    /// Connects to `url` and creates the two small tables if needed. An
    /// unreachable server fails here, naming it.
    pub async fn connect(url: &str, log: &str) -> Result<PostgresLock, LockError> {
        let shown = redact(url);
        let unreachable = |e: sqlx::Error| {
            LockError::Unavailable(format!(
                "cannot reach the ledger lock database {shown}: {e}"
            ))
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(unreachable)?;
        // Concurrent first starts would race on CREATE TABLE IF NOT EXISTS;
        // a transaction-scoped advisory lock orders them.
        let mut tx = pool.begin().await.map_err(unreachable)?;
        for stmt in [
            "SELECT pg_advisory_xact_lock(7346016723)",
            "CREATE TABLE IF NOT EXISTS sovereel_ledger_checkpoints (
                log TEXT PRIMARY KEY,
                version BIGINT NOT NULL,
                note BYTEA NOT NULL,
                committed_by TEXT NOT NULL,
                committed_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            "CREATE TABLE IF NOT EXISTS sovereel_ledger_sequencers (
                log TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                since TIMESTAMPTZ NOT NULL DEFAULT now())",
        ] {
            sqlx::query(stmt)
                .execute(&mut *tx)
                .await
                .map_err(unreachable)?;
        }
        tx.commit().await.map_err(unreachable)?;
        Ok(PostgresLock {
            url: url.to_string(),
            shown,
            log: log.to_string(),
            pool,
        })
    }

    fn failed(&self, e: sqlx::Error) -> LockError {
        LockError::Unavailable(format!("ledger lock database {}: {e}", self.shown))
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => {
            let (auth, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            let user = auth.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        _ => url.to_string(),
    }
}

impl CheckpointLock for PostgresLock {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn lease<'a>(
        &'a self,
        holder: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Lease, LockError>> {
        Box::pin(async move {
            use sqlx::{Connection, Row};
            // A connection of its own: the advisory lock lives exactly as
            // long as this session.
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .map_err(|e| self.failed(e))?;
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let got: bool =
                    sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 1))")
                        .bind(&self.log)
                        .fetch_one(&mut conn)
                        .await
                        .map_err(|e| self.failed(e))?;
                if got {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    let row = sqlx::query(
                        "SELECT holder, since::text AS since FROM sovereel_ledger_sequencers WHERE log = $1",
                    )
                    .bind(&self.log)
                    .fetch_optional(&mut conn)
                    .await
                    .map_err(|e| self.failed(e))?;
                    let who = row
                        .map(|r| {
                            format!(
                                "{}, holding it since {}",
                                r.get::<String, _>("holder"),
                                r.get::<String, _>("since")
                            )
                        })
                        .unwrap_or_else(|| "holder unknown".into());
                    return Err(LockError::Held(format!(
                        "another sequencer holds the lease of log {:?} in {} ({who}); a second \
                         one would fork the log, so this one does not start",
                        self.log, self.shown
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            sqlx::query(
                "INSERT INTO sovereel_ledger_sequencers (log, holder, since) VALUES ($1, $2, now())
                 ON CONFLICT (log) DO UPDATE SET holder = EXCLUDED.holder, since = EXCLUDED.since",
            )
            .bind(&self.log)
            .bind(holder)
            .execute(&mut conn)
            .await
            .map_err(|e| self.failed(e))?;
            // Watch the session: if it dies, so does the lease.
            let lost = Arc::new(AtomicBool::new(false));
            let flag = lost.clone();
            let shown = self.shown.clone();
            let watch = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    if let Err(e) = sqlx::query("SELECT 1").execute(&mut conn).await {
                        tracing::error!("ledger lease lost: the session with {shown} failed: {e}");
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            });
            Ok(Lease {
                lost,
                _held: Box::new(()),
                on_drop: Some(watch),
            })
        })
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Option<Committed>, LockError>> {
        Box::pin(async move {
            let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT version, note FROM sovereel_ledger_checkpoints WHERE log = $1",
            )
            .bind(&self.log)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
            Ok(row.map(|(v, note)| Committed {
                note: Bytes::from(note),
                version: Version::Row(v),
            }))
        })
    }

    fn create(&self, note: Bytes) -> BoxFuture<'_, Result<Committed, LockError>> {
        Box::pin(async move {
            let done = sqlx::query(
                "INSERT INTO sovereel_ledger_checkpoints (log, version, note, committed_by)
                 VALUES ($1, 1, $2, $3) ON CONFLICT (log) DO NOTHING",
            )
            .bind(&self.log)
            .bind(note.as_ref())
            .bind(this_process())
            .execute(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
            if done.rows_affected() != 1 {
                return Err(LockError::Conflict(format!(
                    "another sequencer created the first checkpoint of log {:?} in {}",
                    self.log, self.shown
                )));
            }
            Ok(Committed {
                note,
                version: Version::Row(1),
            })
        })
    }

    fn replace<'a>(
        &'a self,
        old: &'a Committed,
        note: Bytes,
    ) -> BoxFuture<'a, Result<Committed, LockError>> {
        Box::pin(async move {
            let Version::Row(v) = old.version else {
                return Err(LockError::Conflict(
                    "the checkpoint was not read from this lock".into(),
                ));
            };
            let done = sqlx::query(
                "UPDATE sovereel_ledger_checkpoints
                 SET version = version + 1, note = $3, committed_by = $4, committed_at = now()
                 WHERE log = $1 AND version = $2",
            )
            .bind(&self.log)
            .bind(v)
            .bind(note.as_ref())
            .bind(this_process())
            .execute(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
            if done.rows_affected() != 1 {
                let now: Option<(i64, String)> = sqlx::query_as(
                    "SELECT version, committed_by FROM sovereel_ledger_checkpoints WHERE log = $1",
                )
                .bind(&self.log)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.failed(e))?;
                let by = now
                    .map(|(nv, by)| format!("version {nv}, committed by {by}"))
                    .unwrap_or_else(|| "the row is gone".into());
                return Err(LockError::Conflict(format!(
                    "the committed checkpoint of log {:?} in {} moved past version {v} ({by}): \
                     another sequencer is writing this log",
                    self.log, self.shown
                )));
            }
            Ok(Committed {
                note,
                version: Version::Row(v + 1),
            })
        })
    }
}
