//! The detection report: a versioned, serde-serialisable record fit for an audit trail.
//! docs/report-format.md documents every field.

use serde::{Deserialize, Serialize};

use crate::dedup::Dedup;
use crate::score::Status;

/// The version of the report format. A new optional field does not change it; a rename, a
/// removal, a change of type, meaning or presence, or a new enum value does (see
/// docs/report-format.md, "Versioning", and its one exception: the `scored` status, which
/// only schemes added later can produce).
pub const SCHEMA_VERSION: u32 = 1;

/// The decision at level α.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// p ≤ α: the text carries the watermark of `key_id`.
    Watermarked,
    /// p > α with enough tokens that a watermark could have been found.
    NotWatermarked,
    /// Too few scored tokens: even if every one were green, p could not reach α.
    Insufficient,
}

/// The result of testing one text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The scheme, e.g. `lefthash`, `minhash:4`, `gumbel:4`, `vllm-gumbel:4`.
    pub scheme: String,
    /// The id of the key the figures below are for (the best key when several were tested).
    pub key_id: String,
    /// G/256, the green fraction every statistic uses (for the Hugging Face schemes the exact
    /// share of green ids, int(V·γ)/V; 0 for the Gumbel-max schemes, which have no green list).
    pub gamma_effective: f64,
    /// Tokens in the text (a prompt excluded).
    pub tokens: u64,
    /// Tokens scored, T: with a full context and not repeats under the dedup mode.
    pub scored: u64,
    /// Scored tokens that are green, s (0 for the Gumbel-max schemes).
    pub green: u64,
    /// The Gumbel-max schemes only: the sum of the scored tokens' scores `−ln(1 − u)`
    /// (weighted over two keys for the dual-key scheme); for `hf-synthid`, the number of
    /// g-values equal to 1 over the scored tokens and layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// `hf-synthid` only: the mean g-value score, `score / (scored · D)` over D layers (the
    /// SynthID-Text paper's and transformers' mean score; 0.5 on average without the mark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_score: Option<f64>,
    /// P(Bin(T, γ) ≥ s), or for the Gumbel-max schemes the exact tail of the score's null
    /// distribution, corrected for the number of keys tested; may underflow to 0, see
    /// `log10_p`.
    pub p_value: f64,
    /// log10 of `p_value`, exact and never floored.
    pub log10_p: f64,
    /// (s − γT)/√(Tγ(1−γ)), for familiarity only; the verdict never uses it. Null if T = 0.
    pub z: Option<f64>,
    /// The significance level of the verdict.
    pub alpha: f64,
    /// The decision at `alpha`.
    pub verdict: Verdict,
    /// Which repeated units were scored once.
    pub dedup: Dedup,
    /// True if normalisation changed the text before tokenisation.
    pub normalized: bool,
    /// The most significant span, when a window scan was asked for.
    pub spans: Vec<Span>,
    /// Every token's status, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_flags: Option<Vec<TokenFlag>>,
    /// With several keys: each key's own, uncorrected result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyResult>,
}

/// A contiguous span of the text and its own test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// First token of the span (index among the text's tokens).
    pub token_start: u64,
    /// One past the last token.
    pub token_end: u64,
    /// Character (Unicode scalar value) range in the original text, when the input was text.
    pub char_start: Option<u64>,
    /// End of the character range (exclusive).
    pub char_end: Option<u64>,
    /// Scored tokens in the span.
    pub scored: u64,
    /// Green scored tokens in the span.
    pub green: u64,
    /// The Gumbel-max schemes only: the sum of the span's scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// log10 p of the span alone, as if it had been chosen before looking.
    pub log10_p: f64,
    /// log10 of the p-value corrected for every span compared (Bonferroni), and for the
    /// number of keys.
    pub log10_p_corrected: f64,
    /// How many spans were compared.
    pub windows_tested: u64,
}

/// One token of the text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenFlag {
    /// Token id.
    pub id: u32,
    /// Scored green, scored red, a repeat, or without full context.
    pub status: Status,
    /// The token's colour (also for repeats).
    pub green: bool,
    /// Character range in the original text, when the input was text.
    pub char_start: Option<u64>,
    /// End of the character range (exclusive).
    pub char_end: Option<u64>,
}

/// One key's own result when several keys are tested.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyResult {
    /// The key id.
    pub key_id: String,
    /// Scored tokens for this key.
    pub scored: u64,
    /// Green scored tokens for this key.
    pub green: u64,
    /// The Gumbel-max schemes only: the sum of this key's scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// log10 p for this key alone (not corrected).
    pub log10_p: f64,
}

impl Report {
    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("reports serialise")
    }
}
