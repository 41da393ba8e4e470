"""The suggester: TF-IDF over a segment's terms, one class-weighted logistic regression per code.

Features are what the project stores (see :mod:`qda.suggest.corpus`): the segment's lemmas
and lemma bigrams, the previous segment's lemmas (marked as context), the speaker's role, the
previous speaker's role and whether the segment opens a turn, the turn it answers, its length.
Each code has its own :class:`~sklearn.linear_model.LogisticRegression` with
``class_weight="balanced"`` (codes are rare: most segments are negative for any one code),
and a threshold on its score chosen by cross-validation on the training data only (the
threshold that maximises Cohen's kappa on out-of-fold scores). A code with fewer than
``neighbours_to`` positives also compares each segment with its nearest coded passages
(:func:`neighbour_term`), which the model keeps as rows of the training segments' features.

A trained model is kept as plain arrays (:meth:`Model.to_bytes`: the vocabulary, the IDF
weights, each code's coefficients, intercept and threshold, the neighbour terms' rows as a sparse
matrix's three arrays, in a NumPy ``.npz`` read with
``allow_pickle=False``): a project file received from someone else can never run code when
its model is loaded, which a pickled estimator could.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from qda.errors import SuggestError
from qda.suggest.corpus import ENGLISH, FIELD, check_english_terms
from qda.suggest.counts import TERM_OPTIONS, Counts, SegmentCounts
from qda.suggest.hits import machine_coder
from qda.suggest.logistic import fit_logistic

#: The parameters a model is trained with (the model id hashes them).
DEFAULTS: dict[str, Any] = {
    "bigrams": True,  # lemma bigrams beside single lemmas
    "context": True,  # the previous segment's lemmas, marked "<p>"
    "role": True,  # the speaker's role as one term
    "chars": True,  # character 3-5-grams inside words beside the terms (spelling variants, compounds, typos)
    # what the conversation adds (bench/suggest.py, talkmoves, 150 transcripts, median kappa with all data:
    # 0.455 without the three below, 0.505 with them; 0.485 without "turn", 0.486 without "other")
    "turn": True,  # the previous segment's role, and a mark when the role changes (a new turn)
    "other": True,  # the lemmas of the other speaker's last segment (the turn answered), marked "<o>"
    "length": True,  # the segment's length in terms, binned, as one term
    "following": False,  # the next segment's lemmas, marked "<n>": no gain (0.508 with it), slower training
    "min_df": 2,  # a term seen in one segment only says nothing about other segments
    "C": 1.0,  # inverse regularisation strength of the logistic regression
    "folds": 5,  # document-grouped cross-validation folds (evaluation)
    "inner_folds": 3,  # folds inside each training part, for its threshold
    # the inner fits only place the cut, so they are fitted cheaper than the model: liblinear stops at a
    # tolerance of 0.1 (1e-4 for the model) and sees at most 5,000 negatives or 2 per positive (10,000 or 4
    # for the model). Training bench/workflow.py's N = 1,000 project: 14.6 -> 10.7 CPU s (min of 3, load < 0.7);
    # median kappa (bench/suggest.py) never lower by more than 0.001: study 0.733 -> 0.733,
    # nhs-fft 25/50/100/200/all 0.376/0.567/0.587/0.642/0.477 -> 0.376/0.568/0.586/0.644/0.477,
    # talkmoves (150 transcripts) 0.369/0.415/0.447/0.486/0.616 -> 0.369/0.416/0.449/0.492/0.617
    # (docs/suggest.md, "Tuning tried"); 2 inner folds lowered the study to 0.705
    "inner_tol": 0.1,
    "min_positives": 8,  # fewer positive segments: the code is listed, not trained
    # a fit sees every positive and at most this many negatives, or 4 per positive when that is
    # more (a seeded draw): with balanced class weights the model barely changes, and a code of
    # a 136,000-segment project trains in 0.1 s of CPU instead of 3 s. More helps talkmoves with all
    # data (median kappa 0.504 -> 0.518 at 20,000, 0.540 at 40,000) but training bench/workflow.py's
    # N = 1,000 project takes 20 -> 37 / 99 CPU s (docs/suggest.md, "Tuning tried")
    "max_negatives": 10000,
    "inner_max_negatives": 5000,  # the inner fits' cap on negatives (see inner_tol)
    "inner_per_positive": 2,  # ... or this many per positive when that is more
    # the cut on a code's score: "weighted" (the kappa-maximising cut on inner folds, drawn towards 0.5
    # the less positives it was chosen on: see weighted_threshold), "shrunk" (halfway to 0.5), "kappa"
    # (that cut), "f1" (the F1-maximising cut) or "half" (0.5). "weighted" against "shrunk"
    # (bench/suggest.py, median kappa): talkmoves all data 0.504 -> 0.601, nhs-fft at 25 / 50 / 100 / 200
    # positives 0.376 / 0.564 / 0.584 / 0.642 -> 0.376 / 0.567 / 0.587 / 0.642 (docs/suggest.md, "Tuning tried")
    "threshold": "weighted",
    # positives at which the "weighted" cut lies halfway between the tuned cut and 0.5: 25 keeps nhs-fft
    # at 25 positives where "shrunk" had it (0.376; 50: 0.357, 100: 0.344), and talkmoves all data
    # gives 0.601 with 25, 0.603 with 50
    "threshold_prior": 25,
    # a code is neither learnt nor suggested on the segments of a speaker role its coder never gave it
    # although about 5 of its positives would be there were the code blind to roles (see role_scope):
    # talkmoves all data 0.601 -> 0.640 with the weighted cut (teacher moves, student moves), training
    # faster there (fewer rows); a no-op where every code is given to every role
    "role_gate": True,
    # the classifier: "logistic" (regression), "svm" (a linear support vector machine) or "auto" (the
    # machine for a code whose training data holds svm_from to svm_to positives, the regression otherwise).
    # "auto" against "logistic" (bench/suggest.py, median kappa): nhs-fft 25/50/100/200/all
    # 0.376/0.568/0.586/0.644/0.477 -> 0.376/0.569/0.590/0.662/0.499 (mean over codes at 100: 0.533 -> 0.550),
    # talkmoves (150 transcripts) 0.369/0.416/0.449/0.492/0.617 -> 0.370/0.429/0.466/0.500/0.619, the study
    # and talkmoves with all data unchanged (no code there in the range), training bench/workflow.py's N = 1,000
    # project unchanged (its codes have 2,700 positives: the machine costs 3.6 x the regression's CPU per fit
    # there). At or above the regression in every row of the benchmark, though still below 0.6 at 100
    # nhs-fft positives (docs/suggest.md, "Tuning tried", fifth round)
    "loss": "auto",
    # below svm_from, the machine lost to the regression (nhs-fft at 25 positives 0.376 -> 0.367, the study with
    # 9-18 positives 0.733 -> 0.638); from svm_to on, the regression: the machine's fit costs 3.6 x as much there,
    # for 0.01-0.02 of kappa on nhs-fft's three codes of that size
    "svm_from": 50,
    "svm_to": 1000,
    # an English document's terms: "words" (each token's lower-cased form, stored at import) or "lemmas" (spaCy's
    # lookup-table lemmas, stored beside them). nhs-fft at 100 positives (bench/suggest.py, median kappa, loss auto):
    # lemmas 0.567, words 0.586, both 0.579 (docs/suggest.md, "Tuning tried", fifth round). Other languages are
    # read as their lemmas either way (the study, French: lemmas 0.733, lower-cased words 0.652). A stored model
    # whose parameters predate this setting read its English documents as lemmas (see english_terms_of)
    "english_terms": "words",
    # the nearest coded passages: a code with fewer than neighbours_to positives (and within NEIGHBOUR_CELLS
    # comparisons) adds to its decision value neighbours_weight x (the mean similarity of a segment to its
    # `neighbours` most similar positive training segments - the same for its most similar negative ones); 0
    # turns it off (see neighbour_term). bench/suggest.py, median kappa over codes, on the same folds: nhs-fft
    # 25/50/100/200/all 0.376/0.569/0.590/0.662/0.499 -> 0.391/0.575/0.603/0.665/0.508, the study 0.733 ->
    # 0.765; talkmoves is past the budget, unchanged (docs/suggest.md, "Tuning tried", sixth round)
    "neighbours": 5,
    "neighbours_weight": 2.0,
    # from this many positives on, no neighbour term: scoring a segment against a code's thousands of
    # coded passages costs more than the model (bench/workflow.py's codes have 2,700 each)
    "neighbours_to": 1000,
}

#: How a code's score is cut into yes/no (see :func:`fit_with_threshold`).
THRESHOLD_RULES = ("weighted", "shrunk", "kappa", "f1", "half")

#: The classifiers (see :func:`loss_for`).
LOSSES = ("logistic", "svm", "auto")


class Terms:
    """The analyzer: a feature text (see :func:`qda.suggest.corpus.feature_text`) into the terms counted."""

    def __init__(self, bigrams: bool = True, context: bool = True, role: bool = True, *, following: bool = False,
                 turn: bool = False, length: bool = False, other: bool = False) -> None:
        self.bigrams, self.context, self.role = bigrams, context, role
        self.following, self.turn, self.length, self.other = following, turn, length, other

    def __call__(self, text: str) -> list[str]:
        words, previous, role, following, previous_role, other = (text.split(FIELD) + [""] * 5)[:6]
        terms = words.split()
        out = list(terms)
        if self.bigrams:
            out.extend(f"{a} {b}" for a, b in zip(terms, terms[1:]))
        if self.context:
            out.extend("<p>" + t for t in previous.split())
        if self.role and role:
            out.append("<role>" + role)
        if self.following:
            out.extend("<n>" + t for t in following.split())
        if self.turn and previous_role:
            # who spoke just before, and whether this segment opens a turn (a change of role)
            out.append("<prole>" + previous_role)
            if previous_role != role:
                out.append("<turn>")
        if self.length:
            out.append(f"<len>{LENGTH_BINS[min(len(terms), len(LENGTH_BINS) - 1)]}")
        if self.other:
            out.extend("<o>" + t for t in other.split())
        if not terms:
            out.append("<empty>")
        return out


#: Segment length (terms) as one term: short answers and long explanations do different things.
LENGTH_BINS = ["0", "1", "2", "3", "4-5", "4-5", "6-8", "6-8", "6-8", "9-14", "9-14", "9-14", "9-14", "9-14", "9-14",
               "15+"]


def char_counts(texts: Sequence[str], vocabulary: Mapping[str, int] | None = None,
                min_df: int = 1) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Counts of the character 3-5-grams of scikit-learn's ``char_wb`` analyzer (each word padded
    with a space), per text, and their vocabulary (fitted when None, alphabetical as scikit-learn's).

    The n-grams of a word never cross into the next, so a text's counts are its word counts
    times each distinct word's n-gram counts: the n-grams are made once per distinct word
    instead of once per occurrence (47 s of CPU to train every code of a 136,000-segment
    project, against 16 s without the n-grams, before this).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    words = CountVectorizer(token_pattern=r"\S+", lowercase=True, dtype=np.float64)
    try:
        per_text = sp.csr_matrix(words.fit_transform(texts))
    except ValueError:  # no word at all
        size = len(vocabulary) if vocabulary is not None else 0
        return sp.csr_matrix((len(texts), size), dtype=np.float64), dict(vocabulary or {})
    grams = CountVectorizer(analyzer="char_wb", ngram_range=(3, 5), dtype=np.float64,
                            vocabulary=dict(vocabulary) if vocabulary is not None else None)
    distinct = list(words.get_feature_names_out())
    per_word = grams.transform(distinct) if vocabulary is not None else grams.fit_transform(distinct)
    counts = sp.csr_matrix(per_text @ per_word)
    if vocabulary is not None:
        return counts, dict(vocabulary)
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    keep = np.flatnonzero(df >= min_df)
    names = grams.get_feature_names_out()[keep]
    return sp.csr_matrix(counts[:, keep]), {str(n): i for i, n in enumerate(names)}


@dataclass
class Vectors:
    """TF-IDF (sublinear term frequency, smoothed IDF, rows of unit length), as scikit-learn's
    TfidfVectorizer computes it, from a fixed vocabulary that can be stored as plain arrays.

    ``analyzer`` is :class:`Terms`, or ``"char_wb"`` for character 3-5-grams inside the words
    of the segment (scikit-learn's own analyzer, on the terms field of the feature text).
    """

    vocabulary: dict[str, int]
    idf: np.ndarray
    analyzer: Terms | str

    @classmethod
    def fit(cls, texts: Sequence[str], analyzer: Terms | str, min_df: int = 2) -> Vectors:
        return cls.fit_transform(texts, analyzer, min_df)[0]

    @staticmethod
    def _counter(analyzer: Terms | str, **options: Any) -> Any:
        from sklearn.feature_extraction.text import CountVectorizer

        if isinstance(analyzer, str):
            return CountVectorizer(analyzer=analyzer, ngram_range=(3, 5), dtype=np.float64, **options)
        return CountVectorizer(analyzer=analyzer, dtype=np.float64, **options)

    @staticmethod
    def _input(analyzer: Terms | str, texts: Sequence[str]) -> Sequence[str]:
        return [t.split(FIELD, 1)[0] for t in texts] if isinstance(analyzer, str) else texts

    @classmethod
    def fit_transform(cls, texts: Sequence[str], analyzer: Terms | str,
                      min_df: int = 2) -> tuple[Vectors, sp.csr_matrix]:
        """The vectors fitted on ``texts``, and ``texts`` transformed (terms counted once)."""
        if isinstance(analyzer, str):
            matrix, vocabulary = char_counts(cls._input(analyzer, texts), None, min_df if len(texts) > 1 else 1)
        else:
            counts = cls._counter(analyzer, min_df=min_df if len(texts) > 1 else 1)
            matrix = counts.fit_transform(texts)
            vocabulary = {term: int(i) for term, i in counts.vocabulary_.items()}
        df = np.bincount(matrix.indices, minlength=matrix.shape[1])
        idf = np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
        vectors = cls(vocabulary, idf.astype(np.float64), analyzer)
        return vectors, vectors.weigh(sp.csr_matrix(matrix, dtype=np.float64))

    @classmethod
    def fit_counts(cls, counts: Counts, rows: np.ndarray, analyzer: Terms | str, *,
                   min_df: int = 2) -> tuple[Vectors, sp.csr_matrix]:
        """:meth:`fit_transform` of the segments ``rows`` from their precomputed counts (the same
        vocabulary, IDF and matrix: :mod:`qda.suggest.counts`)."""
        vocabulary, matrix = counts.fit(rows, min_df if len(rows) > 1 else 1, empty_ok=isinstance(analyzer, str))
        df = np.bincount(matrix.indices, minlength=matrix.shape[1])
        idf = np.log((1.0 + len(rows)) / (1.0 + df)) + 1.0
        vectors = cls(vocabulary, idf.astype(np.float64), analyzer)
        return vectors, vectors.weigh(matrix)

    def take(self, counts: Counts, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """:meth:`transform` of the segments ``rows`` (all when None) from their precomputed counts."""
        return self.weigh(counts.take(rows, self.vocabulary))

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if isinstance(self.analyzer, str):
            return self.weigh(char_counts(self._input(self.analyzer, texts), self.vocabulary)[0])
        counts = self._counter(self.analyzer, vocabulary=self.vocabulary)
        return self.weigh(sp.csr_matrix(counts.transform(texts), dtype=np.float64))

    def weigh(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """Counts (columns in vocabulary order) into TF-IDF rows of unit length (on the arrays of
        the CSR matrix: scipy's products with diagonal matrices copied 136,000 rows three times)."""
        matrix = sp.csr_matrix(matrix)
        matrix.sum_duplicates()
        data = np.log(matrix.data)  # a new array: the counts (often the kept ones) stay as they are
        data += 1.0
        step = 1 << 20  # the IDF of a million entries at a time, not a copy of every entry's
        for first in range(0, len(data), step):
            data[first:first + step] *= self.idf[matrix.indices[first:first + step]]
        return _unit_rows(data, matrix.indices, matrix.indptr, matrix.shape)

    def terms(self) -> list[str]:
        """Feature names by column."""
        names = [""] * len(self.vocabulary)
        for term, i in self.vocabulary.items():
            names[i] = term
        return names


@dataclass
class Features:
    """The terms' TF-IDF and, when asked, the character n-grams' TF-IDF side by side, each
    block of unit length and the row scaled back to unit length."""

    words: Vectors
    chars: Vectors | None = None

    @classmethod
    def fit_transform(cls, texts: Sequence[str], params: Mapping[str, Any]) -> tuple[Features, sp.csr_matrix]:
        words, x = Vectors.fit_transform(texts, analyzer_of(params), int(params["min_df"]))
        if not params.get("chars"):
            return cls(words), x
        chars, c = Vectors.fit_transform(texts, "char_wb", int(params["min_df"]))
        return cls(words, chars), cls.join(x, c)

    @classmethod
    def fit_counts(cls, counts: SegmentCounts, rows: np.ndarray,
                   params: Mapping[str, Any]) -> tuple[Features, sp.csr_matrix]:
        """:meth:`fit_transform` of the segments ``rows`` from their precomputed counts."""
        words, x = Vectors.fit_counts(counts.words, rows, analyzer_of(params), min_df=int(params["min_df"]))
        if not params.get("chars"):
            return cls(words), x
        assert counts.chars is not None
        chars, c = Vectors.fit_counts(counts.chars, rows, "char_wb", min_df=int(params["min_df"]))
        blocks = [x, c]
        del x, c  # join holds the blocks only until they are side by side (memory at the peak of training)
        return cls(words, chars), cls._join_owned(blocks)

    def take(self, counts: SegmentCounts, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """:meth:`transform` of the segments ``rows`` (all when None) from their precomputed counts."""
        x = self.words.take(counts.words, rows)
        if self.chars is None:
            return x
        assert counts.chars is not None
        blocks = [x, self.chars.take(counts.chars, rows)]
        del x
        return self._join_owned(blocks)

    def options(self) -> tuple[tuple[str, bool], ...] | None:
        """The analyzer's settings and whether there are character n-grams, as
        :func:`qda.suggest.counts.segment_counts` takes them (None: an analyzer it does not know)."""
        return counts_options(self.words.analyzer, self.chars is not None)

    @classmethod
    def fit(cls, texts: Sequence[str], params: Mapping[str, Any]) -> Features:
        return cls.fit_transform(texts, params)[0]

    @staticmethod
    def join(x: sp.csr_matrix, c: sp.csr_matrix) -> sp.csr_matrix:
        """The two blocks side by side (each row's indices stay sorted), rows of unit length."""
        return Features._join_owned([x, c])

    @staticmethod
    def _join_owned(blocks: list[sp.csr_matrix]) -> sp.csr_matrix:
        """:meth:`join` of the two blocks in ``blocks``, which it empties: when the caller holds them
        nowhere else, their arrays are freed once side by side (the peak memory of a training)."""
        x, c = (sp.csr_matrix(b) for b in blocks)
        blocks.clear()
        x.sum_duplicates()
        c.sum_duplicates()
        rows, shape = x.shape[0], (x.shape[0], x.shape[1] + c.shape[1])
        small = np.int32 if shape[1] < 2 ** 31 and x.nnz + c.nnz < 2 ** 31 else np.int64
        indptr = x.indptr.astype(np.int64) + c.indptr
        data = np.empty(int(indptr[-1]), dtype=np.float64)
        indices = np.empty(int(indptr[-1]), dtype=small)
        # row by row, each row's words block then its characters block, a block of rows at a time
        # (scipy's hstack copied both blocks whole first: 400 MB at the peak of a training)
        step = 8192
        for first in range(0, rows, step):
            last = min(first + step, rows)
            for block, before, offset in ((x, c.indptr, 0), (c, x.indptr, x.shape[1])):
                a, b = int(block.indptr[first]), int(block.indptr[last])
                lengths = np.diff(block.indptr[first:last + 1])
                # an entry's place: its place in its block plus the other block's entries in the rows up to its own
                at = np.arange(a, b) + np.repeat(before[first + (offset > 0):last + (offset > 0)], lengths)
                data[at] = block.data[a:b]
                indices[at] = block.indices[a:b] + offset
        del x, c
        return _unit_rows(data, indices, indptr, shape)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        x = self.words.transform(texts)
        return x if self.chars is None else self.join(x, self.chars.transform(texts))

    def terms(self) -> list[str]:
        """Feature names by column (character n-grams shown as ``<c>gram``)."""
        return self.words.terms() + (["<c>" + t for t in self.chars.terms()] if self.chars else [])


def _unit_rows(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A canonical CSR matrix of these arrays with each row scaled to unit length (empty rows stay
    empty). ``data`` is scaled in place, a block of rows at a time: a copy of 136,000 rows' data
    and its squares cost 300 MB at the peak of a training."""
    small = np.int32 if shape[1] < 2 ** 31 and len(data) < 2 ** 31 else np.int64
    indices, indptr = indices.astype(small, copy=False), indptr.astype(small, copy=False)
    step = 8192
    for first in range(0, shape[0], step):
        bounds = indptr[first:min(first + step, shape[0]) + 1].astype(np.int64)
        if bounds[-1] == bounds[0]:
            continue
        block = data[bounds[0]:bounds[-1]]
        lengths = np.diff(bounds)
        filled = lengths > 0
        # each non-empty row's sum of squares (reduceat runs from one start to the next: empty rows left out)
        squares = np.ones(len(lengths))
        squares[filled] = np.add.reduceat(block * block, (bounds[:-1] - bounds[0])[filled])
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        block *= np.repeat(1.0 / norms, lengths)
    out = sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)
    out.has_canonical_format = True  # the caller's rows are sorted and without duplicates
    return out


def fit_classifier(x: sp.csr_matrix, y: np.ndarray, c: float, *, seed: int,
                   max_negatives: int | None = None, rows: np.ndarray | None = None,
                   tol: float = 1e-4, per_positive: int = 4) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) of a class-balanced logistic regression, on every positive and
    at most ``max_negatives`` negatives or 4 per positive, whichever is more (a seeded draw).

    ``rows``: fit on these rows of ``x`` and ``y`` only (a fold's training part). The rows are
    drawn first and ``x`` is cut once: cutting the whole training part, then drawing from it,
    copied most of a 136,000-segment matrix per fit.

    liblinear's dual coordinate descent solves the same problem as its primal trust-region
    Newton solver (scores within 1e-5 of each other on bench/workflow.py's project) in a third
    of the CPU time on segments of text: many rows, few non-zero features each. The fit is
    scikit-learn's ``LogisticRegression(solver="liblinear", dual=True)``'s, made without its
    per-fit checks (:func:`qda.suggest.logistic.fit_logistic`: the same coefficients).

    ``tol``: liblinear's stopping tolerance (scikit-learn's default 1e-4); ``per_positive``: the
    negatives kept per positive when that is more than ``max_negatives``.
    """
    part, yy = fitted_rows(x, y, seed=seed, max_negatives=max_negatives, rows=rows, per_positive=per_positive)
    return fit_logistic(part, yy, c, seed=seed, tol=tol)


def fitted_rows(x: sp.csr_matrix, y: np.ndarray, *, seed: int, max_negatives: int | None,
                rows: np.ndarray | None, per_positive: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """The rows a fit sees (of ``rows``, all when None) and their labels (bool): every positive and
    at most ``max_negatives`` negatives or ``per_positive`` per positive, whichever is more, drawn
    with ``seed`` (the same draw for either classifier, :func:`fit_classifier` and :func:`fit_svm`)."""
    positions = np.arange(x.shape[0]) if rows is None else np.asarray(rows)
    yy = y[positions].astype(bool)
    cap = max(max_negatives, per_positive * int(yy.sum())) if max_negatives is not None else None
    if cap is not None and (~yy).sum() > cap:
        keep = np.sort(np.concatenate([np.flatnonzero(yy), np.random.default_rng(seed).choice(
            np.flatnonzero(~yy), cap, replace=False)]))
        positions, yy = positions[keep], yy[keep]
    part = rows_of(x, positions) if rows is not None or len(positions) < x.shape[0] else x
    return part, yy


def rows_of(x: sp.csr_matrix, positions: np.ndarray) -> sp.csr_matrix:
    """Rows of a CSR matrix in canonical form (sorted indices, no duplicates), marked as such:
    scikit-learn otherwise sorts the copy's indices again on every fit (8 s of CPU for 100
    fits on a 136,000-segment project). ``x`` is put in canonical form first if it is not."""
    if not x.has_canonical_format:
        x.sum_duplicates()  # in place, once: sorts each row's indices (the values stay)
    part = sp.csr_matrix(x[positions])
    part.has_canonical_format = True
    return part


def scores_of(x: sp.csr_matrix, coef: np.ndarray, intercept: np.ndarray | float) -> np.ndarray:
    """Logistic scores (0..1): one column per code when ``coef`` is codes x features."""
    z = x @ (coef.T if coef.ndim == 2 else coef) + intercept
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))))


def kappa_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """The score threshold (predict positive when score >= it) that maximises Cohen's kappa on these scores."""
    n = len(scores)
    positives = int(y.sum())
    if n == 0 or positives in (0, n):
        return 0.5
    # any order of tied scores gives the same cut: only cuts between different scores count, and the
    # positives above such a cut are the same set whatever the order inside a tie (NumPy's default
    # sort: 25 codes' cuts in 0.05 s of CPU on 136,000 segments, 0.3 s with a stable sort)
    order = np.argsort(-scores)
    s, truth = scores[order], y[order].astype(np.float64)
    tp = np.cumsum(truth)
    k = np.arange(1, n + 1, dtype=np.float64)  # predicted positives when cutting after each row
    fp = k - tp
    agree = (tp + (n - positives - fp)) / n
    chance = (k * positives + (n - k) * (n - positives)) / (n * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(chance < 1, (agree - chance) / (1 - chance), -np.inf)
    # only cut between different scores (ties fall on one side)
    cut = np.append(s[:-1] > s[1:], True)
    kappa = np.where(cut, kappa, -np.inf)
    best = int(np.argmax(kappa))
    if best == n - 1:
        return float(s[-1])
    return float((s[best] + s[best + 1]) / 2)


def shrunk_threshold(tuned: float) -> float:
    """Halfway between the kappa-maximising threshold and 0.5 (balanced class weights put the
    classes' boundary there): the tuned value is noisy when a code has few positives, and on
    nhs-fft at 100 positives halfway gave a median kappa of 0.528 against 0.501 tuned and 0.514
    at 0.5 (11 codes, bench/suggest.py's folds)."""
    return (tuned + 0.5) / 2


def weighted_threshold(tuned: float, positives: int, prior: float = 25) -> float:
    """The kappa-maximising cut drawn towards 0.5 (where balanced class weights put the classes'
    boundary) by ``prior`` / (positives + ``prior``): the tuned cut is noisy with few positives
    (halfway at ``prior``, as "shrunk") and trustworthy with thousands. On talkmoves with all
    data (1,500-18,500 positives per fold) the tuned cut lies far above 0.5 and halfway lost a
    sixth of the median kappa (0.504 against 0.601)."""
    if positives + prior <= 0:
        return tuned
    weight = positives / (positives + prior)
    return weight * tuned + (1 - weight) * 0.5


def cut_of(tuned: float, rule: str, positives: int, *, prior: float = 25) -> float:
    """The threshold a rule makes of the tuned cut (kappa- or F1-maximising) of a code with
    ``positives`` (``prior``: the "weighted" rule's, see :func:`weighted_threshold`)."""
    if rule == "weighted":
        return weighted_threshold(tuned, positives, prior)
    if rule == "shrunk":
        return shrunk_threshold(tuned)
    return tuned


#: The positives a role must have been expected to hold, were the code blind to roles, before
#: none there means the coder does not give the code to that role (about exp(-5) < 1 % by chance).
ROLE_EVIDENCE = 5.0


def role_scope(y: np.ndarray, roles: np.ndarray, rows: np.ndarray | None = None) -> tuple[str, ...]:
    """The speaker roles a code is kept off (sorted): the roles of these training rows that hold
    none of its positives, although at least :data:`ROLE_EVIDENCE` of them would be expected
    there if the coder gave it without regard to the role (its positives spread as the roles'
    segments are). Empty when every role can have it, or the segments have no roles."""
    return _scope_of(y, RoleIds.of(roles), rows)


@dataclass(frozen=True)
class RoleIds:
    """Speaker roles as numbers: the distinct roles (sorted) and each segment's. Counting numbers
    instead of sorting strings: np.unique of 136,000 roles took 14 ms, once per code and fold."""

    names: list[str]
    ids: np.ndarray

    @classmethod
    def of(cls, roles: np.ndarray) -> RoleIds:
        names, ids = np.unique(roles, return_inverse=True)
        return cls([str(n) for n in names.tolist()], np.asarray(ids, dtype=np.int64).reshape(-1))


def _scope_of(y: np.ndarray, roles: RoleIds, rows: np.ndarray | None) -> tuple[str, ...]:
    """:func:`role_scope` on roles as numbers (the same roles, in the same order)."""
    positions = np.arange(len(y)) if rows is None else np.asarray(rows)
    yy, rr = y[positions].astype(bool), roles.ids[positions]
    positives = int(yy.sum())
    if not positives or positives == len(yy):
        return ()
    counts = np.bincount(rr, minlength=len(roles.names)).tolist()
    given = np.bincount(rr[yy], minlength=len(roles.names)).tolist()
    return tuple(name for name, count, hits in zip(roles.names, counts, given)
                 if count and not hits and positives * count / len(yy) >= ROLE_EVIDENCE)


#: At most this many of a code's negative training segments are compared with a segment by the neighbour
#: term (all its positives are): a seeded draw in one order shared by every code of a training, so that
#: the stored model keeps one set of rows for all its codes (see :func:`neighbour_rows`).
NEIGHBOUR_NEGATIVES = 5000

#: The similarities one product of :func:`nearest_mean` may hold at once (float64: 16 MB).
SIMILARITY_CELLS = 1 << 21

#: At most this many comparisons of a segment with a passage per code (training segments x passages
#: kept for the code); above it, the code has no neighbour term. Each costs about 40 ns, counted twice
#: in a training (the inner folds, then the score of every segment): on bench/workflow.py's
#: 136,000-segment project one code of 2,700 positives forced past the budget trained in 79 s of CPU
#: instead of 3 (about 2 billion comparisons). At the budget a code costs about 4 s more; the NHS
#: answers (6,211 segments: 32 million per code) are well inside it, projects of about 10,000
#: segments or more are not.
NEIGHBOUR_CELLS = 50_000_000


def neighbours_for(params: Mapping[str, Any], positives: int, *, segments: int) -> int:
    """The number of nearest coded passages the score of a code with ``positives`` training
    positives among ``segments`` training segments looks at (0: none; a stored model's parameters
    may predate the setting). None as ``params["neighbours_to"]``: the choice was made already (a
    code's folds keep the choice made on all its training data).

    Beside ``neighbours_to``, a budget: every segment is compared with every passage kept for the code
    (its positives and at most NEIGHBOUR_NEGATIVES negatives), so when that is more than NEIGHBOUR_CELLS
    comparisons the code has no term (on the NHS answers, 6,211 segments, 32 million per code)."""
    k = int(params.get("neighbours", 0))
    limit = params.get("neighbours_to", 1000)
    if k <= 0 or limit is None:
        return max(k, 0)
    compared = positives + min(max(segments - positives, 0), NEIGHBOUR_NEGATIVES)
    return k if positives < int(limit) and segments * compared <= NEIGHBOUR_CELLS else 0


def neighbour_rows(y: np.ndarray, rows: np.ndarray | None, n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(positive positions, negative positions), sorted, of the training rows ``rows`` (all of the
    ``n`` rows when None) that a code's neighbour term compares a segment with: every positive, and
    the first NEIGHBOUR_NEGATIVES negatives in one seeded order of the ``n`` rows — the same order for
    every code, so that the codes of one training share most of their negatives."""
    member = np.ones(n, dtype=bool) if rows is None else np.isin(np.arange(n), np.asarray(rows))
    order = np.random.default_rng(seed).permutation(n)
    order = order[member[order]]
    positive = y[order].astype(bool)
    return np.sort(order[positive]), np.sort(order[~positive][:NEIGHBOUR_NEGATIVES])


def nearest_mean(x: sp.csr_matrix, reference: sp.csr_matrix, k: int) -> np.ndarray:
    """Per row of ``x``, the mean of its ``k`` largest similarities (products of unit-length rows:
    cosines) with the rows of ``reference`` (fewer when it has fewer; 0 when it has none)."""
    n = reference.shape[0]
    out = np.zeros(x.shape[0])
    if n == 0 or k <= 0 or x.shape[0] == 0:
        return out
    k = min(k, n)
    step = max(1, SIMILARITY_CELLS // n)
    transposed = reference.T.tocsc()
    for first in range(0, x.shape[0], step):
        sims = (x[first:first + step] @ transposed).toarray()
        top = np.partition(sims, n - k, axis=1)[:, n - k:] if k < n else sims
        out[first:first + step] = top.mean(axis=1)
    return out


def neighbour_term(x: sp.csr_matrix, positives: sp.csr_matrix, negatives: sp.csr_matrix, *, k: int,
                   weight: float) -> np.ndarray:
    """What the nearest coded passages add to the decision values of the rows of ``x``: ``weight``
    x (the mean similarity of a row to its ``k`` most similar positive training segments - the same
    for the negative ones). A segment worded like passages the coder gave the code, more than like
    the passages they did not, scores higher than its words alone would make it: the linear model
    weighs each term on its own, this weighs whole passages (nhs-fft: docs/suggest.md, "Tuning
    tried", sixth round)."""
    return np.asarray(weight * (nearest_mean(x, positives, k) - nearest_mean(x, negatives, k)))


def neighbour_term_of(x: sp.csr_matrix, y: np.ndarray, *, rows: np.ndarray | None, scored: np.ndarray, k: int,
                      params: Mapping[str, Any], seed: int) -> np.ndarray | None:
    """The neighbour term of the rows ``scored`` of ``x`` for a code learnt from its training rows
    ``rows`` (all when None) of ``x`` and ``y``, looking at ``k`` neighbours (None when ``k`` is 0)."""
    if not k:
        return None
    positive, negative = neighbour_rows(y, rows, x.shape[0], seed=seed)
    return neighbour_term(rows_of(x, np.asarray(scored)), rows_of(x, positive), rows_of(x, negative), k=k,
                          weight=float(params.get("neighbours_weight", 1.0)))


def model_neighbours(x: sp.csr_matrix, labels: Sequence[np.ndarray], *, rows: Sequence[np.ndarray | None],
                     ks: Sequence[int], seed: int) -> tuple[sp.csr_matrix | None,
                                                            list[tuple[int, np.ndarray, np.ndarray]]]:
    """What a stored model keeps for its codes' neighbour terms: the rows of ``x`` any code compares
    with (:func:`neighbour_rows`; each code's ``labels`` and training ``rows``, ``ks`` its number of
    neighbours, 0: none), and per code (k, its positive rows, its negative rows) among them. The codes
    share one seeded order of the rows, so their negatives are mostly the same rows, kept once."""
    empty = np.zeros(0, dtype=np.int64)
    picks = [neighbour_rows(y, r, x.shape[0], seed=seed) if k else (empty, empty) for y, r, k in zip(labels, rows, ks)]
    union = np.unique(np.concatenate([part for pick in picks for part in pick] + [empty]))
    if not len(union):
        return None, [(0, empty, empty) for _ in picks]
    return rows_of(x, union), [(int(k), np.searchsorted(union, p), np.searchsorted(union, n))
                               for k, (p, n) in zip(ks, picks)]


def gated(scores: np.ndarray, roles: np.ndarray, excluded: Sequence[str]) -> np.ndarray:
    """Scores with the segments of the excluded roles set to 0 (never suggested)."""
    if not len(excluded):
        return scores
    return np.where(np.isin(roles, list(excluded)), 0.0, scores)


def fit_in_scope(x: sp.csr_matrix, y: np.ndarray, groups: np.ndarray, *, roles: np.ndarray | None,
                 params: Mapping[str, Any], seed: int,
                 rows: np.ndarray | None = None) -> tuple[np.ndarray, float, float, tuple[str, ...]]:
    """:func:`fit_with_threshold` on the training rows of the roles the code is not kept off
    (:func:`role_scope`, when ``params["role_gate"]`` and the segments have roles), and those
    roles: (coefficients, intercept, threshold, excluded roles)."""
    rows, excluded = in_scope(y, roles=roles, params=params, rows=rows)
    coef, intercept, threshold = fit_with_threshold(x, y, groups, params=params, seed=seed, rows=rows)
    return coef, intercept, threshold, excluded


def in_scope(y: np.ndarray, *, roles: np.ndarray | RoleIds | None, params: Mapping[str, Any],
             rows: np.ndarray | None = None) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """(the training rows of the roles a code is not kept off, those roles): see :func:`fit_in_scope`.
    ``roles``: per row, or as numbers (:class:`RoleIds`, made once for many codes or folds)."""
    if roles is None or not params.get("role_gate"):
        return rows, ()
    numbered = roles if isinstance(roles, RoleIds) else RoleIds.of(roles)
    excluded = _scope_of(y, numbered, rows)
    if excluded:
        positions = np.arange(len(y)) if rows is None else np.asarray(rows)
        kept_off = [numbered.names.index(name) for name in excluded]
        rows = positions[~np.isin(numbered.ids[positions], kept_off)]
    return rows, excluded


def folds_of(y: np.ndarray, groups: np.ndarray, n_splits: int, *, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Document-grouped, label-stratified folds (train, test positions): a document is never in both.

    The folds of scikit-learn's ``StratifiedGroupKFold(shuffle=True)``, computed by
    :func:`grouped_test_folds` (a test checks that they are the same).
    """
    n_groups = len(_unique(groups)[0])
    splits = min(n_splits, n_groups)
    if splits < 2:
        return []
    positives_groups = len(_unique(groups[y.astype(bool)])[0])
    if positives_groups < 2:
        return []
    everything = np.arange(len(y))
    out = []
    for test in grouped_test_folds(y.astype(np.int64), groups, splits, seed=seed):
        mask = np.zeros(len(y), dtype=bool)
        mask[test] = True
        out.append((everything[~mask], everything[mask]))
    return out


def grouped_test_folds(y: np.ndarray, groups: np.ndarray, n_splits: int, *, seed: int) -> list[np.ndarray]:
    """The test positions of each fold of ``StratifiedGroupKFold(n_splits, shuffle=True,
    random_state=seed)``: scikit-learn's algorithm (groups shuffled, then taken by decreasing
    spread of their class counts, each into the fold that keeps the class proportions most
    even) with its two loops over every sample done by NumPy: they took 1.2 s per split of a
    136,000-segment project, 30 s to train 25 codes."""
    from sklearn.utils import check_random_state

    _, y_inv, y_cnt = _unique(y)
    _, groups_inv, groups_cnt = _unique(groups)
    n_groups = len(groups_cnt)
    if np.all(n_splits > y_cnt) or n_splits > n_groups:
        raise ValueError(f"cannot make {n_splits} folds of {n_groups} groups and classes of {y_cnt.tolist()} members")
    # each group's count of each class (np.add.at, counted by bincount: exact either way)
    y_counts_per_group = np.bincount(groups_inv.reshape(-1) * len(y_cnt) + y_inv.reshape(-1),
                                     minlength=n_groups * len(y_cnt)).reshape(n_groups, len(y_cnt)).astype(np.float64)
    perm = np.arange(n_groups)
    check_random_state(seed).shuffle(perm)
    y_counts_per_group = y_counts_per_group[perm]
    inv_perm = np.empty_like(perm)
    inv_perm[perm] = np.arange(perm.size)
    # the greedy loop over groups in plain floats (a fold's class counts are a few numbers: NumPy's
    # per-call cost was most of 1.4 s per training of 25 codes), the same operations in the same order
    fold_counts = [[0.0] * len(y_cnt) for _ in range(n_splits)]
    class_sizes = [float(c) for c in y_cnt.tolist()]
    per_group = y_counts_per_group.tolist()
    fold_of_group = np.full(n_groups, -1)
    for group_idx in np.argsort(-np.std(y_counts_per_group, axis=1), kind="stable").tolist():
        best = _best_fold_of(fold_counts, class_sizes, per_group[group_idx])
        fold_counts[best] = [a + b for a, b in zip(fold_counts[best], per_group[group_idx])]
        fold_of_group[group_idx] = best
    fold_of_row = fold_of_group[inv_perm[groups_inv]]
    return [np.flatnonzero(fold_of_row == i) for i in range(n_splits)]


def _unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True, return_counts=True)``, counted by ``np.bincount``
    when the values are small non-negative integers (labels, document numbers): the same arrays,
    without the sort (4 ms per call on 136,000 labels, 75 calls per training)."""
    flat = np.asarray(values).reshape(-1)
    if flat.dtype == bool:
        flat = flat.view(np.uint8)
    if flat.dtype.kind in "iu" and len(flat) and flat.min() >= 0 and flat.max() <= 4 * len(flat) + 1024:
        counts = np.bincount(flat)
        present = np.flatnonzero(counts)
        lookup = np.zeros(len(counts), dtype=np.int64)
        lookup[present] = np.arange(len(present))
        return present.astype(values.dtype), lookup[flat], counts[present]
    found: tuple[np.ndarray, np.ndarray, np.ndarray] = np.unique(values, return_inverse=True, return_counts=True)
    return found


def _best_fold(y_counts_per_fold: np.ndarray, y_cnt: np.ndarray, group_y_counts: np.ndarray) -> int:
    """scikit-learn's ``StratifiedGroupKFold._find_best_fold``: the fold whose class
    proportions stay most even with this group in it (ties: the smaller fold). The spread of
    every candidate is computed at once (the same NumPy reductions, one axis further in)."""
    k = len(y_counts_per_fold)
    candidates = np.broadcast_to(y_counts_per_fold, (k, *y_counts_per_fold.shape)).copy()
    candidates[np.arange(k), np.arange(k)] += group_y_counts
    evals = np.mean(np.std(candidates / y_cnt.reshape(1, 1, -1), axis=1), axis=1)
    sizes = np.sum(y_counts_per_fold, axis=1)
    best_fold, min_eval, min_samples_in_fold = -1, np.inf, np.inf
    for i in range(k):
        fold_eval, samples_in_fold = evals[i], sizes[i]
        if fold_eval < min_eval or (np.isclose(fold_eval, min_eval) and samples_in_fold < min_samples_in_fold):
            min_eval, min_samples_in_fold, best_fold = fold_eval, samples_in_fold, i
    return best_fold


def _best_fold_of(fold_counts: list[list[float]], class_sizes: list[float], group: list[float]) -> int:
    """:func:`_best_fold` in plain floats: per candidate fold, the population standard deviation
    over folds of each class's share (mean, squared deviations summed in fold order, as NumPy
    reduces three or so values), averaged over classes; ties (``np.isclose``) go to the smaller fold.

    Each fold's shares without the group, and with it, are divided once per group, not once per
    candidate (the same quotients: 25,000 calls per training of 25 codes)."""
    k, classes = len(fold_counts), len(class_sizes)
    without = [[fold_counts[f][c] / class_sizes[c] for f in range(k)] for c in range(classes)]
    with_group = [[(fold_counts[f][c] + group[c]) / class_sizes[c] for f in range(k)] for c in range(classes)]
    best_fold, min_eval, min_size = -1, math.inf, math.inf
    for i in range(k):
        spread_sum = 0.0
        for c in range(classes):
            shares = without[c].copy()
            shares[i] = with_group[c][i]
            spread = _spread(shares, k)
            spread_sum = spread if c == 0 else spread_sum + spread
        fold_eval = spread_sum / classes
        size = _sum(fold_counts[i])
        close = min_eval != math.inf and abs(fold_eval - min_eval) <= 1e-08 + 1e-05 * abs(min_eval)
        if fold_eval < min_eval or (close and size < min_size):
            min_eval, min_size, best_fold = fold_eval, size, i
    return best_fold


def _spread(shares: list[float], k: int) -> float:
    """The population standard deviation of ``k`` values, summed left to right (as :func:`_sum`)."""
    if k == 3:  # the inner folds: the same operations, unrolled
        a, b, c = shares
        mean = (a + b + c) / 3
        return math.sqrt(((a - mean) * (a - mean) + (b - mean) * (b - mean) + (c - mean) * (c - mean)) / 3)
    mean = _sum(shares) / k
    return math.sqrt(_sum([(v - mean) * (v - mean) for v in shares]) / k)


def _sum(values: list[float]) -> float:
    """Left to right from the first value (as NumPy adds fewer than 8 values)."""
    total = values[0]
    for v in values[1:]:
        total += v
    return total


@dataclass(frozen=True)
class InnerFits:
    """A code's inner models (:func:`fit_inner`), fitted and waiting for their out-of-fold scores:
    the products of several codes' inner models are then made in one pass over the matrix
    (:func:`fit_codes`)."""

    positions: np.ndarray  # the training rows of x
    truth: np.ndarray  # their labels (bool)
    grid: tuple[float, ...]  # the C values tried
    # per C value, per inner fold that could be fitted: (test positions among the training rows, coefficients,
    # intercept)
    models: tuple[tuple[tuple[np.ndarray, np.ndarray, float], ...], ...]
    # per inner fold (the same for every C value), its test rows' neighbour term (None: the code has none)
    extras: tuple[np.ndarray | None, ...] = ()

    def coefficients(self) -> list[np.ndarray]:
        """Every inner model's coefficients, C value by C value, fold by fold (the columns of :meth:`cut`'s scores)."""
        return [c for fitted in self.models for _, c, _ in fitted]


def _grid(params: Mapping[str, Any]) -> list[float]:
    return [float(c) for c in params["C"]] if isinstance(params["C"], (list, tuple)) else [float(params["C"])]


def fit_inner(x: sp.csr_matrix, y: np.ndarray, groups: np.ndarray, *, params: Mapping[str, Any], seed: int,
              rows: np.ndarray | None = None) -> InnerFits | None:
    """The inner models of :func:`fit_with_threshold` (None when the training data cannot be split,
    or the rule needs no cut: the threshold is 0.5 then)."""
    positions = np.arange(x.shape[0]) if rows is None else np.asarray(rows)
    yy = y[positions].astype(bool)
    # the inner fits only place the cut: a stored model's parameters may predate these three
    inner_cap = params.get("inner_max_negatives", params.get("max_negatives"))
    inner_tol = float(params.get("inner_tol", 1e-4))
    inner_per_positive = int(params.get("inner_per_positive", 4))
    rule = str(params.get("threshold", "shrunk"))  # a stored model's parameters may predate "weighted"
    inner = folds_of(yy, groups[positions], int(params["inner_folds"]), seed=seed + 1)
    if not inner or rule == "half":
        return None
    grid = _grid(params)
    fit = fitter_of(loss_for(params, int(yy.sum())))
    k = neighbours_for(params, int(yy.sum()), segments=x.shape[0])  # on the code's training rows, as its classifier
    usable = [(train, test) for train, test in inner if yy[train].any() and not yy[train].all()]
    models = []
    for c_value in grid:
        fitted: list[tuple[np.ndarray, np.ndarray, float]] = []
        for train, test in usable:
            c, b = fit(x, y, c_value, seed=seed, max_negatives=inner_cap, rows=positions[train],
                                  tol=inner_tol, per_positive=inner_per_positive)
            fitted.append((test, c, b))
        models.append(tuple(fitted))
    extras = tuple(neighbour_term_of(x, y, rows=positions[train], scored=positions[test], k=k, params=params,
                                     seed=seed)
                   for train, test in usable)
    return InnerFits(positions, yy, tuple(grid), tuple(models), extras)


def cut_of_inner(inner: InnerFits, z: np.ndarray, params: Mapping[str, Any]) -> tuple[float, float]:
    """(C, threshold) from the inner models' out-of-fold scores; ``z``: every training row's
    product with each inner model's coefficients (training rows x :meth:`InnerFits.coefficients`)."""
    rule = str(params.get("threshold", "shrunk"))
    yy = inner.truth
    best: tuple[float, float, float] | None = None  # (kappa, C, threshold)
    column = 0
    for c_value, fitted in zip(inner.grid, inner.models):
        oof = np.full(len(yy), np.nan)
        for fold, (test, _, b) in enumerate(fitted):
            d = z[test, column] + b
            extra = inner.extras[fold] if fold < len(inner.extras) else None
            if extra is not None:
                d = d + extra
            oof[test] = 1.0 / (1.0 + np.exp(-np.clip(d, -500, 500)))
            column += 1
        ok = ~np.isnan(oof)
        if not ok.any():
            continue
        tuned = f1_threshold(oof[ok], yy[ok]) if rule == "f1" else kappa_threshold(oof[ok], yy[ok])
        threshold = cut_of(tuned, rule, int(yy.sum()), prior=float(params.get("threshold_prior", 25)))
        reached = kappa_at(oof[ok] >= threshold, yy[ok]) if len(inner.grid) > 1 else 0.0
        if best is None or reached > best[0]:
            best = (reached, c_value, threshold)
    return (best[1], best[2]) if best is not None else (inner.grid[0], 0.5)


def fit_with_threshold(x: sp.csr_matrix, y: np.ndarray, groups: np.ndarray, *, params: Mapping[str, Any],
                       seed: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, float, float]:
    """(coefficients, intercept, threshold): the threshold from out-of-fold scores of inner
    document-grouped folds of this training data only (0.5 when it cannot be split).

    ``params["C"]`` may be a list: each value is tried on the same inner folds and the one whose
    out-of-fold scores reach the highest kappa is kept. ``params["threshold"]``: "weighted" (the
    kappa-maximising cut drawn towards 0.5 the fewer positives there are: :func:`weighted_threshold`),
    "shrunk" (moved halfway to 0.5), "kappa" (that cut itself), "f1" (the cut maximising F1) or
    "half" (0.5).

    ``rows``: the training data is these rows of ``x``, ``y`` and ``groups`` (all when None).
    """
    inner = fit_inner(x, y, groups, params=params, seed=seed, rows=rows)
    chosen, threshold = inner_cuts(x, [inner], params)[0]
    coef, intercept = fitter_for(params, y, rows)(x, y, chosen, seed=seed, max_negatives=params.get("max_negatives"),
                                                  rows=rows)
    return coef, intercept, threshold


#: The bytes of inner-model scores (and of their coefficients) one product of :func:`inner_cuts` may make.
PRODUCT_BYTES = 1 << 26


def inner_cuts(x: sp.csr_matrix, inners: Sequence[InnerFits | None],
               params: Mapping[str, Any]) -> list[tuple[float, float]]:
    """(C, threshold) of each of these inner fits (of rows of ``x``; None: the first C and 0.5).

    When their training rows add up to the rows of ``x`` or more (several codes, or the folds of
    a cross-validation), their models are scored in as few products over ``x`` as memory allows
    (PRODUCT_BYTES): one pass over the matrix scores dozens of models for little more than the
    cost of one (the 75 inner models of bench/workflow.py's N = 1,000 project in 0.3 s of CPU
    instead of 1 s code by code), and no training part is cut out of it. Otherwise each one's
    training rows are cut once and scored in one product (fewer rows than the matrix). A row's
    product with a model sums the row's entries in the same order whatever the number of models
    multiplied at once, so either way the scores, and the cuts, are the same to the last bit.
    """
    cuts: list[tuple[float, float]] = [(_grid(params)[0], 0.5)] * len(inners)
    pending = [k for k, inner in enumerate(inners) if inner is not None]
    together = sum(len(inner.positions) for inner in inners if inner is not None) >= x.shape[0]
    widest = 8 * max(x.shape[0], x.shape[1], 1)
    batch: list[InnerFits] = []
    at: list[int] = []
    for n, k in enumerate(pending):
        inner = inners[k]
        assert inner is not None
        batch.append(inner)
        at.append(k)
        following = inners[pending[n + 1]] if n + 1 < len(pending) else None
        width = sum(len(b.coefficients()) for b in batch)
        if together and following is not None and (width + len(following.coefficients())) * widest <= PRODUCT_BYTES:
            continue
        coefficients = [c for b in batch for c in b.coefficients()]
        if not coefficients:  # no inner fold could be fitted
            z = np.zeros((x.shape[0] if together else len(inner.positions), 0))
        elif together:
            z = x @ np.column_stack(coefficients)
        else:  # one inner fit on part of x: its training rows cut once (none when they are all of x)
            whole = len(inner.positions) == x.shape[0] and bool(np.all(np.diff(inner.positions) > 0))
            z = (x if whole else rows_of(x, inner.positions)) @ np.column_stack(coefficients)
        first = 0
        for b, k_b in zip(batch, at):
            last = first + len(b.coefficients())
            cuts[k_b] = cut_of_inner(b, z[b.positions, first:last] if together else z[:, first:last], params)
            first = last
        del z
        batch, at = [], []
    return cuts


def fit_codes(x: sp.csr_matrix, labels: Sequence[np.ndarray], groups: np.ndarray, *, roles: np.ndarray | None,
              params: Mapping[str, Any], seed: int, rows: Sequence[np.ndarray | None] | None = None,
              progress: Callable[[int], None] | None = None) -> list[tuple[np.ndarray, float, float, tuple[str, ...]]]:
    """:func:`fit_in_scope` of several codes on the rows of one matrix (``labels``: each code's
    labels of every row of ``x``; ``rows``: each code's training rows, all when None), the same
    models: the inner models of every code first, then their out-of-fold scores in as few
    products over ``x`` as memory allows (:func:`inner_cuts`), then each code's cut and its model.
    ``progress`` is called with the number of codes whose inner models are fitted.
    """
    every = [None] * len(labels) if rows is None else list(rows)
    numbered = RoleIds.of(roles) if roles is not None and params.get("role_gate") else None
    scoped: list[tuple[np.ndarray | None, tuple[str, ...]]] = []
    inners: list[InnerFits | None] = []
    for k, (y, code_rows) in enumerate(zip(labels, every)):
        code_rows, excluded = in_scope(y, roles=numbered, params=params, rows=code_rows)
        scoped.append((code_rows, excluded))
        inners.append(fit_inner(x, y, groups, params=params, seed=seed, rows=code_rows))
        if progress is not None:
            progress(k + 1)
    cuts = inner_cuts(x, inners, params)
    out = []
    for (code_rows, excluded), y, (chosen, threshold) in zip(scoped, labels, cuts):
        coef, intercept = fitter_for(params, y, code_rows)(x, y, chosen, seed=seed,
                                                           max_negatives=params.get("max_negatives"),
                                                           rows=code_rows)
        out.append((coef, intercept, threshold, excluded))
    return out


class Fitter(Protocol):
    """What :func:`fit_with_threshold` fits with: :func:`fit_classifier`'s signature."""

    def __call__(self, x: sp.csr_matrix, y: np.ndarray, c: float, *, seed: int, max_negatives: int | None = None,
                 rows: np.ndarray | None = None, tol: float = 1e-4, per_positive: int = 4) -> tuple[np.ndarray, float]:
        ...


def loss_for(params: Mapping[str, Any], positives: int) -> str:
    """The classifier ("logistic" or "svm") of a code whose training data holds ``positives``:
    ``params["loss"]``, and for "auto" the support vector machine from ``params["svm_from"]`` up to
    (not including) ``params["svm_to"]`` positives (a stored model's parameters may predate them:
    the regression)."""
    loss = str(params.get("loss", "logistic"))
    if loss == "auto":
        inside = int(params.get("svm_from", 50)) <= positives < int(params.get("svm_to", 1000))
        return "svm" if inside else "logistic"
    return loss


def fitter_for(params: Mapping[str, Any], y: np.ndarray, rows: np.ndarray | None) -> Fitter:
    """The classifier (:func:`fitter_of`, :func:`loss_for`) of a code learnt from these rows of ``y``
    (all when None): the inner models and the model of one training part use the same one."""
    return fitter_of(loss_for(params, int(np.count_nonzero(y if rows is None else y[rows]))))


def fitter_of(loss: str) -> Fitter:
    """:func:`fit_svm` for "svm", :func:`fit_classifier` (the logistic regression) otherwise."""
    return fit_svm if loss == "svm" else fit_classifier


def fit_svm(x: sp.csr_matrix, y: np.ndarray, c: float, *, seed: int, max_negatives: int | None = None,
            rows: np.ndarray | None = None, tol: float = 1e-4, per_positive: int = 4) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) of a class-balanced linear support vector machine (squared hinge
    loss, L2 penalty, liblinear's dual solver) on the rows :func:`fit_classifier` would fit on.

    Its decision value d is scored as 1 / (1 + exp(-d)) like the regression's (:func:`scores_of`),
    so that the machine's own boundary (d = 0) is the score 0.5, where the balanced regression has
    its boundary too: the thresholds, the stored model and ``suggest run`` work unchanged. The
    score is then not a probability, only an order with 0.5 at the boundary."""
    from sklearn.svm import LinearSVC

    part, yy = fitted_rows(x, y, seed=seed, max_negatives=max_negatives, rows=rows, per_positive=per_positive)
    model = LinearSVC(C=c, class_weight="balanced", dual=True, random_state=seed, max_iter=1000, tol=tol)
    model.fit(part, yy.astype(np.int64))
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


def kappa_at(predicted: np.ndarray, y: np.ndarray) -> float:
    """Cohen's kappa of two yes/no ratings (0 when chance agreement is total)."""
    n = len(y)
    if n == 0:
        return 0.0
    p, t = predicted.astype(bool), y.astype(bool)
    agree = float((p == t).mean())
    chance = float(p.mean() * t.mean() + (1 - p.mean()) * (1 - t.mean()))
    return (agree - chance) / (1 - chance) if chance < 1 else 0.0


def f1_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """The score threshold that maximises F1 on these scores (0.5 when there is no positive)."""
    n, positives = len(scores), int(y.sum())
    if n == 0 or positives == 0:
        return 0.5
    order = np.argsort(-scores)  # ties in any order: see kappa_threshold
    s, truth = scores[order], y[order].astype(np.float64)
    tp = np.cumsum(truth)
    k = np.arange(1, n + 1, dtype=np.float64)
    f1 = np.where(np.append(s[:-1] > s[1:], True), 2 * tp / (k + positives), -np.inf)
    best = int(np.argmax(f1))
    return float(s[-1]) if best == n - 1 else float((s[best] + s[best + 1]) / 2)


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold predictions of one code on the labelled segments."""

    truth: np.ndarray  # bool per labelled segment
    predicted: np.ndarray  # bool
    scores: np.ndarray
    fold: np.ndarray  # the fold that tested each segment
    thresholds: tuple[float, ...]


def cross_validate(x: sp.csr_matrix, y: np.ndarray, groups: np.ndarray, *, params: Mapping[str, Any], seed: int,
                   train_subset: Mapping[int, np.ndarray] | None = None,
                   roles: np.ndarray | None = None) -> CrossValidation | None:
    """Document-grouped cross-validation of one code (None when the data cannot be split in two).

    ``train_subset`` (fold -> training positions) replaces each fold's training part, for the
    learning curve: the test parts stay whole. ``roles`` (per row): each fold learns from its
    training part which roles the code is kept off (:func:`fit_in_scope`) and scores the test
    segments of those roles 0.
    """
    y = y.astype(bool)
    folds = folds_of(y, groups, int(params["folds"]), seed=seed)
    if not folds:
        return None
    # fit_in_scope fold by fold, with every fold's inner models scored together (inner_cuts: no
    # training part cut out of x when they add up to x), then every fold's model in one product
    # over x (the test parts are the rows of x): the same scores as cutting each test part apart
    plans: list[tuple[np.ndarray, np.ndarray | None, tuple[str, ...], InnerFits | None]] = []
    numbered = RoleIds.of(roles) if roles is not None and params.get("role_gate") else None
    for k, (train, test) in enumerate(folds):
        if train_subset is not None:
            train = train_subset.get(k, train)
        if not y[train].any() or y[train].all():
            return None
        rows, excluded = in_scope(y, roles=numbered, params=params, rows=train)
        plans.append((test, rows, excluded, fit_inner(x, y, groups, params=params, seed=seed, rows=rows)))
    cuts = inner_cuts(x, [plan[3] for plan in plans], params)
    models = [fitter_for(params, y, rows)(x, y, chosen, seed=seed, max_negatives=params.get("max_negatives"),
                                          rows=rows)
              for (_test, rows, _excluded, _inner), (chosen, _threshold) in zip(plans, cuts)]
    z = x @ np.column_stack([coef for coef, _ in models])
    predicted = np.zeros(len(y), dtype=bool)
    scores = np.zeros(len(y))
    fold = np.full(len(y), -1)
    thresholds = []
    for k, ((test, rows, excluded, _inner), (_chosen, threshold), (_coef, intercept)) in enumerate(
            zip(plans, cuts, models)):
        d = z[test, k] + intercept
        extra = neighbour_term_of(x, y, rows=rows, scored=test,
                                  k=neighbours_for(params, int(np.count_nonzero(y[rows])), segments=x.shape[0]),
                                  params=params,
                                  seed=seed) if rows is not None else None
        if extra is not None:
            d = d + extra
        s = np.asarray(1.0 / (1.0 + np.exp(-np.clip(d, -500, 500))))  # scores_of's
        if roles is not None:
            s = gated(s, roles[test], excluded)
        scores[test], predicted[test], fold[test] = s, s >= threshold, k
        thresholds.append(threshold)
    return CrossValidation(y, predicted, scores, fold, tuple(thresholds))


def model_id(pairs: Sequence[tuple[str, str]], known: Sequence[str], coder: str, *, codes: Sequence[str],
             params: Mapping[str, Any], seed: int) -> str:
    """The hash of the training codings, the segments they were read against, the parameters
    and the library versions: the same training gives the same id."""
    import scipy
    import sklearn

    from qda import __version__

    digest = hashlib.sha256()
    digest.update(json.dumps({"coder": coder, "codes": list(codes), "params": dict(params), "seed": seed,
                              "versions": {"qda": __version__, "scikit-learn": sklearn.__version__,
                                           "numpy": np.__version__, "scipy": scipy.__version__}},
                             sort_keys=True).encode())
    for ref, code in pairs:
        digest.update(f"{ref}\x1f{code}\x1e".encode())
    digest.update("\x1d".join(known).encode())
    return digest.hexdigest()


@dataclass
class Model:
    """A trained suggester: the vectors, and per trained code its coefficients, intercept and threshold."""

    id: str
    coder: str
    vectors: Features
    codes: list[str]
    coef: np.ndarray  # codes x features
    intercept: np.ndarray
    threshold: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    # per code, the speaker roles it is kept off (role_scope); scored 0 on their segments
    excluded: list[tuple[str, ...]] = field(default_factory=list)
    # the training segments' rows the neighbour terms compare with (unit length, as the features), and per
    # code its (k, positive rows, negative rows) among them; k 0: no neighbour term (see neighbour_term)
    reference: sp.csr_matrix | None = None
    neighbours: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)

    @property
    def machine_coder(self) -> str:
        """The coder its suggestions are stored as: ``model:`` and the id's first 6 hex digits."""
        return machine_coder(self.id)

    @property
    def english_terms(self) -> str:
        """What it reads as an English document's terms (its corpus: see :func:`english_terms_of`)."""
        return english_terms_of(self.params)

    def scores(self, texts: Sequence[str], codes: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
        """(codes, segments x codes scores)."""
        wanted = list(codes) if codes is not None else self.codes
        rows = [self.codes.index(c) for c in wanted]
        x = self.vectors.transform(texts)
        if not rows or not len(texts):  # nothing to score (e.g. --uncoded when every document is coded)
            return wanted, np.zeros((len(texts), len(rows)))
        return wanted, self.gate(texts, self.scores_of_rows(x, rows), rows)

    def passages_term(self, x: sp.csr_matrix, row: int) -> float | None:
        """What the nearest coded passages add to the decision value of code ``row`` for the one
        segment ``x`` (None when the code's score has no such term)."""
        term = self._neighbour_term(x, row)
        return None if term is None else float(term[0])

    def _neighbour_term(self, x: sp.csr_matrix, row: int) -> np.ndarray | None:
        """Code ``row``'s neighbour term of the feature rows ``x`` (None when it has none)."""
        if self.reference is None or row >= len(self.neighbours) or not self.neighbours[row][0]:
            return None
        k, positive, negative = self.neighbours[row]
        return neighbour_term(x, rows_of(self.reference, positive), rows_of(self.reference, negative), k=k,
                              weight=float(self.params.get("neighbours_weight", 1.0)))

    def scores_of_rows(self, x: sp.csr_matrix, rows: Sequence[int]) -> np.ndarray:
        """Scores (segments x the codes at ``rows``) of the feature rows ``x``: each code's linear
        decision value and, where the code has one, its neighbour term, through the logistic function."""
        z = np.asarray(x @ self.coef[list(rows)].T) + self.intercept[list(rows)]
        z = np.atleast_2d(z).reshape(x.shape[0], -1)
        for j, r in enumerate(rows):
            term = self._neighbour_term(x, r)
            if term is not None:
                z[:, j] += term
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))))

    def gate(self, texts: Sequence[str], scores: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        """``scores`` (segments x the codes at ``rows``) with each code's excluded roles' segments at 0."""
        if not any(self.excluded[r] for r in rows if r < len(self.excluded)):
            return scores
        roles = np.array([(t.split(FIELD) + ["", ""])[2] for t in texts], dtype=str)
        for j, r in enumerate(rows):
            if r < len(self.excluded) and self.excluded[r]:
                scores[:, j] = gated(scores[:, j], roles, self.excluded[r])
        return scores

    def to_bytes(self) -> bytes:
        """Plain arrays in an ``.npz`` (no pickle: see the module docstring)."""
        buffer = io.BytesIO()
        arrays: dict[str, np.ndarray] = {"terms": np.array(self.vectors.words.terms(), dtype=str),
                                         "idf": self.vectors.words.idf}
        if self.vectors.chars is not None:
            arrays |= {"chars": np.array(self.vectors.chars.terms(), dtype=str), "char_idf": self.vectors.chars.idf}
        arrays |= {"codes": np.array(self.codes, dtype=str), "coef": self.coef, "intercept": self.intercept,
                   "threshold": self.threshold}
        if any(self.excluded):  # per code, its excluded roles as a JSON list (strings: no pickle)
            arrays["excluded"] = np.array([json.dumps(list(e)) for e in self.excluded], dtype=str)
        if self.reference is not None and any(k for k, _, _ in self.neighbours):
            reference = sp.csr_matrix(self.reference)
            arrays |= {"reference_data": reference.data, "reference_indices": reference.indices,
                       "reference_indptr": reference.indptr, "reference_shape": np.array(reference.shape),
                       "neighbour_k": np.array([k for k, _, _ in self.neighbours], dtype=np.int64),
                       # per code, its rows among the reference's, one after another ("_at": where each code's start)
                       "neighbour_positive": np.concatenate([p for _, p, _ in self.neighbours]).astype(np.int64),
                       "neighbour_positive_at": np.cumsum([0] + [len(p) for _, p, _ in self.neighbours]),
                       "neighbour_negative": np.concatenate([n for _, _, n in self.neighbours]).astype(np.int64),
                       "neighbour_negative_at": np.cumsum([0] + [len(n) for _, _, n in self.neighbours])}
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, model_id: str, coder: str, data: bytes, *, params: Mapping[str, Any]) -> Model:
        """A stored model back (arrays only: ``allow_pickle=False``)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            terms = [str(t) for t in arrays["terms"]]
            analyzer = analyzer_of(params)
            words = Vectors({t: i for i, t in enumerate(terms)}, np.asarray(arrays["idf"], dtype=np.float64),
                            analyzer)
            chars = None
            if "chars" in arrays.files:
                chars = Vectors({str(t): i for i, t in enumerate(arrays["chars"])},
                                np.asarray(arrays["char_idf"], dtype=np.float64), "char_wb")
            codes = [str(c) for c in arrays["codes"]]
            excluded: list[tuple[str, ...]] = ([tuple(str(r) for r in json.loads(str(e))) for e in arrays["excluded"]]
                                               if "excluded" in arrays.files else [() for _ in codes])
            reference = None
            neighbours: list[tuple[int, np.ndarray, np.ndarray]] = []
            if "reference_data" in arrays.files:  # a model trained with neighbour terms
                shape = tuple(int(n) for n in arrays["reference_shape"])
                reference = sp.csr_matrix((arrays["reference_data"], arrays["reference_indices"],
                                           arrays["reference_indptr"]), shape=shape)
                reference.has_canonical_format = True  # stored from a canonical matrix
                pos, pos_at = arrays["neighbour_positive"], arrays["neighbour_positive_at"]
                neg, neg_at = arrays["neighbour_negative"], arrays["neighbour_negative_at"]
                neighbours = [(int(k), pos[pos_at[j]:pos_at[j + 1]], neg[neg_at[j]:neg_at[j + 1]])
                              for j, k in enumerate(arrays["neighbour_k"].tolist())]
            return cls(model_id, coder, Features(words, chars), codes,
                       np.asarray(arrays["coef"], dtype=np.float64), np.asarray(arrays["intercept"], dtype=np.float64),
                       np.asarray(arrays["threshold"], dtype=np.float64), dict(params), excluded, reference,
                       neighbours)


def counts_options(analyzer: Terms | str, chars: bool) -> tuple[tuple[str, bool], ...] | None:
    """``analyzer``'s settings as :func:`qda.suggest.counts.segment_counts` takes them, and
    ``chars``; None when the analyzer has a setting that module does not build (then the
    features are made by calling the analyzer on each feature text)."""
    if not isinstance(analyzer, Terms) or set(vars(analyzer)) - set(TERM_OPTIONS):
        return None
    return (*((name, bool(getattr(analyzer, name))) for name in TERM_OPTIONS), ("chars", chars))


def analyzer_of(params: Mapping[str, Any]) -> Terms:
    """The analyzer for these parameters (a stored model's parameters may predate some: off then)."""
    return Terms(bool(params.get("bigrams", True)), bool(params.get("context", True)), bool(params.get("role", True)),
                 following=bool(params.get("following", False)), turn=bool(params.get("turn", False)),
                 length=bool(params.get("length", False)), other=bool(params.get("other", False)))


def check_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The defaults updated with ``params``; an unknown name is an error."""
    merged = dict(DEFAULTS)
    for key, value in (params or {}).items():
        if key not in DEFAULTS:
            raise SuggestError(f"unknown suggester parameter '{key}' (known: {', '.join(DEFAULTS)})")
        merged[key] = value
    if merged["loss"] not in LOSSES:
        raise SuggestError(f"unknown classifier '{merged['loss']}' (known: {', '.join(LOSSES)})")
    if merged["threshold"] not in THRESHOLD_RULES:
        raise SuggestError(f"unknown threshold rule '{merged['threshold']}' (known: {', '.join(THRESHOLD_RULES)})")
    check_english_terms(english_terms_of(merged))
    return merged


def english_terms_of(params: Mapping[str, Any]) -> str:
    """What a model trained with ``params`` reads as an English document's terms (see
    :data:`qda.suggest.corpus.ENGLISH_TERMS`): a stored model's parameters may predate the
    setting, and such a model was trained on the lemmas."""
    return str(params.get("english_terms", "lemmas"))


def hashed_params(params: Mapping[str, Any], languages: frozenset[str]) -> dict[str, Any]:
    """The parameters the model id hashes: ``english_terms`` only when the corpus holds English
    documents (elsewhere it changes nothing, and a French project's models keep the ids they had
    before the setting existed)."""
    return {k: v for k, v in params.items() if k != "english_terms" or ENGLISH in languages}
