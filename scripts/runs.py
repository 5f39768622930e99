#!/usr/bin/env python3
"""The SmolLM2 generation runs behind docs/results.md, and the command that makes them.

Each run answers the first `n` prompts of data/prompts/teacher.jsonl with one configuration
and appends to data/generations/<name>.jsonl (one JSON object per answer, with per-token
log-probabilities and entropies: see `wmark generate --help`, --stats). Runs resume: an
interrupted run picks up where it stopped, and a finished run costs nothing to "run" again.
The files are checked in, so tables and plots can be redone without the model.

    python3 scripts/runs.py                 # every run (hours on one core: see docs/results.md)
    python3 scripts/runs.py wm-lefthash-t0.7 plain-t0.7   # some runs
    python3 scripts/runs.py --list

The key is data/keys/experiment.key: a published key for these experiments only.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = ROOT / "data" / "keys" / "experiment.key"
TOKENS = 200

# name: (n prompts, watermark (scheme, gamma, delta) or None, temperature, base seed)
RUNS = {
    "wm-lefthash-t0.7": (200, ("lefthash", 0.25, 2.0), 0.7, 1000),
    "plain-t0.7": (100, None, 0.7, 2000),
    "wm-selfhash4-t0.7": (100, ("selfhash:4", 0.25, 2.0), 0.7, 3000),
    "wm-lefthash-t1.0": (100, ("lefthash", 0.25, 2.0), 1.0, 4000),
    "wm-selfhash4-t1.0": (100, ("selfhash:4", 0.25, 2.0), 1.0, 5000),
    "wm-minhash4-t0.7": (50, ("minhash:4", 0.25, 2.0), 0.7, 6000),
    "wm-unigram-t0.7": (50, ("unigram", 0.25, 2.0), 0.7, 7000),
    "wm-minhash4-t1.0": (50, ("minhash:4", 0.25, 2.0), 1.0, 8000),
    "wm-unigram-t1.0": (50, ("unigram", 0.25, 2.0), 1.0, 9000),
    "plain-t1.0": (50, None, 1.0, 10000),
    "wm-lefthash-g0.25-d1-t1.0": (30, ("lefthash", 0.25, 1.0), 1.0, 11000),
    "wm-lefthash-g0.25-d4-t1.0": (30, ("lefthash", 0.25, 4.0), 1.0, 12000),
    "wm-lefthash-g0.5-d1-t1.0": (30, ("lefthash", 0.5, 1.0), 1.0, 13000),
    "wm-lefthash-g0.5-d2-t1.0": (30, ("lefthash", 0.5, 2.0), 1.0, 14000),
    "wm-lefthash-g0.5-d4-t1.0": (30, ("lefthash", 0.5, 4.0), 1.0, 15000),
    # Gumbel-max sampling (no green list: no γ, no δ).
    "wm-gumbel4-t0.7": (50, ("gumbel:4", None, None), 0.7, 16000),
    "wm-gumbel4-t1.0": (50, ("gumbel:4", None, None), 1.0, 17000),
    # Diversity: each of the first 10 prompts answered DIVERSITY_ANSWERS times (other seeds).
    "div-gumbel4-t1.0": (10, ("gumbel:4", None, None), 1.0, 18000),
    "div-plain-t1.0": (10, None, 1.0, 18000),
}

# Runs that answer each prompt several times, and how many tokens their answers have.
DIVERSITY_ANSWERS = 5
DIVERSITY_TOKENS = 100


def wmark_bin():
    """The `wmark` binary: $WMARK_BIN, else target/release/wmark."""
    b = os.environ.get("WMARK_BIN")
    if b:
        return b
    return str(ROOT / "target" / "release" / "wmark")


def wmark_eval_bin():
    """The `wmark-eval` binary (`null` and `attack`): $WMARK_EVAL_BIN, else `wmark-eval` beside
    $WMARK_BIN when that is set, else target/release/wmark-eval."""
    b = os.environ.get("WMARK_EVAL_BIN")
    if b:
        return b
    if os.environ.get("WMARK_BIN"):
        return str(Path(os.environ["WMARK_BIN"]).with_name("wmark-eval"))
    return str(ROOT / "target" / "release" / "wmark-eval")


def _run(name, binary, env, args, ok, who):
    try:
        r = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    except OSError as e:
        sys.exit(f"{who}: cannot run {binary} ({e.strerror}): build {name} (cargo build --release) or set {env}")
    if r.returncode not in ok:
        sys.exit(f"{who}: {name} {' '.join(map(str, args[:2]))} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def wmark(*args, ok=(0, 1), who="scripts"):
    """Runs the wmark binary and returns its stdout; any other exit code ends the script with
    wmark's own message."""
    return _run("wmark", wmark_bin(), "WMARK_BIN", args, ok, who)


def wmark_eval(*args, ok=(0,), who="scripts"):
    """Runs the wmark-eval binary (`wmark-eval null ...`, `wmark-eval attack ...`) and returns
    its stdout, as `wmark` does."""
    return _run("wmark-eval", wmark_eval_bin(), "WMARK_EVAL_BIN", args, ok, who)


def key_path():
    """The experiment key, with the owner-only mode the CLI insists on (git does not keep it)."""
    os.chmod(KEY, 0o600)
    return KEY


def command(name, out, n_prompts=None, tokens=None, answers=None):
    """The `wmark generate` command of a run (and its temporary prompt file); n_prompts, tokens
    and, for the diversity runs, answers per prompt default to the run's own."""
    n, wm, temperature, seed = RUNS[name]
    n = n if n_prompts is None else n_prompts
    prompts = (ROOT / "data" / "prompts" / "teacher.jsonl").read_text().splitlines()[:n]
    if name.startswith("div-"):
        tokens = DIVERSITY_TOKENS if tokens is None else tokens
        repeated = []
        for line in prompts:
            p = json.loads(line)
            for r in range(DIVERSITY_ANSWERS if answers is None else answers):
                repeated.append(json.dumps(dict(p, id=f"{p['id']}#{r}")))
        prompts = repeated
    tokens = TOKENS if tokens is None else tokens
    tmp = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)
    tmp.write("\n".join(prompts) + "\n")
    tmp.close()
    cmd = [wmark_bin(), "generate", "--prompts", tmp.name, "--out", str(out), "--stats",
           "--max-tokens", str(tokens), "--min-tokens", str(tokens), "--temperature", str(temperature),
           "--top-p", "1", "--top-k", "0", "--seed", str(seed)]
    if wm is None:
        cmd.append("--no-watermark")
    else:
        scheme, gamma, delta = wm
        cmd += ["--key", str(key_path()), "--scheme", scheme, "--vocab-size", "49152"]
        if gamma is not None:
            cmd += ["--gamma", str(gamma), "--delta", str(delta)]
    return cmd, tmp.name


def run(name, out, n_prompts=None, tokens=None, answers=None):
    cmd, tmp = command(name, out, n_prompts, tokens, answers)
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    try:
        subprocess.run(cmd, check=True, env=env)
    except OSError as e:
        sys.exit(f"runs: cannot run {cmd[0]} ({e.strerror}): build wmark (cargo build --release) or set WMARK_BIN")
    finally:
        os.unlink(tmp)


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    args = sys.argv[1:]
    if args == ["--list"]:
        for name, (n, wm, t, _) in RUNS.items():
            print(f"{name:28} {n:4} answers  {wm or 'no watermark'}  T={t}")
        return
    names = args or list(RUNS)
    for name in names:
        if name not in RUNS:
            sys.exit(f"runs.py: unknown run {name!r} (see --list)")
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        run(name, ROOT / "data" / "generations" / f"{name}.jsonl")


if __name__ == "__main__":
    main()
