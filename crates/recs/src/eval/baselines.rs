//! Rust baselines on the same split: popularity and item-kNN (cosine).
//! They rank with full knowledge of the final train set (batch), which is the
//! comparison the engine's online learner has to win.

use crate::eval::movielens::{Metrics, Split, evaluate, top_k_dense};

pub fn popularity(split: &Split) -> Metrics {
    let mut counts = vec![0f32; split.n_items];
    for x in &split.train {
        counts[x.item as usize] += 1.0;
    }
    evaluate(split, |u| {
        top_k_dense(&counts, &split.train_by_user[u as usize])
    })
}

/// Item-kNN: cosine similarity of item columns, each item keeping its
/// `neighbours` most similar items; a user's score is the sum over their items.
pub fn item_knn(split: &Split, neighbours: usize) -> Metrics {
    let n = split.n_items;
    let mut co = vec![0f32; n * n];
    let mut count = vec![0f32; n];
    for items in &split.train_by_user {
        for &i in items {
            count[i as usize] += 1.0;
            for &j in items {
                if i != j {
                    co[i as usize * n + j as usize] += 1.0;
                }
            }
        }
    }
    let mut sim = vec![0f32; n * n];
    for i in 0..n {
        let row = &co[i * n..(i + 1) * n];
        let mut cand: Vec<(u32, f32)> = row
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0.0)
            .map(|(j, c)| (j as u32, c / (count[i] * count[j]).sqrt()))
            .collect();
        if cand.len() > neighbours {
            cand.select_nth_unstable_by(neighbours, |a, b| b.1.total_cmp(&a.1));
            cand.truncate(neighbours);
        }
        for (j, s) in cand {
            sim[i * n + j as usize] = s;
        }
    }
    let mut scores = vec![0f32; n];
    evaluate(split, |u| {
        scores.iter_mut().for_each(|s| *s = 0.0);
        for &i in &split.train_by_user[u as usize] {
            for (s, w) in scores
                .iter_mut()
                .zip(&sim[i as usize * n..(i as usize + 1) * n])
            {
                *s += w;
            }
        }
        top_k_dense(&scores, &split.train_by_user[u as usize])
    })
}
