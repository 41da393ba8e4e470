"""Reading REFI-QDA files (``.qdc`` codebooks, ``.qdpx`` projects, bare ``.qde``) safely.

A file is read into plain frozen dataclasses (:class:`RefiProject`); nothing here
touches a project. :func:`plan_import` then turns a :class:`RefiProject` into what a
project must store (codebook, documents, cases, codings, notes) and a report, again
without writing anything, so that the caller can write it all in one transaction.

Untrusted input: XML is parsed with defusedxml with DTDs forbidden (no entity expansion,
no external entities); a zip entry with an absolute path or ``..`` refuses the whole
archive; the entry count and the total uncompressed size are capped; a corrupt or
truncated archive is an :class:`InteropError`, never a traceback.

Real files differ from the standard (see ``../shared/realfiles/SOURCES.md``): NVivo counts
selection positions in UTF-16 code units (an emoji counts 2) on the raw text (CRLF counts
2, no BOM); ``Sources/`` or ``sources/``; sources missing from the archive; upper- or
lower-case GUIDs; ``urn:QDA-XML:codebook:1:0`` and ``...:0:4`` namespaces. Positions are
converted to code points in qda's normalised text (:func:`qda.ingest.normalise_text`),
and the report says which convention was applied and how many selections start and end
on word boundaries.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import unicodedata
import uuid
import zipfile
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import timezone
from datetime import datetime as _datetime
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence
from xml.etree.ElementTree import Element, ParseError

from qda.errors import IngestError, InteropError, Problem
from qda.ingest import _ZERO_WIDTH, decode_bytes, match_key, normalise_text
from qda.models import Case, Category, Code, Codebook, Document, Pattern, AttributeDef
from qda.results import TableView, frame_view, jsonable

if TYPE_CHECKING:
    import pandas as pd

# ----------------------------------------------------------------------------- limits and constants

MAX_ENTRIES = 10_000                  # zip entries in one archive
MAX_TOTAL_BYTES = 2 * 1024 ** 3       # declared uncompressed size of all entries together
QDA_MARK = "[qda] "                   # the trailing Description line carrying qda's own fields
QDA_NAMESPACE = uuid.UUID("6f1c3b2e-7d4a-5e0f-9a8b-2c1d0e3f4a5b")  # uuid5 namespace of our GUIDs
VARIABLE_TYPES = ("Text", "Boolean", "Integer", "Float", "Date", "DateTime")
VALUE_ELEMENTS = {"TextValue": "Text", "BooleanValue": "Boolean", "IntegerValue": "Integer",
                  "FloatValue": "Float", "DateValue": "Date", "DateTimeValue": "DateTime"}
CONVENTIONS = ("codepoints", "utf16")
_TEXT_SUFFIXES = (".txt", ".docx", ".doc", ".rtf", ".odt", ".md", ".pdf", ".htm", ".html")
_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_RGB_RE = re.compile(r"^#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})$")
_ID_RE = re.compile(r"^[^\s,;|]+$")  # as qda.codebook wants code ids
_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]")
_ZW_RE = re.compile("[" + "".join(map(chr, _ZERO_WIDTH)) + "]")


def guid_key(guid: str | None) -> str:
    """GUIDs compare case-insensitively, with or without braces."""
    return (guid or "").strip().strip("{}").lower()


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
    children: tuple["RefiCode", ...] = ()
    notes: tuple[str, ...] = ()  # NoteRef targets (GUID keys)

    def walk(self) -> Iterable["RefiCode"]:
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
    project_notes: tuple[str, ...] = ()  # GUID keys of notes about the whole project
    description: str = ""
    creating_user: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # elements in the file (table 1d)
    missing: tuple[MissingSource, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()
    offsets: OffsetReport | None = None

    def all_codes(self) -> list[RefiCode]:
        return [c for root in self.codes for c in root.walk()]


# ----------------------------------------------------------------------------- positions

@lru_cache(maxsize=1)
def _second_of_composition() -> frozenset[str]:
    """Characters of combining class 0 that NFC can still merge into the character before
    (Hangul vowels and finals, two-part vowels of Indic scripts...)."""
    found = {chr(c) for c in (*range(0x1161, 0x1176), *range(0x11A8, 0x11C3))}
    for cp in range(0x30000):
        decomposition = unicodedata.decomposition(chr(cp))
        if not decomposition or decomposition.startswith("<"):
            continue
        parts = decomposition.split()
        if len(parts) == 2:
            second = chr(int(parts[1], 16))
            composed = unicodedata.normalize("NFC", chr(int(parts[0], 16)) + second) == chr(cp)
            if composed and unicodedata.combining(second) == 0:
                found.add(second)
    return frozenset(found)


class TextMap:
    """Maps positions in a source's raw text (decoded, BOM removed) to positions in the
    text qda stores: :func:`normalise_text` turns CRLF into LF, composes to NFC and
    removes zero-width characters, so positions after such places move."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.text = normalise_text(raw)
        # UTF-16 offsets: every astral character (an emoji...) before a position counts one unit more.
        self._astral = [m.start() + k + 1 for k, m in enumerate(_ASTRAL_RE.finditer(raw))]
        self.utf16_length = len(raw) + len(self._astral)
        # Step 1, CRLF -> LF: the LF of each pair disappears.
        self._crlf = [m.start() + 1 for m in re.finditer("\r\n", raw)]
        step1 = raw.replace("\r\n", "\n").replace("\r", "\n")
        # Step 2, NFC: edits (start, end, new start, new end) where a cluster changes length.
        self._edits: list[tuple[int, int, int, int]] = []
        step2 = step1 if unicodedata.is_normalized("NFC", step1) else self._compose(step1)
        self._edit_starts = [e[0] for e in self._edits]
        # Step 3: zero-width characters are removed (non-breaking spaces become spaces: no shift).
        self._deleted = [m.start() for m in _ZW_RE.finditer(step2)]

    def _compose(self, text: str) -> str:
        seconds = _second_of_composition()
        pieces: list[str] = []
        start = 0
        shift = 0
        bounds = [i for i in range(1, len(text))
                  if unicodedata.combining(text[i]) == 0 and text[i] not in seconds] + [len(text)]
        for end in bounds:
            chunk = text[start:end]
            done = unicodedata.normalize("NFC", chunk)
            if len(done) != len(chunk):
                self._edits.append((start, end, start + shift, start + shift + len(done)))
                shift += len(done) - len(chunk)
            pieces.append(done)
            start = end
        result = "".join(pieces)
        if result != unicodedata.normalize("NFC", text):
            self._edits = [(0, len(text), 0, len(unicodedata.normalize("NFC", text)))]
            return unicodedata.normalize("NFC", text)
        return result

    def normalised(self, position: int) -> int:
        """A code-point position in the raw text -> the position in the stored text."""
        p = position - bisect.bisect_right(self._crlf, position)
        k = bisect.bisect_right(self._edit_starts, p) - 1
        if k >= 0:
            start, end, new_start, new_end = self._edits[k]
            if p < end:
                p = new_start  # inside a composed cluster: snap to its start
            else:
                p = p - end + new_end
        return p - bisect.bisect_left(self._deleted, p)

    def from_utf16(self, units: int) -> int:
        """A UTF-16 code-unit position in the raw text -> a code-point position."""
        return units - bisect.bisect_left(self._astral, units)

    def convert(self, position: int, convention: str) -> int | None:
        """A position as written by an exporter -> stored-text position (None: outside the text)."""
        if convention == "utf16":
            if not 0 <= position <= self.utf16_length:
                return None
            position = self.from_utf16(position)
        elif not 0 <= position <= len(self.raw):
            return None
        return self.normalised(position)


def at_word_boundary(text: str, i: int) -> bool:
    """True when position ``i`` does not cut a word in two."""
    return i <= 0 or i >= len(text) or not (text[i - 1].isalnum() and text[i].isalnum())


def exporter_convention(origin: str) -> tuple[str | None, str]:
    """The position convention of the exporting tool named in ``origin``, if known."""
    lowered = origin.lower()
    if "nvivo" in lowered:
        return "utf16", f"'{origin}': NVivo counts positions in UTF-16 code units"
    if re.search(r"\b(atlas\.ti|maxqda|qualcoder|taguette|quirkos|dedoose|transana|f4analyse|qda)\b", lowered):
        return "codepoints", f"'{origin}' counts positions in Unicode code points (the standard)"
    return None, f"exporter '{origin or 'not given'}' unknown: the convention that fits more selections"


# ----------------------------------------------------------------------------- XML

def parse_xml(data: bytes, where: str) -> Element:
    """Parse untrusted XML: no DTD, no entities, no external references."""
    import defusedxml
    import defusedxml.ElementTree as safe_et

    try:
        return safe_et.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise InteropError(f"{where}: refused: the XML declares a DTD or entities ({exc.__class__.__name__})", [
            Problem(where, "REFI-QDA files never need a DOCTYPE; this one could expand entities or read "
                           "files on this computer", "ask for a new export from the tool that wrote it")]) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise InteropError(f"{where}:{line}: not well-formed XML (line {line}, column {column})", [
            Problem(f"{where}:{line}", str(exc), "the file is damaged or truncated; export it again")]) from None


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


class _Xml:
    """Child lookup in the root's namespace, whatever that namespace variant is."""

    def __init__(self, root: Element) -> None:
        namespace = _ns(root.tag)
        self.prefix = "{" + namespace + "}" if namespace else ""

    def kids(self, element: Element | None, name: str) -> list[Element]:
        if element is None:
            return []
        tag = self.prefix + name
        return [c for c in element if c.tag == tag]

    def kid(self, element: Element | None, name: str) -> Element | None:
        found = self.kids(element, name)
        return found[0] if found else None

    def text(self, element: Element | None, name: str) -> str:
        child = self.kid(element, name)
        return (child.text or "") if child is not None else ""

    def all(self, element: Element, name: str) -> list[Element]:
        return list(element.iter(self.prefix + name))

    def refs(self, element: Element, name: str = "NoteRef") -> tuple[str, ...]:
        return tuple(guid_key(r.get("targetGUID")) for r in self.kids(element, name) if r.get("targetGUID"))


def _check_namespace(root: Element, where: str) -> str:
    namespace = _ns(root.tag)
    if namespace and not namespace.lower().startswith("urn:qda-xml:"):
        raise InteropError(f"{where}: not a REFI-QDA file (root element {_local(root.tag)} in namespace "
                           f"'{namespace}')", [Problem(where, "expected the namespace urn:QDA-XML:project:1.0 "
                                                       "or urn:QDA-XML:codebook:1.0",
                                                       "export the project or codebook again as REFI-QDA")])
    return namespace


def _int(value: str | None, where: str, what: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise InteropError(f"{where}: {what} '{value}' is not a whole number", [
            Problem(where, f"{what} must be an integer position", "the file is damaged; export it again")]) from None


# ----------------------------------------------------------------------------- archives

def _unsafe_name(name: str) -> str | None:
    normal = name.replace("\\", "/")
    if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
        return "an absolute path"
    if ".." in normal.split("/"):
        return "'..' (a path leaving the archive)"
    return None


class _Archive:
    """A zip archive opened with its safety checks done once."""

    def __init__(self, path: Path, max_entries: int, max_bytes: int) -> None:
        self.path = path
        where = str(path)
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise InteropError(f"{path}: no such file") from None
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise InteropError(f"{path}: not a readable .qdpx archive ({exc})", [
                Problem(where, "the file is corrupt, truncated or not a zip archive",
                        "download or export the .qdpx again")]) from None
        infos = self.zip.infolist()
        if len(infos) > max_entries:
            self.zip.close()
            raise InteropError(f"{path}: refused: {len(infos)} entries in the archive (limit {max_entries})", [
                Problem(where, "too many entries for a REFI-QDA project", "check that this is the right file")])
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            self.zip.close()
            raise InteropError(f"{path}: refused: {total} bytes once uncompressed (limit {max_bytes})", [
                Problem(where, "the archive would expand beyond the size limit", "check that this is the right file")])
        for info in infos:
            reason = _unsafe_name(info.filename)
            if reason:
                self.zip.close()
                raise InteropError(f"{path}: refused: entry '{info.filename}' has {reason}", [
                    Problem(f"{where}:{info.filename}", f"unsafe entry name: {reason}",
                            "this archive could write outside its folder; do not open it with other tools either")])
        self.by_lower = {re.sub(r"^(\./)+", "", i.filename.replace("\\", "/")).lower(): i
                         for i in infos if not i.is_dir()}

    def read(self, info: zipfile.ZipInfo) -> bytes:
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError, NotImplementedError,
                RuntimeError) as exc:
            raise InteropError(f"{self.path}: entry '{info.filename}' cannot be read ({exc})", [
                Problem(f"{self.path}:{info.filename}", "the archive is corrupt or truncated",
                        "download or export the .qdpx again")]) from None

    def project_entry(self) -> zipfile.ZipInfo:
        if "project.qde" in self.by_lower:
            return self.by_lower["project.qde"]
        found = [i for name, i in self.by_lower.items() if name.endswith(".qde") and "/" not in name]
        if len(found) != 1:
            raise InteropError(f"{self.path}: no project.qde in the archive", [
                Problem(str(self.path), "a .qdpx must hold project.qde at its root",
                        "export the project again as REFI-QDA (.qdpx)")])
        return found[0]

    def find(self, relative: str) -> zipfile.ZipInfo | None:
        relative = relative.replace("\\", "/").lstrip("/").lower()
        for candidate in (f"sources/{relative}", relative):
            if candidate in self.by_lower:
                return self.by_lower[candidate]
        base = PurePosixPath(relative).name
        hits = [i for name, i in self.by_lower.items() if PurePosixPath(name).name == base]
        return hits[0] if len(hits) == 1 else None


Resolver = Callable[[str], tuple[bytes | None, str]]


def _archive_resolver(archive: _Archive, folder: Path) -> Resolver:
    def resolve(path: str) -> tuple[bytes | None, str]:
        scheme, _, rest = path.partition("://")
        if scheme.lower() == "internal":
            if _unsafe_name(rest):
                return None, f"unsafe path {path}"
            info = archive.find(rest)
            if info is None:
                return None, f"{path} is not in the archive"
            return archive.read(info), ""
        return _folder_resolver(folder)(path)
    return resolve


def _folder_resolver(folder: Path) -> Resolver:
    """Sources next to a bare .qde (``sources/`` or ``Sources/``) or ``relative://`` paths."""
    def resolve(path: str) -> tuple[bytes | None, str]:
        scheme, sep, rest = path.partition("://")
        if not sep:
            return None, f"{path}: absolute or unknown path not followed"
        scheme = scheme.lower()
        rest = rest.lstrip("/")
        if scheme not in ("internal", "relative") or _unsafe_name(rest) or not rest:
            return None, f"{path}: path not followed (only internal:// and relative:// paths are read)"
        candidates = ([folder / "sources", folder / "Sources", folder] if scheme == "internal" else [folder])
        for base in candidates:
            target = _find_case_insensitive(base, rest)
            if target is not None:
                try:
                    if target.stat().st_size > MAX_TOTAL_BYTES:
                        return None, f"{path}: file too large"
                    return target.read_bytes(), ""
                except OSError as exc:
                    return None, f"{path}: cannot be read ({exc.strerror})"
        return None, f"{path} not found next to the file"
    return resolve


def _find_case_insensitive(base: Path, relative: str) -> Path | None:
    current = base
    for part in relative.split("/"):
        if not current.is_dir():
            return None
        exact = current / part
        if exact.exists():
            current = exact
            continue
        lowered = part.lower()
        match = [p for p in current.iterdir() if p.name.lower() == lowered]
        if not match:
            return None
        current = match[0]
    return current if current.is_file() else None


# ----------------------------------------------------------------------------- reading

def read_refi(path: str | Path, *, max_entries: int | None = None, max_bytes: int | None = None) -> RefiProject:
    """Read a ``.qdc``, ``.qdpx`` (or a .qdpx renamed ``.zip``) or bare ``.qde`` file."""
    path = Path(path)
    max_entries = MAX_ENTRIES if max_entries is None else max_entries
    max_bytes = MAX_TOTAL_BYTES if max_bytes is None else max_bytes
    if not path.exists():
        raise InteropError(f"{path}: no such file")
    if path.is_dir():
        raise InteropError(f"{path}: is a folder, not a REFI-QDA file")
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        archive = _Archive(path, max_entries, max_bytes)
        try:
            entry = archive.project_entry()
            where = f"{path}:{entry.filename}"
            root = parse_xml(archive.read(entry), where)
            return _read_root(root, str(path), where, _archive_resolver(archive, path.parent))
        finally:
            archive.zip.close()
    if path.suffix.lower() in (".qdpx", ".zip"):
        raise InteropError(f"{path}: not a zip archive, so not a .qdpx (it may be truncated)", [
            Problem(str(path), "a .qdpx is a zip archive holding project.qde", "export the project again")])
    if path.stat().st_size > max_bytes:
        raise InteropError(f"{path}: refused: larger than {max_bytes} bytes")
    root = parse_xml(path.read_bytes(), str(path))
    return _read_root(root, str(path), str(path), _folder_resolver(path.parent))


def _read_root(root: Element, file: str, where: str, resolve: Resolver) -> RefiProject:
    namespace = _check_namespace(root, where)
    kind = _local(root.tag)
    x = _Xml(root)
    if kind == "CodeBook":
        codes = tuple(_code(x, c) for c in x.kids(x.kid(root, "Codes"), "Code"))
        unsupported: list[Unsupported] = []
        sets = x.kids(x.kid(root, "Sets"), "Set")
        if sets:
            members = sum(len(x.kids(s, "MemberCode")) for s in sets)
            unsupported.append(Unsupported("code set", len(sets), f"{members} member codes; qda has no code sets"))
        count = sum(1 for c in codes for _ in c.walk())
        return RefiProject(file=file, kind="codebook", namespace=namespace, origin=root.get("origin", ""),
                           name=Path(file).stem, codes=codes, counts={"codes": count},
                           unsupported=tuple(unsupported))
    if kind != "Project":
        raise InteropError(f"{where}: root element '{kind}' is neither Project nor CodeBook", [
            Problem(where, "not a REFI-QDA project or codebook", "choose a .qdpx, .qde or .qdc file")])
    return _read_project(root, x, file, where, namespace, resolve)


def _code(x: _Xml, element: Element) -> RefiCode:
    color = element.get("color")
    return RefiCode(guid=(element.get("guid") or "").strip(), name=element.get("name") or "",
                    codable=(element.get("isCodable") or "true").strip().lower() in ("true", "1"),
                    color=color.strip() if color else None, description=x.text(element, "Description"),
                    children=tuple(_code(x, c) for c in x.kids(element, "Code")), notes=x.refs(element))


def _codings(x: _Xml, element: Element, code_keys: set[str], note: Callable[..., None]) -> tuple[RefiCoding, ...]:
    """The Coding children of a selection or source; one naming no code of the codebook is reported."""
    found = []
    for coding in x.kids(element, "Coding"):
        ref = x.kid(coding, "CodeRef")
        code = guid_key(ref.get("targetGUID")) if ref is not None else ""
        if code not in code_keys:
            note("coding with an unknown code", 1, "its CodeRef names no code of the codebook")
            continue
        found.append(RefiCoding(guid_key(coding.get("guid")), code, guid_key(coding.get("creatingUser")),
                                coding.get("creationDateTime") or "", x.refs(coding)))
    return tuple(found)


def _values(x: _Xml, element: Element) -> tuple[RefiValue, ...]:
    values = []
    for value in x.kids(element, "VariableValue"):
        ref = x.kid(value, "VariableRef")
        for name, type_ in VALUE_ELEMENTS.items():
            child = x.kid(value, name)
            if child is not None:
                text = child.text or ""
                values.append(RefiValue(guid_key(ref.get("targetGUID") if ref is not None else ""), type_,
                                        text if type_ == "Text" else text.strip()))
                break
    return tuple(values)


@dataclass
class _Raw:
    """A text source while its selections still carry the positions as written."""

    source: RefiSource
    textmap: TextMap | None
    selections: list[tuple[Element, int, int]]


def _read_project(root: Element, x: _Xml, file: str, where: str, namespace: str, resolve: Resolver) -> RefiProject:
    origin = root.get("origin", "")
    users = tuple(RefiUser(guid_key(u.get("guid")), u.get("name") or "", u.get("id") or "")
                  for u in x.kids(x.kid(root, "Users"), "User"))
    codebook = x.kid(root, "CodeBook")
    codes = tuple(_code(x, c) for c in x.kids(x.kid(codebook, "Codes"), "Code"))
    code_keys = {guid_key(c.guid) for r in codes for c in r.walk()}
    variables = tuple(RefiVariable(guid_key(v.get("guid")), v.get("name") or "", v.get("typeOfVariable") or "Text",
                                   x.text(v, "Description"))
                      for v in x.kids(x.kid(root, "Variables"), "Variable"))
    unsupported: Counter[str] = Counter()
    details: dict[str, str] = {}

    def note(kind: str, count: int = 1, detail: str = "") -> None:
        if count:
            unsupported[kind] += count
            if detail:
                details[kind] = detail

    cases = []
    for case in x.kids(x.kid(root, "Cases"), "Case"):
        note("code applied to a whole case", len(x.kids(case, "CodeRef")), "qda codes text, not cases")
        note("selection linked to a case", len(x.kids(case, "SelectionRef")), "qda ties cases to whole documents")
        cases.append(RefiCase(guid_key(case.get("guid")), case.get("name") or "", x.text(case, "Description"),
                              x.refs(case, "SourceRef"), _values(x, case)))

    raws: list[_Raw] = []
    missing: list[MissingSource] = []
    sources_el = x.kid(root, "Sources")
    media = {"PictureSource": ("picture", "PictureSelection"), "PDFSource": ("PDF", "PDFSelection"),
             "AudioSource": ("audio", "AudioSelection"), "VideoSource": ("video", "VideoSelection")}
    for element in list(sources_el) if sources_el is not None else []:
        tag = _local(element.tag)
        if tag in media:
            label, selection_tag = media[tag]
            selections = x.kids(element, selection_tag)
            codings = len(x.all(element, "Coding"))
            note(f"{label} source", 1, "qda analyses text only")
            note(f"{label} selection", len(selections), "regions of non-text sources are not imported")
            note(f"coding on a {label} source", codings, "codes applied to non-text material are not imported")
            note("transcript of a media source", len(x.kids(element, "Transcript")),
                 "synchronised transcripts are not imported")
            continue
        if tag != "TextSource":
            continue
        raws.append(_text_source(x, element, resolve, missing, code_keys, note))

    notes = []
    for element in x.kids(x.kid(root, "Notes"), "Note"):
        text = x.text(element, "PlainTextContent")
        path = element.get("plainTextPath")
        if not text and path:
            data, _reason = resolve(path)
            if data is not None:
                try:
                    text = normalise_text(decode_bytes(data, path)[0])
                except IngestError:
                    text = ""
        description = x.text(element, "Description")
        if description and description not in text:
            text = f"{text}\n\n{description}" if text else description
        notes.append(RefiNote(guid_key(element.get("guid")), element.get("name") or "", text,
                              guid_key(element.get("creatingUser")), element.get("creationDateTime") or ""))
        note("selection inside a note", len(x.kids(element, "PlainTextSelection")),
             "codings of memo text are not imported")

    links = x.kids(x.kid(root, "Links"), "Link")
    note("link", len(links), "links between objects are not imported")
    sets = x.kids(x.kid(root, "Sets"), "Set")
    if sets:
        code_members = sum(len(x.kids(s, "MemberCode")) for s in sets)
        source_members = sum(len(x.kids(s, "MemberSource")) for s in sets)
        note("set", len(sets), f"{code_members} member codes, {source_members} member sources; qda has no sets")
    graphs = x.kids(x.kid(root, "Graphs"), "Graph")
    if graphs:
        vertices = sum(len(x.kids(g, "Vertex")) for g in graphs)
        edges = sum(len(x.kids(g, "Edge")) for g in graphs)
        note("graph", len(graphs), f"{vertices} vertices, {edges} edges; qda draws no network views")

    offsets, sources = _convert_positions(x, raws, origin, code_keys, note)
    counts = {
        "codes": sum(1 for c in codes for _ in c.walk()),
        "sources": len(list(sources_el)) if sources_el is not None else 0,
        "text_sources": len(raws),
        "selections": sum(len(r.selections) for r in raws),
        "codings": len(x.all(root, "Coding")),
        "users": len(users),
        "cases": len(cases),
        "variables": len(variables),
        "notes": len(notes),
    }
    return RefiProject(
        file=file, kind="project", namespace=namespace, origin=origin, name=root.get("name") or Path(file).stem,
        users=users, codes=codes, variables=variables, cases=tuple(cases), sources=tuple(sources),
        notes=tuple(notes), project_notes=x.refs(root), description=x.text(root, "Description"),
        creating_user=guid_key(root.get("creatingUserGUID")), counts=counts, missing=tuple(missing),
        unsupported=tuple(Unsupported(k, n, details.get(k, "")) for k, n in unsupported.items()), offsets=offsets)


def _text_source(x: _Xml, element: Element, resolve: Resolver, missing: list[MissingSource], code_keys: set[str],
                 note: Callable[..., None]) -> _Raw:
    name = element.get("name") or ""
    path = element.get("plainTextPath") or ""
    raw: str | None = None
    reason = ""
    encoding = ""
    bom = False
    inline = x.kid(element, "PlainTextContent")
    if inline is not None and not path:
        raw, encoding = inline.text or "", "xml"
    elif path:
        data, reason = resolve(path)
        if data is not None:
            try:
                raw, encoding = decode_bytes(data, path)
                bom = data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
            except IngestError as exc:
                raw, reason = None, exc.message
        elif inline is not None:
            raw, reason, encoding = inline.text or "", "", "xml"
    else:
        reason = "no plainTextPath and no PlainTextContent"
    selections = []
    for sel in x.kids(element, "PlainTextSelection"):
        where = f"source '{name}', selection {sel.get('guid')}"
        selections.append((sel, _int(sel.get("startPosition"), where, "startPosition"),
                           _int(sel.get("endPosition"), where, "endPosition")))
    codings = _codings(x, element, code_keys, note)
    if raw is None:
        missing.append(MissingSource(name, path, reason, len(selections),
                                     len(codings) + sum(len(x.kids(s, "Coding")) for s, _, _ in selections)))
    source = RefiSource(guid=guid_key(element.get("guid")), name=name, path=path, text=None,
                        missing=reason if raw is None else "",
                        encoding=encoding, bom=bom, crlf=raw.count("\r\n") if raw else 0,
                        description=x.text(element, "Description"), codings=codings, variables=_values(x, element),
                        notes=x.refs(element), user=guid_key(element.get("creatingUser")),
                        created=element.get("creationDateTime") or "")
    return _Raw(source, TextMap(raw) if raw is not None else None, selections)


def _convert_positions(x: _Xml, raws: list[_Raw], origin: str, code_keys: set[str],
                       note: Callable[..., None]) -> tuple[OffsetReport | None, list[RefiSource]]:
    """Choose the position convention, then convert every selection of every source."""
    readable = [(r.textmap, a, b) for r in raws if r.textmap is not None for _sel, a, b in r.selections]
    known, reason = exporter_convention(origin)
    scores: dict[str, int] = {}
    for convention in CONVENTIONS:
        aligned = 0
        for textmap, a, b in readable:
            start, end = textmap.convert(a, convention), textmap.convert(b, convention)
            if start is not None and end is not None and at_word_boundary(textmap.text, start) \
                    and at_word_boundary(textmap.text, end):
                aligned += 1
        scores[convention] = aligned
    chosen = known or max(CONVENTIONS, key=lambda c: (scores[c], c == "codepoints"))
    if known is None and readable:
        reason += f" ({chosen})"
    offsets = None
    out_of_range = 0
    sources = []
    for r in raws:
        selections = []
        for sel, a, b in r.selections:
            start = end = None
            if r.textmap is not None:
                start, end = r.textmap.convert(a, chosen), r.textmap.convert(b, chosen)
                if start is None or end is None or start > end:
                    out_of_range += 1
                    start = end = None
            codings = _codings(x, sel, code_keys, note)
            selections.append(RefiSelection(
                guid=guid_key(sel.get("guid")), raw_start=a, raw_end=b, start=start, end=end,
                user=guid_key(sel.get("creatingUser")), created=sel.get("creationDateTime") or "",
                name=sel.get("name") or "", description=x.text(sel, "Description"), codings=codings,
                notes=x.refs(sel)))
            if not codings:
                note("text selection without a code", 1, "quotations that carry no code are not imported")
        text = r.textmap.text if r.textmap is not None else None
        sources.append(replace(r.source, text=text, selections=tuple(selections)))
    if any(r.selections for r in raws):
        offsets = OffsetReport(chosen, reason, len(readable), scores[chosen], out_of_range, scores)
    return offsets, sources


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


def _definition_from(human: str, include: str, exclude: str) -> str:
    tail = code_human_text("", include, exclude)
    if not tail:
        return human
    if human == tail:
        return ""
    if human.endswith("\n\n" + tail):
        return human[: -len(tail) - 2]
    return human  # edited in another tool: keep all of it as the definition


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


def codebook_from_refi(refi: RefiProject, language: str, name: str | None = None,
                       existing: Codebook | None = None) -> tuple[Codebook, dict[str, str]]:
    """The qda codebook of a REFI codebook, and the map code GUID key -> code id.

    Codes written by qda carry their id, labels, attributes and patterns in a trailing
    ``[qda]`` line of their Description, and categories are folder codes marked so;
    codes from other tools become codes (folder codes stay non-codable codes), with ids
    made from their names, or the id of the ``existing`` code with the same GUID.
    """
    meta: dict[str, Any] = {}
    for code in refi.all_codes():
        fields = split_description(code.description)[1]
        if fields and isinstance(fields.get("codebook"), dict):
            meta = fields["codebook"]
            break
    languages = tuple(meta.get("languages") or (language,))
    lang = languages[0]
    by_guid = {guid_key(c.guid): c.id for c in existing.codes if c.guid} if existing else {}
    if existing:
        by_guid.update({guid_key(make_guid("code", existing.name, c.id)): c.id for c in existing.codes})
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

    def visit_category(node: RefiCode, fields: dict[str, Any], parent: str | None) -> None:
        human = split_description(node.description)[0]
        cat_id = claim(fields["category"], node.name)
        categories.append(Category(cat_id, labels_of(fields, node.name), parent, human))
        folders = [(c, split_description(c.description)[1]) for c in node.children]
        for child, child_fields in folders:  # sub-categories first: codebook order
            if child_fields and "category" in child_fields and not child.codable:
                visit_category(child, child_fields, cat_id)
        for child, child_fields in folders:
            if not (child_fields and "category" in child_fields and not child.codable):
                visit_code(child, cat_id, None)

    def visit_code(node: RefiCode, category: str | None, parent: str | None) -> None:
        human, fields = split_description(node.description)
        fields = fields or {}
        key = guid_key(node.guid)
        code_id = claim(fields.get("id") or by_guid.get(key), node.name)
        include, exclude = str(fields.get("include", "")), str(fields.get("exclude", ""))
        color = node.color if is_rgb(node.color) else None
        if "color" in fields:
            color = fields["color"]
        guid = fields["guid"] if "guid" in fields else (node.guid or None)
        codes.append(Code(
            id=code_id, labels=labels_of(fields, node.name), category=category, parent=parent,
            definition=_definition_from(human, include, exclude) if fields else human,
            include=include, exclude=exclude, attributes=dict(fields.get("attributes") or {}),
            patterns=tuple(Pattern(**p) for p in fields.get("patterns") or ()), color=color, guid=guid,
            codable=node.codable))
        code_map[key] = code_id
        for child in node.children:
            visit_code(child, category, code_id)

    tops = [(c, split_description(c.description)[1]) for c in refi.codes]
    for node, fields in tops:
        if fields and "category" in fields and not node.codable:
            visit_category(node, fields, None)
    for node, fields in tops:
        if not (fields and "category" in fields and not node.codable):
            visit_code(node, None, None)
    attributes = tuple(AttributeDef(str(a["name"]), tuple(str(v) for v in a.get("values", ())),
                                    str(a.get("description", ""))) for a in meta.get("attributes") or ())
    if not attributes:  # from the codes' values, in order of appearance
        seen: dict[str, list[str]] = {}
        for code in codes:
            for k, v in code.attributes.items():
                if v not in seen.setdefault(k, []):
                    seen[k].append(v)
        attributes = tuple(AttributeDef(k, tuple(v)) for k, v in seen.items())
    codebook = Codebook(name=str(meta.get("name") or name or refi.name), languages=languages,
                        attributes=attributes, categories=tuple(categories), codes=tuple(codes),
                        description=str(meta.get("description", "")))
    return codebook, code_map


# ----------------------------------------------------------------------------- import plan

@dataclass(frozen=True)
class PlannedCoding:
    """A coding to store: positions are code points in the stored document text."""

    coder: str
    code: str
    document: str
    start: int
    end: int
    created_at: str
    note: str = ""


@dataclass(frozen=True)
class NoteRecord:
    """A memo as the project keeps it (table ``notes``), about the project, a document, a code or a case."""

    guid: str
    name: str
    text: str
    author: str
    created_at: str
    target_kind: str  # project | document | code | case
    target: str


@dataclass(frozen=True)
class RefiImportReport:
    """What an import found in the file and what it stored."""

    file: str
    origin: str
    mode: str
    in_file: dict[str, int]
    imported: dict[str, int]
    offsets: OffsetReport | None = None
    coders: dict[str, int] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)  # source name -> document (created or matched)
    missing: tuple[MissingSource, ...] = ()
    warnings: tuple[str, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "origin": self.origin, "mode": self.mode, "in_file": dict(self.in_file),
                "imported": dict(self.imported), "offsets": self.offsets.to_dict() if self.offsets else None,
                "coders": dict(self.coders), "documents": dict(self.documents),
                "missing_sources": [jsonable(m) for m in self.missing], "warnings": list(self.warnings),
                "unsupported": [jsonable(u) for u in self.unsupported]}

    def to_frame(self) -> pd.DataFrame:
        """What / in file / imported / note; the counts as integers, empty on warning rows."""
        import pandas as pd

        got, found = self.imported, self.in_file

        def row(what: str, in_file: int | None, imported: int | None, note: str = "") -> dict[str, Any]:
            return {"what": what, "in file": in_file, "imported": imported, "note": note}

        if self.mode == "codebook":
            rows = [row("codes", found.get("codes", 0), got.get("codes", 0),
                        f"{got.get('categories', 0)} categories" if got.get("categories") else "")]
        else:
            matched = self.mode != "new project"
            rows = [
                row("codes", found.get("codes", 0), got.get("codes_matched" if matched else "codes", 0),
                    "matched with the project's codebook" if matched
                    else f"{got.get('categories', 0)} of them as categories" if got.get("categories") else ""),
                row("sources", found.get("sources", 0), got.get("documents_matched" if matched else "documents", 0),
                    f"text sources: {found.get('text_sources', 0)}; "
                    + ("documents matched in this project" if matched else "documents created")),
                row("codings", found.get("codings", 0), got.get("codings", 0),
                    f"{got['codings_replaced']} previous codings replaced" if got.get("codings_replaced") else ""),
                row("users", found.get("users", 0), got.get("coders", 0),
                    ", ".join(f"{c}: {n}" for c, n in self.coders.items())),
                *(row(k, found.get(k, 0), got.get(k, 0)) for k in ("cases", "variables", "notes")),
            ]
        if self.offsets:
            o = self.offsets
            rows.append(row("selections on word boundaries", o.selections, o.aligned,
                            f"positions read as {o.convention} ({o.reason})"
                            + (f"; {o.out_of_range} outside the text" if o.out_of_range else "")))
        rows += [row(f"missing source '{m.name}'", m.codings, 0, f"{m.reason}; its codings are not imported")
                 for m in self.missing]
        rows += [row(f"not imported: {u.kind}", u.count, 0, u.detail) for u in self.unsupported]
        rows += [row("warning", None, None, w) for w in self.warnings]
        frame = pd.DataFrame(rows, columns=["what", "in file", "imported", "note"])
        return frame.astype({"in file": "Int64", "imported": "Int64"})

    def to_table(self) -> TableView:
        return frame_view(self.to_frame())


@dataclass(frozen=True)
class ImportPlan:
    """Everything an import will store; computed before any write."""

    codebook: Codebook | None  # a codebook to save (None: keep the project's)
    documents: tuple[Document, ...]  # documents to create
    cases: tuple[Case, ...]
    variables: tuple[tuple[str, str, str], ...]  # (name, type, description)
    coders: tuple[str, ...]
    codings: tuple[PlannedCoding, ...]
    replace: tuple[tuple[str, str], ...]  # (coder, document) whose codings are replaced
    notes: tuple[NoteRecord, ...]
    report: RefiImportReport


def qda_time(value: str) -> str:
    """An xsd:dateTime as qda stores times: UTC ISO 8601 to the second when a zone is given."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        moment = _datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
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
                language: str, coder: str | None = None) -> ImportPlan:
    """Decide what importing ``refi`` into a project stores (see ``Project.import_qdpx``).

    An empty project (no document) receives everything: codebook (unless it has one),
    documents, cases with their attributes, coders, codings, memos. A project with
    documents receives the codings (and their memos) on the documents it shares with the
    file, matched by text (SHA-256 of the normalised text) or else by name, in which case
    the codings are re-anchored on the project's version of the text; each coder's
    codings in those documents are replaced. Raises InteropError, listing every problem,
    when a coding cannot be placed (unknown code, no shared document).
    """
    problems: list[Problem] = []
    warnings: list[str] = []
    new_project = not documents
    if codebook is None:
        new_codebook, code_map = codebook_from_refi(refi, language, refi.name) if refi.codes else (None, {})
    else:
        new_codebook, code_map = None, _map_codes(refi, codebook)
        unused = sum(1 for c in refi.all_codes() if guid_key(c.guid) not in code_map)
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
    coders = [coder] if coder else list(users.values()) if new_project else []
    for c in planned:
        if c.coder not in coders:
            coders.append(c.coder)
    notes = _plan_notes(refi, doc_of, code_map, users, used_notes, new_project, warnings)
    replacing = [] if new_project else sorted({(c, d) for c in coders for d in doc_of.values()})
    per_coder = Counter(c.coder for c in planned)
    report = RefiImportReport(
        file=refi.file, origin=refi.origin, mode="new project" if new_project else "codings into this project",
        in_file=dict(refi.counts),
        imported={"codes": len(new_codebook.codes) if new_codebook else 0,
                  "categories": len(new_codebook.categories) if new_codebook else 0,
                  "codes_matched": len(code_map) if codebook is not None else 0,
                  "documents": len(new_docs), "documents_matched": len(doc_of) - len(new_docs),
                  "cases": len(cases), "variables": len(variables), "coders": len(coders),
                  "codings": len(planned), "notes": len(notes) + sum(1 for c in planned if c.note)},
        offsets=refi.offsets, coders={c: per_coder.get(c, 0) for c in coders},
        documents={s.name: doc_of[s.guid] for s in refi.sources if s.guid in doc_of},
        missing=refi.missing, warnings=tuple(warnings), unsupported=refi.unsupported)
    return ImportPlan(new_codebook, tuple(new_docs), tuple(cases), tuple(variables), tuple(coders), tuple(planned),
                      tuple(replacing), tuple(notes), report)


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
            new_docs.append(Document(name, case_of_source.get(source.guid, name), source.text, digest,
                                     f"{Path(refi.file).name}:{source.name}", str(fields.get("language") or language)))
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
                  warnings: list[str]) -> tuple[list[PlannedCoding], set[str]]:
    """The codings to store (selection memos become coding notes) and the GUIDs of the memos used."""
    notes = {n.guid: n.text for n in refi.notes}
    used: set[str] = set()

    def memos(guids: Iterable[str]) -> list[str]:
        found = [g for g in guids if g in notes]
        used.update(found)
        return [notes[g] for g in found]

    def who(*guids: str) -> str:
        if coder:
            return coder
        first = next((g for g in guids if g), "")
        return users.get(first) or (f"user-{first[:8]}" if first else "unknown")

    planned: list[PlannedCoding] = []
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
            if sel is None:
                start, end, memo = 0, len(source.text or ""), []
            elif sel.start is None or sel.end is None:
                warnings.append(f"source '{source.name}': selection {sel.raw_start}-{sel.raw_end} lies outside the "
                                f"text ({len(codings)} codings not imported)")
                continue
            else:
                start, end = sel.start, sel.end
                memo = ([sel.description] if sel.description.strip() else []) + memos(sel.notes)
            for coding in codings:
                code = code_map.get(coding.code)
                if code is None:
                    unmapped[names.get(coding.code, coding.code)] += 1
                    continue
                if codebook is not None and not codebook.code(code).codable:
                    folder_codings += 1
                planned.append(PlannedCoding(
                    who(coding.user, sel.user if sel else "", source.user, refi.creating_user), code, document,
                    start, end, qda_time(coding.created or (sel.created if sel else "")),
                    "\n\n".join(memo + memos(coding.notes))))
    for name, n in sorted(unmapped.items()):
        problems.append(Problem(f"{refi.file}: code '{name}'", f"used by {n} coding(s), not in the project's codebook",
                                "add the code to the codebook (same name or GUID), or import into a new project"))
    if folder_codings:
        warnings.append(f"{folder_codings} codings apply folder codes (isCodable=false); imported as they are")
    return planned, used


def _plan_cases(refi: RefiProject, doc_of: dict[str, str], new_docs: list[Document],
                warnings: list[str]) -> tuple[list[Case], list[tuple[str, str, str]]]:
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
    types = [(v.name, v.type if v.type in VARIABLE_TYPES else "Text", v.description)
             for v in refi.variables if v.name in used]
    return [Case(name, values) for name, values in attributes.items()], types


def _plan_notes(refi: RefiProject, doc_of: dict[str, str], code_map: dict[str, str], users: dict[str, str],
                used: set[str], new_project: bool, warnings: list[str]) -> list[NoteRecord]:
    """Memos that are not coding notes: about the project, a document, a code or a case."""
    targets: dict[str, tuple[str, str]] = {g: ("project", "") for g in refi.project_notes}
    for code in refi.all_codes():
        if guid_key(code.guid) in code_map:
            targets.update({g: ("code", code_map[guid_key(code.guid)]) for g in code.notes if g not in targets})
    for source in refi.sources:
        if source.guid in doc_of:
            targets.update({g: ("document", doc_of[source.guid]) for g in source.notes if g not in targets})
    notes = []
    for n in refi.notes:
        if n.guid in used or (not new_project and n.guid not in targets):
            continue
        kind, target = targets.get(n.guid, ("project", ""))
        notes.append(NoteRecord(n.guid, n.name, n.text, users.get(n.user, ""), qda_time(n.created), kind, target))
    descriptions: list[tuple[str, str, str]] = []  # (text, kind, target): descriptions that are memos
    if new_project:
        descriptions.append((refi.description, "project", ""))
        descriptions += [(c.description, "case", c.name or f"case-{c.guid[:8]}") for c in refi.cases]
    descriptions += [(split_description(s.description)[0], "document", doc_of[s.guid])
                     for s in refi.sources if s.guid in doc_of]
    for text, kind, target in descriptions:
        if text.strip():
            notes.append(NoteRecord(make_guid("note", "description", kind, target), "Description", text, "", "",
                                    kind, target))
    left = sum(1 for n in refi.notes if n.guid not in used and n.guid not in targets)
    if not new_project and left:
        warnings.append(f"{left} memos not about the shared documents are not imported")
    return notes


def _reanchor(planned: list[PlannedCoding], refi: RefiProject, doc_of: dict[str, str],
              revised: dict[str, Document], warnings: list[str]) -> list[PlannedCoding]:
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


def _map_codes(refi: RefiProject, codebook: Codebook) -> dict[str, str]:
    """File code GUID key -> project code id: by qda id, GUID, then (unique) name or label."""
    ids = {c.id for c in codebook.codes}
    by_guid = {guid_key(c.guid): c.id for c in codebook.codes if c.guid}
    by_guid.update({guid_key(make_guid("code", codebook.name, c.id)): c.id for c in codebook.codes})
    by_label: dict[str, set[str]] = defaultdict(set)
    for c in codebook.codes:
        by_label[match_key(c.id)].add(c.id)
        for label in c.labels.values():
            by_label[match_key(label)].add(c.id)
    mapping: dict[str, str] = {}
    for code in refi.all_codes():
        key = guid_key(code.guid)
        fields = split_description(code.description)[1] or {}
        if isinstance(fields.get("id"), str) and fields["id"] in ids:
            mapping[key] = fields["id"]
        elif key in by_guid:
            mapping[key] = by_guid[key]
        elif len(by_label.get(match_key(code.name), ())) == 1:
            mapping[key] = next(iter(by_label[match_key(code.name)]))
    return mapping
