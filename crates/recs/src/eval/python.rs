//! Runs the Python baselines (implicit ALS and BPR, EASE) from `bench/` on the
//! split this run wrote, installing them (and Vowpal Wabbit, for the heads'
//! comparison) into a virtualenv on first use.

use crate::eval::EvalError;
use serde::Deserialize;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Deserialize)]
pub struct PyResult {
    pub name: String,
    pub recall: f64,
    pub ndcg: f64,
    pub params: String,
}

/// The split's files: the baselines choose their grid point on the validation
/// pair (cut from train), then refit on train and score test once.
pub struct SplitFiles<'a> {
    pub train: &'a Path,
    pub test: &'a Path,
    pub valid_train: &'a Path,
    pub valid_test: &'a Path,
}

/// Sets up the virtualenv (once) and runs `baselines.py`.
pub fn run(
    bench_dir: &Path,
    venv: &Path,
    python: &str,
    files: &SplitFiles,
    out: &Path,
) -> Result<Vec<PyResult>, EvalError> {
    let setup = bench_dir.join("setup-python.sh");
    let status = Command::new("bash")
        .arg(&setup)
        .arg(venv)
        .env("PYTHON", python)
        .status()
        .map_err(|e| EvalError::Python(format!("{}: {e}", setup.display())))?;
    if !status.success() {
        return Err(EvalError::Python(format!(
            "{} failed: {status}",
            setup.display()
        )));
    }
    let status = Command::new(venv.join("bin").join("python"))
        .arg(bench_dir.join("baselines.py"))
        .args([
            "--train".as_ref(),
            files.train.as_os_str(),
            "--test".as_ref(),
            files.test.as_os_str(),
            "--valid-train".as_ref(),
            files.valid_train.as_os_str(),
            "--valid-test".as_ref(),
            files.valid_test.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .status()
        .map_err(|e| EvalError::Python(e.to_string()))?;
    if !status.success() {
        return Err(EvalError::Python(format!("baselines.py failed: {status}")));
    }
    let text = std::fs::read_to_string(out).map_err(|e| EvalError::Io(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| EvalError::Python(format!("bad baselines output: {e}")))
}
