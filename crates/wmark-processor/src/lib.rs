//! The wmark logit processor: adds the watermark bias δ to the green logits of every decoding
//! step, inside an inference server's sampling loop.
//!
//! A [`Processor`] is built once from a key and a validated [`Config`]; it is read-only,
//! `Send + Sync`, and shared by every thread. Each thread (or each sequence) owns a [`Cache`]
//! of scratch space, made by [`Processor::create_cache`] and passed to every call, the way
//! regex-automata's `Regex` and `Cache` work. Once a cache is warm, a call allocates nothing.
//!
//! ```
//! use wmark_core::{Config, Key, Seeding};
//! use wmark_processor::{Outcome, Processor};
//!
//! let key = Key::generate().unwrap();
//! let config = Config::new(Seeding::LeftHash, 0.25, 2.0, 32_000).unwrap();
//! let processor = Processor::new(&key, config);
//! let mut cache = processor.create_cache();
//!
//! let mut logits = vec![0.0f32; 32_000];
//! let context = [1, 15_043, 3_186]; // the prompt and the tokens generated so far
//! assert_eq!(processor.apply(&mut cache, &context, &mut logits).unwrap(), Outcome::Applied);
//! let biased = logits.iter().filter(|&&l| l == 2.0).count();
//! assert!((7_000..9_000).contains(&biased)); // about γ·V green ids got +δ
//! ```
//!
//! # Where to call it
//! On the raw logits of the step, before temperature, top-k and top-p: the bias then shifts
//! probability mass towards green tokens under every sampler. If the engine has already
//! applied a top-k/top-p warper that set the rest to −∞, [`Processor::apply_finite`] gives
//! the same result while touching only the surviving logits.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod gumbel;
mod lru;
pub mod synthid;

use std::sync::Mutex;

use ndarray::{ArrayViewMut2, Axis};
use rayon::prelude::*;
use wmark_core::{Config, Key, Watermark};

pub use error::Error;
pub use gumbel::{Choice, GumbelSampler, GumbelState, Warp};
pub use lru::MAX_ENTRIES as MAX_CACHED_MASKS;
pub use synthid::{SynthIdProcessor, SynthIdState, SynthIdStep};

/// Keystream bytes generated per step of the streaming (cache-less) exact path. Small
/// enough to stay in L1 next to the logits it biases.
const CHUNK: usize = 1024;

/// Candidates tested for `selfhash` when nothing else is said (as the reference
/// implementation of Kirchenbauer et al. 2024 does).
pub const DEFAULT_TOP_K: usize = 40;

/// Batches with at least this many logits in total are split across threads.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 17;

/// What a call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The bias was added to the green logits.
    Applied,
    /// The context was shorter than the seeding rule needs (for example the first step of
    /// an unprompted `window:4` generation): the logits were left unchanged. The detector
    /// skips the same positions.
    ContextTooShort,
}

/// The shared, read-only watermark processor.
#[derive(Clone, Debug)]
pub struct Processor {
    wm: Watermark,
    top_k: usize,
    mask_cache_bytes: usize,
}

/// Options of a [`Processor`]; see [`Processor::builder`].
#[derive(Clone, Debug)]
pub struct Builder {
    top_k: usize,
    mask_cache_bytes: usize,
}

impl Builder {
    /// `selfhash` tests the `k` most likely candidates of each step (default 40, at least 1).
    pub fn top_k(mut self, k: usize) -> Builder {
        self.top_k = k.max(1);
        self
    }

    /// Each [`Cache`] keeps the green lists of recent contexts (V bytes each: the seed's
    /// keystream), up to this many bytes and at most [`MAX_CACHED_MASKS`] lists, so that a
    /// context seen again costs one pass over the logits instead of a keystream. 0 (the default) turns the mask cache off. Useful for
    /// `unigram` and for short-context rules on repetitive text; `selfhash` never uses it.
    pub fn mask_cache_bytes(mut self, bytes: usize) -> Builder {
        self.mask_cache_bytes = bytes;
        self
    }

    /// Compiles the processor.
    pub fn build(self, key: &Key, config: Config) -> Processor {
        Processor { wm: Watermark::new(key, config), top_k: self.top_k, mask_cache_bytes: self.mask_cache_bytes }
    }
}

/// Per-thread scratch space of a [`Processor`]. Made by [`Processor::create_cache`]; using a
/// cache with another processor gives correct results (it is only scratch) but drops the
/// benefit of cached green lists, which are keyed by seed.
pub struct Cache {
    masks: lru::StreamLru,
    top: Vec<(f32, u32)>,
    ids: Vec<u32>,
    row: Vec<f32>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (hits, misses) = self.masks.hits_misses();
        f.debug_struct("Cache")
            .field("cached_masks", &self.masks.len())
            .field("mask_bytes", &self.masks.bytes())
            .field("hits", &hits)
            .field("misses", &misses)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// (hits, misses) of the mask cache so far.
    pub fn mask_cache_stats(&self) -> (u64, u64) {
        self.masks.hits_misses()
    }

    /// Bytes held by cached green lists.
    pub fn mask_cache_bytes(&self) -> usize {
        self.masks.bytes()
    }
}

impl Processor {
    /// A processor with the default options (no mask cache; `selfhash` top-k of 40).
    pub fn new(key: &Key, config: Config) -> Processor {
        Processor::builder().build(key, config)
    }

    /// Options: top-k for `selfhash`, the byte budget of the mask cache.
    pub fn builder() -> Builder {
        Builder { top_k: DEFAULT_TOP_K, mask_cache_bytes: 0 }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.wm.config()
    }

    /// The compiled key and configuration (for membership queries).
    pub fn watermark(&self) -> &Watermark {
        &self.wm
    }

    /// The `selfhash` candidate count.
    pub fn top_k(&self) -> usize {
        self.top_k
    }

    /// New scratch space for one thread.
    pub fn create_cache(&self) -> Cache {
        let vocab = self.config().vocab_size();
        let budget = if self.config().seeding().depends_on_candidate() { 0 } else { self.mask_cache_bytes };
        Cache {
            masks: lru::StreamLru::new(budget, vocab),
            top: Vec::with_capacity(self.top_k),
            ids: Vec::new(),
            row: Vec::new(),
        }
    }

    fn check_len(&self, logits: &[f32]) -> Result<(), Error> {
        let vocab = self.config().vocab_size();
        if logits.len() != vocab as usize {
            return Err(Error::logits_length(vocab, logits.len()));
        }
        Ok(())
    }

    /// Adds δ to every green logit of the step after `context` (exact mode: the whole
    /// vocabulary). For `selfhash`, tests the top-k finite logits and biases the green ones.
    ///
    /// `context` is every token before the position being generated (prompt included); only
    /// the last tokens the seeding rule needs are read. `logits` must be exactly
    /// `vocab_size` long. −∞ stays −∞ and NaN stays NaN.
    pub fn apply(&self, cache: &mut Cache, context: &[u32], logits: &mut [f32]) -> Result<Outcome, Error> {
        self.check_len(logits)?;
        let Ok(seeder) = self.wm.seeder(context) else { return Ok(Outcome::ContextTooShort) };
        self.bias_all(cache, &seeder, logits);
        Ok(Outcome::Applied)
    }

    /// Exact mode once the seeder is known: the whole vocabulary, or top-k for `selfhash`.
    fn bias_all(&self, cache: &mut Cache, seeder: &wmark_core::Seeder<'_>, logits: &mut [f32]) {
        let delta = self.config().delta();
        match seeder.shared_seed() {
            None => self.bias_top_k(cache, seeder, logits),
            Some(seed) if cache.masks.enabled() => {
                let vocab = self.config().vocab_size();
                let bytes = cache.masks.get_or_fill(seed, vocab, |b| seed.stream().fill(b));
                add_below(bytes, self.config().green_threshold(), delta, logits);
            }
            Some(seed) => {
                let g = self.config().green_threshold();
                let mut stream = seed.stream();
                let mut buf = [0u8; CHUNK];
                for chunk in logits.chunks_mut(CHUNK) {
                    let bytes = &mut buf[..chunk.len()];
                    stream.fill(bytes);
                    add_below(bytes, g, delta, chunk);
                }
            }
        }
    }

    /// Candidate mode after a top-k/top-p warper: biases the green logits among the finite
    /// ones only, testing each on its own when they are few. The result equals
    /// [`apply`](Self::apply) (which leaves −∞ unchanged anyway) but costs O(finite) keystream
    /// blocks instead of the whole vocabulary.
    pub fn apply_finite(&self, cache: &mut Cache, context: &[u32], logits: &mut [f32]) -> Result<Outcome, Error> {
        self.check_len(logits)?;
        let Ok(seeder) = self.wm.seeder(context) else { return Ok(Outcome::ContextTooShort) };
        if seeder.shared_seed().is_none() {
            self.bias_top_k(cache, &seeder, logits);
            return Ok(Outcome::Applied);
        }
        // Past this many candidates, one keystream pass over the vocabulary is cheaper than
        // a ChaCha block (four, as rand_chacha computes them) per candidate.
        let limit = (logits.len() / 256).max(16);
        cache.ids.clear();
        for (c, chunk) in logits.chunks(SCAN).enumerate() {
            if !any_finite(chunk) {
                continue;
            }
            for (j, l) in chunk.iter().enumerate() {
                if l.is_finite() {
                    if cache.ids.len() == limit {
                        // Many finite logits: one exact pass, reusing the seed just made.
                        self.bias_all(cache, &seeder, logits);
                        return Ok(Outcome::Applied);
                    }
                    cache.ids.push((c * SCAN + j) as u32);
                }
            }
        }
        let delta = self.config().delta();
        for &id in &cache.ids {
            if seeder.is_green(id) {
                logits[id as usize] += delta;
            }
        }
        Ok(Outcome::Applied)
    }

    /// Tests exactly the given candidate ids (any rule, `selfhash` included: top-k is not
    /// applied) and adds δ to the green ones. Each id is biased at most once, even if it is
    /// listed twice. An id at or above `vocab_size` is an error, and then nothing changes.
    pub fn apply_candidates(
        &self,
        cache: &mut Cache,
        context: &[u32],
        logits: &mut [f32],
        candidates: &[u32],
    ) -> Result<Outcome, Error> {
        self.check_len(logits)?;
        let vocab = self.config().vocab_size();
        if let Some(&bad) = candidates.iter().find(|&&c| c >= vocab) {
            return Err(Error::candidate_out_of_range(bad, vocab));
        }
        let Ok(seeder) = self.wm.seeder(context) else { return Ok(Outcome::ContextTooShort) };
        cache.ids.clear();
        cache.ids.extend_from_slice(candidates);
        cache.ids.sort_unstable();
        cache.ids.dedup();
        let delta = self.config().delta();
        for &id in &cache.ids {
            if seeder.is_green(id) {
                logits[id as usize] += delta;
            }
        }
        Ok(Outcome::Applied)
    }

    /// `selfhash`: picks the top-k finite logits (ties: the smaller id) and biases the green.
    fn bias_top_k(&self, cache: &mut Cache, seeder: &wmark_core::Seeder<'_>, logits: &mut [f32]) {
        let k = self.top_k;
        let top = &mut cache.top;
        top.clear();
        // (value, id) of the smallest kept entry, the one a better logit replaces.
        let mut floor = (f32::NEG_INFINITY, 0usize);
        for (c, chunk) in logits.chunks(SCAN).enumerate() {
            // Once k are kept, most chunks hold nothing above the floor: skip them after a
            // vectorised maximum.
            if top.len() == k && chunk_max(chunk) <= floor.0 {
                continue;
            }
            for (j, &l) in chunk.iter().enumerate() {
                if !l.is_finite() {
                    continue;
                }
                let i = (c * SCAN + j) as u32;
                if top.len() < k {
                    top.push((l, i));
                    if top.len() == k {
                        floor = min_entry(top);
                    }
                } else if l > floor.0 {
                    top[floor.1] = (l, i);
                    floor = min_entry(top);
                }
            }
        }
        let delta = self.config().delta();
        for &(_, id) in top.iter() {
            if seeder.is_green(id) {
                logits[id as usize] += delta;
            }
        }
    }

    /// One row of `logits` per context, each biased as by [`apply`](Self::apply); rows whose
    /// context is too short are left unchanged. Large batches run on rayon's thread pool,
    /// one [`Cache`] per row from `caches`.
    pub fn apply_batch(
        &self,
        caches: &mut BatchCache,
        contexts: &[&[u32]],
        logits: ArrayViewMut2<'_, f32>,
    ) -> Result<(), Error> {
        self.batch(caches, contexts, logits, Processor::apply)
    }

    /// [`apply_batch`](Self::apply_batch) in candidate mode: each row as by
    /// [`apply_finite`](Self::apply_finite).
    pub fn apply_batch_finite(
        &self,
        caches: &mut BatchCache,
        contexts: &[&[u32]],
        logits: ArrayViewMut2<'_, f32>,
    ) -> Result<(), Error> {
        self.batch(caches, contexts, logits, Processor::apply_finite)
    }

    fn batch(
        &self,
        caches: &mut BatchCache,
        contexts: &[&[u32]],
        mut logits: ArrayViewMut2<'_, f32>,
        step: RowStep,
    ) -> Result<(), Error> {
        let rows = logits.nrows();
        if contexts.len() != rows {
            return Err(Error::batch_shape(rows, contexts.len()));
        }
        let vocab = self.config().vocab_size() as usize;
        if logits.ncols() != vocab {
            return Err(Error::logits_length(vocab as u32, logits.ncols()));
        }
        while caches.caches.len() < rows {
            caches.caches.push(self.create_cache());
        }
        let run = |(mut row, (cache, context)): (ndarray::ArrayViewMut1<'_, f32>, (&mut Cache, &&[u32]))| {
            match row.as_slice_mut() {
                Some(slice) => step(self, cache, context, slice).map(|_| ()),
                None => {
                    // A strided row (a transposed or sliced view): work on a contiguous copy.
                    let mut tmp = std::mem::take(&mut cache.row);
                    tmp.clear();
                    tmp.extend(row.iter().copied());
                    let result = step(self, cache, context, &mut tmp);
                    row.iter_mut().zip(&tmp).for_each(|(dst, &src)| *dst = src);
                    cache.row = tmp;
                    result.map(|_| ())
                }
            }
        };
        let caches = &mut caches.caches[..rows];
        if rows >= 2 && rows * vocab >= PARALLEL_MIN_ELEMENTS {
            logits
                .axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(caches.par_iter_mut().zip(contexts.par_iter()))
                .try_for_each(run)
        } else {
            logits.axis_iter_mut(Axis(0)).zip(caches.iter_mut().zip(contexts.iter())).try_for_each(run)
        }
    }
}

/// One row's call, as [`Processor::apply`] or [`Processor::apply_finite`].
type RowStep = fn(&Processor, &mut Cache, &[u32], &mut [f32]) -> Result<Outcome, Error>;

/// Scratch space for [`Processor::apply_batch`]: one [`Cache`] per row, grown on demand.
#[derive(Debug, Default)]
pub struct BatchCache {
    caches: Vec<Cache>,
}

impl BatchCache {
    /// An empty batch cache; it grows to the largest batch it sees.
    pub fn new() -> BatchCache {
        BatchCache::default()
    }
}

fn min_entry(top: &[(f32, u32)]) -> (f32, usize) {
    let mut best = (top[0].0, 0usize);
    for (j, &(v, id)) in top.iter().enumerate().skip(1) {
        // The entry to evict first: the smallest value, and among equals the larger id.
        if v < best.0 || (v == best.0 && id > top[best.1].1) {
            best = (v, j);
        }
    }
    best
}

/// `logits[i] += δ` where `bytes[i] < g`. Fixed-width chunks without branches, so that
/// the compiler vectorises it.
#[inline]
fn add_below(bytes: &[u8], g: u8, delta: f32, logits: &mut [f32]) {
    const W: usize = 32;
    let mut lc = logits.chunks_exact_mut(W);
    let mut bc = bytes.chunks_exact(W);
    for (l, b) in (&mut lc).zip(&mut bc) {
        let l: &mut [f32; W] = l.try_into().expect("chunk of W");
        let b: &[u8; W] = b.try_into().expect("chunk of W");
        for i in 0..W {
            l[i] += if b[i] < g { delta } else { 0.0 };
        }
    }
    for (l, &b) in lc.into_remainder().iter_mut().zip(bc.remainder()) {
        *l += if b < g { delta } else { 0.0 };
    }
}

/// Logits scanned per block when looking for finite values or the top k.
const SCAN: usize = 64;

/// True if any value of `chunk` is finite; branch-free so that it vectorises.
#[inline]
fn any_finite(chunk: &[f32]) -> bool {
    chunk.iter().fold(false, |acc, l| acc | ((l.to_bits() & 0x7fff_ffff) < 0x7f80_0000))
}

/// The largest value of `chunk` (NaN ignored); branch-free so that it vectorises.
#[inline]
fn chunk_max(chunk: &[f32]) -> f32 {
    chunk.iter().fold(f32::NEG_INFINITY, |m, &l| if l > m { l } else { m })
}

/// The engine-facing shape of a logits processor, as mistral.rs's `CustomLogitsProcessor`:
/// `apply(logits, context)` on a shared object, with no cache argument.
pub trait LogitsProcessor: Send + Sync {
    /// Biases one step's logits in place, given every token before the position.
    fn apply(&self, logits: &mut [f32], context: &[u32]) -> Result<(), Error>;
}

/// A [`Processor`] behind the [`LogitsProcessor`] trait: keeps a pool of caches, one taken
/// per call, so any number of threads can share it. The pool grows to the number of threads
/// that call at once and then stops allocating.
#[derive(Debug)]
pub struct SharedProcessor {
    processor: Processor,
    pool: Mutex<Vec<Cache>>,
}

impl SharedProcessor {
    /// Wraps a processor.
    pub fn new(processor: Processor) -> SharedProcessor {
        SharedProcessor { processor, pool: Mutex::new(Vec::new()) }
    }

    /// The wrapped processor.
    pub fn processor(&self) -> &Processor {
        &self.processor
    }
}

impl LogitsProcessor for SharedProcessor {
    fn apply(&self, logits: &mut [f32], context: &[u32]) -> Result<(), Error> {
        let taken = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut cache = taken.unwrap_or_else(|| self.processor.create_cache());
        let result = self.processor.apply(&mut cache, context, logits);
        self.pool.lock().unwrap_or_else(|e| e.into_inner()).push(cache);
        result.map(|_| ())
    }
}

impl LogitsProcessor for Processor {
    /// Without a cache of its own, each call makes a fresh one (it allocates; for a hot loop
    /// prefer [`SharedProcessor`] or [`Processor::apply`] with a kept [`Cache`]).
    fn apply(&self, logits: &mut [f32], context: &[u32]) -> Result<(), Error> {
        let mut cache = self.create_cache();
        Processor::apply(self, &mut cache, context, logits).map(|_| ())
    }
}
