"""Taguette highlights (CSV or XLSX export) as one coder's codings, and tags from codes.

Taguette exports highlights as rows ``id, document, tag, content`` (one row per tag of a
highlight, no offsets) and its codebook as ``tag, description, number of highlights,
number of documents``. Each highlight's ``content`` is placed on the text of the project
document of the same name by :func:`qda.ingest.reanchor.find_passage`: verbatim, else
ignoring white space and case (Taguette joins paragraphs with a space), else fuzzily with
the score reported. A highlight found in several places, or nowhere, is a row error: the
import stops and names every such row (nothing is guessed, nothing written).

Tags become codes: a tag matches a code by id, then label (case and accents ignored); an
unknown tag makes a new code whose parent is the code of its dotted prefix
(``feelings.joy`` under ``feelings``), Taguette's way of nesting tags.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qda.codebook import dump_codebook
from qda.errors import IngestError, InteropError, Problem
from qda.ingest import match_key
from qda.ingest.reanchor import find_passage
from qda.models import Code, Codebook, Coding, CodingScope, Document, Segment, WritePlan, statuses_where
from qda.results import TableView, frame_view

if TYPE_CHECKING:
    import pandas as pd

HIGHLIGHT_COLUMNS = ("document", "tag", "content")
CODEBOOK_COLUMNS = ("tag", "description", "number of highlights", "number of documents")


@dataclass(frozen=True)
class HighlightRow:
    row: int  # line of the CSV / row of the sheet, header = 1
    id: str
    document: str
    tag: str
    content: str


@dataclass(frozen=True)
class TaguetteImport:
    """What ``qda import taguette`` read and stored."""

    file: str
    coder: str
    rows: int
    highlights: int
    codings: int
    placed: dict[str, int]  # exact / normalised / fuzzy -> highlights
    lowest_score: float | None
    documents: tuple[str, ...]
    codes_created: tuple[str, ...]
    untagged: int = 0
    replaced: int = 0
    fuzzy: tuple[tuple[int, float], ...] = ()  # (row, score) of each highlight placed fuzzily
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "coder": self.coder, "rows": self.rows, "highlights": self.highlights,
                "codings": self.codings, "placed": dict(self.placed), "lowest_score": self.lowest_score,
                "fuzzy": [{"row": r, "score": s} for r, s in self.fuzzy],
                "documents": list(self.documents), "codes_created": list(self.codes_created),
                "untagged": self.untagged, "replaced": self.replaced, "warnings": list(self.warnings)}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows: list[tuple[str, Any, str]] = [
            ("rows", self.rows, "one row per tag of a highlight"),
            ("highlights", self.highlights, f"in {len(self.documents)} document(s)"),
            *((f"placed {how}", n, "score " + ", ".join(f"row {r}: {s}" for r, s in self.fuzzy)
               if how == "fuzzy" else "") for how, n in self.placed.items() if n),
            ("codings", self.codings, f"coder {self.coder}"),
            ("codes created", len(self.codes_created), ", ".join(self.codes_created)),
        ]
        if self.untagged:
            rows.append(("highlights without a tag", self.untagged, "not imported: no code to apply"))
        if self.replaced:
            rows.append(("codings replaced", self.replaced, f"{self.coder}'s earlier codings in these documents"))
        rows += [("warning", None, w) for w in self.warnings]
        frame = pd.DataFrame(rows, columns=["what", "count", "note"])
        return frame.astype({"count": "Int64"})

    def to_table(self) -> TableView:
        return frame_view(self.to_frame())


# ----------------------------------------------------------------------------- reading

def _header_index(header: Sequence[Any], wanted: Sequence[str], where: str) -> dict[str, int]:
    names = [str(h or "").strip().lower() for h in header]
    missing = [w for w in wanted if w not in names]
    if missing:
        raise IngestError(f"{where}: not a Taguette highlights export (missing column(s): {', '.join(missing)})", [
            Problem(f"{where}:1", f"the header is {', '.join(names) or 'empty'}",
                    "export the highlights from Taguette again (Highlights > Export > CSV or Excel)")])
    return {w: names.index(w) for w in (*wanted, "id") if w in names}


def read_highlights(path: str | Path) -> list[HighlightRow]:
    """The rows of a Taguette highlights export (.csv or .xlsx)."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    suffix = path.suffix.lower()
    table: list[list[Any]]
    if suffix == ".xlsx":
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise IngestError(f"{path}: not a readable .xlsx file ({exc.__class__.__name__})", [
                Problem(where, "the file is damaged or not an Excel workbook", "export it from Taguette again")]
            ) from None
        sheet = book["highlights"] if "highlights" in book.sheetnames else book.worksheets[0]
        table = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
    elif suffix == ".csv":
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IngestError(f"{path}: not UTF-8 text", [
                Problem(where, "Taguette writes UTF-8 CSV files", "export it from Taguette again")]) from None
        table = list(csv.reader(io.StringIO(text, newline="")))
    else:
        raise IngestError(f"{path}: a Taguette highlights export is a .csv or .xlsx file")
    if not table:
        raise IngestError(f"{path}: the file is empty")
    index = _header_index(table[0], HIGHLIGHT_COLUMNS, where)

    def cell(values: list[Any], name: str) -> str:
        at = index.get(name)
        value = values[at] if at is not None and at < len(values) else None
        return "" if value is None else str(value)

    rows = []
    for number, values in enumerate(table[1:], start=2):
        if not any(str(v or "").strip() for v in values):
            continue
        rows.append(HighlightRow(number, cell(values, "id").strip(), cell(values, "document").strip(),
                                 cell(values, "tag").strip(), cell(values, "content")))
    return rows


# ----------------------------------------------------------------------------- codes

def _code_id(path: str, taken: set[str]) -> str:
    folded = unicodedata.normalize("NFKD", path).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9.]+", "_", folded).strip("_.")[:40] or "tag"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def tag_codes(tags: Sequence[str], codebook: Codebook | None, language: str) -> tuple[Codebook, dict[str, str],
                                                                                           list[str]]:
    """The codebook with a code for every tag, the map tag -> code id, and the new code ids.

    A tag is an existing code when its whole path is a code id or label, else when its last
    part is (a label is unique in the codebook); otherwise a new code, under the code of
    its dotted prefix when there is one.
    """
    book = codebook or Codebook(name="taguette", languages=(language,))
    lang = book.default_language or language
    codes = list(book.codes)
    by_key: dict[str, set[str]] = {}
    for c in codes:
        for key in {match_key(c.id), *(match_key(v) for v in c.labels.values())}:
            by_key.setdefault(key, set()).add(c.id)
    taken = {c.id for c in codes} | {c.id for c in book.categories}
    mapping: dict[str, str] = {}
    created: list[str] = []

    def resolve(tag: str) -> str:
        if tag in mapping:
            return mapping[tag]
        for key in (match_key(tag), match_key(tag.rsplit(".", 1)[-1]) if "." in tag else None):
            found = by_key.get(key or "", set())
            if key and len(found) == 1:
                mapping[tag] = next(iter(found))
                return mapping[tag]
        parent = resolve(tag.rsplit(".", 1)[0]) if "." in tag else None
        code_id = _code_id(tag, taken)
        category = next((c.category for c in codes if c.id == parent), None) if parent else None
        codes.append(Code(id=code_id, labels={lang: tag.rsplit(".", 1)[-1] if parent else tag},
                          category=category, parent=parent))
        by_key.setdefault(match_key(tag), set()).add(code_id)
        created.append(code_id)
        mapping[tag] = code_id
        return code_id

    for tag in tags:
        resolve(tag)
    return replace(book, codes=tuple(codes)), mapping, created


def tag_paths(codebook: Codebook) -> dict[str, str]:
    """Code id -> Taguette tag path: the labels of its parent codes and its own, joined by dots."""
    lang = codebook.default_language
    paths: dict[str, str] = {}
    by_id = {c.id: c for c in codebook.codes}

    def path(code: Code) -> str:
        if code.id not in paths:
            own = code.label(lang)
            parent = by_id.get(code.parent or "")
            paths[code.id] = f"{path(parent)}.{own}" if parent is not None else own
        return paths[code.id]

    for code in codebook.codes:
        path(code)
    return paths


# ----------------------------------------------------------------------------- the plan

def _document_of(name: str, documents: Sequence[Document]) -> Document | None:
    by_name = {d.name: d for d in documents}
    if name in by_name:
        return by_name[name]
    keys = {match_key(d.name): d for d in documents}
    stem = re.sub(r"\.(txt|docx?|odt|rtf|pdf|html?|md)$", "", name, flags=re.I)
    return keys.get(match_key(name)) or keys.get(match_key(stem))


def plan_taguette(path: str | Path, coder: str, *, documents: Sequence[Document], codebook: Codebook | None,
                  segments: Sequence[Segment], language: str,
                  threshold: float = 90.0) -> tuple[WritePlan, TaguetteImport]:
    """Plan importing a Taguette highlights export as ``coder``'s codings (all or nothing).

    The coder's earlier codings in the documents of the file are replaced (a second import
    of the same file changes nothing). Raises InteropError listing every row whose
    document is unknown or whose text is found nowhere or in several places.
    """
    rows = read_highlights(path)
    where = str(path)
    problems: list[Problem] = []
    warnings: list[str] = []
    tagged = [r for r in rows if r.tag]
    untagged = {r.id or f"row {r.row}" for r in rows if not r.tag}
    new_book, code_of, created = tag_codes(list(dict.fromkeys(r.tag for r in tagged)), codebook, language)
    # one highlight, several rows (one per tag): placed once
    groups: dict[tuple[str, str, str], list[HighlightRow]] = {}
    for r in tagged:
        groups.setdefault((r.id or f"row {r.row}", r.document, r.content), []).append(r)
    codings: dict[tuple[str, str, int, int], Coding] = {}
    placed: Counter[str] = Counter()
    fuzzy: list[tuple[int, float]] = []
    used_docs: dict[str, None] = {}
    for (_hid, doc_name, content), members in groups.items():
        first = members[0]
        row_where = f"{where}:{first.row}"
        document = _document_of(doc_name, documents)
        if document is None:
            problems.append(Problem(row_where, f"document '{doc_name}' is not in this project",
                                    "import the same text first (qda import transcripts FILE), named like the "
                                    "Taguette document"))
            continue
        found = find_passage(document.text, content, threshold=threshold)
        if found.status == "ambiguous":
            problems.append(Problem(row_where, f"the highlight's text is found {found.count} or more times in "
                                               f"'{document.name}', so its place is not known",
                                    "code it in qda instead, or lengthen the highlight in Taguette"))
            continue
        if found.start is None or found.end is None:
            problems.append(Problem(row_where, f"the highlight's text is not in '{document.name}' (no match of "
                                               f"at least {threshold:g}%)",
                                    "check that the project holds the same version of the document"))
            continue
        placed[found.status] += 1
        if found.status == "fuzzy":
            fuzzy.append((first.row, found.score))
        used_docs[document.name] = None
        for member in members:
            code = code_of[member.tag]
            key = (code, document.name, found.start, found.end)
            codings.setdefault(key, Coding(coder=coder, code=code, document=document.name, case=document.case,
                                           start=found.start, end=found.end, source="taguette"))
    if problems:
        raise InteropError(f"{where}: {len(problems)} highlight(s) cannot be placed; nothing was imported", problems)
    if untagged:
        warnings.append(f"{len(untagged)} highlight(s) without a tag are not imported (no code to apply)")
    whole = {(s.document, s.start, s.end): s.ref for s in segments}
    planned = tuple(replace(c, segment=whole.get((c.document, c.start, c.end))) for c in codings.values())
    plan = WritePlan(codebook=new_book if created or codebook is None else None,
                     codebook_source=dump_codebook(new_book) if created or codebook is None else "",
                     coders=(coder,), codings=planned,
                     # an exchange file holds only exported statuses: the others stay (STATUS_RULES)
                     replace=(CodingScope(coder, documents=tuple(used_docs), statuses=statuses_where("exported")),))
    result = TaguetteImport(
        file=where, coder=coder, rows=len(rows), highlights=sum(placed.values()), codings=len(planned),
        placed={k: placed.get(k, 0) for k in ("exact", "normalised", "fuzzy")},
        lowest_score=min((s for _, s in fuzzy), default=None), documents=tuple(used_docs),
        codes_created=tuple(created), untagged=len(untagged), fuzzy=tuple(fuzzy), warnings=tuple(warnings))
    return plan, result


# ----------------------------------------------------------------------------- codebook out

def taguette_codebook_rows(codebook: Codebook, counts: dict[str, tuple[int, int]]) -> list[list[str]]:
    """Rows of a Taguette codebook CSV (header first): tag path, description, highlights, documents.

    Taguette's "import codebook" reads the tag and description columns; the counts are
    what its own export writes (``counts``: code id -> (codings, documents)).
    """
    paths = tag_paths(codebook)
    rows = [list(CODEBOOK_COLUMNS)]
    for code in codebook.codes:
        if not code.codable:
            continue
        n, docs = counts.get(code.id, (0, 0))
        rows.append([paths[code.id], " ".join(code.definition.split()), str(n), str(docs)])
    return rows


@dataclass(frozen=True)
class TaguetteCodebookExport:
    """What ``qda export taguette-codebook`` wrote."""

    file: str
    tags: int

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "tags": self.tags}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"what": "tags", "written": self.tags}], columns=["what", "written"])

    def to_table(self) -> TableView:
        return frame_view(self.to_frame())


def write_taguette_codebook(path: str | Path, codebook: Codebook,
                            counts: dict[str, tuple[int, int]]) -> TaguetteCodebookExport:
    """Write a codebook CSV that Taguette's "Import codebook" reads (UTF-8, its own columns)."""
    from qda.files import check_suffix, check_target, write_atomically

    path = Path(path)
    check_target(path, "tags.csv")
    check_suffix(path, (".csv",), "a Taguette codebook")
    rows = taguette_codebook_rows(codebook, counts)

    def write(target: Path) -> None:
        with target.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)

    write_atomically(path, write)
    return TaguetteCodebookExport(str(path), len(rows) - 1)
