//! Crash safety: an appending process is SIGKILLed at random moments, again
//! and again. After each kill the log must recover by itself, keep every
//! acknowledged entry byte for byte, stay consistent with every checkpoint
//! it ever handed out, and pass `audit verify` (whose state file also
//! checks consistency from one round to the next). The same story runs on
//! local files and on a real S3 service (Garage) with the checkpoint in a
//! PostgreSQL lock backend.

#[path = "support/garage.rs"]
mod garage;
#[path = "support/postgres.rs"]
mod postgres;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use ed25519_dalek::SigningKey;
use rand::Rng;
use sha2::{Digest, Sha256};
use sovereel_ledger::audit::{VerifyArgs, verify_log};
use sovereel_ledger::merkle::verify_consistency;
use sovereel_ledger::storage::TileSource;
use sovereel_ledger::{Log, LogConfig, LogStorage, NoteSigner, PostgresLock};

const ORIGIN: &str = "crash.test/log";
const ROUNDS: usize = 24;

/// Where the crashing log lives.
struct Target {
    /// What the appender is given: a directory or `s3://bucket/prefix`.
    arg: String,
    storage: LogStorage,
    /// The appender's `AWS_*` and `SOVEREEL_LEDGER_LOCK`.
    env: Vec<(&'static str, String)>,
    lock: Option<String>,
    rounds: usize,
    /// When to kill, in milliseconds after the start (an appender on S3
    /// takes longer to recover and start appending).
    window: std::ops::Range<u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    let target = Target {
        arg: log_dir.display().to_string(),
        storage: LogStorage::local(&log_dir).unwrap(),
        env: vec![],
        lock: None,
        rounds: ROUNDS,
        window: 20..400,
    };
    crash_rounds(&target, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_acknowledged_in_garage() {
    let Some(g) = garage::Garage::start("ledger crash test in Garage", &["ledger"]) else {
        return;
    };
    let db = postgres::TestDatabase::create("crash").await;
    let dir = tempfile::tempdir().unwrap();
    let builder = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&g.endpoint)
        .with_region("garage")
        .with_access_key_id(&g.key_id)
        .with_secret_access_key(&g.secret)
        .with_allow_http(true);
    let mut env = g.env();
    env.push(("SOVEREEL_LEDGER_LOCK", db.url.clone()));
    let target = Target {
        arg: "s3://ledger/crash/log".into(),
        storage: LogStorage::s3(builder, "ledger", "crash/log").unwrap(),
        env,
        lock: Some(db.url.clone()),
        rounds: 8,
        window: 300..1500,
    };
    crash_rounds(&target, dir.path()).await;
}

async fn crash_rounds(target: &Target, dir: &std::path::Path) {
    let state = dir.join("audit-state");
    let seed = [42u8; 32];
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&seed)).unwrap();
    let vkey = signer.verifier().vkey();
    let mut acked: Vec<(u64, String)> = Vec::new();
    let mut checkpoints: Vec<(u64, [u8; 32])> = Vec::new();
    let mut rng = rand::thread_rng();
    let mut total_kills_mid_run = 0;

    let rounds = target.rounds;
    for round in 0..rounds {
        let started = std::time::Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sovereel-ledger-appender"))
            .arg(&target.arg)
            .arg(ORIGIN)
            .arg(hex::encode(seed))
            .arg(round.to_string())
            .arg("24")
            .envs(target.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        tokio::time::sleep(Duration::from_millis(rng.gen_range(target.window.clone()))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let out = reader.join().unwrap();
        let mut round_acks = 0;
        for line in out.lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            if parts.first() == Some(&"ERR") {
                panic!("appender failed: {line}");
            }
            // A line cut by the kill has fewer fields; it was never "printed".
            if parts.len() != 5 || parts[0] != "ACK" {
                continue;
            }
            let root: [u8; 32] = base64::engine::general_purpose::STANDARD
                .decode(parts[4])
                .unwrap()
                .try_into()
                .unwrap();
            acked.push((parts[1].parse().unwrap(), parts[2].to_string()));
            checkpoints.push((parts[3].parse().unwrap(), root));
            round_acks += 1;
        }
        if round_acks > 0 {
            total_kills_mid_run += 1;
        }

        // Recovery happens on open.
        let storage = target.storage.clone();
        let mut config = LogConfig::new(ORIGIN);
        if let Some(url) = &target.lock {
            config.lock = Some(Arc::new(PostgresLock::connect(url, ORIGIN).await.unwrap()));
        }
        let log = Log::open(storage.clone(), signer.clone(), config)
            .await
            .unwrap();
        let cp = log.checkpoint().checkpoint.clone();
        // Every entry on local files; on S3, where each read is a request,
        // this round's and every 97th earlier one (the appender's entries
        // differ in length modulo 97).
        let fresh = acked.len() - round_acks;
        for (n, (index, hash)) in acked.iter().enumerate() {
            if target.lock.is_some() && n < fresh && n % 97 != 0 {
                continue;
            }
            assert!(
                *index < cp.size,
                "round {round}: acknowledged entry {index} lost (size {})",
                cp.size
            );
            let e = log.entry(*index).await.unwrap();
            assert_eq!(
                &hex::encode(Sha256::digest(&e)),
                hash,
                "round {round}: entry {index} changed"
            );
        }
        checkpoints.sort();
        checkpoints.dedup();
        let every = if target.lock.is_some() { 16 } else { 1 };
        let last = checkpoints.len().saturating_sub(1);
        for (n, (size, root)) in checkpoints.iter().enumerate() {
            if n % every != 0 && n != last {
                continue;
            }
            let proof = log.consistency_proof(*size, cp.size).await.unwrap();
            verify_consistency(*size, cp.size, root, &cp.root, &proof).unwrap_or_else(|e| {
                panic!(
                    "round {round}: checkpoint {size} inconsistent with {}: {e}",
                    cp.size
                )
            });
        }
        drop(log);
        let src: Arc<dyn TileSource> = Arc::new(storage);
        let args = VerifyArgs {
            log: target.arg.clone(),
            vkey: vkey.clone(),
            witnesses: vec![],
            state: Some(state.clone()),
            quiet: true,
        };
        verify_log(src, &args)
            .await
            .unwrap_or_else(|e| panic!("round {round}: audit verify failed: {e}"));
        eprintln!(
            "round {round}: {round_acks} acknowledged, size {}, {:.1} s",
            cp.size,
            started.elapsed().as_secs_f64()
        );
    }
    eprintln!(
        "{} acknowledged entries, {total_kills_mid_run} of {rounds} kills mid-append",
        acked.len()
    );
    assert!(
        acked.len() > 100,
        "the appender made too little progress to test anything"
    );
    assert!(
        total_kills_mid_run >= rounds / 2,
        "most kills should land while appending"
    );
}
