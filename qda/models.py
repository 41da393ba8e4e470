"""In-memory values shared by every layer (frozen dataclasses).

These carry no behaviour that touches files or the database; the codebook file format
(pydantic) lives in :mod:`qda.codebook`, the SQL in :mod:`qda.store`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any, TypeVar, overload

# ----------------------------------------------------------------------------- vocabularies

class Vocabulary(str, Enum):
    """A closed set of words shared by the core, the store and the CLI's choices.

    Members are strings equal to their value, so JSON, CSV and sqlite see the same words
    as before, and ``f"{member}"`` prints the word (not ``Class.MEMBER``) on every Python.
    """

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    def __hash__(self) -> int:  # equal to its word, so it must hash like it (dict keys, sets)
        return hash(self.value)

    @classmethod
    def words(cls) -> str:
        """The allowed words, for messages: ``"a, b, c"``."""
        return ", ".join(m.value for m in cls)


class AgreementUnit(Vocabulary):
    """What one unit of comparison is when measuring agreement (see qda.agreement.units)."""

    DOCUMENT = "document"
    CASE = "case"
    FREQUENCY = "frequency"
    COVERAGE = "coverage"
    SEGMENT = "segment"
    SPAN = "span"  # agreement on the characters coded: unitizing alpha
    OVERLAP = "overlap"  # the span unit's old name, still accepted


class SegmentUnit(Vocabulary):
    """How transcripts are cut into the segments coders code."""

    SENTENCE = "sentence"
    PARAGRAPH = "paragraph"
    TURN = "turn"


class CodingStatus(Vocabulary):
    """The state of a stored coding; negated and orphaned codings are kept but do not count
    in matrices and agreement."""

    OK = "ok"
    CHANGED = "changed"  # a revision of the transcript edited its text; re-anchored on the new text
    NEGATED = "negated"  # an auto-coded mention under a negation (negation="flag")
    ORPHANED = "orphaned"  # a revision of the transcript lost its text
    SUGGESTED = "suggested"  # proposed by a machine coder (qda suggest); counts only for that coder by name


@dataclass(frozen=True)
class StatusRule:
    """What a coding in one status takes part in: the one counting rule every reader and
    writer asks (matrices, agreement, sheets, exports, adjudication, the workspace)."""

    counts: bool  # in matrices, agreement, frequencies, reports
    in_sheets: bool  # written to coding and adjudication sheets
    exported: bool  # written to REFI-QDA and other exchange files
    adjudicated: bool  # shown to the lead as a coder's coding to compare
    only_when_named: bool = False  # counts only when the analysis names its coder explicitly


STATUS_RULES: dict[str, StatusRule] = {
    CodingStatus.OK: StatusRule(counts=True, in_sheets=True, exported=True, adjudicated=True),
    # re-anchored on edited text: still the coder's judgement on that passage
    CodingStatus.CHANGED: StatusRule(counts=True, in_sheets=True, exported=True, adjudicated=True),
    # kept so the researcher can see what a negation cue suppressed, never counted
    CodingStatus.NEGATED: StatusRule(counts=False, in_sheets=False, exported=False, adjudicated=False),
    # its text is gone from the transcript: nothing to count or show in context
    CodingStatus.ORPHANED: StatusRule(counts=False, in_sheets=False, exported=False, adjudicated=False),
    # a machine's proposal is a coder of its own, never mixed into human figures unasked
    CodingStatus.SUGGESTED: StatusRule(counts=True, in_sheets=True, exported=False, adjudicated=True,
                                       only_when_named=True),
}


def counting_statuses(*, coder_named: bool = False) -> tuple[str, ...]:
    """The statuses whose codings count in an analysis; suggested codings only when the
    analysis names the machine coder explicitly."""
    return tuple(str(s) for s, rule in STATUS_RULES.items()
                 if rule.counts and (coder_named or not rule.only_when_named))


def statuses_where(part: str) -> tuple[str, ...]:
    """The statuses whose codings take part in ``part``: ``"in_sheets"``, ``"exported"`` or
    ``"adjudicated"`` (a field of :class:`StatusRule`; for ``counts`` use
    :func:`counting_statuses`, which knows about codings counted only when named)."""
    if part not in ("in_sheets", "exported", "adjudicated"):
        raise ValueError(f"unknown part of the status rule: {part!r}")
    return tuple(str(s) for s, rule in STATUS_RULES.items() if getattr(rule, part))


def is_counted(coding: Coding, *, coder_named: bool = False) -> bool:
    """Whether ``coding`` counts in an analysis (see :data:`STATUS_RULES`); ``coder_named``
    when the analysis names the coding's coder explicitly. An unknown status never counts."""
    rule = STATUS_RULES.get(coding.status)
    return rule is not None and rule.counts and (coder_named or not rule.only_when_named)


def status_rule_rows() -> list[tuple[str, str, str, str, str]]:
    """The rule as rows of a table (status, counts, in sheets, exported, adjudicated), for the docs."""
    def yes(flag: bool) -> str:
        return "yes" if flag else "no"
    return [(str(status), "only when its coder is named" if rule.counts and rule.only_when_named else yes(rule.counts),
             yes(rule.in_sheets), yes(rule.exported), yes(rule.adjudicated))
            for status, rule in STATUS_RULES.items()]


class NegationMode(Vocabulary):
    """What auto-coding does with a negated mention ("pas de salon")."""

    SKIP = "skip"
    FLAG = "flag"
    IGNORE = "ignore"


class CountMode(Vocabulary):
    """What a matrix cell counts."""

    CASES = "cases"  # cases using the code
    SEGMENTS = "segments"  # coded passages


class OutputFormat(Vocabulary):
    """How a command prints its result."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class CooccurrenceLevel(Vocabulary):
    """Where two codes count as occurring together (``qda matrix cooccur --level``)."""

    CASE = "case"
    DOCUMENT = "document"
    SEGMENT = "segment"
    OVERLAP = "overlap"  # the two codings share characters
    NEAR = "near"  # at most ``near`` segments apart


class WordUnit(Vocabulary):
    """What ``qda words`` counts."""

    WORD = "word"  # as written, lower-cased
    LEMMA = "lemma"


class SearchMode(Vocabulary):
    """How ``qda search`` matches its query."""

    EXACT = "exact"  # whole words
    LEMMA = "lemma"
    REGEX = "regex"


class CodeMatch(Vocabulary):
    """How a retrieval of several codes combines them (``qda retrieve --match``, the
    workspace's retrieval)."""

    ANY = "any"  # OR: passages coded with one of the codes
    ALL = "all"  # AND: the text one coder coded with every one of the codes


class DocumentFormat(Vocabulary):
    """What a coded document is exported as (``qda export document``, the workspace's download)."""

    HTML = "html"
    DOCX = "docx"


class FigureKind(Vocabulary):
    """The figures ``qda figure`` draws (qda.export.figures)."""

    META = "meta"
    SPLIT = "split"
    COOCCUR = "cooccur"
    DENDROGRAM = "dendrogram"
    FREQUENCY = "frequency"


class Similarity(Vocabulary):
    """A co-occurrence coefficient between two codes (``qda figure cooccur --measure``)."""

    JACCARD = "jaccard"
    DICE = "dice"
    OCHIAI = "ochiai"


class FigureSize(Vocabulary):
    """A figure's width: a journal's single (89 mm) or double (183 mm) column."""

    SINGLE = "single"
    DOUBLE = "double"


@dataclass(frozen=True)
class Pattern:
    """A dictionary pattern used by auto-coding.

    kind is ``phrase`` (exact words, case-insensitive), ``lemma`` (matched on lemmas),
    ``regex`` or ``fuzzy`` (approximate, ``threshold`` 0-100).
    """

    value: str
    kind: str = "phrase"
    lang: str | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class AttributeDef:
    """A code attribute and its allowed values (e.g. mode: direct/indirect)."""

    name: str
    values: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Category:
    """A node of the category tree; codes hang under categories."""

    id: str
    labels: dict[str, str]
    parent: str | None = None
    description: str = ""


_HEX_COLOR = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")
_NAMED_COLOR = re.compile(r"[A-Za-z]{3,20}")


def color_problem(value: str) -> str | None:
    """Why ``value`` is not a code colour (``#rrggbb``, ``#rgb`` or a CSS colour name), else None.

    Colours end up in the workspace's style attributes and in exported files: anything
    else (``red;position:fixed``) could restyle the page, so it never gets that far.
    """
    if _HEX_COLOR.fullmatch(value):
        return None
    if _NAMED_COLOR.fullmatch(value):
        from matplotlib.colors import CSS4_COLORS  # the 148 CSS names; only loaded for a named colour

        if value.lower() in CSS4_COLORS:
            return None
        return f"'{value}' is not a CSS colour name"
    return f"'{value}' is not a colour (use #rrggbb, e.g. #0072B2, or a CSS name such as teal)"


@dataclass(frozen=True)
class Code:
    """A code of the codebook, identified by a short id such as ``h``."""

    id: str
    labels: dict[str, str]
    category: str | None = None
    parent: str | None = None
    definition: str = ""
    include: str = ""
    exclude: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    patterns: tuple[Pattern, ...] = ()
    color: str | None = None
    guid: str | None = None
    codable: bool = True

    def label(self, lang: str | None = None) -> str:
        """The label in ``lang``, else the first label given."""
        if lang and self.labels.get(lang):
            return self.labels[lang]
        return next(iter(self.labels.values()), self.id)


_T = TypeVar("_T")


def _grouped(items: Sequence[_T], key: Callable[[_T], str | None]) -> dict[str | None, list[_T]]:
    """Items by key, in their order within each group."""
    groups: dict[str | None, list[_T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


@dataclass(frozen=True)
class Codebook:
    """A validated codebook: categories and codes in codebook order."""

    name: str
    languages: tuple[str, ...]
    attributes: tuple[AttributeDef, ...] = ()
    categories: tuple[Category, ...] = ()
    codes: tuple[Code, ...] = ()
    description: str = ""

    @property
    def default_language(self) -> str | None:
        return self.languages[0] if self.languages else None

    # Indexes built on first use: a linear scan per lookup made `codebook show` quadratic
    # (4 min 45 s on 34,489 codes). cached_property writes to __dict__, which a frozen
    # dataclass allows; the fields, equality and hashing are unchanged.
    @cached_property
    def _code_index(self) -> dict[str, Code]:
        return {c.id: c for c in reversed(self.codes)}  # the first wins, as the scan did

    @cached_property
    def _category_index(self) -> dict[str, Category]:
        return {c.id: c for c in reversed(self.categories)}

    @cached_property
    def _children_index(self) -> dict[str | None, list[Category]]:
        return _grouped(self.categories, lambda c: c.parent)

    @cached_property
    def _codes_index(self) -> dict[str | None, list[Code]]:
        return _grouped(self.codes, lambda c: c.category)

    @cached_property
    def _subcodes_index(self) -> dict[str | None, list[Code]]:
        return _grouped(self.codes, lambda c: c.parent)

    def subcodes(self, code_id: str) -> list[Code]:
        """The codes whose parent is ``code_id`` (codebook order)."""
        return list(self._subcodes_index.get(code_id, ()))

    def code(self, code_id: str) -> Code:
        try:
            return self._code_index[code_id]
        except KeyError:
            raise KeyError(code_id) from None

    def category(self, category_id: str) -> Category:
        try:
            return self._category_index[category_id]
        except KeyError:
            raise KeyError(category_id) from None

    def code_ids(self) -> list[str]:
        return [c.id for c in self.codes]

    def category_label(self, category_id: str, lang: str | None = None) -> str:
        cat = self.category(category_id)
        if lang and cat.labels.get(lang):
            return cat.labels[lang]
        return next(iter(cat.labels.values()), cat.id)

    def category_path(self, category_id: str | None) -> list[str]:
        """Ids from the root category down to ``category_id``."""
        path: list[str] = []
        current = category_id
        while current:
            path.append(current)
            current = self.category(current).parent
        return list(reversed(path))

    def code_depth(self, code_id: str) -> int:
        """How many parent codes a (sub-)code has."""
        depth, parent = 0, self.code(code_id).parent
        while parent:
            depth, parent = depth + 1, self.code(parent).parent
        return depth

    def children(self, category_id: str | None) -> list[Category]:
        return list(self._children_index.get(category_id, ()))

    def codes_in(self, category_id: str | None) -> list[Code]:
        """Codes placed directly in a category (codebook order)."""
        return list(self._codes_index.get(category_id, ()))

    def walk(self) -> Iterator[tuple[int, Category | None, list[Code]]]:
        """Depth-first (depth, category, its direct codes), codebook order.

        Codes that belong to no category come first, with category None.
        """
        loose = self.codes_in(None)
        if loose:
            yield 0, None, loose

        def visit(cat: Category, depth: int) -> Iterator[tuple[int, Category | None, list[Code]]]:
            yield depth, cat, self.codes_in(cat.id)
            for child in self.children(cat.id):
                yield from visit(child, depth + 1)

        for root in self.children(None):
            yield from visit(root, 0)


@dataclass(frozen=True)
class Case:
    """A case (a firm, a participant...) with its attributes."""

    name: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """A speaker turn found in a transcript: character offsets into the text."""

    start: int
    end: int
    speaker: str | None = None
    timestamp: str | None = None


def segment_ref(document: str, ordinal: int) -> str:
    """The stable, human-readable id of a segment: ``<document>#<ordinal>``."""
    return f"{document}#{ordinal}"


@dataclass(frozen=True)
class Segment:
    """A unit of text that coders code: a sentence inside a speaker turn."""

    ref: str  # stable human-readable id, e.g. "E1#12"
    document: str
    case: str
    turn: int
    ordinal: int
    start: int
    end: int
    text: str
    speaker: str | None = None
    role: str | None = None
    timestamp: str | None = None


#: How a span coding is assigned to segments, in the words notes and docs use.
SEGMENT_RULE = ("a span coding counts for every segment it shares at least one non-space character with "
                "(a partial coding counts in full for each segment it touches)")

# The characters str.isspace() treats as whitespace (a test checks the list against it).
SPACE_CHARACTERS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B))
                    + "\u2028\u2029\u202f\u205f\u3000")


def _nonspace_prefix(text: str) -> Any:
    """``p[k]`` = non-space characters in ``text[:k]`` (numpy int64, length len(text) + 1)."""
    import numpy as np

    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    spaces = np.fromiter((ord(c) for c in SPACE_CHARACTERS), dtype=np.uint32)
    prefix = np.zeros(len(points) + 1, dtype=np.int64)
    np.cumsum(~np.isin(points, spaces), out=prefix[1:])
    return prefix


def coding_segment_pairs(text: str, starts: Sequence[int] | Any, ends: Sequence[int] | Any,
                         *, segment_starts: Sequence[int] | Any, segment_ends: Sequence[int] | Any) -> tuple[Any, Any]:
    """The segments of one document that each span coding counts for (:data:`SEGMENT_RULE`).

    ``text`` is the document's text (only the characters inside segments are read, so the
    segments' texts laid at their offsets do as well); codings are given by ``starts`` and
    ``ends``, segments by theirs, sorted by start and not overlapping. Returns two int64
    arrays ``(coding, segment)`` of positions in the inputs, one pair per assignment, by
    coding then segment. The one place where this rule is implemented: agreement, coding
    and adjudication sheets, comparisons and co-occurrence at segment level call it.
    """
    import numpy as np

    s, e = np.asarray(starts, dtype=np.int64).reshape(-1), np.asarray(ends, dtype=np.int64).reshape(-1)
    ss = np.asarray(segment_starts, dtype=np.int64).reshape(-1)
    se = np.asarray(segment_ends, dtype=np.int64).reshape(-1)
    if not len(s) or not len(ss):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first = np.searchsorted(se, s, side="right")  # the first segment ending after the span starts
    last = np.searchsorted(ss, e, side="left")  # one past the last segment starting before it ends
    count = np.maximum(last - first, 0)
    coding = np.repeat(np.arange(len(s)), count)
    offset = np.arange(len(coding)) - np.repeat(np.cumsum(count) - count, count)
    segment = np.repeat(first, count) + offset
    prefix = _nonspace_prefix(text)
    size = len(prefix) - 1
    lo = np.clip(np.maximum(s[coding], ss[segment]), 0, size)
    hi = np.clip(np.minimum(e[coding], se[segment]), 0, size)
    shared = prefix[np.maximum(hi, lo)] - prefix[lo]
    keep = shared > 0
    return coding[keep], segment[keep]


def segments_text(segments: Sequence[Segment]) -> str:
    """A text with each segment's text at its offsets and spaces elsewhere (what the rule reads)."""
    size = max((s.end for s in segments), default=0)
    chars = [" "] * size
    for seg in segments:
        chars[seg.start:seg.start + len(seg.text)] = seg.text[: max(seg.end - seg.start, 0)]
    return "".join(chars[:size])


def assign_segments(codings: Sequence[Coding], segments: Sequence[Segment]) -> list[list[str]]:
    """Per coding, the refs of the segments it counts for: its own segment, or by :data:`SEGMENT_RULE`."""
    by_doc: dict[str, list[Segment]] = {}
    for seg in segments:
        by_doc.setdefault(seg.document, []).append(seg)
    refs: list[list[str]] = [[c.segment] if c.segment is not None else [] for c in codings]
    loose: dict[str, list[int]] = {}
    for i, c in enumerate(codings):
        if c.segment is None:
            loose.setdefault(c.document, []).append(i)
    for document, rows in loose.items():
        segs = sorted(by_doc.get(document, ()), key=lambda s: s.start)
        pairs = coding_segment_pairs(segments_text(segs), [codings[i].start for i in rows],
                                     [codings[i].end for i in rows], segment_starts=[s.start for s in segs],
                                     segment_ends=[s.end for s in segs])
        for k, j in zip(*(p.tolist() for p in pairs)):
            refs[rows[k]].append(segs[j].ref)
    return refs


def segments_of(coding: Coding, segments_by_document: Mapping[str, Sequence[Segment]]) -> list[str]:
    """Segment refs one coding applies to: its own segment, or those of :data:`SEGMENT_RULE`.

    For many codings, :func:`assign_segments` reads each document once."""
    return assign_segments([coding], segments_by_document.get(coding.document, ()))[0]


@dataclass(frozen=True)
class Document:
    """A stored, normalised transcript."""

    name: str
    case: str
    text: str
    sha256: str
    source: str = ""
    language: str = "fr"
    language_source: str = ""  # "given" (--lang), "detected", "project" (detection unsure); "" if unknown
    analysis: str = ""  # the pipeline that analysed it (qda.ingest.languages.version); "fr fast: ..." for --fast


@dataclass(frozen=True)
class Coding:
    """One code applied by one coder to a span of a document (often a whole segment)."""

    coder: str
    code: str
    document: str
    case: str
    start: int
    end: int
    segment: str | None = None
    text: str = ""
    speaker: str | None = None
    created_at: str = ""
    source: str = "sheet"
    note: str = ""
    pattern: str | None = None  # the dictionary pattern that fired, for auto codings
    status: str = "ok"  # a CodingStatus: "orphaned" when a revision of the transcript lost its text
    id: int | None = None
    name: str = ""  # a quotation's name in the tool it came from (ATLAS.ti: its first words)
    modified_by: str = ""  # who last changed it, and when (REFI-QDA modifyingUser, modifiedDateTime)
    modified_at: str = ""
    score: float | None = None  # a machine suggestion's score (0..1), kept when a reviewer accepts it
    origin: str | None = None  # the suggestion model's id, for suggested and accepted machine codings


@dataclass(frozen=True)
class Memo:
    """A memo about the project, a document, a code or a case (a coding's memo is its ``note``)."""

    text: str
    target_kind: str = "project"  # project | document | code | case
    target: str = ""
    name: str = ""
    author: str = ""
    created_at: str = ""
    guid: str = ""
    id: int | None = None
    modified_by: str = ""  # who last changed it, and when (REFI-QDA modifyingUser, modifiedDateTime)
    modified_at: str = ""


@dataclass(frozen=True)
class DocumentSet:
    """A named set of documents (REFI-QDA ``Set`` of sources; MAXQDA's document sets)."""

    name: str
    documents: tuple[str, ...] = ()
    description: str = ""
    guid: str = ""


@dataclass(frozen=True)
class Variable:
    """The declared type of a case attribute (REFI-QDA: Text, Boolean, Integer, Float, Date, DateTime)."""

    name: str
    type: str = "Text"
    description: str = ""


@dataclass(frozen=True)
class Tokens:
    """A document's tokens as auto-coding reads them: offsets (int32 arrays), lower-case forms, lemmas."""

    starts: Any
    ends: Any
    lower: Sequence[str] = ()
    lemma: Sequence[str] = ()


@dataclass(frozen=True, eq=False)
class SegmentRun(Sequence[Segment]):
    """The segments found in a new document, kept as offset arrays and made into
    :class:`Segment` objects only when read.

    A 10 MB transcript has some 200,000 segments: about 600 bytes each as objects with
    their text, 12 bytes here, so importing it stays within bounded memory (the store
    writes them one at a time). ``turns`` is each segment's turn (1-based) and
    ``speakers`` each turn's (speaker, role, timestamp).
    """

    document: Document
    starts: Any  # array("i")
    ends: Any
    turns: Any
    speakers: Sequence[tuple[str | None, str | None, str | None]]

    def __len__(self) -> int:
        return len(self.starts)

    def _segment(self, i: int) -> Segment:
        turn = self.turns[i]
        speaker, role, timestamp = self.speakers[turn - 1]
        doc = self.document
        start, end = self.starts[i], self.ends[i]
        return Segment(segment_ref(doc.name, i + 1), doc.name, doc.case, turn, i + 1, start, end,
                       doc.text[start:end], speaker, role, timestamp)

    @overload
    def __getitem__(self, index: int) -> Segment: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Segment, ...]: ...

    def __getitem__(self, index: int | slice) -> Segment | tuple[Segment, ...]:
        if isinstance(index, slice):
            return tuple(self._segment(i) for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._segment(index)

    def __iter__(self) -> Iterator[Segment]:
        return (self._segment(i) for i in range(len(self)))


@dataclass(frozen=True)
class DocumentWrite:
    """A document to store, with its segments and tokens.

    ``action``: ``add`` (new), ``replace`` (drop the stored one and its codings, then
    add), ``revise`` (archive the stored text and swap it, codings kept for re-anchoring),
    ``move`` (same text, another case: only the case changes), ``resplit`` (same text, new
    segments and tokens; codings kept, their segments given in ``WritePlan.moved``),
    ``delete`` (the document with its segments, tokens, codings, memos and earlier texts).
    """

    document: Document
    action: str = "add"
    segments: Sequence[Segment] = ()
    tokens: Tokens | None = None


@dataclass(frozen=True)
class CodingScope:
    """Stored codings of one coder that a write replaces: all, or those in some documents,
    or those on some segments (refs); of some statuses, of some codes."""

    coder: str
    documents: tuple[str, ...] | None = None
    segments: tuple[str, ...] | None = None
    # only stored codings in these statuses are replaced (None: all): a sheet or an exchange
    # file cannot hold the others (see STATUS_RULES), so they stay as they are
    statuses: tuple[str, ...] | None = None
    # only stored codings of these codes are replaced (None: all codes): `qda suggest run --code`
    # replaces one code's suggestions and leaves the other codes' alone without reading them
    codes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class WritePlan:
    """Everything one command stores, computed before anything is written.

    The project commits a plan in one transaction, kind by kind, in this order: codebook,
    documents, cases, variables, coders, codings removed (``replace``) then added,
    stored codings moved (re-anchored), memos.
    """

    codebook: Codebook | None = None
    codebook_source: str = ""
    documents: tuple[DocumentWrite, ...] = ()
    tidy_cases: bool = False  # forget cases left with no document and no attribute
    cases: tuple[Case, ...] = ()  # their attributes replace the stored ones
    variables: tuple[Variable, ...] = ()
    coders: tuple[str, ...] = ()
    replace: tuple[CodingScope, ...] = ()
    codings: tuple[Coding, ...] = ()
    moved: tuple[Coding, ...] = ()
    memos: tuple[Memo, ...] = ()
    document_sets: tuple[DocumentSet, ...] = ()  # members added to the named sets (created if new)
    meta: Mapping[str, str] = field(default_factory=dict)  # project settings and caches (key -> value)
    # codes renamed (old id -> unused new id) or merged (old id -> an existing code, which takes
    # its codings), applied before the codebook is saved (qda.coding.codes)
    code_keys: Mapping[str, str] = field(default_factory=dict)


class Role(Vocabulary):
    """What a workspace account may do (``qda users add NAME --role ...``)."""

    LEAD = "lead"  # adjudicates, lifts blind mode, manages users; codes too
    CODER = "coder"  # codes as themself only
    VIEWER = "viewer"  # reads what blind mode allows, never writes


@dataclass(frozen=True)
class Account:
    """A workspace account as stored: the password only as a hash (see qda.coding.accounts)."""

    name: str
    role: str = Role.CODER.value
    password_hash: str = ""
    disabled: bool = False
    failures: int = 0  # failed logins in a row
    locked_until: str = ""  # ISO UTC time before which a login is refused ('' = not locked)
    created_at: str = ""


class ReviewOrder(Vocabulary):
    """The order of a review queue of suggestions."""

    UNCERTAINTY = "uncertainty"  # |score - threshold| smallest first: the decisions that teach the model most
    SCORE = "score"  # the most confident first


class ReviewAction(Vocabulary):
    """A reviewer's decision on one machine suggestion (the review queue, ``/review``).

    ``reject`` and ``recode`` both say "not this code here": the next ``qda suggest train``
    from the reviewer reads them as negatives of the suggested code (``qda.suggest.corpus``).
    """

    ACCEPT = "accept"  # becomes the reviewer's coding of the suggested code (origin: the model id)
    REJECT = "reject"  # no coding; a negative example for the next training
    RECODE = "recode"  # the reviewer's coding of another code on the passage; a negative of the suggested code


@dataclass(frozen=True)
class SuggestReview:
    """One reviewer decision on a model's suggestion of ``code`` on ``segment`` (kept by segment
    ref, so that a new run of the same model does not bring a decided suggestion back)."""

    reviewer: str
    model: str  # the model id (the suggestion's origin)
    code: str  # the suggested code
    document: str
    segment: str
    action: str  # a ReviewAction
    coded: str | None = None  # the code the reviewer coded (accept: ``code``; recode: the other one)
    coding: int | None = None  # the reviewer's coding made by the decision
    score: float | None = None
    at: str = ""
    id: int | None = None
    undone: bool = False
