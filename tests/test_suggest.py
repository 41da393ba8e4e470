"""qda suggest: training, suggestions as a coder, evaluation (issue 21).

Statistics are checked against scikit-learn's own functions and brute force, never against
qda's output; the project is a copy of the reference study (coders A, B and the consensus).
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score, precision_score, recall_score

from qda.models import CodingStatus
from qda.project import Project
from qda.suggest.corpus import load_corpus, segment_labels
from qda.suggest.learn import Features, Vectors, check_params, folds_of, kappa_threshold
from qda.suggest.metrics import binary_agreement

from conftest import run, run_json


@pytest.fixture
def study(study_project: Path, tmp_path: Path) -> Path:
    """A writable copy of the reference study."""
    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    return folder


def human_codings(project: Project) -> dict[str, list[tuple]]:
    return {coder: sorted((c.id, c.code, c.document, c.start, c.end, c.segment, c.status, c.created_at)
                          for c in project._store.codings(coder=coder))
            for coder in project.coders() if not coder.startswith("model:")}


def test_train_lists_rare_codes_and_trains_the_others(study: Path) -> None:
    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=3)
        corpus = load_corpus(project._store)
        labels = segment_labels(project._store, corpus, "consensus")
    by_code = {c.code: c for c in report.codes}
    for code, row in by_code.items():
        expected = int(labels.positive[code][labels.known].sum()) if code in labels.positive else 0
        assert row.positives == expected
        assert row.trained == (expected >= 8)
        if not row.trained:
            assert row.reason.startswith("not trained") and row.kappa is None
        else:
            assert row.kappa is not None and row.kappa.low <= row.kappa.value <= row.kappa.high
    assert {c for c, r in by_code.items() if r.trained} == {"a", "b", "h", "u"}


def test_training_is_deterministic_for_a_seed(study: Path) -> None:
    with Project.open(study) as project:
        first = project.suggest_train("consensus", seed=7)
        blob = project._store.suggest_model_bytes(first.model)
        second = project.suggest_train("consensus", seed=7)
        assert second.model == first.model and not second.created
        assert project._store.suggest_model_bytes(second.model) == blob
        assert second.to_dict() | {"created": True} == first.to_dict()
        other = project.suggest_train("consensus", seed=8)
        assert other.model != first.model


def test_run_stores_a_machine_coder_and_never_touches_human_codings(study: Path) -> None:
    with Project.open(study) as project:
        before = human_codings(project)
        report = project.suggest_train("consensus", seed=1)
        run_report = project.suggest_run()
        again = project.suggest_run()  # a second run replaces only the model's own suggestions
        assert human_codings(project) == before
        suggestions = project._store.codings(coder=report.machine_coder)
        assert len(suggestions) == sum(run_report.counts.values()) == sum(again.counts.values()) > 0
        assert report.machine_coder == f"model:{report.model[:6]}"
        for c in suggestions:
            assert c.status == CodingStatus.SUGGESTED and c.origin == report.model and c.source == "suggest"
            assert c.score is not None and 0 <= c.score <= 1 and c.segment is not None
        # human coders' codings in matrices stay as they were; the model counts only when named
        assert all(c.coder == "consensus" for c in project.codings("consensus"))


def test_run_scores_match_the_thresholds_and_reloaded_model(study: Path) -> None:
    from qda.suggest import load_model

    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1)
        project.suggest_run(codes=["a"])
        model, _ = load_model(project._store, report.machine_coder)
        corpus = load_corpus(project._store)
        _, scores = model.scores(corpus.texts, ["a"])
        threshold = next(c.threshold for c in report.codes if c.code == "a")
        expected = {corpus.refs[i] for i in np.flatnonzero(scores[:, 0] >= threshold)}
        stored = {c.segment for c in project._store.codings(coder=report.machine_coder)}
        assert stored == expected
        assert {c.code for c in project._store.codings(coder=report.machine_coder)} == {"a"}


def test_train_and_run_with_sockets_blocked(study: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("qda suggest opened a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    with Project.open(study) as project:
        project.suggest_train("coder-a", seed=1)
        assert sum(project.suggest_run(uncoded=False).counts.values()) > 0


def test_grouped_folds_never_put_a_document_in_train_and_test(study: Path) -> None:
    with Project.open(study) as project:
        corpus = load_corpus(project._store)
        labels = segment_labels(project._store, corpus, "consensus")
    known = np.flatnonzero(labels.known)
    groups = corpus.document[known]
    for code in ("a", "h"):
        y = labels.positive[code][known]
        folds = folds_of(y, groups, 5, seed=2)
        assert len(folds) == 5
        tested = np.concatenate([test for _, test in folds])
        assert sorted(tested.tolist()) == list(range(len(known)))  # every segment tested once
        for train, test in folds:
            assert not set(groups[train].tolist()) & set(groups[test].tolist())


def test_kappa_and_scores_equal_scikit_learn_on_the_same_predictions(study: Path) -> None:
    from qda.suggest.learn import cross_validate

    with Project.open(study) as project:
        corpus = load_corpus(project._store)
        labels = segment_labels(project._store, corpus, "consensus")
    known = np.flatnonzero(labels.known)
    settings = check_params(None)
    texts = [corpus.texts[i] for i in known.tolist()]
    x = Features.fit_transform(texts, settings)[1]
    for code in ("a", "b", "h", "u"):
        y = labels.positive[code][known]
        cv = cross_validate(x, y, corpus.document[known], params=settings, seed=1)
        assert cv is not None
        ours = binary_agreement(cv.truth, cv.predicted, bootstrap=200, seed=1)
        assert ours.kappa.value == pytest.approx(cohen_kappa_score(cv.truth, cv.predicted), abs=1e-12)
        assert ours.precision.value == pytest.approx(precision_score(cv.truth, cv.predicted), abs=1e-12)
        assert ours.recall.value == pytest.approx(recall_score(cv.truth, cv.predicted), abs=1e-12)
        assert ours.f1.value == pytest.approx(f1_score(cv.truth, cv.predicted), abs=1e-12)


def test_tfidf_equals_scikit_learn_tfidf_vectorizer() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from qda.suggest.corpus import feature_text
    from qda.suggest.learn import Terms

    texts = [feature_text(w, "", None) for w in ("the tool is slow", "a slow tool", "we use the tool", "email it",
                                                 "the email is slow slow", "x")]
    analyzer = Terms(bigrams=True, context=False, role=False)
    ours = Vectors.fit(texts, analyzer, min_df=1)
    theirs = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True).fit(texts)
    order = [ours.vocabulary[t] for t in theirs.get_feature_names_out()]
    assert np.allclose(ours.transform(texts).toarray()[:, order], theirs.transform(texts).toarray())
    # the character n-grams: scikit-learn's char_wb analyzer on the terms
    chars = Vectors.fit(texts, "char_wb", min_df=1)
    words = [t.split("\x1e")[0] for t in texts]
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit(words)
    order = [chars.vocabulary[t] for t in theirs.get_feature_names_out()]
    assert np.allclose(chars.transform(texts).toarray()[:, order], theirs.transform(words).toarray())
    # fitted with a minimum document frequency, and on texts it never saw (unknown words)
    chars = Vectors.fit(texts, "char_wb", min_df=2)
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2).fit(words)
    order = [chars.vocabulary[t] for t in theirs.get_feature_names_out()]
    unseen = [feature_text(w, "", None) for w in ("slowest tools", "zzz", "")]
    assert np.allclose(chars.transform(unseen).toarray()[:, order],
                       theirs.transform([t.split("\x1e")[0] for t in unseen]).toarray())


def test_kappa_threshold_is_the_best_cut_by_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = np.round(rng.random(60), 2)
        y = (scores + rng.normal(0, 0.3, 60)) > 0.7
        threshold = kappa_threshold(scores, y)
        best = max(cohen_kappa_score(y, scores >= t) for t in np.unique(scores))
        assert cohen_kappa_score(y, scores >= threshold) == pytest.approx(best)


def test_model_is_stored_as_arrays_without_pickle(study: Path) -> None:
    import io

    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1)
        blob = project._store.suggest_model_bytes(report.model)
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        assert set(arrays.files) == {"terms", "idf", "chars", "char_idf", "codes", "coef", "intercept", "threshold",
                                     # the coded passages the neighbour terms compare with (a sparse matrix's
                                     # arrays) and each code's rows among them
                                     "reference_data", "reference_indices", "reference_indptr", "reference_shape",
                                     "neighbour_k", "neighbour_positive", "neighbour_positive_at",
                                     "neighbour_negative", "neighbour_negative_at"}
        assert all(arrays[name].dtype != object for name in arrays.files)


def test_explain_gives_weighty_terms_and_passages_the_human_coded(study: Path) -> None:
    with Project.open(study) as project:
        report = project.suggest_train("consensus", seed=1)
        project.suggest_run(codes=["h"])
        suggestion = project._store.codings(coder=report.machine_coder)[0]
        explanation = project.suggest_explain(suggestion.id)
        human = {c.segment for c in project._store.codings(coder="consensus") if c.code == "h"}
    assert explanation.code == "h" and explanation.terms
    assert all(weight > 0 for _, weight in explanation.terms)
    assert [w for _, w in explanation.terms] == sorted((w for _, w in explanation.terms), reverse=True)
    assert len(explanation.similar) == 3
    assert all(s.ref in human and s.ref != suggestion.segment for s in explanation.similar)
    sims = [s.similarity for s in explanation.similar]
    assert sims == sorted(sims, reverse=True)


def test_cli_train_run_and_agree_at_every_unit(study: Path, runner) -> None:
    data = run_json(runner, "-p", study, "suggest", "train", "--from", "consensus", "--seed", "1",
                    "--bootstrap", "100")
    with Project.open(study) as project:
        api = project.suggest_train("consensus", seed=1, bootstrap=100)
    assert data == api.to_dict() | {"created": True}
    ran = run_json(runner, "-p", study, "suggest", "run")
    assert ran["machine_coder"] == data["machine_coder"]
    for unit in ("document", "case", "frequency", "coverage", "segment", "span"):
        result = run_json(runner, "-p", study, "agree", data["machine_coder"], "consensus", "--unit", unit,
                          "--bootstrap", "0")
        assert result
    table = run(runner, "-p", study, "suggest", "train", "--from", "consensus").stdout
    assert "cross-validation grouped by document" in table
    csv = run(runner, "-p", study, "suggest", "run", "--format", "csv").stdout
    assert csv.splitlines()[0] == "code,suggestions"


# ----------------------------------------------------------------------------- the gate

TRAIN_DOCS = ("E1", "E2", "E3", "P1", "P2", "P3")


def copy_codings(project: Project, source: str, target: str, keep) -> int:
    """Store ``source``'s codings that ``keep`` accepts as ``target``'s (a coder who coded only those)."""
    from dataclasses import replace

    from qda.models import WritePlan

    copied = tuple(replace(c, coder=target, id=None, status="ok", origin=None, score=None, source="sheet")
                   for c in project._store.codings(coder=source) if keep(c))
    project.commit(WritePlan(coders=(target,), codings=copied))
    return len(copied)


@pytest.fixture
def gated(study: Path) -> Path:
    """A model trained by 'trainer' (the consensus on six documents) and a sample of the other four."""
    with Project.open(study) as project:
        copy_codings(project, "consensus", "trainer", lambda c: c.document in TRAIN_DOCS)
        project.suggest_train("trainer", seed=1, bootstrap=0, params={"min_positives": 5})
        project.suggest_run()
    return study


def test_sample_draws_only_unseen_documents_stratified_by_score(gated: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    with Project.open(gated) as project:
        report = project.suggest_sample(60, "val", seed=2, sheet=tmp_path / "blind.xlsx")
        again = project.suggest_sample(60, "val2", seed=2)
    assert len(report.segments) == len(set(report.segments)) == 60
    assert not {ref.split("#")[0] for ref in report.segments} & set(TRAIN_DOCS)
    assert sum(report.strata.values()) == 60 and any("suggested" in k for k in report.strata)
    assert again.segments == report.segments  # the same seed draws the same sample
    sheet = load_workbook(tmp_path / "blind.xlsx").worksheets[0]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    assert sorted(r["segment"] for r in rows) == sorted(report.segments)
    assert not any(r["codes"] for r in rows)  # blind: nothing of the model's is shown


def test_validate_equals_scikit_learn_kappa_on_the_sample(gated: Path) -> None:
    from qda.suggest import load_model

    with Project.open(gated) as project:
        sample = project.suggest_sample(80, "val", seed=3)
        refs = set(sample.segments)
        copy_codings(project, "consensus", "val", lambda c: c.segment in refs)
        report = project.suggest_validate(bootstrap=200)
        model, _ = load_model(project._store, None)
        corpus = load_corpus(project._store)
        human = segment_labels(project._store, corpus, "val")
    positions = [corpus.position()[r] for r in sample.segments if corpus.refs[corpus.position()[r]] in refs]
    positions = [p for p in positions if human.known[p]]
    assert report.segments == len(positions)
    _, scores = model.scores([corpus.texts[p] for p in positions])
    for j, row in enumerate(report.codes):
        truth = human.positive.get(row.code, np.zeros(len(corpus), bool))[positions]
        predicted = scores[:, j] >= model.threshold[j]
        if truth.any() or predicted.any():
            assert row.agreement.kappa.value == pytest.approx(cohen_kappa_score(truth, predicted), abs=1e-12)
        assert row.passes == (row.agreement.kappa.low is not None and row.agreement.kappa.low >= 0.6)


def test_gate_refuses_bulk_accept_below_the_bound_and_accepts_above(gated: Path, runner) -> None:
    with Project.open(gated) as project:
        sample = project.suggest_sample(80, "val", seed=3)
        refs = set(sample.segments)
        machine = next(c for c in project.coders() if c.startswith("model:"))
        # the human agrees with the model everywhere on 'h' (kappa 1, interval [1, 1])
        copy_codings(project, machine, "val", lambda c: c.segment in refs and c.code == "h")
        validation = {c.code: c for c in project.suggest_validate(bootstrap=200).codes}
        assert validation["h"].agreement.kappa.value == 1.0 and validation["h"].passes
        failing = [code for code, c in validation.items() if not c.passes]
        assert failing
        before = human_codings(project)
    # refused: nothing written, the reason given
    result = run(runner, "-p", gated, "suggest", "accept", "--code", failing[0], code=1)
    assert "bulk accept refused" in result.output and "lower 95 % bound" in result.output
    with Project.open(gated) as project:
        assert human_codings(project) == before
        suggested = [c for c in project._store.codings(coder=machine) if c.code == "h"]
        high = [c for c in suggested if c.score >= 0.6]
        report = project.suggest_accept("h", reviewer="alice", above=0.6)
        accepted = [c for c in project._store.codings(coder="alice")]
    assert report.accepted == len(high) == len(accepted) > 0
    assert {c.segment for c in accepted} == {c.segment for c in high}
    assert all(c.origin == suggested[0].origin and c.status == "ok" and c.code == "h" for c in accepted)
    # undoable like every write that changes codings
    run(runner, "-p", gated, "undo", "--yes")
    with Project.open(gated) as project:
        assert "alice" not in project.coders() or not project._store.codings(coder="alice")


def test_bias_check_fisher_and_holm_against_scipy(gated: Path) -> None:
    from scipy.stats import fisher_exact
    from statsmodels.stats.multitest import multipletests

    with Project.open(gated) as project:
        sample = project.suggest_sample(80, "val", seed=3)
        refs = set(sample.segments)
        copy_codings(project, "consensus", "val", lambda c: c.segment in refs)
        check = project.suggest_bias("group")
    assert check.tests
    for t in check.tests:
        assert t.p == pytest.approx(fisher_exact([[t.errors_in, t.n_in - t.errors_in],
                                                  [t.errors_out, t.n_out - t.errors_out]])[1])
    ps = [t.p for t in check.tests]
    assert [t.p_holm for t in check.tests] == pytest.approx(list(multipletests(ps, method="holm")[1]))


def test_planned_size_matches_a_simulation() -> None:
    from qda.suggest.gate import kappa_variance

    # two raters drawing binary codes with prevalence p and intraclass kappa k (Bloch & Kraemer's model)
    rng = np.random.default_rng(5)
    k, p, n = 0.7, 0.3, 400
    both = p * p + k * p * (1 - p)
    cells = [both, p - both, p - both, 1 - 2 * p + both]
    draws = rng.multinomial(n, cells, size=4000)
    a = draws[:, 0] + draws[:, 1]
    b = draws[:, 0] + draws[:, 2]
    po = (draws[:, 0] + draws[:, 3]) / n
    pe = (a * b + (n - a) * (n - b)) / n ** 2
    simulated = ((po - pe) / (1 - pe)).var()
    assert kappa_variance(k, p) / n == pytest.approx(simulated, rel=0.1)


def test_learning_curve_cuts_training_parts_by_documents(study: Path, runner) -> None:
    from qda.suggest.suggester import training_subsets

    with Project.open(study) as project:
        curve = project.suggest_curve("consensus", codes=["h", "a"], sizes=(5, 10, 40), bootstrap=50)
        corpus = load_corpus(project._store)
        labels = segment_labels(project._store, corpus, "consensus")
    h = next(c for c in curve.codes if c.code == "h")
    assert h.positives == 18
    assert [p.positives for p in h.points] == [5, 10, 40]
    assert h.points[0].kappa is not None and h.points[2].kappa is None  # 40 > every fold's 18
    assert h.all_data is not None and curve.medians["all"] is not None
    known = np.flatnonzero(labels.known)
    y, groups = labels.positive["h"][known], corpus.document[known]
    folds = folds_of(y, groups, 5, seed=1)
    subsets = training_subsets(y, groups, folds, size=5, seed=1)
    for k, (train, test) in enumerate(folds):
        chosen = subsets[k]
        assert set(chosen.tolist()) <= set(train.tolist()) and y[chosen].sum() >= 5
        # whole documents: every segment of a chosen document is in
        assert set(np.flatnonzero(np.isin(groups, groups[chosen])).tolist()) - set(test.tolist()) == set(
            chosen.tolist())
    data = run_json(runner, "-p", study, "suggest", "curve", "--from", "consensus", "--code", "h", "--bootstrap", "50")
    with Project.open(study) as project:
        assert data == project.suggest_curve("consensus", codes=["h"], bootstrap=50).to_dict()


def test_provenance_in_the_api_and_the_reliability_report(gated: Path, runner, tmp_path: Path) -> None:
    with Project.open(gated) as project:
        sample = project.suggest_sample(80, "val", seed=3)
        refs = set(sample.segments)
        machine = next(c for c in project.coders() if c.startswith("model:"))
        copy_codings(project, machine, "val", lambda c: c.segment in refs and c.code == "h")
        copy_codings(project, "consensus", "alice", lambda c: c.document == "E1")
        own = len(project._store.codings(coder="alice"))
        accepted = project.suggest_accept("h", reviewer="alice").accepted
        result = project.suggest_provenance(["alice", machine])
    rows = {(r.coder, r.code): r for r in result.rows}
    alice = rows[("alice", "h")]
    h_total = own_h = None
    with Project.open(gated) as project:
        h_total = sum(1 for c in project._store.codings(coder="alice") if c.code == "h")
        own_h = sum(1 for c in project._store.codings(coder="alice") if c.code == "h" and not c.origin)
    assert alice.codings == h_total and alice.from_suggestions == h_total - own_h == accepted
    assert alice.accepted == accepted and alice.validated_kappa.value == 1.0 and alice.validated_by == "val"
    assert alice.training_coder == "trainer" and alice.training_segments > 0
    assert rows[(machine, "h")].share == 1.0
    assert all(r.coder in ("alice", machine) for r in result.rows) and own > 0
    assert "of model" in result.sentences()[0]
    run(runner, "-p", gated, "agree", "alice", "consensus", "--bootstrap", "0", "-o", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8").replace("\xa0", " ")  # counts hold with no-break spaces
    assert "Machine suggestions" in html and f"{accepted} of {h_total} codings" in html
    # a project without a model: no section, nothing computed
    assert run_json(runner, "-p", gated, "suggest", "provenance", "consensus")["rows"] == []
