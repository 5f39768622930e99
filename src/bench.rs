//! The processor's speed measurements: one definition shared by `wmark bench` and the
//! criterion bench (`benches/processor.rs`), so both measure the same work.

use std::time::{Duration, Instant};

use ndarray::Array2;
use wmark_core::{Config, Key, Seeding};
use wmark_processor::{BatchCache, Processor};

/// The vocabulary sizes measured: Llama 2 / Mistral, Llama 3, Qwen 2, Gemma 3.
pub const VOCABS: [u32; 4] = [32_000, 128_256, 151_936, 262_144];
/// Batch sizes measured.
pub const BATCHES: [usize; 2] = [1, 8];
/// Seeding rules measured.
pub const SCHEMES: [Seeding; 4] = [Seeding::LeftHash, Seeding::MinHash(4), Seeding::SelfHash(4), Seeding::Unigram];
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
        let config = Config::new(seeding, 0.25, 2.0, vocab).expect("valid benchmark config");
        let cache_bytes = if mode == Mode::ExactWarm { 64 << 20 } else { 0 };
        let processor = Processor::builder().mask_cache_bytes(cache_bytes).build(&key, config);
        let v = vocab as usize;
        let stride = v / FINITE;
        let logits = Array2::from_shape_fn((batch, v), |(r, c)| match mode {
            Mode::Finite if c % stride != r % stride => f32::NEG_INFINITY,
            _ => ((c as u64 * 2_654_435_761 + r as u64) % 10_007) as f32 / 1_000.0,
        });
        let contexts = (0..batch as u32).map(|r| [r, 1_000 + r, 2_000 + r, 3_000 + r]).collect();
        let mut w = Workload { processor, mode, caches: BatchCache::new(), logits, contexts, counter: 0 };
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
        writeln!(out, "{:<12} {:>8} {:>5} {:<12} {:>12} {:>8}", "scheme", "vocab", "batch", "mode", "median", "ratio")?;
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
                "{scheme:<12} {vocab:>8} {batch:>5} {:<12} {:>12} {ratio:>8.2}",
                mode.name(),
                format!("{median:.2?}")
            )?;
        }
    }
    if !json {
        writeln!(out, "measured in {:.1} s", started.elapsed().as_secs_f64())?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}
