//! The custody scan on planted files: canaries outside their home region,
//! plaintext where ciphertext is expected, and leftovers of erased users.

use std::path::Path;

use sovereel_custody::{Canary, CanaryRule, ScanArea, Violation, scan};
use sovereel_model::ids::RegionId;

fn region(s: &str) -> RegionId {
    RegionId::parse(s).unwrap()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn areas(root: &Path) -> Vec<ScanArea> {
    let mut v: Vec<ScanArea> = ["us", "au"]
        .iter()
        .map(|r| ScanArea {
            region: Some(region(r)),
            roots: vec![
                root.join(r).join("store.db"),
                root.join(r).join("store.db-wal"),
                root.join(r).join("media"),
                root.join(r).join("keyring"),
                root.join(r).join("ledger"),
            ],
        })
        .collect();
    v.push(ScanArea {
        region: None,
        roots: vec![root.join("catalog")],
    });
    v
}

#[test]
fn clean_regions_pass() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("us/store.db"), b"...caption-canary-us-1...");
    write(&root.join("au/store.db"), b"nothing to see");
    write(&root.join("catalog/catalog.db"), b"public bio");
    let canaries = [
        Canary {
            home: region("us"),
            text: "caption-canary-us-1".into(),
            rule: CanaryRule::HomeOnly,
        },
        Canary {
            home: region("us"),
            text: "email-canary-us-1".into(),
            rule: CanaryRule::Encrypted,
        },
    ];
    let report = scan(&areas(root), &canaries).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.files, 3);
}

#[test]
fn every_kind_of_leak_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // A US private caption in the AU WAL, and in the shared catalog.
    write(
        &root.join("au/store.db-wal"),
        b"\x00\x01caption-canary-us-1\x00",
    );
    write(&root.join("catalog/catalog.db"), b"caption-canary-us-1");
    // A US email in plaintext at home, in the media directory.
    write(&root.join("us/media/videos/x"), b"email-canary-us-1");
    // An erased user's canary left in the AU ledger.
    write(&root.join("au/ledger/entries"), b"erased-canary-au-1");
    let canaries = [
        Canary {
            home: region("us"),
            text: "caption-canary-us-1".into(),
            rule: CanaryRule::HomeOnly,
        },
        Canary {
            home: region("us"),
            text: "email-canary-us-1".into(),
            rule: CanaryRule::Encrypted,
        },
        Canary {
            home: region("au"),
            text: "erased-canary-au-1".into(),
            rule: CanaryRule::Erased,
        },
    ];
    let report = scan(&areas(root), &canaries).unwrap();
    let mut got: Vec<(String, Option<String>, Violation)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.canary.clone(),
                f.found_in.as_ref().map(|r| r.to_string()),
                f.violation,
            )
        })
        .collect();
    got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(
        got,
        vec![
            ("caption-canary-us-1".into(), None, Violation::OutsideHome),
            (
                "caption-canary-us-1".into(),
                Some("au".into()),
                Violation::OutsideHome
            ),
            (
                "email-canary-us-1".into(),
                Some("us".into()),
                Violation::Plaintext
            ),
            (
                "erased-canary-au-1".into(),
                Some("au".into()),
                Violation::NotErased
            ),
        ]
    );
    let wal = report
        .findings
        .iter()
        .find(|f| f.path.ends_with("store.db-wal"))
        .unwrap();
    assert_eq!(wal.offset, 2);
}

#[test]
fn a_canary_across_a_read_buffer_boundary_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut bytes = vec![b'x'; (1 << 20) - 5];
    bytes.extend_from_slice(b"boundary-canary-xyz");
    bytes.extend_from_slice(&vec![b'y'; 3 << 20]);
    write(&root.join("au/media/big"), &bytes);
    let canaries = [Canary {
        home: region("us"),
        text: "boundary-canary-xyz".into(),
        rule: CanaryRule::HomeOnly,
    }];
    let report = scan(&areas(root), &canaries).unwrap();
    assert_eq!(report.findings.len(), 1, "{report:?}");
    assert_eq!(report.findings[0].offset, (1 << 20) - 5);
}

#[test]
fn the_embedded_layout_covers_regions_keyrings_catalog_and_incoming() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("regions/us/store.db"), b"caption-canary-us-2");
    write(&root.join("regions/au/media/v/1"), b"caption-canary-us-2");
    write(
        &root.join("keyring/au/deks/xy/f.dek"),
        b"caption-canary-us-2",
    );
    write(&root.join("incoming/upload"), b"video-canary-us-2");
    let areas = ScanArea::embedded(root, &[region("us"), region("au")]);
    let canaries = [
        Canary {
            home: region("us"),
            text: "caption-canary-us-2".into(),
            rule: CanaryRule::HomeOnly,
        },
        Canary {
            home: region("us"),
            text: "video-canary-us-2".into(),
            rule: CanaryRule::Encrypted,
        },
    ];
    let report = scan(&areas, &canaries).unwrap();
    let mut paths: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "incoming/upload",
            "keyring/au/deks/xy/f.dek",
            "regions/au/media/v/1"
        ]
    );
}
