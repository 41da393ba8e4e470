"""Units of comparison: turning coders' codings into units x coders tables, then a report.

Each unit builder produces, for every code, an integer matrix (units x coders) that
:func:`qda.agreement.coefficients.compute` accepts. The rules, also documented in
``docs/agreement-units.md``:

* ``document`` / ``case`` — one unit per (document or case, code): 1 if the coder
  applied the code anywhere in it, else 0 (QDA Miner "code occurrence", MAXQDA
  "code existence").
* ``frequency`` — one unit per (document, code): the number of passages the coder
  coded with it. Two ratings within ``tolerance`` of each other count as the same
  rating (the second coder's value is replaced by the first's before computing).
* ``coverage`` — one unit per (document, code): the share of the document's
  characters the coder coded with it, in percent points; ratings within
  ``tolerance`` percent points count as the same.
* ``segment`` — one unit per segment of the project and code: 1 if the coder applied
  the code to the segment (a span coding counts for the segments of
  :data:`qda.models.SEGMENT_RULE`: any shared non-space character), else 0. The report
  says how many span codings were partial and how they were assigned.
* ``span`` (old name ``overlap``) — the headline is Krippendorff's unitizing alpha on
  the characters of the documents (:mod:`qda.agreement.unitizing`), any number of
  coders. For two coders, the units x coders table pairs spans: for each code and
  document, spans are paired greedily by decreasing overlap; a pair whose common part
  is at least ``overlap`` (default 0.9) of the longer span is an agreement (1, 1);
  every unpaired span a disagreement (1, 0) or (0, 1). There is no (0, 0) unit, so the
  chance-corrected coefficients of that table are reported as undefined with the
  reason; percent agreement, Holsti and the character table (both / A only / B only /
  neither, as NVivo reports) are kept.

``exclude_uncoded`` drops units (documents, cases or segments) that no coder coded
with any code, so that agreement is not inflated by text nobody coded.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy as np

from qda.agreement.coefficients import COEFFICIENTS, Estimate, compute, encode, kappa_paradox, prevalence_bias
from qda.agreement.unitizing import CoderSpans, UnitizingResult, unitizing_alpha
from qda.errors import AgreementError, NotFoundError
from qda.models import (
    SEGMENT_RULE,
    AgreementUnit,
    Codebook,
    Coding,
    Document,
    Segment,
    coding_segment_pairs,
    segment_ref,
    segments_text,
)
from qda.results import (
    Cell,
    Column,
    Interval,
    Note,
    Progress,
    Row,
    Share,
    TableView,
    frame_view,
    json_dict,
    no_progress,
)

if TYPE_CHECKING:
    import pandas as pd

AGREEMENT_UNITS = tuple(AgreementUnit)

# Columns of the terminal table, by coefficient (Fleiss for 3+ coders, Cohen for two).
SHOWN = ("percent_agreement", "cohen_kappa", "krippendorff_alpha", "gwet_ac1", "brennan_prediger", "fleiss_kappa")
SHORT = {"percent_agreement": "% agree", "cohen_kappa": "kappa", "krippendorff_alpha": "alpha",
         "gwet_ac1": "AC1", "brennan_prediger": "BP", "fleiss_kappa": "Fleiss"}


@dataclass(frozen=True)
class Unit:
    """Where a unit of comparison lies in the project."""

    case: str
    document: str
    segment: str | None = None
    start: int | None = None
    end: int | None = None
    text: str = ""


@dataclass(frozen=True)
class CharacterTable:
    """NVivo-style character counts for one code: both coders, A only, B only, neither."""

    code: str
    both: int
    a_only: int
    b_only: int
    neither: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def percent_agreement(self) -> float | None:
        """Share of characters both coders treated alike (coded or not); None without characters."""
        n = self.both + self.a_only + self.b_only + self.neither
        return (self.both + self.neither) / n if n else None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa on the 2 x 2 character table (NVivo's view); None when undefined."""
        n = self.both + self.a_only + self.b_only + self.neither
        if n == 0:
            return None
        po = (self.both + self.neither) / n
        pa, pb = (self.both + self.a_only) / n, (self.both + self.b_only) / n
        pe = pa * pb + (1 - pa) * (1 - pb)
        return None if pe >= 1 else (po - pe) / (1 - pe)


# ----------------------------------------------------------------------------- builders

@dataclass(frozen=True)
class CodeUnits:
    """The units x coders table of one code."""

    code: str
    units: Sequence[Unit]
    ratings: np.ndarray  # int, units x coders, -1 = missing


@dataclass(frozen=True)
class CodingSpans:
    """One coder's codings as columns: what agreement reads of them, without an object per coding.

    ``segment`` is the coded segment's key (see :class:`SegmentSpans`), -1 for a span coding.
    """

    code: Sequence[str]
    document: Sequence[str]
    start: Sequence[int]
    end: Sequence[int]
    segment: Sequence[int]
    source: Sequence[str]

    def __len__(self) -> int:
        return len(self.code)


@dataclass(frozen=True)
class SegmentSpans:
    """Segments as columns, in the order of their units. ``key`` identifies a segment (codings
    name it in :attr:`CodingSpans.segment`); ``objects`` are the segments when given as such
    (their case and text then make the units)."""

    key: Sequence[int]
    document: Sequence[str]
    ordinal: Sequence[int]
    start: Sequence[int]
    end: Sequence[int]
    role: Sequence[str | None]
    objects: Sequence[Segment] | None = None

    def __len__(self) -> int:
        return len(self.key)


class _Units(Sequence[Unit]):
    """Units made on demand (a large project has hundreds of thousands, few of them shown)."""

    def __init__(self, size: int, make: Callable[[int], Unit], rows: np.ndarray | None = None,
                 keys: Sequence[Hashable] | None = None) -> None:
        self._make, self._rows = make, rows
        self._size = size if rows is None else len(rows)
        # What tells units apart without making them (equal keys, equal units), when known.
        self.keys = keys

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, i: int) -> Unit: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Unit]: ...

    def __getitem__(self, i: int | slice) -> Unit | Sequence[Unit]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._size))]
        if not -self._size <= i < self._size:
            raise IndexError(i)
        i %= self._size
        return self._make(i if self._rows is None else int(self._rows[i]))

    def kept(self, keep: np.ndarray) -> _Units:
        """The units where ``keep`` is true."""
        rows = np.flatnonzero(keep) if self._rows is None else self._rows[keep]
        return _Units(0, self._make, rows)


def _prepare(codings: Mapping[str, Sequence[Coding] | CodingSpans], segments: Sequence[Segment] | SegmentSpans
             ) -> tuple[dict[str, CodingSpans], SegmentSpans]:
    """Codings and segments as columns; segments given as objects are keyed by their refs."""
    refs: dict[str, int] = {}
    if isinstance(segments, SegmentSpans):
        segs = segments
        if not all(isinstance(items, CodingSpans) for items in codings.values()):
            refs = {segment_ref(d, o): k for k, d, o in zip(segs.key, segs.document, segs.ordinal)}
    else:
        segs = SegmentSpans([refs.setdefault(s.ref, len(refs)) for s in segments], [s.document for s in segments],
                            [s.ordinal for s in segments], [s.start for s in segments], [s.end for s in segments],
                            [s.role for s in segments], segments)
    top = max(segs.key, default=-1) + 1
    spans = {}
    for coder, items in codings.items():
        if isinstance(items, CodingSpans):
            spans[coder] = items
            continue
        keys = [-1 if c.segment is None else refs.get(c.segment, top + len(refs)) for c in items]
        spans[coder] = CodingSpans([c.code for c in items], [c.document for c in items], [c.start for c in items],
                                   [c.end for c in items], keys, [c.source for c in items])
    return spans, segs


def _indices(values: Sequence[Any], index: Mapping[Any, int]) -> np.ndarray:
    """Each value's position in ``index`` (-1 when absent)."""
    return np.fromiter((index.get(v, -1) for v in values), dtype=np.int64, count=len(values))


def _ints(values: Sequence[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def _covered(segs: SegmentSpans, documents: Sequence[str], starts: np.ndarray, ends: np.ndarray,
             texts: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """(span, segment) pairs: the segments a span coding counts for (:data:`qda.models.SEGMENT_RULE`)."""
    seg_docs = list(segs.document)
    seg_start, seg_end = _ints(segs.start), _ints(segs.end)
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(seg_docs):
        by_doc[d].append(i)
    loose: dict[str, list[int]] = defaultdict(list)
    for k, d in enumerate(documents):
        loose[d].append(k)
    spans: list[np.ndarray] = []
    found: list[np.ndarray] = []
    for doc, rows in loose.items():
        members = np.asarray(by_doc.get(doc, ()), dtype=np.int64)
        if not len(members):
            continue
        members = members[np.lexsort((seg_end[members], seg_start[members]))]
        text = texts.get(doc)
        if text is None:  # no document text given: the segments' texts are all the rule reads
            objects = segs.objects
            text = segments_text([objects[i] for i in members.tolist()]) if objects is not None else ""
        picked = np.asarray(rows, dtype=np.int64)
        span, seg = coding_segment_pairs(text, starts[picked], ends[picked], segment_starts=seg_start[members],
                                         segment_ends=seg_end[members])
        spans.append(picked[span])
        found.append(members[seg])
    if not spans:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(spans), np.concatenate(found)


def _segment_positions(items: CodingSpans, segs: SegmentSpans, texts: Mapping[str, str]
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(coding, unit position) pairs: the segments each coding applies to (its own, or those its span covers)."""
    keys = _ints(segs.key)
    wanted = _ints(items.segment)
    size = max(int(keys.max(initial=-1)), int(wanted.max(initial=-1))) + 1
    position = np.full(size, -1, dtype=np.int64)
    position[keys] = np.arange(len(keys))  # a key given twice: its last segment, as a ref -> position dict
    own = np.flatnonzero(wanted >= 0)
    pos = position[wanted[own]]
    rows, positions = [own[pos >= 0]], [pos[pos >= 0]]
    loose = np.flatnonzero(wanted < 0)
    if len(loose):
        span, seg = _covered(segs, [items.document[i] for i in loose.tolist()],
                             _ints(items.start)[loose], _ints(items.end)[loose], texts)
        rows.append(loose[span])
        positions.append(position[keys[seg]])
    return np.concatenate(rows), np.concatenate(positions)


def _union_lengths(groups: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_groups: int) -> np.ndarray:
    """Characters covered by the union of the spans of each group (0 .. n_groups - 1)."""
    total = np.zeros(n_groups, dtype=np.int64)
    if not len(groups):
        return total
    order = np.lexsort((ends, starts, groups))
    g, s, e = groups[order], starts[order], ends[order]
    # Each group's offsets are shifted past the previous group's, so one running maximum serves all.
    big = int(max(e.max(), s.max(), 0)) + 2
    ks, ke = g * big + s, g * big + e
    reach = np.maximum.accumulate(ke)
    before = np.maximum(np.concatenate(([np.iinfo(np.int64).min], reach[:-1])), g * big - 1)
    gain = np.where(ke <= before, 0, ke - np.maximum(ks, before))
    np.add.at(total, g, gain)
    return total


def build_units(unit: str, coders: Sequence[str], codings: Mapping[str, Sequence[Coding] | CodingSpans],
                *, codes: Sequence[str], documents: Sequence[Document], segments: Sequence[Segment] | SegmentSpans,
                tolerance: float = 0.0, overlap: float = 0.9, exclude_uncoded: bool = False) -> list[CodeUnits]:
    """Per-code units x coders tables for a unit of comparison (see the module docstring).

    ``codings`` (per coder) and ``segments`` are objects or columns (:class:`CodingSpans`,
    :class:`SegmentSpans`, as a project reads them in bulk)."""
    if unit not in AGREEMENT_UNITS:
        raise AgreementError(f"unknown unit '{unit}' (use one of: {AgreementUnit.words()})")
    if len(coders) < 2:
        raise AgreementError("agreement needs at least two coders")
    spans, segs = _prepare(codings, segments)
    if unit in ("span", "overlap"):
        if len(coders) != 2:
            raise AgreementError("span pairing compares exactly two coders")
        if not 0 < overlap <= 1:
            raise AgreementError(f"--overlap must be in (0, 1], got {overlap}")
        return _overlap_units(coders, spans, codes, documents, overlap)
    if tolerance < 0:
        raise AgreementError("--tolerance cannot be negative")
    code_index = {c: i for i, c in enumerate(codes)}
    units: Sequence[Unit]
    if unit == "segment":
        texts = {d.name: d.text for d in documents}
        cases = {d.name: d.case for d in documents}
        units = _Units(len(segs), _segment_unit(segs, texts, cases))
        ratings = np.zeros((len(codes), len(segs), len(coders)), dtype=np.int64)
        for col, coder in enumerate(coders):
            items = spans.get(coder)
            if items is None or not len(items):
                continue
            code_of = _indices(items.code, code_index)
            rows, positions = _segment_positions(items, segs, texts)
            ok = (code_of[rows] >= 0) & (positions >= 0)
            ratings[code_of[rows][ok], positions[ok], col] = 1
        tables = {code: ratings[i] for i, code in enumerate(codes)}
    else:
        if unit == "case":
            names = sorted({d.case for d in documents})
            units = [Unit(name, "") for name in names]
            key_of = {name: i for i, name in enumerate(names)}
        else:
            units = [Unit(d.case, d.name) for d in documents]
            key_of = {d.name: i for i, d in enumerate(documents)}
        by_name = {d.name: d for d in documents}  # a name given twice: its last document, as dicts by name did
        doc_index = {name: i for i, name in enumerate(by_name)}
        row_of = np.asarray([key_of[d.case if unit == "case" else d.name] for d in by_name.values()], dtype=np.int64)
        lengths = np.asarray([max(len(d.text), 1) for d in by_name.values()], dtype=np.int64)
        values = np.zeros((len(codes), len(units), len(coders)), dtype=np.float64)
        for col, coder in enumerate(coders):
            items = spans.get(coder)
            if items is None or not len(items):
                continue
            code_of, doc_of = _indices(items.code, code_index), _indices(items.document, doc_index)
            ok = (code_of >= 0) & (doc_of >= 0)
            code_of, doc_of = code_of[ok], doc_of[ok]
            starts, ends = _ints(items.start)[ok], _ints(items.end)[ok]
            if unit in ("document", "case"):
                values[code_of, row_of[doc_of], col] = 1
                continue
            group_key = code_of * len(doc_index) + doc_of
            groups, group_of = np.unique(group_key, return_inverse=True)
            group_of = group_of.reshape(-1)
            g_code, g_doc = groups // len(doc_index), groups % len(doc_index)
            if unit == "frequency":
                distinct = np.unique(np.stack([group_of, starts, ends], axis=1), axis=0)
                counts = np.bincount(distinct[:, 0], minlength=len(groups))
                np.add.at(values[:, :, col], (g_code, row_of[g_doc]), counts.astype(np.float64))
            else:  # coverage, percent points of the document's characters
                covered = _union_lengths(group_of, starts, ends, len(groups))
                np.add.at(values[:, :, col], (g_code, row_of[g_doc]), 100.0 * covered / lengths[g_doc])
        tables = {code: values[i] for i, code in enumerate(codes)}
        if unit in ("frequency", "coverage"):
            for table in tables.values():
                if unit == "coverage":
                    table[:] = np.round(table, 1)
                # Within tolerance of the first coder counts as the first coder's rating.
                close = np.abs(table - table[:, :1]) <= tolerance + 1e-9
                table[close] = np.broadcast_to(table[:, :1], table.shape)[close]
            tables = {code: _as_categories(t) for code, t in tables.items()}
        else:
            tables = {code: t.astype(np.int64) for code, t in tables.items()}
    keep = np.ones(len(units), dtype=bool)
    if exclude_uncoded and tables:
        coded = np.zeros(len(units), dtype=bool)
        for table in tables.values():
            coded |= (table > 0).any(axis=1)
        keep = coded
    if keep.all():
        return [CodeUnits(code, units, tables[code]) for code in codes]
    kept_units = units.kept(keep) if isinstance(units, _Units) else tuple(u for u, k in zip(units, keep) if k)
    return [CodeUnits(code, kept_units, tables[code][keep]) for code in codes]


def _segment_unit(segs: SegmentSpans, texts: Mapping[str, str], cases: Mapping[str, str]) -> Callable[[int], Unit]:
    if segs.objects is not None:
        objects = segs.objects
        return lambda i: Unit(objects[i].case, objects[i].document, objects[i].ref, objects[i].start, objects[i].end,
                              objects[i].text)

    def make(i: int) -> Unit:
        doc, start, end = segs.document[i], segs.start[i], segs.end[i]
        return Unit(cases.get(doc, ""), doc, segment_ref(doc, segs.ordinal[i]), start, end,
                    texts.get(doc, "")[start:end])
    return make


def _union_length(spans: Sequence[tuple[int, int]]) -> int:
    total, current_end = 0, -1
    for start, end in sorted(spans):
        if end <= current_end:
            continue
        total += end - max(start, current_end)
        current_end = end
    return total


def _as_categories(table: np.ndarray) -> np.ndarray:
    """Map numeric ratings (counts, coverage) to category codes 0..K-1; 0 stays "not coded"."""
    values = np.union1d(np.unique(table), [0.0])
    return np.searchsorted(values, table).astype(np.int64)


def _overlap_units(coders: Sequence[str], codings: Mapping[str, CodingSpans], codes: Sequence[str],
                   documents: Sequence[Document], threshold: float) -> list[CodeUnits]:
    result = []
    a, b = coders
    spans = _spans_by_code_and_document(codings, coders)
    present = {(code, document) for _coder, code, document in spans}
    for code in codes:
        places: list[int] = []  # per unit: the document's position, start, end
        starts: list[int] = []
        ends: list[int] = []
        rows: list[tuple[int, int]] = []
        for position, doc in enumerate(documents):
            if (code, doc.name) not in present:
                continue
            spans_a = sorted(set(spans.get((a, code, doc.name), ())))
            spans_b = sorted(set(spans.get((b, code, doc.name), ())))
            pairs = []
            for i, (sa, ea) in enumerate(spans_a):
                for j, (sb, eb) in enumerate(spans_b):
                    common = min(ea, eb) - max(sa, sb)
                    if common > 0:
                        pairs.append((common / max(ea - sa, eb - sb), i, j))
            used_a: set[int] = set()
            used_b: set[int] = set()
            for ratio, i, j in sorted(pairs, reverse=True):
                if ratio + 1e-12 >= threshold and i not in used_a and j not in used_b:
                    used_a.add(i)
                    used_b.add(j)
                    places.append(position)
                    starts.append(min(spans_a[i][0], spans_b[j][0]))
                    ends.append(max(spans_a[i][1], spans_b[j][1]))
                    rows.append((1, 1))
            for i, (s, e) in enumerate(spans_a):
                if i not in used_a:
                    places.append(position)
                    starts.append(s)
                    ends.append(e)
                    rows.append((1, 0))
            for j, (s, e) in enumerate(spans_b):
                if j not in used_b:
                    places.append(position)
                    starts.append(s)
                    ends.append(e)
                    rows.append((0, 1))
        keys = [(documents[p].case, documents[p].name, s, e) for p, s, e in zip(places, starts, ends)]
        result.append(CodeUnits(code, _Units(len(rows), _span_unit(documents, places, starts, ends), keys=keys),
                                np.array(rows, dtype=np.int64).reshape(-1, 2)))
    return result


def _span_unit(documents: Sequence[Document], places: list[int], starts: list[int],
               ends: list[int]) -> Callable[[int], Unit]:
    def make(i: int) -> Unit:
        doc, start, end = documents[places[i]], starts[i], ends[i]
        return Unit(doc.case, doc.name, None, start, end, doc.text[start:end])
    return make


def _spans_by_code_and_document(codings: Mapping[str, CodingSpans], coders: Sequence[str]
                                ) -> dict[tuple[str, str, str], list[tuple[int, int]]]:
    """(coder, code, document) -> the coder's spans there, in coding order (one pass over the codings)."""
    spans: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
    for coder in coders:
        items = codings.get(coder)
        if items is None:
            continue
        for code, document, start, end in zip(items.code, items.document, items.start, items.end):
            spans[(coder, code, document)].append((start, end))
    return spans


def character_tables(coders: Sequence[str], codings: Mapping[str, Sequence[Coding] | CodingSpans],
                     codes: Sequence[str], *, documents: Sequence[Document]) -> list[CharacterTable]:
    """Characters coded by both coders, by one only, or by neither, per code (NVivo's view)."""
    a, b = coders[:2]
    spans, _ = _prepare({c: codings[c] for c in (a, b) if c in codings}, [])
    code_index = {c: i for i, c in enumerate(codes)}
    doc_index = {d.name: i for i, d in enumerate(documents)}  # a name given twice: its last document
    sizes = np.asarray([len(d.text) for d in documents], dtype=np.int64)
    # Characters of A, of B and of either per (code, document), from unions of spans clipped to
    # the document as a character mask would be.
    covered = {}
    for name, coders_in in (("a", (a,)), ("b", (b,)), ("ab", (a, b))):
        groups, starts, ends = [], [], []
        for coder in coders_in:
            items = spans.get(coder)
            if items is None or not len(items):
                continue
            code_of, doc_of = _indices(items.code, code_index), _indices(items.document, doc_index)
            ok = (code_of >= 0) & (doc_of >= 0)
            size = sizes[doc_of[ok]]
            s = np.clip(_ints(items.start)[ok], 0, size)
            groups.append(code_of[ok] * len(documents) + doc_of[ok])
            starts.append(s)
            ends.append(np.maximum(np.clip(_ints(items.end)[ok], 0, size), s))
        g = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
        covered[name] = _union_lengths(g, np.concatenate(starts) if starts else g, np.concatenate(ends) if ends else g,
                                       len(codes) * len(documents)).reshape(len(codes), len(documents))
    # Every document counts, a name given twice with the spans of that name (as the loop by name did).
    at = np.asarray([doc_index[d.name] for d in documents], dtype=np.int64)
    total = int(sum(len(d.text) for d in documents))
    tables = []
    for i, code in enumerate(codes):
        in_a, in_b = int(covered["a"][i, at].sum()), int(covered["b"][i, at].sum())
        either = int(covered["ab"][i, at].sum())
        both = in_a + in_b - either
        tables.append(CharacterTable(code, both, in_a - both, in_b - both, total - either))
    return tables


# ----------------------------------------------------------------------------- report

@dataclass(frozen=True)
class CodeAgreement:
    """The coefficients for one code (or pooled over codes)."""

    code: str
    label: str
    n_units: int
    estimates: dict[str, Estimate]
    prevalence: float | None = None
    bias: float | None = None
    warning: str | None = None
    # Two coders, binary units: the first coder scored against the second as reference
    # (e.g. the dictionary's auto coder against the human consensus).
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "n_units": self.n_units,
                "coefficients": {k: v.to_dict() for k, v in self.estimates.items()},
                "prevalence_index": self.prevalence, "bias_index": self.bias, "warning": self.warning,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class Disagreement:
    """A unit where the coders' ratings differ: what each coder applied there."""

    unit: Unit
    applied: dict[str, tuple[str, ...]]  # coder -> codes applied (or ratings, for counts)

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.unit.case, "document": self.unit.document, "segment": self.unit.segment,
                "start": self.unit.start, "end": self.unit.end, "text": self.unit.text,
                "applied": {k: list(v) for k, v in self.applied.items()}}


@dataclass(frozen=True)
class AgreementReport:
    """Agreement between coders: per code, pooled, the disagreements and the conventions used."""

    unit: str
    coders: tuple[str, ...]
    codes: tuple[CodeAgreement, ...]
    pooled: CodeAgreement
    disagreements: tuple[Disagreement, ...] = ()
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    characters: tuple[CharacterTable, ...] = ()
    conventions: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    unitizing: UnitizingSummary | None = None  # the span unit's headline figures

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"unit": self.unit, "coders": list(self.coders), "settings": dict(self.settings),
                          "conventions": list(self.conventions), "pooled": self.pooled.to_dict(),
                          "codes": [c.to_dict() for c in self.codes],
                          "disagreements": [d.to_dict() for d in self.disagreements],
                          "confusion": self.confusion, "characters": [c.to_dict() for c in self.characters],
                          "unitizing": None if self.unitizing is None else self.unitizing.to_dict()})

    def to_frame(self) -> pd.DataFrame:
        """One row per code and a pooled row: each coefficient's value and its interval as
        ``<name>_low``/``<name>_high``, at full precision (NaN where undefined or not computed)."""
        import pandas as pd

        names = [*COEFFICIENTS, *(["unitizing_alpha"] if self.unitizing is not None else [])]
        records = []
        for item in (*self.codes, self.pooled):
            rec: dict[str, Any] = {"code": item.code, "label": item.label, "units": item.n_units}
            for name in names:
                est = item.estimates.get(name)
                rec[name] = None if est is None else est.value
                rec[f"{name}_low"] = None if est is None else est.ci_low
                rec[f"{name}_high"] = None if est is None else est.ci_high
            for name in ("precision", "recall", "f1"):
                rec[name] = getattr(item, name)
            rec["prevalence_index"] = item.prevalence
            rec["bias_index"] = item.bias
            rec["warning"] = item.warning or ""
            records.append(rec)
        frame = pd.DataFrame(records)
        numbers = [c for c in frame.columns if c not in ("code", "label", "units", "warning")]
        return frame.astype({c: "float64" for c in numbers})

    def to_table(self) -> TableView:
        """Codes and the pooled row with the usual coefficients; warnings and conventions after.

        An undefined coefficient shows as ``undefined (n)``, its reason in note n under the table."""
        if self.unitizing is not None:
            return self._span_table(self.unitizing)
        names = [n for n in SHOWN if not (n == "fleiss_kappa" and len(self.coders) == 2)
                 and not (n == "cohen_kappa" and len(self.coders) > 2)]
        # An auto coder scored against a human reference: its precision, recall and F1 are
        # what the user came for, so the table shows them too.
        scored = bool(self.settings.get("scored")) and len(self.coders) == 2
        reasons: dict[str, int] = {}
        rows = []
        for item in (*self.codes, self.pooled):
            cells: list[Cell] = [_estimate_cell(est, reasons) for est in (item.estimates[n] for n in names)]
            if scored:
                cells += [Interval(item.precision), Interval(item.recall), Interval(item.f1)]
            rows.append(Row((item.code, _short(item.label), item.n_units, *cells),
                            section_end=item is self.codes[-1] if self.codes else False))
        columns = (Column("code"), Column("label"), Column("units", numeric=True),
                   *(Column(SHORT[n], numeric=True) for n in names),
                   *((Column("precision", numeric=True), Column("recall", numeric=True), Column("F1", numeric=True))
                     if scored else ()))
        notes = tuple(Note(f"{item.code}: {item.warning}", "warning")
                      for item in (*self.codes, self.pooled) if item.warning)
        notes += _reason_notes(reasons)
        notes += tuple(Note(line, "aside") for line in self.conventions)
        return TableView(f"Agreement of {', '.join(self.coders)} — unit: {self.unit}", columns, tuple(rows),
                         notes=notes)

    def _span_table(self, summary: UnitizingSummary) -> TableView:
        """The span unit: unitizing alpha per code and pooled, beside the characters each coder coded."""
        two = len(self.coders) == 2 and len(self.characters) == len(self.codes)
        reasons: dict[str, int] = {}
        rows = []
        chars = {t.code: t for t in self.characters}
        total = [0] * len(self.coders)
        sums = [0, 0, 0, 0]
        for item, coded in zip(self.codes, summary.result.coded):
            total = [a + b for a, b in zip(total, coded)]
            cells: list[Cell] = [item.code, _short(item.label)]
            if two:
                t = chars[item.code]
                sums = [a + b for a, b in zip(sums, (t.both, t.a_only, t.b_only, t.neither))]
                cells += [t.both, t.a_only, t.b_only, t.neither, Share(t.percent_agreement)]
            else:
                cells += list(coded)
            cells.append(_estimate_cell(item.estimates["unitizing_alpha"], reasons))
            if two:
                cells.append(_estimate_cell(item.estimates["percent_agreement"], reasons))
            rows.append(Row(tuple(cells), section_end=item is self.codes[-1]))
        pooled: list[Cell] = [self.pooled.code, self.pooled.label]
        if two:
            n = sum(sums)
            pooled += [*sums, Share((sums[0] + sums[3]) / n if n else None)]
        else:
            pooled += total
        pooled.append(_estimate_cell(self.pooled.estimates["unitizing_alpha"], reasons))
        if two:
            pooled.append(_estimate_cell(self.pooled.estimates["percent_agreement"], reasons))
        rows.append(Row(tuple(pooled), kind="total"))
        a, b = self.coders[:2]
        columns = (Column("code"), Column("label"),
                   *((Column("chars both", numeric=True), Column(f"{a} only", numeric=True),
                      Column(f"{b} only", numeric=True), Column("neither", numeric=True),
                      Column("% chars", numeric=True)) if two
                     else tuple(Column(f"chars {c}", numeric=True) for c in self.coders)),
                   Column("|uα", numeric=True),
                   *((Column("matched spans", numeric=True),) if two else ()))
        r = summary.result
        lead = (Note("Krippendorff's unitizing alpha on the characters of each document: |uα per code "
                     "(coded or not, character by character), pooled over codes below."),)
        notes: tuple[Note, ...] = (
            Note(f"cuα (which code, where coders' coded passages overlap) = {_estimate_text(r.coding)}"),
            Note(f"Cuα (which top-level code) = {_estimate_text(r.domains)}"),
            Note("kappa, Scott's pi, alpha on units, AC1 and Brennan–Prediger of matched spans: "
                 + NO_NEITHER, "aside"))
        notes += _reason_notes(reasons)
        notes += tuple(Note(line, "aside") for line in self.conventions)
        return TableView(f"Agreement of {', '.join(self.coders)} — unit: span", columns, tuple(rows), lead=lead,
                         notes=notes)

    def disagreement_list(self) -> DisagreementList:
        """The disagreements as a result of their own (``qda agree --disagreements``)."""
        return DisagreementList(tuple(self.disagreements))

    def disagreements_frame(self) -> pd.DataFrame:
        return self.disagreement_list().to_frame()

    def threshold_failures(self, min_kappa: float | None = None, min_alpha: float | None = None) -> list[str]:
        """Why the pooled result is below the thresholds (empty when it is not)."""
        failures = []
        checks = [("cohen_kappa" if len(self.coders) == 2 else "fleiss_kappa", min_kappa),
                  ("unitizing_alpha" if self.unitizing is not None else "krippendorff_alpha", min_alpha)]
        for name, threshold in checks:
            if threshold is None:
                continue
            est = self.pooled.estimates[name]
            if est.value is None:
                failures.append(f"{name} is undefined ({est.note}); threshold {threshold} not met")
            elif est.value < threshold:
                failures.append(f"pooled {name} = {est.value:.3f} is below {threshold}")
        return failures


@dataclass(frozen=True)
class DisagreementList:
    """Units where coders differ, with what each coder applied there."""

    disagreements: tuple[Disagreement, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"disagreements": [d.to_dict() for d in self.disagreements]})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"case": d.unit.case, "document": d.unit.document, "segment": d.unit.segment or "",
                              **{coder: "; ".join(codes) for coder, codes in d.applied.items()},
                              "text": d.unit.text} for d in self.disagreements])

    def to_table(self) -> TableView:
        return frame_view(self.to_frame(), title=f"{len(self.disagreements)} disagreement(s)")


def _reason(est: Estimate) -> str:
    return est.note.removeprefix("undefined:").strip() or "undefined on these data"


def _estimate_cell(est: Estimate, reasons: dict[str, int]) -> Cell:
    """A coefficient's cell: its value and interval, or ``undefined (n)`` with n numbering its reason."""
    if est.value is not None:
        return Interval(est.value, est.ci_low, est.ci_high)
    number = reasons.setdefault(_reason(est), len(reasons) + 1)
    return f"undefined ({number})"


def _reason_notes(reasons: Mapping[str, int]) -> tuple[Note, ...]:
    return tuple(Note(f"({n}) undefined: {reason}", "warning") for reason, n in reasons.items())


def _estimate_text(est: Estimate) -> str:
    if est.value is None:
        return f"undefined ({_reason(est)})"
    if est.ci_low is None or est.ci_high is None:
        return f"{est.value:.3f}"
    return f"{est.value:.3f} [{est.ci_low:.2f}, {est.ci_high:.2f}]"


def _estimate_code(code: str, label: str, ratings: np.ndarray, n_categories: int | None, bootstrap: int,
                   seed: int) -> CodeAgreement:
    estimates = compute(ratings, n_categories=n_categories, bootstrap=bootstrap, seed=seed)
    prevalence = bias = precision = recall = f1 = None
    if ratings.shape[1] == 2 and (ratings.size == 0 or int(ratings.max()) <= 1):
        # The 2 x 2 table in one pass (prevalence_bias's indices, from the same counts).
        counts = np.bincount((ratings[:, 0] + 1) * 3 + ratings[:, 1] + 1, minlength=9)
        tp, fp, fn, tn = int(counts[8]), int(counts[7]), int(counts[5]), int(counts[4])
        n = tp + fp + fn + tn
        prevalence, bias = ((tp - tn) / n, (fp - fn) / n) if n else (None, None)
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return CodeAgreement(code, label, int(ratings.shape[0]), estimates, prevalence, bias,
                         kappa_paradox(estimates, ratings=ratings,
                                       labels=["absent", "present"] if n_categories == 2 else None),
                         precision, recall, f1)


def agree(codebook: Codebook, coders: Sequence[str], codings: Mapping[str, Sequence[Coding] | CodingSpans],
          *, documents: Sequence[Document], segments: Sequence[Segment] | SegmentSpans,
          unit: AgreementUnit = AgreementUnit.DOCUMENT,
          codes: Sequence[str] | None = None, tolerance: float = 0.0, overlap: float = 0.9,
          exclude_uncoded: bool = False, bootstrap: int = 1000, seed: int = 12345,
          lang: str | None = None, progress: Progress = no_progress,
          regions: Mapping[str, Sequence[tuple[int, int]]] | None = None) -> AgreementReport:
    """Agreement of ``coders`` per code and pooled over codes, for one unit of comparison.

    ``codings`` (per coder) and ``segments`` are objects or columns (:class:`CodingSpans`,
    :class:`SegmentSpans`). ``progress`` is told each code done (the bootstrap makes this
    the long part). ``regions`` (document -> (start, end) stretches) limits the span unit's
    continuum to those stretches, e.g. the turns of some speakers (``--role``)."""
    known = codebook.code_ids()
    if codes:
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise AgreementError(f"unknown code(s): {', '.join(unknown)}")
    selected = [c for c in known if (not codes or c in codes) and codebook.code(c).codable]
    unit = AgreementUnit.SPAN if unit == AgreementUnit.OVERLAP else unit  # the span unit's old name
    spans, segs = _prepare(codings, segments)
    span_unit = unit == AgreementUnit.SPAN
    if span_unit and len(coders) > 2:
        # Span pairing compares two coders; unitizing alpha takes any number.
        tables = [CodeUnits(code, (), np.zeros((0, len(coders)), dtype=np.int64)) for code in selected]
    else:
        tables = build_units(unit, coders, spans, codes=selected, documents=documents, segments=segs,
                             tolerance=tolerance, overlap=overlap, exclude_uncoded=exclude_uncoded)
    binary = unit in ("document", "case", "segment", "span")
    n_categories = 2 if binary else None
    per_code = []
    step = f"agreement per code ({bootstrap} bootstrap resamples)" if bootstrap else "agreement per code"
    for i, table in enumerate(tables):
        progress(step, i, len(tables) + 1)
        per_code.append(_estimate_code(table.code, codebook.code(table.code).label(lang), table.ratings,
                                       n_categories, bootstrap, seed + i))
    if tables:
        stacked = np.concatenate([t.ratings for t in tables], axis=0)
    else:
        stacked = np.zeros((0, len(coders)), dtype=np.int64)
    progress(step, len(tables), len(tables) + 1)
    pooled = _estimate_code("(pooled)", "all codes", stacked, n_categories if binary else
                            int(stacked.max()) + 1 if stacked.size else None, bootstrap, seed)
    progress(step, len(tables) + 1, len(tables) + 1)
    disagreements = _disagreements(tables, coders, unit)
    conventions = [
        f"unit: {unit} ({'binary: code applied or not' if binary else 'nominal ratings'})",
        "pooled: the units of all codes stacked into one table",
        "Cohen's kappa and Scott's pi: units rated by both coders only (listwise deletion)",
        f"Brennan–Prediger and AC1: {'2 categories (present/absent)' if binary else 'categories observed'}",
        "codes nobody applied are kept as units (all 'absent')" if not exclude_uncoded
        else "units no coder coded with any code are excluded",
        f"95% intervals: percentile bootstrap over units, {bootstrap} resamples, seed {seed}" if bootstrap
        else "no confidence intervals (bootstrap 0)",
    ]
    settings: dict[str, Any] = {
        "scored": binary and len(coders) == 2 and bool(spans.get(coders[0])) and not span_unit
        and all(source == "auto" for source in spans[coders[0]].source),
        "tolerance": tolerance, "overlap": overlap, "exclude_uncoded": exclude_uncoded,
        "bootstrap": bootstrap, "seed": seed, "codes": list(selected)}
    if unit in ("frequency", "coverage"):
        conventions.append(f"ratings within {tolerance} of the first coder's count as equal")
    if unit == AgreementUnit.SEGMENT:
        texts = {d.name: d.text for d in documents}
        partial = {coder: _partial_codings(spans[coder], segs, texts) for coder in coders if coder in spans}
        settings["partial_codings"] = partial
        conventions.append(SEGMENT_RULE)
        conventions += [_partial_note(coder, counts) for coder, counts in partial.items() if counts["span_codings"]]
    unitizing = None
    characters: tuple[CharacterTable, ...] = ()
    if span_unit:
        unitizing = _unitizing(codebook, coders, spans, selected, documents, bootstrap, seed, lang, regions)
        by_name = {d.name: d for d in documents}
        settings.update(documents=len(by_name), characters=sum(len(d.text) for d in by_name.values())
                        if regions is None else sum(e - s for parts in regions.values() for s, e in parts))
        per_code = [_with_unitizing(item, est, len(coders))
                    for item, est in zip(per_code, unitizing.result.codes)]
        pooled = _with_unitizing(pooled, unitizing.result.pooled, len(coders))
        conventions = [f"unit: span (agreement on the characters each coder coded); headline: Krippendorff's "
                       f"unitizing alpha, {len(coders)} coders", *unitizing.result.conventions]
        if len(coders) == 2:
            conventions.append(f"matched spans: spans of one code pair up when their common part is at least "
                               f"{overlap:.0%} of the longer span (percent agreement and Holsti)")
            characters = tuple(character_tables(coders, spans, selected, documents=documents))
    return AgreementReport(unit, tuple(coders), tuple(per_code), pooled, tuple(disagreements),
                           _confusion(tables, coders) if binary and len(coders) == 2 else {},
                           characters, tuple(conventions), settings, unitizing)


# Coefficients that need "neither coder coded this" units to estimate chance agreement.
CHANCE_CORRECTED = ("cohen_kappa", "scott_pi", "krippendorff_alpha", "brennan_prediger", "gwet_ac1", "fleiss_kappa")
NO_NEITHER = ("undefined: no 'neither' units (text nobody coded is not a unit when spans are paired), "
              "so chance agreement cannot be estimated; read unitizing alpha")


def _with_unitizing(item: CodeAgreement, alpha: Estimate, n_coders: int) -> CodeAgreement:
    """A span-unit row: unitizing alpha added, chance-corrected figures of span pairing undefined."""
    estimates = dict(item.estimates)
    for name in CHANCE_CORRECTED:
        if name in estimates:
            estimates[name] = Estimate(None, None, None, NO_NEITHER)
    if n_coders > 2:
        for name in ("percent_agreement", "holsti"):
            estimates[name] = Estimate(None, None, None, "undefined: span pairing compares two coders")
    estimates["unitizing_alpha"] = alpha
    return replace(item, estimates=estimates, prevalence=None, bias=None, warning=None, precision=None,
                   recall=None, f1=None)


@dataclass(frozen=True)
class UnitizingSummary:
    """The uα family of a span-unit report, with the codes it names."""

    codes: tuple[str, ...]
    labels: tuple[str, ...]
    domains: tuple[str, ...]  # each code's top-level code (its domain for Cuα)
    coders: tuple[str, ...]
    result: UnitizingResult

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {"coefficient": "Krippendorff's unitizing alpha (Krippendorff et al. 2016)",
                "codes": [{"code": c, "label": lab, "domain": d, "binary_alpha": e.to_dict(),
                           "coded_characters": dict(zip(self.coders, chars))}
                          for c, lab, d, e, chars in zip(self.codes, self.labels, self.domains, r.codes, r.coded)],
                "pooled_binary_alpha": r.pooled.to_dict(), "cu_alpha": r.coding.to_dict(),
                "Cu_alpha": r.domains.to_dict(), "conventions": list(r.conventions)}


def _domain(codebook: Codebook, code: str) -> str:
    """The top-level ancestor of a code (itself when it has no parent)."""
    seen = {code}
    while (parent := codebook.code(code).parent) and parent not in seen:
        seen.add(parent)
        code = parent
    return code


def _unitizing(codebook: Codebook, coders: Sequence[str], spans: Mapping[str, CodingSpans], codes: Sequence[str],
               documents: Sequence[Document], bootstrap: int, seed: int, lang: str | None,
               regions: Mapping[str, Sequence[tuple[int, int]]] | None = None) -> UnitizingSummary:
    """Unitizing alpha of the coders' span codings on the characters of ``documents``.

    With ``regions``, each stretch is a continuum of its own (a span is cut to the stretches
    it crosses), and the bootstrap draws documents with all their stretches."""
    by_name = {d.name: d for d in documents}  # a name given twice: its last document
    doc_index = {name: i for i, name in enumerate(by_name)}
    code_index = {c: i for i, c in enumerate(codes)}
    if regions is None:
        starts = np.zeros(len(by_name), dtype=np.int64)
        ends = np.asarray([len(d.text) for d in by_name.values()], dtype=np.int64)
        group = np.arange(len(by_name), dtype=np.int64)
    else:
        parts = [(doc_index[name], s, e) for name, stretches in regions.items() if name in doc_index
                 for s, e in sorted(stretches) if e > s]
        group = np.asarray([g for g, _, _ in parts], dtype=np.int64)
        starts = np.asarray([s for _, s, _ in parts], dtype=np.int64)
        ends = np.asarray([e for _, _, e in parts], dtype=np.int64)
    order = np.lexsort((starts, group))
    group, starts, ends = group[order], starts[order], ends[order]
    columns = []
    for coder in coders:
        items = spans.get(coder)
        if items is None:
            columns.append(CoderSpans.of([], [], [], end=[]))
            continue
        code_of, doc_of = _indices(items.code, code_index), _indices(items.document, doc_index)
        ok = (code_of >= 0) & (doc_of >= 0)
        code_of, doc_of = code_of[ok], doc_of[ok]
        s, e = _ints(items.start)[ok], _ints(items.end)[ok]
        # every (span, stretch of its document) pair that shares a character, offsets within the stretch
        first = np.searchsorted(group, doc_of, side="left")
        last = np.searchsorted(group, doc_of, side="right")
        count = last - first
        span = np.repeat(np.arange(len(s)), count)
        stretch = np.repeat(first, count) + (np.arange(len(span)) - np.repeat(np.cumsum(count) - count, count))
        lo = np.maximum(s[span], starts[stretch])
        hi = np.minimum(e[span], ends[stretch])
        hit = hi > lo
        span, stretch = span[hit], stretch[hit]
        columns.append(CoderSpans(code_of[span], stretch, lo[hit] - starts[stretch], hi[hit] - starts[stretch]))
    domains = [_domain(codebook, c) for c in codes]
    domain_index = {d: i for i, d in enumerate(dict.fromkeys(domains))}
    result = unitizing_alpha(columns, (ends - starts).tolist(), len(codes),
                             domains=[domain_index[d] for d in domains], bootstrap=bootstrap, seed=seed,
                             groups=group.tolist())
    return UnitizingSummary(tuple(codes), tuple(codebook.code(c).label(lang) for c in codes), tuple(domains),
                            tuple(coders), result)


def _partial_codings(items: CodingSpans, segs: SegmentSpans, texts: Mapping[str, str]) -> dict[str, int]:
    """How a coder's span codings were assigned to segments (:data:`qda.models.SEGMENT_RULE`)."""
    loose = np.flatnonzero(_ints(items.segment) < 0)
    if not len(loose):
        return {"span_codings": 0, "whole_segments": 0, "partial": 0, "segments_from_partial": 0, "not_counted": 0}
    starts, ends = _ints(items.start)[loose], _ints(items.end)[loose]
    span, seg = _covered(segs, [items.document[i] for i in loose.tolist()], starts, ends, texts)
    inside = (starts[span] <= _ints(segs.start)[seg]) & (ends[span] >= _ints(segs.end)[seg])
    partial = np.zeros(len(loose), dtype=bool)
    partial[span[~inside]] = True
    assigned = np.zeros(len(loose), dtype=bool)
    assigned[span] = True
    return {"span_codings": int(len(loose)), "whole_segments": int((assigned & ~partial).sum()),
            "partial": int(partial.sum()), "segments_from_partial": int(np.isin(span, np.flatnonzero(partial)).sum()),
            "not_counted": int((~assigned).sum())}


def _partial_note(coder: str, counts: Mapping[str, int]) -> str:
    note = (f"{coder}: {counts['span_codings']} span coding(s); {counts['partial']} cover part of a segment "
            f"and count for {counts['segments_from_partial']} segment(s) as if they covered them")
    if counts["not_counted"]:
        note += f"; {counts['not_counted']} share no non-space character with any segment and are not counted"
    return note


def _unit_keys(units: Sequence[Unit]) -> Sequence[Hashable]:
    """What tells the units apart: their keys when they are made on demand, else themselves."""
    keys = units.keys if isinstance(units, _Units) else None
    return units if keys is None else keys


def _disagreements(tables: Sequence[CodeUnits], coders: Sequence[str], unit: str) -> list[Disagreement]:
    """Units where ratings differ, grouped by unit, with what each coder applied there."""
    if unit not in ("span", "overlap") and tables and all(t.units is tables[0].units for t in tables):
        return _shared_disagreements(tables, coders, unit)
    if not tables:
        return []
    binary = unit in ("document", "case", "segment", "span", "overlap")
    # Every unit of every table as one row (units of several codes at one place share a key);
    # only the keys where some table's ratings differ are then visited.
    keys = [k for t in tables for k in _unit_keys(t.units)]
    ids: dict[Hashable, int] = {}
    key_of = np.fromiter((ids.setdefault(k, len(ids)) for k in keys), dtype=np.int64, count=len(keys))
    ratings = np.concatenate([t.ratings for t in tables], axis=0)
    table_of = np.repeat(np.arange(len(tables)), [len(t.units) for t in tables])
    position = np.concatenate([np.arange(len(t.units)) for t in tables])
    valid = ratings >= 0
    high = np.where(valid, ratings, np.iinfo(np.int64).min).max(axis=1, initial=np.iinfo(np.int64).min)
    low = np.where(valid, ratings, np.iinfo(np.int64).max).min(axis=1, initial=np.iinfo(np.int64).max)
    differs = np.zeros(len(ids), dtype=bool)
    differs[key_of[(valid.sum(axis=1) >= 2) & (high != low)]] = True
    last = np.full(len(ids), -1, dtype=np.int64)
    np.maximum.at(last, key_of, np.arange(len(keys)))
    order = position[last]  # a unit's position in the last table holding it
    applied: dict[int, dict[str, list[str]]] = {}
    made: dict[int, Unit] = {}
    for e in np.flatnonzero(differs[key_of]).tolist():
        k, t, row = int(key_of[e]), int(table_of[e]), ratings[e].tolist()
        if k not in applied:
            applied[k] = {c: [] for c in coders}
            made[k] = tables[t].units[int(position[e])]
        for coder, value in zip(coders, row):
            if not binary:
                applied[k][coder].append(f"{tables[t].code}:{int(value)}")
            elif value == 1:
                applied[k][coder].append(tables[t].code)
    return [Disagreement(made[k], {c: tuple(v) for c, v in applied[k].items()})
            for k in sorted(made, key=lambda k: (made[k].document, made[k].case, made[k].start or 0,
                                                 int(order[k])))]


def _shared_disagreements(tables: Sequence[CodeUnits], coders: Sequence[str], unit: str) -> list[Disagreement]:
    """:func:`_disagreements` when every code has the same units (all but ``span``), vectorised.

    The differing units are found with array operations; only they are then visited.
    """
    units = tables[0].units
    differs = np.zeros(len(units), dtype=bool)
    for table in tables:
        r = table.ratings
        if r.shape[1] == 2:
            differs |= (r[:, 0] != r[:, 1]) & (r[:, 0] >= 0) & (r[:, 1] >= 0)
            continue
        valid = r >= 0
        high = np.where(valid, r, np.iinfo(np.int64).min).max(axis=1)
        low = np.where(valid, r, np.iinfo(np.int64).max).min(axis=1)
        differs |= (valid.sum(axis=1) >= 2) & (high != low)
    # Sorted as the unit loop sorted them: document, case, start, then position.
    made = {i: units[i] for i in np.flatnonzero(differs).tolist()}
    found = sorted(made, key=lambda i: (made[i].document, made[i].case, made[i].start or 0, i))
    rows = np.array(found, dtype=np.int64)
    applied: dict[int, dict[str, list[str]]] = {i: {c: [] for c in coders} for i in found}
    for table in tables:
        picked = table.ratings[rows]
        if unit in ("document", "case", "segment"):
            for k, j in zip(*np.nonzero(picked == 1)):
                applied[found[k]][coders[j]].append(table.code)
        else:
            for i, row in zip(found, picked.tolist()):
                for coder, value in zip(coders, row):
                    applied[i][coder].append(f"{table.code}:{int(value)}")
    return [Disagreement(made[i], {c: tuple(v) for c, v in applied[i].items()}) for i in found]


def _confusion(tables: Sequence[CodeUnits], coders: Sequence[str]) -> dict[str, dict[str, int]]:
    """code A used -> code B used instead, on units where A applied a code B did not and vice versa."""
    if tables and all(t.units is tables[0].units for t in tables):
        # Every code has the same units: one matrix product counts the pairs of codes.
        a_alone = np.stack([(t.ratings[:, 0] == 1) & (t.ratings[:, 1] == 0) for t in tables]).astype(np.int64)
        b_alone = np.stack([(t.ratings[:, 0] == 0) & (t.ratings[:, 1] == 1) for t in tables]).astype(np.int64)
        pairs = a_alone @ b_alone.T
        return {x.code: {y.code: int(pairs[i, j]) for j, y in enumerate(tables) if pairs[i, j]}
                for i, x in enumerate(tables) if pairs[i].any()}
    only_a: dict[Hashable, set[str]] = defaultdict(set)
    only_b: dict[Hashable, set[str]] = defaultdict(set)
    for table in tables:
        for u, (x, y) in zip(_unit_keys(table.units), table.ratings[:, :2].tolist()):
            if x == 1 and y == 0:
                only_a[u].add(table.code)
            elif x == 0 and y == 1:
                only_b[u].add(table.code)
    confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for u, codes_a in only_a.items():
        for x in codes_a:
            for y in only_b.get(u, ()):
                confusion[x][y] += 1
    # in the tables' (codebook) order, not the sets': the same project gives the same report
    order = [t.code for t in tables]
    return {x: {y: confusion[x][y] for y in order if confusion[x].get(y)} for x in order if x in confusion}


def agree_table(frame: pd.DataFrame, *, categories: Sequence[str] | None = None, bootstrap: int = 1000,
                seed: int = 12345) -> AgreementReport:
    """Agreement on a plain units x coders table (a cell is a category label, empty = missing)."""
    import pandas as pd

    if frame.shape[1] < 2:
        raise AgreementError("the table needs at least two coder columns")
    ratings, labels = encode(frame)
    n_categories = None
    if categories:
        extra = [label for label in labels if str(label) not in {str(c) for c in categories}]
        if extra:
            raise AgreementError(f"labels not in --categories: {', '.join(map(str, extra))}")
        n_categories = len(categories)
    estimates = compute(ratings, n_categories=n_categories, bootstrap=bootstrap, seed=seed)
    prevalence = bias = None
    if ratings.shape[1] == 2 and len(labels) <= 2 and (n_categories in (None, 2)):
        prevalence, bias = prevalence_bias(ratings) if ratings.size and int(ratings.max()) <= 1 else (None, None)
    pooled = CodeAgreement("(table)", "all units", int(ratings.shape[0]), estimates, prevalence, bias,
                           kappa_paradox(estimates, ratings=ratings, labels=[str(x) for x in labels]))
    units = [Unit("", str(i + 1)) for i in range(len(frame))]
    disagreements = [Disagreement(u, {str(coder): (str(v),) for coder, v in zip(frame.columns, frame.iloc[i])})
                     for i, u in enumerate(units)
                     if len({str(v) for v in frame.iloc[i] if pd.notna(v) and str(v).strip()}) > 1]
    shown = ', '.join(categories) if categories else ', '.join(map(str, labels)) + ' (observed)'
    conventions = (f"categories: {shown}",
                   "Cohen's kappa and Scott's pi: units rated by both coders only (listwise deletion)",
                   f"95% intervals: percentile bootstrap over units, {bootstrap} resamples, seed {seed}"
                   if bootstrap else "no confidence intervals (bootstrap 0)")
    return AgreementReport("table", tuple(str(c) for c in frame.columns), (), pooled, tuple(disagreements),
                           {}, (), conventions, {"bootstrap": bootstrap, "seed": seed,
                                                 "categories": list(categories or [])})


def agree_in(codebook: Codebook, coders: Sequence[str], codings: Mapping[str, Sequence[Coding] | CodingSpans],
             *, documents: Sequence[Document], segments: Sequence[Segment] | SegmentSpans,
             unit: AgreementUnit = AgreementUnit.DOCUMENT,
             codes: Sequence[str] | None = None, cases: Sequence[str] | None = None,
             names: Sequence[str] | None = None, roles: Sequence[str] | None = None, tolerance: float = 0.0,
             overlap: float = 0.9, exclude_uncoded: bool = False, bootstrap: int = 1000,
             seed: int = 12345, progress: Progress = no_progress) -> AgreementReport:
    """:func:`agree` on some cases, documents (``names``) or speaker roles of a project.

    ``roles`` keeps only the segments (and codings) of speakers with those roles. A coder
    without any coding is an error naming every coder's count: a forgotten import, not a
    0 % agreement.
    """
    if len(set(coders)) != len(coders):
        raise AgreementError("a coder is named twice")
    if any(not len(codings[c]) for c in coders):
        counts = ", ".join(f"{c}: {len(codings[c])}" for c in coders)
        raise AgreementError(f"a coder has no codings ({counts}); import their sheet first")
    docs = list(documents)
    if cases:
        _check_names("case", cases, {d.case for d in docs})
        docs = [d for d in docs if d.case in cases]
    if names:
        _check_names("document", names, {d.name for d in docs})
        docs = [d for d in docs if d.name in names]
    kept_docs = {d.name for d in docs}
    spans, segs = _prepare({c: codings[c] for c in coders}, segments)
    chosen = {c: _where(items, [d in kept_docs for d in items.document]) for c, items in spans.items()}
    segs = _where(segs, [d in kept_docs for d in segs.document])
    regions = None
    if roles:
        regions = _role_regions(segs, roles)
        segs = _where(segs, [r in roles for r in segs.role])
        texts = {d.name: d.text for d in docs}
        for c, items in chosen.items():
            rows, positions = _segment_positions(items, segs, texts)
            in_kept = np.zeros(len(items), dtype=bool)
            in_kept[rows[positions >= 0]] = True
            chosen[c] = _where(items, in_kept)
    return agree(codebook, list(coders), chosen, documents=docs, segments=segs, unit=unit, codes=codes,
                 tolerance=tolerance, overlap=overlap, exclude_uncoded=exclude_uncoded,
                 bootstrap=bootstrap, seed=seed, lang=codebook.default_language, progress=progress, regions=regions)


def _role_regions(segs: SegmentSpans, roles: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """Per document, the stretches of consecutive segments whose speaker has one of ``roles``."""
    by_doc: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)
    for d, s, e, r in zip(segs.document, segs.start, segs.end, segs.role):
        by_doc[d].append((s, e, r in roles))
    regions: dict[str, list[tuple[int, int]]] = {}
    for d, items in by_doc.items():
        stretches: list[tuple[int, int]] = []
        previous = False
        for s, e, kept in sorted(items):
            if kept and previous:
                stretches[-1] = (stretches[-1][0], e)
            elif kept:
                stretches.append((s, e))
            previous = kept
        regions[d] = stretches
    return regions


_Columns = TypeVar("_Columns", CodingSpans, SegmentSpans)


def _where(columns: _Columns, keep: Sequence[bool] | np.ndarray) -> _Columns:
    """The rows where ``keep`` is true (the same object when all are)."""
    mask = np.asarray(keep, dtype=bool).reshape(-1)
    if mask.all():
        return columns
    rows = np.flatnonzero(mask).tolist()
    return replace(columns, **{f.name: [value[i] for i in rows] for f in fields(columns)
                               if (value := getattr(columns, f.name)) is not None})


def _check_names(what: str, given: Sequence[str], known: set[str]) -> None:
    unknown = [g for g in given if g not in known]
    if unknown:
        raise NotFoundError(f"unknown {what}(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def _short(label: str, width: int = 40) -> str:
    """A label for a terminal table: at most ``width`` characters, cut between words
    ("Médias sociaux (LinkedIn, Facebook,…"), never inside one."""
    if len(label) <= width:
        return label
    cut = textwrap.shorten(label, width, placeholder="…")
    return cut if cut != "…" else label[:width - 1] + "…"  # one long word: cut it after all
