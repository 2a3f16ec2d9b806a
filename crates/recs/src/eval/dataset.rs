//! Any interaction data set in RecBole's atomic `.inter` format, and the two
//! temporal splits `sovereel eval --dataset FILE --split …` offers.
//!
//! The header names each tab-separated column as `name:type`. This reads
//! `user_id:token`, `item_id:token`, `timestamp:float` and, when present,
//! `rating:float`; other columns are ignored. Every interaction is an implicit
//! positive for the ranking metrics (the rating only feeds the like/dislike
//! stream of the heads' evaluation). A malformed file is refused whole, naming
//! the line, because a silently skipped line would change the split.
//!
//! * `user-temporal`: per user, interactions in time order (ties by item id);
//!   the last 20% (at least one) are test. Users' test periods overlap, so a
//!   model trained on the rest does see other users' "future": the protocol of
//!   issue 4 and of most published MovieLens figures.
//! * `global-temporal`: one cut-off time for everyone, chosen so that about 80%
//!   of interactions fall before it. Train is everything before it, test
//!   everything at or after it, so nothing learned comes from after the moment
//!   the ranking is made. Only users with at least one train interaction are
//!   tested (nobody can rank for a user they have never seen), and a test item
//!   the user already had in train is not counted again.

use crate::eval::EvalError;
use crate::eval::movielens::{Interaction, Split};
use std::collections::{HashMap, HashSet};

/// Share of interactions (per user, or overall) that go to test.
const TEST_SHARE: usize = 5; // one in five

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// Each user's last 20% of interactions are test.
    UserTemporal,
    /// One cut-off time for everyone: about the last 20% of all interactions are test.
    GlobalTemporal,
}

impl SplitKind {
    pub fn name(self) -> &'static str {
        match self {
            SplitKind::UserTemporal => "user-temporal",
            SplitKind::GlobalTemporal => "global-temporal",
        }
    }
}

/// One parsed line of a `.inter` file.
#[derive(Debug, Clone, PartialEq)]
pub struct InterRow {
    pub user: String,
    pub item: String,
    pub rating: Option<f32>,
    /// Milliseconds in the file's own time unit × 1000 (RecBole timestamps are seconds).
    pub ts_ms: i64,
}

fn bad(line: usize, what: impl std::fmt::Display) -> EvalError {
    EvalError::Data(format!("line {line}: {what}"))
}

/// Parses a RecBole atomic `.inter` file.
pub fn parse_inter(text: &str) -> Result<Vec<InterRow>, EvalError> {
    let mut lines = text.lines().enumerate();
    let (_, header) = lines
        .next()
        .ok_or_else(|| EvalError::Data("empty file: no header line".into()))?;
    let cols: Vec<&str> = header.trim_end_matches('\r').split('\t').collect();
    let find = |name: &str, ty: &str| -> Result<Option<usize>, EvalError> {
        match cols.iter().position(|c| c.split(':').next() == Some(name)) {
            None => Ok(None),
            Some(i) if cols[i].trim() == format!("{name}:{ty}") => Ok(Some(i)),
            Some(i) => Err(bad(1, format!("column {} should be {name}:{ty}", cols[i]))),
        }
    };
    let need = |name: &str, ty: &str| -> Result<usize, EvalError> {
        find(name, ty)?.ok_or_else(|| bad(1, format!("header has no {name}:{ty} column")))
    };
    let (cu, ci, ct) = (
        need("user_id", "token")?,
        need("item_id", "token")?,
        need("timestamp", "float")?,
    );
    let cr = find("rating", "float")?;
    let mut out = Vec::new();
    for (n, line) in lines {
        let line_no = n + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != cols.len() {
            return Err(bad(
                line_no,
                format!(
                    "expected {} tab-separated fields, found {}",
                    cols.len(),
                    f.len()
                ),
            ));
        }
        let (user, item) = (f[cu].trim(), f[ci].trim());
        if user.is_empty() || item.is_empty() {
            return Err(bad(line_no, "empty user_id or item_id"));
        }
        let ts: f64 = f[ct]
            .trim()
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && t.abs() < 1e15)
            .ok_or_else(|| bad(line_no, format!("timestamp {:?} is not a number", f[ct])))?;
        let rating = match cr {
            None => None,
            Some(c) if f[c].trim().is_empty() => None,
            Some(c) => Some(
                f[c].trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|r| r.is_finite())
                    .ok_or_else(|| bad(line_no, format!("rating {:?} is not a number", f[c])))?,
            ),
        };
        out.push(InterRow {
            user: user.to_string(),
            item: item.to_string(),
            rating,
            ts_ms: (ts * 1000.0).round() as i64,
        });
    }
    if out.is_empty() {
        return Err(EvalError::Data("no interactions after the header".into()));
    }
    Ok(out)
}

/// Orders ids numerically when they are numbers (MovieLens ids are), else as strings.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn dense_ids<'a>(names: impl Iterator<Item = &'a str>) -> (Vec<String>, HashMap<&'a str, u32>) {
    let mut v: Vec<&str> = names.collect::<HashSet<_>>().into_iter().collect();
    v.sort_by(|a, b| id_order(a, b));
    let map = v.iter().enumerate().map(|(i, s)| (*s, i as u32)).collect();
    (v.into_iter().map(str::to_string).collect(), map)
}

/// Splits parsed rows. Repeated (user, item) pairs keep their first occurrence.
pub fn split(rows: &[InterRow], kind: SplitKind) -> Result<Split, EvalError> {
    let (user_names, uid) = dense_ids(rows.iter().map(|r| r.user.as_str()));
    let (item_names, iid) = dense_ids(rows.iter().map(|r| r.item.as_str()));
    let mut all: Vec<Interaction> = rows
        .iter()
        .map(|r| Interaction {
            user: uid[r.user.as_str()],
            item: iid[r.item.as_str()],
            ts: r.ts_ms,
        })
        .collect();
    // Item ids are numbered in id order, so ties by item id are ties by index.
    all.sort_by_key(|x| (x.user, x.ts, x.item));
    let mut first = HashSet::new();
    all.retain(|x| first.insert((x.user, x.item)));
    split_interactions(all, user_names, item_names, kind)
}

/// The split of deduplicated interactions (any order).
pub fn split_interactions(
    mut all: Vec<Interaction>,
    user_names: Vec<String>,
    item_names: Vec<String>,
    kind: SplitKind,
) -> Result<Split, EvalError> {
    let n_users = user_names.len();
    let mut train = Vec::new();
    let mut test_rows = Vec::new();
    let mut cutoff_ms = None;
    match kind {
        SplitKind::UserTemporal => {
            all.sort_by_key(|x| (x.user, x.ts, x.item));
            for l in all.chunk_by(|a, b| a.user == b.user) {
                let n_test = (l.len() / TEST_SHARE).max(1).min(l.len());
                let cut = l.len() - n_test;
                train.extend_from_slice(&l[..cut]);
                test_rows.extend_from_slice(&l[cut..]);
            }
        }
        SplitKind::GlobalTemporal => {
            all.sort_by_key(|x| (x.ts, x.user, x.item));
            let n_test = (all.len() / TEST_SHARE).max(1);
            let t = all[all.len() - n_test].ts;
            // Everything at the cut-off time is test: one time for everyone.
            let cut = all.partition_point(|x| x.ts < t);
            if cut == 0 {
                return Err(EvalError::Data(
                    "global-temporal split: every interaction has the same timestamp, so nothing is before the cut-off".into(),
                ));
            }
            cutoff_ms = Some(t);
            let (tr, te) = all.split_at(cut);
            let warm: HashSet<u32> = tr.iter().map(|x| x.user).collect();
            train.extend_from_slice(tr);
            test_rows.extend(te.iter().filter(|x| warm.contains(&x.user)).copied());
        }
    }
    train.sort_by_key(|x| (x.ts, x.user, x.item));
    test_rows.sort_by_key(|x| (x.ts, x.user, x.item));
    let mut train_by_user = vec![Vec::new(); n_users];
    for x in &train {
        train_by_user[x.user as usize].push(x.item);
    }
    let mut test = vec![Vec::new(); n_users];
    for x in &test_rows {
        test[x.user as usize].push(x.item);
    }
    Ok(Split {
        n_users,
        n_items: item_names.len(),
        train,
        test,
        test_rows,
        train_by_user,
        item_names,
        user_names,
        kind,
        cutoff_ms,
    })
}

impl Split {
    /// A validation split cut from train alone by the same rule, for choosing
    /// hyper-parameters: the test split is never looked at before the final score.
    pub fn validation(&self) -> Result<Split, EvalError> {
        split_interactions(
            self.train.clone(),
            self.user_names.clone(),
            self.item_names.clone(),
            self.kind,
        )
    }

    /// The time at which the test period starts: what the engine ranks at.
    pub fn rank_at_ms(&self) -> i64 {
        self.cutoff_ms
            .or_else(|| self.train.last().map(|x| x.ts))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inter(lines: &[&str]) -> String {
        let mut s = String::from("user_id:token\titem_id:token\trating:float\ttimestamp:float\n");
        for l in lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    #[test]
    fn header_types_and_line_numbers() {
        let ok = parse_inter(&inter(&["1\t2\t4\t10", "1\t3\t\t11.5"])).unwrap();
        assert_eq!(ok[0].rating, Some(4.0));
        assert_eq!(ok[1].rating, None);
        assert_eq!(ok[1].ts_ms, 11_500);
        let err = parse_inter(&inter(&["1\t2\t4\t10", "1\t2\t4\tsoon"])).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        let err = parse_inter(&inter(&["1\t2\t4"])).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse_inter("user_id:token\titem_id:token\n1\t2\n").unwrap_err();
        assert!(err.to_string().contains("timestamp:float"), "{err}");
        let err = parse_inter("user_id:float\titem_id:token\ttimestamp:float\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        // Columns in any order; extra columns ignored.
        let r = parse_inter("timestamp:float\tx:token\titem_id:token\tuser_id:token\n5\tq\ti\tu\n")
            .unwrap();
        assert_eq!(
            (r[0].user.as_str(), r[0].item.as_str(), r[0].ts_ms),
            ("u", "i", 5000)
        );
    }

    #[test]
    fn global_split_has_one_cutoff_and_tests_only_known_users() {
        // u1 active early, u2 late, u3 only after the cut-off.
        let rows = parse_inter(&inter(&[
            "u1\ta\t5\t1",
            "u1\tb\t5\t2",
            "u1\tc\t5\t3",
            "u2\ta\t5\t4",
            "u2\tb\t5\t5",
            "u1\td\t5\t6",
            "u2\tc\t5\t7",
            "u1\te\t5\t8",
            "u3\ta\t5\t9",
            "u2\td\t5\t10",
        ]))
        .unwrap();
        let s = split(&rows, SplitKind::GlobalTemporal).unwrap();
        let cut = s.cutoff_ms.unwrap();
        assert_eq!(cut, 9000);
        assert!(s.train.iter().all(|x| x.ts < cut));
        assert!(s.test_rows.iter().all(|x| x.ts >= cut));
        let u3 = s.user_names.iter().position(|u| u == "u3").unwrap();
        assert!(
            s.test[u3].is_empty(),
            "a user unseen in train is not tested"
        );
        assert_eq!(s.test_rows.len(), 1);
        let v = s.validation().unwrap();
        assert!(v.cutoff_ms.unwrap() < cut);
        assert!(v.train.len() + v.test_rows.len() <= s.train.len());
    }
}
