import pytest

from wmarkexp import diversity as div


def test_ngrams():
    assert div.ngrams([1, 2, 3], 2) == [(1, 2), (2, 3)]
    assert div.ngrams([1, 2, 3], 3) == [(1, 2, 3)]
    assert div.ngrams([1, 2], 3) == []


def test_distinct_n_pools_the_answers_without_crossing_them():
    assert div.distinct_n([[1, 2, 3, 4]], 1) == 1.0
    # Five identical answers: each n-gram five times.
    assert div.distinct_n([[1, 2, 3, 4]] * 5, 2) == pytest.approx(1 / 5)
    # [1, 2, 1, 2]: bigrams (1,2), (2,1), (1,2); with [2, 1]: (2,1) again; 2 distinct of 4.
    assert div.distinct_n([[1, 2, 1, 2], [2, 1]], 2) == 0.5
    # No bigram spans the two answers: (2, 3) would be new if they were joined.
    assert div.distinct_n([[1, 2], [3, 4]], 2) == 1.0
    assert div.distinct_n([[1], [2]], 2) == 0.0  # no bigram at all


def test_jaccard_and_common_prefix():
    assert div.jaccard({1, 2}, {2, 3}) == pytest.approx(1 / 3)
    assert div.jaccard(set(), set()) == 1.0
    assert div.ngram_jaccard([1, 2, 3, 4], [1, 2, 3, 5], 3) == pytest.approx(1 / 3)  # {123} of {123, 234, 235}
    assert div.ngram_jaccard([1, 2, 3], [1, 2, 3], 3) == 1.0
    assert div.common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert div.common_prefix([1, 2], [1, 2, 3]) == 2
    assert div.common_prefix([5], [1]) == 0


def test_pairwise_mean():
    # Pairs of (a, b, c): (a, b), (a, c), (b, c).
    assert div.pairwise_mean([[1], [2], [4]], lambda x, y: abs(x[0] - y[0])) == pytest.approx((1 + 3 + 2) / 3)
    with pytest.raises(ValueError):
        div.pairwise_mean([[1]], div.common_prefix)


def test_summary_of_identical_and_of_distinct_answers():
    same = div.summary([[1, 2, 3, 4]] * 5)
    assert same["answers"] == 5 and same["tokens"] == 20
    assert (same["distinct_1"], same["distinct_2"], same["distinct_3"]) == (0.2, 0.2, 0.2)
    assert same["distinct_answers"] == 1 and same["identical_pairs"] == 10 and same["pairs"] == 10
    assert same["mean_common_prefix"] == 4 and same["mean_jaccard"] == 1.0
    apart = div.summary([[1, 2, 3], [4, 5, 6], [1, 2, 7]])
    assert apart["distinct_1"] == pytest.approx(7 / 9)
    assert apart["distinct_answers"] == 3 and apart["identical_pairs"] == 0 and apart["pairs"] == 3
    assert apart["mean_common_prefix"] == pytest.approx(2 / 3)
    assert apart["mean_jaccard"] == 0.0  # the single 3-grams all differ
    assert apart["diverge_after_repeat"] == 0 and same["diverge_after_repeat"] == 0
    assert list(apart) == ["answers", "tokens", "distinct_1", "distinct_2", "distinct_3", "distinct_answers", "pairs",
                           "identical_pairs", "mean_common_prefix", "mean_jaccard", "diverge_after_repeat"]


def test_by_prompt_groups_answers_in_order_of_r():
    gens = [{"id": "t001#1", "ids": [2]}, {"id": "t000#0", "ids": [0]}, {"id": "t001#0", "ids": [1]}, {"id": "a#b#0", "ids": [9]}]
    assert div.by_prompt(gens) == {"t001": [[1], [2]], "t000": [[0]], "a#b": [[9]]}
    with pytest.raises(ValueError):
        div.by_prompt([{"id": "t000", "ids": []}])


def test_diverges_after_repeat():
    # h = 2: x's context (1, 2) at position 5 was already the context of position 2.
    x = [1, 2, 3, 9, 1, 2, 5]
    y = [1, 2, 3, 9, 1, 2, 6]
    assert div.diverges_after_repeat(x, y, 2)
    # The same difference after a context seen for the first time.
    assert not div.diverges_after_repeat([1, 2, 3, 9, 4, 2, 5], [1, 2, 3, 9, 4, 2, 6], 2)
    # Identical answers, or a difference before h tokens, do not count.
    assert not div.diverges_after_repeat(x, list(x), 2)
    assert not div.diverges_after_repeat([1, 2], [5, 2], 2)
    # One answer a proper prefix of the other: they differ where the shorter one stops.
    assert div.diverges_after_repeat([1, 2, 3, 1, 2], [1, 2, 3, 1, 2, 7], 2)
    assert div.summary([x, y, x], h=2)["diverge_after_repeat"] == 2
