"""The parsed-thesaurus cache (same tables as parsing, a bad cache is ignored) and user tables."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from unspin.lexicon import Lexicon, _cache_path, read_table
from unspin.text import InputError

DATA = resources.files("unspin") / "data" / "lexicon.tsv.gz"


def tables(lex: Lexicon) -> tuple:
    return lex._rev, lex._morph, lex._infl, lex._fanout, lex._zipf, lex._phrase_heads


def test_cache_round_trip_and_corrupt_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSPIN_NO_CACHE", "1")
    parsed = Lexicon()
    parsed._load_thesaurus(DATA)

    monkeypatch.delenv("UNSPIN_NO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = Lexicon()
    first._load_thesaurus(DATA)  # parses and writes the cache
    path = _cache_path(DATA.read_bytes())
    assert path is not None and path.is_file()
    second = Lexicon()
    second._load_thesaurus(DATA)  # loads the cache
    assert tables(first) == tables(parsed) == tables(second)
    assert second.max_span == parsed.max_span

    path.write_bytes(b"not marshal data")
    third = Lexicon()
    third._load_thesaurus(DATA)  # falls back to parsing
    assert tables(third) == tables(parsed)


def test_cache_keeps_the_newest_two(tmp_path, monkeypatch):
    # An upgrade brings a new data file and so a new cache; the old ones go.
    import os

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("UNSPIN_NO_CACHE", raising=False)
    folder = tmp_path / "unspin"
    folder.mkdir()
    for age, name in enumerate(["lexicon-a-py311.marshal", "lexicon-b-py311.marshal",
                                "lexicon-c-py312.marshal"]):
        (folder / name).write_bytes(b"old")
        os.utime(folder / name, (1000 + age, 1000 + age))
    (folder / "unrelated.txt").write_text("keep me")
    Lexicon()._load_thesaurus(DATA)
    path = _cache_path(DATA.read_bytes())
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [path.name, "lexicon-c-py312.marshal", "unrelated.txt"])


def test_section_and_line_parsers_agree():
    import gzip

    blob = gzip.decompress(DATA.read_bytes()).decode("utf-8")
    fast, slow = Lexicon(), Lexicon()
    assert fast._load_sections(blob)
    slow._load_lines(blob)
    assert tables(fast)[:5] == tables(slow)[:5]
    # Rows of one kind split in two groups: the fast path declines, nothing loaded.
    lines = blob.rstrip("\n").split("\n")
    mixed = "\n".join([lines[-1], *lines[:-1]]) + "\n"
    odd = Lexicon()
    assert not odd._load_sections(mixed)
    assert not odd._rev


def test_rows_and_readings_match_lookup_and_analyses():
    # restore reads the tuple views; they must say what the Entry API says,
    # in the same order, before and after lookup() has parsed a row, and with
    # an extra table in front.
    lex = Lexicon.default().with_table([("instructed", "told", 0.4), ("got here", "came", 0.9)])
    words = ["instruct", "instructed", "got here", "make", "brand new", "qzxv", "said", "came"]
    for w in words:
        want = [(e.original, e.source, e.channel) for e in lex.lookup(w)]
        assert list(lex.rows(w)) == want, w
        assert list(Lexicon.default().rows(w)) == [
            (e.original, e.source, e.channel) for e in Lexicon.default().lookup(w)
        ]
        assert list(lex.readings(w)) == [(a.lemma, a.tag) for a in lex.analyses(w)], w
    fresh = Lexicon.default().with_table([])
    assert fresh.rows("instruct") and fresh.rows("instruct") is fresh.rows("instruct")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("pps.csv", "tortured_phrase,correct,probability\ncounterfeit consciousness,"
         "artificial intelligence,0.9\n", [("counterfeit consciousness",
                                            "artificial intelligence", 0.9)]),
        ("t.tsv", "spun\toriginal\n12 months\tyear\n", [("12 months", "year", 0.5)]),
        ("t.json", '{"entries": [{"tortured": "profound learning", "expected": "deep '
         'learning", "prob": 1}]}', [("profound learning", "deep learning", 1.0)]),
        ("o.json", '{"got here": "came"}', [("got here", "came", 0.5)]),
        # A spreadsheet's byte-order mark is not part of the first entry.
        ("bom.csv", "\ufeffnewsmen,reporters,0.9\n", [("newsmen", "reporters", 0.9)]),
        ("bom.json", '\ufeff{"got here": "came"}', [("got here", "came", 0.5)]),
    ],
)
def test_read_table_shapes(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert read_table(path) == expected


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.csv", "", "is empty"),
        ("p.csv", "spun,original,prob\nfoo,bar,high\n", "row 2: probability 'high'"),
        ("r.csv", "foo,bar,1.5\n", "not in (0, 1]"),
        ("j.json", '[{"spun": "a", "original": "b", "prob": "x"}]', "entry 1"),
        ("s.json", '"just a string"', "expected a JSON list or object"),
        ("b.json", "[1, 2", "not valid JSON"),
    ],
)
def test_read_table_bad_files_are_one_line_input_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)):
        read_table(path)


@pytest.mark.parametrize("phrase", [
    "dark opening", "versatile organization", "circulatory strain", "blunder rate",
    "coronary illness", "information mining", "malignant growth", "include extraction",
    "insect state", "web of things", "neural organization", "enormous information",
    "sign handling", "organization traffic", "picture handling", "choice tree",
    "interruption location",
])
def test_no_table_row_for_tortured_phrases_that_are_ordinary_english(phrase):
    # These read as plain English in their own sense, and one sentence around
    # them is too little evidence: with a table row, restore changed clean
    # sentences at confidence 0.87-0.99 ("a dark opening in the cave wall" ->
    # "black hole"). Some clean sentences survive a row anyway, so the negative
    # cases alone could not keep such a row out.
    assert [r for r in Lexicon.default().rows(phrase) if r[2] is not None] == []


def test_tortured_phrases_no_clean_text_writes_have_table_rows():
    lex = Lexicon.default()
    for phrase, original in [("profound neural organization", "deep neural network"),
                             ("mean square blunder", "mean square error"),
                             ("calculated relapse", "logistic regression")]:
        assert (original, "h") in [(r[0], r[1]) for r in lex.rows(phrase) if r[2] is not None]


@pytest.mark.parametrize("observed, sibling", [
    ("guilder", "dollar"), ("franc", "pound"), ("billion", "million"),
    ("trillion", "billion"), ("thousand", "million"), ("penny", "cent"), ("east", "west"),
    ("metre", "foot"), ("ounce", "pound"), ("gram", "pound"),
])
def test_closed_class_siblings_are_not_linked(observed, sibling):
    # Moby lists co-hyponyms as synonyms; offered as an original, the more
    # frequent one turns a correct fact into another ("12.9 billion guilders"
    # -> "dollars"). scripts/build_lexicon.py leaves such links out.
    assert sibling not in [e.original for e in Lexicon.default().lookup(observed)]


@pytest.mark.parametrize("observed, synonym", [
    ("dozen", "twelve"), ("score", "record"), ("balance", "remainder"), ("yard", "garden"),
])
def test_synonyms_and_other_senses_of_closed_class_words_stay_linked(observed, synonym):
    assert synonym in [e.original for e in Lexicon.default().lookup(observed)]
