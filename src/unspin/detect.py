"""Detect spun text: one restore analysis pass, many weak signals, one calibrated score.

Detection reuses restore's model as it is (lexicon, LM, candidate scoring, the
EM spin-rate estimate); nothing here keeps a second copy. From one pass of
``Restorer.analyse`` + ``estimate_rate`` + ``score_spans`` it reads weak
signals and combines them with a small logistic regression, one for texts of
150 words or more and one for shorter texts (``data/detect_model.json``,
trained by ``scripts/train_detect.py`` on spins of the project's own prose):

* the EM spin-rate estimate (strongest: a clean document's spans mostly look
  like nobody touched them);
* the density of high-posterior swaps per 100 words;
* a/an clashes that a candidate would repair ("an replace" → "an update");
* listed tortured phrases from a ``--lexicon`` table, phrase-table artefacts
  ("12 months", "certainly one of");
* quote-vs-narration contrast: news spinners leave quotes alone, so narration
  looks more "spun" than the quotes;
* document length, which decides how far the rate estimate can be trusted;
* graded disfluency: how much less likely their context makes the content
  words of the narration than they are on their own (the word given the two
  before it, plus the next word given this one; a graded mean, quotes left
  out), which needs no lexicon at all and so also sees swaps that restore
  has no candidate for;
* vocabulary rarity, a correction for register: technical prose fits a news
  LM worse without being spun, and is made of rarer words; and its product
  with disfluency, so that the same disfluency counts for less in rarer
  vocabulary.

``Detector.screen`` is the cheap path for crawls: no candidates at all, only
the share of content words that fit their context (both sides) worse than
they fit on their own, plus phrase-table artefacts. Long documents well below the
level any spun training document reached are dismissed as clean; everything
else gets the full analysis.

>>> d = detect("The council instructed reporters that the brand new bridge would open "
...            "this 12 months, certainly one of three initiatives delayed by an replace.")
>>> d.verdict, d.spun_probability > 0.5
('spun', True)
>>> {f.kind for f in d.findings} >= {"article_mismatch", "phrase_artefact"}
True
>>> detect("The council told reporters that the new bridge would open this year, "
...        "one of three projects delayed by the flood.").verdict
'clean'
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from typing import NamedTuple

from .restore import (
    _ARTICLE,
    FEATURES,
    STOPWORDS,
    Restorer,
    Section,
    Span,
    default_restorer,
    score_spans,
)
from .text import (
    QUOTE_MARKS,
    Document,
    InputError,
    check_text,
    find_spintax,
    meta_end,
    quote_after,
    require_probability,
    require_str,
    restored_case,
)

# The detect model's inputs, in weight order (see measure()).
SIGNALS = (
    "rate_logit",  # logit of the EM spin-rate estimate
    "swap_density",  # spans with P(spun) >= HIGH_POSTERIOR per 100 words
    "article_mismatches",  # ln(1 + a/an clashes that a candidate repairs)
    "listed_phrases",  # ln(1 + multiword --lexicon phrases found)
    "phrase_artefacts",  # ln(1 + phrase-table artefacts whose original reads better)
    "quote_contrast",  # mean P(spun) in narration minus inside quotes (0 if too few)
    "log_words",  # ln(words)
    "rate_x_length",  # rate_logit * (ln(words) - ln(200)): trust the rate more when long
    "graded_disfluency",  # mean nats by which context makes narration words less likely
    "vocabulary_rarity",  # mean -ln P(word) of the narration's content words
    "disfluency_x_rarity",  # graded_disfluency * (vocabulary_rarity - REF_RARITY)
    "function_disfluency",  # the same for function words: the words around a swap
    "common_disfluency",  # graded_disfluency's sum over common words only
)
# Graded, not a share of words past a cut: a swap that barely fits counts more
# than one that nearly fits, and the many near-zero gains of clean text count
# nothing. 0.5 nats and leaving quotes out were chosen on the BBC/Reuters dev
# splits (quotes are what spinners leave alone; quote_contrast reads them), and
# so was reading both sides of each word (see Detector._context_gains).
DISFLUENCY_SLACK = 0.5
# A spinner puts ordinary words where they do not fit ("case" for "trade");
# technical prose is odd to a news LM in its rare terms. Words at least this
# likely (unigram ln P, about Zipf 5.1: "market", "people", "told", "month")
# carry common_disfluency. Chosen on dev (BBC and Reuters, Roget 15 %,
# retrained for each): -11, -10, -9, -8.5 and -8 gave BBC recall on
# 300-word cuts of 0.90, 0.94, 0.975, 0.94 and 0.96 (docs/detect.md).
COMMON_LOGPROB = -9.0
SCREEN_MIN_WORDS = 150  # shorter texts always get the full analysis
# Words in any script (a hyphenated compound is one token), numbers, sentence
# ends, quotes. ASCII letters alone split "Müller" into "M" + a scored "ller".
_QUICK_WORD = re.compile(
    r"[^\W\d_]+(?:['’][^\W\d_]+)?(?:-[^\W\d_]+(?:['’][^\W\d_]+)?)*"
    r"|\d(?:[\d,.]*\d)?|[.!?;:]|[\"“”«»„\n]"
)
_SENTENCE_END = frozenset(".!?;:")

# A spintax group with two or more options ("{electrical|electric}"; single
# braces, see spintax_groups) is the spinner's own markup left in the copy;
# clean prose does not write it. The model never saw it in training, so it is
# a floor on P(spun), not a weight.
SPINTAX_PROBABILITY = 0.99
# Two different table phrases that clean English does not write ("counterfeit
# consciousness", "want ahead to": their words are no likelier together than
# apart to the language model), each read as spun, are a paper mill's or a
# content farm's signature whatever the register: on 600 clean dev news
# documents and 45 clean texts of other registers, no text has even one.
# A floor, like spintax, because the model's register signals pull
# technical prose down (docs/detect.md).
TELLTALE_PROBABILITY = 0.95
TELLTALE_MIN = 2
HIGH_POSTERIOR = 0.9  # a span counts towards swap_density
FINDING_POSTERIOR = 0.5  # a span is reported as a likely swap
# A content word outside quotes (lower-case, 3+ letters, as the screening pass
# scores) whose two-sided context gain is below this many nats is reported as
# an unlikely word when the document's P(spun) is at least FINDING_POSTERIOR.
# Chosen on dev spins (BBC, 300 words, 15 %), over all such words: 87 % were
# Roget swaps and 81 % Moby swaps, and clean news has 0.8 per 1000 words (the
# findings' own figures are in docs/detect.md). They show where a foreign
# dictionary's swaps are, which restore has no candidate for.
UNLIKELY_GAIN = -4.0
# The cut for a common word (unigram ln P >= COMMON_LOGPROB): ordinary words
# are what a spinner puts out of place, so one that fits this badly is as
# often a swap as a rarer word below UNLIKELY_GAIN. Chosen on dev (BBC,
# 300 words, 15 %; -3.0, -3.5 and -4.0 tried): Roget unlikely words per
# document 2.4 -> 3.4 at the same precision (0.89), Moby 1.2 -> 1.7 (0.90 ->
# 0.84); -3.0 gave 4.8 at 0.87 but Moby fell to 0.82 and curated sites to 0.70.
UNLIKELY_GAIN_COMMON = -3.5
UNLIKELY_PRECISION = 0.85  # share of those words that were swaps, on those spins
MIN_QUOTE_SPANS = 3  # spans needed on each side for the quote contrast
ARTEFACT_GAIN = 1.0  # ln-prob the phrase-table original must gain to count
_GAIN = FEATURES.index("lm_gain")
_REF_LOG_WORDS = math.log(200.0)
# Centre of the rarity interaction: about the mean rarity of news narration
# (BBC dev 9.9 nats), so the disfluency weight itself reads as news prose's.
REF_RARITY = 10.0
# The constants the signals are computed with, by the name the model file
# records them under: weights fitted with other values no longer fit.
SIGNAL_CONSTANTS = {"ref_rarity": REF_RARITY, "common_logprob": COMMON_LOGPROB}


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(z: float) -> float:
    if z < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def model_digest() -> str:
    """sha256 of restore's weights, tables and thesaurus: the detect weights are
    only valid for them (the thesaurus is read already, so hashing it costs ~10 ms)."""
    h = hashlib.sha256()
    for name in ("model.json", "phrases.tsv", "habits.tsv", "names.tsv", "lexicon.tsv.gz"):
        h.update((resources.files("unspin") / "data" / name).read_bytes())
    return h.hexdigest()[:16]


def _weights_from(d: dict[str, float]) -> tuple[float, ...]:
    return tuple(d.get(s, 0.0) for s in SIGNALS)


def _weights_json(weights: tuple[float, ...], missing: tuple[str, ...] = ()) -> dict[str, float]:
    return {s: round(w, 5) for s, w in zip(SIGNALS, weights, strict=True) if s not in missing}


@dataclass(frozen=True)
class DetectParams:
    """Logistic weights over SIGNALS and the verdict and screening thresholds."""

    weights: tuple[float, ...]
    bias: float
    threshold: float  # P(spun) at or above which the verdict is "spun"
    screen_threshold: float = 0.0  # dismiss below this disfluent-word share (0: never)
    screen_tau: float = 0.0  # a word is disfluent when its context gain is below this
    restore_model: str = ""  # model_digest() of the restore model trained against
    ref_rarity: float | None = None  # REF_RARITY the weights were fitted with
    common_logprob: float | None = None  # COMMON_LOGPROB the weights were fitted with
    missing: tuple[str, ...] = ()  # SIGNALS the model file has no weight for
    # A second model for texts of at least long_min_words words, fitted on
    # those alone: short cuts are noisy, and on one weight vector their
    # clean tail set the threshold for long texts too.
    long: DetectParams | None = None
    long_min_words: int = 0

    def __post_init__(self) -> None:
        if len(self.weights) != len(SIGNALS):
            raise ValueError(f"detect model has {len(self.weights)} weights; "
                             f"this version of unspin has {len(SIGNALS)} signals")

    @classmethod
    def load(cls, path=None) -> DetectParams:
        if path is None:
            path = resources.files("unspin") / "data" / "detect_model.json"
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls.untrained()
        long_weights = (d.get("long") or {}).get("weights")
        return cls(
            weights=_weights_from(d["weights"]),
            bias=d["bias"],
            threshold=d["threshold"],
            screen_threshold=d["screen"]["threshold"],
            screen_tau=d["screen"].get("tau", 0.0),
            restore_model=d.get("restore_model", ""),
            **{name: d.get(name) for name in SIGNAL_CONSTANTS},
            # Signals added since the file was written, in either weight vector.
            missing=tuple(s for s in SIGNALS if s not in d["weights"]
                          or (long_weights is not None and s not in long_weights)),
            long=cls._long(d.get("long")),
            long_min_words=(d.get("long") or {}).get("min_words", 0),
        )

    @property
    def stale(self) -> bool:
        """Whether these weights no longer fit this code: restore's model or
        tables, or a constant of the signals, changed since they were trained,
        or a signal was added since (the file has no weight for it)."""
        # A trained file records every constant; one it lacks was added since.
        trained = bool(self.restore_model)
        if any((value is not None or trained) and value != SIGNAL_CONSTANTS[name]
               for name, value in self._constants().items()):
            return True
        if self.missing:
            return True
        return trained and self.restore_model != model_digest()

    def _constants(self) -> dict[str, float | None]:
        """The SIGNAL_CONSTANTS these weights were fitted with (None: not recorded);
        each is a field of the same name."""
        return {name: getattr(self, name) for name in SIGNAL_CONSTANTS}

    @classmethod
    def _long(cls, d: dict | None) -> DetectParams | None:
        if not d:
            return None
        return cls(weights=_weights_from(d["weights"]), bias=d["bias"], threshold=d["threshold"])

    def to_json(self, **extra) -> dict:
        """The model file's content (``load`` reads it back). Signals the model
        has no weight for stay absent, so a re-saved stale model stays stale."""
        return {
            "weights": _weights_json(self.weights, self.missing),
            "bias": round(self.bias, 5),
            "threshold": self.threshold,
            "screen": {"threshold": self.screen_threshold, "tau": self.screen_tau},
            "restore_model": self.restore_model,
            **{name: value for name, value in self._constants().items() if value is not None},
            **({} if self.long is None else {"long": {
                "min_words": self.long_min_words,
                "weights": _weights_json(self.long.weights, self.missing),
                "bias": round(self.long.bias, 5),
                "threshold": self.long.threshold,
            }}),
            **extra,
        }

    def for_length(self, log_words: float) -> DetectParams:
        """The weights and threshold for a text of exp(log_words) words."""
        if self.long is not None and self.long_min_words > 0 and (
                log_words >= math.log(self.long_min_words)):
            return self.long
        return self

    @classmethod
    def untrained(cls) -> DetectParams:
        """Hand-set weights: the rate alone, centred between clean (~0.06) and spun (~0.2)."""
        w = dict.fromkeys(SIGNALS, 0.0)
        w.update(rate_logit=3.0, article_mismatches=1.0, listed_phrases=1.0)
        return cls(weights=tuple(w[s] for s in SIGNALS), bias=3.0 * 2.0, threshold=0.5)


@dataclass
class Finding:
    start: int
    end: int
    text: str
    # likely_swap | article_mismatch | phrase_artefact | listed_phrase | spintax
    # | unlikely_word
    kind: str
    # P(the span was spun), under the document's spin-rate prior (unlikely_word:
    # the document's P(spun) times the share of such words that were swaps)
    confidence: float
    suggestion: str | None  # restore's best candidate (or the listed original)


class ContextScan(NamedTuple):
    """The screening pass over one text (see Detector._context_gains); one entry
    per content word in ``gains``, ``quoted``, ``unigrams`` and ``words``."""

    n_words: int
    gains: list[float]  # ln-prob gain from the word's context, both sides
    quoted: list[bool]  # inside a quotation
    unigrams: list[float]  # ln P(word), no context
    hits: int  # phrase-table artefacts (multiword entries) found
    words: list[str]  # the content words, lower-cased
    # Left-context gains of the other lower-case words (stopwords, words of one
    # or two letters) outside quotes that have a history; measure() only, the
    # screening pass leaves it empty.
    function_gains: list[float]


@dataclass
class Evidence:
    """What one analysis pass measured: the signals plus what findings are built from."""

    doc: Document
    spans: list[Span]
    rate: float
    signals: dict[str, float]
    listed: list[tuple[int, int, str, float]] = field(default_factory=list)  # word i, j
    scan: ContextScan | None = None  # the context gains the signals were read from
    spintax: int = 0  # single-brace spintax groups with options (spintax_groups)
    telltales: list[str] = field(default_factory=list)  # unattested table phrases read as spun
    sections: list[Section] = field(default_factory=list)  # paragraphs that read spun alone


@dataclass
class Detection:
    spun_probability: float
    verdict: str  # "spun" | "clean"
    findings: list[Finding]
    signals: dict
    source: str | None = None

    def summary(self, top: int = 5) -> str:
        """A short human report: the verdict, the main signals, the top findings."""
        s = self.signals
        head = f"{self.source}: " if self.source else ""
        if s.get("screened"):
            return f"{head}clean (P={self.spun_probability:.2f}, dismissed by screening)\n"
        kinds: dict[str, int] = {}
        for f in self.findings:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        parts = [f"estimated spin rate {s['spin_rate']:.0%}",
                 f"{s['swaps_per_100_words']:.1f} likely swaps per 100 words"]
        parts += [f"{n} {_plural(_KIND_NOUNS.get(k, k.replace('_', ' ')), n)}"
                  for k, n in sorted(kinds.items()) if k != "likely_swap"]
        n = s["n_words"]
        lines = [f"{head}{self.verdict} (P={_shown(self.spun_probability, s['threshold'])}, "
                 f"threshold {s['threshold']:g}; {n} {_plural('word', n)}): " + ", ".join(parts)]
        for sec in s.get("spun_sections", ()):
            lines.append(f"  a paragraph reads spun: {sec['start']}-{sec['end']} (its own spin "
                         f"rate {sec['spin_rate']:.0%}, the text's {s['spin_rate']:.0%})")
        best = sorted(self.findings, key=lambda f: -f.confidence)[:top]
        for f in sorted(best, key=lambda f: f.start):
            arrow = f" -> {f.suggestion!r}" if f.suggestion else ""
            lines.append(f"  {f.start:>6}-{f.end:<6} {f.kind:<17} {f.confidence:.2f}  "
                         f"{f.text!r}{arrow}")
        if len(self.findings) > len(best):
            more = len(self.findings) - len(best)
            lines.append(f"  ... {more} more {_plural('finding', more)} "
                         "(--format json lists all)")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        d: dict = {} if self.source is None else {"source": self.source}
        d.update(
            spun_probability=round(self.spun_probability, 4),
            verdict=self.verdict,
            findings=[asdict(f) for f in self.findings],
            signals=self.signals,
        )
        return d


class Detector:
    """Wraps a :class:`Restorer` (its lexicon, LM and weights) with the detect model."""

    def __init__(
        self,
        restorer: Restorer | None = None,
        params: DetectParams | None = None,
        threshold: float | None = None,
    ) -> None:
        self.r = restorer or default_restorer()
        self.p = params or DetectParams.load()
        if threshold is not None:  # the user's threshold holds at every length
            threshold = require_probability(threshold, "threshold")
            long = None if self.p.long is None else replace(self.p.long, threshold=threshold)
            self.p = replace(self.p, threshold=threshold, long=long)
        # Listed phrases: the user tables (source "u") given with --lexicon.
        self.listed: dict[tuple[str, ...], tuple[str, float]] = {}
        for spun, e in self.r.lex.table_entries("u"):
            key = tuple(spun.split())
            prob = math.exp(e.channel) if e.channel is not None else 0.5
            if key not in self.listed or prob > self.listed[key][1]:
                self.listed[key] = (e.original, prob)
        self._listed_max = max((len(k) for k in self.listed), default=0)
        # Screening: multiword table entries ("got here", "12 months").
        self._phrases = {
            tuple(spun.split()) for spun, _ in self.r.lex.table_entries() if " " in spun
        }
        self._phrase_heads = {k[0] for k in self._phrases}

    @property
    def stale(self) -> bool:
        """Whether the detect weights no longer fit this code (see DetectParams.stale)."""
        return self.p.stale

    # -- one analysis pass --------------------------------------------------
    def document(self, text: str) -> Document:
        """Validate and tokenise ``text`` with restore's checks (InputError if not prose).

        Unlike restore, which gives empty text back as it came (as ftfy does),
        detect has nothing to judge in it: a verdict would be a guess.
        """
        _require_words(text)
        return self.r.document(text)

    def measure(self, text: str) -> Evidence:
        """Run restore's analysis once and compute every signal from it."""
        return self._measure(self.document(text))

    def _measure(self, doc: Document) -> Evidence:
        r = self.r
        spans = r.analyse(doc)
        rate = r.estimate_rate(spans)
        score_spans(spans, r.prior(rate))
        n = max(doc.n_words, 1)
        rl = _logit(rate)
        lw = math.log(n)
        high = _non_overlapping([s for s in spans if s.posterior >= HIGH_POSTERIOR])
        listed = self.find_listed(doc)
        scan = self._context_gains(doc.text, function_words=True, start=doc.body_start)
        multi = sum(1 for i, j, *_ in listed if j - i > 1)
        dis = disfluency(scan.gains, scan.quoted, scan.words)
        common = disfluency(scan.gains, scan.quoted, scan.words, scan.unigrams, COMMON_LOGPROB)
        rare = rarity(scan.unigrams, scan.quoted)
        sig: dict[str, float] = {
            "rate_logit": rl,
            "swap_density": 100.0 * len(high) / n,
            "article_mismatches": math.log1p(len(_article_spans(spans))),
            "listed_phrases": math.log1p(multi),
            "phrase_artefacts": math.log1p(len(_artefact_spans(spans))),
            "quote_contrast": _quote_contrast(doc, spans),
            "log_words": lw,
            "rate_x_length": rl * (lw - _REF_LOG_WORDS),
            # Independent of restore's candidates: sees swaps no lexicon lists.
            "graded_disfluency": dis,
            # Register, not spinning: technical prose fits a news LM worse (its
            # disfluency is higher) and is made of rarer words; trained, this
            # weight is negative and keeps such text from reading as spun.
            "vocabulary_rarity": rare,
            # Added on dev, where it raised recall at 15 % swaps by 0.09-0.11
            # on BBC and 0.04-0.06 on Reuters at the same clean false
            # positives: a straight rarity term only shifts the score, while
            # rare words also make disfluency itself a weaker sign of swaps.
            "disfluency_x_rarity": dis * (rare - REF_RARITY),
            # A swap also breaks the transition into the function word after
            # it ("refusing to struggle against"), while function words follow
            # each other as fluently in wire copy or science as in news: on
            # dev, clean BBC and Reuters both average 0.07 and Roget 15 %
            # spins 0.15-0.16, so unlike graded_disfluency it barely moves
            # with register. Added, it raised dev recall at 15 % by 0.04-0.11
            # at the same clean false positives.
            "function_disfluency": function_disfluency(scan.function_gains),
            # The part of graded_disfluency that ordinary words carry: in
            # clean news, wire copy and science alike it is small (dev means
            # 0.03-0.04 nats), and a swap is most often an ordinary word out
            # of place (Roget 15 %: 0.2-0.3), while rare terms are odd to the
            # LM in any register.
            "common_disfluency": common,
        }
        ev = Evidence(doc, spans, rate, sig, listed, scan, spintax_groups(doc.text),
                      _telltales(doc, spans, r.lm))
        # After the signals, which the model was trained on under the
        # document's prior: a spun section's own spans are then scored under
        # its own rate, so its findings are not drowned by the clean rest.
        ev.sections = r.spun_sections(doc, spans, rate)
        for sec in ev.sections:
            score_spans(sec.spans, r.prior(sec.rate))
        return ev

    def find_listed(self, doc: Document) -> list[tuple[int, int, str, float]]:
        """Occurrences of --lexicon phrases: (first word, end word, original, prob)."""
        return find_phrases(doc, self.listed, self._listed_max)

    # -- the score ----------------------------------------------------------
    def model_for(self, signals: dict[str, float]) -> DetectParams:
        """The weights and threshold that score a text with these signals."""
        return self.p.for_length(signals["log_words"])

    def probability(self, signals: dict[str, float], model: DetectParams | None = None) -> float:
        m = self.model_for(signals) if model is None else model
        z = m.bias + sum(w * signals[s] for s, w in zip(SIGNALS, m.weights, strict=True))
        return _sigmoid(z)

    def quick_scores(self, text: str) -> tuple[int, list[float], int]:
        """Words, context gains of the content words, and phrase-table hits.

        The screening pass; ``measure`` reads the same gains (with their quote
        flags) from :meth:`_context_gains` instead of a second LM pass.
        """
        scan = self._context_gains(text, start=meta_end(text))
        return scan.n_words, scan.gains, scan.hits

    def _context_gains(self, text: str, function_words: bool = False, start: int = 0
                       ) -> ContextScan:
        """quick_scores plus, per content word, its unigram ln-probability and
        whether it is inside a quotation.

        A word's context gain reads both of its sides: its trigram
        log-probability in place minus its unigram one (does the left context
        expect it?), plus the next word's bigram log-probability after it minus
        that word's unigram one (does it lead into its right neighbour?). A
        spinner's swap rarely fits its neighbours, so spun text has more words
        that their own context makes *less* likely, and the right side catches
        swaps whose left side happens to fit ("the officer instructed CNN").
        This is the screening path's only work: a regex split, about three
        cached LM lookups per word, and a scan for multiword table entries.
        With ``function_words``, the left-context gain of each lower-case
        word that is not a content word (stopwords, words of one or two
        letters; one more lookup each) is kept too. Reading starts at
        ``start``: after a crawl line, as :class:`Document` does.
        """
        lm = self.r.lm
        h1: str | None = None
        h2: str | None = None
        gains: list[float] = []
        unigrams: list[float] = []
        quoted: list[bool] = []
        lower: list[str] = []
        words: list[str] = []
        fgains: list[float] = []
        quote = False
        waiting = -1  # index in gains of the word just before, awaiting its right side
        for tok in _QUICK_WORD.findall(text, start):
            if tok in _SENTENCE_END:
                h1 = h2 = None
                waiting = -1
                continue
            if tok in QUOTE_MARKS:  # as Document keeps it
                quote = quote_after(tok, quote)
                if tok == "\n":
                    # A line break ends a sentence for restore too: an
                    # unpunctuated heading must not run into the next line.
                    h1 = h2 = None
                    waiting = -1
                continue
            low = tok.lower()
            lower.append(low)
            if _breaks_ngrams(tok):
                # No n-gram of the LM spans a number or a hyphenated compound.
                # Dropping it instead joined its neighbours into an n-gram the
                # text does not have ("from 120 million" read as "from
                # million"), which made figures and compounds, common in wire
                # copy and science, look like swaps.
                h1 = h2 = None
                waiting = -1
                continue
            unigram = lm.logprob(low)
            if waiting >= 0:
                gains[waiting] += lm.logprob(low, h1) - unigram
                waiting = -1
            if _is_content(tok, low):
                waiting = len(gains)
                gains.append(lm.logprob(low, h1, h2) - unigram)
                unigrams.append(unigram)
                quoted.append(quote)
                words.append(low)
            elif function_words and h1 is not None and not quote and tok == low:
                fgains.append(lm.logprob(low, h1, h2) - unigram)
            h2, h1 = h1, low
        hits = 0
        heads = self._phrase_heads
        for k, w in enumerate(lower):
            if w in heads:
                for n in (2, 3):
                    if tuple(lower[k : k + n]) in self._phrases:
                        hits += 1
                        break
        return ContextScan(len(lower), gains, quoted, unigrams, hits, words, fgains)

    @staticmethod
    def quick_share(scores: tuple[int, list[float], int], tau: float) -> float:
        """Share of content words whose context gain is below ``tau``, plus artefacts."""
        _n, gains, hits = scores
        return (sum(1 for g in gains if g < tau) + hits) / max(len(gains), 1)

    def screen(self, text: str) -> float | None:
        """The suspicious-word share if the document is clearly clean, else None.

        None means "run the full analysis": the text is short, or not clearly
        clean. The cut-off was set in training below every document the full
        model calls spun, with a margin.
        """
        if self.p.screen_threshold <= 0:
            return None
        check_text(text)
        scores = self.quick_scores(text)
        if scores[0] < SCREEN_MIN_WORDS:
            return None
        # Text that may not be English goes the full way, to its one-line error.
        if sum(1 for w in _QUICK_WORD.findall(text[:2000]) if w.lower() in STOPWORDS) < 20:
            return None
        share = self.quick_share(scores, self.p.screen_tau)
        if share >= self.p.screen_threshold or spintax_groups(text):
            return None
        return share

    def detect(self, text: str, screen: bool = False) -> Detection:
        if screen:
            _require_words(text)  # measure() checks it on the other path
            share = self.screen(text)
            if share is not None:
                # No probability was computed; report a clean one below the verdict line.
                return Detection(0.0, "clean", [],
                                 {"screened": True, "suspicious_share": round(share, 4)})
        return self.judge(self.measure(text))

    def judge(self, ev: Evidence) -> Detection:
        """The detection for measured evidence (``ev`` can then also be restored
        or traced without a second analysis: ``Restorer.restoration``)."""
        # One model for the score, the verdict and the report.
        model = self.model_for(ev.signals)
        p = self.probability(ev.signals, model)
        if ev.spintax:
            p = max(p, SPINTAX_PROBABILITY)
        if len(ev.telltales) >= TELLTALE_MIN:
            p = max(p, TELLTALE_PROBABILITY)
        verdict = "spun" if p >= model.threshold else "clean"
        return Detection(p, verdict, self.findings(ev, p), self._report(ev, model))

    def _report(self, ev: Evidence, model: DetectParams) -> dict:
        s = ev.signals
        contrib = {
            k: round(w * s[k], 3) for k, w in zip(SIGNALS, model.weights, strict=True) if w
        }
        return {
            "spin_rate": round(ev.rate, 4),
            "swaps_per_100_words": round(s["swap_density"], 2),
            "article_mismatches": round(math.expm1(s["article_mismatches"])),
            # The signal's count (multiword entries), and every listed hit.
            "listed_phrases": round(math.expm1(s["listed_phrases"])),
            "listed_hits": len(ev.listed),
            "phrase_artefacts": round(math.expm1(s["phrase_artefacts"])),
            "quote_contrast": round(s["quote_contrast"], 3),
            "graded_disfluency": round(s["graded_disfluency"], 3),
            "vocabulary_rarity": round(s["vocabulary_rarity"], 3),
            "function_disfluency": round(s["function_disfluency"], 3),
            "common_disfluency": round(s["common_disfluency"], 3),
            "spintax_groups": ev.spintax,
            "telltale_phrases": ev.telltales,
            "spun_sections": [{"start": sec.start, "end": sec.end, "spin_rate": round(sec.rate, 4)}
                              for sec in ev.sections],
            "n_words": ev.doc.n_words,
            "candidate_spans": len(ev.spans),
            "threshold": model.threshold,
            "logit_contributions": contrib,
        }

    # -- findings -----------------------------------------------------------
    def findings(self, ev: Evidence, p: float | None = None) -> list[Finding]:
        """The spans that give the document away (``p``: its P(spun), if known)."""
        doc, out = ev.doc, []
        taken: set[int] = set()

        def add(i: int, j: int, kind: str, conf: float, sugg: str | None, start=None) -> None:
            taken.update(range(i, j))
            a = doc.words[i].start if start is None else start
            b = doc.words[j - 1].end
            out.append(Finding(a, b, doc.text[a:b], kind, round(conf, 4), sugg))

        # Leftover spintax first, with restore's choice among its options; the
        # words inside it are then not reported again. A group with options
        # sets a floor on P(spun) (SPINTAX_PROBABILITY) rather than a weight.
        for c in self.r.spintax_changes(doc):
            taken.update(k for k, t in enumerate(doc.words) if c.start <= t.start < c.end)
            out.append(Finding(c.start, c.end, c.spun, "spintax", c.confidence, c.restored))
        by_pos = {(s.i, s.j): s for s in ev.spans}
        for i, j, original, prob in ev.listed:
            if any(k in taken for k in range(i, j)):
                continue  # inside spintax, or overlapping a longer listed phrase
            s = by_pos.get((i, j))
            conf = max(prob, s.posterior) if s else prob
            add(i, j, "listed_phrase", conf, _cased(doc, i, original))
        for s, cand in _article_spans(ev.spans):
            if _free(taken, s):
                art = doc.words[s.i - 1]
                sugg = f"{art.text} {_cased(doc, s.i, ' '.join(cand.words))}"
                add(s.i, s.j, "article_mismatch", s.posterior, sugg, start=art.start)
        for s in _artefact_spans(ev.spans):
            if _free(taken, s):
                add(s.i, s.j, "phrase_artefact", s.posterior, _suggest(doc, s))
        for s in _non_overlapping([s for s in ev.spans if s.posterior >= FINDING_POSTERIOR]):
            if _free(taken, s):
                add(s.i, s.j, "likely_swap", s.posterior, _suggest(doc, s))
        # Words that fit neither neighbour, where restore has nothing to say:
        # evidence for the verdict, without a suggestion. Only in a document
        # that is probably spun (in clean text they are just unusual words).
        if p is None:
            p = self.probability(ev.signals)
        if ev.scan is not None and p >= FINDING_POSTERIOR:
            used = [(f.start, f.end) for f in out]
            refs = {t.start for t in doc.words if t.in_ref}  # "www.x.org/individuals"
            offsets = _content_offsets(doc.text, doc.body_start)
            for (a, b), g, q, u in zip(offsets, ev.scan.gains, ev.scan.quoted,
                                       ev.scan.unigrams, strict=True):
                cut = UNLIKELY_GAIN_COMMON if u >= COMMON_LOGPROB else UNLIKELY_GAIN
                if (g < cut and not q and a not in refs
                        and not any(a < e and x < b for x, e in used)):
                    out.append(Finding(a, b, doc.text[a:b], "unlikely_word",
                                       round(p * UNLIKELY_PRECISION, 4), None))
        out.sort(key=lambda f: (f.start, f.end))
        return out




def _require_words(text: str) -> None:
    require_str(text)
    if not text.strip():
        raise InputError("input is empty: there is nothing to judge")


def _is_content(tok: str, low: str) -> bool:
    """Whether the screening pass scores ``tok``: capitalised words (names,
    sentence starts) and function words are not what spinners swap."""
    return tok == low and len(low) > 2 and low not in STOPWORDS


def _breaks_ngrams(tok: str) -> bool:
    """A number or a hyphenated compound: the screening pass scores neither and
    reads no n-gram across it.

    >>> [t for t in ("12", "7,000", "high-resource", "said") if _breaks_ngrams(t)]
    ['12', '7,000', 'high-resource']
    """
    return tok[0].isdigit() or "-" in tok


def _content_offsets(text: str, start: int = 0) -> list[tuple[int, int]]:
    """Character spans of the words Detector._context_gains scores, in its order.

    Computed apart, and only when findings need them: recording spans inside
    the screening loop (finditer instead of findall) made it about 17 %
    slower, measured warm in one process.

    >>> _content_offsets("The officer said: “fine”.")
    [(4, 11), (19, 23)]
    """
    # Sentence ends and quote marks are single characters: never content.
    return [m.span() for m in _QUICK_WORD.finditer(text, start)
            if not _breaks_ngrams(m.group()) and _is_content(m.group(), m.group().lower())]


def _excess(gain: float) -> float:
    """How many nats a word's context makes it less likely, past the slack."""
    return max(0.0, -gain - DISFLUENCY_SLACK)


def disfluency(gains: list[float], quoted: list[bool], words: list[str],
                unigrams: list[float] | None = None, min_logprob: float = -math.inf) -> float:
    """Mean of max(0, -gain - DISFLUENCY_SLACK) over the distinct content words
    outside quotes (a word that recurs counts once, with its mean).

    Technical prose repeats the terms a news LM finds odd ("low-resource
    languages", "language families"); a spinner's swaps are spread over many
    words. Averaging by word type rather than by token raised the separation of
    spun from clean science abstracts of our own prose (AUROC 0.957 -> 0.985
    for this signal alone) and left news as it was.

    With ``unigrams``, only the words whose unigram ln-probability is at least
    ``min_logprob`` add to the sum; the mean is still over every distinct word,
    so the parts for complementary cuts add up to the whole.

    >>> round(disfluency([0.3, -0.5, -2.5, -4.0], [False, False, False, True],
    ...                  ["a", "b", "c", "d"]), 4)
    0.6667
    >>> disfluency([-2.5, -4.5, 0.3], [False, False, False], ["term", "term", "word"])
    1.5
    >>> disfluency([-2.5, -4.5, -1.5], [False, False, False], ["odd", "out", "term"],
    ...            [-7.0, -9.0, -14.0], -10.0)  # "term" is rare: (2 + 4 + 0) / 3
    2.0
    """
    by_word: dict[str, list[float]] = {}
    kept: set[str] = set()
    us = [math.inf] * len(gains) if unigrams is None else unigrams
    for g, q, w, u in zip(gains, quoted, words, us, strict=True):
        if not q:
            by_word.setdefault(w, []).append(_excess(g))
            if u >= min_logprob:
                kept.add(w)
    return sum(sum(v) / len(v) for w, v in by_word.items() if w in kept) / max(len(by_word), 1)


def function_disfluency(gains: list[float]) -> float:
    """Mean of max(0, -gain - DISFLUENCY_SLACK) over the function words'
    left-context gains (by token: they recur in any text).

    >>> round(function_disfluency([0.4, -1.5, -3.5]), 4)  # (0 + 1 + 3) / 3
    1.3333
    >>> function_disfluency([])
    0.0
    """
    return sum(_excess(g) for g in gains) / max(len(gains), 1)


def rarity(unigrams: list[float], quoted: list[bool]) -> float:
    """Mean -ln P(word) over the content words outside quotes.

    Without any such word (a text that is all quotation) there is no
    evidence of register: REF_RARITY, the centre the weights were fitted
    around, not 0, which would read as prose of impossibly common words and
    lift P(spun) by about 4 logits.

    >>> rarity([-8.0, -10.0, -20.0], [False, False, True])
    9.0
    >>> rarity([-8.0], [True]) == REF_RARITY
    True
    """
    narr = [u for u, q in zip(unigrams, quoted, strict=True) if not q]
    return -sum(narr) / len(narr) if narr else REF_RARITY


def find_phrases(
    doc: Document, table: Mapping[tuple[str, ...], tuple[str, float]], max_len: int
) -> list[tuple[int, int, str, float]]:
    """Non-overlapping occurrences of ``table``'s word sequences, longest first.

    >>> doc = Document.from_text("Counterfeit consciousness, we said: counterfeit  consciousness."
    ...                          " Not across paragraphs: counterfeit\\n\\nconsciousness.")
    >>> find_phrases(doc, {("counterfeit", "consciousness"): ("artificial intelligence", 0.9)}, 2)
    [(0, 2, 'artificial intelligence', 0.9), (4, 6, 'artificial intelligence', 0.9)]
    """
    out: list[tuple[int, int, str, float]] = []
    if not table:
        return out
    words = doc.words
    i = 0
    while i < len(words):
        hit = None
        for n in range(min(max_len, len(words) - i), 0, -1):
            # Spaces only between the words: "told, reporters" is no phrase.
            if not all(doc.joined(k) for k in range(i, i + n - 1)):
                continue
            key = tuple(t.norm for t in words[i : i + n])
            if key in table:
                hit = (i, i + n, *table[key])
                break
        if hit:
            out.append(hit)
            i = hit[1]
        else:
            i += 1
    return out


_TABLES = frozenset("hpu")  # habit, phrase and user tables: the channel that names a spinner


def _telltales(doc: Document, spans: list[Span], lm) -> list[str]:
    """The distinct table phrases read as spun (posterior ≥ FINDING_POSTERIOR)
    whose words the language model finds no likelier together than apart:
    phrases no clean text writes, unlike "in accordance with" or "12 months".
    """
    out: dict[str, None] = {}
    for s in spans:
        if (s.j - s.i < 2 or s.posterior < FINDING_POSTERIOR
                or not _TABLES.intersection(s.best.source)):  # letters of its sources
            continue
        if any(t.kind != "word" for t in doc.words[s.i : s.j]):
            continue  # numbers: "12 months" is ordinary English
        words = doc.norms[s.i : s.j]
        together = lm.sequence_logprob(list(words))
        apart = sum(lm.sequence_logprob([w]) for w in words)
        if together <= apart:
            out[" ".join(words)] = None
    return list(out)


def _free(taken: set[int], s: Span) -> bool:
    return not any(k in taken for k in range(s.i, s.j))


def _cased(doc: Document, i: int, words: str) -> str:
    t = doc.words[i]
    return restored_case(t, t.text, words)


def _suggest(doc: Document, s: Span) -> str | None:
    return _cased(doc, s.i, " ".join(s.best.words)) if s.best else None


def _non_overlapping(spans: list[Span]) -> list[Span]:
    """Greedy by posterior, so "got here" and "got" are not counted twice."""
    taken: set[int] = set()
    out = []
    for s in sorted(spans, key=lambda s: -s.posterior):
        if _free(taken, s):
            taken.update(range(s.i, s.j))
            out.append(s)
    return out


def _shown(p: float, threshold: float) -> str:
    """P as the summary prints it: two decimals, or as many as it takes to
    show on which side of the threshold it lies.

    >>> _shown(0.8862, 0.89), _shown(0.95, 0.89), _shown(0.88996, 0.89)
    ('0.886', '0.95', '0.88996')
    """
    for digits in range(2, 6):
        text = f"{p:.{digits}f}"
        if (float(text) >= threshold) == (p >= threshold) and float(text) != threshold:
            return text
    return f"{p:.6f}"


_KIND_NOUNS = {"spintax": "spintax group"}  # finding kinds whose name is no noun


def _plural(noun: str, n: int) -> str:
    """
    >>> _plural("article mismatch", 2), _plural("phrase artefact", 2), _plural("listed phrase", 1)
    ('article mismatches', 'phrase artefacts', 'listed phrase')
    >>> _plural("spintax group", 3), _plural("word", 1)
    ('spintax groups', 'word')
    """
    if n == 1:
        return noun
    return noun + ("es" if noun.endswith(("ch", "sh", "s", "x")) else "s")


def _article_spans(spans: list[Span]):
    """(span, best agreeing candidate) where the a/an before the span clashes with it."""
    out = []
    for s in spans:
        agreeing = [c for c in s.candidates if c.features[_ARTICLE] > 0]
        if agreeing:
            out.append((s, agreeing[0]))
    return out


def _artefact_spans(spans: list[Span]) -> list[Span]:
    """Spans where a phrase-table original ("12 months" → "year") reads better in context.

    Judged by the LM gain alone, not restore's logit: the gain is what tells
    "this 12 months" from "in the past 12 months".
    """
    out = []
    for s in spans:
        gains = [c.features[_GAIN] for c in s.candidates if c.source == "p"]
        if gains and max(gains) > ARTEFACT_GAIN:
            out.append(s)
    return _non_overlapping(out)


def _quote_contrast(doc: Document, spans: list[Span]) -> float:
    inside = [s.posterior for s in spans if doc.words[s.i].in_quote]
    outside = [s.posterior for s in spans if not doc.words[s.i].in_quote]
    if len(inside) < MIN_QUOTE_SPANS or len(outside) < MIN_QUOTE_SPANS:
        return 0.0
    return sum(outside) / len(outside) - sum(inside) / len(inside)


_DEFAULT: Detector | None = None


def default_detector() -> Detector:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Detector()
    return _DEFAULT


def spintax_groups(text: str) -> int:
    """How many spintax groups with two or more options ``text`` holds.

    A one-option group ("{Tuesday}") may be a template placeholder, and
    doubled braces are template syntax too ("{{lang|fr}}", "{{ title|upper }}"),
    so only single-brace groups with a choice count.

    >>> spintax_groups("The {electrical|electric} grid failed on {Tuesday}, {{lang|fr}}.")
    1
    """
    return sum(1 for m in find_spintax(text)
               if "|" in m.group() and not m.group().startswith("{{"))


def detect(text: str, screen: bool = False, detector: Detector | None = None) -> Detection:
    """Score ``text`` for spinning; see the module docstring."""
    return (detector or default_detector()).detect(text, screen=screen)
