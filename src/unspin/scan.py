"""Batch scanning: ``unspin scan INPUT... --out OUT`` (see docs/scan.md).

One per-document function, :func:`process_record`, turns a record
``{input, record, id, url, date, text}`` (or an error record, with ``error``
set) into one output row. Both engines call it:

* ``local``: a ``multiprocessing`` pool (``--jobs N``), ordered ``imap`` over
  chunks with a bounded number of records in flight, one output shard per input
  (resumable) or one Parquet/JSONL file;
* ``spark``: ``mapPartitions`` over the list of input files (each task reads
  one file with the same readers, like cc-pyspark), written as Parquet.

The models (detector, index) are module-level lazy singletons, so they load
once per worker process or Spark executor, not once per record.

Rows in = rows out: every record the readers produce, including the ones they
could not read (truncated gzip, malformed WARC record, invalid JSON line,
non-UTF-8 bytes, empty or oversized documents), gives exactly one row, with
``error`` set when it could not be scored.

>>> row = process_record({"input": "x", "record": 1, "id": "a", "text": ""})
>>> row["error"]
'empty document'
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html
import json
import os
import re
import signal
import sqlite3
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any

from .text import InputError, has_surrogates, shown_name

MAX_DOC_BYTES = 1_000_000  # a news article is ~5 KB; larger records become error rows
SKIP_CHUNK = 1 << 20  # bytes read at a time while skipping an oversized line
ROW_GROUP = 1000  # Parquet rows per row group

TEXT_SUFFIXES = (".txt", ".md", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
WARC_SUFFIXES = (".warc", ".warc.gz")
PARQUET_SUFFIXES = (".parquet",)
CONTAINER_SUFFIXES = JSONL_SUFFIXES + WARC_SUFFIXES + PARQUET_SUFFIXES
DOCUMENT_SUFFIXES = CONTAINER_SUFFIXES + HTML_SUFFIXES + TEXT_SUFFIXES

Record = dict[str, Any]
Row = dict[str, Any]

# Column order and types of every output row (Parquet schema, Spark schema, JSONL keys).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("input", "string"),
    ("record", "int64"),
    ("id", "string"),
    ("url", "string"),
    ("date", "string"),
    ("spun_probability", "double"),
    ("verdict", "string"),
    ("n_findings", "int64"),
    ("finding_kinds", "string"),
    ("top_source", "string"),
    ("top_score", "double"),
    ("restored_text", "string"),
    ("error", "string"),
)


# ----------------------------------------------------------------- the models

_DETECTOR: Any = None
_INDEXES: dict[str, tuple[int, Any]] = {}


def _detector() -> Any:
    """The process's detector, loaded on first use (once per worker/executor)."""
    global _DETECTOR
    if _DETECTOR is None:
        from .detect import Detector

        _DETECTOR = Detector()
    return _DETECTOR


def _index(path: str) -> Any:
    """The process's open index for ``path`` (reopened after a fork: SQLite handles)."""
    pid = os.getpid()
    hit = _INDEXES.get(path)
    if hit is None or hit[0] != pid:
        from .index import Index

        _INDEXES[path] = (pid, Index.existing(path))
    return _INDEXES[path][1]


def warm_up(index_path: str | None = None) -> None:
    """Load the models now (before forking workers, so they share the pages)."""
    _detector().detect("The council said on Tuesday that the new bridge would open this year.")
    if index_path:
        _index(index_path)


# ------------------------------------------------------------ one document


def empty_row(record: Record) -> Row:
    row: Row = {name: None for name, _ in COLUMNS}
    for key in ("input", "record", "id", "url", "date"):
        value = record.get(key)
        row[key] = value if value is None or key == "record" else str(value)
    return row


def process_record(
    record: Record,
    *,
    restore: bool = False,
    index_path: str | None = None,
    max_bytes: int = MAX_DOC_BYTES,
) -> Row:
    """Score one record; never raises (a failure is the row's ``error``)."""
    row = empty_row(record)
    if record.get("error"):
        row["error"] = str(record["error"])
        return row
    try:
        text = record.get("text")
        if not isinstance(text, str):
            raise InputError("record has no text")
        # surrogatepass: a lone surrogate is measured here and reported by the
        # analysis' own check, not as an encoder's exception.
        if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            raise InputError(f"document is larger than {max_bytes} bytes")
        if not text.strip():
            raise InputError("empty document")
        det = _detector()
        # One analysis of one Document serves detect, trace and restore.
        ev = det.measure(text)
        result = det.judge(ev)
        row["spun_probability"] = round(float(result.spun_probability), 6)
        row["verdict"] = result.verdict
        row["n_findings"] = len(result.findings)
        row["finding_kinds"] = ",".join(sorted({f.kind for f in result.findings}))
        if index_path:
            from .trace import trace

            tr = trace(ev.doc, _index(index_path), top=1)
            if tr.matches:
                row["top_source"] = tr.matches[0].id
                row["top_score"] = round(float(tr.matches[0].coverage), 6)
        if restore:
            row["restored_text"] = det.r.restoration(ev.doc, ev.spans, ev.rate).text
    except InputError as e:
        row["error"] = str(e)
    except sqlite3.DatabaseError:
        raise  # a damaged index is no record's fault: it stops the scan (one line, exit 1)
    except Exception as e:  # noqa: BLE001 - one bad record must not stop a scan
        row["error"] = f"{type(e).__name__}: {e}"
    return row


# ------------------------------------------------------------------ readers


def _suffix(path: str) -> str:
    name = path.lower()
    for s in DOCUMENT_SUFFIXES:
        if name.endswith(s):
            return s
    return Path(name).suffix


def _document_file(f: Path) -> bool:
    """Whether a file met while walking a folder is one to read: a known
    document or container type, or a name with no suffix (crawl dumps); not
    a CSV, a script or an image that happens to sit next to the articles."""
    return (f.is_file() and not f.name.startswith(".")
            and (_suffix(f.name) in DOCUMENT_SUFFIXES or not f.suffix))


def expand_inputs(
    paths: Iterable[str], problems: list[str] | None = None, exclude: Iterable[str] = ()
) -> list[str]:
    """The scan units: container files (JSONL, WARC, Parquet) and loose documents.

    A folder is walked: its containers become units of their own, its loose
    files (one document each) one unit per file; files of other types in it
    are left out (a file named on its own is always read). Order is
    deterministic, and a file reached twice (named twice, or also inside a
    named folder) is one unit: its shard name is its path's, so a second
    copy would only overwrite the first while the counts grew.

    A missing path raises InputError, or, with ``problems``, is listed there
    with any folder that holds no document, and the other paths go on.

    ``exclude`` names the command's own files (a scan's output file or
    folder of shards, an index and its journal files): a folder walked never
    yields them, or a resumed scan would read its own rows back as input.

    >>> here = os.path.dirname(__file__)
    >>> expand_inputs([__file__, os.path.join(here, ".", "scan.py")]) == [__file__]
    True
    """
    units: dict[str, str] = {}  # real path -> the path as given
    own = [os.path.realpath(e) for e in exclude]

    def ours(f: Path) -> bool:  # one of the command's own files, or inside one
        if not own:  # most calls: no path to resolve per file
            return False
        real = os.path.realpath(f)
        return any(real == o or real.startswith(o + os.sep) for o in own)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = [f for f in sorted(p.rglob("*")) if _document_file(f) and not ours(f)]
            if not found and problems is not None:
                problems.append(f"{raw}: no documents in this folder")
        elif p.exists():
            found = [p]
        elif problems is not None:
            problems.append(f"cannot read {p}: no such file or directory")
            found = []
        else:
            raise InputError(f"cannot read {p}: no such file or directory")
        for f in found:
            units.setdefault(os.path.realpath(f), str(f))
    return list(units.values())


def _record(path: str, n: int, text: str | None, error: str | None, **meta: Any) -> Record:
    path = shown_name(path)
    return {"input": path, "record": n, "id": shown_name(meta.get("id") or f"{path}#{n}"),
            "url": meta.get("url"), "date": meta.get("date"), "title": meta.get("title"),
            "text": text, "error": error}


def _error(path: str, n: int, message: str, **meta: Any) -> Record:
    return _record(path, n, None, message, **meta)


def _doc(path: str, n: int, text: str, **meta: Any) -> Record:
    return _record(path, n, text, None, **meta)


_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
# As browsers do (WHATWG Encoding): a page labelled Latin-1 or ASCII is windows-1252.
_AS_1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii",
            "windows-1252", "cp1252"}


def _decode_html(data: bytes, content_type: str = "") -> str:
    """An HTML page's text in the charset it declares (HTTP header, else a
    ``<meta>`` in its first 4 KB); UTF-8, strictly, when it declares none.

    >>> _decode_html('<meta charset="iso-8859-1"><p>caf\\xe9'.encode("latin-1"))[-4:]
    'café'
    >>> _decode_html(b"<p>caf\\xc3\\xa9", "text/html; charset=UTF-8")[-4:]
    'café'
    """
    # A byte-order mark outranks any label (browsers do so); decode_bytes
    # keeps a UTF-8 one and names UTF-16.
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return _decode(data)
    found = _HEADER_CHARSET.search(content_type)
    label = found.group(1) if found else None
    if label is None and (meta := _META_CHARSET.search(data[:4096])):
        label = meta.group(1).decode("ascii")
        if label.lower().startswith(("utf-16", "utf-32")):
            label = "utf-8"  # a page that could read its own <meta> is not UTF-16
    label = (label or "utf-8").lower()
    if label in ("utf-8", "utf8") or b"\x00" in data:
        return _decode(data)  # strict UTF-8, and its binary check
    codec = "cp1252" if label in _AS_1252 else label
    try:
        return data.decode(codec)
    except LookupError:
        raise InputError(f"document declares an unknown charset {label!r}") from None
    except UnicodeDecodeError as e:
        if codec == "cp1252":  # the five bytes cp1252 leaves undefined: read as Latin-1
            return data.decode("latin-1")
        raise InputError(f"document is not valid {label} (byte 0x{data[e.start]:02x} at "
                         f"offset {e.start})") from None


def _decode(data: bytes) -> str:
    from .text import decode_bytes

    return decode_bytes(data, "document")


class _Stripper(HTMLParser):
    """A fallback main-text extractor: visible text, one line per block element."""

    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "article",
             "section", "blockquote", "title"}
    SKIP = {"script", "style", "noscript", "template", "svg", "head", "nav", "footer"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Main text of an HTML page: trafilatura if installed, else a tag stripper."""
    try:
        import trafilatura
    except ImportError:
        trafilatura = None
    if trafilatura is not None:
        text = trafilatura.extract(markup, include_comments=False, include_tables=False)
        return text or ""
    s = _Stripper()
    s.feed(markup)
    s.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", html.unescape(x)).strip()
             for x in "".join(s.parts).split("\n"))
    return "\n\n".join(x for x in lines if x)


def read_file_doc(path: str, max_bytes: int = MAX_DOC_BYTES) -> Iterator[Record]:
    """One loose document (text or HTML); the size is checked before reading."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            yield _error(path, 1, f"document is larger than {max_bytes} bytes ({size})")
            return
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
        if _suffix(path) in HTML_SUFFIXES:
            text = html_to_text(_decode_html(data))
        else:
            text = _decode(data)
        yield _doc(path, 1, text, id=path)
    except (InputError, OSError, ValueError) as e:
        yield _error(path, 1, str(e), id=path)


def _lines(f: IO[bytes], max_bytes: int) -> Iterator[bytes | None]:
    """Lines of at most ``max_bytes``; ``None`` for a longer one (skipped unread)."""
    while True:
        line = f.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:  # skip the rest of the oversized line in bounded chunks
                rest = f.readline(SKIP_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
        else:
            yield line


def read_jsonl(path: str, max_bytes: int = MAX_DOC_BYTES) -> Iterator[Record]:
    """JSON Lines (optionally gzipped) of {id, text[, url, date]}; bad lines are error rows."""
    n = 0
    try:
        opener: Callable[..., IO[bytes]] = gzip.open if path.lower().endswith(".gz") else open
        with opener(path, "rb") as f:
            for line in _lines(f, max_bytes):
                n += 1
                if line is None:
                    yield _error(path, n, f"line {n}: document is larger than {max_bytes} bytes")
                    continue
                if not line.strip():  # a blank line holds no record (editors end files so)
                    continue
                try:
                    # A BOM before the first line is the file's, not the record's.
                    rec = json.loads(_decode(line).removeprefix("\ufeff"))
                    if not isinstance(rec, dict):
                        raise ValueError("not a JSON object")
                    text = rec.get("text")
                    if not isinstance(text, str):
                        raise ValueError("no string 'text' field")
                except (ValueError, InputError) as e:
                    yield _error(path, n, f"line {n}: invalid record ({e})")
                    continue
                # Output columns are strings: a number or list is kept as its
                # JSON text (5 -> "5", ["x"] -> '["x"]'), not as a Python repr.
                meta = {k: (None if v is None else v if isinstance(v, str)
                            else json.dumps(v, ensure_ascii=False))
                        for k in ("id", "url", "date", "title") for v in [rec.get(k)]}
                # A "\udc00" escape in a field no output format can store:
                # report the record rather than fail the writer, and the run.
                bad = [k for k, v in meta.items() if v is not None and has_surrogates(v)]
                if bad:
                    yield _error(path, n, f"line {n}: invalid record ('{bad[0]}' holds an "
                                 "unpaired surrogate)")
                    continue
                yield _doc(path, n, text, **meta)
    except (OSError, EOFError, zlib.error) as e:  # truncated/corrupt gzip, unreadable file
        yield _error(path, n + 1, f"line {n + 1}: unreadable from here on ({e})")


def read_warc(path: str, max_bytes: int = MAX_DOC_BYTES) -> Iterator[Record]:
    """HTML responses (and conversion records) of a WARC; a malformed record is an error row."""
    from warcio.archiveiterator import ArchiveIterator

    class Quiet(ArchiveIterator):
        # warcio writes a three-line warning to stderr per record that is not
        # followed by a blank line; such records are counted and reported
        # in one row instead (stderr carries one line per problem).
        INC_RECORD = ""

    n = 0
    end = size = 0
    last = None  # the last record read, scanned or skipped
    cut_reported = False
    bad_breaks = 0
    try:
        if not _starts_as_warc(path):
            yield _error(path, 1, "not a WARC file (it does not start with a WARC/1.x header)")
            return
        gz = _is_gzip(path)  # by content, not name: a ".warc" may hold gzip, so may ".WARC.GZ"
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            at: int | None = 0
            while at is not None:  # once, plus once per malformed record skipped
                f.seek(at)
                records = Quiet(f)
                try:
                    for rec in records:
                        last = rec
                        row = _warc_row(path, rec, n + 1, max_bytes)
                        if row is None:
                            continue
                        n += 1
                        if row["error"] == _TRUNCATED_RECORD:
                            cut_reported = True
                        yield row
                    at = None
                except Exception as e:  # noqa: BLE001 - warcio raises several types here
                    # Good records after a broken one must not be lost: go on
                    # from the next place a record can start.
                    at = _next_record(path, records.offset + 1, gz)
                    n += 1
                    rest = ("; reading on from the next record" if at is not None
                            else "; no record follows it")
                    cut_reported = cut_reported or at is None  # then the rest is this row
                    yield _error(path, n, f"malformed WARC record after record {n - 1} "
                                 f"({type(e).__name__}: {_one_line(str(e))}){rest}")
                    last = None
                bad_breaks += records.err_count
            end = records.offset
            # Iterating read the last record to its end: a cut anywhere in it,
            # even in one the filters above skipped, leaves bytes promised.
            cut_last = last is not None and not cut_reported and _cut(last)
    except OSError as e:
        yield _error(path, n + 1, f"unreadable WARC after record {n} ({_one_line(str(e))})")
        return
    if bad_breaks:
        yield _error(path, n + 1, f"malformed WARC: {bad_breaks} record(s) not followed by a "
                     "blank line (a Content-Length may be wrong)")
    if cut_reported:
        return
    if cut_last:
        yield _error(path, n + 1, f"truncated WARC: the archive ends inside a record after "
                     f"record {n}")
    # warcio stops quietly at a cut in a .warc.gz, so records after it would
    # vanish without a trace: check that the last gzip member is complete.
    elif gz and not _gzip_complete(path):
        yield _error(path, n + 1, f"truncated gzip: the archive ends mid-record after record {n}")
    # Uncompressed, a cut inside a record's headers ends the iteration just
    # as quietly: the bytes after the last whole record are that record.
    elif not gz and end < size and _has_text_after(path, end):
        yield _error(path, n + 1, f"truncated WARC: {size - end} bytes after record {n} "
                     "are not a complete record")
    # A cut in a record's header block before its Content-Length parses as a
    # record with no content (a cut after it leaves bytes promised, above);
    # a whole record of that kind still ends with a blank line.
    elif (not gz and size and last is not None
          and not int(last.rec_headers.get_header("Content-Length") or 0)
          and not _ends_with_blank_line(path)):
        yield _error(path, n + 1, f"truncated WARC: the archive ends inside a record after "
                     f"record {n}")


_TRUNCATED_RECORD = "truncated WARC: the record ends before its Content-Length"


def _warc_row(path: str, rec: Any, n: int, max_bytes: int) -> Record | None:
    """Record ``n`` of a WARC for one HTML response or conversion record, an
    error row if it cannot be read, or None for the records scan skips."""
    if rec.rec_type not in ("response", "conversion", "resource"):
        return None
    headers = rec.rec_headers
    url = headers.get_header("WARC-Target-URI")
    date = (headers.get_header("WARC-Date") or "")[:10] or None
    rid = headers.get_header("WARC-Record-ID") or None
    ctype = ""
    if rec.http_headers is not None:
        if rec.rec_type == "response" and rec.http_headers.get_statuscode() != "200":
            return None
        ctype = rec.http_headers.get_header("Content-Type") or ""
    else:
        ctype = headers.get_header("Content-Type") or ""
    is_html = "html" in ctype.lower()
    if rec.rec_type == "response" and not is_html:
        return None
    meta = {"id": url or rid, "url": url, "date": date}
    length = int(headers.get_header("Content-Length") or 0)
    if length > max_bytes:
        return _error(path, n, f"document is larger than {max_bytes} bytes", **meta)
    try:
        data = rec.content_stream().read(max_bytes + 1)
        if len(data) > max_bytes:
            raise InputError(f"document is larger than {max_bytes} bytes")
        if _cut(rec):
            raise InputError(_TRUNCATED_RECORD)
        if is_html:
            return _doc(path, n, html_to_text(_decode_html(data, ctype)), **meta)
        return _doc(path, n, _decode(data), **meta)
    except (InputError, ValueError, OSError, EOFError, zlib.error) as e:
        return _error(path, n, str(e), **meta)


def _next_record(path: str, after: int, gz: bool) -> int | None:
    """Where the next WARC record may start at or after byte ``after``: a gzip
    member header in a compressed WARC, a WARC/1.x line in a plain one."""
    magic = b"\x1f\x8b\x08" if gz else b"\nWARC/1."
    with open(path, "rb") as f:
        f.seek(after)
        base, carry = after, b""
        while chunk := f.read(1 << 20):
            data = carry + chunk
            i = data.find(magic)
            if i >= 0:
                return base - len(carry) + i + (0 if gz else 1)
            carry = data[-(len(magic) - 1):]
            base += len(chunk)
    return None


def _one_line(message: str, limit: int = 200) -> str:
    r"""``message`` as one printable line (a broken record's bytes can be anything).

    >>> _one_line("bad line: WARC/9\r\nx\x00")
    'bad line: WARC/9 x\\x00'
    """
    flat = " ".join(message.split())
    out = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in flat)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _starts_as_warc(path: str) -> bool:
    """Whether the (possibly gzipped) file's first bytes are a WARC version line."""
    try:
        opener: Callable[..., IO[bytes]] = gzip.open if _is_gzip(path) else open
        with opener(path, "rb") as f:
            head = f.read(64)
    except (OSError, EOFError, zlib.error):
        return False  # a gzip header with nothing readable after it
    return head.lstrip().startswith(b"WARC/")


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _ends_with_blank_line(path: str) -> bool:
    """Whether ``path`` ends as a whole WARC record does: CRLF CRLF (LF LF tolerated)."""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 4))
        tail = f.read()
    return tail.endswith((b"\r\n\r\n", b"\n\n"))


def _cut(rec: Any) -> bool:
    """Whether a WARC record, read to its end, got fewer bytes than its Content-Length."""
    return getattr(rec.raw_stream, "limit", 0) > 0


def _has_text_after(path: str, offset: int) -> bool:
    """Whether ``path`` holds anything but whitespace from ``offset`` on."""
    with open(path, "rb") as f:
        f.seek(offset)
        while data := f.read(1 << 16):
            if data.strip():
                return True
    return False


def _gzip_complete(path: str, chunk: int = 1 << 20) -> bool:
    """Whether every gzip member of ``path`` (WARC.gz has one per record) is complete."""
    d = zlib.decompressobj(wbits=31)
    seen = False
    with open(path, "rb") as f:
        while data := f.read(chunk):
            while data:
                seen = True
                try:
                    d.decompress(data)
                except zlib.error:
                    return False
                if not d.eof:
                    break
                data = d.unused_data
                d = zlib.decompressobj(wbits=31)
                seen = bool(data)
    return not seen or d.eof


def read_parquet(
    path: str, text_column: str = "text", max_bytes: int = MAX_DOC_BYTES, batch: int = 256
) -> Iterator[Record]:
    """Rows of a Parquet file with a text column (and optional id/url/date), batch by batch."""
    import pyarrow.parquet as pq

    n = 0
    fh = None
    try:
        # An open file, not the name: pyarrow cannot encode a file name that
        # is not UTF-8.
        fh = open(path, "rb")  # closed in finally: the generator yields while it is open
        pf = pq.ParquetFile(fh)
        names = set(pf.schema_arrow.names)
        if text_column not in names:
            yield _error(path, 1, f"no column {text_column!r} (columns: {sorted(names)})")
            return
        cols = [text_column] + [c for c in ("id", "url", "date") if c in names
                                and c != text_column]
        for b in pf.iter_batches(batch_size=batch, columns=cols):
            data = b.to_pydict()
            for i, text in enumerate(data[text_column]):
                n += 1
                meta = {k: (None if data[k][i] is None else str(data[k][i]))
                        for k in ("id", "url", "date") if k in data}
                if isinstance(text, bytes):
                    try:
                        text = _decode(text[: max_bytes + 1])
                    except InputError as e:
                        yield _error(path, n, str(e), **meta)
                        continue
                if not isinstance(text, str):
                    yield _error(path, n, "no text in this row", **meta)
                    continue
                yield _doc(path, n, text, **meta)
    except Exception as e:  # noqa: BLE001 - a torn Parquet file: report, go on with the next
        yield _error(path, n + 1, f"unreadable Parquet from row {n + 1} ({type(e).__name__}: {e})")
    finally:
        if fh is not None:
            fh.close()


def read_unit(
    path: str, *, text_column: str = "text", max_bytes: int = MAX_DOC_BYTES
) -> Iterator[Record]:
    """Records of one scan unit (see :func:`expand_inputs`), by file type."""
    s = _suffix(path)
    if s in JSONL_SUFFIXES:
        yield from read_jsonl(path, max_bytes)
    elif s in WARC_SUFFIXES:
        yield from read_warc(path, max_bytes)
    elif s in PARQUET_SUFFIXES:
        yield from read_parquet(path, text_column, max_bytes)
    else:
        yield from read_file_doc(path, max_bytes)


# ------------------------------------------------------------------ writers


def shard_name(unit: str, fmt: str) -> str:
    digest = hashlib.sha1(os.fsencode(os.path.abspath(unit))).hexdigest()[:16]
    return f"part-{digest}.{fmt}"


def arrow_schema() -> Any:
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "double": pa.float64()}
    return pa.schema([(name, types[t]) for name, t in COLUMNS])


class RowWriter:
    """Parquet (row groups of ``ROW_GROUP``) or JSONL, to a temp name renamed on close."""

    def __init__(self, path: str, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self.tmp = f"{path}.tmp-{os.getpid()}"
        self.rows: list[Row] = []
        self.n = 0
        self._pq: Any = None
        self._f: IO[str] | None = None
        if fmt == "jsonl":
            self._f = open(self.tmp, "w", encoding="utf-8")  # noqa: SIM115
        else:
            import pyarrow.parquet as pq

            self._pq = pq.ParquetWriter(self.tmp, arrow_schema())

    def write(self, row: Row) -> None:
        self.n += 1
        if self._f is not None:
            self._f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            self.rows.append(row)
            if len(self.rows) >= ROW_GROUP:
                self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.rows:
            self._pq.write_table(pa.Table.from_pylist(self.rows, schema=arrow_schema()))
            self.rows = []

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
        else:
            self._flush()
            self._pq.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            if self._f is not None:
                self._f.close()
            elif self._pq is not None:
                self._pq.close()
        with contextlib.suppress(OSError):
            os.remove(self.tmp)


# ------------------------------------------------------------- local engine


class Progress:
    """``scan: N docs, X docs/s, E errors`` on stderr, at most twice a second.

    Called with each output row (scan: the rows carry the error count), or
    ``count(n)`` by any other batch that counts documents (``index add``,
    ``group``) or words (``restore`` of a long text, ``unit="words"``).
    """

    def __init__(self, on: bool, label: str = "scan", unit: str = "docs") -> None:
        self.on, self.label, self.unit, self.n, self.errors = on, label, unit, 0, 0
        self.rows = False  # counting output rows, which carry their errors
        self.t0 = self.last = time.monotonic()
        # On a terminal one line is redrawn; in a log (--progress with stderr
        # redirected) each update is a line of its own, every 10 s.
        self.tty = sys.stderr.isatty()
        self.every = 0.5 if self.tty else 10.0

    def __call__(self, row: Row) -> None:
        self.rows = True
        self.count(1, row["error"] is not None)

    def count(self, n: int, errors: int = 0) -> None:
        self.n += n
        self.errors += errors
        now = time.monotonic()
        if self.on and now - self.last >= self.every:
            self.last = now
            self._print(now)

    def _print(self, now: float) -> None:
        rate = self.n / max(now - self.t0, 1e-9)
        errors = f", {self.errors} errors" if self.rows else ""
        line = f"{self.label}: {self.n:,} {self.unit}, {rate:,.1f} {self.unit}/s{errors}"
        if self.tty:
            print(f"\r{line}", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.on and self.n:
            self._print(time.monotonic())
            if self.tty:
                print(file=sys.stderr)


def _work(item: tuple[int, Record | None], **kw: Any) -> tuple[int, Row | None]:
    unit, record = item
    return unit, (None if record is None else process_record(record, **kw))


def _throttled(items: Iterator[Any], sem: threading.BoundedSemaphore,
               stop: threading.Event) -> Iterator[Any]:
    """``items``, one per free slot of ``sem``; ends once ``stop`` is set.

    The pool's task thread runs this generator: if it waited on ``sem``
    for good, ``pool.terminate()`` would wait for it in turn and a failed
    run (disk full, Ctrl-C) would hang instead of exiting.
    """
    for item in items:
        while not sem.acquire(timeout=0.1):
            if stop.is_set():
                return
        if stop.is_set():
            return
        yield item


def run_local(
    inputs: Sequence[str],
    out: str,
    *,
    fmt: str | None = None,
    jobs: int = 1,
    restore: bool = False,
    index_path: str | None = None,
    text_column: str = "text",
    max_bytes: int = MAX_DOC_BYTES,
    progress: bool = False,
    chunksize: int = 4,
) -> dict[str, int]:
    """Scan ``inputs`` into ``out``; returns counts (docs, errors, units, skipped).

    ``out`` ending in ``.parquet``/``.jsonl`` is one file; anything else is a
    directory of per-input shards, and inputs whose shard exists are skipped.
    """
    units = expand_inputs(inputs)
    single = out.lower().endswith((".parquet", ".jsonl"))
    fmt = fmt or ("jsonl" if out.lower().endswith(".jsonl") else "parquet")
    skipped = 0
    if not single:
        os.makedirs(out, exist_ok=True)
        todo = [u for u in units if not os.path.exists(os.path.join(out, shard_name(u, fmt)))]
        skipped = len(units) - len(todo)
        units = todo
    else:
        parent = os.path.dirname(os.path.abspath(out))
        os.makedirs(parent, exist_ok=True)

    def feed() -> Iterator[tuple[int, Record | None]]:
        for k, u in enumerate(units):
            for rec in read_unit(u, text_column=text_column, max_bytes=max_bytes):
                yield k, rec
            yield k, None  # end of unit: close its shard

    work = partial(_work, restore=restore, index_path=index_path, max_bytes=max_bytes)
    prog = Progress(progress)
    counts = {"docs": 0, "errors": 0, "units": len(units), "skipped": skipped}
    writer: RowWriter | None = RowWriter(out, fmt) if single else None
    pool = None
    stop = threading.Event()
    try:
        if jobs > 1:
            import multiprocessing as mp

            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            if ctx is not None:
                warm_up(index_path)  # workers inherit the loaded models
            else:
                ctx = mp.get_context()
            # Workers die on SIGTERM as usual (pool.terminate() relies on it),
            # whatever handler the CLI gave this process.
            pool = ctx.Pool(jobs, initializer=signal.signal,
                            initargs=(signal.SIGTERM, signal.SIG_DFL))
            sem = threading.BoundedSemaphore(jobs * chunksize * 4)  # records in flight
            results: Iterator[tuple[int, Row | None]] = pool.imap(
                work, _throttled(feed(), sem, stop), chunksize=chunksize)
        else:
            sem = None
            results = map(work, feed())
        current = -1
        for k, row in results:
            if sem is not None:
                sem.release()
            if not single and k != current:
                writer = RowWriter(os.path.join(out, shard_name(units[k], fmt)), fmt)
                current = k
            if row is None:
                if not single and writer is not None:
                    writer.close()
                    writer = None
                    current = -1
                continue
            assert writer is not None
            writer.write(row)
            counts["docs"] += 1
            counts["errors"] += row["error"] is not None
            prog(row)
        if single and writer is not None:
            writer.close()
            writer = None
    finally:
        stop.set()  # first, and before terminate(): it waits for the feeding thread
        prog.close()
        if writer is not None:
            writer.abort()
        if pool is not None:
            pool.terminate()
            pool.join()
    return counts


def read_rows(out: str) -> list[Row]:
    """All rows of a scan output (file or shard directory), in input order."""
    import pyarrow.parquet as pq

    p = Path(out)
    files = sorted(f for f in p.rglob("*") if f.suffix in (".parquet", ".jsonl")
                   and not f.name.startswith((".", "_"))) if p.is_dir() else [p]
    rows: list[Row] = []
    for f in files:
        if f.suffix == ".jsonl":
            with open(f, encoding="utf-8") as fh:
                rows += [json.loads(line) for line in fh if line.strip()]
        else:
            rows += pq.read_table(f).to_pylist()
    rows.sort(key=lambda r: (r["input"] or "", r["record"] or 0))
    return rows


# ------------------------------------------------------------- spark engine


def _spark_partition(
    paths: Iterable[str], *, text_column: str, max_bytes: int, restore: bool,
    index_path: str | None,
) -> Iterator[tuple[Any, ...]]:
    names = [name for name, _ in COLUMNS]
    for path in paths:
        for rec in read_unit(path, text_column=text_column, max_bytes=max_bytes):
            row = process_record(rec, restore=restore, index_path=index_path,
                                 max_bytes=max_bytes)
            yield tuple(row[c] for c in names)


def spark_schema() -> Any:
    from pyspark.sql import types as T

    types = {"string": T.StringType(), "int64": T.LongType(), "double": T.DoubleType()}
    return T.StructType([T.StructField(name, types[t], True) for name, t in COLUMNS])


def run_spark(
    inputs: Sequence[str],
    out: str,
    *,
    restore: bool = False,
    index_path: str | None = None,
    text_column: str = "text",
    max_bytes: int = MAX_DOC_BYTES,
    spark: Any = None,
    partitions: int | None = None,
) -> int:
    """Scan with Spark: one task per input file, rows written as Parquet to ``out``.

    Input paths must be readable by every executor (a shared file system, or
    local files in ``local[N]`` mode); so must ``index_path`` (ship it with
    ``--files`` and pass its base name).
    """
    from pyspark.sql import SparkSession

    units = expand_inputs(inputs)
    if not units:
        raise InputError("nothing to scan")
    if spark is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Not under spark-submit, so the session is a local one: its Python
        # workers must run this interpreter (where unspin is installed), not
        # whatever "python3" is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = spark or SparkSession.builder.appName("unspin-scan").getOrCreate()
    fn = partial(_spark_partition, text_column=text_column, max_bytes=max_bytes,
                 restore=restore, index_path=index_path)
    rdd = session.sparkContext.parallelize(units, numSlices=partitions or len(units))
    df = session.createDataFrame(rdd.mapPartitions(fn), schema=spark_schema())
    df.write.mode("overwrite").parquet(out)
    return len(units)


__all__ = [
    "COLUMNS",
    "MAX_DOC_BYTES",
    "expand_inputs",
    "html_to_text",
    "process_record",
    "read_rows",
    "read_unit",
    "run_local",
    "run_spark",
]
