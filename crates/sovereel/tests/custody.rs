//! Custody, checked on the files themselves: users in all four regions plant
//! canary strings in their email, bio, and a private video's caption and
//! bytes, then interact across regions. No other region's files hold any of
//! them; `custody scan` agrees. An export is carried out by the custodian's
//! operator under the request id, which the user's access log shows with a
//! verifiable proof. Deleting an account shreds it: no canary of it is left
//! anywhere, its old data key cannot be unwrapped, and the ledger holds the
//! receipt. A protected field pushed at the egress gateway is refused and
//! counted.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sovereel_store::{Change, CommentRecord, OutboxItem, Target};

/// A playable MP4 that carries `canary` in a trailing `free` box.
fn clip_with_canary(canary: &str) -> PathBuf {
    let mut bytes = std::fs::read(clip()).unwrap();
    let payload = format!("canary:{canary}");
    bytes.extend_from_slice(&((8 + payload.len()) as u32).to_be_bytes());
    bytes.extend_from_slice(b"free");
    bytes.extend_from_slice(payload.as_bytes());
    let p = std::env::temp_dir().join(format!("sovereel-canary-{canary}.mp4"));
    std::fs::write(&p, bytes).unwrap();
    p
}

struct Planted {
    region: &'static str,
    user: User,
    canaries: Vec<String>,
    private_video: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residency_export_shredding_and_egress() {
    let app = spawn_with(sovereel_store::Backend::Sqlite, |c| {
        c.transcode = false;
        c.limits.deletion_grace_secs = 0;
    })
    .await;
    let data = app.config.data_dir.clone();
    let mut planted = vec![];
    for (region, country) in [("us", "US"), ("au", "AU"), ("nz", "NZ"), ("global", "FR")] {
        let tag = format!("cnry{region}{}", std::process::id());
        let handle = format!("canary_{region}");
        let (s, b) = app
            .call(Method::POST, "/v1/accounts", None, Some(json!({"handle": handle, "password": "a long password", "email": format!("{tag}mail@example.org"), "country": country, "birthdate": "1990-02-03"})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (_, login) = app
            .call(
                Method::POST,
                "/v1/sessions",
                None,
                Some(json!({"handle": handle, "password": "a long password"})),
            )
            .await;
        let user = User {
            handle: handle.clone(),
            token: login["token"].as_str().unwrap().into(),
            email: format!("{tag}mail@example.org"),
        };
        app.call(
            Method::PATCH,
            "/v1/me",
            Some(&user.token),
            Some(json!({"bio": format!("{tag}bio")})),
        )
        .await;
        let media_canary = format!("{tag}media");
        let (s, v) = app
            .upload(
                &user.token,
                &clip_with_canary(&media_canary),
                "c.mp4",
                json!({"caption": format!("{tag}caption private"), "visibility": "private"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let private_video = v["id"].as_str().unwrap().to_string();
        app.wait_ready(&user.token, &private_video).await;
        app.upload_ready(&user.token, &format!("public {region} #canary"), "public")
            .await;
        planted.push(Planted {
            region,
            user,
            canaries: vec![
                format!("{tag}mail"),
                format!("{tag}bio"),
                format!("{tag}caption"),
                media_canary,
            ],
            private_video,
        });
    }
    // Everyone follows, likes and comments on everyone else's public video.
    let (_, tagged) = app.get("/v1/hashtags/canary", None).await;
    for p in &planted {
        for other in &planted {
            if other.region == p.region {
                continue;
            }
            app.call(
                Method::PUT,
                &format!("/v1/users/{}/follow", other.user.handle),
                Some(&p.user.token),
                None,
            )
            .await;
        }
        for v in tagged["items"].as_array().unwrap() {
            let id = v["id"].as_str().unwrap();
            app.call(
                Method::PUT,
                &format!("/v1/videos/{id}/like"),
                Some(&p.user.token),
                None,
            )
            .await;
            let (s, _) = app
                .call(
                    Method::POST,
                    &format!("/v1/videos/{id}/comments"),
                    Some(&p.user.token),
                    Some(json!({"text": "nice"})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED);
        }
    }
    // The owner plays their private video back: it was sealed at rest.
    let p0 = &planted[0];
    let resp = app
        .client
        .get(app.url(&format!("/v1/videos/{}/stream", p0.private_video)))
        .bearer_auth(&p0.user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.bytes().await.unwrap();
    assert!(
        body.windows(p0.canaries[3].len())
            .any(|w| w == p0.canaries[3].as_bytes()),
        "decrypted playback holds the original bytes"
    );
    let ranged = app
        .client
        .get(app.url(&format!("/v1/videos/{}/stream", p0.private_video)))
        .bearer_auth(&p0.user.token)
        .header(
            "range",
            format!("bytes={}-{}", body.len() / 2, body.len() / 2 + 99),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        ranged.bytes().await.unwrap(),
        body.slice(body.len() / 2..body.len() / 2 + 100)
    );

    // Residency: no region's files hold another region's canaries.
    for p in &planted {
        for other in ["us", "au", "nz", "global"] {
            if other == p.region {
                continue;
            }
            for dir in [
                data.join("regions").join(other),
                data.join("keyring").join(other),
            ] {
                for f in files(&dir) {
                    for c in &p.canaries {
                        assert!(
                            !holds(&f, c),
                            "{}'s canary {c} is in {}",
                            p.region,
                            f.display()
                        );
                    }
                }
            }
        }
        // At home, the email and the private media are sealed: no plaintext anywhere.
        for f in files(&data) {
            for c in [&p.canaries[0], &p.canaries[3]] {
                assert!(!holds(&f, c), "{c} is in plaintext in {}", f.display());
            }
        }
    }
    let scan = std::process::Command::new(env!("CARGO_BIN_EXE_sovereel"))
        .args(["custody", "scan", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        scan.status.success(),
        "custody scan: {}",
        String::from_utf8_lossy(&scan.stdout)
    );

    // Export, carried out by the custodian's operator under the request id.
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
    assert_eq!(job["progress"], 100);
    let (s, b) = app
        .get(
            &format!("/v1/me/exports/{id}"),
            Some(&planted[0].user.token),
        )
        .await;
    assert_problem(s, &b, 404, "not-found");
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
    let mut archive = tar::Archive::new(&tar_bytes[..]);
    let mut names = vec![];
    let mut protected = String::new();
    let mut media_ok = false;
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut buf = vec![];
        e.read_to_end(&mut buf).unwrap();
        if name.ends_with("protected.json") {
            protected = String::from_utf8(buf.clone()).unwrap();
        }
        if name.contains(&au.private_video)
            && buf
                .windows(au.canaries[3].len())
                .any(|w| w == au.canaries[3].as_bytes())
        {
            media_ok = true;
        }
        names.push(name);
    }
    for want in [
        "protected.json",
        "public.json",
        "ledger.json",
        "README.json",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(want)),
            "{want} missing from {names:?}"
        );
    }
    assert!(
        protected.contains(&au.user.email),
        "the export holds the decrypted email"
    );
    assert!(media_ok, "the export holds the private video, decrypted");
    // The operator's access is in the user's access log, with a valid proof.
    let (_, log) = app.get("/v1/me/access-log", Some(&au.user.token)).await;
    let items = log["items"].as_array().unwrap();
    let access = items
        .iter()
        .find(|i| i["entry"]["kind"] == "access")
        .expect("an access entry about the user");
    assert_eq!(access["entry"]["principal"]["role"], "operator", "{access}");
    assert_eq!(access["entry"]["decision"], "allow");
    assert!(items.iter().any(|i| i["entry"]["kind"] == "data_request"));
    let vkey = sovereel_ledger::NoteVerifier::parse(log["vkey"].as_str().unwrap()).unwrap();
    for item in items {
        let proof = sovereel_ledger::InclusionProof {
            index: item["index"].as_u64().unwrap(),
            tree_size: item["tree_size"].as_u64().unwrap(),
            entry: item["leaf_b64"].as_str().unwrap().into(),
            proof: item["proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap().to_string())
                .collect(),
            checkpoint: log["checkpoint"].as_str().unwrap().into(),
        };
        proof.verify(&vkey, &[]).expect("inclusion proof verifies");
    }

    // Deletion: keep a copy of the data keys as a backup would, then delete.
    let deks_backup = tempfile::tempdir().unwrap();
    let keyring = data.join("keyring").join("au");
    copy_dir(&keyring.join("deks"), deks_backup.path());
    let (s, d) = app
        .call(Method::DELETE, "/v1/me", Some(&au.user.token), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{d}");
    let (s, b) = app.get("/v1/users/canary_au", None).await;
    assert_problem(s, &b, 404, "not-found");
    let (s, _) = app.get("/v1/me", Some(&au.user.token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "deleting ends every session");
    // Grace period 0: shredded by now (the server also retries every 2 s).
    for _ in 0..100 {
        if app
            .call(
                Method::POST,
                "/v1/sessions",
                None,
                Some(json!({"handle": "canary_au", "password": "a long password"})),
            )
            .await
            .0
            == StatusCode::UNAUTHORIZED
            && !files(&data).iter().any(|f| holds(f, &au.canaries[1]))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for f in files(&data) {
        for c in &au.canaries {
            assert!(
                !holds(&f, c),
                "deleted user's canary {c} remains in {}",
                f.display()
            );
        }
    }
    // The backed-up wrapped key no longer opens: its KEK was rotated away.
    let gateway = sovereel_custody::PolicyGateway::with_default_policies().unwrap();
    let user_id = sovereel_model::UserId::parse(&find_user_id(&tar_bytes)).unwrap();
    let restored = tempfile::tempdir().unwrap();
    copy_dir(&keyring.join("kek"), &restored.path().join("kek"));
    copy_dir(deks_backup.path(), &restored.path().join("deks"));
    let ring = sovereel_custody::Keyring::open_embedded(
        sovereel_model::RegionId::parse("au").unwrap(),
        restored.path(),
    )
    .unwrap();
    let grant = gateway
        .authorize(
            &sovereel_custody::Principal::user(user_id.clone()),
            sovereel_custody::act::ReadProtected,
            &sovereel_custody::Resource::protected(&user_id),
            &sovereel_custody::AccessContext::none(),
        )
        .unwrap();
    assert!(
        ring.user_key(&grant).is_err(),
        "a pre-deletion copy of the data key must not unwrap"
    );
    // The ledger holds the receipt.
    let entries = ledger_entries(&app, "au").await;
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "key_destroyed"
                && e["reason"].as_str().unwrap().contains("deleted")),
        "{entries:?}"
    );

    // Egress: a comment on a non-public video pushed at another region is
    // protected data; the gateway refuses it, logs and counts it.
    let us = app.app.local("us").unwrap().clone();
    let c = CommentRecord {
        id: "us_00000000000000000000000000".into(),
        video_id: planted[2].private_video.clone(),
        author_id: "us_11111111111111111111111111".into(),
        author_handle: "canary_us".into(),
        text: "EGRESS-CANARY".into(),
        parent_id: None,
        created_at: 1,
        replies_count: 0,
    };
    us.store()
        .record_comment(
            &c.id,
            &c.author_id,
            &c.video_id,
            1,
            &[OutboxItem::new(
                Target::Region("nz".into()),
                Change::InsertComment { comment: c.clone() },
            )],
        )
        .await
        .unwrap();
    app.app.relay(&us).await.unwrap();
    let nz = app.app.local("nz").unwrap();
    assert!(
        nz.store().comment(&c.id).await.unwrap().is_none(),
        "the refused change was not applied"
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sovereel_egress_refused_total 1"),
        "{metrics}"
    );
    for f in files(&data.join("regions").join("nz")) {
        assert!(!holds(&f, "EGRESS-CANARY"));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn find_user_id(tar_bytes: &[u8]) -> String {
    let mut archive = tar::Archive::new(tar_bytes);
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path()
            .unwrap()
            .display()
            .to_string()
            .ends_with("interop.json")
        {
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            let v: Value = serde_json::from_str(&s).unwrap();
            return v["users"][0]["id"].as_str().unwrap().to_string();
        }
    }
    panic!("no interop.json in the export");
}
