"""The doctests of the build and evaluation scripts (outside the package, so
pytest's --doctest-modules does not collect them)."""

from __future__ import annotations

import doctest
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path):
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"_tool_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(path.parent))
    return mod


@pytest.mark.parametrize("path", ["scripts/build_lexicon.py", "eval/evaluate_detect.py"])
def test_doctests(path):
    result = doctest.testmod(_module(ROOT / path), verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
