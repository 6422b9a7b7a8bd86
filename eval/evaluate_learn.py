"""Measure unspin.learn: does a learned site table help restore that site's copies?

    python eval/evaluate_learn.py                      # k = 1, 3, 10 pairs + site mode
    python eval/evaluate_learn.py --test-docs 20 --site-docs 100   # quicker
    python eval/evaluate_learn.py --json learn.json    # -> eval/out/learn.json
    python eval/evaluate_learn.py --eval-split dev     # tune: held-out *dev* docs

One "site" = one fixed SpinTable over the roget dictionary (as in
evaluate_restore.py). Tables are learned from BBC *dev* documents spun by that
site and applied to held-out BBC *test* documents spun by the same site (with
``--eval-split dev``: to dev documents after the ones learned from, for tuning):

* pairs k    ``learn_pairs`` on k (copy, source) pairs (for k >= 10 also with
             ``min_count=2``)
* site       ``learn_site`` on ``--site-docs`` spun dev documents (no sources)
             against the reference prose corpus/own/*.txt
* site+      the same with ``precise=True`` (the stricter filters)

Each table is applied with ``Restorer(lexicon=Lexicon.default().with_table(t))``
and scored like evaluate_restore.py: fixed % of swaps, precision, damage per
1000 untouched words, and changes per 1000 words of the clean test originals.
Only aggregate numbers are printed; the corpora are research-only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from evaluate_restore import Tally, doc_seed, score_clean, score_spun
from spinner import SpinTable, count_words, load_dictionary, spin

import corpus


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dict", default="roget")
    ap.add_argument("--rate", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=0, help="the site's spin table")
    ap.add_argument("--k", type=int, nargs="+", default=[1, 3, 10])
    ap.add_argument("--test-docs", type=int, default=40)
    ap.add_argument("--site-docs", type=int, default=200)
    ap.add_argument("--eval-split", choices=("dev", "test"), default="test",
                    help="score on held-out test docs, or (for tuning) on dev docs the "
                         "tables were not learned from")
    ap.add_argument("--no-site", action="store_true")
    ap.add_argument("--only", nargs="*", help="run only the tables whose name starts so")
    ap.add_argument("--json", help="write results to eval/out/NAME")
    args = ap.parse_args(argv)

    from unspin.learn import as_table, learn_pairs, learn_site
    from unspin.lexicon import Lexicon
    from unspin.restore import Restorer

    if not corpus.available("bbc"):
        sys.exit(f"corpus bbc not available under {corpus.CORPUS_DIR}")
    dictionary = load_dictionary(args.dict)
    site = SpinTable.build(dictionary, args.seed)

    def spun(doc: corpus.Doc):
        return spin(doc.text, args.rate, dictionary, seed=doc_seed(args.seed, doc.id), table=site)

    dev = corpus.load("bbc", "dev")
    n_train = max(args.k + [args.site_docs])
    train = dev[:n_train]
    if args.eval_split == "dev":  # the dev docs after the training ones: disjoint
        test = dev[n_train : n_train + args.test_docs]
    else:
        test = corpus.load("bbc", "test")[: args.test_docs]
    test_spun = [spun(d) for d in test]
    train_spun = [spun(d) for d in train]

    tables: dict[str, list] = {"none": []}
    for k in args.k:
        pairs = [(r.text, d.text) for r, d in zip(train_spun[:k], train[:k], strict=True)]
        tables[f"pairs k={k}"] = learn_pairs(pairs)
        if k >= 10:  # entries seen twice or more: less damage?
            tables[f"pairs k={k} n>=2"] = learn_pairs(pairs, min_count=2)
    if not args.no_site:
        own = sorted((corpus.REPO / "corpus" / "own").glob("*.txt"))
        reference = [p.read_text(encoding="utf-8") for p in own]
        site_docs = [r.text for r in train_spun[: args.site_docs]]
        tables[f"site n={args.site_docs}"] = learn_site(site_docs, reference)
        tables[f"site+ n={args.site_docs}"] = learn_site(site_docs, reference, precise=True)

    # How right is each table? An entry is right when the site's spinner does
    # map that original to that spun form (seen in the training swaps).
    truth: set[tuple[str, str]] = set()
    for r in train_spun:
        truth |= {(s.spun.lower(), s.original.lower()) for s in r.swaps}

    lexicon = Lexicon.default()
    rows: dict[str, dict] = {}
    print(f"# site = roget SpinTable seed {args.seed}, rate {args.rate}; "
          f"{len(test)} held-out BBC {args.eval_split} docs")
    header = (f"{'table':18} {'entries':>8} {'right%':>7} {'fixed%':>7} {'prec%':>6} "
              f"{'dmg/1k':>7} {'clean/1k':>8} {'sec':>5}")
    print(header)
    for name, table in tables.items():
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        t0 = time.perf_counter()
        restorer = Restorer(lexicon=lexicon.with_table(as_table(table)) if table else lexicon)
        tally, clean = Tally(), Tally()
        for r in test_spun:
            score_spun(tally, r, restorer.restore(r.text))
        for d in test:
            score_clean(clean, d.text, count_words(d.text), restorer.restore(d.text))
        m, cm = tally.metrics(), clean.metrics()
        right = sum((e.spun, e.original) in truth for e in table)
        row = {
            "entries": len(table),
            "right_pct": round(100.0 * right / len(table), 1) if table else None,
            "fixed_pct": m["fixed_pct"],
            "precision_pct": m["precision_pct"],
            "damage_per_1000": m["damage_per_1000"],
            "clean_per_1000": cm["damage_per_1000"],
            "swaps": m["swaps"],
        }
        rows[name] = row
        right_s = "" if row["right_pct"] is None else f"{row['right_pct']:.1f}"
        print(f"{name:18} {row['entries']:8d} {right_s:>7} {row['fixed_pct']:7.1f} "
              f"{row['precision_pct']:6.1f} {row['damage_per_1000']:7.2f} "
              f"{row['clean_per_1000']:8.2f} {time.perf_counter() - t0:5.0f}", flush=True)
    if args.json:
        path = corpus.out_path(args.json)
        path.write_text(json.dumps({"args": vars(args), "results": rows}, indent=2),
                        encoding="utf-8")
        print(f"# wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
