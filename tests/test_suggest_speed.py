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
        ours = grouped_test_folds(y, groups, k, seed=seed)
        assert len(ours) == len(theirs)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))
        # and folds_of's (train, test) pairs are their complements
        for (train, test), expected in zip(folds_of(y, groups, k, seed=seed), theirs):
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
        on_rows = fit_classifier(x, y, 1.0, seed=7, max_negatives=cap, rows=rows)
        on_cut = fit_classifier(sp.csr_matrix(x[rows]), y[rows], 1.0, seed=7, max_negatives=cap)
        assert np.array_equal(on_rows[0], on_cut[0]) and on_rows[1] == on_cut[1]


def test_the_dual_solver_reaches_the_primal_solvers_model() -> None:
    from sklearn.linear_model import LogisticRegression

    from qda.suggest.learn import scores_of

    rng = np.random.default_rng(8)
    x = sp.random(4000, 300, density=0.03, format="csr", random_state=9)
    truth = rng.normal(size=300)
    y = np.asarray(x @ truth).ravel() + rng.normal(0, 0.3, 4000) > 0.4
    coef, intercept = fit_classifier(x, y, 1.0, seed=3)
    primal = LogisticRegression(C=1.0, class_weight="balanced", solver="liblinear", random_state=3).fit(x, y)
    assert np.abs(scores_of(x, coef, intercept) - primal.predict_proba(x)[:, 1]).max() < 1e-4


# ----------------------------------------------------------------------------- on a project

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from qda.models import Coding, CodingScope, WritePlan  # noqa: E402
from qda.project import Project  # noqa: E402
from qda.suggest.corpus import load_corpus  # noqa: E402


@pytest.fixture
def study(study_project: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    return folder


def stored(project: Project, coder: str) -> list[tuple]:
    return sorted((c.id, c.code, c.segment, c.score, c.created_at) for c in project._store.codings(coder=coder))


def test_a_code_scope_replaces_that_code_only_and_keeps_identical_codings(study: Path) -> None:
    with Project.open(study) as project:
        before = {c.id: c for c in project._store.codings(coder="consensus")}
        # E3 holds three "h" codings and codings of other codes
        h_in_e3 = [c for c in before.values() if c.code == "h" and c.document == "E3"]
        assert len(h_in_e3) == 3 and any(c.code != "h" and c.document == "E3" for c in before.values())
        kept, dropped = h_in_e3[0], h_in_e3[1:]
        scope = CodingScope("consensus", documents=("E3",), codes=("h",))
        # the same coding planned again stays (same id); the other "h" codings of E3 go; nothing else moves
        removed = project._store.replace_codings([scope], [Coding(**{**kept.__dict__, "id": None, "text": ""})])
        after = {c.id: c for c in project._store.codings(coder="consensus")}
    assert removed == len(dropped)
    assert set(before) - set(after) == {c.id for c in dropped} and set(after) <= set(before)


def test_run_uses_the_score_cache_and_gives_what_scoring_gives(study: Path) -> None:
    from qda.suggest import load_model
    from qda.suggest.suggester import unpack_hits

    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1, bootstrap=0)
        coder = report.machine_coder
        # training keeps its suggestions of every segment: what the analyzer path scores at or above
        # each code's threshold (the run below then computes no features)
        signature = project._store.segments_signature()
        model, _ = load_model(project._store, coder)
        cached = project._store.suggest_scores(model.id, signature, model.codes)
        assert set(cached) == set(model.codes)
        corpus = load_corpus(project._store)
        _, scores = model.scores(corpus.texts)
        for j, code in enumerate(model.codes):
            found = unpack_hits(cached[code], len(corpus))
            assert found is not None
            expected = np.flatnonzero(scores[:, j] >= model.threshold[j])
            assert np.array_equal(found[0], expected)
            assert np.allclose(found[1], scores[expected, j], rtol=0, atol=1e-12)
        first = project.suggest_run()
        all_codes = stored(project, coder)
        # one code again, from the cache: the same suggestions, the same rows (ids, dates)
        one = project.suggest_run(codes=["h"])
        assert one.counts["h"] == first.counts["h"] and one.replaced == 0
        assert stored(project, coder) == all_codes
        # a cache that no longer fits the segments is not used: scores computed again
        project._store.db.execute("UPDATE suggest_scores SET scores=zeroblob(8)")
        again = project.suggest_run(codes=["h", "a"])
        assert again.counts == {"h": first.counts["h"], "a": first.counts["a"]}
        assert stored(project, coder) == all_codes


def test_one_code_run_leaves_the_other_codes_suggestions(study: Path) -> None:
    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1, bootstrap=0)
        project.suggest_run(documents=["E1", "E2"])
        coder = report.machine_coder
        before = project._store.codings(coder=coder)
        # remove the model's "h" suggestions by hand: a run of "a" must not bring them back or touch them
        project.commit(WritePlan(replace=(CodingScope(coder, codes=("h",)),)))
        without_h = sorted(c.id for c in before if c.code != "h")
        project.suggest_run(codes=["a"])
        after = project._store.codings(coder=coder)
    assert not any(c.code == "h" for c in after)
    assert sorted(c.id for c in after if c.code != "a") == sorted(i for i in without_h
                                                                   if next(c for c in before if c.id == i).code != "a")
    assert {c.document for c in after if c.code == "a"} - {"E1", "E2"}  # every document this time


def test_explain_kept_passages_follow_the_training_coders_codings(study: Path) -> None:
    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1, bootstrap=0)
        project.suggest_run(codes=["h"])
        suggestion = project._store.codings(coder=report.machine_coder)[0]
        first = project.suggest_explain(suggestion.id)
        assert project.suggest_explain(suggestion.id) == first  # from what the process kept
        # the consensus's "h" codings of the closest passage removed: it is no longer offered
        closest = first.similar[0].ref
        document = closest.split("#")[0]
        keep = tuple(c for c in project._store.codings(coder="consensus", document=document)
                     if not (c.code == "h" and c.segment == closest))
        project.commit(WritePlan(replace=(CodingScope("consensus", documents=(document,)),),
                                 codings=tuple(Coding(**{**c.__dict__, "id": None, "text": ""}) for c in keep)))
        second = project.suggest_explain(suggestion.id)
    assert closest not in {s.ref for s in second.similar}
    assert [s.ref for s in second.similar[:2]] == [s.ref for s in first.similar[1:3]]


def test_a_run_after_training_reads_the_cache_and_computes_no_features(study: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from qda.suggest import suggester

    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1, bootstrap=0)
        expected = project.suggest_run()  # from the cache training kept (or not: compared below)
        project.undo()

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("the run computed features")

        # a fresh process: nothing kept but the project's score cache
        monkeypatch.setattr(suggester, "_kept", suggester._Kept())
        monkeypatch.setattr(suggester, "features_for", refuse)
        monkeypatch.setattr(suggester, "counts_of", refuse)
        ran = project.suggest_run()
        assert ran.counts == expected.counts and sum(ran.counts.values()) > 0
        assert ran.model == report.model


def test_sample_and_validate_read_the_kept_corpus(study: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from qda.store import Store

    loads: list[bool] = []
    real = Store.segment_columns

    def counted(self: Store) -> dict:  # type: ignore[type-arg]
        loads.append(True)  # every read of the corpus starts here
        return real(self)

    monkeypatch.setattr(Store, "segment_columns", counted)
    with Project.open(study) as project:
        train = project.codings(coder="consensus")
        documents = sorted({c.document for c in train})
        kept = tuple(replace(c, coder="half", id=None) for c in train if c.document in documents[: len(documents) // 2])
        project.commit(WritePlan(coders=("half",), codings=kept))
        project.suggest_train("half", seed=1, bootstrap=0)
        assert loads == [True]  # training read the corpus; sampling and validating read what it kept
        sample = project.suggest_sample(40, "val", seed=3)
        refs = set(sample.segments)
        human = tuple(replace(c, coder="val", id=None) for c in train if c.segment in refs)
        project.commit(WritePlan(coders=("val",), codings=human))
        project.suggest_validate(bootstrap=0)
    assert loads == [True]


def test_a_set_scoped_corpus_is_kept_apart_from_the_whole_projects(study: Path) -> None:
    """A report through a document set reads the corpus through SetScope: what the process keeps
    of it must never be handed out as the whole project's corpus, nor the other way round."""
    from qda.ingest.sets import SetScope
    from qda.suggest.suggester import corpus_of

    with Project.open(study) as project:
        store = project._store
        whole = corpus_of(store, english_terms="words")
        scoped = corpus_of(SetScope(store, ["E1", "E2"]), english_terms="words")  # type: ignore[arg-type]
        assert scoped.documents == ["E1", "E2"] and len(scoped) < len(whole)
        again = corpus_of(store, english_terms="words")
        assert again.documents == whole.documents and len(again) == len(whole)
        assert corpus_of(SetScope(store, ["E1", "E2"]), english_terms="words").documents == ["E1", "E2"]  # type: ignore[arg-type]
