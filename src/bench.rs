//! The processor's speed measurements: one definition shared by `wmark bench` and the
//! criterion bench (`benches/processor.rs`), so both measure the same work.

use std::time::{Duration, Instant};

use ndarray::Array2;
use wmark_core::{Config, Key, Seeding};
use wmark_processor::{
    BatchCache, Choice, GumbelSampler, GumbelState, Processor, SynthIdProcessor, SynthIdState, SynthIdStep, Warp,
};

/// The vocabulary sizes measured: Llama 2 / Mistral, Llama 3, Qwen 2, Gemma 3.
pub const VOCABS: [u32; 4] = [32_000, 128_256, 151_936, 262_144];
/// Batch sizes measured.
pub const BATCHES: [usize; 2] = [1, 8];
/// Seeding rules measured.
pub const SCHEMES: [Seeding; 4] = [Seeding::LeftHash, Seeding::MinHash(4), Seeding::SelfHash(4), Seeding::Unigram];
/// Gumbel-max schemes measured (batch 1): the sampler's choice, on logits shaped like a
/// model's (Zipf: `10 − 2.5·ln(1 + rank)`, about 30 nats from best to worst).
pub const GUMBEL_SCHEMES: [Seeding; 2] = [Seeding::Gumbel(4), Seeding::VllmGumbel(4)];
/// SynthID-Text measured (batch 1, exact mode): transformers' tournament with the paper's 30
/// layers and `ngram_len` 5, on the same model-shaped logits.
pub const SYNTHID_SCHEME: Seeding = Seeding::HfSynthId(5);
/// The tournament layers of the SynthID-Text workload.
pub const SYNTHID_LAYERS: usize = 30;
/// Finite logits per row in candidate mode.
pub const FINITE: usize = 50;

/// What one step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Exact mode on a context never seen before (the streaming path, no mask cache).
    ExactCold,
    /// Exact mode on a context whose green mask is in the cache.
    ExactWarm,
    /// Candidate mode after a top-k warper: only [`FINITE`] logits are finite.
    Finite,
    /// The reference: add δ to every logit, one pass over memory.
    MemoryPass,
}

impl Mode {
    /// The name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Mode::ExactCold => "exact-cold",
            Mode::ExactWarm => "exact-warm",
            Mode::Finite => "finite-50",
            Mode::MemoryPass => "memory-pass",
        }
    }
}

/// One measured configuration, ready to step.
pub struct Workload {
    processor: Processor,
    /// For the Gumbel-max schemes: the sampler and the state of the one row.
    gumbel: Option<(GumbelSampler, GumbelState)>,
    /// For SynthID-Text: the processor, its state and the row it transforms each step.
    synthid: Option<(SynthIdProcessor, SynthIdState, Vec<f32>)>,
    mode: Mode,
    caches: BatchCache,
    logits: Array2<f32>,
    contexts: Vec<[u32; 4]>,
    counter: u32,
}

impl Workload {
    /// Builds the processor, the logits rows and the caches (warmed for [`Mode::ExactWarm`]).
    pub fn new(seeding: Seeding, vocab: u32, batch: usize, mode: Mode) -> Workload {
        let key = Key::from_bytes([0x42; 32]);
        let synthid_scheme = seeding.synthid_ngram_len().is_some();
        let green = if seeding.is_gumbel() || synthid_scheme { Seeding::LeftHash } else { seeding };
        let config = Config::new(green, 0.25, 2.0, vocab).expect("valid benchmark config");
        let cache_bytes = if mode == Mode::ExactWarm { 64 << 20 } else { 0 };
        let processor = Processor::builder().mask_cache_bytes(cache_bytes).build(&key, config);
        let gumbel = seeding.is_gumbel().then(|| {
            let key = if seeding.vllm_width().is_some() { Key::from_vllm(0x42) } else { key.clone() };
            let config = Config::gumbel(seeding, vocab).expect("valid benchmark config");
            let sampler = GumbelSampler::new(&key, config, Warp::default()).expect("valid sampler");
            let state = sampler.create_state(0);
            (sampler, state)
        });
        let synthid = synthid_scheme.then(|| {
            let layers: Vec<i64> = (0..SYNTHID_LAYERS as i64).map(|i| 0x2545_f491 * (i + 1)).collect();
            let config = Config::synthid(seeding, vocab, wmark_core::DEFAULT_SYNTHID_TABLE_SIZE, 0)
                .expect("valid benchmark config");
            let processor = SynthIdProcessor::new(&Key::from_synthid(&layers).expect("30 layers"), config)
                .expect("valid benchmark processor");
            let state = processor.create_state();
            (processor, state, Vec::new())
        });
        let modelled = gumbel.is_some() || synthid.is_some();
        let v = vocab as usize;
        let stride = v / FINITE;
        let logits = Array2::from_shape_fn((batch, v), |(r, c)| match mode {
            Mode::Finite if c % stride != r % stride => f32::NEG_INFINITY,
            // A model's spread: the rank of id c is a fixed permutation of the ids.
            _ if modelled => 10.0 - 2.5 * ((c as u64 * 2_654_435_761 % vocab as u64) as f32 + 1.0).ln(),
            _ => ((c as u64 * 2_654_435_761 + r as u64) % 10_007) as f32 / 1_000.0,
        });
        let contexts = (0..batch as u32).map(|r| [r, 1_000 + r, 2_000 + r, 3_000 + r]).collect();
        let mut w =
            Workload { processor, gumbel, synthid, mode, caches: BatchCache::new(), logits, contexts, counter: 0 };
        if mode == Mode::ExactWarm {
            w.step();
        }
        w
    }

    /// One decoding step over the whole batch.
    pub fn step(&mut self) {
        if self.mode == Mode::MemoryPass {
            let delta = self.processor.config().delta();
            self.logits.iter_mut().for_each(|l| *l += delta);
            return;
        }
        if self.mode != Mode::ExactWarm {
            // A new last token on every row: contexts never seen before.
            self.counter = self.counter.wrapping_add(1);
            for ctx in &mut self.contexts {
                ctx[3] = ctx[3].wrapping_add(self.counter) % 50_000;
            }
        }
        if let Some((sampler, state)) = &mut self.gumbel {
            // A new sequence per step, so that no context is a repeat.
            state.reset();
            let row = self.logits.row(0);
            let choice = sampler.choose(state, &self.contexts[0], row.as_slice().expect("contiguous rows"));
            assert!(matches!(choice, Ok(Choice::Token(_))), "the benchmark row has candidates");
            return;
        }
        if let Some((processor, state, row)) = &mut self.synthid {
            // A new sequence per step (no context is a repeat), on a fresh copy of the row.
            state.reset();
            row.clear();
            row.extend_from_slice(self.logits.row(0).as_slice().expect("contiguous rows"));
            let step = processor.apply(state, &self.contexts[0], row);
            assert!(matches!(step, Ok(SynthIdStep::Applied)), "the benchmark row has candidates");
            return;
        }
        let refs: Vec<&[u32]> = self.contexts.iter().map(|c| &c[..]).collect();
        let result = match self.mode {
            Mode::Finite => self.processor.apply_batch_finite(&mut self.caches, &refs, self.logits.view_mut()),
            _ => self.processor.apply_batch(&mut self.caches, &refs, self.logits.view_mut()),
        };
        result.expect("benchmark shapes are consistent");
    }
}

/// Every measured (scheme, vocab, batch, mode), the memory pass once per (vocab, batch).
pub fn plan() -> Vec<(Option<Seeding>, u32, usize, Mode)> {
    let mut out = Vec::new();
    for &vocab in &VOCABS {
        for &batch in &BATCHES {
            out.push((None, vocab, batch, Mode::MemoryPass));
            for &s in &SCHEMES {
                for mode in [Mode::ExactCold, Mode::ExactWarm, Mode::Finite] {
                    out.push((Some(s), vocab, batch, mode));
                }
            }
            if batch == 1 {
                for &s in &GUMBEL_SCHEMES {
                    for mode in [Mode::ExactCold, Mode::Finite] {
                        out.push((Some(s), vocab, batch, mode));
                    }
                }
                for mode in [Mode::ExactCold, Mode::Finite] {
                    out.push((Some(SYNTHID_SCHEME), vocab, batch, mode));
                }
            }
        }
    }
    out
}

/// The median time of one step, from `samples` timed runs of equal length filling about
/// `budget` in all.
pub fn median_step(workload: &mut Workload, budget: Duration, samples: usize) -> Duration {
    // Calibrate: how many steps fit in one sample.
    let start = Instant::now();
    workload.step();
    let one = start.elapsed().max(Duration::from_nanos(50));
    let per_sample = budget / samples.max(1) as u32;
    let iters = (per_sample.as_nanos() / one.as_nanos()).clamp(1, 1_000_000) as u32;
    let mut times: Vec<Duration> = (0..samples.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                workload.step();
            }
            t.elapsed() / iters
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// The version of `wmark bench --json`'s line format (docs/report-format.md).
pub const BENCH_SCHEMA_VERSION: u32 = 1;

/// One line of `wmark bench --json`: one measured workload.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchRow {
    /// [`BENCH_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `processor_step`, or `memory_pass` for the reference.
    pub op: &'static str,
    /// The seeding rule; null for the memory pass.
    pub scheme: Option<String>,
    /// Vocabulary size (logits per row).
    pub vocab: u32,
    /// Rows per step.
    pub batch: usize,
    /// [`Mode::name`].
    pub mode: &'static str,
    /// Median wall time of one step, in nanoseconds.
    pub median_ns: u64,
    /// The median over the memory pass's median at the same vocabulary and batch.
    pub ratio_to_memory_pass: f64,
}

/// `wmark bench`: measures every workload of [`plan`] within about `seconds` and writes a
/// table, or with `json` one [`BenchRow`] per line.
pub fn report(out: &mut impl std::io::Write, json: bool, seconds: f64) -> crate::fail::Result<std::process::ExitCode> {
    let plan = plan();
    let budget = Duration::from_secs_f64(seconds * 0.85 / plan.len() as f64);
    let started = Instant::now();
    if !json {
        writeln!(
            out,
            "wmark {} processor speed, one decoding step (median of 9 runs; ratio = step / one pass adding δ to every logit)",
            env!("CARGO_PKG_VERSION")
        )?;
        writeln!(out, "threads available to batches: {}", rayon::current_num_threads())?;
        writeln!(out, "{:<14} {:>8} {:>5} {:<12} {:>12} {:>8}", "scheme", "vocab", "batch", "mode", "median", "ratio")?;
    }
    let mut reference = Duration::ZERO;
    for (seeding, vocab, batch, mode) in plan {
        let mut w = Workload::new(seeding.unwrap_or(Seeding::LeftHash), vocab, batch, mode);
        let median = median_step(&mut w, budget, 9);
        if mode == Mode::MemoryPass {
            reference = median;
        }
        let ratio = median.as_secs_f64() / reference.as_secs_f64();
        if json {
            let row = BenchRow {
                schema_version: BENCH_SCHEMA_VERSION,
                op: if mode == Mode::MemoryPass { "memory_pass" } else { "processor_step" },
                scheme: seeding.map(|s| s.to_string()),
                vocab,
                batch,
                mode: mode.name(),
                median_ns: median.as_nanos() as u64,
                ratio_to_memory_pass: ratio,
            };
            writeln!(out, "{}", serde_json::to_string(&row).expect("bench rows serialise"))?;
        } else {
            let scheme = seeding.map_or_else(|| "-".to_string(), |s| s.to_string());
            writeln!(
                out,
                "{scheme:<14} {vocab:>8} {batch:>5} {:<12} {:>12} {ratio:>8.2}",
                mode.name(),
                format!("{median:.2?}")
            )?;
        }
    }
    detector_rows(out, json)?;
    if !json {
        writeln!(out, "measured in {:.1} s", started.elapsed().as_secs_f64())?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// One line of `wmark bench --json` for the detector: throughput on one core.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DetectorBenchRow {
    /// [`BENCH_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `detect_ids` (token ids in, report out), `tokenize` (normalise and tokenise only) or
    /// `detect_text` (text in, report out).
    pub op: &'static str,
    /// The seeding rule (null for `tokenize`).
    pub scheme: Option<String>,
    /// Vocabulary size.
    pub vocab: u32,
    /// Tokens per run.
    pub tokens: u64,
    /// Bytes of text per run (0 for ids).
    pub bytes: u64,
    /// Median wall time of one run, in nanoseconds (3 runs).
    pub median_ns: u64,
    /// `tokens` over the median time.
    pub tokens_per_second: f64,
    /// For `detect_text`: its throughput over `tokenize`'s on the same text.
    pub ratio_to_tokenizer: Option<f64>,
}

/// The median of three timed runs of `f`.
fn median3(mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..3)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[1]
}

/// The detector's rows: ids through the scorer (tuple dedup, one key, `lefthash`, V =
/// 128,256, 10^6 pseudo-random ids; and the Gumbel-max schemes `vllm-gumbel:4`,
/// `vllm-dual-key-gumbel:4` and `gumbel:4` with context dedup on the same ids; Hugging Face's
/// `hf-lefthash:1` and `hf-selfhash:4` on the first 5,000; SynthID-Text `hf-synthid:5` with 30
/// layers and context dedup on all of them) and, when the asset cache has them, 2 MB of State
/// of the Union text through the Llama 3 tokenizer alone and through the whole detector.
fn detector_rows(out: &mut impl std::io::Write, json: bool) -> crate::fail::Result<()> {
    use wmark_detect::{Detector, Options, TextTokenizer};
    let vocab = 128_256;
    let config = Config::new(Seeding::LeftHash, 0.25, 2.0, vocab).expect("valid configuration");
    let detector = Detector::new(&[Key::from_bytes([7; 32])], config, Options::default())?;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let ids: Vec<u32> = (0..1_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % u64::from(vocab)) as u32
        })
        .collect();
    let mut rows = Vec::new();
    let t = median3(|| {
        detector.detect_ids(&ids, 0).expect("ids in range");
    });
    rows.push(row("detect_ids", Some("lefthash"), vocab, ids.len() as u64, 0, t, None));
    // The Gumbel-max schemes, with their default dedup (the first time a context is seen).
    let gumbel_opts = || Options { dedup: wmark_detect::Dedup::Window, ..Options::default() };
    for (seeding, key) in [
        (Seeding::VllmGumbel(4), Key::from_vllm(0x2545_f491_4f6c_dd1d)),
        (Seeding::VllmDualKeyGumbel(4), Key::from_vllm(0x2545_f491_4f6c_dd1d)),
        (Seeding::Gumbel(4), Key::from_bytes([7; 32])),
    ] {
        let config = Config::gumbel(seeding, vocab).expect("valid configuration");
        let detector = Detector::new(&[key], config, gumbel_opts())?;
        let t = median3(|| {
            detector.detect_ids(&ids, 0).expect("ids in range");
        });
        rows.push(row("detect_ids", Some(&seeding.to_string()), vocab, ids.len() as u64, 0, t, None));
    }
    // Hugging Face's KGW (transformers' defaults: γ = 0.25, hashing key 15485863): each scored
    // token replays a quarter of a torch randperm, so the first 5,000 ids are enough.
    let hf_ids = &ids[..5_000];
    for seeding in [Seeding::HfLeftHash(1), Seeding::HfSelfHash(4)] {
        let config = Config::new(seeding, 0.25, 0.0, vocab).expect("valid configuration");
        let detector = Detector::new(&[Key::from_hf(15_485_863)?], config, Options::default())?;
        let t = median3(|| {
            detector.detect_ids(hf_ids, 0).expect("ids in range");
        });
        rows.push(row("detect_ids", Some(&seeding.to_string()), vocab, hf_ids.len() as u64, 0, t, None));
    }
    // SynthID-Text: 30 layers, ngram_len 5, its default dedup (a context's first use).
    let layers: Vec<i64> = (0..SYNTHID_LAYERS as i64).map(|i| 0x2545_f491 * (i + 1)).collect();
    let synthid_config = Config::synthid(SYNTHID_SCHEME, vocab, wmark_core::DEFAULT_SYNTHID_TABLE_SIZE, 0)?;
    let detector = Detector::new(&[Key::from_synthid(&layers)?], synthid_config, gumbel_opts())?;
    let t = median3(|| {
        detector.detect_ids(&ids, 0).expect("ids in range");
    });
    rows.push(row("detect_ids", Some(&SYNTHID_SCHEME.to_string()), vocab, ids.len() as u64, 0, t, None));

    let cache = wmark_lm::assets::cache_dir();
    let tok_path = cache.join("tokenizers/llama3/tokenizer.json");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(cache.join("sotu"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut text = String::new();
    for f in files {
        if text.len() >= 2_000_000 {
            break;
        }
        text.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
    }
    if tok_path.exists() && !text.is_empty() {
        let tok = TextTokenizer::from_file(&tok_path)?;
        let detector =
            Detector::new(&[Key::from_bytes([7; 32])], config, Options::default())?.with_tokenizer(tok.clone())?;
        let opts = wmark_detect::normalize::Options::default();
        let mut tokens = 0u64;
        let tt = median3(|| {
            tokens =
                tok.encode_ids(wmark_detect::normalize::normalize(&text, &opts).text()).expect("encodes").len() as u64;
        });
        let td = median3(|| {
            detector.detect_text(&text, None).expect("detects");
        });
        rows.push(row("tokenize", None, vocab, tokens, text.len() as u64, tt, None));
        let ratio = tt.as_secs_f64() / td.as_secs_f64();
        rows.push(row("detect_text", Some("lefthash"), vocab, tokens, text.len() as u64, td, Some(ratio)));
    } else if !json {
        writeln!(
            out,
            "(text rows skipped: {} or State of the Union texts missing; run scripts/fetch-assets)",
            tok_path.display()
        )?;
    }
    if !json {
        writeln!(
            out,
            "detector, one core: {:<12} {:<24} {:>8} {:>9} {:>10} {:>14} {:>10}",
            "op", "scheme", "vocab", "tokens", "median", "tokens/s", "vs tokenize"
        )?;
    }
    for r in rows {
        if json {
            writeln!(out, "{}", serde_json::to_string(&r).expect("bench rows serialise"))?;
        } else {
            let ratio = r.ratio_to_tokenizer.map_or_else(String::new, |x| format!("{x:.2}"));
            let median = format!("{:.2?}", Duration::from_nanos(r.median_ns));
            writeln!(
                out,
                "detector, one core: {:<12} {:<24} {:>8} {:>9} {median:>10} {:>14.0} {ratio:>10}",
                r.op,
                r.scheme.as_deref().unwrap_or("-"),
                r.vocab,
                r.tokens,
                r.tokens_per_second
            )?;
        }
    }
    Ok(())
}

fn row(
    op: &'static str,
    scheme: Option<&str>,
    vocab: u32,
    tokens: u64,
    bytes: u64,
    t: Duration,
    ratio_to_tokenizer: Option<f64>,
) -> DetectorBenchRow {
    DetectorBenchRow {
        schema_version: BENCH_SCHEMA_VERSION,
        op,
        scheme: scheme.map(str::to_string),
        vocab,
        tokens,
        bytes,
        median_ns: t.as_nanos() as u64,
        tokens_per_second: tokens as f64 / t.as_secs_f64(),
        ratio_to_tokenizer,
    }
}
