"""The contract every result of the API keeps, so that one renderer serves all commands.

A result (a matrix, an agreement report, an import report...) offers three views:

* ``to_dict()`` — JSON-safe plain data at full precision; the CLI's ``--format json``
  prints exactly this.
* ``to_frame()`` — a typed pandas DataFrame (numbers as ints/floats, an interval as
  ``low``/``high`` columns, never a formatted string); ``--format csv`` writes it.
* ``to_table()`` — a :class:`TableView`: what a terminal table shows, with typed cells.
  Rounding and styling for display are the renderer's job (``qda.cli.render``).

pandas is imported inside the ``to_frame`` methods: most commands never build a frame.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Interval:
    """A value with its interval, shown as ``0.812 [0.70, 0.95]`` (``undef.`` without a value)."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Share:
    """A share of a whole (0..1), shown as a percentage after its count when there is one."""

    share: float | None
    count: int | None = None


Cell = str | int | float | Interval | Share | None


@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False  # right-aligned


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    kind: str = ""  # "" | "heading" | "subtotal" | "total": the renderer styles each kind
    section_end: bool = False  # a rule under the row


@dataclass(frozen=True)
class Note:
    """A line printed with a table: before it (``lead``) or after it."""

    text: str
    kind: str = ""  # "" | "warning" | "aside"


@dataclass(frozen=True)
class TableView:
    """What a terminal shows of a result: an optional table between lead and trailing lines."""

    title: str | None = None
    columns: tuple[Column, ...] = ()
    rows: tuple[Row, ...] = ()
    lead: tuple[Note, ...] = ()
    notes: tuple[Note, ...] = ()
    lines: bool = False  # rules between rows (cells of several lines)


@runtime_checkable
class Result(Protocol):
    """What every result of the API implements (see the module docstring)."""

    def to_dict(self) -> dict[str, Any]: ...

    def to_frame(self) -> pd.DataFrame: ...

    def to_table(self) -> TableView: ...


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses and mappings as dicts, tuples as lists,
    Enums and paths as strings, numpy scalars as Python numbers, NaN and infinities as None."""
    if value is None or isinstance(value, (bool, int)) and not isinstance(value, Enum):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars, without importing numpy
    if callable(item):
        return jsonable(item())
    return value


def json_dict(value: Any) -> dict[str, Any]:
    """:func:`jsonable` of a mapping or a dataclass instance: the ``to_dict()`` of a result."""
    data = jsonable(value)
    if not isinstance(data, dict):
        raise TypeError(f"{type(value).__name__} is not a mapping or a dataclass")
    return data


def frame_view(frame: pd.DataFrame, title: str | None = None) -> TableView:
    """The plain table of a frame: one column per frame column, empty cells where missing.

    Columns stay left-aligned, as qda's plain tables always were.
    """
    import pandas as pd

    def cell(value: Any) -> Cell:
        if value is None or pd.api.types.is_scalar(value) and pd.isna(value):
            return None
        item = getattr(value, "item", None)  # numpy scalars as Python numbers
        value = item() if callable(item) else value
        return value if isinstance(value, (int, float, str)) else str(value)

    columns = tuple(Column(str(name)) for name in frame.columns)
    rows = tuple(Row(tuple(cell(v) for v in row)) for row in frame.itertuples(index=False))
    return TableView(title, columns, rows)
