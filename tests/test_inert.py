"""Outputs are inert (issue 11): text starting with = + - @ is written as text, never as
a formula, in every xlsx qda writes; re-importing an untouched sheet changes nothing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from qda.errors import CodingImportError
from qda.ingest import read_table

from conftest import run, run_json

CODEBOOK = """name: Hostile
languages: [fr]
attributes:
  - name: mode
    values: ["=a", "b"]
codes:
  - id: "=2+3"
    label: "=SUM(1,2)"
    attributes: {mode: "=a"}
  - id: "@x"
    label: "-minus"
    attributes: {mode: b}
  - id: plain
    label: "<script>alert(1)</script>"
    attributes: {mode: b}
"""

TRANSCRIPT = """Entretien Z1

Intervieweur : Question ?

Répondant : =2+3

Répondant : +33 1 23 45 67 89

Répondant : -moins

Répondant : @SUM(A1)

Répondant : <script>alert('x')</script> ordinaire.
"""


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    cb = tmp_path / "cb.yaml"
    cb.write_text(CODEBOOK, encoding="utf-8")
    z1 = tmp_path / "Z1.txt"
    z1.write_text(TRANSCRIPT, encoding="utf-8")
    from typer.testing import CliRunner
    cli = CliRunner()
    run(cli, "init", folder)
    run(cli, "codebook", "validate", cb)  # a code id '=2+3' is accepted
    run(cli, "-p", folder, "codebook", "load", cb)
    run(cli, "-p", folder, "import", "transcripts", z1)
    cases = tmp_path / "cases.csv"
    cases.write_text("case,group\nZ1,=cmd\n", encoding="utf-8")
    run(cli, "-p", folder, "import", "cases", cases)
    return folder


def _formulas(path: Path) -> list[str]:
    """Every cell of every sheet stored as a formula (<f>) in the xlsx."""
    with zipfile.ZipFile(path) as archive:
        return [name for name in archive.namelist()
                if name.startswith("xl/worksheets/") and b"<f>" in archive.read(name)]


def _fill_codes(sheet: Path, codes: dict[str, str], memo: dict[str, str]) -> None:
    wb = load_workbook(sheet)
    ws = wb["Coding"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        text = row[header.index("text")].value
        if text in codes:
            row[header.index("codes")].value = codes[text]
            row[header.index("codes")].data_type = "s"
        if text in memo:
            row[header.index("memo")].value = memo[text]
    wb.save(sheet)


def test_sheet_round_trip_keeps_formula_like_text(runner, hostile: Path, tmp_path: Path) -> None:
    # Before: '=2+3' written as a live formula; re-importing lost codings (32 -> 26).
    sheet = tmp_path / "alice.xlsx"
    run(runner, "-p", hostile, "code", "sheet", "-o", sheet, "--coder", "alice")
    assert _formulas(sheet) == []
    rows = read_table(sheet)
    texts = [r[5] for r in rows[1:]]
    assert "=2+3" in texts and "@SUM(A1)" in texts and "-moins" in texts
    legend = read_table(sheet, sheet="Codes")
    assert ["=2+3", "=SUM(1,2)"] == list(legend[1][:2])
    _fill_codes(sheet, {"=2+3": "=2+3; @x", "@SUM(A1)": "=2+3", "-moins": "plain"}, {"=2+3": "@SUM(A1)"})
    first = run_json(runner, "-p", hostile, "code", "import", sheet, "--coder", "alice")
    assert first["codings"] == 4
    # written again from the project (codes and memo filled in by qda), re-imported untouched
    again = tmp_path / "again.xlsx"
    run(runner, "-p", hostile, "code", "sheet", "-o", again, "--coder", "alice")
    assert _formulas(again) == []
    by_text = {r[5]: (r[6], r[7]) for r in read_table(again)[1:]}
    assert by_text["=2+3"] == ("=2+3; @x", "@SUM(A1)")
    second = run_json(runner, "-p", hostile, "code", "import", again, "--coder", "alice")
    assert second["codings"] == first["codings"] == 4


def test_codes_given_as_uncomputed_formula_is_an_error_with_the_row(runner, hostile: Path,
                                                                    tmp_path: Path) -> None:
    # Before: a codes cell '=2+3' typed as a formula (no cached value) was dropped, exit 0.
    sheet = tmp_path / "bob.xlsx"
    run(runner, "-p", hostile, "code", "sheet", "-o", sheet, "--coder", "bob")
    wb = load_workbook(sheet)
    ws = wb["Coding"]
    ws["G3"] = "=2+3"  # openpyxl stores a formula without a cached value
    wb.save(sheet)
    result = run(runner, "-p", hostile, "code", "import", sheet, "--coder", "bob", code=1)
    assert "bob.xlsx row 3" in result.output and "formula" in result.output
    with pytest.raises(CodingImportError):
        from qda.coding.sheets import read_rows
        read_rows(sheet)


def test_adjudication_sheet_is_inert(runner, hostile: Path, tmp_path: Path) -> None:
    for coder, codes in (("a1", "=2+3"), ("b1", "@x")):
        sheet = tmp_path / f"{coder}.xlsx"
        run(runner, "-p", hostile, "code", "sheet", "-o", sheet, "--coder", coder)
        _fill_codes(sheet, {"=2+3": codes, "@SUM(A1)": codes}, {})
        run(runner, "-p", hostile, "code", "import", sheet, "--coder", coder)
    adj = tmp_path / "adj.xlsx"
    run(runner, "-p", hostile, "code", "adjudication-sheet", "a1", "b1", "-o", adj)
    assert _formulas(adj) == []
    rows = read_table(adj, sheet="Adjudication")
    text, codes_a = rows[0].index("text"), rows[0].index("A: a1")
    assert any(r[text] == "=2+3" for r in rows[1:])
    assert any(str(r[codes_a]).startswith("=2+3") for r in rows[1:])


def test_workbook_and_retrieval_exports_are_inert_and_html_escaped(runner, hostile: Path,
                                                                    tmp_path: Path) -> None:
    sheet = tmp_path / "alice.xlsx"
    run(runner, "-p", hostile, "code", "sheet", "-o", sheet, "--coder", "alice")
    _fill_codes(sheet, {"=2+3": "=2+3", "<script>alert('x')</script> ordinaire.": "plain"}, {"=2+3": "@SUM(A1)"})
    run(runner, "-p", hostile, "code", "import", sheet, "--coder", "alice")
    book = tmp_path / "synthesis.xlsx"
    run(runner, "-p", hostile, "export", "workbook", book, "--coder", "alice", "--by", "group")
    assert _formulas(book) == []
    html = tmp_path / "report.html"
    run(runner, "-p", hostile, "report", "--coder", "alice", "--by", "group", "-o", html)
    page = html.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    for suffix in ("xlsx", "html"):
        out = tmp_path / f"retrieval.{suffix}"
        run(runner, "-p", hostile, "retrieve", "--coder", "alice", "-o", out)
        if suffix == "xlsx":
            assert _formulas(out) == []
            assert "=2+3" in [c for r in read_table(out) for c in r]
        else:
            assert "<script>alert" not in out.read_text(encoding="utf-8")


def test_csv_safe_neutralises_leading_formula_characters(runner, hostile: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "alice.xlsx"
    run(runner, "-p", hostile, "code", "sheet", "-o", sheet, "--coder", "alice")
    _fill_codes(sheet, {"=2+3": "=2+3", "@SUM(A1)": "@x"}, {})
    run(runner, "-p", hostile, "code", "import", sheet, "--coder", "alice")
    plain = run(runner, "-p", hostile, "retrieve", "--coder", "alice", "--format", "csv").stdout
    assert "\n=2+3" in plain or ",=2+3" in plain
    safe = run(runner, "-p", hostile, "--csv-safe", "retrieve", "--coder", "alice", "--format", "csv").stdout
    assert ",=2+3" not in safe and "'=2+3" in safe and "'@x" in safe
    out = tmp_path / "retrieval.csv"
    run(runner, "-p", hostile, "--csv-safe", "retrieve", "--coder", "alice", "-o", out)
    assert "'=2+3" in out.read_text(encoding="utf-8-sig")
