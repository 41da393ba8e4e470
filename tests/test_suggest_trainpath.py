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
                                    {"role_gate": False, "inner_folds": 5}])
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


def test_training_a_project_gives_each_codes_own_fit(study_project: Path, tmp_path: Path) -> None:
    from qda.suggest import suggester

    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    with Project.open(folder) as project:
        store = project._store
        training = suggester.train(store, project.codebook(), "consensus", seed=5, evaluate=False)
        corpus = suggester.corpus_of(store)
        labels = suggester.segment_labels(store, corpus, "consensus")
    settings = check_params(None)
    known = np.flatnonzero(labels.known)
    _vectors, x = suggester.features_of(corpus, known, settings)
    roles = suggester.roles_of(corpus)[known]
    model = training.model
    assert model.codes == ["a", "b", "h", "u"]
    for k, code in enumerate(model.codes):
        y = labels.positive[code][known]
        coef, intercept, threshold, excluded = fit_in_scope(x, y, corpus.document[known], roles=roles,
                                                            params=settings, seed=5)
        assert np.array_equal(model.coef[k], coef) and model.intercept[k] == intercept
        assert model.threshold[k] == threshold and model.excluded[k] == excluded
        assert training.report.codes[[c.code for c in training.report.codes].index(code)].threshold == threshold
