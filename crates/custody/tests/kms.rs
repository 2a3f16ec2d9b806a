//! The KEK is a trait so a KMS or HSM can hold it. This test plugs in a
//! stand-in for a remote key service (the key never leaves it; it only
//! wraps and unwraps) and hands a region over to it from the embedded file
//! KEK, as a new custodian with an HSM would take over.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sovereel_custody::keyring::{KEY_LEN, SecretKey};
use sovereel_custody::{
    AccessContext, KeyEncryptionKey, KeyError, Keyring, PolicyGateway, Principal, Resource,
    WrappedKey, act,
};
use sovereel_model::ids::{RegionId, UserId};
use zeroize::Zeroizing;

/// Keys live "inside the service"; callers see ids only.
struct KeyService {
    keys: Mutex<HashMap<String, [u8; 32]>>,
    current: Mutex<Option<String>>,
    calls: AtomicUsize,
}

impl KeyService {
    fn new() -> KeyService {
        let s = KeyService {
            keys: Mutex::new(HashMap::new()),
            current: Mutex::new(None),
            calls: AtomicUsize::new(0),
        };
        s.rotate().unwrap();
        s
    }
}

impl KeyEncryptionKey for KeyService {
    fn id(&self) -> Result<String, KeyError> {
        self.current
            .lock()
            .unwrap()
            .clone()
            .ok_or(KeyError::KekDestroyed)
    }

    fn key_ids(&self) -> Result<Vec<String>, KeyError> {
        Ok(self.keys.lock().unwrap().keys().cloned().collect())
    }

    fn wrap(&self, dek: &[u8; KEY_LEN], aad: &[u8]) -> Result<WrappedKey, KeyError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let id = self.id()?;
        let key = self.keys.lock().unwrap()[&id];
        let mut nonce = [0u8; 24];
        getrandom::getrandom(&mut nonce).unwrap();
        let ct = XChaCha20Poly1305::new(&key.into())
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: dek, aad })
            .unwrap();
        Ok(WrappedKey {
            kek_id: id,
            bytes: [nonce.as_slice(), &ct].concat(),
        })
    }

    fn unwrap(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<SecretKey, KeyError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let key = *self
            .keys
            .lock()
            .unwrap()
            .get(&wrapped.kek_id)
            .ok_or_else(|| KeyError::UnknownKek(wrapped.kek_id.clone()))?;
        let (nonce, ct) = wrapped.bytes.split_at(24);
        let plain = XChaCha20Poly1305::new(&key.into())
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| KeyError::Decrypt)?;
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        out.copy_from_slice(&plain);
        Ok(out)
    }

    fn rotate(&self) -> Result<String, KeyError> {
        let id = format!("hsm-{}", self.keys.lock().unwrap().len());
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).unwrap();
        self.keys.lock().unwrap().insert(id.clone(), key);
        *self.current.lock().unwrap() = Some(id.clone());
        Ok(id)
    }

    fn retire(&self, kek_id: &str) -> Result<(), KeyError> {
        self.keys.lock().unwrap().remove(kek_id);
        Ok(())
    }

    fn destroy_all(&self) -> Result<(), KeyError> {
        self.keys.lock().unwrap().clear();
        *self.current.lock().unwrap() = None;
        Ok(())
    }
}

#[test]
fn a_region_moves_from_the_file_kek_to_a_key_service_and_keeps_its_data() {
    let gw = PolicyGateway::with_default_policies().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let us = RegionId::parse("us").unwrap();
    let keyring = Keyring::open_embedded(us.clone(), dir.path()).unwrap();
    let users: Vec<UserId> = (0..3).map(|_| UserId::generate(&us)).collect();
    let grant = |u: &UserId| {
        gw.authorize(
            &Principal::user(u.clone()),
            act::ReadProtected,
            &Resource::protected(u),
            &AccessContext::none(),
        )
        .unwrap()
    };
    let mut sealed = Vec::new();
    for u in &users {
        keyring.create_user_key(u).unwrap();
        let key = keyring.user_key(&grant(u)).unwrap();
        sealed.push(key.encrypt_field("users.birthdate", "2001-02-03"));
    }

    let service = Arc::new(KeyService::new());
    let report = keyring.hand_over(service.clone()).unwrap();
    assert_eq!(report.rewrapped, 3);
    assert_eq!(service.calls.load(Ordering::Relaxed), 3, "one wrap per DEK");
    // Handing over to the KEK already in force is refused, not a shredding.
    assert!(matches!(
        keyring.hand_over(service.clone()),
        Err(KeyError::RetireCurrent(_))
    ));

    for (u, s) in users.iter().zip(&sealed) {
        let key = keyring.user_key(&grant(u)).unwrap();
        assert_eq!(
            key.decrypt_field("users.birthdate", s).unwrap().as_str(),
            "2001-02-03"
        );
    }
    // Rotation inside the service re-wraps and retires, as with the file KEK.
    let report = keyring.rotate_kek().unwrap();
    assert_eq!(report.rewrapped, 3);
    assert_eq!(service.key_ids().unwrap(), vec![report.new_kek_id.clone()]);
    // A restart reopens the DEK files with the service.
    drop(keyring);
    let keyring = Keyring::open(us, &dir.path().join("deks"), service.clone()).unwrap();
    assert!(keyring.user_key(&grant(&users[0])).is_ok());
    // The service destroying its keys shreds the region.
    service.destroy_all().unwrap();
    assert!(matches!(
        keyring.user_key(&grant(&users[0])),
        Err(KeyError::UnknownKek(_))
    ));
}
