//! Media in object storage, end to end: the real server on SQLite with each
//! region's media in its own bucket of a real S3 service (Garage), through
//! `media = "s3://bucket/prefix"` and the `AWS_*` variables. Upload,
//! playback with Range, sealed followers-only media played by a follower,
//! export, deletion with shredding; and a residency scan that lists and reads
//! every object of every region's bucket looking for canary strings. One
//! region (au) also keeps its transparency log in its own bucket, with the
//! checkpoint compare-and-swapped in a PostgreSQL lock backend.

mod common;
#[path = "../../ledger/tests/support/garage.rs"]
mod garage;

use std::io::Read;
use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sovereel_ledger::LogStorage;

const REGIONS: [(&str, &str); 4] = [("us", "US"), ("au", "AU"), ("nz", "NZ"), ("global", "FR")];

fn bucket(region: &str) -> String {
    format!("sovereel-{region}")
}

const AU_LOG_BUCKET: &str = "sovereel-au-log";

/// Every object of a bucket, with its bytes (read through the ledger's
/// storage type, which lists and reads any S3 bucket).
async fn objects(bucket: &str) -> Vec<(String, Vec<u8>)> {
    let s = LogStorage::from_url(&format!("s3://{bucket}/")).unwrap();
    let mut out = vec![];
    for key in s.list("").await.unwrap() {
        let bytes = s.get(&key).await.unwrap().unwrap_or_default();
        out.push((key, bytes.to_vec()));
    }
    out
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A playable MP4 that carries `canary` in a trailing `free` box.
fn clip_with_canary(canary: &str) -> std::path::PathBuf {
    let mut bytes = std::fs::read(clip()).unwrap();
    let payload = format!("canary:{canary}");
    bytes.extend_from_slice(&((8 + payload.len()) as u32).to_be_bytes());
    bytes.extend_from_slice(b"free");
    bytes.extend_from_slice(payload.as_bytes());
    let p = std::env::temp_dir().join(format!("sovereel-s3-canary-{canary}.mp4"));
    std::fs::write(&p, bytes).unwrap();
    p
}

struct Planted {
    region: &'static str,
    user: User,
    /// Strings of this user that must stay in its region's bucket.
    canaries: Vec<String>,
    /// Strings that are sealed: in no bucket in plaintext.
    sealed: Vec<String>,
    clip: Vec<u8>,
    followers_video: String,
    private_video: String,
}

#[test]
fn media_in_garage_upload_range_sealed_export_shred_and_residency() {
    let mut buckets: Vec<String> = REGIONS.iter().map(|(r, _)| bucket(r)).collect();
    buckets.push(AU_LOG_BUCKET.into());
    let names: Vec<&str> = buckets.iter().map(String::as_str).collect();
    let Some(g) = garage::Garage::start("server media in Garage", &names) else {
        return;
    };
    for (k, v) in g.env() {
        // SAFETY: the only test of this binary sets its environment before
        // starting any thread of its own (the runtime is built below).
        unsafe { std::env::set_var(k, v) };
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(story());
}

async fn story() {
    // The au log's lock backend: a database of its own, dropped afterwards.
    let mut dbs = sovereel_store::testing::TestDatabases::new(sovereel_store::Backend::Postgres);
    let lock_url = dbs.url("aulock");
    {
        use sqlx::Connection;
        let base = sovereel_store::testing::postgres_base();
        let mut c = sqlx::PgConnection::connect(&base).await.unwrap();
        let name = lock_url.rsplit('/').next().unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut c)
            .await
            .unwrap();
    }
    let app = spawn_with(sovereel_store::Backend::Sqlite, |c| {
        c.transcode = false;
        c.limits.deletion_grace_secs = 0;
        for r in &mut c.regions {
            r.media = Some(format!("s3://{}/media", bucket(&r.id)));
            if r.id == "au" {
                r.ledger = Some(format!("s3://{AU_LOG_BUCKET}/log"));
                r.ledger_lock = Some(lock_url.clone());
            }
        }
    })
    .await;
    let mut planted = vec![];
    for (region, country) in REGIONS {
        let tag = format!("s3cnry{region}{}", std::process::id());
        let user = app.signup(&format!("s3_{region}"), country).await;
        app.call(
            Method::PATCH,
            "/v1/me",
            Some(&user.token),
            Some(json!({"bio": format!("{tag}bio")})),
        )
        .await;
        let public_canary = format!("{tag}public");
        let (s, v) = app
            .upload(
                &user.token,
                &clip_with_canary(&public_canary),
                "p.mp4",
                json!({"caption": format!("public {region}"), "visibility": "public"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let public_video = v["id"].as_str().unwrap().to_string();
        app.wait_ready(&user.token, &public_video).await;
        let mut videos = vec![];
        let mut sealed = vec![];
        for visibility in ["followers", "private"] {
            let canary = format!("{tag}{visibility}");
            let (s, v) = app
                .upload(
                    &user.token,
                    &clip_with_canary(&canary),
                    "s.mp4",
                    json!({"caption": format!("{visibility} {region}"), "visibility": visibility}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            let id = v["id"].as_str().unwrap().to_string();
            app.wait_ready(&user.token, &id).await;
            videos.push(id);
            sealed.push(canary);
        }
        // Public playback: a Range is answered from a ranged GET.
        let original = std::fs::read(clip_with_canary(&public_canary)).unwrap();
        let ranged = app
            .client
            .get(app.url(&format!("/v1/videos/{public_video}/stream")))
            .header("range", "bytes=100-1099")
            .send()
            .await
            .unwrap();
        assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            ranged.headers()["content-range"],
            format!("bytes 100-1099/{}", original.len()).as_str()
        );
        assert_eq!(ranged.bytes().await.unwrap(), original[100..1100]);
        planted.push(Planted {
            region,
            user,
            canaries: vec![format!("{tag}bio"), public_canary],
            sealed,
            clip: std::fs::read(clip_with_canary(&format!("{tag}followers"))).unwrap(),
            followers_video: videos[0].clone(),
            private_video: videos[1].clone(),
        });
    }

    // A follower in another region plays the sealed followers-only video
    // with a Range; a stranger cannot.
    let (owner, follower) = (&planted[1], &planted[0]);
    let (s, b) = app
        .call(
            Method::PUT,
            &format!("/v1/users/{}/follow", owner.user.handle),
            Some(&follower.user.token),
            None,
        )
        .await;
    assert!(s.is_success(), "{b}");
    let stream = format!("/v1/videos/{}/stream", owner.followers_video);
    let mid = owner.clip.len() / 2;
    let mut got = None;
    for _ in 0..100 {
        let r = app
            .client
            .get(app.url(&stream))
            .bearer_auth(&follower.user.token)
            .header("range", format!("bytes={}-{}", mid, mid + 70_000))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::PARTIAL_CONTENT {
            got = Some(r.bytes().await.unwrap());
            break;
        }
        // The follow reaches the owner's region through the outbox.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = got.expect("the follower may play the followers-only video");
    // The whole video, decrypted: it holds the uploaded bytes, and the
    // range is its slice (across 64 KiB chunks).
    let whole = app
        .client
        .get(app.url(&stream))
        .bearer_auth(&follower.user.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(holds(&whole, &owner.sealed[0]), "decrypted playback");
    let end = (mid + 70_001).min(whole.len());
    assert_eq!(got, whole.slice(mid..end), "decrypted across 64 KiB chunks");
    let stranger = &planted[2];
    let r = app
        .client
        .get(app.url(&stream))
        .bearer_auth(&stranger.user.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());

    // The au log is in its bucket, in the tlog-tiles layout, and served.
    let log_objects = objects(AU_LOG_BUCKET).await;
    let keys: Vec<&str> = log_objects.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.contains(&"log/checkpoint"), "{keys:?}");
    assert!(
        keys.iter().any(|k| k.starts_with("log/tile/entries/")),
        "{keys:?}"
    );
    let served = app
        .client
        .get(app.url("/log/au/checkpoint"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // (The log may have grown since the listing: compare origins.)
    let stored = &log_objects
        .iter()
        .find(|(k, _)| k == "log/checkpoint")
        .unwrap()
        .1;
    for cp in [served.as_ref(), stored.as_slice()] {
        assert!(cp.starts_with(b"sovereel.localhost/log/au\n"), "{cp:?}");
    }
    for (key, bytes) in &log_objects {
        for p in &planted {
            for c in p.canaries.iter().chain(&p.sealed) {
                assert!(!holds(bytes, c), "{c} is in the au log at {key}");
            }
        }
    }

    // Residency: list and read every object of every bucket.
    for (region, _) in REGIONS {
        let objs = objects(&bucket(region)).await;
        assert!(
            objs.len() >= 3,
            "{region}'s bucket holds its videos: {:?}",
            objs.iter().map(|o| &o.0).collect::<Vec<_>>()
        );
        for p in &planted {
            for (key, bytes) in &objs {
                for c in &p.sealed {
                    assert!(
                        !holds(bytes, c),
                        "sealed {c} in plaintext at {region}:{key}"
                    );
                }
                if p.region != region {
                    for c in &p.canaries {
                        assert!(!holds(bytes, c), "{}'s {c} is in {region}:{key}", p.region);
                    }
                }
            }
        }
        let home = planted.iter().find(|p| p.region == region).unwrap();
        assert!(
            objs.iter().any(|(_, b)| holds(b, &home.canaries[1])),
            "the public video is in its home bucket"
        );
    }

    // Export: the private video comes back decrypted, read from the bucket.
    let au = &planted[1];
    let (s, job) = app
        .call(Method::POST, "/v1/me/exports", Some(&au.user.token), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let mut job = job;
    for _ in 0..200 {
        if job["state"] == "ready" || job["state"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        job = app
            .get(&format!("/v1/me/exports/{id}"), Some(&au.user.token))
            .await
            .1;
    }
    assert_eq!(job["state"], "ready", "{job}");
    let tar_bytes = app
        .client
        .get(app.url(&format!("/v1/me/exports/{id}/download")))
        .bearer_auth(&au.user.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut media_ok = false;
    for e in tar::Archive::new(&tar_bytes[..]).entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut buf = vec![];
        e.read_to_end(&mut buf).unwrap();
        media_ok |= name.contains(&au.private_video) && holds(&buf, &au.sealed[1]);
    }
    assert!(media_ok, "the export holds the private video, decrypted");

    // Deletion with shredding: the account's objects leave its bucket.
    let before = objects(&bucket("au")).await.len();
    let (s, d) = app
        .call(Method::DELETE, "/v1/me", Some(&au.user.token), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{d}");
    let mut left = before;
    for _ in 0..100 {
        left = objects(&bucket("au")).await.len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        left, 0,
        "the deleted account's {before} objects leave the bucket"
    );
    let entries = ledger_entries(&app, "au").await;
    assert!(
        entries.iter().any(|e| e["kind"] == "key_destroyed"),
        "{entries:?}"
    );
    for (region, _) in REGIONS {
        for (key, bytes) in objects(&bucket(region)).await {
            for c in au.canaries.iter().chain(&au.sealed) {
                assert!(!holds(&bytes, c), "deleted {c} remains at {region}:{key}");
            }
        }
    }
}
