//! `sovereel cluster up`, the README's way to try the split deployment on
//! one machine: `cluster init` writes roles.tsv, `cluster up` starts every
//! role from it (three regions, SQLite in each region's directory here), a user signs up
//! and posts through the edge, and a SIGTERM to `cluster up` stops every
//! role it started. `cluster destroy` then removes the NATS stream.
//!
//! It needs NATS JetStream on 127.0.0.1:4222 (started by
//! scripts/ensure-test-deps). Without it the test says so and passes,
//! unless `SOVEREEL_TEST_POSTGRES` is set, as in scripts/test, where a
//! missing NATS fails it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;

const BIN: &str = env!("CARGO_BIN_EXE_sovereel");

fn rand_u16() -> u16 {
    u16::from_str_radix(&sovereel_model::random_hex(2), 16).unwrap()
}

fn free_base_port(n: u16) -> u16 {
    for _ in 0..200 {
        let base = 20_000 + (rand_u16() % 30_000);
        if (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free ports");
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_up_starts_every_role_and_a_sigterm_stops_them() {
    if !listening(4222) {
        assert!(
            std::env::var("SOVEREEL_TEST_POSTGRES").is_err(),
            "NATS is not answering on 127.0.0.1:4222 (scripts/ensure-test-deps starts it)"
        );
        eprintln!("NATS is not answering on 127.0.0.1:4222: skipping cluster up");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("c");
    let base = free_base_port(4);
    let name = format!("u{:04x}{:04x}", rand_u16(), rand_u16());
    let out = Command::new(BIN)
        .args(["cluster", "init", "--out"])
        .arg(&cluster)
        .args([
            "--regions",
            "us,au,global",
            "--nats",
            "nats://127.0.0.1:4222",
        ])
        .args(["--base-port", &base.to_string(), "--name", &name])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cluster init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tsv = std::fs::read_to_string(cluster.join("roles.tsv")).unwrap();
    let mut roles: Vec<&str> = tsv
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(r, _)| r)
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        ["edge", "region:au", "region:global", "region:us"],
        "{tsv}"
    );
    // The init's own output names the same commands.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(tsv.trim_end()),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let log = std::fs::File::create(dir.path().join("up.log")).unwrap();
    let mut up = Command::new(BIN)
        .args(["cluster", "up", "--dir"])
        .arg(&cluster)
        .env("SOVEREEL_LOG", "warn")
        .env("SOVEREEL_LIMITS__RATES__ENABLED", "false")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let up_log = || std::fs::read_to_string(dir.path().join("up.log")).unwrap_or_default();

    // The edge answers once the regions behind it do.
    let edge = Api::new(format!("http://127.0.0.1:{base}"));
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(edge.url("/v1/regions")).await
            && r.status() == StatusCode::OK
        {
            let body: serde_json::Value = r.json().await.unwrap();
            let ids: Vec<&str> = body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["id"].as_str())
                .collect();
            if ids.contains(&"us") && ids.contains(&"au") {
                break;
            }
        }
        assert!(
            up.try_wait().unwrap().is_none(),
            "cluster up exited early:\n{}",
            up_log()
        );
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the edge did not answer:\n{}",
            up_log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A user signs up and posts through the edge; the answers come from
    // the user's home region's own service.
    let us = edge.signup("up_us", "US").await;
    let (s, me) = edge.get("/v1/me", Some(&us.token)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["region"]["id"], "us", "{me}");
    let au = edge.signup("up_au", "AU").await;
    let v = edge
        .upload_ready(&au.token, "Trying the cluster #up", "public")
        .await;
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("au_"), "{v}");
    let (s, got) = edge.get(&format!("/v1/videos/{id}"), Some(&us.token)).await;
    assert_eq!(s, StatusCode::OK, "{got}");

    // Every role is a process of its own, listening on its own port.
    for port in [base, base + 1, base + 2, base + 3] {
        assert!(listening(port), "nothing on port {port}:\n{}", up_log());
    }

    // SIGTERM to `cluster up` stops every role it started.
    let pid = up.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopped = Instant::now();
    let status = loop {
        if let Some(s) = up.try_wait().unwrap() {
            break s;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "cluster up did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}:\n{}", up_log());
    let stopped = Instant::now();
    while [base, base + 1, base + 2, base + 3]
        .iter()
        .any(|p| listening(*p))
    {
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "a role still listens after cluster up stopped:\n{}",
            up_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let out = Command::new(BIN)
        .args(["cluster", "destroy", "--dir"])
        .arg(&cluster)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cluster destroy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
