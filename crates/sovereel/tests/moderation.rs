//! Trust and safety over HTTP, as users, creators and moderators use it:
//! reports join one case per target and a flood cannot bury another case;
//! a case is decided exactly once however many moderators try at once;
//! labelled videos leave For You and ask before they are shared; a
//! moderator plays the reported video only while the case is theirs and
//! open, each time on the record.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sovereel_store::{Backend, StaffRecord};

async fn staff(app: &TestApp, region: &str, handle: &str, role: &str) -> String {
    let hash = sovereel_server::auth::hash_password("staff password long").unwrap();
    app.app
        .local(region)
        .unwrap()
        .store()
        .create_staff(&StaffRecord {
            id: format!("staff-{handle}"),
            handle: handle.into(),
            org: "custodian".into(),
            role: role.into(),
            password_hash: hash,
            created_at: 1,
        })
        .await
        .unwrap();
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/sessions",
            None,
            Some(json!({"region": region, "handle": handle, "password": "staff password long"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["token"].as_str().unwrap().to_string()
}

async fn report(app: &TestApp, token: &str, target: Value, category: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/v1/reports",
        Some(token),
        Some(json!({"target": target, "category": category})),
    )
    .await
}

async fn queue(app: &TestApp, token: &str, query: &str) -> Value {
    let (s, q) = app
        .get(&format!("/v1/staff/cases{query}"), Some(token))
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    q
}

fn case_of<'a>(q: &'a Value, target: &str) -> Option<&'a Value> {
    q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"]["id"] == target)
}

fn decision(action: &str, label: Option<&str>) -> Value {
    let mut b = json!({
        "action": action,
        "statement": {
            "ground": "terms",
            "reference": "Community Guidelines §4.2 (harmful misinformation)",
            "facts": "The video presents a cure as proven; no evidence is given and health authorities contradict it.",
            "automated": false
        }
    });
    if let Some(l) = label {
        b["label"] = json!(l);
        b["note"] = json!("Health authorities say there is no such cure.");
    }
    b
}

async fn take(app: &TestApp, token: &str, case: &str) {
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{case}/assign"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_join_one_case_per_target_and_a_flood_cannot_bury_another() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("flood_creator", "AU").await;
    let flooded = app
        .upload_ready(&creator.token, "flooded #spamwave", "public")
        .await;
    let quiet = app
        .upload_ready(&creator.token, "quiet #worry", "public")
        .await;
    let (flooded, quiet) = (
        flooded["id"].as_str().unwrap().to_string(),
        quiet["id"].as_str().unwrap().to_string(),
    );
    let moderator = staff(&app, "au", "fiona_mod", "moderator").await;

    // Twelve reporters from three regions flood one video with spam
    // reports; each reports twice.
    let mut reporters = vec![];
    for (i, country) in ["US", "AU", "NZ"].iter().cycle().take(12).enumerate() {
        reporters.push(app.signup(&format!("flooder_{i}"), country).await);
    }
    let mut first_ids = vec![];
    for r in &reporters {
        let (s, b) = report(&app, &r.token, json!({"video_id": flooded}), "spam").await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        assert!(b["case_id"].as_str().unwrap().starts_with("au_"), "{b}");
        first_ids.push(b["id"].as_str().unwrap().to_string());
    }
    for (r, id) in reporters.iter().zip(&first_ids) {
        let (s, b) = report(&app, &r.token, json!({"video_id": flooded}), "hate").await;
        assert_eq!(s, StatusCode::OK, "a repeat report answers the first: {b}");
        assert_eq!(b["id"], id.as_str());
        assert_eq!(b["category"], "spam");
    }
    // One reporter on another video, for something more severe.
    let (s, b) = report(
        &app,
        &reporters[0].token,
        json!({"video_id": quiet}),
        "self_harm",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let q = queue(&app, &moderator, "").await;
    assert_eq!(q["counts"]["open"], 2, "one case per target: {q}");
    let items = q["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["target"]["id"], quiet,
        "the more severe case comes first, however few reported it"
    );
    let flood_case = case_of(&q, &flooded).unwrap();
    assert_eq!(flood_case["reports_count"], 12);
    assert_eq!(flood_case["categories"], json!(["spam"]));
    assert_eq!(flood_case["preview"]["caption"], "flooded #spamwave");
    assert!(
        !q.to_string().contains("flooder_"),
        "cases do not name reporters"
    );
    // Pages of one cover the queue once, in order.
    let first = queue(&app, &moderator, "?limit=1").await;
    assert_eq!(first["items"][0]["target"]["id"], quiet);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = queue(&app, &moderator, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(second["items"][0]["target"]["id"], flooded);
    let (s, b) = app
        .get("/v1/staff/cases?cursor=not-a-cursor", Some(&moderator))
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, b) = app.get("/v1/staff/cases?limit=101", Some(&moderator)).await;
    assert_problem(s, &b, 422, "invalid-field");

    // The reported video is hidden from its reporters at once, and only
    // from them.
    let (_, tag) = app
        .get("/v1/hashtags/spamwave", Some(&reporters[1].token))
        .await;
    assert!(!tag.to_string().contains(&flooded), "{tag}");
    let bystander = app.signup("flood_bystander", "AU").await;
    let (_, tag) = app
        .get("/v1/hashtags/spamwave", Some(&bystander.token))
        .await;
    assert!(tag.to_string().contains(&flooded), "{tag}");

    // Bad reports are precise 4xx.
    for (body, status, kind) in [
        (
            json!({"target": {"video_id": flooded}, "category": "ugly"}),
            422,
            "invalid-field",
        ),
        (
            json!({"target": {"video_id": "au_0000000000000000000000000a"}, "category": "spam"}),
            404,
            "not-found",
        ),
        (
            json!({"target": {"handle": "nobody_here"}, "category": "spam"}),
            404,
            "not-found",
        ),
        (
            json!({"target": {"video_id": flooded}, "category": "spam", "note": "x".repeat(1001)}),
            422,
            "invalid-field",
        ),
        (
            json!({"target": {}, "category": "spam"}),
            422,
            "invalid-field",
        ),
    ] {
        let (s, b) = app
            .call(
                Method::POST,
                "/v1/reports",
                Some(&bystander.token),
                Some(body),
            )
            .await;
        assert_problem(s, &b, status, kind);
    }
    let (s, b) = report(&app, &creator.token, json!({"video_id": flooded}), "spam").await;
    assert_problem(s, &b, 422, "invalid-field");

    // Comments and accounts are reported too, each to their own case.
    let (s, c) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{quiet}/comments"),
            Some(&bystander.token),
            Some(json!({"text": "you are all idiots"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let comment = c["id"].as_str().unwrap();
    let (s, b) = report(
        &app,
        &reporters[2].token,
        json!({"comment_id": comment}),
        "harassment",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, list) = app
        .get(
            &format!("/v1/videos/{quiet}/comments"),
            Some(&reporters[2].token),
        )
        .await;
    assert!(
        !list.to_string().contains(comment),
        "hidden from its reporter: {list}"
    );
    let (_, list) = app
        .get(
            &format!("/v1/videos/{quiet}/comments"),
            Some(&creator.token),
        )
        .await;
    assert!(list.to_string().contains(comment));
    let (s, b) = report(
        &app,
        &reporters[3].token,
        json!({"handle": "flood_creator"}),
        "spam",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let q = queue(&app, &moderator, "").await;
    assert_eq!(q["counts"]["open"], 4, "{q}");
    assert_eq!(
        case_of(&q, comment).unwrap()["preview"]["text"],
        "you are all idiots"
    );
    // Every report is a step on the content's home ledger, naming no reporter.
    let entries = ledger_entries(&app, "au").await;
    let reports: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "moderation" && e["step"] == "report")
        .collect();
    assert_eq!(reports.len(), 15, "{reports:?}");
    assert!(
        reports
            .iter()
            .all(|e| e["moderator"]["type"] == "system" && e.get("reporter").is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_decided_exactly_once() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("once_creator", "AU").await;
    let reporter = app.signup("once_reporter", "US").await;
    let v = app
        .upload_ready(&creator.token, "miracle cure #health", "public")
        .await;
    let vid = v["id"].as_str().unwrap();
    let (_, r) = report(
        &app,
        &reporter.token,
        json!({"video_id": vid}),
        "misinformation",
    )
    .await;
    let case = r["case_id"].as_str().unwrap().to_string();
    let mia = staff(&app, "au", "mia_mod", "moderator").await;
    let max = staff(&app, "au", "max_mod", "moderator").await;

    // Not taken: no decision. Taken by Mia: Max cannot take it or decide it.
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{case}/actions"),
            Some(&mia),
            Some(decision("label", Some("misleading"))),
        )
        .await;
    assert_problem(s, &b, 403, "forbidden");
    take(&app, &mia, &case).await;
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{case}/assign"),
            Some(&max),
            None,
        )
        .await;
    assert_problem(s, &b, 409, "conflict");

    // Refused bodies change nothing.
    for bad in [
        json!({"action": "label", "statement": {"ground": "terms", "facts": "x"}}),
        json!({"action": "label", "label": "fake", "statement": {"ground": "terms", "facts": "x"}}),
        json!({"action": "obliterate", "statement": {"ground": "terms", "facts": "x"}}),
        json!({"action": "remove", "statement": {"ground": "law", "facts": "x"}}),
        json!({"action": "remove", "statement": {"ground": "terms", "facts": ""}}),
        json!({"action": "uphold", "statement": {"ground": "terms", "facts": "x"}}),
        json!({"action": "dismiss", "label": "graphic", "statement": {"ground": "terms", "facts": "x"}}),
    ] {
        let (s, b) = app
            .call(
                Method::POST,
                &format!("/v1/staff/cases/{case}/actions"),
                Some(&mia),
                Some(bad.clone()),
            )
            .await;
        assert_problem(s, &b, 422, "invalid-field");
    }

    // Eight concurrent decisions by the assignee: exactly one wins.
    let attempts = (0..8).map(|i| {
        let body = if i % 2 == 0 {
            decision("label", Some("misleading"))
        } else {
            decision("remove", None)
        };
        let url = app.url(&format!("/v1/staff/cases/{case}/actions"));
        let client = app.client.clone();
        let token = mia.clone();
        tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        })
    });
    let mut won = vec![];
    for a in attempts.collect::<Vec<_>>() {
        let (s, b) = a.await.unwrap();
        match s {
            StatusCode::OK => won.push(b),
            StatusCode::CONFLICT => assert_problem(s, &b, 409, "conflict"),
            // The case left `open`: the gateway refuses the rest outright.
            StatusCode::FORBIDDEN => assert_problem(s, &b, 403, "forbidden"),
            other => panic!("{other}: {b}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let answer = &won[0];
    assert_eq!(answer["case"]["state"], "closed");
    let index = answer["ledger_index"].as_u64().unwrap();
    let entries = ledger_entries(&app, "au").await;
    let decisions: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "moderation" && e["step"] == "decision" && e["case_id"] == case)
        .collect();
    assert_eq!(
        decisions.len(),
        1,
        "one decision on the record: {decisions:?}"
    );
    assert_eq!(entries[index as usize]["case_id"], case.as_str());
    assert_eq!(
        entries[index as usize]["decision_id"],
        answer["decision"]["id"]
    );
    // The effect is the one decision's.
    let (s, v) = app.get(&format!("/v1/videos/{vid}"), None).await;
    match answer["decision"]["decision"]["action"].as_str().unwrap() {
        "label" => {
            assert_eq!(s, StatusCode::OK);
            assert_eq!(v["labels"][0]["kind"], "misleading", "{v}");
        }
        "remove" => assert_problem(s, &v, 404, "not-found"),
        other => panic!("{other}"),
    }
    // Decided is decided.
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{case}/actions"),
            Some(&mia),
            Some(decision("dismiss", None)),
        )
        .await;
    assert_eq!(s.as_u16() / 100, 4, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labelled_videos_leave_for_you_and_ask_before_they_are_shared() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("label_creator", "AU").await;
    let reporter = app.signup("label_reporter", "NZ").await;
    let mut ids = vec![];
    for caption in ["cure one #remedy", "walk two #outside", "cook three #food"] {
        let v = app.upload_ready(&creator.token, caption, "public").await;
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let labelled = ids[0].clone();
    // Before: a fresh viewer can be shown it.
    let before = app.signup("label_before", "US").await;
    assert!(
        for_you_ids(&app, Some(&before.token))
            .await
            .contains(&labelled),
        "the test needs the video in For You before the label"
    );

    let (_, r) = report(
        &app,
        &reporter.token,
        json!({"video_id": labelled}),
        "misinformation",
    )
    .await;
    let case = r["case_id"].as_str().unwrap().to_string();
    let moderator = staff(&app, "au", "lara_mod", "moderator").await;
    take(&app, &moderator, &case).await;
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{case}/actions"),
            Some(&moderator),
            Some(decision("label", Some("misleading"))),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Viewers see the label and its note.
    let (_, v) = app.get(&format!("/v1/videos/{labelled}"), None).await;
    assert_eq!(
        v["labels"],
        json!([{"kind": "misleading", "text": "Misleading: independent fact-checkers dispute this", "note": "Health authorities say there is no such cure."}])
    );
    // Not in For You for anyone: a fresh viewer (the fill of an empty
    // engine page), a viewer with history, and anonymous visitors.
    for viewer in ["label_fresh_a", "label_fresh_b"] {
        let u = app.signup(viewer, "US").await;
        let seen = for_you_ids(&app, Some(&u.token)).await;
        assert!(!seen.contains(&labelled), "{viewer}: {seen:?}");
        assert!(seen.contains(&ids[1]) || seen.contains(&ids[2]), "{seen:?}");
    }
    assert!(
        !for_you_ids(&app, Some(&before.token))
            .await
            .contains(&labelled)
    );
    assert!(!for_you_ids(&app, None).await.contains(&labelled));

    // Sharing it asks first; "share anyway" shares.
    let sharer = app.signup("label_sharer", "US").await;
    let share = format!("/v1/videos/{labelled}/shares");
    let (s, b) = app
        .call(Method::POST, &share, Some(&sharer.token), None)
        .await;
    assert_problem(s, &b, 409, "share-confirmation-required");
    assert!(b["detail"].as_str().unwrap().contains("Misleading"), "{b}");
    let (s, b) = app
        .call(
            Method::POST,
            &share,
            Some(&sharer.token),
            Some(json!({"confirm": false})),
        )
        .await;
    assert_problem(s, &b, 409, "share-confirmation-required");
    let (s, b) = app
        .call(
            Method::POST,
            &share,
            Some(&sharer.token),
            Some(json!({"confirm": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["counts"]["shares"], 1);
    let (s, b) = app
        .call(
            Method::POST,
            &share,
            Some(&sharer.token),
            Some(json!({"confirm": "yes"})),
        )
        .await;
    assert_eq!(s.as_u16() / 100, 4, "{b}");
    // An unlabelled video shares without asking.
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{}/shares", ids[1]),
            Some(&sharer.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

/// Every For You item a viewer is offered over a few pages.
async fn for_you_ids(app: &TestApp, token: Option<&str>) -> Vec<String> {
    let mut out = vec![];
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let path = match &cursor {
            Some(c) => format!("/v1/feed/for-you?limit=10&cursor={c}"),
            None => "/v1/feed/for-you?limit=10".into(),
        };
        let (s, page) = app.get(&path, token).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        for i in page["items"].as_array().unwrap() {
            out.push(i["video"]["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_plays_the_reported_video_while_the_case_is_theirs_and_open() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("play_creator", "AU").await;
    let follower = app.signup("play_follower", "AU").await;
    // A followers-only video: sealed media, only a ledgered grant opens it.
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/users/play_creator/follow",
            Some(&follower.token),
            None,
        )
        .await;
    assert!(s.is_success());
    let v = app
        .upload_ready(&creator.token, "for my followers", "followers")
        .await;
    let vid = v["id"].as_str().unwrap();
    let (s, r) = report(&app, &follower.token, json!({"video_id": vid}), "violence").await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let case = r["case_id"].as_str().unwrap().to_string();
    let moderator = staff(&app, "au", "pia_mod", "moderator").await;
    let other = staff(&app, "au", "olaf_mod", "moderator").await;
    let stream = format!("/v1/staff/cases/{case}/stream");
    let ranged = |token: &str| {
        app.client
            .get(app.url(&stream))
            .bearer_auth(token)
            .header("Range", "bytes=0-99")
            .send()
    };
    assert_eq!(
        ranged(&moderator).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    take(&app, &moderator, &case).await;
    let (s, item) = app
        .get(&format!("/v1/staff/cases/{case}/item"), Some(&moderator))
        .await;
    assert_eq!(s, StatusCode::OK, "{item}");
    assert_eq!(item["video"]["caption"], "for my followers");
    assert_eq!(item["video"]["stream_url"], stream.as_str());
    let resp = ranged(&moderator).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.headers()["cache-control"], "private, no-store");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(bytes.len(), 100);
    assert_eq!(&bytes[4..8], b"ftyp", "decrypted MP4, not ciphertext");
    assert_eq!(
        ranged(&other).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{case}/actions"),
            Some(&moderator),
            Some(decision("dismiss", None)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        ranged(&moderator).await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "closed: no more playing"
    );
    let plays: Vec<Value> = ledger_entries(&app, "au")
        .await
        .into_iter()
        .filter(|e| {
            e["kind"] == "access"
                && e["purpose"] == "report case: playing the reported video"
                && e["case_id"] == case.as_str()
        })
        .collect();
    assert!(
        plays
            .iter()
            .any(|e| e["decision"] == "allow" && e["principal"]["staff_id"] == "staff-pia_mod"),
        "{plays:?}"
    );
    assert!(plays.iter().filter(|e| e["decision"] == "deny").count() >= 3);
    // The creator sees the moderator's plays in their access log.
    let (_, log) = app.get("/v1/me/access-log", Some(&creator.token)).await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["entry"]["purpose"] == "report case: playing the reported video"),
        "{log}"
    );
}
