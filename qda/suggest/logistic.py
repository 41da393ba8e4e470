"""A class-balanced logistic regression by liblinear's dual solver, as scikit-learn fits it, without
the estimator's per-fit checks.

``LogisticRegression(class_weight="balanced", solver="liblinear", dual=True).fit`` validates
its input, encodes the labels, computes the class weights and then calls liblinear through
``sklearn.svm._liblinear.train_wrap`` (``sklearn.svm._base._fit_liblinear``). On segments of
text the checks cost about 10 % of a fit (0.3 s of CPU of the 100 fits that train
bench/workflow.py's N = 1,000 project). :func:`fit_logistic` makes the same call with the same
arguments, computed as scikit-learn computes them, so the coefficients are the same to the last
bit. ``train_wrap`` is private to scikit-learn: the first fit of a process checks the direct call
against ``LogisticRegression`` on a small problem, and every fit goes through
``LogisticRegression`` when the call fails or differs (a version of scikit-learn that changed it).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

#: liblinear's solver number for L2-regularised logistic regression solved in the dual
#: (``sklearn.svm._base._get_liblinear_solver_type("ovr", "l2", "logistic_regression", True)``).
_DUAL_LOGISTIC = 7

_state: dict[str, Any] = {"direct": None}  # None: not checked yet in this process; then True or False
_lock = threading.Lock()


def fit_logistic(x: sp.csr_matrix, y: np.ndarray, c: float, *, seed: int, tol: float,
                 max_iter: int = 1000) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) of ``LogisticRegression(C=c, class_weight="balanced",
    solver="liblinear", dual=True, random_state=seed, max_iter=max_iter, tol=tol).fit(x, y)``:
    ``x`` a CSR matrix of float64 with int32 indices, ``y`` bool or 0/1 with both classes."""
    with _lock:
        direct = _state["direct"]
        if direct is None:
            direct = _state["direct"] = _direct_call_matches()
    # the direct call takes what the estimator's checks would pass on unchanged (they put a matrix
    # in canonical form first, which changes the order liblinear sums a row in)
    if direct and isinstance(x, sp.csr_matrix) and x.dtype == np.float64 and x.indices.dtype == np.int32 \
            and x.indptr.dtype == np.int32 and x.has_canonical_format:
        return _fit_direct(x, y, c, seed=seed, tol=tol, max_iter=max_iter)
    return _fit_estimator(x, y, c, seed=seed, tol=tol, max_iter=max_iter)


def _fit_estimator(x: sp.csr_matrix, y: np.ndarray, c: float, *, seed: int, tol: float,
                   max_iter: int) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", dual=True, random_state=seed,
                               max_iter=max_iter, tol=tol)
    model.fit(x, np.asarray(y).astype(np.int64))
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


def _fit_direct(x: sp.csr_matrix, y: np.ndarray, c: float, *, seed: int, tol: float,
                max_iter: int) -> tuple[np.ndarray, float]:
    """``_fit_liblinear``'s call for two classes 0 and 1, no sample weights, intercept scaling 1."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import _liblinear

    labels = np.asarray(y).astype(np.int64)
    # compute_class_weight("balanced"): the sum of the (unit) sample weights per class, then
    # total / (classes x count), in float64 as scikit-learn computes it
    counts = np.bincount(labels, weights=np.ones(len(labels), dtype=np.float64), minlength=2)
    if len(counts) != 2 or not counts.all():
        raise ValueError("liblinear needs both classes 0 and 1")
    class_weight = counts.sum() / (2 * counts)
    _liblinear.set_verbosity_wrap(0)
    raw, n_iter = _liblinear.train_wrap(
        x, np.require(labels.astype(np.float64), requirements="W"), True, _DUAL_LOGISTIC, tol, 1.0, c,
        class_weight, max_iter, np.random.RandomState(seed).randint(np.iinfo("i").max), 0.1,
        np.ones(x.shape[0], dtype=np.float64))
    if max(n_iter) >= max_iter:
        warnings.warn("Liblinear failed to converge, increase the number of iterations.", ConvergenceWarning,
                      stacklevel=2)
    return np.asarray(raw[0, :-1], dtype=np.float64), float(raw[0, -1])


def _direct_call_matches() -> bool:
    """Whether the direct call gives ``LogisticRegression``'s model on a small problem (bit for bit)."""
    rng = np.random.default_rng(0)
    x = sp.random(300, 40, density=0.1, format="csr", random_state=1, dtype=np.float64)
    x.sort_indices()
    y = (np.asarray(x @ rng.normal(size=40)).ravel() + rng.normal(0, 0.1, 300)) > 0.05
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            direct = _fit_direct(x, y, 1.0, seed=3, tol=1e-4, max_iter=1000)
    except Exception:  # noqa: BLE001 - a private API that changed: the estimator it is
        return False
    expected = _fit_estimator(x, y, 1.0, seed=3, tol=1e-4, max_iter=1000)
    return bool(np.array_equal(direct[0], expected[0]) and direct[1] == expected[1])
