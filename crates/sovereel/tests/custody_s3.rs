//! `sovereel custody scan` on a deployment that keeps its media and a log
//! in object storage (a real Garage) and, in a second round, its region
//! databases in PostgreSQL. After a small story (a user per region, a
//! public and a followers-only video each), the scan is clean and says it
//! read every region's bucket objects and every PostgreSQL region's rows;
//! then a canary of one region planted in another region's bucket (or
//! row) is reported as exactly one finding, naming the object key (or the
//! table and column).

mod common;
#[path = "../../ledger/tests/support/garage.rs"]
mod garage;

use std::collections::BTreeMap;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use sovereel_store::Backend;

const REGIONS: [(&str, &str); 4] = [("us", "US"), ("au", "AU"), ("nz", "NZ"), ("global", "FR")];

fn bucket(round: &str, region: &str) -> String {
    format!("{round}-{region}")
}

const AU_LOG_BUCKET: &str = "sqlite-au-log";

#[test]
fn custody_scan_reads_every_bucket_object_and_postgres_row() {
    let mut buckets: Vec<String> = ["sqlite", "pg"]
        .iter()
        .flat_map(|round| REGIONS.iter().map(move |(r, _)| bucket(round, r)))
        .collect();
    buckets.push(AU_LOG_BUCKET.into());
    let names: Vec<&str> = buckets.iter().map(String::as_str).collect();
    let Some(g) = garage::Garage::start("custody scan of buckets", &names) else {
        return;
    };
    for (k, v) in g.env() {
        // SAFETY: the only test of this binary sets its environment before
        // starting any thread of its own (the runtime is built below).
        unsafe { std::env::set_var(k, v) };
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(sqlite_regions_media_and_a_log_in_buckets());
    rt.block_on(postgres_regions_media_in_buckets());
}

/// The au log's lock backend: a PostgreSQL database of its own, dropped
/// with `dbs`.
async fn lock_database(dbs: &mut sovereel_store::testing::TestDatabases) -> String {
    use sqlx::Connection;
    let url = dbs.url("aulock");
    let base = sovereel_store::testing::postgres_base();
    let mut c = sqlx::PgConnection::connect(&base).await.unwrap();
    let name = url.rsplit('/').next().unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut c)
        .await
        .unwrap();
    url
}

/// A user per region with a public and a followers-only video; answers,
/// per region, the followers-only caption (a canary: only its home may
/// hold it).
async fn story(app: &TestApp, round: &str) -> BTreeMap<&'static str, String> {
    let mut captions = BTreeMap::new();
    for (region, country) in REGIONS {
        let user = app.signup(&format!("{round}_{region}"), country).await;
        let caption = format!(
            "{region} followers-only caption {round} {}",
            std::process::id()
        );
        for (visibility, caption) in [
            ("public", format!("public {region}")),
            ("followers", caption.clone()),
        ] {
            let (s, v) = app
                .upload(
                    &user.token,
                    &clip(),
                    "c.mp4",
                    json!({"caption": caption, "visibility": visibility}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            app.wait_ready(&user.token, v["id"].as_str().unwrap()).await;
        }
        captions.insert(region, caption);
    }
    captions
}

struct ScanOutput {
    ok: bool,
    stdout: String,
}

impl ScanOutput {
    /// The `FINDING` lines.
    fn findings(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("FINDING"))
            .collect()
    }

    /// `n` of the line `"{who}: … <n> {what}, … in {place}"`.
    fn count(&self, who: &str, what: &str, place: &str) -> u64 {
        let line = self
            .stdout
            .lines()
            .find(|l| {
                l.starts_with(&format!("{who}: "))
                    && l.contains(&format!(" {what}, "))
                    && l.ends_with(&format!(" in {place}"))
            })
            .unwrap_or_else(|| {
                panic!("no `{who}: … {what} … in {place}` line in\n{}", self.stdout)
            });
        let words: Vec<&str> = line.split(' ').collect();
        let i = words
            .iter()
            .position(|w| w.trim_end_matches(',') == what)
            .unwrap();
        words[i - 1].parse().unwrap()
    }
}

/// Runs `sovereel custody scan` with the server's configuration (and the
/// `AWS_*` variables of this process).
async fn custody_scan(app: &TestApp) -> ScanOutput {
    scan_with(app, false).await
}

/// With `peak_memory`, under `/usr/bin/time`, which prints the scan's
/// peak RSS.
async fn scan_with(app: &TestApp, peak_memory: bool) -> ScanOutput {
    let config = app.config.data_dir.with_extension("toml");
    std::fs::write(&config, toml::to_string(&app.config).unwrap()).unwrap();
    let bin = env!("CARGO_BIN_EXE_sovereel");
    let mut command = if peak_memory {
        let mut c = tokio::process::Command::new("/usr/bin/time");
        c.args(["-f", "peak RSS of the scan: %M KiB", bin]);
        c
    } else {
        tokio::process::Command::new(bin)
    };
    let out = command
        .args(["custody", "scan", "--config"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("sovereel custody scan:\n{stdout}");
    if peak_memory {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "custody scan: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    ScanOutput {
        ok: out.status.success(),
        stdout,
    }
}

/// Puts `bytes` at `key` of `s3://bucket/prefix` through the same client
/// the server uses.
async fn put(url: &str, key: &str, bytes: &[u8]) {
    let store = sovereel_media::MediaStore::open(url).await.unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    store.put_file(key, file.path()).await.unwrap();
}

async fn sqlite_regions_media_and_a_log_in_buckets() {
    let mut lock_dbs = sovereel_store::testing::TestDatabases::new(Backend::Postgres);
    let lock_url = lock_database(&mut lock_dbs).await;
    let app = spawn_with(Backend::Sqlite, |c| {
        c.transcode = false;
        for r in &mut c.regions {
            r.media = Some(format!("s3://{}/media", bucket("sqlite", &r.id)));
            if r.id == "au" {
                r.ledger = Some(format!("s3://{AU_LOG_BUCKET}/log"));
                r.ledger_lock = Some(lock_url.clone());
            }
        }
    })
    .await;
    let captions = story(&app, "sqlite").await;

    let clean = custody_scan(&app).await;
    assert!(
        clean.ok,
        "a clean deployment scans clean:\n{}",
        clean.stdout
    );
    assert!(clean.findings().is_empty(), "{}", clean.stdout);
    for (region, _) in REGIONS {
        let place = format!("s3://{}", bucket("sqlite", region));
        // At least the two videos of the region's user.
        let objects = clean.count(&format!("region {region}"), "objects", &place);
        assert!(
            objects >= 2,
            "{region}: {objects} objects\n{}",
            clean.stdout
        );
    }
    let log_objects = clean.count("region au", "objects", &format!("s3://{AU_LOG_BUCKET}"));
    assert!(log_objects > 0, "{}", clean.stdout);

    // An au user's private caption planted in nz's bucket, straddling the
    // first 5 MiB part of a multipart upload (and so read across chunks).
    let canary = &captions["au"];
    let at = 5 * 1024 * 1024 - 7;
    let mut bytes = vec![b'.'; at];
    bytes.extend_from_slice(canary.as_bytes());
    bytes.extend_from_slice(&vec![b'.'; 1024 * 1024]);
    put(
        &format!("s3://{}/media", bucket("sqlite", "nz")),
        "planted/leak.bin",
        &bytes,
    )
    .await;
    let leaked = custody_scan(&app).await;
    assert!(!leaked.ok, "{}", leaked.stdout);
    assert_eq!(
        leaked.findings(),
        [format!(
            "FINDING OutsideHome: protected data of a user homed in au found in nz \
             (s3://{}/media/planted/leak.bin at byte {at})",
            bucket("sqlite", "nz")
        )],
        "{}",
        leaked.stdout
    );
    assert!(
        leaked.stdout.lines().any(|l| l == "FAILED"),
        "{}",
        leaked.stdout
    );
}

async fn postgres_regions_media_in_buckets() {
    let app = spawn_with(Backend::Postgres, |c| {
        c.transcode = false;
        for r in &mut c.regions {
            r.media = Some(format!("s3://{}/media", bucket("pg", &r.id)));
        }
    })
    .await;
    let captions = story(&app, "pg").await;

    let clean = custody_scan(&app).await;
    assert!(
        clean.ok,
        "a clean deployment scans clean:\n{}",
        clean.stdout
    );
    let url_of = |region: &str| {
        app.region_urls
            .iter()
            .find(|(r, _)| r == region)
            .unwrap()
            .1
            .clone()
    };
    for (region, _) in REGIONS {
        let db = url_of(region);
        let who = format!("region {region}");
        assert!(clean.count(&who, "tables", &db) > 5, "{}", clean.stdout);
        // Its user and the user's two videos, at least.
        assert!(clean.count(&who, "rows", &db) >= 3, "{}", clean.stdout);
        let place = format!("s3://{}", bucket("pg", region));
        assert!(
            clean.count(&who, "objects", &place) >= 2,
            "{}",
            clean.stdout
        );
    }
    assert!(
        clean.count("catalog", "tables", &app.catalog_url) > 0,
        "{}",
        clean.stdout
    );

    // An au user's private caption written into an nz row.
    {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&url_of("nz")).await.unwrap();
        sqlx::query("UPDATE users SET bio = $1 WHERE handle = 'pg_nz'")
            .bind(&captions["au"])
            .execute(&mut c)
            .await
            .unwrap();
    }
    let leaked = custody_scan(&app).await;
    assert!(!leaked.ok, "{}", leaked.stdout);
    let findings = leaked.findings();
    assert_eq!(findings.len(), 1, "{}", leaked.stdout);
    assert!(
        findings[0].starts_with(&format!(
            "FINDING OutsideHome: protected data of a user homed in au found in nz ({} table public.users column bio at byte ",
            url_of("nz")
        )),
        "{}",
        leaked.stdout
    );
}

/// How long the scan takes on a bucket of many objects (BENCHMARKS.md):
/// `cargo test -p sovereel --test custody_s3 -- --ignored --nocapture`,
/// with `SCAN_BENCH_OBJECTS` (default 1000) objects of random bytes making
/// `SCAN_BENCH_MIB` (default 256) MiB in the us bucket, beside the story's.
/// Prints the scan's own report, three runs; asserts only that it is clean.
#[test]
#[ignore = "a measurement: run it alone with --ignored"]
fn custody_scan_time_on_many_objects() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (objects, mib) = (env("SCAN_BENCH_OBJECTS", 1000), env("SCAN_BENCH_MIB", 256));
    let buckets: Vec<String> = REGIONS.iter().map(|(r, _)| bucket("bench", r)).collect();
    let names: Vec<&str> = buckets.iter().map(String::as_str).collect();
    let Some(g) = garage::Garage::start("custody scan time", &names) else {
        return;
    };
    for (k, v) in g.env() {
        // SAFETY: set before this test starts any thread of its own; it is
        // run alone (--ignored runs only the ignored tests).
        unsafe { std::env::set_var(k, v) };
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use futures::StreamExt;
        let app = spawn_with(Backend::Sqlite, |c| {
            c.transcode = false;
            for r in &mut c.regions {
                r.media = Some(format!("s3://{}/media", bucket("bench", &r.id)));
            }
        })
        .await;
        story(&app, "bench").await;
        let size = (mib << 20) / objects.max(1);
        let store_url = format!("s3://{}/media", bucket("bench", "us"));
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let bodies: Vec<Vec<u8>> = (0..objects)
            .map(|_| {
                (0..size)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed as u8
                    })
                    .collect()
            })
            .collect();
        futures::stream::iter(bodies.iter().enumerate())
            .for_each_concurrent(8, |(i, body)| {
                let url = store_url.clone();
                async move { put(&url, &format!("bench/{i:06}"), body).await }
            })
            .await;
        drop(bodies);
        for run in 1..=3 {
            let out = scan_with(&app, true).await;
            assert!(out.ok, "run {run}: {}", out.stdout);
        }
    });
}
