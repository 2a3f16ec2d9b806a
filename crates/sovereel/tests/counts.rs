//! Honest counts: a view counts once per user, video and day, a share once
//! per user and video, events count only for videos the server showed the
//! user (a feed page, or the video opened), and nothing counts from a user
//! the author blocked.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sovereel_store::Backend;

async fn counts(app: &TestApp, id: &str) -> Value {
    let (s, v) = app.get(&format!("/v1/videos/{id}"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["counts"].clone()
}

async fn post_views(app: &TestApp, token: &str, id: &str, n: usize) -> Value {
    let events: Vec<Value> = (0..n)
        .map(|_| json!({"type": "view", "video_id": id, "watch_ms": 1500}))
        .collect();
    let (s, v) = app
        .call(
            Method::POST,
            "/v1/events",
            Some(token),
            Some(json!({ "events": events })),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    v
}

async fn honest_counts(backend: Backend) {
    let app = spawn(backend).await;
    let author = app.signup("author_us", "US").await;
    let video = app
        .upload_ready(&author.token, "counted #honest", "public")
        .await;
    let id = video["id"].as_str().unwrap().to_string();

    // A batch of 500 views of a video the server never showed this user
    // counts for nothing.
    let viewer = app.signup("viewer_au", "AU").await;
    let accepted = post_views(&app, &viewer.token, &id, 500).await;
    assert_eq!(accepted["accepted"], 0, "{accepted}");
    assert_eq!(counts(&app, &id).await["views"], 0);

    // Opened, then 500 views in one batch and 500 more: one view today.
    let (s, _) = app
        .get(&format!("/v1/videos/{id}"), Some(&viewer.token))
        .await;
    assert_eq!(s, StatusCode::OK);
    post_views(&app, &viewer.token, &id, 500).await;
    post_views(&app, &viewer.token, &id, 500).await;
    assert_eq!(counts(&app, &id).await["views"], 1);

    // Served in a feed page counts as shown too.
    let fan = app.signup("fan_nz", "NZ").await;
    let (s, page) = app.get("/v1/feed/for-you", Some(&fan.token)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.to_string().contains(&id), "{page}");
    post_views(&app, &fan.token, &id, 3).await;
    assert_eq!(counts(&app, &id).await["views"], 2);

    // 100 shares by one user: each gets its link, one counts.
    for _ in 0..100 {
        let (s, v) = app
            .call(
                Method::POST,
                &format!("/v1/videos/{id}/shares"),
                Some(&viewer.token),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["link"], format!("/v/{id}"));
    }
    assert_eq!(counts(&app, &id).await["shares"], 1);

    // A user the author blocked: their views count for nothing.
    let pest = app.signup("pest_us", "US").await;
    let (s, _) = app
        .get(&format!("/v1/videos/{id}"), Some(&pest.token))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .call(
            Method::PUT,
            "/v1/users/pest_us/block",
            Some(&author.token),
            None,
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let accepted = post_views(&app, &pest.token, &id, 5).await;
    assert_eq!(accepted["accepted"], 0, "{accepted}");
    assert_eq!(counts(&app, &id).await["views"], 2);
}

#[tokio::test]
async fn honest_counts_on_sqlite() {
    honest_counts(Backend::Sqlite).await;
}

#[tokio::test]
async fn honest_counts_on_postgres() {
    honest_counts(Backend::Postgres).await;
}
