"""Importing a coding sheet: every mistake a coder can make is reported with its row, all at
once, and nothing is stored; the segment index is read once per import."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from openpyxl import load_workbook

from qda import Project

from conftest import run, run_json, snapshot


def test_every_row_problem_is_reported(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "ana.xlsx"
    run(runner, "-p", small_project, "code", "sheet", "--coder", "ana", "-o", sheet)
    ws = load_workbook(sheet)["Coding"]
    rows = {ws.cell(r, 3).value: r for r in range(2, ws.max_row + 1)}
    ws.cell(rows["A1#3"], 7).value = "h"  # fine
    ws.cell(rows["A1#4"], 6).value = "Une autre phrase."  # no code, but another transcript's text
    ws.cell(rows["A1#5"], 3).value = "A1#99"  # no code, unknown segment
    ws.cell(rows["A1#6"], 3).value = None
    ws.cell(rows["A1#6"], 7).value = "h"  # codes without a segment
    ws.cell(rows["A1#7"], 7).value = "zz"
    ws.cell(rows["A1#8"], 6).value = "  " + ws.cell(rows["A1#8"], 6).value.upper() + "  "  # case and spaces: same
    ws.parent.save(sheet)
    before = snapshot(small_project)
    out = run(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana", code=1).output
    assert "4 problem(s); nothing was imported for coder 'ana'" in " ".join(out.split())
    for row, message in ((rows["A1#4"], "the text of segment A1#4 differs from the project's transcript"),
                         (rows["A1#5"], "unknown segment 'A1#99'"),
                         (rows["A1#6"], "codes given but the segment id is empty"),
                         (rows["A1#7"], "unknown code 'zz'")):
        assert f"ana.xlsx row {row}: {message}" in " ".join(out.split()), message
    assert snapshot(small_project) == before


def test_repeated_rows_merge_their_memos(runner, small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "ana.csv"
    sheet.write_text("segment,codes,memo\nA1#3,h,premier\nA1#3,h; b,second\nA1#3,h,premier\n,,\nA1#4,,\n",
                     encoding="utf-8")
    result = run_json(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana")
    assert (result["codings"], result["duplicates"], result["rows"]) == (2, 2, 4)
    with Project.open(small_project) as project:
        assert sorted((c.segment, c.code, c.note) for c in project.codings("ana")) == [
            ("A1#3", "b", "second"), ("A1#3", "h", "premier / second")]


def test_segment_index_held_only_while_nothing_else_writes(small_project: Path) -> None:
    with Project.open(small_project) as project:
        store = project._store
        assert store.segment_index() is not store.segment_index()  # not held: read each time
        with store.holding_segments():
            held = store.segment_index()
            assert store.segment_index() is held
            other = sqlite3.connect(small_project / "project.qda")
            other.execute("UPDATE segments SET start=start+1 WHERE id=(SELECT MIN(id) FROM segments)")
            other.commit()
            other.close()
            again = store.segment_index()
            first = min(held.values())
            assert again[first[4]] == (first[0], first[1], first[2] + 1, *first[3:])
            assert store.segment_index() is again
        assert store.segment_index() is not again
