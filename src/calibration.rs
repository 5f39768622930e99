//! `wmark calibrate`'s tally: empirical false positive rates of the deployed key on human
//! text, per length bucket and level, against the nominal rate.

use std::io::Write;

use wmark_detect::stats::binomial_upper_tail_log10;
use wmark_detect::{Report, Verdict};

/// The levels reported.
pub const ALPHAS: [f64; 4] = [1e-1, 1e-2, 1e-3, 1e-4];
/// Lower edges of the length buckets, in scored tokens.
pub const BUCKETS: [u64; 5] = [1, 50, 100, 200, 400];
/// A document is called templated or repetitive when tuple dedup drops more than this share
/// of its scorable tokens (long human texts repeat many short phrases; this is far more), or
/// when without dedup it would look watermarked at [`SUSPICIOUS`].
pub const REPETITIVE: f64 = 0.5;
/// The level at which a document that only looks watermarked without dedup is reported.
pub const SUSPICIOUS: f64 = 1e-3;

#[derive(Clone, Debug, Default)]
struct Bucket {
    docs: u64,
    hits_tuple: [u64; 4],
    hits_none: [u64; 4],
}

/// Running counts.
#[derive(Debug, Default)]
pub struct Tally {
    buckets: [Bucket; 5],
    insufficient: u64,
    repetitive: Vec<String>,
    repetitive_count: u64,
    docs: u64,
}

fn bucket_of(scored: u64) -> Option<usize> {
    BUCKETS.iter().rposition(|&lo| scored >= lo)
}

/// The smallest count c with P(Bin(n, α) ≥ c) ≤ 0.01: more hits than that is evidence that
/// the false positive rate exceeds α on this corpus.
fn limit(n: u64, alpha: f64) -> u64 {
    let mut c = (n as f64 * alpha).floor() as u64;
    while c <= n && binomial_upper_tail_log10(n, c, alpha) > -2.0 {
        c += 1;
    }
    c
}

impl Tally {
    /// Adds one document's reports (tuple dedup and no dedup).
    pub fn add(&mut self, source: &str, tuple: &Report, none: &Report) {
        self.docs += 1;
        let dropped = none.scored.saturating_sub(tuple.scored) as f64;
        let fooled = none.log10_p <= SUSPICIOUS.log10() && tuple.log10_p > SUSPICIOUS.log10();
        if none.scored > 0 && (dropped > REPETITIVE * none.scored as f64 || fooled) {
            self.repetitive_count += 1;
            if self.repetitive.len() < 5 {
                self.repetitive.push(source.to_string());
            }
        }
        if tuple.verdict == Verdict::Insufficient && tuple.scored < BUCKETS[0] {
            self.insufficient += 1;
            return;
        }
        let Some(b) = bucket_of(tuple.scored) else {
            self.insufficient += 1;
            return;
        };
        let bucket = &mut self.buckets[b];
        bucket.docs += 1;
        for (i, &a) in ALPHAS.iter().enumerate() {
            bucket.hits_tuple[i] += u64::from(tuple.log10_p <= a.log10());
            bucket.hits_none[i] += u64::from(none.log10_p <= a.log10());
        }
    }

    /// The table for a terminal.
    pub fn write_table(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{} documents; false positives of the deployed key on this corpus (tuple dedup; no dedup in parentheses)",
            self.docs
        )?;
        write!(out, "{:<12} {:>7}", "scored", "docs")?;
        for a in ALPHAS {
            write!(out, " {:>22}", format!("α={a:e}: seen/expected"))?;
        }
        writeln!(out)?;
        let mut exceeded = false;
        for (i, b) in self.buckets.iter().enumerate() {
            if b.docs == 0 {
                continue;
            }
            let label = match BUCKETS.get(i + 1) {
                Some(hi) => format!("{}-{}", BUCKETS[i], hi - 1),
                None => format!("{}+", BUCKETS[i]),
            };
            write!(out, "{label:<12} {:>7}", b.docs)?;
            for (j, &a) in ALPHAS.iter().enumerate() {
                let over = b.hits_tuple[j] >= limit(b.docs, a);
                exceeded |= over;
                let cell = format!(
                    "{} ({}) / {:.2}{}",
                    b.hits_tuple[j],
                    b.hits_none[j],
                    b.docs as f64 * a,
                    if over { " !" } else { "" }
                );
                write!(out, " {cell:>22}")?;
            }
            writeln!(out)?;
        }
        if self.insufficient > 0 {
            writeln!(out, "{} document(s) too short to score", self.insufficient)?;
        }
        if exceeded {
            writeln!(out, "! more false positives than α allows (99% level): check the configuration and the corpus")?;
        } else {
            writeln!(out, "every bucket is within the nominal rate (99% level)")?;
        }
        if self.repetitive_count > 0 {
            writeln!(
                out,
                "warning: {} document(s) are templated or repetitive (more than {:.0}% of their tokens repeat, or without dedup \
                 they would reach p <= {SUSPICIOUS:e}), e.g. {}; keep dedup on for texts like these",
                self.repetitive_count,
                REPETITIVE * 100.0,
                self.repetitive.join(", ")
            )?;
        }
        Ok(())
    }

    /// The same as one JSON object ([`CalibrationReport`]).
    pub fn to_json(&self) -> String {
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| b.docs > 0)
            .map(|(i, b)| CalibrationBucket {
                scored_min: BUCKETS[i],
                scored_max: BUCKETS.get(i + 1).map(|hi| hi - 1),
                docs: b.docs,
                levels: ALPHAS
                    .iter()
                    .enumerate()
                    .map(|(j, &a)| CalibrationLevel {
                        alpha: a,
                        false_positives: b.hits_tuple[j],
                        false_positives_without_dedup: b.hits_none[j],
                        expected: b.docs as f64 * a,
                        exceeds_nominal: b.hits_tuple[j] >= limit(b.docs, a),
                    })
                    .collect(),
            })
            .collect();
        let report = CalibrationReport {
            schema_version: CALIBRATION_SCHEMA_VERSION,
            documents: self.docs,
            too_short: self.insufficient,
            repetitive_documents: self.repetitive_count,
            buckets,
        };
        serde_json::to_string(&report).expect("calibration reports serialise")
    }
}

/// The version of `wmark calibrate --json`'s format (docs/report-format.md).
pub const CALIBRATION_SCHEMA_VERSION: u32 = 1;

/// `wmark calibrate --json`: false positives on a human corpus, by number of scored tokens.
#[derive(serde::Serialize)]
struct CalibrationReport {
    schema_version: u32,
    documents: u64,
    too_short: u64,
    repetitive_documents: u64,
    buckets: Vec<CalibrationBucket>,
}

/// Documents whose scored count is in `scored_min..=scored_max` (no maximum: and above).
#[derive(serde::Serialize)]
struct CalibrationBucket {
    scored_min: u64,
    scored_max: Option<u64>,
    docs: u64,
    levels: Vec<CalibrationLevel>,
}

/// False positives at one level α.
#[derive(serde::Serialize)]
struct CalibrationLevel {
    alpha: f64,
    false_positives: u64,
    false_positives_without_dedup: u64,
    expected: f64,
    exceeds_nominal: bool,
}
