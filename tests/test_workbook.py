"""The Excel synthesis workbook, read back cell by cell with openpyxl.

Synthetic study (all expected numbers below are worked out by hand from it):

* categories: ``act`` (root) and ``sub`` (nested under ``act``);
* codes: c1 (act, direct), c2 (act, indirect), c3 (sub, direct), c4 (sub, indirect),
  c5 (act, no mode -> the "(none)" row of the split);
  codebook.walk() order: act [c1, c2, c5], then sub [c3, c4];
* cases: E1, E2 size=large; E3, E4 size=small;
* codings (coder "consensus"):
  E1: c1 x2, c3, c5 | E2: c1, c2 | E3: c2, c4 x2 | E4: c3, c2.

Cases using each code (count="cases"):
          large  small  total
  c1        2      0      2
  c2        1      2      3
  c5        1      0      1
  act sub   4      2      6    -> 4/5 = 0.8, 2/4 = 0.5, 6/9 = 0.666...
  c3        1      1      2
  c4        0      1      1
  sub sub   1      2      3    -> 1/5 = 0.2, 2/4 = 0.5, 3/9 = 0.333...
  total     5      4      9
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart

from qda import matrix
from qda.errors import ExportError
from qda.export.workbook import SynthesisData, write_workbook
from qda.models import AttributeDef, Case, Category, Code, Codebook, Coding

SHEETS = ["Codebook", "Cases", "Meta-matrix", "Cross-case table", "Split by mode", "Intra-case", "Co-occurrence",
          "Quotes"]
CODER = "consensus"


def _codebook() -> Codebook:
    return Codebook(
        name="synthetic",
        languages=("fr", "en"),
        attributes=(AttributeDef("mode", ("direct", "indirect")),),
        categories=(
            Category("act", {"fr": "Actions", "en": "Actions"}),
            Category("sub", {"fr": "Sous-actions", "en": "Sub-actions"}, parent="act"),
        ),
        codes=(
            Code("c1", {"fr": "Affichage", "en": "Display"}, category="act", attributes={"mode": "direct"},
                 definition="Posters on site.", include="signs", exclude="web pages"),
            Code("c2", {"fr": "Bouche-à-oreille", "en": "Word of mouth"}, category="act",
                 attributes={"mode": "indirect"}),
            Code("c3", {"fr": "Salons", "en": "Trade fairs"}, category="sub", attributes={"mode": "direct"}),
            Code("c4", {"fr": "Presse", "en": "Press"}, category="sub", attributes={"mode": "indirect"}),
            Code("c5", {"fr": "Autre", "en": "Other"}, category="act"),
        ),
    )


def _cases() -> list[Case]:
    return [
        Case("E1", {"size": "large", "employees": "120", "siret": "007"}),
        Case("E2", {"size": "large", "employees": "80"}),
        Case("E3", {"size": "small", "employees": "12", "region": "Nord"}),
        Case("E4", {"size": "small", "employees": "9"}),
    ]


def _coding(case: str, code: str, n: int, text: str, speaker: str | None = "Répondant") -> Coding:
    return Coding(coder=CODER, code=code, document=case, case=case, start=10 * n, end=10 * n + 9,
                  segment=f"{case}#{n}", text=text, speaker=speaker)


def _codings() -> list[Coding]:
    return [
        _coding("E1", "c1", 1, "Nous mettons des affiches."),
        _coding("E1", "c1", 2, "Les affiches attirent du monde."),
        _coding("E1", "c3", 3, "On va aux salons."),
        _coding("E1", "c5", 4, "=autre chose", speaker=None),  # must stay text, not a formula
        _coding("E2", "c1", 1, "Une enseigne lumineuse."),
        _coding("E2", "c2", 2, "Le bouche-à-oreille marche."),
        _coding("E3", "c2", 1, "Les clients en parlent."),
        _coding("E3", "c4", 2, "Un article dans la presse."),
        _coding("E3", "c4", 3, "Un deuxième article."),
        _coding("E4", "c3", 1, "Un stand au salon."),
        _coding("E4", "c2", 2, "Recommandations."),
    ]


def _data(with_split: bool = True) -> SynthesisData:
    cb, cases, codings = _codebook(), _cases(), _codings()
    return SynthesisData(
        codebook=cb, cases=cases, coder=CODER, lang="fr",
        meta=matrix.meta_matrix(cb, cases, codings, by="size", coder=CODER),
        cross=matrix.cross_case(cb, cases, codings, by="size", coder=CODER, count="cases", lang="fr"),
        split=matrix.split(cb, cases, codings, code_attr="mode", by="size", coder=CODER) if with_split else None,
        intra=[matrix.intra_case(cb, codings, c.name, coder=CODER, lang="fr") for c in cases])


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("wb") / "synthesis.xlsx"
    assert write_workbook(path, _data()) == path
    return load_workbook(path)


def _row_of(ws, col: int, value: str) -> int:
    """The first row whose cell in ``col`` equals ``value``."""
    for row in range(1, ws.max_row + 1):
        if ws.cell(row=row, column=col).value == value:
            return row
    raise AssertionError(f"{value!r} not found in column {col} of {ws.title}")


def _values(ws, row: int, first: int, last: int) -> list:
    return [ws.cell(row=row, column=c).value for c in range(first, last + 1)]


def test_sheet_names_in_order(book) -> None:
    assert book.sheetnames == SHEETS


def test_no_leftover_temporary_file(tmp_path: Path) -> None:
    write_workbook(tmp_path / "out.xlsx", _data())
    assert os.listdir(tmp_path) == ["out.xlsx"]


# ----------------------------------------------------------------------------- Codebook

def test_codebook_sheet(book) -> None:
    ws = book["Codebook"]
    assert _values(ws, 1, 1, 9) == ["Code", "Label (fr)", "Label (en)", "Category path", "mode",
                                     "Definition", "Include", "Exclude", None]
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb.endswith("D9D9D9")
    assert ws.freeze_panes == "C2"
    # walk order: act heading, c1, c2, c5, sub heading, c3, c4
    assert [ws.cell(row=r, column=1).value for r in range(2, 9)] == ["act", "c1", "c2", "c5", "sub", "c3", "c4"]
    assert ws["B2"].value == "Actions" and ws["B2"].font.b and ws["B2"].alignment.indent == 0
    assert ws["B6"].value == "Sous-actions" and ws["B6"].font.b and ws["B6"].alignment.indent == 1
    assert ws["B2"].fill.fill_type == "solid"
    assert not ws["B3"].font.b
    assert _values(ws, 3, 1, 8) == ["c1", "Affichage", "Display", "Actions", "direct",
                                     "Posters on site.", "signs", "web pages"]
    assert _values(ws, 7, 1, 5) == ["c3", "Salons", "Trade fairs", "Actions > Sous-actions", "direct"]
    assert ws["E5"].value is None  # c5 has no mode
    assert ws.column_dimensions["B"].width == pytest.approx(45)


# ----------------------------------------------------------------------------- Cases

def test_cases_sheet(book) -> None:
    ws = book["Cases"]
    # union of the attributes in first-seen order
    assert _values(ws, 1, 1, 5) == ["Case", "size", "employees", "siret", "region"]
    assert ws["A1"].font.b and ws.freeze_panes == "B2"
    assert _values(ws, 2, 1, 5) == ["E1", "large", 120, "007", None]  # "007" keeps its zeros
    assert isinstance(ws["C2"].value, int)
    assert _values(ws, 4, 1, 5) == ["E3", "small", 12, None, "Nord"]


# ----------------------------------------------------------------------------- Meta-matrix

def test_meta_matrix_sheet(book) -> None:
    ws = book["Meta-matrix"]
    assert _values(ws, 2, 1, 7) == ["Case", "c1", "c2", "c3", "c4", "c5", "Total"]
    assert ws["B2"].font.b and "Affichage" in ws["B2"].comment.text
    assert ws["B3"].value == "Affichage"  # second header row of labels
    assert ws.freeze_panes == "B4"
    large = _row_of(ws, 1, "size: large (n=2)")
    assert ws.cell(row=large, column=1).font.b
    # E1 uses c1, c3, c5 -> 1 . 1 . 1, total 3
    e1 = _row_of(ws, 1, "E1")
    assert _values(ws, e1, 2, 7) == [1, None, 1, None, 1, 3]
    assert ws.cell(row=e1, column=2).alignment.horizontal == "center"
    # group totals: large c1 2, c2 1, c3 1, c4 0, c5 1 = 5; small 0 2 1 1 0 = 4
    assert _values(ws, _row_of(ws, 1, "Total large"), 2, 7) == [2, 1, 1, 0, 1, 5]
    assert _values(ws, _row_of(ws, 1, "Total small"), 2, 7) == [0, 2, 1, 1, 0, 4]
    assert _values(ws, _row_of(ws, 1, "Total (n=4)"), 2, 7) == [2, 3, 2, 1, 1, 9]


# ----------------------------------------------------------------------------- Cross-case table

def test_cross_case_layout(book) -> None:
    ws = book["Cross-case table"]
    assert ws["A1"].value == "Cross-case table: number of cases using each code, by size (coder: consensus)"
    assert _values(ws, 2, 1, 8) == ["Code", "Label", "large (n=2)", "%", "small (n=2)", "%", "Total (n=4)", "%"]
    assert all(ws.cell(row=2, column=c).font.b for c in range(1, 9))
    assert ws["A2"].fill.fill_type == "solid"
    assert ws.freeze_panes == "C3"
    # rows: act, c1, c2, c5, subtotal act, sub, c3, c4, subtotal sub, total
    assert [ws.cell(row=r, column=1).value for r in range(3, 13)] == [
        None, "c1", "c2", "c5", None, None, "c3", "c4", None, None]
    assert ws["B3"].value == "Actions" and ws["B3"].font.b and ws["B3"].fill.fill_type == "solid"
    assert ws["B8"].value == "Sous-actions" and ws["B8"].alignment.indent == 1


def test_cross_case_counts(book) -> None:
    ws = book["Cross-case table"]
    # code rows: counts only, percentage cells empty (see the module docstring)
    assert _values(ws, _row_of(ws, 1, "c1"), 2, 8) == ["Affichage", 2, None, 0, None, 2, None]
    assert _values(ws, _row_of(ws, 1, "c2"), 3, 8) == [1, None, 2, None, 3, None]
    assert _values(ws, _row_of(ws, 1, "c5"), 3, 8) == [1, None, 0, None, 1, None]
    assert _values(ws, _row_of(ws, 1, "c3"), 3, 8) == [1, None, 1, None, 2, None]
    assert _values(ws, _row_of(ws, 1, "c4"), 3, 8) == [0, None, 1, None, 1, None]
    assert isinstance(ws.cell(row=_row_of(ws, 1, "c1"), column=3).value, int)
    assert not ws.cell(row=_row_of(ws, 1, "c1"), column=2).font.b


def test_cross_case_subtotals_are_excel_percentages(book) -> None:
    ws = book["Cross-case table"]
    act = _row_of(ws, 2, "Subtotal: Actions")
    assert [ws.cell(row=act, column=c).value for c in (3, 5, 7)] == [4, 2, 6]
    shares = [ws.cell(row=act, column=c).value for c in (4, 6, 8)]
    assert shares == pytest.approx([4 / 5, 2 / 4, 6 / 9])  # 0.8, 0.5, 0.667
    assert all("%" in ws.cell(row=act, column=c).number_format for c in (4, 6, 8))
    assert ws.cell(row=act, column=2).font.b and ws.cell(row=act, column=2).font.i
    assert ws.cell(row=act, column=3).border.top.style == "thin"
    sub = _row_of(ws, 2, "Subtotal: Sous-actions")
    assert [ws.cell(row=sub, column=c).value for c in (3, 5, 7)] == [1, 2, 3]
    assert [ws.cell(row=sub, column=c).value for c in (4, 6, 8)] == pytest.approx([1 / 5, 2 / 4, 3 / 9])
    total = _row_of(ws, 2, "Total")
    assert _values(ws, total, 3, 8) == [5, 1.0, 4, 1.0, 9, 1.0]
    assert ws.cell(row=total, column=4).number_format == "0\"\u00a0\"%"  # "100 %", as the reports write it
    assert ws.cell(row=total, column=2).font.b and not ws.cell(row=total, column=2).font.i
    assert ws.cell(row=total, column=3).border.top.style == "double"


# ----------------------------------------------------------------------------- Split

def test_split_table(book) -> None:
    ws = book["Split by mode"]
    assert "'mode'" in ws["A1"].value and "size" in ws["A1"].value
    assert ws["B2"].value == "large (n=2)" and ws["E2"].value == "small (n=2)"
    assert _values(ws, 3, 1, 7) == ["mode", "Uses", "Share", "Variety", "Uses", "Share", "Variety"]
    assert ws["B3"].font.b and ws.freeze_panes == "B4"
    # direct = c1 + c3: large 2+1 = 3 uses (3/5), 2 codes; small 0+1 = 1 (1/4), 1 code
    assert _values(ws, 4, 1, 7) == ["direct", 3, pytest.approx(0.6), 2, 1, pytest.approx(0.25), 1]
    # indirect = c2 + c4: large 1+0 = 1 (1/5), 1 code; small 2+1 = 3 (3/4), 2 codes
    assert _values(ws, 5, 1, 7) == ["indirect", 1, pytest.approx(0.2), 1, 3, pytest.approx(0.75), 2]
    # (none) = c5: large 1 (1/5), 1 code; small 0 (0/4), no code
    assert _values(ws, 6, 1, 7) == ["(none)", 1, pytest.approx(0.2), 1, 0, 0, 0]
    assert _values(ws, 7, 1, 7) == ["Total", 5, 1.0, 4, 4, 1.0, 3]
    assert "%" in ws["C4"].number_format and "%" in ws["F6"].number_format
    assert ws["A7"].font.b


def test_split_code_list_and_chart(book) -> None:
    ws = book["Split by mode"]
    direct = _row_of(ws, 1, "direct")
    listing = _row_of(ws, 1, "c1 – Affichage")
    assert listing > direct
    assert ws.cell(row=listing, column=2).value == 2  # c1 used by E1 and E2 in large
    assert ws.cell(row=_row_of(ws, 1, "c4 – Presse"), column=2).value == 1  # c4: E3 only
    assert _row_of(ws, 1, "(no code used)")  # (none) x small
    charts = ws._charts
    assert len(charts) == 1 and isinstance(charts[0], BarChart)
    chart = charts[0]
    assert chart.type == "col" and chart.grouping == "clustered"
    assert len(chart.series) == 2  # one series per group


def test_split_none_writes_a_note(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "nosplit.xlsx", _data(with_split=False))
    wb = load_workbook(path)
    assert wb.sheetnames == [*SHEETS[:4], "Split", *SHEETS[5:]]
    ws = wb["Split"]
    assert ws["A1"].value.startswith("No split") and ws.max_row == 1


# ----------------------------------------------------------------------------- Intra-case

def test_intra_case_sheet(book) -> None:
    ws = book["Intra-case"]
    assert _values(ws, 2, 1, 4) == ["Code", "Label", "Segments", "Quote"]
    assert ws["D2"].font.b and ws.freeze_panes == "A3"
    head = _row_of(ws, 1, "E1 — size: large; employees: 120; siret: 007")
    assert ws.cell(row=head, column=1).font.b
    # c1 in E1: 2 segments, one row per quote
    assert _values(ws, head + 1, 1, 4) == ["c1", "Affichage", 2, "[E1#1, Répondant] Nous mettons des affiches."]
    assert _values(ws, head + 2, 1, 4) == [None, None, None, "[E1#2, Répondant] Les affiches attirent du monde."]
    assert ws.cell(row=head + 1, column=4).alignment.wrap_text
    assert _values(ws, head + 3, 1, 4) == ["c3", "Salons", 1, "[E1#3, Répondant] On va aux salons."]
    quote = ws.cell(row=head + 4, column=4)
    assert quote.value == "[E1#4] =autre chose" and quote.data_type == "s"
    assert _values(ws, head + 5, 1, 4) == [None] * 4  # blank row between cases
    assert ws.cell(row=head + 6, column=1).value.startswith("E2")
    assert ws.column_dimensions["D"].width == pytest.approx(90)
    quotes = [ws.cell(row=r, column=4).value for r in range(3, ws.max_row + 1)]
    assert "[E3#3, Répondant] Un deuxième article." in quotes


def test_formula_like_text_is_not_a_formula(tmp_path: Path) -> None:
    data = _data()
    data = SynthesisData(codebook=data.codebook, cases=[Case("E1", {"note": "=1+1"})], coder=CODER,
                         meta=data.meta, cross=data.cross, lang="fr", split=data.split, intra=data.intra)
    wb = load_workbook(write_workbook(tmp_path / "f.xlsx", data))
    assert wb["Cases"]["B2"].value == "=1+1" and wb["Cases"]["B2"].data_type == "s"


# ----------------------------------------------------------------------------- errors

def test_missing_folder_raises_export_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "synthesis.xlsx"
    with pytest.raises(ExportError) as err:
        write_workbook(target, _data())
    assert "synthesis.xlsx" in str(err.value) and "does not exist" in str(err.value)
    assert not target.parent.exists()


def test_folder_as_target_raises_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="folder"):
        write_workbook(tmp_path, _data())


def _as_unprivileged_user(work: Callable[[], None]) -> None:
    """Run ``work`` in a child process that cannot override file permissions.

    Root (as in CI) ignores a folder's mode bits, so there the child drops to the 'nobody'
    user before it runs; the test runs for real everywhere instead of skipping as root.
    """
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        status = 1
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            work()
            status = 0
        except BaseException:  # noqa: BLE001  (any failure is reported as exit status 1)
            import traceback

            traceback.print_exc()
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the check failed in the unprivileged child (see stderr)"


def test_read_only_folder_raises_export_error() -> None:
    import tempfile

    top = Path(tempfile.mkdtemp())
    try:
        top.chmod(0o755)  # the unprivileged child must reach the folder inside
        folder = top / "ro"
        folder.mkdir()
        folder.chmod(0o555)

        def check() -> None:
            with pytest.raises(ExportError, match="permission denied"):
                write_workbook(folder / "synthesis.xlsx", _data())
            assert os.listdir(folder) == []

        _as_unprivileged_user(check)
    finally:
        folder.chmod(0o755)
        shutil.rmtree(top)


def test_locked_file_raises_export_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file open in Excel on Windows cannot be replaced: PermissionError becomes an ExportError."""
    import qda.files as style  # where every output file is saved

    def locked(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(style.os, "replace", locked)
    with pytest.raises(ExportError, match="synthesis.xlsx: permission denied"):
        write_workbook(tmp_path / "synthesis.xlsx", _data())
    assert os.listdir(tmp_path) == []  # the temporary file is cleaned up
