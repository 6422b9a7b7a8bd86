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

from ._cachedict import CacheDict

# pocketsphinx stores log base 1.0001; ln(1.0001) ≈ 1e-4.
_LOG_UNIT = 0.000099995
# Probability assigned to a word the LM does not know (ln p). Roughly that of a
# rare in-vocabulary word, so unknown words neither dominate nor vanish.
OOV_LOGPROB = -13.0
BOS = "<s>"


class LanguageModel:
    def __init__(self, path: str):
        from pocketsphinx import NGramModel

        self._path = path
        # Keep the model object referenced for as long as it is queried.
        self._model = NGramModel.readfile(path)
        self._prob = self._model.prob
        self._cache: dict[tuple[str, ...], float] = CacheDict()
        self._known: dict[str, bool] = {}
        # prob([word]) of each known word, as known() got it (zipf reuses it).
        self._unigram_raw: dict[str, int] = {}
        self._unigram: dict[str, float] = {}
        self._unk = self._prob(["qzxvunknownword"])
        # Memoised sequence_logprob terms: by raw (w, h1, h2), and in columns.
        self._memo: dict[tuple[str, str | None, str | None], float] = CacheDict()
        self._columns: dict[tuple[int, str | None, str | None], _Column] = CacheDict()
        # For two-word candidates (a, b): position x | b a by x, then by (a, b).
        self._after: dict[str, dict[tuple[str, str], float]] = {}
        self._memo_size = 0

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
            raw = self._prob([word])
            k = self._known[word] = raw != self._unk
            if k:
                self._unigram_raw[word] = raw
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

    def _logprob_uncached(self, word: str, h1: str | None, h2: str | None) -> float:
        # logprob() without its cache: the memo and columns below are the cache.
        if not self.known(word):
            return OOV_LOGPROB
        if not h1:
            return self._prob([word]) * _LOG_UNIT
        if h2 is None:
            return self._prob([word, h1]) * _LOG_UNIT
        return self._prob([word, h1, h2]) * _LOG_UNIT

    def _cut(self, h1: str | None, h2: str | None) -> tuple[str | None, str | None]:
        """The history :meth:`sequence_logprob` uses: unknown words cut it."""
        if h1 is not None and h1 != BOS and not self.known(h1):
            return None, None
        if h2 is not None and h2 != BOS and not self.known(h2):
            h2 = None
        return h1, h2

    def position_logprob(self, w: str, h1: str | None, h2: str | None) -> float:
        """One term of :meth:`sequence_logprob`: ``w`` after ``h2 h1`` as they stand.

        ``h2`` must already be None when ``h1`` is None or BOS.
        """
        h1, h2 = self._cut(h1, h2)
        return self._logprob_uncached(w, h1, h2)

    # Memoised positions. Restore scores up to 40 candidates in one context, so
    # two of (w, h1, h2) are fixed per span and the candidate fills the third:
    # once a column is filled for a span's candidates, ``values[candidate]``
    # is a single dict lookup, no Python call.
    def column_w(self, h1: str | None, h2: str | None) -> _Column:
        """position_logprob(w, h1, h2) for any ``w`` (``h2`` None if ``h1`` is None/BOS)."""
        col = self._columns.get((0, h1, h2))
        return self._new_column(0, h1, h2) if col is None else col

    def column_h1(self, w: str, h2: str | None) -> _Column:
        """position_logprob(w, h1, h2) for any real word ``h1`` (not None or BOS)."""
        col = self._columns.get((1, w, h2))
        return self._new_column(1, w, h2) if col is None else col

    def column_h2(self, w: str, h1: str) -> _Column:
        """position_logprob(w, h1, h2) for any ``h2``; ``h1`` is a real word."""
        col = self._columns.get((2, w, h1))
        return self._new_column(2, w, h1) if col is None else col

    def _new_column(self, slot: int, a: str | None, b: str | None) -> _Column:
        self._grow()
        col = self._columns[slot, a, b] = _Column(self, slot, a, b)
        return col

    def _grow(self) -> None:
        # One bound for all memoised positions, like logprob's cache: a long
        # run must not grow without limit (values are recomputed exactly).
        if self._memo_size > 1_500_000:
            self._columns.clear()
            self._memo.clear()
            self._after.clear()
            self._memo_size = 0

    def zipf(self, words: tuple[str, ...] | list[str]) -> float:
        """Zipf-scale frequency (log10 per billion) of the rarest word of ``words``.

        The LM's unigram distribution is restore's frequency prior: candidates
        are scored against the same counts as their context. (The lexicon's
        own zipf column serves the index's synonym classes.)
        """
        get = self._unigram.get
        lp = get(words[0]) if len(words) == 1 else None
        if lp is None:
            lp = min(self._unigram_logprob(w) for w in words)
        return lp / 2.302585 + 9.0

    def _unigram_logprob(self, word: str) -> float:
        # logprob(word), memoised by the word alone: a str-keyed dict of floats
        # is never tracked by CPython's collector (logprob's cache has tuple keys).
        v = self._unigram.get(word)
        if v is None:
            if len(self._unigram) > 500_000:
                self._unigram.clear()
            # logprob(word) without a second model query: known() kept it.
            if not self.known(word):
                v = OOV_LOGPROB
            else:
                raw = self._unigram_raw.get(word)
                v = (self._prob([word]) if raw is None else raw) * _LOG_UNIT
            self._unigram[word] = v
        return v

    def sequence_logprob(
        self, words: list[str | None], start: int = 0, end: int | None = None
    ) -> float:
        """Sum of ln P(w_i | history) for i in [start, end).

        ``None`` entries (numbers, unknown words, sentence breaks) cut the history.
        A history word the LM does not know also cuts it.
        """
        end = len(words) if end is None else end
        memo = self._memo
        total = 0.0
        for i in range(start, end):
            w = words[i]
            if w is None:
                continue
            h1 = words[i - 1] if i >= 1 else None
            h2 = words[i - 2] if i >= 2 and h1 not in (None, BOS) else None
            v = memo.get((w, h1, h2))
            if v is None:
                self._grow()
                v = memo[w, h1, h2] = self.position_logprob(w, h1, h2)
                self._memo_size += 1
            total += v
        return total

    def window_logprobs(
        self, left: list[str | None], cands: list[tuple[str, ...]], right: list[str]
    ) -> list[float]:
        """sequence_logprob([*left, *c, *right], len(left)) for each candidate ``c``.

        ``left`` (one or two entries) and ``right`` (up to two words) are the
        fixed context of a span. For callers that score a candidate set once
        (spintax, learn); restore prepares its plans once per form and calls
        :meth:`window_logprobs_plan` directly. The floats are identical.
        """
        return self.window_logprobs_plan(left, window_plan(cands), right)

    def window_logprobs_plan(self, left: list[str | None], plan: tuple, right: list[str]
                             ) -> list[float]:
        """:meth:`window_logprobs` for candidates prepared once by :func:`window_plan`.

        Restore's path. The candidates come grouped by length (one word, two
        words, longer), so each group is one comprehension with no per-item
        branch, and candidates of any length read columns and the memo (the
        general path's ``sequence_logprob`` call is gone). The terms of each
        sum are the ones ``sequence_logprob`` adds, in its order, so the
        floats are identical; results come back in the candidates' order.
        """
        h1 = left[-1]
        col_c = self.column_w(h1, left[-2] if len(left) == 2 and h1 not in (None, BOS) else None)
        nr = len(right)
        col_x = col_y = after = None
        if nr:
            col_x = self.column_h1(right[0], h1)
            if nr == 2:
                col_y = self.column_h2(right[1], right[0])
            if plan[1]:
                after = self._after.get(right[0])
                if after is None:
                    after = self._after[right[0]] = {}
        # Optimistic first: columns and memo as they stand. A KeyError means
        # some entry is new: every entry the sums read is then filled (the
        # column objects are held here, so a _grow() cannot empty them) and
        # the same sums run again.
        try:
            out = _plan_sums(plan, h1, right, col_c.values, col_x and col_x.values,
                             col_y and col_y.values, self._memo, col_c.pairs, after)
        except KeyError:
            singles, pairs, longs, perm, firsts, ones, lasts = plan
            at_c = col_c.fill(firsts)
            if col_x is not None:
                col_x.fill(ones)
            if col_y is not None:
                col_y.fill(lasts)
            # A two-word candidate's first two terms, summed as the sequence
            # sums them, by the pair; the term after it by the pair too. The
            # memo gets the entries of new pairs and of longer candidates.
            prefix = col_c.pairs
            new = [p for p in pairs if p not in prefix]
            keys = [(b, a, h1) for a, b in new]
            new_x = []
            if after is not None:
                x = right[0]
                new_x = [p for p in pairs if p not in after]
                keys += [(x, b, a) for a, b in new_x]
            if longs:
                keys += _plan_memo_keys(longs, h1, right)
            memo = self._memo_fill(keys)
            for p in new:
                a, b = p
                prefix[p] = at_c[a] + memo[b, a, h1]
            for p in new_x:
                a, b = p
                after[p] = memo[x, b, a]
            self._memo_size += len(new) + len(new_x)
            out = _plan_sums(plan, h1, right, at_c, col_x and col_x.values,
                             col_y and col_y.values, memo, prefix, after)
        perm = plan[3]
        return out if perm is None else list(map(out.__getitem__, perm))

    def _memo_fill(self, keys: list[tuple[str, str | None, str | None]]) -> dict:
        """The memo with every (w, h1, h2) of ``keys`` present (``w`` a real word).

        The memoised ``position_logprob`` of each key, computed in a batch with
        its calls inlined; the memo is returned and nothing clears it until
        the next _grow().
        """
        memo = self._memo
        missing = [k for k in keys if k not in memo]
        if not missing:
            return memo
        self._grow()
        if not memo:  # cleared just now
            missing = keys
        known_get, known, prob = self._known.get, self.known, self._prob
        for k in missing:
            w, h1, h2 = k
            # position_logprob(w, h1, h2): _cut, then _logprob_uncached.
            if h1 is not None and h1 != BOS:
                kn = known_get(h1)
                if not (known(h1) if kn is None else kn):
                    h1 = h2 = None
            if h2 is not None and h2 != BOS:
                kn = known_get(h2)
                if not (known(h2) if kn is None else kn):
                    h2 = None
            kn = known_get(w)
            if not (known(w) if kn is None else kn):
                memo[k] = OOV_LOGPROB
            elif not h1:
                memo[k] = prob([w]) * _LOG_UNIT
            elif h2 is None:
                memo[k] = prob([w, h1]) * _LOG_UNIT
            else:
                memo[k] = prob([w, h1, h2]) * _LOG_UNIT
        self._memo_size += len(missing)
        return memo


def _plan_sums(plan: tuple, h1, right, at_c: dict, at_x, at_y, memo: dict, prefix: dict,
               after) -> list[float]:
    """The window sums of :meth:`LanguageModel.window_logprobs_plan`, grouped
    (one-word, two-word, longer candidates); KeyError if an entry is missing.

    A two-word candidate (a, b) reads ``prefix[a, b]`` (= at_c[a] + the memo's
    b | a h1, the sequence's first two terms already added) and ``after[a, b]``
    (the memo's x | b a), keyed by the plan's own tuple: no key is built.
    """
    singles, pairs, longs = plan[0], plan[1], plan[2]
    nr = len(right)
    x = right[0] if nr else None
    if nr == 2:
        out = [at_c[w] + at_x[w] + at_y[w] for w in singles]
        if pairs:
            out += [prefix[p] + after[p] + at_y[p[1]] for p in pairs]
    elif nr == 1:
        out = [at_c[w] + at_x[w] for w in singles]
        if pairs:
            out += [prefix[p] + after[p] for p in pairs]
    else:
        out = [at_c[w] for w in singles]
        if pairs:
            out += [prefix[p] for p in pairs]
    for c in longs:
        v = at_c[c[0]] + memo[c[1], c[0], h1]
        for k in range(2, len(c)):
            v += memo[c[k], c[k - 1], c[k - 2]]
        if nr:
            v += memo[x, c[-1], c[-2]]
            if nr == 2:
                v += at_y[c[-1]]
        out.append(v)
    return out


def _plan_memo_keys(longs: tuple, h1, right) -> list[tuple]:
    """The memo entries :func:`_plan_sums` reads for candidates of three or more words."""
    keys = []
    x = right[0] if right else None
    for c in longs:
        keys.append((c[1], c[0], h1))
        keys += [(c[k], c[k - 1], c[k - 2]) for k in range(2, len(c))]
        if right:
            keys.append((x, c[-1], c[-2]))
    return keys


def window_plan(cands) -> tuple:
    """Candidates (tuples of LM words, none empty) grouped for
    :meth:`LanguageModel.window_logprobs_plan`: (one-word candidates as words,
    two-word ones, longer ones, the permutation back to the given order or
    None, the distinct first words, the distinct one-word candidates, the
    distinct last words)."""
    groups: tuple[list, list, list] = ([], [], [])
    where = []
    for c in cands:
        g = min(len(c), 3) - 1
        where.append((g, len(groups[g])))
        groups[g].append(c[0] if g == 0 else c)
    singles, pairs, longs = groups
    offset = (0, len(singles), len(singles) + len(pairs))
    perm = [offset[g] + k for g, k in where]
    return (
        tuple(singles),
        tuple(pairs),
        tuple(longs),
        None if perm == sorted(perm) else tuple(perm),
        tuple(dict.fromkeys(c[0] for c in cands)),
        tuple(dict.fromkeys(singles)),
        tuple(dict.fromkeys(c[-1] for c in cands)),
    )


class _Column:
    """One window position with two of (w, h1, h2) fixed, memoised by the third.

    The fixed words are checked against the vocabulary once, up front, so a
    miss only looks at the free word before asking the model. ``values`` is a
    plain dict of str to float: CPython's collector never tracks such a dict,
    where a dict subclass (the old column) was traversed, entries and all, by
    every full collection of a cold pass.
    """

    __slots__ = ("values", "pairs", "_lm", "_slot", "_w", "_h1", "_h2", "_const", "_hist", "_pre",
                 "_post", "_unknown")

    def __init__(self, lm: LanguageModel, slot: int, a: str | None, b: str | None) -> None:
        self.values: dict[str | None, float] = {}
        # Slot 0 only: (a, b) -> values[a] + the memo's b | a h1 (window_logprobs_plan).
        self.pairs: dict[tuple[str, str], float] = {}
        self._lm, self._slot = lm, slot
        self._w = self._h1 = self._h2 = None
        self._const: float | None = None  # the value whatever the free word
        self._hist: tuple[str, ...] = ()
        if slot == 0:  # a, b = h1, h2
            self._h1, self._h2 = lm._cut(a, b)
            # The history _logprob_uncached would pass after the free word.
            h1, h2 = self._h1, self._h2
            self._hist = () if not h1 else (h1,) if h2 is None else (h1, h2)
        elif not lm.known(a):  # type: ignore[arg-type]  # a = w
            self._const = OOV_LOGPROB
        elif slot == 1:  # b = h2, cut as sequence_logprob would
            self._w = a
            self._h2 = lm._cut(a, b)[1]  # a is known, so only b can be cut
        elif not lm.known(b):  # type: ignore[arg-type]  # b = h1: unknown cuts all
            self._const = lm._logprob_uncached(a, None, None)  # type: ignore[arg-type]
        else:
            self._w, self._h1 = a, b
        # A known free word x is scored as prob([*_pre, x, *_post]) (the
        # calls _value makes, without its branches); _unknown is the value
        # for a word the LM lacks, computed on first need.
        self._unknown: float | None = OOV_LOGPROB if slot == 0 else None
        # Tuples, not lists: the collector stops tracking tuples of strings.
        self._pre: tuple = ()
        self._post: tuple = ()
        if slot == 0:
            self._post = self._hist
        elif slot == 1:
            self._pre, self._post = (self._w,), () if self._h2 is None else (self._h2,)
        else:
            self._pre = (self._w, self._h1)

    def fill(self, xs: list[str]) -> dict[str | None, float]:
        """``values`` with every free word of ``xs`` present; returns ``values``."""
        vals = self.values
        missing = [x for x in xs if x not in vals]
        if not missing:
            return vals
        n = len(vals)
        lm = self._lm
        const = self._const
        if const is not None:
            for x in missing:
                vals[x] = const
        else:
            known, prob, pre, post = lm._known.get, lm._prob, self._pre, self._post
            for x in missing:  # a repeated word is just computed twice
                if x is None or x == BOS:
                    vals[x] = self._value(x)
                    continue
                k = known(x)
                if lm.known(x) if k is None else k:
                    vals[x] = prob([*pre, x, *post]) * _LOG_UNIT
                else:
                    u = self._unknown
                    if u is None:
                        u = self._unknown = self._value(x)
                    vals[x] = u
        lm._memo_size += len(vals) - n
        return vals

    def _value(self, x: str | None) -> float:
        """The reference computation of one entry (fill's fast path agrees)."""
        lm = self._lm
        v = self._const
        if v is not None:
            return v
        if x is None or x == BOS:  # only as h2 (slot 2): history markers stay
            known = True
        else:
            known = lm._known.get(x)
            if known is None:
                known = lm.known(x)
        if self._slot == 0:  # x = w
            if not known:
                return OOV_LOGPROB
            if x is None or x == BOS:
                return lm._logprob_uncached(x, self._h1, self._h2)  # type: ignore[arg-type]
            return lm._prob([x, *self._hist]) * _LOG_UNIT
        if self._slot == 1:  # x = h1: an unknown one cuts the history
            if not known:
                return lm._prob([self._w]) * _LOG_UNIT
            if self._h2 is None:
                return lm._prob([self._w, x]) * _LOG_UNIT
            return lm._prob([self._w, x, self._h2]) * _LOG_UNIT
        # x = h2: an unknown one is dropped
        h2 = x if known else None
        p = [self._w, self._h1, h2] if h2 is not None else [self._w, self._h1]
        return lm._prob(p) * _LOG_UNIT
