"""Every segment's term counts at once, built with NumPy from id arrays.

The suggester's features are counts of the terms :class:`qda.suggest.learn.Terms` makes of a
segment's feature text (its lemmas, lemma bigrams, the previous segment's lemmas, ...) and of
the character 3-5-grams scikit-learn's ``char_wb`` analyzer makes of its words. Calling the
analyzer on each of 136,000 feature texts, then counting its terms in Python, took 3-4 s of
CPU per training and per ``suggest run``. Here each distinct word gets an id once, and every
block of terms is a sparse matrix built from id arrays: the bigrams from pairs of neighbouring
ids, the context blocks (previous segment, the turn answered, next segment) as the word block's
rows shifted, the character n-grams as (words per segment) x (n-grams per distinct word).

The result is the same count matrix, term for term (``tests/test_suggest_counts.py`` compares
it with the analyzer's on every combination of settings); :class:`Counts` holds it over every
term of every segment, and :meth:`Counts.fit` / :meth:`Counts.take` cut it to the segments and
vocabulary a model uses, as ``CountVectorizer`` fitted with ``min_df`` would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp

#: The options of :class:`qda.suggest.learn.Terms` this module builds (any other: the analyzer is used).
TERM_OPTIONS = ("bigrams", "context", "role", "following", "turn", "length", "other")


@dataclass
class Counts:
    """Term counts of every segment: ``matrix`` (segments x ``names``, float64, canonical CSR)."""

    names: list[str]
    matrix: sp.csr_matrix
    _columns: dict[str, int] | None = field(default=None, repr=False)

    def column(self) -> dict[str, int]:
        """Term -> column (made once)."""
        if self._columns is None:
            self._columns = {name: i for i, name in enumerate(self.names)}
        return self._columns

    def fit(self, rows: np.ndarray, min_df: int, *, empty_ok: bool = False) -> tuple[dict[str, int], sp.csr_matrix]:
        """(vocabulary, counts of ``rows``) as ``CountVectorizer(min_df=min_df)`` fitted on those
        segments gives them: the terms in at least ``min_df`` of them, in alphabetical order.

        ``empty_ok=False``: no term left is scikit-learn's ValueError (as the analyzer path raised)."""
        part = _rows(self.matrix, rows)
        df = np.bincount(part.indices, minlength=len(self.names))
        keep = np.flatnonzero(df >= max(min_df, 1))
        if not len(keep) and not empty_ok:
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        order = sorted(keep.tolist(), key=self.names.__getitem__)
        vocabulary = {self.names[c]: i for i, c in enumerate(order)}
        return vocabulary, _columns(part, np.asarray(order, dtype=np.int64))

    def take(self, rows: np.ndarray | None, vocabulary: Mapping[str, int]) -> sp.csr_matrix:
        """Counts of ``rows`` (every segment when None) in the columns of a fitted ``vocabulary``
        (a term no segment has now: a column of zeros)."""
        names = [""] * len(vocabulary)
        for term, i in vocabulary.items():
            names[i] = term
        found = self.column()
        cols = np.fromiter((found.get(t, -1) for t in names), dtype=np.int64, count=len(names))
        part = self.matrix if rows is None else _rows(self.matrix, rows)
        return _columns(part, cols)


@dataclass
class SegmentCounts:
    """The counts of :class:`qda.suggest.learn.Terms`' terms and, when asked, of the character n-grams."""

    words: Counts
    chars: Counts | None


def _rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == matrix.shape[0] and np.array_equal(rows, np.arange(len(rows))):
        return matrix  # every row in order: no copy (train on a project coded throughout)
    part = sp.csr_matrix(matrix[rows])
    part.has_canonical_format = True  # rows of a canonical matrix
    return part


def _columns(matrix: sp.csr_matrix, cols: np.ndarray) -> sp.csr_matrix:
    """Columns ``cols`` of ``matrix`` in that order (-1: a column of zeros), canonical."""
    width = matrix.shape[1]
    new = np.full(width + 1, -1, dtype=np.int64)
    present = cols >= 0
    new[cols[present]] = np.flatnonzero(present)
    small = np.int32 if max(width, len(cols), matrix.nnz) < 2 ** 31 - 1 else np.int64  # 136,000 rows: 17 M entries
    new = new.astype(small)
    mapped = new[matrix.indices]
    keep = mapped >= 0
    kept_before = np.zeros(matrix.nnz + 1, dtype=small)
    np.cumsum(keep, dtype=small, out=kept_before[1:])
    indptr = kept_before[matrix.indptr]
    if kept_before[-1] == matrix.nnz:  # every entry kept: the data is shared, not copied (it is only read)
        out = sp.csr_matrix((matrix.data, mapped, indptr), shape=(matrix.shape[0], len(cols)), copy=False)
    else:
        out = sp.csr_matrix((matrix.data[keep], mapped[keep], indptr), shape=(matrix.shape[0], len(cols)))
    if not np.all(np.diff(cols[present]) > 0):  # a vocabulary in another order than the names'
        out.has_sorted_indices = False
        out.sort_indices()
    out.has_canonical_format = True  # no duplicates: each column is taken once
    return out


def _csr(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Counts of (row, col) pairs as a canonical CSR matrix (duplicates summed)."""
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def _shifted(block: sp.csr_matrix, source: np.ndarray) -> sp.csr_matrix:
    """Row i of the result is row ``source[i]`` of ``block`` (-1: an empty row)."""
    n, width = block.shape
    extended = sp.csr_matrix(sp.vstack([block, sp.csr_matrix((1, width))]).tocsr())
    return _rows(extended, np.where(source >= 0, source, n))


def char_wb_grams(word: str, low: int = 3, high: int = 5) -> list[str]:
    """scikit-learn's ``char_wb`` n-grams of one word (lower-cased, padded with a space each side;
    a word shorter than ``n`` counted once as a whole)."""
    out: list[str] = []
    for piece in _WHITE.sub(" ", word.lower()).split():
        padded = " " + piece + " "
        size = len(padded)
        for n in range(low, high + 1):
            if size <= n:
                out.append(padded)
                break
            out.extend(padded[k:k + n] for k in range(size - n + 1))
    return out


_WHITE = re.compile(r"\s\s+")


def segment_counts(words: Sequence[str], document: np.ndarray, roles: Sequence[str | None], *,
                   options: Mapping[str, Any], chars: bool, length_bins: Sequence[str]) -> SegmentCounts:
    """The counts of every segment's terms (``options``: :class:`qda.suggest.learn.Terms`' settings)
    and, when ``chars``, of its words' character 3-5-grams. ``words``, ``document`` and ``roles``
    are :class:`qda.suggest.corpus.Corpus`' (segments in document then reading order);
    ``length_bins``: the length term of a segment of k terms (the last for longer ones)."""
    n = len(words)
    split = [w.split() for w in words]
    lens = np.fromiter(map(len, split), dtype=np.int64, count=n)
    pieces = list(chain.from_iterable(split))
    vocab = list(dict.fromkeys(pieces))
    lookup = {w: i for i, w in enumerate(vocab)}
    ids = np.fromiter(map(lookup.__getitem__, pieces), dtype=np.int64, count=len(pieces))
    width = len(vocab)
    seg_of = np.repeat(np.arange(n, dtype=np.int64), lens)
    unigrams = _csr(seg_of, ids, (n, width))

    doc = np.asarray(document, dtype=np.int64)
    same_before = np.zeros(n, dtype=bool)
    same_before[1:] = doc[1:] == doc[:-1]
    same_after = np.zeros(n, dtype=bool)
    same_after[:-1] = same_before[1:]
    positions = np.arange(n, dtype=np.int64)

    names: list[str] = []
    blocks: list[sp.csr_matrix] = []

    def add(block_names: list[str], block: sp.csr_matrix) -> None:
        names.extend(block_names)
        blocks.append(block)

    add(vocab, unigrams)
    if options.get("bigrams", True) and len(ids) > 1:
        pair = seg_of[:-1] == seg_of[1:]
        keys = ids[:-1][pair] * max(width, 1) + ids[1:][pair]
        unique, inverse = np.unique(keys, return_inverse=True)
        add([f"{vocab[k // width]} {vocab[k % width]}" for k in unique.tolist()],
            _csr(seg_of[:-1][pair], inverse.reshape(-1), (n, len(unique))))
    if options.get("context", True):
        add(["<p>" + w for w in vocab], _shifted(unigrams, np.where(same_before, positions - 1, -1)))
    # role ids: None and "" differ as roles (a change of turn), the role field of both is ""
    role_ids: dict[str | None, int] = {}
    rid = np.fromiter((role_ids.setdefault(r, len(role_ids)) for r in roles), dtype=np.int64, count=n)
    field_ids: dict[str, int] = {}
    field_of_role = np.fromiter((field_ids.setdefault(r or "", len(field_ids)) for r in role_ids), dtype=np.int64,
                                count=len(role_ids))
    start_field = field_ids.setdefault("<start>", len(field_ids))
    field_names = list(field_ids)
    role_field = field_of_role[rid] if n else np.zeros(0, dtype=np.int64)
    singles: list[tuple[np.ndarray, list[str], np.ndarray]] = []  # (rows, names, name index per row)
    if options.get("role", True):
        has = np.fromiter((bool(field_names[f]) for f in role_field.tolist()), dtype=bool, count=n)
        singles.append((np.flatnonzero(has), ["<role>" + f for f in field_names], role_field[has]))
    if options.get("following", False):
        add(["<n>" + w for w in vocab], _shifted(unigrams, np.where(same_after, positions + 1, -1)))
    if options.get("turn", False):
        previous_field = np.full(n, start_field, dtype=np.int64)
        previous_field[1:] = np.where(same_before[1:], role_field[:-1], start_field)
        has = np.fromiter((bool(field_names[f]) for f in previous_field.tolist()), dtype=bool, count=n)
        singles.append((np.flatnonzero(has), ["<prole>" + f for f in field_names], previous_field[has]))
        turn = has & (previous_field != role_field)
        singles.append((np.flatnonzero(turn), ["<turn>"], np.zeros(int(turn.sum()), dtype=np.int64)))
    if options.get("length", False):
        bins = list(dict.fromkeys(length_bins))
        bin_of = np.array([bins.index(b) for b in length_bins], dtype=np.int64)
        singles.append((positions, ["<len>" + b for b in bins], bin_of[np.minimum(lens, len(length_bins) - 1)]))
    if options.get("other", False):
        # the last segment of the latest turn by another role, in this document (-1: none yet)
        change = np.zeros(n, dtype=bool)
        change[1:] = same_before[1:] & (rid[1:] != rid[:-1])
        last = np.maximum.accumulate(np.where(change, positions, -1)) if n else positions
        first_of_doc = np.maximum.accumulate(np.where(~same_before, positions, 0)) if n else positions
        add(["<o>" + w for w in vocab], _shifted(unigrams, np.where(last >= np.maximum(first_of_doc, 1),
                                                                    last - 1, -1)))
    empty = lens == 0
    singles.append((np.flatnonzero(empty), ["<empty>"], np.zeros(int(empty.sum()), dtype=np.int64)))
    for rows, single_names, which in singles:
        add(single_names, _csr(rows, which, (n, len(single_names))))

    word_counts = _merged(names, blocks, n)
    char_counts = _char_counts(vocab, unigrams) if chars else None
    return SegmentCounts(word_counts, char_counts)


def _merged(names: list[str], blocks: list[sp.csr_matrix], n: int) -> Counts:
    """The blocks side by side, the terms in alphabetical order (a fitted vocabulary's order, so
    that cutting columns keeps each row's indices sorted); a term two blocks both make (a lemma
    spelt like a marked term) is one column, as the analyzer counts it."""
    matrix = sp.csr_matrix(sp.hstack(blocks, format="csr")) if blocks else sp.csr_matrix((n, 0))
    unique = sorted(set(names))
    where = {name: i for i, name in enumerate(unique)}
    remap = np.fromiter((where[name] for name in names), dtype=np.int64, count=len(names))
    coo = matrix.tocoo()
    return Counts(unique, _summed(coo.row, remap[coo.col], coo.data, (n, len(unique))))


def _summed(rows: np.ndarray, cols: np.ndarray, data: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    matrix = sp.csr_matrix((data, (rows, cols)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def _char_counts(vocab: list[str], unigrams: sp.csr_matrix) -> Counts:
    """(segments x words) @ (words x n-grams): a text's n-grams are its words' n-grams, made
    once per distinct word. The words are lower-cased first (``CountVectorizer(lowercase=True)``)."""
    lower = list(dict.fromkeys(w.lower() for w in vocab))
    at = {w: i for i, w in enumerate(lower)}
    to_lower = np.fromiter((at[w.lower()] for w in vocab), dtype=np.int64, count=len(vocab))
    per_text = _summed(*_coo(unigrams, to_lower), (unigrams.shape[0], len(lower)))
    gram_ids: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, word in enumerate(lower):
        grams = char_wb_grams(word)
        rows.extend([i] * len(grams))
        cols.extend(gram_ids.setdefault(g, len(gram_ids)) for g in grams)
    per_word = _summed(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64),
                       np.ones(len(rows), dtype=np.float64), (len(lower), len(gram_ids)))
    names = list(gram_ids)
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    per_word.indices = rank[per_word.indices].astype(per_word.indices.dtype)
    per_word.has_sorted_indices = False
    per_word.sort_indices()
    counts = sp.csr_matrix(per_text @ per_word)
    counts.sum_duplicates()
    return Counts([names[i] for i in order], counts)


def _coo(matrix: sp.csr_matrix, remap: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    coo = matrix.tocoo()
    return coo.row, remap[coo.col], coo.data
