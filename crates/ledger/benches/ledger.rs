//! Ledger benchmarks (a plain bench binary: concurrency and tail latency
//! are what matter here, which criterion's per-iteration model does not
//! capture). Run with `cargo bench -p sovereel-ledger --bench ledger`.
//!
//! * Durable appends per second and append→acknowledgment latency (p50,
//!   p99) for 1, 16, 256 and 4096 concurrent appenders, each waiting for its
//!   acknowledgment before appending again. Every acknowledgment means the
//!   entry is fsynced, in a signed checkpoint, and published.
//! * Time to verify a log of 1,000,000 entries from scratch, as
//!   `sovereel audit verify` does it.
//!
//! `LEDGER_BENCH_SECONDS` (default 10) sets the duration of each append
//! run, `LEDGER_BENCH_APPENDERS` (default `1,16,256,4096`) the concurrency
//! levels, and `LEDGER_BENCH_VERIFY_ENTRIES` (default 1000000) the size of
//! the verified log.
//!
//! `LEDGER_BENCH_STORAGE=s3://bucket/prefix` runs the appends against an S3
//! service instead (the `AWS_*` variables, e.g. from `scripts/garage start`),
//! with the checkpoint compare-and-swapped in the PostgreSQL lock backend
//! `LEDGER_BENCH_LOCK` (default `postgres://postgres@127.0.0.1:5432/postgres`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use sovereel_ledger::audit::{VerifyArgs, verify_log};
use sovereel_ledger::entry::{
    Access, DataClass, Decision, Entry, EntryBody, Principal, PseudonymKey,
};
use sovereel_ledger::{Log, LogConfig, LogStorage, NoteSigner, PostgresLock};

const ORIGIN: &str = "bench.sovereel.example/log/us";

fn entry(key: &PseudonymKey, n: u64) -> Bytes {
    let e = Entry::now(EntryBody::Access(Access {
        principal: Principal::CustodianStaff {
            region: "us".into(),
            role: "moderator".into(),
            staff_id: format!("staff-{}", n % 50),
        },
        action: "read_reported_video".into(),
        resource_class: DataClass::Protected,
        subject: Some(key.pseudonym(&format!("user-{n}"))),
        purpose: Some("report case".into()),
        case_id: Some(format!("case-{}", n / 3)),
        decision: Decision::Allow,
        policy_id: Some("moderator-case-read".into()),
    }));
    Bytes::from(e.to_bytes().expect("entry fits"))
}

fn signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn run_appenders(
    dir: &std::path::Path,
    appenders: usize,
    duration: Duration,
    limit: Option<u64>,
) -> (u64, Duration, Vec<Duration>) {
    let mut config = LogConfig::new(ORIGIN);
    let storage = match std::env::var("LEDGER_BENCH_STORAGE") {
        Ok(url) => {
            // One log per run: a prefix of its own, and a lock row of its own.
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let lock = std::env::var("LEDGER_BENCH_LOCK")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let run = format!("{ORIGIN}/{name}/{}", std::process::id());
            config.lock = Some(Arc::new(PostgresLock::connect(&lock, &run).await.unwrap()));
            LogStorage::from_url(&format!(
                "{}/{name}-{}",
                url.trim_end_matches('/'),
                std::process::id()
            ))
            .unwrap()
        }
        Err(_) => LogStorage::local(dir).unwrap(),
    };
    let log = Log::open(storage, signer(), config).await.unwrap();
    let key = PseudonymKey::from_bytes([1; 32]);
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for a in 0..appenders {
        let log = log.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = a as u64;
            while Instant::now() < deadline && limit.is_none_or(|l| n < l) {
                let e = entry(&key, n);
                let t = Instant::now();
                log.append(e).await.unwrap();
                lat.push(t.elapsed());
                n += appenders as u64;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    (all.len() as u64, elapsed, all)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let seconds: u64 = std::env::var("LEDGER_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let verify_n: u64 = std::env::var("LEDGER_BENCH_VERIFY_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    // On the target directory's disk, not a tmpfs, so fsync costs what it costs.
    let base = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ledger-bench");
    let _ = std::fs::remove_dir_all(&base);
    println!("| appenders | entries | appends/s | p50 ack | p99 ack |");
    println!("|---:|---:|---:|---:|---:|");
    let appender_counts: Vec<usize> = std::env::var("LEDGER_BENCH_APPENDERS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16, 256, 4096]);
    for appenders in appender_counts {
        let dir = base.join(format!("append-{appenders}"));
        let (n, elapsed, lat) = rt.block_on(run_appenders(
            &dir,
            appenders,
            Duration::from_secs(seconds),
            None,
        ));
        println!(
            "| {appenders} | {n} | {:.0} | {:.1} ms | {:.1} ms |",
            n as f64 / elapsed.as_secs_f64(),
            percentile(&lat, 0.50).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Build a log of `verify_n` entries through the sequencer, then verify it.
    let dir = base.join("verify");
    let t = Instant::now();
    let (n, _, _) = rt.block_on(run_appenders(
        &dir,
        4096,
        Duration::from_secs(24 * 3600),
        Some(verify_n),
    ));
    println!(
        "\nbuilt a log of {n} entries through the sequencer in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let args = VerifyArgs {
        log: dir.display().to_string(),
        vkey: signer().verifier().vkey(),
        witnesses: vec![],
        state: None,
        quiet: true,
    };
    let t = Instant::now();
    let report = rt
        .block_on(verify_log(
            Arc::new(LogStorage::local(&dir).unwrap()),
            &args,
        ))
        .expect("the benchmark log verifies");
    println!(
        "verified {} entries from scratch in {:.2} s",
        report.checkpoint.size,
        t.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&base);
}
