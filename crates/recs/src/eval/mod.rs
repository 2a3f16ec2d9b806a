//! `sovereel eval`: offline quality of the engine on MovieLens-100K against
//! baselines from the same run, and a short-video simulator of a new user's
//! first swipes. Embedded by the binary as a clap subcommand.

pub mod engine_run;
pub mod movielens;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("fetching the dataset: {0}")]
    Fetch(String),
    #[error("dataset: {0}")]
    Data(String),
    #[error("engine: {0}")]
    Engine(String),
    #[error("i/o: {0}")]
    Io(String),
    #[error("python baselines: {0}")]
    Python(String),
}

#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Where the downloaded dataset (and the baselines' virtualenv) are kept.
    #[arg(long, default_value = ".cache/sovereel-eval")]
    pub cache_dir: PathBuf,
    /// Where the report and plots are written.
    #[arg(long, default_value = "eval-out")]
    pub out_dir: PathBuf,
    /// Python interpreter used for pip and the Python baselines.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Number of learning-curve points.
    #[arg(long, default_value_t = 10)]
    pub checkpoints: usize,
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} {elapsed}") {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(what.to_string());
    b
}

pub fn run(args: &EvalArgs) -> Result<(), EvalError> {
    let inter = movielens::fetch(&args.cache_dir, &args.python)?;
    let text = std::fs::read_to_string(&inter).map_err(|e| EvalError::Io(e.to_string()))?;
    let split = movielens::split(&movielens::parse(&text)?);
    let b = bar(split.train.len() as u64, "engine");
    let r = engine_run::run(
        &split,
        &engine_run::movielens_manifest(),
        args.checkpoints,
        &b,
    )?;
    b.finish();
    for p in &r.curve {
        println!(
            "{:.2} {:.4} {:.4}",
            p.fraction, p.metrics.recall, p.metrics.ndcg
        );
    }
    println!("events/s {:.0}", r.events_per_sec);
    Ok(())
}
