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


def test_detect_batch_reuses_its_thread_pools() -> None:
    """Many calls with the same `threads` reuse one pool (a pool per call would start 400
    threads here); the results stay those of single calls. No timing is asserted."""
    import threading

    threads_before = threading.active_count()  # other tests (Spark's) may leave threads behind
    config = wmark.Config("lefthash", vocab_size=3000)
    detector = wmark.Detector(config, fixed_key(5))
    docs = [np.random.default_rng(i).integers(0, 3000, size=30) for i in range(8)]
    expected = [detector.detect(ids=d).to_json() for d in docs]
    for _ in range(200):
        assert [r.to_json() for r in detector.detect_batch(ids=docs, threads=2)] == expected
    # every call, and the other counts too, on the pools built the first time
    for n in (1, 3, 2):
        assert [r.to_json() for r in detector.detect_batch(ids=docs, threads=n)] == expected
    assert [r.to_json() for r in detector.detect_batch(ids=docs)] == expected
    assert threading.active_count() == threads_before  # rayon's threads are not Python threads


def longest_pause_of_python_during(work) -> tuple:
    """Runs `work` in a thread; meanwhile this thread keeps stepping a Python loop. Returns
    (the longest gap between two steps, how long `work` took): a native call that holds the
    GIL shows as a gap as long as the call."""
    import threading
    import time

    span = {}

    def run() -> None:
        t = time.perf_counter()
        work()
        span["t"] = time.perf_counter() - t

    th = threading.Thread(target=run)
    last, longest = time.perf_counter(), 0.0  # from before the work can start
    th.start()
    while th.is_alive():
        time.sleep(0.001)  # leave the cores to the work; only wake up to look at the clock
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
    th.join()
    # A call that holds the GIL may keep this thread from ever entering the loop (the work
    # ends before it gets the GIL back): the gap up to the end of the work counts too.
    longest = max(longest, time.perf_counter() - last)
    return longest, span["t"]


def test_the_gil_is_released_during_the_work() -> None:
    config = wmark.Config("lefthash", vocab_size=128_256)
    detector = wmark.Detector(config, fixed_key(4))
    rng = np.random.default_rng(5)
    docs = [rng.integers(0, 128_256, size=500) for _ in range(3000)]
    one_long = np.concatenate(docs)
    # The probe sees a held GIL: a builtin looping in C holds it for the whole call.
    pause, took = longest_pause_of_python_during(lambda: sum(range(5_000_000)))
    assert pause >= took * 0.9, (pause, took)
    works = (
        lambda: detector.detect_batch(ids=docs, threads=1),
        lambda: detector.detect(ids=one_long),
        lambda: wmark.Radioactivity(detector).add_answer(one_long),
    )
    for work in works:
        # A call holding the GIL pauses this thread for the whole call, every time; a busy
        # shared machine can pause it for other reasons once in a while: three tries.
        tries = [longest_pause_of_python_during(work) for _ in range(3)]
        assert all(took > 0.05 for _, took in tries), "the call must be long enough to see a pause"
        assert any(pause < took / 2 for pause, took in tries), tries


def test_the_gil_is_released_while_the_gumbel_sampler_chooses() -> None:
    vocab = 4_000_000
    sampler = wmark.GumbelSampler(wmark.Config("gumbel:2", vocab_size=vocab), fixed_key(6))
    flat = np.zeros(vocab, dtype=np.float32)  # every candidate could win: none is skipped
    works = (
        lambda: sampler.choose(sampler.create_state(), [1, 2], flat),
        lambda: sampler.apply(sampler.create_state(), [1, 2], flat.copy()),
    )
    for work in works:
        tries = [longest_pause_of_python_during(work) for _ in range(3)]
        assert all(took > 0.05 for _, took in tries), "the call must be long enough to see a pause"
        assert any(pause < took / 2 for pause, took in tries), tries
