//! The keyring as a region uses it: keys created at first start, data keys
//! per user behind gateway grants, field encryption, KEK rotation,
//! hand-over to a new custodian, crypto-shredding and wind-down.

use std::path::Path;
use std::sync::Arc;

use sovereel_custody::{
    AccessContext, FileKek, KeyEncryptionKey, KeyError, Keyring, PolicyGateway, Principal,
    Resource, UserKey, act,
};
use sovereel_model::ids::{RegionId, UserId};

fn us() -> RegionId {
    RegionId::parse("us").unwrap()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The user's own key, through the gateway as the server gets it.
fn own_key(gw: &PolicyGateway, keyring: &Keyring, user: &UserId) -> Result<UserKey, KeyError> {
    let grant = gw
        .authorize(
            &Principal::user(user.clone()),
            act::ReadProtected,
            &Resource::protected(user),
            &AccessContext::none(),
        )
        .expect("a user reads their own data");
    keyring.user_key(&grant)
}

#[test]
fn first_start_creates_a_private_kek_apart_from_the_data_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    let keks: Vec<_> = files_under(&dir.path().join("kek"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "kek"))
        .collect();
    assert_eq!(keks.len(), 1);
    let meta = std::fs::metadata(&keks[0]).unwrap();
    assert_eq!(meta.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let user = UserId::generate(&us());
    keyring.create_user_key(&user).unwrap();
    assert!(keyring.has_user_key(&user));
    let deks = files_under(&dir.path().join("deks"));
    assert_eq!(deks.len(), 1);
    // The DEK file holds the wrapped key, not the key: it is bound to the
    // KEK, so the KEK directory is what must never leave the custodian.
    assert!(matches!(
        keyring.create_user_key(&user),
        Err(KeyError::UserKeyExists)
    ));
    // Residency: an AU user's key never lives in the US keyring.
    let au = UserId::generate(&RegionId::parse("au").unwrap());
    assert!(matches!(
        keyring.create_user_key(&au),
        Err(KeyError::WrongRegion)
    ));
    assert_eq!(files_under(&dir.path().join("deks")).len(), 1);
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Keyring::open_embedded(us(), dir.path()).unwrap());
    let kek = files_under(&dir.path().join("kek"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "kek"))
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Keyring::open_embedded(us(), dir.path()),
            Err(KeyError::Permissions(_))
        ));
    }
}

#[test]
fn fields_round_trip_across_restarts_and_are_bound_to_user_and_field() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alice = UserId::generate(&us());
    let bob = UserId::generate(&us());
    let sealed = {
        let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
        keyring.create_user_key(&alice).unwrap();
        keyring.create_user_key(&bob).unwrap();
        let key = own_key(&gw, &keyring, &alice).unwrap();
        let sealed = key.encrypt_field("users.email", "alice@example.org");
        assert!(
            sealed.starts_with(&format!("sf1.{}.", key.key_id())),
            "{sealed}"
        );
        assert!(sovereel_custody::is_sealed_field(&sealed));
        assert!(!sealed.contains("alice"));
        // Random nonces: the same value seals differently each time.
        assert_ne!(
            sealed,
            key.encrypt_field("users.email", "alice@example.org")
        );
        sealed
    };
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    let key = own_key(&gw, &keyring, &alice).unwrap();
    assert_eq!(
        key.decrypt_field("users.email", &sealed).unwrap().as_str(),
        "alice@example.org"
    );
    // Another column, another user's key, or a flipped bit: refused.
    assert!(matches!(
        key.decrypt_field("users.birthdate", &sealed),
        Err(KeyError::Decrypt)
    ));
    let bob_key = own_key(&gw, &keyring, &bob).unwrap();
    assert!(bob_key.decrypt_field("users.email", &sealed).is_err());
    let mut tampered = sealed.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(matches!(
        key.decrypt_field("users.email", &tampered),
        Err(KeyError::Decrypt)
    ));
    assert!(matches!(
        key.decrypt_field("users.email", "alice@example.org"),
        Err(KeyError::Malformed(_))
    ));
}

#[test]
fn only_grants_on_the_users_protected_data_in_this_region_unwrap_a_key() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    let alice = UserId::generate(&us());
    keyring.create_user_key(&alice).unwrap();
    // A user reading an AU user's shared item holds a grant, but for data
    // this region's keyring does not hold.
    let foreign = UserId::generate(&RegionId::parse("au").unwrap());
    let grant = gw
        .authorize(
            &Principal::user(alice.clone()),
            act::ReadProtected,
            &Resource::protected(&foreign),
            &AccessContext::shared_by_owner(),
        )
        .unwrap();
    assert!(matches!(
        keyring.user_key(&grant),
        Err(KeyError::GrantMismatch)
    ));
    // No key yet for a user who never signed up here.
    let nobody = UserId::generate(&us());
    assert!(matches!(
        own_key(&gw, &keyring, &nobody),
        Err(KeyError::NoUserKey)
    ));
}

#[test]
fn kek_rotation_rewraps_every_data_key_and_destroys_the_old_kek() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    let users: Vec<UserId> = (0..5).map(|_| UserId::generate(&us())).collect();
    let mut sealed = Vec::new();
    for u in &users {
        keyring.create_user_key(u).unwrap();
        let key = own_key(&gw, &keyring, u).unwrap();
        sealed.push(key.encrypt_field("users.email", &format!("{u}@example.org")));
    }
    let before: Vec<Vec<u8>> = files_under(&dir.path().join("deks"))
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let old_keks = files_under(&dir.path().join("kek"));
    let report = keyring.rotate_kek().unwrap();
    assert_eq!(report.rewrapped, 5);
    assert_eq!(report.retired_kek_ids.len(), 1);
    for p in &old_keks {
        if p.extension().is_some_and(|e| e == "kek") {
            assert!(!p.exists(), "old KEK file still on disk");
        }
    }
    let after: Vec<Vec<u8>> = files_under(&dir.path().join("deks"))
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(b, a, "every DEK file is re-wrapped");
    }
    // Data was not touched and still opens, also after a restart.
    drop(keyring);
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    for (u, s) in users.iter().zip(&sealed) {
        let key = own_key(&gw, &keyring, u).unwrap();
        assert_eq!(
            key.decrypt_field("users.email", s).unwrap().as_str(),
            format!("{u}@example.org")
        );
    }
}

#[test]
fn an_interrupted_rotation_is_finished_at_the_next_start() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alice = UserId::generate(&us());
    let sealed = {
        let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
        keyring.create_user_key(&alice).unwrap();
        own_key(&gw, &keyring, &alice)
            .unwrap()
            .encrypt_field("users.email", "a@example.org")
    };
    // The crash: a new KEK became current, no DEK was re-wrapped yet.
    let kek = FileKek::open_or_create(&dir.path().join("kek")).unwrap();
    kek.rotate().unwrap();
    assert_eq!(kek.key_ids().unwrap().len(), 2);
    drop(kek);
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    let kek = FileKek::open_or_create(&dir.path().join("kek")).unwrap();
    assert_eq!(kek.key_ids().unwrap().len(), 1, "old KEK retired");
    let key = own_key(&gw, &keyring, &alice).unwrap();
    assert_eq!(
        key.decrypt_field("users.email", &sealed).unwrap().as_str(),
        "a@example.org"
    );
}

#[test]
fn hand_over_rewraps_under_the_new_custodians_kek_and_destroys_the_old_one() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let new_custodian = tempfile::tempdir().unwrap();
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    let alice = UserId::generate(&us());
    keyring.create_user_key(&alice).unwrap();
    let sealed = own_key(&gw, &keyring, &alice)
        .unwrap()
        .encrypt_field("users.email", "a@example.org");
    let new_kek: Arc<dyn KeyEncryptionKey> =
        Arc::new(FileKek::open_or_create(new_custodian.path()).unwrap());
    let report = keyring.hand_over(new_kek.clone()).unwrap();
    assert_eq!(report.rewrapped, 1);
    assert!(
        !files_under(&dir.path().join("kek"))
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "kek")),
        "the old custodian's key is destroyed"
    );
    let key = own_key(&gw, &keyring, &alice).unwrap();
    assert_eq!(
        key.decrypt_field("users.email", &sealed).unwrap().as_str(),
        "a@example.org"
    );
    // After a restart the region opens with the new custodian's KEK.
    drop(keyring);
    let keyring = Keyring::open(us(), &dir.path().join("deks"), new_kek).unwrap();
    assert!(own_key(&gw, &keyring, &alice).is_ok());
}

#[test]
fn wind_down_destroys_every_key() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    let users: Vec<UserId> = (0..3).map(|_| UserId::generate(&us())).collect();
    for u in &users {
        keyring.create_user_key(u).unwrap();
    }
    let receipts = keyring.destroy_all().unwrap();
    assert_eq!(receipts.len(), 4);
    assert_eq!(receipts.last().unwrap().key_class, "kek");
    // Nothing is left but the KEK directory's tombstone, which holds no key.
    let left: Vec<_> = files_under(dir.path())
        .into_iter()
        .filter(|p| !p.ends_with("kek/DESTROYED"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    for u in &users {
        assert!(matches!(
            own_key(&gw, &keyring, u),
            Err(KeyError::NoUserKey)
        ));
    }
    assert!(
        keyring.create_user_key(&users[0]).is_err(),
        "no KEK left to wrap with"
    );
}

#[test]
fn reads_racing_a_destruction_see_the_key_or_no_key_never_a_torn_file() {
    let gw = Arc::new(PolicyGateway::with_default_policies().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let keyring = Arc::new(Keyring::open_embedded(us(), dir.path()).unwrap());
    for _ in 0..20 {
        let user = UserId::generate(&us());
        keyring.create_user_key(&user).unwrap();
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (gw, keyring, user) = (gw.clone(), keyring.clone(), user.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        match own_key(&gw, &keyring, &user) {
                            Ok(_) | Err(KeyError::NoUserKey) => {}
                            Err(e) => panic!("read saw {e}"),
                        }
                    }
                })
            })
            .collect();
        keyring.destroy_user_key(&user).unwrap();
        for r in readers {
            r.join().unwrap();
        }
    }
}

/// Whether any file under `dir` contains `needle`.
fn bytes_anywhere(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn a_batched_rewrap_cut_short_by_a_crash_is_finished_at_the_next_start() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<UserId> = (0..25).map(|_| UserId::generate(&us())).collect();
    let (sealed, old_kek_bytes) = {
        let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
        let sealed: Vec<String> = users
            .iter()
            .map(|u| {
                keyring.create_user_key(u).unwrap();
                own_key(&gw, &keyring, u)
                    .unwrap()
                    .encrypt_field("users.email", &format!("{u}@example.org"))
            })
            .collect();
        let old_id = keyring.current_kek_id().unwrap();
        let old_kek_bytes = std::fs::read(dir.path().join(format!("kek/{old_id}.kek"))).unwrap();
        let new_id = keyring.begin_rotation().unwrap();
        assert_ne!(new_id, old_id);
        assert_eq!(keyring.kek_ids().unwrap().len(), 2);
        let first = keyring.rewrap_batch(None, 10).unwrap();
        assert_eq!(first.rewrapped, 10);
        let second = keyring.rewrap_batch(first.next.as_ref(), 4).unwrap();
        assert_eq!(second.rewrapped, 4);
        assert!(second.next.is_some());
        // A user signing up during the re-wrap gets a key under the new KEK.
        keyring.create_user_key(&UserId::generate(&us())).unwrap();
        // The crash: the process is gone with 14 of 25 keys re-wrapped;
        // everything on disk is as each durable step left it.
        (sealed, old_kek_bytes)
    };
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    assert_eq!(
        keyring.kek_ids().unwrap().len(),
        1,
        "one KEK after a restart"
    );
    for (u, s) in users.iter().zip(&sealed) {
        let key = own_key(&gw, &keyring, u).unwrap();
        assert_eq!(
            key.decrypt_field("users.email", s).unwrap().as_str(),
            format!("{u}@example.org")
        );
    }
    assert!(
        bytes_anywhere(dir.path(), &old_kek_bytes).is_empty(),
        "the old KEK's bytes are in no file"
    );
}

#[test]
fn a_batched_rewrap_walks_every_key_once_and_then_retires_the_old_kek() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    for _ in 0..12 {
        keyring.create_user_key(&UserId::generate(&us())).unwrap();
    }
    keyring.begin_rotation().unwrap();
    let mut cursor = None;
    let mut total = 0;
    loop {
        let b = keyring.rewrap_batch(cursor.as_ref(), 5).unwrap();
        total += b.rewrapped;
        match b.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(total, 12);
    let report = keyring.finish_rewrap().unwrap();
    assert_eq!(report.rewrapped, 0, "the walk left nothing behind");
    assert_eq!(report.retired_kek_ids.len(), 1);
    assert_eq!(keyring.kek_ids().unwrap().len(), 1);
}

#[test]
fn a_destroyed_kek_directory_never_makes_a_key_again() {
    let dir = tempfile::tempdir().unwrap();
    {
        let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
        keyring.create_user_key(&UserId::generate(&us())).unwrap();
        keyring.destroy_all().unwrap();
    }
    let keyring = Keyring::open_embedded(us(), dir.path()).unwrap();
    assert!(keyring.kek_ids().unwrap().is_empty());
    assert!(matches!(
        keyring.create_user_key(&UserId::generate(&us())),
        Err(KeyError::KekDestroyed)
    ));
    assert!(
        !files_under(dir.path())
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "kek")),
        "no key file after reopening a destroyed keyring"
    );
}
