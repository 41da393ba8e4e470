"""Large tables drawn as plain aligned text.

rich lays a table out by measuring every cell, wrapping it and drawing a box around it:
for 10,000 rows that is about 90 % of a command's time (``qda retrieve``, ``qda search``
on a 1,000-interview project). Above :data:`LARGE_TABLE` rows, the CLI prints the same
cells as plain columns instead: the title, a header, a rule, one row per line (cells of
several lines, or wider than :data:`WIDEST` characters, continue on the next lines in
their column). Nothing is cut: the last column is never padded or wrapped.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

#: Rows from which a table is drawn as plain text.
LARGE_TABLE = 1000
#: Widest a column other than the last gets; longer cells wrap within it.
WIDEST = 60


def plain_table(title: str | None, columns: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]],
                section_ends: Iterable[bool] = ()) -> str:
    """The table as text: ``columns`` are (name, right-aligned); ``rows`` plain cell texts
    (no markup); ``section_ends`` marks rows followed by a rule (rich's ``end_section``)."""
    rows = [list(r) for r in rows]
    ends = list(section_ends) + [False] * len(rows)
    names = [name for name, _ in columns]
    last = len(columns) - 1
    widths = []
    for k, name in enumerate(names):
        longest = max([len(name), *(max(map(len, r[k].split("\n"))) for r in rows)])
        widths.append(longest if k == last else min(longest, max(WIDEST, len(name))))
    right = [flag for _, flag in columns]

    def lines_of(cells: Sequence[str]) -> list[str]:
        pieces = [[part for line in cell.split("\n") for part in (
                  textwrap.wrap(line, widths[k], break_long_words=True, break_on_hyphens=False) or [""]
                  if k != last and len(line) > widths[k] else [line])] for k, cell in enumerate(cells)]
        height = max(len(p) for p in pieces)
        out = []
        for i in range(height):
            parts = []
            for k, piece in enumerate(pieces):
                text = piece[i] if i < len(piece) else ""
                if k == last:
                    parts.append(text.rjust(widths[k]) if right[k] else text)
                else:
                    parts.append(text.rjust(widths[k]) if right[k] else text.ljust(widths[k]))
            out.append("  ".join(parts).rstrip())
        return out

    rule = "  ".join("─" * w for w in widths)
    text = [title] if title else []
    text += lines_of(names) + [rule]
    for row, end in zip(rows, ends):
        text += lines_of(row)
        if end:
            text.append(rule)
    return "\n".join(text)
