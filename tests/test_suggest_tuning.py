"""The suggester's tuning options (issue 21, quality): threshold rules and C chosen by inner CV.

Checked against scikit-learn's metrics and by brute force, never against qda's own output.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import cohen_kappa_score, f1_score

from qda.errors import SuggestError
from qda.suggest.learn import check_params, f1_threshold, fit_classifier, fit_with_threshold, kappa_at


def test_f1_threshold_is_the_best_cut_by_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(5, 80))
        y = rng.random(n) < 0.3
        if not y.any():
            continue
        scores = np.round(rng.random(n), 2)  # ties on purpose
        best = max(f1_score(y, scores >= t, zero_division=0) for t in np.unique(scores))
        assert f1_score(y, scores >= f1_threshold(scores, y), zero_division=0) == pytest.approx(best)


def test_kappa_at_equals_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    for _ in range(50):
        n = int(rng.integers(5, 80))
        y, predicted = rng.random(n) < 0.3, rng.random(n) < 0.4
        if len(set(y)) < 2 and len(set(predicted)) < 2 and y[0] == predicted[0]:
            continue
        assert kappa_at(predicted, y) == pytest.approx(cohen_kappa_score(y, predicted))


def _data() -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    n = 400
    x = sp.csr_matrix((rng.random((n, 30)) < 0.15).astype(np.float64))
    y = (x[:, 0].toarray().ravel() + x[:, 1].toarray().ravel() + (rng.random(n) < 0.1)) > 0
    return x, y.astype(np.int64), np.arange(n) // 8


def test_c_list_picks_one_of_the_values_and_fits_with_it() -> None:
    x, y, groups = _data()
    params = check_params({"C": [0.05, 4.0], "loss": "logistic"})  # the regression: compared with fit_classifier
    coef, intercept, threshold = fit_with_threshold(x, y, groups, params=params, seed=1)
    fits = [fit_classifier(x, y, c, seed=1, max_negatives=params["max_negatives"]) for c in (0.05, 4.0)]
    assert any(np.allclose(coef, c) and intercept == pytest.approx(b) for c, b in fits)
    assert 0 < threshold < 1


def test_half_rule_cuts_at_one_half_and_a_single_c_list_equals_the_number() -> None:
    x, y, groups = _data()
    assert fit_with_threshold(x, y, groups, params=check_params({"threshold": "half"}), seed=1)[2] == 0.5
    one = fit_with_threshold(x, y, groups, params=check_params({"C": [2.0]}), seed=1)
    number = fit_with_threshold(x, y, groups, params=check_params({"C": 2.0}), seed=1)
    assert np.allclose(one[0], number[0]) and one[2] == number[2]


def test_an_unknown_threshold_rule_is_refused() -> None:
    with pytest.raises(SuggestError, match="threshold"):
        check_params({"threshold": "best"})
