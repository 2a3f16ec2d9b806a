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
    // The trust-and-safety story it seeds, at the AU creator's home: two
    // reported videos (two cases), one decided, and an appeal of it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = format!(
        "sqlite://{}",
        dir.path().join("data/regions/au/store.db").display()
    );
    let (cases, decisions, appeals): (i64, i64, i64) = rt.block_on(async {
        use sqlx::{Connection, Row};
        let mut c = sqlx::SqliteConnection::connect(&db).await.unwrap();
        let one = |sql: &'static str| sqlx::query(sql);
        let cases = one("SELECT COUNT(*) AS n FROM cases WHERE kind = 'report'")
            .fetch_one(&mut c)
            .await
            .unwrap()
            .get::<i64, _>("n");
        let decisions = one("SELECT COUNT(*) AS n FROM decisions")
            .fetch_one(&mut c)
            .await
            .unwrap()
            .get::<i64, _>("n");
        let appeals = one("SELECT COUNT(*) AS n FROM cases WHERE kind = 'appeal'")
            .fetch_one(&mut c)
            .await
            .unwrap()
            .get::<i64, _>("n");
        (cases, decisions, appeals)
    });
    assert!(cases >= 2, "report cases: {cases}");
    assert!(decisions >= 1, "decisions: {decisions}");
    assert!(appeals >= 1, "appeals: {appeals}");
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

/// The demo empties only a directory an earlier demo made: anything else
/// that is not empty is refused, and left as it was, unless --force.
#[test]
fn demo_refuses_to_empty_a_directory_it_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("precious");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("keep.txt"), "not the demo's").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sovereel"))
        .args([
            "demo",
            "--seed-only",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not empty and no demo made it") && err.contains("--force"),
        "{err}"
    );
    assert!(data.join("keep.txt").exists(), "nothing was deleted");
}

/// `sovereel --listen … --data-dir …` serves without naming `serve`, and a
/// relative data dir is taken from the working directory.
#[test]
fn serve_is_the_default_command_and_relative_data_dirs_work() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sovereel"))
        .current_dir(dir.path())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            "demo-data",
        ])
        .env("SOVEREEL_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("sovereel exited ({status}): {err}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "it listened");
    assert!(dir.path().join("demo-data/regions/us/store.db").exists());
}
