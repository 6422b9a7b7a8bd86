"""Where restore loses the swaps it misses: candidates or decision?

For every swap of the evaluation spinner, in one first-pass analysis of the
spun document under its EM prior (no second pass, no repeat pass):

- ``no span``: restore has no span with the swap's exact boundaries (no
  candidate at all, a name, or a swap that restore's spans cut differently);
- ``not kept``: the span exists but the true original is not among its kept
  candidates (a candidate-set miss: no decision rule can fix it);
- ``not top``: the original is kept but another candidate ranks first;
- ``top``: the original is the best candidate, so only the confidence
  threshold stands between it and a fix.

For ``top`` swaps it prints how many clear each threshold, next to the
spans the spinner did not touch that would be changed (damage candidates).

    python eval/decision_gap.py --corpus bbc --dict none+habits --rate 0.25 --docs 100

Tune on --split dev only.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from evaluate_restore import add_site_args, engine, site_spins  # noqa: E402

import corpus  # noqa: E402
from unspin.restore import score_spans  # noqa: E402

THRESHOLDS = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_site_args(ap)
    args = ap.parse_args()
    if not corpus.available(args.corpus):
        print(f"{corpus.CORPUS_DIR} is not available", file=sys.stderr)
        return 1
    r = engine(args.model)
    where: collections.Counter[str] = collections.Counter()
    top_conf: list[float] = []
    other_conf: list[float] = []
    for _, res in site_spins(args):
        doc = r.document(res.text)
        spans = r.analyse(doc)
        score_spans(spans, r.prior(r.estimate_rate(spans)))
        by_offsets = {(doc.words[s.i].start, doc.words[s.j - 1].end): s for s in spans}
        covered = set()
        for sw in res.swaps:
            covered.update(range(sw.start, sw.end))
            s = by_offsets.get((sw.start, sw.end))
            original = tuple(sw.original.lower().split())
            kept = [c.words for c in s.candidates] if s else []
            if s is None:
                where["no span"] += 1
            elif original not in kept:
                where["not kept"] += 1
            elif kept[0] != original:
                where["not top"] += 1
            else:
                where["top"] += 1
                top_conf.append(s.confidence)
        for (start, end), s in by_offsets.items():
            if not any(k in covered for k in range(start, end)):
                other_conf.append(s.confidence)
    n = sum(where.values())
    print(f"# {args.corpus}/{args.split} {args.docs} docs, {args.dict} at {args.rate}: {n} swaps")
    for k in ("top", "not top", "not kept", "no span"):
        print(f"{k:>9}: {where[k]:6d}  {100 * where[k] / max(n, 1):5.1f} %")
    print("threshold  top swaps clearing it  untouched spans clearing it")
    for t in THRESHOLDS:
        fixed = sum(c >= t for c in top_conf)
        print(f"{t:9.2f}  {fixed:6d} ({100 * fixed / max(n, 1):4.1f} %)  "
              f"{sum(c >= t for c in other_conf):6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
