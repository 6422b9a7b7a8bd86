"""Changes restore makes to clean news, per 1000 words, with the commonest ones.

A wider check than evaluate_restore's clean column (which only sees the
documents it spins): restore every document of a split, unspun.

    python eval/clean_check.py --split dev --docs 300
    python eval/clean_check.py --folder corpus/stress --detect   # our own stress texts

``--folder`` reads every ``*.txt`` of a folder instead of the research
corpora (so it runs anywhere); ``--detect`` also lists the texts detect
calls spun.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import corpus  # noqa: E402
import unspin  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=corpus.SPLITS, default="dev")
    ap.add_argument("--docs", type=int, default=300, help="documents per corpus")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--folder", type=Path, help="check the *.txt files of this folder instead")
    ap.add_argument("--detect", action="store_true", help="also list texts detect calls spun")
    args = ap.parse_args()
    if args.folder is not None:
        files = sorted(args.folder.glob("*.txt"))
        sets = {args.folder.name: [(p.name, p.read_text(encoding="utf-8")) for p in files]}
    elif corpus.available():
        sets = {name: [(d.id, d.text) for d in corpus.load(name, args.split)[: args.docs]]
                for name in ("bbc", "reuters")}
    else:
        print(f"{corpus.CORPUS_DIR} is not available", file=sys.stderr)
        return 1
    words = changes = 0
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    for name, docs in sets.items():
        w = ch = 0
        flagged = []
        for doc_id, text in docs:
            r = unspin.restore(text)
            w += len(text.split())
            ch += len(r.changes)
            seen.update((c.spun.lower(), c.restored.lower()) for c in r.changes)
            if args.detect:
                d = unspin.detect(text)
                if d.verdict == "spun":
                    flagged.append(f"{doc_id} (P {d.spun_probability:.2f})")
        rate = 1000 * ch / max(w, 1)
        print(f"{name}: {len(docs)} docs, {w} words, {ch} changes, {rate:.2f}/1000")
        if args.detect:
            print(f"  detect calls {len(flagged)} of {len(docs)} spun: {', '.join(flagged)}")
        words += w
        changes += ch
    print(f"all: {1000 * changes / max(words, 1):.2f} changes per 1000 words")
    for (spun, restored), n in seen.most_common(args.top):
        print(f"{n:6d}  {spun} -> {restored}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
