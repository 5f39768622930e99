#!/usr/bin/env python3
"""Writes the distillation section of docs/results.md (and its plots) from the result of
scripts/distill-demo (data/eval/distill.json). Called by distill-demo; to redo the page from
the saved result without rerunning (no `wmark` binary needed): scripts/distill_report.py
(it runs itself under the scripts' virtualenv, scripts/pyenv, for matplotlib).

`scripts/distill_report.py --curve` writes the section on evidence against the answer budget
(and docs/plots/distill-curve.svg) from data/eval/distill-curve.json, the result of
`scripts/distill-demo --curve`, which calls it."""
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import results_page  # noqa: E402
from wmarkexp import stats  # noqa: E402
from wmarkexp.stats import fmt_p  # noqa: E402

BEGIN, END = "<!-- distill:begin -->", "<!-- distill:end -->"


def neural_lines(result):
    rows = result.get("neural") or []
    head = ["### A neural student", ""]
    if not rows:
        return head + [
            "Not run in this pass (`scripts/distill-demo --neural` adds it; it needs numpy). Fine-tuning SmolLM2 "
            "itself is out of reach here: the model is a 4-bit GGUF file that candle runs but does not train."]
    cfg = result["config"]
    lines = head + [
        "A feed-forward neural language model (Bengio et al. 2003 style, `scripts/wmarkexp/neural.py`, numpy): the "
        "two previous tokens embedded (48 dimensions each), one tanh layer of 128, a softmax over the tokens seen "
        "in training, Adam. It learns a smooth low-rank model of its training text instead of copying counts. "
        "Same training mixtures as the trigram students at the same ρ, same fresh prompts and answer budget "
        f"({cfg['answers_per_prompt']} answers of {cfg['answer_tokens']} tokens per prompt), same test. Fine-tuning "
        "SmolLM2 itself was not possible here: the model is a 4-bit GGUF file that candle runs but does not train.",
        "",
        "| ρ | training tokens | watermarked | vocabulary | epochs | final training loss (nats/token) | training time | scored "
        "| green share | log10 p | log10 p (filter) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in rows:
        r, f = n["report"], n["filtered"]
        lines.append(f"| {n['rho']:.0%} | {n['train_tokens']:,} | {n['wm_tokens']:,} | {n['vocab']:,} | {n['epochs']} | "
                     f"{n['loss'][-1]:.2f} | {n['train_seconds']:.0f} s | {r['scored']:,} | {r['green_fraction']:.4f} | "
                     f"{r['log10_p']:.2f} | {f['log10_p']:.2f} |")
    lines += ["", "This is still a very small model trained for a few epochs; a 7B model fine-tuned on its teacher's "
              "answers (Sander et al. 2024) memorises far more of them."]
    return lines


def write(result, failures):
    import plots  # matplotlib: only where the page is drawn

    docs = ROOT / "docs"
    plot_dir = docs / "plots"
    sweep = result["sweep"]
    cfg = result["config"]

    # Evidence as −log10 p on a log axis, so that 1 % and 500 orders of magnitude both show
    # (ρ = 0 is drawn at 0.1 %; evidence below 0.01 is drawn at 0.01).
    ev = stats.evidence

    plots.line_plot(
        plot_dir / "distill-rho.svg",
        [
            ("no filter", [(max(s["rho"], 1e-3) * 100, ev(s["report"]["log10_p"])) for s in sweep]),
            ("provider's filter", [(max(s["rho"], 1e-3) * 100, ev(s["filtered"]["log10_p"])) for s in sweep]),
        ]
        + [("neural student, no filter", [(max(n["rho"], 1e-3) * 100, ev(n["report"]["log10_p"])) for n in result.get("neural") or []])],
        title="Students: evidence against watermarked share",
        xlabel="watermarked share ρ of the training tokens (%; ρ = 0 drawn at 0.1 %)",
        ylabel="−log10 p (log scale)",
        logx=True,
        logy=True,
        hlines=[(5, "p = 1e-5 (target)")],
    )
    plots.line_plot(
        plot_dir / "distill-tokens.svg",
        [(f"ρ = {s['rho']:.0%}", [(c["tokens"], ev(c["log10_p"])) for c in s["report"]["checkpoints"] if c["scored"] > 0])
         for s in sweep],
        title="Evidence as the suspect's answers accumulate",
        xlabel="answer tokens read",
        ylabel="cumulative −log10 p (log scale)",
        logx=True,
        logy=True,
        hlines=[(5, "p = 1e-5")],
    )

    rows = []
    for s in sweep:
        r, f = s["report"], s["filtered"]
        rows.append(
            f"| {s['rho']:.0%} | {s['train_tokens']:,} | {s['wm_tokens']:,} | {r['answer_tokens']:,} | {r['scored']:,} | "
            f"{r['green_fraction']:.4f} | {r['log10_p']:.2f} | {f['scored']:,} | {f['green_fraction']:.4f} | {f['log10_p']:.2f} |"
        )
    controls = result["controls"]
    n = len(controls)
    ks = stats.ks_uniform
    ps = sorted(c["tuple"] for c in controls)
    fp_none = stats.count_at_most([c["none"] for c in controls], -5)
    fp_none3 = stats.count_at_most([c["none"] for c in controls], -3)
    echo_on, echo_off = result["echo"]["on"], result["echo"]["off"]
    lines = [
        BEGIN,
        "## Distillation: radioactivity of students trained on watermarked text",
        "",
        "<!-- Written by scripts/distill-demo from data/eval/distill.json; do not edit by hand. -->",
        "",
        f"The teacher is SmolLM2-135M-Instruct answering {result['wm_answers']} prompts with the watermark "
        f"(lefthash, γ = 0.25, δ = 2, T = 0.7, key `{result['key_id']}`: data/generations/wm-lefthash-t0.7.jsonl) "
        f"and {result['plain_answers']} without (plain-t0.7.jsonl). Each student is an interpolated Witten-Bell "
        f"trigram model over SmolLM2's tokenizer, trained on {result['n_tokens']:,} tokens of which a share ρ is "
        "watermarked teacher text and the rest State of the Union text (the ρ = 100 % student has only the "
        "watermarked corpus itself). It answers "
        f"{cfg['fresh_prompts']} fresh prompts {cfg['answers_per_prompt']} times each ({cfg['answer_tokens']} tokens "
        "per answer); the answers are decoded to text and `wmark radioactive` tests them as one corpus with "
        "tuple dedup and the fresh prompts excluded, without and with the provider's filter (only tuples "
        "whose context occurs in the watermarked teacher corpus).",
        "",
        "| ρ | training tokens | watermarked | answer tokens | scored | green share | log10 p | scored (filter) | green share (filter) | log10 p (filter) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Target: ρ = 5 % at p < 1e-5. Sander et al. (2024) report p = 2.6e-24 at ρ = 5 % for 7B models with "
        "248,200 scored tuples, and p = 0.97 for their control.",
        "",
        "![−log10 p against ρ](plots/distill-rho.svg)",
        "",
        "![cumulative −log10 p against answer tokens (no filter)](plots/distill-tokens.svg)",
        "",
        "### Controls",
        "",
        f"- **ρ = 0 over {n} seeds** (training sample and answers), each student tested with its own key "
        "(derived from the experiment key for a control account): p-values "
        f"{', '.join(fmt_p(p) for p in ps)}; Kolmogorov–Smirnov distance to the uniform "
        f"{ks([c['tuple'] for c in controls]):.3f} (the 5 % critical value for n = {n} is about "
        f"{stats.ks_critical_5(n):.3f}).",
        f"- **The same controls with dedup off**: {fp_none} of {n} below 1e-5 and {fp_none3} below 1e-3 "
        f"(smallest {fmt_p(min(c['none'] for c in controls))}); Kolmogorov–Smirnov distance "
        f"{ks([c['none'] for c in controls]):.3f}. A trigram student repeats its favourite n-grams thousands "
        "of times; counted at every repeat they are not independent trials, and p-values swing to both "
        "extremes. The corpus test counts each (context, token) tuple once.",
        f"- **Prompt echo**: a ρ = 0 student continues the first 60 tokens of {cfg['echo_prompts']} watermarked "
        "teacher answers and returns prompt and continuation together, as completion APIs that echo do. "
        f"With prompt exclusion: p = {fmt_p(echo_on['log10_p'])} ({echo_on['excluded_prompt_context']:,} tuples "
        f"excluded); without: p = {fmt_p(echo_off['log10_p'])}. Without the exclusion an innocent model is "
        "accused for repeating what it was shown.",
        f"- **Student of the unwatermarked teacher**, the counterpart of the ρ = 100 % student: trained only on "
        f"the {result['plain_answers']} unwatermarked answers of the same model: p = "
        f"{fmt_p(result['plain_student']['log10_p'])}. The teacher's style alone does not look radioactive.",
        "",
        *neural_lines(result),
        "",
        f"Wall time of the run: {result['seconds']:.0f} s (teacher corpora excluded).",
    ]
    if failures:
        lines += ["", "**Not met in this run:**", ""] + [f"- {f}" for f in failures]
    lines.append(END)
    results_page.replace_section(docs / "results.md", BEGIN, END, "\n".join(lines))


CURVE_BEGIN, CURVE_END = "<!-- distill-curve:begin -->", "<!-- distill-curve:end -->"
GAMMA = 0.25
Z_TARGET = 4.265  # one-sided normal quantile of p = 1e-5


def excess(r):
    """Green tuples beyond the γ·scored expected without the watermark."""
    return r["green"] - GAMMA * r["scored"]


def needed(r):
    """The excess that p = 1e-5 needs at this many scored tuples (normal approximation)."""
    return Z_TARGET * math.sqrt(GAMMA * (1 - GAMMA) * r["scored"])


def max_scored(r):
    """The most scored tuples with which the excess of `r` still gives p = 1e-5 (normal approximation)."""
    return (max(excess(r), 0) / Z_TARGET) ** 2 / (GAMMA * (1 - GAMMA))


def loglog_slope(pts):
    """Least-squares slope of log y against log x over (x, y) points."""
    xs = [math.log(x) for x, _ in pts]
    ys = [math.log(y) for _, y in pts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def extrapolate(points):
    """(answer budget, scored tuples there) at which z reaches Z_TARGET if the excess and the
    scored tuples keep growing as power laws of the budget fitted over the last three budgets
    (least squares in log-log), or None if the fitted z does not grow. `points`: (answer
    tokens, report), the budgets in increasing order."""
    pts = points[-3:]
    if len(pts) < 2 or any(excess(r) <= 0 for _, r in pts):
        return None
    a = loglog_slope([(b, excess(r)) for b, r in pts])
    c = loglog_slope([(b, r["scored"]) for b, r in pts])
    b_last, r_last = pts[-1]
    z_last = excess(r_last) / math.sqrt(GAMMA * (1 - GAMMA) * r_last["scored"])
    if z_last >= Z_TARGET:
        return b_last, r_last["scored"]
    if a - c / 2 <= 0:
        return None
    budget = b_last * (Z_TARGET / z_last) ** (1 / (a - c / 2))
    return budget, r_last["scored"] * (budget / b_last) ** c


def budget_at_scored(points, target):
    """The answer budget at which the scored tuples reach `target`: interpolated log-log between
    the measured budgets, extrapolated past the last with the slope of the last three; None
    if the smallest budget already has more."""
    if points[0][1]["scored"] >= target:
        return None
    for (b0, r0), (b1, r1) in zip(points, points[1:]):
        if r1["scored"] >= target:
            return b0 * (b1 / b0) ** (math.log(target / r0["scored"]) / math.log(r1["scored"] / r0["scored"]))
    b_last, r_last = points[-1]
    if len(points) < 2:
        return math.inf  # above the only budget, and no trend to extrapolate
    c = loglog_slope([(b, r["scored"]) for b, r in points[-3:]])
    return b_last * (target / r_last["scored"]) ** (1 / c)


def at_budget(points, target):
    """Text: from which answer budget the scored tuples pass `target`."""
    b = budget_at_scored(points, target)
    if b is None:
        return f"from the smallest budget ({points[0][0]:,} answer tokens) on"
    if math.isinf(b):
        return f"only beyond the one budget measured ({points[0][0]:,} answer tokens)"
    how = "extrapolated" if b > points[-1][0] else "interpolated"
    return f"from about {b:,.0f} answer tokens ({how})"


def signal_z(entry, kind):
    """The excess of the emitted watermark-only tuples over the noise of all scored tuples."""
    return excess(entry["wm_only_test"]) / math.sqrt(GAMMA * (1 - GAMMA) * entry[kind]["scored"])


def label(m):
    return f"ρ = {m['rho'] * 100:g} %"


def write_curve(result):
    """The section of docs/results.md on evidence against the answer budget, from
    data/eval/distill-curve.json (scripts/distill-demo --curve), and its plot."""
    import plots

    budgets = result["budgets"]
    models = result["models"]
    students = [m for m in models if m["rho"] > 0]
    controls = [m for m in models if m["rho"] == 0]
    cfg = result["config"]

    def series(name, kind):
        return [(row["answer_tokens"], e[kind]) for row in budgets for e in row["models"] if e["name"] == name]

    if budgets:
        plots.line_plot(
            ROOT / "docs" / "plots" / "distill-curve.svg",
            [(f"{label(m)}{' (filter)' if kind == 'filtered' else ''}", [(b, -r["log10_p"]) for b, r in series(m["name"], kind)])
             for m in students for kind in ("report", "filtered")]
            + [("strongest control", [(row["answer_tokens"], max(-e[k]["log10_p"] for e in row["models"] if e["name"] in
                                                                  {c["name"] for c in controls} for k in ("report", "filtered")))
                                      for row in budgets], dict(color="#777777"))],
            title="Students: evidence against the answer budget",
            xlabel="answer tokens",
            ylabel="−log10 p",
            logx=True,
            hlines=[(5, "p = 1e-5")],
        )

    lines = [
        CURVE_BEGIN,
        "## Distillation: evidence against the answer budget",
        "",
        "<!-- Written by scripts/distill-demo --curve from data/eval/distill-curve.json; do not edit by hand. -->",
        "",
        f"The ρ = 1 % and ρ = 0.5 % trigram students of the section above (the same training mixtures of "
        f"{result['n_tokens']:,} tokens) and {len(controls)} ρ = 0 controls (the first {len(controls)} control "
        "students above, each tested with its own control key) answer the "
        f"{cfg['fresh_prompts']} fresh prompts in rounds: every prompt {cfg['answers_per_prompt']} times, "
        f"{cfg['answer_tokens']} tokens per answer, new sampling seeds each round (round 0 is the sweep's own "
        "sampling). Each budget is the first rounds of that stream, tested from scratch with "
        "`wmark.spark.radioactive` (local Spark, local[2]) on the token ids, tuple dedup, the fresh prompts "
        "excluded, without and with the provider's filter.",
        "",
    ]
    checks = result["cli_check"]
    if checks:
        same = all(c["report"] and c["filtered"] for c in checks)
        lines += [
            f"Cross-check: at {budgets[0]['answer_tokens']:,} answer tokens `wmark radioactive --ids --json` gives "
            + ("the same dict as Spark" if same else "**a different dict from Spark**")
            + f" for all {len(checks)} corpora, with and without the filter"
            + ("." if same else f" (differ: {', '.join(c['name'] for c in checks if not (c['report'] and c['filtered']))})."),
            "",
        ]
    if not budgets:
        lines += ["No budget finished.", CURVE_END]
        results_page.replace_section(ROOT / "docs" / "results.md", CURVE_BEGIN, CURVE_END, "\n".join(lines),
                                     before="<!-- eval-null:begin -->")
        return
    for m in students:
        pts = {b: r for b, r in series(m["name"], "report")}
        fpts = {b: r for b, r in series(m["name"], "filtered")}
        entries = {row["answer_tokens"]: e for row in budgets for e in row["models"] if e["name"] == m["name"]}
        lines += [
            f"### {label(m)} ({m['wm_tokens']:,} watermarked training tokens)",
            "",
            "| answer tokens | scored | green share | excess green | needed for 1e-5 | log10 p | scored (filter) | green share "
            "(filter) | excess (filter) | needed (filter) | log10 p (filter) | watermark-only tuples emitted | their excess | "
            "their z (no filter / filter) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for b in pts:
            r, f = pts[b], fpts[b]
            lines.append(
                f"| {b:,} | {r['scored']:,} | {r['green_fraction']:.4f} | {excess(r):,.0f} | {needed(r):,.0f} | "
                f"{r['log10_p']:.2f} | {f['scored']:,} | {f['green_fraction']:.4f} | {excess(f):,.0f} | {needed(f):,.0f} | "
                f"{f['log10_p']:.2f} | {entries[b]['wm_only_emitted']:,} of {m['wm_only_tuples']:,} | "
                + (f"{excess(entries[b]['wm_only_test']):,.0f} | {signal_z(entries[b], 'report'):.2f} / "
                   f"{signal_z(entries[b], 'filtered'):.2f} |" if entries[b].get("wm_only_test") else "— | — |"))
        lines.append("")
    lines += [
        "Excess green: green tuples beyond γ·scored; needed: the excess at which that many scored tuples give "
        "p = 1e-5 (normal approximation, z = 4.265). Watermark-only tuples: (previous token, token) pairs of the "
        "student's watermarked training text that its human training text does not have (the lefthash context is "
        "the previous token); emitted: how many of them the answers contain; their excess: the excess green count "
        "among those emitted (the same test on them alone); their z: that excess over the standard deviation "
        "√(γ(1−γ)·scored) of the green count of all scored tuples, the z the test would give if every other "
        "tuple were green exactly at the rate γ. Any other tuple a student that never saw the "
        "watermark could emit as well, and it is green with probability γ whatever the key; only the "
        "watermark-only tuples carry an excess that does not wash out.",
        "",
        "### Controls over the same budgets",
        "",
        "| answer tokens | " + " | ".join(c["name"] for c in controls) + " | strongest | with the filter: "
        + " | ".join(c["name"] for c in controls) + " | strongest |",
        "|---|" + "---|" * (2 * len(controls) + 2),
    ]
    names = {c["name"] for c in controls}
    for row in budgets:
        es = [e for e in row["models"] if e["name"] in names]
        lines.append(
            f"| {row['answer_tokens']:,} | " + " | ".join(fmt_p(e["report"]["log10_p"]) for e in es)
            + f" | {fmt_p(min(e['report']['log10_p'] for e in es))} | "
            + " | ".join(fmt_p(e["filtered"]["log10_p"]) for e in es)
            + f" | {fmt_p(min(e['filtered']['log10_p'] for e in es))} |")
    all_controls = [e[k]["log10_p"] for row in budgets for e in row["models"] if e["name"] in names for k in ("report", "filtered")]
    lines += [
        "",
        f"Across the {len(all_controls)} control tests the smallest p-value is {fmt_p(min(all_controls))}; "
        f"1 % after Bonferroni over the tests is {fmt_p(stats.bonferroni_log10(0.01, len(all_controls)))}. "
        f"At the largest budget the {len(controls)} controls' p-values (without the filter) have Kolmogorov–Smirnov "
        f"distance {stats.ks_uniform([e['report']['log10_p'] for e in budgets[-1]['models'] if e['name'] in names]):.3f} "
        f"to the uniform (5 % critical value about {stats.ks_critical_5(len(controls)):.3f}).",
        "",
        "![−log10 p against answer tokens](plots/distill-curve.svg)",
        "",
        "### What the curve shows",
        "",
    ]
    first = students[0]
    best_b, best_k, best = min(((b, k, r) for k in ("report", "filtered") for b, r in series(first["name"], k)),
                               key=lambda t: t[2]["log10_p"])
    zs = [signal_z(e, k) for row in budgets for e in row["models"] if e["name"] == first["name"] and e.get("wm_only_test")
          for k in ("report", "filtered")]
    lines += [
        f"**Does {label(first)} reach p < 1e-5? " + ("Yes" if best["log10_p"] < -5 else "No") + f".** Its smallest p-value "
        f"over all budgets up to {budgets[-1]['answer_tokens']:,} answer tokens is {fmt_p(best['log10_p'])} (at "
        f"{best_b:,}, {'with' if best_k == 'filtered' else 'without'} the filter)"
        + (f"; the excess its watermark-only tuples carry is worth z = {max(zs):.2f} at most against the noise of "
           "the other tuples, short of the 4.265 that p = 1e-5 needs, and it stops growing once they have all been "
           "emitted while the noise keeps growing: no answer budget can be expected to reach it for this student." if zs and
           best["log10_p"] >= -5 else "."),
        "",
    ]
    for m in students:
        text = f"- **{label(m)}**: "
        for kind, where in (("report", "without the filter"), ("filtered", "with the filter")):
            pts = series(m["name"], kind)
            hit = next((bb for bb, r in pts if r["log10_p"] < -5), None)
            peak_b, peak = min(pts, key=lambda t: t[1]["log10_p"])
            last_b, last = pts[-1]
            text += f"{where[0].upper()}{where[1:]}, "
            if hit is not None:
                text += f"p < 1e-5 from {hit:,} answer tokens"
            else:
                text += f"p < 1e-5 is not reached up to {last_b:,} answer tokens"
            if peak_b != last_b:
                text += (f"; the evidence peaks at {peak_b:,} (p = {fmt_p(peak['log10_p'])}) and is weaker at the larger "
                         f"budgets (p = {fmt_p(last['log10_p'])} at {last_b:,})")
            else:
                text += f"; the strongest evidence is at the largest budget (p = {fmt_p(last['log10_p'])})"
            if hit is None:
                need = extrapolate(pts)
                cap = max_scored(m["ceiling"]) if m.get("ceiling") else None
                if len(pts) < 2:
                    text += "; one budget gives no trend to extrapolate"
                elif need is None:
                    text += ("; over the last budgets z does not grow (the excess grows more slowly than the square root "
                             "of the scored tuples), so no larger budget reaches 1e-5 on this trend")
                else:
                    text += (f"; extrapolating the excess and the scored tuples as power laws of the budget (fitted over "
                             f"the last {min(3, len(pts))} budgets), z would reach 4.265 at about {need[0]:,.0f} answer tokens")
                    if cap is not None and need[1] > cap:
                        text += (f", but there the answers would have about {need[1]:,.0f} scored tuples, more than the "
                                 f"{cap:,.0f} that even the whole watermarked share's excess allows (below): the trend cannot "
                                 "last that long")
            text += ". "
        last_row = next(e for e in budgets[-1]["models"] if e["name"] == m["name"])
        ceiling, limit = m.get("ceiling"), m.get("limit")
        if m.get("wm_only_tuples"):
            wt = last_row.get("wm_only_test")
            text += (f"At {budgets[-1]['answer_tokens']:,} answer tokens its answers hold {last_row['wm_only_emitted']:,} "
                     f"of the {m['wm_only_tuples']:,} watermark-only tuples of its training text "
                     f"({last_row['wm_only_emitted'] / m['wm_only_tuples']:.0%}), with an excess of "
                     f"{excess(wt) if wt else 0:,.0f} green tuples. ")
            zs = [(row["answer_tokens"], signal_z(e, k), k) for row in budgets for e in row["models"]
                  if e["name"] == m["name"] and e.get("wm_only_test") for k in ("report", "filtered")]
            if zs:
                zb, zmax, zk = max(zs, key=lambda t: t[1])
                text += (f"Their excess alone, against the noise of all scored tuples, gives z = {zmax:.2f} at most "
                         f"({zb:,} answer tokens, {'with' if zk == 'filtered' else 'without'} the filter; p = 1e-5 "
                         "needs 4.265). ")
        if limit:
            text += (f"All {m['wm_only_tuples']:,} of them, tested alone, give {limit['scored']:,} scored tuples (the "
                     f"others have a context of the fresh prompts) with an excess of {excess(limit):,.0f}: the excess "
                     "the answers' watermark-only tuples tend to as the budget grows (every other tuple adds γ green "
                     "tuples in expectation). p = 1e-5 with that excess allows at most "
                     f"{max_scored(limit):,.0f} scored tuples; the answers have more "
                     + "; ".join(f"{where} {at_budget(series(m['name'], kind), max_scored(limit))}"
                                 for kind, where in (("report", "without the filter"), ("filtered", "with the filter")))
                     + ". ")
        if ceiling:
            text += (f"A generous bound: its whole watermarked share ({m['wm_tokens']:,} tokens) tested alone gives "
                     f"{ceiling['scored']:,} scored tuples, green share {ceiling['green_fraction']:.3f}, an excess of "
                     f"{excess(ceiling):,.0f}, which allows at most {max_scored(ceiling):,.0f} scored tuples; the answers "
                     "have more "
                     + "; ".join(f"{where} {at_budget(series(m['name'], kind), max_scored(ceiling))}"
                                 for kind, where in (("report", "without the filter"), ("filtered", "with the filter")))
                     + ".")
        lines.append(text)
    lines += [
        "",
        "Why the evidence is bounded: with tuple dedup each (context, token) tuple counts once however often the "
        "student repeats it, and a trigram student can carry the watermark only in tuples it learned from its "
        "ρ·N watermarked training tokens, a fixed, finite set. More answers first bring out more of those tuples "
        "(the excess grows), but in expectation the excess can at most approach the limit above, while every "
        "further answer "
        "also adds unbiased tuples (mostly rare combinations drawn through back-off, of which there is no end): "
        "the scored count keeps growing, the excess that p = 1e-5 needs grows as its square root, and so does "
        "the noise of the unbiased tuples (a standard deviation of √(γ(1−γ)·scored) green tuples; for "
        + "".join(f"{label(students[0])} at {budgets[-1]['answer_tokens']:,} answer tokens ±"
                  f"{math.sqrt(GAMMA * (1 - GAMMA) * e['report']['scored']):,.0f} without the filter and ±"
                  f"{math.sqrt(GAMMA * (1 - GAMMA) * e['filtered']['scored']):,.0f} with it"
                  for e in budgets[-1]["models"] if e["name"] == students[0]["name"])
        + "), which is why a single "
        "student's curve wanders. The filter slows the dilution (it scores only tuples whose context occurs in "
        "the teacher's text) but does not remove the bound. A larger budget cannot make up for too small a "
        "watermarked share: only a student that learned more watermarked tuples (a larger ρ·N, or a model that "
        "generalises the green-list bias beyond the exact tuples it saw) gives more evidence.",
        "",
        f"Largest budget reached: {budgets[-1]['answer_tokens']:,} answer tokens per student"
        + ("" if result.get("complete") else " (the run stopped before the next doubling)")
        + f"; wall time {result['seconds']:.0f} s (2 cores, shared with other jobs).",
        CURVE_END,
    ]
    results_page.replace_section(ROOT / "docs" / "results.md", CURVE_BEGIN, CURVE_END, "\n".join(lines),
                                 before="<!-- eval-null:begin -->")


if __name__ == "__main__":
    from wmarkexp import toolsenv

    toolsenv.reexec()
    if "--curve" in sys.argv[1:]:
        saved = ROOT / "data" / "eval" / "distill-curve.json"
        if not saved.exists():
            sys.exit(f"distill_report: {saved.relative_to(ROOT)} is missing: run scripts/distill-demo --curve first")
        write_curve(json.loads(saved.read_text()))
        sys.exit(0)
    saved = ROOT / "data" / "eval" / "distill.json"
    if not saved.exists():
        sys.exit(f"distill_report: {saved.relative_to(ROOT)} is missing: run scripts/distill-demo first")
    res = json.loads(saved.read_text())
    write(res, res.get("failures", []))
