"""The ``qda suggest`` command line around the model: readable term names in ``explain`` (the
names the review page shows) and training settings passed with ``train --param``."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest

from qda import Project
from qda.suggest.corpus import FIELD
from qda.suggest.learn import Terms
from qda.suggest.results import term_label

from conftest import run

#: what the model's analyzer marks a term with (qda/suggest/learn.py Terms, Features.terms)
RAW_MARK = re.compile(r"<(p|o|n|c|role|prole|turn|len|empty|start)>")


@pytest.fixture(scope="module")
def suggested(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A copy of the reference study with a model learnt from the consensus and its suggestions of h."""
    folder = tmp_path_factory.mktemp("suggest-cli") / "study"
    shutil.copytree(study_project, folder)
    with Project.open(folder) as project:
        report = project.suggest_train("consensus", seed=1, bootstrap=0)
        project.suggest_run(codes=["h"])
        suggestion = project._store.codings(coder=report.machine_coder)[0]
    assert suggestion.id is not None
    return folder, suggestion.id


def test_every_mark_the_analyzer_makes_gets_a_readable_name() -> None:
    analyzer = Terms(bigrams=True, context=True, role=True, following=True, turn=True, length=True, other=True)
    text = FIELD.join(["salon rouge", "avant", "respondent", "après", "interviewer", "question posée"])
    made = analyzer(text) + analyzer(FIELD.join(["", "", "", "", "<start>", ""])) + ["<c> sal", "<c>ons ", "<c> le "]
    named = {term: term_label(term) for term in made}
    assert not [name for name in named.values() if RAW_MARK.search(name)], named
    assert named["<p>avant"] == "avant (previous segment)"
    assert named["<o>question"] == "question (the turn answered)"
    assert named["<n>après"] == "après (next segment)"
    assert named["<role>respondent"] == "speaker: respondent"
    assert named["<prole>interviewer"] == "previous speaker: interviewer"
    assert named["<prole><start>"] == "first segment of the document"
    assert named["<turn>"].startswith("opens a turn")
    assert named["<len>2"] == "length: 2 words"
    assert named["<empty>"] == "an empty segment"
    assert named["<c> sal"] == "sal… (letters at the start of a word)"
    assert named["<c>ons "] == "…ons (letters at the end of a word)"
    assert named["<c> le "] == "le (a whole word, in letters)"
    assert named["salon rouge"] == "salon rouge"  # a bigram of the segment is its own name


def test_cli_explain_prints_readable_terms_as_the_review_page(suggested: tuple[Path, int], runner) -> None:
    folder, coding = suggested
    with Project.open(folder) as project:
        explanation = project.suggest_explain(coding)
    assert any(RAW_MARK.search(term) for term, _ in explanation.terms), "the study's model weighs no marked term"
    table = " ".join(run(runner, "-p", folder, "suggest", "explain", str(coding)).stdout.split())
    assert not RAW_MARK.search(table), table
    for term, _ in explanation.terms:
        if len(term_label(term)) < 20:  # longer names may wrap inside their cell
            assert term_label(term) in table
    rows = list(csv.DictReader(io.StringIO(run(runner, "-p", folder, "suggest", "explain", str(coding),
                                               "--format", "csv").stdout)))
    assert [(r["term"], r["label"]) for r in rows] == [(t, term_label(t)) for t, _ in explanation.terms]
    data = explanation.to_dict()["terms"]
    assert [t["label"] for t in data] == [term_label(t) for t, _ in explanation.terms]
