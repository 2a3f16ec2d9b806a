//! The auditor's tool: `verify` recomputes a whole log from its entries and
//! checks it against the signed, cosigned checkpoint and against the
//! checkpoint remembered from last time; `inclusion` checks one entry;
//! `monitor` tails a log, reporting new entries and flagging platform staff
//! touching protected data. It reads a log from a directory or over HTTP,
//! and trusts nothing it fetched that a signature does not vouch for.
//!
//! Embedded as `sovereel audit …` (see [`AuditCommand`] and [`run`]) and as
//! the standalone `sovereel-audit` binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use indicatif::{ProgressBar, ProgressStyle};

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::entry::Entry;
use crate::merkle::{leaf_hash, verify_inclusion};
use crate::note::{Note, NoteSignature, NoteVerifier};
use crate::proof::{self, InclusionProof};
use crate::storage::{LogStorage, TileSource};
use crate::tiles::{Edge, TILE_WIDTH, TileKind, TileRef, TileSet, decode_bundle, tile_in_tree};

/// `sovereel audit …`
#[derive(Debug, clap::Args)]
pub struct AuditCommand {
    #[command(subcommand)]
    pub command: AuditSubcommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditSubcommand {
    /// Recompute a whole log from its entries and check every signature,
    /// cosignature, tile and the consistency with the remembered checkpoint.
    Verify(VerifyArgs),
    /// Check that one entry is in the log, from the tiles or from a saved proof.
    Inclusion(InclusionArgs),
    /// Follow a log, print each new entry and flag custody anomalies.
    Monitor(MonitorArgs),
    /// Verify a log, then recompute its transparency report (moderation,
    /// appeals, staff access, data requests, egress, releases) from its
    /// entries alone; prints it as JSON, each figure with its index range.
    Report(ReportArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// The log: a URL prefix (`https://host/log/us`) or a directory.
    #[arg(long)]
    pub log: String,
    /// The log's verifier key, pinned out of band.
    #[arg(long)]
    pub vkey: String,
    /// A witness key whose cosignature is required (repeatable).
    #[arg(long = "witness")]
    pub witnesses: Vec<String>,
    /// Start of the period: RFC 3339 or YYYY-MM-DD (UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period (exclusive): RFC 3339 or YYYY-MM-DD (UTC).
    #[arg(long)]
    pub to: Option<String>,
    /// Compute over the first SIZE entries (a report served at that size);
    /// default: the whole verified log.
    #[arg(long)]
    pub size: Option<u64>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The log: a URL prefix (`https://host/log/us`) or a directory.
    #[arg(long)]
    pub log: String,
    /// The log's verifier key, pinned out of band.
    #[arg(long)]
    pub vkey: String,
    /// A witness key whose cosignature is required (repeatable).
    #[arg(long = "witness")]
    pub witnesses: Vec<String>,
    /// File remembering the last verified checkpoint; checked, then updated.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct InclusionArgs {
    /// The log (URL prefix or directory), to check entry `--index` from its tiles.
    #[arg(long)]
    pub log: Option<String>,
    #[arg(long)]
    pub vkey: String,
    #[arg(long = "witness")]
    pub witnesses: Vec<String>,
    /// Entry index to prove from the log's tiles.
    #[arg(long)]
    pub index: Option<u64>,
    /// A saved proof (JSON, as served by `/v1/me/access-log`) to check offline.
    #[arg(long)]
    pub proof: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    #[arg(long)]
    pub log: String,
    #[arg(long)]
    pub vkey: String,
    #[arg(long = "witness")]
    pub witnesses: Vec<String>,
    /// Where the monitor remembers how far it got.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Seconds between polls.
    #[arg(long, default_value_t = 10)]
    pub interval: u64,
    /// Poll once and exit.
    #[arg(long)]
    pub once: bool,
    /// Exit non-zero when a custody anomaly is seen.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot read the log: {0}")]
    Fetch(String),
    #[error("verification failed: {0}")]
    Mismatch(String),
    #[error("state file {path}: {why}")]
    State { path: String, why: String },
    #[error("{0} custody anomalies seen (platform staff touching protected data)")]
    Anomalies(usize),
}

fn mismatch(s: impl Into<String>) -> AuditError {
    AuditError::Mismatch(s.into())
}

/// Where a log is read from.
pub enum LogSource {
    Dir(LogStorage),
    Http {
        base: String,
        client: reqwest::Client,
    },
}

impl LogSource {
    /// `http(s)://…` is a URL prefix; anything else a directory.
    pub fn parse(s: &str) -> Result<LogSource, AuditError> {
        if s.starts_with("http://") || s.starts_with("https://") {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| AuditError::Usage(e.to_string()))?;
            Ok(LogSource::Http {
                base: s.trim_end_matches('/').to_string(),
                client,
            })
        } else {
            let p = Path::new(s);
            if !p.is_dir() {
                return Err(AuditError::Usage(format!(
                    "{s} is neither a URL nor a directory"
                )));
            }
            LogStorage::local(p)
                .map(LogSource::Dir)
                .map_err(|e| AuditError::Usage(e.to_string()))
        }
    }
}

impl TileSource for LogSource {
    fn fetch<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, String>> {
        Box::pin(async move {
            match self {
                LogSource::Dir(s) => s.get(rel).await.map_err(|e| e.to_string()),
                LogSource::Http { base, client } => {
                    let resp = client
                        .get(format!("{base}/{rel}"))
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    match resp.status().as_u16() {
                        200 => resp.bytes().await.map(Some).map_err(|e| e.to_string()),
                        404 => Ok(None),
                        s => Err(format!("HTTP {s}")),
                    }
                }
            }
        })
    }
}

async fn fetch(src: &dyn TileSource, rel: &str) -> Result<Bytes, AuditError> {
    src.fetch(rel)
        .await
        .map_err(|e| AuditError::Fetch(format!("{rel}: {e}")))?
        .ok_or_else(|| mismatch(format!("{rel} is missing")))
}

fn parse_keys(
    vkey: &str,
    witnesses: &[String],
) -> Result<(NoteVerifier, Vec<NoteVerifier>), AuditError> {
    let log = NoteVerifier::parse(vkey).map_err(|e| AuditError::Usage(format!("--vkey: {e}")))?;
    if log.is_cosigner() {
        return Err(AuditError::Usage(
            "--vkey is a cosigner key, not a log key".into(),
        ));
    }
    let w = witnesses
        .iter()
        .map(|w| {
            let v = NoteVerifier::parse(w)
                .map_err(|e| AuditError::Usage(format!("--witness {w}: {e}")))?;
            if !v.is_cosigner() {
                return Err(AuditError::Usage(format!(
                    "--witness {w} is not a cosigner (type 0x04) key"
                )));
            }
            Ok(v)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((log, w))
}

async fn fetch_checkpoint(
    src: &dyn TileSource,
    log: &NoteVerifier,
    witnesses: &[NoteVerifier],
) -> Result<(SignedCheckpoint, Bytes), AuditError> {
    let bytes = fetch(src, "checkpoint").await?;
    let cp = SignedCheckpoint::verify(&bytes, log, witnesses)
        .map_err(|e| mismatch(format!("checkpoint: {e}")))?;
    Ok((cp, bytes))
}

fn read_state(path: &Path, log: &NoteVerifier) -> Result<Option<Checkpoint>, AuditError> {
    let err = |why: String| AuditError::State {
        path: path.display().to_string(),
        why,
    };
    match std::fs::read(path) {
        Ok(b) => {
            // Only the log signature matters for what we remembered.
            let cp = SignedCheckpoint::verify(&b, log, &[]).map_err(|e| err(e.to_string()))?;
            Ok(Some(cp.checkpoint))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(e.to_string())),
    }
}

/// The remembered checkpoint, read for its size and root; its signature is
/// checked once the log's chain of keys is known.
fn read_state_unverified(path: &Path) -> Result<Option<Checkpoint>, AuditError> {
    Ok(remembered_note(path)?.map(|(cp, _)| cp))
}

fn remembered_note(path: &Path) -> Result<Option<(Checkpoint, Vec<u8>)>, AuditError> {
    let err = |why: String| AuditError::State {
        path: path.display().to_string(),
        why,
    };
    match std::fs::read(path) {
        Ok(b) => {
            let note = Note::parse(&b).map_err(|e| err(e.to_string()))?;
            let cp = Checkpoint::parse(&note.text).map_err(|e| err(e.to_string()))?;
            Ok(Some((cp, b)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(e.to_string())),
    }
}

fn write_state(path: &Path, note: &[u8]) -> Result<(), AuditError> {
    let err = |e: std::io::Error| AuditError::State {
        path: path.display().to_string(),
        why: e.to_string(),
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, note).map_err(err)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

fn progress(len: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} entries ({per_sec}, {eta})",
    ) {
        pb.set_style(style);
    }
    pb
}

/// What `verify` established.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub checkpoint: Checkpoint,
    pub cosigners: usize,
    pub previous: Option<Checkpoint>,
    /// The log's key moves the replay followed, oldest first.
    pub transfers: Vec<KeyMove>,
    /// The log closed (its last entry is `region_closed`).
    pub closed: bool,
}

/// One `custody_transfer` the verifier followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMove {
    pub index: u64,
    pub custodian: String,
    pub vkey: String,
}

/// The chain of a log's keys, from the one the auditor pinned.
///
/// A log's key moves only by a `custody_transfer` entry signed by the key
/// in force before it, over a statement that names the entry's own index
/// and the root of every entry before it. So the pinned key vouches for
/// the log up to the transfer, and for the key that takes over after it;
/// whoever lacks the old key cannot forge a transfer. A checkpoint that
/// includes a transfer is signed by the new key, except the hand-off
/// checkpoint that ends with it, which the old key signed.
struct KeyChain {
    keys: Vec<NoteVerifier>,
    moves: Vec<KeyMove>,
    closed_at: Option<u64>,
}

impl KeyChain {
    fn current(&self) -> &NoteVerifier {
        self.keys
            .last()
            .expect("the chain starts with the pinned key")
    }

    /// Checks entry `index` (the tree of `root_before` precedes it) if it
    /// moves the key or closes the log; other entries pass untouched.
    fn check(
        &mut self,
        index: u64,
        bytes: &[u8],
        root_before: &crate::merkle::Hash,
    ) -> Result<(), AuditError> {
        if let Some(at) = self.closed_at {
            return Err(mismatch(format!(
                "entry {index} comes after the log closed at entry {at}"
            )));
        }
        // Only entries that say what they are parse; the rest is opaque.
        // (Window lengths from the needles themselves: a miscounted
        // constant would let every transfer and closure pass unchecked.)
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        let moves = has(b"\"kind\":\"custody_transfer\"");
        let closes = has(b"\"kind\":\"region_closed\"");
        if !moves && !closes {
            return Ok(());
        }
        let entry = Entry::parse(bytes);
        match entry.map(|e| e.body) {
            Ok(crate::entry::EntryBody::CustodyTransfer(t)) => {
                let current = self.current().clone();
                let refuse = |why: &str| {
                    mismatch(format!(
                        "entry {index} is a custody transfer {why}; it is forged or the log was altered"
                    ))
                };
                let sig = NoteSignature::parse_line(&t.signature)
                    .map_err(|_| refuse("whose signature does not parse"))?;
                let statement = Note {
                    text: t.statement(),
                    signatures: vec![sig],
                };
                if t.old_vkey != current.vkey()
                    || statement.verify(std::slice::from_ref(&current)).is_err()
                {
                    return Err(refuse(&format!(
                        "not signed by the key in force ({})",
                        current.vkey()
                    )));
                }
                if t.origin != current.name() || t.tree_size != index {
                    return Err(refuse("for another log or another place in it"));
                }
                if t.tree_root != B64.encode(root_before) {
                    return Err(refuse("whose root is not that of the entries before it"));
                }
                let new = NoteVerifier::parse(&t.new_vkey)
                    .map_err(|_| refuse("naming a key that does not parse"))?;
                if new.name() != current.name() || new.is_cosigner() {
                    return Err(refuse("naming a key that is not this log's"));
                }
                self.moves.push(KeyMove {
                    index,
                    custodian: t.custodian.clone(),
                    vkey: new.vkey(),
                });
                self.keys.push(new);
            }
            Ok(crate::entry::EntryBody::RegionClosed(_)) => self.closed_at = Some(index),
            // Mentions the kind but is not one: an ordinary entry.
            _ => {}
        }
        Ok(())
    }

    /// The keys that may sign a checkpoint of `size` entries: the key in
    /// force after every transfer it includes, and, for the hand-off
    /// checkpoint that ends with a transfer, the key before it.
    fn keys_for(&self, size: u64) -> Vec<&NoteVerifier> {
        let after = self.moves.iter().filter(|m| m.index < size).count();
        let mut out = vec![&self.keys[after]];
        if after > 0 && self.moves[after - 1].index + 1 == size {
            out.push(&self.keys[after - 1]);
        }
        out
    }

    /// Verifies a checkpoint note of `size` against the keys that may sign it.
    fn verify(
        &self,
        note: &[u8],
        size: u64,
        witnesses: &[NoteVerifier],
    ) -> Result<SignedCheckpoint, AuditError> {
        let mut last = None;
        for k in self.keys_for(size) {
            match SignedCheckpoint::verify(note, k, witnesses) {
                Ok(cp) => return Ok(cp),
                Err(e) => last = Some(e),
            }
        }
        Err(mismatch(format!(
            "checkpoint: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        )))
    }
}

/// Compares hash tiles the replay produced with those the log serves.
/// Callers pass full tiles as they fill, and the partial tiles of the final
/// size at the end (intermediate partial tiles need not be served).
async fn compare_tiles(src: &dyn TileSource, produced: &TileSet) -> Result<(), AuditError> {
    for (t, bytes) in produced {
        let TileKind::Hash(level) = t.kind else {
            continue;
        };
        let served = fetch(src, &t.path()).await?;
        if served != bytes {
            let below = if level == 0 {
                format!(
                    "the hashes of the entries in {}",
                    TileRef {
                        kind: TileKind::Entries,
                        ..*t
                    }
                    .path()
                )
            } else {
                format!("the level-{} tiles below it", level - 1)
            };
            return Err(mismatch(format!(
                "{} does not match {below} (a tile or entry bundle was altered)",
                t.path()
            )));
        }
    }
    Ok(())
}

/// Verifies a whole log; see [`AuditSubcommand::Verify`].
pub async fn verify_log(
    src: Arc<dyn TileSource>,
    args: &VerifyArgs,
) -> Result<VerifyReport, AuditError> {
    let (log, witnesses) = parse_keys(&args.vkey, &args.witnesses)?;
    // Nothing fetched is trusted before a signature vouches for it: the
    // checkpoint is read now for its size, and verified after the replay,
    // under the key the chain of custody transfers arrives at.
    let cp_bytes = fetch(&*src, "checkpoint").await?;
    let cp = Note::parse(&cp_bytes)
        .map_err(|e| e.to_string())
        .and_then(|n| Checkpoint::parse(&n.text).map_err(|e| e.to_string()))
        .map_err(|e| mismatch(format!("checkpoint: {e}")))?;
    if cp.origin != log.name() {
        return Err(mismatch(format!(
            "checkpoint: the log's origin is {:?}, the pinned key is for {:?}",
            cp.origin,
            log.name()
        )));
    }
    let mut chain = KeyChain {
        keys: vec![log.clone()],
        moves: vec![],
        closed_at: None,
    };
    let remembered = match &args.state {
        Some(p) => read_state_unverified(p)?,
        None => None,
    };
    if let Some(r) = &remembered
        && r.size > cp.size
    {
        return Err(mismatch(format!(
            "checkpoint rollback: the log now shows size {}, smaller than the remembered size {}",
            cp.size, r.size
        )));
    }
    // Usually the pinned key signed the checkpoint (no transfer since). When
    // it did not, only a replay can find the key it moved to; a failure of
    // that replay is then, first of all, a signature that does not verify.
    let pinned = SignedCheckpoint::verify(&cp_bytes, &log, &[]).is_ok();
    let replayed = async {
    let size = cp.size;
    let pb = progress(size, args.quiet);
    let n_tiles = size.div_ceil(TILE_WIDTH);
    // Fetch bundles ahead of the replay, a few at a time.
    let mut bundles = futures::stream::iter(0..n_tiles)
        .map(|i| {
            let src = src.clone();
            async move {
                let t = tile_in_tree(TileKind::Entries, i, size)
                    .ok_or_else(|| mismatch("tile arithmetic"))?;
                let b = fetch(&*src, &t.path()).await?;
                Ok::<_, AuditError>((t, b))
            }
        })
        .buffered(8);
    let mut edge = Edge::new();
    while let Some(r) = bundles.next().await {
        let (t, b) = r?;
        let entries = decode_bundle(&t, &b).map_err(|e| mismatch(e.to_string()))?;
        let mut produced = Vec::new();
        let mut rest: &[Bytes] = &entries;
        // Each entry is appended with the root before it known, for the
        // custody transfers (cheap: the edge is already there).
        let mut chained: &[Bytes] = &entries;
        let mut at = edge.size();
        if chained.iter().any(|e| {
            e.windows(6).any(|w| w == b"\"kind\"")
                && (e.windows(16).any(|w| w == b"custody_transfer") || e.windows(13).any(|w| w == b"region_closed"))
        }) || chain.closed_at.is_some()
        {
            let mut probe = edge.clone();
            let mut scratch = Vec::new();
            while let Some((first, more)) = chained.split_first() {
                chain.check(at, first, &probe.root())?;
                probe
                    .append(std::slice::from_ref(first), &mut scratch)
                    .map_err(|e| mismatch(e.to_string()))?;
                scratch.clear();
                at += 1;
                chained = more;
            }
        }
        if let Some(r) = &remembered {
            let start = edge.size();
            if r.size > start && r.size <= start + rest.len() as u64 {
                let cut = (r.size - start) as usize;
                edge.append(&rest[..cut], &mut produced)
                    .map_err(|e| mismatch(e.to_string()))?;
                rest = &rest[cut..];
                if edge.root() != r.root {
                    return Err(mismatch(format!(
                        "the log is not consistent with the remembered checkpoint: its first {} entries hash to {}, but the remembered root is {} (history was rewritten)",
                        r.size,
                        B64.encode(edge.root()),
                        B64.encode(r.root)
                    )));
                }
            }
        }
        edge.append(rest, &mut produced)
            .map_err(|e| mismatch(e.to_string()))?;
        produced.retain(|(t, _)| t.is_full());
        compare_tiles(&*src, &produced).await?;
        pb.inc(entries.len() as u64);
    }
    pb.finish_and_clear();
    compare_tiles(
        &*src,
        &edge.partials().map_err(|e| mismatch(e.to_string()))?,
    )
    .await?;
    if let Some(r) = &remembered
        && r.size == 0
        && r.root != crate::merkle::EMPTY_ROOT
    {
        return Err(mismatch("remembered empty checkpoint has a non-empty root"));
    }
    if edge.root() != cp.root {
        return Err(mismatch(format!(
            "the entries hash to root {}, but the checkpoint of size {} says {}",
            B64.encode(edge.root()),
            size,
            B64.encode(cp.root)
        )));
    }
    chain.verify(&cp_bytes, size, &witnesses)
    }
    .await;
    let signed = match replayed {
        Err(AuditError::Mismatch(why)) if !pinned => {
            return Err(mismatch(format!(
                "checkpoint: its signature does not verify under the pinned key, and the log shows no custody transfer to a key it does verify under ({why})"
            )));
        }
        r => r?,
    };
    if let Some(p) = &args.state {
        // What we remembered must have been signed by a key of the chain
        // in force at its size.
        if let Some((r, note)) = &remembered_note(p)? {
            chain
                .verify(note, r.size, &[])
                .map_err(|e| AuditError::State {
                    path: p.display().to_string(),
                    why: e.to_string(),
                })?;
        }
        write_state(p, &cp_bytes)?;
    }
    Ok(VerifyReport {
        cosigners: signed.signatures.iter().filter(|s| s.cosigner).count(),
        checkpoint: cp,
        previous: remembered,
        transfers: chain.moves,
        closed: chain.closed_at.is_some(),
    })
}

/// Checks one entry; returns its bytes.
pub async fn check_inclusion(args: &InclusionArgs) -> Result<(u64, Vec<u8>), AuditError> {
    let (log, witnesses) = parse_keys(&args.vkey, &args.witnesses)?;
    if let Some(p) = &args.proof {
        let text =
            std::fs::read(p).map_err(|e| AuditError::Usage(format!("{}: {e}", p.display())))?;
        let proof: InclusionProof = serde_json::from_slice(&text)
            .map_err(|e| AuditError::Usage(format!("{}: {e}", p.display())))?;
        let entry = proof
            .verify(&log, &witnesses)
            .map_err(|e| mismatch(e.to_string()))?;
        return Ok((proof.index, entry));
    }
    let (Some(l), Some(index)) = (&args.log, args.index) else {
        return Err(AuditError::Usage(
            "give --proof FILE, or --log and --index".into(),
        ));
    };
    let src = LogSource::parse(l)?;
    let (cp, _) = fetch_checkpoint(&src, &log, &witnesses).await?;
    let size = cp.checkpoint.size;
    if index >= size {
        return Err(mismatch(format!(
            "entry {index} is not in the log (size {size})"
        )));
    }
    let entry = proof::read_entry(&src, index, size)
        .await
        .map_err(|e| mismatch(e.to_string()))?;
    let path = proof::prove_inclusion(&src, index, size)
        .await
        .map_err(|e| mismatch(e.to_string()))?;
    verify_inclusion(&leaf_hash(&entry), index, size, &path, &cp.checkpoint.root)
        .map_err(|e| mismatch(format!("entry {index}: {e}")))?;
    Ok((index, entry.to_vec()))
}

fn describe_entry(index: u64, bytes: &[u8]) -> (String, bool) {
    match Entry::parse(bytes) {
        Ok(e) => {
            let detail = serde_json::to_string(&e.body).unwrap_or_default();
            (
                format!("#{index} {} {detail}", e.body.kind()),
                e.is_custody_anomaly(),
            )
        }
        Err(_) => (
            format!("#{index} (not a typed entry, {} bytes)", bytes.len()),
            false,
        ),
    }
}

/// One monitor step: extends `edge` to the log's current checkpoint,
/// printing new entries. Returns the number of anomalies seen.
async fn monitor_step(
    src: &dyn TileSource,
    log: &NoteVerifier,
    witnesses: &[NoteVerifier],
    edge: &mut Edge,
    state: Option<&Path>,
) -> Result<usize, AuditError> {
    let (signed, cp_bytes) = fetch_checkpoint(src, log, witnesses).await?;
    let cp = signed.checkpoint;
    if cp.size < edge.size() {
        return Err(mismatch(format!(
            "checkpoint rollback: size {} after size {}",
            cp.size,
            edge.size()
        )));
    }
    let mut anomalies = 0;
    let pb = progress(cp.size - edge.size(), cp.size - edge.size() < 100_000);
    while edge.size() < cp.size {
        let start = edge.size();
        let t = tile_in_tree(TileKind::Entries, start / TILE_WIDTH, cp.size)
            .ok_or_else(|| mismatch("tile arithmetic"))?;
        let b = fetch(src, &t.path()).await?;
        let entries = decode_bundle(&t, &b).map_err(|e| mismatch(e.to_string()))?;
        let skip = (start % TILE_WIDTH) as usize;
        let new = &entries[skip..];
        for (i, e) in new.iter().enumerate() {
            let (line, anomaly) = describe_entry(start + i as u64, e);
            if anomaly {
                anomalies += 1;
                println!("ALERT custody anomaly: {line}");
            } else {
                println!("{line}");
            }
        }
        let mut produced = Vec::new();
        edge.append(new, &mut produced)
            .map_err(|e| mismatch(e.to_string()))?;
        pb.inc(new.len() as u64);
    }
    pb.finish_and_clear();
    if edge.root() != cp.root {
        return Err(mismatch(format!(
            "checkpoint of size {} is not consistent with the previous one, or its entries do not match its root",
            cp.size
        )));
    }
    if let Some(p) = state {
        write_state(p, &cp_bytes)?;
    }
    Ok(anomalies)
}

async fn monitor(args: &MonitorArgs) -> Result<(), AuditError> {
    let (log, witnesses) = parse_keys(&args.vkey, &args.witnesses)?;
    let src = LogSource::parse(&args.log)?;
    let mut edge = Edge::new();
    if let Some(p) = &args.state
        && let Some(r) = read_state(p, &log)?
    {
        let mut parts = std::collections::HashMap::new();
        for t in Edge::partial_tiles(r.size) {
            parts.insert(t, fetch(&src, &t.path()).await?);
        }
        edge = Edge::from_parts(r.size, |t| parts.get(t).cloned())
            .map_err(|e| mismatch(e.to_string()))?;
        if edge.root() != r.root {
            return Err(mismatch(format!(
                "the log's tiles at the remembered size {} do not match the remembered root",
                r.size
            )));
        }
    }
    let mut total = 0;
    loop {
        total += monitor_step(&src, &log, &witnesses, &mut edge, args.state.as_deref()).await?;
        if args.once {
            break;
        }
        tokio::time::sleep(Duration::from_secs(args.interval.max(1))).await;
    }
    if args.strict && total > 0 {
        return Err(AuditError::Anomalies(total));
    }
    Ok(())
}

/// Verifies the whole log (as `verify` does), then recomputes the
/// transparency report from the verified entries.
pub async fn report(args: &ReportArgs) -> Result<crate::report::RegionReport, AuditError> {
    let when = |s: &Option<String>, flag: &str| {
        s.as_deref()
            .map(|v| {
                crate::report::parse_when(v).map_err(|e| AuditError::Usage(format!("{flag}: {e}")))
            })
            .transpose()
    };
    let period = crate::report::Period {
        from: when(&args.from, "--from")?,
        to: when(&args.to, "--to")?,
    };
    let src: Arc<dyn TileSource> = Arc::new(LogSource::parse(&args.log)?);
    let verified = verify_log(
        src.clone(),
        &VerifyArgs {
            log: args.log.clone(),
            vkey: args.vkey.clone(),
            witnesses: args.witnesses.clone(),
            state: None,
            quiet: true,
        },
    )
    .await?;
    let size = match args.size {
        Some(n) if n > verified.checkpoint.size => {
            return Err(AuditError::Usage(format!(
                "--size {n} is beyond the verified log (size {})",
                verified.checkpoint.size
            )));
        }
        Some(n) => n,
        None => verified.checkpoint.size,
    };
    crate::report::compute(&*src, &verified.checkpoint.origin, size, period)
        .await
        .map_err(|e| mismatch(e.to_string()))
}

/// Runs an audit command, printing its findings. An `Err` means the log
/// failed verification (or could not be read); callers exit non-zero and
/// print the error, which names what is wrong.
pub async fn run(cmd: &AuditCommand) -> Result<(), AuditError> {
    match &cmd.command {
        AuditSubcommand::Verify(args) => {
            let src: Arc<dyn TileSource> = Arc::new(LogSource::parse(&args.log)?);
            let r = verify_log(src, args).await?;
            let moves: String = r
                .transfers
                .iter()
                .map(|m| {
                    format!(
                        ", key moved at entry {} to {} ({})",
                        m.index, m.custodian, m.vkey
                    )
                })
                .collect();
            println!(
                "OK {} size {} root {} ({} cosignatures{}{moves}{})",
                r.checkpoint.origin,
                r.checkpoint.size,
                B64.encode(r.checkpoint.root),
                r.cosigners,
                match &r.previous {
                    Some(p) => format!(", consistent with remembered size {}", p.size),
                    None => String::new(),
                },
                if r.closed { ", closed" } else { "" }
            );
            Ok(())
        }
        AuditSubcommand::Inclusion(args) => {
            let (index, entry) = check_inclusion(args).await?;
            let (line, _) = describe_entry(index, &entry);
            println!("OK included: {line}");
            Ok(())
        }
        AuditSubcommand::Monitor(args) => monitor(args).await,
        AuditSubcommand::Report(args) => {
            let r = report(args).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&r).map_err(|e| AuditError::Usage(e.to_string()))?
            );
            Ok(())
        }
    }
}
