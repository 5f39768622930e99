//! The `wmark` command line.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use wmark::bench::{self, Mode, Workload};
use wmark_core::Seeding;

/// Watermark language-model text and detect it with exact statistics.
#[derive(Parser, Debug)]
#[command(name = "wmark", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Measure the logit processor on this machine, the way `openssl speed` does.
    ///
    /// Per decoding step, for each seeding rule, vocabulary size, batch size and mode, with
    /// adding δ to every logit (one pass over memory) as the reference every figure is
    /// divided by.
    Bench {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Total time to spend measuring, in seconds (0.5 to 600).
        #[arg(long, default_value_t = 15.0, value_parser = parse_seconds)]
        seconds: f64,
    },
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.5..=600.0).contains(&v) {
        return Err(format!("{v} is outside 0.5..=600 seconds"));
    }
    Ok(v)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench { json, seconds } => run_bench(json, seconds),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wmark: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_bench(json: bool, seconds: f64) -> std::io::Result<ExitCode> {
    let plan = bench::plan();
    let budget = Duration::from_secs_f64(seconds * 0.85 / plan.len() as f64);
    let started = Instant::now();
    let mut out = std::io::stdout().lock();
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
        let median = bench::median_step(&mut w, budget, 9);
        if mode == Mode::MemoryPass {
            reference = median;
        }
        let ratio = median.as_secs_f64() / reference.as_secs_f64();
        let scheme = seeding.map_or_else(|| "-".to_string(), |s| s.to_string());
        if json {
            let line = serde_json::json!({
                "op": if mode == Mode::MemoryPass { "memory_pass" } else { "processor_step" },
                "scheme": seeding.map(|s| s.to_string()),
                "vocab": vocab,
                "batch": batch,
                "mode": mode.name(),
                "median_ns": median.as_nanos() as u64,
                "ratio_to_memory_pass": ratio,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "{scheme:<12} {vocab:>8} {batch:>5} {:<12} {:>12} {ratio:>8.2}", mode.name(), format!("{median:.2?}"))?;
        }
    }
    if !json {
        writeln!(out, "measured in {:.1} s", started.elapsed().as_secs_f64())?;
    }
    Ok(ExitCode::SUCCESS)
}
