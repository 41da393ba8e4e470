"""Reading transcripts: decoding, normalisation, speaker turns, segmentation.

A reader turns a file into a :class:`RawTranscript` (normalised text plus, for formats
that carry them, speaker turns). Plain-text formats get their turns from
:func:`detect_turns`. :mod:`qda.ingest.segment` then splits turns into sentences.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Collection
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import Any

from qda.errors import AgreementError, IngestError, Problem, QdaError
from qda.ingest.languages import MARKS
from qda.models import Turn


@dataclass(frozen=True)
class RawTranscript:
    """A decoded, normalised transcript, before segmentation."""

    text: str
    turns: tuple[Turn, ...]
    encoding: str = "utf-8"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- decoding

# Characters no spreadsheet cell or XML 1.0 document can hold (NUL and the other C0
# controls except tab and line ends, and the two non-characters U+FFFE/U+FFFF): removed
# at import, because a stored transcript holding one makes every later xlsx or .qdpx
# export fail. Vertical tab and form feed (Word line and page breaks) become line ends.
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0E, 0x20), 0xFFFE, 0xFFFF], None)
_CONTROL_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in _CONTROLS) + "]")
# Everything normalise_text deletes (qda.ingest.refi.TextMap maps positions across it). The
# zero-width non-joiner and joiner (U+200C, U+200D) stay: they are spelling in Persian
# ("می‌خواهم"), in Indic scripts and in emoji sequences.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"), None) | _CONTROLS
_SPACES = {ord(c): " " for c in "\u00a0\u202f\u2007\u2009\u200a\u3000"} | {0x0B: "\n", 0x0C: "\n"}
# Set by read_transcript while a reader runs: normalise_text adds how many control
# characters it removed, so that the import report can say so whatever the format.
_REMOVED_CONTROLS: ContextVar[list[int] | None] = ContextVar("qda_removed_controls", default=None)


def decode_bytes(data: bytes, source: str) -> tuple[str, str]:
    """Decode transcript bytes: BOMs, UTF-8, then cp1252 / latin-1 for older Windows files.

    Returns (text, encoding name). Binary or undecodable content raises IngestError.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise IngestError(f"{source}: starts with a UTF-8 mark but byte {exc.start} is not UTF-8",
                              [Problem(source, "the file is damaged or mixes encodings",
                                       "re-save it as UTF-8 from your editor")]) from None
    for bom, name in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[2:].decode(name), "utf-16"
            except UnicodeDecodeError:
                raise IngestError(f"{source}: starts with a UTF-16 mark but cannot be decoded as UTF-16",
                                  [Problem(source, "re-save the file as UTF-8")]) from None
    nul = data.find(b"\x00")
    utf16 = _utf16_without_bom(data) if nul >= 0 else None
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            raise IngestError(f"{source}: looks like UTF-16 without a byte-order mark, but cannot be decoded as "
                              f"{utf16.upper()}",
                              [Problem(source, "damaged UTF-16 text", "re-save the file as UTF-8")]) from None
        if len(_CONTROL_RE.findall(text)) <= max(2, len(text) // 200):
            return text, utf16
    if nul >= 0:
        where = "it contains binary data" if nul < 4096 else f"it turns into binary data at byte {nul:,}"
        raise IngestError(f"{source}: this is not a text file ({where})",
                          [Problem(source, "binary content",
                                   "export the transcript as .txt (UTF-8) or .docx; a damaged file may "
                                   "have been cut or overwritten")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        controls = len(_CONTROL_RE.findall(text))
        if controls > max(2, len(text) // 200):
            raise IngestError(f"{source}: this is not a text file ({controls:,} control characters)",
                              [Problem(source, "binary content",
                                       "export the transcript as .txt (UTF-8) or .docx")])
        return text, "utf-8"
    try:
        text, encoding = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    if controls > max(2, len(text) // 200):
        raise IngestError(f"{source}: cannot decode the text (neither UTF-8 nor a Western Windows encoding)",
                          [Problem(source, "undecodable text",
                                   "re-save the file as UTF-8 (Save as > Encoding: UTF-8)")])
    return text, encoding


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the bytes look like UTF-16 text with no byte-order mark.

    Notepad and some transcription tools save "Unicode" this way. Text in a Latin, Greek or
    Cyrillic script then has a NUL in every other byte on one side only, which binary data
    almost never has; such a file is text, not "binary data".
    """
    sample = data[:4096]
    if len(data) % 2 or len(sample) < 8:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= 0.3 * half and even <= 0.02 * half:
        return "utf-16-le"
    if even >= 0.3 * half and odd <= 0.02 * half:
        return "utf-16-be"
    return None


def normalise_text(text: str) -> str:
    """Line ends to LF, Unicode NFC, no zero-width or control characters, non-breaking spaces as spaces.

    The stored text is this normalised form; every offset in the project points into it.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    removed = _REMOVED_CONTROLS.get()
    if removed is not None:
        removed.append(len(_CONTROL_RE.findall(text)))
    return text.translate(ZERO_WIDTH).translate(_SPACES)


def match_key(text: object) -> str:
    """``text`` for a forgiving comparison of names and labels: NFC, runs of whitespace as
    one space, no outer spaces, case-folded ("Foires  Commerciales" matches "foires commerciales")."""
    return unicodedata.normalize("NFC", " ".join(str(text).split())).casefold()


# ----------------------------------------------------------------------------- speaker turns

# A speaker label at the start of a line: optional [timestamp], a short name (letters,
# digits, spaces, dots, apostrophes, hyphens), optional timestamp after the name, then a
# colon (French typography puts a space before it).
_TIMESTAMP = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
LABEL_RE = re.compile(
    rf"^[ \t]*(?:\[(?P<ts1>{_TIMESTAMP})\][ \t]*|\((?P<ts2>{_TIMESTAMP})\)[ \t]*)?"
    rf"(?P<speaker>[^\W\d_][\w{MARKS}'’.\-]*(?:[ \t][\w{MARKS}'’.\-]+){{0,3}}|[A-Z]\d*)"
    rf"(?:[ \t]*[\[(](?P<ts3>{_TIMESTAMP})[\])])?"
    r"[ \t]*:[ \t]*", re.MULTILINE)

# Labels accepted even when they occur once.
KNOWN_LABELS = {
    "q", "r", "i", "int", "interviewer", "intervieweur", "intervieweuse", "interviewee", "répondant",
    "répondante", "repondant", "repondante", "enquêteur", "enquêtrice", "chercheur", "chercheuse",
    "dirigeant", "dirigeante", "question", "réponse", "answer", "respondent", "moderator", "modérateur",
    "interviewé", "interviewée", "interviewe", "enquêté", "enquêtée",
    "entrevistador", "entrevistadora", "entrevistado", "entrevistada",
}

# A line that is only a speaker header, the turn's text following on the next lines:
# ``[Chercheur] (0:01 - 0:11)`` (French research transcripts), ``[Johnny Doe] 11:02:09``
# (Zoom .txt export), ``[Chercheur]`` alone, and Otter's ``Jane Doe  0:03`` (two spaces).
_RANGE_END = rf"(?:[ \t]*[-–—][ \t]*{_TIMESTAMP})?"
_HEADER_RE = re.compile(
    rf"^[ \t]*(?:\[(?P<speaker>[^\W\d_][^\[\]\n:]{{0,39}})\]"
    rf"(?:[ \t]*(?:\((?P<ts1>{_TIMESTAMP}){_RANGE_END}\)|(?P<ts2>{_TIMESTAMP}){_RANGE_END}))?"
    rf"|(?P<otter>[^\W\d_][\w'’.\-]*(?:[ \t][\w'’.\-]+){{0,3}})[ \t]{{2,}}(?P<ts3>{_TIMESTAMP}))"
    r"[ \t]*$", re.MULTILINE)

# NVivo's transcript import table: ``Timespan<TAB>Speaker<TAB>Content`` rows.
_TSV_HEADER_RE = re.compile(r"^[ \t]*Timespan\tSpeaker\tContent[ \t]*$", re.MULTILINE | re.IGNORECASE)
_TSV_ROW_RE = re.compile(
    rf"^[ \t]*(?P<ts>{_TIMESTAMP}){_RANGE_END}\t(?P<speaker>[^\t\n]{{0,40}}?)[ \t]*\t", re.MULTILINE)

# ``00:01:02 text`` lines with no speaker at all (podcast transcripts): each timestamp
# starts a turn, so that timestamps survive. Only used when no speaker label is found.
_BARE_TS_RE = re.compile(
    r"^[ \t]*(?:\[(?P<ts1>\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?)\]|(?P<ts2>\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?))"
    r"[ \t]+(?=\S)", re.MULTILINE)

# Bracketed annotations that sit alone on a line but are not speakers.
_NOT_SPEAKERS = {
    "rires", "rire", "inaudible", "silence", "pause", "blanc", "incompréhensible", "coupure", "musique",
    "laughter", "laughs", "crosstalk", "music", "applause", "noise", "risas", "silencio",
}


@dataclass(frozen=True)
class _Marker:
    """Where a turn header sits in the text; skip markers end a turn without starting one."""

    start: int
    end: int
    speaker: str | None
    timestamp: str | None
    skip: bool = False


INTERVIEWER_LABELS = {
    "q", "i", "int", "interviewer", "intervieweur", "intervieweuse", "enquêteur", "enquêtrice", "chercheur",
    "chercheuse", "question", "moderator", "modérateur", "modératrice", "entrevistadora", "entrevistador",
}


def default_role(speaker: str | None) -> str | None:
    """Interviewer for the usual interviewer labels, respondent for any other speaker."""
    if not speaker:
        return None
    return "interviewer" if speaker.strip().lower() in INTERVIEWER_LABELS else "respondent"


def detect_turns(text: str) -> tuple[Turn, ...]:
    """Find speaker turns from line prefixes such as ``Intervieweur :``, ``Q:``, ``E3 :``,
    ``[00:12:03] Marie:``, from header lines such as ``[Chercheur] (0:01 - 0:11)`` or
    ``[Jane Doe] 11:02:09`` whose text follows on the next lines, and from NVivo
    ``Timespan<TAB>Speaker<TAB>Content`` rows.

    A candidate label counts as a speaker when it is a known interview role or occurs at
    least twice in the document (so that "Bref : ..." in running prose is not a speaker);
    a header line with a time is specific enough to count once. Lines without a
    label continue the current turn. Text before the first label is a turn without
    speaker. A document with no label at all but ``00:01:02 text`` lines gets one turn
    per timestamp, with no speaker.
    """
    markers = _speaker_markers(text)
    if not markers:
        bare = list(_BARE_TS_RE.finditer(text))
        if len(bare) >= 2:
            markers = [_Marker(m.start(), m.end(), None, m.group("ts1") or m.group("ts2")) for m in bare]
    turns: list[Turn] = []
    position = 0
    current_speaker: str | None = None
    current_ts: str | None = None
    for marker in markers:
        if marker.start > position or (turns == [] and marker.start > 0):
            _append_turn(turns, text, position, marker.start, current_speaker, current_ts)
        current_speaker, current_ts = marker.speaker, marker.timestamp
        position = marker.end
        if marker.skip:  # e.g. a table header row: its words belong to no turn
            current_speaker = current_ts = None
    _append_turn(turns, text, position, len(text), current_speaker, current_ts)
    return tuple(turns)


def _speaker_markers(text: str) -> list[_Marker]:
    """Every accepted speaker label, header line and table row, in text order (one per line)."""
    found: list[tuple[_Marker, bool]] = []  # (marker, specific enough to count once)
    for m in LABEL_RE.finditer(text):
        if len(m.group("speaker")) <= 40:
            timestamp = m.group("ts1") or m.group("ts2") or m.group("ts3")
            # "[00:12:40] Paul:" is a transcript line even if Paul speaks only once.
            found.append((_Marker(m.start(), m.end(), m.group("speaker").strip(), timestamp), timestamp is not None))
    headers = list(_HEADER_RE.finditer(text))
    # "Name  0:03" alone on a line could be anything once; several make an Otter export.
    otter_layout = sum(1 for m in headers if m.group("otter")) >= 2
    for m in headers:
        name = (m.group("speaker") or m.group("otter")).strip()
        timestamp = m.group("ts1") or m.group("ts2") or m.group("ts3")
        if name.lower() not in _NOT_SPEAKERS:
            found.append((_Marker(m.start(), m.end(), name, timestamp),
                          timestamp is not None and (m.group("speaker") is not None or otter_layout)))
    if _TSV_HEADER_RE.search(text):
        for m in _TSV_HEADER_RE.finditer(text):
            found.append((_Marker(m.start(), m.end(), None, None, skip=True), True))
        for m in _TSV_ROW_RE.finditer(text):
            found.append((_Marker(m.start(), m.end(), m.group("speaker").strip() or None, m.group("ts")), True))
    counts = Counter(marker.speaker for marker, _ in found)
    accepted: dict[int, _Marker] = {}
    for marker, specific in sorted(found, key=lambda item: item[0].start):
        name = marker.speaker
        if specific or name is None or counts[name] >= 2 or name.lower() in KNOWN_LABELS:
            line = text.rfind("\n", 0, marker.start + 1)  # one marker per line: the first found wins
            accepted.setdefault(line, marker)
    return sorted(accepted.values(), key=lambda marker: marker.start)


def _append_turn(turns: list[Turn], text: str, start: int, end: int, speaker: str | None, ts: str | None) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped:
        return
    lead = len(chunk) - len(chunk.lstrip())
    start += lead
    end = start + len(stripped)
    turns.append(Turn(start, end, speaker, ts))


# ----------------------------------------------------------------------------- readers

Reader = Callable[[Path], RawTranscript]
READERS: dict[str, Reader] = {}


def reader(*suffixes: str) -> Callable[[Reader], Reader]:
    """Register a reader for file suffixes (lower case, with the dot)."""
    def register(func: Reader) -> Reader:
        for suffix in suffixes:
            READERS[suffix] = func
        return func
    return register


# Limits on zip-based inputs (xlsx, docx, odt). Python's zipfile never yields more
# than an entry's declared uncompressed size (it truncates and then fails the CRC),
# so checking the declared sizes in the central directory bounds what any reader
# built on zipfile (openpyxl, python-docx, ours) can inflate, before it starts.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_BYTES = 1024 ** 3          # all entries together, uncompressed
_BOMB_RATIO = 200                  # real office XML compresses 5-50x; deflate bombs ~1000x
_BOMB_MIN_BYTES = 64 * 1024 ** 2   # the ratio rule only applies to entries at least this big


def check_input_file(path: Path, error: type[QdaError] = IngestError) -> None:
    """Refuse, with a message, a path that is a folder, a device, a pipe or a socket.

    Reading a device such as ``/dev/zero`` would never end; reading a folder fails
    with an OS error that says nothing to a researcher.
    """
    if path.is_dir():
        raise error(f"{path}: is a folder, not a file", [
            Problem(str(path), "give a file inside the folder", f"e.g. {path}/*.txt in the shell")])
    if path.exists() and not path.is_file():
        raise error(f"{path}: not a regular file (a device, pipe or socket)", [
            Problem(str(path), "qda reads ordinary files only", "copy the content into a file first")])


def check_zip(path: Path, *, max_entries: int = MAX_ZIP_ENTRIES, max_bytes: int = MAX_ZIP_BYTES,
              error: type[QdaError] = IngestError) -> list[zipfile.ZipInfo] | None:
    """Check a zip-based file (xlsx, docx, odt, qdpx) before a reader opens it.

    Refuses archives with more than ``max_entries`` entries, more than ``max_bytes``
    of declared uncompressed content, or an entry that inflates like a zip bomb.
    Returns the entries (so a caller can check names too), or ``None`` when the file
    is not a zip archive at all: the format's reader then says what it is instead.
    """
    check_input_file(path, error)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        return None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None
    where = str(path)
    hint = "check that this is the right file; a genuine document this large should be split"
    if len(infos) > max_entries:
        raise error(f"{path}: refused: {len(infos)} entries in the archive (limit {max_entries})",
                    [Problem(where, "too many entries for a document", hint)])
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise error(f"{path}: refused: {total:,} bytes once uncompressed (limit {max_bytes:,})",
                    [Problem(where, "the archive would expand beyond the size limit", hint)])
    for info in infos:
        if info.file_size >= _BOMB_MIN_BYTES and info.file_size > _BOMB_RATIO * max(info.compress_size, 1):
            raise error(f"{path}: refused: entry '{info.filename}' inflates {info.compress_size:,} bytes "
                        f"to {info.file_size:,} (a zip bomb?)",
                        [Problem(f"{where}:{info.filename}", "compression ratio far beyond any real document",
                                 hint)])
    return infos


def read_bytes(path: Path) -> bytes:
    check_input_file(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IngestError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise IngestError(f"{path}: is a folder, not a transcript file") from None
    except OSError as exc:
        raise IngestError(f"{path}: cannot be read ({exc.strerror})") from None


@reader(".txt", ".md", ".text")
def read_text_file(path: Path) -> RawTranscript:
    """Plain text or Markdown; turns from speaker labels."""
    raw, encoding = decode_bytes(read_bytes(path), str(path))
    text = normalise_text(raw)
    notes = () if encoding.startswith("utf") else (f"decoded as {encoding}",)
    return RawTranscript(text, detect_turns(text), encoding, notes)


@reader(".docx")
def read_docx(path: Path) -> RawTranscript:
    """Word documents: body paragraphs (tables, headers and footers are not transcript text)."""
    import docx  # python-docx; imported here so that text-only use stays light
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import LxmlError  # python-docx's XML parser

    data = read_bytes(path)
    check_zip(path)
    try:
        document = docx.Document(str(path))
        # A document part whose root is not <w:document> loads, then has no body (AttributeError).
        paragraphs = [p.text for p in document.paragraphs]
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, LxmlError, EOFError,
            zlib.error, OSError, NotImplementedError, RuntimeError, AttributeError, TypeError) as exc:
        kind = "not a Word .docx file" if not data.startswith(b"PK") else "a damaged .docx file"
        raise IngestError(f"{path}: {kind} ({exc.__class__.__name__})",
                          [Problem(str(path), "cannot open the document",
                                   "open it in Word and save it again as .docx, or export it as .txt")]) from None
    text = normalise_text("\n".join(paragraphs)).strip("\n")
    return RawTranscript(text, detect_turns(text), "docx")


#: The largest transcript accepted (file bytes, and characters once read): one interview
#: is far smaller; a larger file is refused up front rather than run for an hour.
MAX_TRANSCRIPT_BYTES = 50 * 1024 ** 2


def _too_large(path: Path, size: int, what: str) -> IngestError:
    limit = MAX_TRANSCRIPT_BYTES // 1024 ** 2
    return IngestError(f"{path}: refused: {what} {size / 1024 ** 2:.0f} MB, over the limit of {limit} MB "
                       "for one transcript",
                       [Problem(str(path), f"a transcript holds at most {limit} MB",
                                "split it into several files (one per interview or session, e.g. at its "
                                "headings) and import them together")])


def read_transcript(path: str | Path) -> RawTranscript:
    """Read any supported transcript file, chosen by its suffix (at most 50 MB)."""
    path = Path(path)
    check_input_file(path)
    suffix = path.suffix.lower()
    func = READERS.get(suffix)
    if func is None:
        known = ", ".join(sorted(READERS))
        raise IngestError(f"{path}: unsupported file type '{suffix or '(none)'}'",
                          [Problem(str(path), f"supported types: {known}")])
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # read_bytes names the problem
    if size > MAX_TRANSCRIPT_BYTES:
        raise _too_large(path, size, "the file holds")
    token = _REMOVED_CONTROLS.set([])
    try:
        raw = func(path)
        removed = sum(_REMOVED_CONTROLS.get() or [])
    finally:
        _REMOVED_CONTROLS.reset(token)
    if len(raw.text) > MAX_TRANSCRIPT_BYTES:  # e.g. a small .docx that inflates
        raise _too_large(path, len(raw.text), "its text holds")
    if removed:
        raw = replace(raw, notes=raw.notes + (
            f"{removed} control character(s) removed (NUL and others no spreadsheet or XML can hold)",))
    return raw


def _damaged_xlsx(path: Path, exc: Exception) -> IngestError:
    return IngestError(f"{path}: not a readable .xlsx file ({exc.__class__.__name__})",
                       [Problem(str(path), "the file is damaged or not an Excel workbook",
                                "open it in Excel and save it again as .xlsx")])


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


class _NotSimple(Exception):
    """The workbook uses something the fast reader leaves to openpyxl."""


class _Table:
    """A worksheet or CSV as read: as columns (the fast xlsx reader finds cells column by
    column) or as rows (the XML parser, openpyxl, csv); each form is made from the other
    only when asked for."""

    def __init__(self, rows: list[list[object]] | None = None, columns: list[list[object]] | None = None) -> None:
        self._rows, self._columns = rows, columns

    def rows(self) -> list[list[object]]:
        """The rows, as openpyxl's ``iter_rows(values_only=True)`` gives them."""
        if self._rows is None:
            self._rows = [list(row) for row in zip(*self._columns or ())]
        return self._rows

    def columns(self) -> tuple[list[object], list[list[object]]] | None:
        """Row 1 as it is, and each column's cells in the rows below it (None where a row is
        shorter); None when there is no row at all."""
        if self._columns is not None:
            if not self._columns or not self._columns[0]:
                return None
            return [column[0] for column in self._columns], [column[1:] for column in self._columns]
        rows = self._rows
        if not rows:
            return None
        body = rows[1:]
        width = max(map(len, rows))
        return rows[0], [[row[i] if i < len(row) else None for row in body] for i in range(width)]


def _xlsx_rows(path: Path, sheet: str | None, formulas: bool = False,
               columns: Collection[str] | None = None) -> list[list[object]] | None:
    """The rows :func:`read_table` gets from openpyxl (read-only, cached values), read faster."""
    table = _xlsx_table(path, sheet, formulas, columns)
    return None if table is None else table.rows()


def _xlsx_table(path: Path, sheet: str | None, formulas: bool = False,
                columns: Collection[str] | None = None) -> _Table | None:
    """The rows :func:`read_table` gets from openpyxl (read-only, cached values), read faster.

    openpyxl spends ~13 µs of Python per cell; a coding sheet of 1,000 interviews has a
    million cells. This reads the sheet XML with one regular expression (or, for XML it
    does not expect, lxml's iterparse) and keeps openpyxl's conventions (row padding to
    the sheet's declared size, numbers as int or float, empty rich text as ""). With
    ``columns``, only the columns whose header (row 1) is one of these names (as
    :func:`match_key` gives them) are read; the others are None. Whatever it does not
    handle the same way (date-formatted numbers, ISO dates, missing or odd parts, any
    error) returns ``None``: the caller then reads the file with openpyxl, which also
    reports damaged files.
    """
    from xml.etree.ElementTree import fromstring

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            workbook = fromstring(archive.read("xl/workbook.xml"))
            rels = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {}
            for rel in rels.iter(f"{_RELS}Relationship"):
                target = rel.get("Target", "")
                target = target[1:] if target.startswith("/") else "xl/" + target
                targets[rel.get("Id")] = (rel.get("Type", "").rsplit("/", 1)[-1], target)
            sheets = [(node.get("name"), targets.get(node.get(f"{_DOC_RELS}id"), ("", ""))) for node in
                      workbook.iter(f"{_MAIN}sheet")]
            worksheets = [(name, target) for name, (kind, target) in sheets if kind == "worksheet"]
            by_name = dict(worksheets)
            if sheet is not None:
                if sheet not in by_name:
                    return None
                chosen = by_name[sheet]
            elif "Coding" in by_name:
                chosen = by_name["Coding"]
            elif worksheets:
                chosen = worksheets[0][1]
            else:
                return None
            if chosen not in names:
                return None
            strings: list[str] = []
            shared = next((t for kind, t in targets.values() if kind == "sharedStrings"), None)
            if shared in names:
                for node in fromstring(archive.read(shared)).iter(f"{_MAIN}si"):
                    strings.append(_rich_text(node).replace("x005F_", ""))
            dates: set[int] = set()
            styles = next((t for kind, t in targets.values() if kind == "styles"), None)
            if styles in names:
                dates = _date_styles(fromstring(archive.read(styles)))
            data = archive.read(chosen)
    except (_NotSimple, KeyError, ValueError, IndexError, OSError, zipfile.BadZipFile, SyntaxError):
        return None
    except Exception:  # noqa: BLE001 - e.g. XML errors of either parser: openpyxl decides
        return None
    try:
        return _Table(columns=_scan_columns(data, strings, dates, formulas, columns))
    except Exception:  # noqa: BLE001, S110 - anything unexpected: the XML parser reads it (or gives up)
        pass
    try:
        from lxml.etree import iterparse  # openpyxl's accelerator
    except ImportError:  # pragma: no cover - lxml comes with openpyxl's usual installs
        from xml.etree.ElementTree import iterparse
    import io

    try:
        tags = [f"{_MAIN}row", f"{_MAIN}dimension"]
        try:  # lxml hands only these elements to Python
            events = iterparse(io.BytesIO(data), events=("end",), tag=tags)
        except TypeError:  # pragma: no cover - the standard library's parser
            events = iterparse(io.BytesIO(data), events=("end",))
        return _Table(rows=_sheet_rows(events, strings, dates, formulas))
    except (_NotSimple, KeyError, ValueError, IndexError, OSError, SyntaxError):
        return None
    except Exception:  # noqa: BLE001 - e.g. XML errors of either parser: openpyxl decides
        return None


def _date_styles(tree: Any) -> set[int]:
    """Indexes of the cell formats (``s``) that show numbers as dates (openpyxl reads those as dates)."""
    custom = {int(f.get("numFmtId", -1)): f.get("formatCode", "") for f in tree.iter(f"{_MAIN}numFmt")}
    xfs = tree.find(f"{_MAIN}cellXfs")
    formats = {index: int(xf.get("numFmtId", 0)) for index, xf in enumerate(xfs if xfs is not None else ())}
    # Text and General formats are the usual case (and all a coding sheet has): no need for
    # openpyxl's table of formats, whose import alone takes half a second.
    if all(fmt == 0 or custom.get(fmt) in ("General", "@") for fmt in formats.values()):
        return set()
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    return {index for index, fmt in formats.items()
            if (fmt in custom or fmt in BUILTIN_FORMATS) and is_date_format(custom.get(fmt, BUILTIN_FORMATS.get(fmt)))}


def _rich_text(node: object) -> str:
    """The text of a shared or inline string: its plain text then its runs' texts (as openpyxl)."""
    parts = []
    for child in node:  # type: ignore[attr-defined]
        if child.tag == _T:
            if child.text is not None:
                parts.append(child.text)
        elif child.tag == _R:
            for part in child:
                if part.tag == _T and part.text is not None:
                    parts.append(part.text)
    return "".join(parts)


_T, _R, _V, _IS, _F = f"{_MAIN}t", f"{_MAIN}r", f"{_MAIN}v", f"{_MAIN}is", f"{_MAIN}f"


class Formula(str):
    """A spreadsheet cell holding a formula that was never computed (no cached value), as its
    formula text: readers report it with its row instead of reading it as an empty cell."""


def _column(ref: str) -> int:
    number = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            number = number * 26 + ord(ch) - 64
        elif ch.isdigit():
            break
        else:
            raise _NotSimple(ref)
    return number


def _cell_value(kind: str, style: int, text: str | None, inline: object, formula: str | None,
                strings: list[str], dates: set[int], formulas: bool) -> object:
    """A cell's value as openpyxl reads it, from its type, style, ``<v>`` text, ``<is>`` node and ``<f>`` text."""
    if formulas and formula is not None and not text and kind != "inlineStr":
        return Formula("=" + formula)  # never computed: the caller names the row
    if kind == "inlineStr":
        return _rich_text(inline) if inline is not None else None
    if not text:
        return None
    if kind == "n":
        if style in dates:
            raise _NotSimple("a date")
        return float(text) if ("." in text or "E" in text or "e" in text) else int(text)
    if kind == "s":
        return strings[int(text)]
    if kind == "b":
        return bool(int(text))
    if kind in ("str", "e"):
        return text
    raise _NotSimple(kind)


def _sheet_rows(events: object, strings: list[str], dates: set[int],
                formulas: bool = False) -> list[list[object]]:
    """Rows as openpyxl's read-only ``iter_rows(values_only=True)`` gives them; with ``formulas``,
    a formula never computed is a :class:`Formula` instead of None."""
    row_tag, dim_tag, cell_tag = f"{_MAIN}row", f"{_MAIN}dimension", f"{_MAIN}c"
    max_col: int | None = None
    max_row: int | None = None
    parsed: list[tuple[int, list[tuple[int, object]]]] = []
    row_counter = 0
    for _, element in events:  # type: ignore[attr-defined]
        tag = element.tag
        if tag == row_tag:
            r = element.get("r")
            row_counter = int(r) if r is not None else row_counter + 1
            cells: list[tuple[int, object]] = []
            col_counter = 0
            for cell in element:
                if cell.tag != cell_tag:
                    continue
                ref = cell.get("r")
                col_counter = _column(ref) if ref else col_counter + 1
                text = None
                inline = None
                formula = None
                for child in cell:
                    if child.tag == _V:
                        text = child.text
                    elif child.tag == _IS:
                        inline = child
                    elif child.tag == _F:
                        formula = child.text or ""
                cells.append((col_counter, _cell_value(cell.get("t", "n"), int(cell.get("s", 0) or 0), text, inline,
                                                       formula, strings, dates, formulas)))
            parsed.append((row_counter, cells))
            element.clear()
        elif tag == dim_tag:
            max_col, max_row = _dimension(element.get("ref", ""))
    # The declared size is only a claim: never pad beyond the rows and columns present.
    if max_row is not None:
        max_row = min(max_row, max((number for number, _ in parsed), default=0))
    if max_col is not None:
        max_col = min(max_col, max((column for _, cells in parsed for column, _ in cells), default=0))
    return _padded(parsed, max_col, max_row)


def _dimension(ref: str) -> tuple[int | None, int | None]:
    """The last column and row of a sheet's declared size (``A1:H100``), when it declares one."""
    last = ref.split(":")[-1]
    if not (ref and last[:1].isalpha()):
        return None, None
    digits = last[len(last.rstrip("0123456789")):]
    return _column(last), int(digits) if digits else None


def _padded(parsed: list[tuple[int, list[tuple[int, object]]]], max_col: int | None,
            max_row: int | None) -> list[list[object]]:
    """Rows (number, [(column, value)]) as openpyxl lists them: missing rows and cells as None,
    every row as wide as the declared size, nothing beyond the declared last row."""
    rows: list[list[object]] = []
    counter, idx = 1, 1
    empty = [None] * max_col if max_col is not None else []
    for idx, found in parsed:
        if max_row is not None and idx > max_row:
            break
        while counter < idx:
            counter += 1
            rows.append(list(empty))
        if counter <= idx:
            counter += 1
            if not found and not max_col:
                rows.append([])
                continue
            width = max_col or found[-1][0]
            row: list[object] = [None] * width
            for column, value in found:
                if 1 <= column <= width:
                    row[column - 1] = value
            rows.append(row)
    if max_row is not None and max_row < idx:
        rows.extend(list(empty) for _ in range(counter, max_row + 1))
    return rows


# The sheet XML as Excel, LibreOffice, openpyxl and qda write it: unprefixed elements, every
# cell and row starting with its reference. _scan_columns checks that the whole sheet is so
# before trusting these expressions; anything else goes to the XML parser.
_DIMENSION_RE = re.compile(rb'<dimension ref="([^"]*)"')
_UNUSUAL_TAG_RE = re.compile(rb'<(?:c|row)(?=[\s/>])(?! r=")')
_ATTR_RE = re.compile(rb'\s([\w:.-]+)="([^"]*)"')
_SEPARATOR_TEXT = "\ue000"  # joins cell texts (a private-use character: no cell should hold it)
_SEPARATOR = _SEPARATOR_TEXT.encode()


def _xml_text(text: str) -> str:
    """Character data as an XML parser gives it: line ends normalised, references replaced."""
    if "&" in text or "\r" in text:
        from xml.etree.ElementTree import fromstring

        return fromstring(f"<t>{text}</t>").text or ""
    return text


def _scan_columns(data: bytes, strings: list[str], dates: set[int], formulas: bool,
                  columns: Collection[str] | None) -> list[list[object]]:
    """The cells of a worksheet's XML column by column (the rows of :func:`_sheet_rows`,
    transposed), found by regular expressions; raises :class:`_NotSimple` when the XML is
    not in the usual form these expect."""
    from xml.etree.ElementTree import fromstring

    if b"<!" in data:
        raise _NotSimple("comments, CDATA or a DTD")
    root = re.search(rb"<([\w.-]+:)?worksheet\b[^>]*>", data)
    if root is None or root.group(1) or f'xmlns="{_MAIN[1:-1]}"'.encode() not in root.group(0):
        raise _NotSimple("a prefixed or foreign namespace")
    begin = data.find(b"<sheetData", root.end())
    if begin < 0:
        raise _NotSimple("no sheetData")
    end = begin if data.startswith(b"<sheetData/>", begin) else data.rfind(b"</sheetData>")
    dim = _DIMENSION_RE.search(data, 0, begin)
    max_col, max_row = _dimension(dim.group(1).decode()) if dim else (None, None)
    if (end < begin or max_col is None or max_row is None or _UNUSUAL_TAG_RE.search(data, begin, end)
            or data.find(b"xmlns", begin, end) >= 0):
        raise _NotSimple("no declared size, or cells or rows without their reference first")
    if max_row * max_col > len(data):
        # The declared size is only a claim (a 60 KB file may declare A1:XFD1048576): a cell
        # takes at least a few bytes, so a larger claim is cut to the cells really present.
        rows_seen = [int(n) for n in re.findall(rb'<row r="([0-9]+)"', data[begin:end])]
        columns_seen = {c for c in re.findall(rb'<c r="([A-Z]{1,3})[0-9]', data[begin:end])}
        max_row = min(max_row, max(rows_seen, default=0))
        max_col = min(max_col, max((_column(c.decode()) for c in columns_seen), default=0))

    kinds: dict[bytes, tuple[str, int]] = {}

    def kind_of(attrs: bytes) -> tuple[str, int]:
        found = kinds.get(attrs)
        if found is None:
            if b"'" in attrs:
                raise _NotSimple("single-quoted attributes")
            named = dict(_ATTR_RE.findall(attrs))
            found = kinds[attrs] = (named.get(b"t", b"n").decode(), int(named.get(b"s", b"0") or 0))
        return found

    def value(attrs: bytes, opened: bytes, inline: bytes, v: bytes, body: bytes) -> object:
        kind, style = kind_of(attrs)
        if opened:
            if kind == "inlineStr":
                return _xml_text(inline.decode())
            body = b"<is>" + opened + inline + b"</t></is>"
        elif v:
            if kind == "s":
                return strings[int(v)]
            return _cell_value(kind, style, _xml_text(v.decode()), None, None, strings, dates, formulas)
        node = fromstring(b'<c xmlns="' + _MAIN[1:-1].encode() + b'">' + body + b"</c>")
        v_node, is_node, f_node = node.find(_V), node.find(_IS), node.find(_F)
        return _cell_value(kind, style, v_node.text if v_node is not None else None, is_node,
                           (f_node.text or "") if f_node is not None else None, strings, dates, formulas)

    # A cell with content: its column, row, other attributes, then a plain inline string,
    # a plain value, or any other content (rich text, formulas) for the XML parser. Empty
    # cells (<c .../> or <c ...></c>) do not match: they read as None.
    cell = (rb'"([^>]*)(?<!/)>(?:<is>(<t(?: xml:space="preserve")?>)([^<]*)</t></is>|<v>([^<]*)</v>'
            rb"|(<(?!/c>).*?))</c>")
    table: list[list[object]] = [[None] * max_row for _ in range(max_col)]
    letters = "[A-Z]{1,3}"
    if columns is not None and max_row:
        # Row 1 names the columns: read it whole, then only the wanted columns of the others.
        first = re.compile(rb'<c r="([A-Z]{1,3})1' + cell, re.S)
        for col, *found in first.findall(data, begin, data.find(b"</row>", begin)):
            if _column(col.decode()) <= max_col:
                table[_column(col.decode()) - 1][0] = value(*found)
        wanted = {match_key(v) for v in columns}
        letters = "|".join(column_letters(i) for i, column in enumerate(table, start=1)
                           if column[0] is not None and match_key(column[0]) in wanted) or "(?!)"
    pattern = re.compile(rb'<c r="(' + letters.encode() + rb')([0-9]+)' + cell, re.S)
    cells = pattern.findall(data, begin, end)
    if not cells:
        return table
    # A million cells at 1,000 interviews: each step below runs over all of them at once,
    # in C, rather than cell by cell in Python.
    refs, numbers, attrs, opened, inline = (list(map(itemgetter(k), cells)) for k in range(5))
    plain = {a for a in set(attrs) if kind_of(a)[0] == "inlineStr"}
    # The usual cell is a plain inline string (what qda and openpyxl write): the texts of
    # all cells are decoded at once, joined by a character of Unicode's private use area.
    joined = _SEPARATOR.join(inline)
    try:
        if b"&" in joined or b"\r" in joined:
            # Character references (openpyxl writes every accent as one) or carriage returns:
            # the XML parser reads them all as one text, far faster than text by text.
            texts = (fromstring(b"<x>" + joined + b"</x>").text or "").split(_SEPARATOR_TEXT)
        else:
            texts = joined.decode().split(_SEPARATOR_TEXT)
    except SyntaxError:  # a character XML forbids: the texts without references are read as they are
        texts = []
    values: list[object] = list(texts)
    if len(values) != len(inline):  # a text held the separator, or see above
        values = [_xml_text(text.decode()) for text in inline]
    # Every other cell (numbers, shared strings, rich text, formulas) one by one.
    if not all(opened) or len(plain) < len(set(attrs)):
        for i, (kind, is_open) in enumerate(zip(attrs, opened)):
            if not is_open or kind not in plain:
                values[i] = value(*cells[i][2:])
    del cells
    targets: dict[bytes, list[object] | None] = {
        ref: table[_column(ref.decode()) - 1] if _column(ref.decode()) <= max_col else None for ref in set(refs)}
    for ref, r, found in zip(refs, map(int, numbers), values):
        target = targets[ref]
        if target is not None and 0 < r <= max_row:  # beyond the declared size: openpyxl leaves it out
            target[r - 1] = found
    return table


def column_letters(index: int) -> str:
    """A spreadsheet column's letters from its number: 1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_table(path: str | Path, *, sheet: str | None = None, formulas: bool = False,
               columns: Collection[str] | None = None) -> list[list[object]]:
    """Rows of a spreadsheet: the named sheet (else 'Coding', else the first) of an .xlsx, or a
    CSV with ',', ';' or tab.

    ``columns`` (header names) is a hint: the cells of other columns may be read as None.

    CSV files are decoded like transcripts (Excel on Windows often writes cp1252).
    """
    return _read_table(Path(path), sheet, formulas, columns).rows()


def read_table_columns(path: str | Path, *, sheet: str | None = None, formulas: bool = False,
                       columns: Collection[str] | None = None) -> tuple[list[object], list[list[object]]] | None:
    """The table of :func:`read_table` column by column: row 1 as it is, and each column's
    cells in the rows below it (None where a row is shorter); None when the table has no row.

    Faster than the rows for a large sheet: the xlsx reader finds the cells column by column.
    """
    return _read_table(Path(path), sheet, formulas, columns).columns()


def _read_table(path: Path, sheet: str | None, formulas: bool, columns: Collection[str] | None) -> _Table:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        read_bytes(path)
        check_zip(path)  # before any reader inflates it: a zip bomb is refused up front
        fast = _xlsx_table(path, sheet, formulas, columns)
        if fast is not None:
            return fast
        # A damaged workbook fails inside openpyxl, while opening or (read-only mode
        # streams) while reading rows, with whatever zipfile, zlib or the XML parser raised.
        from openpyxl import load_workbook

        damaged = (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, zlib.error, TypeError,
                   IndexError, AttributeError, NotImplementedError, RuntimeError, SyntaxError)
        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except damaged as exc:
            raise _damaged_xlsx(path, exc) from None
        try:
            if sheet is not None and sheet not in wb.sheetnames:
                raise IngestError(f"{path}: no sheet named '{sheet}' (sheets: {', '.join(wb.sheetnames)})")
            chosen = wb[sheet] if sheet else wb["Coding"] if "Coding" in wb.sheetnames else wb.worksheets[0]
            claimed = (chosen.max_row or 0) * (chosen.max_column or 0)
            if claimed > 64 * path.stat().st_size and hasattr(chosen, "reset_dimensions"):
                # a size no file this small can fill (A1:XFD1048576 in a few KB): read the cells present
                chosen.reset_dimensions()
            return _Table(rows=[list(row) for row in chosen.iter_rows(values_only=True)])
        except damaged as exc:
            raise _damaged_xlsx(path, exc) from None
        finally:
            wb.close()
    if suffix in (".csv", ".tsv", ".txt"):
        import csv
        import io

        text, _ = decode_bytes(read_bytes(path), str(path))
        text = normalise_text(text)
        first = text.split("\n", 1)[0]
        delimiter = max(",;\t", key=first.count)
        rows = csv.reader(io.StringIO(text), delimiter=delimiter)
        try:
            return _Table(rows=[list(row) for row in rows])
        except csv.Error as exc:  # e.g. a cell over the csv module's 131,072-character limit
            line = rows.line_num
            raise IngestError(f"{path}:{line}: cannot read this CSV line ({exc})",
                              [Problem(f"{path}:{line}", str(exc),
                                       "a cell this long is usually a quote (\") left open on an earlier line; "
                                       "close it, or save the table as .xlsx")]) from None
    raise IngestError(f"{path}: unsupported table type '{suffix or '(none)'}'",
                      [Problem(str(path), "use .csv or .xlsx")])


def read_ratings(path: str | Path) -> Any:
    """A plain units x coders table (CSV/XLSX; one column per coder) as a DataFrame of labels.

    A first column named unit, units, id, item, segment or case holds unit names and is dropped.
    """
    import pandas as pd

    rows = read_table(Path(path))
    if len(rows) < 2:
        raise AgreementError(f"{path}: the table has no data rows")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    frame = pd.DataFrame([list(r) + [None] * (len(header) - len(r)) for r in rows[1:]], columns=header)
    if header and header[0].lower() in ("unit", "units", "id", "item", "segment", "case"):
        frame = frame.drop(columns=header[0])
    return frame


from qda.ingest import formats as _formats  # noqa: E402,F401  (registers the readers)
