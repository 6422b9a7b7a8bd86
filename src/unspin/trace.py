"""Trace a spun copy back to its source, and group copies of one source.

Two stages. Retrieval: the copy's swap-surviving keys (see :mod:`unspin.index`)
vote for indexed documents, each shared key weighted by its IDF. Verification:
the best candidates are aligned word by word with the copy; a copy word is
*explained* when it equals a source word or sits in a short substitution
(≤ 3 words either side) between equal runs, which is what a dictionary
spinner's swap looks like. ``coverage`` is the explained share of the copy and
decides "source found" against a threshold calibrated on unrelated documents.

>>> from unspin.index import Index
>>> idx = Index(":memory:")
>>> _ = idx.add([("src", "The mayor of Springfield told reporters on Tuesday that the new "
...                      "bridge over the Mill River would open in 2027, one of three projects "
...                      "the council approved after the flood of 2019.")])
>>> r = trace("The mayor of Springfield instructed journalists on Tuesday that the brand "
...           "new bridge over the Mill River would open in 2027, certainly one of three "
...           "initiatives the council authorised after the flood of 2019.", idx)
>>> r.found, r.matches[0].id, r.matches[0].coverage
(True, 'src', 1.0)
>>> trace("Rain is expected across the north of Scotland later in the week.", idx).found
False
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from functools import cache

from .index import KEY_FUNCTION_WORDS, NUMBER_WORDS, Index, MemoryStorage, SourceDoc
from .text import Document, InputError

# Unrelated text tops out near 0.47 (corpus/own: a paragraph sharing a stock
# sentence) and 0.21 at p99 (spun BBC/Reuters negatives); spun copies and
# excerpts sit at 0.84-1.0. See eval/evaluate_trace.py.
MIN_COVERAGE = 0.6
MIN_EQUAL_WORDS = 6  # a few shared words are chance, whatever the share
RUN_ANCHORS = 3  # equal non-function words an aligned run needs to count
MAX_SUB = 3  # longest substitution (words, either side) counted as a swap
# Candidates aligned: key score (IDF-weighted share of the copy's keys) at
# least MIN_KEY_SCORE and at least MIN_REL_SCORE of the best candidate's. True
# sources score >= 0.36 (excerpts) and >= 0.61 (full copies) on the eval, and
# are always the best or tied best; unrelated documents sit at p99 0.08-0.14.
# Alignment is the expensive step, so this is most of the query time saved.
MIN_KEY_SCORE = 0.1
MIN_REL_SCORE = 0.5  # 0.25 aligned 4.7 candidates per query at 100k, 0.5 aligns 2.3
MAX_DF_SHARE = 0.05  # keys in more than this share of the documents carry no signal
MIN_MAX_DF = 50
# ... and in more than this many, they cost more than they tell: every posting
# of a key is a vote to count, so at 100k documents a 5 % cut-off let stock
# shingles ("of the ... in the") dominate query time (p50 27 ms -> see docs/trace.md).
MAX_DF = 200


@dataclass(frozen=True, slots=True)
class Span:
    """Copy characters [copy_start, copy_end) align to source [source_start, source_end)."""

    copy_start: int
    copy_end: int
    source_start: int
    source_end: int


@dataclass(frozen=True, slots=True)
class Substitution:
    """A short replaced stretch: copy words [i1, i2) stand where source had [j1, j2)."""

    i1: int
    i2: int
    j1: int
    j2: int


@dataclass
class Alignment:
    coverage: float  # explained share of the copy's words
    source_coverage: float  # explained share of the source's words
    equal: int  # copy words equal to their source word
    spans: list[Span]
    substitutions: list[Substitution]
    copy: Document = field(repr=False)
    source: Document = field(repr=False)

    def pairs(self) -> list[tuple[str, str]]:
        """The substitutions as (copy words, source words), lowercase."""
        cw, sw = self.copy.words, self.source.words
        return [
            (
                " ".join(t.norm for t in cw[s.i1 : s.i2]),
                " ".join(t.norm for t in sw[s.j1 : s.j2]),
            )
            for s in self.substitutions
        ]


@dataclass
class Match:
    id: str
    score: float  # IDF-weighted share of the copy's keys found in this document
    coverage: float
    source_coverage: float
    shared_keys: int
    synonyms: int  # one-word substitutions the thesaurus confirms (copy word lists source)
    spans: list[Span]
    title: str | None = None
    url: str | None = None
    date: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["spans"] = [asdict(s) for s in self.spans]
        return d


@dataclass
class TraceResult:
    matches: list[Match]  # verified sources, best first (empty: no source found)
    candidates: int  # documents retrieved by key and aligned
    best_coverage: float  # of all aligned candidates, accepted or not
    threshold: float

    @property
    def found(self) -> bool:
        return bool(self.matches)

    @property
    def message(self) -> str:
        if self.found:
            m = self.matches[0]
            return f"source {m.id}: coverage {m.coverage:.0%}, key score {m.score:.2f}"
        if not self.candidates:
            return "no source found (no indexed document shares enough keys)"
        return (
            f"no source found (best coverage {self.best_coverage:.0%} of "
            f"{self.candidates} candidates < {self.threshold:.0%})"
        )

    def to_dict(self) -> dict:
        return {
            "found": self.found,
            "message": self.message,
            "threshold": self.threshold,
            "candidates": self.candidates,
            "matches": [m.to_dict() for m in self.matches],
        }


# ---------------------------------------------------------------------- alignment


def _align_tokens(doc: Document) -> list[str]:
    return [NUMBER_WORDS.get(t.norm, t.norm) for t in doc.words]


def align(copy: str | Document, source: str | Document) -> Alignment:
    """Align a copy with a candidate source, word by word.

    >>> a = align("Police instructed CNN on Monday.", "Police told CNN on Monday.")
    >>> a.coverage, a.pairs()
    (1.0, [('instructed', 'told')])
    """
    cdoc = copy if isinstance(copy, Document) else Document.from_text(copy)
    sdoc = source if isinstance(source, Document) else Document.from_text(source)
    a, b = _align_tokens(cdoc), _align_tokens(sdoc)
    # autojunk off: it would junk "the"/"of", exactly the words spinners keep.
    ops = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    explained = [False] * len(ops)
    subs: list[Substitution] = []
    op_of: dict[Substitution, int] = {}
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            explained[k] = True
            continue
        between = 0 < k < len(ops) - 1 and ops[k - 1][0] == "equal" and ops[k + 1][0] == "equal"
        if between and i2 - i1 <= MAX_SUB and j2 - j1 <= MAX_SUB:
            explained[k] = True
            if tag == "replace":
                subs.append(Substitution(i1, i2, j1, j2))
                op_of[subs[-1]] = k
    # Runs of explained ops; a run counts only if it holds enough equal words
    # that are not function words: unrelated texts also share chains of
    # "of the ... in a", but not of content words.
    is_anchor = [t not in KEY_FUNCTION_WORDS for t in a]
    spans: list[Span] = []
    start = 0
    while start < len(ops):
        if not explained[start]:
            start += 1
            continue
        end = start
        while end < len(ops) and explained[end]:
            end += 1
        anchors = sum(
            sum(is_anchor[op[1] : op[2]]) for op in ops[start:end] if op[0] == "equal"
        )
        if anchors < RUN_ANCHORS:
            for k in range(start, end):
                explained[k] = False
        else:
            i1, j1 = ops[start][1], ops[start][3]
            i2, j2 = ops[end - 1][2], ops[end - 1][4]
            spans.append(
                Span(
                    cdoc.words[i1].start,
                    cdoc.words[max(i2 - 1, i1)].end,
                    sdoc.words[j1].start,
                    sdoc.words[max(j2 - 1, j1)].end,
                )
            )
        start = end
    subs = [s for s in subs if explained[op_of[s]]]
    equal = sum(op[2] - op[1] for k, op in enumerate(ops) if explained[k] and op[0] == "equal")
    cov = sum(op[2] - op[1] for k, op in enumerate(ops) if explained[k])
    scov = sum(op[4] - op[3] for k, op in enumerate(ops) if explained[k])
    return Alignment(
        coverage=round(cov / len(a), 4) if a else 0.0,
        source_coverage=round(scov / len(b), 4) if b else 0.0,
        equal=equal,
        spans=spans,
        substitutions=subs,
        copy=cdoc,
        source=sdoc,
    )


@cache
def _originals(word: str) -> frozenset[str]:
    """Lemma-level originals the thesaurus lists for an observed word."""
    from .lexicon import Lexicon

    lex = Lexicon.default()
    lemmas = {word} | {a.lemma for a in lex.analyses(word)}
    return frozenset(e.original for lemma in lemmas for e in lex.lookup(lemma))


def synonym_confirmed(spun: str, original: str) -> bool:
    """Whether the thesaurus could have produced ``spun`` from ``original``."""
    from .lexicon import Lexicon

    lex = Lexicon.default()
    originals = _originals(spun)
    return original in originals or any(a.lemma in originals for a in lex.analyses(original))


# ------------------------------------------------------------------------- trace


def candidates(doc: Document, index: Index, limit: int) -> list[tuple[int, float, int]]:
    """(rowid, key score, shared keys) of the best-voted documents."""
    keys = index.keys(doc)
    n = max(index.n_docs, 1)
    max_df = max(MIN_MAX_DF, min(MAX_DF, int(MAX_DF_SHARE * n)))
    votes: dict[int, float] = {}
    shared: Counter[int] = Counter()
    total = 0.0
    found = index.postings_many(keys, max_df + 1)
    for key in keys:
        rows = found.get(key, [])
        if len(rows) > max_df:
            continue  # "of the" at scale: in everything, means nothing
        # An unseen key counts in the denominator at full weight: a copy whose
        # keys are mostly unknown is mostly not from this index.
        w = math.log(1.0 + n / max(len(rows), 1))
        total += w
        for r in rows:
            votes[r] = votes.get(r, 0.0) + w
            shared[r] += 1
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [(r, v / total if total else 0.0, shared[r]) for r, v in ranked]


def trace(
    text: str | Document,
    index: Index,
    top: int = 5,
    threshold: float = MIN_COVERAGE,
    exclude: Iterable[str] = (),
    synonyms: bool = True,
    min_score: float = MIN_KEY_SCORE,
) -> TraceResult:
    """Find the indexed sources of ``text``; best first, verified by alignment.

    Only candidates with a key score of at least ``min_score`` (and
    ``MIN_REL_SCORE`` of the best one's) are aligned; 0 aligns all retrieved.
    """
    doc = text if isinstance(text, Document) else Document.from_text(text)
    if not doc.words:
        raise InputError("nothing to trace: the input has no words")
    skip = set(exclude)
    cands = candidates(doc, index, limit=max(3 * top, 10) + len(skip))
    if skip:  # first, so that the relative floor is set by a document that may match
        cands = [c for c in cands if index.doc(c[0]).id not in skip]
    if min_score > 0:
        floor = max(min_score, MIN_REL_SCORE * max((c[1] for c in cands), default=0.0))
        cands = [c for c in cands if c[1] >= floor]
    matches: list[Match] = []
    best = 0.0
    aligned = 0
    for rowid, score, n_shared in cands:
        src = index.doc(rowid)
        aligned += 1
        al = align(doc, src.text)
        best = max(best, al.coverage)
        if al.coverage < threshold or al.equal < MIN_EQUAL_WORDS:
            continue
        n_syn = 0
        if synonyms:
            n_syn = sum(
                1
                for c, s in al.pairs()
                if " " not in c and " " not in s and synonym_confirmed(c, s)
            )
        matches.append(
            Match(
                src.id, round(score, 4), al.coverage, al.source_coverage, n_shared, n_syn,
                al.spans, src.title, src.url, src.date,
            )
        )
    matches.sort(key=lambda m: (-m.coverage, -m.score, m.id))
    return TraceResult(matches[:top], aligned, best, threshold)


# ------------------------------------------------------------------------- group


@dataclass
class Cluster:
    members: list[str]
    # Substitutions shared by aligned member pairs: (one wording, other wording, pairs).
    fingerprint: list[tuple[str, str, int]]

    def to_dict(self) -> dict:
        return {
            "members": self.members,
            "fingerprint": [{"a": a, "b": b, "pairs": n} for a, b, n in self.fingerprint],
        }


def group(
    docs: Iterable[tuple[str, str] | str],
    threshold: float = MIN_COVERAGE,
    min_pairs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[Cluster]:
    """Cluster documents that share a source (union-find over verified traces).

    ``docs`` are (id, text) pairs or bare texts (ids "0", "1", ...). Singletons
    are returned too, so every input appears in exactly one cluster.
    ``progress(1)`` is called after each document is traced.
    """
    items = [(str(i), d) if isinstance(d, str) else (str(d[0]), d[1]) for i, d in enumerate(docs)]
    index = Index(storage=MemoryStorage())
    index.add(SourceDoc(i, t) for i, t in items)
    parent = {i: i for i, _ in items}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # Each pair once, whichever side found it. A trace is one-way (an excerpt
    # finds its source, but the source, mostly text the excerpt lacks, need
    # not find the excerpt), so keeping only the finds of the smaller id
    # lost pairs depending on how the ids sort. A dict keeps them in order.
    edges: dict[tuple[str, str], None] = {}
    for doc_id, text in items:
        result = trace(text, index, top=len(items), threshold=threshold, exclude=[doc_id],
                       synonyms=False, min_score=0.0)
        for m in result.matches:
            a, b = sorted((doc_id, m.id))
            edges[a, b] = None
            parent[find(doc_id)] = find(m.id)
        if progress is not None:
            progress(1)
    texts = dict(items)
    subs: dict[str, Counter[tuple[str, str]]] = {}
    for a, b in edges:
        for x, y in align(texts[a], texts[b]).pairs():
            subs.setdefault(find(a), Counter())[tuple(sorted((x, y)))] += 1
    clusters: dict[str, list[str]] = {}
    for doc_id, _ in items:
        clusters.setdefault(find(doc_id), []).append(doc_id)
    out = []
    for root, members in clusters.items():
        counts = subs.get(root, Counter())
        fp = [(x, y, n) for (x, y), n in counts.most_common() if n >= min_pairs]
        out.append(Cluster(members, fp[:50]))
    out.sort(key=lambda c: (-len(c.members), c.members[0]))
    return out
