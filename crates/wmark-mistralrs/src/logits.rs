//! wmark's watermark behind mistral.rs's `CustomLogitsProcessor`: one value per request.
//!
//! mistral.rs calls a request's processors once per sampled token, with one row of logits
//! `[V]` and the sequence so far (prompt and generated ids), before its own temperature and
//! top-k/top-p sampling. The green-list schemes add δ to the green logits there. The
//! Gumbel-max schemes choose the token themselves (after the request's own temperature,
//! top-k and top-p) and leave only that logit finite, so that the engine's sampler can only
//! take it; a context already used in the sequence is left to the engine's sampler.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use candle_core::{DType, Tensor};
use mistralrs_core::CustomLogitsProcessor;
use wmark_processor::gumbel::{GumbelSampler, GumbelState, Warp};
use wmark_processor::{Cache, Processor};

/// A watermark scheme ready to serve requests: built once per key, shared by its requests.
#[derive(Clone, Debug)]
pub enum Watermarker {
    /// A green-list scheme: δ added to the green logits.
    Bias(Arc<Processor>),
    /// A Gumbel-max scheme: the token is chosen from keyed uniforms.
    Gumbel {
        /// The key and scheme; its warp is replaced by each request's.
        sampler: Arc<GumbelSampler>,
    },
    /// No watermark: the logits pass through unchanged. For measuring the watermark's cost
    /// under the same load, never for serving.
    Noop,
}

/// Time spent inside the watermark, over every request that shares it.
#[derive(Debug, Default)]
pub struct StepTimes {
    steps: AtomicU64,
    nanos: AtomicU64,
    /// Steps the watermark could not mark (too short a context, a repeated context).
    unmarked: AtomicU64,
}

impl StepTimes {
    /// Steps processed so far.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }

    /// Total time inside the watermark, in seconds.
    pub fn seconds(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 * 1e-9
    }

    /// Steps left unmarked (no full context yet, or a context repeated in the sequence).
    pub fn unmarked(&self) -> u64 {
        self.unmarked.load(Ordering::Relaxed)
    }

    fn record(&self, started: Instant, marked: bool) {
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.steps.fetch_add(1, Ordering::Relaxed);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
        if !marked {
            self.unmarked.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The per-request state: a processor's mask cache, or a Gumbel sequence's used contexts.
/// One value per request, made once: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum State {
    Bias { processor: Arc<Processor>, cache: Mutex<Cache> },
    Gumbel { sampler: GumbelSampler, state: Mutex<GumbelState> },
    Noop,
}

/// The watermark of one request (one generated sequence), as mistral.rs wants it.
pub struct RequestProcessor {
    state: State,
    times: Option<Arc<StepTimes>>,
}

impl Watermarker {
    /// The processor for one request. `warp` is the request's sampling (Gumbel-max schemes
    /// sample with it); `seed` seeds the unwatermarked draws of repeated contexts.
    pub fn for_request(
        &self,
        warp: Warp,
        seed: u64,
        times: Option<Arc<StepTimes>>,
    ) -> Result<RequestProcessor, wmark_processor::Error> {
        let state = match self {
            Watermarker::Bias(p) => State::Bias { processor: Arc::clone(p), cache: Mutex::new(p.create_cache()) },
            Watermarker::Gumbel { sampler } => {
                let sampler = sampler.with_warp(warp)?;
                let state = Mutex::new(sampler.create_state(seed));
                State::Gumbel { sampler, state }
            }
            Watermarker::Noop => State::Noop,
        };
        Ok(RequestProcessor { state, times })
    }

    /// The width of the logits rows the watermark expects, if it has one.
    pub fn vocab_size(&self) -> Option<u32> {
        match self {
            Watermarker::Bias(p) => Some(p.config().vocab_size()),
            Watermarker::Gumbel { sampler } => Some(sampler.config().vocab_size()),
            Watermarker::Noop => None,
        }
    }
}

impl RequestProcessor {
    /// Watermarks one row in place; returns whether the step was marked.
    pub fn apply_row(&self, context: &[u32], row: &mut [f32]) -> Result<bool, wmark_processor::Error> {
        Ok(match &self.state {
            State::Bias { processor, cache } => {
                let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
                processor.apply(&mut cache, context, row)? == wmark_processor::Outcome::Applied
            }
            State::Gumbel { sampler, state } => {
                let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                matches!(sampler.apply(&mut state, context, row)?, wmark_processor::gumbel::Choice::Token(_))
            }
            State::Noop => true,
        })
    }
}

impl CustomLogitsProcessor for RequestProcessor {
    fn apply(&self, logits: &Tensor, context: &[u32]) -> candle_core::Result<Tensor> {
        if matches!(self.state, State::Noop) && self.times.is_none() {
            return Ok(logits.clone());
        }
        let started = Instant::now();
        let dtype = logits.dtype();
        let mut row: Vec<f32> = logits.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let marked = self.apply_row(context, &mut row).map_err(candle_core::Error::wrap)?;
        let out = Tensor::from_vec(row, logits.shape(), logits.device())?.to_dtype(dtype)?;
        if let Some(t) = &self.times {
            t.record(started, marked);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use wmark_core::{Config, Key, Seeding};

    fn row(vocab: usize, seed: u32) -> Vec<f32> {
        (0..vocab as u32).map(|i| ((i.wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 100.0).collect()
    }

    #[test]
    fn the_bias_processor_through_a_tensor_equals_the_processor_on_a_slice() {
        let key = Key::from_bytes([7; 32]);
        let config = Config::new(Seeding::LeftHash, 0.25, 2.0, 1000).unwrap();
        let processor = Arc::new(Processor::new(&key, config));
        let times = Arc::new(StepTimes::default());
        let wm = Watermarker::Bias(Arc::clone(&processor));
        let req = wm.for_request(Warp::default(), 0, Some(Arc::clone(&times))).unwrap();
        let logits = row(1000, 1);
        let context = [5u32, 17, 42];
        let tensor = Tensor::from_vec(logits.clone(), 1000, &Device::Cpu).unwrap();
        let got: Vec<f32> = CustomLogitsProcessor::apply(&req, &tensor, &context).unwrap().to_vec1().unwrap();
        let mut want = logits.clone();
        processor.apply(&mut processor.create_cache(), &context, &mut want).unwrap();
        assert_eq!(got, want);
        assert_ne!(got, logits, "the bias changed something");
        assert_eq!((times.steps(), times.unmarked()), (1, 0));
    }

    #[test]
    fn gumbel_leaves_only_the_chosen_token_and_a_repeated_context_alone() {
        let key = Key::from_vllm(9876543210123456789);
        let config = Config::gumbel(Seeding::VllmGumbel(2), 500).unwrap();
        let sampler = Arc::new(GumbelSampler::new(&key, config, Warp::default()).unwrap());
        let wm = Watermarker::Gumbel { sampler: Arc::clone(&sampler) };
        let warp = Warp { temperature: 0.8, top_k: 0, top_p: 1.0 };
        let times = Arc::new(StepTimes::default());
        let req = wm.for_request(warp, 1, Some(Arc::clone(&times))).unwrap();
        let logits = row(500, 2);
        let tensor = Tensor::from_vec(logits.clone(), 500, &Device::Cpu).unwrap();
        // The first step fixes where generation starts; the context is then [prompt.., a, b].
        let prompt = [1u32, 2, 3];
        let out: Vec<f32> = CustomLogitsProcessor::apply(&req, &tensor, &prompt).unwrap().to_vec1().unwrap();
        let finite: Vec<usize> = (0..500).filter(|&i| out[i].is_finite()).collect();
        assert_eq!(finite.len(), 1);
        let mut state = sampler.with_warp(warp).unwrap().create_state(1);
        let want = sampler.with_warp(warp).unwrap().choose(&mut state, &prompt, &logits).unwrap();
        assert_eq!(want, wmark_processor::gumbel::Choice::Token(finite[0] as u32));
        // Two generated tokens, then the same two again: the second use of the context (x, y)
        // is sampled by the engine (logits unchanged).
        let mut ctx = prompt.to_vec();
        ctx.extend([10, 11]);
        let _ = CustomLogitsProcessor::apply(&req, &tensor, &ctx).unwrap();
        ctx.extend([10, 11]);
        let again: Vec<f32> = CustomLogitsProcessor::apply(&req, &tensor, &ctx).unwrap().to_vec1().unwrap();
        assert_eq!(again, logits);
        assert_eq!((times.steps(), times.unmarked()), (3, 1));
    }

    #[test]
    fn a_row_of_the_wrong_width_is_an_error_not_a_panic() {
        let key = Key::from_bytes([1; 32]);
        let config = Config::new(Seeding::LeftHash, 0.25, 2.0, 1000).unwrap();
        let wm = Watermarker::Bias(Arc::new(Processor::new(&key, config)));
        let req = wm.for_request(Warp::default(), 0, None).unwrap();
        let tensor = Tensor::from_vec(row(999, 3), 999, &Device::Cpu).unwrap();
        assert!(CustomLogitsProcessor::apply(&req, &tensor, &[1, 2]).is_err());
    }

    #[test]
    fn a_gumbel_request_with_temperature_zero_is_refused() {
        let key = Key::from_vllm(5);
        let sampler = GumbelSampler::new(&key, Config::gumbel(Seeding::VllmGumbel(2), 500).unwrap(), Warp::default());
        let wm = Watermarker::Gumbel { sampler: Arc::new(sampler.unwrap()) };
        let warp = Warp { temperature: 0.0, top_k: 0, top_p: 1.0 };
        assert!(matches!(wm.for_request(warp, 0, None), Err(e) if e.is_config()));
    }
}
