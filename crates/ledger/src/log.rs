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
//! Each batch goes through the same six steps and costs **two durable
//! rounds** before anyone is acknowledged (fsync rounds on local disk; on an
//! object store, requests that must have returned): round 1 in step 1,
//! round 2 in step 3, one object each. Two is the least a crash-safe log can
//! do: the entries must be durable before the checkpoint that commits them,
//! and that checkpoint is durable only once written. Making the published
//! copies durable (step 6) is off the acknowledgment's path. A SIGKILL or a
//! power loss can hit between any two steps; the comments on each step say
//! what a restart finds.
//!
//! The invariant that makes this work: *every tile of the committed tree is
//! durable, either in `tile/...` or in a staging object on the committed
//! chain*: the committed batch's staging object, the one of the batch it
//! extended, and so on back to the first one missing. Staging objects are
//! deleted only once their batch's published tiles are durable, oldest
//! first, so a missing link means everything before it is durable.
//!
//! 1. **Stage (durable round 1).** Every tile the batch changes is written as
//!    one object, `state/staging/<new size>-<new root>`, which also names the
//!    tree (size and root) the batch extends: its link in the chain. Nothing
//!    refers to it yet: if we die now, the batch never happened and none of
//!    its entries was acknowledged. The root in the name means that a second
//!    writer staging a different batch of the same size cannot overwrite
//!    ours, and a fork's staging object is never on the committed chain.
//! 2. **Sign.** The new tree extends the in-memory right edge of the last
//!    committed tree, so the checkpoint we sign is consistent with the last
//!    one by construction. We sign only while we hold the lease.
//! 3. **Commit (durable round 2).** The signed checkpoint replaces the
//!    committed one by compare-and-swap in the lock backend: "replace the
//!    checkpoint I committed last", which fails if anyone else committed
//!    meanwhile. Then we stop for good, naming why: another process is
//!    writing this log, and going on would fork it. This is the point of no
//!    return: from here the batch is part of the log's history, and the
//!    invariant holds because its staging object is durable and links to
//!    the chain before it. If we die now, the restart finds the committed
//!    checkpoint, walks the chain from its staging object, rewrites every
//!    staged tile durably (oldest first) and publishes the checkpoint. If
//!    the swap fails in a way that leaves unknown whether it landed, the log
//!    stops (fatal) and recovery on restart sorts it out.
//! 4. **Publish tiles.** The staged tiles are copied to `tile/...`, visible
//!    at once but not yet fsynced: the staging object can always rewrite
//!    them. Full tiles never change, and partial tiles have the width in
//!    their name, so rewriting them during recovery is harmless.
//! 5. **Witness and publish the checkpoint.** The witnesses are asked to
//!    cosign (bounded by a timeout; a witness that is down is skipped and
//!    retried later, so it cannot stall the log), and the checkpoint with
//!    the gathered cosignatures becomes `checkpoint`, visible at once. A
//!    restart that finds an older or torn `checkpoint` republishes the
//!    committed one, whose witnesses are then asked again. Only then are
//!    the appenders told their index, with the checkpoint that includes it.
//! 6. **Make the publication durable.** A durability round, in its own task
//!    and one at a time, fsyncs everything published since the last round
//!    (often several batches at once), then deletes the staging objects it
//!    covered, oldest first. It runs while the next batches are staged and
//!    committed; a failure stops the log, and the restart rewrites the tiles
//!    from the staging objects that are left.
//!
//! So an acknowledged entry is always committed (durable and signed), and
//! the log never signs a checkpoint that is not an extension of the one
//! before: there is only ever one edge, and it only grows.
//!
//! # When the log's key moves
//!
//! A region handed to a new custodian hands over its log key too
//! ([`Log::transfer_key`]). The sequencer does it as a batch of its own, so
//! nothing else can slip in between:
//!
//! T1. **The statement.** A `custody_transfer` entry at index `n` (the
//!     tree's size) names the new custodian and the new key, and commits
//!     to the root of the `n` entries before it; the *old* key signs it.
//! T2. **The hand-off checkpoint.** The entry goes through steps 1-5 like
//!     any batch, signed by the old key: the last checkpoint the old key
//!     signs ends with the transfer. After its commit (step 3) the transfer
//!     is history: a restart finds it the last entry of the committed tree
//!     and carries on with the new key (which it must hold, or it stops).
//! T3. **Kept for late witnesses.** That checkpoint is stored at
//!     `state/custody/<size>`, so a witness that was down can be brought
//!     to it, and shown the transfer, whenever it comes back.
//! T4. **Witnesses follow.** Each witness is shown the transfer entry with
//!     its inclusion proof in the hand-off checkpoint, which it has just
//!     cosigned; it checks the old key's two signatures and moves on.
//! T5. **The new key signs.** The same tree is signed again by the new key
//!     and committed, so the published checkpoint verifies under the key
//!     in force at once. A crash before this step is finished at the next
//!     start.
//!
//! An auditor who pinned the old key follows the same chain (`audit.rs`).
//!
//! Batches form by group commit: while one batch is on its way to the disk,
//! the entries that arrive queue up, and the next batch takes all of them at
//! once. A batch that finds the log idle waits a moment for company (until
//! entries stop arriving for [`LINGER_GAP`], at most `max_age`), so that
//! appenders released together by one acknowledgment go out together rather
//! than one by one.

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
use crate::storage::{LogStorage, PendingSync, StorageError, TileSource};
use crate::tiles::{
    Edge, MAX_ENTRY_SIZE, TILE_WIDTH, TileError, TileKind, TileRef, decode_bundle, tile_in_tree,
};
use crate::witness::{AddCheckpoint, WitnessClient, WitnessError};

const PUBLISHED: &str = "checkpoint";
const STAGING_DIR: &str = "state/staging";
const STAGING_MAGIC: &[u8] = b"sovereel-ledger staging v2\n";
/// Staging objects without the link to the previous batch.
const STAGING_MAGIC_V1: &[u8] = b"sovereel-ledger staging v1\n";

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
    /// A batch holds at most this many entries.
    pub max_batch: usize,
    /// A batch whose first entry found the log idle waits for more until
    /// entries stop arriving for [`LINGER_GAP`], but never longer than this
    /// after its first entry. Entries that queued while the previous batch
    /// was written go out at once.
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
    /// Other keys of this log held here (the one a hand-over moves to, or
    /// the one it moved from): the log signs with the key its own chain of
    /// `custody_transfer` entries names, and stops if it does not hold it.
    pub other_keys: Vec<NoteSigner>,
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
            other_keys: Vec::new(),
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
    entry: Queued,
    queued: tokio::time::Instant,
    reply: oneshot::Sender<Result<Receipt, LogError>>,
}

struct Shared {
    storage: LogStorage,
    /// The key in force (it changes only at a custody transfer).
    verifier: RwLock<NoteVerifier>,
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
            .field("origin", &self.verifier().name())
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

/// A staging object: the batch's tiles, and the tree (size, root) the batch
/// extended, so that recovery can walk from the committed batch back to
/// every earlier one whose publication may not be durable yet.
fn encode_staging(prev: (u64, Hash), tiles: &[(TileRef, Bytes)]) -> Bytes {
    let mut out = STAGING_MAGIC.to_vec();
    out.extend_from_slice(&prev.0.to_be_bytes());
    out.extend_from_slice(&prev.1);
    for (t, data) in tiles {
        let p = t.path();
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p.as_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(data);
    }
    Bytes::from(out)
}

/// The previous tree (none in objects written before the link existed) and
/// the tiles of a staging object.
type Staged = (Option<(u64, Hash)>, Vec<(String, Bytes)>);

fn decode_staging(b: &[u8]) -> Result<Staged, LogError> {
    let bad = || LogError::Fatal("staging object is corrupt".into());
    let (prev, mut rest) = if let Some(r) = b.strip_prefix(STAGING_MAGIC) {
        let (size, r) = r.split_at_checked(8).ok_or_else(bad)?;
        let (root, r) = r.split_at_checked(32).ok_or_else(bad)?;
        let size = u64::from_be_bytes(size.try_into().map_err(|_| bad())?);
        let root: Hash = root.try_into().map_err(|_| bad())?;
        (Some((size, root)), r)
    } else {
        (None, b.strip_prefix(STAGING_MAGIC_V1).ok_or_else(bad)?)
    };
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
    Ok((prev, out))
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
        if let Some(k) = config.other_keys.iter().find(|k| k.name() != config.origin) {
            return Err(LogError::Fatal(format!(
                "another log key is named {:?} but the origin is {:?}",
                k.name(),
                config.origin
            )));
        }
        let mut held = vec![signer.clone()];
        held.extend(config.other_keys.iter().cloned());
        let verifiers: Vec<NoteVerifier> = held.iter().map(|k| k.verifier()).collect();
        let lock: Arc<dyn CheckpointLock> = match &config.lock {
            Some(l) => l.clone(),
            None => Arc::new(StorageLock::new(storage.clone()).await?),
        };
        let lease = lock.lease(&this_process(), config.lease_wait).await?;
        let (edge, locked) = recover(&storage, &*lock, &signer, &verifiers).await?;
        let committed = Note::parse(&locked.note)
            .map_err(|e| LogError::Fatal(format!("committed checkpoint does not parse: {e}")))?;
        let published = match storage.get(PUBLISHED).await? {
            Some(b) => match verify_any(&b, &verifiers) {
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
            verifier: RwLock::new(signer.verifier()),
            published: RwLock::new(Arc::new(published)),
            index: Mutex::new(EntryIndex::default()),
            config_lock: tokio::sync::Mutex::new(()),
        });
        index_entries(&shared, 0, edge.size()).await?;
        // The key in force is the one the last custody transfer named (the
        // first key if there was none), whatever order the caller gave.
        let last_transfer = shared
            .index
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .transfers
            .last()
            .cloned();
        let signer = match &last_transfer {
            None => signer,
            Some(t) => held
                .iter()
                .find(|k| k.verifier().vkey() == t.new_vkey)
                .cloned()
                .ok_or_else(|| {
                    LogError::Fatal(format!(
                        "the log's key moved to {} at entry {}, and this process does not hold that key",
                        t.new_vkey, t.index
                    ))
                })?,
        };
        *shared.verifier.write().unwrap_or_else(|e| e.into_inner()) = signer.verifier();
        // The committed checkpoint is signed by the key in force, or it is
        // the hand-off checkpoint, signed by the key before it (a crash came
        // between steps T2 and T5).
        let committed_by_old =
            SignedCheckpoint::verify(&locked.note, &signer.verifier(), &[]).is_err();
        let mut handoffs = Vec::new();
        for p in storage.list(CUSTODY_DIR).await? {
            if let Some(b) = storage.get(&p).await?
                && let Ok(n) = Note::parse(&b)
                && let Ok(cp) = Checkpoint::parse(&n.text)
            {
                handoffs.push(Handoff {
                    size: cp.size,
                    checkpoint: cp,
                    note: b,
                });
            }
        }
        if committed_by_old {
            let handing_off = last_transfer
                .as_ref()
                .is_some_and(|t| t.index + 1 == edge.size());
            if !handing_off {
                return Err(LogError::Fatal(
                    "the committed checkpoint is not signed by the log's key in force".into(),
                ));
            }
            if !handoffs.iter().any(|h| h.size == edge.size()) {
                let note = Bytes::from(committed.to_bytes());
                storage
                    .put(&handoff_path(edge.size()), note.clone())
                    .await?;
                handoffs.push(Handoff {
                    size: edge.size(),
                    checkpoint: Checkpoint::parse(&committed.text)
                        .map_err(|e| LogError::Fatal(e.to_string()))?,
                    note,
                });
            }
        }
        handoffs.sort_by_key(|h| h.size);
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
            fatal: None,
            witnesses: config
                .witnesses
                .iter()
                .map(|w| WitnessState {
                    client: w.clone(),
                    known_size: None,
                    retry_after: None,
                    failures: 0,
                })
                .collect(),
            unsynced: None,
            unsynced_staging: Vec::new(),
            durability: None,
            handoffs,
            resign: committed_by_old,
        };
        tokio::spawn(seq.run(rx));
        Ok(Log { shared, tx })
    }

    /// The verifier key in force, `<origin>+<id>+<key>`.
    pub fn vkey(&self) -> String {
        self.verifier().vkey()
    }

    /// The key in force (after a custody transfer, the new one).
    pub fn verifier(&self) -> NoteVerifier {
        self.shared
            .verifier
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
                entry: Queued::Entry(entry),
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

    /// Moves the log's key to `new_key` (a region handed to `custodian`):
    /// steps T1-T5 of the module docs. Resolves with the receipt of the
    /// `custody_transfer` entry once the new key has signed the tree that
    /// ends with it. Asking again for a key already in force answers the
    /// receipt of the transfer that moved it there.
    pub async fn transfer_key(
        &self,
        new_key: NoteSigner,
        previous_custodian: &str,
        custodian: &str,
    ) -> Result<Receipt, LogError> {
        if new_key.name() != self.verifier().name() {
            return Err(LogError::Fatal(format!(
                "the new log key is named {:?}, not after the log",
                new_key.name()
            )));
        }
        if new_key.verifier().vkey() == self.vkey() {
            let last = self
                .shared
                .index
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .transfers
                .last()
                .cloned();
            return match last {
                Some(t) if t.new_vkey == self.vkey() => Ok(Receipt {
                    index: t.index,
                    checkpoint: self.checkpoint(),
                }),
                _ => Err(LogError::Fatal(
                    "the new log key is already the log's key".into(),
                )),
            };
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Pending {
                entry: Queued::Transfer(Box::new(KeyTransfer {
                    new_key,
                    previous_custodian: previous_custodian.to_string(),
                    custodian: custodian.to_string(),
                })),
                queued: tokio::time::Instant::now(),
                reply,
            })
            .await
            .map_err(|_| LogError::Closed)?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// The key moves the log went through: (index of the transfer, the
    /// custodian it names, the new verifier key), oldest first.
    pub fn key_transfers(&self) -> Vec<(u64, String, String)> {
        self.shared
            .index
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .transfers
            .iter()
            .map(|t| (t.index, t.custodian.clone(), t.new_vkey.clone()))
            .collect()
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
    verifiers: &[NoteVerifier],
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
    // Any key of this log held here may have signed it (across a custody
    // transfer); `open` checks it was the right one once the entries are
    // indexed.
    let committed = verify_any(&locked.note, verifiers)
        .map_err(|e| LogError::Fatal(format!("committed checkpoint does not verify: {e}")))?;
    let size = committed.checkpoint.size;
    let root = committed.checkpoint.root;
    // Finish step 4 of every committed batch whose publication may not be
    // durable: its staging object is kept until it is. They form a chain
    // from the committed batch back through the trees each one extended; a
    // missing link means that everything before it was durable (staging
    // objects are deleted oldest first, and only once their batch's tiles
    // are). Staging objects off the chain were never committed.
    let mut chain = Vec::new();
    let mut at = (size, root);
    while at.0 > 0 {
        let mut staged = storage.get(&staging_path(at.0, &at.1)).await?;
        if staged.is_none() && chain.is_empty() {
            staged = storage.get(&legacy_staging_path(at.0)).await?;
        }
        let Some(staged) = staged else { break };
        let (prev, tiles) = decode_staging(&staged)?;
        chain.push(tiles);
        match prev {
            Some(p) if p.0 < at.0 => at = p,
            _ => break,
        }
    }
    for tiles in chain.iter().rev() {
        storage.put_all(tiles).await?;
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
    // The chain is durable in `tile/` now. Every staging object up to this
    // size is on it or belongs to a batch that was never committed (and
    // never acknowledged). Larger ones are left alone: they might be another
    // sequencer's batch in flight, which its compare-and-swap will settle.
    for p in storage.list(STAGING_DIR).await? {
        if staging_size(&p).is_none_or(|s| s <= size) {
            storage.delete(&p).await?;
        }
    }
    Ok((edge, locked))
}

/// Verifies a checkpoint note under the first of `keys` that signed it.
fn verify_any(
    note: &[u8],
    keys: &[NoteVerifier],
) -> Result<SignedCheckpoint, crate::checkpoint::CheckpointError> {
    let mut last = None;
    for k in keys {
        match SignedCheckpoint::verify(note, k, &[]) {
            Ok(cp) => return Ok(cp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one key"))
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

/// A batch that found the log idle closes once no new entry arrived for this
/// long (or at `max_age`): appenders woken by one acknowledgment come back
/// within microseconds of each other, and a lone appender waits only this.
pub const LINGER_GAP: Duration = Duration::from_micros(100);

type Reply = oneshot::Sender<Result<Receipt, LogError>>;

/// What an appender queues: an entry, or a move of the log's key.
enum Queued {
    Entry(Bytes),
    Transfer(Box<KeyTransfer>),
}

/// A request to move the log's key (see the module docs, "When the log's
/// key moves").
struct KeyTransfer {
    new_key: NoteSigner,
    previous_custodian: String,
    custodian: String,
}

/// A hand-off checkpoint: the last one the old key signed, ending with the
/// `custody_transfer` entry at `size - 1`.
#[derive(Clone)]
struct Handoff {
    size: u64,
    checkpoint: Checkpoint,
    note: Bytes,
}

const CUSTODY_DIR: &str = "state/custody";

fn handoff_path(size: u64) -> String {
    format!("{CUSTODY_DIR}/{size}")
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
    fatal: Option<String>,
    witnesses: Vec<WitnessState>,
    /// Published tiles and checkpoints written since the last durability
    /// round started, and the staging objects that cover them until then.
    unsynced: Option<PendingSync>,
    unsynced_staging: Vec<String>,
    /// The durability round in flight (step 6), if any.
    durability: Option<tokio::task::JoinHandle<Result<(), String>>>,
    /// Every hand-off checkpoint of this log, oldest first (step T3).
    handoffs: Vec<Handoff>,
    /// The committed checkpoint is the hand-off one: step T5 is still due.
    resign: bool,
}

impl Sequencer {
    async fn run(mut self, mut rx: mpsc::Receiver<Pending>) {
        // Cosign the recovered checkpoint if it has no cosignatures yet.
        let published = self
            .shared
            .published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if !self.witnesses.is_empty()
            && Note::parse(&published.note).is_ok_and(|n| n.signatures.len() == 1)
        {
            match self.publish_checkpoint().await {
                Ok(_) => self.start_durability().await,
                Err(why) => {
                    tracing::error!(origin = %self.config.origin, "ledger stopped: {why}");
                    self.stop(&why);
                }
            }
        }
        // A key transfer a crash interrupted after its commit: T4 and T5.
        if self.resign && self.fatal.is_none() {
            self.show_witnesses_the_transfer().await;
            if let Err(e) = self.sign_with_key_in_force().await {
                tracing::error!(origin = %self.config.origin, "ledger stopped: {e}");
            }
        }
        while let Some(first) = self.next_entry(&mut rx).await {
            let batch = self.gather(first, &mut rx).await;
            self.sequence(batch).await;
        }
        // Shut down: the last publications reach the disk too.
        self.finish_durability().await;
        self.start_durability().await;
        self.finish_durability().await;
    }

    /// Waits for the first entry of the next batch. Meanwhile a durability
    /// round that ends starts the next one, so an idle log ends up durable.
    async fn next_entry(&mut self, rx: &mut mpsc::Receiver<Pending>) -> Option<Pending> {
        loop {
            let Some(round) = self.durability.as_mut() else {
                return rx.recv().await;
            };
            tokio::select! {
                biased;
                p = rx.recv() => return p,
                done = round => {
                    self.durability = None;
                    self.durability_ended(done);
                    self.start_durability().await;
                }
            }
        }
    }

    /// Closes a batch (see the module docs): everything already queued, up
    /// to `max_batch`; a first entry that found the log idle lingers until
    /// entries stop arriving for [`LINGER_GAP`], at most until it has waited
    /// `max_age`.
    async fn gather(&self, first: Pending, rx: &mut mpsc::Receiver<Pending>) -> Vec<Pending> {
        let deadline = first.queued + self.config.max_age;
        let mut last_arrival = tokio::time::Instant::now();
        let mut batch = vec![first];
        while batch.len() < self.config.max_batch {
            match rx.try_recv() {
                Ok(p) => {
                    batch.push(p);
                    last_arrival = tokio::time::Instant::now();
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            let now = tokio::time::Instant::now();
            if now >= deadline || now.duration_since(last_arrival) >= LINGER_GAP {
                break;
            }
            // Shorter than the timer's resolution, so a yield: it lets the
            // appenders just woken on this thread run and queue their entry.
            tokio::task::yield_now().await;
        }
        batch
    }

    /// A batch as gathered: runs of entries, each run sequenced together,
    /// and any key transfer between them as a batch of its own.
    async fn sequence(&mut self, batch: Vec<Pending>) {
        let mut run: Vec<(Bytes, Reply)> = Vec::new();
        for p in batch {
            match p.entry {
                Queued::Entry(e) => run.push((e, p.reply)),
                Queued::Transfer(t) => {
                    if !run.is_empty() {
                        self.sequence_entries(std::mem::take(&mut run)).await;
                    }
                    let r = self.move_key(*t).await;
                    let _ = p.reply.send(r);
                    if self.durability.as_ref().is_none_or(|h| h.is_finished()) {
                        self.start_durability().await;
                    }
                }
            }
        }
        if !run.is_empty() {
            self.sequence_entries(run).await;
        }
    }

    /// Steps T1-T5 (module docs): the log's key moves to `t.new_key`.
    async fn move_key(&mut self, t: KeyTransfer) -> Result<Receipt, LogError> {
        if self.durability.as_ref().is_some_and(|h| h.is_finished()) {
            self.finish_durability().await;
        }
        if let Some(why) = &self.fatal {
            return Err(LogError::Fatal(why.clone()));
        }
        // T1. The statement, signed by the key in force.
        let index = self.edge.size();
        let old = self.signer.clone();
        let mut ct = crate::entry::CustodyTransfer {
            origin: self.config.origin.clone(),
            previous_custodian: t.previous_custodian,
            custodian: t.custodian,
            old_vkey: old.verifier().vkey(),
            new_vkey: t.new_key.verifier().vkey(),
            tree_size: index,
            tree_root: {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(self.edge.root())
            },
            signature: String::new(),
        };
        ct.signature = old.sign(&ct.statement()).line().trim_end().to_string();
        let bytes = Bytes::from(Entry::now(EntryBody::CustodyTransfer(ct)).to_bytes()?);
        // T2. The hand-off checkpoint: steps 1-5, signed by the old key.
        let (first, staging, tiles) =
            match self.stage_and_commit(std::slice::from_ref(&bytes)).await {
                Ok(s) => s,
                Err(LogError::Fatal(m)) => return Err(LogError::Fatal(m)),
                Err(e) => return Err(LogError::Unavailable(e.to_string())),
            };
        self.unsynced_staging.push(staging);
        if let Err(why) = self.publish(&tiles).await {
            return Err(self.stop(&why));
        }
        self.shared
            .index
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(first, &bytes);
        // T3. Kept for witnesses that were not there.
        let size = self.edge.size();
        let note = Bytes::from(self.committed.to_bytes());
        if let Err(e) = self
            .shared
            .storage
            .put(&handoff_path(size), note.clone())
            .await
        {
            // Committed already: the restart stores it and goes on.
            return Err(self.stop(&format!("storing the hand-off checkpoint failed: {e}")));
        }
        self.handoffs.push(Handoff {
            size,
            checkpoint: Checkpoint::new(&self.config.origin, size, self.edge.root()),
            note,
        });
        self.resign = true;
        // T4. The witnesses follow the key.
        self.show_witnesses_the_transfer().await;
        // T5. The new key signs the same tree.
        self.signer = t.new_key;
        *self
            .shared
            .verifier
            .write()
            .unwrap_or_else(|e| e.into_inner()) = self.signer.verifier();
        let published = self.sign_with_key_in_force().await?;
        Ok(Receipt {
            index: first,
            checkpoint: published,
        })
    }

    /// Step T4: shows every witness that cosigned the latest hand-off
    /// checkpoint the transfer it ends with. A witness that was away is
    /// brought along later, when it refuses a checkpoint of the new key.
    async fn show_witnesses_the_transfer(&mut self) {
        let Some(h) = self.handoffs.last().cloned() else {
            return;
        };
        let storage = self.shared.storage.clone();
        let timeout = self.config.witness_timeout;
        let shows = self
            .witnesses
            .iter()
            .map(|w| {
                let (client, known, storage, h) =
                    (w.client.clone(), w.known_size, storage.clone(), h.clone());
                async move {
                    let _ = tokio::time::timeout(
                        timeout,
                        show_transfers(&*client, &storage, known, std::slice::from_ref(&h)),
                    )
                    .await;
                }
            })
            .collect::<Vec<_>>();
        futures::future::join_all(shows).await;
    }

    /// Step T5 (and its completion at start): the committed tree signed
    /// again, by the key in force, committed and published.
    async fn sign_with_key_in_force(&mut self) -> Result<Arc<PublishedCheckpoint>, LogError> {
        if !self.lease.is_held() {
            return Err(self.stop(&format!(
                "lost the sequencer lease in {}; stopping rather than risk a second writer",
                self.lock.describe()
            )));
        }
        let cp = Checkpoint::new(&self.config.origin, self.edge.size(), self.edge.root());
        let note = sign(&self.signer, &cp);
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
        self.resign = false;
        match self.publish_checkpoint().await {
            Ok(p) => Ok(p),
            Err(why) => Err(self.stop(&why)),
        }
    }

    /// Steps 1-5 for one run of entries, the acknowledgments, then step 6.
    async fn sequence_entries(&mut self, batch: Vec<(Bytes, Reply)>) {
        // A durability round that failed stops the log before it commits more.
        if self.durability.as_ref().is_some_and(|h| h.is_finished()) {
            self.finish_durability().await;
        }
        if let Some(why) = &self.fatal {
            for (_, reply) in batch {
                let _ = reply.send(Err(LogError::Fatal(why.clone())));
            }
            return;
        }
        let (entries, replies): (Vec<Bytes>, Vec<Reply>) = batch.into_iter().unzip();
        // The entry index parses every entry; that runs on a blocking thread
        // while the two rounds wait for the disk.
        let parsing = {
            let entries = entries.clone();
            tokio::task::spawn_blocking(move || parse_for_index(&entries))
        };
        let (first_index, staging, tiles) = match self.stage_and_commit(&entries).await {
            Ok(staged) => staged,
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
                return;
            }
        };
        self.unsynced_staging.push(staging);
        let published = match self.publish(&tiles).await {
            Ok(cp) => cp,
            Err(why) => {
                tracing::error!(origin = %self.config.origin, "ledger stopped: {why}");
                self.stop(&why);
                for reply in replies {
                    let _ = reply.send(Err(LogError::Fatal(why.clone())));
                }
                return;
            }
        };
        let parsed = match parsing.await {
            Ok(p) => p,
            Err(_) => parse_for_index(&entries),
        };
        {
            let mut idx = self.shared.index.lock().unwrap_or_else(|e| e.into_inner());
            for (i, p) in parsed.into_iter().enumerate() {
                if let Some(p) = p {
                    idx.add_parsed(first_index + i as u64, p);
                }
            }
        }
        for (i, reply) in replies.into_iter().enumerate() {
            let _ = reply.send(Ok(Receipt {
                index: first_index + i as u64,
                checkpoint: published.clone(),
            }));
        }
        // 6. Unless one is still running, a durability round starts for
        //    what has been published since the last one.
        if self.durability.as_ref().is_none_or(|h| h.is_finished()) {
            self.start_durability().await;
        }
    }

    /// Steps 1-3 for one batch. Returns the index of its first entry, its
    /// staging object and the tiles to publish.
    async fn stage_and_commit(
        &mut self,
        entries: &[Bytes],
    ) -> Result<(u64, String, Vec<(String, Bytes)>), LogError> {
        let before = self.edge.clone();
        let first_index = before.size();
        let mut tiles = Vec::new();
        if let Err(e) = self.edge.append(entries, &mut tiles) {
            self.edge = before;
            return Err(e.into());
        }
        let size = self.edge.size();

        // 1. Stage. A failure here leaves no trace that matters.
        let staging = staging_path(size, &self.edge.root());
        if let Err(e) = self
            .shared
            .storage
            .put(
                &staging,
                encode_staging((first_index, before.root()), &tiles),
            )
            .await
        {
            self.edge = before;
            return Err(e.into());
        }

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
        Ok((
            first_index,
            staging,
            tiles.iter().map(|(t, b)| (t.path(), b.clone())).collect(),
        ))
    }

    /// Steps 4-5: the tiles, then the cosigned checkpoint, both visible at
    /// once; step 6 makes them durable.
    async fn publish(
        &mut self,
        tiles: &[(String, Bytes)],
    ) -> Result<Arc<PublishedCheckpoint>, String> {
        // 4. Publish the tiles.
        let pending = self
            .shared
            .storage
            .put_all_deferred(tiles)
            .await
            .map_err(|e| format!("publishing tiles failed: {e}"))?;
        self.unsynced = Some(self.unsynced.take().unwrap_or_default().merge(pending));
        // 5. Witness and publish the checkpoint.
        self.publish_checkpoint().await
    }

    /// Step 5 for the committed checkpoint.
    async fn publish_checkpoint(&mut self) -> Result<Arc<PublishedCheckpoint>, String> {
        let storage = self.shared.storage.clone();
        let mut note = self.committed.clone();
        let checkpoint = Checkpoint::parse(&note.text).map_err(|e| e.to_string())?;
        let signed = Bytes::from(note.to_bytes());
        for c in gather_cosignatures(
            &mut self.witnesses,
            &storage,
            self.config.witness_timeout,
            &checkpoint,
            &signed,
            &self.handoffs,
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
        self.unsynced = Some(self.unsynced.take().unwrap_or_default().merge(written));
        let published = Arc::new(PublishedCheckpoint {
            checkpoint,
            note: bytes,
        });
        *self
            .shared
            .published
            .write()
            .unwrap_or_else(|e| e.into_inner()) = published.clone();
        Ok(published)
    }

    /// Step 6, in its own task: fsyncs what was published since the last
    /// round, then deletes the staging objects it made unnecessary, oldest
    /// first. One round at a time, so deletions happen in batch order.
    async fn start_durability(&mut self) {
        self.finish_durability().await;
        let Some(pending) = self.unsynced.take() else {
            return;
        };
        let staging = std::mem::take(&mut self.unsynced_staging);
        let storage = self.shared.storage.clone();
        self.durability = Some(tokio::spawn(async move {
            storage
                .sync(pending)
                .await
                .map_err(|e| format!("making the published tiles durable failed: {e}"))?;
            for p in &staging {
                let _ = storage.delete(p).await;
            }
            Ok(())
        }));
    }

    /// Waits for the durability round in flight; a failure stops the log
    /// (its restart rewrites the tiles from the staging objects left).
    async fn finish_durability(&mut self) {
        if let Some(h) = self.durability.take() {
            let done = h.await;
            self.durability_ended(done);
        }
    }

    fn durability_ended(&mut self, done: Result<Result<(), String>, tokio::task::JoinError>) {
        let why = match done {
            Ok(Ok(())) => return,
            Ok(Err(why)) => why,
            Err(e) => format!("the durability task failed: {e}"),
        };
        tracing::error!(origin = %self.config.origin, "ledger stopped: {why}");
        self.stop(&why);
    }

    fn stop(&mut self, why: &str) -> LogError {
        self.fatal = Some(why.to_string());
        LogError::Fatal(why.to_string())
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
    handoffs: &[Handoff],
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
                let r = tokio::time::timeout(timeout, async {
                    match ask_witness(&*client, &storage, known, &cp, signed.clone()).await {
                        // It still knows an earlier key of the log: bring it
                        // along the transfers it missed, then ask again.
                        Err(WitnessError::Forbidden) if !handoffs.is_empty() => {
                            let known = show_transfers(&*client, &storage, known, handoffs).await;
                            ask_witness(&*client, &storage, known, &cp, signed).await
                        }
                        r => r,
                    }
                })
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

/// Brings a witness along hand-offs it has not seen: to each hand-off
/// checkpoint (signed by the key it knows then), then the transfer that
/// ends it, with its inclusion proof. Answers the size the witness is at.
async fn show_transfers(
    client: &dyn WitnessClient,
    storage: &LogStorage,
    mut known: Option<u64>,
    handoffs: &[Handoff],
) -> Option<u64> {
    for h in handoffs {
        if known.is_some_and(|k| k > h.size) {
            continue;
        }
        if known != Some(h.size) {
            match ask_witness(client, storage, known, &h.checkpoint, h.note.clone()).await {
                Ok(_) => known = Some(h.size),
                Err(e) => {
                    tracing::warn!(witness = %client.verifier().name(), size = h.size, "witness did not cosign a hand-off checkpoint: {e}");
                    continue;
                }
            }
        }
        let index = h.size - 1;
        let proof = async {
            let entry = proof::read_entry(storage, index, h.size).await?;
            let path = proof::prove_inclusion(storage, index, h.size).await?;
            Ok::<_, FetchError>(InclusionProof::new(index, &entry, &path, &h.note, h.size))
        }
        .await;
        match proof {
            Ok(p) => {
                if let Err(e) = client.key_transfer(&p).await {
                    tracing::warn!(witness = %client.verifier().name(), "witness did not follow the key transfer: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot prove the key transfer: {e}"),
        }
    }
    known
}

/// What the entry index keeps of one entry.
struct IndexedEntry {
    subject: Option<Pseudonym>,
    kind: &'static str,
    region_config: Option<RegionConfig>,
    /// A custody transfer: the custodian it names and the new key.
    transfer: Option<(String, String)>,
}

/// A custody transfer the log went through.
#[derive(Debug, Clone)]
struct TransferSeen {
    index: u64,
    custodian: String,
    new_vkey: String,
}

fn parse_one(bytes: &[u8]) -> Option<IndexedEntry> {
    let e = Entry::parse(bytes).ok()?;
    let subject = e.body.subject();
    let kind = e.body.kind();
    let (region_config, transfer) = match e.body {
        EntryBody::RegionConfig(c) => (Some(c), None),
        EntryBody::CustodyTransfer(t) => (None, Some((t.custodian, t.new_vkey))),
        _ => (None, None),
    };
    Some(IndexedEntry {
        subject,
        kind,
        region_config,
        transfer,
    })
}

fn parse_for_index(entries: &[Bytes]) -> Vec<Option<IndexedEntry>> {
    entries.iter().map(|e| parse_one(e)).collect()
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
    /// The log's key moves, oldest first.
    transfers: Vec<TransferSeen>,
}

impl EntryIndex {
    fn add(&mut self, n: u64, bytes: &[u8]) {
        if let Some(p) = parse_one(bytes) {
            self.add_parsed(n, p);
        }
    }

    fn add_parsed(&mut self, n: u64, e: IndexedEntry) {
        if let Some(p) = e.subject {
            self.subjects.entry(p).or_default().push(n);
        }
        self.kinds.entry(e.kind).or_default().push(n);
        if let Some(c) = e.region_config {
            self.region_config = Some(c);
        }
        if let Some((custodian, new_vkey)) = e.transfer {
            self.transfers.push(TransferSeen {
                index: n,
                custodian,
                new_vkey,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    const ORIGIN: &str = "chain.test/log";

    fn signer() -> NoteSigner {
        NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[3; 32])).unwrap()
    }

    fn entries(from: u64, n: u64) -> Vec<Bytes> {
        (from..from + n)
            .map(|i| Bytes::from(format!("entry {i}")))
            .collect()
    }

    /// A power loss after two commits whose published tiles never reached
    /// the disk: what is left is the durable state before them, their two
    /// staging objects (linked) and the committed checkpoint. Recovery walks
    /// the chain and rebuilds everything, and a staging object that is not
    /// on the chain (a batch never committed) is not replayed.
    #[tokio::test]
    async fn recovery_replays_every_staged_batch_on_the_committed_chain() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LogStorage::local(dir.path()).unwrap();
        let log = Log::open(storage.clone(), signer(), LogConfig::new(ORIGIN))
            .await
            .unwrap();
        for e in entries(0, 300) {
            log.append(e).await.unwrap();
        }
        drop(log);
        // Let the sequencer finish its last durability round.
        tokio::time::sleep(Duration::from_millis(200)).await;

        // Rebuild the edge as the sequencer had it, then stage and commit
        // two batches by hand, publishing nothing.
        let lock = StorageLock::new(storage.clone()).await.unwrap();
        let (mut edge, mut locked) = recover(&storage, &lock, &signer(), &[signer().verifier()])
            .await
            .unwrap();
        assert_eq!(edge.size(), 300);
        let mut expected = entries(0, 300);
        // The first fills entry tile 1 (entries 256-511), which the second
        // batch does not rewrite: only the chain brings it back.
        for (from, n) in [(300, 212), (512, 88)] {
            let before = (edge.size(), edge.root());
            let mut tiles = Vec::new();
            let batch = entries(from, n);
            edge.append(&batch, &mut tiles).unwrap();
            expected.extend(batch);
            storage
                .put(
                    &staging_path(edge.size(), &edge.root()),
                    encode_staging(before, &tiles),
                )
                .await
                .unwrap();
            let note = sign(
                &signer(),
                &Checkpoint::new(ORIGIN, edge.size(), edge.root()),
            );
            locked = lock
                .replace(&locked, Bytes::from(note.to_bytes()))
                .await
                .unwrap();
        }
        // A fork staged on the same tree, never committed.
        let mut fork = edge.clone();
        let mut fork_tiles = Vec::new();
        fork.append(&[Bytes::from_static(b"fork")], &mut fork_tiles)
            .unwrap();
        storage
            .put(
                &staging_path(fork.size(), &fork.root()),
                encode_staging((edge.size(), edge.root()), &fork_tiles),
            )
            .await
            .unwrap();

        let log = Log::open(storage.clone(), signer(), LogConfig::new(ORIGIN))
            .await
            .unwrap();
        let cp = log.checkpoint().checkpoint.clone();
        assert_eq!((cp.size, cp.root), (600, edge.root()));
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(&log.entry(i as u64).await.unwrap(), e, "entry {i}");
        }
        // And the log goes on from there.
        let r = log.append(Bytes::from_static(b"next")).await.unwrap();
        assert_eq!(r.index, 600);
        assert_eq!(log.entry(600).await.unwrap(), Bytes::from_static(b"next"));
    }
}
