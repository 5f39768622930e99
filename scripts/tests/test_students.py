import random

import pytest

from wmarkexp.students import Trigram, chunks, mix


class Draws:
    """A stand-in for random.Random that returns the given numbers in order."""

    def __init__(self, *values):
        self.values = list(values)

    def random(self):
        return self.values.pop(0)


def test_chunks():
    assert chunks(list(range(10)), 3) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert chunks(list(range(6)), 3) == [[0, 1, 2], [3, 4, 5]]
    assert chunks([1, 2], 3) == []


def model():
    return Trigram([[1, 2, 3], [1, 2, 4]])


def test_trigram_counts():
    m = model()
    assert dict(m.tables[0][()]) == {1: 2, 2: 2, 3: 1, 4: 1}
    assert dict(m.tables[1][(1,)]) == {2: 2}
    assert dict(m.tables[1][(2,)]) == {3: 1, 4: 1}
    assert dict(m.tables[2][(1, 2)]) == {3: 1, 4: 1}
    # followers in first-seen order, cumulative counts, total, distinct
    assert m.dist(0, ()) == ([1, 2, 3, 4], [2, 4, 5, 6], 6, 4)
    assert m.dist(2, (1, 2)) == ([3, 4], [1, 2], 2, 2)
    assert m.dist(2, (9, 9)) is None


def test_trigram_sampling_backs_off_with_witten_bell_weights():
    # At (1, 2): seen twice with 2 distinct followers, so it is used with probability 2/4.
    assert model().sample([1, 2], Draws(0.3, 0.6)) == 4  # kept; 0.6·2 = 1.2 falls on token 4
    assert model().sample([1, 2], Draws(0.3, 0.2)) == 3  # kept; 0.4 falls on token 3
    # Backed off to (2,) (same weights), then kept.
    assert model().sample([1, 2], Draws(0.7, 0.2, 0.1)) == 3
    # Backed off twice: the unigram counts [2, 2, 1, 1]; 0.5·6 = 3 falls on token 2.
    assert model().sample([1, 2], Draws(0.9, 0.9, 0.5)) == 2
    # Unseen contexts are skipped without a draw.
    assert model().sample([9, 9], Draws(0.99)) == 4
    assert model().sample([], Draws(0.0)) == 1


def test_trigram_answer():
    m = model()
    a = m.answer([7, 1, 2], 20, random.Random(5))
    assert len(a) == 20 and set(a) <= {1, 2, 3, 4}
    assert a == model().answer([7, 1, 2], 20, random.Random(5))
    # From the prompt's last token only: (1,) kept (0.1 < 1/2) gives 2; (1, 2) and (2,) are
    # unseen, so the unigram draw 0.4·2 = 0.8 gives 1.
    assert Trigram([[1, 2]]).answer([5, 1], 2, Draws(0.1, 0.0, 0.4)) == [2, 1]


def test_trigram_of_nothing():
    with pytest.raises(ValueError):
        Trigram([]).sample([], random.Random(0))


def test_mix_fills_the_budget_with_whole_documents_and_cuts_the_last():
    wm = [[1] * 4, [1] * 4]
    human = [[2] * 3] * 5
    docs, got_wm, total = mix(0.5, 10, wm, human, random.Random(0))
    assert (got_wm, total) == (5, 10)
    assert [len(d) for d in docs] == [4, 1, 3, 2]
    assert docs[:2] == [[1] * 4, [1]] and docs[2:] == [[2] * 3, [2] * 2]


def test_mix_extremes():
    wm = [[1] * 4, [1] * 4]
    human = [[2] * 3] * 5
    docs, got_wm, total = mix(1.0, 8, wm, human, random.Random(0))
    assert (got_wm, total) == (8, 8) and docs == wm
    docs, got_wm, total = mix(0.0, 6, wm, human, random.Random(0))
    assert (got_wm, total) == (0, 6) and docs == [[2] * 3, [2] * 3]
    docs, _, total = mix(0.0, 2, wm, human, random.Random(0), other_docs=[[3] * 5])
    assert docs == [[3, 3]] and total == 2


def test_mix_is_reproducible_and_uses_a_random_order():
    wm = [[i] * 2 for i in range(10)]
    human = [[100 + i] * 2 for i in range(10)]
    a = mix(0.5, 8, wm, human, random.Random(3))
    assert a == mix(0.5, 8, wm, human, random.Random(3))
    rng = random.Random(3)  # the same draws: a shuffle of each pool, the first documents taken
    assert a == (rng.sample(wm, 10)[:2] + rng.sample(human, 10)[:2], 4, 8)
    assert mix(0.5, 8, wm, human, random.Random(4)) != a
