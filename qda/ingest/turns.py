"""Speaker turns in plain text: labels such as ``Interviewer:`` or ``[00:12] Anna:``."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from qda.ingest.languages import MARKS
from qda.models import Turn

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
