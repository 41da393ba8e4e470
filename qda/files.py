"""Writing output files safely: atomic replacement, checked paths, inert spreadsheet text.

Every file qda writes (coding sheets, workbooks, reports, figures, tables, REFI-QDA
files) goes through :func:`write_atomically`, so a crash or a full disk never leaves a
half-written file; every text cell goes through :func:`text_cell` or :func:`inert_cell`,
so text that starts with ``=`` is never a formula. This module sits at the lowest layer
because the coding sheets (layer 2) and the exporters (layer 3) both need it.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qda.errors import ExportError

#: Characters that make a spreadsheet program read a CSV cell as a formula.
FORMULA_START = ("=", "+", "-", "@")


def check_target(path: Path, example: str) -> None:
    """Refuse, with a message a researcher can act on, an output path that cannot be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: the folder '{folder}' does not exist (create it first)")
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a folder, give a file name such as {example}")


def check_suffix(path: Path, suffixes: Sequence[str], what: str) -> None:
    """Refuse an output name whose extension does not match the format written into it."""
    if path.suffix.lower() not in suffixes:
        good = path.with_suffix(suffixes[0]).name
        raise ExportError(f"cannot write {path}: {what} is written as {' or '.join(suffixes)}, "
                          f"not '{path.suffix or '(no extension)'}' (e.g. {good})")


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename it over ``path``:
    a crash or a full disk leaves the old file (or none), never a half file."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _write_error(path, exc) from None
    os.close(handle)
    tmp = Path(name)
    try:
        write(tmp)
        # mkstemp makes the file private (0600): give it the mode an ordinary write would
        # (the replaced file's, else the umask's), so co-authors on a shared folder can open it.
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else _new_file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        raise _write_error(path, exc) from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def _new_file_mode() -> int:
    """The permissions ``open(path, "w")`` would give a new file under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write_error(path: Path, exc: OSError) -> ExportError:
    if isinstance(exc, PermissionError):
        return ExportError(f"cannot write {path}: permission denied "
                           f"(close the file if it is open in Excel, or check the folder's permissions)")
    if exc.errno == errno.ENOSPC:
        return ExportError(f"cannot write {path}: the disk is full (nothing was written; free some space)")
    return ExportError(f"cannot write {path}: {exc.strerror or exc}")


# ----------------------------------------------------------------------------- inert text

def inert_cell(cell: Any) -> Any:
    """Make an openpyxl cell holding text starting with '=' a string, not a formula; returns it.

    openpyxl turns any str starting with '=' into a formula; Excel then computes it (and
    drops the text): a transcript sentence or a code id like ``=2+3`` would come back changed.
    """
    if cell.data_type == "f" and isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def text_cell(sheet: Any, value: Any) -> Any:
    """A value to append to a (write-only or normal) sheet: text starting with '=' as an
    inert string cell, anything else as itself."""
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        return inert_cell(WriteOnlyCell(sheet, value=value))
    return value


def inert_row(sheet: Any, values: Sequence[Any]) -> list[Any]:
    """A row for ``sheet.append`` in which no text is a formula."""
    return [text_cell(sheet, v) for v in values]


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet opens as text: a leading ``= + - @`` gets a ``'`` before it
    (the convention Excel and LibreOffice show as plain text). Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
