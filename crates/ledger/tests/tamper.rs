//! Tampering with a stored log must make `audit verify` fail and say what
//! is wrong: an altered entry bundle or tile, a rolled-back checkpoint, a
//! forged checkpoint, or a history rewritten under the same key.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use sovereel_ledger::audit::{AuditError, VerifyArgs, verify_log};
use sovereel_ledger::{Log, LogConfig, LogStorage, NoteSigner};

const ORIGIN: &str = "tamper.test/log";

fn signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[3; 32])).unwrap()
}

async fn build(dir: &Path, n: u32, tag: &str) -> Bytes {
    let log = Log::open(
        LogStorage::local(dir).unwrap(),
        signer(),
        LogConfig::new(ORIGIN),
    )
    .await
    .unwrap();
    let mut futs = Vec::new();
    for i in 0..n {
        let log = log.clone();
        let tag = tag.to_string();
        futs.push(tokio::spawn(async move {
            log.append(Bytes::from(format!("{tag} entry {i}")))
                .await
                .unwrap()
        }));
    }
    for f in futs {
        f.await.unwrap();
    }
    log.checkpoint().note.clone()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

async fn verify(dir: &Path, state: Option<&Path>) -> Result<(), AuditError> {
    let args = VerifyArgs {
        log: dir.display().to_string(),
        vkey: signer().verifier().vkey(),
        witnesses: vec![],
        state: state.map(Path::to_path_buf),
        quiet: true,
    };
    verify_log(Arc::new(LogStorage::local(dir).unwrap()), &args)
        .await
        .map(|_| ())
}

fn flip(path: &Path, offset_from_end: usize) {
    let mut b = std::fs::read(path).unwrap();
    let i = b.len() - 1 - offset_from_end;
    b[i] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

fn expect_failure(r: Result<(), AuditError>, needles: &[&str]) {
    let msg = match r {
        Err(e @ AuditError::Mismatch(_)) => e.to_string(),
        other => panic!("expected a verification failure, got {other:?}"),
    };
    for n in needles {
        assert!(msg.contains(n), "message {msg:?} should mention {n:?}");
    }
}

#[tokio::test]
async fn altered_tiles_and_bundles_are_named() {
    let root = tempfile::tempdir().unwrap();
    let good = root.path().join("good");
    build(&good, 700, "a").await;
    verify(&good, None).await.unwrap();

    let case = root.path().join("bundle");
    copy_dir(&good, &case);
    flip(&case.join("tile/entries/000"), 0);
    expect_failure(
        verify(&case, None).await,
        &["tile/0/000", "tile/entries/000"],
    );

    let case = root.path().join("partial-bundle");
    copy_dir(&good, &case);
    flip(&case.join("tile/entries/002.p/188"), 3);
    expect_failure(
        verify(&case, None).await,
        &["tile/0/002.p/188", "tile/entries/002.p/188"],
    );

    let case = root.path().join("level0");
    copy_dir(&good, &case);
    flip(&case.join("tile/0/001"), 100);
    expect_failure(verify(&case, None).await, &["tile/0/001"]);

    let case = root.path().join("level1");
    copy_dir(&good, &case);
    flip(&case.join("tile/1/000.p/2"), 0);
    expect_failure(verify(&case, None).await, &["tile/1/000.p/2"]);

    let case = root.path().join("checkpoint");
    copy_dir(&good, &case);
    let cp = std::fs::read_to_string(case.join("checkpoint")).unwrap();
    // Change the size line: the log signature no longer verifies.
    std::fs::write(
        case.join("checkpoint"),
        cp.replacen("\n700\n", "\n701\n", 1),
    )
    .unwrap();
    expect_failure(verify(&case, None).await, &["checkpoint", "signature"]);
}

#[tokio::test]
async fn rollback_and_rewritten_history_are_caught_with_state() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    let state = root.path().join("state");
    let old_cp = build(&dir, 300, "a").await;
    verify(&dir, Some(&state)).await.unwrap();
    build(&dir, 200, "b").await;
    verify(&dir, Some(&state)).await.unwrap();

    // Serve the old (validly signed) checkpoint again.
    let case = root.path().join("rollback");
    copy_dir(&dir, &case);
    std::fs::write(case.join("checkpoint"), &old_cp).unwrap();
    expect_failure(
        verify(&case, Some(&state)).await,
        &["rollback", "300", "500"],
    );

    // The custodian rebuilds a different log of larger size with the same key.
    let forked = root.path().join("forked");
    build(&forked, 600, "z").await;
    verify(&forked, None).await.unwrap();
    expect_failure(
        verify(&forked, Some(&state)).await,
        &["not consistent with the remembered checkpoint"],
    );
}
