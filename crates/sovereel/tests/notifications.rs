//! The inbox, through the real server: an Australian creator is told of
//! what a US viewer does (a like, comments, a mention in a caption and in a
//! comment, a follow), with interop fields only crossing: the AU region's
//! files hold the notifications and none of the viewer's protected data
//! (their email, a private caption, a comment on a followers-only video).
//! Then grouping and read state, blocks, a custodian's notice, the inbox in
//! an export and after a deletion, bad input, and a password change.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sovereel_store::{Backend, StaffRecord};

async fn inbox(app: &TestApp, user: &User) -> Value {
    let (s, b) = app.get("/v1/me/notifications", Some(&user.token)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

/// The inbox once it holds at least `n` lines (some arrive after
/// background work: a caption's mentions when processing ends).
async fn inbox_with(app: &TestApp, user: &User, n: usize) -> Value {
    for _ in 0..200 {
        let b = inbox(app, user).await;
        if b["items"].as_array().unwrap().len() >= n {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{}'s inbox never reached {n} lines: {}",
        user.handle,
        inbox(app, user).await
    );
}

fn kinds(b: &Value) -> Vec<String> {
    b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect()
}

fn line<'a>(b: &'a Value, kind: &str) -> &'a Value {
    b["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {b}"))
}

/// Every byte a region keeps, as one text: its files (media, ledger,
/// keyring), and its database (SQLite: the database and WAL files; on
/// PostgreSQL, every row).
async fn region_bytes(app: &TestApp, region: &str) -> Vec<u8> {
    let data = &app.config.data_dir;
    let mut all = vec![];
    for dir in [
        data.join("regions").join(region),
        data.join("keyring").join(region),
    ] {
        for f in files(&dir) {
            all.extend(std::fs::read(&f).unwrap_or_default());
        }
    }
    let url = &app.region_urls.iter().find(|(r, _)| r == region).unwrap().1;
    if let Some(db) = url.strip_prefix("sqlite://") {
        // The test's SQLite databases live beside the data dir.
        for suffix in ["", "-wal"] {
            all.extend(std::fs::read(format!("{db}{suffix}")).unwrap_or_default());
        }
    } else if url.starts_with("postgres") {
        for line in dump_text(url).await {
            all.extend(line.into_bytes());
            all.push(b'\n');
        }
    }
    all
}

async fn cross_region_inbox(backend: Backend) {
    let app = spawn_with(backend, |c| {
        c.transcode = false;
        c.limits.deletion_grace_secs = 0;
    })
    .await;
    let tag = format!("cnry{}", std::process::id());
    let ava = app.signup("ava_au", "AU").await;
    let bo = app.signup("bo_au", "AU").await;
    // The US viewer's protected data carries canaries: the email (sealed
    // at rest anyway), a private video's caption, and a comment on the
    // creator's followers-only video (kept at the commenter's home).
    let (s, b) = app
        .call(Method::POST, "/v1/accounts", None, Some(json!({"handle": "sam_us", "password": "correct horse battery", "email": format!("{tag}mail@example.org"), "country": "US", "birthdate": "1994-05-06"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, login) = app
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"handle": "sam_us", "password": "correct horse battery"})),
        )
        .await;
    let sam = User {
        handle: "sam_us".into(),
        token: login["token"].as_str().unwrap().into(),
        email: format!("{tag}mail@example.org"),
    };
    let private_caption = format!("{tag}privatecaption for me only");
    app.upload_ready(&sam.token, &private_caption, "private")
        .await;
    let hidden_comment = format!("{tag}hiddencomment between followers");

    let public = app
        .upload_ready(&ava.token, "sunrise over the bay #beach", "public")
        .await;
    let public_id = public["id"].as_str().unwrap();
    let fo = app
        .upload_ready(&ava.token, "friends only clip", "followers")
        .await;
    let fo_id = fo["id"].as_str().unwrap();

    // Follow (ava is public: approved at once), like, comment with a
    // mention of another AU user, comment on the followers-only video.
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/users/ava_au/follow",
            Some(&sam.token),
            None,
        )
        .await;
    assert_eq!(
        (s, b["state"].as_str()),
        (StatusCode::OK, Some("approved")),
        "{b}"
    );
    let (s, b) = app
        .call(
            Method::PUT,
            &format!("/v1/videos/{public_id}/like"),
            Some(&sam.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{public_id}/comments"),
            Some(&sam.token),
            Some(json!({"text": "what a view, @bo_au look"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let public_comment = b["id"].as_str().unwrap().to_string();
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{fo_id}/comments"),
            Some(&sam.token),
            Some(json!({"text": hidden_comment})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // A caption that mentions the creator, once the video is public.
    app.upload_ready(&sam.token, "hello @ava_au from the states", "public")
        .await;

    let b = inbox_with(&app, &ava, 5).await;
    let mut got = kinds(&b);
    got.sort();
    assert_eq!(
        got,
        ["comment", "comment", "follow", "like", "mention"],
        "{b}"
    );
    for item in b["items"].as_array().unwrap() {
        assert_eq!(item["actor"]["handle"], "sam_us", "{item}");
        assert_eq!(item["actor"]["region"], "us", "{item}");
        assert_eq!(item["read"], false, "{item}");
    }
    assert_eq!(b["unread"], 5);
    let like = line(&b, "like");
    assert_eq!(like["video_id"], public_id);
    assert_eq!(like["summary"], "@sam_us liked your video");
    assert_eq!(
        line(&b, "follow")["summary"],
        "@sam_us started following you"
    );
    let comments: Vec<&Value> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "comment")
        .collect();
    let on_public = comments
        .iter()
        .find(|c| c["video_id"] == public_id)
        .unwrap();
    assert_eq!(on_public["comment_id"], public_comment.as_str());
    assert_eq!(
        on_public["text"], "what a view, @bo_au look",
        "a public comment reads from the catalog"
    );
    let on_fo = comments.iter().find(|c| c["video_id"] == fo_id).unwrap();
    assert!(
        on_fo.get("text").is_none(),
        "a comment on a non-public video stays at its author's home: {on_fo}"
    );
    // The caption's mention links to the US video.
    let mention = line(&b, "mention");
    assert!(
        mention["video_id"].as_str().unwrap().starts_with("us_"),
        "{mention}"
    );
    let b = inbox_with(&app, &bo, 1).await;
    assert_eq!(kinds(&b), ["mention"]);
    assert_eq!(line(&b, "mention")["comment_id"], public_comment.as_str());
    // Nothing of this is the viewer's own news.
    assert!(
        inbox(&app, &sam).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Residency: the AU region holds the notifications (the viewer's
    // handle, the kind, the ids) and none of the viewer's protected data.
    let au = region_bytes(&app, "au").await;
    assert!(
        contains(&au, "sam_us"),
        "the notifications are stored in au"
    );
    assert!(contains(&au, &public_comment), "with the comment's id");
    for canary in [
        format!("{tag}mail"),
        format!("{tag}privatecaption"),
        format!("{tag}hiddencomment"),
    ] {
        assert!(
            !contains(&au, &canary),
            "US protected data {canary} is in the AU region"
        );
    }
    let us = region_bytes(&app, "us").await;
    assert!(
        contains(&us, &format!("{tag}hiddencomment")),
        "the comment itself is kept at its author's home"
    );

    // An unlike takes the like back; a second like comes back as one.
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/videos/{public_id}/like"),
            Some(&sam.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!kinds(&inbox(&app, &ava).await).contains(&"like".to_string()));
    app.call(
        Method::PUT,
        &format!("/v1/videos/{public_id}/like"),
        Some(&sam.token),
        None,
    )
    .await;
    app.call(
        Method::PUT,
        &format!("/v1/videos/{public_id}/like"),
        Some(&sam.token),
        None,
    )
    .await;
    let b = inbox(&app, &ava).await;
    assert_eq!(line(&b, "like")["count"], 1, "{b}");
    // So does an unfollow, and following again tells once more.
    app.call(
        Method::DELETE,
        "/v1/users/ava_au/follow",
        Some(&sam.token),
        None,
    )
    .await;
    assert!(!kinds(&inbox(&app, &ava).await).contains(&"follow".to_string()));
    app.call(
        Method::PUT,
        "/v1/users/ava_au/follow",
        Some(&sam.token),
        None,
    )
    .await;
    assert_eq!(line(&inbox(&app, &ava).await, "follow")["count"], 1);

    // The creator's export holds the inbox.
    let (s, job) = app
        .call(Method::POST, "/v1/me/exports", Some(&ava.token), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let mut state = job["state"].clone();
    for _ in 0..200 {
        if state == "ready" || state == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = app
            .get(&format!("/v1/me/exports/{id}"), Some(&ava.token))
            .await
            .1["state"]
            .clone();
    }
    assert_eq!(state, "ready");
    let tar = app
        .client
        .get(app.url(&format!("/v1/me/exports/{id}/download")))
        .bearer_auth(&ava.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        contains(&tar, "\"notifications\""),
        "the export has a notifications table"
    );
    assert!(
        contains(&tar, &public_comment),
        "with the notifications in it"
    );

    // Deleting the viewer's account: what they did leaves the inbox.
    let (s, _) = app
        .call(Method::DELETE, "/v1/me", Some(&sam.token), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let b = inbox(&app, &ava).await;
    assert!(b["items"].as_array().unwrap().is_empty(), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_au_creator_is_told_of_a_us_viewer_and_au_holds_no_us_protected_data_sqlite() {
    cross_region_inbox(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_au_creator_is_told_of_a_us_viewer_and_au_holds_no_us_protected_data_postgres() {
    cross_region_inbox(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likes_group_read_state_blocks_notices_and_bad_input() {
    let app = spawn_with(Backend::Sqlite, |c| c.transcode = false).await;
    let kai = app.signup("kai_nz", "NZ").await;
    let v = app
        .upload_ready(&kai.token, "tramping the ridge", "public")
        .await;
    let vid = v["id"].as_str().unwrap();
    let countries = ["US", "AU", "NZ", "FR"];
    let mut fans = vec![];
    for i in 0..13 {
        let fan = app.signup(&format!("fan{i:02}",), countries[i % 4]).await;
        let (s, _) = app
            .call(
                Method::PUT,
                &format!("/v1/videos/{vid}/like"),
                Some(&fan.token),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        fans.push(fan);
    }
    app.call(
        Method::PUT,
        "/v1/users/kai_nz/follow",
        Some(&fans[0].token),
        None,
    )
    .await;
    app.call(
        Method::PUT,
        "/v1/users/kai_nz/follow",
        Some(&fans[1].token),
        None,
    )
    .await;

    // One line for the thirteen likes, one for the two follows.
    let b = inbox(&app, &kai).await;
    assert_eq!(kinds(&b), ["follow", "like"], "{b}");
    let likes = line(&b, "like");
    assert_eq!(likes["count"], 13);
    assert_eq!(likes["summary"], "@fan12 and 12 others liked your video");
    let latest: Vec<&str> = likes["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["handle"].as_str().unwrap())
        .collect();
    assert_eq!(
        latest,
        ["fan12", "fan11", "fan10"],
        "the latest actors, newest first"
    );
    assert_eq!(
        line(&b, "follow")["summary"],
        "@fan01 and 1 other started following you"
    );
    assert_eq!(b["unread"], 2);
    let (s, u) = app
        .get("/v1/me/notifications/unread", Some(&kai.token))
        .await;
    assert_eq!((s, u["unread"].as_i64()), (StatusCode::OK, Some(2)));

    // Pages of one, continued by the cursor.
    let (_, p1) = app
        .get("/v1/me/notifications?limit=1", Some(&kai.token))
        .await;
    assert_eq!(kinds(&p1), ["follow"]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = app
        .get(
            &format!("/v1/me/notifications?limit=1&cursor={}", urlencode(cursor)),
            Some(&kai.token),
        )
        .await;
    assert_eq!(kinds(&p2), ["like"]);

    // Read up to the likes' line: it, and nothing newer.
    let (s, r) = app
        .call(
            Method::POST,
            "/v1/me/notifications/read",
            Some(&kai.token),
            Some(json!({"up_to": likes["id"]})),
        )
        .await;
    assert_eq!((s, r["unread"].as_i64()), (StatusCode::OK, Some(1)), "{r}");
    let b = inbox(&app, &kai).await;
    assert_eq!(
        (
            line(&b, "like")["read"].as_bool(),
            line(&b, "follow")["read"].as_bool()
        ),
        (Some(true), Some(false))
    );
    // A new like makes the line unread again.
    let late = app.signup("late_fan", "US").await;
    app.call(
        Method::PUT,
        &format!("/v1/videos/{vid}/like"),
        Some(&late.token),
        None,
    )
    .await;
    let b = inbox(&app, &kai).await;
    assert_eq!(
        (
            line(&b, "like")["count"].as_i64(),
            line(&b, "like")["read"].as_bool()
        ),
        (Some(14), Some(false))
    );
    // Everything, by time.
    let (s, r) = app
        .call(
            Method::POST,
            "/v1/me/notifications/read",
            Some(&kai.token),
            Some(json!({"up_to": "2999-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!((s, r["unread"].as_i64()), (StatusCode::OK, Some(0)), "{r}");
    // With no body at all: everything.
    app.call(
        Method::PUT,
        "/v1/users/kai_nz/follow",
        Some(&fans[2].token),
        None,
    )
    .await;
    let resp = app
        .client
        .post(app.url("/v1/me/notifications/read"))
        .bearer_auth(&kai.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // Blocks: a blocked account's likes leave the inbox, and it can notify
    // no more; a mention of someone who blocked the author tells no one.
    let (s, _) = app
        .call(Method::PUT, "/v1/users/fan12/block", Some(&kai.token), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let b = inbox(&app, &kai).await;
    assert_eq!(line(&b, "like")["count"], 13, "{b}");
    assert_eq!(line(&b, "like")["actors"][0]["handle"], "late_fan");
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/users/kai_nz/follow",
            Some(&fans[12].token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let quiet = app.signup("quiet_au", "AU").await;
    app.call(
        Method::PUT,
        "/v1/users/kai_nz/block",
        Some(&quiet.token),
        None,
    )
    .await;
    app.call(
        Method::POST,
        &format!("/v1/videos/{vid}/comments"),
        Some(&kai.token),
        Some(json!({"text": "thanks @quiet_au and @fan03"})),
    )
    .await;
    assert!(
        inbox(&app, &quiet).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(kinds(&inbox(&app, &fans[3]).await), ["mention"]);
    // Nor does liking one's own video tell oneself anything new.
    let before = line(&inbox(&app, &kai).await, "like")["count"].clone();
    app.call(
        Method::PUT,
        &format!("/v1/videos/{vid}/like"),
        Some(&kai.token),
        None,
    )
    .await;
    assert_eq!(line(&inbox(&app, &kai).await, "like")["count"], before);

    // A follow request to a private account, and its approval.
    app.call(
        Method::PATCH,
        "/v1/me",
        Some(&fans[4].token),
        Some(json!({"private": true})),
    )
    .await;
    app.call(
        Method::PUT,
        &format!("/v1/users/{}/follow", fans[4].handle),
        Some(&kai.token),
        None,
    )
    .await;
    let b = inbox(&app, &fans[4]).await;
    assert_eq!(
        line(&b, "follow_request")["summary"],
        "@kai_nz asked to follow you"
    );
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/me/follow-requests/kai_nz",
            Some(&fans[4].token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!kinds(&inbox(&app, &fans[4]).await).contains(&"follow_request".to_string()));
    let b = inbox(&app, &kai).await;
    assert_eq!(
        line(&b, "follow_approved")["summary"],
        format!("@{} approved your follow request", fans[4].handle)
    );

    // A notice from NZ's custodian reaches every NZ account, and no other.
    let hash = sovereel_server::auth::hash_password("staff password long").unwrap();
    for (handle, role) in [("nia_operator", "operator"), ("sol_support", "support")] {
        app.app
            .local("nz")
            .unwrap()
            .store()
            .create_staff(&StaffRecord {
                id: format!("staff-{handle}"),
                handle: handle.into(),
                org: "custodian".into(),
                role: role.into(),
                password_hash: hash.clone(),
                created_at: 1,
            })
            .await
            .unwrap();
    }
    let operator = staff_token(&app, "nia_operator").await;
    let support = staff_token(&app, "sol_support").await;
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/notices",
            Some(&support),
            Some(json!({"text": "hello"})),
        )
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/notices",
            Some(&kai.token),
            Some(json!({"text": "hello"})),
        )
        .await;
    assert_problem(s, &b, 401, "unauthorized");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/notices",
            Some(&operator),
            Some(json!({"text": "  "})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/notices",
            Some(&operator),
            Some(json!({"text": "Maintenance on Sunday from 02:00 NZT."})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let nz_accounts = 1 + fans
        .iter()
        .enumerate()
        .filter(|(i, _)| countries[i % 4] == "NZ")
        .count();
    assert_eq!(b["recipients"], nz_accounts as u64);
    let notice = line(&inbox(&app, &kai).await, "region_notice").clone();
    assert_eq!(notice["text"], "Maintenance on Sunday from 02:00 NZT.");
    assert!(notice.get("actor").is_none());
    assert!(
        !kinds(&inbox(&app, &fans[0]).await).contains(&"region_notice".to_string()),
        "a US account is not told"
    );

    // Bad input: precise 4xx, never a 5xx.
    for (path, want) in [
        ("/v1/me/notifications?cursor=nope", "invalid-field"),
        (
            "/v1/me/notifications?cursor=12~DROP%20TABLE",
            "invalid-field",
        ),
        ("/v1/me/notifications?limit=0", "invalid-field"),
        ("/v1/me/notifications?limit=101", "invalid-field"),
    ] {
        let (s, b) = app.get(path, Some(&kai.token)).await;
        assert_problem(s, &b, 422, want);
    }
    for (body, status, want) in [
        (json!({"up_to": "yesterday"}), 422, "invalid-field"),
        (
            json!({"up_to": "nz_0000000000000000000000000a"}),
            422,
            "invalid-field",
        ),
        (json!({"up_to": 5}), 422, "invalid-field"),
        (json!({"until": "x"}), 422, "invalid-field"),
    ] {
        let (s, b) = app
            .call(
                Method::POST,
                "/v1/me/notifications/read",
                Some(&kai.token),
                Some(body),
            )
            .await;
        assert_problem(s, &b, status, want);
    }
    let resp = app
        .client
        .post(app.url("/v1/me/notifications/read"))
        .bearer_auth(&kai.token)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Another's notification id is not in one's inbox.
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/me/notifications/read",
            Some(&fans[3].token),
            Some(json!({"up_to": notice["id"]})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    for path in ["/v1/me/notifications", "/v1/me/notifications/unread"] {
        let (s, b) = app.get(path, None).await;
        assert_problem(s, &b, 401, "unauthorized");
    }
}

async fn staff_token(app: &TestApp, handle: &str) -> String {
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/sessions",
            None,
            Some(json!({"region": "nz", "handle": handle, "password": "staff password long"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["token"].as_str().unwrap().to_string()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_asks_for_the_current_one_and_ends_other_sessions() {
    let app = spawn(Backend::Sqlite).await;
    let mia = app.signup("mia_us", "US").await;
    let (_, other) = app
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"handle": "mia_us", "password": "correct horse battery"})),
        )
        .await;
    let other = other["token"].as_str().unwrap().to_string();
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/me/password",
            Some(&mia.token),
            Some(change("wrong password", "a brand new secret")),
        )
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/me/password",
            Some(&mia.token),
            Some(change("correct horse battery", "short")),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    assert!(
        b["detail"].as_str().unwrap().starts_with("new_password"),
        "{b}"
    );
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/me/password",
            Some(&mia.token),
            Some(change("correct horse battery", "correct horse battery")),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/me/password",
            Some(&mia.token),
            Some(json!({"new_password": "a brand new secret"})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/me/password",
            None,
            Some(change("correct horse battery", "a brand new secret")),
        )
        .await;
    assert_problem(s, &b, 401, "unauthorized");
    // Nothing changed so far: both sessions still work.
    assert_eq!(app.get("/v1/me", Some(&other)).await.0, StatusCode::OK);

    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/me/password",
            Some(&mia.token),
            Some(change("correct horse battery", "a brand new secret")),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(
        app.get("/v1/me", Some(&mia.token)).await.0,
        StatusCode::OK,
        "this session stays"
    );
    let (s, b) = app.get("/v1/me", Some(&other)).await;
    assert_problem(s, &b, 401, "unauthorized");
    let login = |pw: &str| json!({"handle": "mia_us", "password": pw});
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(login("correct horse battery")),
        )
        .await;
    assert_problem(s, &b, 401, "bad-credentials");
    let (s, _) = app
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(login("a brand new secret")),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}
