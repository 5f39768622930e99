#!/usr/bin/env python3
"""Writes the prompt sets of the evaluation and distillation runs (data/prompts/*.jsonl).

Prompts are open-ended writing requests built from fixed lists, so the sets are reproducible
and the teacher's prompts and the students' fresh prompts never overlap:

- teacher.jsonl: what the watermarked (and the unwatermarked) teacher answers, and what the
  evaluation runs answer;
- fresh.jsonl: prompts no teacher answer was written for, which the students answer in the
  radioactivity test.

    python3 scripts/make-prompts.py          # (re)write the files
    python3 scripts/make-prompts.py --check  # fail if the files differ from what it writes
"""
import json
import random
import sys
from pathlib import Path

CHARACTERS = [
    "a lighthouse keeper", "a retired astronaut", "a shy baker", "a young inventor", "an old fisherman",
    "a city pigeon", "a lost robot", "a librarian", "a street musician", "a mountain guide",
    "a night-shift nurse", "a beekeeper", "a clockmaker", "a stray cat", "a ship's cook",
    "a forest ranger", "a chess champion", "a painter who cannot see colours", "a ghost", "a gardener",
    "a train conductor", "a village doctor", "a deep-sea diver", "a tired dragon", "a kite maker",
]
SITUATIONS = [
    "finds a map in an old book", "has to cross a frozen river", "meets a talking fox",
    "loses the key to everything", "wakes up a hundred years later", "receives a letter with no sender",
    "must win a baking contest", "discovers a door in the basement", "is stuck in a snowstorm",
    "teaches a child to swim", "finds a star that fell into the garden", "opens a tiny shop",
    "hears music coming from the sea", "builds a boat from scratch", "forgets their own name",
    "plants a tree that grows overnight",
]
TOPICS = [
    "how rainbows form", "why cats purr", "how bread rises", "how a bicycle stays upright",
    "why the moon has phases", "how volcanoes erupt", "how bees make honey", "why leaves change colour",
    "how a compass works", "why the sea is salty", "how airplanes fly", "how vaccines work",
    "why we dream", "how glass is made", "how tides work", "why the sky is dark at night",
    "how a clock keeps time", "how plants drink water", "why ice floats", "how a battery stores energy",
]
PLACES = [
    "a market at dawn", "an abandoned train station", "a library at midnight", "a desert after rain",
    "a busy harbour", "a mountain village in winter", "a garden in late summer", "a city rooftop at night",
    "a forest after a storm", "a small island", "a bakery before opening", "a museum of forgotten things",
]


def pool():
    items = []
    for c in CHARACTERS:
        for s in SITUATIONS:
            items.append(f"Write a short story about {c} who {s}.")
    for t in TOPICS:
        items.append(f"Explain {t}, in a few paragraphs.")
        items.append(f"Write a short essay on {t} for a curious child.")
    for p in PLACES:
        items.append(f"Describe {p} in vivid detail.")
        items.append(f"Write a diary entry of someone spending a day in {p}.")
    random.Random(20261129).shuffle(items)
    return items


SETS = {"teacher": (0, 300), "fresh": (300, 450)}


def render():
    items = pool()
    out = {}
    for name, (lo, hi) in SETS.items():
        lines = [json.dumps({"id": f"{name[0]}{i:03d}", "prompt": p}) for i, p in enumerate(items[lo:hi])]
        out[name] = "\n".join(lines) + "\n"
    return out


def main():
    root = Path(__file__).resolve().parent.parent / "data" / "prompts"
    check = "--check" in sys.argv[1:]
    bad = False
    for name, text in render().items():
        path = root / f"{name}.jsonl"
        if check:
            if not path.exists() or path.read_text() != text:
                print(f"{path} is not what scripts/make-prompts.py writes", file=sys.stderr)
                bad = True
        else:
            root.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
