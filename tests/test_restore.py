"""Restore's safeguards for names and its repeat pass, checked on the spans themselves.

The data-driven cases (test_cases.py) check whole outputs; a clean sentence
there cannot show that a safeguard works, because its low document prior
already stops every change.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from unspin.restore import (
    FEATURES,
    NAME_MIN_GAIN,
    Candidate,
    Restorer,
    Span,
    _in_name,
    default_restorer,
    score_spans,
)

SPUN = ("Officers stated that Fundamental Management Corp had purchased a stake, and the "
        "Supreme Courtroom would rule on the deal subsequent month.")


def test_names_take_table_candidates_with_a_clear_lm_gain_only():
    r = Restorer()
    doc = r.document(SPUN)
    spans = [s for s in r.analyse(doc) if _in_name(doc.words[s.i : s.j])]
    # "Courtroom" inside a name is still a candidate span ...
    assert any(doc.words[s.i].text == "Courtroom" for s in spans)
    # ... but a company name that reads about as well restored keeps its
    # word ("Fundamental" -> "main" gains less than a nat here).
    assert not any(doc.words[s.i].text == "Fundamental" for s in spans)
    for s in spans:
        for c in s.candidates:
            assert c.source in ("h", "n", "p", "u")
            assert c.features[0] >= NAME_MIN_GAIN


# Written for this test: one spinner habit ("were" -> "have been") all
# through a clearly spun paragraph, some instances read worse than others.
REPEATED = ("The firefighters have been exhausted after the blaze, the chief instructed "
            "reporters this 12 months. He stated they have been sent to the hills the day "
            "before, and after which they have been told to wait. The crews have been unaware "
            "of the wind, he stated, as a result of their radios have been broken. Three of "
            "them have been taken to hospital, the chief instructed the council.")


def _swaps(r: Restorer, text: str, spun: str) -> int:
    return sum(1 for c in r.restore(text).changes if c.spun == spun)


def test_repeat_pass_lifts_other_instances_of_a_swap_the_document_shows():
    r = Restorer()
    with_repeats = _swaps(r, REPEATED, "have been")
    r.p = replace(r.p, repeat_bonus=0.0)
    without = _swaps(r, REPEATED, "have been")
    assert 1 <= without < with_repeats == REPEATED.count("have been")
    # The lifted ones say so in their evidence.
    r.p = replace(r.p, repeat_bonus=1.0)
    lifted = [c for c in r.restore(REPEATED).changes if "repeats" in c.evidence]
    assert lifted and all(c.restored == "were" and c.evidence["repeats"] >= 1 for c in lifted)


def _span(i: int, words: tuple[str, ...], logit: float, table: bool) -> Span:
    f = [0.0] * len(FEATURES)
    f[FEATURES.index("is_table")] = 1.0 if table else 0.0
    return Span(i, i + 1, [Candidate(words, "h" if table else "m", tuple(f), logit)])


def test_repeat_pass_needs_a_confident_instance_first():
    # Clean prose with the same phrase: no instance clears the threshold, so
    # the repeat pass has nothing to lift.
    clean = ("The volunteers have been busy since the storm. Roads have been cleared and "
             "schools have been reopened, the mayor told reporters on Monday.")
    assert Restorer().restore(clean).changes == []
    # On the spans themselves: only a table candidate whose original another
    # confident span already restores is lifted, by exactly repeat_bonus.
    r = Restorer()
    doc = r.document("Officials stated one thing, aides acknowledged another, staff noted more.")
    confident = _span(1, ("said",), 5.0, table=True)  # P = 0.993
    near = _span(4, ("said",), 1.5, table=True)  # P = 0.818: under 0.85 alone
    thesaurus = _span(7, ("said",), 1.5, table=False)
    other = _span(9, ("told",), 1.5, table=True)
    spans = [confident, near, thesaurus, other]
    score_spans(spans, 0.0)
    got = r._repeats(doc, spans, [confident], 0.0, 0.85)
    assert [(s.i, s.best.repeats, s.best.logit) for s in got] == [(4, 1, 2.5)]
    # Without the confident instance nothing is lifted.
    assert r._repeats(doc, spans[1:], [], 0.0, 0.85) == []


def test_cached_static_logit_is_the_full_weighted_sum():
    # _candidates leaves out the terms of features that are 0.0 in a cached
    # row; the float must equal bias + sum(weights * features) all the same.
    from operator import mul
    from pathlib import Path

    from unspin.restore import _IS_TABLE, Params

    base = default_restorer()
    texts = [p.read_text(encoding="utf-8")
             for p in sorted((Path(__file__).parents[1] / "examples").glob("*.txt"))]
    # A model with its own weights for table candidates: each row must use
    # its channel's (static and contextual) weights.
    split = replace(base.p, table_weights=tuple(0.5 * w - 0.1 for w in base.p.weights))
    for params in (base.p, Params.untrained(), split):
        r = Restorer(lexicon=base.lex, lm=base.lm, params=params)
        scored = [c for t in texts for s in r.restore(t).spans for c in s.candidates]
        # Each scored candidate's logit is its channel's full weighted sum
        # (term order differs, hence approx): _score reads the row's weights.
        assert any(c.features[_IS_TABLE] for c in scored)
        for c in scored:
            weights = params.channel(bool(c.features[_IS_TABLE]))
            assert c.logit == pytest.approx(params.bias + sum(map(mul, weights, c.features)))
        rows = [row for got in r._cands.values() if got for row in got[0]]
        assert len(rows) > 1000
        for _words, _source, f, static, ctx in rows:
            weights = params.channel(bool(f[_IS_TABLE]))
            assert static == params.bias + sum(map(mul, weights, f))
            # The contextual features, by name: the ones a cached row cannot fix.
            assert ctx == tuple(weights[FEATURES.index(k)] for k in (
                "lm_gain", "article", "in_quote", "obs_logprob", "gain_margin"))


def test_params_round_trip_through_model_json(tmp_path):
    # The shipped model has one weight vector; a per-channel model (train_restore.py
    # --channels) adds table_weights. Both must load back as written.
    import json

    from unspin.restore import Params

    base = Params.load()
    split = replace(base, table_weights=tuple(w + 1.0 for w in base.weights))
    for params in (base, split):
        path = tmp_path / "model.json"
        path.write_text(json.dumps(params.to_json()), encoding="utf-8")
        back = Params.load(path)
        assert back.weights == params.weights
        assert back.table_weights == params.table_weights
        assert back.channel(True) == (params.table_weights or params.weights)
        assert back.channel(False) == params.weights


def test_number_step_reads_the_shared_artefact_weight():
    # With per-channel weights (Params.table_weights) the table channel's a/an
    # weight is fitted to a few table rows; the number step must not borrow it,
    # but it is a table decision, so it keeps the table channel's bonus.
    spun = ("The city marked the a hundred and fiftieth anniversary of its founding this "
            "week. Officials stated the celebrations would proceed till Sunday, and the mayor "
            "instructed reporters that the metropolis had by no means seen such crowds.")
    r = Restorer()
    shipped = r.p
    assert ("a hundred and fiftieth", "150th") in [
        (c.spun, c.restored) for c in r.restore(spun).changes]
    doc = r.document(spun)

    def numbers(**changed: float) -> list[str]:
        table = list(shipped.weights)
        for name, value in changed.items():
            table[FEATURES.index(name)] = value
        r.p = replace(shipped, table_weights=tuple(table))
        # A fixed spin rate: the table weights would move the estimate too.
        return [c.restored for c in r.number_changes(doc, 0.3, shipped.threshold)]

    assert numbers() == ["150th"]
    assert numbers(article=-20.0) == ["150th"]  # not the table channel's a/an weight
    assert numbers(is_table=-20.0) == []  # but the table channel's own bonus


def test_a_table_row_outranks_the_thesaurus_for_the_same_inflected_form():
    # Moby lists "changed" under "modified" itself, so the inflected form used
    # to reach the candidate list as a thesaurus row first and hide the habit
    # modify -> change; the candidate must carry the table's channel.
    from unspin.restore import _IS_TABLE

    r = default_restorer()
    lex = r.lex
    rows = {c[0]: c for c in r._candidates(("modified",))[0]}
    assert rows[("changed",)][1] == "h" and rows[("changed",)][2][_IS_TABLE] == 1.0
    # The same holds for every verb habit in its past and -ing forms: where
    # the habit gives an inflected original, the candidate is a table one.
    checked = 0
    for spun, entry in lex.table_entries("h"):
        if " " in spun or " " in entry.original:
            continue
        for tag in ("VBD", "VBG"):
            observed, original = lex.inflect(spun, tag), lex.inflect(entry.original, tag)
            if not observed or not original or observed == spun:
                continue
            got = r._candidates((observed,))
            row = {c[0]: c for c in got[0]}.get((original,)) if got else None
            if row is not None:
                checked += 1
                assert row[2][_IS_TABLE] == 1.0, (observed, original)
    assert checked > 100


def test_possessives_take_their_base_words_candidates_and_contractions_none():
    # "the nation's" is looked up as "nation" and offered as "country's";
    # "let's", "that's" and "she's" are no possessives and get no such rows.
    r = Restorer()
    rows = r._candidates(("nation's",))
    assert rows and ("country's",) in {c[0] for c in rows[0]}
    for word in ("let's", "that's", "she's"):
        got = r._candidates((word,))
        assert not got or not any(c[0][-1].endswith("'s") for c in got[0]), word


def test_plural_phrases_are_re_inflected_from_tables_only():
    # A table phrase in the plural reaches its original ("financial
    # institutions" -> "banks"); a thesaurus phrase does not ("the hills"
    # has WordNet's "the hill", whose plural would only be noise).
    r = Restorer()
    rows = r._candidates(("financial", "institutions"))
    assert rows and ("banks",) in {c[0] for c in rows[0]}
    assert r._candidates(("the", "hills")) == ()


def test_progress_reports_words_analysed_from_zero_to_all():
    base = default_restorer()
    r = Restorer(lexicon=base.lex, lm=base.lm, params=base.p)
    calls: list[tuple[int, int]] = []
    r.progress = lambda done, n: calls.append((done, n))
    text = "The officer instructed reporters that the bridge would open this 12 months. " * 200
    r.restore(text)
    n = len(r.document(text).words)  # word tokens, numbers included
    assert n > 2000 and {total for _, total in calls} == {n}
    # A tick every thousand words from the first, and one at the end.
    assert [d for d, _ in calls] == [*range(0, n, 1000), n]


def test_long_texts_are_restored_block_by_block(monkeypatch):
    # The analysis of a long text is held block by block (memory); the result
    # is each block's restoration, in place.
    import importlib

    from unspin.render import splice

    restore_module = importlib.import_module("unspin.restore")  # not the function

    base = default_restorer()
    text = "\n\n".join(
        f"Report {k}: the officer instructed reporters that the bridge on route {k} "
        "would open this 12 months, and certainly one of the troopers agreed."
        for k in range(8))
    monkeypatch.setattr(restore_module, "BLOCK_CHARS", 400)
    cuts = restore_module.blocks(text, 400)
    assert len(cuts) > 2 and all(text[b - 2 : b] == "\n\n" for _, b in cuts[:-1])
    r = Restorer(lexicon=base.lex, lm=base.lm, params=base.p)
    calls: list[tuple[int, int]] = []
    r.progress = lambda done, n: calls.append((done, n))
    got = r.restore(text)
    expected = [replace(c, start=c.start + a, end=c.end + a)
                for a, b in cuts for c in base.restore(text[a:b]).changes]
    assert got.changes == expected and len(expected) >= 3 * len(cuts)
    assert got.text == splice(text, expected) and got.spans == []
    assert got.n_words == base.document(text).n_words
    n = len(base.document(text).words)
    assert calls[0] == (0, n) and calls[-1] == (n, n)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_spun_paragraph_on_a_clean_page_is_restored_as_if_alone():
    # The page's low spin rate used to leave the paragraph's swaps unrestored;
    # decoded under its own rate, it gets what it gets standing alone, and
    # the clean page around it is still untouched.
    from pages import SPUN_PARAGRAPH as spun
    from pages import clean_page

    import unspin

    page = clean_page()
    alone = unspin.restore(spun)
    mixed = unspin.restore(page + "\n\n" + spun)
    assert len(alone.changes) >= 10
    assert mixed.text == page + "\n\n" + alone.text
    assert unspin.restore(page).changes == []
