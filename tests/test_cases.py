"""Data-driven restore cases, in ftfy's manner (tests/data/cases_*.json).

* synthetic: our own paragraphs with typical spinner habits; the listed fixes
  must be made, and every change made must restore wording of the original;
* negative: clean text that must come back byte-identical, with no changes;
* known_failures: documented misses (see docs/accuracy.md); expected to fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import unspin

DATA = Path(__file__).parent / "data"


def load(name: str) -> list[dict]:
    return json.loads((DATA / f"cases_{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", load("synthetic"), ids=lambda c: c["habit"])
def test_synthetic(case):
    result = unspin.restore(case["spun"])
    made = [[c.spun, c.restored] for c in result.changes]
    for fix in case["must_fix"]:
        assert fix in made
    if "restored" in case:  # the whole expected output, where one is certain
        assert result.text == case["restored"]
    original = case["original"].lower()
    for c in result.changes:
        assert case["spun"][c.start : c.end] == c.spun
        assert c.restored.lower() in original, f"wrong change {c.spun!r} -> {c.restored!r}"


@pytest.mark.parametrize("case", load("negative"), ids=lambda c: c["why"])
def test_negative(case):
    result = unspin.restore(case["text"])
    assert result.changes == []
    assert result.text == case["text"]


@pytest.mark.parametrize("case", load("known_failures"), ids=lambda c: c["why"][:40])
@pytest.mark.xfail(strict=True, reason="documented known failure")
def test_known_failures(case):
    assert unspin.restore(case["spun"]).text == case["original"]
