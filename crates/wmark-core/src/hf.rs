//! Hugging Face transformers' watermarks, bit for bit: KGW (`WatermarkLogitsProcessor`,
//! seeding schemes `lefthash` and `selfhash`) and SynthID-Text
//! (`SynthIDTextWatermarkLogitsProcessor`), as transformers 5.24 computes them on CPU torch 2.15.
//!
//! This is not wmark's own format: it reproduces the green lists and g-values that text
//! generated with transformers carries, so that such text can be detected here
//! (docs/spec.md, "Hugging Face-compatible schemes"; checked against transformers' own code by
//! `fixtures/vectors/hf-kgw.toml` and `fixtures/vectors/hf-synthid.toml`, which
//! `scripts/hf-reference` writes).
//!
//! The pieces:
//!
//! * [`TorchGenerator`]: torch's CPU generator, a 32-bit Mersenne Twister (MT19937) that
//!   `manual_seed(s)` initialises from the low 32 bits of `s` only.
//! * [`randperm`] and friends: torch's CPU `randperm(n)` for `n` below [`RANDPERM_SMALL_LIMIT`]
//!   (every vocabulary): a forward Fisher–Yates shuffle of the identity that swaps position `i`
//!   with `i + (r mod (n − i))`, `r` one generator output, for `i` in `0..n − 1`. Position `i`
//!   is final after step `i`, so the first `k` entries need only `k` steps.
//! * [`HfKgw`]: the green list of a window is the first `int(V · γ)` entries of `randperm(V)`
//!   under a generator seeded from the hashing key and the window.
//! * [`SynthId`]: g-values from a wrapping 64-bit LCG hash of the n-gram and the layer's key,
//!   looked up in a table of fair bits drawn by `torch.randint(0, 2, ...)`.
//!
//! Cost: a green list is `k = int(V · γ)` generator outputs and 32-bit remainders plus the
//! writes of a `V`-entry scratch array; membership of one token ([`HfKgw::is_green`]) needs the
//! same `k` outputs and remainders but no array. The generator and the remainders dominate.

use crate::mask::GreenMask;
use crate::Error;

const MT_N: usize = 624;
const MT_M: usize = 397;
const MT_MATRIX_A: u32 = 0x9908_b0df;

/// torch's CPU generator: MT19937 (Matsumoto and Nishimura, 1998) seeded as
/// `torch.Generator().manual_seed(seed)` seeds it.
///
/// torch keeps the 64-bit seed but initialises the twister from its low 32 bits with the
/// reference `init_genrand`; [`next_u32`](TorchGenerator::next_u32) is what torch's
/// `generator->random()` returns.
#[derive(Clone)]
pub struct TorchGenerator {
    state: [u32; MT_N],
    /// The tempered outputs of the current state, made a block at a time (vectorised).
    out: [u32; MT_N],
    next: usize,
}

impl std::fmt::Debug for TorchGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TorchGenerator(..)")
    }
}

impl TorchGenerator {
    /// The generator after `manual_seed(seed)`.
    pub fn new(seed: u64) -> TorchGenerator {
        let mut g = TorchGenerator { state: [0; MT_N], out: [0; MT_N], next: MT_N };
        g.manual_seed(seed);
        g
    }

    /// Reseeds in place, as `Generator.manual_seed(seed)` does: only `seed mod 2^32` matters.
    pub fn manual_seed(&mut self, seed: u64) {
        let mut x = seed as u32;
        self.state[0] = x;
        for (j, s) in self.state.iter_mut().enumerate().skip(1) {
            x = 1_812_433_253u32.wrapping_mul(x ^ (x >> 30)).wrapping_add(j as u32);
            *s = x;
        }
        self.next = MT_N;
    }

    #[inline(always)]
    fn mix(u: u32, v: u32) -> u32 {
        let y = (u & 0x8000_0000) | (v & 0x7fff_ffff);
        (y >> 1) ^ ((v & 1).wrapping_neg() & MT_MATRIX_A)
    }

    /// The next block of 624 outputs: the reference twist, written as loops that each read
    /// only finished words (so that they vectorise), then the tempering of every word.
    #[cold]
    fn refill(&mut self) {
        const D: usize = MT_N - MT_M; // 227
        let old = self.state;
        let (a, rest) = self.state.split_at_mut(D);
        for (k, w) in a.iter_mut().enumerate() {
            *w = old[k + MT_M] ^ Self::mix(old[k], old[k + 1]);
        }
        let (b, c) = rest.split_at_mut(D);
        for (k, (w, &src)) in b.iter_mut().zip(a.iter()).enumerate() {
            *w = src ^ Self::mix(old[D + k], old[D + k + 1]);
        }
        let last = c.len() - 1; // c: words 454..624
        for (k, (w, &src)) in c[..last].iter_mut().zip(b.iter()).enumerate() {
            *w = src ^ Self::mix(old[2 * D + k], old[2 * D + k + 1]);
        }
        c[last] = b[last] ^ Self::mix(old[MT_N - 1], a[0]);
        for (o, &x) in self.out.iter_mut().zip(&self.state) {
            let mut y = x;
            y ^= y >> 11;
            y ^= (y << 7) & 0x9d2c_5680;
            y ^= (y << 15) & 0xefc6_0000;
            *o = y ^ (y >> 18);
        }
        self.next = 0;
    }

    /// The next 32-bit output (torch's `random()`).
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.next >= MT_N {
            self.refill();
        }
        let y = self.out[self.next];
        self.next += 1;
        y
    }
}

/// torch's CPU `randperm(n)` switches algorithm at this length (`u32::MAX / 20`, from torch's
/// source): below it, the shuffle reproduced here (checked against torch for lengths up to
/// 1,000,003, which covers every vocabulary); at or above it, another shuffle (with 64-bit
/// draws), which this module neither implements nor accepts.
pub const RANDPERM_SMALL_LIMIT: u32 = u32::MAX / 20;

/// `torch.randperm(n, generator=g)` on CPU, as 32-bit ids. Draws `n − 1` outputs.
///
/// # Panics
/// If `n >= RANDPERM_SMALL_LIMIT`.
pub fn randperm(gen: &mut TorchGenerator, n: u32) -> Vec<u32> {
    let mut out = Vec::new();
    randperm_prefix_into(gen, n, n, &mut out);
    out
}

/// The first `k` entries of `torch.randperm(n, generator=g)` into `out` (cleared first; it
/// holds `n` entries while working, so reuse it across calls). Draws `min(k, n − 1)` outputs.
///
/// # Panics
/// If `n >= RANDPERM_SMALL_LIMIT` or `k > n`.
pub fn randperm_prefix_into(gen: &mut TorchGenerator, n: u32, k: u32, out: &mut Vec<u32>) {
    assert!(n < RANDPERM_SMALL_LIMIT, "randperm: n = {n} takes torch's other algorithm");
    assert!(k <= n, "randperm: prefix {k} longer than {n}");
    out.clear();
    out.extend(0..n);
    let steps = k.min(n.saturating_sub(1));
    for i in 0..steps {
        let z = gen.next_u32() % (n - i);
        out.swap(i as usize, (i + z) as usize);
    }
    out.truncate(k as usize);
}

/// Whether `t` is among the first `k` entries of `torch.randperm(n, generator=g)`, without
/// building it: follows where the shuffle moves `t`. Draws at most `min(k, n − 1)` outputs.
///
/// # Panics
/// If `n >= RANDPERM_SMALL_LIMIT` or `k > n`.
pub fn randperm_prefix_contains(gen: &mut TorchGenerator, n: u32, k: u32, t: u32) -> bool {
    assert!(n < RANDPERM_SMALL_LIMIT, "randperm: n = {n} takes torch's other algorithm");
    assert!(k <= n, "randperm: prefix {k} longer than {n}");
    if t >= n {
        return false;
    }
    let steps = k.min(n - 1);
    // `pos` is where `t` is before step `i`; always `pos >= i`.
    let mut pos = t;
    for i in 0..steps {
        let j = i + gen.next_u32() % (n - i);
        if pos == j {
            return true; // moved to (or stays at) position i, final from now on
        }
        if pos == i {
            pos = j;
        }
    }
    // Steps stop at n − 1: the last position is final without a draw.
    pos < k
}

/// `torch.randint(0, 2, (size,), generator=g)` on CPU: each entry is one output modulo 2.
pub fn randint_bits(gen: &mut TorchGenerator, size: usize) -> Vec<u8> {
    (0..size).map(|_| (gen.next_u32() & 1) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// KGW: WatermarkLogitsProcessor
// ---------------------------------------------------------------------------------------------

/// transformers' default `hashing_key` (the millionth prime).
pub const HF_DEFAULT_HASHING_KEY: i128 = 15_485_863;

/// The length of the fixed table selfhash looks ids up in (`randperm(1_000_003)` right after
/// seeding with the hashing key).
pub const HF_FIXED_TABLE_SIZE: u32 = 1_000_003;

/// The hashing keys transformers accepts: `manual_seed` takes `[−2^63, 2^64 − 1]`.
const KEY_MIN: i128 = i64::MIN as i128;
const KEY_MAX: i128 = u64::MAX as i128;
/// `set_seed` reduces its seed modulo `2^64 − 1`.
const SEED_MODULUS: i128 = u64::MAX as i128;

/// transformers' KGW seeding schemes (`seeding_scheme`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HfSeeding {
    /// `lefthash`: the seed is the hashing key times the last id before the scored token.
    LeftHash,
    /// `selfhash`: the seed is the least of key · T(x) · T(last) over the window of
    /// `context_width` ids that ends with the scored token itself (T: the fixed table, plus one).
    SelfHash,
}

/// transformers' `WatermarkLogitsProcessor` green lists under one configuration.
///
/// Read-only once built; per-call scratch is a `Vec<u32>` the caller keeps.
#[derive(Clone)]
pub struct HfKgw {
    key: i128,
    seeding: HfSeeding,
    context_width: usize,
    vocab_size: u32,
    greenlist_size: u32,
    /// selfhash only: `randperm(HF_FIXED_TABLE_SIZE)` after `manual_seed(key)`.
    fixed_table: Box<[u32]>,
}

impl std::fmt::Debug for HfKgw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfKgw")
            .field("seeding", &self.seeding)
            .field("context_width", &self.context_width)
            .field("vocab_size", &self.vocab_size)
            .field("greenlist_size", &self.greenlist_size)
            .finish_non_exhaustive()
    }
}

/// `WatermarkLogitsProcessor.fixed_table` of a hashing key: `randperm(1_000_003)` right after
/// `manual_seed(key)` (`key` reduced to 64 bits as `manual_seed` does).
pub fn hf_fixed_table(hashing_key: i128) -> Vec<u32> {
    randperm(&mut TorchGenerator::new(hashing_key as u64), HF_FIXED_TABLE_SIZE)
}

/// transformers' `int(vocab_size * greenlist_ratio)`: a double product, truncated.
pub fn greenlist_size(vocab_size: u32, greenlist_ratio: f64) -> u32 {
    (f64::from(vocab_size) * greenlist_ratio) as u32
}

/// Python's `seed % (2**64 - 1)` of a signed 64-bit seed.
#[inline]
fn reduce_seed(s: i64) -> u64 {
    i128::from(s).rem_euclid(SEED_MODULUS) as u64
}

impl HfKgw {
    /// `WatermarkLogitsProcessor(vocab_size, "cpu", greenlist_ratio, hashing_key=..,
    /// seeding_scheme, context_width)`.
    ///
    /// Errors (configuration): a key outside `[−2^63, 2^64 − 1]`, a ratio outside (0, 1), a
    /// width of 0, a vocabulary of 0 ids or of [`RANDPERM_SMALL_LIMIT`] or more.
    pub fn new(
        hashing_key: i128,
        seeding: HfSeeding,
        greenlist_ratio: f64,
        context_width: usize,
        vocab_size: u32,
    ) -> Result<HfKgw, Error> {
        if !(KEY_MIN..=KEY_MAX).contains(&hashing_key) {
            return Err(Error::config("the HF hashing key must be in [-2^63, 2^64 - 1]"));
        }
        if !(greenlist_ratio > 0.0 && greenlist_ratio < 1.0) {
            return Err(Error::config(format!("greenlist_ratio must be in (0, 1), not {greenlist_ratio}")));
        }
        if context_width == 0 {
            return Err(Error::config("context_width must be at least 1"));
        }
        if vocab_size == 0 || vocab_size >= RANDPERM_SMALL_LIMIT {
            return Err(Error::config(format!("vocabulary size {vocab_size} out of range")));
        }
        let greenlist_size = greenlist_size(vocab_size, greenlist_ratio);
        let fixed_table = match seeding {
            HfSeeding::SelfHash => hf_fixed_table(hashing_key).into_boxed_slice(),
            HfSeeding::LeftHash => Box::default(),
        };
        Ok(HfKgw { key: hashing_key, seeding, context_width, vocab_size, greenlist_size, fixed_table })
    }

    /// The seeding scheme.
    pub fn seeding(&self) -> HfSeeding {
        self.seeding
    }

    /// `context_width`.
    pub fn context_width(&self) -> usize {
        self.context_width
    }

    /// The vocabulary size `V`.
    pub fn vocab_size(&self) -> u32 {
        self.vocab_size
    }

    /// `int(V · greenlist_ratio)`: how many ids are green.
    pub fn greenlist_size(&self) -> u32 {
        self.greenlist_size
    }

    /// The exact green fraction, `greenlist_size / V` (the null hypothesis' success
    /// probability).
    pub fn gamma_eff(&self) -> f64 {
        f64::from(self.greenlist_size) / f64::from(self.vocab_size)
    }

    #[inline]
    fn table(&self, id: u32) -> u64 {
        u64::from(self.fixed_table[(id % HF_FIXED_TABLE_SIZE) as usize]) + 1
    }

    /// The seed `set_seed` passes to `manual_seed` for `input_seq = window` (HF keeps its last
    /// `context_width` ids). lefthash: `(key · last) mod (2^64 − 1)` over the integers.
    /// selfhash: the signed minimum over the kept ids `x` of the wrapping 64-bit product
    /// `key · (T[x] + 1) · (T[last] + 1)`, then reduced mod `2^64 − 1` as Python does.
    ///
    /// Errors: an empty window (context too short).
    pub fn seed(&self, window: &[u32]) -> Result<u64, Error> {
        let Some(&last) = window.last() else {
            return Err(Error::context_too_short(1, 0));
        };
        Ok(match self.seeding {
            HfSeeding::LeftHash => (self.key * i128::from(last)).rem_euclid(SEED_MODULUS) as u64,
            HfSeeding::SelfHash => {
                let kept = &window[window.len().saturating_sub(self.context_width)..];
                self.selfhash_seed(&kept[..kept.len() - 1], last)
            }
        })
    }

    /// selfhash's seed of the window `head ++ [last]`.
    #[inline]
    fn selfhash_seed(&self, head: &[u32], last: u32) -> u64 {
        // The key times a tensor wraps to 64 bits, whatever its size.
        let kb = (self.key as u64).wrapping_mul(self.table(last));
        let mut min = kb.wrapping_mul(self.table(last)) as i64;
        for &x in head {
            min = min.min(kb.wrapping_mul(self.table(x)) as i64);
        }
        reduce_seed(min)
    }

    /// `_get_greenlist_ids(window)`: the green ids in HF's order, into `scratch` (which holds
    /// `V` entries while working; reuse it).
    ///
    /// Errors: an empty window.
    pub fn green_list<'s>(&self, window: &[u32], scratch: &'s mut Vec<u32>) -> Result<&'s [u32], Error> {
        let seed = self.seed(window)?;
        randperm_prefix_into(&mut TorchGenerator::new(seed), self.vocab_size, self.greenlist_size, scratch);
        Ok(scratch)
    }

    /// The green list of `window` as a mask over the vocabulary.
    ///
    /// Errors: an empty window.
    pub fn green_mask(&self, window: &[u32], scratch: &mut Vec<u32>) -> Result<GreenMask, Error> {
        let mut mask = GreenMask::new(self.vocab_size);
        let words = mask.words_mut();
        for &t in self.green_list(window, scratch)? {
            words[(t / 64) as usize] |= 1 << (t % 64);
        }
        Ok(mask)
    }

    /// Whether `token` is in `_get_greenlist_ids(window)`, without building the list.
    ///
    /// Errors: an empty window.
    pub fn contains(&self, window: &[u32], token: u32) -> Result<bool, Error> {
        let seed = self.seed(window)?;
        Ok(self.contains_seeded(seed, token))
    }

    /// Whether `token` is green under the generator seed `seed` (what [`seed`](Self::seed)
    /// or [`detector_seed`](Self::detector_seed) returns): `k` generator outputs, no array.
    #[inline]
    pub fn contains_seeded(&self, seed: u64, token: u32) -> bool {
        randperm_prefix_contains(&mut TorchGenerator::new(seed), self.vocab_size, self.greenlist_size, token)
    }

    /// `WatermarkDetector`'s verdict on `token` after `context` (the ids before it, oldest
    /// first): lefthash asks whether `token` is in the green list of `context` (only its last
    /// id matters); selfhash, whether it is in the green list of the window made of the last
    /// `context_width − 1` ids of `context` and `token` itself.
    ///
    /// Errors: lefthash with an empty context.
    pub fn is_green(&self, context: &[u32], token: u32) -> Result<bool, Error> {
        Ok(self.contains_seeded(self.detector_seed(context, token)?, token))
    }

    /// The generator seed of `WatermarkDetector`'s test of `token` after `context` (see
    /// [`is_green`](Self::is_green)); [`contains_seeded`](Self::contains_seeded) finishes it.
    ///
    /// Errors: lefthash with an empty context.
    pub fn detector_seed(&self, context: &[u32], token: u32) -> Result<u64, Error> {
        Ok(match self.seeding {
            HfSeeding::LeftHash => self.seed(context)?,
            HfSeeding::SelfHash => {
                let head = &context[context.len().saturating_sub(self.context_width - 1)..];
                self.selfhash_seed(head, token)
            }
        })
    }

    /// How many ids `WatermarkDetector` takes as one n-gram: `context_width + 1` for lefthash
    /// (the context and the scored id), `context_width` for selfhash (the window includes the
    /// scored id). Its first scored id is at this index minus one.
    pub fn ngram_len(&self) -> usize {
        match self.seeding {
            HfSeeding::LeftHash => self.context_width + 1,
            HfSeeding::SelfHash => self.context_width,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SynthID-Text: SynthIDTextWatermarkLogitsProcessor
// ---------------------------------------------------------------------------------------------

/// The multiplier of SynthID's hash (an LCG step with Knuth's MMIX multiplier, increment 1).
pub const SYNTHID_MULTIPLIER: i64 = 6_364_136_223_846_793_005;

/// transformers' largest `sampling_table_size` (`SynthIDTextWatermarkingConfig.validate`).
pub const SYNTHID_MAX_TABLE_SIZE: usize = 1 << 24;

/// One step of SynthID's `accumulate_hash`: `(hash + x) · M + 1`, wrapping in 64 bits.
#[inline]
pub fn synthid_step(hash: i64, x: i64) -> i64 {
    hash.wrapping_add(x).wrapping_mul(SYNTHID_MULTIPLIER).wrapping_add(1)
}

/// SynthID's hash of ids: [`synthid_step`] over them from the initial hash 1.
pub fn synthid_hash(ids: &[u32]) -> i64 {
    ids.iter().fold(1, |h, &x| synthid_step(h, i64::from(x)))
}

/// The per-layer score of a SynthID text: g-values summed over the n-grams the mask keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct GScore {
    /// Sum of the g-values (each 0 or 1) over kept n-grams and layers.
    pub g_sum: u64,
    /// How many n-grams were kept.
    pub count: u64,
    /// The number of layers.
    pub depth: u64,
}

impl GScore {
    /// The mean g-value, `g_sum / (count · depth)` (NaN when nothing was kept).
    pub fn mean(&self) -> f64 {
        self.g_sum as f64 / (self.count * self.depth) as f64
    }
}

/// transformers' `SynthIDTextWatermarkLogitsProcessor` g-values under one configuration.
#[derive(Clone)]
pub struct SynthId {
    ngram_len: usize,
    keys: Vec<i64>,
    /// Shared by the SynthIds made from one by [`SynthId::with_keys`].
    table: std::sync::Arc<[u8]>,
    /// `size − 1` when the table size is a power of two (the remainder is then a mask).
    mask: Option<u64>,
    context_history_size: usize,
}

impl Drop for SynthId {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.keys);
    }
}

impl std::fmt::Debug for SynthId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SynthId")
            .field("ngram_len", &self.ngram_len)
            .field("depth", &self.keys.len())
            .field("sampling_table_size", &self.table.len())
            .field("context_history_size", &self.context_history_size)
            .finish_non_exhaustive()
    }
}

impl SynthId {
    /// `SynthIDTextWatermarkLogitsProcessor(ngram_len, keys, sampling_table_size,
    /// sampling_table_seed, context_history_size, "cpu")`. transformers' defaults: table size
    /// 2^16, seed 0, history 1024.
    ///
    /// Errors (configuration): `ngram_len` below 2 (a context of no ids), no keys, a table
    /// size of 0 or above 2^24.
    pub fn new(
        ngram_len: usize,
        keys: Vec<i64>,
        sampling_table_size: usize,
        sampling_table_seed: u64,
        context_history_size: usize,
    ) -> Result<SynthId, Error> {
        if ngram_len < 2 {
            return Err(Error::config("ngram_len must be at least 2"));
        }
        if keys.is_empty() {
            return Err(Error::config("SynthID needs at least one key (one per layer)"));
        }
        if !(1..=SYNTHID_MAX_TABLE_SIZE).contains(&sampling_table_size) {
            return Err(Error::config(format!("sampling_table_size must be in 1..=2^24, not {sampling_table_size}")));
        }
        let table = randint_bits(&mut TorchGenerator::new(sampling_table_seed), sampling_table_size).into();
        let mask = sampling_table_size.is_power_of_two().then(|| sampling_table_size as u64 - 1);
        Ok(SynthId { ngram_len, keys, table, mask, context_history_size })
    }

    /// The same configuration with other layer keys (another account, say), sharing the
    /// sampling table instead of drawing it again. Errors (configuration) for no keys.
    pub fn with_keys(&self, keys: Vec<i64>) -> Result<SynthId, Error> {
        if keys.is_empty() {
            return Err(Error::config("SynthID needs at least one key (one per layer)"));
        }
        Ok(SynthId {
            ngram_len: self.ngram_len,
            keys,
            table: std::sync::Arc::clone(&self.table),
            mask: self.mask,
            context_history_size: self.context_history_size,
        })
    }

    /// The SynthID of a key and an `hf-synthid` configuration (transformers' default context
    /// history, 1024). Errors (configuration) if the key is not a SynthID key or the scheme
    /// is not `hf-synthid`.
    pub fn for_key(key: &crate::Key, config: &crate::Config) -> Result<SynthId, Error> {
        let (Some(ngram_len), Some((size, seed, _))) = (config.seeding().synthid_ngram_len(), config.synthid_table())
        else {
            return Err(Error::config(format!("{} is not a SynthID-Text scheme", config.seeding())));
        };
        let Some(keys) = key.dangerous_expose_synthid_keys() else {
            return Err(Error::config(format!("{} is not a SynthID-Text key", key.id())));
        };
        SynthId::new(ngram_len, keys.to_vec(), size as usize, seed, 1024)
    }

    /// The n-gram length (context of `ngram_len − 1` ids, then the scored id).
    pub fn ngram_len(&self) -> usize {
        self.ngram_len
    }

    /// The number of tournament layers (one key each).
    pub fn depth(&self) -> usize {
        self.keys.len()
    }

    /// The sampling table: one fair bit per entry.
    pub fn sampling_table(&self) -> &[u8] {
        &self.table
    }

    /// The key of `layer` for the n-gram whose hash is `ngram_hash` (`compute_ngram_keys`).
    #[inline]
    pub fn layer_key(&self, ngram_hash: i64, layer: usize) -> i64 {
        synthid_step(ngram_hash, self.keys[layer])
    }

    /// The g-value of a layer key: `table[key mod size]`, the remainder taken non-negative.
    #[inline]
    pub fn g_of_key(&self, key: i64) -> u8 {
        match self.mask {
            // For a power of two, the non-negative remainder of two's complement is its low bits.
            Some(m) => self.table[(key as u64 & m) as usize],
            None => self.table[key.rem_euclid(self.table.len() as i64) as usize],
        }
    }

    /// How many of the layers' g-values are 1 for an n-gram hash: what one scored n-gram
    /// adds to the score.
    #[inline]
    pub fn ones_of_hash(&self, ngram_hash: i64) -> u32 {
        self.keys.iter().map(|&k| u32::from(self.g_of_key(synthid_step(ngram_hash, k)))).sum()
    }

    /// The g-values of every layer for an n-gram hash, into `out` (length: the depth).
    #[inline]
    pub fn g_values_of_hash(&self, ngram_hash: i64, out: &mut [u8]) {
        for (g, &k) in out.iter_mut().zip(&self.keys) {
            *g = self.g_of_key(synthid_step(ngram_hash, k));
        }
    }

    /// `compute_g_values(ids)`: for each of the `len − ngram_len + 1` n-grams, its g-values,
    /// row-major (n-gram, then layer). Empty if `ids` is shorter than an n-gram.
    pub fn g_values(&self, ids: &[u32]) -> Vec<u8> {
        let d = self.depth();
        let rows = (ids.len() + 1).saturating_sub(self.ngram_len);
        let mut out = vec![0; rows * d];
        for (row, ngram) in out.chunks_exact_mut(d).zip(ids.windows(self.ngram_len)) {
            self.g_values_of_hash(synthid_hash(ngram), row);
        }
        out
    }

    /// `compute_context_repetition_mask(ids)`: for each n-gram, true if its context (the
    /// `ngram_len − 1` ids before the scored one) has a hash not among the last
    /// `context_history_size` context hashes. The history starts full of zeros, as
    /// transformers' does (a context hashing to 0 counts as seen).
    pub fn context_repetition_mask(&self, ids: &[u32]) -> Vec<bool> {
        let rows = (ids.len() + 1).saturating_sub(self.ngram_len);
        let h = self.context_history_size;
        let mut out = Vec::with_capacity(rows);
        let mut ring: std::collections::VecDeque<i64> = std::collections::VecDeque::with_capacity(h);
        let mut counts: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
        if h > 0 {
            ring.extend(std::iter::repeat_n(0, h));
            counts.insert(0, h);
        }
        for context in ids.windows(self.ngram_len - 1).take(rows) {
            let hash = synthid_hash(context);
            out.push(!counts.contains_key(&hash));
            if h > 0 {
                *counts.entry(hash).or_insert(0) += 1;
                ring.push_front(hash);
                let old = ring.pop_back().expect("history is full");
                let c = counts.get_mut(&old).expect("counted");
                *c -= 1;
                if *c == 0 {
                    counts.remove(&old);
                }
            }
        }
        out
    }

    /// The mean g-value score of `ids` as `SynthIDTextWatermarkDetector` masks it: n-grams with
    /// a repeated context, and n-grams whose scored id is at or after the first `eos`, are
    /// left out.
    pub fn score(&self, ids: &[u32], eos: Option<u32>) -> GScore {
        let d = self.depth();
        let g = self.g_values(ids);
        let keep = self.context_repetition_mask(ids);
        let eos_mask = eos_mask(ids, eos);
        let mut s = GScore { depth: d as u64, ..GScore::default() };
        for (i, row) in g.chunks_exact(d).enumerate() {
            if keep[i] && eos_mask[i + self.ngram_len - 1] {
                s.count += 1;
                s.g_sum += row.iter().map(|&b| u64::from(b)).sum::<u64>();
            }
        }
        s
    }
}

/// `compute_eos_token_mask(ids, eos)`: true before the first `eos`, false from it on (all true
/// when `eos` is `None` or absent).
pub fn eos_mask(ids: &[u32], eos: Option<u32>) -> Vec<bool> {
    let end = eos.and_then(|e| ids.iter().position(|&x| x == e)).unwrap_or(ids.len());
    (0..ids.len()).map(|i| i < end).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_the_reference_output() {
        // The reference implementation's 10000th output for init_genrand(5489), the C++
        // standard's check value for std::mt19937.
        let mut g = TorchGenerator::new(5489);
        let mut last = 0;
        for _ in 0..10_000 {
            last = g.next_u32();
        }
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn membership_agrees_with_the_built_prefix() {
        let mut scratch = Vec::new();
        for (n, k, seed) in
            [(1, 0, 3), (1, 1, 3), (2, 1, 0), (2, 2, 9), (17, 4, 7), (100, 99, 1), (100, 100, 2), (1000, 250, 5)]
        {
            randperm_prefix_into(&mut TorchGenerator::new(seed), n, k, &mut scratch);
            for t in 0..n + 2 {
                let want = scratch.contains(&t);
                assert_eq!(
                    randperm_prefix_contains(&mut TorchGenerator::new(seed), n, k, t),
                    want,
                    "n={n} k={k} t={t}"
                );
            }
        }
    }

    #[test]
    fn a_prefix_is_the_start_of_the_whole_permutation() {
        let whole = randperm(&mut TorchGenerator::new(11), 5000);
        let mut sorted = whole.clone();
        sorted.sort_unstable();
        assert!(sorted.iter().enumerate().all(|(i, &v)| v == i as u32));
        let mut prefix = Vec::new();
        randperm_prefix_into(&mut TorchGenerator::new(11), 5000, 1234, &mut prefix);
        assert_eq!(prefix, whole[..1234]);
    }

    #[test]
    fn seeds_reduce_as_python_does() {
        assert_eq!(reduce_seed(-1), u64::MAX - 1);
        assert_eq!(reduce_seed(i64::MIN), (1u64 << 63) - 1);
        assert_eq!(reduce_seed(5), 5);
    }
}
