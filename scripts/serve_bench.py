"""The measured half of docs/serving.md: `wmark serve` under load, with and without the
watermark, and its decode speed beside `wmark generate`. Run by scripts/serve-bench.

1. Load: C concurrent clients (default 16), R requests each (default 4), over 4 accounts
   (client i is account i mod 4), every request `max_tokens` = N (default 96) at T = 1.
   The same load runs against a server with the watermark and one with a pass-through
   processor (`--no-watermark`), alternating (wm, none, wm, none), each on a fresh server.
   Reported: errors, aggregate completion tokens/s (total completion tokens / wall time of
   the load), the ratio of the medians, the watermark's own time per token from /metrics,
   and whether every answer's best-matching account (detection endpoint) is its own.
2. Decode speed: the same 4 prompts as one request at a time and as 4 concurrent requests
   (max_tokens = N), beside `wmark generate --prompts` (candle, wmark's own loop) on those
   prompts with the same scheme and key and min_tokens = max_tokens = N.

Prints a Markdown block; with --write puts it into docs/serving.md between
<!-- serve-bench:begin --> and <!-- serve-bench:end -->.
"""
import argparse
import concurrent.futures as cf
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from openai import OpenAI  # noqa: E402

from wmarkexp.serving import ROOT, Deployment, Server, wmark_bin  # noqa: E402

MODEL = "smollm2-135m-instruct"
ACCOUNTS = ["acct-a", "acct-b", "acct-c", "acct-d"]
PROMPTS = [
    "Write a long story about a lighthouse keeper who finds a message in a bottle.",
    "Explain in detail how bread is made, from the wheat field to the bakery.",
    "Describe a walk through a busy market in a city you imagine, with every sound and smell.",
    "Write a letter from a sailor to his family about a storm at sea.",
    "Tell the history of a small mountain village over three hundred years.",
    "Explain how a bicycle works, part by part, to a curious child.",
    "Write a detailed guide to keeping a vegetable garden through the seasons.",
    "Describe the life of a honey bee from egg to old age.",
]


def one_request(server, account, prompt, max_tokens, detect):
    c = OpenAI(base_url=server.url + "/v1", api_key=server.deployment.tokens[account], max_retries=0, timeout=1800)
    r = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}],
                                  max_tokens=max_tokens, temperature=1.0)
    text = r.choices[0].message.content
    out = {"account": account, "tokens": r.usage.completion_tokens, "text": text}
    if detect:
        status, report = server.detect(text)
        out["detected"] = report.get("account") if status == 200 else None
        out["verdict"] = report.get("verdict") if status == 200 else None
    return out


def load(server, clients, per_client, max_tokens):
    """Runs the load; returns (results, errors, wall seconds)."""
    jobs = [(i, j) for i in range(clients) for j in range(per_client)]

    def client_loop(i):
        done, errors = [], []
        for j in range(per_client):
            try:
                done.append(one_request(server, ACCOUNTS[i % len(ACCOUNTS)], PROMPTS[(i + j) % len(PROMPTS)],
                                        max_tokens, detect=False))
            except Exception as e:  # every failure is counted and reported
                errors.append(f"{type(e).__name__}: {e}")
        return done, errors

    started = time.perf_counter()
    with cf.ThreadPoolExecutor(max_workers=clients) as pool:
        parts = list(pool.map(client_loop, range(clients)))
    wall = time.perf_counter() - started
    results = [r for done, _ in parts for r in done]
    errors = [e for _, errs in parts for e in errs]
    assert len(results) + len(errors) == len(jobs)
    return results, errors, wall


def attribute(server, results):
    """Detection endpoint on every answer: (own account, best account, verdict) rows."""
    rows = []
    for r in results:
        status, report = server.detect(r["text"])
        rows.append((r["account"], report.get("account") if status == 200 else None,
                     report.get("verdict") if status == 200 else None, r["tokens"]))
    return rows


def decode_speed(server, prompts, max_tokens, concurrent):
    started = time.perf_counter()
    if concurrent:
        with cf.ThreadPoolExecutor(max_workers=len(prompts)) as pool:
            rs = list(pool.map(lambda p: one_request(server, ACCOUNTS[0], p, max_tokens, False), prompts))
    else:
        rs = [one_request(server, ACCOUNTS[0], p, max_tokens, False) for p in prompts]
    wall = time.perf_counter() - started
    return sum(r["tokens"] for r in rs) / wall, sum(r["tokens"] for r in rs)


def generate_speed(deployment, prompts, max_tokens, workdir):
    """`wmark generate --prompts` with the first account's key: tokens/s over the whole run."""
    pf = Path(workdir) / "prompts.jsonl"
    pf.write_text("".join(json.dumps({"id": f"p{i}", "prompt": p}) + "\n" for i, p in enumerate(prompts)))
    out = Path(workdir) / "gen.jsonl"
    if out.exists():
        out.unlink()
    env = dict(os.environ, RAYON_NUM_THREADS=os.environ.get("GENERATE_THREADS", "1"))
    started = time.perf_counter()
    subprocess.run([str(wmark_bin()), "generate", "--prompts", str(pf), "--out", str(out), "--key",
                    str(deployment.account_key(ACCOUNTS[0])), "--max-tokens", str(max_tokens), "--min-tokens",
                    str(max_tokens), "--temperature", "1.0", "--top-p", "1.0", "--top-k", "0"],
                   check=True, capture_output=True, env=env)
    wall = time.perf_counter() - started
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    tokens = sum(len(r["ids"]) if "ids" in r else r["tokens"] for r in rows)
    return tokens / wall, tokens


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=4, help="requests per client")
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--rounds", type=int, default=2, help="load rounds per variant (alternating)")
    ap.add_argument("--threads", default="2", help="RAYON_NUM_THREADS of the server (default 2)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        dep = Deployment(tmp, ACCOUNTS)
        env = {"RAYON_NUM_THREADS": args.threads}
        server_args = ["--max-seqs", str(args.clients)]
        runs = {"wm": [], "none": []}
        attribution = []
        wm_seconds = wm_steps = 0.0
        for rnd in range(args.rounds):
            for variant in ("wm", "none"):
                extra = server_args + (["--no-watermark"] if variant == "none" else [])
                with Server(dep, extra, env=env) as s:
                    results, errors, wall = load(s, args.clients, args.requests, args.max_tokens)
                    tokens = sum(r["tokens"] for r in results)
                    runs[variant].append({"tokens": tokens, "wall": wall, "tps": tokens / wall, "errors": errors,
                                          "requests": len(results)})
                    print(f"round {rnd} {variant}: {len(results)} answers, {len(errors)} errors, {tokens} tokens "
                          f"in {wall:.1f} s = {tokens / wall:.1f} tokens/s", file=sys.stderr)
                    if variant == "wm":
                        m = s.metrics()
                        wm_seconds += sum(v for k, v in m.items() if k.startswith("wmark_watermark_seconds_total"))
                        wm_steps += sum(v for k, v in m.items() if k.startswith("wmark_generated_tokens_total"))
                        if rnd == 0:
                            attribution = attribute(s, results)
        with Server(dep, [], env=env) as s:
            prompts = PROMPTS[:4]
            one_tps, one_tok = decode_speed(s, prompts, args.max_tokens, concurrent=False)
            four_tps, four_tok = decode_speed(s, prompts, args.max_tokens, concurrent=True)
        gen_tps, gen_tok = generate_speed(dep, PROMPTS[:4], args.max_tokens, tmp)

    med = {k: statistics.median(r["tps"] for r in v) for k, v in runs.items()}
    errors = sum(len(r["errors"]) for v in runs.values() for r in v)
    own = sum(1 for a, b, _, _ in attribution if a == b)
    flagged = sum(1 for a, b, v, _ in attribution if a == b and v == "watermarked")
    short = [t for a, b, v, t in attribution if v != "watermarked"]
    cpu = platform.processor() or platform.machine()
    lines = [
        "<!-- serve-bench:begin -->",
        f"Measured by `scripts/serve-bench` on {os.cpu_count()} cores ({cpu}), "
        f"server RAYON_NUM_THREADS={args.threads}, SmolLM2-135M-Instruct Q4_1, lefthash γ = 0.25, δ = 2, T = 1.",
        "",
        f"**Load:** {args.clients} concurrent clients × {args.requests} requests, max_tokens = {args.max_tokens}, "
        f"{len(ACCOUNTS)} accounts; {args.rounds} rounds per variant, alternating, each on a fresh server.",
        "",
        "| variant | round | answers | errors | completion tokens | wall (s) | tokens/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant, label in (("wm", "watermark"), ("none", "pass-through (`--no-watermark`)")):
        for i, r in enumerate(runs[variant]):
            lines.append(f"| {label} | {i + 1} | {r['requests']} | {len(r['errors'])} | {r['tokens']} | "
                         f"{r['wall']:.1f} | {r['tps']:.1f} |")
    ratio = med["wm"] / med["none"]
    per_step_us = 1e6 * wm_seconds / wm_steps if wm_steps else float("nan")
    lines += [
        "",
        f"- Median tokens/s: watermark {med['wm']:.1f}, pass-through {med['none']:.1f}: ratio **{ratio:.3f}** "
        f"({'within' if abs(1 - ratio) <= 0.02 else 'outside'} 2 %). Errors: {errors}.",
        f"- Time inside the watermark (from `/metrics`): {per_step_us:.1f} µs per generated token over "
        f"{int(wm_steps)} tokens, {100 * wm_seconds / sum(r['wall'] for r in runs['wm']):.2f} % of the loaded "
        "runs' wall time (summed over concurrent sequences).",
        f"- Attribution (round 1, detection endpoint over the {len(ACCOUNTS)} accounts): best-matching account is "
        f"the answer's own for **{own} of {len(attribution)}** answers; {flagged} of them reach the verdict "
        f"`watermarked` at α = 1e-6" + (f" (the others are {len(short)} answers of {min(short)}–{max(short)} "
                                      "tokens)" if short else "") + ".",
        "",
        f"**Decode speed** (the same 4 prompts, max_tokens = {args.max_tokens}, T = 1):",
        "",
        "| engine | requests | completion tokens | tokens/s |",
        "|---|---|---|---|",
        f"| `wmark serve` (mistral.rs) | one at a time | {one_tok} | {one_tps:.1f} |",
        f"| `wmark serve` (mistral.rs) | 4 concurrent | {four_tok} | {four_tps:.1f} |",
        f"| `wmark generate` (candle, RAYON_NUM_THREADS={os.environ.get('GENERATE_THREADS', '1')}, "
        f"whole process incl. loading) | one at a time | {gen_tok} | {gen_tps:.1f} |",
        "<!-- serve-bench:end -->",
    ]
    block = "\n".join(lines)
    print(block)
    if args.write:
        doc = ROOT / "docs" / "serving.md"
        text = doc.read_text()
        a, b = text.index("<!-- serve-bench:begin -->"), text.index("<!-- serve-bench:end -->")
        doc.write_text(text[:a] + block + text[b + len("<!-- serve-bench:end -->"):])
        print(f"wrote {doc}", file=sys.stderr)
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
