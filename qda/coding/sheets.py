"""Coding by named coders: coding sheets out (xlsx) and back in (xlsx or csv).

A sheet has one row per segment; the coder types code ids (or labels) in the ``codes``
column, several per cell separated by ``;`` or ``,``. Reading a sheet validates every
row first and reports every problem at once; nothing is stored unless the whole sheet
is valid. Reading returns a :class:`qda.models.WritePlan` (the coder's codings on the
sheet's segments, replaced); the project commits it in one transaction.
"""

from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from itertools import compress, count
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from qda.coding.regions import (
    DECISIONS,
    Comparison,
    Region,
    RegionChoice,
    compare_codings,
    consensus_codings,
    context_bounds,
)
from qda.errors import CodingImportError, EmptyInputError, ExportError, NotFoundError, Problem
from qda.files import inert_row, write_atomically
from qda.ingest import Formula, check_zip, column_letters, match_key, read_table, read_table_columns
from qda.models import STATUS_RULES, Codebook, Coding, CodingScope, Segment, WritePlan, statuses_where
from qda.results import Note, TableView, json_dict
from qda.storage import ProjectReads

if TYPE_CHECKING:
    import pandas as pd

SHEET_COLUMNS = ("case", "document", "segment", "turn", "speaker", "text", "codes", "memo")
_NAME_RE = re.compile(r"^[\w .'’@-]{1,60}$")


def check_coder_name(name: str) -> str:
    """Coder names are short labels (letters, digits, spaces, . ' - _ @)."""
    name = name.strip()
    if not _NAME_RE.match(name):
        raise CodingImportError(f"invalid coder name '{name}'",
                                [Problem("--coder", "use letters, digits, spaces, '.', '-', '_' (max 60)")])
    return name


# ----------------------------------------------------------------------------- writing

def sheet_segments(segments: Sequence[Segment], case: str | None = None,
                   roles: Sequence[str] | None = None) -> list[Segment]:
    """The segments a sheet offers: those of speakers with ``roles`` (all when None); never none."""
    if roles:
        known = sorted({s.role for s in segments if s.role})
        segments = [s for s in segments if s.role in roles]
        if not segments:
            raise NotFoundError(f"no segment of speakers with role(s) {', '.join(roles)} "
                                f"(roles: {', '.join(known) or 'none'}; see qda speakers)")
    if not segments:
        raise NotFoundError("no segments to code: import transcripts first" if case is None
                            else f"no segments in case '{case}'")
    return list(segments)


def write_sheet(path: Path, segments: Sequence[Segment], codebook: Codebook, *, coder: str,
                existing: Sequence[Coding] = (), lang: str | None = None) -> int:
    """Write a coding sheet (xlsx) for ``coder``; codes the coder already applied are filled in.

    The Coding sheet has a styled, frozen header, an autofilter, wrapped text, a drop-down of
    the code ids in the codes column and a blue tab; the Codes sheet is the legend.
    """
    if path.suffix.lower() != ".xlsx":
        raise ExportError(f"{path}: a coding sheet is written as .xlsx")
    applied: dict[str, list[str]] = defaultdict(list)
    memos: dict[str, list[str]] = defaultdict(list)
    order = {cid: i for i, cid in enumerate(codebook.code_ids())}
    for c in existing:
        rule = STATUS_RULES.get(c.status)
        if not c.segment or rule is None or not rule.in_sheets:
            continue  # negated and orphaned codings are kept in the project, not offered as the coder's codes
        if c.code not in applied[c.segment]:
            applied[c.segment].append(c.code)
        if c.note and c.source == "sheet" and c.note not in memos[c.segment]:
            memos[c.segment].append(c.note)
    legend_rows = [[code.id, code.label(lang), codebook.category_label(code.category, lang) if code.category else "",
                    code.definition, code.include, code.exclude] for code in codebook.codes if code.codable]
    last_row = len(segments) + 1

    def coding_rows() -> Iterator[str]:
        yield _row(1, SHEET_COLUMNS, _HEADER)
        # Cases, documents and speakers repeat on every row: each is escaped once.
        tails: dict[str | None, str] = {}
        texts = _escape_all([seg.text for seg in segments])
        refs = _escape_all([seg.ref for seg in segments])
        batch: list[str] = []
        for r, seg, text, ref in zip(range(2, last_row + 1), segments, texts, refs, strict=True):
            case, doc, speaker = tails.get(seg.case), tails.get(seg.document), tails.get(seg.speaker)
            if case is None or doc is None or speaker is None:
                for value in (seg.case, seg.document, seg.speaker):
                    if value not in tails:
                        tails[value] = _cell("", value)[len('<c r=""'):] if value else ""
                case, doc, speaker = tails[seg.case], tails[seg.document], tails[seg.speaker]
            raw = seg.text
            codes = applied.get(seg.ref)
            batch.append(
                f'<row r="{r}">'
                + (f'<c r="A{r}"{case}' if case else "") + (f'<c r="B{r}"{doc}' if doc else "")
                + (f'<c r="C{r}" t="inlineStr"><is><t>{ref}</t></is></c>' if seg.ref == seg.ref.strip()
                   else _cell(f"C{r}", seg.ref))
                + (f'<c r="D{r}"><v>{seg.turn}</v></c>' if type(seg.turn) is int else _cell(f"D{r}", seg.turn))
                + (f'<c r="E{r}"{speaker}' if speaker else "")
                + (f'<c r="F{r}" s="{_WRAP}" t="inlineStr"><is><t>{text}</t></is></c>' if raw and raw == raw.strip()
                   else _cell(f"F{r}", raw, _WRAP))
                + (_cell(f"G{r}", "; ".join(sorted(codes, key=lambda k: order.get(k, 0)))) if codes else "")
                + (_cell(f"H{r}", " / ".join(memos[seg.ref])) if seg.ref in memos else "")
                + "</row>")
            if len(batch) == 1000:
                yield "".join(batch)
                batch = []
        yield "".join(batch)

    # A drop-down of code ids that still accepts several codes typed by hand.
    validation = (
        '<dataValidations count="1"><dataValidation type="list" allowBlank="1" showInputMessage="1" '
        'showErrorMessage="0" promptTitle="Codes" prompt="Pick a code, or type several ids separated by &apos;;&apos;" '
        f'sqref="G2:G{last_row}"><formula1>=Codes!$A$2:$A${len(legend_rows) + 1}</formula1></dataValidation>'
        "</dataValidations>") if segments else ""
    coding = _worksheet(coding_rows(), (8, 12, 10, 6, 16, 90, 16, 30), f"H{last_row}", tab="001F4E79",
                        autofilter=True, validation=validation)
    legend = _worksheet(
        (_row(r, row, _HEADER if r == 1 else _PLAIN) for r, row in
         enumerate([["code", "label", "category", "definition", "include", "exclude"], *legend_rows], start=1)),
        (8, 45, 25, 60, 40, 40), f"F{len(legend_rows) + 1}")
    write_atomically(path, lambda tmp: _package(tmp, [("Coding", coding), ("Codes", legend)],
                                                f"qda (coder: {coder})", f"'Coding'!$A$1:$H${last_row}"))
    return len(segments)


# ----------------------------------------------------------------------------- writing the package
# The sheet is our own format, so it is written as the xlsx package directly: openpyxl
# spends ~7 s on the million cells of a 1,000-interview project, string joins ~1 s.
# Every cell is an inline string (or a number), so no text can ever be read as a formula.

# Characters XML 1.0 cannot hold (openpyxl refused them): C0 controls but tab and line ends,
# as UTF-8 bytes, which never occur inside a multi-byte character; then U+FFFE and U+FFFF.
_XML_ILLEGAL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_NON_CHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Style indexes in _STYLES' cellXfs: 0 plain, 1 header (bold, filled), 2 wrapped and top-aligned.
_PLAIN, _HEADER, _WRAP = 0, 1, 2
_STYLES = (
    f'<styleSheet xmlns="{_MAIN_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b val="1"/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="00DDE4EE"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


def _xml_bytes(xml: str) -> bytes:
    """XML text as UTF-8, without the characters XML cannot hold (lone surrogates included)."""
    data = xml.encode("utf-8", "ignore").translate(None, _XML_ILLEGAL_BYTES)
    for char in _NON_CHARACTERS:
        if char in data:
            data = data.replace(char, b"")
    return data


def _xml_escape(text: str) -> str:
    """``text`` as XML character data (what xml.sax.saxutils.escape does; importing that
    module brings urllib and http, ~15 ms of start-up)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def _escape_all(texts: list[str]) -> list[str]:
    """The XML escape of each text, done on all of them joined (three calls instead of three per text)."""
    escaped = _xml_escape("\x00".join(texts)).split("\x00")
    return escaped if len(escaped) == len(texts) else [_xml_escape(t) for t in texts]  # a text held a NUL


def _cell(ref: str, value: object, style: int = _PLAIN) -> str:
    """One cell's XML; empty text and None give no cell (as openpyxl reads them back: None)."""
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    text = str(value)
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_xml_escape(text)}</t></is></c>'


def _row(number: int, values: Sequence[object], style: int = _PLAIN) -> str:
    return (f'<row r="{number}">'
            + "".join(_cell(f"{column_letters(i)}{number}", v, style) for i, v in enumerate(values, start=1))
            + "</row>")


def _worksheet(rows: Iterable[str], widths: Sequence[float], last: str, tab: str = "", autofilter: bool = False,
               validation: str = "") -> Iterator[str]:
    """The parts of a worksheet's XML around its rows (each a ``<row>`` string), in schema order."""
    yield _XML_HEAD + f'<worksheet xmlns="{_MAIN_NS}">'
    if tab:
        yield f'<sheetPr><tabColor rgb="{tab}"/></sheetPr>'
    yield (f'<dimension ref="A1:{last}"/><sheetViews><sheetView workbookViewId="0">'
           '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
           '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
           '<sheetFormatPr defaultRowHeight="15"/><cols>'
           + "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, start=1))
           + "</cols><sheetData>")
    yield from rows
    yield "</sheetData>"
    if autofilter:
        yield f'<autoFilter ref="A1:{last}"/>'
    yield validation
    yield '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/></worksheet>'


def _package(path: Path, sheets: Sequence[tuple[str, Iterable[str]]], creator: str, filter_range: str) -> None:
    """Write an xlsx package of ``sheets`` (name, XML chunks), the first one active."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    names = [_xml_escape(name).replace('"', "&quot;") for name, _ in sheets]
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, len(sheets) + 1))
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            f"{overrides}</Types>"),
        "_rels/.rels": (
            f'<Relationships xmlns="{_PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>"),
        "docProps/app.xml": ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
                             'extended-properties"><Application>qda</Application></Properties>'),
        "docProps/core.xml": (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>{_xml_escape(creator)}</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>'),
        "xl/workbook.xml": (
            f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><workbookPr/>'
            '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
            + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, name in enumerate(names, start=1))
            + "</sheets><definedNames>"
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">{filter_range}</definedName>'
            "</definedNames></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{_PKG_REL_NS}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, len(sheets) + 1))
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
            "</Relationships>"),
        "xl/styles.xml": _STYLES,
    }
    # Level 1: the sheet XML is very repetitive; higher levels take several times longer
    # for a file a few per cent smaller.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, xml in parts.items():
            archive.writestr(name, _xml_bytes(xml if xml.startswith("<?xml") else _XML_HEAD + xml))
        for i, (_, chunks) in enumerate(sheets, start=1):
            with archive.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as out:
                for chunk in chunks:
                    out.write(_xml_bytes(chunk))


# ----------------------------------------------------------------------------- reading

@dataclass(frozen=True)
class SheetRow:
    """A sheet row as read, with its row number for messages."""

    number: int
    values: dict[str, str]


def read_rows(path: Path, *, sheet: str | None = None, required: tuple[str, ...] = ("segment", "codes"),
              columns: Collection[str] | None = None) -> list[SheetRow]:
    """Rows of a sheet (xlsx: the named, 'Coding' or first worksheet; csv), header row 1.

    With ``columns`` (header names), the other columns may be left unread (empty): reading
    a million cells takes seconds, and an import needs half of them.
    """
    numbers, found = read_columns(path, sheet=sheet, required=required, columns=columns)
    keys = list(found)
    return [SheetRow(number, dict(zip(keys, values))) for number, *values in zip(numbers, *found.values())]


def read_columns(path: Path, *, sheet: str | None = None, required: tuple[str, ...] = ("segment", "codes"),
                 columns: Collection[str] | None = None) -> tuple[list[int], dict[str, list[str]]]:
    """The rows of :func:`read_rows` column by column: their numbers, and each named column's
    text (stripped; "" when empty), in row order."""
    check_zip(path)  # folders, devices and zip bombs are refused before any reader opens the file
    # A formula never computed is named, not read as empty.
    table = read_table_columns(path, sheet=sheet, formulas=True, columns=columns)
    if table is None:
        raise CodingImportError(f"{path}: the sheet is empty")
    header = [match_key(h) for h in table[0]]
    missing = [c for c in required if c not in header]
    if missing:
        found = ", ".join(h for h in header if h) or "nothing"
        raise CodingImportError(f"{path}: row 1: missing column(s) {', '.join(missing)}",
                                [Problem(f"{path} row 1", f"header row has: {found}",
                                         "keep the header row of the sheet written by 'qda code sheet'")])
    wanted = None if columns is None else {match_key(c) for c in columns}
    named = {h: i for i, h in enumerate(header) if h and (wanted is None or h in wanted)}  # the last of a name
    # Column by column: a sheet of 1,000 interviews has 136,000 rows.
    texts: dict[str, list[str]] = {}
    formulas: list[tuple[int, int, str, str]] = []
    for h, i in named.items():
        cells = table[1][i]
        kinds = set(map(type, cells))
        if Formula in kinds:
            formulas.extend((number, i, h, v) for number, v in enumerate(cells, start=2) if type(v) is Formula)
        if kinds <= {str, type(None)}:  # the usual column: text only
            texts[h] = ["" if v is None else v.strip() for v in cast("list[str | None]", cells)]
        else:
            texts[h] = ["" if v is None else (v if type(v) is str else str(v)).strip() for v in cells]
    if formulas:
        raise CodingImportError(
            f"{path}: {len(formulas)} cell(s) hold formulas; nothing was imported",
            [Problem(f"{path.name} row {number}", f"the {h} cell holds a formula ({v}) that was never computed",
                     "type the text (code ids) in the cell instead of a formula")
             for number, _, h, v in sorted(formulas)])
    height = len(next(iter(texts.values()), ()))
    if any(map(all, texts.values())):  # a column filled on every row (the segment ids, usually)
        return list(range(2, height + 2)), texts
    filled = list(map(any, zip(*texts.values())))  # empty rows are left out
    numbers = list(compress(count(2), filled))
    return numbers, {h: list(compress(column, filled)) for h, column in texts.items()}


class CodeResolver:
    """Turns what a coder typed (id or label, any case) into code ids."""

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self._valid: dict[str, tuple[str, ...]] = {}  # cells read without a problem, and their codes
        self.exact = {c.id: c.id for c in codebook.codes}
        self.folded: dict[str, str] = {}
        for c in codebook.codes:
            self.folded.setdefault(match_key(c.id), c.id)
        for c in codebook.codes:
            for label in c.labels.values():
                self.folded.setdefault(match_key(label), c.id)

    def resolve(self, token: str) -> str | None:
        token = token.strip()
        return self.exact.get(token) or self.folded.get(match_key(token))

    def _tokens(self, cell: str) -> list[str]:
        """Split a cell into code tokens; a label that itself contains commas stays whole."""
        tokens: list[str] = []
        for piece in re.split(r"[;|\n]+", cell):
            if not piece.strip():
                continue
            parts = piece.split(",")
            i = 0
            while i < len(parts):
                # The longest run of comma-separated parts that names a code wins, so
                # "Kiosques, grand congrès mondial (présentation, démo), h" gives i and h.
                for j in range(len(parts), i, -1):
                    if self.resolve(",".join(parts[i:j])) is not None:
                        break
                else:
                    j = i + 1
                token = ",".join(parts[i:j])
                if token.strip():
                    tokens.append(token)
                i = j
        return tokens

    def parse_cell(self, cell: str, where: str, problems: list[Problem]) -> list[str]:
        """The code ids in a cell; a problem for each token that names no codable code."""
        known = self._valid.get(cell)
        if known is not None:  # the same combination of codes, met on an earlier row
            return list(known)
        codes: list[str] = []
        before = len(problems)
        for token in self._tokens(cell):
            code = self.resolve(token)
            if code is None:
                from qda.codebook import closest_codes  # its pydantic models take ~0.1 s to build

                close = closest_codes(token.strip(), self.codebook)
                hint = ("closest: " + ", ".join(close)) if close else "see the Codes sheet for valid ids"
                problems.append(Problem(where, f"unknown code '{token.strip()}'", hint))
            elif not self.codebook.code(code).codable:
                problems.append(Problem(where, f"code '{code}' is a folder code and cannot be applied"))
            elif code not in codes:
                codes.append(code)
        if len(problems) == before:
            self._valid[cell] = tuple(codes)
        return codes


@dataclass(frozen=True)
class SheetImport:
    """What importing a sheet did."""

    coder: str
    file: str
    rows: int
    codings: int
    documents: tuple[str, ...]
    replaced: int
    duplicates: int = 0  # the same code on the same segment given again (another row): merged

    def to_dict(self) -> dict[str, Any]:
        return {"coder": self.coder, "file": self.file, "rows": self.rows, "codings": self.codings,
                "documents": list(self.documents), "replaced": self.replaced, "duplicates": self.duplicates}

    def to_frame(self) -> pd.DataFrame:
        """One row; ``documents`` is their number (to_dict lists them)."""
        import pandas as pd
        return pd.DataFrame([{**self.to_dict(), "documents": len(self.documents)}])

    def to_table(self) -> TableView:
        merged = (f"; {self.duplicates} duplicate(s) of a code on the same segment merged"
                  if self.duplicates else "")
        return TableView(lead=(Note(f"coder '{self.coder}': {self.codings} codings from {self.rows} rows in "
                                    f"{len(self.documents)} documents ({self.replaced} previous codings replaced"
                                    f"{merged})"),))


def plan_sheet(store: ProjectReads, path: Path, coder: str, *, allow_empty: bool = False) -> tuple[WritePlan,
                                                                                                   SheetImport]:
    """Validate a coder's sheet fully and plan the replacement of the coder's codings on
    its segments; the result's ``replaced`` is filled in once the plan is committed.

    A sheet with no code filled in is refused (``EmptyInputError``) unless ``allow_empty``:
    it is almost always the untouched sheet, and importing it would erase the coder's work.
    """
    coder = check_coder_name(coder)
    codebook = store.codebook()
    if codebook is None:
        raise NotFoundError("the project has no codebook yet: qda codebook load FILE.yaml")
    numbers, columns = read_columns(path, columns=("segment", "codes", "memo", "text"))
    refs, cells = columns["segment"], columns["codes"]
    memos, texts = columns.get("memo", [""] * len(refs)), columns.get("text", [""] * len(refs))
    index = store.segment_index()  # ref -> (segment id, document id, start, end, ref)
    documents = store.document_index()  # document id -> (name, case, text)
    transcripts = {doc_id: text for doc_id, (_, _, text) in documents.items()}
    resolver = CodeResolver(codebook)
    problems: list[Problem] = []
    planned: dict[tuple[str, str], Coding] = {}  # one coding per (segment, code): repeats are merged
    duplicates = 0
    found = list(map(index.get, refs))
    name = path.name
    # Only the rows with codes, or with a problem, need a closer look (a third of a coded sheet).
    for i in [i for i, (place, cell, text) in enumerate(zip(found, cells, texts))
              if place is None or cell or (text and text != transcripts[place[1]][place[2]:place[3]])]:
        ref, place, cell = refs[i], found[i], cells[i]
        if not ref:
            if cell:
                problems.append(Problem(f"{name} row {numbers[i]}", "codes given but the segment id is empty"))
            continue
        if place is None:
            problems.append(Problem(f"{name} row {numbers[i]}", f"unknown segment '{ref}'",
                                    "the sheet must come from 'qda code sheet' on this project"))
            continue
        _, doc_id, start, end, _ = place
        document, case, transcript = documents[doc_id]
        text, segment_text = texts[i], transcript[start:end]
        if text and text != segment_text and match_key(text) != match_key(segment_text):
            problems.append(Problem(f"{name} row {numbers[i]}",
                                    f"the text of segment {ref} differs from the project's transcript",
                                    "the transcript was re-imported since the sheet was written; write a new sheet"))
            continue
        if not cell:
            continue
        memo = memos[i]
        for code in resolver.parse_cell(cell, f"{name} row {numbers[i]}", problems):
            earlier = planned.get((ref, code))
            if earlier is None:
                planned[(ref, code)] = Coding(coder=coder, code=code, document=document, case=case, start=start,
                                              end=end, segment=ref, source="sheet", note=memo)
                continue
            duplicates += 1
            if memo and memo not in earlier.note.split(" / "):
                planned[(ref, code)] = replace(earlier, note=" / ".join(filter(None, (earlier.note, memo))))
    if problems:
        raise CodingImportError(
            f"{path}: {len(problems)} problem(s); nothing was imported for coder '{coder}'", problems)
    # Every row now names a known segment, but for rows without a segment id (and codes).
    covered = [ref for ref in refs if ref]
    if not planned and not allow_empty:
        raise EmptyInputError(
            f"{path}: no code is filled in ({len(covered)} segments); nothing was imported for coder '{coder}'",
            [Problem("", "fill the 'codes' column in Excel or LibreOffice and import again, or pass "
                         "--allow-empty to clear the coder's codings on these segments")])
    # Only the segments listed in the sheet are replaced: a sheet written for some
    # roles or cases leaves the coder's other codings alone.
    # Only the codings a sheet shows are replaced: negated and orphaned ones stay (STATUS_RULES).
    plan = WritePlan(coders=(coder,), replace=(CodingScope(coder, segments=tuple(dict.fromkeys(covered)),
                                                           statuses=statuses_where("in_sheets")),),
                     codings=tuple(planned.values()))
    coded = sorted({documents[doc_id][0] for doc_id in {place[1] for place in found if place is not None}})
    return plan, SheetImport(coder, str(path), len(refs), len(planned), tuple(coded), 0, duplicates)


# ----------------------------------------------------------------------------- adjudication
# Regions, agreed codings and the consensus come from qda.coding.regions: the page and the
# sheet share them, so the same decisions give the same consensus.

ADJUDICATION_HOW = (
    "Each row is a region of text where the two coders' codings differ (found per code from the characters each "
    "coded, however short). For each row choose a decision: A keeps A's codings in the region (on A's spans), B "
    "keeps B's, both keeps all of them (one code given by both on overlapping spans becomes one coding on their "
    "union), neither keeps none, other applies the codes listed under 'other codes' to the region, or to the span "
    "typed under 'span' as start-end character offsets. Codings on which the two coders agree (same code, same span "
    "apart from blanks and punctuation at the ends) are not listed: they are carried over from both.")


def compare_in_store(store: ProjectReads, coder_a: str, coder_b: str, *, document: str | None = None) -> Comparison:
    """Two coders compared on spans (see :mod:`qda.coding.regions`); only codings whose
    status is adjudicated (``STATUS_RULES``: not negated or orphaned ones) are compared."""
    known = store.coders()
    for name in (coder_a, coder_b):
        if name not in known:
            raise NotFoundError(f"unknown coder '{name}' (coders: {', '.join(known) or 'none yet'})")
    if coder_a == coder_b:
        raise CodingImportError(f"compare two different coders (got '{coder_a}' twice)")
    shown = statuses_where("adjudicated")
    return compare_codings(coder_a, coder_b,
                           [c for c in store.codings(coder=coder_a, document=document) if c.status in shown],
                           codings_b=[c for c in store.codings(coder=coder_b, document=document) if c.status in shown])


def _by_document(segments: Sequence[Segment]) -> dict[str, list[Segment]]:
    found: dict[str, list[Segment]] = defaultdict(list)
    for s in segments:
        found[s.document].append(s)
    return found


def _touched(segments: Sequence[Segment], start: int, end: int) -> list[Segment]:
    return [s for s in segments if s.start < end and s.end > start]


def write_adjudication_sheet(path: Path, comparison: Comparison, segments: Sequence[Segment],
                             *, texts: Mapping[str, str], codebook: Codebook, lang: str | None = None) -> int:
    """Write the regions where two coders' codings differ, one row each, for a third person to decide."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    if path.suffix.lower() != ".xlsx":
        raise ExportError(f"{path}: an adjudication sheet is written as .xlsx")
    coder_a, coder_b = comparison.coder_a, comparison.coder_b
    by_doc = _by_document(segments)

    def name(code: str) -> str:
        try:
            return f"{code} ({codebook.code(code).label(lang)})"
        except KeyError:
            return code

    def side(region: Region, codings: Sequence[Coding]) -> str:
        text = texts.get(region.document, "")
        lines = []
        for c in codings:
            whole = (c.start, c.end) == (region.start, region.end)
            lines.append(name(c.code) if whole else f"{name(c.code)}: “{text[c.start:c.end]}” ({c.start}-{c.end})")
        return "\n".join(lines)

    wb = Workbook()
    ws = wb.worksheets[0]  # the default sheet (wb.active is typed Optional)
    ws.title = "Adjudication"
    ws.append(["case", "document", "region", "segment", "speaker", "context", "text", f"A: {coder_a}",
               f"B: {coder_b}", "agreed", "decision", "other codes", "span", "note"])
    for region in comparison.regions:
        text = texts.get(region.document, "")
        doc_segments = by_doc.get(region.document, [])
        touched = _touched(doc_segments, region.start, region.end)
        refs = touched[0].ref if len(touched) == 1 else f"{touched[0].ref}–{touched[-1].ref}" if touched else ""
        lo, hi = context_bounds([(s.start, s.end) for s in doc_segments], region.start, region.end)
        context = f"{text[lo:region.start]}⟦{text[region.start:region.end]}⟧{text[region.end:hi]}"
        ws.append(inert_row(ws, [region.case, region.document, region.key, refs,
                                 (touched[0].speaker or "") if touched else "", context,
                                 text[region.start:region.end], side(region, region.a), side(region, region.b),
                                 "; ".join(region.agreed), "", "", "", ""]))
    rows = len(comparison.regions)
    fill = PatternFill("solid", fgColor="DDE4EE")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = fill
    for col, width in zip("ABCDEFGHIJKLMN", (8, 12, 16, 12, 14, 60, 40, 30, 30, 10, 11, 16, 12, 30)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2, min_col=6, max_col=9):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    if rows:
        decision = DataValidation(type="list", formula1='"' + ",".join(DECISIONS) + '"', allow_blank=False)
        decision.prompt = "A, B, both, neither, or other (then list the codes under 'other codes')"
        decision.showInputMessage = True
        ws.add_data_validation(decision)
        decision.add(f"K2:K{rows + 1}")
    about = wb.create_sheet("About")
    for line in (["coder A", coder_a], ["coder B", coder_b], ["codebook", codebook.name],
                 ["agreed codings", str(len(comparison.agreed))], ["how", ADJUDICATION_HOW]):
        about.append(inert_row(about, line))
    about.column_dimensions["B"].width = 100
    write_atomically(path, wb.save)
    return rows


@dataclass(frozen=True)
class AdjudicationResult:
    """What recording an adjudication did."""

    coder: str
    coder_a: str
    coder_b: str
    decided: int
    carried_over: int  # agreed pairs, each carried over once
    codings: int
    replaced: int = 0  # codings ``coder`` had before that are gone (replaced, after confirmation)
    replaced_documents: int = 0
    previous: int = 0  # codings ``coder`` had before (those planned again unchanged are kept as they were)

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([self.to_dict()])

    def to_table(self) -> TableView:
        notes = [Note(f"coder '{self.coder}': {self.decided} decisions, {self.carried_over} agreed codings of "
                      f"{self.coder_a} and {self.coder_b} carried over, {self.codings} codings in all")]
        if self.replaced:
            notes.append(Note(f"replaced {self.replaced} coding{'s' * (self.replaced != 1)} of '{self.coder}' in "
                              f"{self.replaced_documents} document{'s' * (self.replaced_documents != 1)} "
                              "('qda undo' brings them back)"))
        elif self.previous:
            notes.append(Note(f"'{self.coder}' already had these {self.previous} codings: nothing changed"))
        return TableView(lead=tuple(notes))


@dataclass(frozen=True)
class Decision:
    """One decision on a region where two coders differ (a sheet row, or a choice in the page)."""

    where: str  # e.g. "adjudication.xlsx row 3", for messages
    segment: str  # the row's segment: how sheets written before regions name what they decide
    decision: str  # one of DECISIONS
    other: str = ""  # codes, when decision is "other"
    region: str = ""  # "document:start-end", as listed by the comparison
    span: str = ""  # "start-end": an edited span for "other"


def plan_adjudication(store: ProjectReads, path: Path, as_coder: str) -> tuple[WritePlan, AdjudicationResult]:
    """Plan the decisions of an adjudication sheet as a new coder's codings (all rows valid or nothing)."""
    as_coder = check_coder_name(as_coder)
    about = {str(r[0]): str(r[1]) for r in read_table(path, sheet="About") if r and r[0] is not None}
    coder_a, coder_b = about.get("coder A"), about.get("coder B")
    if not coder_a or not coder_b:
        raise CodingImportError(f"{path}: not an adjudication sheet (no 'About' sheet naming coder A and B)",
                                [Problem(str(path), "write one with 'qda code adjudication-sheet A B -o FILE.xlsx'")])
    decisions = [Decision(f"{path.name} row {row.number}", row.values.get("segment", ""),
                          row.values.get("decision", ""), row.values.get("other codes", ""),
                          row.values.get("region", ""), row.values.get("span", ""))
                 for row in read_rows(path, sheet="Adjudication", required=("decision",))]
    return plan_decisions(store, coder_a, coder_b, decisions=decisions, as_coder=as_coder, origin=str(path))


def _span(text: str, value: str, where: str, problems: list[Problem]) -> tuple[int, int] | None:
    start, _, end = value.replace("–", "-").partition("-")
    if not start.strip().isdigit() or not end.strip().isdigit():
        problems.append(Problem(where, f"span '{value}' is not start-end (character offsets, e.g. 120-180)"))
        return None
    s, e = int(start), int(end)
    if not 0 <= s < e <= len(text) or not text[s:e].strip():
        problems.append(Problem(where, f"span {s}-{e} is outside the document (0-{len(text)}), empty or blank"))
        return None
    return s, e


def plan_decisions(store: ProjectReads, coder_a: str, coder_b: str, *, decisions: Sequence[Decision], as_coder: str,
                   origin: str = "decisions") -> tuple[WritePlan, AdjudicationResult]:
    """Plan decisions as ``as_coder``'s codings: the agreed codings of both coders, and each
    region as decided. Every region must be decided; all valid or nothing."""
    as_coder = check_coder_name(as_coder)
    codebook = store.codebook()
    if codebook is None:
        raise NotFoundError("the project has no codebook yet")
    for name in (coder_a, coder_b):
        if name not in store.coders():
            raise NotFoundError(f"{origin}: coder '{name}' is not in this project")
    if as_coder in (coder_a, coder_b):
        raise CodingImportError(f"--as {as_coder}: choose a new coder name (e.g. consensus), not one of the two coders")
    comparison = compare_in_store(store, coder_a, coder_b)
    segments = store.segment_spans()
    by_doc = _by_document(segments)
    regions_by_doc: dict[str, list[Region]] = defaultdict(list)
    for listed in comparison.regions:
        regions_by_doc[listed.document].append(listed)
    refs = {s.ref: s for s in segments}
    texts: dict[str, str] = {}
    resolver = CodeResolver(codebook)
    problems: list[Problem] = []
    choices: dict[str, RegionChoice] = {}
    for row in decisions:
        where, key = row.where, row.region.strip()
        if not key and row.segment.strip():  # a sheet written before regions: one row per segment
            seg = refs.get(row.segment.strip())
            if seg is None:
                problems.append(Problem(where, f"unknown segment '{row.segment}'"))
                continue
            inside = [r for r in regions_by_doc.get(seg.document, []) if r.start < seg.end and r.end > seg.start]
            key = inside[0].key if len(inside) == 1 else ""
            if len(inside) != 1:
                problems.append(Problem(where, f"{coder_a} and {coder_b} no longer differ on {seg.ref} alone "
                                        "(their codings changed since the sheet was written)",
                                        "write a new adjudication sheet"))
                continue
        region = comparison.region(key)
        if region is None:
            problems.append(Problem(where, f"no region {key or '(empty)'} where {coder_a} and {coder_b} differ: "
                                    "their codings changed since it was listed", "compare again"))
            continue
        decision = row.decision.strip()
        choice = next((d for d in DECISIONS if d.casefold() == decision.casefold()), None)
        if choice is None:
            problems.append(Problem(where, f"decision '{decision}' is not one of {', '.join(DECISIONS)}"
                                    if decision else "no decision", "choose A, B, both, neither or other"))
            continue
        codes: tuple[str, ...] = ()
        span = None
        if choice == "other":
            codes = tuple(resolver.parse_cell(row.other, where, problems))
            if not codes and not row.other.strip():
                problems.append(Problem(where, "decision 'other' but no code under 'other codes'"))
            if row.span.strip():
                if region.document not in texts:
                    found = store.document(region.document)
                    texts[region.document] = found.text if found else ""
                span = _span(texts[region.document], row.span, where, problems)
        choices[region.key] = RegionChoice(choice, codes, span)
    missing = [r.key for r in comparison.regions if r.key not in choices]
    if missing and not problems:
        problems.append(Problem(origin, f"{len(missing)} region(s) where the coders differ are not decided: "
                                + ", ".join(missing[:10]), "decide every region (or write a new adjudication sheet)"))
    if problems:
        raise CodingImportError(f"{origin}: {len(problems)} problem(s); nothing was recorded", problems)
    segment_of = {(s.document, s.start, s.end): s.ref for seg_list in by_doc.values() for s in seg_list}
    planned = consensus_codings(comparison, choices, as_coder, segment_of=segment_of)
    plan = WritePlan(coders=(as_coder,), replace=(CodingScope(as_coder),), codings=tuple(planned))
    return plan, AdjudicationResult(as_coder, coder_a, coder_b, len(choices), len(comparison.agreed), len(planned))
