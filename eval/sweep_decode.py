"""Sweep restore's decoding constants on spun dev documents, analysing each once.

Decoding (threshold, repeat bonus) is cheap next to analysis, so every
document is analysed once and decoded under each setting; the figures are
the same as evaluate_restore.py's (fixed, precision, damage, clean).

    python eval/sweep_decode.py --corpus bbc --dict none+habits --rate 0.25 \\
        --bonus 0 1 2 --min 1 2 --threshold 0.85 0.8
    python eval/sweep_decode.py --dict moby --floor 0 0.25 --gate  # floor where detect says spun

Tune on --split dev only.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from evaluate_restore import (  # noqa: E402
    Tally,
    add_site_args,
    engine,
    score_clean,
    score_spun,
    site_spins,
)
from spinner import count_words  # noqa: E402

from unspin.render import splice  # noqa: E402


@dataclass
class _Out:
    text: str
    changes: list


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_site_args(ap)
    ap.add_argument("--bonus", type=float, nargs="+", default=[0.0, 1.0, 2.0])
    ap.add_argument("--min", type=int, nargs="+", default=[1])
    ap.add_argument("--threshold", type=float, nargs="+")
    ap.add_argument("--by", nargs="+", choices=("pair", "original"),
                    help="what counts as the same swap (default: restore's)")
    ap.add_argument("--level", type=float, nargs="+", default=[-1.0],
                    help="confidence that counts an instance (-1: the threshold)")
    ap.add_argument("--floor", type=float, nargs="+", default=[0.0],
                    help="lower bound on the document spin rate (0: EM estimate only)")
    ap.add_argument("--gate", action="store_true",
                    help="apply --floor only to documents detect calls spun")
    ap.add_argument("--max-candidates", type=int,
                    help="candidates looked up and scored per span (default: the model's)")
    args = ap.parse_args()
    r = engine(args.model)
    if args.max_candidates:
        r.p = replace(r.p, max_candidates=args.max_candidates)
    base = r.p
    thresholds = args.threshold or [base.threshold]
    args.by = args.by or [base.repeat_by]
    runs = site_spins(args)
    docs = [d for d, _ in runs]

    if args.gate:  # the shipped detect model, whatever --model says
        from unspin.detect import default_detector

        det = default_detector()

    def analysed(text):
        doc = r.document(text)
        spans = r.analyse(doc)
        gated = det.detect(text).verdict == "spun" if args.gate else True
        return doc, spans, (r.estimate_rate(spans), gated)

    t0 = time.process_time()
    spun = [(res, analysed(res.text)) for _, res in runs]
    clean = [(d, analysed(d.text)) for d in docs]
    n_words = sum(count_words(res.text) for _, res in runs) + sum(count_words(d.text) for d in docs)
    print(f"# analysed {n_words} words in {time.process_time() - t0:.1f} CPU-s "
          f"(max_candidates {r.p.max_candidates}{'; detect included' if args.gate else ''})")
    print(f"# {args.corpus}/{args.split} {len(docs)} docs, {args.dict} at {args.rate}")
    if args.gate:
        n_spun = sum(est[1] for _, (_, _, est) in spun)  # est: (EM rate, detect says spun)
        n_clean = sum(est[1] for _, (_, _, est) in clean)
        print(f"# detect calls {n_spun}/{len(spun)} spun, {n_clean}/{len(clean)} clean ones spun")
    print(f"{'floor':>5} {'thr':>5} {'bonus':>5} {'min':>3} {'level':>5} {'by':>8} "
          f"{'fixed%':>7} {'prec%':>6} {'dmg/1k':>7} {'clean/1k':>8}")
    settings = itertools.product(args.floor, thresholds, args.bonus, args.min, args.level, args.by)
    for floor, thr, bonus, need, level, by in settings:
        r._p = replace(base, repeat_bonus=bonus, repeat_min=need, repeat_by=by,
                       repeat_level=None if level < 0 else level)  # no cache depends on these

        def run(doc, spans, est, text, thr=thr, floor=floor):
            rate = max(est[0], floor) if est[1] else est[0]
            ch = r.changes(doc, spans, rate, thr)
            return _Out(splice(text, ch), ch)

        t = Tally()
        for res, (doc, spans, est) in spun:
            score_spun(t, res, run(doc, spans, est, res.text))
        c = Tally()
        for d, (doc, spans, est) in clean:
            score_clean(c, d.text, count_words(d.text), run(doc, spans, est, d.text))
        m, cm = t.metrics(), c.metrics()
        print(f"{floor:5.2f} {thr:5.2f} {bonus:5.1f} {need:3d} {level:5.2f} {by:>8} "
              f"{m['fixed_pct']:7.1f} {m['precision_pct']:6.1f} {m['damage_per_1000']:7.2f} "
              f"{cm['damage_per_1000']:8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
