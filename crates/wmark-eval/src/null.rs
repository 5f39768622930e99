//! `wmark-eval null`: the null calibration of issue 9 (part 1).
//!
//! Human text is tokenized and cut into non-overlapping documents of each length; every
//! document is tested with each of N keys drawn from `--seed`. A detection's p-value depends
//! only on its scored count `n` and green count `k`, so the harness tallies a histogram of
//! `(n, k)` per (length, dedup) and derives every figure from it exactly: false positive
//! rates at α = 1e-2, 1e-3, 1e-4 with 99% Clopper–Pearson intervals, the rate the test would
//! have on independent tokens (its discreteness), and the empirical CDF and quantiles of
//! log10 p for a QQ plot; for the exact binomial test and for the normal approximation of the
//! z-test.
//!
//! # Speed
//!
//! The documents of every length are cut from the same tokens, so the distinct (context,
//! token) tuples are collected once; per key each distinct tuple's colour is computed once
//! (one HMAC per distinct context, one keystream block per tuple, or the whole green list
//! when a context has many tuples), and each document is then a pass over a table. Dedup uses
//! the tuple's identity: for `unigram`, `lefthash` and `window:h` a tuple's seed is a function
//! of its context ids, so identical ids mean identical units; for `minhash` and `selfhash`,
//! where different contexts can share a seed, units are identified by their seed per key, as
//! the detector does. Tuples are scored by the core's [`Scorer`], the detector's own.
//! [`doc_counts`] exposes the per-document counts so that tests can check them against the
//! detector's scoring.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use rayon::prelude::*;
use wmark_core::{Config, GreenMask, Key, Seeding};
use wmark_detect::stats::{binomial_upper_tail_log10, normal_upper_tail_log10, z_score};
use wmark_detect::Scorer;

use crate::{clopper_pearson, load_corpus, parse_list, SplitMix64};
use wmark::fail::{Fail, Result};
use wmark::settings::SchemeArgs;

/// The levels reported, as log10 α.
pub const LOG10_ALPHAS: [f64; 3] = [-2.0, -3.0, -4.0];
/// The grid of log10 levels at which the empirical CDF and the quantiles of log10 p are
/// reported: 0, -0.1, …, -7.
pub fn qq_levels() -> Vec<f64> {
    (0..=70).map(|i| -f64::from(i) / 10.0).collect()
}
/// The longest document length accepted (the p-value tables grow with its square).
pub const MAX_LENGTH: usize = 2000;

/// Arguments of `wmark-eval null`.
#[derive(Args, Debug)]
pub struct NullArgs {
    /// Human text: files or directories (repeatable) [default: the State of the Union
    /// corpus in the asset cache, <cache>/sotu].
    #[arg(long, value_name = "PATH")]
    pub corpus: Vec<PathBuf>,
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// Document lengths in tokens, comma separated.
    #[arg(long, default_value = "50,100,200,400", value_parser = parse_lengths)]
    pub lengths: Lengths,
    /// How many random keys test every document.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub keys_count: u32,
    /// Seed of the keys (and of --max-docs' choice): the same seed gives the same keys.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use at most this many documents of each length (a seeded random choice) [default: all].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_docs: Option<u64>,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Document lengths, in tokens.
#[derive(Clone, Debug)]
pub struct Lengths(pub Vec<usize>);

fn parse_lengths(s: &str) -> std::result::Result<Lengths, String> {
    let v = parse_list(s, &format!("a document length from 1 to {MAX_LENGTH}"), |x| {
        x.parse::<usize>().ok().filter(|&l| (1..=MAX_LENGTH).contains(&l))
    })?;
    let mut sorted = v.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != v.len() {
        return Err("a length is repeated".into());
    }
    Ok(Lengths(sorted))
}

/// The `i`-th evaluation key of `seed`: an account key of a master drawn from the seed.
/// In memory only.
pub fn eval_key(seed: u64, i: u32) -> Key {
    let mut g = SplitMix64::new(seed, &[0x6e75_6c6c]);
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&g.next_u64().to_le_bytes());
    }
    Key::from_bytes(bytes).derive_account(&format!("wmark-eval-null/{i}"))
}

// ---------------------------------------------------------------------------------------------
// Distinct tuples

/// The distinct (context, token) tuples of a set of documents, grouped by context, and for
/// each document the tuple of each scored position.
pub struct Tuples {
    h: usize,
    /// Contexts, `h` ids each, flattened.
    ctx_ids: Vec<u32>,
    /// Tuples of context `c` are `ctx_start[c]..ctx_start[c + 1]`.
    ctx_start: Vec<u32>,
    /// Token of each tuple.
    tok: Vec<u32>,
}

/// The documents of one length: `docs` of them, each `len - h` tuple ids.
pub struct Plan {
    pub len: usize,
    pub docs: usize,
    tids: Vec<u32>,
}

impl Plan {
    /// Scored positions per document without dedup.
    pub fn scored(&self) -> usize {
        self.tids.len() / self.docs.max(1)
    }
}

/// Collects the tuples of `docs[i]` (each a list of documents of `lengths[i]` tokens).
pub fn build(h: usize, docs: &[(usize, Vec<&[u32]>)]) -> (Tuples, Vec<Plan>) {
    let mut ctx_of: HashMap<&[u32], u32> = HashMap::new();
    let mut ctx_list: Vec<&[u32]> = Vec::new();
    let mut tuple_of: HashMap<(u32, u32), u32> = HashMap::new();
    let mut tuples: Vec<(u32, u32)> = Vec::new();
    let mut plans = Vec::new();
    for (len, list) in docs {
        let m = len - h;
        let mut tids = Vec::with_capacity(list.len() * m);
        for d in list {
            for p in h..*len {
                let ctx = &d[p - h..p];
                let next = ctx_list.len() as u32;
                let c = *ctx_of.entry(ctx).or_insert_with(|| {
                    ctx_list.push(ctx);
                    next
                });
                let next = tuples.len() as u32;
                let t = *tuple_of.entry((c, d[p])).or_insert_with(|| {
                    tuples.push((c, d[p]));
                    next
                });
                tids.push(t);
            }
        }
        plans.push(Plan { len: *len, docs: list.len(), tids });
    }
    // Group by context: new id = rank in (context, token) order.
    let mut order: Vec<u32> = (0..tuples.len() as u32).collect();
    order.sort_unstable_by_key(|&t| tuples[t as usize]);
    let mut rank = vec![0u32; tuples.len()];
    for (r, &t) in order.iter().enumerate() {
        rank[t as usize] = r as u32;
    }
    for p in &mut plans {
        for t in &mut p.tids {
            *t = rank[*t as usize];
        }
    }
    let mut ctx_start = vec![0u32; ctx_list.len() + 1];
    for &(c, _) in &tuples {
        ctx_start[c as usize + 1] += 1;
    }
    for c in 0..ctx_list.len() {
        ctx_start[c + 1] += ctx_start[c];
    }
    let tok = order.iter().map(|&t| tuples[t as usize].1).collect();
    let ctx_ids = ctx_list.iter().flat_map(|c| c.iter().copied()).collect();
    (Tuples { h, ctx_ids, ctx_start, tok }, plans)
}

impl Tuples {
    /// Distinct tuples.
    pub fn len(&self) -> usize {
        self.tok.len()
    }

    /// True if there is none.
    pub fn is_empty(&self) -> bool {
        self.tok.is_empty()
    }

    /// Distinct contexts.
    pub fn contexts(&self) -> usize {
        self.ctx_start.len() - 1
    }
}

/// Per-thread buffers.
pub struct Scratch {
    green: Vec<bool>,
    /// Dedup unit of each tuple (only for rules where contexts can share a seed).
    class: Vec<u32>,
    classes: HashMap<u128, u32>,
    stamp: Vec<u32>,
    mask: GreenMask,
}

impl Scratch {
    pub fn new(config: &Config, tuples: &Tuples) -> Scratch {
        Scratch {
            green: vec![false; tuples.len()],
            class: Vec::new(),
            classes: HashMap::new(),
            stamp: Vec::new(),
            mask: GreenMask::new(config.vocab_size()),
        }
    }
}

/// True when two tuples with different context ids can share a seed under some key.
fn seeds_shared(seeding: Seeding) -> bool {
    matches!(seeding, Seeding::MinHash(_) | Seeding::SelfHash(_))
}

/// Scores every distinct tuple for the scorer's key with the core's
/// [`Scorer::score_after`] (and, where contexts can share a seed, finds its dedup unit).
fn colour(scorer: &Scorer, tuples: &Tuples, s: &mut Scratch) {
    let shared = seeds_shared(scorer.config().seeding());
    let h = tuples.h;
    let Scratch { green, class, classes, stamp, mask } = s;
    if shared {
        class.clear();
        class.resize(tuples.len(), 0);
        classes.clear();
    }
    for c in 0..tuples.contexts() {
        let ctx = &tuples.ctx_ids[c * h..(c + 1) * h];
        let start = tuples.ctx_start[c] as usize;
        let tokens = &tuples.tok[start..tuples.ctx_start[c + 1] as usize];
        scorer.score_after(0, ctx, tokens, mask, |i, tuple, score| {
            green[start + i] = score.is_green();
            if shared {
                let next = classes.len() as u32;
                class[start + i] = *classes.entry(tuple).or_insert(next);
            }
        });
    }
    let units = if shared { classes.len() } else { tuples.len() };
    stamp.clear();
    stamp.resize(units, 0);
}

/// Per document of `plan`: (scored, green) without dedup and with tuple dedup, for `wm`.
/// `f` is called once per document, in order.
fn each_doc(plan: &Plan, s: &mut Scratch, shared: bool, stamp0: &mut u32, mut f: impl FnMut(u64, u64, u64, u64)) {
    let m = plan.scored();
    for d in 0..plan.docs {
        *stamp0 += 1;
        let cur = *stamp0;
        let (mut k_none, mut n_t, mut k_t) = (0u64, 0u64, 0u64);
        for &t in &plan.tids[d * m..(d + 1) * m] {
            let g = u64::from(s.green[t as usize]);
            k_none += g;
            let unit = if shared { s.class[t as usize] } else { t } as usize;
            if s.stamp[unit] != cur {
                s.stamp[unit] = cur;
                n_t += 1;
                k_t += g;
            }
        }
        f(m as u64, k_none, n_t, k_t);
    }
}

/// Per-document counts `(scored, green)` without dedup and with tuple dedup for one key:
/// the fast path, exposed for tests against the detector's scoring.
pub fn doc_counts(key: &Key, config: Config, len: usize, docs: &[&[u32]]) -> Vec<[(u64, u64); 2]> {
    let scorer = key_scorer(key, config);
    let h = scorer.context_len();
    let (tuples, plans) = build(h, &[(len, docs.to_vec())]);
    let mut s = Scratch::new(&config, &tuples);
    colour(&scorer, &tuples, &mut s);
    let mut out = Vec::new();
    let mut stamp = 0;
    each_doc(&plans[0], &mut s, seeds_shared(config.seeding()), &mut stamp, |n, k, nt, kt| {
        out.push([(n, k), (nt, kt)])
    });
    out
}

// ---------------------------------------------------------------------------------------------
// Histograms

/// Counts of (n, k) per length: without dedup n is fixed (only k varies); with tuple dedup
/// both vary.
#[derive(Clone)]
struct Hist {
    /// Per plan: `none[k]`, `tuple[n * (m + 1) + k]` with `m` the plan's scored positions.
    none: Vec<Vec<u64>>,
    tuple: Vec<Vec<u64>>,
}

impl Hist {
    fn new(plans: &[Plan]) -> Hist {
        Hist {
            none: plans.iter().map(|p| vec![0; p.scored() + 1]).collect(),
            tuple: plans.iter().map(|p| vec![0; (p.scored() + 1) * (p.scored() + 1)]).collect(),
        }
    }

    fn merge(mut self, other: Hist) -> Hist {
        for (a, b) in self.none.iter_mut().zip(other.none).chain(self.tuple.iter_mut().zip(other.tuple)) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self
    }
}

/// The core's scorer for one evaluation key.
fn key_scorer(key: &Key, config: Config) -> Scorer {
    // transformers' KGW schemes take an integer hashing key: the first 8 bytes of the key.
    let key = match config.seeding().key_kind() {
        wmark_core::KeyKind::Hf => {
            let bytes: [u8; 8] = key.dangerous_expose_secret_bytes()[..8].try_into().expect("8 bytes");
            Key::from_hf(i128::from(u64::from_le_bytes(bytes))).expect("every 64-bit unsigned key is in range")
        }
        _ => key.clone(),
    };
    Scorer::new(std::slice::from_ref(&key), config).expect("a key of the scheme's kind")
}

fn tally_key(scorer: &Scorer, tuples: &Tuples, plans: &[Plan], s: &mut Scratch, hist: &mut Hist) {
    colour(scorer, tuples, s);
    let shared = seeds_shared(scorer.config().seeding());
    let mut stamp = 0u32;
    for (i, plan) in plans.iter().enumerate() {
        let m1 = plan.scored() + 1;
        let (none, tuple) = (&mut hist.none[i], &mut hist.tuple[i]);
        each_doc(plan, s, shared, &mut stamp, |_, k, nt, kt| {
            none[k as usize] += 1;
            tuple[nt as usize * m1 + kt as usize] += 1;
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The command

struct Row {
    len: usize,
    dedup: &'static str,
    test: &'static str,
    docs: usize,
    /// (log10 p, scored n, count), sorted by log10 p.
    cells: Vec<(f64, u64, u64)>,
}

/// The p-value of `k` green of `n` scored under `test`.
fn log10_p(test: &str, n: u64, k: u64, gamma: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    match test {
        "binomial" => binomial_upper_tail_log10(n, k, gamma),
        _ => normal_upper_tail_log10(z_score(n, k, gamma)),
    }
}

impl Row {
    fn new(
        len: usize,
        dedup: &'static str,
        test: &'static str,
        docs: usize,
        counts: &[(u64, u64, u64)],
        gamma: f64,
    ) -> Row {
        let mut cells: Vec<(f64, u64, u64)> =
            counts.iter().filter(|c| c.2 > 0).map(|&(n, k, c)| (log10_p(test, n, k, gamma), n, c)).collect();
        cells.sort_by(|a, b| a.0.total_cmp(&b.0));
        Row { len, dedup, test, docs, cells }
    }

    fn detections(&self) -> u64 {
        self.cells.iter().map(|c| c.2).sum()
    }

    fn at_or_below(&self, level: f64) -> u64 {
        self.cells.iter().take_while(|c| c.0 <= level).map(|c| c.2).sum()
    }

    /// The rate at `level` if every scored token were green independently with probability
    /// γ: what the test's discreteness (or the normal approximation) alone gives.
    fn expected_iid(&self, level: f64, gamma: f64) -> f64 {
        let mut per_n: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
        for c in &self.cells {
            *per_n.entry(c.1).or_default() += c.2;
        }
        let total = self.detections() as f64;
        per_n
            .into_iter()
            .map(|(n, count)| {
                // The smallest k whose p is at most the level (p decreases with k).
                let k = (0..=n).find(|&k| log10_p(self.test, n, k, gamma) <= level);
                let size = k.map_or(0.0, |k| 10f64.powf(binomial_upper_tail_log10(n, k, gamma)));
                size * count as f64
            })
            .sum::<f64>()
            / total
    }

    /// The observed log10 p at plotting position q = 10^level: the ⌈qN⌉-th smallest.
    fn quantile(&self, level: f64) -> Option<f64> {
        let n = self.detections();
        let rank = (10f64.powf(level) * n as f64).ceil() as u64;
        if rank == 0 {
            return None;
        }
        let mut seen = 0;
        for c in &self.cells {
            seen += c.2;
            if seen >= rank {
                return Some(c.0);
            }
        }
        None
    }

    fn to_json(&self, gamma: f64, keys: u32) -> serde_json::Value {
        let n = self.detections();
        let scored: f64 = self.cells.iter().map(|c| c.1 as f64 * c.2 as f64).sum::<f64>() / n.max(1) as f64;
        let levels: Vec<serde_json::Value> = LOG10_ALPHAS
            .iter()
            .map(|&l| {
                let k = self.at_or_below(l);
                let (lo, hi) = clopper_pearson(k, n, 0.99);
                let alpha = 10f64.powi(l as i32);
                serde_json::json!({
                    "alpha": alpha,
                    "false_positives": k,
                    "fpr": k as f64 / n.max(1) as f64,
                    "ci99": [lo, hi],
                    "expected_iid": self.expected_iid(l, gamma),
                    "vs_nominal": if lo > alpha { "above" } else if hi < alpha { "below" } else { "consistent" },
                })
            })
            .collect();
        let grid = qq_levels();
        serde_json::json!({
            "length": self.len,
            "dedup": self.dedup,
            "test": self.test,
            "documents_per_key": self.docs,
            "keys": keys,
            "detections": n,
            "scored_mean": scored,
            "levels": levels,
            "ecdf_at_or_below": grid.iter().map(|&l| self.at_or_below(l)).collect::<Vec<_>>(),
            "quantiles_log10": grid.iter().map(|&l| self.quantile(l)).collect::<Vec<_>>(),
        })
    }
}

/// Runs `wmark-eval null`.
pub fn run(args: &NullArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let scheme = args.scheme.resolve(true)?;
    if scheme.config.seeding().is_gumbel() {
        return Err(Fail::usage(format!(
            "the null calibration counts green tokens; {} is a Gumbel-max scheme (scripts/eval calibrates its Gamma test with wmark detect)",
            scheme.config.seeding()
        )));
    }
    if scheme.config.seeding().synthid_ngram_len().is_some() {
        return Err(Fail::usage(format!(
            "the null calibration counts green tokens; {} scores g-values (its null rate is checked by \
             crates/wmark-detect/tests/synthid_detect.rs)",
            scheme.config.seeding()
        )));
    }
    let config = scheme.config;
    let tokenizer = scheme.tokenizer.as_ref().expect("resolve(true) gives a tokenizer");
    let corpus = load_corpus(&args.corpus, tokenizer)?;
    let h = config.seeding().context_len();
    let gamma = config.gamma_effective();
    let tokenized = started.elapsed().as_secs_f64();

    let mut lists: Vec<(usize, Vec<&[u32]>)> = Vec::new();
    for (i, &len) in args.lengths.0.iter().enumerate() {
        if len <= h {
            return Err(Fail::usage(format!(
                "length {len} leaves nothing to score: {} needs {h} tokens of context",
                config.seeding()
            )));
        }
        let mut docs = corpus.documents(len);
        if docs.is_empty() {
            return Err(Fail::usage(format!(
                "no document of {len} tokens: the longest text of {} has {} tokens",
                corpus.source,
                corpus.files.iter().map(Vec::len).max().unwrap_or(0)
            )));
        }
        if let Some(max) = args.max_docs {
            let mut g = SplitMix64::new(args.seed, &[0x646f_6373, i as u64]);
            let pick = g.sample_indices(docs.len(), max as usize);
            docs = pick.into_iter().map(|j| docs[j]).collect();
        }
        lists.push((len, docs.iter().map(|&d| corpus.doc(d, len)).collect()));
    }
    let (tuples, plans) = build(h, &lists);
    drop(lists);
    let indexed = started.elapsed().as_secs_f64();

    // One key alone first, to estimate the wall time.
    let threads = rayon::current_num_threads();
    let keys = args.keys_count;
    let t0 = Instant::now();
    let mut hist = Hist::new(&plans);
    {
        let mut s = Scratch::new(&config, &tuples);
        tally_key(&key_scorer(&eval_key(args.seed, 0), config), &tuples, &plans, &mut s, &mut hist);
    }
    let per_key = t0.elapsed().as_secs_f64();
    let detections_per_key: usize = plans.iter().map(|p| p.docs).sum();
    eprintln!(
        "eval null: {} tokens in {} files, {} distinct tuples, {} documents per key (each tested with and without dedup); {:.3} s per key, \
         estimated {:.0} s for {keys} keys on {threads} thread(s)",
        corpus.tokens(),
        corpus.files.len(),
        tuples.len(),
        detections_per_key,
        per_key,
        per_key * f64::from(keys - 1) / threads as f64
    );
    if keys > 1 {
        let rest = (1..keys)
            .into_par_iter()
            .fold(
                || (Scratch::new(&config, &tuples), Hist::new(&plans)),
                |(mut s, mut hist), i| {
                    tally_key(&key_scorer(&eval_key(args.seed, i), config), &tuples, &plans, &mut s, &mut hist);
                    (s, hist)
                },
            )
            .map(|(_, h)| h)
            .reduce(|| Hist::new(&plans), Hist::merge);
        hist = hist.merge(rest);
    }
    let keyed = t0.elapsed().as_secs_f64();

    let mut rows = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let m = plan.scored() as u64;
        let none: Vec<(u64, u64, u64)> = hist.none[i].iter().enumerate().map(|(k, &c)| (m, k as u64, c)).collect();
        let tuple: Vec<(u64, u64, u64)> =
            hist.tuple[i].iter().enumerate().map(|(j, &c)| (j as u64 / (m + 1), j as u64 % (m + 1), c)).collect();
        for (dedup, counts) in [("tuple", &tuple), ("none", &none)] {
            for test in ["binomial", "normal"] {
                rows.push(Row::new(plan.len, dedup, test, plan.docs, counts, gamma));
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();

    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "command": "eval null",
            "version": env!("CARGO_PKG_VERSION"),
            "scheme": config.seeding().to_string(),
            "gamma": args.scheme.gamma.unwrap_or(gamma),
            "gamma_effective": gamma,
            "vocab_size": config.vocab_size(),
            "tokenizer": scheme.tokenizer_path.as_ref().map(|p| p.display().to_string()),
            "tokenizer_sha256": tokenizer.sha256(),
            "corpus": corpus.to_json(),
            "keys": keys,
            "seed": args.seed,
            "max_docs": args.max_docs,
            "lengths": args.lengths.0,
            "distinct_tuples": tuples.len(),
            "threads": threads,
            "notes": "documents are non-overlapping runs of `length` tokens within one file; the first context_len tokens \
                      of each are context only. ci99: Clopper-Pearson, treating detections as independent (one document's \
                      detections under different keys are; documents sharing tuples under one key are weakly dependent). \
                      expected_iid: the rate if scored tokens were independent Bernoulli(gamma_effective). \
                      ecdf_at_or_below[i]: detections with log10 p <= qq_levels_log10[i]; quantiles_log10[i]: the \
                      ceil(10^level * detections)-th smallest log10 p (null when that rank is 0).",
            "context_len": h,
            "qq_levels_log10": qq_levels(),
            "rows": rows.iter().map(|r| r.to_json(gamma, keys)).collect::<Vec<_>>(),
            "seconds": { "tokenize": tokenized, "index": indexed - tokenized, "keys": keyed, "total": wall },
        });
        writeln!(out, "{value}")?;
    } else {
        writeln!(
            out,
            "null calibration: {} {} (γ = {gamma}), {keys} keys, {} ({} tokens in {} files)",
            config.seeding(),
            tokenizer.sha256().get(..12).unwrap_or(""),
            corpus.source,
            corpus.tokens(),
            corpus.files.len()
        )?;
        write!(out, "{:>6} {:<6} {:<9} {:>11}", "length", "dedup", "test", "detections")?;
        for l in LOG10_ALPHAS {
            write!(out, " {:>34}", format!("FPR at 1e{l} [99% CI] (iid)"))?;
        }
        writeln!(out)?;
        for r in &rows {
            let n = r.detections();
            write!(out, "{:>6} {:<6} {:<9} {:>11}", r.len, r.dedup, r.test, n)?;
            for l in LOG10_ALPHAS {
                let k = r.at_or_below(l);
                let (lo, hi) = clopper_pearson(k, n, 0.99);
                let mark = if lo > 10f64.powi(l as i32) { "!" } else { " " };
                let cell =
                    format!("{:.2e} [{lo:.1e},{hi:.1e}] ({:.1e}){mark}", k as f64 / n as f64, r.expected_iid(l, gamma));
                write!(out, " {cell:>34}")?;
            }
            writeln!(out)?;
        }
        writeln!(out, "! = above the nominal rate at 99%")?;
        writeln!(out, "wall time {wall:.1} s (tokenize {tokenized:.1} s, keys {keyed:.1} s, {threads} thread(s))")?;
    }
    Ok(ExitCode::SUCCESS)
}
