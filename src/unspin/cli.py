"""Command-line interface: ``unspin restore``.

Unix habits: FILE or ``-`` for stdin, results on stdout, messages on stderr.
Exit codes: 0 success, 1 bad input (one-line message), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .text import InputError, decode_bytes

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2
MAX_INPUT_BYTES = 20_000_000
DETECT_SCREEN = False  # see docs/detect.md: screening speed vs verdict changes


def _read_input(path: str) -> str:
    if path == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        name = "stdin"
    else:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_INPUT_BYTES + 1)
        except OSError as e:
            raise InputError(f"cannot read {path}: {e.strerror}") from None
        name = path
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
    return Restorer(lexicon=lex)


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
        print(
            f"unspin: {len(result.changes)} changes, estimated spin rate "
            f"{result.spin_rate:.0%} of {result.candidates} candidate spans",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_detect(args) -> int:
    """Score each input; in a multi-file run a bad file is reported and the rest go on."""
    from .detect import Detector

    detector = Detector(_restorer(args), threshold=args.threshold)
    files = args.files or ["-"]
    multi = len(files) > 1
    out = sys.stdout
    status = EXIT_OK
    for path in files:
        source = "stdin" if path == "-" else path
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


def _confidence(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("confidence must be between 0 and 1")
    return v


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
                   help="text files, or - for stdin (default: stdin); several -> JSON Lines")
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
    d.add_argument("--top", type=int, default=5, help="findings shown in text format")
    d.set_defaults(func=cmd_detect)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except InputError as e:
        print(f"unspin: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("unspin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
