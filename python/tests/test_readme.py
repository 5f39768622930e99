"""The README's Python section runs: every ```python block of it, in order, in one namespace.
Blocks whose first line is `# needs: ...` run only when those modules import (the opt-in
transformers test runs them; see test_transformers.py)."""

from __future__ import annotations

import importlib.util
import re
from typing import List, Tuple

from conftest import ROOT


def python_blocks() -> List[Tuple[List[str], str]]:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Python\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end >= 0 else len(text)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    out = []
    for b in blocks:
        first = b.splitlines()[0]
        needs = first[len("# needs:") :].split() if first.startswith("# needs:") else []
        out.append((needs, b))
    return out


def run_blocks(include_optional: bool) -> int:
    namespace: dict = {"__name__": "__readme__"}
    ran = 0
    for needs, code in python_blocks():
        if needs and not (include_optional and all(importlib.util.find_spec(m) for m in needs)):
            continue
        exec(compile(code, "README.md (python block)", "exec"), namespace)
        ran += 1
    return ran


def test_the_readme_has_a_quickstart() -> None:
    blocks = python_blocks()
    assert blocks and not blocks[0][0], "the first python block of the README is the quickstart, with no extra needs"


def test_readme_python_blocks_run() -> None:
    assert run_blocks(include_optional=False) >= 1
