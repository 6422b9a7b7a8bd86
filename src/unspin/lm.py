"""A trigram language model behind a tiny API.

unspin uses the English trigram model that ships inside the ``pocketsphinx``
wheel (72k words, ~2M bigrams, ~1.7M trigrams), so nothing is downloaded at
run time. Scores are natural-log probabilities.

>>> lm = LanguageModel.default()
>>> lm.known("told"), lm.known("qzxv")
(True, False)
>>> lm.sequence_logprob(["the", "officer", "told", "reporters"]) > \\
...     lm.sequence_logprob(["the", "officer", "instructed", "reporters"])
True
"""

from __future__ import annotations

import os
from functools import cache

# pocketsphinx stores log base 1.0001; ln(1.0001) ≈ 1e-4.
_LOG_UNIT = 0.000099995
# Probability assigned to a word the LM does not know (ln p). Roughly that of a
# rare in-vocabulary word, so unknown words neither dominate nor vanish.
OOV_LOGPROB = -13.0
BOS = "<s>"


class LanguageModel:
    def __init__(self, path: str):
        from pocketsphinx import NGramModel

        # Keep the model object referenced for as long as it is queried.
        self._model = NGramModel.readfile(path)
        self._prob = self._model.prob
        self._cache: dict[tuple[str, ...], float] = {}
        self._known: dict[str, bool] = {}
        self._unk = self._prob(["qzxvunknownword"])

    @classmethod
    @cache
    def default(cls) -> LanguageModel:
        import pocketsphinx

        here = os.path.dirname(pocketsphinx.__file__)
        path = os.path.join(here, "model", "en-us", "en-us.lm.bin")
        return cls(path)

    def known(self, word: str) -> bool:
        k = self._known.get(word)
        if k is None:
            k = self._known[word] = self._prob([word]) != self._unk
        return k

    def logprob(self, word: str, h1: str | None = None, h2: str | None = None) -> float:
        """ln P(word | h2 h1); ``h1`` is the word just before. ``None`` breaks history."""
        if not self.known(word):
            return OOV_LOGPROB
        key = (word, h1, h2) if h1 is not None and h2 is not None else (word, h1) if h1 else (word,)
        v = self._cache.get(key)
        if v is None:
            if len(self._cache) > 2_000_000:
                self._cache.clear()
            v = self._cache[key] = self._prob(list(key)) * _LOG_UNIT
        return v

    def zipf(self, words: tuple[str, ...] | list[str]) -> float:
        """Zipf-scale frequency (log10 per billion) of the rarest word of ``words``.

        The LM's unigram distribution is the frequency prior, so the runtime
        needs no second frequency table.
        """
        return min(self.logprob(w) for w in words) / 2.302585 + 9.0

    def sequence_logprob(
        self, words: list[str | None], start: int = 0, end: int | None = None
    ) -> float:
        """Sum of ln P(w_i | history) for i in [start, end).

        ``None`` entries (numbers, unknown words, sentence breaks) cut the history.
        A history word the LM does not know also cuts it.
        """
        end = len(words) if end is None else end
        total = 0.0
        for i in range(start, end):
            w = words[i]
            if w is None:
                continue
            h1 = words[i - 1] if i >= 1 else None
            h2 = words[i - 2] if i >= 2 and h1 not in (None, BOS) else None
            if h1 is not None and h1 != BOS and not self.known(h1):
                h1 = h2 = None
            if h2 is not None and h2 != BOS and not self.known(h2):
                h2 = None
            total += self.logprob(w, h1, h2)
        return total
