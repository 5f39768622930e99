"""Property-based tests (hypothesis): hostile inputs thrown at the bindings. Every bad input
must give a clear Python exception (a wmark.WmarkError, or TypeError/ValueError/OverflowError
from the argument conversion), never a crash of the interpreter; valid inputs in unusual
layouts (other integer dtypes, strided, reversed, Fortran-order, read-only, unaligned) give
the same result as the contiguous canonical array. The crashes these tests found are kept
as regression tests with their minimal reproducers (in a subprocess where they killed the
interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any, Callable, List, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import wmark
from conftest import fixed_key

# Deterministic and quick: the whole file runs in seconds.
FAST = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(FAST, max_examples=10)

V = 1000
KEY = fixed_key(70)
CONFIG = wmark.Config("lefthash", gamma=0.25, delta=2.0, vocab_size=V)
DETECTOR = wmark.Detector(CONFIG, KEY)
GREEN_SCHEMES = ["unigram", "lefthash", "window:3", "minhash:2", "selfhash:2"]
WATERMARKS = {s: wmark.Watermark(wmark.Config(s, vocab_size=V), KEY) for s in GREEN_SCHEMES}
PROCESSORS = {s: wmark.Processor(wmark.Config(s, vocab_size=V, delta=2.0), KEY) for s in GREEN_SCHEMES}
SAMPLER = wmark.GumbelSampler(wmark.Config("gumbel:2", vocab_size=V), KEY)
VLLM_SAMPLER = wmark.GumbelSampler(wmark.Config("vllm-gumbel:2", vocab_size=V), wmark.Key.from_vllm(12345))

# What ids.rs reads in place: 1-D arrays of these (native byte order); 2-D input_ids of
# Processor.apply take only the first four (ids.rs row_tails).
ID_DTYPES = [np.int64, np.int32, np.uint32, np.uint64, np.uint16, np.int16, np.uint8, np.int8]
ROW_DTYPES = [np.int64, np.int32, np.uint32, np.uint64]
OTHER_DTYPES = [np.float16, np.float32, np.float64, np.bool_, np.complex64, np.complex128, object]
LAYOUTS = ["contiguous", "strided", "reversed", "readonly", "fortran_row", "transposed", "unaligned"]
# Exceptions a bad argument may raise: the wmark hierarchy, or the argument conversion's.
CLEAN = (wmark.WmarkError, TypeError, ValueError, OverflowError)


def outcome(fn: Callable[[], Any]) -> Tuple[str, Any]:
    """("ok", result) or ("error", exception class); anything not an Exception (a pyo3
    PanicException is a BaseException) propagates and fails the test."""
    try:
        return "ok", fn()
    except Exception as e:
        assert isinstance(e, CLEAN), f"unclear exception {type(e).__name__}: {e}"
        assert str(e), "an exception without a message"
        return "error", type(e)


def relayout(values: np.ndarray, layout: str) -> np.ndarray:
    """The same 1-D values in another memory layout (a view where the layout needs one)."""
    n, dt = len(values), values.dtype
    if layout == "contiguous":
        out = values.copy()
    elif layout == "strided":
        big = np.zeros(max(3 * n, 1), dtype=dt)
        big[::3][:n] = values
        out = big[::3][:n]
    elif layout == "reversed":
        out = values[::-1].copy()[::-1]
    elif layout == "readonly":
        out = values.copy()
        out.flags.writeable = False
    elif layout == "fortran_row":
        out = np.asfortranarray(np.stack([values, values]))[0]
    elif layout == "transposed":
        out = np.ascontiguousarray(np.stack([values, values], axis=1)).T[1]
    elif layout == "unaligned":
        buf = bytearray(n * dt.itemsize + 1)
        out = np.frombuffer(buf, dtype=dt, count=n, offset=1)
        out[...] = values
    else:  # pragma: no cover
        raise AssertionError(layout)
    np.testing.assert_array_equal(out, values)
    return out


def fitting(dtypes: List[Any], ids: List[int]) -> List[Any]:
    hi = max(ids, default=0)
    return [d for d in dtypes if np.iinfo(d).max >= hi]


@st.composite
def ids_in_layout(draw: st.DrawFn, dtypes: List[Any] = ID_DTYPES, max_size: int = 30) -> Tuple[List[int], np.ndarray]:
    ids = draw(st.lists(st.integers(0, V - 1), max_size=max_size))
    dt = draw(st.sampled_from(fitting(dtypes, ids)))
    layout = draw(st.sampled_from(LAYOUTS))
    return ids, relayout(np.array(ids, dtype=dt), layout)


@st.composite
def hostile_arrays(draw: st.DrawFn, max_dims: int = 3) -> np.ndarray:
    """Any dtype, any shape (0-d to 3-d, empty sides), values including NaN, inf and the
    extremes of the type; sometimes made non-contiguous, reversed or read-only."""
    dt = draw(st.sampled_from(ID_DTYPES + OTHER_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=6))
    if dt is object:
        elements = st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.none(), st.text(max_size=3))
        arr = draw(hnp.arrays(object, shape, elements=elements))
    else:
        arr = draw(hnp.arrays(dt, shape))
    how = draw(st.sampled_from(["as_is", "transposed", "reversed", "readonly", "fortran"]))
    if how == "transposed":
        arr = arr.T
    elif how == "reversed" and arr.ndim:
        arr = arr[::-1]
    elif how == "readonly":
        arr.flags.writeable = False
    elif how == "fortran":
        arr = np.asfortranarray(arr)
    return arr


def is_id_array(arr: np.ndarray) -> bool:
    """What ids.rs reads: a 1-D array of one of its integer dtypes, native byte order."""
    return arr.ndim == 1 and any(arr.dtype == np.dtype(d) for d in ID_DTYPES) and arr.dtype.isnative


# ---------------------------------------------------------------------------------------
# Token ids as numpy arrays: the detector, the green-list queries, the processors, sampler.


@FAST
@given(ids_in_layout())
def test_detect_ids_in_any_layout_equals_the_list(case: Tuple[List[int], np.ndarray]) -> None:
    ids, arr = case
    assert DETECTOR.detect(ids=arr).to_dict() == DETECTOR.detect(ids=ids).to_dict()
    assert [r.to_dict() for r in DETECTOR.detect_batch(ids=[arr, ids])] == [DETECTOR.detect(ids=ids).to_dict()] * 2


@FAST
@given(ids_in_layout(max_size=6), st.sampled_from(GREEN_SCHEMES), st.integers(0, 2**32 - 1))
def test_green_list_queries_in_any_layout_equal_the_list(
    case: Tuple[List[int], np.ndarray], scheme: str, token: int
) -> None:
    ids, arr = case
    wm = WATERMARKS[scheme]
    assert outcome(lambda: wm.is_green(arr, token)) == outcome(lambda: wm.is_green(ids, token))
    assert outcome(lambda: wm.seed(arr, token)) == outcome(lambda: wm.seed(ids, token))
    got, want = outcome(lambda: wm.green_list(arr)), outcome(lambda: wm.green_list(ids))
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1].dtype == np.uint32 and np.array_equal(got[1], want[1])
        assert np.all(np.diff(got[1].astype(np.int64)) > 0) and (len(got[1]) == 0 or got[1][-1] < V)
    if token >= V:  # ids outside the vocabulary are never green
        assert outcome(lambda: wm.is_green(ids, token)) in (("ok", False), ("error", wmark.ContextTooShortError))


@FAST
@given(hostile_arrays())
def test_hostile_arrays_as_ids(arr: np.ndarray) -> None:
    """Anything but a 1-D integer array is an InputError; a 1-D integer array is the list of
    its values (ids past u32 or negative: InputError; past the vocabulary: VocabMismatchError)."""
    got = outcome(lambda: DETECTOR.detect(ids=arr))
    if not is_id_array(arr):
        assert got == ("error", wmark.InputError)
        assert outcome(lambda: WATERMARKS["lefthash"].green_list(arr)) == ("error", wmark.InputError)
        assert outcome(lambda: SAMPLER.choose(SAMPLER.create_state(), arr, np.zeros(V, np.float32))) == (
            "error",
            wmark.InputError,
        )
        return
    values = [int(v) for v in arr]
    if any(v < 0 or v >= 2**32 for v in values):
        assert got == ("error", wmark.InputError)
    elif any(v >= V for v in values):
        assert got == ("error", wmark.VocabMismatchError)
    else:
        assert got[0] == "ok" and got[1].to_dict() == DETECTOR.detect(ids=values).to_dict()
    # The green-list queries convert only the last context_len ids (ids.rs ids_tail).
    wm = WATERMARKS["lefthash"]
    assert outcome(lambda: wm.is_green(arr, 5)) == outcome(lambda: wm.is_green(values, 5))


@FAST
@given(st.lists(st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.booleans(), st.none()), max_size=8))
def test_hostile_id_lists(items: List[Any]) -> None:
    got = outcome(lambda: DETECTOR.detect(ids=items))
    ints = [int(x) for x in items if isinstance(x, int)]
    if len(ints) < len(items) or any(v < -(2**63) or v >= 2**63 for v in ints):
        assert got == ("error", wmark.InputError)  # not an int, or past i64
    elif any(v < 0 or v >= 2**32 for v in ints):
        assert got == ("error", wmark.InputError)
    elif any(v >= V for v in ints):
        assert got == ("error", wmark.VocabMismatchError)
    else:  # bools are ints here (True is id 1), unlike a numpy bool array
        assert got[0] == "ok" and got[1].tokens == len(items)


@FAST
@given(st.integers(-(2**70), 2**70), st.sampled_from(GREEN_SCHEMES))
def test_huge_token_arguments(token: int, scheme: str) -> None:
    wm = WATERMARKS[scheme]
    ctx = [1, 2, 3]
    for call in (lambda: wm.is_green(ctx, token), lambda: wm.seed(ctx, token), lambda: wm.token_hash(token)):
        kind, value = outcome(call)
        assert (kind == "ok") == (0 <= token < 2**32), (kind, value)
        if kind == "error":
            assert value is OverflowError
    if 0 <= token < 2**32:
        assert wm.is_green(ctx, token) is (token < V and bool(np.isin(token, wm.green_list(ctx))))
        if scheme != "selfhash:2":
            membership = wmark.inspect(wm.config, KEY, ctx, token)
            assert membership["in_vocab"] is (token < V) and membership["token"] == token
            if token < V:
                assert membership["green"] is wm.is_green(ctx, token)


def test_context_ids_are_checked_only_in_the_tail() -> None:
    """Documented in ids.rs (ids_tail): the green-list queries and Processor.apply convert
    only the last context_len ids, so a bad id further back is not looked at; inspect and
    the detector check every id."""
    wm = WATERMARKS["lefthash"]
    assert np.array_equal(wm.green_list([-1, 2**40, 7]), wm.green_list([7]))
    with pytest.raises(wmark.InputError):
        wm.green_list([7, -1])
    with pytest.raises(wmark.InputError):
        wmark.inspect(CONFIG, KEY, [-1, 7])
    scores = np.zeros((1, V), np.float32)
    PROCESSORS["lefthash"].apply(np.array([[-1, 7]]), scores)
    expected = np.zeros((1, V), np.float32)
    PROCESSORS["lefthash"].apply(np.array([[7]]), expected)
    assert np.array_equal(scores, expected)


# ---------------------------------------------------------------------------------------
# Logits: Processor.apply / apply_row, GumbelSampler.choose / apply.

LOGIT = st.floats(width=32, allow_nan=True, allow_infinity=True)


def f32_row(draw: st.DrawFn, n: int = V) -> np.ndarray:
    base = draw(st.sampled_from(["normal", "hostile"]))
    if base == "normal":
        return np.random.default_rng(draw(st.integers(0, 2**32 - 1))).normal(size=n).astype(np.float32)
    fill = draw(st.sampled_from([0.0, np.nan, np.inf, -np.inf, 3.4e38, -3.4e38, 1e-45]))
    row = np.full(n, fill, dtype=np.float32)
    for i, v in draw(st.lists(st.tuples(st.integers(0, n - 1), LOGIT), max_size=20)):
        row[i] = v
    return row


@st.composite
def logits_rows(draw: st.DrawFn) -> np.ndarray:
    return f32_row(draw)


@FAST
@given(logits_rows(), ids_in_layout(max_size=5), st.sampled_from(["unigram", "lefthash", "window:3", "minhash:2"]))
def test_apply_row_adds_delta_to_the_green_list_in_any_layout(
    row: np.ndarray, case: Tuple[List[int], np.ndarray], scheme: str
) -> None:
    ids, ctx = case
    proc = PROCESSORS[scheme]
    expected = row.copy()
    applied = len(ids) >= WATERMARKS[scheme].config.context_len
    if applied:
        with np.errstate(over="ignore", invalid="ignore"):
            green = WATERMARKS[scheme].green_list(ids)
            expected[green] += np.float32(2.0)
    for layout in ("contiguous", "strided", "reversed", "unaligned"):
        logits = relayout(row, layout)
        assert proc.apply_row(ctx, logits) is applied
        np.testing.assert_array_equal(logits, expected)
    readonly = relayout(row, "readonly")
    assert outcome(lambda: proc.apply_row(ctx, readonly)) == ("error", wmark.InputError)
    assert np.array_equal(readonly, row, equal_nan=True)


@FAST
@given(
    st.integers(0, 3),
    st.integers(0, 4),
    st.sampled_from(ROW_DTYPES),
    st.sampled_from(["C", "F", "strided", "reversed"]),
    st.sampled_from(["C", "F", "strided", "reversed"]),
    st.integers(0, 2**32 - 1),
)
def test_apply_batch_in_any_layout_equals_the_rows(
    rows: int, cols: int, dt: Any, ids_layout: str, scores_layout: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, min(V, np.iinfo(dt).max), size=(rows, cols)).astype(dt)
    scores = rng.normal(size=(rows, V)).astype(np.float32)
    scores[:, rng.integers(0, V, size=5)] = np.nan
    proc = PROCESSORS["window:3"]
    expected = scores.copy()
    for r in range(rows):
        proc.apply_row(ids[r].tolist(), expected[r])

    def lay(a: np.ndarray, how: str) -> np.ndarray:
        if how == "F":
            return np.asfortranarray(a)
        if how == "strided":
            big = np.zeros((a.shape[0] * 2, a.shape[1] * 2), dtype=a.dtype)
            big[::2, ::2] = a
            return big[::2, ::2]
        if how == "reversed":
            return a[::-1, ::-1].copy()[::-1, ::-1]
        return a.copy()

    out = lay(scores, scores_layout)
    proc.apply(lay(ids, ids_layout), out)
    np.testing.assert_array_equal(out, expected)


@FAST
@given(hostile_arrays())
def test_hostile_arrays_as_logits_and_input_ids(arr: np.ndarray) -> None:
    proc = PROCESSORS["lefthash"]
    takes_row = arr.ndim == 1 and arr.dtype == np.float32 and arr.flags.writeable
    got = outcome(lambda: proc.apply_row([1, 2], arr))
    if not takes_row:
        assert got == ("error", wmark.InputError)
    elif arr.shape[0] != V:
        assert got == ("error", wmark.LogitsLengthError)
    takes_scores = arr.ndim == 2 and arr.dtype == np.float32 and arr.flags.writeable
    got = outcome(lambda: proc.apply(np.ones((arr.shape[0] if arr.ndim else 1, 2), np.int64), arr))
    if not takes_scores:
        assert got == ("error", wmark.InputError)
    elif arr.shape[0] and arr.shape[1] != V:
        assert got == ("error", wmark.LogitsLengthError)
    # As input_ids: a 2-D array of int64, int32, uint32 or uint64, else an InputError.
    rows = arr.shape[0] if arr.ndim else 0
    got = outcome(lambda: proc.apply(arr, np.zeros((rows, V), np.float32)))
    takes_ids = arr.ndim == 2 and any(arr.dtype == np.dtype(d) for d in ROW_DTYPES) and arr.dtype.isnative
    if not takes_ids:
        assert got == ("error", wmark.InputError)
    else:
        tail = arr[:, -1:].astype(object).ravel() if arr.shape[1] else []
        bad = any(int(v) < 0 or int(v) >= 2**32 for v in tail)
        assert got == (("error", wmark.InputError) if bad else ("ok", None))


def converted(arr: Any) -> Any:
    """numpy.asarray(arr, dtype=float32), as gumbel.rs's readonly_logits converts."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(arr, dtype=np.float32)


@FAST
@given(hostile_arrays(max_dims=2))
def test_hostile_arrays_as_gumbel_logits(arr: np.ndarray) -> None:
    ctx = [3, 4, 5]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = outcome(lambda: SAMPLER.choose(SAMPLER.create_state(), ctx, arr))
    try:
        row = converted(arr)
    except (TypeError, ValueError):
        assert got == ("error", wmark.InputError)
        return
    if row.ndim != 1:
        assert got == ("error", wmark.InputError)
    elif row.shape[0] != V:
        assert got == ("error", wmark.LogitsLengthError)
    else:
        assert got == outcome(lambda: SAMPLER.choose(SAMPLER.create_state(), ctx, row.copy()))
    takes = arr.ndim == 1 and arr.dtype == np.float32 and arr.flags.writeable
    got = outcome(lambda: SAMPLER.apply(SAMPLER.create_state(), ctx, arr))
    if not takes:
        assert got == ("error", wmark.InputError)
    elif arr.shape[0] != V:
        assert got == ("error", wmark.LogitsLengthError)


@FAST
@given(logits_rows(), st.lists(st.integers(0, V - 1), min_size=2, max_size=6), st.sampled_from(["gumbel", "vllm"]))
def test_gumbel_choice_is_a_finite_logit_and_apply_agrees(row: np.ndarray, ctx: List[int], which: str) -> None:
    sampler = SAMPLER if which == "gumbel" else VLLM_SAMPLER
    token = sampler.choose(sampler.create_state(), ctx, row)
    if not np.isfinite(row).any():
        assert token is None  # no finite logit: sampled without the watermark
    if token is not None:
        assert 0 <= token < V and np.isfinite(row[token])
    for layout in ("contiguous", "strided", "reversed", "unaligned"):
        logits = relayout(row, layout)
        assert sampler.choose(sampler.create_state(), relayout(np.array(ctx), layout), logits) == token
        assert sampler.apply(sampler.create_state(), ctx, logits) == token
        if token is None:
            np.testing.assert_array_equal(logits, row)
        else:
            expected = np.full(V, -np.inf, np.float32)
            expected[token] = row[token]
            np.testing.assert_array_equal(logits, expected)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for other in (row.astype(np.float64), row.tolist()):
            assert sampler.choose(sampler.create_state(), ctx, other) == token


@FAST
@given(st.lists(st.integers(0, V - 1), min_size=2, max_size=6), st.floats(-1e6, 1e6, width=32))
def test_gumbel_choice_of_uniform_logits_does_not_depend_on_their_value(ctx: List[int], c: float) -> None:
    zero = SAMPLER.choose(SAMPLER.create_state(), ctx, np.zeros(V, np.float32))
    assert SAMPLER.choose(SAMPLER.create_state(), ctx, np.full(V, c, np.float32)) == zero


@FEW
@given(st.integers(-(2**70), 2**70))
def test_gumbel_state_seed_range(seed: int) -> None:
    kind, value = outcome(lambda: SAMPLER.create_state(seed))
    assert (kind == "ok") == (0 <= seed < 2**64)
    if kind == "error":
        assert value is OverflowError


# ---------------------------------------------------------------------------------------
# Strings: text detection with a tokenizer, scheme names, account ids.

ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None, exclude_categories=())
HOSTILE_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=60),
    st.text(st.sampled_from(["\0", "\ud800", "\udfff", "\ufeff", "\u200b", "\u0301", "a", " ", "\U0001f600"]), max_size=40),
)


def has_surrogate(s: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in s)


def check_report(r: wmark.Report) -> None:
    assert 0 <= r.green <= r.scored <= r.tokens
    assert 0.0 <= r.p_value <= 1.0 and r.log10_p <= 0.0
    assert r.verdict in ("watermarked", "not_watermarked", "insufficient")
    assert json.loads(r.to_json()) == r.to_dict()


@pytest.fixture(scope="module")
def text_detector(llama3_tokenizer: Path) -> wmark.Detector:
    return wmark.Detector(wmark.Config("lefthash", vocab_size=128_256), KEY, tokenizer=llama3_tokenizer)


@FAST
@given(text=HOSTILE_TEXT)
def test_hostile_texts(text_detector: wmark.Detector, text: str) -> None:
    got = outcome(lambda: text_detector.detect(text))
    if has_surrogate(text):
        assert got == ("error", UnicodeEncodeError)  # a ValueError: str cannot go to UTF-8
        assert outcome(lambda: text_detector.detect_batch([text])) == ("error", UnicodeEncodeError)
        assert outcome(lambda: text_detector.detect("ok", prompt=text)) == ("error", UnicodeEncodeError)
        return
    assert got[0] == "ok"
    check_report(got[1])
    assert text_detector.detect_batch([text])[0] == got[1]
    assert text_detector.detect(text, prompt=text).tokens == got[1].tokens


@FEW
@given(st.sampled_from(["the cat sat on the mat. ", "a\0b\0", "\u0430\u200b\U0001f600 ", "x" * 1000 + "\n"]))
def test_huge_texts(text_detector: wmark.Detector, unit: str) -> None:
    text = unit * (900_000 // len(unit.encode()))  # just under 1 MB of UTF-8
    check_report(text_detector.detect(text))
    with pytest.raises(UnicodeEncodeError):
        text_detector.detect(text + "\ud800")


@FAST
@given(
    st.one_of(
        st.text(ANY_CHAR, max_size=20),
        st.builds(
            lambda name, sep, h: name + sep + h,
            st.sampled_from(["unigram", "lefthash", "window", "minhash", "selfhash", "gumbel", "vllm-gumbel",
                             "vllm-dual-key-gumbel", "hf-lefthash", "hf-selfhash", "LEFTHASH", ""]),
            st.sampled_from(["", ":", "::", " :", ":\0"]),
            st.one_of(st.integers(-(2**70), 2**70).map(str), st.sampled_from(["", "00", "03", "+3", " 3", "3 ", "1e3", "\u0663"])),
        ),
    )
)
def test_scheme_names(scheme: str) -> None:
    kind, value = outcome(lambda: wmark.Config(scheme, vocab_size=V))
    if has_surrogate(scheme):
        assert (kind, value) == ("error", UnicodeEncodeError)
    elif kind == "error":
        assert value is wmark.ConfigError
    else:  # a valid name is its canonical spelling
        assert wmark.Config(value.scheme, vocab_size=V) == value and value.vocab_size == V


@FAST
@given(st.text(ANY_CHAR, max_size=40))
def test_derive_account_with_odd_strings(account: str) -> None:
    kind, value = outcome(lambda: KEY.derive_account(account))
    if has_surrogate(account):
        assert (kind, value) == ("error", UnicodeEncodeError)
        return
    assert kind == "ok" and value.kind == "v1" and value != KEY and value == KEY.derive_account(account)
    assert len(value.id) == 16 and int(value.id, 16) >= 0


@FAST
@given(st.binary(max_size=80))
def test_key_from_bytes_lengths(data: bytes) -> None:
    kind, value = outcome(lambda: wmark.Key.from_bytes(data))
    if len(data) != 32:
        assert (kind, value) == ("error", wmark.ConfigError)
        return
    assert kind == "ok" and value == wmark.Key.from_bytes(data) and value.kind == "v1"
    for other in (bytearray(data), memoryview(data), data.hex()):
        assert outcome(lambda o=other: wmark.Key.from_bytes(o)) == ("error", TypeError)  # type: ignore[misc]


# ---------------------------------------------------------------------------------------
# Huge ints and odd floats: keys, vocabulary sizes, gamma, delta.

EDGES = [0, 1, -1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 2**128, 2**200, -(2**200)]
HUGE_INTS = st.one_of(st.sampled_from(EDGES), st.integers(-(2**130), 2**130))


@FAST
@given(HUGE_INTS)
def test_key_from_vllm_range(value: int) -> None:
    kind, key = outcome(lambda: wmark.Key.from_vllm(value))
    if not 0 <= value < 2**64:
        assert (kind, key) == ("error", wmark.ConfigError)
        return
    assert kind == "ok" and key.kind == "vllm" and key == wmark.Key.from_vllm(value)
    assert wmark.Key.from_vllm(np.uint64(value)) == key
    with pytest.raises(TypeError):
        wmark.Key.from_vllm(float(value))  # type: ignore[arg-type]


@FAST
@given(HUGE_INTS)
def test_key_from_hf_range(value: int) -> None:
    kind, key = outcome(lambda: wmark.Key.from_hf(value))
    if not -(2**63) <= value < 2**64:
        assert (kind, key) == ("error", wmark.ConfigError)
        return
    assert kind == "ok" and key.kind == "hf" and key == wmark.Key.from_hf(value)


def test_keys_refuse_bools_and_non_ints() -> None:
    class WeirdIndex:
        def __index__(self) -> Any:
            return "not an int"

    for make in (wmark.Key.from_vllm, wmark.Key.from_hf):
        for bad in (True, 1.0, "5", None, b"5"):
            with pytest.raises(TypeError):
                make(bad)  # type: ignore[arg-type]
        with pytest.raises(wmark.ConfigError):
            make(WeirdIndex())  # type: ignore[arg-type]


@FAST
@given(HUGE_INTS)
def test_vocab_size_range(vocab: int) -> None:
    kind, value = outcome(lambda: wmark.Config("lefthash", vocab_size=vocab))
    if 1 <= vocab < 2**32:
        assert kind == "ok" and value.vocab_size == vocab
    elif -(2**63) <= vocab < 2**63:
        assert (kind, value) == ("error", wmark.ConfigError)
    else:
        assert (kind, value) == ("error", OverflowError)


@FAST
@given(st.floats(), st.floats(), st.sampled_from(["lefthash", "gumbel:2", "vllm-dual-key-gumbel:2"]))
def test_gamma_and_delta(gamma: float, delta: float, scheme: str) -> None:
    kind, c = outcome(lambda: wmark.Config(scheme, gamma=gamma, delta=delta, vocab_size=V))
    if scheme != "lefthash":  # no green list: only the defaults are accepted
        assert (kind == "ok") == (gamma == 0.25 and delta == 2.0)
        return
    if not (0.0 < gamma < 1.0) or not (np.isfinite(delta) and delta >= 0.0):
        assert (kind, c) == ("error", wmark.ConfigError)
    if kind == "ok":
        assert 0.0 < c.gamma < 1.0 and c.green_threshold == round(c.gamma * 256)
        assert np.isfinite(c.delta) and c.delta == np.float32(delta)
    else:
        assert c is wmark.ConfigError


@FEW
@given(st.floats(), st.sampled_from(["vllm-dual-key-gumbel:2", "gumbel:2", "lefthash"]))
def test_alpha(alpha: float, scheme: str) -> None:
    kind, c = outcome(lambda: wmark.Config(scheme, vocab_size=V, alpha=alpha))
    if scheme != "vllm-dual-key-gumbel:2" or not 0.0 <= alpha <= 1.0:
        assert (kind, c) == ("error", wmark.ConfigError)
    else:
        assert kind == "ok" and c.alpha == alpha


@FAST
@given(st.integers(0, 2**64 - 1), st.integers(0, 64), st.binary(min_size=31, max_size=33))
def test_stream_bytes_small_lengths(offset: int, length: int, seed: bytes) -> None:
    kind, value = outcome(lambda: wmark.stream_bytes(seed, offset, length))
    if len(seed) != 32:
        assert (kind, value) == ("error", wmark.InputError)
    else:
        assert kind == "ok" and len(value) == length
        if offset + length + 8 < 2**64:  # a window of the same stream
            assert wmark.stream_bytes(seed, offset + 1, length)[: max(length - 1, 0)] == value[1:]


@FEW
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.floats())
def test_statistics_never_raise_on_odd_values(n: int, k: int, p: float) -> None:
    for f in (wmark.stats.binomial_upper_tail_log10, wmark.stats.z_score):
        assert isinstance(f(n, k, p), float)
    assert isinstance(wmark.stats.gamma_upper_tail_log10(p, abs(p)), float)
    assert isinstance(wmark.stats.normal_upper_tail_log10(p), float)
    with pytest.raises(OverflowError):
        wmark.stats.z_score(-1, k, p)


# ---------------------------------------------------------------------------------------
# Regression tests for what the tests above found (each crashed the interpreter or misread
# memory before it was fixed), with their minimal reproducers. Those that killed the
# interpreter run in a subprocess.


def run_isolated(code: str) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter; it prints CLEAN when the call raised a clear error."""
    prelude = "import numpy as np, wmark\nkey = wmark.Key.from_bytes(bytes(range(32)))\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )


def test_a_huge_sequence_of_ids_is_a_clean_error() -> None:
    proc = run_isolated(
        """
        det = wmark.Detector(wmark.Config("lefthash", vocab_size=100), key)
        try:
            det.detect(ids=range(2**40))
        except wmark.InputError as e:
            print("CLEAN", type(e).__name__)
        """
    )
    assert proc.returncode == 0 and "CLEAN" in proc.stdout, (proc.returncode, proc.stderr[-300:])


def test_a_lying_len_is_a_clean_error() -> None:
    class Lying:
        def __len__(self) -> int:
            return 2**62

        def __getitem__(self, i: int) -> int:
            return 1

    with pytest.raises(wmark.InputError, match="more than"):
        DETECTOR.detect(ids=Lying())  # type: ignore[arg-type]


@pytest.mark.parametrize("offset,length", [(0, 2**64 - 1), (1, 2**64 - 1), (0, 2**63)])
def test_stream_bytes_huge_length_in_process(offset: int, length: int) -> None:
    with pytest.raises(wmark.InputError, match="bytes one call returns"):
        wmark.stream_bytes(bytes(32), offset, length)


def test_stream_bytes_huge_length_aborts() -> None:
    proc = run_isolated(
        """
        try:
            wmark.stream_bytes(bytes(32), 0, 2**40)
        except wmark.InputError as e:
            print("CLEAN", type(e).__name__)
        """
    )
    assert proc.returncode == 0 and "CLEAN" in proc.stdout, (proc.returncode, proc.stderr[-300:])


def packed_field(values: np.ndarray) -> np.ndarray:
    """`values` as a field of a packed record array: byte strides not a multiple of the itemsize."""
    rec = np.zeros(len(values), dtype=[("pad", "u1"), ("v", values.dtype)])
    rec["v"] = values
    view = rec["v"]
    assert view.strides[0] % view.itemsize != 0
    return view


def test_ids_with_strides_not_a_multiple_of_the_itemsize() -> None:
    ids = np.arange(1, 21, dtype=np.uint16)
    wm = WATERMARKS["window:3"]
    # Before the fix: a green list of other ids (silently), and a VocabMismatchError naming
    # id 1024, which is not in the input. Ids are read, so such an array is copied.
    assert wm.green_list(packed_field(ids)).tolist() == wm.green_list(ids).tolist()
    assert DETECTOR.detect(ids=packed_field(ids)).to_dict() == DETECTOR.detect(ids=ids).to_dict()
    ramp = np.linspace(0, 1, V, dtype=np.float32)
    choice = lambda logits: SAMPLER.choose(SAMPLER.create_state(), [1, 2, 3], logits)  # noqa: E731
    assert choice(packed_field(ramp)) == choice(ramp)


def test_logits_with_strides_not_a_multiple_of_the_itemsize() -> None:
    # Before the fix such logits were written at the wrong addresses, over the neighbouring
    # record field. Now the call works on an aligned copy and writes the result back.
    row = np.random.default_rng(7).normal(size=V).astype(np.float32)
    expected = row.copy()
    PROCESSORS["lefthash"].apply_row([1], expected)
    logits = packed_field(row)
    assert PROCESSORS["lefthash"].apply_row([1], logits) is True
    assert not np.asarray(logits.base)["pad"].any(), "the pad field was overwritten"
    np.testing.assert_array_equal(logits, expected)

    scores = np.zeros((1, V), dtype=[("pad", "u1"), ("v", "f4")])
    scores["v"][0] = row
    PROCESSORS["lefthash"].apply(np.array([[1]]), scores["v"])
    assert not scores["pad"].any()
    np.testing.assert_array_equal(scores["v"][0], expected)

    gumbel = packed_field(row)
    plain = row.copy()
    chosen = SAMPLER.apply(SAMPLER.create_state(), [1, 2, 3], gumbel)
    assert chosen is not None and chosen == SAMPLER.apply(SAMPLER.create_state(), [1, 2, 3], plain)
    np.testing.assert_array_equal(gumbel, plain)
    assert not np.asarray(gumbel.base)["pad"].any()


def test_detect_batch_huge_thread_count_is_refused() -> None:
    with pytest.raises(wmark.ConfigError, match="threads must be between 1 and 256"):
        DETECTOR.detect_batch(ids=[[1, 2]], threads=2**40)
    with pytest.raises(wmark.ConfigError):
        DETECTOR.detect_batch(ids=[[1, 2]], threads=257)
    assert len(DETECTOR.detect_batch(ids=[[1, 2]], threads=2)) == 1


def test_arrays_of_zero_sized_items_are_refused_not_copied_forever() -> None:
    # An item size of 0 has no strides to fix: a copy would look the same as the original.
    for dtype in ("V0", "S0"):
        ids, logits = np.zeros(3, dtype), np.zeros(V, dtype)
        assert outcome(lambda ids=ids: DETECTOR.detect(ids=ids)) == ("error", wmark.InputError)
        assert outcome(lambda logits=logits: PROCESSORS["lefthash"].apply_row([1], logits))[0] == "error"
