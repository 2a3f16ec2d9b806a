//! Releases: the platform signs, the custodian approves, the region
//! activates at run time; every feed page names its release; an unapproved
//! or wrongly signed release is refused with a clear error and the previous
//! one keeps running.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use sovereel_store::Backend;

fn sovereel(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sovereel"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_are_signed_approved_and_switched_at_run_time() {
    let app = spawn_with(Backend::Sqlite, |c| c.transcode = false).await;
    let data = app.config.data_dir.display().to_string();
    let u = app.signup("release_viewer", "AU").await;
    let (_, page) = app.get("/v1/feed/for-you", Some(&u.token)).await;
    assert_eq!(page["release"], "default-1");

    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let platform_key = format!("{data}/platform/release-signing.key");
    let custodian_key = format!("{data}/keyring/au/release-approval.key");
    let (ok, keys) = sovereel(&["release", "keys", "--region", "au", "--data-dir", &data]);
    assert!(ok, "{keys}");
    let platform_vkey = keys
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();

    let (ok, out) = sovereel(&["release", "init", "--id", "fresh-2", "--out", &p("m.json")]);
    assert!(ok, "{out}");
    let (ok, out) = sovereel(&[
        "release",
        "sign",
        "--manifest",
        &p("m.json"),
        "--name",
        "sovereel.localhost/releases",
        "--key",
        &platform_key,
        "--out",
        &p("signed.note"),
    ]);
    assert!(ok, "{out}");

    // Signed but not approved: refused.
    let (ok, out) = sovereel(&[
        "release",
        "activate",
        "--region",
        "au",
        "--note",
        &p("signed.note"),
        "--data-dir",
        &data,
    ]);
    assert!(!ok && out.contains("approv"), "{out}");
    // Approved by another region's custodian: refused for au.
    let nz_key = format!("{data}/keyring/nz/release-approval.key");
    let (ok, out) = sovereel(&[
        "release",
        "approve",
        "--note",
        &p("signed.note"),
        "--platform-vkey",
        &platform_vkey,
        "--name",
        "sovereel.localhost/custodian/nz",
        "--key",
        &nz_key,
        "--out",
        &p("nz.note"),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = sovereel(&[
        "release",
        "activate",
        "--region",
        "au",
        "--note",
        &p("nz.note"),
        "--data-dir",
        &data,
    ]);
    assert!(!ok, "{out}");
    // Tampered after signing: refused.
    let tampered = std::fs::read_to_string(p("signed.note"))
        .unwrap()
        .replace("fresh-2", "fresh-3");
    std::fs::write(p("tampered.note"), tampered).unwrap();
    let (ok, out) = sovereel(&[
        "release",
        "activate",
        "--region",
        "au",
        "--note",
        &p("tampered.note"),
        "--data-dir",
        &data,
    ]);
    assert!(!ok, "{out}");
    let (_, page) = app.get("/v1/feed/for-you", Some(&u.token)).await;
    assert_eq!(
        page["release"], "default-1",
        "refusals leave the running release"
    );

    // Approved by au's custodian: activated without a restart, and ledgered.
    let (ok, out) = sovereel(&[
        "release",
        "approve",
        "--note",
        &p("signed.note"),
        "--platform-vkey",
        &platform_vkey,
        "--name",
        "sovereel.localhost/custodian/au",
        "--key",
        &custodian_key,
        "--out",
        &p("approved.note"),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = sovereel(&[
        "release",
        "activate",
        "--region",
        "au",
        "--note",
        &p("approved.note"),
        "--data-dir",
        &data,
    ]);
    assert!(ok, "{out}");
    let mut switched = false;
    for _ in 0..100 {
        let (s, page) = app.get("/v1/feed/for-you", Some(&u.token)).await;
        assert_eq!(s, StatusCode::OK);
        if page["release"] == "fresh-2" {
            switched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        switched,
        "the region did not switch to the approved release"
    );
    let (_, t) = app.get("/v1/transparency", None).await;
    let au = t["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "au")
        .unwrap()
        .clone();
    assert_eq!(au["release"]["id"], "fresh-2");
    // Other regions keep theirs: approval is per region.
    let us = t["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "us")
        .unwrap()
        .clone();
    assert_eq!(us["release"]["id"], "default-1");
}
