//! The one scoring core: token ids in, scored units out.
//!
//! Every consumer of detection (the [`Detector`](crate::Detector), the corpus
//! [radioactivity test](crate::radioactive), the window scan and the null calibration of
//! the evaluation harness) goes through the same three pieces:
//!
//! 1. a [`Scorer`], shared and read-only: the keys, the configuration and the
//!    [`ScoreKind`]. It walks ids and yields one [`Unit`] per position with a full context:
//!    its position, token, context fingerprint, tuple fingerprint and its score;
//! 2. a [`Dedup`] mode and a [`DedupSet`](crate::dedup::DedupSet) that remembers units
//!    (exact, or 64-bit fingerprints for corpora), applied by [`Scorer::walk`], the one
//!    dedup-and-score loop, which reports every position to a [`Sink`];
//! 3. a [`Tally`] per key, turned into per-key tails by the score kind and into one
//!    corrected decision over keys by [`decide`](crate::verdict::decide).
//!
//! A unit's score depends only on (context, token, key), so a corpus-wide dedup is
//! order-free: "first occurrence" and a distributed `distinct` keep the same units.
//!
//! Score kinds ([`ScoreKind`]): the green bit of the KGW family (score 1 or 0; the sum of
//! `n` units is `Bin(n, γ_eff)` under the null), and the Gumbel-max score `−ln(1 − u)` of
//! the `gumbel:h` and vLLM schemes (a sum of `n` is `Gamma(n, 1)`; for vLLM's dual key the
//! weighted sum `(1 − α)·r_A + α·r_B` of two keys' scores, with its own exact tail), and
//! SynthID-Text's g-values (a unit scores how many of its `D` layers' g-values are 1; the sum
//! of `n` units is `Bin(n·D, p)`, `p` the sampling table's share of ones). Each kind is a
//! variant with its own [`Score`] value and tail, not a new loop.

use wmark_core::hf::{synthid_hash, synthid_step, HfKgw, HfSeeding, SynthId};
use wmark_core::philox::{exp_score, Philox, PhiloxContext, NO_TOKEN};
use wmark_core::{Config, GreenMask, Key, KeyId, KeyKind, Seed, Seeding, Watermark};

use crate::dedup::{Dedup, DedupSet};
use crate::error::Error;
use crate::stats::{binomial_upper_tail_log10, gamma_upper_tail_log10, weighted_gamma_upper_tail_log10, z_score};

/// What one scored unit contributes to the test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Score {
    /// A green-list bit: 1 if green.
    Green(bool),
    /// A real-valued score (Gumbel-max: `−ln(1 − u)`, or a weighted sum of two).
    Value(f64),
}

impl Score {
    /// The score as a number (1.0 or 0.0 for a green bit).
    pub fn value(self) -> f64 {
        match self {
            Score::Green(g) => f64::from(u8::from(g)),
            Score::Value(v) => v,
        }
    }

    /// True for a green bit that is set (never for a real-valued score).
    pub fn is_green(self) -> bool {
        match self {
            Score::Green(g) => g,
            Score::Value(_) => false,
        }
    }
}

/// How units are scored and which distribution their sum has under the null hypothesis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScoreKind {
    /// KGW green lists: a unit scores 1 if green; `n` units sum to `Bin(n, gamma)`.
    GreenBit {
        /// The effective green fraction `G/256`.
        gamma: f64,
    },
    /// Gumbel-max: a unit scores `−ln(1 − u)`, `Exp(1)` under the null; `n` units sum to
    /// `Gamma(n, 1)`.
    Gumbel,
    /// vLLM's dual key: a unit scores `(1 − α)·r_A + α·r_B`, two independent `Exp(1)`
    /// scores under the null; the sum of `n` is `(1 − α)·X + α·Y` with `X, Y ~ Gamma(n, 1)`.
    WeightedGumbel {
        /// The weight of key B.
        alpha: f64,
    },
    /// SynthID-Text: a unit scores its count of g-values equal to 1 over `depth` layers,
    /// each 1 with probability `p` under the null, independently (distinct n-gram hashes and
    /// layer keys); `n` units sum to `Bin(n·depth, p)`. The mean g-value score of the
    /// SynthID-Text paper is the sum over `n·depth`.
    GValues {
        /// The number of tournament layers, D.
        depth: u32,
        /// The share of ones in the sampling table.
        p: f64,
    },
}

impl ScoreKind {
    /// The kind of a configuration's scheme.
    pub fn of(config: &Config) -> ScoreKind {
        match config.seeding() {
            Seeding::Gumbel(_) | Seeding::VllmGumbel(_) => ScoreKind::Gumbel,
            Seeding::VllmDualKeyGumbel(_) => ScoreKind::WeightedGumbel { alpha: config.alpha() },
            _ => ScoreKind::GreenBit { gamma: config.gamma_effective() },
        }
    }

    /// The kind of a configuration scored with `keys` (all of one kind, as [`Scorer::new`]
    /// checks): for `hf-synthid` the depth is the keys' number of layers, which must agree.
    pub fn for_keys(config: &Config, keys: &[Key]) -> Result<ScoreKind, Error> {
        let Some((_, _, p)) = config.synthid_table() else { return Ok(ScoreKind::of(config)) };
        let depth = |k: &Key| k.dangerous_expose_secret_bytes().len() / 8;
        let d = keys.first().map_or(0, depth);
        if let Some(k) = keys.iter().find(|k| depth(k) != d) {
            return Err(Error::input(format!(
                "every SynthID key tested together needs the same number of layers: key {} has {d}, key {} has {}",
                keys[0].id(),
                k.id(),
                depth(k)
            )));
        }
        // Two equal layer keys give the same g-value twice: the bits would not be independent.
        for k in keys {
            let mut layers = k.dangerous_expose_synthid_keys().expect("checked: SynthID keys");
            layers.sort_unstable();
            if layers.windows(2).any(|w| w[0] == w[1]) {
                return Err(Error::input(format!(
                    "SynthID key {} holds the same layer key twice: its g-values would repeat, and the binomial \
                     test needs them independent",
                    k.id()
                )));
            }
        }
        Ok(ScoreKind::GValues { depth: d as u32, p })
    }

    /// True for the kinds whose units are green bits.
    pub fn has_green_bits(self) -> bool {
        matches!(self, ScoreKind::GreenBit { .. })
    }

    /// log10 of the p-value of `tally` for one key: `P(S ≥ s)` under the null, exact, in
    /// log space, never floored; 0 when nothing was scored.
    pub fn tail_log10(self, tally: &Tally) -> f64 {
        self.tail_log10_of(tally.scored, tally.green, tally.sum)
    }

    /// [`tail_log10`](Self::tail_log10) of `scored` units with `green` green bits (green-bit
    /// kinds) or a score sum `sum` (the others).
    pub fn tail_log10_of(self, scored: u64, green: u64, sum: f64) -> f64 {
        match self {
            ScoreKind::GreenBit { gamma } => binomial_upper_tail_log10(scored, green, gamma),
            ScoreKind::Gumbel if scored == 0 => 0.0,
            ScoreKind::Gumbel => gamma_upper_tail_log10(scored as f64, sum),
            ScoreKind::WeightedGumbel { alpha } => weighted_gamma_upper_tail_log10(scored, alpha, sum),
            ScoreKind::GValues { depth, p } => {
                binomial_upper_tail_log10(scored * u64::from(depth), sum.round().max(0.0) as u64, p)
            }
        }
    }

    /// The smallest log10 p that `scored` units could give at all (every unit green);
    /// `-inf` for a kind whose score is unbounded. Decides "too few units to decide".
    pub fn floor_log10(self, scored: u64) -> f64 {
        match self {
            ScoreKind::GreenBit { gamma } => scored as f64 * gamma.log10(),
            ScoreKind::GValues { depth, p } => scored as f64 * f64::from(depth) * p.log10(),
            ScoreKind::Gumbel | ScoreKind::WeightedGumbel { .. } => f64::NEG_INFINITY,
        }
    }

    /// The z-score of `tally`, for familiarity only; `None` when nothing was scored.
    pub fn z(self, tally: &Tally) -> Option<f64> {
        if tally.scored == 0 {
            return None;
        }
        let n = tally.scored as f64;
        Some(match self {
            ScoreKind::GreenBit { gamma } => z_score(tally.scored, tally.green, gamma),
            ScoreKind::Gumbel => (tally.sum - n) / n.sqrt(),
            ScoreKind::WeightedGumbel { alpha } => {
                (tally.sum - n) / (n * ((1.0 - alpha).powi(2) + alpha * alpha)).sqrt()
            }
            ScoreKind::GValues { depth, p } => {
                z_score(tally.scored * u64::from(depth), tally.sum.round().max(0.0) as u64, p)
            }
        })
    }

    /// SynthID-Text's mean g-value score of `tally`, `sum / (scored · D)` (`None` for the
    /// other kinds and when nothing was scored).
    pub fn mean_g(self, tally: &Tally) -> Option<f64> {
        match self {
            ScoreKind::GValues { depth, .. } if tally.scored > 0 => {
                Some(tally.sum / (tally.scored as f64 * f64::from(depth)))
            }
            _ => None,
        }
    }
}

/// Running totals of the scored units of one key.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    /// Units scored, T.
    pub scored: u64,
    /// Scored units that are green, s (green-bit kinds).
    pub green: u64,
    /// The sum of the scores (real-valued kinds; the green count again for green bits).
    pub sum: f64,
}

impl Tally {
    /// Adds one scored unit.
    #[inline]
    pub fn add(&mut self, score: Score) {
        self.scored += 1;
        self.green += u64::from(score.is_green());
        self.sum += score.value();
    }

    /// `s / T`; `None` when nothing was scored.
    pub fn green_fraction(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.green as f64 / self.scored as f64)
    }
}

/// One position with a full context, for one key.
///
/// Fingerprints are computed eagerly (they are copies of seed bytes); the score is computed
/// on demand by [`Unit::score`], so that units skipped before scoring (repeats, excluded
/// contexts) cost no keystream block.
#[derive(Clone, Debug)]
pub struct Unit<'a> {
    mark: &'a Mark,
    index: usize,
    token: u32,
    /// The v1 seed; for the vLLM schemes the Philox states of key A (bytes 0..16) and key B
    /// (bytes 16..32).
    seed: Seed,
    context: u128,
}

impl Unit<'_> {
    /// The position in the ids walked.
    #[inline]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The token at the position.
    #[inline]
    pub fn token(&self) -> u32 {
        self.token
    }

    /// The context fingerprint: the first 16 bytes of the green list's seed (for the vLLM
    /// schemes, the Philox state of the context under key A); for `selfhash`, whose seed
    /// depends on the candidate, a hash of the context tokens.
    #[inline]
    pub fn context(&self) -> u128 {
        self.context
    }

    /// The tuple fingerprint: the first 12 bytes of the seed and the token id.
    #[inline]
    pub fn tuple(&self) -> u128 {
        tuple_fp(&self.seed, self.token)
    }

    /// The unit's score (one ChaCha8 block, or one or two Philox calls).
    #[inline]
    pub fn score(&self) -> Score {
        self.mark.score(&self.seed, self.token)
    }
}

/// What happened to one position of a walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Scored, and in the green list.
    Green,
    /// Scored, and not in the green list.
    Red,
    /// Scored, with a real-valued score (the Gumbel-max schemes).
    Scored,
    /// Not scored: its unit was already scored (see [`Dedup`]).
    Repeat,
    /// Not scored: fewer tokens precede it than the seeding rule needs.
    NoContext,
}

impl Status {
    /// True for the statuses that count in the test.
    pub fn is_scored(self) -> bool {
        matches!(self, Status::Green | Status::Red | Status::Scored)
    }
}

/// Receives the positions of a [`Scorer::walk`], in order.
pub trait Sink {
    /// A position without full context (never scored).
    fn no_context(&mut self, _index: usize) {}
    /// Called before dedup: false skips the unit (it is neither remembered nor scored).
    /// The radioactivity test's prompt exclusion and teacher filter live here.
    fn admit(&mut self, _unit: &Unit<'_>) -> bool {
        true
    }
    /// A unit seen before under the dedup mode.
    fn repeat(&mut self, _unit: &Unit<'_>) {}
    /// A unit scored for the first time, with its score.
    fn scored(&mut self, unit: &Unit<'_>, score: Score);
}

/// One key, compiled for its scheme.
#[derive(Clone, Debug)]
enum Mark {
    /// A green-list scheme of v1.
    Green(Watermark),
    /// `gumbel:h`: the v1 seed, 32-bit keystream words.
    Gumbel(Watermark),
    /// vLLM's Philox PRF; with `b` and the weight `alpha` of key B, the dual-key scheme.
    Vllm { a: Philox, b: Option<(Philox, f64)> },
    /// transformers' KGW green lists (torch's generator and `randperm`).
    Hf(Box<HfKgw>),
    /// transformers' SynthID-Text g-values.
    SynthId(Box<SynthId>),
}

impl Mark {
    #[inline]
    fn score(&self, seed: &Seed, token: u32) -> Score {
        match self {
            Mark::Green(wm) => Score::Green(wm.is_green_in(seed, token)),
            Mark::Gumbel(_) => Score::Value(exp_score(Watermark::gumbel_uniform(seed, token))),
            Mark::Hf(kgw) => Score::Green(kgw.contains_seeded(seed_word(seed), token)),
            Mark::SynthId(s) => Score::Value(f64::from(s.ones_of_hash(seed_word(seed) as i64))),
            Mark::Vllm { a, b } => {
                let (state_a, state_b) = philox_states(seed);
                let r_a = exp_score(f64::from(a.uniform(&state_a, token)));
                match b {
                    None => Score::Value(r_a),
                    Some((b, alpha)) => {
                        let r_b = exp_score(f64::from(b.uniform(&state_b, token)));
                        Score::Value((1.0 - alpha) * r_a + alpha * r_b)
                    }
                }
            }
        }
    }
}

/// Keys and a configuration, compiled for scoring: built once, then read-only and shareable
/// across threads.
#[derive(Clone)]
pub struct Scorer {
    marks: Vec<Mark>,
    ids: Vec<KeyId>,
    config: Config,
    kind: ScoreKind,
    need: usize,
    selfhash: bool,
    /// The vLLM schemes' context width: contexts are padded with −1 before the start.
    vllm_width: Option<usize>,
}

impl std::fmt::Debug for Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scorer")
            .field("keys", &self.ids)
            .field("config", &self.config)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Scorer {
    /// A scorer for `keys` (at least one), all with `config`. The keys must be of the
    /// scheme's kind: v1 keys for wmark's schemes, vLLM keys for the `vllm-*` schemes.
    pub fn new(keys: &[Key], config: Config) -> Result<Scorer, Error> {
        if keys.is_empty() {
            return Err(Error::no_keys());
        }
        let seeding = config.seeding();
        let want = seeding.key_kind();
        if let Some(k) = keys.iter().find(|k| k.kind() != want) {
            return Err(Error::input(match want {
                KeyKind::Vllm => format!(
                    "the scheme {seeding} needs a vLLM key (a key file `wmark-vllm-key-v1:<decimal>`), \
                     but key {} is a wmark key",
                    k.id()
                ),
                KeyKind::V1 => format!(
                    "the scheme {seeding} needs a wmark key (a key file `wmark-key-v1:<hex>`), but key {} is not one",
                    k.id()
                ),
                KeyKind::Hf => format!(
                    "the scheme {seeding} needs a Hugging Face hashing key (a key file `wmark-hf-key-v1:<decimal>`), \
                     but key {} is not one",
                    k.id()
                ),
                KeyKind::SynthId => format!(
                    "the scheme {seeding} needs a SynthID-Text key (a key file `wmark-synthid-key-v1:<k1>,<k2>,...`), \
                     but key {} is not one",
                    k.id()
                ),
            }));
        }
        let kind = ScoreKind::for_keys(&config, keys)?;
        // SynthID's sampling table depends on the configuration only: drawn once, shared.
        let mut synthid: Option<SynthId> = None;
        let marks = keys
            .iter()
            .map(|k| -> Result<Mark, Error> {
                Ok(match seeding {
                    Seeding::Gumbel(_) => Mark::Gumbel(Watermark::new(k, config)),
                    Seeding::VllmGumbel(_) | Seeding::VllmDualKeyGumbel(_) => {
                        let key = k.dangerous_expose_vllm_key().expect("checked: a vLLM key");
                        if matches!(seeding, Seeding::VllmDualKeyGumbel(_)) {
                            let (a, b) = Philox::dual(key);
                            Mark::Vllm { a, b: Some((b, config.alpha())) }
                        } else {
                            Mark::Vllm { a: Philox::new(key), b: None }
                        }
                    }
                    Seeding::HfLeftHash(w) | Seeding::HfSelfHash(w) => {
                        let hf_seeding = if matches!(seeding, Seeding::HfLeftHash(_)) {
                            HfSeeding::LeftHash
                        } else {
                            HfSeeding::SelfHash
                        };
                        let ratio = config.hf_greenlist_ratio().expect("an HF scheme");
                        let key = k.dangerous_expose_hf_key().expect("checked: an HF key");
                        let kgw = HfKgw::new(key, hf_seeding, ratio, w, config.vocab_size())
                            .map_err(|e| Error::input(e.to_string()))?;
                        Mark::Hf(Box::new(kgw))
                    }
                    Seeding::HfSynthId(_) => {
                        let made = match &synthid {
                            Some(first) => {
                                let layers = k.dangerous_expose_synthid_keys().expect("checked: a SynthID key");
                                first.with_keys(layers.to_vec())
                            }
                            None => SynthId::for_key(k, &config),
                        }
                        .map_err(|e| Error::input(e.to_string()))?;
                        synthid.get_or_insert_with(|| made.clone());
                        Mark::SynthId(Box::new(made))
                    }
                    _ => Mark::Green(Watermark::new(k, config)),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Scorer {
            marks,
            ids: keys.iter().map(Key::id).collect(),
            config,
            kind,
            need: seeding.context_len(),
            selfhash: seeding.depends_on_candidate(),
            vllm_width: seeding.vllm_width(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The score kind.
    pub fn kind(&self) -> ScoreKind {
        self.kind
    }

    /// How many keys.
    pub fn keys(&self) -> usize {
        self.marks.len()
    }

    /// The id of key `key`.
    pub fn key_id(&self, key: usize) -> KeyId {
        self.ids[key]
    }

    /// How many tokens before a position the seeding rule needs before it scores anything:
    /// 0 for the vLLM schemes, which pad the context with −1 at the start of a generation.
    pub fn context_len(&self) -> usize {
        self.need
    }

    /// How many ids a context is made of: [`context_len`](Self::context_len), or for the
    /// vLLM schemes their context width. The windows that [`context_fp`](Self::context_fp)
    /// takes have this length.
    pub fn window_len(&self) -> usize {
        self.vllm_width.unwrap_or(self.need)
    }

    /// Errors if an id is at or above the vocabulary size: the text was not tokenized for
    /// this configuration.
    pub fn check_ids(&self, ids: &[u32]) -> Result<(), Error> {
        let vocab = self.config.vocab_size();
        match ids.iter().position(|&id| id >= vocab) {
            Some(i) => Err(Error::token_out_of_range(i, ids[i], vocab)),
            None => Ok(()),
        }
    }

    /// The unit at position `index` of `ids` for key `key`; `index ≥ context_len()`. For
    /// the vLLM schemes the generation starts at `ids[0]`.
    #[inline]
    pub fn unit<'a>(&'a self, key: usize, ids: &[u32], index: usize) -> Unit<'a> {
        self.unit_from(key, ids, 0, index)
    }

    /// [`unit`](Self::unit), for the vLLM schemes with the generation starting at
    /// `ids[start]` (earlier ids are a prompt, which vLLM's contexts do not read).
    #[inline]
    fn unit_from<'a>(&'a self, key: usize, ids: &[u32], start: usize, index: usize) -> Unit<'a> {
        let mark = &self.marks[key];
        let token = ids[index];
        let (seed, context) = match mark {
            Mark::Vllm { a, b } => {
                let w = self.vllm_width.expect("a vLLM scheme");
                // Context word i of position `index` is ids[index - w + i], or −1 before `start`.
                let word = |i: usize| {
                    let at = index + i;
                    if at >= start + w {
                        ids[at - w]
                    } else {
                        NO_TOKEN
                    }
                };
                let state_a = a.absorb(w, word);
                let state_b = b.as_ref().map(|(b, _)| b.absorb(w, word));
                philox_seed(state_a, state_b)
            }
            Mark::Hf(kgw) => hf_seed(kgw, &ids[index - self.need..index], token),
            Mark::SynthId(_) => synthid_seed(&ids[index - self.need..index], token),
            Mark::Green(wm) | Mark::Gumbel(wm) => {
                let context = &ids[index - self.need..index];
                if self.selfhash {
                    let seeder = wm.seeder(context).expect("context has the length the rule needs");
                    (seeder.seed(token), tokens_fp(context))
                } else {
                    let seed = wm.context_seed(context).expect("context has the length the rule needs");
                    (seed, seed_fp(&seed))
                }
            }
        };
        Unit { mark, index, token, seed, context }
    }

    /// The context fingerprint of the position that follows `window` (exactly
    /// [`window_len()`](Self::window_len) ids), for key `key`: what [`Unit::context`] of
    /// that position is.
    pub fn context_fp(&self, key: usize, window: &[u32]) -> u128 {
        debug_assert_eq!(window.len(), self.window_len());
        match &self.marks[key] {
            Mark::Vllm { a, .. } => u128::from_le_bytes(a.absorb_ids(window).to_bytes()),
            Mark::Hf(_) | Mark::SynthId(_) => tokens_fp(window),
            Mark::Green(wm) | Mark::Gumbel(wm) => {
                if self.selfhash {
                    tokens_fp(window)
                } else {
                    seed_fp(&wm.context_seed(window).expect("context has the length the rule needs"))
                }
            }
        }
    }

    /// The one dedup-and-score walk: every position of `ids[from..]` for key `key`, with
    /// `ids[..from]` as context only (for the vLLM schemes, not even that: a generation's
    /// contexts start with −1 at `ids[from]`). Positions without full context go to
    /// [`Sink::no_context`]; the others become units, which the sink may skip
    /// ([`Sink::admit`]); admitted units are scored the first time `dedup` sees them in
    /// `set`, and are repeats otherwise. Ids must have been checked ([`Scorer::check_ids`]).
    #[inline]
    pub fn walk<S: DedupSet + ?Sized, K: Sink + ?Sized>(
        &self,
        key: usize,
        ids: &[u32],
        from: usize,
        dedup: Dedup,
        set: &mut S,
        sink: &mut K,
    ) {
        let from = from.min(ids.len());
        for index in from..ids.len() {
            if index < self.need {
                sink.no_context(index);
                continue;
            }
            let unit = self.unit_from(key, ids, from, index);
            if !sink.admit(&unit) {
                continue;
            }
            if dedup.first_time(set, &unit) {
                let score = unit.score();
                sink.scored(&unit, score);
            } else {
                sink.repeat(&unit);
            }
        }
    }

    /// Scores every token of `tokens` after one `context` (exactly
    /// [`window_len()`](Self::window_len) ids) for key `key`, calling `f(i, tuple
    /// fingerprint, score)` for `tokens[i]`. For green lists with many tokens and a shared
    /// seed, the whole green list is expanded once into `mask` (about 10 µs at V = 49,152)
    /// instead of one keystream block per token: the fast path of the null calibration,
    /// which scores each distinct tuple of a corpus once per key.
    pub fn score_after(
        &self,
        key: usize,
        context: &[u32],
        tokens: &[u32],
        mask: &mut GreenMask,
        mut f: impl FnMut(usize, u128, Score),
    ) {
        /// From this many tokens on, one mask beats one block per token.
        const MASK_AT: usize = 96;
        let mark = &self.marks[key];
        let wm = match mark {
            Mark::Green(wm) => wm,
            Mark::Gumbel(wm) => {
                let seed = wm.context_seed(context).expect("context has the length the rule needs");
                for (i, &t) in tokens.iter().enumerate() {
                    f(i, tuple_fp(&seed, t), mark.score(&seed, t));
                }
                return;
            }
            Mark::Vllm { a, b } => {
                let (seed, _) = philox_seed(a.absorb_ids(context), b.as_ref().map(|(b, _)| b.absorb_ids(context)));
                for (i, &t) in tokens.iter().enumerate() {
                    f(i, tuple_fp(&seed, t), mark.score(&seed, t));
                }
                return;
            }
            Mark::Hf(kgw) => {
                for (i, &t) in tokens.iter().enumerate() {
                    let (seed, _) = hf_seed(kgw, context, t);
                    f(i, tuple_fp(&seed, t), mark.score(&seed, t));
                }
                return;
            }
            Mark::SynthId(_) => {
                for (i, &t) in tokens.iter().enumerate() {
                    let (seed, _) = synthid_seed(context, t);
                    f(i, tuple_fp(&seed, t), mark.score(&seed, t));
                }
                return;
            }
        };
        let seeder = wm.seeder(context).expect("context has the length the rule needs");
        match seeder.shared_seed() {
            Some(seed) if tokens.len() >= MASK_AT => {
                wm.fill_mask(seed, mask);
                for (i, &t) in tokens.iter().enumerate() {
                    f(i, tuple_fp(seed, t), Score::Green(mask.contains(t)));
                }
            }
            _ => {
                for (i, &t) in tokens.iter().enumerate() {
                    let seed = seeder.seed(t);
                    f(i, tuple_fp(&seed, t), Score::Green(wm.is_green_in(&seed, t)));
                }
            }
        }
    }

    /// Scores `ids[from..]` for key `key` with a fresh exact dedup set: each position's
    /// status and colour, and the tally. What the detector reports for one document.
    pub fn score_ids(&self, key: usize, ids: &[u32], from: usize, dedup: Dedup) -> Result<Scoring, Error> {
        self.check_ids(ids)?;
        let n = ids.len() - from.min(ids.len());
        let mut out = Scoring::with_capacity(n);
        if !self.kind.has_green_bits() {
            out.values.reserve(n);
        }
        let mut set = crate::dedup::ExactSet::with_capacity(if dedup == Dedup::None { 0 } else { n });
        self.walk(key, ids, from, dedup, &mut set, &mut out);
        Ok(out)
    }
}

/// The seed bytes of a vLLM unit (the states of keys A and B) and its context fingerprint
/// (key A's state).
#[inline]
fn philox_seed(a: PhiloxContext, b: Option<PhiloxContext>) -> (Seed, u128) {
    let mut seed = [0u8; 32];
    let a_bytes = a.to_bytes();
    seed[..16].copy_from_slice(&a_bytes);
    if let Some(b) = b {
        seed[16..].copy_from_slice(&b.to_bytes());
    }
    (Seed(seed), u128::from_le_bytes(a_bytes))
}

/// The seed bytes of an HF unit and its context fingerprint. transformers' detector dedups
/// whole n-grams, so the fingerprint (bytes 0..16) is that of the context ids, which the
/// tuple fingerprint extends with the token; bytes 16..24 hold torch's generator seed.
#[inline]
fn hf_seed(kgw: &HfKgw, context: &[u32], token: u32) -> (Seed, u128) {
    let fp = tokens_fp(context);
    let generator = kgw.detector_seed(context, token).expect("context has the length the rule needs");
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(&fp.to_le_bytes());
    seed[16..24].copy_from_slice(&generator.to_le_bytes());
    (Seed(seed), fp)
}

/// The seed bytes of a SynthID unit and its context fingerprint: bytes 0..16 hold the
/// context ids' fingerprint (transformers' context-repetition mask compares contexts, so the
/// `window` dedup mode is that mask over the whole text), bytes 16..24 the n-gram's hash.
#[inline]
fn synthid_seed(context: &[u32], token: u32) -> (Seed, u128) {
    let fp = tokens_fp(context);
    let hash = synthid_step(synthid_hash(context), i64::from(token));
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(&fp.to_le_bytes());
    seed[16..24].copy_from_slice(&hash.to_le_bytes());
    (Seed(seed), fp)
}

/// The word stored in bytes 16..24 of a unit's seed: torch's generator seed ([`hf_seed`]) or
/// the n-gram hash ([`synthid_seed`]).
#[inline]
fn seed_word(seed: &Seed) -> u64 {
    u64::from_le_bytes(seed.0[16..24].try_into().expect("8 bytes"))
}

/// The two Philox states stored by [`philox_seed`].
#[inline]
fn philox_states(seed: &Seed) -> (PhiloxContext, PhiloxContext) {
    let word = |i: usize| u32::from_le_bytes(seed.0[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    (PhiloxContext([word(0), word(1), word(2), word(3)]), PhiloxContext([word(4), word(5), word(6), word(7)]))
}

/// The status and colour of every position of one document, and its tally: the sink the
/// detector uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scoring {
    status: Vec<Status>,
    green: Vec<bool>,
    values: Vec<f64>,
    scored: u64,
    greens: u64,
    sum: f64,
}

impl Scoring {
    fn with_capacity(n: usize) -> Scoring {
        Scoring { status: Vec::with_capacity(n), green: Vec::with_capacity(n), ..Scoring::default() }
    }

    /// One entry per walked position, in order.
    pub fn status(&self) -> &[Status] {
        &self.status
    }

    /// Colour of each position (false where there was no context to decide, and for the
    /// kinds without green bits). A repeat's colour is computed too, for highlighting.
    pub fn green(&self) -> &[bool] {
        &self.green
    }

    /// The real-valued score of each scored unit, in order (empty for green-bit kinds).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Units scored, T (the green and red statuses).
    pub fn scored(&self) -> u64 {
        self.scored
    }

    /// Scored units that are green, s.
    pub fn greens(&self) -> u64 {
        self.greens
    }

    /// The sum of the scores of the scored units.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The tally of the scored units.
    pub fn tally(&self) -> Tally {
        Tally { scored: self.scored, green: self.greens, sum: self.sum }
    }
}

impl Sink for Scoring {
    fn no_context(&mut self, _index: usize) {
        self.status.push(Status::NoContext);
        self.green.push(false);
    }

    fn repeat(&mut self, unit: &Unit<'_>) {
        self.status.push(Status::Repeat);
        self.green.push(unit.score().is_green());
    }

    fn scored(&mut self, _unit: &Unit<'_>, score: Score) {
        let green = score.is_green();
        self.status.push(match score {
            Score::Green(true) => Status::Green,
            Score::Green(false) => Status::Red,
            Score::Value(_) => Status::Scored,
        });
        self.green.push(green);
        if let Score::Value(v) = score {
            self.values.push(v);
        }
        self.scored += 1;
        self.greens += u64::from(green);
        self.sum += score.value();
    }
}

/// Tuple fingerprint: the first 12 bytes of the seed and the token id.
#[inline]
fn tuple_fp(seed: &Seed, token: u32) -> u128 {
    let mut fp = [0u8; 16];
    fp[..12].copy_from_slice(&seed.0[..12]);
    fp[12..].copy_from_slice(&token.to_le_bytes());
    u128::from_le_bytes(fp)
}

/// Context fingerprint of a shared seed: its first 16 bytes.
#[inline]
fn seed_fp(seed: &Seed) -> u128 {
    u128::from_le_bytes(seed.0[..16].try_into().expect("16 bytes"))
}

/// Context fingerprint for `selfhash`, whose seeds depend on the candidate: the context
/// tokens themselves, in two 64-bit FNV-1a lanes with different offsets.
fn tokens_fp(context: &[u32]) -> u128 {
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
