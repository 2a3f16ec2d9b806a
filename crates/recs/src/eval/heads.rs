//! Progressive validation of the objective heads: every labelled example is
//! predicted before the heads learn from it (Vowpal Wabbit's and Monolith's
//! way of scoring an online learner on its own stream), then log loss and AUC
//! per head. Vowpal Wabbit learns the same examples, same features and same
//! order, in the same run (`bench/heads_vw.py`), for the ratio.
//!
//! Two streams: the short-video simulator's (every served video's outcome) and
//! MovieLens-100K as like/dislike (rating ≥ 4 is a like, ≤ 2 a dislike, 3 is
//! left out), each rating an impression followed by its outcome.

use crate::eval::EvalError;
use crate::eval::dataset::InterRow;
use crate::eval::engine_run;
use crate::event::{Event, EventKind};
use crate::model::objectives::{HeadExample, NF, OBJECTIVE_NAMES, OBJECTIVES};
use crate::release::manifest::Manifest;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// One head on one stream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeadScore {
    pub head: String,
    /// Observed (not sampled) examples with a label for this head.
    pub examples: usize,
    pub positives: usize,
    pub log_loss: f64,
    /// None when every label is the same (AUC is undefined).
    pub auc: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    pub stream: String,
    /// Every example the heads learned from, sampled negatives included.
    pub learned: usize,
    pub engine: Vec<HeadScore>,
    /// Vowpal Wabbit on the same examples, when it ran.
    pub vw: Option<Vec<HeadScore>>,
    pub vw_args: Option<String>,
}

const CLIP: f64 = 1e-7;

pub fn log_loss(pairs: &[(f64, bool)]) -> f64 {
    let s: f64 = pairs
        .iter()
        .map(|&(p, y)| {
            let p = p.clamp(CLIP, 1.0 - CLIP);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    s / pairs.len().max(1) as f64
}

/// Area under the ROC curve by the rank-sum (Mann–Whitney) formula, ties averaged.
pub fn auc(pairs: &[(f64, bool)]) -> Option<f64> {
    let pos = pairs.iter().filter(|p| p.1).count();
    let neg = pairs.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut v: Vec<(f64, bool)> = pairs.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their average.
        let avg = (i + 1 + j) as f64 / 2.0;
        rank_sum += avg * v[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    let (pos, neg) = (pos as f64, neg as f64);
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// The engine's progressive scores per head, over observed examples only.
pub fn score(examples: &[HeadExample]) -> Vec<HeadScore> {
    (0..OBJECTIVES)
        .map(|o| {
            let pairs: Vec<(f64, bool)> = examples
                .iter()
                .filter(|e| !e.sampled)
                .filter_map(|e| e.labels[o].map(|y| (f64::from(e.predicted[o]), y >= 0.5)))
                .collect();
            HeadScore {
                head: OBJECTIVE_NAMES[o].into(),
                examples: pairs.len(),
                positives: pairs.iter().filter(|p| p.1).count(),
                log_loss: log_loss(&pairs),
                auc: auc(&pairs),
            }
        })
        .collect()
}

/// The examples as `bench/heads_vw.py` reads them: one line each, `sampled`,
/// the five labels (`-` when absent), then the features after the bias (VW
/// adds its own constant).
pub fn write_examples(examples: &[HeadExample], path: &Path) -> Result<(), EvalError> {
    use std::io::Write as _;
    let f = std::fs::File::create(path)
        .map_err(|e| EvalError::Io(format!("{}: {e}", path.display())))?;
    let mut w = std::io::BufWriter::new(f);
    let io = |e: std::io::Error| EvalError::Io(e.to_string());
    write!(w, "sampled").map_err(io)?;
    for n in OBJECTIVE_NAMES {
        write!(w, "\t{n}").map_err(io)?;
    }
    for i in 1..NF {
        write!(w, "\tf{i}").map_err(io)?;
    }
    writeln!(w).map_err(io)?;
    for e in examples {
        write!(w, "{}", u8::from(e.sampled)).map_err(io)?;
        for l in e.labels {
            match l {
                Some(y) => write!(w, "\t{}", u8::from(y >= 0.5)).map_err(io)?,
                None => write!(w, "\t-").map_err(io)?,
            }
        }
        for x in &e.features[1..] {
            write!(w, "\t{x}").map_err(io)?;
        }
        writeln!(w).map_err(io)?;
    }
    w.flush().map_err(io)
}

/// MovieLens ratings as like/dislike outcomes of impressions, in time order,
/// through the production engine under the evaluation release. Returns every
/// example the heads learned from.
pub fn movielens_stream(
    rows: &[InterRow],
    manifest: &Manifest,
) -> Result<Vec<HeadExample>, EvalError> {
    let mut rated: Vec<&InterRow> = rows
        .iter()
        .filter(|r| r.rating.is_some_and(|x| x >= 4.0 || x <= 2.0))
        .collect();
    if rated.is_empty() {
        return Ok(Vec::new());
    }
    rated.sort_by(|a, b| a.ts_ms.cmp(&b.ts_ms).then_with(|| a.user.cmp(&b.user)));
    let mut items: HashMap<&str, u32> = HashMap::new();
    let mut users: HashMap<&str, u32> = HashMap::new();
    for r in &rated {
        let n = items.len() as u32;
        items.entry(r.item.as_str()).or_insert(n);
        let n = users.len() as u32;
        users.entry(r.user.as_str()).or_insert(n);
    }
    let all = rated
        .iter()
        .map(|r| crate::eval::movielens::Interaction {
            user: users[r.user.as_str()],
            item: items[r.item.as_str()],
            ts: r.ts_ms,
        })
        .collect();
    let split = crate::eval::dataset::split_interactions(
        all,
        vec![String::new(); users.len()],
        vec![String::new(); items.len()],
        crate::eval::dataset::SplitKind::UserTemporal,
    )?;
    let clock = engine_run::Clock::for_split(&split)?;
    let mut e = engine_run::build_engine(&split, manifest, clock)?;
    let earliest = rated[0].ts_ms;
    let at = |ts: i64| clock.at(ts.max(earliest));
    e.core.model.heads.recorder = Some(Vec::new());
    for r in rated {
        let (u, i) = (
            engine_run::user_id(users[r.user.as_str()]),
            engine_run::item_id(items[r.item.as_str()]),
        );
        let t = at(r.ts_ms);
        let send = |e: &mut crate::engine::Engine, kind| {
            e.observe(&Event::new(&u, &i, t, kind))
                .map(|_| ())
                .map_err(|err| EvalError::Engine(err.to_string()))
        };
        send(&mut e, EventKind::Impression)?;
        if r.rating.unwrap_or(0.0) >= 4.0 {
            // The like arrives while the video plays, before the view closes it.
            send(&mut e, EventKind::Like)?;
            send(
                &mut e,
                EventKind::View {
                    watch_ms: 60_000,
                    duration_ms: 60_000,
                },
            )?;
        } else {
            send(&mut e, EventKind::Skip)?;
        }
    }
    Ok(e.core.model.heads.recorder.take().unwrap_or_default())
}

#[derive(Debug, Deserialize)]
struct VwOut {
    args: String,
    heads: Vec<HeadScore>,
}

/// Runs Vowpal Wabbit over the examples file in the baselines' virtualenv.
pub fn run_vw(
    bench_dir: &Path,
    venv: &Path,
    examples: &Path,
    out: &Path,
) -> Result<(String, Vec<HeadScore>), EvalError> {
    let status = std::process::Command::new(venv.join("bin").join("python"))
        .arg(bench_dir.join("heads_vw.py"))
        .arg("--examples")
        .arg(examples)
        .arg("--out")
        .arg(out)
        .status()
        .map_err(|e| EvalError::Python(e.to_string()))?;
    if !status.success() {
        return Err(EvalError::Python(format!("heads_vw.py failed: {status}")));
    }
    let text = std::fs::read_to_string(out).map_err(|e| EvalError::Io(e.to_string()))?;
    let v: VwOut = serde_json::from_str(&text)
        .map_err(|e| EvalError::Python(format!("bad heads_vw.py output: {e}")))?;
    Ok((v.args, v.heads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_and_log_loss_by_hand() {
        let p = [(0.9, true), (0.8, false), (0.7, true), (0.1, false)];
        // Pairs (pos, neg): (0.9,0.8) (0.9,0.1) (0.7,0.8)✗ (0.7,0.1): 3 of 4.
        assert_eq!(auc(&p), Some(0.75));
        assert_eq!(
            auc(&[(0.5, true), (0.5, false)]),
            Some(0.5),
            "ties count half"
        );
        assert_eq!(auc(&[(0.5, true)]), None);
        let ll = log_loss(&[(0.5, true), (0.5, false)]);
        assert!((ll - std::f64::consts::LN_2).abs() < 1e-12);
    }
}
