//! Builds the Go interop program (crates/ledger/interop/main.go, on
//! golang.org/x/mod's sumdb/note and sumdb/tlog) into `dir`. Shared by the
//! ledger's interop test and the cluster test, which has Go follow the
//! region logs of a running cluster.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn build_interop(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("ledger")
        .join("interop")
        .join("main.go");
    let out = dir.join("interop");
    let gopath = format!("{}:/usr/share/gocode", dir.join("gopath").display());
    let status = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", gopath)
        .env("GOCACHE", dir.join("gocache"))
        .env("GOFLAGS", "")
        .status()
        .expect("the Go toolchain is needed for the interop test (run scripts/ensure-test-deps)");
    assert!(status.success(), "building the Go interop program failed");
    out
}
