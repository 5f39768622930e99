#!/usr/bin/env python3
"""Runs Hugging Face transformers' own watermarking code and writes the HF reference fixtures.

The Python part of `scripts/hf-reference` (which finds an interpreter with torch and
transformers, then runs this). It imports `WatermarkLogitsProcessor`, `WatermarkDetector` and
`SynthIDTextWatermarkLogitsProcessor` from the installed transformers, runs them on CPU torch
with fixed inputs and writes

    fixtures/vectors/hf-kgw.toml      torch's generator and randperm, HF's KGW green lists
                                      (lefthash, selfhash) and its detector's green counts
    fixtures/vectors/hf-synthid.toml  SynthID-Text sampling tables, n-gram keys, g-values,
                                      context-repetition and EOS masks, mean g-value scores

which wmark's Rust tests (crates/wmark-core/tests/hf_vectors.rs) check its HF-compatible code
against. Nothing of transformers or torch is copied into the repository.

    python scripts/hf_reference.py [--out-dir DIR] [--check]

Every input comes from fixed seeds (random.Random) and torch runs on one thread, so a rerun
with the same torch and transformers writes byte-identical files.
"""

import argparse
import hashlib
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


def kgw_file(torch, transformers, provenance):
    from transformers.generation.logits_process import WatermarkLogitsProcessor

    rng = random.Random(0x4B47_5701)
    keys = kgw_keys(rng)
    mt = mt_rows(torch, rng)
    randperm = randperm_rows(torch, rng)
    fixed = fixed_table_rows(WatermarkLogitsProcessor, keys[:6] + keys[-3:])
    green = green_rows(torch, WatermarkLogitsProcessor, rng, keys)
    detect = detect_rows(torch, transformers, rng)
    lines = header(KGW_DOC, provenance)
    lines += toml_tables("mt", mt)
    lines += toml_tables("randperm", randperm)
    lines += toml_tables("fixed_table", fixed)
    lines += toml_tables("green", green)
    lines += toml_tables("detect", detect)
    summary = "%d mt, %d randperm, %d fixed_table, %d green, %d detect" % (
        len(mt),
        len(randperm),
        len(fixed),
        len(green),
        len(detect),
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
        g = p.compute_g_values(x)[0]
        rep = p.compute_context_repetition_mask(x)[0]
        eos_mask = p.compute_eos_token_mask(x, eos)[0]
        mask = rep.long() * eos_mask[ngram_len - 1 :].long()
        gd = g.double()
        g_sum = int((g * mask[:, None]).sum())
        count = int(mask.sum())
        mean = float((gd * mask[:, None].double()).sum() / (depth * mask.double().sum()))
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
                "g_values": [bits(row) for row in g.tolist()],
                "repetition_mask": bits(rep.tolist()),
                "eos_mask": bits(eos_mask.tolist()),
                "g_sum": g_sum,
                "mask_count": count,
                "mean_score": mean,
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


def synthid_file(torch, provenance):
    from transformers.generation.logits_process import SynthIDTextWatermarkLogitsProcessor as Processor

    rng = random.Random(0x5349_4401)
    tables = table_rows(torch, Processor)
    sequences = sequence_rows(torch, Processor, rng)
    keys = keys_rows(torch, Processor, rng)
    lines = header(SYNTHID_DOC, provenance)
    lines += toml_tables("table", tables)
    lines += toml_tables("sequence", sequences)
    lines += toml_tables("keys", keys)
    summary = "%d table, %d sequence, %d keys" % (len(tables), len(sequences), len(keys))
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
    text, summary = synthid_file(torch, provenance)
    outputs.append((SYNTHID_OUT, text, summary))

    stale = write_fixtures(outputs, args.out_dir, args.check)
    if stale:
        print("hf_reference: regenerate with scripts/hf-reference: %s" % ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
