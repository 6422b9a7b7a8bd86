"""Learn a spinner's own substitution table.

Knowing the table beats any thesaurus (see /work/shared/notes/spinners.md), and
a site's spinner is stable, so a table learned from a few of its copies helps
restore all of them. Two ways in:

* :func:`learn_pairs`: from aligned (copy, source) pairs, e.g. found by
  :func:`unspin.trace.trace`. Every short substitution the alignment shows is a
  spun → original observation; ``prob`` = count(spun → original) / count(spun
  anywhere in the copies), the channel probability restore expects.
* :func:`learn_site`: without sources, from the frequency shift of a site's
  pages against clean reference prose: a word the site over-uses whose
  thesaurus originals the site under-uses is probably what the spinner writes
  for them.

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

from .index import FUNCTION_WORDS
from .text import Document, InputError
from .trace import MAX_SUB, align

_PHRASE_RE = re.compile(r"^[a-z][a-z'’-]*(?: [a-z][a-z'’-]*){0,2}$")


@dataclass(frozen=True, slots=True)
class Learned:
    spun: str
    original: str
    prob: float
    count: int


def _usable(phrase: str) -> bool:
    return bool(_PHRASE_RE.match(phrase))


def _pairs_of(spun: list[str], orig: list[str]) -> list[tuple[str, str]]:
    """Observations from one substitution; equal-length runs are word-for-word swaps."""
    if len(spun) == len(orig):
        return [(s, o) for s, o in zip(spun, orig, strict=True) if s != o]
    return [(" ".join(spun), " ".join(orig))]


def learn_pairs(
    pairs: Iterable[tuple[str, str]], min_count: int = 1, min_coverage: float = 0.5
) -> list[Learned]:
    """Harvest spun → original substitutions from (copy, source) pairs.

    Pairs whose alignment covers less than ``min_coverage`` of the copy are
    skipped: they are not copy and source, and would only teach noise.
    """
    subs: Counter[tuple[str, str]] = Counter()
    copies: list[list[str]] = []
    for copy, source in pairs:
        al = align(copy, source)
        if al.coverage < min_coverage:
            continue
        cw = [t.norm for t in al.copy.words]
        sw = [t.norm for t in al.source.words]
        copies.append(cw)
        for s in al.substitutions:
            for spun, orig in _pairs_of(cw[s.i1 : s.i2], sw[s.j1 : s.j2]):
                if _usable(spun) and _usable(orig):
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


# ------------------------------------------------------------------ site mode


def _word_counts(texts: Iterable[str]) -> tuple[Counter[str], int]:
    """Lowercase content-word counts and the total word count."""
    counts: Counter[str] = Counter()
    total = 0
    for text in texts:
        for t in Document.from_text(text).words:
            if t.kind != "word":
                continue
            total += 1
            if t.norm in FUNCTION_WORDS or (t.text[:1].isupper() and not t.sentence_start):
                continue  # spinners leave these alone; they only add noise
            counts[t.norm] += 1
    return counts, total


def learn_site(
    docs: Iterable[str],
    reference_texts: Iterable[str],
    min_count: int = 3,
    min_shift: float = 1.0,
    max_entries: int = 500,
    precise: bool = False,
) -> list[Learned]:
    """Induce a spinner table from a site's pages alone (no sources).

    A word is *over-represented* when its rate on the site exceeds the
    reference rate by ``min_shift`` (natural log). The reference rate mixes the
    reference texts with general English (the LM's unigram frequency), so a
    small reference corpus still gives usable rates. Its thesaurus originals
    (re-inflected to its form) that the site *under-uses* are its likely
    originals, when more common than it. Topic words of the site also look
    over-represented, so this mode is noisier than :func:`learn_pairs`; it
    pays off on many pages of one site. ``prob`` = the excess share of the
    word's occurrences (the part normal use does not explain) × the original's
    share of the missing counts.

    ``precise=True`` trades entries for precision: a larger shift (1.5), an
    original must be missing by more (under half its expected count, and at
    least 2 occurrences), the spun word must be near-absent from the reference
    texts, and the counts must balance (a spinner turns the original's missing
    occurrences into the spun word's excess, so the two are within a factor
    of 3); one original per spun word.
    """
    from .lexicon import Lexicon
    from .lm import LanguageModel

    lex, lm = Lexicon.default(), LanguageModel.default()
    site, n_site = _word_counts(docs)
    ref, n_ref = _word_counts(reference_texts)
    if n_site == 0:
        raise InputError("no words in the site documents")

    def ref_rate(w: str) -> float:
        background = 10 ** (lm.zipf((w,)) - 9)  # Zipf = log10 per 10^9 words
        # Half reference counts, half general English: the reference corpus is
        # small, and a word it lacks is not thereby rare.
        return 0.5 * (ref[w] + 0.5) / (n_ref + 1) + 0.5 * background

    def originals(w: str) -> set[str]:
        forms = {e.original for e in lex.lookup(w)[:80]}
        for a in lex.analyses(w):
            for e in lex.lookup(a.lemma)[:80]:
                form = lex.inflect(e.original, a.tag)
                if form:
                    forms.add(form)
        return {o for o in forms if " " not in o and o not in FUNCTION_WORDS and o != w}

    shift = max(min_shift, 1.5) if precise else min_shift
    gap = math.log(2.0) if precise else 0.5  # how far below expectation "missing" is
    out: list[Learned] = []
    for w, n in site.most_common():
        if n < min_count:
            break
        expected = n_site * ref_rate(w)
        if math.log(n / expected) < shift:
            continue
        if precise and ref[w] * n_site > 0.2 * n * n_ref:
            continue  # the reference uses it at a fifth of the site's rate: prose, not spin
        excess = 1.0 - expected / n
        missing = {}
        zw = lm.zipf((w,))
        for o in originals(w):
            if lm.zipf((o,)) < zw:
                continue  # spinners replace a word by a rarer one, seldom the reverse
            exp_o = n_site * ref_rate(o)
            if exp_o >= 1.0 and site[o] + 0.5 < exp_o * math.exp(-gap):
                m = exp_o - site[o]
                if precise and (m < 2.0 or not 1 / 3 <= (n - expected) / m <= 3.0):
                    continue
                missing[o] = m
        if not missing:
            continue
        total = sum(missing.values())
        ranked = sorted(missing.items(), key=lambda kv: -kv[1])[: 1 if precise else 3]
        for o, m in ranked:
            out.append(Learned(w, o, round(excess * m / total, 4), n))
        if len(out) >= max_entries:
            break
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
