"""The logits processor: the Hugging Face and vLLM call shapes, in place and zero-copy for
numpy, equal to the command line's green lists on random inputs."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import wmark
from conftest import Cli, fixed_key

SCHEMES = ["unigram", "lefthash", "window:3", "minhash:4", "selfhash:4"]


def cli_green(cli: Cli, config: wmark.Config, key: wmark.Key, context: list) -> set:
    k = cli.key_file(key)
    out = cli.run(["inspect", "--key", str(k), *cli.scheme_args(config), "--context", ",".join(map(str, context))])
    return {int(line) for line in out.split()}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_processor_equals_the_cli_on_random_inputs(cli: Cli, scheme: str) -> None:
    rng = np.random.default_rng(zlib.crc32(scheme.encode()))
    vocab = 5003
    config = wmark.Config(scheme, gamma=0.3, delta=1.5, vocab_size=vocab)
    key = fixed_key(1)
    proc = wmark.WatermarkLogitsProcessor(config, key)
    batch, seq = 3, 7
    input_ids = rng.integers(0, vocab, size=(batch, seq), dtype=np.int64)
    scores = rng.normal(size=(batch, vocab)).astype(np.float32)
    before = scores.copy()
    out = proc(input_ids, scores)
    assert out is scores  # in place
    for r in range(batch):
        greens = cli_green(cli, config, key, list(input_ids[r]))
        biased = set(np.flatnonzero(scores[r] != before[r]).tolist())
        if scheme.startswith("selfhash"):
            top = set(np.argsort(-before[r], kind="stable")[:wmark.DEFAULT_TOP_K].tolist())
            assert biased == top & greens
        else:
            assert biased == greens
        # exactly +delta, as float32 arithmetic gives it
        idx = sorted(biased)
        np.testing.assert_array_equal(scores[r, idx], before[r, idx] + np.float32(1.5))


def test_green_list_and_inspect_equal_the_cli(cli: Cli) -> None:
    rng = np.random.default_rng(7)
    config = wmark.Config("minhash:2", gamma=0.25, vocab_size=20_000)
    key = fixed_key(2)
    wm = wmark.Watermark(config, key)
    k = cli.key_file(key)
    for _ in range(3):
        ctx = rng.integers(0, 20_000, size=5).tolist()
        from_cli = cli_green(cli, config, key, ctx)
        assert set(wm.green_list(ctx).tolist()) == from_cli
        assert set(wmark.inspect(config, key, ctx).tolist()) == from_cli
        t = int(rng.integers(0, 20_000))
        m = wmark.inspect(config, key, ctx, token=t)
        out = cli.run(["inspect", "--key", str(k), *cli.scheme_args(config), "--context", ",".join(map(str, ctx)), "--token", str(t)])
        colour = "green" if m["green"] else "red"
        assert out.splitlines()[0].startswith(f"token {t}: {colour} (stream byte {m['stream_byte']}, green below {m['threshold']}")
        assert out.splitlines()[1] == f"seed {m['seed']}"


def test_zero_copy_on_strided_views() -> None:
    config = wmark.Config("lefthash", vocab_size=1000)
    proc = wmark.WatermarkLogitsProcessor(config, fixed_key(3))
    big = np.zeros((4, 3, 1000), dtype=np.float32)
    view = big[:, -1, :]  # like outputs.logits[:, -1, :]: rows contiguous, batch strided
    assert not view.flags.c_contiguous
    ids = np.array([[1, 2], [3, 4], [5, 6], [7, 8]])
    out = proc(ids, view)
    assert out is view
    assert (big[:, -1, :] == 2.0).sum() > 0 and (big[:, :-1, :] == 0).all()
    # a transposed (column-strided) array gives the same result as a contiguous one
    t = np.zeros((1000, 4), dtype=np.float32).T
    proc(ids, t)
    np.testing.assert_array_equal(t, big[:, -1, :])


def test_other_dtypes_and_read_only_arrays() -> None:
    config = wmark.Config("lefthash", delta=2.0, vocab_size=1000)
    proc = wmark.WatermarkLogitsProcessor(config, fixed_key(4))
    ids = np.array([[10, 11], [12, 13]], dtype=np.int32)
    reference = proc(ids, np.zeros((2, 1000), dtype=np.float32)).copy()
    for dtype in (np.float64, np.float16):
        s = np.zeros((2, 1000), dtype=dtype)
        out = proc(ids, s)
        assert out is s and out.dtype == dtype
        np.testing.assert_array_equal(out.astype(np.float32), reference)
    ro = np.zeros((2, 1000), dtype=np.float32)
    ro.flags.writeable = False
    out = proc(ids, ro)
    assert out is not ro and (ro == 0).all()
    np.testing.assert_array_equal(out, reference)
    # ids of other integer types and plain lists
    for ids2 in (ids.astype(np.uint32), ids.astype(np.int64), ids.astype(np.uint64), [[10, 11], [12, 13]]):
        np.testing.assert_array_equal(proc(ids2, np.zeros((2, 1000), dtype=np.float32)), reference)


def test_finite_mode_equals_exact_mode_after_a_warper() -> None:
    rng = np.random.default_rng(11)
    config = wmark.Config("lefthash", vocab_size=50_000)
    key = fixed_key(5)
    exact = wmark.WatermarkLogitsProcessor(config, key)
    finite = wmark.WatermarkLogitsProcessor(config, key, finite=True)
    scores = np.full((2, 50_000), -np.inf, dtype=np.float32)
    for r in range(2):
        scores[r, rng.choice(50_000, size=50, replace=False)] = rng.normal(size=50)
    ids = rng.integers(0, 50_000, size=(2, 4))
    np.testing.assert_array_equal(exact(ids, scores.copy()), finite(ids, scores.copy()))


def test_short_contexts_leave_rows_unchanged() -> None:
    config = wmark.Config("window:4", vocab_size=100)
    proc = wmark.WatermarkLogitsProcessor(config, fixed_key(6))
    s = np.zeros((2, 100), dtype=np.float32)
    proc(np.array([[1, 2, 3], [4, 5, 6]]), s)
    assert (s == 0).all()
    assert not proc._native.apply_row([1, 2], np.zeros(100, dtype=np.float32))


def test_vllm_request_shape() -> None:
    config = wmark.Config("lefthash", vocab_size=1000)
    proc = wmark.WatermarkLogitsProcessor(config, fixed_key(7))
    request = proc.for_request()
    batch_out = proc(np.array([[3, 4, 9]]), np.zeros((1, 1000), dtype=np.float32))[0]
    logits = np.zeros(1000, dtype=np.float32)
    assert request([3, 4, 9], logits) is logits
    np.testing.assert_array_equal(logits, batch_out)
    # (prompt_ids, output_ids, logits): the prompt gives context to the first token
    logits2 = np.zeros(1000, dtype=np.float32)
    request((3, 4, 9), [], logits2)
    np.testing.assert_array_equal(logits2, batch_out)
    # no context at all: unchanged
    logits3 = np.zeros(1000, dtype=np.float32)
    request([], logits3)
    assert (logits3 == 0).all()
    with pytest.raises(TypeError):
        request(logits3)


def test_shape_errors() -> None:
    config = wmark.Config("lefthash", vocab_size=100)
    proc = wmark.WatermarkLogitsProcessor(config, fixed_key(8))
    with pytest.raises(wmark.LogitsLengthError):
        proc(np.zeros((1, 2), dtype=np.int64), np.zeros((1, 99), dtype=np.float32))
    with pytest.raises(wmark.BatchShapeError):
        proc(np.zeros((2, 2), dtype=np.int64), np.zeros((1, 100), dtype=np.float32))
    with pytest.raises(wmark.InputError):
        proc(np.zeros(2, dtype=np.int64), np.zeros((1, 100), dtype=np.float32))
    with pytest.raises(wmark.InputError):
        proc(np.array([[1, -1]]), np.zeros((1, 100), dtype=np.float32))
    with pytest.raises(wmark.InputError):
        proc(np.zeros((1, 2), dtype=np.float64), np.zeros((1, 100), dtype=np.float32))
    with pytest.raises(wmark.CandidateOutOfRangeError):
        proc._native.apply_row([1], np.zeros(100, dtype=np.float32), candidates=[100])
