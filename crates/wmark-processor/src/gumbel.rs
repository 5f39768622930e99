//! Gumbel-max sampling with a keyed PRF: the distortion-free schemes `gumbel:h` (wmark's
//! own, docs/spec.md) and `vllm-gumbel` / `vllm-dual-key-gumbel` (vLLM 0.33's native
//! watermark, bit for bit).
//!
//! A [`GumbelSampler`] *chooses* the token instead of biasing logits: after temperature,
//! top-k and top-p it picks `argmax(logit/T + g)`, `g = −ln(−ln u)` with `u` the keyed
//! uniform of (context, candidate). For a fixed context that is an exact sample of the
//! warped distribution, so the text's distribution is unchanged; the detector finds the
//! large `u` of the chosen tokens. A context already used earlier in the same generation is
//! sampled without the watermark (by the engine's own sampler), so that a repeated context
//! does not force a repeated choice.
//!
//! State is per sequence ([`GumbelState`]: where the generation starts, the contexts it has
//! used, the router of the dual key). The logits hook [`GumbelSampler::apply`] forces the
//! chosen token by setting every other logit to −∞, for engines that only let a hook edit
//! logits: any sampler that runs afterwards then picks it.

use std::collections::HashSet;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use wmark_core::philox::{Philox, NO_TOKEN};
use wmark_core::{Config, Key, KeyKind, Seeding, Watermark};

use crate::error::Error;

/// The warping the sampler applies before its choice (it replaces the engine's sampler at
/// the positions it watermarks).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warp {
    /// Softmax temperature, > 0.
    pub temperature: f32,
    /// Keep only the k largest logits (0: no limit).
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: no limit).
    pub top_p: f32,
}

impl Default for Warp {
    fn default() -> Warp {
        Warp { temperature: 1.0, top_k: 0, top_p: 1.0 }
    }
}

#[derive(Clone, Debug)]
enum Prf {
    /// `gumbel:h`: v1 seeds over the previous `h` tokens (prompt included).
    Native { wm: Box<Watermark>, h: usize },
    /// vLLM: the previous `width` generated tokens, −1 before the first; with key B and its
    /// probability α for the dual key.
    Vllm { a: Philox, b: Option<(Philox, f64)>, width: usize },
}

/// A Gumbel-max sampler for one key: built once, read-only, `Send + Sync`.
#[derive(Clone, Debug)]
pub struct GumbelSampler {
    prf: Prf,
    config: Config,
    warp: Warp,
}

/// What one step of a sequence did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The watermarked choice.
    Token(u32),
    /// This context was already used in the sequence: sample without the watermark.
    Repeated,
    /// Fewer tokens precede the position than `gumbel:h` needs: sample without the watermark.
    ContextTooShort,
    /// No logit is finite: nothing to choose from.
    NoCandidate,
}

/// The per-sequence state of a [`GumbelSampler`]: one per generated sequence.
#[derive(Clone, Debug)]
pub struct GumbelState {
    /// Length of the context at the first step: where the generated tokens start.
    start: Option<usize>,
    /// Fingerprints of the contexts used so far.
    seen: HashSet<u128>,
    /// Routes the dual key's steps to key B with probability α.
    router: ChaCha8Rng,
    scratch: Vec<(f32, u32)>,
}

impl GumbelState {
    /// Makes the state ready for a new sequence (keeping its allocations).
    pub fn reset(&mut self) {
        self.start = None;
        self.seen.clear();
    }

    /// Where the generated tokens start in the contexts passed so far (the first step's
    /// context length), once a step has been taken.
    pub fn start(&self) -> Option<usize> {
        self.start
    }
}

/// A warping the sampler can use: a finite temperature above 0, top_p in (0, 1].
pub(crate) fn check_warp(warp: Warp) -> Result<(), Error> {
    if !(warp.temperature > 0.0 && warp.temperature.is_finite()) {
        return Err(Error::config(format!(
            "Gumbel-max sampling needs a temperature above 0, got {}",
            warp.temperature
        )));
    }
    if !(warp.top_p > 0.0 && warp.top_p <= 1.0) {
        return Err(Error::config(format!("top_p must be in (0, 1], got {}", warp.top_p)));
    }
    Ok(())
}

impl GumbelSampler {
    /// A sampler for `key` and a Gumbel-max `config`, warping with `warp`. The key must be a
    /// v1 key for `gumbel:h` and a vLLM key for the vLLM schemes.
    pub fn new(key: &Key, config: Config, warp: Warp) -> Result<GumbelSampler, Error> {
        let seeding = config.seeding();
        if !seeding.is_gumbel() {
            return Err(Error::config(format!("{seeding} is not a Gumbel-max scheme; use a Processor")));
        }
        if key.kind() != seeding.key_kind() {
            let want = if seeding.key_kind() == KeyKind::Vllm { "a vLLM key" } else { "a wmark key" };
            return Err(Error::config(format!("the scheme {seeding} needs {want}")));
        }
        check_warp(warp)?;
        let prf = match seeding {
            Seeding::Gumbel(h) => Prf::Native { wm: Box::new(Watermark::new(key, config)), h },
            Seeding::VllmGumbel(width) => {
                Prf::Vllm { a: Philox::new(key.dangerous_expose_vllm_key().expect("a vLLM key")), b: None, width }
            }
            Seeding::VllmDualKeyGumbel(width) => {
                let k = key.dangerous_expose_vllm_key().expect("a vLLM key");
                let (a, b) = Philox::dual(k);
                Prf::Vllm { a, b: Some((b, config.alpha())), width }
            }
            _ => unreachable!("checked: a Gumbel-max scheme"),
        };
        Ok(GumbelSampler { prf, config, warp })
    }

    /// The same key and scheme with another warping (e.g. one request's sampling
    /// parameters); cheap: no key material is derived again.
    pub fn with_warp(&self, warp: Warp) -> Result<GumbelSampler, Error> {
        check_warp(warp)?;
        Ok(GumbelSampler { warp, ..self.clone() })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The warping.
    pub fn warp(&self) -> Warp {
        self.warp
    }

    /// The state of a new sequence; `seed` seeds the dual key's router (unused otherwise).
    pub fn create_state(&self, seed: u64) -> GumbelState {
        GumbelState { start: None, seen: HashSet::new(), router: ChaCha8Rng::seed_from_u64(seed), scratch: Vec::new() }
    }

    /// The watermarked choice for the position after `context` (prompt and generated tokens
    /// so far; the first call of a state fixes where the generation starts), from the
    /// step's raw `logits` (exactly `vocab_size` long; −∞ and NaN are never chosen).
    pub fn choose(&self, state: &mut GumbelState, context: &[u32], logits: &[f32]) -> Result<Choice, Error> {
        let vocab = self.config.vocab_size();
        if logits.len() != vocab as usize {
            return Err(Error::logits_length(vocab, logits.len()));
        }
        let start = *state.start.get_or_insert(context.len());
        if start > context.len() {
            return Err(Error::config("the context is shorter than at the sequence's first step: use a new state"));
        }
        let t = self.warp.temperature;
        // The candidates: every finite logit, or those left by top-k and top-p.
        let truncated = self.warp.top_k > 0 || self.warp.top_p < 1.0;
        let cands: &[(f32, u32)] = if truncated { warp(self.warp, logits, &mut state.scratch) } else { &[] };
        let all = || logits.iter().enumerate().filter(|(_, l)| l.is_finite()).map(|(i, &l)| (l, i as u32));
        if if truncated { cands.is_empty() } else { all().next().is_none() } {
            return Ok(Choice::NoCandidate);
        }
        // One monomorphic pick per candidate source (no dynamic call per candidate).
        macro_rules! choose {
            ($upper:expr, $value:expr) => {
                if truncated {
                    pick(cands.iter().copied(), $upper, $value)
                } else {
                    pick(all(), $upper, $value)
                }
            };
        }
        match &self.prf {
            Prf::Native { wm, h } => {
                if context.len() < *h {
                    return Ok(Choice::ContextTooShort);
                }
                let seed = wm.context_seed(&context[context.len() - h..]).expect("h tokens");
                if !state.seen.insert(u128::from_le_bytes(seed.0[..16].try_into().expect("16 bytes"))) {
                    return Ok(Choice::Repeated);
                }
                // `l/T + g` in double precision, computed only for the candidates that could
                // still win (the others are below the best value by more than any noise).
                let temperature = f64::from(t);
                if !truncated {
                    return Ok(Choice::Token(pick_streamed(&seed, logits, temperature).expect("candidates")));
                }
                let mut stream = seed.stream();
                let value = |l: f32, id: u32| {
                    let u = (f64::from(stream.word_at(id)) + 0.5) * (1.0 / 4_294_967_296.0);
                    f64::from(l) / temperature + -(-u.ln()).ln()
                };
                let upper = |l: f32| f64::from(l) / temperature + MAX_NOISE_F64;
                Ok(Choice::Token(pick(cands.iter().copied(), upper, value).expect("candidates")))
            }
            Prf::Vllm { a, b, width } => {
                let generated = &context[start..];
                let w = *width;
                let word = |i: usize| {
                    let at = generated.len() + i;
                    if at >= w {
                        generated[at - w]
                    } else {
                        NO_TOKEN
                    }
                };
                let state_a = a.absorb(w, word);
                if !state.seen.insert(u128::from_le_bytes(state_a.to_bytes())) {
                    return Ok(Choice::Repeated);
                }
                let (prf, ctx) = match b {
                    Some((b, alpha)) if uniform(&mut state.router) < *alpha => (b, b.absorb(w, word)),
                    _ => (a, state_a),
                };
                // vLLM divides by the temperature and adds the noise in f32.
                let value = |l: f32, id: u32| {
                    let u = prf.uniform(&ctx, id).max(f32::MIN_POSITIVE);
                    f64::from(l / t + -(-u.ln()).ln())
                };
                let upper = |l: f32| f64::from(l / t) + f64::from(MAX_NOISE_F32);
                Ok(Choice::Token(choose!(upper, value).expect("candidates")))
            }
        }
    }

    /// The logits hook: makes the choice of [`choose`](Self::choose) and, when it is a token,
    /// sets every other logit to −∞ so that whatever samples next picks it. Logits are left
    /// unchanged for the positions sampled without the watermark.
    pub fn apply(&self, state: &mut GumbelState, context: &[u32], logits: &mut [f32]) -> Result<Choice, Error> {
        let choice = self.choose(state, context, logits)?;
        if let Choice::Token(t) = choice {
            let keep = logits[t as usize];
            logits.fill(f32::NEG_INFINITY);
            logits[t as usize] = if keep.is_finite() { keep } else { 0.0 };
        }
        Ok(choice)
    }
}

/// Above the largest Gumbel noise vLLM's uniforms can give in `f32`: the largest uniform is
/// `2^24 / (2^24 + 1)` rounded to `f32` (`1 − 2^-24`), whose noise is about 16.64.
const MAX_NOISE_F32: f32 = 17.0;

/// Above the largest Gumbel noise of a `gumbel:h` uniform, `(2^32 − 0.5) / 2^32`: about 22.9.
const MAX_NOISE_F64: f64 = 23.5;

/// A uniform in [0, 1) with 53 bits.
fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The Gumbel-max choice among `cands` (raw logit, id): the largest `value(l, id)`, ties to
/// the smaller id. Starts from the largest logit and skips every candidate whose `upper(l)`
/// (its scaled logit plus the largest possible noise) is below the best value so far, so
/// that the noise is computed only for candidates that could win; the choice is the one
/// scoring every candidate would make. `None` without candidates.
fn pick(
    cands: impl Iterator<Item = (f32, u32)> + Clone,
    upper: impl Fn(f32) -> f64,
    mut value: impl FnMut(f32, u32) -> f64,
) -> Option<u32> {
    let (top, top_id) = cands.clone().fold(None, |b: Option<(f32, u32)>, (l, id)| match b {
        Some((bl, _)) if bl >= l => b,
        _ => Some((l, id)),
    })?;
    let mut best = (value(top, top_id), top_id);
    for (l, id) in cands {
        if id == top_id || upper(l) < best.0 {
            continue;
        }
        let v = value(l, id);
        if v > best.0 || (v == best.0 && id < best.1) {
            best = (v, id);
        }
    }
    Some(best.1)
}

/// [`pick`] for `gumbel:h` over every finite logit of the row: the keystream is read in one
/// sequential pass (about 5 GB/s) instead of one block per candidate, and the noise is
/// computed only where the candidate could still win.
fn pick_streamed(seed: &wmark_core::Seed, logits: &[f32], temperature: f64) -> Option<u32> {
    const CHUNK: usize = 1024;
    let (top_id, &top) = logits.iter().enumerate().filter(|(_, l)| l.is_finite()).fold(None, |b, (i, l)| match b {
        Some((_, bl)) if bl >= l => b,
        _ => Some((i, l)),
    })?;
    let noise = |word: u32| -(-((f64::from(word) + 0.5) * (1.0 / 4_294_967_296.0)).ln()).ln();
    let mut best = (f64::from(top) / temperature + noise(seed.word_at(top_id as u32)), top_id as u32);
    let mut stream = seed.stream();
    let mut buf = [0u8; 4 * CHUNK];
    for (c, chunk) in logits.chunks(CHUNK).enumerate() {
        let bytes = &mut buf[..4 * chunk.len()];
        stream.fill(bytes);
        for (i, &l) in chunk.iter().enumerate() {
            let scaled = f64::from(l) / temperature;
            if scaled + MAX_NOISE_F64 < best.0 || !l.is_finite() {
                continue;
            }
            let id = (c * CHUNK + i) as u32;
            if id == best.1 {
                continue;
            }
            let v = scaled + noise(u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes")));
            if v > best.0 || (v == best.0 && id < best.1) {
                best = (v, id);
            }
        }
    }
    Some(best.1)
}

/// Top-k, then top-p at temperature T, over the finite logits: the kept `(logit, id)`
/// (after top-p, most likely first, ties by id).
pub(crate) fn warp<'a>(w: Warp, logits: &[f32], scratch: &'a mut Vec<(f32, u32)>) -> &'a [(f32, u32)] {
    scratch.clear();
    scratch.extend(logits.iter().enumerate().filter(|(_, l)| l.is_finite()).map(|(i, &l)| (l, i as u32)));
    let temperature = f64::from(w.temperature);
    let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if w.top_k > 0 && scratch.len() > w.top_k {
        scratch.select_nth_unstable_by(w.top_k - 1, order);
        scratch.truncate(w.top_k);
    }
    if w.top_p < 1.0 {
        scratch.sort_unstable_by(order);
        let max = scratch.first().map_or(0.0, |e| e.0);
        let weight = |l: f32| (f64::from(l - max) / temperature).exp();
        let total: f64 = scratch.iter().map(|e| weight(e.0)).sum();
        let mut acc = 0.0;
        let mut keep = scratch.len();
        for (i, e) in scratch.iter().enumerate() {
            acc += weight(e.0) / total;
            if acc >= f64::from(w.top_p) {
                keep = i + 1;
                break;
            }
        }
        scratch.truncate(keep);
    }
    scratch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(seeding: Seeding, key: &Key, warp: Warp) -> GumbelSampler {
        GumbelSampler::new(key, Config::gumbel(seeding, 64).unwrap(), warp).unwrap()
    }

    #[test]
    fn the_hook_forces_the_choice_and_repeated_contexts_are_left_alone() {
        let key = Key::from_bytes([5; 32]);
        let s = sampler(Seeding::Gumbel(2), &key, Warp::default());
        let mut st = s.create_state(0);
        let mut logits: Vec<f32> = (0..64).map(|i| (i % 7) as f32).collect();
        assert_eq!(s.apply(&mut st, &[1], &mut logits).unwrap(), Choice::ContextTooShort);
        let Choice::Token(t) = s.apply(&mut st, &[1, 2], &mut logits).unwrap() else { panic!("a token") };
        assert_eq!(logits.iter().filter(|l| l.is_finite()).count(), 1);
        assert!(logits[t as usize].is_finite());
        let mut again: Vec<f32> = (0..64).map(|i| (i % 7) as f32).collect();
        assert_eq!(s.apply(&mut st, &[9, 1, 2], &mut again).unwrap(), Choice::Repeated);
        assert!(again.iter().all(|l| l.is_finite()));
    }

    #[test]
    fn the_vllm_choice_equals_philox_gumbel_argmax_on_the_warped_row() {
        let key = Key::from_vllm(12345);
        let s = sampler(Seeding::VllmGumbel(4), &key, Warp { temperature: 0.7, top_k: 0, top_p: 1.0 });
        let mut st = s.create_state(0);
        let prompt = [3u32, 4, 5];
        let logits: Vec<f32> = (0..64).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        let Choice::Token(t) = s.choose(&mut st, &prompt, &logits).unwrap() else { panic!("a token") };
        let warped: Vec<f32> = logits.iter().map(|l| l / 0.7).collect();
        let prf = Philox::new(12345);
        let ctx = prf.absorb_ids(&[NO_TOKEN; 4]);
        assert_eq!(prf.gumbel_argmax(&ctx, &warped), Some(t));
    }

    /// Rows with logits spread over 60 nats, so that the pruning skips most candidates.
    fn rows() -> impl Iterator<Item = Vec<f32>> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..300).map(move |_| {
            (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 6000) as f32 / 100.0 - 30.0
                })
                .collect()
        })
    }

    #[test]
    fn pruned_choices_equal_scoring_every_candidate() {
        let v1 = Key::from_bytes([9; 32]);
        let native = sampler(Seeding::Gumbel(1), &v1, Warp { temperature: 0.8, ..Warp::default() });
        let wm = Watermark::new(&v1, Config::gumbel(Seeding::Gumbel(1), 64).unwrap());
        let vllm = sampler(Seeding::VllmGumbel(1), &Key::from_vllm(77), Warp { temperature: 0.8, ..Warp::default() });
        let prf = Philox::new(77);
        for (i, row) in rows().enumerate() {
            let ctx = [i as u32];
            let Choice::Token(got) = native.choose(&mut native.create_state(0), &ctx, &row).unwrap() else {
                panic!("a token")
            };
            let seed = wm.context_seed(&ctx).unwrap();
            let all = Watermark::gumbel_argmax_f64(&seed, row.iter().map(|&l| f64::from(l)), 0.8);
            assert_eq!(Some(got), all, "native row {i}");
            // vLLM: the first step of a sequence has the all −1 context.
            let mut st = vllm.create_state(0);
            let Choice::Token(got) = vllm.choose(&mut st, &ctx, &row).unwrap() else { panic!("a token") };
            let warped: Vec<f32> = row.iter().map(|l| l / 0.8).collect();
            let all = prf.gumbel_argmax(&prf.absorb_ids(&[NO_TOKEN]), &warped);
            assert_eq!(Some(got), all, "vLLM row {i}");
        }
    }

    #[test]
    fn a_row_longer_than_one_keystream_chunk_is_chosen_exactly() {
        let v1 = Key::from_bytes([4; 32]);
        let config = Config::gumbel(Seeding::Gumbel(2), 5000).unwrap();
        let s = GumbelSampler::new(&v1, config, Warp::default()).unwrap();
        let wm = Watermark::new(&v1, config);
        for r in 0..20u32 {
            // Flat logits: every id could win, so every chunk of the stream is read.
            let row: Vec<f32> = (0..5000).map(|i| ((i * 7 + r) % 13) as f32 * 0.01).collect();
            let ctx = [r, r + 1];
            let Choice::Token(got) = s.choose(&mut s.create_state(0), &ctx, &row).unwrap() else { panic!("a token") };
            let seed = wm.context_seed(&ctx).unwrap();
            assert_eq!(Some(got), Watermark::gumbel_argmax(&seed, &row, 1.0), "row {r}");
        }
    }

    #[test]
    fn bad_parameters_and_keys_are_errors() {
        let v1 = Key::from_bytes([1; 32]);
        let config = Config::gumbel(Seeding::Gumbel(4), 64).unwrap();
        assert!(GumbelSampler::new(&v1, config, Warp { temperature: 0.0, ..Warp::default() }).unwrap_err().is_config());
        assert!(GumbelSampler::new(&v1, config, Warp { top_p: 0.0, ..Warp::default() }).unwrap_err().is_config());
        assert!(GumbelSampler::new(&Key::from_vllm(1), config, Warp::default()).unwrap_err().is_config());
        let green = Config::new(Seeding::LeftHash, 0.25, 2.0, 64).unwrap();
        assert!(GumbelSampler::new(&v1, green, Warp::default()).unwrap_err().is_config());
        let s = GumbelSampler::new(&v1, config, Warp::default()).unwrap();
        assert!(s.choose(&mut s.create_state(0), &[1, 2, 3, 4], &[0.0; 63]).unwrap_err().is_logits_length());
    }
}
