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


def decoding_totals(generations):
    """(tokens, seconds of decoding) over generation records with "ids" and "tokens_per_second"."""
    tokens, decode = 0, 0.0
    for g in generations:
        tokens += len(g["ids"])
        decode += len(g["ids"]) / g["tokens_per_second"]
    return tokens, decode


# -- p-values ----------------------------------------------------------------------------------

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
