"""Clean news text for evaluation: BBC News (2004-05) and Reuters-21578.

    import corpus
    if corpus.available("bbc"):
        docs = corpus.load("bbc", "dev")   # list[Doc]

Splits are fixed by a hash of the document id: "dev" for tuning, "test" held out.
The corpora are research-only: never copy them, or anything derived from them,
into the repository (write outputs under eval/out/, which is gitignored).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path("/work/shared/corpora")
FILES = {
    "bbc": CORPUS_DIR / "bbc-news.jsonl.gz",
    "reuters": CORPUS_DIR / "reuters-21578.jsonl.gz",
}
SPLITS = ("dev", "test")
REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "eval" / "out"  # gitignored: the only place corpus-derived output may go
MIN_WORDS = 80  # shorter documents are mostly tables and one-line notices
_WORD_RE = re.compile(r"(?<!\w)[A-Za-z]+(?:[-'\u2019][A-Za-z]+)*(?!\w)")  # = spinner.WORD_RE


@dataclass(frozen=True, slots=True)
class Doc:
    id: str
    title: str
    text: str


def available(name: str | None = None) -> bool:
    """Whether the corpus file (or, without a name, every corpus file) is readable."""
    paths = FILES.values() if name is None else [FILES[name]]
    return all(p.is_file() for p in paths)


def split_of(doc_id: str) -> str:
    # A hash of the id, not file order, so the split survives re-exports.
    return SPLITS[hashlib.sha256(doc_id.encode("utf-8")).digest()[0] & 1]


def _clean_reuters(text: str) -> str:
    # The export marks paragraph starts with a literal "&\t" and hard-wraps lines
    # at ~65 columns; restore plain paragraphs and drop the "Reuter" sign-off.
    paras = re.split(r"\s*&\\t\s*", text)
    paras = [re.sub(r"[ \t]*\n[ \t]*", " ", p).strip() for p in paras]
    text = "\n\n".join(p for p in paras if p)
    return re.sub(r"\s*\bREUTER\s*$", "", text, flags=re.IGNORECASE)


@functools.cache
def _load_all(name: str) -> tuple[tuple[str, Doc], ...]:
    if name not in FILES:
        raise ValueError(f"unknown corpus {name!r}; choose from {sorted(FILES)}")
    out = []
    with gzip.open(FILES[name], "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            text = rec["text"]
            if name == "reuters":
                text = _clean_reuters(text)
            if len(_WORD_RE.findall(text)) < MIN_WORDS:
                continue
            doc_id = str(rec["id"])
            out.append((split_of(doc_id), Doc(doc_id, rec.get("title") or "", text)))
    return tuple(out)


def load(name: str, split: str) -> list[Doc]:
    """Documents of corpus `name` ("bbc" or "reuters") in `split` ("dev" or "test"),
    in file order, with at least 80 words."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    return [doc for s, doc in _load_all(name) if s == split]


def out_path(arg: str) -> Path:
    """Where an evaluation writes its ``--json``: a bare name goes to eval/out/;
    any other place inside the repository is refused (corpus-derived output
    must never be committed)."""
    path = Path(arg)
    if path.parent == Path("."):
        path = OUT_DIR / path
    path = path.resolve()
    if path.is_relative_to(REPO) and not path.is_relative_to(OUT_DIR):
        raise SystemExit(f"refusing to write corpus-derived output inside the repo but "
                         f"outside {OUT_DIR.relative_to(REPO)}/: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
