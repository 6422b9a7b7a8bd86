"""Measure unspin.trace: find the source of spun copies among news distractors.

    python eval/evaluate_trace.py --docs 500 --queries 100          # quick check
    python eval/evaluate_trace.py                                    # all ~21k BBC+Reuters
    python eval/evaluate_trace.py --classes --json trace.json        # -> eval/out/trace.json
    python eval/evaluate_trace.py --distractors 80000 --json trace-100k.json  # scale test

Originals: BBC News + Reuters-21578 (both splits; tracing has nothing to tune
on them beyond the threshold). The first ``--docs`` of a fixed shuffle are
indexed; ``--queries`` of them are spun with the roget dictionary (a "foreign"
thesaurus: the engine's lexicon is Moby + WordNet) by one shared SpinTable, as
a full copy and as a one-paragraph excerpt (≥ 40 words). As many documents
that are *not* indexed are spun too: any source reported for them is a false
match. Reported:

* recall@1   the true source is the top verified match (full copies / excerpts)
* false      share of unindexed (spun) documents given a source anyway; a
             reported source that the document's own unspun text aligns with
             (a corpus duplicate or template story) is not counted as false
* query p50  median trace() time per query, in ms
* query p99  99th percentile of the same
* build      documents indexed per second (SQLite, keys + storage)

``--distractors N`` adds N synthetic news-like documents to the index, to
measure at scale: each is 12-24 sentences drawn at random from *different*
indexed originals (never from the unindexed negatives), split into paragraphs
of 2-4 sentences. They share immutables, names and stock phrases with the real
sources (hard negatives for retrieval), but no one of them holds a source's
paragraph, so recall@1 keeps one right answer.

With ``datasketch`` installed (``.[dev]``), a MinHash-LSH baseline on word
shingles runs side by side (top candidate = highest estimated Jaccard).

The corpora are research-only: outputs only under eval/out/ (gitignored).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from spinner import SpinTable, load_dictionary, spin

import corpus
from unspin.trace import MIN_KEY_SCORE

EXCERPT_MIN_WORDS = 40


@dataclass
class Query:
    kind: str  # full | excerpt | negative
    text: str
    truth: str | None  # source id, None for a negative
    original: str = ""  # a negative's unspun text, to recognise corpus duplicates


def excerpt(text: str, rng: random.Random) -> str:
    """A middle paragraph (or consecutive paragraphs) of at least 40 words."""
    paras = [p for p in text.split("\n\n") if p.strip()]
    start = rng.randrange(max(1, len(paras) - 1))
    out: list[str] = []
    for p in paras[start:] + paras[:start]:
        out.append(p)
        if len(" ".join(out).split()) >= EXCERPT_MIN_WORDS:
            break
    return "\n\n".join(out)


def load_docs(n: int, n_neg: int, seed: int) -> tuple[list[corpus.Doc], list[corpus.Doc]]:
    docs = []
    for name in ("bbc", "reuters"):
        if not corpus.available(name):
            sys.exit(f"corpus {name} not available under {corpus.CORPUS_DIR}")
        for split in corpus.SPLITS:
            docs += [
                corpus.Doc(f"{name}:{d.id}", d.title, d.text) for d in corpus.load(name, split)
            ]
    random.Random(seed).shuffle(docs)
    return docs[:n], docs[n : n + n_neg]


_SENT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")


def make_distractors(
    indexed: list[corpus.Doc], n: int, seed: int, match_length: bool = False
) -> list[corpus.Doc]:
    """``n`` documents of sentences drawn from different indexed originals.

    By default each has 12-24 sentences (longer than the average original);
    ``match_length`` draws each one's sentence count from the originals' own.
    """
    if n <= 0:
        return []
    rng = random.Random(seed + 99)
    pools = [
        [s.strip() for s in _SENT_RE.split(d.text.replace("\n\n", " ")) if len(s.split()) >= 5]
        for d in indexed
    ]
    pools = [p for p in pools if p]
    lengths = [len(p) for p in pools]
    out = []
    for k in range(n):
        count = rng.choice(lengths) if match_length else rng.randint(12, 24)
        sents = [rng.choice(rng.choice(pools)) for _ in range(count)]
        paras, i = [], 0
        while i < len(sents):
            step = rng.randint(2, 4)
            paras.append(" ".join(sents[i : i + step]))
            i += step
        out.append(corpus.Doc(f"synth:{k}", "", "\n\n".join(paras)))
    return out


def make_queries(indexed, negatives, n_q: int, rate: float, dict_name: str, seed: int):
    dictionary = load_dictionary(dict_name)
    table = SpinTable.build(dictionary, seed)  # one "site"
    rng = random.Random(seed)
    picked = rng.sample(indexed, min(n_q, len(indexed)))
    queries: list[Query] = []
    for k, d in enumerate(picked):
        spun = spin(d.text, rate, dictionary, seed=seed + k, table=table).text
        queries.append(Query("full", spun, d.id))
        queries.append(Query("excerpt", excerpt(spun, rng), d.id))
    for k, d in enumerate(negatives):
        spun = spin(d.text, rate, dictionary, seed=seed + 10_000 + k, table=table).text
        queries.append(Query("negative", spun, None, d.text))
    return queries


def is_duplicate(original: str, source: str) -> bool:
    """Reuters (and a little of BBC) repeats stories and templates ("The Bank of
    Japan will sell tomorrow 500 billion yen ..."): a negative whose own unspun
    text copies the reported source, by trace's own rule (most of either
    text, or one long passage), is a true match, not a false one."""
    from unspin.trace import align

    return align(original, source).verified()


def summarise(results: list[tuple[Query, str | None, float]], texts: dict[str, str]) -> dict:
    """recall@1 per kind, false-match rate, query p50 (ms)."""
    out: dict = {}
    for kind in ("full", "excerpt"):
        rs = [(q, top) for q, top, _ in results if q.kind == kind]
        n = max(len(rs), 1)
        out[f"recall@1_{kind}"] = round(sum(top == q.truth for q, top in rs) / n, 4)
        # The corpus repeats stories: a top match whose text aligns with the true
        # source's (a duplicate) is a right answer too.
        ok = sum(
            top == q.truth
            or (top is not None and is_duplicate(texts[str(q.truth)], texts[top]))
            for q, top in rs
        )
        out[f"recall@1_{kind}_dup_ok"] = round(ok / n, 4)
        out[f"missed_{kind}"] = sum(top is None for _, top in rs)
    neg = [(q, top) for q, top, _ in results if q.kind == "negative"]
    dup = [top is not None and is_duplicate(q.original, texts[top]) for q, top in neg]
    false = sum(top is not None and not d for (_, top), d in zip(neg, dup, strict=True))
    n_neg = max(len(neg) - sum(dup), 1)
    out["false_match"] = round(false / n_neg, 4)
    out["negatives_with_duplicate_source"] = sum(dup)
    times = sorted(dt for _, _, dt in results)
    out["query_p50_ms"] = round(1000 * statistics.median(times), 2)
    out["query_p99_ms"] = round(1000 * times[int(0.99 * (len(times) - 1))], 2)
    return out


# ----------------------------------------------------------------------- unspin


def run_unspin(indexed, queries, classes: bool, workdir: Path, min_score: float) -> dict:
    from unspin.index import Index
    from unspin.trace import trace

    path = workdir / "trace-eval.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    with Index(path, classes=classes) as idx:
        idx.add((d.id, d.text, d.title) for d in indexed)
        build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
        db = getattr(idx.storage, "db", None)
        if db is not None:  # measure the file alone, not pages duplicated in the WAL
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stats = idx.stats()
        trace("warm-up: load the lexicon once before timing.", idx)
        results = []
        cpu: list[float] = []
        coverages: dict[str, list[float]] = {"full": [], "excerpt": [], "negative": []}
        for q in queries:
            t, c = time.perf_counter(), time.process_time()
            r = trace(q.text, idx, top=1, min_score=min_score)
            dt = time.perf_counter() - t
            cpu.append(time.process_time() - c)
            top = r.matches[0].id if r.found else None
            results.append((q, top, dt))
            coverages[q.kind].append(r.best_coverage)
    out = summarise(results, {d.id: d.text for d in indexed})
    out["build_docs_per_s"] = round(len(indexed) / build, 1)
    # CPU time of this process: the machine may be shared, "one core" is what counts.
    out["build_docs_per_cpu_s"] = round(len(indexed) / build_cpu, 1)
    out["query_p50_cpu_ms"] = round(1000 * statistics.median(cpu), 2)
    out["index_bytes"] = stats.get("bytes")
    out["keys_per_doc"] = stats["keys_per_doc"]
    out["docs"] = stats["docs"]
    out["postings"] = stats["postings"]
    # The threshold's margin: lowest coverage of true sources vs highest of negatives.
    neg = sorted(coverages["negative"])
    out["negative_coverage_p99"] = round(neg[int(0.99 * (len(neg) - 1))], 4) if neg else None
    return out


# ---------------------------------------------------------------------- MinHash


def run_minhash(indexed, queries, n: int, threshold: float, num_perm: int = 128) -> dict | None:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        return None
    import re

    word = re.compile(r"\w+")

    def sketch(text: str) -> MinHash:
        toks = word.findall(text.lower())
        grams = {" ".join(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1))}
        m = MinHash(num_perm=num_perm)
        m.update_batch([g.encode("utf-8") for g in grams])
        return m

    t0, c0 = time.perf_counter(), time.process_time()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sketches = {}
    for d in indexed:
        sketches[d.id] = m = sketch(d.text)
        lsh.insert(d.id, m)
    build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    results = []
    for q in queries:
        t = time.perf_counter()
        m = sketch(q.text)
        cands = lsh.query(m)
        top = max(cands, key=lambda c: (m.jaccard(sketches[c]), c)) if cands else None
        results.append((q, top, time.perf_counter() - t))
    out = summarise(results, {d.id: d.text for d in indexed})
    out["build_docs_per_s"] = round(len(indexed) / build, 1)
    out["build_docs_per_cpu_s"] = round(len(indexed) / build_cpu, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000, help="originals indexed (default all)")
    ap.add_argument("--queries", type=int, default=200, help="spun sources (and negatives)")
    ap.add_argument("--dict", default="roget")
    ap.add_argument("--rate", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--classes", action="store_true", help="add synonym-class keys")
    ap.add_argument("--minhash-n", type=int, default=3, help="baseline word shingle size")
    ap.add_argument("--minhash-threshold", type=float, default=0.1)
    ap.add_argument("--distractors", type=int, default=0,
                    help="synthetic sentence-mix documents added to the index")
    ap.add_argument("--news-length", action="store_true",
                    help="distractors as long as the indexed originals (default: 12-24 sentences)")
    ap.add_argument("--min-score", type=float, default=MIN_KEY_SCORE,
                    help="key score a candidate needs to be aligned (0: align all)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", help="write results to eval/out/NAME")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    indexed, negatives = load_docs(args.docs, args.queries, args.seed)
    queries = make_queries(indexed, negatives, args.queries, args.rate, args.dict, args.seed)
    indexed = indexed + make_distractors(
        indexed, args.distractors, args.seed, match_length=args.news_length
    )
    print(
        f"# {len(indexed)} indexed ({args.distractors} synthetic), "
        f"{sum(q.kind == 'full' for q in queries)} spun copies "
        f"(+ excerpts), {len(negatives)} unindexed; {args.dict} rate {args.rate}; "
        f"prepared in {time.perf_counter() - t0:.0f}s",
        file=sys.stderr,
    )
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        rows["unspin"] = run_unspin(indexed, queries, args.classes, Path(tmp), args.min_score)
    if not args.no_baseline:
        base = run_minhash(indexed, queries, args.minhash_n, args.minhash_threshold)
        if base is None:
            print("# datasketch not installed: no MinHash baseline", file=sys.stderr)
        else:
            rows[f"minhash-{args.minhash_n}gram@{args.minhash_threshold}"] = base
    cols = ["recall@1_full", "recall@1_excerpt", "false_match", "query_p50_ms",
            "query_p99_ms", "build_docs_per_s", "build_docs_per_cpu_s"]
    print(f"{'method':28}" + "".join(f"{c:>17}" for c in cols))
    for name, row in rows.items():
        print(f"{name:28}" + "".join(f"{row.get(c, ''):>17}" for c in cols))
    extra = {k: v for k, v in rows["unspin"].items() if k not in cols}
    print(f"# unspin: {extra}")
    if args.json:
        path = corpus.out_path(args.json)
        meta = {k: v for k, v in vars(args).items() if k != "json"}
        path.write_text(json.dumps({"args": meta, "results": rows}, indent=2), encoding="utf-8")
        print(f"# wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
