"""Measure restore and detect on news spun by hand (``corpus/handspun``).

    python eval/evaluate_handspun.py [--dir corpus/handspun] [--confidence X]

Fifteen passages written for the project and spun by hand in the manner of
a content-farm dictionary spinner, by a reviewer who had not read unspin's
tables; every swap is recorded with its offsets in the spun and the clean
text (``swaps/*.json``). The metrics are evaluate_restore.py's: *fixed*
(a change with the swap's span whose restored text equals the original,
case-insensitively), *damage* (changes that overlap no swap, per 1000
words the spinner left alone) and *clean* (changes to the clean versions,
per 1000 words), plus detect's verdicts on both versions. It needs no
research corpus, so it runs anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import unspin

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=ROOT / "corpus" / "handspun")
    ap.add_argument("--confidence", type=float, help="restore threshold (default: the model's)")
    args = ap.parse_args()
    swaps_n = fixed = damage = untouched = clean_changes = clean_words = 0
    spun_called_clean, clean_called_spun = [], []
    for path in sorted((args.dir / "swaps").glob("*.json")):
        swaps = json.loads(path.read_text(encoding="utf-8"))["swaps"]
        spun = (args.dir / "spun" / f"{path.stem}.txt").read_text(encoding="utf-8")
        clean = (args.dir / "clean" / f"{path.stem}.txt").read_text(encoding="utf-8")
        changes = unspin.restore(spun, args.confidence).changes
        exact = {(c.start, c.end): c for c in changes}
        swaps_n += len(swaps)
        for s in swaps:
            c = exact.get((s["s_start"], s["s_end"]))
            want = s["orig"].lower()
            suffix = spun[s["s_end"] : s["s_end"] + 2]
            if c is None and suffix in ("'s", "’s"):
                # A possessive is restored whole, as evaluate_restore.py counts it.
                c = exact.get((s["s_start"], s["s_end"] + 2))
                want += suffix
            fixed += c is not None and c.restored.lower() == want
        for c in changes:
            if not any(c.start < s["s_end"] and s["s_start"] < c.end for s in swaps):
                damage += 1
        untouched += len(clean.split()) - sum(len(s["orig"].split()) for s in swaps)
        clean_changes += len(unspin.restore(clean, args.confidence).changes)
        clean_words += len(clean.split())
        if unspin.detect(spun).verdict != "spun":
            spun_called_clean.append(path.stem)
        if unspin.detect(clean).verdict != "clean":
            clean_called_spun.append(path.stem)
    n = len(list((args.dir / "swaps").glob("*.json")))
    print(f"{n} passages, {swaps_n} swaps, {clean_words} clean words")
    print(f"fixed {100 * fixed / max(swaps_n, 1):.1f} % ({fixed}), "
          f"damage {1000 * damage / max(untouched, 1):.2f} per 1000 ({damage}), "
          f"clean {1000 * clean_changes / max(clean_words, 1):.2f} per 1000 ({clean_changes})")
    print(f"detect: spun called clean {len(spun_called_clean)} of {n} {spun_called_clean}; "
          f"clean called spun {len(clean_called_spun)} of {n} {clean_called_spun}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
