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

