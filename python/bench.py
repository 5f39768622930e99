#!/usr/bin/env python3
"""Speed of the Python package against Rust, on this machine.

1. One processor call from Python, ``WatermarkLogitsProcessor(input_ids, scores)`` at
   V = 128,256 and batch 8 (lefthash, exact mode, a new context on every row each step),
   against the same call in Rust: the ``lefthash 128256 8 exact-cold`` line of
   ``wmark bench --json`` (src/bench.rs), whose workload this script rebuilds exactly (key,
   logits, contexts and their update). Rounds alternate Python and Rust; the figure of each
   is the median over rounds of per-round medians. Target: Python <= 1.2x Rust.
2. ``Detector.detect_batch`` on 1 and 2 threads (GIL released, rayon): documents per second.

    target/py-venv/bin/python python/bench.py [--wmark-bin target/release/wmark] [--write docs/python.md]

Build the package first (scripts/test-python, or maturin develop --release) and the command
line in release mode (cargo build --release --bin wmark).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List

import numpy as np

# The installed package (a built wheel), not the source tree beside this script.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
import wmark  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VOCAB = 128_256
BATCH = 8


def median_call(step: Callable[[], None], budget: float, samples: int = 9) -> float:
    """Median seconds per call over `samples` timed runs filling about `budget` seconds,
    the way src/bench.rs's median_step calibrates."""
    t = time.perf_counter()
    step()
    one = max(time.perf_counter() - t, 5e-8)
    iters = max(1, min(1_000_000, int(budget / samples / one)))
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(iters):
            step()
        times.append((time.perf_counter() - t) / iters)
    return statistics.median(times)


class Workload:
    """src/bench.rs's Workload(LeftHash, 128256, 8, ExactCold), from Python."""

    def __init__(self) -> None:
        key = wmark.Key.from_bytes(bytes([0x42] * 32))
        config = wmark.Config("lefthash", gamma=0.25, delta=2.0, vocab_size=VOCAB)
        self.processor = wmark.WatermarkLogitsProcessor(config, key)
        c = np.arange(VOCAB, dtype=np.uint64)[None, :]
        r = np.arange(BATCH, dtype=np.uint64)[:, None]
        self.logits = (((c * np.uint64(2_654_435_761) + r) % np.uint64(10_007)).astype(np.float32) / np.float32(1000.0))
        self.ids = np.array([[r, 1000 + r, 2000 + r, 3000 + r] for r in range(BATCH)], dtype=np.int64)
        self.counter = 0

    def step(self) -> None:
        # A new last token on every row: contexts never seen before (as the Rust workload).
        self.counter = (self.counter + 1) & 0xFFFFFFFF
        self.ids[:, 3] = (self.ids[:, 3] + self.counter) % 50_000
        self.processor(self.ids, self.logits)


def rust_figure(binary: Path, seconds: float) -> float:
    out = subprocess.run([str(binary), "bench", "--json", "--seconds", str(seconds)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        r = json.loads(line)
        if (r["op"], r["scheme"], r["vocab"], r["batch"], r["mode"]) == ("processor_step", "lefthash", VOCAB, BATCH, "exact-cold"):
            return r["median_ns"] / 1e9
    raise SystemExit("wmark bench --json printed no lefthash 128256 8 exact-cold line")


def detect_batch_rates(docs: int, length: int, runs: int) -> List[dict]:
    """Per thread count: documents/s from the median and from the fastest run (the least
    disturbed on a shared machine), and the process CPU seconds of a run."""
    config = wmark.Config("lefthash", vocab_size=VOCAB)
    detector = wmark.Detector(config, wmark.Key.from_bytes(bytes(range(32))))
    rng = np.random.default_rng(0)
    corpus = [rng.integers(0, VOCAB, size=length, dtype=np.int64) for _ in range(docs)]
    walls = {1: [], 2: []}
    cpus = {1: [], 2: []}
    for threads in (1, 2):
        detector.detect_batch(ids=corpus[:200], threads=threads)  # warm up
    # Interleaved, so that both thread counts see the same moments of a shared machine.
    for _ in range(runs):
        for threads in (1, 2):
            c, t = time.process_time(), time.perf_counter()
            detector.detect_batch(ids=corpus, threads=threads)
            walls[threads].append(time.perf_counter() - t)
            cpus[threads].append(time.process_time() - c)
    out = []
    for threads in (1, 2):
        out.append({
            "threads": threads,
            "median": docs / statistics.median(walls[threads]),
            "best": docs / min(walls[threads]),
            "cpu": statistics.median(cpus[threads]),
        })
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wmark-bin", type=Path, default=ROOT / "target" / "release" / "wmark")
    ap.add_argument("--rounds", type=int, default=3, help="alternating Python/Rust rounds (default 3)")
    ap.add_argument("--rust-seconds", type=float, default=30.0, help="budget of each `wmark bench` run (all its workloads)")
    ap.add_argument("--write", type=Path, help="write the results as a Markdown page (docs/python.md)")
    args = ap.parse_args()
    if not args.wmark_bin.is_file():
        raise SystemExit(f"{args.wmark_bin} is missing: cargo build --release --bin wmark (or give --wmark-bin)")

    w = Workload()
    median_call(w.step, 1.0)  # warm up: the thread pool, page faults of the logits
    # The Rust bench gives each of its ~100 workloads an equal share of its budget.
    budget = args.rust_seconds * 0.85 / 104
    py_runs, rust_runs = [], []
    for i in range(args.rounds):
        py_runs.append(median_call(w.step, budget))
        rust_runs.append(rust_figure(args.wmark_bin, args.rust_seconds))
        print(f"round {i + 1}: python {py_runs[-1] * 1e6:.1f} us, rust {rust_runs[-1] * 1e6:.1f} us", file=sys.stderr)
    py, rust = statistics.median(py_runs), statistics.median(rust_runs)
    ratio = py / rust
    docs, length = 2000, 500
    load_before = os.getloadavg()[0]
    one, two = detect_batch_rates(docs, length, runs=15)

    threads = os.environ.get("RAYON_NUM_THREADS", "unset")
    lines = [
        "# Python package speed",
        "",
        "<!-- Written by python/bench.py; do not edit: run the script again. -->",
        "",
        f"Measured by `python/bench.py` on {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"wmark {wmark.__version__} (release wheel), RAYON_NUM_THREADS={threads}.",
        "",
        "## One processor call, V = 128,256, batch 8 (lefthash, exact, new contexts)",
        "",
        "| | median per call |",
        "|---|---|",
        f"| Python: `WatermarkLogitsProcessor(input_ids, scores)` on numpy | {py * 1e6:.1f} µs |",
        f"| Rust: `Processor::apply_batch`, `wmark bench` (same workload) | {rust * 1e6:.1f} µs |",
        f"| ratio Python / Rust (target ≤ 1.2) | {ratio:.3f} |",
        "",
        f"Medians over {args.rounds} alternating rounds of per-round medians (9 samples each). "
        "Per round: " + ", ".join(f"{p * 1e6:.1f}/{r * 1e6:.1f} µs" for p, r in zip(py_runs, rust_runs)) + " (Python/Rust).",
        "",
        f"## `Detector.detect_batch`, {docs} documents of {length} ids (V = 128,256, lefthash)",
        "",
        "Runs of 1 and 2 threads interleaved, 15 of each; the fastest run is the least disturbed by other work.",
        "",
        "| threads | documents/s (median run) | documents/s (fastest run) | CPU seconds per run |",
        "|---|---|---|---|",
        *(f"| {r['threads']} | {r['median']:,.0f} | {r['best']:,.0f} | {r['cpu']:.3f} |" for r in (one, two)),
        "",
        f"Speed-up with 2 threads: {two['median'] / one['median']:.2f}x (median runs), "
        f"{two['best'] / one['best']:.2f}x (fastest runs). 1-minute load average before the runs: "
        f"{load_before:.2f} on {os.cpu_count()} cores (other work on the machine shares the cores; "
        "the CPU seconds show the work itself does not grow with threads).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        args.write.write_text(text)
        print(f"wrote {args.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
