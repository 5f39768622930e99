//! Seeding rules and the validated scheme configuration.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::key::KeyKind;

/// The largest `h` accepted by the rules that take one.
pub const MAX_H: usize = 32;

/// The largest `context_width` accepted by the vLLM-compatible schemes.
pub const MAX_VLLM_WIDTH: usize = 1024;

/// transformers' default `sampling_table_size` of SynthID-Text.
pub const DEFAULT_SYNTHID_TABLE_SIZE: u32 = 1 << 16;

/// The `ngram_len` of `hf-synthid` when none is given (transformers' examples use 5).
pub const DEFAULT_SYNTHID_NGRAM_LEN: usize = 5;

/// vLLM's default weight of key B in its dual-key scheme.
pub const DEFAULT_VLLM_ALPHA: f64 = 0.1;

/// How the seed of a green list is chosen from the tokens before the scored position.
///
/// The canonical string (`Display`/`FromStr`) is part of the v1 format: it is hashed into
/// every context seed, so `window:3` and `window:4` give unrelated green lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Seeding {
    /// One fixed green list for every position (no context).
    Unigram,
    /// The green list depends on the previous token only.
    LeftHash,
    /// The green list depends on the previous `h` tokens, in order.
    Window(usize),
    /// The green list depends on the previous-`h` token with the smallest keyed token hash.
    MinHash(usize),
    /// Each candidate token `c` picks its own seed from `c` and the token with the smallest
    /// keyed token hash among the previous `h - 1` tokens and `c`.
    SelfHash(usize),
    /// Distortion-free Gumbel-max sampling: a keyed uniform per (previous `h` tokens,
    /// candidate), read as 32-bit words of the v1 keystream.
    Gumbel(usize),
    /// vLLM's native Gumbel-max watermark (`philox4x32-10-v1`) with this `context_width`:
    /// the previous generated tokens, −1 before the first. Needs a vLLM key.
    VllmGumbel(usize),
    /// vLLM's dual-key Gumbel-max watermark (keys A and B derived from one vLLM key, key B
    /// chosen with probability α, see [`Config::alpha`]) with this `context_width`.
    VllmDualKeyGumbel(usize),
    /// Hugging Face transformers' KGW `lefthash` with this `context_width`: the green list
    /// of `int(V·γ)` ids is a prefix of torch's `randperm(V)` seeded with the hashing key
    /// times the previous id; the detector takes `context_width + 1` ids as one n-gram.
    /// Needs an HF key. Detection only.
    HfLeftHash(usize),
    /// Hugging Face transformers' KGW `selfhash` with this `context_width`: the window of
    /// `context_width` ids ends with the candidate itself. Needs an HF key. Detection only.
    HfSelfHash(usize),
    /// Hugging Face transformers' SynthID-Text with this `ngram_len`: each layer's g-value is
    /// a bit of the sampling table picked by a hash of the n-gram (the previous
    /// `ngram_len − 1` ids and the candidate) and the layer's key; generation is tournament
    /// sampling ([`Config::synthid`]). Needs a SynthID key.
    HfSynthId(usize),
}

impl Seeding {
    /// How many tokens before the scored position the rule reads.
    pub fn context_len(&self) -> usize {
        match *self {
            Seeding::Unigram => 0,
            Seeding::LeftHash => 1,
            Seeding::Window(h) | Seeding::MinHash(h) | Seeding::Gumbel(h) => h,
            Seeding::SelfHash(h) => h - 1,
            // Every generated token has a context: −1 stands in before the first.
            Seeding::VllmGumbel(_) | Seeding::VllmDualKeyGumbel(_) => 0,
            // transformers' detector scores an id once a whole n-gram ends with it.
            Seeding::HfLeftHash(w) => w,
            Seeding::HfSelfHash(w) => w - 1,
            Seeding::HfSynthId(n) => n - 1,
        }
    }

    /// The `ngram_len` of `hf-synthid` (`None` otherwise).
    pub fn synthid_ngram_len(&self) -> Option<usize> {
        match *self {
            Seeding::HfSynthId(n) => Some(n),
            _ => None,
        }
    }

    /// The `context_width` of a Hugging Face-compatible scheme (`None` otherwise).
    pub fn hf_width(&self) -> Option<usize> {
        match *self {
            Seeding::HfLeftHash(w) | Seeding::HfSelfHash(w) => Some(w),
            _ => None,
        }
    }

    /// True for the schemes wmark detects but does not generate (the Hugging Face ones:
    /// text with their watermark is made by transformers).
    pub fn is_detect_only(&self) -> bool {
        self.hf_width().is_some()
    }

    /// True for the Gumbel-max schemes, whose units carry a real-valued score instead of a
    /// green bit.
    pub fn is_gumbel(&self) -> bool {
        matches!(self, Seeding::Gumbel(_) | Seeding::VllmGumbel(_) | Seeding::VllmDualKeyGumbel(_))
    }

    /// The `context_width` of a vLLM-compatible scheme (`None` for wmark's own schemes).
    pub fn vllm_width(&self) -> Option<usize> {
        match *self {
            Seeding::VllmGumbel(w) | Seeding::VllmDualKeyGumbel(w) => Some(w),
            _ => None,
        }
    }

    /// The kind of key the scheme is keyed with.
    pub fn key_kind(&self) -> KeyKind {
        if self.vllm_width().is_some() {
            KeyKind::Vllm
        } else if self.hf_width().is_some() {
            KeyKind::Hf
        } else if self.synthid_ngram_len().is_some() {
            KeyKind::SynthId
        } else {
            KeyKind::V1
        }
    }

    /// True if the seed depends on the candidate token itself (`selfhash`, `hf-selfhash`):
    /// then there is no single green list per context, and masks cannot be expanded.
    pub fn depends_on_candidate(&self) -> bool {
        matches!(self, Seeding::SelfHash(_) | Seeding::HfSelfHash(_))
    }

    fn validate(&self) -> Result<(), Error> {
        match *self {
            Seeding::Window(h) | Seeding::MinHash(h) | Seeding::SelfHash(h) | Seeding::Gumbel(h)
                if !(1..=MAX_H).contains(&h) =>
            {
                Err(Error::config(format!("the seeding rule's h must be between 1 and {MAX_H}, got {h}")))
            }
            Seeding::VllmGumbel(w)
            | Seeding::VllmDualKeyGumbel(w)
            | Seeding::HfLeftHash(w)
            | Seeding::HfSelfHash(w)
                if !(1..=MAX_VLLM_WIDTH).contains(&w) =>
            {
                Err(Error::config(format!("the context width must be between 1 and {MAX_VLLM_WIDTH}, got {w}")))
            }
            Seeding::HfSynthId(n) if !(2..=MAX_VLLM_WIDTH).contains(&n) => {
                Err(Error::config(format!("the SynthID ngram_len must be between 2 and {MAX_VLLM_WIDTH}, got {n}")))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Seeding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Seeding::Unigram => f.write_str("unigram"),
            Seeding::LeftHash => f.write_str("lefthash"),
            Seeding::Window(h) => write!(f, "window:{h}"),
            Seeding::MinHash(h) => write!(f, "minhash:{h}"),
            Seeding::SelfHash(h) => write!(f, "selfhash:{h}"),
            Seeding::Gumbel(h) => write!(f, "gumbel:{h}"),
            Seeding::VllmGumbel(w) => write!(f, "vllm-gumbel:{w}"),
            Seeding::VllmDualKeyGumbel(w) => write!(f, "vllm-dual-key-gumbel:{w}"),
            Seeding::HfLeftHash(w) => write!(f, "hf-lefthash:{w}"),
            Seeding::HfSelfHash(w) => write!(f, "hf-selfhash:{w}"),
            Seeding::HfSynthId(n) => write!(f, "hf-synthid:{n}"),
        }
    }
}

impl FromStr for Seeding {
    type Err = Error;

    /// Parses the canonical names: `unigram`, `lefthash`, `window:h`, `minhash:h`,
    /// `selfhash:h`, `gumbel:h` with `h` a decimal number from 1 to 32 without leading
    /// zeros, and `vllm-gumbel:w`, `vllm-dual-key-gumbel:w`, `hf-lefthash:w`, `hf-selfhash:w`
    /// with `w` from 1 to 1024, and `hf-synthid:n` with `n` from 2 to 1024.
    fn from_str(s: &str) -> Result<Seeding, Error> {
        const KNOWN: &str = "expected one of unigram, lefthash, window:H, minhash:H, selfhash:H, gumbel:H, \
                             vllm-gumbel:W, vllm-dual-key-gumbel:W, hf-lefthash:W, hf-selfhash:W, hf-synthid:N";
        let rule = match s {
            "unigram" => Seeding::Unigram,
            "lefthash" => Seeding::LeftHash,
            _ => {
                let Some((name, h)) = s.split_once(':') else {
                    return Err(Error::config(format!("unknown seeding rule {s:?}; {KNOWN}")));
                };
                let parsed: Option<usize> =
                    if h.starts_with('0') || !h.bytes().all(|b| b.is_ascii_digit()) { None } else { h.parse().ok() };
                let vllm = name.starts_with("vllm-") || name.starts_with("hf-");
                let Some(h) = parsed else {
                    let max = if vllm { MAX_VLLM_WIDTH } else { MAX_H };
                    return Err(Error::config(format!(
                        "in seeding rule {s:?}, the number after ':' must be a whole number from 1 to {max}"
                    )));
                };
                match name {
                    "window" => Seeding::Window(h),
                    "minhash" => Seeding::MinHash(h),
                    "selfhash" => Seeding::SelfHash(h),
                    "gumbel" => Seeding::Gumbel(h),
                    "vllm-gumbel" => Seeding::VllmGumbel(h),
                    "vllm-dual-key-gumbel" => Seeding::VllmDualKeyGumbel(h),
                    "hf-lefthash" => Seeding::HfLeftHash(h),
                    "hf-selfhash" => Seeding::HfSelfHash(h),
                    "hf-synthid" => Seeding::HfSynthId(h),
                    _ => return Err(Error::config(format!("unknown seeding rule {s:?}; {KNOWN}"))),
                }
            }
        };
        rule.validate()?;
        Ok(rule)
    }
}

/// A validated watermark configuration: seeding rule, green fraction, bias and vocabulary size.
///
/// Every value is checked in [`Config::new`]; a `Config` that exists is usable everywhere.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    seeding: Seeding,
    threshold: u8,
    delta: f32,
    vocab_size: u32,
    alpha: f64,
    /// The Hugging Face schemes' `greenlist_ratio`, unrounded (0 for the others).
    hf_ratio: f64,
    /// `hf-synthid`'s sampling table: its size, seed and share of ones (zeros otherwise).
    table_size: u32,
    table_seed: u64,
    table_ones: f64,
}

impl Config {
    /// Builds a configuration.
    ///
    /// * `gamma` is rounded to a multiple of 1/256: `G = round(256·γ)` must lie in 1..=255.
    ///   The statistics use the effective value `G/256`, see [`Config::gamma_effective`].
    /// * `delta`, the bias added to green logits, must be finite and non-negative
    ///   (0 turns the watermark off while keeping everything else equal, for controls).
    /// * `vocab_size` is the number of token ids of the model's logits row that can be green;
    ///   ids at or above it are never green. It must be at least 1.
    ///
    /// For the Hugging Face schemes `gamma` is transformers' `greenlist_ratio`, kept as given:
    /// `int(V·γ)` ids are green (at least one, and not all), `V` below
    /// [`RANDPERM_SMALL_LIMIT`](crate::hf::RANDPERM_SMALL_LIMIT); see
    /// [`Config::gamma_effective`].
    pub fn new(seeding: Seeding, gamma: f64, delta: f32, vocab_size: u32) -> Result<Config, Error> {
        seeding.validate()?;
        if seeding.synthid_ngram_len().is_some() {
            return Err(Error::config(format!("{seeding} has no green list; build it with Config::synthid")));
        }
        if !gamma.is_finite() || gamma <= 0.0 || gamma >= 1.0 {
            return Err(Error::config(format!("gamma must be strictly between 0 and 1, got {gamma}")));
        }
        if seeding.hf_width().is_some() {
            if vocab_size == 0 || vocab_size >= crate::hf::RANDPERM_SMALL_LIMIT {
                return Err(Error::config(format!(
                    "the Hugging Face schemes need a vocabulary of 1 to {} ids, got {vocab_size}",
                    crate::hf::RANDPERM_SMALL_LIMIT - 1
                )));
            }
            let green = crate::hf::greenlist_size(vocab_size, gamma);
            if green == 0 || green >= vocab_size {
                return Err(Error::config(format!(
                    "gamma {gamma} makes int({vocab_size} x gamma) = {green} green ids; it must be between 1 and {}",
                    vocab_size - 1
                )));
            }
            if !delta.is_finite() || delta < 0.0 {
                return Err(Error::config(format!("delta must be finite and at least 0, got {delta}")));
            }
            return Ok(Config { hf_ratio: gamma, delta, ..Config::bare(seeding, vocab_size) });
        }
        let g = (256.0 * gamma).round();
        if !(1.0..=255.0).contains(&g) {
            return Err(Error::config(format!(
                "gamma {gamma} rounds to {g}/256; it must round to between 1/256 and 255/256"
            )));
        }
        if !delta.is_finite() || delta < 0.0 {
            return Err(Error::config(format!("delta must be finite and at least 0, got {delta}")));
        }
        if vocab_size == 0 {
            return Err(Error::config("vocab_size must be at least 1"));
        }
        Ok(Config { threshold: g as u8, delta, ..Config::bare(seeding, vocab_size) })
    }

    fn bare(seeding: Seeding, vocab_size: u32) -> Config {
        Config {
            seeding,
            threshold: 0,
            delta: 0.0,
            vocab_size,
            alpha: DEFAULT_VLLM_ALPHA,
            hf_ratio: 0.0,
            table_size: 0,
            table_seed: 0,
            table_ones: 0.0,
        }
    }

    /// A configuration for `hf-synthid:n` (transformers' SynthID-Text): its sampling table
    /// has `sampling_table_size` fair bits (1 to 2^24; transformers' default
    /// [`DEFAULT_SYNTHID_TABLE_SIZE`]) drawn by torch's generator from `sampling_table_seed`
    /// (default 0). Building it draws the table once, to know its share of ones (about
    /// 0.2 ms at the default size).
    pub fn synthid(
        seeding: Seeding,
        vocab_size: u32,
        sampling_table_size: u32,
        sampling_table_seed: u64,
    ) -> Result<Config, Error> {
        seeding.validate()?;
        if seeding.synthid_ngram_len().is_none() {
            return Err(Error::config(format!("{seeding} is not a SynthID-Text scheme")));
        }
        if vocab_size == 0 {
            return Err(Error::config("vocab_size must be at least 1"));
        }
        if !(1..=crate::hf::SYNTHID_MAX_TABLE_SIZE).contains(&(sampling_table_size as usize)) {
            return Err(Error::config(format!(
                "the SynthID sampling_table_size must be between 1 and 2^24, got {sampling_table_size}"
            )));
        }
        let table = crate::hf::randint_bits(
            &mut crate::hf::TorchGenerator::new(sampling_table_seed),
            sampling_table_size as usize,
        );
        let ones = table.iter().map(|&b| u64::from(b)).sum::<u64>();
        if ones == 0 || ones == u64::from(sampling_table_size) {
            return Err(Error::config(format!(
                "the SynthID sampling table (size {sampling_table_size}, seed {sampling_table_seed}) holds only {}s: \
                 every g-value is the same and nothing can be detected; use a larger table",
                if ones == 0 { 0 } else { 1 }
            )));
        }
        Ok(Config {
            table_size: sampling_table_size,
            table_seed: sampling_table_seed,
            table_ones: ones as f64 / f64::from(sampling_table_size),
            ..Config::bare(seeding, vocab_size)
        })
    }

    /// `hf-synthid`'s sampling table: (size, seed, share of ones); `None` for the others.
    pub fn synthid_table(&self) -> Option<(u32, u64, f64)> {
        self.seeding.synthid_ngram_len().map(|_| (self.table_size, self.table_seed, self.table_ones))
    }

    /// A configuration for a Gumbel-max scheme (`gumbel:h`, `vllm-gumbel:w`,
    /// `vllm-dual-key-gumbel:w`), which has no green fraction and no bias.
    pub fn gumbel(seeding: Seeding, vocab_size: u32) -> Result<Config, Error> {
        if !seeding.is_gumbel() {
            return Err(Error::config(format!("{seeding} is not a Gumbel-max scheme")));
        }
        Config::new(seeding, 0.5, 0.0, vocab_size)
    }

    /// Sets the weight α of key B of the dual-key scheme, in [0, 1] (default 0.1, vLLM's).
    pub fn with_alpha(mut self, alpha: f64) -> Result<Config, Error> {
        if !(0.0..=1.0).contains(&alpha) {
            return Err(Error::config(format!("the dual-key weight alpha must be between 0 and 1, got {alpha}")));
        }
        self.alpha = alpha;
        Ok(self)
    }

    /// The weight α of key B in the dual-key scheme (unused by the other schemes).
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The seeding rule.
    pub fn seeding(&self) -> Seeding {
        self.seeding
    }

    /// `G`: a token is green iff its keystream byte is below this (0 for the Hugging Face
    /// schemes, whose green lists are not keystream bytes).
    pub fn green_threshold(&self) -> u8 {
        self.threshold
    }

    /// The effective green fraction, the value every statistic must use: `G/256`, or for
    /// the Hugging Face schemes `int(V·γ)/V`, the exact share of green ids; for `hf-synthid`
    /// the share of ones in its sampling table (the chance of a g-value of 1 under the null).
    pub fn gamma_effective(&self) -> f64 {
        if self.seeding.synthid_ngram_len().is_some() {
            return self.table_ones;
        }
        if self.seeding.hf_width().is_some() {
            return f64::from(crate::hf::greenlist_size(self.vocab_size, self.hf_ratio)) / f64::from(self.vocab_size);
        }
        f64::from(self.threshold) / 256.0
    }

    /// The Hugging Face schemes' `greenlist_ratio` as given (`None` for the others).
    pub fn hf_greenlist_ratio(&self) -> Option<f64> {
        self.seeding.hf_width().map(|_| self.hf_ratio)
    }

    /// The bias added to green logits.
    pub fn delta(&self) -> f32 {
        self.delta
    }

    /// The vocabulary size.
    pub fn vocab_size(&self) -> u32 {
        self.vocab_size
    }
}
