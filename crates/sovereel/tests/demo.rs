//! `sovereel demo` seeds a working platform: accounts in every region, clips,
//! a personalised For You, and staff activity in the viewers' access logs.

use std::process::Command;

#[test]
fn demo_seeds_a_platform_in_every_region() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_sovereel"))
        .args([
            "demo",
            "--seed-only",
            "--clips",
            "36",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Sovereel demo is running at http://127.0.0.1:"),
        "{stdout}"
    );
    // Staff to sign in as, in every region, and the platform's operator.
    for login in ["mod_au", "mod2_au", "ops_us", "mod_global", "platform_ops"] {
        assert!(stdout.contains(login), "{login}: {stdout}");
    }
    for region in ["us", "au", "nz", "global"] {
        assert!(
            stdout.contains(&format!("home region {region}")),
            "{stdout}"
        );
        assert!(
            dir.path()
                .join("data/regions")
                .join(region)
                .join("store.db")
                .exists()
        );
    }
}
