//! SynthID-Text generation (`hf-synthid:n`): the tournament logits transform of Hugging Face
//! transformers' `SynthIDTextWatermarkLogitsProcessor` (Dathathri et al., Nature 2024), so
//! that text generated here carries the same watermark transformers' processor gives it and
//! that both wmark's and transformers' detectors find.
//!
//! One step, after the step's logits `l` (docs/spec.md, "hf-synthid"):
//!
//! 1. the context is the previous `n − 1` *generated* ids, with 0 standing in before the first
//!    (transformers' processor starts from zeros and never reads the prompt);
//! 2. `p = softmax(l)`; for each layer `j` of `D`, with `g_j(t)` the g-value of candidate `t`
//!    (the sampling table's bit picked by the hash of (context, t) and key `j`):
//!    `p(t) ← p(t) · (1 + g_j(t) − Σ_u g_j(u) p(u))` — the expected outcome of a
//!    two-candidate tournament per layer, which keeps `p` a distribution;
//! 3. the logits become `ln p` (a probability of 0 becomes `f32::MIN`, as in transformers),
//!    unless the context was used within the last `context_history_size` steps, when the
//!    logits are left as they were (a repeated context would otherwise repeat its bias).
//!
//! transformers appends the processor after the warpers (temperature, top-k, top-p), so the
//! tournament sees warped logits and the sampler then draws from its output as it is. A
//! processor built [`with_warp`](SynthIdProcessor::with_warp) warps first itself; the engine's
//! sampler must then draw at temperature 1 without truncation.
//!
//! State is per sequence ([`SynthIdState`]: where the generation starts, the context history
//! and scratch). A step costs `V` hashes plus `D · V` table lookups and multiply-adds.

use std::collections::{HashMap, VecDeque};

use wmark_core::hf::{synthid_step, SynthId};
use wmark_core::{Config, Key};

use crate::error::Error;
use crate::gumbel::{check_warp, warp, Warp};

/// transformers' default `context_history_size`.
pub const DEFAULT_CONTEXT_HISTORY_SIZE: usize = 1024;

/// A SynthID-Text tournament processor for one key: built once, read-only, `Send + Sync`.
#[derive(Clone, Debug)]
pub struct SynthIdProcessor {
    synthid: SynthId,
    config: Config,
    history: usize,
    warp: Warp,
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthIdStep {
    /// The logits were replaced by the tournament's log-probabilities.
    Applied,
    /// The context was used within the history: the logits were left unchanged.
    RepeatedContext,
    /// No logit was a candidate (every one −∞ or NaN): the logits were left unchanged.
    NoCandidate,
}

/// The per-sequence state of a [`SynthIdProcessor`]: one per generated sequence.
#[derive(Clone, Debug, Default)]
pub struct SynthIdState {
    /// Length of the context at the first step: where the generated ids start.
    start: Option<usize>,
    /// Steps taken.
    steps: usize,
    /// The last `context_history_size` context hashes, newest first, and how often each occurs.
    ring: VecDeque<i64>,
    counts: HashMap<i64, usize>,
    probs: Vec<f32>,
    hashes: Vec<i64>,
    g: Vec<u8>,
    kept: Vec<(f32, u32)>,
    /// The ids with a probability above 0, when they are few (the sparse path).
    live: Vec<u32>,
}

impl SynthIdState {
    /// Makes the state ready for a new sequence (keeping its allocations).
    pub fn reset(&mut self) {
        self.start = None;
        self.steps = 0;
        self.ring.clear();
        self.counts.clear();
    }
}

impl SynthIdProcessor {
    /// A processor for a SynthID key (its layer keys) and an `hf-synthid` configuration, with
    /// transformers' default context history of 1024 steps.
    pub fn new(key: &Key, config: Config) -> Result<SynthIdProcessor, Error> {
        SynthIdProcessor::with_context_history(key, config, DEFAULT_CONTEXT_HISTORY_SIZE)
    }

    /// [`new`](Self::new) with transformers' `context_history_size` (0: every context is new).
    pub fn with_context_history(key: &Key, config: Config, history: usize) -> Result<SynthIdProcessor, Error> {
        let synthid = SynthId::for_key(key, &config).map_err(|e| Error::config(e.to_string()))?;
        Ok(SynthIdProcessor { synthid, config, history, warp: Warp::default() })
    }

    /// The same processor warping each step's logits first (temperature, then top-k and
    /// top-p set the rest to −∞), as transformers' warpers do before its SynthID processor.
    pub fn with_warp(&self, warp: Warp) -> Result<SynthIdProcessor, Error> {
        check_warp(warp)?;
        Ok(SynthIdProcessor { warp, ..self.clone() })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The state of a new sequence.
    pub fn create_state(&self) -> SynthIdState {
        SynthIdState::default()
    }

    /// One decoding step: transforms `logits` (exactly `vocab_size` long) for the position
    /// after `context` (prompt and generated ids so far). The first call of a state fixes
    /// where the generation starts; each later call must come one id later. With a warp, the
    /// logits are warped in every case (also when the context repeats). −∞ and NaN logits are
    /// not candidates (probability 0); if some logits are +∞, they share the probability.
    pub fn apply(&self, state: &mut SynthIdState, context: &[u32], logits: &mut [f32]) -> Result<SynthIdStep, Error> {
        let vocab = self.config.vocab_size();
        if logits.len() != vocab as usize {
            return Err(Error::logits_length(vocab, logits.len()));
        }
        let start = *state.start.get_or_insert(context.len());
        if context.len() != start + state.steps {
            return Err(Error::config(format!(
                "a SynthID state takes one step per generated id: expected a context of {} ids, got {}; \
                 use a new state for a new sequence",
                start + state.steps,
                context.len()
            )));
        }
        state.steps += 1;
        let generated = &context[start..];
        let ctx_hash = context_hash(self.synthid.ngram_len() - 1, generated);
        if self.warp != Warp::default() {
            let kept = warp(self.warp, logits, &mut state.kept);
            let t = self.warp.temperature;
            logits.fill(f32::NEG_INFINITY);
            for &(l, i) in kept {
                logits[i as usize] = l / t;
            }
        }
        if self.remember(state, ctx_hash) {
            return Ok(SynthIdStep::RepeatedContext);
        }
        if !softmax_into(logits, &mut state.probs) {
            return Ok(SynthIdStep::NoCandidate);
        }
        // An id with probability 0 keeps it through every layer (its factor multiplies 0), so
        // when few ids have a chance (after top-k or top-p) only they are visited.
        state.live.clear();
        let sparse = {
            let limit = (vocab as usize / 8).max(1);
            let mut few = true;
            for (t, &p) in state.probs.iter().enumerate() {
                if p > 0.0 {
                    if state.live.len() == limit {
                        few = false;
                        break;
                    }
                    state.live.push(t as u32);
                }
            }
            few
        };
        if sparse {
            self.tournament_sparse(state, ctx_hash);
            logits.fill(f32::MIN);
            for &t in &state.live {
                let lp = state.probs[t as usize].ln();
                logits[t as usize] = if lp.is_finite() { lp } else { f32::MIN };
            }
            return Ok(SynthIdStep::Applied);
        }
        let probs = &mut state.probs;
        state.hashes.clear();
        state.hashes.extend((0..vocab).map(|t| synthid_step(ctx_hash, i64::from(t))));
        state.g.resize(vocab as usize, 0);
        for layer in 0..self.synthid.depth() {
            let mut mass = 0.0f64;
            for ((g, &h), &p) in state.g.iter_mut().zip(&state.hashes).zip(probs.iter()) {
                *g = self.synthid.g_of_key(self.synthid.layer_key(h, layer));
                mass += f64::from(*g) * f64::from(p);
            }
            let mass = mass as f32;
            for (p, &g) in probs.iter_mut().zip(&state.g) {
                *p *= 1.0 + f32::from(g) - mass;
            }
        }
        for (l, &p) in logits.iter_mut().zip(probs.iter()) {
            let lp = p.ln();
            *l = if lp.is_finite() { lp } else { f32::MIN };
        }
        Ok(SynthIdStep::Applied)
    }

    /// The layers over the ids of `state.live` only (the others have probability 0).
    fn tournament_sparse(&self, state: &mut SynthIdState, ctx_hash: i64) {
        let live = &state.live;
        state.hashes.clear();
        state.hashes.extend(live.iter().map(|&t| synthid_step(ctx_hash, i64::from(t))));
        state.g.resize(live.len(), 0);
        let probs = &mut state.probs;
        for layer in 0..self.synthid.depth() {
            let mut mass = 0.0f64;
            for ((g, &h), &t) in state.g.iter_mut().zip(&state.hashes).zip(live) {
                *g = self.synthid.g_of_key(self.synthid.layer_key(h, layer));
                mass += f64::from(*g) * f64::from(probs[t as usize]);
            }
            let mass = mass as f32;
            for (&t, &g) in live.iter().zip(&state.g) {
                probs[t as usize] *= 1.0 + f32::from(g) - mass;
            }
        }
    }

    /// Records `hash` as the newest context; true if it was among the last
    /// `context_history_size` ones (which start as zeros, as transformers' do).
    fn remember(&self, state: &mut SynthIdState, hash: i64) -> bool {
        let h = self.history;
        if h == 0 {
            return false;
        }
        if state.ring.is_empty() {
            state.ring.extend(std::iter::repeat_n(0, h));
            state.counts.clear();
            state.counts.insert(0, h);
        }
        let seen = state.counts.contains_key(&hash);
        *state.counts.entry(hash).or_insert(0) += 1;
        state.ring.push_front(hash);
        let old = state.ring.pop_back().expect("the history is full");
        let c = state.counts.get_mut(&old).expect("counted");
        *c -= 1;
        if *c == 0 {
            state.counts.remove(&old);
        }
        seen
    }
}

/// The hash of the context of `n` ids: the last `n` generated ids, with 0 before the first.
fn context_hash(n: usize, generated: &[u32]) -> i64 {
    let have = generated.len().min(n);
    let padded = (have..n).fold(1, |h, _| synthid_step(h, 0));
    generated[generated.len() - have..].iter().fold(padded, |h, &x| synthid_step(h, i64::from(x)))
}

/// `softmax(logits)` into `probs` (NaN and −∞ get 0; if any logit is +∞, those share the
/// mass). False if no logit is a candidate.
fn softmax_into(logits: &[f32], probs: &mut Vec<f32>) -> bool {
    probs.clear();
    let infinite = logits.iter().filter(|&&l| l == f32::INFINITY).count();
    if infinite > 0 {
        let share = 1.0 / infinite as f32;
        probs.extend(logits.iter().map(|&l| if l == f32::INFINITY { share } else { 0.0 }));
        return true;
    }
    let max = logits.iter().copied().filter(|l| l.is_finite()).fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return false;
    }
    let mut sum = 0.0f64;
    probs.extend(logits.iter().map(|&l| {
        let e = if l.is_finite() { (l - max).exp() } else { 0.0 };
        sum += f64::from(e);
        e
    }));
    let inv = (1.0 / sum) as f32;
    probs.iter_mut().for_each(|p| *p *= inv);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use wmark_core::hf::synthid_hash;
    use wmark_core::Seeding;

    fn processor(n: usize, layers: &[i64], vocab: u32, history: usize) -> SynthIdProcessor {
        let config = Config::synthid(Seeding::HfSynthId(n), vocab, 1 << 16, 0).unwrap();
        SynthIdProcessor::with_context_history(&Key::from_synthid(layers).unwrap(), config, history).unwrap()
    }

    #[test]
    fn the_output_is_a_distribution_that_favours_ones() {
        let p = processor(3, &[11, 22, 33, 44], 500, 1024);
        let mut state = p.create_state();
        let mut logits: Vec<f32> = (0..500).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        assert_eq!(p.apply(&mut state, &[7, 8], &mut logits).unwrap(), SynthIdStep::Applied);
        let total: f64 = logits.iter().map(|&l| f64::from(l).exp()).sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
        // The expected number of ones over the layers rises above the model's own.
        let s = SynthId::for_key(&Key::from_synthid(&[11, 22, 33, 44]).unwrap(), p.config()).unwrap();
        let ctx = synthid_hash(&[0, 0]);
        let raw: Vec<f64> = (0..500).map(|i| f64::from(((i * 37) % 11) as f32 * 0.3).exp()).collect();
        let z: f64 = raw.iter().sum();
        let ones = |t: usize| f64::from(s.ones_of_hash(synthid_step(ctx, t as i64)));
        let before: f64 = raw.iter().enumerate().map(|(t, r)| r / z * ones(t)).sum();
        let after: f64 = logits.iter().enumerate().map(|(t, &l)| f64::from(l).exp() * ones(t)).sum();
        assert!(after > before + 0.1, "expected ones: {before} -> {after}");
    }

    #[test]
    fn a_repeated_context_is_left_alone_and_steps_must_follow_each_other() {
        let p = processor(2, &[5], 10, 8);
        let mut state = p.create_state();
        let mut logits = vec![0.5f32; 10];
        // First step: context [0]; second, after id 0: context [0] again.
        assert_eq!(p.apply(&mut state, &[3], &mut logits).unwrap(), SynthIdStep::Applied);
        let mut again = vec![0.5f32; 10];
        assert_eq!(p.apply(&mut state, &[3, 0], &mut again).unwrap(), SynthIdStep::RepeatedContext);
        assert_eq!(again, vec![0.5f32; 10]);
        let err = p.apply(&mut state, &[3, 0], &mut again).unwrap_err();
        assert!(err.is_config(), "{err}");
    }

    #[test]
    fn no_candidate_and_wrong_lengths_change_nothing() {
        let p = processor(2, &[5, 6], 4, 8);
        let mut state = p.create_state();
        let mut logits = vec![f32::NEG_INFINITY, f32::NAN, f32::NEG_INFINITY, f32::NAN];
        let before = format!("{logits:?}");
        assert_eq!(p.apply(&mut state, &[], &mut logits).unwrap(), SynthIdStep::NoCandidate);
        assert_eq!(format!("{logits:?}"), before);
        assert!(p.apply(&mut p.create_state(), &[], &mut [0.0; 3]).unwrap_err().is_logits_length());
        let mut inf = vec![f32::INFINITY, 0.0, f32::INFINITY, 1.0];
        assert_eq!(p.apply(&mut p.create_state(), &[], &mut inf).unwrap(), SynthIdStep::Applied);
        assert_eq!(inf[1], f32::MIN);
        assert_eq!(inf[3], f32::MIN);
        assert!(inf[0].is_finite() && inf[2].is_finite());
    }
}
