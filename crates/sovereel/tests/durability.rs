//! Acknowledged writes survive `kill -9`: the real binary is killed while it
//! acknowledges a stream of likes and comments, restarted on the same data
//! directory, and every acknowledged write is found.

mod common;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::clip;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sovereel"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .env("SOVEREEL_LOG", "warn")
        // Writers in a tight loop: a burst well past any rate limit.
        .env("SOVEREEL_LIMITS__RATES__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sovereel")
}

async fn wait_up(client: &reqwest::Client, base: &str) {
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == StatusCode::OK
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not come up");
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut r = client.post(url).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut child = start(&data, port);
    wait_up(&client, &base).await;

    // A creator with three public videos, and twenty fans.
    let mut tokens = vec![];
    for i in 0..21 {
        let h = format!("fan_{i}");
        let country = ["US", "AU", "NZ", "FR"][i % 4];
        let (s, b) = post(&client, format!("{base}/v1/accounts"), None, json!({"handle": h, "password": "a long password", "email": format!("{h}@x.example"), "country": country, "birthdate": "1990-01-01"})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (_, b) = post(
            &client,
            format!("{base}/v1/sessions"),
            None,
            json!({"handle": h, "password": "a long password"}),
        )
        .await;
        tokens.push(b["token"].as_str().unwrap().to_string());
    }
    let creator = tokens.remove(0);
    let mut videos = vec![];
    for n in 0..3 {
        let form = reqwest::multipart::Form::new()
            .text("meta", json!({"caption": format!("clip {n}")}).to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(std::fs::read(clip()).unwrap()).file_name("c.mp4"),
            );
        let resp = client
            .post(format!("{base}/v1/videos"))
            .bearer_auth(&creator)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let v: Value = resp.json().await.unwrap();
        videos.push(v["id"].as_str().unwrap().to_string());
    }
    for id in &videos {
        for _ in 0..400 {
            let v: Value = client
                .get(format!("{base}/v1/videos/{id}"))
                .bearer_auth(&creator)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["state"] == "ready" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Likes and comments stream in from four concurrent clients; every
    // acknowledged one is remembered. The server is killed mid-stream.
    let acked_likes = Arc::new(Mutex::new(Vec::<(usize, String)>::new()));
    let acked_comments = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let mut tasks = vec![];
    for w in 0..4 {
        let (client, base, tokens, videos) =
            (client.clone(), base.clone(), tokens.clone(), videos.clone());
        let (likes, comments) = (acked_likes.clone(), acked_comments.clone());
        tasks.push(tokio::spawn(async move {
            for step in 0.. {
                let u = (step * 4 + w) % tokens.len();
                let v = &videos[(step / 5 + w) % videos.len()];
                let like = client
                    .put(format!("{base}/v1/videos/{v}/like"))
                    .bearer_auth(&tokens[u])
                    .send()
                    .await;
                match like {
                    Ok(r) if r.status() == StatusCode::OK => {
                        likes.lock().unwrap().push((u, v.clone()))
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
                let text = format!("comment {w}-{step}");
                let c = client
                    .post(format!("{base}/v1/videos/{v}/comments"))
                    .bearer_auth(&tokens[u])
                    .json(&json!({"text": text}))
                    .send()
                    .await;
                match c {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        comments.lock().unwrap().push((v.clone(), text))
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        }));
    }
    while acked_comments.lock().unwrap().len() < 40 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let likes = acked_likes.lock().unwrap().clone();
    let comments = acked_comments.lock().unwrap().clone();
    assert!(!likes.is_empty() && comments.len() >= 40);

    let mut child = start(&data, port);
    wait_up(&client, &base).await;
    for (u, v) in &likes {
        let got: Value = client
            .get(format!("{base}/v1/videos/{v}"))
            .bearer_auth(&tokens[*u])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            got["liked_by_me"], true,
            "acknowledged like of user {u} on {v} was lost"
        );
    }
    let mut liked_per_video = std::collections::HashMap::<String, HashSet<usize>>::new();
    for (u, v) in &likes {
        liked_per_video.entry(v.clone()).or_default().insert(*u);
    }
    for v in &videos {
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{base}/v1/videos/{v}/comments?limit=100&cursor={c}"),
                None => format!("{base}/v1/videos/{v}/comments?limit=100"),
            };
            let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            for c in page["items"].as_array().unwrap() {
                seen.insert(c["text"].as_str().unwrap().to_string());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        for (cv, text) in comments.iter().filter(|(cv, _)| cv == v) {
            assert!(
                seen.contains(text),
                "acknowledged comment {text:?} on {cv} was lost"
            );
        }
        // Counters caught up through the outbox after the restart.
        let got: Value = client
            .get(format!("{base}/v1/videos/{v}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let liked = liked_per_video.get(v).map(|s| s.len()).unwrap_or(0) as i64;
        assert!(got["counts"]["likes"].as_i64().unwrap() >= liked, "{got}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
