"""Project store: init, finding the project, re-imports, cases, atomic failures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from qda import Project
from qda.errors import ProjectError
from qda.store import DB_NAME, SCHEMA_VERSION

from conftest import FIXTURES, run, run_json, snapshot


def test_init_creates_a_wal_database_with_a_schema_version(tmp_path: Path) -> None:
    Project.init(tmp_path / "p").close()
    db = sqlite3.connect(tmp_path / "p" / DB_NAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    with pytest.raises(ProjectError, match="already a qda project"):
        Project.init(tmp_path / "p")


def test_project_is_found_from_option_env_or_parent(runner, small_project: Path, monkeypatch) -> None:
    sub = small_project / "notes" / "deeper"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert run_json(runner, "status")["documents"] == 2
    monkeypatch.chdir(small_project.parent.parent)
    monkeypatch.setenv("QDA_PROJECT", str(small_project))
    assert run_json(runner, "status")["documents"] == 2
    monkeypatch.delenv("QDA_PROJECT")
    result = run(runner, "status", code=1)
    assert "no qda project here" in result.output


def test_reimporting_an_unchanged_file_is_a_no_op(runner, small_project: Path) -> None:
    before = snapshot(small_project)
    report = run_json(runner, "-p", small_project, "import", "transcripts", FIXTURES / "A1.txt")
    assert report["files"][0]["status"] == "unchanged"
    assert snapshot(small_project) == before


def test_changed_file_with_codings_is_refused_and_nothing_changes(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text("segment,codes\nA1#3,h\n", encoding="utf-8")
    run(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana")
    revised = tmp_path / "A1.txt"
    revised.write_text((FIXTURES / "A1.txt").read_text(encoding="utf-8") + "\nRépondant : Ajout.\n", encoding="utf-8")
    before = snapshot(small_project)
    result = run(runner, "-p", small_project, "import", "transcripts", revised, code=1)
    assert "changed since it was imported and has 1 coding(s)" in result.output
    assert snapshot(small_project) == before


def test_changed_file_without_codings_is_replaced(runner, small_project: Path, tmp_path: Path) -> None:
    revised = tmp_path / "B1.txt"
    revised.write_text("Q: Only one question?\nR: Yes.\n", encoding="utf-8")
    report = run_json(runner, "-p", small_project, "import", "transcripts", revised, "--lang", "en")
    assert report["files"][0]["status"] == "replaced"
    with Project.open(small_project) as project:
        assert [s.text for s in project.segments("B1")] == ["Only one question?", "Yes."]


def test_one_bad_file_imports_nothing(runner, small_project: Path, tmp_path: Path) -> None:
    good = tmp_path / "C1.txt"
    good.write_text("Q: Bonjour ?\nR: Oui.\n", encoding="utf-8")
    bad = tmp_path / "C2.txt"
    bad.write_bytes(b"\x00\x00binary\x00" * 20)
    before = snapshot(small_project)
    result = run(runner, "-p", small_project, "import", "transcripts", good, bad, code=1)
    assert "C2.txt: binary content" in result.output
    assert snapshot(small_project) == before


def test_case_option_and_segment_offsets(small_project: Path, tmp_path: Path) -> None:
    path = tmp_path / "interview-2.txt"
    path.write_text("Q: Première question ?\nR: Réponse. Deuxième phrase.\n", encoding="utf-8")
    with Project.open(small_project) as project:
        project.import_transcripts([path], case="Firm-X")
        segments = project.segments(case="Firm-X")
        document = project._store.document("interview-2")
    assert document is not None and document.case == "Firm-X"
    assert [(s.ref, s.speaker, s.text) for s in segments] == [
        ("interview-2#1", "Q", "Première question ?"), ("interview-2#2", "R", "Réponse."),
        ("interview-2#3", "R", "Deuxième phrase.")]
    assert all(document.text[s.start:s.end] == s.text for s in segments)


def test_import_cases_csv_and_xlsx(runner, small_project: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "cases.csv"
    csv_path.write_text("case;group;employees\nA1;entry;5\nB1;post-entry;40\n", encoding="cp1252")
    result = run_json(runner, "-p", small_project, "import", "cases", csv_path)
    assert result["cases"] == [{"case": "A1", "group": "entry", "employees": "5"},
                               {"case": "B1", "group": "post-entry", "employees": "40"}]
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.append(["Case", "région"])
    wb.active.append(["A1", "Québec"])
    xlsx = tmp_path / "cases.xlsx"
    wb.save(xlsx)
    run(runner, "-p", small_project, "import", "cases", xlsx)
    with Project.open(small_project) as project:
        assert {c.name: c.attributes for c in project.cases()}["A1"] == {"région": "Québec"}


def test_missing_case_column_is_a_clear_error(runner, small_project: Path, tmp_path: Path) -> None:
    path = tmp_path / "profiles.csv"
    path.write_text("firm,group\nA1,entry\n", encoding="utf-8")
    before = snapshot(small_project)
    result = run(runner, "-p", small_project, "import", "cases", path, code=1)
    assert f"{path}: row 1: no 'case' column" in result.output
    assert "columns found: firm, group" in result.output
    assert snapshot(small_project) == before


def test_a_database_from_a_newer_qda_is_refused(tmp_path: Path) -> None:
    Project.init(tmp_path / "p").close()
    db = sqlite3.connect(tmp_path / "p" / DB_NAME)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(ProjectError, match="newer qda"):
        Project.open(tmp_path / "p")


def test_replace_reanchors_codings_and_keeps_orphans(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    # A1#3 "Nous allons à trois foires commerciales par année." A1#5 "Par contre, on n'est pas sur Facebook."
    # A1#8 "On rend aussi visite aux clients pour voir leurs opérations."
    sheet.write_text("segment,codes\nA1#3,h\nA1#5,a\nA1#8,t\n", encoding="utf-8")
    run(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana")
    original = (FIXTURES / "A1.txt").read_text(encoding="utf-8")
    revised_text = ("Note du transcripteur : version corrigée.\n\n" + original)
    revised_text = revised_text.replace("trois foires commerciales", "trois foires commerciales internationales")
    revised_text = revised_text.replace("Répondant : Par contre, on n'est pas sur Facebook.\n\n", "")
    revised = tmp_path / "A1.txt"
    revised.write_text(revised_text, encoding="utf-8")
    report = run_json(runner, "-p", small_project, "import", "transcripts", revised, "--replace")
    entry = report["files"][0]
    assert entry["status"] == "revised"
    assert entry["reanchored"] == {"changed": 1, "orphaned": 1, "moved": 1}
    with Project.open(small_project) as project:
        codings = {c.code: c for c in project._store.codings(coder="ana")}
        assert codings["h"].text == "Nous allons à trois foires commerciales internationales par année."
        assert codings["h"].status == "changed"
        assert codings["t"].text == "On rend aussi visite aux clients pour voir leurs opérations."
        assert codings["t"].segment is not None and codings["t"].status == "ok"
        assert codings["a"].status == "orphaned"  # kept, flagged, never dropped
        versions = project._store.document_versions("A1")
        assert len(versions) == 1 and versions[0][2] == original


def test_survey_rows_become_documents_and_cases(runner, small_project: Path, tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_text("id;pays;Q1 outils;Q2 obstacles\nR1;France;Nous allons aux foires. Et sur LinkedIn.;Le temps.\n"
                    "R2;Chine;;\nR3;Brésil;Des démos.;\n", encoding="utf-8")
    report = run_json(runner, "-p", small_project, "import", "survey", path, "--text", "Q1 outils",
                      "--text", "Q2 obstacles", "--id", "id")
    assert [f["document"] for f in report["files"]] == ["R1", "R3"]
    with Project.open(small_project) as project:
        segments = project.segments("R1")
        assert [(s.speaker, s.text) for s in segments] == [
            ("Q1 outils", "Nous allons aux foires."), ("Q1 outils", "Et sur LinkedIn."), ("Q2 obstacles", "Le temps.")]
        assert {c.name: c.attributes for c in project.cases()}["R3"] == {"pays": "Brésil"}
    result = run(runner, "-p", small_project, "import", "survey", path, "--text", "Q9", code=1)
    assert "row 1: no column 'Q9'" in result.output


def test_same_file_under_another_case_moves_it_and_keeps_codings(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text("segment,codes\nA1#3,h\n", encoding="utf-8")
    run(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana")
    report = run_json(runner, "-p", small_project, "import", "transcripts", FIXTURES / "A1.txt", "--case", "Firm-1")
    assert report["files"][0]["status"] == "moved"
    with Project.open(small_project) as project:
        assert [c.case for c in project.codings("ana")] == ["Firm-1"]
        assert "A1" not in {c.name for c in project.cases()}  # the emptied case is gone


def test_the_project_option_may_come_after_the_subcommand(runner, small_project: Path) -> None:
    assert run_json(runner, "status", "-p", small_project)["documents"] == 2
    assert run_json(runner, "codebook", "show", f"--project={small_project}")["name"]
