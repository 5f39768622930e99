"""docs/results.md is written in sections, each by the script that computes it, between
`<!-- name:begin -->` and `<!-- name:end -->` markers; a script replaces only its own."""
from pathlib import Path

HEADER = """# Results

Every number and plot on this page is written by a script in this repository from data files
that are checked in (data/generations/, data/eval/); nothing here is typed by hand. Each section
names the script that writes it and how to redo it.
"""


def replace_section(path: Path, begin: str, end: str, body: str, before: str = None) -> None:
    """Replaces the section between `begin` and `end` by `body` (which carries both markers).
    A new section goes just before the marker `before` when the page has it (another section's
    begin marker), else at the end."""
    text = path.read_text() if path.exists() else HEADER
    if begin in text and end in text:
        a = text.index(begin)
        b = text.index(end) + len(end)
        text = text[:a] + body + text[b:]
    elif before and before in text:
        a = text.index(before)
        text = text[:a] + body + "\n\n" + text[a:]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text)

