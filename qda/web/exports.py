"""CSV and XLSX downloads of the retrieval view (spreadsheet-safe: no formulas from transcript text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from qda.files import csv_safe, inert_row


def rows_to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([[csv_safe(v) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 accents right


def rows_to_xlsx(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.worksheets[0])
    sheet = book.create_sheet("Retrieval")
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(inert_row(sheet, list(row)))  # text stays text, unchanged
    widths = {"before": 40, "text": 60, "after": 40, "memo": 30}
    for i, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = widths.get(name, 12)
        if name in widths:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
