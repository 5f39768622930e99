//! The detector: text or ids in, a [`Report`] out, for one key or several.

use wmark_core::{Config, Key};

use crate::dedup::Dedup;
use crate::error::Error;
use crate::normalize::{self, normalize};
use crate::report::{KeyResult, Report, Span, TokenFlag, Verdict, SCHEMA_VERSION};
use crate::score::{Scorer, Scoring, Tally};
use crate::tokenize::{TextTokenizer, CHUNK_BYTES};
use crate::verdict::{check_alpha, decide, Outcome};
use crate::window::{best_window, best_window_values};

/// The default significance level: a false accusation at most once in a million texts.
pub const DEFAULT_ALPHA: f64 = 1e-6;

/// How the detector scores and decides.
#[derive(Clone, Debug)]
pub struct Options {
    /// Which repeated units count once (default: tuple).
    pub dedup: Dedup,
    /// Significance level of the verdict, in (0, 1) (default 1e-6).
    pub alpha: f64,
    /// Also find the most significant contiguous span (copy-paste detection).
    pub windows: bool,
    /// Include every token's status in the report.
    pub token_flags: bool,
    /// Text normalisation before tokenising (default: all on).
    pub normalize: normalize::Options,
    /// A beginning-of-sequence id to strip when token ids start with it.
    pub bos_id: Option<u32>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dedup: Dedup::Tuple,
            alpha: DEFAULT_ALPHA,
            windows: false,
            token_flags: false,
            normalize: normalize::Options::default(),
            bos_id: None,
        }
    }
}

/// Tests texts against one or more keys sharing one configuration.
pub struct Detector {
    scorer: Scorer,
    options: Options,
    tokenizer: Option<TextTokenizer>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("scorer", &self.scorer)
            .field("options", &self.options)
            .field("tokenizer", &self.tokenizer)
            .finish()
    }
}

/// The text's ids and, for text input, where each token is in the original text.
struct Prepared {
    /// Context (prompt) ids followed by the text's ids.
    ids: Vec<u32>,
    /// How many leading ids are context.
    context: usize,
    /// Character range in the original text of each of the text's tokens.
    chars: Option<Vec<(u64, u64)>>,
    normalized: bool,
}

impl Detector {
    /// A detector for `keys` (at least one), all with `config`.
    pub fn new(keys: &[Key], config: Config, options: Options) -> Result<Detector, Error> {
        let scorer = Scorer::new(keys, config)?;
        check_alpha(options.alpha)?;
        Ok(Detector { scorer, options, tokenizer: None })
    }

    /// Adds the tokenizer that text input is encoded with. Its vocabulary must fit the
    /// configuration's `vocab_size` (it may be smaller: logits rows are often padded).
    pub fn with_tokenizer(mut self, tokenizer: TextTokenizer) -> Result<Detector, Error> {
        let vocab = self.config().vocab_size();
        if tokenizer.vocab_size() > vocab as usize {
            return Err(Error::vocab_mismatch(tokenizer.vocab_size(), vocab));
        }
        self.tokenizer = Some(tokenizer);
        Ok(self)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.scorer.config()
    }

    /// The scoring core the detector runs on.
    pub fn scorer(&self) -> &Scorer {
        &self.scorer
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The tokenizer, if one was given.
    pub fn tokenizer(&self) -> Option<&TextTokenizer> {
        self.tokenizer.as_ref()
    }

    /// Tests a text. `prompt`, if given, is the text the model answered: it gives context to
    /// the first tokens and is not scored.
    pub fn detect_text(&self, text: &str, prompt: Option<&str>) -> Result<Report, Error> {
        let tokenizer = self
            .tokenizer
            .as_ref()
            .ok_or_else(|| Error::input("detecting text needs a tokenizer; give one, or give token ids"))?;
        let mut ids = match prompt {
            Some(p) => tokenizer.encode_ids(normalize(p, &self.options.normalize).text())?,
            None => Vec::new(),
        };
        let context = ids.len();
        // Offsets are kept only when a span or the token flags will show them: then byte
        // offsets in the normalised text become char offsets in the original, in one pass.
        // Otherwise the text is normalised and encoded chunk by chunk, in bounded memory.
        let (chars, normalized) = if self.options.windows || self.options.token_flags {
            let norm = normalize(text, &self.options.normalize);
            let enc = tokenizer.encode(norm.text())?;
            ids.extend_from_slice(&enc.ids);
            let mut cursor = CharCursor::new(text);
            let chars = enc
                .offsets
                .iter()
                .map(|&(a, b)| {
                    let r = norm.original_range(a..b);
                    let start = cursor.at(r.start);
                    (start, cursor.at(r.end))
                })
                .collect();
            (Some(chars), norm.changed())
        } else {
            let (text_ids, changed) = tokenizer.encode_normalized_ids(text, &self.options.normalize, CHUNK_BYTES)?;
            if ids.is_empty() {
                ids = text_ids;
            } else {
                ids.extend_from_slice(&text_ids);
            }
            (None, changed)
        };
        self.run(Prepared { ids, context, chars, normalized })
    }

    /// Tests token ids. The first `context` ids are a prompt or prefix: context only, not
    /// scored. A leading BOS id (see [`Options::bos_id`]) is stripped.
    pub fn detect_ids(&self, ids: &[u32], context: usize) -> Result<Report, Error> {
        if context > ids.len() {
            return Err(Error::input(format!(
                "the context ({context} ids) is longer than the input ({} ids)",
                ids.len()
            )));
        }
        let (ids, context) = match self.options.bos_id {
            Some(bos) if ids.first() == Some(&bos) => (&ids[1..], context.saturating_sub(1)),
            _ => (ids, context),
        };
        self.run(Prepared { ids: ids.to_vec(), context, chars: None, normalized: false })
    }

    fn run(&self, input: Prepared) -> Result<Report, Error> {
        let scorer = &self.scorer;
        scorer.check_ids(&input.ids)?;
        let results: Vec<Scoring> = (0..scorer.keys())
            .map(|k| scorer.score_ids(k, &input.ids, input.context, self.options.dedup))
            .collect::<Result<_, _>>()?;
        let tallies: Vec<Tally> = results.iter().map(Scoring::tally).collect();
        let kind = scorer.kind();
        let decision = decide(kind, &tallies, self.options.alpha);
        let best = decision.best;
        let r = &results[best];
        let log10_keys = decision.log10_keys;
        let log10_p = decision.log10_p;
        let verdict = match decision.outcome {
            Outcome::Insufficient => Verdict::Insufficient,
            Outcome::Significant => Verdict::Watermarked,
            Outcome::NotSignificant => Verdict::NotWatermarked,
        };
        let bits = kind.has_green_bits();
        let gamma = if bits { self.config().gamma_effective() } else { 0.0 };
        let tokens = (input.ids.len() - input.context) as u64;

        let mut spans = Vec::new();
        if self.options.windows {
            // Scored units of the best key, and which token each one is.
            let (units, at): (Vec<bool>, Vec<usize>) =
                r.status().iter().enumerate().filter(|(_, s)| s.is_scored()).map(|(i, _)| (r.green()[i], i)).unzip();
            let best = if bits { best_window(&units, gamma) } else { best_window_values(r.values(), kind) };
            if let Some(w) = best {
                let (token_start, token_end) = (at[w.start], at[w.end - 1] + 1);
                let (char_start, char_end) = match &input.chars {
                    Some(c) => (Some(c[token_start].0), Some(c[token_end - 1].1)),
                    None => (None, None),
                };
                spans.push(Span {
                    token_start: token_start as u64,
                    token_end: token_end as u64,
                    char_start,
                    char_end,
                    scored: (w.end - w.start) as u64,
                    green: w.green,
                    score: (!bits).then_some(w.sum),
                    log10_p: w.log10_p,
                    log10_p_corrected: (w.log10_p_corrected + log10_keys).min(0.0),
                    windows_tested: w.windows_tested,
                });
            }
        }

        let token_flags = self.options.token_flags.then(|| {
            (0..r.status().len())
                .map(|i| TokenFlag {
                    id: input.ids[input.context + i],
                    status: r.status()[i],
                    green: r.green()[i],
                    char_start: input.chars.as_ref().map(|c| c[i].0),
                    char_end: input.chars.as_ref().map(|c| c[i].1),
                })
                .collect()
        });

        let key_results = if scorer.keys() > 1 {
            (0..scorer.keys())
                .map(|k| KeyResult {
                    key_id: scorer.key_id(k).to_string(),
                    scored: tallies[k].scored,
                    green: tallies[k].green,
                    score: (!bits).then_some(tallies[k].sum),
                    log10_p: decision.tails[k],
                })
                .collect()
        } else {
            Vec::new()
        };

        Ok(Report {
            schema_version: SCHEMA_VERSION,
            scheme: self.config().seeding().to_string(),
            key_id: scorer.key_id(best).to_string(),
            gamma_effective: gamma,
            tokens,
            scored: r.scored(),
            green: r.greens(),
            score: (!bits).then_some(r.sum()),
            mean_score: kind.mean_g(&tallies[best]),
            p_value: 10f64.powf(log10_p),
            log10_p,
            z: kind.z(&tallies[best]),
            alpha: self.options.alpha,
            verdict,
            dedup: self.options.dedup,
            normalized: input.normalized,
            spans,
            token_flags,
            keys: key_results,
        })
    }
}

/// Byte offsets of one text → char indices, in one forward pass for increasing offsets (the
/// usual case: token offsets come in order); an offset before the last one restarts the
/// count from the beginning, so any order stays correct.
struct CharCursor<'a> {
    text: &'a str,
    byte: usize,
    chars: u64,
}

impl<'a> CharCursor<'a> {
    fn new(text: &'a str) -> CharCursor<'a> {
        CharCursor { text, byte: 0, chars: 0 }
    }

    /// The char index of byte offset `byte` (rounded down to a char boundary).
    fn at(&mut self, byte: usize) -> u64 {
        let mut b = byte.min(self.text.len());
        while !self.text.is_char_boundary(b) {
            b -= 1;
        }
        if b < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += self.text[self.byte..b].chars().count() as u64;
        self.byte = b;
        self.chars
    }
}
