"""Restore on held-out research news (skipped when ../shared is absent).

A small version of eval/evaluate_restore.py: clean news must stay (almost)
untouched, and spun news from the foreign Roget spinner must get some exact
restorations without much damage. docs/accuracy.md has the full figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))

corpus = pytest.importorskip("corpus")
if not corpus.available("bbc"):
    pytest.skip("research corpora (../shared/corpora) not present", allow_module_level=True)
spinner = pytest.importorskip("spinner")  # needs the build extras (lemminflect, wordfreq)
evaluate_restore = pytest.importorskip("evaluate_restore")

import unspin  # noqa: E402


@pytest.fixture(scope="module")
def docs():
    return corpus.load("bbc", "test")[:12]


def test_clean_news_is_left_alone(docs):
    words = changes = 0
    for d in docs:
        r = unspin.restore(d.text)
        words += r.n_words
        changes += len(r.changes)
    assert 1000 * changes / words <= 1.5


def test_foreign_spinner_copies_get_exact_fixes_and_little_damage(docs):
    # The foreign thesaurus is in the build extra only (the dev extra has the
    # scorer's needs, not the dictionaries).
    pytest.importorskip("PyRoget")
    dictionary = spinner.load_dictionary("roget")
    table = spinner.SpinTable.build(dictionary, 3)
    tally = evaluate_restore.Tally()
    for i, d in enumerate(docs):
        res = spinner.spin(d.text, 0.25, dictionary, seed=i, table=table)
        # The evaluation's own scorer, so this check and docs/accuracy.md agree.
        evaluate_restore.score_spun(tally, res, unspin.restore(res.text))
    assert tally.bad_offsets == 0
    assert tally.fixed > 0
    assert 1000 * tally.damage / tally.untouched_words <= 3.0
