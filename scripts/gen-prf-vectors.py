#!/usr/bin/env python3
"""Reference generator for the wmark v1 PRF / green-list test vectors.

This is an independent, standard-library-only Python implementation of the
wmark "v1" seeding scheme (HMAC-SHA256 context seeds, a ChaCha8 keystream per
seed, and the green-list rule).  It writes the fixture file

    fixtures/vectors/prf-v1.toml

which the Rust crate checks itself against.  Nothing here depends on the Rust
code: ChaCha is written out by hand below and checked against the RFC 7539
section 2.3.2 block-function test vector (20 rounds) every time the script
runs; the same code with 8 rounds is the ChaCha8 used by the scheme.

Usage (from anywhere; paths are relative to the repository root):

    python3 scripts/gen-prf-vectors.py          # (re)write the fixture file
    python3 scripts/gen-prf-vectors.py --check  # exit 1 if the file on disk
                                                # differs from what would be written
    python3 scripts/gen-prf-vectors.py --spec-example  # print the worked examples
                                                # of docs/spec.md

The output is fully deterministic: re-running produces byte-identical output.

Scheme summary (v1, byte-exact):
  * key: 32 bytes; HMAC means HMAC-SHA256 keyed with it.
  * seed = HMAC(key, b"wmark.v1" 0x00 scheme 0x00 payload), payload = the
    selected token ids as little-endian u32s.
  * stream = ChaCha8 keystream, seed as key, original DJB layout (64-bit block
    counter in words 12-13 starting at 0, 64-bit nonce 0 in words 14-15), i.e.
    the bytes of rand_chacha::ChaCha8Rng::from_seed(seed).
  * G = round(256 * gamma); token t is green iff t < vocab_size and stream[t] < G.
  * F(w) = u64 little-endian of the first 8 bytes of
    HMAC(key, b"wmark.v1\\x00tokhash\\x00" + le32(w)).
  * rules: unigram, lefthash, window:h, minhash:h, selfhash:h (see seed_payload).
"""

import hashlib
import hmac
import json
import math
import struct
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = REPO_ROOT / "fixtures" / "vectors" / "prf-v1.toml"

MASK32 = 0xFFFFFFFF
U32_MAX = 0xFFFFFFFF


# ---------------------------------------------------------------------------
# ChaCha block function (round count is a parameter)
# ---------------------------------------------------------------------------

CHACHA_CONSTANTS = struct.unpack("<4I", b"expand 32-byte k")


def rotl32(x, n):
    return ((x << n) | (x >> (32 - n))) & MASK32


def quarter_round(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & MASK32
    s[d] = rotl32(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & MASK32
    s[b] = rotl32(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & MASK32
    s[d] = rotl32(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & MASK32
    s[b] = rotl32(s[b] ^ s[c], 7)


def chacha_block(key, words_12_to_15, rounds):
    """One ChaCha block: 64 output bytes.

    key: 32 bytes (state words 4..11, little-endian).
    words_12_to_15: the four u32 state words 12..15 (counter / nonce; the
        caller decides the layout: IETF or original DJB).
    rounds: total number of rounds (20 for ChaCha20, 8 for ChaCha8).
    """
    assert len(key) == 32
    assert len(words_12_to_15) == 4
    assert rounds % 2 == 0
    state = list(CHACHA_CONSTANTS) + list(struct.unpack("<8I", key)) + list(words_12_to_15)
    work = list(state)
    for _ in range(rounds // 2):
        # column round
        quarter_round(work, 0, 4, 8, 12)
        quarter_round(work, 1, 5, 9, 13)
        quarter_round(work, 2, 6, 10, 14)
        quarter_round(work, 3, 7, 11, 15)
        # diagonal round
        quarter_round(work, 0, 5, 10, 15)
        quarter_round(work, 1, 6, 11, 12)
        quarter_round(work, 2, 7, 8, 13)
        quarter_round(work, 3, 4, 9, 14)
    out = [(work[i] + state[i]) & MASK32 for i in range(16)]
    return struct.pack("<16I", *out)


def chacha_djb_block(key, block_counter, rounds=8):
    """Original-DJB layout: 64-bit counter in words 12 (low) / 13 (high), nonce 0."""
    assert 0 <= block_counter < 2**64
    words = [block_counter & MASK32, block_counter >> 32, 0, 0]
    return chacha_block(key, words, rounds)


class KeyStream:
    """The ChaCha8 keystream of one 32-byte seed, computed block by block on demand."""

    def __init__(self, seed):
        assert len(seed) == 32
        self.seed = seed
        self._blocks = {}

    def block(self, index):
        if index not in self._blocks:
            self._blocks[index] = chacha_djb_block(self.seed, index, rounds=8)
        return self._blocks[index]

    def byte(self, position):
        return self.block(position // 64)[position % 64]

    def read(self, offset, length):
        return bytes(self.byte(offset + i) for i in range(length))


def self_test():
    """RFC 7539 section 2.3.2 block-function test vector (20 rounds, IETF layout),
    plus a ChaCha8 known-answer check. Raises AssertionError on failure."""
    key = bytes(range(32))
    nonce = bytes.fromhex("000000090000004a00000000")
    counter = 1
    words = [counter] + list(struct.unpack("<3I", nonce))
    got = chacha_block(key, words, rounds=20)
    expected = bytes.fromhex(
        "10f1e7e4d13b5915500fdd1fa32071c4"
        "c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2"
        "b5129cd1de164eb9cbd083e8a2503c4e"
    )
    assert got == expected, "ChaCha20 RFC 7539 2.3.2 self-test FAILED: " + got.hex()
    # ChaCha8, all-zero 256-bit key, zero IV, block 0: test case TC1 (8 rounds)
    # of draft-strombergson-chacha-test-vectors-00.
    got8 = chacha_djb_block(bytes(32), 0, rounds=8)
    expected8 = bytes.fromhex(
        "3e00ef2f895f40d67f5bb8e81f09a5a1"
        "2c840ec3ce9a7f3b181be188ef711a1e"
        "984ce172b9216f419f445367456d5619"
        "314a42a3da86b001387bfdb80e0cfe42"
    )
    assert got8 == expected8, "ChaCha8 zero-key self-test FAILED: " + got8.hex()
    return got, got8


# ---------------------------------------------------------------------------
# The v1 scheme
# ---------------------------------------------------------------------------

DOMAIN = b"wmark.v1"


def hmac_sha256(key, message):
    return hmac.new(key, message, hashlib.sha256).digest()


def le32(x):
    assert 0 <= x <= U32_MAX, x
    return struct.pack("<I", x)


def context_seed(key, scheme, payload):
    return hmac_sha256(key, DOMAIN + b"\x00" + scheme.encode("ascii") + b"\x00" + payload)


def token_hash(key, token):
    digest = hmac_sha256(key, DOMAIN + b"\x00tokhash\x00" + le32(token))
    return struct.unpack("<Q", digest[:8])[0]


def min_hash_token(key, tokens):
    """Token with the smallest F; ties between different ids -> smallest id."""
    assert tokens
    return min(tokens, key=lambda w: (token_hash(key, w), w))


def green_threshold(gamma):
    """round(256 * gamma), half away from zero (gamma is non-negative)."""
    return int(math.floor(256 * gamma + 0.5))


def parse_scheme(scheme):
    if scheme in ("unigram", "lefthash"):
        return scheme, None
    rule, _, h = scheme.partition(":")
    assert rule in ("window", "minhash", "selfhash"), scheme
    h = int(h)
    assert h >= 1
    return rule, h


def needed_context(scheme):
    rule, h = parse_scheme(scheme)
    return {"unigram": 0, "lefthash": 1, "window": h, "minhash": h, "selfhash": (h or 1) - 1}[rule]


def seed_payload(key, scheme, context, candidate=None):
    """Payload bytes for a context (and, for selfhash, a candidate token)."""
    rule, h = parse_scheme(scheme)
    need = needed_context(scheme)
    assert len(context) >= need, (scheme, context)
    if rule == "unigram":
        return b""
    if rule == "lefthash":
        return le32(context[-1])
    if rule == "window":
        return b"".join(le32(x) for x in context[-h:])
    if rule == "minhash":
        return le32(min_hash_token(key, context[-h:]))
    if rule == "selfhash":
        assert candidate is not None
        tail = list(context[len(context) - (h - 1):]) if h > 1 else []
        window = tail + [candidate]
        assert len(window) == h
        m = min_hash_token(key, window)
        return le32(candidate) + le32(m)
    raise AssertionError(scheme)


def is_green(stream, token, vocab_size, threshold):
    return token < vocab_size and stream.byte(token) < threshold


def evaluate_case(key, scheme, gamma, vocab_size, context, tokens):
    """Returns (green list, seed of the context / first probed token, that KeyStream)."""
    rule, _ = parse_scheme(scheme)
    threshold = green_threshold(gamma)
    green = []
    first_seed = None
    first_stream = None
    if rule == "selfhash":
        for c in tokens:
            seed = context_seed(key, scheme, seed_payload(key, scheme, context, candidate=c))
            stream = KeyStream(seed)
            if first_seed is None:
                first_seed, first_stream = seed, stream
            green.append(is_green(stream, c, vocab_size, threshold))
    else:
        first_seed = context_seed(key, scheme, seed_payload(key, scheme, context))
        first_stream = KeyStream(first_seed)
        green = [is_green(first_stream, t, vocab_size, threshold) for t in tokens]
    return green, first_seed, first_stream


# ---------------------------------------------------------------------------
# Test-case definitions
# ---------------------------------------------------------------------------


def test_key(i):
    return hashlib.sha256(b"wmark test key " + str(i).encode()).digest()


ZERO_KEY = bytes(32)
SEQ_KEY = bytes(range(32))
K1, K2, K3, K4, K5 = (test_key(i) for i in range(1, 6))

KEYID_KEYS = [ZERO_KEY, SEQ_KEY, K1, K2]
ACCOUNT_SPECS = [(SEQ_KEY, "acme"), (SEQ_KEY, ""), (K1, "customer-000042"), (K1, "\u00e9t\u00e9 \u6771\u4eac")]


def key_id(key):
    return hashlib.sha256(DOMAIN + b"\x00keyid\x00" + key).hexdigest()[:16]


def account_key(master, account):
    return hmac_sha256(master, DOMAIN + b"\x00account\x00" + account.encode("utf-8"))


GAMMA_TAG = {0.1: "g010", 0.25: "g025", 0.5: "g050"}


def pseudo_random_id(label, i, bound):
    """Deterministic pseudo-random id in [0, bound), derived from SHA-256."""
    digest = hashlib.sha256(("wmark vector ids/%s/%d" % (label, i)).encode()).digest()
    return int.from_bytes(digest[:8], "little") % bound


def probe_tokens(label, vocab_size, count=28, beyond=(0, 1), extra=()):
    """Tokens to probe: 0, block-boundary ids, vocabulary-end ids, ids >= V,
    then pseudo-random ids to fill up to `count`. Order-preserving, no duplicates."""
    V = vocab_size
    if V <= 64:
        base = list(range(0, 36)) + [V - 2, V - 1]
    else:
        base = [0, 1, 2, 63, 64, 65, 127, 128] + [V - 65, V - 64, V - 2, V - 1]
    base += [V + d for d in beyond]
    base += list(extra)
    out = []
    for t in base:
        if 0 <= t <= U32_MAX and t not in out:
            out.append(t)
    i = 0
    while len(out) < count:
        t = pseudo_random_id(label, i, V)
        i += 1
        if t not in out:
            out.append(t)
    assert 16 <= len(out) <= 40, (label, len(out))
    return out


# (tag, scheme, gamma, vocab_size, key, context, probe-options)
CASE_SPECS = [
    # unigram
    ("basic", "unigram", 0.25, 32000, K1, [], {}),
    ("tiny-vocab-zero-key", "unigram", 0.5, 50, ZERO_KEY, [], {}),
    ("context-ignored", "unigram", 0.1, 262144, K2, [5, 6, 7], {}),
    ("seq-key", "unigram", 0.1, 1000, SEQ_KEY, [], {"count": 20}),
    # lefthash
    ("basic", "lefthash", 0.25, 32000, K1, [17, 42], {}),
    ("single-context", "lefthash", 0.5, 50272, K3, [42], {}),
    ("max-u32-context", "lefthash", 0.1, 128256, K4, [4294967295], {"extra": [4294967295]}),
    ("seq-key-token0-context", "lefthash", 0.25, 1000, SEQ_KEY, [0], {}),
    ("long-context", "lefthash", 0.5, 151936, K5, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], {"count": 36}),
    ("zero-key", "lefthash", 0.25, 262144, ZERO_KEY, [0], {}),
    # window:2
    ("basic", "window:2", 0.25, 32000, K1, [17, 42], {}),
    ("long-context", "window:2", 0.1, 262144, K2, [100, 200, 300], {}),
    ("repeated-zero", "window:2", 0.5, 128256, K4, [0, 0], {}),
    # window:3
    ("basic", "window:3", 0.5, 50272, K3, [1, 2, 3], {}),
    ("repeated-zero-key", "window:3", 0.25, 128256, ZERO_KEY, [7, 7, 7], {}),
    ("large-ids-long-context", "window:3", 0.1, 151936, K4, [4294967295, 0, 4294967294, 65536, 1], {}),
    # window:4
    ("repeated", "window:4", 0.25, 32000, K5, [7, 7, 7, 7], {}),
    ("long-context", "window:4", 0.5, 1000, K1, [9, 8, 7, 6, 5, 4], {}),
    ("tiny-vocab-seq-key", "window:4", 0.1, 50, SEQ_KEY, [0, 1, 2, 3], {}),
    # minhash:2
    ("basic", "minhash:2", 0.25, 32000, K1, [17, 42], {}),
    ("repeated", "minhash:2", 0.5, 151936, K2, [5, 5], {}),
    ("large-ids-tiny-vocab", "minhash:2", 0.1, 50, K1, [4294967295, 4294967294], {}),
    # minhash:4
    ("min-appears-twice", "minhash:4", 0.25, 128256, K3, [1000, 2000, 1000, 2000], {}),
    ("repeated", "minhash:4", 0.1, 262144, K4, [7, 7, 7, 7], {}),
    ("long-context-zero-key", "minhash:4", 0.5, 50272, ZERO_KEY, [4294967295, 1, 2, 3, 4, 5], {}),
    # minhash:5
    ("basic", "minhash:5", 0.25, 1000, K5, [10, 20, 30, 40, 50], {}),
    ("long-context-seq-key", "minhash:5", 0.1, 32000, SEQ_KEY,
     [4294967295, 3, 31999, 65535, 0, 123456, 31998, 77], {}),
    ("min-appears-twice", "minhash:5", 0.5, 151936, K2, [11, 12, 13, 11, 12, 13, 11], {}),
    # selfhash:1
    ("no-context", "selfhash:1", 0.25, 32000, K1, [], {}),
    ("context-ignored-tiny-vocab", "selfhash:1", 0.5, 50, K2, [3, 4], {}),
    # selfhash:2
    ("basic", "selfhash:2", 0.25, 128256, K3, [42], {}),
    ("max-u32-context", "selfhash:2", 0.1, 151936, K4, [4294967295], {"extra": [4294967295]}),
    ("long-context", "selfhash:2", 0.5, 1000, K5, [1, 2, 3, 99], {}),
    # selfhash:4
    ("repeated", "selfhash:4", 0.25, 262144, K1, [7, 7, 7], {}),
    ("zero-key", "selfhash:4", 0.5, 50272, ZERO_KEY, [11, 22, 33], {}),
    ("long-context-seq-key", "selfhash:4", 0.1, 32000, SEQ_KEY, [1, 2, 3, 4, 5, 6], {}),
    ("tiny-vocab", "selfhash:4", 0.25, 50, K2, [49, 0, 25], {}),
]


def case_name(tag, scheme, gamma, vocab_size):
    return "%s-%s-v%d-%s" % (scheme.replace(":", "-h"), GAMMA_TAG[gamma], vocab_size, tag)


def build_cases():
    cases = []
    for tag, scheme, gamma, V, key, context, opts in CASE_SPECS:
        name = case_name(tag, scheme, gamma, V)
        tokens = probe_tokens(name, V, **opts)
        green, seed, stream = evaluate_case(key, scheme, gamma, V, context, tokens)
        cases.append({
            "name": name,
            "key": key,
            "scheme": scheme,
            "gamma": gamma,
            "vocab_size": V,
            "context": list(context),
            "tokens": tokens,
            "green": green,
            "seed": seed,
            "stream_prefix": stream.read(0, 64),
        })
    return cases


TOKHASH_SPECS = [
    (K1, 0), (K1, 1), (K1, 42), (K1, 255), (K1, 256), (K1, 65535), (K1, 65536),
    (K1, 4294967295), (ZERO_KEY, 0), (ZERO_KEY, 31999), (SEQ_KEY, 7), (SEQ_KEY, 4294967294),
    (K3, 1000), (K3, 2000),
]

STREAM_OFFSETS = [0, 63, 64, 250, 4096, 131000, 262080]


def build_streams():
    seeds = [
        ("zero-seed", bytes(32)),
        ("seq-seed", bytes(range(32))),
        ("lefthash-k1-ctx42-seed", context_seed(K1, "lefthash", le32(42))),
    ]
    out = []
    for label, seed in seeds:
        ks = KeyStream(seed)
        for off in STREAM_OFFSETS:
            out.append({"name": "%s-off%d" % (label, off), "seed": seed, "offset": off,
                        "bytes": ks.read(off, 64)})
    return out


# ---------------------------------------------------------------------------
# Coverage checks (so later edits cannot silently drop required coverage)
# ---------------------------------------------------------------------------


def check_coverage(cases):
    names = [c["name"] for c in cases]
    assert len(cases) >= 30
    assert len(set(names)) == len(names), "duplicate case names"
    schemes = {c["scheme"] for c in cases}
    for s in ["unigram", "lefthash", "window:2", "window:3", "window:4", "minhash:2",
              "minhash:4", "minhash:5", "selfhash:1", "selfhash:2", "selfhash:4"]:
        assert s in schemes, s
    rules = {}
    for c in cases:
        rules.setdefault(parse_scheme(c["scheme"])[0], set()).add(c["gamma"])
    assert all(len(g) >= 2 for g in rules.values()), rules
    assert {c["gamma"] for c in cases} == {0.1, 0.25, 0.5}
    assert {c["vocab_size"] for c in cases} >= {50, 1000, 32000, 50272, 128256, 151936, 262144}
    assert len({c["key"] for c in cases}) >= 5
    assert ZERO_KEY in {c["key"] for c in cases} and SEQ_KEY in {c["key"] for c in cases}
    assert any(4294967295 in c["context"] for c in cases)
    for c in cases:
        assert len(c["context"]) >= needed_context(c["scheme"])
        assert 16 <= len(c["tokens"]) <= 40
        assert 0 in c["tokens"]
        assert any(g for g in c["green"]) and not all(c["green"]), c["name"]
        for t, g in zip(c["tokens"], c["green"]):
            if t >= c["vocab_size"]:
                assert g is False
        assert any(t >= c["vocab_size"] for t in c["tokens"])
    assert any(len(c["context"]) > needed_context(c["scheme"]) for c in cases)
    # a minhash context where the minimum token occurs twice in the used window
    found = False
    for c in cases:
        rule, h = parse_scheme(c["scheme"])
        if rule == "minhash":
            win = c["context"][-h:]
            if win.count(min_hash_token(c["key"], win)) >= 2 and len(set(win)) > 1:
                found = True
    assert found, "no minhash case with a repeated minimum"
    # selfhash: both "candidate is the min" and "a context token is the min" occur
    self_cand, self_ctx = False, False
    for c in cases:
        rule, h = parse_scheme(c["scheme"])
        if rule == "selfhash" and h > 1:
            tail = c["context"][len(c["context"]) - (h - 1):]
            for t in c["tokens"]:
                if min_hash_token(c["key"], tail + [t]) == t:
                    self_cand = True
                else:
                    self_ctx = True
    assert self_cand and self_ctx


# ---------------------------------------------------------------------------
# TOML output
# ---------------------------------------------------------------------------


def toml_str(s):
    assert all(ch.isalnum() or ch in "-_:." for ch in s), s
    return '"%s"' % s


def toml_int_list(xs):
    return "[" + ", ".join(str(x) for x in xs) + "]"


def toml_bool_list(xs):
    return "[" + ", ".join("true" if x else "false" for x in xs) + "]"


def render(cases, tokhashes, streams):
    lines = [
        "# Generated by scripts/gen-prf-vectors.py -- DO NOT EDIT (re-run the script instead).",
        "#",
        "# Test vectors for the wmark v1 PRF / green-list scheme, produced by an",
        "# independent pure-Python reference implementation (HMAC-SHA256 + hand-written ChaCha8).",
        "#",
        "# [[case]]     green-list membership of `tokens` given `context` under `scheme`.",
        "#              `seed` is the context seed (for selfhash: the seed of the FIRST probed",
        "#              token); `stream_prefix` is the first 64 ChaCha8 keystream bytes of `seed`.",
        "# [[tokhash]]  F(token) = u64 from the first 8 bytes (little-endian) of",
        "#              HMAC-SHA256(key, \"wmark.v1\\0tokhash\\0\" || le32(token)); `value` is that",
        "#              u64 written as a 16-digit lowercase hex NUMBER (i.e. format!(\"{:016x}\", v)).",
        "# [[stream]]   64 ChaCha8 keystream bytes (original DJB layout, 64-bit counter from 0,",
        "#              nonce 0 = rand_chacha::ChaCha8Rng::from_seed(seed)) starting at byte `offset`.",
        "# [[keyid]]    key id: first 8 bytes of SHA-256(\"wmark.v1\\0keyid\\0\" || key), hex.",
        "# [[account]]  account key: HMAC-SHA256(master, \"wmark.v1\\0account\\0\" || utf8(account)).",
        "# All keys / seeds / byte strings are lowercase hex.",
        "",
    ]
    for c in cases:
        lines += [
            "[[case]]",
            "name = %s" % toml_str(c["name"]),
            "key = %s" % toml_str(c["key"].hex()),
            "scheme = %s" % toml_str(c["scheme"]),
            "gamma = %r" % c["gamma"],
            "vocab_size = %d" % c["vocab_size"],
            "context = %s" % toml_int_list(c["context"]),
            "tokens = %s" % toml_int_list(c["tokens"]),
            "green = %s" % toml_bool_list(c["green"]),
            "seed = %s" % toml_str(c["seed"].hex()),
            "stream_prefix = %s" % toml_str(c["stream_prefix"].hex()),
            "",
        ]
    for key, token in tokhashes:
        lines += [
            "[[tokhash]]",
            "key = %s" % toml_str(key.hex()),
            "token = %d" % token,
            "value = %s" % toml_str("%016x" % token_hash(key, token)),
            "",
        ]
    for key in KEYID_KEYS:
        lines += [
            "[[keyid]]",
            "key = %s" % toml_str(key.hex()),
            "key_id = %s" % toml_str(key_id(key)),
            "",
        ]
    for key, account in ACCOUNT_SPECS:
        lines += [
            "[[account]]",
            "master = %s" % toml_str(key.hex()),
            "account = %s" % json.dumps(account),  # TOML basic string: \uXXXX escapes
            "key = %s" % toml_str(account_key(key, account).hex()),
            "",
        ]
    for s in streams:
        lines += [
            "[[stream]]",
            "name = %s" % toml_str(s["name"]),
            "seed = %s" % toml_str(s["seed"].hex()),
            "offset = %d" % s["offset"],
            "bytes = %s" % toml_str(s["bytes"].hex()),
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def spec_examples():
    """The worked examples of docs/spec.md, one text block per scheme, `field: value` lines.
    crates/wmark-core/tests/spec_example.rs recomputes every field from docs/spec.md."""
    key = SEQ_KEY
    blocks = []
    for scheme, context, candidate in (("lefthash", [17, 42], None), ("selfhash:2", [42], 7)):
        threshold = green_threshold(0.25)
        lines = [
            "key: " + key.hex(),
            "key_id: " + key_id(key),
            "scheme: " + scheme,
            "gamma: 0.25",
            "G: %d" % threshold,
            "vocab_size: 32000",
            "context: " + " ".join(str(t) for t in context),
        ]
        if candidate is not None:
            window = context[-1:] + [candidate]
            lines.append("candidate: %d" % candidate)
            for w in window:
                lines.append("F(%d): %016x" % (w, token_hash(key, w)))
            lines.append("min_token: %d" % min_hash_token(key, window))
        message = DOMAIN + b"\x00" + scheme.encode() + b"\x00" + seed_payload(key, scheme, context, candidate)
        seed = hmac_sha256(key, message)
        stream = KeyStream(seed)
        lines += [
            "hmac_message: " + message.hex(),
            "seed: " + seed.hex(),
            "stream_0_16: " + stream.read(0, 16).hex(),
        ]
        if candidate is None:
            lines.append("green_0_16: " + " ".join(
                str(int(is_green(stream, t, 32000, threshold))) for t in range(16)))
        else:
            lines.append("stream_byte_candidate: %d" % stream.byte(candidate))
            lines.append("candidate_green: %d" % int(is_green(stream, candidate, 32000, threshold)))
        blocks.append("\n".join(lines))
    return blocks


def main(argv):
    check = False
    for arg in argv[1:]:
        if arg == "--check":
            check = True
        elif arg == "--spec-example":
            for block in spec_examples():
                print("```text\n%s\n```\n" % block)
            return 0
        elif arg in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            print("unknown argument: %s" % arg, file=sys.stderr)
            return 2

    self_test()
    print("self-test ok: ChaCha20 RFC 7539 2.3.2 block vector; ChaCha8 zero-key vector",
          file=sys.stderr)

    cases = build_cases()
    check_coverage(cases)
    text = render(cases, TOKHASH_SPECS, build_streams())
    data = text.encode("utf-8")

    if check:
        try:
            current = OUT_PATH.read_bytes()
        except FileNotFoundError:
            print("%s is missing" % OUT_PATH, file=sys.stderr)
            return 1
        if current != data:
            print("%s is out of date; run python3 scripts/gen-prf-vectors.py" % OUT_PATH,
                  file=sys.stderr)
            return 1
        print("%s is up to date (%d cases)" % (OUT_PATH, len(cases)), file=sys.stderr)
        return 0

    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    OUT_PATH.write_bytes(data)
    print("wrote %s (%d cases)" % (OUT_PATH, len(cases)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
