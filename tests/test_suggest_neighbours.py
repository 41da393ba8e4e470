"""The nearest coded passages in a code's score (issue 21, quality; `neighbours`).

A code with fewer than `neighbours_to` positives adds to its decision value `neighbours_weight` x
(the mean cosine of a segment with its k most similar positive training segments - the same with
the negative ones). Checked against brute force (every cosine computed and sorted), never against
qda's own output.
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
from qda.suggest.corpus import segment_labels
from qda.suggest.learn import (
    Model,
    check_params,
    fit_with_threshold,
    nearest_mean,
    neighbour_rows,
    neighbour_term,
    neighbours_for,
)


def _unit(n: int, width: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, width)) < 0.2) * rng.random((n, width))
    dense[dense.sum(axis=1) == 0, 0] = 1.0
    return sp.csr_matrix(dense / np.linalg.norm(dense, axis=1, keepdims=True))


def _brute_nearest_mean(x: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    if len(reference) == 0:
        return np.zeros(len(x))
    sims = x @ reference.T
    return np.array([np.mean(sorted(row, reverse=True)[:k]) for row in sims])


@pytest.mark.parametrize("cells", [1 << 23, 7])  # one product, or a few rows at a time
def test_nearest_mean_is_the_mean_of_the_k_largest_cosines(cells: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learn, "SIMILARITY_CELLS", cells)
    x, reference = _unit(40, 25, 1), _unit(30, 25, 2)
    for k in (1, 5, 30, 50):  # more neighbours than reference rows: all of them
        assert np.allclose(nearest_mean(x, reference, k), _brute_nearest_mean(x.toarray(), reference.toarray(), k))
    assert np.array_equal(nearest_mean(x, reference[:0], 5), np.zeros(40))


def test_the_term_weighs_likeness_to_positives_against_likeness_to_negatives() -> None:
    x, positives, negatives = _unit(20, 10, 3), _unit(8, 10, 4), _unit(12, 10, 5)
    expected = 2.0 * (_brute_nearest_mean(x.toarray(), positives.toarray(), 5)
                      - _brute_nearest_mean(x.toarray(), negatives.toarray(), 5))
    assert np.allclose(neighbour_term(x, positives, negatives, k=5, weight=2.0), expected)
    # a segment identical to a positive and unlike every negative scores higher than its opposite
    assert neighbour_term(positives[:1], positives, negatives, k=1, weight=1.0)[0] > \
        neighbour_term(negatives[:1], positives, negatives, k=1, weight=1.0)[0]


def test_the_rows_compared_are_every_positive_and_a_shared_draw_of_negatives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learn, "NEIGHBOUR_NEGATIVES", 50)
    rng = np.random.default_rng(7)
    n = 600
    rows = np.sort(rng.choice(n, 400, replace=False))
    codes = [rng.random(n) < share for share in (0.05, 0.1, 0.2)]
    picks = [neighbour_rows(y, rows, n, seed=3) for y in codes]
    for y, (positive, negative) in zip(codes, picks):
        assert np.array_equal(positive, np.intersect1d(rows, np.flatnonzero(y)))  # every positive of the rows
        assert len(negative) == 50 and np.isin(negative, rows).all() and not y[negative].any()
    # one order for every code: the codes' negatives are mostly the same rows (one set kept in the model)
    union = np.unique(np.concatenate([negative for _, negative in picks]))
    assert len(union) < 75
    assert np.array_equal(neighbour_rows(codes[0], rows, n, seed=3)[1], picks[0][1])  # seeded


def test_the_range_and_the_switch() -> None:
    settings = check_params(None)
    assert neighbours_for(settings, 100, segments=6211) == 5 and neighbours_for(settings, 999, segments=6211) == 5
    assert neighbours_for(settings, 1000, segments=6211) == 0  # thousands of passages: no term
    assert neighbours_for(check_params({"neighbours": 0}), 100, segments=6211) == 0
    assert neighbours_for({**settings, "neighbours_to": None}, 5000, segments=10 ** 6) == 5  # a code's choice, made
    assert neighbours_for({}, 100, segments=6211) == 0  # a stored model trained before the setting
    # the budget: 9,800 segments x (100 positives + 5,000 negatives) comparisons pass, 9,900 do not
    assert neighbours_for(settings, 100, segments=9_800) == 5 and neighbours_for(settings, 100, segments=9_900) == 0
    assert neighbours_for(settings, 10, segments=50) == 5  # few segments: every one of them is compared


def test_the_cut_is_placed_on_scores_with_the_term() -> None:
    """The inner folds' scores carry the neighbour term: switching it off changes the cut, not the model."""
    x = _unit(600, 40, 8)
    rng = np.random.default_rng(9)
    y = ((x[:, 0].toarray().ravel() > 0) | (rng.random(600) < 0.05)).astype(np.int64)
    groups = np.arange(600) // 10
    with_term = fit_with_threshold(x, y, groups, params=check_params(None), seed=1)
    without = fit_with_threshold(x, y, groups, params=check_params({"neighbours": 0}), seed=1)
    assert np.array_equal(with_term[0], without[0]) and with_term[1] == without[1]
    assert with_term[2] != without[2]


@pytest.fixture
def study(study_project: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    return folder


def test_a_stored_model_scores_each_segment_by_its_words_and_its_nearest_coded_passages(study: Path) -> None:
    from qda.suggest.suggester import corpus_of, features_for, load_model, model_scores

    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1, evaluate=False)
        store = project._store
        model, info = load_model(store, report.model)
        corpus = corpus_of(store, english_terms=model.english_terms)
        labels = segment_labels(store, corpus, "consensus", codes=model.codes)
        x = features_for(model, corpus)
        scores = model_scores(model, corpus, np.arange(len(corpus)), codes=model.codes)
    known = np.flatnonzero(labels.known)
    dense = x.toarray()
    words = dense  # the features' rows: the terms' and the letters' blocks, the row of unit length
    assert np.allclose(np.linalg.norm(words[known], axis=1), 1.0)  # unit rows: products are cosines
    assert len(known) - 18 < learn.NEIGHBOUR_NEGATIVES  # every negative is compared: no draw to redo here
    for j, code in enumerate(model.codes):
        assert info["codes"][code]["neighbours"] == 5  # the study's codes have 9-18 positives
        y = labels.positive[code][known]
        term = 2.0 * (_brute_nearest_mean(words, words[known[y]], 5) - _brute_nearest_mean(words, words[known[~y]], 5))
        decision = dense @ model.coef[j] + model.intercept[j] + term
        expected = 1.0 / (1.0 + np.exp(-decision))
        assert np.allclose(scores[:, j], expected, atol=1e-12)
        assert not np.allclose(scores[:, j], 1.0 / (1.0 + np.exp(-(decision - term))))  # the term counts


def test_a_model_reads_back_the_same_scores_and_an_older_model_has_no_term(study: Path) -> None:
    from qda.suggest.suggester import corpus_of, features_for, load_model

    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1, evaluate=False)
        model, _info = load_model(project._store, report.model)
        corpus = corpus_of(project._store, english_terms=model.english_terms)
        x = features_for(model, corpus)
    rows = list(range(len(model.codes)))
    again = Model.from_bytes(model.id, model.coder, model.to_bytes(), params=model.params)
    assert np.array_equal(again.scores_of_rows(x, rows), model.scores_of_rows(x, rows))
    # a model stored before the setting: its parameters lack it and its arrays hold no passages
    params = {k: v for k, v in model.params.items() if not k.startswith("neighbours")}
    older = Model(model.id, model.coder, model.vectors, model.codes, model.coef, model.intercept, model.threshold,
                  params, model.excluded)
    buffer = io.BytesIO(older.to_bytes())
    assert "reference_data" not in np.load(buffer, allow_pickle=False).files
    linear = np.asarray(x @ model.coef.T) + model.intercept
    assert np.array_equal(older.scores_of_rows(x, rows),
                          1.0 / (1.0 + np.exp(-np.clip(linear, -500, 500))))


def test_explain_says_what_the_nearest_coded_passages_added(study: Path, runner) -> None:
    from qda.suggest.suggester import _position, corpus_of, features_for, load_model

    from conftest import run

    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1, evaluate=False)
        project.suggest_run(codes=["h"])
        suggestion = project._store.codings(coder=report.machine_coder)[0]
        explanation = project.suggest_explain(suggestion.id)
        store = project._store
        model, _info = load_model(store, report.model)
        corpus = corpus_of(store, english_terms=model.english_terms)
        labels = segment_labels(store, corpus, "consensus", codes=["h"])
        x = features_for(model, corpus).toarray()
        at = _position(corpus, suggestion.segment or "")
    assert at is not None and explanation.passages is not None
    known = np.flatnonzero(labels.known)
    y = labels.positive["h"][known]
    words = x
    brute = 2.0 * (_brute_nearest_mean(words[at:at + 1], words[known[y]], 5)[0]
                   - _brute_nearest_mean(words[at:at + 1], words[known[~y]], 5)[0])
    assert explanation.passages == pytest.approx(brute, abs=1e-12)
    row = model.codes.index("h")
    # the stored score is the terms' weights, the intercept and the passages' share through the logistic
    decision = x[at] @ model.coef[row] + model.intercept[row] + explanation.passages
    assert suggestion.score == pytest.approx(1.0 / (1.0 + np.exp(-decision)), abs=1e-6)  # stored to 6 places
    table = run(runner, "-p", study, "suggest", "explain", str(suggestion.id)).stdout
    assert f"{explanation.passages:+.3f}" in table and "nearest coded passages" in table

