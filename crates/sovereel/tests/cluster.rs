//! The split deployment, as the README's deployment guide runs it: `sovereel
//! cluster init` on PostgreSQL and NATS JetStream, four region services and
//! two edges as separate processes, each with its own data directory.
//!
//! The core story runs through both edges, alternating; then the residency
//! of every canary is checked byte by byte, an edge's own credentials try
//! the plane API without a user's token, one region is killed with SIGKILL
//! under write load and restarted, and a second process for a running
//! region must refuse to start. Go's sumdb/tlog then follows every region's
//! log through an edge: the logs after the failure extend the checkpoints
//! from before it, so none forked.
//!
//! It needs PostgreSQL (`SOVEREEL_TEST_POSTGRES`, set by scripts/test) and
//! NATS JetStream on 127.0.0.1:4222 (started by scripts/ensure-test-deps).

mod common;
#[path = "../../ledger/tests/support/go.rs"]
mod go;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_sovereel");

struct Cluster {
    dir: tempfile::TempDir,
    postgres: String,
    /// role → its start command.
    roles: BTreeMap<String, String>,
    children: BTreeMap<String, Child>,
    edges: Vec<Api>,
}

fn free_base_port() -> u16 {
    // Six consecutive free ports: two edges and four regions.
    for _ in 0..200 {
        let base = 20_000 + (rand_u16() % 30_000);
        if (0..6).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free ports");
}

fn rand_u16() -> u16 {
    u16::from_str_radix(&sovereel_model::random_hex(2), 16).unwrap()
}

impl Cluster {
    async fn start(postgres: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let base = free_base_port();
        let name = format!("t{:04x}{:04x}", rand_u16(), rand_u16());
        let out = Command::new(BIN)
            .args(["cluster", "init", "--out"])
            .arg(dir.path().join("c"))
            .args(["--postgres", postgres, "--nats", "nats://127.0.0.1:4222"])
            .args(["--base-port", &base.to_string(), "--name", &name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cluster init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tsv = std::fs::read_to_string(dir.path().join("c/roles.tsv")).unwrap();
        let roles: BTreeMap<String, String> = tsv
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(r, c)| (r.to_string(), c.to_string()))
            .collect();
        assert_eq!(roles.len(), 5, "{tsv}");
        // A second edge: the same command, its own port and directory (a
        // copy of the edge's credentials, as on a second machine).
        let edge_dir = dir.path().join("c/edge");
        let edge2_dir = dir.path().join("c/edge2");
        copy_dir(&edge_dir, &edge2_dir);
        let edge2 = roles["edge"]
            .replace(
                &edge_dir.display().to_string(),
                &edge2_dir.display().to_string(),
            )
            .replace(&format!(":{base}"), &format!(":{}", base + 5));
        let mut c = Cluster {
            dir,
            postgres: postgres.to_string(),
            roles,
            children: BTreeMap::new(),
            edges: vec![],
        };
        c.roles.insert("edge2".into(), edge2);
        for role in ["region:us", "region:au", "region:nz", "region:global"] {
            c.spawn(role);
        }
        for role in ["region:us", "region:au", "region:nz", "region:global"] {
            c.wait_listening(role).await;
        }
        c.spawn("edge");
        c.spawn("edge2");
        for (role, port) in [("edge", base), ("edge2", base + 5)] {
            c.wait_listening(role).await;
            c.edges.push(Api::new(format!("http://127.0.0.1:{port}")));
        }
        c
    }

    fn spawn(&mut self, role: &str) {
        let log = std::fs::File::create(
            self.dir
                .path()
                .join(format!("{}.log", role.replace(':', "-"))),
        )
        .unwrap();
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {}", self.roles[role]))
            .env("SOVEREEL_LIMITS__DELETION_GRACE_SECS", "0")
            .env("SOVEREEL_LOG", "warn")
            .env("SOVEREEL_LIMITS__RATES__ENABLED", "false")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children.insert(role.to_string(), child);
    }

    fn listen_addr(&self, role: &str) -> String {
        let cmd = &self.roles[role];
        cmd.split("--listen ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }

    async fn wait_listening(&mut self, role: &str) {
        let addr = self.listen_addr(role);
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                return;
            }
            if let Some(status) = self.children.get_mut(role).unwrap().try_wait().unwrap() {
                panic!("{role} exited ({status}): {}", self.log(role));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{role} never listened: {}", self.log(role));
    }

    fn log(&self, role: &str) -> String {
        std::fs::read_to_string(
            self.dir
                .path()
                .join(format!("{}.log", role.replace(':', "-"))),
        )
        .unwrap_or_default()
    }

    fn kill9(&mut self, role: &str) {
        let mut child = self.children.remove(role).unwrap();
        Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status()
            .unwrap();
        let _ = child.wait();
    }

    fn cluster_dir(&self) -> PathBuf {
        self.dir.path().join("c")
    }

    /// A client holding the edge's own TLS credentials, and nothing else.
    fn edge_credentials(&self) -> reqwest::Client {
        let d = self.cluster_dir();
        let mut pem = std::fs::read(d.join("edge/tls/cert.pem")).unwrap();
        pem.extend(std::fs::read(d.join("edge/tls/key.pem")).unwrap());
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(&std::fs::read(d.join("ca.pem")).unwrap()).unwrap(),
            )
            .identity(reqwest::Identity::from_pem(&pem).unwrap())
            .build()
            .unwrap()
    }

    fn region_url(&self, region: &str) -> String {
        format!("https://{}", self.listen_addr(&format!("region:{region}")))
    }

    fn database(&self, part: &str) -> String {
        let toml = std::fs::read_to_string(self.cluster_dir().join("cluster.toml")).unwrap();
        let v: toml::Value = toml::from_str(&toml).unwrap();
        if part == "catalog" {
            return v["catalog"].as_str().unwrap().to_string();
        }
        v["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"].as_str() == Some(part))
            .unwrap()["storage"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for role in self.roles.keys() {
                eprintln!("----- {role} -----\n{}", self.log(role));
            }
        }
        for (_, c) in self.children.iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new(BIN)
            .args(["cluster", "destroy", "--dir"])
            .arg(self.cluster_dir())
            .args(["--postgres", &self.postgres])
            .status();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Every byte of every file under `dir`, as text where it is text.
fn files_text(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn poll<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn split_deployment_story_residency_custody_and_failure() {
    let Ok(postgres) = std::env::var("SOVEREEL_TEST_POSTGRES") else {
        eprintln!(
            "SOVEREEL_TEST_POSTGRES is not set: the cluster test needs PostgreSQL and NATS (scripts/test sets it)"
        );
        return;
    };
    let mut c = Cluster::start(&postgres).await;
    let edges = std::mem::take(&mut c.edges);
    let e = |i: usize| &edges[i % 2];

    // Sign-up in the US and in Australia, through different edges.
    let us = e(0).signup("sam_us", "US").await;
    let au = e(1).signup("ava_au", "AU").await;
    let (_, me) = e(1).get("/v1/me", Some(&us.token)).await;
    assert_eq!(me["region"]["id"], "us", "{me}");
    assert_eq!(me["email"], us.email);

    // Upload in AU; a US viewer finds it through search, reads and plays it.
    let v = e(0)
        .upload_ready(&au.token, "Flatwhite art #coffee", "public")
        .await;
    let id = v["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("au_"));
    let (s, found) = e(1).get("/v1/search?q=flatwhite", Some(&us.token)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(found.to_string().contains(&id), "{found}");
    let (s, got) = e(0).get(&format!("/v1/videos/{id}"), Some(&us.token)).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(ranged(e(1), &id, &us.token, 0, 99).await, 100);

    // Cross-region like, comment and follow.
    let (s, liked) = e(0)
        .call(
            Method::PUT,
            &format!("/v1/videos/{id}/like"),
            Some(&us.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{liked}");
    comment(e(1), &us.token, &id, "lovely crema").await;
    let (s, f) = e(0)
        .call(
            Method::PUT,
            "/v1/users/ava_au/follow",
            Some(&us.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(f["state"], "approved");
    poll(
        "the like and the comment to reach the AU creator's counters",
        || async {
            let (_, v) = e(1).get(&format!("/v1/videos/{id}"), None).await;
            v["counts"]["likes"] == 1 && v["counts"]["comments"] == 1
        },
    )
    .await;
    let (s, fy) = e(1).get("/v1/feed/for-you", Some(&us.token)).await;
    assert_eq!(s, StatusCode::OK, "{fy}");
    let (s, fl) = e(0).get("/v1/feed/following", Some(&us.token)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(fl.to_string().contains(&id), "{fl}");

    // A private video is the author's alone; a followers-only one reaches
    // the approved follower in another region, sealed media included.
    let private = e(1)
        .upload_ready(&au.token, "canary-private-caption-7f3a", "private")
        .await;
    let pid = private["id"].as_str().unwrap().to_string();
    let (s, body) = e(0)
        .get(&format!("/v1/videos/{pid}"), Some(&us.token))
        .await;
    assert_problem(s, &body, 404, "not-found");
    let (s, _) = e(1)
        .get(&format!("/v1/videos/{pid}"), Some(&au.token))
        .await;
    assert_eq!(s, StatusCode::OK);
    let fo = e(0)
        .upload_ready(&au.token, "canary-followers-caption-91bc", "followers")
        .await;
    let fid = fo["id"].as_str().unwrap().to_string();
    let (s, got) = e(1)
        .get(&format!("/v1/videos/{fid}"), Some(&us.token))
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(ranged(e(0), &fid, &us.token, 10, 209).await, 200);
    comment(e(1), &us.token, &fid, "canary-comment-on-followers-2d4e").await;
    let (s, list) = e(0)
        .get(&format!("/v1/videos/{fid}/comments"), Some(&au.token))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        list.to_string()
            .contains("canary-comment-on-followers-2d4e"),
        "{list}"
    );

    // The AU creator's access log shows the US follower's sealed-media grant.
    let (s, log) = e(1).get("/v1/me/access-log", Some(&au.token)).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    assert!(log.to_string().contains("followers-only video"), "{log}");

    // Every region's log, as the privacy centre lists them, through an edge.
    let (s, t) = e(1).get("/v1/transparency", None).await;
    assert_eq!(s, StatusCode::OK);
    let mut ids: Vec<&str> = t["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["au", "global", "nz", "us"], "{t}");

    // A US viewer reports the AU video: the report stays in us, the case
    // opens in au (a plane call), and each region's transparency report,
    // gathered by the edge, counts its own log.
    let (s, r) = e(0)
        .call(
            Method::POST,
            "/v1/reports",
            Some(&us.token),
            Some(json!({"target": {"video_id": id}, "category": "spam"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert!(r["case_id"].as_str().unwrap().starts_with("au_"), "{r}");
    let (s, report) = e(1).get("/v1/transparency/report", None).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let regions = report["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 4, "{report}");
    let au_report = regions.iter().find(|r| r["region"] == "au").unwrap();
    assert_eq!(au_report["report"]["reports"]["value"], 1, "{au_report}");
    let (s, one) = e(0).get("/v1/transparency/report?region=nz", None).await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one["regions"][0]["region"], "nz");

    // Export.
    let (s, job) = e(0)
        .call(Method::POST, "/v1/me/exports", Some(&us.token), None)
        .await;
    assert!(s.is_success(), "{job}");
    let job_id = job["id"].as_str().unwrap().to_string();
    let mut url = String::new();
    for _ in 0..300 {
        let (_, j) = e(1)
            .get(&format!("/v1/me/exports/{job_id}"), Some(&us.token))
            .await;
        if j["state"] == "ready" {
            url = j["download_url"].as_str().unwrap().to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!url.is_empty(), "the export never finished");
    let archive = e(0)
        .client
        .get(e(0).url(&url))
        .bearer_auth(&us.token)
        .send()
        .await
        .unwrap();
    assert_eq!(archive.status(), StatusCode::OK);
    assert!(contains(&archive.bytes().await.unwrap(), &us.email));

    // Residency: each canary only under its own region's directory and
    // database; nothing protected, and no key, under either edge.
    let canaries = [
        ("au", "canary-private-caption-7f3a"),
        ("au", "canary-followers-caption-91bc"),
        ("us", "canary-comment-on-followers-2d4e"),
    ];
    let mut dbs = BTreeMap::new();
    for part in ["us", "au", "nz", "global", "catalog"] {
        dbs.insert(part, dump_text(&c.database(part)).await.join("\n"));
    }
    let mut dirs = BTreeMap::new();
    for part in ["us", "au", "nz", "global"] {
        dirs.insert(
            part,
            files_text(&c.cluster_dir().join(format!("region-{part}"))),
        );
    }
    for (home, canary) in canaries {
        for (part, text) in &dbs {
            assert_eq!(
                text.contains(canary),
                *part == home,
                "{canary} in the {part} database"
            );
        }
        for (part, files) in &dirs {
            if *part != home {
                for (p, b) in files {
                    assert!(!contains(b, canary), "{canary} in {}", p.display());
                }
            }
        }
    }
    for edge in ["edge", "edge2"] {
        let files = files_text(&c.cluster_dir().join(edge));
        for (p, b) in &files {
            let rel = p.strip_prefix(c.cluster_dir().join(edge)).unwrap();
            assert!(
                rel.starts_with("tls"),
                "an edge holds only its TLS credential, found {}",
                p.display()
            );
            for (_, canary) in canaries {
                assert!(!contains(b, canary));
            }
            assert!(!contains(b, &us.email) && !contains(b, &au.email));
        }
    }
    for part in ["us", "au", "nz", "global"] {
        let keyring = c.cluster_dir().join(format!("region-{part}/keyring"));
        let ids: Vec<String> = std::fs::read_dir(&keyring)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(
            ids,
            vec![part.to_string()],
            "region {part} holds only its own keys"
        );
    }

    // The custody boundary: an edge's credentials without a user's token.
    let edge_client = c.edge_credentials();
    let au_url = c.region_url("au");
    let au_id = user_id(&c.database("catalog"), "ava_au").await;
    let us_id = user_id(&c.database("catalog"), "sam_us").await;
    let attempts = [
        json!({"op": "video", "id": pid, "viewer": null}),
        json!({"op": "video", "id": fid, "viewer": us_id}),
        json!({"op": "follow_state", "follower": au_id, "followee": us_id}),
        json!({"op": "blockers_of", "user": au_id}),
        json!({"op": "pending_requests", "followee": au_id, "limit": 10}),
        json!({"op": "comments", "video": fid, "parent": null, "cursor": null, "limit": 10, "viewer": us_id}),
        json!({"op": "author_videos", "authors": [au_id], "visibilities": ["private"], "viewer": null, "cursor": null, "limit": 10}),
    ];
    let (_, before) = e(0).get("/log/au/checkpoint", None).await;
    let before_size = checkpoint_size(&before);
    for a in &attempts {
        let r = edge_client
            .post(format!("{au_url}/plane/v1/call"))
            .json(a)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{a}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("canary") && !body.contains(&au.email),
            "{body}"
        );
    }
    for kind in ["stream", "poster"] {
        let r = edge_client
            .get(format!("{au_url}/plane/v1/media/{pid}/{kind}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    for path in ["/v1/me", "/v1/me/access-log", "/v1/me/exports/x"] {
        let r = edge_client
            .get(format!("{au_url}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Without any certificate, the region's service does not talk at all.
    let anonymous = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert!(
        anonymous
            .get(format!("{au_url}/v1/regions"))
            .send()
            .await
            .is_err()
    );
    let denials = attempts.len() + 2;
    poll("the refusals on AU's ledger", || async {
        let entries = ledger_entries_after(e(0), "au", before_size).await;
        entries
            .iter()
            .filter(|x| x["decision"] == "deny" && x.to_string().contains("service:edge"))
            .count()
            >= denials
    })
    .await;

    // Failure: NZ dies under write load; NZ users get 503 with
    // Retry-After, US users keep writing; after a restart nothing
    // acknowledged is missing and the counters agree with the rows.
    let nz = e(0).signup("nia_nz", "NZ").await;
    let load = |token: String, tag: &'static str, edge: usize| {
        let api = Api::new(edges[edge].base.clone());
        let id = id.clone();
        tokio::spawn(async move {
            let (mut acked, mut unavailable) = (vec![], 0);
            for i in 0..60 {
                let text = format!("{tag}-{i}");
                let (s, b) = api
                    .call(
                        Method::POST,
                        &format!("/v1/videos/{id}/comments"),
                        Some(&token),
                        Some(json!({"text": text})),
                    )
                    .await;
                match s.as_u16() {
                    201 => acked.push(text),
                    503 => {
                        assert_eq!(b["type"], "/problems/region-unavailable", "{b}");
                        unavailable += 1;
                    }
                    other => panic!("{tag}: unexpected {other}: {b}"),
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            (acked, unavailable)
        })
    };
    // Each region's checkpoint before the failure, for Go to check later
    // that the logs after it extend these (no fork, no rollback).
    let before = c.dir.path().join("checkpoints-before");
    std::fs::create_dir_all(&before).unwrap();
    for region in ["us", "au", "nz", "global"] {
        let cp = e(0)
            .client
            .get(e(0).url(&format!("/log/{region}/checkpoint")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        std::fs::write(before.join(region), cp).unwrap();
    }
    let nz_load = load(nz.token.clone(), "nz-load", 0);
    let us_load = load(us.token.clone(), "us-load", 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    c.kill9("region:nz");
    let r = e(1)
        .client
        .get(e(1).url("/v1/me"))
        .bearer_auth(&nz.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key(header::RETRY_AFTER));
    tokio::time::sleep(Duration::from_millis(800)).await;
    c.spawn("region:nz");
    c.wait_listening("region:nz").await;
    let (nz_acked, nz_down) = nz_load.await.unwrap();
    let (us_acked, us_down) = us_load.await.unwrap();
    assert!(nz_down > 0, "NZ's users saw its outage");
    assert_eq!(us_down, 0, "US users kept writing while NZ was down");
    assert_eq!(us_acked.len(), 60);
    let want: Vec<String> = nz_acked.iter().chain(us_acked.iter()).cloned().collect();
    poll(
        "every acknowledged comment, and counters that agree",
        || async {
            let (_, list) = e(0)
                .get(&format!("/v1/videos/{id}/comments?limit=100"), None)
                .await;
            let mut texts: Vec<String> = vec![];
            let mut cursor: Option<String> = None;
            let mut page = list;
            loop {
                for it in page["items"].as_array().cloned().unwrap_or_default() {
                    texts.push(it["text"].as_str().unwrap_or_default().to_string());
                }
                match page["next_cursor"].as_str() {
                    Some(n) if Some(n.to_string()) != cursor => {
                        cursor = Some(n.to_string());
                        page = e(1)
                            .get(
                                &format!("/v1/videos/{id}/comments?limit=100&cursor={n}"),
                                None,
                            )
                            .await
                            .1;
                    }
                    _ => break,
                }
            }
            let (_, v) = e(1).get(&format!("/v1/videos/{id}"), None).await;
            want.iter().all(|w| texts.contains(w))
                && v["counts"]["comments"].as_u64() == Some(texts.len() as u64)
        },
    )
    .await;

    // One writer per log: a second process for a running region refuses
    // to start, on the same directory and on another one.
    let second = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec {}",
            c.roles["region:au"].replace(&c.listen_addr("region:au"), "127.0.0.1:0")
        ))
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already served"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let other_dir = c.dir.path().join("au-elsewhere");
    copy_dir(
        &c.cluster_dir().join("region-au/tls"),
        &other_dir.join("tls"),
    );
    let cmd = c.roles["region:au"]
        .replace(&c.listen_addr("region:au"), "127.0.0.1:0")
        .replace(
            &c.cluster_dir().join("region-au").display().to_string(),
            &other_dir.display().to_string(),
        );
    let second = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {cmd}"))
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already served"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // Blocks across regions hide both ways: the author's block is decided
    // at the video's home, the viewer's own at the viewer's.
    let (s, _) = e(0).get(&format!("/v1/videos/{id}"), Some(&nz.token)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = e(1)
        .call(Method::PUT, "/v1/users/ava_au/block", Some(&nz.token), None)
        .await;
    assert!(s.is_success());
    let (s, body) = e(0).get(&format!("/v1/videos/{id}"), Some(&nz.token)).await;
    assert_problem(s, &body, 404, "not-found");
    let (s, _) = e(1)
        .call(Method::PUT, "/v1/users/sam_us/block", Some(&au.token), None)
        .await;
    assert!(s.is_success());
    let (s, body) = e(0).get(&format!("/v1/videos/{id}"), Some(&us.token)).await;
    assert_problem(s, &body, 404, "not-found");

    // Deletion with shred, then the log verifies in the auditor's way.
    let (s, _) = e(1)
        .call(Method::DELETE, "/v1/me", Some(&us.token), None)
        .await;
    assert!(s.is_success());
    poll("the US account to be shredded", || async {
        dump_text(&c.database("us"))
            .await
            .iter()
            .all(|l| !l.contains("canary-comment-on-followers-2d4e"))
    })
    .await;
    let (s, _) = e(0).get("/v1/users/sam_us", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The verifier keys are pinned from the cluster file, not taken from
    // the logs being checked.
    let cluster: toml::Value =
        toml::from_str(&std::fs::read_to_string(c.cluster_dir().join("cluster.toml")).unwrap())
            .unwrap();
    let go = go::build_interop(c.dir.path());
    for region in ["us", "au", "nz", "global"] {
        let vkey = cluster["cluster"]["regions"][region]["log_vkey"]
            .as_str()
            .unwrap()
            .to_string();
        // An independent client (Go's sumdb/tlog) reads the live log
        // through an edge: every tile and entry checks against the signed
        // checkpoint, which extends the one from before the failure.
        let out = Command::new(&go)
            .arg("follow")
            .arg(e(0).url(&format!("/log/{region}")))
            .arg(&vkey)
            .arg(before.join(region))
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("OK "),
            "Go rejects the {region} log: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The same check refuses a checkpoint the pinned key did not sign.
        let other = if region == "us" { "au" } else { "us" };
        let out = Command::new(&go)
            .arg("follow")
            .arg(e(0).url(&format!("/log/{region}")))
            .arg(&vkey)
            .arg(before.join(other))
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "Go accepted {other}'s checkpoint for {region}"
        );
        let out = Command::new(BIN)
            .args([
                "audit",
                "verify",
                "--log",
                &e(1).url(&format!("/log/{region}")),
                "--vkey",
                vkey.trim(),
            ])
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{region}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Posts a comment, which must be accepted.
async fn comment(api: &Api, token: &str, video: &str, text: &str) {
    let (s, cm) = api
        .call(
            Method::POST,
            &format!("/v1/videos/{video}/comments"),
            Some(token),
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cm}");
}

/// Plays bytes `from..=to` of a video as a 206; answers how many came.
async fn ranged(api: &Api, id: &str, token: &str, from: u64, to: u64) -> usize {
    let r = api
        .client
        .get(api.url(&format!("/v1/videos/{id}/stream")))
        .bearer_auth(token)
        .header(header::RANGE, format!("bytes={from}-{to}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    r.bytes().await.unwrap().len()
}

/// A user's id, from the public directory (interop data).
async fn user_id(catalog: &str, handle: &str) -> String {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(catalog).await.unwrap();
    sqlx::query_scalar("SELECT user_id FROM directory WHERE handle = $1")
        .bind(handle)
        .fetch_one(&mut c)
        .await
        .unwrap()
}

fn checkpoint_size(cp: &Value) -> u64 {
    cp.as_str()
        .and_then(|s| s.lines().nth(1))
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

/// The log's entries from index `from` on (the first bundle holds them:
/// these logs stay under 256 entries).
async fn ledger_entries_after(api: &Api, region: &str, from: u64) -> Vec<Value> {
    ledger_entries(api, region)
        .await
        .into_iter()
        .skip(from as usize)
        .collect()
}
