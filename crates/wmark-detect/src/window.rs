//! The most significant contiguous span of scored tokens, with a p-value that accounts for
//! every span that was tried.

use crate::score::ScoreKind;
use crate::stats::binomial_upper_tail_log10;

/// Up to this many scored tokens every span length is tried; above it, a geometric grid of
/// lengths (ratio about 1.05), which keeps the scan O(T · log T).
pub const ALL_LENGTHS_UP_TO: usize = 2048;

/// The best span found by [`best_window`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// First scored unit of the span (an index into the scored sequence).
    pub start: usize,
    /// One past the last scored unit.
    pub end: usize,
    /// Green units in the span.
    pub green: u64,
    /// The sum of the span's scores (for green bits, `green` again).
    pub sum: f64,
    /// log10 of the span's own binomial p-value (as if it had been chosen in advance).
    pub log10_p: f64,
    /// log10 of the Bonferroni-corrected p-value: `min(1, windows_tested · p)`.
    pub log10_p_corrected: f64,
    /// How many spans were compared.
    pub windows_tested: u64,
}

/// The lengths scanned for `t` scored units: all of 1..=t up to [`ALL_LENGTHS_UP_TO`], else
/// a geometric grid that always includes 1 and t.
pub fn lengths(t: usize) -> Vec<usize> {
    if t <= ALL_LENGTHS_UP_TO {
        return (1..=t).collect();
    }
    let mut out = Vec::new();
    let mut len = 1.0f64;
    while (len as usize) < t {
        let l = len as usize;
        if out.last() != Some(&l) {
            out.push(l);
        }
        len = (len * 1.05).max(len + 1.0);
    }
    out.push(t);
    out
}

/// Scans every span of every length in [`lengths`] over the scored units `greens` (true =
/// green) and returns the one with the smallest p-value under `Bin(len, gamma)`; `None` when
/// nothing was scored.
///
/// For a fixed length the most significant span is the one with the most green units, so one
/// pass with prefix sums per length suffices; the corrected p-value multiplies by the number
/// of spans compared, which is valid whatever their dependence (Bonferroni). A maximum
/// z-score alone would not be a p-value.
pub fn best_window(greens: &[bool], gamma: f64) -> Option<Window> {
    let values: Vec<f64> = greens.iter().map(|&g| f64::from(u8::from(g))).collect();
    scan(&values, |len, sum| binomial_upper_tail_log10(len, sum as u64, gamma))
        .map(|w| Window { green: w.sum as u64, ..w })
}

/// [`best_window`] for real-valued scores (`values`, one per scored unit) under the null
/// distribution of `kind`: for a fixed length the most significant span is the one with the
/// largest sum, found with prefix sums; the same lengths and the same correction.
pub fn best_window_values(values: &[f64], kind: ScoreKind) -> Option<Window> {
    scan(values, |len, sum| kind.tail_log10_of(len, 0, sum.max(0.0)))
}

/// The scan of both: for each length, the first span with the largest sum, and its own
/// `tail(len, sum)`; the span with the smallest tail, corrected for every span compared.
/// (Green counts are small integers, exact in the `f64` prefix sums.)
fn scan(values: &[f64], tail: impl Fn(u64, f64) -> f64) -> Option<Window> {
    let t = values.len();
    if t == 0 {
        return None;
    }
    let mut prefix = Vec::with_capacity(t + 1);
    prefix.push(0.0f64);
    for &v in values {
        prefix.push(prefix.last().unwrap() + v);
    }
    let mut best: Option<Window> = None;
    let mut tested = 0u64;
    for len in lengths(t) {
        let (mut start, mut most) = (0usize, f64::NEG_INFINITY);
        for s in 0..=t - len {
            let sum = prefix[s + len] - prefix[s];
            if sum > most {
                most = sum;
                start = s;
            }
        }
        tested += (t - len + 1) as u64;
        let log10_p = tail(len as u64, most);
        if best.is_none_or(|b| log10_p < b.log10_p) {
            best = Some(Window {
                start,
                end: start + len,
                green: 0,
                sum: most,
                log10_p,
                log10_p_corrected: 0.0,
                windows_tested: 0,
            });
        }
    }
    best.map(|mut w| {
        w.windows_tested = tested;
        w.log10_p_corrected = (w.log10_p + (tested as f64).log10()).min(0.0);
        w
    })
}
