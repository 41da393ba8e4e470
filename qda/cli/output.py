"""How a command prints: a result as a table, CSV or JSON (the API's ``to_dict()``), on the
consoles every command shares."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qda.cli.plain import LARGE_TABLE, plain_table
from qda.models import OutputFormat
from qda.results import Interval, Note, Result, Share, TableView

out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True)


CSV_SAFE = [False]


def csv_text(frame: Any) -> str:
    """A frame as CSV, with leading = + - @ neutralised when --csv-safe was given."""
    if CSV_SAFE[0]:
        from qda.files import csv_safe

        frame = frame.map(csv_safe)
    return str(frame.to_csv(index=False))


def render(result: Result, fmt: OutputFormat) -> None:
    """Print any result: JSON is its to_dict(), CSV its to_frame(), a table its to_table().

    The one place where ``--format`` is interpreted, so it means the same on every command.
    """
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif fmt is OutputFormat.CSV:
        typer.echo(csv_text(result.to_frame()), nl=False)
    else:
        print_view(result.to_table())


_ROW_STYLES = {"heading": "bold", "subtotal": "italic", "total": "bold"}


def print_view(view: TableView) -> None:
    """Print a table view: its lead lines, the table, then the notes after it."""
    for note in view.lead:  # sentences, printed whole like echo
        out.print(_note(note), soft_wrap=True)
    if view.columns and len(view.rows) >= LARGE_TABLE:  # rich's layout: most of the time of 10,000 rows
        typer.echo(plain_table(view.title, [(c.name, c.numeric) for c in view.columns],
                               ([cell_text(c, markup=False) for c in row.cells] for row in view.rows),
                               [row.section_end for row in view.rows]))
    elif view.columns:
        table = Table(title=escape(view.title) if view.title else None, show_lines=view.lines)
        for column in view.columns:
            table.add_column(escape(column.name), justify="right" if column.numeric else "left")
        for row in view.rows:
            table.add_row(*(cell_text(c) for c in row.cells), style=_ROW_STYLES.get(row.kind),
                          end_section=row.section_end)
        out.print(table)
    for note in view.notes:
        out.print(_note(note))


def _note(note: Note) -> str:
    if note.kind == "warning":
        return f"[yellow]{escape(note.text)}[/yellow]"
    if note.kind == "aside":
        return f"[dim]· {escape(note.text)}[/dim]"
    return escape(note.text)


def cell_text(cell: Any, markup: bool = True) -> str:
    """A typed cell as terminal text: the display rounding of every table lives here
    (``markup``: escaped for rich; else plain, for :func:`qda.cli.plain.plain_table`)."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return ""
    if isinstance(cell, Interval):
        if cell.value is None:
            return "undef."
        text = f"{cell.value:.3f}"
        if cell.low is not None and cell.high is not None:
            text += f" [{cell.low:.2f}, {cell.high:.2f}]"
        return text
    if isinstance(cell, Share):
        if cell.share is None:
            return "" if cell.count is None else str(cell.count)
        percent = f"{cell.share * 100:.0f} %"
        return percent if cell.count is None else f"{cell.count} ({percent})"
    if isinstance(cell, float) and not isinstance(cell, bool):
        return str(int(cell)) if cell.is_integer() else f"{cell:.3f}"
    return escape(str(cell)) if markup else str(cell)
