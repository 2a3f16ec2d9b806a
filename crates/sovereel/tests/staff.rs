//! Staff through the policy gateway, over HTTP: support sees status only; an
//! operator reads protected data only under the user's request id; platform
//! staff see aggregates and nothing protected; denials and allowed accesses
//! reach the ledger (the user sees the allowed ones in their access log);
//! forged and ended staff sessions are refused; release activation is the
//! region custodian's.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sovereel_store::{Backend, StaffRecord};

async fn staff(app: &TestApp, region: &str, handle: &str, org: &str, role: &str) -> String {
    let hash = sovereel_server::auth::hash_password("staff password long").unwrap();
    let plane = app.app.local(region).unwrap();
    plane
        .store()
        .create_staff(&StaffRecord {
            id: format!("staff-{handle}"),
            handle: handle.into(),
            org: org.into(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_act_only_within_policy_and_on_the_record() {
    let app = spawn(Backend::Sqlite).await;
    let user = app.signup("staff_subject", "AU").await;
    let support = staff(&app, "au", "sam_support", "custodian", "support").await;
    let operator = staff(&app, "au", "olly_operator", "custodian", "operator").await;
    let nz_operator = staff(&app, "nz", "nina_operator", "custodian", "operator").await;
    let platform = staff(&app, "global", "pat_platform", "platform", "operator").await;

    // Support: status yes, protected data no.
    let (s, st) = app
        .get("/v1/staff/users/staff_subject/status", Some(&support))
        .await;
    assert_eq!(s, StatusCode::OK, "{st}");
    assert_eq!(st["state"], "active");
    assert!(st.get("email").is_none());
    let (s, b) = app
        .get("/v1/staff/users/staff_subject/protected", Some(&support))
        .await;
    assert_problem(s, &b, 403, "forbidden");
    assert!(
        !b.to_string().contains("mail.example"),
        "a refusal carries no data"
    );

    // Operator: only under the user's own data request.
    let (s, b) = app
        .get("/v1/staff/users/staff_subject/protected", Some(&operator))
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = app
        .get(
            "/v1/staff/users/staff_subject/protected?request_id=au_made_up",
            Some(&operator),
        )
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let (_, job) = app
        .call(Method::POST, "/v1/me/exports", Some(&user.token), None)
        .await;
    let request = job["id"].as_str().unwrap();
    let (s, p) = app
        .get(
            &format!("/v1/staff/users/staff_subject/protected?request_id={request}"),
            Some(&operator),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["email"], user.email);
    // Another region's operator gets nothing, even with the request id.
    let (s, b) = app
        .get(
            &format!("/v1/staff/users/staff_subject/protected?request_id={request}"),
            Some(&nz_operator),
        )
        .await;
    assert_problem(s, &b, 403, "forbidden");

    // Platform staff: nothing protected, anywhere; aggregates with k ≥ 50.
    for path in [
        "/v1/staff/users/staff_subject/status",
        &format!("/v1/staff/users/staff_subject/protected?request_id={request}"),
    ] {
        let (s, b) = app.get(path, Some(&platform)).await;
        assert_problem(s, &b, 403, "forbidden");
    }
    let (s, agg) = app.get("/v1/staff/aggregates", Some(&platform)).await;
    assert_eq!(s, StatusCode::OK, "{agg}");
    let au = agg
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == "au")
        .unwrap();
    assert!(
        au["accounts"].is_null(),
        "one account is below k-anonymity 50: {au}"
    );

    // The ledger holds every staff denial and the allowed operator access;
    // the user sees the allowed one, not the denials of other principals.
    let entries = ledger_entries(&app, "au").await;
    let access: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "access").collect();
    assert!(
        access.iter().any(
            |e| e["decision"] == "allow" && e["principal"]["staff_id"] == "staff-olly_operator"
        ),
        "{access:?}"
    );
    assert!(
        access
            .iter()
            .any(|e| e["decision"] == "deny" && e["principal"]["staff_id"] == "staff-sam_support")
    );
    assert!(
        access
            .iter()
            .any(|e| e["decision"] == "deny" && e["principal"]["staff_id"] == "staff-pat_platform"),
        "{access:?}"
    );
    let (_, log) = app.get("/v1/me/access-log", Some(&user.token)).await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["entry"]["principal"]["staff_id"] == "staff-olly_operator"),
        "{log}"
    );

    // Releases are the region custodian's to see and activate.
    let (s, r) = app
        .get("/v1/staff/regions/au/releases", Some(&operator))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["active"], "default-1");
    let (s, b) = app
        .get("/v1/staff/regions/au/releases", Some(&platform))
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = app
        .get("/v1/staff/regions/au/releases", Some(&nz_operator))
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let resp = app
        .client
        .post(app.url("/v1/staff/regions/au/releases"))
        .bearer_auth(&operator)
        .body("not a release note")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, r) = app
        .get("/v1/staff/regions/au/releases", Some(&operator))
        .await;
    assert_eq!(
        r["active"], "default-1",
        "a refused release leaves the running one"
    );

    // The whole release path through staff endpoints: the platform signs,
    // the region's custodian approves, the region activates.
    let manifest =
        serde_json::to_string(&sovereel_recs::Manifest::default_with_id("staff-2")).unwrap();
    let signed = app
        .client
        .post(app.url("/v1/staff/releases"))
        .bearer_auth(&platform)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::CREATED);
    let signed = signed.text().await.unwrap();
    let denied = app
        .client
        .post(app.url("/v1/staff/releases"))
        .bearer_auth(&operator)
        .body(manifest)
        .send()
        .await
        .unwrap();
    assert_eq!(
        denied.status(),
        StatusCode::FORBIDDEN,
        "custodians do not sign releases"
    );
    let denied = app
        .client
        .post(app.url("/v1/staff/regions/au/approvals"))
        .bearer_auth(&nz_operator)
        .body(signed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        denied.status(),
        StatusCode::FORBIDDEN,
        "nz's custodian cannot approve for au"
    );
    let approved = app
        .client
        .post(app.url("/v1/staff/regions/au/approvals"))
        .bearer_auth(&operator)
        .body(signed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::CREATED);
    let approved = approved.text().await.unwrap();
    let (_, r) = app
        .get("/v1/staff/regions/au/releases", Some(&operator))
        .await;
    assert_eq!(r["active"], "default-1", "approved is not yet active");
    let activated = app
        .client
        .post(app.url("/v1/staff/regions/au/releases"))
        .bearer_auth(&operator)
        .body(signed)
        .send()
        .await
        .unwrap();
    assert_eq!(
        activated.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a note without the custodian's approval is refused"
    );
    let activated = app
        .client
        .post(app.url("/v1/staff/regions/au/releases"))
        .bearer_auth(&operator)
        .body(approved)
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), StatusCode::OK);
    let (_, page) = app.get("/v1/feed/for-you", Some(&user.token)).await;
    assert_eq!(page["release"], "staff-2");
    let stages: Vec<Value> = ledger_entries(&app, "au")
        .await
        .into_iter()
        .filter(|e| e["kind"] == "release" && e["release_id"] == "staff-2")
        .map(|e| e["stage"].clone())
        .collect();
    assert!(
        stages.contains(&json!("proposed")) && stages.contains(&json!("approved")),
        "{stages:?}"
    );

    // Forged, user and ended sessions are refused.
    for token in ["staff.au.forged", user.token.as_str()] {
        let (s, b) = app
            .get("/v1/staff/users/staff_subject/status", Some(token))
            .await;
        assert_problem(s, &b, 401, "unauthorized");
    }
    let (s, _) = app
        .call(
            Method::DELETE,
            "/v1/staff/sessions/current",
            Some(&support),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app
        .get("/v1/staff/users/staff_subject/status", Some(&support))
        .await;
    assert_problem(s, &b, 401, "unauthorized");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/sessions",
            None,
            Some(json!({"region": "au", "handle": "sam_support", "password": "wrong"})),
        )
        .await;
    assert_problem(s, &b, 401, "bad-credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_policy_set_stops_start_up_with_the_validators_message() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    for (name, breakage) in [
        ("syntax", "permit(principal, action, resource"),
        (
            "type",
            "@id(\"bad-type\")\npermit(principal, action, resource) when { principal.no_such_attribute == 3 };",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            root.join("schema.cedarschema"),
            dir.path().join("schema.cedarschema"),
        )
        .unwrap();
        let mut policies = std::fs::read_to_string(root.join("default.cedar")).unwrap();
        policies.push('\n');
        policies.push_str(breakage);
        std::fs::write(dir.path().join("default.cedar"), policies).unwrap();
        let mut dbs = sovereel_store::testing::TestDatabases::new(Backend::Sqlite);
        let _ = dbs.url("unused");
        let config = sovereel_server::Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dbs.dir().join("data"),
            policies: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let err = match sovereel_server::Server::build(config).await {
            Ok(_) => panic!("a {name} error in the policies must stop start-up"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains("policy set"), "{name}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_work_only_open_cases_assigned_to_them() {
    let app = spawn(Backend::Sqlite).await;
    let creator = app.signup("mod_creator", "AU").await;
    let reporter = app.signup("mod_reporter", "US").await;
    let video = app
        .upload_ready(&creator.token, "miracle cure #health", "public")
        .await;
    let vid = video["id"].as_str().unwrap();
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/reports",
            Some(&reporter.token),
            Some(json!({"target": {"video_id": vid}, "category": "nonsense"})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, r) = app
        .call(
            Method::POST,
            "/v1/reports",
            Some(&reporter.token),
            Some(
                json!({"target": {"video_id": vid}, "category": "misinformation", "note": "claims a cure"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");

    let mia = staff(&app, "au", "mia_mod", "custodian", "moderator").await;
    let max = staff(&app, "au", "max_mod", "custodian", "moderator").await;
    let nz_mod = staff(&app, "nz", "nz_mod", "custodian", "moderator").await;
    let support = staff(&app, "au", "sue_support", "custodian", "support").await;
    let (s, list) = app.get("/v1/staff/cases", Some(&mia)).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let case = list["items"][0]["id"].as_str().unwrap().to_string();
    assert!(
        !list.to_string().contains("mod_reporter"),
        "a case does not name the reporter"
    );
    let (_, nz_list) = app.get("/v1/staff/cases", Some(&nz_mod)).await;
    assert_eq!(
        nz_list["items"],
        json!([]),
        "cases stay in the content's region"
    );
    let (s, b) = app.get("/v1/staff/cases", Some(&support)).await;
    assert_problem(s, &b, 403, "forbidden");

    // Not assigned yet: the item is refused (and the denial ledgered).
    let (s, b) = app
        .get(&format!("/v1/staff/cases/{case}/item"), Some(&mia))
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{case}/assign"),
            Some(&mia),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, item) = app
        .get(&format!("/v1/staff/cases/{case}/item"), Some(&mia))
        .await;
    assert_eq!(s, StatusCode::OK, "{item}");
    assert_eq!(item["video"]["caption"], "miracle cure #health");
    // Another moderator, not assigned, gets nothing.
    let (s, b) = app
        .get(&format!("/v1/staff/cases/{case}/item"), Some(&max))
        .await;
    assert_problem(s, &b, 403, "forbidden");
    // An action needs a statement of reasons.
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/staff/cases/{case}/actions"),
            Some(&mia),
            Some(json!({"action": "label", "label": "unverified", "statement": {"ground": "", "facts": "x"}})),
        )
        .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, done) = app
        .call(Method::POST, &format!("/v1/staff/cases/{case}/actions"), Some(&mia), Some(json!({"action": "label", "label": "unverified", "statement": {"ground": "terms", "reference": "Terms §4: health misinformation", "facts": "The video claims a cure without evidence."}})))
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["case"]["state"], "closed");
    let (_, v) = app.get(&format!("/v1/videos/{vid}"), None).await;
    assert_eq!(v["labels"][0]["kind"], "unverified", "{v}");
    // Closed: no more reading, even for the assignee.
    let (s, b) = app
        .get(&format!("/v1/staff/cases/{case}/item"), Some(&mia))
        .await;
    assert_problem(s, &b, 403, "forbidden");
    // The ledger holds the allowed read, the denials and the action; the
    // creator sees what concerned them.
    let entries = ledger_entries(&app, "au").await;
    assert!(
        entries.iter().any(|e| e["kind"] == "moderation"
            && e["action"] == "label"
            && e["reference"].as_str().unwrap().contains("Terms")),
        "{entries:?}"
    );
    assert!(entries.iter().any(|e| e["kind"] == "access"
        && e["action"] == "ReadCaseItem"
        && e["decision"] == "allow"));
    assert!(
        entries
            .iter()
            .filter(|e| e["kind"] == "access"
                && e["action"] == "ReadCaseItem"
                && e["decision"] == "deny")
            .count()
            >= 3
    );
    let (_, log) = app.get("/v1/me/access-log", Some(&creator.token)).await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["entry"]["kind"] == "moderation"),
        "{log}"
    );
}
