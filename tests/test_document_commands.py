"""``qda document delete`` and ``qda document resplit``: an English interview imported into a
French project can be split again by English rules or removed; both take a snapshot, appear
in ``qda history``, and ``qda undo`` brings back every table row as it was."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qda.cli import app
from qda.project import Project
from tests.conftest import CODEBOOK, FIXTURES, run

ENGLISH = FIXTURES / "interview_en.txt"


def tables(folder: Path) -> dict[str, list[tuple]]:
    """Every row of every table but the history (which records the undo itself)."""
    db = sqlite3.connect(folder / "project.qda")
    try:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'") if n != "history"]
        return {name: sorted(db.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}
    finally:
        db.close()


def coding_spans(project: Project) -> list[tuple]:
    return sorted((c.id, c.coder, c.code, c.document, c.start, c.end, c.text, c.note, c.status)
                  for c in project._store.codings())


@pytest.fixture
def french_project(tmp_path: Path, runner: CliRunner) -> Path:
    """A French project holding an English interview (imported by the French rules) and A1."""
    folder = tmp_path / "proj"
    run(runner, "init", folder, "--lang", "fr")
    run(runner, "-p", folder, "codebook", "load", CODEBOOK)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(ENGLISH, docs / "interview_en.txt")
    shutil.copy(FIXTURES / "A1.txt", docs / "A1.txt")
    # --lang fr: split by French rules, as every transcript was before documents had their own language
    run(runner, "-p", folder, "import", "transcripts", docs / "interview_en.txt", docs / "A1.txt", "--lang", "fr")
    with Project.open(folder) as project:
        seg = {s.text: s for s in project.segments(document="interview_en")}
        # French rules cut "e.g." as a sentence end; ana coded the two pieces as one passage
        eg = seg["We also post on LinkedIn, e.g."]
        after = seg["short videos of the laser at work."]
        project.add_coding("ana", "interview_en", "a", start=eg.start, end=after.end)
        fairs = seg["Mostly at trade fairs."]
        project.add_coding("ana", "interview_en", "b", start=fairs.start, end=fairs.end)  # a whole segment
        project.add_coding("bob", "interview_en", "a", start=fairs.start + 10, end=fairs.end - 1, memo="partial")
        a1 = project.segments(document="A1")[0]
        project.add_coding("bob", "A1", "a", start=a1.start, end=a1.end)
        project.add_memo("ana", "document", "interview_en", text="an English interview")
    return folder


def test_resplit_by_english_rules_keeps_every_coding_on_its_characters(french_project: Path,
                                                                       runner: CliRunner) -> None:
    with Project.open(french_project) as project:
        before = coding_spans(project)
        a1_segments = project.segments(document="A1")
    answer = json.loads(run(runner, "-p", french_project, "document", "resplit", "interview_en", "--lang", "en",
                            "--format", "json").stdout)
    assert (answer["language_before"], answer["language"], answer["segments_before"], answer["segments"]) == (
        "fr", "en", 14, 13)
    assert answer["codings"] == 3 and answer["unplaced"] == []
    # the coding on "e.g. short videos" now equals one English sentence: a whole segment
    assert (answer["whole_before"], answer["whole_after"]) == (1, 2)
    with Project.open(french_project) as project:
        assert coding_spans(project) == before
        texts = [s.text for s in project.segments(document="interview_en")]
        assert "We also post on LinkedIn, e.g. short videos of the laser at work." in texts
        assert project._store.document("interview_en").language == "en"
        by_code = {(c.coder, c.code): c for c in project._store.codings(document="interview_en")}
        segment_text = {s.ref: s.text for s in project.segments(document="interview_en")}
        assert segment_text[by_code["ana", "a"].segment] == by_code["ana", "a"].text
        assert segment_text[by_code["ana", "b"].segment] == "Mostly at trade fairs."
        assert by_code["bob", "a"].segment is None  # a partial coding stays a span
        assert project.segments(document="A1") == a1_segments  # the other document is untouched
    history = json.loads(run(runner, "-p", french_project, "history", "--format", "json").stdout)["writes"]
    assert [w["command"] for w in history][-1:] == ["document resplit interview_en --lang en"]


def test_resplit_by_turn_then_undo_restores_every_row(french_project: Path, runner: CliRunner) -> None:
    before = tables(french_project)
    result = run(runner, "-p", french_project, "document", "resplit", "interview_en", "--unit", "turn")
    assert "14 segment(s) -> 6" in result.output
    with Project.open(french_project) as project:
        assert [s.turn for s in project.segments(document="interview_en")] == [1, 2, 3, 4, 5, 6]
        assert project._store.document("interview_en").language == "fr"  # no --lang: unchanged
    assert tables(french_project) != before
    run(runner, "-p", french_project, "undo", "--yes")
    assert tables(french_project) == before


def test_resplit_with_the_same_rules_changes_nothing_and_records_nothing(french_project: Path,
                                                                         runner: CliRunner) -> None:
    before = tables(french_project)
    history = json.loads(run(runner, "-p", french_project, "history", "--format", "json").stdout)["writes"]
    run(runner, "-p", french_project, "document", "resplit", "interview_en")
    assert tables(french_project) == before
    assert json.loads(run(runner, "-p", french_project, "history", "--format", "json").stdout)["writes"] == history


def test_delete_with_codings_says_what_it_removes_and_asks(french_project: Path, runner: CliRunner) -> None:
    before = tables(french_project)
    refused = run(runner, "-p", french_project, "document", "delete", "interview_en", code=1)
    said = " ".join(refused.output.split())
    assert "removes 3 coding(s) (2 of ana, 1 of bob), 1 memo(s)" in said and "nothing changed" in said
    assert tables(french_project) == before
    declined = runner.invoke(app, ["-p", str(french_project), "document", "delete", "interview_en"], input="n\n")
    assert declined.exit_code == 1 and tables(french_project) == before

    answer = json.loads(run(runner, "-p", french_project, "document", "delete", "interview_en", "--yes",
                            "--format", "json").stdout)
    assert answer["codings"] == {"ana": 2, "bob": 1} and answer["memos"] == 1 and answer["deleted"] is True
    with Project.open(french_project) as project:
        assert [d.name for d in project._store.documents()] == ["A1"]
        assert project._store.count_codings(coder="bob") == 1  # bob's coding of A1 stays
        assert project.memos_about("document", "interview_en") == []
        assert "interview_en" not in {c.name for c in project.cases()}
    history = json.loads(run(runner, "-p", french_project, "history", "--format", "json").stdout)["writes"]
    assert history[-1]["command"] == "document delete interview_en"
    assert history[-1]["codings_before"] == {"ana": 2, "bob": 2}
    assert history[-1]["codings_after"] == {"ana": 0, "bob": 1}
    run(runner, "-p", french_project, "undo", "--yes")
    assert tables(french_project) == before


def test_delete_confirmed_at_the_prompt(french_project: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["-p", str(french_project), "document", "delete", "interview_en"], input="y\n")
    assert result.exit_code == 0, result.output
    with Project.open(french_project) as project:
        assert [d.name for d in project._store.documents()] == ["A1"]


def test_delete_without_codings_needs_no_confirmation(french_project: Path, runner: CliRunner) -> None:
    with Project.open(french_project) as project:
        for coding in project._store.codings(document="A1"):
            project.remove_coding(coding.coder, coding.id or 0)
    result = run(runner, "-p", french_project, "document", "delete", "A1")
    assert "removed no coding" in result.output
    assert json.loads(run(runner, "-p", french_project, "history", "--format", "json").stdout)["writes"][-1][
        "command"] == "document delete A1"


def test_unknown_document_names_the_known_ones(french_project: Path, runner: CliRunner) -> None:
    for command in (["delete", "E9", "--yes"], ["resplit", "E9"]):
        result = run(runner, "-p", french_project, "document", *command, code=1)
        assert "unknown document 'E9'" in result.output and "A1, interview_en" in result.output
