#!/usr/bin/env python3
"""Hugging Face transformers' own KGW and SynthID-Text detection beside `wmark detect`, on the same ids, one core.

The Python part of `scripts/hf-bench` (which finds an interpreter with torch and transformers,
then runs this). It makes N pseudo-random token ids (fixed seed, V = 128,256) and times, for
KGW's lefthash (context width 1) and selfhash (context width 4), gamma 0.25 and hashing_key
15485863,

    HF     WatermarkDetector(config, "cpu", WatermarkingConfig(...), ignore_repeated_ngrams=True)
           and one call detector(ids, return_dict=True), in this process (torch on one thread;
           the ids are already a LongTensor of shape (1, N));
    wmark  the whole process `wmark detect --ids --scheme hf-lefthash|hf-selfhash
           --context-width W --gamma 0.25 --vocab-size 128256 --key K --json FILE`, FILE
           holding the ids as one JSON array line (RAYON_NUM_THREADS=1, under `taskset -c CPU`
           when taskset exists): start-up, reading and parsing the line, scoring, the p-value
           and the JSON report;

and, for SynthID-Text (ngram_len 5, 30 fixed layer keys, the default sampling table: size
65,536, seed 0),

    HF     SynthIDTextWatermarkLogitsProcessor(ngram_len=5, keys, sampling_table_size=65536,
           sampling_table_seed=0, context_history_size=N, device="cpu"), then its
           compute_g_values(ids), compute_context_repetition_mask(ids) and
           compute_eos_token_mask(ids, V) (V: an EOS no id takes) and the mean g-value over the
           kept n-grams: what SynthIDTextWatermarkDetector does before its Bayesian or mean
           detector (scripts/hf_reference.py's synthid_detect). context_history_size = N makes
           the repetition mask cover the whole text, as wmark's whole-document context dedup;
    wmark  the whole process `wmark detect --ids --scheme hf-synthid --ngram-len 5
           --vocab-size 128256 --key K --json FILE`, as above.

All are wall-clock medians of 3 runs, on the one CPU this process pins itself to (--cpu N;
default 0, or the lowest allowed CPU). Every run checks that wmark's `scored` and `green`
equal HF's `num_tokens_scored` and `num_green_tokens` (wmark's default tuple dedup counts each
distinct n-gram once, as ignore_repeated_ngrams=True) and, for SynthID-Text, that wmark's
`scored` and `score` equal transformers' kept n-gram count and g-value sum; a mismatch exits 1
before anything is written. One more, instrumented HF run per KGW scheme says where HF's time
goes (for SynthID-Text the timed runs time each call). It prints a table of tokens/s; with
--write it also puts the table in docs/performance.md between `<!-- hf-bench:begin -->` and
`<!-- hf-bench:end -->`.

    python scripts/hf_bench.py [--wmark PATH] [--tokens N] [--cpu N] [--write]

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

from hf_reference import TORCH_VERSION, TRANSFORMERS_VERSION, synthid_detect
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
# SynthID-Text: transformers' ngram_len, default sampling table, and 30 layer keys drawn once
# (signed 64-bit, as torch holds them; nothing secret).
SYNTHID_SCHEME = "hf-synthid"
NGRAM_LEN = 5
TABLE_SIZE = 65536
TABLE_SEED = 0
_keys_rng = random.Random(0x5EED_5171D)
SYNTHID_KEYS = [_keys_rng.randrange(-(2**63), 2**63) for _ in range(30)]
# An EOS id no id takes (the ids are below VOCAB), so the EOS mask keeps every n-gram.
EOS = VOCAB


def fail(message):
    print("hf_bench: FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def pin(cpu):
    """Pins this process (and so its children) to CPU cpu, or as vllm_bench.pin_one_core does
    when cpu is None. Returns the CPU, or None if this system cannot pin."""
    if cpu is None:
        return pin_one_core()
    if not hasattr(os, "sched_setaffinity"):
        sys.exit("hf_bench: --cpu: this system cannot pin a process to a CPU")
    allowed = os.sched_getaffinity(0)
    if cpu not in allowed:
        sys.exit("hf_bench: --cpu %d is not among the allowed CPUs %s" % (cpu, sorted(allowed)))
    os.sched_setaffinity(0, {cpu})
    return cpu


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
    return transformers.WatermarkingConfig(greenlist_ratio=GAMMA, hashing_key=KEY, seeding_scheme=seeding, context_width=width)


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


def synthid_processor(processor_cls, n):
    return processor_cls(
        ngram_len=NGRAM_LEN,
        keys=SYNTHID_KEYS,
        sampling_table_size=TABLE_SIZE,
        sampling_table_seed=TABLE_SEED,
        context_history_size=n,
        device="cpu",
    )


def time_hf_synthid(processor_cls, x, n):
    """(median seconds, [(g_sum, mask_count, mean_score)], stage seconds of the median run) of
    RUNS constructions + synthid_detect(processor, x, EOS). The stages: construction (which
    draws the sampling table), compute_g_values, compute_context_repetition_mask and the rest
    (the EOS mask and the sums), timed around the processor's own bound methods."""
    runs = []
    for _ in range(RUNS):
        totals = {"g": 0.0, "repetition": 0.0}
        t0 = time.perf_counter()
        p = synthid_processor(processor_cls, n)
        built = time.perf_counter()
        p.compute_g_values = timed(p.compute_g_values, totals, "g")
        p.compute_context_repetition_mask = timed(p.compute_context_repetition_mask, totals, "repetition")
        _, _, _, g_sum, mask_count, mean_score = synthid_detect(p, x, EOS)
        done = time.perf_counter()
        runs.append((done - t0, (g_sum, mask_count, mean_score), dict(totals, total=done - t0, construct=built - t0)))
    runs.sort(key=lambda r: r[0])
    return runs[len(runs) // 2][0], [r[1] for r in runs], runs[len(runs) // 2][2]


def time_wmark_synthid(wmark, key_file, ids_file, cpu):
    """(median seconds, [parsed reports]) of RUNS whole `wmark detect --scheme hf-synthid` processes."""
    args = ["--scheme", SYNTHID_SCHEME, "--ngram-len", str(NGRAM_LEN), "--vocab-size", str(VOCAB)]
    return time_wmark_detect(wmark, args, key_file, ids_file, cpu)


def check_synthid(n, hf_results, wmark_reports):
    """Fails loudly unless every run of both agrees: wmark's scored and score equal transformers'
    kept n-gram count (mask_count) and g-value sum (g_sum)."""
    first = hf_results[0]
    for r in hf_results[1:]:
        if r[:2] != first[:2]:
            fail("%s: HF's runs differ: %r vs %r" % (SYNTHID_SCHEME, r, first))
    g_sum, mask_count, mean_score = first
    for report in wmark_reports:
        if report.get("scheme") != "%s:%d" % (SYNTHID_SCHEME, NGRAM_LEN):
            fail("%s: wmark reports scheme %r" % (SYNTHID_SCHEME, report.get("scheme")))
        if report.get("tokens") != n:
            fail("%s: wmark read %r tokens, not %d" % (SYNTHID_SCHEME, report.get("tokens"), n))
        got = (report.get("scored"), report.get("score"))
        if got != (mask_count, g_sum):
            fail(
                "%s: wmark scored %r, score %r; transformers kept %d n-grams, g-value sum %d"
                % ((SYNTHID_SCHEME,) + got + (mask_count, g_sum))
            )
    return g_sum, mask_count, mean_score


def block(rows, n, file_mb, meta):
    lines = [
        BEGIN,
        "## transformers' detectors beside wmark's",
        "",
        "Written by `scripts/hf-bench` on %s; opt-in, as it needs torch and transformers (neither" % meta["date"],
        "`scripts/bench-report` nor CI runs it). transformers %s's own `WatermarkDetector`" % meta["transformers"],
        "(greenlist_ratio %g, hashing_key %d, `ignore_repeated_ngrams=True`), run on CPU with" % (GAMMA, KEY),
        "torch %s on one thread, against `wmark detect --ids --scheme hf-lefthash|hf-selfhash" % meta["torch"],
        "--gamma %g` (its default tuple dedup); and transformers' SynthID-Text scoring as its" % GAMMA,
        "`SynthIDTextWatermarkDetector` pipeline does it (ngram_len %d, %d layer keys, the default"
        % (NGRAM_LEN, len(SYNTHID_KEYS)),
        "sampling table: size %s, seed %d) against `wmark detect --ids --scheme hf-synthid"
        % (format(TABLE_SIZE, ","), TABLE_SEED),
        "--ngram-len %d`; all on the same %s pseudo-random token ids (V = %s), one core"
        % (NGRAM_LEN, format(n, ","), format(VOCAB, ",")),
        "(%s, pinned to CPU %s)." % (meta["cpu"], meta["pin"]),
        "Wall-clock medians of %d runs. HF's KGW time is the detector's construction and one" % RUNS,
        "`detector(ids, return_dict=True)` call; its SynthID-Text time is the construction of",
        '`SynthIDTextWatermarkLogitsProcessor(..., context_history_size=%d, device="cpu")`' % n,
        "(context_history_size = the number of ids, so its context-repetition mask covers the whole",
        "text, as wmark's whole-document context dedup; transformers' default of 1,024 would",
        "only look back that far) and its `compute_g_values`, `compute_context_repetition_mask`",
        "and `compute_eos_token_mask` (an EOS no id takes) on the ids, then the mean g-value over",
        "the kept n-grams. Both run inside a Python process that has already imported torch and",
        "transformers and holds the ids as a LongTensor; wmark's time is the whole process:",
        "start-up, reading the %.2f MB file that holds the ids as one JSON array line and parsing it," % file_mb,
        "scoring, the p-value and the JSON report. In every run wmark's scored and green counts",
        "equalled HF's `num_tokens_scored` and `num_green_tokens`, and for SynthID-Text wmark's",
        "scored and score equalled transformers' kept n-gram count and g-value sum.",
        "",
        "| scheme | tokens | HF detector | HF tokens/s | wmark process | wmark tokens/s | wmark / HF |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            "| %s | %s | %s s | %s | %.3f s | %s | %s |"
            % (
                row["scheme"],
                format(n, ","),
                ("%.1f" if row["hf_s"] >= 10 else "%.2f") % row["hf_s"],
                rate(n, row["hf_s"]),
                row["wmark_s"],
                rate(n, row["wmark_s"]),
                times(row["hf_s"] / row["wmark_s"]),
            )
        )
    parts, synthid_parts = [], []
    for row in rows:
        p = row["profile"]
        share = {k: 100 * v / p["total"] for k, v in p.items()}
        if "g" in p:
            synthid_parts.append(
                "%.3f s / %.3f s / %.2f s / %.3f s of %.2f s for %s"
                % (
                    p["construct"],
                    p["g"],
                    p["repetition"],
                    p["total"] - p["construct"] - p["g"] - p["repetition"],
                    p["total"],
                    row["scheme"],
                )
            )
            continue
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
        "Where HF's KGW time goes (one more run per scheme, with timers around the detector's own",
        "methods): `torch.randperm(V)` for each distinct n-gram's green list / seeding the generator",
        "(`set_seed`) / the membership test / the rest (construction, which draws a permutation of",
        "1,000,003, and the loop over the n-grams): %s." % "; ".join(parts),
    ]
    if synthid_parts:
        lines += [
            "SynthID-Text's (the median timed run, with timers around the processor's own methods):",
            "construction (the sampling table) / `compute_g_values` / `compute_context_repetition_mask`,",
            "a Python loop over the contexts that compares each hash with the whole history / the",
            "rest (the EOS mask and the sums): %s." % "; ".join(synthid_parts),
        ]
    lines += [
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
    ap.add_argument("--cpu", type=int, default=None, help="the CPU to pin to (default 0, or the lowest allowed)")
    ap.add_argument("--write", action="store_true", help="write the table into docs/performance.md")
    args = ap.parse_args()

    if args.tokens < 5:
        sys.exit("hf_bench: --tokens must be at least 5 (selfhash's context width is 4, SynthID-Text's ngram_len 5)")
    if not os.access(args.wmark, os.X_OK):
        sys.exit("hf_bench: no wmark binary at %s (cargo build --release, or --wmark PATH)" % args.wmark)
    try:
        import torch
        import transformers
        from transformers.generation.logits_process import SynthIDTextWatermarkLogitsProcessor
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
    cpu = pin(args.cpu)
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
        synthid_key_file = tmp / "synthid.key"
        fd = os.open(synthid_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("wmark-synthid-key-v1:%s\n" % ",".join(str(k) for k in SYNTHID_KEYS))
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
                "  %-12s HF profile: %s" % (scheme, ", ".join("%s %.2f s" % (k, v) for k, v in sorted(profile.items()))),
                file=sys.stderr,
            )
            rows.append({"scheme": "%s:%d" % (scheme, width), "hf_s": hf_s, "wmark_s": wmark_s, "profile": profile})
        name = "%s:%d" % (SYNTHID_SCHEME, NGRAM_LEN)
        hf_s, hf_results, profile = time_hf_synthid(SynthIDTextWatermarkLogitsProcessor, x, n)
        print("  %-12s HF    %.2f s (median of %d)" % (name, hf_s, RUNS), file=sys.stderr)
        wmark_s, reports = time_wmark_synthid(args.wmark, synthid_key_file, ids_file, cpu)
        print("  %-12s wmark %.3f s (median of %d)" % (name, wmark_s, RUNS), file=sys.stderr)
        g_sum, kept, mean_score = check_synthid(n, hf_results, reports)
        print(
            "  %-12s scored %d, score %d (both); HF mean score %.6f, wmark %r"
            % (name, kept, g_sum, mean_score, reports[0].get("mean_score")),
            file=sys.stderr,
        )
        print(
            "  %-12s HF stages: %s" % (name, ", ".join("%s %.2f s" % (k, v) for k, v in sorted(profile.items()))),
            file=sys.stderr,
        )
        rows.append({"scheme": name, "hf_s": hf_s, "wmark_s": wmark_s, "profile": profile})

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
