"""The package reproduces, bit for bit, numbers saved in data/eval/ by earlier runs of
scripts/eval (those that need no `wmark` binary to recompute)."""
import gzip
import json
from pathlib import Path

import pytest

import runs
from wmarkexp import diversity as div
from wmarkexp import stats

ROOT = Path(__file__).resolve().parent.parent.parent


def test_quality_rows_are_recomputed_exactly():
    saved = json.loads((ROOT / "data" / "eval" / "quality.json").read_text())
    rows = saved["rows"] if isinstance(saved, dict) else saved  # a list before the Gumbel-max rows
    assert rows
    for row in rows:
        gens = runs.load(ROOT / "data" / "generations" / f"{row['run']}.jsonl")
        lps = [g["logprob"] for g in gens]
        got = stats.quality_summary(lps)
        assert row["generations"] == len(gens)
        assert (got["tokens"], got["ppl_corpus"], got["ppl_median"]) == (row["tokens"], row["ppl_corpus"], row["ppl_median"])
        if "ppl_se" in row:
            _, se, se_log = stats.perplexity_se(lps)
            assert (se, se_log) == (row["ppl_se"], row["log_ppl_se"])


def test_diversity_rows_are_recomputed_exactly():
    path = ROOT / "data" / "eval" / "diversity.json"
    if not path.exists():
        pytest.skip("no data/eval/diversity.json yet")
    saved = json.loads(path.read_text())
    assert saved["rows"]
    for row in saved["rows"]:
        answers = div.by_prompt(runs.load(ROOT / "data" / "generations" / f"{row['run']}.jsonl"))[row["prompt"]]
        assert div.summary(answers) == {k: v for k, v in row.items() if k not in ("run", "sampler", "prompt")}


def test_gumbel_null_summary_is_recomputed_exactly_from_the_saved_p_values():
    path = ROOT / "data" / "eval" / "gumbel-null.json.gz"
    if not path.exists():
        pytest.skip("no data/eval/gumbel-null.json.gz yet")
    saved = json.loads(gzip.decompress(path.read_bytes()))
    assert len(saved["log10_p"]) == saved["keys"] and len(saved["key_ids"]) == saved["keys"]
    assert all(len(row) == saved["documents"] for row in saved["log10_p"])
    flat = [v for row in saved["log10_p"] for v in row]
    assert len(flat) == saved["tests"]
    levels = [lv["log10_alpha"] for lv in saved["summary"]["levels"]]
    qq = [lv["log10_alpha"] for lv in saved["summary"]["qq"]]
    assert saved["summary"] == dict(levels=stats.null_levels(flat, levels), qq=stats.null_levels(flat, qq), min_log10_p=min(flat))


def test_spike_rows_are_recomputed_exactly_where_they_need_no_detection():
    # Green counts come from `wmark detect`; the bounds need only the recorded spike entropies
    # (γ = 0.25 and 0.5 are exact fractions of the vocabulary, so γ_effective = γ).
    saved = json.loads((ROOT / "data" / "eval" / "spike.json").read_text())
    assert saved
    for row in saved:
        gens = runs.load(ROOT / "data" / "generations" / f"{row['run']}.jsonl")
        spikes = [g["spike_entropy"][1:] for g in gens]
        bounds = [stats.spike_bound(row["gamma"], row["delta"], s) for s in spikes]
        # Green counts stand in as 0: they do not enter the means checked here.
        got = stats.spike_summary([0] * len(gens), bounds, [len(s) for s in spikes], spikes)
        for key in ("generations", "tokens", "mean_bound", "mean_spike"):
            assert got[key] == row[key], (row["run"], key)
