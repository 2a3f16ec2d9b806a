//! The cost of one gateway decision, and of sealing and opening one field.
//!
//! `cargo bench -p sovereel-custody --bench decision` prints criterion's
//! estimates and, first, per-call percentiles measured directly (criterion
//! reports means and medians, and the goal is stated as a p99).

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use sovereel_custody::{
    AccessContext, CaseContext, Keyring, OpaqueId, PolicyGateway, Principal, Resource, StaffRole,
    act,
};
use sovereel_model::ids::{RegionId, UserId};

struct Setup {
    gw: PolicyGateway,
    user: UserId,
    moderator: Principal,
    case: AccessContext,
}

fn setup() -> Setup {
    let us = RegionId::parse("us").unwrap();
    let user = UserId::generate(&us);
    let moderator = Principal::custodian_staff(
        OpaqueId::parse("mod-1").unwrap(),
        us.clone(),
        StaffRole::Moderator,
    );
    let case = AccessContext::case(CaseContext {
        case_id: OpaqueId::parse("case-1").unwrap(),
        open: true,
        assignee: OpaqueId::parse("mod-1").unwrap(),
        subject: user.clone(),
    });
    Setup {
        gw: PolicyGateway::with_default_policies().unwrap(),
        user,
        moderator,
        case,
    }
}

fn percentiles(name: &str, mut f: impl FnMut()) {
    for _ in 0..2_000 {
        f();
    }
    let mut samples: Vec<u128> = (0..50_000)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos()
        })
        .collect();
    samples.sort_unstable();
    let p = |q: f64| {
        samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)] as f64 / 1000.0
    };
    println!(
        "{name}: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs ({} calls)",
        p(0.50),
        p(0.90),
        p(0.99),
        p(0.999),
        samples.len()
    );
}

fn direct_percentiles() {
    let s = setup();
    let own = Principal::user(s.user.clone());
    let resource = Resource::protected(&s.user);
    let none = AccessContext::none();
    percentiles("decision: user reads own protected data", || {
        black_box(s.gw.authorize(&own, act::ReadProtected, &resource, &none)).ok();
    });
    percentiles(
        "decision: moderator reads a case item (allow + record)",
        || {
            black_box(s.gw.authorize(&s.moderator, act::ReadCaseItem, &resource, &s.case)).ok();
        },
    );
    let platform = Principal::platform_staff(OpaqueId::parse("p-1").unwrap(), StaffRole::Operator);
    percentiles("decision: platform staff denied (deny + record)", || {
        black_box(s.gw.authorize(&platform, act::ReadProtected, &resource, &none)).ok();
    });
}

fn decisions(c: &mut Criterion) {
    let s = setup();
    let own = Principal::user(s.user.clone());
    let resource = Resource::protected(&s.user);
    let none = AccessContext::none();
    c.bench_function("gateway/user_own_read", |b| {
        b.iter(|| black_box(s.gw.authorize(&own, act::ReadProtected, &resource, &none)).ok())
    });
    c.bench_function("gateway/moderator_case_read", |b| {
        b.iter(|| {
            black_box(s.gw.authorize(&s.moderator, act::ReadCaseItem, &resource, &s.case)).ok()
        })
    });
}

fn fields(c: &mut Criterion) {
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let keyring = Keyring::open_embedded(RegionId::parse("us").unwrap(), dir.path()).unwrap();
    keyring.create_user_key(&s.user).unwrap();
    let grant =
        s.gw.authorize(
            &Principal::user(s.user.clone()),
            act::ReadProtected,
            &Resource::protected(&s.user),
            &AccessContext::none(),
        )
        .unwrap();
    let key = keyring.user_key(&grant).unwrap();
    let sealed = key.encrypt_field("users.email", "someone@example.org");
    c.bench_function("field/unwrap_user_key", |b| {
        b.iter(|| black_box(keyring.user_key(&grant).unwrap()))
    });
    c.bench_function("field/encrypt_email", |b| {
        b.iter(|| black_box(key.encrypt_field("users.email", "someone@example.org")))
    });
    c.bench_function("field/decrypt_email", |b| {
        b.iter(|| black_box(key.decrypt_field("users.email", &sealed).unwrap()))
    });
}

/// A 1 MiB Range read of private media (decrypting 17 chunks) against the
/// same read of the plaintext object, both from a local media store.
fn media(c: &mut Criterion) {
    use futures::TryStreamExt;
    use sovereel_media::{ByteRange, MediaStore, RangedRead};
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let keyring =
        Keyring::open_embedded(RegionId::parse("us").unwrap(), &dir.path().join("k")).unwrap();
    keyring.create_user_key(&s.user).unwrap();
    let grant =
        s.gw.authorize(
            &Principal::user(s.user.clone()),
            act::ReadProtected,
            &Resource::protected(&s.user),
            &AccessContext::none(),
        )
        .unwrap();
    let key = std::sync::Arc::new(keyring.user_key(&grant).unwrap());
    let plain: Vec<u8> = (0..4u32 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let src = dir.path().join("plain");
    std::fs::write(&src, &plain).unwrap();
    let store = MediaStore::local(&dir.path().join("media")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(store.put_file("plain", &src)).unwrap();
    rt.block_on(key.store_encrypted_media(&store, "sealed", "us_v", &src))
        .unwrap();
    let reader = sovereel_custody::DecryptingReader::new(store.clone(), key, "us_v");
    let range = ByteRange {
        first: 1_000_000,
        last: 1_000_000 + (1 << 20) - 1,
    };
    let read = |r: &dyn RangedRead, k: &str| {
        rt.block_on(async {
            let s = r.read_range(k, range).await.unwrap();
            let parts: Vec<bytes::Bytes> = s.try_collect().await.unwrap();
            parts.iter().map(|b| b.len()).sum::<usize>()
        })
    };
    c.bench_function("media/range_1MiB_plain", |b| {
        b.iter(|| black_box(read(&store, "plain")))
    });
    c.bench_function("media/range_1MiB_encrypted", |b| {
        b.iter(|| black_box(read(&reader, "sealed")))
    });
}

criterion_group!(benches, decisions, fields, media);

/// KEK rotation re-wraps every DEK file (write, fsync, rename each): its
/// cost grows with the number of users, which is why deletions are batched.
fn rotation() {
    let dir = tempfile::tempdir().unwrap();
    let us = RegionId::parse("us").unwrap();
    let keyring = Keyring::open_embedded(us.clone(), dir.path()).unwrap();
    let n = 1_000;
    let t = Instant::now();
    for _ in 0..n {
        keyring.create_user_key(&UserId::generate(&us)).unwrap();
    }
    let created = t.elapsed();
    let t = Instant::now();
    let report = keyring.rotate_kek().unwrap();
    let rotated = t.elapsed();
    assert_eq!(report.rewrapped, n);
    println!(
        "keyring: {n} DEKs created in {:.0} ms ({:.2} ms each); KEK rotation over them {:.0} ms ({:.2} ms per DEK)",
        created.as_secs_f64() * 1e3,
        created.as_secs_f64() * 1e3 / n as f64,
        rotated.as_secs_f64() * 1e3,
        rotated.as_secs_f64() * 1e3 / n as f64,
    );
}

fn main() {
    direct_percentiles();
    rotation();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
