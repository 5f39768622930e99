//! Accuracy of `wmark_detect::stats` deep in the tails.
//!
//! * every case of `fixtures/vectors/tails.toml` (mpmath references, see
//!   `scripts/gen-tail-vectors.py`), to [`REL_TOL`] relative on log10;
//! * exact brute-force sums for small `n`, and structural properties (monotonicity, the pmf
//!   step between `k` and `k + 1`, the sign of the z-score), with proptest;
//! * the anchors quoted in the docs, and the gap between the exact tail and the normal
//!   approximation that shows why the verdict uses the exact tail;
//! * no panic and no runaway loop for any input.

use std::f64::consts::{LN_10, LOG10_2};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde::Deserialize;
use wmark_detect::stats::{
    binomial_p_value, binomial_upper_tail_log10, gamma_upper_tail_log10, normal_upper_tail_log10,
    weighted_gamma_upper_tail_log10, z_score, Tail, MAX_SHAPE, MAX_TRIALS,
};

/// Largest accepted relative error of a log10 probability.
const REL_TOL: f64 = 1e-9;
/// For `|log10 p|` below [`SMALL_LOG10`], an absolute error up to [`ABS_TOL_SMALL`] is also
/// accepted (the probability is within 0.23% of 1 there).
const SMALL_LOG10: f64 = 1e-3;
/// See [`SMALL_LOG10`].
const ABS_TOL_SMALL: f64 = 1e-12;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vectors/tails.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    binomial: Vec<BinomialCase>,
    gamma_upper: Vec<GammaCase>,
    normal_upper: Vec<NormalCase>,
    weighted_gamma: Vec<WeightedGammaCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightedGammaCase {
    name: String,
    n: u64,
    alpha: f64,
    s: f64,
    log10_p: f64,
    #[allow(dead_code)] // provenance only
    method: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BinomialCase {
    name: String,
    n: u64,
    k: u64,
    p: f64,
    log10_p: f64,
    #[allow(dead_code)] // provenance only
    method: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GammaCase {
    name: String,
    a: f64,
    x: f64,
    log10_q: f64,
    #[allow(dead_code)] // provenance only
    method: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalCase {
    name: String,
    z: f64,
    log10_p: f64,
    #[allow(dead_code)] // provenance only
    method: String,
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(FIXTURE).unwrap_or_else(|e| panic!("read {FIXTURE}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("parse {FIXTURE}: {e}"))
}

/// Relative error of `got` against `expected` (0 when they are equal, infinities included).
fn rel_err(expected: f64, got: f64) -> f64 {
    if expected == got {
        0.0
    } else if expected == 0.0 {
        got.abs() / f64::MIN_POSITIVE
    } else {
        ((got - expected) / expected).abs()
    }
}

/// The acceptance rule for a log10 probability.
fn close(expected: f64, got: f64) -> bool {
    rel_err(expected, got) <= REL_TOL || (expected.abs() < SMALL_LOG10 && (got - expected).abs() <= ABS_TOL_SMALL)
}

/// Checks `(name, expected, got)` rows; prints the table and the largest relative error, and
/// fails listing every case outside the tolerance.
fn check_table(table: &str, rows: &[(String, f64, f64)]) {
    let mut worst = (0.0_f64, "");
    let mut failures = Vec::new();
    for (name, expected, got) in rows {
        let rel = rel_err(*expected, *got);
        if rel > worst.0 || worst.1.is_empty() {
            worst = (rel, name);
        }
        if !close(*expected, *got) {
            failures.push(format!(
                "  {name}: expected {expected:e}, got {got:e}, relative error {rel:.3e}, absolute {:.3e}",
                (got - expected).abs()
            ));
        }
    }
    eprintln!("[{table}] {} cases, max relative error {:.3e} ({})", rows.len(), worst.0, worst.1);
    assert!(
        failures.is_empty(),
        "[{table}] {} of {} cases outside tolerance (REL_TOL = {REL_TOL:e}, or abs {ABS_TOL_SMALL:e} when |log10| < {SMALL_LOG10:e}):\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn fixture_binomial() {
    let f = fixture();
    assert!(f.binomial.len() >= 40, "fixture has {} binomial cases", f.binomial.len());
    let rows: Vec<_> =
        f.binomial.iter().map(|c| (c.name.clone(), c.log10_p, binomial_upper_tail_log10(c.n, c.k, c.p))).collect();
    check_table("binomial", &rows);
    // The Tail wrapper agrees exactly.
    for c in &f.binomial {
        let t = binomial_p_value(c.n, c.k, c.p);
        assert_eq!(t.log10_p.to_bits(), binomial_upper_tail_log10(c.n, c.k, c.p).to_bits());
    }
}

#[test]
fn fixture_weighted_gamma() {
    let f = fixture();
    assert!(f.weighted_gamma.len() >= 50);
    let rows: Vec<_> = f
        .weighted_gamma
        .iter()
        .map(|c| (c.name.clone(), c.log10_p, weighted_gamma_upper_tail_log10(c.n, c.alpha, c.s)))
        .collect();
    check_table("weighted_gamma", &rows);
}

#[test]
fn fixture_gamma_upper() {
    let f = fixture();
    assert!(f.gamma_upper.len() >= 20);
    let rows: Vec<_> =
        f.gamma_upper.iter().map(|c| (c.name.clone(), c.log10_q, gamma_upper_tail_log10(c.a, c.x))).collect();
    check_table("gamma_upper", &rows);
}

#[test]
fn fixture_normal_upper() {
    let f = fixture();
    assert!(f.normal_upper.len() >= 8);
    let rows: Vec<_> =
        f.normal_upper.iter().map(|c| (c.name.clone(), c.log10_p, normal_upper_tail_log10(c.z))).collect();
    check_table("normal_upper", &rows);
}

/// Reference values outside the fixture's grid (small shapes, p not a multiple of 1/256, very
/// large n), computed for this test with mpmath 1.3.0 (35 to 40 digits) using the functions of
/// `scripts/gen-tail-vectors.py`; each value agreed between two methods to better than 1e-20
/// (binomial: mpmath-cf and mpmath-pmfsum, plus mpmath-betainc where it converges; gamma: series
/// or legendre-cf, and mpmath-gammainc), except n = 2^40, which is the exact identity noted.
#[test]
fn extra_references() {
    let binomial: &[(&str, u64, u64, f64, f64)] = &[
        // (name, n, k, p, log10 P(Bin >= k))
        ("p0.3_n1000_k400", 1000, 400, 0.3, -10.956979861040743),
        ("p1e-6_n1e6_k10", 1_000_000, 10, 1e-6, -6.953031298197119),
        ("p0.7_n1e4_k6800_close_to_1", 10_000, 6800, 0.7, -2.957067627783002e-6),
        // P(X >= n/2) = (1 + pmf(n/2)) / 2 exactly for p = 1/2
        ("n2^40_centre_p0.5", 1 << 40, 1 << 39, 0.5, -0.30102966519987545),
        ("n1e12_k_mean_plus_7sd_p0.25", 1_000_000_000_000, 250_003_031_089, 0.25, -11.892822044704957),
        ("n1e12_k_mean_minus_6.5sd_p0.25", 1_000_000_000_000, 249_997_185_417, 0.25, -1.744009751961554e-11),
        ("n1e12_k_mean_plus_0.1sd_p0.25", 1_000_000_000_000, 250_000_043_301, 0.25, -0.33707906175827196),
    ];
    let gamma: &[(&str, f64, f64, f64)] = &[
        // (name, a, x, log10 Q(a, x))
        ("a1e-10_x0.5", 1e-10, 0.5, -10.251987591580345),
        ("a1e-3_x1", 1e-3, 1.0, -3.658351136060644),
        ("a0.3_x1.05", 0.3, 1.05, -1.1055196458476813),
        ("a0.3_x1.2", 0.3, 1.2, -1.1979469149485233),
        ("a0.9_x1e-5", 0.9, 1e-5, -1.4279731774434168e-5),
        ("a2.5_x3", 2.5, 3.0, -0.5139679818001095),
        ("a37.3_x80", 37.3, 80.0, -7.4461336300262175),
        ("a1e9_x1e9", 1e9, 1e9, -0.3010336482877794),
    ];
    let rows: Vec<_> = binomial
        .iter()
        .map(|&(name, n, k, p, want)| (name.to_string(), want, binomial_upper_tail_log10(n, k, p)))
        .collect();
    check_table("extra binomial", &rows);
    let rows: Vec<_> =
        gamma.iter().map(|&(name, a, x, want)| (name.to_string(), want, gamma_upper_tail_log10(a, x))).collect();
    check_table("extra gamma", &rows);
}

#[test]
fn anchors() {
    let l = |n, k| binomial_upper_tail_log10(n, k, 0.25);
    assert!((l(1000, 1000) - -602.0600).abs() < 5e-5, "{}", l(1000, 1000));
    assert!((l(1000, 600) - -120.4068).abs() < 5e-5, "{}", l(1000, 600));
    assert!((l(200, 150) - -48.8484).abs() < 5e-5, "{}", l(200, 150));
    let p = binomial_p_value(25, 15, 0.25).p_value();
    assert!((p - 2.145e-4).abs() < 5e-8, "{p}");
    // P(Bin(1000, 1/4) >= 1000) = 4^-1000 exactly.
    assert!(rel_err(-1000.0 * 2.0 * LOG10_2, l(1000, 1000)) < 1e-15);
}

/// Why the verdict uses the exact tail: for a short text, the normal approximation behind the
/// z-score overstates the evidence by almost an order of magnitude.
#[test]
fn normal_approximation_overstates_short_texts() {
    let z = z_score(25, 15, 0.25);
    assert!((z - 4.0415).abs() < 1e-4, "{z}");
    let normal = 10f64.powf(normal_upper_tail_log10(z));
    let exact = binomial_p_value(25, 15, 0.25).p_value();
    assert!((normal - 2.66e-5).abs() < 0.01e-5, "normal approximation {normal:e}");
    assert!((exact - 2.145e-4).abs() < 0.001e-4, "exact {exact:e}");
    assert!(exact / normal > 8.0, "exact {exact:e} vs normal {normal:e}");
}

#[test]
fn definitions_and_edges() {
    // k = 0 is exactly 0, k > n is -inf, including n = 0.
    for n in [0, 1, 7, 1_000_000_000, MAX_TRIALS, u64::MAX] {
        assert_eq!(binomial_upper_tail_log10(n, 0, 0.3).to_bits(), 0f64.to_bits());
    }
    assert_eq!(binomial_upper_tail_log10(0, 1, 0.3), f64::NEG_INFINITY);
    assert_eq!(binomial_upper_tail_log10(5, 6, 0.3), f64::NEG_INFINITY);
    assert_eq!(binomial_upper_tail_log10(u64::MAX - 1, u64::MAX, 0.3), f64::NEG_INFINITY);
    // k = n is p^n, k = 1 is 1 - q^n.
    assert!(rel_err(7.0 * 0.3f64.log10(), binomial_upper_tail_log10(7, 7, 0.3)) < 1e-15);
    let want = (-(0.7f64.powi(7))).ln_1p() / LN_10;
    assert!(rel_err(want, binomial_upper_tail_log10(7, 1, 0.3)) < 1e-14);
    // Invalid p.
    for p in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(binomial_upper_tail_log10(10, 3, p).is_nan(), "p = {p}");
        assert!(z_score(10, 3, p).is_nan(), "p = {p}");
    }
    // Outside the supported range.
    assert!(binomial_upper_tail_log10(MAX_TRIALS + 1, 5, 0.3).is_nan());
    assert!(binomial_upper_tail_log10(u64::MAX / 2, u64::MAX / 4, 0.5).is_nan());
    // Gamma.
    assert_eq!(gamma_upper_tail_log10(2.0, 0.0).to_bits(), 0f64.to_bits());
    assert_eq!(gamma_upper_tail_log10(2.0, f64::INFINITY), f64::NEG_INFINITY);
    for (a, x) in [
        (0.0, 1.0),
        (-1.0, 1.0),
        (f64::NAN, 1.0),
        (f64::INFINITY, 1.0),
        (MAX_SHAPE * 2.0, 1.0),
        (1.0, -1.0),
        (1.0, f64::NAN),
    ] {
        assert!(gamma_upper_tail_log10(a, x).is_nan(), "a = {a}, x = {x}");
    }
    // Normal.
    assert_eq!(normal_upper_tail_log10(0.0), -LOG10_2);
    assert_eq!(normal_upper_tail_log10(f64::INFINITY), f64::NEG_INFINITY);
    assert_eq!(normal_upper_tail_log10(f64::NEG_INFINITY), 0.0);
    assert!(normal_upper_tail_log10(f64::NAN).is_nan());
    // z-score.
    assert!(z_score(0, 0, 0.25).is_nan());
    assert_eq!(z_score(100, 25, 0.25), 0.0);
    // Tail.
    let t = Tail { log10_p: -2.0 };
    assert!((t.p_value() - 0.01).abs() < 1e-17);
    assert!((t.ln_p() - -2.0 * LN_10).abs() < 1e-15);
    assert_eq!(binomial_p_value(1000, 1000, 0.25).p_value(), 0.0);
    assert_eq!(binomial_p_value(10, 0, 0.25).p_value(), 1.0);
}

/// Silly inputs must return (a number or NaN) promptly and never panic.
#[test]
fn no_panic_on_any_input() {
    let ns = [0, 1, 2, 1000, 1 << 30, MAX_TRIALS - 1, MAX_TRIALS, MAX_TRIALS + 1, u64::MAX / 2, u64::MAX];
    let ps = [
        f64::MIN_POSITIVE / 1e10,
        1e-300,
        1e-17,
        1e-9,
        0.25,
        0.5,
        1.0 - 1e-9,
        1.0 - f64::EPSILON / 2.0,
        0.0,
        1.0,
        f64::NAN,
        -1.0,
    ];
    let start = Instant::now();
    for &n in &ns {
        for k in [0, 1, 2, n / 3, n / 2, n.saturating_sub(1), n, n.saturating_add(1)] {
            for &p in &ps {
                let l = binomial_upper_tail_log10(n, k, p);
                assert!(l.is_nan() || l <= 0.0, "n={n} k={k} p={p}: {l}");
                let _ = z_score(n, k, p);
            }
        }
    }
    let xs =
        [0.0, 5e-324, 1e-300, 1e-10, 0.5, 1.0, 1.1, 2.0, 1e3, 1e12, 1e300, f64::MAX, f64::INFINITY, -0.0, f64::NAN];
    let shapes = [5e-324, 1e-300, 1e-10, 0.5, 0.999_999, 1.0, 1e3, 1e9, MAX_SHAPE, f64::MAX, f64::NAN];
    for &a in &shapes {
        for &x in xs.iter().chain(&shapes) {
            let l = gamma_upper_tail_log10(a, x);
            assert!(l.is_nan() || l <= 0.0, "a={a} x={x}: {l}");
        }
    }
    for z in [f64::NEG_INFINITY, -1e300, -40.0, -1e-300, -0.0, 1e-300, 1.0, 40.0, 1e20, 1e300, f64::MAX] {
        let l = normal_upper_tail_log10(z);
        assert!(!l.is_nan() && l <= 0.0, "z={z}: {l}");
    }
    // A generous bound: the slowest calls above are at the centre of n = 2^40 in a debug build.
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());
}

// ------------------------------------------------------------------------------------------------
// Brute force and properties

/// `ln C(n, j)` for `j = 0..=n`, from exact integers (n <= 60 fits in u64).
fn ln_binomial_coefficients(n: u64) -> Vec<f64> {
    assert!(n <= 60);
    let mut out = Vec::with_capacity(n as usize + 1);
    let mut c: u128 = 1;
    for j in 0..=n {
        out.push((c as f64).ln());
        c = c * u128::from(n - j) / u128::from(j + 1);
    }
    out
}

/// `ln sum exp(xs)` (`-inf` for an empty slice).
fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// `ln pmf(j)` for `j = 0..=n` at `p = g/256`, by brute force.
fn ln_pmfs(n: u64, g: u32) -> Vec<f64> {
    let ln_p = (f64::from(g) / 256.0).ln();
    let ln_q = (f64::from(256 - g) / 256.0).ln();
    ln_binomial_coefficients(n)
        .iter()
        .enumerate()
        .map(|(j, c)| c + j as f64 * ln_p + (n - j as u64) as f64 * ln_q)
        .collect()
}

/// Brute-force `log10 P(Bin(n, g/256) >= k)`: log-sum-exp of every term of the tail; when the
/// tail is the larger half, `log1p` of minus the (log-sum-exp) sum of the other terms, so that
/// values close to 0 keep their relative precision.
fn brute_force_log10(n: u64, k: u64, g: u32) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k > n {
        return f64::NEG_INFINITY;
    }
    let l = ln_pmfs(n, g);
    let upper = log_sum_exp(&l[k as usize..]);
    let lower = log_sum_exp(&l[..k as usize]);
    if upper < lower {
        upper / LN_10
    } else {
        (-lower.exp()).ln_1p() / LN_10
    }
}

fn assert_close(expected: f64, got: f64, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        close(expected, got),
        "{what}: expected {expected:e}, got {got:e}, relative error {:.3e}",
        rel_err(expected, got)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Integration tests have no lib.rs next to them to persist regressions beside.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Against the exact sum, for every k of a random small n and p = G/256.
    #[test]
    fn matches_brute_force(n in 0u64..=60, g in 1u32..=255) {
        let p = f64::from(g) / 256.0;
        for k in 0..=n + 1 {
            let want = brute_force_log10(n, k, g);
            let got = binomial_upper_tail_log10(n, k, p);
            assert_close(want, got, &format!("n={n} k={k} p={g}/256"))?;
        }
    }

    /// The tail is non-increasing in k: at every k for small n.
    #[test]
    fn monotone_in_k_small_n(n in 0u64..=300, g in 1u32..=255) {
        let p = f64::from(g) / 256.0;
        let mut prev = 0.0;
        for k in 0..=n + 1 {
            let l = binomial_upper_tail_log10(n, k, p);
            prop_assert!(l <= prev, "n={n} k={k} p={g}/256: {prev} then {l}");
            prev = l;
        }
    }

    /// The tail is non-increasing in k: k and k + 1 within 8 standard deviations of the mean,
    /// for n up to 10^9.
    #[test]
    fn monotone_in_k_large_n(n in 1u64..=1_000_000_000, g in 1u32..=255, c in -8.0f64..8.0) {
        let p = f64::from(g) / 256.0;
        let nf = n as f64;
        let k = (nf * p + c * (nf * p * (1.0 - p)).sqrt()).round().clamp(0.0, nf) as u64;
        let (a, b) = (binomial_upper_tail_log10(n, k, p), binomial_upper_tail_log10(n, k + 1, p));
        prop_assert!(b <= a, "n={n} k={k} p={g}/256: {a} then {b}");
    }

    /// P(X >= k) = P(X >= k+1) + pmf(k), checked on whichever side keeps its precision: the
    /// upper tails when they are small, the lower tails P(X <= k-1), P(X <= k) when the upper
    /// ones are close to 1.
    #[test]
    fn consecutive_tails_differ_by_the_pmf(n in 1u64..=60, g in 1u32..=255, frac in 0.0f64..1.0) {
        let p = f64::from(g) / 256.0;
        let k = ((n + 1) as f64 * frac) as u64; // 0..=n
        let ln_pmf = ln_pmfs(n, g)[k as usize];
        let at_k = binomial_upper_tail_log10(n, k, p);
        let at_k1 = binomial_upper_tail_log10(n, k + 1, p);
        if at_k1 < -LOG10_2 {
            let want = log_sum_exp(&[at_k1 * LN_10, ln_pmf]) / LN_10;
            assert_close(want, at_k, &format!("upper n={n} k={k} p={g}/256"))?;
        } else {
            // ln P(X <= k-1) and ln P(X <= k)
            let lower_k = (-(at_k * LN_10).exp_m1()).ln();
            let lower_k1 = (-(at_k1 * LN_10).exp_m1()).ln();
            let want = log_sum_exp(&[lower_k, ln_pmf]) / LN_10;
            assert_close(want, lower_k1 / LN_10, &format!("lower n={n} k={k} p={g}/256"))?;
        }
    }

    /// The z-score has the sign of k - n p.
    #[test]
    fn z_score_sign(n in 1u64..=1_000_000_000, g in 1u32..=255, frac in 0.0f64..=1.0) {
        let k = (n as f64 * frac) as u64;
        let z = z_score(n, k, f64::from(g) / 256.0);
        let excess = i128::from(k) * 256 - i128::from(n) * i128::from(g);
        prop_assert_eq!(z.partial_cmp(&0.0), excess.partial_cmp(&0), "n={} k={} g={}: z={}", n, k, g, z);
    }

    /// For integer a, Q(a, x) = e^-x sum_{j<a} x^j / j! (log-sum-exp in the test); checked when
    /// Q <= 1/2 (near 1 the fixture's series cases cover it).
    #[test]
    fn gamma_matches_poisson_sum(a in 1u32..=80, x in 0.01f64..400.0) {
        let terms: Vec<f64> = (0..a)
            .scan(0.0, |ln_fact, j| {
                if j > 0 { *ln_fact += f64::from(j).ln(); }
                Some(f64::from(j) * x.ln() - x - *ln_fact)
            })
            .collect();
        let want = log_sum_exp(&terms) / LN_10;
        let got = gamma_upper_tail_log10(f64::from(a), x);
        if want < -LOG10_2 {
            // The test's own sum carries ~1e-14 absolute error in the ln-factorials.
            prop_assert!((got - want).abs() <= REL_TOL * want.abs() + 1e-13,
                "a={a} x={x}: expected {want:e}, got {got:e}");
        }
    }

    /// The normal tail is Q(1/2, z²/2)/2, and the two halves add up to 1.
    #[test]
    fn normal_symmetry(z in 0.0f64..40.0) {
        let up = normal_upper_tail_log10(z);
        let down = normal_upper_tail_log10(-z);
        let total = 10f64.powf(up) + 10f64.powf(down);
        prop_assert!((total - 1.0).abs() < 1e-15, "z={z}: {total}");
        let via_gamma = gamma_upper_tail_log10(0.5, 0.5 * z * z) - LOG10_2;
        prop_assert!(rel_err(via_gamma, up) < 1e-15, "z={z}");
    }
}
