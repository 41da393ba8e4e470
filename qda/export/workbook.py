"""The Excel synthesis workbook: codebook, cases, meta-matrix, cross-case table, split, intra-case.

Renders results already computed by :mod:`qda.matrix` (never queries the store) into one
``.xlsx`` file with openpyxl, formatted to print like a journal table: bold shaded
headers, frozen panes, real numbers and real Excel percentages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, Series
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
from openpyxl.styles import Alignment, Border, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from qda import matrix as matrices
from qda.analysis import Cooccurrence, QuoteTable
from qda.export import style as xl
from qda.export import typography
from qda.export.style import (
    BOLD,
    BOLD_ITALIC,
    CENTER,
    DOUBLE,
    HEADER_FILL,
    INTEGER,
    ITALIC,
    LABEL_WIDTH,
    NOTE,
    PERCENT,
    QUOTE_WIDTH,
    SHADE_FILL,
    THIN,
    TOP,
    WRAP,
)
from qda.matrix import CrossCaseTable, IntraCaseMatrix, MetaMatrix, SplitResult
from qda.models import Case, Code, Codebook, Coding, CountMode

SHEETS = ("Codebook", "Cases", "Meta-matrix", "Cross-case table", "Split", "Intra-case", "Co-occurrence", "Quotes")
PRESENT_FILL = PatternFill("solid", fgColor="9DC3E6")  # a case uses the code: the heatmap's dark cells


@dataclass(frozen=True)
class SynthesisData:
    """Everything the workbook shows, already computed for one coder."""

    codebook: Codebook
    cases: Sequence[Case]
    coder: str
    meta: MetaMatrix
    cross: CrossCaseTable
    lang: str | None = None
    split: SplitResult | None = None
    intra: Sequence[IntraCaseMatrix] = field(default_factory=tuple)
    reliability: Any = None  # an AgreementReport, shown on a Reliability sheet when given
    cooccurrence: Cooccurrence | None = None  # case-level co-occurrence, per group
    quotes: QuoteTable | None = None  # illustrative quotes per code and group
    #: coder -> (documents they coded, documents in the project): said in every sheet's title
    coverage: Mapping[str, tuple[int, int]] = field(default_factory=dict)


def synthesis_data(codebook: Codebook, cases: Sequence[Case], codings: Sequence[Coding], *, coder: str, by: str,
                   code_attr: str | None = None, lang: str | None = None, reliability: Any = None,
                   cooccurrence: Cooccurrence | None = None, quotes: QuoteTable | None = None,
                   usage: matrices.Usage | None = None,
                   intra: Sequence[IntraCaseMatrix] | None = None) -> SynthesisData:
    """The matrices of the synthesis workbook for one coder's codings, cases grouped by ``by``.

    ``code_attr`` (default: the codebook's first attribute) gives the split sheet. ``usage``
    (the codings' distinct passages per (case, code)) spares the three count matrices
    counting them each; ``intra`` (every case's intra-case matrix, in the order of ``cases``)
    spares building them from ``codings``.
    """
    if code_attr is None and codebook.attributes:
        code_attr = codebook.attributes[0].name
    # grouped once: each intra-case matrix scanning every coding was 1,000 x 60,000 at 1,000 interviews
    by_case: dict[str, list[Coding]] = {}
    for coding in codings if intra is None else ():
        by_case.setdefault(coding.case, []).append(coding)
    return SynthesisData(
        codebook=codebook, cases=cases, coder=coder, lang=lang or codebook.default_language,
        meta=matrices.meta_matrix(codebook, cases, codings, by=by, coder=coder, usage=usage),
        cross=matrices.cross_case(codebook, cases, codings, by=by, coder=coder, count=CountMode.CASES,
                                  lang=lang or codebook.default_language, usage=usage),
        split=(matrices.split(codebook, cases, codings, code_attr=code_attr, by=by, coder=coder, usage=usage)
               if code_attr else None),
        intra=(intra if intra is not None else
               [matrices.intra_case(codebook, by_case.get(c.name, []), c.name, coder=coder, lang=lang) for c in cases]),
        reliability=reliability, cooccurrence=cooccurrence, quotes=quotes)


def write_workbook(path: Path, data: SynthesisData) -> Path:
    """Write the synthesis workbook to ``path`` (replacing it) and return the path.

    Raises :class:`ExportError` when the file cannot be written.
    """
    path = Path(path)
    xl.save(build_workbook(data), path)
    return path


def build_workbook(data: SynthesisData) -> Workbook:
    """The workbook in memory, one sheet per table (see :data:`SHEETS`)."""
    wb = Workbook()
    wb.remove(wb.worksheets[0])  # the default sheet
    wb.properties.creator = "qda"
    wb.properties.title = f"Synthesis: {data.codebook.name} (coder: {data.coder})"
    builders = (_codebook_sheet, _cases_sheet, _meta_sheet, _cross_sheet, _split_sheet, _intra_sheet,
                _cooccurrence_sheet, _quotes_sheet)
    for name, build in zip(SHEETS, builders):
        build(wb.create_sheet(split_sheet_name(data.split) if build is _split_sheet else name), data)
    if data.reliability is not None:
        from qda.export.reliability import add_reliability_sheet  # imported when needed: jinja2, charts

        add_reliability_sheet(wb, data.reliability)
    _say_coverage(wb, data)
    return wb


def _say_coverage(wb: Workbook, data: SynthesisData) -> None:
    """Add "coder X coded 1 of 11 documents" to the title of every sheet that has one: a
    table built on one coder's codings means little without how much that coder coded."""
    lines = "; ".join(typography.coverage(coder, coded, total) for coder, (coded, total) in data.coverage.items())
    if not lines:
        return
    for ws in wb.worksheets:
        title = ws.cell(row=1, column=1)
        if isinstance(title.value, str) and title.font.sz == xl.TITLE.sz and title.font.b:
            xl.add_to_title(ws, lines)


def split_sheet_name(split: SplitResult | None) -> str:
    """The split sheet is named after the code attribute it splits by ("Split by mode")."""
    if split is None:
        return "Split"
    attr = re.sub(r"[\\/*?:\[\]]", "_", split.code_attr)  # characters Excel refuses in sheet names
    return f"Split by {attr}"[:31]


def _lang(data: SynthesisData) -> str | None:
    return data.lang or data.codebook.default_language


def _code_label(codebook: Codebook, code_id: str, lang: str | None) -> str:
    try:
        return codebook.code(code_id).label(lang)
    except KeyError:
        return code_id


def _code_depth(codebook: Codebook, code: Code) -> int:
    """How deep a code sits under parent codes (0 for a top-level code)."""
    depth, seen, parent = 0, {code.id}, code.parent
    while parent and parent not in seen:
        seen.add(parent)
        depth += 1
        try:
            parent = codebook.code(parent).parent
        except KeyError:
            break
    return depth


def _number(value: Any) -> Any:
    """Integers written as text become numbers; anything else is kept as it is."""
    if isinstance(value, str) and INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return value


def _count_title(count: str) -> str:
    return "number of cases using each code" if count == "cases" else "number of coded segments per code"


# ----------------------------------------------------------------------------- 1. Codebook

def _codebook_sheet(ws: Worksheet, data: SynthesisData) -> None:
    cb = data.codebook
    langs = list(cb.languages)
    first = langs[0] if langs else None
    attrs = [a.name for a in cb.attributes]
    headers = ["Code", f"Label ({first})" if first else "Label", *(f"Label ({lang})" for lang in langs[1:]),
               "Category path", *attrs, "Definition", "Include", "Exclude"]
    last = len(headers)
    xl.header(ws, 1, headers)
    col_path = 2 + len(langs[1:]) + 1
    row = 2
    for depth, category, codes in cb.walk():
        label = cb.category_label(category.id, first) if category else "(no category)"
        xl.put(ws, row, 1, category.id if category else None, align=TOP)
        xl.put(ws, row, 2, label, align=Alignment(indent=depth, vertical="top"))
        xl.style_row(ws, row, last, font=BOLD, fill=SHADE_FILL)
        row += 1
        path = " > ".join(cb.category_label(c, first) for c in cb.category_path(category.id)) if category else ""
        for code in codes:
            indent = depth + 1 + _code_depth(cb, code)
            xl.put(ws, row, 1, code.id, align=TOP)
            xl.put(ws, row, 2, code.labels.get(first) if first else code.label(), align=Alignment(
                indent=indent, vertical="top", wrap_text=True))
            for i, lang in enumerate(langs[1:]):
                xl.put(ws, row, 3 + i, code.labels.get(lang, ""), align=WRAP)
            xl.put(ws, row, col_path, path, align=WRAP)
            for i, name in enumerate(attrs):
                xl.put(ws, row, col_path + 1 + i, code.attributes.get(name, ""), align=TOP)
            for i, text in enumerate((code.definition, code.include, code.exclude)):
                xl.put(ws, row, col_path + 1 + len(attrs) + i, text, align=WRAP)
            row += 1
    widths = {1: xl.fit([c.id for c in cb.codes] + [c.id for c in cb.categories], 8, 16), 2: LABEL_WIDTH}
    widths.update({3 + i: LABEL_WIDTH for i in range(len(langs[1:]))})
    widths[col_path] = 30
    widths.update({col_path + 1 + i: xl.fit([a] + [c.attributes.get(a, "") for c in cb.codes], 10, 20)
                   for i, a in enumerate(attrs)})
    base = col_path + 1 + len(attrs)
    widths.update({base: 60, base + 1: 45, base + 2: 45})
    xl.widths(ws, widths)
    ws.freeze_panes = "C2"
    xl.print_setup(ws, header_rows="1:1")


# ----------------------------------------------------------------------------- 2. Cases

def _cases_sheet(ws: Worksheet, data: SynthesisData) -> None:
    names: list[str] = []
    for case in data.cases:
        for key in case.attributes:
            if key not in names:
                names.append(key)
    xl.header(ws, 1, ["Case", *names])
    for row, case in enumerate(data.cases, start=2):
        xl.put(ws, row, 1, case.name, align=TOP)
        for i, key in enumerate(names):
            value = _number(case.attributes.get(key))
            xl.put(ws, row, 2 + i, value, align=TOP)
    widths = {1: xl.fit(["Case", *(c.name for c in data.cases)], 10, 30)}
    widths.update({2 + i: xl.fit([key, *(c.attributes.get(key) for c in data.cases)], 10, 40)
                   for i, key in enumerate(names)})
    xl.widths(ws, widths)
    ws.freeze_panes = "B2"
    xl.print_setup(ws, header_rows="1:1", landscape=len(names) > 6)


# ----------------------------------------------------------------------------- 3. Meta-matrix

def _meta_sheet(ws: Worksheet, data: SynthesisData) -> None:
    meta, cb, lang = data.meta, data.codebook, _lang(data)
    codes = list(meta.codes)
    total_col = 2 + len(codes)
    n_cases = sum(len(cases) for _, cases in meta.groups)
    xl.title(ws, f"Meta-matrix: presence of each code in each case, by {meta.by} (coder: {meta.coder})")
    xl.header(ws, 2, ["Case", *codes, "Total"], center_from=2)
    for i, code in enumerate(codes):
        ws.cell(row=2, column=2 + i).comment = Comment(f"{code}: {_code_label(cb, code, lang)}", "qda",
                                                       width=260, height=80)
    # second header row: the labels, rotated, as in a printed matrix
    xl.put(ws, 3, 1, "Label", font=BOLD, fill=HEADER_FILL, align=Alignment(vertical="bottom"))
    for i, code in enumerate(codes):
        xl.put(ws, 3, 2 + i, _code_label(cb, code, lang), font=xl.SMALL, fill=HEADER_FILL,
             align=Alignment(text_rotation=90, wrap_text=True, horizontal="center", vertical="bottom"))
    xl.put(ws, 3, total_col, None, fill=HEADER_FILL)
    xl.style_row(ws, 3, total_col, border=Border(bottom=THIN))
    ws.row_dimensions[3].height = 150
    row = 4
    overall = [0] * len(codes)
    total_rows: list[int] = []
    for value, cases in meta.groups:
        xl.put(ws, row, 1, f"{meta.by}: {value} (n={len(cases)})")
        xl.style_row(ws, row, total_col, font=BOLD, fill=SHADE_FILL)
        row += 1
        group = [0] * len(codes)
        for case in cases:
            present = [int(meta.presence.get(case, {}).get(code, 0) > 0) for code in codes]
            xl.put(ws, row, 1, case, align=TOP)
            for i, flag in enumerate(present):
                xl.put(ws, row, 2 + i, 1 if flag else None, align=CENTER)
                group[i] += flag
            xl.put(ws, row, total_col, sum(present), font=BOLD, align=CENTER)
            row += 1
        xl.put(ws, row, 1, f"Total {value}", align=TOP)
        for i, k in enumerate(group):
            xl.put(ws, row, 2 + i, k, align=CENTER)
            overall[i] += k
        xl.put(ws, row, total_col, sum(group), align=CENTER)
        xl.style_row(ws, row, total_col, font=BOLD, border=Border(top=THIN))
        total_rows.append(row)
        row += 1
    if len(meta.groups) > 1:
        xl.put(ws, row, 1, f"Total (n={n_cases})", align=TOP)
        for i, k in enumerate(overall):
            xl.put(ws, row, 2 + i, k, align=CENTER)
        xl.put(ws, row, total_col, sum(overall), align=CENTER)
        xl.style_row(ws, row, total_col, font=BOLD, border=Border(top=DOUBLE, bottom=THIN))
    _shade_meta(ws, codes, total_rows + ([row] if len(meta.groups) > 1 else []))
    widths = {1: xl.fit(["Case", f"{meta.by}: x (n=10)", *(c for _, cs in meta.groups for c in cs)], 12, 40)}
    widths.update({2 + i: max(5.0, min(12.0, len(code) + 3)) for i, code in enumerate(codes)})
    widths[total_col] = 8
    xl.widths(ws, widths)
    ws.freeze_panes = "B4"
    xl.print_setup(ws, header_rows="2:3")


def _shade_meta(ws: Worksheet, codes: Sequence[str], total_rows: Sequence[int]) -> None:
    """Shade the meta-matrix as a heatmap with conditional formatting (the values stay plain numbers).

    A case's cell is blue where the case uses the code; each total row runs from white
    (no case) to blue (its most used code), so the codes a group shares stand out.
    """
    if not codes or not total_rows:
        return
    last = get_column_letter(1 + len(codes))
    start = 5  # the first case row, under the headers and the first group's heading
    for row in total_rows:
        if row > start:
            # openpyxl-stubs leave the rule factories unannotated
            rule = CellIsRule(operator="equal", formula=["1"], fill=PRESENT_FILL)  # type: ignore[no-untyped-call]
            ws.conditional_formatting.add(f"B{start}:{last}{row - 1}", rule)
        ws.conditional_formatting.add(f"B{row}:{last}{row}", ColorScaleRule(  # type: ignore[no-untyped-call]
            start_type="num", start_value=0, start_color="FFFFFF", end_type="max", end_color="5B9BD5"))
        start = row + 2  # past the next group's heading


# ----------------------------------------------------------------------------- 4. Cross-case table

def _cross_sheet(ws: Worksheet, data: SynthesisData) -> None:
    cross = data.cross
    n_total = sum(n for _, n in cross.groups)
    xl.title(ws, f"Cross-case table: {_count_title(cross.count)}, by {cross.by} (coder: {cross.coder})")
    headers = ["Code", "Label"]
    for value, n in cross.groups:
        headers += [f"{value} (n={n})", "%"]
    headers += [f"Total (n={n_total})", "%"]
    last = len(headers)
    xl.header(ws, 2, headers, center_from=3)
    row = 3
    for r in cross.rows:
        counts = list(r.counts) + [r.total]
        shares = list(r.shares) + [r.total_share]
        indent = Alignment(indent=r.depth, vertical="top", wrap_text=True)
        if r.kind == "category":
            xl.put(ws, row, 2, r.label, align=indent)
            xl.style_row(ws, row, last, font=BOLD, fill=SHADE_FILL)
        elif r.kind == "code":
            xl.put(ws, row, 1, r.key, align=TOP)
            xl.put(ws, row, 2, r.label, align=indent)
            for i, k in enumerate(counts):
                xl.put(ws, row, 3 + 2 * i, int(k), align=CENTER)
        else:
            xl.put(ws, row, 2, r.label, align=indent)
            for i, (k, share) in enumerate(zip(counts, shares)):
                xl.put(ws, row, 3 + 2 * i, int(k), align=CENTER)
                xl.put(ws, row, 4 + 2 * i, share, align=CENTER, fmt=PERCENT)
            if r.kind == "subtotal":
                xl.style_row(ws, row, last, font=BOLD_ITALIC, border=Border(top=THIN))
            else:
                xl.style_row(ws, row, last, font=BOLD, border=Border(top=DOUBLE, bottom=THIN))
        row += 1
    widths = {1: xl.fit(["Code", *(r.key for r in cross.rows if r.kind == "code")], 8, 16), 2: LABEL_WIDTH}
    for i in range(len(cross.groups) + 1):
        widths[3 + 2 * i] = max(10.0, min(20.0, len(headers[2 + 2 * i]) + 2))
        widths[4 + 2 * i] = 7
    xl.widths(ws, widths)
    ws.freeze_panes = "C3"
    xl.print_setup(ws, header_rows="2:2", landscape=len(cross.groups) > 3)


# ----------------------------------------------------------------------------- 5. Split

def _split_sheet(ws: Worksheet, data: SynthesisData) -> None:
    sp = data.split
    if sp is None:
        xl.put(ws, 1, 1, "No split: the codebook defines no code attribute (such as mode: direct/indirect) "
                        "to regroup the codes by.", font=NOTE)
        ws.column_dimensions["A"].width = 100
        return
    lang = _lang(data)
    unit = "cases" if sp.count == "cases" else "coded segments"
    where = "; ".join(f"{k}={v}" for k, v in sp.where.items())
    xl.title(ws, f"Split by code attribute '{sp.code_attr}': uses of the codes ({unit}) per value, by {sp.by} "
               f"(coder: {sp.coder}" + (f"; codes with {where}" if where else "") + ")")
    groups = list(sp.groups)
    last = 1 + 3 * len(groups)
    # two header rows: the groups, then uses/share/variety under each
    xl.header(ws, 2, [""])
    ws.cell(row=2, column=1).border = Border(top=THIN)
    xl.header(ws, 3, [sp.code_attr])
    for g, (group, n) in enumerate(groups):
        col = 2 + 3 * g
        ws.merge_cells(start_row=2, start_column=col, end_row=2, end_column=col + 2)
        xl.header(ws, 2, [f"{group} (n={n})", "", ""], first_col=col, center_from=col)
        xl.header(ws, 3, ["Uses", "Share", "Variety"], first_col=col, center_from=col)
    row = first = 4
    for value in sp.values:
        xl.put(ws, row, 1, value, align=TOP)
        for g, (group, _) in enumerate(groups):
            cell = sp.cells.get(value, {}).get(group)
            if cell is None:
                continue
            col = 2 + 3 * g
            xl.put(ws, row, col, int(cell.uses), align=CENTER)
            xl.put(ws, row, col + 1, cell.share, align=CENTER, fmt=PERCENT)
            xl.put(ws, row, col + 2, int(cell.variety), align=CENTER)
        row += 1
    value_rows = (first, row - 1)
    xl.put(ws, row, 1, "Total", align=TOP)
    for g, (group, _) in enumerate(groups):
        col = 2 + 3 * g
        total = int(sp.totals.get(group, 0))
        xl.put(ws, row, col, total, align=CENTER)
        xl.put(ws, row, col + 1, 1.0 if total else None, align=CENTER, fmt=PERCENT)
        xl.put(ws, row, col + 2, sum(int(sp.cells[v][group].variety) for v in sp.values
                                   if group in sp.cells.get(v, {})), align=CENTER)
    xl.style_row(ws, row, last, font=BOLD, border=Border(top=DOUBLE, bottom=THIN))
    row += 2

    # the codes behind each figure
    xl.put(ws, row, 1, f"Codes used, by {sp.code_attr} and {sp.by} ({unit})", font=BOLD)
    row += 1
    xl.header(ws, row, [f"{sp.code_attr} / {sp.by} / code", "Uses"], center_from=2)
    row += 1
    for value in sp.values:
        xl.put(ws, row, 1, value)
        xl.style_row(ws, row, 2, font=BOLD, fill=SHADE_FILL)
        row += 1
        for group, n in groups:
            cell = sp.cells.get(value, {}).get(group)
            xl.put(ws, row, 1, f"{group} (n={n})", font=ITALIC, align=Alignment(indent=1, vertical="top"))
            xl.put(ws, row, 2, int(cell.uses) if cell else 0, font=ITALIC, align=CENTER)
            row += 1
            if not cell or not cell.codes:
                xl.put(ws, row, 1, "(no code used)", font=NOTE, align=Alignment(indent=2, vertical="top"))
                row += 1
                continue
            for code, k in cell.codes:
                xl.put(ws, row, 1, f"{code} – {_code_label(data.codebook, code, lang)}",
                     align=Alignment(indent=2, vertical="top", wrap_text=True))
                xl.put(ws, row, 2, int(k), align=CENTER)
                row += 1
    xl.style_row(ws, row - 1, 2, border=Border(bottom=THIN))

    widths = {1: LABEL_WIDTH}
    for g in range(len(groups)):
        widths.update({2 + 3 * g: 10, 3 + 3 * g: 9, 4 + 3 * g: 9})
    xl.widths(ws, widths)
    ws.freeze_panes = "B4"

    if value_rows[1] >= value_rows[0] and groups:
        chart = BarChart()
        chart.type = "col"
        chart.grouping = "clustered"
        chart.title = f"Uses by {sp.code_attr} and {sp.by}"
        chart.x_axis.title = sp.code_attr
        chart.y_axis.title = f"Uses ({unit})"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.y_axis.majorGridlines = None
        for g, (group, n) in enumerate(groups):
            ref = Reference(ws, min_col=2 + 3 * g, min_row=value_rows[0], max_row=value_rows[1])
            chart.append(Series(ref, title=f"{group} (n={n})"))
        chart.set_categories(Reference(ws, min_col=1, min_row=value_rows[0], max_row=value_rows[1]))
        # as wide as the page leaves beside the table (a chart cut between two pages is unreadable)
        chart.width, chart.height = max(8, int(min(16.0, xl.chart_room(ws, last + 2) - 0.3))), 8
        ws.add_chart(chart, f"{get_column_letter(last + 2)}4")  # below the header rows printed on every page
    xl.print_setup(ws, header_rows="2:3")  # once the chart is there: its width counts


# ----------------------------------------------------------------------------- 6. Intra-case

def _intra_sheet(ws: Worksheet, data: SynthesisData) -> None:
    attributes = {c.name: c.attributes for c in data.cases}
    coder = data.intra[0].coder if data.intra else data.coder
    xl.title(ws, f"Intra-case matrices: codes, coded segments and quotes per case (coder: {coder})")
    xl.header(ws, 2, ["Code", "Label", "Segments", "Quote"])
    ws.cell(row=2, column=3).alignment = Alignment(horizontal="center", vertical="center")
    row = 3
    for matrix in data.intra:
        attrs = "; ".join(f"{k}: {v}" for k, v in attributes.get(matrix.case, {}).items() if v not in (None, ""))
        xl.put(ws, row, 1, f"{matrix.case} — {attrs}" if attrs else matrix.case)
        xl.style_row(ws, row, 4, font=BOLD, fill=SHADE_FILL, border=Border(top=THIN))
        row += 1
        if not matrix.rows:
            xl.put(ws, row, 1, "(no coded segment)", font=NOTE)
            row += 1
        for r in matrix.rows:
            xl.put(ws, row, 1, r.code, align=TOP)
            xl.put(ws, row, 2, r.label, align=WRAP)
            xl.put(ws, row, 3, int(r.segments), align=CENTER)
            if not r.quotes:
                row += 1
            for q in r.quotes:
                cited = q.cited(unknown_speaker="")
                xl.put(ws, row, 4, cited, align=xl.directed(q.text, WRAP))
                row += 1
        for kind, target, text, _ in matrix.memos:
            xl.put(ws, row, 1, f"memo on {kind} {target}", font=NOTE, align=TOP)
            xl.put(ws, row, 4, text, align=WRAP)
            row += 1
        row += 1  # blank row between cases
    xl.widths(ws, {1: xl.fit(["Code", *(r.code for m in data.intra for r in m.rows)], 8, 16),
                 2: LABEL_WIDTH, 3: 10, 4: QUOTE_WIDTH})
    ws.freeze_panes = "A3"
    xl.print_setup(ws, header_rows="2:2")


def _cooccurrence_sheet(ws: Worksheet, data: SynthesisData) -> None:
    """Pairs of codes used by the same cases, most shared first, for all cases then per group."""
    result = data.cooccurrence
    xl.title(ws, f"Co-occurrence of codes in the same case (coder: {data.coder})")
    columns = ["Group", "Code A", "Code B", "Cases A", "Cases B", "Cases with both", "Jaccard", "Dice", "Ochiai"]
    xl.header(ws, 2, columns, center_from=4)
    row = 3
    if result is None or not any(p.n_ab for table in result.tables for p in table.pairs):
        xl.put(ws, row, 1, "(no two codes are used by the same case)", font=NOTE)
    for table in result.tables if result is not None else ():
        for pair in sorted((p for p in table.pairs if p.n_ab), key=lambda p: (-p.n_ab, -(p.jaccard or 0.0), p.a, p.b)):
            values = [table.group, pair.a, pair.b, pair.n_a, pair.n_b, pair.n_ab]
            for col, value in enumerate(values, start=1):
                xl.put(ws, row, col, value, align=CENTER if col >= 4 else None)
            for col, value in enumerate((pair.jaccard, pair.dice, pair.ochiai), start=7):
                xl.put(ws, row, col, _number(value), align=CENTER).number_format = "0.00"
            row += 1
    xl.widths(ws, {1: 14, 2: 9, 3: 9, 4: 9, 5: 9, 6: 12, 7: 9, 8: 9, 9: 9})
    ws.freeze_panes = "A3"
    xl.print_setup(ws, header_rows="2:2", landscape=False)


def _quotes_sheet(ws: Worksheet, data: SynthesisData) -> None:
    """The illustrative quotes papers print: a few coded passages per code and group."""
    quotes = data.quotes
    lang = _lang(data)
    by = quotes.by if quotes is not None else "group"
    xl.title(ws, f"Illustrative quotes per code and {by} (coder: {data.coder})")
    xl.header(ws, 2, ["Code", "Label", by.capitalize(), "Case", "Quote"])
    row = 3
    chosen = [(code, group, passage) for code, _label in quotes.codes for group in quotes.groups
              for passage in quotes.cells[code].get(group, ())] if quotes is not None else []
    if not chosen:
        xl.put(ws, row, 1, "(no coded passage)", font=NOTE)
    for code, group, passage in chosen:
        xl.put(ws, row, 1, code, align=TOP)
        xl.put(ws, row, 2, _code_label(data.codebook, code, lang), align=WRAP)
        xl.put(ws, row, 3, group, align=TOP)
        xl.put(ws, row, 4, passage.case, align=TOP)
        xl.put(ws, row, 5, passage.text, align=xl.directed(passage.text, WRAP))
        row += 1
    xl.widths(ws, {1: 8, 2: 30, 3: 14, 4: 10, 5: 70})
    ws.freeze_panes = "A3"
    xl.print_setup(ws, header_rows="2:2")
