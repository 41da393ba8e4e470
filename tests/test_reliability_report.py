"""The inter-coder reliability report (HTML and Excel), on a small hand-built study.

Study: a codebook of three codes (price, quality, service) and two documents of four
segments each (D1 in case C1, D2 in case C2). Two coders, coder-a and coder-b, code whole
segments; the unit of comparison is the segment, so there are 8 segments x 3 codes = 24
units (0/1: code applied to the segment or not). They disagree on two segments:

* D1#3 (its text contains ``<b>bold</b>``): coder-a says service, coder-b says price;
* D1#4: coder-a says quality, coder-b says service.

The expected Krippendorff's alpha is computed independently with the ``krippendorff``
package on the 2 x 24 table of 0/1 ratings built here from the same specification.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from openpyxl import Workbook, load_workbook

from qda.agreement.units import AgreementReport, agree
from qda.errors import ExportError
from qda.export.reliability import (
    add_reliability_sheet,
    method_paragraph,
    write_reliability_html,
    write_reliability_xlsx,
)
from qda.models import Code, Codebook, Coding, Document, Segment

CODES = ("price", "quality", "service")
TEXTS = {
    "D1": ["We talk about the price.", "The quality is great.", "Really <b>bold</b> service here.",
           "The finish is good."],
    "D2": ["The price is high.", "Cheap enough for us.", "Quality matters.", "Service was slow."],
}
CODER_A = {("D1#1", "price"), ("D1#2", "quality"), ("D1#3", "service"), ("D1#4", "quality"),
           ("D2#1", "price"), ("D2#2", "price"), ("D2#3", "quality"), ("D2#4", "service")}
CODER_B = {("D1#1", "price"), ("D1#2", "quality"), ("D1#3", "price"), ("D1#4", "service"),
           ("D2#1", "price"), ("D2#2", "price"), ("D2#3", "quality"), ("D2#4", "service")}
CODERS = {"coder-a": CODER_A, "coder-b": CODER_B}


def _codebook() -> Codebook:
    return Codebook(
        name="synthetic",
        languages=("en",),
        codes=(Code("price", {"en": "Price"}), Code("quality", {"en": "Quality & <finish>"}),
               Code("service", {"en": "Service"})),
    )


def _corpus() -> tuple[list[Document], list[Segment]]:
    documents, segments = [], []
    for name, sentences in TEXTS.items():
        case = "C" + name[1:]
        text = ""
        for i, sentence in enumerate(sentences, start=1):
            start = len(text)
            text += sentence + " "
            segments.append(Segment(f"{name}#{i}", name, case, turn=0, ordinal=i, start=start,
                                    end=start + len(sentence), text=sentence))
        documents.append(Document(name, case, text, sha256="0" * 64, language="en"))
    return documents, segments


def _codings(segments: list[Segment], coders: dict[str, set[tuple[str, str]]]) -> dict[str, list[Coding]]:
    by_ref = {s.ref: s for s in segments}
    return {coder: [Coding(coder, code, by_ref[ref].document, by_ref[ref].case, by_ref[ref].start,
                           by_ref[ref].end, segment=ref, text=by_ref[ref].text)
                    for ref, code in sorted(spec)]
            for coder, spec in coders.items()}


def _report(coders: dict[str, set[tuple[str, str]]] = CODERS, unit: str = "segment") -> AgreementReport:
    documents, segments = _corpus()
    return agree(_codebook(), list(coders), _codings(segments, coders), documents=documents, segments=segments,
                 unit=unit, bootstrap=200)


def _expected_alpha(coders: dict[str, set[tuple[str, str]]] = CODERS) -> float:
    """Krippendorff's alpha of the stacked 0/1 table (codes x segments), by the reference package."""
    refs = [f"{name}#{i}" for name, sentences in TEXTS.items() for i in range(1, len(sentences) + 1)]
    data = np.array([[1 if (ref, code) in spec else 0 for code in CODES for ref in refs]
                     for spec in coders.values()], dtype=float)
    assert data.shape == (len(coders), 24)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


@pytest.fixture(scope="module")
def report() -> AgreementReport:
    return _report()


class _Tables(HTMLParser):
    """The cell texts of every table row, by the id of the enclosing <section>."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[list[str]]] = {}
        self._section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(self._section, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(text: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(text)
    return parser.rows


def _method(text: str) -> str:
    found = re.search(r'<p class="method" id="method">(.*?)</p>', text, re.S)
    assert found, "no method paragraph"
    text = html.unescape(found.group(1))
    assert re.search(r"\d \w", text) is None, text  # every count held to its noun by a no-break space
    return text.replace("\u00a0", " ")  # the words as method_paragraph() gives them


# ----------------------------------------------------------------------------- the data


def test_the_report_matches_the_reference_alpha(report: AgreementReport) -> None:
    expected = _expected_alpha()
    assert report.pooled.estimates["krippendorff_alpha"].value == pytest.approx(expected, abs=1e-9)
    assert [c.code for c in report.codes] == list(CODES)
    assert report.pooled.n_units == 24
    assert len(report.disagreements) == 2


# ----------------------------------------------------------------------------- HTML


def test_html_report(tmp_path: Path, report: AgreementReport) -> None:
    path = write_reliability_html(tmp_path / "reliability.html", report, title="Pilot <study>")
    assert path == tmp_path / "reliability.html"
    text = path.read_text(encoding="utf-8")
    expected = _expected_alpha()

    assert text.startswith("<!DOCTYPE html>")
    assert "<title>Pilot &lt;study&gt;</title>" in text
    # an inline SVG chart: one row per code and the pooled row, grid labels on the axis
    svg = re.search(r"<svg.*?</svg>", text, re.S)
    assert svg is not None
    assert svg.group(0).count('<g class="row">') == len(CODES) + 1
    assert svg.group(0).count('<g class="panel">') == 2
    for label in (">0<", ">0.4<", ">0.6<", ">0.8<", ">1<"):
        assert label in svg.group(0)
    assert re.search(r">-(0\.[2-9]|1\.0)<", svg.group(0))  # the axis starts at -0.2 or below
    assert "Krippendorff&#39;s alpha" in svg.group(0) and "Gwet&#39;s AC1" in svg.group(0)

    tables = _tables(text)
    per_code = tables["per-code"]
    assert [row[0] for row in per_code] == [*CODES, "(pooled)"]
    assert per_code[1][1] == "Quality & <finish>"  # the label, unescaped by the parser
    assert all(row[2] == "8" for row in per_code[:3]) and per_code[3][2] == "24"
    summary = {row[0]: row[1] for row in tables["summary"]}
    assert summary["Krippendorff's alpha"] == f"{expected:.3f}"

    method = _method(text)
    assert "Two coders (coder-a and coder-b)" in method
    assert f"Pooled Krippendorff's alpha was {expected:.3f} (95% CI [" in method
    assert "percentile bootstrap, 200 resamples" in method
    assert "Cohen's kappa" in method
    assert "8 segments" in method and "24 units" in method
    assert re.search(r"Computed with qda \d", method)

    # self-contained: no external resource, no script
    for forbidden in ('src="http', "src='http", "<link", "<script", "url(", "@import"):
        assert forbidden not in text
    # segment text is escaped, not interpreted
    assert "Really <b>bold</b>" not in text
    assert "Really &lt;b&gt;bold&lt;/b&gt; service here." in text
    disagreements = tables["disagreements"]
    assert [row[2] for row in disagreements] == ["D1#3", "D1#4"]
    assert disagreements[0][3:] == ["Really <b>bold</b> service here.", "service", "price"]
    # the confusion table (two coders, binary units)
    assert {row[0].split()[0] for row in tables["confusion"]} == {"quality", "service"}
    # the conventions of the report
    section = re.search(r'<section id="conventions">.*?</section>', text, re.S)
    assert section is not None
    items = re.findall(r"<li>(.*?)</li>", section.group(0))
    # (as the report holds them: counts held to their nouns by no-break spaces)
    assert [html.unescape(item).replace("\u00a0", " ") for item in items] == list(report.conventions)
    # written through a temporary file that does not stay behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reliability.html"]


def test_method_paragraph_three_coders_uses_fleiss() -> None:
    third = set(CODER_A) - {("D2#4", "service")} | {("D2#4", "price")}
    coders = {**CODERS, "coder-c": third}
    report = _report(coders)
    text = method_paragraph(report, software="qda test")
    assert text.startswith("Three coders (coder-a, coder-b and coder-c) independently coded 8 segments")
    assert f"Pooled Krippendorff's alpha was {_expected_alpha(coders):.3f}" in text
    assert "Fleiss' kappa" in text and "Cohen's kappa" not in text
    assert text.endswith("Computed with qda test.")


def test_undefined_values_are_explained(tmp_path: Path) -> None:
    # nobody applies any code: alpha and kappa are 0/0 everywhere
    report = _report({"coder-a": set(), "coder-b": set()})
    assert report.pooled.estimates["krippendorff_alpha"].value is None
    text = write_reliability_html(tmp_path / "r.html", report).read_text(encoding="utf-8")
    summary = {row[0]: row[1] for row in _tables(text)["summary"]}
    assert summary["Krippendorff's alpha"].startswith("undefined — ")
    assert "all pairable ratings fall in one category" in summary["Krippendorff's alpha"]
    assert "Pooled Krippendorff's alpha was undefined because" in _method(text)
    assert "<svg" in text and ">undefined<" in text
    assert "None: the coders agree on every unit." in text
    xlsx = write_reliability_xlsx(tmp_path / "r.xlsx", report)
    ws = load_workbook(xlsx)["Reliability"]
    cell = _pooled_cell(ws, "Krippendorff's alpha")
    assert cell.value == "undefined" and cell.comment is not None


def test_span_unit_shows_unitizing_alpha_and_the_character_table(tmp_path: Path) -> None:
    report = _report(unit="overlap")  # the old name of the span unit
    assert report.unit == "span" and report.characters and report.unitizing is not None
    text = write_reliability_html(tmp_path / "r.html", report).read_text(encoding="utf-8")
    rows = _tables(text)["characters"]
    assert [row[0] for row in rows] == list(CODES)
    method = _method(text)
    assert "Krippendorff's unitizing alpha" in method and "cuα" in method
    pooled = report.pooled.estimates["unitizing_alpha"]
    assert pooled.value is not None and f"{pooled.value:.3f}" in method
    # span pairing's chance-corrected figures are undefined by construction: never a number
    assert report.pooled.estimates["cohen_kappa"].value is None
    ws = load_workbook(write_reliability_xlsx(tmp_path / "r.xlsx", report))["Reliability"]
    assert _pooled_cell(ws, "Krippendorff's unitizing alpha (|uα)").value == pytest.approx(pooled.value)


# ----------------------------------------------------------------------------- Excel


def _pooled_cell(ws, coefficient: str):
    headers = {ws.cell(row=2, column=c).value: c for c in range(1, ws.max_column + 1)}
    column = headers[coefficient]
    rows = [r for r in range(4, ws.max_row + 1) if ws.cell(row=r, column=1).value == "(pooled)"]
    assert len(rows) == 1
    return ws.cell(row=rows[0], column=column)


def test_xlsx_report(tmp_path: Path, report: AgreementReport) -> None:
    path = write_reliability_xlsx(tmp_path / "reliability.xlsx", report)
    assert path == tmp_path / "reliability.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames == ["Reliability", "Disagreements"]
    ws = wb["Reliability"]
    expected = _expected_alpha()
    cell = _pooled_cell(ws, "Krippendorff's alpha")
    assert isinstance(cell.value, float)
    assert cell.value == pytest.approx(expected, abs=1e-9)
    assert cell.number_format == "0.000"
    # the interval: two numeric columns after the value
    est = report.pooled.estimates["krippendorff_alpha"]
    low, high = (ws.cell(row=cell.row, column=cell.column + k) for k in (1, 2))
    assert ws.cell(row=3, column=cell.column + 1).value == "95% low"
    assert low.value == pytest.approx(est.ci_low) and high.value == pytest.approx(est.ci_high)
    assert low.number_format == high.number_format == "0.000"
    # one row per code above the pooled row, frozen headers
    assert [ws.cell(row=r, column=1).value for r in range(4, 7)] == list(CODES)
    assert ws.freeze_panes == "D4"
    assert ws.cell(row=2, column=1).font.b
    # the disagreements and the conventions below the table
    column_a = [ws.cell(row=r, column=1).value for r in range(1, ws.max_row + 1)]
    assert any(str(v).startswith("Disagreements (2") for v in column_a if v)
    assert "Conventions" in column_a
    assert f"• {report.conventions[0]}" in column_a
    texts = [ws.cell(row=r, column=2).value for r in range(1, ws.max_row + 1)]
    assert "Really <b>bold</b> service here." in texts

    dis = wb["Disagreements"]
    header = [c.value for c in dis[1]]
    assert header == ["Case", "Document", "Segment", "Start", "End", "coder-a", "coder-b", "Text"]
    rows = [[c.value for c in row] for row in dis.iter_rows(min_row=2)]
    assert [r[2] for r in rows] == ["D1#3", "D1#4"]
    assert rows[0][5:] == ["service", "price", "Really <b>bold</b> service here."]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reliability.xlsx"]


def test_add_reliability_sheet_to_an_existing_workbook(report: AgreementReport) -> None:
    wb = Workbook()
    ws = add_reliability_sheet(wb, report)
    assert ws.title == "Reliability" and "Reliability" in wb.sheetnames
    with pytest.raises(ExportError, match="already has a sheet"):
        add_reliability_sheet(wb, report)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("writer, name", [(write_reliability_html, "r.html"), (write_reliability_xlsx, "r.xlsx")])
def test_missing_folder_is_an_export_error(tmp_path: Path, report: AgreementReport, writer, name: str) -> None:
    target = tmp_path / "missing" / name
    with pytest.raises(ExportError, match=re.escape(str(target))):
        writer(target, report)
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("writer", [write_reliability_html, write_reliability_xlsx])
def test_a_folder_as_target_is_an_export_error(tmp_path: Path, report: AgreementReport, writer) -> None:
    with pytest.raises(ExportError, match="it is a folder"):
        writer(tmp_path, report)
