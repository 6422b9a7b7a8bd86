"""Load benchmark of `unspin serve`: concurrent clients on loopback for a bounded time.

Starts the server in a subprocess on 127.0.0.1 (a free port), waits for
/api/health, then runs N asyncio+httpx clients that POST news-length documents
(corpus/own/*.txt, our own CC0 prose) to /api/restore and /api/detect in turn
for a fixed duration. Prints requests/s, p50/p99 latency and the count of 5xx
per endpoint, as a Markdown table for docs/serve.md. Traffic goes to loopback only.

    python scripts/bench_serve.py --clients 4 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def _client(base: str, docs: list[str], k: int, stop_at: float,
                  results: dict[str, list[tuple[float, int]]]) -> None:
    endpoints = ("/api/restore", "/api/detect")
    i = k  # clients start at different documents so caches are not trivially shared
    async with httpx.AsyncClient(base_url=base, timeout=120) as c:
        while time.monotonic() < stop_at:
            ep = endpoints[i % 2]
            t0 = time.perf_counter()
            try:
                r = await c.post(ep, json={"text": docs[i % len(docs)]})
                status = r.status_code
            except httpx.HTTPError:
                status = 599  # connection failure: counted with the 5xx
            results[ep].append((time.perf_counter() - t0, status))
            i += 1


async def _run(base: str, docs: list[str], clients: int, duration: float) -> tuple[dict, float]:
    results: dict[str, list[tuple[float, int]]] = {"/api/restore": [], "/api/detect": []}
    t0 = time.monotonic()
    await asyncio.gather(*(_client(base, docs, k, t0 + duration, results)
                           for k in range(clients)))
    return results, time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of load (bounded)")
    ap.add_argument("--warmup", type=int, default=1, help="passes over the docs before timing")
    args = ap.parse_args()

    docs = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus" / "own").glob("*.txt"))]
    words = sum(len(d.split()) for d in docs) / len(docs)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "unspin.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        t0 = time.monotonic()
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).json().get("status") == "ok":
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() - t0 > 60:
                print("server did not start", file=sys.stderr)
                return 1
            time.sleep(0.1)
        startup = time.monotonic() - t0
        for _ in range(args.warmup):  # cold caches are measured by bench_restore.py
            for d in docs:
                httpx.post(f"{base}/api/restore", json={"text": d}, timeout=120)
        results, elapsed = asyncio.run(_run(base, docs, args.clients, args.duration))
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(f"{len(docs)} documents of ~{words:.0f} words; {args.clients} clients for "
          f"{elapsed:.1f} s; server start-up {startup:.1f} s; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| endpoint | requests | requests/s | p50 latency | p99 latency | 5xx |")
    print("|---|---|---|---|---|---|")
    every: list[tuple[float, int]] = []
    for ep, rows in results.items():
        every += rows
        lat = [t for t, _ in rows]
        print(f"| `{ep}` | {len(rows)} | {len(rows) / elapsed:.1f} "
              f"| {_pct(lat, 0.5) * 1000:.0f} ms | {_pct(lat, 0.99) * 1000:.0f} ms "
              f"| {sum(1 for _, s in rows if s >= 500)} |")
    lat = [t for t, _ in every]
    print(f"| all | {len(every)} | {len(every) / elapsed:.1f} | {_pct(lat, 0.5) * 1000:.0f} ms "
          f"| {_pct(lat, 0.99) * 1000:.0f} ms | {sum(1 for _, s in every if s >= 500)} |")
    bad = sorted({s for _, s in every if s != 200})
    if bad:
        print(f"\nnon-200 statuses seen: {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
