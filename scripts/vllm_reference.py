#!/usr/bin/env python3
"""Runs vLLM 0.33.0's own watermarking code and writes the vLLM reference fixtures.

The Python part of `scripts/vllm-reference` (which finds an interpreter with torch and the
wheel, then runs this). It extracts from vLLM's PyPI wheel only `vllm/v1/watermarking/**` and
`vllm/config/watermarking.py`, loads those real files with small stand-ins for the three
things they import from the rest of vLLM, runs them on CPU torch and writes

    fixtures/vectors/vllm-philox.toml   vLLM's key derivation, Philox uniforms and Gumbel-max choices
    fixtures/vectors/vllm-detect.toml   what vLLM's detectors return for token sequences
    fixtures/vectors/vllm-accepts.toml  vLLM's detectors run on answers wmark generated
                                        (fixtures/vllm-answers/*.jsonl)

which wmark's Rust tests check its vLLM-compatible schemes against. Nothing of vLLM is kept
in the repository: its files are extracted under the cache directory (target/vllm-ref/).

    python scripts/vllm_reference.py --wheel vllm-0.33.0-....whl [--cache-dir DIR] [--check]

Every input comes from fixed seeds (torch.Generator, random.Random) and torch runs on one
thread, so a rerun with the same torch writes byte-identical files. Needs Python >= 3.11
(vLLM's files use typing.Self), torch and pydantic.
"""

import argparse
import hashlib
import importlib
import json
import logging
import math
import random
import struct
import sys
import types
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VLLM_VERSION = "0.33.0"
# What is extracted from the wheel: vLLM's watermarking package and its configuration module.
EXTRACT_PREFIX = "vllm/v1/watermarking/"
EXTRACT_FILES = ("vllm/config/watermarking.py",)
# Files that must be among them (the ones this script runs).
REQUIRED = (
    "vllm/config/watermarking.py",
    "vllm/v1/watermarking/__init__.py",
    "vllm/v1/watermarking/detector.py",
    "vllm/v1/watermarking/gumbel.py",
    "vllm/v1/watermarking/watermarker.py",
    "vllm/v1/watermarking/prfs/__init__.py",
    "vllm/v1/watermarking/prfs/base.py",
    "vllm/v1/watermarking/prfs/philox.py",
)
PHILOX_OUT = "vllm-philox.toml"
DETECT_OUT = "vllm-detect.toml"
ACCEPTS_OUT = "vllm-accepts.toml"
U64_MAX = 2**64 - 1
MASK32 = 2**32 - 1


# ---------------------------------------------------------------------------
# Extracting and loading vLLM's files
# ---------------------------------------------------------------------------


def extract(wheel, dest):
    """Extracts the watermarking files of `wheel` under `dest` (idempotent: files whose bytes
    are already there are not rewritten; stale ones are removed). Returns the sha256 of the
    extracted sources (path and bytes of each, in path order)."""
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(n for n in zf.namelist() if (n.startswith(EXTRACT_PREFIX) and n.endswith(".py")) or n in EXTRACT_FILES)
        dist_info = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = zf.read(dist_info[0]).decode("utf-8", "replace") if dist_info else ""
        version = next((line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Version:")), "")
        if version != VLLM_VERSION:
            sys.exit("vllm_reference: %s is vllm %r, not %s" % (wheel, version, VLLM_VERSION))
        missing = [n for n in REQUIRED if n not in names]
        if missing:
            sys.exit("vllm_reference: %s lacks %s" % (wheel, ", ".join(missing)))
        digest = hashlib.sha256()
        wanted = set()
        for name in names:
            data = zf.read(name)
            digest.update(name.encode() + b"\0" + data + b"\0")
            path = dest / name
            wanted.add(path)
            if path.is_file() and path.read_bytes() == data:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for path in (dest / "vllm").rglob("*.py"):
        if path not in wanted:
            path.unlink()
    return digest.hexdigest()


class _OnceLogger(logging.Logger):
    """Stand-in for vLLM's logger: a Logger with `warning_once` (and `info_once`)."""

    def __init__(self, name):
        super().__init__(name)
        self._seen = set()

    def _once(self, level, msg, *args, scope=None, **kwargs):
        if (level, msg, args) not in self._seen:
            self._seen.add((level, msg, args))
            self.log(level, msg, *args, **kwargs)

    def warning_once(self, msg, *args, **kwargs):
        self._once(logging.WARNING, msg, *args, **kwargs)

    def info_once(self, msg, *args, **kwargs):
        self._once(logging.INFO, msg, *args, **kwargs)


def _init_logger(name):
    logger = _OnceLogger(name)
    logger.addHandler(logging.StreamHandler(sys.stderr))
    return logger


def _config(cls=None, *, config=None, **kwargs):
    """Stand-in for `vllm.config.utils.config`: a pydantic dataclass forbidding extra fields."""
    from pydantic import ConfigDict
    from pydantic.dataclasses import dataclass

    merged = ConfigDict(extra="forbid")
    if config is not None:
        merged.update(config)

    def decorate(c):
        return dataclass(c, config=merged, **kwargs)

    return decorate if cls is None else decorate(cls)


def _gumbel_sample(*args, **kwargs):
    """Stand-in for vLLM's GPU sampler (`vllm.v1.worker.gpu.sample.gumbel.gumbel_sample`):
    imported by the watermarking package, never called by the CPU paths this script runs."""
    raise RuntimeError("vllm_reference: vLLM's GPU gumbel_sample is not available on CPU")


def load_vllm(src):
    """Imports vLLM's real watermarking modules from `src` (the extraction directory), with
    stand-in modules for the parts of vLLM they import. Returns (config.watermarking, gumbel)."""

    def module(name, path=None, **attrs):
        m = types.ModuleType(name)
        if path is not None:
            m.__path__ = [str(path)] if path else []  # a package: [] finds no submodule
        for key, value in attrs.items():
            setattr(m, key, value)
        sys.modules[name] = m
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, m)
        return m

    if "vllm" in sys.modules:
        sys.exit("vllm_reference: a module named vllm is already imported")
    root = src / "vllm"
    # Packages whose submodules are the extracted files.
    module("vllm", root)
    module("vllm.config", root / "config")
    module("vllm.v1", root / "v1")
    # Stand-ins for the rest of vLLM that the watermarking files import.
    module("vllm.config.utils", config=_config)
    module("vllm.logger", init_logger=_init_logger)
    module("vllm.v1.worker", "")
    module("vllm.v1.worker.gpu", "")
    module("vllm.v1.worker.gpu.sample", "")
    module("vllm.v1.worker.gpu.sample.gumbel", gumbel_sample=_gumbel_sample)

    config = importlib.import_module("vllm.config.watermarking")
    gumbel = importlib.import_module("vllm.v1.watermarking.gumbel")
    for name, mod in sorted(sys.modules.items()):
        if name.startswith("vllm.") and getattr(mod, "__file__", None):
            if root.resolve() not in Path(mod.__file__).resolve().parents:
                sys.exit("vllm_reference: %s was loaded from %s" % (name, mod.__file__))
    return config, gumbel


# ---------------------------------------------------------------------------
# TOML output
# ---------------------------------------------------------------------------


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(type(v))


def toml_array(name, values, width=100):
    items = [toml_value(v) for v in values]
    one_line = "%s = [%s]" % (name, ", ".join(items))
    if len(one_line) <= width:
        return one_line
    lines = ["%s = [" % name]
    line = " "
    for item in items:
        if len(line) + len(item) + 2 > width:
            lines.append(line.rstrip())
            line = " "
        line += " " + item + ","
    lines.append(line.rstrip())
    lines.append("]")
    return "\n".join(lines)


def toml_tables(table, rows):
    out = []
    for row in rows:
        out.append("")
        out.append("[[%s]]" % table)
        for key, value in row.items():
            if isinstance(value, list):
                out.append(toml_array(key, value))
            else:
                out.append("%s = %s" % (key, toml_value(value)))
    return out


def header(lines, provenance):
    text = ["# GENERATED FILE -- DO NOT EDIT (rerun scripts/vllm-reference instead)."]
    text += ["#", "# " + provenance[0]] + ["# " + p for p in provenance[1:]]
    text.append("#")
    text += [("# " + line).rstrip() for line in lines]
    return text


# ---------------------------------------------------------------------------
# vllm-philox.toml
# ---------------------------------------------------------------------------

SPECIAL_TOKENS = [0, 1, 2, 3, 4, 5, 6, 7, 49151, 128255, 151935, 2**31 - 1, 2**31, 2**32 - 2]

PHILOX_DOC = """
Checks of wmark's vLLM-compatible PRF against vLLM's own code. Tables:

[[derive]]   vLLM's dual-key derivation, vllm.config.watermarking.derive_watermark_key.
  key        the 64-bit key, a decimal string (keys may exceed i64)
  key_a      derive_watermark_key(key, b"key_a"), a decimal string (the dual-key scheme's key A)
  key_b      derive_watermark_key(key, b"key_b"), a decimal string (its key B)

[[uniform]]  PhiloxPRF(key).uniform(context[None], tokens[None]) (vllm.v1.watermarking.prfs.philox),
             on int64 CPU tensors: one uniform per token, all under the same context.
  name       a label
  key        the 64-bit key, a decimal string
  context    the context token ids, oldest first; -1 is vLLM's id before the first token
             (vLLM masks each id to 32 bits, so -1 is the word 0xFFFFFFFF). Its length is the
             context width.
  tokens     the candidate token ids (up to 2^32 - 2)
  uniform_bits  the IEEE-754 bits of each float32 uniform, as unsigned integers
  uniform    the same uniforms as floats (the exact value of each float32, Python repr)

[[sample]]   vLLM's Gumbel-max watermarked choice on CPU:
             GumbelWatermarker(key, context_width=len(context))._sample_watermarked(
                 logits[None, :], context[None, :]).token_ids[0]
             i.e. argmax over the vocabulary of logits + (-log(-log(max(u, float32 tiny)))) with
             u = the Philox uniforms of all ids 0..V-1, all in float32 (torch.argmax: the first
             index among equal maxima).
  name       a label (says how the logits were made: randn, top-k with -inf, temperature-scaled,
             flat, ...)
  key        the 64-bit key, a decimal string
  context    the context token ids, oldest first (-1 before the first token)
  logits_bits  the float32 logits, as IEEE-754 bits (unsigned integers; 4286578688 is -inf); the
             vocabulary size V is their count
  token      the token vLLM chose
  margin     not vLLM's output: how far the chosen token's float32 score (logit + Gumbel noise,
             computed as vLLM does) is above the runner-up's, a float; a small margin marks a
             choice that a last-bit difference in log could flip
""".strip("\n").splitlines()


def philox_uniform_cases(rng):
    """The [[uniform]] inputs: (name, key, context, tokens)."""
    cases = []
    keys = [rng.getrandbits(64) for _ in range(8)]

    def toks(n, hi=2**32 - 1):
        return [rng.randrange(hi) for _ in range(n)]

    # Every context width around the 4-word absorption blocks, random ids from a 152k vocabulary.
    for i, w in enumerate([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16]):
        ctx = [rng.randrange(151936) for _ in range(w)]
        cases.append(("width%d-random-ids" % w, keys[i % 8], ctx, SPECIAL_TOKENS + toks(20, 151936)))
    # Contexts of -1 only (the first generated tokens), as vLLM pads them.
    for w, key in [(1, 0), (2, U64_MAX), (3, keys[0]), (4, 0), (4, keys[1]), (5, U64_MAX), (8, keys[2]), (9, 0), (16, keys[3])]:
        cases.append(("width%d-all-minus1" % w, key, [-1] * w, SPECIAL_TOKENS + toks(10, 151936)))
    # -1 padding followed by real ids (the second, third, ... generated token).
    for ctx, key in [
        ([-1, 17], keys[4]),
        ([-1, -1, -1, 4242], keys[5]),
        ([-1, -1, 128000, 9], 0),
        ([-1, -1, -1, -1, -1, 3], keys[6]),
        ([-1, -1, -1, -1, -1, -1, -1, 0, 1], U64_MAX),
    ]:
        cases.append(("width%d-minus1-then-ids" % len(ctx), key, ctx, SPECIAL_TOKENS + toks(10, 151936)))
    # Large ids in the context.
    for ctx, key in [
        ([2**31], keys[7]),
        ([2**31 - 1, 2**31, 151935, 0], keys[0]),
        ([151935, 151934, 151933, 128255, 128254], U64_MAX),
        ([0, 0, 0, 0, 0, 0, 0, 0], 0),
    ]:
        cases.append(("width%d-large-ids" % len(ctx), key, ctx, SPECIAL_TOKENS + toks(10)))
    # Tokens 0..63 (counter t >> 2 and the word t & 3) under keys that test the key's word split.
    for key in [0, 1, 2**32 - 1, 2**32, 2**63, U64_MAX, keys[1]]:
        cases.append(("tokens0-63-key%s" % ("-random" if key == keys[1] else "-%d" % key), key, [1, 2, 3, 4], list(range(64))))
    # Random everything: widths 1..16, ids up to 2^32 - 2.
    for i in range(6):
        w = rng.randrange(1, 17)
        ctx = [rng.choice([-1, rng.randrange(2**31), rng.randrange(151936)]) for _ in range(w)]
        cases.append(("random-%d-width%d" % (i, w), rng.getrandbits(64), ctx, toks(64)))
    return cases


def sample_cases(rng, torch):
    """The [[sample]] inputs: (name, key, context, logits float32 tensor)."""
    g = torch.Generator().manual_seed(20330)
    cases = []
    vocabs = [50, 64, 100, 128, 257, 300, 400]

    def ctx(w):
        pad = rng.randrange(w + 1)
        return [-1] * pad + [rng.randrange(151936) for _ in range(w - pad)]

    def randn(v, scale):
        return torch.randn(v, generator=g, dtype=torch.float32) * scale

    i = 0

    def add(kind, key, w, logits):
        nonlocal i
        cases.append(("%02d-%s-v%d-w%d" % (i, kind, logits.shape[0], w), key, ctx(w), logits))
        i += 1

    keys = [rng.getrandbits(64) for _ in range(6)] + [0, U64_MAX]
    for j, v in enumerate(vocabs):
        add("randn-scale1", keys[j % 8], 1 + j % 5, randn(v, 1.0))
    for j, v in enumerate(vocabs):
        add("randn-scale4", keys[(j + 3) % 8], 1 + (j * 3) % 8, randn(v, 4.0))
    for j, (v, k) in enumerate([(50, 2), (100, 3), (257, 10), (400, 40), (300, 5), (128, 20)]):
        logits = randn(v, 2.0)
        cut = torch.topk(logits, k).values[-1]
        logits = torch.where(logits >= cut, logits, torch.tensor(float("-inf")))
        add("topk%d" % k, keys[(j + 5) % 8], 2 + j % 4, logits)
    for j, (v, t) in enumerate([(64, 0.3), (257, 0.7), (400, 1.5), (100, 0.05)]):
        add("temperature%s" % t, keys[(j + 1) % 8], 4, randn(v, 3.0) / t)
    for j, v in enumerate([50, 400]):
        add("flat", keys[j + 6], 4, torch.zeros(v, dtype=torch.float32))
    logits = randn(200, 1.0)
    logits[137] = 30.0
    add("peaked", keys[2], 3, logits)
    logits = randn(300, 2.0)
    logits[torch.rand(300, generator=g) < 0.9] = float("-inf")
    add("masked90pct", keys[4], 6, logits)
    return cases


def philox_file(vllm_config, gumbel, torch, provenance):
    rng = random.Random(0x1A0B33)
    derive = vllm_config.derive_watermark_key
    derive_keys = [0, 1, 2, 42, 2**32 - 1, 2**32, 2**63, U64_MAX] + [rng.getrandbits(64) for _ in range(4)]
    derive_rows = [{"key": str(k), "key_a": str(derive(k, b"key_a")), "key_b": str(derive(k, b"key_b"))} for k in derive_keys]

    philox = sys.modules["vllm.v1.watermarking.prfs.philox"]
    uniform_rows = []
    for name, key, context, tokens in philox_uniform_cases(rng):
        prf = philox.PhiloxPRF(key)
        out = prf.uniform(torch.tensor([context], dtype=torch.int64), torch.tensor([tokens], dtype=torch.int64))
        assert out.dtype == torch.float32 and out.shape == (1, len(tokens))
        values = out[0].tolist()
        uniform_rows.append(
            {
                "name": name,
                "key": str(key),
                "context": context,
                "tokens": tokens,
                "uniform_bits": [f32_bits(u) for u in values],
                "uniform": values,
            }
        )

    sample_rows = []
    for name, key, context, logits in sample_cases(rng, torch):
        wm = gumbel.GumbelWatermarker(key, context_width=len(context))
        ctx = torch.tensor([context], dtype=torch.int64)
        token = wm._sample_watermarked(logits[None, :], ctx).token_ids
        assert token.shape == (1,)
        token = int(token[0])
        # The margin, from vLLM's own uniforms and the same float32 arithmetic.
        u = wm.prf.uniform(ctx, torch.arange(logits.shape[0])).clamp_min(torch.finfo(torch.float32).tiny)
        scores = (logits[None, :] + -torch.log(-torch.log(u)))[0]
        top2 = torch.topk(scores, 2).values
        assert int(torch.argmax(scores)) == token
        sample_rows.append(
            {
                "name": name,
                "key": str(key),
                "context": context,
                "logits_bits": [f32_bits(x) for x in logits.tolist()],
                "token": token,
                "margin": float(top2[0] - top2[1]),
            }
        )

    lines = header(PHILOX_DOC, provenance)
    lines += toml_tables("derive", derive_rows)
    lines += toml_tables("uniform", uniform_rows)
    lines += toml_tables("sample", sample_rows)
    summary = "%d derive, %d uniform, %d sample" % (len(derive_rows), len(uniform_rows), len(sample_rows))
    return "\n".join(lines) + "\n", summary


# ---------------------------------------------------------------------------
# vllm-detect.toml
# ---------------------------------------------------------------------------

DETECT_DOC = """
What vLLM's detectors return for token sequences (vllm.v1.watermarking.gumbel), on CPU:
  GumbelWatermarkDetector(key, context_width, p_value_threshold=0.01,
                          deduplicate_contexts=deduplicate_contexts).detect(tokens)
  DualKeyGumbelWatermarkDetector(key, context_width, p_value_threshold=0.01,
                                 deduplicate_contexts=deduplicate_contexts, alpha=alpha).detect(tokens)
The sequence has no prompt: the detector's contexts before the first token are -1.

[[detect]]
  name       a label
  algorithm  "gumbel" or "dual_key_gumbel" (the detector used)
  key        the 64-bit key, a decimal string (for dual_key_gumbel the master key; vLLM derives
             keys A and B from it)
  context_width  the detector's (and the generator's) context width
  alpha      the dual-key weight of key B (recorded, and unused, for gumbel)
  deduplicate_contexts  the detector's flag: score a token only if its context is new
  vocab      the vocabulary size V the tokens were drawn from
  source     how the tokens were made:
             "sampler": generated step by step with vLLM's own sampler objects. At each step
               logits = torch.randn(V) * 2.5 (float32, seeded generator); the context is the last
               context_width generated tokens, -1 before the first. If that context was already
               used in this sequence the token is drawn without the watermark
               (torch.multinomial of the softmax); otherwise it is
               GumbelWatermarker(key, context_width)._sample_watermarked(logits[None], context[None]).
               For dual_key_gumbel, DualKeyGumbelWatermarker(key, context_width, alpha=alpha)'s
               draft_watermarker (key A) samples with probability 1 - alpha and its
               target_watermarker (key B) with probability alpha (torch.rand < alpha), each by
               _sample_watermarked. A name ending in "-prefixN" is the first N tokens of such a
               sequence, N chosen so that p_value is a subnormal double.
             "random": uniform random ids (not watermarked)
             "repeats": uniform random ids over a tiny vocabulary (many repeated contexts)
  tokens     the token ids
  score      vLLM's score, a float: the float64 sum of the scored tokens' -log1p(-u) (for dual:
             of (1 - alpha) * -log1p(-u_A) + alpha * -log1p(-u_B), by a float64 matrix product)
  num_scored the number of tokens scored
  p_value    vLLM's p-value, a float. gumbel, and dual with alpha in {0, 0.5, 1}: the Gamma(n, 1)
             survival function by vLLM's own log-sum-exp series in Python floats (exp of a
             log below about -745 gives 0.0); dual otherwise: torch.special.gammaincc(n / s,
             score / s) in float64 with s = (1 - alpha)^2 + alpha^2
  is_watermarked  p_value <= 0.01
""".strip("\n").splitlines()


def generate_sampler(gumbel, torch, algorithm, key, width, alpha, vocab, length, seed):
    g = torch.Generator().manual_seed(seed)
    if algorithm == "gumbel":
        key_a = gumbel.GumbelWatermarker(key, width)
        key_b = None
    else:
        dual = gumbel.DualKeyGumbelWatermarker(key, width, alpha=alpha)
        assert dual.context_width == width
        key_a, key_b = dual.draft_watermarker, dual.target_watermarker
    tokens = []
    seen = set()
    for _ in range(length):
        logits = torch.randn(vocab, generator=g, dtype=torch.float32) * 2.5
        context = tuple(([-1] * width + tokens)[-width:])
        if context in seen:
            token = int(torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=g)[0])
        else:
            seen.add(context)
            wm = key_a
            if key_b is not None and float(torch.rand((), generator=g)) < alpha:
                wm = key_b
            ids = wm._sample_watermarked(logits[None, :], torch.tensor([context], dtype=torch.int64)).token_ids
            token = int(ids[0])
        tokens.append(token)
    return tokens


# (name suffix, algorithm, width, alpha, vocab, length, source, seed, dedup flags)
DETECT_CASES = [
    ("w4-v1000-n25", "gumbel", 4, 0.1, 1000, 25, "sampler", 101, [True]),
    ("w4-v1000-n200", "gumbel", 4, 0.1, 1000, 200, "sampler", 102, [True]),
    ("w1-v1000-n200", "gumbel", 1, 0.1, 1000, 200, "sampler", 103, [True, False]),
    ("w6-v1000-n200", "gumbel", 6, 0.1, 1000, 200, "sampler", 104, [True]),
    ("w2-v1000-n2000", "gumbel", 2, 0.1, 1000, 2000, "sampler", 105, [True]),
    ("w4-v1000-n5000", "gumbel", 4, 0.1, 1000, 5000, "sampler", 106, [True]),
    ("w1-v50-n2000", "gumbel", 1, 0.1, 50, 2000, "sampler", 107, [True, False]),
    ("w4-v1000-n200", "gumbel", 4, 0.1, 1000, 200, "random", 108, [True]),
    ("w2-v1000-n2000", "gumbel", 2, 0.1, 1000, 2000, "random", 109, [True]),
    ("w2-v5-n300", "gumbel", 2, 0.1, 5, 300, "repeats", 110, [True, False]),
    ("w4-v1000-n25-a0.1", "dual_key_gumbel", 4, 0.1, 1000, 25, "sampler", 201, [True]),
    ("w4-v1000-n200-a0.1", "dual_key_gumbel", 4, 0.1, 1000, 200, "sampler", 202, [True]),
    ("w4-v1000-n200-a0.25", "dual_key_gumbel", 4, 0.25, 1000, 200, "sampler", 203, [True]),
    ("w4-v1000-n200-a0.5", "dual_key_gumbel", 4, 0.5, 1000, 200, "sampler", 204, [True]),
    ("w2-v1000-n2000-a0.1", "dual_key_gumbel", 2, 0.1, 1000, 2000, "sampler", 205, [True, False]),
    ("w6-v1000-n2000-a0.25", "dual_key_gumbel", 6, 0.25, 1000, 2000, "sampler", 206, [True]),
    ("w4-v1000-n200-a0.1", "dual_key_gumbel", 4, 0.1, 1000, 200, "random", 207, [True]),
    ("w4-v1000-n2000-a0.5", "dual_key_gumbel", 4, 0.5, 1000, 2000, "random", 208, [True]),
    ("w2-v5-n300-a0.25", "dual_key_gumbel", 2, 0.25, 5, 300, "repeats", 209, [True, False]),
]
# Sampler sequences whose prefix with a subnormal p-value is also a case: (index into DETECT_CASES).
SUBNORMAL_PREFIX_OF = [4, 14]


def detector(gumbel, algorithm, key, width, alpha, dedup):
    if algorithm == "gumbel":
        return gumbel.GumbelWatermarkDetector(key, width, p_value_threshold=0.01, deduplicate_contexts=dedup)
    return gumbel.DualKeyGumbelWatermarkDetector(key, width, p_value_threshold=0.01, deduplicate_contexts=dedup, alpha=alpha)


def detect_row(gumbel, name, algorithm, key, width, alpha, vocab, source, tokens, dedup):
    result = detector(gumbel, algorithm, key, width, alpha, dedup).detect(tokens)
    return {
        "name": name,
        "algorithm": algorithm,
        "key": str(key),
        "context_width": width,
        "alpha": alpha,
        "deduplicate_contexts": dedup,
        "vocab": vocab,
        "source": source,
        "tokens": tokens,
        "score": float(result.score),
        "num_scored": int(result.num_scored_tokens),
        "p_value": float(result.p_value),
        "is_watermarked": bool(result.is_watermarked),
    }


def detect_file(gumbel, torch, provenance):
    rng = random.Random(0xDE7EC7)
    rows = []
    min_normal = sys.float_info.min
    for index, (suffix, algorithm, width, alpha, vocab, length, source, seed, dedups) in enumerate(DETECT_CASES):
        key = rng.getrandbits(64)
        if source == "sampler":
            tokens = generate_sampler(gumbel, torch, algorithm, key, width, alpha, vocab, length, seed)
        else:
            case_rng = random.Random(seed)
            tokens = [case_rng.randrange(vocab) for _ in range(length)]
        base = "%s-%s-%s" % ("gumbel" if algorithm == "gumbel" else "dual", source, suffix)
        for dedup in dedups:
            name = base + ("" if dedup else "-nodedup")
            rows.append(detect_row(gumbel, name, algorithm, key, width, alpha, vocab, source, tokens, dedup))
        if index in SUBNORMAL_PREFIX_OF:
            # The shortest prefix whose p-value is subnormal (0 < p < DBL_MIN): bisect on the
            # prefix length (the p-value falls with it, up to the rare unwatermarked token).
            def p_of(n, algorithm=algorithm, key=key, width=width, alpha=alpha, tokens=tokens):
                return detector(gumbel, algorithm, key, width, alpha, True).detect(tokens[:n]).p_value

            lo, hi = 1, len(tokens)
            while lo < hi:
                mid = (lo + hi) // 2
                if p_of(mid) < min_normal:
                    hi = mid
                else:
                    lo = mid + 1
            n = lo
            while n <= len(tokens) and not (0.0 < p_of(n) < min_normal):
                n += 1
            if n <= len(tokens):
                name = "%s-prefix%d" % (base, n)
                rows.append(detect_row(gumbel, name, algorithm, key, width, alpha, vocab, source, tokens[:n], True))
            else:
                print("vllm_reference: no prefix of %s has a subnormal p-value" % base, file=sys.stderr)
    lines = header(DETECT_DOC, provenance)
    lines += toml_tables("detect", rows)
    summary = "%d detect" % len(rows)
    return "\n".join(lines) + "\n", summary, rows


# ---------------------------------------------------------------------------
# vllm-accepts.toml
# ---------------------------------------------------------------------------

# The answers wmark generated with its vLLM-compatible schemes (fixtures/vllm-answers/README.md):
# (file stem, algorithm, the scheme every line must name, context width, alpha).
ANSWER_FILES = [
    ("vllm-gumbel-w4", "gumbel", "vllm-gumbel:4", 4, 0.1),
    ("vllm-dual-key-gumbel-w4-a0.1", "dual_key_gumbel", "vllm-dual-key-gumbel:4", 4, 0.1),
]
# The published test key the answers were generated with (a 64-bit vLLM key).
ANSWER_KEY = 9876543210123456789
# The control: the same detector under a key the answers were not generated with.
OTHER_KEY = (ANSWER_KEY + 1) % 2**64

ACCEPTS_DOC = """
vLLM's own detectors (vllm.v1.watermarking.gumbel, on CPU) run on answers that wmark generated
with its vLLM-compatible schemes: each line of fixtures/vllm-answers/<stem>.jsonl (from
`wmark generate --scheme vllm-gumbel|vllm-dual-key-gumbel --context-width 4`, SmolLM2,
vocabulary 49152; see fixtures/vllm-answers/README.md), its generated ids without the prompt:
  GumbelWatermarkDetector(key, context_width, p_value_threshold=0.01).detect(tokens)
  DualKeyGumbelWatermarkDetector(key, context_width, p_value_threshold=0.01,
                                 alpha=alpha).detect(tokens)
with vLLM's default deduplicate_contexts=True. The detector's contexts before the first
generated token are -1. A watermarked answer that vLLM accepts has is_watermarked = true.

[[answer]]
  name       the answer file's stem, ":", the answer's id
  algorithm  "gumbel" or "dual_key_gumbel" (the detector used)
  key        the 64-bit key the answer was generated with, a decimal string (a published test
             key; for dual_key_gumbel the master key, vLLM derives keys A and B from it)
  context_width  the detector's (and the generator's) context width
  alpha      the dual-key weight of key B (recorded, and unused, for gumbel)
  deduplicate_contexts  the detector's flag: score a token only if its context is new
  tokens     the answer's generated token ids (the "ids" of its JSONL line)
  score      vLLM's score, a float (as in vllm-detect.toml)
  num_scored the number of tokens vLLM scored
  p_value    vLLM's p-value, a float
  is_watermarked  p_value <= 0.01: vLLM accepts the answer as watermarked
  other_key  the control key, key + 1 (mod 2^64), a decimal string
  other_key_score    vLLM's score for the same tokens under other_key (same detector otherwise)
  other_key_p_value  vLLM's p-value under other_key (large: the answer is not watermarked
             under a key it was not generated with)
""".strip("\n").splitlines()


def read_answers(path, scheme):
    """The (id, ids) of each line of the JSONL file `path`, checked against `scheme`."""
    answers = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        where = "%s:%d" % (path, number)
        if record.get("scheme") != scheme:
            sys.exit("vllm_reference: %s: scheme %r, not %r" % (where, record.get("scheme"), scheme))
        ids, vocab = record.get("ids"), record.get("vocab_size")
        if not isinstance(vocab, int) or not isinstance(ids, list) or not ids:
            sys.exit("vllm_reference: %s: needs ids and vocab_size" % where)
        if not all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < vocab for t in ids):
            sys.exit("vllm_reference: %s: ids must be integers in [0, %d)" % (where, vocab))
        answers.append((str(record["id"]), ids))
    if not answers:
        sys.exit("vllm_reference: %s has no answers" % path)
    return answers


def accepts_file(gumbel, answers_dir, provenance):
    rows = []
    for stem, algorithm, scheme, width, alpha in ANSWER_FILES:
        for answer_id, tokens in read_answers(answers_dir / (stem + ".jsonl"), scheme):
            result = detector(gumbel, algorithm, ANSWER_KEY, width, alpha, True).detect(tokens)
            other = detector(gumbel, algorithm, OTHER_KEY, width, alpha, True).detect(tokens)
            rows.append(
                {
                    "name": "%s:%s" % (stem, answer_id),
                    "algorithm": algorithm,
                    "key": str(ANSWER_KEY),
                    "context_width": width,
                    "alpha": alpha,
                    "deduplicate_contexts": True,
                    "tokens": tokens,
                    "score": float(result.score),
                    "num_scored": int(result.num_scored_tokens),
                    "p_value": float(result.p_value),
                    "is_watermarked": bool(result.is_watermarked),
                    "other_key": str(OTHER_KEY),
                    "other_key_score": float(other.score),
                    "other_key_p_value": float(other.p_value),
                }
            )
    lines = header(ACCEPTS_DOC, provenance)
    lines += toml_tables("answer", rows)
    accepted = sum(row["is_watermarked"] for row in rows)
    summary = "%d answer, %d accepted by vLLM" % (len(rows), accepted)
    return "\n".join(lines) + "\n", summary, rows


# ---------------------------------------------------------------------------


def write_fixtures(outputs, out_dir, check):
    """Writes (or with `check`, compares) each (file name, text, summary) under `out_dir`,
    printing one line per file; returns the files that differ (check mode)."""
    stale = []
    for name, text, summary in outputs:
        path = out_dir / name
        try:
            shown = path.relative_to(REPO_ROOT)
        except ValueError:
            shown = path
        old = path.read_text() if path.is_file() else None
        if check:
            state = "up to date" if old == text else "DIFFERS"
            if old != text:
                stale.append(shown)
        else:
            if old != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            state = "unchanged" if old == text else "written"
        print("%s: %s (%d bytes; %s)" % (shown, state, len(text.encode()), summary))
    return stale


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", required=True, type=Path, help="the vllm-%s wheel" % VLLM_VERSION)
    ap.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "target" / "vllm-ref", help="where vLLM's files are extracted")
    ap.add_argument("--out-dir", type=Path, default=REPO_ROOT / "fixtures" / "vectors", help="where the fixtures go")
    ap.add_argument(
        "--answers-dir",
        type=Path,
        default=REPO_ROOT / "fixtures" / "vllm-answers",
        help="where the answers wmark generated are (the input of %s)" % ACCEPTS_OUT,
    )
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a fixture on disk differs")
    args = ap.parse_args()

    if sys.version_info < (3, 11):
        sys.exit("vllm_reference: vLLM's files need Python >= 3.11 (this is %s)" % sys.version.split()[0])
    try:
        import pydantic  # noqa: F401  (vllm/config/watermarking.py imports it)
        import torch
    except ImportError as e:
        sys.exit("vllm_reference: %s; install torch and pydantic into %s" % (e, sys.executable))

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    src = args.cache_dir / ("vllm-%s-src" % VLLM_VERSION)
    source_sha = extract(args.wheel, src)
    vllm_config, gumbel = load_vllm(src)
    provenance = [
        "Made by scripts/vllm-reference by running vLLM %s's own watermarking code (its PyPI wheel's" % VLLM_VERSION,
        "vllm/v1/watermarking/ and vllm/config/watermarking.py, sha256 %s)" % source_sha[:16],
        "on CPU with torch %s. Keys are decimal strings (u64 exceeds TOML's integers); floats" % torch.__version__,
        "are Python reprs (they round-trip); float32 values also come as their IEEE-754 bits.",
    ]

    philox_text, philox_summary = philox_file(vllm_config, gumbel, torch, provenance)
    detect_text, detect_summary, rows = detect_file(gumbel, torch, provenance)
    accepts_text, accepts_summary, answer_rows = accepts_file(gumbel, args.answers_dir, provenance)

    outputs = [
        (PHILOX_OUT, philox_text, philox_summary),
        (DETECT_OUT, detect_text, detect_summary),
        (ACCEPTS_OUT, accepts_text, accepts_summary),
    ]
    stale = write_fixtures(outputs, args.out_dir, args.check)
    for row in rows:
        print(
            "  %-44s n=%-5d scored=%-5d score=%-12.6g p=%-10.3g watermarked=%s"
            % (row["name"], len(row["tokens"]), row["num_scored"], row["score"], row["p_value"], row["is_watermarked"])
        )
    for row in answer_rows:
        print(
            "  %-44s n=%-5d scored=%-5d score=%-12.6g p=%-10.3g watermarked=%-5s other-key p=%.3g"
            % (
                row["name"],
                len(row["tokens"]),
                row["num_scored"],
                row["score"],
                row["p_value"],
                row["is_watermarked"],
                row["other_key_p_value"],
            )
        )
    if stale:
        print("vllm_reference: regenerate with scripts/vllm-reference: %s" % ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
