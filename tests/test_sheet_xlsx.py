"""The coding sheet's xlsx package (issue 8): qda writes it directly (openpyxl was too slow for
a million cells), so it is checked against the sheet openpyxl wrote before, cell by cell, and
against LibreOffice, which must print it and whose re-saved copy must import the same."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from qda.codebook import load_codebook
from qda.coding.sheets import SHEET_COLUMNS, read_rows, write_sheet
from qda.models import Codebook, Coding, Segment

from conftest import CODEBOOK, run, run_json

LIBREOFFICE = pytest.mark.skipif(shutil.which("soffice") is None and not os.environ.get("CI"),
                                 reason="LibreOffice (soffice) is not installed; CI installs it")

TEXTS = ["Bonjour, ça va ?", "=2+3", "+33 1 23 45 67 89", "-moins", "@SUM(A1)", "a & b < c > d \"e\" 'f'",
         "  espaces autour  ", "ligne un\nligne deux", "Québec, ‘guillemets’ — et 漢字 🙂", "_x000D_ littéral",
         "x" * 3000]


def _segments() -> list[Segment]:
    segments = []
    for i, text in enumerate(TEXTS, start=1):
        doc = "E1" if i <= 6 else "E 2&3"
        segments.append(Segment(ref=f"{doc}#{i}", document=doc, case=f"C{doc[-1]}", turn=i // 2 + 1, ordinal=i,
                                start=i * 10, end=i * 10 + 5, text=text, speaker="Intervieweur" if i % 2 else "R",
                                role=None))
    return segments


def _codings(segments: Sequence[Segment]) -> list[Coding]:
    a, b, c = segments[1], segments[4], segments[7]
    return [Coding("ana", "b", a.document, a.case, a.start, a.end, a.ref, note="=memo"),
            Coding("ana", "a", a.document, a.case, a.start, a.end, a.ref),
            Coding("ana", "c", b.document, b.case, b.start, b.end, b.ref, note="vu & <revu>"),
            Coding("ana", "c", c.document, c.case, c.start, c.end, c.ref, source="auto", note="not a sheet memo"),
            Coding("ana", "d", c.document, c.case, c.start, c.end, c.ref, status="negated")]


def _reference(path: Path, segments: Sequence[Segment], codebook: Codebook, coder: str,
               existing: Sequence[Coding]) -> None:
    """The sheet as qda wrote it with openpyxl before (qda 0.1's write_sheet, unchanged)."""
    from collections import defaultdict

    from qda.files import inert_row

    applied: dict[str, list[str]] = defaultdict(list)
    memos: dict[str, list[str]] = defaultdict(list)
    order = {cid: i for i, cid in enumerate(codebook.code_ids())}
    for c in existing:
        if not c.segment or c.status != "ok":
            continue
        if c.code not in applied[c.segment]:
            applied[c.segment].append(c.code)
        if c.note and c.source == "sheet" and c.note not in memos[c.segment]:
            memos[c.segment].append(c.note)
    lang = codebook.default_language
    legend_rows = [[code.id, code.label(lang), codebook.category_label(code.category, lang) if code.category else "",
                    code.definition, code.include, code.exclude] for code in codebook.codes if code.codable]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Coding")
    legend = wb.create_sheet("Codes")
    fill = PatternFill("solid", fgColor="DDE4EE")

    def header(sheet: object, names: Sequence[str]) -> list[WriteOnlyCell]:
        cells = []
        for name in names:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = Font(bold=True)
            cell.fill = fill
            cells.append(cell)
        return cells

    for col, width in {"A": 8, "B": 12, "C": 10, "D": 6, "E": 16, "F": 90, "G": 16, "H": 30}.items():
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:H{len(segments) + 1}"
    validation = DataValidation(type="list", formula1=f"=Codes!$A$2:$A${len(legend_rows) + 1}", allow_blank=True,
                                showErrorMessage=False)
    validation.promptTitle = "Codes"
    validation.prompt = "Pick a code, or type several ids separated by ';'"
    validation.showInputMessage = True
    ws.data_validations.append(validation)
    validation.add(f"G2:G{len(segments) + 1}")
    ws.sheet_properties.tabColor = "1F4E79"
    ws.append(header(ws, SHEET_COLUMNS))
    wrap = WriteOnlyCell(ws)
    wrap.alignment = Alignment(wrap_text=True, vertical="top")
    for seg in segments:
        wrap.value = seg.text
        if seg.text.startswith("="):
            wrap.data_type = "s"
        codes = "; ".join(sorted(applied.get(seg.ref, []), key=lambda k: order.get(k, 0)))
        ws.append(inert_row(ws, [seg.case, seg.document, seg.ref, seg.turn, seg.speaker or "", wrap, codes,
                                 " / ".join(memos.get(seg.ref, []))]))
    for col, width in {"A": 8, "B": 45, "C": 25, "D": 60, "E": 40, "F": 40}.items():
        legend.column_dimensions[col].width = width
    legend.freeze_panes = "A2"
    legend.append(header(legend, ["code", "label", "category", "definition", "include", "exclude"]))
    for row in legend_rows:
        legend.append(inert_row(legend, row))
    wb.properties.creator = f"qda (coder: {coder})"
    wb.save(path)


def _look(cell: object) -> tuple[object, ...]:
    """What a cell shows: value, type, bold, fill colour, wrapping and vertical alignment.
    (openpyxl wrote empty text as an empty inline string, qda writes no cell: both read as None.)"""
    fill = cell.fill  # type: ignore[attr-defined]
    kind = cell.data_type if cell.value is not None else None  # type: ignore[attr-defined]
    return (cell.value, kind, bool(cell.font.b), fill.fill_type,  # type: ignore[attr-defined]
            fill.fgColor.rgb if fill.fill_type else None, bool(cell.alignment.wrap_text),  # type: ignore[attr-defined]
            cell.alignment.vertical)  # type: ignore[attr-defined]


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, Path]:
    """(qda's sheet, openpyxl's reference) for the same segments, codebook and codings."""
    codebook = load_codebook(CODEBOOK)
    segments = _segments()
    ours, reference = tmp_path / "ours.xlsx", tmp_path / "reference.xlsx"
    assert write_sheet(ours, segments, codebook, coder="ana", existing=_codings(segments),
                       lang=codebook.default_language) == len(TEXTS)
    _reference(reference, segments, codebook, "ana", _codings(segments))
    return ours, reference


def test_sheet_is_the_one_openpyxl_wrote(written: tuple[Path, Path]) -> None:
    ours, reference = (load_workbook(p) for p in written)
    assert ours.sheetnames == reference.sheetnames == ["Coding", "Codes"]
    assert ours.properties.creator == reference.properties.creator == "qda (coder: ana)"
    for name in ours.sheetnames:
        mine, theirs = ours[name], reference[name]
        assert (mine.max_row, mine.max_column) == (theirs.max_row, theirs.max_column)
        for row_mine, row_theirs in zip(mine.iter_rows(), theirs.iter_rows(), strict=True):
            for a, b in zip(row_mine, row_theirs, strict=True):
                assert _look(a) == _look(b), (name, a.coordinate)
        assert mine.freeze_panes == theirs.freeze_panes == "A2"
        assert mine.auto_filter.ref == theirs.auto_filter.ref
        assert mine.sheet_properties.tabColor == theirs.sheet_properties.tabColor
        for col in "ABCDEFGH":
            assert mine.column_dimensions[col].width == theirs.column_dimensions[col].width, (name, col)
        mine_dv, theirs_dv = mine.data_validations.dataValidation, theirs.data_validations.dataValidation
        assert [(str(v.sqref), v.type, v.formula1, v.allow_blank, v.showErrorMessage, v.showInputMessage,
                 v.promptTitle, v.prompt, v.error) for v in mine_dv] == \
               [(str(v.sqref), v.type, v.formula1, v.allow_blank, v.showErrorMessage, v.showInputMessage,
                 v.promptTitle, v.prompt, v.error) for v in theirs_dv]
    coding = ours["Coding"]
    assert coding.auto_filter.ref == f"A1:H{len(TEXTS) + 1}"
    assert coding.data_validations.dataValidation[0].formula1 == "=Codes!$A$2:$A$26"
    assert coding["G3"].value == "a; b" and coding["H3"].value == "=memo"  # codes in codebook order, memo inert
    # an auto coding is offered, not its note; a negated coding is not offered
    assert (coding["G9"].value, coding["H9"].value) == ("c", None)
    assert coding["F2"].alignment.wrap_text and coding["A1"].font.b


def test_sheet_has_no_formula_and_reads_back_with_qda(written: tuple[Path, Path]) -> None:
    ours, reference = written
    with zipfile.ZipFile(ours) as archive:
        assert not any(b"<f>" in archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/"))
    assert [(r.number, r.values) for r in read_rows(ours)] == [(r.number, r.values) for r in read_rows(reference)]


def test_control_characters_are_dropped_not_fatal(tmp_path: Path) -> None:
    codebook = load_codebook(CODEBOOK)
    seg = _segments()[0]
    memo = Coding("ana", "a", seg.document, seg.case, seg.start, seg.end, seg.ref, note="bip\x07 \x1b[0m fin\ufffe")
    out = tmp_path / "ctl.xlsx"
    write_sheet(out, [seg], codebook, coder="ana", existing=[memo])
    assert load_workbook(out)["Coding"]["H2"].value == "bip [0m fin"


def _libreoffice(source: Path, target: str, tmp_path: Path) -> Path:
    out = tmp_path / "lo"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    target, "--outdir", str(out), str(source)], check=True, capture_output=True, timeout=180)
    return out / f"{source.stem}.{target.split(':')[0]}"


@LIBREOFFICE
def test_libreoffice_prints_the_sheet(written: tuple[Path, Path], tmp_path: Path) -> None:
    pdf = _libreoffice(written[0], "pdf", tmp_path)
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    for expected in ("segment", "Bonjour, ça va ?", "=2+3", "@SUM(A1)", "a & b < c > d"):
        assert expected in text


@LIBREOFFICE
def test_sheet_resaved_by_libreoffice_imports_the_same(runner, small_project: Path, tmp_path: Path) -> None:
    """LibreOffice (like Excel) saves shared strings and its own styles; the import reads it the same."""
    sheet = tmp_path / "ana.xlsx"
    run(runner, "-p", small_project, "code", "sheet", "--coder", "ana", "-o", sheet)
    wb = load_workbook(sheet)
    ws = wb["Coding"]
    for row in range(2, ws.max_row + 1, 3):
        ws.cell(row, 7).value = "a; h" if row % 2 else "Foires commerciales"
        ws.cell(row, 8).value = f"memo {row} & <b>" if row % 4 == 0 else None
    wb.save(sheet)
    resaved = _libreoffice(sheet, "xlsx:Calc MS Excel 2007 XML", tmp_path)
    with zipfile.ZipFile(resaved) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()  # not the form qda writes
    assert [(r.number, r.values) for r in read_rows(resaved)] == [(r.number, r.values) for r in read_rows(sheet)]
    first = run_json(runner, "-p", small_project, "code", "import", sheet, "--coder", "ana")
    again = run_json(runner, "-p", small_project, "code", "import", resaved, "--coder", "ana")
    # the same codings read from LibreOffice's file: every one kept as it is, none replaced
    assert first["codings"] == again["codings"] > 0 and again["replaced"] == 0


def _rewrite_sheet(source: Path, target: Path, change: object) -> None:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item,
                          change(data) if item.filename == "xl/worksheets/sheet1.xml" else data)  # type: ignore[operator]


def test_unusual_sheet_xml_reads_the_same(written: tuple[Path, Path], tmp_path: Path) -> None:
    """XML the fast reader does not expect (a prefixed namespace, the cell reference last,
    a comment) is read by the XML parser: same rows, formulas still found."""
    import re

    ours = written[0]
    expected = [(r.number, r.values) for r in read_rows(ours)]
    prefixed, reordered, commented = (tmp_path / f"{n}.xlsx" for n in ("prefixed", "reordered", "commented"))
    main = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    _rewrite_sheet(ours, prefixed, lambda d: re.sub(rb"<(/?)(?=[a-zA-Z])", rb"<\1x:", d.replace(main, main.replace(
        b"xmlns=", b"xmlns:x="))).replace(b"<x:?xml", b"<?xml"))
    _rewrite_sheet(ours, reordered, lambda d: re.sub(rb'<c r="([A-Z]+[0-9]+)"([^>]*?)(/?)>', rb'<c\2 r="\1"\3>', d))
    _rewrite_sheet(ours, commented, lambda d: d.replace(b"<sheetData>", b"<sheetData><!-- edited -->"))
    for path in (prefixed, reordered, commented):
        assert [(r.number, r.values) for r in read_rows(path)] == expected, path.name
    # a codes cell holding a formula never computed is an error, whichever reader reads it
    from qda.errors import CodingImportError

    def formula(d: bytes) -> bytes:
        return re.sub(rb'<c r="G3"[^>]*>.*?</c>', b'<c r="G3"><f>1+1</f><v></v></c>', d, count=1)

    fast, slow = tmp_path / "formula.xlsx", tmp_path / "formula-reordered.xlsx"
    _rewrite_sheet(ours, fast, formula)
    _rewrite_sheet(ours, slow, lambda d: re.sub(rb'<c r="([A-Z]+[0-9]+)"([^>]*?)(/?)>', rb'<c\2 r="\1"\3>',
                                                formula(d)))
    for path in (fast, slow):
        with pytest.raises(CodingImportError) as caught:
            read_rows(path)
        assert [p.message for p in caught.value.problems] == [
            "the codes cell holds a formula (=1+1) that was never computed"], path.name
