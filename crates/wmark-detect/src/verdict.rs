//! One decision over several keys: the best key, its p-value corrected for the number of
//! keys tested (Bonferroni), and the outcome at level α. Used by the detector and by the
//! radioactivity test alike.

use crate::score::{ScoreKind, Tally};

/// The outcome of a test at level α, before each consumer names it (watermarked,
/// radioactive, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The corrected p-value is at most α.
    Significant,
    /// The corrected p-value is above α, with enough units that it could have reached α.
    NotSignificant,
    /// Too few units: even the most extreme score could not reach α after the correction.
    Insufficient,
}

/// The decision of [`decide`].
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// Index of the key with the smallest p-value (the first of equals).
    pub best: usize,
    /// Every key's own log10 p, uncorrected, in key order.
    pub tails: Vec<f64>,
    /// log10 of `min(1, K · p_best)`.
    pub log10_p: f64,
    /// log10 K.
    pub log10_keys: f64,
    /// The outcome at α.
    pub outcome: Outcome,
}

/// Decides at level `alpha` (in (0, 1)) from one tally per key (at least one).
///
/// The best key's p-value is multiplied by the number of keys `K`: testing `K` keys and
/// keeping the best is `K` tests, and Bonferroni's correction is valid whatever their
/// dependence. The outcome is [`Outcome::Insufficient`] when the best key scored nothing, or
/// when even all-green units could not have given `K · p ≤ α`.
///
/// # Panics
/// If `tallies` is empty.
pub fn decide(kind: ScoreKind, tallies: &[Tally], alpha: f64) -> Decision {
    let tails: Vec<f64> = tallies.iter().map(|t| kind.tail_log10(t)).collect();
    let (best, _) = tails.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).expect("at least one key");
    let log10_keys = (tallies.len() as f64).log10();
    let log10_p = (tails[best] + log10_keys).min(0.0);
    let log10_alpha = alpha.log10();
    let scored = tallies[best].scored;
    let outcome = if scored == 0 || kind.floor_log10(scored) + log10_keys > log10_alpha {
        Outcome::Insufficient
    } else if log10_p <= log10_alpha {
        Outcome::Significant
    } else {
        Outcome::NotSignificant
    };
    Decision { best, tails, log10_p, log10_keys, outcome }
}

/// Checks a significance level: strictly between 0 and 1.
pub(crate) fn check_alpha(alpha: f64) -> Result<(), crate::Error> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(crate::Error::input(format!("alpha must be strictly between 0 and 1, got {alpha}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: ScoreKind = ScoreKind::GreenBit { gamma: 0.25 };

    #[test]
    fn the_best_key_is_corrected_for_the_number_of_keys() {
        let t = |scored, green| Tally { scored, green, ..Tally::default() };
        let one = decide(KIND, &[t(200, 150)], 1e-6);
        assert_eq!(one.outcome, Outcome::Significant);
        let four = decide(KIND, &[t(200, 50), t(200, 150), t(200, 60), t(200, 150)], 1e-6);
        assert_eq!(four.best, 1, "the first of equal keys");
        assert!((four.log10_p - (one.log10_p + 4f64.log10())).abs() < 1e-12);
        assert_eq!(four.tails.len(), 4);
    }

    #[test]
    fn too_few_units_is_insufficient_not_an_error() {
        // 9 green of 9 at γ = 1/4: p = 4^-9 ≈ 3.8e-6 > 1e-6.
        assert_eq!(
            decide(KIND, &[Tally { scored: 9, green: 9, ..Tally::default() }], 1e-6).outcome,
            Outcome::Insufficient
        );
        assert_eq!(decide(KIND, &[Tally::default()], 1e-6).outcome, Outcome::Insufficient);
        // 10 of 10 reaches it alone, but not corrected for two keys.
        let ten = Tally { scored: 10, green: 10, ..Tally::default() };
        assert_eq!(decide(KIND, &[ten], 1e-6).outcome, Outcome::Significant);
        assert_eq!(decide(KIND, &[ten, Tally::default()], 1e-6).outcome, Outcome::Insufficient);
        assert_eq!(
            decide(KIND, &[Tally { scored: 100, green: 25, ..Tally::default() }], 1e-6).outcome,
            Outcome::NotSignificant
        );
    }
}
