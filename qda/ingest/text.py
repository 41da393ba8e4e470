"""Decoding and normalising transcript text: the bytes of any reader become the stored text."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from contextvars import ContextVar
from dataclasses import dataclass, field

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
REMOVED_CONTROLS: ContextVar[list[int] | None] = ContextVar("qda_removed_controls", default=None)


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
    removed = REMOVED_CONTROLS.get()
    if removed is not None:
        removed.append(len(_CONTROL_RE.findall(text)))
    return text.translate(ZERO_WIDTH).translate(_SPACES)


def match_key(text: object) -> str:
    """``text`` for a forgiving comparison of names and labels: NFC, runs of whitespace as
    one space, no outer spaces, case-folded ("Foires  Commerciales" matches "foires commerciales")."""
    return unicodedata.normalize("NFC", " ".join(str(text).split())).casefold()
