//! Release enforcement: only platform-signed, custodian-approved releases
//! install; a refused release leaves the running one in place.
mod common;
use common::*;
use ed25519_dalek::SigningKey;
use sovereel_ledger::note::NoteSigner;
use sovereel_recs::release::dev_keys::DevKeys;
use sovereel_recs::release::{approve_release, sign_release};
use sovereel_recs::*;

fn page_release(e: &mut Engine) -> String {
    e.rank(&Query::new("us_a", 5, T0)).unwrap().release_id
}

#[test]
fn unapproved_release_is_refused_and_previous_keeps_running() {
    let mut e = engine();
    let k = keys();
    let only_signed = sign_release(&manifest("r2"), &k.platform).unwrap();
    let err = e.install_release(&only_signed).unwrap_err();
    assert!(matches!(err, ReleaseError::NotApproved(_)), "{err}");
    assert!(err.to_string().contains("custodian"));
    assert_eq!(page_release(&mut e), "r1");
    assert_eq!(e.installed_releases(), vec!["r1".to_string()]);
}

#[test]
fn wrongly_signed_release_is_refused() {
    let mut e = engine();
    let k = keys();
    let rogue = NoteSigner::new(k.platform.name(), SigningKey::from_bytes(&[99; 32])).unwrap();
    let signed = sign_release(&manifest("r2"), &rogue).unwrap();
    // The custodian would not approve it either.
    assert!(matches!(
        approve_release(&signed, &k.platform.verifier(), &k.custodian),
        Err(ReleaseError::NotSignedByPlatform(_))
    ));
    // Even cosigned by the right custodian, the platform signature is wrong.
    let mut forged = signed.clone();
    forged.extend_from_slice(
        k.custodian
            .sign(std::str::from_utf8(&signed[..signed.len() - 1]).unwrap_or(""))
            .line()
            .as_bytes(),
    );
    assert!(e.install_release(&forged).is_err());
    // A different region's custodian is not this region's custodian.
    let other = DevKeys::from_seed("au", 50).unwrap();
    let p_signed = sign_release(&manifest("r3"), &k.platform).unwrap();
    let approved_elsewhere =
        approve_release(&p_signed, &k.platform.verifier(), &other.custodian).unwrap();
    assert!(matches!(
        e.install_release(&approved_elsewhere),
        Err(ReleaseError::NotApproved(_))
    ));
    assert_eq!(page_release(&mut e), "r1");
}

#[test]
fn tampered_release_is_refused() {
    let mut e = engine();
    let note = keys().release(&manifest("r2")).unwrap();
    let text = String::from_utf8(note).unwrap();
    let tampered = text.replace("\"exploration_rate\":0.1", "\"exploration_rate\":0.5");
    assert_ne!(text, tampered);
    assert!(matches!(
        e.install_release(tampered.as_bytes()),
        Err(ReleaseError::NotSignedByPlatform(_))
    ));
    assert!(matches!(
        e.install_release(b"not a note"),
        Err(ReleaseError::Malformed(_))
    ));
    assert!(e.install_release(&[0xff; 64]).is_err());
    assert_eq!(page_release(&mut e), "r1");
}

#[test]
fn invalid_manifests_are_never_signed() {
    let k = keys();
    let mut m = manifest("r2");
    m.exploration_rate = 0.9;
    assert!(matches!(
        sign_release(&m, &k.platform),
        Err(ReleaseError::InvalidManifest(_))
    ));
    let mut m = manifest("r2");
    m.engine_version = "sovereel-recs/99".into();
    assert!(matches!(
        sign_release(&m, &k.platform),
        Err(ReleaseError::UnsupportedEngine { .. })
    ));
    let mut m = manifest("r2");
    m.objective_weights.like = f32::NAN;
    assert!(sign_release(&m, &k.platform).is_err());
}

#[test]
fn releases_switch_at_run_time_and_pages_name_them() {
    let mut e = engine();
    let k = keys();
    let mut m2 = manifest("r2");
    m2.objective_weights.skip = -3.0;
    let id = e.install_release(&k.release(&m2).unwrap()).unwrap();
    assert_eq!(id, "r2");
    assert_eq!(page_release(&mut e), "r1", "installing does not activate");
    e.activate_release("r2").unwrap();
    assert_eq!(page_release(&mut e), "r2");
    assert_eq!(e.release().objective_weights.skip, -3.0);
    assert!(matches!(
        e.activate_release("r9"),
        Err(ReleaseError::UnknownRelease(_))
    ));
    assert_eq!(page_release(&mut e), "r2");
    e.activate_release("r1").unwrap();
    assert_eq!(page_release(&mut e), "r1");
    // Same id, different content: refused.
    let mut m2b = manifest("r2");
    m2b.exploration_rate = 0.2;
    assert!(matches!(
        e.install_release(&k.release(&m2b).unwrap()),
        Err(ReleaseError::Conflict(_))
    ));
    // Re-installing the identical release is harmless.
    assert_eq!(e.install_release(&k.release(&m2).unwrap()).unwrap(), "r2");
}

#[test]
fn engine_will_not_start_without_an_approved_release() {
    let k = keys();
    let only_signed = sign_release(&manifest("r1"), &k.platform).unwrap();
    assert!(Engine::new(EngineConfig::new("us"), k.trust(), &only_signed).is_err());
    let vkeys = ReleaseTrust::from_vkeys(
        &k.platform.verifier().vkey(),
        &k.custodian.verifier().vkey(),
    )
    .unwrap();
    assert!(
        Engine::new(
            EngineConfig::new("us"),
            vkeys,
            &k.release(&manifest("r1")).unwrap()
        )
        .is_ok()
    );
    assert!(ReleaseTrust::from_vkeys("garbage", "more+garbage").is_err());
}
