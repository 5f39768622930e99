"""The numeric side of the experiment scripts (scripts/eval, scripts/distill-demo and the
distillation report), as an importable, tested package; the scripts run commands, read and
write data files, and plot.

- `stats`: the summaries that docs/results.md prints (spike-entropy bound, detection rates,
  medians, perplexity and its standard error, Kolmogorov-Smirnov distance, Bonferroni
  thresholds, Clopper-Pearson intervals, p-value text).
- `diversity`: distinct n-grams and pairwise overlap of several answers to one prompt.
- `students`: the trigram student and the training mixtures of the distillation scenario.
- `neural`: the neural student (needs numpy).
- `toolsenv`: runs a script under the scripts' virtualenv (scripts/pyenv).

Tests: scripts/tests (`scripts/pyenv` installs pytest; see scripts/test).
"""
