"""A result's table written as an Excel sheet or a self-contained HTML page (``qda retrieve -o``)."""

from __future__ import annotations

import html
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from qda import files
from qda.errors import ExportError
from qda.export import typography
from qda.files import check_target, write_atomically

if TYPE_CHECKING:  # openpyxl (0.15 s of start-up) is imported when a sheet is written: the HTML reports never need it
    from openpyxl import Workbook

TABLE_FORMATS = (".xlsx", ".html", ".csv")
WIDE = 70  # characters: columns holding passages wrap at this width
LINE_HEIGHT = 15  # points per wrapped line (Calibri 11)


def write_table(path: str | Path, frame: Any, title: str, *, csv_safe: bool = False) -> Path:
    """Write ``frame`` to .xlsx (wrapped text, row heights set so nothing overlaps when
    printed), .html (escaped, inline CSS) or .csv, chosen by the extension; ``csv_safe``
    puts ' before CSV text starting with = + - @ (the xlsx holds it as text anyway)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise ExportError(f"cannot write a table as '{path.suffix or path.name}' (use .xlsx, .html or .csv)")
    check_target(path, f"table{suffix}")
    if suffix == ".csv":
        if csv_safe:
            frame = frame.map(files.csv_safe)
        write_atomically(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8-sig"))
    elif suffix == ".html":
        text = html_page(frame, title)
        write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    else:
        write_atomically(path, _workbook(frame, title).save)
    return path


def _workbook(frame: Any, title: str) -> Workbook:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from qda.export.style import BOLD, HEADER_FILL, WRAP, print_setup, put

    wb = Workbook()
    ws = wb.create_sheet(title[:31])
    wb.remove(wb.worksheets[0])
    columns = [str(c) for c in frame.columns]
    for c, name in enumerate(columns, start=1):
        put(ws, 1, c, name, font=BOLD, fill=HEADER_FILL, align=WRAP)
    widths = []
    for i, name in enumerate(columns):
        longest = max([len(name)] + [len(str(v)) for v in frame.iloc[:, i] if v is not None])
        widths.append(min(WIDE, max(8, longest + 2)))
        ws.column_dimensions[get_column_letter(i + 1)].width = widths[-1]
    for r, row in enumerate(frame.itertuples(index=False), start=2):
        lines = 1
        for c, value in enumerate(row, start=1):
            value = None if value is None or (isinstance(value, float) and value != value) else value
            put(ws, r, c, value, align=WRAP)
            text = str(value or "")
            lines = max(lines, sum(1 + len(part) // max(1, int(widths[c - 1]) - 1) for part in text.split("\n")))
        ws.row_dimensions[r].height = LINE_HEIGHT * lines
    ws.freeze_panes = "A2"
    print_setup(ws, header_rows="1:1")
    return wb


CSS = """body{margin:2rem;color:#111}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:.3rem .5rem;
vertical-align:top;text-align:left;overflow-wrap:break-word}th{background:#e6e6e6}"""


def html_table(frame: Any) -> str:
    """An escaped HTML table of a frame (empty cells for missing values)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(  # dir="auto": an Arabic or Hebrew quote reads right to left
            f"<td dir=\"auto\">{'' if v is None or (isinstance(v, float) and v != v) else html.escape(str(v))}</td>"
            for v in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_page(frame: Any, title: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}{typography.css()}</style></head><body><h1>{html.escape(title)}</h1>{html_table(frame)}"
            "</body></html>\n")


def html_template(name: str, filters: dict[str, Callable[..., str]] | None = None) -> jinja2.Template:
    """A report template of ``qda/templates`` with autoescape on (every project text escaped)."""
    try:
        source = resources.files("qda").joinpath("templates").joinpath(name).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError) as exc:
        raise ExportError(f"the report template {name} is missing from the qda installation "
                          "(reinstall qda)") from exc
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(filters or {})
    return env.from_string(source)
