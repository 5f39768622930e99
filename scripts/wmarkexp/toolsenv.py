"""Runs the calling script under the scripts' virtualenv, which scripts/pyenv makes from the
pinned scripts/requirements.txt (matplotlib, numpy, ruff, pytest).

    from wmarkexp import toolsenv
    toolsenv.reexec()   # first thing in main(): returns only when running in the virtualenv

Standard library only, so that it works under any python3.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
MARK = "WMARK_TOOLS_REEXEC"  # "<pid> <interpreter>", set just before the re-run (same pid)


def interpreter():
    """The virtualenv's Python (made or updated by scripts/pyenv, quickly when it is current)."""
    r = subprocess.run([str(ROOT / "scripts" / "pyenv")], stdout=subprocess.PIPE, text=True)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        sys.exit(f"{Path(sys.argv[0]).name}: scripts/pyenv failed (exit {r.returncode}); see its messages above")
    return lines[-1]


def running_in(python):
    return Path(sys.prefix).resolve() == Path(python).parent.parent.resolve()


def reexec():
    """Returns if this process already runs under the scripts' virtualenv; otherwise replaces it
    by the same script with the same arguments under that virtualenv's Python."""
    pid, _, marked = os.environ.get(MARK, "").partition(" ")
    if pid == str(os.getpid()):  # this process is the re-run (exec keeps the pid)
        if running_in(marked):
            return
        sys.exit(f"{Path(sys.argv[0]).name}: re-run under {marked} but runs under {sys.executable}")
    python = interpreter()
    if running_in(python):
        return
    os.environ[MARK] = f"{os.getpid()} {python}"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(python, [python, os.path.abspath(sys.argv[0]), *sys.argv[1:]])
