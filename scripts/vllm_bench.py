#!/usr/bin/env python3
"""vLLM 0.33.0's own Gumbel-max detectors beside `wmark detect`, on the same token ids, one core.

The Python part of `scripts/vllm-bench` (which finds an interpreter with torch and the wheel,
then runs this). It loads vLLM's real watermarking files from the wheel with the loader of
scripts/vllm_reference.py, makes N pseudo-random token ids (fixed seed, V = 128,256) and, for
vllm-gumbel and vllm-dual-key-gumbel (context width 4, alpha 0.1), times

    vLLM   GumbelWatermarkDetector(key, 4) / DualKeyGumbelWatermarkDetector(key, 4, alpha=0.1),
           construction and .detect(ids), in this process (torch on one thread; the ids are
           already a Python list);
    wmark  the whole process `wmark detect --ids --scheme S --context-width 4 --vocab-size
           128256 --key K --json FILE`, FILE holding the ids as one JSON array line
           (RAYON_NUM_THREADS=1, under `taskset -c CPU` when taskset exists): start-up, reading
           and parsing the line, scoring, the p-value and the JSON report.

Both are wall-clock medians of 3 runs, on the one CPU this process pins itself to. Every run
checks that wmark's `scored` equals vLLM's `num_scored_tokens` and that the scores agree to
1e-9 relative; a mismatch exits 1 before anything is written. It prints a table of tokens/s;
with --write it also puts the table in docs/performance.md between
`<!-- vllm-bench:begin -->` and `<!-- vllm-bench:end -->`.

    python scripts/vllm_bench.py --wheel vllm-0.33.0-....whl [--wmark PATH] [--tokens N] [--write]

Needs Python >= 3.11, torch and pydantic (as scripts/vllm_reference.py).
"""

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vllm_reference import ANSWER_KEY, VLLM_VERSION, extract, load_vllm

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE = REPO_ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- vllm-bench:begin -->", "<!-- vllm-bench:end -->"
VOCAB = 128_256
WIDTH = 4
ALPHA = 0.1
# The published test key of fixtures/vllm-answers (a 64-bit vLLM key; nothing secret).
KEY = ANSWER_KEY
SEED = 0x5EED_B0B
RUNS = 3
REL_TOL = 1e-9
# (wmark's scheme, vLLM's detector class)
SCHEMES = [
    ("vllm-gumbel", "GumbelWatermarkDetector"),
    ("vllm-dual-key-gumbel", "DualKeyGumbelWatermarkDetector"),
]


def fail(message):
    print("vllm_bench: FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def pin_one_core():
    """Pins this process (and so its children) to one CPU: 0 if allowed. Returns it, or None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = os.sched_getaffinity(0)
    cpu = 0 if 0 in allowed else min(allowed)
    os.sched_setaffinity(0, {cpu})
    return cpu


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_ids(n):
    rng = random.Random(SEED)
    return [rng.randrange(VOCAB) for _ in range(n)]


def make_detector(gumbel, cls):
    if cls == "GumbelWatermarkDetector":
        return gumbel.GumbelWatermarkDetector(KEY, context_width=WIDTH)
    return gumbel.DualKeyGumbelWatermarkDetector(KEY, context_width=WIDTH, alpha=ALPHA)


def time_vllm(gumbel, cls, ids):
    """(median seconds, [results]) of RUNS constructions + detect(ids)."""
    times, results = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        result = make_detector(gumbel, cls).detect(ids)
        times.append(time.perf_counter() - t0)
        results.append(result)
    return statistics.median(times), results


def time_vllm_prepare(gumbel, cls, ids):
    """Median seconds of vLLM's `_prepare_inputs(ids)` alone (its Python loop over the ids and
    the conversion of the contexts to tensors), to say where vLLM's time goes."""
    times = []
    for _ in range(RUNS):
        detector = make_detector(gumbel, cls)
        t0 = time.perf_counter()
        detector._prepare_inputs(ids)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_wmark(wmark, scheme, key_file, ids_file, cpu):
    """(median seconds, [parsed reports]) of RUNS whole `wmark detect` processes."""
    args = ["--scheme", scheme, "--context-width", str(WIDTH)]
    if scheme == "vllm-dual-key-gumbel":
        args += ["--vllm-alpha", str(ALPHA)]
    return time_wmark_detect(wmark, args + ["--vocab-size", str(VOCAB)], key_file, ids_file, cpu)


def time_wmark_detect(wmark, scheme_args, key_file, ids_file, cpu):
    """(median seconds, [parsed reports]) of RUNS whole `wmark detect --ids` processes with
    `scheme_args` (scheme, width, vocabulary...), one JSON report each, under `taskset -c cpu`
    when there is one and taskset exists. scripts/hf_bench.py times its schemes with it too."""
    cmd = [str(wmark), "detect", "--ids", *scheme_args, "--key", str(key_file), "--json", str(ids_file)]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu)] + cmd
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    times, reports = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):  # 0 watermarked, 1 not
            fail("%s exited %d: %s" % (" ".join(cmd), proc.returncode, proc.stderr.decode(errors="replace").strip()))
        lines = proc.stdout.decode().splitlines()
        if len(lines) != 1:
            fail("%s printed %d lines, expected one JSON report" % (" ".join(scheme_args), len(lines)))
        reports.append(json.loads(lines[0]))
    return statistics.median(times), reports


def check(scheme, n, vllm_results, wmark_reports):
    """Fails loudly unless every run of both agrees: the same count and score."""
    first = vllm_results[0]
    for r in vllm_results[1:]:
        if (r.score, r.num_scored_tokens) != (first.score, first.num_scored_tokens):
            fail("%s: vLLM's runs differ: %r vs %r" % (scheme, r, first))
    for report in wmark_reports:
        if report.get("scheme") != "%s:%d" % (scheme, WIDTH):
            fail("%s: wmark reports scheme %r" % (scheme, report.get("scheme")))
        if report.get("tokens") != n:
            fail("%s: wmark read %r tokens, not %d" % (scheme, report.get("tokens"), n))
        if report.get("scored") != first.num_scored_tokens:
            fail("%s: wmark scored %r tokens, vLLM %d" % (scheme, report.get("scored"), first.num_scored_tokens))
        score = report.get("score")
        if not isinstance(score, float) or abs(score - first.score) > REL_TOL * abs(first.score):
            fail("%s: wmark's score %r, vLLM's %r (tolerance %g relative)" % (scheme, score, first.score, REL_TOL))
    worst = max(abs(r["score"] - first.score) / abs(first.score) for r in wmark_reports)
    return first.num_scored_tokens, first.score, worst


def rate(n, seconds):
    return "{:,.0f}".format(n / seconds)


def times(ratio):
    return ("%.1f×" if ratio < 10 else "%.0f×") % ratio


def block(rows, n, file_mb, meta):
    lines = [
        BEGIN,
        "## vLLM's detector beside wmark's",
        "",
        "Written by `scripts/vllm-bench` on %s; opt-in, as it needs torch and vLLM's wheel (neither" % meta["date"],
        "`scripts/bench-report` nor CI runs it). vLLM %s's own `GumbelWatermarkDetector` and" % VLLM_VERSION,
        "`DualKeyGumbelWatermarkDetector` (context width %d, alpha %g, its default context dedup)," % (WIDTH, ALPHA),
        "loaded from its PyPI wheel and run on CPU with torch %s on one thread, against" % meta["torch"],
        "`wmark detect --ids --scheme vllm-gumbel|vllm-dual-key-gumbel --context-width %d`, on the" % WIDTH,
        "same %s pseudo-random token ids (V = %s), one core (%s, pinned to CPU %s)."
        % (format(n, ","), format(VOCAB, ","), meta["cpu"], meta["pin"]),
        "Wall-clock medians of %d runs. vLLM's time is the detector's construction and one" % RUNS,
        "`detect(ids)` call inside a Python process that has already imported torch and holds the ids",
        "as a list; wmark's is the whole process: start-up, reading the %.1f MB file that holds the" % file_mb,
        "ids as one JSON array line and parsing it, scoring, the p-value and the JSON report. In every",
        "run wmark scored as many tokens as vLLM and its score agreed with vLLM's to 1e-9 (relative);",
        "p-values are not compared (for the dual key wmark computes the exact tail, vLLM a moment",
        "match: docs/statistics.md).",
        "",
        "| scheme | tokens | vLLM detect() | vLLM tokens/s | wmark process | wmark tokens/s | wmark / vLLM |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            "| %s | %s | %.2f s | %s | %.3f s | %s | %s |"
            % (
                row["scheme"],
                format(n, ","),
                row["vllm_s"],
                rate(n, row["vllm_s"]),
                row["wmark_s"],
                rate(n, row["wmark_s"]),
                times(row["vllm_s"] / row["wmark_s"]),
            )
        )
    shares = ", ".join("%.0f%% for %s" % (100 * row["prepare_s"] / row["vllm_s"], row["scheme"]) for row in rows)
    lines += [
        "",
        "Of vLLM's time, its `_prepare_inputs` (a Python loop over the ids that builds the contexts,",
        "then their tensors) took %s; the rest is torch's Philox," % shares,
        "the scores and the Gamma tail. The machine is shared (see the top of the page).",
        END,
    ]
    return "\n".join(lines)


def write_page(text):
    page = PAGE.read_text()
    if BEGIN in page and END in page:
        head, rest = page.split(BEGIN, 1)
        page = head + text + rest.split(END, 1)[1]
    else:
        page = page.rstrip("\n") + "\n\n" + text + "\n"
    PAGE.write_text(page)


def main():
    started = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", required=True, type=Path, help="the vllm-%s wheel" % VLLM_VERSION)
    ap.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "target" / "vllm-ref", help="where vLLM's files are extracted")
    ap.add_argument("--wmark", type=Path, default=REPO_ROOT / "target" / "release" / "wmark", help="the wmark binary")
    ap.add_argument("--tokens", type=int, default=1_000_000, help="how many token ids (default 10^6)")
    ap.add_argument("--write", action="store_true", help="write the table into docs/performance.md")
    args = ap.parse_args()

    if sys.version_info < (3, 11):
        sys.exit("vllm_bench: vLLM's files need Python >= 3.11 (this is %s)" % sys.version.split()[0])
    if args.tokens < 1:
        sys.exit("vllm_bench: --tokens must be positive")
    if not os.access(args.wmark, os.X_OK):
        sys.exit("vllm_bench: no wmark binary at %s (cargo build --release, or --wmark PATH)" % args.wmark)
    try:
        import pydantic  # noqa: F401  (vllm/config/watermarking.py imports it)
        import torch
    except ImportError as e:
        sys.exit("vllm_bench: %s; install torch and pydantic into %s" % (e, sys.executable))

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    cpu = pin_one_core()
    src = args.cache_dir / ("vllm-%s-src" % VLLM_VERSION)
    extract(args.wheel, src)
    _, gumbel = load_vllm(src)
    version = subprocess.run([str(args.wmark), "--version"], capture_output=True, text=True).stdout.strip()
    meta = {
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "cpu": cpu_model(),
        "pin": "none" if cpu is None else str(cpu),
    }
    n = args.tokens
    print(
        "vllm_bench: vllm %s, torch %s, %s, %s, CPU %s; %s ids, %d runs each"
        % (VLLM_VERSION, meta["torch"], version, meta["cpu"], meta["pin"], format(n, ","), RUNS),
        file=sys.stderr,
    )
    ids = make_ids(n)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vllm-bench-") as tmp:
        tmp = Path(tmp)
        key_file = tmp / "bench.key"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("wmark-vllm-key-v1:%d\n" % KEY)
        ids_file = tmp / "ids.json"
        ids_file.write_text(json.dumps(ids, separators=(",", ":")) + "\n")
        file_mb = ids_file.stat().st_size / 1e6
        for scheme, cls in SCHEMES:
            vllm_s, vllm_results = time_vllm(gumbel, cls, ids)
            print("  %-22s vLLM  %.3f s (median of %d)" % (scheme, vllm_s, RUNS), file=sys.stderr)
            prepare_s = time_vllm_prepare(gumbel, cls, ids)
            wmark_s, reports = time_wmark(args.wmark, scheme, key_file, ids_file, cpu)
            print("  %-22s wmark %.3f s (median of %d)" % (scheme, wmark_s, RUNS), file=sys.stderr)
            scored, score, worst = check(scheme, n, vllm_results, reports)
            print(
                "  %-22s scored %d, score %.10g, largest relative difference %.1e" % (scheme, scored, score, worst),
                file=sys.stderr,
            )
            rows.append({"scheme": scheme, "vllm_s": vllm_s, "prepare_s": prepare_s, "wmark_s": wmark_s})

    text = block(rows, n, file_mb, meta)
    table = [line for line in text.splitlines() if line.startswith("|")]
    print("\n".join(table))
    print("vllm_bench: took %.0f s" % (time.perf_counter() - started), file=sys.stderr)
    if args.write:
        write_page(text)
        print("vllm_bench: wrote %s" % PAGE.relative_to(REPO_ROOT), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
