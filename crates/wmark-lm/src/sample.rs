//! Sampling the next token: temperature, top-k, top-p, from a seeded generator.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Sampling parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Softmax temperature; 0 means greedy (argmax).
    pub temperature: f32,
    /// Keep only the k most likely tokens (0: no limit).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches p (1: no limit).
    pub top_p: f32,
    /// Seed of the sampling generator: the same seed, prompt and model give the same text.
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Sampling {
        Sampling { temperature: 0.7, top_k: 50, top_p: 0.95, seed: 0 }
    }
}

/// A sampler with its own generator (independent of the watermark's keyed functions).
pub struct Sampler {
    params: Sampling,
    rng: ChaCha8Rng,
    scratch: Vec<(f32, u32)>,
}

impl Sampler {
    /// A sampler seeded with `params.seed`.
    pub fn new(params: Sampling) -> Sampler {
        Sampler { params, rng: ChaCha8Rng::seed_from_u64(params.seed), scratch: Vec::new() }
    }

    fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Picks a token from `logits` (already biased by the watermark, if any).
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let p = self.params;
        let best = |s: &[(f32, u32)]| {
            s.iter().copied().fold((f32::NEG_INFINITY, 0u32), |b, x| if x.0 > b.0 { x } else { b }).1
        };
        self.scratch.clear();
        self.scratch.extend(logits.iter().enumerate().filter(|(_, l)| l.is_finite()).map(|(i, &l)| (l, i as u32)));
        if self.scratch.is_empty() {
            return 0;
        }
        if p.temperature <= 0.0 {
            return best(&self.scratch);
        }
        // Most likely first; ties by id so that results do not depend on the sort.
        let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if p.top_k > 0 && self.scratch.len() > p.top_k {
            self.scratch.select_nth_unstable_by(p.top_k - 1, order);
            self.scratch.truncate(p.top_k);
        }
        self.scratch.sort_unstable_by(order);
        let max = self.scratch[0].0;
        let mut total = 0f64;
        for e in self.scratch.iter_mut() {
            let w = (f64::from(e.0 - max) / f64::from(p.temperature)).exp();
            e.0 = w as f32;
            total += w;
        }
        if p.top_p < 1.0 {
            let mut acc = 0f64;
            let mut keep = self.scratch.len();
            for (i, e) in self.scratch.iter().enumerate() {
                acc += f64::from(e.0) / total;
                if acc >= f64::from(p.top_p) {
                    keep = i + 1;
                    break;
                }
            }
            self.scratch.truncate(keep);
            total = self.scratch.iter().map(|e| f64::from(e.0)).sum();
        }
        let mut u = self.uniform() * total;
        for e in &self.scratch {
            u -= f64::from(e.0);
            if u <= 0.0 {
                return e.1;
            }
        }
        self.scratch.last().expect("non-empty").1
    }
}
