"""The synthesis workbook looks the same after its writer was made faster (issue 18 item 6).

Two workbooks are read back with openpyxl (:mod:`tests.workbook_look`): the reference
study's, as ``make demo`` writes it (all nine sheets, the Reliability sheet included), and
the small synthetic study of ``tests/test_workbook.py``. Every cell's value, number format,
font, fill, alignment, border and comment, the merged ranges, column widths, row heights,
frozen panes, conditional formatting, charts and print setup are fingerprinted per sheet
and per part, and compared with ``tests/fixtures/workbook-look.json``, taken from the
writer before it was changed (the full dump is 1.3 MB: too large to keep).

A change meant to alter the look regenerates the fixture:
``QDA_UPDATE_WORKBOOK_LOOK=1 pytest tests/test_workbook_look.py`` (and says so in the commit).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qda.export.workbook import write_workbook
from tests.conftest import run
from tests.test_workbook import _data
from tests.workbook_look import digest, look

FIXTURE = Path(__file__).parent / "fixtures" / "workbook-look.json"


def fingerprints(data: dict[str, Any]) -> dict[str, Any]:
    """sheet -> part -> fingerprint (the workbook's properties under '')."""
    out: dict[str, Any] = {"": digest({"properties": data["properties"]})}
    for title, sheet in data["sheets"].items():
        out[title] = {part: digest({part: value}) for part, value in sheet.items()}
    return out


def _study_book(study_project: Path, folder: Path) -> Path:
    path = folder / "study.xlsx"
    # as examples/entry-postentry/run.sh writes it
    run(CliRunner(), "-p", study_project, "export", "workbook", "-o", path, "--coder", "consensus", "--by", "group",
        "--code-attr", "mode", "--agree", "coder-a", "--agree", "coder-b")
    return path


def test_the_workbooks_look_as_before(study_project: Path, tmp_path: Path) -> None:
    books = {"study": _study_book(study_project, tmp_path), "small": write_workbook(tmp_path / "small.xlsx", _data())}
    found = {name: fingerprints(look(path)) for name, path in books.items()}
    if os.environ.get("QDA_UPDATE_WORKBOOK_LOOK"):
        FIXTURE.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    changed = [f"{name} / {title} / {part}" for name in expected for title, parts in expected[name].items()
               for part in (parts if isinstance(parts, dict) else [""])
               if (found[name].get(title, {}).get(part) if isinstance(parts, dict) else found[name].get(title))
               != (parts[part] if isinstance(parts, dict) else parts)]
    added = [f"{name} / {title}" for name in found for title in found[name] if title not in expected[name]]
    assert not changed and not added, f"the workbook's look changed: {changed + added}"


def test_the_fingerprints_see_a_change(tmp_path: Path) -> None:
    """One cell's font, one row's height: each shows in its sheet and part only."""
    data = look(write_workbook(tmp_path / "small.xlsx", _data()))
    before = fingerprints(data)
    cell = data["sheets"]["Intra-case"]["cells"]["A3"]
    cell[3] = [*cell[3][:2], not cell[3][2], *cell[3][3:]]  # bold flipped
    data["sheets"]["Quotes"]["heights"]["3"] = 99.0
    after = fingerprints(data)
    moved = sorted(f"{t} / {p}" for t in before if isinstance(before[t], dict) for p in before[t]
                   if before[t][p] != after[t][p])
    assert moved == ["Intra-case / cells", "Quotes / heights"]


@pytest.mark.parametrize("name", ["small"])
def test_the_small_workbook_is_read_back_whole(name: str, tmp_path: Path) -> None:
    """The dump reads what the look test needs: styles, widths, heights and print setup are there."""
    sheets = look(write_workbook(tmp_path / f"{name}.xlsx", _data()))["sheets"]
    meta = sheets["Meta-matrix"]
    assert meta["cells"]["B2"][3][2] is True  # header bold
    assert meta["cells"]["B2"][4][1][1] == "00D9D9D9"  # header shade
    assert meta["cells"]["B2"][7] is not None  # the code's label as a comment
    assert meta["heights"]["3"] == 150  # rotated labels
    assert meta["freeze"] == "B4" and meta["print"]["title_rows"] == "$2:$3"
    assert meta["conditional"]
    assert sheets["Cross-case table"]["cells"]["D7"][2] == "0\"\xa0\"%"  # 80 %, a real percentage
    assert sheets["Split by mode"]["merged"] and sheets["Split by mode"]["charts"]
    assert sheets["Codebook"]["widths"]["B"][0] == 45


def test_a_row_dimension_made_fast_is_the_one_openpyxl_makes() -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.dimensions import RowDimension

    from qda.export.style import _row_dimension

    ws = Workbook().active
    template = RowDimension(ws, index=0).__dict__
    for index, height in ((1, 15.0), (7, 30.0), (64000, 150.0)):
        fast, slow = _row_dimension(ws, template, index, height), RowDimension(ws, index=index, ht=height)
        assert fast.parent is slow.parent is ws and fast._style is None and slow._style is None
        assert fast.__dict__ == slow.__dict__ and dict(fast) == dict(slow) == {"ht": f"{height:g}", "customHeight": "1"}
        assert fast._style is None  # openpyxl's files an empty style when iterated: the same index 0
        assert fast.height == height and fast.index == index and fast.customHeight
    assert RowDimension(ws, index=0).__dict__ == template  # the template is not changed by the copies
    # written as openpyxl writes its own, whatever else is set on it later
    for change in ({}, {"hidden": True}, {"outlineLevel": 2}, {"collapsed": True}, {"thickBot": True},
                   {"thickTop": True}, {"ht": 0.0}, {"ht": None}, {"ht": 22.5}, {"font": Font(bold=True)}):
        fast, slow = _row_dimension(ws, template, 3, 15.0), RowDimension(ws, index=3, ht=15.0)
        for name, value in change.items():
            setattr(fast, name, value)
            setattr(slow, name, value)
        assert list(fast) == list(slow), change
        assert list(fast) == list(slow), change  # again: iterating files a style for it


def test_styles_reused_from_the_cache_are_the_styles_set_one_by_one() -> None:
    """put() and style_row() copy the style indices of an earlier cell given the same objects:
    each cell ends with the style it gets when its attributes are set one by one."""
    from openpyxl import Workbook
    from openpyxl.styles import Border

    from qda.export import style as xl

    wb = Workbook()
    fast, slow = wb.active, wb.create_sheet("slow")
    looks = [dict(font=xl.BOLD, fill=xl.HEADER_FILL), dict(align=xl.WRAP), dict(font=xl.NOTE, fmt=xl.PERCENT),
             dict(font=xl.BOLD, fill=xl.HEADER_FILL)]
    border = Border(top=xl.THIN)
    for row in range(1, 6):
        for col, kw in enumerate(looks, start=1):
            xl.put(fast, row, col, f"r{row}c{col}", **kw)  # type: ignore[arg-type]
            cell = slow.cell(row=row, column=col, value=f"r{row}c{col}")
            for name, value in kw.items():
                setattr(cell, {"fmt": "number_format", "align": "alignment"}.get(name, name), value)
        xl.style_row(fast, row, 5, font=xl.ITALIC, border=border)
        for col in range(1, 6):
            cell = slow.cell(row=row, column=col)
            cell.font, cell.border = xl.ITALIC, border
    assert len(fast._cells) == len(slow._cells) == 25
    for (row, col), cell in fast._cells.items():
        other = slow.cell(row=row, column=col)
        # one workbook: the same indices into its fonts, fills... are the same style
        assert (cell.value, tuple(cell._style)) == (other.value, tuple(other._style)), (row, col)
    assert {tuple(c._style) for c in fast._cells.values()} and len({tuple(c._style) for c in fast._cells.values()}) > 3
    assert fast._current_row == 5


def test_a_value_bound_fast_is_stored_as_openpyxl_stores_it() -> None:
    from openpyxl import Workbook

    from qda.export.style import _bind, clean
    from qda.files import inert_cell

    ws = Workbook().active
    values = ["texte", "=2+3", "=", "#N/A", "#DIV/0!", "  espaces  ", "x" * 40000, "a\x01b", "é\nà", 0, 7, -12,
              10 ** 14, 2.5, True, False]
    for n, raw in enumerate(values, start=1):
        value = clean(raw)
        fast, slow = ws.cell(row=n, column=1), ws.cell(row=n, column=2)
        _bind(fast, value)
        slow.value = value
        inert_cell(slow)
        assert (fast._value, fast.data_type) == (slow._value, slow.data_type), raw
    assert ws.cell(row=2, column=1).data_type == "s" and ws.cell(row=4, column=1).data_type == "e"


def test_the_reading_direction_is_the_first_strong_characters() -> None:
    """right_to_left() answers from a first Latin letter without the Unicode table: the same answers."""
    import unicodedata

    from qda.export.style import right_to_left

    def by_table(text: str) -> bool:
        for char in text:
            kind = unicodedata.bidirectional(char)
            if kind in ("R", "AL"):
                return True
            if kind == "L":
                return False
        return False

    texts = ["Nous mettons des affiches.", "« Nous »", "12 clients", "[P1] texte", "مرحبا بكم", "12 مرحبا",
             "שלום", "(שלום) abc", "abc שלום", "", " ", "...", "Économie", "Zo", "z", "ʔa", "ñ"]
    assert [right_to_left(t) for t in texts] == [by_table(t) for t in texts]
    assert right_to_left("12 مرحبا") and not right_to_left("Nous")


def test_two_workbooks_written_in_turn_keep_their_own_styles() -> None:
    """The style cache is per workbook: indices of one are never given to the other's cells."""
    from openpyxl import Workbook

    from qda.export import style as xl

    first, second = Workbook().active, Workbook().active
    second.parent._fonts.add(xl.ITALIC)  # the same fonts at other indices in the second workbook
    for row in range(1, 4):
        for ws in (first, second):
            xl.put(ws, row, 1, "titre", font=xl.BOLD, fill=xl.HEADER_FILL)
            xl.put(ws, row, 2, "note", font=xl.NOTE)
    for ws in (first, second):
        for row in range(1, 4):
            assert ws.cell(row=row, column=1).font.b and ws.cell(row=row, column=1).fill.fgColor.rgb == "00D9D9D9"
            assert ws.cell(row=row, column=2).font.i and ws.cell(row=row, column=2).font.color.rgb == "00595959"
    assert tuple(first.cell(row=3, column=2)._style) != tuple(second.cell(row=3, column=2)._style)
