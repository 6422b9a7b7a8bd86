"""Index, trace, group and learn on the project's own prose (corpus/own, CC0).

Spun copies come from a tiny in-test spinner with a stable per-word choice
(one "site"), built on the shipped lexicon, so nothing here needs /work/shared.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import zlib
from functools import cache
from pathlib import Path

import pytest

from unspin.index import (
    KEY_FUNCTION_WORDS,
    Index,
    MemoryStorage,
    SourceDoc,
    immutable_tokens,
    immutables,
    shingles,
)
from unspin.learn import as_table, learn_pairs, learn_site, write_table
from unspin.lexicon import Lexicon, read_table
from unspin.restore import Restorer
from unspin.text import Document, InputError
from unspin.trace import align, group, trace

ROOT = Path(__file__).resolve().parents[1]
OWN = sorted((ROOT / "corpus" / "own").glob("*.txt"))
TEXTS = {p.stem: p.read_text(encoding="utf-8") for p in OWN}
INDEXED = [k for k in TEXTS if k[-1] in "02468"]  # half indexed, half held out
HELD_OUT = [k for k in TEXTS if k not in INDEXED]
_WORD = re.compile(r"(?<![\w’'])[a-z]+(?![\w’'])")


@cache
def _choice(word: str) -> str | None:
    """The site's fixed replacement for ``word`` (a thesaurus neighbour)."""
    lex = Lexicon.default()
    if word in KEY_FUNCTION_WORDS or len(word) < 4 or lex.analyses(word):
        return None
    opts = sorted(
        e.original
        for e in lex.lookup(word)[:30]
        if " " not in e.original and e.original != word and (lex.zipf(e.original) or 0) >= 3.5
    )
    return opts[zlib.crc32(word.encode()) % len(opts)] if opts else None


def spin(text: str, rate: float = 0.3, seed: int = 0) -> tuple[str, list[tuple[str, str]]]:
    """Swap about ``rate`` of the eligible lowercase words; returns (text, [(spun, orig)])."""
    rng = random.Random(seed)
    swaps: list[tuple[str, str]] = []

    def rep(m: re.Match[str]) -> str:
        w = m.group()
        c = _choice(w)
        if c is None or rng.random() > 2 * rate:
            return w
        swaps.append((c, w))
        return c

    return _WORD.sub(rep, text), swaps


@pytest.fixture(scope="module")
def index() -> Index:
    idx = Index(":memory:")
    idx.add((k, TEXTS[k]) for k in INDEXED)
    return idx


def test_spinner_really_spins():
    spun, swaps = spin(TEXTS["02"], seed=1)
    assert len(swaps) >= 40 and spun != TEXTS["02"]


@pytest.mark.parametrize("key", INDEXED[:8])
def test_trace_finds_source_of_spun_copy(index, key):
    spun, _ = spin(TEXTS[key], seed=7)
    r = trace(spun, index)
    assert r.found, r.message
    best = r.matches[0]
    assert best.id == key
    assert best.coverage >= 0.9
    assert best.synonyms > 5  # the thesaurus confirms many of the substitutions
    for s in best.spans:  # offsets point into the copy and the source
        assert 0 <= s.copy_start < s.copy_end <= len(spun)
        assert 0 <= s.source_start < s.source_end <= len(TEXTS[key])


@pytest.mark.parametrize("key", INDEXED[8:14])
def test_trace_finds_source_of_spun_paragraph_excerpt(index, key):
    spun, _ = spin(TEXTS[key], seed=3)
    paras = [p for p in spun.split("\n\n") if len(p.split()) >= 30]
    excerpt = paras[len(paras) // 2]
    r = trace(excerpt, index)
    assert r.found and r.matches[0].id == key, r.message
    assert r.matches[0].source_coverage < 0.6  # an excerpt covers part of the source


@pytest.mark.parametrize("key", HELD_OUT)
def test_unrelated_text_has_no_source(index, key):
    r = trace(TEXTS[key], index)
    assert not r.found
    assert r.message.startswith("no source found")
    spun, _ = spin(TEXTS[key], seed=5)
    assert not trace(spun, index).found


def _paras(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


@pytest.mark.parametrize("key", INDEXED[:4])
def test_a_copy_with_its_paragraphs_reordered_is_traced(index, key):
    paras = _paras(spin(TEXTS[key], seed=4)[0])
    assert len(paras) >= 3
    r = trace("\n\n".join(reversed(paras)), index)
    assert r.found and r.matches[0].id == key, r.message
    assert r.matches[0].coverage >= 0.9


def test_a_digest_of_whole_sources_finds_each_of_them(index):
    # Three whole stories on one page: each explains a third of the copy,
    # but each source is copied whole.
    keys = INDEXED[:3]
    digest = "\n\n".join(spin(TEXTS[k], seed=9)[0] for k in keys)
    r = trace(digest, index, top=5)
    assert sorted(m.id for m in r.matches) == sorted(keys), r.message
    assert all(m.coverage < 0.6 <= m.source_coverage for m in r.matches)
    # The rule itself, apart from the long-passage one these also meet: runs
    # broken by heavy spinning, but most of the source there.
    from dataclasses import replace

    al = replace(align(digest, TEXTS[keys[0]]), longest=20)
    assert al.verified()
    assert not replace(al, source_coverage=0.5).verified()


def test_a_passage_lifted_into_other_text_is_traced(index):
    source = INDEXED[5]
    passage = max(_paras(spin(TEXTS[source], seed=2)[0]), key=len)
    around = _paras(TEXTS[HELD_OUT[0]]) + _paras(TEXTS[HELD_OUT[1]])
    page = "\n\n".join(around[:3] + [passage] + around[3:8])
    al = align(page, TEXTS[source])
    assert al.coverage < 0.6 and al.source_coverage < 0.6 and al.longest >= 40
    r = trace(page, index)
    assert r.found and r.matches[0].id == source, r.message


def test_a_near_miss_is_named_when_no_source_is_found(index):
    # Thirty words of a source and as many of unrelated text: half explained.
    copied = " ".join(TEXTS[INDEXED[0]].split()[:30])
    r = trace(copied + " " + " ".join(TEXTS[HELD_OUT[2]].split()[:35]), index)
    assert not r.found and r.near_miss is not None
    assert r.near_miss.id == INDEXED[0] and r.near_miss.coverage < 0.6
    assert f"closest {INDEXED[0]}" in r.message
    assert r.to_dict()["near_miss"]["id"] == INDEXED[0]


def test_a_story_with_more_copies_than_the_key_cut_off_is_still_found():
    # Keys in more than MIN_MAX_DF documents are skipped as stock phrases;
    # 60 reprints of one story must not make that story the one never found.
    idx = Index(storage=MemoryStorage())
    idx.add([(f"reprint{i}", TEXTS["03"]) for i in range(60)] + [("other", TEXTS["11"])])
    r = trace(spin(TEXTS["03"], seed=1)[0], idx)
    assert r.found and r.matches[0].id.startswith("reprint"), r.message
    assert trace(TEXTS["11"], idx).matches[0].id == "other"


def test_align_spans_and_substitutions():
    a = align("The mayor instructed reporters in Leeds on Monday.",
              "The mayor told reporters in Leeds on Monday.")
    assert a.coverage == 1.0 and a.pairs() == [("instructed", "told")]
    assert len(a.spans) == 1


def test_readd_is_idempotent_and_update_replaces_keys(tmp_path):
    path = tmp_path / "idx.db"
    docs = [(k, TEXTS[k]) for k in INDEXED[:6]]
    with Index(path) as idx:
        first = idx.add(docs)
        stats1 = idx.stats()
        again = idx.add(docs)
        assert (first.added, again.added, again.unchanged) == (6, 0, 6)
        assert idx.stats()["postings"] == stats1["postings"]
        assert idx.stats()["docs"] == 6
        # Same id, new text: replaced, not duplicated, old keys gone.
        new_text = TEXTS[HELD_OUT[0]]
        upd = idx.add([(INDEXED[0], new_text)])
        assert (upd.added, upd.updated) == (0, 1)
        assert idx.stats()["docs"] == 6
        assert trace(new_text, idx).matches[0].id == INDEXED[0]
        assert not trace(TEXTS[INDEXED[0]], idx).found
    # Reopening sees the same content.
    with Index(path) as idx:
        assert idx.stats()["docs"] == 6


def _consistent(path: Path) -> None:
    """Every posting names a stored (or replaced) document, every document has postings."""
    from unspin.index import SQLiteStorage, _unpack

    st = SQLiteStorage(path)
    docs = {r[0] for r in st.db.execute("SELECT rowid FROM docs")}
    dead = {r[0] for r in st.db.execute("SELECT rowid FROM dead")}
    posted: set[int] = set()
    n = 0
    for keys_b, docs_b in st.db.execute("SELECT keys, docs FROM inv"):
        keys, ids = _unpack("q", keys_b), _unpack("I", docs_b)
        assert len(keys) == len(ids) and list(keys) == sorted(keys)
        posted.update(ids)
        n += len(ids)
    assert n == st.counts()["postings"]
    st.close()
    assert posted - dead == docs


def test_crash_mid_add_keeps_committed_batches_and_rerun_completes(tmp_path):
    path = tmp_path / "idx.db"
    keys = INDEXED[:7]

    def crashing():
        for n, k in enumerate(keys):
            if n == 5:  # inside the third batch of two
                raise RuntimeError("power cut")
            yield SourceDoc(k, TEXTS[k])

    with Index(path) as idx, pytest.raises(RuntimeError):
        idx.add(crashing(), batch=2)
    _consistent(path)
    with Index(path) as idx:
        assert idx.stats()["docs"] == 4  # two committed batches, the third rolled back
        report = idx.add([(k, TEXTS[k]) for k in keys], batch=2)
        assert (report.added, report.unchanged) == (3, 4)
        assert idx.stats()["docs"] == 7
    _consistent(path)


def test_segments_merge_and_replaced_documents_drop_out(tmp_path):
    from unspin.index import MERGE_FANOUT

    path = tmp_path / "idx.db"
    keys = INDEXED[: MERGE_FANOUT + 2]
    with Index(path) as idx:
        for k in keys:  # one segment per add: the 8th add merges them into one
            idx.add([(k, TEXTS[k])])
        assert idx.stats()["segments"] < MERGE_FANOUT
        # Replace one document: the old rowid is dead, its postings no longer vote.
        idx.add([(keys[0], TEXTS[HELD_OUT[0]])])
        assert trace(TEXTS[HELD_OUT[0]], idx).matches[0].id == keys[0]
        assert not trace(TEXTS[keys[0]], idx).found
        for k in keys[1:]:
            spun, _ = spin(TEXTS[k], seed=3)
            assert trace(spun, idx).matches[0].id == k
        before = idx.stats()["postings"]
        for k in INDEXED[len(keys) : len(keys) + MERGE_FANOUT]:  # more merges
            idx.add([(k, TEXTS[k])])
        assert idx.stats()["segments"] < MERGE_FANOUT
        assert idx.stats()["postings"] > before
    _consistent(path)


def test_corrupt_or_foreign_index_is_one_line_input_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all\n" * 10)
    with pytest.raises(InputError, match="not an SQLite file"):
        Index(junk)
    with pytest.raises(InputError, match="folder .* does not exist"):  # its folder does not exist
        Index(tmp_path / "no" / "such" / "folder" / "i.db")
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(InputError, match="not an unspin index"):
        Index(foreign)
    torn = tmp_path / "torn.db"
    with Index(torn) as idx:
        idx.add([(k, TEXTS[k]) for k in INDEXED[:3]])
    data = bytearray(torn.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # scribble over the schema page
    torn.write_bytes(bytes(data))
    with pytest.raises(InputError) as e:
        Index(torn)
    assert "\n" not in str(e.value)
    old = tmp_path / "old.db"
    with Index(old) as idx:
        idx.storage.set_meta("version", "0")
    with pytest.raises(InputError, match="version 0"):
        Index(old)
    # A version-2 file (postings as (key, doc) rows, no segments): the rebuild hint.
    v2 = tmp_path / "v2.db"
    db = sqlite3.connect(v2)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT, hash TEXT, text TEXT);"
        "CREATE TABLE postings (key INTEGER, doc INTEGER, PRIMARY KEY (key, doc)) WITHOUT ROWID;"
        "INSERT INTO meta VALUES ('schema', 'unspin-index'), ('version', '2');"
        "INSERT INTO docs VALUES (1, 'a', 'h', 'text');"
    )
    db.commit()
    db.close()
    with pytest.raises(InputError, match="version 2.*rebuild"):
        Index(v2)


def test_memory_storage_backend_behaves_like_sqlite():
    idx = Index(storage=MemoryStorage())
    assert idx.add([(k, TEXTS[k]) for k in INDEXED[:4]]).added == 4
    assert idx.add([(k, TEXTS[k]) for k in INDEXED[:4]]).unchanged == 4
    spun, _ = spin(TEXTS[INDEXED[2]], seed=2)
    assert trace(spun, idx).matches[0].id == INDEXED[2]


def test_group_clusters_copies_of_one_source():
    a, _ = spin(TEXTS["03"], seed=1)
    b, _ = spin(TEXTS["03"], seed=2, rate=0.2)
    docs = [("a", a), ("b", b), ("src", TEXTS["03"]), ("other", TEXTS["11"])]
    ticks: list[int] = []
    clusters = group(docs, progress=ticks.append)
    assert ticks == [1] * len(docs)  # one tick per document traced
    assert sorted(clusters[0].members) == ["a", "b", "src"]
    assert ["other"] in [c.members for c in clusters]
    assert clusters[0].fingerprint  # the swaps the copies share with each other/the source


def test_group_fingerprint_does_not_depend_on_how_ids_sort():
    # An excerpt traces to its source, not the other way round: the pair's
    # substitutions must count whichever of the two ids sorts first.
    copy, _ = spin(TEXTS["03"], seed=1)
    excerpt = "\n\n".join([p for p in copy.split("\n\n") if p.strip()][:2])
    fps = []
    for first, second in (("a_excerpt", "b_source"), ("z_excerpt", "b_source")):
        clusters = group([(first, excerpt), (second, TEXTS["03"])])
        assert sorted(clusters[0].members) == sorted([first, second])
        fps.append(clusters[0].fingerprint)
    assert fps[0] and fps[0] == fps[1]


def test_a_digest_of_several_stories_does_not_chain_their_clusters():
    a, b = TEXTS["03"], TEXTS["11"]
    docs = [("a1", spin(a, seed=1)[0]), ("a2", spin(a, seed=2)[0]),
            ("b1", spin(b, seed=1)[0]), ("b2", spin(b, seed=2)[0]),
            ("digest", spin(a, seed=3)[0] + "\n\n" + spin(b, seed=3)[0])]
    clusters = {tuple(sorted(c.members)): c for c in group(docs)}
    assert set(clusters) == {("a1", "a2"), ("b1", "b2"), ("digest",)}
    assert sorted(clusters["digest",].holds) == ["a1", "b1"]


def test_group_aligns_reprints_of_one_story_once_each_not_pairwise(monkeypatch):
    import importlib

    t = importlib.import_module("unspin.trace")  # the package's trace is the function
    calls = []
    real = t.align
    monkeypatch.setattr(t, "align", lambda *a: calls.append(1) or real(*a))
    docs = [(f"c{k:02d}", spin(TEXTS["03"], seed=k, rate=0.1)[0]) for k in range(30)]
    (cluster,) = group(docs)
    assert len(cluster.members) == 30
    assert len(calls) < 3 * 30  # not 30 * 29 / 2 = 435 pairs


def test_a_source_and_its_excerpts_stay_one_cluster():
    # The source holds both excerpts in different places, like a digest, but
    # they are parts of one story: no cluster of copies besides its own.
    # Even when one excerpt was copied twice: the story has full copies, and
    # a full copy is one more copy, not a digest of its excerpts.
    paras = _paras(TEXTS["03"])
    head = paras[0] + "\n\n" + paras[1]
    docs = [("src", TEXTS["03"]), ("first", spin(head, seed=1)[0]),
            ("first_again", spin(head, seed=4)[0]),
            ("last", spin(paras[-2] + "\n\n" + paras[-1], seed=2)[0]),
            ("copy", spin(TEXTS["03"], seed=3)[0])]
    clusters = group(docs)
    assert sorted(clusters[0].members) == ["copy", "first", "first_again", "last", "src"]
    assert not clusters[0].holds


def test_learned_table_fixes_swaps_restore_missed():
    pairs = [(spin(TEXTS[k], seed=i)[0], TEXTS[k]) for i, k in enumerate(INDEXED[:8])]
    learned = learn_pairs(pairs)
    assert learned and all(0 < e.prob <= 1 for e in learned)
    copy, swaps = spin(TEXTS[HELD_OUT[3]], seed=99)
    truth = set(swaps)

    def fixed(r) -> set[tuple[str, str]]:
        return {(c.spun.lower(), c.restored.lower()) for c in r.changes} & truth

    before = fixed(Restorer().restore(copy))
    after = fixed(Restorer(lexicon=Lexicon.default().with_table(as_table(learned))).restore(copy))
    assert len(after - before) >= 3, (before, after)


def test_learned_table_file_is_readable_by_read_table(tmp_path):
    learned = learn_pairs([("Police instructed CNN on Monday in Leeds.",
                            "Police told CNN on Monday in Leeds.")])
    path = tmp_path / "t.tsv"
    write_table(learned, path)
    assert read_table(path) == [("instructed", "told", 1.0)]


@cache
def _site() -> tuple[list[str], set[tuple[str, str]]]:
    """The indexed texts spun by the test site, and its (spun, original) pairs."""
    texts, truth = [], set()
    for i, k in enumerate(INDEXED):
        text, swaps = spin(TEXTS[k], seed=i)
        texts.append(text)
        truth |= set(swaps)
    return texts, truth


def test_learn_site_entries_are_mostly_the_sites_own():
    # Context fit separates spun words from the site's topic words; frequency
    # shift alone got 17 of 500 entries right here.
    site, truth = _site()
    entries = learn_site(site, [TEXTS[k] for k in HELD_OUT])
    assert entries and all(0 < e.prob <= 1 and e.spun != e.original for e in entries)
    right = [e for e in entries if (e.spun, e.original) in truth]
    assert len(right) >= 15 and len(right) >= 0.6 * len(entries), (len(right), len(entries))
    precise = learn_site(site, [TEXTS[k] for k in HELD_OUT], precise=True)
    assert len(precise) <= len(entries)
    assert len({e.spun for e in precise}) == len(precise)  # one original per spun word
    assert sum((e.spun, e.original) in truth for e in precise) >= 0.7 * len(precise)


def test_learn_site_table_helps_restore_and_spares_clean_text():
    site, truth = _site()
    table = as_table(learn_site(site, [TEXTS[k] for k in HELD_OUT]))
    restorer = Restorer(lexicon=Lexicon.default().with_table(table))
    fixed_before = fixed_after = 0
    for n, k in enumerate(HELD_OUT[:6]):
        copy, swaps = spin(TEXTS[k], seed=100 + n)
        pairs = set(swaps)
        for r, before in ((restorer, False), (Restorer(), True)):
            got = {(c.spun.lower(), c.restored.lower()) for c in r.restore(copy).changes}
            if before:
                fixed_before += len(got & pairs)
            else:
                fixed_after += len(got & pairs)
        assert not restorer.restore(TEXTS[k]).changes  # the clean text stays as it is
    assert fixed_after > fixed_before, (fixed_before, fixed_after)


# ------------------------------------------------------------------------ keys


TRICKY = [
    "date 2024-01-02 Didn't he say? “No.” Won't stop. Five of the 12 Acme staff can't go.",
    "The U.S. economy grew 2.5% in the 3rd quarter.\nSaid the man: 'It’s Bob’s.'",
    "  Ten...eleven! O’Brien wasn’t there_at all; Café Zoë 1,000,000 twelve",
    # Chunk edge cases (the key path cuts at whitespace): token-less chunks
    # between a break and a name, breaks glued to words, tabs, no-break spaces.
    "He left . — Smith said. \"Jones\" stayed -- Brown left.\tWhite\u00a0Green (AP) 3.\n5 x",
    "Monday.The U.N.-backed plan: 2,000/3rd 'Not' now!?Yes\n\n\nNo  ...  Mr   Smith “Well” ok",
    "date 2024-01-02\nThe end. - - And Bob",
]


@pytest.mark.parametrize("text", TRICKY + list(TEXTS.values())[:10])
def test_fast_key_tokens_equal_document_definition(text):
    from unspin.index import _immutable_ids, _token_id

    assert immutable_tokens(text) == immutables(Document.from_text(text))
    # The ids the keys are made of are assembled alongside the strings.
    assert _immutable_ids(text) == [_token_id(t) for t in immutable_tokens(text)]


def test_shingle_keys_are_stable_on_disk_format():
    # These values are in every index built since SCHEMA_VERSION 2: if they
    # change, old indexes silently stop matching (bump the version instead).
    assert shingles(["of", "the", "12", "acme"], 4, "i") == {-3203935800505379268}
    assert shingles(["of", "the"], 4, "i") == {2332329886905774432}
    assert shingles(["a", "b", "c"], 3, "c") == {-5934386873081969050}
    assert len(shingles(["a", "b", "c", "d", "a", "b", "c", "d"], 4, "i")) == 4


def test_batch_sort_falls_back_when_floats_tie_on_different_keys():
    # Keys equal in their top 53 bits tie as floats and keep input order; the
    # packed-key check must catch the swapped pair and sort exactly.
    from unspin.index import _HALF, _posting_blobs, _sorted_blobs

    b = 12345 << 20
    postings = [(b + 1 + _HALF) << 32 | 1, (b + _HALF) << 32 | 2, (b - 9 + _HALF) << 32 | 3]
    assert float(postings[0]) == float(postings[1])  # the case under test
    expect = _posting_blobs(sorted(postings))
    assert _sorted_blobs(postings) == expect
    assert postings == sorted(postings)


def test_whole_document_shingle_arithmetic_equals_the_definition():
    # _shingle_slots (all shingles in one big int) must give the keys of
    # _shingle_ids (one shingle at a time) for any ids, lengths and kinds,
    # including extreme ids, whose products use all 128 bits.
    import random

    from unspin.index import _immutable_ids, _shingle_ids, _shingle_slots, _slots

    rng = random.Random(5)
    extremes = [0, 1, (1 << 64) - 1, 1 << 63]
    for size in range(12):
        for trial in range(30):
            ids = [rng.choice(extremes) if trial % 3 == 0 else rng.getrandbits(64)
                   for _ in range(size)]
            for n, kind in ((4, "i"), (3, "c")):
                assert _shingle_slots(_slots(ids), n, kind) == _shingle_ids(ids, n, kind)
    for text in TRICKY + list(TEXTS.values())[:10]:
        ids = _immutable_ids(text)
        assert _shingle_slots(_slots(ids), 4, "i") == _shingle_ids(ids, 4, "i")


# ------------------------------------------------------------------------ CLI


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unspin.cli", *args], input=stdin, capture_output=True, timeout=120
    )


def test_cli_index_add_keeps_good_documents_and_reports_bad_ones(tmp_path):
    # Batch rule: bad files and records are reported, the good ones indexed,
    # and the exit code says something was skipped.
    src_dir = tmp_path / "sources"
    src_dir.mkdir()
    (src_dir / "a.txt").write_text(TEXTS[INDEXED[0]], encoding="utf-8")
    (src_dir / "empty.txt").write_bytes(b"")
    (src_dir / "latin1.txt").write_bytes("café société".encode("latin-1"))
    (src_dir / "b.jsonl").write_text(  # with a BOM, which is the file's, not line 1's
        "\ufeff" + json.dumps({"id": "j1", "text": TEXTS[INDEXED[1]]}) + "\n{not json\n"
        + json.dumps({"id": "j3"}) + "\n" + json.dumps({"id": "j4", "text": TEXTS[INDEXED[2]]})
        + "\n" + '{"id": "j5", "text": "the council \\ud800 said"}\n'
        + json.dumps({"id": "j6", "text": "binary\u0000" * 20}) + "\n"
        # Real documents carry a Word line break or a C1 quote now and then.
        + json.dumps({"id": "j7", "text": TEXTS[INDEXED[3]] + "\u000b\u0093x\u0094"}) + "\n",
        encoding="utf-8")
    db = str(tmp_path / "idx.db")
    p = run("index", "add", str(src_dir), "--index", db)
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "4 added" in err and "6 inputs or records were skipped" in err
    for what in ("b.jsonl: line 2: invalid record", "b.jsonl: line 3: invalid record",
                 "b.jsonl: record 5 (id j5): not storable",
                 "b.jsonl: record 6 (id j6): not storable",
                 "empty.txt: empty document", "latin1.txt: document is not valid UTF-8"):
        assert what in err, what
    assert all(line.startswith("unspin: ") for line in err.splitlines())  # no traceback
    p = run("index", "stats", "--index", db, "--format", "json")
    assert json.loads(p.stdout)["docs"] == 4


def test_cli_index_add_reads_what_scan_reads(tmp_path):
    # One set of readers for both commands: a folder's gzipped JSONL (title
    # kept) and HTML page are indexed, not silently passed over.
    import gzip

    src_dir = tmp_path / "sources"
    src_dir.mkdir()
    with gzip.open(src_dir / "feed.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "g1", "text": TEXTS[INDEXED[0]], "title": "Gz"}) + "\n")
    paras = "".join(f"<p>{p}</p>" for p in TEXTS[INDEXED[1]].split("\n\n"))
    (src_dir / "page.html").write_text(
        f"<html><head><script>var x = 1;</script></head><body>{paras}</body></html>",
        encoding="utf-8")
    db = str(tmp_path / "idx.db")
    p = run("index", "add", str(src_dir), "--index", db)
    assert p.returncode == 0, p.stderr
    assert b"2 added" in p.stderr
    copy = tmp_path / "copy.txt"
    copy.write_text(spin(TEXTS[INDEXED[0]], seed=3)[0], encoding="utf-8")
    p = run("trace", str(copy), "--index", db, "--format", "json")
    top = json.loads(p.stdout)["matches"][0]
    assert (top["id"], top["title"]) == ("g1", "Gz")
    copy.write_text(spin(TEXTS[INDEXED[1]], seed=3)[0], encoding="utf-8")
    p = run("trace", str(copy), "--index", db, "--format", "json")
    assert json.loads(p.stdout)["matches"][0]["id"].endswith("page.html")


def test_cli_index_trace_learn_round_trip(tmp_path):
    src_dir = tmp_path / "sources"
    src_dir.mkdir()
    for k in INDEXED[:6]:
        (src_dir / f"{k}.txt").write_text(TEXTS[k], encoding="utf-8")
    extra = tmp_path / "more.jsonl"
    extra.write_text(
        json.dumps({"id": "j1", "text": TEXTS[INDEXED[6]], "title": "T", "date": "2024-01-01"})
        + "\n",
        encoding="utf-8",
    )
    db = str(tmp_path / "idx.db")
    p = run("index", "add", str(src_dir), str(extra), "--index", db)
    assert p.returncode == 0, p.stderr
    assert b"7 added" in p.stderr
    p = run("index", "add", str(src_dir), "--index", db)
    assert p.returncode == 0 and b"6 unchanged" in p.stderr
    p = run("index", "stats", "--index", db, "--format", "json")
    assert p.returncode == 0 and json.loads(p.stdout)["docs"] == 7

    spun, _ = spin(TEXTS[INDEXED[6]], seed=4)
    copy = tmp_path / "copy.txt"
    copy.write_text(spun, encoding="utf-8")
    p = run("trace", str(copy), "--index", db, "--format", "json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["found"] and out["matches"][0]["id"] == "j1"
    assert out["matches"][0]["title"] == "T"
    p = run("trace", "-", "--index", db, stdin=TEXTS[HELD_OUT[1]].encode())
    assert p.returncode == 0 and p.stdout.startswith(b"no source found")

    table = tmp_path / "learned.tsv"
    p = run("learn", "--copy", str(copy), "--source", str(src_dir / "..") , "--out", str(table))
    assert p.returncode == 1 and p.stderr.count(b"\n") == 1  # a folder is no source text
    source = tmp_path / "source.txt"
    source.write_text(TEXTS[INDEXED[6]], encoding="utf-8")
    p = run("learn", "--copy", str(copy), "--source", str(source), "--out", str(table))
    assert p.returncode == 0, p.stderr
    assert table.read_text(encoding="utf-8").startswith("spun\toriginal\tprob")
    p = run("restore", "--lexicon", str(table), "--format", "json", str(copy))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["changes"]

    p = run("group", str(copy), str(source), str(src_dir / f"{INDEXED[0]}.txt"), "--format",
            "json")
    assert p.returncode == 0, p.stderr
    assert sorted(json.loads(p.stdout)[0]["members"]) == sorted([str(copy), str(source)])


def test_cli_bad_inputs_exit_nonzero_with_one_line(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00\x01garbage" * 50)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for args in (
        ("trace", str(ROOT / "README.md"), "--index", str(junk)),
        ("trace", str(ROOT / "README.md"), "--index", str(tmp_path / "missing.db")),
        ("trace", str(ROOT / "README.md"), "--index", str(empty)),
        ("index", "stats", "--index", str(empty)),
        ("index", "add", str(tmp_path / "nope"), "--index", str(tmp_path / "i.db")),
    ):
        p = run(*args)
        assert p.returncode == 1, (args, p.stderr)
        assert p.stderr.startswith(b"unspin: error: ") and p.stderr.count(b"\n") == 1
    # A read-only command must not turn an empty file into an index.
    assert empty.read_bytes() == b"" and not (tmp_path / "i.db").exists()
    # Options that do not go together are a usage error, as argparse's are.
    p = run("learn", "--copy", str(ROOT / "README.md"))
    assert p.returncode == 2 and p.stderr.count(b"\n") == 1, p.stderr


def test_cli_index_add_names_each_text_from_standard_input_by_its_content(tmp_path):
    db = str(tmp_path / "i.db")
    for key in (INDEXED[0], INDEXED[1], INDEXED[1]):  # the second add must not replace the first
        assert run("index", "add", "-", "--index", db, stdin=TEXTS[key].encode()).returncode == 0
    p = run("index", "stats", "--index", db, "--format", "json")
    assert json.loads(p.stdout)["docs"] == 2


def test_cli_group_tells_records_of_two_files_with_the_same_ids_apart(tmp_path):
    for name, keys in (("a", HELD_OUT[:2]), ("b", HELD_OUT[2:4])):  # four unrelated stories
        rows = [json.dumps({"id": str(k + 1), "text": TEXTS[key]}) for k, key in enumerate(keys)]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    p = run("group", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--format", "json")
    assert p.returncode == 0, p.stderr
    members = sorted(m for c in json.loads(p.stdout) for m in c["members"])
    assert members == sorted(f"{tmp_path / f}.jsonl#{i}" for f in "ab" for i in "12")
    assert all(len(c["members"]) == 1 for c in json.loads(p.stdout))


def test_cli_index_add_warns_of_documents_trace_can_never_find(tmp_path):
    (tmp_path / "zh.txt").write_text("这是一篇关于城市新桥的中文新闻报道。", encoding="utf-8")
    (tmp_path / "en.txt").write_text(TEXTS[INDEXED[0]], encoding="utf-8")
    p = run("index", "add", str(tmp_path), "--index", str(tmp_path / "i.db"))
    assert p.returncode == 0
    err = p.stderr.decode()
    assert "warning: 1 document(s) have no words trace can match" in err
    assert err.splitlines()[0].endswith("zh.txt") and "2 added" in err


def test_cli_index_kept_in_the_folder_it_indexes_is_not_read_as_a_document(tmp_path):
    (tmp_path / "a.txt").write_text(TEXTS[INDEXED[0]], encoding="utf-8")
    db = tmp_path / "news"  # no suffix: a walked folder reads such files
    for _ in range(2):
        p = run("index", "add", str(tmp_path), "--index", str(db))
        assert p.returncode == 0 and b"skipped" not in p.stderr, p.stderr
    assert json.loads(run("index", "stats", "--index", str(db), "--format", "json").stdout
                      )["docs"] == 1


def test_trace_says_what_to_pass_and_when_the_index_is_empty(tmp_path):
    with pytest.raises(TypeError, match=r"needs an Index, not str: open one with unspin.Index"):
        trace(TEXTS[INDEXED[0]], str(tmp_path / "i.db"))
    with pytest.raises(InputError, match="holds no documents"):
        trace(TEXTS[INDEXED[0]], Index(":memory:"))
    db = str(tmp_path / "empty.db")
    Index(db).close()
    (tmp_path / "a.txt").write_text(TEXTS[INDEXED[0]], encoding="utf-8")
    for args in (("trace", str(tmp_path / "a.txt")), ("scan", str(tmp_path / "a.txt"),
                                                       "--out", str(tmp_path / "o.jsonl"))):
        p = run(*args, "--index", db)
        assert p.returncode == 1 and p.stderr.endswith(b"holds no documents: add some with "
                                                       b"unspin index add\n"), p.stderr


def test_cli_learn_min_count_keeps_only_repeated_substitutions(tmp_path):
    copy, source = tmp_path / "copy.txt", tmp_path / "source.txt"
    copy.write_text(spin(TEXTS["03"], seed=1)[0], encoding="utf-8")
    source.write_text(TEXTS["03"], encoding="utf-8")
    rows = {}
    for n in ("1", "2"):
        p = run("learn", "--copy", str(copy), "--source", str(source), "--min-count", n)
        assert p.returncode == 0, p.stderr
        rows[n] = [line.split("\t") for line in p.stdout.decode().splitlines()[1:]]
    assert rows["2"] and len(rows["2"]) < len(rows["1"])
    assert all(int(r[3]) >= 2 for r in rows["2"])


def test_cli_learn_warns_when_copy_and_source_look_swapped(tmp_path):
    original = ROOT / "examples" / "clean_news.txt"
    spun = ROOT / "examples" / "spun_news.txt"
    p = run("learn", "--copy", str(original), "--source", str(spun))
    assert b"are --copy and --source the right way round?" in p.stderr
    p = run("learn", "--copy", str(spun), "--source", str(original))
    assert p.returncode == 0 and b"right way round" not in p.stderr


def test_cli_batches_report_a_missing_input_and_keep_the_rest(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text(TEXTS[INDEXED[0]], encoding="utf-8")
    db = tmp_path / "i.db"
    p = run("index", "add", str(src), str(tmp_path / "nope.txt"), "-", "--index", str(db),
            stdin=TEXTS[INDEXED[1]].encode())
    assert p.returncode == 1
    assert b"2 added" in p.stderr and b"nope.txt" in p.stderr
    p = run("group", str(src), str(tmp_path / "nope.txt"), "-", "--format", "json",
            stdin=TEXTS[INDEXED[0]].encode())
    assert p.returncode == 1 and b"nope.txt" in p.stderr
    members = json.loads(p.stdout)[0]["members"]
    assert len(members) == 2 and str(src) in members
    assert [m for m in members if m != str(src)][0].startswith("stdin:")
    p = run("index", "add", str(src), "--classes", "--index", str(db))
    assert p.returncode == 1 and b"without synonym classes" in p.stderr


def test_excluded_document_does_not_set_the_relative_floor():
    # The query itself is indexed and excluded; a document holding a third of
    # it scores far below the query's own entry but is still a valid match.
    text = TEXTS["03"]
    paras = [p for p in text.split("\n\n") if p.strip()]
    part = "\n\n".join(paras[: len(paras) // 3])
    index = Index(storage=MemoryStorage())
    index.add([SourceDoc("self", text), SourceDoc("part", part), SourceDoc("other", TEXTS["11"])])
    result = trace(text, index, exclude=["self"], threshold=0.2)
    assert [m.id for m in result.matches] == ["part"]


def test_cli_learn_names_a_pair_that_does_not_align_and_learns_from_the_rest(tmp_path):
    copy, source, other = tmp_path / "copy.txt", tmp_path / "source.txt", tmp_path / "other.txt"
    copy.write_text(spin(TEXTS["03"], seed=1)[0], encoding="utf-8")
    source.write_text(TEXTS["03"], encoding="utf-8")
    other.write_text(TEXTS["11"], encoding="utf-8")
    p = run("learn", "--copy", str(copy), "--source", str(source),
            "--copy", str(other), "--source", str(source))
    assert p.returncode == 1 and p.stdout.startswith(b"spun\toriginal")
    assert f"skipped: {other} and {source}: their alignment explains".encode() in p.stderr
    p = run("learn", "--copy", str(other), "--source", str(source))
    assert p.returncode == 1
    assert p.stderr.endswith(b"nothing learned: no pair aligns as a copy and its source\n")


def test_learned_pairs_around_numbers():
    # A number against a word is one phrase swap ("12 months" for "year");
    # a figure against a figure is the news changing, and its neighbours
    # are still word-for-word swaps.
    base = ("The council said on Monday in Leeds that {n} {w} had been sent to the "
            "old bridge, which would open {y} after repairs to the road.")
    pairs = [(base.format(n=n, w="troopers", y="this 12 months"),
              base.format(n=12, w="soldiers", y="this year")) for n in (15, 16, 17)]
    learned = {(e.spun, e.original): e.count for e in learn_pairs(pairs)}
    assert learned == {("troopers", "soldiers"): 3, ("12 months", "year"): 3}


def test_cli_learn_out_dash_is_standard_output(tmp_path):
    source = tmp_path / "source.txt"
    source.write_text(TEXTS[INDEXED[2]], encoding="utf-8")
    copy = tmp_path / "copy.txt"
    copy.write_text(spin(TEXTS[INDEXED[2]], seed=5)[0], encoding="utf-8")
    p = run("learn", "--copy", str(copy), "--source", str(source), "--out", "-")
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().startswith("spun\toriginal\tprob")
    assert not (tmp_path / "-").exists() and not os.path.exists("-")


def test_cli_an_index_damaged_inside_is_a_one_line_error(tmp_path):
    # The header and schema read fine, so the file opens; a data page is
    # scribbled over, which only a query finds.
    db = tmp_path / "idx.db"
    with Index(db) as idx:
        idx.add([(k, TEXTS[k]) for k in INDEXED])
    data = bytearray(db.read_bytes())
    assert len(data) > 5 * 8192
    data[3 * 8192 : 5 * 8192] = b"\xff" * (2 * 8192)
    db.write_bytes(bytes(data))
    spun = tmp_path / "spun.txt"
    spun.write_text(TEXTS[INDEXED[0]], encoding="utf-8")
    p = run("trace", str(spun), "--index", str(db))
    err = p.stderr.decode()
    assert p.returncode == 1 and "damaged" in err and len(err.strip().splitlines()) == 1, err


def test_an_index_on_read_only_storage_can_be_searched_not_written(tmp_path):
    # A read-only bind mount (needs root and unshare; skipped elsewhere).
    import shutil

    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "idx.db"
    with Index(db) as idx:
        idx.add([(k, TEXTS[k]) for k in INDEXED[:3]])
    spun = tmp_path / "spun.txt"
    spun.write_text(TEXTS[INDEXED[0]], encoding="utf-8")
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    cli = f"{sys.executable} -m unspin.cli"
    script = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} {folder} "
              f"|| exit 99; {cli} trace {spun} --index {db} --format json; echo \"rc=$?\"; "
              f"{cli} index add {spun} --index {db}; echo \"rc=$?\"; "
              f"{cli} index add {spun} --index {folder}/new.db; echo \"rc=$?\"")
    p = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, timeout=120)
    if p.returncode == 99 or b"rc=" not in p.stdout:
        pytest.skip("cannot make a read-only mount here")
    out, err = p.stdout.decode(), p.stderr.decode()
    assert json.loads(out.split("rc=")[0])["matches"][0]["id"] == INDEXED[0]
    assert out.count("rc=0") == 1 and out.count("rc=1") == 2
    assert "read-only storage" in err and "Traceback" not in err
    assert f"folder {folder} is not writable" in err  # a new index there


def test_an_index_in_a_missing_folder_says_so(tmp_path):
    where = tmp_path / "nope" / "x.db"
    p = run("index", "add", str(ROOT / "examples"), "--index", str(where))
    assert p.returncode == 1
    assert p.stderr.decode() == (f"unspin: error: cannot create index {where}: "
                                 f"folder {where.parent} does not exist\n")
