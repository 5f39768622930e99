//! `wmark-eval`: the evaluation harness's heavy parts (null calibration, attacks), as JSON
//! for `scripts/eval`. Exit codes: 0 done, 2 an error (one line on stderr).

use std::process::ExitCode;

use clap::Parser;
use wmark_eval::EvalCommand;

/// The evaluation harness of wmark: null calibration and attacks over real text.
#[derive(Parser, Debug)]
#[command(name = "wmark-eval", version, about)]
struct Cli {
    #[command(subcommand)]
    command: EvalCommand,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match wmark_eval::run(cli.command) {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wmark-eval: {e}");
            ExitCode::from(2)
        }
    }
}
