//! Crypto-shredding end to end on one region's files: after the deletion
//! batch, the user's fields and private media are noise, no canary is left
//! in plaintext anywhere (keyring included), and a backup of the keyring's
//! data keys from before the deletion unlocks nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sovereel_custody::{
    AccessContext, Canary, CanaryRule, DecryptingReader, KeyError, Keyring, PolicyGateway,
    Principal, Resource, ScanArea, UserKey, act, scan, shred_users,
};
use sovereel_media::{ByteRange, MediaStore, RangedRead};
use sovereel_model::ids::{RegionId, UserId};

fn own_key(gw: &PolicyGateway, keyring: &Keyring, user: &UserId) -> Result<UserKey, KeyError> {
    let grant = gw
        .authorize(
            &Principal::user(user.clone()),
            act::WriteProtected,
            &Resource::protected(user),
            &AccessContext::none(),
        )
        .unwrap();
    keyring.user_key(&grant)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn dek_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(dir).unwrap() {
        for f in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out
}

#[test]
fn a_shredded_user_is_gone_from_every_file() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let us = RegionId::parse("us").unwrap();
    let keyring_dir = root.join("keyring");
    let keyring = Keyring::open_embedded(us.clone(), &keyring_dir).unwrap();
    let store = MediaStore::local(&root.join("media")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let doomed = UserId::generate(&us);
    let stays = UserId::generate(&us);
    keyring.create_user_key(&doomed).unwrap();
    keyring.create_user_key(&stays).unwrap();
    let email = format!("canary-{}@example.org", &doomed.as_str()[3..13]);
    let video_canary = format!("CANARY-VIDEO-{}", &doomed.as_str()[3..13]);

    // What the region's database and media store would hold.
    let key = Arc::new(own_key(&gw, &keyring, &doomed).unwrap());
    let sealed_email = key.encrypt_field("users.email", &email);
    let stays_key = own_key(&gw, &keyring, &stays).unwrap();
    let stays_email = stays_key.encrypt_field("users.email", "stays@example.org");
    std::fs::write(
        root.join("store.db"),
        format!("{sealed_email}\n{stays_email}"),
    )
    .unwrap();
    let mut video = vec![0u8; 100_000];
    video[70_000..70_000 + video_canary.len()].copy_from_slice(video_canary.as_bytes());
    let src = root.join("upload.tmp");
    std::fs::write(&src, &video).unwrap();
    rt.block_on(key.store_encrypted_media(&store, "v/1", "us_v1", &src))
        .unwrap();
    std::fs::remove_file(&src).unwrap();
    drop(key);

    // A backup of the data keys taken before the deletion (never the KEK).
    let backup = root.join("backup-deks");
    copy_dir(&keyring_dir.join("deks"), &backup);
    let wrapped_before: String = {
        let file = dek_files(&backup)
            .into_iter()
            .find(|p| p.to_string_lossy().contains(doomed.as_str()))
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        json["wrapped"].as_str().unwrap().to_string()
    };

    let report = shred_users(&keyring, std::slice::from_ref(&doomed)).unwrap();
    assert_eq!(report.receipts.len(), 1);
    let receipt = &report.receipts[0];
    assert_eq!(receipt.user.as_ref(), Some(&doomed));
    assert_eq!(receipt.key_class, "dek");
    let wrapped = base64::engine::general_purpose::STANDARD
        .decode(wrapped_before)
        .unwrap();
    assert_eq!(receipt.fingerprint, hex::encode(Sha256::digest(&wrapped)));
    assert_eq!(
        report.rotation.rewrapped, 1,
        "only the remaining user's key"
    );

    // The user's key is gone; the other user's data still opens.
    assert!(matches!(
        own_key(&gw, &keyring, &doomed),
        Err(KeyError::NoUserKey)
    ));
    let stays_key = own_key(&gw, &keyring, &stays).unwrap();
    assert_eq!(
        stays_key
            .decrypt_field("users.email", &stays_email)
            .unwrap()
            .as_str(),
        "stays@example.org"
    );

    // No canary in plaintext in any file: database, media, keyring.
    let areas = [ScanArea {
        region: Some(us.clone()),
        roots: vec![
            root.join("store.db"),
            root.join("media"),
            keyring_dir.clone(),
        ],
    }];
    let canaries = [
        Canary {
            home: us.clone(),
            text: email.clone(),
            rule: CanaryRule::Erased,
        },
        Canary {
            home: us.clone(),
            text: video_canary.clone(),
            rule: CanaryRule::Erased,
        },
    ];
    let scanned = scan(&areas, &canaries).unwrap();
    assert!(scanned.is_clean(), "{scanned:?}");
    assert!(scanned.files >= 4, "{scanned:?}");

    // Restore the pre-deletion backup of the data keys: its wrapped keys
    // name a KEK that the rotation destroyed, so nothing unwraps.
    drop(keyring);
    copy_dir(&backup, &keyring_dir.join("deks"));
    let keyring = Keyring::open_embedded(us.clone(), &keyring_dir).unwrap();
    match own_key(&gw, &keyring, &doomed) {
        Err(KeyError::UnknownKek(_)) => {}
        other => panic!("the old wrapped key must not unwrap: {other:?}"),
    }
    // And a new key for the same id opens neither the field nor the media.
    std::fs::remove_file(
        dek_files(&keyring_dir.join("deks"))
            .into_iter()
            .find(|p| p.to_string_lossy().contains(doomed.as_str()))
            .unwrap(),
    )
    .unwrap();
    keyring.create_user_key(&doomed).unwrap();
    let fresh = Arc::new(own_key(&gw, &keyring, &doomed).unwrap());
    assert!(fresh.decrypt_field("users.email", &sealed_email).is_err());
    let reader = DecryptingReader::new(store.clone(), fresh, "us_v1");
    let result = rt.block_on(async {
        let s = reader
            .read_range("v/1", ByteRange { first: 0, last: 99 })
            .await?;
        s.try_collect::<Vec<_>>().await
    });
    assert!(result.is_err());
}

#[test]
fn a_key_planted_as_plaintext_is_caught_by_the_scan() {
    // The negative control for the test above: the scan does find things.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("store.db"),
        b"xx canary-plain@example.org xx",
    )
    .unwrap();
    let report = scan(
        &[ScanArea {
            region: Some(RegionId::parse("us").unwrap()),
            roots: vec![dir.path().to_path_buf()],
        }],
        &[Canary {
            home: RegionId::parse("us").unwrap(),
            text: "canary-plain@example.org".into(),
            rule: CanaryRule::Erased,
        }],
    )
    .unwrap();
    assert_eq!(report.findings.len(), 1);
}
