"""unspin detect: the API, the calibrated verdict on our own sentences, and the CLI.

Everything here uses text written for these tests (no research corpora).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from bad_inputs import BAD_INPUTS

import unspin
from unspin.detect import (
    SIGNALS,
    Detection,
    Detector,
    DetectParams,
    Finding,
    disfluency,
    function_disfluency,
    rarity,
)
from unspin.text import InputError

ROOT = Path(__file__).resolve().parents[1]

CLEAN = (
    "The city council told reporters on Tuesday that the new library would open next "
    "year, one of four projects delayed by the storm. Officials said an update on the "
    "costs would be published in March, and they expect the building to cost less than "
    "planned. \u201cWe want people to come back to the centre,\u201d the mayor said. The old "
    "library closed after the roof was damaged, and its books were moved to a school."
)
# The same paragraph through a dictionary spinner's habits: verb and noun swaps
# with kept inflection, phrase artefacts, an unrepaired a/an, the quote untouched.
SPUN = (
    "The metropolis council instructed reporters on Tuesday that the brand new library "
    "would open subsequent 12 months, certainly one of 4 initiatives delayed by the storm. "
    "Officers stated an replace on the prices could be revealed in March, and they "
    "anticipate the constructing to price much less than deliberate. \u201cWe want people to "
    "come back to the centre,\u201d the mayor said. The outdated library closed after the "
    "roof was broken, and its books had been moved to a faculty."
)
MORE_CLEAN = [
    (ROOT / "examples" / "clean_news.txt").read_text(encoding="utf-8"),
    "Researchers at the university trained a small neural network to predict rainfall from "
    "satellite images. The model was tested on five years of data from two regions and "
    "performed better than the standard method in both. The authors note that the data set "
    "is small and that the results should be confirmed on other regions before the method "
    "is used to plan water supplies.",
    "The match was stopped for twenty minutes in the second half when heavy rain flooded "
    "the pitch. When play resumed, the home side scored twice in the final ten minutes to "
    "win the game and move to the top of the table. Their coach said the players had shown "
    "great character after a difficult week, in which two of them were injured in training.",
]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unspin.cli", "detect", *args],
        input=stdin,
        capture_output=True,
        timeout=180,
    )


# -- API ------------------------------------------------------------------------
def test_api_shape_and_offsets():
    d = unspin.detect(SPUN)
    assert isinstance(d, Detection)
    assert 0.0 <= d.spun_probability <= 1.0
    assert d.verdict in ("spun", "clean")
    data = d.to_dict()
    assert set(data) == {"spun_probability", "verdict", "findings", "signals"}
    json.dumps(data)  # serialisable as is
    assert {"spin_rate", "swaps_per_100_words", "article_mismatches", "quote_contrast",
            "n_words", "logit_contributions"} <= set(data["signals"])
    assert d.findings
    kinds = {"likely_swap", "article_mismatch", "phrase_artefact", "listed_phrase"}
    for f in d.findings:
        assert isinstance(f, Finding)
        assert SPUN[f.start : f.end] == f.text
        assert f.kind in kinds
        assert 0.0 <= f.confidence <= 1.0
    assert set(data["findings"][0]) == {"start", "end", "text", "kind", "confidence",
                                        "suggestion"}


def test_spun_paragraph_scores_higher_than_its_original():
    spun, clean = unspin.detect(SPUN), unspin.detect(CLEAN)
    assert spun.spun_probability > clean.spun_probability
    assert spun.verdict == "spun"
    assert spun.signals["spin_rate"] > clean.signals["spin_rate"]


def test_crawl_line_is_metadata_for_detect_too():
    # restore and the index skip a leading "date YYYY-MM-DD" line; detect's
    # word-level signals must not score it either, and offsets still index
    # the input as given.
    meta = "date 2022-05-22\n"
    plain, dated = unspin.detect(SPUN), unspin.detect(meta + SPUN)
    assert dated.signals == plain.signals
    assert dated.spun_probability == plain.spun_probability
    shifted = [(f.start + len(meta), f.end + len(meta), f.kind) for f in plain.findings]
    assert [(f.start, f.end, f.kind) for f in dated.findings] == shifted


def test_article_clash_is_a_finding_with_a_repair():
    d = unspin.detect(SPUN)
    clashes = [f for f in d.findings if f.kind == "article_mismatch"]
    assert any(f.text == "an replace" for f in clashes)
    f = next(f for f in clashes if f.text == "an replace")
    assert f.suggestion is not None and f.suggestion.startswith("an ")


@pytest.mark.parametrize("text", [CLEAN, *MORE_CLEAN], ids=["council", "example", "sci",
                                                          "sport"])
def test_clean_text_is_clean(text):
    d = unspin.detect(text)
    assert d.verdict == "clean", d.signals
    assert d.spun_probability < Detector().p.threshold


def test_threshold_knob_and_screen():
    det = Detector(threshold=0.0)
    assert det.detect(CLEAN).verdict == "spun"  # everything clears a zero threshold
    # A screened document is reported clean without findings, or fully analysed.
    d = Detector().detect(SPUN, screen=True)
    assert d.verdict == "spun"


def test_screening_dismisses_long_clean_prose_with_a_clean_report():
    # Our own news-length articles: screening exists to dismiss such text
    # cheaply (the training log reports about a quarter of long own prose).
    own = sorted((Path(__file__).resolve().parents[1] / "corpus" / "own").glob("[0-9]*.txt"))
    det = Detector()
    texts = [p.read_text(encoding="utf-8") for p in own[:15]]
    dismissed = [t for t in texts if det.screen(t) is not None]
    assert len(dismissed) >= 3
    d = det.detect(dismissed[0], screen=True)
    assert (d.verdict, d.findings, d.signals["screened"]) == ("clean", [], True)
    assert 0.0 <= d.signals["suspicious_share"] < det.p.screen_threshold
    assert "dismissed by screening" in d.summary()
    # Dismissed means the full pass agrees: none of them is called spun.
    assert all(det.detect(t).verdict == "clean" for t in dismissed)


def test_screening_statistic_separates_spun_from_clean():
    det = Detector()
    tau = det.p.screen_tau
    assert det.p.screen_threshold > 0  # trained, so --screen can dismiss at all
    spun = det.quick_share(det.quick_scores(SPUN), tau)
    clean = det.quick_share(det.quick_scores(CLEAN), tau)
    assert spun > clean
    # Long enough to be screened, and spun: screening must leave it to the full pass.
    assert det.screen("\n\n".join([SPUN] * 4)) is None


def test_graded_disfluency_reads_narration_and_feeds_the_score():
    det = Detector()
    k = SIGNALS.index("graded_disfluency")
    assert det.p.weights[k] > 0  # trained to raise P(spun)
    # The shipped weights were fitted to exactly these signals (a renamed or
    # dropped one would otherwise load silently as weight 0).
    model = json.loads((ROOT / "src" / "unspin" / "data" / "detect_model.json").read_text())
    assert list(model["weights"]) == list(SIGNALS)
    spun, clean = det.measure(SPUN).signals, det.measure(CLEAN).signals
    assert spun["graded_disfluency"] > clean["graded_disfluency"] > 0
    # Computed from the screening pass's own gains (no second LM pass).
    scan = det._context_gains(CLEAN)
    assert (scan.n_words, scan.gains, scan.hits) == det.quick_scores(CLEAN)
    expected = disfluency(scan.gains, scan.quoted, scan.words)
    assert clean["graded_disfluency"] == pytest.approx(expected)
    # Spun words count in narration, not inside a quotation (spinners leave quotes alone).
    bad = "Officers stated the constructing could price much less than deliberate."
    quoted_bad = det.measure(f"{CLEAN} \u201c{bad}\u201d").signals["graded_disfluency"]
    assert quoted_bad == pytest.approx(clean["graded_disfluency"])
    assert det.measure(f"{CLEAN} {bad}").signals["graded_disfluency"] > quoted_bad
    d = det.detect(SPUN)
    assert d.signals["graded_disfluency"] == round(spun["graded_disfluency"], 3)
    assert d.signals["logit_contributions"]["graded_disfluency"] > 0


def test_function_disfluency_reads_the_words_after_swaps():
    det = Detector()
    assert det.p.weights[SIGNALS.index("function_disfluency")] > 0  # trained to raise P(spun)
    lm = det.r.lm
    # Lower-case function words outside quotes with a history: "were", "at"
    # (after a swap), "over", "their", "to", "them". Not read: "The" (capitalised, here and
    # mid-sentence), "of" (after a number: no history), the quoted "we".
    text = ("The troopers were requested at hand over their phones to The Post; "
            "3 of them \u201cwe said\u201d.")
    scan = det._context_gains(text, function_words=True)
    assert scan.function_gains == pytest.approx([
        lm.logprob("were", "troopers", "the") - lm.logprob("were"),
        lm.logprob("at", "requested", "were") - lm.logprob("at"),
        lm.logprob("over", "hand", "at") - lm.logprob("over"),
        lm.logprob("their", "over", "hand") - lm.logprob("their"),
        lm.logprob("to", "phones", "their") - lm.logprob("to"),
        lm.logprob("them", "of") - lm.logprob("them"),  # its history starts after the number
    ])
    # The screening pass does not pay for them.
    assert det._context_gains(text).function_gains == []
    # (How well it separates spun from clean is measured on corpora, not here:
    # one paragraph has too few function words after swaps to show it.)
    sig = det.measure(text).signals
    assert sig["function_disfluency"] == pytest.approx(function_disfluency(scan.function_gains))
    assert sig["function_disfluency"] > 0
    contrib = det.detect(text).signals["logit_contributions"]["function_disfluency"]
    assert contrib == pytest.approx(
        det.p.weights[SIGNALS.index("function_disfluency")] * sig["function_disfluency"], abs=0.01)


def test_context_gain_reads_both_sides_of_a_word():
    det = Detector()
    lm = det.r.lm
    # Content words: officer, instructed, reporters.
    gains = det._context_gains("The officer instructed reporters.").gains
    left = lm.logprob("instructed", "officer", "the") - lm.logprob("instructed")
    right = lm.logprob("reporters", "instructed") - lm.logprob("reporters")
    assert right < 0  # the swap does not lead into its neighbour
    assert gains[1] == pytest.approx(left + right)
    # The last word of a sentence has no right side.
    assert gains[2] == pytest.approx(
        lm.logprob("reporters", "instructed", "officer") - lm.logprob("reporters"))
    told = det._context_gains("The officer told reporters.").gains
    assert told[1] > gains[1]


def _right(lm, nxt: str, word: str) -> float:
    return lm.logprob(nxt, word) - lm.logprob(nxt)


def test_right_side_is_the_very_next_word_whatever_it_is():
    det = Detector()
    lm = det.r.lm
    # Content words: officer, bridge, open. "officer" gets the right side of
    # "said" only, not of the stopwords after it; "bridge" that of "would".
    scan = det._context_gains("The officer said the bridge would open.")
    assert len(scan.gains) == 3
    left = lm.logprob("officer", "the") - lm.logprob("officer")
    assert scan.gains[0] == pytest.approx(left + _right(lm, "said", "officer"))
    left = lm.logprob("bridge", "the", "said") - lm.logprob("bridge")
    assert scan.gains[1] == pytest.approx(left + _right(lm, "would", "bridge"))
    # A capitalised neighbour counts on the right (only the word itself must be
    # lower-case), and a quote mark between them does not break the pair.
    for text in ("The minister Boris spoke.", "The minister \u201cBoris\u201d spoke."):
        g = det._context_gains(text).gains[0]
        left = lm.logprob("minister", "the") - lm.logprob("minister")
        assert g == pytest.approx(left + _right(lm, "boris", "minister")), text
    # A sentence end does.
    g = det._context_gains("The minister. Boris spoke.").gains[0]
    assert g == pytest.approx(lm.logprob("minister", "the") - lm.logprob("minister"))


def test_vocabulary_rarity_reads_narration_and_lowers_the_score():
    det = Detector()
    k = SIGNALS.index("vocabulary_rarity")
    assert det.p.weights[k] < 0  # a register correction, trained to lower P(spun)
    scan = det._context_gains(CLEAN)
    sig = det.measure(CLEAN).signals
    assert sig["vocabulary_rarity"] == pytest.approx(rarity(scan.unigrams, scan.quoted))
    # Rare words inside a quotation leave it unchanged; in narration they raise it.
    rare = "Sesquipedalian obfuscation perturbs lexicographers."
    quoted = det.measure(f"{CLEAN} \u201c{rare}\u201d").signals["vocabulary_rarity"]
    assert quoted == pytest.approx(sig["vocabulary_rarity"])
    assert det.measure(f"{CLEAN} {rare}").signals["vocabulary_rarity"] > quoted
    assert det.detect(CLEAN).signals["vocabulary_rarity"] == round(sig["vocabulary_rarity"], 3)
    # A text that is all quotation has no narration to read register from: it
    # gets the neutral centre, not 0 (which read as very common words and
    # lifted a clean quoted paragraph from P 0.12 to 0.80).
    from unspin.detect import REF_RARITY

    said = CLEAN.split(" \u201c")[0]  # the narration before the mayor's quote
    assert det.measure(said).signals["vocabulary_rarity"] != REF_RARITY
    assert det.measure(f"\u201c{said}\u201d").signals["vocabulary_rarity"] == REF_RARITY
    assert det.detect(f"\u201c{said}\u201d").spun_probability < 0.5


def test_disfluency_counts_for_less_in_rarer_vocabulary():
    from unspin.detect import REF_RARITY

    det = Detector()
    k = SIGNALS.index("disfluency_x_rarity")
    assert det.p.weights[k] < 0  # trained: rare words make disfluency a weaker sign
    # The weights hold only for the centre they were fitted with; another one
    # makes the model stale.
    assert det.p.ref_rarity == REF_RARITY and not det.stale
    moved = Detector(params=replace(det.p, ref_rarity=REF_RARITY + 0.1))
    assert moved.stale
    for text in (SPUN, CLEAN):
        sig = det.measure(text).signals
        assert sig["disfluency_x_rarity"] == pytest.approx(
            sig["graded_disfluency"] * (sig["vocabulary_rarity"] - REF_RARITY))
    assert det.measure(SPUN).signals["disfluency_x_rarity"] != 0.0


def test_common_disfluency_is_the_part_of_graded_disfluency_that_common_words_carry(tmp_path):
    from unspin.detect import COMMON_LOGPROB

    det = Detector()
    k = SIGNALS.index("common_disfluency")
    assert det.p.weights[k] > 0  # trained: ordinary words out of place are swaps
    for text in (SPUN, CLEAN):
        scan = det._context_gains(text)
        sig = det.measure(text).signals
        common = sig["common_disfluency"]
        rare = disfluency(scan.gains, scan.quoted, scan.words,
                          [-u for u in scan.unigrams], -COMMON_LOGPROB + 1e-9)
        # Complementary cuts add up to the whole signal.
        assert common + rare == pytest.approx(sig["graded_disfluency"])
    # Spun text's common words fit their context worse than clean text's.
    assert det.measure(SPUN).signals["common_disfluency"] > 0.0
    assert (det.measure(SPUN).signals["common_disfluency"]
            > det.measure(CLEAN).signals["common_disfluency"])
    # The report shows it, and its term in the logit.
    report = det.detect(SPUN).signals
    assert report["common_disfluency"] == round(
        det.measure(SPUN).signals["common_disfluency"], 3)
    assert report["logit_contributions"]["common_disfluency"] == pytest.approx(
        det.p.for_length(det.measure(SPUN).signals["log_words"]).weights[k]
        * det.measure(SPUN).signals["common_disfluency"], abs=0.01)
    # The weights hold only for the cut they were fitted with, and a model
    # file without a weight for a signal is stale.
    assert det.p.common_logprob == COMMON_LOGPROB and not det.stale
    assert Detector(params=replace(det.p, common_logprob=COMMON_LOGPROB - 1)).stale
    assert Detector(params=replace(det.p, missing=("common_disfluency",))).stale
    # A model file written before the signal existed has no weight for it.
    older = det.p.to_json()
    del older["weights"]["common_disfluency"]
    (tmp_path / "m.json").write_text(json.dumps(older), encoding="utf-8")
    loaded = DetectParams.load(tmp_path / "m.json")
    assert loaded.missing == ("common_disfluency",) and loaded.stale
    # Saved again, it stays stale (its missing weight is not written as 0).
    again = loaded.to_json()
    assert "common_disfluency" not in again["weights"]
    (tmp_path / "again.json").write_text(json.dumps(again), encoding="utf-8")
    assert DetectParams.load(tmp_path / "again.json").stale
    # The long model's weights count too: it scores every text of 150+ words.
    older = det.p.to_json()
    del older["long"]["weights"]["common_disfluency"]
    (tmp_path / "long.json").write_text(json.dumps(older), encoding="utf-8")
    assert DetectParams.load(tmp_path / "long.json").stale
    # A file with the weight but no record of the cut it was fitted with.
    older = det.p.to_json()
    del older["common_logprob"]
    (tmp_path / "nocut.json").write_text(json.dumps(older), encoding="utf-8")
    assert DetectParams.load(tmp_path / "nocut.json").stale
    # Weights for another set of signals are refused when built, not mid-score.
    with pytest.raises(ValueError, match="signals"):
        replace(det.p, weights=det.p.weights[:-1])


def test_unlikely_words_are_findings_only_in_a_probably_spun_document():
    from unspin.detect import UNLIKELY_GAIN, UNLIKELY_PRECISION, _content_offsets

    det = Detector()
    # "talked an update": a blind thesaurus swap (for "said") that no
    # table lists, so restore has no candidate; it fits neither neighbour.
    extra = " Officials talked an update on the flood."
    text = SPUN + extra
    d = det.detect(text)
    words = [f for f in d.findings if f.kind == "unlikely_word"]
    talked = [f for f in words if f.text == "talked"]
    assert len(talked) == 1 and talked[0].suggestion is None
    assert text[talked[0].start : talked[0].end] == "talked"
    assert talked[0].confidence == round(d.spun_probability * UNLIKELY_PRECISION, 4)
    # Never on top of another finding ("an replace" is also below the gain cut).
    others = [f for f in d.findings if f.kind != "unlikely_word"]
    assert not any(f.start < o.end and o.start < f.end for f in words for o in others)
    assert "replace" not in {f.text for f in words}
    # Words that merely fit badly are not reported: "subsequent" (for
    # "next") sits at about -2.5 nats, above the cut.
    scan = det._context_gains(text)
    gains = {text[a:b]: g for (a, b), g in zip(_content_offsets(text), scan.gains, strict=True)}
    assert UNLIKELY_GAIN < gains["subsequent"] < -2.0
    assert "subsequent" not in {f.text for f in words}
    # Inside a quotation the same swap is left alone (spinners rarely touch quotes).
    quoted = det.detect(text + " \u201cOfficials talked an update,\u201d he said.")
    assert [f.text for f in quoted.findings if f.kind == "unlikely_word"] == ["talked"]
    # In a clean document the same sentence is only an odd one: no finding.
    clean = det.detect(CLEAN + extra)
    assert clean.verdict == "clean"
    assert not [f for f in clean.findings if f.kind == "unlikely_word"]


def test_a_common_word_is_an_unlikely_word_at_a_milder_gain(monkeypatch):
    import importlib

    from unspin.detect import COMMON_LOGPROB, UNLIKELY_GAIN, UNLIKELY_GAIN_COMMON, _content_offsets

    detect = importlib.import_module("unspin.detect")  # the package's detect() shadows it

    assert UNLIKELY_GAIN < UNLIKELY_GAIN_COMMON < 0
    det = Detector()
    # "given" (for "closed"): a common word out of place, about -3 nats.
    text = (SPUN + " Officials talked an update on the flood."
            " Officials said the trade case would make the market given weeks.")
    scan = det._context_gains(text)
    words = [(a, b, g, u) for (a, b), g, u
             in zip(_content_offsets(text), scan.gains, scan.unigrams, strict=True)]
    g, u = next((g, u) for a, b, g, u in words if text[a:b] == "given")
    assert u >= COMMON_LOGPROB and UNLIKELY_GAIN < g < -2.5

    def unlikely() -> set[str]:
        return {f.text for f in det.detect(text).findings if f.kind == "unlikely_word"}

    # Every reported word is below the cut for its band, and every word below
    # its cut is reported unless another finding covers it.
    d = det.detect(text)
    others = [f for f in d.findings if f.kind != "unlikely_word"]
    expected = {text[a:b] for a, b, wg, wu in words
                if wg < (UNLIKELY_GAIN_COMMON if wu >= COMMON_LOGPROB else UNLIKELY_GAIN)
                and not any(a < o.end and o.start < b for o in others)}
    assert expected  # the test reads something
    assert unlikely() == expected
    # The band decides the cut: with the common cut just above "given"'s
    # gain it is reported; at the rare words' cut it is not.
    monkeypatch.setattr(detect, "UNLIKELY_GAIN_COMMON", g + 0.01)
    assert "given" in unlikely()
    monkeypatch.setattr(detect, "UNLIKELY_GAIN_COMMON", UNLIKELY_GAIN)
    assert "given" not in unlikely()
    # The same gain in a rare word is not enough.
    monkeypatch.setattr(detect, "UNLIKELY_GAIN_COMMON", g + 0.01)
    monkeypatch.setattr(detect, "COMMON_LOGPROB", u + 0.01)
    assert "given" not in unlikely()


def test_listed_phrase_from_a_user_table(tmp_path):
    from unspin.lexicon import Lexicon, read_table
    from unspin.restore import Restorer

    table = tmp_path / "pps.csv"
    table.write_text("tortured,correct\ncounterfeit consciousness,artificial intelligence\n",
                     encoding="utf-8")
    lex = Lexicon.default().with_table(read_table(table), source="u")
    det = Detector(Restorer(lexicon=lex))
    text = "Counterfeit consciousness is used here to sort the images by their content."
    d = det.detect(text)
    listed = [f for f in d.findings if f.kind == "listed_phrase"]
    assert [(f.text, f.suggestion) for f in listed] == [
        ("Counterfeit consciousness", "Artificial intelligence")
    ]
    # Inside leftover spintax the phrase is reported once, as the spintax.
    d = det.detect("We used {counterfeit consciousness|machine learning} to sort the images "
                   "by their content and to group them.")
    spans = sorted((f.start, f.end) for f in d.findings)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # no overlaps
    assert [f.kind for f in d.findings if f.start < 50] == ["spintax"]


def test_detect_weights_match_the_restore_model():
    # The detect weights are fitted to restore's signals: a retrained restore
    # model needs `python scripts/train_detect.py` before the pair is shipped.
    assert not Detector().stale, ("detect_model.json was trained against another "
                                  "model.json; re-run scripts/train_detect.py")


# -- CLI ------------------------------------------------------------------------
def test_cli_json_single_input():
    p = run("--format", "json", "-", stdin=SPUN.encode())
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["verdict"] == "spun" and "source" not in data
    assert all(SPUN[f["start"] : f["end"]] == f["text"] for f in data["findings"])


def test_cli_text_summary():
    p = run("-", stdin=SPUN.encode())
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert out.startswith("spun (P=")
    assert "1 article mismatch" in out  # "an replace", counted in the summary line
    assert "'instructed' -> 'told'" in out


def test_cli_jsonl_multi_file_keeps_going_after_a_bad_file(tmp_path):
    good1, bad, good2 = tmp_path / "a.txt", tmp_path / "b.bin", tmp_path / "c.txt"
    good1.write_text(SPUN, encoding="utf-8")
    bad.write_bytes(b"\x00\x01\x02binary\x00")
    good2.write_text(CLEAN, encoding="utf-8")
    p = run("--format", "json", str(good1), str(bad), str(good2))
    assert p.returncode == 1
    lines = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert [x["source"] for x in lines] == [str(good1), str(bad), str(good2)]
    assert lines[0]["verdict"] == "spun" and lines[2]["verdict"] == "clean"
    assert "error" in lines[1] and "binary" in lines[1]["error"]
    err = p.stderr.decode()
    assert err.count("\n") == 1 and str(bad) in err and "Traceback" not in err


def test_cli_multi_file_all_good_exit_zero(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(CLEAN, encoding="utf-8")
    b.write_text(MORE_CLEAN[1], encoding="utf-8")
    p = run(str(a), str(b))
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode().splitlines()
    assert out[0].startswith(f"{a}: clean")


@pytest.mark.parametrize("data, message", BAD_INPUTS)
def test_cli_bad_single_input(data, message):
    p = run("--format", "json", "-", stdin=data)
    assert p.returncode == 1
    err = p.stderr.decode()
    assert message in err and err.count("\n") == 1
    assert p.stdout == b""


def test_cli_usage_errors():
    assert run("--threshold", "2", "-", stdin=b"text").returncode == 2
    assert run("--format", "xml", "-", stdin=b"text").returncode == 2
    p = run("/nonexistent/file.txt")
    assert p.returncode == 1 and b"cannot read" in p.stderr


def test_cli_lexicon_listed_phrase(tmp_path):
    lex = tmp_path / "pps.csv"
    lex.write_text("spun,original\ncounterfeit consciousness,artificial intelligence\n",
                   encoding="utf-8")
    text = b"We apply counterfeit consciousness to sort the images by what they show."
    p = run("--format", "json", "--lexicon", str(lex), "-", stdin=text)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    listed = [f for f in data["findings"] if f["kind"] == "listed_phrase"]
    assert listed and listed[0]["text"] == "counterfeit consciousness"
    assert listed[0]["suggestion"] == "artificial intelligence"
    assert data["signals"]["listed_phrases"] == 1 and data["signals"]["listed_hits"] == 1
    # A one-word entry is a listed hit and a finding, but not a listed *phrase*:
    # the signal counts multiword entries only, and the report says the same.
    lex.write_text("spun,original\ncounterfeit consciousness,artificial intelligence\n"
                   "troopers,soldiers\n", encoding="utf-8")
    p = run("--format", "json", "--lexicon", str(lex), "-",
            stdin=text + b" The troopers watched the counterfeit consciousness work.")
    data = json.loads(p.stdout)
    assert (data["signals"]["listed_phrases"], data["signals"]["listed_hits"]) == (2, 3)


def test_leftover_spintax_is_reported():
    text = ("The council instructed reporters that the {brand new|new} bridge would open "
            "this 12 months, certainly one of three {initiatives} delayed by an replace; "
            "see pages {1,2}.")
    findings = unspin.detect(text).findings
    found = [f for f in findings if f.kind == "spintax"]
    # Restore's pick among the options is the suggestion.
    assert [(f.text, f.suggestion) for f in found] == [("{brand new|new}", "new"),
                                                       ("{initiatives}", "initiatives")]
    assert all(text[f.start : f.end] == f.text for f in found)
    # The words inside a group are not reported again as swaps.
    assert not [f for f in findings for g in found
                if f is not g and f.start < g.end and g.start < f.end]
    clean = ("The council told reporters that the new bridge would open this year, one of "
             "three projects delayed by the flood.")
    assert not [f for f in unspin.detect(clean).findings if f.kind == "spintax"]


def test_spintax_with_options_sets_a_floor_on_the_score():
    # Clean prose apart from two groups of the spinner's own markup: the
    # groups decide, and the report counts them.
    from unspin.detect import SPINTAX_PROBABILITY

    text = ("The city council met on Tuesday to discuss the {new|brand new} budget. Members "
            "said the plan would fund road repairs and a {library|public library} in the north "
            "of the town, and a vote is expected next month.")
    d = unspin.detect(text)
    assert (d.verdict, d.signals["spintax_groups"]) == ("spun", 2)
    assert d.spun_probability >= SPINTAX_PROBABILITY
    # Without the markup the same paragraph is clean; a one-option group
    # (a template placeholder, perhaps) is no evidence.
    plain = text.replace("{new|brand new}", "{new}").replace("{library|public library}", "library")
    d = unspin.detect(plain)
    assert (d.verdict, d.signals["spintax_groups"]) == ("clean", 0)
    # Screening never dismisses a text with spintax in it.
    det = Detector()
    own = sorted((Path(__file__).resolve().parents[1] / "corpus" / "own").glob("[0-9]*.txt"))
    long_clean = next(t for t in (p.read_text(encoding="utf-8") for p in own)
                      if det.screen(t) is not None)
    marked = long_clean.replace(" the ", " {the|a} ", 1)
    assert marked != long_clean and det.screen(marked) is None
    assert det.detect(marked, screen=True).verdict == "spun"


def test_numbers_and_compounds_break_the_screening_ngrams():
    from unspin.detect import _content_offsets

    det = Detector()

    def gains(text):
        scan = det._context_gains(text)
        return {text[a:b]: g for (a, b), g in zip(_content_offsets(text), scan.gains, strict=True)}

    # The word after a number is read without the words before the number.
    a = gains("Costs ranged from 120 million pounds.")
    b = gains("Costs ranged below 7 million pounds.")
    assert a["million"] == b["million"] and a["pounds"] == b["pounds"]
    assert gains("Costs ranged from million pounds.")["million"] != a["million"]
    # A hyphenated compound is one token, not scored, and no n-gram spans it.
    c = gains("They built a well-known high-resource model.")
    assert "model" in c and not {"well", "known", "high", "resource"} & set(c)
    assert c["model"] == gains("They built a 2 model.")["model"]
    # Letters of any script belong to their word: "Müller" is one (capitalised,
    # unscored) token, not "M" and a scored "ller".
    assert set(gains("The striker Thomas Müller scored again in Zürich.")) == {"striker", "scored"}
    # A line break ends a sentence, as it does for restore: a heading without
    # a full stop does not run into the next line.
    heading = "Budget news\nMinisters agreed on cuts."
    assert gains(heading) == gains(heading.replace("\n", ".\n"))
    # A word the LM does not know is no evidence itself, and the LM reads
    # nothing past it (as restore's history cut does).
    odd = gains("They met the zorbleflex committee today.")
    assert odd["zorbleflex"] == 0.0
    assert odd["committee"] == gains("They met the 4 committee today.")["committee"]


def test_long_texts_have_their_own_trained_model(tmp_path):
    import math

    det = Detector()
    p = det.p
    assert p.long is not None and p.long_min_words >= 100
    assert p.for_length(math.log(p.long_min_words)) is p.long
    assert p.for_length(math.log(p.long_min_words - 1)) is p

    def by_hand(params, sig):
        z = params.bias + sum(w * sig[s] for s, w in zip(SIGNALS, params.weights, strict=True))
        return 1 / (1 + math.exp(-z))

    short = det.measure(SPUN).signals  # about 90 words: the all-length model
    assert det.probability(short) == pytest.approx(by_hand(p, short))
    long_ = dict(short, log_words=math.log(p.long_min_words))
    assert det.probability(long_) == pytest.approx(by_hand(p.long, long_))
    assert by_hand(p.long, long_) != pytest.approx(by_hand(p, long_))
    # The verdict line is the threshold of the model that scored the text.
    d = det.detect(" ".join([SPUN] * 3))
    assert d.signals["threshold"] == p.long.threshold
    assert det.detect(SPUN).signals["threshold"] == p.threshold
    # A user's threshold holds at every length.
    user = Detector(threshold=0.5).p
    assert user.threshold == user.long.threshold == 0.5
    # The JSON round trip keeps both models.
    path = tmp_path / "m.json"
    path.write_text(json.dumps(p.to_json()), encoding="utf-8")
    assert DetectParams.load(path) == p


def test_model_digest_covers_restores_weights_tables_and_thesaurus(tmp_path, monkeypatch):
    # Detect's weights were fitted on restore's evidence; any of these files
    # changing (the fourteenth session rebuilt the thesaurus) makes them stale.
    import importlib
    from importlib import resources

    detect = importlib.import_module("unspin.detect")  # unspin.detect is also the function
    data = resources.files("unspin") / "data"
    base = detect.model_digest()
    for name in ("model.json", "habits.tsv", "lexicon.tsv.gz"):
        root = tmp_path / name
        (root / "data").mkdir(parents=True)
        for f in ("model.json", "phrases.tsv", "habits.tsv", "names.tsv", "lexicon.tsv.gz"):
            blob = (data / f).read_bytes()
            (root / "data" / f).write_bytes(blob + b"\n" if f == name else blob)
        monkeypatch.setattr(detect.resources, "files", lambda _pkg, root=root: root)
        assert detect.model_digest() != base, name


@pytest.mark.parametrize("text", ["", "  \n\t "])
def test_empty_text_has_no_verdict(text):
    # restore gives empty text back; detect has nothing to judge in it.
    for screen in (False, True):
        with pytest.raises(InputError, match="empty"):
            unspin.detect(text, screen=screen)


TECHNICAL = (  # written for this test: register pulls the model's score down
    "This study reviews how counterfeit consciousness is used in hospital radiology. We "
    "compare methods based on profound learning with older rule-based systems on a set of "
    "chest images collected over three years at two clinics. The newer models found more "
    "early tumours, but they were harder to explain to doctors, and they needed far more "
    "labelled examples and computing time than the older systems did."
)


def test_two_phrases_no_clean_text_writes_make_a_text_spun_whatever_its_register():
    d = unspin.detect(TECHNICAL)
    assert d.signals["telltale_phrases"] == ["counterfeit consciousness", "profound learning"]
    assert d.verdict == "spun" and d.spun_probability >= 0.95
    one = unspin.detect(TECHNICAL.replace("profound learning", "deep learning"))
    assert one.signals["telltale_phrases"] == ["counterfeit consciousness"]  # one is no floor
    # Table phrases that are ordinary English are no telltales.
    plain = unspin.detect("In accordance with the rules, the council will publish its "
                          "accounts within 12 months of the end of each financial year.")
    assert plain.signals["telltale_phrases"] == []


def test_a_spun_paragraph_on_a_clean_page_is_located_and_its_findings_kept():
    from pages import SPUN_PARAGRAPH as spun
    from pages import clean_page

    page = clean_page()
    text = page + "\n\n" + spun
    d = unspin.detect(text)
    (section,) = d.signals["spun_sections"]
    assert text[section["start"] : section["end"]] == spun
    assert section["spin_rate"] >= max(0.25, 2.5 * d.signals["spin_rate"])
    # Scored under the paragraph's own rate, its swaps are reported as they
    # are when the paragraph stands alone, not drowned by the clean page.
    alone = len(unspin.detect(spun).findings)
    inside = [f for f in d.findings if f.start >= len(page)]
    assert len(inside) >= alone - 2
    assert "a paragraph reads spun" in d.summary()
    assert unspin.detect(page).signals["spun_sections"] == []
