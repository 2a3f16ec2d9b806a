//! Creators and viewers: drafts (saved, listed, published, deleted; their
//! captions sealed at home), editing a posted video (caption, visibility,
//! who may comment; the catalog, search and feeds of every region follow;
//! the media changes form), follower and following lists across regions
//! (private accounts, blocks, keyset pages), and keyword, hashtag and topic
//! filters on For You, Following, search, hashtag pages and comments.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sovereel_store::Backend;

/// Every byte a region keeps (media, keyring, database) or the catalog's
/// database, as one buffer.
async fn stored_bytes(app: &TestApp, region: Option<&str>) -> Vec<u8> {
    let data = &app.config.data_dir;
    let mut all = vec![];
    let url = match region {
        Some(r) => {
            for dir in [data.join("regions").join(r), data.join("keyring").join(r)] {
                for f in files(&dir) {
                    all.extend(std::fs::read(&f).unwrap_or_default());
                }
            }
            app.region_urls
                .iter()
                .find(|(x, _)| x == r)
                .unwrap()
                .1
                .clone()
        }
        None => app.catalog_url.clone(),
    };
    if let Some(db) = url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal"] {
            all.extend(std::fs::read(format!("{db}{suffix}")).unwrap_or_default());
        }
    } else {
        for line in dump_text(&url).await {
            all.extend(line.into_bytes());
            all.push(b'\n');
        }
    }
    all
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
        .iter()
        .map(|i| {
            i["video"]["id"]
                .as_str()
                .or(i["id"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn handles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
        .iter()
        .map(|i| i["handle"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until `path` (anonymous) mentions `id`, or no longer does.
async fn until(app: &TestApp, path: &str, id: &str, present: bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (_, b) = app.get(path, None).await;
        if b.to_string().contains(id) == present {
            return b;
        }
        last = b;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path}: {id} present={} never held: {last}", !present);
}

async fn upload_draft(app: &TestApp, token: &str, caption: &str, visibility: &str) -> String {
    let (s, v) = app
        .upload(
            token,
            &clip(),
            "clip.mp4",
            json!({"caption": caption, "visibility": visibility, "draft": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["draft"], true, "{v}");
    assert_eq!(v["caption"], caption, "the owner reads their caption: {v}");
    let id = v["id"].as_str().unwrap().to_string();
    app.wait_ready(token, &id).await;
    id
}

async fn drafts_are_their_owners_until_published(backend: Backend) {
    let app = spawn_with(backend, |c| c.transcode = false).await;
    let canary = format!("draftcnry{}", std::process::id());
    let ava = app.signup("ava_au", "AU").await;
    let viewer = app.signup("vic_us", "US").await;
    let caption = format!("{canary} dinner #pasta with @vic_us");
    let id = upload_draft(&app, &ava.token, &caption, "public").await;

    // Only its owner sees it: not another region's viewer, not anonymous,
    // not in the profile, search, hashtag pages or feeds.
    for token in [Some(viewer.token.as_str()), None] {
        let (s, b) = app.get(&format!("/v1/videos/{id}"), token).await;
        assert_problem(s, &b, 404, "not-found");
        let (s, _) = app.get(&format!("/v1/videos/{id}/stream"), token).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (_, b) = app.get("/v1/users/ava_au/videos", None).await;
    assert!(!b.to_string().contains(&id), "{b}");
    let (_, b) = app.get("/v1/users/ava_au/videos", Some(&ava.token)).await;
    assert!(
        !b.to_string().contains(&id),
        "drafts are not on the profile: {b}"
    );
    let (_, b) = app.get(&format!("/v1/search?q={canary}"), None).await;
    assert!(!b.to_string().contains(&id), "{b}");
    let (_, b) = app.get("/v1/hashtags/pasta", None).await;
    assert!(!b.to_string().contains(&id), "{b}");
    let (_, b) = app
        .get("/v1/feed/for-you?limit=50", Some(&viewer.token))
        .await;
    assert!(!b.to_string().contains(&id), "{b}");
    let (s, b) = app.get("/v1/me/drafts", Some(&ava.token)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(ids(&b), vec![id.clone()]);
    assert_eq!(b["items"][0]["caption"], caption.as_str());
    assert_eq!(b["items"][0]["hashtags"], json!(["pasta"]));
    let (_, b) = app.get("/v1/me/drafts", Some(&viewer.token)).await;
    assert_eq!(ids(&b), Vec::<String>::new());
    let (s, b) = app.get("/v1/me/drafts", None).await;
    assert_problem(s, &b, 401, "unauthorized");
    let (_, inbox) = app.get("/v1/me/notifications", Some(&viewer.token)).await;
    assert!(
        !inbox.to_string().contains(&id),
        "a draft tells no one: {inbox}"
    );

    // Its caption is sealed at home, and is nowhere else.
    assert!(!contains(&stored_bytes(&app, Some("au")).await, &canary));
    assert!(!contains(&stored_bytes(&app, None).await, &canary));
    assert!(!contains(&stored_bytes(&app, Some("us")).await, &canary));

    // Only its owner publishes it, once.
    let publish = format!("/v1/videos/{id}/publish");
    let (s, b) = app
        .call(Method::POST, &publish, Some(&viewer.token), None)
        .await;
    assert_problem(s, &b, 404, "not-found");
    let (s, b) = app
        .call(Method::POST, &publish, Some(&ava.token), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["draft"].as_bool(), b["caption"].as_str()),
        (Some(false), Some(caption.as_str()))
    );
    assert_eq!(b["mentions"], json!(["vic_us"]));
    let (s, b) = app
        .call(Method::POST, &publish, Some(&ava.token), None)
        .await;
    assert_problem(s, &b, 409, "conflict");
    let (_, b) = app.get("/v1/me/drafts", Some(&ava.token)).await;
    assert_eq!(ids(&b), Vec::<String>::new());

    // Published: everywhere a public video is, and the mention is told.
    until(&app, &format!("/v1/search?q={canary}"), &id, true).await;
    until(&app, "/v1/hashtags/pasta", &id, true).await;
    until(&app, "/v1/users/ava_au/videos", &id, true).await;
    let (s, b) = app
        .get(&format!("/v1/videos/{id}"), Some(&viewer.token))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, inbox) = app.get("/v1/me/notifications", Some(&viewer.token)).await;
    let mentions = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "mention" && n["video_id"] == id.as_str())
        .count();
    assert_eq!(mentions, 1, "{inbox}");

    // A draft deleted is gone; a followers-only draft published stays off the catalog.
    let gone = upload_draft(&app, &ava.token, "never mind", "public").await;
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/videos/{gone}"),
            Some(&ava.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, b) = app.get("/v1/me/drafts", Some(&ava.token)).await;
    assert_eq!(ids(&b), Vec::<String>::new());
    let quiet = upload_draft(&app, &ava.token, "fans only #quietdraft", "followers").await;
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{quiet}/publish"),
            Some(&ava.token),
            None,
        )
        .await;
    assert_eq!(
        (s, b["visibility"].as_str()),
        (StatusCode::OK, Some("followers")),
        "{b}"
    );
    let (_, b) = app.get("/v1/hashtags/quietdraft", None).await;
    assert!(!b.to_string().contains(&quiet), "{b}");

    // Bad input.
    let (s, b) = app
        .upload(&ava.token, &clip(), "clip.mp4", json!({"draft": "yes"}))
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app.get("/v1/me/drafts?limit=0", Some(&ava.token)).await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app.get("/v1/me/drafts?cursor=nope", Some(&ava.token)).await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/videos/au_nosuchvideo/publish",
            Some(&ava.token),
            None,
        )
        .await;
    assert_problem(s, &b, 404, "not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_are_their_owners_until_published_sqlite() {
    drafts_are_their_owners_until_published(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_are_their_owners_until_published_postgres() {
    drafts_are_their_owners_until_published(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_video_moves_it_in_every_region() {
    let app = spawn_with(Backend::Sqlite, |c| c.transcode = false).await;
    let ava = app.signup("ava_au", "AU").await;
    let vic = app.signup("vic_us", "US").await;
    let nia = app.signup("nia_nz", "NZ").await;
    let v = app
        .upload_ready(&ava.token, "firsttake #alpha", "public")
        .await;
    let id = v["id"].as_str().unwrap().to_string();
    let path = format!("/v1/videos/{id}");
    let (s, original) = {
        let r = app
            .client
            .get(app.url(&format!("{path}/stream")))
            .send()
            .await
            .unwrap();
        (r.status(), r.bytes().await.unwrap())
    };
    assert_eq!(s, StatusCode::OK);

    // Bad input changes nothing.
    let patch = |body: Value, token: &str| {
        let token = token.to_string();
        let path = path.clone();
        let app = &app;
        async move {
            app.call(Method::PATCH, &path, Some(&token), Some(body))
                .await
        }
    };
    for (body, status, kind) in [
        (json!({}), 422, "invalid-field"),
        (json!({"visibility": "friends"}), 422, "invalid-field"),
        (json!({"comments": "some"}), 422, "invalid-field"),
        (json!({"caption": "x".repeat(2201)}), 422, "invalid-field"),
        (
            json!({"caption": "ok", "colour": "red"}),
            422,
            "invalid-field",
        ),
    ] {
        let (s, b) = patch(body.clone(), &ava.token).await;
        assert_problem(s, &b, status, kind);
    }
    let (s, b) = patch(json!({"caption": "mine now"}), &vic.token).await;
    assert_problem(s, &b, 404, "not-found");
    let (_, b) = app.get(&path, None).await;
    assert_eq!(b["caption"], "firsttake #alpha");

    // Caption: hashtags and mentions derived again, the catalog follows,
    // the newly mentioned are told once.
    let (s, b) = patch(
        json!({"caption": "secondtake #beta with @vic_us"}),
        &ava.token,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["hashtags"].clone(), b["mentions"].clone()),
        (json!(["beta"]), json!(["vic_us"]))
    );
    until(&app, "/v1/search?q=secondtake", &id, true).await;
    until(&app, "/v1/search?q=firsttake", &id, false).await;
    until(&app, "/v1/hashtags/alpha", &id, false).await;
    until(&app, "/v1/hashtags/beta", &id, true).await;
    let (s, b) = patch(
        json!({"caption": "thirdtake #beta with @vic_us and @nia_nz"}),
        &ava.token,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let told = |inbox: &Value| {
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "mention" && n["video_id"] == id.as_str())
            .count()
    };
    let (_, inbox) = app.get("/v1/me/notifications", Some(&vic.token)).await;
    assert_eq!(told(&inbox), 1, "told once, not at every edit: {inbox}");
    let (_, inbox) = app.get("/v1/me/notifications", Some(&nia.token)).await;
    assert_eq!(told(&inbox), 1, "{inbox}");

    // Who may comment.
    let (s, b) = patch(json!({"comments": "nobody"}), &ava.token).await;
    assert_eq!(
        (s, b["comments"].as_str()),
        (StatusCode::OK, Some("nobody")),
        "{b}"
    );
    let (s, b) = app
        .call(
            Method::POST,
            &format!("{path}/comments"),
            Some(&vic.token),
            Some(json!({"text": "hi"})),
        )
        .await;
    assert_problem(s, &b, 403, "comments-closed");

    // Public to private: gone from the catalog, search and feeds of every
    // region; the owner still plays it, now sealed at rest.
    let (s, b) = patch(json!({"visibility": "private"}), &ava.token).await;
    assert_eq!(
        (s, b["visibility"].as_str()),
        (StatusCode::OK, Some("private")),
        "{b}"
    );
    until(&app, "/v1/search?q=thirdtake", &id, false).await;
    until(&app, "/v1/hashtags/beta", &id, false).await;
    until(&app, "/v1/users/ava_au/videos", &id, false).await;
    for viewer in [&vic, &nia] {
        let (s, b) = app.get(&path, Some(&viewer.token)).await;
        assert_problem(s, &b, 404, "not-found");
        let (_, feed) = app
            .get("/v1/feed/for-you?limit=50", Some(&viewer.token))
            .await;
        assert!(!feed.to_string().contains(&id), "{feed}");
    }
    let (s, _) = app.get(&format!("{path}/stream"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let owner_copy = app
        .client
        .get(app.url(&format!("{path}/stream")))
        .bearer_auth(&ava.token)
        .send()
        .await
        .unwrap();
    assert_eq!(owner_copy.status(), StatusCode::OK);
    assert_eq!(
        owner_copy.bytes().await.unwrap(),
        original,
        "the owner plays the same video"
    );
    let media_dir = app.config.data_dir.join("regions").join("au");
    let moov = &original[original.len() / 2..original.len() / 2 + 64];
    let plain_left = files(&media_dir).iter().any(|f| {
        std::fs::read(f)
            .unwrap_or_default()
            .windows(64)
            .any(|w| w == moov)
    });
    assert!(!plain_left, "a private video's media is sealed at rest");

    // Private to public: back in the catalog, the same bytes for everyone.
    let (s, b) = patch(json!({"visibility": "public"}), &ava.token).await;
    assert_eq!(
        (s, b["visibility"].as_str()),
        (StatusCode::OK, Some("public")),
        "{b}"
    );
    until(&app, "/v1/search?q=thirdtake", &id, true).await;
    until(&app, "/v1/hashtags/beta", &id, true).await;
    let (s, b) = app.get(&path, Some(&vic.token)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let again = app
        .client
        .get(app.url(&format!("{path}/stream")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.bytes().await.unwrap(), original);
    let (_, inbox) = app.get("/v1/me/notifications", Some(&vic.token)).await;
    assert!(told(&inbox) >= 1, "{inbox}");

    // Followers-only: the follower sees it, others do not.
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/users/ava_au/follow",
            Some(&nia.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = patch(json!({"visibility": "followers"}), &ava.token).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get(&path, Some(&nia.token)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get(&path, Some(&vic.token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let follower_copy = app
        .client
        .get(app.url(&format!("{path}/stream")))
        .bearer_auth(&nia.token)
        .send()
        .await
        .unwrap();
    assert_eq!(follower_copy.bytes().await.unwrap(), original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_lists_span_regions_and_respect_privacy_and_blocks() {
    let app = spawn_with(Backend::Sqlite, |c| c.transcode = false).await;
    let ana = app.signup("ana_au", "AU").await;
    let fans = [
        app.signup("fan_us", "US").await,
        app.signup("fan_nz", "NZ").await,
        app.signup("fan_fr", "FR").await,
        app.signup("fan_au", "AU").await,
    ];
    for f in &fans {
        let (s, b) = app
            .call(Method::PUT, "/v1/users/ana_au/follow", Some(&f.token), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Newest first, across four regions, in keyset pages.
    let (s, b) = app.get("/v1/users/ana_au/followers", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(handles(&b), ["fan_au", "fan_fr", "fan_nz", "fan_us"]);
    let (_, p1) = app.get("/v1/users/ana_au/followers?limit=3", None).await;
    assert_eq!(handles(&p1), ["fan_au", "fan_fr", "fan_nz"]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = app
        .get(
            &format!("/v1/users/ana_au/followers?limit=3&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(handles(&p2), ["fan_us"]);
    assert!(p2["next_cursor"].is_null(), "{p2}");
    let (_, prof) = app.get("/v1/users/ana_au", None).await;
    assert_eq!(prof["counts"]["followers"], 4, "{prof}");
    let (_, b) = app.get("/v1/users/fan_nz/following", None).await;
    assert_eq!(handles(&b), ["ana_au"]);

    // A private account's lists: for it and its approved followers only.
    let kiri = app.signup("kiri_nz", "NZ").await;
    let (s, _) = app
        .call(
            Method::PATCH,
            "/v1/me",
            Some(&kiri.token),
            Some(json!({"private": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let fan_us = &fans[0];
    let (_, f) = app
        .call(
            Method::PUT,
            "/v1/users/kiri_nz/follow",
            Some(&fan_us.token),
            None,
        )
        .await;
    assert_eq!(f["state"], "pending", "{f}");
    let (_, b) = app
        .get("/v1/users/kiri_nz/followers", Some(&kiri.token))
        .await;
    assert_eq!(
        handles(&b),
        Vec::<String>::new(),
        "a request is not a follower"
    );
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/me/follow-requests/fan_us",
            Some(&kiri.token),
            None,
        )
        .await;
    assert!(s.is_success(), "{s}");
    for (token, want) in [(None, 403), (Some(fans[1].token.as_str()), 403)] {
        let (s, b) = app.get("/v1/users/kiri_nz/followers", token).await;
        assert_problem(s, &b, want, "forbidden");
        let (s, b) = app.get("/v1/users/kiri_nz/following", token).await;
        assert_problem(s, &b, want, "forbidden");
    }
    for token in [&kiri.token, &fan_us.token] {
        let (s, b) = app.get("/v1/users/kiri_nz/followers", Some(token)).await;
        assert_eq!(
            (s, handles(&b)),
            (StatusCode::OK, vec!["fan_us".to_string()]),
            "{b}"
        );
    }
    // Whom fan_us follows: the private account only for fan_us.
    let (_, b) = app.get("/v1/users/fan_us/following", None).await;
    assert_eq!(handles(&b), ["ana_au"]);
    let (_, b) = app
        .get("/v1/users/fan_us/following", Some(&fan_us.token))
        .await;
    assert_eq!(handles(&b), ["kiri_nz", "ana_au"]);

    // Blocks: the blocked see neither list, and no one blocked shows.
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/users/fan_fr/block",
            Some(&ana.token),
            None,
        )
        .await;
    assert!(s.is_success());
    for list in ["followers", "following"] {
        let (s, b) = app
            .get(&format!("/v1/users/ana_au/{list}"), Some(&fans[2].token))
            .await;
        assert_problem(s, &b, 404, "not-found");
    }
    let (_, b) = app
        .get("/v1/users/ana_au/followers", Some(&ana.token))
        .await;
    assert!(!handles(&b).contains(&"fan_fr".to_string()), "{b}");
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/users/fan_nz/block",
            Some(&fans[3].token),
            None,
        )
        .await;
    assert!(s.is_success(), "{b}");
    let (_, b) = app
        .get("/v1/users/ana_au/followers", Some(&fans[3].token))
        .await;
    assert_eq!(handles(&b), ["fan_au", "fan_us"], "{b}");

    // Bad input.
    let (s, b) = app.get("/v1/users/ana_au/followers?limit=101", None).await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app.get("/v1/users/ana_au/following?cursor=x", None).await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app.get("/v1/users/nobody_here/followers", None).await;
    assert_problem(s, &b, 404, "not-found");
}

async fn set_filters(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, "/v1/me/filters", Some(token), Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_apply_to_every_surface() {
    let app = spawn_with(Backend::Sqlite, |c| c.transcode = false).await;
    let ava = app.signup("ava_au", "AU").await;
    let vic = app.signup("vic_us", "US").await;
    let other = app.signup("oli_nz", "NZ").await;
    let dog = app
        .upload_ready(&ava.token, "clips my dog runs #pets", "public")
        .await;
    let cat = app
        .upload_ready(&ava.token, "clips lazy cat #kittens", "public")
        .await;
    let money = app
        .upload_ready(&ava.token, "clips markets today #finance", "public")
        .await;
    let [dog, cat, money] = [&dog, &cat, &money].map(|v| v["id"].as_str().unwrap().to_string());
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/users/ava_au/follow",
            Some(&vic.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    for text in ["what a good dog", "lovely", "#kittens forever"] {
        let (s, b) = app
            .call(
                Method::POST,
                &format!("/v1/videos/{money}/comments"),
                Some(&other.token),
                Some(json!({"text": text})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let surfaces = |token: Option<String>| {
        let app = &app;
        let money = money.clone();
        async move {
            let t = token.as_deref();
            let mut seen = vec![];
            for path in [
                "/v1/search?q=clips".to_string(),
                "/v1/feed/following?limit=50".to_string(),
                "/v1/feed/for-you?limit=50".to_string(),
                "/v1/hashtags/kittens".to_string(),
                format!("/v1/videos/{money}/comments"),
            ] {
                if t.is_none() && path.contains("/feed/following") {
                    continue;
                }
                let (s, b) = app.get(&path, t).await;
                assert_eq!(s, StatusCode::OK, "{path}: {b}");
                seen.push((path, b.to_string()));
            }
            seen
        }
    };
    let before = surfaces(Some(vic.token.clone())).await;
    let holds = |seen: &[(String, String)], path: &str, what: &str| {
        seen.iter()
            .any(|(p, b)| p.starts_with(path) && b.contains(what))
    };
    assert!(holds(&before, "/v1/search", &dog) && holds(&before, "/v1/search", &cat));
    assert!(
        holds(&before, "/v1/feed/following", &dog) && holds(&before, "/v1/feed/following", &cat)
    );
    assert!(holds(&before, "/v1/feed/for-you", &dog), "{before:?}");
    assert!(holds(&before, "/v1/hashtags", &cat));
    assert!(
        holds(&before, "/v1/videos", "good dog")
            && holds(&before, "/v1/videos", "#kittens forever")
    );

    // Filters: a keyword and a hashtag, normalised.
    let (s, b) = set_filters(
        &app,
        &vic.token,
        json!({"keywords": ["  DOG "], "hashtags": ["#Kittens"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b,
        json!({"keywords": ["dog"], "hashtags": ["kittens"], "topics": []})
    );
    let (_, got) = app.get("/v1/me/filters", Some(&vic.token)).await;
    assert_eq!(got, b);
    let after = surfaces(Some(vic.token.clone())).await;
    for surface in [
        "/v1/search",
        "/v1/feed/following",
        "/v1/feed/for-you",
        "/v1/hashtags",
    ] {
        assert!(
            !holds(&after, surface, &dog) && !holds(&after, surface, &cat),
            "{surface}: {after:?}"
        );
    }
    assert!(holds(&after, "/v1/search", &money) && holds(&after, "/v1/feed/following", &money));
    assert!(
        !holds(&after, "/v1/videos", "good dog")
            && !holds(&after, "/v1/videos", "#kittens forever")
    );
    assert!(holds(&after, "/v1/videos", "lovely"));
    // Someone else's surfaces are unchanged.
    let theirs = surfaces(None).await;
    assert!(holds(&theirs, "/v1/search", &dog) && holds(&theirs, "/v1/videos", "good dog"));

    // Topics: less of #finance leaves For You; more of it comes first.
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/me/topics/finance",
            Some(&vic.token),
            Some(json!({"preference": "less"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["topics"],
        json!([{"tag": "finance", "preference": "less"}])
    );
    let (_, fy) = app.get("/v1/feed/for-you?limit=50", Some(&vic.token)).await;
    assert!(!fy.to_string().contains(&money), "{fy}");
    let (_, fy) = app
        .get("/v1/feed/following?limit=50", Some(&vic.token))
        .await;
    assert!(
        fy.to_string().contains(&money),
        "less is about For You only: {fy}"
    );
    let (s, b) = app
        .call(
            Method::DELETE,
            "/v1/me/topics/finance",
            Some(&vic.token),
            None,
        )
        .await;
    assert_eq!((s, b["topics"].clone()), (StatusCode::OK, json!([])));
    let (s, _) = set_filters(
        &app,
        &vic.token,
        json!({"topics": [{"tag": "finance", "preference": "more"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, fy) = app.get("/v1/feed/for-you?limit=50", Some(&vic.token)).await;
    let fy_ids = ids(&fy);
    if fy_ids.contains(&money) {
        assert_eq!(fy_ids[0], money, "more of #finance comes first: {fy}");
    }

    // Many changes at once from one version: none is lost.
    let tags: Vec<String> = (0..8).map(|i| format!("topic{i}")).collect();
    let paths: Vec<String> = tags.iter().map(|t| format!("/v1/me/topics/{t}")).collect();
    let puts = paths.iter().map(|p| {
        app.call(
            Method::PUT,
            p,
            Some(&vic.token),
            Some(json!({"preference": "more"})),
        )
    });
    for (s, b) in futures::future::join_all(puts).await {
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (_, got) = app.get("/v1/me/filters", Some(&vic.token)).await;
    for t in &tags {
        assert!(got.to_string().contains(t.as_str()), "{t} lost: {got}");
    }

    // Sealed at home: the keyword is in no region's files or database.
    let canary = format!("fltcnry{}", std::process::id());
    let (s, _) = set_filters(&app, &vic.token, json!({"keywords": [canary]})).await;
    assert_eq!(s, StatusCode::OK);
    for region in ["us", "au", "nz", "global"] {
        assert!(
            !contains(&stored_bytes(&app, Some(region)).await, &canary),
            "{region}"
        );
    }
    assert!(!contains(&stored_bytes(&app, None).await, &canary));

    // Bad input: precise problems, nothing stored.
    let long = "k".repeat(51);
    let many: Vec<String> = (0..51).map(|i| format!("w{i}")).collect();
    for body in [
        json!({"keywords": many}),
        json!({"keywords": [long]}),
        json!({"keywords": [""]}),
        json!({"hashtags": ["not a tag"]}),
        json!({"topics": [{"tag": "a", "preference": "more"}, {"tag": "a", "preference": "less"}]}),
        json!({"topics": [{"tag": "a", "preference": "lots"}]}),
        json!({"colour": "red"}),
    ] {
        let (s, b) = set_filters(&app, &vic.token, body.clone()).await;
        assert_problem(s, &b, 422, "invalid-field");
    }
    let (_, got) = app.get("/v1/me/filters", Some(&vic.token)).await;
    assert_eq!(got["keywords"], json!([canary]));
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/me/topics/not%20a%20tag",
            Some(&vic.token),
            Some(json!({"preference": "more"})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app.get("/v1/me/filters", None).await;
    assert_problem(s, &b, 401, "unauthorized");
}
