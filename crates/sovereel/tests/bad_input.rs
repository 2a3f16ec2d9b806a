//! Bad input: each case gets the right 4xx with an RFC 9457 body, and the
//! server's state is unchanged afterwards.

mod common;

use common::*;
use reqwest::{Method, StatusCode, header};
use serde_json::json;
use sovereel_store::Backend;

async fn post_raw(
    app: &TestApp,
    path: &str,
    body: &'static str,
) -> (StatusCode, serde_json::Value) {
    let resp = app
        .client
        .post(app.url(path))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    (status, resp.json().await.unwrap())
}

fn signup_body(handle: &str, birthdate: &str) -> serde_json::Value {
    json!({"handle": handle, "password": "long enough pw", "email": "x@y.example", "country": "NZ", "birthdate": birthdate})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_rejects_bad_input_and_creates_nothing() {
    let app = spawn(Backend::Sqlite).await;
    let (s, b) = post_raw(&app, "/v1/accounts", "{\"handle\": \"x\",").await;
    assert_problem(s, &b, 400, "malformed-json");
    let (s, b) = post_raw(&app, "/v1/accounts", "{\"handle\": \"neo_nz\"}").await;
    assert_problem(s, &b, 422, "invalid-field");
    assert!(
        b["detail"].as_str().unwrap().contains("missing field"),
        "{b}"
    );
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/accounts",
            None,
            Some(signup_body("has space", "2000-01-01")),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    assert!(b["detail"].as_str().unwrap().contains("handle"));
    // Thirteen tomorrow is still twelve today.
    let twelve = {
        let d = time_today_minus_years(13);
        let out = std::process::Command::new("date")
            .args(["-u", "-d", &format!("{d} + 1 day"), "+%Y-%m-%d"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/accounts",
            None,
            Some(signup_body("young_one", &twelve)),
        )
        .await;
    assert_problem(s, &b, 422, "age-requirement");
    let (s, b) = app.call(Method::POST, "/v1/accounts", None, Some(json!({"handle": "neo_nz", "password": "long enough pw", "email": "x@y.example", "country": "XX", "birthdate": "2000-01-01"}))).await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app.call(Method::POST, "/v1/accounts", None, Some(json!({"handle": "neo_nz", "password": "long enough pw", "email": "x@y.example", "country": "NZ", "birthdate": "2000-01-01", "admin": true}))).await;
    assert_problem(s, &b, 422, "invalid-field");
    // Nothing was created: the handles are free and unknown.
    for h in ["young_one", "neo_nz"] {
        let (s, b) = app.get(&format!("/v1/users/{h}"), None).await;
        assert_problem(s, &b, 404, "not-found");
    }
    // A 15-year-old may sign up, and starts private.
    let fifteen = time_today_minus_years(15);
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/accounts",
            None,
            Some(signup_body("young_one", &fifteen)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["user"]["private"], true);
    assert_eq!(b["region"]["id"], "nz");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/accounts",
            None,
            Some(signup_body("Young_One", "2000-01-01")),
        )
        .await;
    assert_problem(s, &b, 409, "handle-taken");
    // Wrong password and unknown handle look the same.
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"handle": "young_one", "password": "wrong password"})),
        )
        .await;
    assert_problem(s, &b, 401, "bad-credentials");
    let (s2, b2) = app
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"handle": "nobody_here", "password": "wrong password"})),
        )
        .await;
    assert_problem(s2, &b2, 401, "bad-credentials");
    assert_eq!(b["detail"], b2["detail"]);
}

/// Today's date `years` years ago: the birthdate of someone turning `years` today.
fn time_today_minus_years(years: i32) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .unwrap();
    let today = String::from_utf8(out.stdout).unwrap();
    let (y, rest) = today.trim().split_once('-').unwrap();
    let y: i32 = y.parse().unwrap();
    // 29 February has no anniversary in most years; the day before does.
    let rest = if rest == "02-29" { "02-28" } else { rest };
    format!("{}-{rest}", y - years)
}

fn leftovers(app: &TestApp) -> Vec<String> {
    let mut out = vec![];
    for d in ["incoming", "tmp"] {
        if let Ok(rd) = std::fs::read_dir(app.config.data_dir.join(d)) {
            out.extend(
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path().display().to_string()),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_reject_bad_files_and_leave_nothing() {
    let app = spawn_with(Backend::Sqlite, |c| c.limits.max_upload_bytes = 300 * 1024).await;
    let u = app.signup("uploader", "AU").await;
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.mp4");
    std::fs::write(&one, b"x").unwrap();
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is a text file, not a video\n".repeat(50)).unwrap();
    let clip = clip();
    let bytes = std::fs::read(&clip).unwrap();
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    // Over the limit, but by little: the server answers 413 after reading up
    // to the limit, and a client still writing megabytes past it would meet
    // a closed socket (broken pipe) before it reads the answer.
    let big = make_noisy_clip("big_over", 1, "320x180");
    assert!(
        std::fs::metadata(&big).unwrap().len() > 300 * 1024,
        "the big clip must exceed the limit"
    );

    let meta = json!({"caption": "x"});
    let (s, b) = app.upload(&u.token, &one, "one.mp4", meta.clone()).await;
    assert!(s.is_client_error(), "{s} {b}");
    assert!(b["type"].as_str().unwrap().starts_with("/problems/"), "{b}");
    let (s, b) = app.upload(&u.token, &text, "notes.mp4", meta.clone()).await;
    assert_problem(s, &b, 415, "unsupported-media");
    let (s, b) = app
        .upload(&u.token, &truncated, "truncated.mp4", meta.clone())
        .await;
    assert_problem(s, &b, 422, "invalid-video");
    let (s, b) = app.upload(&u.token, &big, "big.mp4", meta.clone()).await;
    assert_problem(s, &b, 413, "payload-too-large");
    let (s, b) = app
        .upload(
            &u.token,
            &clip,
            "clip.mp4",
            json!({"caption": "x", "visibility": "friends"}),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    // Without a session nothing is accepted.
    let form = reqwest::multipart::Form::new().text("meta", "{}");
    let resp = app
        .client
        .post(app.url("/v1/videos"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let (_, list) = app.get("/v1/users/uploader/videos", Some(&u.token)).await;
    assert_eq!(list["items"], json!([]), "no video was created");
    assert!(
        leftovers(&app).is_empty(),
        "partial files left: {:?}",
        leftovers(&app)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_reject_bad_ids_ranges_and_sessions() {
    let app = spawn(Backend::Sqlite).await;
    let owner = app.signup("owner_us", "US").await;
    let other = app.signup("other_au", "AU").await;
    let public = app.upload_ready(&owner.token, "public one", "public").await;
    let private = app
        .upload_ready(&owner.token, "secret one", "private")
        .await;
    let pid = public["id"].as_str().unwrap();
    let xid = private["id"].as_str().unwrap();

    let resp = app
        .client
        .get(app.url(&format!("/v1/videos/{pid}/stream")))
        .header(header::RANGE, "bytes=99999999-")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert!(
        resp.headers()[header::CONTENT_RANGE]
            .to_str()
            .unwrap()
            .starts_with("bytes */")
    );
    let b: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(b["type"], "/problems/range-not-satisfiable");

    for id in [
        "us_00000000000000000000000000",
        "nonsense",
        "zz_00000000000000000000000000",
    ] {
        let (s, b) = app
            .get(&format!("/v1/videos/{id}"), Some(&other.token))
            .await;
        assert_problem(s, &b, 404, "not-found");
    }
    // Another user's private video does not exist for them, nor its media.
    let (s, b) = app
        .get(&format!("/v1/videos/{xid}"), Some(&other.token))
        .await;
    assert_problem(s, &b, 404, "not-found");
    let (s, b) = app
        .get(&format!("/v1/videos/{xid}/stream"), Some(&other.token))
        .await;
    assert_problem(s, &b, 404, "not-found");
    let (s, b) = app
        .call(
            Method::PUT,
            &format!("/v1/videos/{xid}/like"),
            Some(&other.token),
            None,
        )
        .await;
    assert_problem(s, &b, 404, "not-found");
    let (s, _) = app
        .get(&format!("/v1/videos/{xid}"), Some(&owner.token))
        .await;
    assert_eq!(s, StatusCode::OK, "the owner still sees it");
    // Deleting someone else's video is refused and changes nothing.
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("/v1/videos/{pid}"),
            Some(&other.token),
            None,
        )
        .await;
    assert_problem(s, &b, 404, "not-found");
    assert_eq!(
        app.get(&format!("/v1/videos/{pid}"), None).await.0,
        StatusCode::OK
    );

    // A deleted (logged-out) session token no longer works.
    let (s, _) = app
        .call(
            Method::DELETE,
            "/v1/sessions/current",
            Some(&other.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app.get("/v1/me", Some(&other.token)).await;
    assert_problem(s, &b, 401, "unauthorized");
    let (s, b) = app.get("/v1/me", Some("us.forged-token")).await;
    assert_problem(s, &b, 401, "unauthorized");

    // Events: unknown type, absurd watch time, oversized batch.
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/events",
            Some(&owner.token),
            Some(json!({"events": [{"type": "teleport", "video_id": pid}]})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/events",
            Some(&owner.token),
            Some(json!({"events": [{"type": "view", "video_id": pid, "watch_ms": -5}]})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let many: Vec<_> = (0..501)
        .map(|_| json!({"type": "impression", "video_id": pid}))
        .collect();
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/events",
            Some(&owner.token),
            Some(json!({"events": many})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    // Unknown paths and methods are problems too.
    let (s, b) = app.get("/v1/nothing-here", None).await;
    assert_problem(s, &b, 404, "not-found");
    let (s, b) = app
        .call(Method::PATCH, "/v1/feed/for-you", None, None)
        .await;
    assert_problem(s, &b, 405, "method-not-allowed");
    let (s, page) = app.get("/problems/age-requirement", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("13"));
}

/// Names that impersonate: a handle that differs from a taken one only by
/// punctuation or look-alike letters is taken, so is a deleted account's,
/// and display names may not hide text direction, invisible characters or
/// towers of combining marks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_retired_and_disguised_names_are_refused() {
    let app = spawn_with(Backend::Sqlite, |c| c.limits.deletion_grace_secs = 0).await;
    let alice = app.signup("alice_us", "US").await;
    for (lookalike, status, problem) in [
        // Not a handle at all: it may not end with punctuation.
        ("alice_us.", 422, "invalid-field"),
        ("Alice.US", 409, "handle-taken"),
        ("alice.us", 409, "handle-taken"),
        ("a1ice_us", 409, "handle-taken"),
        ("alice__us", 409, "handle-taken"),
        ("allce_u5", 409, "handle-taken"),
    ] {
        let (s, b) = app
            .call(
                Method::POST,
                "/v1/accounts",
                None,
                Some(signup_body(lookalike, "2000-01-01")),
            )
            .await;
        assert_problem(s, &b, status, problem);
    }
    let stacked = format!("e{}", "\u{301}".repeat(49));
    for (name, why) in [
        ("\u{202E}gnp.exe", "bidirectional"),
        ("al\u{200B}ice", "zero-width"),
        (stacked.as_str(), "combining"),
    ] {
        let mut body = signup_body("fresh_name", "2000-01-01");
        body["display_name"] = json!(name);
        let (s, b) = app
            .call(Method::POST, "/v1/accounts", None, Some(body))
            .await;
        assert_problem(s, &b, 422, "invalid-field");
        assert!(
            b["detail"].as_str().unwrap().contains(why),
            "{name:?}: {}",
            b["detail"]
        );
        let (s, b) = app
            .call(
                Method::PATCH,
                "/v1/me",
                Some(&alice.token),
                Some(json!({"display_name": name})),
            )
            .await;
        assert_problem(s, &b, 422, "invalid-field");
    }
    // Nothing was created by the refused sign-ups.
    let (s, _) = app.get("/v1/users/fresh_name", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Deleted (no grace period here), the handle stays taken.
    let (s, _) = app
        .call(Method::DELETE, "/v1/me", Some(&alice.token), None)
        .await;
    assert!(s.is_success(), "{s}");
    let mut gone = false;
    for _ in 0..100 {
        if app.get("/v1/users/alice_us", None).await.0 == StatusCode::NOT_FOUND {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the deleted account left the catalog");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/accounts",
            None,
            Some(signup_body("alice_us", "2000-01-01")),
        )
        .await;
    assert_problem(s, &b, 409, "handle-taken");
}
