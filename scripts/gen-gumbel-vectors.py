#!/usr/bin/env python3
"""Reference generator for the wmark v1 Gumbel-max (`gumbel:h`) test vectors.

An independent, standard-library-only Python implementation of scheme `gumbel:h`
(docs/spec.md, "Gumbel-max sampling"). It reuses the v1 primitives of
scripts/gen-prf-vectors.py (HMAC-SHA256 context seeds and the hand-written ChaCha8
keystream, self-tested against RFC 7539 and a ChaCha8 known answer on every run) and adds
only what is new: the 32-bit words of the stream, the uniforms, the scores, the Gumbel noise
and the sampling rule. It writes

    fixtures/vectors/gumbel-v1.toml

and the worked examples of docs/spec.md's Gumbel-max section.

Usage (from anywhere; paths are relative to the repository root):

    python3 scripts/gen-gumbel-vectors.py                 # (re)write the fixture file
    python3 scripts/gen-gumbel-vectors.py --check         # exit 1 if the file on disk, or a
                                                          # worked example in docs/spec.md,
                                                          # differs from what would be written
    python3 scripts/gen-gumbel-vectors.py --spec-example  # print the worked examples

The output is fully deterministic: re-running produces byte-identical output.

Scheme summary (gumbel:h, byte-exact; h in 1..=32):
  * seed = HMAC(key, b"wmark.v1" 0x00 b"gumbel:h" 0x00 le32(x[t-h]) .. le32(x[t-1])),
    the window:h payload under its own scheme string.
  * stream = the v1 ChaCha8 keystream of the seed; w(v) = le32 word of stream[4v .. 4v+4].
  * u(v) = (w(v) + 0.5) / 2^32 (an exact double in (0, 1)).
  * r(v) = -log1p(-u(v)) (detection score, Exp(1) under H0), g(v) = -ln(-ln u(v)) (noise).
  * sampling: argmax over ids with a finite logit of (logit / T + g(id)), ties -> smaller id.
"""

import importlib.util
import math
import random
import re
import sys
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = REPO_ROOT / "fixtures" / "vectors" / "gumbel-v1.toml"
SPEC_PATH = REPO_ROOT / "docs" / "spec.md"


def _load_prf_reference():
    """scripts/gen-prf-vectors.py as a module (its file name is not an identifier)."""
    path = Path(__file__).resolve().parent / "gen-prf-vectors.py"
    spec = importlib.util.spec_from_file_location("gen_prf_vectors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prf = _load_prf_reference()

U32_MAX = prf.U32_MAX
TWO_32 = 4294967296.0
MAX_H = 32


# ---------------------------------------------------------------------------
# The gumbel:h scheme
# ---------------------------------------------------------------------------


def parse_gumbel(scheme):
    """h of a canonical `gumbel:h` scheme string (decimal, no leading zeros, 1..=32)."""
    m = re.fullmatch(r"gumbel:([1-9][0-9]*)", scheme)
    assert m, scheme
    h = int(m.group(1))
    assert 1 <= h <= MAX_H, scheme
    return h


def hmac_message(scheme, context):
    """The HMAC message of the position after `context` (only its last h ids are read)."""
    h = parse_gumbel(scheme)
    assert len(context) >= h, (scheme, context)
    payload = b"".join(prf.le32(x) for x in context[len(context) - h :])
    return prf.DOMAIN + b"\x00" + scheme.encode("ascii") + b"\x00" + payload


def gumbel_seed(key, scheme, context):
    h = parse_gumbel(scheme)
    seed = prf.context_seed(key, scheme, b"".join(prf.le32(x) for x in context[len(context) - h :]))
    assert seed == prf.hmac_sha256(key, hmac_message(scheme, context))
    return seed


def word(stream, token):
    """w(v): the v-th little-endian 32-bit word of the stream (bytes 4v .. 4v+3)."""
    assert 0 <= token <= U32_MAX, token
    return int.from_bytes(stream.read(4 * token, 4), "little")


def uniform(w):
    """u = (w + 0.5) / 2^32: both steps are exact in binary64 (w + 0.5 needs 33 bits)."""
    u = (float(w) + 0.5) / TWO_32
    assert Fraction(u) == Fraction(2 * w + 1, 2**33), w
    assert 0.0 < u < 1.0
    return u


def score(u):
    """r = -ln(1 - u), as -log1p(-u) in binary64."""
    return -math.log1p(-u)


def gumbel_noise(u):
    """g = -ln(-ln u) in binary64 (two natural logarithms)."""
    return -math.log(-math.log(u))


def exact_score(u):
    """-ln(1 - u) to 50 digits (Decimal.ln is correctly rounded; Decimal(u) is exact)."""
    with localcontext() as ctx:
        ctx.prec = 50
        return -((1 - Decimal(u)).ln())


def exact_gumbel(u):
    with localcontext() as ctx:
        ctx.prec = 50
        return -((-(Decimal(u).ln())).ln())


def within_ulps(got, exact, ulps):
    """True if the double `got` is within `ulps` units in the last place of `exact` (a Decimal)."""
    return abs(Decimal(got) - exact) <= Decimal(math.ulp(got)) * ulps


def sample_keys(stream, logits, temperature):
    """(id, logit / T + g(id)) for every id with a finite logit, in id order."""
    assert temperature > 0
    out = []
    for v, logit in enumerate(logits):
        assert not math.isnan(logit)
        if math.isfinite(logit):
            out.append((v, logit / temperature + gumbel_noise(uniform(word(stream, v)))))
    return out


def sample(stream, logits, temperature):
    """The Gumbel-max choice: the largest key; ties go to the smaller id (strict > in id order)."""
    best = None
    for v, k in sample_keys(stream, logits, temperature):
        if best is None or k > best[1]:
            best = (v, k)
    assert best is not None, "no finite logit"
    return best[0]


# ---------------------------------------------------------------------------
# [[case]]: words, scores and noise of probed ids under one context
# ---------------------------------------------------------------------------

ZERO_KEY, SEQ_KEY = prf.ZERO_KEY, prf.SEQ_KEY
K1, K2, K3, K4, K5 = prf.K1, prf.K2, prf.K3, prf.K4, prf.K5

# Every case probes these: the first words, both sides of the ChaCha block boundary at id 16
# (byte 64), and the last ids of common vocabularies (GPT-2 / OPT, Llama 3, Qwen2, Gemma).
BASE_TOKENS = [0, 1, 2, 3, 15, 16, 17, 49151, 50256, 128255, 151935, 262143]
# Ids whose byte offset 4v does not fit 32 bits (2^30 and beyond), and the largest id.
HUGE_TOKENS = [1073741823, 1073741824, 4294967295]
CASE_TOKEN_COUNT = 24

# (tag, scheme, key, context, extra ids probed after BASE_TOKENS)
CASE_SPECS = [
    # gumbel:1
    ("basic", "gumbel:1", K1, [42], []),
    ("token0-context-zero-key", "gumbel:1", ZERO_KEY, [0], []),
    ("max-u32-context", "gumbel:1", K2, [4294967295], HUGE_TOKENS),
    ("seq-key", "gumbel:1", SEQ_KEY, [50256], []),
    ("large-context-id", "gumbel:1", K5, [151935], []),
    # gumbel:2
    ("spec-example", "gumbel:2", SEQ_KEY, [17, 42], []),
    ("basic", "gumbel:2", K1, [17, 42], []),
    ("swapped-context", "gumbel:2", K1, [42, 17], []),
    ("repeated-zero", "gumbel:2", K4, [0, 0], HUGE_TOKENS),
    ("zero-key", "gumbel:2", ZERO_KEY, [1000, 2000], []),
    ("large-ids", "gumbel:2", K3, [4294967295, 4294967294], []),
    # gumbel:4
    ("basic", "gumbel:4", K1, [1, 2, 3, 4], []),
    ("repeated", "gumbel:4", K5, [7, 7, 7, 7], []),
    ("zero-key-zero-context", "gumbel:4", ZERO_KEY, [0, 0, 0, 0], []),
    ("seq-key", "gumbel:4", SEQ_KEY, [128000, 791, 6864, 374], HUGE_TOKENS),
    ("mixed-ids", "gumbel:4", K2, [4294967295, 0, 65536, 262143], []),
    # gumbel:8
    ("basic", "gumbel:8", K3, [9, 8, 7, 6, 5, 4, 3, 2], []),
    ("repeated", "gumbel:8", K4, [13] * 8, []),
    ("zero-key", "gumbel:8", ZERO_KEY, [100, 200, 300, 400, 500, 600, 700, 800], []),
    ("large-ids", "gumbel:8", K1, [4294967295, 4294967294, 65535, 65536, 16777215, 16777216, 2147483647, 2147483648], []),
    # gumbel:32
    ("counting", "gumbel:32", K2, list(range(1, 33)), []),
    ("repeated-zero", "gumbel:32", K3, [0] * 32, HUGE_TOKENS),
    ("seq-key", "gumbel:32", SEQ_KEY, [(i * 7919) % 151936 for i in range(32)], []),
    ("zero-key-max-ids", "gumbel:32", ZERO_KEY, [4294967295 - i for i in range(32)], []),
    ("mixed", "gumbel:32", K5, [11, 22, 33, 44] * 8, []),
]


def case_name(tag, scheme):
    return "%s-%s" % (scheme.replace(":", "-h"), tag)


def case_tokens(name, extra):
    out = []
    for t in BASE_TOKENS + list(extra):
        if t not in out:
            out.append(t)
    i = 0
    while len(out) < CASE_TOKEN_COUNT:
        t = prf.pseudo_random_id(name, i, 262144)
        i += 1
        if t not in out:
            out.append(t)
    return out


def build_cases():
    cases = []
    for tag, scheme, key, context, extra in CASE_SPECS:
        name = case_name(tag, scheme)
        assert len(context) == parse_gumbel(scheme), name
        seed = gumbel_seed(key, scheme, context)
        stream = prf.KeyStream(seed)
        tokens = case_tokens(name, extra)
        words = [word(stream, t) for t in tokens]
        us = [uniform(w) for w in words]
        cases.append(
            {
                "name": name,
                "key": key,
                "scheme": scheme,
                "context": list(context),
                "seed": seed,
                "tokens": tokens,
                "words": words,
                "scores": [score(u) for u in us],
                "gumbel": [gumbel_noise(u) for u in us],
            }
        )
    return cases


def find_case(name):
    for c in build_cases():
        if c["name"] == name:
            return c
    raise KeyError(name)


# ---------------------------------------------------------------------------
# [[sample]]: the Gumbel-max choice over a logits row
# ---------------------------------------------------------------------------

NEG_INF = float("-inf")


def random_logits(name, count, spread, offset=0.0, p_masked=0.0):
    """A deterministic logits row: roughly bell-shaped values (sum of three uniforms), 4
    decimals, and a fraction `p_masked` of -inf entries (ids removed by top-k / top-p)."""
    rng = random.Random("wmark gumbel sample/" + name)
    out = []
    for _ in range(count):
        x = round(offset + spread * (rng.random() + rng.random() + rng.random() - 1.5), 4)
        masked = rng.random() < p_masked
        out.append(NEG_INF if masked else x)
    return out


def top_k_row(name, count, k, spread):
    """Only the k largest of a random row stay finite."""
    row = random_logits(name, count, spread)
    keep = set(sorted(range(count), key=lambda i: (-row[i], i))[:k])
    return [x if i in keep else NEG_INF for i, x in enumerate(row)]


def masked_noise_max_row(name, key, scheme, context, count, spread):
    """A row whose id with the largest noise g is masked (-inf): it must not be chosen."""
    stream = prf.KeyStream(gumbel_seed(key, scheme, context))
    row = random_logits(name, count, spread)
    noise_max = max(range(count), key=lambda v: (word(stream, v), -v))
    row[noise_max] = NEG_INF
    return row


# Two ids that share a word under this context (found by a search over the last context id;
# build_samples asserts it), so their noise is equal under every libm: with equal logits the
# two keys are equal and the tie rule decides.
TIE_KEY, TIE_SCHEME, TIE_CONTEXT, TIE_IDS = K2, "gumbel:2", [50256, 304174], (8, 58)


def tie_row(count):
    row = random_logits("tie", count, 2.0)
    for v in TIE_IDS:
        row[v] = 9.0
    return row


def spec_example_row():
    """20 logits with one decimal, those below -2 removed (as a top-p cut would)."""
    row = [round(x, 1) + 0.0 for x in random_logits("spec-2", 20, 4.0)]
    return [x if x >= -2.0 else NEG_INF for x in row]


CTX8 = [9, 8, 7, 6, 5, 4, 3, 2]
CTX8_LP = [100, 200, 300, 400, 500, 600, 700, 800]


def sample_specs():
    """(tag, scheme, key, context, temperature, logits)."""
    return [
        ("tiny-block-boundary", "gumbel:1", K1, [42], 1.0, random_logits("tiny", 20, 4.0)),
        ("masked", "gumbel:1", ZERO_KEY, [0], 0.7, random_logits("masked", 50, 4.0, p_masked=0.3)),
        ("top-k-5", "gumbel:1", K4, [198], 0.7, top_k_row("top-k-5", 200, 5, 4.0)),
        ("basic", "gumbel:2", K2, [17, 42], 1.0, random_logits("g2-basic", 100, 4.0)),
        ("exact-tie", TIE_SCHEME, TIE_KEY, TIE_CONTEXT, 1.0, tie_row(200)),
        ("spec-example", "gumbel:2", SEQ_KEY, [17, 42], 0.7, spec_example_row()),
        ("large-logits", "gumbel:2", K3, [5, 6], 0.7, random_logits("large", 80, 4.0, offset=25.0)),
        ("top-k-40", "gumbel:4", K3, [1, 2, 3, 4], 0.7, top_k_row("top-k-40", 200, 40, 4.0)),
        ("single-candidate", "gumbel:4", SEQ_KEY, [7, 7, 7, 7], 1.0, [NEG_INF] * 37 + [-3.25] + [NEG_INF] * 12),
        ("flat", "gumbel:4", K5, [128000, 791, 6864, 374], 1.0, [0.0] * 64),
        ("noise-max-masked", "gumbel:8", K5, CTX8, 1.0, masked_noise_max_row("noise-max-masked", K5, "gumbel:8", CTX8, 150, 4.0)),
        ("log-probs", "gumbel:8", SEQ_KEY, CTX8_LP, 0.7, random_logits("log-probs", 120, 8.0, offset=-20.0, p_masked=0.1)),
        ("basic", "gumbel:8", K4, [13] * 8, 1.0, random_logits("g8-basic", 64, 4.0)),
        ("basic", "gumbel:32", K1, list(range(1, 33)), 0.7, random_logits("g32-basic", 120, 4.0)),
        ("zero-key", "gumbel:32", ZERO_KEY, [0] * 32, 1.0, random_logits("g32-zero", 30, 4.0, p_masked=0.2)),
        ("sharp", "gumbel:32", K2, [4294967295 - i for i in range(32)], 0.7, random_logits("sharp", 90, 12.0)),
    ]


def build_samples():
    samples = []
    for tag, scheme, key, context, temperature, logits in sample_specs():
        name = case_name(tag, scheme)
        assert len(context) == parse_gumbel(scheme), name
        stream = prf.KeyStream(gumbel_seed(key, scheme, context))
        keys = sample_keys(stream, logits, temperature)
        token = sample(stream, logits, temperature)
        ranked = sorted(keys, key=lambda vk: (-vk[1], vk[0]))
        assert ranked[0][0] == token
        samples.append(
            {
                "name": name,
                "key": key,
                "scheme": scheme,
                "context": list(context),
                "logits": logits,
                "temperature": temperature,
                "token": token,
                # for the checks and the worked example only (not written to the file)
                "ranked": ranked,
                "stream": stream,
            }
        )
    return samples


# ---------------------------------------------------------------------------
# Coverage and precision checks (so later edits cannot silently drop coverage)
# ---------------------------------------------------------------------------


def check_cases(cases):
    names = [c["name"] for c in cases]
    assert len(cases) >= 25 and len(set(names)) == len(names)
    schemes = {c["scheme"] for c in cases}
    assert schemes == {"gumbel:1", "gumbel:2", "gumbel:4", "gumbel:8", "gumbel:32"}, schemes
    for s in schemes:
        assert sum(c["scheme"] == s for c in cases) >= 4, s
    keys = {c["key"] for c in cases}
    assert len(keys) >= 6 and ZERO_KEY in keys and SEQ_KEY in keys
    assert any(U32_MAX in c["context"] for c in cases)
    assert sum(any(t >= 2**30 for t in c["tokens"]) for c in cases) >= 3
    not_correctly_rounded = []
    for c in cases:
        assert len(c["context"]) == parse_gumbel(c["scheme"])
        assert all(t in c["tokens"] for t in BASE_TOKENS)
        assert len(set(c["tokens"])) == len(c["tokens"])
        stream = prf.KeyStream(c["seed"])
        # words straddling the block boundary come from the two blocks' bytes
        assert word(stream, 15) == int.from_bytes(stream.block(0)[60:64], "little")
        assert word(stream, 16) == int.from_bytes(stream.block(1)[0:4], "little")
        for t, w, r, g in zip(c["tokens"], c["words"], c["scores"], c["gumbel"]):
            u = uniform(w)
            # r within one ulp of the exact value (computed to 50 digits)
            assert r > 0 and within_ulps(r, exact_score(u), 1), (c["name"], t)
            # g: the outer ln adds an ulp of g; the inner one's rounding (an ulp of y = -ln u)
            # propagates as an absolute error of about ulp(y) / y <= 2^-52, large next to
            # ulp(g) only where g is near 0
            y = -math.log(u)
            allowed = 2 * Decimal(math.ulp(g)) + 2 * Decimal(math.ulp(y)) / Decimal(y)
            assert abs(Decimal(g) - exact_gumbel(u)) <= allowed, (c["name"], t)
            assert abs(g - float(exact_gumbel(u))) < 1e-14
            if float(exact_score(u)) != r:
                not_correctly_rounded.append((c["name"], t))
    return not_correctly_rounded


def check_samples(samples):
    names = [s["name"] for s in samples]
    assert 15 <= len(samples) and len(set(names)) == len(names)
    assert {s["scheme"] for s in samples} == {"gumbel:1", "gumbel:2", "gumbel:4", "gumbel:8", "gumbel:32"}
    assert {s["temperature"] for s in samples} == {0.7, 1.0}
    assert any(NEG_INF in s["logits"] for s in samples)
    ties = 0
    noise_wins = 0
    for s in samples:
        assert 20 <= len(s["logits"]) <= 200, s["name"]
        finite = [v for v, x in enumerate(s["logits"]) if math.isfinite(x)]
        assert finite and all(x == NEG_INF for x in s["logits"] if not math.isfinite(x))
        ranked = s["ranked"]
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            ties += 1
            # the tie is exact because the two ids share a word, so it holds under every libm
            stream = s["stream"]
            assert word(stream, ranked[0][0]) == word(stream, ranked[1][0])
            assert s["logits"][ranked[0][0]] == s["logits"][ranked[1][0]]
            assert ranked[0][0] < ranked[1][0] and s["token"] == ranked[0][0]
        elif len(ranked) > 1:
            # a clear winner: a libm that differs by an ulp or two in ln cannot change it
            assert ranked[0][1] - ranked[1][1] > 1e-9, s["name"]
        best_logit = max(finite, key=lambda v: (s["logits"][v], -v))
        if s["token"] != best_logit:
            noise_wins += 1
    assert ties == 1, ties
    assert noise_wins >= 5, noise_wins
    # the flat row is argmax of the noise, i.e. of the word
    flat = next(s for s in samples if s["name"] == "gumbel-h4-flat")
    assert flat["token"] == max(range(64), key=lambda v: (word(flat["stream"], v), -v))
    # the id with the largest noise is masked and is not chosen
    nm = next(s for s in samples if s["name"] == "gumbel-h8-noise-max-masked")
    noise_max = max(range(len(nm["logits"])), key=lambda v: (word(nm["stream"], v), -v))
    assert nm["logits"][noise_max] == NEG_INF and nm["token"] != noise_max
    single = next(s for s in samples if s["name"] == "gumbel-h4-single-candidate")
    assert single["token"] == 37


# ---------------------------------------------------------------------------
# TOML output
# ---------------------------------------------------------------------------


def toml_str(s):
    assert all(ch.isalnum() or ch in "-_:." for ch in s), s
    return '"%s"' % s


def toml_float(x):
    """repr() of a double (the shortest string that reads back exactly); -inf as TOML writes it."""
    if x == NEG_INF:
        return "-inf"
    assert math.isfinite(x), x
    text = repr(x)
    assert float(text) == x
    return text


def toml_list(xs, fmt):
    return "[" + ", ".join(fmt(x) for x in xs) + "]"


HEADER = [
    "# GENERATED FILE -- DO NOT EDIT: written by scripts/gen-gumbel-vectors.py (re-run the script instead).",
    "#",
    "# Test vectors for the wmark v1 Gumbel-max scheme `gumbel:h` (docs/spec.md), produced by an",
    "# independent pure-Python reference implementation (HMAC-SHA256 + the hand-written ChaCha8 of",
    "# scripts/gen-prf-vectors.py).",
    "#",
    "# [[case]]    the noise of `tokens` after `context` under `scheme` and `key`.",
    '#             `seed` = HMAC-SHA256(key, "wmark.v1\\0" || scheme || "\\0" || le32 of each context id);',
    "#             `context` holds exactly h ids. For each id v of `tokens`, at the same index:",
    "#             `words`  w(v) = little-endian u32 of keystream bytes 4v .. 4v+3 (ChaCha8 of `seed`,",
    "#                      rand_chacha::ChaCha8Rng::from_seed(seed)); integers;",
    "#             `scores` r(v) = -log1p(-u) with u = (w(v) + 0.5) / 2^32, a double (repr);",
    "#             `gumbel` g(v) = -ln(-ln u), a double (repr).",
    "#             u is exact; each score is within 1 ulp of the exact -ln(1 - u); each noise value",
    "#             within 1e-14 of the exact -ln(-ln u) (absolute: near g = 0 the inner ln's rounding",
    "#             dominates), so compare scores and noise with an absolute tolerance of 1e-14.",
    "# [[sample]]  the Gumbel-max choice. `logits` is the row for ids 0, 1, 2, ... after top-k / top-p",
    "#             (removed ids are -inf); `temperature` T; `token` is the id with the largest",
    "#             logit / T + g(id) among ids with a finite logit, computed in double, ties to the",
    "#             smaller id (g from the seed of `context` as in [[case]]). Except for the one tie",
    "#             case (two ids with equal words and equal logits), the winner leads by more than 1e-9.",
    "# All keys and seeds are lowercase hex.",
    "",
]


def render(cases, samples):
    lines = list(HEADER)
    for c in cases:
        lines += [
            "[[case]]",
            "name = %s" % toml_str(c["name"]),
            "key = %s" % toml_str(c["key"].hex()),
            "scheme = %s" % toml_str(c["scheme"]),
            "context = %s" % toml_list(c["context"], str),
            "seed = %s" % toml_str(c["seed"].hex()),
            "tokens = %s" % toml_list(c["tokens"], str),
            "words = %s" % toml_list(c["words"], str),
            "scores = %s" % toml_list(c["scores"], toml_float),
            "gumbel = %s" % toml_list(c["gumbel"], toml_float),
            "",
        ]
    for s in samples:
        lines += [
            "[[sample]]",
            "name = %s" % toml_str(s["name"]),
            "key = %s" % toml_str(s["key"].hex()),
            "scheme = %s" % toml_str(s["scheme"]),
            "context = %s" % toml_list(s["context"], str),
            "logits = %s" % toml_list(s["logits"], toml_float),
            "temperature = %s" % toml_float(s["temperature"]),
            "token = %d" % s["token"],
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------
# The worked examples of docs/spec.md
# ---------------------------------------------------------------------------

DETECT_IDS = [17, 42, 1, 3, 42, 1, 5]


def log10_gamma_upper(n, x):
    """log10 Q(n, x) for an integer n >= 1: Q = e^-x * sum_{k<n} x^k / k!, to 50 digits."""
    with localcontext() as ctx:
        ctx.prec = 50
        x = Decimal(x)
        term, total = Decimal(1), Decimal(0)
        for k in range(n):
            total += term
            term = term * x / (k + 1)
        return (total.ln() - x) / Decimal(10).ln()


def spec_examples():
    """The Gumbel-max worked examples of docs/spec.md, `field: value` lines. Their numbers are
    those of the vector file's `gumbel-h2-spec-example` case and sample."""
    case = find_case("gumbel-h2-spec-example")
    key, scheme, context = case["key"], case["scheme"], case["context"]
    seed = gumbel_seed(key, scheme, context)
    assert seed == case["seed"]
    stream = prf.KeyStream(seed)
    ids = [0, 1, 2, 3]
    at = [case["tokens"].index(v) for v in ids]
    words = [case["words"][i] for i in at]
    block1 = [
        "key: " + key.hex(),
        "key_id: " + prf.key_id(key),
        "scheme: " + scheme,
        "context: " + " ".join(str(t) for t in context),
        "hmac_message: " + hmac_message(scheme, context).hex(),
        "seed: " + seed.hex(),
        "stream_0_16: " + stream.read(0, 16).hex(),
        "words_0_4: " + " ".join(str(w) for w in words),
        "u_0_4: " + " ".join(repr(uniform(w)) for w in words),
        "scores_0_4: " + " ".join(repr(case["scores"][i]) for i in at),
        "gumbel_0_4: " + " ".join(repr(case["gumbel"][i]) for i in at),
    ]

    s = next(x for x in build_samples() if x["name"] == "gumbel-h2-spec-example")
    assert (s["key"], s["scheme"], s["context"]) == (key, scheme, context)
    (win, win_key), (second, second_key) = s["ranked"][0], s["ranked"][1]
    block2 = [
        "scheme: " + scheme,
        "context: " + " ".join(str(t) for t in context),
        "temperature: " + repr(s["temperature"]),
        "logits: " + " ".join(toml_float(x) for x in s["logits"]),
        "argmax_logit: %d" % max(range(len(s["logits"])), key=lambda v: (s["logits"][v], -v)),
        "token: %d" % win,
        "token_key: %r" % win_key,
        "runner_up: %d" % second,
        "runner_up_key: %r" % second_key,
    ]

    # detection over DETECT_IDS: first h ids have no context; a context's second use is skipped
    h = parse_gumbel(scheme)
    seen = set()
    scored, repeated, rs = [], [], []
    for t in range(h, len(DETECT_IDS)):
        ctx = tuple(DETECT_IDS[t - h : t])
        if ctx in seen:
            repeated.append(t)
            continue
        seen.add(ctx)
        scored.append(t)
        u = uniform(word(prf.KeyStream(gumbel_seed(key, scheme, list(ctx))), DETECT_IDS[t]))
        rs.append(score(u))
    total = 0.0
    for r in rs:
        total += r
    block3 = [
        "scheme: " + scheme,
        "ids: " + " ".join(str(t) for t in DETECT_IDS),
        "no_context: " + " ".join(str(t) for t in range(h)),
        "scored: " + " ".join(str(t) for t in scored),
        "repeated_context: " + " ".join(str(t) for t in repeated),
        "scores: " + " ".join(repr(r) for r in rs),
        "n: %d" % len(rs),
        "S: %r" % total,
        "log10_p: %.12f" % log10_gamma_upper(len(rs), total),
    ]
    return ["\n".join(block1), "\n".join(block2), "\n".join(block3)]


def spec_text_blocks():
    return ["```text\n%s\n```\n" % block for block in spec_examples()]


# ---------------------------------------------------------------------------


def main(argv):
    check = False
    for arg in argv[1:]:
        if arg == "--check":
            check = True
        elif arg == "--spec-example":
            for block in spec_text_blocks():
                print(block)
            return 0
        elif arg in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            print("unknown argument: %s" % arg, file=sys.stderr)
            return 2

    prf.self_test()
    print("self-test ok: ChaCha20 RFC 7539 2.3.2 block vector; ChaCha8 zero-key vector", file=sys.stderr)

    cases = build_cases()
    not_cr = check_cases(cases)
    samples = build_samples()
    check_samples(samples)
    if not_cr:
        print(
            "note: %d of the scores (math.log1p) are 1 ulp from the correctly rounded value" % len(not_cr),
            file=sys.stderr,
        )
    data = render(cases, samples).encode("utf-8")

    if check:
        status = 0
        try:
            current = OUT_PATH.read_bytes()
        except FileNotFoundError:
            current = None
        if current != data:
            print("%s is out of date; run python3 scripts/gen-gumbel-vectors.py" % OUT_PATH, file=sys.stderr)
            status = 1
        spec = SPEC_PATH.read_text(encoding="utf-8")
        for block in spec_text_blocks():
            if block not in spec:
                print("docs/spec.md lacks this worked example (or quotes other numbers):\n%s" % block, file=sys.stderr)
                status = 1
        if status == 0:
            print("%s and the spec's Gumbel-max examples are up to date (%d cases, %d samples)"
                  % (OUT_PATH, len(cases), len(samples)), file=sys.stderr)  # fmt: skip
        return status

    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    OUT_PATH.write_bytes(data)
    print("wrote %s (%d cases, %d samples)" % (OUT_PATH, len(cases), len(samples)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
