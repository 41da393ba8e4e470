"""Coding sheets: written with a drop-down, read back from xlsx or csv, all or nothing."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from qda import Project

from conftest import run, run_json, snapshot


def test_sheet_layout(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "ana.xlsx"
    run(runner, "-p", small_project, "code", "sheet", "--coder", "ana", "-o", sheet)
    wb = load_workbook(sheet)
    ws = wb["Coding"]
    assert [c.value for c in ws[1]] == ["case", "document", "segment", "turn", "speaker", "text", "codes", "memo"]
    assert ws.freeze_panes == "A2"
    assert ws["F2"].alignment.wrap_text
    assert ws[1][0].font.bold
    validations = ws.data_validations.dataValidation
    assert len(validations) == 1 and validations[0].formula1 == "=Codes!$A$2:$A$26"
    assert "G2" in str(validations[0].sqref)
    assert [ws.cell(r, 3).value for r in range(2, 5)] == ["A1#1", "A1#2", "A1#3"]
    assert wb["Codes"]["A2"].value == "a"


def test_round_trip_ids_labels_and_prefill(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "ana.xlsx"
    run(runner, "-p", small_project, "code", "sheet", "--coder", "ana", "-o", sheet)
    wb = load_workbook(sheet)
    ws = wb["Coding"]
    rows = {ws.cell(r, 3).value: r for r in range(2, ws.max_row + 1)}
    ws.cell(rows["A1#3"], 7).value = "h; Démonstration (en personne ou par vidéoconférence)"
    ws.cell(rows["A1#4"], 7).value = "B, y"
    wb.save(sheet)
    result = run_json(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana")
    assert result["codings"] == 4 and result["documents"] == ["A1", "B1"]
    with Project.open(small_project) as project:
        assert sorted((c.segment, c.code) for c in project.codings("ana")) == [
            ("A1#3", "b"), ("A1#3", "h"), ("A1#4", "b"), ("A1#4", "y")]
    again = tmp_path / "again.xlsx"
    run(runner, "-p", small_project, "code", "sheet", "--coder", "ana", "-o", again)
    ws2 = load_workbook(again)["Coding"]
    assert ws2.cell(rows["A1#3"], 7).value == "b; h"


def test_unknown_codes_fail_the_whole_import_with_suggestions(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "bob.csv"
    sheet.write_text("segment,codes\nA1#3,h\nA1#4,Foires comerciales\nA1#5,zz; b\nA1#99,h\n", encoding="utf-8")
    before = snapshot(small_project)
    result = run(runner, "-p", small_project, "code", "import", sheet, "--coder", "bob", code=1)
    out = result.output
    assert "3 problem(s); nothing was imported for coder 'bob'" in out
    assert "bob.csv row 3: unknown code 'Foires comerciales' (closest: h (Foires commerciales)" in out
    assert "bob.csv row 4: unknown code 'zz'" in out
    assert "bob.csv row 5: unknown segment 'A1#99'" in out
    assert snapshot(small_project) == before


def test_reimport_replaces_the_coders_codings(runner, small_project: Path, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text("segment,codes\nA1#3,h\nA1#4,b\n", encoding="utf-8")
    second = tmp_path / "second.csv"
    second.write_text("segment,codes\nA1#3,i\n", encoding="utf-8")
    run(runner, "-p", small_project, "code", "import", first, "--coder", "ana")
    run(runner, "-p", small_project, "code", "import", first, "--coder", "bob")
    result = run_json(runner, "-p", small_project, "code", "import", second, "--coder", "ana")
    # The rows of the sheet are replaced (A1#3); a segment the sheet does not list keeps its codings.
    assert result["replaced"] == 1
    with Project.open(small_project) as project:
        assert [(c.segment, c.code) for c in project.codings("ana")] == [("A1#3", "i"), ("A1#4", "b")]
        assert len(project.codings("bob")) == 2
    emptied = tmp_path / "emptied.csv"
    emptied.write_text("segment,codes\nA1#3,\nA1#4,\n", encoding="utf-8")
    run(runner, "-p", small_project, "code", "import", emptied, "--coder", "ana", "--allow-empty")
    with Project.open(small_project) as project:
        assert project.codings("ana") == []


def test_sheet_text_must_match_the_project(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "old.csv"
    sheet.write_text("segment,text,codes\nA1#3,Une autre phrase.,h\n", encoding="utf-8")
    result = run(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana", code=1)
    assert "old.csv row 2: the text of segment A1#3 differs" in result.output


def test_missing_columns_and_corrupt_xlsx(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "wrong.csv"
    sheet.write_text("id,code\nA1#3,h\n", encoding="utf-8")
    result = run(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana", code=1)
    assert "row 1: missing column(s) segment, codes" in result.output
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    result = run(runner, "-p", small_project, "code", "import", broken, "--coder", "ana", code=1)
    assert "broken.xlsx: not a readable .xlsx file" in result.output
    assert "Traceback" not in result.output


def test_labels_with_commas_and_memos_survive_a_round_trip(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "ana.csv"
    sheet.write_text('segment;codes;memo\nA1#3;Kiosques, grand congrès mondial (présentation, démo), h;à revoir\n',
                     encoding="utf-8")
    run(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana")
    with Project.open(small_project) as project:
        assert sorted(c.code for c in project.codings("ana")) == ["h", "i"]
    out = tmp_path / "again.xlsx"
    run(runner, "-p", small_project, "code", "sheet", "--coder", "ana", "-o", out)
    ws = load_workbook(out)["Coding"]
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[2] == "A1#3")
    assert row[6] == "h; i" and row[7] == "à revoir"


def test_a_sheet_for_some_roles_leaves_other_codings_alone(runner, small_project: Path, tmp_path: Path) -> None:
    first = tmp_path / "all.csv"
    first.write_text("segment,codes\nA1#2,e\nA1#3,h\n", encoding="utf-8")  # A1#2 is the interviewer's question
    run(runner, "-p", small_project, "code", "import", first, "--coder", "ana")
    partial = tmp_path / "respondents.xlsx"
    run(runner, "-p", small_project, "code", "sheet", "--coder", "ana", "-o", partial, "--role", "respondent")
    wb = load_workbook(partial)
    assert "A1#2" not in [r[2] for r in wb["Coding"].iter_rows(min_row=2, values_only=True)]
    run(runner, "-p", small_project, "code", "import", partial, "--coder", "ana")
    with Project.open(small_project) as project:
        assert sorted((c.segment, c.code) for c in project.codings("ana")) == [("A1#2", "e"), ("A1#3", "h")]
    result = run(runner, "-p", small_project, "code", "sheet", "--coder", "ana", "-o", partial, "--role", "expert",
                 code=1)
    assert "no segment of speakers with role(s) expert (roles: interviewer, respondent" in result.output
