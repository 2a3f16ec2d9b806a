//! Per-objective engagement probabilities: one online logistic regression per
//! objective over a small feature vector, trained with AdaGrad as labelled
//! impressions arrive. Small and linear on purpose: it must learn from a single
//! event, be explainable ("why this video") and cost nanoseconds to evaluate.

use serde::{Deserialize, Serialize};

/// The objectives, in the order of every `[f32; OBJECTIVES]` array.
pub const OBJECTIVES: usize = 5;
pub const COMPLETION: usize = 0;
pub const LIKE: usize = 1;
pub const SHARE: usize = 2;
pub const FOLLOW: usize = 3;
pub const SKIP: usize = 4;
pub const OBJECTIVE_NAMES: [&str; OBJECTIVES] = ["completion", "like", "share", "follow", "skip"];

/// Feature layout, shared by scorer and learner.
pub const NF: usize = 12;
pub const F_BIAS: usize = 0;
pub const F_CO: usize = 1;
pub const F_EMB: usize = 2;
pub const F_TAG: usize = 3;
pub const F_AUTHOR: usize = 4;
pub const F_FOLLOWS: usize = 5;
pub const F_TREND: usize = 6;
pub const F_FRESH: usize = 7;
pub const F_COMPLETION_RATE: usize = 8;
pub const F_LIKE_RATE: usize = 9;
pub const F_SKIP_RATE: usize = 10;
/// How much the viewer has been skipping this video's hashtags and creator.
pub const F_AVERSION: usize = 11;
pub const FEATURE_NAMES: [&str; NF] = [
    "bias",
    "co-engagement",
    "embedding",
    "hashtag affinity",
    "author affinity",
    "follows author",
    "trending",
    "freshness",
    "completion rate",
    "like rate",
    "skip rate",
    "skipped similar videos",
];

pub type Features = [f32; NF];
/// A label per objective; `None` means "this event says nothing about it".
pub type Labels = [Option<f32>; OBJECTIVES];

/// One labelled example as the heads saw it, with their predictions made
/// before learning from it: progressive validation, Vowpal Wabbit's and
/// Monolith's way of measuring an online learner on its own stream.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadExample {
    pub features: Features,
    pub labels: Labels,
    pub predicted: [f32; OBJECTIVES],
    /// A sampled negative (a random video taken as not engaged), not an
    /// outcome anyone observed: learned from, but not scored.
    pub sampled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectiveHeads {
    pub weights: [[f32; NF]; OBJECTIVES],
    grad_sq: [[f32; NF]; OBJECTIVES],
    pub updates: u64,
    /// When set, every example is appended here before it is learned from
    /// (evaluation only; never in a snapshot).
    #[serde(skip)]
    pub recorder: Option<Vec<HeadExample>>,
}

/// Each objective's base rate before any label: what an impression of an
/// unknown video to an unknown viewer ends in. The prior starts every head at
/// this rate, so a fresh region's probabilities are plausible rather than
/// saturated, and the learned weights only have to explain departures from it.
const BASE_RATE: [f32; OBJECTIVES] = [0.4, 0.15, 0.03, 0.01, 0.3];

impl Default for ObjectiveHeads {
    fn default() -> Self {
        // Start from a sensible prior rather than zero so a fresh region ranks by
        // personal signal and popularity before it has seen a single label. The
        // feature weights are modest: several personal features are large for an
        // engaged viewer at once, and large priors summed to certainty (every
        // head at 1.00 in "why this video").
        let mut weights = [[0.0; NF]; OBJECTIVES];
        for (o, w) in weights.iter_mut().enumerate() {
            w[F_BIAS] = (BASE_RATE[o] / (1.0 - BASE_RATE[o])).ln();
            let sign = if o == SKIP { -1.0 } else { 1.0 };
            w[F_CO] = 1.0 * sign;
            w[F_EMB] = 0.3 * sign;
            w[F_TAG] = 0.5 * sign;
            w[F_AUTHOR] = 0.3 * sign;
            w[F_FOLLOWS] = 0.5 * sign;
            w[F_TREND] = 0.2 * sign;
            w[F_AVERSION] = -0.5 * sign;
        }
        ObjectiveHeads {
            weights,
            grad_sq: [[GRAD_SQ_INIT; NF]; OBJECTIVES],
            updates: 0,
            recorder: None,
        }
    }
}

/// AdaGrad's starting sum of squared gradients: small, so the first labels
/// move a head at nearly the full learning rate.
const GRAD_SQ_INIT: f32 = 0.1;

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x.clamp(-30.0, 30.0)).exp())
}

impl ObjectiveHeads {
    pub fn predict(&self, x: &Features) -> [f32; OBJECTIVES] {
        let mut p = [0.0; OBJECTIVES];
        for (o, w) in self.weights.iter().enumerate() {
            p[o] = sigmoid(w.iter().zip(x).map(|(a, b)| a * b).sum());
        }
        p
    }

    pub fn train(&mut self, x: &Features, labels: &Labels, lr: f32, l2: f32) {
        self.train_example(x, labels, lr, l2, false);
    }

    /// One AdaGrad step per labelled objective; `sampled` marks a sampled negative.
    pub fn train_example(
        &mut self,
        x: &Features,
        labels: &Labels,
        lr: f32,
        l2: f32,
        sampled: bool,
    ) {
        let p = self.predict(x);
        if let Some(r) = &mut self.recorder {
            r.push(HeadExample {
                features: *x,
                labels: *labels,
                predicted: p,
                sampled,
            });
        }
        for o in 0..OBJECTIVES {
            let Some(y) = labels[o] else { continue };
            let err = p[o] - y.clamp(0.0, 1.0);
            let (w, gs) = (&mut self.weights[o], &mut self.grad_sq[o]);
            for ((w, gs), xf) in w.iter_mut().zip(gs.iter_mut()).zip(x) {
                let g = err * xf + l2 * *w;
                *gs += g * g;
                *w -= lr * g / gs.sqrt();
            }
        }
        self.updates += 1;
    }

    pub fn check(&self) -> Result<(), String> {
        if self
            .weights
            .iter()
            .flatten()
            .chain(self.grad_sq.iter().flatten())
            .all(|x| x.is_finite())
        {
            Ok(())
        } else {
            Err("objective weights are not finite".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_objective() {
        let mut h = ObjectiveHeads::default();
        let mut pos = [0.0; NF];
        pos[F_BIAS] = 1.0;
        pos[F_FRESH] = 1.0;
        let mut neg = [0.0; NF];
        neg[F_BIAS] = 1.0;
        for _ in 0..2000 {
            h.train(&pos, &[None, Some(1.0), None, None, None], 0.5, 0.0);
            h.train(&neg, &[None, Some(0.0), None, None, None], 0.5, 0.0);
        }
        assert!(h.predict(&pos)[LIKE] > 0.8);
        assert!(h.predict(&neg)[LIKE] < 0.2);
        // Objectives without labels are untouched.
        assert_eq!(h.weights[SHARE], ObjectiveHeads::default().weights[SHARE]);
    }
}
