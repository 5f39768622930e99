"""Hugging Face transformers' SynthID-Text from Python: `Key.from_synthid`, the `hf-synthid:n`
configuration, the detector's counts and mean scores against transformers' own scoring of text
it generated (fixtures/vectors/hf-synthid.toml, [[generated]]), and `SynthIdLogitsProcessor`
against transformers' `SynthIDTextWatermarkLogitsProcessor` over recorded decoding steps
([[step]])."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

import wmark
from conftest import VECTORS, load_toml

SYNTHID = load_toml(VECTORS / "hf-synthid.toml")


def config_of(row: dict, vocab: int) -> wmark.Config:
    return wmark.Config(
        "hf-synthid:%d" % row["ngram_len"],
        vocab_size=vocab,
        sampling_table_size=row["sampling_table_size"],
        sampling_table_seed=int(row["sampling_table_seed"]),
    )


@pytest.mark.parametrize("row", SYNTHID["generated"], ids=[g["name"] for g in SYNTHID["generated"]])
def test_detector_gives_transformers_mean_score(row: dict) -> None:
    ids = row["generated"]
    if row["eos_token_id"] in ids:
        ids = ids[: ids.index(row["eos_token_id"])]
    det = wmark.Detector(config_of(row, row["vocab_size"]), wmark.Key.from_synthid(row["keys"]))
    report = det.detect(ids=np.array(ids, dtype=np.int64))
    assert report.dedup == "window"
    assert (report.scored, report.score) == (row["mask_count"], float(row["g_sum"]))
    assert report.mean_score == pytest.approx(row["mean_score"], abs=1e-15)
    n = row["mask_count"] * len(row["keys"])
    _, _, p = det.config.sampling_table
    assert report.log10_p == wmark.stats.binomial_upper_tail_log10(n, row["g_sum"], p)


def probs(row: np.ndarray) -> np.ndarray:
    e = np.exp(row.astype(np.float64) - row.max())
    return e / e.sum()


@pytest.mark.parametrize("row", SYNTHID["step"], ids=[s["name"] for s in SYNTHID["step"]])
def test_logits_processor_matches_transformers_steps(row: dict) -> None:
    v = row["vocab_size"]
    proc = wmark.SynthIdLogitsProcessor.from_key(
        config_of(row, v), wmark.Key.from_synthid(row["keys"]), context_history_size=row["context_history_size"]
    )
    logits = np.array(row["logits"], dtype=np.float32).reshape(-1, v)
    want = np.array(row["out"], dtype=np.float32).reshape(-1, v)
    ids = list(row["prompt"])
    for t, token in enumerate(row["tokens"]):
        scores = logits[t : t + 1].copy()
        out = proc(np.array([ids]), scores)
        assert out is scores  # float32 numpy: in place
        if row["repeated"][t] == "1":
            assert out.tobytes() == logits[t : t + 1].tobytes()
        else:
            tv = np.abs(probs(out[0]) - probs(want[t])).sum() / 2
            assert tv < 1e-5, (t, tv)
        ids.append(token)


def test_float64_and_read_only_scores_are_changed_in_their_own_dtype() -> None:
    config = wmark.Config("hf-synthid:2", vocab_size=50)
    proc = wmark.SynthIdProcessor(config, wmark.Key.from_synthid([1, 2, 3, 4]))
    rng = np.random.default_rng(1)
    base = rng.normal(size=(2, 50)).astype(np.float32)
    a = wmark.SynthIdLogitsProcessor(proc)(np.array([[1, 2], [3, 4]]), base.copy())
    b = wmark.SynthIdLogitsProcessor(proc)(np.array([[1, 2], [3, 4]]), base.astype(np.float64))
    assert b.dtype == np.float64 and np.array_equal(a, b.astype(np.float32))
    frozen = base.copy()
    frozen.flags.writeable = False
    c = wmark.SynthIdLogitsProcessor(proc)(np.array([[1, 2], [3, 4]]), frozen)
    assert np.array_equal(a, c) and np.array_equal(frozen, base)
    state = proc.create_state()
    row = base[0].copy()
    assert proc.apply(state, [7], row) == "applied"
    with pytest.raises(wmark.InputError):
        proc.apply(state, [7], row)  # the same step twice
    with pytest.raises(wmark.InputError):
        wmark.SynthIdProcessor(config, wmark.Key.from_synthid([1])).apply(state, [7, 8], row)
    with pytest.raises(wmark.LogitsLengthError):
        proc.apply(proc.create_state(), [7], np.zeros(49, dtype=np.float32))


def test_synthid_keys_and_key_files(tmp_path: Path) -> None:
    k = wmark.Key.from_synthid([654, -400, 2**63 - 1])
    assert k.kind == "synthid" and repr(k) == f"Key(id='{k.id}', kind='synthid', layers=3)"
    assert k == wmark.Key.from_synthid(np.array([654, -400, 2**63 - 1])) and k != wmark.Key.from_synthid([654, -400])
    assert wmark.Key.generate_synthid(7).kind == "synthid"
    p = tmp_path / "s.key"
    k.save(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert p.read_text() == "wmark-synthid-key-v1:654,-400,9223372036854775807\n"
    assert wmark.Key.load(p) == k
    account = k.derive_account("acme")
    assert account.kind == "synthid" and account != k
    for bad in ([], [2**63], [-(2**63) - 1], list(range(1025))):
        with pytest.raises(wmark.ConfigError):
            wmark.Key.from_synthid(bad)
    for bad in ([True], [1.5], "123", b"12", None, 5):
        with pytest.raises(TypeError):
            wmark.Key.from_synthid(bad)
    with pytest.raises(wmark.ConfigError):
        wmark.Key.generate_synthid(0)


def test_synthid_configs_and_what_they_refuse() -> None:
    c = wmark.Config("hf-synthid:5", vocab_size=1000)
    assert (c.gamma, c.delta, c.green_threshold, c.key_kind, c.context_len) == (None, None, None, "synthid", 4)
    size, seed, ones = c.sampling_table
    assert (size, seed) == (65536, 0) and 0.49 < ones < 0.51
    assert repr(c) == "Config(scheme='hf-synthid:5', vocab_size=1000, sampling_table_size=65536, sampling_table_seed=0)"
    for kwargs in ({"gamma": 0.5}, {"delta": 1.0}, {"sampling_table_size": 0}, {"sampling_table_size": 2**25}):
        with pytest.raises(wmark.ConfigError):
            wmark.Config("hf-synthid:5", vocab_size=1000, **kwargs)
    with pytest.raises(wmark.ConfigError):
        wmark.Config("hf-synthid:1", vocab_size=1000)
    with pytest.raises(wmark.ConfigError):
        wmark.Config("lefthash", vocab_size=1000, sampling_table_seed=3)
    with pytest.raises(wmark.ConfigError):
        wmark.Processor(c, wmark.Key.from_synthid([1]))
    with pytest.raises(wmark.ConfigError):
        wmark.SynthIdProcessor(c, wmark.Key.generate())
    with pytest.raises(wmark.ConfigError):
        wmark.SynthIdProcessor(wmark.Config("lefthash", vocab_size=1000), wmark.Key.from_synthid([1]))
    with pytest.raises(wmark.InputError, match="SynthID-Text key"):
        wmark.Detector(c, wmark.Key.from_hf(5))
