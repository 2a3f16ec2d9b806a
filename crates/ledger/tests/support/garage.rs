//! A throw-away single-node Garage for tests: the real S3-compatible server,
//! started as its own process on loopback ports in a temporary directory,
//! with one access key and the buckets a test asks for. Killed on drop (and
//! when the test process dies, since it watches its stdin).
//!
//! When the `garage` binary is missing, [`Garage::start`] prints why and
//! returns `None` so the test can skip, unless `SOVEREEL_REQUIRE_GARAGE` is
//! set (as `scripts/test` does): then a missing binary fails the test.
//!
//! Shared by the ledger, media and server tests (`#[path]`-included), so it
//! uses only the standard library.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Garage {
    child: Child,
    dir: PathBuf,
    config: PathBuf,
    bin: PathBuf,
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    pub key_id: String,
    pub secret: String,
}

/// Where the garage binary is: `$GARAGE_BIN`, `garage` on PATH, or cargo's
/// bin directory (where `scripts/ensure-test-deps` installs it).
pub fn garage_binary() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os("GARAGE_BIN") {
        return Some(PathBuf::from(b));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for d in std::env::split_paths(&path) {
        let c = d.join("garage");
        if c.is_file() {
            return Some(c);
        }
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let c = cargo_home.join("bin").join("garage");
    c.is_file().then_some(c)
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("reading /dev/urandom");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Garage {
    /// Starts a Garage with `buckets` created and writable by its key, or
    /// `None` (after printing why) when the binary is absent and
    /// `SOVEREEL_REQUIRE_GARAGE` is unset.
    pub fn start(test: &str, buckets: &[&str]) -> Option<Garage> {
        let Some(bin) = garage_binary() else {
            if std::env::var_os("SOVEREEL_REQUIRE_GARAGE").is_some() {
                panic!(
                    "{test}: the garage binary is missing and SOVEREEL_REQUIRE_GARAGE is set \
                     (scripts/ensure-test-deps installs it)"
                );
            }
            eprintln!(
                "SKIPPED {test}: no garage binary (install it with scripts/ensure-test-deps, \
                 or set GARAGE_BIN); set SOVEREEL_REQUIRE_GARAGE=1 to make this a failure"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!("sovereel-garage-{}", random_hex(8)));
        std::fs::create_dir_all(&dir).expect("garage temp dir");
        let (rpc, s3, admin) = (free_port(), free_port(), free_port());
        let config = dir.join("garage.toml");
        std::fs::write(
            &config,
            format!(
                r#"metadata_dir = "{d}/meta"
data_dir = "{d}/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
admin_token = "{token}"
"#,
                d = dir.display(),
                secret = random_hex(32),
                token = random_hex(16),
            ),
        )
        .expect("writing the garage config");
        let log = std::fs::File::create(dir.join("garage.log")).expect("garage log");
        // `sh` runs the server and kills it once our end of its stdin closes,
        // which also happens when this test process is killed.
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" -c "$1" server & pid=$!; cat >/dev/null; kill $pid; wait $pid"#)
            .arg(&bin)
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("garage log"))
            .stderr(log)
            .spawn()
            .expect("spawning garage");
        let mut g = Garage {
            child,
            dir,
            config,
            bin,
            endpoint: format!("http://127.0.0.1:{s3}"),
            key_id: format!("GK{}", random_hex(12)),
            secret: random_hex(32),
        };
        g.setup(buckets);
        Some(g)
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("running the garage CLI");
        assert!(
            out.status.success(),
            "garage {}: {}\n(log in {})",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            self.dir.join("garage.log").display()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn setup(&mut self, buckets: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = Command::new(&self.bin)
                .arg("-c")
                .arg(&self.config)
                .arg("status")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if up {
                break;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "garage exited ({status}); see {}",
                    self.log_path().display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "garage did not start in 30 s; see {}",
                self.log_path().display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let id = self.cli(&["node", "id", "-q"]);
        let node = id.trim().split('@').next().unwrap_or_default().to_string();
        self.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        self.cli(&["layout", "apply", "--version", "1"]);
        let (key, secret) = (self.key_id.clone(), self.secret.clone());
        self.cli(&["key", "import", "--yes", "-n", "test", &key, &secret]);
        for b in buckets {
            self.create_bucket(b);
        }
    }

    /// Creates a bucket the test key may read, write and administer.
    pub fn create_bucket(&self, name: &str) {
        self.cli(&["bucket", "create", name]);
        self.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            name,
            "--key",
            &self.key_id,
        ]);
    }

    /// The `AWS_*` variables that point an S3 client at this Garage.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_REGION", "garage".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("garage.log")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        // Closing stdin makes the wrapper kill the server.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
