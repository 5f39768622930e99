#!/usr/bin/env python3
"""Hugging Face transformers' own KGW WatermarkDetector beside `wmark detect`, on the same ids, one core.

The Python part of `scripts/hf-bench` (which finds an interpreter with torch and transformers,
then runs this). It makes N pseudo-random token ids (fixed seed, V = 128,256) and, for
lefthash (context width 1) and selfhash (context width 4), gamma 0.25 and hashing_key
15485863, times

    HF     WatermarkDetector(config, "cpu", WatermarkingConfig(...), ignore_repeated_ngrams=True)
           and one call detector(ids, return_dict=True), in this process (torch on one thread;
           the ids are already a LongTensor of shape (1, N));
    wmark  the whole process `wmark detect --ids --scheme hf-lefthash|hf-selfhash
           --context-width W --gamma 0.25 --vocab-size 128256 --key K --json FILE`, FILE
           holding the ids as one JSON array line (RAYON_NUM_THREADS=1, under `taskset -c CPU`
           when taskset exists): start-up, reading and parsing the line, scoring, the p-value
           and the JSON report.

Both are wall-clock medians of 3 runs, on the one CPU this process pins itself to. Every run
checks that wmark's `scored` and `green` equal HF's `num_tokens_scored` and `num_green_tokens`
(wmark's default tuple dedup counts each distinct n-gram once, as ignore_repeated_ngrams=True);
a mismatch exits 1 before anything is written. One more, instrumented HF run per scheme says
where HF's time goes. It prints a table of tokens/s; with --write it also puts the table in
docs/performance.md between `<!-- hf-bench:begin -->` and `<!-- hf-bench:end -->`.

    python scripts/hf_bench.py [--wmark PATH] [--tokens N] [--write]

Needs Python >= 3.10, torch and transformers (as scripts/hf_reference.py).
"""

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hf_reference import TORCH_VERSION, TRANSFORMERS_VERSION
from vllm_bench import cpu_model, pin_one_core, rate, time_wmark_detect, times

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE = REPO_ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- hf-bench:begin -->", "<!-- hf-bench:end -->"
# The block goes after scripts/vllm-bench's when the page has no hf-bench block yet.
AFTER = "<!-- vllm-bench:end -->"
VOCAB = 128_256
GAMMA = 0.25
# transformers' default hashing_key (nothing secret).
KEY = 15485863
SEED = 0x5EED_B0B
RUNS = 3
# (wmark's scheme, transformers' seeding_scheme, context width)
SCHEMES = [
    ("hf-lefthash", "lefthash", 1),
    ("hf-selfhash", "selfhash", 4),
]


def fail(message):
    print("hf_bench: FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def make_ids(n):
    rng = random.Random(SEED)
    return [rng.randrange(VOCAB) for _ in range(n)]


def model_config(transformers, ids):
    """A model config with vocabulary V whose BOS never occurs in the ids, so the detector drops
    nothing (scripts/hf_reference.py's detect_rows passes bos_token_id=None to the private
    `_score_ngrams_in_passage`; the public call of transformers 5.24 fails with None, as it
    compares the first id with it and hands the Python bool to `torch.any`)."""
    present = set(ids)
    bos = next(t for t in range(VOCAB) if t not in present)
    return transformers.PreTrainedConfig(vocab_size=VOCAB, bos_token_id=bos)


def watermarking_config(transformers, seeding, width):
    return transformers.WatermarkingConfig(
        greenlist_ratio=GAMMA, hashing_key=KEY, seeding_scheme=seeding, context_width=width
    )


def detect_hf(detector_cls, config, wm, x):
    return detector_cls(model_config=config, device="cpu", watermarking_config=wm, ignore_repeated_ngrams=True)(
        x, return_dict=True
    )


def time_hf(detector_cls, config, wm, x):
    """(median seconds, [results]) of RUNS constructions + detector(x, return_dict=True)."""
    took, results = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        result = detect_hf(detector_cls, config, wm, x)
        took.append(time.perf_counter() - t0)
        results.append(result)
    return statistics.median(took), results


def timed(fn, totals, name):
    """fn, adding the seconds each call takes to totals[name]."""

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - t0

    return wrapper


def profile_hf(detector_cls, config, wm, x):
    """Where one HF run's time goes: seconds of the whole run, of the construction, of every
    per-n-gram lookup (`_get_ngram_score_cached`), of the green lists inside them
    (`processor._get_greenlist_ids`) and of the seeding inside those (`processor.set_seed`).
    The timers wrap the detector's own bound methods on this one instance; nothing else changes."""
    totals = {"ngram": 0.0, "greenlist": 0.0, "seed": 0.0}
    t0 = time.perf_counter()
    detector = detector_cls(model_config=config, device="cpu", watermarking_config=wm, ignore_repeated_ngrams=True)
    built = time.perf_counter()
    processor = detector.processor
    processor.set_seed = timed(processor.set_seed, totals, "seed")
    processor._get_greenlist_ids = timed(processor._get_greenlist_ids, totals, "greenlist")
    detector._get_ngram_score_cached = timed(detector._get_ngram_score_cached, totals, "ngram")
    detector(x, return_dict=True)
    done = time.perf_counter()
    return dict(totals, total=done - t0, construct=built - t0)


def time_wmark(wmark, scheme, width, key_file, ids_file, cpu):
    """(median seconds, [parsed reports]) of RUNS whole `wmark detect` processes."""
    args = ["--scheme", scheme, "--context-width", str(width), "--gamma", str(GAMMA), "--vocab-size", str(VOCAB)]
    return time_wmark_detect(wmark, args, key_file, ids_file, cpu)


def counts(result):
    """(num_tokens_scored, num_green_tokens) of HF's output for the one sequence, as integers."""
    scored, green = float(result.num_tokens_scored[0]), float(result.num_green_tokens[0])
    if scored != int(scored) or green != int(green):
        fail("HF's counts are not integers: %r, %r" % (scored, green))
    return int(scored), int(green)


def check(scheme, width, n, hf_results, wmark_reports):
    """Fails loudly unless every run of both agrees: the same scored and green counts."""
    first = counts(hf_results[0])
    for r in hf_results[1:]:
        if counts(r) != first:
            fail("%s: HF's runs differ: %r vs %r" % (scheme, counts(r), first))
    for report in wmark_reports:
        if report.get("scheme") != "%s:%d" % (scheme, width):
            fail("%s: wmark reports scheme %r" % (scheme, report.get("scheme")))
        if report.get("tokens") != n:
            fail("%s: wmark read %r tokens, not %d" % (scheme, report.get("tokens"), n))
        got = (report.get("scored"), report.get("green"))
        if got != first:
            fail("%s: wmark scored %r, green %r; HF num_tokens_scored %d, num_green_tokens %d" % ((scheme,) + got + first))
    return first


def block(rows, n, file_mb, meta):
    lines = [
        BEGIN,
        "## transformers' KGW detector beside wmark's",
        "",
        "Written by `scripts/hf-bench` on %s; opt-in, as it needs torch and transformers (neither" % meta["date"],
        "`scripts/bench-report` nor CI runs it). transformers %s's own `WatermarkDetector`" % meta["transformers"],
        "(greenlist_ratio %g, hashing_key %d, `ignore_repeated_ngrams=True`), run on CPU with" % (GAMMA, KEY),
        "torch %s on one thread, against `wmark detect --ids --scheme hf-lefthash|hf-selfhash" % meta["torch"],
        "--gamma %g` (its default tuple dedup), on the same %s pseudo-random token ids" % (GAMMA, format(n, ",")),
        "(V = %s), one core (%s, pinned to CPU %s)." % (format(VOCAB, ","), meta["cpu"], meta["pin"]),
        "Wall-clock medians of %d runs. HF's time is the detector's construction and one" % RUNS,
        "`detector(ids, return_dict=True)` call inside a Python process that has already imported",
        "torch and transformers and holds the ids as a LongTensor; wmark's is the whole process:",
        "start-up, reading the %.2f MB file that holds the ids as one JSON array line and parsing it," % file_mb,
        "scoring, the p-value and the JSON report. In every run wmark's scored and green counts",
        "equalled HF's `num_tokens_scored` and `num_green_tokens`.",
        "",
        "| scheme | tokens | HF detector | HF tokens/s | wmark process | wmark tokens/s | wmark / HF |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            "| %s | %s | %.1f s | %s | %.3f s | %s | %s |"
            % (
                row["scheme"],
                format(n, ","),
                row["hf_s"],
                rate(n, row["hf_s"]),
                row["wmark_s"],
                rate(n, row["wmark_s"]),
                times(row["hf_s"] / row["wmark_s"]),
            )
        )
    parts = []
    for row in rows:
        p = row["profile"]
        share = {k: 100 * v / p["total"] for k, v in p.items()}
        parts.append(
            "%.0f%% / %.0f%% / %.0f%% / %.0f%% for %s"
            % (
                share["greenlist"] - share["seed"],
                share["seed"],
                share["ngram"] - share["greenlist"],
                100 - share["ngram"],
                row["scheme"],
            )
        )
    lines += [
        "",
        "Where HF's time goes (one more run per scheme, with timers around the detector's own",
        "methods): `torch.randperm(V)` for each distinct n-gram's green list / seeding the generator",
        "(`set_seed`) / the membership test / the rest (construction, which draws a permutation of",
        "1,000,003, and the loop over the n-grams): %s." % "; ".join(parts),
        "The machine is shared (see the top of the page).",
        END,
    ]
    return "\n".join(lines)


def write_page(text):
    page = PAGE.read_text()
    if BEGIN in page and END in page:
        head, rest = page.split(BEGIN, 1)
        page = head + text + rest.split(END, 1)[1]
    elif AFTER in page:
        head, rest = page.split(AFTER, 1)
        page = head + AFTER + "\n\n" + text + rest
    else:
        page = page.rstrip("\n") + "\n\n" + text + "\n"
    PAGE.write_text(page)


def main():
    started = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wmark", type=Path, default=REPO_ROOT / "target" / "release" / "wmark", help="the wmark binary")
    ap.add_argument("--tokens", type=int, default=20_000, help="how many token ids (default 20,000)")
    ap.add_argument("--write", action="store_true", help="write the table into docs/performance.md")
    args = ap.parse_args()

    if args.tokens < 5:
        sys.exit("hf_bench: --tokens must be at least 5 (selfhash's context width is 4)")
    if not os.access(args.wmark, os.X_OK):
        sys.exit("hf_bench: no wmark binary at %s (cargo build --release, or --wmark PATH)" % args.wmark)
    try:
        import torch
        import transformers
        from transformers.generation.watermarking import WatermarkDetector
    except ImportError as e:
        sys.exit("hf_bench: %s; install torch and transformers into %s" % (e, sys.executable))
    for name, have, want in (
        ("torch", torch.__version__, TORCH_VERSION),
        ("transformers", transformers.__version__, TRANSFORMERS_VERSION),
    ):
        if have.split("+")[0] != want:
            print("hf_bench: warning: %s is %s, scripts/hf-reference pins %s" % (name, have, want), file=sys.stderr)

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    cpu = pin_one_core()
    version = subprocess.run([str(args.wmark), "--version"], capture_output=True, text=True).stdout.strip()
    meta = {
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu": cpu_model(),
        "pin": "none" if cpu is None else str(cpu),
    }
    n = args.tokens
    print(
        "hf_bench: transformers %s, torch %s, %s, %s, CPU %s; %s ids, %d runs each"
        % (meta["transformers"], meta["torch"], version, meta["cpu"], meta["pin"], format(n, ","), RUNS),
        file=sys.stderr,
    )
    ids = make_ids(n)
    x = torch.tensor([ids], dtype=torch.long)
    config = model_config(transformers, ids)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hf-bench-") as tmp:
        tmp = Path(tmp)
        key_file = tmp / "bench.key"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("wmark-hf-key-v1:%d\n" % KEY)
        ids_file = tmp / "ids.json"
        ids_file.write_text(json.dumps(ids, separators=(",", ":")) + "\n")
        file_mb = ids_file.stat().st_size / 1e6
        for scheme, seeding, width in SCHEMES:
            wm = watermarking_config(transformers, seeding, width)
            hf_s, hf_results = time_hf(WatermarkDetector, config, wm, x)
            print("  %-12s HF    %.2f s (median of %d)" % (scheme, hf_s, RUNS), file=sys.stderr)
            wmark_s, reports = time_wmark(args.wmark, scheme, width, key_file, ids_file, cpu)
            print("  %-12s wmark %.3f s (median of %d)" % (scheme, wmark_s, RUNS), file=sys.stderr)
            scored, green = check(scheme, width, n, hf_results, reports)
            print("  %-12s scored %d, green %d (both)" % (scheme, scored, green), file=sys.stderr)
            profile = profile_hf(WatermarkDetector, config, wm, x)
            print(
                "  %-12s HF profile: %s"
                % (scheme, ", ".join("%s %.2f s" % (k, v) for k, v in sorted(profile.items()))),
                file=sys.stderr,
            )
            rows.append({"scheme": "%s:%d" % (scheme, width), "hf_s": hf_s, "wmark_s": wmark_s, "profile": profile})

    text = block(rows, n, file_mb, meta)
    table = [line for line in text.splitlines() if line.startswith("|")]
    print("\n".join(table))
    print("hf_bench: took %.0f s" % (time.perf_counter() - started), file=sys.stderr)
    if args.write:
        write_page(text)
        print("hf_bench: wrote %s" % PAGE.relative_to(REPO_ROOT), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
