"""Analyses a qualitative paper needs beside the matrices: retrieval of coded segments and
illustrative quotes, code co-occurrence, code x case-attribute tests, word frequencies and
keyword-in-context search.

Pure functions over a codebook, cases, segments, codings and stored tokens (layer of
:mod:`qda.matrix`): nothing here reads the database or writes a file. Each returns a
result object with ``to_frame()`` and ``to_dict()``.
"""

from __future__ import annotations

import gc
import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import combinations, compress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qda.errors import AnalysisError, NotFoundError
from qda.models import (
    Case,
    Codebook,
    CodeMatch,
    Coding,
    CooccurrenceLevel,
    SearchMode,
    Segment,
    WordUnit,
    assign_segments,
)
from qda.results import Note, TableView, frame_view

if TYPE_CHECKING:  # imported where used: pandas and numpy are a third of a second of start-up
    import numpy as np
    import pandas as pd

MISSING = "(none)"
MATCHES = ("any", "all")
LEVELS = ("case", "document", "segment", "overlap", "near")
BINARY_LEVELS = ("case", "document", "segment")
# Jaccard (and Dice, Ochiai) cannot exceed what the smaller frequency allows: with
# frequencies 2 and 9, Jaccard is at most 2/9. Past this ratio the coefficient mostly
# measures the imbalance, so the table says so.
IMBALANCE_RATIO = 3.0


def _view(frame: pd.DataFrame, title: str, notes: Iterable[str] = (), lead: Iterable[str] = (),
          lines: bool = False) -> TableView:
    """A result's terminal table: its frame, with sentences before and asides after."""
    view = frame_view(frame, title)
    return TableView(view.title, view.columns, view.rows, tuple(Note(t) for t in lead),
                     tuple(Note(t, "aside") for t in notes), lines)


def _check_codes(codebook: Codebook, codes: Iterable[str]) -> None:
    known = set(codebook.code_ids())
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise NotFoundError(f"unknown code(s): {', '.join(unknown)} (codes: {', '.join(codebook.code_ids())})")


def case_groups(cases: Sequence[Case], by: str) -> dict[str, str]:
    """case -> value of attribute ``by`` (``(none)`` when a case lacks it)."""
    if cases and not any(by in c.attributes for c in cases):
        known = sorted({k for c in cases for k in c.attributes})
        raise NotFoundError(f"no case has the attribute '{by}'"
                            + (f" (case attributes: {', '.join(known)})" if known else
                               " (no case attributes imported yet: qda import cases FILE.csv)"))
    return {c.name: c.attributes.get(by) or MISSING for c in cases}


def _group_order(groups: dict[str, str]) -> list[str]:
    return sorted(set(groups.values()))


class _SegmentIndex:
    """Segments of each document in reading order, to map spans to segments."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.by_doc: dict[str, list[Segment]] = defaultdict(list)
        for seg in segments:
            self.by_doc[seg.document].append(seg)
        self.ends: dict[str, list[int]] = {}
        self.starts: dict[str, list[int]] = {}
        for doc, segs in self.by_doc.items():
            segs.sort(key=lambda s: s.start)
            self.starts[doc] = [s.start for s in segs]
            self.ends[doc] = [s.end for s in segs]

    def span(self, document: str, start: int, end: int) -> tuple[int, int] | None:
        """Indexes (first, last) of the segments a span shares a character with."""
        if document not in self.by_doc or end <= start:
            return None
        first = bisect_right(self.ends[document], start)
        last = bisect_left(self.starts[document], end) - 1
        return (first, last) if first <= last else None

    def segment_at(self, document: str, offset: int) -> Segment | None:
        found = self.span(document, offset, offset + 1)
        return self.by_doc[document][found[0]] if found else None


# ============================================================================ retrieval

@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved coded passage, with the sentences around it."""

    coder: str
    codes: tuple[str, ...]
    document: str
    case: str
    segment: str | None
    start: int
    end: int
    text: str
    speaker: str | None = None
    before: str = ""
    after: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    name: str = ""  # the coding's name (a quotation's name in ATLAS.ti, NVivo, MAXQDA)
    modified_by: str = ""  # who last changed the coding, and when ("" when never changed)
    modified_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"coder": self.coder, "codes": list(self.codes), "document": self.document, "case": self.case,
                "segment": self.segment, "start": self.start, "end": self.end, "speaker": self.speaker,
                "text": self.text, "before": self.before, "after": self.after, "attributes": dict(self.attributes),
                "name": self.name, "modified_by": self.modified_by, "modified_at": self.modified_at}


@dataclass(frozen=True)
class Retrieval:
    """Coded passages matching a query (codes combined with any/all, minus excluded codes)."""

    codes: tuple[str, ...]
    match: CodeMatch
    exclude: tuple[str, ...]
    filters: dict[str, Any]
    context: int
    passages: tuple[Passage, ...]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        columns = ["coder", "codes", "case", "document", "segment", "speaker", "before", "text", "after"]
        # names and last changes come from other tools and page edits: columns only when a passage has one
        named = any(p.name for p in self.passages)
        changed = any(p.modified_by or p.modified_at for p in self.passages)
        columns += (["name"] if named else []) + (["modified_by", "modified_at"] if changed else [])
        return pd.DataFrame([{"coder": p.coder, "codes": ", ".join(p.codes), "case": p.case, "document": p.document,
                              "segment": p.segment or "", "speaker": p.speaker or "", "before": p.before,
                              "text": p.text, "after": p.after, "name": p.name, "modified_by": p.modified_by,
                              "modified_at": p.modified_at} for p in self.passages], columns=columns)

    def to_table(self) -> TableView:
        frame = self.to_frame()
        if "modified_by" in frame:  # one narrow column on a terminal: "carl, 2025-01-02 03:04"
            changed = [", ".join(x for x in (p.modified_by, p.modified_at[:16].replace("T", " ")) if x)
                       for p in self.passages]
            frame = frame.drop(columns=["modified_by", "modified_at"]).assign(changed=changed)
        return _view(frame, f"{len(self.passages)} passage(s)", lines=True)

    def to_dict(self) -> dict[str, Any]:
        return {"codes": list(self.codes), "match": str(self.match), "exclude": list(self.exclude),
                "filters": dict(self.filters), "context": self.context, "count": len(self.passages),
                "passages": [p.to_dict() for p in self.passages]}


@contextmanager
def _bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects.

    Measured on 100,000 passages beside 200,000 codings in memory: 3.2 s with the
    collector running (it rescans the whole heap again and again), 1.6 s without.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return max(a[0], b[0]) < min(a[1], b[1])


def _check_query(codebook: Codebook, cases: Sequence[Case], texts: dict[str, str], codes: Sequence[str], match: str,
                 exclude: Sequence[str], case_names: Sequence[str] | None, documents: Sequence[str] | None,
                 where: dict[str, str] | None, context: int) -> dict[str, dict[str, str]]:
    """Refuse a retrieval query that names what does not exist; the attributes of each case."""
    if match not in MATCHES:
        raise AnalysisError(f"unknown match '{match}' (use any or all)")
    if match == "all" and len(codes) < 2:
        raise AnalysisError("--match all needs two or more codes (e.g. --code h --code j)")
    if context < 0:
        raise AnalysisError("--context must be 0 or more")
    _check_codes(codebook, [*codes, *exclude])
    attrs = {c.name: c.attributes for c in cases}
    if where:
        for key in where:
            if not any(key in a for a in attrs.values()):
                names = sorted({k for a in attrs.values() for k in a})
                raise NotFoundError(f"no case has the attribute '{key}' "
                                    f"(case attributes: {', '.join(names) or 'none'})")
    # coders are checked by the caller: a coder may exist with no coding left to retrieve
    for what, given, known in (("case", case_names, set(attrs)), ("document", documents, set(texts))):
        unknown = [g for g in (given or []) if g not in known]
        if unknown:
            raise NotFoundError(f"unknown {what}(s): {', '.join(unknown)} "
                                f"(known: {', '.join(sorted(known)) or 'none'})")

    return attrs


def retrieve(codebook: Codebook, cases: Sequence[Case], segments: Sequence[Segment], *, codings: Sequence[Coding],
             texts: dict[str, str], codes: Sequence[str] = (), match: CodeMatch = CodeMatch.ANY,
             exclude: Sequence[str] = (),
             coders: Sequence[str] | None = None, case_names: Sequence[str] | None = None,
             documents: Sequence[str] | None = None, where: dict[str, str] | None = None,
             context: int = 0) -> Retrieval:
    """Coded passages by code(s), coder, case, document and case attribute.

    ``match="any"`` (OR) returns each passage coded with one of ``codes`` (all codes when
    none is given), listing every requested code on it; ``match="all"`` (AND, i.e.
    overlapping) returns the text that one coder coded with every one of ``codes`` (the
    intersection of the spans). ``exclude`` (NOT) drops passages that share a character
    with a passage of an excluded code by the same coder. ``context`` adds that many
    segments (sentences) before and after.
    """
    attrs = _check_query(codebook, cases, texts, codes, match, exclude, case_names, documents, where, context)
    with _bulk():
        spans = _spans(codebook, codings, codes, match, exclude, coders, case_names, documents, where, attrs)
        passages = with_names(_passages(spans, cases, segments, codings, texts, context), codings)
    filters = {k: v for k, v in (("coders", list(coders or [])), ("cases", list(case_names or [])),
                                 ("documents", list(documents or [])), ("where", dict(where or {}))) if v}
    return Retrieval(tuple(codes), CodeMatch(match), tuple(exclude), filters, context, tuple(passages))


# A passage before it is built, enough to choose it (quotes) and to build it later:
# (coder, document, case, start, end, codes). A plain tuple: 100,000 of them are made.
_Span = tuple[str, str, str, int, int, tuple[str, ...]]


def _spans(codebook: Codebook, codings: Sequence[Coding], codes: Sequence[str], match: str,
           exclude: Sequence[str], coders: Sequence[str] | None, case_names: Sequence[str] | None,
           documents: Sequence[str] | None, where: dict[str, str] | None,
           attrs: dict[str, dict[str, str]]) -> list[_Span]:
    """The passages a retrieval returns, in its order (coder, document, span), not yet built."""
    filtered = bool(coders or case_names or documents or where)

    def keep(c: Coding) -> bool:
        return ((not coders or c.coder in coders) and (not case_names or c.case in case_names)
                and (not documents or c.document in documents)
                and all(attrs.get(c.case, {}).get(k) == v for k, v in (where or {}).items()))

    wanted = set(codes) or set(codebook.code_ids())
    by_unit: dict[tuple[str, str], list[Coding]] = defaultdict(list)
    case_of: dict[str, str] = {}
    for c in codings:
        if c.end > c.start and (not filtered or keep(c)):
            by_unit[(c.coder, c.document)].append(c)
        case_of[c.document] = c.case
    order = {code: i for i, code in enumerate(codebook.code_ids())}
    spans: list[_Span] = []
    for (coder, document), items in sorted(by_unit.items()):
        here: dict[tuple[int, int], list[str]] = {}
        if match == "any":
            for c in items:
                if c.code in wanted:
                    here.setdefault((c.start, c.end), []).append(c.code)
        else:
            found = [(c.start, c.end) for c in items if c.code == codes[0]]
            for code in codes[1:]:
                others = [(c.start, c.end) for c in items if c.code == code]
                found = sorted({(max(a[0], b[0]), min(a[1], b[1])) for a in found for b in others
                                if _overlaps(a, b)})
            here = {span: list(codes) for span in found}
        banned = [(c.start, c.end) for c in items if c.code in exclude]
        case = case_of.get(document, "")
        for (start, end), used in sorted(here.items()):
            if banned and any(_overlaps((start, end), b) for b in banned):
                continue
            used_codes = (used[0],) if len(used) == 1 else tuple(sorted(set(used), key=order.__getitem__))
            spans.append((coder, document, case, start, end, used_codes))
    return spans


def with_names(passages: list[Passage], codings: Sequence[Coding]) -> list[Passage]:
    """Passages with the name and last change of the codings exactly on their span (names
    joined with " / " when several codes there have one; the latest change). Most projects
    have neither (they come from other tools and from edits in the workspace): then the
    passages are returned as they are, after one pass over the codings."""
    marked: dict[tuple[str, str, int, int], list[Coding]] = defaultdict(list)
    for c in codings:
        if c.name or c.modified_by or c.modified_at:
            marked[(c.coder, c.document, c.start, c.end)].append(c)
    if not marked:
        return passages
    found = []
    for p in passages:
        here = [c for c in marked.get((p.coder, p.document, p.start, p.end), ()) if c.code in p.codes]
        if here:
            latest = max(here, key=lambda c: c.modified_at)
            p = replace(p, name=" / ".join(dict.fromkeys(c.name for c in here if c.name)),
                        modified_by=latest.modified_by, modified_at=latest.modified_at)
        found.append(p)
    return found


def _passages(spans: Sequence[_Span], cases: Sequence[Case], segments: Sequence[Segment],
              codings: Sequence[Coding], texts: dict[str, str], context: int) -> list[Passage]:
    """Build the passages of spans: segment, speaker, context and case attributes (a hot loop)."""
    index = _SegmentIndex(segments)
    attrs = {c.name: c.attributes for c in cases}
    case_of = {s.document: s.case for s in segments}
    case_of.update({c.document: c.case for c in codings})
    no_attrs: dict[str, str] = {}
    passages = []
    last: str | None = None
    segs: list[Segment] = []
    seg_texts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    text = case = ""
    attributes: dict[str, str] = no_attrs
    for coder, document, _, start, end, used in spans:
        if document != last:  # spans come document by document: look each document up once
            last = document
            segs = index.by_doc.get(document, [])
            seg_texts = [s.text for s in segs] if context else []
            starts, ends = index.starts.get(document, []), index.ends.get(document, [])
            text = texts[document]
            case = case_of.get(document, "")
            attributes = attrs.get(case, no_attrs)  # shared, read-only: one dict per case
        first = None
        before = after = ""
        if segs:  # the segments the span shares a character with (_SegmentIndex.span, inlined)
            first_i = bisect_right(ends, start)
            last_i = bisect_left(starts, end) - 1
            if first_i <= last_i:
                first = segs[first_i]
                if context:
                    before = " ".join(seg_texts[max(0, first_i - context):first_i])
                    after = " ".join(seg_texts[last_i + 1:last_i + 1 + context])
        passages.append(Passage(coder, used, document, case, first.ref if first else None, start, end,
                                text[start:end], first.speaker if first else None, before, after, attributes))
    return passages


@dataclass(frozen=True)
class QuoteTable:
    """Illustrative quotes: up to ``per_code`` passages per code and group of cases."""

    by: str
    per_code: int
    groups: tuple[str, ...]
    codes: tuple[tuple[str, str], ...]  # (code, label) in codebook order, codes with a quote
    cells: dict[str, dict[str, tuple[Passage, ...]]]  # code -> group -> passages
    available: dict[str, dict[str, int]]  # code -> group -> passages there were to choose from

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        records = []
        for code, label in self.codes:
            for group in self.groups:
                for p in self.cells[code].get(group, ()):
                    records.append({"code": code, "label": label, self.by: group, "case": p.case,
                                    "segment": p.segment or "", "coder": p.coder, "quote": p.text})
        return pd.DataFrame(records, columns=["code", "label", self.by, "case", "segment", "coder", "quote"])

    def to_table(self) -> TableView:
        return _view(self.to_frame(), f"Illustrative quotes: up to {self.per_code} per code and {self.by}",
                     lines=True)

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "per_code": self.per_code, "groups": list(self.groups),
                "codes": [{"code": code, "label": label, "groups": {
                    g: {"available": self.available[code].get(g, 0),
                        "quotes": [p.to_dict() for p in self.cells[code].get(g, ())]} for g in self.groups}}
                    for code, label in self.codes]}


def quote_table(codebook: Codebook, cases: Sequence[Case], retrieval: Retrieval, *, by: str, per_code: int = 2,
                lang: str | None = None) -> QuoteTable:
    """K quotes per code and group, taken from different cases first (round robin over the
    cases in name order, each case's passages in reading order), so that one talkative case
    does not fill the table."""
    if per_code < 1:
        raise AnalysisError("--per-code must be 1 or more")
    passages = retrieval.passages
    items = [(p.coder, p.document, p.case, p.start, p.end, p.codes, i) for i, p in enumerate(passages)]
    return _choose_quotes(codebook, cases, items, by, per_code, lang, lambda chosen: [passages[t[6]] for t in chosen])


def quotes(codebook: Codebook, cases: Sequence[Case],
           segments: Sequence[Segment] | Callable[[set[str]], Sequence[Segment]], *, codings: Sequence[Coding],
           texts: dict[str, str], by: str, per_code: int = 2, lang: str | None = None, codes: Sequence[str] = (),
           match: CodeMatch = CodeMatch.ANY, exclude: Sequence[str] = (), coders: Sequence[str] | None = None,
           case_names: Sequence[str] | None = None, documents: Sequence[str] | None = None,
           where: dict[str, str] | None = None, context: int = 0) -> QuoteTable:
    """The table of :func:`quote_table` over the passages :func:`retrieve` would return
    (same arguments), identical, but only the chosen passages are built: at 1,000
    documents the retrieval has 100,000 passages for a table of a few hundred.
    ``segments`` may be a function giving the segments of the named documents: only
    those of the chosen passages are then read."""
    attrs = _check_query(codebook, cases, texts, codes, match, exclude, case_names, documents, where, context)
    if per_code < 1:
        raise AnalysisError("--per-code must be 1 or more")
    with _bulk():
        spans = _spans(codebook, codings, codes, match, exclude, coders, case_names, documents, where, attrs)
    def build(chosen: list[Any]) -> list[Passage]:
        found = segments({t[1] for t in chosen}) if callable(segments) else segments
        return with_names(_passages(chosen, cases, found, codings, texts, context), codings)

    return _choose_quotes(codebook, cases, spans, by, per_code, lang, build)


def _choose_quotes(codebook: Codebook, cases: Sequence[Case], items: Sequence[tuple[Any, ...]], by: str,
                   per_code: int, lang: str | None, build: Callable[[list[Any]], list[Passage]]) -> QuoteTable:
    """Choose the quotes among spans ``(coder, document, case, start, end, codes, ...)`` in
    retrieval order, then build the passages of the chosen ones only."""
    groups = case_groups(cases, by)
    # code -> group -> case -> items, in one pass; several coders' copies of one passage count once
    pools: dict[str, dict[str, dict[str, list[Any]]]] = {}
    seen: dict[str, set[tuple[str, int, int]]] = {}
    for item in items:
        key = (item[1], item[3], item[4])
        for code in item[5]:
            done = seen.setdefault(code, set())
            if key in done:
                continue
            done.add(key)
            case = item[2]
            pools.setdefault(code, {}).setdefault(groups.get(case, MISSING), {}).setdefault(case, []).append(item)
    chosen_cells: dict[str, dict[str, list[Any]]] = {}
    available: dict[str, dict[str, int]] = {}
    for code in codebook.codes:
        pool = pools.get(code.id)
        if not pool:
            continue
        chosen_cells[code.id], available[code.id] = {}, {}
        for group, per_case in pool.items():
            queues = [sorted(v, key=lambda t: (t[1], t[3])) for _, v in sorted(per_case.items())]
            chosen: list[Any] = []
            depth = 0
            while len(chosen) < per_code and any(depth < len(q) for q in queues):
                chosen.extend(q[depth] for q in queues if depth < len(q))
                depth += 1
            chosen_cells[code.id][group] = chosen[:per_code]
            available[code.id][group] = sum(len(q) for q in queues)
    built = iter(build([t for cell in chosen_cells.values() for chosen in cell.values() for t in chosen]))
    cells = {code: {group: tuple(next(built) for _ in chosen) for group, chosen in cell.items()}
             for code, cell in chosen_cells.items()}
    codes = tuple((c.id, c.label(lang)) for c in codebook.codes if c.id in cells)
    return QuoteTable(by, per_code, tuple(_group_order(groups)), codes, cells, available)


# ============================================================================ co-occurrence

def jaccard(n_ab: int, n_a: int, n_b: int) -> float | None:
    """Jaccard = a / (a + b + c), ATLAS.ti's c-coefficient n12 / (n1 + n2 - n12)."""
    union = n_a + n_b - n_ab
    return n_ab / union if union > 0 else None


def dice(n_ab: int, n_a: int, n_b: int) -> float | None:
    """Sørensen–Dice = 2a / (2a + b + c) = 2 n12 / (n1 + n2)."""
    return 2 * n_ab / (n_a + n_b) if n_a + n_b > 0 else None


def ochiai(n_ab: int, n_a: int, n_b: int) -> float | None:
    """Ochiai = a / sqrt((a + b)(a + c)) = n12 / sqrt(n1 n2) (cosine of binary vectors)."""
    return n_ab / math.sqrt(n_a * n_b) if n_a and n_b else None


@dataclass(frozen=True)
class CooccurrencePair:
    a: str
    b: str
    n_a: int
    n_b: int
    n_ab: int
    jaccard: float | None
    dice: float | None
    ochiai: float | None
    warning: str = ""


@dataclass(frozen=True)
class CooccurrenceTable:
    """Code x code co-occurrence in one group of cases (or all cases)."""

    group: str
    units: int  # cases, documents or segments (passages at the overlap/near levels)
    frequencies: dict[str, int]
    pairs: tuple[CooccurrencePair, ...]

    def matrix(self, measure: str = "n_ab") -> pd.DataFrame:
        """Square code x code frame of a measure (n_ab, jaccard, dice, ochiai); the diagonal
        holds the frequencies for counts and 1 for coefficients of used codes."""
        import numpy as np
        import pandas as pd

        codes = list(self.frequencies)
        where = {c: i for i, c in enumerate(codes)}
        grid = np.full((len(codes), len(codes)), np.nan)
        for code, n in self.frequencies.items():
            grid[where[code], where[code]] = n if measure == "n_ab" else (1.0 if n else np.nan)
        for p in self.pairs:
            value = getattr(p, measure)
            grid[where[p.a], where[p.b]] = grid[where[p.b], where[p.a]] = np.nan if value is None else value
        return pd.DataFrame(grid, index=codes, columns=codes)


@dataclass(frozen=True)
class Clustering:
    """Average-linkage hierarchical clustering of codes on Jaccard distance (scipy)."""

    codes: tuple[str, ...]  # the codes clustered (used at least once), linkage index order
    linkage: tuple[tuple[float, float, float, float], ...]  # scipy linkage rows
    leaves: tuple[str, ...]  # dendrogram order

    def to_dict(self) -> dict[str, Any]:
        n = len(self.codes)
        names = list(self.codes)
        merges = []
        for i, (a, b, dist, size) in enumerate(self.linkage):
            merges.append({"cluster": n + i, "left": names[int(a)] if a < n else int(a),
                           "right": names[int(b)] if b < n else int(b), "distance": dist, "size": int(size)})
        return {"method": "average linkage on Jaccard distance (1 - J)", "codes": names, "leaves": list(self.leaves),
                "merges": merges}


@dataclass(frozen=True)
class Cooccurrence:
    """Co-occurrence of codes at one level, for all cases and per group."""

    level: str
    coder: str
    near: int
    by: str | None
    tables: tuple[CooccurrenceTable, ...]  # the first covers all cases
    clustering: Clustering | None = None
    all_pairs: bool = True  # to_frame: every pair; False: only pairs that occur together (n ab > 0)

    def to_frame(self) -> pd.DataFrame:
        """One row per pair (see ``all_pairs``), coefficients at full precision."""
        import pandas as pd

        records = []
        for table in self.tables:
            for p in table.pairs:
                if not (self.all_pairs or p.n_ab):
                    continue
                records.append({"group": table.group, "code a": p.a, "code b": p.b, "n a": p.n_a, "n b": p.n_b,
                                "n ab": p.n_ab, "jaccard": p.jaccard, "dice": p.dice, "ochiai": p.ochiai,
                                "note": p.warning})
        return pd.DataFrame(records, columns=["group", "code a", "code b", "n a", "n b", "n ab", "jaccard", "dice",
                                              "ochiai", "note"])

    def to_table(self) -> TableView:
        frame = self.to_frame()
        notes = [f"clusters (dendrogram order): {' '.join(self.clustering.leaves)}"] if self.clustering else []
        return _view(frame[frame["n ab"] > 0], f"Co-occurrence at the {self.level} level (coder {self.coder})", notes)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "coder": self.coder, "near": self.near if self.level == "near" else None,
                "by": self.by, "imbalance_ratio": IMBALANCE_RATIO,
                "tables": [{"group": t.group, "units": t.units, "frequencies": dict(t.frequencies),
                            "pairs": [p.__dict__ for p in t.pairs]} for t in self.tables],
                "clustering": self.clustering.to_dict() if self.clustering else None}


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _pair(a: str, b: str, n_a: int, n_b: int, n_ab: int, bounded: bool) -> CooccurrencePair:
    if not bounded and n_ab > min(n_a, n_b):
        # overlap/near count pairs of passages: one long passage can meet several, and a
        # "coefficient" above its bound would be meaningless.
        return CooccurrencePair(a, b, n_a, n_b, n_ab, None, None, None,
                                "more pairs than passages of the rarer code: coefficients not defined")
    warning = ""
    low, high = min(n_a, n_b), max(n_a, n_b)
    if n_ab and low and high / low >= IMBALANCE_RATIO:
        warning = (f"frequencies {n_a} and {n_b} are unequal: Jaccard can be at most {low / high:.2f}; "
                   "read the count, not the coefficient")
    return CooccurrencePair(a, b, n_a, n_b, n_ab, jaccard(n_ab, n_a, n_b), dice(n_ab, n_a, n_b),
                            ochiai(n_ab, n_a, n_b), warning)


def _binary_units(level: str, codings: Sequence[Coding], index: _SegmentIndex,
                  cases: Iterable[str]) -> tuple[list[str], dict[str, set[str]]]:
    """Units of the level in scope, and for each code the units where it is present."""
    keep = set(cases)
    present: dict[str, set[str]] = defaultdict(set)
    kept = [c for c in codings if c.case in keep]
    if level == "segment":
        # the segments a coding counts for: the one rule of agreement and adjudication
        every = [seg for segs in index.by_doc.values() for seg in segs]
        for c, refs in zip(kept, assign_segments(kept, every)):
            present[c.code].update(refs)
    for c in kept:
        if level == "case":
            present[c.code].add(c.case)
        elif level == "document":
            present[c.code].add(c.document)
    if level == "case":
        units = sorted(keep)
    elif level == "document":
        units = sorted({d for d, segs in index.by_doc.items() if segs and segs[0].case in keep}
                       | {c.document for c in codings if c.case in keep})
    else:
        units = [s.ref for segs in index.by_doc.values() for s in segs if s.case in keep]
    return units, present


def _pair_counts(level: str, near: int, codings: Sequence[Coding], index: _SegmentIndex,
                 cases: Iterable[str]) -> tuple[int, dict[str, int], dict[tuple[str, str], int]]:
    """Passages per code and pairs of passages sharing a character (overlap) or within
    ``near`` segments (near) in the same document."""
    keep = set(cases)
    passages = sorted({(c.document, c.start, c.end, c.code) for c in codings if c.case in keep and c.end > c.start})
    freq = Counter(p[3] for p in passages)
    by_doc: dict[str, list[tuple[int, int, str, tuple[int, int] | None]]] = defaultdict(list)
    for doc, start, end, code in passages:
        by_doc[doc].append((start, end, code, index.span(doc, start, end)))
    pairs: Counter[tuple[str, str]] = Counter()
    for items in by_doc.values():
        # sweep in reading order: once a passage starts past the reach of the current one,
        # so do all later ones
        if level == "overlap":
            spans = sorted((s, e, c) for s, e, c, _ in items)
        else:
            spans = sorted((g[0], g[1] + near + 1, c) for _, _, c, g in items if g is not None)
        for i, (_, e1, c1) in enumerate(spans):
            for s2, _, c2 in spans[i + 1:]:
                if s2 >= e1:
                    break
                if c1 != c2:
                    pairs[(min(c1, c2), max(c1, c2))] += 1
    return len(passages), dict(freq), dict(pairs)


def _cooccurrence_table(group: str, level: str, near: int, codes: Sequence[str], codings: Sequence[Coding],
                        index: _SegmentIndex, cases: Sequence[str]) -> CooccurrenceTable:
    if level in BINARY_LEVELS:
        units, present = _binary_units(level, codings, index, cases)
        freq = {c: len(present.get(c, ())) for c in codes}
        pairs = [_pair(a, b, freq[a], freq[b], len(present.get(a, set()) & present.get(b, set())), True)
                 for a, b in combinations(codes, 2)]
        return CooccurrenceTable(group, len(units), freq, tuple(pairs))
    n, raw_freq, raw_pairs = _pair_counts(level, near, codings, index, cases)
    freq = {c: raw_freq.get(c, 0) for c in codes}
    pairs = []
    for a, b in combinations(codes, 2):
        pairs.append(_pair(a, b, freq[a], freq[b], raw_pairs.get((min(a, b), max(a, b)), 0), False))
    return CooccurrenceTable(group, n, freq, tuple(pairs))


def cluster_codes(table: CooccurrenceTable) -> Clustering:
    """Average-linkage (UPGMA) clustering of the used codes on Jaccard distance."""
    import numpy as np
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    codes = [c for c, n in table.frequencies.items() if n > 0]
    if len(codes) < 3:
        raise AnalysisError(f"clustering needs at least 3 codes in use (there are {len(codes)})")
    j = table.matrix("jaccard").loc[codes, codes].to_numpy(dtype=float)
    distance = 1.0 - np.nan_to_num(j, nan=0.0)
    np.fill_diagonal(distance, 0.0)
    result = linkage(squareform(distance, checks=False), method="average")
    leaves = dendrogram(result, no_plot=True, labels=codes)["ivl"]
    merges = tuple((float(a), float(b), float(dist), float(size)) for a, b, dist, size in result)
    return Clustering(tuple(codes), merges, tuple(leaves))


def cooccurrence(codebook: Codebook, cases: Sequence[Case], segments: Sequence[Segment], *, codings: Sequence[Coding],
                 coder: str, level: CooccurrenceLevel = CooccurrenceLevel.CASE, near: int = 1, by: str | None = None,
                 codes: Sequence[str] | None = None, cluster: bool = False) -> Cooccurrence:
    """Code x code co-occurrence of one coder's codings at a level.

    Levels: ``case``, ``document``, ``segment`` (a code is present in a unit or not, the
    count is the number of units holding both codes; a span coding is present in the
    segments of :data:`qda.models.SEGMENT_RULE`), ``overlap`` (pairs of passages of
    the two codes sharing at least one character) and ``near`` (pairs of passages at most
    ``near`` segments apart, overlapping included). ``by`` adds one table per group of
    cases; ``cluster`` clusters codes on the all-cases table (binary levels only).
    """
    if level not in LEVELS:
        raise AnalysisError(f"unknown level '{level}' (use one of: {', '.join(LEVELS)})")
    if near < 0:
        raise AnalysisError("--near must be 0 or more")
    if cluster and level not in BINARY_LEVELS:
        raise AnalysisError(f"--cluster needs a level where codes are present or absent ({', '.join(BINARY_LEVELS)}), "
                            f"not '{level}'")
    if codes:
        _check_codes(codebook, codes)
    chosen = list(codes) if codes else [c.id for c in codebook.codes if c.codable]
    index = _SegmentIndex(segments)
    names = sorted({c.name for c in cases} | {c.case for c in codings})
    tables = [_cooccurrence_table("all", level, near, chosen, codings, index, names)]
    if by:
        groups = case_groups(cases, by)
        for value in _group_order(groups):
            members = [c for c in names if groups.get(c, MISSING) == value]
            tables.append(_cooccurrence_table(value, level, near, chosen, codings, index, members))
    clustering = cluster_codes(tables[0]) if cluster else None
    return Cooccurrence(level, coder, near, by, tuple(tables), clustering)


# ============================================================================ code x attribute tests

@dataclass(frozen=True)
class CodeTest:
    """One code: presence per group, the test, its p-values and effect sizes."""

    code: str
    label: str
    present: tuple[int, ...]  # cases using the code, per group
    test: str
    p: float | None
    p_holm: float | None = None
    p_bh: float | None = None
    odds_ratio: float | None = None
    or_low: float | None = None
    or_high: float | None = None
    haldane: bool = False
    cramers_v: float | None = None
    min_p: float | None = None  # smallest p-value these margins allow (2 x 2)


@dataclass(frozen=True)
class AttributeTests:
    """Presence of each code x a case attribute, with exact tests and adjusted p-values."""

    by: str
    coder: str
    groups: tuple[tuple[str, int], ...]
    alpha: float
    resamples: int
    seed: int
    rows: tuple[CodeTest, ...]
    conclusions: tuple[str, ...]
    conventions: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        names = [f"{g} (n={n})" for g, n in self.groups]
        records = []
        for r in self.rows:
            rec: dict[str, Any] = {"code": r.code, "label": r.label}
            rec.update(dict(zip(names, r.present)))
            rec.update({"test": r.test, "p": _round(r.p, 4), "p Holm": _round(r.p_holm, 4), "p BH": _round(r.p_bh, 4),
                        "odds ratio": _round(r.odds_ratio), "OR 95% low": _round(r.or_low),
                        "OR 95% high": _round(r.or_high), "Haldane": "yes" if r.haldane else "",
                        "Cramér's V": _round(r.cramers_v), "smallest p possible": _round(r.min_p, 4)})
            records.append(rec)
        return pd.DataFrame(records)

    def to_table(self) -> TableView:
        return _view(self.to_frame().drop(columns=["label"]), f"Code presence x {self.by} (coder {self.coder})",
                     self.conventions, self.conclusions)

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "coder": self.coder, "groups": [{"value": g, "n": n} for g, n in self.groups],
                "alpha": self.alpha, "resamples": self.resamples, "seed": self.seed,
                "rows": [{**r.__dict__, "present": dict(zip([g for g, _ in self.groups], r.present))}
                         for r in self.rows],
                "conclusions": list(self.conclusions), "conventions": list(self.conventions)}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjusted p-values (false discovery rate)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i], reverse=True)
    adjusted = [0.0] * m
    running = 1.0
    for rank, i in enumerate(order):
        running = min(running, m * pvalues[i] / (m - rank))
        adjusted[i] = running
    return adjusted


def odds_ratio_ci(table: Sequence[Sequence[int]], z: float = 1.959964) -> tuple[float, float, float, bool]:
    """Sample odds ratio ad/bc with Woolf's (log) 95% interval; when a cell is zero every
    cell gets +0.5 first (Haldane–Anscombe correction), which the fourth value reports."""
    haldane = any(0 in row for row in table)
    (a, b), (c, d) = ((float(x) + (0.5 if haldane else 0.0) for x in row) for row in table)
    ratio = (a * d) / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return ratio, math.exp(math.log(ratio) - z * se), math.exp(math.log(ratio) + z * se), haldane


def cramers_v(table: np.ndarray) -> float | None:
    """Cramér's V = sqrt(chi2 / (n (min(r, c) - 1))), chi2 without continuity correction."""
    import numpy as np

    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    if (expected == 0).any():
        return None
    chi2 = float(((table - expected) ** 2 / expected).sum())
    k = min(table.shape) - 1
    return math.sqrt(chi2 / (n * k)) if k > 0 else None


def _min_fisher_p(row_totals: tuple[int, int], used: int) -> float:
    """The smallest two-sided Fisher p any 2 x 2 table with these margins can give."""
    from scipy.stats import fisher_exact

    n1, n2 = row_totals
    # p(table) sums the probabilities not above the table's own, so it is smallest for the
    # least probable table, one of the two ends of the (unimodal) hypergeometric range
    ends = (max(0, used - n2), min(n1, used))
    return min(float(fisher_exact([[a, n1 - a], [used - a, n2 - (used - a)]]).pvalue) for a in ends)


def attribute_tests(codebook: Codebook, cases: Sequence[Case], codings: Sequence[Coding], *, by: str, coder: str,
                    alpha: float = 0.05, resamples: int = 9999, seed: int = 12345,
                    lang: str | None = None) -> AttributeTests:
    """For each code, presence (used by a case or not) x the values of case attribute ``by``.

    Two groups: Fisher's exact test (two-sided, scipy) and the odds ratio of use in the
    second group vs the first. More groups: the Fisher–Freeman–Halton test by Monte Carlo
    (``resamples`` random tables with the observed margins, seeded). Never a chi-squared
    approximation. Holm and Benjamini–Hochberg adjust over the codes tested.
    """
    import numpy as np
    from scipy.stats import MonteCarloMethod, fisher_exact

    if not 0 < alpha < 1:
        raise AnalysisError("alpha must be between 0 and 1")
    groups = case_groups(cases, by)
    unknown = sorted(c for c, g in groups.items() if g == MISSING)  # no value: not a group to compare
    values = [v for v in _group_order(groups) if v != MISSING]
    if len(values) < 2:
        raise AnalysisError(f"the attribute '{by}' has a single value ({values[0] if values else 'none'}): "
                            "nothing to compare")
    members = {v: sorted(c for c, g in groups.items() if g == v) for v in values}
    used: dict[str, set[str]] = defaultdict(set)
    for c in codings:
        used[c.code].add(c.case)
    n_total = sum(len(m) for m in members.values())
    rows: list[CodeTest] = []
    for code in codebook.codes:
        if not code.codable:
            continue
        present = tuple(len(used[code.id] & set(members[v])) for v in values)
        table = np.array([[p, len(members[v]) - p] for p, v in zip(present, values)])
        if table[:, 0].sum() in (0, n_total):
            rows.append(CodeTest(code.id, code.label(lang), present, "not tested: used by no case" if
                                 table[:, 0].sum() == 0 else "not tested: used by every case", None))
            continue
        v = cramers_v(table)
        if len(values) == 2:
            ordered = table[::-1]  # second group first: the odds ratio is group 2 vs group 1
            p = float(fisher_exact(ordered).pvalue)
            ratio, low, high, haldane = odds_ratio_ci(ordered.tolist())
            rows.append(CodeTest(code.id, code.label(lang), present, "Fisher exact", p, odds_ratio=ratio,
                                 or_low=low, or_high=high, haldane=haldane, cramers_v=v,
                                 min_p=_min_fisher_p((int(table[1].sum()), int(table[0].sum())),
                                                     int(table[:, 0].sum()))))
        else:
            result = fisher_exact(table, method=MonteCarloMethod(n_resamples=resamples,
                                                                 rng=np.random.default_rng(seed)))
            rows.append(CodeTest(code.id, code.label(lang), present,
                                 f"Fisher–Freeman–Halton, Monte Carlo ({resamples:,} tables)",
                                 float(result.pvalue), cramers_v=v))
    tested = [i for i, r in enumerate(rows) if r.p is not None]
    if tested:
        ps = [rows[i].p for i in tested]
        for i, ph, pb in zip(tested, holm(ps), benjamini_hochberg(ps)):  # type: ignore[arg-type]
            r = rows[i]
            rows[i] = CodeTest(**{**r.__dict__, "p_holm": ph, "p_bh": pb})
    sizes = tuple((v, len(members[v])) for v in values)
    return AttributeTests(by, coder, sizes, alpha, resamples, seed, tuple(rows),
                          tuple(_conclusions(rows, sizes, alpha, by)),
                          tuple(_test_conventions(values, resamples)
                                + ([f"{len(unknown)} case(s) without a value for '{by}' left out: "
                                    f"{', '.join(unknown)}."] if unknown else [])))


def _test_conventions(values: Sequence[str], resamples: int) -> list[str]:
    lines = ["A case counts once per code: the code is present in the case or not."]
    if len(values) == 2:
        lines += [f"Fisher's exact test, two-sided (scipy.stats.fisher_exact); the odds ratio is the odds that a "
                  f"case of '{values[1]}' uses the code over the same odds for '{values[0]}', with Woolf's 95% "
                  "interval.",
                  "Where a cell is zero the odds ratio and its interval use the Haldane–Anscombe correction "
                  "(0.5 added to every cell); those rows are marked.",
                  "'smallest p possible' is the smallest p-value any table with the code's margins could give."]
    else:
        lines.append(f"Fisher–Freeman–Halton exact test estimated by Monte Carlo ({resamples:,} random tables with "
                     "the observed margins); no chi-squared approximation.")
    lines += ["Cramér's V from the uncorrected chi-squared statistic (effect size only, not a test).",
              "Holm (family-wise) and Benjamini–Hochberg (false discovery rate) adjust over the codes tested."]
    return lines


def _conclusions(rows: Sequence[CodeTest], sizes: Sequence[tuple[str, int]], alpha: float, by: str) -> list[str]:
    tested = [r for r in rows if r.p is not None]
    n = sum(k for _, k in sizes)
    design = " + ".join(str(k) for _, k in sizes)
    out = []
    if not tested:
        return [f"No code varies between the values of '{by}': nothing was tested."]
    significant = [r.code for r in tested if r.p_holm is not None and r.p_holm < alpha]
    fdr = [r.code for r in tested if r.p_bh is not None and r.p_bh < alpha]
    reachable = [r.min_p for r in tested if r.min_p is not None]
    if reachable and min(reachable) * len(tested) >= alpha and not significant:
        out.append(f"With {n} cases ({design}), no code can differ significantly between the groups: even the "
                   f"most one-sided split these margins allow gives p = {min(reachable):.3f} at best, and "
                   f"{min(1.0, min(reachable) * len(tested)):.2f} after Holm's correction for {len(tested)} codes. "
                   "The sample is too small to conclude anything from these tests; report the counts as "
                   "description.")
    elif significant:
        out.append(f"Codes differing between groups after Holm's correction (alpha {alpha}): {', '.join(significant)}.")
    else:
        out.append(f"No code differs between groups after Holm's correction (alpha {alpha})"
                   + (f"; with the false-discovery-rate correction: {', '.join(fdr)}." if fdr else "."))
    if n < 20 and not out[0].startswith("With"):
        out.append(f"With only {n} cases the tests have little power and the intervals are wide.")
    return out


# ============================================================================ words and search

@dataclass(frozen=True)
class DocumentTokens:
    """A document's stored tokens (from import): offsets, lower-cased words and lemmas."""

    document: str
    case: str
    language: str
    text: str
    starts: Sequence[int]
    ends: Sequence[int]
    lower: Sequence[str]
    lemma: Sequence[str]


UNITS_BY = ("document", "case")
_APOSTROPHES = ("\u2019", "\u2018", "\u02bc", "\uff07", "\u2032")  # as auto-coding unifies them


def fold_apostrophes(word: str) -> str:
    """``word`` with typographic apostrophes as ASCII ones (as the stored tokens are compared)."""
    for a in _APOSTROPHES:
        word = word.replace(a, "'")
    return word


def stop_words(languages: Iterable[str]) -> frozenset[str]:
    """spaCy's stop-word lists of the languages, apostrophes unified."""
    import importlib.util

    words: set[str] = set()
    spacy = importlib.util.find_spec("spacy")  # locates the package without importing it
    for language in sorted(set(languages)):
        if spacy is None or not spacy.submodule_search_locations:
            raise AnalysisError("spaCy is not installed: its stop-word lists are needed (pip install spacy)")
        # the lists are plain modules (one set literal); loading them alone avoids importing
        # spaCy itself, which costs seconds
        path = Path(next(iter(spacy.submodule_search_locations))) / "lang" / language / "stop_words.py"
        if not path.exists():  # a language spaCy has no stop-word list for
            continue
        spec = importlib.util.spec_from_file_location(f"_qda_stop_words_{language}", path)
        if spec is None or spec.loader is None:
            raise AnalysisError(f"spaCy's {language} stop-word list is missing ({path})")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        words.update(fold_apostrophes(w.lower()) for w in module.STOP_WORDS)
    return frozenset(words)


def _unit_of(by: str, cases: dict[str, dict[str, str]]) -> Any:
    if by == "document":
        return lambda doc: doc.document
    if by == "case":
        return lambda doc: doc.case
    if not any(by in a for a in cases.values()):
        known = sorted({k for a in cases.values() for k in a})
        raise NotFoundError(f"'{by}' is neither document, case nor a case attribute "
                            f"(case attributes: {', '.join(known) or 'none'})")
    return lambda doc: cases.get(doc.case, {}).get(by) or MISSING


def _tokens_in_roles(doc: DocumentTokens, index: _SegmentIndex, roles: Sequence[str]) -> np.ndarray:
    """Mask of the document's tokens lying in a segment of a speaker with one of ``roles``."""
    import numpy as np

    segs = index.by_doc.get(doc.document, [])
    if not segs or not len(doc.starts):
        return np.zeros(len(doc.starts), dtype=bool)
    seg_starts = np.array(index.starts[doc.document])
    seg_ends = np.array(index.ends[doc.document])
    allowed = np.array([s.role in roles for s in segs])
    tokens = np.asarray(doc.starts)
    i = np.searchsorted(seg_starts, tokens, side="right") - 1
    inside = (i >= 0) & (tokens < seg_ends[np.clip(i, 0, None)])
    mask: np.ndarray = inside & allowed[np.clip(i, 0, None)]
    return mask


def _is_word(word: str) -> bool:
    return len(word) > 1 and any(ch.isalpha() for ch in word)


@dataclass(frozen=True)
class DistinctiveWord:
    term: str
    count: int  # in the group
    rest: int  # in the other groups
    log_odds: float  # delta of Monroe et al. (2008)
    z: float


@dataclass(frozen=True)
class WordCounts:
    """Word or lemma counts per unit, and the words that distinguish each unit from the rest."""

    by: str
    unit: str  # word | lemma
    roles: tuple[str, ...]
    prior: float
    totals: dict[str, int]  # unit -> counted tokens
    counts: dict[str, dict[str, int]]  # unit -> term -> count
    top: int
    distinctive: dict[str, tuple[DistinctiveWord, ...]]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        records = []
        for group, terms in self.counts.items():
            ranked = sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:self.top]
            for rank, (term, n) in enumerate(ranked, 1):
                records.append({self.by: group, "rank": rank, self.unit: term, "count": n,
                                "per 1,000": round(1000 * n / self.totals[group], 2) if self.totals[group] else None})
        return pd.DataFrame(records, columns=[self.by, "rank", self.unit, "count", "per 1,000"])

    def distinctive_frame(self) -> pd.DataFrame:
        import pandas as pd

        records = [{self.by: g, self.unit: w.term, "count": w.count, "rest": w.rest, "log-odds": round(w.log_odds, 3),
                    "z": round(w.z, 2)} for g, words in self.distinctive.items() for w in words]
        return pd.DataFrame(records, columns=[self.by, self.unit, "count", "rest", "log-odds", "z"])

    def to_table(self) -> TableView:
        return _view(self.to_frame(), f"Most frequent {self.unit}s per {self.by}")

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "unit": self.unit, "roles": list(self.roles), "prior": self.prior,
                "method": "weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008)",
                "totals": dict(self.totals),
                "counts": {g: [{"term": t, "count": n} for t, n in sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))
                               [:self.top]] for g, terms in self.counts.items()},
                "distinctive": {g: [w.__dict__ for w in words] for g, words in self.distinctive.items()}}


def log_odds_dirichlet(group: dict[str, int], rest: dict[str, int],
                       prior: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Monroe, Colaresi & Quinn (2008), eq. 16 and 20: for each term, the log-odds ratio
    delta of the group vs the rest with Dirichlet prior ``prior`` (alpha_w), and its z-score
    delta / sqrt(1 / (y_i + alpha_w) + 1 / (y_j + alpha_w))."""
    n_i, n_j, a0 = sum(group.values()), sum(rest.values()), sum(prior.values())
    result = {}
    for term, a in prior.items():
        yi, yj = group.get(term, 0), rest.get(term, 0)
        delta = (math.log((yi + a) / (n_i + a0 - yi - a)) - math.log((yj + a) / (n_j + a0 - yj - a)))
        result[term] = (delta, delta / math.sqrt(1 / (yi + a) + 1 / (yj + a)))
    return result


def word_counts(docs: Sequence[DocumentTokens], cases: Sequence[Case], segments: Sequence[Segment],
                *, by: str = "document", unit: WordUnit = WordUnit.WORD, roles: Sequence[str] | None = ("respondent",),
                top: int = 20, prior: float = 0.1, keep_stop_words: bool = False) -> WordCounts:
    """Word (lower-cased) or lemma counts per document, case or case-attribute value.

    Stop words (spaCy's fr/en lists), numbers and one-letter tokens are left out; with
    ``roles`` only tokens in segments of speakers with those roles count (the respondent's
    turns by default, so the interview guide does not dominate). Distinctive words per
    unit: Monroe et al.'s weighted log-odds with an informative Dirichlet prior, the prior
    being the pooled counts of all units times ``prior`` (0.1: the prior weighs a tenth of
    the data, enough to pull rare words towards zero without hiding a word used 10 times
    in one group and never in the others); terms with z >= 1.96 are kept.
    """
    if unit not in ("word", "lemma"):
        raise AnalysisError(f"unknown unit '{unit}' (use word or lemma)")
    if top < 1:
        raise AnalysisError("--top must be 1 or more")
    if prior <= 0:
        raise AnalysisError("--prior must be above 0")
    if not docs:
        raise NotFoundError("no tokenised transcript: import transcripts first")
    attrs = {c.name: c.attributes for c in cases}
    key = _unit_of(by, attrs)
    index = _SegmentIndex(segments)
    # each document's words are filtered with its own language's stop words
    stops_of = {language: frozenset() if keep_stop_words else stop_words([language])
                for language in {d.language for d in docs}}
    pairs: dict[tuple[str, str], Counter[tuple[str, str]]] = defaultdict(Counter)
    for doc in docs:
        terms = doc.lemma if unit == "lemma" else doc.lower
        if roles:
            mask = _tokens_in_roles(doc, index, roles)
            pairs[key(doc), doc.language].update(compress(zip(doc.lower, terms), mask.tolist()))
        else:
            pairs[key(doc), doc.language].update(zip(doc.lower, terms))
    # filter distinct (word, term) pairs, far fewer than tokens
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for (group, language), found in pairs.items():
        stops = stops_of[language]
        totals[group] += 0
        for (low, term), n in found.items():
            low, term = fold_apostrophes(low), fold_apostrophes(term)
            if _is_word(term) and low not in stops and term not in stops:
                counts[group][term] += n
                totals[group] += n
    pooled: Counter[str] = Counter()
    for found_terms in counts.values():
        pooled.update(found_terms)
    alpha = {t: prior * n for t, n in pooled.items()}
    distinctive: dict[str, tuple[DistinctiveWord, ...]] = {}
    if len(counts) >= 2:
        for group, mine in counts.items():
            rest = pooled - mine
            scores = log_odds_dirichlet(mine, rest, alpha)
            ranked = sorted((DistinctiveWord(t, mine.get(t, 0), rest.get(t, 0), d, z) for t, (d, z) in scores.items()
                             if z >= 1.96), key=lambda w: (-w.z, w.term))
            distinctive[group] = tuple(ranked[:top])
    ordered = sorted(counts)
    return WordCounts(by, unit, tuple(roles or ()), prior, {g: totals[g] for g in ordered},
                      {g: dict(counts[g]) for g in ordered}, top, distinctive)


@dataclass(frozen=True)
class Hit:
    """One match of a search, as a keyword-in-context line."""

    document: str
    case: str
    group: str
    segment: str | None
    speaker: str | None
    start: int
    end: int
    left: str
    match: str
    right: str


@dataclass(frozen=True)
class SearchResult:
    """Keyword-in-context lines of a search and the number of hits per document and group."""

    query: str
    mode: str
    by: str
    hits: tuple[Hit, ...]
    per_document: dict[str, int]
    per_group: dict[str, int]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"document": h.document, "case": h.case, self.by: h.group, "segment": h.segment or "",
                              "speaker": h.speaker or "", "left": h.left, "match": h.match, "right": h.right}
                             for h in self.hits],
                            columns=["document", "case", self.by, "segment", "speaker", "left", "match", "right"])

    def to_table(self) -> TableView:
        return _view(self.to_frame(), f"{len(self.hits)} hit(s) of '{self.query}' ({self.mode})")

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "by": self.by, "count": len(self.hits),
                "per_document": dict(self.per_document), "per_group": dict(self.per_group),
                "hits": [h.__dict__ for h in self.hits]}


SEARCH_MODES = ("exact", "lemma", "regex")


def _spans_exact(doc: DocumentTokens, query: str) -> list[tuple[int, int]]:
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in query.split()) + r"(?!\w)", re.IGNORECASE)
    return [(m.start(), m.end()) for m in pattern.finditer(doc.text)]


def _spans_lemma(doc: DocumentTokens, lemmas: Sequence[str]) -> list[tuple[int, int]]:
    k = len(lemmas)
    if not k:
        return []
    # Folded as one string (stored lemmas never hold U+001F, the separator they are stored with):
    # a Python call per token was most of a lemma search over a million tokens.
    seq = fold_apostrophes("\x1f".join(doc.lemma)).split("\x1f") if doc.lemma else []
    first, wanted = lemmas[0], list(lemmas)
    return [(doc.starts[i], doc.ends[i + k - 1]) for i, x in enumerate(seq[:len(seq) - k + 1])
            if x == first and seq[i:i + k] == wanted]


def stored_lemmas(docs: Sequence[DocumentTokens], query: str, language: str) -> list[str] | None:
    """The lemma of a one-word ``query`` as the transcripts in ``language`` have it: the one
    lemma they give that word everywhere, or, for a word they never use but hold as a
    lemma ("client" when only "clients" occurs), the word itself. None otherwise (two
    lemmas, a phrase, an unknown word): the caller lemmatises it with spaCy.

    Loading spaCy's French pipeline costs seconds, and a carrier sentence lemmatises some
    inflected forms differently from the transcripts' own context ("travaillais" came back
    as "travaillai" while every occurrence is stored as "travailler", so a lemma search
    for a word of the transcripts found nothing).
    """
    word = query.strip().lower()
    if not re.fullmatch(r"\w+", word):
        return None
    mine = [doc for doc in docs if doc.language == language]
    found: set[str] = set()
    for doc in mine:
        if word in doc.lower:
            found.update(lemma for low, lemma in zip(doc.lower, doc.lemma) if low == word)
            if len(found) > 1:
                return None
    if found:
        return [found.pop()]
    return [word] if any(word in doc.lemma for doc in mine) else None


def _clean(text: str) -> str:
    return " ".join(text.split())


def search(docs: Sequence[DocumentTokens], cases: Sequence[Case], segments: Sequence[Segment], *, query: str,
           mode: SearchMode = SearchMode.EXACT, by: str = "case", width: int = 40, roles: Sequence[str] | None = None,
           lemmas: Sequence[str] | dict[str, Sequence[str]] | None = None) -> SearchResult:
    """Find ``query`` in the transcripts: ``exact`` words (case-insensitive, whole words),
    ``lemma`` (the query's ``lemmas``, as lemmatised by the caller, matched on the stored
    lemmas, so 'salon' finds 'salons'; a dict gives them per document language) or
    ``regex`` (Python syntax, case-insensitive).
    Hits count per document and per value of ``by`` (case or a case attribute)."""
    if mode not in SEARCH_MODES:
        raise AnalysisError(f"unknown search mode '{mode}' (use one of: {', '.join(SEARCH_MODES)})")
    if not query.strip():
        raise AnalysisError("the search query is empty")
    if width < 0:
        raise AnalysisError("--width must be 0 or more")
    attrs = {c.name: c.attributes for c in cases}
    group_of = _unit_of(by, attrs)
    if mode == "regex":
        import regex as regex_module

        from qda.regexes import RegexTimeout, compile_user
        from qda.regexes import spans as regex_spans
        try:
            compiled = compile_user(query)
        except regex_module.error as exc:
            raise AnalysisError(f"the regular expression '{query}' is not valid: {exc}") from None
        # one time budget for the whole search: a runaway pattern stops with a message
        found = regex_spans(compiled, (doc.text for doc in docs), f"the regular expression '{query}'")
    if mode == "lemma" and not lemmas:
        raise AnalysisError("a lemma search needs the query's lemmas")
    index = _SegmentIndex(segments)
    hits: list[Hit] = []
    for doc in docs:
        if mode == "exact":
            spans = _spans_exact(doc, query)
        elif mode == "lemma":
            mine = lemmas.get(doc.language, ()) if isinstance(lemmas, dict) else lemmas
            spans = _spans_lemma(doc, [fold_apostrophes(x) for x in mine or ()])
        else:
            try:
                spans = next(found)
            except RegexTimeout as exc:
                raise AnalysisError(str(exc)) from None
        for start, end in spans:
            seg = index.segment_at(doc.document, start)
            if roles and (seg is None or seg.role not in roles):
                continue
            hits.append(Hit(doc.document, doc.case, group_of(doc), seg.ref if seg else None,
                            seg.speaker if seg else None, start, end, _clean(doc.text[max(0, start - width):start]),
                            doc.text[start:end], _clean(doc.text[end:end + width])))
    per_document = Counter(h.document for h in hits)
    per_group = Counter(h.group for h in hits)
    return SearchResult(query, mode, by, tuple(hits), dict(sorted(per_document.items())),
                        dict(sorted(per_group.items())))


@dataclass(frozen=True)
class SearchCoding:
    """What ``qda search --code X --coder Y`` recorded: one coding per segment with a hit."""

    search: SearchResult
    code: str
    coder: str
    pattern: str
    coded: tuple[str, ...]  # segment refs newly coded
    negated: tuple[str, ...]  # segment refs whose only hits are negated mentions (left out)
    already: tuple[str, ...]  # segment refs the coder had already coded with the code

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [(ref, "coded") for ref in self.coded] + [(ref, "negated, left out") for ref in self.negated] + \
               [(ref, "already coded") for ref in self.already]
        return pd.DataFrame([{"segment": ref, "code": self.code, "coder": self.coder, "status": status}
                             for ref, status in rows], columns=["segment", "code", "coder", "status"])

    def to_table(self) -> TableView:
        return _view(self.to_frame(), f"Segments coded {self.code} for {self.coder} ({self.pattern})")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "coder": self.coder, "pattern": self.pattern, "coded": list(self.coded),
                "negated": list(self.negated), "already": list(self.already), "search": self.search.to_dict()}
