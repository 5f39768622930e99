"""The plots of docs/results.md, drawn with matplotlib (Agg) into SVG files.

Output is reproducible: the SVG writer's ids come from a fixed hash salt, the date is left
out, text is drawn as glyph paths (no dependence on the reader's fonts), so the same data give
the same bytes and regenerated plots diff only where the data changed. matplotlib is pinned in
scripts/requirements.txt (scripts/pyenv); the scripts that plot run under that virtualenv.

Legends sit outside the axes, to the right, so they never cover data.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from cycler import cycler  # noqa: E402  (after the backend is chosen)
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

# Okabe-Ito colour-blind-safe colours, each with its own marker (readable in greyscale too).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
REFERENCE = dict(color="#777777", linestyle=(0, (4, 3)), linewidth=1.2)

STYLE = {
    "svg.hashsalt": "wmark docs/plots",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.grid": True,
    "axes.grid.which": "major",
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.8,
    "axes.prop_cycle": cycler(color=PALETTE) + cycler(marker=MARKERS),
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "legend.frameon": False,
    "legend.fontsize": 9,
}

_plain = FuncFormatter(lambda v, _pos: f"{v:g}")


def _figure(size):
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=size)
    return fig, ax


def _finish(fig, ax, path, title, xlabel, ylabel):
    with plt.rc_context(STYLE):
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    return path


def line_plot(path, series, title, xlabel, ylabel, logx=False, logy=False, hlines=(), xlim=None, ylim=None,
              size=(7.5, 4.2)):
    """One line with markers per (label, [(x, y), ...]) series, in order; an optional third item
    is a dict of matplotlib line properties (color, linestyle, marker, linewidth, ...). Empty
    series are skipped. `hlines` are labelled horizontal reference lines (y, label). Log axes
    are labelled with plain numbers (0.1, 1, 10, ...)."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(size)
        for label, pts, *style in series:
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], label=label, **(style[0] if style else {}))
        for y, label in hlines:
            ax.axhline(y, label=label, **REFERENCE)
        if logx:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(_plain)
        if logy:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(_plain)
        if xlim:
            ax.set_xlim(*xlim)
        if ylim:
            ax.set_ylim(*ylim)
    return _finish(fig, ax, path, title, xlabel, ylabel)


def qq_plot(path, series, title, xlabel, ylabel, xlim, ylim, size=(5.6, 5.6)):
    """A QQ plot: for each label, (expected, observed) sequences (None entries dropped, points
    joined in order of expected), with the diagonal y = x as "expected". Points outside
    xlim/ylim are cut off at the frame."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(size)
        lo, hi = max(xlim[0], ylim[0]), min(xlim[1], ylim[1])
        ax.plot([lo, hi], [lo, hi], label="expected", marker="", **REFERENCE)
        for label, (expected, observed) in series.items():
            pairs = sorted((e, o) for e, o in zip(expected, observed) if e is not None and o is not None)
            ax.plot([e for e, _ in pairs], [o for _, o in pairs], label=label, linewidth=1.3, markersize=3.5)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
    return _finish(fig, ax, path, title, xlabel, ylabel)
