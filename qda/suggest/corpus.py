"""What the suggester reads of a project: every segment as terms, and a coder's codings as labels.

Nothing here runs a language pipeline: the terms are the lower-cased lemmas stored at import
(for English, the lower-cased words by default: see :data:`ENGLISH_TERMS`), cut at each
segment's offsets. A segment is positive for
a code when one of the coder's counting codings applies to it (:data:`qda.models.SEGMENT_RULE`);
the segments of documents the coder never coded are unknown, not negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from qda.errors import SuggestError
from qda.models import ReviewAction, coding_segment_pairs, counting_statuses, segment_ref
from qda.storage import ProjectReads

#: Field separator inside one segment's feature text (see :class:`qda.suggest.learn.Terms`).
FIELD = "\x1e"

#: The language code whose documents' terms are chosen by the ``english_terms`` setting.
ENGLISH = "en"

#: What an English document's terms are: each token's lower-cased form (``lower`` in the tokens
#: table) or its lemma from spaCy's lookup table (``lemma``). Documents in other languages are
#: read as their lemmas either way (see ``english_terms`` in :data:`qda.suggest.learn.DEFAULTS`).
ENGLISH_TERMS = ("words", "lemmas")


@dataclass(frozen=True)
class Corpus:
    """Every segment of a project, in document then reading order, as the suggester reads it.

    ``texts[i]`` is the segment's feature text: its terms, the previous segment's terms (in
    the same document) and the speaker's role, separated by :data:`FIELD`.
    """

    ordinals: np.ndarray  # each segment's ordinal in its document (its ref: ``document#ordinal``)
    ids: np.ndarray  # the segments' row ids (what ProjectStorage.coding_columns gives as ``segment``)
    document: np.ndarray  # index into ``documents``
    documents: list[str]
    cases: list[str]  # per document
    starts: np.ndarray
    ends: np.ndarray
    roles: list[str | None]
    words: list[str]  # the segment's terms joined by spaces
    # the languages of the documents whose terms were read (none when read without terms): whether
    # the english_terms choice made any difference to this corpus
    languages: frozenset[str] = frozenset()

    @cached_property
    def texts(self) -> list[str]:
        """The feature texts, made when first asked for: the features come from the term counts
        (:mod:`qda.suggest.counts`), which need the words only."""
        return texts_from(self.words, self.document.tolist(), self.roles) if self.words else []

    @cached_property
    def refs(self) -> list[str]:
        """Each segment's ref, made when first asked for (a run from the score cache needs none)."""
        names = self.documents
        return [segment_ref(names[d], o) for d, o in zip(self.document.tolist(), self.ordinals.tolist())]

    def __len__(self) -> int:
        return len(self.ids)

    def position(self) -> dict[str, int]:
        """Segment ref -> position."""
        return {ref: i for i, ref in enumerate(self.refs)}


def feature_text(words: str, previous: str, role: str | None, *, following: str = "",
                 previous_role: str | None = None, other: str = "") -> str:
    """One segment's feature text (what :class:`qda.suggest.learn.Terms` splits): its terms, the
    previous segment's, its speaker's role, the next segment's terms, the previous segment's role
    and the terms of the last segment of the previous speaker's turn (when the roles change)."""
    return FIELD.join((words, previous, role or "", following, previous_role or "", other))


def texts_from(words: Sequence[str], document: Sequence[int], roles: Sequence[str | None]) -> list[str]:
    """Feature texts of segments given in reading order (a document's first segment has no previous
    one, its last no next one)."""
    out: list[str] = []
    other = ""  # the last segment of the latest turn by another role, in this document
    for i, w in enumerate(words):
        same_before = bool(i) and document[i - 1] == document[i]
        same_after = i + 1 < len(words) and document[i + 1] == document[i]
        if not same_before:
            other = ""
        elif roles[i - 1] != roles[i]:
            other = words[i - 1]
        out.append(feature_text(w, words[i - 1] if same_before else "", roles[i],
                                following=words[i + 1] if same_after else "",
                                previous_role=(roles[i - 1] or "") if same_before else "<start>", other=other))
    return out


def _segment_words(text: str, seg_starts: np.ndarray, seg_ends: np.ndarray, tok_starts: np.ndarray,
                   terms: Sequence[str]) -> list[str]:
    """The terms of the tokens starting inside each segment, joined by spaces."""
    if not len(tok_starts):
        return [text[s:e].lower() for s, e in zip(seg_starts.tolist(), seg_ends.tolist())]
    first = np.searchsorted(tok_starts, seg_starts, side="left")
    last = np.searchsorted(tok_starts, seg_ends, side="left")
    return [" ".join(terms[a:b]) for a, b in zip(first.tolist(), last.tolist())]


def check_english_terms(english_terms: str) -> str:
    """``english_terms`` if it is one of :data:`ENGLISH_TERMS`, else a SuggestError naming them."""
    if english_terms not in ENGLISH_TERMS:
        raise SuggestError(f"unknown english_terms '{english_terms}' (known: {', '.join(ENGLISH_TERMS)})")
    return english_terms


def load_corpus(store: ProjectReads, terms: bool = True, *, english_terms: str = "words") -> Corpus:
    """Every segment of the project with its terms, from the tokens stored at import
    (``terms=False``: without them, ``words`` and ``texts`` empty, for what needs the segments only).

    ``english_terms``: an English document's terms are its tokens' lower-cased forms ("words")
    or their lemmas ("lemmas"); every other language's are its lemmas."""
    words_of_english = check_english_terms(english_terms) == "words"
    columns = store.segment_columns()
    # the rows come document by document: a document starts where the name changes
    of_row = columns["document"]
    starts_doc = np.flatnonzero(np.fromiter((a != b for a, b in zip(of_row, of_row[1:])), dtype=bool,
                                            count=max(len(of_row) - 1, 0))) + 1
    firsts = [0, *starts_doc.tolist()] if of_row else []
    names = [of_row[i] for i in firsts]
    document = np.zeros(len(of_row), dtype=np.int64)
    document[starts_doc] = 1
    document = np.cumsum(document)
    case_of = {d.name: d.case for d in store.documents()}
    starts = np.asarray(columns["start"], dtype=np.int64)
    ends = np.asarray(columns["end"], dtype=np.int64)
    words: list[str] = [""] * len(starts)
    bounds = np.flatnonzero(np.diff(document, prepend=-1, append=-1))  # each document's first row, then the end
    rows = {names[document[a]]: (int(a), int(b)) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())}
    languages: set[str] = set()
    for name, language, text, tok_starts, _ends, lower, lemma in store.tokens() if terms else ():
        if name not in rows:
            continue
        a, b = rows[name]
        languages.add(language)
        # the lower-cased forms are stored lower-cased (spaCy's LOWER); the lemmas keep spaCy's case
        chosen = lower if language == ENGLISH and words_of_english else (
            "\x1f".join(lemma).lower().split("\x1f") if lemma else [])
        words[a:b] = _segment_words(text, starts[a:b], ends[a:b], np.frombuffer(tok_starts, dtype=np.int32), chosen)
    roles = list(columns["role"])
    return Corpus(np.asarray(columns["ordinal"], dtype=np.int64), np.asarray(columns["id"], dtype=np.int64),
                  document, names,
                  [case_of.get(n, "") for n in names], starts, ends, roles, words if terms else [],
                  frozenset(languages))


@dataclass(frozen=True)
class Labels:
    """A coder's codings at segment level: which segments are known (in a document the coder
    coded) and, per code, which of them are positive."""

    coder: str
    known: np.ndarray  # bool per corpus position
    positive: dict[str, np.ndarray]  # code -> bool per corpus position
    # code -> bool per corpus position: suggestions of the code the coder rejected in the review
    # queue (or recoded as another code), known to be negative for that code only
    negative: dict[str, np.ndarray] = field(default_factory=dict)

    def pairs(self, corpus: Corpus) -> list[tuple[str, str]]:
        """(segment ref, code) of every positive, sorted, then ("-" + ref, code) of every reviewed
        negative: what the model id hashes (a rejection changes the training data)."""
        return sorted((corpus.refs[i], code) for code, mask in self.positive.items()
                      for i in np.flatnonzero(mask).tolist()) + sorted(
            ("-" + corpus.refs[i], code) for code, mask in self.negative.items() for i in np.flatnonzero(mask).tolist())

    def reviewed(self) -> np.ndarray:
        """Bool per corpus position: a negative of some code from the review queue."""
        out = np.zeros(len(self.known), dtype=bool)
        for mask in self.negative.values():
            out |= mask
        return out

    def rows_for(self, code: str, positions: np.ndarray) -> np.ndarray:
        """Of the corpus ``positions`` a model trains on, which ones are labelled for ``code``:
        the known segments and this code's reviewed negatives (bool per given position)."""
        rows: np.ndarray = self.known[positions].copy()
        if code in self.negative:
            rows |= self.negative[code][positions]
        return rows


def segment_labels(store: ProjectReads, corpus: Corpus, coder: str, *, codes: Iterable[str] | None = None) -> Labels:
    """The coder's counting codings as segment labels (a span coding labels every segment it applies to)."""
    columns = store.coding_columns(coder, counting_statuses(coder_named=True))
    wanted = set(codes) if codes is not None else None
    size = int(max(corpus.ids.max(initial=-1), max(columns["segment"], default=-1))) + 1
    position = np.full(size, -1, dtype=np.int64)
    position[corpus.ids] = np.arange(len(corpus))
    doc_index = {d: i for i, d in enumerate(corpus.documents)}
    coded_docs = {doc_index[d] for d in columns["document"] if d in doc_index}
    known = np.isin(corpus.document, np.fromiter(coded_docs, dtype=np.int64, count=len(coded_docs)))
    found: list[tuple[str, int]] = []
    loose: dict[str, list[int]] = {}
    for k, (code, doc, seg) in enumerate(zip(columns["code"], columns["document"], columns["segment"])):
        if wanted is not None and code not in wanted:
            continue
        if seg >= 0:
            if seg < size and position[seg] >= 0:
                found.append((code, int(position[seg])))
        else:
            loose.setdefault(doc, []).append(k)
    for doc, rows in loose.items():
        if doc not in doc_index:
            continue
        members = np.flatnonzero(corpus.document == doc_index[doc])
        stored = store.document(doc)
        text = stored.text if stored is not None else ""
        span, seg = coding_segment_pairs(text, [columns["start"][k] for k in rows], [columns["end"][k] for k in rows],
                                         segment_starts=corpus.starts[members], segment_ends=corpus.ends[members])
        found.extend((columns["code"][rows[a]], int(members[b])) for a, b in zip(span.tolist(), seg.tolist()))
    # the positions of each code, in the order its codes are first found (the masks' insertion order as before)
    by_code: dict[str, list[int]] = {}
    for code, at in found:
        by_code.setdefault(code, []).append(at)
    positive: dict[str, np.ndarray] = {}
    for code, positions in by_code.items():
        mask = np.zeros(len(corpus), dtype=bool)
        mask[np.asarray(positions, dtype=np.int64)] = True
        positive[code] = mask
    return Labels(coder, known, positive, reviewed_negatives(store, corpus, coder, wanted=wanted, positive=positive))


def reviewed_negatives(store: ProjectReads, corpus: Corpus, coder: str, *, wanted: set[str] | None,
                       positive: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The suggestions ``coder`` rejected (or recoded) in the review queue, per code, as negatives;
    a segment the coder has since coded with that code stays positive."""
    where = corpus.position()
    negative: dict[str, np.ndarray] = {}
    for review in store.suggest_reviews(reviewer=coder):
        if review.action not in (ReviewAction.REJECT, ReviewAction.RECODE):
            continue
        at = where.get(review.segment)
        if at is None or (wanted is not None and review.code not in wanted):
            continue
        if review.code in positive and positive[review.code][at]:
            continue
        negative.setdefault(review.code, np.zeros(len(corpus), dtype=bool))[at] = True
    return negative


def as_any(value: Any) -> Any:
    """numpy values as plain Python (for JSON)."""
    return value.item() if hasattr(value, "item") else value
