"""Exact tail probabilities in log10, as the detector computes them (wmark_detect::stats)."""

from wmark._wmark import (
    binomial_upper_tail_log10,
    gamma_upper_tail_log10,
    normal_upper_tail_log10,
    z_score,
)

__all__ = [
    "binomial_upper_tail_log10",
    "gamma_upper_tail_log10",
    "normal_upper_tail_log10",
    "z_score",
]
