"""Tables (CSV and XLSX) read without formulas or styles: case tables, survey exports,
coding sheets and ratings. A plain workbook is read by scanning its XML (fast at 100,000 rows);
anything unusual falls back to a full parse."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Collection
from operator import itemgetter
from pathlib import Path
from typing import Any

from qda.errors import AgreementError, IngestError, Problem
from qda.ingest.readers import check_zip, read_bytes
from qda.ingest.text import decode_bytes, match_key, normalise_text


def _damaged_xlsx(path: Path, exc: Exception) -> IngestError:
    return IngestError(f"{path}: not a readable .xlsx file ({exc.__class__.__name__})",
                       [Problem(str(path), "the file is damaged or not an Excel workbook",
                                "open it in Excel and save it again as .xlsx")])


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


class _NotSimple(Exception):
    """The workbook uses something the fast reader leaves to openpyxl."""


class _Table:
    """A worksheet or CSV as read: as columns (the fast xlsx reader finds cells column by
    column) or as rows (the XML parser, openpyxl, csv); each form is made from the other
    only when asked for."""

    def __init__(self, rows: list[list[object]] | None = None, columns: list[list[object]] | None = None) -> None:
        self._rows, self._columns = rows, columns

    def rows(self) -> list[list[object]]:
        """The rows, as openpyxl's ``iter_rows(values_only=True)`` gives them."""
        if self._rows is None:
            self._rows = [list(row) for row in zip(*self._columns or ())]
        return self._rows

    def columns(self) -> tuple[list[object], list[list[object]]] | None:
        """Row 1 as it is, and each column's cells in the rows below it (None where a row is
        shorter); None when there is no row at all."""
        if self._columns is not None:
            if not self._columns or not self._columns[0]:
                return None
            return [column[0] for column in self._columns], [column[1:] for column in self._columns]
        rows = self._rows
        if not rows:
            return None
        body = rows[1:]
        width = max(map(len, rows))
        return rows[0], [[row[i] if i < len(row) else None for row in body] for i in range(width)]


def _xlsx_rows(path: Path, sheet: str | None, formulas: bool = False,
               columns: Collection[str] | None = None) -> list[list[object]] | None:
    """The rows :func:`read_table` gets from openpyxl (read-only, cached values), read faster."""
    table = _xlsx_table(path, sheet, formulas, columns)
    return None if table is None else table.rows()


def _xlsx_table(path: Path, sheet: str | None, formulas: bool = False,
                columns: Collection[str] | None = None) -> _Table | None:
    """The rows :func:`read_table` gets from openpyxl (read-only, cached values), read faster.

    openpyxl spends ~13 µs of Python per cell; a coding sheet of 1,000 interviews has a
    million cells. This reads the sheet XML with one regular expression (or, for XML it
    does not expect, lxml's iterparse) and keeps openpyxl's conventions (row padding to
    the sheet's declared size, numbers as int or float, empty rich text as ""). With
    ``columns``, only the columns whose header (row 1) is one of these names (as
    :func:`match_key` gives them) are read; the others are None. Whatever it does not
    handle the same way (date-formatted numbers, ISO dates, missing or odd parts, any
    error) returns ``None``: the caller then reads the file with openpyxl, which also
    reports damaged files.
    """
    from xml.etree.ElementTree import fromstring

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            workbook = fromstring(archive.read("xl/workbook.xml"))
            rels = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {}
            for rel in rels.iter(f"{_RELS}Relationship"):
                target = rel.get("Target", "")
                target = target[1:] if target.startswith("/") else "xl/" + target
                targets[rel.get("Id")] = (rel.get("Type", "").rsplit("/", 1)[-1], target)
            sheets = [(node.get("name"), targets.get(node.get(f"{_DOC_RELS}id"), ("", ""))) for node in
                      workbook.iter(f"{_MAIN}sheet")]
            worksheets = [(name, target) for name, (kind, target) in sheets if kind == "worksheet"]
            by_name = dict(worksheets)
            if sheet is not None:
                if sheet not in by_name:
                    return None
                chosen = by_name[sheet]
            elif "Coding" in by_name:
                chosen = by_name["Coding"]
            elif worksheets:
                chosen = worksheets[0][1]
            else:
                return None
            if chosen not in names:
                return None
            strings: list[str] = []
            shared = next((t for kind, t in targets.values() if kind == "sharedStrings"), None)
            if shared in names:
                for node in fromstring(archive.read(shared)).iter(f"{_MAIN}si"):
                    strings.append(_rich_text(node).replace("x005F_", ""))
            dates: set[int] = set()
            styles = next((t for kind, t in targets.values() if kind == "styles"), None)
            if styles in names:
                dates = _date_styles(fromstring(archive.read(styles)))
            data = archive.read(chosen)
    except (_NotSimple, KeyError, ValueError, IndexError, OSError, zipfile.BadZipFile, SyntaxError):
        return None
    except Exception:  # noqa: BLE001 - e.g. XML errors of either parser: openpyxl decides
        return None
    try:
        return _Table(columns=_scan_columns(data, strings, dates, formulas, columns))
    except Exception:  # noqa: BLE001, S110 - anything unexpected: the XML parser reads it (or gives up)
        pass
    try:
        from lxml.etree import iterparse  # openpyxl's accelerator
    except ImportError:  # pragma: no cover - lxml comes with openpyxl's usual installs
        from xml.etree.ElementTree import iterparse
    import io

    try:
        tags = [f"{_MAIN}row", f"{_MAIN}dimension"]
        try:  # lxml hands only these elements to Python
            events = iterparse(io.BytesIO(data), events=("end",), tag=tags)
        except TypeError:  # pragma: no cover - the standard library's parser
            events = iterparse(io.BytesIO(data), events=("end",))
        return _Table(rows=_sheet_rows(events, strings, dates, formulas))
    except (_NotSimple, KeyError, ValueError, IndexError, OSError, SyntaxError):
        return None
    except Exception:  # noqa: BLE001 - e.g. XML errors of either parser: openpyxl decides
        return None


def _date_styles(tree: Any) -> set[int]:
    """Indexes of the cell formats (``s``) that show numbers as dates (openpyxl reads those as dates)."""
    custom = {int(f.get("numFmtId", -1)): f.get("formatCode", "") for f in tree.iter(f"{_MAIN}numFmt")}
    xfs = tree.find(f"{_MAIN}cellXfs")
    formats = {index: int(xf.get("numFmtId", 0)) for index, xf in enumerate(xfs if xfs is not None else ())}
    # Text and General formats are the usual case (and all a coding sheet has): no need for
    # openpyxl's table of formats, whose import alone takes half a second.
    if all(fmt == 0 or custom.get(fmt) in ("General", "@") for fmt in formats.values()):
        return set()
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    return {index for index, fmt in formats.items()
            if (fmt in custom or fmt in BUILTIN_FORMATS) and is_date_format(custom.get(fmt, BUILTIN_FORMATS.get(fmt)))}


def _rich_text(node: object) -> str:
    """The text of a shared or inline string: its plain text then its runs' texts (as openpyxl)."""
    parts = []
    for child in node:  # type: ignore[attr-defined]
        if child.tag == _T:
            if child.text is not None:
                parts.append(child.text)
        elif child.tag == _R:
            for part in child:
                if part.tag == _T and part.text is not None:
                    parts.append(part.text)
    return "".join(parts)


_T, _R, _V, _IS, _F = f"{_MAIN}t", f"{_MAIN}r", f"{_MAIN}v", f"{_MAIN}is", f"{_MAIN}f"


class Formula(str):
    """A spreadsheet cell holding a formula that was never computed (no cached value), as its
    formula text: readers report it with its row instead of reading it as an empty cell."""


def _column(ref: str) -> int:
    number = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            number = number * 26 + ord(ch) - 64
        elif ch.isdigit():
            break
        else:
            raise _NotSimple(ref)
    return number


def _cell_value(kind: str, style: int, text: str | None, inline: object, formula: str | None,
                strings: list[str], dates: set[int], formulas: bool) -> object:
    """A cell's value as openpyxl reads it, from its type, style, ``<v>`` text, ``<is>`` node and ``<f>`` text."""
    if formulas and formula is not None and not text and kind != "inlineStr":
        return Formula("=" + formula)  # never computed: the caller names the row
    if kind == "inlineStr":
        return _rich_text(inline) if inline is not None else None
    if not text:
        return None
    if kind == "n":
        if style in dates:
            raise _NotSimple("a date")
        return float(text) if ("." in text or "E" in text or "e" in text) else int(text)
    if kind == "s":
        return strings[int(text)]
    if kind == "b":
        return bool(int(text))
    if kind in ("str", "e"):
        return text
    raise _NotSimple(kind)


def _sheet_rows(events: object, strings: list[str], dates: set[int],
                formulas: bool = False) -> list[list[object]]:
    """Rows as openpyxl's read-only ``iter_rows(values_only=True)`` gives them; with ``formulas``,
    a formula never computed is a :class:`Formula` instead of None."""
    row_tag, dim_tag, cell_tag = f"{_MAIN}row", f"{_MAIN}dimension", f"{_MAIN}c"
    max_col: int | None = None
    max_row: int | None = None
    parsed: list[tuple[int, list[tuple[int, object]]]] = []
    row_counter = 0
    for _, element in events:  # type: ignore[attr-defined]
        tag = element.tag
        if tag == row_tag:
            r = element.get("r")
            row_counter = int(r) if r is not None else row_counter + 1
            cells: list[tuple[int, object]] = []
            col_counter = 0
            for cell in element:
                if cell.tag != cell_tag:
                    continue
                ref = cell.get("r")
                col_counter = _column(ref) if ref else col_counter + 1
                text = None
                inline = None
                formula = None
                for child in cell:
                    if child.tag == _V:
                        text = child.text
                    elif child.tag == _IS:
                        inline = child
                    elif child.tag == _F:
                        formula = child.text or ""
                cells.append((col_counter, _cell_value(cell.get("t", "n"), int(cell.get("s", 0) or 0), text, inline,
                                                       formula, strings, dates, formulas)))
            parsed.append((row_counter, cells))
            element.clear()
        elif tag == dim_tag:
            max_col, max_row = _dimension(element.get("ref", ""))
    # The declared size is only a claim: never pad beyond the rows and columns present.
    if max_row is not None:
        max_row = min(max_row, max((number for number, _ in parsed), default=0))
    if max_col is not None:
        max_col = min(max_col, max((column for _, cells in parsed for column, _ in cells), default=0))
    return _padded(parsed, max_col, max_row)


def _dimension(ref: str) -> tuple[int | None, int | None]:
    """The last column and row of a sheet's declared size (``A1:H100``), when it declares one."""
    last = ref.split(":")[-1]
    if not (ref and last[:1].isalpha()):
        return None, None
    digits = last[len(last.rstrip("0123456789")):]
    return _column(last), int(digits) if digits else None


def _padded(parsed: list[tuple[int, list[tuple[int, object]]]], max_col: int | None,
            max_row: int | None) -> list[list[object]]:
    """Rows (number, [(column, value)]) as openpyxl lists them: missing rows and cells as None,
    every row as wide as the declared size, nothing beyond the declared last row."""
    rows: list[list[object]] = []
    counter, idx = 1, 1
    empty = [None] * max_col if max_col is not None else []
    for idx, found in parsed:
        if max_row is not None and idx > max_row:
            break
        while counter < idx:
            counter += 1
            rows.append(list(empty))
        if counter <= idx:
            counter += 1
            if not found and not max_col:
                rows.append([])
                continue
            width = max_col or found[-1][0]
            row: list[object] = [None] * width
            for column, value in found:
                if 1 <= column <= width:
                    row[column - 1] = value
            rows.append(row)
    if max_row is not None and max_row < idx:
        rows.extend(list(empty) for _ in range(counter, max_row + 1))
    return rows


# The sheet XML as Excel, LibreOffice, openpyxl and qda write it: unprefixed elements, every
# cell and row starting with its reference. _scan_columns checks that the whole sheet is so
# before trusting these expressions; anything else goes to the XML parser.
_DIMENSION_RE = re.compile(rb'<dimension ref="([^"]*)"')
_UNUSUAL_TAG_RE = re.compile(rb'<(?:c|row)(?=[\s/>])(?! r=")')
_ATTR_RE = re.compile(rb'\s([\w:.-]+)="([^"]*)"')
_SEPARATOR_TEXT = "\ue000"  # joins cell texts (a private-use character: no cell should hold it)
_SEPARATOR = _SEPARATOR_TEXT.encode()


def _xml_text(text: str) -> str:
    """Character data as an XML parser gives it: line ends normalised, references replaced."""
    if "&" in text or "\r" in text:
        from xml.etree.ElementTree import fromstring

        return fromstring(f"<t>{text}</t>").text or ""
    return text


def _scan_columns(data: bytes, strings: list[str], dates: set[int], formulas: bool,
                  columns: Collection[str] | None) -> list[list[object]]:
    """The cells of a worksheet's XML column by column (the rows of :func:`_sheet_rows`,
    transposed), found by regular expressions; raises :class:`_NotSimple` when the XML is
    not in the usual form these expect."""
    from xml.etree.ElementTree import fromstring

    if b"<!" in data:
        raise _NotSimple("comments, CDATA or a DTD")
    root = re.search(rb"<([\w.-]+:)?worksheet\b[^>]*>", data)
    if root is None or root.group(1) or f'xmlns="{_MAIN[1:-1]}"'.encode() not in root.group(0):
        raise _NotSimple("a prefixed or foreign namespace")
    begin = data.find(b"<sheetData", root.end())
    if begin < 0:
        raise _NotSimple("no sheetData")
    end = begin if data.startswith(b"<sheetData/>", begin) else data.rfind(b"</sheetData>")
    dim = _DIMENSION_RE.search(data, 0, begin)
    max_col, max_row = _dimension(dim.group(1).decode()) if dim else (None, None)
    if (end < begin or max_col is None or max_row is None or _UNUSUAL_TAG_RE.search(data, begin, end)
            or data.find(b"xmlns", begin, end) >= 0):
        raise _NotSimple("no declared size, or cells or rows without their reference first")
    if max_row * max_col > len(data):
        # The declared size is only a claim (a 60 KB file may declare A1:XFD1048576): a cell
        # takes at least a few bytes, so a larger claim is cut to the cells really present.
        rows_seen = [int(n) for n in re.findall(rb'<row r="([0-9]+)"', data[begin:end])]
        columns_seen = {c for c in re.findall(rb'<c r="([A-Z]{1,3})[0-9]', data[begin:end])}
        max_row = min(max_row, max(rows_seen, default=0))
        max_col = min(max_col, max((_column(c.decode()) for c in columns_seen), default=0))

    kinds: dict[bytes, tuple[str, int]] = {}

    def kind_of(attrs: bytes) -> tuple[str, int]:
        found = kinds.get(attrs)
        if found is None:
            if b"'" in attrs:
                raise _NotSimple("single-quoted attributes")
            named = dict(_ATTR_RE.findall(attrs))
            found = kinds[attrs] = (named.get(b"t", b"n").decode(), int(named.get(b"s", b"0") or 0))
        return found

    def value(attrs: bytes, opened: bytes, inline: bytes, v: bytes, body: bytes) -> object:
        kind, style = kind_of(attrs)
        if opened:
            if kind == "inlineStr":
                return _xml_text(inline.decode())
            body = b"<is>" + opened + inline + b"</t></is>"
        elif v:
            if kind == "s":
                return strings[int(v)]
            return _cell_value(kind, style, _xml_text(v.decode()), None, None, strings, dates, formulas)
        node = fromstring(b'<c xmlns="' + _MAIN[1:-1].encode() + b'">' + body + b"</c>")
        v_node, is_node, f_node = node.find(_V), node.find(_IS), node.find(_F)
        return _cell_value(kind, style, v_node.text if v_node is not None else None, is_node,
                           (f_node.text or "") if f_node is not None else None, strings, dates, formulas)

    # A cell with content: its column, row, other attributes, then a plain inline string,
    # a plain value, or any other content (rich text, formulas) for the XML parser. Empty
    # cells (<c .../> or <c ...></c>) do not match: they read as None.
    cell = (rb'"([^>]*)(?<!/)>(?:<is>(<t(?: xml:space="preserve")?>)([^<]*)</t></is>|<v>([^<]*)</v>'
            rb"|(<(?!/c>).*?))</c>")
    table: list[list[object]] = [[None] * max_row for _ in range(max_col)]
    letters = "[A-Z]{1,3}"
    if columns is not None and max_row:
        # Row 1 names the columns: read it whole, then only the wanted columns of the others.
        first = re.compile(rb'<c r="([A-Z]{1,3})1' + cell, re.S)
        for col, *found in first.findall(data, begin, data.find(b"</row>", begin)):
            if _column(col.decode()) <= max_col:
                table[_column(col.decode()) - 1][0] = value(*found)
        wanted = {match_key(v) for v in columns}
        letters = "|".join(column_letters(i) for i, column in enumerate(table, start=1)
                           if column[0] is not None and match_key(column[0]) in wanted) or "(?!)"
    pattern = re.compile(rb'<c r="(' + letters.encode() + rb')([0-9]+)' + cell, re.S)
    cells = pattern.findall(data, begin, end)
    if not cells:
        return table
    # A million cells at 1,000 interviews: each step below runs over all of them at once,
    # in C, rather than cell by cell in Python.
    refs, numbers, attrs, opened, inline = (list(map(itemgetter(k), cells)) for k in range(5))
    plain = {a for a in set(attrs) if kind_of(a)[0] == "inlineStr"}
    # The usual cell is a plain inline string (what qda and openpyxl write): the texts of
    # all cells are decoded at once, joined by a character of Unicode's private use area.
    joined = _SEPARATOR.join(inline)
    try:
        if b"&" in joined or b"\r" in joined:
            # Character references (openpyxl writes every accent as one) or carriage returns:
            # the XML parser reads them all as one text, far faster than text by text.
            texts = (fromstring(b"<x>" + joined + b"</x>").text or "").split(_SEPARATOR_TEXT)
        else:
            texts = joined.decode().split(_SEPARATOR_TEXT)
    except SyntaxError:  # a character XML forbids: the texts without references are read as they are
        texts = []
    values: list[object] = list(texts)
    if len(values) != len(inline):  # a text held the separator, or see above
        values = [_xml_text(text.decode()) for text in inline]
    # Every other cell (numbers, shared strings, rich text, formulas) one by one.
    if not all(opened) or len(plain) < len(set(attrs)):
        for i, (kind, is_open) in enumerate(zip(attrs, opened)):
            if not is_open or kind not in plain:
                values[i] = value(*cells[i][2:])
    del cells
    targets: dict[bytes, list[object] | None] = {
        ref: table[_column(ref.decode()) - 1] if _column(ref.decode()) <= max_col else None for ref in set(refs)}
    for ref, r, found in zip(refs, map(int, numbers), values):
        target = targets[ref]
        if target is not None and 0 < r <= max_row:  # beyond the declared size: openpyxl leaves it out
            target[r - 1] = found
    return table


def column_letters(index: int) -> str:
    """A spreadsheet column's letters from its number: 1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_table(path: str | Path, *, sheet: str | None = None, formulas: bool = False,
               columns: Collection[str] | None = None) -> list[list[object]]:
    """Rows of a spreadsheet: the named sheet (else 'Coding', else the first) of an .xlsx, or a
    CSV with ',', ';' or tab.

    ``columns`` (header names) is a hint: the cells of other columns may be read as None.

    CSV files are decoded like transcripts (Excel on Windows often writes cp1252).
    """
    return _read_table(Path(path), sheet, formulas, columns).rows()


def read_table_columns(path: str | Path, *, sheet: str | None = None, formulas: bool = False,
                       columns: Collection[str] | None = None) -> tuple[list[object], list[list[object]]] | None:
    """The table of :func:`read_table` column by column: row 1 as it is, and each column's
    cells in the rows below it (None where a row is shorter); None when the table has no row.

    Faster than the rows for a large sheet: the xlsx reader finds the cells column by column.
    """
    return _read_table(Path(path), sheet, formulas, columns).columns()


def _read_table(path: Path, sheet: str | None, formulas: bool, columns: Collection[str] | None) -> _Table:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        read_bytes(path)
        check_zip(path)  # before any reader inflates it: a zip bomb is refused up front
        fast = _xlsx_table(path, sheet, formulas, columns)
        if fast is not None:
            return fast
        # A damaged workbook fails inside openpyxl, while opening or (read-only mode
        # streams) while reading rows, with whatever zipfile, zlib or the XML parser raised.
        from openpyxl import load_workbook

        damaged = (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, zlib.error, TypeError,
                   IndexError, AttributeError, NotImplementedError, RuntimeError, SyntaxError)
        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except damaged as exc:
            raise _damaged_xlsx(path, exc) from None
        try:
            if sheet is not None and sheet not in wb.sheetnames:
                raise IngestError(f"{path}: no sheet named '{sheet}' (sheets: {', '.join(wb.sheetnames)})")
            chosen = wb[sheet] if sheet else wb["Coding"] if "Coding" in wb.sheetnames else wb.worksheets[0]
            claimed = (chosen.max_row or 0) * (chosen.max_column or 0)
            if claimed > 64 * path.stat().st_size and hasattr(chosen, "reset_dimensions"):
                # a size no file this small can fill (A1:XFD1048576 in a few KB): read the cells present
                chosen.reset_dimensions()
            return _Table(rows=[list(row) for row in chosen.iter_rows(values_only=True)])
        except damaged as exc:
            raise _damaged_xlsx(path, exc) from None
        finally:
            wb.close()
    if suffix in (".csv", ".tsv", ".txt"):
        import csv
        import io

        text, _ = decode_bytes(read_bytes(path), str(path))
        text = normalise_text(text)
        first = text.split("\n", 1)[0]
        delimiter = max(",;\t", key=first.count)
        rows = csv.reader(io.StringIO(text), delimiter=delimiter)
        try:
            return _Table(rows=[list(row) for row in rows])
        except csv.Error as exc:  # e.g. a cell over the csv module's 131,072-character limit
            line = rows.line_num
            raise IngestError(f"{path}:{line}: cannot read this CSV line ({exc})",
                              [Problem(f"{path}:{line}", str(exc),
                                       "a cell this long is usually a quote (\") left open on an earlier line; "
                                       "close it, or save the table as .xlsx")]) from None
    raise IngestError(f"{path}: unsupported table type '{suffix or '(none)'}'",
                      [Problem(str(path), "use .csv or .xlsx")])


def read_ratings(path: str | Path) -> Any:
    """A plain units x coders table (CSV/XLSX; one column per coder) as a DataFrame of labels.

    A first column named unit, units, id, item, segment or case holds unit names and is dropped.
    """
    import pandas as pd

    rows = read_table(Path(path))
    if len(rows) < 2:
        raise AgreementError(f"{path}: the table has no data rows")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    frame = pd.DataFrame([list(r) + [None] * (len(header) - len(r)) for r in rows[1:]], columns=header)
    if header and header[0].lower() in ("unit", "units", "id", "item", "segment", "case"):
        frame = frame.drop(columns=header[0])
    return frame
