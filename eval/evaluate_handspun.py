"""Measure restore and detect on news spun by hand (``corpus/handspun``).

    python eval/evaluate_handspun.py [--dir corpus/handspun] [--confidence X]

Fifteen passages written for the project and spun by hand in the manner of
a content-farm dictionary spinner, by a reviewer who had not read unspin's
tables; every swap is recorded with its offsets in the spun and the clean
text (``swaps/*.json``). The metrics are evaluate_restore.py's: *fixed*
(a change with the swap's span whose restored text equals the original,
case-insensitively), *damage* (changes that overlap no swap, per 1000
words the spinner left alone) and *clean* (changes to the clean versions,
per 1000 words), plus detect's verdicts on both versions, scored by evaluate_restore.py's
own functions. It needs no research corpus (the ``build`` extra, as all of
eval/, for the spinner module the scorer imports).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from evaluate_restore import Tally, score_clean, score_spun  # noqa: E402
from spinner import SpinResult, Swap, count_words, untouched_word_count  # noqa: E402

import unspin  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def load(folder: Path) -> list[tuple[str, SpinResult, str]]:
    """(passage name, its spin with the recorded swaps, its clean text) per passage."""
    out = []
    for path in sorted((folder / "swaps").glob("*.json")):
        spun = (folder / "spun" / f"{path.stem}.txt").read_text(encoding="utf-8")
        clean = (folder / "clean" / f"{path.stem}.txt").read_text(encoding="utf-8")
        swaps = [Swap(s["s_start"], s["s_end"], s["spun"], s["orig"])
                 for s in json.loads(path.read_text(encoding="utf-8"))["swaps"]]
        res = SpinResult(spun, swaps, count_words(spun),
                         untouched_word_count(spun, ((s.start, s.end) for s in swaps)))
        out.append((path.stem, res, clean))
    return out


def evaluate(passages: list[tuple[str, SpinResult, str]], confidence: float | None = None
             ) -> tuple[Tally, Tally, list[str], list[str]]:
    """Restore's tallies on the spun and the clean passages (as :func:`load`
    gives them), and the names of spun passages detect calls clean and of
    clean ones it calls spun."""
    spun_tally, clean_tally = Tally(), Tally()
    spun_called_clean, clean_called_spun = [], []
    for name, res, clean in passages:
        score_spun(spun_tally, res, unspin.restore(res.text, confidence))
        score_clean(clean_tally, clean, count_words(clean), unspin.restore(clean, confidence))
        if unspin.detect(res.text).verdict != "spun":
            spun_called_clean.append(name)
        if unspin.detect(clean).verdict != "clean":
            clean_called_spun.append(name)
    return spun_tally, clean_tally, spun_called_clean, clean_called_spun


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=ROOT / "corpus" / "handspun")
    ap.add_argument("--confidence", type=float, help="restore threshold (default: the model's)")
    args = ap.parse_args()
    passages = load(args.dir)
    spun_tally, clean_tally, spun_called_clean, clean_called_spun = evaluate(
        passages, args.confidence)
    m, c = spun_tally.metrics(), clean_tally.metrics()
    print(f"{len(passages)} passages, {m['swaps']} swaps, {c['words']} clean words")
    print(f"fixed {m['fixed_pct']:.1f} % ({spun_tally.fixed}), precision "
          f"{m['precision_pct']:.1f} %, damage {m['damage_per_1000']:.2f} per 1000 "
          f"({spun_tally.damage}), clean {c['damage_per_1000']:.2f} per 1000 ({c['changes']})")
    print(f"detect: spun called clean {len(spun_called_clean)} of {len(passages)} "
          f"{spun_called_clean}; clean called spun {len(clean_called_spun)} of "
          f"{len(passages)} {clean_called_spun}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
