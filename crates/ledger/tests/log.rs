//! The log used as the server would use it: open, append concurrently, get
//! receipts and proofs, restart, and get cosignatures from witnesses.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use futures::future::BoxFuture;
use sovereel_ledger::entry::{Access, DataClass, Decision, Principal};
use sovereel_ledger::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use sovereel_ledger::note::NoteSignature;
use sovereel_ledger::witness::{AddCheckpoint, WitnessError};
use sovereel_ledger::*;

fn signer(origin: &str, seed: u8) -> NoteSigner {
    NoteSigner::new(origin, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

#[tokio::test]
async fn appends_are_acknowledged_with_verifiable_proofs_and_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let origin = "ledger.test/us";
    let log = Log::open(
        LogStorage::local(dir.path()).unwrap(),
        signer(origin, 1),
        LogConfig::new(origin),
    )
    .await
    .unwrap();
    assert_eq!(log.checkpoint().checkpoint.size, 0);
    let mut handles = Vec::new();
    for i in 0..600u32 {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            let e = Bytes::from(format!("entry {i}"));
            (e.clone(), log.append(e).await.unwrap())
        }));
    }
    let mut receipts = Vec::new();
    for h in handles {
        receipts.push(h.await.unwrap());
    }
    let mut indices: Vec<u64> = receipts.iter().map(|(_, r)| r.index).collect();
    indices.sort();
    assert_eq!(indices, (0..600).collect::<Vec<_>>());
    let vkey = NoteVerifier::parse(&log.vkey()).unwrap();
    for (e, r) in &receipts {
        // The receipt's checkpoint includes the entry.
        assert!(r.checkpoint.checkpoint.size > r.index);
        SignedCheckpoint::verify(&r.checkpoint.note, &vkey, &[]).unwrap();
        assert_eq!(&log.entry(r.index).await.unwrap(), e);
        let p = log.inclusion_proof(r.index).await.unwrap();
        assert_eq!(p.verify(&vkey, &[]).unwrap(), e.to_vec());
    }
    let before = log.checkpoint();
    drop(log);

    let log = Log::open(
        LogStorage::local(dir.path()).unwrap(),
        signer(origin, 1),
        LogConfig::new(origin),
    )
    .await
    .unwrap();
    assert_eq!(log.checkpoint().checkpoint, before.checkpoint);
    let r = log
        .append(Bytes::from_static(b"after restart"))
        .await
        .unwrap();
    assert_eq!(r.index, 600);
    let proof = log.consistency_proof(600, 601).await.unwrap();
    verify_consistency(
        600,
        601,
        &before.checkpoint.root,
        &r.checkpoint.checkpoint.root,
        &proof,
    )
    .unwrap();
    let p = log.inclusion_proof(600).await.unwrap();
    let path: Vec<[u8; 32]> = p
        .proof
        .iter()
        .map(|h| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(h)
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    verify_inclusion(
        &leaf_hash(b"after restart"),
        600,
        601,
        &path,
        &r.checkpoint.checkpoint.root,
    )
    .unwrap();
    // A wrong key for the log is refused instead of forking it.
    assert!(
        Log::open(
            LogStorage::local(dir.path()).unwrap(),
            signer(origin, 2),
            LogConfig::new(origin)
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn subject_index_finds_a_users_entries() {
    let dir = tempfile::tempdir().unwrap();
    let origin = "ledger.test/au";
    let log = Log::open(
        LogStorage::local(dir.path()).unwrap(),
        signer(origin, 3),
        LogConfig::new(origin),
    )
    .await
    .unwrap();
    let key = PseudonymKey::from_bytes([5; 32]);
    let alice = key.pseudonym("alice");
    let bob = key.pseudonym("bob");
    for (i, who) in [alice, bob, alice].into_iter().enumerate() {
        let e = Entry::now(EntryBody::Access(Access {
            principal: Principal::CustodianStaff {
                region: "au".into(),
                role: "support".into(),
                staff_id: format!("s{i}"),
            },
            action: "read_profile".into(),
            resource_class: DataClass::Protected,
            subject: Some(who),
            purpose: Some("data request".into()),
            case_id: None,
            decision: Decision::Allow,
            policy_id: Some("support-read".into()),
        }));
        log.append_entry(&e).await.unwrap();
    }
    let vkey = NoteVerifier::parse(&log.vkey()).unwrap();
    let mine = log.entries_for_subject(&alice).await.unwrap();
    assert_eq!(mine.iter().map(|p| p.index).collect::<Vec<_>>(), vec![0, 2]);
    for p in &mine {
        let e = Entry::parse(&p.verify(&vkey, &[]).unwrap()).unwrap();
        assert_eq!(e.body.subject(), Some(alice));
    }
    drop(log);
    // The index is rebuilt from the stored entries on restart.
    let log = Log::open(
        LogStorage::local(dir.path()).unwrap(),
        signer(origin, 3),
        LogConfig::new(origin),
    )
    .await
    .unwrap();
    assert_eq!(log.entries_for_subject(&bob).await.unwrap().len(), 1);
}

/// A witness that never answers.
struct DeadWitness(NoteVerifier);

impl WitnessClient for DeadWitness {
    fn verifier(&self) -> &NoteVerifier {
        &self.0
    }
    fn add_checkpoint<'a>(
        &'a self,
        _: &'a AddCheckpoint,
    ) -> BoxFuture<'a, Result<Vec<NoteSignature>, WitnessError>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Err(WitnessError::Unavailable("never".into()))
        })
    }
}

#[tokio::test]
async fn witnesses_cosign_and_a_dead_one_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let origin = "ledger.test/nz";
    let log_signer = signer(origin, 4);
    let w_signer =
        CosignatureSigner::new("witness.test/au", SigningKey::from_bytes(&[9; 32])).unwrap();
    let witness = Arc::new(
        Witness::open(
            w_signer.clone(),
            vec![log_signer.verifier()],
            LogStorage::local(&dir.path().join("witness")).unwrap(),
        )
        .await
        .unwrap(),
    );
    let dead =
        CosignatureSigner::new("witness.test/dead", SigningKey::from_bytes(&[10; 32])).unwrap();
    let mut config = LogConfig::new(origin);
    config.witness_timeout = Duration::from_millis(200);
    config.witnesses = vec![
        Arc::new(InProcessWitness::new(witness.clone())),
        Arc::new(DeadWitness(dead.verifier())),
    ];
    let log = Log::open(
        LogStorage::local(&dir.path().join("log")).unwrap(),
        log_signer.clone(),
        config.clone(),
    )
    .await
    .unwrap();
    for i in 0..5 {
        let r = log.append(Bytes::from(format!("e{i}"))).await.unwrap();
        let cp = SignedCheckpoint::verify(
            &r.checkpoint.note,
            &log_signer.verifier(),
            &[w_signer.verifier()],
        )
        .expect("cosigned by the live witness");
        assert_eq!(cp.checkpoint.size, i + 1);
        assert!(
            SignedCheckpoint::verify(
                &r.checkpoint.note,
                &log_signer.verifier(),
                &[dead.verifier()]
            )
            .is_err()
        );
    }
    assert_eq!(witness.latest_size(origin).await, 5);
    drop(log);
    // After a restart the log learns the witness's size from its 409 and
    // carries on.
    let log = Log::open(
        LogStorage::local(&dir.path().join("log")).unwrap(),
        log_signer.clone(),
        config,
    )
    .await
    .unwrap();
    let r = log.append(Bytes::from_static(b"e5")).await.unwrap();
    SignedCheckpoint::verify(
        &r.checkpoint.note,
        &log_signer.verifier(),
        &[w_signer.verifier()],
    )
    .unwrap();
    assert_eq!(witness.latest_size(origin).await, 6);
}

#[tokio::test]
async fn region_config_opens_the_log_and_changes_are_recorded_once() {
    use sovereel_ledger::entry::RegionConfig;
    let dir = tempfile::tempdir().unwrap();
    let origin = "ledger.test/global";
    let open = || async {
        Log::open(
            LogStorage::local(dir.path()).unwrap(),
            signer(origin, 6),
            LogConfig::new(origin),
        )
        .await
        .unwrap()
    };
    let log = open().await;
    let mut config = RegionConfig {
        region: "global".into(),
        custodian: "Platform Co".into(),
        countries: vec!["FR".into(), "DE".into()],
        log_vkey: log.vkey(),
        verifier_keys: vec![],
        policy_set_sha256: "ab".repeat(32),
        status: "active".into(),
    };
    let r = log
        .ensure_region_config(&config)
        .await
        .unwrap()
        .expect("genesis entry");
    assert_eq!(r.index, 0);
    assert!(log.ensure_region_config(&config).await.unwrap().is_none());
    log.append(Bytes::from_static(b"not json")).await.unwrap();
    drop(log);
    let log = open().await;
    assert!(
        log.ensure_region_config(&config).await.unwrap().is_none(),
        "remembered across restarts"
    );
    config.custodian = "New Custodian Ltd".into();
    assert_eq!(
        log.ensure_region_config(&config)
            .await
            .unwrap()
            .unwrap()
            .index,
        2
    );
    assert_eq!(log.entries_by_kind("region_config", None, 10), vec![0, 2]);
    assert_eq!(log.entries_by_kind("region_config", Some(0), 10), vec![2]);
    assert!(log.entries_by_kind("access", None, 10).is_empty());
    assert_eq!(log.region_config().unwrap().custodian, "New Custodian Ltd");
}

#[tokio::test]
async fn any_object_store_works_under_a_prefix() {
    // The same log on a non-filesystem object store (as S3 would be used).
    let store: Arc<dyn object_store::ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let origin = "ledger.test/s3";
    let open = || {
        Log::open(
            LogStorage::new(store.clone(), "ledger/s3/log"),
            signer(origin, 7),
            LogConfig::new(origin),
        )
    };
    let log = open().await.unwrap();
    let receipts =
        futures::future::try_join_all((0..300).map(|i| log.append(Bytes::from(format!("e{i}")))))
            .await
            .unwrap();
    assert_eq!(receipts.iter().map(|r| r.index).max(), Some(299));
    drop(log);
    let log = open().await.unwrap();
    assert_eq!(log.checkpoint().checkpoint.size, 300);
    let vkey = NoteVerifier::parse(&log.vkey()).unwrap();
    log.inclusion_proof(257)
        .await
        .unwrap()
        .verify(&vkey, &[])
        .unwrap();
    let listed = LogStorage::new(store.clone(), "ledger/s3/log")
        .list("tile/0")
        .await
        .unwrap();
    assert!(listed.contains(&"tile/0/000".to_string()), "{listed:?}");
}

#[tokio::test]
async fn witness_remembers_what_it_cosigned_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let log_signer = signer("ledger.test/w", 8);
    let w = CosignatureSigner::new("witness.test/w", SigningKey::from_bytes(&[13; 32])).unwrap();
    let open_witness = || async {
        Arc::new(
            Witness::open(
                w.clone(),
                vec![log_signer.verifier()],
                LogStorage::local(&dir.path().join("w")).unwrap(),
            )
            .await
            .unwrap(),
        )
    };
    let witness = open_witness().await;
    let mut config = LogConfig::new("ledger.test/w");
    config.witnesses = vec![Arc::new(InProcessWitness::new(witness.clone()))];
    let log = Log::open(
        LogStorage::local(&dir.path().join("log")).unwrap(),
        log_signer.clone(),
        config,
    )
    .await
    .unwrap();
    for i in 0..4 {
        log.append(Bytes::from(format!("x{i}"))).await.unwrap();
    }
    drop(witness);
    let witness = open_witness().await;
    assert_eq!(witness.latest_size("ledger.test/w").await, 4);
    // Replaying an older checkpoint is refused with the size it is at.
    let mut tree = sovereel_ledger::merkle::MemoryTree::new();
    for i in 0..2 {
        tree.push(format!("x{i}").as_bytes());
    }
    let text = Checkpoint::new("ledger.test/w", 2, tree.root()).to_text();
    let mut note = Note::new(&text).unwrap();
    note.add_signature(log_signer.sign(&text));
    let req = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: Bytes::from(note.to_bytes()),
    };
    assert_eq!(
        witness.add_checkpoint(&req.to_body()).await,
        Err(WitnessError::Conflict(4))
    );
}
