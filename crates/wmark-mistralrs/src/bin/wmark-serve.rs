//! `wmark serve` (also installed as `wmark-serve`): the OpenAI-compatible server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use wmark::settings::{load_key, SchemeArgs};
use wmark_detect::{Dedup, Detector, Options};
use wmark_mistralrs::accounts::Accounts;
use wmark_mistralrs::engine::{self, EngineOptions};
use wmark_mistralrs::logits::Watermarker;
use wmark_mistralrs::server::{self, App, Limits, Metrics};
use wmark_processor::gumbel::{GumbelSampler, Warp};
use wmark_processor::Processor;

/// Serve SmolLM2 (or another GGUF) with an OpenAI-compatible API; every answer carries the
/// watermark of the account that asked for it.
#[derive(Parser, Debug)]
#[command(name = "wmark serve", version)]
struct Args {
    /// The accounts: a TOML file of `[[account]]` tables (`name`, `api_key_sha256`), and
    /// optionally `[[detector]]` tables for callers of the detection endpoint.
    #[arg(long, value_name = "FILE")]
    accounts: PathBuf,
    /// The master key file; each account's key is derived from it and the account's name.
    #[arg(long, value_name = "FILE")]
    master_key: PathBuf,
    /// Address and port to listen on (port 0: any free port, printed at start).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    scheme: SchemeArgs,
    /// The model, a GGUF file [default: SmolLM2-135M-Instruct from the asset cache].
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// The model name of `/v1/models`, which requests must name (or `default`).
    #[arg(long, value_name = "NAME", default_value = "smollm2-135m-instruct")]
    model_name: String,
    /// Largest `max_tokens` a request may ask for; also the default when it gives none.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_tokens: usize,
    /// Temperature of requests that give none.
    #[arg(long, value_name = "T", default_value_t = 1.0)]
    default_temperature: f64,
    /// Largest request body, in bytes (413 above).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Sequences the engine batches together at most.
    #[arg(long, value_name = "N", default_value_t = 16)]
    max_seqs: usize,
    /// Significance level of the detection endpoint's verdict.
    #[arg(long, value_name = "ALPHA", default_value_t = wmark_detect::DEFAULT_ALPHA)]
    alpha: f64,
    /// Serve WITHOUT a watermark (a pass-through processor): only for measuring the
    /// watermark's cost under the same load.
    #[arg(long)]
    no_watermark: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    engine::contain_hf_home();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wmark serve: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let accounts = Accounts::load(&args.accounts)?;
    let master = load_key(&args.master_key).map_err(|e| e.to_string())?;
    let scheme = args.scheme.resolve(true).map_err(|e| e.to_string())?;
    let config = scheme.config;
    let seeding = config.seeding();
    if seeding.is_detect_only() {
        return Err(format!("{seeding} is detected by wmark but not generated: choose one of wmark's own schemes"));
    }
    if master.kind() != seeding.key_kind() {
        return Err(format!(
            "{}: the scheme {seeding} needs a {} master key",
            args.master_key.display(),
            if seeding.key_kind() == wmark_core::KeyKind::Vllm { "vLLM" } else { "wmark" }
        ));
    }
    if !(args.default_temperature.is_finite() && args.default_temperature > 0.0) {
        return Err(format!("--default-temperature must be above 0, got {}", args.default_temperature));
    }
    if args.max_tokens == 0 || args.max_seqs == 0 || args.max_body_bytes == 0 {
        return Err("--max-tokens, --max-seqs and --max-body-bytes must be at least 1".into());
    }
    let keys: Vec<wmark_core::Key> = accounts.names.iter().map(|n| master.derive_account(n)).collect();
    let mut watermarkers = Vec::with_capacity(keys.len());
    for key in &keys {
        watermarkers.push(if args.no_watermark {
            Watermarker::Noop
        } else if seeding.is_gumbel() {
            let sampler = GumbelSampler::new(key, config, Warp::default()).map_err(|e| e.to_string())?;
            Watermarker::Gumbel { sampler: Arc::new(sampler) }
        } else {
            Watermarker::Bias(Arc::new(Processor::new(key, config)))
        });
    }
    let options = Options { dedup: Dedup::default_for(&config), alpha: args.alpha, ..Options::default() };
    let tokenizer = scheme.tokenizer.ok_or("no tokenizer: give --tokenizer FILE")?;
    let detector =
        Detector::new(&keys, config, options).and_then(|d| d.with_tokenizer(tokenizer)).map_err(|e| e.to_string())?;
    let model = match args.model {
        Some(p) => p,
        None => wmark_lm::assets::ensure_smollm2(&wmark_lm::assets::cache_dir()).map_err(|e| e.to_string())?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let engine = engine::load(&EngineOptions { gguf: model, max_seqs: args.max_seqs }).await?;
        let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let app = Arc::new(App {
            engine,
            model_name: args.model_name,
            key_ids: keys.iter().map(|k| k.id().to_string()).collect(),
            metrics: Metrics::new(keys.len()),
            accounts,
            watermarkers,
            detector: Arc::new(detector),
            limits: Limits {
                max_body_bytes: args.max_body_bytes,
                max_tokens: args.max_tokens,
                default_temperature: args.default_temperature,
            },
            created,
        });
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!(
            "wmark serve: {} accounts, scheme {seeding}{}, listening on http://{addr}",
            app.accounts.names.len(),
            if args.no_watermark { " (NO WATERMARK: --no-watermark)" } else { "" }
        );
        axum::serve(listener, server::router(app))
            .with_graceful_shutdown(server::shutdown_signal())
            .await
            .map_err(|e| e.to_string())?;
        eprintln!("wmark serve: stopped (in-flight requests finished)");
        Ok(())
    })
}
