//! The closed-model radioactivity test: was a suspect model trained on our watermarked
//! outputs? (Sander et al., 2024, *Watermarking Makes Language Models Radioactive*.)
//!
//! The provider cannot see the suspect model's weights, only its answers. It asks the model
//! many prompts and tests all the answers together as **one corpus**:
//!
//! * **One global dedup tape.** Every (seed, token) tuple counts once in the whole corpus,
//!   whichever answer it appears in. A model trained on watermarked text repeats a few
//!   favourite tuples over and over; counting each repeat would turn one coin flip into many
//!   (see docs/statistics.md §5), and even an innocent model would then look "radioactive".
//! * **Prompt exclusion.** The prompts are read first, and only to collect every context (the
//!   green-list seed, i.e. the last `h` tokens as the seed sees them) that occurs in them. An
//!   answer tuple whose context is one of those is not scored. Prompts are often the
//!   provider's own watermarked text, and a model copies or paraphrases its prompt; without
//!   the exclusion that copied watermark would be mistaken for radioactivity.
//! * **Optional teacher filter.** Only answer tuples whose *context* (green-list seed) also
//!   occurs in the provider's own watermarked corpus are scored: the places where the
//!   teacher's watermark could have been learnt. The filter selects on contexts, never on
//!   the (context, token) tuples themselves: tuples found in watermarked text are mostly
//!   green *because* of the watermark, so selecting them would make an innocent model look
//!   radioactive (see [`RadioactivityOptions::teacher_filter`]).
//! * **Several keys** (accounts): each key has its own tapes and sets; the best key is
//!   reported with its p-value multiplied by `K` (Bonferroni), and every key's own result is
//!   listed.
//! * **Evidence over the corpus**: `(tokens, scored, green, log10_p)` checkpoints each time the
//!   number of scored tuples reaches a power of two, and at the end, to plot the evidence
//!   against the number of tokens read.
//!
//! The test is the detector's: `P(Bin(T, γ_eff) ≥ s)` in log10 with the exact tail of
//! [`crate::stats`].
//!
//! # Streaming, and the order of the inputs
//!
//! Documents are fed one at a time and never kept: only fingerprints are. Because an answer is
//! scored the moment it is added, everything that decides whether an answer tuple counts must
//! be known before the first answer: **all prompts (and teacher documents) must be added
//! before the first answer.** Adding one afterwards is an error, not a silent change of the
//! rules half-way through the corpus.
//!
//! ```
//! use wmark_core::{Config, Key, Seeding};
//! use wmark_detect::radioactive::{Radioactivity, RadioactivityOptions, RadioactivityVerdict};
//!
//! let key = Key::from_bytes([3; 32]);
//! let config = Config::new(Seeding::LeftHash, 0.25, 2.0, 1000).unwrap();
//! let mut test = Radioactivity::new(&[key], config, RadioactivityOptions::default()).unwrap();
//! test.add_prompt(&[5, 6, 7]).unwrap();
//! test.add_answer(&[7, 8, 9, 10, 11]).unwrap();
//! test.add_answer(&[8, 9, 10, 12]).unwrap();
//! assert!(test.add_prompt(&[1, 2]).is_err()); // prompts come first
//! let report = test.finish();
//! // 9 tokens, 2 without context, 1 with the prompt's context 7, 2 repeats (8→9, 9→10)
//! assert_eq!((report.answer_tokens, report.scored, report.repeats), (9, 4, 2));
//! assert_eq!(report.verdict, RadioactivityVerdict::Insufficient);
//! ```
//!
//! # What is a context, exactly
//!
//! For every rule but `selfhash`, the context of a position is its green-list seed, and its
//! fingerprint is the first 16 bytes of that seed, as in the detector's `window` dedup. Under
//! `minhash:h` two different windows with the same min-hash token share a seed, so a prompt
//! window excludes every answer window that seeds the same green list. For `selfhash`, whose
//! seed depends on the candidate, the context is the `h − 1` preceding tokens themselves.
//! With `unigram` (and `selfhash:1`) every position has the same, empty context: any prompt
//! excludes everything. Those rules have no use for this test.
//!
//! A prompt of length `L` contributes the contexts of positions `c..=L`, where `c` is the
//! number of tokens the rule reads (`h`, or `h − 1` for `selfhash`): every window of `c`
//! tokens in it, including the last one, which seeds whatever follows the prompt.
//!
//! # Memory
//!
//! Each remembered unit is kept as a 64-bit fingerprint: the 16-byte fingerprint of
//! [`crate::score`] (the same bytes as the detector's dedup) folded to 8 bytes by xoring its
//! halves, in an open-addressing table of `u64` slots (linear probing, power-of-two size,
//! 0 marks an empty slot). The table doubles when its load would pass 7/8, so the load stays
//! between 7/16 (just after a doubling) and 7/8, and a unit costs `8 / load` bytes:
//!
//! * **worst case, 18.3 bytes** a unit, just after a doubling (load 7/16); 9.1 bytes at best
//!   (load 7/8), just before one;
//! * **12.7 bytes on average** over a growth cycle (`8 · ln 2 / (7/16)`, with the number of
//!   units uniform between two doublings); at 10^7 units, for instance, the table has 2^24
//!   slots: 13.4 bytes a unit;
//! * while a doubling runs, the old and the new table are both alive for a moment: 27.4 bytes
//!   a unit at that peak (`8 · 3 / (7/8)`).
//!
//! [`Radioactivity::memory_bytes`] is exactly the bytes of the tables. Per key, the units
//! are: the distinct scored units (the tape), the distinct prompt contexts, and with the
//! filter the distinct teacher contexts; an empty set allocates nothing.
//!
//! **Fingerprint collisions.** Two distinct units whose 64-bit fingerprints are equal are
//! merged. On the tape, the later one is then skipped as a repeat (or, for a prompt context,
//! excluded): a tuple is lost, never created, and the green count can only lose coin flips,
//! so the p-value stays valid. In the teacher filter, a merged context lets through an
//! answer context the teacher never wrote; the selection still depends on the context only,
//! never on the colour of the token after it, so that tuple is a fresh coin flip under the
//! null and validity is kept too. The fingerprints being hash-like, `n` units merge
//! `n² / 2^65` pairs in expectation: about 3·10^-4 for 10^8 units. (For one seed, tuples with
//! different tokens never merge: the token occupies bits of the fold that the seed's bytes
//! only xor with a constant.) The detector keeps full 16-byte fingerprints; on the corpora
//! this test is run on, the two agree unless such a rare merge occurs.
//!
//! # Cost
//!
//! One HMAC-SHA256 per answer token and key, and one ChaCha8 block per scored tuple. Measured
//! (release build, one core, one key, `lefthash`, V = 50,000, random tokens so that nearly
//! every tuple is new): 10^7 answer tokens in 3.8 to 4.5 s (2.2 to 2.6·10^6 tokens/s), and 13.5 bytes of
//! heap per unique tuple at 10^7 tuples (the table's 13.46 plus the checkpoints). The ignored
//! test `throughput_and_memory_per_tuple` in `tests/radioactive.rs` repeats the measurement.

use serde::{Deserialize, Serialize};
use wmark_core::{Config, Key};

use crate::dedup::{Dedup, DedupSet, FpSet};
use crate::detect::DEFAULT_ALPHA;
use crate::error::Error;
use crate::score::{Score, ScoreKind, Scorer, Sink, Tally, Unit};
use crate::verdict::{check_alpha, decide, Outcome};

/// The version of the [`RadioactivityReport`] format. Bumped on any change a reader could
/// notice.
pub const RADIOACTIVITY_SCHEMA_VERSION: u32 = 1;

/// How the radioactivity test scores and decides.
#[derive(Clone, Debug)]
pub struct RadioactivityOptions {
    /// Which repeated units count once, across the whole corpus (default: tuple). `none` is
    /// for demonstrations only: without dedup an innocent model can look radioactive.
    pub dedup: Dedup,
    /// Significance level of the verdict, in (0, 1) (default 1e-6).
    pub alpha: f64,
    /// Score only answer tuples whose context (the green-list seed; for `selfhash` the
    /// context tokens) occurs in the teacher corpus given with [`Radioactivity::add_teacher`]
    /// (default: off). This concentrates the test on the contexts where a student could have
    /// learnt the teacher's green choices.
    ///
    /// The filter is on contexts, not on whole tuples, and that is what keeps the p-value
    /// valid: whether a context occurs in the teacher's text depends on the colours of the
    /// tuples that *produced* that context, never on the colour of the next token after it,
    /// which for an innocent model stays a fresh coin flip. Filtering on the tuples
    /// themselves would select tuples that are in the teacher's text *because* they are
    /// green, and an innocent model would then look radioactive (the test suite shows both).
    pub teacher_filter: bool,
    /// A beginning-of-sequence id to strip when a document starts with it.
    pub bos_id: Option<u32>,
}

impl Default for RadioactivityOptions {
    fn default() -> RadioactivityOptions {
        RadioactivityOptions { dedup: Dedup::Tuple, alpha: DEFAULT_ALPHA, teacher_filter: false, bos_id: None }
    }
}

/// The decision at level α.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RadioactivityVerdict {
    /// p ≤ α: the answers carry the watermark of `key_id`; the suspect model was trained on
    /// (or otherwise exposed to) text watermarked with that key.
    Radioactive,
    /// p > α with enough scored tuples that a trace could have been found (or a filtered,
    /// descriptive result; see [`RadioactivityOptions::teacher_filter`]).
    NotRadioactive,
    /// Too few scored tuples: even if every one were green, p could not reach α.
    Insufficient,
}

/// The evidence after part of the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Answer tokens read so far (scored or not).
    pub tokens: u64,
    /// Tuples scored so far, T.
    pub scored: u64,
    /// Green tuples among them, s.
    pub green: u64,
    /// The Gumbel-max schemes only: the sum of the scores so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// log10 P(Bin(T, γ_eff) ≥ s) for this key alone: not corrected for the number of keys,
    /// and not a p-value to act on (looking at many checkpoints is many tests; the verdict
    /// uses the end of the corpus only).
    pub log10_p: f64,
}

/// One key's own result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RadioactivityKeyResult {
    /// The key id.
    pub key_id: String,
    /// Tuples scored for this key, T.
    pub scored: u64,
    /// Green tuples among them, s.
    pub green: u64,
    /// s / T; null when T = 0.
    pub green_fraction: Option<f64>,
    /// The Gumbel-max schemes only: the sum of this key's scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// log10 p for this key alone (not corrected for the number of keys).
    pub log10_p: f64,
    /// Answer tuples not scored because their context occurs in a prompt.
    pub excluded_prompt_context: u64,
    /// Answer tuples not scored because their context does not occur in the teacher corpus.
    pub filtered_out: u64,
    /// Answer tuples not scored because they were already scored (see `dedup`).
    pub repeats: u64,
    /// Distinct teacher contexts in the filter (0 without the filter).
    pub teacher_contexts: u64,
}

/// The result of a radioactivity test: a versioned, serde-serialisable record.
///
/// The counts of answer tokens add up, for the reported key:
/// `answer_tokens = no_context + excluded_prompt_context + filtered_out + repeats + scored`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RadioactivityReport {
    /// [`RADIOACTIVITY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The seeding rule, e.g. `lefthash`.
    pub scheme: String,
    /// The key the figures are for: the best key when several were tested.
    pub key_id: String,
    /// G/256, the green probability of the null hypothesis (0 for the Gumbel-max schemes).
    pub gamma_effective: f64,
    /// Which repeated units were scored once, across the whole corpus.
    pub dedup: Dedup,
    /// The significance level of the verdict.
    pub alpha: f64,
    /// True if only tuples whose context occurs in the teacher corpus were scored.
    pub teacher_filter: bool,
    /// Number of prompts read.
    pub prompts: u64,
    /// Tokens in the prompts.
    pub prompt_tokens: u64,
    /// Number of teacher documents read.
    pub teacher_documents: u64,
    /// Tokens in the teacher documents.
    pub teacher_tokens: u64,
    /// Number of answers read.
    pub answers: u64,
    /// Tokens in the answers (a stripped BOS excluded).
    pub answer_tokens: u64,
    /// Answer tokens with fewer preceding tokens in their answer than the rule needs.
    pub no_context: u64,
    /// Tuples scored, T.
    pub scored: u64,
    /// Green tuples among them, s.
    pub green: u64,
    /// s / T; null when T = 0.
    pub green_fraction: Option<f64>,
    /// The Gumbel-max schemes only: the sum of the scored tuples' scores, `Gamma(T, 1)`
    /// under the null (for the dual key, the weighted sum and its exact tail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// log10 of `p_value`: exact, never floored, corrected for the number of keys.
    pub log10_p: f64,
    /// min(1, K · P(Bin(T, γ_eff) ≥ s)); underflows to 0 for strong evidence, see `log10_p`.
    pub p_value: f64,
    /// (s − γT)/√(Tγ(1−γ)), for familiarity only; null when T = 0.
    pub z: Option<f64>,
    /// Answer tuples not scored because their context occurs in a prompt.
    pub excluded_prompt_context: u64,
    /// Answer tuples not scored because their context does not occur in the teacher corpus.
    pub filtered_out: u64,
    /// Answer tuples not scored because they were already scored.
    pub repeats: u64,
    /// Every key's own, uncorrected result, in the order the keys were given.
    pub keys: Vec<RadioactivityKeyResult>,
    /// The evidence as the corpus was read, for the reported key.
    pub checkpoints: Vec<Checkpoint>,
    /// The decision at `alpha`.
    pub verdict: RadioactivityVerdict,
}

impl RadioactivityReport {
    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("reports serialise")
    }
}

/// Everything one key remembers and counts.
struct KeyState {
    /// Scored units (tuples, or contexts in `window` mode).
    tape: FpSet,
    /// Contexts that occur in a prompt.
    excluded: FpSet,
    /// Contexts of the teacher corpus (with the filter).
    teacher: FpSet,
    counts: KeyCounts,
}

/// One key's counts over the answers.
#[derive(Default)]
struct KeyCounts {
    tally: Tally,
    excluded_prompt_context: u64,
    filtered_out: u64,
    repeats: u64,
    checkpoints: Vec<Checkpoint>,
}

/// The answers' sink for one key: prompt exclusion and the teacher filter before dedup,
/// counts and checkpoints after.
struct AnswerSink<'a> {
    kind: ScoreKind,
    excluded: &'a FpSet,
    teacher: Option<&'a FpSet>,
    counts: &'a mut KeyCounts,
    /// Answer tokens read before this answer.
    start_tokens: u64,
}

impl Sink for AnswerSink<'_> {
    fn admit(&mut self, unit: &Unit<'_>) -> bool {
        if !self.excluded.is_empty() && self.excluded.contains(unit.context()) {
            self.counts.excluded_prompt_context += 1;
            return false;
        }
        if let Some(teacher) = self.teacher {
            if !teacher.contains(unit.context()) {
                self.counts.filtered_out += 1;
                return false;
            }
        }
        true
    }

    fn repeat(&mut self, _unit: &Unit<'_>) {
        self.counts.repeats += 1;
    }

    fn scored(&mut self, unit: &Unit<'_>, score: Score) {
        let c = &mut *self.counts;
        c.tally.add(score);
        if c.tally.scored.is_power_of_two() {
            c.checkpoints.push(Checkpoint {
                tokens: self.start_tokens + unit.index() as u64 + 1,
                scored: c.tally.scored,
                green: c.tally.green,
                score: (!self.kind.has_green_bits()).then_some(c.tally.sum),
                log10_p: self.kind.tail_log10(&c.tally),
            });
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Prompts and teacher documents may still be added.
    Setup,
    /// The first answer has been scored.
    Answers,
}

/// The streaming radioactivity test over a corpus of answers; see the
/// [module documentation](self).
pub struct Radioactivity {
    scorer: Scorer,
    keys: Vec<KeyState>,
    options: RadioactivityOptions,
    phase: Phase,
    prompts: u64,
    prompt_tokens: u64,
    teacher_documents: u64,
    teacher_tokens: u64,
    answers: u64,
    answer_tokens: u64,
    no_context: u64,
}

impl std::fmt::Debug for Radioactivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Radioactivity")
            .field("scorer", &self.scorer)
            .field("options", &self.options)
            .field("phase", &self.phase)
            .field("answers", &self.answers)
            .field("answer_tokens", &self.answer_tokens)
            .finish()
    }
}

impl Radioactivity {
    /// A test of `keys` (at least one: one per account), all with `config`.
    pub fn new(keys: &[Key], config: Config, options: RadioactivityOptions) -> Result<Radioactivity, Error> {
        let scorer = Scorer::new(keys, config)?;
        check_alpha(options.alpha)?;
        let keys = (0..scorer.keys())
            .map(|_| KeyState {
                tape: FpSet::new(),
                excluded: FpSet::new(),
                teacher: FpSet::new(),
                counts: KeyCounts::default(),
            })
            .collect();
        Ok(Radioactivity {
            scorer,
            keys,
            options,
            phase: Phase::Setup,
            prompts: 0,
            prompt_tokens: 0,
            teacher_documents: 0,
            teacher_tokens: 0,
            answers: 0,
            answer_tokens: 0,
            no_context: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.scorer.config()
    }

    /// The options.
    pub fn options(&self) -> &RadioactivityOptions {
        &self.options
    }

    /// Strips a leading BOS and checks every id against the vocabulary.
    fn prepare<'a>(&self, ids: &'a [u32]) -> Result<&'a [u32], Error> {
        let ids = match self.options.bos_id {
            Some(bos) if ids.first() == Some(&bos) => &ids[1..],
            _ => ids,
        };
        self.scorer.check_ids(ids)?;
        Ok(ids)
    }

    fn check_setup(&self, what: &str) -> Result<(), Error> {
        if self.phase == Phase::Answers {
            return Err(Error::input(format!(
                "{what} must be added before the first answer: answers are scored as they arrive, \
                 so every prompt and teacher document has to be known first"
            )));
        }
        Ok(())
    }

    /// Adds a prompt: every context in it (windows of `h` tokens, the last one included) is
    /// excluded from scoring in the answers. Prompts are never scored themselves.
    ///
    /// Errors if an answer was already added, or if an id is outside the vocabulary.
    pub fn add_prompt(&mut self, ids: &[u32]) -> Result<(), Error> {
        self.check_setup("prompts")?;
        let ids = self.prepare(ids)?;
        self.prompts += 1;
        self.prompt_tokens += ids.len() as u64;
        let need = self.scorer.window_len();
        if ids.len() < need {
            return Ok(());
        }
        for (k, key) in self.keys.iter_mut().enumerate() {
            for end in need..=ids.len() {
                key.excluded.insert(self.scorer.context_fp(k, &ids[end - need..end]));
            }
        }
        Ok(())
    }

    /// Adds a document of the provider's own watermarked corpus to the teacher filter (see
    /// [`RadioactivityOptions::teacher_filter`]). Never scored.
    ///
    /// Errors if the filter is off, if an answer was already added, or if an id is outside
    /// the vocabulary.
    pub fn add_teacher(&mut self, ids: &[u32]) -> Result<(), Error> {
        if !self.options.teacher_filter {
            return Err(Error::input("a teacher document was given but the teacher filter is off"));
        }
        self.check_setup("teacher documents")?;
        let ids = self.prepare(ids)?;
        self.teacher_documents += 1;
        self.teacher_tokens += ids.len() as u64;
        let need = self.scorer.window_len();
        for (k, key) in self.keys.iter_mut().enumerate() {
            for i in need..ids.len() {
                key.teacher.insert(self.scorer.context_fp(k, &ids[i - need..i]));
            }
        }
        Ok(())
    }

    /// Scores one answer of the suspect model, continuing the corpus-wide tapes. The first
    /// `h` tokens of the answer have no context of their own and are not scored.
    ///
    /// Errors if an id is outside the vocabulary (nothing is then counted).
    pub fn add_answer(&mut self, ids: &[u32]) -> Result<(), Error> {
        let ids = self.prepare(ids)?;
        self.phase = Phase::Answers;
        self.answers += 1;
        let start_tokens = self.answer_tokens;
        self.answer_tokens += ids.len() as u64;
        self.no_context += self.scorer.context_len().min(ids.len()) as u64;
        let (dedup, filter, kind) = (self.options.dedup, self.options.teacher_filter, self.scorer.kind());
        for (k, key) in self.keys.iter_mut().enumerate() {
            let KeyState { tape, excluded, teacher, counts } = key;
            let mut sink = AnswerSink { kind, excluded, teacher: filter.then_some(&*teacher), counts, start_tokens };
            self.scorer.walk(k, ids, 0, dedup, tape, &mut sink);
        }
        Ok(())
    }

    /// Fingerprints remembered so far, over every key and every set.
    pub fn units(&self) -> usize {
        self.keys.iter().map(|k| k.tape.len() + k.excluded.len() + k.teacher.len()).sum()
    }

    /// Heap bytes held by the fingerprint sets: exactly their tables (8 bytes a slot).
    pub fn memory_bytes(&self) -> usize {
        self.keys.iter().map(|k| k.tape.memory_bytes() + k.excluded.memory_bytes() + k.teacher.memory_bytes()).sum()
    }

    /// Ends the corpus and decides.
    pub fn finish(mut self) -> RadioactivityReport {
        let kind = self.scorer.kind();
        let answer_tokens = self.answer_tokens;
        for key in &mut self.keys {
            let c = &mut key.counts;
            let last = c.checkpoints.last().map(|c| (c.tokens, c.scored));
            if last != Some((answer_tokens, c.tally.scored)) {
                let log10_p = kind.tail_log10(&c.tally);
                c.checkpoints.push(Checkpoint {
                    tokens: answer_tokens,
                    scored: c.tally.scored,
                    green: c.tally.green,
                    score: (!kind.has_green_bits()).then_some(c.tally.sum),
                    log10_p,
                });
            }
        }
        let tallies: Vec<Tally> = self.keys.iter().map(|k| k.counts.tally).collect();
        let decision = decide(kind, &tallies, self.options.alpha);
        let verdict = match decision.outcome {
            Outcome::Insufficient => RadioactivityVerdict::Insufficient,
            Outcome::Significant => RadioactivityVerdict::Radioactive,
            Outcome::NotSignificant => RadioactivityVerdict::NotRadioactive,
        };
        let keys = self
            .keys
            .iter()
            .zip(&decision.tails)
            .enumerate()
            .map(|(i, (k, &t))| RadioactivityKeyResult {
                key_id: self.scorer.key_id(i).to_string(),
                scored: k.counts.tally.scored,
                green: k.counts.tally.green,
                green_fraction: k.counts.tally.green_fraction().filter(|_| kind.has_green_bits()),
                score: (!kind.has_green_bits()).then_some(k.counts.tally.sum),
                log10_p: t,
                excluded_prompt_context: k.counts.excluded_prompt_context,
                filtered_out: k.counts.filtered_out,
                repeats: k.counts.repeats,
                teacher_contexts: k.teacher.len() as u64,
            })
            .collect();
        let best = decision.best;
        let log10_p = decision.log10_p;
        let b = &mut self.keys[best].counts;
        RadioactivityReport {
            schema_version: RADIOACTIVITY_SCHEMA_VERSION,
            scheme: self.scorer.config().seeding().to_string(),
            key_id: self.scorer.key_id(best).to_string(),
            gamma_effective: if kind.has_green_bits() { self.scorer.config().gamma_effective() } else { 0.0 },
            dedup: self.options.dedup,
            alpha: self.options.alpha,
            teacher_filter: self.options.teacher_filter,
            prompts: self.prompts,
            prompt_tokens: self.prompt_tokens,
            teacher_documents: self.teacher_documents,
            teacher_tokens: self.teacher_tokens,
            answers: self.answers,
            answer_tokens,
            no_context: self.no_context,
            scored: b.tally.scored,
            green: b.tally.green,
            green_fraction: b.tally.green_fraction().filter(|_| kind.has_green_bits()),
            score: (!kind.has_green_bits()).then_some(b.tally.sum),
            log10_p,
            p_value: 10f64.powf(log10_p),
            z: kind.z(&b.tally),
            excluded_prompt_context: b.excluded_prompt_context,
            filtered_out: b.filtered_out,
            repeats: b.repeats,
            keys,
            checkpoints: std::mem::take(&mut b.checkpoints),
            verdict,
        }
    }
}
