//! `sovereel eval`: offline quality of the engine on MovieLens-100K (or any
//! RecBole `.inter` file, `--dataset`) against baselines from the same run,
//! progressive validation of the objective heads against Vowpal Wabbit, and a
//! short-video simulator of a new user's first swipes. Embedded by the binary
//! as a clap subcommand.

pub mod baselines;
pub mod dataset;
pub mod engine_run;
pub mod heads;
pub mod movielens;
pub mod plot;
pub mod python;
pub mod simulator;

use crate::release::manifest::Manifest;
use clap::Args;
pub use dataset::SplitKind;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::{Path, PathBuf};

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
    /// A RecBole atomic `.inter` file to evaluate on (columns `user_id:token`,
    /// `item_id:token`, `timestamp:float`, optionally `rating:float`) instead
    /// of MovieLens-100K.
    #[arg(long, value_name = "FILE")]
    pub dataset: Option<PathBuf>,
    /// How to split it: each user's last 20% (user-temporal), or one cut-off
    /// time for everyone (global-temporal).
    #[arg(long, value_enum, default_value_t = SplitKind::UserTemporal)]
    pub split: SplitKind,
    /// Where the downloaded dataset (and the baselines' virtualenv) are kept.
    #[arg(long, default_value = ".cache/sovereel-eval")]
    pub cache_dir: PathBuf,
    /// Where the report, the split and the plots are written.
    #[arg(long, default_value = "eval-out")]
    pub out_dir: PathBuf,
    /// Python interpreter used for pip and the Python baselines.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// The directory holding `baselines.py` and `setup-python.sh`.
    #[arg(long, default_value = "bench")]
    pub bench_dir: PathBuf,
    /// Skip the Python baselines (ALS, BPR, EASE) and Vowpal Wabbit.
    #[arg(long)]
    pub skip_python: bool,
    /// Skip the heads' progressive validation (and Vowpal Wabbit).
    #[arg(long)]
    pub skip_heads: bool,
    /// Skip the short-video simulator.
    #[arg(long)]
    pub skip_simulator: bool,
    /// Number of learning-curve points.
    #[arg(long, default_value_t = 10)]
    pub checkpoints: usize,
    /// Neighbours per item for the item-kNN baseline.
    #[arg(long, default_value_t = 200)]
    pub knn_neighbours: usize,
    /// New users in the simulator.
    #[arg(long, default_value_t = 60)]
    pub sim_users: usize,
    /// Override the evaluation release's hyper-parameters, to explore; each is
    /// `name=value` with a name from the manifest's `hyper` section.
    #[arg(long = "hyper", value_name = "NAME=VALUE")]
    pub hyper: Vec<String>,
}

/// The evaluation release with `--hyper` overrides applied through the
/// manifest's own JSON form, so every field is reachable and validated.
fn eval_manifest(overrides: &[String]) -> Result<Manifest, EvalError> {
    let m = engine_run::movielens_manifest();
    if overrides.is_empty() {
        return Ok(m);
    }
    let mut v = serde_json::to_value(&m).map_err(|e| EvalError::Engine(e.to_string()))?;
    for o in overrides {
        let (k, val) = o
            .split_once('=')
            .ok_or_else(|| EvalError::Engine(format!("--hyper {o}: expected NAME=VALUE")))?;
        let parsed: serde_json::Value = serde_json::from_str(val)
            .map_err(|_| EvalError::Engine(format!("--hyper {o}: value is not a number")))?;
        match v.get_mut("hyper").and_then(|h| h.get_mut(k)) {
            Some(slot) => *slot = parsed,
            None => {
                return Err(EvalError::Engine(format!(
                    "--hyper {o}: unknown hyper-parameter"
                )));
            }
        }
    }
    v["id"] = serde_json::Value::String(format!("{}-custom", m.id));
    let m: Manifest = serde_json::from_value(v).map_err(|e| EvalError::Engine(e.to_string()))?;
    m.validate().map_err(|e| EvalError::Engine(e.to_string()))?;
    Ok(m)
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} {elapsed}") {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(what.to_string());
    b
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub recall: f64,
    pub ndcg: f64,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimRow {
    pub policy: String,
    pub mean_swipes: f64,
    pub median_swipes: f64,
    pub reached: usize,
    pub users: usize,
    pub mean_watch: f64,
    /// On-taste share of a new user's swipes 1–10, 11–20 and 21–30.
    pub on_taste_swipes_1_10: f64,
    pub on_taste_swipes_11_20: f64,
    pub on_taste_swipes_21_30: f64,
}

/// The engine's ranking metrics on the test split, by their usual names.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EngineMetrics {
    #[serde(rename = "Recall@20")]
    pub recall_at_20: f64,
    #[serde(rename = "NDCG@20")]
    pub ndcg_at_20: f64,
    /// Users with a non-empty test set, over whom both are averaged.
    pub users: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// The data set's name (the file's stem, or MovieLens-100K).
    pub dataset: String,
    pub split: SplitKind,
    /// The global-temporal split's cut-off, in the file's seconds.
    pub cutoff_ts: Option<f64>,
    pub train_interactions: usize,
    pub test_interactions: usize,
    pub engine: EngineMetrics,
    /// Every model of the run on the same split, the engine first.
    pub ranking: Vec<Row>,
    pub engine_curve: Vec<(f64, f64, f64)>,
    pub engine_events_per_sec: f64,
    pub engine_beats_all_baselines: bool,
    /// How the baselines chose their settings.
    pub tuning: String,
    pub heads: Vec<heads::StreamReport>,
    pub simulator: Vec<SimRow>,
    pub plots: Vec<String>,
}

fn write(path: &Path, text: &str) -> Result<(), EvalError> {
    std::fs::write(path, text).map_err(|e| EvalError::Io(format!("{}: {e}", path.display())))
}

/// Runs the whole evaluation, prints a table and writes `report.json`,
/// `report.md`, the split (`train.tsv`, `test.tsv`, and the validation slice
/// cut from train, `valid_train.tsv`, `valid_test.tsv`) and the SVG plots into
/// `out_dir`.
pub fn run(args: &EvalArgs) -> Result<EvalReport, EvalError> {
    std::fs::create_dir_all(&args.out_dir).map_err(|e| EvalError::Io(e.to_string()))?;
    let (dataset_name, inter) = match &args.dataset {
        Some(p) => (
            p.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("dataset")
                .to_string(),
            p.clone(),
        ),
        None => (
            "MovieLens-100K".to_string(),
            movielens::fetch(&args.cache_dir, &args.python)?,
        ),
    };
    let text = std::fs::read_to_string(&inter)
        .map_err(|e| EvalError::Io(format!("{}: {e}", inter.display())))?;
    let rows_in = dataset::parse_inter(&text)
        .map_err(|e| EvalError::Data(format!("{}: {e}", inter.display())))?;
    let split = dataset::split(&rows_in, args.split)?;
    let (train_tsv, test_tsv) = movielens::write_split(&split, &args.out_dir, "")?;
    let valid = split.validation()?;
    let (valid_train_tsv, valid_test_tsv) =
        movielens::write_split(&valid, &args.out_dir, "valid_")?;

    let manifest = eval_manifest(&args.hyper)?;
    let b = bar(split.train.len() as u64, "engine");
    let er = engine_run::run(&split, &manifest, args.checkpoints, &b)?;
    b.finish();
    let mut rows = vec![Row {
        name: "sovereel engine (online)".into(),
        recall: er.final_metrics.recall,
        ndcg: er.final_metrics.ndcg,
        note: format!(
            "one pass, events in time order, release {} (not tuned)",
            manifest.id
        ),
    }];
    let pop = baselines::popularity(&split);
    rows.push(Row {
        name: "popularity".into(),
        recall: pop.recall,
        ndcg: pop.ndcg,
        note: "Rust".into(),
    });
    let knn = baselines::item_knn(&split, args.knn_neighbours);
    rows.push(Row {
        name: "item-kNN".into(),
        recall: knn.recall,
        ndcg: knn.ndcg,
        note: format!("Rust, cosine, {} neighbours", args.knn_neighbours),
    });
    let venv = args.cache_dir.join("venv");
    if !args.skip_python {
        let out = args.out_dir.join("python-baselines.json");
        eprintln!(
            "running Python baselines (ALS, BPR, EASE grids, chosen on the validation slice)..."
        );
        for p in python::run(
            &args.bench_dir,
            &venv,
            &args.python,
            &python::SplitFiles {
                train: &train_tsv,
                test: &test_tsv,
                valid_train: &valid_train_tsv,
                valid_test: &valid_test_tsv,
            },
            &out,
        )? {
            rows.push(Row {
                name: p.name,
                recall: p.recall,
                ndcg: p.ndcg,
                note: format!("grid point chosen on validation: {}", p.params),
            });
        }
    }
    let beats = rows[1..]
        .iter()
        .all(|r| rows[0].recall > r.recall && rows[0].ndcg > r.ndcg);

    let mut sim_rows = Vec::new();
    let mut plots = Vec::new();
    let mut head_reports = Vec::new();
    let mut streams: Vec<(String, Vec<crate::model::objectives::HeadExample>)> = Vec::new();
    if !args.skip_simulator {
        let cfg = simulator::SimConfig {
            new_users: args.sim_users,
            ..Default::default()
        };
        let b = bar(0, "simulator");
        let sim = simulator::run(&cfg, &Manifest::default_with_id("sim-default"), &b);
        b.finish();
        let res = sim.policies;
        streams.push(("short-video simulator".into(), sim.head_examples));
        let mut series = Vec::new();
        for r in &res {
            sim_rows.push(SimRow {
                policy: r.policy.name().into(),
                mean_swipes: r.mean_swipes,
                median_swipes: r.median_swipes,
                reached: r.reached,
                users: r.users,
                mean_watch: r.mean_watch,
                on_taste_swipes_1_10: r.on_taste(1, 10),
                on_taste_swipes_11_20: r.on_taste(11, 20),
                on_taste_swipes_21_30: r.on_taste(21, 30),
            });
            // A 10-swipe moving average keeps the curve readable.
            let pts = r
                .match_curve
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    let lo = i.saturating_sub(9);
                    let w = &r.match_curve[lo..=i];
                    ((i + 1) as f64, w.iter().sum::<f64>() / w.len() as f64)
                })
                .collect();
            series.push(plot::Series {
                name: r.policy.name().into(),
                points: pts,
                flat: false,
            });
        }
        let svg = plot::line_chart(
            "New user: on-taste share of the feed",
            "swipe",
            "on-taste share (10-swipe mean)",
            &series,
        );
        let p = args.out_dir.join("simulator.svg");
        write(&p, &svg)?;
        plots.push(p.display().to_string());
    }
    if !args.skip_heads {
        let b = bar(0, "heads");
        b.set_message("heads: like/dislike stream");
        let ex = heads::movielens_stream(&rows_in, &manifest)?;
        b.finish_and_clear();
        if !ex.is_empty() {
            streams.push((
                format!("{dataset_name} like/dislike (rating ≥ 4 / ≤ 2)"),
                ex,
            ));
        }
    }
    for (i, (name, ex)) in streams.iter().enumerate() {
        let engine = heads::score(ex);
        let (mut vw, mut vw_args) = (None, None);
        if !args.skip_python {
            let path = args.out_dir.join(format!("heads-{i}.tsv"));
            heads::write_examples(ex, &path)?;
            eprintln!(
                "running Vowpal Wabbit on the {name} stream ({} examples)...",
                ex.len()
            );
            let (a, s) = heads::run_vw(
                &args.bench_dir,
                &venv,
                &path,
                &args.out_dir.join(format!("heads-{i}-vw.json")),
            )?;
            vw = Some(s);
            vw_args = Some(a);
        }
        head_reports.push(heads::StreamReport {
            stream: name.clone(),
            learned: ex.len(),
            engine,
            vw,
            vw_args,
        });
    }

    for (metric, pick) in [("Recall@20", 0usize), ("NDCG@20", 1)] {
        let get = |m: &movielens::Metrics| if pick == 0 { m.recall } else { m.ndcg };
        let mut series = vec![plot::Series {
            name: "engine (online)".into(),
            points: er
                .curve
                .iter()
                .map(|p| (p.fraction, get(&p.metrics)))
                .collect(),
            flat: false,
        }];
        for r in &rows[1..] {
            let v = if pick == 0 { r.recall } else { r.ndcg };
            series.push(plot::Series {
                name: r.name.clone(),
                points: vec![(0.0, v)],
                flat: true,
            });
        }
        let svg = plot::line_chart(
            &format!("{dataset_name} {metric}: online engine vs batch baselines"),
            "fraction of the train stream learned",
            metric,
            &series,
        );
        let p = args.out_dir.join(format!(
            "learning-curve-{}.svg",
            if pick == 0 { "recall" } else { "ndcg" }
        ));
        write(&p, &svg)?;
        plots.push(p.display().to_string());
    }

    let report = EvalReport {
        dataset: dataset_name.clone(),
        split: args.split,
        cutoff_ts: split.cutoff_ms.map(|t| t as f64 / 1000.0),
        train_interactions: split.train.len(),
        test_interactions: split.test_rows.len(),
        engine: EngineMetrics {
            recall_at_20: er.final_metrics.recall,
            ndcg_at_20: er.final_metrics.ndcg,
            users: er.final_metrics.users,
        },
        tuning: "the engine's release is fixed (not tuned); each Python baseline's grid point is chosen on a validation slice cut from train by the same split rule (valid_train.tsv / valid_test.tsv), then refit on all of train and scored once on test".into(),
        heads: head_reports,
        ranking: rows,
        engine_curve: er
            .curve
            .iter()
            .map(|p| (p.fraction, p.metrics.recall, p.metrics.ndcg))
            .collect(),
        engine_events_per_sec: er.events_per_sec,
        engine_beats_all_baselines: beats,
        simulator: sim_rows,
        plots,
    };
    let md = render(&report);
    print!("{md}");
    write(&args.out_dir.join("report.md"), &md)?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| EvalError::Io(e.to_string()))?;
    write(&args.out_dir.join("report.json"), &json)?;
    Ok(report)
}

pub fn render(r: &EvalReport) -> String {
    use std::fmt::Write as _;
    let split = match r.split {
        SplitKind::UserTemporal => "temporal 80/20 per user".to_string(),
        SplitKind::GlobalTemporal => format!(
            "one global cut-off at t = {}, users seen in train",
            r.cutoff_ts.unwrap_or(0.0)
        ),
    };
    let mut s = format!(
        "## {} ({split}, all unseen items ranked; {} train / {} test interactions)\n\n",
        r.dataset, r.train_interactions, r.test_interactions
    );
    s.push_str("| model | Recall@20 | NDCG@20 | notes |\n|---|---|---|---|\n");
    for row in &r.ranking {
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.4} | {} |",
            row.name, row.recall, row.ndcg, row.note
        );
    }
    let _ = writeln!(
        s,
        "\nengine beats every baseline on both metrics: {}\ntuning: {}",
        r.engine_beats_all_baselines, r.tuning
    );
    let _ = writeln!(
        s,
        "engine learning throughput on this stream: {:.0} events/s\n",
        r.engine_events_per_sec
    );
    s.push_str("learning curve (fraction of train stream, Recall@20, NDCG@20):\n\n");
    for (f, rc, n) in &r.engine_curve {
        let _ = writeln!(s, "- {f:.2}: {rc:.4} / {n:.4}");
    }
    for h in &r.heads {
        let _ = writeln!(
            s,
            "\n## Objective heads, progressive validation: {} ({} examples learned)\n",
            h.stream, h.learned
        );
        s.push_str("| head | examples | positives | engine log loss | engine AUC | VW log loss | VW AUC | log loss ÷ VW | AUC ÷ VW |\n|---|---|---|---|---|---|---|---|---|\n");
        let na = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.4}"));
        for (i, e) in h.engine.iter().enumerate() {
            let v = h.vw.as_ref().and_then(|v| v.get(i));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.4} | {} | {} | {} | {} | {} |",
                e.head,
                e.examples,
                e.positives,
                e.log_loss,
                na(e.auc),
                na(v.map(|v| v.log_loss)),
                na(v.and_then(|v| v.auc)),
                na(v.map(|v| e.log_loss / v.log_loss)),
                na(v.and_then(|v| Some(e.auc? / v.auc?))),
            );
        }
        if let Some(a) = &h.vw_args {
            let _ = writeln!(
                s,
                "\nVowpal Wabbit: `{a}`, same features, same order, predict then learn"
            );
        }
    }
    if !r.simulator.is_empty() {
        s.push_str("\n## Short-video simulator: swipes until the feed mostly matches a new user's taste\n\n");
        s.push_str("| feed | mean swipes | median | users reaching target | mean watch fraction | on-taste, swipes 1–10 | 11–20 | 21–30 |\n|---|---|---|---|---|---|---|---|\n");
        for x in &r.simulator {
            let _ = writeln!(
                s,
                "| {} | {:.1} | {:.0} | {}/{} | {:.3} | {:.0}% | {:.0}% | {:.0}% |",
                x.policy,
                x.mean_swipes,
                x.median_swipes,
                x.reached,
                x.users,
                x.mean_watch,
                100.0 * x.on_taste_swipes_1_10,
                100.0 * x.on_taste_swipes_11_20,
                100.0 * x.on_taste_swipes_21_30
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_overrides_apply_and_are_validated() {
        let m = eval_manifest(&["co_window=20".into(), "recency_decay=0.7".into()]).unwrap();
        assert_eq!(m.hyper.co_window, 20);
        assert_eq!(m.hyper.recency_decay, 0.7);
        assert!(m.id.ends_with("-custom"));
        assert!(eval_manifest(&["nope=1".into()]).is_err());
        assert!(
            eval_manifest(&["co_decay=7".into()]).is_err(),
            "validation runs"
        );
        assert!(eval_manifest(&["co_window".into()]).is_err());
    }
}
