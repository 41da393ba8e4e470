"""The training path's shortcuts give the models the plain path gives, to the last bit (issue 21, speed).

`qda suggest train` fits every code's inner models first, then scores them all in one pass over
the feature matrix; each shortcut is checked against the code-by-code computation it replaces
(fit_in_scope on the rows of that code) or against scikit-learn itself, never against qda's
own earlier output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from qda.project import Project
from qda.suggest import learn
from qda.suggest.learn import check_params, fit_codes, fit_in_scope


def _codes() -> tuple[sp.csr_matrix, list[np.ndarray], np.ndarray, np.ndarray]:
    """1,200 segments of 60 documents, teacher and student turns, five codes: one given on teacher
    turns only (the role gate keeps it off students), one rare, one frequent, two on a few words."""
    rng = np.random.default_rng(11)
    n = 1200
    x = sp.csr_matrix((rng.random((n, 60)) < 0.1) * rng.random((n, 60)))
    roles = np.where(np.arange(n) % 3 == 0, "student", "teacher")
    words = [x[:, k].toarray().ravel() > 0 for k in range(6)]
    noise = rng.random((5, n))
    labels = [(words[0] | words[1]) & (roles == "teacher"),
              words[2] & (noise[1] < 0.15),
              words[3] | (noise[2] < 0.4),
              (words[4] & (noise[3] < 0.8)) | (noise[3] < 0.02),
              words[5] ^ (noise[4] < 0.05)]
    return x, [y.astype(np.int64) for y in labels], np.arange(n) // 20, roles


@pytest.mark.parametrize("params", [{}, {"C": [0.5, 2.0]}, {"threshold": "f1"}, {"threshold": "half"},
                                    {"role_gate": False, "inner_folds": 5}, {"loss": "svm"},
                                    {"loss": "auto", "svm_from": 100, "svm_to": 400}])
def test_fitting_codes_together_equals_fitting_each_code_on_its_own_rows(params: dict,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    x, labels, groups, roles = _codes()
    settings = check_params(params)
    rng = np.random.default_rng(3)
    # codes 1 and 3 learn from a subset of the rows (as when reviewed negatives lie outside the known segments)
    subsets: list[np.ndarray | None] = [None, np.sort(rng.choice(x.shape[0], 900, replace=False)), None,
                                        np.flatnonzero(groups < 50), None]
    expected = []
    for y, rows in zip(labels, subsets):
        use = np.arange(x.shape[0]) if rows is None else rows
        expected.append(fit_in_scope(sp.csr_matrix(x[use]), y[use], groups[use], roles=roles[use], params=settings,
                                     seed=4))
    for budget in (learn.PRODUCT_BYTES, 8 * x.shape[0] * 4):  # every code in one product; a few per product
        monkeypatch.setattr(learn, "PRODUCT_BYTES", budget)
        together = fit_codes(x, labels, groups, roles=roles, params=settings, seed=4, rows=subsets)
        assert len(together) == len(expected)
        for (coef, intercept, threshold, excluded), want in zip(together, expected):
            assert np.array_equal(coef, want[0]) and intercept == want[1]
            assert threshold == want[2] and excluded == want[3]
    if settings["role_gate"]:
        assert together[0][3] == ("student",)
    if settings["threshold"] != "half":
        assert len({t[2] for t in together}) > 1  # thresholds tuned per code, not all 0.5


def test_fitting_no_code_returns_nothing() -> None:
    x, _labels, groups, roles = _codes()
    assert fit_codes(x, [], groups, roles=roles, params=check_params(None), seed=1) == []


@pytest.mark.parametrize("reviewed", [False, True])
def test_training_a_project_gives_each_codes_own_fit(reviewed: bool, study_project: Path, tmp_path: Path) -> None:
    """Each code's model as fit_in_scope makes it on that code's rows: the known segments and, with
    ``reviewed``, the suggestions of that code the coder rejected (rows the other codes do not see)."""
    from qda.suggest import suggester
    from tests.test_suggest import copy_codings

    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    coder, params = "consensus", check_params(None)
    with Project.open(folder) as project:
        if reviewed:
            coder, params = "trainer", check_params({"min_positives": 5})
            copy_codings(project, "consensus", coder, lambda c: c.document in ("E1", "E2", "E3", "P1", "P2", "P3"))
            project.suggest_train(coder, seed=1, bootstrap=0, params={"min_positives": 5})
            project.suggest_run()
            for item in project.review_queue(coder, code="h", order="score").items[:3]:
                project.review_suggestion(coder, item.id, "reject")
        store = project._store
        steps: list[tuple[int, int]] = []
        training = suggester.train(store, project.codebook(), coder, seed=5, evaluate=False,
                                   params={"min_positives": 5} if reviewed else None,
                                   progress=lambda _label, done, total: steps.append((done, total)))
        corpus = suggester.corpus_of(store, english_terms=training.model.english_terms)
        labels = suggester.segment_labels(store, corpus, coder)
    known = np.flatnonzero(labels.known | labels.reviewed())
    _vectors, x = suggester.features_of(corpus, known, params)
    roles, groups = suggester.roles_of(corpus)[known], corpus.document[known]
    model = training.model
    assert [d for d, _ in steps] == sorted(d for d, _ in steps) and steps[-1][0] == steps[-1][1]  # never back
    assert len(model.codes) == 4 and "h" in model.codes
    for k, code in enumerate(model.codes):
        use = labels.rows_for(code, known)
        assert use.all() == (not reviewed or code == "h")  # the rejected rows are unknown for the other codes
        y = labels.positive[code][known]
        coef, intercept, threshold, excluded = fit_in_scope(sp.csr_matrix(x[use]), y[use], groups[use],
                                                            roles=roles[use], params=params, seed=5)
        assert np.array_equal(model.coef[k], coef) and model.intercept[k] == intercept
        assert model.threshold[k] == threshold and model.excluded[k] == excluded
        assert training.report.codes[[c.code for c in training.report.codes].index(code)].threshold == threshold


# ----------------------------------------------------------------------------- liblinear called directly

def _estimator(x: sp.csr_matrix, y: np.ndarray, c: float, seed: int, tol: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", dual=True, random_state=seed,
                               max_iter=1000, tol=tol).fit(x, y.astype(np.int64))
    return model.coef_[0], float(model.intercept_[0])


def test_the_direct_liblinear_call_gives_logistic_regressions_model_to_the_last_bit() -> None:
    from qda.suggest import logistic

    rng = np.random.default_rng(21)
    checked = 0
    for trial in range(12):
        n, m = int(rng.integers(50, 2500)), int(rng.integers(5, 400))
        x = sp.random(n, m, density=float(rng.uniform(0.01, 0.2)), format="csr", random_state=trial)
        x.sum_duplicates()
        y = np.asarray(x @ rng.normal(size=m)).ravel() + rng.normal(0, 0.2, n) > rng.uniform(0, 0.3)
        if y.all() or not y.any():
            continue
        c, tol, seed = float(rng.choice([0.25, 1.0, 4.0])), float(rng.choice([1e-4, 0.1])), int(rng.integers(0, 99))
        assert logistic._fit_direct(x, y, c, seed=seed, tol=tol, max_iter=1000) is not None
        coef, intercept = logistic.fit_logistic(x, y, c, seed=seed, tol=tol)
        expected = _estimator(x, y, c, seed, tol)
        assert np.array_equal(coef, expected[0]) and intercept == expected[1]
        checked += 1
    assert checked >= 10 and logistic._state["direct"] is True


@pytest.mark.parametrize("solver", [0, 99])  # another solver (a different model); no such solver (an error)
def test_a_changed_private_liblinear_call_falls_back_to_the_estimator(solver: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from qda.suggest import logistic

    # as if scikit-learn's private call had changed meaning: the first fit's check finds it out
    monkeypatch.setattr(logistic, "_DUAL_LOGISTIC", solver)
    monkeypatch.setitem(logistic._state, "direct", None)
    x = sp.random(400, 30, density=0.1, format="csr", random_state=2)
    x.sum_duplicates()
    y = np.asarray(x.sum(axis=1)).ravel() > 0.3
    coef, intercept = logistic.fit_logistic(x, y, 1.0, seed=1, tol=1e-4)
    assert logistic._state["direct"] is False
    expected = _estimator(x, y, 1.0, 1, 1e-4)
    assert np.array_equal(coef, expected[0]) and intercept == expected[1]
    # a matrix the estimator would put in canonical form first goes through the estimator too
    monkeypatch.setitem(logistic._state, "direct", True)
    shuffled = sp.csr_matrix((x.data[::-1].copy(), x.indices[::-1].copy(), x.indptr.copy()), shape=x.shape)
    shuffled.has_canonical_format = False
    coef, intercept = logistic.fit_logistic(shuffled, y, 1.0, seed=1, tol=1e-4)
    assert np.array_equal(coef, _estimator(shuffled, y, 1.0, 1, 1e-4)[0])


# ----------------------------------------------------------------------------- the cut on scores

def _stable_cut(scores: np.ndarray, y: np.ndarray, rule: str) -> float:
    """The cuts as computed before, with ties kept in their order (a stable sort)."""
    n, positives = len(scores), int(y.sum())
    if n == 0 or positives in ((0, n) if rule == "kappa" else (0,)):
        return 0.5
    order = np.argsort(-scores, kind="stable")
    s, truth = scores[order], y[order].astype(np.float64)
    tp = np.cumsum(truth)
    k = np.arange(1, n + 1, dtype=np.float64)
    if rule == "kappa":
        agree = (tp + (n - positives - (k - tp))) / n
        chance = (k * positives + (n - k) * (n - positives)) / (n * n)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(chance < 1, (agree - chance) / (1 - chance), -np.inf)
    else:
        value = 2 * tp / (k + positives)
    value = np.where(np.append(s[:-1] > s[1:], True), value, -np.inf)
    best = int(np.argmax(value))
    return float(s[-1]) if best == n - 1 else float((s[best] + s[best + 1]) / 2)


def test_the_cuts_do_not_depend_on_the_order_of_tied_scores() -> None:
    from qda.suggest.learn import f1_threshold, kappa_threshold

    rng = np.random.default_rng(5)
    for _ in range(300):
        n = int(rng.integers(1, 3000))
        scores = np.round(rng.random(n), int(rng.integers(1, 4)))  # many ties
        y = (scores + rng.normal(0, 0.3, n)) > rng.uniform(0.3, 1.0)
        assert kappa_threshold(scores, y) == _stable_cut(scores, y, "kappa")
        assert f1_threshold(scores, y) == _stable_cut(scores, y, "f1")


def test_unique_by_counting_equals_numpys_unique() -> None:
    from qda.suggest.learn import _unique

    rng = np.random.default_rng(9)
    cases = [rng.integers(0, 3, 500), rng.integers(0, 1000, 5000), rng.random(300) < 0.2, np.array([7, 7, 3]),
             rng.integers(-5, 5, 100), np.array([0, 10 ** 9]), rng.random(50), np.zeros(0, dtype=np.int64),
             rng.integers(0, 2, 40).astype(np.uint8)]
    for values in cases:
        ours, theirs = _unique(values), np.unique(values, return_inverse=True, return_counts=True)
        for a, b in zip(ours, theirs):
            assert a.dtype == b.dtype and np.array_equal(a, b)


# ----------------------------------------------------------------------------- cross-validation

def _plain_cross_validation(x: sp.csr_matrix, y: np.ndarray, groups: np.ndarray, roles: np.ndarray, params: dict,
                            subsets: dict[int, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Fold by fold: fit_in_scope on the training part, its test part cut out and scored (with the
    neighbour term of the fold's training rows, as a stored model adds it)."""
    from qda.suggest.learn import folds_of, gated, in_scope, neighbour_term_of, neighbours_for, rows_of

    y = y.astype(bool)
    scores, predicted, thresholds = np.zeros(len(y)), np.zeros(len(y), dtype=bool), []
    for k, (train, test) in enumerate(folds_of(y, groups, int(params["folds"]), seed=2)):
        train = subsets.get(k, train) if subsets is not None else train
        coef, intercept, threshold, excluded = fit_in_scope(x, y, groups, roles=roles, params=params, seed=2,
                                                            rows=train)
        decision = rows_of(x, test) @ coef + intercept
        scope, _ = in_scope(y, roles=roles, params=params, rows=train)
        k = neighbours_for(params, int(y[scope].sum()), segments=x.shape[0])
        extra = neighbour_term_of(x, y, rows=scope, scored=test, k=k, params=params, seed=2)
        if extra is not None:
            decision = decision + extra
        s = gated(1.0 / (1.0 + np.exp(-np.clip(decision, -500, 500))), roles[test], excluded)
        scores[test], predicted[test] = s, s >= threshold
        thresholds.append(threshold)
    return scores, predicted, tuple(thresholds)


@pytest.mark.parametrize("params", [{}, {"C": [0.5, 2.0]}, {"role_gate": False}])
def test_cross_validation_equals_fitting_and_scoring_fold_by_fold(params: dict) -> None:
    from qda.suggest.learn import cross_validate, folds_of
    from qda.suggest.suggester import training_subsets

    x, labels, groups, roles = _codes()
    settings = check_params(params)
    curves = 0
    for y in labels:
        folds = folds_of(y.astype(bool), groups, 5, seed=2)
        curves += training_subsets(y.astype(bool), groups, folds, size=25, seed=2) is not None
        # every training part, and the learning curve's (a few documents per fold: inner fits on cut rows)
        for subsets in (None, training_subsets(y.astype(bool), groups, folds, size=25, seed=2)):
            cv = cross_validate(x, y, groups, params=settings, seed=2, roles=roles, train_subset=subsets)
            assert cv is not None
            scores, predicted, thresholds = _plain_cross_validation(x, y, groups, roles, settings, subsets)
            assert np.array_equal(cv.scores, scores) and np.array_equal(cv.predicted, predicted)
            assert cv.thresholds == thresholds
    assert curves >= 3


def _plain_role_scope(y: np.ndarray, roles: np.ndarray, rows: np.ndarray | None) -> tuple[str, ...]:
    """The roles kept off, by sorting the role strings of the training rows."""
    positions = np.arange(len(y)) if rows is None else rows
    yy, rr = y[positions].astype(bool), roles[positions]
    positives = int(yy.sum())
    if not positives or positives == len(yy):
        return ()
    names, counts = np.unique(rr, return_counts=True)
    given = set(np.unique(rr[yy]).tolist())
    return tuple(str(name) for name, count in zip(names.tolist(), counts.tolist())
                 if name not in given and positives * count / len(yy) >= learn.ROLE_EVIDENCE)


def test_roles_counted_as_numbers_keep_the_same_roles_off() -> None:
    from qda.suggest.learn import RoleIds, in_scope, role_scope

    rng = np.random.default_rng(13)
    kept_off = 0
    for _ in range(200):
        n = int(rng.integers(1, 400))
        roles = np.array(["teacher", "student", "", "other"])[rng.integers(0, int(rng.integers(1, 5)), n)]
        y = (rng.random(n) < rng.uniform(0, 0.5)) & (roles != rng.choice(["student", "", "x"]))
        rows = None if rng.random() < 0.5 else np.sort(rng.choice(n, int(rng.integers(1, n + 1)), replace=False))
        expected = _plain_role_scope(y, roles, rows)
        assert role_scope(y, roles, rows) == expected
        for given in (roles, RoleIds.of(roles)):
            scoped, excluded = in_scope(y, roles=given, params=check_params(None), rows=rows)
            assert excluded == expected
            positions = np.arange(n) if rows is None else rows
            want = positions[~np.isin(roles[positions], list(expected))] if expected else rows
            assert (scoped is None and want is None) or np.array_equal(scoped, want)
        kept_off += bool(expected)
    assert kept_off > 20
