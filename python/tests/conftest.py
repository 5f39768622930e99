"""Shared fixtures: the repository, the `wmark` command line the package is compared with,
and the asset cache. Nothing here is skipped silently: a missing binary or asset fails."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, List, Optional, Sequence

import pytest

import wmark

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "fixtures" / "vectors"

try:
    import tomllib  # Python >= 3.11
except ModuleNotFoundError:  # pragma: no cover - Python 3.9 and 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def load_toml(path: Path) -> Any:
    with open(path, "rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="session")
def wmark_bin() -> Path:
    path = os.environ.get("WMARK_BIN") or str(ROOT / "target" / "debug" / "wmark")
    p = Path(path).resolve()
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(
            f"the wmark command line is missing at {p}: build it (cargo build --bin wmark) or set WMARK_BIN; "
            "scripts/test-python does both"
        )
    return p


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    # The one definition of the asset cache for scripts and Python: scripts/fetch-assets.
    script = Path(__file__).resolve().parents[2] / "scripts" / "fetch-assets"
    out = subprocess.run([str(script), "--print-dir"], check=True, capture_output=True, text=True).stdout
    return Path(out.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def llama3_tokenizer(cache_dir: Path) -> Path:
    p = cache_dir / "tokenizers" / "llama3" / "tokenizer.json"
    if not p.is_file():
        pytest.fail(f"{p} is missing: run scripts/fetch-assets --only llama3-tokenizer first")
    return p


class Cli:
    """Runs the `wmark` binary with a key file in a temporary directory."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir

    def key_file(self, key: wmark.Key, name: str = "k.key") -> Path:
        p = self.workdir / name
        if not p.exists():
            key.save(p)
        return p

    def run(self, args: Sequence[str], ok_codes: Sequence[int] = (0,), stdin: Optional[str] = None) -> str:
        proc = subprocess.run(
            [str(self.binary), *args],
            cwd=self.workdir,
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        if proc.returncode not in ok_codes:
            raise AssertionError(f"wmark {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc.stdout

    def write_lines(self, name: str, lines: List[Any]) -> Path:
        p = self.workdir / name
        p.write_text("".join(json.dumps(x) + "\n" for x in lines))
        return p

    def scheme_args(self, config: wmark.Config) -> List[str]:
        if config.is_gumbel:
            # No green list: no --gamma or --delta; the dual key's weight instead.
            alpha = [] if config.alpha is None else ["--vllm-alpha", repr(config.alpha)]
            return ["--scheme", config.scheme, *alpha, "--vocab-size", str(config.vocab_size)]
        if config.sampling_table is not None:  # SynthID-Text: no green list; its sampling table
            size, seed, _ = config.sampling_table
            return ["--scheme", config.scheme, "--sampling-table-size", str(size), "--sampling-table-seed", str(seed),
                    "--vocab-size", str(config.vocab_size)]
        if config.greenlist_ratio is not None:  # Hugging Face's: the ratio as given, no bias
            return ["--scheme", config.scheme, "--gamma", repr(config.greenlist_ratio), "--vocab-size", str(config.vocab_size)]
        return [
            "--scheme",
            config.scheme,
            "--gamma",
            repr(config.gamma),
            "--delta",
            repr(config.delta),
            "--vocab-size",
            str(config.vocab_size),
        ]


@pytest.fixture
def cli(wmark_bin: Path, tmp_path: Path) -> Cli:
    return Cli(wmark_bin, tmp_path)


def fixed_key(n: int) -> wmark.Key:
    """A fixed key (statistics in tests depend on the key: keep them deterministic)."""
    return wmark.Key.from_bytes(bytes((n * 7 + i) % 256 for i in range(32)))
