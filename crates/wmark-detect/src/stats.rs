//! Exact tail probabilities, in log10, for the detector's verdict.
//!
//! A watermark detector counts `k` green tokens out of `n` scored tokens and asks how surprising
//! that count is for unwatermarked text, where each token is green with probability `p = γ`.
//! The answer is the binomial upper tail `P(Bin(n, p) >= k)`. For long watermarked texts this
//! probability is far below the smallest `f64` (`10^-308`), so every function here works with,
//! and returns, **log10 of the probability**. That number is the truth; a linear p-value is only
//! a convenience and may underflow to `0.0`.
//!
//! | function | returns |
//! |---|---|
//! | [`binomial_upper_tail_log10`] | `log10 P(Bin(n, p) >= k)` (inclusive) |
//! | [`binomial_p_value`] | the same, wrapped in a [`Tail`] that can also give the linear value |
//! | [`gamma_upper_tail_log10`] | `log10 Q(a, x)`, the regularised upper incomplete gamma |
//! | [`weighted_gamma_upper_tail_log10`] | `log10 P((1-α)X + αY >= s)`, `X, Y ~ Gamma(n, 1)` independent |
//! | [`normal_upper_tail_log10`] | `log10 P(Z >= z)` for a standard normal `Z` |
//! | [`z_score`] | `(k - n p) / sqrt(n p (1 - p))`, for familiarity only |
//!
//! # Accuracy
//!
//! The tests check every case of `fixtures/vectors/tails.toml` (mpmath references at 60 digits)
//! to a relative error of `1e-9` on the log10 value, deep into the tails (`log10 p` of `-9.9e8`
//! and of `-4e-21` alike), plus exact brute-force sums for small `n`. The observed error is far
//! smaller: at most `1e-13` relative over the fixture, and about `1e-13` at worst on grids
//! against mpmath up to `n = 10^12` and `a = 10^9` (and `a` down to `1e-300`), including `k` or
//! `x` a fraction of a standard deviation from the mean and probabilities within `1e-30` of 1.
//!
//! No result is ever obtained as `1 - cdf`: whenever a probability is close to 1, the small
//! complementary tail `s` is computed instead and the answer is `log1p(-s)`.
//!
//! # Methods
//!
//! * Binomial: `P(Bin(n, p) >= k) = I_p(k, n - k + 1)`, the regularised incomplete beta function,
//!   or `1 - I_q(n - k + 1, k)` through `log1p` when `k < (n + 1) p`. Either is
//!   `k q pmf(k) · R` (resp. `(n-k+1) p pmf(k-1) · R`) where `R` is the continued fraction of the
//!   incomplete beta function in Didonato & Morris's form (ACM TOMS 708, 1992): an even
//!   contraction written in terms of `λ = k - (n + 1) p`, formed with a single rounding, so all
//!   its terms are positive and nothing cancels even at `n = 10^12` near the mean (the textbook
//!   Lentz evaluation loses a factor `n / |k - np|` there). The binomial probability `pmf(k)` is
//!   computed in log space with Loader's saddle-point formulation (C. Loader, *Fast and accurate
//!   computation of binomial probabilities*, 2000): `ln pmf = stirlerr(n) - stirlerr(k) -
//!   stirlerr(n-k) - bd0(k, np) - bd0(n-k, nq) - ln(2π k (n-k)/n)/2`, where `stirlerr` is the
//!   Stirling-series remainder and `bd0(x, m) = x ln(x/m) + m - x` is evaluated without
//!   cancellation. Every term is small, so the result keeps ~15 significant digits even for
//!   `n = 10^9`, where differences of `ln Γ` values of size `2·10^10` would lose five or six.
//! * Gamma: for `x < a + 1`, the lower `P(a, x)` by the `b -> ∞` limit of the same continued
//!   fraction, then `Q = log1p(-P)`; for `x >= a + 1`, Legendre's continued fraction for
//!   `Q(a, x)`; for `a < 1`, `x < 1.1`, the power series for `P` or, when `Q` is the
//!   small side, Temme's small-`a` form `Q = 1 - x^a/Γ(1+a) - …` with an accurate `ln Γ(1 + a)`.
//!   The common factor `x^a e^-x / Γ(a + 1)` is again computed with `stirlerr` and `bd0`.
//! * Normal: `P(Z >= z) = Q(1/2, z²/2) / 2` for `z >= 0`, and `1 - Q(1/2, z²/2)/2` through
//!   `log1p` for `z < 0`.
//!
//! # Cost and supported range
//!
//! The continued fractions need a handful of steps in the tails and the most, about
//! `4 n^(1/3)` (binomial) or `10 a^(1/3)` (gamma), when `k` is close to the mean `n p` or `x`
//! close to `a`. Measured in a release build: under 0.5 µs in the tails at any `n`; at the centre
//! up to ~4 µs for `n = 10^6`, ~40 µs for `n = 10^9`, ~0.3 to 0.8 ms at the `2^40` limit. Every
//! loop has a hard step bound (`1000 + 8 sqrt(n)`, over ten times the observed need); were it
//! ever reached, the result would be `NaN`, never a silently wrong number. Inputs beyond
//! [`MAX_TRIALS`] (binomial) or [`MAX_SHAPE`] (gamma), and invalid parameters, give `NaN`: never
//! a panic, never an unbounded loop.

use std::f64::consts::{LN_10, LOG10_2};

/// The largest number of trials `n` that [`binomial_upper_tail_log10`] supports: `2^40`
/// (about `1.1·10^12`). Beyond it the result is `NaN`, except for the exact cases `k = 0`
/// (`0.0`) and `k > n` (`-inf`).
pub const MAX_TRIALS: u64 = 1 << 40;

/// The largest shape `a` that [`gamma_upper_tail_log10`] supports: `2^40` (about `1.1·10^12`).
/// Beyond it the result is `NaN`.
pub const MAX_SHAPE: f64 = (1u64 << 40) as f64;

/// `ln(2π) / 2`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Smallest magnitude allowed for the intermediate quantities of Lentz's algorithm.
const TINY: f64 = 1e-300;

/// Relative step below which a continued fraction or series is taken as converged.
const CONVERGED: f64 = f64::EPSILON;

/// An upper-tail probability, held as its base-10 logarithm.
///
/// The logarithm is the exact quantity; [`Tail::p_value`] is the linear probability, which
/// underflows to `0.0` once `log10_p < -323.3` or so.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tail {
    /// `log10` of the probability: `0.0` for a probability of 1, `-inf` for 0, `NaN` for invalid
    /// input.
    pub log10_p: f64,
}

impl Tail {
    /// The probability itself, `10^log10_p`; `0.0` when it underflows.
    pub fn p_value(self) -> f64 {
        10f64.powf(self.log10_p)
    }

    /// The natural logarithm of the probability.
    pub fn ln_p(self) -> f64 {
        self.log10_p * LN_10
    }
}

/// The binomial upper tail `P(Bin(n, p) >= k)` as a [`Tail`]; see [`binomial_upper_tail_log10`].
///
/// ```
/// use wmark_detect::stats::binomial_p_value;
///
/// let tail = binomial_p_value(25, 15, 0.25);
/// assert!((tail.p_value() - 2.145e-4).abs() < 1e-7);
/// // 1000 green tokens out of 1000 at γ = 1/4: the p-value underflows, its log10 does not
/// assert_eq!(binomial_p_value(1000, 1000, 0.25).p_value(), 0.0);
/// assert!((binomial_p_value(1000, 1000, 0.25).log10_p + 602.06).abs() < 1e-3);
/// ```
pub fn binomial_p_value(n: u64, k: u64, p: f64) -> Tail {
    Tail { log10_p: binomial_upper_tail_log10(n, k, p) }
}

/// `log10 P(Bin(n, p) >= k)`: the probability that `n` independent trials, each a success with
/// probability `p`, give `k` or more successes (the tail includes `k`).
///
/// * `k = 0` gives `0.0` exactly (probability 1), also for `n = 0`.
/// * `k > n` gives `f64::NEG_INFINITY` (probability 0), also for `n = 0`.
/// * `p` must lie in the open interval `(0, 1)`; otherwise (including `NaN`) the result is `NaN`.
/// * `n` up to [`MAX_TRIALS`] is supported; larger `n` gives `NaN` (apart from the two exact
///   cases above).
///
/// The result is never rounded to a floor: `log10_p = -9.9e8` comes out as such. When the tail
/// is close to 1 (`k` below the mean), the lower tail `L = P(X <= k-1)` is computed and the
/// result is `log1p(-L) / ln 10`, so values like `-1.2e-10` keep full relative accuracy.
/// See the [module documentation](self) for the method.
///
/// ```
/// use wmark_detect::stats::binomial_upper_tail_log10;
///
/// let l = binomial_upper_tail_log10(1000, 600, 0.25);
/// assert!((l + 120.4068).abs() < 1e-4);
/// assert_eq!(binomial_upper_tail_log10(10, 0, 0.25), 0.0);
/// assert_eq!(binomial_upper_tail_log10(10, 11, 0.25), f64::NEG_INFINITY);
/// assert!(binomial_upper_tail_log10(10, 3, 1.5).is_nan());
/// ```
pub fn binomial_upper_tail_log10(n: u64, k: u64, p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    if k == 0 {
        return 0.0;
    }
    if k > n {
        return f64::NEG_INFINITY;
    }
    if n > MAX_TRIALS {
        return f64::NAN;
    }
    ln_binomial_upper(n as f64, k as f64, p) / LN_10
}

/// `log10 Q(a, x)`, where `Q(a, x) = Γ(a, x) / Γ(a)` is the regularised upper incomplete gamma
/// function: the probability that a Gamma(shape `a`, scale 1) variable is at least `x`.
///
/// * `a` must be finite with `0 < a <= MAX_SHAPE`, and `x >= 0` (`x = +inf` is allowed and gives
///   `-inf`); otherwise (including `NaN`) the result is `NaN`.
/// * `x = 0` gives `0.0` exactly.
///
/// When `Q` is close to 1 (`x` well below `a`), the lower `P(a, x)` is computed and the result is
/// `log1p(-P) / ln 10` (`log10 Q` of `-4e-21` keeps its digits); far tails (`log10 Q` of
/// `-290888`) are exact in log space. See the [module documentation](self) for the method.
///
/// ```
/// use wmark_detect::stats::gamma_upper_tail_log10;
///
/// // Q(1, x) = e^-x
/// assert!((gamma_upper_tail_log10(1.0, 60.0) + 60.0 / std::f64::consts::LN_10).abs() < 1e-12);
/// assert_eq!(gamma_upper_tail_log10(3.0, 0.0), 0.0);
/// ```
pub fn gamma_upper_tail_log10(a: f64, x: f64) -> f64 {
    if !(a > 0.0 && a <= MAX_SHAPE && x >= 0.0) {
        return f64::NAN;
    }
    ln_gamma_q(a, x) / LN_10
}

/// `log10 P((1 − α)·X + α·Y ≥ s)` for independent `X, Y ~ Gamma(n, 1)`: the exact null tail
/// of vLLM's dual-key Gumbel-max score, the sum over `n` tokens of `(1 − α)·r_A + α·r_B`
/// with `r_A, r_B ~ Exp(1)` (`0.0` for `n = 0` or `s ≤ 0`; `NaN` for `α` outside [0, 1],
/// `n` above [`MAX_SHAPE`] or `s` NaN).
///
/// With `β = min(α, 1 − α)` and `Y` the variable of weight `β`, the tail is
/// `Q(n, s/β) + ∫_0^{s/β} f_n(y) Q(n, (s − βy)/(1 − β)) dy` (`f_n` the `Gamma(n, 1)`
/// density): the integrand is log-concave, so its logarithm is maximised by a golden-section
/// search, cut where it falls 60 nats below the maximum (a relative loss below 1e-26) and
/// integrated by 32 panels of 16-point Gauss–Legendre, all in log space. Checked against
/// mpmath references (`[[weighted_gamma]]` of `fixtures/vectors/tails.toml`). `α ∈ {0, 1}`
/// is `Q(n, s)` and `α = 1/2` is `Q(2n, 2s)` exactly.
///
/// ```
/// use wmark_detect::stats::{gamma_upper_tail_log10, weighted_gamma_upper_tail_log10};
///
/// // α = 1/2: the mean of two Exp(1) scores per token.
/// let half = weighted_gamma_upper_tail_log10(100, 0.5, 130.0);
/// assert!((half - gamma_upper_tail_log10(200.0, 260.0)).abs() < 1e-12);
/// assert_eq!(weighted_gamma_upper_tail_log10(5, 0.1, 0.0), 0.0);
/// ```
pub fn weighted_gamma_upper_tail_log10(n: u64, alpha: f64, s: f64) -> f64 {
    if !(0.0..=1.0).contains(&alpha) || s.is_nan() || n as f64 > MAX_SHAPE {
        return f64::NAN;
    }
    if n == 0 || s <= 0.0 {
        return 0.0;
    }
    let a = n as f64;
    let beta = alpha.min(1.0 - alpha);
    if beta == 0.0 {
        return ln_gamma_q(a, s) / LN_10;
    }
    if beta == 0.5 {
        return ln_gamma_q(2.0 * a, 2.0 * s) / LN_10;
    }
    if s == f64::INFINITY {
        return f64::NEG_INFINITY;
    }
    let big = 1.0 - beta;
    let top = s / beta;
    // ln of the Gamma(n, 1) density: ln n − ln y + ln(y^n e^-y / Γ(n+1)).
    let ln_density = |y: f64| -> f64 {
        if y <= 0.0 {
            return if n == 1 { 0.0 } else { f64::NEG_INFINITY };
        }
        a.ln() - y.ln() + ln_poisson_raw(a, y)
    };
    let ln_f = |y: f64| -> f64 { ln_density(y) + ln_gamma_q(a, ((s - beta * y) / big).max(0.0)) };
    // Golden-section search for the maximum of the concave ln_f on [0, top].
    let (mut lo, mut hi) = (0.0f64, top);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut x1, mut x2) = (hi - g * (hi - lo), lo + g * (hi - lo));
    let (mut f1, mut f2) = (ln_f(x1), ln_f(x2));
    for _ in 0..200 {
        if hi - lo <= 1e-13 * top {
            break;
        }
        if f1 < f2 {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = ln_f(x2);
        } else {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = ln_f(x1);
        }
    }
    let mode = 0.5 * (lo + hi);
    let peak = ln_f(mode).max(ln_f(0.0)).max(ln_f(top));
    // Where ln_f falls 60 nats below the peak, on each side (ln_f is monotone there).
    const DROP: f64 = 60.0;
    let cut = |inside: f64, outside: f64| -> f64 {
        if ln_f(outside) >= peak - DROP {
            return outside;
        }
        let (mut i, mut o) = (inside, outside);
        for _ in 0..200 {
            let m = 0.5 * (i + o);
            if (o - i).abs() <= 1e-15 * top {
                break;
            }
            if ln_f(m) >= peak - DROP {
                i = m;
            } else {
                o = m;
            }
        }
        o
    };
    let (left, right) = (cut(mode, 0.0), cut(mode, top));
    let (nodes, weights) = gauss_legendre_16();
    const PANELS: usize = 32;
    let width = (right - left) / PANELS as f64;
    let mut terms = Vec::with_capacity(PANELS * 16 + 1);
    for p in 0..PANELS {
        let mid = left + (p as f64 + 0.5) * width;
        for (x, w) in nodes.iter().zip(weights) {
            let y = mid + 0.5 * width * x;
            terms.push(ln_f(y) + (0.5 * width * w).ln());
        }
    }
    // The part where Y alone exceeds s/β.
    terms.push(ln_gamma_q(a, top));
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = terms.iter().map(|t| (t - max).exp()).sum();
    ((max + total.ln()) / LN_10).min(0.0)
}

/// Nodes and weights of 16-point Gauss–Legendre quadrature on [−1, 1], by Newton's method
/// on the Legendre polynomial (computed once).
fn gauss_legendre_16() -> &'static ([f64; 16], [f64; 16]) {
    static RULE: std::sync::OnceLock<([f64; 16], [f64; 16])> = std::sync::OnceLock::new();
    RULE.get_or_init(|| {
        const N: usize = 16;
        let (mut x, mut w) = ([0.0; N], [0.0; N]);
        for i in 0..N {
            let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (N as f64 + 0.5)).cos();
            let mut dp = 0.0;
            for _ in 0..100 {
                let (mut p0, mut p1) = (1.0, z);
                for k in 2..=N {
                    let kf = k as f64;
                    let p2 = ((2.0 * kf - 1.0) * z * p1 - (kf - 1.0) * p0) / kf;
                    p0 = p1;
                    p1 = p2;
                }
                dp = N as f64 * (z * p1 - p0) / (z * z - 1.0);
                let dz = p1 / dp;
                z -= dz;
                if dz.abs() < 1e-16 {
                    break;
                }
            }
            x[i] = z;
            w[i] = 2.0 / ((1.0 - z * z) * dp * dp);
        }
        (x, w)
    })
}

/// `log10 P(Z >= z)` for a standard normal `Z`, for any `z` (`+inf` gives `-inf`, `-inf` gives
/// `0.0`, `NaN` gives `NaN`).
///
/// Computed as `Q(1/2, z²/2) / 2` (an `erfc` in other words) for `z >= 0`, and through `log1p`
/// of that small complement for `z < 0`; accurate to ~1e-14 relative for `z` up to 40 and well
/// beyond (`z = 40` gives `-349.437…`).
///
/// ```
/// use wmark_detect::stats::normal_upper_tail_log10;
///
/// assert!((normal_upper_tail_log10(0.0) + std::f64::consts::LOG10_2).abs() < 1e-15);
/// assert!((normal_upper_tail_log10(6.0) + 9.005864327476704).abs() < 1e-12);
/// ```
pub fn normal_upper_tail_log10(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    let ln_q = ln_gamma_q(0.5, 0.5 * z * z);
    if z >= 0.0 {
        ln_q / LN_10 - LOG10_2
    } else {
        (-0.5 * ln_q.exp()).ln_1p() / LN_10
    }
}

/// The z-score of `k` successes in `n` trials of probability `p`:
/// `(k - n p) / sqrt(n p (1 - p))`.
///
/// Reported for familiarity only: the verdict uses the exact tail
/// ([`binomial_upper_tail_log10`]), because the normal approximation behind the z-score is badly
/// wrong in the tails for short texts (for `n = 25, k = 15, p = 1/4`, `z = 4.04` suggests a
/// p-value of `2.7e-5`; the exact one is `2.1e-4`).
///
/// Returns `NaN` when `n = 0` (there is no evidence either way, and `0/0` has no value) or when
/// `p` is not in `(0, 1)`. Any `k` is accepted, including `k > n`.
pub fn z_score(n: u64, k: u64, p: f64) -> f64 {
    if n == 0 || !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    let n = n as f64;
    (k as f64 - n * p) / (n * p * (1.0 - p)).sqrt()
}

// ------------------------------------------------------------------------------------------------
// Binomial

/// `ln P(Bin(n, p) >= k)` for `1 <= k <= n <= MAX_TRIALS` and `0 < p < 1` (all as exact `f64`).
fn ln_binomial_upper(n: f64, k: f64, p: f64) -> f64 {
    let q = 1.0 - p;
    let (ln_p, ln_q) = ln_p_q(p);
    // λ = a - (a+b) x for I_p(k, n-k+1): k - (n+1) p, with one rounding (n+1 and k are exact).
    let lambda = (-(n + 1.0)).mul_add(p, k);
    if lambda >= 0.0 {
        // k >= (n+1) p: the upper tail is the small side.
        // P = I_p(k, n-k+1) = p^k q^(n-k+1) / B(k, n-k+1) · R = k q pmf(k) · R.
        let Some(r) = beta_frac(k, n - k + 1.0, p, q, lambda) else {
            return f64::NAN;
        };
        k.ln() + ln_q + ln_binomial_pmf(n, k, p, q, ln_p, ln_q) + r.ln()
    } else {
        // Through the lower tail L = P(X <= k-1) = I_q(n-k+1, k) = (n-k+1) p pmf(k-1) · R,
        // whose λ is (n-k+1) - (n+1) q = -λ exactly.
        let a = n - k + 1.0;
        let Some(r) = beta_frac(a, k, q, p, -lambda) else {
            return f64::NAN;
        };
        let ln_lower = a.ln() + ln_p + ln_binomial_pmf(n, k - 1.0, p, q, ln_p, ln_q) + r.ln();
        (-ln_lower.exp()).ln_1p()
    }
}

/// `(ln p, ln(1 - p))`, each computed from whichever of `p`, `1 - p` is exact.
fn ln_p_q(p: f64) -> (f64, f64) {
    if p < 0.5 {
        (p.ln(), (-p).ln_1p())
    } else {
        // 1 - p is exact for p >= 1/2 (Sterbenz).
        let q = 1.0 - p;
        ((-q).ln_1p(), q.ln())
    }
}

/// `ln` of the binomial probability `C(n, k) p^k q^(n-k)` for `0 <= k <= n`, `n >= 1`
/// (Loader's saddle-point form).
fn ln_binomial_pmf(n: f64, k: f64, p: f64, q: f64, ln_p: f64, ln_q: f64) -> f64 {
    if k == 0.0 {
        return n * ln_q;
    }
    if k == n {
        return n * ln_p;
    }
    let nk = n - k;
    let lc = stirlerr(n) - stirlerr(k) - stirlerr(nk) - bd0(k, n * p) - bd0(nk, n * q);
    let lf = 2.0 * LN_SQRT_2PI + k.ln() + (-k / n).ln_1p();
    lc - 0.5 * lf
}

/// The continued fraction of the regularised incomplete beta function in the form of
/// Didonato & Morris (ACM TOMS 708, `bfrac`, 1992): the even contraction of DLMF 8.17.22, written
/// in terms of `λ = a - (a + b) x`, which the caller computes without cancellation. For
/// `λ >= 0`, every term of the recurrence below is positive, so nothing cancels even when `a` and
/// `b` are ~10^12 and `k` is within a few standard deviations of the mean (the plain Lentz
/// evaluation loses a factor `a / λ` of precision there). Returns `R` with
/// `I_x(a, b) = x^a y^b / B(a, b) · R`, where `y = 1 - x`; `None` if the step bound is reached.
///
/// The number of steps is largest when `λ` is close to 0: about `4.5 max(a, b)^(1/3)`.
fn beta_frac(a: f64, b: f64, x: f64, y: f64, lambda: f64) -> Option<f64> {
    let c = lambda + 1.0;
    let c0 = b / a;
    let c1 = 1.0 + 1.0 / a;
    let yp1 = y + 1.0;
    let mut p = 1.0;
    let mut s = a + 1.0;
    // Two consecutive convergents an/bn, anp1/bnp1, renormalised every step.
    let (mut an, mut bn) = (0.0, 1.0);
    let (mut anp1, mut bnp1) = (1.0, c / c1);
    let mut r = c1 / c;
    let mut n = 1.0;
    for _ in 0..step_bound(a.max(b)) {
        let t = n / a;
        let w = n * (b - n) * x;
        let e = a / s;
        let alpha = p * (p + c0) * e * e * (w * x);
        let e = (1.0 + t) / (c1 + t + t);
        let beta = n + w / s + e * (c + n * yp1);
        p = 1.0 + t;
        s += 2.0;
        let t = alpha * an + beta * anp1;
        an = anp1;
        anp1 = t;
        let t = alpha * bn + beta * bnp1;
        bn = bnp1;
        bnp1 = t;
        let r0 = r;
        r = anp1 / bnp1;
        if (r - r0).abs() <= CONVERGED * r {
            return Some(r);
        }
        an /= bnp1;
        bn /= bnp1;
        anp1 = r;
        bnp1 = 1.0;
        n += 1.0;
    }
    None
}

/// A generous bound on the steps of a series or continued fraction whose parameters are of size
/// `size`. The observed worst (central) need is about `4 size^(1/3)` for [`beta_frac`] and
/// `10 size^(1/3)` for [`gamma_cf`] (96 128 steps at `size = 2^40`, 936 at `10^6`); the bound is
/// over ten times that everywhere.
fn step_bound(size: f64) -> u64 {
    // size <= 2^40 + 1, so this is at most about 8.4e6.
    (1000.0 + 8.0 * size.sqrt()) as u64
}

// ------------------------------------------------------------------------------------------------
// Gamma

/// `ln Q(a, x)` for `0 < a <= MAX_SHAPE`, `x >= 0`.
fn ln_gamma_q(a: f64, x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    if x == f64::INFINITY {
        return f64::NEG_INFINITY;
    }
    if a < 1.0 && x < 1.1 {
        // P by its series, with x^a e^-x / Γ(a+1) from an accurate ln Γ(1+a).
        let e = a * x.ln() - ln_gamma_1p(a);
        let Some(s) = gamma_series(a, x) else {
            return f64::NAN;
        };
        let p = (e - x).exp() * s;
        if p <= 0.5 {
            return (-p).ln_1p();
        }
        // Q is the small one: Temme's form avoids computing 1 - P.
        match small_a_q(a, x, e) {
            Some(q) if q > 0.0 => q.ln(),
            _ => (-p).ln_1p(),
        }
    } else if x < a + 1.0 && a >= 1.0 {
        // Q >= Q(1, 2) = e^-2 here, so log1p(-P) loses at most a factor 7.4 to cancellation.
        let Some(r) = gamma_lower_frac(a, x) else {
            return f64::NAN;
        };
        // x^a e^-x / Γ(a) = a · x^a e^-x / Γ(a+1).
        let ln_p = a.ln() + ln_poisson_raw(a, x) + r.ln();
        (-ln_p.exp()).ln_1p()
    } else {
        let Some(f) = gamma_cf(a, x) else {
            return f64::NAN;
        };
        // x^a e^-x / Γ(a) = a · x^a e^-x / Γ(a+1).
        let ln_pref = if a < 1.0 { a * x.ln() - x - ln_gamma_1p(a) + a.ln() } else { a.ln() + ln_poisson_raw(a, x) };
        ln_pref + f.ln()
    }
}

/// `ln(x^a e^-x / Γ(a + 1))` for `a >= 1`, `x > 0` (Loader's form of the Poisson probability).
fn ln_poisson_raw(a: f64, x: f64) -> f64 {
    -stirlerr(a) - bd0(a, x) - LN_SQRT_2PI - 0.5 * a.ln()
}

/// The series `sum_{j>=0} x^j / ((a+1)(a+2)...(a+j))`, so that
/// `P(a, x) = x^a e^-x / Γ(a+1) · sum`. Used for `a < 1`, `x < 1.1`, where it takes ~20 steps.
fn gamma_series(a: f64, x: f64) -> Option<f64> {
    let max_steps = step_bound(a);
    let mut ap = a;
    let mut term = 1.0;
    let mut sum = 1.0;
    for _ in 0..max_steps {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        // The ratios x / (a + j) decrease, so the rest is at most term · r / (1 - r).
        let r = x / (ap + 1.0);
        if r < 1.0 && term * r <= (1.0 - r) * sum * (0.5 * CONVERGED) {
            return Some(sum);
        }
    }
    None
}

/// The continued fraction for the lower incomplete gamma function: the `b -> inf` limit of
/// [`beta_frac`] at `x / b` (so again every term is positive, with `λ = a - x`). Returns `R` with
/// `P(a, x) = x^a e^-x / Γ(a) · R`. For `x < a + 1`, where it needs about `6 a^(1/3)` steps at
/// worst (against `9 sqrt(a)` for the power series).
fn gamma_lower_frac(a: f64, x: f64) -> Option<f64> {
    // λ + 1 with λ = a - x; a - x is exact near the centre (Sterbenz).
    let c = (a - x) + 1.0;
    let c1 = 1.0 + 1.0 / a;
    let mut p = 1.0;
    let mut s = a + 1.0;
    let (mut an, mut bn) = (0.0, 1.0);
    let (mut anp1, mut bnp1) = (1.0, c / c1);
    let mut r = c1 / c;
    let mut n = 1.0;
    for _ in 0..step_bound(a) {
        let t = n / a;
        let w = n * x;
        let e = a / s;
        let alpha = p * e * e * (w * x) / a;
        let e = (1.0 + t) / (c1 + t + t);
        let beta = n + w / s + e * (c + 2.0 * n);
        p = 1.0 + t;
        s += 2.0;
        let t = alpha * an + beta * anp1;
        an = anp1;
        anp1 = t;
        let t = alpha * bn + beta * bnp1;
        bn = bnp1;
        bnp1 = t;
        let r0 = r;
        r = anp1 / bnp1;
        if (r - r0).abs() <= CONVERGED * r {
            return Some(r);
        }
        an /= bnp1;
        bn /= bnp1;
        anp1 = r;
        bnp1 = 1.0;
        n += 1.0;
    }
    None
}

/// Legendre's continued fraction for the upper incomplete gamma function:
/// `Q(a, x) = x^a e^-x / Γ(a) · F`, with `F` returned here. For `x >= a + 1` (or `x >= 1.1`
/// when `a < 1`).
fn gamma_cf(a: f64, x: f64) -> Option<f64> {
    let max_steps = step_bound(a);
    // x - a is exact near the centre (Sterbenz).
    let mut b = (x - a) + 1.0;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    let mut i = 1.0;
    for _ in 0..max_steps {
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() <= CONVERGED {
            return Some(h);
        }
        i += 1.0;
    }
    None
}

/// `Q(a, x)` for `0 < a < 1`, `0 < x < 1.1` without forming `1 - P` (Temme; also Boost's
/// `tgamma_small_upper_part`): with `γ(a, x) = x^a sum_j (-x)^j / (j! (a + j))`,
/// `Q = [1 - x^a/Γ(1+a)] - (x^a/Γ(a)) S`, `S = sum_{j>=1} (-x)^j / (j! (a + j))`, where the
/// bracket is `-expm1(e)` for `e = a ln x - ln Γ(1+a)` (passed in).
fn small_a_q(a: f64, x: f64, e: f64) -> Option<f64> {
    let mut term = 1.0;
    let mut s = 0.0;
    let mut j = 1.0;
    // x < 1.1: the terms fall below 1e-18 of the first by j = 25.
    for _ in 0..60 {
        term *= -x / j;
        let t = term / (a + j);
        s += t;
        if t.abs() <= s.abs() * (0.25 * CONVERGED) {
            return Some(-e.exp_m1() - a * e.exp() * s);
        }
        j += 1.0;
    }
    None
}

/// `ζ(j) - 1` for `j = 2, 3, …, 61` (mpmath at 50 digits, rounded to the nearest double).
const ZETA_MINUS_1: [f64; 60] = [
    0.6449340668482264,
    0.2020569031595943,
    0.08232323371113819,
    0.03692775514336993,
    0.01734306198444914,
    0.008349277381922827,
    0.00407735619794434,
    0.0020083928260822143,
    0.0009945751278180853,
    0.0004941886041194645,
    0.0002460865533080483,
    0.00012271334757848915,
    6.124813505870483e-05,
    3.058823630702049e-05,
    1.528225940865187e-05,
    7.637197637899763e-06,
    3.81729326499984e-06,
    1.908212716553939e-06,
    9.539620338727962e-07,
    4.769329867878064e-07,
    2.38450502727733e-07,
    1.1921992596531106e-07,
    5.960818905125948e-08,
    2.980350351465228e-08,
    1.4901554828365043e-08,
    7.45071178983543e-09,
    3.725334024788457e-09,
    1.862659723513049e-09,
    9.313274324196682e-10,
    4.656629065033784e-10,
    2.3283118336765053e-10,
    1.164155017270052e-10,
    5.820772087902701e-11,
    2.9103850444971e-11,
    1.4551921891041985e-11,
    7.275959835057482e-12,
    3.637979547378651e-12,
    1.818989650307066e-12,
    9.094947840263888e-13,
    4.547473783042154e-13,
    2.2737368458246524e-13,
    1.136868407680228e-13,
    5.684341987627585e-14,
    2.842170976889302e-14,
    1.4210854828031608e-14,
    7.105427395210853e-15,
    3.552713691337114e-15,
    1.7763568435791204e-15,
    8.881784210930816e-16,
    4.440892103143813e-16,
    2.220446050798042e-16,
    1.1102230251410661e-16,
    5.551115124845481e-17,
    2.775557562136124e-17,
    1.3877787809725232e-17,
    6.938893904544153e-18,
    3.4694469521659225e-18,
    1.7347234760475765e-18,
    8.673617380119933e-19,
    4.336808690020651e-19,
];

/// Euler's constant γ.
const EULER_GAMMA: f64 = 0.5772156649015329;

/// `ln Γ(1 + a)` for `0 <= a < 1`, accurate relative to `a` (Abramowitz & Stegun 6.1.33):
/// `ln Γ(1+a) = -ln(1+a) + a (1 - γ) + sum_{j>=2} (-1)^j (ζ(j) - 1) a^j / j`.
fn ln_gamma_1p(a: f64) -> f64 {
    let mut sum = 0.0;
    let mut pow = -a; // (-a)^j
    for (i, zm1) in ZETA_MINUS_1.iter().enumerate() {
        pow *= -a;
        sum += zm1 * pow / (i + 2) as f64;
    }
    -a.ln_1p() + a * (1.0 - EULER_GAMMA) + sum
}

// ------------------------------------------------------------------------------------------------
// Shared pieces (Loader)

/// `stirlerr(n) = ln Γ(n+1) - ln(sqrt(2π n) (n/e)^n)` for `n = 0, 0.5, 1, …, 15` (entry 0
/// unused), from mpmath at 50 digits, rounded to the nearest double.
const STIRLERR_HALVES: [f64; 31] = [
    0.0,
    0.15342640972002736,
    0.08106146679532726,
    0.05481412105191765,
    0.0413406959554093,
    0.03316287351993629,
    0.02767792568499834,
    0.023746163656297496,
    0.020790672103765093,
    0.018488450532673187,
    0.016644691189821193,
    0.015134973221917378,
    0.013876128823070748,
    0.012810465242920227,
    0.01189670994589177,
    0.011104559758206917,
    0.010411265261972096,
    0.009799416126158804,
    0.009255462182712733,
    0.008768700134139386,
    0.00833056343336287,
    0.00793411456431402,
    0.007573675487951841,
    0.007244554301320383,
    0.00694284010720953,
    0.006665247032707682,
    0.006408994188004207,
    0.006171712263039458,
    0.0059513701127588475,
    0.0057462165130101155,
    0.005554733551962801,
];

/// The error of Stirling's formula, `stirlerr(n) = ln Γ(n+1) - ((n + 1/2) ln n - n + ln sqrt(2π))`,
/// for `n > 0`.
fn stirlerr(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 15.0 {
        let nn = n + n;
        if nn == nn.floor() {
            return STIRLERR_HALVES[nn as usize];
        }
        return ln_gamma(n + 1.0) - (n + 0.5) * n.ln() + n - LN_SQRT_2PI;
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// `ln Γ(x)` for `0 < x <= 16`, to about 1e-14 absolute: shift up past 15 and use Stirling's
/// series there.
fn ln_gamma(x: f64) -> f64 {
    let mut y = x;
    let mut prod = 1.0;
    // At most 16 steps for x > 0.
    while y <= 15.0 {
        prod *= y;
        y += 1.0;
    }
    (y - 0.5) * y.ln() - y + LN_SQRT_2PI + stirlerr(y) - prod.ln()
}

/// The deviance term `bd0(x, m) = x ln(x / m) + m - x >= 0`, for `x >= 0`, `m > 0`, computed
/// without cancellation when `x` is close to `m` (Loader's series in `v = (x - m) / (x + m)`).
fn bd0(x: f64, m: f64) -> f64 {
    if x == 0.0 {
        return m;
    }
    if (x - m).abs() < 0.1 * (x + m) {
        let mut v = (x - m) / (x + m);
        let mut s = (x - m) * v;
        if s.abs() < f64::MIN_POSITIVE {
            return s;
        }
        let mut ej = 2.0 * x * v;
        v *= v;
        // v² < 1/121, so each term is over 100 times smaller than the last: ~8 steps.
        let mut j = 3.0;
        for _ in 0..40 {
            ej *= v;
            let s1 = s + ej / j;
            if s1 == s {
                return s1;
            }
            s = s1;
            j += 2.0;
        }
        return s;
    }
    let r = x / m;
    let ln_r = if r.is_finite() && r >= f64::MIN_POSITIVE { r.ln() } else { x.ln() - m.ln() };
    x * ln_r + m - x
}
