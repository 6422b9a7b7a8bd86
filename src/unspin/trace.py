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
# One explained run this long is a copied passage whatever the shares (a
# paragraph lifted into other text): unrelated news shares runs of names and
# stock phrases, well under this. See docs/trace.md.
MIN_PASSAGE_WORDS = 40
RUN_ANCHORS = 3  # equal non-function words an aligned run needs to count
MAX_SUB = 3  # longest substitution (words, either side) counted as a swap
# A stretch of the copy this long that the in-order alignment left unexplained
# is aligned again on its own (moved paragraphs, stitched copies).
MIN_REALIGN = 10
MAX_REALIGN_ROUNDS = 50
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
# ... unless they are most of what a copy has (see candidates()).
FALLBACK_MAX_DF = 5000


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
    longest: int = 0  # copy words in the longest explained run (one copied passage)
    # Word ranges (copy i1, i2, source j1, j2) of the explained runs, in copy order.
    runs: list[tuple[int, int, int, int]] = field(default_factory=list)

    def verified(self, threshold: float = 0.6) -> bool:
        """Whether the alignment shows a copy: most of the copy is explained,
        or most of the source was copied (a digest, a stitched article), or
        one long passage was (an excerpt inside other text).

        >>> one = "The council approved the new bridge over the Mill River on Tuesday."
        >>> align(one, one).verified(), align(one, "Rain is due in the north.").verified()
        (True, False)
        """
        if self.equal < MIN_EQUAL_WORDS:
            return False
        return (self.coverage >= threshold or self.source_coverage >= threshold
                or self.longest >= MIN_PASSAGE_WORDS)

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
    # The best aligned candidate that did not verify, so that a user can look
    # for themselves (its spans say what did align).
    near_miss: Match | None = None

    @property
    def found(self) -> bool:
        return bool(self.matches)

    @property
    def message(self) -> str:
        if self.found:
            m = self.matches[0]
            return (f"source {m.id}: coverage {m.coverage:.0%} of the copy, "
                    f"{m.source_coverage:.0%} of the source, key score {m.score:.2f}")
        if not self.candidates:
            return "no source found (no indexed document shares enough keys)"
        near = self.near_miss
        closest = (f"; closest {near.id}: {near.coverage:.0%} of the copy, "
                   f"{near.source_coverage:.0%} of the source" if near else "")
        return (
            f"no source found (best coverage {self.best_coverage:.0%} of "
            f"{self.candidates} candidates < {self.threshold:.0%}{closest})"
        )

    def to_dict(self) -> dict:
        return {
            "found": self.found,
            "message": self.message,
            "threshold": self.threshold,
            "candidates": self.candidates,
            "matches": [m.to_dict() for m in self.matches],
            "near_miss": self.near_miss.to_dict() if self.near_miss else None,
        }


# ---------------------------------------------------------------------- alignment


def _align_tokens(doc: Document) -> list[str]:
    return [NUMBER_WORDS.get(t.norm, t.norm) for t in doc.words]


def align(copy: str | Document, source: str | Document) -> Alignment:
    """Align a copy with a candidate source, word by word.

    The whole copy is aligned first, in order. A copy that moved paragraphs
    around then has long stretches left unexplained; each stretch of at
    least ``MIN_REALIGN`` words is aligned again on its own against the
    whole source, until nothing more is found, so a reordered or stitched
    copy is explained part by part.

    >>> a = align("Police instructed CNN on Monday.", "Police told CNN on Monday.")
    >>> a.coverage, a.pairs()
    (1.0, [('instructed', 'told')])
    >>> one = "The council approved the new bridge over the Mill River on Tuesday."
    >>> two = "Storm damage closed forty schools across the northern county overnight."
    >>> align(two + " " + one, one + " " + two).coverage
    1.0
    """
    cdoc = copy if isinstance(copy, Document) else Document.from_text(copy)
    sdoc = source if isinstance(source, Document) else Document.from_text(source)
    a, b = _align_tokens(cdoc), _align_tokens(sdoc)
    # autojunk off: it would junk "the"/"of", exactly the words spinners keep.
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(b)  # its index of the source is built once, for every part
    is_anchor = [t not in KEY_FUNCTION_WORDS for t in a]
    in_copy = [False] * len(a)
    in_source = [False] * len(b)
    spans: list[Span] = []
    subs: list[Substitution] = []
    equal = longest = 0
    runs_at: list[tuple[int, int, int, int]] = []
    todo = [(0, len(a))]
    rounds = 0
    while todo and rounds < MAX_REALIGN_ROUNDS:
        lo, hi = todo.pop()
        rounds += 1
        matcher.set_seq1(a[lo:hi])
        runs = _explained_runs(matcher.get_opcodes(), lo, is_anchor)
        for run in runs:
            for tag, i1, i2, j1, j2 in run:
                in_copy[i1:i2] = [True] * (i2 - i1)
                in_source[j1:j2] = [True] * (j2 - j1)
                if tag == "equal":
                    equal += i2 - i1
                elif tag == "replace":
                    subs.append(Substitution(i1, i2, j1, j2))
            i1, j1, i2, j2 = run[0][1], run[0][3], run[-1][2], run[-1][4]
            longest = max(longest, i2 - i1)
            runs_at.append((i1, i2, j1, j2))
            spans.append(Span(cdoc.words[i1].start, cdoc.words[max(i2 - 1, i1)].end,
                              sdoc.words[j1].start, sdoc.words[max(j2 - 1, j1)].end))
        if runs:  # what is left of this part, in stretches worth another look
            k = lo
            while k < hi:
                if in_copy[k]:
                    k += 1
                    continue
                m = k
                while m < hi and not in_copy[m]:
                    m += 1
                if m - k >= MIN_REALIGN and (k, m) != (lo, hi):
                    todo.append((k, m))
                k = m
    spans.sort(key=lambda sp: sp.copy_start)
    subs.sort(key=lambda sb: sb.i1)
    return Alignment(
        coverage=round(sum(in_copy) / len(a), 4) if a else 0.0,
        source_coverage=round(sum(in_source) / len(b), 4) if b else 0.0,
        equal=equal,
        spans=spans,
        substitutions=subs,
        copy=cdoc,
        source=sdoc,
        longest=longest,
        runs=sorted(runs_at),
    )


def _explained_runs(ops: list, offset: int, is_anchor: list[bool]) -> list[list[tuple]]:
    """The runs of explained opcodes (copy indices shifted by ``offset``).

    An op is explained when it is equal, or a short substitution (at most
    ``MAX_SUB`` words either side) between equal ops, which is what a
    dictionary spinner's swap looks like. A run counts only if it holds
    enough equal words that are not function words: unrelated texts also
    share chains of "of the ... in a", but not of content words.
    """
    explained = [False] * len(ops)
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            explained[k] = True
            continue
        between = 0 < k < len(ops) - 1 and ops[k - 1][0] == "equal" and ops[k + 1][0] == "equal"
        explained[k] = between and i2 - i1 <= MAX_SUB and j2 - j1 <= MAX_SUB
    runs = []
    start = 0
    while start < len(ops):
        if not explained[start]:
            start += 1
            continue
        end = start
        while end < len(ops) and explained[end]:
            end += 1
        run = [(tag, i1 + offset, i2 + offset, j1, j2) for tag, i1, i2, j1, j2 in ops[start:end]]
        anchors = sum(sum(is_anchor[i1:i2]) for tag, i1, i2, _, _ in run if tag == "equal")
        if anchors >= RUN_ANCHORS:
            runs.append(run)
        start = end
    return runs


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
    common = [k for k in keys if len(found.get(k, ())) > max_df]
    if common and 2 * len(common) >= sum(1 for k in keys if k in found):
        # Most of the copy's indexed keys are "common": the index holds many
        # copies of this very story (a syndicated piece). Skipping them would
        # leave the most-copied stories the only ones never found, so they
        # are read further; stock phrases alone rarely make a majority.
        max_df = FALLBACK_MAX_DF
        found.update(index.postings_many(common, max_df + 1))
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
    if not isinstance(index, Index):  # a path is the usual mistake: say what to pass
        raise TypeError(f"trace needs an Index, not {type(index).__name__}: "
                        "open one with unspin.Index(path)")
    doc = text if isinstance(text, Document) else Document.from_text(text)
    if not doc.words:
        raise InputError("nothing to trace: the input has no words")
    if not index.n_docs:
        raise InputError("the index holds no documents: add some with unspin index add")
    skip = set(exclude)
    cands = candidates(doc, index, limit=max(3 * top, 10) + len(skip))
    if skip:  # first, so that the relative floor is set by a document that may match
        cands = [c for c in cands if index.doc(c[0]).id not in skip]
    if min_score > 0:
        floor = max(min_score, MIN_REL_SCORE * max((c[1] for c in cands), default=0.0))
        cands = [c for c in cands if c[1] >= floor]
    matches: list[Match] = []
    near: Match | None = None
    best = 0.0
    aligned = 0
    for rowid, score, n_shared in cands:
        src = index.doc(rowid)
        aligned += 1
        al = align(doc, src.text)
        best = max(best, al.coverage)
        if not al.verified(threshold):
            if near is None or al.coverage > near.coverage:
                near = _match(src, score, n_shared, al, 0)
            continue
        n_syn = 0
        if synonyms:
            n_syn = sum(
                1
                for c, s in al.pairs()
                if " " not in c and " " not in s and synonym_confirmed(c, s)
            )
        matches.append(_match(src, score, n_shared, al, n_syn))
    # Best first: the larger share of the copy, and of two sources the copy
    # holds whole (a digest), the one more of it holds.
    matches.sort(key=lambda m: (-m.coverage, -m.source_coverage, -m.score, m.id))
    return TraceResult(matches[:top], aligned, best, threshold, None if matches else near)


def _match(src: SourceDoc, score: float, n_shared: int, al: Alignment, n_syn: int) -> Match:
    return Match(src.id, round(score, 4), al.coverage, al.source_coverage, n_shared, n_syn,
                 al.spans, src.title, src.url, src.date)


# ------------------------------------------------------------------------- group


@dataclass
class Cluster:
    members: list[str]
    # Substitutions shared by aligned member pairs: (one wording, other wording, pairs).
    fingerprint: list[tuple[str, str, int]]
    # For a document that holds copies of several stories (a digest, a page
    # stitched from two articles): one member of each cluster it copies. It
    # is a cluster of its own, so that it does not chain those stories.
    holds: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "members": self.members,
            "fingerprint": [{"a": a, "b": b, "pairs": n} for a, b, n in self.fingerprint],
            "holds": self.holds,
        }


Regions = dict[str, dict[str, list[tuple[int, int]]]]  # doc -> neighbour -> its spans in doc


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

    A document that holds several stories in different places, at least one
    of which has copies of its own, is a *hub* (``Cluster.holds``): linked
    to each, it would chain them all into one cluster.
    """
    items = [(str(i), d) if isinstance(d, str) else (str(d[0]), d[1]) for i, d in enumerate(docs)]
    index = Index(storage=MemoryStorage())
    index.add(SourceDoc(i, t) for i, t in items)
    # Each pair is aligned once, whichever side finds it first: a trace is
    # one-way (an excerpt finds its source, but the source, mostly text the
    # excerpt lacks, need not find the excerpt), and one alignment gives the
    # spans on both sides. Dicts keep the pairs in the order found.
    regions: Regions = {i: {} for i, _ in items}
    # Copies that each explain most of the other are one story whatever else
    # is found: they are merged at once, and a document is not aligned again
    # with its merged copies (200 reprints of one story: one trace aligns
    # them, not 200 × 199 / 2 alignments). No digest is ever merged so: a
    # digest explains only part of each story it holds.
    same: dict[str, list[str]] = {i: [i] for i, _ in items}  # doc -> its merged copies
    for doc_id, text in items:
        result = trace(text, index, top=len(items), threshold=threshold,
                       exclude=[*regions[doc_id], *same[doc_id]], synonyms=False, min_score=0.0)
        for m in result.matches:
            regions[doc_id][m.id] = [(sp.copy_start, sp.copy_end) for sp in m.spans]
            regions[m.id][doc_id] = [(sp.source_start, sp.source_end) for sp in m.spans]
            if (m.coverage >= threshold and m.source_coverage >= threshold
                    and same[m.id] is not same[doc_id]):
                merged = same[doc_id] + same[m.id]
                for x in merged:
                    same[x] = merged
        if progress is not None:
            progress(1)
    texts = dict(items)
    hubs = _hubs(regions, {i: len(t) for i, t in items})
    find = _components(regions, hubs)
    edges = [(a, b) for a in regions for b in regions[a] if a < b]
    subs: dict[str, Counter[tuple[str, str]]] = {}
    for a, b in edges:
        if a not in hubs and b not in hubs:
            for x, y in align(texts[a], texts[b]).pairs():
                subs.setdefault(find(a), Counter())[tuple(sorted((x, y)))] += 1
    clusters: dict[str, list[str]] = {}
    for doc_id, _ in items:
        clusters.setdefault(find(doc_id), []).append(doc_id)
    out = []
    for root, members in clusters.items():
        counts = subs.get(root, Counter())
        fp = [(x, y, n) for (x, y), n in counts.most_common() if n >= min_pairs]
        held = []
        if root in hubs:
            roots = dict.fromkeys(find(y) for y in regions[root] if y not in hubs)
            held = [clusters[r][0] for r in roots]
        out.append(Cluster(members, fp[:50], held))
    out.sort(key=lambda c: (-len(c.members), c.members[0]))
    return out


def _hubs(regions: Regions, sizes: dict[str, int]) -> set[str]:
    """The documents that hold copies of several stories.

    A candidate is a document that two neighbours each explain only in part
    (under ``MIN_COVERAGE`` of it) and none explains in full. Its neighbours are grouped by the
    clusters they form without any candidate; the candidate is a hub when
    two of those clusters sit in different places of it (their spans overlap
    by less than half) and one of them has copies of its own (two members or
    more). A source with two excerpts from different paragraphs, and nothing
    else, stays a source: its excerpts have no copies of their own.
    """
    def share(spans: list[tuple[int, int]], x: str) -> float:
        return sum(b - a for a, b in spans) / max(sizes[x], 1)

    candidates = set()
    for x, nb in regions.items():
        shares = [share(sp, x) for sp in nb.values()]
        # A neighbour that explains most of x is another copy of x: then x is
        # one more copy of a story that others excerpt, not a digest.
        if sum(sh < MIN_COVERAGE for sh in shares) >= 2 and max(shares) < MIN_COVERAGE:
            candidates.add(x)
    if not candidates:
        return set()
    find = _components(regions, candidates)
    size = Counter(find(x) for x in regions)
    hubs = set()
    for x in candidates:
        places: dict[str, list[tuple[int, int]]] = {}
        for y, spans in regions[x].items():
            places.setdefault(find(y), []).extend(spans)
        groups = list(places.items())
        if any(_apart(sa, sb) and max(size[ra], size[rb]) >= 2
               for k, (ra, sa) in enumerate(groups) for rb, sb in groups[k + 1 :]):
            hubs.add(x)
    return hubs


def _components(regions: Regions, without: set[str]) -> Callable[[str], str]:
    """The clusters the aligned pairs form, leaving out the documents ``without``
    (each then a cluster of its own): a function from a document to its
    cluster's root (union-find)."""
    parent = {x: x for x in regions}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, neighbours in regions.items():
        for b in neighbours:
            if a not in without and b not in without:
                parent[find(a)] = find(b)
    return find


def _apart(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    """Whether two sets of character spans overlap by less than half the smaller.

    >>> _apart([(0, 100)], [(150, 300)]), _apart([(0, 100)], [(20, 90)])
    (True, False)
    """
    def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for s, e in sorted(spans):
            if out and s <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], e))
            else:
                out.append((s, e))
        return out

    ma, mb = merged(a), merged(b)
    overlap = sum(max(0, min(e1, e2) - max(s1, s2)) for s1, e1 in ma for s2, e2 in mb)
    smaller = min(sum(e - s for s, e in ma), sum(e - s for s, e in mb))
    return overlap < 0.5 * smaller
