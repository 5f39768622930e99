//! SmolLM2 (a Llama-architecture model in a GGUF file) in candle, generating with or without
//! the watermark.

use std::path::Path;
use std::time::{Duration, Instant};

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use tokenizers::Tokenizer;
use wmark_processor::Processor;

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
}

impl Model {
    /// Loads a GGUF model (Llama architecture) on the CPU.
    pub fn load(gguf: &Path) -> Result<Model, Error> {
        let mut f = std::fs::File::open(gguf).map_err(|e| Error::new(format!("{}: {e}", gguf.display())))?;
        let content = gguf_file::Content::read(&mut f).map_err(|e| Error::new(format!("{}: not a GGUF file ({e})", gguf.display())))?;
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
        processor: Option<&Processor>,
        mut on_text: impl FnMut(&str),
    ) -> Result<Generation, Error> {
        if let Some(p) = processor {
            let v = p.config().vocab_size() as usize;
            if v != self.vocab {
                return Err(Error::new(format!("the watermark is configured for vocab_size {v} but the model's logits have {}", self.vocab)));
            }
        }
        let prompt_ids = self.encode(&Self::chat_prompt(system, user))?;
        let mut cache = processor.map(|p| p.create_cache());
        let mut sampler = Sampler::new(sampling);
        let mut timings = Timings::default();
        let mut context = prompt_ids.clone();
        let mut ids = Vec::new();
        let mut shown = 0usize;
        let t0 = Instant::now();
        let mut logits = self.logits(&prompt_ids, 0)?;
        timings.prompt = t0.elapsed();
        let mut stop = Stop::Length;
        let steps_start = Instant::now();
        for _ in 0..max_tokens {
            if logits.len() != self.vocab {
                return Err(Error::new(format!("the model returned {} logits for a vocabulary of {}", logits.len(), self.vocab)));
            }
            if let (Some(p), Some(c)) = (processor, cache.as_mut()) {
                let t = Instant::now();
                p.apply(c, &context, &mut logits).map_err(|e| Error::new(e.to_string()))?;
                timings.processor += t.elapsed();
            }
            let next = sampler.sample(&logits);
            timings.n_steps += 1;
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
        Ok(Generation { prompt_ids, ids, text, stop, timings })
    }
}
