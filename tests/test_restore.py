"""Restore's safeguards for names, checked on the spans themselves.

The data-driven cases (test_cases.py) check whole outputs; a clean sentence
there cannot show that a safeguard works, because its low document prior
already stops every change.
"""

from __future__ import annotations

from unspin.restore import NAME_MIN_GAIN, Restorer, _in_name

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
