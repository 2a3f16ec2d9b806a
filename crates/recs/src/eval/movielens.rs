//! MovieLens-100K offline evaluation: fetching, the temporal split, the
//! metrics, and streaming the train interactions through the production engine.
//!
//! Protocol (issue 4): every rating is an implicit positive. Per user,
//! interactions sorted by timestamp (ties by item id); the last 20% (at least
//! one) are test, the rest train. Rank every item the user has not seen in
//! train; Recall@20 = hits / min(20, |test|), NDCG@20 with binary gains,
//! averaged over users.

use crate::eval::EvalError;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const K: usize = 20;
const WHEEL: &str = "recbole==1.2.1";
const MEMBER: &str = "recbole/dataset_example/ml-100k/ml-100k.inter";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    pub user: u32,
    pub item: u32,
    /// Milliseconds (the file's seconds × 1000).
    pub ts: i64,
}

#[derive(Debug, Clone)]
pub struct Split {
    pub n_users: usize,
    pub n_items: usize,
    /// Train interactions in global time order (ties by user, then item).
    pub train: Vec<Interaction>,
    /// Per user, test items.
    pub test: Vec<Vec<u32>>,
    /// The test interactions with their times, in time order.
    pub test_rows: Vec<Interaction>,
    pub kind: crate::eval::dataset::SplitKind,
    /// The global-temporal split's one cut-off time.
    pub cutoff_ms: Option<i64>,
    /// Per user, train items in their time order.
    pub train_by_user: Vec<Vec<u32>>,
    pub item_names: Vec<String>,
    pub user_names: Vec<String>,
}

/// Downloads the recbole wheel with pip into `cache` (once) and extracts the
/// interactions file. Returns its path.
pub fn fetch(cache: &Path, python: &str) -> Result<PathBuf, EvalError> {
    let inter = cache.join("ml-100k.inter");
    if inter.exists() {
        return Ok(inter);
    }
    std::fs::create_dir_all(cache)
        .map_err(|e| EvalError::Io(format!("{}: {e}", cache.display())))?;
    let wheel = find_wheel(cache);
    let wheel = match wheel {
        Some(w) => w,
        None => {
            let status = Command::new(python)
                .args(["-m", "pip", "download", WHEEL, "--no-deps", "-q", "-d"])
                .arg(cache)
                .status()
                .map_err(|e| EvalError::Fetch(format!("running pip: {e}")))?;
            if !status.success() {
                return Err(EvalError::Fetch(format!(
                    "pip download {WHEEL} failed: {status}"
                )));
            }
            find_wheel(cache)
                .ok_or_else(|| EvalError::Fetch("pip produced no recbole wheel".into()))?
        }
    };
    // A wheel is a zip archive; Python's zipfile is at hand wherever pip is.
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nopen(sys.argv[3], 'wb').write(z.read(sys.argv[2]))\n";
    let tmp = cache.join("ml-100k.inter.part");
    let status = Command::new(python)
        .args(["-c", script])
        .arg(&wheel)
        .arg(MEMBER)
        .arg(&tmp)
        .status()
        .map_err(|e| EvalError::Fetch(format!("extracting: {e}")))?;
    if !status.success() {
        return Err(EvalError::Fetch(format!(
            "extracting {MEMBER} failed: {status}"
        )));
    }
    std::fs::rename(&tmp, &inter).map_err(|e| EvalError::Io(e.to_string()))?;
    Ok(inter)
}

fn find_wheel(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("recbole-1.2.1") && n.ends_with(".whl"))
        })
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    pub recall: f64,
    pub ndcg: f64,
    pub users: usize,
}

/// Recall@K and NDCG@K of one ranked list.
pub fn score_list(ranked: &[u32], test: &[u32]) -> (f64, f64) {
    if test.is_empty() {
        return (0.0, 0.0);
    }
    let test: HashSet<u32> = test.iter().copied().collect();
    let mut hits = 0.0;
    let mut dcg = 0.0;
    for (r, item) in ranked.iter().take(K).enumerate() {
        if test.contains(item) {
            hits += 1.0;
            dcg += 1.0 / ((r + 2) as f64).log2();
        }
    }
    let ideal = test.len().min(K);
    let idcg: f64 = (0..ideal).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    (hits / ideal as f64, dcg / idcg)
}

/// Averages over users with a non-empty test set; `rank(u)` gives a top-K list.
pub fn evaluate(split: &Split, mut rank: impl FnMut(u32) -> Vec<u32>) -> Metrics {
    let mut m = Metrics::default();
    for u in 0..split.n_users {
        if split.test[u].is_empty() {
            continue;
        }
        let (r, n) = score_list(&rank(u as u32), &split.test[u]);
        m.recall += r;
        m.ndcg += n;
        m.users += 1;
    }
    if m.users > 0 {
        m.recall /= m.users as f64;
        m.ndcg /= m.users as f64;
    }
    m
}

/// Top-K of a dense score vector, skipping the user's train items.
pub fn top_k_dense(scores: &[f32], exclude: &[u32]) -> Vec<u32> {
    let excl: HashSet<u32> = exclude.iter().copied().collect();
    let mut idx: Vec<u32> = (0..scores.len() as u32)
        .filter(|i| !excl.contains(i))
        .collect();
    let k = K.min(idx.len());
    if k == 0 {
        return Vec::new();
    }
    let cmp = |a: &u32, b: &u32| {
        scores[*b as usize]
            .total_cmp(&scores[*a as usize])
            .then(a.cmp(b))
    };
    idx.select_nth_unstable_by(k - 1, cmp);
    idx.truncate(k);
    idx.sort_by(cmp);
    idx
}

/// Writes the split as TSV (`user item ts`, ts in the file's seconds) so the
/// Python baselines use exactly the same train and test sets; `prefix` names
/// the pair (`""` for the split itself, `"valid_"` for its validation slice).
pub fn write_split(
    split: &Split,
    dir: &Path,
    prefix: &str,
) -> Result<(PathBuf, PathBuf), EvalError> {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir).map_err(|e| EvalError::Io(e.to_string()))?;
    let secs = |ms: i64| ms as f64 / 1000.0;
    let mut train = String::from("user\titem\tts\n");
    for x in &split.train {
        let _ = writeln!(train, "{}\t{}\t{}", x.user, x.item, secs(x.ts));
    }
    let mut test = String::from("user\titem\tts\n");
    for x in &split.test_rows {
        let _ = writeln!(test, "{}\t{}\t{}", x.user, x.item, secs(x.ts));
    }
    let (tp, sp) = (
        dir.join(format!("{prefix}train.tsv")),
        dir.join(format!("{prefix}test.tsv")),
    );
    std::fs::write(&tp, train).map_err(|e| EvalError::Io(e.to_string()))?;
    std::fs::write(&sp, test).map_err(|e| EvalError::Io(e.to_string()))?;
    Ok((tp, sp))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::eval::dataset::{InterRow, SplitKind, split};

    fn rows(v: &[(&str, &str, i64)]) -> Vec<InterRow> {
        v.iter()
            .map(|(u, i, t)| InterRow {
                user: u.to_string(),
                item: i.to_string(),
                rating: None,
                ts_ms: *t * 1000,
            })
            .collect()
    }

    #[test]
    fn split_is_temporal_per_user_with_at_least_one_test_item() {
        // User 1 has 10 interactions: the last 2 by time are test. Item ids tie-break
        // numerically ("9" before "10") at equal timestamps.
        let mut r: Vec<(&str, &str, i64)> = Vec::new();
        let items = ["1", "2", "3", "4", "5", "6", "7", "8", "10", "9"];
        for (n, i) in items.iter().enumerate() {
            r.push(("1", i, if n >= 8 { 100 } else { n as i64 }));
        }
        r.push(("2", "1", 5));
        r.push(("2", "2", 3));
        let s = split(&rows(&r), SplitKind::UserTemporal).unwrap();
        let name = |i: u32| s.item_names[i as usize].clone();
        assert_eq!(
            s.test[0].iter().map(|&i| name(i)).collect::<Vec<_>>(),
            vec!["9", "10"]
        );
        assert_eq!(s.train_by_user[0].len(), 8);
        // Two interactions: 20% rounds to zero, but at least one is test: the later one.
        assert_eq!(
            s.test[1].iter().map(|&i| name(i)).collect::<Vec<_>>(),
            vec!["1"]
        );
        assert_eq!(
            s.train_by_user[1]
                .iter()
                .map(|&i| name(i))
                .collect::<Vec<_>>(),
            vec!["2"]
        );
        assert!(s.train.windows(2).all(|w| w[0].ts <= w[1].ts));
    }

    #[test]
    fn metrics_match_hand_computation() {
        // Hits at ranks 1 and 3 of 2 test items: recall 1, dcg = 1 + 1/2.
        let (r, n) = score_list(&[5, 6, 7], &[5, 7]);
        assert_eq!(r, 1.0);
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((n - 1.5 / idcg).abs() < 1e-12);
        // More test items than K: recall divides by K.
        let test: Vec<u32> = (0..30).collect();
        let (r, n) = score_list(&[0, 1, 100], &test);
        assert!((r - 2.0 / 20.0).abs() < 1e-12);
        assert!(n > 0.0 && n < 1.0);
        assert_eq!(score_list(&[1, 2], &[3]), (0.0, 0.0));
    }

    #[test]
    fn dense_top_k_skips_train_items() {
        let scores = [0.9, 0.8, 0.7, 0.1];
        assert_eq!(top_k_dense(&scores, &[0]), vec![1, 2, 3]);
    }
}
