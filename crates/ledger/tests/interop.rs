//! Interoperability with an independent implementation: a small Go program
//! (interop/main.go) built on golang.org/x/mod's sumdb/note and sumdb/tlog.
//! Go checks our signed checkpoints, tree hashes, proofs and tiles; we check
//! Go's notes, proofs and tiles. Needs Debian's golang-go and
//! golang-golang-x-mod-dev (scripts/ensure-test-deps installs them).
//! Go also verifies a log kept in a real S3 service (Garage).

#[path = "support/garage.rs"]
mod garage;
#[path = "support/go.rs"]
mod go;
#[path = "support/postgres.rs"]
mod postgres;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use sovereel_ledger::checkpoint::Checkpoint;
use sovereel_ledger::merkle::{
    MemoryTree, Subtree, leaf_hash, verify_consistency, verify_inclusion,
};
use sovereel_ledger::note::Note;
use sovereel_ledger::tiles::{TileKind, TileRef, changed_tiles, hash_tiles_for_size};
use sovereel_ledger::*;

#[derive(Serialize, Deserialize, Default)]
struct Inclusion {
    index: u64,
    size: u64,
    root: String,
    proof: Vec<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct Consistency {
    old: u64,
    old_root: String,
    new: u64,
    new_root: String,
    proof: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Tile {
    path: String,
    data: String,
}

#[derive(Serialize, Deserialize)]
struct Changed {
    old: u64,
    new: u64,
    paths: Vec<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct Vectors {
    vkey: String,
    note: String,
    #[serde(default)]
    entries: Vec<String>,
    size: u64,
    root: String,
    #[serde(default)]
    inclusion: Vec<Inclusion>,
    #[serde(default)]
    consistency: Vec<Consistency>,
    #[serde(default)]
    tiles: Vec<Tile>,
    #[serde(default)]
    changed: Vec<Changed>,
}

fn hash(s: &str) -> [u8; 32] {
    B64.decode(s).unwrap().try_into().unwrap()
}

fn b64s(h: &[[u8; 32]]) -> Vec<String> {
    h.iter().map(|h| B64.encode(h)).collect()
}

fn build_go(dir: &Path) -> std::path::PathBuf {
    go::build_interop(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_verifies_our_log_in_garage() {
    let Some(g) = garage::Garage::start("ledger Go interop in Garage", &["ledger"]) else {
        return;
    };
    let db = postgres::TestDatabase::create("interop").await;
    let dir = tempfile::tempdir().unwrap();
    let go = build_go(dir.path());
    let builder = || {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&g.endpoint)
            .with_region("garage")
            .with_access_key_id(&g.key_id)
            .with_secret_access_key(&g.secret)
            .with_allow_http(true)
    };
    let lock = PostgresLock::connect(&db.url, "interop.test/log")
        .await
        .unwrap();
    rust_produces_go_verifies(
        &go,
        LogStorage::s3(builder(), "ledger", "interop/log").unwrap(),
        LogStorage::s3(builder(), "ledger", "interop/witness").unwrap(),
        Some(Arc::new(lock)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_verifies_our_log_and_we_verify_go() {
    let dir = tempfile::tempdir().unwrap();
    let go = build_go(dir.path());

    // --- Rust produces, Go verifies. ---
    rust_produces_go_verifies(
        &go,
        LogStorage::local(&dir.path().join("log")).unwrap(),
        LogStorage::local(&dir.path().join("w")).unwrap(),
        None,
    )
    .await;
    go_produces_rust_verifies(&go);
}

async fn rust_produces_go_verifies(
    go: &Path,
    storage: LogStorage,
    witness_storage: LogStorage,
    lock: Option<Arc<dyn CheckpointLock>>,
) {
    let origin = "interop.test/log";
    let signer = NoteSigner::new(origin, SigningKey::from_bytes(&[11; 32])).unwrap();
    let w_signer =
        CosignatureSigner::new("interop.test/witness", SigningKey::from_bytes(&[12; 32])).unwrap();
    let witness = Arc::new(
        Witness::open(w_signer.clone(), vec![signer.verifier()], witness_storage)
            .await
            .unwrap(),
    );
    let mut config = LogConfig::new(origin);
    config.witnesses = vec![Arc::new(InProcessWitness::new(witness))];
    config.lock = lock;
    let log = Log::open(storage.clone(), signer.clone(), config)
        .await
        .unwrap();
    let n = 600u64;
    let entries: Vec<Bytes> = (0..n)
        .map(|i| Bytes::from(format!("rust entry {i}")))
        .collect();
    let mut sizes = Vec::new();
    for chunk in entries.chunks(97) {
        let receipts = futures::future::try_join_all(chunk.iter().map(|e| log.append(e.clone())))
            .await
            .unwrap();
        sizes.push(
            receipts
                .iter()
                .map(|r| r.checkpoint.checkpoint.size)
                .max()
                .unwrap(),
        );
    }
    let cp = log.checkpoint();
    assert_eq!(cp.checkpoint.size, n);
    // The published note carries the witness cosignature, which Go must ignore.
    assert!(Note::parse(&cp.note).unwrap().signatures.len() == 2);
    // Concurrent appends may be sequenced in any order: read back the log's.
    let mut entries = Vec::new();
    for i in 0..n {
        entries.push(log.entry(i).await.unwrap());
    }
    let mut mem = MemoryTree::new();
    for e in &entries {
        mem.push(e);
    }
    let mut v = Vectors {
        vkey: log.vkey(),
        note: String::from_utf8(cp.note.to_vec()).unwrap(),
        entries: entries.iter().map(|e| B64.encode(e)).collect(),
        size: n,
        root: B64.encode(cp.checkpoint.root),
        ..Default::default()
    };
    for index in (0..n).step_by(7).chain([n - 1]) {
        let p = log.inclusion_proof(index).await.unwrap();
        v.inclusion.push(Inclusion {
            index,
            size: n,
            root: v.root.clone(),
            proof: p.proof,
        });
    }
    for size in [1u64, 2, 3, 5, 8, 100, 255, 256, 257, 511, 512, 599] {
        for index in [0, size / 2, size - 1] {
            v.inclusion.push(Inclusion {
                index,
                size,
                root: B64.encode(mem.root_at(size).unwrap()),
                proof: b64s(&mem.inclusion_proof(index, size).unwrap()),
            });
        }
    }
    let mut olds = sizes.clone();
    olds.extend([1, 2, 3, 7, 64, 255, 256, 257, 300, 599, 600]);
    for old in olds {
        v.consistency.push(Consistency {
            old,
            old_root: B64.encode(mem.root_at(old).unwrap()),
            new: n,
            new_root: v.root.clone(),
            proof: b64s(&log.consistency_proof(old, n).await.unwrap()),
        });
    }
    for t in hash_tiles_for_size(n) {
        let data = storage.get(&t.path()).await.unwrap().unwrap();
        v.tiles.push(Tile {
            path: t.path(),
            data: B64.encode(&data),
        });
    }
    for (old, new) in [
        (0, 1),
        (0, 256),
        (5, 300),
        (255, 70_000),
        (256, 65_536),
        (69_000, 70_000),
        (1, 16_777_217),
    ] {
        v.changed.push(Changed {
            old,
            new,
            paths: changed_tiles(old, new)
                .into_iter()
                .filter(|t| matches!(t.kind, TileKind::Hash(_)))
                .map(|t| t.path())
                .collect(),
        });
    }
    let mut child = Command::new(go)
        .arg("verify")
        .stdin(Stdio::piped())
        .output_piped();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(&v).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Go rejected our vectors: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");

    // A corrupted proof must make Go fail, or the check above proves nothing.
    let mut bad: Vectors = serde_json::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap();
    let mut h = hash(&bad.inclusion[3].proof[0]);
    h[0] ^= 1;
    bad.inclusion[3].proof[0] = B64.encode(h);
    let mut child = Command::new(go)
        .arg("verify")
        .stdin(Stdio::piped())
        .output_piped();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(&bad).unwrap())
        .unwrap();
    assert!(!child.wait_with_output().unwrap().status.success());
}

fn go_produces_rust_verifies(go: &Path) {
    // --- Go produces, Rust verifies. ---
    let out = Command::new(go).args(["produce", "300"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let g: Vectors = serde_json::from_slice(&out.stdout).unwrap();
    let vk = NoteVerifier::parse(&g.vkey).unwrap();
    let note = Note::parse(g.note.as_bytes()).unwrap();
    note.verify(std::slice::from_ref(&vk)).unwrap();
    let gcp = Checkpoint::parse(&note.text).unwrap();
    assert_eq!((gcp.size, B64.encode(gcp.root)), (g.size, g.root.clone()));
    let mut tampered = g.note.clone().into_bytes();
    tampered[20] ^= 1;
    assert!(
        Note::parse(&tampered)
            .and_then(|n| n.verify(std::slice::from_ref(&vk)))
            .is_err()
    );
    let gentries: Vec<Vec<u8>> = g.entries.iter().map(|e| B64.decode(e).unwrap()).collect();
    let mut gmem = MemoryTree::new();
    for e in &gentries {
        gmem.push(e);
    }
    assert_eq!(gmem.root(), hash(&g.root));
    for p in &g.inclusion {
        let proof: Vec<[u8; 32]> = p.proof.iter().map(|h| hash(h)).collect();
        verify_inclusion(
            &leaf_hash(&gentries[p.index as usize]),
            p.index,
            p.size,
            &proof,
            &hash(&p.root),
        )
        .unwrap();
        assert_eq!(proof, gmem.inclusion_proof(p.index, p.size).unwrap());
    }
    for p in &g.consistency {
        let proof: Vec<[u8; 32]> = p.proof.iter().map(|h| hash(h)).collect();
        verify_consistency(p.old, p.new, &hash(&p.old_root), &hash(&p.new_root), &proof).unwrap();
        assert_eq!(proof, gmem.consistency_proof(p.old, p.new).unwrap());
    }
    assert!(g.inclusion.len() > 1000 && g.consistency.len() > 1000);
    // Go lists every partial width it would publish; each must be the
    // concatenation of the matching subtree hashes of our tree.
    assert!(g.tiles.iter().any(|t| t.path == "tile/0/000"));
    for t in &g.tiles {
        let r = TileRef::parse(&t.path).unwrap();
        let TileKind::Hash(level) = r.kind else {
            panic!("unexpected {}", t.path)
        };
        let ours: Vec<u8> = (0..r.width as u64)
            .flat_map(|i| {
                gmem.subtree(Subtree {
                    level: level * 8,
                    index: r.index * 256 + i,
                })
                .unwrap()
            })
            .collect();
        assert_eq!(B64.encode(ours), t.data, "tile {}", t.path);
    }
}

trait OutputPiped {
    fn output_piped(&mut self) -> std::process::Child;
}

impl OutputPiped for Command {
    fn output_piped(&mut self) -> std::process::Child {
        self.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}
