//! The region log: a sequencer that batches entries into a tiled Merkle tree,
//! signs checkpoints, gets them cosigned by witnesses and publishes them.
//!
//! # Why the steps happen in this order
//!
//! A log has one sequencer. At open it takes the log's lease from the lock
//! backend (see `lock.rs`: a file lock on local disk, a PostgreSQL advisory
//! lock for a log in S3), so a second process for the same log refuses to
//! start and says who holds it. The lease is a courtesy; what actually
//! keeps two writers from forking the log is the compare-and-swap in
//! step 3.
//!
//! Each batch goes through the same five steps. A SIGKILL can hit between
//! any two of them; the comments on each step say what a restart finds.
//!
//! 1. **Stage.** Every tile the batch changes is written as one object,
//!    `state/staging/<new size>-<new root>`. Nothing refers to it yet: if we
//!    die now, the batch never happened and none of its entries was
//!    acknowledged. The root in the name means that a second writer staging
//!    a different batch of the same size cannot overwrite ours.
//! 2. **Sign.** The new tree extends the in-memory right edge of the last
//!    committed tree, so the checkpoint we sign is consistent with the last
//!    one by construction. We sign only while we hold the lease.
//! 3. **Commit.** The signed checkpoint replaces the committed one by
//!    compare-and-swap in the lock backend: "replace the checkpoint I
//!    committed last", which fails if anyone else committed meanwhile. Then
//!    we stop for good, naming why: another process is writing this log,
//!    and going on would fork it. This is the point of no return: from here
//!    the batch is part of the log's history. If we die now, the restart
//!    finds the committed checkpoint and its staging object, and finishes
//!    steps 4-5. If the swap fails in a way that leaves unknown whether it
//!    landed, the log stops (fatal) and recovery on restart sorts it out.
//! 4. **Publish tiles.** The staged tiles are copied to `tile/...`. Full
//!    tiles never change, and partial tiles have the width in their name,
//!    so rewriting them during recovery is harmless.
//! 5. **Witness and publish the checkpoint.** The witnesses are asked to
//!    cosign (bounded by a timeout; a witness that is down is skipped and
//!    retried later, so it cannot stall the log), and the checkpoint with
//!    the gathered cosignatures becomes `checkpoint`. Only then are the
//!    appenders told their index, with the checkpoint that includes it.
//!
//! So an acknowledged entry is always committed (durable and signed), and
//! the log never signs a checkpoint that is not an extension of the one
//! before: there is only ever one edge, and it only grows.
//!
//! Batches overlap by one step to save an fsync round: batch k+1 is staged
//! while batch k is published, but k+1 is committed only after k's tiles and
//! checkpoint are durable. At any instant at most one committed batch is
//! unpublished, and its staging object is the one recovery reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::entry::{Entry, EntryBody, EntryError, Pseudonym, RegionConfig};
use crate::lock::{CheckpointLock, Committed, Lease, LockError, StorageLock, this_process};
use crate::merkle::{EMPTY_ROOT, Hash};
use crate::note::{Note, NoteSigner, NoteVerifier};
use crate::proof::{self, FetchError, InclusionProof};
use crate::storage::{LogStorage, StorageError, TileSource};
use crate::tiles::{
    Edge, MAX_ENTRY_SIZE, TILE_WIDTH, TileError, TileKind, TileRef, decode_bundle, tile_in_tree,
};
use crate::witness::{AddCheckpoint, WitnessClient, WitnessError};

const PUBLISHED: &str = "checkpoint";
const STAGING_DIR: &str = "state/staging";
const STAGING_MAGIC: &[u8] = b"sovereel-ledger staging v1\n";

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("entry: {0}")]
    Entry(#[from] EntryError),
    #[error("entry of {0} bytes exceeds the 65535-byte limit")]
    TooLarge(usize),
    #[error("tiles: {0}")]
    Tile(#[from] TileError),
    #[error("reading the log: {0}")]
    Fetch(#[from] FetchError),
    #[error("the log stopped and must be restarted: {0}")]
    Fatal(String),
    #[error("the log is shut down")]
    Closed,
    #[error("the batch could not be written (nothing was committed): {0}")]
    Unavailable(String),
    #[error("no entry {0} in the published tree")]
    NoSuchEntry(u64),
    #[error("ledger lock: {0}")]
    Lock(#[from] LockError),
}

/// Tuning and witnesses of one log.
#[derive(Clone)]
pub struct LogConfig {
    /// The checkpoint origin, also the name of the log key.
    pub origin: String,
    /// A batch closes when it has this many entries…
    pub max_batch: usize,
    /// …or when its first entry has waited this long.
    pub max_age: Duration,
    /// How long to wait for each witness per checkpoint.
    pub witness_timeout: Duration,
    pub witnesses: Vec<Arc<dyn WitnessClient>>,
    /// Where the committed checkpoint lives and is compare-and-swapped;
    /// `None` for the log's own storage (see [`crate::lock`]).
    pub lock: Option<Arc<dyn CheckpointLock>>,
    /// How long `open` waits for another sequencer to let go of the lease
    /// (a process that just died) before refusing to start.
    pub lease_wait: Duration,
}

impl LogConfig {
    pub fn new(origin: &str) -> Self {
        LogConfig {
            origin: origin.to_string(),
            max_batch: 4096,
            max_age: Duration::from_millis(5),
            witness_timeout: Duration::from_secs(2),
            witnesses: Vec::new(),
            lock: None,
            lease_wait: Duration::from_secs(5),
        }
    }
}

/// A published checkpoint: parsed body and the full note (log signature and
/// cosignatures) as served at `checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: Bytes,
}

/// What an appender gets once its entry is committed and published.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub index: u64,
    pub checkpoint: Arc<PublishedCheckpoint>,
}

struct Pending {
    entry: Bytes,
    queued: tokio::time::Instant,
    reply: oneshot::Sender<Result<Receipt, LogError>>,
}

struct Shared {
    storage: LogStorage,
    verifier: NoteVerifier,
    published: RwLock<Arc<PublishedCheckpoint>>,
    /// Lookups over the typed entries, built at open and kept current.
    index: Mutex<EntryIndex>,
    /// Serialises region-configuration checks, so a change is logged once.
    config_lock: tokio::sync::Mutex<()>,
}

/// A region log. Cheap to clone; all clones share one sequencer.
#[derive(Clone)]
pub struct Log {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("origin", &self.shared.verifier.name())
            .finish()
    }
}

fn staging_path(size: u64, root: &Hash) -> String {
    format!("{STAGING_DIR}/{size}-{}", hex::encode(root))
}

/// Staging objects before roots were in their names.
fn legacy_staging_path(size: u64) -> String {
    format!("{STAGING_DIR}/{size}")
}

/// The tree size a staging object (of either naming) belongs to.
fn staging_size(path: &str) -> Option<u64> {
    let name = path.strip_prefix(STAGING_DIR)?.strip_prefix('/')?;
    name.split('-').next()?.parse().ok()
}

fn encode_staging(tiles: &[(TileRef, Bytes)]) -> Bytes {
    let mut out = STAGING_MAGIC.to_vec();
    for (t, data) in tiles {
        let p = t.path();
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p.as_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(data);
    }
    Bytes::from(out)
}

fn decode_staging(b: &[u8]) -> Result<Vec<(String, Bytes)>, LogError> {
    let bad = || LogError::Fatal("staging object is corrupt".into());
    let mut rest = b.strip_prefix(STAGING_MAGIC).ok_or_else(bad)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (l, r) = rest.split_at_checked(2).ok_or_else(bad)?;
        let plen = u16::from_be_bytes([l[0], l[1]]) as usize;
        let (p, r) = r.split_at_checked(plen).ok_or_else(bad)?;
        let path = std::str::from_utf8(p).map_err(|_| bad())?;
        TileRef::parse(path).map_err(|_| bad())?;
        let (l, r) = r.split_at_checked(4).ok_or_else(bad)?;
        let dlen = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
        let (d, r) = r.split_at_checked(dlen).ok_or_else(bad)?;
        out.push((path.to_string(), Bytes::copy_from_slice(d)));
        rest = r;
    }
    Ok(out)
}

fn sign(signer: &NoteSigner, cp: &Checkpoint) -> Note {
    let text = cp.to_text();
    Note {
        signatures: vec![signer.sign(&text)],
        text,
    }
}

impl Log {
    /// Opens (or creates) the log stored in `storage`, recovering from any
    /// interrupted batch, and starts its sequencer. Must be called inside a
    /// Tokio runtime. Only one process may open a given log at a time: a
    /// second one waits `config.lease_wait` for the lease, then fails with
    /// [`LogError::Lock`] naming the holder.
    pub async fn open(
        storage: LogStorage,
        signer: NoteSigner,
        config: LogConfig,
    ) -> Result<Log, LogError> {
        if signer.name() != config.origin {
            return Err(LogError::Fatal(format!(
                "log key is named {:?} but the origin is {:?}",
                signer.name(),
                config.origin
            )));
        }
        let verifier = signer.verifier();
        let lock: Arc<dyn CheckpointLock> = match &config.lock {
            Some(l) => l.clone(),
            None => Arc::new(StorageLock::new(storage.clone()).await?),
        };
        let lease = lock.lease(&this_process(), config.lease_wait).await?;
        let (edge, locked) = recover(&storage, &*lock, &signer, &verifier).await?;
        let committed = Note::parse(&locked.note)
            .map_err(|e| LogError::Fatal(format!("committed checkpoint does not parse: {e}")))?;
        let published = match storage.get(PUBLISHED).await? {
            Some(b) => match SignedCheckpoint::verify(&b, &verifier, &[]) {
                Ok(p) if p.checkpoint.size == edge.size() && p.checkpoint.root == edge.root() => {
                    PublishedCheckpoint {
                        checkpoint: p.checkpoint,
                        note: b,
                    }
                }
                // The published checkpoint can only lag the committed one
                // (a crash between commit and publish). Anything else means
                // the stored state is not what this log wrote: stop rather
                // than publish something inconsistent with it.
                Ok(p) if p.checkpoint.size >= edge.size() => {
                    return Err(LogError::Fatal(format!(
                        "published checkpoint (size {}) is not behind the committed one (size {})",
                        p.checkpoint.size,
                        edge.size()
                    )));
                }
                _ => publish_committed(&storage, &committed).await?,
            },
            None => publish_committed(&storage, &committed).await?,
        };
        let shared = Arc::new(Shared {
            storage: storage.clone(),
            verifier,
            published: RwLock::new(Arc::new(published)),
            index: Mutex::new(EntryIndex::default()),
            config_lock: tokio::sync::Mutex::new(()),
        });
        index_entries(&shared, 0, edge.size()).await?;
        let (tx, rx) = mpsc::channel(65_536);
        let seq = Sequencer {
            shared: shared.clone(),
            signer,
            config: config.clone(),
            edge,
            committed,
            locked,
            lock,
            lease,
            superseded: None,
            fatal: None,
            witnesses: Some(
                config
                    .witnesses
                    .iter()
                    .map(|w| WitnessState {
                        client: w.clone(),
                        known_size: None,
                        retry_after: None,
                        failures: 0,
                    })
                    .collect(),
            ),
            inflight: None,
        };
        tokio::spawn(seq.run(rx));
        Ok(Log { shared, tx })
    }

    /// The log's verifier key, `<origin>+<id>+<key>`.
    pub fn vkey(&self) -> String {
        self.shared.verifier.vkey()
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.shared.verifier
    }

    pub fn storage(&self) -> &LogStorage {
        &self.shared.storage
    }

    /// The latest published checkpoint.
    pub fn checkpoint(&self) -> Arc<PublishedCheckpoint> {
        self.shared
            .published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Appends raw entry bytes; resolves once the entry is durable and in a
    /// published signed checkpoint.
    pub async fn append(&self, entry: Bytes) -> Result<Receipt, LogError> {
        if entry.len() > MAX_ENTRY_SIZE {
            return Err(LogError::TooLarge(entry.len()));
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Pending {
                entry,
                queued: tokio::time::Instant::now(),
                reply,
            })
            .await
            .map_err(|_| LogError::Closed)?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// Appends a typed entry.
    pub async fn append_entry(&self, entry: &Entry) -> Result<Receipt, LogError> {
        self.append(Bytes::from(entry.to_bytes()?)).await
    }

    /// Entry `index` of the published tree.
    pub async fn entry(&self, index: u64) -> Result<Bytes, LogError> {
        let size = self.checkpoint().checkpoint.size;
        if index >= size {
            return Err(LogError::NoSuchEntry(index));
        }
        Ok(proof::read_entry(&self.shared.storage, index, size).await?)
    }

    /// Proof that entry `index` is in the current published checkpoint.
    pub async fn inclusion_proof(&self, index: u64) -> Result<InclusionProof, LogError> {
        let cp = self.checkpoint();
        let size = cp.checkpoint.size;
        if index >= size {
            return Err(LogError::NoSuchEntry(index));
        }
        let entry = proof::read_entry(&self.shared.storage, index, size).await?;
        let path = proof::prove_inclusion(&self.shared.storage, index, size).await?;
        Ok(InclusionProof::new(index, &entry, &path, &cp.note, size))
    }

    /// Consistency proof between two published sizes (`new` at most the current size).
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        if new > self.checkpoint().checkpoint.size {
            return Err(LogError::NoSuchEntry(new));
        }
        Ok(proof::prove_consistency(&self.shared.storage, old, new).await?)
    }

    /// Every published entry about `subject`, each with its inclusion proof
    /// against the current checkpoint. Served by `GET /v1/me/access-log`.
    /// The index behind it is built by scanning the log at open and kept up
    /// to date on append, so this costs one proof per matching entry.
    pub async fn entries_for_subject(
        &self,
        subject: &Pseudonym,
    ) -> Result<Vec<InclusionProof>, LogError> {
        let size = self.checkpoint().checkpoint.size;
        let indices: Vec<u64> = self
            .shared
            .index
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .subjects
            .get(subject)
            .map(|v| v.iter().copied().filter(|&i| i < size).collect())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(indices.len());
        for i in indices {
            out.push(self.inclusion_proof(i).await?);
        }
        Ok(out)
    }

    /// Indices of published entries of `kind` (`access`, `egress`, …),
    /// oldest first, starting after index `after` (exclusive) if given, at
    /// most `limit` of them. For staff and auditor listings.
    pub fn entries_by_kind(&self, kind: &str, after: Option<u64>, limit: usize) -> Vec<u64> {
        let size = self.checkpoint().checkpoint.size;
        let idx = self.shared.index.lock().unwrap_or_else(|e| e.into_inner());
        idx.kinds
            .get(kind)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&i| i < size && after.is_none_or(|a| i > a))
                    .take(limit)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The region configuration last recorded in the log.
    pub fn region_config(&self) -> Option<RegionConfig> {
        let idx = self.shared.index.lock().unwrap_or_else(|e| e.into_inner());
        idx.region_config.clone()
    }

    /// Records the region's configuration if the log does not already say
    /// exactly this: the genesis entry of a new log, and an entry for every
    /// later change (new custodian, countries, keys, policy set, status).
    /// Call it at every start. Returns the receipt when it appended.
    pub async fn ensure_region_config(
        &self,
        config: &RegionConfig,
    ) -> Result<Option<Receipt>, LogError> {
        let _guard = self.shared.config_lock.lock().await;
        if self.region_config().as_ref() == Some(config) {
            return Ok(None);
        }
        let r = self
            .append_entry(&Entry::now(EntryBody::RegionConfig(config.clone())))
            .await?;
        Ok(Some(r))
    }

    /// Reads a published tile or the checkpoint by its path relative to the
    /// log prefix (for the HTTP router).
    pub async fn read_object(&self, rel: &str) -> Result<Option<Bytes>, LogError> {
        Ok(self.shared.storage.get(rel).await?)
    }
}

/// Rebuilds the committed tree after a restart, finishing an interrupted
/// batch. Returns the edge and the committed checkpoint note.
async fn recover(
    storage: &LogStorage,
    lock: &dyn CheckpointLock,
    signer: &NoteSigner,
    verifier: &NoteVerifier,
) -> Result<(Edge, Committed), LogError> {
    let Some(locked) = lock.fetch().await? else {
        if storage.get(PUBLISHED).await?.is_some() {
            return Err(LogError::Fatal(format!(
                "a checkpoint is published in {} but {} holds no committed checkpoint; \
                 refusing to start a new tree over it",
                storage.describe(),
                lock.describe()
            )));
        }
        // A brand new log commits the empty tree, so that there is always a
        // committed checkpoint to extend.
        let note = sign(signer, &Checkpoint::new(signer.name(), 0, EMPTY_ROOT));
        let locked = lock.create(Bytes::from(note.to_bytes())).await?;
        return Ok((Edge::new(), locked));
    };
    let committed = SignedCheckpoint::verify(&locked.note, verifier, &[])
        .map_err(|e| LogError::Fatal(format!("committed checkpoint does not verify: {e}")))?;
    let size = committed.checkpoint.size;
    let root = committed.checkpoint.root;
    // Finish step 4 of the batch that produced the committed checkpoint:
    // its staging object is kept until the next commit for exactly this.
    let mine = staging_path(size, &root);
    if size > 0 {
        let staged = match storage.get(&mine).await? {
            Some(b) => b,
            None => storage
                .get(&legacy_staging_path(size))
                .await?
                .ok_or_else(|| {
                    LogError::Fatal(format!(
                        "staging object for committed size {size} is missing"
                    ))
                })?,
        };
        storage.put_all(&decode_staging(&staged)?).await?;
    }
    let mut parts = HashMap::new();
    for t in Edge::partial_tiles(size) {
        if let Some(b) = storage.get(&t.path()).await? {
            parts.insert(t, b);
        }
    }
    let edge = Edge::from_parts(size, |t| parts.get(t).cloned())
        .map_err(|e| LogError::Fatal(format!("cannot rebuild the tree edge: {e}")))?;
    if edge.root() != committed.checkpoint.root {
        return Err(LogError::Fatal(
            "stored tiles do not hash to the committed checkpoint".into(),
        ));
    }
    // Staging objects up to this size, other than the committed one's,
    // belong to batches that were never committed (and never acknowledged)
    // or are superseded. Larger ones are left alone: they might be another
    // sequencer's batch in flight, which its compare-and-swap will settle.
    for p in storage.list(STAGING_DIR).await? {
        let stale = staging_size(&p).is_none_or(|s| s <= size);
        if stale && p != mine && (size == 0 || p != legacy_staging_path(size)) {
            storage.delete(&p).await?;
        }
    }
    Ok((edge, locked))
}

async fn publish_committed(
    storage: &LogStorage,
    committed: &Note,
) -> Result<PublishedCheckpoint, LogError> {
    let note = Bytes::from(committed.to_bytes());
    storage.put(PUBLISHED, note.clone()).await?;
    Ok(PublishedCheckpoint {
        checkpoint: Checkpoint::parse(&committed.text)
            .map_err(|e| LogError::Fatal(e.to_string()))?,
        note,
    })
}

/// Adds the entries in `[from, to)` to the entry index.
async fn index_entries(shared: &Shared, from: u64, to: u64) -> Result<(), LogError> {
    let mut index = from / TILE_WIDTH;
    while index * TILE_WIDTH < to {
        let Some(t) = tile_in_tree(TileKind::Entries, index, to) else {
            break;
        };
        let bytes = shared
            .storage
            .get(&t.path())
            .await?
            .ok_or_else(|| LogError::Fatal(format!("{} is missing", t.path())))?;
        let entries = decode_bundle(&t, &bytes)?;
        let mut idx = shared.index.lock().unwrap_or_else(|e| e.into_inner());
        for (i, e) in entries.iter().enumerate() {
            let n = index * TILE_WIDTH + i as u64;
            if n >= from {
                idx.add(n, e);
            }
        }
        index += 1;
    }
    Ok(())
}

struct WitnessState {
    client: Arc<dyn WitnessClient>,
    /// The size this witness last cosigned, as far as we know.
    known_size: Option<u64>,
    /// While set and in the future, the witness is skipped.
    retry_after: Option<Instant>,
    failures: u32,
}

/// Steps 4 and 5 of one committed batch, run as their own task so the
/// sequencer can stage the next batch meanwhile.
struct PublishJob {
    shared: Arc<Shared>,
    witness_timeout: Duration,
    witnesses: Vec<WitnessState>,
    committed: Note,
    superseded: Option<String>,
    tiles: Vec<(String, Bytes)>,
    first_index: u64,
    entries: Vec<Bytes>,
    replies: Vec<oneshot::Sender<Result<Receipt, LogError>>>,
}

/// What a publish task hands back: the witnesses' state, and an error if
/// publishing failed (which stops the log).
struct Published {
    witnesses: Vec<WitnessState>,
    result: Result<(), String>,
}

struct Sequencer {
    shared: Arc<Shared>,
    signer: NoteSigner,
    config: LogConfig,
    edge: Edge,
    committed: Note,
    /// The committed checkpoint as the lock backend holds it.
    locked: Committed,
    lock: Arc<dyn CheckpointLock>,
    /// Held for as long as the sequencer runs.
    lease: Lease,
    /// The staging object of the batch before the one just committed,
    /// which its publication makes unnecessary.
    superseded: Option<String>,
    fatal: Option<String>,
    /// `None` while lent to the in-flight publish task.
    witnesses: Option<Vec<WitnessState>>,
    inflight: Option<tokio::task::JoinHandle<Published>>,
}

impl Sequencer {
    async fn run(mut self, mut rx: mpsc::Receiver<Pending>) {
        // Cosign the recovered checkpoint if it has no cosignatures yet.
        let has_witnesses = self.witnesses.as_ref().is_some_and(|w| !w.is_empty());
        let published = self
            .shared
            .published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if has_witnesses && Note::parse(&published.note).is_ok_and(|n| n.signatures.len() == 1) {
            let job = self.job(
                Vec::new(),
                published.checkpoint.size,
                Vec::new(),
                Vec::new(),
            );
            self.inflight = Some(tokio::spawn(job.run()));
        }
        while let Some(first) = rx.recv().await {
            // The batch closes when it is full or when its oldest entry has
            // waited `max_age`. Entries that queued while the previous batch
            // was being written are already that old, so under load batches
            // go out back to back without extra waiting.
            let deadline = first.queued + self.config.max_age;
            let mut batch = vec![first];
            while batch.len() < self.config.max_batch {
                match rx.try_recv() {
                    Ok(p) => {
                        batch.push(p);
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) => {}
                }
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(p)) => batch.push(p),
                    Ok(None) | Err(_) => break,
                }
            }
            if let Some(why) = &self.fatal {
                for p in batch {
                    let _ = p.reply.send(Err(LogError::Fatal(why.clone())));
                }
                continue;
            }
            let entries: Vec<Bytes> = batch.iter().map(|p| p.entry.clone()).collect();
            let replies: Vec<_> = batch.into_iter().map(|p| p.reply).collect();
            match self.stage_and_commit(&entries).await {
                Ok((first_index, tiles)) => {
                    let job = self.job(tiles, first_index, entries, replies);
                    self.inflight = Some(tokio::spawn(job.run()));
                }
                Err(e) => {
                    let fatal = matches!(e, LogError::Fatal(_));
                    let msg = match e {
                        LogError::Fatal(m) => m,
                        other => other.to_string(),
                    };
                    if fatal {
                        tracing::error!(origin = %self.config.origin, "ledger stopped: {msg}");
                    }
                    for reply in replies {
                        let err = if fatal {
                            LogError::Fatal(msg.clone())
                        } else {
                            LogError::Unavailable(msg.clone())
                        };
                        let _ = reply.send(Err(err));
                    }
                }
            }
        }
        let _ = self.wait_inflight().await;
    }

    fn job(
        &mut self,
        tiles: Vec<(String, Bytes)>,
        first_index: u64,
        entries: Vec<Bytes>,
        replies: Vec<oneshot::Sender<Result<Receipt, LogError>>>,
    ) -> PublishJob {
        PublishJob {
            shared: self.shared.clone(),
            witness_timeout: self.config.witness_timeout,
            witnesses: self.witnesses.take().unwrap_or_default(),
            committed: self.committed.clone(),
            superseded: self.superseded.take(),
            tiles,
            first_index,
            entries,
            replies,
        }
    }

    /// Waits for the previous batch to be published; a failure there stops
    /// the log.
    async fn wait_inflight(&mut self) -> Result<(), LogError> {
        if let Some(h) = self.inflight.take() {
            match h.await {
                Ok(done) => {
                    self.witnesses = Some(done.witnesses);
                    if let Err(why) = done.result {
                        return Err(self.stop(&why));
                    }
                }
                Err(e) => return Err(self.stop(&format!("publish task failed: {e}"))),
            }
        }
        Ok(())
    }

    /// Steps 1-3 for one batch. Returns the index of its first entry and
    /// the tiles to publish.
    ///
    /// Batches overlap by one step: this batch is staged while the previous
    /// one is still being published, but it is committed only once that
    /// publication is durable. So at any instant at most one committed batch
    /// is unpublished, and it is the one whose staging object recovery reads.
    async fn stage_and_commit(
        &mut self,
        entries: &[Bytes],
    ) -> Result<(u64, Vec<(String, Bytes)>), LogError> {
        let before = self.edge.clone();
        let first_index = before.size();
        let mut tiles = Vec::new();
        if let Err(e) = self.edge.append(entries, &mut tiles) {
            self.edge = before;
            return Err(e.into());
        }
        let size = self.edge.size();

        // 1. Stage. A failure here leaves no trace that matters.
        if let Err(e) = self
            .shared
            .storage
            .put(
                &staging_path(size, &self.edge.root()),
                encode_staging(&tiles),
            )
            .await
        {
            self.edge = before;
            return Err(e.into());
        }

        // The previous batch must be published before this one commits.
        self.wait_inflight().await?;

        // 2. Sign, on top of the checkpoint we committed last, and only
        //    while we are the log's sequencer.
        if !self.lease.is_held() {
            return Err(self.stop(&format!(
                "lost the sequencer lease in {}; stopping rather than risk a second writer",
                self.lock.describe()
            )));
        }
        let cp = Checkpoint::new(&self.config.origin, size, self.edge.root());
        let note = sign(&self.signer, &cp);

        // 3. Commit: compare-and-swap. After this the batch is history. A
        //    conflict means another sequencer committed; any other failure
        //    is fatal too, because we cannot tell whether the swap landed.
        match self
            .lock
            .replace(&self.locked, Bytes::from(note.to_bytes()))
            .await
        {
            Ok(locked) => self.locked = locked,
            Err(LockError::Conflict(why)) => return Err(self.stop(&why)),
            Err(e) => return Err(self.stop(&format!("commit failed: {e}"))),
        }
        self.committed = note;
        self.superseded = (first_index > 0).then(|| staging_path(first_index, &before.root()));
        Ok((
            first_index,
            tiles.iter().map(|(t, b)| (t.path(), b.clone())).collect(),
        ))
    }

    fn stop(&mut self, why: &str) -> LogError {
        self.fatal = Some(why.to_string());
        LogError::Fatal(why.to_string())
    }
}

impl PublishJob {
    async fn run(mut self) -> Published {
        let result = self.publish().await;
        let replies = std::mem::take(&mut self.replies);
        match &result {
            Ok(cp) => {
                for (i, reply) in replies.into_iter().enumerate() {
                    let _ = reply.send(Ok(Receipt {
                        index: self.first_index + i as u64,
                        checkpoint: cp.clone(),
                    }));
                }
            }
            Err(why) => {
                tracing::error!("ledger stopped: {why}");
                for reply in replies {
                    let _ = reply.send(Err(LogError::Fatal(why.clone())));
                }
            }
        }
        Published {
            witnesses: self.witnesses,
            result: result.map(|_| ()),
        }
    }

    async fn publish(&mut self) -> Result<Arc<PublishedCheckpoint>, String> {
        let storage = self.shared.storage.clone();
        // 4. Publish the tiles. They become visible now; making them durable
        //    can wait for the checkpoint's fsync round below, because until
        //    the next batch deletes this batch's staging object, recovery can
        //    always rewrite them.
        let pending = storage
            .put_all_deferred(&self.tiles)
            .await
            .map_err(|e| format!("publishing tiles failed: {e}"))?;

        // 5. Witness and publish the checkpoint; tiles and checkpoint are
        //    durable before anyone is acknowledged.
        let mut note = self.committed.clone();
        let checkpoint = Checkpoint::parse(&note.text).map_err(|e| e.to_string())?;
        let signed = Bytes::from(note.to_bytes());
        for c in gather_cosignatures(
            &mut self.witnesses,
            &storage,
            self.witness_timeout,
            &checkpoint,
            &signed,
        )
        .await
        {
            note.add_signature(c);
        }
        let bytes = Bytes::from(note.to_bytes());
        let written = storage
            .put_all_deferred(&[(PUBLISHED.to_string(), bytes.clone())])
            .await
            .map_err(|e| format!("publishing the checkpoint failed: {e}"))?;
        storage
            .sync(pending.merge(written))
            .await
            .map_err(|e| format!("making the published tiles durable failed: {e}"))?;
        let published = Arc::new(PublishedCheckpoint {
            checkpoint,
            note: bytes,
        });
        *self
            .shared
            .published
            .write()
            .unwrap_or_else(|e| e.into_inner()) = published.clone();

        // The previous batch's staging object is no longer needed for recovery.
        if let Some(p) = &self.superseded {
            let _ = storage.delete(p).await;
        }
        index_new_entries(&self.shared, self.first_index, &self.entries);
        Ok(published)
    }
}

/// Asks every available witness at once, each bounded by the timeout.
/// Failures only cost that witness a back-off.
async fn gather_cosignatures(
    witnesses: &mut [WitnessState],
    storage: &LogStorage,
    timeout: Duration,
    cp: &Checkpoint,
    signed: &Bytes,
) -> Vec<crate::note::NoteSignature> {
    let now = Instant::now();
    let tasks = witnesses
        .iter()
        .enumerate()
        .filter(|(_, w)| w.retry_after.is_none_or(|t| t <= now))
        .map(|(i, w)| {
            let client = w.client.clone();
            let known = w.known_size;
            let storage = storage.clone();
            let signed = signed.clone();
            let cp = cp.clone();
            async move {
                let r = tokio::time::timeout(
                    timeout,
                    ask_witness(&*client, &storage, known, &cp, signed),
                )
                .await;
                (
                    i,
                    r.unwrap_or_else(|_| Err(WitnessError::Unavailable("timed out".into()))),
                )
            }
        })
        .collect::<Vec<_>>();
    let results = futures::future::join_all(tasks).await;
    let mut out = Vec::new();
    for (i, r) in results {
        let w = &mut witnesses[i];
        match r {
            Ok(sigs) => {
                w.known_size = Some(cp.size);
                w.failures = 0;
                w.retry_after = None;
                // Keep only cosignatures that verify under the witness key.
                let v = w.client.verifier().clone();
                for s in sigs {
                    let probe = Note {
                        text: cp.to_text(),
                        signatures: vec![s.clone()],
                    };
                    if probe.verify(std::slice::from_ref(&v)).is_ok() {
                        out.push(s);
                    }
                }
            }
            Err(e) => {
                w.failures = w.failures.saturating_add(1);
                let backoff = Duration::from_secs(1u64 << w.failures.min(6));
                w.retry_after = Some(Instant::now() + backoff);
                if let WitnessError::Conflict(size) = e {
                    w.known_size = Some(size);
                    w.retry_after = None;
                }
                tracing::warn!(witness = %w.client.verifier().name(), "witness did not cosign: {e}");
            }
        }
    }
    out
}

/// One `add-checkpoint` exchange, retried once if the witness reports a
/// different size than we assumed (for example after either side restarted).
async fn ask_witness(
    client: &dyn WitnessClient,
    src: &LogStorage,
    known: Option<u64>,
    cp: &Checkpoint,
    signed: Bytes,
) -> Result<Vec<crate::note::NoteSignature>, WitnessError> {
    let mut old = known.unwrap_or(0).min(cp.size);
    for _ in 0..2 {
        let proof = proof::prove_consistency(src as &dyn TileSource, old, cp.size)
            .await
            .map_err(|e| WitnessError::Unavailable(format!("cannot build proof: {e}")))?;
        let req = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: signed.clone(),
        };
        match client.add_checkpoint(&req).await {
            Err(WitnessError::Conflict(size)) if size <= cp.size && size != old => old = size,
            other => return other,
        }
    }
    Err(WitnessError::Unavailable(
        "witness keeps reporting a different size".into(),
    ))
}

fn index_new_entries(shared: &Shared, first: u64, entries: &[Bytes]) {
    let mut idx = shared.index.lock().unwrap_or_else(|e| e.into_inner());
    for (i, e) in entries.iter().enumerate() {
        idx.add(first + i as u64, e);
    }
}

/// In-memory lookups over the log's typed entries. Entries that are not
/// typed JSON are valid log entries, just not indexed.
#[derive(Default)]
struct EntryIndex {
    /// Pseudonym -> entry indices, for "every access to my data".
    subjects: HashMap<Pseudonym, Vec<u64>>,
    /// Entry kind -> entry indices, for staff and auditor listings.
    kinds: HashMap<&'static str, Vec<u64>>,
    /// The region configuration in force (the latest `region_config`).
    region_config: Option<RegionConfig>,
}

impl EntryIndex {
    fn add(&mut self, n: u64, bytes: &[u8]) {
        let Ok(e) = Entry::parse(bytes) else { return };
        if let Some(p) = e.body.subject() {
            self.subjects.entry(p).or_default().push(n);
        }
        self.kinds.entry(e.body.kind()).or_default().push(n);
        if let EntryBody::RegionConfig(c) = e.body {
            self.region_config = Some(c);
        }
    }
}
