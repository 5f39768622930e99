"""The Gumbel-max schemes from Python: configurations and vLLM keys, the sampler against
vLLM's own choices (fixtures/vectors/vllm-philox.toml) and against scoring every candidate,
generation loops found by the detector (and equal to the command line's reports), and the
Hugging Face shape, GumbelLogitsProcessor."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import pytest

import wmark
from conftest import VECTORS, Cli, fixed_key, load_toml

GUMBEL_SCHEMES = ["gumbel:4", "vllm-gumbel:4", "vllm-dual-key-gumbel:4"]


def cli_reports(out: str) -> List[dict]:
    reports = [json.loads(line) for line in out.splitlines() if line.strip()]
    for r in reports:
        r.pop("source")
    return reports


def key_for(config: wmark.Config, n: int = 1) -> wmark.Key:
    """A fixed key of the kind the scheme needs."""
    return wmark.Key.from_vllm(1_000_003 * n + 17) if config.key_kind == "vllm" else fixed_key(n)


# ---------------------------------------------------------------------------------------------
# Config


def test_gumbel_configs_have_no_green_list() -> None:
    c = wmark.Config("gumbel:4", vocab_size=100)
    assert (c.scheme, c.is_gumbel, c.gamma, c.delta, c.green_threshold, c.alpha) == ("gumbel:4", True, None, None, None, None)
    assert (c.vocab_size, c.context_len, c.key_kind) == (100, 4, "v1")
    assert repr(c) == "Config(scheme='gumbel:4', vocab_size=100)"
    assert c == wmark.Config("gumbel:4", 0.25, 2.0, vocab_size=100)  # the defaults are accepted
    v = wmark.Config("vllm-gumbel:4", vocab_size=100)
    assert (v.is_gumbel, v.gamma, v.delta, v.alpha, v.context_len, v.key_kind) == (True, None, None, None, 0, "vllm")
    d = wmark.Config("vllm-dual-key-gumbel:3", vocab_size=100)
    assert d.alpha == 0.1 and d.key_kind == "vllm"
    assert repr(d) == "Config(scheme='vllm-dual-key-gumbel:3', vocab_size=100, alpha=0.1)"
    d3 = wmark.Config("vllm-dual-key-gumbel:3", vocab_size=100, alpha=0.3)
    assert d3.alpha == 0.3 and d3 != d
    assert wmark.Config("vllm-dual-key-gumbel:3", vocab_size=100, alpha=0.1) == d
    assert wmark.Config("vllm-dual-key-gumbel:3", vocab_size=100, alpha=0).alpha == 0.0
    assert wmark.Config("vllm-dual-key-gumbel:3", vocab_size=100, alpha=1).alpha == 1.0
    # the green-list schemes are unchanged
    g = wmark.Config("lefthash", vocab_size=100)
    assert (g.is_gumbel, g.gamma, g.delta, g.green_threshold, g.alpha, g.key_kind) == (False, 0.25, 2.0, 64, None, "v1")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(scheme="gumbel:4", gamma=0.5),
        dict(scheme="gumbel:4", delta=1.0),
        dict(scheme="vllm-gumbel:4", gamma=float("nan")),
        dict(scheme="vllm-dual-key-gumbel:4", delta=0.0),
        dict(scheme="gumbel:0"),
        dict(scheme="gumbel:33"),
        dict(scheme="gumbel:04"),
        dict(scheme="vllm-gumbel:0"),
        dict(scheme="vllm-gumbel:1025"),
        dict(scheme="vllm-gumbel"),
        dict(scheme="vllm-dual-key-gumbel:4", alpha=1.5),
        dict(scheme="vllm-dual-key-gumbel:4", alpha=-0.1),
        dict(scheme="vllm-dual-key-gumbel:4", alpha=float("nan")),
        dict(scheme="vllm-gumbel:4", alpha=0.1),
        dict(scheme="gumbel:4", alpha=0.1),
        dict(scheme="lefthash", alpha=0.1),
        dict(scheme="gumbel:4", vocab_size=0),
    ],
)
def test_bad_gumbel_configs(kwargs: dict) -> None:
    args = dict(vocab_size=100)
    args.update(kwargs)
    with pytest.raises(wmark.ConfigError) as e:
        wmark.Config(**args)
    assert isinstance(e.value, ValueError)


# ---------------------------------------------------------------------------------------------
# vLLM keys


def test_vllm_keys() -> None:
    k = wmark.Key.from_vllm(12345)
    assert k.kind == "vllm" and wmark.Key.generate().kind == "v1" and fixed_key(1).kind == "v1"
    assert k == wmark.Key.from_vllm(12345) and k != wmark.Key.from_vllm(12346)
    assert len({k, wmark.Key.from_vllm(12345)}) == 1
    assert repr(k) == f"Key(id='{k.id}', kind='vllm')" and len(k.id) == 16
    assert wmark.Key.from_vllm(np.uint64(12345)) == k  # anything with __index__
    assert wmark.Key.from_vllm(2**64 - 1).kind == "vllm" and wmark.Key.from_vllm(0).kind == "vllm"
    # the same eight bytes as a v1 key are another key
    assert k != wmark.Key.from_bytes((12345).to_bytes(8, "big") + bytes(24))
    for bad in (-1, 2**64, 2**80):
        with pytest.raises(wmark.ConfigError):
            wmark.Key.from_vllm(bad)
    for bad in (True, 1.5, "12345", None):
        with pytest.raises(TypeError):
            wmark.Key.from_vllm(bad)  # type: ignore[arg-type]
    a, b = wmark.Key.generate_vllm(), wmark.Key.generate_vllm()
    assert a.kind == "vllm" and a != b
    account = k.derive_account("acme")
    assert account.kind == "vllm" and account != k and account == k.derive_account("acme")


def test_vllm_key_files(tmp_path: Path) -> None:
    key = wmark.Key.from_vllm(18446744073709551615)
    p = tmp_path / "saved.key"
    key.save(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert p.read_text() == "wmark-vllm-key-v1:18446744073709551615\n"
    assert wmark.Key.load(p) == key and wmark.Key.load(p).kind == "vllm"
    # a file written by hand (as a deployment would), mode 0600
    hand = tmp_path / "hand.key"
    hand.write_text("wmark-vllm-key-v1:42\n")
    os.chmod(hand, 0o600)
    loaded = wmark.Key.load(hand)
    assert loaded == wmark.Key.from_vllm(42) and loaded.kind == "vllm"
    os.chmod(hand, 0o640)
    with pytest.raises(wmark.InsecureKeyFileError):
        wmark.Key.load(hand)
    for i, text in enumerate(["wmark-vllm-key-v1:042\n", "wmark-vllm-key-v1:18446744073709551616\n", "wmark-vllm-key-v1:-1\n"]):
        bad = tmp_path / f"bad{i}.key"
        bad.write_text(text)
        os.chmod(bad, 0o600)
        with pytest.raises(wmark.KeyFileError) as e:
            wmark.Key.load(bad)
        assert "42" not in str(e.value).replace(str(bad), "")


def test_vllm_keys_interoperate_with_the_cli(cli: Cli) -> None:
    out = cli.run(["keygen", "--out", "v.key", "--scheme", "vllm-gumbel:4", "--vocab-size", "1000"])
    key = wmark.Key.load(cli.workdir / "v.key")
    assert key.kind == "vllm" and out.strip() == key.id
    cli.run(["keygen", "--out", "acme.key", "--account", "acme", "--master", "v.key"])
    assert wmark.Key.load(cli.workdir / "acme.key") == key.derive_account("acme")


def test_keys_must_be_of_the_schemes_kind() -> None:
    v1, vllm = fixed_key(1), wmark.Key.from_vllm(7)
    with pytest.raises(wmark.ConfigError, match="vLLM key"):
        wmark.GumbelSampler(wmark.Config("vllm-gumbel:4", vocab_size=100), v1)
    with pytest.raises(wmark.ConfigError, match="wmark key"):
        wmark.GumbelSampler(wmark.Config("gumbel:4", vocab_size=100), vllm)
    with pytest.raises(wmark.ConfigError, match="wmark key"):
        wmark.Processor(wmark.Config("lefthash", vocab_size=100), vllm)
    with pytest.raises(wmark.ConfigError, match="wmark key"):
        wmark.Watermark(wmark.Config("lefthash", vocab_size=100), vllm)
    with pytest.raises(wmark.InputError):
        wmark.Detector(wmark.Config("vllm-gumbel:4", vocab_size=100), v1)
    # the Gumbel-max schemes have no green list: the green-list tools refuse them
    for scheme in GUMBEL_SCHEMES:
        config = wmark.Config(scheme, vocab_size=100)
        key = key_for(config)
        with pytest.raises(wmark.ConfigError, match="GumbelSampler"):
            wmark.Processor(config, key)
        with pytest.raises(wmark.ConfigError, match="green list"):
            wmark.Watermark(config, key)
        with pytest.raises(wmark.ConfigError, match="green list"):
            wmark.inspect(config, key, [1, 2, 3, 4])
    with pytest.raises(wmark.ConfigError, match="not a Gumbel-max scheme"):
        wmark.GumbelSampler(wmark.Config("lefthash", vocab_size=100), v1)


# ---------------------------------------------------------------------------------------------
# The sampler


def bits_to_f32(bits: Sequence[int]) -> np.ndarray:
    return np.array(bits, dtype=np.uint32).view(np.float32)


def test_the_vllm_choice_equals_vllms_on_the_fixture() -> None:
    samples = load_toml(VECTORS / "vllm-philox.toml")["sample"]
    fresh = 0
    for s in samples:
        logits = bits_to_f32(s["logits_bits"])
        width = len(s["context"])
        config = wmark.Config(f"vllm-gumbel:{width}", vocab_size=len(logits))
        sampler = wmark.GumbelSampler(config, wmark.Key.from_vllm(int(s["key"])), temperature=1.0)
        state = sampler.create_state()
        if all(t == -1 for t in s["context"]):
            # A fresh state's first step: vLLM's context is all -1 whatever the prompt.
            assert sampler.choose(state, [5, 6, 7], logits) == s["token"], s["name"]
            assert state.start == 3
            fresh += 1
        else:
            # Other contexts: a first step fixes where the generated tokens start (after a
            # prompt, which vLLM's contexts never read), then the generated tokens are the
            # fixture context's real ids (-1 stands for the positions before the first).
            generated = [t for t in s["context"] if t != -1]
            prompt = [1, 2]
            sampler.choose(state, prompt, np.zeros(len(logits), dtype=np.float32))
            assert sampler.choose(state, prompt + generated, logits) == s["token"], s["name"]
        # apply forces the same token in place
        state = sampler.create_state()
        if all(t == -1 for t in s["context"]):
            row = logits.copy()
            assert sampler.apply(state, [], row) == s["token"]
            assert np.isfinite(row).sum() == 1 and row[s["token"]] == logits[s["token"]]
    assert fresh >= 4


def test_the_native_choice_equals_the_reference_vectors() -> None:
    samples = load_toml(VECTORS / "gumbel-v1.toml")["sample"]
    assert len(samples) >= 10
    for s in samples:
        # The vectors' logits are doubles; the sampler reads float32 rows (the winners lead by
        # far more than the rounding).
        logits = np.array(s["logits"], dtype=np.float32)
        config = wmark.Config(s["scheme"], vocab_size=len(logits))
        sampler = wmark.GumbelSampler(config, wmark.Key.from_bytes(bytes.fromhex(s["key"])), temperature=s["temperature"])
        # a prompt before the context changes nothing: gumbel:h reads the last h tokens
        assert sampler.choose(sampler.create_state(), [3, *s["context"]], logits) == s["token"], s["name"]


def gumbel_argmax(key: bytes, scheme: str, context: Sequence[int], logits: np.ndarray, temperature: float) -> int:
    """gumbel:h by its definition (docs/spec.md): the seed HMAC-SHA256(key, "wmark.v1" 0 scheme 0
    le32(context)), u = (word + 0.5) / 2^32 from its keystream, and the argmax of
    logit / T - ln(-ln u) over the finite logits, in float64 (ties to the smaller id)."""
    message = b"wmark.v1\x00" + scheme.encode() + b"\x00" + b"".join(t.to_bytes(4, "little") for t in context)
    seed = hmac.new(key, message, hashlib.sha256).digest()
    words = np.frombuffer(wmark.stream_bytes(seed, 0, 4 * len(logits)), dtype="<u4").astype(np.float64)
    u = (words + 0.5) / 2.0**32
    value = logits.astype(np.float64) / temperature - np.log(-np.log(u))
    value[~np.isfinite(logits)] = -np.inf
    return int(np.argmax(value))


def test_the_native_choice_equals_its_definition() -> None:
    rng = np.random.default_rng(3)
    vocab = 777
    key = bytes(range(32))
    config = wmark.Config("gumbel:2", vocab_size=vocab)
    # The sampler's temperature is a float32: 0.7 is 0.699999988...
    for temperature in (1.0, float(np.float32(0.7))):
        sampler = wmark.GumbelSampler(config, wmark.Key.from_bytes(key), temperature=temperature)
        for _ in range(40):
            ctx = rng.integers(0, vocab, size=5).tolist()
            logits = (rng.normal(size=vocab) * rng.choice([0.5, 3.0, 20.0])).astype(np.float32)
            logits[rng.random(vocab) < 0.2] = -np.inf
            got = sampler.choose(sampler.create_state(), ctx, logits)
            assert got == gumbel_argmax(key, "gumbel:2", ctx[-2:], logits, temperature)


def test_warping_and_positions_left_to_the_engine() -> None:
    vocab = 300
    rng = np.random.default_rng(5)
    for scheme in GUMBEL_SCHEMES:
        config = wmark.Config(scheme, vocab_size=vocab)
        key = key_for(config)
        greedy = wmark.GumbelSampler(config, key, top_k=1)
        nucleus = wmark.GumbelSampler(config, key, top_p=1e-6)
        assert (greedy.top_k, greedy.top_p, greedy.temperature) == (1, 1.0, 1.0)
        for i in range(20):
            logits = rng.normal(size=vocab).astype(np.float32)
            ctx = [i, i + 1, i + 2, i + 3, i + 4]
            assert greedy.choose(greedy.create_state(), ctx, logits) == int(np.argmax(logits))
            assert nucleus.choose(nucleus.create_state(), ctx, logits) == int(np.argmax(logits))
        sampler = wmark.GumbelSampler(config, key, temperature=0.8, top_k=20, top_p=0.9)
        assert "top_k=20" in repr(sampler) and sampler.config == config and sampler.key_id == key.id
        state = sampler.create_state(seed=2**64 - 1)
        logits = rng.normal(size=vocab).astype(np.float32)
        top = set(np.argsort(-logits)[:20].tolist())
        assert sampler.choose(state, [9, 9, 9, 9, 9], logits) in top
        # no finite logit: nothing to choose
        assert sampler.choose(state, [9, 9, 9, 9, 9, 1], np.full(vocab, -np.inf, dtype=np.float32)) is None
    # gumbel:4 needs four tokens of context
    config = wmark.Config("gumbel:4", vocab_size=vocab)
    sampler = wmark.GumbelSampler(config, fixed_key(1))
    state = sampler.create_state()
    row = rng.normal(size=vocab).astype(np.float32)
    before = row.copy()
    assert sampler.apply(state, [1, 2, 3], row) is None
    np.testing.assert_array_equal(row, before)
    # a context used before in the sequence is left to the engine
    assert sampler.apply(state, [1, 2, 3, 4], row) is not None
    row = before.copy()
    assert sampler.apply(state, [1, 2, 3, 4, 1, 2, 3, 4], row) is None
    np.testing.assert_array_equal(row, before)
    state.reset()
    assert state.start is None
    assert sampler.choose(state, [1, 2, 3, 4], before) is not None  # a new sequence


def test_sampler_arguments_and_errors() -> None:
    vocab = 100
    config = wmark.Config("gumbel:2", vocab_size=vocab)
    key = fixed_key(2)
    for bad in (dict(temperature=0.0), dict(temperature=-1.0), dict(temperature=float("nan")), dict(top_p=0.0),
                dict(top_p=1.5)):
        with pytest.raises(wmark.ConfigError):
            wmark.GumbelSampler(config, key, **bad)
    sampler = wmark.GumbelSampler(config, key)
    state = sampler.create_state()
    logits = np.random.default_rng(1).normal(size=vocab).astype(np.float32)
    with pytest.raises(wmark.LogitsLengthError):
        sampler.choose(state, [1, 2], logits[:-1])
    with pytest.raises(wmark.InputError):
        sampler.choose(state, [1, 2], logits.reshape(10, 10))
    with pytest.raises(wmark.InputError):
        sampler.choose(state, [1, -2], logits)
    with pytest.raises(wmark.InputError, match="another GumbelSampler"):
        wmark.GumbelSampler(config, key).choose(state, [1, 2], logits)
    for bad_row in (logits.astype(np.float64), logits.copy()[None, :]):
        with pytest.raises(wmark.InputError):
            sampler.apply(state, [1, 2], bad_row)
    readonly = logits.copy()
    readonly.flags.writeable = False
    with pytest.raises(wmark.InputError):
        sampler.apply(state, [1, 2], readonly)
    assert state.start is None  # nothing was taken
    assert sampler.choose(state, [1, 2, 3], logits) is not None and state.start == 3
    with pytest.raises(wmark.InputError, match="reset"):
        sampler.choose(state, [1, 2], logits)
    with pytest.raises(TypeError):
        wmark.GumbelState()  # type: ignore[call-arg]
    # any float array-like for choose, read in place when float32 (any stride)
    wide = np.zeros(2 * vocab, dtype=np.float32)
    wide[::2] = logits
    ctx = [5, 6]
    want = sampler.choose(sampler.create_state(), ctx, logits)
    assert sampler.choose(sampler.create_state(), ctx, wide[::2]) == want
    assert sampler.choose(sampler.create_state(), ctx, logits.astype(np.float64)) == want
    assert sampler.choose(sampler.create_state(), ctx, logits.tolist()) == want
    assert sampler.choose(sampler.create_state(), np.array(ctx, dtype=np.uint16), logits) == want
    # apply on a strided view forces in place
    assert sampler.apply(sampler.create_state(), ctx, wide[::2]) == want
    assert np.isfinite(wide).sum() == vocab + 1 and wide[2 * want] == logits[want]


# ---------------------------------------------------------------------------------------------
# Generation loops and detection


def generate(sampler: wmark.GumbelSampler, n: int, seed: int, prompt: List[int], scale: float = 3.0) -> List[int]:
    """Tokens from random logits, each chosen by the sampler (or, where it leaves the position
    to the engine, by a plain Gumbel-max draw)."""
    rng = np.random.default_rng(seed)
    vocab = sampler.config.vocab_size
    state = sampler.create_state(seed)
    ids = list(prompt)
    for _ in range(n):
        logits = (rng.normal(size=vocab) * scale).astype(np.float32)
        t: Optional[int] = sampler.choose(state, ids, logits)
        if t is None:
            t = int(np.argmax(logits + rng.gumbel(size=vocab)))
        ids.append(t)
    return ids[len(prompt):]


@pytest.mark.parametrize("scheme", GUMBEL_SCHEMES)
def test_generated_ids_are_found_and_not_under_another_key(scheme: str) -> None:
    config = wmark.Config(scheme, vocab_size=1000)
    key, other = key_for(config, 1), key_for(config, 2)
    prompt = [11, 12, 13, 14, 15]
    ids = generate(wmark.GumbelSampler(config, key), 200, seed=1, prompt=prompt)
    r = wmark.Detector(config, key, dedup="window").detect(ids=ids, prompt=prompt)
    assert r.log10_p < -6 and r.verdict == "watermarked" and r.score is not None and r.scored > 150, r
    wrong = wmark.Detector(config, other, dedup="window").detect(ids=ids, prompt=prompt)
    assert wrong.log10_p > -3 and wrong.verdict != "watermarked", wrong
    # without the sampler: not found
    plain = np.random.default_rng(2).integers(0, 1000, size=200)
    assert wmark.Detector(config, key, dedup="window").detect(ids=plain).log10_p > -3
    # several keys: the right one is reported
    both = wmark.Detector(config, [other, key], dedup="window").detect(ids=ids, prompt=prompt)
    assert both.key_id == key.id and both.verdict == "watermarked"


def test_dual_key_alpha_reaches_the_sampler_and_the_detector() -> None:
    key = wmark.Key.from_vllm(99)
    for alpha in (0.0, 0.5, 1.0):
        config = wmark.Config("vllm-dual-key-gumbel:2", vocab_size=1000, alpha=alpha)
        ids = generate(wmark.GumbelSampler(config, key), 150, seed=4, prompt=[])
        assert wmark.Detector(config, key, dedup="window").detect(ids=ids).log10_p < -6, alpha
    # alpha = 1 routes every step to key B, alpha = 0 to key A: the texts differ
    a0 = generate(wmark.GumbelSampler(wmark.Config("vllm-dual-key-gumbel:2", vocab_size=1000, alpha=0.0), key), 50, 4, [])
    a1 = generate(wmark.GumbelSampler(wmark.Config("vllm-dual-key-gumbel:2", vocab_size=1000, alpha=1.0), key), 50, 4, [])
    assert a0 != a1


@pytest.mark.parametrize("name", ["gumbel-sampler-w4-v1000-n200", "dual-sampler-w4-v1000-n200-a0.25"])
def test_the_detector_gives_vllms_score_on_vllms_text(name: str) -> None:
    case = next(c for c in load_toml(VECTORS / "vllm-detect.toml")["detect"] if c["name"] == name)
    dual = case["algorithm"] == "dual_key_gumbel"
    scheme = "vllm-dual-key-gumbel" if dual else "vllm-gumbel"
    config = wmark.Config(f"{scheme}:{case['context_width']}", vocab_size=case["vocab"], alpha=case["alpha"] if dual else None)
    dedup = "window" if case["deduplicate_contexts"] else "none"
    r = wmark.Detector(config, wmark.Key.from_vllm(int(case["key"])), dedup=dedup).detect(ids=case["tokens"])
    assert r.scored == case["num_scored"]
    assert r.score == pytest.approx(case["score"], rel=1e-12)


@pytest.mark.parametrize("scheme", GUMBEL_SCHEMES)
def test_reports_equal_the_cli(cli: Cli, scheme: str) -> None:
    alpha = 0.25 if "dual" in scheme else None
    config = wmark.Config(scheme, vocab_size=1000, alpha=alpha)
    key = key_for(config, 3)
    docs = [
        generate(wmark.GumbelSampler(config, key), 80, seed=5, prompt=[]),
        np.random.default_rng(6).integers(0, 1000, size=80).tolist(),
        [3, 4],
    ]
    path = cli.write_lines("docs.jsonl", docs)
    k = cli.key_file(key)
    for dedup in ("window", "none"):
        out = cli.run(["detect", "--key", str(k), *cli.scheme_args(config), "--ids", "--dedup", dedup, "--json", str(path)],
                      ok_codes=(0, 1))
        detector = wmark.Detector(config, key, dedup=dedup)
        assert [detector.detect(ids=d).to_dict() for d in docs] == cli_reports(out)


# ---------------------------------------------------------------------------------------------
# The Hugging Face shape


def test_logits_processor_on_a_batch() -> None:
    vocab = 500
    config = wmark.Config("vllm-gumbel:2", vocab_size=vocab)
    sampler = wmark.GumbelSampler(config, wmark.Key.from_vllm(5))
    proc = wmark.GumbelLogitsProcessor(sampler, seed=3)
    assert proc.sampler is sampler and proc.config == config and proc.key_id == sampler.key_id
    rng = np.random.default_rng(8)
    ids = np.array([[1, 2, 3, 4], [7, 7, 7, 7]], dtype=np.int64)
    steps = 8
    rows: List[np.ndarray] = []
    forced: List[List[Optional[int]]] = []
    for _ in range(steps):
        scores = rng.normal(size=(2, vocab)).astype(np.float32)
        before = scores.copy()
        out = proc(ids, scores)
        assert out is scores and out.shape == (2, vocab)  # in place
        step: List[Optional[int]] = []
        for r in range(2):
            finite = np.flatnonzero(np.isfinite(scores[r]))
            if len(finite) == 1:  # forced: one finite entry, with its own value
                assert scores[r, finite[0]] == before[r, finite[0]]
                step.append(int(finite[0]))
            else:  # left to the engine: unchanged
                np.testing.assert_array_equal(scores[r], before[r])
                step.append(None)
        assert [s.start for s in proc.states] == [4, 4]
        nxt = [t if t is not None else int(np.argmax(before[r])) for r, t in enumerate(step)]
        ids = np.concatenate([ids, np.array(nxt)[:, None]], axis=1)
        rows.append(before)
        forced.append(step)
    assert sum(t is not None for step in forced for t in step) >= steps
    # Each row is the sequence the sampler makes on its own, step by step.
    for r in range(2):
        state = sampler.create_state()
        for i in range(steps):
            assert sampler.choose(state, ids[r, : 4 + i], rows[i][r]) == forced[i][r]


def test_logits_processor_detects_new_generations() -> None:
    vocab = 200
    sampler = wmark.GumbelSampler(wmark.Config("gumbel:2", vocab_size=vocab), fixed_key(6))
    proc = wmark.GumbelLogitsProcessor(sampler)
    rng = np.random.default_rng(9)

    def step(ids: np.ndarray) -> np.ndarray:
        scores = rng.normal(size=(ids.shape[0], vocab)).astype(np.float32)
        return proc(ids, scores)

    ids = rng.integers(0, vocab, size=(2, 5))
    step(ids)
    first_states = proc.states
    assert [s.start for s in first_states] == [5, 5]
    step(np.concatenate([ids, [[1], [2]]], axis=1))  # length + 1: the same generation
    assert proc.states[0] is first_states[0] and proc.states[0].start == 5
    step(rng.integers(0, vocab, size=(2, 9)))  # a longer prompt: a new generation
    assert proc.states[0] is first_states[0] and [s.start for s in proc.states] == [9, 9]
    step(rng.integers(0, vocab, size=(3, 4)))  # another batch size: new states
    assert len(proc.states) == 3 and proc.states[0] is not first_states[0]
    assert [s.start for s in proc.states] == [4, 4, 4]
    proc.reset()
    assert proc.states == []
    # a repeated context is left alone (gumbel:2: the context (7, 7) twice)
    sevens = np.full((1, 6), 7)
    scores = step(sevens)
    assert np.isfinite(scores).sum() == 1
    scores = step(np.full((1, 7), 7))
    assert np.isfinite(scores).all()
    with pytest.raises(wmark.BatchShapeError):
        proc(np.zeros((2, 8), dtype=np.int64), np.zeros((3, vocab), dtype=np.float32))
    with pytest.raises(wmark.InputError):
        proc(np.zeros(8, dtype=np.int64), np.zeros((1, vocab), dtype=np.float32))
    with pytest.raises(wmark.InputError):
        proc(np.zeros((1, 8), dtype=np.int64), np.zeros(vocab, dtype=np.float32))
    with pytest.raises(wmark.InputError):
        proc(np.zeros((1, 8), dtype=np.int64), np.zeros((1, vocab), dtype=np.int32))
    with pytest.raises(TypeError):
        wmark.GumbelLogitsProcessor(wmark.WatermarkLogitsProcessor(wmark.Config(vocab_size=10), fixed_key(1)))  # type: ignore[arg-type]


def test_logits_processor_other_dtypes_and_containers() -> None:
    vocab = 300
    sampler = wmark.GumbelSampler(wmark.Config("gumbel:1", vocab_size=vocab), fixed_key(7))
    rng = np.random.default_rng(10)
    ids = rng.integers(0, vocab, size=(2, 3))
    scores = rng.normal(size=(2, vocab)).astype(np.float32)
    reference = wmark.GumbelLogitsProcessor(sampler)(ids, scores.copy())
    want = [int(np.flatnonzero(np.isfinite(row))[0]) for row in reference]
    # float64 (and float16): chosen on a float32 copy, forced in the array's own dtype
    for dtype in (np.float64, np.float16):
        s = scores.astype(dtype)
        out = wmark.GumbelLogitsProcessor(sampler)(ids, s)
        assert out is s and out.dtype == dtype
        assert [int(np.flatnonzero(np.isfinite(row))[0]) for row in out] == want
        assert all(np.isfinite(row).sum() == 1 for row in out)
    # a read-only array: a forced copy
    ro = scores.copy()
    ro.flags.writeable = False
    out = wmark.GumbelLogitsProcessor(sampler)(ids, ro)
    assert out is not ro and np.isfinite(ro).all()
    np.testing.assert_array_equal(out, reference)
    # lists: a new float32 array
    out = wmark.GumbelLogitsProcessor(sampler)(ids.tolist(), scores.tolist())
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, reference)
    # a strided (Fortran-order) float32 array, in place
    f = np.asfortranarray(scores)
    out = wmark.GumbelLogitsProcessor(sampler)(ids, f)
    assert out is f
    np.testing.assert_array_equal(f, reference)


def test_one_sampler_many_threads() -> None:
    """One sampler shared by threads, a state per sequence: the sequences a single thread makes."""
    from concurrent.futures import ThreadPoolExecutor

    config = wmark.Config("vllm-dual-key-gumbel:3", vocab_size=32_000, alpha=0.3)
    sampler = wmark.GumbelSampler(config, wmark.Key.from_vllm(2024), temperature=0.9, top_p=0.95)
    expected = [generate(sampler, 40, seed=s, prompt=[1, 2]) for s in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda s: generate(sampler, 40, seed=s, prompt=[1, 2]), range(8)))
    assert got == expected
