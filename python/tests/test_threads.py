"""Concurrent use from Python threads: one processor and one detector shared by many
threads give the results a single thread gives (the GIL is released during the work)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import wmark
from conftest import fixed_key


def test_one_processor_many_threads() -> None:
    config = wmark.Config("minhash:2", vocab_size=32_000)
    proc = wmark.WatermarkLogitsProcessor(config, fixed_key(1))
    rng = np.random.default_rng(0)
    jobs = [(rng.integers(0, 32_000, size=(4, 6)), rng.normal(size=(4, 32_000)).astype(np.float32)) for _ in range(32)]
    expected = [proc(ids, s.copy()) for ids, s in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda j: proc(j[0], j[1].copy()), jobs))
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)


def test_one_detector_many_threads() -> None:
    config = wmark.Config("lefthash", vocab_size=5000)
    detector = wmark.Detector(config, [fixed_key(2), fixed_key(3)], windows=True)
    docs = [np.random.default_rng(i).integers(0, 5000, size=200) for i in range(40)]
    expected = [detector.detect(ids=d).to_json() for d in docs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda d: detector.detect(ids=d).to_json(), docs))
        batches = list(pool.map(lambda _: [r.to_json() for r in detector.detect_batch(ids=docs, threads=2)], range(4)))
    assert got == expected
    assert all(b == expected for b in batches)
