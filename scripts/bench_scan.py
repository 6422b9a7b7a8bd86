"""Throughput of ``unspin scan``: local engine at --jobs 1 and 2, and Spark local[N] overhead.

    python scripts/bench_scan.py [--docs 200] [--files 4] [--no-spark]

The documents are corpus/own's news-length articles (~500 words), repeated to
``--docs``, split into ``--files`` JSONL inputs (Spark runs one task per file).
Model loading is timed once on its own; the local runs start with the models
loaded (the ``--jobs 2`` workers are forked from a warm parent, as
``run_local`` does), while the Spark run includes the executors' own model load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from unspin import scan  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--spark-cores", type=int, default=2)
    args = ap.parse_args()

    own = sorted((ROOT / "corpus" / "own").glob("[0-9]*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in own]
    docs = [texts[i % len(texts)] for i in range(args.docs)]
    words = sum(len(t.split()) for t in docs) / len(docs)
    tmp = Path(tempfile.mkdtemp(prefix="bench_scan_"))
    inputs = []
    for k in range(args.files):
        path = tmp / f"in{k}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for i in range(k, len(docs), args.files):
                f.write(json.dumps({"id": f"d{i}", "text": docs[i]}) + "\n")
        inputs.append(str(path))

    t = time.perf_counter()
    scan.warm_up()
    load = time.perf_counter() - t
    print(f"{args.docs} docs, {words:.0f} words each on average, {args.files} input files; "
          f"{os.cpu_count()} CPUs; model load + warm-up {load:.1f} s", flush=True)

    results: dict[str, float] = {}
    for jobs in (1, 2):
        out = tmp / f"local{jobs}"
        t = time.perf_counter()
        counts = scan.run_local(inputs, str(out), jobs=jobs)
        dt = time.perf_counter() - t
        assert counts["docs"] == args.docs and counts["errors"] == 0, counts
        results[f"local jobs={jobs}"] = dt
        print(f"local --jobs {jobs}: {dt:.1f} s, {args.docs / dt:.2f} docs/s, "
              f"{args.docs / dt / jobs:.2f} docs/s per core", flush=True)

    if not args.no_spark:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        t = time.perf_counter()
        spark = (SparkSession.builder.master(f"local[{args.spark_cores}]")
                 .config("spark.ui.enabled", "false").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        start = time.perf_counter() - t
        t = time.perf_counter()
        scan.run_spark(inputs, str(tmp / "spark"), spark=spark)
        dt = time.perf_counter() - t
        spark.stop()
        n = len(scan.read_rows(str(tmp / "spark")))
        assert n == args.docs, n
        base = results["local jobs=2"]
        print(f"spark local[{args.spark_cores}]: session start {start:.1f} s; job {dt:.1f} s, "
              f"{args.docs / dt:.2f} docs/s, {args.docs / dt / args.spark_cores:.2f} docs/s "
              f"per core; overhead vs local --jobs 2: {dt - base:+.1f} s "
              f"({dt / base:.2f}x)", flush=True)


if __name__ == "__main__":
    main()
