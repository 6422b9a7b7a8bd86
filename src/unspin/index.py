"""A source index whose keys survive synonym swaps.

A spinner swaps content words but keeps the "immutables": function words,
proper nouns, numbers and dates (DSpin, NDSS 2014). Word n-gram shingles (what
MinHash near-duplicate detection uses) die when 15-35 % of words change, but
shingles over the immutable-token sequence of a document do not, so they make
good retrieval keys. Optionally, shingles over synonym-class ids of the content
words add keys that survive a swap inside the class.

Storage is pluggable, as in datasketch: :class:`Index` computes keys and talks
to a :class:`Storage` (``MemoryStorage`` for throw-away use such as
:func:`unspin.trace.group`, ``SQLiteStorage`` as the default on-disk backend).

>>> immutables(Document.from_text("Officials said five of the 12 Acme staff didn't go."))
['5', 'of', 'the', '12', 'acme', 'did', 'not']
>>> idx = Index(":memory:")
>>> idx.add([("a", "The mayor of Springfield told reporters on Tuesday that the bridge "
...                "would open in 2027, one of three projects.")])
AddReport(added=1, updated=0, unchanged=0)
>>> idx.stats()["docs"]
1
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from .text import Document, InputError

SCHEMA_NAME = "unspin-index"
SCHEMA_VERSION = 2  # 2: arithmetic shingle keys (1: blake2b per shingle)
SHINGLE = 4  # immutable tokens per key: ~7 running words in news prose
CLASS_SHINGLE = 3  # synonym-class ids per key
BATCH = 2000  # documents per transaction in add()

# The key definition is part of the on-disk format (keys of old documents must
# match keys of new queries), so the list is fixed here rather than shared with
# restore's tunable STOPWORDS. Changing it means bumping SCHEMA_VERSION.
FUNCTION_WORDS = frozenset(
    """
a about above after again against all also am among an and any are as at be because been
before being below between both but by can could did do does doing down during each either
few for from further had has have having he her here hers herself him himself his how i if in
into is it its itself just may me might more most must my myself neither no nor not now of off
on once only or other our ours ourselves out over own per same shall she should since so some
such than that the their theirs them themselves then there these they this those though
through to too under until up upon very via was we were what when where whether which while
who whom whose why will with within without would yet you your yours yourself yourselves
""".split()
)
# Spinners rewrite small numbers ("five" -> "5"); fold both to digits.
NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
# Contractions change both ways ("did not" <-> "didn't"): expand before keying.
_IRREGULAR_NT = {"won't": "will", "can't": "can", "shan't": "shall", "ain't": "is"}


@dataclass(frozen=True, slots=True)
class SourceDoc:
    """A document to index (or a stored one, with its text)."""

    id: str
    text: str
    title: str | None = None
    url: str | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class AddReport:
    added: int
    updated: int
    unchanged: int


# --------------------------------------------------------------------------- keys


def _norm(text: str) -> str:
    return text.lower().replace("’", "'")


def _expand(norm: str) -> list[str]:
    """A word as key tokens: contractions expanded, number words as digits."""
    if norm.endswith("n't") and len(norm) > 3:
        return [_IRREGULAR_NT.get(norm, norm[:-3]), "not"]
    return [NUMBER_WORDS.get(norm, norm)]


# The key path scans the text with one regex instead of building a Document:
# it matches the same word and number tokens as unspin.text (same patterns,
# tried in the same order) plus the only other tokens that matter here, a
# newline or sentence-final punctuation (each starts a sentence). Everything
# else (spaces, other punctuation) is skipped. tests/test_trace.py checks that
# both paths agree.
_KEY_RE = re.compile(
    r"([^\W\d_]+(?:['’][^\W\d_]+)*)"
    r"|(\d+(?:[.,:/]\d+)*(?:st|nd|rd|th|s)?)"
    r"|[\n.!?]",
    re.UNICODE,
)
_META_RE = re.compile(r"\A\s*date \d{4}-\d{2}-\d{2}(?:[ \t]*\n| )")  # = unspin.text
# word -> (key tokens mid-sentence, key tokens at a sentence start)
_WORD_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
_CACHE_MAX = 1_000_000


def _word_parts(word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    parts = _WORD_PARTS.get(word)
    if parts is None:
        keep = [p for p in _expand(_norm(word)) if p in FUNCTION_WORDS or p.isdigit()]
        # A capitalised word inside a sentence is a name: all its parts are kept.
        mid = tuple(_expand(_norm(word))) if word[:1].isupper() else tuple(keep)
        parts = (mid, tuple(keep))
        if len(_WORD_PARTS) >= _CACHE_MAX:
            _WORD_PARTS.clear()
        _WORD_PARTS[word] = parts
    return parts


def immutable_tokens(text: str) -> list[str]:
    """:func:`immutables` of ``Document.from_text(text)``, without building it."""
    meta = _META_RE.match(text)
    out: list[str] = []
    extend = out.extend
    get = _WORD_PARTS.get
    start = 1  # index into the (mid-sentence, sentence-start) pair
    for word, num in _KEY_RE.findall(text, meta.end() if meta else 0):
        if word:
            extend((get(word) or _word_parts(word))[start])
            start = 0
        elif num:
            out.append(num.lower())
            start = 0
        else:
            start = 1
    return out


def immutables(doc: Document) -> list[str]:
    """The tokens of ``doc`` that dictionary spinners keep, in order.

    Function words (also sentence-initial ones), numbers (dates are numbers to
    the tokeniser) and proper nouns: a capitalised word that does not start a
    sentence. A capitalised sentence start that is not a function word is
    dropped: it may be a name or a spun content word, and both sides of a
    comparison drop it alike. (This is the readable definition;
    :func:`immutable_tokens` is the fast one the index uses.)
    """
    out: list[str] = []
    for t in doc.words:
        norm = _norm(t.text)
        if t.kind == "num":
            out.append(norm)
            continue
        for part in _expand(norm):
            if part in FUNCTION_WORDS or part.isdigit():
                out.append(part)
            elif t.text[:1].isupper() and not t.sentence_start:
                out.append(part)
    return out


# Keys: each token gets a stable 64-bit id (blake2b, cached); a shingle's key
# is a linear combination of its token ids with fixed odd multipliers, mod
# 2^64, shifted into SQLite's signed INTEGER range. Stable across processes and
# Python versions (unlike hash()), and ~5x cheaper than hashing each shingle.
_MASK = (1 << 64) - 1
_HALF = 1 << 63
_MULT = (
    0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
    0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53,
)
_KIND_SEED = {"i": 0x2545F4914F6CDD1D, "c": 0x5851F42D4C957F2D}
_TOKEN_IDS: dict[str, int] = {}


def _token_id(token: str) -> int:
    v = _TOKEN_IDS.get(token)
    if v is None:
        v = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big")
        if len(_TOKEN_IDS) >= _CACHE_MAX:
            _TOKEN_IDS.clear()
        _TOKEN_IDS[token] = v
    return v


def shingles(tokens: Sequence[str], n: int, kind: str) -> set[int]:
    """Hashed n-grams of ``tokens`` (one key for a sequence shorter than n)."""
    if not tokens:
        return set()
    get = _TOKEN_IDS.get
    ids = [get(t) or _token_id(t) for t in tokens]
    seed = _KIND_SEED[kind]
    if len(ids) < n:
        # Distinct from any full n-gram: the length enters the seed.
        acc = seed + len(ids)
        for x, p in zip(ids, _MULT, strict=False):
            acc += x * p
        return {(acc & _MASK) - _HALF}
    m = len(ids) - n + 1
    sums = [seed] * m
    for k in range(n):
        p = _MULT[k]
        sums = [a + x * p for a, x in zip(sums, ids[k : k + m], strict=True)]
    return {(a & _MASK) - _HALF for a in sums}


@cache
def _lexicon():
    from .lexicon import Lexicon

    return Lexicon.default()


@cache
def synonym_class(word: str) -> str:
    """A canonical class id for a content word (lowercase), from the shipped lexicon.

    The lemma and every original whose synonym list contains it, restricted to
    single frequent words; the lexicographically smallest is the id. A swap
    keeps the id when both words reach the same smallest member: cheap, not
    transitive, so these keys are a supplement to the immutable ones.
    """
    lex = _lexicon()
    analyses = lex.analyses(word)
    lemma = analyses[0].lemma if analyses else word
    members = {lemma}
    for e in lex.lookup(lemma)[:60]:  # entries come commonest first
        o = e.original
        if " " not in o and (lex.zipf(o) or 0.0) >= 4.0:
            members.add(o)
    return min(members)


def class_sequence(doc: Document) -> list[str]:
    """Synonym-class ids of the lowercase content words of ``doc``."""
    out = []
    for t in doc.words:
        if t.kind != "word":
            continue
        norm = _norm(t.text)
        if norm in FUNCTION_WORDS or (t.text[:1].isupper() and not t.sentence_start):
            continue
        out.append(synonym_class(norm))
    return out


def doc_keys(doc: Document | str, classes: bool = False) -> set[int]:
    """Retrieval keys of a document: immutable shingles (+ class shingles)."""
    text = doc if isinstance(doc, str) else doc.text
    keys = shingles(immutable_tokens(text), SHINGLE, "i")
    if classes:
        d = doc if isinstance(doc, Document) else Document.from_text(doc)
        keys |= shingles(class_sequence(d), CLASS_SHINGLE, "c")
    return keys


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------ storage


class Storage(Protocol):
    """What :class:`Index` needs from a backend (one per index)."""

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def doc_hash(self, doc_id: str) -> tuple[int, str] | None: ...
    def put_doc(
        self, doc: SourceDoc, digest: str, keys: Iterable[int], old: tuple[int, set[int]] | None
    ) -> None:
        """Store one document, or replace the one at ``old`` = (rowid, its keys)."""
    def put_docs(
        self, items: Sequence[tuple[SourceDoc, str, set[int], tuple[int, set[int]] | None]]
    ) -> None:
        """:meth:`put_doc` for many documents (one transaction's worth)."""
    def doc(self, rowid: int) -> SourceDoc: ...
    def postings(self, key: int, limit: int) -> list[int]: ...
    def counts(self) -> dict[str, int]: ...
    def transaction(self): ...  # a context manager; commit on success, roll back on error
    def close(self) -> None: ...


class MemoryStorage:
    """Dict-backed storage for throw-away indexes (tests, ``group``)."""

    def __init__(self) -> None:
        self._meta: dict[str, str] = {}
        self._docs: list[tuple[SourceDoc, str, set[int]]] = []
        self._ids: dict[str, int] = {}
        self._post: dict[int, set[int]] = {}

    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value

    def doc_hash(self, doc_id: str) -> tuple[int, str] | None:
        row = self._ids.get(doc_id)
        return None if row is None else (row, self._docs[row][1])

    def put_doc(
        self, doc: SourceDoc, digest: str, keys: Iterable[int], old: tuple[int, set[int]] | None
    ) -> None:
        keyset = set(keys)
        if old is not None:
            row = old[0]
            for k in self._docs[row][2]:
                self._post[k].discard(row)
            self._docs[row] = (doc, digest, keyset)
        else:
            row = len(self._docs)
            self._docs.append((doc, digest, keyset))
            self._ids[doc.id] = row
        for k in keyset:
            self._post.setdefault(k, set()).add(row)

    def put_docs(
        self, items: Sequence[tuple[SourceDoc, str, set[int], tuple[int, set[int]] | None]]
    ) -> None:
        for doc, digest, keys, old in items:
            self.put_doc(doc, digest, keys, old)

    def doc(self, rowid: int) -> SourceDoc:
        return self._docs[rowid][0]

    def postings(self, key: int, limit: int) -> list[int]:
        return sorted(self._post.get(key, ()))[:limit]

    def counts(self) -> dict[str, int]:
        return {
            "docs": len(self._docs),
            "keys": sum(1 for v in self._post.values() if v),
            "postings": sum(len(v) for v in self._post.values()),
        }

    def transaction(self):
        # Not crash-safe, by design: nothing to lose in memory.
        import contextlib

        return contextlib.nullcontext()

    def close(self) -> None:
        pass


_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    title TEXT, url TEXT, date TEXT,
    text TEXT NOT NULL
);
-- (key, doc) as the primary key of a WITHOUT ROWID table *is* the index on key.
CREATE TABLE IF NOT EXISTS postings (
    key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (key, doc)
) WITHOUT ROWID;
"""


class SQLiteStorage:
    """One SQLite file in WAL mode; each :meth:`transaction` is atomic."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        if self.path != ":memory:" and os.path.exists(self.path):
            _check_sqlite_header(self.path)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per batch.
            self.db = sqlite3.connect(self.path, isolation_level=None)
            if self.path != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoint, never torn
            self.db.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: the postings B-tree
            if self._fresh():
                self.db.executescript(_DDL)
            else:
                self._check_tables()
        except sqlite3.DatabaseError as e:
            raise InputError(f"{self.path} is not a usable unspin index ({e})") from None

    def _fresh(self) -> bool:
        n = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        return n == 0

    def _check_tables(self) -> None:
        names = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        if not {"meta", "docs", "postings"} <= names:
            raise InputError(f"{self.path} is an SQLite database but not an unspin index")

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def doc_hash(self, doc_id: str) -> tuple[int, str] | None:
        row = self.db.execute("SELECT rowid, hash FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def put_doc(
        self, doc: SourceDoc, digest: str, keys: Iterable[int], old: tuple[int, set[int]] | None
    ) -> None:
        self.put_docs([(doc, digest, set(keys), old)])

    def put_docs(
        self, items: Sequence[tuple[SourceDoc, str, set[int], tuple[int, set[int]] | None]]
    ) -> None:
        db = self.db
        postings: list[tuple[int, int]] = []
        for doc, digest, keys, old in items:
            rowid = None
            if old is not None:
                # The old keys come recomputed from the stored text: cheaper than a
                # second index on postings.doc that only updates would use.
                rowid = old[0]
                db.executemany(
                    "DELETE FROM postings WHERE key = ? AND doc = ?", ((k, rowid) for k in old[1])
                )
                db.execute("DELETE FROM docs WHERE rowid = ?", (rowid,))
            c = db.execute(
                "INSERT INTO docs (rowid, id, hash, title, url, date, text) VALUES (?,?,?,?,?,?,?)",
                (rowid, doc.id, digest, doc.title, doc.url, doc.date, doc.text),
            )
            row = rowid if rowid is not None else c.lastrowid
            postings.extend((k, row) for k in keys)
        # One sorted executemany per batch: B-tree inserts in key order touch
        # each page once instead of at random.
        postings.sort()
        db.executemany("INSERT OR IGNORE INTO postings (key, doc) VALUES (?, ?)", postings)

    def doc(self, rowid: int) -> SourceDoc:
        row = self.db.execute(
            "SELECT id, text, title, url, date FROM docs WHERE rowid = ?", (rowid,)
        ).fetchone()
        if row is None:
            raise KeyError(rowid)
        return SourceDoc(*row)

    def postings(self, key: int, limit: int) -> list[int]:
        rows = self.db.execute(
            "SELECT doc FROM postings WHERE key = ? LIMIT ?", (key, limit)
        ).fetchall()
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        q = self.db.execute
        return {
            "docs": q("SELECT count(*) FROM docs").fetchone()[0],
            "keys": q("SELECT count(DISTINCT key) FROM postings").fetchone()[0],
            "postings": q("SELECT count(*) FROM postings").fetchone()[0],
        }

    def transaction(self):
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def _check_sqlite_header(path: str) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise InputError(f"cannot read index {path}: {e.strerror}") from None
    if head and head != b"SQLite format 3\x00":
        raise InputError(f"{path} is not an unspin index (not an SQLite file)")


# -------------------------------------------------------------------------- index


class Index:
    """Documents keyed by swap-surviving shingles.

    ``Index(path)`` opens or creates an SQLite index (``":memory:"`` works);
    pass ``storage=`` for another backend. ``classes`` adds synonym-class
    shingles; it is fixed when the index is created and stored with it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        storage: Storage | None = None,
        classes: bool = False,
    ) -> None:
        if storage is None:
            if path is None:
                raise ValueError("Index needs a path or a storage")
            p = Path(path)
            if str(path) != ":memory:" and p.is_dir():
                raise InputError(f"{p} is a directory, not an index file")
            storage = SQLiteStorage(path)
        self.storage = storage
        try:
            name, version = storage.get_meta("schema"), storage.get_meta("version")
            empty = storage.counts()["docs"] == 0
        except sqlite3.DatabaseError as e:  # a torn or foreign file
            raise InputError(f"{path} is not a usable unspin index ({e})") from None
        if name is None and empty:
            with storage.transaction():
                storage.set_meta("schema", SCHEMA_NAME)
                storage.set_meta("version", str(SCHEMA_VERSION))
                storage.set_meta("classes", "1" if classes else "0")
                storage.set_meta("created", time.strftime("%Y-%m-%dT%H:%M:%S"))
        elif name != SCHEMA_NAME:
            raise InputError(f"{path or 'storage'} is not an unspin index (no schema row)")
        elif version != str(SCHEMA_VERSION):
            raise InputError(
                f"{path} is an unspin index of version {version}; this unspin reads "
                f"version {SCHEMA_VERSION} (rebuild it with `unspin index add`)"
            )
        self.classes = storage.get_meta("classes") == "1"
        self._n_docs: int | None = None

    # -- building -----------------------------------------------------------
    def keys(self, text: str | Document) -> set[int]:
        return doc_keys(text, classes=self.classes)

    def add(
        self,
        docs: Iterable[SourceDoc | tuple],
        batch: int = BATCH,
        progress=None,
    ) -> AddReport:
        """Add or update documents; one transaction per ``batch`` documents.

        Idempotent: a document whose id is stored with the same content hash is
        skipped; a changed text replaces the old one (and its keys). A failure
        inside a batch rolls that batch back; earlier batches stay committed,
        so re-running the same add completes the job.
        """
        added = updated = unchanged = 0
        for chunk in _chunks((_source_doc(d) for d in docs), batch):
            # Keys are computed before the transaction opens, keeping it short.
            prepared = [(d, content_hash(d.text), self.keys(d.text)) for d in chunk]
            with self.storage.transaction():
                todo = []
                seen: set[str] = set()
                for d, digest, keys in prepared:
                    if d.id in seen:  # the same id twice in one batch: store in order
                        self.storage.put_docs(todo)
                        todo, seen = [], set()
                    old = self.storage.doc_hash(d.id)
                    if old is not None and old[1] == digest:
                        unchanged += 1
                        continue
                    replace = None
                    if old is not None:
                        replace = (old[0], self.keys(self.storage.doc(old[0]).text))
                        updated += 1
                    else:
                        added += 1
                    todo.append((d, digest, keys, replace))
                    seen.add(d.id)
                self.storage.put_docs(todo)
            self._n_docs = None
            if progress is not None:
                progress(len(chunk))
        return AddReport(added, updated, unchanged)

    # -- querying -----------------------------------------------------------
    @property
    def n_docs(self) -> int:
        if self._n_docs is None:
            self._n_docs = self.storage.counts()["docs"]
        return self._n_docs

    def postings(self, key: int, limit: int) -> list[int]:
        return self.storage.postings(key, limit)

    def doc(self, rowid: int) -> SourceDoc:
        return self.storage.doc(rowid)

    def stats(self) -> dict:
        counts = self.storage.counts()
        out = {
            "schema": SCHEMA_NAME,
            "version": SCHEMA_VERSION,
            "classes": self.classes,
            "created": self.storage.get_meta("created"),
            **counts,
            "keys_per_doc": round(counts["postings"] / counts["docs"], 1) if counts["docs"] else 0,
        }
        path = getattr(self.storage, "path", None)
        if path and path != ":memory:" and os.path.exists(path):
            size = os.path.getsize(path)
            wal = path + "-wal"
            size += os.path.getsize(wal) if os.path.exists(wal) else 0
            out["bytes"] = size
        return out

    def close(self) -> None:
        self.storage.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _source_doc(d: SourceDoc | tuple | dict) -> SourceDoc:
    if isinstance(d, SourceDoc):
        doc = d
    elif isinstance(d, dict):
        doc = SourceDoc(
            str(d["id"]), d["text"], d.get("title"), d.get("url"), d.get("date")
        )
    else:
        doc = SourceDoc(str(d[0]), *d[1:])
    if not isinstance(doc.text, str):
        raise InputError(f"document {doc.id!r}: text is not a string")
    return doc


def _chunks(items: Iterable[SourceDoc], n: int) -> Iterator[list[SourceDoc]]:
    chunk: list[SourceDoc] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[SourceDoc]:
    """Documents from a JSON Lines file with id/text[/title/url/date] fields."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                yield SourceDoc(
                    str(rec["id"]), rec["text"], rec.get("title"), rec.get("url"), rec.get("date")
                )
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise InputError(f"{path}:{n}: not a document record ({e})") from None
