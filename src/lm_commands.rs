//! `wmark generate` and `wmark demo`: the real model, end to end.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wmark_core::{Config, Key, Seeding};
use wmark_detect::{Detector, Options, TextTokenizer};
use wmark_lm::assets::{cache_dir, ensure_smollm2, ensure_smollm2_tokenizer, smollm2_gguf, SMOLLM2_VOCAB};
use wmark_lm::Watermarking;
use wmark_lm::{Generation, Limits, Model, Sampling};
use wmark_processor::{GumbelSampler, Processor, SynthIdProcessor, Warp};

use crate::fail::{Fail, Result};
use crate::input::Body;
use crate::output;
use crate::settings::{detect_only_message, KeyArgs, SchemeArgs};

/// Options of `wmark generate`.
pub struct GenerateOpts {
    /// One prompt (exactly one of `prompt` and `prompts` is set).
    pub prompt: Option<String>,
    /// A JSON Lines file of prompts, answered one after the other.
    pub prompts: Option<PathBuf>,
    /// Where batch answers go (appended; prompts already answered there are skipped).
    pub out: Option<PathBuf>,
    pub system: Option<String>,
    pub no_watermark: bool,
    pub limits: Limits,
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

/// The watermark of `wmark generate`, owned.
enum Marker {
    Bias(Box<Processor>),
    Gumbel(GumbelSampler),
    SynthId(SynthIdProcessor),
}

impl Marker {
    fn watermarking(&self) -> Watermarking<'_> {
        match self {
            Marker::Bias(p) => Watermarking::Bias(p),
            Marker::Gumbel(g) => Watermarking::Gumbel(g),
            Marker::SynthId(s) => Watermarking::SynthId(s),
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
        let key = &key_list[0];
        if resolved.config.seeding().is_detect_only() {
            return Err(Fail::usage(detect_only_message(resolved.config.seeding())));
        }
        let marker = if resolved.config.seeding().is_gumbel() {
            let sampling = o.sampling;
            let warp = Warp { temperature: sampling.temperature, top_k: sampling.top_k, top_p: sampling.top_p };
            Marker::Gumbel(GumbelSampler::new(key, resolved.config, warp).map_err(|e| Fail::usage(e.to_string()))?)
        } else if resolved.config.seeding().synthid_ngram_len().is_some() {
            let sampling = o.sampling;
            let tournament = SynthIdProcessor::new(key, resolved.config).map_err(|e| Fail::usage(e.to_string()))?;
            let tournament = if sampling.temperature > 0.0 {
                let warp = Warp { temperature: sampling.temperature, top_k: sampling.top_k, top_p: sampling.top_p };
                tournament.with_warp(warp).map_err(|e| Fail::usage(e.to_string()))?
            } else {
                tournament
            };
            Marker::SynthId(tournament)
        } else {
            if key.kind() != wmark_core::KeyKind::V1 {
                return Err(Fail::usage(format!("the scheme {} needs a wmark key", resolved.config.seeding())));
            }
            Marker::Bias(Box::new(Processor::new(key, resolved.config)))
        };
        Some((marker, key.id().to_string()))
    };
    if let Some(path) = &o.prompts {
        // Read and check every prompt before the model is loaded: a bad line fails fast.
        let jobs = read_prompts(path, o.sampling.seed)?;
        let mut model = Model::load(&gguf)?;
        return generate_batch(
            &mut model,
            watermark.as_ref().map(|(m, id)| (m.watermarking(), id.as_str())),
            &jobs,
            &o,
        );
    }
    let prompt = o.prompt.as_deref().ok_or_else(|| Fail::usage("give --prompt TEXT or --prompts FILE.jsonl"))?;
    let mut model = Model::load(&gguf)?;
    let processor = watermark.as_ref().map(|(m, _)| m.watermarking());
    let mut out = std::io::stdout().lock();
    let stream = !o.json;
    let mut write_err: Option<std::io::Error> = None;
    let g = model.generate_with(prompt, o.system.as_deref(), o.limits, o.sampling, processor, |piece| {
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
        let line = answer_json(
            None,
            prompt,
            o.system.as_deref(),
            &g,
            &model,
            watermark.as_ref().map(|(m, id)| (m.watermarking(), id.as_str())),
            &o,
            o.sampling,
        );
        writeln!(out, "{line}")?;
    } else {
        writeln!(out)?;
        eprintln!(
            "{} tokens, {:.1} tokens/s{}",
            g.ids.len(),
            t.tokens_per_second(),
            if processor.is_some() {
                format!(", watermark processor {:.2}% of the step time", 100.0 * t.processor_share())
            } else {
                ", no watermark".into()
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One prompt of a batch.
#[derive(Debug)]
struct Job {
    id: String,
    prompt: String,
    system: Option<String>,
    seed: u64,
}

/// Reads a prompts file: one JSON object per line with `"prompt"` (text), and optionally
/// `"id"` (string or number; default: the line number), `"system"` and `"seed"` (default: the
/// base seed plus the prompt's 0-based position). Blank lines are skipped; ids must be unique.
fn read_prompts(path: &Path, base_seed: u64) -> Result<Vec<Job>> {
    let text = std::fs::read_to_string(path).map_err(|e| Fail::io(path, &e))?;
    let mut jobs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| Fail::usage(format!("{}: not JSON ({e})", at())))?;
        let obj = v
            .as_object()
            .ok_or_else(|| Fail::usage(format!("{}: expected a JSON object with a \"prompt\" field", at())))?;
        let prompt = obj
            .get("prompt")
            .and_then(|p| p.as_str())
            .ok_or_else(|| Fail::usage(format!("{}: missing the text field \"prompt\"", at())))?
            .to_string();
        let id = match obj.get("id") {
            None => (n + 1).to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(x)) => x.to_string(),
            Some(_) => return Err(Fail::usage(format!("{}: \"id\" must be a string or a number", at()))),
        };
        if !seen.insert(id.clone()) {
            return Err(Fail::usage(format!(
                "{}: the id {id:?} is used twice (ids name answers when a run resumes)",
                at()
            )));
        }
        let system = match obj.get("system") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(Fail::usage(format!("{}: \"system\" must be a string", at()))),
        };
        let seed = match obj.get("seed") {
            None => base_seed.wrapping_add(jobs.len() as u64),
            Some(x) => {
                x.as_u64().ok_or_else(|| Fail::usage(format!("{}: \"seed\" must be a non-negative integer", at())))?
            }
        };
        jobs.push(Job { id, prompt, system, seed });
    }
    if jobs.is_empty() {
        return Err(Fail::usage(format!("{}: no prompts", path.display())));
    }
    Ok(jobs)
}

/// The ids already answered in `out`. A last line cut short (the run was killed while
/// writing it) is removed so that the file stays valid JSON Lines; it is answered again.
fn resume(out: &Path) -> Result<std::collections::HashSet<String>> {
    let mut done = std::collections::HashSet::new();
    let bytes = match std::fs::read(out) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(done),
        Err(e) => return Err(Fail::io(out, &e)),
    };
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if complete < bytes.len() {
        eprintln!(
            "wmark: {}: removing an incomplete last line ({} bytes) left by an interrupted run",
            out.display(),
            bytes.len() - complete
        );
        let f = std::fs::OpenOptions::new().write(true).open(out).map_err(|e| Fail::io(out, &e))?;
        f.set_len(complete as u64).map_err(|e| Fail::io(out, &e))?;
    }
    let text =
        std::str::from_utf8(&bytes[..complete]).map_err(|_| Fail::usage(format!("{}: not UTF-8", out.display())))?;
    for (n, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            Fail::usage(format!("{}:{}: not an answer line ({e}); give another --out", out.display(), n + 1))
        })?;
        match v.get("id").and_then(|i| i.as_str()) {
            Some(id) => {
                done.insert(id.to_string());
            }
            None => {
                return Err(Fail::usage(format!(
                    "{}:{}: no \"id\": not written by `wmark generate --prompts`",
                    out.display(),
                    n + 1
                )))
            }
        }
    }
    Ok(done)
}

fn generate_batch(
    model: &mut Model,
    watermark: Option<(Watermarking<'_>, &str)>,
    jobs: &[Job],
    o: &GenerateOpts,
) -> Result<ExitCode> {
    let done = match &o.out {
        Some(p) => resume(p)?,
        None => Default::default(),
    };
    let mut sink: Box<dyn Write> = match &o.out {
        Some(p) => {
            Box::new(std::fs::OpenOptions::new().create(true).append(true).open(p).map_err(|e| Fail::io(p, &e))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let todo: Vec<&Job> = jobs.iter().filter(|j| !done.contains(&j.id)).collect();
    if !done.is_empty() {
        eprintln!(
            "wmark: {} of {} prompts already answered; {} to go",
            jobs.len() - todo.len(),
            jobs.len(),
            todo.len()
        );
    }
    let mut progress = crate::progress::Progress::new(true, "answers");
    for job in &todo {
        let sampling = Sampling { seed: job.seed, ..o.sampling };
        let system = job.system.as_deref().or(o.system.as_deref());
        let g = model.generate_with(&job.prompt, system, o.limits, sampling, watermark.map(|(p, _)| p), |_| {})?;
        let line = answer_json(Some(&job.id), &job.prompt, system, &g, model, watermark, o, sampling);
        // One write per line, flushed: an interrupted run loses at most the answer in progress.
        sink.write_all(format!("{line}\n").as_bytes())?;
        sink.flush()?;
        progress.add(g.ids.len() as u64);
    }
    progress.finish();
    Ok(ExitCode::SUCCESS)
}

/// The version of the answer format of `wmark generate --json` and `--prompts` (one JSON
/// object per answer; docs/report-format.md). Files written before it existed have no
/// `schema_version` field and are read as version 1.
pub const ANSWER_SCHEMA_VERSION: u32 = 1;

/// One answer of `wmark generate` as JSON (`--json`, and each line of a batch).
#[derive(serde::Serialize)]
struct Answer<'a> {
    schema_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    text: &'a str,
    ids: &'a [u32],
    prompt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    watermark: bool,
    key_id: Option<&'a str>,
    scheme: Option<String>,
    gamma: Option<f64>,
    delta: Option<f32>,
    vocab_size: usize,
    max_tokens: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_tokens: Option<usize>,
    seed: u64,
    temperature: f64,
    top_p: f64,
    top_k: usize,
    /// `endoftext` (the model ended its answer) or `length`.
    stop: &'static str,
    tokens_per_second: f64,
    processor_share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprob: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entropy: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spike_entropy: Option<Vec<f64>>,
}

/// The JSON object of one answer (`--json`, and each line of a batch).
#[allow(clippy::too_many_arguments)]
fn answer_json(
    id: Option<&str>,
    prompt: &str,
    system: Option<&str>,
    g: &Generation,
    model: &Model,
    watermark: Option<(Watermarking<'_>, &str)>,
    o: &GenerateOpts,
    sampling: Sampling,
) -> serde_json::Value {
    let cfg = watermark.map(|(w, _)| *w.config());
    let t = g.timings;
    let col = |f: fn(&wmark_lm::StepStats) -> f32| {
        o.limits.record.then(|| g.steps.iter().map(|s| round4(f(s))).collect::<Vec<_>>())
    };
    let answer = Answer {
        schema_version: ANSWER_SCHEMA_VERSION,
        id,
        text: &g.text,
        ids: &g.ids,
        prompt,
        system,
        watermark: watermark.is_some(),
        key_id: watermark.map(|(_, id)| id),
        scheme: cfg.map(|c| c.seeding().to_string()),
        // The Gumbel-max schemes and SynthID-Text have no green list: no γ, no δ.
        gamma: cfg.filter(has_green_list).map(|c| c.gamma_effective()),
        delta: cfg.filter(has_green_list).map(|c| c.delta()),
        vocab_size: model.vocab_size(),
        max_tokens: o.limits.max_tokens,
        min_tokens: (o.limits.min_tokens > 0).then_some(o.limits.min_tokens),
        seed: sampling.seed,
        temperature: shortest(sampling.temperature),
        top_p: shortest(sampling.top_p),
        top_k: sampling.top_k,
        stop: match g.stop {
            wmark_lm::Stop::EndOfText => "endoftext",
            wmark_lm::Stop::Length => "length",
        },
        tokens_per_second: t.tokens_per_second(),
        processor_share: t.processor_share(),
        logprob: col(|s| s.logprob),
        entropy: col(|s| s.entropy),
        spike_entropy: if watermark.is_some() { col(|s| s.spike_entropy) } else { None },
    };
    serde_json::to_value(&answer).expect("answers serialise")
}

fn has_green_list(c: &wmark_core::Config) -> bool {
    !c.seeding().is_gumbel() && c.seeding().synthid_ngram_len().is_none()
}

/// Four decimals are plenty for per-step statistics and keep the data files small.
fn round4(x: f32) -> f64 {
    (f64::from(x) * 1e4).round() / 1e4
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
    let detector =
        Detector::new(std::slice::from_ref(&key), config, Options { token_flags: true, ..Options::default() })?
            .with_tokenizer(tokenizer)?;
    let color = output::colors_enabled();
    let mut out = std::io::stdout().lock();
    writeln!(out, "wmark demo: SmolLM2-135M-Instruct, lefthash, γ = 0.25, δ = 2, a fresh key ({}); {max_tokens} tokens per answer, temperature 0.7", key.id())?;
    writeln!(
        out,
        "green tokens are {}, red ones {}; the detector sees only the text and the key.\n",
        if color { "\x1b[1;32mgreen\x1b[0m" } else { "[in brackets]" },
        if color { "\x1b[31mred\x1b[0m" } else { "plain" }
    )?;
    let sampling = Sampling { temperature: 0.7, top_k: 0, top_p: 1.0, seed };
    let mut shares = Vec::new();
    let mut rates = Vec::new();
    for (i, prompt) in DEMO_PROMPTS.iter().enumerate() {
        writeln!(out, "── prompt {}: {prompt}", i + 1)?;
        for watermarked in [true, false] {
            let g = model.generate(
                prompt,
                None,
                max_tokens,
                sampling,
                watermarked.then_some(Watermarking::Bias(&processor)),
                |_| {},
            )?;
            rates.push(g.timings.tokens_per_second());
            if watermarked {
                shares.push(g.timings.processor_share());
            }
            let r = detector.detect_text(&g.text, None)?;
            writeln!(
                out,
                "{}",
                output::summary(if watermarked { "with watermark   " } else { "without watermark" }, &r)
            )?;
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
