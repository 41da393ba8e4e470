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
from qda.errors import SuggestError
from qda.suggest.corpus import FIELD
from qda.suggest.learn import DEFAULTS, Terms
from qda.suggest.results import term_label
from qda.suggest.settings import parse_params

from conftest import run, run_json

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


# ----------------------------------------------------------------------------- train --param

def test_params_take_the_type_of_their_default() -> None:
    assert parse_params(["C=1", "chars=false", "max_negatives=40000", "threshold=kappa", "turn=Yes"]) == {
        "C": 1.0, "chars": False, "max_negatives": 40000, "threshold": "kappa", "turn": True}
    assert isinstance(parse_params(["C=1"])["C"], float)  # as the default 1.0: the same model id
    assert parse_params(["C=0.5,1,2"]) == {"C": [0.5, 1.0, 2.0]}  # a grid tried on the inner folds
    assert parse_params([]) == {}


def test_every_bad_param_is_named_with_what_it_takes() -> None:
    with pytest.raises(SuggestError) as caught:
        parse_params(["colour=red", "C=-1", "folds=1", "chars=maybe", "threshold=best", "nokey", "C=2",
                      "min_df=two"])
    said = [str(p) for p in caught.value.problems]
    assert said == [
        "--param colour=red: unknown setting 'colour' (known: " + ", ".join(DEFAULTS) + ")",
        "--param C=-1: '-1' is not a value of C (C takes a number > 0, or several separated by commas "
        "(each tried on the inner folds))",
        "--param folds=1: '1' is not a value of folds (folds takes a whole number ≥ 2)",
        "--param chars=maybe: 'maybe' is not a value of chars (chars takes true or false)",
        "--param threshold=best: 'best' is not a value of threshold "
        "(threshold takes one of weighted, shrunk, kappa, f1, half)",
        "--param nokey: not KEY=VALUE (e.g. --param C=2)",
        "--param C=2: 'C' is given twice",
        "--param min_df=two: 'two' is not a value of min_df (min_df takes a whole number ≥ 1)",
    ]
    assert "8 setting(s)" in caught.value.message


def test_cli_train_params_reach_the_model_and_its_id(suggested: tuple[Path, int], runner, tmp_path: Path) -> None:
    folder = tmp_path / "study"
    shutil.copytree(suggested[0], folder)
    quick = ("-p", folder, "suggest", "train", "--from", "consensus", "--no-evaluate", "--bootstrap", "0")
    plain = run_json(runner, *quick)
    same = run_json(runner, *quick, "--param", "C=1", "--param", "threshold=weighted")
    other = run_json(runner, *quick, "--param", "C=2", "--param", "chars=false")
    # the defaults spelt out are the defaults: the same model; other settings: another model
    assert same["model"] == plain["model"] and not same["created"]
    assert other["model"] != plain["model"] and other["created"]
    assert other["params"]["C"] == 2.0 and other["params"]["chars"] is False
    with Project.open(folder) as project:
        stored = project.suggest_train("consensus", evaluate=False, bootstrap=0, params={"C": 2.0, "chars": False})
    assert stored.model == other["model"]
    refused = run(runner, *quick, "--param", "C=zero", "--param", "speed=11", code=1)
    said = " ".join(refused.output.replace("│", " ").split())
    assert "'zero' is not a value of C" in said and "unknown setting 'speed'" in said and "max_negatives" in said


def test_the_docs_list_every_setting_with_its_default() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "suggest.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \|", text, re.MULTILINE)}
    shown = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in DEFAULTS.items()}
    assert {key: rows.get(key, "").strip() for key in DEFAULTS} == shown
