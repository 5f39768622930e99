//! Seeding rules and the validated scheme configuration.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The largest `h` accepted by the rules that take one.
pub const MAX_H: usize = 32;

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
}

impl Seeding {
    /// How many tokens before the scored position the rule reads.
    pub fn context_len(&self) -> usize {
        match *self {
            Seeding::Unigram => 0,
            Seeding::LeftHash => 1,
            Seeding::Window(h) | Seeding::MinHash(h) => h,
            Seeding::SelfHash(h) => h - 1,
        }
    }

    /// True if the seed depends on the candidate token itself (only `selfhash`): then there
    /// is no single green list per context, and masks cannot be expanded.
    pub fn depends_on_candidate(&self) -> bool {
        matches!(self, Seeding::SelfHash(_))
    }

    fn validate(&self) -> Result<(), Error> {
        match *self {
            Seeding::Window(h) | Seeding::MinHash(h) | Seeding::SelfHash(h) if !(1..=MAX_H).contains(&h) => {
                Err(Error::config(format!("the seeding rule's h must be between 1 and {MAX_H}, got {h}")))
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
        }
    }
}

impl FromStr for Seeding {
    type Err = Error;

    /// Parses the canonical names: `unigram`, `lefthash`, `window:h`, `minhash:h`,
    /// `selfhash:h` with `h` a decimal number from 1 to 32 without leading zeros.
    fn from_str(s: &str) -> Result<Seeding, Error> {
        const KNOWN: &str = "expected one of unigram, lefthash, window:H, minhash:H, selfhash:H";
        let rule = match s {
            "unigram" => Seeding::Unigram,
            "lefthash" => Seeding::LeftHash,
            _ => {
                let Some((name, h)) = s.split_once(':') else {
                    return Err(Error::config(format!("unknown seeding rule {s:?}; {KNOWN}")));
                };
                let parsed: Option<usize> =
                    if h.starts_with('0') || !h.bytes().all(|b| b.is_ascii_digit()) { None } else { h.parse().ok() };
                let Some(h) = parsed else {
                    return Err(Error::config(format!(
                        "in seeding rule {s:?}, H must be a whole number from 1 to {MAX_H}"
                    )));
                };
                match name {
                    "window" => Seeding::Window(h),
                    "minhash" => Seeding::MinHash(h),
                    "selfhash" => Seeding::SelfHash(h),
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
    pub fn new(seeding: Seeding, gamma: f64, delta: f32, vocab_size: u32) -> Result<Config, Error> {
        seeding.validate()?;
        if !gamma.is_finite() || gamma <= 0.0 || gamma >= 1.0 {
            return Err(Error::config(format!("gamma must be strictly between 0 and 1, got {gamma}")));
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
        Ok(Config { seeding, threshold: g as u8, delta, vocab_size })
    }

    /// The seeding rule.
    pub fn seeding(&self) -> Seeding {
        self.seeding
    }

    /// `G`: a token is green iff its keystream byte is below this.
    pub fn green_threshold(&self) -> u8 {
        self.threshold
    }

    /// The effective green fraction `G/256`, the value every statistic must use.
    pub fn gamma_effective(&self) -> f64 {
        f64::from(self.threshold) / 256.0
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
