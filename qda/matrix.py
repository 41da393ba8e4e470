"""Matrices (Miles & Huberman): intra-case, meta-matrix, cross-case table, attribute split.

Pure functions over a codebook, the cases and a list of codings; nothing here knows any
particular study: codes, categories, groups and attributes all come from the inputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from qda.errors import NotFoundError
from qda.models import Case, Code, Codebook, Coding, CountMode, Segment
from qda.results import Column, Note, Row, Share, TableView, frame_view, jsonable

if TYPE_CHECKING:
    import pandas as pd

COUNT_MODES = tuple(CountMode)
MISSING = "(none)"


def _pct(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _group_cases(cases: Sequence[Case], by: str) -> dict[str, list[str]]:
    """Case names per attribute value, in the order values first appear (cases sorted by name)."""
    if cases and not any(by in c.attributes for c in cases):
        known = sorted({k for c in cases for k in c.attributes})
        raise NotFoundError(f"no case has the attribute '{by}'"
                            + (f" (case attributes: {', '.join(known)})" if known else
                               " (no case attributes imported yet: qda import cases FILE.csv)"))
    groups: dict[str, list[str]] = {}
    for case in sorted(cases, key=lambda c: c.name):
        groups.setdefault(case.attributes.get(by) or MISSING, []).append(case.name)
    return groups


#: (case, code) -> number of distinct coded passages (spans) of one coder
Usage = Mapping[tuple[str, str], int]


def _usage(codings: Iterable[Coding]) -> dict[tuple[str, str], int]:
    """(case, code) -> number of distinct coded passages."""
    units: dict[tuple[str, str], set[tuple[str, int, int]]] = defaultdict(set)
    for c in codings:
        units[(c.case, c.code)].add((c.document, c.start, c.end))
    return {k: len(v) for k, v in units.items()}


def passage_tallies(passages: Iterable[tuple[str, str, str, int, int]]
                    ) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """From ``(case, code, document, start, end)`` of codings: (case, code) -> distinct coded
    passages (the ``usage`` the count matrices take), and -> those of them longer than zero
    characters (what a quote can show): the counts the store's tallies give, from codings
    already read."""
    units: dict[tuple[str, str], set[tuple[str, int, int]]] = defaultdict(set)
    for case, code, document, start, end in passages:
        units[(case, code)].add((document, start, end))
    usage = {k: len(v) for k, v in units.items()}
    spans = {k: n for k, v in units.items() if (n := sum(1 for _, start, end in v if end > start))}
    return usage, spans


# ----------------------------------------------------------------------------- intra-case

@dataclass(frozen=True)
class Quote:
    """A coded passage quoted in a matrix."""

    document: str
    segment: str | None
    speaker: str | None
    start: int
    end: int
    text: str
    memo: str = ""  # the coding's memo (its note)
    segments: tuple[str, ...] = ()  # a span coding: the segments it falls in (see place_quotes)

    @property
    def place(self) -> str:
        """Where the quote is: its segment, the segments a span falls in (``E1#12–13``), else the document."""
        if self.segment:
            return self.segment
        if len(self.segments) > 1:
            return f"{self.segments[0]}–{self.segments[-1].rsplit('#', 1)[-1]}"
        return self.segments[0] if self.segments else self.document

    def cited(self, unknown_speaker: str = "?") -> str:
        """``[ref, speaker] text``, then the memo when there is one."""
        speaker = self.speaker or unknown_speaker
        tag = f"[{self.place}, {speaker}]" if speaker else f"[{self.place}]"
        return f"{tag} {self.text}" + (f" (memo: {self.memo})" if self.memo else "")


def _quote(document: str, segment: str | None, speaker: str | None, start: int, end: int, text: str,
           memo: str) -> Quote:
    """``Quote(document, segment, speaker, start, end, text, memo)``, its dict filled at once: the
    frozen dataclass's ``__init__`` sets the fields one by one (0.1 s for the 63,000 quotes of
    1,000 intra-case matrices). Quote has no ``__post_init__`` (a test keeps it so)."""
    quote = object.__new__(Quote)
    quote.__dict__.update(document=document, segment=segment, speaker=speaker, start=start, end=end, text=text,
                          memo=memo, segments=())
    return quote


@dataclass(frozen=True)
class IntraCaseRow:
    code: str
    label: str
    category: str | None
    segments: int
    quotes: tuple[Quote, ...]


@dataclass(frozen=True)
class IntraCaseMatrix:
    """Each code used in one case, with its number of coded segments and the quotes."""

    case: str
    coder: str
    rows: tuple[IntraCaseRow, ...]
    memos: tuple[tuple[str, str, str, str], ...] = ()  # (document|code|case, target, text, author)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"case": self.case, "code": r.code, "label": r.label, "category": r.category,
                              "segments": r.segments,
                              "quotes": " | ".join(q.cited() for q in r.quotes)} for r in self.rows],
                            columns=["case", "code", "label", "category", "segments", "quotes"])

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "coder": self.coder, "codes": [
            {"code": r.code, "label": r.label, "category": r.category, "segments": r.segments,
             "quotes": [jsonable(q) for q in r.quotes]} for r in self.rows],
            "memos": [{"about": kind, "target": target, "text": text, "author": author}
                      for kind, target, text, author in self.memos]}

    def to_table(self) -> TableView:
        """One row per code; its quotes one per line, each after its segment and speaker."""
        rows = tuple(Row((r.code, r.label, r.segments,
                          "\n".join(q.cited() for q in r.quotes)))
                     for r in self.rows)
        return TableView(f"Case {self.case} (coder: {self.coder})",
                         (Column("code"), Column("label"), Column("segments"), Column("quotes")), rows, lines=True,
                         notes=tuple(Note(f"memo on {kind} {target}: {text}") for kind, target, text, _ in self.memos))


def intra_case(codebook: Codebook, codings: Sequence[Coding], case: str, *, coder: str,
               lang: str | None = None) -> IntraCaseMatrix:
    """The intra-case matrix of ``case`` from ``codings`` (already those of one coder)."""
    mine = [c for c in codings if c.case == case]
    by_code: dict[str, list[Coding]] = defaultdict(list)
    for c in mine:
        by_code[c.code].append(c)
    rows = []
    for code in codebook.codes:
        found = by_code.get(code.id)
        if not found:
            continue
        quotes = tuple(_quote(c.document, c.segment, c.speaker, c.start, c.end, c.text, c.note)
                       for c in sorted(found, key=lambda c: (c.document, c.start)))
        units = {(q.document, q.start, q.end) for q in quotes}
        rows.append(IntraCaseRow(code.id, code.label(lang), code.category, len(units), quotes))
    return IntraCaseMatrix(case, coder, tuple(rows))


def intra_cases(codebook: Codebook, rows: Sequence[tuple[Any, ...]], cases: Sequence[str], *, coder: str,
                lang: str | None = None) -> list[IntraCaseMatrix]:
    """:func:`intra_case` of each of ``cases``, identical, from one coder's codings as rows
    ``(case, code, document, segment, speaker, start, end, text, note)`` (``Store.quote_rows``):
    no Coding is built for the 63,000 quotes of 1,000 intra-case matrices."""
    grouped: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for row in rows:
        grouped.setdefault(row[0], {}).setdefault(row[1], []).append(row)
    matrices = []
    for case in cases:
        by_code = grouped.get(case, {})
        found_rows = []
        for code in codebook.codes:
            found = by_code.get(code.id)
            if not found:
                continue
            quotes = tuple(_quote(r[2], r[3], r[4], r[5], r[6], r[7], r[8])
                           for r in sorted(found, key=lambda r: (r[2], r[5])))
            units = {(q.document, q.start, q.end) for q in quotes}
            found_rows.append(IntraCaseRow(code.id, code.label(lang), code.category, len(units), quotes))
        matrices.append(IntraCaseMatrix(case, coder, tuple(found_rows)))
    return matrices


def place_quotes(result: IntraCaseMatrix, segments: Mapping[str, Sequence[Segment]]) -> IntraCaseMatrix:
    """The matrix with each span coding's quote placed: the segments it overlaps by at least
    one character (``segments``: a document's, in text order) and their speaker, or the
    speakers joined by " / " when the span crosses turns of different speakers. A coding of
    a whole segment already carries its segment and speaker and is left as it is."""
    rows = []
    for row in result.rows:
        if all(q.segment is not None or q.end <= q.start for q in row.quotes):
            rows.append(row)  # nothing to place: the row as it is (a copy of each cost 0.1 s for 1,000 cases)
            continue
        quotes = []
        for quote in row.quotes:
            if quote.segment is None and quote.end > quote.start:
                hit = [s for s in segments.get(quote.document, ()) if s.start < quote.end and s.end > quote.start]
                speakers = list(dict.fromkeys(s.speaker for s in hit if s.speaker))
                quote = replace(quote, segments=tuple(s.ref for s in hit),
                                speaker=quote.speaker or " / ".join(speakers) or None)
            quotes.append(quote)
        rows.append(replace(row, quotes=tuple(quotes)))
    return replace(result, rows=tuple(rows))


# ----------------------------------------------------------------------------- meta-matrix

@dataclass(frozen=True)
class MetaMatrix:
    """Case x code presence, cases ordered and grouped by an attribute."""

    by: str
    coder: str
    codes: tuple[str, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    presence: dict[str, dict[str, int]]  # case -> code -> segments coded (0 = absent)
    labels: dict[str, str] = field(default_factory=dict)  # code -> label, when a language was asked

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        records = []
        for value, cases in self.groups:
            for case in cases:
                row: dict[str, Any] = {self.by: value, "case": case}
                row.update({code: int(self.presence[case].get(code, 0) > 0) for code in self.codes})
                row["total"] = sum(row[code] for code in self.codes)
                records.append(row)
        return pd.DataFrame(records, columns=[self.by, "case", *self.codes, "total"])

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "coder": self.coder, "codes": list(self.codes),
                "groups": [{"value": v, "cases": [
                    {"case": c, "codes": [k for k in self.codes if self.presence[c].get(k, 0) > 0],
                     "segments": {k: n for k, n in self.presence[c].items() if n}} for c in cases]}
                    for v, cases in self.groups], **({"labels": dict(self.labels)} if self.labels else {})}

    def to_table(self) -> TableView:
        view = frame_view(self.to_frame())
        return replace(view, notes=legend(self.labels)) if self.labels else view


def legend(labels: dict[str, str]) -> tuple[Note, ...]:
    """The codes of a table whose columns or cells show only code ids, with their labels."""
    return tuple(Note(f"{code}: {label}", "aside") for code, label in labels.items())


def meta_matrix(codebook: Codebook, cases: Sequence[Case], codings: Sequence[Coding], *, by: str,
                coder: str, lang: str | None = None, usage: Usage | None = None) -> MetaMatrix:
    """Presence of every code in every case, cases grouped by attribute ``by``.

    With ``lang``, the result carries the codes' labels in that language (a legend);
    ``usage`` (the coder's passages per case and code, counted by the store) stands for
    ``codings``, which are then not read."""
    groups = _group_cases(cases, by)
    counts = _usage(codings) if usage is None else usage
    codable = [code.id for code in codebook.codes if code.codable]
    presence = {c: {code: counts.get((c, code), 0) for code in codable} for names in groups.values() for c in names}
    return MetaMatrix(by, coder, tuple(codable),
                      tuple((v, tuple(names)) for v, names in groups.items()), presence,
                      {c: codebook.code(c).label(lang) for c in codable} if lang else {})


# ----------------------------------------------------------------------------- cross-case


@dataclass(frozen=True)
class CrossRow:
    """A row of the cross-case table: a category heading, a code, a subtotal or the total."""

    kind: str  # "category" | "code" | "subtotal" | "total"
    key: str
    label: str
    depth: int
    category: str | None
    counts: tuple[int, ...] = ()
    total: int = 0
    shares: tuple[float | None, ...] = ()  # of the column total (subtotal/total rows)
    total_share: float | None = None


@dataclass(frozen=True)
class CrossCaseTable:
    """Codes in codebook order under their categories, one column per attribute value."""

    by: str
    count: str
    coder: str
    groups: tuple[tuple[str, int], ...]  # (attribute value, number of cases)
    rows: tuple[CrossRow, ...]

    def column_names(self) -> list[str]:
        return [f"{value} (n={n})" for value, n in self.groups] + [f"total (n={sum(n for _, n in self.groups)})"]

    def to_frame(self) -> pd.DataFrame:
        """Codes, subtotals and total as rows; a count and a percentage column per group
        (percent points of the column total, at full precision; empty on code rows)."""
        import pandas as pd

        names = self.column_names()
        records = []
        for r in self.rows:
            if r.kind == "category":
                continue
            rec: dict[str, Any] = {"row": r.kind, "category": r.category or "",
                                   "code": r.key if r.kind == "code" else "", "label": r.label}
            values = list(r.counts) + [r.total]
            shares = list(r.shares) + [r.total_share] if r.kind != "code" else [None] * len(values)
            for name, value, share in zip(names, values, shares):
                rec[name] = value
                rec[f"{name} %"] = None if share is None else 100 * share
            records.append(rec)
        return pd.DataFrame(records)

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by, "count": self.count, "coder": self.coder,
            "groups": [{"value": v, "n": n} for v, n in self.groups],
            "rows": [{"kind": r.kind, "key": r.key, "label": r.label, "depth": r.depth, "category": r.category,
                      **({"counts": dict(zip([v for v, _ in self.groups], r.counts)), "total": r.total}
                         if r.kind != "category" else {}),
                      **({"shares": dict(zip([v for v, _ in self.groups], r.shares)), "total_share": r.total_share}
                         if r.kind in ("subtotal", "total") else {})}
                     for r in self.rows]}

    def to_table(self) -> TableView:
        """Category headings, codes indented under them, subtotals and total with their shares."""
        what = "cases using each code" if self.count == CountMode.CASES else "coded segments"
        rows: list[Row] = []
        for r in self.rows:
            label = f"{'  ' * r.depth}{r.label}"
            if r.kind == "category":
                rows.append(Row(("", label, *[None] * (len(self.groups) + 1)), "heading"))
            elif r.kind == "code":
                rows.append(Row((r.key, label, *r.counts, r.total)))
            else:
                cells = [Share(s, v) for v, s in zip((*r.counts, r.total), (*r.shares, r.total_share))]
                rows.append(Row(("", label, *cells), r.kind, section_end=r.kind == "subtotal"))
        columns = (Column("code"), Column("label"), *(Column(name, numeric=True) for name in self.column_names()))
        return TableView(f"Cross-case table — {what}, by {self.by} (coder: {self.coder})", columns, tuple(rows))


def _group_counts(codebook: Codebook, groups: dict[str, list[str]], codings: Sequence[Coding],
                  count: str, usage: Usage | None = None) -> dict[str, list[int]]:
    """code -> count per group (cases using the code, or coded segments)."""
    if count not in COUNT_MODES:
        raise NotFoundError(f"unknown count '{count}' (use one of: {CountMode.words()})")
    segments = _usage(codings) if usage is None else usage
    result: dict[str, list[int]] = {}
    for code in codebook.codes:
        per_group = []
        for names in groups.values():
            if count == "cases":
                per_group.append(sum(1 for c in names if segments.get((c, code.id), 0) > 0))
            else:
                per_group.append(sum(segments.get((c, code.id), 0) for c in names))
        result[code.id] = per_group
    return result


def cross_case(codebook: Codebook, cases: Sequence[Case], codings: Sequence[Coding], *, by: str,
               coder: str, count: CountMode = CountMode.CASES, lang: str | None = None,
               usage: Usage | None = None) -> CrossCaseTable:
    """The cross-case table: per code and group, the number of cases using it (or of segments).

    Each category that directly holds codes gets a subtotal row with its share of the
    column total; a grand total closes the table. Codes in no category (the hierarchy of a
    codebook from NVivo, ATLAS.ti or MAXQDA) are grouped by their parent codes instead: a
    parent code is the category of its children, their rows follow it and its subtotal
    sums them, as a category's does. Every code is counted in exactly one subtotal (a
    parent that can be coded itself counts in the subtotal of the group that holds it).
    ``usage``: as for :func:`meta_matrix`.
    """
    groups = _group_cases(cases, by)
    counts = _group_counts(codebook, groups, codings, count, usage)
    width = len(groups)
    column_totals = [sum(counts[c.id][g] for c in codebook.codes) for g in range(width)]
    grand = sum(column_totals)
    rows: list[CrossRow] = []

    def subtotal(key: str, label: str, depth: int, category: str, members: Sequence[Code]) -> None:
        codable = [c for c in members if c.codable]
        if codable:
            sub = [sum(counts[c.id][g] for c in codable) for g in range(width)]
            rows.append(CrossRow("subtotal", key, f"Subtotal: {label}", depth, category, tuple(sub), sum(sub),
                                 tuple(_pct(s, t) for s, t in zip(sub, column_totals)), _pct(sum(sub), grand)))

    def emit(code: Code, level: int, category: str, children: dict[str, list[Code]]) -> None:
        if code.codable:
            rows.append(CrossRow("code", code.id, code.label(lang), level, category, tuple(counts[code.id]),
                                 sum(counts[code.id])))
        else:  # a folder code (e.g. from NVivo) heads its sub-codes, like a category
            rows.append(CrossRow("category", code.id, code.label(lang), level, category))
        kids = children.get(code.id, [])
        for child in kids:
            emit(child, level + 1, code.id, children)
        if kids:
            subtotal(code.id, code.label(lang), level, code.id, kids)

    for depth, category, codes in codebook.walk():
        label = codebook.category_label(category.id, lang) if category else "(no category)"
        key = category.id if category else MISSING
        rows.append(CrossRow("category", key, label, depth, key))
        # Codes in a YAML category count in its subtotal, sub-codes included; codes with no
        # category (a codebook from another tool) are grouped by their parent codes instead
        ids = {c.id for c in codes} if category is None else set()
        children: dict[str, list[Code]] = {}
        for code in codes:
            if code.parent in ids:
                children.setdefault(code.parent, []).append(code)
        top = [c for c in codes if c.parent not in ids]
        for code in top:
            emit(code, depth + 1 + codebook.code_depth(code.id), key, children)
        subtotal(key, label, depth, key, top)
    rows.append(CrossRow("total", "total", "Total", 0, None, tuple(column_totals), grand,
                         tuple(_pct(t, t) for t in column_totals), _pct(grand, grand)))
    return CrossCaseTable(by, count, coder, tuple((v, len(n)) for v, n in groups.items()), tuple(rows))


# ----------------------------------------------------------------------------- split

@dataclass(frozen=True)
class SplitCell:
    """Uses of the codes with one attribute value in one group of cases."""

    uses: int
    share: float | None  # of all the group's uses (of the codes in scope)
    variety: int  # distinct codes used
    codes: tuple[tuple[str, int], ...]  # (code, count) for codes used, codebook order


@dataclass(frozen=True)
class SplitResult:
    """Uses, share and variety per code-attribute value and case group."""

    code_attr: str
    by: str
    count: str
    coder: str
    where: dict[str, str]
    values: tuple[str, ...]
    groups: tuple[tuple[str, int], ...]
    cells: dict[str, dict[str, SplitCell]] = field(default_factory=dict)  # value -> group -> cell
    totals: dict[str, int] = field(default_factory=dict)  # group -> all uses in scope
    labels: dict[str, str] = field(default_factory=dict)  # code -> label, when a language was asked

    def to_frame(self) -> pd.DataFrame:
        """One row per value and group; ``share %`` in percent points at full precision."""
        import pandas as pd

        records = []
        for value in self.values:
            for group, n in self.groups:
                cell = self.cells[value][group]
                records.append({self.code_attr: value, self.by: group, "cases": n, "uses": cell.uses,
                                "group uses": self.totals[group],
                                "share %": None if cell.share is None else 100 * cell.share,
                                "variety": cell.variety,
                                "codes": ", ".join(f"{code} ({k})" for code, k in cell.codes)})
        return pd.DataFrame(records)

    def to_dict(self) -> dict[str, Any]:
        return {"code_attr": self.code_attr, "by": self.by, "count": self.count, "coder": self.coder,
                "where": dict(self.where),
                "groups": [{"value": v, "n": n, "uses": self.totals[v]} for v, n in self.groups],
                "values": [{"value": value, "groups": {
                    group: {"uses": cell.uses, "share": cell.share, "variety": cell.variety,
                            "codes": {code: k for code, k in cell.codes}}
                    for group, cell in self.cells[value].items()}} for value in self.values],
                **({"labels": dict(self.labels)} if self.labels else {})}

    def to_table(self) -> TableView:
        """Per value and group: uses, share of the group's uses, variety and the codes used."""
        where = ", ".join(f"{k}={v}" for k, v in self.where.items())
        rows = []
        for value in self.values:
            for group, n in self.groups:
                cell = self.cells[value][group]
                rows.append(Row((value, f"{group} (n={n})", cell.uses, Share(cell.share), cell.variety,
                                 ", ".join(f"{c} ({k})" for c, k in cell.codes))))
        columns = (Column(self.code_attr), Column(self.by), Column("uses", numeric=True),
                   Column("share", numeric=True), Column("variety", numeric=True), Column("codes (count)"))
        return TableView(f"{self.code_attr} by {self.by} (coder: {self.coder})"
                         + (f" — codes with {where}" if where else ""), columns, tuple(rows),
                         notes=legend(self.labels))


def split(codebook: Codebook, cases: Sequence[Case], codings: Sequence[Coding], *, code_attr: str, by: str,
          coder: str, count: CountMode = CountMode.CASES, where: dict[str, str] | None = None,
          lang: str | None = None, usage: Usage | None = None) -> SplitResult:
    """Regroup the cross-case counts by a code attribute (e.g. mode: direct/indirect).

    ``where`` restricts the codes in scope by other code attributes (e.g. mode=direct to
    split the direct uses by reach). Codes without a value for ``code_attr`` form a
    ``(none)`` row so that no use is lost from the totals. ``usage``: as for :func:`meta_matrix`.
    """
    definitions = {a.name: a for a in codebook.attributes}
    for name in [code_attr, *(where or {})]:
        if name not in definitions:
            known = ", ".join(definitions) or "none"
            raise NotFoundError(f"the codebook has no code attribute '{name}' (attributes: {known})")
    where = dict(where or {})
    for name, value in where.items():  # a typo would give a table of zeros
        declared = definitions[name].values
        if declared and value not in declared:
            raise NotFoundError(f"--where {name}={value}: '{value}' is not a value of the code attribute "
                                f"'{name}' (values: {', '.join(declared)})")
    scope = [c for c in codebook.codes if all(c.attributes.get(k) == v for k, v in where.items())]
    groups = _group_cases(cases, by)
    counts = _group_counts(codebook, groups, codings, count, usage)
    values = list(definitions[code_attr].values)
    if any(code_attr not in c.attributes for c in scope):
        values.append(MISSING)
    totals = {g: sum(counts[c.id][i] for c in scope) for i, g in enumerate(groups)}
    cells: dict[str, dict[str, SplitCell]] = {}
    for value in values:
        codes = [c for c in scope if c.attributes.get(code_attr, MISSING) == value]
        cells[value] = {}
        for i, group in enumerate(groups):
            used = tuple((c.id, counts[c.id][i]) for c in codes if counts[c.id][i] > 0)
            uses = sum(k for _, k in used)
            cells[value][group] = SplitCell(uses, _pct(uses, totals[group]), len(used), used)
    return SplitResult(code_attr, by, count, coder, where, tuple(values),
                       tuple((v, len(n)) for v, n in groups.items()), cells, totals,
                       {c.id: c.label(lang) for c in scope if c.codable} if lang else {})
