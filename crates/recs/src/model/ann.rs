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
}

/// Most bucket entries one query visits: bounds latency even when learned
/// embeddings crowd into a few buckets.
pub const MAX_VISITS: usize = 1024;

impl AnnIndex {
    pub fn new(dim: usize, tables: usize, bits: usize) -> Self {
        let bits = bits.clamp(1, 15);
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
        }
    }

    /// Signature of `v` in table `t`, plus the bit whose hyperplane is closest
    /// (the most likely to flip, hence the one worth probing).
    fn signature(&self, t: usize, v: &[f32]) -> (u16, usize) {
        let mut sig = 0u16;
        let (mut weakest, mut weakest_margin) = (0, f32::INFINITY);
        for b in 0..self.bits {
            let p =
                &self.planes[(t * self.bits + b) * self.dim..(t * self.bits + b + 1) * self.dim];
            let m: f32 = p.iter().zip(v).map(|(x, y)| x * y).sum();
            if m > 0.0 {
                sig |= 1 << b;
            }
            if m.abs() < weakest_margin {
                weakest_margin = m.abs();
                weakest = b;
            }
        }
        (sig, weakest)
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
        for t in 0..self.tables {
            let (sig, _) = self.signature(t, v);
            if self.sigs[base + t] == sig {
                continue;
            }
            self.unlink(video, t);
            let b = &mut self.buckets[(t << self.bits) + sig as usize];
            self.pos[base + t] = b.len() as u32;
            b.push(video);
            self.sigs[base + t] = sig;
        }
    }

    pub fn remove(&mut self, video: u32) {
        if self.sigs.len() < (video as usize + 1) * self.tables {
            return;
        }
        for t in 0..self.tables {
            self.unlink(video, t);
        }
    }

    /// Calls `visit` for videos in the probed buckets (with repeats across
    /// tables), at most [`MAX_VISITS`] in all, shared evenly among the probes.
    pub fn probe(&self, q: &[f32], mut visit: impl FnMut(u32)) {
        let per_probe = MAX_VISITS / (2 * self.tables.max(1));
        for t in 0..self.tables {
            let (sig, weakest) = self.signature(t, q);
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
}
