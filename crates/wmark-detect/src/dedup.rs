//! Dedup: which scored units count once, and the sets that remember them.
//!
//! A unit's identity is a 16-byte fingerprint computed by the scorer (see
//! [`crate::score::Unit`]): the tuple fingerprint (context seed and token) or the context
//! fingerprint. Two implementations of [`DedupSet`] remember them:
//!
//! * [`ExactSet`] keeps the full 16 bytes (the detector: one document at a time);
//! * [`FpSet`] keeps a 64-bit fold of them in an open-addressing table, 9 to 18 bytes a unit
//!   (the corpus radioactivity test, which may see 10^8 units; see its "Memory" notes in
//!   [`crate::radioactive`]). Folding can merge two distinct units: the later one is then
//!   skipped as a repeat, so a coin flip is lost, never created, and p-values stay valid.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::score::Unit;

/// Which repeated units are scored only once.
///
/// Dedup is part of the null hypothesis, not an optimisation: the score of a token is a
/// deterministic function of its (context, token) tuple, so a repeated tuple adds no new
/// evidence, and counting it again makes the test anti-conservative on repetitive human text
/// (lists, code, boilerplate).
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

impl Dedup {
    /// The mode a scheme is tested with unless the caller says otherwise: `tuple` for the
    /// green lists, `window` (a context's first use) for the Gumbel-max schemes, as vLLM's
    /// detector does: their generators sample a repeated context without the watermark; and
    /// `window` for `hf-synthid`, whose generator does the same (transformers'
    /// context-repetition mask).
    pub fn default_for(config: &wmark_core::Config) -> Dedup {
        if config.seeding().is_gumbel() || config.seeding().synthid_ngram_len().is_some() {
            Dedup::Window
        } else {
            Dedup::Tuple
        }
    }

    /// The fingerprint that identifies `unit` under this mode (`None`: no dedup).
    #[inline]
    pub fn identity(self, unit: &Unit<'_>) -> Option<u128> {
        match self {
            Dedup::None => None,
            Dedup::Window => Some(unit.context()),
            Dedup::Tuple => Some(unit.tuple()),
        }
    }

    /// True if `unit` is scored: always without dedup, else the first time its identity
    /// enters `set`. The one place where dedup is decided.
    #[inline]
    pub fn first_time<S: DedupSet + ?Sized>(self, set: &mut S, unit: &Unit<'_>) -> bool {
        match self.identity(unit) {
            None => true,
            Some(fp) => set.insert(fp),
        }
    }
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

/// A memory of unit fingerprints. It may span several documents: the radioactivity test
/// shares one across a whole corpus.
pub trait DedupSet {
    /// Remembers `fp`; false if it was already remembered.
    fn insert(&mut self, fp: u128) -> bool;
    /// True if `fp` was remembered.
    fn contains(&self, fp: u128) -> bool;
    /// Units remembered.
    fn len(&self) -> usize;
    /// True if nothing was remembered.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Heap bytes held by the set (its table or an estimate of it).
    fn memory_bytes(&self) -> usize;
}

/// The exact set: full 16-byte fingerprints.
#[derive(Clone, Debug, Default)]
pub struct ExactSet {
    seen: HashSet<u128, BuildFold>,
}

/// Fingerprints are already uniformly distributed (bytes of an HMAC output, or FNV lanes):
/// hashing one is folding its halves with a per-set random seed and one multiply, instead of
/// running SipHash over 16 bytes. Keyed fingerprints cannot be steered by a text's author;
/// the seed keeps the unkeyed ones (`selfhash` contexts) from landing in chosen buckets.
#[derive(Clone, Copy, Debug)]
struct BuildFold(u64);

impl Default for BuildFold {
    fn default() -> BuildFold {
        use std::hash::BuildHasher;
        BuildFold(std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1)
    }
}

impl std::hash::BuildHasher for BuildFold {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(self.0)
    }
}

/// See [`BuildFold`].
#[derive(Clone, Copy, Debug, Default)]
struct FoldHasher(u64);

impl std::hash::Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(FOLD);
        }
    }

    fn write_u128(&mut self, fp: u128) {
        let x = ((fp as u64) ^ self.0).wrapping_mul(FOLD) ^ ((fp >> 64) as u64);
        self.0 = x.wrapping_mul(self.0);
    }
}

impl ExactSet {
    /// An empty set.
    pub fn new() -> ExactSet {
        ExactSet::default()
    }

    /// An empty set with room for `n` fingerprints (no rehashing on the way there).
    pub fn with_capacity(n: usize) -> ExactSet {
        ExactSet { seen: HashSet::with_capacity_and_hasher(n, BuildFold::default()) }
    }
}

impl DedupSet for ExactSet {
    #[inline]
    fn insert(&mut self, fp: u128) -> bool {
        self.seen.insert(fp)
    }

    #[inline]
    fn contains(&self, fp: u128) -> bool {
        self.seen.contains(&fp)
    }

    fn len(&self) -> usize {
        self.seen.len()
    }

    fn memory_bytes(&self) -> usize {
        // hashbrown: one 16-byte slot and one control byte per bucket.
        self.seen.capacity() * 17
    }
}

/// Fibonacci multiplier: the slot of a fingerprint is the top bits of `fp · FOLD`, which
/// depend on every bit of the fingerprint (the folded tuple fingerprints of one seed differ
/// only in their upper half, so a plain mask of the low bits would not do).
const FOLD: u64 = 0x9e37_79b9_7f4a_7c15;

/// The 64-bit fingerprint kept for a 128-bit one: the xor of its halves, with 0 (the empty
/// marker) mapped to 1. The 128-bit fingerprints are already hash-like (bytes of an HMAC
/// output; for the `selfhash` context, two FNV lanes), so the fold loses nothing but width.
/// For one seed, tuples with different tokens stay distinct (the token lands on bits 32..64,
/// which the seed's bytes only xor with a constant).
#[inline]
fn fold(fp: u128) -> u64 {
    let f = (fp as u64) ^ ((fp >> 64) as u64);
    if f == 0 {
        1
    } else {
        f
    }
}

/// A set of 64-bit fingerprints (see [`fold`]): open addressing with linear probing in a
/// power-of-two table of `u64` slots, 0 marking an empty slot. The table doubles when an
/// insert would take the load above 7/8, so that an unsuccessful probe always ends. Nothing
/// is allocated until the first insert. The radioactivity test's documentation
/// ([`crate::radioactive`], "Memory") gives the cost.
#[derive(Clone, Debug, Default)]
pub struct FpSet {
    slots: Vec<u64>,
    len: usize,
    /// `64 − log2(slots.len())`: the slot index is the top bits of `f · FOLD`.
    shift: u32,
}

impl FpSet {
    /// The first table: 16 slots (128 bytes).
    const MIN_SLOTS: usize = 16;

    /// An empty set; nothing is allocated until the first insert.
    pub fn new() -> FpSet {
        FpSet::default()
    }

    #[inline]
    fn home(&self, f: u64) -> usize {
        (f.wrapping_mul(FOLD) >> self.shift) as usize
    }

    /// The slot holding `f`, or the empty slot where it would go (`Err`). The table must
    /// be allocated.
    #[inline]
    fn find(&self, f: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(f);
        loop {
            match self.slots[i] {
                s if s == f => return Ok(i),
                0 => return Err(i),
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn insert_folded(&mut self, fp: u128) -> bool {
        let f = fold(fp);
        if self.slots.is_empty() {
            self.resize(Self::MIN_SLOTS);
        }
        let mut at = match self.find(f) {
            Ok(_) => return false,
            Err(at) => at,
        };
        if (self.len + 1) * 8 > self.slots.len() * 7 {
            self.resize(self.slots.len() * 2);
            at = self.find(f).expect_err("not in the set");
        }
        self.slots[at] = f;
        self.len += 1;
        true
    }

    fn resize(&mut self, slots: usize) {
        debug_assert!(slots.is_power_of_two() && slots >= Self::MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![0; slots]);
        self.shift = 64 - slots.trailing_zeros();
        for f in old.into_iter().filter(|&f| f != 0) {
            let at = self.find(f).expect_err("distinct fingerprints");
            self.slots[at] = f;
        }
    }
}

impl DedupSet for FpSet {
    /// Inserts; false if the (folded) fingerprint was already there.
    #[inline]
    fn insert(&mut self, fp: u128) -> bool {
        self.insert_folded(fp)
    }

    #[inline]
    fn contains(&self, fp: u128) -> bool {
        !self.slots.is_empty() && self.find(fold(fp)).is_ok()
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Exactly the slots.
    fn memory_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::{fold, DedupSet, FpSet};

    #[test]
    fn the_fingerprint_set_grows_by_doubling_at_seven_eighths_and_finds_everything() {
        let mut set = FpSet::default();
        assert_eq!((set.len(), set.memory_bytes()), (0, 0));
        assert!(!set.contains(5));
        // Fingerprints with equal halves fold to 0, the empty marker, and are kept as 1.
        assert_eq!(fold(0), 1);
        assert_eq!(fold(7 | (7 << 64)), 1);
        assert!(set.insert(0));
        assert!(!set.insert(1), "0 and 1 fold to the same fingerprint");
        assert!(set.contains(1));
        let fp = |i: u128| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) | (i << 96);
        for i in 1..14u128 {
            assert!(set.insert(fp(i)));
        }
        assert_eq!((set.len(), set.memory_bytes()), (14, 16 * 8), "14 of 16 slots: load 7/8");
        assert!(set.insert(fp(14)));
        assert_eq!((set.len(), set.memory_bytes()), (15, 32 * 8), "the 15th doubles the table");
        for i in 15..100_000u128 {
            assert!(set.insert(fp(i)));
        }
        assert_eq!(set.len(), 100_000);
        assert_eq!(set.memory_bytes(), 131_072 * 8);
        for i in 1..100_000u128 {
            assert!(set.contains(fp(i)));
            assert!(!set.insert(fp(i)));
            assert!(!set.contains(fp(i + 200_000)));
        }
        assert_eq!(set.len(), 100_000);
    }

    #[test]
    fn tuples_of_one_seed_never_merge() {
        let seed = 0x0123_4567_89ab_cdef_fedc_ba98_u128;
        let folds: std::collections::HashSet<u64> = (0..50_000u128).map(|t| fold(seed | (t << 96))).collect();
        assert_eq!(folds.len(), 50_000);
    }
}
