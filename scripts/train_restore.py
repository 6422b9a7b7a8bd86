"""Train restore's decision weights on synthetic spins of the project's own prose.

    python scripts/train_restore.py            # writes src/unspin/data/model.json

Training text is ``corpus/own`` (written for the project, CC0). It is spun
with the evaluation spinner (``eval/spinner.py``) at several rates, as two
curated "sites": each uses unspin's habit and phrase tables where they have an
entry and a thesaurus (Moby, MyThes) elsewhere, as content-farm spinners do.
Roget is kept out of training so that it stays a foreign dictionary for
evaluation, and the research corpora are never used.

The model is a conditional logit over {keep} ∪ candidates of each span: the
label is the candidate equal to the true original when the span is exactly a
swap, else "keep" (a swap whose original is not among the candidates is also
"keep": no change is the best available action). Training runs twice: first
with the true spin rate as the document prior, then with the EM estimate that
inference will see. The confidence threshold is then chosen as the lowest
value at which the unspun training documents get at most 0.5 changes per 1000
words and the spun ones at most 1.5 changes per 1000 words the spinner left
alone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))

from spinner import SpinTable, load_dictionary, spin  # noqa: E402

from unspin.restore import FEATURES, Params, Restorer, score_spans  # noqa: E402
from unspin.text import Document  # noqa: E402

K = 40  # candidates kept per span while training

def build_examples(restorer: Restorer, texts, dicts, rates, seeds):
    """One (features[n,K,F], mask[n,K], labels[n], true rate, spans, Document, swaps,
    nominal rate) per spun document, for every dictionary, seed and rate."""
    docs = []
    for name in dicts:
        dictionary = load_dictionary(name)
        for seed in seeds:
            table = SpinTable.build(dictionary, seed)
            for ti, text in enumerate(texts):
                for rate in rates:
                    if rate == 0:
                        if name != dicts[0] or seed != seeds[0]:
                            continue
                        spun, swaps = text, []
                    else:
                        res = spin(text, rate, dictionary, seed=seed * 1000 + ti, table=table)
                        spun, swaps = res.text, list(res.swaps)
                    docs.append((spun, swaps, rate))
    out = []
    for spun, swaps, rate in docs:
        doc = Document.from_text(spun)
        spans = restorer.analyse(doc)
        if not spans:
            continue
        by_span = {(s.start, s.end): s.original.lower() for s in swaps}
        n = len(spans)
        feats = np.zeros((n, K, len(FEATURES)))
        mask = np.zeros((n, K), dtype=bool)
        labels = np.full(n, -1)
        hits = 0
        covered = set()
        for sw in swaps:
            covered.update(range(sw.start, sw.end))
        drop = np.zeros(n, dtype=bool)
        for si, s in enumerate(spans):
            start, end = doc.words[s.i].start, doc.words[s.j - 1].end
            orig = by_span.get((start, end))
            # A span inside a swap that is not exactly the swap, or a swap
            # whose original is not among the candidates, says nothing about
            # which candidate is right; any change there is neither a fix
            # nor damage, so it is left out of the fit.
            drop[si] = orig is None and any(k in covered for k in range(start, end))
            for ci, c in enumerate(s.candidates[:K]):
                feats[si, ci] = c.features
                mask[si, ci] = True
                if orig is not None and " ".join(c.words) == orig:
                    labels[si] = ci
            hits += orig is not None
            if orig is not None and labels[si] < 0:
                drop[si] = True
        true_rate = hits / n
        feats[drop] = 0.0
        mask[drop] = False
        out.append((feats, mask, labels, true_rate, spans, doc, swaps, rate))
    return out


def fit(examples, priors, channels=False, l2=1e-3, steps=400, lr=0.05, l2_delta=None):
    """Maximum-likelihood weights for the conditional logit, by Adam.

    Returns (weights, table weights or None, bias, prior weight). With
    ``channels`` table rows get the shared weights plus a table delta (the
    features again, times is_table), so table_weights' is_table is the
    table bonus over the shared bias. ``l2_delta`` (default ``l2``) shrinks
    the deltas: few table rows insert or delete words, and an unshrunk
    delta overfits them.
    """
    F1 = len(FEATURES)
    M = np.concatenate([e[1] for e in examples])
    y = np.concatenate([e[2] for e in examples])
    P = np.concatenate([np.full(len(e[2]), p) for e, p in zip(examples, priors, strict=True)])
    n = len(y)
    # Only the candidate rows that exist, flat and grouped by span (row-major
    # order keeps each span's candidates together): a span without any
    # candidate can only be "keep" and adds nothing to the gradient.
    span, cand = np.nonzero(M)
    X1 = np.concatenate([e[0] for e in examples])[span, cand]
    if channels:
        T = X1[:, FEATURES.index("is_table"), None]
        X = np.concatenate([X1, X1 * T], axis=1)
    else:
        X = X1
    F = X.shape[1]
    starts = np.flatnonzero(np.r_[True, span[1:] != span[:-1]])
    owner = span[starts]  # the span of each group
    # A table's channel probability is a probability: it enters with weight 1
    # (an offset), so learned tables keep their meaning; is_table learns the bonus.
    ti = F - F1 + FEATURES.index("table_logp")  # the table channel's copy, if any
    offset = X[:, ti].copy()
    X[:, ti] = 0.0
    X[:, FEATURES.index("table_logp")] = 0.0  # the shared copy, if any
    # Features that are always 0.0 in a channel (table_logp of a thesaurus
    # row, log_fanout of a table row) stay out of the fit: weight exactly 0.
    live = np.abs(X).max(0) > 0.0
    # Standardise features for a well-conditioned optimisation; undo at the end.
    mu = np.where(live, X.mean(0), 0.0)
    sd = np.where(live, X.std(0) + 1e-6, 1.0)
    Xs = (X - mu) / sd
    Xs[:, ~live] = 0.0
    Pr = P[span]
    is_label = np.zeros(len(span), dtype=bool)
    has = y >= 0
    is_label[has[span]] = (cand == y[span])[has[span]]
    theta = np.zeros(F + 2)  # weights, bias, prior weight
    theta[F + 1] = 1.0
    penalty = np.full(F, l2)
    penalty[F1:] = l2 if l2_delta is None else l2_delta
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t in range(1, steps + 1):
        w, b, k = theta[:F], theta[F], theta[F + 1]
        z = Xs @ w + b + k * Pr + offset
        zmax = np.maximum(np.maximum.reduceat(z, starts), 0.0)  # per group
        ez = np.exp(z - np.repeat(zmax, np.diff(np.r_[starts, len(z)])))
        ekeep = np.exp(-zmax)
        denom = ekeep + np.add.reduceat(ez, starts)
        p = ez / np.repeat(denom, np.diff(np.r_[starts, len(z)]))  # candidate probabilities
        g = p - is_label  # d NLL / d z
        grad_w = Xs.T @ g / n + penalty * w
        grad_b = g.sum() / n
        grad_k = (g * Pr).sum() / n
        grad = np.concatenate([grad_w, [grad_b, grad_k]])
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        theta -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        if t % 100 == 0 or t == steps:
            # Spans without candidates contribute log 1 = 0.
            keep_ll = np.log(ekeep / denom + 1e-12)
            lab_ll = np.log(p[is_label] + 1e-12).sum()
            no_label = ~has[owner]
            ll = lab_ll + keep_ll[no_label].sum()
            print(f"  step {t}: nll {-ll / n:.4f}", file=sys.stderr)
    w = np.where(live, theta[:F] / sd, 0.0)
    b = theta[F] - (theta[:F] * mu / sd).sum()
    w[ti] = 1.0
    if not channels:
        return w, None, b, theta[F + 1]
    shared = w[:F1].copy()
    shared[FEATURES.index("is_table")] = 0.0  # 0.0 in every thesaurus row
    shared[FEATURES.index("table_logp")] = 0.0  # likewise
    table = w[:F1] + w[F1:]
    table[FEATURES.index("table_logp")] = 1.0
    return shared, table, b, theta[F + 1]


def rescore(examples, params: Params):
    """Recompute candidate logits under ``params`` in place."""
    wv = np.array(params.weights)
    tv = np.array(params.channel(True))
    table = FEATURES.index("is_table")
    for feats, _mask, _labels, _r, spans, *_ in examples:
        logits = np.where(feats[:, :, table] > 0, feats @ tv, feats @ wv) + params.bias
        for si, s in enumerate(spans):
            for ci, c in enumerate(s.candidates[:K]):
                c.logit = float(logits[si, ci])
            s.candidates.sort(key=lambda c: -c.logit)


def outcomes(examples, restorer: Restorer):
    """Every span's confidence and what changing it would be, under the EM prior.

    Returns ([(confidence, "fix" | "damage" | "clean" | "other")], swaps,
    untouched words of spun documents, words of unspun documents); the
    threshold only cuts this list, so it is scored once for every threshold.
    """
    scored = []
    swaps_n = untouched = clean_words = 0
    for _f, _m, _l, _r, spans, doc, swaps, rate in examples:
        score_spans(spans, restorer.prior(restorer.estimate_rate(spans)))
        if rate == 0:
            clean_words += doc.n_words
            scored += [(s.confidence, "clean") for s in spans]
            continue
        by_span = {(s.start, s.end): s.original.lower() for s in swaps}
        covered = set()
        for s in swaps:
            covered.update(range(s.start, s.end))
        swaps_n += len(swaps)
        untouched += doc.n_words - sum(len(s.original.split()) for s in swaps)
        for s in spans:
            start, end = doc.words[s.i].start, doc.words[s.j - 1].end
            orig = by_span.get((start, end))
            if orig is not None and " ".join(s.best.words) == orig:
                kind = "fix"
            elif not any(k in covered for k in range(start, end)):
                kind = "damage"
            else:
                kind = "other"
            scored.append((s.confidence, kind))
    return scored, swaps_n, untouched, clean_words


def evaluate(outcome, threshold: float):
    """Fixed share, damage and clean changes per 1000 words at ``threshold``."""
    scored, swaps_n, untouched, clean_words = outcome
    n = {"fix": 0, "damage": 0, "clean": 0, "other": 0}
    for conf, kind in scored:
        if conf >= threshold:
            n[kind] += 1
    return {
        "fixed": n["fix"] / max(swaps_n, 1),
        "damage_per_1000": 1000 * n["damage"] / max(untouched, 1),
        "clean_per_1000": 1000 * n["clean"] / max(clean_words, 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=Path, default=ROOT / "corpus" / "own")
    ap.add_argument("--dicts", nargs="+", default=["moby+habits", "mythes+habits"])
    ap.add_argument("--rates", nargs="+", type=float, default=[0.0, 0.1, 0.2, 0.3])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--channels", action="store_true",
                    help="separate weights for table and thesaurus candidates (not shipped; "
                         "see docs/accuracy.md)")
    ap.add_argument("--l2-delta", type=float, help="shrinkage of the table weights' deltas")
    ap.add_argument("--clean-target", type=float, default=0.5, help="changes per 1000 words")
    ap.add_argument(
        "--damage-target", type=float, default=1.5, help="per 1000 untouched words of spun text"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "unspin" / "data" / "model.json")
    args = ap.parse_args(argv)
    if args.l2_delta is not None and not args.channels:
        ap.error("--l2-delta shrinks the table deltas of --channels")

    texts = [p.read_text(encoding="utf-8") for p in sorted(args.texts.glob("*.txt"))]
    base = replace(Params.untrained(), max_kept=K)
    restorer = Restorer(params=base)
    t0 = time.time()
    examples = build_examples(restorer, texts, args.dicts, args.rates, args.seeds)
    n_spans = sum(len(e[2]) for e in examples)
    print(f"{len(examples)} documents, {n_spans} spans ({time.time() - t0:.0f}s)", file=sys.stderr)

    lo, hi = base.rate_bounds

    def logit(r):
        r = min(hi, max(lo, r))
        return math.log(r / (1 - r))

    # Stage 1: true rates as the prior. Stage 2: the EM rates inference will see.
    priors = [logit(e[3]) for e in examples]
    w, tw, b, k = fit(examples, priors, args.channels, l2_delta=args.l2_delta)
    params = replace(base, weights=tuple(w), table_weights=None if tw is None else tuple(tw),
                     bias=float(b), prior_weight=float(k))
    for _ in range(2):
        rescore(examples, params)
        restorer.p = params
        priors = [logit(restorer.estimate_rate(e[4])) for e in examples]
        w, tw, b, k = fit(examples, priors, args.channels, l2_delta=args.l2_delta)
        params = replace(base, weights=tuple(w), table_weights=None if tw is None else tuple(tw),
                         bias=float(b), prior_weight=float(k))
    rescore(examples, params)
    restorer.p = params

    # Precision first: the lowest threshold that keeps both unspun documents
    # and the untouched words of spun ones (almost) unchanged.
    outcome = outcomes(examples, restorer)
    threshold = 0.99
    for th in np.arange(0.05, 0.991, 0.01):
        m = evaluate(outcome, float(th))
        if m["clean_per_1000"] <= args.clean_target and m["damage_per_1000"] <= args.damage_target:
            threshold = round(float(th), 2)
            break
    metrics = evaluate(outcome, threshold)
    print(f"threshold {threshold}: {metrics}", file=sys.stderr)
    final = replace(params, threshold=threshold, max_kept=Params.untrained().max_kept)
    out = final.to_json(
        trained_on={
            "texts": str(args.texts.relative_to(ROOT)),
            "documents": len(texts),
            "dictionaries": args.dicts,
            "rates": args.rates,
            "seeds": args.seeds,
            "spans": n_spans,
            "training_metrics": {k: round(v, 4) for k, v in metrics.items()},
        }
    )
    out["weights"] = {f: round(v, 5) for f, v in out["weights"].items()}
    if "table_weights" in out:
        out["table_weights"] = {f: round(v, 5) for f, v in out["table_weights"].items()}
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
