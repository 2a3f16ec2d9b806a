//! The ledger as served by `sovereel`: every region's log opens with its
//! configuration, is cosigned by the other regions' witnesses, is served in
//! the tlog-tiles layout, and verifies with the auditor's tool.

mod common;

use common::*;
use reqwest::StatusCode;
use sovereel_store::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_region_log_is_witnessed_served_and_verifiable() {
    let app = spawn(Backend::Sqlite).await;
    let (s, t) = app.get("/v1/transparency", None).await;
    assert_eq!(s, StatusCode::OK);
    let regions = t["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 4);
    for r in regions {
        let id = r["id"].as_str().unwrap();
        assert!(
            r["tree_size"].as_u64().unwrap() >= 1,
            "the log opens with the region's configuration"
        );
        assert_eq!(
            r["witnesses"].as_array().unwrap().len(),
            3,
            "cosigned by the three other regions: {r}"
        );
        let vkey = app
            .client
            .get(app.url(&format!("/log/{id}/vkey")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(vkey.trim(), r["vkey"].as_str().unwrap());
        let cp = app
            .client
            .get(app.url(&format!("/log/{id}/checkpoint")))
            .send()
            .await
            .unwrap();
        assert_eq!(cp.status(), StatusCode::OK);
        assert!(
            cp.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
        let body = cp.text().await.unwrap();
        assert!(
            body.starts_with(&format!("sovereel.localhost/log/{id}\n")),
            "{body}"
        );
        // The first entry is the region's configuration.
        let bundle = app
            .client
            .get(app.url(&format!("/log/{id}/tile/entries/000.p/1")))
            .send()
            .await
            .unwrap();
        assert_eq!(bundle.status(), StatusCode::OK);
        let bytes = bundle.bytes().await.unwrap();
        let len = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
        let entry: serde_json::Value = serde_json::from_slice(&bytes[2..2 + len]).unwrap();
        assert_eq!(entry["kind"], "region_config");
        assert_eq!(entry["region"], id);
        assert_eq!(entry["custodian"], r["custodian"]);

        // The auditor's tool, run as a separate process over HTTP.
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sovereel"));
        cmd.args([
            "audit",
            "verify",
            "--log",
            &app.url(&format!("/log/{id}")),
            "--vkey",
            vkey.trim(),
        ]);
        for o in regions.iter().filter(|o| o["id"] != r["id"]) {
            cmd.args(["--witness", o["witness_vkey"].as_str().unwrap()]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "audit verify failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("OK "));
    }
    // A user's access log is empty until someone else touches their data,
    // and names the checkpoint and key to verify against.
    let u = app.signup("ledger_user", "NZ").await;
    let (s, log) = app.get("/v1/me/access-log", Some(&u.token)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(log["region"], "nz");
    assert_eq!(log["items"], serde_json::json!([]));
    assert!(
        log["checkpoint"]
            .as_str()
            .unwrap()
            .starts_with("sovereel.localhost/log/nz\n")
    );
    assert!(
        log["vkey"]
            .as_str()
            .unwrap()
            .starts_with("sovereel.localhost/log/nz+")
    );
    let (s, b) = app.get("/v1/me/access-log", None).await;
    assert_problem(s, &b, 401, "unauthorized");
    let (s, b) = app.get("/log/mars/checkpoint", None).await;
    assert_problem(s, &b, 404, "not-found");
}
