//! The standalone auditor binary as an auditor runs it: exit status and
//! messages for verify, inclusion (from tiles and from a saved proof) and
//! monitor, which flags platform staff touching protected data.

use std::process::Command;

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use sovereel_ledger::entry::{Access, DataClass, Decision, Principal};
use sovereel_ledger::*;

const ORIGIN: &str = "cli.test/log";

fn audit(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sovereel-audit"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn access(principal: Principal, subject: Pseudonym) -> Entry {
    Entry::now(EntryBody::Access(Access {
        principal,
        action: "read_watch_history".into(),
        resource_class: DataClass::Protected,
        subject: Some(subject),
        purpose: None,
        case_id: None,
        decision: Decision::Allow,
        policy_id: None,
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditor_binary_verifies_proves_and_monitors() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[21; 32])).unwrap();
    let log = Log::open(
        LogStorage::local(&log_dir).unwrap(),
        signer.clone(),
        LogConfig::new(ORIGIN),
    )
    .await
    .unwrap();
    let key = PseudonymKey::from_bytes([1; 32]);
    let alice = key.pseudonym("alice");
    let custodian = Principal::CustodianStaff {
        region: "us".into(),
        role: "support".into(),
        staff_id: "c1".into(),
    };
    for _ in 0..3 {
        log.append_entry(&access(custodian.clone(), alice))
            .await
            .unwrap();
    }
    let vkey = log.vkey();
    let dir_s = log_dir.display().to_string();
    let state = dir.path().join("state").display().to_string();

    let (ok, out, err) = audit(&[
        "verify", "--log", &dir_s, "--vkey", &vkey, "--state", &state, "--quiet",
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("OK cli.test/log size 3"), "{out}");

    let (ok, out, err) = audit(&[
        "inclusion",
        "--log",
        &dir_s,
        "--vkey",
        &vkey,
        "--index",
        "1",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("#1 access"), "{out}");

    let proof = log.entries_for_subject(&alice).await.unwrap().remove(0);
    let proof_file = dir.path().join("proof.json");
    std::fs::write(&proof_file, serde_json::to_vec(&proof).unwrap()).unwrap();
    let (ok, _, err) = audit(&[
        "inclusion",
        "--vkey",
        &vkey,
        "--proof",
        &proof_file.display().to_string(),
    ]);
    assert!(ok, "{err}");
    let mut forged = proof.clone();
    forged.index = 2;
    std::fs::write(&proof_file, serde_json::to_vec(&forged).unwrap()).unwrap();
    let (ok, _, err) = audit(&[
        "inclusion",
        "--vkey",
        &vkey,
        "--proof",
        &proof_file.display().to_string(),
    ]);
    assert!(!ok);
    assert!(err.contains("not included"), "{err}");

    // Monitor: first pass over the existing entries, then only new ones.
    let mstate = dir.path().join("monitor").display().to_string();
    let (ok, out, err) = audit(&[
        "monitor", "--log", &dir_s, "--vkey", &vkey, "--state", &mstate, "--once", "--strict",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    let staff = Principal::PlatformStaff {
        role: "engineer".into(),
        staff_id: "p9".into(),
    };
    log.append_entry(&access(staff, alice)).await.unwrap();
    let (ok, out, err) = audit(&[
        "monitor", "--log", &dir_s, "--vkey", &vkey, "--state", &mstate, "--once", "--strict",
    ]);
    assert!(!ok);
    assert!(out.starts_with("ALERT custody anomaly: #3 access"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(err.contains("1 custody anomalies"), "{err}");

    // A wrong key, and a rolled-back checkpoint, fail verification.
    let other = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[22; 32])).unwrap();
    let (ok, _, err) = audit(&[
        "verify",
        "--log",
        &dir_s,
        "--vkey",
        &other.verifier().vkey(),
        "--quiet",
    ]);
    assert!(!ok);
    assert!(err.contains("checkpoint"), "{err}");
    let (ok, _, err) = audit(&[
        "verify", "--log", &dir_s, "--vkey", &vkey, "--state", &state, "--quiet",
    ]);
    assert!(ok, "{err}");
    log.append(Bytes::from_static(b"more")).await.unwrap();
    let (ok, _, _) = audit(&[
        "verify", "--log", &dir_s, "--vkey", &vkey, "--state", &state, "--quiet",
    ]);
    assert!(ok);
    drop(log);
    let (ok, _, err) = audit(&["verify", "--log", "/nonexistent/dir", "--vkey", &vkey]);
    assert!(
        !ok && err.contains("neither a URL nor a directory"),
        "{err}"
    );
}
