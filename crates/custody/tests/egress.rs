//! The egress check: protected or unclassified fields refuse the batch,
//! naming the column but never the value, and are counted.

use sha2::{Digest, Sha256};
use sovereel_custody::{EgressField, EgressGateway, EgressRefused};
use sovereel_model::classes::{DataClass, Db};

fn field<'a>(db: Db, table: &'a str, column: &'a str, value: &'a [u8]) -> EgressField<'a> {
    EgressField {
        db,
        table,
        column,
        value,
    }
}

#[test]
fn a_public_batch_passes_with_its_hash_and_classes() {
    let gw = EgressGateway::new();
    let batch = [
        field(Db::Catalog, "videos", "id", b"us_x"),
        field(Db::Catalog, "videos", "caption", b"hello #cats"),
        field(Db::Catalog, "videos", "likes", b"3"),
    ];
    let r = gw.check("catalog", &batch).unwrap();
    assert_eq!(
        r.classes,
        vec![DataClass::Public, DataClass::Aggregate, DataClass::Interop]
    );
    assert_eq!(r.items, 3);
    assert_eq!(r.destination, "catalog");
    assert_eq!(r.batch_sha256.len(), 64);
    // Same batch, same hash; any changed value, another hash.
    assert_eq!(
        gw.check("catalog", &batch).unwrap().batch_sha256,
        r.batch_sha256
    );
    let mut changed = batch;
    changed[1].value = b"hello #dogs";
    assert_ne!(
        gw.check("catalog", &changed).unwrap().batch_sha256,
        r.batch_sha256
    );
    assert_eq!(gw.passed_total(), 3);
    assert_eq!(gw.refused_total(), 0);
    let payload = br#"{"caption":"hello #cats"}"#;
    let p = gw.check_payload("au", &batch, payload).unwrap();
    assert_eq!(p.batch_sha256, hex::encode(Sha256::digest(payload)));
}

#[test]
fn a_protected_field_refuses_the_batch_and_is_counted() {
    let gw = EgressGateway::new();
    let secret = b"canary-4b1d@example.org";
    let batch = [
        field(Db::Catalog, "profiles", "handle", b"alice"),
        field(Db::Region, "users", "email", secret),
    ];
    let err = gw.check("catalog", &batch).unwrap_err();
    assert_eq!(
        err,
        EgressRefused::Protected {
            table: "users".into(),
            column: "email".into()
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("users.email"), "{msg}");
    assert!(!msg.contains("canary"), "the value never appears: {msg}");
    assert_eq!(gw.refused_total(), 1);
    assert_eq!(gw.passed_total(), 0);

    // A region video's caption is protected (private videos), even though
    // the catalog's column of the same name is public.
    let batch = [field(Db::Region, "videos", "caption", b"private")];
    assert!(matches!(
        gw.check_payload("au", &batch, b"x"),
        Err(EgressRefused::Protected { .. })
    ));
    assert_eq!(gw.refused_total(), 2);
}

#[test]
fn an_unclassified_column_is_refused() {
    let gw = EgressGateway::new();
    let err = gw
        .check(
            "catalog",
            &[field(Db::Catalog, "videos", "secret_sauce", b"1")],
        )
        .unwrap_err();
    assert!(err.to_string().contains("videos.secret_sauce"));
    assert_eq!(gw.refused_total(), 1);
}
