"""The suggester's role gate and weighted threshold (issue 21, quality on talkmoves and nhs-fft).

The role gate keeps a code off the segments of a speaker role its coder never gave it (when
that absence is more than chance); the weighted threshold draws the tuned cut towards 0.5 the
fewer positives it was tuned on. Checked against hand-computed values and against the fits
they must equal, never against qda's own output.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from qda.project import Project
from qda.suggest import learn
from qda.suggest.corpus import load_corpus
from qda.suggest.learn import (
    check_params,
    cross_validate,
    cut_of,
    fit_in_scope,
    fit_with_threshold,
    gated,
    role_scope,
    weighted_threshold,
)


def test_weighted_threshold_moves_from_one_half_to_the_tuned_cut_with_the_positives() -> None:
    assert weighted_threshold(0.9, 0) == 0.5
    assert weighted_threshold(0.9, 25) == pytest.approx(0.7)  # halfway at the prior's 25 positives
    assert weighted_threshold(0.9, 50, prior=50) == pytest.approx(0.7)
    assert weighted_threshold(0.9, 75) == pytest.approx(0.75 * 0.9 + 0.25 * 0.5)
    assert weighted_threshold(0.9, 100_000) == pytest.approx(0.9, abs=1e-3)
    assert cut_of(0.9, "shrunk", 10_000) == pytest.approx(0.7)
    assert cut_of(0.9, "kappa", 3) == 0.9
    assert check_params(None)["threshold"] == "weighted" and check_params(None)["threshold_prior"] == 25


def test_role_scope_excludes_a_role_only_when_its_absence_is_more_than_chance() -> None:
    roles = np.array(["teacher"] * 60 + ["student"] * 40)
    y = np.zeros(100, dtype=bool)
    y[:20] = True  # 20 positives, all teacher: 20 x 40 % = 8 expected on students, none there
    assert role_scope(y, roles) == ("student",)
    y2 = np.zeros(100, dtype=bool)
    y2[:10] = True  # 10 x 40 % = 4 expected: could be chance, no gate
    assert role_scope(y2, roles) == ()
    y3 = y.copy()
    y3[99] = True  # one student positive: the role is given the code
    assert role_scope(y3, roles) == ()
    assert role_scope(y, np.array([""] * 100)) == ()  # no roles
    # only the training rows count: without the students the question does not arise
    assert role_scope(y, roles, np.arange(60)) == ()


def test_gated_scores_are_zero_on_excluded_roles_only() -> None:
    roles = np.array(["a", "b", "a", ""])
    scores = np.array([0.9, 0.8, 0.1, 0.7])
    assert gated(scores, roles, ("a",)).tolist() == [0.0, 0.8, 0.0, 0.7]
    assert gated(scores, roles, ()) is scores


def _data() -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Segments of 50 documents, teacher and student turns; the code is given on teacher turns only."""
    rng = np.random.default_rng(7)
    n = 1000
    x = sp.csr_matrix((rng.random((n, 40)) < 0.12).astype(np.float64))
    roles = np.where(np.arange(n) % 3 == 0, "student", "teacher")
    signal = (x[:, 0].toarray().ravel() + x[:, 1].toarray().ravel()) > 0
    y = signal & (roles == "teacher")
    return x, y.astype(np.int64), np.arange(n) // 20, roles


def test_fit_in_scope_equals_a_fit_on_the_other_roles_rows() -> None:
    x, y, groups, roles = _data()
    params = check_params(None)
    coef, intercept, threshold, excluded = fit_in_scope(x, y, groups, roles=roles, params=params, seed=1)
    assert excluded == ("student",)
    teacher = np.flatnonzero(roles == "teacher")
    same = fit_with_threshold(x, y, groups, params=params, seed=1, rows=teacher)
    assert np.array_equal(coef, same[0]) and intercept == same[1] and threshold == same[2]
    off = fit_in_scope(x, y, groups, roles=roles, params=check_params({"role_gate": False}), seed=1)
    everything = fit_with_threshold(x, y, groups, params=params, seed=1)
    assert off[3] == () and np.array_equal(off[0], everything[0])


def test_cross_validation_never_predicts_an_excluded_role_and_is_unchanged_without_roles() -> None:
    x, y, groups, roles = _data()
    params = check_params(None)
    cv = cross_validate(x, y, groups, params=params, seed=1, roles=roles)
    assert cv is not None
    student = roles == "student"
    assert not cv.predicted[student].any() and (cv.scores[student] == 0).all()
    assert cv.predicted[~student].any()
    plain = cross_validate(x, y, groups, params=params, seed=1)
    off = cross_validate(x, y, groups, params=check_params({"role_gate": False}), seed=1, roles=roles)
    assert plain is not None and off is not None
    assert np.array_equal(plain.scores, off.scores) and cv.predicted[student].sum() < plain.predicted[student].sum()


@pytest.fixture
def study(study_project: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    return folder


def test_a_project_model_keeps_codes_off_the_interviewer_and_stores_it(study: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The consensus codes respondents only; with the evidence asked lowered to one expected
    positive (the study is small), its codes with enough positives are kept off the interviewer:
    the stored model says so, and no suggestion lands on an interviewer's segment."""
    from qda.suggest import load_model

    monkeypatch.setattr(learn, "ROLE_EVIDENCE", 1.0)
    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1, bootstrap=0)
        model, _ = load_model(project._store, report.machine_coder)
        corpus = load_corpus(project._store)
        gated_codes = {c for c, e in zip(model.codes, model.excluded) if e}
        assert gated_codes and all(e in ((), ("interviewer",)) for e in model.excluded)
        from qda.suggest.suggester import model_info

        stated = model_info(project._store, report.model)[3]["codes"]
        assert {c for c, row in stated.items() if row["kept_off_roles"]} == gated_codes
        blob = project._store.suggest_model_bytes(report.model)
        with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
            assert "excluded" in arrays.files and arrays["excluded"].dtype != object
        project.suggest_run()
        role = dict(zip(corpus.refs, corpus.roles))
        suggested = project._store.codings(coder=report.machine_coder)
        assert suggested and not [c for c in suggested if c.code in gated_codes and role[c.segment] == "interviewer"]
        _, scores = model.scores(corpus.texts)
        interviewer = np.array([r == "interviewer" for r in corpus.roles])
        for j, code in enumerate(model.codes):
            assert (scores[interviewer, j] == 0).all() == (code in gated_codes)


def test_the_weighted_rule_draws_the_inner_folds_kappa_cut_by_the_training_positives() -> None:
    x, y, groups, _roles = _data()
    tuned = fit_with_threshold(x, y, groups, params=check_params({"threshold": "kappa"}), seed=1)[2]
    for prior in (25, 400):
        weighted = fit_with_threshold(x, y, groups, params=check_params({"threshold_prior": prior}), seed=1)[2]
        assert weighted == pytest.approx(weighted_threshold(tuned, int(y.sum()), prior))
    assert tuned != 0.5


def test_the_new_settings_are_read_from_key_value_words() -> None:
    from qda.errors import SuggestError
    from qda.suggest.settings import parse_params

    assert parse_params(["role_gate=false", "threshold_prior=50", "threshold=weighted"]) == {
        "role_gate": False, "threshold_prior": 50, "threshold": "weighted"}
    with pytest.raises(SuggestError) as refused:
        parse_params(["threshold_prior=0"])
    assert "whole number ≥ 1" in str(refused.value.problems)
