//! The PKCS#11 KEK against a real token: SoftHSM 2, initialised fresh in a
//! temporary directory with `softhsm2-util --init-token --free`. Every test
//! uses its own key label in that token, so they run in parallel.
//!
//! Without the SoftHSM module the tests say so and pass, unless
//! `SOVEREEL_REQUIRE_SOFTHSM` is set (scripts/test sets it), when they fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use sovereel_custody::pkcs11::{find_token, module_context};
use sovereel_custody::{
    AccessContext, FileKek, KeyEncryptionKey, KeyError, Keyring, PinSource, Pkcs11Config,
    Pkcs11Kek, PolicyGateway, Principal, Resource, act,
};
use sovereel_model::ids::{RegionId, UserId};

const TOKEN: &str = "sovereel-custody-test";
const PIN: &str = "4711-not-a-real-pin";
const PIN_VAR: &str = "SOVEREEL_TEST_HSM_PIN";

struct SoftHsm {
    module: PathBuf,
    dir: tempfile::TempDir,
}

fn module_path() -> PathBuf {
    std::env::var_os("SOVEREEL_SOFTHSM_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"))
}

/// The process-wide SoftHSM: one fresh token in a temporary directory.
/// `SOFTHSM2_CONF` is read by the module when it is initialised, which
/// happens once per process, so it is set once, here, before that.
fn softhsm() -> Option<&'static SoftHsm> {
    static HSM: OnceLock<Option<SoftHsm>> = OnceLock::new();
    HSM.get_or_init(|| {
        let module = module_path();
        if !module.exists() {
            if std::env::var_os("SOVEREEL_REQUIRE_SOFTHSM").is_some() {
                panic!(
                    "SOVEREEL_REQUIRE_SOFTHSM is set but the SoftHSM module {} is missing \
                     (Debian: apt-get install softhsm2)",
                    module.display()
                );
            }
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("sovereel-softhsm-")
            .tempdir()
            .unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let out = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", TOKEN])
            .args(["--pin", PIN, "--so-pin", "so-4711"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util runs (it ships with the module)");
        assert!(
            out.status.success(),
            "softhsm2-util --init-token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // SAFETY: set once, inside this initialiser, before the module is
        // first loaded; the tests of this file read no other variable
        // concurrently with it being written (the other tests wait on the
        // same `OnceLock`).
        unsafe {
            std::env::set_var("SOFTHSM2_CONF", &conf);
            std::env::set_var(PIN_VAR, PIN);
        }
        Some(SoftHsm { module, dir })
    })
    .as_ref()
}

macro_rules! need_softhsm {
    () => {
        match softhsm() {
            Some(h) => h,
            None => {
                eprintln!(
                    "skipped: the SoftHSM module {} is absent (apt-get install softhsm2, \
                     or set SOVEREEL_REQUIRE_SOFTHSM=1 to make this a failure)",
                    module_path().display()
                );
                return;
            }
        }
    };
}

fn config(hsm: &SoftHsm, key_label: &str) -> Pkcs11Config {
    Pkcs11Config {
        module: hsm.module.clone(),
        token_label: TOKEN.into(),
        key_label: key_label.into(),
        pin: PinSource::Env(PIN_VAR.into()),
    }
}

/// A session of the test's own, logged in, to look at the token directly.
fn inspect(hsm: &SoftHsm) -> Session {
    let ctx = module_context(&hsm.module).unwrap();
    let slot = find_token(&ctx, TOKEN).unwrap();
    let s = ctx.open_rw_session(slot).unwrap();
    match s.login(UserType::User, Some(&AuthPin::from(PIN))) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("login: {e}"),
    }
    s
}

fn keys_labelled(s: &Session, label: &str) -> Vec<cryptoki::object::ObjectHandle> {
    s.find_objects(&[
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::Label(label.as_bytes().to_vec()),
    ])
    .unwrap()
}

fn gateway() -> PolicyGateway {
    PolicyGateway::with_default_policies().unwrap()
}

fn grant(gw: &PolicyGateway, u: &UserId) -> sovereel_custody::Authorized<act::ReadProtected> {
    gw.authorize(
        &Principal::user(u.clone()),
        act::ReadProtected,
        &Resource::protected(u),
        &AccessContext::none(),
    )
    .unwrap()
}

fn no_kek_files(dir: &Path) -> bool {
    walk(dir)
        .iter()
        .all(|p| p.extension().is_none_or(|e| e != "kek"))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn user_keys_seal_and_open_under_a_kek_in_the_token_and_survive_a_restart() {
    let hsm = need_softhsm!();
    let gw = gateway();
    let dir = tempfile::tempdir().unwrap();
    let us = RegionId::parse("us").unwrap();
    let kek = Arc::new(Pkcs11Kek::open_or_create(&config(hsm, "basic-us")).unwrap());
    let first = kek.id().unwrap();
    assert!(first.starts_with('h'), "{first}");
    let keyring = Keyring::open(us.clone(), &dir.path().join("deks"), kek.clone()).unwrap();
    let users: Vec<UserId> = (0..3).map(|_| UserId::generate(&us)).collect();
    let mut sealed = vec![];
    for u in &users {
        keyring.create_user_key(u).unwrap();
        let key = keyring.user_key(&grant(&gw, u)).unwrap();
        sealed.push(key.encrypt_field("users.email", &format!("{}@canary.example", u.as_str())));
    }
    // The DEK files hold 60-byte AES-GCM wraps made by the token.
    for u in &users {
        let key = keyring.user_key(&grant(&gw, u)).unwrap();
        assert_eq!(
            key.decrypt_field("users.email", &sealed[0]).is_ok(),
            u == &users[0],
            "a user's key opens only their own fields"
        );
    }
    // A wrapped key bound to one user does not unwrap as another's.
    let w = kek.wrap(&[7u8; 32], b"bound to alice").unwrap();
    assert_eq!(w.bytes.len(), 60);
    let e = kek.unwrap(&w, b"bound to bob").unwrap_err();
    assert!(matches!(e, KeyError::Decrypt), "{e}");
    let mut tampered = w.clone();
    tampered.bytes[20] ^= 1;
    assert!(matches!(
        kek.unwrap(&tampered, b"bound to alice"),
        Err(KeyError::Decrypt)
    ));
    assert_eq!(*kek.unwrap(&w, b"bound to alice").unwrap(), [7u8; 32]);

    // Rotation inside the token: a second key, the DEKs re-wrapped, the
    // first key destroyed in the token.
    let report = keyring.rotate_kek().unwrap();
    assert_eq!(report.rewrapped, 3);
    assert_eq!(report.retired_kek_ids, vec![first.clone()]);
    assert_eq!(kek.key_ids().unwrap(), vec![report.new_kek_id.clone()]);
    let s = inspect(hsm);
    assert_eq!(keys_labelled(&s, "basic-us").len(), 1);

    // A restart: a new session finds the same key by its label and id.
    drop(keyring);
    drop(kek);
    let kek = Arc::new(Pkcs11Kek::open_or_create(&config(hsm, "basic-us")).unwrap());
    assert_eq!(kek.id().unwrap(), report.new_kek_id);
    let keyring = Keyring::open(us, &dir.path().join("deks"), kek).unwrap();
    for (u, s) in users.iter().zip(&sealed) {
        let key = keyring.user_key(&grant(&gw, u)).unwrap();
        assert_eq!(
            key.decrypt_field("users.email", s).unwrap().as_str(),
            format!("{}@canary.example", u.as_str())
        );
    }
    assert!(no_kek_files(dir.path()), "no KEK material on disk");
}

#[test]
fn the_kek_cannot_be_read_or_wrapped_out_of_the_token() {
    let hsm = need_softhsm!();
    let kek = Pkcs11Kek::open_or_create(&config(hsm, "extract-us")).unwrap();
    let s = inspect(hsm);
    let handles = keys_labelled(&s, "extract-us");
    assert_eq!(handles.len(), 1);
    let key = handles[0];
    // Reading CKA_VALUE is refused: the token reports it sensitive and
    // returns no value.
    let info = s.get_attribute_info(key, &[AttributeType::Value]).unwrap();
    assert!(matches!(info[..], [AttributeInfo::Sensitive]), "{info:?}");
    let got = s.get_attributes(key, &[AttributeType::Value]).unwrap();
    assert!(
        !got.iter().any(|a| matches!(a, Attribute::Value(_))),
        "the key's value came out of the token"
    );
    let flags = s
        .get_attributes(
            key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::AlwaysSensitive,
                AttributeType::KeyType,
            ],
        )
        .unwrap();
    for a in &flags {
        match a {
            Attribute::Sensitive(v) => assert!(*v),
            Attribute::Extractable(v) => assert!(!*v),
            Attribute::NeverExtractable(v) => assert!(*v),
            Attribute::AlwaysSensitive(v) => assert!(*v),
            Attribute::KeyType(t) => assert_eq!(*t, KeyType::AES),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(flags.len(), 5);
    // Wrapping it out under a key the caller controls is refused too.
    let wrapper = s
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32u64.into()),
                Attribute::Token(false),
                Attribute::Wrap(true),
                Attribute::Label(b"extract-us-attacker".to_vec()),
            ],
        )
        .unwrap();
    let e = s
        .wrap_key(&Mechanism::AesKeyWrap, wrapper, key)
        .unwrap_err();
    assert!(
        matches!(
            e,
            cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::KeyUnextractable, _)
        ),
        "{e}"
    );
    drop(kek);
}

#[test]
fn a_region_is_handed_from_a_file_kek_to_the_token_and_back() {
    let hsm = need_softhsm!();
    let gw = gateway();
    let dir = tempfile::tempdir().unwrap();
    let au = RegionId::parse("au").unwrap();
    // The embedded keyring, as a region starts.
    let keyring = Keyring::open_embedded(au.clone(), dir.path()).unwrap();
    let users: Vec<UserId> = (0..4).map(|_| UserId::generate(&au)).collect();
    let mut sealed = vec![];
    for u in &users {
        keyring.create_user_key(u).unwrap();
        let key = keyring.user_key(&grant(&gw, u)).unwrap();
        sealed.push(key.encrypt_field("users.birthdate", "1990-01-02"));
    }
    let file_kek_dir = dir.path().join("kek");
    assert!(!no_kek_files(&file_kek_dir));

    // Hand-over to a hardware-backed custodian.
    let hsm_kek = Arc::new(Pkcs11Kek::open_or_create(&config(hsm, "handover-au")).unwrap());
    let report = keyring.hand_over(hsm_kek.clone()).unwrap();
    assert_eq!(report.rewrapped, 4);
    assert_eq!(report.new_kek_id, hsm_kek.id().unwrap());
    assert!(
        no_kek_files(&file_kek_dir),
        "the old custodian's file KEK is shredded"
    );
    for (u, s) in users.iter().zip(&sealed) {
        let key = keyring.user_key(&grant(&gw, u)).unwrap();
        assert_eq!(
            key.decrypt_field("users.birthdate", s).unwrap().as_str(),
            "1990-01-02"
        );
    }
    // New users get keys wrapped in the token.
    let late = UserId::generate(&au);
    keyring.create_user_key(&late).unwrap();
    // Handing over to the KEK in force is refused, not a shredding.
    assert!(matches!(
        keyring.hand_over(hsm_kek.clone()),
        Err(KeyError::RetireCurrent(_))
    ));

    // And on to a file KEK again (a custodian without an HSM): the token's
    // key objects are destroyed.
    let next = Arc::new(FileKek::open_or_create(&dir.path().join("kek-next")).unwrap());
    let report = keyring.hand_over(next.clone()).unwrap();
    assert_eq!(report.rewrapped, 5);
    let s = inspect(hsm);
    assert!(
        keys_labelled(&s, "handover-au").is_empty(),
        "the token still holds the old custodian's KEK"
    );
    assert!(matches!(hsm_kek.id(), Err(KeyError::KekDestroyed)));
    for (u, s) in users.iter().zip(&sealed) {
        let key = keyring.user_key(&grant(&gw, u)).unwrap();
        assert_eq!(
            key.decrypt_field("users.birthdate", s).unwrap().as_str(),
            "1990-01-02"
        );
    }
    assert!(keyring.user_key(&grant(&gw, &late)).is_ok());
}

#[test]
fn destroying_the_kek_destroys_the_token_objects_for_good() {
    let hsm = need_softhsm!();
    let gw = gateway();
    let dir = tempfile::tempdir().unwrap();
    let nz = RegionId::parse("nz").unwrap();
    let kek = Arc::new(Pkcs11Kek::open_or_create(&config(hsm, "destroy-nz")).unwrap());
    let keyring = Keyring::open(nz.clone(), &dir.path().join("deks"), kek.clone()).unwrap();
    let u = UserId::generate(&nz);
    keyring.create_user_key(&u).unwrap();
    let sealed = keyring
        .user_key(&grant(&gw, &u))
        .unwrap()
        .encrypt_field("users.email", "wind-down-canary@mail.example");
    // A wrapped copy of the DEK file, as a backup would hold it.
    let backup: Vec<(PathBuf, Vec<u8>)> = walk(&dir.path().join("deks"))
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    assert_eq!(backup.len(), 1);

    let receipts = keyring.destroy_all().unwrap();
    assert_eq!(receipts.len(), 2, "one DEK and one KEK");
    let s = inspect(hsm);
    assert!(keys_labelled(&s, "destroy-nz").is_empty());
    // Restoring the backed-up DEK file does not bring the data back: the
    // key that wrapped it is gone from the token.
    for (p, b) in &backup {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    }
    assert!(matches!(
        keyring.user_key(&grant(&gw, &u)),
        Err(KeyError::UnknownKek(_))
    ));
    drop(keyring);
    drop(kek);
    // Reopening the label makes no new key: the tombstone holds.
    let kek = Pkcs11Kek::open_or_create(&config(hsm, "destroy-nz")).unwrap();
    assert!(matches!(kek.id(), Err(KeyError::KekDestroyed)));
    assert!(matches!(kek.rotate(), Err(KeyError::KekDestroyed)));
    assert!(keys_labelled(&s, "destroy-nz").is_empty());
    let _ = sealed;
}

#[test]
fn a_wrong_pin_or_token_is_named_and_the_pin_never_appears() {
    let hsm = need_softhsm!();
    let dir = tempfile::tempdir().unwrap();
    let pin_file = dir.path().join("pin");
    let wrong = "9999-wrong-pin-canary";
    std::fs::write(&pin_file, format!("{wrong}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut cfg = config(hsm, "pin-us");
    cfg.pin = PinSource::File(pin_file.clone());
    let e = Pkcs11Kek::open_or_create(&cfg).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("refused the PIN"), "{msg}");
    assert!(!msg.contains(wrong) && !format!("{e:?}").contains(wrong));
    assert!(!format!("{cfg:?}").contains(wrong));

    let mut cfg = config(hsm, "pin-us");
    cfg.token_label = "no-such-token".into();
    let msg = Pkcs11Kek::open_or_create(&cfg).unwrap_err().to_string();
    assert!(msg.contains("no initialised token is labelled"), "{msg}");

    let mut cfg = config(hsm, "pin-us");
    cfg.module = PathBuf::from("/nonexistent/libpkcs11.so");
    let msg = Pkcs11Kek::open_or_create(&cfg).unwrap_err().to_string();
    assert!(msg.contains("does not exist"), "{msg}");

    let mut cfg = config(hsm, "pin-us");
    cfg.pin = PinSource::Env("SOVEREEL_TEST_NO_SUCH_PIN_VAR".into());
    let msg = Pkcs11Kek::open_or_create(&cfg).unwrap_err().to_string();
    assert!(msg.contains("is not set"), "{msg}");

    // The right PIN from a file works, and the token dir holds the key
    // (SoftHSM's own encrypted store), not this program's data dir.
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let mut cfg = config(hsm, "pin-us");
    cfg.pin = PinSource::File(pin_file);
    let kek = Pkcs11Kek::open_or_create(&cfg).unwrap();
    assert!(kek.id().is_ok());
    assert!(!walk(hsm.dir.path()).is_empty());
}
