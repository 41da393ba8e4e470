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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qda.errors import IngestError, Problem
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

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = {ord(c): " " for c in "\u00a0\u202f\u2007\u2009\u200a\u3000"}


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
    if b"\x00" in data[:4096]:
        raise IngestError(f"{source}: this is not a text file (it contains binary data)",
                          [Problem(source, "binary content", "export the transcript as .txt (UTF-8) or .docx")])
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text, encoding = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    if controls > max(2, len(text) // 200):
        raise IngestError(f"{source}: cannot decode the text (neither UTF-8 nor a Western Windows encoding)",
                          [Problem(source, "undecodable text", "re-save the file as UTF-8 (Save as > Encoding: UTF-8)")])
    return text, encoding


def normalise_text(text: str) -> str:
    """Line ends to LF, Unicode NFC, no zero-width characters, non-breaking spaces as spaces.

    The stored text is this normalised form; every offset in the project points into it.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    return text.translate(_ZERO_WIDTH).translate(_SPACES)


# ----------------------------------------------------------------------------- speaker turns

# A speaker label at the start of a line: optional [timestamp], a short name (letters,
# digits, spaces, dots, apostrophes, hyphens), optional timestamp after the name, then a
# colon (French typography puts a space before it).
_TIMESTAMP = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
_LABEL_RE = re.compile(
    rf"^[ \t]*(?:\[(?P<ts1>{_TIMESTAMP})\][ \t]*|\((?P<ts2>{_TIMESTAMP})\)[ \t]*)?"
    r"(?P<speaker>[^\W\d_][\w'’.\-]*(?:[ \t][\w'’.\-]+){0,3}|[A-Z]\d*)"
    rf"(?:[ \t]*[\[(](?P<ts3>{_TIMESTAMP})[\])])?"
    r"[ \t]*:[ \t]*", re.MULTILINE)

# Labels accepted even when they occur once.
KNOWN_LABELS = {
    "q", "r", "i", "int", "interviewer", "intervieweur", "intervieweuse", "interviewee", "répondant",
    "répondante", "repondant", "repondante", "enquêteur", "enquêtrice", "chercheur", "chercheuse",
    "dirigeant", "dirigeante", "question", "réponse", "answer", "respondent", "moderator", "modérateur",
}


def detect_turns(text: str) -> tuple[Turn, ...]:
    """Find speaker turns from line prefixes such as ``Intervieweur :``, ``Q:``, ``E3 :``,
    ``[00:12:03] Marie:``.

    A candidate label counts as a speaker when it is a known interview role or occurs at
    least twice in the document (so that "Bref : ..." in running prose is not a speaker).
    Lines without a label continue the current turn. Text before the first label is a
    turn without speaker.
    """
    candidates = [m for m in _LABEL_RE.finditer(text) if len(m.group("speaker")) <= 40]
    counts = Counter(m.group("speaker").strip() for m in candidates)
    labels = [m for m in candidates
              if counts[m.group("speaker").strip()] >= 2 or m.group("speaker").strip().lower() in KNOWN_LABELS]
    turns: list[Turn] = []
    position = 0
    current_speaker: str | None = None
    current_ts: str | None = None
    for match in labels:
        if match.start() > position or (turns == [] and match.start() > 0):
            _append_turn(turns, text, position, match.start(), current_speaker, current_ts)
        current_speaker = match.group("speaker").strip()
        current_ts = match.group("ts1") or match.group("ts2") or match.group("ts3")
        position = match.end()
    _append_turn(turns, text, position, len(text), current_speaker, current_ts)
    return tuple(turns)


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


def _read_bytes(path: Path) -> bytes:
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
    raw, encoding = decode_bytes(_read_bytes(path), str(path))
    text = normalise_text(raw)
    notes = () if encoding.startswith("utf") else (f"decoded as {encoding}",)
    return RawTranscript(text, detect_turns(text), encoding, notes)


@reader(".docx")
def read_docx(path: Path) -> RawTranscript:
    """Word documents: body paragraphs (tables, headers and footers are not transcript text)."""
    import docx  # python-docx; imported here so that text-only use stays light
    from docx.opc.exceptions import PackageNotFoundError

    data = _read_bytes(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        kind = "not a Word .docx file" if not data.startswith(b"PK") else "a damaged .docx file"
        raise IngestError(f"{path}: {kind} ({exc.__class__.__name__})",
                          [Problem(str(path), "cannot open the document",
                                   "open it in Word and save it again as .docx, or export it as .txt")]) from None
    paragraphs = [p.text for p in document.paragraphs]
    text = normalise_text("\n".join(paragraphs)).strip("\n")
    return RawTranscript(text, detect_turns(text), "docx")


def read_transcript(path: str | Path) -> RawTranscript:
    """Read any supported transcript file, chosen by its suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    func = READERS.get(suffix)
    if func is None:
        known = ", ".join(sorted(READERS))
        raise IngestError(f"{path}: unsupported file type '{suffix or '(none)'}'",
                          [Problem(str(path), f"supported types: {known}")])
    return func(path)


def read_table(path: str | Path) -> list[list[object]]:
    """Rows of a spreadsheet: first (or 'Coding') sheet of an .xlsx, or a CSV with ',', ';' or tab.

    CSV files are decoded like transcripts (Excel on Windows often writes cp1252).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        _read_bytes(path)
        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise IngestError(f"{path}: not a readable .xlsx file ({exc.__class__.__name__})",
                              [Problem(str(path), "the file is damaged or not an Excel workbook",
                                       "open it in Excel and save it again as .xlsx")]) from None
        try:
            sheet = wb["Coding"] if "Coding" in wb.sheetnames else wb.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            wb.close()
    if suffix in (".csv", ".tsv", ".txt"):
        import csv
        import io

        text, _ = decode_bytes(_read_bytes(path), str(path))
        text = normalise_text(text)
        first = text.split("\n", 1)[0]
        delimiter = max(",;\t", key=first.count)
        return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    raise IngestError(f"{path}: unsupported table type '{suffix or '(none)'}'",
                      [Problem(str(path), "use .csv or .xlsx")])
