//! The commands: each takes validated settings and returns an exit code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rayon::prelude::*;
use wmark_core::{Key, Watermark};
use wmark_detect::{Dedup, Detector, Options, Report, TextTokenizer, Verdict};

use crate::config_file::ConfigFile;
use crate::fail::{Fail, Result};
use crate::input::{self, Body, Doc, Format};
use crate::output;
use crate::progress::Progress;
use crate::settings::{load_key, KeyArgs, SchemeArgs};

/// Documents detected per parallel batch: bounds memory on large inputs.
const BATCH: usize = 512;

/// The options of `wmark keygen` besides the output path and the scheme.
pub struct KeygenOpts<'a> {
    pub account: Option<&'a str>,
    pub master: Option<&'a Path>,
    pub write_config: Option<&'a Path>,
    /// hf-synthid: the number of layers to draw.
    pub layers: Option<usize>,
}

/// `wmark keygen`.
pub fn keygen(out: &Path, opts: KeygenOpts<'_>, scheme: &SchemeArgs) -> Result<ExitCode> {
    let KeygenOpts { account, master, write_config, layers } = opts;
    if out.exists() || out.symlink_metadata().is_ok() {
        return Err(Fail::usage(format!("{}: already exists; refusing to overwrite a key", out.display())));
    }
    if let Some(c) = write_config {
        if c.exists() || c.symlink_metadata().is_ok() {
            return Err(Fail::usage(format!("{}: already exists; refusing to overwrite it", c.display())));
        }
        if c == out || std::path::absolute(c).ok() == std::path::absolute(out).ok() {
            return Err(Fail::usage("--out and --write-config name the same file"));
        }
    }
    if account.is_some_and(|a| a.trim().is_empty() || a.trim() != a) {
        return Err(Fail::usage("--account must be a non-empty id without leading or trailing spaces"));
    }
    // Validate the scheme (and load the tokenizer, to pin it) before writing anything.
    let scheme_given = scheme.config.is_some()
        || scheme.scheme.is_some()
        || scheme.gamma.is_some()
        || scheme.delta.is_some()
        || scheme.vocab_size.is_some()
        || scheme.tokenizer.is_some();
    let resolved =
        if write_config.is_some() || scheme_given { Some(scheme.resolve(scheme.tokenizer.is_some())?) } else { None };
    let kind = resolved.as_ref().map_or(wmark_core::KeyKind::V1, |s| s.config.seeding().key_kind());
    if layers.is_some() && kind != wmark_core::KeyKind::SynthId {
        return Err(Fail::usage("--layers applies to --scheme hf-synthid only"));
    }
    if let Some(d) = layers.filter(|d| !(1..=wmark_core::MAX_SYNTHID_LAYERS).contains(d)) {
        return Err(Fail::usage(format!("--layers must be between 1 and {}, got {d}", wmark_core::MAX_SYNTHID_LAYERS)));
    }
    let table_seed = resolved.as_ref().and_then(|s| s.config.synthid_table()).map(|(_, seed, _)| seed);
    if write_config.is_some() && table_seed.is_some_and(|seed| seed > i64::MAX as u64) {
        return Err(Fail::usage(
            "a wmark.toml holds a sampling table seed up to 2^63 - 1 (TOML's largest integer); torch reads only its \
             low 32 bits, so give --sampling-table-seed modulo 2^32",
        ));
    }
    let key = match (account, master) {
        (Some(a), Some(m)) => load_key(m)?.derive_account(a),
        (None, None) => match kind {
            wmark_core::KeyKind::V1 => Key::generate()?,
            wmark_core::KeyKind::Vllm => Key::generate_vllm()?,
            wmark_core::KeyKind::Hf => Key::generate_hf()?,
            wmark_core::KeyKind::SynthId => {
                Key::generate_synthid(layers.unwrap_or(wmark_core::DEFAULT_SYNTHID_LAYERS))?
            }
        },
        _ => return Err(Fail::usage("--account and --master go together")),
    };
    key.save_new(out).map_err(|e| Fail::usage(e.to_string()))?;
    let id = key.id().to_string();
    if let (Some(path), Some(s)) = (write_config, resolved) {
        let tokenizer = s.tokenizer_path.clone();
        let file = ConfigFile {
            version: 1,
            scheme: s.config.seeding().to_string(),
            gamma: s.config.hf_greenlist_ratio().unwrap_or(s.config.gamma_effective()),
            delta: s.config.delta(),
            vocab_size: s.config.vocab_size(),
            key_id: Some(id.clone()),
            tokenizer_sha256: s.tokenizer.as_ref().map(|t| t.sha256().to_string()),
            tokenizer: tokenizer.map(|t| std::fs::canonicalize(&t).unwrap_or(t)),
            bos_id: None,
            sampling_table_size: s.config.synthid_table().map(|(size, _, _)| size),
            sampling_table_seed: table_seed,
        };
        let mut f =
            std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| Fail::io(path, &e))?;
        let text = file.to_toml().expect("checked above: every value has a TOML spelling");
        f.write_all(text.as_bytes()).map_err(|e| Fail::io(path, &e))?;
        eprintln!("wrote public configuration {}", path.display());
    }
    eprintln!("wrote key {} (readable by its owner only); its id:", out.display());
    writeln!(std::io::stdout().lock(), "{id}")?;
    Ok(ExitCode::SUCCESS)
}

fn parse_ids(s: &str) -> Result<Vec<u32>> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<u32>().map_err(|_| Fail::usage(format!("--context: {t:?} is not a token id"))))
        .collect()
}

/// `wmark inspect`.
pub fn inspect(
    keys: &KeyArgs,
    scheme: &SchemeArgs,
    context: &str,
    token: Option<u32>,
    count: bool,
) -> Result<ExitCode> {
    let s = scheme.resolve(false)?;
    let key_list = keys.load_checked(&s)?;
    if key_list.len() != 1 {
        return Err(Fail::usage("inspect takes exactly one key"));
    }
    let context = parse_ids(context)?;
    if s.config.seeding().is_detect_only() || s.config.seeding().synthid_ngram_len().is_some() {
        return Err(Fail::usage(format!(
            "inspect shows green lists and Gumbel-max uniforms; {} is tested with `wmark detect`",
            s.config.seeding()
        )));
    }
    if s.config.seeding().is_gumbel() {
        if count {
            return Err(Fail::usage(format!("{} has no green list to count", s.config.seeding())));
        }
        return inspect_gumbel(&key_list[0], &s.config, &context, token);
    }
    let wm = Watermark::new(&key_list[0], s.config);
    let need = wm.context_len();
    if context.len() < need {
        return Err(Fail::usage(format!(
            "{} needs {need} context token(s); --context has {}",
            s.config.seeding(),
            context.len()
        )));
    }
    let seeder = wm.seeder(&context)?;
    let mut out = std::io::stdout().lock();
    let vocab = s.config.vocab_size();
    match token {
        Some(t) => {
            let seed = seeder.seed(t);
            let green = wm.is_green_in(&seed, t);
            let byte = seed.byte_at(t);
            let seed_hex: String = seed.0.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(
                out,
                "token {t}: {} (stream byte {byte}, green below {}{})\nseed {seed_hex}",
                if green { "green" } else { "red" },
                s.config.green_threshold(),
                if t >= vocab { format!("; id is outside the vocabulary of {vocab}") } else { String::new() }
            )?;
        }
        None => {
            let greens: Vec<u32> = match seeder.shared_seed() {
                Some(seed) => {
                    let mut mask = wmark_core::GreenMask::new(vocab);
                    wm.fill_mask(seed, &mut mask);
                    mask.iter().collect()
                }
                None => (0..vocab).filter(|&t| seeder.is_green(t)).collect(),
            };
            if count {
                writeln!(out, "{}", greens.len())?;
            } else {
                for t in greens {
                    writeln!(out, "{t}")?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Options of `wmark detect` after parsing.
pub struct DetectOpts {
    pub files: Vec<PathBuf>,
    pub format: Format,
    /// `None`: the scheme's default.
    pub dedup: Option<Dedup>,
    pub alpha: f64,
    pub windows: bool,
    pub json: bool,
    pub highlight: bool,
    pub html: Option<PathBuf>,
}

/// One document through one detector; an error names the document.
fn detect_doc(detector: &Detector, d: &Doc) -> Result<Report> {
    match &d.body {
        Body::Text(t) => detector.detect_text(t, None),
        Body::Ids(ids) => detector.detect_ids(ids, 0),
    }
    .map_err(|e| Fail::usage(format!("{}: {e}", d.source)))
}

fn run_batch(detector: &Detector, batch: &[Doc]) -> Vec<Result<Report>> {
    let one = |d: &Doc| detect_doc(detector, d);
    if batch.len() > 1 {
        batch.par_iter().map(one).collect()
    } else {
        batch.iter().map(one).collect()
    }
}

/// `wmark inspect` for a Gumbel-max scheme: the uniform `u` and the score `−ln(1 − u)` of
/// `token` after `context` (for the dual key, both keys' and the weighted score), or of every
/// id of the vocabulary, one `id u score` line each.
fn inspect_gumbel(key: &Key, config: &wmark_core::Config, context: &[u32], token: Option<u32>) -> Result<ExitCode> {
    use wmark_core::philox::{exp_score, Philox, NO_TOKEN};
    use wmark_core::Seeding;
    let seeding = config.seeding();
    if key.kind() != seeding.key_kind() {
        return Err(Fail::usage(format!("the scheme {seeding} needs a {:?} key", seeding.key_kind())));
    }
    // Per id: (u of each key, score).
    let uniforms: Box<dyn Fn(u32) -> (Vec<f64>, f64)> = match seeding {
        Seeding::Gumbel(h) => {
            if context.len() < h {
                return Err(Fail::usage(format!(
                    "{seeding} needs {h} context token(s); --context has {}",
                    context.len()
                )));
            }
            let seed = Watermark::new(key, *config).context_seed(context)?;
            Box::new(move |t| {
                let u = Watermark::gumbel_uniform(&seed, t);
                (vec![u], exp_score(u))
            })
        }
        _ => {
            // vLLM: the last `w` generated tokens, −1 before the first.
            let w = seeding.vllm_width().expect("a vLLM scheme");
            let k = key.dangerous_expose_vllm_key().expect("checked: a vLLM key");
            let window: Vec<u32> =
                (0..w).map(|i| (context.len() + i).checked_sub(w).map_or(NO_TOKEN, |at| context[at])).collect();
            let prfs: Vec<Philox> = match seeding {
                Seeding::VllmDualKeyGumbel(_) => {
                    let (a, b) = Philox::dual(k);
                    vec![a, b]
                }
                _ => vec![Philox::new(k)],
            };
            let states: Vec<_> = prfs.iter().map(|p| p.absorb_ids(&window)).collect();
            let alpha = config.alpha();
            Box::new(move |t| {
                let us: Vec<f64> = prfs.iter().zip(&states).map(|(p, c)| f64::from(p.uniform(c, t))).collect();
                let score = match us.as_slice() {
                    [a, b] => (1.0 - alpha) * exp_score(*a) + alpha * exp_score(*b),
                    [a] => exp_score(*a),
                    _ => unreachable!("one or two keys"),
                };
                (us, score)
            })
        }
    };
    let mut out = std::io::stdout().lock();
    let vocab = config.vocab_size();
    match token {
        Some(t) => {
            let (us, score) = uniforms(t);
            let us: Vec<String> = us.iter().map(|u| format!("{u}")).collect();
            writeln!(
                out,
                "token {t}: u = {} score = {score}{}",
                us.join(" and "),
                if t >= vocab { format!("; id is outside the vocabulary of {vocab}") } else { String::new() }
            )?;
        }
        None => {
            for t in 0..vocab {
                let (us, score) = uniforms(t);
                let us: Vec<String> = us.iter().map(|u| format!("{u}")).collect();
                writeln!(out, "{t} {} {score}", us.join(" "))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `wmark detect`. Exit 0 if any document is watermarked, 1 if none, 2 on any error.
pub fn detect(keys: &KeyArgs, scheme: &SchemeArgs, o: DetectOpts) -> Result<ExitCode> {
    let s = scheme.resolve(!o.format.ids)?;
    let key_list = keys.load_checked(&s)?;
    let want_flags = o.highlight || o.html.is_some();
    let opts = Options {
        dedup: o.dedup.unwrap_or_else(|| Dedup::default_for(&s.config)),
        alpha: o.alpha,
        windows: o.windows,
        token_flags: want_flags,
        bos_id: s.bos_id,
        ..Options::default()
    };
    let mut detector = Detector::new(&key_list, s.config, opts)?;
    if let Some(t) = s.tokenizer {
        detector = detector.with_tokenizer(t)?;
    }
    let color = o.highlight && output::colors_enabled();
    let mut out = std::io::stdout().lock();
    let mut pb = Progress::new(!o.highlight, "documents");
    let (mut found, mut errors) = (false, 0usize);
    let mut html_docs = Vec::new();
    let mut docs = input::documents(&o.files, &o.format).peekable();
    while docs.peek().is_some() {
        let mut batch = Vec::with_capacity(BATCH);
        for item in docs.by_ref().take(BATCH) {
            match item {
                Ok(d) => batch.push(d),
                Err(e) => {
                    pb.suspend(|| eprintln!("wmark: {e}"));
                    errors += 1;
                }
            }
        }
        let results = run_batch(&detector, &batch);
        for (doc, result) in batch.into_iter().zip(results) {
            let mut report = match result {
                Ok(r) => r,
                Err(e) => {
                    pb.add(0);
                    pb.suspend(|| eprintln!("wmark: {e}"));
                    errors += 1;
                    continue;
                }
            };
            pb.add(report.tokens);
            found |= report.verdict == Verdict::Watermarked;
            if o.json {
                // Per-token flags are for --highlight and --html, not for the JSON lines.
                let flags = report.token_flags.take();
                writeln!(out, "{}", output::json_line(&doc.source, &report))?;
                report.token_flags = flags;
            } else {
                writeln!(out, "{}", output::summary(&doc.source, &report))?;
            }
            if o.highlight {
                output::highlight(&mut out, &doc.body, &report, color)?;
            }
            if o.html.is_some() {
                html_docs.push((doc.source, doc.body, report));
            }
        }
    }
    pb.finish();
    if let Some(path) = &o.html {
        std::fs::write(path, output::html_page(&html_docs)).map_err(|e| Fail::io(path, &e))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(if errors > 0 {
        ExitCode::from(2)
    } else if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `wmark calibrate`: the deployed key on the user's own human text.
pub fn calibrate(
    keys: &KeyArgs,
    scheme: &SchemeArgs,
    corpus: &[PathBuf],
    format: Format,
    json: bool,
) -> Result<ExitCode> {
    let s = scheme.resolve(!format.ids)?;
    let key_list = keys.load_checked(&s)?;
    let mut tuple = Detector::new(&key_list, s.config, Options { bos_id: s.bos_id, ..Options::default() })?;
    let mut none =
        Detector::new(&key_list, s.config, Options { dedup: Dedup::None, bos_id: s.bos_id, ..Options::default() })?;
    if let Some(t) = &s.tokenizer {
        tuple = tuple.with_tokenizer(t.clone())?;
        none = none.with_tokenizer(t.clone())?;
    }
    let files = input::expand(corpus)?;
    if files.is_empty() {
        return Err(Fail::usage("no corpus files found"));
    }
    let mut stats = crate::calibration::Tally::default();
    let mut pb = Progress::new(true, "documents");
    let mut docs = input::documents(&files, &format).peekable();
    let mut errors = 0usize;
    while docs.peek().is_some() {
        let batch: Vec<Doc> = docs
            .by_ref()
            .take(BATCH)
            .filter_map(|d| {
                d.map_err(|e| {
                    pb.suspend(|| eprintln!("wmark: {e}"));
                    errors += 1;
                })
                .ok()
            })
            .collect();
        let pairs: Vec<Result<(Report, Report)>> =
            batch.par_iter().map(|d| Ok((detect_doc(&tuple, d)?, detect_doc(&none, d)?))).collect();
        for (d, p) in batch.iter().zip(pairs) {
            match p {
                Ok((t, n)) => {
                    pb.add(t.tokens);
                    stats.add(&d.source, &t, &n)
                }
                Err(e) => {
                    pb.suspend(|| eprintln!("wmark: {e}"));
                    errors += 1;
                }
            }
        }
    }
    pb.finish();
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", stats.to_json())?;
    } else {
        stats.write_table(&mut out)?;
    }
    Ok(if errors > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// `wmark tokenize`: text to the ids the detector scores (after the same normalisation), or
/// ids back to text with `decode`.
pub fn tokenize(files: &[PathBuf], jsonl: Option<String>, decode: bool, tokenizer: Option<&Path>) -> Result<ExitCode> {
    let path = match tokenizer {
        Some(p) => p.to_path_buf(),
        None => wmark_lm::assets::ensure_smollm2_tokenizer(&wmark_lm::assets::cache_dir())?,
    };
    let tok = TextTokenizer::from_file(&path)?;
    let format = Format { jsonl_field: jsonl, ids: decode };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for item in input::documents(files, &format) {
        let doc = item?;
        let line = match doc.body {
            Body::Ids(ids) => {
                if let Some(&bad) = ids.iter().find(|&&i| i as usize >= tok.vocab_size()) {
                    return Err(Fail::usage(format!(
                        "{}: id {bad} is outside the tokenizer's {} ids",
                        doc.source,
                        tok.vocab_size()
                    )));
                }
                serde_json::Value::from(tok.decode(&ids).map_err(|e| Fail::usage(format!("{}: {e}", doc.source)))?)
                    .to_string()
            }
            Body::Text(t) => serde_json::to_string(&input::encode_text(&tok, &t, &doc.source)?).expect("ids serialise"),
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `wmark serve`: runs `wmark-serve` (the server, built on mistral.rs in its own crate so that
/// the rest of the command line does not carry an inference engine) with the same arguments.
/// It is looked for beside this program first, then on the PATH.
pub fn serve(args: &[std::ffi::OsString]) -> Result<ExitCode> {
    let name = format!("wmark-serve{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join(&name))).filter(|p| p.is_file());
    let program = beside.unwrap_or_else(|| PathBuf::from(&name));
    let mut command = std::process::Command::new(&program);
    command.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Replaces this process: signals (Ctrl-C, SIGTERM) reach the server directly.
        let err = command.exec();
        Err(Fail::usage(format!(
            "cannot run {}: {err} (build it with `cargo build -p wmark-mistralrs`, or install it beside wmark)",
            program.display()
        )))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(|e| {
            Fail::usage(format!("cannot run {}: {e} (install wmark-serve beside wmark)", program.display()))
        })?;
        Ok(ExitCode::from(status.code().unwrap_or(2).clamp(0, 255) as u8))
    }
}
