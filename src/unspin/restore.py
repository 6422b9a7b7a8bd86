"""Restore spun text: pick, for each suspicious span, the likeliest original.

The decision is a noisy-channel model. For an observed span ``w`` and a
candidate original ``c`` (from the reverse thesaurus, the phrase table or a
user table), the log-odds that ``c`` was written and a spinner turned it into
``w``, against ``w`` being original, is::

    logit(rho)                      document spin rate: the prior
  + LM(c in context) - LM(w ...)    fluency gain, left and right context
  + log P(spinner writes w | c)     the channel: 1 / fan-out of c's synonyms,
                                    or the probability in a learned table
  + a/an agreement, frequency shift, quotation and length terms

``rho`` is estimated per document by EM over all spans first, so a clean
document (rho near 0) needs overwhelming evidence for any change while a spun
one (rho 15-35 %) accepts ordinary evidence: detect and restore are two views
of one model. A change is made only when its posterior clears the
confidence threshold (precision first, as ftfy does).

>>> r = restore("The mayor instructed reporters that the brand new library would open "
...             "this 12 months. It is certainly one of 5 initiatives the council got "
...             "here up with after the flood.")
>>> r.text[:66]
'The mayor told reporters that the new library would open this year'
>>> [(c.spun, c.restored) for c in r.changes]
[('instructed', 'told'), ('brand new', 'new'), ('12 months', 'year'), ('got here', 'came')]
>>> restore("The officer told reporters he was tired.").changes
[]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from operator import itemgetter
from typing import NamedTuple

from ._cachedict import CacheDict
from .lexicon import Lexicon, Row
from .lm import BOS, LanguageModel, window_plan
from .numbers import find_numbers, spoken
from .render import splice
from .text import (
    Document,
    InputError,
    check_text,
    english_share,
    find_spintax,
    latin_script,
    require_probability,
    restored_case,
)

DEFAULT_CONFIDENCE = 0.5


# The features of a (span, candidate) pair, against leaving the span alone.
FEATURES = (
    "lm_gain",  # ln P(candidate in context) - ln P(observed in context), left+right
    "log_fanout",  # ln(number of synonyms the thesauri list for the candidate)
    "table_logp",  # ln P(spun | original) from a phrase or learned table, else 0
    "is_table",  # the pair comes from a table rather than a thesaurus
    "sources",  # how many of Moby / WordNet synset / WordNet relation link them
    "freq_shift",  # zipf(candidate) - zipf(observed), clipped to ±3
    "cand_function",  # a thesaurus candidate made only of function words
    "article",  # +1 a/an agrees with the candidate only, -1 with the observed only
    "in_quote",  # inside quotation marks
    "deleted",  # LM words the candidate removes
    "inserted",  # LM words the candidate adds
    "obs_zipf",  # how common the observed form is
    "obs_unknown",  # the LM does not know the observed form
    "obs_logprob",  # ln P(observed window): spun words read badly whatever replaces them
    "gain_margin",  # lm_gain minus the best lm_gain of the other candidates
)
_IS_TABLE = FEATURES.index("is_table")
_ARTICLE = FEATURES.index("article")  # also read by detect


@dataclass(frozen=True)
class Params:
    """Model weights (trained by scripts/train_restore.py) and decoding constants."""

    weights: tuple[float, ...]  # thesaurus candidates, and table ones without table_weights
    bias: float
    prior_weight: float  # multiplies logit(document spin rate)
    # Table candidates (habit, phrase, names, learned and user tables) are a
    # different channel from thesaurus look-ups, and the same evidence may
    # weigh differently for them (fitted apart, table candidates leaned more
    # on LM gain and less on a/an agreement). None: one vector for both, as
    # the shipped model has (docs/accuracy.md, fifth session).
    table_weights: tuple[float, ...] | None = None
    threshold: float = DEFAULT_CONFIDENCE
    rate_prior: tuple[float, float] = (0.5, 10.0)  # Beta prior on the spin rate
    rate_bounds: tuple[float, float] = (0.002, 0.45)
    max_candidates: int = 40  # looked up and scored per span
    max_kept: int = 8  # kept per span after scoring
    em_iterations: int = 6
    # One site's spinner makes the same swap again and again ("instructed"
    # for "told" all through a copy), so a swap the document already
    # confidently shows adds this to the logit of its other instances.
    # Chosen on dev spins (eval/sweep_decode.py), not trained.
    repeat_bonus: float = 1.0
    repeat_min: int = 1  # other confident instances needed before the bonus applies
    repeat_level: float | None = None  # confidence that counts an instance (None: threshold)
    repeat_by: str = "original"  # "pair" (observed, original) or "original" alone

    @classmethod
    def load(cls, path=None) -> Params:
        if path is None:
            path = resources.files("unspin") / "data" / "model.json"
        d = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            weights=tuple(d["weights"].get(f, 0.0) for f in FEATURES),
            table_weights=(tuple(d["table_weights"].get(f, 0.0) for f in FEATURES)
                           if "table_weights" in d else None),
            bias=d["bias"],
            prior_weight=d["prior_weight"],
            threshold=d.get("threshold", DEFAULT_CONFIDENCE),
        )

    def channel(self, is_table: bool) -> tuple[float, ...]:
        """The weights of a table candidate or of a thesaurus one."""
        return (self.table_weights or self.weights) if is_table else self.weights

    def to_json(self, **extra) -> dict:
        tables = {} if self.table_weights is None else {
            "table_weights": dict(zip(FEATURES, self.table_weights, strict=True))}
        return {
            "weights": dict(zip(FEATURES, self.weights, strict=True)),
            **tables,
            "bias": self.bias,
            "prior_weight": self.prior_weight,
            "threshold": self.threshold,
            **extra,
        }

    @classmethod
    def untrained(cls) -> Params:
        """Hand-set weights of the plain noisy channel (used to bootstrap training)."""
        w = dict.fromkeys(FEATURES, 0.0)
        w.update(lm_gain=1.0, log_fanout=-0.8, table_logp=1.0, freq_shift=0.4, article=3.0,
                 in_quote=-3.0, deleted=-1.5)
        return cls(weights=tuple(w[f] for f in FEATURES), bias=0.0, prior_weight=1.0)


@dataclass
class Change:
    start: int
    end: int
    spun: str
    restored: str
    confidence: float
    evidence: dict = field(default_factory=dict)


@dataclass
class Restoration:
    text: str
    changes: list[Change]
    spin_rate: float  # the model's estimate of the share of spun spans
    n_words: int
    candidates: int = 0  # spans that had any candidate (the denominator of spin_rate)
    spans: list[Span] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "changes": [asdict(c) for c in self.changes],
            "spin_rate": round(self.spin_rate, 4),
            "n_words": self.n_words,
        }


@dataclass(slots=True)
class Candidate:
    words: tuple[str, ...]  # LM words of the candidate (lowercase)
    source: str
    features: tuple[float, ...]
    logit: float  # w . features + bias, without the document prior
    repeats: int = 0  # other confident restorations to the same original (repeat pass)

    def evidence(self) -> dict:
        ev: dict = {"source": "+".join(_SOURCE_NAMES.get(x, x) for x in self.source)}
        f = dict(zip(FEATURES, self.features, strict=True))
        ev["lm_gain"] = round(f["lm_gain"], 2)
        ev["freq_shift"] = round(f["freq_shift"], 2)
        if f["is_table"]:
            ev["table_prob"] = round(math.exp(f["table_logp"]), 3)
        else:
            ev["synonyms_of_original"] = round(math.exp(f["log_fanout"]))
        if f["article"]:
            ev["article"] = "agrees with restored" if f["article"] > 0 else "agrees with spun"
        if f["in_quote"]:
            ev["in_quote"] = True
        if self.repeats:
            ev["repeats"] = self.repeats
        return ev


_SOURCE_NAMES = {"p": "phrase table", "h": "habit table", "n": "names table", "u": "user table",
                 "m": "moby", "w": "wordnet", "r": "wordnet-relation"}


@dataclass
class Span:
    i: int  # first word index
    j: int  # one past the last word index
    candidates: list[Candidate]
    best: Candidate | None = None
    posterior: float = 0.0  # P(spun) for the whole span under the final prior
    confidence: float = 0.0  # P(best candidate is the original)


class Section(NamedTuple):
    """A paragraph that reads spun on a page that does not (Restorer.spun_sections)."""

    start: int  # its text, without surrounding whitespace
    end: int
    rate: float  # its own spin rate
    spans: list[Span]


STOPWORDS = frozenset(
    """a an the and or but if then than so as of at by for from in into on onto to
    with without within about above after before below between under over through
    during since until up down out off again further once here there when where why how
    all any both each few more most other some such no nor not only own same too very
    can will just should would could might must may shall do does did doing done have
    has had having be is am are was were been being i me my myself we our ours you your
    he him his she her it its they them their what which who whom this that these those
    s t don shouldn now also yet still even ever it's i'm he's she's we're they're
    isn't aren't wasn't weren't didn't doesn't don't can't won't wouldn't couldn't
    one two three four five six seven eight nine ten said says say mr mrs ms dr""".split()
)
# Candidates made only of these get the cand_function feature ("come" -> "be"
# is thesaurus noise). Reporting verbs are never spun *from* (STOPWORDS) but
# are the commonest originals of all ("stated" -> "said"), so they are not here.
FUNCTION_WORDS = STOPWORDS - {"said", "says", "say", "mr", "mrs", "ms", "dr"}
_VOWEL_SOUND_EXCEPTIONS = ("hour", "honest", "honor", "honour", "heir")
_CONSONANT_SOUND_EXCEPTIONS = ("uni", "use", "usu", "uti", "eu", "one", "once", "ur")


def takes_an(word: str) -> bool:
    """Whether ``word`` starts with a vowel sound (so it takes "an").

    >>> takes_an("update"), takes_an("hour"), takes_an("university"), takes_an("replace")
    (True, True, False, False)
    """
    w = word.lower()
    if w.startswith(_VOWEL_SOUND_EXCEPTIONS):
        return True
    if w.startswith(_CONSONANT_SOUND_EXCEPTIONS):
        return False
    return w[:1] in "aeiou"


class Restorer:
    """Holds the lexicon, LM and weights; :meth:`restore` does one document."""

    def __init__(
        self,
        lexicon: Lexicon | None = None,
        lm: LanguageModel | None = None,
        params: Params | None = None,
    ) -> None:
        self.lex = lexicon or Lexicon.default()
        self.lm = lm or LanguageModel.default()
        # CacheDict: these grow by tuples all pass long (see _cachedict).
        self._cands: dict[tuple[str, ...], tuple] = CacheDict()
        self._forms: dict[str, tuple[str, tuple[str, ...] | None, float, float]] = CacheDict()
        self._log_fanout: dict[str, float] = {}
        self._heads: dict[str, bool] = {}
        self._names: dict[tuple[str, ...], tuple] = {}
        # Called as progress(words done, words) while a document is analysed
        # (the CLI shows a counter for long inputs); None: no calls.
        self.progress: Callable[[int, int], None] | None = None
        self.p = params or Params.load()

    @property
    def p(self) -> Params:
        return self._p

    @p.setter
    def p(self, params: Params) -> None:
        self._p = params
        self._cands.clear()  # cached static logits depend on the weights
        self._names.clear()

    # -- public -------------------------------------------------------------
    def restore(self, text: str, confidence: float | None = None) -> Restoration:
        threshold = self._threshold(confidence)  # a bad value fails before the work
        doc = self.document(text)
        if len(text) > BLOCK_CHARS:
            return self._restore_blocks(text, doc, threshold)
        spans = self.analyse(doc)
        return self.restoration(doc, spans, self.estimate_rate(spans), threshold)

    def _threshold(self, confidence: float | None) -> float:
        """The confidence a change needs: ``confidence``, checked, or the model's."""
        if confidence is None:
            return self.p.threshold
        return require_probability(confidence, "confidence")

    def _restore_blocks(self, text: str, whole: Document, threshold: float) -> Restoration:
        """A long text (a book, a crawl dump), restored block by block.

        The analysis holds every candidate of every word, about 600 bytes per
        character of input, so a 5 MB text would need 3 GB at once. Blocks
        of about BLOCK_CHARS end at paragraph breaks where there are any;
        each gets its own spin-rate estimate and decoding, and the result
        keeps no spans. Texts under BLOCK_CHARS (~17k words, far longer than
        an article) are never split. ``whole`` is the validated document.
        """
        changes: list[Change] = []
        candidates, rated, done, total = 0, 0.0, 0, len(whole.words)
        outer = self.progress
        try:
            for start, end in blocks(text, BLOCK_CHARS):
                doc = Document.from_text(text[start:end])
                if outer is not None:  # one count over the whole text
                    self.progress = lambda i, _n, d=done: outer(d + i, total)
                spans = self.analyse(doc)
                rate = self.estimate_rate(spans)
                changes += [replace(c, start=c.start + start, end=c.end + start)
                            for c in self.changes(doc, spans, rate, threshold)]
                candidates += len(spans)
                rated += rate * len(spans)
                done += len(doc.words)
        finally:
            self.progress = outer
        return Restoration(
            text=splice(text, changes),
            changes=changes,
            spin_rate=rated / candidates if candidates else 0.0,
            n_words=whole.n_words,
            candidates=candidates,
        )

    def restoration(self, doc: Document, spans: list[Span], rate: float,
                    confidence: float | None = None) -> Restoration:
        """:meth:`restore` for a document already analysed (detect's evidence holds one)."""
        changes = self.changes(doc, spans, rate, self._threshold(confidence))
        return Restoration(
            text=splice(doc.text, changes),
            changes=changes,
            spin_rate=rate,
            n_words=doc.n_words,
            candidates=len(spans),
            spans=spans,
        )

    def changes(self, doc: Document, spans: list[Span], rate: float, threshold: float
                ) -> list[Change]:
        """Every change for an analysed document: decoding, numbers, spintax.

        A spun section (:meth:`spun_sections`) is decoded under its own rate,
        the rest of the document under the document's.
        """
        sections = self.spun_sections(doc, spans, rate)
        if not sections:
            changes = self.decode(doc, spans, rate, threshold)
        else:
            changes = []
            for sec in sections:
                changes += self.decode(doc, sec.spans, sec.rate, threshold)
            inside = {id(s) for sec in sections for s in sec.spans}
            rest = [s for s in spans if id(s) not in inside]
            changes = sorted(changes + self.decode(doc, rest, rate, threshold),
                             key=lambda c: c.start)
        changes = _merge(changes, self.number_changes(doc, rate, threshold))
        # Unexpanded spintax is certain evidence and replaces whatever the
        # model chose inside it.
        return _merge(self.spintax_changes(doc), changes)

    def document(self, text: str) -> Document:
        """Validate and tokenise ``text`` (raises InputError for non-prose)."""
        check_text(text)
        if not latin_script(text):
            raise InputError("input does not look like English text")
        doc = Document.from_text(text)
        if not doc.n_words and text.strip():  # empty text passes through, as in ftfy
            raise InputError("input has no words to read")
        # English prose is about 40 % function words; other languages share
        # few of ours even when the LM happens to know their words.
        # Tables of English names have few function words but known words;
        # stray letters (hex, base64) are "known" to the LM one by one.
        if doc.n_words >= 8:
            known = english_share(doc, lambda w: (len(w) > 1 or w in "ai") and self.lm.known(w))
            stop = english_share(doc, STOPWORDS.__contains__)
            if known < 0.4 or (stop < 0.12 and known < 0.7):
                raise InputError("input does not look like English text")
        return doc

    # -- analysis -----------------------------------------------------------
    def analyse(self, doc: Document, cur: list[tuple[str, ...]] | None = None) -> list[Span]:
        """Score every candidate span of ``doc`` in the context ``cur``."""
        if cur is None:
            cur = _lm_words(doc)
        spans = []
        n = len(doc.words)
        norms = doc.norms
        tick = self.progress
        for i in range(n):
            if tick is not None and not i % 1000:
                tick(i, n)
            # Most words head no phrase: their longer spans are skipped at once
            # (_span would reject each of them).
            longest = min(i + self.lex.max_span, n) if self._may_head(norms[i]) else i + 1
            for j in range(i + 1, longest + 1):
                span = self._span(doc, cur, i, j)
                if span is not None:
                    spans.append(span)
        if tick is not None:
            tick(n, n)
        return spans

    def _span(self, doc: Document, cur, i: int, j: int) -> Span | None:
        toks = doc.words[i:j]
        first = toks[0]
        if j - i == 1:
            if first.kind != "word" or first.in_ref:
                return None
            w = doc.norms[i]
            if w in STOPWORDS or len(w) < 3:
                return None
            if first.text.isupper() and len(first.text) > 1:
                return None
            norms = (w,)
            cands = self._candidates(norms)
            if not cands:
                return None
            name = first.text[:1].isupper() and not first.sentence_start  # _in_name(toks)
        else:
            if not self._may_head(doc.norms[i]):
                return None
            # Punctuation or a line break between words ends a phrase.
            if not all(doc.joined(k) for k in range(i, j - 1)):
                return None
            if any(t.in_ref for t in toks):
                return None
            norms = tuple(doc.norms[i:j])
            # Most phrases have no candidate: that is one cached lookup, so
            # it is asked first (a name's candidates are a subset of these).
            cands = self._candidates(norms)
            if not cands:
                return None
            name = _in_name(toks)
            if not name and " ".join(norms) in self.lex.name_keys:
                return None  # "a white home" is no name
        if name:
            cands = self._name_candidates(norms)
            if not cands:
                return None
        scored = self._score(doc, cur, i, j, norms, cands)
        if first.kind == "num" and not _determined(doc, i):
            # "12 months" -> "year" must leave a noun phrase: the spinner keeps
            # the word before ("this 12 months", "a 12 months later"), so a bare
            # "returned 12 months later" was written so.
            scored = [c for c in scored if len(c.words) != 1]
        if name:
            # Inside a name the LM must plainly prefer the restored one
            # ("Supreme Court"); a company called "Fundamental Management"
            # reads no worse than "Main Management".
            scored = [c for c in scored if c.features[0] >= NAME_MIN_GAIN]
        return Span(i, j, scored) if scored else None

    def _name_candidates(self, norms: tuple[str, ...]):
        """Table candidates only, for a span inside a name; cached.

        Names are immutable to a thesaurus ("Gulf of Suez", "World War II"),
        but spinners do swap words inside names by their tables ("Supreme
        Courtroom", "World Well being Organization"), and only a listed habit
        is evidence enough to touch one.
        """
        got = self._names.get(norms)
        if got is None:
            full = self._candidates(norms)
            got = _pack(tuple(r for r in full[0] if r[2][_IS_TABLE]), full[2]) if full else ()
            if len(self._names) > 50_000:
                self._names.clear()
            self._names[norms] = got
        return got

    def _may_head(self, head: str) -> bool:
        """Whether ``head`` (or one of its lemmas) starts a listed phrase; cached."""
        ok = self._heads.get(head)
        if ok is None:
            lex = self.lex
            ok = lex.may_start_phrase(head) or any(
                lex.may_start_phrase(lemma) for lemma, _ in lex.readings(head)
            )
            if len(self._heads) > 200_000:
                self._heads.clear()
            self._heads[head] = ok
        return ok

    def _candidates(self, norms: tuple[str, ...]):
        """((LM words, source, static features, static logit) per candidate, the
        candidates' LM words), or () for none; cached."""
        got = self._cands.get(norms)
        if got is not None:
            return got
        lex = self.lex
        key = " ".join(norms)
        last = norms[-1]
        # A possessive takes its base word's originals: "the nation's" is
        # looked up as "nation" and offered as "country's" ("she's" and
        # "let's" are no possessives).
        possessive = (last.endswith("'s") and len(last) > 4 and last != "let's"
                      and last[:-2] not in STOPWORDS)
        found = self._found(norms)
        if possessive:
            base = self._found((*norms[:-1], last[:-2]))
            found.update((form + "'s", r) for form, r in base.items() if form + "'s" not in found)
        if not found:
            self._cands[norms] = _NO_CANDIDATES
            return _NO_CANDIDATES
        # A spelling variant (subsidised/subsidized) is never a spinner's swap.
        variant = _spelling_key(key)
        short = len(key) <= 4  # else key abbreviates nothing
        tables: list[tuple] = []
        thesaurus: list[tuple] = []
        forms = self._forms
        form_info = self._form_info
        for form, r in found.items():
            info = forms.get(form)
            if info is None:
                info = forms[form] = form_info(form)
            if info[1] is None or info[0] == variant:
                continue
            if r[2] is None:
                if short and _abbreviates(key, form):
                    continue
                thesaurus.append((info[1], r, info[2], info[3]))
            else:
                tables.append((info[1], r, info[2], info[3]))
        # Keep table entries and the most frequent originals: spinners start
        # from common words. Two stable sorts on the float, concatenated, order
        # rows exactly as one stable sort by (not table, -zipf) would.
        keep = self.p.max_candidates
        tables.sort(key=_ZIPF, reverse=True)
        if len(tables) < keep:
            thesaurus.sort(key=_ZIPF, reverse=True)
            tables += thesaurus
        ranked = tables[:keep]
        # Everything but the contextual features (LM gain, article, quote) is
        # fixed per observed form, so it is computed once and cached with its
        # share of the logit.
        obs = tuple(x for n in norms for x in spoken(n).split())
        obs_zipf = self.lm.zipf(obs)
        obs_unknown = 0.0 if all(self.lm.known(x) for x in obs) else 1.0
        p = self.p
        bias = p.bias
        w1, _, _, w4, w5, w6, w9, w10, w11, w12 = _STATIC_WEIGHTS(p.weights)
        _, t2, t3, _, t5, _, t9, t10, t11, t12 = _STATIC_WEIGHTS(p.channel(True))
        ctx = (_CONTEXT_WEIGHTS(p.weights), _CONTEXT_WEIGHTS(p.channel(True)))
        log_fanout = self._log_fanout
        n_obs = len(obs)
        out = []
        for words, (original, source, channel), zipf, function in ranked:
            shift = zipf - obs_zipf
            shift = -3.0 if shift < -3.0 else 3.0 if shift > 3.0 else shift  # clipped to ±3
            nw = len(words)
            deleted = float(n_obs - nw) if n_obs > nw else 0.0
            inserted = float(nw - n_obs) if nw > n_obs else 0.0
            # The features in FEATURES order; lm_gain, article, in_quote,
            # obs_logprob and gain_margin are set in context. A listed spinner
            # phrase may restore function words ("have been" -> "were"); only
            # thesaurus noise is penalised (cand_function).
            # The static logit is bias + sum(map(mul, weights, f)) with the
            # terms of features that are 0.0 here left out: the running sum
            # starts at +0.0 and never becomes -0.0, and x + (±0.0) == x for
            # such x, so the float is the same (tested).
            if channel is not None:  # a table row
                f = (0.0, 0.0, channel, 1.0, 0.0, shift, 0.0, 0.0, 0.0, deleted, inserted,
                     obs_zipf, obs_unknown, 0.0, 0.0)
                static = bias + (0.0 + t2 * channel + t3 * 1.0 + t5 * shift + t9 * deleted
                                 + t10 * inserted + t11 * obs_zipf + t12 * obs_unknown)
                # Only atoms (no Entry) in the cached row: CPython's collector
                # then stops tracking it, and full collections stay cheap as
                # caches grow. The last item is the channel's contextual weights.
                out.append((words, source, f, static, ctx[1]))
            else:
                lf = log_fanout.get(original)
                if lf is None:
                    lf = log_fanout[original] = math.log(lex.fanout(original))
                n_src = float(len(source))
                f = (0.0, lf, 0.0, 0.0, n_src, shift, function, 0.0, 0.0, deleted, inserted,
                     obs_zipf, obs_unknown, 0.0, 0.0)
                static = bias + (0.0 + w1 * lf + w4 * n_src + w5 * shift + w6 * function
                                 + w9 * deleted + w10 * inserted + w11 * obs_zipf
                                 + w12 * obs_unknown)
                out.append((words, source, f, static, ctx[0]))
        if len(self._cands) > 200_000:
            self._cands.clear()
        if len(self._forms) > 300_000:
            self._forms.clear()
        # Tuples, not lists: exact tuples of atoms leave the collector's
        # books after one collection, lists never do.
        got = self._cands[norms] = _pack(tuple(out), obs)
        return got

    def _found(self, norms: tuple[str, ...]) -> dict[str, Row]:
        """Each original form an observed form may restore to, with its first
        (original, source, channel) row; a table row outranks a thesaurus one.

        The form's own rows come first, then its lemma's re-inflected: the
        head word of a phrase ("got here" as "get here" -> "came") and, for a
        noun phrase in a table, the last word ("financial institutions" as
        "financial institution" -> "banks"; the thesauri's plural phrases
        are mostly noise such as "the hills" -> "hills").
        """
        lex = self.lex
        key = " ".join(norms)
        head, rest = norms[0], norms[1:]
        alts = [(" ".join([lemma, *rest]), tag, False) for lemma, tag in lex.readings(head)]
        if rest:
            alts += [(" ".join([*norms[:-1], lemma]), tag, True)
                     for lemma, tag in lex.readings(norms[-1]) if tag == "NNS"]
            if not lex.has(key) and not any(lex.has(k) for k, _, _ in alts):
                return {}
        # Plain rows, and inflection memos read inline: this loop runs
        # ≈ 540k times in a cold pass over 20k words.
        found: dict[str, Row] = {}
        setdefault = found.setdefault
        for r in lex.rows(key):
            setdefault(r[0], r)
        for lemma_key, tag, tables_only in alts:
            if lemma_key == key:
                continue
            rows = lex.rows(lemma_key)
            if not rows:
                continue
            memo = lex.inflections(tag)
            for r in rows:
                if tables_only and r[2] is None:
                    break  # table rows come first
                form = memo.get(r[0], "")
                if form == "":
                    form = lex.inflect(r[0], tag)
                if form and setdefault(form, r)[2] is None and r[2] is not None:
                    # A table row outranks a thesaurus row for the same form:
                    # Moby lists "changed" under "modified" itself, but the
                    # channel is the habit modify -> change.
                    found[form] = r
        found.pop(key, None)
        return found

    def _form_info(self, form: str) -> tuple[str, tuple[str, ...] | None, float, float]:
        """(spelling key, LM words or None if the LM lacks one, zipf, all function words).

        Cached: the same originals turn up for many observed forms.
        """
        words = tuple(form.split())
        known = self.lm.known
        if len(words) == 1:  # most forms: no generator expressions
            if not known(words[0]):
                return _spelling_key(form), None, 0.0, 0.0
            function = 1.0 if words[0] in FUNCTION_WORDS else 0.0
            return _spelling_key(form), words, self.lm.zipf(words), function
        if not all(known(x) for x in words):
            return _spelling_key(form), None, 0.0, 0.0
        function = 1.0 if all(x in FUNCTION_WORDS for x in words) else 0.0
        return _spelling_key(form), words, self.lm.zipf(words), function

    def _score(self, doc, cur, i, j, norms, form) -> list[Candidate]:
        cands, plan, obs = form
        left = _left(doc, cur, i)
        right = _right(doc, cur, j)
        # The observed window rides along with the candidates (first in the
        # plan): window_logprobs_plan equals sequence_logprob bit for bit.
        lps = self.lm.window_logprobs_plan(left, plan, right)
        base = lps[0]
        base_f = max(base, -40.0)
        article = _article_before(doc, i)
        in_quote = 1.0 if doc.words[i].in_quote else 0.0
        gains = [lp - base for lp in lps]
        del gains[0]
        # How far each candidate's fluency stands above its best rival.
        ranked = sorted(gains, reverse=True)
        top, second = ranked[0], ranked[1] if len(ranked) > 1 else ranked[0] - 5.0
        # The logit's sum, term by term in FEATURES order (floats are not
        # associative, so the per-span constant terms are not folded first),
        # the margin term last; each candidate with its channel's weights.
        arts = _articles(article, article is not None and takes_an(obs[0]), cands)
        logits = []
        for c, g, art in zip(cands, gains, arts, strict=True):
            w_gain, w_art, w_quote, w_base, w_margin = c[4]
            logits.append(c[3] + w_gain * g + w_art * art + w_quote * in_quote + w_base * base_f
                          + w_margin * (g - (second if g == top else top)))
        # Stable, like sorting by -logit: ties keep the candidates' order.
        order = sorted(range(len(cands)), key=logits.__getitem__, reverse=True)
        out = []
        for k in order[: self.p.max_kept]:
            words, source, f = cands[k][:3]
            g = gains[k]
            margin = g - (second if g == top else top)
            feats = (g, *f[1:7], arts[k], in_quote, *f[9:13], base_f, margin)
            out.append(Candidate(words, source, feats, logits[k]))
        return out

    # -- the document prior -------------------------------------------------
    def estimate_rate(self, spans: list[Span]) -> float:
        """EM estimate of the share of candidate spans a spinner changed."""
        if not spans:
            return self.p.rate_bounds[0]
        # Plain EM (prior weight 1): a sharper prior here would collapse the
        # estimate to a bound; the learned weight applies in decisions only.
        return self._em_rate(spans, *self.p.rate_prior, start=0.05)

    def _em_rate(self, spans: list[Span], a: float, b: float, start: float) -> float:
        """The spin rate of ``spans`` by EM under a Beta(a, b) prior."""
        lo, hi = self.p.rate_bounds
        # Likelihood ratio of "spun" vs "kept" for each span, prior excluded.
        lrs = [sum(math.exp(min(c.logit, 30.0)) for c in s.candidates) for s in spans]
        rate = start
        for _ in range(self.p.em_iterations):
            odds = rate / (1 - rate)
            post = sum(odds * lr / (1 + odds * lr) for lr in lrs)
            rate = min(hi, max(lo, (post + a) / (len(spans) + a + b)))
        return rate

    def prior(self, rate: float) -> float:
        return self.p.prior_weight * math.log(rate / (1 - rate))

    def spun_sections(self, doc: Document, spans: list[Span], rate: float) -> list[Section]:
        """The paragraphs that read spun on a page that does not (see
        SECTION_RATE); none for a one-paragraph text."""
        text, body = doc.text, doc.body_start
        cuts = [m.start() for m in _PARAGRAPH_BREAK.finditer(text, body)]
        if not cuts:
            return []
        out = []
        for a, b in zip([body, *cuts], [*cuts, len(text)], strict=True):
            inside = [s for s in spans if a <= doc.words[s.i].start < b]
            if len(inside) < SECTION_MIN_SPANS:
                continue
            # Shrunk towards the document's rate by SECTION_PSEUDO spans.
            local = self._em_rate(inside, SECTION_PSEUDO * rate, SECTION_PSEUDO * (1 - rate),
                                  start=rate)
            if local >= SECTION_RATE and local >= SECTION_RATIO * rate:
                para = text[a:b]
                start = a + len(para) - len(para.lstrip())
                out.append(Section(start, a + len(para.rstrip()), local, inside))
        return out

    # -- decoding -----------------------------------------------------------
    def decode(self, doc: Document, spans: list[Span], rate: float, threshold: float):
        prior = self.prior(rate)
        chosen, dropped = self._agree(doc, _select(spans, prior, threshold), prior, threshold)
        if chosen:
            # Second pass: neighbours of a change are re-scored in the restored
            # context ("refusing to struggle" reads differently after a fix).
            cur = _lm_words(doc)
            for s in chosen:
                _put(cur, s)
            near = {k for s in chosen for k in range(s.i - 2, s.j + 2)}
            taken = {k for s in chosen for k in range(s.i, s.j)}
            rescored: dict[tuple[int, int], Span] = {}
            for s in spans:
                if s.i in near and not any(k in taken for k in range(s.i, s.j)):
                    fresh = self._span(doc, cur, s.i, s.j)
                    # A span the agreement check dropped never falls back to
                    # its first-pass score.
                    if fresh is None and (s.i, s.j) not in dropped:
                        fresh = s
                    if fresh is not None:
                        rescored[(s.i, s.j)] = fresh
            chosen += _select(list(rescored.values()), prior, threshold, taken)
            if self.p.repeat_bonus > 0:
                pool = [rescored.get((s.i, s.j), s) for s in spans
                        if (s.i, s.j) in rescored or (s.i, s.j) not in dropped]
                chosen += self._repeats(doc, pool, chosen, prior, threshold)
        changes = [_change(doc, s) for s in sorted(chosen, key=lambda s: s.i)]
        return [c for c in changes if c is not None]

    def _agree(self, doc: Document, chosen: list[Span], prior: float,
               threshold: float) -> tuple[list[Span], set[tuple[int, int]]]:
        """The first pass's changes that still clear ``threshold`` next to the
        changes kept before them, and the (i, j) of those dropped.

        Each span was scored with its neighbours as spun; two changes side by
        side must also read well together. In a headline "Folk Pageant", the
        spun "Pageant" made "People" look as good as "Folk"; next to the
        restored "Festival" it does not. The most confident change goes
        first, and each one is judged against the kept ones only.
        """
        if len(chosen) < 2:
            return chosen, set()
        cur = _lm_words(doc)
        kept: list[Span] = []
        covered: set[int] = set()  # word indices of the kept spans
        dropped: set[tuple[int, int]] = set()
        for s in sorted(chosen, key=lambda s: -s.confidence):
            # A kept span within 3 words of this one (a set, not a scan of
            # ``kept``: long inputs have thousands of changes).
            if any(k in covered for k in range(s.i - 3, s.j + 3)):
                again = self._span(doc, cur, s.i, s.j)
                if again is not None:
                    score_spans([again], prior)
                if (again is None or again.best.words != s.best.words
                        or again.confidence < threshold):
                    dropped.add((s.i, s.j))
                    continue
            kept.append(s)
            covered.update(range(s.i, s.j))
            _put(cur, s)
        return kept, dropped

    def _repeats(self, doc: Document, spans: list[Span], chosen: list[Span], prior: float,
                 threshold: float) -> list[Span]:
        """Third pass: other instances of table swaps the document already shows
        get ``repeat_bonus``.

        An instance counts when its best candidate is a table candidate with
        confidence >= ``repeat_level`` (default: the threshold), so near
        misses of one swap can lift one another. ``repeat_by`` says what is
        "the same swap": the (observed, restored) pair, or any swap back to
        the same original (a site that turns "said" into "stated" also turns
        it into "acknowledged"). Thesaurus candidates are never lifted: a
        clean page repeats its own rare word ("guilders"), and one slip
        would spread.
        """
        level = threshold if self.p.repeat_level is None else self.p.repeat_level
        by_pair = self.p.repeat_by == "pair"

        def key(s: Span, words: tuple[str, ...]) -> tuple:
            return (_observed(doc, s), words) if by_pair else words

        seen: dict[tuple, int] = {}
        own: list[tuple | None] = []
        for s in spans:
            k = None
            if s.best is not None and s.best.features[_IS_TABLE] and s.confidence >= level:
                k = key(s, s.best.words)
                seen[k] = seen.get(k, 0) + 1
            own.append(k)
        taken = {k for s in chosen for k in range(s.i, s.j)}
        bonus, need = self.p.repeat_bonus, self.p.repeat_min
        boosted = []
        for s, mine in zip(spans, own, strict=True):
            if any(k in taken for k in range(s.i, s.j)):
                continue
            cands = []
            hit = False
            for c in s.candidates:
                if c.features[_IS_TABLE]:
                    k = key(s, c.words)
                    n = seen.get(k, 0) - (k == mine)  # not its own evidence
                    if n >= need:
                        c = replace(c, logit=c.logit + bonus, repeats=n)
                        hit = True
                cands.append(c)
            if hit:
                cands.sort(key=lambda c: -c.logit)
                boosted.append(Span(s.i, s.j, cands))
        return _select(boosted, prior, threshold, taken) if boosted else []

    def spintax_changes(self, doc: Document) -> list[Change]:
        """Unexpanded spintax back to one of its options.

        "{the electrical|the electric}" is the spinner's own markup, left in
        the copy; its options usually include the original wording. The one
        that reads best between its neighbours (by the LM) wins; a
        one-option group just loses its braces.

        >>> r = Restorer()
        >>> [(c.spun, c.restored) for c in r.spintax_changes(r.document(
        ...     "The {electrical|electric} grid failed on {Tuesday} night, officials said."))]
        [('{electrical|electric}', 'electric'), ('{Tuesday}', 'Tuesday')]
        """
        out = []
        for m in find_spintax(doc.text):
            options = m.group("options").split("|")
            best = options[0]
            if len(options) > 1:
                before = [t.norm for t in doc.words if t.end <= m.start() and t.kind == "word"]
                after = [t.norm for t in doc.words if t.start >= m.end() and t.kind == "word"]
                left: list[str | None] = before[-2:] or [BOS]
                scores = self.lm.window_logprobs(
                    left, [tuple(o.lower().split()) for o in options], after[:2])
                best = options[max(range(len(options)), key=scores.__getitem__)]
            out.append(Change(m.start(), m.end(), m.group(), best, SPINTAX_CONFIDENCE,
                              {"source": "spintax", "options": len(options)}))
        return out

    def number_changes(self, doc: Document, rate: float, threshold: float) -> list[Change]:
        """Spelled-out compound numbers ("a hundred and fiftieth") back to digits.

        The LM cannot compare words with digits, so the decision is the model's
        view of a phrase-table candidate with no fluency term that carries a
        surface artefact, as an a/an clash does: bias, table weight, channel
        and the article weight, plus the document prior. So only a document
        whose estimated spin rate is about 15 % or more clears the default
        threshold; sentence starts and quotes are skipped.
        """
        found = find_numbers(doc.text, doc.body_start)
        if not found:
            return []
        w = dict(zip(FEATURES, self.p.channel(True), strict=True))
        # The artefact weight is the shared one: with per-channel weights the
        # table channel's a/an weight is fitted to the few table rows with an
        # a/an clash and says little about other surface artefacts.
        art = self.p.weights[_ARTICLE]
        logit = (self.prior(rate) + self.p.bias + w["is_table"] + art
                 + w["table_logp"] * math.log(NUMBER_CHANNEL))
        conf = 1.0 / (1.0 + math.exp(-logit))
        if conf < threshold:
            return []
        by_start = {t.start: t for t in doc.words}
        out = []
        for n in found:
            tok = by_start.get(n.start)
            if tok is None or tok.in_quote or tok.sentence_start:
                continue
            out.append(Change(n.start, n.end, n.text, n.digits, round(conf, 4),
                              {"source": "number words", "table_prob": NUMBER_CHANNEL}))
        return out


# Unexpanded spintax is the spinner's own markup: certain, whichever option wins.
SPINTAX_CONFIDENCE = 0.99

# Nats of LM gain a table candidate needs inside a name (measured: real name
# fixes gain 5-21, a damaged company name 1.7).
NAME_MIN_GAIN = 4.0

# How typical "digits -> spoken words" is of a spinner's number step: news
# prose writes "150th", so the spoken compound is nearly always the spinner's.
NUMBER_CHANNEL = 0.9


def _pack(rows: tuple, obs: tuple[str, ...]) -> tuple:
    """A span form's cached candidates, or () for none: (rows, the window plan
    of the observed words and the candidates' LM words, the observed LM
    words). The plan is what window_logprobs_plan scores."""
    if not rows:
        return ()
    return (rows, window_plan([obs, *(r[0] for r in rows)]), obs)


def _in_name(toks) -> bool:
    """Whether a span lies inside a name: a capitalised word that opens no sentence."""
    return any(
        t.text[:1].isupper() and not (k == 0 and t.sentence_start) for k, t in enumerate(toks)
    )


def _merge(changes: list[Change], extra: list[Change]) -> list[Change]:
    """``changes`` plus the ``extra`` ones that overlap none of them, in text order."""
    kept = [x for x in extra if not any(x.start < c.end and c.start < x.end for c in changes)]
    return sorted(changes + kept, key=lambda c: c.start) if kept else changes


# The rank of a candidate row among its kind: the Zipf value of its form.
_ZIPF = itemgetter(2)
# The weights of the features a cached candidate row can make nonzero.
_STATIC_WEIGHTS = itemgetter(1, 2, 3, 4, 5, 6, 9, 10, 11, 12)
# The weights of the features set in context: lm_gain, article, in_quote,
# obs_logprob, gain_margin.
_CONTEXT_WEIGHTS = itemgetter(0, 7, 8, 13, 14)


# One shared, immutable "nothing": most observed forms have no candidate, and
# an empty list apiece would cost memory and garbage-collector time.
_NO_CANDIDATES: tuple = ()

_SPELLING = (("isation", "ization"), ("ise", "ize"), ("yse", "yze"), ("our", "or"),
             ("tre", "ter"), ("ll", "l"), ("ae", "e"), ("oe", "e"), ("-", " "))


def _spelling_key(phrase: str) -> str:
    """Fold British/American spelling and hyphenation, to spot mere variants.

    >>> _spelling_key("subsidised") == _spelling_key("subsidized")
    True
    """
    for a, b in _SPELLING:
        phrase = phrase.replace(a, b)
    return phrase


def _abbreviates(short: str, long: str) -> bool:
    """Whether ``short`` is an abbreviation of ``long`` (pct/percent, govt/government).

    Thesauri list such pairs, but they are style, not spin; a table entry
    (the spinner's "govt") still applies.

    >>> _abbreviates("pct", "percent"), _abbreviates("gas", "oil")
    (True, False)
    """
    if len(short) > 4 or len(long) <= len(short) or short[0] != long[0]:
        return False
    rest = iter(long)
    return all(ch in rest for ch in short)


def _articles(article: str | None, obs_an: bool, cands) -> list[float]:
    """The article feature per candidate: +1 if a/an agrees with it only, -1 if not."""
    if article is None:
        return [0.0] * len(cands)
    out = []
    for c in cands:
        c_an = takes_an(c[0][0])
        # The spinner never repairs a/an: agreement with the candidate
        # only is evidence of a swap.
        out.append(0.0 if c_an == obs_an else 1.0 if c_an == (article == "an") else -1.0)
    return out


def score_spans(spans: list[Span], prior: float) -> None:
    """Set each span's best candidate, P(spun) and confidence under ``prior``."""
    for s in spans:
        odds = [math.exp(min(prior + c.logit, 30.0)) for c in s.candidates]
        total = 1.0 + sum(odds)
        s.best = s.candidates[0]
        s.posterior = 1.0 - 1.0 / total
        s.confidence = odds[0] / total


def _select(spans: list[Span], prior: float, threshold: float, taken=None) -> list[Span]:
    """Non-overlapping spans whose best candidate clears ``threshold``, best first."""
    taken = set(taken or ())
    score_spans(spans, prior)
    chosen = []
    for s in sorted(spans, key=lambda s: -s.confidence):
        if s.confidence < threshold:
            break
        if any(k in taken for k in range(s.i, s.j)):
            continue
        taken.update(range(s.i, s.j))
        chosen.append(s)
    return chosen


# Words a name keeps in lower case ("Centers for Disease Control").
_NAME_LOWER = frozenset("a an and at by for in of on or the to".split())


def _change(doc: Document, s: Span) -> Change | None:
    toks = doc.words[s.i : s.j]
    first, last = toks[0], toks[-1]
    spun = doc.text[first.start : last.end]
    # Casing follows the first word with letters: "12 MONTHS" -> "YEAR".
    template = next((t.text for t in toks if t.kind == "word"), first.text)
    restored = restored_case(first, template, " ".join(s.best.words))
    if len(s.best.words) > 1 and not template.isupper():
        capitals = [t.text[:1].isupper() for t in toks if t.kind == "word"]
        if len(capitals) > 1 and all(capitals):
            # Every spun word capitalised (a Title Case headline): every restored one too.
            restored = " ".join(w[:1].upper() + w[1:] for w in restored.split(" "))
        elif _in_name(toks):
            # A restored name is a name: "White Home" -> "White House".
            restored = " ".join(
                w if k and w in _NAME_LOWER else w[:1].upper() + w[1:]
                for k, w in enumerate(restored.split(" "))
            )
    if "’" in spun and "'" not in spun:
        # The text's own apostrophe: "the authority’s" -> "the government’s".
        restored = restored.replace("'", "’")
    if restored == spun:
        return None
    return Change(first.start, last.end, spun, restored, round(s.confidence, 4),
                  s.best.evidence())


# -- helpers over the LM view of a document ---------------------------------
def _lm_words(doc: Document) -> list[tuple[str, ...]]:
    """The LM's words for each word token; numbers and the words of addresses,
    handles and code become () and cut history (see _left, _right)."""
    return [(w,) if t.kind == "word" and not t.in_ref else ()
            for t, w in zip(doc.words, doc.norms, strict=True)]


def _observed(doc: Document, s: Span) -> tuple[str, ...]:
    return tuple(doc.norms[s.i : s.j])


def _put(cur, s: Span) -> None:
    cur[s.i] = s.best.words
    for k in range(s.i + 1, s.j):
        cur[k] = ()


def _left(doc: Document, cur, i: int) -> list[str | None]:
    out: list[str | None] = []
    k = i
    while len(out) < 2:
        if doc.words[k].sentence_start or k == 0:
            out.append(BOS)
            break
        k -= 1
        ws = cur[k]
        if doc.words[k].kind == "num" or doc.words[k].in_ref:
            out.append(None)
            break
        out.extend(reversed(ws))
    return list(reversed(out[:2]))


def _right(doc: Document, cur, j: int) -> list[str | None]:
    out: list[str | None] = []
    k = j
    while len(out) < 2 and k < len(doc.words):
        if doc.words[k].sentence_start or doc.words[k].kind == "num" or doc.words[k].in_ref:
            break
        out.extend(cur[k])
        k += 1
    return out[:2]


# Words that let a bare singular noun follow them ("this year", "a year
# later", "the past year"): what must precede a number phrase restored to one word.
_DETERMINERS = frozenset(
    "a an the this that these those last next past previous coming current following "
    "each every per one another any some whole entire full same first second third "
    "fourth final recent financial fiscal calendar school academic election new single "
    "my your his her its our their "
    # and a spinner's own words for them ("subsequent 12 months": next year)
    "subsequent prior upcoming present".split()
)


def _determined(doc: Document, i: int) -> bool:
    """Whether the word just before token ``i`` is a determiner."""
    return _word_before(doc, i) in _DETERMINERS


def _word_before(doc: Document, i: int) -> str | None:
    """The token before token ``i``, lower-cased, if only spaces separate them
    (punctuation or a line break between them ends the phrase)."""
    if i == 0:
        return None
    return doc.words[i - 1].norm if doc.joined(i - 1) else None


def _article_before(doc: Document, i: int) -> str | None:
    n = _word_before(doc, i)
    return n if n in ("a", "an") else None


BLOCK_CHARS = 100_000  # longer texts are restored block by block (Restorer._restore_blocks)
# A paragraph of a page that reads clean overall is a spun *section* when its
# own spin rate (EM over its spans, shrunk towards the document's with
# SECTION_PSEUDO spans) is at least SECTION_RATE and SECTION_RATIO times the
# document's; its spans are then decoded under its own rate, as if it stood
# alone, where the page's low rate would leave most of its swaps. Chosen on
# dev: 1 of 645 clean texts has one; a paragraph spun from our habit table
# inside a clean BBC or Reuters story is found in 28 of 92 (these stories
# are short, so one spun paragraph also lifts the document's rate); a
# 137-word spun paragraph at the end of a 1,600-word page stands out at 0.29
# against 0.03 (docs/detect.md, docs/accuracy.md).
SECTION_RATE = 0.25
SECTION_RATIO = 2.5
SECTION_PSEUDO = 10.0
SECTION_MIN_SPANS = 6
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def blocks(text: str, size: int) -> list[tuple[int, int]]:
    """(start, end) of consecutive blocks of ``text`` of about ``size``
    characters, each ending after a paragraph break, else a line break, else
    a sentence end, else a space (a block is cut mid-word only when there is
    none of them).

    >>> text = "one two.\\n\\nthree four. five\\nsix seven eight"
    >>> [text[a:b] for a, b in blocks(text, 12)]
    ['one two.\\n\\n', 'three four. ', 'five\\n', 'six seven ', 'eight']
    >>> blocks("short", 12)
    [(0, 5)]
    """
    out = []
    start = 0
    while len(text) - start > size:
        window = text[start : start + size]
        for sep in ("\n\n", "\n", ". ", " "):
            cut = window.rfind(sep)
            if cut > 0:
                end = start + cut + len(sep)
                break
        else:
            end = start + size
        out.append((start, end))
        start = end
    out.append((start, len(text)))
    return out


_DEFAULT: Restorer | None = None


def default_restorer() -> Restorer:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Restorer()
    return _DEFAULT


def restore(
    text: str, confidence: float | None = None, restorer: Restorer | None = None
) -> Restoration:
    """Restore ``text``; see the module docstring."""
    return (restorer or default_restorer()).restore(text, confidence)
