"""The term counts built with NumPy (qda/suggest/counts.py) are the analyzers' matrix, term for term.

The reference is the slow path kept in qda/suggest/learn.py: :class:`Terms` called on each
feature text and counted by scikit-learn's ``CountVectorizer``, and scikit-learn's ``char_wb``
analyzer for the character n-grams. If a setting is added to ``Terms`` without teaching
``segment_counts`` to build it, ``counts_options`` sends the features down the slow path
(the last test), so a result never depends on which path made it.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from qda.suggest import learn
from qda.suggest.corpus import texts_from
from qda.suggest.counts import char_wb_grams, segment_counts

# words that trip a hand-made analyzer: marked terms spelt as lemmas, case that lower() changes,
# accents, one-letter and long words
LEXICON = ["a", "bb", "Ccc", "dddd", "eé", "<p>x", "xx", "İi", "ß", "longerword", "ab", "<o>bb", "<empty>", "q",
           "<role>teacher", "<turn>"]
SETTINGS = ("bigrams", "context", "role", "chars", "turn", "other", "length", "following")


def _counts(words: list[str], document: list[int], roles: list[str | None], params: dict) -> object:
    options = learn.counts_options(learn.analyzer_of(params), bool(params["chars"]))
    assert options is not None
    return segment_counts(words, np.asarray(document), roles, options=dict(options), chars=bool(params["chars"]),
                          length_bins=learn.LENGTH_BINS)


def _largest(difference: object) -> float:
    values = np.abs(difference.toarray())  # type: ignore[attr-defined]
    return float(values.max()) if values.size else 0.0


def _random_case(rng: random.Random) -> tuple[list[str], list[int], list[str | None], dict, list[int]]:
    n = rng.randint(1, 30)
    words = [" ".join(rng.choice(LEXICON) for _ in range(rng.randint(0, 7))) for _ in range(n)]
    document = sorted(rng.randint(0, 4) for _ in range(n))
    roles = [rng.choice([None, "", "teacher", "student", "<start>"]) for _ in range(n)]
    params = learn.check_params({name: rng.random() < 0.5 for name in SETTINGS} | {"min_df": rng.choice([1, 2, 3])})
    rows = sorted(rng.sample(range(n), rng.randint(1, n)))
    return words, document, roles, params, rows


@pytest.mark.parametrize("seed", range(4))
def test_counts_give_the_analyzers_vocabulary_and_matrix(seed: int) -> None:
    rng = random.Random(seed)
    compared = 0
    for _ in range(60):
        words, document, roles, params, rows = _random_case(rng)
        texts = texts_from(words, document, roles)
        counts = _counts(words, document, roles, params)
        try:
            theirs, their_x = learn.Features.fit_transform([texts[i] for i in rows], params)
        except ValueError:  # scikit-learn: no term left after min_df; the counts say so too
            with pytest.raises(ValueError):
                learn.Features.fit_counts(counts, np.asarray(rows), params)
            continue
        ours, our_x = learn.Features.fit_counts(counts, np.asarray(rows), params)
        assert ours.words.vocabulary == theirs.words.vocabulary
        assert np.array_equal(ours.words.idf, theirs.words.idf)
        if params["chars"]:
            assert ours.chars is not None and theirs.chars is not None
            assert ours.chars.vocabulary == theirs.chars.vocabulary
            assert np.array_equal(ours.chars.idf, theirs.chars.idf)
        assert our_x.shape == their_x.shape
        assert _largest(our_x - their_x) < 1e-12
        # every segment under the fitted vocabulary (what `suggest run` scores)
        if not params["chars"] or theirs.chars is not None and theirs.chars.vocabulary:
            assert _largest(ours.take(counts) - theirs.transform(texts)) < 1e-12
        compared += 1
    assert compared >= 20


def test_char_grams_are_scikit_learns_char_wb() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    analyzer = CountVectorizer(analyzer="char_wb", ngram_range=(3, 5)).build_analyzer()
    for word in ("a", "ab", "abc", "abcd", "Straße", "İi", "longerword"):
        assert char_wb_grams(word) == analyzer(word)


def test_an_analyzer_setting_the_counts_do_not_build_takes_the_slow_path() -> None:
    terms = learn.Terms()
    assert learn.counts_options(terms, True) is not None
    terms.novel = True  # type: ignore[attr-defined]  # a setting added to Terms later
    assert learn.counts_options(terms, True) is None
    assert learn.counts_options("char_wb", True) is None
