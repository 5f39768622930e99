"""The tests of the scripts' package (scripts/wmarkexp) and plotting and runner modules.

    py="$(scripts/pyenv | tail -n 1)"; "$py" -m pytest -q -p no:cacheprovider scripts/tests
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
