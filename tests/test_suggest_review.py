"""The review queue of suggestions (issue 21, "Review in the workspace"): the facade.

Expected values are computed here from the stored suggestions and the model's thresholds,
or read back from the database; never from the queue's own output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qda.errors import QdaError, SuggestError
from qda.project import Project
from qda.suggest import load_model
from qda.suggest.corpus import load_corpus, segment_labels
from tests.conftest import run
from tests.test_suggest import copy_codings

TRAIN_DOCS = ("E1", "E2", "E3", "P1", "P2", "P3")


def others(project: Project, reviewer: str) -> dict[str, list[tuple]]:
    """Every human coder's codings except the reviewer's, as comparable tuples."""
    return {coder: sorted((c.id, c.code, c.document, c.start, c.end, c.status, c.origin, c.created_at)
                          for c in project._store.codings(coder=coder))
            for coder in project.coders() if coder != reviewer and not coder.startswith("model:")}


@pytest.fixture
def trained(study_project: Path, tmp_path: Path) -> Path:
    """A copy of the study; 'trainer' coded six documents (the consensus's codings there), a model
    learnt from them suggests on all ten."""
    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    with Project.open(folder) as project:
        copy_codings(project, "consensus", "trainer", lambda c: c.document in TRAIN_DOCS)
        project.suggest_train("trainer", seed=1, bootstrap=0, params={"min_positives": 5})
        project.suggest_run()
    return folder


def test_queue_orders_by_uncertainty_or_score_and_leaves_out_what_the_reviewer_coded(trained: Path) -> None:
    with Project.open(trained) as project:
        model, _ = load_model(project._store, None)
        suggestions = project._store.codings(coder=model.machine_coder)
        mine = {(c.code, c.segment) for c in project._store.codings(coder="trainer")}
        threshold = dict(zip(model.codes, model.threshold.tolist()))
        expected = [c for c in suggestions if (c.code, c.segment) not in mine and c.code == "h"]
        queue = project.review_queue("trainer", code="h")
        by_score = project.review_queue("trainer", code="h", order="score")
    assert len(queue.items) == len(expected) > 3
    gaps = [abs(c.score - threshold["h"]) for c in expected]
    assert [i.uncertainty for i in queue.items] == pytest.approx(sorted(gaps), abs=1e-6)
    assert [i.score for i in by_score.items] == sorted((c.score for c in expected), reverse=True)
    first = queue.items[0]
    stored = next(c for c in suggestions if c.id == first.id)
    assert (first.text, first.start, first.end, first.segment) == (stored.text, stored.start, stored.end,
                                                                   stored.segment)
    assert queue.codes["h"] == len(expected)


def test_accept_reject_recode_write_only_the_reviewers_codings(trained: Path) -> None:
    with Project.open(trained) as project:
        before = others(project, "trainer")
        mine_before = len(project._store.codings(coder="trainer"))
        items = project.review_queue("trainer", code="h").items
        accepted = project.review_suggestion("trainer", items[0].id, "accept")
        rejected = project.review_suggestion("trainer", items[1].id, "reject")
        recoded = project.review_suggestion("trainer", items[2].id, "recode", code="a")
        mine = project._store.codings(coder="trainer")
        made = {c.id: c for c in mine}
        assert len(mine) == mine_before + 2  # a rejection writes no coding
        coding = made[accepted.coding]
        assert (coding.code, coding.segment, coding.status, coding.source) == ("h", items[0].segment, "ok", "suggest")
        assert coding.origin == project.review_queue("trainer").model
        assert coding.score == pytest.approx(items[0].score)
        other = made[recoded.coding]
        assert (other.code, other.segment, other.origin) == ("a", items[2].segment, coding.origin)
        assert rejected.coding is None
        # decided suggestions leave the queue; the suggestions themselves stay as they were
        left = {i.id for i in project.review_queue("trainer", code="h").items}
        assert not left & {items[0].id, items[1].id, items[2].id} and len(left) == len(items) - 3
        assert all(project._store.coding(i.id).status == "suggested" for i in items[:3])
        assert others(project, "trainer") == before
        with pytest.raises(SuggestError, match="decided"):
            project.review_suggestion("trainer", items[1].id, "accept")
        with pytest.raises(QdaError, match="machine coder"):
            project.review_suggestion("model:abc", items[3].id, "accept")


def test_rejections_are_negatives_of_the_next_training(trained: Path) -> None:
    with Project.open(trained) as project:
        model, _ = load_model(project._store, None)
        item = project.review_queue("trainer", code="h", order="score").items[0]  # the most confident suggestion
        corpus = load_corpus(project._store)
        at = corpus.position()[item.segment]
        labels = segment_labels(project._store, corpus, "trainer", codes=["h"])
        assert not labels.known[at] and not labels.negative  # a segment of a document trainer never coded
        project.review_suggestion("trainer", item.id, "reject")
        labels = segment_labels(project._store, corpus, "trainer", codes=["h", "a"])
        assert labels.negative["h"][at] and "a" not in labels.negative
        assert labels.rows_for("h", np.array([at])).tolist() == [True]
        assert labels.rows_for("a", np.array([at])).tolist() == [False]  # unknown for the other codes
        retrained = project.review_retrain()
        assert retrained.model != model.id and retrained.previous == model.id
        new, _ = load_model(project._store, retrained.model)
        _, old_scores = model.scores([corpus.texts[at]], ["h"])
        _, new_scores = new.scores([corpus.texts[at]], ["h"])
        # the model learnt the rejection: this passage weighs less for 'h' than before
        assert new_scores[0, 0] < old_scores[0, 0]
        # the new model's suggestions are stored, and the decided passage does not come back
        assert sum(retrained.counts.values()) == len(project._store.codings(coder=new.machine_coder))
        assert item.segment not in {i.segment for i in project.review_queue("trainer", code="h").items}
        # undoing the rejection takes the negative back
        project.review_undo("trainer")
        assert not segment_labels(project._store, corpus, "trainer", codes=["h"]).negative


def test_undo_takes_a_decision_back_and_each_is_in_the_history(trained: Path, runner) -> None:
    with Project.open(trained) as project:
        items = project.review_queue("trainer", code="h").items
        decision = project.review_suggestion("trainer", items[0].id, "accept")
        assert project._store.coding(decision.coding) is not None
        undone = project.review_undo("trainer")
        assert undone.undone and undone.review == decision.review
        assert project._store.coding(decision.coding) is None
        assert items[0].id in {i.id for i in project.review_queue("trainer", code="h").items}
        project.review_suggestion("trainer", items[1].id, "reject")
        commands = [e.command for e in project.history().entries]
    assert f"review accept h {items[0].segment} --as trainer" in commands
    assert f"review undo accept h {items[0].segment} --as trainer" in commands
    assert f"review reject h {items[1].segment} --as trainer" in commands  # no coding written, still recorded
    # and `qda undo` restores the state before the last review write
    run(runner, "-p", trained, "undo", "--yes")
    with Project.open(trained) as project:
        assert project._store.suggest_reviews(reviewer="trainer") == []  # the rejection is gone


def test_bulk_accept_is_gated_and_undone_whole(trained: Path) -> None:
    with Project.open(trained) as project:
        before = others(project, "trainer")
        with pytest.raises(QdaError, match="no validation sample"):
            project.review_bulk_accept("trainer", "h", above=0.5)
        sample = project.suggest_sample(80, "val", seed=3)
        refs = set(sample.segments)
        machine = next(c for c in project.coders() if c.startswith("model:"))
        copy_codings(project, machine, "val", lambda c: c.segment in refs and c.code == "h")
        validation = {c.code: c for c in project.suggest_validate(bootstrap=200).codes}
        failing = next(code for code, c in validation.items() if not c.passes)
        with pytest.raises(SuggestError, match="bulk accept refused .* lower 95 % bound"):
            project.review_bulk_accept("trainer", failing, above=0.5)
        before = others(project, "trainer")
        queue = project.review_queue("trainer", code="h").items
        high = [i for i in queue if i.score >= 0.6]
        decision = project.review_bulk_accept("trainer", "h", above=0.6)
        accepted = [c for c in project._store.codings(coder="trainer") if c.origin]
        assert decision.codings == len(high) == len(accepted) > 0
        assert {c.segment for c in accepted} == {i.segment for i in high}
        left = {i.id for i in project.review_queue("trainer", code="h").items}
        assert left == {i.id for i in queue} - {i.id for i in high}
        prov = {p.code: p for p in project.review_provenance().codes}
        assert prov["h"].bulk_accepted == len(high) and prov["h"].reviewed == 0
        assert project.history().entries[-1].command == "review bulk accept --code h --above 0.6 --as trainer"
        undone = project.review_undo("trainer")
        assert undone.codings == len(high)
        assert not [c for c in project._store.codings(coder="trainer") if c.origin]
        assert others(project, "trainer") == before


def test_provenance_counts_codings_from_suggestions_and_reviews(trained: Path) -> None:
    with Project.open(trained) as project:
        items = project.review_queue("trainer", code="h").items
        project.review_suggestion("trainer", items[0].id, "accept")
        project.review_suggestion("trainer", items[1].id, "accept")
        project.review_suggestion("trainer", items[2].id, "reject")
        project.review_suggestion("trainer", items[3].id, "recode", code="a")
        humans = [c for c in project._store.codings() if not c.coder.startswith("model:")]
        prov = {p.code: p for p in project.review_provenance().codes}
        report = project.suggest_provenance(["trainer"])  # qda suggest provenance
    # the report (and the reliability report, qda report) says how many a human reviewed one by one
    row = next(r for r in report.rows if r.code == "h")
    assert (row.accepted, row.reviewed) == (2, 4)
    assert "4 reviewed one by one" in next(s for s in report.sentences() if "code h" in s)
    h_codings = sum(1 for c in humans if c.code == "h")
    assert (prov["h"].codings, prov["h"].from_suggestions) == (h_codings, 2)
    assert prov["h"].share == pytest.approx(2 / h_codings)
    assert (prov["h"].reviewed, prov["h"].accepted, prov["h"].rejected, prov["h"].recoded) == (4, 2, 1, 1)
    assert prov["a"].from_suggestions == 1 and prov["a"].reviewed == 0
