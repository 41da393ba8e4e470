"""The transcript readers' registry, the limits every input file is checked against, and
:func:`read_transcript`, which picks a reader by suffix (the formats: :mod:`qda.ingest.formats`)."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from qda.errors import IngestError, Problem, QdaError
from qda.ingest.text import REMOVED_CONTROLS, RawTranscript, decode_bytes, normalise_text
from qda.ingest.turns import detect_turns

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
    token = REMOVED_CONTROLS.set([])
    try:
        raw = func(path)
        removed = sum(REMOVED_CONTROLS.get() or [])
    finally:
        REMOVED_CONTROLS.reset(token)
    if len(raw.text) > MAX_TRANSCRIPT_BYTES:  # e.g. a small .docx that inflates
        raise _too_large(path, len(raw.text), "its text holds")
    if removed:
        raw = replace(raw, notes=raw.notes + (
            f"{removed} control character(s) removed (NUL and others no spreadsheet or XML can hold)",))
    return raw
