"""Large tables are printed as plain aligned text (qda/cli/plain.py) with rich's content.

rich is given a console wide enough that it wraps and crops nothing, and no box: each
printed line then holds the same words as the plain table's line.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.table import Table

import qda.cli.analysis
import qda.cli.output
from qda.cli import cell_text
from qda.cli.plain import LARGE_TABLE, plain_table
from qda.project import Project
from qda.results import Column, Row, Share, TableView
from tests.conftest import run


def _rich_lines(view: TableView) -> list[list[str]]:
    console = Console(file=io.StringIO(), width=100_000, highlight=False)
    table = Table(title=view.title, box=None, show_edge=False)
    for column in view.columns:
        table.add_column(column.name, justify="right" if column.numeric else "left")
    for row in view.rows:
        table.add_row(*(cell_text(c) for c in row.cells))
    console.print(table)
    return [line.split() for line in console.file.getvalue().splitlines() if line.strip()]


def _plain_lines(view: TableView) -> list[list[str]]:
    text = plain_table(view.title, [(c.name, c.numeric) for c in view.columns],
                       ([cell_text(c, markup=False) for c in row.cells] for row in view.rows),
                       [row.section_end for row in view.rows])
    return [line.split() for line in text.splitlines() if line.strip() and set(line.strip()) - {"─", " "}]


def test_plain_table_holds_what_rich_prints() -> None:
    rows = tuple(Row((f"T{i:04d}#{i % 7}", i, i / 7, Share(i, 0.25) if i % 3 else None,
                      f"[bold]not markup[/bold] quote {i}\nsecond line {i}" if i % 5 == 0 else f"a [x] {i}"),
                     section_end=i % 50 == 0)
                 for i in range(LARGE_TABLE + 5))
    view = TableView("Passages", (Column("segment"), Column("n", numeric=True), Column("share", numeric=True),
                                  Column("count"), Column("text")), rows)
    plain = _plain_lines(view)
    assert plain == _rich_lines(view)
    assert plain[2] == ["T0000#0", "0", "0", "[bold]not", "markup[/bold]", "quote", "0"]  # text, never markup


def test_a_column_wider_than_the_limit_wraps_in_place() -> None:
    long = "mot " * 40
    text = plain_table(None, [("a", False), ("b", False)], [[long.strip(), "end"]])
    lines = text.splitlines()
    assert len(lines) > 3 and lines[2].endswith("end")
    assert " ".join(w for line in lines[2:] for w in line.split() if w != "end") == long.strip()


def test_large_outputs_print_plain_with_every_cell(runner, study_project: Path, monkeypatch) -> None:
    """Above the threshold (lowered here for the example study), retrieve and search print
    every cell of the table rich would have drawn, one row per line."""
    with Project.open(study_project) as project:
        view = project.retrieve(coders=["coder-a"]).to_table()
        hits = project.search("clients").hits
    assert len(view.rows) > 20 and len(hits) > 20
    monkeypatch.setattr(qda.cli.output, "LARGE_TABLE", 10)
    monkeypatch.setattr(qda.cli.analysis, "LARGE_TABLE", 10)
    lines = run(runner, "-p", study_project, "retrieve", "--coder", "coder-a").stdout.splitlines()
    assert "─" in lines[2] and "┃" not in "".join(lines) and "│" not in "".join(lines)
    at = 3
    for row in view.rows:
        words = " ".join(cell_text(c, markup=False) for c in row.cells).split()
        found = []
        while len(found) < len(words):
            found += lines[at].split()
            at += 1
        assert found == words
    out = run(runner, "-p", study_project, "search", "clients").stdout
    for h in hits:
        assert f"{h.left}  {h.match}  {h.right}".strip() in out
