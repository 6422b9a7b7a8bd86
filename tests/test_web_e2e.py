"""The real page in headless Debian Chromium (Playwright) against a live uvicorn.

Skipped only when /usr/bin/chromium is absent (`apt-get install chromium`);
Playwright's own browser downloads are never used. Set UNSPIN_SCREENSHOT=FILE
to save a screenshot of the page with results (docs/screenshot.png is made so).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)

import uvicorn  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from unspin.web import create_app  # noqa: E402

SPUN = (
    "The mayor instructed reporters that the brand new library would open this 12 months. "
    "It is certainly one of 5 initiatives the council got here up with after the flood. "
    "In accordance with officers, the work grew to become urgent."
)
PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # model loading happens in the startup
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, base_url: str) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(base_url)
    expect(pg.locator("#version")).not_to_have_text("")  # health answered
    yield pg
    ctx.close()
    assert not errors, errors


def _restore(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.click("#go")
    expect(page.locator("#results")).to_be_visible(timeout=30_000)


def test_restore_highlights_and_toggle(page: Page) -> None:
    _restore(page, SPUN)
    expect(page.locator("#verdict-label")).to_contain_text("Likely spun")
    marks = page.locator("#out-restored mark")
    assert marks.count() >= 3
    # Tooltip and accessible name carry the other wording and the confidence.
    first = marks.first
    assert first.get_attribute("tabindex") == "0"
    assert "instructed" in (first.get_attribute("aria-label") or "")
    assert "confidence" in (first.get_attribute("data-tip") or "")
    first.focus()
    tip = page.evaluate("getComputedStyle(document.activeElement, '::after').content")
    assert "instructed" in tip

    restored = page.locator("#out-restored").inner_text()
    assert "told" in restored and "this year" in restored and "came up" in restored
    page.locator("label[for=view-spun]").click()
    expect(page.locator("#pane-restored")).to_be_hidden()
    spun = page.locator("#out-spun")
    expect(spun).to_contain_text("instructed")
    assert "12 months" in page.locator("#out-spun mark").all_inner_texts()
    page.locator("label[for=view-restored]").click()
    expect(page.locator("#out-restored")).to_contain_text("told reporters")
    page.locator("label[for=view-both]").click()
    expect(page.locator("#pane-spun")).to_be_visible()
    expect(page.locator("#pane-restored")).to_be_visible()

    shot = os.environ.get("UNSPIN_SCREENSHOT")
    if shot:
        page.locator("#out-spun mark").nth(1).hover()
        page.screenshot(path=shot, full_page=True)


def test_unlikely_words_are_marked_apart(page: Page) -> None:
    # "talked" (for "said") is a blind thesaurus swap restore has no candidate
    # for; detect reports it as an unlikely word, and the spun pane marks it.
    # Before the restored changes, and after a character outside the BMP (two
    # UTF-16 units, one code point), so order and offset mapping both matter.
    _restore(page, "\U0001F4F0 Officials talked an update on the flood. " + SPUN)
    page.locator("label[for=view-spun]").click()
    suspect = page.locator("#out-spun mark.suspect")
    expect(suspect).to_have_count(1)
    expect(suspect).to_have_text("talked")
    assert "no suggestion" in (suspect.get_attribute("data-tip") or "")
    # The restored changes are still marked as such, and not as suspects.
    changed = page.locator("#out-spun mark:not(.suspect)").all_inner_texts()
    assert "instructed" in changed and "12 months" in changed


def test_script_payload_is_text(page: Page) -> None:
    _restore(page, SPUN + " " + PAYLOAD)
    page.wait_for_timeout(300)  # give an injected onerror the chance to fire
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#out-spun script, #out-spun img, #out-restored img").count() == 0
    expect(page.locator("#out-spun")).to_contain_text("<script>window.__pwned = 1</script>")


def test_html_file_is_stripped(page: Page, tmp_path: Path) -> None:
    f = tmp_path / "article.html"
    f.write_text(f"<html><head><title>t</title></head><body><p>{SPUN}</p>"
                 f"<script>window.__pwned = 3</script></body></html>", encoding="utf-8")
    page.set_input_files("#file", str(f))
    expect(page.locator("#text")).to_have_value(SPUN)
    assert page.evaluate("window.__pwned") is None


def test_keyboard_and_phone_width(browser, base_url: str) -> None:
    ctx = browser.new_context(viewport={"width": 375, "height": 740})
    pg = ctx.new_page()
    pg.goto(base_url)
    expect(pg.locator("#version")).not_to_have_text("")
    pg.locator("#text").focus()
    pg.keyboard.insert_text(SPUN)
    pg.keyboard.press("Control+Enter")
    expect(pg.locator("#results")).to_be_visible(timeout=30_000)
    # No horizontal scrolling at phone width.
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375
    # Tab reaches the highlights.
    pg.locator("#download").focus()
    for _ in range(6):
        pg.keyboard.press("Tab")
        if pg.evaluate("document.activeElement.tagName") == "MARK":
            break
    assert pg.evaluate("document.activeElement.tagName") == "MARK"
    ctx.close()


def test_error_message_shown(page: Page) -> None:
    page.fill("#text", "\x01\x02\x03\x04\x05 x")
    page.click("#go")
    expect(page.locator("#status")).to_contain_text("binary")
    expect(page.locator("#status")).to_have_class("error")


def test_changes_table_explains_repeats(page: Page) -> None:
    # Written for this test: "were" -> "have been" all through a spun paragraph.
    _restore(page, "The firefighters have been exhausted after the blaze, the chief instructed "
             "reporters this 12 months. He stated they have been sent to the hills the day "
             "before, and after which they have been told to wait. The crews have been unaware "
             "of the wind, he stated, as a result of their radios have been broken. Three of "
             "them have been taken to hospital, the chief instructed the council.")
    page.click("#changes-summary")  # the table sits in a closed <details>
    rows = page.locator("#changes tbody tr")
    expect(rows.first).to_be_visible()
    texts = rows.all_inner_texts()
    assert any("have been" in t and "repeated ×" in t for t in texts), texts
    assert any("habit table" in t for t in texts)


@pytest.mark.parametrize("bad", ["\x01\x02\x03\x04\x05 x", "   \n  "])
def test_failed_submission_clears_the_old_results(page: Page, bad: str) -> None:
    # Refused by the server (binary) or by the page itself (blank): either way
    # nothing of the earlier text stays, and focus is back in the text box.
    _restore(page, SPUN)
    assert page.evaluate("document.activeElement.id") == "results"  # focus went on to the answer
    page.fill("#text", bad)
    page.click("#go")
    expect(page.locator("#status")).to_have_class("error")
    expect(page.locator("#results")).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "text"


def test_a_file_that_is_not_utf8_is_refused_and_the_label_opens_files(page: Page,
                                                                       tmp_path: Path) -> None:
    # From the keyboard: Tab from the text box reaches the visible label, and
    # Enter on it clicks the hidden file input (which opens the chooser; the
    # click is watched, as Playwright's chooser event can miss a fast one).
    page.fill("#text", "unchanged")
    page.evaluate("document.getElementById('file').addEventListener('click', (e) => {"
                  " e.preventDefault(); window.__chooser = true; })")
    page.locator("#text").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file-label"
    page.keyboard.press("Enter")
    assert page.evaluate("window.__chooser") is True
    f = tmp_path / "latin1.txt"
    f.write_bytes("The caf\u00e9 said it would open.".encode("latin-1"))
    page.set_input_files("#file", str(f))
    expect(page.locator("#status")).to_contain_text("latin1.txt is not UTF-8 text")
    expect(page.locator("#text")).to_have_value("unchanged")


def test_opened_file_keeps_its_bytes_in_the_download(page: Page, tmp_path: Path) -> None:
    # A BOM and CRLF line ends: the text box would drop both; the download
    # must hold what the CLI gives back for the same file.
    data = ("\ufeff" + SPUN.replace(". ", ".\r\n", 2)).encode("utf-8")
    f = tmp_path / "copy.txt"
    f.write_bytes(data)
    page.set_input_files("#file", str(f))
    page.click("#go")
    expect(page.locator("#results")).to_be_visible(timeout=30_000)
    with page.expect_download() as dl:
        page.click("#download")
    got = Path(dl.value.path()).read_bytes()
    import unspin

    assert got == unspin.restore(data.decode("utf-8")).text.encode("utf-8")
    assert got.startswith(b"\xef\xbb\xbf") and b"\r\n" in got


def test_any_confidence_in_range_is_accepted_and_keyboard_checks_it(page: Page) -> None:
    page.fill("#text", SPUN)
    page.fill("#confidence", "0.33")  # not a multiple of any step
    page.click("#go")
    expect(page.locator("#results")).to_be_visible(timeout=30_000)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/" in r.url else None)
    page.fill("#confidence", "2")
    page.locator("#text").focus()
    page.keyboard.press("Control+Enter")  # the browser's check, as for a click
    assert page.evaluate("document.getElementById('confidence').validity.valid") is False
    page.locator("#text").focus()  # a round trip through the page: any request is out
    page.wait_for_timeout(500)
    assert requests == []  # the out-of-range value was never sent


def test_a_second_submit_while_working_is_ignored(page: Page) -> None:
    # The first request is held until after the second submit, so the page is
    # surely still working when it comes (a warm server could otherwise answer
    # between the two key presses); then the real server answers it.
    held: list = []
    page.route("**/api/restore", lambda route: held.append(route))
    page.fill("#text", SPUN * 20)
    page.locator("#text").focus()
    page.keyboard.press("Control+Enter")
    page.keyboard.press("Control+Enter")
    while not held:
        page.wait_for_timeout(20)
    page.wait_for_timeout(200)  # time for a second request to be issued, if it were
    for route in held:
        route.continue_()
    expect(page.locator("#results")).to_be_visible(timeout=60_000)
    assert len(held) == 1


def test_a_probability_next_to_the_threshold_is_shown_on_its_side(page: Page) -> None:
    # 88.62 % against a threshold of 89 %: "89%" would read as spun, or arbitrary.
    assert page.evaluate("pctBy(0.8862, {threshold: 0.89})") == "88.6%"
    assert page.evaluate("pctBy(0.95, {threshold: 0.89})") == "95%"
    assert page.evaluate("pctBy(0.5, {})") == "50%"


def test_a_spun_paragraph_on_a_clean_page_is_named_in_the_verdict(page: Page) -> None:
    from pages import SPUN_PARAGRAPH, clean_page

    _restore(page, clean_page() + "\n\n" + SPUN_PARAGRAPH)
    expect(page.locator("#verdict-detail")).to_contain_text("1 paragraph reads spun on its own")


def test_a_short_text_comes_with_a_caution_next_to_its_verdict(page: Page) -> None:
    _restore(page, "The witness stated her name.")
    expect(page.locator("#verdict-detail")).to_contain_text("few words: read the highlights")
    _restore(page, SPUN)
    expect(page.locator("#verdict-detail")).not_to_contain_text("few words")
