"""The code x code grid of ``qda matrix cooccur`` as a terminal shows it.

A grid of 100 codes does not fit a terminal: rich squeezed every column until each cell
read ``0.…``. Here the columns are cut into blocks that fit the terminal's width (as R
prints a wide matrix), each cell takes three characters (".25", "1", "·"), one legend
says how to read them, and the pairs that carry a note are counted on one line instead
of listed (``--format csv`` lists them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qda.analysis import Cooccurrence, CooccurrenceTable

NEVER = "·"  # the two codes are never together
SELF = "—"  # a code with itself


def cell(value: float, measure: str) -> str:
    """A coefficient in three characters (0.25 -> ".25", 1 -> "1", 0 -> "·"); a count as is."""
    if value != value:  # NaN: undefined (or a code never used)
        return ""
    if measure == "n_ab":
        return NEVER if value == 0 else f"{value:.0f}"
    if value == 0:
        return NEVER
    if value >= 0.995:
        return "1"
    return f"{value:.2f}".lstrip("0")


def grid_lines(table: CooccurrenceTable, measure: str, level: str, width: int) -> list[str]:
    """The grid of one table as text lines at most ``width`` characters long (codes used only)."""
    used = [c for c, n in table.frequencies.items() if n]
    title = f"{table.group}: {measure} at the {level} level ({table.units} units)"
    if not used:
        return [title, "  (no code used)"]
    grid = table.matrix(measure).loc[used, used]
    label = max(len(c) for c in used)
    column = max(3, max(len(c) for c in used))
    per_block = max(1, (width - label) // (column + 1))
    blocks = math.ceil(len(used) / per_block)
    lines: list[str] = []
    for b in range(blocks):
        codes = used[b * per_block:(b + 1) * per_block]
        where = f", codes {codes[0]}–{codes[-1]} of {len(used)}" if blocks > 1 else ""
        lines.append(_fit(f"{title}{where}", width))
        lines.append(" " * label + "".join(f" {c:>{column}}" for c in codes))
        for row in used:
            values = grid.loc[row, codes].to_numpy(dtype=float)
            cells = [SELF if row == c and measure != "n_ab" else cell(float(v), measure) for c, v in zip(codes, values)]
            lines.append(f"{row:<{label}}" + "".join(f" {v:>{column}}" for v in cells))
        lines.append("")
    return lines


def legend(measure: str) -> str:
    """How to read the cells, said once under the grids."""
    if measure == "n_ab":
        return (f"cells: units holding both codes (diagonal: units holding the code), {NEVER} never together; "
                "coefficients: --measure jaccard, dice or ochiai")
    return (f"cells: {measure} to two decimals, the 0 left out (.25 = 0.25; 1 = 1.00), {NEVER} never together, "
            f"{SELF} the code itself, blank undefined; exact values: --format csv or json")


def notes_line(result: Cooccurrence, width: int) -> str | None:
    """The pairs that carry a note, counted on one line with one example (None: no note)."""
    noted = [(t.group, p) for t in result.tables for p in t.pairs if p.warning and p.n_ab]
    if not noted:
        return None
    group, first = noted[0]
    head = (f"read with care: {len(noted)} pair{'s' if len(noted) != 1 else ''} carry a note "
            f"(--format csv lists them, column 'note'), e.g. {group} {first.a}–{first.b}: ")
    return _fit(head + first.warning, width)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(1, width - 1)] + "…"


def all_lines(result: Cooccurrence, measure: str, width: int) -> Sequence[str]:
    """Every table's grid, the legend and the notes line, as ``qda matrix cooccur`` prints them."""
    lines: list[str] = []
    for table in result.tables:
        lines += grid_lines(table, measure, result.level, width)
    lines.append(legend(measure))
    note = notes_line(result, width)
    if note:
        lines.append(note)
    return lines
