"""Reading REFI-QDA files (``.qdc`` codebooks, ``.qdpx`` projects, bare ``.qde``) safely.

A file is read into the plain frozen dataclasses of :mod:`qda.refi.model`
(:class:`RefiProject`); nothing here touches a project.

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
import re
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from qda.errors import IngestError, InteropError, Problem
from qda.ingest import MAX_TRANSCRIPT_BYTES, ZERO_WIDTH, decode_bytes, normalise_text
from qda.refi.model import (
    CONVENTIONS,
    SIDECAR,
    SIDECAR_FORMAT,
    VALUE_ELEMENTS,
    MissingSource,
    OffsetReport,
    RefiCase,
    RefiCode,
    RefiCoding,
    RefiLink,
    RefiNote,
    RefiProject,
    RefiSelection,
    RefiSet,
    RefiSource,
    RefiUser,
    RefiValue,
    RefiVariable,
    Unsupported,
    guid_key,
    join_description,
    split_description,
)

_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]")
_ZW_RE = re.compile("[" + "".join(map(chr, ZERO_WIDTH)) + "]")
MAX_ENTRIES = 10_000                  # zip entries in one archive
MAX_TOTAL_BYTES = 2 * 1024 ** 3       # declared uncompressed size of all entries together
MAX_XML_BYTES = 512 * 1024 ** 2       # project.qde once inflated (the parsed tree takes several times that)
MAX_SOURCE_BYTES = MAX_TRANSCRIPT_BYTES  # one source's text, like a transcript file


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
        self.has_astral = bool(self._astral)  # else UTF-16 units and code points count alike
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
        self._unmoved = not (self._crlf or self._edits or self._deleted)  # positions stay where they are

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
        if self._unmoved:
            return position
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
    except (LookupError, ValueError) as exc:  # e.g. an XML declaration naming an unknown encoding
        raise InteropError(f"{where}:1: not readable XML ({exc})", [
            Problem(f"{where}:1", str(exc), "the file is damaged; export it again")]) from None


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

    def read(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        """The entry's bytes, counted as they inflate: an entry growing past ``limit`` is
        refused before it fills the memory (the declared sizes are checked too, but a
        parser holding a 2 GB XML needs several times that)."""
        where = f"{self.path}:{info.filename}"
        if info.file_size > limit:
            raise self._too_large(where, limit)
        chunks: list[bytes] = []
        size = 0
        try:
            with self.zip.open(info) as stream:
                while chunk := stream.read(1024 ** 2):
                    size += len(chunk)
                    if size > limit:
                        raise self._too_large(where, limit)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError, NotImplementedError,
                RuntimeError) as exc:
            raise InteropError(f"{self.path}: entry '{info.filename}' cannot be read ({exc})", [
                Problem(where, "the archive is corrupt or truncated",
                        "download or export the .qdpx again")]) from None
        return b"".join(chunks)

    def _too_large(self, where: str, limit: int) -> InteropError:
        return InteropError(f"{where}: refused: inflates to more than {limit:,} bytes", [
            Problem(where, f"the entry expands beyond {limit // 1024 ** 2} MB once uncompressed (a zip bomb, "
                           "or not a REFI-QDA project)", "check that this is the right file")])

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


class Resolver:
    """Reads the files a REFI-QDA file points at, and nothing outside what it was given.

    A ``.qdpx`` is self-contained: only ``internal://`` entries of the archive are read; a
    ``relative://`` or absolute path would read a file of this computer (``.ssh/id_rsa``
    beside the download) into a document that then travels in every export, so it is
    refused unless ``allow_outside``. A bare ``.qde`` reads its ``sources/`` folder and
    ``relative://`` paths inside its own folder, symlinks resolved: a path or a link leaving
    that folder is refused unless ``allow_outside``. Refused paths are collected in
    ``refused`` (path -> what asked for it, why) so that the reader names them all at once.
    """

    def __init__(self, folder: Path, archive: _Archive | None = None, *, allow_outside: bool = False) -> None:
        self.folder = folder
        self.archive = archive
        self.allow_outside = allow_outside
        self.refused: dict[str, tuple[str, str]] = {}

    def __call__(self, path: str, who: str = "") -> tuple[bytes | None, str]:
        scheme, sep, rest = path.partition("://")
        scheme = scheme.lower() if sep else ""
        if self.archive is not None and scheme == "internal":
            if _unsafe_name(rest):
                return None, f"unsafe path {path}"
            info = self.archive.find(rest)
            if info is None:
                return None, f"{path} is not in the archive"
            return self.archive.read(info, MAX_SOURCE_BYTES), ""
        if self.archive is not None and not self.allow_outside:
            return self._refuse(path, who, "outside the .qdpx")
        if scheme in ("internal", "relative"):
            rest = rest.lstrip("/")
            if not rest:
                return None, f"{path}: empty path"
            if _unsafe_name(rest) and not self.allow_outside:
                return self._refuse(path, who, "a path leaving the folder of the file")
            bases = [self.folder / "sources", self.folder / "Sources", self.folder] if scheme == "internal" \
                else [self.folder]
            for base in bases:
                target = _find_case_insensitive(base, rest)
                if target is not None:
                    return self._read(target, path, who)
            return None, f"{path} not found next to the file"
        if not self.allow_outside:
            return self._refuse(path, who, "an absolute path")
        target = Path(rest if scheme == "file" else path)
        if not target.is_absolute() or not target.is_file():
            return None, f"{path}: not found"
        return self._read(target, path, who)

    def _read(self, target: Path, path: str, who: str) -> tuple[bytes | None, str]:
        if not self.allow_outside:
            try:
                inside = target.resolve(strict=True).is_relative_to(self.folder.resolve())
            except (OSError, RuntimeError):  # a dangling link or a loop of links
                inside = False
            if not inside:
                return self._refuse(path, who, "a link leading out of the folder of the file")
        try:
            if target.stat().st_size > MAX_SOURCE_BYTES:
                return None, f"{path}: larger than {MAX_SOURCE_BYTES // 1024 ** 2} MB"
            return target.read_bytes(), ""
        except OSError as exc:
            return None, f"{path}: cannot be read ({exc.strerror})"

    def _refuse(self, path: str, who: str, why: str) -> tuple[None, str]:
        self.refused.setdefault(path, (who, why))
        return None, f"{path}: refused ({why})"

    def forgive(self, path: str) -> None:
        """The text was in the file itself after all (an inline PlainTextContent): nothing outside is needed."""
        self.refused.pop(path, None)

    def check(self, where: str) -> None:
        """Refuse the file, naming every path outside it, unless the user allowed them."""
        if not self.refused:
            return
        given = "its own entries" if self.archive is not None else "files inside its folder"
        kind = ".qdpx" if self.archive is not None else ".qde"
        raise InteropError(
            f"{where}: refused: {len(self.refused)} path(s) point outside the file (a {kind} may read "
            f"only {given}); nothing was imported",
            [Problem(f"{where}: {who or 'the file'}", f"'{path}' is {why}",
                     "export the project again with its sources inside it, or add --allow-outside "
                     "if you trust this file and want these files read")
             for path, (who, why) in self.refused.items()])


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

def read_refi(path: str | Path, *, max_entries: int | None = None, max_bytes: int | None = None,
              allow_outside: bool = False) -> RefiProject:
    """Read a ``.qdc``, ``.qdpx`` (or a .qdpx renamed ``.zip``) or bare ``.qde`` file.

    Only what was given is read (see :class:`Resolver`): a path pointing outside the
    ``.qdpx`` (or outside a bare ``.qde``'s folder) refuses the file with every such path
    named, unless ``allow_outside``.
    """
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
            root = parse_xml(archive.read(entry, MAX_XML_BYTES), where)
            return _read_root(root, str(path), where, Resolver(path.parent, archive, allow_outside=allow_outside))
        finally:
            archive.zip.close()
    if path.suffix.lower() in (".qdpx", ".zip"):
        raise InteropError(f"{path}: not a zip archive, so not a .qdpx (it may be truncated)", [
            Problem(str(path), "a .qdpx is a zip archive holding project.qde", "export the project again")])
    limit = min(max_bytes, MAX_XML_BYTES)
    if path.stat().st_size > limit:
        raise InteropError(f"{path}: refused: larger than {limit:,} bytes")
    root = parse_xml(path.read_bytes(), str(path))
    return _read_root(root, str(path), str(path), Resolver(path.parent, allow_outside=allow_outside))


#: What a GUID identifies, by element: two objects of one kind sharing a GUID would be
#: merged or misfiled on import (one source's codings filed under another), so they are refused.
_GUID_KINDS = {"User": "user", "Code": "code", "Case": "case", "Variable": "variable", "Note": "note",
               "Coding": "coding", "Set": "set"}


def _guid_kind(tag: str) -> str | None:
    if tag.endswith("Source"):
        return "source"
    if tag.endswith("Selection"):
        return "selection"
    return _GUID_KINDS.get(tag)


def check_unique_guids(root: Element, where: str) -> None:
    """Refuse a file in which two objects of one kind (sources, codes, users, selections, ...)
    share a GUID, listing every such GUID: which one a reference means cannot be known."""
    # Counted per element name: ATLAS.ti gives a PDF selection and its text representation
    # (a PlainTextSelection) one GUID on purpose, for one object seen two ways.
    seen: dict[tuple[str, str], int] = {}
    local: dict[Any, str | None] = {}  # element tag -> its name without namespace, when its GUID identifies
    for element in root.iter():
        guid = element.get("guid")
        if not guid:
            continue
        tag = element.tag
        if tag not in local:
            local[tag] = _local(tag) if isinstance(tag, str) and _guid_kind(_local(tag)) is not None else None
        name = local[tag]
        if name is not None:
            key = (name, guid_key(guid))
            seen[key] = seen.get(key, 0) + 1
    shared = sorted((str(_guid_kind(tag)), guid, n) for (tag, guid), n in seen.items() if n > 1)
    if shared:
        raise InteropError(
            f"{where}: refused: {len(shared)} GUID(s) are shared by several objects, so their codings "
            "cannot be attributed; nothing was imported",
            [Problem(where, f"{n} {kind}s share the GUID {guid}",
                     "export the project again from its program, or give each object its own GUID")
             for kind, guid, n in shared])


def _read_root(root: Element, file: str, where: str, resolve: Resolver) -> RefiProject:
    namespace = _check_namespace(root, where)
    check_unique_guids(root, where)
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
    coding_tag, ref_tag, note_tag = x.prefix + "Coding", x.prefix + "CodeRef", x.prefix + "NoteRef"
    for coding in element:  # one pass over the children (a large file has 70,000 selections)
        if coding.tag != coding_tag:
            continue
        ref: Element | None = None
        notes = []
        for child in coding:
            if child.tag == ref_tag and ref is None:
                ref = child
            elif child.tag == note_tag and child.get("targetGUID"):
                notes.append(guid_key(child.get("targetGUID")))
        code = guid_key(ref.get("targetGUID")) if ref is not None else ""
        if code not in code_keys:
            note("coding with an unknown code", 1, "its CodeRef names no code of the codebook")
            continue
        get = coding.get
        found.append(RefiCoding(guid_key(get("guid")), code, guid_key(get("creatingUser")),
                                get("creationDateTime") or "", tuple(notes)))
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
            readable = _readable_media(x, element, tag, resolve, code_keys, note, where, origin)
            if readable:
                raws += readable
                continue
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
        raws.append(_text_source(x, element, resolve, missing, code_keys, note, where))

    notes = []
    for element in x.kids(x.kid(root, "Notes"), "Note"):
        text = x.text(element, "PlainTextContent")
        path = element.get("plainTextPath")
        if not text and path:
            data, _reason = resolve(path, f"memo '{element.get('name') or element.get('guid')}'")
            if data is not None:
                try:
                    text = normalise_text(decode_bytes(data, path)[0])
                except IngestError:
                    text = ""
        description = x.text(element, "Description")
        if description and description not in text:
            text = f"{text}\n\n{description}" if text else description
        notes.append(RefiNote(guid_key(element.get("guid")), element.get("name") or "", text,
                              guid_key(element.get("creatingUser")), element.get("creationDateTime") or "",
                              guid_key(element.get("modifyingUser")), element.get("modifiedDateTime") or ""))
        note("selection inside a note", len(x.kids(element, "PlainTextSelection")),
             "codings of memo text are not imported")

    links = tuple(RefiLink(guid_key(k.get("guid")), k.get("name") or "", guid_key(k.get("originGUID")),
                           guid_key(k.get("targetGUID"))) for k in x.kids(x.kid(root, "Links"), "Link"))
    note_keys = {n.guid for n in notes}
    note("link between objects that are not memos",
         sum(1 for k in links if k.origin not in note_keys and k.target not in note_keys),
         "qda keeps memos linked to a quotation, document, code or case; other relations are not imported")
    sets = tuple(RefiSet(guid_key(s.get("guid")), s.get("name") or "", x.refs(s, "MemberSource"),
                         x.refs(s, "MemberCode"), x.refs(s, "MemberNote"))
                 for s in x.kids(x.kid(root, "Sets"), "Set"))  # the planner says what it makes of them
    graphs = x.kids(x.kid(root, "Graphs"), "Graph")
    if graphs:
        vertices = sum(len(x.kids(g, "Vertex")) for g in graphs)
        edges = sum(len(x.kids(g, "Edge")) for g in graphs)
        note("graph", len(graphs), f"{vertices} vertices, {edges} edges; qda draws no network views")

    resolve.check(where)
    offsets, sources = _convert_positions(x, raws, origin, code_keys, note)
    qda_coders: tuple[str, ...] | None = None
    if origin.lower().startswith("qda"):
        codes, sources, qda_coders = _with_sidecar(codes, sources, resolve)
    counts = {
        "codes": sum(1 for c in codes for _ in c.walk()),
        "sources": len(list(sources_el)) if sources_el is not None else 0,
        "text_sources": len(raws),
        "media_as_text": sum(1 for r in raws if r.source.media),
        "selections": sum(len(r.selections) for r in raws),
        "codings": len(x.all(root, "Coding")),
        "users": len(users),
        "cases": len(cases),
        "variables": len(variables),
        "notes": len(notes),
        "sets": len(sets),
    }
    return RefiProject(
        file=file, kind="project", namespace=namespace, origin=origin, name=root.get("name") or Path(file).stem,
        users=users, codes=codes, variables=variables, cases=tuple(cases), sources=tuple(sources),
        notes=tuple(notes), links=links, sets=sets, qda_coders=qda_coders, project_notes=x.refs(root),
        description=x.text(root, "Description"),
        creating_user=guid_key(root.get("creatingUserGUID")), counts=counts, missing=tuple(missing),
        unsupported=tuple(Unsupported(k, n, details.get(k, "")) for k, n in unsupported.items()), offsets=offsets)


def _with_sidecar(codes: tuple[RefiCode, ...], sources: list[RefiSource], resolve: Resolver
                  ) -> tuple[tuple[RefiCode, ...], list[RefiSource], tuple[str, ...] | None]:
    """qda's own fields, kept in ``qda-fields.json`` beside project.qde, joined back to the
    Descriptions of the codes and sources they belong to (as a ``[qda]`` line, which the
    planner reads the same way from a .qdc), and the names of the project's coders (users
    who are not coders wrote memos only). A missing, damaged or foreign sidecar is ignored."""
    import json

    data, _reason = resolve(f"internal://{SIDECAR}")
    if data is None:
        return codes, sources, None
    try:
        sidecar = json.loads(data.decode("utf-8"))
    except ValueError:
        return codes, sources, None
    if not isinstance(sidecar, dict) or sidecar.get("format") != SIDECAR_FORMAT:
        return codes, sources, None
    coders = sidecar.get("coders")
    if not (isinstance(coders, list) and all(isinstance(c, str) for c in coders)):
        coders = None
    by_code = {guid_key(k): v for k, v in (sidecar.get("codes") or {}).items() if isinstance(v, dict)}
    by_source = {guid_key(k): v for k, v in (sidecar.get("sources") or {}).items() if isinstance(v, dict)}

    def joined(description: str, fields: dict[str, Any] | None) -> str:
        if fields is None or split_description(description)[1] is not None:
            return description
        candidate = join_description(description, fields)
        return candidate if split_description(candidate)[1] is not None else description  # ill-formed: ignored

    def code(c: RefiCode) -> RefiCode:
        return replace(c, description=joined(c.description, by_code.get(guid_key(c.guid))),
                       children=tuple(code(k) for k in c.children))

    return (tuple(code(c) for c in codes),
            [replace(s, description=joined(s.description, by_source.get(s.guid))) for s in sources],
            tuple(coders) if coders is not None else None)


def _has_text(x: _Xml, element: Element, resolve: Resolver, who: str) -> bool:
    """Whether a text element (a PDF's Representation, a Transcript) has text qda can read."""
    if x.kid(element, "PlainTextContent") is not None:
        return True
    path = element.get("plainTextPath") or ""
    return bool(path) and resolve(path, who)[0] is not None


def _readable_media(x: _Xml, element: Element, tag: str, resolve: Resolver, code_keys: set[str],
                    note: Callable[..., None], where: str, origin: str) -> list[_Raw]:
    """The text of a PDF source (its Representation) or of a media source (its Transcripts),
    as text sources with their codings; [] when the file does not carry that text.

    A PDF selection has no text positions, only its own text (a Representation): it is
    placed on the PDF's text by :func:`qda.ingest.reanchor.find_passage`, and reported when
    it is found nowhere or in several places. A transcript selection lies between two
    sync points, whose ``position`` is a position in the transcript. The media file is
    kept as a reference (``media``); codings of time regions are not placed (no text).
    """
    from qda.ingest.reanchor import find_passage

    name = element.get("name") or ""
    media_path = element.get("path") or element.get("currentPath") or name or tag
    utf16 = exporter_convention(origin)[0] == "utf16"
    found: list[_Raw] = []
    if tag == "PDFSource":
        representation = x.kid(element, "Representation")
        who = f"source '{name}'"
        if representation is None or not _has_text(x, representation, resolve, who):
            return []
        raw = _text_source(x, representation, resolve, [], code_keys, note, where, who)
        if raw.textmap is None:
            return []
        text = raw.textmap.raw
        for sel in x.kids(element, "PDFSelection"):
            quoted = x.text(x.kid(sel, "Representation"), "PlainTextContent")
            located = find_passage(text, quoted)
            codings = len(x.kids(sel, "Coding"))
            if located.start is None or located.end is None:
                why = "found in several places" if located.status == "ambiguous" else "not found"
                note("PDF selection not placed on the PDF's text", 1,
                     "its text is missing, or is found nowhere or in several places in the PDF's text")
                note("coding on a PDF selection not placed", codings, f"the selection's text was {why}")
                continue
            start, end = located.start, located.end
            if utf16:  # written as the exporter counts, converted back with the other selections
                start += len(_ASTRAL_RE.findall(text[:start]))
                end += len(_ASTRAL_RE.findall(text[:end]))
            raw.selections.append((sel, start, end))
        source = replace(raw.source, guid=guid_key(element.get("guid")), name=name or raw.source.name,
                         codings=_codings(x, element, code_keys, note) + raw.source.codings,
                         notes=x.refs(element) + raw.source.notes, variables=_values(x, element),
                         media=media_path, user=guid_key(element.get("creatingUser")) or raw.source.user,
                         description=x.text(element, "Description") or raw.source.description)
        return [_Raw(source, raw.textmap, raw.selections)]
    transcripts = [t for t in x.kids(element, "Transcript")
                   if _has_text(x, t, resolve, f"transcript of source '{name}'")]
    label = "audio" if tag == "AudioSource" else "video"
    for i, transcript in enumerate(transcripts):
        raw = _text_source(x, transcript, resolve, [], code_keys, note, where, f"transcript of source '{name}'")
        if raw.textmap is None:
            continue
        points = {guid_key(p.get("guid")): p.get("position") for p in x.kids(transcript, "SyncPoint")}
        for sel in x.kids(transcript, "TranscriptSelection"):
            a, b = points.get(guid_key(sel.get("fromSyncPoint"))), points.get(guid_key(sel.get("toSyncPoint")))
            if a is None or b is None:
                note("transcript selection without positions", 1, "its sync points carry no text position")
                note(f"coding on a {label} source", len(x.kids(sel, "Coding")), "the selection has no position")
                continue
            raw.selections.append((sel, _int(a, where, "SyncPoint position"), _int(b, where, "SyncPoint position")))
        title = name if len(transcripts) == 1 else f"{name} (transcript {i + 1})"
        first = i == 0
        found.append(_Raw(replace(
            raw.source, guid=guid_key(transcript.get("guid")) if not first else guid_key(element.get("guid")),
            name=title, media=media_path,
            codings=(_codings(x, element, code_keys, note) if first else ()) + raw.source.codings,
            notes=(x.refs(element) if first else ()) + raw.source.notes,
            variables=_values(x, element) if first else ()), raw.textmap, raw.selections))
    if found:
        regions = x.kids(element, "AudioSelection" if tag == "AudioSource" else "VideoSelection")
        note(f"{label} selection", len(regions), "time regions of the recording are not imported (the transcript is)")
        note(f"coding on a {label} source", sum(len(x.kids(r, "Coding")) for r in regions),
             "codes applied to a time region, not to the transcript's text, are not imported")
    return found


def _text_source(x: _Xml, element: Element, resolve: Resolver, missing: list[MissingSource], code_keys: set[str],
                 note: Callable[..., None], file_where: str, who: str = "") -> _Raw:
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
        data, reason = resolve(path, who or f"source '{name}'")
        if data is not None:
            try:
                raw, encoding = decode_bytes(data, path)
                bom = data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
            except IngestError as exc:
                raw, reason = None, exc.message
        elif inline is not None:
            raw, reason, encoding = inline.text or "", "", "xml"
            resolve.forgive(path)
    else:
        reason = "no plainTextPath and no PlainTextContent"
    selections = []
    for sel in x.kids(element, "PlainTextSelection"):
        where = f"{file_where}: source '{name}', selection {sel.get('guid')}"
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
    # Each selection's span under each convention, computed once (the scores and the final
    # placement use the same values); a text without astral characters (no emoji, most
    # texts) counts the same in code points and in UTF-16 units, so it is converted once.
    converted: dict[str, list[list[tuple[int | None, int | None]]]] = {c: [] for c in CONVENTIONS}
    scores = dict.fromkeys(CONVENTIONS, 0)
    readable = 0
    for r in raws:
        textmap = r.textmap
        if textmap is None:
            for convention in CONVENTIONS:
                converted[convention].append([(None, None)] * len(r.selections))
            continue
        readable += len(r.selections)
        text = textmap.text
        done: dict[str, tuple[list[tuple[int | None, int | None]], int]] = {}
        for convention in CONVENTIONS:
            if convention == "utf16" and not textmap.has_astral:
                done[convention] = done["codepoints"]
            else:
                spans = [(textmap.convert(a, convention), textmap.convert(b, convention))
                         for _sel, a, b in r.selections]
                done[convention] = spans, sum(1 for start, end in spans if start is not None and end is not None
                                              and at_word_boundary(text, start) and at_word_boundary(text, end))
            converted[convention].append(done[convention][0])
            scores[convention] += done[convention][1]
    known, reason = exporter_convention(origin)
    chosen = known or max(CONVENTIONS, key=lambda c: (scores[c], c == "codepoints"))
    if known is None and readable:
        reason += f" ({chosen})"
    offsets = None
    out_of_range = 0
    sources = []
    description_tag, note_tag = x.prefix + "Description", x.prefix + "NoteRef"
    for r, spans in zip(raws, converted[chosen]):
        selections = []
        for (sel, a, b), (start, end) in zip(r.selections, spans):
            if r.textmap is not None and (start is None or end is None or start > end):
                out_of_range += 1
                start = end = None
            codings = _codings(x, sel, code_keys, note)
            get = sel.get
            description: str | None = None
            notes = []
            for child in sel:  # one pass (x.text and x.refs would each walk the children again)
                if child.tag == description_tag and description is None:
                    description = child.text or ""
                elif child.tag == note_tag and child.get("targetGUID"):
                    notes.append(guid_key(child.get("targetGUID")))
            selections.append(RefiSelection(
                guid=guid_key(get("guid")), raw_start=a, raw_end=b, start=start, end=end,
                user=guid_key(get("creatingUser")), created=get("creationDateTime") or "",
                name=get("name") or "", description=description or "", codings=codings,
                notes=tuple(notes), modifying_user=guid_key(get("modifyingUser")),
                modified=get("modifiedDateTime") or ""))
            if not codings:
                note("text selection without a code", 1, "quotations that carry no code are not imported")
        sources.append(replace(r.source, text=r.textmap.text if r.textmap is not None else None,
                               selections=tuple(selections)))
    if any(r.selections for r in raws):
        offsets = OffsetReport(chosen, reason, readable, scores[chosen], out_of_range, scores)
    return offsets, sources
