//! Hostile bytes and idle state: errors, never panics; idle users expire.
mod common;
use common::*;
use proptest::prelude::*;
use sovereel_recs::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_snapshots_and_release_notes_are_errors(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut e = engine();
        prop_assert!(e.install_release(&bytes).is_err());
        let mut snap = b"SVRECS\0\x01\x01\0\0\0".to_vec();
        snap.extend_from_slice(&bytes);
        prop_assert!(e.restore(&snap).is_err());
        prop_assert!(e.restore(&bytes).is_err());
        prop_assert_eq!(e.rank(&Query::new("us_a", 10, T0)).unwrap().items.len(), 10);
    }

    #[test]
    fn corrupted_real_snapshots_never_panic(at in 12usize..4096, flip in 1u8..=255) {
        let mut e = engine();
        let mut t = T0;
        train_user(&mut e, "us_cook", "cooking", 1, &mut t);
        let mut snap = e.snapshot().unwrap();
        let i = at % snap.len();
        snap[i] ^= flip;
        // Either it is rejected, or it decodes into a state that still serves.
        if e.restore(&snap).is_ok() {
            let _ = e.rank(&Query::new("us_cook", 10, t));
            let _ = e.observe(&Event::new("us_cook", "v_cooking_0_1", t, EventKind::Like));
        }
    }
}

#[test]
fn idle_users_expire_and_active_ones_stay() {
    let mut m = manifest("short-idle");
    m.hyper.idle_expiry_secs = 3600;
    let mut e = engine_with(&m);
    e.observe(&Event::new("us_old", "v_cooking_0_0", T0, EventKind::Like))
        .unwrap();
    e.observe(&Event::new(
        "us_new",
        "v_cooking_0_0",
        T0 + 3_000_000,
        EventKind::Like,
    ))
    .unwrap();
    let users = e.user_count();
    let freed = e.expire_idle(T0 + 3_700_000);
    assert!(freed >= 1);
    assert!(users > 2);
    assert_eq!(e.user_count(), 1, "only us_new was active within the hour");
    let x = e
        .explain("us_new", "v_cooking_0_1", T0 + 3_700_000)
        .unwrap();
    let y = e
        .explain("us_old", "v_cooking_0_1", T0 + 3_700_000)
        .unwrap();
    assert!(x.score > y.score, "the active user keeps their state");
}
