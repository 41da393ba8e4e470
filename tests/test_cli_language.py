"""The project's language: chosen with --lang or detected from the first transcripts (issue 12)."""

from __future__ import annotations

import shutil
from pathlib import Path

from qda.ingest.segment import detect_language
from qda.project import Project

from conftest import EXAMPLE, run, run_json

ENGLISH = """Interviewer: How did you find your first customers abroad?

Respondent: We went to the trade fairs, i.e. the big ones in the United States, and we met them there.
It was the only way for a firm of our size. We also have a website, but they do not find us with it.

Interviewer: And what about the visits?

Respondent: I think that the visits are what made the difference. When they see the product working
in their own lab, with their own samples, they trust us and they order.
"""


def test_detect_language_on_the_study_and_on_english_text() -> None:
    assert detect_language((EXAMPLE / "transcripts" / "E1.txt").read_text(encoding="utf-8")) == "fr"
    assert detect_language(ENGLISH) == "en"
    assert detect_language("Bonjour. Hello.") is None  # too short to say


def test_init_without_lang_detects_it_from_the_first_import_and_says_so(runner, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    created = run(runner, "init", folder)
    assert "language: detected from the first transcripts imported" in created.output
    english = tmp_path / "T1.txt"
    english.write_text(ENGLISH, encoding="utf-8")
    report = run(runner, "-p", folder, "import", "transcripts", english)
    assert "project language set to English (en)" in report.output
    with Project.open(folder) as project:
        assert project.language == "en"
        # English rules: "i.e." does not end a sentence
        assert any("i.e. the big ones" in s.text for s in project.segments())


def test_init_with_lang_records_it(runner, tmp_path: Path) -> None:
    created = run_json(runner, "init", tmp_path / "p", "--lang", "en")
    assert created["language"] == "en"
    with Project.open(tmp_path / "p") as project:
        assert project.language == "en"


def test_a_transcript_in_another_language_keeps_its_own_language(runner, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", "fr")
    english = tmp_path / "T1.txt"
    english.write_text(ENGLISH, encoding="utf-8")
    french = tmp_path / "E1.txt"
    shutil.copy(EXAMPLE / "transcripts" / "E1.txt", french)
    report = run(runner, "-p", folder, "import", "transcripts", french, english)
    notes = [line for line in report.output.splitlines() if "imported as" in line]
    assert len(notes) == 1 and notes[0].startswith("T1: imported as English (en), detected; the project is French")
    data = run_json(runner, "-p", folder, "status")
    assert data["documents"] == 2
    with Project.open(folder) as project:
        assert {d.name: d.language for d in project._store.documents()} == {"E1": "fr", "T1": "en"}
        # English rules on the English transcript: "i.e." does not end a sentence
        assert any("i.e. the big ones" in s.text for s in project.segments(document="T1"))


def test_a_survey_decides_the_language_of_a_project_created_without_one(runner, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    run(runner, "init", folder)
    answers = [part.split(": ", 1)[1].replace("\n", " ") for part in ENGLISH.split("\n\n") if
               part.startswith("Respondent")]
    survey = tmp_path / "survey.csv"
    survey.write_text("id,country,how,visits\n" + f'R1,Canada,"{answers[0]}","{answers[1]}"\n', encoding="utf-8")
    report = run(runner, "-p", folder, "import", "survey", survey, "--text", "how", "--text", "visits", "--id", "id")
    assert "project language set to English (en)" in report.output
    with Project.open(folder) as project:
        assert project.language == "en"
        assert any("i.e. the big ones" in s.text for s in project.segments())
