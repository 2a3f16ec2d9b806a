//! The HTTP surface as a client sees it: tiles and checkpoint with the
//! spec's headers, the witness protocol's status codes, a log cosigned by
//! a witness over HTTP, and `audit verify` against a URL.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use ed25519_dalek::SigningKey;
use sovereel_ledger::audit::{VerifyArgs, verify_log};
use sovereel_ledger::checkpoint::Checkpoint;
use sovereel_ledger::merkle::MemoryTree;
use sovereel_ledger::note::Note;
use sovereel_ledger::witness::AddCheckpoint;
use sovereel_ledger::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_tiles_and_witnesses_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let us_signer = NoteSigner::new("http.test/us", key(1)).unwrap();
    let au_signer = NoteSigner::new("http.test/au", key(2)).unwrap();
    let us_witness_signer = CosignatureSigner::new("http.test/witness/us", key(3)).unwrap();
    let us_log = Log::open(
        LogStorage::local(&dir.path().join("us")).unwrap(),
        us_signer.clone(),
        LogConfig::new("http.test/us"),
    )
    .await
    .unwrap();
    let us_witness = Arc::new(
        Witness::open(
            us_witness_signer.clone(),
            vec![au_signer.verifier()],
            LogStorage::local(&dir.path().join("us-witness")).unwrap(),
        )
        .await
        .unwrap(),
    );
    let app = Router::new().nest(
        "/log/us",
        http::router(Some(us_log.clone()), Some(us_witness.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    futures::future::try_join_all((0..300).map(|i| us_log.append(Bytes::from(format!("us {i}")))))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{base}/log/us/checkpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=2")
    );
    let r = client
        .get(format!("{base}/log/us/tile/0/001.p/44"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(r.bytes().await.unwrap().len(), 44 * 32);
    for bad in [
        "tile/0/1",
        "tile/0/../../state/checkpoint",
        "tile/entries/x000/001",
        "tile/0/005",
    ] {
        let r = client
            .get(format!("{base}/log/us/{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
    let vkey = client
        .get(format!("{base}/log/us/vkey"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(vkey.trim_end(), us_signer.verifier().vkey());

    let report = verify_log(
        Arc::new(audit::LogSource::parse(&format!("{base}/log/us")).unwrap()),
        &VerifyArgs {
            log: format!("{base}/log/us"),
            vkey: vkey.trim_end().to_string(),
            witnesses: vec![],
            state: None,
            quiet: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.checkpoint.size, 300);

    // The AU log asks the US witness over HTTP.
    let mut config = LogConfig::new("http.test/au");
    config.witnesses = vec![Arc::new(HttpWitness::new(
        &format!("{base}/log/us"),
        us_witness_signer.verifier(),
        Duration::from_secs(5),
    ))];
    let au_log = Log::open(
        LogStorage::local(&dir.path().join("au")).unwrap(),
        au_signer.clone(),
        config,
    )
    .await
    .unwrap();
    for i in 0..3 {
        let r = au_log.append(Bytes::from(format!("au {i}"))).await.unwrap();
        SignedCheckpoint::verify(
            &r.checkpoint.note,
            &au_signer.verifier(),
            &[us_witness_signer.verifier()],
        )
        .expect("cosigned over HTTP");
    }
    assert_eq!(us_witness.latest_size("http.test/au").await, 3);

    // add-checkpoint status codes.
    let post = |body: Vec<u8>| {
        let client = client.clone();
        let url = format!("{base}/log/us/add-checkpoint");
        async move { client.post(url).body(body).send().await.unwrap() }
    };
    let mut tree = MemoryTree::new();
    for i in 0..5 {
        tree.push(format!("au {i}").as_bytes());
    }
    let signed = |signer: &NoteSigner, size: u64, root: [u8; 32]| {
        let text = Checkpoint::new(signer.name(), size, root).to_text();
        let mut n = Note::new(&text).unwrap();
        n.add_signature(signer.sign(&text));
        Bytes::from(n.to_bytes())
    };
    let req = |old: u64, proof: Vec<[u8; 32]>, cp: Bytes| {
        AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: cp,
        }
        .to_body()
    };

    assert_eq!(post(b"garbage".to_vec()).await.status(), 400);
    let stranger = NoteSigner::new("http.test/nobody", key(9)).unwrap();
    assert_eq!(
        post(req(0, vec![], signed(&stranger, 1, [0; 32])))
            .await
            .status(),
        404
    );
    let impostor = NoteSigner::new("http.test/au", key(8)).unwrap();
    assert_eq!(
        post(req(3, vec![], signed(&impostor, 5, tree.root())))
            .await
            .status(),
        403
    );
    let good = signed(&au_signer, 5, tree.root());
    assert_eq!(post(req(4, vec![], good.clone())).await.status(), 409);
    let r = post(req(0, vec![], good.clone())).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["content-type"], "text/x.tlog.size");
    assert_eq!(r.text().await.unwrap(), "3\n");
    assert_eq!(post(req(6, vec![], good.clone())).await.status(), 400);
    let mut bad_proof = tree.consistency_proof(3, 5).unwrap();
    bad_proof[0][0] ^= 1;
    assert_eq!(post(req(3, bad_proof, good.clone())).await.status(), 422);
    let r = post(req(3, tree.consistency_proof(3, 5).unwrap(), good.clone())).await;
    assert_eq!(r.status(), 200);
    let line = r.text().await.unwrap();
    let mut n = Note::parse(&good).unwrap();
    n.add_signature(sovereel_ledger::note::NoteSignature::parse_line(line.trim_end()).unwrap());
    SignedCheckpoint::verify(
        &n.to_bytes(),
        &au_signer.verifier(),
        &[us_witness_signer.verifier()],
    )
    .unwrap();
    // Same size, different root: a fork.
    assert_eq!(
        post(req(5, vec![], signed(&au_signer, 5, [7; 32])))
            .await
            .status(),
        409
    );
}
