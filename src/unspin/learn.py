"""Learn a spinner's own substitution table.

Knowing the table beats any thesaurus (docs/lexicon.md), and
a site's spinner is stable, so a table learned from a few of its copies helps
restore all of them. Two ways in:

* :func:`learn_pairs`: from aligned (copy, source) pairs, e.g. found by
  :func:`unspin.trace.trace`. Every short substitution the alignment shows is a
  spun → original observation; ``prob`` = count(spun → original) / count(spun
  anywhere in the copies), the channel probability restore expects.
* :func:`learn_site`: without sources, from many pages of one site. A word
  the spinner writes for ``o`` reads worse than ``o`` wherever it stands, so
  each thesaurus original the site under-uses is tried in the word's contexts
  on the site (trigram LM); consistent, frequency-corrected gains over many
  uses mark the spinner's entries, where frequency shift alone cannot tell
  them from the site's topic words.

The output is a TSV ``spun, original, prob, count`` that
:func:`unspin.lexicon.read_table` and ``unspin restore --lexicon`` read.

>>> t = learn_pairs([("Police instructed CNN on Monday that the fee was paid.",
...                   "Police told CNN on Monday that the commission was paid.")])
>>> [(e.spun, e.original, e.prob) for e in t]
[('fee', 'commission', 1.0), ('instructed', 'told', 1.0)]
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .index import KEY_FUNCTION_WORDS, swappable
from .text import Document, InputError
from .trace import MAX_SUB, Alignment, align

# Up to three lowercase words; a number may be one of them ("12 months" -> "year").
_PHRASE_RE = re.compile(r"^[a-z0-9][a-z0-9'’-]*(?: [a-z0-9][a-z0-9'’-]*){0,2}$")


@dataclass(frozen=True, slots=True)
class Learned:
    spun: str
    original: str
    prob: float
    count: int


def _usable(spun: str, orig: str) -> bool:
    """Whether a substitution can be a spinner's: short phrases of words, and not
    one figure for another (an updated count is the news, not a swap).

    >>> _usable("12 months", "year"), _usable("five", "5"), _usable("2021", "2022")
    (True, True, False)
    """
    if not (_PHRASE_RE.match(spun) and _PHRASE_RE.match(orig)):
        return False
    return not (spun.replace(" ", "").isdigit() and orig.replace(" ", "").isdigit())


def _pairs_of(spun: list[str], orig: list[str]) -> list[tuple[str, str]]:
    """Observations from one substitution; equal-length runs are word-for-word swaps,
    unless a number stands against a word: "12 months" for "a year" is one phrase
    swap, not "12" for "a" and "months" for "year". A figure against a figure is
    the news changing, and is left out.

    >>> _pairs_of(["stated", "troopers"], ["said", "soldiers"])
    [('stated', 'said'), ('troopers', 'soldiers')]
    >>> _pairs_of(["12", "months"], ["a", "year"])
    [('12 months', 'a year')]
    >>> _pairs_of(["15", "troopers"], ["12", "soldiers"])
    [('troopers', 'soldiers')]
    """
    def figure(w: str) -> bool:
        return w[:1].isdigit()

    if len(spun) == len(orig) and all(figure(s) == figure(o) for s, o in zip(spun, orig,
                                                                            strict=True)):
        return [(s, o) for s, o in zip(spun, orig, strict=True) if s != o and not figure(s)]
    return [(" ".join(spun), " ".join(orig))]


def learn_pairs(
    pairs: Iterable[tuple[str, str]], min_count: int = 1, min_coverage: float = 0.5,
    skipped: list[tuple[int, float]] | None = None,
) -> list[Learned]:
    """Harvest spun → original substitutions from (copy, source) pairs.

    Pairs whose alignment covers less than ``min_coverage`` of the copy are
    skipped: they are not copy and source, and would only teach noise. Each
    is listed in ``skipped``, when given, as (its position, its coverage).

    A swap at the very start or end of a text (no equal word on one side)
    is learned too, when the text's other end of the alignment is equal.

    >>> [(e.spun, e.original, e.prob) for e in learn_pairs([(
    ...     "Troopers were despatched on Sunday, the ministry stated. Troopers will stay.",
    ...     "Soldiers were sent on Sunday, the ministry said. Soldiers will stay.")])]
    [('despatched', 'sent', 1.0), ('stated', 'said', 1.0), ('troopers', 'soldiers', 1.0)]
    """
    subs: Counter[tuple[str, str]] = Counter()
    copies: list[list[str]] = []
    for k, (copy, source) in enumerate(pairs):
        al = align(copy, source)
        if al.coverage < min_coverage:
            if skipped is not None:
                skipped.append((k, al.coverage))
            continue
        cw = [t.norm for t in al.copy.words]
        sw = [t.norm for t in al.source.words]
        copies.append(cw)
        ranges = [(s.i1, s.i2, s.j1, s.j2) for s in al.substitutions]
        for i1, i2, j1, j2 in ranges + _edge_swaps(al, len(cw), len(sw)):
            for spun, orig in _pairs_of(cw[i1:i2], sw[j1:j2]):
                if _usable(spun, orig):
                    subs[(spun, orig)] += 1
    if not subs:
        return []
    # count(spun): every occurrence of the spun form in the copies, swapped or
    # not, so a word the spinner only sometimes writes for X gets a low prob.
    forms = {spun for spun, _ in subs}
    seen: Counter[str] = Counter()
    for words in copies:
        for n in range(1, MAX_SUB + 1):
            for i in range(len(words) - n + 1):
                gram = " ".join(words[i : i + n])
                if gram in forms:
                    seen[gram] += 1
    out = [
        Learned(spun, orig, round(min(1.0, n / max(seen[spun], n)), 4), n)
        for (spun, orig), n in subs.items()
        if n >= min_count
    ]
    out.sort(key=lambda e: (e.spun, -e.count, e.original))
    return out


def _edge_swaps(al: Alignment, n_copy: int, n_source: int) -> list[tuple[int, int, int, int]]:
    """Short mismatches before the first explained run and after the last
    (a swapped first or last word), which the alignment cannot explain: it
    needs equal words on both sides of a substitution."""
    if not al.runs:
        return []
    out = []
    i1, _, j1, _ = al.runs[0]
    if 0 < i1 <= MAX_SUB and 0 < j1 <= MAX_SUB and j1 == min(r[2] for r in al.runs):
        out.append((0, i1, 0, j1))
    _, i2, _, j2 = al.runs[-1]
    if (0 < n_copy - i2 <= MAX_SUB and 0 < n_source - j2 <= MAX_SUB
            and j2 == max(r[3] for r in al.runs)):
        out.append((i2, n_copy, j2, n_source))
    return out


# ------------------------------------------------------------------ site mode


def _word_counts(texts: Iterable[str]) -> tuple[Counter[str], int]:
    """Lowercase content-word counts and the total word count."""
    counts, total, _, _ = _site_words(texts, keep=False)
    return counts, total


def _site_words(
    texts: Iterable[str], keep: bool = True
) -> tuple[Counter[str], int, dict[str, list[tuple[int, int]]], list[Document]]:
    """Content-word counts, total words, and (with ``keep``) each content
    word's occurrences as (document, word index) with the parsed documents."""
    counts: Counter[str] = Counter()
    where: dict[str, list[tuple[int, int]]] = {}
    docs: list[Document] = []
    total = 0
    for text in texts:
        doc = Document.from_text(text)
        d = len(docs)
        if keep:
            docs.append(doc)
        for i, t in enumerate(doc.words):
            if t.kind != "word":
                continue
            total += 1
            if not swappable(t):
                continue  # spinners leave these alone; they only add noise
            counts[t.norm] += 1
            if keep:
                where.setdefault(t.norm, []).append((d, i))
    return counts, total, where, docs


def _spaced(items: list, k: int) -> list:
    """Up to ``k`` items spread evenly over the list (deterministic sample)."""
    if len(items) <= k:
        return items
    return [items[(j * len(items)) // k] for j in range(k)]


# Site-mode scoring, fitted on a dev "site" (eval/evaluate_learn.py, BBC dev,
# roget seed 0) and checked on held-out documents; see docs/accuracy.md.
_SITE_DZ = 2.3  # nats of LM gain discounted per Zipf unit the original is more common
_SITE_REL = 1.4  # weight of ln(the original's share among w's candidates)
_SITE_N = 1.7  # weight of ln(count of w on the site): consistency over many uses
SITE_MIN_SCORE = 6.0  # entries below this score are left out
SITE_PRECISE_SCORE = 7.0  # precise=True: the stricter cut
_SITE_SURE = 7.0  # score at which an entry is trusted at half its share
_STAGE1_OCC = 8  # occurrences that short-list candidates
_STAGE1_KEEP = 8  # candidates per word scored on all sampled occurrences


@dataclass(slots=True)
class _SiteCandidate:
    spun: str
    original: str
    count: int  # occurrences of ``spun`` on the site
    gain: float  # mean LM gain of the original over ``spun`` in the site's contexts
    share: float  # EM share of ``spun``'s occurrences explained by the original
    rel: float  # ``share`` over the summed shares of all of ``spun``'s candidates
    dz: float  # Zipf(original) - Zipf(spun)

    @property
    def score(self) -> float:
        # The LM prefers frequent words anywhere, so the gain is discounted by
        # the frequency gap (what is left is fit to *this* context); a real
        # entry also stands out among its rivals and recurs over many pages.
        return (self.gain - _SITE_DZ * self.dz + _SITE_REL * math.log(self.rel + 1e-4)
                + _SITE_N * math.log(self.count))


def _site_candidates(
    docs: Iterable[str],
    reference_texts: Iterable[str],
    min_count: int = 3,
    min_shift: float = -1.0,
    max_occurrences: int = 30,
) -> list[_SiteCandidate]:
    """Every (spun, original) pair learn_site considers, with its evidence."""
    from .lexicon import Lexicon
    from .lm import LanguageModel
    from .restore import _left, _lm_words, _right

    lex, lm = Lexicon.default(), LanguageModel.default()
    site, n_site, where, parsed = _site_words(docs)
    ref, n_ref = _word_counts(reference_texts)
    if n_site == 0:
        raise InputError("no words in the site documents")
    views = [_lm_words(d) for d in parsed]

    def ref_rate(w: str) -> float:
        background = 10 ** (lm.zipf((w,)) - 9)  # Zipf = log10 per 10^9 words
        # Half reference counts, half general English: the reference corpus is
        # small, and a word it lacks is not thereby rare.
        return 0.5 * (ref[w] + 0.5) / (n_ref + 1) + 0.5 * background

    def originals(w: str) -> set[str]:
        forms = {e.original for e in lex.lookup(w)}
        for a in lex.analyses(w):
            for e in lex.lookup(a.lemma):
                form = lex.inflect(e.original, a.tag)
                if form:
                    forms.add(form)
        return {
            o for o in forms
            if " " not in o and o not in KEY_FUNCTION_WORDS and o != w and lm.known(o)
        }

    def gains(w: str, occ: list[tuple[int, int]], cands: list[str]) -> list[list[float]]:
        """Per occurrence, each candidate's LM gain over ``w`` in a ±2-word window."""
        seqs = [(w,)] + [(o,) for o in cands]
        out = []
        for d, i in occ:
            doc, view = parsed[d], views[d]
            lps = lm.window_logprobs(_left(doc, view, i), seqs, _right(doc, view, i + 1))
            out.append([min(lp - lps[0], 30.0) for lp in lps[1:]])
        return out

    out: list[_SiteCandidate] = []
    for w, n in site.most_common():
        if n < min_count:
            break
        if not lm.known(w) or math.log(n / (n_site * ref_rate(w))) < min_shift:
            continue
        # A fixed-table spinner rewrites o wherever it acts, so o is under-used
        # on the site; a word used as much as usual is no candidate.
        cands = [o for o in originals(w) if site[o] < n_site * ref_rate(o)]
        if not cands:
            continue
        occ = where[w]
        if len(cands) > _STAGE1_KEEP:  # short-list on a few occurrences first
            g1 = gains(w, _spaced(occ, _STAGE1_OCC), cands)
            mean1 = [sum(col) for col in zip(*g1, strict=True)]
            keep = sorted(range(len(cands)), key=lambda k: -mean1[k])[:_STAGE1_KEEP]
            cands = [cands[k] for k in keep]
        g = gains(w, _spaced(occ, max_occurrences), cands)
        # EM over "w is natural here" (weight 1) vs "a spinner wrote w for o"
        # (weight c_o): c_o converges to the share of w's uses o explains.
        k = len(cands)
        c = [0.25 / k] * k
        for _ in range(5):
            acc = [0.0] * k
            for row in g:
                e = [ck * math.exp(x) for ck, x in zip(c, row, strict=True)]
                z = 1.0 + sum(e)
                for j in range(k):
                    acc[j] += e[j] / z
            c = [a / len(g) for a in acc]
        total = sum(c) or 1.0
        zw = lm.zipf((w,))
        for j, o in enumerate(cands):
            mean = sum(row[j] for row in g) / len(g)
            out.append(_SiteCandidate(w, o, n, mean, c[j], c[j] / total, lm.zipf((o,)) - zw))
    return out


def learn_site(
    docs: Iterable[str],
    reference_texts: Iterable[str],
    min_count: int = 3,
    min_shift: float = -1.0,
    max_entries: int = 500,
    precise: bool = False,
    max_occurrences: int = 30,
    min_score: float | None = None,
) -> list[Learned]:
    """Induce a spinner table from a site's pages alone (no sources).

    Candidates: each content word ``w`` seen ``min_count`` times whose site
    rate is not far below the reference rate (``min_shift``, natural log; the
    reference mixes the reference texts with the LM's unigram frequency), and
    its thesaurus originals ``o`` (re-inflected) that the site *under-uses*.

    Frequency shift alone cannot tell a site's topic words from spun ones, so
    the main signal is *context fit*: ``o`` is put in place of ``w`` in up to
    ``max_occurrences`` of ``w``'s uses on the site and the trigram LM scores
    the ±2-word window. A spinner's output reads consistently worse than its
    original; a topic word does not. Per ``w``, EM splits its uses between
    "natural" and each candidate; the score combines the mean LM gain (less
    2.3 nats per Zipf unit that ``o`` is more common, as the LM favours
    frequent words anywhere), ``o``'s share among the candidates and how
    often ``w`` occurs. Entries scoring ``min_score`` or more are kept, best
    first, at most ``max_entries``.

    ``prob`` is the EM share of ``w``'s uses that ``o`` explains (so a word
    the site also uses naturally gets a low channel probability in restore)
    times a logistic in the score (a doubtful entry is trusted less).

    ``precise=True`` trades entries for precision: a higher score cut and one
    original per spun word.
    """
    if min_score is None:
        min_score = SITE_PRECISE_SCORE if precise else SITE_MIN_SCORE
    cands = _site_candidates(docs, reference_texts, min_count, min_shift, max_occurrences)
    cands.sort(key=lambda c: -c.score)
    out: list[Learned] = []
    seen: set[str] = set()
    for c in cands:
        if c.score < min_score or len(out) >= max_entries:
            break
        if precise and c.spun in seen:
            continue
        seen.add(c.spun)
        # A weak entry gets a small channel probability: restore then needs
        # more LM evidence to use it, which keeps damage down on natural uses.
        prob = c.share / (1.0 + math.exp(_SITE_SURE - c.score))
        out.append(Learned(c.spun, c.original, round(max(prob, 1e-4), 4), c.count))
    out.sort(key=lambda e: (e.spun, -e.prob, e.original))
    return out


# ----------------------------------------------------------------------- files


def write_table(entries: Iterable[Learned], path: str | Path | None = None) -> str:
    """TSV with a header row; written to ``path`` when given, returned either way."""
    lines = ["spun\toriginal\tprob\tcount"]
    lines += [f"{e.spun}\t{e.original}\t{e.prob:g}\t{e.count}" for e in entries]
    text = "\n".join(lines) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def as_table(entries: Iterable[Learned]) -> list[tuple[str, str, float]]:
    """The (spun, original, prob) triples ``Lexicon.with_table`` takes."""
    return [(e.spun, e.original, e.prob) for e in entries]
