"""The summaries docs/results.md prints, computed from per-document numbers.

Each function keeps the floating-point operations (and their order) that the page's numbers
were first computed with, so that moving them here changed no printed digit.
"""
import math

# -- spike entropy (Kirchenbauer et al. 2023, Theorem 4.2) -------------------------------------

def spike_bound(gamma, delta, spikes):
    """The theorem's lower bound on the expected green count of len(spikes) tokens sampled at
    temperature 1 with bias δ: γαT/(1 + (α − 1)γ) · S̄, α = e^δ, S̄ the mean spike entropy."""
    n = len(spikes)
    a = math.exp(delta)
    return gamma * a * n / (1 + (a - 1) * gamma) * (sum(spikes) / n)


def spike_summary(greens, bounds, scored, spikes):
    """One row of the spike-entropy table from per-generation green counts, own bounds, scored
    token counts and spike-entropy lists: means, the standard error of the mean green count
    (sample standard deviation, n − 1), and how many generations reach their own bound."""
    m = len(greens)
    mean_g = sum(greens) / m
    sd = math.sqrt(sum((x - mean_g) ** 2 for x in greens) / max(m - 1, 1))
    return dict(generations=m, tokens=sum(scored) / m, mean_green=mean_g, se_green=sd / math.sqrt(m),
                mean_bound=sum(bounds) / m, holds_each=sum(g >= b for g, b in zip(greens, bounds)),
                mean_spike=sum(sum(s) / len(s) for s in spikes) / m)


# -- detection rates ---------------------------------------------------------------------------

def count_at_most(values, threshold):
    """How many values are ≤ threshold (e.g. log10 p-values at a level)."""
    return sum(v <= threshold for v in values)


def rate_at_most(values, threshold):
    """The share of values ≤ threshold: a detection rate when the values are log10 p."""
    return count_at_most(values, threshold) / len(values)


def upper_median(values):
    """The middle value, the upper of the two middle ones for an even count."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def bonferroni_log10(alpha, tests):
    """log10 of the per-test level that keeps the family-wise level α over `tests` tests."""
    return math.log10(alpha / tests)


# -- perplexity --------------------------------------------------------------------------------

def perplexity(logprobs):
    """exp of the mean negative log-probability (natural log) per token."""
    return math.exp(-sum(logprobs) / len(logprobs))


def quality_summary(logprob_lists):
    """Token count, corpus perplexity (all tokens pooled) and the median of the per-answer
    perplexities, for answers given as lists of per-token log-probabilities."""
    ppls = sorted(perplexity(lp) for lp in logprob_lists)
    pooled = [x for lp in logprob_lists for x in lp]
    return dict(tokens=len(pooled), ppl_corpus=perplexity(pooled), ppl_median=ppls[len(ppls) // 2])


def answer_nll(logprobs):
    """The mean negative log-probability of one answer's tokens: its log-perplexity."""
    return -sum(logprobs) / len(logprobs)


def log_perplexity_se(logprob_lists):
    """The standard error of the corpus log-perplexity (the pooled mean negative
    log-probability), with the answers as the independent units: tokens of one answer are not
    independent of each other. The ratio (linearisation) estimator of a pooled mean,
    √(m/(m − 1) · Σ (L_i − μ n_i)²) / Σ n_i, with L_i an answer's summed negative
    log-probability, n_i its token count and μ the pooled mean; for answers of equal length it
    is the sample standard deviation of the per-answer log-perplexities over √m. 0 for one
    answer."""
    m = len(logprob_lists)
    if m < 2:
        return 0.0
    sums = [-sum(lp) for lp in logprob_lists]
    counts = [len(lp) for lp in logprob_lists]
    total = sum(counts)
    mu = sum(sums) / total
    return math.sqrt(m / (m - 1) * sum((s - mu * n) ** 2 for s, n in zip(sums, counts))) / total


def pooled_mean_se(value_lists):
    """The pooled mean of per-token values (all answers' tokens together) and its standard
    error with the answers as the units, by the same ratio estimator as `log_perplexity_se`:
    (mean, se); se is 0 for one answer."""
    total = sum(len(v) for v in value_lists)
    mean = sum(sum(v) for v in value_lists) / total
    m = len(value_lists)
    if m < 2:
        return mean, 0.0
    sums = [sum(v) for v in value_lists]
    counts = [len(v) for v in value_lists]
    mu = sum(sums) / total
    return mean, math.sqrt(m / (m - 1) * sum((s - mu * n) ** 2 for s, n in zip(sums, counts))) / total


def entropy_gap(logprob_lists, entropy_lists):
    """Per token, −log p of the sampled token under the model minus the entropy of the
    distribution it was sampled from, pooled: (mean, se), answers as the units. When the
    log-probabilities and the entropies are of the same distribution (sampling at temperature
    1) and the sampler draws exactly from it, the expectation is 0 whatever the contexts."""
    return pooled_mean_se([[-lp - h for lp, h in zip(lps, hs)] for lps, hs in zip(logprob_lists, entropy_lists)])


def perplexity_se(logprob_lists):
    """The corpus perplexity and its standard error by the delta method, PPL · s.e.(log PPL):
    (ppl, se, se of log ppl)."""
    ppl = perplexity([x for lp in logprob_lists for x in lp])
    se_log = log_perplexity_se(logprob_lists)
    return ppl, ppl * se_log, se_log


def paired_difference(a, b):
    """The mean of a[i] − b[i] and its standard error (sample standard deviation over √m, 0
    for one pair): e.g. per-answer log-perplexities of two runs paired by prompt."""
    if len(a) != len(b) or not a:
        raise ValueError("paired_difference needs two non-empty lists of the same length")
    d = [x - y for x, y in zip(a, b)]
    m = len(d)
    mean = sum(d) / m
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (m - 1)) if m > 1 else 0.0
    return mean, sd / math.sqrt(m)


def decoding_totals(generations):
    """(tokens, seconds of decoding) over generation records with "ids" and "tokens_per_second"."""
    tokens, decode = 0, 0.0
    for g in generations:
        tokens += len(g["ids"])
        decode += len(g["ids"]) / g["tokens_per_second"]
    return tokens, decode


# -- p-values ----------------------------------------------------------------------------------

def betainc(a, b, x):
    """The regularised incomplete beta function I_x(a, b), a, b > 0, by its continued fraction
    (modified Lentz; Press et al., Numerical Recipes, §6.4), on the side where it converges."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _betacf(a, b, x):
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1_000_000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            return h
    raise ArithmeticError(f"betainc({a}, {b}, {x}) did not converge")


def _solve_increasing(f, target):
    """The x in (0, 1) where the increasing f(x) crosses target, by bisection."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return 0.5 * (lo + hi)


def clopper_pearson(k, n, level=0.99):
    """The exact (Clopper-Pearson) two-sided interval at `level` for a binomial proportion
    after k successes in n trials: P(Bin(n, lo) ≥ k) = P(Bin(n, hi) ≤ k) = (1 − level)/2, with
    P(Bin(n, p) ≥ k) = I_p(k, n − k + 1). (0, 1) when n = 0."""
    if n == 0:
        return 0.0, 1.0
    tail = (1.0 - level) / 2.0
    lo = 0.0 if k == 0 else _solve_increasing(lambda p: betainc(k, n - k + 1, p), tail)
    hi = 1.0 if k >= n else _solve_increasing(lambda p: betainc(k + 1, n - k, p), 1.0 - tail)
    return lo, hi


def vs_nominal(alpha, interval):
    """Where a nominal level lies against an interval for the observed rate: "consistent"
    inside it, "above" when the whole interval is above α, "below" when it is below."""
    lo, hi = interval
    if lo > alpha:
        return "above"
    if hi < alpha:
        return "below"
    return "consistent"


def null_levels(log10_ps, log10_alphas, level=0.99):
    """For p-values given as log10 and each level log10 α: false positives (log10 p ≤ log10 α),
    their rate, its Clopper-Pearson interval at `level` and where α lies against it."""
    n = len(log10_ps)
    rows = []
    for la in log10_alphas:
        k = count_at_most(log10_ps, la)
        ci = clopper_pearson(k, n, level)
        rows.append(dict(log10_alpha=la, alpha=10 ** la, false_positives=k, fpr=k / n if n else 0.0,
                         ci=list(ci), vs_nominal=vs_nominal(10 ** la, ci)))
    return rows


def ks_uniform(log10_ps):
    """Kolmogorov-Smirnov distance between the p-values 10^v and the uniform distribution."""
    n = len(log10_ps)
    ps = sorted(10 ** v for v in log10_ps)
    return max(max((i + 1) / n - p, p - i / n) for i, p in enumerate(ps))


def ks_critical_5(n):
    """The large-sample 5 % critical value of the one-sample KS distance, 1.36/√n."""
    return 1.36 / math.sqrt(n)


def evidence(log10_p, floor=0.01):
    """−log10 p, at least `floor` (for log axes: p = 1 has no evidence to draw)."""
    return max(-log10_p, floor)


def fmt_p(log10_p):
    """A p-value for text from its log10: two significant digits down to 1e-3, then
    mantissa and exponent (1 decimal), which works far below the smallest float."""
    if log10_p > -3:
        return f"{10 ** log10_p:.2g}"
    e = math.floor(log10_p)
    return f"{10 ** (log10_p - e):.1f}e{e}"
