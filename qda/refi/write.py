"""Writing REFI-QDA files: a codebook (``.qdc``) or a whole project (``.qdpx``).

The files validate against the REFI-QDA schemas (Codebook.xsd 1.0, Project.xsd 1.0).
What qda holds that the standard has no place for (code ids, labels in other
languages, code attributes such as mode, include/exclude, dictionary patterns,
categories, which users are coders) travels, in a .qdpx, in ``qda-fields.json`` beside
project.qde (other tools ignore it and show clean descriptions); a .qdc has no room for
another file, so there it is a trailing ``[qda] {...}`` line of the code's Description,
which other tools show as text and our importer reads back and strips (docs/interop.md).
Categories are folder codes (``isCodable="false"``) with their codes nested inside.

GUIDs are deterministic (uuid5): a code keeps its own ``guid`` when it has one, else
its GUID derives from the codebook name and the code id, so that exporting twice gives
the same GUIDs (and, with fixed zip timestamps, the same bytes). Positions are Unicode
code points from 0 in the stored text, end exclusive; sources are written as UTF-8
``sources/<guid>.txt``.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from qda.errors import ExportError
from qda.files import check_suffix, check_target, write_atomically
from qda.models import Case, Category, Code, Codebook, Coding, Document, DocumentSet, Memo, statuses_where
from qda.refi.model import (
    SIDECAR,
    SIDECAR_FORMAT,
    code_human_text,
    guid_key,
    is_guid,
    is_rgb,
    join_description,
    make_guid,
)
from qda.refi.report import RefiExport

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
_INVALID_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_VALUE_TAGS = {"Text": "TextValue", "Boolean": "BooleanValue", "Integer": "IntegerValue", "Float": "FloatValue",
               "Date": "DateValue", "DateTime": "DateTimeValue"}


def origin() -> str:
    try:
        from importlib.metadata import version

        return f"qda {version('qda')}"
    except Exception:  # not installed (running from a checkout)
        return "qda"


@dataclass(frozen=True)
class RefiExportData:
    """Everything a .qdpx holds, gathered by the project."""

    name: str
    language: str
    codebook: Codebook | None
    documents: Sequence[Document]
    cases: Sequence[Case]
    coders: Sequence[str]
    codings: Sequence[Coding]
    memos: Sequence[Memo] = ()
    document_sets: Sequence[DocumentSet] = ()
    variables: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (type, description)


# ----------------------------------------------------------------------------- helpers

def _clean(text: str | None) -> str:
    """Characters XML 1.0 cannot carry are dropped."""
    return _INVALID_XML.sub("", text or "")


def _sub(parent: ET.Element, tag: str, **attributes: str | None) -> ET.Element:
    return ET.SubElement(parent, tag, {k: _clean(v) for k, v in attributes.items() if v is not None})


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = _clean(text)
    return element


def xsd_time(value: str) -> str | None:
    """A stored time as xsd:dateTime (UTC with Z when it has a zone); None if unusable."""
    try:
        moment = datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.isoformat()
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def value_type(values: Sequence[str], declared: str | None = None) -> str:
    """The REFI variable type of a case attribute: the declared one if all values fit, else inferred."""
    checks = {
        "Integer": lambda v: bool(_INTEGER.match(v)),
        "Float": lambda v: bool(_DECIMAL.match(v)),
        "Boolean": lambda v: v in ("true", "false", "1", "0"),
        "Date": lambda v: bool(_DATE.match(v)) and _valid(date.fromisoformat, v),
        "DateTime": lambda v: bool(_DATETIME.match(v)) and _valid(datetime.fromisoformat, v.replace("Z", "+00:00")),
    }
    if declared == "Text":
        return "Text"
    if declared in checks and all(checks[declared](v) for v in values):
        return declared
    if not values:
        return "Text"
    for name in ("Integer", "Float"):
        if all(checks[name](v) for v in values):
            return name
    if all(v in ("true", "false") for v in values):
        return "Boolean"
    for name in ("Date", "DateTime"):
        if all(checks[name](v) for v in values):
            return name
    return "Text"


def _valid(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _name_and_fields(labels: dict[str, str], default: str | None, fallback: str) -> tuple[str, dict[str, Any]]:
    """The REFI name (label in the default language) and the label fields needed to rebuild ``labels``."""
    if not labels:
        return fallback, {"labels": {}}
    lang = default if default in labels else next(iter(labels))
    fields: dict[str, Any] = {}
    if lang != default:
        fields["lang"] = lang
    if list(labels) != [lang]:
        fields["labels"] = dict(labels)
    return labels[lang], fields


def code_guid(codebook: Codebook, code: Code) -> str:
    return code.guid.strip() if code.guid and is_guid(code.guid) else make_guid("code", codebook.name, code.id)


def category_guid(codebook: Codebook, category: Category) -> str:
    return make_guid("category", codebook.name, category.id)


def _codebook_meta(codebook: Codebook) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": codebook.name, "languages": list(codebook.languages)}
    if codebook.description:
        meta["description"] = codebook.description
    if codebook.attributes:
        meta["attributes"] = [{"name": a.name, "values": list(a.values),
                               **({"description": a.description} if a.description else {})}
                              for a in codebook.attributes]
    return meta


def _codes_xml(parent: ET.Element, codebook: Codebook, code_notes: dict[str, list[str]] | None = None,
               sidecar: dict[str, dict[str, Any]] | None = None) -> int:
    """Categories as folder codes, codes nested under them and under their parent codes.

    Order: sub-categories before the codes of a category, loose codes last: the order
    in which qda lists a codebook, so that re-import keeps it. Returns the element count.
    qda's own fields go to ``sidecar`` (code GUID -> fields) when one is given, else to
    a trailing ``[qda]`` line of each Description.
    """
    default = codebook.default_language
    codes_el = _sub(parent, "Codes")
    first = [True]
    count = [0]

    def with_meta(fields: dict[str, Any]) -> dict[str, Any]:
        if first[0]:
            first[0] = False
            fields["codebook"] = _codebook_meta(codebook)
        return fields

    def describe(element: ET.Element, guid: str, human: str, fields: dict[str, Any]) -> None:
        if sidecar is None:
            _text(element, "Description", join_description(human, fields))
            return
        sidecar[guid] = fields
        if human:
            _text(element, "Description", human)

    def code(into: ET.Element, c: Code) -> None:
        name, fields = _name_and_fields(c.labels, default, c.id)
        fields = {"id": c.id, **fields}
        for key in ("include", "exclude"):
            if getattr(c, key):
                fields[key] = getattr(c, key)
        if c.attributes:
            fields["attributes"] = dict(c.attributes)
        if c.patterns:
            fields["patterns"] = [{k: v for k, v in p.__dict__.items() if v is not None} for p in c.patterns]
        if c.guid is None:
            fields["guid"] = None
        elif not is_guid(c.guid):
            fields["guid"] = c.guid
        if c.color and not is_rgb(c.color):
            fields["color"] = c.color
        guid = code_guid(codebook, c)
        element = _sub(into, "Code", guid=guid, name=name,
                       isCodable="true" if c.codable else "false", color=c.color if is_rgb(c.color) else None)
        describe(element, guid, code_human_text(c.definition, c.include, c.exclude), with_meta(fields))
        for target in (code_notes or {}).get(c.id, []):
            _sub(element, "NoteRef", targetGUID=target)
        count[0] += 1
        for child in codebook.subcodes(c.id):
            code(element, child)

    def category(into: ET.Element, cat: Category) -> None:
        name, fields = _name_and_fields(cat.labels, default, cat.id)
        guid = category_guid(codebook, cat)
        element = _sub(into, "Code", guid=guid, name=name, isCodable="false")
        describe(element, guid, cat.description, with_meta({"category": cat.id, **fields}))
        count[0] += 1
        for sub in codebook.children(cat.id):
            category(element, sub)
        for c in codebook.codes_in(cat.id):
            if c.parent is None:
                code(element, c)

    for root in codebook.children(None):
        category(codes_el, root)
    for c in codebook.codes_in(None):
        if c.parent is None:
            code(codes_el, c)
    return count[0]


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root, space=" ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


def _write_atomically(path: Path, write: Any, suffix: str, what: str) -> None:
    check_target(path, f"project{suffix}")
    check_suffix(path, (suffix,), what)
    write_atomically(path, write)


# ----------------------------------------------------------------------------- codebook

def codebook_xml(codebook: Codebook) -> tuple[bytes, int]:
    """A .qdc document (Codebook.xsd) and its number of Code elements."""
    if not codebook.codes and not codebook.categories:
        raise ExportError(f"codebook '{codebook.name}' has no codes: a .qdc needs at least one")
    root = ET.Element("CodeBook", {"xmlns": CODEBOOK_NS, "origin": origin()})
    count = _codes_xml(root, codebook)
    return _serialise(root), count


def write_qdc(path: str | Path, codebook: Codebook) -> RefiExport:
    path = Path(path)
    data, count = codebook_xml(codebook)
    _write_atomically(path, lambda p: p.write_bytes(data), ".qdc", "a REFI-QDA codebook")
    return RefiExport(str(path), "codebook", {"codes": len(codebook.codes), "categories": len(codebook.categories),
                                                "code_elements": count})


# ----------------------------------------------------------------------------- project

def memo_guids(memos: Sequence[Memo]) -> list[str]:
    """The Note GUID of each memo: its own when it is a GUID no earlier memo took, else one
    derived from its row (stable from one export to the next), never empty nor repeated."""
    taken: set[str] = set()
    found = []
    for i, memo in enumerate(memos):
        guid = memo.guid.strip() if is_guid(memo.guid.strip()) else ""
        n = 0
        while not guid or guid_key(guid) in taken:
            n += 1
            guid = make_guid("note", str(memo.id if memo.id is not None else f"#{i}"), memo.guid,
                             memo.target_kind, memo.target, str(n))
        taken.add(guid_key(guid))
        found.append(guid)
    return found


def project_xml(data: RefiExportData) -> tuple[bytes, dict[str, str], dict[str, int]]:
    """project.qde, the other files to add (zip name -> text) and counts.

    Memos: every memo is a Note with its own GUID, referred to by a NoteRef from the code,
    source or project it is about; a case has no NoteRef in the schema, so a case memo is
    a Note joined to its case by a Link (and its text is also the case's Description, for
    tools that do not read links). A coding's memo is its selection's Description, which
    is what QualCoder, NVivo and MAXQDA read. qda's own fields (code ids, labels, patterns,
    categories, a document's language) go to ``qda-fields.json`` beside project.qde,
    so that other tools show clean descriptions.
    """
    # the coders, then the authors of memos who are not coders (so that a memo keeps its author)
    # and those who last changed a coding or a memo (a user of another tool who is not a coder here)
    users = {name: make_guid("user", name) for name in
             [*data.coders, *(m.author for m in data.memos if m.author and m.author not in data.coders),
              *sorted({c.modified_by for c in data.codings if c.modified_by and c.modified_by not in data.coders}
                      | {m.modified_by for m in data.memos if m.modified_by and m.modified_by not in data.coders})]}
    root = ET.Element("Project", {"xmlns": PROJECT_NS, "name": _clean(data.name), "origin": origin()})
    if users:
        users_el = _sub(root, "Users")
        for name, guid in users.items():
            _sub(users_el, "User", guid=guid, name=name)
    codebook = data.codebook
    code_guids: dict[str, str] = {}
    sidecar: dict[str, Any] = {"format": SIDECAR_FORMAT, "codes": {}, "sources": {}, "coders": list(data.coders)}
    note_guids = memo_guids(data.memos)
    notes_by_target: dict[tuple[str, str], list[str]] = {}
    for memo, guid in zip(data.memos, note_guids):
        notes_by_target.setdefault((memo.target_kind, memo.target), []).append(guid)
    code_elements = 0
    if codebook is not None and (codebook.codes or codebook.categories):
        code_guids = {c.id: code_guid(codebook, c) for c in codebook.codes}
        code_notes = {key: guids for (kind, key), guids in notes_by_target.items() if kind == "code"}
        code_elements = _codes_xml(_sub(root, "CodeBook"), codebook, code_notes, sidecar["codes"])
    # variables: every case attribute, typed
    values: dict[str, list[str]] = {}
    for case in data.cases:
        for key, value in case.attributes.items():
            if value != "":
                values.setdefault(key, []).append(value)
    types = {name: value_type(vals, data.variables.get(name, ("", ""))[0] or None) for name, vals in values.items()}
    if values:
        variables_el = _sub(root, "Variables")
        for name in values:
            element = _sub(variables_el, "Variable", guid=make_guid("variable", name), name=name,
                           typeOfVariable=types[name])
            description = data.variables.get(name, ("", ""))[1]
            if description:
                _text(element, "Description", description)
    source_guid = {d.name: make_guid("source", d.name) for d in data.documents}
    case_guid = {case.name: make_guid("case", case.name) for case in data.cases}
    links: list[tuple[str, str]] = []  # (note GUID, case GUID)
    if data.cases:
        cases_el = _sub(root, "Cases")
        for case in data.cases:
            element = _sub(cases_el, "Case", guid=case_guid[case.name], name=case.name)
            memos = [(m.text, g) for m, g in zip(data.memos, note_guids)
                     if (m.target_kind, m.target) == ("case", case.name)]
            if memos:
                _text(element, "Description", "\n\n".join(text for text, _ in memos))
                links += [(g, case_guid[case.name]) for _, g in memos]
            for key, value in case.attributes.items():
                if value == "":
                    continue
                holder = _sub(element, "VariableValue")
                _sub(holder, "VariableRef", targetGUID=make_guid("variable", key))
                _text(holder, _VALUE_TAGS[types[key]], value)
            for doc in data.documents:
                if doc.case == case.name:
                    _sub(element, "SourceRef", targetGUID=source_guid[doc.name])
    # sources and their codings
    by_document: dict[str, list[Coding]] = {}
    for coding in data.codings:
        by_document.setdefault(coding.document, []).append(coding)
    files: dict[str, str] = {}
    n_codings = coding_memos = 0
    if data.documents:
        sources_el = _sub(root, "Sources")
        for doc in data.documents:
            guid = source_guid[doc.name]
            files[f"sources/{guid}.txt"] = doc.text
            element = _sub(sources_el, "TextSource", guid=guid, name=doc.name, plainTextPath=f"internal://{guid}.txt")
            if doc.language != data.language:
                sidecar["sources"][guid] = {"language": doc.language}
            seen: dict[tuple[str, ...], int] = {}
            for coding in sorted(by_document.get(doc.name, []), key=lambda k: (k.start, k.end, k.coder, k.code)):
                if coding.code not in code_guids:
                    raise ExportError(f"coding of code '{coding.code}' by {coding.coder}: "
                                      "the code is not in the codebook")
                span = (coding.coder, coding.code, doc.name, str(coding.start), str(coding.end))
                seen[span] = seen.get(span, 0) + 1
                sel_guid = make_guid("selection", *span, str(seen[span]))
                created = xsd_time(coding.created_at)
                selection = _sub(element, "PlainTextSelection", guid=sel_guid, name=coding.name or None,
                                 startPosition=str(coding.start), endPosition=str(coding.end),
                                 creatingUser=users.get(coding.coder), creationDateTime=created,
                                 modifyingUser=users.get(coding.modified_by),
                                 modifiedDateTime=xsd_time(coding.modified_at) if coding.modified_at else None)
                if coding.note:
                    _text(selection, "Description", coding.note)
                    coding_memos += 1
                coding_el = _sub(selection, "Coding", guid=make_guid("coding", sel_guid),
                                 creatingUser=users.get(coding.coder), creationDateTime=created)
                _sub(coding_el, "CodeRef", targetGUID=code_guids[coding.code])
                n_codings += 1
            for target in notes_by_target.get(("document", doc.name), []):
                _sub(element, "NoteRef", targetGUID=target)
    if data.memos:
        notes_el = _sub(root, "Notes")
        for memo, guid in zip(data.memos, note_guids):
            element = _sub(notes_el, "Note", guid=guid, name=memo.name or None, creatingUser=users.get(memo.author),
                           creationDateTime=xsd_time(memo.created_at), modifyingUser=users.get(memo.modified_by),
                           modifiedDateTime=xsd_time(memo.modified_at) if memo.modified_at else None)
            _text(element, "PlainTextContent", memo.text)
    if links:
        links_el = _sub(root, "Links")
        for note_guid, target in links:
            _sub(links_el, "Link", guid=make_guid("link", note_guid, target), name="Memo-Case Relation",
                 direction="OneWay", originGUID=note_guid, targetGUID=target)
    if data.document_sets:
        sets_el = _sub(root, "Sets")
        for doc_set in data.document_sets:
            element = _sub(sets_el, "Set", guid=doc_set.guid if is_guid(doc_set.guid) else
                           make_guid("set", doc_set.name), name=doc_set.name)
            if doc_set.description:
                _text(element, "Description", doc_set.description)
            for document in doc_set.documents:
                if document in source_guid:
                    _sub(element, "MemberSource", targetGUID=source_guid[document])
    for target in notes_by_target.get(("project", ""), []):
        _sub(root, "NoteRef", targetGUID=target)
    if sidecar["codes"] or sidecar["sources"] or sidecar["coders"]:
        files[SIDECAR] = json.dumps(sidecar, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    counts = {"users": len(users), "codes": len(codebook.codes) if codebook else 0,
              "categories": len(codebook.categories) if codebook else 0, "code_elements": code_elements,
              "variables": len(values), "cases": len(data.cases), "sources": len(data.documents),
              "codings": n_codings, "notes": len(data.memos), "coding_memos": coding_memos,
              "document_sets": len(data.document_sets)}
    return _serialise(root), files, counts


def write_qdpx(path: str | Path, data: RefiExportData) -> RefiExport:
    """Write a .qdpx: project.qde and sources/<guid>.txt, with fixed timestamps.

    Codings whose status is not exported (``STATUS_RULES``: negated mentions, codings orphaned
    by a revision, a machine's suggestions) are left out, and counted per status
    (``not_exported_negated`` …); re-anchored ("changed") codings are exported.
    """
    path = Path(path)
    exported = statuses_where("exported")
    kept = [c for c in data.codings if c.status in exported]
    xml, files, counts = project_xml(replace(data, codings=kept))
    left_out = Counter(c.status for c in data.codings if c.status not in exported)
    counts = {**counts, **{f"not_exported_{status}": n for status, n in sorted(left_out.items())}}

    def write(target: Path) -> None:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, payload in [("project.qde", xml), *((n, t.encode("utf-8")) for n, t in files.items())]:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, payload)

    _write_atomically(path, write, ".qdpx", "a REFI-QDA project")
    return RefiExport(str(path), "project", counts)
