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
            // Whether the case had left `open` when the request read it or
            // only when it tried to claim it: a conflict, never a refusal.
            StatusCode::CONFLICT => assert_problem(s, &b, 409, "conflict"),
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

async fn decided_case(
    app: &TestApp,
    moderator: &str,
    reporter: &str,
    target: Value,
    body: Value,
) -> Value {
    let (s, r) = report(app, reporter, target, "misinformation").await;
    assert!(s.is_success(), "{r}");
    let case = r["case_id"].as_str().unwrap().to_string();
    take(app, moderator, &case).await;
    let (s, done) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{case}/actions"),
            Some(moderator),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_creator_gets_a_statement_appeals_and_a_second_moderator_restores() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("appeal_creator", "AU").await;
    let reporter = app.signup("appeal_reporter", "US").await;
    let viewer = app.signup("appeal_viewer", "NZ").await;
    let v = app
        .upload_ready(&creator.token, "my garden #plants", "public")
        .await;
    let vid = v["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/v1/videos/{vid}/like"),
            Some(&viewer.token),
            None,
        )
        .await;
    assert!(s.is_success());
    let first = staff(&app, "au", "ada_mod", "moderator").await;
    let second = staff(&app, "au", "ben_mod", "moderator").await;
    let done = decided_case(
        &app,
        &first,
        &reporter.token,
        json!({"video_id": vid}),
        decision("remove", None),
    )
    .await;
    let (s, b) = app
        .get(&format!("/v1/videos/{vid}"), Some(&viewer.token))
        .await;
    assert_problem(s, &b, 404, "not-found");
    let (_, own) = app
        .get(&format!("/v1/videos/{vid}"), Some(&creator.token))
        .await;
    assert_eq!(own["state"], "removed", "the creator still sees it: {own}");

    // The creator is told, in their inbox.
    let (s, inbox) = app.get("/v1/me/notifications", Some(&creator.token)).await;
    assert_eq!(s, StatusCode::OK, "{inbox}");
    let notice = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "decision")
        .unwrap_or_else(|| panic!("no decision notice: {inbox}"));
    assert!(
        notice["text"].as_str().unwrap().contains("was removed"),
        "{notice}"
    );
    assert_eq!(notice["video_id"], vid.as_str());

    // The statement of reasons, with every DSA Art. 17 field.
    let (s, mine) = app.get("/v1/me/decisions", Some(&creator.token)).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    let st = &mine["items"][0];
    assert_eq!(st["id"], done["decision"]["id"]);
    assert_eq!(st["decision"]["action"], "remove");
    assert!(st["decision"]["text"].as_str().unwrap().contains("removed"));
    assert_eq!(
        st["territorial_scope"],
        "worldwide: every region of Sovereel"
    );
    assert!(st["facts"].as_str().unwrap().contains("no evidence"));
    assert_eq!(st["automated"], false);
    assert!(
        st["automated_text"]
            .as_str()
            .unwrap()
            .contains("No automated means")
    );
    assert_eq!(st["ground"]["kind"], "terms");
    assert!(st["ground"]["reference"].as_str().unwrap().contains("§4.2"));
    assert!(st["redress"]["text"].as_str().unwrap().contains("appeal"));
    assert_eq!(st["redress"]["can_appeal"], true);
    assert_eq!(st["target"]["summary"], "my garden #plants");
    assert!(st["ledger_index"].as_i64().unwrap() > 0);
    let (_, theirs) = app.get("/v1/me/decisions", Some(&reporter.token)).await;
    assert_eq!(theirs["items"], json!([]), "only the creator's own");

    // Only the creator appeals, once.
    let appeal_path = format!("/v1/me/decisions/{}/appeal", st["id"].as_str().unwrap());
    let (s, b) = app
        .call(
            Method::POST,
            &appeal_path,
            Some(&reporter.token),
            Some(json!({"text": "mine?"})),
        )
        .await;
    assert_problem(s, &b, 404, "not-found");
    let (s, b) = app
        .call(
            Method::POST,
            &appeal_path,
            Some(&creator.token),
            Some(json!({"text": ""})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, appeal) = app
        .call(
            Method::POST,
            &appeal_path,
            Some(&creator.token),
            Some(json!({"text": "These are my tomatoes, not a cure."})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{appeal}");
    let (s, b) = app
        .call(
            Method::POST,
            &appeal_path,
            Some(&creator.token),
            Some(json!({"text": "again"})),
        )
        .await;
    assert_problem(s, &b, 409, "conflict");
    let appeal_case = appeal["case_id"].as_str().unwrap().to_string();

    // In the same queue; the moderator who decided may not decide it.
    let q = queue(&app, &second, "").await;
    let listed = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == appeal_case.as_str())
        .unwrap();
    assert_eq!(listed["kind"], "appeal");
    assert_eq!(
        listed["appeal"]["text"],
        "These are my tomatoes, not a cure."
    );
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{appeal_case}/assign"),
            Some(&first),
            None,
        )
        .await;
    assert_problem(s, &b, 403, "forbidden");
    take(&app, &second, &appeal_case).await;
    let (s, item) = app
        .get(
            &format!("/v1/staff/cases/{appeal_case}/item"),
            Some(&second),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{item}");
    assert_eq!(item["appealed"]["decision"]["action"], "remove");
    assert_eq!(item["actions"], json!(["uphold", "reverse"]));
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{appeal_case}/actions"),
            Some(&second),
            Some(decision("label", Some("graphic"))),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, reversed) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{appeal_case}/actions"),
            Some(&second),
            Some(decision("reverse", None)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{reversed}");

    // Restored, whole: public again with its like, the decision reversed.
    let (s, back) = app
        .get(&format!("/v1/videos/{vid}"), Some(&viewer.token))
        .await;
    assert_eq!(s, StatusCode::OK, "{back}");
    assert_eq!(back["state"], "ready");
    assert_eq!(back["counts"]["likes"], 1);
    assert_eq!(back["liked_by_me"], true);
    let (_, mine) = app.get("/v1/me/decisions", Some(&creator.token)).await;
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{mine}");
    assert_eq!(items[0]["decision"]["action"], "reverse");
    let original = items.iter().find(|d| d["id"] == st["id"]).unwrap();
    assert!(original["reversed_at"].is_string());
    assert_eq!(original["redress"]["appeal"]["outcome"], "reverse");
    assert_eq!(original["redress"]["can_appeal"], false);

    // Every step is on the ledger.
    let steps: Vec<String> = ledger_entries(&app, "au")
        .await
        .iter()
        .filter(|e| e["kind"] == "moderation")
        .map(|e| e["step"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(steps, ["report", "decision", "appeal", "appeal_decision"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_are_deleted_by_their_author_or_the_video_owner_only() {
    let app = spawn(Backend::Sqlite).await;
    let owner = app.signup("cm_owner", "AU").await;
    let author = app.signup("cm_author", "US").await;
    let other = app.signup("cm_other", "NZ").await;
    let v = app
        .upload_ready(&owner.token, "talk to me #chat", "public")
        .await;
    let vid = v["id"].as_str().unwrap().to_string();
    let (_, a) = post_comment(&app, &author.token, &vid, "first!", None).await;
    let (_, b) = post_comment(&app, &author.token, &vid, "rude words", None).await;
    let (_, reply) = post_comment(&app, &other.token, &vid, "a reply", b["id"].as_str()).await;
    let (_, c) = post_comment(&app, &other.token, &vid, "mine", None).await;
    let del = |token: &str, id: &str| delete_comment(&app, &vid, token.to_string(), id.to_string());
    let ids = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    // Someone else's comment on someone else's video: not found.
    let (s, body) = del(&other.token, a["id"].as_str().unwrap()).await;
    assert_problem(s, &body, 404, "not-found");
    let (s, body) = app
        .call(
            Method::DELETE,
            &format!("/v1/videos/{vid}/comments/{}", a["id"].as_str().unwrap()),
            None,
            None,
        )
        .await;
    assert_problem(s, &body, 401, "unauthorized");
    // The author deletes their own; the owner deletes one on their video,
    // and its reply goes with it.
    let (s, _) = del(&author.token, a["id"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = del(&owner.token, b["id"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = app.get(&format!("/v1/videos/{vid}/comments"), None).await;
    assert_eq!(ids(&list), [c["id"].as_str().unwrap().to_string()]);
    let (_, replies) = app
        .get(
            &format!(
                "/v1/videos/{vid}/comments?parent_id={}",
                b["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert!(
        !replies.to_string().contains(reply["id"].as_str().unwrap()),
        "{replies}"
    );
    let (_, video) = app.get(&format!("/v1/videos/{vid}"), None).await;
    assert_eq!(video["counts"]["comments"], 1, "{video}");
    // Deleted is gone: a second delete finds nothing.
    let (s, body) = del(&author.token, a["id"].as_str().unwrap()).await;
    assert_problem(s, &body, 404, "not-found");
    // A reported comment, removed by a moderator, goes the same way.
    let moderator = staff(&app, "nz", "nia_mod", "moderator").await;
    decided_case(
        &app,
        &moderator,
        &author.token,
        json!({"comment_id": c["id"]}),
        decision("remove", None),
    )
    .await;
    let (_, list) = app.get(&format!("/v1/videos/{vid}/comments"), None).await;
    assert!(ids(&list).is_empty(), "{list}");
    let (_, mine) = app.get("/v1/me/decisions", Some(&other.token)).await;
    assert_eq!(mine["items"][0]["target"]["summary"], "mine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interventions_are_decisions_and_why_names_a_promotion() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("iv_creator", "AU").await;
    let viewer = app.signup("iv_viewer", "US").await;
    let v = app
        .upload_ready(&creator.token, "worth seeing #local", "public")
        .await;
    let vid = v["id"].as_str().unwrap().to_string();
    let moderator = staff(&app, "au", "ivy_mod", "moderator").await;
    let us_moderator = staff(&app, "us", "ulf_mod", "moderator").await;
    let support = staff(&app, "au", "sid_support", "support").await;
    let body = |action: &str| json!({"target": {"video_id": vid}, "action": action, "statement": {"ground": "terms", "reference": "Editorial policy §2 (local voices)", "facts": "A local creator's first video about the region's news."}});
    for (token, status) in [(&support, 403), (&us_moderator, 404)] {
        let (s, b) = app
            .call(
                Method::POST,
                "/v1/staff/interventions",
                Some(token),
                Some(body("promote")),
            )
            .await;
        assert_eq!(s.as_u16(), status, "{b}");
    }
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/interventions",
            Some(&moderator),
            Some(body("label")),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, done) = app
        .call(
            Method::POST,
            "/v1/staff/interventions",
            Some(&moderator),
            Some(body("promote")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{done}");
    assert_eq!(done["case"]["kind"], "intervention");
    assert_eq!(done["case"]["state"], "closed");
    let (s, why) = app
        .get(&format!("/v1/videos/{vid}/why"), Some(&viewer.token))
        .await;
    assert_eq!(s, StatusCode::OK, "{why}");
    assert!(
        why["reason"]
            .as_str()
            .unwrap()
            .contains("editorial decision"),
        "{why}"
    );
    let entries = ledger_entries(&app, "au").await;
    let e = entries
        .iter()
        .find(|e| e["kind"] == "moderation" && e["action"] == "promote")
        .unwrap();
    assert_eq!(e["reference"], "Editorial policy §2 (local voices)");
    // Promotion is not a label: viewers see none, For You may show it.
    let (_, seen) = app.get(&format!("/v1/videos/{vid}"), None).await;
    assert_eq!(seen["labels"], json!([]));

    // An account restricted from For You: its videos leave it, those it
    // posts later included, while another creator's stay.
    let other = app.signup("iv_other", "AU").await;
    let control = app
        .upload_ready(&other.token, "still here #local", "public")
        .await;
    let control = control["id"].as_str().unwrap().to_string();
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/interventions",
            Some(&moderator),
            Some(json!({"target": {"handle": "iv_creator"}, "action": "restrict", "statement": {"ground": "terms", "reference": "Terms §7 (coordinated inauthentic behaviour)", "facts": "The account posts the same clip under many captions."}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let later = app
        .upload_ready(&creator.token, "posted after the decision #local", "public")
        .await;
    let later = later["id"].as_str().unwrap().to_string();
    let offered = for_you_ids(&app, None).await;
    assert!(offered.contains(&control), "{offered:?}");
    assert!(
        !offered.contains(&vid),
        "the restricted account's video: {offered:?}"
    );
    assert!(
        !offered.contains(&later),
        "a video the restricted account posted later: {offered:?}"
    );
    let offered = for_you_ids(&app, Some(&viewer.token)).await;
    assert!(
        !offered.contains(&vid) && !offered.contains(&later),
        "{offered:?}"
    );

    // The transparency report counts interventions apart from decisions on
    // reports, so they neither swell those nor pull their median to zero.
    let (_, answer) = app.get("/v1/transparency/report?region=au", None).await;
    let report = &answer["regions"][0]["report"];
    assert_eq!(report["interventions"]["promote"]["value"], 1, "{report}");
    assert_eq!(report["interventions"]["restrict"]["value"], 1, "{report}");
    assert_eq!(report["decisions"]["total"]["value"], 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_offers_each_role_only_what_the_policy_allows() {
    let app = spawn(Backend::Sqlite).await;
    let hash = sovereel_server::auth::hash_password("staff password long").unwrap();
    app.app
        .local("global")
        .unwrap()
        .store()
        .create_staff(&StaffRecord {
            id: "staff-pat".into(),
            handle: "pat".into(),
            org: "platform".into(),
            role: "operator".into(),
            password_hash: hash,
            created_at: 1,
        })
        .await
        .unwrap();
    let (_, p) = app
        .call(
            Method::POST,
            "/v1/staff/sessions",
            None,
            Some(json!({"region": "global", "handle": "pat", "password": "staff password long"})),
        )
        .await;
    let platform = p["token"].as_str().unwrap().to_string();
    let moderator = staff(&app, "au", "mo", "moderator").await;
    let support = staff(&app, "au", "su", "support").await;
    let operator = staff(&app, "au", "op", "operator").await;
    let may = |v: &Value| -> Vec<String> {
        v["may"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, on)| on.as_bool().unwrap())
            .map(|(k, _)| k.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    // Aggregates (k-anonymity 50) are open to all staff by the policy.
    for (token, want) in [
        (&moderator, vec!["aggregates", "cases"]),
        (&support, vec!["account_status", "aggregates"]),
        (
            &operator,
            vec!["aggregates", "approve_releases", "data_requests"],
        ),
        (&platform, vec!["aggregates", "publish_releases"]),
    ] {
        let (s, me) = app.get("/v1/staff/me", Some(token)).await;
        assert_eq!(s, StatusCode::OK, "{me}");
        assert_eq!(may(&me), want, "{me}");
    }
    // What the console does not offer a moderator, the policy refuses, so
    // offering it would only leave denials in users' access logs.
    let user = app.signup("console_subject", "AU").await;
    let (s, b) = app
        .get("/v1/staff/users/console_subject/status", Some(&moderator))
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, _) = app
        .get("/v1/staff/users/console_subject/status", Some(&support))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = app.get("/v1/staff/cases", Some(&support)).await;
    assert_problem(s, &b, 403, "forbidden");
    let _ = user;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transparency_report_is_recomputed_from_the_log_alone() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("tr_creator", "AU").await;
    let reporter = app.signup("tr_reporter", "US").await;
    let moderator = staff(&app, "au", "tess_mod", "moderator").await;
    let second = staff(&app, "au", "tom_mod", "moderator").await;
    let mut ids = vec![];
    for caption in ["one #tr", "two #tr", "three #tr"] {
        let v = app.upload_ready(&creator.token, caption, "public").await;
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    decided_case(
        &app,
        &moderator,
        &reporter.token,
        json!({"video_id": ids[0]}),
        decision("label", Some("misleading")),
    )
    .await;
    let removed = decided_case(
        &app,
        &moderator,
        &reporter.token,
        json!({"video_id": ids[1]}),
        decision("remove", None),
    )
    .await;
    decided_case(
        &app,
        &moderator,
        &reporter.token,
        json!({"video_id": ids[2]}),
        decision("dismiss", None),
    )
    .await;
    let (_, appeal) = app
        .call(
            Method::POST,
            &format!(
                "/v1/me/decisions/{}/appeal",
                removed["decision"]["id"].as_str().unwrap()
            ),
            Some(&creator.token),
            Some(json!({"text": "please look again"})),
        )
        .await;
    let appeal_case = appeal["case_id"].as_str().unwrap().to_string();
    take(&app, &second, &appeal_case).await;
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{appeal_case}/actions"),
            Some(&second),
            Some(decision("uphold", None)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Two data requests: the creator's export (received, then completed:
    // one request) and another user's erasure request.
    let (s, job) = app
        .call(Method::POST, "/v1/me/exports", Some(&creator.token), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let job_id = job["id"].as_str().unwrap().to_string();
    let mut done = false;
    for _ in 0..200 {
        let (_, j) = app
            .get(&format!("/v1/me/exports/{job_id}"), Some(&creator.token))
            .await;
        if j["state"] == "ready" {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(done, "the export finished");
    let leaver = app.signup("tr_leaver", "AU").await;
    let (s, _) = app
        .call(Method::DELETE, "/v1/me", Some(&leaver.token), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);

    let (s, answer) = app.get("/v1/transparency/report?region=au", None).await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    let region = &answer["regions"][0];
    let report = &region["report"];
    // The figures equal the ledger's own entries over the report's range.
    let entries = ledger_entries(&app, "au").await;
    let size = report["tree_size"].as_u64().unwrap() as usize;
    let range = &report["range"];
    let (start, end) = (
        range["start"].as_u64().unwrap() as usize,
        range["end"].as_u64().unwrap() as usize,
    );
    assert_eq!((start, end), (0, size));
    let covered = &entries[start..end];
    let count = |f: &dyn Fn(&Value) -> bool| covered.iter().filter(|e| f(e)).count() as u64;
    let d = &report["decisions"];
    assert_eq!(d["total"]["value"], 3);
    assert_eq!(
        d["total"]["value"].as_u64().unwrap(),
        count(&|e| e["kind"] == "moderation" && e["step"] == "decision")
    );
    for action in ["label", "remove", "dismiss"] {
        assert_eq!(d["by_action"][action]["value"], 1, "{d}");
        assert_eq!(d["by_action"][action]["range"], *range);
    }
    assert_eq!(d["by_category"]["misinformation"]["value"], 3);
    assert_eq!(d["by_ground"]["terms"]["value"], 3);
    assert_eq!(d["by_automation"]["manual"]["value"], 3);
    assert!(d["median_seconds_to_decision"]["value"].is_u64());
    assert_eq!(report["appeals"]["received"]["value"], 1);
    assert_eq!(report["appeals"]["upheld"]["value"], 1);
    assert_eq!(report["appeals"]["reversed"]["value"], 0);
    assert_eq!(
        report["staff_accesses"]["custodian:moderator"]["value"]
            .as_u64()
            .unwrap(),
        count(&|e| e["kind"] == "access"
            && e["decision"] == "allow"
            && e["principal"]["role"] == "moderator")
    );
    assert_eq!(
        report["egress_batches"]["value"].as_u64().unwrap(),
        count(&|e| e["kind"] == "egress")
    );
    assert_eq!(
        report["releases"]["value"].as_u64().unwrap(),
        count(&|e| e["kind"] == "release")
    );
    assert_eq!(report["data_requests"]["value"], 2, "{report}");
    assert_eq!(
        count(&|e| e["kind"] == "data_request" && e["status"] == "received"),
        2
    );
    assert!(
        count(&|e| e["kind"] == "data_request" && e["request_kind"] == "deletion") == 1,
        "the erasure request is on the log"
    );

    // The auditor's tool, from the log and its key alone, agrees.
    let log = app.url(region["log_url"].as_str().unwrap());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sovereel"))
        .args(["audit", "report", "--log", log.trim_end_matches('/')])
        .args(["--vkey", region["vkey"].as_str().unwrap()])
        .args(["--size", &size.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recomputed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(&recomputed, report);
    // A period that ends before anything happened counts nothing.
    let (_, early) = app
        .get("/v1/transparency/report?region=au&to=2001-01-01", None)
        .await;
    assert_eq!(
        early["regions"][0]["report"]["decisions"]["total"]["value"],
        0
    );
    for bad in [
        "?from=yesterday",
        "?region=mars",
        "?from=2030-01-02&to=2030-01-01",
    ] {
        let (s, b) = app
            .get(&format!("/v1/transparency/report{bad}"), None)
            .await;
        assert_eq!(s.as_u16() / 100, 4, "{bad}: {b}");
        assert!(b["type"].as_str().unwrap().starts_with("/problems/"));
    }
}

async fn post_comment(
    app: &TestApp,
    token: &str,
    vid: &str,
    text: &str,
    parent: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"text": text});
    if let Some(p) = parent {
        body["parent_id"] = json!(p);
    }
    app.call(
        Method::POST,
        &format!("/v1/videos/{vid}/comments"),
        Some(token),
        Some(body),
    )
    .await
}

async fn delete_comment(
    app: &TestApp,
    vid: &str,
    token: String,
    id: String,
) -> (StatusCode, Value) {
    app.call(
        Method::DELETE,
        &format!("/v1/videos/{vid}/comments/{id}"),
        Some(&token),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appeal_after_six_months_is_refused_with_the_deadline() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("late_creator", "AU").await;
    let reporter = app.signup("late_reporter", "US").await;
    let moderator = staff(&app, "au", "lia_mod", "moderator").await;
    let v = app
        .upload_ready(&creator.token, "old news #late", "public")
        .await;
    let done = decided_case(
        &app,
        &moderator,
        &reporter.token,
        json!({"video_id": v["id"]}),
        decision("remove", None),
    )
    .await;
    let id = done["decision"]["id"].as_str().unwrap().to_string();
    // The decision was taken a little over six months ago.
    let url = &app.region_urls.iter().find(|(r, _)| r == "au").unwrap().1;
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let r = sqlx::query("UPDATE decisions SET created_at = created_at - $1 WHERE id = $2")
            .bind(184_i64 * 86_400_000)
            .bind(&id)
            .execute(&mut c)
            .await
            .unwrap();
        assert_eq!(r.rows_affected(), 1);
    }
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/me/decisions/{id}/appeal"),
            Some(&creator.token),
            Some(json!({"text": "I only just saw this"})),
        )
        .await;
    assert_problem(s, &b, 409, "conflict");
    assert!(b["detail"].as_str().unwrap().contains("six months"), "{b}");
    // No appeal case was opened.
    let (_, mine) = app.get("/v1/me/decisions", Some(&creator.token)).await;
    assert!(mine["items"][0]["redress"]["appeal"].is_null(), "{mine}");
}

/// A video restricted on a report leaves For You (no label: viewers see
/// none), and a demoted one stays eligible; both are on the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_video_leaves_for_you_and_a_demoted_one_stays() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("rd_creator", "AU").await;
    let reporter = app.signup("rd_reporter", "US").await;
    let viewer = app.signup("rd_viewer", "NZ").await;
    let moderator = staff(&app, "au", "rho_mod", "moderator").await;
    let mut ids = vec![];
    for caption in ["restrict me #rd", "demote me #rd", "leave me #rd"] {
        let v = app.upload_ready(&creator.token, caption, "public").await;
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    decided_case(
        &app,
        &moderator,
        &reporter.token,
        json!({"video_id": ids[0]}),
        decision("restrict", None),
    )
    .await;
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/interventions",
            Some(&moderator),
            Some(json!({"target": {"video_id": ids[1]}, "action": "demote", "statement": {"ground": "terms", "reference": "Editorial policy §3 (recycled content)", "facts": "A re-upload of a clip already in wide circulation."}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for token in [None, Some(viewer.token.as_str())] {
        let offered = for_you_ids(&app, token).await;
        assert!(!offered.contains(&ids[0]), "restricted: {offered:?}");
        assert!(
            offered.contains(&ids[1]),
            "demoted, still eligible: {offered:?}"
        );
        assert!(offered.contains(&ids[2]), "{offered:?}");
    }
    // A restriction is not a label: the video shows none.
    let (_, seen) = app.get(&format!("/v1/videos/{}", ids[0]), None).await;
    assert_eq!(seen["labels"], json!([]));
    let (_, answer) = app.get("/v1/transparency/report?region=au", None).await;
    let report = &answer["regions"][0]["report"];
    assert_eq!(
        report["decisions"]["by_action"]["restrict"]["value"], 1,
        "{report}"
    );
    assert_eq!(report["interventions"]["demote"]["value"], 1, "{report}");
}
