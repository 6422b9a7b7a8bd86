"""Measure unspin.detect on held-out news, spun by the evaluation spinner, and clean.

    python eval/evaluate_detect.py --corpus bbc --split test --docs 100
    python eval/evaluate_detect.py ... --dicts moby roget --rates 0.05 0.15 0.25 0.35 \\
        --lengths para 300 full --jobs 2 --json detect_bbc.json

Each document is cut to a length condition (``para``: whole paragraphs from a
seeded start until ~80 words; ``300``: until ~300 words; ``full``), then spun
with one shared SpinTable per dictionary (one "site") at each rate. Clean cuts
are scored too. Reported per (dictionary, rate, length):

* recall     share of spun documents at or above the default threshold;
* precision  TP / (TP + FP) against the clean documents of the same length,
             one clean document per spun one (a balanced stream);
* AUROC      spun vs clean documents of the same length;

plus the false-positive rate on clean text per length, what screening does
(share of clean dismissed, verdicts it changes, documents/s of both passes),
and calibration: predicted P(spun) in 10 bins against the observed share of
spun documents (classes weighted to balance). ``--plot`` draws the reliability
diagram (needs matplotlib, in the ``dev`` extra).

Only aggregate numbers leave this script: ``--json`` goes to eval/out/ (the
corpora are research-only), ``--calibration`` and ``--plot`` hold no text.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import textwrap
import time
import zlib
from pathlib import Path
from typing import Any

from spinner import SpinTable, count_words, load_dictionary, spin

import corpus

LENGTHS = {"para": 80, "300": 300, "full": None}


def cut(text: str, target: int | None, seed: int) -> str:
    """Whole paragraphs from a seeded start until ``target`` words (None: the full text)."""
    paras = [p.strip() for p in text.split("\n") if p.strip()]
    if target is None or not paras:
        return text
    counts = [count_words(p) for p in paras]
    starts = [k for k in range(len(paras)) if sum(counts[k:]) >= target] or [0]
    k = random.Random(seed).choice(starts)
    out, n = [], 0
    while k < len(paras) and n < target:
        out.append(paras[k])
        n += counts[k]
        k += 1
    return "\n\n".join(out)


# -- scoring (worker processes) -----------------------------------------------
_DET: Any = None


def _init(threshold: float | None) -> None:
    global _DET
    from unspin.detect import Detector

    _DET = Detector(threshold=threshold)


def _score(text: str) -> dict[str, Any]:
    """Full detection of one text, timed."""
    from unspin.text import InputError

    try:
        t = time.perf_counter()
        d = _DET.detect(text)
        t_full = time.perf_counter() - t
    except InputError as e:
        return {"error": str(e)}
    return {
        "p": d.spun_probability,
        "spun": d.verdict == "spun",
        "t_full": t_full,
        "rate": d.signals["spin_rate"],
    }


def _screen(text: str) -> tuple[bool, float]:
    """Whether screening dismisses ``text``, timed (in its own pass: warm caches from
    a full analysis of the same text would flatter it)."""
    from unspin.text import InputError

    t = time.perf_counter()
    try:
        s = _DET.screen(text)
    except InputError:
        s = None
    return s is not None, time.perf_counter() - t


# -- metrics -----------------------------------------------------------------
LONG_DOC_WORDS = 300  # the target: documents of at least this many words


def _fpr(clean: list[dict[str, Any]]) -> float:
    return sum(s["spun"] for s in clean) / max(len(clean), 1)


def recall_at_fpr(pos: list[float], neg: list[float], fpr: float = 0.01) -> float:
    """Recall at the ROC point with at most ``fpr`` of ``neg`` above the cut
    (the cut is the highest score that many clean texts may exceed; a tie
    with it does not count as flagged).

    >>> recall_at_fpr([0.9, 0.8, 0.5], [0.1, 0.6] + [0.0] * 98)  # 0.6 may be above the cut
    1.0
    >>> recall_at_fpr([0.9, 0.8, 0.5], [0.1, 0.6] + [0.0] * 48)  # 1 % of 50: none may
    0.6667
    """
    if not pos or not neg:
        return float("nan")
    cut = sorted(neg, reverse=True)[int(fpr * len(neg))]
    return round(sum(p > cut for p in pos) / len(pos), 4)


def _condition(spun: list[dict[str, Any]], words: list[int],
               clean: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall, precision and AUROC of spun texts against the clean texts of the
    same length condition; precision as on a balanced stream (one clean text
    per spun one)."""
    tp = sum(s["spun"] for s in spun)
    fp = _fpr(clean) * len(spun)
    return {
        "docs": len(spun),
        "mean_words": round(sum(words) / max(len(words), 1)),
        "mean_rate_estimate": round(sum(s["rate"] for s in spun) / max(len(spun), 1), 4),
        "recall": round(tp / max(len(spun), 1), 4),
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "auroc": round(auroc([s["p"] for s in spun], [s["p"] for s in clean]), 4),
        "recall_at_1pct_fpr": recall_at_fpr([s["p"] for s in spun], [s["p"] for s in clean]),
        "clean_docs": len(clean),
    }


def auroc(pos: list[float], neg: list[float]) -> float:
    """Probability that a spun document outscores a clean one (ties count half).

    >>> auroc([0.9, 0.8], [0.1, 0.8])
    0.875
    """
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def calibration(rows: list[tuple[float, int, float]], bins: int = 10) -> list[dict[str, Any]]:
    """(predicted, label, weight) rows → per-bin mean predicted and observed spun share."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = [(p, y, w) for p, y, w in rows if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        wsum = sum(w for *_, w in sel)
        out.append({
            "bin": [round(lo, 2), round(hi, 2)],
            "docs": len(sel),
            "weight": round(wsum, 2),
            "predicted": round(sum(p * w for p, _, w in sel) / wsum, 4) if wsum else None,
            "observed": round(sum(y * w for _, y, w in sel) / wsum, 4) if wsum else None,
        })
    return out


def plot(cal: list[dict[str, Any]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, hx) = plt.subplots(2, 1, figsize=(5.5, 6.5), height_ratios=[3, 1], sharex=True)
    pts = [(c["predicted"], c["observed"], c["docs"]) for c in cal if c["docs"]]
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    ax.plot([p for p, _, _ in pts], [o for _, o, _ in pts], marker="o", label="unspin detect")
    ax.set_ylabel("observed share spun (classes balanced)")
    ax.set_title(textwrap.fill(title, 70), fontsize=9)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    centres = [(c["bin"][0] + c["bin"][1]) / 2 for c in cal]
    hx.bar(centres, [c["docs"] for c in cal], width=0.09, color="tab:blue", alpha=0.6)
    hx.set_yscale("log")
    hx.set_xlabel("predicted P(spun)")
    hx.set_ylabel("documents")
    hx.set_xlim(0, 1)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="bbc", choices=sorted(corpus.FILES))
    ap.add_argument("--split", default="test", choices=corpus.SPLITS)
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--dicts", nargs="+", default=["moby", "roget"])
    ap.add_argument("--rates", nargs="+", type=float, default=[0.05, 0.15, 0.25, 0.35])
    ap.add_argument("--lengths", nargs="+", default=list(LENGTHS), choices=list(LENGTHS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, help="verdict threshold (default: the model's)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", help="metrics (bare names go to eval/out/)")
    ap.add_argument("--calibration", type=Path, help="write calibration bins here (aggregate)")
    ap.add_argument("--plot", type=Path, help="write the reliability diagram PNG here")
    ap.add_argument("--plot-only", action="store_true",
                    help="redraw --plot from an existing --calibration file, scoring nothing")
    args = ap.parse_args(argv)
    if args.plot_only:
        saved = json.loads(args.calibration.read_text(encoding="utf-8"))
        plot(saved["calibration"], _title(saved["args"], saved["args"]["docs"]), args.plot)
        return 0

    json_path = corpus.out_path(args.json) if args.json else None
    if not corpus.available(args.corpus):
        sys.exit(f"corpus {args.corpus!r} not found under {corpus.CORPUS_DIR}")
    docs = corpus.load(args.corpus, args.split)[: args.docs]

    # Build every document first, then score them all in one pool.
    t0 = time.perf_counter()
    # (dict, length, rate, text, words of the clean cut); dict "-" = clean. The
    # clean cut's length says whether a text counts as a long document.
    items: list[tuple[str, str, float, str, int]] = []
    cuts = {}
    for length in args.lengths:
        for doc in docs:
            seed = zlib.crc32(f"{args.seed}:{doc.id}:{length}".encode())
            cuts[(doc.id, length)] = c = cut(doc.text, LENGTHS[length], seed)
            items.append(("-", length, 0.0, c, count_words(c)))
    cut_words = {key: count_words(c) for key, c in cuts.items()}
    for name in args.dicts:
        dictionary = load_dictionary(name)
        site = SpinTable.build(dictionary, args.seed)
        for length in args.lengths:
            for doc in docs:
                seed = zlib.crc32(f"{args.seed}:{doc.id}".encode())
                for rate in args.rates:
                    res = spin(cuts[(doc.id, length)], rate, dictionary, seed=seed, table=site)
                    items.append((name, length, rate, res.text, cut_words[(doc.id, length)]))
    t_spin = time.perf_counter() - t0
    print(f"# {args.corpus}/{args.split}: {len(docs)} docs, {len(items)} scored texts "
          f"(spun in {t_spin:.0f}s)", flush=True)

    from unspin.detect import DetectParams

    params = DetectParams.load()
    threshold = args.threshold if args.threshold is not None else params.threshold
    t0 = time.perf_counter()
    with mp.Pool(args.jobs, initializer=_init, initargs=(args.threshold,)) as pool:
        scored = pool.map(_score, [it[3] for it in items], chunksize=4)
    wall = time.perf_counter() - t0
    with mp.Pool(args.jobs, initializer=_init, initargs=(args.threshold,)) as pool:
        screened = pool.map(_screen, [it[3] for it in items], chunksize=4)
    for s, (dismissed, t) in zip(scored, screened, strict=True):
        s.update(screened=dismissed, t_screen=t)
    wall_screen = time.perf_counter() - t0 - wall
    words = [count_words(it[3]) for it in items]

    errors = sum(1 for s in scored if "error" in s)
    rows = [(it, s, w) for it, s, w in zip(items, scored, words, strict=True) if "error" not in s]
    clean = {L: [s for it, s, _ in rows if it[0] == "-" and it[1] == L] for L in args.lengths}
    clean_words = {L: [w for it, _, w in rows if it[0] == "-" and it[1] == L]
                   for L in args.lengths}

    report: dict[str, Any] = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "threshold": threshold,
        "stale_model": params.stale,
        "conditions": [],
        "long_documents": [],
        "clean": {},
    }
    long_note = ""
    if args.threshold is None and params.long is not None:
        long_note = f" (texts of {params.long_min_words}+ words: {params.long.threshold})"
    print(f"\nthreshold {threshold}{long_note}; {errors} texts rejected as bad input")
    print(f"\n{'length':>6} {'words':>6} {'clean':>6} {'FPR%':>6} {'meanP':>6}")
    for L in args.lengths:
        c = clean[L]
        fpr = _fpr(c)
        mw = sum(clean_words[L]) / max(len(clean_words[L]), 1)
        report["clean"][L] = {"docs": len(c), "mean_words": round(mw), "fpr": round(fpr, 4),
                              "mean_p": round(sum(s["p"] for s in c) / max(len(c), 1), 4),
                              "mean_rate": round(sum(s["rate"] for s in c) / max(len(c), 1), 4)}
        print(f"{L:>6} {mw:6.0f} {len(c):6d} {100 * fpr:6.2f} {report['clean'][L]['mean_p']:6.3f}")
    all_clean = [s for L in args.lengths for s in clean[L]]
    report["clean_fpr"] = round(_fpr(all_clean), 4)

    # Every condition, then the same restricted to documents of at least
    # LONG_DOC_WORDS words (the target condition: a "300" cut of a
    # shorter document is the whole, shorter document).
    for long_only in (False, True):
        keep = (lambda it: it[4] >= LONG_DOC_WORDS) if long_only else (lambda it: True)
        if long_only:
            fprs = {L: _fpr([s for it, s, _ in rows if it[:2] == ("-", L) and keep(it)])
                    for L in args.lengths}
            print(f"\ndocuments of {LONG_DOC_WORDS}+ words only; clean FPR among them: "
                  + ", ".join(f"{L} {f:.2%}" for L, f in fprs.items()))
        print(f"\n{'dict':>6} {'rate':>5} {'length':>6} {'docs':>5} {'words':>6} {'estR':>5} "
              f"{'recall':>7} {'prec':>6} {'AUROC':>6} {'r@1%FP':>6}")
        for name in args.dicts:
            for rate in args.rates:
                for L in args.lengths:
                    sel = [(s, w) for it, s, w in rows if it[:3] == (name, L, rate) and keep(it)]
                    neg = [s for it, s, _ in rows if it[:2] == ("-", L) and keep(it)]
                    if not sel:
                        continue
                    m = {"dict": name, "rate": rate, "length": L,
                         **_condition([s for s, _ in sel], [w for _, w in sel], neg)}
                    report["long_documents" if long_only else "conditions"].append(m)
                    prec = f"{m['precision']:6.3f}" if m["precision"] is not None else "     -"
                    print(f"{name:>6} {rate:5.2f} {L:>6} {m['docs']:5d} {m['mean_words']:6d} "
                          f"{m['mean_rate_estimate']:5.3f} {m['recall']:7.3f} {prec} "
                          f"{m['auroc']:6.3f} {m['recall_at_1pct_fpr']:6.3f}")

    # Screening: what it dismisses, whether it changes any verdict, and speed.
    n_words = sum(w for *_, w in rows)
    t_full = sum(s["t_full"] for _, s, _ in rows)
    t_screen = sum(s["t_screen"] for _, s, _ in rows)
    changed = sum(1 for _, s, _ in rows if s["screened"] and s["spun"])
    dismissed_clean = sum(s["screened"] for s in all_clean) / max(len(all_clean), 1)
    spun_rows = [s for it, s, _ in rows if it[0] != "-"]
    dismissed_spun = sum(s["screened"] for s in spun_rows) / max(len(spun_rows), 1)
    # With screening on, a dismissed document costs the quick pass only; the
    # rest cost both passes.
    t_with = sum(s["t_screen"] + (0 if s["screened"] else s["t_full"]) for _, s, _ in rows)
    report["screening"] = {
        "dismissed_clean": round(dismissed_clean, 4),
        "dismissed_spun": round(dismissed_spun, 4),
        "verdicts_changed": changed,
        "full_docs_per_s": round(len(rows) / t_full, 2),
        "screen_docs_per_s": round(len(rows) / t_screen, 2),
        "with_screening_docs_per_s": round(len(rows) / t_with, 2),
        "full_words_per_s": round(n_words / t_full),
        "screen_words_per_s": round(n_words / t_screen),
    }
    report["wall_seconds"] = round(wall, 1)
    report["wall_seconds_screen"] = round(wall_screen, 1)
    sc = report["screening"]
    print(f"\nscreening: dismisses {dismissed_clean:.1%} of clean, {dismissed_spun:.1%} of spun; "
          f"changes {changed} verdicts; per process: full {sc['full_docs_per_s']} docs/s "
          f"({sc['full_words_per_s']} words/s), screen {sc['screen_docs_per_s']} docs/s "
          f"({sc['screen_words_per_s']} words/s), detect --screen "
          f"{sc['with_screening_docs_per_s']} docs/s (on this mix; screening pass "
          f"{wall_screen:.0f}s wall)")
    print(f"clean FPR overall {report['clean_fpr']:.2%}; scored in {wall:.0f}s wall "
          f"on {args.jobs} processes")

    # Calibration: the classes weighted to balance.
    n_spun = len(spun_rows)
    wc = n_spun / max(len(all_clean), 1)
    cal_rows = [(s["p"], 0 if it[0] == "-" else 1, wc if it[0] == "-" else 1.0)
                for it, s, _ in rows]
    cal = calibration(cal_rows)
    report["calibration"] = cal
    ece = sum(c["weight"] * abs(c["predicted"] - c["observed"]) for c in cal if c["docs"])
    report["ece"] = round(ece / sum(c["weight"] for c in cal), 4)
    print("\ncalibration (classes balanced): bin  docs  predicted  observed")
    for c in cal:
        if c["docs"]:
            print(f"  {c['bin'][0]:.1f}-{c['bin'][1]:.1f} {c['docs']:6d} "
                  f"{c['predicted']:9.3f} {c['observed']:9.3f}")
    print(f"expected calibration error {report['ece']:.3f}")

    if args.calibration:
        args.calibration.parent.mkdir(parents=True, exist_ok=True)
        summary = {k: report[k] for k in ("args", "threshold", "clean", "clean_fpr",
                                          "conditions", "long_documents", "screening",
                                          "calibration", "ece")}
        args.calibration.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        print(f"# wrote {args.calibration}")
    if args.plot:
        plot(cal, _title(vars(args), len(docs)), args.plot)
        print(f"# wrote {args.plot}")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1))
        print(f"# wrote {json_path}")
    return 0


def _title(a: dict[str, Any], n_docs: int) -> str:
    return (f"unspin detect on {a['corpus']}/{a['split']} ({n_docs} docs; "
            f"{', '.join(a['dicts'])}; rates {', '.join(f'{r:g}' for r in a['rates'])}; "
            f"lengths {', '.join(a['lengths'])}; clean weighted to balance)")


if __name__ == "__main__":
    sys.exit(main())
