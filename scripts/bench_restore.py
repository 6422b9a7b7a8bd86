"""Benchmark restore: words/s on one core, peak memory, CLI start-up.

    python scripts/bench_restore.py [--docs corpus/own] [--repeat 2]
    python scripts/bench_restore.py --check changes.json
    python scripts/bench_restore.py --lm-bound   # + LM queries per word, cold

Prints figures; docs/benchmarks.md records them. ``--check FILE`` instead
dumps every decision on examples/*.txt and the benchmark documents to FILE, or,
when FILE exists, compares against it: a speed-up must leave it unchanged.
Uses the project's own prose (spun with the evaluation spinner when it is
importable) so it runs anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(texts: list[str], repeat: int) -> int:
    n_words = sum(len(t.split()) for t in texts)
    t0 = time.perf_counter()
    import unspin
    from unspin.restore import default_restorer

    default_restorer()
    print(f"import + model load: {time.perf_counter() - t0:.2f} s, RSS {rss_mb():.0f} MB")
    for r in range(repeat):
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        for t in texts:
            unspin.restore(t)
        dt, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        label = "cold caches" if r == 0 else "warm caches"
        print(
            f"restore pass {r + 1} ({label}): {n_words / dt:,.0f} words/s wall, "
            f"{n_words / cpu:,.0f} words/s per CPU-second"
        )
    print(f"peak RSS: {rss_mb():.0f} MB")
    return 0


def lm_bound(texts: list[str]) -> None:
    """How fast restore could be if the language model were all it did.

    A fresh model (empty caches) restores ``texts`` once, as a crawl meets
    them, recording each query it puts to pocketsphinx; the same queries are
    then timed on their own. Queries per word over queries per second is a
    ceiling on cold-cache words/s that no change to the rest of restore can
    lift.
    """
    from unspin.lm import LanguageModel
    from unspin.restore import Restorer

    lm = LanguageModel(LanguageModel.default()._path)  # its own caches, all empty
    asked: list[list[str]] = []
    raw = lm._prob

    def recording(words: list[str]) -> int:
        asked.append(words)
        return raw(words)

    lm._prob = recording
    r = Restorer(lm=lm)
    cpu0 = time.process_time()
    for t in texts:
        r.restore(t)
    cpu = time.process_time() - cpu0
    n_words = sum(len(t.split()) for t in texts)
    lm._prob = raw
    t0 = time.process_time()
    for words in asked:
        raw(words)
    per_s = len(asked) / (time.process_time() - t0)
    per_word = len(asked) / n_words
    print(f"fresh model: {n_words / cpu:,.0f} words/CPU-s; {per_word:.1f} LM queries per word, "
          f"answered at {per_s:,.0f}/s: the LM alone caps a cold pass at "
          f"{per_s / per_word:,.0f} words/s")


def decisions(texts: list[str]) -> list[dict]:
    """Every change (confidence to 6 decimals), the spin rate and each span's logits."""
    import importlib

    # The package re-exports the function restore(), which shadows the module.
    r = importlib.import_module("unspin.restore")
    seen: list[float] = []
    change = r._change

    def spy(doc, s):  # Change rounds confidence to 4 decimals; record it finer
        seen.append(round(s.confidence, 6))
        return change(doc, s)

    r._change = spy
    out = []
    try:
        for t in texts:
            seen.clear()
            res = r.restore(t)
            out.append({
                "changes": [[c.start, c.end, c.restored] for c in res.changes],
                "confidences": list(seen),
                "spin_rate": round(res.spin_rate, 9),
                "spans": [
                    [s.i, s.j, [[" ".join(c.words), round(c.logit, 9)] for c in s.candidates]]
                    for s in res.spans
                ],
            })
    finally:
        r._change = change
    return out


def check(path: Path, texts: list[str]) -> int:
    got = decisions(texts)
    if not path.exists():
        path.write_text(json.dumps(got, indent=0))
        print(f"wrote {len(got)} documents' decisions to {path}")
        return 0
    want = json.loads(path.read_text())
    bad = [k for k, (a, b) in enumerate(zip(want, got, strict=True)) if a != b]
    print(f"{len(got) - len(bad)}/{len(got)} documents identical", f"; differ: {bad}" * bool(bad))
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=ROOT / "corpus" / "own")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--check", type=Path, metavar="FILE", help="dump or compare decisions")
    ap.add_argument("--lm-bound", action="store_true",
                    help="also count LM queries per word with cold caches, and time them")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        code = measure(json.loads(Path(args.measure).read_text()), args.repeat)
        if args.lm_bound:
            lm_bound(json.loads(Path(args.measure).read_text()))
        return code

    texts = [p.read_text(encoding="utf-8") for p in sorted(args.docs.glob("*.txt"))]
    try:
        sys.path.insert(0, str(ROOT / "eval"))
        from spinner import SpinTable, load_dictionary, spin

        d = load_dictionary("mythes")
        table = SpinTable.build(d, 7)
        texts = [spin(t, 0.25, d, seed=i, table=table).text for i, t in enumerate(texts)]
        kind = "spun at 25% (mythes spinner)"
    except Exception as e:  # the spinner needs build extras; clean text still benchmarks
        kind = f"clean ({type(e).__name__}: spinner unavailable)"
    if args.check:
        examples = sorted((ROOT / "examples").glob("*.txt"))
        return check(args.check, [p.read_text(encoding="utf-8") for p in examples] + texts)
    n_words = sum(len(t.split()) for t in texts)
    print(f"documents: {len(texts)} ({kind}), {n_words} words")
    # Measure in a fresh process so the spinner's own data is not counted.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
    subprocess.run(
        [sys.executable, __file__, "--measure", f.name, "--repeat", str(args.repeat)]
        + ["--lm-bound"] * args.lm_bound, check=True
    )
    os.unlink(f.name)

    example = ROOT / "examples" / "spun_news.txt"
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "unspin.cli", "restore", str(example)],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - t0)
    print(f"CLI restore on the example (start-up included): best {min(times):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
