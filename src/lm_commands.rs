//! `wmark generate` and `wmark demo`: the real model, end to end.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wmark_core::{Config, Key, Seeding};
use wmark_detect::{Detector, Options, TextTokenizer};
use wmark_lm::assets::{cache_dir, ensure_smollm2, ensure_smollm2_tokenizer, smollm2_gguf, SMOLLM2_VOCAB};
use wmark_lm::{Model, Sampling};
use wmark_processor::Processor;

use crate::fail::{Fail, Result};
use crate::input::Body;
use crate::output;
use crate::settings::{KeyArgs, SchemeArgs};

/// Options of `wmark generate`.
pub struct GenerateOpts {
    pub prompt: String,
    pub system: Option<String>,
    pub no_watermark: bool,
    pub max_tokens: usize,
    pub sampling: Sampling,
    pub json: bool,
    pub model: Option<PathBuf>,
}

fn model_path(given: Option<&Path>) -> Result<PathBuf> {
    match given {
        Some(p) => Ok(p.to_path_buf()),
        None => {
            let p = smollm2_gguf(&cache_dir());
            if !p.exists() {
                return Err(Fail::usage(format!("{} is missing: run scripts/fetch-assets or `wmark demo` (which fetches it), or give --model FILE.gguf", p.display())));
            }
            Ok(p)
        }
    }
}

/// `wmark generate`.
pub fn generate(keys: &KeyArgs, scheme: &SchemeArgs, o: GenerateOpts) -> Result<ExitCode> {
    let gguf = model_path(o.model.as_deref())?;
    let watermark = if o.no_watermark {
        None
    } else {
        let mut s = scheme.clone();
        if s.config.is_none() && s.vocab_size.is_none() && s.tokenizer.is_none() {
            s.vocab_size = Some(SMOLLM2_VOCAB);
        }
        let resolved = s.resolve(false)?;
        let key_list = keys.load_checked(&resolved)?;
        if key_list.len() != 1 {
            return Err(Fail::usage("generate watermarks with exactly one key (--key FILE)"));
        }
        Some((Processor::new(&key_list[0], resolved.config), key_list[0].id().to_string()))
    };
    let mut model = Model::load(&gguf)?;
    let processor = watermark.as_ref().map(|(p, _)| p);
    let mut out = std::io::stdout().lock();
    let stream = !o.json;
    let mut write_err: Option<std::io::Error> = None;
    let g = model.generate(&o.prompt, o.system.as_deref(), o.max_tokens, o.sampling, processor, |piece| {
        if stream && write_err.is_none() {
            if let Err(e) = out.write_all(piece.as_bytes()).and_then(|_| out.flush()) {
                write_err = Some(e);
            }
        }
    })?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    let t = g.timings;
    if o.json {
        let cfg = processor.map(|p| *p.config());
        let line = serde_json::json!({
            "text": g.text,
            "ids": g.ids,
            "prompt": o.prompt,
            "watermark": processor.is_some(),
            "key_id": watermark.as_ref().map(|(_, id)| id.clone()),
            "scheme": cfg.map(|c| c.seeding().to_string()),
            "gamma": cfg.map(|c| c.gamma_effective()),
            "delta": cfg.map(|c| c.delta()),
            "vocab_size": model.vocab_size(),
            "max_tokens": o.max_tokens,
            "seed": o.sampling.seed,
            "temperature": shortest(o.sampling.temperature),
            "top_p": shortest(o.sampling.top_p),
            "top_k": o.sampling.top_k,
            "stop": format!("{:?}", g.stop).to_lowercase(),
            "tokens_per_second": t.tokens_per_second(),
            "processor_share": t.processor_share(),
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(out)?;
        eprintln!(
            "{} tokens, {:.1} tokens/s{}",
            g.ids.len(),
            t.tokens_per_second(),
            if processor.is_some() { format!(", watermark processor {:.2}% of the step time", 100.0 * t.processor_share()) } else { ", no watermark".into() }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// An f32 parameter as the f64 with the same shortest decimal form (0.7, not 0.699999988).
fn shortest(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// The demo's prompts: open-ended stories, so that the model has choices to make (a
/// factual answer leaves a small model few choices, and carries less watermark per token).
pub const DEMO_PROMPTS: [&str; 3] = [
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Tell me a story about a robot who learns to paint.",
    "Write a short story about a dragon who is afraid of fire.",
];

/// `wmark demo`: fetch the model if needed, answer a few prompts with and without the
/// watermark, and detect each answer.
pub fn demo(max_tokens: usize, seed: u64) -> Result<ExitCode> {
    let cache = cache_dir();
    let gguf = ensure_smollm2(&cache)?;
    let tokenizer_path = ensure_smollm2_tokenizer(&cache)?;
    let mut model = Model::load(&gguf)?;
    let key = Key::generate()?;
    let config = Config::new(Seeding::LeftHash, 0.25, 2.0, SMOLLM2_VOCAB)?;
    let processor = Processor::new(&key, config);
    let tokenizer = TextTokenizer::from_file(&tokenizer_path)?;
    let detector = Detector::new(std::slice::from_ref(&key), config, Options { token_flags: true, ..Options::default() })?.with_tokenizer(tokenizer)?;
    let color = output::colors_enabled();
    let mut out = std::io::stdout().lock();
    writeln!(out, "wmark demo: SmolLM2-135M-Instruct, lefthash, γ = 0.25, δ = 2, a fresh key ({}); {max_tokens} tokens per answer, temperature 0.7", key.id())?;
    writeln!(out, "green tokens are {}, red ones {}; the detector sees only the text and the key.\n", if color { "\x1b[1;32mgreen\x1b[0m" } else { "[in brackets]" }, if color { "\x1b[31mred\x1b[0m" } else { "plain" })?;
    let sampling = Sampling { temperature: 0.7, top_k: 0, top_p: 1.0, seed };
    let mut shares = Vec::new();
    let mut rates = Vec::new();
    for (i, prompt) in DEMO_PROMPTS.iter().enumerate() {
        writeln!(out, "── prompt {}: {prompt}", i + 1)?;
        for watermarked in [true, false] {
            let g = model.generate(prompt, None, max_tokens, sampling, watermarked.then_some(&processor), |_| {})?;
            rates.push(g.timings.tokens_per_second());
            if watermarked {
                shares.push(g.timings.processor_share());
            }
            let r = detector.detect_text(&g.text, None)?;
            writeln!(out, "{}", output::summary(if watermarked { "with watermark   " } else { "without watermark" }, &r))?;
            output::highlight(&mut out, &Body::Text(g.text.clone()), &r, color)?;
            writeln!(out)?;
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    writeln!(
        out,
        "generation: {:.1} tokens/s on average; the watermark processor took {:.2}% of the decoding step time",
        mean(&rates),
        100.0 * mean(&shares)
    )?;
    Ok(ExitCode::SUCCESS)
}
