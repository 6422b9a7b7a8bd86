"""The document model: one tokenisation, shared by every command.

A :class:`Document` keeps the input string untouched and describes it as a
list of :class:`Token` spans. Everything downstream (restore, detect) works on
word indices into ``Document.words`` and reports character offsets into
``Document.text``, so output can always be mapped back byte-for-byte.

>>> doc = Document.from_text('date 2022-05-22 He said, “It was fine.” Then we went')
>>> doc.body_start
16
>>> [t.text for t in doc.words][:4]
['He', 'said', 'It', 'was']
>>> [(t.text, t.in_quote, t.sentence_start) for t in doc.words if t.text in ('It', 'Then')]
[('It', True, False), ('Then', False, True)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

# Words keep internal apostrophes ("didn’t"); hyphenated compounds are split so
# each part can be looked up on its own.
_TOKEN_RE = re.compile(
    r"(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"
    r"|(?P<num>\d+(?:[.,:/]\d+)*(?:st|nd|rd|th|s)?)"
    r"|(?P<space>\s+)"
    r"|(?P<punct>[^\w\s]|_)",
    re.UNICODE,
)
# Web and e-mail addresses, @handles, #hashtags and `code`: their words are
# identifiers, not prose, so nothing in them is restored (Token.in_ref). A
# web address ends before trailing punctuation ("see www.x.org/a.").
_REF_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"“”]*[^\s<>\"“”.,;:!?)\]'’]"
    # Anchored at the start of a run: else a long run with no "@" is tried
    # from every position, which is quadratic ('a' * 100_000).
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w&])[#@][^\W\d_]\w*"
    r"|`[^`\s]+`",
    re.UNICODE,
)
# A crawl line such as "date 2022-05-22" before the article is metadata.
_META_RE = re.compile(r"\A\ufeff?\s*date \d{4}-\d{2}-\d{2}(?:[ \t]*\n| )")


def meta_end(text: str) -> int:
    """Where the text after a leading crawl line ("date 2022-05-22") starts; 0 if none.

    >>> meta_end("date 2022-05-22 The officer told CNN.")
    16
    >>> meta_end("\\ufeffdate 2022-05-22 The officer told CNN.")  # after a byte-order mark
    17
    >>> meta_end("The date 2022-05-22 was set.")
    0
    """
    meta = _META_RE.match(text)
    return meta.end() if meta else 0


_OPEN_QUOTES = "“«„"
_CLOSE_QUOTES = "”»"
_SENTENCE_END = ".!?"
# What moves the quote state: quotation marks, and a line break, which ends
# any quote (news style re-opens quotes on each paragraph).
QUOTE_MARKS = frozenset(_OPEN_QUOTES + _CLOSE_QUOTES + '"\n')


def quote_after(mark: str, in_quote: bool) -> bool:
    r"""Whether text after ``mark`` (one of QUOTE_MARKS) is inside a quotation.

    >>> quote_after("“", False), quote_after('"', True), quote_after("\n", True)
    (True, False, False)
    """
    if mark in _OPEN_QUOTES:
        return True
    return not in_quote if mark == '"' else False


class InputError(ValueError):
    """Input that unspin cannot treat as English prose (one-line message)."""


@dataclass(slots=True)
class Token:
    start: int
    end: int
    text: str
    kind: str  # word | num | space | punct
    in_quote: bool = False
    sentence_start: bool = False
    in_ref: bool = False  # inside a web or e-mail address, handle, hashtag or `code`

    @property
    def norm(self) -> str:
        """Lowercase form with typographic apostrophes folded, as the LM spells it."""
        return self.text.lower().replace("’", "'")


@dataclass
class Document:
    text: str
    tokens: list[Token] = field(default_factory=list)
    words: list[Token] = field(default_factory=list)
    body_start: int = 0

    @classmethod
    def from_text(cls, text: str) -> Document:
        body_start = meta_end(text)
        tokens: list[Token] = []
        in_quote = False
        sentence_start = True
        refs = [m.span() for m in _REF_RE.finditer(text, body_start)]
        r = 0  # the first reference that does not end before the token
        for m in _TOKEN_RE.finditer(text, body_start):
            kind = m.lastgroup or "punct"
            tok = Token(m.start(), m.end(), m.group(), kind)
            while r < len(refs) and refs[r][1] <= tok.start:
                r += 1
            if r < len(refs) and refs[r][0] <= tok.start:
                tok.in_ref = True
            s = tok.text
            if kind == "space":
                if "\n" in s and not soft_wrap(s, text[m.end() : m.end() + 1]):
                    # Paragraphs end quotes and sentences; a line wrapped
                    # inside a sentence does neither.
                    in_quote = quote_after("\n", in_quote)
                    sentence_start = True
            elif kind == "punct":
                if s in QUOTE_MARKS:
                    in_quote = quote_after(s, in_quote)
                elif s in _SENTENCE_END:
                    sentence_start = True
                if s in _OPEN_QUOTES or s == '"':
                    tok.in_quote = in_quote
            else:
                tok.in_quote = in_quote
                tok.sentence_start = sentence_start
                sentence_start = False
            tokens.append(tok)
        doc = cls(text=text, tokens=tokens, body_start=body_start)
        doc.words = [t for t in tokens if t.kind in ("word", "num")]
        return doc

    @cached_property
    def norms(self) -> list[str]:
        """``t.norm`` for each of ``words``, computed once (restore reads them often)."""
        return [t.norm for t in self.words]

    @property
    def n_words(self) -> int:
        return sum(1 for t in self.words if t.kind == "word")

    def gap(self, i: int) -> str:
        """The text between word ``i`` and word ``i + 1`` (punctuation, spaces)."""
        return self.text[self.words[i].end : self.words[i + 1].start]

    def joined(self, i: int) -> bool:
        """Whether words ``i`` and ``i + 1`` can be one phrase (:func:`joins`);
        the one rule for restore's phrases and detect's listed phrases.

        >>> doc = Document.from_text("got\\u00a0here, got\\nhere. Got\\nHere")
        >>> [doc.joined(i) for i in range(5)]
        [True, False, True, False, False]
        """
        gap = self.gap(i)
        return gap == " " or joins(gap, self.words[i + 1].text)  # one space: most gaps, at once


_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def soft_wrap(gap: str, after: str) -> bool:
    """Whether the whitespace ``gap`` before ``after`` is a line wrapped inside
    a sentence: one line break (text copied from a PDF or an e-mail), and the
    next line goes on in lower case. A blank line, or a line that starts with
    a capital, a digit or punctuation, is a break.

    >>> soft_wrap("\\n", "consciousness"), soft_wrap("\\r\\n  ", "months")
    (True, True)
    >>> soft_wrap("\\n", "The"), soft_wrap("\\n\\n", "the"), soft_wrap("\\n", "12")
    (False, False, False)
    """
    return (after[:1].islower() and gap.isspace() and gap.count("\n") == 1
            and _LINE_BREAKS.isdisjoint(gap.replace("\n", "").replace("\r", "")))


def joins(gap: str, after: str = "") -> bool:
    """Whether ``gap``, the text between two words, keeps them in one phrase:
    spaces only, of any width and number (web text has no-break spaces and
    doubled spaces), or a soft-wrapped line before ``after``; no punctuation,
    and no other line break.

    >>> joins(" "), joins("\\u00a0"), joins("  \\t"), joins(", "), joins("\\n"), joins("")
    (True, True, True, False, False, False)
    >>> joins("\\n", "months")
    True
    """
    if _LINE_BREAKS.isdisjoint(gap):
        return gap.isspace()
    return soft_wrap(gap, after)


# Unicode category Cc except the whitespace controls \t \n \v \f \r (\v is
# the manual line break of text saved from word processors).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


# Spintax a spinner failed to expand: "{the electrical|the electric}", a
# one-option "{the electrical}", or doubled braces "{{told|instructed}}" —
# word options only, so "{1,2}" or code stays out.
_SPINTAX = re.compile(
    r"\{(\{)?(?P<options>[A-Za-z][A-Za-z' -]*(?:\|[A-Za-z][A-Za-z' -]*)*)\}(?(1)\})"
)


def find_spintax(text: str) -> list[re.Match]:
    """Leftover spintax groups in ``text``, in order.

    >>> [m.group() for m in find_spintax("the {electrical|electric} grid, x{1,2}, {Projects}")]
    ['{electrical|electric}', '{Projects}']
    >>> [m.group("options") for m in find_spintax("The officer {{told|instructed}} CNN.")]
    ['told|instructed']
    """
    return list(_SPINTAX.finditer(text))


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds an unpaired surrogate, which no UTF-8 output can
    write (only a JSON "\\ud800" escape or a Python caller brings one in)."""
    return _SURROGATE.search(text) is not None


def require_str(text: object) -> str:
    """``text`` if it is a str; a TypeError that says what to do otherwise.

    >>> require_str(b"bytes")
    Traceback (most recent call last):
    TypeError: unspin needs text (str), not bytes: decode it first, e.g. data.decode("utf-8")
    """
    if isinstance(text, str):
        return text
    hint = (': decode it first, e.g. data.decode("utf-8")'
            if isinstance(text, (bytes, bytearray)) else "")
    raise TypeError(f"unspin needs text (str), not {type(text).__name__}{hint}")


def require_probability(x: object, name: str) -> float:
    """``x`` as a float if it is a number in [0, 1]; TypeError or ValueError if not.

    >>> require_probability(1, "confidence")
    1.0
    >>> require_probability(float("nan"), "confidence")
    Traceback (most recent call last):
    ValueError: confidence must be a number from 0 to 1, not nan
    """
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name} must be a number from 0 to 1, not {type(x).__name__}")
    if not 0.0 <= x <= 1.0:  # also false for nan
        raise ValueError(f"{name} must be a number from 0 to 1, not {x!r}")
    return float(x)


def check_text(text: str, max_chars: int = 5_000_000) -> str:
    """Validate that ``text`` is prose unspin can work on; raise InputError if not
    (TypeError if it is not a str at all).

    >>> check_text("A short sentence.")
    'A short sentence.'
    >>> check_text("\\x00\\x01\\x02 binary")
    Traceback (most recent call last):
    unspin.text.InputError: input looks binary (control characters), not text
    """
    require_str(text)
    if len(text) > max_chars:
        raise InputError(f"input is too large ({len(text):,} characters; limit {max_chars:,})")
    sample = text[:100_000]
    controls = len(_CONTROL.findall(sample))
    if "\x00" in text or (controls and controls > 0.001 * len(sample)):
        raise InputError("input looks binary (control characters), not text")
    if has_surrogates(text):
        raise InputError("input contains unpaired surrogates: it is not valid Unicode text")
    return text


def shown_name(name: str) -> str:
    """A path or id as any output can show it: a file name that is not UTF-8 arrives
    with surrogate escapes, which no output format can write ("caf\\xe9.txt").

    >>> shown_name("caf\\udce9.txt"), shown_name("café.txt")
    ('caf\\\\xe9.txt', 'café.txt')
    """
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name makes
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def decode_bytes(data: bytes, name: str = "input") -> str:
    """Decode UTF-8 input strictly, with a one-line error otherwise.

    A byte-order mark is kept: it is part of the input, so restore gives it
    back and every offset indexes the input as read.

    >>> decode_bytes(b"caf\\xc3\\xa9")
    'café'
    >>> decode_bytes(b"\\xef\\xbb\\xbfcaf\\xc3\\xa9")
    '\\ufeffcafé'
    >>> decode_bytes(b"\\xff\\xfebad")
    Traceback (most recent call last):
    unspin.text.InputError: input is UTF-16, not UTF-8 (convert it: iconv -f UTF-16 -t UTF-8)
    >>> decode_bytes(b"caf\\xe9")
    Traceback (most recent call last):
    unspin.text.InputError: input is not valid UTF-8 (byte 0xe9 at offset 3)
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 byte-order mark
        raise InputError(f"{name} is UTF-16, not UTF-8 (convert it: iconv -f UTF-16 -t UTF-8)")
    if b"\x00" in data:
        raise InputError(f"{name} looks binary (NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = data[e.start : e.start + 1].hex()
        raise InputError(f"{name} is not valid UTF-8 (byte 0x{bad} at offset {e.start})") from None


_LETTER = re.compile(r"[^\W\d_]")
# Basic Latin, Latin-1, Latin Extended-A/B and Extended Additional letters.
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")


def latin_script(text: str, sample: int = 20_000) -> bool:
    """Whether most letters of ``text`` are Latin: English is, and Chinese or
    Japanese prose, which has no spaces to count words by, is not.

    >>> latin_script("The council said."), latin_script("市议会周二告诉记者，新桥将于今年开通。")
    (True, False)
    >>> latin_script("Café Zürich, 1999 — 42 %")
    True
    """
    head = text[:sample]
    letters = len(_LETTER.findall(head))
    return letters < 10 or 2 * len(_LATIN_LETTER.findall(head)) >= letters


def english_share(doc: Document, known) -> float:
    """Share of alphabetic words that ``known`` accepts (a cheap language check)."""
    words = [t.norm for t in doc.words if t.kind == "word"]
    if not words:
        return 0.0
    return sum(1 for w in words if known(w)) / len(words)


def restored_case(first: Token, template: str, words: str) -> str:
    """``words`` cased for a span that starts with token ``first`` and whose
    first word is ``template``.

    A restored word keeps the case its spun word has, so "in the U.S. stated"
    gives "said", not "Said": a lowercase word after an abbreviation is no
    sentence start, whatever the full stop suggests. A span that starts with
    a number at a sentence start ("12 months later, ...") has no cased word
    to follow and takes the capital ("Year later").

    >>> doc = Document.from_text("Officials in the U.S. stated it. 12 months on.")
    >>> stated, twelve = doc.words[4], doc.words[7]
    >>> stated.sentence_start, restored_case(stated, "stated", "said")
    (True, 'said')
    >>> restored_case(twelve, "months", "year")
    'Year'
    """
    return match_case(template, words, first.sentence_start and first.kind != "word")


def match_case(template: str, word: str, sentence_start: bool = False) -> str:
    """Give ``word`` the casing convention of ``template``.

    >>> match_case("Instructed", "told")
    'Told'
    >>> match_case("NASA", "space agency")
    'SPACE AGENCY'
    >>> match_case("stated", "said", sentence_start=True)
    'Said'
    """
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper() or sentence_start:
        return word[:1].upper() + word[1:]
    return word
