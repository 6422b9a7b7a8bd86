"""Spelled-out numbers that a spinner wrote for digits ("150th" -> "a hundred and fiftieth").

Dictionary spinners run a number-to-words step over digits, which yields the
spoken British form: "a hundred and fiftieth", "two thousand and twenty-two",
"one hundred and twenty-five". Newsrooms write those numbers as digits, so such
a phrase in narration is evidence of a swap; the language model cannot judge
it (digits are outside its vocabulary), so restore scores it as a table
candidate with no fluency term (see :meth:`unspin.restore.Restorer.number_changes`).

Only *compound* numbers with "hundred" or "thousand" and another part are
taken: "a hundred years", "two thousand people" and "twenty-first century" are
ordinary prose. Sentence starts are left alone, since style guides ask for
words there; so are quotations, where people speak numbers.

>>> [(m.text, m.digits) for m in find_numbers("The a hundred and fiftieth race, "
...                                          "after two thousand and twenty-two.")]
[('a hundred and fiftieth', '150th'), ('two thousand and twenty-two', '2022')]
>>> find_numbers("It took a hundred years and two thousand people.")
[]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_ORDINALS = {
    "first": "one", "second": "two", "third": "three", "fourth": "four", "fifth": "five",
    "sixth": "six", "seventh": "seven", "eighth": "eight", "ninth": "nine", "tenth": "ten",
    "eleventh": "eleven", "twelfth": "twelve", "thirteenth": "thirteen",
    "fourteenth": "fourteen", "fifteenth": "fifteen", "sixteenth": "sixteen",
    "seventeenth": "seventeen", "eighteenth": "eighteen", "nineteenth": "nineteen",
    "twentieth": "twenty", "thirtieth": "thirty", "fortieth": "forty", "fiftieth": "fifty",
    "sixtieth": "sixty", "seventieth": "seventy", "eightieth": "eighty",
    "ninetieth": "ninety", "hundredth": "hundred", "thousandth": "thousand",
}
_SCALES = {"hundred": 100, "thousand": 1000}
_WORD = "|".join(sorted([*_UNITS, *_TENS, *_ORDINALS, *_SCALES, "a", "and"], key=len,
                        reverse=True))
# Number words joined by single spaces or hyphens, starting with "a" or a number word.
_PHRASE_RE = re.compile(rf"\b(?:{_WORD})(?:[ -](?:{_WORD}))+\b", re.IGNORECASE)


@dataclass(frozen=True)
class SpelledNumber:
    start: int
    end: int
    text: str
    digits: str  # "150th", "2022"


_SPOKEN = {n: w for w, n in (*_UNITS.items(), *_TENS.items())}


def spoken(token: str) -> str:
    """A digit token below 100 as the words the language model knows, else unchanged.

    The LM has no digits, so "the next 12 months" would lose its history and
    look far worse than any candidate; "twelve" keeps the comparison fair.

    >>> spoken("12"), spoken("47"), spoken("150"), spoken("months")
    ('twelve', 'forty seven', '150', 'months')
    """
    if not token.isdigit() or len(token) > 2:
        return token
    n = int(token)
    if n in _SPOKEN:
        return _SPOKEN[n]
    return f"{_SPOKEN[n - n % 10]} {_SPOKEN[n % 10]}"


def parse(words: list[str]) -> tuple[int, bool] | None:
    """(value, is_ordinal) of a spoken number, or None if it is not one.

    >>> parse("a hundred and fiftieth".split())
    (150, True)
    >>> parse(["two", "thousand", "and", "twenty", "two"])
    (2022, False)
    >>> parse(["and", "two"]) is None
    True
    """
    ordinal = False
    if words and words[-1] in _ORDINALS:
        words = [*words[:-1], _ORDINALS[words[-1]]]
        ordinal = True
    if not words or words[0] == "and" or words[-1] in ("and", "a"):
        return None
    total = current = 0
    seen = False
    for k, w in enumerate(words):
        if w == "a":
            if k != 0 or len(words) < 2 or words[1] not in _SCALES:
                return None
            current = 1
        elif w == "and":
            continue
        elif w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        elif w == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            return None
        seen = True
    return (total + current, ordinal) if seen else None


def _suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def find_numbers(text: str, start: int = 0) -> list[SpelledNumber]:
    """Converter-style compound numbers in ``text`` (from ``start``), with their digits."""
    out = []
    for m in _PHRASE_RE.finditer(text, start):
        toks = [(t.group().lower(), m.start() + t.start(), m.start() + t.end())
                for t in re.finditer(r"[^ -]+", m.group())]
        # Trim joiners at the ends, and an article that is not "a hundred"/"a thousand".
        while toks and (toks[0][0] == "and" or (toks[0][0] == "a" and (
                len(toks) < 2 or toks[1][0] not in _SCALES))):
            toks.pop(0)
        while toks and toks[-1][0] in ("and", "a"):
            toks.pop()
        words = [t[0] for t in toks]
        if not any(w in _SCALES or w in ("hundredth", "thousandth") for w in words):
            continue
        if "and" not in words and len([w for w in words if w != "a"]) < 3:
            continue  # "a hundred", "two thousand": ordinary prose
        got = parse(words)
        if got is None or got[0] < 21:
            continue
        value, ordinal = got
        digits = f"{value}{_suffix(value)}" if ordinal else str(value)
        s, e = toks[0][1], toks[-1][2]
        out.append(SpelledNumber(s, e, text[s:e], digits))
    return out
