"""Reverse thesaurus, phrase artefacts and learned substitution tables.

A spinner turns an original word into one of its synonyms, so restoring needs
the reverse direction: given an observed word, which originals list it? The
shipped table (built by ``scripts/build_lexicon.py`` from Moby and WordNet)
answers at lemma level; :func:`inflect` puts a candidate back into the
observed word's inflection.

Extra tables share one shape, :class:`Entry` (observed → original with a
channel probability): the project's phrase-artefact table
(``data/phrases.tsv``), its table of spinners' word-level habits
(``data/habits.tsv``) and any ``--lexicon`` file a user or ``unspin learn``
supplies.

>>> lex = Lexicon.default()
>>> "tell" in {e.original for e in lex.lookup("instruct")}
True
>>> [a.tag for a in lex.analyses("instructed") if a.lemma == "instruct"]
['VBD']
>>> lex.inflect("tell", "VBD"), lex.inflect("police officer", "NNS")
('told', 'police officers')
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import marshal
import os
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from ._cachedict import CacheDict
from .text import InputError


@dataclass(frozen=True, slots=True)
class Entry:
    original: str  # lemma-level unless the source table says otherwise
    # m (Moby), w (WordNet synset), r (WordNet relation), p (phrase table),
    # h (habit table), n (names table), u (user or learned table)
    source: str
    # Channel log-probability that a spinner writes the observed form for this
    # original; None means "estimate from the thesaurus fan-out".
    channel: float | None = None


# What rows() returns per candidate: (original, source, channel), as in Entry.
Row = tuple[str, str, float | None]


@dataclass(frozen=True, slots=True)
class Analysis:
    lemma: str
    tag: str  # Penn tag of the inflection (VBD, NNS, ...)


class Lexicon:
    """Observed form → candidate originals, plus each original's fan-out."""

    def __init__(self) -> None:
        self._rev: dict[str, str | list[Entry]] = {}
        self._morph: dict[str, str | tuple[Analysis, ...]] = {}
        self._infl: dict[str, str | dict[str, str]] = {}
        self._fanout: dict[str, int] = {}
        self._zipf: dict[str, float] = {}
        self._extra: dict[str, list[Entry]] = {}
        self.max_span = 1
        self._phrase_heads: set[str] = set()
        # Keys of data/names.tsv: table entries that apply only inside a name.
        self.name_keys: frozenset[str] = frozenset()
        # Parsed rows share one Entry per distinct "original:flags" item (an
        # original recurs in many rows) and inflections are memoised per tag:
        # restore asks for the same few hundred thousand over and over.
        self._entries: dict[str, Entry] = {}
        self._inflected: dict[str, dict[str, str | None]] = {}
        # rows() and readings(): the same answers as lookup() and analyses()
        # as plain tuples, cached apart from the loaded tables. Exact tuples
        # of atoms drop out of CPython's collector after one collection, while
        # Entry objects and the tables they would be written back into stay
        # tracked and are traversed by every full collection (≈ 20 % of a
        # cold restore pass). Items are shared between lexicons; rows are not
        # (they include this lexicon's extra tables).
        self._rows: dict[str, tuple[Row, ...]] = CacheDict()
        self._row_items: dict[str, Row] = CacheDict()
        self._readings: dict[str, tuple[tuple[str, str], ...]] = CacheDict()

    # -- construction -------------------------------------------------------
    @classmethod
    @cache
    def default(cls) -> Lexicon:
        lex = cls()
        lex._load_thesaurus(resources.files("unspin") / "data" / "lexicon.tsv.gz")
        data = resources.files("unspin") / "data"
        with (data / "phrases.tsv").open(encoding="utf-8") as f:
            lex.add_table(_read_tsv(f), source="p")
        with (data / "habits.tsv").open(encoding="utf-8") as f:
            lex.add_table(_read_tsv(f), source="h")
        with (data / "names.tsv").open(encoding="utf-8") as f:
            names = _read_tsv(f)
        lex.add_table(names, source="n")
        lex.name_keys = frozenset(spun.strip().lower() for spun, _, _ in names)
        return lex

    def _load_thesaurus(self, path) -> None:
        with path.open("rb") as raw:
            packed = raw.read()
        # A parsed copy in the user's cache loads in about half the time
        # (CLI start-up); it is keyed by the data file's hash and the Python
        # version (marshal's format), and any failure falls back to parsing.
        cached = _cache_path(packed)
        tables = (self._rev, self._morph, self._infl, self._fanout, self._zipf)
        loaded = False
        if cached is not None and cached.is_file():
            try:
                for table, part in zip(tables, marshal.loads(cached.read_bytes()), strict=True):
                    table.update(part)
                loaded = True
            except (OSError, EOFError, ValueError, TypeError):
                for table in tables:
                    table.clear()
        if not loaded:
            # Bytes + one split is ~3x faster than line-by-line text gzip; values
            # stay strings and are parsed on first lookup.
            blob = gzip.decompress(packed).decode("utf-8")
            if not self._load_sections(blob):
                self._load_lines(blob)
            if cached is not None:
                _write_cache(cached, marshal.dumps(tables))
        # Phrase heads in one pass after loading: per-row bookkeeping cost a
        # third of the start-up time.
        phrases = [k for k in self._rev if " " in k]
        self._phrase_heads.update(k.split(" ", 1)[0] for k in phrases)
        if phrases:
            longest = max(k.count(" ") for k in phrases) + 1
            self.max_span = max(self.max_span, min(longest, 4))

    def _load_sections(self, blob: str) -> bool:
        """Fast path: the build script writes rows grouped by kind (F, R, M, I),
        so each group is parsed with C-level splits, not a Python loop per row.
        False (nothing loaded) if the file is not laid out that way."""
        widths = {"F": 4, "R": 3, "M": 3, "I": 3}
        starts = []
        for kind in widths:
            at = 0 if blob.startswith(kind + "\t") else blob.find("\n" + kind + "\t") + 1
            if at <= 0 and not blob.startswith(kind + "\t"):
                return False
            starts.append((at, kind))
        starts.sort()
        bounds = [a for a, _ in starts[1:]] + [len(blob)]
        parsed = {}
        for (a, kind), b in zip(starts, bounds, strict=True):
            fields = blob[a:b].rstrip("\n").replace("\n", "\t").split("\t")
            w = widths[kind]
            if len(fields) % w or set(fields[0::w]) != {kind}:
                return False  # mixed or malformed: let the line parser decide
            parsed[kind] = [fields[k::w] for k in range(1, w)]
        keys, fanouts, zipfs = parsed["F"]
        self._fanout.update(zip(keys, map(int, fanouts), strict=True))
        self._zipf.update(zip(keys, map(float, zipfs), strict=True))
        self._rev.update(zip(*parsed["R"], strict=True))
        self._morph.update(zip(*parsed["M"], strict=True))
        self._infl.update(zip(*parsed["I"], strict=True))
        return True

    def _load_lines(self, blob: str) -> None:
        rev, morph, infl = self._rev, self._morph, self._infl
        fanouts, zipfs = self._fanout, self._zipf
        for line in blob.split("\n"):
            if not line:
                continue
            kind, key, value = line.split("\t", 2)
            if kind == "R":
                rev[key] = value
            elif kind == "F":
                fanout, zipf = value.split("\t")
                fanouts[key] = int(fanout)
                zipfs[key] = float(zipf)
            elif kind == "M":
                morph[key] = value
            else:
                infl[key] = value

    def _note_span(self, key: str) -> None:
        n = key.count(" ") + 1
        if n > 1:
            self._phrase_heads.add(key.split(" ", 1)[0])
            self.max_span = max(self.max_span, min(n, 4))

    def with_table(self, pairs: list[tuple[str, str, float]], source: str = "u") -> Lexicon:
        """A copy of this lexicon that also knows ``pairs`` (spun, original, prob)."""
        new = Lexicon()
        new._rev, new._fanout, new._zipf = self._rev, self._fanout, self._zipf
        new._morph, new._infl = self._morph, self._infl
        new._entries, new._inflected = self._entries, self._inflected
        new._row_items, new._readings = self._row_items, self._readings
        new._extra = {k: list(v) for k, v in self._extra.items()}
        new._phrase_heads = set(self._phrase_heads)
        new.max_span = self.max_span
        new.name_keys = self.name_keys
        new.add_table(pairs, source=source)
        return new

    def add_table(self, pairs, source: str = "u") -> None:
        import math

        for spun, original, prob in pairs:
            spun, original = spun.strip().lower(), original.strip().lower()
            if not spun or not original or spun == original:
                continue
            entry = Entry(original, source, math.log(max(min(prob, 1.0), 1e-6)))
            self._extra.setdefault(spun, []).append(entry)
            self._note_span(spun)

    # -- queries ------------------------------------------------------------
    def lookup(self, observed: str) -> list[Entry]:
        """Candidate originals for an observed lemma or phrase (may be empty)."""
        val = self._rev.get(observed)
        if isinstance(val, str):
            entries = []
            interned = self._entries
            for item in val.split(" "):
                e = interned.get(item)
                if e is None:
                    orig, _, flags = item.rpartition(":")
                    e = interned[item] = Entry(orig.replace("_", " "), flags)
                entries.append(e)
            self._rev[observed] = val = entries
        extra = self._extra.get(observed)
        if extra:
            return extra + (val or [])
        return val or []

    def rows(self, observed: str) -> tuple[Row, ...]:
        """:meth:`lookup` as ``(original, source, channel)`` tuples, in its order; cached."""
        got = self._rows.get(observed)
        if got is not None:
            return got
        val = self._rev.get(observed)
        extra = self._extra.get(observed)
        if val is None and not extra:
            return ()
        out: list[Row] = [(e.original, e.source, e.channel) for e in extra or ()]
        if isinstance(val, str):
            items = self._row_items
            for item in val.split(" "):
                r = items.get(item)
                if r is None:
                    orig, _, flags = item.rpartition(":")
                    r = items[item] = (orig.replace("_", " "), flags, None)
                out.append(r)
        elif val:  # already parsed by lookup()
            out.extend((e.original, e.source, e.channel) for e in val)
        if len(self._rows) > 400_000:
            self._rows.clear()
        got = self._rows[observed] = tuple(out)
        return got

    def readings(self, word: str) -> tuple[tuple[str, str], ...]:
        """:meth:`analyses` as ``(lemma, tag)`` tuples; cached."""
        got = self._readings.get(word)
        if got is None:
            val = self._morph.get(word, ())
            if isinstance(val, str):
                got = tuple((lemma, tag) for lemma, tag in (x.split(":") for x in val.split(" ")))
            else:
                got = tuple((a.lemma, a.tag) for a in val)
            if len(self._readings) > 400_000:
                self._readings.clear()
            self._readings[word] = got
        return got

    def inflections(self, tag: str) -> dict[str, str | None]:
        """The memo :meth:`inflect` keeps for ``tag`` (original → form or None).

        Restore reads it directly in its inner loop (a hit costs no call);
        a miss must still go through :meth:`inflect`.
        """
        memo = self._inflected.get(tag)
        if memo is None:
            memo = self._inflected[tag] = {}
        return memo

    def analyses(self, word: str) -> tuple[Analysis, ...]:
        """Readings of an inflected form as (lemma, tag); () for a base form."""
        val = self._morph.get(word, ())
        if isinstance(val, str):
            val = tuple(Analysis(*item.split(":")) for item in val.split(" "))
            self._morph[word] = val
        return val

    def inflect(self, original: str, tag: str | None) -> str | None:
        """Put ``original`` (a lemma or phrase) into inflection ``tag``.

        Verbs inflect their first word ("come back" → "came back"), nouns
        their last. None when the inflection is unknown: such a candidate is
        dropped rather than garbled.
        """
        if tag is None:
            return original
        memo = self.inflections(tag)
        form = memo.get(original, "")
        if form == "":
            form = memo[original] = self._inflect(original, tag)
        return form

    def _inflect(self, original: str, tag: str) -> str | None:
        parts = original.split(" ")
        idx = 0 if tag.startswith("VB") else len(parts) - 1
        table = self._infl.get(parts[idx])
        if isinstance(table, str):
            table = dict(item.split("=", 1) for item in table.split(" "))
            self._infl[parts[idx]] = table
        form = table.get(tag) if table else None
        if form is None:
            return None
        parts[idx] = form
        return " ".join(parts)

    def has(self, observed: str) -> bool:
        return observed in self._rev or observed in self._extra

    def may_start_phrase(self, word: str) -> bool:
        return word in self._phrase_heads

    def fanout(self, original: str) -> int:
        """How many synonyms the thesauri list for ``original`` (≥ 1)."""
        return max(self._fanout.get(original, 1), 1)

    def zipf(self, word: str) -> float | None:
        """wordfreq's Zipf frequency of an original (None if not an original)."""
        return self._zipf.get(word)

    def table_entries(self, source: str | None = None) -> list[tuple[str, Entry]]:
        return [
            (spun, e)
            for spun, entries in self._extra.items()
            for e in entries
            if source is None or e.source == source
        ]


def _cache_path(packed: bytes) -> Path | None:
    """Where the parsed thesaurus is cached (None: caching disabled or no home)."""
    if os.environ.get("UNSPIN_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not base or base.startswith("~"):
        return None
    tag = hashlib.sha256(packed).hexdigest()[:16]
    py = f"{sys.version_info[0]}{sys.version_info[1]}"
    return Path(base) / "unspin" / f"lexicon-{tag}-py{py}.marshal"


CACHES_KEPT = 2  # parsed thesauri kept in the cache folder (~34 MB each)


def _write_cache(path: Path, data: bytes) -> None:
    # Written to a temporary name and renamed, so a reader never sees half a file.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        return  # a read-only home only costs start-up time
    # Each new data file (an upgrade) writes a new cache; without pruning the
    # old ones would pile up. Two are kept, so two installed versions sharing
    # a home do not evict each other on every run.
    try:
        old = sorted((p for p in path.parent.glob("lexicon-*.marshal") if p != path),
                     key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in old[CACHES_KEPT - 1:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


def _read_tsv(f) -> list[tuple[str, str, float]]:
    pairs = []
    for line in f:
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        prob = float(parts[2]) if len(parts) > 2 and parts[2] else 0.5
        pairs.append((parts[0], parts[1], prob))
    return pairs


# Field names of a user table's columns (JSON keys, or a CSV/TSV header row).
_SPUN_FIELDS = ("spun", "tortured", "tortured_phrase")
_ORIGINAL_FIELDS = ("original", "correct", "expected")


def read_table(path: str | Path) -> list[tuple[str, str, float]]:
    """Read a user substitution table: JSON, CSV or TSV of spun → original.

    Accepted shapes (the Problematic Paper Screener's fingerprint lists, and
    ``unspin learn`` output): a JSON list of ``{"spun"|"tortured", "original"|
    "correct"|"expected", "prob"?}`` objects or of ``[spun, original]`` pairs,
    a JSON object ``{spun: original}``, or CSV/TSV rows ``spun,original[,prob]``
    (a header row is skipped).
    """
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is no part of row 1
    except OSError as e:
        raise InputError(f"cannot read lexicon {p}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise InputError(f"lexicon {p} is not valid UTF-8 (byte 0x{e.object[e.start]:02x} "
                         f"at offset {e.start})") from None
    if not raw.strip():
        raise InputError(f"lexicon {p} is empty")
    pairs: list[tuple[str, str, float]] = []

    def prob_of(value: object, where: str) -> float:
        try:
            prob = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(f"lexicon {p}: {where}: probability {value!r} is not a number"
                             ) from None
        if not 0.0 < prob <= 1.0:
            raise InputError(f"lexicon {p}: {where}: probability {prob} is not in (0, 1]")
        return prob

    if p.suffix.lower() == ".json" or raw.lstrip()[:1] in ("[", "{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(f"lexicon {p} is not valid JSON: {e}") from None
        if isinstance(data, dict) and "entries" in data:
            data = data["entries"]
        if not isinstance(data, dict | list):
            raise InputError(f"lexicon {p}: expected a JSON list or object")
        items = data.items() if isinstance(data, dict) else data
        for k, item in enumerate(items):
            if isinstance(item, dict):
                spun = next((item[f] for f in _SPUN_FIELDS if item.get(f)), None)
                orig = next((item[f] for f in _ORIGINAL_FIELDS if item.get(f)), None)
                prob = prob_of(item.get("prob", item.get("probability", 0.5)), f"entry {k + 1}")
            elif isinstance(item, list | tuple) and len(item) >= 2:
                spun, orig = item[0], item[1]
                prob = prob_of(item[2], f"entry {k + 1}") if len(item) > 2 else 0.5
            else:
                raise InputError(f"lexicon {p}: cannot read entry {item!r}")
            if isinstance(spun, str) and isinstance(orig, str):
                pairs.append((spun, orig, prob))
    else:
        dialect = "excel-tab" if "\t" in raw.split("\n", 1)[0] else "excel"
        for i, row in enumerate(csv.reader(io.StringIO(raw), dialect=dialect)):
            if len(row) < 2 or (i == 0 and row[0].strip().lower() in _SPUN_FIELDS):
                continue  # a header row names the spun column as JSON entries do
            prob = prob_of(row[2], f"row {i + 1}") if len(row) > 2 and row[2].strip() else 0.5
            pairs.append((row[0], row[1], prob))
    if not pairs:
        raise InputError(f"lexicon {p} has no entries")
    return pairs
