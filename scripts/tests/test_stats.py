import json
import math
import statistics
from pathlib import Path

import pytest

from wmarkexp import stats

ROOT = Path(__file__).resolve().parent.parent.parent


def test_spike_bound_without_bias_is_gamma_times_spike_entropy_sum():
    # δ = 0: α = 1, the bound is γ·T·S̄.
    assert stats.spike_bound(0.25, 0.0, [1.0, 1.0, 1.0, 1.0]) == 1.0
    assert stats.spike_bound(0.5, 0.0, [0.2, 0.6]) == pytest.approx(0.4)


def test_spike_bound_with_bias():
    # γ = 0.5, α = 3, T = 4, S̄ = 0.5: 0.5·3·4/(1 + 2·0.5)·0.5 = 1.5.
    assert stats.spike_bound(0.5, math.log(3), [0.5] * 4) == pytest.approx(1.5)
    # γ = 0.25, α = e^2, T = 2, S̄ = 1: 0.25·e²·2/(1 + (e² − 1)·0.25).
    e2 = math.exp(2)
    assert stats.spike_bound(0.25, 2.0, [1.0, 1.0]) == pytest.approx(0.5 * e2 / (1 + 0.25 * (e2 - 1)))


def test_spike_summary():
    row = stats.spike_summary(greens=[10, 12, 14], bounds=[11.0, 11.0, 15.0], scored=[199, 199, 199],
                              spikes=[[0.5, 0.7], [0.6, 0.6], [1.0, 0.0]])
    assert row["generations"] == 3
    assert row["tokens"] == 199
    assert row["mean_green"] == 12
    # sample sd = √((4 + 0 + 4)/2) = 2; s.e. = 2/√3
    assert row["se_green"] == pytest.approx(2 / math.sqrt(3))
    assert row["mean_bound"] == pytest.approx(37 / 3)
    assert row["holds_each"] == 1  # only 12 ≥ 11
    assert row["mean_spike"] == pytest.approx((0.6 + 0.6 + 0.5) / 3)
    assert list(row) == ["generations", "tokens", "mean_green", "se_green", "mean_bound", "holds_each", "mean_spike"]


def test_spike_summary_of_one_generation_has_zero_standard_error():
    row = stats.spike_summary([7], [5.0], [10], [[0.25, 0.75]])
    assert row["se_green"] == 0.0 and row["holds_each"] == 1 and row["mean_spike"] == 0.5


def test_counts_rates_and_medians():
    values = [-4.0, -3.0, -2.9, -3.0000001]
    assert stats.count_at_most(values, -3.0) == 3
    assert stats.rate_at_most(values, -3.0) == 0.75
    assert stats.rate_at_most([0.0, -1.0], -3.0) == 0.0
    assert stats.upper_median([3, 1, 2]) == 2
    assert stats.upper_median([4, 1, 3, 2]) == 3  # the upper of the two middle values
    assert stats.upper_median([5.5]) == 5.5


def test_bonferroni():
    assert stats.bonferroni_log10(0.01, 100) == pytest.approx(-4.0)
    assert stats.bonferroni_log10(0.01, 1) == pytest.approx(-2.0)


def test_perplexity():
    assert stats.perplexity([math.log(0.5)] * 3) == pytest.approx(2.0)
    assert stats.perplexity([math.log(0.5), math.log(0.125)]) == pytest.approx(4.0)  # geometric mean of 1/p


def test_quality_summary_pools_tokens_and_takes_the_median_answer():
    ln2 = math.log(2)
    q = stats.quality_summary([[-ln2], [-2 * ln2, -2 * ln2], [-3 * ln2]])
    assert q["tokens"] == 4
    # per answer 2, 4, 8; pooled exp((1 + 2 + 2 + 3)·ln 2 / 4) = 4
    assert q["ppl_median"] == pytest.approx(4.0)
    assert q["ppl_corpus"] == pytest.approx(4.0)
    assert list(q) == ["tokens", "ppl_corpus", "ppl_median"]


def test_decoding_totals():
    gens = [{"ids": [1, 2, 3, 4], "tokens_per_second": 2.0}, {"ids": [5, 6], "tokens_per_second": 4.0}]
    assert stats.decoding_totals(gens) == (6, 2.5)
    assert stats.decoding_totals(iter(gens)) == (6, 2.5)
    assert stats.decoding_totals([]) == (0, 0.0)


def test_ks_distance_to_uniform():
    assert stats.ks_uniform([math.log10(0.5)]) == pytest.approx(0.5)
    assert stats.ks_uniform([math.log10(0.75), math.log10(0.25)]) == pytest.approx(0.25)
    # p = 0.1, 0.2, 0.3: the largest gap is 1 − 0.3 at the last step.
    assert stats.ks_uniform([math.log10(p) for p in (0.3, 0.1, 0.2)]) == pytest.approx(0.7)
    # p-values far below any float are 0: the distance is 1.
    assert stats.ks_uniform([-600.0]) == 1.0
    assert stats.ks_critical_5(4) == pytest.approx(0.68)


def test_evidence():
    assert stats.evidence(-3.0) == 3.0
    assert stats.evidence(0.5) == 0.01
    assert stats.evidence(-0.001) == 0.01
    assert stats.evidence(-0.5, floor=1.0) == 1.0


def test_fmt_p():
    assert stats.fmt_p(-1.0) == "0.1"
    assert stats.fmt_p(math.log10(0.05)) == "0.05"
    assert stats.fmt_p(-2.5) == "0.0032"
    assert stats.fmt_p(0.0) == "1"
    assert stats.fmt_p(-3.0) == "1.0e-3"
    assert stats.fmt_p(-4.5) == "3.2e-5"
    assert stats.fmt_p(-525.3) == "5.0e-526"  # far below the smallest float


def test_log_perplexity_standard_error_with_answers_as_units():
    ln2 = math.log(2)
    # Equal lengths: the sample sd of the per-answer log-perplexities over √m.
    lps = [[-ln2, -ln2], [-2 * ln2, -2 * ln2], [-3 * ln2, -3 * ln2]]
    nll = [ln2, 2 * ln2, 3 * ln2]
    assert stats.log_perplexity_se(lps) == pytest.approx(statistics.stdev(nll) / math.sqrt(3))
    ppl, se, se_log = stats.perplexity_se(lps)
    assert ppl == pytest.approx(4.0) and se_log == pytest.approx(ln2 / math.sqrt(3)) and se == pytest.approx(4 * se_log)
    # Unequal lengths: the ratio estimator. Sums L = (1, 4)·ln 2, counts (1, 2), μ = 5/3·ln 2.
    got = stats.log_perplexity_se([[-ln2], [-2 * ln2, -2 * ln2]])
    mu = 5 / 3 * ln2
    assert got == pytest.approx(math.sqrt(2 * ((ln2 - mu) ** 2 + (4 * ln2 - 2 * mu) ** 2)) / 3)
    # Every answer the same: no spread; one answer: 0.
    assert stats.log_perplexity_se([[-1.0, -2.0], [-2.0, -1.0]]) == 0.0
    assert stats.log_perplexity_se([[-1.0, -2.0]]) == 0.0


def test_paired_difference():
    mean, se = stats.paired_difference([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])  # differences 2, 3, 4
    assert mean == 3.0 and se == pytest.approx(1 / math.sqrt(3))
    assert stats.paired_difference([1.0], [0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        stats.paired_difference([1.0], [1.0, 2.0])


def test_betainc():
    assert stats.betainc(1, 1, 0.3) == pytest.approx(0.3)  # uniform
    assert stats.betainc(2, 1, 0.5) == pytest.approx(0.25)  # x^2
    assert stats.betainc(1, 3, 0.5) == pytest.approx(1 - 0.5 ** 3)
    # P(Bin(10, 0.3) ≥ 4) = I_0.3(4, 7)
    tail = sum(math.comb(10, j) * 0.3 ** j * 0.7 ** (10 - j) for j in range(4, 11))
    assert stats.betainc(4, 7, 0.3) == pytest.approx(tail, rel=1e-12)
    assert stats.betainc(3, 4, 0.0) == 0.0 and stats.betainc(3, 4, 1.0) == 1.0


def test_clopper_pearson():
    # The Rust harness's known values (exact pmf sums, Python math.comb).
    lo, hi = stats.clopper_pearson(5, 100, 0.99)
    assert lo == pytest.approx(0.0109403336, abs=1e-9) and hi == pytest.approx(0.1351446825, abs=1e-9)
    lo, hi = stats.clopper_pearson(0, 1000, 0.99)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.005 ** 1e-3, rel=1e-9)
    lo, hi = stats.clopper_pearson(1000, 1000, 0.99)
    assert hi == 1.0 and lo == pytest.approx(0.005 ** 1e-3, rel=1e-9)
    assert stats.clopper_pearson(0, 0) == (0.0, 1.0)


def test_clopper_pearson_agrees_with_the_rust_harness_on_its_saved_intervals():
    saved = json.loads((ROOT / "data" / "eval" / "null.json").read_text())
    for row in saved["rows"]:
        for lv in row["levels"]:
            got = stats.clopper_pearson(lv["false_positives"], row["detections"], 0.99)
            assert got == pytest.approx(tuple(lv["ci99"]), rel=1e-8)


def test_vs_nominal_and_null_levels():
    assert stats.vs_nominal(0.01, (0.02, 0.03)) == "above"
    assert stats.vs_nominal(0.01, (0.001, 0.005)) == "below"
    assert stats.vs_nominal(0.01, (0.005, 0.02)) == "consistent"
    ps = [-0.1, -1.5, -2.0, -2.5, -3.2]
    rows = stats.null_levels(ps, [-2.0, -3.0])
    assert [r["false_positives"] for r in rows] == [3, 1]
    assert rows[0]["fpr"] == 0.6 and rows[1]["alpha"] == pytest.approx(1e-3)
    assert rows[0]["ci"] == list(stats.clopper_pearson(3, 5, 0.99)) and rows[0]["vs_nominal"] == "above"
    assert list(rows[0]) == ["log10_alpha", "alpha", "false_positives", "fpr", "ci", "vs_nominal"]


def test_pooled_mean_and_entropy_gap():
    ln2 = math.log(2)
    lps = [[-ln2, -3 * ln2], [-2 * ln2, -2 * ln2], [-ln2, -ln2]]
    mean, se = stats.pooled_mean_se([[-x for x in lp] for lp in lps])
    assert mean == pytest.approx(10 * ln2 / 6)
    assert se == pytest.approx(stats.log_perplexity_se(lps))
    assert stats.pooled_mean_se([[1.0, 3.0]]) == (2.0, 0.0)
    # −log p minus the entropy, per token: (1 − 1, 3 − 1), (2 − 2, 2 − 2), (1 − 0.5, 1 − 0.5) in units of ln 2.
    hs = [[ln2, ln2], [2 * ln2, 2 * ln2], [0.5 * ln2, 0.5 * ln2]]
    gap, gap_se = stats.entropy_gap(lps, hs)
    assert gap == pytest.approx(3 * ln2 / 6)
    per_answer = [ln2, 0.0, 0.5 * ln2]
    assert gap_se == pytest.approx(statistics.stdev(per_answer) / math.sqrt(3))
