"""The CLI end to end, as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bad_inputs import BAD_INPUTS

ROOT = Path(__file__).resolve().parents[1]
SPUN = ROOT / "examples" / "spun_news.txt"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unspin.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def test_restore_text_from_file_changes_spun_words():
    p = run("restore", str(SPUN))
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "this year" in out and "12 months" not in out
    assert out.startswith("date 2026-03-14 ")  # crawl metadata passes through


def test_restore_json_offsets_point_into_input():
    text = SPUN.read_text(encoding="utf-8")
    p = run("restore", "--format", "json", "-", stdin=text.encode())
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["changes"], "expected changes on the spun example"
    for c in data["changes"]:
        assert set(c) >= {"start", "end", "spun", "restored", "confidence", "evidence"}
        assert text[c["start"] : c["end"]] == c["spun"]
        assert 0.0 <= c["confidence"] <= 1.0
    rebuilt, pos = [], 0
    for c in data["changes"]:
        rebuilt += [text[pos : c["start"]], c["restored"]]
        pos = c["end"]
    assert "".join(rebuilt) + text[pos:] == data["text"]


def test_restore_diff_marks_changes_without_colour_when_piped():
    p = run("restore", "--format", "diff", str(SPUN))
    assert p.returncode == 0
    out = p.stdout.decode()
    assert "[-12 months-]{+year+}" in out
    assert "\x1b[" not in out


def test_confidence_knob_limits_changes():
    def changes(conf: str) -> list[dict]:
        p = run("restore", "--format", "json", "--confidence", conf, str(SPUN))
        return json.loads(p.stdout)["changes"]

    strict, loose = changes("0.999"), changes("0.2")
    assert len(strict) < len(loose)
    assert all(c["confidence"] >= 0.999 for c in strict)


def test_user_lexicon_adds_a_substitution(tmp_path):
    # The example's "initiatives" (for "projects") is left alone without a
    # site table; with one that lists the swap, it is restored.
    lex = tmp_path / "site.csv"
    lex.write_text("spun,original,prob\ninitiative,project,0.9\n", encoding="utf-8")
    without = json.loads(run("restore", "--format", "json", str(SPUN)).stdout)
    p = run("restore", "--format", "json", "--lexicon", str(lex), str(SPUN))
    with_lex = json.loads(p.stdout)
    assert all(c["spun"] != "initiatives" for c in without["changes"])
    assert any(
        c["spun"] == "initiatives" and c["restored"] == "projects" for c in with_lex["changes"]
    )


@pytest.mark.parametrize("data, message", BAD_INPUTS)
def test_bad_input_one_line_error_and_nonzero_exit(data, message):
    p = run("restore", "-", stdin=data)
    assert p.returncode == 1
    err = p.stderr.decode()
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert p.stdout == b""


def test_missing_file_and_bad_confidence():
    p = run("restore", "/nonexistent/file.txt")
    assert p.returncode == 1 and b"cannot read" in p.stderr
    p = run("restore", "--confidence", "2", str(SPUN))
    assert p.returncode == 2


def test_byte_order_mark_is_kept_and_offsets_count_it():
    bom = "\ufeff"
    clean = bom + (ROOT / "examples" / "clean_news.txt").read_text(encoding="utf-8")
    p = run("restore", "-", stdin=clean.encode("utf-8"))
    assert p.returncode == 0, p.stderr
    assert p.stdout == clean.encode("utf-8")  # byte-identical, BOM included
    spun = bom + SPUN.read_text(encoding="utf-8")
    p = run("restore", "--format", "json", "-", stdin=spun.encode("utf-8"))
    data = json.loads(p.stdout)
    assert data["text"].startswith(bom + "date 2026-03-14 ")  # still metadata after a BOM
    assert data["changes"] and all(spun[c["start"]:c["end"]] == c["spun"]
                                   for c in data["changes"])


def test_unwritable_output_is_a_one_line_error(tmp_path):
    clean = ROOT / "examples" / "clean_news.txt"
    cases = [("learn", "--copy", str(SPUN), "--source", str(clean), "--out", str(tmp_path))]
    taken = tmp_path / "taken"
    taken.write_text("x")
    cases.append(("scan", str(clean), "--out", str(taken)))  # a file where a folder must go
    for args in cases:
        p = run(*args)
        assert p.returncode == 1, (args, p.stderr)
        assert p.stderr.startswith(b"unspin: error: ") and b"Traceback" not in p.stderr, args
    if Path("/dev/full").exists():  # Linux: every write fails with ENOSPC
        with open("/dev/full", "wb") as full:
            p = subprocess.run([sys.executable, "-m", "unspin.cli", "restore", str(SPUN)],
                               stdout=full, stderr=subprocess.PIPE, timeout=120)
        assert p.returncode == 1
        assert p.stderr == b"unspin: error: No space left on device\n"


def test_output_is_utf8_whatever_the_locale():
    import os

    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    text = (ROOT / "examples" / "clean_news.txt").read_text(encoding="utf-8") + " Café “quoted”.\n"
    p = subprocess.run([sys.executable, "-m", "unspin.cli", "restore", "-"], env=env,
                       input=text.encode("utf-8"), capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == text.encode("utf-8")


@pytest.mark.parametrize(
    "args",
    [
        ("detect", "--top", "-1", str(SPUN)),
        ("trace", str(SPUN), "--index", "{tmp}/x.db", "--top", "0"),
        ("serve", "--port", "99999"),
        ("serve", "--timeout", "nan"),
        ("scan", str(SPUN), "--out", "{tmp}/o.jsonl", "--max-bytes", "-5"),
        ("scan", str(SPUN), "--out", "{tmp}/o.jsonl", "--jobs", "0"),
    ],
)
def test_out_of_range_options_are_usage_errors(args, tmp_path):
    p = run(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert p.returncode == 2, p.stderr
    assert b"error: argument" in p.stderr and b"Traceback" not in p.stderr


def test_serve_on_a_port_in_use_is_a_one_line_error():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        p = run("serve", "--port", str(port))
    assert p.returncode == 1
    expected = f"unspin: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert p.stderr == expected.encode()


def test_scan_counts_a_file_named_twice_once(tmp_path):
    clean = ROOT / "examples" / "clean_news.txt"
    out = tmp_path / "shards"
    p = run("scan", str(clean), str(clean), str(ROOT / "examples" / "." / "clean_news.txt"),
            "--out", str(out), "--format", "jsonl")
    assert p.returncode == 0, p.stderr
    assert b"1 rows (0 errors) from 1 inputs" in p.stderr


def test_detect_json_names_a_non_utf8_file_in_valid_utf8(tmp_path):
    import os

    name = os.fsdecode(b"caf\xff.txt")  # a file name no UTF-8 output can carry as is
    try:
        (tmp_path / name).write_bytes(SPUN.read_bytes())
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    p = run("detect", "--format", "json", str(tmp_path / name), str(SPUN))
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.decode("utf-8").splitlines()]
    assert rows[0]["source"].endswith("caf\\xff.txt") and rows[1]["source"] == str(SPUN)


@pytest.mark.parametrize("fd", [0, 1])
def test_a_closed_standard_stream_is_a_one_line_error(fd):
    import os

    # As a shell's "<&-" or ">&-" leaves it: Python then has no sys.stdin/stdout.
    args = ["restore", "-"] if fd == 0 else ["restore", str(SPUN)]
    p = subprocess.run([sys.executable, "-m", "unspin.cli", *args], capture_output=True,
                       timeout=120, preexec_fn=lambda: os.close(fd))
    assert p.returncode == 1
    what = "standard input" if fd == 0 else "standard output"
    assert p.stderr.decode().endswith(f"{what} is closed\n") and p.stderr.count(b"\n") == 1


def test_a_lexicon_that_cannot_be_read_is_one_plain_line(tmp_path):
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x94abc,def\n")
    for lex, expect in ((tmp_path / "nope.csv", "No such file or directory"),
                        (binary, "is not valid UTF-8 (byte 0x94 at offset 0)")):
        p = run("restore", "--lexicon", str(lex), str(SPUN))
        assert p.returncode == 1 and p.stderr.count(b"\n") == 1
        assert p.stderr.decode().rstrip().endswith(expect) and "Errno" not in p.stderr.decode()
