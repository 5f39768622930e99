//! `wmark-eval attack`: detection after edits and copy-paste (issue 9, part 4).
//!
//! Each generation's first `--tokens` T ids are the document. Edit attacks change a fraction
//! ε of its tokens, chosen uniformly without replacement: *substitution* replaces round(εT)
//! tokens (length stays T), *deletion* removes round(εT) tokens (length T − round(εT)),
//! *insertion* puts round(εT) new tokens at uniformly random places (length T + round(εT)).
//! New tokens are drawn from the unigram distribution of the human corpus (a substitute is
//! redrawn while it equals the token it replaces). *Copy-paste*: the first round(f·P) ids of
//! a generation are pasted as one span at a uniformly random inner position of a random
//! human document of P − round(f·P) tokens (P = `--paste-tokens`, 600 by default).
//!
//! Every document gets the whole-text test and the window test (the detector's best span,
//! Bonferroni-corrected for every span compared), both at the exact threshold log10 p ≤
//! log10 α. Pure human documents of T and P tokens measure both tests' false positive rates.
//! All randomness comes from `--seed`, per generation and per attack, so results do not
//! depend on the number of threads.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use rayon::prelude::*;
use wmark_detect::{Dedup, Detector, Options, Report};

use crate::{load_corpus, parse_list, rate_json, shown, HumanCorpus, SplitMix64};
use wmark::fail::{Fail, Result};
use wmark::settings::{KeyArgs, SchemeArgs};

/// Arguments of `wmark-eval attack`.
#[derive(Args, Debug)]
pub struct AttackArgs {
    /// Watermarked generations: JSON Lines, each an object with an "ids" array (the generated
    /// token ids, prompt excluded).
    #[arg(long, value_name = "FILE.jsonl")]
    pub generations: PathBuf,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// Human text: files or directories (repeatable) [default: <cache>/sotu].
    #[arg(long, value_name = "PATH")]
    pub corpus: Vec<PathBuf>,
    /// Tokens of each generation that the edit attacks act on (shorter generations are
    /// skipped and counted).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    pub tokens: u64,
    /// Edit rates, comma separated (each in (0, 1)).
    #[arg(long, default_value = "0.1,0.2,0.3", value_parser = parse_rates)]
    pub rates: Rates,
    /// Length of the copy-paste documents.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    pub paste_tokens: u64,
    /// Fractions of the copy-paste document that are watermarked, comma separated.
    #[arg(long, default_value = "0.1,0.25", value_parser = parse_rates)]
    pub paste_fractions: Rates,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Which repeated units count once: none, window, tuple.
    #[arg(long, default_value = "tuple", value_parser = parse_dedup)]
    pub dedup: Dedup,
    /// The false positive rate the tests are run at (threshold log10 p <= log10 of it).
    #[arg(long, default_value_t = 1e-3, value_parser = parse_alpha)]
    pub alpha: f64,
    /// Use at most this many human documents of each length for the false positive check
    /// (a seeded random choice) [default: all].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub human_docs: Option<u64>,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Fractions in (0, 1).
#[derive(Clone, Debug)]
pub struct Rates(pub Vec<f64>);

fn parse_rates(s: &str) -> std::result::Result<Rates, String> {
    parse_list(s, "a fraction strictly between 0 and 1", |x| x.parse::<f64>().ok().filter(|&r| r > 0.0 && r < 1.0))
        .map(Rates)
}

fn parse_dedup(s: &str) -> std::result::Result<Dedup, String> {
    s.parse().map_err(|e: wmark_detect::Error| e.to_string())
}

fn parse_alpha(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(v > 0.0 && v < 1.0) {
        return Err(format!("{v} is not strictly between 0 and 1"));
    }
    Ok(v)
}

/// Reads the `"ids"` of every non-blank line.
pub fn read_generations(path: &std::path::Path, vocab: u32) -> Result<Vec<Vec<u32>>> {
    let f = std::fs::File::open(path).map_err(|e| Fail::io(path, &e))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                Fail::usage(format!("{}:{}: not UTF-8 text", shown(path), i + 1))
            } else {
                Fail::io(path, &e)
            }
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            Fail::usage(format!("{}:{}: expected a JSON object with an \"ids\" array of token ids", shown(path), i + 1))
        };
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|_| bad())?;
        let ids = value.get("ids").and_then(|v| v.as_array()).ok_or_else(bad)?;
        let ids: Vec<u32> = ids
            .iter()
            .map(|v| v.as_u64().and_then(|x| u32::try_from(x).ok()))
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        if let Some(&id) = ids.iter().find(|&&id| id >= vocab) {
            return Err(Fail::usage(format!(
                "{}:{}: token id {id} is outside the vocabulary of {vocab} ids",
                shown(path),
                i + 1
            )));
        }
        out.push(ids);
    }
    Ok(out)
}

/// Draws tokens from the unigram distribution of the human corpus.
pub struct Unigram {
    /// Cumulative counts, and the token of each step.
    cum: Vec<u64>,
    ids: Vec<u32>,
}

impl Unigram {
    pub fn new(corpus: &HumanCorpus) -> Unigram {
        let mut counts: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
        for f in &corpus.files {
            for &t in f {
                *counts.entry(t).or_default() += 1;
            }
        }
        let mut cum = Vec::with_capacity(counts.len());
        let mut ids = Vec::with_capacity(counts.len());
        let mut total = 0;
        for (t, c) in counts {
            total += c;
            cum.push(total);
            ids.push(t);
        }
        Unigram { cum, ids }
    }

    pub fn draw(&self, g: &mut SplitMix64) -> u32 {
        let total = *self.cum.last().expect("a non-empty corpus");
        let x = g.below(total);
        self.ids[self.cum.partition_point(|&c| c <= x)]
    }
}

/// The edit attacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Substitution,
    Deletion,
    Insertion,
}

impl Edit {
    const ALL: [Edit; 3] = [Edit::Substitution, Edit::Deletion, Edit::Insertion];

    fn name(self) -> &'static str {
        match self {
            Edit::Substitution => "substitution",
            Edit::Deletion => "deletion",
            Edit::Insertion => "insertion",
        }
    }

    /// `doc` after editing round(rate · len) of its tokens.
    pub fn apply(self, doc: &[u32], rate: f64, unigram: &Unigram, g: &mut SplitMix64) -> Vec<u32> {
        let m = (rate * doc.len() as f64).round() as usize;
        match self {
            Edit::Substitution => {
                let mut out = doc.to_vec();
                for i in g.sample_indices(doc.len(), m) {
                    let mut t = unigram.draw(g);
                    for _ in 0..100 {
                        if t != doc[i] {
                            break;
                        }
                        t = unigram.draw(g);
                    }
                    out[i] = t;
                }
                out
            }
            Edit::Deletion => {
                let gone = g.sample_indices(doc.len(), m);
                let mut out = Vec::with_capacity(doc.len() - gone.len());
                let mut next = gone.iter().peekable();
                for (i, &t) in doc.iter().enumerate() {
                    if next.peek() == Some(&&i) {
                        next.next();
                    } else {
                        out.push(t);
                    }
                }
                out
            }
            Edit::Insertion => {
                // The new tokens take m of the len + m slots of the result.
                let slots = g.sample_indices(doc.len() + m, m);
                let mut out = Vec::with_capacity(doc.len() + m);
                let (mut src, mut next) = (doc.iter(), slots.iter().peekable());
                for i in 0..doc.len() + m {
                    if next.peek() == Some(&&i) {
                        next.next();
                        out.push(unigram.draw(g));
                    } else {
                        out.push(*src.next().expect("slots add up"));
                    }
                }
                out
            }
        }
    }
}

/// The outcome of the two tests on one document.
#[derive(Clone, Copy, Debug)]
struct Outcome {
    tokens: usize,
    whole: f64,
    window: f64,
}

fn outcome(detector: &Detector, ids: &[u32]) -> Result<Outcome> {
    let r: Report = detector.detect_ids(ids, 0)?;
    let window = r.spans.first().map_or(0.0, |s| s.log10_p_corrected);
    Ok(Outcome { tokens: ids.len(), whole: r.log10_p, window })
}

/// One condition's documents.
struct Cell {
    attack: &'static str,
    rate: Option<f64>,
    outcomes: Vec<Outcome>,
    extra: serde_json::Value,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

impl Cell {
    fn test_json(&self, level: f64, pick: impl Fn(&Outcome) -> f64) -> serde_json::Value {
        let n = self.outcomes.len() as u64;
        let k = self.outcomes.iter().filter(|o| pick(o) <= level).count() as u64;
        let mut v = rate_json(k, n);
        v["median_log10_p"] = serde_json::json!(median(self.outcomes.iter().map(&pick).collect()));
        v
    }

    fn to_json(&self, level: f64) -> serde_json::Value {
        let mut v = serde_json::json!({
            "attack": self.attack,
            "rate": self.rate,
            "documents": self.outcomes.len(),
            "tokens_mean": self.outcomes.iter().map(|o| o.tokens as f64).sum::<f64>() / self.outcomes.len().max(1) as f64,
            "whole": self.test_json(level, |o| o.whole),
            "window": self.test_json(level, |o| o.window),
        });
        if let (Some(obj), Some(extra)) = (v.as_object_mut(), self.extra.as_object()) {
            for (k, x) in extra {
                obj.insert(k.clone(), x.clone());
            }
        }
        v
    }
}

/// Runs `wmark-eval attack`.
pub fn run(args: &AttackArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let scheme = args.scheme.resolve(true)?;
    if scheme.config.seeding().is_gumbel() {
        return Err(Fail::usage(format!(
            "the attack evaluation counts green tokens; {} is a Gumbel-max scheme (scripts/eval calibrates its Gamma test with wmark detect)",
            scheme.config.seeding()
        )));
    }
    if scheme.config.seeding().synthid_ngram_len().is_some() {
        return Err(Fail::usage(format!(
            "the attack evaluation counts green tokens; {} scores g-values",
            scheme.config.seeding()
        )));
    }
    let keys = args.keys.load_checked(&scheme)?;
    let config = scheme.config;
    let tokenizer = scheme.tokenizer.as_ref().expect("resolve(true) gives a tokenizer");
    let generations = read_generations(&args.generations, config.vocab_size())?;
    if generations.is_empty() {
        return Err(Fail::usage(format!("{}: no generations", shown(&args.generations))));
    }
    let corpus = load_corpus(&args.corpus, tokenizer)?;
    if corpus.tokens() == 0 {
        return Err(Fail::usage(format!("{}: the human text has no tokens", corpus.source)));
    }
    let unigram = Unigram::new(&corpus);
    let detector = Detector::new(
        &keys,
        config,
        Options { dedup: args.dedup, alpha: args.alpha, windows: true, bos_id: scheme.bos_id, ..Options::default() },
    )?;
    let level = args.alpha.log10();
    let t = args.tokens as usize;
    let p = args.paste_tokens as usize;

    let long: Vec<(usize, &Vec<u32>)> = generations.iter().enumerate().filter(|(_, g)| g.len() >= t).collect();
    if long.is_empty() {
        return Err(Fail::usage(format!(
            "{}: no generation has at least --tokens {t} ids (the longest has {})",
            shown(&args.generations),
            generations.iter().map(Vec::len).max().unwrap_or(0)
        )));
    }

    // Edit attacks, and no attack.
    let mut cells: Vec<Cell> = Vec::new();
    let run_edit = |edit: Option<(usize, Edit)>, rate: f64| -> Result<Vec<Outcome>> {
        long.par_iter()
            .map(|&(gi, g)| {
                let doc = &g[..t];
                match edit {
                    None => outcome(&detector, doc),
                    Some((ei, e)) => {
                        let mut rng = SplitMix64::new(args.seed, &[1, gi as u64, ei as u64, rate.to_bits()]);
                        outcome(&detector, &e.apply(doc, rate, &unigram, &mut rng))
                    }
                }
            })
            .collect()
    };
    cells.push(Cell { attack: "none", rate: None, outcomes: run_edit(None, 0.0)?, extra: serde_json::json!({}) });
    for (ei, e) in Edit::ALL.into_iter().enumerate() {
        for &rate in &args.rates.0 {
            cells.push(Cell {
                attack: e.name(),
                rate: Some(rate),
                outcomes: run_edit(Some((ei, e)), rate)?,
                extra: serde_json::json!({}),
            });
        }
    }

    // Copy-paste.
    let mut skipped_paste = Vec::new();
    for (fi, &f) in args.paste_fractions.0.iter().enumerate() {
        let span = ((f * p as f64).round() as usize).clamp(1, p - 1);
        let human_len = p - span;
        let hosts = corpus.documents(human_len);
        if hosts.is_empty() {
            return Err(Fail::usage(format!("no human document of {human_len} tokens in {}", corpus.source)));
        }
        let donors: Vec<(usize, &Vec<u32>)> = generations.iter().enumerate().filter(|(_, g)| g.len() >= span).collect();
        skipped_paste.push(serde_json::json!({ "fraction": f, "too_short": generations.len() - donors.len() }));
        let outcomes: Vec<Outcome> = donors
            .par_iter()
            .map(|&(gi, g)| {
                let mut rng = SplitMix64::new(args.seed, &[2, gi as u64, fi as u64]);
                let host = corpus.doc(hosts[rng.below(hosts.len() as u64) as usize], human_len);
                let at = if human_len >= 2 {
                    1 + rng.below(human_len as u64 - 1) as usize
                } else {
                    rng.below(human_len as u64 + 1) as usize
                };
                let mut doc = Vec::with_capacity(p);
                doc.extend_from_slice(&host[..at]);
                doc.extend_from_slice(&g[..span]);
                doc.extend_from_slice(&host[at..]);
                outcome(&detector, &doc)
            })
            .collect::<Result<_>>()?;
        cells.push(Cell {
            attack: "copy_paste",
            rate: Some(f),
            outcomes,
            extra: serde_json::json!({ "span_tokens": span, "document_tokens": p }),
        });
    }

    // Human documents: the false positive check.
    let mut human = Vec::new();
    let mut lengths = vec![t];
    if p != t {
        lengths.push(p);
    }
    for (li, &len) in lengths.iter().enumerate() {
        let mut docs = corpus.documents(len);
        if let Some(max) = args.human_docs {
            let mut g = SplitMix64::new(args.seed, &[3, li as u64]);
            docs = g.sample_indices(docs.len(), max as usize).into_iter().map(|j| docs[j]).collect();
        }
        let outcomes: Vec<Outcome> =
            docs.par_iter().map(|&d| outcome(&detector, corpus.doc(d, len))).collect::<Result<_>>()?;
        human.push(Cell {
            attack: "human",
            rate: None,
            outcomes,
            extra: serde_json::json!({ "document_tokens": len }),
        });
    }
    let wall = started.elapsed().as_secs_f64();

    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "command": "eval attack",
            "version": env!("CARGO_PKG_VERSION"),
            "scheme": config.seeding().to_string(),
            "gamma_effective": config.gamma_effective(),
            "vocab_size": config.vocab_size(),
            "tokenizer_sha256": tokenizer.sha256(),
            "key_ids": keys.iter().map(|k| k.id().to_string()).collect::<Vec<_>>(),
            "dedup": args.dedup.to_string(),
            "alpha": args.alpha,
            "log10_threshold": level,
            "tokens": t,
            "paste_tokens": p,
            "seed": args.seed,
            "generations": {
                "file": shown(&args.generations),
                "lines": generations.len(),
                "used_for_edits": long.len(),
                "too_short_for_edits": generations.len() - long.len(),
                "too_short_for_paste": skipped_paste,
            },
            "corpus": corpus.to_json(),
            "method": "edit attacks act on the first `tokens` ids of each generation: substitution replaces round(rate*tokens) \
                       uniformly chosen tokens, deletion removes as many, insertion adds as many at uniformly chosen places; \
                       substituted and inserted tokens are drawn from the unigram distribution of the human corpus. \
                       copy_paste: the first span_tokens ids of a generation pasted at a uniformly random inner position \
                       of a random non-overlapping human document of document_tokens - span_tokens tokens. whole: the \
                       detector's p over the whole document; window: its best span's p, Bonferroni-corrected for every \
                       span compared. Detected or false positive: log10 p <= log10_threshold. ci99: Clopper-Pearson.",
            "rows": cells.iter().map(|c| c.to_json(level)).collect::<Vec<_>>(),
            "human": human.iter().map(|c| c.to_json(level)).collect::<Vec<_>>(),
            "seconds": wall,
        });
        writeln!(out, "{value}")?;
    } else {
        writeln!(
            out,
            "attacks: {} generations ({} with at least {t} tokens), {} (γ = {}), dedup {}, threshold log10 p <= {level}",
            generations.len(),
            long.len(),
            config.seeding(),
            config.gamma_effective(),
            args.dedup
        )?;
        writeln!(
            out,
            "{:<13} {:>6} {:>6} {:>7} {:>24} {:>24}",
            "attack", "rate", "docs", "tokens", "whole TPR [99% CI]", "window TPR [99% CI]"
        )?;
        let line = |out: &mut std::io::StdoutLock, c: &Cell| -> std::io::Result<()> {
            let n = c.outcomes.len() as u64;
            let cell = |pick: &dyn Fn(&Outcome) -> f64| {
                let k = c.outcomes.iter().filter(|o| pick(o) <= level).count() as u64;
                let (lo, hi) = crate::clopper_pearson(k, n, 0.99);
                format!("{:.3} [{lo:.3},{hi:.3}]", k as f64 / n.max(1) as f64)
            };
            let tokens = c.outcomes.iter().map(|o| o.tokens as f64).sum::<f64>() / n.max(1) as f64;
            writeln!(
                out,
                "{:<13} {:>6} {n:>6} {tokens:>7.1} {:>24} {:>24}",
                c.attack,
                c.rate.map_or("-".into(), |r| format!("{r}")),
                cell(&|o| o.whole),
                cell(&|o| o.window)
            )
        };
        for c in &cells {
            line(&mut out, c)?;
        }
        writeln!(out, "false positives on human documents (rate is FPR):")?;
        for c in &human {
            line(&mut out, c)?;
        }
        writeln!(out, "wall time {wall:.1} s")?;
    }
    Ok(ExitCode::SUCCESS)
}
