"""The golden vectors Rust is tested against (fixtures/vectors/*.toml), through Python."""

from __future__ import annotations

import numpy as np
import pytest

import wmark
from conftest import VECTORS, load_toml

PRF = load_toml(VECTORS / "prf-v1.toml")
TAILS = load_toml(VECTORS / "tails.toml")

# As crates/wmark-detect/tests/tails.rs: relative error on log10, or an absolute one very
# close to 0.
REL_TOL = 1e-9
SMALL_LOG10 = 1e-3
ABS_TOL_SMALL = 1e-12


def key_of(hex_key: str) -> wmark.Key:
    return wmark.Key.from_bytes(bytes.fromhex(hex_key))


def test_the_vector_file_is_complete() -> None:
    assert len(PRF["case"]) >= 24
    for section in ("tokhash", "stream", "keyid", "account"):
        assert PRF[section], section


@pytest.mark.parametrize("case", PRF["case"], ids=[c["name"] for c in PRF["case"]])
def test_case(case: dict) -> None:
    config = wmark.Config(case["scheme"], gamma=case["gamma"], delta=2.0, vocab_size=case["vocab_size"])
    assert config.scheme == case["scheme"]
    key = key_of(case["key"])
    wm = wmark.Watermark(config, key)
    context, tokens, green = case["context"], case["tokens"], case["green"]

    seed = wm.seed(context, tokens[0]) if config.scheme.startswith("selfhash") else wm.seed(context)
    assert seed.hex() == case["seed"]
    assert wmark.stream_bytes(seed, 0, 64).hex() == case["stream_prefix"]
    assert [wm.is_green(context, t) for t in tokens] == green

    # inspect, as `wmark inspect --token`
    for t, g in zip(tokens, green):
        m = wmark.inspect(config, key, context, token=t)
        assert m["green"] == g and m["in_vocab"] == (t < config.vocab_size)

    # The processor biases exactly the green ids among the probed ones.
    logits = np.zeros(config.vocab_size, dtype=np.float32)
    in_vocab = [t for t in tokens if t < config.vocab_size]
    if config.scheme.startswith("selfhash"):
        # selfhash tests the top-k candidates: make the probed ids the top ones and pass
        # them explicitly.
        applied = wmark.Processor(config, key).apply_row(context, logits, candidates=in_vocab)
    else:
        applied = wmark.Processor(config, key).apply_row(context, logits)
        greens = wm.green_list(context)
        assert set(int(t) for t in greens) >= {t for t, g in zip(tokens, green) if g}
    assert applied
    for t, g in zip(tokens, green):
        if t < config.vocab_size:
            assert logits[t] == (2.0 if g else 0.0), t
        else:
            assert not g


def test_token_hashes() -> None:
    for v in PRF["tokhash"]:
        wm = wmark.Watermark(wmark.Config("minhash:1", vocab_size=1), key_of(v["key"]))
        assert wm.token_hash(v["token"]) == int(v["value"], 16)


def test_stream_bytes_at_offsets() -> None:
    for v in PRF["stream"]:
        expected = bytes.fromhex(v["bytes"])
        assert wmark.stream_bytes(bytes.fromhex(v["seed"]), v["offset"], len(expected)) == expected, v["name"]


def test_key_ids() -> None:
    for v in PRF["keyid"]:
        assert key_of(v["key"]).id == v["key_id"]


def test_account_keys() -> None:
    for v in PRF["account"]:
        derived = key_of(v["master"]).derive_account(v["account"])
        assert derived == key_of(v["key"])
        assert derived.id == key_of(v["key"]).id


def rel_err(expected: float, got: float) -> float:
    if expected == got:
        return 0.0
    if expected == 0.0:
        return abs(got) / 2.2250738585072014e-308
    return abs((got - expected) / expected)


def close(expected: float, got: float) -> bool:
    return rel_err(expected, got) <= REL_TOL or (abs(expected) < SMALL_LOG10 and abs(got - expected) <= ABS_TOL_SMALL)


def test_binomial_tails() -> None:
    assert len(TAILS["binomial"]) >= 40
    bad = [
        (c["name"], c["log10_p"], got)
        for c in TAILS["binomial"]
        if not close(c["log10_p"], got := wmark.stats.binomial_upper_tail_log10(c["n"], c["k"], c["p"]))
    ]
    assert not bad


def test_gamma_tails() -> None:
    assert TAILS["gamma_upper"]
    bad = [
        (c["name"], c["log10_q"], got)
        for c in TAILS["gamma_upper"]
        if not close(c["log10_q"], got := wmark.stats.gamma_upper_tail_log10(c["a"], c["x"]))
    ]
    assert not bad


def test_normal_tails() -> None:
    assert TAILS["normal_upper"]
    bad = [
        (c["name"], c["log10_p"], got)
        for c in TAILS["normal_upper"]
        if not close(c["log10_p"], got := wmark.stats.normal_upper_tail_log10(c["z"]))
    ]
    assert not bad


def test_anchors_of_the_brief() -> None:
    b = wmark.stats.binomial_upper_tail_log10
    assert b(1000, 1000, 0.25) == pytest.approx(-602.0600, abs=5e-5)
    assert b(1000, 600, 0.25) == pytest.approx(-120.4068, abs=5e-5)
    assert b(200, 150, 0.25) == pytest.approx(-48.8484, abs=5e-5)
    assert 10 ** b(25, 15, 0.25) == pytest.approx(2.145e-4, rel=1e-3)
