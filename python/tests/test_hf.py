"""Hugging Face transformers' KGW watermark from Python: `Key.from_hf`, the `hf-lefthash:w`
and `hf-selfhash:w` configurations, and the detector's counts against what transformers' own
`WatermarkDetector` counts with `ignore_repeated_ngrams=True` (fixtures/vectors/hf-kgw.toml)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

import wmark
from conftest import VECTORS, fixed_key, load_toml

KGW = load_toml(VECTORS / "hf-kgw.toml")


def config_of(case: dict) -> wmark.Config:
    scheme = "hf-%s:%d" % (case["scheme"], case["context_width"])
    return wmark.Config(scheme, gamma=case["gamma"], vocab_size=case["vocab_size"])


@pytest.mark.parametrize("case", KGW["detect"], ids=[c["name"] for c in KGW["detect"]])
def test_counts_equal_transformers_detector(case: dict) -> None:
    key = wmark.Key.from_hf(int(case["hashing_key"]))
    report = wmark.Detector(config_of(case), key).detect(ids=np.array(case["ids"], dtype=np.int64))
    assert (report.scored, report.green) == (case["scored_unique"], case["green_unique"])
    v, gamma = case["vocab_size"], case["gamma"]
    assert report.gamma_effective == int(v * gamma) / v


def test_hf_keys() -> None:
    k = wmark.Key.from_hf(15485863)
    assert k.kind == "hf" and repr(k) == f"Key(id='{k.id}', kind='hf')"
    assert k == wmark.Key.from_hf(np.int64(15485863)) and k != wmark.Key.from_vllm(15485863)
    assert wmark.Key.from_hf(-(2**63)).kind == "hf" and wmark.Key.from_hf(2**64 - 1).kind == "hf"
    for bad in (-(2**63) - 1, 2**64, 2**200):
        with pytest.raises(wmark.ConfigError):
            wmark.Key.from_hf(bad)
    for bad in (True, 1.5, "15485863", None):
        with pytest.raises(TypeError):
            wmark.Key.from_hf(bad)
    assert k.derive_account("acme").kind == "hf"


def test_hf_key_files(tmp_path: Path) -> None:
    key = wmark.Key.from_hf(-42)
    p = tmp_path / "hf.key"
    key.save(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert p.read_text() == "wmark-hf-key-v1:-42\n"
    assert wmark.Key.load(p) == key
    bad = tmp_path / "bad.key"
    bad.write_text("wmark-hf-key-v1:042\n")
    os.chmod(bad, 0o600)
    with pytest.raises(wmark.KeyFileError):
        wmark.Key.load(bad)


def test_hf_configs_and_what_they_refuse() -> None:
    config = wmark.Config("hf-selfhash:4", gamma=0.25, vocab_size=50257)
    assert config.scheme == "hf-selfhash:4" and config.key_kind == "hf" and not config.is_gumbel
    assert config.gamma == 12564 / 50257 and config.green_threshold is None
    assert repr(config) == "Config(scheme='hf-selfhash:4', gamma=0.25, vocab_size=50257)"
    with pytest.raises(wmark.ConfigError, match="green ids"):
        wmark.Config("hf-lefthash:1", gamma=0.001, vocab_size=100)
    key = wmark.Key.from_hf(7)
    with pytest.raises(wmark.ConfigError, match="transformers"):
        wmark.WatermarkLogitsProcessor(config, key)
    with pytest.raises(wmark.ConfigError, match="wmark.Detector"):
        wmark.Watermark(config, key)
    with pytest.raises(wmark.WmarkError, match="Hugging Face hashing key"):
        wmark.Detector(config, fixed_key(1))
    with pytest.raises(wmark.WmarkError, match="wmark key"):
        wmark.Detector(wmark.Config("lefthash", vocab_size=100), key)
