"""Changes restore makes to clean news, per 1000 words, with the commonest ones.

A wider check than evaluate_restore's clean column (which only sees the
documents it spins): restore every document of a split, unspun.

    python eval/clean_check.py --split dev --docs 300
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
    ap.add_argument("--split", choices=("dev", "test"), default="dev")
    ap.add_argument("--docs", type=int, default=300, help="documents per corpus")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    if not corpus.available():
        print("../shared/corpora is not available", file=sys.stderr)
        return 1
    words = changes = 0
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    for name in ("bbc", "reuters"):
        docs = corpus.load(name, args.split)[: args.docs]
        w = ch = 0
        for d in docs:
            r = unspin.restore(d.text)
            w += len(d.text.split())
            ch += len(r.changes)
            seen.update((c.spun.lower(), c.restored.lower()) for c in r.changes)
        rate = 1000 * ch / max(w, 1)
        print(f"{name}: {len(docs)} docs, {w} words, {ch} changes, {rate:.2f}/1000")
        words += w
        changes += ch
    print(f"all: {1000 * changes / max(words, 1):.2f} changes per 1000 words")
    for (spun, restored), n in seen.most_common(args.top):
        print(f"{n:6d}  {spun} -> {restored}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
