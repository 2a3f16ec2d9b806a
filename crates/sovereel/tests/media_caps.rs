//! Media caps: a container that lies about its duration is not published at
//! its real length. The lying file is made here: ffmpeg encodes a long clip,
//! then its `mvhd`, `tkhd` and `mdhd` boxes are patched to say 2 s, so a
//! prober that trusts the headers sees a short video.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use sovereel_store::Backend;

/// A clip of `secs` seconds of frames (small and at 5 fps: quick to make).
fn long_clip(dir: &Path, secs: u32) -> PathBuf {
    let out = dir.join(format!("long-{secs}.mp4"));
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size=96x160:rate=5:duration={secs}"))
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-use_editlist",
            "0",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg is installed (scripts/ensure-test-deps installs it)");
    assert!(status.success());
    out
}

/// Rewrites every duration the headers declare (movie, track and media) as
/// `secs` seconds of their own timescale. Answers how many it patched.
fn patch_durations(buf: &mut [u8], secs: u64) -> usize {
    fn walk(buf: &mut [u8], start: usize, end: usize, secs: u64, movie_scale: &mut u64) -> usize {
        let mut patched = 0;
        let mut at = start;
        while at + 8 <= end {
            let size = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
            let kind = [buf[at + 4], buf[at + 5], buf[at + 6], buf[at + 7]];
            if size < 8 || at + size > end {
                break;
            }
            let body = at + 8;
            match &kind {
                b"moov" | b"trak" | b"mdia" => {
                    patched += walk(buf, body, at + size, secs, movie_scale)
                }
                b"mvhd" | b"mdhd" | b"tkhd" => {
                    let v1 = buf[body] == 1;
                    // version/flags, creation and modification times, then
                    // (mvhd, mdhd) the timescale and the duration, or (tkhd)
                    // the track id, a reserved word and the duration.
                    let times = if v1 { 16 } else { 8 };
                    let scale_at = body + 4 + times;
                    let (scale, dur_at) = if &kind == b"tkhd" {
                        (*movie_scale, scale_at + 8)
                    } else {
                        let s = u32::from_be_bytes(buf[scale_at..scale_at + 4].try_into().unwrap());
                        (s as u64, scale_at + 4)
                    };
                    if &kind == b"mvhd" {
                        *movie_scale = scale;
                    }
                    let d = secs * scale;
                    if v1 {
                        buf[dur_at..dur_at + 8].copy_from_slice(&d.to_be_bytes());
                    } else {
                        buf[dur_at..dur_at + 4].copy_from_slice(&(d as u32).to_be_bytes());
                    }
                    patched += 1;
                }
                _ => {}
            }
            at += size;
        }
        patched
    }
    let len = buf.len();
    let mut movie_scale = 1000;
    walk(buf, 0, len, secs, &mut movie_scale)
}

fn ffprobe_duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=nw=1:nk=1",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

async fn wait_processed(app: &TestApp, token: &str, id: &str) -> serde_json::Value {
    for _ in 0..1200 {
        let (s, v) = app.get(&format!("/v1/videos/{id}"), Some(token)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if v["state"] != "processing" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("video {id} never left processing");
}

#[tokio::test]
async fn a_container_that_lies_about_its_duration_is_not_published_at_its_real_length() {
    // A 12 s limit keeps the clips small; the default limit works the same.
    let app = spawn_with(Backend::Sqlite, |c| c.limits.max_duration_secs = 12).await;
    let dir = tempfile::tempdir().unwrap();
    let honest = long_clip(dir.path(), 40);
    let mut bytes = std::fs::read(&honest).unwrap();
    assert_eq!(patch_durations(&mut bytes, 2), 3, "mvhd, tkhd and mdhd");
    let lying = dir.path().join("lying.mp4");
    std::fs::write(&lying, &bytes).unwrap();
    // The lie works on a prober that reads the headers.
    let declared = ffprobe_duration(&lying);
    assert!(declared < 3.0, "ffprobe believes {declared} s");

    let u = app.signup("liar_us", "US").await;
    // The honest 40 s file is refused at once, from its headers.
    let (s, body) = app
        .upload(
            &u.token,
            &honest,
            "honest.mp4",
            json!({"caption": "honest #long", "visibility": "public"}),
        )
        .await;
    assert_problem(s, &body, 422, "invalid-video");

    // The lying one passes the probe, but decoding stops at the limit and
    // the decoded length is what counts: it fails, and nothing is published.
    let (s, body) = app
        .upload(
            &u.token,
            &lying,
            "lying.mp4",
            json!({"caption": "lying #long", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let done = wait_processed(&app, &u.token, &id).await;
    assert_eq!(done["state"], "failed", "{done}");
    let reason = done["state_reason"].as_str().unwrap();
    assert!(reason.contains("limit"), "{reason}");
    let (_, found) = app.get("/v1/hashtags/long", None).await;
    assert!(!found.to_string().contains(&id), "{found}");
    let (s, _) = app.get(&format!("/v1/videos/{id}/stream"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A video that lies the other way round, or not at all, within the
    // limit: published with the duration decoded, not the one declared.
    let short = long_clip(dir.path(), 6);
    let mut bytes = std::fs::read(&short).unwrap();
    patch_durations(&mut bytes, 1);
    let understated = dir.path().join("understated.mp4");
    std::fs::write(&understated, &bytes).unwrap();
    let (s, body) = app
        .upload(
            &u.token,
            &understated,
            "understated.mp4",
            json!({"caption": "understated", "visibility": "public"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let done = wait_processed(&app, &u.token, &id).await;
    assert_eq!(done["state"], "ready", "{done}");
    let ms = done["duration_ms"].as_i64().unwrap();
    assert!((5_500..=6_600).contains(&ms), "published at {ms} ms");
}
