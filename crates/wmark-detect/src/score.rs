//! Scoring a token sequence against one key: which tokens are green, which are scored.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use wmark_core::{Seed, Watermark};

use crate::error::Error;

/// Which repeated units are scored only once.
///
/// Dedup is part of the null hypothesis, not an optimisation: the green status of a token is
/// a deterministic function of its (context, token) tuple, so a repeated tuple adds no new
/// evidence, and counting it again makes the binomial test anti-conservative on repetitive
/// human text (lists, code, boilerplate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dedup {
    /// Every position with a full context is scored.
    None,
    /// A position is scored only the first time its context (the green list's seed) is seen.
    Window,
    /// A position is scored only the first time its (context, token) tuple is seen.
    #[default]
    Tuple,
}

impl fmt::Display for Dedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dedup::None => "none",
            Dedup::Window => "window",
            Dedup::Tuple => "tuple",
        })
    }
}

impl FromStr for Dedup {
    type Err = Error;

    fn from_str(s: &str) -> Result<Dedup, Error> {
        match s {
            "none" => Ok(Dedup::None),
            "window" => Ok(Dedup::Window),
            "tuple" => Ok(Dedup::Tuple),
            _ => Err(Error::input(format!("unknown dedup mode {s:?}; expected none, window or tuple"))),
        }
    }
}

/// What happened to one token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Scored, and in the green list.
    Green,
    /// Scored, and not in the green list.
    Red,
    /// Not scored: its unit was already scored (see [`Dedup`]). `green` still says its colour.
    Repeat,
    /// Not scored: fewer tokens precede it than the seeding rule needs.
    NoContext,
}

impl Status {
    /// True for the statuses that count in the test.
    pub fn is_scored(self) -> bool {
        matches!(self, Status::Green | Status::Red)
    }
}

/// The colour and status of every token after the context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scoring {
    /// One entry per scored-range token, in order.
    pub status: Vec<Status>,
    /// Colour of each token (false where there was no context to decide).
    pub green: Vec<bool>,
    /// Number of scored tokens, T.
    pub scored: u64,
    /// Number of scored green tokens, s.
    pub greens: u64,
}

/// A 16-byte fingerprint of a scored unit (see [`tuple_fp`], [`seed_fp`], [`tokens_fp`]).
type Fingerprint = u128;

/// A dedup memory that can span several documents (the radioactivity test shares one
/// across a whole corpus).
#[derive(Debug, Default)]
pub struct DedupTape {
    seen: HashSet<Fingerprint>,
}

impl DedupTape {
    /// An empty tape.
    pub fn new() -> DedupTape {
        DedupTape::default()
    }

    /// Units remembered so far.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True if nothing was remembered yet.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn first_time(&mut self, fp: Fingerprint) -> bool {
        self.seen.insert(fp)
    }
}

/// Tuple fingerprint: the first 12 bytes of the seed and the token id.
#[inline]
pub(crate) fn tuple_fp(seed: &Seed, token: u32) -> Fingerprint {
    let mut fp = [0u8; 16];
    fp[..12].copy_from_slice(&seed.0[..12]);
    fp[12..].copy_from_slice(&token.to_le_bytes());
    u128::from_le_bytes(fp)
}

/// Context fingerprint of a shared seed: its first 16 bytes.
#[inline]
pub(crate) fn seed_fp(seed: &Seed) -> Fingerprint {
    u128::from_le_bytes(seed.0[..16].try_into().expect("16 bytes"))
}

/// Context fingerprint for `selfhash`, whose seeds depend on the candidate: the context
/// tokens themselves, in two 64-bit FNV-1a lanes with different offsets.
pub(crate) fn tokens_fp(context: &[u32]) -> Fingerprint {
    let mut a = 0xcbf2_9ce4_8422_2325u64;
    let mut b = 0x8422_2325_cbf2_9ce4u64;
    for &t in context {
        for byte in t.to_le_bytes() {
            a = (a ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
            b = (b ^ u64::from(byte ^ 0x5a)).wrapping_mul(0x100_0000_01b3);
        }
    }
    u128::from(a) | (u128::from(b) << 64)
}

/// Scores `ids[from..]` with `ids[..from]` as extra context (a prompt or a prefix that is not
/// scored). Ids at or above the vocabulary size are an error: they mean the text was not
/// tokenized for this configuration.
pub fn score(wm: &Watermark, ids: &[u32], from: usize, dedup: Dedup, tape: &mut DedupTape) -> Result<Scoring, Error> {
    let vocab = wm.config().vocab_size();
    if let Some((i, &id)) = ids.iter().enumerate().find(|&(_, &id)| id >= vocab) {
        return Err(Error::token_out_of_range(i, id, vocab));
    }
    let from = from.min(ids.len());
    let need = wm.context_len();
    let selfhash = wm.config().seeding().depends_on_candidate();
    let mut out = Scoring {
        status: Vec::with_capacity(ids.len() - from),
        green: Vec::with_capacity(ids.len() - from),
        ..Scoring::default()
    };
    for i in from..ids.len() {
        if i < need {
            out.status.push(Status::NoContext);
            out.green.push(false);
            continue;
        }
        let context = &ids[i - need..i];
        let token = ids[i];
        let seeder = wm.seeder(context).expect("context has the length the rule needs");
        let seed = seeder.seed(token);
        let green = wm.is_green_in(&seed, token);
        let fresh = match dedup {
            Dedup::None => true,
            Dedup::Tuple => tape.first_time(tuple_fp(&seed, token)),
            Dedup::Window if selfhash => tape.first_time(tokens_fp(context)),
            Dedup::Window => tape.first_time(seed_fp(&seed)),
        };
        out.green.push(green);
        if fresh {
            out.scored += 1;
            out.greens += u64::from(green);
            out.status.push(if green { Status::Green } else { Status::Red });
        } else {
            out.status.push(Status::Repeat);
        }
    }
    Ok(out)
}
