#!/usr/bin/env python3
"""Checks with transformers' own code that text wmark generates with hf-synthid carries SynthID-Text.

The Python part of `scripts/hf-synthid-check` (which finds an interpreter with torch and
transformers, then runs this). It writes a fixed SynthID-Text key (30 layers) and six fixed
prompts to a temporary directory, has the wmark binary answer each prompt twice with SmolLM2
(`wmark generate --prompts`: once watermarked with `--scheme hf-synthid --ngram-len 5`, once
with `--no-watermark` as a control; 80 tokens, temperature 1, no top-k or top-p, fixed seeds),
then scores every answer's ids

  * with transformers' SynthIDTextWatermarkLogitsProcessor (its g-values, context-repetition
    and EOS masks and the mean g-value score, as scripts/hf_reference.py's synthid_score()), and
  * with `wmark detect --ids --json --scheme hf-synthid` and the same key,

checks that both agree on every answer (transformers' mask count is wmark's `scored`, its g-value
sum wmark's `score`, the mean scores agree to 1e-12) and that every watermarked answer scores above
0.5 (the controls' scores are only reported), and writes

    fixtures/vectors/hf-synthid-wmark.toml   the key, the settings and per answer its ids,
                                             transformers' g_sum, mask_count and mean_score and
                                             wmark's log10_p

    python scripts/hf_synthid_check.py [--wmark PATH] [--out-dir DIR] [--check]

Generation with a fixed seed is deterministic for a given wmark binary and model (wmark runs on
one thread here), and torch runs on one thread, so a rerun writes a byte-identical file.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from hf_reference import TORCH_VERSION, TRANSFORMERS_VERSION, synthid_score  # noqa: E402  (transformers' scoring)

from vllm_reference import toml_array, toml_tables, toml_value, write_fixtures  # noqa: E402  (the fixtures' TOML writer)

OUT = "hf-synthid-wmark.toml"
NGRAM_LEN = 5
SAMPLING_TABLE_SIZE = 65536
SAMPLING_TABLE_SEED = 0
CONTEXT_HISTORY_SIZE = 1024
VOCAB_SIZE = 49152  # SmolLM2's
EOS_TOKEN_ID = 2  # SmolLM2-Instruct's <|im_end|> (wmark never puts a stop token into the ids)
TOKENS = 80
TEMPERATURE, TOP_K, TOP_P = 1.0, 0, 1.0
# The 30 layer keys, drawn once: r = random.Random(0x5349_4403); [r.randrange(2**63) for _ in range(30)]
KEYS = [
    8713482879117042606,
    2123230131664285013,
    4998695446411916279,
    1425644906119207714,
    2280049742359575811,
    6723403868770581404,
    5005496745716754840,
    5690617304440192792,
    9157306469733403866,
    6393688847132173664,
    1278503936526430951,
    2786792569554387918,
    3511065387893101178,
    9076333315662825164,
    553949508254545653,
    6180513515346706371,
    7237490752903374811,
    1832004662875590086,
    6363490471874620301,
    5391611222466982930,
    4064538326321471200,
    6476341420250990807,
    4280609625227969074,
    6355630172654884733,
    2116501995638721647,
    5490337696824548454,
    4699452336296168059,
    4892923218754240216,
    3708014556781520127,
    7394263891669032744,
]
# (name, prompt, seed): each prompt is answered watermarked and (as a control) not, with the same seed.
PROMPTS = [
    ("sea-poem", "Write a short poem about the sea.", 101),
    ("blue-sky", "Explain why the sky is blue.", 102),
    ("language-tips", "Give three tips for learning a new language.", 103),
    ("weekend", "Describe a perfect weekend.", 104),
    ("pancakes", "How do I make pancakes?", 105),
    ("robot-story", "Tell me a short story about a robot.", 106),
]

DOC = """
Text the wmark binary generated with its hf-synthid watermark (its own Rust tournament
processor, SmolLM2-135M-Instruct), scored with transformers' SynthIDTextWatermarkLogitsProcessor
(transformers.generation.logits_process) and with `wmark detect --scheme hf-synthid`. The script
checks that both agree on every answer and that every watermarked answer's mean score is above
0.5. Keys are signed 64-bit integers, as torch holds them (the key file is
`wmark-synthid-key-v1:<keys, comma-separated>`).

ngram_len, keys, sampling_table_size, sampling_table_seed, context_history_size
             the processor's arguments (30 keys: 30 tournament layers); wmark generates and
             detects with the same key and --ngram-len (its table size and seed defaults are
             transformers')
vocab_size   SmolLM2's vocabulary (--vocab-size of wmark detect)
eos_token_id the EOS id given to compute_eos_token_mask (SmolLM2-Instruct's <|im_end|>; wmark
             forbids stop tokens before --min-tokens, so no answer holds one)
tokens, temperature, top_k, top_p
             wmark generate's --max-tokens (= --min-tokens), --temperature, --top-k, --top-p

[[answer]]   One answer of `wmark generate --prompts` (the model's chat template around prompt,
             its default system message), watermarked (--scheme hf-synthid --key) or a control
             (--no-watermark, same prompt and seed). Transformers scores the generated ids alone,
             as its generation hashes them (the context starts as ngram_len - 1 zeros, the
             prompt is not scored): the first scored n-gram ends at ids[ngram_len - 1].
  name         a label
  watermarked  false for a control
  prompt       the user message
  seed         wmark generate's sampling seed
  ids          the generated ids
  g_sum        transformers: the g-values equal to 1 over layers x unmasked n-grams (the mask
               SynthIDTextWatermarkDetector builds: compute_context_repetition_mask times
               compute_eos_token_mask[ngram_len - 1:]); wmark detect's `score`
  mask_count   transformers: the unmasked n-grams; wmark detect's `scored` (its default dedup,
               `window`, scores a context's first use)
  mean_score   g_sum / (mask_count * layers), in torch float64 on transformers' g-values and
               masks; wmark detect's `mean_score` (equal to 1e-12)
  wmark_log10_p  wmark detect's log10 p-value (the binomial tail of g_sum over
               mask_count * layers draws)
""".strip("\n").splitlines()


def header(provenance):
    text = ["# GENERATED FILE -- DO NOT EDIT (rerun scripts/hf-synthid-check instead).", "#"]
    text += ["# " + p for p in provenance]
    text.append("#")
    text += [("# " + line).rstrip() for line in DOC]
    return text


def default_wmark():
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    release = target / "release" / "wmark"
    return release if release.is_file() else target / "debug" / "wmark"


def run(cmd, env, ok=(0,)):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode not in ok:
        sys.exit("hf_synthid_check: %s exited with %d:\n%s" % (" ".join(map(str, cmd)), r.returncode, r.stderr))
    return r.stdout


def generate(wmark, env, tmp, watermarked, key):
    """Answers PROMPTS with wmark generate --prompts; returns {name: ids}."""
    kind = "wm" if watermarked else "control"
    prompts = tmp / ("prompts-%s.jsonl" % kind)
    out = tmp / ("answers-%s.jsonl" % kind)
    prompts.write_text("".join(json.dumps({"id": name, "prompt": p, "seed": seed}) + "\n" for name, p, seed in PROMPTS))
    cmd = [wmark, "generate", "--prompts", prompts, "--out", out]
    cmd += ["--max-tokens", TOKENS, "--min-tokens", TOKENS]
    cmd += ["--temperature", TEMPERATURE, "--top-k", TOP_K, "--top-p", TOP_P]
    if watermarked:
        cmd += ["--scheme", "hf-synthid", "--ngram-len", NGRAM_LEN, "--key", key]
    else:
        cmd += ["--no-watermark"]
    run([str(c) for c in cmd], env)
    seeds = {name: seed for name, _, seed in PROMPTS}
    answers = {}
    for line in out.read_text().splitlines():
        a = json.loads(line)
        if a["watermark"] != watermarked or a["seed"] != seeds.get(a["id"]):
            sys.exit("hf_synthid_check: unexpected answer %r" % line[:200])
        answers[a["id"]] = a["ids"]
    if sorted(answers) != sorted(n for n, _, _ in PROMPTS):
        sys.exit("hf_synthid_check: %s holds answers %s" % (out, sorted(answers)))
    return answers


def detect(wmark, env, tmp, key, docs):
    """wmark detect --ids --json on each list of ids in docs (one line each); its reports in order."""
    path = tmp / "ids.txt"
    path.write_text("".join(json.dumps(ids) + "\n" for ids in docs))
    cmd = [wmark, "detect", "--ids", "--json", "--scheme", "hf-synthid", "--ngram-len", NGRAM_LEN]
    cmd += ["--vocab-size", VOCAB_SIZE, "--key", key, path]
    # Exit 0: the watermark is in some document, 1: in none.
    reports = [json.loads(line) for line in run([str(c) for c in cmd], env, ok=(0, 1)).splitlines()]
    if len(reports) != len(docs):
        sys.exit("hf_synthid_check: wmark detect reported on %d of %d documents" % (len(reports), len(docs)))
    return reports


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wmark", type=Path, default=default_wmark(), help="the wmark binary (default: %(default)s)")
    ap.add_argument("--out-dir", type=Path, default=REPO_ROOT / "fixtures" / "vectors", help="where the fixture goes")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if the fixture on disk differs")
    args = ap.parse_args()

    try:
        import torch
        import transformers
        from transformers.generation.logits_process import SynthIDTextWatermarkLogitsProcessor
    except ImportError as e:
        sys.exit("hf_synthid_check: %s; install torch and transformers into %s" % (e, sys.executable))
    for name, have, want in (
        ("torch", torch.__version__, TORCH_VERSION),
        ("transformers", transformers.__version__, TRANSFORMERS_VERSION),
    ):
        if have.split("+")[0] != want:
            print("hf_synthid_check: warning: %s is %s, the fixture was made with %s" % (name, have, want), file=sys.stderr)
    wmark = args.wmark.resolve()
    if not os.access(wmark, os.X_OK):
        sys.exit("hf_synthid_check: no wmark binary at %s (build it, or give --wmark PATH)" % wmark)

    torch.set_num_threads(1)
    # One thread: the model's floats, hence the sampled ids, do not depend on the core count.
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    version = run([str(wmark), "--version"], env).strip()
    source = Path(transformers.__file__).parent
    digest = hashlib.sha256()
    for rel in ("generation/logits_process.py", "generation/watermarking.py"):
        digest.update(rel.encode() + b"\0" + (source / rel).read_bytes() + b"\0")
    provenance = [
        "Made by scripts/hf-synthid-check: %s generated the answers (SmolLM2-135M-Instruct)," % version,
        "transformers %s's own SynthID-Text code scored them (generation/logits_process.py and" % transformers.__version__,
        "generation/watermarking.py, sha256 %s) on CPU with torch %s." % (digest.hexdigest()[:16], torch.__version__),
    ]

    with tempfile.TemporaryDirectory(prefix="hf-synthid-check-") as d:
        tmp = Path(d)
        key = tmp / "synthid.key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("wmark-synthid-key-v1:%s\n" % ",".join(map(str, KEYS)))
        answers = []
        for watermarked in (True, False):
            ids = generate(wmark, env, tmp, watermarked, key)
            for name, prompt, seed in PROMPTS:
                answers.append((name + ("" if watermarked else "-control"), watermarked, prompt, seed, ids[name]))
        reports = detect(wmark, env, tmp, key, [a[4] for a in answers])

    processor = SynthIDTextWatermarkLogitsProcessor(
        ngram_len=NGRAM_LEN,
        keys=KEYS,
        sampling_table_size=SAMPLING_TABLE_SIZE,
        sampling_table_seed=SAMPLING_TABLE_SEED,
        context_history_size=CONTEXT_HISTORY_SIZE,
        device="cpu",
    )
    rows, failures = [], []
    for (name, watermarked, prompt, seed, ids), report in zip(answers, reports):
        hf = synthid_score(torch, processor, ids, EOS_TOKEN_ID)
        checks = [
            ("tokens", len(ids), TOKENS),
            ("eos_mask", hf["eos_mask"], "1" * len(ids)),
            ("mask_count vs wmark scored", hf["mask_count"], report["scored"]),
            ("g_sum vs wmark score", hf["g_sum"], report["score"]),
        ]
        for what, have, want in checks:
            if have != want:
                failures.append("%s: %s: %r != %r" % (name, what, have, want))
        if not abs(hf["mean_score"] - report["mean_score"]) <= 1e-12:
            failures.append("%s: mean_score %r != wmark's %r" % (name, hf["mean_score"], report["mean_score"]))
        if watermarked and not hf["mean_score"] > 0.5:
            failures.append("%s: watermarked, but its mean score is %r" % (name, hf["mean_score"]))
        rows.append(
            {
                "name": name,
                "watermarked": watermarked,
                "prompt": prompt,
                "seed": seed,
                "ids": ids,
                "g_sum": hf["g_sum"],
                "mask_count": hf["mask_count"],
                "mean_score": hf["mean_score"],
                "wmark_log10_p": report["log10_p"],
            }
        )

    print("%-22s %-11s %6s %8s %11s %13s" % ("answer", "watermarked", "tokens", "scored", "mean score", "log10 p"))
    print("%-22s %-11s %6s %8s %11s %13s" % ("", "", "", "", "(transf.)", "(wmark)"))
    for r in rows:
        wm = "yes" if r["watermarked"] else "no"
        cells = (r["name"], wm, len(r["ids"]), r["mask_count"], r["mean_score"], r["wmark_log10_p"])
        print("%-22s %-11s %6d %8d %11.4f %13.2f" % cells)
    if failures:
        print("hf_synthid_check: transformers and wmark disagree (nothing written):", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("transformers and wmark agree on all %d answers; every watermarked mean score is above 0.5" % len(rows))

    lines = header(provenance)
    lines.append("")
    lines.append("ngram_len = %d" % NGRAM_LEN)
    lines.append(toml_array("keys", KEYS))
    for k, v in (
        ("sampling_table_size", SAMPLING_TABLE_SIZE),
        ("sampling_table_seed", SAMPLING_TABLE_SEED),
        ("context_history_size", CONTEXT_HISTORY_SIZE),
        ("vocab_size", VOCAB_SIZE),
        ("eos_token_id", EOS_TOKEN_ID),
        ("tokens", TOKENS),
        ("temperature", TEMPERATURE),
        ("top_k", TOP_K),
        ("top_p", TOP_P),
    ):
        lines.append("%s = %s" % (k, toml_value(v)))
    lines += toml_tables("answer", rows)
    text = "\n".join(lines) + "\n"
    n_wm = sum(r["watermarked"] for r in rows)
    summary = "%d watermarked, %d control answers" % (n_wm, len(rows) - n_wm)
    stale = write_fixtures([(OUT, text, summary)], args.out_dir, args.check)
    if stale:
        print("hf_synthid_check: regenerate with scripts/hf-synthid-check: %s" % ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
