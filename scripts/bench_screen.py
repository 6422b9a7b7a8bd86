"""Speed of detect's screening pass (``unspin detect --screen``), the crawl fast path.

    python scripts/bench_screen.py [--repeat 7]

The documents are corpus/own's texts (CC0, news-length, about 500 words). The
first pass over them is *cold* (the LM lookup cache is empty, as at the start
of a crawl); the best of the later passes is *warm* (every lookup cached, the
upper bound a long crawl tends to). CPU time of this process, so a busy
machine slows the figures less than wall time would. The issue's target is
at least 200 news-length documents per second per core.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from unspin.detect import Detector  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="passes over the texts (first is cold)")
    args = ap.parse_args()
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus" / "own").glob("*.txt"))]
    words = sum(len(t.split()) for t in texts)
    det = Detector()  # loads the models before any timing
    times = []
    for _ in range(max(args.repeat, 2)):
        t = time.process_time()
        for text in texts:
            det.quick_scores(text)
        times.append(time.process_time() - t)
    cold, warm = times[0], min(times[1:])
    print(f"{len(texts)} documents, {words / len(texts):.0f} words each on average")
    print(f"cold: {len(texts) / cold:,.0f} docs/CPU-s ({words / cold / 1000:,.0f}k words/CPU-s)")
    print(f"warm: {len(texts) / warm:,.0f} docs/CPU-s ({words / warm / 1000:,.0f}k words/CPU-s), "
          f"best of {len(times) - 1}")


if __name__ == "__main__":
    main()
