//! SmolLM2 (a Llama-architecture model in a GGUF file) in candle, generating with or without
//! the watermark.

use std::path::Path;
use std::time::{Duration, Instant};

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use tokenizers::Tokenizer;
use wmark_processor::{GumbelSampler, Processor, SynthIdProcessor};

/// The watermark a generation carries: a green-list bias, or Gumbel-max sampling.
#[derive(Clone, Copy, Debug)]
pub enum Watermarking<'a> {
    /// Adds δ to green logits before the sampler.
    Bias(&'a Processor),
    /// Chooses the token by Gumbel-max (the sampler then takes the forced token; a repeated
    /// context is sampled by the sampler alone).
    Gumbel(&'a GumbelSampler),
    /// SynthID-Text's tournament: replaces the logits by the tournament's log-probabilities
    /// of the warped logits (the processor must carry the generation's warp, see
    /// `SynthIdProcessor::with_warp`); the sampler then draws at temperature 1, untruncated.
    SynthId(&'a SynthIdProcessor),
}

impl<'a> From<&'a Processor> for Watermarking<'a> {
    fn from(p: &'a Processor) -> Watermarking<'a> {
        Watermarking::Bias(p)
    }
}

impl<'a> From<&'a GumbelSampler> for Watermarking<'a> {
    fn from(g: &'a GumbelSampler) -> Watermarking<'a> {
        Watermarking::Gumbel(g)
    }
}

impl Watermarking<'_> {
    /// The watermark's configuration.
    pub fn config(&self) -> &wmark_core::Config {
        match self {
            Watermarking::Bias(p) => p.config(),
            Watermarking::Gumbel(g) => g.config(),
            Watermarking::SynthId(s) => s.config(),
        }
    }
}

use crate::error::Error;
use crate::gguf_tokenizer;
use crate::sample::{Sampler, Sampling};

/// SmolLM2-Instruct's default system prompt (from its chat template).
pub const DEFAULT_SYSTEM: &str = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// A loaded model and its tokenizer.
pub struct Model {
    weights: ModelWeights,
    tokenizer: Tokenizer,
    vocab: usize,
    stop: Vec<u32>,
    device: Device,
}

/// Why generation stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The model ended its answer.
    EndOfText,
    /// `max_tokens` were generated.
    Length,
}

/// Time spent, for the processor's share of a decoding step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Reading the prompt.
    pub prompt: Duration,
    /// Every decoding step, model + processor + sampling.
    pub steps: Duration,
    /// The watermark processor alone.
    pub processor: Duration,
    /// Decoding steps taken.
    pub n_steps: usize,
}

impl Timings {
    /// Generated tokens per second over the decoding steps.
    pub fn tokens_per_second(&self) -> f64 {
        self.n_steps as f64 / self.steps.as_secs_f64().max(1e-9)
    }

    /// The processor's share of the decoding steps' time.
    pub fn processor_share(&self) -> f64 {
        self.processor.as_secs_f64() / self.steps.as_secs_f64().max(1e-9)
    }
}

/// What one decoding step looked like before the watermark, for evaluation (recorded when
/// [`Limits::record`] is set).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepStats {
    /// Natural-log probability of the chosen token under the model itself (raw logits,
    /// temperature 1, no watermark; the end tokens excluded while a minimum length is
    /// unmet): summed over an answer it gives the answer's perplexity.
    pub logprob: f32,
    /// Shannon entropy (nats) of the sampling distribution before the watermark
    /// (softmax of logits / T).
    pub entropy: f32,
    /// Spike entropy Σ p/(1 + z p) of that distribution, with the modulus
    /// z = (1 − γ)(α − 1)/(1 + (α − 1)γ), α = exp(δ/T), of the watermark in use
    /// (Kirchenbauer et al. 2023, Definition 4.1); NaN without a watermark.
    pub spike_entropy: f32,
}

/// How long an answer may and must be, and whether to record [`StepStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// The end-of-answer tokens are forbidden until this many tokens exist (0: never). Used
    /// by evaluations that need answers of a fixed length.
    pub min_tokens: usize,
    /// Record per-step statistics.
    pub record: bool,
}

impl Limits {
    /// At most `max_tokens`, no minimum, nothing recorded.
    pub fn max(max_tokens: usize) -> Limits {
        Limits { max_tokens, min_tokens: 0, record: false }
    }
}

/// One generated answer.
#[derive(Clone, Debug)]
pub struct Generation {
    /// The prompt as the model saw it (chat template applied), as ids.
    pub prompt_ids: Vec<u32>,
    /// The generated ids (the stop token excluded).
    pub ids: Vec<u32>,
    /// The generated text.
    pub text: String,
    /// Why it stopped.
    pub stop: Stop,
    /// Where the time went.
    pub timings: Timings,
    /// One entry per generated token when [`Limits::record`] was set, else empty.
    pub steps: Vec<StepStats>,
}

/// The statistics of one step, from the raw logits (before the watermark).
fn step_stats(raw: &[f32], chosen: u32, temperature: f32, z: Option<f64>) -> StepStats {
    let t = if temperature > 0.0 { f64::from(temperature) } else { 1.0 };
    let max = raw.iter().copied().filter(|l| l.is_finite()).fold(f32::NEG_INFINITY, f32::max);
    let (mut sum1, mut sum_t) = (0f64, 0f64);
    for &l in raw.iter().filter(|l| l.is_finite()) {
        let d = f64::from(l - max);
        sum1 += d.exp();
        sum_t += (d / t).exp();
    }
    let (mut entropy, mut spike) = (0f64, 0f64);
    for &l in raw.iter().filter(|l| l.is_finite()) {
        let p = (f64::from(l - max) / t).exp() / sum_t;
        if p > 0.0 {
            entropy -= p * p.ln();
        }
        if let Some(z) = z {
            spike += p / (1.0 + z * p);
        }
    }
    let logprob = f64::from(raw[chosen as usize] - max) - sum1.ln();
    StepStats {
        logprob: logprob as f32,
        entropy: entropy as f32,
        spike_entropy: if z.is_some() { spike as f32 } else { f32::NAN },
    }
}

impl Model {
    /// Loads a GGUF model (Llama architecture) on the CPU.
    pub fn load(gguf: &Path) -> Result<Model, Error> {
        let mut f = std::fs::File::open(gguf).map_err(|e| Error::new(format!("{}: {e}", gguf.display())))?;
        let content = gguf_file::Content::read(&mut f)
            .map_err(|e| Error::new(format!("{}: not a GGUF file ({e})", gguf.display())))?;
        let tok = gguf_tokenizer::from_metadata(&content.metadata)?;
        let vocab = tok.tokenizer.get_vocab_size(true);
        let mut stop: Vec<u32> = tok.eos_id.into_iter().collect();
        for name in ["<|im_end|>", "<|endoftext|>"] {
            if let Some(id) = tok.tokenizer.token_to_id(name) {
                if !stop.contains(&id) {
                    stop.push(id);
                }
            }
        }
        let device = Device::Cpu;
        let weights = ModelWeights::from_gguf(content, &mut f, &device)?;
        Ok(Model { weights, tokenizer: tok.tokenizer, vocab, stop, device })
    }

    /// The tokenizer the model generates with.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The logits width.
    pub fn vocab_size(&self) -> usize {
        self.vocab
    }

    /// The chat template of SmolLM2-Instruct (ChatML) around one user message.
    pub fn chat_prompt(system: Option<&str>, user: &str) -> String {
        let system = system.unwrap_or(DEFAULT_SYSTEM);
        format!("<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")
    }

    /// Encodes a templated prompt (special tokens recognised).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, Error> {
        Ok(self.tokenizer.encode(text, false).map_err(|e| Error::new(format!("tokenizer: {e}")))?.get_ids().to_vec())
    }

    /// Decodes ids (special tokens skipped).
    pub fn decode(&self, ids: &[u32]) -> Result<String, Error> {
        self.tokenizer.decode(ids, true).map_err(|e| Error::new(format!("tokenizer: {e}")))
    }

    fn logits(&mut self, input: &[u32], pos: usize) -> Result<Vec<f32>, Error> {
        let x = Tensor::new(input, &self.device)?.unsqueeze(0)?;
        let out = self.weights.forward(&x, pos)?;
        Ok(out.squeeze(0)?.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?)
    }

    /// Generates an answer to `user` (wrapped in the chat template).
    ///
    /// The watermark, when a processor is given, is applied on every step to the raw logits,
    /// *before* temperature, top-k and top-p: the same place as Hugging Face's logits
    /// processors. The green tokens then gain δ/T in log-probability at temperature T, and
    /// the warpers choose among candidates that already carry the bias, so the nucleus
    /// cannot drop the green mass that the bias created. `on_text` receives the answer as it
    /// grows (only at UTF-8 boundaries).
    pub fn generate(
        &mut self,
        user: &str,
        system: Option<&str>,
        max_tokens: usize,
        sampling: Sampling,
        processor: Option<Watermarking<'_>>,
        on_text: impl FnMut(&str),
    ) -> Result<Generation, Error> {
        self.generate_with(user, system, Limits::max(max_tokens), sampling, processor, on_text)
    }

    /// [`Model::generate`] with a minimum length and optional per-step statistics.
    pub fn generate_with(
        &mut self,
        user: &str,
        system: Option<&str>,
        limits: Limits,
        sampling: Sampling,
        processor: Option<Watermarking<'_>>,
        mut on_text: impl FnMut(&str),
    ) -> Result<Generation, Error> {
        let max_tokens = limits.max_tokens;
        if let Some(p) = processor {
            let v = p.config().vocab_size() as usize;
            if v != self.vocab {
                return Err(Error::new(format!(
                    "the watermark is configured for vocab_size {v} but the model's logits have {}",
                    self.vocab
                )));
            }
        }
        let prompt_ids = self.encode(&Self::chat_prompt(system, user))?;
        let mut cache = match processor {
            Some(Watermarking::Bias(p)) => Some(p.create_cache()),
            _ => None,
        };
        let mut gumbel_state = match processor {
            Some(Watermarking::Gumbel(g)) => Some(g.create_state(sampling.seed)),
            _ => None,
        };
        let mut synthid_state = match processor {
            Some(Watermarking::SynthId(s)) => Some(s.create_state()),
            _ => None,
        };
        // SynthID-Text's processor warps the logits itself (as transformers' warpers run before
        // it); its output is then drawn from as it is.
        let mut sampler = match processor {
            Some(Watermarking::SynthId(_)) if sampling.temperature > 0.0 => {
                Sampler::new(Sampling { temperature: 1.0, top_k: 0, top_p: 1.0, ..sampling })
            }
            _ => Sampler::new(sampling),
        };
        let mut timings = Timings::default();
        let mut context = prompt_ids.clone();
        let mut ids = Vec::new();
        let mut shown = 0usize;
        let t0 = Instant::now();
        let mut logits = self.logits(&prompt_ids, 0)?;
        timings.prompt = t0.elapsed();
        let mut stop = Stop::Length;
        let mut steps = Vec::new();
        let mut raw = Vec::new();
        let z = processor.filter(|_| limits.record).and_then(|p| match p {
            Watermarking::Bias(p) => Some(p),
            Watermarking::Gumbel(_) | Watermarking::SynthId(_) => None,
        });
        let z = z.map(|p| {
            let c = p.config();
            let t = if sampling.temperature > 0.0 { f64::from(sampling.temperature) } else { 1.0 };
            let alpha = (f64::from(c.delta()) / t).exp();
            let g = c.gamma_effective();
            (1.0 - g) * (alpha - 1.0) / (1.0 + (alpha - 1.0) * g)
        });
        let steps_start = Instant::now();
        for _ in 0..max_tokens {
            if logits.len() != self.vocab {
                return Err(Error::new(format!(
                    "the model returned {} logits for a vocabulary of {}",
                    logits.len(),
                    self.vocab
                )));
            }
            if ids.len() < limits.min_tokens {
                for &s in &self.stop {
                    logits[s as usize] = f32::NEG_INFINITY;
                }
            }
            if limits.record {
                raw.clear();
                raw.extend_from_slice(&logits);
            }
            match (processor, cache.as_mut(), gumbel_state.as_mut()) {
                (Some(Watermarking::Bias(p)), Some(c), _) => {
                    let t = Instant::now();
                    p.apply(c, &context, &mut logits).map_err(|e| Error::new(e.to_string()))?;
                    timings.processor += t.elapsed();
                }
                (Some(Watermarking::Gumbel(g)), _, Some(state)) => {
                    let t = Instant::now();
                    g.apply(state, &context, &mut logits).map_err(|e| Error::new(e.to_string()))?;
                    timings.processor += t.elapsed();
                }
                (Some(Watermarking::SynthId(s)), _, _) => {
                    let t = Instant::now();
                    let state = synthid_state.as_mut().expect("made with the processor");
                    s.apply(state, &context, &mut logits).map_err(|e| Error::new(e.to_string()))?;
                    timings.processor += t.elapsed();
                }
                _ => {}
            }
            let next = sampler.sample(&logits);
            timings.n_steps += 1;
            if limits.record && !self.stop.contains(&next) {
                steps.push(step_stats(&raw, next, sampling.temperature, z));
            }
            if self.stop.contains(&next) {
                stop = Stop::EndOfText;
                break;
            }
            ids.push(next);
            context.push(next);
            let text = self.decode(&ids)?;
            if !text.ends_with('\u{fffd}') && text.len() > shown {
                on_text(&text[shown..]);
                shown = text.len();
            }
            if ids.len() == max_tokens {
                break;
            }
            logits = self.logits(&[next], context.len() - 1)?;
        }
        timings.steps = steps_start.elapsed();
        let text = self.decode(&ids)?;
        if text.len() > shown {
            on_text(&text[shown..]);
        }
        Ok(Generation { prompt_ids, ids, text, stop, timings, steps })
    }
}
