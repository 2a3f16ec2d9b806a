//! The log's key moving to a new custodian, as an auditor and the other
//! regions' witnesses see it: a log handed over verifies from the key
//! pinned before the hand-over; a transfer that the key in force did not
//! sign is refused by the verifier and by witnesses; nothing may follow a
//! `region_closed` entry; and a restart after a transfer signs with the
//! new key, or stops if it does not hold it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use ed25519_dalek::SigningKey;
use sovereel_ledger::audit::{VerifyArgs, verify_log};
use sovereel_ledger::entry::{CustodyTransfer, RegionClosed};
use sovereel_ledger::storage::TileSource;
use sovereel_ledger::*;

const ORIGIN: &str = "chain.test/log/us";

fn key(seed: u8) -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn cosigner(name: &str, seed: u8) -> CosignatureSigner {
    CosignatureSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

/// A log in `dir/log` signed by `first`, cosigned by two in-process
/// witnesses (kept in `dir/w1`, `dir/w2`) that know `first` as its key.
struct Setup {
    dir: tempfile::TempDir,
    witnesses: Vec<Arc<Witness>>,
    cosigners: Vec<CosignatureSigner>,
}

impl Setup {
    async fn new(first: &NoteSigner) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let cosigners = vec![
            cosigner("chain.test/witness/au", 21),
            cosigner("chain.test/witness/nz", 22),
        ];
        let mut witnesses = vec![];
        for (i, c) in cosigners.iter().enumerate() {
            witnesses.push(Arc::new(
                Witness::open(
                    c.clone(),
                    vec![first.verifier()],
                    LogStorage::local(&dir.path().join(format!("w{i}"))).unwrap(),
                )
                .await
                .unwrap(),
            ));
        }
        Setup {
            dir,
            witnesses,
            cosigners,
        }
    }

    fn storage(&self) -> LogStorage {
        LogStorage::local(&self.dir.path().join("log")).unwrap()
    }

    async fn open(&self, signer: NoteSigner, others: Vec<NoteSigner>) -> Result<Log, LogError> {
        let mut config = LogConfig::new(ORIGIN);
        config.witness_timeout = Duration::from_secs(5);
        config.other_keys = others;
        config.witnesses = self
            .witnesses
            .iter()
            .map(|w| Arc::new(InProcessWitness::new(w.clone())) as Arc<dyn WitnessClient>)
            .collect();
        Log::open(self.storage(), signer, config).await
    }

    fn witness_vkeys(&self) -> Vec<String> {
        self.cosigners.iter().map(|c| c.verifier().vkey()).collect()
    }

    async fn verify(&self, pinned: &NoteSigner) -> Result<audit::VerifyReport, audit::AuditError> {
        let src: Arc<dyn TileSource> = Arc::new(self.storage());
        verify_log(
            src,
            &VerifyArgs {
                log: self.dir.path().join("log").display().to_string(),
                vkey: pinned.verifier().vkey(),
                witnesses: self.witness_vkeys(),
                state: None,
                quiet: true,
            },
        )
        .await
    }
}

async fn append_n(log: &Log, prefix: &str, n: usize) {
    for i in 0..n {
        log.append(Bytes::from(format!("{prefix} {i}")))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_log_handed_over_verifies_from_the_old_pinned_key_and_witnesses_follow() {
    let (old, new) = (key(1), key(2));
    let s = Setup::new(&old).await;
    let log = s.open(old.clone(), vec![]).await.unwrap();
    append_n(&log, "before", 300).await;
    let r = log
        .transfer_key(new.clone(), "First Trust", "Next Trust")
        .await
        .unwrap();
    assert_eq!(
        r.index, 300,
        "the transfer comes after every entry before it"
    );
    assert_eq!(log.vkey(), new.verifier().vkey());
    // The published checkpoint already carries the new key's signature and
    // both witnesses' cosignatures.
    let witness_keys: Vec<NoteVerifier> = s.cosigners.iter().map(|c| c.verifier()).collect();
    let cp = SignedCheckpoint::verify(&log.checkpoint().note, &new.verifier(), &witness_keys)
        .expect("the new key signs, the witnesses cosign");
    assert_eq!(cp.checkpoint.size, 301);
    for w in &s.witnesses {
        assert_eq!(w.log_key(ORIGIN).unwrap().vkey(), new.verifier().vkey());
    }
    // The hand-off checkpoint (the old key's last) ends with the transfer.
    let entry = Entry::parse(&log.entry(300).await.unwrap()).unwrap();
    let EntryBody::CustodyTransfer(t) = entry.body else {
        panic!("{entry:?}")
    };
    assert_eq!(
        (t.custodian.as_str(), t.old_vkey, t.new_vkey),
        ("Next Trust", old.verifier().vkey(), new.verifier().vkey())
    );
    append_n(&log, "after", 20).await;
    assert_eq!(log.key_transfers().len(), 1);
    // Asking again for the key in force changes nothing.
    let again = log
        .transfer_key(new.clone(), "First Trust", "Next Trust")
        .await
        .unwrap();
    assert_eq!(again.index, 300);
    assert_eq!(log.checkpoint().checkpoint.size, 321);

    let report = s.verify(&old).await.expect("verifies from the old key");
    assert_eq!(report.checkpoint.size, 321);
    assert_eq!(report.cosigners, 2);
    assert_eq!(report.transfers.len(), 1);
    assert_eq!(report.transfers[0].index, 300);
    assert_eq!(report.transfers[0].custodian, "Next Trust");
    assert_eq!(report.transfers[0].vkey, new.verifier().vkey());
    // Pinning the new key alone does not vouch for the history before it.
    assert!(s.verify(&new).await.is_err());
    // A key that is neither verifies nothing.
    assert!(s.verify(&key(9)).await.is_err());
    drop(log);

    // A restart holding both keys signs with the new one; holding only the
    // old one, it stops rather than sign with a key the log moved away from.
    let log = s.open(old.clone(), vec![new.clone()]).await.unwrap();
    assert_eq!(log.vkey(), new.verifier().vkey());
    append_n(&log, "restarted", 3).await;
    drop(log);
    let log = s.open(new.clone(), vec![]).await.unwrap();
    append_n(&log, "new key only", 1).await;
    drop(log);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = s.open(old.clone(), vec![]).await.unwrap_err();
    // (Its committed checkpoint is the new key's: it does not even verify.)
    assert!(
        err.to_string().contains("does not hold") || err.to_string().contains("does not verify"),
        "{err}"
    );
    s.verify(&old)
        .await
        .expect("still verifies after the restarts");
}

#[tokio::test]
async fn a_witness_that_missed_the_transfer_is_brought_along_later() {
    let (old, new) = (key(3), key(4));
    let s = Setup::new(&old).await;
    let log = s.open(old.clone(), vec![]).await.unwrap();
    append_n(&log, "e", 5).await;
    // The second witness is away during the hand-over.
    let mut config = LogConfig::new(ORIGIN);
    config.witnesses = vec![Arc::new(InProcessWitness::new(s.witnesses[0].clone()))];
    drop(log);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = Log::open(s.storage(), old.clone(), config).await.unwrap();
    log.transfer_key(new.clone(), "A", "B").await.unwrap();
    append_n(&log, "f", 5).await;
    drop(log);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        s.witnesses[1].log_key(ORIGIN).unwrap().vkey(),
        old.verifier().vkey()
    );
    // Back with both: the one that was away refuses the new key's
    // checkpoint, is shown the hand-off checkpoint and the transfer, and
    // cosigns.
    let log = s.open(new.clone(), vec![]).await.unwrap();
    append_n(&log, "g", 1).await;
    assert_eq!(
        s.witnesses[1].log_key(ORIGIN).unwrap().vkey(),
        new.verifier().vkey()
    );
    let report = s.verify(&old).await.unwrap();
    assert_eq!(report.cosigners, 2);
}

/// A custody transfer entry at `index` over `root`, signed by `by`.
fn transfer_entry(index: u64, root: [u8; 32], old_vkey: &str, by: &NoteSigner) -> Bytes {
    let mut t = CustodyTransfer {
        origin: ORIGIN.into(),
        previous_custodian: "First Trust".into(),
        custodian: "Mallory Holdings".into(),
        old_vkey: old_vkey.into(),
        new_vkey: by.verifier().vkey(),
        tree_size: index,
        tree_root: B64.encode(root),
        signature: String::new(),
    };
    t.signature = by.sign(&t.statement()).line().trim_end().to_string();
    Bytes::from(
        Entry::now(EntryBody::CustodyTransfer(t))
            .to_bytes()
            .unwrap(),
    )
}

#[tokio::test]
async fn a_transfer_not_signed_by_the_key_in_force_is_refused_by_verifier_and_witnesses() {
    let (old, forger) = (key(5), key(6));
    let s = Setup::new(&old).await;
    let log = s.open(old.clone(), vec![]).await.unwrap();
    append_n(&log, "e", 7).await;
    let cp = log.checkpoint().checkpoint.clone();
    // The forger claims the log's key for itself, in both ways a statement
    // can lie: naming the key in force as the old one, and naming its own.
    let forged = transfer_entry(cp.size, cp.root, &old.verifier().vkey(), &forger);
    let r = log.append(forged.clone()).await.unwrap();
    assert_eq!(r.index, 7);
    // The witnesses cosigned the checkpoint ending with it (it is just an
    // entry to them), and now are shown it as a transfer: refused.
    let proof = log.inclusion_proof(7).await.unwrap();
    for w in &s.witnesses {
        let e = w
            .accept_key_transfer(&serde_json::to_vec(&proof).unwrap())
            .await
            .unwrap_err();
        assert_eq!(e, witness::WitnessError::Forbidden);
        assert_eq!(w.log_key(ORIGIN).unwrap().vkey(), old.verifier().vkey());
    }
    let err = s.verify(&old).await.unwrap_err().to_string();
    assert!(
        err.contains("entry 7 is a custody transfer not signed by the key in force"),
        "{err}"
    );

    let s2 = Setup::new(&old).await;
    let log2 = s2.open(old.clone(), vec![]).await.unwrap();
    append_n(&log2, "e", 3).await;
    let cp = log2.checkpoint().checkpoint.clone();
    let self_named = transfer_entry(cp.size, cp.root, &forger.verifier().vkey(), &forger);
    log2.append(self_named).await.unwrap();
    let err = s2.verify(&old).await.unwrap_err().to_string();
    assert!(err.contains("not signed by the key in force"), "{err}");
    // A genuine statement over the wrong root is refused too.
    let s3 = Setup::new(&old).await;
    let log3 = s3.open(old.clone(), vec![]).await.unwrap();
    append_n(&log3, "e", 3).await;
    log3.append(transfer_entry(3, [7; 32], &old.verifier().vkey(), &old))
        .await
        .unwrap();
    let err = s3.verify(&old).await.unwrap_err().to_string();
    assert!(err.contains("root"), "{err}");
}

#[tokio::test]
async fn nothing_may_follow_region_closed() {
    let k = key(7);
    let s = Setup::new(&k).await;
    let log = s.open(k.clone(), vec![]).await.unwrap();
    append_n(&log, "e", 4).await;
    let closed = Entry::now(EntryBody::RegionClosed(RegionClosed {
        region: "us".into(),
        custodian: "First Trust".into(),
        op_id: "lc_1".into(),
        grounds: "a ban".into(),
        accounts_purged: 2,
        keys_destroyed: 3,
    }));
    log.append_entry(&closed).await.unwrap();
    let report = s.verify(&k).await.unwrap();
    assert!(report.closed, "a log ending with region_closed is closed");
    log.append(Bytes::from_static(b"after the end"))
        .await
        .unwrap();
    let err = s.verify(&k).await.unwrap_err().to_string();
    assert!(
        err.contains("entry 5 comes after the log closed at entry 4"),
        "{err}"
    );
}
