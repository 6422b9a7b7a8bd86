"""The memoised window scoring restore uses equals plain sequence_logprob, bit for bit."""

from __future__ import annotations

import random

from unspin.lm import BOS, LanguageModel, _Column, window_plan

# Known words, words the LM lacks (they cut the history), and the markers.
_WORDS = ["the", "officer", "told", "reporters", "said", "year", "came", "back", "a", "of",
          "qzxvfoo", "blorptastic", "police", "new", "library"]


def test_window_logprobs_match_sequence_logprob():
    lm = LanguageModel.default()
    fresh = LanguageModel(lm._path)
    rng = random.Random(7)
    for _ in range(3000):
        # Left context as restore builds it: [BOS], [None], [w], [BOS|None|w, w].
        left: list[str | None] = [rng.choice([BOS, None, *_WORDS])]
        if left[0] not in (BOS, None) and rng.random() < 0.7:
            left.insert(0, rng.choice([BOS, None, *_WORDS]))
        right = [rng.choice(_WORDS) for _ in range(rng.randint(0, 2))]
        cands = [tuple(rng.choice(_WORDS) for _ in range(rng.randint(1, 3))) for _ in range(5)]
        got = lm.window_logprobs(left, cands, right)
        want = [lm.sequence_logprob([*left, *c, *right], len(left)) for c in cands]
        assert got == want, (left, cands, right)
        assert lm.window_logprobs(left, cands, right) == want  # warm: the optimistic read
        # Restore's path for one-word candidates, on a fresh model (cold columns) and warm.
        ones = [c[:1] for c in cands]
        plan = window_plan(ones)
        want = [lm.sequence_logprob([*left, *w, *right], len(left)) for w in ones]
        assert fresh.window_logprobs_plan(left, plan, right) == want, (left, ones, right)
        assert fresh.window_logprobs_plan(left, plan, right) == want


def test_window_plan_matches_sequence_logprob():
    # Restore's grouped path (one-, two- and longer candidates, put back in
    # order) against the reference, cold (fresh model) and warm, and with the
    # memo cleared by _grow() along the way.
    lm = LanguageModel.default()
    rng = random.Random(11)

    class Forgetful(LanguageModel):
        def _grow(self) -> None:  # every bound check clears all memoised positions
            self._columns.clear()
            self._memo.clear()
            self._memo_size = 0

    for tiny in (False, True):
        fresh = Forgetful(lm._path) if tiny else LanguageModel(lm._path)
        for _ in range(1500):
            left: list[str | None] = [rng.choice([BOS, None, *_WORDS])]
            if left[0] not in (BOS, None) and rng.random() < 0.7:
                left.insert(0, rng.choice([BOS, None, *_WORDS]))
            right = [rng.choice(_WORDS) for _ in range(rng.randint(0, 2))]
            cands = [tuple(rng.choice(_WORDS) for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])))
                     for _ in range(rng.randint(1, 8))]
            plan = window_plan(cands)
            want = [lm.sequence_logprob([*left, *c, *right], len(left)) for c in cands]
            assert fresh.window_logprobs_plan(left, plan, right) == want, (left, cands, right)
            assert fresh.window_logprobs_plan(left, plan, right) == want  # warm


def test_memoised_terms_match_uncached_logprob():
    lm = LanguageModel.default()
    words = ["the", "officer", "told", "reporters", "qzxvfoo"]
    for seq in (words, [BOS, *words], [None, *words[1:]], ["qzxvfoo", "told", "the"]):
        total = 0.0
        for i, w in enumerate(seq):
            if w is None or i == 0:
                continue
            h1 = seq[i - 1]
            h2 = seq[i - 2] if i >= 2 and h1 not in (None, BOS) else None
            if h1 is not None and h1 != BOS and not lm.known(h1):
                h1 = h2 = None
            if h2 is not None and h2 != BOS and not lm.known(h2):
                h2 = None
            total += lm.logprob(w, h1, h2)
        assert lm.sequence_logprob(seq, 1) == total


def test_column_fill_matches_reference_values():
    # fill()'s fast path (one prob call per known word, a shared value for
    # unknown ones) agrees with the branchy reference _value() in every slot.
    lm = LanguageModel.default()
    hist = [BOS, None, *_WORDS]
    for slot in (0, 1, 2):
        for a in hist:
            for b in hist:
                if slot == 0 and (a in (None, BOS)) and b is not None:
                    continue  # h2 is None after a cut or BOS history
                if slot > 0 and a in (None, BOS):
                    continue  # w is a real word
                if slot == 2 and b in (None, BOS):
                    continue  # h1 is a real word
                col = _Column(lm, slot, a, b)
                xs = list(_WORDS) + ([None, BOS] if slot == 2 else [])
                got = col.fill(xs + xs[:3])
                assert {x: got[x] for x in xs} == {x: col._value(x) for x in xs}, (slot, a, b)


def test_cache_dict_stays_tracked():
    # The point of CacheDict: a full collection never untracks it, so storing
    # a tuple later does not drop it back into the youngest generation.
    import gc

    from unspin._cachedict import CacheDict

    plain, pinned = {"a": 1.0}, CacheDict(a=1.0)
    plain["t"] = pinned["t"] = ("x", "y")
    gc.collect()
    assert not gc.is_tracked(plain) and gc.is_tracked(pinned)
    assert pinned == plain and pinned.get("t") == ("x", "y")


def test_unigram_logprob_reuses_known_and_matches_logprob():
    lm = LanguageModel.default()
    fresh = LanguageModel(lm._path)
    for w in [*_WORDS, "the", "qzxvfoo"]:
        fresh.known(w)
        assert fresh._unigram_logprob(w) == lm.logprob(w)
        assert fresh.zipf((w,)) == lm.zipf((w,))
