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
}

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

    pub fn upsert(&mut self, video: u32, v: &[f32]) {
        let base = video as usize * self.tables;
        if self.sigs.len() < base + self.tables {
            self.sigs.resize(base + self.tables, UNINDEXED);
        }
        for t in 0..self.tables {
            let (sig, _) = self.signature(t, v);
            let old = self.sigs[base + t];
            if old == sig {
                continue;
            }
            if old != UNINDEXED {
                let b = &mut self.buckets[(t << self.bits) + old as usize];
                if let Some(i) = b.iter().position(|&x| x == video) {
                    b.swap_remove(i);
                }
            }
            self.buckets[(t << self.bits) + sig as usize].push(video);
            self.sigs[base + t] = sig;
        }
    }

    pub fn remove(&mut self, video: u32) {
        let base = video as usize * self.tables;
        if self.sigs.len() < base + self.tables {
            return;
        }
        for t in 0..self.tables {
            let old = std::mem::replace(&mut self.sigs[base + t], UNINDEXED);
            if old != UNINDEXED {
                let b = &mut self.buckets[(t << self.bits) + old as usize];
                if let Some(i) = b.iter().position(|&x| x == video) {
                    b.swap_remove(i);
                }
            }
        }
    }

    /// Calls `visit` for each video in the probed buckets (with repeats across tables).
    pub fn probe(&self, q: &[f32], mut visit: impl FnMut(u32)) {
        for t in 0..self.tables {
            let (sig, weakest) = self.signature(t, q);
            for s in [sig, sig ^ (1 << weakest)] {
                for &v in &self.buckets[(t << self.bits) + s as usize] {
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
