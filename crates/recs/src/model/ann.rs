//! Approximate nearest neighbours over video embeddings: random-hyperplane LSH
//! (SimHash) with several tables and one-bit multi-probe.
//!
//! Embeddings move as the model learns, so the index must be cheap to update
//! in place: a video changes bucket only when its signature changes, which is
//! rare for small steps. That is why LSH and not a graph index here.

use crate::model::embeddings::init_random;
use serde::{Deserialize, Serialize};

const UNINDEXED: u16 = u16::MAX;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnnIndex {
    dim: usize,
    tables: usize,
    bits: usize,
    planes: Vec<f32>,
    buckets: Vec<Vec<u32>>,
    /// Per video slot, its bucket in each table (or UNINDEXED).
    sigs: Vec<u16>,
    /// Per video slot and table, its index inside that bucket, so moving a video
    /// between buckets is O(1) however full a bucket gets.
    pos: Vec<u32>,
    /// Per video slot, how far (L2) its vector can still move before any of its
    /// signature bits could flip: the smallest |margin| over every hyperplane at
    /// the last signing, divided by the longest hyperplane. Learning moves a
    /// vector by small steps, so most steps provably leave every bucket as it is
    /// and skip the 4 × 12 projections. Not saved: after a restore every video
    /// is re-signed on its next step.
    #[serde(skip)]
    slack: Vec<f32>,
    #[serde(skip)]
    longest_plane: f32,
    /// The hyperplanes transposed (`[dim][tables × bits]`), so one pass over
    /// a vector's coordinates computes every projection at once, the
    /// planes side by side in SIMD lanes. Built from `planes` when first
    /// needed; not saved.
    #[serde(skip)]
    planes_t: Vec<f32>,
}

/// Most hyperplanes an index has (tables × bits): 4 × 15 with room to spare.
const MAX_PLANES: usize = 64;

/// Most bucket entries one query visits: bounds latency even when learned
/// embeddings crowd into a few buckets.
pub const MAX_VISITS: usize = 1024;

impl AnnIndex {
    pub fn new(dim: usize, tables: usize, bits: usize) -> Self {
        let bits = bits.clamp(1, 15);
        let tables = tables.clamp(1, MAX_PLANES / bits);
        let mut planes = vec![0.0; tables * bits * dim];
        for (p, plane) in planes.chunks_mut(dim).enumerate() {
            init_random(0xA22 ^ ((p as u64) << 20), plane, 1.0);
        }
        AnnIndex {
            dim,
            tables,
            bits,
            planes,
            buckets: vec![Vec::new(); tables << bits],
            sigs: Vec::new(),
            pos: Vec::new(),
            slack: Vec::new(),
            longest_plane: 0.0,
            planes_t: Vec::new(),
        }
    }

    fn planes_t(&mut self) -> &[f32] {
        let n = self.tables * self.bits;
        if self.planes_t.len() != n * self.dim {
            let mut t = vec![0.0; n * self.dim];
            for p in 0..n {
                for i in 0..self.dim {
                    t[i * n + p] = self.planes[p * self.dim + i];
                }
            }
            self.planes_t = t;
        }
        &self.planes_t
    }

    /// Every projection `plane · v`, plane by plane in table order. Each sum
    /// runs over the coordinates in order, as a plain dot product would, so
    /// the signatures are exactly those of one dot product per plane; the
    /// planes are what runs in parallel.
    fn projections(planes_t: &[f32], n: usize, v: &[f32], out: &mut [f32; MAX_PLANES]) {
        let out = &mut out[..n];
        out.fill(0.0);
        for (row, &x) in planes_t.chunks_exact(n).zip(v) {
            for (o, p) in out.iter_mut().zip(row) {
                *o += p * x;
            }
        }
    }

    /// Signatures and smallest |margin| of `v` in every table, from its projections.
    fn signatures(&self, proj: &[f32; MAX_PLANES], t: usize) -> (u16, f32, usize) {
        let mut sig = 0u16;
        let (mut weakest, mut weakest_margin) = (0, f32::INFINITY);
        for b in 0..self.bits {
            let m = proj[t * self.bits + b];
            if m > 0.0 {
                sig |= 1 << b;
            }
            if m.abs() < weakest_margin {
                weakest_margin = m.abs();
                weakest = b;
            }
        }
        (sig, weakest_margin, weakest)
    }

    fn longest_plane(&mut self) -> f32 {
        if self.longest_plane == 0.0 {
            self.longest_plane = self
                .planes
                .chunks(self.dim.max(1))
                .map(|p| p.iter().map(|x| x * x).sum::<f32>().sqrt())
                .fold(0.0, f32::max)
                // Rounding in the projections must not turn "cannot flip" into a flip.
                * 1.001;
        }
        self.longest_plane
    }

    /// Re-indexes `video` after its vector moved by at most `moved` (L2) since
    /// the last call: skipped when no signature bit can have flipped.
    pub fn upsert_moved(&mut self, video: u32, v: &[f32], moved: f32) {
        if let Some(s) = self.slack.get_mut(video as usize) {
            *s -= moved;
            if *s > 0.0 {
                return;
            }
        }
        self.upsert(video, v);
    }

    /// Starts fetching `video`'s slack and signatures.
    pub fn prefetch(&self, video: u32) {
        if let Some(s) = self.slack.get(video as usize) {
            crate::model::prefetch(s);
        }
        if let Some(s) = self.sigs.get(video as usize * self.tables) {
            crate::model::prefetch(s);
        }
    }

    fn unlink(&mut self, video: u32, t: usize) {
        let k = video as usize * self.tables + t;
        let old = std::mem::replace(&mut self.sigs[k], UNINDEXED);
        if old == UNINDEXED {
            return;
        }
        let b = &mut self.buckets[(t << self.bits) + old as usize];
        let i = self.pos[k] as usize;
        if b.get(i) != Some(&video) {
            return;
        }
        b.swap_remove(i);
        if let Some(&moved) = b.get(i) {
            self.pos[moved as usize * self.tables + t] = i as u32;
        }
    }

    pub fn upsert(&mut self, video: u32, v: &[f32]) {
        let base = video as usize * self.tables;
        if self.sigs.len() < base + self.tables {
            self.sigs.resize(base + self.tables, UNINDEXED);
            self.pos.resize(base + self.tables, 0);
        }
        let longest = self.longest_plane();
        let n = self.tables * self.bits;
        let mut proj = [0f32; MAX_PLANES];
        Self::projections(self.planes_t(), n, v, &mut proj);
        let mut min_margin = f32::INFINITY;
        for t in 0..self.tables {
            let (sig, margin, _) = self.signatures(&proj, t);
            min_margin = min_margin.min(margin);
            if self.sigs[base + t] == sig {
                continue;
            }
            self.unlink(video, t);
            let b = &mut self.buckets[(t << self.bits) + sig as usize];
            self.pos[base + t] = b.len() as u32;
            b.push(video);
            self.sigs[base + t] = sig;
        }
        if self.slack.len() <= video as usize {
            self.slack.resize(video as usize + 1, 0.0);
        }
        self.slack[video as usize] = if longest > 0.0 {
            min_margin / longest
        } else {
            0.0
        };
    }

    pub fn remove(&mut self, video: u32) {
        if self.sigs.len() < (video as usize + 1) * self.tables {
            return;
        }
        for t in 0..self.tables {
            self.unlink(video, t);
        }
        if let Some(s) = self.slack.get_mut(video as usize) {
            *s = 0.0;
        }
    }

    /// Calls `visit` for videos in the probed buckets (with repeats across
    /// tables), at most [`MAX_VISITS`] in all, shared evenly among the probes.
    pub fn probe(&self, q: &[f32], mut visit: impl FnMut(u32)) {
        let per_probe = MAX_VISITS / (2 * self.tables.max(1));
        let n = self.tables * self.bits;
        let mut proj = [0f32; MAX_PLANES];
        if self.planes_t.len() == n * self.dim {
            Self::projections(&self.planes_t, n, q, &mut proj);
        } else {
            // Not built yet (a fresh restore that never learned): the same
            // sums, one plane at a time.
            for (p, plane) in self.planes.chunks(self.dim.max(1)).enumerate().take(n) {
                proj[p] = plane.iter().zip(q).map(|(x, y)| x * y).sum();
            }
        }
        for t in 0..self.tables {
            let (sig, _, weakest) = self.signatures(&proj, t);
            for s in [sig, sig ^ (1 << weakest)] {
                for &v in self.buckets[(t << self.bits) + s as usize]
                    .iter()
                    .take(per_probe)
                {
                    visit(v);
                }
            }
        }
    }

    pub fn check(&self) -> Result<(), String> {
        if self.planes.len() != self.tables * self.bits * self.dim
            || self.tables * self.bits > MAX_PLANES
            || self.bits > 15
            || self.buckets.len() != self.tables << self.bits
        {
            return Err("ann index shape inconsistent".into());
        }
        if self.pos.len() != self.sigs.len() {
            return Err("ann index positions inconsistent".into());
        }
        let max = self.sigs.len() / self.tables.max(1);
        if self
            .buckets
            .iter()
            .any(|b| b.iter().any(|&v| v as usize >= max))
        {
            return Err("ann index references unknown video".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_itself_and_moves_on_update() {
        let mut a = AnnIndex::new(4, 2, 6);
        a.upsert(1, &[1.0, 0.0, 0.0, 0.0]);
        a.upsert(2, &[-1.0, 0.0, 0.0, 0.0]);
        let mut hits = Vec::new();
        a.probe(&[1.0, 0.0, 0.0, 0.0], |v| hits.push(v));
        assert!(hits.contains(&1));
        a.upsert(1, &[-1.0, 0.0, 0.0, 0.0]);
        hits.clear();
        a.probe(&[-1.0, 0.0, 0.0, 0.0], |v| hits.push(v));
        assert!(hits.contains(&1) && hits.contains(&2));
        a.remove(1);
        hits.clear();
        a.probe(&[-1.0, 0.0, 0.0, 0.0], |v| hits.push(v));
        assert!(!hits.contains(&1));
        assert!(a.check().is_ok());
    }

    #[test]
    fn skipping_small_moves_never_misses_a_bucket_change() {
        // Random walks re-indexed through upsert_moved must end in exactly the
        // buckets a fresh index puts them in.
        let mut a = AnnIndex::new(8, 4, 10);
        let mut vecs: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                let mut v = vec![0.0; 8];
                init_random(i, &mut v, 0.3);
                v
            })
            .collect();
        for (i, v) in vecs.iter().enumerate() {
            a.upsert(i as u32, v);
        }
        let mut x = 1u64;
        for step in 0..20_000 {
            let i = step % vecs.len();
            let mut d = vec![0.0; 8];
            x = crate::ids::mix64(x);
            init_random(x, &mut d, 0.01);
            let moved = d.iter().map(|z| z * z).sum::<f32>().sqrt();
            for (y, dz) in vecs[i].iter_mut().zip(&d) {
                *y += dz;
            }
            a.upsert_moved(i as u32, &vecs[i], moved);
        }
        let mut fresh = AnnIndex::new(8, 4, 10);
        for (i, v) in vecs.iter().enumerate() {
            fresh.upsert(i as u32, v);
        }
        assert_eq!(a.sigs, fresh.sigs);
    }
}
