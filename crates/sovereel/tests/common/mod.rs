//! Test harness: starts the real server on a free port with its own
//! databases (SQLite files, or uniquely named PostgreSQL databases that are
//! dropped afterwards) and drives it over HTTP like any client.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sovereel_server::{Config, Server};
use sovereel_store::Backend;
use sovereel_store::testing::TestDatabases;

pub struct TestApp {
    pub app: std::sync::Arc<sovereel_server::App>,
    pub api: Api,
    pub config: Config,
    pub region_urls: Vec<(String, String)>,
    pub catalog_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dbs: TestDatabases,
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let mut dbs = TestDatabases::new(backend);
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dbs.dir().join("data"),
        ..Config::default()
    };
    let mut region_urls = vec![];
    for r in &mut config.regions {
        let url = dbs.url(&r.id);
        r.storage = Some(url.clone());
        region_urls.push((r.id.clone(), url));
    }
    let catalog_url = dbs.url("catalog");
    config.catalog = Some(catalog_url.clone());
    // Tests sign up, post and like in bursts from one address; the rate
    // limits are tested on their own (limits.rs), with small limits.
    config.limits.rates.enabled = false;
    tweak(&mut config);
    let server = Server::build(config.clone()).await.expect("server starts");
    let base = format!("http://{}", server.local_addr());
    let inner = server.app.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    TestApp {
        app: inner,
        api: Api::new(base),
        config,
        region_urls,
        catalog_url,
        shutdown: Some(tx),
        _dbs: dbs,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl std::ops::Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// A client of the public API at `base`, as any program would use it.
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Api {
        Api {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }
}

pub struct User {
    pub handle: String,
    pub token: String,
    pub email: String,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn signup(&self, handle: &str, country: &str) -> User {
        let email = format!("{handle}@mail.example");
        let (s, body) = self
            .call(
                Method::POST,
                "/v1/accounts",
                None,
                Some(json!({"handle": handle, "password": "correct horse battery", "email": email, "country": country, "birthdate": "1999-04-01"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "sign-up {handle}: {body}");
        let (s, body) = self
            .call(
                Method::POST,
                "/v1/sessions",
                None,
                Some(json!({"handle": handle, "password": "correct horse battery"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "login {handle}: {body}");
        User {
            handle: handle.into(),
            token: body["token"].as_str().unwrap().to_string(),
            email,
        }
    }

    /// Uploads a file with `meta`; answers the status and body.
    pub async fn upload(
        &self,
        token: &str,
        file: &Path,
        file_name: &str,
        meta: Value,
    ) -> (StatusCode, Value) {
        let bytes = std::fs::read(file).unwrap();
        let form = reqwest::multipart::Form::new()
            .text("meta", meta.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name(file_name.to_string())
                    .mime_str("video/mp4")
                    .unwrap(),
            );
        let resp = self
            .client
            .post(self.url("/v1/videos"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Uploads the test clip and waits until it is ready.
    pub async fn upload_ready(&self, token: &str, caption: &str, visibility: &str) -> Value {
        let (s, v) = self
            .upload(
                token,
                &clip(),
                "clip.mp4",
                json!({"caption": caption, "visibility": visibility}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        let ready = self.wait_ready(token, &id).await;
        if visibility == "public" {
            // "ready" is committed at home first; the catalog learns of the
            // video through the outbox a moment later.
            let word = caption
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_start_matches(['#', '@'])
                .to_string();
            for _ in 0..100 {
                let (_, found) = self.get(&format!("/v1/search?q={word}"), None).await;
                if found.to_string().contains(&id) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        ready
    }

    pub async fn wait_ready(&self, token: &str, id: &str) -> Value {
        for _ in 0..600 {
            let (s, v) = self.get(&format!("/v1/videos/{id}"), Some(token)).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            match v["state"].as_str() {
                Some("ready") => return v,
                Some("failed") => panic!("processing failed: {v}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("video {id} never became ready");
    }
}

/// Asserts an RFC 9457 problem with this status and type.
pub fn assert_problem(status: StatusCode, body: &Value, want_status: u16, want_type: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["type"], format!("/problems/{want_type}"), "{body}");
    assert_eq!(body["status"], want_status, "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string() && body["instance"].is_string(),
        "{body}"
    );
}

/// A 2-second 360x640 H.264/AAC clip, generated once per test process.
pub fn clip() -> PathBuf {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| make_clip("clip", 2, "360x640")).clone()
}

pub fn make_clip(name: &str, secs: u32, size: &str) -> PathBuf {
    make_clip_with(name, secs, size, "null")
}

/// A clip of noise, which does not compress: for size limits.
pub fn make_noisy_clip(name: &str, secs: u32, size: &str) -> PathBuf {
    make_clip_with(name, secs, size, "noise=alls=80:allf=t+u")
}

fn make_clip_with(name: &str, secs: u32, size: &str, filter: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sovereel-clips-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}.mp4"));
    if !out.exists() {
        let status = Command::new("ffmpeg")
            .args([
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                &format!("testsrc=size={size}:rate=25"),
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440",
            ])
            .args([
                "-vf",
                filter,
                "-t",
                &secs.to_string(),
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
            ])
            .arg(&out)
            .status()
            .expect("ffmpeg is installed (scripts/ensure-test-deps installs it)");
        assert!(status.success());
    }
    out
}

/// Every text value stored in a database, as `table: value` lines, read
/// directly from the database (not through the application).
pub async fn dump_text(url: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    let mut out = vec![];
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'")
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("name"))
            .collect();
        for t in tables {
            let cols: Vec<String> = sqlx::query(&format!("PRAGMA table_info({t})"))
                .fetch_all(&mut c)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get("name"))
                .collect();
            let sel = cols
                .iter()
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), '')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            for r in sqlx::query(&format!("SELECT {sel} AS line FROM {t}"))
                .fetch_all(&mut c)
                .await
                .unwrap()
            {
                out.push(format!("{t}: {}", r.get::<String, _>("line")));
            }
        }
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query("SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'")
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("t"))
            .collect();
        for t in tables {
            for r in sqlx::query(&format!("SELECT row_to_json(x)::text AS line FROM {t} x"))
                .fetch_all(&mut c)
                .await
                .unwrap()
            {
                out.push(format!("{t}: {}", r.get::<String, _>("line")));
            }
        }
    }
    out
}

/// Every entry of a region's log, read from its tiles over HTTP (the first
/// bundle: the logs in these tests stay under 256 entries).
pub async fn ledger_entries(app: &Api, region: &str) -> Vec<Value> {
    let cp = app
        .client
        .get(app.url(&format!("/log/{region}/checkpoint")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
    assert!(size < 256, "one partial bundle is enough here");
    let b = app
        .client
        .get(app.url(&format!("/log/{region}/tile/entries/000.p/{size}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let (mut out, mut i) = (vec![], 0);
    while i + 2 <= b.len() {
        let n = u16::from_be_bytes([b[i], b[i + 1]]) as usize;
        out.push(serde_json::from_slice(&b[i + 2..i + 2 + n]).unwrap());
        i += 2 + n;
    }
    out
}

/// Every file under `dir`, recursively (none if it does not exist).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Whether `hay` holds `needle`'s bytes anywhere.
pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Whether the file at `path` holds `needle`'s bytes anywhere.
pub fn holds(path: &Path, needle: &str) -> bool {
    contains(&std::fs::read(path).unwrap_or_default(), needle)
}
