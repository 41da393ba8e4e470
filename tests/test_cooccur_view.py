"""``qda matrix cooccur`` readable in a 100-column terminal, with 100 codes.

The fixture: 100 codes (k00-k99) over 30 cases; case i uses code k when k % 10 == i % 10
or k // 10 == i % 10, so codes share cases in a known pattern. The expected Jaccard of
every pair is computed here from those sets, independently of qda's analysis.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qda.analysis import cooccurrence
from qda.cli import grid
from qda.models import Case, Code, Codebook, Coding, Segment

from conftest import run

CODES = [f"k{i:02d}" for i in range(100)]
CASES = [f"C{i:02d}" for i in range(30)]
WIDTH = 100


def _uses(case: int) -> list[str]:
    return [k for i, k in enumerate(CODES) if i % 10 == case % 10 or i // 10 == case % 10]


@pytest.fixture(scope="module")
def result():
    codebook = Codebook(name="hundred", languages=("en",), codes=tuple(Code(k, {"en": f"Code {k}"}) for k in CODES))
    cases, segments, codings = [], [], []
    for i, name in enumerate(CASES):
        cases.append(Case(name, {"half": "first" if i < 15 else "second"}))
        segments.append(Segment(f"{name}#1", name, name, turn=0, ordinal=1, start=0, end=10, text="x" * 10))
        codings += [Coding("ann", k, name, name, 0, 10, segment=f"{name}#1", text="x" * 10) for k in _uses(i)]
    return cooccurrence(codebook, cases, segments, codings=codings, coder="ann", level="case", by="half")


def _expected(a: str, b: str) -> str:
    with_a = {c for c in range(len(CASES)) if a in _uses(c)}
    with_b = {c for c in range(len(CASES)) if b in _uses(c)}
    if a == b:
        return grid.SELF
    both = len(with_a & with_b)
    if both == 0:
        return grid.NEVER
    j = both / len(with_a | with_b)
    return "1" if j == 1 else f"{j:.2f}".lstrip("0")


def test_100_codes_fit_100_columns_and_read_back_exactly(result) -> None:
    lines = grid.grid_lines(result.tables[0], "jaccard", "case", WIDTH)
    assert max(len(line) for line in lines) <= WIDTH
    assert not any("…" in line for line in lines)
    read: dict[tuple[str, str], str] = {}
    header: list[str] = []
    blocks = 0
    for line in lines:
        if line.startswith("all:"):
            blocks += 1
            continue
        if not line.strip():
            continue
        fields = line.split()
        if line.startswith(" "):  # a header: the block's codes
            header = fields
            continue
        row, cells = line[:3], line[3:]
        # fixed columns: each cell right-aligned in a 3-character field after one space
        values = [cells[4 * i:4 * i + 4].strip() for i in range(len(header))]
        for column, value in zip(header, values):
            read[(row, column)] = value
    assert blocks == 5  # 24 columns of 4 characters fit beside the 3-character row labels: 24+24+24+24+4
    assert len(read) == 100 * 100
    wrong = [(a, b, read[(a, b)], _expected(a, b)) for a in CODES for b in CODES if read[(a, b)] != _expected(a, b)]
    assert not wrong, wrong[:5]


def test_notes_are_one_line_with_a_count(result) -> None:
    noted = sum(1 for t in result.tables for p in t.pairs if p.warning and p.n_ab)
    lines = grid.all_lines(result, "jaccard", WIDTH)
    notes = [line for line in lines if line.startswith("read with care")]
    if noted:
        assert len(notes) == 1 and f"{noted} pair" in notes[0] and len(notes[0]) <= WIDTH
    else:
        assert notes == []
    assert any(line.startswith("cells: jaccard") for line in lines)  # the legend, once
    assert sum(line.startswith("cells:") for line in lines) == 1


def test_counts_grid_keeps_the_frequencies_on_the_diagonal(result) -> None:
    lines = grid.grid_lines(result.tables[0], "n_ab", "case", WIDTH)
    row = next(line for line in lines if line.startswith("k00"))
    first = row[3:].split()
    # k00 is used by cases with i % 10 == 0: 3 of 30; with k01 (i % 10 == 1 or 0): the same 3 cases
    assert first[0] == "3" and first[1] == "3"


def test_cli_prints_the_grid_in_blocks_with_legend_and_one_notes_line(runner, study_project: Path) -> None:
    result = runner.invoke(__import__("qda.cli", fromlist=["app"]).app,
                           ["-p", str(study_project), "matrix", "cooccur", "--coder", "consensus", "--by", "group"],
                           env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert "0.…" not in result.output and "0…" not in result.output
    assert sum(line.startswith("read with care") for line in lines) == 1
    assert any(line.startswith("all: jaccard at the case level (10 units), codes a–") for line in lines)
    # every code of the study is a column somewhere in the blocks of the 'all' table
    headers = {c for line in lines if line.startswith(" ") for c in line.split()}
    assert {chr(c) for c in range(ord("a"), ord("y") + 1)} <= headers
    run(runner, "-p", study_project, "matrix", "cooccur", "--coder", "consensus", "--format", "csv")
