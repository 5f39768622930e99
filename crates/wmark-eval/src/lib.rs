//! `wmark-eval`: the compute-heavy parts of the evaluation harness, each writing one JSON
//! object that `scripts/eval` turns into tables and plots. Its own binary (`wmark-eval null`,
//! `wmark-eval attack`), not part of the `wmark` command line; not published.
//!
//! * [`null`]: false positive rates on human text over many random keys (null calibration),
//!   for the exact binomial test and the z-test's normal approximation, with and without
//!   dedup.
//! * [`attack`]: true positive rates of watermarked generations after token substitution,
//!   deletion, insertion and copy-paste into human text, for the whole-text test and the
//!   window test.
//!
//! Both read human text (by default the State of the Union corpus from the asset cache)
//! through the scheme's tokenizer, so that it is tokenized the way generations are.

pub mod attack;
pub mod null;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use rayon::prelude::*;
use wmark_detect::stats::binomial_upper_tail_log10;
use wmark_detect::TextTokenizer;

use wmark::fail::{Fail, Result};

/// The `wmark-eval` subcommands.
#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// False positive rates on human text over many random keys (null calibration).
    ///
    /// Human text is tokenized, cut into non-overlapping documents of each length, and every
    /// document is tested with every key: exact binomial and normal-approximation p-values,
    /// with tuple dedup and without. Keys are drawn from --seed and never written anywhere.
    Null(null::NullArgs),
    /// Detection rates of watermarked generations after edits and copy-paste.
    ///
    /// Substitution, deletion and insertion of a fraction of the first --tokens tokens of
    /// each generation, and a span of watermarked tokens pasted into human text; the
    /// whole-text test against the window test (Bonferroni-corrected), and both tests' false
    /// positive rates on human documents of the same lengths.
    Attack(attack::AttackArgs),
}

/// Runs one `wmark-eval` subcommand.
pub fn run(command: EvalCommand) -> Result<ExitCode> {
    match command {
        EvalCommand::Null(args) => null::run(&args),
        EvalCommand::Attack(args) => attack::run(&args),
    }
}

// ---------------------------------------------------------------------------------------------
// Human text

/// Human text, tokenized: one id sequence per file.
pub struct HumanCorpus {
    /// A short description of where the text came from (paths).
    pub source: String,
    /// Token ids of each file, in file order.
    pub files: Vec<Vec<u32>>,
}

impl HumanCorpus {
    /// Total number of tokens.
    pub fn tokens(&self) -> usize {
        self.files.iter().map(Vec::len).sum()
    }

    /// Every non-overlapping run of `len` tokens of every file, as (file, start); the rest of
    /// each file is left out, and no document spans two files.
    pub fn documents(&self, len: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (f, ids) in self.files.iter().enumerate() {
            for d in 0..ids.len() / len {
                out.push((f, d * len));
            }
        }
        out
    }

    /// The ids of document (file, start) of `len` tokens.
    pub fn doc(&self, (file, start): (usize, usize), len: usize) -> &[u32] {
        &self.files[file][start..start + len]
    }

    /// The JSON description.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "source": self.source, "files": self.files.len(), "tokens": self.tokens() })
    }
}

/// The default human corpus: `<cache>/sotu`.
pub fn default_corpus() -> Result<Vec<PathBuf>> {
    let dir = wmark_lm::assets::cache_dir().join("sotu");
    if !dir.is_dir() {
        return Err(Fail::usage(format!(
            "{} is missing: run scripts/fetch-assets (or give --corpus PATH)",
            dir.display()
        )));
    }
    Ok(vec![dir])
}

/// Reads and tokenizes every file of `paths` (files or directories; `.`-files skipped),
/// normalised the way the detector normalises text, in parallel. Files are kept in path
/// order, so the result does not depend on the number of threads.
pub fn load_corpus(paths: &[PathBuf], tokenizer: &TextTokenizer) -> Result<HumanCorpus> {
    let paths = if paths.is_empty() { default_corpus()? } else { paths.to_vec() };
    for p in &paths {
        if !p.exists() {
            return Err(Fail::usage(format!("{}: no such file or directory", p.display())));
        }
    }
    let files = wmark::input::expand(&paths)?;
    if files.is_empty() {
        return Err(Fail::usage(format!("no human text found in {}", describe(&paths))));
    }
    let encoded: Vec<Vec<u32>> = files
        .par_iter()
        .map(|f| {
            let bytes = std::fs::read(f).map_err(|e| Fail::io(f, &e))?;
            let text = String::from_utf8(bytes).map_err(|_| Fail::usage(format!("{}: not UTF-8 text", f.display())))?;
            wmark::input::encode_text(tokenizer, &text, &f.display().to_string())
        })
        .collect::<Result<_>>()?;
    Ok(HumanCorpus { source: describe(&paths), files: encoded })
}

fn describe(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------------------------------------
// Randomness and statistics

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator for the
/// harness's sampling decisions (which documents, where to edit). Not for green lists, and
/// not for keys (those come from [`wmark_core::Key::derive_account`]).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator for `seed` and a stream label, so that independent decisions (per
    /// generation, per attack) get unrelated streams whatever the thread schedule.
    pub fn new(seed: u64, stream: &[u64]) -> SplitMix64 {
        let mut g = SplitMix64(seed ^ 0x6a09_e667_f3bc_c908);
        for &s in stream {
            let x = g.next_u64();
            g = SplitMix64(x ^ s.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        g
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), without modulo bias (Lemire's multiply-shift with
    /// rejection).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// `k` distinct indices of `0..n`, uniformly chosen, in increasing order.
    pub fn sample_indices(&mut self, n: usize, k: usize) -> Vec<usize> {
        let k = k.min(n);
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = i + self.below((n - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(k);
        all.sort_unstable();
        all
    }
}

/// The exact (Clopper–Pearson) two-sided confidence interval at `level` (e.g. 0.99) for a
/// binomial proportion after `k` successes in `n` trials. `(0, 1)` when `n = 0`.
///
/// The bounds solve `P(Bin(n, lo) ≥ k) = (1 − level)/2` and `P(Bin(n, hi) ≤ k) = (1 −
/// level)/2` by bisection on log10 p, with the exact tails of `wmark_detect::stats`.
pub fn clopper_pearson(k: u64, n: u64, level: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let tail = ((1.0 - level) / 2.0).log10();
    // log10 P(Bin(n, p) ≥ k) increases with p.
    let lo = if k == 0 { 0.0 } else { solve_increasing(|p| binomial_upper_tail_log10(n, k, p), tail) };
    let hi = if k >= n {
        1.0
    } else {
        // P(Bin ≤ k) = 1 − P(Bin ≥ k + 1) = tail  ⇔  P(Bin ≥ k + 1) = 1 − 10^tail.
        let target = (-(10f64.powf(tail))).ln_1p() / std::f64::consts::LN_10;
        solve_increasing(|p| binomial_upper_tail_log10(n, k + 1, p), target)
    };
    (lo, hi)
}

/// The `p` in (0, 1) where the increasing `f(p)` crosses `target`, by bisection on
/// `log10 p` down to 1e-300 (to about 1e-12 relative).
fn solve_increasing(f: impl Fn(f64) -> f64, target: f64) -> f64 {
    // Bisect on x = log10 p in [-300, 0), then finish linearly near 1.
    let (mut a, mut b) = (-300.0f64, 0.0f64);
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        let p = 10f64.powf(m);
        if p >= 1.0 {
            b = m;
            continue;
        }
        if f(p) < target {
            a = m;
        } else {
            b = m;
        }
        if b - a < 1e-13 {
            break;
        }
    }
    10f64.powf(0.5 * (a + b))
}

/// A proportion with its 99% Clopper–Pearson interval, as JSON.
pub fn rate_json(k: u64, n: u64) -> serde_json::Value {
    let (lo, hi) = clopper_pearson(k, n, 0.99);
    serde_json::json!({
        "count": k,
        "of": n,
        "rate": if n == 0 { None } else { Some(k as f64 / n as f64) },
        "ci99": [lo, hi],
    })
}

/// Parses a comma-separated list with `parse` applied to each item.
pub fn parse_list<T>(s: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> std::result::Result<Vec<T>, String> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim) {
        match parse(item) {
            Some(v) => out.push(v),
            None => return Err(format!("{item:?} is not {what}")),
        }
    }
    if out.is_empty() {
        return Err(format!("expected a comma-separated list of {what}"));
    }
    Ok(out)
}

/// A file name for messages.
pub(crate) fn shown(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_matches_known_values() {
        // Exact sums of the binomial pmf, solved by bisection (Python, math.comb).
        let (lo, hi) = clopper_pearson(5, 100, 0.99);
        assert!((lo - 0.010_940_333_6).abs() < 1e-9, "{lo}");
        assert!((hi - 0.135_144_682_5).abs() < 1e-9, "{hi}");
        let (lo, hi) = clopper_pearson(0, 1000, 0.99);
        assert_eq!(lo, 0.0);
        // 1 - 0.005^(1/1000)
        assert!((hi - (1.0 - 0.005f64.powf(1e-3))).abs() < 1e-9, "{hi}");
    }

    #[test]
    fn splitmix_is_deterministic_and_unbiased_enough() {
        let mut a = SplitMix64::new(7, &[1, 2]);
        let mut b = SplitMix64::new(7, &[1, 2]);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut c = SplitMix64::new(7, &[1, 3]);
        assert_ne!(a.next_u64(), c.next_u64());
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[a.below(3) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (9_500..10_500).contains(&c)), "{counts:?}");
        let s = a.sample_indices(10, 4);
        assert_eq!(s.len(), 4);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
    }
}
