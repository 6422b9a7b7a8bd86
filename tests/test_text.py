"""The document model keeps every byte of the input addressable."""

from __future__ import annotations

import pytest

import unspin
from unspin.text import Document, InputError, check_text


def test_tokens_cover_the_input_exactly():
    text = "date 2022-05-22 “Quoted,” he said.\n\nA new  para — with  odd   spacing!"
    doc = Document.from_text(text)
    assert "".join(t.text for t in doc.tokens) == text[doc.body_start :]
    assert doc.body_start == len("date 2022-05-22 ")


def test_quotes_reset_at_paragraph_breaks():
    doc = Document.from_text("“Open quote never closed\n\nNarration here")
    assert [t.in_quote for t in doc.words] == [True, True, True, True, False, False]


def test_a_line_wrapped_inside_a_sentence_is_no_break():
    # Text copied from a PDF or an e-mail: the wrapped line goes on in lower
    # case and stays in the sentence (and the quote); a capital starts anew.
    doc = Document.from_text("“The troopers got\nhere late,” he\r\nsaid.\nThe end")
    starts = {t.text: t.sentence_start for t in doc.words}
    quoted = {t.text: t.in_quote for t in doc.words}
    assert starts == {"The": True, "troopers": False, "got": False, "here": False,
                      "late": False, "he": False, "said": False, "end": False}
    assert quoted["here"] and quoted["late"] and not quoted["said"]
    assert [t.sentence_start for t in Document.from_text("one\n\ntwo").words] == [True, True]


def test_whitespace_and_punctuation_survive_a_restore():
    text = "  He  stated ,\tthe troopers got here underneath assault this 12 months !\r\n"
    result = unspin.restore(text)
    assert result.changes, "expected the spun words to be restored"
    # Everything outside the changed spans is byte-identical.
    pos = 0
    out = result.text
    for c in result.changes:
        seg = text[pos : c.start]
        assert out.startswith(seg)
        out = out[len(seg) :]
        assert out.startswith(c.restored)
        out = out[len(c.restored) :]
        pos = c.end
    assert out == text[pos:]


def test_sentence_initial_restoration_is_capitalised():
    # A low threshold forces the change: one sentence is weak evidence.
    result = unspin.restore("In accordance with the report, prices rose in March.", confidence=0.05)
    assert result.text.startswith("According to the report")


def test_huge_input_is_refused():
    with pytest.raises(InputError, match="too large"):
        check_text("word " * 1_100_000)


def test_binary_input_is_refused():
    with pytest.raises(InputError, match="binary"):
        unspin.restore("\x00\x01\x02\x03\x04 some text \x05\x06")


@pytest.mark.parametrize("space", ["\t", "\v", "\f", "\r\n"])
def test_whitespace_controls_are_text(space):
    # \v is the manual line break of text saved from a word processor.
    text = f"The officer instructed reporters{space}that the bridge would open."
    assert check_text(text) == text
    assert unspin.restore(text).text == text.replace("instructed", "told")


def test_an_address_is_only_looked_for_from_the_start_of_a_run():
    # Tried from every position of a long run with no "@", the e-mail pattern
    # was quadratic: one 100 kB "word" held the web server for a minute.
    from unspin.text import _REF_RE

    assert _REF_RE.match("jo.smith@example.org", 0)
    assert _REF_RE.match("jo.smith@example.org", 3) is None
    assert _REF_RE.match("aaaa@example.org", 1) is None


def test_words_of_addresses_handles_and_code_are_marked():
    from unspin.text import Document

    doc = Document.from_text("See www.x.org/individuals. Mail a.b@stated.com, #troopers, "
                             "@officers or `people.stated()` (AT&T#1); individuals stated.")
    assert [t.text for t in doc.words if t.in_ref] == [
        "www", "x", "org", "individuals", "a", "b", "stated", "com", "troopers",
        "officers", "people", "stated"]


def test_api_type_errors_say_what_to_pass():
    with pytest.raises(TypeError, match="decode it first"):
        unspin.restore(b"The officer instructed reporters.")
    with pytest.raises(TypeError, match="not NoneType"):
        unspin.detect(None)
    for bad in (2, -0.1, float("nan")):
        with pytest.raises(ValueError, match="from 0 to 1"):
            unspin.restore("The officer instructed reporters.", bad)
    with pytest.raises(TypeError, match="from 0 to 1"):
        unspin.restore("The officer instructed reporters.", "0.5")
