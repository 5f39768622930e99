import math

import pytest

np = pytest.importorskip("numpy")
from wmarkexp.neural import NeuralStudent  # noqa: E402

CYCLE = [[5, 6, 7] * 20]  # two previous tokens always decide the next one


def test_vocabulary_and_first_loss_at_initialisation():
    m = NeuralStudent(CYCLE, dim=8, hidden=16, epochs=1, seed=0)
    assert m.ids.tolist() == [5, 6, 7]
    assert m.index == {5: 1, 6: 2, 7: 3}  # 0 is "no token"
    assert m.E.shape == (4, 8) and m.W1.shape == (16, 16) and m.W2.shape == (16, 3)
    # 60 examples, one minibatch: the first epoch's loss is that of the initial weights, whose
    # logits are small, so close to the uniform cross-entropy ln 3.
    assert len(m.loss) == 1
    assert m.loss[0] == pytest.approx(math.log(3), abs=0.05)


def test_training_learns_a_deterministic_cycle():
    m = NeuralStudent(CYCLE, dim=8, hidden=16, epochs=300, lr=1e-2, seed=1)
    assert len(m.loss) == 300
    assert m.loss[-1] < 0.1 < m.loss[0]
    again = NeuralStudent(CYCLE, dim=8, hidden=16, epochs=300, lr=1e-2, seed=1)
    assert again.loss == m.loss  # same seed, same run


def test_answers():
    m = NeuralStudent(CYCLE, dim=8, hidden=16, epochs=300, lr=1e-2, seed=1)
    out = m.answers([[5, 6], [6, 7], [99]], 9, seed=2)
    assert [len(a) for a in out] == [9, 9, 9]
    assert all(t in (5, 6, 7) for a in out for t in a)
    assert out == m.answers([[5, 6], [6, 7], [99]], 9, seed=2)
    # A model this sure of the cycle continues it (each step has p > 0.9).
    assert out[0] == [7, 5, 6] * 3 and out[1] == [5, 6, 7] * 3
