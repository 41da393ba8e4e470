"""The REFI-QDA vocabulary shared by the reader, the planner and the writer.

What a REFI-QDA file holds, as far as qda reads it (:class:`RefiProject` and its parts,
plain frozen dataclasses), GUIDs, and qda's own fields carried in a trailing
``[qda] {...}`` line of a Description.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# ----------------------------------------------------------------------------- constants

MAX_ENTRIES = 10_000                  # zip entries in one archive
MAX_TOTAL_BYTES = 2 * 1024 ** 3       # declared uncompressed size of all entries together
QDA_MARK = "[qda] "                   # the trailing Description line carrying qda's own fields (.qdc)
SIDECAR = "qda-fields.json"           # qda's own fields in a .qdpx, beside project.qde (other tools ignore it)
SIDECAR_FORMAT = "qda-refi-fields/1"
QDA_NAMESPACE = uuid.UUID("6f1c3b2e-7d4a-5e0f-9a8b-2c1d0e3f4a5b")  # uuid5 namespace of our GUIDs
VARIABLE_TYPES = ("Text", "Boolean", "Integer", "Float", "Date", "DateTime")
VALUE_ELEMENTS = {"TextValue": "Text", "BooleanValue": "Boolean", "IntegerValue": "Integer",
                  "FloatValue": "Float", "DateValue": "Date", "DateTimeValue": "DateTime"}
CONVENTIONS = ("codepoints", "utf16")
_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_RGB_RE = re.compile(r"^#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})$")


def guid_key(guid: str | None) -> str:
    """GUIDs compare case-insensitively, with or without braces."""
    if not guid:
        return ""
    first, last = guid[0], guid[-1]
    if guid.islower() and first != "{" and last != "}" and not first.isspace() and not last.isspace():
        return guid  # already a key, as qda and most tools write them (a large file has 500,000)
    return guid.strip().strip("{}").lower()


def make_guid(*parts: str) -> str:
    """A deterministic GUID (uuid5) for something qda exports, stable across exports."""
    return str(uuid.uuid5(QDA_NAMESPACE, "/".join(parts)))


def is_guid(value: str | None) -> bool:
    return bool(value) and bool(_GUID_RE.match(value or ""))


def is_rgb(value: str | None) -> bool:
    return bool(value) and bool(_RGB_RE.match(value or ""))


# ----------------------------------------------------------------------------- the read model

@dataclass(frozen=True)
class RefiUser:
    guid: str
    name: str
    id: str = ""


@dataclass(frozen=True)
class RefiCode:
    guid: str
    name: str
    codable: bool
    color: str | None = None
    description: str = ""
    children: tuple[RefiCode, ...] = ()
    notes: tuple[str, ...] = ()  # NoteRef targets (GUID keys)

    def walk(self) -> Iterable[RefiCode]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class RefiCoding:
    """One Coding element: a code applied by a user at a date."""

    guid: str
    code: str  # GUID key of the code
    user: str = ""  # GUID key of the user
    created: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefiSelection:
    """A PlainTextSelection; ``start``/``end`` are code points in the normalised text
    (None when the position falls outside the text), ``raw_start``/``raw_end`` as written."""

    guid: str
    raw_start: int
    raw_end: int
    start: int | None
    end: int | None
    user: str = ""
    created: str = ""
    name: str = ""
    description: str = ""
    codings: tuple[RefiCoding, ...] = ()
    notes: tuple[str, ...] = ()
    modifying_user: str = ""  # GUID key
    modified: str = ""  # modifiedDateTime as written


@dataclass(frozen=True)
class RefiValue:
    """A VariableValue: the variable's GUID key, its type and the value as written."""

    variable: str
    type: str
    value: str


@dataclass(frozen=True)
class RefiVariable:
    guid: str
    name: str
    type: str
    description: str = ""


@dataclass(frozen=True)
class RefiSource:
    """A TextSource with its text (normalised as qda stores it; None when missing)."""

    guid: str
    name: str
    path: str
    text: str | None
    missing: str = ""  # why the text could not be read
    encoding: str = ""
    bom: bool = False
    crlf: int = 0
    description: str = ""
    selections: tuple[RefiSelection, ...] = ()
    codings: tuple[RefiCoding, ...] = ()  # codings of the whole source
    variables: tuple[RefiValue, ...] = ()
    notes: tuple[str, ...] = ()
    user: str = ""
    created: str = ""
    media: str = ""  # a PDF or media source read through its text: the path of the PDF or recording


@dataclass(frozen=True)
class RefiCase:
    guid: str
    name: str
    description: str = ""
    sources: tuple[str, ...] = ()  # GUID keys
    variables: tuple[RefiValue, ...] = ()


@dataclass(frozen=True)
class RefiNote:
    guid: str
    name: str
    text: str
    user: str = ""
    created: str = ""
    modifying_user: str = ""  # GUID key
    modified: str = ""  # modifiedDateTime as written


@dataclass(frozen=True)
class RefiLink:
    """A Link between two objects (GUID keys), e.g. ATLAS.ti's memo-quotation relation."""

    guid: str
    name: str
    origin: str
    target: str


@dataclass(frozen=True)
class RefiSet:
    """A Set: named members (GUID keys of sources, codes, notes)."""

    guid: str
    name: str
    sources: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unsupported:
    """Something the file holds that qda cannot represent."""

    kind: str
    count: int
    detail: str = ""


@dataclass(frozen=True)
class MissingSource:
    name: str
    path: str
    reason: str
    selections: int
    codings: int


@dataclass(frozen=True)
class OffsetReport:
    """Which position convention was applied to the selections, and how well they fit.

    ``aligned``: selections whose start and end both sit on a word boundary (not inside
    a word) of the normalised text. ``candidates``: the same count under each convention.
    """

    convention: str
    reason: str
    selections: int
    aligned: int
    out_of_range: int
    candidates: dict[str, int] = field(default_factory=dict)

    @property
    def fraction(self) -> float | None:
        return self.aligned / self.selections if self.selections else None

    def to_dict(self) -> dict[str, Any]:
        return {"convention": self.convention, "reason": self.reason, "selections": self.selections,
                "aligned": self.aligned, "out_of_range": self.out_of_range, "candidates": dict(self.candidates)}


@dataclass(frozen=True)
class RefiProject:
    """What a REFI-QDA file holds, as far as qda reads it."""

    file: str
    kind: str  # "project" or "codebook"
    namespace: str
    origin: str
    name: str
    users: tuple[RefiUser, ...] = ()
    codes: tuple[RefiCode, ...] = ()
    variables: tuple[RefiVariable, ...] = ()
    cases: tuple[RefiCase, ...] = ()
    sources: tuple[RefiSource, ...] = ()
    notes: tuple[RefiNote, ...] = ()
    links: tuple[RefiLink, ...] = ()
    sets: tuple[RefiSet, ...] = ()
    qda_coders: tuple[str, ...] | None = None  # in qda's own files: which users are coders
    project_notes: tuple[str, ...] = ()  # GUID keys of notes about the whole project
    description: str = ""
    creating_user: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # elements in the file (table 1d)
    missing: tuple[MissingSource, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()
    offsets: OffsetReport | None = None

    def all_codes(self) -> list[RefiCode]:
        return [c for root in self.codes for c in root.walk()]


# ----------------------------------------------------------------------------- qda's own fields

def split_description(description: str) -> tuple[str, dict[str, Any] | None]:
    """Split a Description into the human text and the fields of a trailing ``[qda] {...}`` line."""
    text = description.replace("\r\n", "\n")
    at = text.rfind(QDA_MARK + "{")
    if at < 0 or (at > 0 and text[at - 1] != "\n"):
        return description, None
    try:
        fields = json.loads(text[at + len(QDA_MARK):].strip())
    except ValueError:
        return description, None
    if not _well_formed(fields):  # edited by hand or by another tool: plain text then
        return description, None
    human = text[:at]
    return human[:-2] if human.endswith("\n\n") else human.rstrip("\n"), fields


def _strings(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _well_formed(fields: Any) -> bool:
    """The fields of a ``[qda]`` line have the types qda writes (never trust them blindly)."""
    if not isinstance(fields, dict):
        return False
    text_keys = ("id", "category", "lang", "include", "exclude", "color", "language")
    if any(k in fields and not isinstance(fields[k], str) for k in text_keys):
        return False
    if "guid" in fields and not isinstance(fields["guid"], (str, type(None))):
        return False
    if any(k in fields and not _strings(fields[k]) for k in ("labels", "attributes")):
        return False
    patterns = fields.get("patterns", [])
    if not isinstance(patterns, list) or not all(
            isinstance(p, dict) and isinstance(p.get("value"), str) and set(p) <= {"value", "kind", "lang", "threshold"}
            and p.get("kind", "phrase") in ("phrase", "lemma", "regex", "fuzzy")
            and isinstance(p.get("lang"), (str, type(None)))
            and isinstance(p.get("threshold"), (int, float, type(None))) for p in patterns):
        return False
    meta = fields.get("codebook", {})
    return isinstance(meta, dict) and all(isinstance(meta.get(k, ""), str) for k in ("name", "description")) \
        and isinstance(meta.get("languages", []), list) \
        and all(isinstance(x, str) and x for x in meta.get("languages", [])) \
        and isinstance(meta.get("attributes", []), list) and all(
            isinstance(a, dict) and isinstance(a.get("name"), str) and isinstance(a.get("values", []), list)
            and all(isinstance(v, str) for v in a.get("values", [])) and isinstance(a.get("description", ""), str)
            for a in meta.get("attributes", []))


def join_description(human: str, fields: dict[str, Any]) -> str:
    """The inverse of :func:`split_description`."""
    line = QDA_MARK + json.dumps(fields, ensure_ascii=False, separators=(", ", ": "))
    return f"{human}\n\n{line}" if human else line


def code_human_text(definition: str, include: str, exclude: str) -> str:
    """What other tools show as a code's description: definition, include, exclude."""
    parts = [definition] if definition else []
    if include:
        parts.append(f"Include: {include}")
    if exclude:
        parts.append(f"Exclude: {exclude}")
    return "\n\n".join(parts)


def definition_from(human: str, include: str, exclude: str) -> str:
    tail = code_human_text("", include, exclude)
    if not tail:
        return human
    if human == tail:
        return ""
    if human.endswith("\n\n" + tail):
        return human[: -len(tail) - 2]
    return human  # edited in another tool: keep all of it as the definition


