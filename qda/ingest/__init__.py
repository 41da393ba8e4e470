"""Reading transcripts and tables: decoding, normalisation, speaker turns, readers by format.

A reader turns a file into a :class:`RawTranscript` (normalised text plus, for formats
that carry them, speaker turns). Plain-text formats get their turns from
:func:`detect_turns`. :mod:`qda.ingest.segment` then splits turns into sentences.

The package keeps its public names here; the code is in topic modules: :mod:`~qda.ingest.text`
(decoding, normalising), :mod:`~qda.ingest.turns` (speaker labels), :mod:`~qda.ingest.readers`
(the registry, input limits, :func:`read_transcript`), :mod:`~qda.ingest.formats` (one reader per
format), :mod:`~qda.ingest.tables` (CSV/XLSX tables).
"""
from __future__ import annotations

from qda.ingest import formats as _formats  # noqa: F401  (registers the readers)
from qda.ingest.readers import (
    MAX_TRANSCRIPT_BYTES,
    MAX_ZIP_BYTES,
    MAX_ZIP_ENTRIES,
    READERS,
    Reader,
    check_input_file,
    check_zip,
    read_bytes,
    read_docx,
    read_text_file,
    read_transcript,
    reader,
)
from qda.ingest.tables import (
    Formula,
    column_letters,
    read_ratings,
    read_table,
    read_table_columns,
)
from qda.ingest.text import (
    REMOVED_CONTROLS,
    ZERO_WIDTH,
    RawTranscript,
    decode_bytes,
    match_key,
    normalise_text,
)
from qda.ingest.turns import (
    INTERVIEWER_LABELS,
    KNOWN_LABELS,
    LABEL_RE,
    default_role,
    detect_turns,
)

__all__ = [
    "Formula",
    "INTERVIEWER_LABELS",
    "KNOWN_LABELS",
    "LABEL_RE",
    "MAX_TRANSCRIPT_BYTES",
    "MAX_ZIP_BYTES",
    "MAX_ZIP_ENTRIES",
    "READERS",
    "REMOVED_CONTROLS",
    "RawTranscript",
    "Reader",
    "ZERO_WIDTH",
    "check_input_file",
    "check_zip",
    "column_letters",
    "decode_bytes",
    "default_role",
    "detect_turns",
    "match_key",
    "normalise_text",
    "read_bytes",
    "read_docx",
    "read_ratings",
    "read_table",
    "read_table_columns",
    "read_text_file",
    "read_transcript",
    "reader",
]
