"""Everything a reader sees of an .xlsx workbook, read back with openpyxl, as plain JSON data.

Used to hold the synthesis workbook's look fixed while its writer is made faster: every
cell's value, number format, font, fill, alignment, border and comment; merged ranges,
column widths, row heights, frozen panes, conditional formatting, charts and the print
setup (orientation, paper, fit to width, scale, page order, margins, print titles).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from openpyxl import load_workbook


def _color(color: Any) -> Any:
    if color is None:
        return None
    return [color.type, color.rgb if color.type == "rgb" else color.theme if color.type == "theme" else color.indexed,
            color.tint]


def _side(side: Any) -> Any:
    return [side.style, _color(side.color)] if side is not None and side.style else None


def _cell(cell: Any) -> list[Any]:
    font, fill, align, border = cell.font, cell.fill, cell.alignment, cell.border
    value = cell.value
    return [
        value if not isinstance(value, float) else repr(value),
        type(value).__name__,
        cell.number_format,
        [font.name, font.sz, font.b, font.i, font.u, _color(font.color)],
        [fill.fill_type, _color(fill.fgColor), _color(fill.bgColor)],
        [align.horizontal, align.vertical, align.wrap_text, align.indent, align.text_rotation, align.readingOrder,
         align.shrink_to_fit],
        [_side(border.left), _side(border.right), _side(border.top), _side(border.bottom)],
        [cell.comment.text, cell.comment.author, cell.comment.width, cell.comment.height] if cell.comment else None,
    ]


def look(path: Path) -> dict[str, Any]:
    """The look of every sheet of the workbook at ``path`` (JSON-serialisable)."""
    wb = load_workbook(path)
    sheets: dict[str, Any] = {}
    for ws in wb.worksheets:
        setup, props = ws.page_setup, ws.sheet_properties.pageSetUpPr
        cells = {cell.coordinate: _cell(cell) for row in ws.iter_rows() for cell in row
                 if cell.value is not None or cell.has_style}
        sheets[ws.title] = {
            "dimensions": ws.dimensions,
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "widths": {k: [d.width, d.hidden] for k, d in sorted(ws.column_dimensions.items())},
            "heights": {str(k): d.height for k, d in sorted(ws.row_dimensions.items()) if d.height is not None},
            "freeze": ws.freeze_panes,
            "conditional": sorted(
                [str(rng.sqref), [[r.type, r.operator, r.formula,
                                   r.dxf.fill.fgColor.rgb if r.dxf is not None and r.dxf.fill is not None else None,
                                   [[v.type, v.val] for v in r.colorScale.cfvo] if r.colorScale else None,
                                   [c.rgb for c in r.colorScale.color] if r.colorScale else None]
                                  for r in rules]]
                for rng, rules in ws.conditional_formatting._cf_rules.items()),
            "charts": [[type(c).__name__, c.width, c.height] for c in ws._charts],
            "print": {
                "orientation": setup.orientation, "paper": setup.paperSize, "fitToWidth": setup.fitToWidth,
                "fitToHeight": setup.fitToHeight, "scale": setup.scale, "pageOrder": setup.pageOrder,
                "fitToPage": props.fitToPage if props is not None else None,
                "margins": [ws.page_margins.left, ws.page_margins.right, ws.page_margins.top,
                            ws.page_margins.bottom],
                "title_rows": ws.print_title_rows, "title_cols": ws.print_title_cols,
            },
        }
    return {"properties": [wb.properties.creator, wb.properties.title], "sheets": sheets}


def digest(data: dict[str, Any]) -> str:
    """A short fingerprint of a look, to name it in a message."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def differences(expected: dict[str, Any], actual: dict[str, Any], limit: int = 20) -> list[str]:
    """The first ``limit`` places where two looks differ, each as 'sheet / part / key: old != new'."""
    out: list[str] = []
    if expected.get("properties") != actual.get("properties"):
        out.append(f"properties: {expected.get('properties')} != {actual.get('properties')}")
    old_sheets, new_sheets = expected["sheets"], actual["sheets"]
    if list(old_sheets) != list(new_sheets):
        out.append(f"sheets: {list(old_sheets)} != {list(new_sheets)}")
    for title in old_sheets:
        old, new = old_sheets[title], new_sheets.get(title, {})
        for part in old:
            a, b = old[part], new.get(part)
            if a == b:
                continue
            if isinstance(a, dict) and isinstance(b, dict):
                for key in sorted(set(a) | set(b)):
                    if a.get(key) != b.get(key):
                        out.append(f"{title} / {part} / {key}: {a.get(key)!r} != {b.get(key)!r}")
                        if len(out) >= limit:
                            return out
            else:
                out.append(f"{title} / {part}: {a!r} != {b!r}")
            if len(out) >= limit:
                return out
    return out
