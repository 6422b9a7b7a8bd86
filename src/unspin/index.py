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
import os
import re
import sqlite3
import sys
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, islice, repeat
from operator import add, and_, getitem, itemgetter, le, lshift, mul, or_, sub
from pathlib import Path
from typing import Protocol

from .text import Document, InputError, Token, meta_end

SCHEMA_NAME = "unspin-index"
SCHEMA_VERSION = 3  # 3: segmented postings; 2: arithmetic shingle keys; 1: blake2b keys
SHINGLE = 4  # immutable tokens per key: ~7 running words in news prose
CLASS_SHINGLE = 3  # synonym-class ids per key
BATCH = 2000  # documents per transaction in add()

# The key definition is part of the on-disk format (keys of old documents must
# match keys of new queries), so the list is fixed here rather than shared with
# restore's tunable STOPWORDS. Changing it means bumping SCHEMA_VERSION.
KEY_FUNCTION_WORDS = frozenset(
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
    # Ids of documents stored without a single key (no words a spinner keeps:
    # another script, a table of numbers): trace can never find them.
    keyless: tuple[str, ...] = field(default=(), repr=False)


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
    r"[^\W\d_]+(?:['’][^\W\d_]+)*"
    r"|\d+(?:[.,:/]\d+)*(?:st|nd|rd|th|s)?"
    r"|[\n.!?]",
    re.UNICODE,
)  # no groups: findall then returns plain strings, ~2x cheaper than tuples
_BREAKS = frozenset("\n.!?")
_SWAP = sys.byteorder != "little"  # blobs and slots are little-endian on every platform
# token -> (key tokens mid-sentence, key tokens at a sentence start, index of
# the next token's choice: 1 after a break, else 0, and the same three for the
# tokens' ids: 4, 5, 3 + that index). One tuple per token lets
# immutable_tokens run as C-level map()s instead of a Python loop per word.
# The ids are stored as ready-made 24-byte slots (see _shingle_slots): joining
# a document's slots is one C call, with no Python int made per token.
_Parts = tuple[tuple[str, ...], tuple[str, ...], int, bytes, bytes, int]
_CACHE_MAX = 1_000_000
_NEXT, _NEXT_ID = itemgetter(2), itemgetter(5)


class _PartsCache(dict[str, "_Parts | tuple[()]"]):
    """Chunk -> parts; a miss computes them, so lookups need no None check."""

    def __missing__(self, chunk: str) -> _Parts | tuple[()]:
        return _chunk_parts(chunk)


# One cache for tokens and chunks: a chunk that is one whole token (most are)
# has that token's parts, under the same key.
_TOKEN_PARTS = _PartsCache()


def _store(key: str, parts: _Parts | tuple[()]) -> None:
    if len(_TOKEN_PARTS) >= _CACHE_MAX:
        _TOKEN_PARTS.clear()
    _TOKEN_PARTS[key] = parts


def _token_parts(tok: str) -> _Parts:
    parts = _TOKEN_PARTS.get(tok)
    if parts is None:
        if tok in _BREAKS:  # newline or .!? : the next word starts a sentence
            mid, start, nxt = (), (), 1
        elif tok[0].isdecimal():  # = the \d that starts the number pattern
            mid = start = (tok.lower(),)
            nxt = 0
        else:
            keep = [p for p in _expand(_norm(tok)) if p in KEY_FUNCTION_WORDS or p.isdigit()]
            # A capitalised word inside a sentence is a name: all its parts are kept.
            mid = tuple(_expand(_norm(tok))) if tok[:1].isupper() else tuple(keep)
            start, nxt = tuple(keep), 0
        parts = (mid, start, nxt, _slots(map(_token_id, mid)), _slots(map(_token_id, start)),
                 nxt + 3)
        _store(tok, parts)
    return parts  # type: ignore[return-value]


def _chunk_parts(chunk: str) -> _Parts | tuple[()]:
    """The parts of a whitespace-free chunk: its tokens' parts run together.

    A chunk without tokens (a dash, a quote) is ``()``, which the caller drops:
    it must not end a sentence or start one.
    """
    toks = _KEY_RE.findall(chunk)
    if len(toks) == 1:
        parts: _Parts | tuple[()] = _token_parts(toks[0])
    elif not toks:
        parts = ()
    else:
        ps = [_token_parts(t) for t in toks]
        # Tokens after the first take the choice their predecessor set; only
        # the first one's depends on what came before the chunk.
        rest = tuple(chain.from_iterable(p[q[2]] for q, p in zip(ps, ps[1:], strict=False)))
        rest_b = b"".join(p[q[5]] for q, p in zip(ps, ps[1:], strict=False))
        nxt = ps[-1][2]
        parts = (ps[0][0] + rest, ps[0][1] + rest, nxt, ps[0][3] + rest_b, ps[0][4] + rest_b,
                 nxt + 3)
    _store(chunk, parts)
    return parts


def _token_table(text: str) -> list[_Parts]:
    """The parts of each token-bearing chunk of ``text``, in order.

    Tokens never contain whitespace, so the text is cut at whitespace with
    str.split (~4.5x cheaper than the regex scan on BBC texts) and each chunk
    ("said", "Tuesday.", "(AP)") is looked up whole: only a new chunk runs the
    regex. A newline is a break token, so it becomes " . " first (also a
    break, and kept by split). tests/test_trace.py checks this against the
    token-by-token definition.
    """
    text = text[meta_end(text) :]
    chunks = text.replace("\n", " . ").split()
    # getitem, not .get: a miss goes to __missing__, which fills the cache;
    # filter(None) drops the token-less chunks (their parts are ()).
    return list(filter(None, map(getitem, repeat(_TOKEN_PARTS), chunks)))


def immutable_tokens(text: str) -> list[str]:
    """:func:`immutables` of ``Document.from_text(text)``, without building it."""
    parts = _token_table(text)
    # Token i contributes parts[i][choice], the choice set by token i - 1.
    choice = [1, *map(_NEXT, parts)]
    return list(chain.from_iterable(map(getitem, parts, choice)))


def _immutable_slots(text: str) -> bytes:
    """The token ids of :func:`immutable_tokens`, as 24-byte slots (see _shingle_slots)."""
    parts = _token_table(text)
    choice = [4, *map(_NEXT_ID, parts)]
    return b"".join(map(getitem, parts, choice))


def _immutable_ids(text: str) -> list[int]:
    """The token ids of :func:`immutable_tokens` (what the keys are made of)."""
    return _slot_ids(_immutable_slots(text))


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
            if part in KEY_FUNCTION_WORDS or part.isdigit():
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
_LOW = (1 << 32) - 1
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
    return _shingle_slots(_slots(map(_token_id, tokens)), n, kind)


def _shingle_ids(ids: list[int], n: int, kind: str) -> set[int]:
    """The key definition, one shingle at a time (:func:`_shingle_slots` is the fast path)."""
    if not ids:
        return set()
    seed = _KIND_SEED[kind]
    if len(ids) < n:
        # Distinct from any full n-gram: the length enters the seed.
        acc = seed + len(ids)
        for x, p in zip(ids, _MULT, strict=False):
            acc += x * p
        return {(acc & _MASK) - _HALF}
    m = len(ids) - n + 1
    sums: Iterator[int] = repeat(seed, m)
    for k in range(n):
        sums = map(add, sums, map(mul, ids[k:], repeat(_MULT[k], m)))
    return set(map(sub, map(and_, sums, repeat(_MASK)), repeat(_HALF)))


# The shingle arithmetic on all shingles of a document at once, in one big int
# ("SIMD within a register"): token id i sits in bits [192 i, 192 i + 64) of x,
# so x >> 192 k lines token i + k up with token i, and sum_k (x >> 192 k) *
# _MULT[k] holds shingle i's sum in slot i. A slot's sum is below 4 * 2^128 +
# 2^64 < 2^192, so no carry crosses into the next slot, and its low 64 bits are
# the key mod 2^64. Adding (seed + 2^63) mod 2^64 to every slot and reading the
# low words as signed int64 gives (sum + seed) mod 2^64 - 2^63, the key. The
# work is a handful of C-level big-int operations per document instead of ten
# Python int objects per shingle (~2-3x cheaper; same keys, tests pin them).
_SLOT = 24  # bytes per token: 8 for its id, 16 of headroom for the products
_SLOT_PAD = bytes(_SLOT - 8)
_SLOT_CONST = {
    kind: ((seed + _HALF) & _MASK).to_bytes(8, "little") + _SLOT_PAD
    for kind, seed in _KIND_SEED.items()
}


def _slots(ids: Iterable[int]) -> bytes:
    return b"".join(i.to_bytes(8, "little") + _SLOT_PAD for i in ids)


def _slot_ids(slots: bytes) -> list[int]:
    return [int.from_bytes(slots[i : i + 8], "little") for i in range(0, len(slots), _SLOT)]


def _shingle_slots(slots: bytes, n: int, kind: str) -> set[int]:
    """:func:`_shingle_ids` of the ids in ``slots`` (see :func:`_slots`)."""
    size = len(slots) // _SLOT
    if size < n:
        return _shingle_ids(_slot_ids(slots), n, kind)
    m = size - n + 1
    x = int.from_bytes(slots, "little")
    total = int.from_bytes(_SLOT_CONST[kind] * m, "little")
    bits = 8 * _SLOT
    for k in range(n):
        total += (x >> (bits * k)) * _MULT[k]
    words = array("q")
    words.frombytes(total.to_bytes(len(slots), "little"))
    if _SWAP:
        words.byteswap()
    step = _SLOT // 8
    return set(words[0 : step * m : step])  # the low word of each of the m full slots


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


def swappable(t: Token) -> bool:
    """Whether a word token is one a spinner may swap: no function word, no name."""
    return t.kind == "word" and not (
        t.norm in KEY_FUNCTION_WORDS or (t.text[:1].isupper() and not t.sentence_start))


def class_sequence(doc: Document) -> list[str]:
    """Synonym-class ids of the lowercase content words of ``doc``."""
    return [synonym_class(t.norm) for t in doc.words if swappable(t)]


def doc_keys(doc: Document | str, classes: bool = False) -> set[int]:
    """Retrieval keys of a document: immutable shingles (+ class shingles)."""
    text = doc if isinstance(doc, str) else doc.text
    keys = _shingle_slots(_immutable_slots(text), SHINGLE, "i")
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
    def put_docs(
        self, items: Sequence[tuple[SourceDoc, str, set[int], tuple[int, set[int]] | None]]
    ) -> None:
        """Store documents (one transaction's worth); an item whose ``old`` is
        (rowid, its keys) replaces the document stored there."""
    def doc(self, rowid: int) -> SourceDoc: ...
    def postings_many(self, keys: Iterable[int], limit: int) -> dict[int, list[int]]:
        """Documents holding each key, at most ``limit`` each, lowest rowids first
        (keys held by no document left out)."""
    def counts(self) -> dict[str, int]:
        """At least "docs" and "postings"; a backend may add its own figures."""
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

    def _put(
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
            self._put(doc, digest, keys, old)

    def doc(self, rowid: int) -> SourceDoc:
        return self._docs[rowid][0]

    def postings_many(self, keys: Iterable[int], limit: int) -> dict[int, list[int]]:
        return {k: sorted(self._post[k])[:limit] for k in keys if self._post.get(k)}

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


# Postings live in *segments* (a log-structured merge, as in Lucene or LevelDB):
# each batch of documents becomes one new segment, written in key order and
# appended at the end of the file, so adding never rewrites what is stored. A
# B-tree of (key, doc) rows, the format before version 3, did: keys are random,
# so each batch touched every page of the tree and the build slowed down as the
# index grew (421 docs/s at 100k). A segment is split by the top bits of the
# key into partitions of ~128 postings; a partition is one `inv` row holding
# two packed arrays (sorted keys, their documents), so one row stores ~128
# postings instead of one. When MERGE_FANOUT segments of one size class exist
# they are merged into one (each posting is rewritten O(log N) times), which
# keeps the segments a query visits few (a handful at 100k documents).
_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- AUTOINCREMENT: a replaced document's rowid is never reused, so postings still
-- naming it in older segments can be told apart (see `dead`).
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    title TEXT, url TEXT, date TEXT,
    text TEXT NOT NULL
);
-- rowids of replaced documents: their postings are skipped, and dropped by merges.
CREATE TABLE IF NOT EXISTS dead (rowid INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS segments (
    seg INTEGER PRIMARY KEY, bits INTEGER NOT NULL, postings INTEGER NOT NULL
);
-- id = seg << 32 | partition; keys: int64 array, docs: uint32 array (little-endian).
CREATE TABLE IF NOT EXISTS inv (id INTEGER PRIMARY KEY, keys BLOB NOT NULL, docs BLOB NOT NULL);
"""
PART_POSTINGS = 128  # target postings per partition row: ~1.5 KB, a few rows per page
MERGE_FANOUT = 8  # segments of one size class merged into one
MERGE_BASE = 65_536  # postings: segments below this are size class 0
_MERGE_CHUNK_BITS = 8  # a merge works through 1/256 of the key space at a time


def _pack(typecode: str, values: Iterable[int]) -> bytes:
    arr = array(typecode, values)
    if _SWAP:
        arr.byteswap()
    return arr.tobytes()


def _unpack(typecode: str, blob: bytes) -> array:
    arr = array(typecode)
    arr.frombytes(blob)
    if _SWAP:
        arr.byteswap()
    return arr


# A posting in memory is one non-negative int, (key + 2^63) << 32 | doc:
# sorting these sorts by (key, doc) in one C-level pass (tuples compare ~5x
# slower), and being non-negative they turn into bytes with int.to_bytes.
_OFF = _HALF << 32
_FLIP = bytes(b ^ 0x80 for b in range(256))  # the top bit of a byte: signed <-> offset


def _flip_sign_bits(int64s: bytes) -> bytes:
    """Little-endian int64s <-> the same values + 2^63 as uint64s (top bit flipped)."""
    out = bytearray(int64s)
    out[7::8] = out[7::8].translate(_FLIP)
    return bytes(out)


def _posting_blobs(postings: list[int]) -> tuple[bytes, bytes]:
    """The ``keys`` (int64) and ``docs`` (uint32) arrays of sorted postings, little-endian.

    One to_bytes per posting gives 12-byte records (doc, offset key); strided
    slices split them into the two arrays: all C loops, ~3.5x cheaper than an
    array of shifted ints and one of masked ones.
    """
    rec = b"".join(map(int.to_bytes, postings, repeat(12), repeat("little")))
    n = len(postings)
    keys, docs = bytearray(8 * n), bytearray(4 * n)
    for j in range(4):
        docs[j::4] = rec[j::12]
    for j in range(8):
        keys[j::8] = rec[4 + j :: 12]
    return _flip_sign_bits(keys), bytes(docs)


def _sorted_blobs(postings: list[int]) -> tuple[bytes, bytes]:
    """Sort a batch's postings (see _OFF) in place; return their :func:`_posting_blobs`.

    Sorted by float value first: floats compare inline, ints of 3-4 digits
    through a generic call (~2x the sort time). A float keeps the top 53 bits
    (rounding is monotonic), and the sort is stable, so postings of one key
    stay in input order, which is rowid order in a batch. Only two keys equal
    in their top 53 bits can come out swapped (~1 batch in 10^5): a check of
    the packed keys (contiguous, so cheap; the sorted int objects are spread
    over memory, and one more pass over them costs as much as the packing)
    catches that, and an exact sort redoes it.
    """
    postings.sort(key=float)
    keys, docs = _posting_blobs(postings)
    arr = _unpack("q", keys)
    if not all(map(le, arr, islice(arr, 1, None))):
        postings.sort()
        keys, docs = _posting_blobs(postings)
    return keys, docs


def _part_bits(n_postings: int) -> int:
    """Key bits that split a segment into partitions of ~PART_POSTINGS."""
    return min(30, max(0, (max(n_postings, 1) // PART_POSTINGS).bit_length()))


def _size_class(n_postings: int) -> int:
    n, c = n_postings // MERGE_BASE, 0
    while n >= MERGE_FANOUT:
        n //= MERGE_FANOUT
        c += 1
    return c


def _check_creatable(path: str) -> None:
    """Raise InputError that says why a new index cannot be made at ``path``
    (SQLite itself only says "unable to open database file")."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"cannot create index {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or _read_only_mount(folder):
        raise InputError(f"cannot create index {path}: folder {folder} is not writable")


def _read_only_mount(folder: str) -> bool:
    # os.access answers for root as if every folder were writable, even on a
    # read-only mount; statvfs knows the mount's flag.
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


class SQLiteStorage:
    """One SQLite file in WAL mode; each :meth:`transaction` is atomic."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self.read_only = False
        exists = self.path != ":memory:" and os.path.exists(self.path)
        if exists:
            _check_sqlite_header(self.path)
        elif self.path != ":memory:":
            _check_creatable(self.path)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per batch.
            self.db = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as e:  # no such folder, no permission
            raise InputError(f"{self.path} is not a usable unspin index ({e})") from None
        try:
            self._set_up()
        except sqlite3.OperationalError as e:
            # On a read-only mount WAL mode cannot make its shared-memory file,
            # so even reading fails; an index there is opened as immutable.
            # (Not for other errors: "database is locked" means a writer is busy.)
            self.db.close()
            code = getattr(e, "sqlite_errorcode", 0) & 0xFF  # the primary code
            read_only = code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)
            if not (exists and read_only and self._open_immutable()):
                raise InputError(f"{self.path} is not a usable unspin index ({e})") from None
        except (sqlite3.DatabaseError, InputError) as e:
            self.db.close()  # a rejected file is not left open
            if isinstance(e, InputError):
                raise
            raise InputError(f"{self.path} is not a usable unspin index ({e})") from None

    def _open_immutable(self) -> bool:
        """Reopen the file read-only, as a file nothing will change; False if that fails."""
        from urllib.parse import quote

        try:
            self.db = sqlite3.connect(f"file:{quote(os.path.abspath(self.path))}?immutable=1",
                                      uri=True, isolation_level=None)
            self._check_tables()
        except (sqlite3.Error, InputError):
            self.db.close()
            return False
        self.read_only = True
        return True

    def _set_up(self) -> None:
        # 8 KiB pages: 2-3 news texts (and ~5 partition rows) per page instead
        # of one text and a third of the page empty. Only a new file takes it.
        self.db.execute("PRAGMA page_size=8192")
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoint, never torn
        self.db.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages
        self.db.execute("PRAGMA temp_store=MEMORY")
        if self._fresh():
            self.db.executescript(_DDL)
        else:
            self._check_tables()

    def _fresh(self) -> bool:
        n = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        return n == 0

    def _check_tables(self) -> None:
        names = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        if "meta" not in names:
            raise InputError(f"{self.path} is an SQLite database but not an unspin index")
        # An old version's layout (other tables) is reported by Index from the
        # version row, with a "rebuild" hint.

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def doc_hash(self, doc_id: str) -> tuple[int, str] | None:
        row = self.db.execute("SELECT rowid, hash FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def put_docs(
        self, items: Sequence[tuple[SourceDoc, str, set[int], tuple[int, set[int]] | None]]
    ) -> None:
        if not items:
            return
        db = self.db
        merged: list[int] = []  # postings, see _OFF
        for doc, digest, keys, old in items:
            if old is not None:
                # The replaced version gets a new rowid; the old one's postings
                # stay in their segments until a merge drops them.
                db.execute("DELETE FROM docs WHERE rowid = ?", (old[0],))
                db.execute("INSERT OR IGNORE INTO dead (rowid) VALUES (?)", (old[0],))
            row = db.execute(
                "INSERT INTO docs (id, hash, title, url, date, text) VALUES (?,?,?,?,?,?)",
                (doc.id, digest, doc.title, doc.url, doc.date, doc.text),
            ).lastrowid
            if row is None or row >= 1 << 32:
                raise InputError("index full: document rowids beyond 2^32")
            # key << 32 has zero low bits: adding _OFF | row is (key + 2^63) << 32 | row.
            merged += map(add, map(lshift, keys, repeat(32)), repeat(_OFF | row))
        blobs = _sorted_blobs(merged)
        seg = self._new_segment(len(merged))
        self._write_partitions(seg, merged, blobs)
        self._maybe_merge()

    # -- segments --------------------------------------------------------------
    def _new_segment(self, n_postings: int) -> tuple[int, int]:
        bits = _part_bits(n_postings)
        seg = self.db.execute(
            "INSERT INTO segments (bits, postings) VALUES (?, ?)", (bits, n_postings)
        ).lastrowid
        assert seg is not None
        return seg, bits

    def _write_partitions(
        self, seg: tuple[int, int], merged: list[int], blobs: tuple[bytes, bytes] | None = None
    ) -> None:
        """Store sorted postings (see _OFF) as ``seg``'s partition rows.

        ``blobs``: their :func:`_posting_blobs`, when the caller has them.
        """
        sid, bits = seg
        shift = 96 - bits  # partition = top `bits` bits of the offset key
        base = sid << 32
        keys, docs = blobs or _posting_blobs(merged)
        rows = []
        i, n = 0, len(merged)
        while i < n:
            part = merged[i] >> shift
            j = bisect_left(merged, (part + 1) << shift, i)
            rows.append((base | part, keys[8 * i : 8 * j], docs[4 * i : 4 * j]))
            i = j
        self.db.executemany("INSERT INTO inv (id, keys, docs) VALUES (?, ?, ?)", rows)

    def _segments(self) -> list[tuple[int, int, int]]:
        return self.db.execute("SELECT seg, bits, postings FROM segments ORDER BY seg").fetchall()

    def _maybe_merge(self) -> None:
        while True:
            classes: dict[int, list[tuple[int, int, int]]] = {}
            for s in self._segments():
                classes.setdefault(_size_class(s[2]), []).append(s)
            full = [segs for segs in classes.values() if len(segs) >= MERGE_FANOUT]
            if not full:
                return
            self._merge(full[0])

    def _merge(self, segs: list[tuple[int, int, int]]) -> None:
        """Rewrite ``segs`` as one segment, a slice of the key space at a time."""
        db = self.db
        dead = self._dead()
        seg = self._new_segment(sum(s[2] for s in segs))
        cb = min(_MERGE_CHUNK_BITS, seg[1])  # a chunk holds whole output partitions
        total = 0
        for chunk in range(1 << cb):
            lo = chunk << (64 - cb)  # the chunk's offset keys (key + 2^63): [lo, hi)
            hi = lo + (1 << (64 - cb))
            postings: list[int] = []
            for sid, bits, _ in segs:
                # The partitions of `sid` that overlap [lo, hi).
                p0, p1 = lo >> (64 - bits), (hi - 1) >> (64 - bits)
                for keys_b, docs_b in db.execute(
                    "SELECT keys, docs FROM inv WHERE id BETWEEN ? AND ?",
                    ((sid << 32) | p0, (sid << 32) | p1),
                ):
                    keys, docs = _unpack("Q", _flip_sign_bits(keys_b)), _unpack("I", docs_b)
                    a, b = bisect_left(keys, lo), bisect_left(keys, hi)
                    if dead:
                        postings += [
                            k << 32 | d
                            for k, d in zip(keys[a:b], docs[a:b], strict=True)
                            if d not in dead
                        ]
                    else:
                        postings += map(or_, map(lshift, keys[a:b], repeat(32)), docs[a:b])
            postings.sort()  # a few sorted runs: timsort merges them (no float pass)
            total += len(postings)
            self._write_partitions(seg, postings)
        for sid, _, _ in segs:
            db.execute("DELETE FROM inv WHERE id BETWEEN ? AND ?", (sid << 32, (sid << 32) | _LOW))
            db.execute("DELETE FROM segments WHERE seg = ?", (sid,))
        db.execute("UPDATE segments SET postings = ? WHERE seg = ?", (total, seg[0]))

    def _dead(self) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT rowid FROM dead")}

    def doc(self, rowid: int) -> SourceDoc:
        row = self.db.execute(
            "SELECT id, text, title, url, date FROM docs WHERE rowid = ?", (rowid,)
        ).fetchone()
        if row is None:
            raise KeyError(rowid)
        return SourceDoc(*row)

    def postings_many(self, keys: Iterable[int], limit: int) -> dict[int, list[int]]:
        """Documents holding each key (at most ``limit``, lowest rowids first)."""
        want: dict[int, list[int]] = {}  # inv row id -> the keys to look for in it
        segs = self._segments()
        for key in keys:
            for sid, bits, _ in segs:
                want.setdefault((sid << 32) | ((key + _HALF) >> (64 - bits)), []).append(key)
        found: dict[int, list[int]] = {}
        ids = list(want)
        for i in range(0, len(ids), 500):  # stay under SQLite's bound-variable limit
            part = ids[i : i + 500]
            q = f"SELECT id, keys, docs FROM inv WHERE id IN ({','.join('?' * len(part))})"
            for rid, keys_b, docs_b in self.db.execute(q, part):
                karr = _unpack("q", keys_b)
                darr: array | None = None
                for key in want[rid]:
                    a = bisect_left(karr, key)
                    if a < len(karr) and karr[a] == key:
                        if darr is None:
                            darr = _unpack("I", docs_b)
                        b = bisect_right(karr, key, a)
                        found.setdefault(key, []).extend(darr[a:b])
        dead = self._dead()
        out = {}
        for key, docs in found.items():
            docs.sort()
            out[key] = [d for d in docs if d not in dead][:limit] if dead else docs[:limit]
        return out

    def counts(self) -> dict[str, int]:
        q = self.db.execute
        return {
            "docs": q("SELECT count(*) FROM docs").fetchone()[0],
            "postings": q("SELECT coalesce(sum(postings), 0) FROM segments").fetchone()[0],
            "segments": q("SELECT count(*) FROM segments").fetchone()[0],
        }

    def transaction(self):
        if self.read_only:
            raise InputError(f"{self.path} is on read-only storage: it can be searched, "
                             "not written")
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
            try:
                self._open(storage, path, classes)
            except BaseException:
                storage.close()  # ours to close: a rejected file is not left open
                raise
        else:
            self._open(storage, path, classes)

    @classmethod
    def existing(cls, path: str | os.PathLike[str]) -> Index:
        """Open an index that must already exist (trace, scan, serve): a missing
        file is a one-line input error, not a new empty index."""
        if not os.path.exists(path):
            raise InputError(f"no index at {path} (build one with `unspin index add`)")
        if os.path.isfile(path) and os.path.getsize(path) == 0:
            # SQLite would take an empty file for a new database and write one.
            raise InputError(f"{path} is an empty file, not an unspin index")
        return cls(path)

    def _open(self, storage: Storage, path: str | os.PathLike[str] | None, classes: bool) -> None:
        """Check (or, for an empty storage, write) the schema rows."""
        self.storage = storage
        try:
            name, version = storage.get_meta("schema"), storage.get_meta("version")
            # The version is checked before any other table is read: an old
            # layout has other tables, and deserves the "rebuild" hint.
            empty = name is None and storage.counts()["docs"] == 0
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
        keyless: list[str] = []
        for chunk in _chunks((_source_doc(d) for d in docs), batch):
            # Keys are computed before the transaction opens, keeping it short.
            prepared = [(d, content_hash(d.text), self.keys(d.text)) for d in chunk]
            keyless += [d.id for d, _, keys in prepared if not keys]
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
        return AddReport(added, updated, unchanged, tuple(keyless))

    # -- querying -----------------------------------------------------------
    @property
    def n_docs(self) -> int:
        if self._n_docs is None:
            self._n_docs = self.storage.counts()["docs"]
        return self._n_docs

    def postings_many(self, keys: Iterable[int], limit: int) -> dict[int, list[int]]:
        """Documents of each key (at most ``limit``); one storage round trip."""
        return self.storage.postings_many(keys, limit)

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
