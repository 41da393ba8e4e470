"""The look shared by qda's Excel exporters: fonts, fills, widths, safe cells, atomic saving.

The synthesis workbook (:mod:`qda.export.workbook`) and the reliability report
(:mod:`qda.export.reliability`) both build on these, so their sheets look alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from copy import copy
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary, ref

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.compat import safe_string
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.dimensions import RowDimension
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from qda.export import typography
from qda.files import check_suffix, check_target, inert_cell, write_atomically

__all__ = ["check_target", "write_atomically"]  # shared with the coding sheets (qda.files)

HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
SHADE_FILL = PatternFill("solid", fgColor="F2F2F2")
FONT = typography.WORKBOOK_FAMILY  # one family on every sheet: openpyxl's default, so unstyled cells match
BOLD = Font(name=FONT, bold=True)
ITALIC = Font(name=FONT, italic=True)
BOLD_ITALIC = Font(name=FONT, bold=True, italic=True)
TITLE = Font(name=FONT, bold=True, size=12)
NOTE = Font(name=FONT, italic=True, color="595959")
SMALL = Font(name=FONT, size=9)
THIN = Side(style="thin")
DOUBLE = Side(style="double")
PERCENT = typography.EXCEL_PERCENT  # "39 %", as the HTML reports write it
CENTER = Alignment(horizontal="center", vertical="top")
TOP = Alignment(vertical="top")
WRAP = Alignment(vertical="top", wrap_text=True)

MAX_CELL = 32767  # Excel's limit on the characters of one cell
MAX_ROW = 1048576  # and on the rows of a sheet
INTEGER = re.compile(r"-?(?:0|[1-9]\d{0,14})")  # no leading zeros: "007" stays an identifier
LABEL_WIDTH = 45
QUOTE_WIDTH = 90
LINE_HEIGHT = 15.0  # points per line of 11-point text, Excel's own default row height


# ----------------------------------------------------------------------------- saving

def save(wb: Workbook, path: Path, example: str = "synthesis.xlsx") -> None:
    """Save a workbook atomically to a checked path (``example`` names a good file in messages)."""
    check_target(path, example)
    check_suffix(path, (".xlsx",), "an Excel workbook")  # 'out.txt' would hold an xlsx nobody can open
    write_atomically(path, wb.save)


# ----------------------------------------------------------------------------- cell helpers

def clean(value: Any) -> Any:
    """A cell value Excel accepts: no control characters, at most MAX_CELL characters."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if len(value) > MAX_CELL:
            value = value[:MAX_CELL - 1] + "…"
    return value


def right_to_left(text: str) -> bool:
    """Whether ``text`` reads right to left: its first strong character is Arabic or Hebrew
    (Unicode bidirectional class R or AL), as a browser decides for ``dir="auto"``."""
    first = text[:1]
    if first.isascii() and first.isalpha():  # a Latin letter first: left to right (most quotes)
        return False
    import unicodedata

    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def directed(text: str, align: Alignment) -> Alignment:
    """``align`` for a cell holding ``text``: right to left (Excel's reading order 2,
    right-aligned) when the text is Arabic, Hebrew, Persian…; else unchanged."""
    if not isinstance(text, str) or not right_to_left(text):
        return align
    return Alignment(horizontal="right", vertical=align.vertical, wrap_text=align.wrap_text, indent=align.indent,
                     readingOrder=2)


def put(ws: Worksheet, row: int, col: int, value: Any = None, *, font: Font | None = None,
         fill: PatternFill | None = None, align: Alignment | None = None, fmt: str | None = None) -> Cell | MergedCell:
    """Write one cell; text is always text (a quote starting with '=' is not a formula)."""
    value = clean(value)
    if font is None and fill is None and align is None and fmt is None:
        cell = ws.cell(row=row, column=col)
        if value is not None and value != "":
            cell.value = value
            inert_cell(cell)
        return cell
    # Setting .font, .fill... hashes the style object into the workbook's list each time (~30 µs
    # a cell: 8 s for the 180,000 cells of a 1,000-interview workbook). A new cell given the same
    # style objects as an earlier one is made with a copy of that cell's style indices instead
    # (and made directly: ws.cell() looks the cell up twice, a third of the time of a sheet of
    # quotes). A cell styled already (a border drawn first) is styled attribute by attribute,
    # keeping the rest.
    styles = _resolved(ws)
    key = (id(font), id(fill), id(align), fmt)
    known = styles.get(key)
    cells = ws._cells
    if known is not None and (row, col) not in cells and 0 < row <= MAX_ROW and col > 0:
        made = Cell(ws, row=row, column=col, style_array=known[1])
        cells[row, col] = made
        if row > ws._current_row:  # type: ignore[attr-defined]  # what ws.cell() keeps, for ws.append()
            ws._current_row = row  # type: ignore[attr-defined]
        if value is not None and value != "":
            _bind(made, value)
        return made
    cell = ws.cell(row=row, column=col)
    if value is not None and value != "":
        cell.value = value
        inert_cell(cell)
    fresh = not cell.has_style
    if known is not None and fresh:
        _set_indices(cell, known[1])
        return cell
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if align is not None:
        cell.alignment = align
    if fmt is not None:
        cell.number_format = fmt
    if fresh:  # the objects are kept with the indices, so that their ids stay theirs
        styles[key] = ((font, fill, align), copy(_indices(cell)))
    return cell


def _indices(cell: Any) -> Any:
    """The cell's style as openpyxl stores it: indices into the workbook's fonts, fills, ... (a
    StyleArray; private to openpyxl, but stable since 2.4 and what its own copy functions use)."""
    return cell._style


def _bind(cell: Any, value: Any) -> None:
    """``cell.value = value`` made inert (:func:`inert_cell`). Text and whole numbers, most of a
    workbook's cells, are stored as openpyxl's setter stores them, without its checks: clean()
    has removed what it would refuse, and text is never a formula here."""
    kind = type(value)
    if kind is str and value not in ERROR_CODES:  # '#N/A' and the like: openpyxl makes them errors
        cell._value, cell.data_type = value, "s"
    elif kind is int:
        cell._value, cell.data_type = value, "n"
    else:
        cell.value = value
        inert_cell(cell)


def _stored(cell: Any) -> Any:
    """The cell's value as stored (what .value returns, without the call)."""
    return cell._value


def _set_indices(cell: Any, indices: Any) -> None:
    cell._style = copy(indices)


#: Per workbook: a key naming the style objects given (by id) -> (the objects, the style indices).
_RESOLVED: WeakKeyDictionary[Workbook, dict[tuple[Any, ...], tuple[Any, Any]]] = WeakKeyDictionary()
#: The workbook last looked up (a weak reference) with its dict: one tuple, replaced whole, so
#: that a thread exporting another workbook at the same time never reads half of it.
_LAST: tuple[Any, dict[tuple[Any, ...], tuple[Any, Any]]] | None = None


def _resolved(ws: Worksheet) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    """The resolved styles of ``ws``'s workbook (looking a WeakKeyDictionary up makes a
    weak reference each time: a quarter of a second over a sheet of 170,000 cells)."""
    global _LAST
    wb = ws.parent
    if wb is None:
        return {}
    last = _LAST
    if last is not None and last[0]() is wb:
        return last[1]
    styles = _RESOLVED.setdefault(wb, {})
    _LAST = (ref(wb), styles)
    return styles


def style_row(ws: Worksheet, row: int, last_col: int, *, font: Font | None = None,
               fill: PatternFill | None = None, border: Border | None = None, first_col: int = 1) -> None:
    """Set the font, fill and border of the cells ``first_col..last_col`` of ``row``, keeping
    the rest of their style."""
    styles = _resolved(ws)
    for col in range(first_col, last_col + 1):
        cell = ws.cell(row=row, column=col)
        # as in put(): the same change made to the same style gives the same indices
        before = tuple(_indices(cell)) if cell.has_style else None
        key = ("row", before, id(font), id(fill), id(border))
        known = styles.get(key)
        if known is not None:
            _set_indices(cell, known[1])
            continue
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if border is not None:
            cell.border = border
        styles[key] = ((font, fill, border), copy(_indices(cell)))


def header(ws: Worksheet, row: int, labels: Sequence[str], *, first_col: int = 1,
            center_from: int | None = None) -> None:
    """A bold, shaded header row ruled above and below."""
    for i, label in enumerate(labels):
        col = first_col + i
        centered = center_from is not None and col >= center_from
        put(ws, row, col, label, font=BOLD, fill=HEADER_FILL,
             align=Alignment(horizontal="center" if centered else None, vertical="center", wrap_text=True))
        ws.cell(row=row, column=col).border = Border(top=THIN, bottom=THIN)


def title(ws: Worksheet, text: str) -> None:
    put(ws, 1, 1, text, font=TITLE)
    ws.row_dimensions[1].height = 20


def add_to_title(ws: Worksheet, line: str) -> None:
    """Add ``line`` under the sheet's title (row 1), the title spread over the used columns
    and wrapped: a title running past the last column would widen what prints, and a sheet
    fitted one page wide would shrink to fit it."""
    cell = ws.cell(row=1, column=1)
    last = max(1, ws.max_column)
    if any(ws.cell(row=1, column=c).value is not None for c in range(2, last + 1)):
        last = 1  # row 1 holds more than the title: leave the columns alone
    text = f"{cell.value}\n{line}" if cell.value else line
    put(ws, 1, 1, text, font=TITLE, align=Alignment(vertical="top", wrap_text=True))
    if last > 1:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    width = sum(ws.column_dimensions[get_column_letter(c)].width or DEFAULT_WIDTH for c in range(1, last + 1))
    size = float(TITLE.sz or 12)
    ws.row_dimensions[1].height = math.ceil(wrapped_lines(text, width, bold=True, size=size) * LINE_HEIGHT * size / 11)


def widths(ws: Worksheet, widths: Mapping[int, float]) -> None:
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width


def fit(values: Sequence[Any], low: float = 8, high: float = 40) -> float:
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    return max(low, min(high, longest + 2))


A4_INCHES = (8.27, 11.69)
SIDE_MARGIN = 0.5  # inches left and right (openpyxl's default 0.75 wastes a column)
DEFAULT_WIDTH = 8.43  # a column whose width is not set


def column_points(width: float | None) -> float:
    """The printed width, in points, of a column ``width`` characters wide: Excel's
    ``trunc(width x 7 + 5)`` pixels (the digit width of Calibri 11 is 7 px) at 96 dpi."""
    return int((DEFAULT_WIDTH if width is None else width) * 7 + 5) * 72 / 96


CHART_FONT = 9.0  # the axis labels of a chart, as LibreOffice and Excel draw them by default


def sheet_points(ws: Worksheet) -> float:
    """The printed width at 100 %, in points, of the sheet's used columns and its charts."""
    def left_of(column: int) -> float:
        return sum(column_points(ws.column_dimensions[get_column_letter(c)].width) for c in range(1, column)
                   if not ws.column_dimensions[get_column_letter(c)].hidden)

    right = left_of(ws.max_column + 1)
    for chart in getattr(ws, "_charts", ()):
        anchor = chart.anchor if isinstance(chart.anchor, str) else None
        if anchor:  # a chart anchored at a cell, its width in cm
            column = column_index_from_string(coordinate_from_string(anchor)[0])
            right = max(right, left_of(column) + float(chart.width) * 72 / 2.54)
    return right


def chart_room(ws: Worksheet, column: int, landscape: bool = True) -> float:
    """Centimetres of page left for a chart anchored at ``column`` when the sheet prints
    one page wide with its charts' labels at 8 pt (a wider chart runs over two pages)."""
    page = ((A4_INCHES[1] if landscape else A4_INCHES[0]) - 2 * SIDE_MARGIN) * 72
    scale = typography.MIN_PRINTED / min(CHART_FONT, smallest_font(ws))
    used = sum(column_points(ws.column_dimensions[get_column_letter(c)].width) for c in range(1, column))
    return (page / scale - used) * 2.54 / 72


def smallest_font(ws: Worksheet) -> float:
    """The smallest font size of a cell holding something (or of a chart's axis labels)."""
    # The cells that exist, not iter_rows() (which creates every empty cell of the rectangle,
    # then saved), and each font read once: a cell's .font builds a proxy (0.8 s for 180,000).
    # Each font read once, by its index in the workbook's fonts (what cell.font reads).
    font_ids = {style[0] if style is not None else 0
                for style in (_indices(cell) for cell in ws._cells.values() if _stored(cell) is not None)}
    fonts = ws.parent._fonts  # type: ignore[union-attr]
    smallest = min((float(fonts[i].sz or 11) for i in font_ids), default=math.inf)
    if smallest == math.inf:  # no cell holds anything
        smallest = 11.0
    return min(smallest, CHART_FONT) if getattr(ws, "_charts", None) else smallest


def fit_scale(ws: Worksheet, landscape: bool) -> float:
    """The scale (1 = 100 %) at which the sheet's columns fit one page wide."""
    page = (A4_INCHES[1] if landscape else A4_INCHES[0]) - 2 * SIDE_MARGIN
    return min(1.0, page * 72 / max(1.0, sheet_points(ws)))


def print_setup(ws: Worksheet, *, header_rows: str | None = None, landscape: bool = True,
                title_columns: str | None = "A:A") -> None:
    """Page setup for a sheet that prints at :data:`typography.MIN_PRINTED` (8 pt) or more:
    one page wide (as many pages long as it takes) when that keeps its smallest text at
    8 pt; otherwise at the scale that makes the smallest text 8 pt, the columns running on
    over further pages (left to right, then down) with ``title_columns`` repeated at the
    left of each. Header rows repeat on every page; rows of wrapped text are made tall
    enough (call it once the sheet is filled)."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_margins.left = ws.page_margins.right = SIDE_MARGIN
    setup = ws.sheet_properties.pageSetUpPr
    if setup is None:  # openpyxl creates it with the sheet; its type allows None
        setup = ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    smallest = smallest_font(ws)
    if smallest * fit_scale(ws, landscape) >= typography.MIN_PRINTED:
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        setup.fitToPage = True
    else:  # one page wide would print it at 2-6 pt: readable pages instead
        setup.fitToPage = False
        ws.page_setup.scale = min(100, math.ceil(100 * typography.MIN_PRINTED / smallest))
        ws.page_setup.pageOrder = "overThenDown"
        if title_columns:
            ws.print_title_cols = title_columns
    if header_rows:
        ws.print_title_rows = header_rows
    fit_rows(ws)


def wrapped_lines(text: str, width: float, *, indent: int = 0, bold: bool = False, size: float = 11) -> int:
    """How many printed lines ``text`` takes in a wrapping cell ``width`` characters wide.

    A column's width counts the digit '0' of the default font; prose in Calibri (or its
    metric twin Carlito, which LibreOffice prints with) fits about 1.2 characters per unit
    (a 60-wide column holds ~75). The estimate takes 1.1 (1.0 for bold), one unit for
    the cell's margins and three per indent level, and wraps at words as a spreadsheet
    does, so it errs on the tall side.
    """
    fits = _per_line(width, indent, bold, size)
    return sum(_paragraph_lines(part, fits) for part in str(text).split("\n"))


def _per_line(width: float, indent: int, bold: bool, size: float) -> int:
    """Characters per printed line of a wrapping cell (see :func:`wrapped_lines`)."""
    return max(1, int((width - 1 - 3 * indent) * (1.0 if bold else 1.1) * 11 / size))


def _paragraph_lines(part: str, per_line: int) -> int:
    """Greedy word wrap (textwrap's count, 5x faster on a sheet of quotes; a word longer
    than a line starts a line of its own and is cut into pieces)."""
    if len(part) <= per_line:
        return 1
    lines, used = 1, -1  # used: characters on the current line, -1 while it is empty
    for word in part.split():
        n = len(word)
        if used >= 0 and used + 1 + n <= per_line:
            used += 1 + n
            continue
        if used >= 0:
            lines += 1
        while n > per_line:
            lines += 1
            n -= per_line
        used = n
    return lines


def fit_rows(ws: Worksheet, first_row: int = 1) -> None:
    """Set the height of every row holding wrapped text so that, printed, it overlaps no other row.

    openpyxl does not size rows and a spreadsheet only does it when the file is edited,
    so LibreOffice and Excel print such rows one line high unless the height is stored.
    Rotated labels keep the height their sheet gives them; merged cells count their
    whole width.
    """
    spans: dict[str, float] = {}
    for merged in ws.merged_cells.ranges:
        spans[merged.start_cell.coordinate] = sum(
            ws.column_dimensions[get_column_letter(c)].width or 13 for c in range(merged.min_col, merged.max_col + 1))
    column_widths: dict[int, float] = {}
    # What a cell's style says about wrapping, per (alignment, font) pair, read from the workbook's
    # lists as cell.alignment and cell.font would (which build a proxy each time).
    wb = ws.parent
    looks: dict[tuple[int, int], tuple[bool, int, bool, float]] = {}
    per_line: dict[tuple[float, int, bool, float], int] = {}  # characters per line, per width and look
    heights: dict[int, float] = {}
    # The cells that exist, not iter_rows(): that creates every empty cell of the rectangle.
    for (number, column), cell in ws._cells.items():
        text = _stored(cell)
        if number < first_row or not isinstance(text, str):
            continue
        style = _indices(cell)
        if style is None:  # never styled: openpyxl's default does not wrap
            continue
        key = (style[5], style[0])  # alignmentId, fontId
        look = looks.get(key)
        if look is None:
            align, font = wb._alignments[key[0]], wb._fonts[key[1]]  # type: ignore[union-attr]
            look = looks[key] = (bool(align.wrap_text) and not align.text_rotation, int(align.indent or 0),
                                 bool(font.b), float(font.sz or 11))
        wraps, indent, bold, size = look
        if not wraps:
            continue
        width = spans.get(cell.coordinate) if spans else None
        if width is None:
            width = column_widths.get(column)
            if width is None:
                width = column_widths[column] = ws.column_dimensions[get_column_letter(column)].width or 13
        fits = per_line.get((width, indent, bold, size))
        if fits is None:
            fits = per_line[width, indent, bold, size] = _per_line(width, indent, bold, size)
        # most quotes are one line: no need to split them into words
        lines = 1 if len(text) <= fits and "\n" not in text else \
            sum(_paragraph_lines(part, fits) for part in text.split("\n"))
        height = lines * LINE_HEIGHT * size / 11
        if height > heights.get(number, 0.0):
            heights[number] = height
    dims = ws.row_dimensions
    template: dict[str, Any] | None = None
    for number in sorted(heights):
        height = heights[number]
        if not height:
            continue
        known = dims.get(number)
        if known is not None:
            known.height = max(math.ceil(height), known.height or 0)
            continue
        # A new row dimension made by copying the attributes of one made once: the
        # constructor's ten checked attributes cost a third of a second for 64,000 rows.
        if template is None:
            template = RowDimension(ws, index=0).__dict__
        dims[number] = _row_dimension(ws, template, number, float(math.ceil(height)))


class _RowHeight(RowDimension):
    """A row dimension made to hold a height. openpyxl writes a row's attributes by iterating
    its dimension, which reads its ten attributes through their descriptors (and files a
    style for it): a quarter of a second to save 64,000 rows. Iterated here straight from
    its attributes while it holds a height only, as openpyxl's would otherwise."""

    def __iter__(self) -> Iterator[tuple[str, str]]:
        attrs, style = self.__dict__, self._style  # type: ignore[attr-defined]  # a slot of StyleableObject
        if style is not None or attrs["hidden"] or attrs["outlineLevel"] or attrs["collapsed"] \
                or attrs["thickBot"] or attrs["thickTop"]:
            return super().__iter__()
        height = attrs["ht"]  # what openpyxl yields: ht when not 0, customHeight when ht is set
        if height:
            return iter((("ht", safe_string(height)), ("customHeight", "1")))
        return iter((("customHeight", "1"),) if height is not None else ())


def _row_dimension(ws: Worksheet, template: dict[str, Any], index: int, height: float) -> RowDimension:
    """``RowDimension(ws, index=index, ht=height)``, from the attributes of a default one (``template``)."""
    dim = _RowHeight.__new__(_RowHeight)
    dim.__dict__.update(template)
    dim.__dict__["index"] = index
    dim.__dict__["ht"] = height
    dim.parent = ws
    dim._style = None  # type: ignore[attr-defined]  # a slot of openpyxl's StyleableObject
    return dim
