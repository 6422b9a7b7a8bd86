"""unspin scan: readers, process_record, the local engine, resume, and local == spark."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from unspin import scan
from unspin.cli import main

ROOT = Path(__file__).resolve().parents[1]
OWN = sorted((ROOT / "corpus" / "own").glob("[0-9]*.txt"))


def _para(path: Path, n: int = 700) -> str:
    """A short news-like text (the first paragraphs of a corpus file): fast to score."""
    text = path.read_text(encoding="utf-8")
    cut = text.rfind("\n\n", 0, n)
    return text[: cut if cut > 200 else n].strip()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [_para(p) for p in OWN[:4]]


def _warc(path: Path, pages: list[tuple[str, str]], gz: bool = True) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=gz)
        for url, body in pages:
            hh = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                  protocol="HTTP/1.0")
            w.write_record(w.create_warc_record(url, "response", http_headers=hh,
                                                payload=io.BytesIO(body.encode("utf-8"))))


def _html(text: str) -> str:
    paras = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    return (f"<html><head><title>t</title><script>var x = 1;</script></head><body>"
            f"<nav><a href='/'>Home</a></nav><article>{paras}</article></body></html>")


def _jsonl(texts: list[str], prefix: str) -> str:
    return "".join(json.dumps({"id": f"{prefix}{i}", "url": f"http://x/{prefix}{i}",
                               "date": f"2024-01-0{i + 1}", "text": t}) + "\n"
                   for i, t in enumerate(texts))


def _parquet(path: Path, texts: list[str], column: str = "text") -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": [f"p{i}" for i in range(len(texts))], column: texts})
    pq.write_table(table, path, row_group_size=2)


# ------------------------------------------------------------- process_record


def test_process_record_rows_never_raise(monkeypatch, texts):
    ok = scan.process_record({"input": "i", "record": 1, "id": "a", "text": texts[0]})
    assert ok["error"] is None and ok["verdict"] in ("spun", "clean")
    assert 0.0 <= ok["spun_probability"] <= 1.0 and isinstance(ok["n_findings"], int)
    assert list(ok) == [c for c, _ in scan.COLUMNS]
    assert scan.process_record({"id": "b", "error": "boom"})["error"] == "boom"
    assert scan.process_record({"id": "c", "text": None})["error"] == "record has no text"
    big = scan.process_record({"id": "d", "text": "x" * 50}, max_bytes=10)
    assert "larger than" in big["error"]

    def broken() -> None:
        raise RuntimeError("model exploded")

    monkeypatch.setattr(scan, "_detector", broken)
    row = scan.process_record({"id": "e", "text": texts[0]})
    assert row["error"] == "RuntimeError: model exploded" and row["id"] == "e"


def test_process_record_restore_and_index(tmp_path, texts):
    from unspin.index import Index, SourceDoc

    db = tmp_path / "news.db"
    with Index(db) as idx:
        idx.add([SourceDoc(f"src{i}", t) for i, t in enumerate(texts)])
    row = scan.process_record({"id": "a", "text": texts[1]}, restore=True, index_path=str(db))
    assert row["error"] is None
    assert row["top_source"] == "src1" and row["top_score"] > 0.9
    # One analysis serves all three: the same answers as the separate calls.
    import unspin

    assert row["restored_text"] == unspin.restore(texts[1]).text
    assert row["spun_probability"] == round(unspin.detect(texts[1]).spun_probability, 6)
    spun = (ROOT / "examples" / "spun_news.txt").read_text(encoding="utf-8")
    row = scan.process_record({"id": "b", "text": spun}, restore=True)
    assert row["restored_text"] == unspin.restore(spun).text != spun


# -------------------------------------------------------------- formats


def test_each_format_round_trip(tmp_path, texts):
    folder = tmp_path / "txt"
    folder.mkdir()
    for i, t in enumerate(texts[:2]):
        (folder / f"{i}.txt").write_text(t, encoding="utf-8")
    (tmp_path / "page.html").write_text(_html(texts[2]), encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(_jsonl(texts[:2], "j"), encoding="utf-8")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(_jsonl(texts[2:], "g"))
    _warc(tmp_path / "c.warc.gz",
          [("http://w/1", _html(texts[0])), ("http://w/2", _html(texts[3]))])
    _parquet(tmp_path / "d.parquet", texts[:3], column="body")
    inputs = [str(folder), str(tmp_path / "page.html"), str(tmp_path / "a.jsonl"),
              str(tmp_path / "b.jsonl.gz"), str(tmp_path / "c.warc.gz"),
              str(tmp_path / "d.parquet")]
    out = tmp_path / "out"
    counts = scan.run_local(inputs, str(out), text_column="body")
    assert counts == {"docs": 12, "errors": 0, "units": 7, "skipped": 0}
    assert len(list(out.glob("part-*.parquet"))) == 7
    rows = scan.read_rows(str(out))
    assert len(rows) == 12 and all(r["error"] is None for r in rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id["j1"]["url"] == "http://x/j1" and by_id["j1"]["date"] == "2024-01-02"
    assert by_id["http://w/2"]["date"] and by_id["http://w/2"]["url"] == "http://w/2"
    # the same text gives the same score whatever the container
    p1 = by_id[str(folder / "1.txt")]["spun_probability"]
    assert by_id["j1"]["spun_probability"] == p1 == by_id["p1"]["spun_probability"]
    assert by_id["g0"]["spun_probability"] == by_id["p2"]["spun_probability"]
    # HTML: main text extracted (navigation and script dropped)
    assert scan.html_to_text(_html(texts[2])).startswith(texts[2][:40])
    assert "Home" not in scan.html_to_text(_html(texts[2]))


def test_tag_stripper_fallback(monkeypatch, texts):
    import builtins

    real_import = builtins.__import__

    def no_trafilatura(name, *a, **k):
        if name == "trafilatura":
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_trafilatura)
    text = scan.html_to_text(_html(texts[0]))
    assert text.startswith(texts[0][:40]) and "var x" not in text


# -------------------------------------------------------------- hostile inputs


def test_hostile_inputs_become_error_rows_and_the_run_goes_on(tmp_path, texts):
    ok = texts[0]
    # truncated gzip: the lines before the cut are rows, the rest one error row
    filler = [os.urandom(20_000).hex() for _ in range(3)]  # incompressible: the cut lands late
    gz = gzip.compress(_jsonl([ok] + filler, "t").encode("utf-8"))
    (tmp_path / "1-trunc.jsonl.gz").write_bytes(gz[: len(gz) // 2])
    # invalid JSON on line 2 of 3
    (tmp_path / "2-bad.jsonl").write_text(
        json.dumps({"id": "b1", "text": ok}) + "\n{not json\n" + json.dumps({"id": "b3",
                                                                            "text": ok}) + "\n",
        encoding="utf-8")
    # a WARC whose second record header is garbage
    _warc(tmp_path / "3-bad.warc", [("http://w/1", _html(ok)), ("http://w/2", _html(ok))],
          gz=False)
    data = (tmp_path / "3-bad.warc").read_bytes()
    cut = data.find(b"WARC/1.0", 10)
    (tmp_path / "3-bad.warc").write_bytes(data[:cut] + b"GARBAGE/9\r\nx\r\n\r\n" + data[cut + 8:])
    # non-UTF-8 and empty documents
    (tmp_path / "4-latin1.txt").write_bytes("café société".encode("latin-1"))
    (tmp_path / "5-empty.txt").write_bytes(b"")
    # 100 MB, written sparse: a loose file and one JSONL line (followed by a good line)
    with open(tmp_path / "6-huge.txt", "wb") as f:
        f.truncate(100_000_000)
    with open(tmp_path / "7-huge.jsonl", "wb") as f:
        f.write(b'{"id": "h1", "text": "')
        f.seek(100_000_000)
        f.write(b'"}\n' + json.dumps({"id": "h2", "text": ok}).encode() + b"\n")
    (tmp_path / "8-good.txt").write_text(ok, encoding="utf-8")

    out = tmp_path / "out.jsonl"
    assert main(["scan", str(tmp_path), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    errors = {(Path(r["input"]).name, r["record"]): r["error"] for r in rows if r["error"]}
    ok_ids = [r["id"] for r in rows if not r["error"]]
    trunc = [r for r in rows if r["input"].endswith("1-trunc.jsonl.gz")]
    assert trunc[0]["id"] == "t0" and trunc[0]["error"] is None and len(trunc) in (2, 3, 4)
    assert "unreadable from here on" in trunc[-1]["error"]  # the rest: one row, then go on
    assert all("English" in r["error"] for r in trunc[1:-1])  # hex filler lines read in full
    assert errors[("2-bad.jsonl", 2)].startswith("line 2: invalid record")
    assert "malformed WARC record" in errors[("3-bad.warc", 2)]
    assert "not valid UTF-8" in errors[("4-latin1.txt", 1)]
    assert errors[("5-empty.txt", 1)] == "empty document"
    assert "larger than" in errors[("6-huge.txt", 1)]
    assert "larger than" in errors[("7-huge.jsonl", 1)]
    assert ok_ids == ["t0", "b1", "b3", "http://w/1", "h2", str(tmp_path / "8-good.txt")]
    assert len(rows) == len(errors) + len(ok_ids) == 11 + len(trunc)  # rows in = rows out


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.parquet"])
def test_unstorable_field_is_an_error_row_and_a_bom_is_no_record(tmp_path, texts, out_name):
    # A JSON "\\udc00" escape in an id no output format can store: that
    # record is reported, and the writer (and the good records) carry on.
    lines = [json.dumps({"id": "a", "text": texts[0]}),
             '{"id": "b\\udc00", "text": ' + json.dumps(texts[1]) + "}",
             json.dumps({"id": "c", "text": texts[2]})]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8") + b"\n")
    out = tmp_path / out_name
    assert main(["scan", str(src), "--out", str(out)]) == 0
    rows = scan.read_rows(str(out))
    assert [(r["id"], r["error"] is None) for r in rows] == [
        ("a", True), (f"{src}#2", False), ("c", True)]
    assert "unpaired surrogate" in rows[1]["error"]


@pytest.mark.parametrize("where", ["payload", "headers"])
def test_truncated_plain_warc_reports_the_cut_record(tmp_path, texts, where):
    from unspin.scan import read_warc

    path = tmp_path / "t.warc"
    _warc(path, [("http://w/1", _html(texts[0])), ("http://w/2", _html(texts[1]))], gz=False)
    data = path.read_bytes()
    second = data.find(b"WARC/1.0", 10)
    cut = second + 200 if where == "headers" else len(data) - 300
    path.write_bytes(data[:cut])
    rows = list(read_warc(str(path)))
    assert rows[0]["error"] is None and rows[0]["id"] == "http://w/1"
    assert len(rows) == 2 and rows[1]["text"] is None
    # warcio itself trips on some cuts ("malformed"); the others were silent
    assert rows[1]["error"].split(" WARC")[0] in ("truncated", "malformed")
    whole = tmp_path / "whole.warc"
    whole.write_bytes(data)
    assert [r["error"] for r in read_warc(str(whole))] == [None, None]

def test_cut_in_a_record_the_scan_skips_is_still_reported(tmp_path, texts):
    # The last record is an image the scan does not read; a cut inside it
    # used to leave no trace, since only read records were checked.
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from unspin.scan import read_warc

    path = tmp_path / "t.warc"
    _warc(path, [("http://w/1", _html(texts[0]))], gz=False)
    with open(path, "ab") as f:
        w = WARCWriter(f, gzip=False)
        hh = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.0")
        w.write_record(w.create_warc_record("http://w/logo.png", "response", http_headers=hh,
                                            payload=io.BytesIO(b"\x89PNG" + bytes(3000))))
    whole = path.read_bytes()
    assert [r["error"] for r in read_warc(str(path))] == [None]
    path.write_bytes(whole[:-1000])
    rows = list(read_warc(str(path)))
    assert rows[0]["error"] is None and len(rows) == 2
    assert rows[1]["error"].startswith("truncated WARC")
    gz = tmp_path / "t-named-plain.warc"  # gzip content under a plain name: no false alarm
    _warc(gz, [("http://w/1", _html(texts[0]))], gz=True)
    assert [r["error"] for r in read_warc(str(gz))] == [None]
    # Whole records whose end-of-record blank line is missing or padded: no alarm.
    one = tmp_path / "one.warc"
    _warc(one, [("http://w/1", _html(texts[0]))], gz=False)
    data = one.read_bytes()
    assert data.endswith(b"\r\n\r\n")
    for trailer in (b"", b"\r\n", b"\r\n\r\n \r\n"):
        one.write_bytes(data[:-4] + trailer)
        assert [r["error"] for r in read_warc(str(one))] == [None], trailer


def test_truncated_warc_gz_reports_the_lost_tail(tmp_path, texts):
    from unspin.scan import read_warc

    pages = [(f"http://w/{i}", _html(texts[i])) for i in range(3)]
    _warc(tmp_path / "t.warc.gz", pages)
    data = (tmp_path / "t.warc.gz").read_bytes()
    (tmp_path / "t.warc.gz").write_bytes(data[: len(data) - 200])
    rows = list(read_warc(str(tmp_path / "t.warc.gz")))
    # The cut record is the error row (or, cut between records, one after them).
    assert rows[-1].get("error") and rows[-1]["error"].startswith("truncated")
    assert [r["error"] for r in rows[:2]] == [None, None]
    _warc(tmp_path / "ok.warc.gz", pages)
    assert not any(r.get("error") for r in read_warc(str(tmp_path / "ok.warc.gz")))


# -------------------------------------------------------------- local engine


def test_resume_skips_completed_shards(tmp_path, texts):
    src = tmp_path / "in"
    src.mkdir()
    for i, t in enumerate(texts[:3]):
        (src / f"{i}.txt").write_text(t, encoding="utf-8")
    out = tmp_path / "out"
    first = scan.run_local([str(src)], str(out))
    assert first["docs"] == 3 and first["skipped"] == 0
    shards = sorted(out.glob("part-*.parquet"))
    assert len(shards) == 3 and not list(out.glob("*.tmp-*"))
    victim = out / scan.shard_name(str(src / "1.txt"), "parquet")
    victim.unlink()
    (src / "3.txt").write_text(texts[3], encoding="utf-8")
    again = scan.run_local([str(src)], str(out))
    assert again == {"docs": 2, "errors": 0, "units": 2, "skipped": 2}
    assert len(scan.read_rows(str(out))) == 4


def test_jobs_2_gives_the_same_rows_in_order(tmp_path, texts):
    lines = _jsonl(texts * 3, "r") + "oops\n"
    (tmp_path / "a.jsonl").write_text(lines, encoding="utf-8")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    scan.run_local([str(tmp_path / "a.jsonl")], str(one), jobs=1)
    scan.run_local([str(tmp_path / "a.jsonl")], str(two), jobs=2, chunksize=2)
    assert one.read_text() == two.read_text()
    assert len(one.read_text().splitlines()) == 13



def test_jobs_2_run_that_fails_mid_way_raises_instead_of_hanging(tmp_path, monkeypatch):
    # A writer that fails (disk full) while the feeder waits for a free slot:
    # the run must end with the error, not wait on the feeding thread forever.
    import threading
    import time

    # Far more records than slots in flight, so the feeder is surely waiting.
    lines = "".join(json.dumps({"id": str(k), "text": f"hello world {k}"}) + "\n"
                    for k in range(3000))
    (tmp_path / "a.jsonl").write_text(lines, encoding="utf-8")
    monkeypatch.setattr(scan, "warm_up", lambda *a, **k: None)
    monkeypatch.setattr(scan, "process_record",
                        lambda rec, **kw: dict(scan.empty_row(rec), error=None))
    written = []

    def write(self, row):
        written.append(row)
        if len(written) == 5:
            time.sleep(0.5)  # the feeder fills every free slot and waits
            raise OSError("disk full")

    monkeypatch.setattr(scan.RowWriter, "write", write)
    outcome: list[BaseException] = []

    def run():
        try:
            scan.run_local([str(tmp_path / "a.jsonl")], str(tmp_path / "o.jsonl"),
                           jobs=2, chunksize=1)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            outcome.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive(), "run_local hung after its writer failed"
    assert len(outcome) == 1 and isinstance(outcome[0], OSError)

# -------------------------------------------------------------- spark


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no java for pyspark")
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[2]").appName("unspin-test")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.memory", "1g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_local_and_spark_engines_give_identical_rows(tmp_path, texts, spark):
    (tmp_path / "a.jsonl").write_text(_jsonl(texts[:2], "s") + "{bad\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text(texts[2], encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe")
    _warc(tmp_path / "d.warc.gz", [("http://w/1", _html(texts[3]))])
    inputs = [str(tmp_path / n) for n in ("a.jsonl", "b.txt", "c.txt", "d.warc.gz")]
    scan.run_local(inputs, str(tmp_path / "local"), jobs=1)
    scan.run_spark(inputs, str(tmp_path / "spark"), spark=spark)
    local, spk = scan.read_rows(str(tmp_path / "local")), scan.read_rows(str(tmp_path / "spark"))
    assert len(local) == 6 and sum(r["error"] is not None for r in local) == 2
    assert spk == local


def test_cli_spark_engine_runs_as_the_readme_says(tmp_path, texts):
    # `unspin scan ... --engine spark` from a shell: no session given, no
    # PYSPARK_PYTHON set. The local session's workers must still find unspin.
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no java for pyspark")
    import subprocess
    import sys

    src = tmp_path / "a.txt"
    src.write_text(texts[0], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_")}
    p = subprocess.run([sys.executable, "-m", "unspin.cli", "scan", str(src),
                        "--out", str(tmp_path / "spark"), "--engine", "spark"],
                       env=env, capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    scan.run_local([str(src)], str(tmp_path / "local"))
    rows = scan.read_rows(str(tmp_path / "spark"))
    assert len(rows) == 1 and rows[0]["error"] is None
    assert rows == scan.read_rows(str(tmp_path / "local"))


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.parquet", "shards"])
def test_file_name_that_is_not_utf8_is_written_escaped(tmp_path, texts, out_name):
    src = tmp_path / "in"
    src.mkdir()
    try:
        (src / os.fsdecode(b"caf\xe9.txt")).write_text(texts[0], encoding="utf-8")
    except (OSError, UnicodeError):
        pytest.skip("this file system takes UTF-8 names only")
    _parquet(tmp_path / "naive.parquet", [texts[1]])  # pyarrow cannot write such a name
    os.rename(tmp_path / "naive.parquet", src / os.fsdecode(b"na\xefve.parquet"))
    assert main(["scan", str(src), "--out", str(tmp_path / out_name)]) == 0
    rows = scan.read_rows(str(tmp_path / out_name))
    assert [r["error"] for r in rows] == [None, None]
    assert sorted(r["input"].rsplit("/", 1)[1] for r in rows) == [
        "caf\\xe9.txt", "na\\xefve.parquet"]


# ------------------------------------------------------- inputs that go wrong


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "unspin.cli", *args], capture_output=True,
                          timeout=300)


def test_cli_scan_reports_a_missing_input_and_scans_the_rest(tmp_path, texts):
    (tmp_path / "a.txt").write_text(texts[0], encoding="utf-8")
    (tmp_path / "empty_folder").mkdir()
    out = tmp_path / "rows.jsonl"
    p = _cli("scan", str(tmp_path / "a.txt"), str(tmp_path / "nope.txt"),
             str(tmp_path / "empty_folder"), "--out", str(out))
    assert p.returncode == 1, p.stderr
    assert b"nope.txt" in p.stderr and b"no documents in this folder" in p.stderr
    assert [r["error"] for r in scan.read_rows(str(out))] == [None]
    for bad in (("-", "--out", str(out)), (str(tmp_path / "a.txt"), "--out", "-"),
                (str(tmp_path / "a.txt"), "--out", str(tmp_path / "rows.jsonl.gz"))):
        p = _cli("scan", *bad)
        assert p.returncode == 2 and p.stderr.count(b"\n") == 1, (bad, p.stderr)


def test_cli_scan_refuses_a_format_its_out_contradicts(tmp_path, texts):
    (tmp_path / "a.txt").write_text(texts[0], encoding="utf-8")
    for bad in (("--out", str(tmp_path / "rows.jsonl"), "--format", "parquet"),
                ("--out", str(tmp_path / "rows.parquet"), "--format", "jsonl"),
                ("--out", str(tmp_path / "rows.jsonl"), "--engine", "spark")):
        p = _cli("scan", str(tmp_path / "a.txt"), *bad)
        assert p.returncode == 2 and p.stderr.count(b"\n") == 1, (bad, p.stderr)
        assert b"usage error" in p.stderr
    assert not list(tmp_path.glob("rows.*"))  # refused before any work


def test_a_scan_into_its_input_folder_never_reads_its_own_output(tmp_path, texts):
    src = tmp_path / "in"
    src.mkdir()
    for i, t in enumerate(texts[:2]):
        (src / f"{i}.txt").write_text(t, encoding="utf-8")
    for out in (src / "shards", src / "rows.jsonl"):
        for _ in range(2):  # the second run would read the first one's output
            p = _cli("scan", str(src), "--out", str(out))
            assert p.returncode == 0, p.stderr
        assert len(scan.read_rows(str(out))) == 2
        if out.is_dir():  # else the next output's scan reads these shards
            shutil.rmtree(out)
    assert len(scan.expand_inputs([str(src)])) == 3  # the last output is there to exclude
    assert len(scan.expand_inputs([str(src)], exclude=[str(out)])) == 2


def test_not_a_warc_is_one_error_row_and_no_warning_noise(tmp_path, texts, capfd):
    from unspin.scan import read_warc

    junk = tmp_path / "junk.warc"
    junk.write_text("this is not a warc file at all\n" * 10)
    rows = list(read_warc(str(junk)))
    assert len(rows) == 1 and rows[0]["error"].startswith("not a WARC file")
    # Bytes after a record's Content-Length: warcio's multi-line warning is
    # kept off stderr, the problem is one row, and both pages are still read.
    good = tmp_path / "good.warc"
    _warc(good, [("http://x/a", _html(texts[0]))], gz=False)
    data = good.read_bytes()
    assert data.endswith(b"\r\n\r\n")
    bad = tmp_path / "bad.warc"
    bad.write_bytes(data[:-4] + b"EXTRA" + data[-4:] + data)
    rows = list(read_warc(str(bad)))
    assert capfd.readouterr().err == ""
    assert [r["error"] is None for r in rows] == [True, True, False], rows
    assert "malformed WARC: 1 record(s)" in rows[-1]["error"]
    assert texts[0][:40] in rows[0]["text"]


def test_html_in_a_declared_charset_is_read_in_it(tmp_path, texts):
    from unspin.scan import read_file_doc, read_warc

    page = tmp_path / "latin.html"
    page.write_bytes(_html("Café society © 2024 “quoted”. " + texts[1]).replace(
        "<head>", '<head><meta charset="iso-8859-1">').encode("cp1252", "replace"))
    (row,) = read_file_doc(str(page))
    assert row["error"] is None and "Café society © 2024 “quoted”" in row["text"]
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    warc = tmp_path / "latin.warc.gz"
    with open(warc, "wb") as f:
        w = WARCWriter(f, gzip=True)
        hh = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=ISO-8859-1")],
                              protocol="HTTP/1.0")
        w.write_record(w.create_warc_record(
            "http://x/l", "response", http_headers=hh,
            payload=io.BytesIO(_html("Café Zürich. " + texts[0]).encode("latin-1", "replace"))))
    (row,) = read_warc(str(warc))
    assert row["error"] is None and "Café Zürich" in row["text"]
    # A byte-order mark outranks a label; a <meta> that says UTF-16 on a page
    # that could be read to find it is UTF-8 (as browsers read both).
    from unspin.scan import _decode_html

    page = '<meta charset="iso-8859-1"><p>Café “quoted”</p>'
    assert _decode_html(("\ufeff" + page).encode("utf-8")).endswith("Café “quoted”</p>")
    assert _decode_html(page.replace("iso-8859-1", "utf-16").encode("utf-8")) == page.replace(
        "iso-8859-1", "utf-16")
    with pytest.raises(scan.InputError, match="binary"):
        _decode_html(page.encode("latin-1", "replace") + b"\x00\x01")


def test_a_lone_surrogate_is_a_clean_error_row():
    row = scan.process_record({"id": "s", "text": "The council \ud800 said the bridge would "
                                                  "open this year, officials said."})
    assert row["error"] == "input contains unpaired surrogates: it is not valid Unicode text"


def test_cli_scan_killed_leaves_no_temporary_file(tmp_path, texts):
    import signal
    import time

    src = tmp_path / "in"
    src.mkdir()
    for i in range(60):
        (src / f"{i:02d}.txt").write_text(texts[i % len(texts)], encoding="utf-8")
    out = tmp_path / "rows.jsonl"
    p = subprocess.Popen([sys.executable, "-m", "unspin.cli", "scan", str(src), "--out",
                          str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("rows.jsonl.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob("rows.jsonl.tmp-*")), "the scan never started writing"
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    # Cleaned up, then ended by the signal itself, as a service manager expects.
    assert p.returncode == -signal.SIGTERM, err
    assert err.decode().strip().splitlines()[-1] == "unspin: terminated"
    assert not list(tmp_path.glob("rows.jsonl*"))  # neither a partial file nor its temp


def test_main_in_process_passes_sigterm_on_and_leaves_an_ignored_one_ignored(
        tmp_path, monkeypatch):
    # main() inside another program: a SIGTERM that arrives while a command
    # runs unwinds it, then reaches the host's own handler, which is back in
    # place afterwards; an ignored SIGTERM stays ignored while the command runs.
    import signal

    from unspin import cli

    during: list[object] = []

    def fake_scan(args):
        during.append(signal.getsignal(signal.SIGTERM))
        if during[-1] is not signal.SIG_IGN:
            signal.raise_signal(signal.SIGTERM)
        return 0

    monkeypatch.setattr(cli, "cmd_scan", fake_scan)
    seen: list[int] = []

    def host(signum, frame):
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, host)
    try:
        out = str(tmp_path / "r.jsonl")
        assert main(["scan", str(tmp_path), "--out", out]) == 128 + signal.SIGTERM
        assert during[0] is not host  # main's own handler ran the unwinding
        assert seen == [signal.SIGTERM]  # and the host got the signal after it
        assert signal.getsignal(signal.SIGTERM) is host
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        assert main(["scan", str(tmp_path), "--out", out]) == 0
        assert during[1] is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize("gz", [True, False])
def test_a_malformed_warc_record_does_not_lose_the_records_after_it(tmp_path, texts, gz):
    path = tmp_path / ("a.warc.gz" if gz else "a.warc")
    _warc(path, [(f"http://w/{k}", _html(texts[k % len(texts)])) for k in range(4)], gz=gz)
    data = path.read_bytes()
    magic = b"\x1f\x8b\x08" if gz else b"WARC/1."
    starts = [k for k in range(len(data)) if data.startswith(magic, k)]
    assert len(starts) == 4
    # Record 2 becomes junk: a whole gzip member of it, or a garbage first line.
    junk = (gzip.compress(b"not a WARC record at all\r\n\r\n") if gz
            else b"GARBAGE\r\n" + data[starts[1] + 10 : starts[2]])
    path.write_bytes(data[: starts[1]] + junk + data[starts[2]:])
    rows = list(scan.read_warc(str(path)))
    assert [r["id"] for r in rows if not r["error"]] == ["http://w/0", "http://w/2", "http://w/3"]
    assert [r["record"] for r in rows] == [1, 2, 3, 4]
    bad = rows[1]["error"]
    assert "malformed WARC record after record 1" in bad and "reading on" in bad
    assert "\n" not in bad and "\r" not in bad


def test_progress_in_a_log_is_one_line_per_update(capsys):
    # --progress with stderr redirected: no carriage returns in the log.
    p = scan.Progress(True)
    assert not p.tty  # pytest captures stderr
    p.last -= 60  # as if the last update were a minute ago
    p.count(5)
    p.count(5)  # within the interval: no line
    p.close()
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "\r" not in err and len(lines) == 2
    assert lines[0].startswith("scan: 5 docs") and lines[1].startswith("scan: 10 docs")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_damaged_index_stops_the_scan_with_one_line(tmp_path, texts, capsys, jobs):
    # Every record would fail the same way: that is the index's fault, not
    # the records', so the scan stops instead of writing an error per row.
    from unspin.cli import main
    from unspin.index import Index, SourceDoc

    db = tmp_path / "idx.db"
    with Index(db) as idx:
        idx.add([SourceDoc(f"s{k}", t) for k, t in enumerate(texts)])
    data = bytearray(db.read_bytes())
    assert len(data) > 5 * 8192
    data[3 * 8192 : 5 * 8192] = b"\xff" * (2 * 8192)
    db.write_bytes(bytes(data))
    src = tmp_path / "in.jsonl"
    src.write_text(_jsonl(texts[:2], "j"), encoding="utf-8")
    assert main(["scan", str(src), "--index", str(db), "--out", str(tmp_path / "o.jsonl"),
                 "--jobs", jobs]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["unspin: error: the index is damaged or unreadable "
                   "(database disk image is malformed)"]


def test_jsonl_metadata_that_is_not_a_string_is_kept_as_json_text(tmp_path, texts):
    src = tmp_path / "m.jsonl"
    src.write_text(json.dumps({"id": 7, "url": 5, "date": ["x"], "text": texts[0]}) + "\n",
                   encoding="utf-8")
    (row,) = scan.read_jsonl(str(src))
    assert (row["id"], row["url"], row["date"], row["title"]) == ("7", "5", '["x"]', None)


def test_blank_lines_in_jsonl_are_no_records_and_no_errors(tmp_path, texts):
    # Editors end files with a newline, and some with a blank line.
    src = tmp_path / "crawl.jsonl"
    src.write_text(json.dumps({"id": "a", "text": texts[0]}) + "\n\n  \n"
                   + json.dumps({"id": "b", "text": texts[1]}) + "\n\n", encoding="utf-8")
    rows = list(scan.read_unit(str(src)))
    assert [(r["id"], r["record"], r["error"]) for r in rows] == [("a", 1, None), ("b", 4, None)]
