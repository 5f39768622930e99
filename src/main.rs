//! The `wmark` command line.
//!
//! Exit codes: 0 a watermark was found in at least one input (or the command succeeded),
//! 1 none was found, 2 an error. A closed output pipe is not an error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use wmark::bench;
use wmark::fail::{Fail, Result};
use wmark::input::Format;
use wmark::settings::{KeyArgs, SchemeArgs};
use wmark::{config_file, fail, input, settings};
use wmark_lm::{Limits, Sampling};

use crate::commands::DetectOpts;
use crate::lm_commands::GenerateOpts;
use crate::radioactive_cmd::RadioactiveOpts;

mod calibration;
mod commands;
mod lm_commands;
mod output;
mod progress;
mod radioactive_cmd;
use wmark_detect::Dedup;

/// Watermark language-model text and detect it with exact statistics.
#[derive(Parser, Debug)]
#[command(name = "wmark", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct InputArgs {
    /// Each input line is a JSON object; the document is this field (one document per line).
    #[arg(long, value_name = "FIELD")]
    jsonl: Option<String>,
    /// Documents are token ids: each line (or the --jsonl field) is a JSON array of ids.
    #[arg(long)]
    ids: bool,
}

impl InputArgs {
    fn format(&self) -> Format {
        Format { jsonl_field: self.jsonl.clone(), ids: self.ids }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a key file (mode 0600) and print its id; never prints the key.
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Derive the key of this customer account from --master instead of drawing a new one.
        #[arg(long, value_name = "ID", requires = "master")]
        account: Option<String>,
        /// The master key that account keys are derived from.
        #[arg(long, value_name = "FILE", requires = "account")]
        master: Option<PathBuf>,
        /// Also write the public configuration (wmark.toml) that pins this key's id, the
        /// scheme and the tokenizer, for generator and detector to share.
        #[arg(long, value_name = "FILE")]
        write_config: Option<PathBuf>,
        /// hf-synthid: how many tournament layers (one key each) to draw [default: 30].
        #[arg(long, value_name = "D", conflicts_with = "master")]
        layers: Option<usize>,
        #[command(flatten)]
        scheme: SchemeArgs,
    },
    /// Test texts for the watermark. Exit 0 if found in at least one, 1 if in none, 2 on error.
    Detect {
        /// Text files, or - for standard input (the default).
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        scheme: SchemeArgs,
        #[command(flatten)]
        input: InputArgs,
        /// Which repeated units count once: none, window, tuple [default: tuple; window for
        /// the Gumbel-max schemes, as vLLM's detector].
        #[arg(long, value_parser = parse_dedup)]
        dedup: Option<Dedup>,
        /// Significance level of the verdict.
        #[arg(long, default_value_t = 1e-6, value_parser = parse_alpha)]
        alpha: f64,
        /// Also find the most significant span (text pasted into other text).
        #[arg(long)]
        windows: bool,
        /// One JSON report per document (JSON Lines; docs/report-format.md).
        #[arg(long, conflicts_with = "highlight")]
        json: bool,
        /// Print each text with green and red tokens coloured (honours NO_COLOR; without
        /// colours, green tokens are shown in [brackets]).
        #[arg(long)]
        highlight: bool,
        /// Write one self-contained HTML page with every document's tokens and statistics.
        #[arg(long, value_name = "OUT.html")]
        html: Option<PathBuf>,
    },
    /// Test a suspect model's answers, as one corpus, for traces of training on watermarked
    /// text. Exit 0 if radioactive, 1 if not, 2 on error.
    Radioactive {
        /// The suspect's answers: JSON Lines (see --jsonl and --ids).
        #[arg(long, value_name = "FILE")]
        answers: PathBuf,
        /// The prompts the answers respond to; their contexts are not scored (they may be
        /// the provider's own watermarked text).
        #[arg(long, value_name = "FILE")]
        prompts: Option<PathBuf>,
        /// The provider's own watermarked outputs: score only answer tuples whose context
        /// occurs in them.
        #[arg(long, value_name = "FILE")]
        filter: Option<PathBuf>,
        /// The JSON field holding each document.
        #[arg(long, value_name = "FIELD", default_value = "text")]
        jsonl: String,
        /// Documents are token ids (a JSON array in the --jsonl field).
        #[arg(long)]
        ids: bool,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        scheme: SchemeArgs,
        /// Which repeated units count once, across the whole corpus: none, window, tuple
        /// [default: tuple; window for the Gumbel-max schemes].
        #[arg(long, value_parser = parse_dedup)]
        dedup: Option<Dedup>,
        /// Significance level of the verdict.
        #[arg(long, default_value_t = 1e-6, value_parser = parse_alpha)]
        alpha: f64,
        /// The report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Show a green list, or one token's membership: for debugging generator/detector mismatches.
    Inspect {
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        scheme: SchemeArgs,
        /// Token ids before the position, comma or space separated.
        #[arg(long, value_name = "IDS", allow_hyphen_values = true)]
        context: String,
        /// Show this token's membership and stream byte instead of the whole list (for the
        /// Gumbel-max schemes: its uniform and score instead of every id's).
        #[arg(long, value_name = "ID")]
        token: Option<u32>,
        /// Print only how many ids are green.
        #[arg(long, conflicts_with = "token")]
        count: bool,
    },
    /// Show the token ids the detector sees in a text (one JSON array per document), or,
    /// with --decode, turn id arrays back into text (one JSON string per document).
    Tokenize {
        /// Files (default: stdin); with --jsonl FIELD, one document per line.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Each input line is a JSON object; the document is this field.
        #[arg(long, value_name = "FIELD")]
        jsonl: Option<String>,
        /// Inputs are JSON arrays of ids (or the --jsonl field is); print their text.
        #[arg(long)]
        decode: bool,
        /// A Hugging Face tokenizer.json [default: SmolLM2's, from the asset cache].
        #[arg(long, value_name = "FILE")]
        tokenizer: Option<PathBuf>,
    },
    /// Measure false positives of a key on your own human text, per length and level.
    Calibrate {
        /// Files or directories of human text (or JSONL with --jsonl FIELD).
        #[arg(value_name = "CORPUS", required = true)]
        corpus: Vec<PathBuf>,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        scheme: SchemeArgs,
        #[command(flatten)]
        input: InputArgs,
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Answer a prompt with SmolLM2-135M-Instruct, watermarked with your key.
    ///
    /// With --prompts, answers a JSON Lines file of prompts (`{"id": …, "prompt": …}` per
    /// line; optional "system" and "seed") into --out, one JSON object per answer. A run
    /// that stops can be started again with the same command: answered ids are skipped.
    Generate {
        /// The user message (wrapped in the model's chat template).
        #[arg(long, required_unless_present = "prompts", conflicts_with = "prompts")]
        prompt: Option<String>,
        /// Answer every prompt of this JSON Lines file (implies one JSON object per answer).
        #[arg(long, value_name = "FILE.jsonl")]
        prompts: Option<PathBuf>,
        /// With --prompts: append the answers to this file, skipping ids already in it.
        #[arg(long, value_name = "FILE.jsonl")]
        out: Option<PathBuf>,
        /// Forbid the end-of-answer tokens until this many tokens exist (for fixed-length
        /// evaluation runs).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=4096))]
        min_tokens: u32,
        /// Record, per token: its log-probability under the unwatermarked model, and the
        /// entropy and spike entropy of the sampling distribution (JSON output only).
        #[arg(long)]
        stats: bool,
        /// A system message instead of the model's default.
        #[arg(long)]
        system: Option<String>,
        /// Generate without the watermark (no key needed).
        #[arg(long, conflicts_with_all = ["key", "keys_dir"])]
        no_watermark: bool,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        scheme: SchemeArgs,
        /// Most tokens to generate.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=4096))]
        max_tokens: u32,
        /// Seed of the sampler: the same seed gives the same text.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Softmax temperature (0 = greedy).
        #[arg(long, default_value_t = 0.7, value_parser = parse_temperature)]
        temperature: f32,
        /// Nucleus sampling: keep the most likely tokens up to this probability (0 < p <= 1).
        #[arg(long, default_value_t = 0.95, value_parser = parse_top_p)]
        top_p: f32,
        /// Keep only the k most likely tokens (0 = no limit).
        #[arg(long, default_value_t = 50)]
        top_k: usize,
        /// One JSON object with the text, the ids and the parameters.
        #[arg(long)]
        json: bool,
        /// A GGUF model file instead of SmolLM2 from the asset cache.
        #[arg(long, value_name = "FILE.gguf")]
        model: Option<PathBuf>,
    },
    /// Watermark a few answers of a real model and detect them: fetches SmolLM2 on first use.
    Demo {
        /// Tokens per answer.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(10..=1000))]
        max_tokens: u32,
        /// Seed of the sampler.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Serve a model with an OpenAI-compatible API on mistral.rs's engine; every answer carries
    /// its account's watermark (runs the `wmark-serve` program installed beside `wmark`; see
    /// `wmark serve --help` and docs/serving.md).
    #[command(disable_help_flag = true)]
    Serve {
        /// Arguments of `wmark-serve`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
        args: Vec<std::ffi::OsString>,
    },
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

fn parse_seconds(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.5..=600.0).contains(&v) {
        return Err(format!("{v} is outside 0.5..=600 seconds"));
    }
    Ok(v)
}

fn parse_alpha(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(v > 0.0 && v < 1.0) {
        return Err(format!("{v} is not strictly between 0 and 1"));
    }
    Ok(v)
}

fn parse_temperature(s: &str) -> std::result::Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(v.is_finite() && (0.0..=10.0).contains(&v)) {
        return Err(format!("{v} is outside 0..=10"));
    }
    Ok(v)
}

fn parse_top_p(s: &str) -> std::result::Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(v > 0.0 && v <= 1.0) {
        return Err(format!("{v} is outside (0, 1]"));
    }
    Ok(v)
}

fn parse_dedup(s: &str) -> std::result::Result<Dedup, String> {
    s.parse().map_err(|e: wmark_detect::Error| e.to_string())
}

/// The one error path: every failure is one `wmark: …` line on stderr and exit code 2; a
/// closed output pipe is not a failure.
fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wmark: {e}");
            ExitCode::from(2)
        }
    }
}

/// Checks what clap cannot and dispatches to the command.
fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Keygen { out, account, master, write_config, layers, scheme } => commands::keygen(
            &out,
            commands::KeygenOpts {
                account: account.as_deref(),
                master: master.as_deref(),
                write_config: write_config.as_deref(),
                layers,
            },
            &scheme,
        ),
        Command::Detect { files, keys, scheme, input, dedup, alpha, windows, json, highlight, html } => {
            commands::detect(
                &keys,
                &scheme,
                DetectOpts { files, format: input.format(), dedup, alpha, windows, json, highlight, html },
            )
        }
        Command::Radioactive { answers, prompts, filter, jsonl, ids, keys, scheme, dedup, alpha, json } => {
            radioactive_cmd::radioactive(
                &keys,
                &scheme,
                RadioactiveOpts {
                    answers,
                    prompts,
                    filter,
                    format: Format { jsonl_field: Some(jsonl), ids },
                    dedup,
                    alpha,
                    json,
                },
            )
        }
        Command::Inspect { keys, scheme, context, token, count } => {
            commands::inspect(&keys, &scheme, &context, token, count)
        }
        Command::Tokenize { files, jsonl, decode, tokenizer } => {
            commands::tokenize(&files, jsonl, decode, tokenizer.as_deref())
        }
        Command::Calibrate { corpus, keys, scheme, input, json } => {
            commands::calibrate(&keys, &scheme, &corpus, input.format(), json)
        }
        Command::Generate {
            prompt,
            prompts,
            out,
            min_tokens,
            stats,
            system,
            no_watermark,
            keys,
            scheme,
            max_tokens,
            seed,
            temperature,
            top_p,
            top_k,
            json,
            model,
        } => {
            if min_tokens > max_tokens {
                return Err(Fail::usage(format!("--min-tokens {min_tokens} is more than --max-tokens {max_tokens}")));
            }
            if out.is_some() && prompts.is_none() {
                return Err(Fail::usage("--out goes with --prompts (a single answer goes to stdout)"));
            }
            if stats && !json && prompts.is_none() {
                return Err(Fail::usage("--stats needs --json (or --prompts)"));
            }
            lm_commands::generate(
                &keys,
                &scheme,
                GenerateOpts {
                    prompt,
                    prompts,
                    out,
                    system,
                    no_watermark,
                    limits: Limits { max_tokens: max_tokens as usize, min_tokens: min_tokens as usize, record: stats },
                    sampling: Sampling { temperature, top_k, top_p, seed },
                    json,
                    model,
                },
            )
        }
        Command::Demo { max_tokens, seed } => lm_commands::demo(max_tokens as usize, seed),
        Command::Serve { args } => commands::serve(&args),
        Command::Bench { json, seconds } => bench::report(&mut std::io::stdout().lock(), json, seconds),
    }
}
