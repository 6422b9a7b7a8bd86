"""Benchmark restore: words/s on one core, peak memory, CLI start-up.

    python scripts/bench_restore.py [--docs corpus/own] [--repeat 2]

Prints figures; docs/benchmarks.md records them. Uses the project's own prose
(spun with the evaluation spinner when it is importable) so it runs anywhere.
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=ROOT / "corpus" / "own")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        return measure(json.loads(Path(args.measure).read_text()), args.repeat)

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
    n_words = sum(len(t.split()) for t in texts)
    print(f"documents: {len(texts)} ({kind}), {n_words} words")
    # Measure in a fresh process so the spinner's own data is not counted.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
    subprocess.run(
        [sys.executable, __file__, "--measure", f.name, "--repeat", str(args.repeat)], check=True
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
