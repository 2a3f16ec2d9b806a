//! Private accounts and follow requests, followers-only videos, who may
//! comment, blocks that hide both ways, deleting a video, editing a profile,
//! and counters under concurrent requests.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sovereel_store::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_accounts_followers_only_comments_and_blocks() {
    let app = spawn(Backend::Sqlite).await;
    let kiri = app.signup("kiri_nz", "NZ").await;
    let fan = app.signup("fan_us", "US").await;
    let stranger = app.signup("stranger_fr", "FR").await;

    let (s, me) = app
        .call(
            Method::PATCH,
            "/v1/me",
            Some(&kiri.token),
            Some(json!({"private": true, "bio": "Kia ora", "display_name": "Kiri"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(
        (
            me["private"].as_bool(),
            me["bio"].as_str(),
            me["display_name"].as_str()
        ),
        (Some(true), Some("Kia ora"), Some("Kiri"))
    );
    let (s, b) = app
        .call(
            Method::PATCH,
            "/v1/me",
            Some(&kiri.token),
            Some(json!({"bio": "x".repeat(161)})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");

    let video = app
        .upload_ready(&kiri.token, "for my followers #secret", "followers")
        .await;
    let vid = video["id"].as_str().unwrap();
    // A request to a private account waits for approval.
    let (_, f) = app
        .call(
            Method::PUT,
            "/v1/users/kiri_nz/follow",
            Some(&fan.token),
            None,
        )
        .await;
    assert_eq!(f["state"], "pending");
    assert_problem_404(&app, &format!("/v1/videos/{vid}"), &fan.token).await;
    let (_, list) = app.get("/v1/users/kiri_nz/videos", Some(&fan.token)).await;
    assert_eq!(list["items"], json!([]));
    let (_, reqs) = app.get("/v1/me/follow-requests", Some(&kiri.token)).await;
    assert_eq!(reqs["items"][0]["handle"], "fan_us");
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/me/follow-requests/fan_us",
            Some(&kiri.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/me/follow-requests/stranger_fr",
            Some(&kiri.token),
            None,
        )
        .await;
    assert_problem(s, &b, 404, "not-found");
    // Approved: the followers-only video is visible to the follower only.
    let (s, v) = app
        .get(&format!("/v1/videos/{vid}"), Some(&fan.token))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, feed) = app.get("/v1/feed/following", Some(&fan.token)).await;
    assert_eq!(feed["items"][0]["video"]["id"], vid);
    assert_problem_404(&app, &format!("/v1/videos/{vid}"), &stranger.token).await;
    let (_, p) = app.get("/v1/users/kiri_nz", Some(&fan.token)).await;
    assert_eq!(
        (
            p["followed_by_me"].as_bool(),
            p["counts"]["followers"].as_i64()
        ),
        (Some(true), Some(1))
    );
    // A followers-only video is not in search or the public catalog.
    let (_, found) = app.get("/v1/search?q=secret", Some(&stranger.token)).await;
    assert!(!found.to_string().contains(vid));

    // Who may comment.
    let public = app.upload_ready(&kiri.token, "open to all", "public").await;
    let pid = public["id"].as_str().unwrap();
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{vid}/comments"),
            Some(&fan.token),
            Some(json!({"text": "ka pai"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, cs) = app
        .get(&format!("/v1/videos/{vid}/comments"), Some(&kiri.token))
        .await;
    assert_eq!(cs["items"][0]["text"], "ka pai");
    let nobody = {
        let (s, v) = app
            .upload(
                &kiri.token,
                &clip(),
                "c.mp4",
                json!({"caption": "quiet", "comments": "nobody"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        app.wait_ready(&kiri.token, v["id"].as_str().unwrap()).await
    };
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{}/comments", nobody["id"].as_str().unwrap()),
            Some(&fan.token),
            Some(json!({"text": "hi"})),
        )
        .await;
    assert_problem(s, &b, 403, "comments-closed");
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{pid}/comments"),
            Some(&fan.token),
            Some(json!({"text": "   "})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");

    // Blocks hide both ways and end the follow.
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/users/fan_us/block",
            Some(&kiri.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_problem_404(&app, "/v1/users/kiri_nz", &fan.token).await;
    assert_problem_404(&app, "/v1/users/fan_us", &kiri.token).await;
    assert_problem_404(&app, &format!("/v1/videos/{pid}"), &fan.token).await;
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/users/kiri_nz/follow",
            Some(&fan.token),
            None,
        )
        .await;
    assert_problem(s, &b, 403, "blocked");
    let (_, p) = app.get("/v1/users/kiri_nz", None).await;
    assert_eq!(p["counts"]["followers"], 0, "the block removed the follow");
    let (_, fy) = app.get("/v1/feed/for-you", Some(&fan.token)).await;
    assert!(!fy.to_string().contains(pid));
    let (s, _) = app
        .call(
            Method::DELETE,
            "/v1/users/fan_us/block",
            Some(&kiri.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/v1/videos/{pid}"), Some(&fan.token))
            .await
            .0,
        StatusCode::OK
    );

    // Deleting one's video removes it everywhere.
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/videos/{pid}"),
            Some(&kiri.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_problem_404(&app, &format!("/v1/videos/{pid}"), &kiri.token).await;
    let (_, found) = app.get("/v1/search?q=open", None).await;
    assert!(!found.to_string().contains(pid));
}

async fn assert_problem_404(app: &TestApp, path: &str, token: &str) {
    let (s, b) = app.get(path, Some(token)).await;
    assert_problem(s, &b, 404, "not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_stay_exact_under_concurrent_requests() {
    let app = spawn(Backend::Postgres).await;
    let creator = app.signup("creator_au", "AU").await;
    let video = app.upload_ready(&creator.token, "count me", "public").await;
    let id = video["id"].as_str().unwrap().to_string();
    let mut fans = vec![];
    for i in 0..16 {
        fans.push(
            app.signup(&format!("fan{i}_x"), ["US", "AU", "NZ", "BR"][i % 4])
                .await,
        );
    }
    let mut tasks = vec![];
    for f in &fans {
        for _ in 0..3 {
            let (client, url, token) = (
                app.client.clone(),
                app.url(&format!("/v1/videos/{id}/like")),
                f.token.clone(),
            );
            tasks.push(tokio::spawn(async move {
                client
                    .put(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
        let (client, url, token) = (
            app.client.clone(),
            app.url(&format!("/v1/videos/{id}/comments")),
            f.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"text": "hi"}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_success());
    }
    let (_, v) = app.get(&format!("/v1/videos/{id}"), None).await;
    assert_eq!(v["counts"]["likes"], 16);
    assert_eq!(v["counts"]["comments"], 16);
    let (_, p) = app.get("/v1/users/creator_au", None).await;
    assert_eq!(p["counts"]["likes"], 16);
}

/// The Liked tab: my likes across regions, newest first, in pages; only I
/// can ask, and a video that stops being public leaves the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_liked_videos_newest_first_in_pages_and_only_mine() {
    let app = spawn(Backend::Sqlite).await;
    let au = app.signup("liker_au", "AU").await;
    let us = app.signup("maker_us", "US").await;
    let nz = app.signup("maker_nz", "NZ").await;
    let mut ids = vec![];
    for (token, caption) in [
        (&us.token, "first #liked"),
        (&nz.token, "second #liked"),
        (&us.token, "third #liked"),
    ] {
        let v = app.upload_ready(token, caption, "public").await;
        let id = v["id"].as_str().unwrap().to_string();
        let (s, _) = app
            .call(
                Method::PUT,
                &format!("/v1/videos/{id}/like"),
                Some(&au.token),
                None,
            )
            .await;
        assert!(s.is_success());
        ids.push(id);
        // Likes one millisecond apart at least, so the order is the likes'.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (s, page) = app.get("/v1/me/likes?limit=2", Some(&au.token)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let got: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(page["items"][0]["liked_by_me"], true);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .get(
            &format!("/v1/me/likes?limit=2&cursor={cursor}"),
            Some(&au.token),
        )
        .await;
    assert_eq!(rest["items"][0]["id"], ids[0].as_str());
    assert!(rest["next_cursor"].is_null());
    // Mine only: nobody else's, and not anonymously.
    let (_, theirs) = app.get("/v1/me/likes", Some(&us.token)).await;
    assert_eq!(theirs["items"], json!([]));
    let (s, b) = app.get("/v1/me/likes", None).await;
    assert_problem(s, &b, 401, "unauthorized");
    let (s, b) = app
        .get("/v1/me/likes?cursor=not-a-cursor", Some(&au.token))
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    // A deleted video leaves the list.
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/videos/{}", ids[1]),
            Some(&nz.token),
            None,
        )
        .await;
    assert!(s.is_success());
    let (_, after) = app.get("/v1/me/likes", Some(&au.token)).await;
    let left: Vec<&str> = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(left, [ids[2].as_str(), ids[0].as_str()]);
}
