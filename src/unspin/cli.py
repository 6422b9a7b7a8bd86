"""Command-line interface: ``unspin restore|detect|trace|index|group|learn|serve|scan``.

Unix habits: FILE or ``-`` for stdin, results on stdout (UTF-8), messages on
stderr. Exit codes: 0 success, 1 bad input or unwritable output (a one-line
message; a batch reports each bad input, keeps the rest and exits 1 at the
end), 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import io
import json
import signal
import sqlite3
import sys
import threading
from collections.abc import Sequence

from .text import InputError, decode_bytes, shown_name

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2  # argparse also exits 2 on a usage error
MAX_INPUT_BYTES = 20_000_000
SWAP_CHECK_PAIRS = 3  # learn: pairs read by detect for a --copy/--source mix-up
DETECT_SCREEN = False  # see docs/detect.md: screening speed vs verdict changes


class UsageError(Exception):
    """Options that do not go together (argparse cannot say so): exit 2."""


def _read_input(path: str) -> str:
    if path == "-":
        if sys.stdin is None:  # started with standard input closed (<&-)
            raise InputError("cannot read stdin: standard input is closed")
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        name = "stdin"
    else:
        name = shown_name(path)  # a non-UTF-8 file name, escaped for any output
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_INPUT_BYTES + 1)
        except OSError as e:
            raise InputError(f"cannot read {name}: {e.strerror}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{name} is larger than {MAX_INPUT_BYTES // 1_000_000} MB")
    text = decode_bytes(data, name)
    if not text.strip():
        raise InputError(f"{name} is empty")
    return text


def _restorer(args):
    from .lexicon import Lexicon, read_table
    from .restore import Restorer

    lex = Lexicon.default()
    for path in args.lexicon or ():
        lex = lex.with_table(read_table(path), source="u")
    r = Restorer(lexicon=lex)
    if sys.stderr.isatty():
        r.progress = _words_progress(args.command)
    return r


LONG_INPUT_WORDS = 20_000  # about ten seconds of analysis: worth a counter


def _words_progress(label: str):
    """A words counter on stderr for the analysis of one long input."""
    from .scan import Progress

    bar: Progress | None = None

    def tick(done: int, n: int) -> None:
        nonlocal bar
        if n < LONG_INPUT_WORDS:
            return
        if done == 0 or bar is None:
            bar = Progress(True, label, unit="words")
        bar.count(done - bar.n)
        if done == n:
            bar.close()
            bar = None

    return tick


def cmd_restore(args) -> int:
    from .render import render_diff

    text = _read_input(args.file)
    result = _restorer(args).restore(text, confidence=args.confidence)
    out = sys.stdout
    if args.format == "json":
        json.dump(result.to_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif args.format == "diff":
        color = args.color == "always" or (args.color == "auto" and out.isatty())
        out.write(render_diff(text, result.changes, color=color))
    else:
        out.write(result.text)
    if args.verbose:
        # The rate is a share of the spans restore had candidates for, not of words.
        print(
            f"unspin: {len(result.changes)} changes in {result.n_words} words; an estimated "
            f"{result.spin_rate:.0%} of the {result.candidates} spans with candidates are spun",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_detect(args) -> int:
    """Score each input; in a multi-file run a bad file is reported and the rest go on."""
    from .detect import Detector

    detector = Detector(_restorer(args), threshold=args.threshold)
    # Only a locally retrained restore model, or a change to detect's signals
    # without retraining, gets here (a test guards main).
    if detector.stale:
        print("unspin: warning: the detect weights do not fit this restore model or these "
              "detect signals; re-run scripts/train_detect.py", file=sys.stderr)
    files = args.files or ["-"]
    multi = len(files) > 1
    out = sys.stdout
    status = EXIT_OK
    for path in files:
        source = "stdin" if path == "-" else shown_name(path)
        try:
            result = detector.detect(_read_input(path), screen=args.screen)
        except InputError as e:
            if not multi:
                raise
            msg = str(e) if source in str(e) else f"{source}: {e}"
            print(f"unspin: error: {msg}", file=sys.stderr)
            if args.format == "json":
                out.write(json.dumps({"source": source, "error": str(e)}, ensure_ascii=False))
                out.write("\n")
            status = EXIT_INPUT
            continue
        if multi:
            result.source = source
        if args.format == "json":
            # One object for one input; JSON Lines (one object per line) for several.
            json.dump(result.to_dict(), out, ensure_ascii=False, indent=None if multi else 2)
            out.write("\n")
        else:
            out.write(result.summary(top=args.top))
        out.flush()
    return status


# -- index / trace / group / learn ------------------------------------------


def _iter_docs(paths: Sequence[str], bad: list[str] | None = None, qualify: bool = False,
               exclude: Sequence[str] = ()):
    """SourceDocs from the inputs ``unspin scan`` reads (text, HTML, JSONL, WARC,
    Parquet; folders walked), through scan's readers, so both commands take the
    same files by the same rules.

    An unreadable file or record raises InputError, or, with ``bad``, is
    reported on stderr, listed there and skipped: a batch keeps its good
    documents. With ``qualify``, a record of a container is named by its
    file too ("a.jsonl#1"): crawl files number their records from 1 each,
    and two records named "1" are not one document.
    """
    from .index import SourceDoc
    from .scan import expand_inputs, read_unit
    from .text import has_surrogates

    def skip(message: str) -> None:
        if bad is None:
            raise InputError(message)
        print(f"unspin: skipped: {message}", file=sys.stderr)
        bad.append(message)

    problems: list[str] = []
    units = expand_inputs([p for p in paths if p != "-"], problems, exclude)
    for message in problems:
        skip(message)
    if "-" in paths:  # standard input: one plain-text document
        try:
            text = _read_input("-")
        except InputError as e:
            skip(str(e))
        else:
            # Named by its content: two texts piped in one after the other are
            # two documents, and the same text piped twice is one.
            digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            yield SourceDoc(f"stdin:{digest}", text)
    for unit in units:
        for rec in read_unit(unit, max_bytes=MAX_INPUT_BYTES):
            text, where = rec["text"], rec["input"]
            if rec["id"] != where:  # a record of a container (its errors say where)
                where = f"{where}: record {rec['record']} (id {rec['id']})"
            if rec["error"]:
                skip(f"{rec['input']}: {rec['error']}")
            elif not text.strip():
                skip(f"{where}: empty document")
            elif "\x00" in text or has_surrogates(text):  # SQLite stores UTF-8 text only
                skip(f"{where}: not storable text (a NUL or an unpaired surrogate)")
            else:
                doc_id = rec["id"]
                # A loose file's id (its path) and a record's default one
                # ("a.jsonl#3") already name the file.
                if qualify and not doc_id.startswith(rec["input"]):
                    doc_id = f"{rec['input']}#{doc_id}"
                yield SourceDoc(doc_id, text, rec.get("title"), rec["url"], rec["date"])


def _check_paths(paths: Sequence[str]) -> None:
    """Stop before any work when no input exists at all (a typo, not a batch
    with a bad member: those are reported one by one and the rest go on)."""
    import os

    if not any(p == "-" or os.path.exists(p) for p in paths):
        raise InputError(f"cannot read {paths[0]}: no such file or directory")


def _report_skipped(bad: list[str]) -> int:
    """The exit code of a batch: 1 if any input was skipped (each was reported)."""
    if bad:
        what = "input or record was" if len(bad) == 1 else "inputs or records were"
        print(f"unspin: {len(bad)} {what} skipped (reported above)", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


def _open_index(path: str, create: bool = False, classes: bool = False):
    from .index import Index

    return Index(path, classes=classes) if create else Index.existing(path)


def cmd_index_add(args) -> int:
    from .scan import Progress

    _check_paths(args.paths)
    bad: list[str] = []
    with _open_index(args.index, create=True, classes=args.classes) as idx:
        if args.classes and not idx.classes:
            raise InputError(f"{args.index} was built without synonym classes; --classes "
                             "applies when an index is created")
        progress = Progress(sys.stderr.isatty(), "indexing")
        try:
            # An index kept in the folder it indexes is not a document of it.
            own = [args.index + suffix for suffix in ("", "-wal", "-shm", "-journal")]
            report = idx.add(_iter_docs(args.paths, bad, exclude=own), progress=progress.count)
        finally:
            progress.close()
        stats = idx.stats()
    if report.keyless:  # stored, but nothing in them can ever be matched
        names = ", ".join(shown_name(i) for i in report.keyless[:3])
        more = f" and {len(report.keyless) - 3} more" if len(report.keyless) > 3 else ""
        print(f"unspin: warning: {len(report.keyless)} document(s) have no words trace can "
              f"match (another language or script, or no prose): {names}{more}",
              file=sys.stderr)
    print(
        f"unspin: {report.added} added, {report.updated} updated, {report.unchanged} unchanged; "
        f"{stats['docs']} documents in {args.index}",
        file=sys.stderr,
    )
    return _report_skipped(bad)


def cmd_index_stats(args) -> int:
    with _open_index(args.index) as idx:
        stats = idx.stats()
    if args.format == "json":
        json.dump(stats, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for k, v in stats.items():
            print(f"{k}\t{v}")
    return EXIT_OK


def cmd_trace(args) -> int:
    from .trace import trace

    text = _read_input(args.file)
    with _open_index(args.index) as idx:
        result = trace(text, idx, top=args.top)
    out = sys.stdout
    if args.format == "json":
        json.dump(result.to_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        out.write(result.message + "\n")
        for m in result.matches:
            title = f"  {m.title}" if m.title else ""
            out.write(
                f"{m.id}\tcoverage {m.coverage:.0%}\tkey score {m.score:.2f}\t"
                f"{len(m.spans)} spans\t{m.synonyms} thesaurus swaps{title}\n"
            )
    return EXIT_OK


def cmd_group(args) -> int:
    from .scan import Progress
    from .trace import group

    _check_paths(args.files)
    bad: list[str] = []
    docs = [(d.id, d.text) for d in _iter_docs(args.files, bad, qualify=True)]
    if not docs:
        raise InputError("no documents to group")
    progress = Progress(sys.stderr.isatty(), "grouping")
    try:
        clusters = group(docs, progress=progress.count)
    finally:
        progress.close()
    out = sys.stdout
    if args.format == "json":
        json.dump([c.to_dict() for c in clusters], out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        for k, c in enumerate(clusters, 1):
            out.write(f"cluster {k} ({len(c.members)}): {' '.join(c.members)}\n")
            if c.holds:  # a digest or stitched page: copies of several clusters
                out.write(f"  holds copies of several stories: {' '.join(c.holds)}\n")
            for a, b, n in c.fingerprint[:10]:
                out.write(f"  {a} <-> {b}\t{n}\n")
    return _report_skipped(bad)


def cmd_learn(args) -> int:
    from .learn import learn_pairs, learn_site, write_table

    bad: list[str] = []
    if args.site:
        if args.copy or args.source:
            raise UsageError("use either --site or --copy/--source, not both")
        from pathlib import Path

        # The project's own prose is the default reference, but it exists only
        # in a source checkout: an installed package has no corpus/.
        own = Path(__file__).resolve().parents[2] / "corpus" / "own"
        if not args.reference and not own.is_dir():
            raise InputError("learn --site needs --reference PATH: clean prose of the same "
                             "kind as the site's (this installation has no corpus/own)")
        ref_paths = args.reference or [str(own)]
        _check_paths([args.site])
        _check_paths(ref_paths)
        site = [d.text for d in _iter_docs([args.site], bad)]
        reference = [d.text for d in _iter_docs(ref_paths, bad)]
        for what, docs in (("--site", site), ("--reference", reference)):
            if not docs:
                raise InputError(f"nothing learned: {what} has no usable text")
        entries = learn_site(site, reference)
        if not entries:
            raise InputError("nothing learned: no word of the site's is both unusual "
                             "against the reference and a thesaurus swap")
    else:
        if not args.copy or not args.source or len(args.copy) != len(args.source):
            raise UsageError("learn needs --copy and --source in pairs (or --site DIR)")
        pairs = [(_read_input(c), _read_input(s)) for c, s in zip(args.copy, args.source,
                                                                   strict=True)]
        _warn_if_swapped(pairs, args.copy, args.source)
        skipped: list[tuple[int, float]] = []
        entries = learn_pairs(pairs, min_count=args.min_count, skipped=skipped)
        for k, coverage in skipped:  # not copy and source, or swapped too much to align
            print(f"unspin: skipped: {shown_name(args.copy[k])} and "
                  f"{shown_name(args.source[k])}: their alignment explains {coverage:.0%} "
                  f"of the copy (under 50 %): not a copy and its source?", file=sys.stderr)
            bad.append(args.copy[k])
        if not entries:
            why = ("no pair aligns as a copy and its source" if len(skipped) == len(pairs)
                   else "the pairs share no substitutions")
            raise InputError(f"nothing learned: {why}")
    out = None if args.out == "-" else args.out  # "-" is stdout, as for any Unix tool
    text = write_table(entries, out)
    if out is None:
        sys.stdout.write(text)
    print(f"unspin: learned {len(entries)} substitutions", file=sys.stderr)
    return _report_skipped(bad)


def _warn_if_swapped(pairs: list[tuple[str, str]], copies: list[str], sources: list[str]) -> None:
    """Warn when detect reads a pair's source as spun and its copy as clean:
    the files were probably given the wrong way round, and the table
    learned would turn clean words into spun ones. Only the first few pairs
    are read (two analyses each): flags given the wrong way round are so for
    every pair, and a large batch should not take twice as long."""
    from .detect import default_detector

    detector = default_detector()
    checked = list(zip(pairs, copies, sources, strict=True))[:SWAP_CHECK_PAIRS]
    for (copy, source), c, s in checked:
        try:
            pc, ps = detector.detect(copy), detector.detect(source)
        except InputError:
            continue  # learn_pairs judges the pair on its own terms
        if ps.verdict == "spun" and pc.verdict == "clean":
            print(f"unspin: warning: {shown_name(s)} reads as spun (P={ps.spun_probability:.2f}) "
                  f"and {shown_name(c)} as clean (P={pc.spun_probability:.2f}): are --copy and "
                  "--source the right way round?", file=sys.stderr)


def cmd_serve(args) -> int:
    """Run the web page and JSON API (see docs/serve.md); localhost unless --host says otherwise."""
    try:
        import uvicorn

        from .web import create_app
    except ImportError as e:
        raise InputError(f"serve needs fastapi and uvicorn ({e.name} is missing)") from None
    _check_can_listen(args.host, args.port)  # before the models load, not after
    # Unset options keep the server's own defaults (web.DEFAULT_MAX_BYTES, ...).
    limits = {k: v for k, v in (("max_bytes", args.max_bytes), ("timeout", args.timeout))
              if v is not None}
    app = create_app(args.index, **limits)
    print(f"unspin: serving on http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _check_can_listen(host: str, port: int) -> None:
    """One-line error if ``host:port`` is taken or names no address we have.

    Every address of ``host`` is tried, as the server binds them: an address
    family the machine lacks (IPv6 switched off) is skipped, a port in use
    on any of them is an error.
    """
    import socket

    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except OSError as e:
        raise InputError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    bound, last = 0, None
    for family, kind, proto, _, address in infos:
        try:
            with socket.socket(family, kind, proto) as sock:
                # As asyncio binds for uvicorn: address reuse, IPv6 apart from IPv4.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                bound += 1
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise InputError(f"cannot listen on {host}:{port}: {e.strerror}") from None
            last = e
    if not bound:
        why = last.strerror if last is not None else "no address"
        raise InputError(f"cannot listen on {host}:{port}: {why}")


def cmd_scan(args) -> int:
    """Score many documents (text, HTML, JSONL[.gz], WARC, Parquet) into Parquet/JSONL rows."""

    from .scan import MAX_DOC_BYTES, expand_inputs, run_local, run_spark

    if args.out == "-" or args.out.lower().endswith((".gz", ".json", ".csv", ".txt")):
        raise UsageError("--out is a folder of shards, or one .jsonl or .parquet file")
    named = next((f for f in ("jsonl", "parquet") if args.out.lower().endswith("." + f)), None)
    if args.format and named and args.format != named:  # which one was meant?
        raise UsageError(f"--format {args.format} does not match --out {args.out}")
    if args.engine == "spark" and "jsonl" in (args.format, named):
        raise UsageError("the spark engine writes Parquet only (--format parquet)")
    max_bytes = MAX_DOC_BYTES if args.max_bytes is None else args.max_bytes
    # A missing input or an empty folder is reported and the rest scanned;
    # the exit code then says that not everything asked for was read.
    if "-" in args.inputs:
        raise UsageError("scan reads files and folders, not standard input")
    _check_paths(args.inputs)
    bad: list[str] = []
    # run_local and run_spark take these files (never the output's own shards)
    inputs = expand_inputs(args.inputs, bad, exclude=[args.out])
    for message in bad:
        print(f"unspin: skipped: {message}", file=sys.stderr)
    if not inputs:
        return _report_skipped(bad)
    if args.engine == "spark":
        try:
            n = run_spark(inputs, args.out, restore=args.restore, index_path=args.index,
                          text_column=args.text_column, max_bytes=max_bytes)
        except ImportError as e:
            raise InputError(f"--engine spark needs pyspark ({e.name} is missing)") from None
        print(f"unspin: scanned {n} inputs into {args.out}", file=sys.stderr)
        return _report_skipped(bad)
    if args.index:  # fail now, not once per record
        from .index import Index

        with Index.existing(args.index) as idx:
            if not idx.n_docs:
                raise InputError(f"the index {args.index} holds no documents: "
                                 "add some with unspin index add")
    counts = run_local(
        inputs, args.out, fmt=args.format, jobs=args.jobs, restore=args.restore,
        index_path=args.index, text_column=args.text_column, max_bytes=max_bytes,
        progress=args.progress or sys.stderr.isatty(),
    )
    print(
        f"unspin: {counts['docs']} rows ({counts['errors']} errors) from {counts['units']} "
        f"inputs; {counts['skipped']} inputs skipped (shard exists) -> {args.out}",
        file=sys.stderr,
    )
    return _report_skipped(bad)


def _float_in(lo: float, hi: float, *, above: bool = False):
    """An argparse type: a number in [lo, hi] (``above``: in (lo, hi))."""

    def parse(value: str) -> float:
        try:
            v = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if not ((lo < v if above else lo <= v) and (v < hi if above else v <= hi)):
            bound = f"between {lo:g} and {hi:g}" if hi < float("inf") else (
                f"more than {lo:g}" if above else f"at least {lo:g}")
            raise argparse.ArgumentTypeError(f"must be {bound}")
        return v

    return parse


_confidence = _float_in(0.0, 1.0)
_seconds = _float_in(0.0, float("inf"), above=True)


def _int_in(lo: int, hi: int | None = None):
    """An argparse type: an integer in [lo, hi]."""

    def parse(value: str) -> int:
        try:
            v = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(
                f"must be at least {lo}" if hi is None else f"must be between {lo} and {hi}")
        return v

    return parse


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    ap = argparse.ArgumentParser(
        prog="unspin",
        description="Find text produced by article spinners and restore the original wording.",
    )
    ap.add_argument("--version", action="version", version=f"unspin {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    r = sub.add_parser("restore", help="restore the original wording of spun text")
    r.add_argument("file", nargs="?", default="-", help="text file, or - for stdin (default)")
    r.add_argument("--format", choices=("text", "json", "diff"), default="text")
    r.add_argument(
        "--confidence",
        type=_confidence,
        default=None,
        help="minimum confidence for a change (0-1; default: the calibrated precision-first "
        "threshold)",
    )
    r.add_argument(
        "--lexicon",
        action="append",
        metavar="FILE",
        help="extra spun->original table (CSV/TSV/JSON, e.g. from `unspin learn`); repeatable",
    )
    r.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    r.add_argument("-v", "--verbose", action="store_true", help="print a summary on stderr")
    r.set_defaults(func=cmd_restore)

    d = sub.add_parser("detect", help="score how likely text was spun, with the evidence")
    d.add_argument("files", nargs="*", metavar="FILE",
                   help="text files, or - for stdin (default: stdin); with --format json, "
                        "one object per line for several")
    d.add_argument("--format", choices=("text", "json"), default="text")
    d.add_argument(
        "--lexicon",
        action="append",
        metavar="FILE",
        help="listed tortured phrases / spinner table (spun,original[,prob]); repeatable",
    )
    d.add_argument("--threshold", type=_confidence, default=None,
                   help="P(spun) for the 'spun' verdict (default: calibrated, <=1%% FPR)")
    d.add_argument("--screen", action=argparse.BooleanOptionalAction, default=DETECT_SCREEN,
                   help="dismiss clearly clean documents with a quick pass first")
    d.add_argument("--top", type=_int_in(0), default=5, help="findings shown in text format")
    d.set_defaults(func=cmd_detect)

    ix = sub.add_parser("index", help="build or inspect a source index for `trace`")
    ixs = ix.add_subparsers(dest="index_command", required=True)
    ia = ixs.add_parser("add", help="add documents: the files `scan` reads (text, HTML, JSONL with "
                        "id/text/title/url/date, WARC, Parquet) or folders of them")
    ia.add_argument("paths", nargs="+", metavar="PATH")
    ia.add_argument("--index", required=True, metavar="FILE", help="index file (created if new)")
    ia.add_argument("--classes", action="store_true",
                    help="also key synonym-class shingles (new index only)")
    ia.set_defaults(func=cmd_index_add)
    ist = ixs.add_parser("stats", help="counts and sizes of an index")
    ist.add_argument("--index", required=True, metavar="FILE")
    ist.add_argument("--format", choices=("text", "json"), default="text")
    ist.set_defaults(func=cmd_index_stats)

    t = sub.add_parser("trace", help="find the indexed source of a (spun) text")
    t.add_argument("file", nargs="?", default="-", help="text file, or - for stdin (default)")
    t.add_argument("--index", required=True, metavar="FILE")
    t.add_argument("--top", type=_int_in(1), default=5, help="sources to report")
    t.add_argument("--format", choices=("text", "json"), default="text")
    t.set_defaults(func=cmd_trace)

    g = sub.add_parser("group", help="cluster documents that share a source")
    g.add_argument("files", nargs="+", metavar="FILE",
                   help="the files `scan` reads (text, HTML, JSONL, WARC, Parquet) or folders")
    g.add_argument("--format", choices=("text", "json"), default="text")
    g.set_defaults(func=cmd_group)

    le = sub.add_parser("learn", help="learn a spinner table (spun -> original) as TSV")
    le.add_argument("--copy", action="append", metavar="FILE", help="spun copy; repeatable")
    le.add_argument("--source", action="append", metavar="FILE",
                    help="its source, in the same order as --copy")
    le.add_argument("--site", metavar="DIR", help="source-free mode: many pages of one site")
    le.add_argument("--reference", action="append", metavar="PATH",
                    help="clean reference prose for --site (default: corpus/own in a checkout)")
    le.add_argument("--out", metavar="FILE", help="write the table here (default: stdout)")
    le.add_argument("--min-count", type=_int_in(1), default=1, metavar="N",
                    help="pair mode: keep substitutions seen at least N times (2 is the "
                         "precise setting, docs/trace.md)")
    le.set_defaults(func=cmd_learn)

    sv = sub.add_parser("serve", help="web page and JSON API on localhost (needs fastapi, uvicorn)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    sv.add_argument("--port", type=_int_in(0, 65535), default=8000)
    sv.add_argument("--index", metavar="FILE", help="source index; enables /api/trace")
    sv.add_argument("--max-bytes", type=_int_in(1),
                    help="largest request body in bytes (default 200,000)")
    sv.add_argument("--timeout", type=_seconds, help="seconds allowed per request (default 20)")
    sv.set_defaults(func=cmd_serve)
    sc = sub.add_parser("scan", help="score many documents into Parquet/JSONL (local or Spark)")
    sc.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="text/HTML files, folders, JSONL[.gz], WARC[.gz], Parquet")
    sc.add_argument("--out", required=True, metavar="OUT",
                    help="a folder of per-input shards (resumable), or one .parquet/.jsonl file")
    sc.add_argument("--engine", choices=("local", "spark"), default="local")
    sc.add_argument("--index", metavar="FILE", help="source index: adds top_source/top_score")
    sc.add_argument("--restore", action="store_true", help="add the restored text to each row")
    sc.add_argument("--jobs", type=_int_in(1), default=1, help="worker processes (local engine)")
    sc.add_argument("--format", choices=("parquet", "jsonl"), default=None,
                    help="output format (default: from OUT's suffix, else parquet)")
    sc.add_argument("--text-column", default="text", help="text column of Parquet inputs")
    sc.add_argument("--max-bytes", type=_int_in(1),
                    help="larger documents become error rows (default 1,000,000 bytes)")
    sc.add_argument("--progress", action="store_true",
                    help="docs/s on stderr even when it is not a terminal")
    sc.set_defaults(func=cmd_scan)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if sys.stdout is None:  # started with standard output closed (>&-)
        sys.stdout = _ClosedOutput()
    # Input is UTF-8 and restore's promise is byte-identical text, so the
    # output is UTF-8 whatever the locale says (a C locale would fail on "’").
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.encoding.lower() != "utf-8":
        sys.stdout.reconfigure(encoding="utf-8")
    # A kill (SIGTERM) unwinds like Ctrl-C, so that a batch removes its
    # half-written temporary files, and is then passed on to the handler
    # that was there before (by default the process ends by the signal, as
    # a service manager expects). An ignored SIGTERM stays ignored.
    previous = None
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
            previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, so that a full disk is reported like any error
        return code
    except InputError as e:
        print(f"unspin: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except UsageError as e:
        print(f"unspin {args.command}: usage error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("unspin: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("unspin: terminated", file=sys.stderr)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            previous = None
            signal.raise_signal(signal.SIGTERM)  # ends the process, or runs a host's handler
        return 128 + signal.SIGTERM
    except sqlite3.DatabaseError as e:  # an index damaged after it was opened
        print(f"unspin: error: the index is damaged or unreadable ({e})", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:  # the reader went away (| head): not an error
        _silence_stdout()
        return EXIT_OK
    except OSError as e:  # mostly output we could not write: a full disk, a bad --out
        where = f"{e.filename}: " if e.filename else ""
        print(f"unspin: error: {where}{e.strerror or e}", file=sys.stderr)
        _silence_stdout()
        return EXIT_INPUT
    finally:
        if previous is not None:  # main() may run inside another program (tests)
            signal.signal(signal.SIGTERM, previous)


class _ClosedOutput(io.TextIOBase):
    """Standard output when the process started without one: a command that
    writes its results there fails with one line (``OSError`` below), one
    that writes only files (``--out``, ``index add``) runs as usual."""

    def write(self, s: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass


class _Terminated(BaseException):
    """SIGTERM, raised where the process is (a BaseException, as KeyboardInterrupt)."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the exit-time flush of unwritable output stays quiet."""
    import os

    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
