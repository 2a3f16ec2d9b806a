//! A jurisdiction's lifecycle through the real server, as its parties and
//! its users see it: two-party proposals and approvals (and who is
//! refused), a suspension that makes the region read-only while reads,
//! log-in and exports go on, a custodian's suspension under a legal order,
//! resume, and a wind-down that destroys every key, purges every row and
//! closes the log, after which sign-ups go to the successor or are refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const STAFF_PASSWORD: &str = "staff password long";

/// The real binary serving every region on one data directory, as a
/// custodian runs it; restartable and killable.
struct Platform {
    child: Option<Child>,
    api: Api,
    data: PathBuf,
    config: Option<PathBuf>,
    env: Vec<(String, String)>,
}

impl std::ops::Deref for Platform {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Platform {
    async fn start(data: &Path) -> Platform {
        Platform::start_with(data, None, &[]).await
    }

    async fn start_with(data: &Path, config: Option<&Path>, env: &[(&str, &str)]) -> Platform {
        let mut p = Platform {
            child: None,
            api: Api::new(String::new()),
            data: data.to_path_buf(),
            config: config.map(Path::to_path_buf),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        p.up().await;
        p
    }

    /// `sovereel <args> [--config F] --data-dir D`.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sovereel"));
        c.args(args);
        if let Some(f) = &self.config {
            c.arg("--config").arg(f);
        }
        c.arg("--data-dir").arg(&self.data);
        c.env("SOVEREEL_LOG", "warn");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    async fn up(&mut self) {
        let port = free_port();
        self.api = Api::new(format!("http://127.0.0.1:{port}"));
        let child = self
            .command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sovereel");
        self.child = Some(child);
        // Generous: the machine is shared, and three servers start at once.
        for _ in 0..2400 {
            if let Ok(r) = self.client.get(self.url("/healthz")).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not come up");
    }

    /// SIGKILL: no shutdown, no flush.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    async fn restart(&mut self) {
        self.kill();
        self.up().await;
    }

    /// `sovereel staff create`, then a staff log-in; answers the token.
    async fn staff(&self, region: &str, handle: &str, org: &str, role: &str) -> String {
        let mut args = vec!["staff", "create", "--handle", handle, "--role", role];
        match org.strip_prefix("custodian:") {
            Some(name) => args.extend(["--region", region, "--custodian", name]),
            None if org == "platform" => args.extend(["--org", "platform"]),
            None => args.extend(["--region", region]),
        }
        let out = self
            .command(&args)
            .env("SOVEREEL_STAFF_PASSWORD", STAFF_PASSWORD)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (s, token) = staff_login(self, region, handle).await;
        assert_eq!(s, StatusCode::OK, "{handle} logs in");
        token
    }

    /// A region's log and witness keys (`sovereel keys show`).
    fn keys(&self) -> Vec<(String, String, String)> {
        let out = self.command(&["keys", "show"]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let mut it = l.split_whitespace();
                (
                    it.next().unwrap().to_string(),
                    it.next().unwrap().to_string(),
                    it.next().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn witness_keys_but(&self, region: &str) -> Vec<String> {
        self.keys()
            .into_iter()
            .filter(|(r, kind, _)| r != region && kind == "witness")
            .map(|(_, _, k)| k)
            .collect()
    }

    /// `sovereel audit verify` on a region's log over HTTP, pinning `vkey`
    /// and requiring every other region's cosignature.
    fn audit_verify(&self, region: &str, vkey: &str) -> std::process::Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sovereel"));
        cmd.args([
            "audit",
            "verify",
            "--quiet",
            "--log",
            &self.url(&format!("/log/{region}")),
            "--vkey",
            vkey,
        ]);
        for w in self.witness_keys_but(region) {
            cmd.args(["--witness", &w]);
        }
        cmd.output().unwrap()
    }
}

async fn staff_login(app: &Api, region: &str, handle: &str) -> (StatusCode, String) {
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/sessions",
            None,
            Some(json!({"region": region, "handle": handle, "password": STAFF_PASSWORD})),
        )
        .await;
    (s, b["token"].as_str().unwrap_or_default().to_string())
}

async fn propose(app: &Api, token: &str, region: &str, body: Value) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/v1/staff/regions/{region}/lifecycle"),
        Some(token),
        Some(body),
    )
    .await
}

async fn approve(app: &Api, token: &str, region: &str, op: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/v1/staff/regions/{region}/lifecycle/{op}/approve"),
        Some(token),
        None,
    )
    .await
}

/// The parties of `us` and some who are not.
struct Parties {
    platform: String,
    platform_2: String,
    custodian: String,
    custodian_2: String,
    support: String,
    au_custodian: String,
}

async fn parties(app: &Platform) -> Parties {
    Parties {
        platform: app
            .staff("global", "pat_platform", "platform", "operator")
            .await,
        platform_2: app
            .staff("global", "pia_platform", "platform", "operator")
            .await,
        custodian: app
            .staff("us", "cal_custodian", "custodian", "operator")
            .await,
        custodian_2: app
            .staff("us", "cory_custodian", "custodian", "operator")
            .await,
        support: app.staff("us", "sue_support", "custodian", "support").await,
        au_custodian: app
            .staff("au", "ann_custodian", "custodian", "operator")
            .await,
    }
}

async fn region(app: &Api, id: &str) -> Value {
    let (s, r) = app.get(&format!("/v1/regions/{id}"), None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r
}

async fn patch_bio(app: &Api, token: &str, bio: &str) -> (StatusCode, Value) {
    app.call(
        Method::PATCH,
        "/v1/me",
        Some(token),
        Some(json!({"bio": bio})),
    )
    .await
}

async fn signup_status(app: &Api, handle: &str, country: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/v1/accounts",
        None,
        Some(json!({"handle": handle, "password": "correct horse battery", "email": format!("{handle}@mail.example"), "country": country, "birthdate": "1999-04-01"})),
    )
    .await
}

/// Waits until the user's export is ready; answers its archive's bytes.
async fn exported(app: &Api, token: &str, id: &str) -> Vec<u8> {
    for _ in 0..300 {
        let (s, j) = app.get(&format!("/v1/me/exports/{id}"), Some(token)).await;
        assert_eq!(s, StatusCode::OK, "{j}");
        if j["state"] == "ready" {
            let resp = app
                .client
                .get(app.url(&format!("/v1/me/exports/{id}/download")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            return resp.bytes().await.unwrap().to_vec();
        }
        assert_ne!(j["state"], "failed", "{j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("export {id} never became ready");
}

fn lifecycle_steps(entries: &[Value], op: &str) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e["kind"] == "lifecycle" && e["op_id"] == op)
        .map(|e| e["step"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_takes_two_parties_and_leaves_reads_log_in_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let app = Platform::start(&dir.path().join("data")).await;
    let p = parties(&app).await;
    let alice = app.signup("alice_us", "US").await;
    let kim = app.signup("kim_au", "AU").await;

    let us = region(&app, "us").await;
    assert_eq!(us["state"], "active", "{us}");
    assert_eq!(us["custodian"], "Lone Star Data Trust");
    assert!(
        us["log"]["vkey"]
            .as_str()
            .unwrap()
            .starts_with(us["log"]["origin"].as_str().unwrap())
    );
    let (_, all) = app.get("/v1/regions", None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 4, "{all}");

    // Only the two parties take part, and a proposal says why.
    let suspend = json!({"operation": "suspend", "grounds": "Order of the Secretary of Commerce, 20 September"});
    for (who, token) in [
        ("support", &p.support),
        ("another region's custodian", &p.au_custodian),
    ] {
        let (s, b) = propose(&app, token, "us", suspend.clone()).await;
        assert_problem(s, &b, 403, "forbidden");
        assert!(
            b["detail"].as_str().unwrap().contains("operator"),
            "{who}: {b}"
        );
    }
    let (s, b) = propose(&app, &alice.token, "us", suspend.clone()).await;
    assert_problem(s, &b, 401, "unauthorized");
    for bad in [
        json!({"operation": "suspend", "grounds": "  "}),
        json!({"operation": "suspend", "grounds": "x", "notice_days": 3}),
        json!({"operation": "hand_over", "grounds": "a deal"}),
        json!({"operation": "wind_down", "grounds": "a ban"}),
        json!({"operation": "suspend", "grounds": "x", "legal_order": "no. 1"}),
    ] {
        let (s, b) = propose(&app, &p.platform, "us", bad.clone()).await;
        assert_problem(s, &b, 422, "invalid-field");
    }
    let (s, b) = propose(
        &app,
        &p.platform,
        "us",
        json!({"operation": "explode", "grounds": "x"}),
    )
    .await;
    assert!(s.is_client_error(), "{b}");
    let (s, b) = propose(
        &app,
        &p.platform,
        "us",
        json!({"operation": "resume", "grounds": "x"}),
    )
    .await;
    assert_problem(s, &b, 409, "conflict");

    // The platform proposes; neither it nor its side can approve.
    let (s, op) = propose(&app, &p.platform, "us", suspend.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{op}");
    assert_eq!(op["state"], "proposed");
    assert_eq!(op["proposed_by"]["party"], "platform");
    let op_id = op["id"].as_str().unwrap().to_string();
    let (s, b) = approve(&app, &p.platform, "us", &op_id).await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = approve(&app, &p.platform_2, "us", &op_id).await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = approve(&app, &p.support, "us", &op_id).await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = approve(&app, &p.custodian, "us", "lc_nothing").await;
    assert_problem(s, &b, 404, "not-found");
    assert_eq!(
        region(&app, "us").await["state"],
        "active",
        "not before approval"
    );
    let (s, done) = approve(&app, &p.custodian, "us", &op_id).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "done");
    assert_eq!(done["approved_by"]["party"], "custodian");
    let (s, b) = approve(&app, &p.custodian_2, "us", &op_id).await;
    assert_problem(s, &b, 409, "conflict");

    let us = region(&app, "us").await;
    assert_eq!(us["state"], "suspended", "{us}");
    assert!(
        us["grounds"]
            .as_str()
            .unwrap()
            .contains("Secretary of Commerce")
    );
    assert_eq!(us["notice"]["kind"], "suspended");

    // Writes of users homed in us are refused, with the grounds.
    let (s, b) = patch_bio(&app, &alice.token, "still here").await;
    assert_problem(s, &b, 503, "region-suspended");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("Secretary of Commerce"),
        "{b}"
    );
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/users/kim_au/follow",
            Some(&alice.token),
            None,
        )
        .await;
    assert_problem(s, &b, 503, "region-suspended");
    let (s, b) = signup_status(&app, "newcomer_us", "US").await;
    assert_problem(s, &b, 503, "region-suspended");
    // … while other regions keep working.
    let (s, b) = patch_bio(&app, &kim.token, "au is fine").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Reads, log-in and exports keep working.
    let (s, me) = app.get("/v1/me", Some(&alice.token)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["email"], alice.email);
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"handle": "alice_us", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, job) = app
        .call(Method::POST, "/v1/me/exports", Some(&alice.token), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let archive = exported(&app, &alice.token, job["id"].as_str().unwrap()).await;
    assert!(
        archive
            .windows(alice.email.len())
            .any(|w| w == alice.email.as_bytes()),
        "the export holds the user's data"
    );
    // The custodian starts an export for everyone at once; the platform may not.
    let bob = app.signup("bob_au_only", "AU").await;
    let _ = bob;
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/regions/us/exports",
            Some(&p.platform),
            None,
        )
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/staff/regions/us/exports",
            Some(&p.custodian),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(
        b["started"].as_u64().unwrap() + b["under_way"].as_u64().unwrap(),
        1,
        "{b}"
    );

    // Resume: the custodian proposes, the platform approves.
    let (s, op) = propose(
        &app,
        &p.custodian,
        "us",
        json!({"operation": "resume", "grounds": "the order was lifted"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{op}");
    let resume_id = op["id"].as_str().unwrap().to_string();
    let (s, b) = approve(&app, &p.custodian_2, "us", &resume_id).await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = approve(&app, &p.platform_2, "us", &resume_id).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(region(&app, "us").await["state"], "active");
    let (s, b) = patch_bio(&app, &alice.token, "back").await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Every step is on the region's ledger, and its configuration follows.
    let entries = ledger_entries(&app, "us").await;
    assert_eq!(
        lifecycle_steps(&entries, &op_id),
        ["proposed", "approved", "done"]
    );
    assert_eq!(
        lifecycle_steps(&entries, &resume_id),
        ["proposed", "approved", "done"]
    );
    let statuses: Vec<&str> = entries
        .iter()
        .filter(|e| e["kind"] == "region_config")
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "suspended", "active"], "{statuses:?}");
    let proposed = entries
        .iter()
        .find(|e| e["kind"] == "lifecycle" && e["op_id"] == op_id.as_str())
        .unwrap();
    assert_eq!(proposed["by"]["type"], "platform_staff");
    assert!(
        !proposed.to_string().contains("pat_platform"),
        "staff by opaque id only"
    );

    // The staff console lists the operations to either party.
    let (s, list) = app
        .get("/v1/staff/regions/us/lifecycle", Some(&p.custodian))
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custodian_suspends_alone_under_a_legal_order_and_the_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut app = Platform::start(&data).await;
    let custodian = app
        .staff("us", "cal_custodian", "custodian", "operator")
        .await;
    let platform = app
        .staff("global", "pat_platform", "platform", "operator")
        .await;
    let alice = app.signup("alice_us", "US").await;
    let (s, b) = propose(
        &app,
        &platform,
        "us",
        json!({"operation": "suspend", "grounds": "x", "legal_order": "Order 2020-17"}),
    )
    .await;
    assert_problem(s, &b, 422, "invalid-field");
    let (s, op) = propose(
        &app,
        &custodian,
        "us",
        json!({"operation": "suspend", "grounds": "Court order to suspend service", "legal_order": "Case 1:20-cv-03030"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{op}");
    assert_eq!(
        op["state"], "done",
        "ordered by law: at once, by the custodian alone"
    );
    assert_eq!(op["legal_order"], "Case 1:20-cv-03030");
    let (s, b) = patch_bio(&app, &alice.token, "x").await;
    assert_problem(s, &b, 503, "region-suspended");

    // The state is what the log says: the same after a restart (a kill -9).
    app.restart().await;
    let us = region(&app, "us").await;
    assert_eq!(us["state"], "suspended", "{us}");
    assert!(us["grounds"].as_str().unwrap().contains("Court order"));
    let (s, b) = patch_bio(&app, &alice.token, "x").await;
    assert_problem(s, &b, 503, "region-suspended");
}

/// The default regions, `us` naming its successor or none.
fn successor_config(successor: Option<&str>) -> String {
    let mut out = String::new();
    for (id, name, custodian, countries, default) in [
        (
            "us",
            "United States",
            "Lone Star Data Trust",
            r#"["US", "PR", "GU", "VI", "AS", "MP", "UM"]"#,
            false,
        ),
        (
            "au",
            "Australia",
            "Southern Cross Custody",
            r#"["AU", "CX", "CC", "NF", "HM"]"#,
            false,
        ),
        (
            "nz",
            "New Zealand",
            "Aotearoa Data Trust",
            r#"["NZ", "CK", "NU", "TK"]"#,
            false,
        ),
        (
            "global",
            "Global",
            "Sovereel Platform (global custodian)",
            "[]",
            true,
        ),
    ] {
        out.push_str(&format!(
            "[[regions]]\nid = \"{id}\"\nname = \"{name}\"\ncustodian = \"{custodian}\"\ncountries = {countries}\ndefault = {default}\n"
        ));
        if id == "us"
            && let Some(s) = successor
        {
            out.push_str(&format!("successor = \"{s}\"\n"));
        }
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wind_down_destroys_the_keys_purges_the_data_and_closes_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // `us` hands its sign-ups to `global` once it closes.
    let config = dir.path().join("sovereel.toml");
    std::fs::write(&config, successor_config(Some("global"))).unwrap();
    let mut app = Platform::start_with(&data, Some(&config), &[]).await;
    let p = parties(&app).await;
    let alice = app.signup("canary_alice", "US").await;
    let kim = app.signup("kim_au", "AU").await;
    let canaries = [
        alice.email.clone(),
        "canaryalicebio".to_string(),
        "canaryprivatecaption".to_string(),
        "canarycommentprivate".to_string(),
    ];
    let (s, b) = app
        .call(
            Method::PATCH,
            "/v1/me",
            Some(&alice.token),
            Some(json!({"bio": canaries[1]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let private = app
        .upload_ready(&alice.token, &format!("{} hidden", canaries[2]), "private")
        .await;
    let vid = private["id"].as_str().unwrap();
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/videos/{vid}/comments"),
            Some(&alice.token),
            Some(json!({"text": canaries[3]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let public = app
        .upload_ready(&alice.token, "goodbye #closing", "public")
        .await;
    let us_vkey = region(&app, "us").await["log"]["vkey"]
        .as_str()
        .unwrap()
        .to_string();

    // A notice period: read-only, exports open, and a resume cancels it.
    let (s, op) = propose(
        &app,
        &p.platform,
        "us",
        json!({"operation": "wind_down", "grounds": "the ban took effect", "notice_days": 30}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{op}");
    let (s, w) = approve(&app, &p.custodian, "us", op["id"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["state"], "scheduled");
    let us = region(&app, "us").await;
    assert_eq!(us["state"], "winding_down", "{us}");
    assert!(us["wind_down_at"].is_string());
    assert_eq!(us["notice"]["kind"], "winding_down");
    let (s, b) = patch_bio(&app, &alice.token, "x").await;
    assert_problem(s, &b, 503, "region-closing");
    let (s, b) = app
        .call(Method::POST, "/v1/me/exports", Some(&alice.token), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    exported(&app, &alice.token, b["id"].as_str().unwrap()).await;
    let (s, r) = propose(
        &app,
        &p.custodian,
        "us",
        json!({"operation": "resume", "grounds": "a deal was reached"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, b) = approve(&app, &p.platform, "us", r["id"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(region(&app, "us").await["state"], "active");
    let (_, ops) = app
        .get("/v1/staff/regions/us/lifecycle", Some(&p.custodian))
        .await;
    assert!(
        ops["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["operation"] == "wind_down" && o["state"] == "cancelled"),
        "{ops}"
    );

    // The scan below can fail: before the wind-down the canaries are there
    // (the bio and the private caption as plain rows, at least).
    for c in &canaries[1..3] {
        assert!(
            files(&data).iter().any(|f| holds(f, c)),
            "canary {c} is stored before"
        );
    }

    // No notice: carried out at approval.
    let (s, op) = propose(
        &app,
        &p.custodian,
        "us",
        json!({"operation": "wind_down", "grounds": "no deal", "notice_days": 0}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{op}");
    let (s, w) = approve(&app, &p.platform, "us", op["id"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["state"], "done", "{w}");
    let us = region(&app, "us").await;
    assert_eq!(us["state"], "closed", "{us}");

    // Nothing of the region's users is left: no session, no public
    // content, no canary in any file of the data directory.
    let (s, _) = app.get("/v1/me", Some(&alice.token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b) = app.get("/v1/users/canary_alice", None).await;
    assert_problem(s, &b, 404, "not-found");
    let (s, b) = app
        .get(
            &format!("/v1/videos/{}", public["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_problem(s, &b, 404, "not-found");
    let (_, tagged) = app.get("/v1/hashtags/closing", None).await;
    assert!(tagged["items"].as_array().unwrap().is_empty(), "{tagged}");
    for f in files(&data) {
        for c in &canaries {
            assert!(!holds(&f, c), "canary {c} remains in {}", f.display());
        }
    }
    assert!(
        !files(&data.join("keyring").join("us")).iter().any(|f| {
            let n = f.file_name().unwrap().to_string_lossy().to_string();
            n.ends_with(".kek") || n.ends_with(".dek")
        }),
        "every key of us is destroyed"
    );
    // Other regions are untouched.
    let (s, b) = patch_bio(&app, &kim.token, "au goes on").await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // The log closed with region_closed, cosigned, and still verifies.
    let entries = ledger_entries(&app, "us").await;
    let last = entries.last().unwrap();
    assert_eq!(last["kind"], "region_closed", "{last}");
    assert_eq!(last["accounts_purged"], 1);
    assert!(last["keys_destroyed"].as_u64().unwrap() >= 2, "{last}");
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "key_destroyed" && e["key_class"] == "kek")
    );
    let out = app.audit_verify("us", &us_vkey);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("3 cosignatures"), "{report}");

    // Sign-ups from its countries go to its successor.
    let (s, b) = signup_status(&app, "after_close", "US").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["region"]["id"], "global", "{b}");

    // After a restart the region is still closed and makes no key; without
    // a successor, sign-ups from its countries are refused.
    std::fs::write(&config, successor_config(None)).unwrap();
    app.restart().await;
    assert_eq!(region(&app, "us").await["state"], "closed");
    assert!(
        !files(&data.join("keyring").join("us"))
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "kek"))
    );
    assert_eq!(
        ledger_entries(&app, "us").await.last().unwrap()["kind"],
        "region_closed"
    );
    let (s, b) = signup_status(&app, "after_close_2", "US").await;
    assert_problem(s, &b, 410, "region-closed");
}
