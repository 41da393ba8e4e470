"""Duplicate codings (issue 11): the same segment and code on several rows of a sheet give
one coding and say so; frequency units count distinct codings."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from qda.agreement.units import build_units
from qda.models import Coding, Document
from qda.project import Project

from conftest import run, run_json


def test_same_code_on_same_segment_three_times_is_one_coding(runner, small_project: Path,
                                                              tmp_path: Path) -> None:
    # Before: three rows of the same segment and code gave three codings.
    sheet = tmp_path / "alice.xlsx"
    run(runner, "-p", small_project, "code", "sheet", "-o", sheet, "--coder", "alice")
    wb = load_workbook(sheet)
    ws = wb["Coding"]
    first = [c.value for c in ws[2]]
    first[6] = "a"
    first[7] = "first memo"
    ws.delete_rows(2)
    ws.insert_rows(2, 1)
    for col, value in enumerate(first, start=1):
        ws.cell(row=2, column=col, value=value)
    ws.append(first[:7] + ["second memo"])
    ws.append(first[:6] + ["a; a", ""])
    wb.save(sheet)
    report = run_json(runner, "-p", small_project, "code", "import", sheet, "--coder", "alice")
    assert report["codings"] == 1
    assert report["duplicates"] == 2
    table = run(runner, "-p", small_project, "code", "import", sheet, "--coder", "alice").output
    assert "2 duplicate(s) of a code on the same segment merged" in table
    project = Project.open(small_project)
    try:
        [coding] = project.codings("alice")
    finally:
        project.close()
    assert coding.code == "a" and coding.note == "first memo / second memo"

def test_frequency_units_count_distinct_codings() -> None:
    doc = Document("D1", "C1", "x" * 100, "0")
    one = Coding("A", "k", "D1", "C1", 0, 10)
    other = Coding("A", "k", "D1", "C1", 20, 30)
    codings = {"A": [one, one, one, other], "B": [one, other]}
    [units] = build_units("frequency", ["A", "B"], codings, codes=["k"], documents=[doc], segments=[])
    a, b = units.ratings[0]
    assert a == b != 0  # the same rating (two passages each): A repeated one coding, it is not four passages
