"""Planning a REFI-QDA import: what a project stores from a :class:`RefiProject`.

:func:`plan_import` turns a read file into the codebook, documents, cases, codings and
memos a project must store, and a report, without writing anything; :func:`plan_refi`
completes it with the segments and tokens of new documents into a
:class:`qda.models.WritePlan` that the project commits in one transaction.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime as _datetime
from datetime import timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from qda.codebook import dump_codebook, plan_codebook
from qda.errors import InteropError, Problem
from qda.ingest import detect_turns, match_key
from qda.ingest.plan import document_write
from qda.ingest.segment import analyse_many
from qda.models import (
    AttributeDef,
    Case,
    Category,
    Code,
    Codebook,
    Coding,
    CodingScope,
    Document,
    DocumentSet,
    Memo,
    Pattern,
    Segment,
    SegmentRun,
    SegmentUnit,
    Variable,
    WritePlan,
    color_problem,
    segment_ref,
    statuses_where,
)
from qda.refi.model import (
    VARIABLE_TYPES,
    RefiCode,
    RefiCoding,
    RefiProject,
    RefiSelection,
    Unsupported,
    definition_from,
    guid_key,
    is_rgb,
    make_guid,
    split_description,
)
from qda.refi.read import read_refi
from qda.refi.report import RefiImportReport
from qda.results import Progress, no_progress

_TEXT_SUFFIXES = (".txt", ".docx", ".doc", ".rtf", ".odt", ".md", ".pdf", ".htm", ".html",
                  # recordings whose transcript becomes a document
                  ".mp3", ".mp4", ".m4a", ".wav", ".mov", ".avi", ".ogg", ".webm", ".mkv")
_ID_RE = re.compile(r"^[^\s,;|]+$")  # as qda.codebook wants code ids

# ----------------------------------------------------------------------------- codebook

def _slug(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")[:30].strip("_")
    return slug or "code"


def document_name(source_name: str, guid: str) -> str:
    """A source's name as a qda document name: without a file extension, never empty."""
    name = " ".join(source_name.split())
    lowered = name.lower()
    for suffix in _TEXT_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)].rstrip()
            break
    return name or f"source-{guid[:8]}"


def codebook_from_refi(refi: RefiProject, language: str, *, name: str | None = None,
                       existing: Codebook | None = None,
                       rules: dict[str, str] | None = None) -> tuple[Codebook, dict[str, str]]:
    """The qda codebook of a REFI codebook, and the map code GUID key -> code id.

    Codes written by qda carry their id, labels, attributes and patterns in a trailing
    ``[qda]`` line of their Description, and categories are folder codes marked so;
    codes from other tools become codes (folder codes stay non-codable codes), with ids
    made from their names. A code of the ``existing`` codebook keeps its id when the file's
    code carries that id, else has its GUID, else has its name or one of its labels (when
    only one code has it): the rule that matched each code id ("id", "guid", "name", or
    "new") is written into ``rules``.
    """
    meta: dict[str, Any] = {}
    for code in refi.all_codes():
        fields = split_description(code.description)[1]
        if fields and isinstance(fields.get("codebook"), dict):
            meta = fields["codebook"]
            break
    languages = tuple(meta.get("languages") or (existing.languages if existing else (language,)))
    lang = languages[0]
    by_guid = {guid_key(c.guid): c.id for c in existing.codes if c.guid} if existing else {}
    if existing:
        by_guid.update({guid_key(make_guid("code", existing.name, c.id)): c.id for c in existing.codes})
    existing_ids = {c.id for c in existing.codes} if existing else set()
    by_label = _labels_index(existing) if existing else {}
    rules = {} if rules is None else rules
    categories: list[Category] = []
    codes: list[Code] = []
    code_map: dict[str, str] = {}
    # Ids qda wrote (and ids of existing codes) are reserved, so that made-up ids never
    # take them; an id met twice (a code duplicated in another tool) is made unique.
    reserved = set(by_guid.values())
    for code in refi.all_codes():
        fields = split_description(code.description)[1] or {}
        reserved.update(str(fields[k]) for k in ("id", "category") if fields.get(k))
    assigned: set[str] = set()

    def claim(wanted: Any, name_: str) -> str:
        if isinstance(wanted, str) and _ID_RE.match(wanted) and wanted not in assigned:
            assigned.add(wanted)
            return wanted
        base = _slug(name_)
        candidate, n = base, 1
        while candidate in assigned or candidate in reserved:
            n += 1
            candidate = f"{base}_{n}"
        assigned.add(candidate)
        return candidate

    def labels_of(fields: dict[str, Any], name_: str) -> dict[str, str]:
        labels = {str(k): str(v) for k, v in (fields.get("labels") or {}).items()}
        labels[str(fields.get("lang") or lang)] = name_
        return labels

    category_labels: dict[str, set[str]] = defaultdict(set)
    for cat in existing.categories if existing else ():
        for label in (cat.id, *cat.labels.values()):
            category_labels[match_key(label)].add(cat.id)

    def as_category(node: RefiCode, fields: dict[str, Any] | None) -> dict[str, Any] | None:
        """The fields of a folder code that is a category: marked so by qda, or (from a tool
        that dropped qda's fields) named as one category of the ``existing`` codebook."""
        if node.codable:
            return None
        if fields and "category" in fields:
            return fields
        named = category_labels.get(match_key(node.name), set()) - assigned
        if not fields and node.children and len(named) == 1:
            return {"category": next(iter(named))}
        return None

    def visit_category(node: RefiCode, fields: dict[str, Any], parent: str | None) -> None:
        human = split_description(node.description)[0]
        cat_id = claim(fields["category"], node.name)
        categories.append(Category(cat_id, labels_of(fields, node.name), parent, human))
        folders = [(c, as_category(c, split_description(c.description)[1])) for c in node.children]
        for child, child_fields in folders:  # sub-categories first: codebook order
            if child_fields:
                visit_category(child, child_fields, cat_id)
        for child, child_fields in folders:
            if not child_fields:
                visit_code(child, cat_id, None)

    def visit_code(node: RefiCode, category: str | None, parent: str | None) -> None:
        human, fields = split_description(node.description)
        fields = fields or {}
        key = guid_key(node.guid)
        wanted, rule = fields.get("id"), "new"
        if existing is not None:
            named = by_label.get(match_key(node.name), set()) - assigned
            if isinstance(wanted, str) and wanted in existing_ids and wanted not in assigned:
                rule = "id"
            elif by_guid.get(key) and by_guid[key] not in assigned:
                wanted, rule = by_guid[key], "guid"
            elif len(named) == 1:
                wanted, rule = next(iter(named)), "name"
        code_id = claim(wanted, node.name)
        rules[code_id] = rule
        include, exclude = str(fields.get("include", "")), str(fields.get("exclude", ""))
        color = node.color if is_rgb(node.color) else None
        if "color" in fields and isinstance(fields["color"], str) and color_problem(fields["color"]) is None:
            color = fields["color"]  # a colour that is not one (CSS in disguise) keeps the file's own
        guid = fields["guid"] if "guid" in fields else (node.guid or None)
        made = Code(
            id=code_id, labels=labels_of(fields, node.name), category=category, parent=parent,
            definition=definition_from(human, include, exclude) if fields else human,
            include=include, exclude=exclude, attributes=dict(fields.get("attributes") or {}),
            patterns=tuple(Pattern(**p) for p in fields.get("patterns") or ()), color=color, guid=guid,
            codable=node.codable)
        if existing is not None and rule != "new" and not fields:
            # a tool that dropped qda's fields: what only qda holds (labels in other languages,
            # include/exclude, attributes, patterns) is kept from the project's code
            base = existing.code(code_id)
            made = replace(made, labels={**base.labels, lang: node.name}, include=base.include,
                           exclude=base.exclude, definition=definition_from(human, base.include, base.exclude),
                           attributes=dict(base.attributes), patterns=base.patterns, guid=base.guid or made.guid)
        codes.append(made)
        code_map[key] = code_id
        for child in node.children:
            visit_code(child, category, code_id)

    tops = [(c, as_category(c, split_description(c.description)[1])) for c in refi.codes]
    for node, category_fields in tops:
        if category_fields:
            visit_category(node, category_fields, None)
    for node, category_fields in tops:
        if not category_fields:
            visit_code(node, None, None)
    attributes = tuple(AttributeDef(str(a["name"]), tuple(str(v) for v in a.get("values", ())),
                                    str(a.get("description", ""))) for a in meta.get("attributes") or ())
    if not attributes:  # from the codes' values, in order of appearance
        seen: dict[str, list[str]] = {}
        for made in codes:
            for k, v in made.attributes.items():
                if v not in seen.setdefault(k, []):
                    seen[k].append(v)
        attributes = tuple(AttributeDef(k, tuple(v)) for k, v in seen.items())
    if existing is not None and not meta:  # another tool's codebook for this project: keep the project's own
        return replace(existing, attributes=existing.attributes or attributes, categories=tuple(categories),
                       codes=tuple(codes)), code_map
    codebook = Codebook(name=str(meta.get("name") or name or refi.name), languages=languages,
                        attributes=attributes, categories=tuple(categories), codes=tuple(codes),
                        description=str(meta.get("description", "")))
    return codebook, code_map


# ----------------------------------------------------------------------------- import plan

@dataclass(frozen=True)
class ImportPlan:
    """Everything an import will store; computed before any write."""

    codebook: Codebook | None  # a codebook to save (None: keep the project's)
    documents: tuple[Document, ...]  # documents to create
    cases: tuple[Case, ...]
    variables: tuple[Variable, ...]
    coders: tuple[str, ...]
    codings: tuple[Coding, ...]  # positions are code points in the stored document text
    replace: tuple[CodingScope, ...]  # each coder's codings in the shared documents
    notes: tuple[Memo, ...]
    report: RefiImportReport
    document_sets: tuple[DocumentSet, ...] = ()


def qda_time(value: str, *, where: str = "", warnings: list[str] | None = None, instead: str = "unknown",
             what: str = "creationDateTime") -> str:
    """An xsd:dateTime as qda stores times: UTC ISO 8601 to the second when a zone is given.

    A value that is not a date is stored as unknown (""), with a warning naming ``where``
    it was when ``warnings`` is given: a wrong date would sort and filter wrongly.
    """
    value = (value or "").strip()
    if not value:
        return ""
    stored = _stored_time(value)
    if stored is None:
        if warnings is not None:
            warnings.append(f"{where}: '{value[:40]}' is not a date ({what}): stored as {instead}")
        return ""
    return stored


@lru_cache(maxsize=4096)
def _stored_time(value: str) -> str | None:
    """:func:`qda_time` of a non-empty value, None when it is not a date (the codings of a
    large file often share their dates: each is parsed once)."""
    try:
        moment = _datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(microsecond=0).isoformat()
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def coder_name(name: str, fallback: str) -> str:
    """A REFI user name as a qda coder name (letters, digits, spaces, . ' - _ @; 60 at most)."""
    cleaned = re.sub(r"[^\w .'’@-]+", "-", " ".join(name.split())).strip(" -")[:60].strip()
    return cleaned or fallback



def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_import(refi: RefiProject, *, documents: Sequence[Document], codebook: Codebook | None,
                language: str, coder: str | None = None, existing: Sequence[Coding] = ()) -> ImportPlan:
    """Decide what importing ``refi`` into a project stores (see ``Project.import_qdpx``).

    An empty project (no document) receives everything: codebook (unless it has one),
    documents, cases with their attributes, coders, codings, memos. A project with
    documents receives the codings (and their memos) on the documents it shares with the
    file, matched by text (SHA-256 of the normalised text) or else by name, in which case
    the codings are re-anchored on the project's version of the text; each coder's
    codings in those documents are replaced (``existing``: the project's codings, whose
    memos are kept on the identical codings of the file, see :func:`keep_coding_memos`).
    Raises InteropError, listing every problem,
    when a coding cannot be placed (unknown code, no shared document).
    """
    problems: list[Problem] = []
    warnings: list[str] = []
    rules: dict[str, str] = {}
    new_project = not documents
    if codebook is None:
        new_codebook, code_map = codebook_from_refi(refi, language, name=refi.name) if refi.codes else (None, {})
    else:
        new_codebook, code_map = None, _map_codes(refi, codebook, rules)
        # folder codes holding other codes are categories, not codes the codebook lacks
        unused = sum(1 for c in refi.all_codes() if guid_key(c.guid) not in code_map and not c.children)
        if unused:
            warnings.append(f"{unused} codes of the file are not in the project's codebook (none of their codings "
                            "is in this file's shared documents, or the import stops)")
    users = {u.guid: coder_name(u.name, f"user-{u.guid[:8]}") for u in refi.users}
    new_docs, doc_of, revised = _plan_documents(refi, documents, language, problems, warnings)
    planned, used_notes = _plan_codings(refi, doc_of, code_map, new_codebook or codebook, users, coder, problems,
                                        warnings)
    planned = _reanchor(planned, refi, doc_of, revised, warnings)
    if problems:
        raise InteropError(f"{refi.file}: {len(problems)} problem(s); nothing was imported", problems)
    cases, variables = _plan_cases(refi, doc_of, new_docs, warnings) if new_project else ([], [])
    cases, set_rows, from_sets, document_sets = _plan_sets(refi, doc_of, new_docs, cases, new_project, warnings)
    # a user who coded nothing (ATLAS.ti lists itself as a user) is not made a coder, except
    # the coders of qda's own files (a coder may not have coded yet)
    ours = refi.qda_coders is not None
    coders = [coder] if coder else [u for u in users.values() if u in (refi.qda_coders or ())] \
        if new_project and ours else []
    for c in planned:
        if c.coder not in coders:
            coders.append(c.coder)
    idle = [name for name in users.values() if name not in coders]
    if idle and not coder:
        warnings.append(f"{len(idle)} user(s) of the file have no codings here and are not made coders: "
                        + ", ".join(idle))
    notes = _plan_notes(refi, doc_of, code_map, users, used_notes, new_project, warnings)
    # only the codings a REFI-QDA file can hold are replaced (STATUS_RULES): negated, orphaned
    # and suggested codings were never exported, so the file cannot stand for them
    exported = statuses_where("exported")
    replacing = [] if new_project else [CodingScope(c, documents=(d,), statuses=exported)
                                        for c, d in sorted({(c, d) for c in coders for d in doc_of.values()})]
    memo_counts: dict[str, int] = {}
    if existing and not new_project:
        scope = {(s.coder, d) for s in replacing for d in s.documents or ()}
        planned, memo_counts = keep_coding_memos(planned, existing, scope, warnings=warnings)
        planned = keep_statuses(planned, existing, scope, warnings=warnings)
    per_coder = Counter(c.coder for c in planned)
    report = RefiImportReport(
        file=refi.file, origin=refi.origin, mode="new project" if new_project else "codings into this project",
        in_file=dict(refi.counts),
        imported={"codes": len(new_codebook.codes) if new_codebook else 0,
                  "categories": len(new_codebook.categories) if new_codebook else 0,
                  "codes_matched": len(code_map) if codebook is not None else 0,
                  "documents": len(new_docs), "documents_matched": len(doc_of) - len(new_docs),
                  "cases": len(cases), "variables": len(variables), "coders": len(coders),
                  "codings": len(planned), "notes": len(notes) + sum(1 for c in planned if c.note),
                  "sets_as_attributes": from_sets, "document_sets": len(document_sets), **memo_counts},
        offsets=refi.offsets, coders={c: per_coder.get(c, 0) for c in coders},
        documents={s.name: doc_of[s.guid] for s in refi.sources if s.guid in doc_of},
        missing=refi.missing, warnings=tuple(warnings), unsupported=refi.unsupported + tuple(set_rows),
        matches=rules)
    return ImportPlan(new_codebook, tuple(new_docs), tuple(cases), tuple(variables), tuple(coders), tuple(planned),
                      tuple(replacing), tuple(notes), report, tuple(document_sets))


def _plan_documents(refi: RefiProject, documents: Sequence[Document], language: str, problems: list[Problem],
                    warnings: list[str]) -> tuple[list[Document], dict[str, str], dict[str, Document]]:
    """New documents, source GUID -> document name, and the matched documents whose text differs."""
    ours = refi.origin.lower().startswith("qda")  # our own export: names are document names already
    by_hash = {d.sha256: d for d in documents}
    by_name = {d.name: d for d in documents}
    by_key = {match_key(d.name): d for d in documents}
    case_of_source: dict[str, str] = {}
    for case in refi.cases:
        for guid in case.sources:
            case_of_source.setdefault(guid, case.name or f"case-{case.guid[:8]}")
    new_docs: list[Document] = []
    doc_of: dict[str, str] = {}
    revised: dict[str, Document] = {}
    taken = set(by_name)
    for source in refi.sources:
        if source.text is None:
            continue
        digest = sha256(source.text)
        wanted = source.name if ours and source.name else document_name(source.name, source.guid)
        match = by_hash.get(digest)
        named = by_name.get(source.name) or by_name.get(wanted) or by_key.get(match_key(wanted))
        if match is not None:
            doc_of[source.guid] = match.name
        elif named is not None:  # another version of the same text: its codings are re-anchored
            revised[source.guid] = named
            doc_of[source.guid] = named.name
        elif documents:
            n = len(source.codings) + sum(len(s.codings) for s in source.selections)
            warnings.append(f"source '{source.name}' is not in this project ({n} codings not imported)")
        else:
            name, n = wanted, 1
            while name in taken:
                n += 1
                name = f"{wanted} ({n})"
            taken.add(name)
            fields = split_description(source.description)[1] or {}
            origin = f"{Path(refi.file).name}:{source.name}" + (f" (text of {source.media})" if source.media else "")
            new_docs.append(Document(name, case_of_source.get(source.guid, name), source.text, digest, origin,
                                     str(fields.get("language") or language)))
            doc_of[source.guid] = name
    for source in refi.sources:
        if source.guid in doc_of and source.path.lower().startswith("relative:"):
            warnings.append(f"source '{source.name}' was read beside the file ({source.path}), not from inside it")
    if documents and not doc_of and any(s.text is not None for s in refi.sources):
        problems.append(Problem(refi.file, "none of the file's sources is a document of this project",
                                "import into a new project (qda init), or import the same transcripts first"))
    return new_docs, doc_of, revised


def _plan_codings(refi: RefiProject, doc_of: dict[str, str], code_map: dict[str, str], codebook: Codebook | None,
                  users: dict[str, str], coder: str | None, problems: list[Problem],
                  warnings: list[str]) -> tuple[list[Coding], set[str]]:
    """The codings to store (selection memos become coding notes) and the GUIDs of the memos used."""
    notes = {n.guid: n.text for n in refi.notes}
    linked = linked_notes(refi)
    used: set[str] = set()

    def memos(guids: Sequence[str]) -> list[str]:
        if not guids:  # most selections and codings: no note, no link
            return []
        found = [g for g in guids if g in notes]
        used.update(found)
        return [notes[g] for g in found]

    def who(*guids: str) -> str:
        if coder:
            return coder
        first = next((g for g in guids if g), "")
        return users.get(first) or (f"user-{first[:8]}" if first else "unknown")

    planned: list[Coding] = []
    unmapped: Counter[str] = Counter()
    names = {guid_key(c.guid): c.name for c in refi.all_codes()}
    folder_codings = 0
    for source in refi.sources:
        document = doc_of.get(source.guid)
        if document is None:
            continue
        spans: list[tuple[RefiSelection | None, tuple[RefiCoding, ...]]] = [(s, s.codings) for s in source.selections]
        spans.append((None, source.codings))  # codes applied to the whole source
        for sel, codings in spans:
            if not codings:
                continue
            name = modified_by = modified_at = ""
            if sel is None:
                start, end, memo = 0, len(source.text or ""), []
            elif sel.start is None or sel.end is None:
                warnings.append(f"source '{source.name}': selection {sel.raw_start}-{sel.raw_end} lies outside the "
                                f"text ({len(codings)} codings not imported)")
                continue
            else:
                start, end = sel.start, sel.end
                # the selection's Description (QualCoder, NVivo, MAXQDA, qda), its Notes (older
                # qda exports) and the memos linked to it (ATLAS.ti): each text once
                memo = ([sel.description] if sel.description.strip() else []) + memos(sel.notes) \
                    + memos(linked.get(sel.guid, ()))
                memo = list(dict.fromkeys(m for m in memo if m.strip()))
                # the quotation's name, and who changed it last and when: kept, and written back on export
                name, modified_by = sel.name.strip(), users.get(sel.modifying_user, "")
                modified_at = qda_time(sel.modified, where=f"source '{source.name}', selection {sel.guid}",
                                       warnings=warnings,
                                       what="modifiedDateTime")
            for coding in codings:
                code = code_map.get(coding.code)
                if code is None:
                    unmapped[names.get(coding.code, coding.code)] += 1
                    continue
                if codebook is not None and not codebook.code(code).codable:
                    folder_codings += 1
                planned.append(Coding(
                    coder=who(coding.user, sel.user if sel else "", source.user, refi.creating_user), code=code,
                    document=document, case="", start=start, end=end,
                    created_at=qda_time(coding.created or (sel.created if sel else ""),
                                        where=f"source '{source.name}', coding {coding.guid}", warnings=warnings,
                                        instead="the time of this import (a coding always has one)"), source="refi",
                    note="\n\n".join(dict.fromkeys(memo + memos(coding.notes))) if memo or coding.notes else "",
                    name=name,
                    modified_by=modified_by, modified_at=modified_at))
    for name, n in sorted(unmapped.items()):
        problems.append(Problem(f"{refi.file}: code '{name}'", f"used by {n} coding(s), not in the project's codebook",
                                "add the code to the codebook (same name or GUID), or import into a new project"))
    if folder_codings:
        warnings.append(f"{folder_codings} codings apply folder codes (isCodable=false); imported as they are")
    return _merge_duplicates(planned, warnings), used


def keep_statuses(planned: list[Coding], existing: Sequence[Coding], scope: set[tuple[str, str]],
                  *, warnings: list[str]) -> list[Coding]:
    """The statuses of the codings an import replaces (``scope``: coder and document), kept.

    A re-anchored ("changed") coding that comes back from the file with the same code and
    span stays "changed" (a REFI-QDA file has no status); codings the file cannot hold
    (``STATUS_RULES``: not exported) are not replaced at all, and said so.
    """
    exported = statuses_where("exported")
    status_of = {(c.coder, c.code, c.document, c.start, c.end): c.status for c in existing
                 if (c.coder, c.document) in scope and c.status in exported}
    untouched = Counter(c.status for c in existing if (c.coder, c.document) in scope and c.status not in exported)
    if untouched:
        warnings.append("codings a REFI-QDA file does not hold stay in the project as they are: "
                        + ", ".join(f"{n} {status}" for status, n in sorted(untouched.items())))
    return [replace(c, status=status_of.get((c.coder, c.code, c.document, c.start, c.end), c.status))
            for c in planned]


def keep_coding_memos(planned: list[Coding], existing: Sequence[Coding], scope: set[tuple[str, str]],
                      *, warnings: list[str]) -> tuple[list[Coding], dict[str, int]]:
    """The memos of the codings an import replaces (``scope``: coder and document), kept.

    A replaced coding whose code and span come back from the file passes its memo on when
    the file's coding has none (a tool that dropped it); when the file has another memo,
    the file's wins (edited in that tool). A memo whose coding the file no longer holds
    goes with its coding: counted, and the snapshot taken before the import has it.
    """
    incoming = {(c.coder, c.code, c.document, c.start, c.end): i for i, c in enumerate(planned)}
    result = list(planned)
    kept = changed = dropped = 0
    for old in existing:
        if not old.note or (old.coder, old.document) not in scope:
            continue
        at = incoming.get((old.coder, old.code, old.document, old.start, old.end))
        if at is None:
            dropped += 1
        elif not result[at].note:
            result[at] = replace(result[at], note=old.note)
            kept += 1
        elif result[at].note != old.note:
            changed += 1
    if kept:
        warnings.append(f"{kept} coding memo(s) kept from the project: the file has the same codings without them")
    if changed:
        warnings.append(f"{changed} coding memo(s) replaced by the file's version of the memo")
    if dropped:
        warnings.append(f"{dropped} coding memo(s) removed with their codings, which the file no longer holds "
                        "(qda undo brings them back)")
    return result, {"coding_memos_kept": kept, "coding_memos_replaced": changed, "coding_memos_removed": dropped}


def linked_notes(refi: RefiProject) -> dict[str, list[str]]:
    """GUID key of an object -> the GUID keys of the notes linked to it (either end of a Link)."""
    notes = {n.guid for n in refi.notes}
    found: dict[str, list[str]] = defaultdict(list)
    for link in refi.links:
        for note, other in ((link.origin, link.target), (link.target, link.origin)):
            if note in notes and other and other not in notes and note not in found[other]:
                found[other].append(note)
    return dict(found)


def _merge_duplicates(planned: list[Coding], warnings: list[str]) -> list[Coding]:
    """One coding per coder, code and span: a repeat (two users imported under one ``--coder``,
    or a selection given twice) would count twice in matrices; its memo joins the first's."""
    kept: dict[tuple[str, str, str, int, int], Coding] = {}
    for c in planned:
        key = (c.coder, c.code, c.document, c.start, c.end)
        first = kept.get(key)
        if first is None:
            kept[key] = c
        elif c.note and c.note not in first.note.split("\n\n"):
            kept[key] = replace(first, note="\n\n".join(n for n in (first.note, c.note) if n))
    merged = len(planned) - len(kept)
    if merged:
        warnings.append(f"{merged} duplicate coding(s) (same coder, code and span) merged into one")
    return list(kept.values())


def _plan_cases(refi: RefiProject, doc_of: dict[str, str], new_docs: list[Document],
                warnings: list[str]) -> tuple[list[Case], list[Variable]]:
    """Cases with their attributes (values of cases, and of sources that are their own case)."""
    variables = {v.guid: v for v in refi.variables}
    attributes: dict[str, dict[str, str]] = {}
    for case in refi.cases:
        name = case.name or f"case-{case.guid[:8]}"
        held = attributes.setdefault(name, {})  # a case without values still exists
        for value in case.variables:
            variable = variables.get(value.variable)
            if variable is None:
                warnings.append(f"case '{name}': a value of an undeclared variable is not imported")
            elif value.value != "":
                held[variable.name] = value.value
    case_of = {d.name: d.case for d in new_docs}
    for source in refi.sources:
        case_name = case_of.get(doc_of.get(source.guid, ""))
        for value in source.variables:
            variable = variables.get(value.variable)
            if variable is None or case_name is None or value.value == "":
                continue
            held = attributes.setdefault(case_name, {})
            if held.get(variable.name, value.value) != value.value:
                warnings.append(f"source '{source.name}': {variable.name}={value.value} differs from its case's "
                                f"value {held[variable.name]} (kept)")
            else:
                held[variable.name] = value.value
    used = {k for values in attributes.values() for k in values}
    types = [Variable(v.name, v.type if v.type in VARIABLE_TYPES else "Text", v.description)
             for v in refi.variables if v.name in used]
    return [Case(name, values) for name, values in attributes.items()], types


_ATTRIBUTE_SET = re.compile(r"^\s*([^:]+?)\s*:\s*(\S.*?)\s*$")


def _plan_sets(refi: RefiProject, doc_of: dict[str, str], new_docs: list[Document], cases: list[Case],
               new_project: bool, warnings: list[str]
               ) -> tuple[list[Case], list[Unsupported], int, list[DocumentSet]]:
    """ATLAS.ti's document variables are sets named ``attribute: value``: each becomes that
    case attribute of the cases of its documents. Other sets of sources are document sets;
    sets of codes are reported, not imported. Returns the cases, the report rows of what
    is not imported, how many sets became attributes, and the document sets."""
    document_sets: list[DocumentSet] = []
    case_of = {d.name: d.case for d in new_docs}
    held = {c.name: dict(c.attributes) for c in cases}
    rows: Counter[str] = Counter()
    details: dict[str, str] = {}
    applied = 0
    for refi_set in refi.sets:
        named = _ATTRIBUTE_SET.match(refi_set.name)
        if named and refi_set.sources and not refi_set.codes and new_project:
            key, value = named.group(1), named.group(2)
            targets = [case_of[doc_of[g]] for g in refi_set.sources if doc_of.get(g) in case_of]
            if not targets:
                kind = "set of attribute values on sources not imported"
                rows[kind] += 1
                details[kind] = "named 'attribute: value', but none of its documents is imported"
                continue
            for case in targets:
                values = held.setdefault(case, {})
                if values.get(key, value) != value:
                    warnings.append(f"set '{refi_set.name}': case '{case}' already has {key}={values[key]} (kept)")
                else:
                    values[key] = value
            applied += 1
        elif refi_set.codes and not refi_set.sources:
            rows["code set"] += 1
            details["code set"] = "groups of codes; qda groups codes by category and parent code"
        else:
            members = [doc_of[g] for g in refi_set.sources if g in doc_of]
            if refi_set.sources and not members:
                kind = "document set whose documents are not imported"
                rows[kind] += 1
                details[kind] = "none of its sources is imported"
                continue
            document_sets.append(DocumentSet(" ".join(refi_set.name.split()) or f"set-{refi_set.guid[:8]}",
                                             tuple(dict.fromkeys(members)), guid=refi_set.guid))
            for kind, n, why in (("member of a document set not imported", len(refi_set.sources) - len(members),
                                  "its source is not imported"),
                                 ("code in a document set", len(refi_set.codes), "qda's sets hold documents")):
                if n:
                    rows[kind] += n
                    details[kind] = why
    if applied:
        warnings.append(f"{applied} set(s) named 'attribute: value' imported as case attributes")
    merged = [Case(c.name, held.get(c.name, {})) for c in cases]
    merged += [Case(name, values) for name, values in held.items() if name not in {c.name for c in cases}]
    return merged, [Unsupported(kind, n, details[kind]) for kind, n in rows.items()], applied, document_sets


def _plan_notes(refi: RefiProject, doc_of: dict[str, str], code_map: dict[str, str], users: dict[str, str],
                used: set[str], new_project: bool, warnings: list[str]) -> list[Memo]:
    """Memos that are not coding notes: about the project, a document, a code or a case."""
    targets: dict[str, tuple[str, str]] = {g: ("project", "") for g in refi.project_notes}
    linked = linked_notes(refi)
    case_names = {c.guid: c.name or f"case-{c.guid[:8]}" for c in refi.cases}
    for case in refi.cases if new_project else ():  # the file's cases are created in a new project only
        targets.update({g: ("case", case_names[case.guid]) for g in linked.get(case.guid, ()) if g not in targets})
    for source in refi.sources:  # a memo linked to a selection that is not a coding: about its document
        if source.guid in doc_of:
            for sel in source.selections:
                targets.update({g: ("document", doc_of[source.guid]) for g in linked.get(sel.guid, ())
                                if g not in targets and g not in used})
            targets.update({g: ("document", doc_of[source.guid]) for g in linked.get(source.guid, ())
                            if g not in targets})
    for code in refi.all_codes():
        if guid_key(code.guid) in code_map:
            targets.update({g: ("code", code_map[guid_key(code.guid)]) for g in linked.get(guid_key(code.guid), ())
                            if g not in targets})
    for code in refi.all_codes():
        if guid_key(code.guid) in code_map:
            targets.update({g: ("code", code_map[guid_key(code.guid)]) for g in code.notes if g not in targets})
    for source in refi.sources:
        if source.guid in doc_of:
            targets.update({g: ("document", doc_of[source.guid]) for g in source.notes if g not in targets})
    loose = {g for found in linked.values() for g in found} - set(targets) - used
    if loose:
        warnings.append(f"{len(loose)} memo(s) linked to something qda does not import (a media or PDF region...)"
                        + (": kept as project memos" if new_project else ": not imported"))
    notes = []
    for n in refi.notes:
        if n.guid in used or (not new_project and n.guid not in targets):
            continue
        kind, target = targets.get(n.guid, ("project", ""))
        where = f"note '{n.name or n.guid}'"
        notes.append(Memo(text=n.text, target_kind=kind, target=target, name=n.name, author=users.get(n.user, ""),
                          created_at=qda_time(n.created, where=where, warnings=warnings), guid=n.guid,
                          modified_by=users.get(n.modifying_user, ""),
                          modified_at=qda_time(n.modified, where=where, warnings=warnings, what="modifiedDateTime")))
    descriptions: list[tuple[str, str, str]] = []  # (text, kind, target): descriptions that are memos
    if new_project:
        descriptions.append((refi.description, "project", ""))
        texts = {n.guid: n.text for n in refi.notes}
        # a case's Description that only repeats the memos linked to the case (qda's export) is not a memo
        descriptions += [(c.description, "case", case_names[c.guid]) for c in refi.cases
                         if c.description != "\n\n".join(texts[g] for g in linked.get(c.guid, ()) if g in texts)]
    descriptions += [(split_description(s.description)[0], "document", doc_of[s.guid])
                     for s in refi.sources if s.guid in doc_of]
    for text, kind, target in descriptions:
        if text.strip():
            notes.append(Memo(text=text, target_kind=kind, target=target, name="Description",
                              guid=make_guid("note", "description", kind, target)))
    left = sum(1 for n in refi.notes if n.guid not in used and n.guid not in targets)
    if not new_project and left:
        warnings.append(f"{left} memos not about the shared documents are not imported")
    return notes


def _reanchor(planned: list[Coding], refi: RefiProject, doc_of: dict[str, str],
              revised: dict[str, Document], warnings: list[str]) -> list[Coding]:
    """Move codings of sources whose text differs from the same-named project document
    (another export of it, a typo fixed...) onto the project's text; orphans are reported."""
    if not revised:
        return planned
    from qda.ingest.reanchor import Anchor, reanchor

    result = [c for c in planned if c.document not in {d.name for d in revised.values()}]
    for source in refi.sources:
        document = revised.get(source.guid)
        if document is None or source.text is None:
            continue
        mine = [c for c in planned if c.document == document.name]
        moves = reanchor(source.text, document.text, [Anchor(i, c.start, c.end) for i, c in enumerate(mine)])
        statuses = Counter(m.status for m in moves)
        for move in moves:
            if move.start is not None and move.end is not None:
                result.append(replace(mine[move.key], start=move.start, end=move.end))
        if not moves:
            continue
        summary = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        warnings.append(f"source '{source.name}' differs from document '{document.name}' ({len(source.text)} vs "
                       f"{len(document.text)} characters): codings re-anchored on the project's text: {summary}"
                       + (" (orphaned codings not imported)" if statuses.get("orphaned") else ""))
    return result


def _labels_index(codebook: Codebook) -> dict[str, set[str]]:
    """Match key of a code's id and of each of its labels -> the code ids that have it."""
    by_label: dict[str, set[str]] = defaultdict(set)
    for c in codebook.codes:
        by_label[match_key(c.id)].add(c.id)
        for label in c.labels.values():
            by_label[match_key(label)].add(c.id)
    return by_label


def _map_codes(refi: RefiProject, codebook: Codebook,
               rules: dict[str, str] | None = None) -> dict[str, str]:
    """File code GUID key -> project code id: by qda id, GUID, then (unique) name or label;
    the rule that matched each project code id goes into ``rules``."""
    ids = {c.id for c in codebook.codes}
    by_guid = {guid_key(c.guid): c.id for c in codebook.codes if c.guid}
    by_guid.update({guid_key(make_guid("code", codebook.name, c.id)): c.id for c in codebook.codes})
    by_label = _labels_index(codebook)
    rules = {} if rules is None else rules
    mapping: dict[str, str] = {}
    for code in refi.all_codes():
        key = guid_key(code.guid)
        fields = split_description(code.description)[1] or {}
        if isinstance(fields.get("id"), str) and fields["id"] in ids:
            mapping[key], rule = fields["id"], "id"
        elif key in by_guid:
            mapping[key], rule = by_guid[key], "guid"
        elif len(by_label.get(match_key(code.name), ())) == 1:
            mapping[key], rule = next(iter(by_label[match_key(code.name)])), "name"
        else:
            continue
        rules.setdefault(mapping[key], rule)
    return mapping



def plan_refi(refi: RefiProject, *, documents: Sequence[Document], codebook: Codebook | None,
              cases: Sequence[Case], segments: Sequence[Segment], language: str, unit: SegmentUnit,
              coder: str | None = None, progress: Progress = no_progress,
              existing: Sequence[Coding] = ()) -> tuple[WritePlan, RefiImportReport]:
    """What importing a REFI-QDA project stores, as a plan the project commits at once.

    :func:`plan_import`, completed with the segments and tokens of new documents (as
    ``import transcripts`` makes them), the attributes the project's cases already hold
    (e.g. from ``qda import cases``) under the file's, and each coding's segment when its
    span is exactly one segment.
    """
    plan = plan_import(refi, documents=documents, codebook=codebook, language=language, coder=coder,
                       existing=existing)
    analyses: dict[str, Any] = {}
    for lang in sorted({d.language for d in plan.documents}):
        group = [d for d in plan.documents if d.language == lang]
        found = analyse_many([(d.text, detect_turns(d.text)) for d in group], language=lang, unit=unit,
                             progress=progress)
        analyses.update(zip((d.name for d in group), found))
    writes = tuple(document_write(d, analyses[d.name]) for d in plan.documents)
    held = {c.name: c.attributes for c in cases}
    # the segment a coding covers exactly; new documents' segments are read from their offset
    # arrays (a Segment object with its text for each of 136,000 segments costs more than the rest)
    whole = {(s.document, s.start, s.end): s.ref for s in segments}
    for w in writes:
        name, run = w.document.name, w.segments
        starts, ends = (run.starts, run.ends) if isinstance(run, SegmentRun) else \
            ([s.start for s in run], [s.end for s in run])
        whole.update({(name, start, end): segment_ref(name, i) for i, (start, end) in enumerate(zip(starts, ends), 1)})
    codings = tuple(replace(c, segment=whole.get((c.document, c.start, c.end))) for c in plan.codings)
    return WritePlan(codebook=plan.codebook, codebook_source=dump_codebook(plan.codebook) if plan.codebook else "",
                     documents=writes,
                     cases=tuple(Case(c.name, {**held.get(c.name, {}), **c.attributes}) for c in plan.cases),
                     variables=plan.variables, coders=plan.coders, replace=plan.replace, codings=codings,
                     memos=plan.notes, document_sets=plan.document_sets), plan.report


def plan_codebook_import(path: str | Path, language: str, codebook: Codebook | None,
                         *, in_use: dict[str, int], allow_outside: bool = False
                         ) -> tuple[WritePlan, RefiImportReport]:
    """Plan loading the codebook of a REFI-QDA file (.qdc; also .qdpx/.qde) as the project's.

    Codes keep their id when the file carries it (qda's own exports) or when their GUID is
    one of ``codebook``'s; codes that have codings (``in_use``) cannot disappear.
    ``allow_outside``: see :func:`qda.refi.read.read_refi`.
    """
    refi = read_refi(path, allow_outside=allow_outside)
    if not refi.codes:
        raise InteropError(f"{path}: the file holds no code", [
            Problem(str(path), "nothing to load", "export the codebook again, with its codes")])
    rules: dict[str, str] = {}
    loaded, _ = codebook_from_refi(refi, language, name=Path(path).stem, existing=codebook, rules=rules)
    plan = plan_codebook(loaded, dump_codebook(loaded), str(path), in_use=in_use)
    return plan, RefiImportReport(
        file=str(path), origin=refi.origin, mode="codebook", in_file={"codes": refi.counts.get("codes", 0)},
        imported={"codes": len(loaded.codes), "categories": len(loaded.categories)}, unsupported=refi.unsupported,
        matches=rules if codebook is not None else {})


def plan_project_import(path: str | Path, *, documents: Sequence[Document], codebook: Codebook | None,
                        cases: Sequence[Case], segments: Sequence[Segment], language: str, unit: SegmentUnit,
                        coder: str | None = None, progress: Progress = no_progress,
                        existing: Sequence[Coding] = (), allow_outside: bool = False
                        ) -> tuple[WritePlan, RefiImportReport]:
    """Read a REFI-QDA project (.qdpx, or a bare .qde) and plan its import (see :func:`plan_refi`);
    files outside it are read only with ``allow_outside`` (see :func:`qda.refi.read.read_refi`)."""
    refi = read_refi(path, allow_outside=allow_outside)
    if refi.kind != "project":
        raise InteropError(f"{path}: a codebook, not a project", [
            Problem(str(path), "a .qdc holds codes only", "use: qda codebook import FILE.qdc")])
    return plan_refi(refi, documents=documents, codebook=codebook, cases=cases, segments=segments,
                     language=language, unit=unit, coder=coder, progress=progress, existing=existing)
