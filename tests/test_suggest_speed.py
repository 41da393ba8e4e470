"""qda suggest's fast paths give what the slow ones gave (issue 21, speed).

Each fast path is checked against the library or the plain computation it replaces, never
against qda's own earlier output.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import StratifiedGroupKFold

from qda.suggest.learn import fit_classifier, folds_of, grouped_test_folds, rows_of


def test_grouped_folds_equal_scikit_learn_stratified_group_kfold() -> None:
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(300):
        n = int(rng.integers(20, 400))
        groups = rng.integers(0, int(rng.integers(3, 40)), n)
        y = (rng.random(n) < rng.random() * 0.5).astype(np.int64)
        k = int(rng.integers(2, 6))
        if y.sum() < 2 or len(np.unique(groups)) < k:
            continue
        seed = int(rng.integers(0, 1000))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            theirs = [test for _, test in StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(
                np.zeros(n), y, groups)]
        ours = grouped_test_folds(y, groups, k, seed)
        assert len(ours) == len(theirs)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))
        # and folds_of's (train, test) pairs are their complements
        for (train, test), expected in zip(folds_of(y, groups, k, seed), theirs):
            assert np.array_equal(test, expected)
            assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
        checked += 1
    assert checked > 100


def test_fitting_on_rows_equals_fitting_on_the_cut_matrix() -> None:
    rng = np.random.default_rng(4)
    x = sp.random(3000, 200, density=0.05, format="csr", random_state=5)
    x.sort_indices()
    y = rng.random(3000) < 0.1
    rows = np.sort(rng.choice(3000, 2000, replace=False))
    cut = rows_of(x, rows)
    assert cut.has_canonical_format and (cut != x[rows]).nnz == 0
    for cap in (None, 500):
        on_rows = fit_classifier(x, y, 1.0, 7, cap, rows)
        on_cut = fit_classifier(sp.csr_matrix(x[rows]), y[rows], 1.0, 7, cap)
        assert np.array_equal(on_rows[0], on_cut[0]) and on_rows[1] == on_cut[1]
