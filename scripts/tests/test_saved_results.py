"""The package reproduces, bit for bit, numbers saved in data/eval/ by earlier runs of
scripts/eval (those that need no `wmark` binary to recompute)."""
import json
from pathlib import Path

import runs
from wmarkexp import stats

ROOT = Path(__file__).resolve().parent.parent.parent


def test_quality_rows_are_recomputed_exactly():
    saved = json.loads((ROOT / "data" / "eval" / "quality.json").read_text())
    assert saved
    for row in saved:
        gens = runs.load(ROOT / "data" / "generations" / f"{row['run']}.jsonl")
        got = stats.quality_summary([g["logprob"] for g in gens])
        assert row["generations"] == len(gens)
        assert (got["tokens"], got["ppl_corpus"], got["ppl_median"]) == (row["tokens"], row["ppl_corpus"], row["ppl_median"])


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
