"""Measure unspin.restore on spun news, against the spinner's ground truth.

    python eval/evaluate_restore.py --corpus bbc --split dev --dict roget \\
        --rate 0.15 0.25 0.30 --docs 100 [--confidence 0.9] [--json run.json]
    python eval/evaluate_restore.py --identity ...   # harness self-test, no engine needed

Every document is spun with a per-document seed by one shared SpinTable (one
"site"), restored, and scored:

* fixed     share of swaps restored exactly: a change with the swap's span whose
            restored text equals the original (case-insensitive);
* touched   share of swaps overlapped by any change;
* prec      share of changes that are exact fixes;
* damage    changes overlapping no swap, per 1000 untouched words;
* clean     changes made to the original, unspun documents, per 1000 words;
* words/s   restore speed on the spun documents.

The corpora are research-only: JSON output (which quotes snippets) may only be
written under eval/out/ (gitignored) or outside the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from spinner import SpinResult, SpinTable, count_words, load_dictionary, spin

import corpus

CONTEXT = 30  # characters of context shown around an example


class Change(Protocol):
    start: int
    end: int
    spun: str
    restored: str
    confidence: float
    evidence: Any


class Restored(Protocol):
    text: str
    changes: Sequence[Change]


Restorer = Callable[..., Restored]


@dataclass
class _IdentityResult:
    text: str
    changes: list[Change] = field(default_factory=list)


def identity_restore(text: str, confidence: float | None = None) -> _IdentityResult:
    """Stand-in engine that changes nothing: checks the harness end to end."""
    return _IdentityResult(text)


def get_restorer(identity: bool, model: str | None = None) -> Restorer:
    if identity:
        return identity_restore
    try:
        import unspin
    except ImportError as e:
        sys.exit(f"cannot import unspin ({e}); run with --identity to test the harness alone")
    return unspin.restore if model is None else engine(model).restore


def engine(model: str | None = None):
    """A Restorer with the weights in ``model`` (scripts/train_restore.py --out
    FILE), or the shipped ones; the shipped file is never touched."""
    from unspin.restore import Params
    from unspin.restore import Restorer as Engine

    return Engine(params=Params.load(Path(model)) if model else None)


def doc_seed(seed: int, doc_id: str) -> int:
    # Independent of the rate, so a document's swaps at 0.15 are (mostly) among its
    # swaps at 0.30, and results are comparable across rates.
    return zlib.crc32(f"{seed}:{doc_id}".encode())


def add_site_args(ap: argparse.ArgumentParser) -> None:
    """The options of a one-rate, one-site run (sweep_decode.py, decision_gap.py)."""
    ap.add_argument("--corpus", default="bbc", choices=sorted(corpus.FILES))
    ap.add_argument("--split", default="dev", choices=corpus.SPLITS)
    ap.add_argument("--dict", default="none+habits")
    ap.add_argument("--rate", type=float, default=0.25)
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", help="restore weights to use instead of the shipped model.json")


def site_spins(args: argparse.Namespace) -> list[tuple[corpus.Doc, SpinResult]]:
    """Each document of the run with its spin by one site's table (add_site_args)."""
    docs = corpus.load(args.corpus, args.split)[: args.docs]
    dictionary = load_dictionary(args.dict)
    site = SpinTable.build(dictionary, args.seed)
    return [(d, spin(d.text, args.rate, dictionary, seed=doc_seed(args.seed, d.id), table=site))
            for d in docs]


def _overlaps(c0: int, c1: int, s0: int, s1: int) -> bool:
    if c0 == c1:  # a pure insertion touches a swap it sits in or against
        return s0 <= c0 <= s1
    return c0 < s1 and s0 < c1


def _snippet(text: str, start: int, end: int, label: str) -> str:
    left = text[max(0, start - CONTEXT) : start].replace("\n", " ")
    right = text[end : end + CONTEXT].replace("\n", " ")
    return f"...{left}[{label}]{right}..."


@dataclass
class Tally:
    """Counts for one (setting, rate) run, or for the clean documents."""

    docs: int = 0
    words: int = 0
    untouched_words: int = 0
    swaps: int = 0
    fixed: int = 0
    touched: int = 0
    changes: int = 0
    damage: int = 0
    bad_offsets: int = 0  # changes whose .spun is not the input text at [start:end]
    seconds: float = 0.0
    missed: Counter[tuple[str, str]] = field(default_factory=Counter)
    damaged: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def example(
        self,
        key: tuple[str, str],
        text: str,
        start: int,
        end: int,
        label: str,
        evidence: Any = None,
    ) -> None:
        if key not in self.examples:
            note = f"  evidence: {str(evidence)[:100]}" if evidence is not None else ""
            self.examples[key] = _snippet(text, start, end, label) + note

    def metrics(self) -> dict[str, float]:
        def share(n: int, d: int) -> float:
            return round(100.0 * n / d, 2) if d else 0.0

        return {
            "docs": self.docs,
            "words": self.words,
            "swaps": self.swaps,
            "spin_pct": share(self.swaps, self.words),
            "fixed_pct": share(self.fixed, self.swaps),
            "touched_pct": share(self.touched, self.swaps),
            "precision_pct": share(self.fixed, self.changes),
            "changes": self.changes,
            "damage_per_1000": round(1000.0 * self.damage / max(self.untouched_words, 1), 3),
            "bad_offsets": self.bad_offsets,
            "words_per_s": round(self.words / self.seconds) if self.seconds else 0,
        }


def _check_offsets(tally: Tally, text: str, changes: Sequence[Change]) -> None:
    tally.bad_offsets += sum(1 for c in changes if text[c.start : c.end] != c.spun)


def score_spun(tally: Tally, res: SpinResult, out: Restored) -> None:
    text, changes = res.text, sorted(out.changes, key=lambda c: (c.start, c.end))
    _check_offsets(tally, text, changes)
    tally.docs += 1
    tally.words += res.n_words
    tally.untouched_words += res.untouched_words
    tally.swaps += len(res.swaps)
    tally.changes += len(changes)
    exact = {(c.start, c.end): c for c in changes}
    for s in res.swaps:
        c = exact.get((s.start, s.end))
        want = s.original.lower()
        if c is None and text[s.end : s.end + 2] in ("'s", "’s"):
            # A possessive is restored whole ("nation's" -> "country's"),
            # while the swap covers the word only.
            c = exact.get((s.start, s.end + 2))
            want += text[s.end : s.end + 2]
        if c is not None and c.restored.lower() == want:
            tally.fixed += 1
        else:
            key = (s.spun.lower(), s.original.lower())
            tally.missed[key] += 1
            got = f" (got {c.restored!r})" if c is not None else ""
            tally.example(key, text, s.start, s.end, f"{s.spun}->{s.original}{got}")
    # Both lists are sorted by start, so one sweep finds every overlap.
    j = 0
    hit_swaps: set[int] = set()
    for c in changes:
        while j < len(res.swaps) and res.swaps[j].end < c.start:
            j += 1
        k, hit = j, False
        while k < len(res.swaps) and res.swaps[k].start <= c.end:
            if _overlaps(c.start, c.end, res.swaps[k].start, res.swaps[k].end):
                hit = True
                hit_swaps.add(k)
            k += 1
        if not hit:
            tally.damage += 1
            key = (c.spun.lower(), c.restored.lower())
            tally.damaged[key] += 1
            tally.example(key, text, c.start, c.end, f"{c.spun}->{c.restored}", c.evidence)
    tally.touched += len(hit_swaps)


def score_clean(tally: Tally, text: str, n_words: int, out: Restored) -> None:
    _check_offsets(tally, text, out.changes)
    tally.docs += 1
    tally.words += n_words
    tally.untouched_words += n_words
    tally.changes += len(out.changes)
    tally.damage += len(out.changes)
    for c in out.changes:
        key = (c.spun.lower(), c.restored.lower())
        tally.damaged[key] += 1
        tally.example(key, text, c.start, c.end, f"{c.spun}->{c.restored}", c.evidence)


def _restore(restore: Restorer, text: str, kwargs: dict[str, Any], what: str) -> Restored:
    try:
        return restore(text, **kwargs)
    except Exception as e:
        raise RuntimeError(f"restore failed on {what} with {kwargs or 'defaults'}") from e


def _top(counter: Counter[tuple[str, str]], tally: Tally, n: int) -> list[dict[str, Any]]:
    return [
        {"from": a, "to": b, "count": k, "example": tally.examples.get((a, b), "")}
        for (a, b), k in counter.most_common(n)
    ]


def _print_top(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    if not rows:
        print("  (none)")
    for r in rows:
        print(f"  {r['count']:5d}  {r['from']} -> {r['to']}")
        print(f"         {r['example']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="bbc", choices=sorted(corpus.FILES))
    ap.add_argument("--split", default="dev", choices=corpus.SPLITS)
    ap.add_argument("--dict", default="roget", )
    ap.add_argument("--rate", type=float, nargs="+", default=[0.15, 0.25, 0.30])
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0, help="spin table (site) and document seeds")
    ap.add_argument(
        "--table",
        choices=("site", "doc"),
        default="site",
        help="one spin table for all documents (one site), or one per document",
    )
    ap.add_argument("--confidence", type=float, help="also run restore(text, confidence=X)")
    ap.add_argument("--top", type=int, default=15, help="how many missed / damage items to list")
    ap.add_argument("--json", help="write metrics here (bare names go to eval/out/)")
    ap.add_argument("--identity", action="store_true", help="stand-in engine: no changes")
    ap.add_argument("--model", help="restore weights to use instead of the shipped model.json")
    args = ap.parse_args(argv)

    json_path = corpus.out_path(args.json) if args.json else None
    if not corpus.available(args.corpus):
        sys.exit(f"corpus {args.corpus!r} not found under {corpus.CORPUS_DIR}")
    restore = get_restorer(args.identity, args.model)
    docs = corpus.load(args.corpus, args.split)[: args.docs]
    dictionary = load_dictionary(args.dict)
    site = SpinTable.build(dictionary, args.seed)
    settings: list[tuple[str, dict[str, Any]]] = [("default", {})]
    if args.confidence is not None:
        settings.append((f"confidence={args.confidence:g}", {"confidence": args.confidence}))
    engine = "identity" if args.identity else "unspin"
    print(
        f"# {engine} on {args.corpus}/{args.split}, {len(docs)} docs, dictionary "
        f"{args.dict}, table per {args.table}, seed {args.seed}"
    )

    # Spin once per rate; every setting restores the same spun documents.
    spun: dict[float, list[tuple[str, SpinResult]]] = {}
    t0 = time.perf_counter()
    n_spun = 0
    for rate in args.rate:
        spun[rate] = []
        for doc in docs:
            seed = doc_seed(args.seed, doc.id)
            table = site if args.table == "site" else None
            res = spin(doc.text, rate, dictionary, seed=seed, table=table)
            spun[rate].append((doc.id, res))
            n_spun += res.n_words
    print(f"# spun {n_spun} words in {time.perf_counter() - t0:.1f}s")

    report: dict[str, Any] = {"args": vars(args), "runs": []}
    for label, kwargs in settings:
        clean = Tally()
        for doc in docs:
            t = time.perf_counter()
            out = _restore(restore, doc.text, kwargs, f"clean doc {doc.id}")
            clean.seconds += time.perf_counter() - t
            score_clean(clean, doc.text, count_words(doc.text), out)
        cm = clean.metrics()

        print(f"\n## {label}")
        header = (
            f"{'rate':>5} {'docs':>5} {'words':>7} {'swaps':>6} {'spun%':>6} {'fixed%':>7} "
            f"{'touch%':>7} {'prec%':>6} {'dmg/1k':>7} {'clean/1k':>8} {'words/s':>8}"
        )
        print(header)
        print("-" * len(header))
        total = Tally()
        for rate in args.rate:
            tally = Tally()
            for doc_id, res in spun[rate]:
                t = time.perf_counter()
                out = _restore(
                    restore,
                    res.text,
                    kwargs,
                    f"doc {doc_id} spun at rate {rate} (seed {args.seed})",
                )
                tally.seconds += time.perf_counter() - t
                score_spun(tally, res, out)
            m = tally.metrics()
            print(
                f"{rate:5.2f} {m['docs']:5d} {m['words']:7d} {m['swaps']:6d} "
                f"{m['spin_pct']:6.1f} {m['fixed_pct']:7.1f} {m['touched_pct']:7.1f} "
                f"{m['precision_pct']:6.1f} {m['damage_per_1000']:7.2f} "
                f"{cm['damage_per_1000']:8.2f} {m['words_per_s']:8d}"
            )
            report["runs"].append(
                {
                    "setting": label,
                    "rate": rate,
                    **m,
                    "missed": _top(tally.missed, tally, args.top),
                    "damage": _top(tally.damaged, tally, args.top),
                }
            )
            total.missed.update(tally.missed)
            total.damaged.update(tally.damaged)
            for key, ex in tally.examples.items():
                total.examples.setdefault(key, ex)
            total.bad_offsets += tally.bad_offsets
        bad = total.bad_offsets + clean.bad_offsets
        if bad:
            print(f"WARNING: {bad} changes whose .spun differs from the input at [start:end]")
        report["runs"].append(
            {
                "setting": label,
                "rate": 0.0,
                "clean": True,
                **cm,
                "damage": _top(clean.damaged, clean, args.top),
            }
        )
        _print_top(
            f"Most common missed swaps (spun -> original), all rates, {label}:",
            _top(total.missed, total, args.top),
        )
        _print_top(
            f"Most common damage changes (spun -> restored), all rates, {label}:",
            _top(total.damaged, total, args.top),
        )
        _print_top(
            f"Most common changes to clean text, {label}:", _top(clean.damaged, clean, args.top)
        )

    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1, default=str))
        print(f"\n# wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
