#!/usr/bin/env python3
"""Writes the distillation section of docs/results.md (and its plots) from the result of
scripts/distill-demo (data/eval/distill.json). Called by distill-demo; to redo the page from
the saved result without rerunning (no `wmark` binary needed): scripts/distill_report.py
(it runs itself under the scripts' virtualenv, scripts/pyenv, for matplotlib)."""
import json
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


if __name__ == "__main__":
    from wmarkexp import toolsenv

    toolsenv.reexec()
    saved = ROOT / "data" / "eval" / "distill.json"
    if not saved.exists():
        sys.exit(f"distill_report: {saved.relative_to(ROOT)} is missing: run scripts/distill-demo first")
    res = json.loads(saved.read_text())
    write(res, res.get("failures", []))
