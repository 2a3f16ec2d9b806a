//! The log in a real S3 service (Garage, started per test), with its
//! checkpoint advanced by compare-and-swap in a PostgreSQL lock backend:
//! appends survive a restart and the log verifies; Garage's lack of
//! conditional writes is detected rather than trusted; two sequencers on one
//! log cannot both publish; misconfiguration names the endpoint.

#[path = "support/garage.rs"]
mod garage;
#[path = "support/postgres.rs"]
mod postgres;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use futures::future::BoxFuture;
use garage::Garage;
use object_store::aws::AmazonS3Builder;
use postgres::TestDatabase;
use sovereel_ledger::audit::{VerifyArgs, verify_log};
use sovereel_ledger::lock::{CheckpointLock, Committed, Lease, LockError};
use sovereel_ledger::storage::TileSource;
use sovereel_ledger::*;

fn builder(g: &Garage) -> AmazonS3Builder {
    AmazonS3Builder::new()
        .with_endpoint(&g.endpoint)
        .with_region("garage")
        .with_access_key_id(&g.key_id)
        .with_secret_access_key(&g.secret)
        .with_allow_http(true)
}

fn storage(g: &Garage, bucket: &str, prefix: &str) -> LogStorage {
    LogStorage::s3(builder(g), bucket, prefix).unwrap()
}

fn signer(origin: &str) -> NoteSigner {
    NoteSigner::new(origin, SigningKey::from_bytes(&[21; 32])).unwrap()
}

async fn config(origin: &str, db: &TestDatabase) -> LogConfig {
    let mut c = LogConfig::new(origin);
    c.lock = Some(Arc::new(
        PostgresLock::connect(&db.url, origin).await.unwrap(),
    ));
    c
}

async fn verify(storage: &LogStorage, vkey: &str) -> u64 {
    let args = VerifyArgs {
        log: storage.describe().to_string(),
        vkey: vkey.to_string(),
        witnesses: vec![],
        state: None,
        quiet: true,
    };
    let src: Arc<dyn TileSource> = Arc::new(storage.clone());
    verify_log(src, &args)
        .await
        .expect("audit verify")
        .checkpoint
        .size
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garage_ignores_conditional_writes_so_its_log_needs_a_lock_backend() {
    let Some(g) = Garage::start("ledger s3 conditional writes", &["ledger"]) else {
        return;
    };
    let s = storage(&g, "ledger", "us");
    s.check().await.unwrap();
    // Without a lock backend the log must not trust Garage to refuse a
    // second writer: it probes, finds If-None-Match ignored, and says so.
    let err = Log::open(s, signer("s3.test/us"), LogConfig::new("s3.test/us"))
        .await
        .expect_err(
            "Garage now honours conditional writes: update the docs (README, lock.rs) \
             and let S3 logs run without a lock backend",
        )
        .to_string();
    assert!(err.contains("ignores If-None-Match"), "{err}");
    assert!(
        err.contains(&g.endpoint) && err.contains("lock backend"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_in_garage_appends_restarts_and_verifies() {
    let Some(g) = Garage::start("ledger s3 log", &["ledger"]) else {
        return;
    };
    let db = TestDatabase::create("s3log").await;
    let origin = "s3.test/au";
    let s = storage(&g, "ledger", "regions/au/log");
    let log = Log::open(s.clone(), signer(origin), config(origin, &db).await)
        .await
        .unwrap();
    let receipts =
        futures::future::try_join_all((0..600).map(|i| log.append(Bytes::from(format!("e{i}")))))
            .await
            .unwrap();
    assert_eq!(receipts.iter().map(|r| r.index).max(), Some(599));
    drop(log);
    // The lease is released when the sequencer stops; reopening waits for it.
    let log = Log::open(s.clone(), signer(origin), config(origin, &db).await)
        .await
        .unwrap();
    assert_eq!(log.checkpoint().checkpoint.size, 600);
    let r = log
        .append(Bytes::from_static(b"after restart"))
        .await
        .unwrap();
    assert_eq!(r.index, 600);
    // Concurrent appends are sequenced in any order: each receipt's index
    // holds that entry.
    for i in [0, 257, 599] {
        let e = log.entry(receipts[i].index).await.unwrap();
        assert_eq!(e, Bytes::from(format!("e{i}")));
    }
    assert_eq!(
        log.entry(600).await.unwrap(),
        Bytes::from_static(b"after restart")
    );
    assert_eq!(verify(&s, &log.vkey()).await, 601);
    // Tiles and bundles are where tlog-tiles says, in the bucket.
    let names = s.list("tile").await.unwrap();
    assert!(names.iter().any(|n| n == "tile/0/000"), "{names:?}");
    assert!(
        names.iter().any(|n| n == "tile/entries/002.p/89"),
        "{names:?}"
    );
}

/// The PostgreSQL lock without its lease: what a sequencer that lost its
/// lease without noticing (a long pause, a partition) still has. Only the
/// compare-and-swap stands between it and a fork.
struct NoLease(PostgresLock);

impl CheckpointLock for NoLease {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn lease<'a>(&'a self, _: &'a str, _: Duration) -> BoxFuture<'a, Result<Lease, LockError>> {
        Box::pin(async { Ok(Lease::unenforced()) })
    }
    fn fetch(&self) -> BoxFuture<'_, Result<Option<Committed>, LockError>> {
        self.0.fetch()
    }
    fn create(&self, note: Bytes) -> BoxFuture<'_, Result<Committed, LockError>> {
        self.0.create(note)
    }
    fn replace<'a>(
        &'a self,
        old: &'a Committed,
        note: Bytes,
    ) -> BoxFuture<'a, Result<Committed, LockError>> {
        self.0.replace(old, note)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sequencers_on_one_log_in_garage_exactly_one_publishes() {
    let Some(g) = Garage::start("ledger s3 two sequencers", &["ledger"]) else {
        return;
    };
    two_sequencers(storage(&g, "ledger", "nz")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sequencers_on_one_local_log_with_a_postgres_lock_exactly_one_publishes() {
    let dir = tempfile::tempdir().unwrap();
    two_sequencers(LogStorage::local(dir.path()).unwrap()).await;
}

async fn two_sequencers(s: LogStorage) {
    let db = TestDatabase::create("twoseq").await;
    let origin = "s3.test/nz";
    let first = Log::open(s.clone(), signer(origin), config(origin, &db).await)
        .await
        .unwrap();
    first.append(Bytes::from_static(b"genesis")).await.unwrap();

    // 1. A second sequencer started the ordinary way refuses to start, and
    //    says who holds the log.
    let mut c = config(origin, &db).await;
    c.lease_wait = Duration::from_millis(300);
    let err = Log::open(s.clone(), signer(origin), c)
        .await
        .expect_err("a second sequencer must not start")
        .to_string();
    assert!(
        err.contains("another sequencer holds the lease") && err.contains("pid"),
        "{err}"
    );
    drop(first);

    // 2. Two sequencers that both believe they may write (no lease) race
    //    from the same committed state: the compare-and-swap lets exactly
    //    one publish, and the other stops, saying why.
    let open = || async {
        let mut c = LogConfig::new(origin);
        c.lock = Some(Arc::new(NoLease(
            PostgresLock::connect(&db.url, origin).await.unwrap(),
        )));
        Log::open(s.clone(), signer(origin), c).await.unwrap()
    };
    let (a, b) = (open().await, open().await);
    let appends = |log: Log, who: &'static str| async move {
        let mut ok = Vec::new();
        let mut err = None;
        for i in 0..40 {
            match log.append(Bytes::from(format!("{who}-{i}"))).await {
                Ok(r) => ok.push(r.index),
                Err(e) => {
                    err = Some(e.to_string());
                    break;
                }
            }
        }
        (ok, err)
    };
    let ((a_ok, a_err), (b_ok, b_err)) = tokio::join!(appends(a, "a"), appends(b, "b"));
    let (winner, loser_ok, loser_err) = match (&a_err, &b_err) {
        (None, Some(e)) => ("a", &b_ok, e),
        (Some(e), None) => ("b", &a_ok, e),
        _ => panic!("exactly one must lose: a {a_ok:?} {a_err:?}, b {b_ok:?} {b_err:?}"),
    };
    assert!(loser_ok.is_empty(), "the loser published {loser_ok:?}");
    assert!(
        loser_err.contains("another sequencer is writing this log"),
        "{loser_err}"
    );
    eprintln!("the loser stopped with: {loser_err}");

    // The log verifies, and holds the genesis entry and the winner's 40.
    let log = Log::open(s.clone(), signer(origin), config(origin, &db).await)
        .await
        .unwrap();
    assert_eq!(verify(&s, &log.vkey()).await, 41);
    for i in 1..41 {
        let e = log.entry(i).await.unwrap();
        assert!(e.starts_with(format!("{winner}-").as_bytes()), "{e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misconfiguration_is_a_clear_error_naming_the_endpoint() {
    let Some(g) = Garage::start("ledger s3 misconfiguration", &["ledger"]) else {
        return;
    };
    let wrong_secret = LogStorage::s3(
        builder(&g).with_secret_access_key("0".repeat(64)),
        "ledger",
        "us",
    )
    .unwrap();
    let e = wrong_secret.check().await.unwrap_err().to_string();
    assert!(
        e.contains(&g.endpoint) && e.contains("credentials were refused"),
        "{e}"
    );
    let no_bucket = storage(&g, "no-such-bucket", "us");
    let e = no_bucket.check().await.unwrap_err().to_string();
    assert!(
        e.contains(&g.endpoint) && e.contains("s3://no-such-bucket/us"),
        "{e}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}");
    let nobody = LogStorage::s3(builder(&g).with_endpoint(&down), "ledger", "us").unwrap();
    let e = nobody.check().await.unwrap_err().to_string();
    assert!(e.contains(&down) && e.contains("does not answer"), "{e}");

    let e = PostgresLock::connect(&format!("postgres://postgres@127.0.0.1:{port}/x"), "o")
        .await
        .err()
        .expect("no database there")
        .to_string();
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    let e = LogStorage::from_url("s3:///nobucket")
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing bucket name"), "{e}");
}
