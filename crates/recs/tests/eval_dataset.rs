//! `sovereel eval --dataset FILE --split …`, driven through its clap flags as
//! the binary parses them, on a tiny RecBole `.inter` file made here.

use clap::Parser;
use sovereel_recs::eval::{EvalArgs, run};
use std::path::Path;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    eval: EvalArgs,
}

/// Eight users over 30 items, two taste groups, one interaction per user every
/// 100 seconds, staggered so the users' periods overlap.
fn tiny_inter(dir: &Path) -> std::path::PathBuf {
    let mut s = String::from("user_id:token\titem_id:token\trating:float\ttimestamp:float\n");
    for u in 0..8u32 {
        for k in 0..12u32 {
            let item = (u % 2) * 15 + (k * 7 + u) % 15;
            let ts = 1_000_000 + u * 37 + k * 100;
            s.push_str(&format!("u{u}\ti{item}\t{}\t{ts}\n", 1 + (u + k) % 5));
        }
    }
    let p = dir.join("tiny.inter");
    std::fs::write(&p, s).unwrap();
    p
}

fn eval(file: &Path, out: &Path, split: &str) -> Result<sovereel_recs::eval::EvalReport, String> {
    let cli = Cli::try_parse_from([
        "eval",
        "--dataset",
        file.to_str().unwrap(),
        "--split",
        split,
        "--out-dir",
        out.to_str().unwrap(),
        "--skip-python",
        "--skip-simulator",
        "--checkpoints",
        "2",
    ])
    .map_err(|e| e.to_string())?;
    run(&cli.eval).map_err(|e| e.to_string())
}

/// (user, item, ts) rows of a written TSV.
fn tsv(path: &Path) -> Vec<(u32, u32, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user\titem\tts"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn user_temporal_split_writes_the_split_and_names_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_inter(dir.path());
    let out = dir.path().join("out-user");
    let r = eval(&file, &out, "user-temporal").unwrap();
    let (train, test) = (tsv(&out.join("train.tsv")), tsv(&out.join("test.tsv")));
    assert_eq!(train.len() + test.len(), 96);
    // Each user's last 20% (12 / 5 = 2 interactions) are test, and come after their train.
    assert_eq!(test.len(), 16);
    for u in 0..8 {
        let last_train = train
            .iter()
            .filter(|x| x.0 == u)
            .map(|x| x.2)
            .fold(0.0, f64::max);
        assert!(test.iter().filter(|x| x.0 == u).all(|x| x.2 >= last_train));
    }
    // The validation slice is cut from train alone.
    let vt = tsv(&out.join("valid_train.tsv"));
    let vs = tsv(&out.join("valid_test.tsv"));
    assert_eq!(vt.len() + vs.len(), train.len());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["dataset"], "tiny");
    assert_eq!(json["split"], "user-temporal");
    let recall = json["engine"]["Recall@20"].as_f64().unwrap();
    let ndcg = json["engine"]["NDCG@20"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&recall) && (0.0..=1.0).contains(&ndcg));
    assert_eq!(recall, r.engine.recall_at_20);
    // Two taste groups with overlapping periods: the engine finds some of them.
    assert!(recall > 0.0, "{json}");
    // The ratings make a like/dislike stream for the heads' progressive validation.
    assert!(!r.heads.is_empty());
}

#[test]
fn global_temporal_split_has_one_cutoff_for_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_inter(dir.path());
    let out = dir.path().join("out-global");
    let r = eval(&file, &out, "global-temporal").unwrap();
    let (train, test) = (tsv(&out.join("train.tsv")), tsv(&out.join("test.tsv")));
    let cutoff = r.cutoff_ts.expect("a global cut-off");
    assert!(train.iter().all(|x| x.2 < cutoff));
    assert!(test.iter().all(|x| x.2 >= cutoff));
    assert!(!test.is_empty() && !train.is_empty());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["split"], "global-temporal");
    assert!(json["engine"]["NDCG@20"].is_number());
    // The validation slice has its own, earlier cut-off.
    let vt = tsv(&out.join("valid_train.tsv"));
    let vs = tsv(&out.join("valid_test.tsv"));
    let v_cut = vs.iter().map(|x| x.2).fold(f64::INFINITY, f64::min);
    assert!(vt.iter().all(|x| x.2 < v_cut) && v_cut < cutoff);
}

#[test]
fn a_malformed_file_is_refused_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.inter");
    std::fs::write(
        &p,
        "user_id:token\titem_id:token\ttimestamp:float\nu1\ti1\t10\nu1\ti2\t11\nu2\ti1\tyesterday\n",
    )
    .unwrap();
    let err = eval(&p, &dir.path().join("out"), "user-temporal").unwrap_err();
    assert!(err.contains("line 4"), "{err}");
    std::fs::write(
        &p,
        "user_id:token\titem_id:token\ttimestamp:float\nu1\ti1\n",
    )
    .unwrap();
    let err = eval(&p, &dir.path().join("out"), "global-temporal").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    // An unknown split is refused by the flag parser itself.
    let err = eval(&p, &dir.path().join("out"), "random").unwrap_err();
    assert!(err.contains("user-temporal"), "{err}");
}
