#!/usr/bin/env python3
"""Runs Hugging Face transformers' own watermarking code and writes the HF reference fixtures.

The Python part of `scripts/hf-reference` (which finds an interpreter with torch and
transformers, then runs this). It imports `WatermarkLogitsProcessor`, `WatermarkDetector` and
`SynthIDTextWatermarkLogitsProcessor` from the installed transformers, runs them on CPU torch
with fixed inputs, has transformers generate watermarked text with them (`model.generate(...,
watermarking_config=...)` on tiny random-weight Llama models) and writes

    fixtures/vectors/hf-kgw.toml      torch's generator and randperm, HF's KGW green lists
                                      (lefthash, selfhash), its detector's green counts, and
                                      [[generated]]: KGW-watermarked text (and an unwatermarked
                                      control) with WatermarkDetector's results on it
    fixtures/vectors/hf-synthid.toml  SynthID-Text sampling tables, n-gram keys, g-values,
                                      context-repetition and EOS masks, mean g-value scores,
                                      [[generated]]: SynthID-watermarked text (and a control)
                                      with its g-values, masks and mean score, and [[step]]:
                                      the processor's output logits over decoding steps

which wmark's Rust tests (crates/wmark-core/tests/hf_vectors.rs) check its HF-compatible code
against. Nothing of transformers or torch is copied into the repository.

    python scripts/hf_reference.py [--out-dir DIR] [--check]

Every input comes from fixed seeds (random.Random; torch.manual_seed before building a model and
before each generate) and torch runs on one thread, so a rerun with the same torch and
transformers writes byte-identical files.
"""

import argparse
import hashlib
import math
import random
import struct
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from vllm_reference import toml_tables, write_fixtures  # noqa: E402  (the fixtures' one TOML writer)

TRANSFORMERS_VERSION = "5.24.0"
TORCH_VERSION = "2.15.0"
KGW_OUT = "hf-kgw.toml"
SYNTHID_OUT = "hf-synthid.toml"
# Vocabularies of the models that matter (Llama 2, GPT-2, Llama 3, Qwen 2) and a few small or odd ones.
BIG_VOCABS = (32000, 50257, 128256, 151936)
SMALL_VOCABS = (1, 2, 3, 5, 17, 100, 257, 1000, 1031)
# Up to this vocabulary size a green list is stored whole; above it, as a digest and a sample.
FULL_LIST_MAX = 1100
U64 = 2**64


def digest_u32(values):
    """sha256 of the values as little-endian u32 words, in order (hex)."""
    return hashlib.sha256(struct.pack("<%dI" % len(values), *values)).hexdigest()


def digest_u8(values):
    """sha256 of the values as bytes, in order (hex)."""
    return hashlib.sha256(bytes(values)).hexdigest()


def bits(values):
    """A sequence of 0/1 (or bools) as a string of '0' and '1'."""
    return "".join("1" if v else "0" for v in values)


def header(lines, provenance):
    text = ["# GENERATED FILE -- DO NOT EDIT (rerun scripts/hf-reference instead).", "#"]
    text += ["# " + p for p in provenance]
    text.append("#")
    text += [("# " + line).rstrip() for line in lines]
    return text


# ---------------------------------------------------------------------------
# hf-kgw.toml
# ---------------------------------------------------------------------------

KGW_DOC = """
Checks of wmark's HF-compatible KGW (crates/wmark-core/src/hf.rs) against torch and
transformers. Keys are decimal strings (HF accepts any integer in [-2^63, 2^64 - 1]).
Digests are sha256 (hex) of the values as little-endian u32 words, in order.

[[mt]]         torch.Generator().manual_seed(seed), then torch.randint(0, 2**32 - 1, (16,)):
               for a range of 2^28 or more, torch draws two 32-bit Mersenne-Twister outputs
               hi, lo per element and reduces hi * 2^32 + lo modulo the range (2^32 - 1 here);
               below 2^28 it reduces one output (the sampling tables of hf-synthid.toml).
  seed         the seed, a decimal string
  outputs      the 16 values

[[randperm]]   torch.randperm(n, generator=torch.Generator().manual_seed(seed)) (int64, CPU).
  n, seed      the length and the seed (a decimal string)
  perm         the whole permutation when n <= 64, else empty
  head         its first 16 entries
  sha256       digest of the whole permutation

[[fixed_table]]  WatermarkLogitsProcessor(...).fixed_table, torch.randperm(1_000_003) right after
               manual_seed(hashing_key): what selfhash looks token ids up in.
  hashing_key  the key
  head         its first 16 entries
  sha256       digest of the whole table

[[green]]      WatermarkLogitsProcessor(vocab_size, "cpu", greenlist_ratio=gamma, hashing_key,
               seeding_scheme, context_width)._get_greenlist_ids(input): the green list of a
               window, in HF's order (the first greenlist_size entries of a randperm).
  name         a label
  scheme       "lefthash" or "selfhash"
  hashing_key  the key
  gamma        greenlist_ratio, a float
  vocab_size   V
  context_width  the context width
  input        the input_seq passed (HF keeps its last context_width ids; lefthash uses only the
               last id; selfhash's window includes the candidate token as its last id)
  seed         what set_seed passed to manual_seed (processor.rng.initial_seed()), a decimal string
  greenlist_size  int(V * gamma), HF's count
  ids          the whole green list in HF's order when V <= 1100, else empty
  head         its first 32 ids
  sha256       digest of the whole green list, in HF's order
  probes       token ids asked about (some green, some not, 0 and V - 1)
  probe_green  whether each is in the green list, "0"/"1" per probe

[[detect]]     WatermarkDetector(config with vocab_size V, "cpu", WatermarkingConfig(...),
               ignore_repeated_ngrams)._score_ngrams_in_passage(ids[None]), both settings;
               and _get_ngram_score(prefix, target) per n-gram. n-grams are context_width + 1
               ids for lefthash (prefix: all but the last; target: the last) and
               context_width ids for selfhash (prefix: the whole n-gram, target: its last id).
  name, scheme, hashing_key, gamma, vocab_size, context_width   as in [[green]]
  ids          the scored ids (no BOS)
  ngram_green  HF's verdict for each n-gram in order, "0"/"1" (length len(ids) - n + 1)
  scored       num_tokens_scored with ignore_repeated_ngrams=False (every n-gram)
  green        green count with ignore_repeated_ngrams=False
  scored_unique  num_tokens_scored with ignore_repeated_ngrams=True (distinct n-grams)
  green_unique   green count with ignore_repeated_ngrams=True

[[generated]]  Text transformers generated with its own watermark: a tiny random-weight
               LlamaForCausalLM (hidden 32, one layer; torch.manual_seed(model_seed) before it is
               built) runs model.generate(prompt, do_sample=True, top_k, max_new_tokens,
               watermarking_config=WatermarkingConfig(gamma, bias, hashing_key, scheme,
               context_width)) after torch.manual_seed(sample_seed). The control row is the same
               model, prompt and seed without watermarking_config, scored with the same config.
               WatermarkDetector(model.config, "cpu", that config, ignore_repeated_ngrams)(x,
               return_dict=True) then scores x = ids (the full sequence) and x = generated,
               with ignore_repeated_ngrams=True (full_*, gen_*) and False (*_all). The detector
               drops x[0] when it is bos_token_id (ids[0] is; generated[0] never is), then scores
               n-grams of context_width + 1 ids (lefthash) or context_width ids (selfhash).
  name, scheme, hashing_key, gamma, vocab_size, context_width   as in [[green]]
  bias         the bias added to green logits (0.0 for the control)
  watermarked  false for the control (generated without a watermark)
  bos_token_id, eos_token_id   the model config's (generation stops at EOS; none was drawn
               unless the last generated id is eos_token_id)
  top_k, max_new_tokens, model_seed, sample_seed   the generation settings
  prompt_len   the prompt's length; the prompt is ids[:prompt_len] and starts with BOS
  ids          prompt + generated ids, as generate returned them
  generated    ids[prompt_len:]
  full_first_scored  index in ids of the first scored token (1 + context_width for lefthash,
               context_width for selfhash); every later token is the target of one n-gram
  gen_first_scored   the same in generated (context_width for lefthash, context_width - 1
               for selfhash)
  full_scored, full_green      num_tokens_scored, num_green_tokens on ids, distinct n-grams
  full_z_score, full_p_value, full_prediction   z_score, p_value and prediction (z > 3.0) there
  gen_scored, gen_green, gen_z_score, gen_p_value, gen_prediction   the same on generated
  full_scored_all, full_green_all, full_z_score_all, full_p_value_all,
  gen_scored_all, gen_green_all, gen_z_score_all, gen_p_value_all
               the same with ignore_repeated_ngrams=False (every n-gram)
""".strip("\n").splitlines()


def kgw_keys(rng):
    keys = [15485863, 0, 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, -1, -(2**63), -15485863]
    keys += [rng.randrange(2**32) for _ in range(4)]
    keys += [rng.randrange(2**64) for _ in range(4)]
    keys += [rng.randrange(-(2**63), 0) for _ in range(2)]
    return keys


def mt_rows(torch, rng):
    rows = []
    for seed in [0, 1, 5489, 15485863, 2**32 - 1, 2**32, 2**32 + 7, 2**64 - 1] + [rng.randrange(2**64) for _ in range(4)]:
        g = torch.Generator().manual_seed(seed)
        out = torch.randint(0, 2**32 - 1, (16,), generator=g).tolist()
        rows.append({"seed": str(seed), "outputs": out})
    return rows


def randperm_rows(torch, rng):
    rows = []
    ns = [1, 2, 3, 4, 7, 10, 64, 100, 1000, 4096, 65537] + list(BIG_VOCABS) + [1_000_003]
    for n in ns:
        for seed in (0, rng.randrange(2**64)):
            g = torch.Generator().manual_seed(seed)
            perm = torch.randperm(n, generator=g).tolist()
            rows.append(
                {"n": n, "seed": str(seed), "perm": perm if n <= 64 else [], "head": perm[:16], "sha256": digest_u32(perm)}
            )
    return rows


def fixed_table_rows(processor_cls, keys):
    rows = []
    for key in keys:
        p = processor_cls(vocab_size=10, device="cpu", hashing_key=key)
        table = p.fixed_table.tolist()
        rows.append({"hashing_key": str(key), "head": table[:16], "sha256": digest_u32(table)})
    return rows


def green_cases(rng, keys):
    """The [[green]] inputs: (name, scheme, key, gamma, V, width, input)."""
    gammas = (0.25, 0.5, 0.1, 0.75, 0.05, 1 / 3, 0.9, 0.6180339887)
    cases = []

    def window(v, w):
        # Some windows repeat an id, some use the edges of the vocabulary.
        ids = [rng.randrange(v) for _ in range(w)]
        kind = rng.randrange(6)
        if kind == 0 and w > 1:
            ids[rng.randrange(w)] = ids[-1]
        elif kind == 1:
            ids[-1] = v - 1
        elif kind == 2:
            ids[0] = 0
        return ids

    for v in BIG_VOCABS:
        for scheme in ("lefthash", "selfhash"):
            for i in range(6):
                key = keys[rng.randrange(len(keys))] if i else 15485863
                gamma = 0.25 if i == 0 else gammas[rng.randrange(len(gammas))]
                width = 1 if i == 0 else rng.choice((1, 2, 3, 4, 8))
                cases.append(("%s-v%d-%d" % (scheme, v, i), scheme, key, gamma, v, width, window(v, width)))
    for v in SMALL_VOCABS:
        for scheme in ("lefthash", "selfhash"):
            for i in range(3):
                key = keys[rng.randrange(len(keys))]
                gamma = gammas[rng.randrange(len(gammas))]
                width = rng.choice((1, 2, 3, 5))
                cases.append(("%s-v%d-%d" % (scheme, v, i), scheme, key, gamma, v, width, window(v, width)))
    # Every key once, at one vocabulary, for both schemes (the seed derivation of each).
    for j, key in enumerate(keys):
        for scheme in ("lefthash", "selfhash"):
            width = 1 + j % 4
            cases.append(("%s-key%d" % (scheme, j), scheme, key, 0.25, 32000, width, window(32000, width)))
    # A window shorter than context_width (HF slices what is there).
    cases.append(("selfhash-short-window", "selfhash", 15485863, 0.25, 50257, 4, [17, 4242]))
    cases.append(("lefthash-short-window", "lefthash", 15485863, 0.25, 50257, 4, [4242]))
    return cases


def green_rows(torch, processor_cls, rng, keys):
    rows = []
    processors = {}
    for name, scheme, key, gamma, v, width, window in green_cases(rng, keys):
        pk = (scheme, key, gamma, v, width)
        if pk not in processors:
            processors[pk] = processor_cls(
                vocab_size=v, device="cpu", greenlist_ratio=gamma, hashing_key=key, seeding_scheme=scheme, context_width=width
            )
        p = processors[pk]
        green = p._get_greenlist_ids(torch.tensor(window, dtype=torch.long)).tolist()
        seed = p.rng.initial_seed()
        assert len(green) == p.greenlist_size
        gset = set(green)
        probes = {0, v - 1}
        probes |= set(rng.sample(green, min(12, len(green))))
        probes |= {rng.randrange(v) for _ in range(12)}
        probes = sorted(probes)
        rows.append(
            {
                "name": name,
                "scheme": scheme,
                "hashing_key": str(key),
                "gamma": gamma,
                "vocab_size": v,
                "context_width": width,
                "input": window,
                "seed": str(seed),
                "greenlist_size": p.greenlist_size,
                "ids": green if v <= FULL_LIST_MAX else [],
                "head": green[:32],
                "sha256": digest_u32(green),
                "probes": probes,
                "probe_green": bits(t in gset for t in probes),
            }
        )
    return rows


def detect_rows(torch, transformers, rng):
    from transformers.generation.watermarking import WatermarkDetector

    rows = []
    specs = [
        ("lefthash", 15485863, 0.25, 32000, 1, 120),
        ("lefthash", 2**64 - 1, 0.5, 50257, 2, 80),
        ("lefthash", rng.randrange(2**63), 0.1, 128256, 3, 60),
        ("selfhash", 15485863, 0.25, 32000, 1, 60),
        ("selfhash", 15485863, 0.25, 151936, 4, 60),
        ("selfhash", -7, 0.5, 1000, 3, 150),
        ("selfhash", rng.randrange(2**64), 0.25, 128256, 2, 40),
        ("lefthash", 42, 0.25, 17, 2, 200),
    ]
    for i, (scheme, key, gamma, v, width, length) in enumerate(specs):
        # A small alphabet makes repeated n-grams, which the two counting modes treat differently.
        alphabet = [rng.randrange(v) for _ in range(min(v, 12))]
        ids = [rng.choice(alphabet) if rng.random() < 0.6 else rng.randrange(v) for _ in range(length)]
        config = transformers.PreTrainedConfig(vocab_size=v, bos_token_id=None)
        wm = transformers.WatermarkingConfig(greenlist_ratio=gamma, hashing_key=key, seeding_scheme=scheme, context_width=width)
        counts = {}
        for unique in (False, True):
            det = WatermarkDetector(model_config=config, device="cpu", watermarking_config=wm, ignore_repeated_ngrams=unique)
            scored, green = det._score_ngrams_in_passage(torch.tensor([ids], dtype=torch.long))
            counts[unique] = (int(scored[0]), int(green[0]))
        n = width + 1 - (scheme == "selfhash")
        verdicts = []
        for s in range(len(ids) - n + 1):
            ngram = torch.tensor(ids[s : s + n], dtype=torch.long)
            prefix = ngram if scheme == "selfhash" else ngram[:-1]
            verdicts.append(bool(det._get_ngram_score(prefix, ids[s + n - 1])))
        rows.append(
            {
                "name": "%s-w%d-v%d-%d" % (scheme, width, v, i),
                "scheme": scheme,
                "hashing_key": str(key),
                "gamma": gamma,
                "vocab_size": v,
                "context_width": width,
                "ids": ids,
                "ngram_green": bits(verdicts),
                "scored": counts[False][0],
                "green": counts[False][1],
                "scored_unique": counts[True][0],
                "green_unique": counts[True][1],
            }
        )
    return rows


def tiny_causal_lm(torch, transformers, vocab_size, seed):
    """A random-weight one-layer Llama for generate(); its logits are nearly flat."""
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    return transformers.LlamaForCausalLM(config).eval()


def generate(torch, model, prompt, seed, top_k, max_new_tokens, watermarking_config):
    """model.generate with sampling after torch.manual_seed(seed): the whole sequence's ids."""
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(
            torch.tensor([prompt], dtype=torch.long),
            do_sample=True,
            top_k=top_k,
            max_new_tokens=max_new_tokens,
            watermarking_config=watermarking_config,
        )
    return out[0].tolist()


def kgw_detection(torch, transformers, model, wm, ids, prefix):
    """WatermarkDetector's results on ids, as users call it, in both counting modes."""
    out = {}
    for unique, suffix in ((True, ""), (False, "_all")):
        det = transformers.WatermarkDetector(
            model_config=model.config, device="cpu", watermarking_config=wm, ignore_repeated_ngrams=unique
        )
        r = det(torch.tensor([ids], dtype=torch.long), return_dict=True)
        out[prefix + "scored" + suffix] = int(r.num_tokens_scored[0])
        out[prefix + "green" + suffix] = int(r.num_green_tokens[0])
        out[prefix + "z_score" + suffix] = float(r.z_score[0])
        out[prefix + "p_value" + suffix] = float(r.p_value[0])
        if unique:
            out[prefix + "prediction"] = bool(r.prediction[0])
    return out


def kgw_generated_rows(torch, transformers):
    rng = random.Random(0x4B47_5702)
    top_k, new_tokens, bias = 50, 150, 4.0
    specs = [
        # (name, scheme, key, gamma, vocab, width, prompt length, watermarked)
        ("lefthash-w1-v32000", "lefthash", 15485863, 0.25, 32000, 1, 16, True),
        ("selfhash-w4-v50257", "selfhash", 987654321, 0.25, 50257, 4, 12, True),
        ("lefthash-w2-v1000", "lefthash", 42, 0.5, 1000, 2, 8, True),
        ("selfhash-w1-v128256", "selfhash", rng.randrange(2**63), 0.25, 128256, 1, 20, True),
        ("control-lefthash-w1-v32000", "lefthash", 15485863, 0.25, 32000, 1, 16, False),
    ]
    rows = []
    # One model, prompt (BOS, then ids above the special ones) and sampling seed per vocabulary:
    # the control shares them with the watermarked row of its vocabulary.
    setups = {}
    for i, (name, scheme, key, gamma, v, width, prompt_len, watermarked) in enumerate(specs):
        if v not in setups:
            model_seed, sample_seed = 100 + i, 200 + i
            prompt = [1] + [rng.randrange(3, v) for _ in range(prompt_len - 1)]
            setups[v] = (tiny_causal_lm(torch, transformers, v, model_seed), prompt, model_seed, sample_seed)
        model, prompt, model_seed, sample_seed = setups[v]
        assert model.config.bos_token_id == prompt[0]
        wm = transformers.WatermarkingConfig(
            greenlist_ratio=gamma, bias=bias, hashing_key=key, seeding_scheme=scheme, context_width=width
        )
        ids = generate(torch, model, prompt, sample_seed, top_k, new_tokens, wm if watermarked else None)
        assert ids[: len(prompt)] == prompt
        generated = ids[len(prompt) :]
        assert generated[0] != model.config.bos_token_id  # the detector would drop it
        selfhash = scheme == "selfhash"
        full = kgw_detection(torch, transformers, model, wm, ids, "full_")
        gen = kgw_detection(torch, transformers, model, wm, generated, "gen_")
        full_first = 1 + width - selfhash
        gen_first = width - selfhash
        assert full["full_scored_all"] == len(ids) - full_first
        assert gen["gen_scored_all"] == len(generated) - gen_first
        row = {
            "name": name,
            "scheme": scheme,
            "hashing_key": str(key),
            "gamma": gamma,
            "bias": bias if watermarked else 0.0,
            "vocab_size": v,
            "context_width": width,
            "watermarked": watermarked,
            "bos_token_id": model.config.bos_token_id,
            "eos_token_id": model.config.eos_token_id,
            "top_k": top_k,
            "max_new_tokens": new_tokens,
            "model_seed": model_seed,
            "sample_seed": sample_seed,
            "prompt_len": len(prompt),
            "ids": ids,
            "generated": generated,
            "full_first_scored": full_first,
            "gen_first_scored": gen_first,
        }
        for prefix, counts in (("full_", full), ("gen_", gen)):
            for field in ("scored", "green", "z_score", "p_value", "prediction"):
                row[prefix + field] = counts[prefix + field]
        for prefix, counts in (("full_", full), ("gen_", gen)):
            for field in ("scored", "green", "z_score", "p_value"):
                row[prefix + field + "_all"] = counts[prefix + field + "_all"]
        rows.append(row)
    return rows


def kgw_file(torch, transformers, provenance):
    from transformers.generation.logits_process import WatermarkLogitsProcessor

    rng = random.Random(0x4B47_5701)
    keys = kgw_keys(rng)
    mt = mt_rows(torch, rng)
    randperm = randperm_rows(torch, rng)
    fixed = fixed_table_rows(WatermarkLogitsProcessor, keys[:6] + keys[-3:])
    green = green_rows(torch, WatermarkLogitsProcessor, rng, keys)
    detect = detect_rows(torch, transformers, rng)
    generated = kgw_generated_rows(torch, transformers)
    lines = header(KGW_DOC, provenance)
    lines += toml_tables("mt", mt)
    lines += toml_tables("randperm", randperm)
    lines += toml_tables("fixed_table", fixed)
    lines += toml_tables("green", green)
    lines += toml_tables("detect", detect)
    lines += toml_tables("generated", generated)
    summary = "%d mt, %d randperm, %d fixed_table, %d green, %d detect, %d generated" % (
        len(mt),
        len(randperm),
        len(fixed),
        len(green),
        len(detect),
        len(generated),
    )
    return "\n".join(lines) + "\n", summary


# ---------------------------------------------------------------------------
# hf-synthid.toml
# ---------------------------------------------------------------------------

SYNTHID_DOC = """
Checks of wmark's HF-compatible SynthID-Text (crates/wmark-core/src/hf.rs) against
transformers' SynthIDTextWatermarkLogitsProcessor (transformers.generation.logits_process).
Keys and hashes are signed 64-bit integers, as torch holds them.

[[table]]      processor.sampling_table: torch.randint(0, 2, (size,), generator=
               torch.Generator().manual_seed(seed)).
  seed, size   the sampling-table seed and size
  ones         how many entries are 1
  head         the first 64 entries, "0"/"1"
  sha256       sha256 (hex) of the entries as one byte each

[[sequence]]   SynthIDTextWatermarkLogitsProcessor(ngram_len, keys, sampling_table_size,
               sampling_table_seed, context_history_size, "cpu") applied to ids[None]:
  name         a label
  ngram_len, keys, sampling_table_size, sampling_table_seed, context_history_size
               the processor's arguments (the number of keys is the number of layers)
  eos_token_id the EOS id given to compute_eos_token_mask
  ids          the token ids
  ngram_keys   compute_ngram_keys(ids.unfold(1, ngram_len, 1)[None]) for the first 3 n-grams,
               flattened (n-gram-major, then layer)
  g_values     compute_g_values(ids[None]): one string per n-gram (len(ids) - ngram_len + 1 of
               them), one "0"/"1" per layer
  repetition_mask  compute_context_repetition_mask(ids[None]), "1" where the context is new
  eos_mask     compute_eos_token_mask(ids[None], eos_token_id) (length len(ids)), "1" before
               the first EOS
  g_sum        sum of g over layers and n-grams where repetition_mask * eos_mask[ngram_len - 1:]
               is 1 (the mask SynthIDTextWatermarkDetector builds)
  mask_count   number of such n-grams
  mean_score   g_sum / (mask_count * layers): the mean g-value score of Google's SynthID-Text
               paper, computed in torch float64 on transformers' g-values and masks

[[keys]]       processor._compute_keys(context[None], tokens[None]) and sample_g_values of them:
               what generation uses for every candidate token.
  ngram_len, keys, sampling_table_size, sampling_table_seed   as in [[sequence]]
  context      the ngram_len - 1 previous ids
  context_hash hash_result_with_just_context
  tokens       the candidate ids
  ngram_keys   the keys, flattened (token-major, then layer)
  g_values     one string per token, one "0"/"1" per layer

[[generated]]  Text transformers generated with its own watermark: a tiny random-weight
               LlamaForCausalLM (as in hf-kgw.toml's [[generated]]) runs model.generate(prompt,
               do_sample=True, top_k, max_new_tokens, watermarking_config=
               SynthIDTextWatermarkingConfig(keys, ngram_len, context_history_size,
               sampling_table_seed, sampling_table_size)) after torch.manual_seed(sample_seed).
               The control row is the same model, prompt and seed without watermarking_config,
               scored with the same config. The processor (config.construct_processor) then
               scores generated[None] alone, as in [[sequence]]: generation hashes only generated
               ids (its context starts as ngram_len - 1 zeros), so the prompt is not scored and the
               first scored n-gram ends at generated[ngram_len - 1].
  name, ngram_len, keys, sampling_table_size, sampling_table_seed, context_history_size
               as in [[sequence]]
  vocab_size   the model's vocabulary
  watermarked  false for the control (generated without a watermark)
  eos_token_id the model config's EOS (generation stops there), given to compute_eos_token_mask
  top_k, max_new_tokens, model_seed, sample_seed   the generation settings
  prompt       the prompt's ids (not scored)
  generated    the generated ids, what was scored
  g_values, repetition_mask, eos_mask, g_sum, mask_count, mean_score
               as in [[sequence]], on generated: g_sum counts the g-values equal to 1 over
               layers x unmasked n-grams, mask_count the unmasked n-grams

[[step]]       What the processor does to logits while generating ("tournament" logits
               processing): a fresh SynthIDTextWatermarkLogitsProcessor(ngram_len, keys,
               sampling_table_size, sampling_table_seed, context_history_size, "cpu") is called
               len(tokens) times as generation calls it, out = processor(input_ids, logits), with
               input_ids = [prompt + tokens[:t]] (shape [1, L]) and logits a [1, vocab_size]
               float32 row at step t; tokens[t] is then chosen among the finite logits
               (random.Random, not the watermarked distribution). The first call does not read
               input_ids (its context is ngram_len - 1 zeros), each later call shifts
               input_ids[0, -1] into the context, so the prompt never matters. A step whose
               context hash is among the last context_history_size hashes (initially zeros)
               returns the logits unchanged; any other returns the float32 log of the
               g-value-reweighted softmax, with every non-finite entry (-inf logits, underflowed
               probabilities) set to float32's minimum (-3.4028234663852886e+38). Floats are
               float32 values written exactly (as float64).
  name, ngram_len, keys, sampling_table_size, sampling_table_seed, context_history_size
               as in [[sequence]]
  vocab_size   V, the length of each step's logits
  prompt       the ids before the first step
  tokens       the id chosen after each step, T of them (some repeat a context on purpose)
  repeated     "1" per step whose context hash was in the history (out is the logits there)
  context_hash hash_result_with_just_context of each step's context, T of them
  logits       the processor's input, T * V floats, step-major (some -inf, as after top-k)
  out          the processor's output, T * V floats, step-major
""".strip("\n").splitlines()


def synthid_keys(rng, depth):
    kind = rng.randrange(3)
    if kind == 0:
        return [rng.randrange(1000) for _ in range(depth)]  # like HF's examples
    if kind == 1:
        return [rng.randrange(2**63) for _ in range(depth)]
    return [rng.randrange(-(2**63), 2**63) for _ in range(depth)]


def table_rows(torch, processor_cls):
    rows = []
    for seed, size in [(0, 2**16), (1, 2**16), (12345, 1000), (2**32 + 3, 65521), (7, 2**24), (0, 1), (2**64 - 1, 3)]:
        p = processor_cls(
            ngram_len=2, keys=[1], sampling_table_size=size, sampling_table_seed=seed, context_history_size=4, device="cpu"
        )
        t = p.sampling_table.tolist()
        rows.append({"seed": str(seed), "size": size, "ones": sum(t), "head": bits(t[:64]), "sha256": digest_u8(t)})
    return rows


def sequence_rows(torch, processor_cls, rng):
    rows = []
    specs = [
        # (ngram_len, depth, table size, table seed, history, vocab, length)
        (5, 9, 2**16, 0, 1024, 256000, 80),
        (5, 30, 2**16, 0, 1024, 256000, 120),
        (2, 1, 2**16, 0, 1024, 50, 100),
        (3, 2, 2**16, 7, 1024, 20, 100),
        (4, 5, 1000, 3, 1024, 151936, 60),
        (4, 20, 65521, 11, 8, 12, 150),
        (3, 9, 2**16, 0, 3, 6, 120),
        (7, 9, 2**16, 0, 1024, 32000, 90),
        (5, 4, 2**16, 2**40 + 1, 16, 8, 140),
        (2, 30, 2**16, 0, 1024, 128256, 50),
    ]
    for i, (ngram_len, depth, size, seed, history, vocab, length) in enumerate(specs):
        keys = synthid_keys(rng, depth)
        p = processor_cls(
            ngram_len=ngram_len,
            keys=keys,
            sampling_table_size=size,
            sampling_table_seed=seed,
            context_history_size=history,
            device="cpu",
        )
        ids = [rng.randrange(vocab) for _ in range(length)]
        if i % 2 == 0:  # a repeated stretch
            a = rng.randrange(length // 2)
            span = ids[a : a + ngram_len + 3]
            b = rng.randrange(length // 2, length - len(span))
            ids[b : b + len(span)] = span
        eos = vocab  # an id the random ids never take: the EOS mask ends only where it is put
        if i % 3 == 0:
            ids[rng.randrange(length * 3 // 4, length)] = eos
        x = torch.tensor([ids], dtype=torch.long)
        ngrams = x.unfold(dimension=1, size=ngram_len, step=1)
        nkeys = p.compute_ngram_keys(ngrams)[0, :3].flatten().tolist()
        rows.append(
            {
                "name": "n%d-d%d-%d" % (ngram_len, depth, i),
                "ngram_len": ngram_len,
                "keys": keys,
                "sampling_table_size": size,
                "sampling_table_seed": str(seed),
                "context_history_size": history,
                "eos_token_id": eos,
                "ids": ids,
                "ngram_keys": nkeys,
                **synthid_score(torch, p, ids, eos),
            }
        )
    return rows


def synthid_detect(p, x, eos):
    """transformers' g-values and masks on x (a LongTensor of shape (1, L)), as
    SynthIDTextWatermarkDetector combines them: (g, repetition mask, EOS mask, g_sum,
    mask_count, mean_score), the last three over the unmasked n-grams (mean_score in torch
    float64). scripts/hf_bench.py times this too."""
    depth = len(p.keys)
    g = p.compute_g_values(x)[0]
    rep = p.compute_context_repetition_mask(x)[0]
    eos_mask = p.compute_eos_token_mask(x, eos)[0]
    mask = rep.long() * eos_mask[p.ngram_len - 1 :].long()
    gd = g.double()
    g_sum = int((g * mask[:, None]).sum())
    mask_count = int(mask.sum())
    mean_score = float((gd * mask[:, None].double()).sum() / (depth * mask.double().sum()))
    return g, rep, eos_mask, g_sum, mask_count, mean_score


def synthid_score(torch, p, ids, eos):
    """transformers' g-values and masks on ids, as SynthIDTextWatermarkDetector combines them,
    and the mean g-value score over the unmasked n-grams (torch float64)."""
    x = torch.tensor([ids], dtype=torch.long)
    g, rep, eos_mask, g_sum, mask_count, mean_score = synthid_detect(p, x, eos)
    return {
        "g_values": [bits(row) for row in g.tolist()],
        "repetition_mask": bits(rep.tolist()),
        "eos_mask": bits(eos_mask.tolist()),
        "g_sum": g_sum,
        "mask_count": mask_count,
        "mean_score": mean_score,
    }


def synthid_generated_rows(torch, transformers):
    rng = random.Random(0x5349_4402)
    top_k, new_tokens = 50, 150
    specs = [
        # (name, ngram_len, keys, table size, table seed, history, vocab, prompt length, watermarked)
        ("n5-d9-v32000", 5, [654, 400, 836, 123, 340, 443, 597, 160, 57], 2**16, 0, 1024, 32000, 10, True),
        ("n3-d20-v50257", 3, [rng.randrange(2**63) for _ in range(20)], 2**16, 7, 64, 50257, 6, True),
        # A small vocabulary repeats contexts (the repetition mask) and may draw EOS (the EOS mask).
        ("n2-d4-v64", 2, [rng.randrange(1000) for _ in range(4)], 2**16, 0, 1024, 64, 4, True),
        ("control-n5-d9-v32000", 5, [654, 400, 836, 123, 340, 443, 597, 160, 57], 2**16, 0, 1024, 32000, 10, False),
    ]
    rows = []
    # One model, prompt and sampling seed per vocabulary, as in kgw_generated_rows.
    setups = {}
    for i, (name, ngram_len, keys, size, seed, history, v, prompt_len, watermarked) in enumerate(specs):
        if v not in setups:
            model_seed, sample_seed = 300 + i, 400 + i
            prompt = [1] + [rng.randrange(3, v) for _ in range(prompt_len - 1)]
            setups[v] = (tiny_causal_lm(torch, transformers, v, model_seed), prompt, model_seed, sample_seed)
        model, prompt, model_seed, sample_seed = setups[v]
        config = transformers.SynthIDTextWatermarkingConfig(
            ngram_len=ngram_len,
            keys=keys,
            context_history_size=history,
            sampling_table_seed=seed,
            sampling_table_size=size,
        )
        ids = generate(torch, model, prompt, sample_seed, top_k, new_tokens, config if watermarked else None)
        assert ids[: len(prompt)] == prompt
        generated = ids[len(prompt) :]
        eos = model.config.eos_token_id
        p = config.construct_processor(v, "cpu")
        rows.append(
            {
                "name": name,
                "ngram_len": ngram_len,
                "keys": keys,
                "sampling_table_size": size,
                "sampling_table_seed": str(seed),
                "context_history_size": history,
                "vocab_size": v,
                "watermarked": watermarked,
                "eos_token_id": eos,
                "top_k": top_k,
                "max_new_tokens": new_tokens,
                "model_seed": model_seed,
                "sample_seed": sample_seed,
                "prompt": prompt,
                "generated": generated,
                **synthid_score(torch, p, generated, eos),
            }
        )
    return rows


def keys_rows(torch, processor_cls, rng):
    rows = []
    for ngram_len, depth, vocab in [(5, 9, 256000), (2, 3, 32000), (4, 30, 151936), (3, 1, 50257)]:
        keys = synthid_keys(rng, depth)
        p = processor_cls(
            ngram_len=ngram_len,
            keys=keys,
            sampling_table_size=2**16,
            sampling_table_seed=0,
            context_history_size=1024,
            device="cpu",
        )
        context = [rng.randrange(vocab) for _ in range(ngram_len - 1)]
        tokens = sorted({0, vocab - 1} | {rng.randrange(vocab) for _ in range(14)})
        nk, ctx_hash = p._compute_keys(torch.tensor([context], dtype=torch.long), torch.tensor([tokens], dtype=torch.long))
        g = p.sample_g_values(nk)[0]
        rows.append(
            {
                "ngram_len": ngram_len,
                "keys": keys,
                "sampling_table_size": 2**16,
                "sampling_table_seed": "0",
                "context": context,
                "context_hash": int(ctx_hash[0]),
                "tokens": tokens,
                "ngram_keys": nk[0].flatten().tolist(),
                "g_values": [bits(row) for row in g.tolist()],
            }
        )
    return rows


def f32(x):
    """x rounded to the nearest float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def step_logits(rng, v, style):
    """One row of float32 logits of a style: p ordinary, s small (nearly uniform; some tiny and
    subnormal entries), h huge (most probabilities underflow to 0), o a large common offset
    (softmax subtracts the maximum), k ordinary after a top-k cut (-inf outside the k largest),
    1 the same with k = 1."""
    if style == "s":
        row = [rng.gauss(0.0, 1e-3) for _ in range(v)]
        for _ in range(max(1, v // 10)):
            row[rng.randrange(v)] = rng.choice((1e-30, -1e-38, 1e-42, 0.0, -0.0))
    elif style == "h":
        row = [rng.gauss(0.0, 1e3) for _ in range(v)]
        row[rng.randrange(v)] = rng.choice((1e4, 3e38, -3e38))
    elif style == "o":
        base = rng.choice((5000.0, -20000.0, 1e6))
        row = [base + rng.gauss(0.0, 3.0) for _ in range(v)]
    else:
        row = [rng.gauss(0.0, 3.0) for _ in range(v)]
    row = [f32(x) for x in row]
    if style in ("k", "1"):
        k = 1 if style == "1" else rng.randrange(2, max(3, v // 3))
        keep = set(sorted(range(v), key=lambda i: (-row[i], i))[:k])
        row = [x if i in keep else -math.inf for i, x in enumerate(row)]
    return row


def step_rows(torch, processor_cls):
    rng = random.Random(0x5349_4403)
    specs = [
        # (name, ngram_len, depth, table size, table seed, history, vocab, the logits' style per
        #  step (see step_logits), the token chosen after each step: "." any finite one, a digit
        #  that id, a letter a new id at its first use and the same id again at each later one)
        # The same token twice: step 2's 1-token context is step 1's; step 6's is step 3's.
        ("n2-d1-v7-repeat", 2, 1, 2**16, 0, 1024, 7, "p k p s k p h p", "a a b . . b . ."),
        # Token 0 first: step 1's context [0] is step 0's (the zeros the state starts with).
        ("n2-d30-v50-zero", 2, 30, 2**16, 0, 1024, 50, "k p o k p s p", "0 . . . . . ."),
        ("n3-d4-v50-topk", 3, 4, 2**16, 7, 1024, 50, "k k p 1 k h k", ". . . . . . ."),
        # History 2 < T: step 3's context is step 1's (2 contexts before: repeated); step 6's is
        # step 3's (3 before: forgotten).
        ("n2-d4-v50-history2", 2, 4, 1000, 3, 2, 50, "p k p p k p o p", "a . a . . a . ."),
        # A 2-token context repeats: step 4's [5, 2] is step 2's.
        ("n3-d30-v7-huge", 3, 30, 65521, 11, 1024, 7, "h p 1 h o s k", "5 2 5 2 . . ."),
        ("n5-d4-v300", 5, 4, 2**16, 0, 1024, 300, "p k o s h p", ". . . . . ."),
        # History 3 < T: step 4's [a, b] is step 2's (2 contexts before: repeated); step 7's
        # [b, a] is step 3's (4 before: forgotten).
        ("n3-d1-v50-history3", 3, 1, 2**16, 2**40 + 1, 3, 50, "s p k p p k s p", "a b a b . b a ."),
        # One token over and over: the 4-token context [3, 3, 3, 3] repeats from step 5 on.
        ("n5-d9-v7-run", 5, 9, 2**16, 0, 1024, 7, "p s k p h p k p", "3 3 3 3 3 3 3 3"),
        ("n2-d30-v50-small", 2, 30, 2**16, 0, 1024, 50, "s k p s k s", ". . a a . ."),
    ]
    rows = []
    for name, ngram_len, depth, size, seed, history, v, styles, plan in specs:
        styles, plan = styles.split(), plan.split()
        assert len(styles) == len(plan)
        keys = synthid_keys(rng, depth)
        p = processor_cls(
            ngram_len=ngram_len,
            keys=keys,
            sampling_table_size=size,
            sampling_table_seed=seed,
            context_history_size=history,
            device="cpu",
        )
        prompt = [rng.randrange(v) for _ in range(rng.randrange(2, 6))]
        named = {}
        tokens, repeated, hashes, logits, outs = [], [], [], [], []
        for style, choice in zip(styles, plan):
            row = step_logits(rng, v, style)
            want = int(choice) if choice.isdigit() else named.get(choice)
            if want is not None and not math.isfinite(row[want]):
                row[want] = f32(rng.gauss(0.0, 3.0))
            x = torch.tensor([row], dtype=torch.float32)
            assert x[0].tolist() == row
            before = p.state.context_history.clone() if p.state is not None else torch.zeros((1, history), dtype=torch.long)
            out = p(torch.tensor([prompt + tokens], dtype=torch.long), x.clone())
            assert out.dtype == torch.float32 and out.shape == (1, v)
            h = int(p.state.context_history[0, 0])
            rep = bool((before == h).any())
            assert torch.equal(out, x) if rep else bool(torch.isfinite(out).all())
            if want is None:
                finite = [i for i, z in enumerate(row) if math.isfinite(z) and i not in named.values()]
                want = rng.choice(finite)
                if choice != ".":
                    named[choice] = want
            tokens.append(want)
            repeated.append(rep)
            hashes.append(h)
            logits += row
            outs += out[0].tolist()
        rows.append(
            {
                "name": name,
                "ngram_len": ngram_len,
                "keys": keys,
                "sampling_table_size": size,
                "sampling_table_seed": str(seed),
                "context_history_size": history,
                "vocab_size": v,
                "prompt": prompt,
                "tokens": tokens,
                "repeated": bits(repeated),
                "context_hash": hashes,
                "logits": logits,
                "out": outs,
            }
        )
    return rows


def synthid_file(torch, transformers, provenance):
    from transformers.generation.logits_process import SynthIDTextWatermarkLogitsProcessor as Processor

    rng = random.Random(0x5349_4401)
    tables = table_rows(torch, Processor)
    sequences = sequence_rows(torch, Processor, rng)
    keys = keys_rows(torch, Processor, rng)
    generated = synthid_generated_rows(torch, transformers)
    steps = step_rows(torch, Processor)
    lines = header(SYNTHID_DOC, provenance)
    lines += toml_tables("table", tables)
    lines += toml_tables("sequence", sequences)
    lines += toml_tables("keys", keys)
    lines += toml_tables("generated", generated)
    lines += toml_tables("step", steps)
    summary = "%d table, %d sequence, %d keys, %d generated, %d step" % (
        len(tables),
        len(sequences),
        len(keys),
        len(generated),
        len(steps),
    )
    return "\n".join(lines) + "\n", summary


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=REPO_ROOT / "fixtures" / "vectors", help="where the fixtures go")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a fixture on disk differs")
    args = ap.parse_args()

    try:
        import torch
        import transformers
    except ImportError as e:
        sys.exit("hf_reference: %s; install torch and transformers into %s" % (e, sys.executable))
    for name, have, want in (
        ("torch", torch.__version__, TORCH_VERSION),
        ("transformers", transformers.__version__, TRANSFORMERS_VERSION),
    ):
        if have.split("+")[0] != want:
            print("hf_reference: warning: %s is %s, the fixtures were made with %s" % (name, have, want), file=sys.stderr)

    torch.set_num_threads(1)
    source = Path(transformers.__file__).parent
    digest = hashlib.sha256()
    for rel in ("generation/logits_process.py", "generation/watermarking.py"):
        digest.update(rel.encode() + b"\0" + (source / rel).read_bytes() + b"\0")
    provenance = [
        "Made by scripts/hf-reference by running transformers %s's own watermarking code" % transformers.__version__,
        "(generation/logits_process.py and generation/watermarking.py, sha256 %s)" % digest.hexdigest()[:16],
        "on CPU with torch %s." % torch.__version__,
    ]

    outputs = []
    text, summary = kgw_file(torch, transformers, provenance)
    outputs.append((KGW_OUT, text, summary))
    text, summary = synthid_file(torch, transformers, provenance)
    outputs.append((SYNTHID_OUT, text, summary))

    stale = write_fixtures(outputs, args.out_dir, args.check)
    if stale:
        print("hf_reference: regenerate with scripts/hf-reference: %s" % ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
