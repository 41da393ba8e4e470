"""The synthesis workbook as it prints: row heights for wrapped text, one font family,
one page wide, the meta-matrix heatmap, the split sheet's name; converted to PDF by
LibreOffice when ``soffice`` is installed (always in CI: ``.ci/run`` installs it).

The data are synthetic, with long definitions and quotes so that cells wrap over
several lines; expected line counts are computed here from the text and the column
width, independently of the exporter's own estimate.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from qda import matrix
from qda.export.workbook import SynthesisData, write_workbook
from qda.models import AttributeDef, Case, Category, Code, Codebook, Coding

CODER = "consensus"
LINE = 15  # points per line of 11-point text
LONG = ("The firm describes at length how it reaches the candidates it wants, first through its own "
        "network and then through schools, fairs and the regional press; ")


def _data(code_attr: str = "reach") -> SynthesisData:
    codes = tuple(
        Code(f"c{i}", {"en": f"Channel number {i} with a label long enough to wrap in its column"},
             category="act" if i < 4 else "sub",
             attributes={"mode": "direct" if i % 2 else "indirect", "reach": "local" if i < 3 else "national"},
             definition=LONG * (1 + i % 3), include="signs\nposters\nbanners", exclude=LONG)
        for i in range(1, 7))
    cb = Codebook(name="print", languages=("en",),
                  attributes=(AttributeDef("mode", ("direct", "indirect")),
                              AttributeDef("reach", ("local", "national"))),
                  categories=(Category("act", {"en": "Actions of recruitment seen from the firm's side"}),
                              Category("sub", {"en": "Sub-actions"}, parent="act")),
                  codes=codes)
    cases = [Case(f"E{i}", {"group": "entry" if i < 4 else "post-entry", "size": str(10 * i)}) for i in range(1, 7)]
    codings = [Coding(coder=CODER, code=f"c{1 + (i + k) % 6}", document=c.name, case=c.name, start=100 * k,
                      end=100 * k + 90, segment=f"{c.name}#{k + 1}", text=LONG * (1 + k), speaker="R")
               for i, c in enumerate(cases) for k in range(3)]
    return SynthesisData(
        codebook=cb, cases=cases, coder=CODER, lang="en",
        meta=matrix.meta_matrix(cb, cases, codings, by="group", coder=CODER),
        cross=matrix.cross_case(cb, cases, codings, by="group", coder=CODER, count="cases", lang="en"),
        split=matrix.split(cb, cases, codings, code_attr=code_attr, by="group", coder=CODER),
        intra=[matrix.intra_case(cb, codings, c.name, coder=CODER, lang="en") for c in cases])


@pytest.fixture(scope="module")
def book_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_workbook(tmp_path_factory.mktemp("print") / "synthesis.xlsx", _data())


def _needed_lines(text: str, width: float, indent: int) -> int:
    """A lower bound on the printed lines: characters over the usable width, per paragraph.

    Measured on LibreOffice's PDF of this workbook (Carlito): a column holds at most
    1.25 characters of prose per unit of width (75 in a 60-wide column, 33 in a 30-wide).
    """
    usable = max(1.0, (width - 1 - 3 * indent) * 1.25)
    return sum(max(1, math.ceil(len(part) / usable)) for part in text.split("\n"))


def test_split_sheet_is_named_after_its_attribute(book_path: Path) -> None:
    names = load_workbook(book_path).sheetnames
    assert "Split by reach" in names and not any("irect" in n for n in names)
    path = write_workbook(book_path.with_name("mode.xlsx"), _data("mode"))
    assert "Split by mode" in load_workbook(path).sheetnames


def test_no_wrapped_row_is_shorter_than_its_text(book_path: Path) -> None:
    wb = load_workbook(book_path)
    checked = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                align = cell.alignment
                if not isinstance(cell.value, str) or not align.wrap_text or align.text_rotation:
                    continue
                if any(cell.coordinate in r for r in ws.merged_cells.ranges):
                    continue
                width = ws.column_dimensions[get_column_letter(cell.column)].width
                lines = _needed_lines(cell.value, width, int(align.indent or 0))
                height = ws.row_dimensions[cell.row].height or LINE
                assert height >= lines * LINE, (ws.title, cell.coordinate, lines, height)
                checked += lines > 1
    assert checked >= 20  # definitions, quotes and labels that really wrap


def _printed_width(ws) -> float:
    """Points the used columns take at 100 %: Excel's trunc(width x 7 + 5) px at 96 dpi."""
    return sum(int((ws.column_dimensions[get_column_letter(c)].width or 8.43) * 7 + 5) * 0.75
               for c in range(1, ws.max_column + 1))


def test_one_font_family_and_one_page_wide_only_when_that_keeps_8_pt(book_path: Path) -> None:
    wb = load_workbook(book_path)
    families = {cell.font.name for ws in wb.worksheets for row in ws.iter_rows() for cell in row
                if cell.value is not None}
    assert families == {"Calibri"}
    wrapped = set()
    for ws in wb.worksheets:
        page = (11.69 if ws.page_setup.orientation == "landscape" else 8.27) * 72 - 72  # A4, half-inch margins
        fit = min(1.0, page / _printed_width(ws))
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4), ws.title
        if ws.sheet_properties.pageSetUpPr.fitToPage:
            assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
            assert 11 * fit >= 8 or ws._charts, (ws.title, fit)
        else:  # too wide for one page at 8 pt: printed at 73 % (11 pt -> 8 pt), columns run on
            assert 11 * fit < 8, (ws.title, fit)
            assert 73 <= ws.page_setup.scale <= 100 and ws.print_title_cols == "$A:$A", ws.title
            wrapped.add(ws.title)
    assert "Codebook" in wrapped  # definitions, include, exclude: once printed at about 4 pt
    assert wb["Codebook"].page_setup.orientation == "landscape"


def test_meta_matrix_is_shaded_as_a_heatmap(book_path: Path) -> None:
    ws = load_workbook(book_path)["Meta-matrix"]
    rules = {str(rng.sqref): [r.type for r in rules] for rng, rules in ws.conditional_formatting._cf_rules.items()}
    # groups: entry E1-E3 at rows 5-7, total 8; post-entry E4-E6 at rows 10-12, total 13; overall 14
    assert rules == {"B5:G7": ["cellIs"], "B8:G8": ["colorScale"], "B10:G12": ["cellIs"],
                     "B13:G13": ["colorScale"], "B14:G14": ["colorScale"]}
    assert ws["A8"].value == "Total entry" and ws["A14"].value.startswith("Total (n=6)")


@pytest.mark.skipif(shutil.which("soffice") is None and not os.environ.get("CI"),
                    reason="LibreOffice (soffice) is not installed; CI installs it")
def test_libreoffice_prints_it(book_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "pdf"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "pdf", "--outdir", str(out), str(book_path)],
                   check=True, capture_output=True, timeout=180)
    pdf = out / "synthesis.pdf"
    assert pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    for expected in ("Meta-matrix", "Cross-case table", "Split by code attribute 'reach'", "Subtotal"):
        assert expected in text
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    names = {line.split()[0].split("+")[-1].split("-")[0] for line in fonts.splitlines()[2:] if line.strip()}
    assert len(names) == 1, names  # one family (Calibri, or its metric twin Carlito)
