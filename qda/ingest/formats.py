"""Readers for subtitle files (WebVTT, SubRip), OpenDocument text (.odt) and RTF.

Each reader returns a :class:`~qda.ingest.RawTranscript` whose ``text`` is the stored,
normalised text and whose turns are code-point offsets into it.

Subtitle files are rebuilt as one paragraph per speaker turn (``Speaker: text``, or only
the text when nobody is named), paragraphs separated by a blank line; a turn's offsets
cover the text after the label. Cue boundaries are display line breaks, not sentences,
so the cues of a turn are joined with spaces and sentence splitting sees whole
sentences. A turn keeps the start time of its first cue, as written in the file.

Word-processor files (.odt, .rtf) become one line per paragraph, like .docx, and get
their turns from :func:`~qda.ingest.detect_turns`.

PDF is not read: no PDF text library is a dependency of qda.
"""

from __future__ import annotations

import codecs
import html
import io
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from qda.errors import IngestError, Problem
from qda.ingest.readers import MAX_TRANSCRIPT_BYTES, check_zip, read_bytes, reader
from qda.ingest.text import RawTranscript, decode_bytes, normalise_text
from qda.ingest.turns import KNOWN_LABELS, LABEL_RE, detect_turns
from qda.models import Turn

# ============================================================================ subtitles

# Tolerant on purpose: old Teams writes "0:0:-6.-820 --> 0:0:8.970"; the start is kept
# as written, whatever it looks like, rather than dropping the cue's words.
_TIMING_RE = re.compile(r"^[ \t]*(?P<start>\S+?)[ \t]*-->[ \t]*(?P<end>\S+)")
_WELL_FORMED_TIME = re.compile(r"^(?:\d{1,3}:)?\d{2}:\d{2}[.,]\d{3}$")
_VOICE_RE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+(?P<name>[^>\n]*))?>")
_TAG_RE = re.compile(r"<[^>\n]*>")  # <c>, <i>, <00:05:04.199>, </v>, <font ...>
_ASS_TAG_RE = re.compile(r"\{\\[^}\n]*\}")  # SubRip files converted from ASS: {\an8}
# Podcast and broadcast captions mark a change of speaker with "- " or ">>".
_TURN_MARK_RE = re.compile(r"^(?:[-–—][ \t]+|>>+[ \t]*)")
# Teams / OneDrive cue ids: "<guid>/<utterance>-<part>" or "<guid>-<part>"; the parts of
# one utterance share everything before the last "-<part>".
_UTTERANCE_ID_RE = re.compile(r"^(?P<key>[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(?:/\d+)?)-\d+$")
_NON_CUE_BLOCKS = ("NOTE", "STYLE", "REGION")


@dataclass
class _Cue:
    """One subtitle cue: its id, start time as written, and text lines."""

    ident: str | None
    start: str
    lines: list[str] = field(default_factory=list)


@dataclass
class _Piece:
    """A run of text with one speaker, from a cue (a cue with two voices gives two)."""

    speaker: str | None
    lines: list[str]
    timestamp: str
    utterance: str | None
    new_turn: bool = False
    label: str | None = None  # a "Name:" prefix found in the text, accepted or not later


@dataclass
class _Turn:
    """A turn being built from pieces, before the stored text is laid out."""

    speaker: str | None
    timestamp: str
    utterance: str | None
    texts: list[str] = field(default_factory=list)


@reader(".vtt", ".webvtt")
def read_vtt(path: Path) -> RawTranscript:
    """WebVTT captions (Teams, Zoom, OneDrive, YouTube): speakers from ``<v Name>`` or ``Name:``.

    A file without the ``WEBVTT`` first line is still read when it has cues (it is
    usually a SubRip file renamed), with a note saying so.
    """
    return _read_subtitles(path, webvtt=True)


@reader(".srt")
def read_srt(path: Path) -> RawTranscript:
    """SubRip subtitles: numbered cues; speakers from ``Name:`` prefixes when present."""
    return _read_subtitles(path, webvtt=False)


def _read_subtitles(path: Path, webvtt: bool) -> RawTranscript:
    """Shared by .vtt and .srt: the two differ only in their header and decimal comma."""
    raw, encoding = decode_bytes(read_bytes(path), str(path))
    text = normalise_text(raw)
    notes: list[str] = [] if encoding.startswith("utf") else [f"decoded as {encoding}"]
    cues, has_header, orphans = _parse_cues(text)
    if not cues:
        kind = "WebVTT" if webvtt else "SubRip"
        raise IngestError(f"{path}: no subtitle cues found",
                          [Problem(str(path), f"a {kind} file needs timing lines such as "
                                   "'00:00:01.000 --> 00:00:04.000' followed by the cue text",
                                   "check the file is a caption export, or save the transcript as .txt")])
    if webvtt and not has_header:
        notes.append("no WEBVTT first line; read as cues anyway")
    bad_times = sum(1 for cue in cues if not _WELL_FORMED_TIME.match(cue.start))
    if bad_times:
        notes.append(f"{bad_times} cue(s) with malformed start times, kept as written")
    if orphans:
        notes.append(f"{orphans} text block(s) without a timing line joined to the cue before them")
    rolling = any(re.search(r"<\d{1,2}:\d{2}(?::\d{2})?[.,]\d+>", line) for cue in cues for line in cue.lines) \
        or bool(re.match(r"WEBVTT[^\n]*\n(?:[^\n]+\n)*?Kind:[ \t]*captions", text))
    pieces, repeats = _pieces(cues, rolling)
    if repeats:
        notes.append(f"{repeats} repeated caption line(s) of rolling captions removed")
    stored, turns = _assemble(_merge(pieces))
    return RawTranscript(stored, turns, encoding, tuple(notes))


def _parse_cues(text: str) -> tuple[list[_Cue], bool, int]:
    """Split subtitle text into cues, following the WebVTT parser's rules where it matters.

    Returns the cues, whether a ``WEBVTT`` header was found, and how many stray text
    blocks (text after a blank line inside a cue) were joined to the cue before them.
    """
    lines = text.split("\n")
    count = len(lines)
    i = 0
    has_header = bool(lines) and lines[0].startswith("WEBVTT")
    if has_header:
        # The header block (Kind:, Language:, Style: ...) runs to the first blank line.
        i = 1
        while i < count and lines[i].strip() and "-->" not in lines[i]:
            i += 1
    cues: list[_Cue] = []
    orphans = 0
    while i < count:
        if not lines[i].strip():
            i += 1
            continue
        first = lines[i].strip()
        if "-->" in first:
            ident, timing, i = None, first, i + 1
        elif i + 1 < count and "-->" in lines[i + 1] and not first.startswith(_NON_CUE_BLOCKS):
            ident, timing, i = first, lines[i + 1].strip(), i + 2
        else:
            # NOTE / STYLE / REGION blocks are skipped; other stray text belongs to the cue
            # before it (an exporter that let a blank line into a cue's text).
            block: list[str] = []
            while i < count and lines[i].strip() and "-->" not in lines[i]:
                block.append(lines[i])
                i += 1
            if not first.startswith(_NON_CUE_BLOCKS) and cues:
                cues[-1].lines.extend(block)
                orphans += 1
            continue
        match = _TIMING_RE.match(timing)
        cue = _Cue(ident, match.group("start") if match else timing.split("-->")[0].strip())
        # Cue text runs to a blank line, or to a line with "-->" (the next cue's timing,
        # as YouTube writes them with no blank line between).
        while i < count and lines[i].strip() and "-->" not in lines[i]:
            cue.lines.append(lines[i])
            i += 1
        if i < count and "-->" in lines[i] and cue.lines and cue.lines[-1].strip().isdigit():
            # The SubRip number of the next cue, written with no blank line before it:
            # read it again as that cue's id.
            cue.lines.pop()
            i -= 1
        cues.append(cue)
    return cues, has_header, orphans


def _clean(line: str) -> str:
    """Caption markup removed: tags, ASS overrides, HTML entities; spaces collapsed."""
    line = _ASS_TAG_RE.sub("", _TAG_RE.sub("", line))
    return re.sub(r"\s+", " ", html.unescape(line)).strip()


def _pieces(cues: list[_Cue], rolling: bool) -> tuple[list[_Piece], int]:
    """Cues as speaker pieces, with rolling repeats dropped and ``Name:`` prefixes resolved."""
    pieces: list[_Piece] = []
    repeats = 0
    previous_last = ""
    for cue in cues:
        match = _UTTERANCE_ID_RE.match(cue.ident or "")
        utterance = match.group("key") if match else None
        raw = "\n".join(cue.lines)
        # One piece per voice span; text before the first <v> has no voice.
        voices = list(_VOICE_RE.finditer(raw))
        spans: list[tuple[str | None, str]] = []
        if not voices or voices[0].start() > 0:
            spans.append((None, raw[:voices[0].start()] if voices else raw))
        for index, voice in enumerate(voices):
            end = voices[index + 1].start() if index + 1 < len(voices) else len(raw)
            spans.append(((voice.group("name") or "").strip() or None, raw[voice.end():end]))
        cleaned = [(speaker, [_clean(line) for line in chunk.split("\n")]) for speaker, chunk in spans]
        cleaned = [(speaker, [line for line in chunk if line]) for speaker, chunk in cleaned]
        if rolling:
            # YouTube auto-captions show two lines and scroll: each cue repeats the line
            # the previous cue ended with.
            last = next((chunk[-1] for _, chunk in reversed(cleaned) if chunk), "")
            if cleaned and cleaned[0][1] and cleaned[0][1][0] == previous_last:
                cleaned[0][1].pop(0)
                repeats += 1
            previous_last = last or previous_last
        for speaker, chunk in cleaned:
            pieces.extend(_split_marks(speaker, chunk, cue.start, utterance))
    _resolve_labels(pieces)
    return pieces, repeats


def _split_marks(speaker: str | None, lines: list[str], timestamp: str, utterance: str | None) -> list[_Piece]:
    """Split a voiceless chunk where a line starts with ``- `` or ``>>`` (a new speaker)."""
    if speaker is not None:
        return [_Piece(speaker, lines, timestamp, utterance)] if lines else []
    pieces: list[_Piece] = []
    for line in lines:
        mark = _TURN_MARK_RE.match(line)
        if mark or not pieces:
            body = line[mark.end():] if mark else line
            pieces.append(_Piece(None, [body], timestamp, utterance, new_turn=bool(mark)))
        else:
            pieces[-1].lines.append(line)
    for piece in pieces:
        label = LABEL_RE.match(piece.lines[0])
        if label and len(label.group("speaker")) <= 40:
            piece.label = label.group("speaker").strip()
    return pieces


def _resolve_labels(pieces: list[_Piece]) -> None:
    """Accept ``Name:`` prefixes that recur or are interview roles, as detect_turns does.

    A one-off "Note: ..." in a caption stays text; Zoom's "Jane Doe: ..." on every cue
    becomes the speaker. When most cues carry a prefix, the file labels every cue, so a
    participant who spoke only once is a speaker too.
    """
    counts = Counter(piece.label for piece in pieces if piece.label)
    labelled_file = sum(counts.values()) * 2 >= len(pieces)
    for piece in pieces:
        name = piece.label
        if name and (labelled_file or counts[name] >= 2 or name.lower() in KNOWN_LABELS):
            match = LABEL_RE.match(piece.lines[0])
            assert match is not None  # the label was found on this very line
            piece.speaker = name
            piece.lines[0] = piece.lines[0][match.end():]


def _merge(pieces: list[_Piece]) -> list[_Turn]:
    """Consecutive pieces of the same speaker form one turn.

    Without speakers, Teams / OneDrive utterance ids (the cue id before its last
    ``-n``) still separate utterances, and ``- `` marks start a new turn.
    """
    turns: list[_Turn] = []
    for piece in pieces:
        body = " ".join(line for line in piece.lines if line).strip()
        if not body:
            continue
        current = turns[-1] if turns else None
        same = (current is not None and not piece.new_turn and piece.speaker == current.speaker
                and (piece.speaker is not None or piece.utterance is None or current.utterance is None
                     or piece.utterance == current.utterance))
        if same and current is not None:
            current.texts.append(body)
            current.utterance = piece.utterance
        else:
            turns.append(_Turn(piece.speaker, piece.timestamp, piece.utterance, [body]))
    return turns


def _assemble(turns: list[_Turn]) -> tuple[str, tuple[Turn, ...]]:
    """The stored text (``Speaker: text`` paragraphs) and turns pointing after the labels."""
    parts: list[str] = []
    found: list[Turn] = []
    position = 0
    for turn in turns:
        label = f"{turn.speaker}: " if turn.speaker else ""
        body = " ".join(turn.texts)
        if parts:
            position += 2  # the blank line between paragraphs
        start = position + len(label)
        found.append(Turn(start, start + len(body), turn.speaker, turn.timestamp))
        parts.append(label + body)
        position = start + len(body)
    return "\n\n".join(parts), tuple(found)


# ============================================================================ OpenDocument

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_T = f"{{{_TEXT_NS}}}"
# Containers whose paragraphs are body text; tables are left out, as for .docx (they
# hold metadata such as interview details, not the conversation).
_ODF_CONTAINERS = {f"{_T}list", f"{_T}list-item", f"{_T}list-header", f"{_T}section"}
# Inline elements whose content is not the paragraph's own text.
_ODF_SKIPPED_INLINE = {f"{_T}note", f"{{{_OFFICE_NS}}}annotation", f"{_T}ruby-text", f"{_T}tracked-changes"}
_ODF_MAX_CONTENT = 200 * 1024 * 1024  # content.xml larger than this is not a transcript


@reader(".odt")
def read_odt(path: Path) -> RawTranscript:
    """OpenDocument text (LibreOffice): body paragraphs and headings, one per line."""
    data = read_bytes(path)
    check_zip(path)

    def damaged(reason: str) -> IngestError:
        kind = "a damaged .odt file" if data.startswith(b"PK") else "not an OpenDocument .odt file"
        return IngestError(f"{path}: {kind} ({reason})",
                           [Problem(str(path), "cannot open the document",
                                    "open it in LibreOffice and save it again as .odt, or export it as .txt")])

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("content.xml")
            if info.file_size > _ODF_MAX_CONTENT:
                raise damaged("content.xml is implausibly large")
            content = archive.read(info)
    except zipfile.BadZipFile:
        raise damaged("not a zip archive") from None
    except KeyError:
        raise damaged("no content.xml inside") from None
    except (OSError, RuntimeError, NotImplementedError, zipfile.LargeZipFile, zlib.error, EOFError, ValueError) as exc:
        # RuntimeError: encrypted entry; NotImplementedError: unknown compression; zlib: damaged data;
        # ValueError: a damaged directory (negative seek)
        raise damaged(exc.__class__.__name__) from None
    try:
        root = fromstring(content)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise damaged(f"content.xml is not readable XML: {exc.__class__.__name__}; "
                      "password-protected files cannot be read") from None
    body = root.find(f"{{{_OFFICE_NS}}}body/{{{_OFFICE_NS}}}text")
    if body is None:
        raise IngestError(f"{path}: not a text document (no text body: a spreadsheet or a presentation?)",
                          [Problem(str(path), "only OpenDocument text files (.odt) are transcripts",
                                   "save the transcript from LibreOffice Writer, or export it as .txt")])
    paragraphs: list[str] = []
    _odf_blocks(body, paragraphs)
    text = normalise_text("\n".join(paragraphs)).strip("\n")
    return RawTranscript(text, detect_turns(text), "odt")


def _odf_blocks(element: Element, out: list[str]) -> None:
    """Paragraphs and headings in document order, descending into lists and sections."""
    for child in element:
        if child.tag in (f"{_T}p", f"{_T}h"):
            out.append(_odf_inline(child))
        elif child.tag in _ODF_CONTAINERS:
            _odf_blocks(child, out)


def _odf_inline(element: Element) -> str:
    """A paragraph's text: spans, links; ``text:s``, ``text:tab``, ``text:line-break``."""
    # ODF collapses runs of white space in the XML text; real extra spaces are text:s.
    parts = [re.sub(r"[ \t\r\n]+", " ", element.text or "")]
    for child in element:
        tag = child.tag
        if tag == f"{_T}s":
            parts.append(" " * _space_count(child.get(f"{_T}c")))
        elif tag == f"{_T}tab":
            parts.append("\t")
        elif tag == f"{_T}line-break":
            parts.append("\n")
        elif tag in _ODF_SKIPPED_INLINE or not tag.startswith(_T):
            pass  # footnotes, comments, frames and drawings: not the spoken text
        else:
            parts.append(_odf_inline(child))
        parts.append(re.sub(r"[ \t\r\n]+", " ", child.tail or ""))
    return "".join(parts)


def _space_count(value: str | None) -> int:
    """``text:c`` of a ``text:s`` element: how many spaces (1 when absent or unreadable)."""
    try:
        return min(max(int(value or 1), 1), 1000)
    except ValueError:
        return 1


# ============================================================================ RTF

_RTF_TOKEN = re.compile(
    r"\\(?P<word>[a-zA-Z]{1,32})(?P<arg>-?\d{1,10})? ?"
    r"|\\'(?P<hex>[0-9a-fA-F]{2})"
    r"|\\(?P<symbol>[^a-zA-Z])"
    r"|(?P<brace>[{}])"
    r"|(?P<newline>[\r\n]+)"
    r"|(?P<text>[^\\{}\r\n]+)"
    r"|(?P<stray>\\)", re.DOTALL)

# Groups whose text is not document text (tables of fonts, styles, metadata, pictures,
# headers and footers, field instructions, list numbers).
_RTF_SKIPPED = {
    "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "objdata", "header", "headerl",
    "headerr", "headerf", "footer", "footerl", "footerr", "footerf", "footnote", "annotation", "atnid",
    "atnauthor", "fldinst", "themedata", "colorschememapping", "latentstyles", "datastore", "xmlnstbl",
    "rsidtbl", "listtable", "listoverridetable", "generator", "filetbl", "revtbl", "pntext", "pntxta",
    "pntxtb", "listtext", "shppict", "nonshppict", "xe", "tc", "txe", "template", "author", "operator",
    "title", "subject", "keywords", "comment", "doccomm", "company", "userprops", "pgdsctbl", "mmathpr",
}
_RTF_CHARS = {
    "par": "\n", "line": "\n", "sect": "\n", "page": "\n", "row": "\n", "tab": "\t", "cell": "\t",
    "emdash": "—", "endash": "–", "bullet": "•", "lquote": "‘", "rquote": "’", "ldblquote": "“",
    "rdblquote": "”", "emspace": " ", "enspace": " ", "qmspace": " ",
}
_RTF_SYMBOLS = {"\\": "\\", "{": "{", "}": "}", "~": "\u00a0", "_": "\u2011", "\n": "\n", "\r": "\n"}
_RTF_CHARSETS = {"ansi": "cp1252", "mac": "mac_roman", "pc": "cp437", "pca": "cp850"}


@reader(".rtf")
def read_rtf(path: Path) -> RawTranscript:
    """Rich Text Format (WordPad, TextEdit, older Word): paragraphs as lines."""
    data = read_bytes(path)
    if not data.lstrip().startswith(b"{\\rtf"):
        raise IngestError(f"{path}: not an RTF file (it does not start with '{{\\rtf')",
                          [Problem(str(path), "the file is not Rich Text Format",
                                   "open it in a word processor and save it as .rtf, .docx or .txt")])
    raw, codepage, balanced = _rtf_to_text(data.decode("latin-1"))
    lines = [line.rstrip() for line in normalise_text(raw).split("\n")]
    text = "\n".join(lines).strip("\n")
    notes = []
    if codepage != "cp1252":
        notes.append(f"RTF code page {codepage}")
    if not balanced:
        notes.append("unbalanced braces (the file may be truncated)")
    return RawTranscript(text, detect_turns(text), "rtf", tuple(notes))


def _rtf_to_text(source: str) -> tuple[str, str, bool]:
    """Plain text of an RTF document (``source`` holds one character per byte).

    Returns the text, the code page used for ``\\'hh`` bytes, and whether the braces
    balance. ``\\uN`` characters are followed by ``\\ucN`` fallback characters (default
    one) for readers without Unicode: those are skipped.
    """
    out: list[str] = []
    pending = bytearray()  # bytes from \'hh and 8-bit literals, decoded together (multi-byte code pages)
    codepage = "cp1252"
    stack: list[tuple[bool, int]] = []
    skip, uc = False, 1
    fallback = 0  # fallback characters still to skip after a \uN
    depth_error = False
    position = 0

    def flush() -> None:
        if pending:
            out.append(bytes(pending).decode(codepage, errors="replace"))
            pending.clear()

    while position < len(source):
        match = _RTF_TOKEN.match(source, position)
        assert match is not None  # the last alternatives match any character
        position = match.end()
        kind = match.lastgroup
        if kind == "brace":
            fallback = 0
            if match.group("brace") == "{":
                stack.append((skip, uc))
                if source.startswith("\\*", position):
                    skip = True  # {\*\destination ...}: unknown to us by definition
            elif stack:
                skip, uc = stack.pop()
            else:
                depth_error = True
            continue
        if kind == "newline":
            continue  # raw line ends in RTF source are not text
        if kind == "text":
            value = match.group("text")
            if fallback:
                dropped = min(fallback, len(value))
                fallback -= dropped
                value = value[dropped:]
            if not skip and value:
                pending.extend(value.encode("latin-1"))
            continue
        if fallback:  # a control word, a symbol or a \'hh counts as one fallback character
            fallback -= 1
            continue
        if kind == "hex":
            if not skip:
                pending.extend(bytes([int(match.group("hex"), 16)]))
            continue
        if kind == "symbol":
            symbol = match.group("symbol")
            if symbol == "*":
                skip = True
            elif not skip and symbol in _RTF_SYMBOLS:
                flush()
                out.append(_RTF_SYMBOLS[symbol])
            continue
        if kind == "stray":
            continue
        word, arg = match.group("word"), match.group("arg")
        if word in _RTF_SKIPPED:
            skip = True
        elif word == "bin" and arg:
            position += max(0, int(arg))  # binary data, e.g. inside a picture
        elif word == "uc" and arg is not None:
            uc = max(0, int(arg))
        elif word == "ansicpg" and arg:
            codepage = _codepage(f"cp{arg}", codepage)
        elif word in _RTF_CHARSETS:
            codepage = _RTF_CHARSETS[word]
        elif skip:
            continue
        elif word == "u" and arg is not None:
            flush()
            value = int(arg)
            out.append(chr(value + 65536 if value < 0 else value))
            fallback = uc
        elif word in _RTF_CHARS:
            flush()
            out.append(_RTF_CHARS[word])
    flush()
    # \uN may encode UTF-16 surrogate pairs (emoji): join them into real characters.
    text = "".join(out).encode("utf-16-le", "surrogatepass").decode("utf-16-le", errors="replace")
    return text, codepage, not stack and not depth_error


def _codepage(name: str, default: str) -> str:
    """A Python codec for an RTF code page, or ``default`` when Python does not know it."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return default


# ----------------------------------------------------------------------------- PDF

# A page of transcript draws its text with a few kilobytes of instructions. A PDF whose
# pages inflate to tens of megabytes each (a small file can hold 30 x 70 MB of compressed
# instructions) would keep pypdf busy for many minutes before any limit on the text could
# be checked, so the instructions are measured page by page, before the text is extracted.
MAX_PDF_PAGE_BYTES = 8 * 1024 ** 2
MAX_PDF_CONTENT_BYTES = 64 * 1024 ** 2


def _pdf_pages(path: Path, pdf: Any) -> list[str]:
    """The text of each page; refused as soon as a page or the whole draws too much or holds too much text."""
    pages: list[str] = []
    drawn = text_size = 0
    for number, page in enumerate(pdf.pages, start=1):
        contents = page.get_contents()
        size = len(contents.get_data()) if contents is not None else 0
        drawn += size
        if size > MAX_PDF_PAGE_BYTES or drawn > MAX_PDF_CONTENT_BYTES:
            what = (f"page {number} holds {size / 1024 ** 2:.0f} MB of drawing instructions"
                    if size > MAX_PDF_PAGE_BYTES else
                    f"pages 1-{number} hold {drawn / 1024 ** 2:.0f} MB of drawing instructions")
            raise IngestError(f"{path}: refused: {what}, far more than a page of text needs "
                              f"(at most {MAX_PDF_PAGE_BYTES // 1024 ** 2} MB a page, "
                              f"{MAX_PDF_CONTENT_BYTES // 1024 ** 2} MB in all)",
                              [Problem(f"{path}: page {number}", "not a text transcript, or a damaged one",
                                       "export the transcript as .docx or .txt")])
        text = page.extract_text() or ""
        text_size += len(text)
        if text_size > MAX_TRANSCRIPT_BYTES:
            limit = MAX_TRANSCRIPT_BYTES // 1024 ** 2
            raise IngestError(f"{path}: refused: the text of pages 1-{number} is over the limit of {limit} MB "
                              "for one transcript",
                              [Problem(f"{path}: page {number}", f"a transcript holds at most {limit} MB",
                                       "split it into several files and import them together")])
        pages.append(text)
    return pages


@reader(".pdf")
def read_pdf(path: Path) -> RawTranscript:
    """Text-based PDF (the text layer, page by page); scanned PDFs are refused.

    pypdf reads the text layer only; a scanned interview has none, and guessing with OCR
    would silently change what the respondent said, so we ask for a text export instead.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    data = read_bytes(path)
    try:
        pdf = PdfReader(io.BytesIO(data))
        if pdf.is_encrypted:
            raise IngestError(f"{path}: the PDF is password-protected",
                              [Problem(str(path), "cannot read an encrypted PDF",
                                       "export it again without a password")])
        pages = _pdf_pages(path, pdf)
    # PyPdfError covers PdfReadError and LimitReachedError (found by the fuzz tests); a
    # damaged file also fails inside pypdf with zlib, index or attribute errors.
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, zlib.error,
            RecursionError) as exc:
        raise IngestError(f"{path}: a damaged or unreadable PDF ({exc.__class__.__name__})",
                          [Problem(str(path), "cannot read the PDF",
                                   "export the transcript as .docx or .txt")]) from None
    words = sum(len(p.split()) for p in pages)
    if pages and words < 5 * len(pages):
        raise IngestError(f"{path}: this PDF has no text layer (a scanned document?)",
                          [Problem(str(path), f"{words} words found on {len(pages)} page(s)",
                                   "use the original transcript (.docx/.txt) or run OCR yourself and check it")])
    text = normalise_text("\n\n".join(p.strip("\n") for p in pages)).strip("\n")
    return RawTranscript(text, detect_turns(text), "pdf")
