"""Changes restore makes to clean news, per 1000 words, with the commonest ones.

A wider check than evaluate_restore's clean column (which only sees the
documents it spins): restore every document of a split, unspun.

    python eval/clean_check.py --split dev --docs 300
    python eval/clean_check.py --folder corpus/stress --detect   # our own stress texts
    python eval/clean_check.py --folder corpus/own --sentences   # one sentence at a time

``--sentences`` restores each sentence of 8+ words on its own, as a person
pasting one line into the web page would: less context, less evidence.

``--folder`` reads every ``*.txt`` of a folder instead of the research
corpora (so it runs anywhere); ``--detect`` also lists the texts detect
calls spun.
"""

from __future__ import annotations

import argparse
import collections
import re
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
    ap.add_argument("--sentences", action="store_true",
                    help="restore each sentence (8+ words) on its own")
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
    if args.sentences:
        sets = {name: [(f"{doc_id}#{k}", s) for doc_id, text in docs
                       for k, s in enumerate(_sentences(text))]
                for name, docs in sets.items()}
    words = changes = 0
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    for name, docs in sets.items():
        w = ch = 0
        flagged = []
        refused = 0
        for doc_id, text in docs:
            try:
                r = unspin.restore(text)
            except unspin.InputError:  # a figure table cut to one line, say
                refused += 1
                continue
            w += len(text.split())
            ch += len(r.changes)
            seen.update((c.spun.lower(), c.restored.lower()) for c in r.changes)
            if args.detect:
                d = unspin.detect(text)
                if d.verdict == "spun":
                    flagged.append(f"{doc_id} (P {d.spun_probability:.2f})")
        rate = 1000 * ch / max(w, 1)
        print(f"{name}: {len(docs)} docs ({refused} refused), {w} words, {ch} changes, "
              f"{rate:.2f}/1000")
        if args.detect:
            print(f"  detect calls {len(flagged)} of {len(docs)} spun: {', '.join(flagged)}")
        words += w
        changes += ch
    print(f"all: {1000 * changes / max(words, 1):.2f} changes per 1000 words")
    for (spun, restored), n in seen.most_common(args.top):
        print(f"{n:6d}  {spun} -> {restored}")
    return 0


def _sentences(text: str) -> list[str]:
    """Sentences of at least 8 words (a full stop, ! or ? before a capital)."""
    out = []
    for para in text.split("\n\n"):
        out += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"“])", para.strip())
                if len(s.split()) >= 8]
    return out


if __name__ == "__main__":
    sys.exit(main())
