"""docs/results.md is written in sections, each by the script that computes it, between
`<!-- name:begin -->` and `<!-- name:end -->` markers; a script replaces only its own."""
from pathlib import Path

HEADER = """# Results

Every number and plot on this page is written by a script in this repository from data files
that are checked in (data/generations/, data/eval/); nothing here is typed by hand. Each section
names the script that writes it and how to redo it.
"""


def replace_section(path: Path, begin: str, end: str, body: str) -> None:
    text = path.read_text() if path.exists() else HEADER
    if begin in text and end in text:
        a = text.index(begin)
        b = text.index(end) + len(end)
        text = text[:a] + body + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text)


def line_plot(path, series, title, xlabel, ylabel, logx=False, logy=False, hlines=(), legend="upper left",
              xlim=None, ylim=None):
    """One line (with markers) per (label, [(x, y), ...]) series, and labelled horizontal lines."""
    import svgplot

    p = svgplot.Plot(title=title, xlabel=xlabel, ylabel=ylabel, xlog=logx, ylog=logy, legend=legend, xlim=xlim, ylim=ylim)
    for label, pts, *style in series:  # an optional third item: Plot.line keywords (color, dash, width)
        if pts:
            p.line([x for x, _ in pts], [y for _, y in pts], label=label, marker=True, **(style[0] if style else {}))
    for y, label in hlines:
        p.hline(y, label=label)
    p.save(path)
