"""The linear support vector machine as the suggester's classifier (issue 21, quality; `loss`).

Checked against scikit-learn's own LinearSVC and by the rule's definition, never against qda's output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from qda.errors import SuggestError
from qda.project import Project
from qda.suggest.learn import (
    DEFAULTS,
    check_params,
    fit_classifier,
    fit_svm,
    fit_with_threshold,
    loss_for,
    scores_of,
)
from qda.suggest.settings import parse_params


def _data(n: int = 400, seed: int = 5) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = sp.csr_matrix((rng.random((n, 30)) < 0.15).astype(np.float64))
    y = (x[:, 0].toarray().ravel() + x[:, 1].toarray().ravel() + (rng.random(n) < 0.1)) > 0
    return x, y.astype(np.int64), np.arange(n) // 8


def test_fit_svm_is_scikit_learns_balanced_linear_svc_scored_through_the_logistic() -> None:
    x, y, _ = _data()
    coef, intercept = fit_svm(x, y, 1.0, seed=1)
    reference = LinearSVC(C=1.0, class_weight="balanced", dual=True, random_state=1, max_iter=1000).fit(x, y)
    assert np.allclose(coef, reference.coef_[0]) and intercept == pytest.approx(reference.intercept_[0])
    # the score is 1 / (1 + exp(-decision)): 0.5 exactly at the machine's own boundary
    decision = reference.decision_function(x)
    assert np.allclose(scores_of(x, coef, intercept), 1 / (1 + np.exp(-decision)))
    assert np.array_equal(scores_of(x, coef, intercept) >= 0.5, reference.predict(x) == 1)


def test_fit_svm_draws_the_negatives_as_the_regression_does() -> None:
    x, y, _ = _data(2000)
    rows = np.arange(1500)
    coef, intercept = fit_svm(x, y, 1.0, seed=3, max_negatives=200, rows=rows, per_positive=1)
    # the same seeded draw as fit_classifier: every positive, max(200, 1 per positive) negatives
    yy = y[rows].astype(bool)
    cap = max(200, int(yy.sum()))
    drawn = np.sort(np.concatenate([np.flatnonzero(yy), np.random.default_rng(3).choice(
        np.flatnonzero(~yy), cap, replace=False)]))
    reference = LinearSVC(C=1.0, class_weight="balanced", dual=True, random_state=3, max_iter=1000)
    reference.fit(x[rows[drawn]], y[rows[drawn]])
    assert np.allclose(coef, reference.coef_[0]) and intercept == pytest.approx(reference.intercept_[0])


def test_auto_takes_the_machine_from_svm_from_up_to_svm_to_positives() -> None:
    auto = check_params({"loss": "auto", "svm_from": 50, "svm_to": 1000})
    assert [loss_for(auto, p) for p in (8, 49, 50, 999, 1000, 5000)] == \
        ["logistic", "logistic", "svm", "svm", "logistic", "logistic"]
    assert loss_for(check_params({"loss": "svm"}), 8) == "svm"
    assert loss_for(check_params({"loss": "logistic"}), 100) == "logistic"
    assert loss_for({}, 100) == "logistic"  # a stored model's parameters that predate the setting


def test_the_classifier_is_chosen_by_the_training_parts_positives() -> None:
    x, y, groups = _data()
    positives = int(y.sum())
    below = check_params({"loss": "auto", "svm_from": positives + 1})
    above = check_params({"loss": "auto", "svm_from": positives})
    as_regression = fit_with_threshold(x, y, groups, params=check_params({"loss": "logistic"}), seed=1)
    as_machine = fit_with_threshold(x, y, groups, params=check_params({"loss": "svm"}), seed=1)
    assert np.array_equal(fit_with_threshold(x, y, groups, params=below, seed=1)[0], as_regression[0])
    assert np.array_equal(fit_with_threshold(x, y, groups, params=above, seed=1)[0], as_machine[0])
    # the model is the machine fitted on every row, its cut placed on the inner folds' machines' scores
    assert np.allclose(as_machine[0], fit_svm(x, y, 1.0, seed=1, max_negatives=DEFAULTS["max_negatives"])[0])
    assert not np.allclose(as_machine[0], fit_classifier(x, y, 1.0, seed=1)[0])
    assert 0 < as_machine[2] < 1


def test_the_machine_is_deterministic_for_a_seed() -> None:
    x, y, groups = _data()
    params = check_params({"loss": "svm"})
    first, second = (fit_with_threshold(x, y, groups, params=params, seed=7) for _ in range(2))
    assert np.array_equal(first[0], second[0]) and first[1:] == second[1:]


def test_loss_is_a_word_of_a_closed_set() -> None:
    assert parse_params(["loss=svm", "svm_from=30"]) == {"loss": "svm", "svm_from": 30}
    with pytest.raises(SuggestError) as refused:
        parse_params(["loss=forest"])
    assert "loss takes one of logistic, svm, auto" in str(refused.value.problems)
    with pytest.raises(SuggestError, match="unknown classifier 'forest'"):
        check_params({"loss": "forest"})


def test_a_project_training_uses_one_classifier_per_code_chosen_on_all_its_positives(study_project: Path,
                                                                                     tmp_path: Path) -> None:
    """With loss "auto", a code of at least svm_from positives is the machine in its folds and its
    model alike (the folds' scores place the model's cut), and the stored model says which; below,
    the model is the regression, exactly as with loss "logistic"."""
    from qda.suggest import load_model
    from qda.suggest.suggester import model_info

    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    with Project.open(folder) as project:
        plain = project.suggest_train("consensus", seed=1, bootstrap=0, params={"loss": "logistic"})
        positives = {r.code: r.positives for r in plain.codes if r.trained}
        cut = sorted(positives.values())[len(positives) // 2]
        assert min(positives.values()) < cut  # codes on both sides of the switch
        auto = project.suggest_train("consensus", seed=1, bootstrap=0, params={"loss": "auto", "svm_from": cut})
        stated = model_info(project._store, auto.model)[3]["codes"]
        assert {c: stated[c]["classifier"] for c in positives} == \
            {c: "svm" if p >= cut else "logistic" for c, p in positives.items()}
        regression, _ = load_model(project._store, plain.machine_coder)
        mixed, _ = load_model(project._store, auto.machine_coder)
        for j, code in enumerate(mixed.codes):
            same = np.allclose(mixed.coef[j], regression.coef[regression.codes.index(code)])
            assert same == (positives[code] < cut)
        by_code = {r.code: r for r in auto.codes}
        assert all(by_code[c].kappa is not None and 0 < (by_code[c].threshold or 0) < 1 for c in positives)
