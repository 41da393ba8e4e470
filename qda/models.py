"""In-memory values shared by every layer (frozen dataclasses).

These carry no behaviour that touches files or the database; the codebook file format
(pydantic) lives in :mod:`qda.codebook`, the SQL in :mod:`qda.store`.
"""

from __future__ import annotations

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
    OVERLAP = "overlap"


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


def _covered(span_start: int, span_end: int, seg: Segment) -> bool:
    common = min(span_end, seg.end) - max(span_start, seg.start)
    return common > 0 and common * 2 >= (seg.end - seg.start)


def segments_of(coding: Coding, segments_by_document: Mapping[str, Sequence[Segment]]) -> list[str]:
    """Segment refs a coding applies to: its own segment, or the segments its span covers (half of each)."""
    if coding.segment is not None:
        return [coding.segment]
    return [s.ref for s in segments_by_document.get(coding.document, ()) if _covered(coding.start, coding.end, s)]


@dataclass(frozen=True)
class Document:
    """A stored, normalised transcript."""

    name: str
    case: str
    text: str
    sha256: str
    source: str = ""
    language: str = "fr"


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
    ``move`` (same text, another case: only the case changes).
    """

    document: Document
    action: str = "add"
    segments: Sequence[Segment] = ()
    tokens: Tokens | None = None


@dataclass(frozen=True)
class CodingScope:
    """Stored codings of one coder that a write replaces: all, or those in some documents,
    or those on some segments (refs)."""

    coder: str
    documents: tuple[str, ...] | None = None
    segments: tuple[str, ...] | None = None


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
    meta: Mapping[str, str] = field(default_factory=dict)  # project settings and caches (key -> value)
    # codes renamed (old id -> unused new id) or merged (old id -> an existing code, which takes
    # its codings), applied before the codebook is saved (qda.coding.codes)
    code_keys: Mapping[str, str] = field(default_factory=dict)
