//! The core story over HTTP, on SQLite and on PostgreSQL: a US user and an
//! AU user sign up; the AU user uploads a clip; the US user finds it,
//! plays it with Range requests, likes it, comments and follows. Then the
//! databases are read directly to check where each datum landed.

mod common;

use common::*;
use reqwest::{Method, StatusCode, header};
use serde_json::json;
use sovereel_store::Backend;

async fn scenario(backend: Backend) {
    let app = spawn(backend).await;
    let us = app.signup("sam_us", "US").await;
    let au = app.signup("ava_au", "AU").await;
    let (_, me) = app.get("/v1/me", Some(&us.token)).await;
    assert_eq!(me["region"]["id"], "us");
    assert_eq!(me["email"], us.email);

    let video = app
        .upload_ready(
            &au.token,
            "Flat white art #coffee #cooking with @sam_us",
            "public",
        )
        .await;
    let id = video["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("au_"), "a video is homed with its author");
    assert_eq!(video["hashtags"], json!(["coffee", "cooking"]));
    assert_eq!(video["mentions"], json!(["sam_us"]));
    assert_eq!(video["author"]["region"], "au");
    assert!(video["duration_ms"].as_i64().unwrap() > 1500);

    // Search and For You, from the US.
    let (s, found) = app.get("/v1/search?q=coffee", Some(&us.token)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"] == "video" && i["video"]["id"] == id),
        "{found}"
    );
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"] == "hashtag" && i["tag"] == "coffee")
    );
    let (_, tag) = app.get("/v1/hashtags/cooking", Some(&us.token)).await;
    assert_eq!(tag["items"][0]["id"], id);
    let (_, fy) = app.get("/v1/feed/for-you", Some(&us.token)).await;
    assert!(
        fy["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["video"]["id"] == id),
        "{fy}"
    );
    assert!(fy["release"].is_string());

    // Playback with Range.
    let full = app
        .client
        .get(app.url(&format!("/v1/videos/{id}/stream")))
        .bearer_auth(&us.token)
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()[header::ACCEPT_RANGES], "bytes");
    let size: u64 = full.headers()[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let all = full.bytes().await.unwrap();
    assert_eq!(all.len() as u64, size);
    assert_eq!(&all[4..8], b"ftyp", "served as MP4");
    let part = app
        .client
        .get(app.url(&format!("/v1/videos/{id}/stream")))
        .bearer_auth(&us.token)
        .header(header::RANGE, "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()[header::CONTENT_RANGE],
        format!("bytes 100-199/{size}")
    );
    assert_eq!(part.bytes().await.unwrap(), all.slice(100..200));
    let poster = app
        .client
        .get(app.url(&format!("/v1/videos/{id}/poster")))
        .send()
        .await
        .unwrap();
    assert_eq!(poster.status(), StatusCode::OK);
    assert!(
        poster
            .bytes()
            .await
            .unwrap()
            .starts_with(&[0xFF, 0xD8, 0xFF])
    );

    // Like (twice: idempotent), comment, reply, share, follow.
    for _ in 0..2 {
        let (s, l) = app
            .call(
                Method::PUT,
                &format!("/v1/videos/{id}/like"),
                Some(&us.token),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{l}");
        assert_eq!(l["counts"]["likes"], 1);
    }
    let (s, c) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{id}/comments"),
            Some(&us.token),
            Some(json!({"text": "Looks great!"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, r) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{id}/comments"),
            Some(&au.token),
            Some(json!({"text": "Thanks!", "parent_id": c["id"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, sh) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{id}/shares"),
            Some(&us.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(sh["link"].as_str().unwrap().contains(&id));
    let (s, f) = app
        .call(
            Method::PUT,
            "/v1/users/ava_au/follow",
            Some(&us.token),
            None,
        )
        .await;
    assert_eq!((s, f["state"].as_str()), (StatusCode::OK, Some("approved")));

    // The AU side sees it all.
    let (_, v) = app.get(&format!("/v1/videos/{id}"), Some(&au.token)).await;
    assert_eq!(
        v["counts"],
        json!({"likes": 1, "comments": 2, "shares": 1, "views": 0})
    );
    assert_eq!(v["liked_by_me"], false);
    let (_, v) = app.get(&format!("/v1/videos/{id}"), Some(&us.token)).await;
    assert_eq!(v["liked_by_me"], true);
    let (_, profile) = app.get("/v1/users/ava_au", Some(&us.token)).await;
    assert_eq!(
        profile["counts"],
        json!({"followers": 1, "following": 0, "videos": 1, "likes": 1})
    );
    assert_eq!(profile["followed_by_me"], true);
    let (_, comments) = app.get(&format!("/v1/videos/{id}/comments"), None).await;
    assert_eq!(comments["items"][0]["text"], "Looks great!");
    assert_eq!(comments["items"][0]["author"]["handle"], "sam_us");
    assert_eq!(comments["items"][0]["replies_count"], 1);

    // A new upload by the AU user reaches the US user's Following feed.
    let second = app
        .upload_ready(&au.token, "Second pour #coffee", "public")
        .await;
    let (_, following) = app.get("/v1/feed/following", Some(&us.token)).await;
    let ids: Vec<_> = following["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["video"]["id"].clone())
        .collect();
    assert_eq!(ids, vec![second["id"].clone(), json!(id)]);

    // Placement, read straight from the databases.
    let url = |r: &str| {
        app.region_urls
            .iter()
            .find(|(id, _)| id == r)
            .unwrap()
            .1
            .clone()
    };
    let au_rows = dump_text(&url("au")).await;
    let us_rows = dump_text(&url("us")).await;
    let catalog_rows = dump_text(&app.catalog_url).await;
    let us_user_id = us_rows
        .iter()
        .find(|l| l.starts_with("users: ") && l.contains("sam_us"))
        .unwrap()
        .split(['|', '"', ' '])
        .find(|s| s.starts_with("us_"))
        .unwrap()
        .to_string();
    let au_user_id = au_rows
        .iter()
        .find(|l| l.starts_with("users: ") && l.contains("ava_au"))
        .unwrap()
        .split(['|', '"', ' '])
        .find(|s| s.starts_with("au_"))
        .unwrap()
        .to_string();
    for row in &au_rows {
        // The AU creator's inbox names who liked and commented: a
        // notification stored at the recipient's home carries the actor's
        // interop fields (id, handle, home region) and nothing else of them.
        if row.starts_with("notifications: ") {
            assert!(row.contains("sam_us"), "{row}");
            continue;
        }
        assert!(
            !row.contains(&us_user_id),
            "AU database holds a row about the US user: {row}"
        );
        assert!(
            !row.contains(&us.email),
            "AU database holds the US email: {row}"
        );
    }
    for row in &us_rows {
        assert!(
            !row.contains(&au.email),
            "US database holds the AU email: {row}"
        );
        assert!(
            !row.contains("Flat white art"),
            "US database holds the AU video: {row}"
        );
        assert!(
            !(row.starts_with("users: ") && row.contains(&au_user_id)),
            "US database holds the AU user: {row}"
        );
        assert!(
            !row.starts_with("videos: "),
            "US database holds a video: {row}"
        );
    }
    assert!(
        us_rows
            .iter()
            .any(|r| r.starts_with("likes: ") && r.contains(&id)),
        "the like is stored at the liker's home"
    );
    assert!(
        us_rows
            .iter()
            .any(|r| r.starts_with("follows: ") && r.contains(&au_user_id)),
        "the follow is stored at the follower's home"
    );
    for row in &catalog_rows {
        for secret in [&us.email, &au.email, "$argon2", "1999-04-01"] {
            assert!(
                !row.contains(secret),
                "the catalog holds protected data ({secret}): {row}"
            );
        }
        assert!(
            !row.starts_with("likes")
                && !row.starts_with("follows")
                && !row.starts_with("sessions"),
            "{row}"
        );
    }
    assert!(
        catalog_rows
            .iter()
            .any(|r| r.starts_with("videos: ") && r.contains("Flat white art")),
        "public video in the catalog"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_on_postgres() {
    scenario(Backend::Postgres).await;
}
