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
  the code to the segment (a span coding covers a segment when it overlaps at least
  half of it), else 0.
* ``overlap`` — two coders only. For each code and document, the coders' spans are
  paired greedily by decreasing overlap; a pair whose common part is at least
  ``overlap`` (default 0.9) of the longer span is an agreement (1, 1); every unpaired
  span is a disagreement (1, 0) or (0, 1). There is no (0, 0) unit, so chance-corrected
  coefficients are mostly undefined or meaningless here: read percent agreement, and
  the character-level table (both / A only / B only / neither, as NVivo reports).

``exclude_uncoded`` drops units (documents, cases or segments) that no coder coded
with any code, so that agreement is not inflated by text nobody coded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qda.agreement.coefficients import COEFFICIENTS, Estimate, compute, encode, kappa_paradox, prevalence_bias
from qda.errors import AgreementError, NotFoundError
from qda.models import AgreementUnit, Codebook, Coding, Document, Segment, segments_of
from qda.results import Cell, Column, Interval, Note, Progress, Row, TableView, frame_view, json_dict, no_progress

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
class CodeUnits:
    """The units x coders table of one code."""

    code: str
    units: tuple[Unit, ...]
    ratings: np.ndarray  # int, units x coders, -1 = missing


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

def build_units(unit: str, coders: Sequence[str], codings: Mapping[str, Sequence[Coding]],
                codes: Sequence[str], documents: Sequence[Document], segments: Sequence[Segment],
                tolerance: float = 0.0, overlap: float = 0.9, exclude_uncoded: bool = False) -> list[CodeUnits]:
    """Per-code units x coders tables for a unit of comparison (see the module docstring)."""
    if unit not in AGREEMENT_UNITS:
        raise AgreementError(f"unknown unit '{unit}' (use one of: {AgreementUnit.words()})")
    if len(coders) < 2:
        raise AgreementError("agreement needs at least two coders")
    if unit == "overlap":
        if len(coders) != 2:
            raise AgreementError("the overlap unit compares exactly two coders")
        if not 0 < overlap <= 1:
            raise AgreementError(f"--overlap must be in (0, 1], got {overlap}")
        return _overlap_units(coders, codings, codes, documents, overlap)
    if tolerance < 0:
        raise AgreementError("--tolerance cannot be negative")
    index = {c: i for i, c in enumerate(coders)}
    if unit == "segment":
        units = [Unit(s.case, s.document, s.ref, s.start, s.end, s.text) for s in segments]
        position = {s.ref: i for i, s in enumerate(segments)}
        by_doc: dict[str, list[Segment]] = defaultdict(list)
        for s in segments:
            by_doc[s.document].append(s)
        tables = {code: np.zeros((len(units), len(coders)), dtype=np.int64) for code in codes}
        for coder, items in codings.items():
            for c in items:
                if c.code not in tables:
                    continue
                for ref in segments_of(c, by_doc):
                    if ref in position:
                        tables[c.code][position[ref], index[coder]] = 1
    else:
        if unit == "case":
            names = sorted({d.case for d in documents})
            units = [Unit(name, "") for name in names]
            key_of = {name: i for i, name in enumerate(names)}
        else:
            units = [Unit(d.case, d.name) for d in documents]
            key_of = {d.name: i for i, d in enumerate(documents)}
        lengths = {d.name: max(len(d.text), 1) for d in documents}
        case_of = {d.name: d.case for d in documents}
        tables = {code: np.zeros((len(units), len(coders)), dtype=np.float64) for code in codes}
        spans: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
        for coder, items in codings.items():
            for c in items:
                if c.code in tables:
                    spans[(coder, c.code, c.document)].append((c.start, c.end))
        for (coder, code, document), found in spans.items():
            key = case_of.get(document) if unit == "case" else document
            row = None if key is None else key_of.get(key)
            if row is None:
                continue
            col = index[coder]
            distinct = sorted(set(found))
            if unit in ("document", "case"):
                tables[code][row, col] = 1
            elif unit == "frequency":
                tables[code][row, col] += len(distinct)
            else:  # coverage, percent points of the document's characters
                tables[code][row, col] += 100.0 * _union_length(distinct) / lengths[document]
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
    kept_units = tuple(u for u, k in zip(units, keep) if k)
    return [CodeUnits(code, kept_units, tables[code][keep]) for code in codes]


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


def _overlap_units(coders: Sequence[str], codings: Mapping[str, Sequence[Coding]], codes: Sequence[str],
                   documents: Sequence[Document], threshold: float) -> list[CodeUnits]:
    result = []
    a, b = coders
    spans = _spans_by_code_and_document(codings, coders)
    for code in codes:
        units: list[Unit] = []
        rows: list[tuple[int, int]] = []
        for doc in documents:
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
                    start, end = min(spans_a[i][0], spans_b[j][0]), max(spans_a[i][1], spans_b[j][1])
                    units.append(Unit(doc.case, doc.name, None, start, end, doc.text[start:end]))
                    rows.append((1, 1))
            for i, (s, e) in enumerate(spans_a):
                if i not in used_a:
                    units.append(Unit(doc.case, doc.name, None, s, e, doc.text[s:e]))
                    rows.append((1, 0))
            for j, (s, e) in enumerate(spans_b):
                if j not in used_b:
                    units.append(Unit(doc.case, doc.name, None, s, e, doc.text[s:e]))
                    rows.append((0, 1))
        result.append(CodeUnits(code, tuple(units), np.array(rows, dtype=np.int64).reshape(-1, 2)))
    return result


def _spans_by_code_and_document(codings: Mapping[str, Sequence[Coding]], coders: Sequence[str]
                                ) -> dict[tuple[str, str, str], list[tuple[int, int]]]:
    """(coder, code, document) -> the coder's spans there, in coding order (one pass over the codings)."""
    spans: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
    for coder in coders:
        for c in codings.get(coder, ()):
            spans[(coder, c.code, c.document)].append((c.start, c.end))
    return spans


def character_tables(coders: Sequence[str], codings: Mapping[str, Sequence[Coding]], codes: Sequence[str],
                     documents: Sequence[Document]) -> list[CharacterTable]:
    """Characters coded by both coders, by one only, or by neither, per code (NVivo's view)."""
    a, b = coders[:2]
    spans = _spans_by_code_and_document(codings, (a, b))
    tables = []
    for code in codes:
        both = a_only = b_only = neither = 0
        for doc in documents:
            n = len(doc.text)
            found_a, found_b = spans.get((a, code, doc.name), ()), spans.get((b, code, doc.name), ())
            if not found_a and not found_b:
                neither += n
                continue
            mask_a = np.zeros(n, dtype=bool)
            mask_b = np.zeros(n, dtype=bool)
            for start, end in found_a:
                mask_a[start:end] = True
            for start, end in found_b:
                mask_b[start:end] = True
            both += int((mask_a & mask_b).sum())
            a_only += int((mask_a & ~mask_b).sum())
            b_only += int((~mask_a & mask_b).sum())
            neither += int((~mask_a & ~mask_b).sum())
        tables.append(CharacterTable(code, both, a_only, b_only, neither))
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

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"unit": self.unit, "coders": list(self.coders), "settings": dict(self.settings),
                          "conventions": list(self.conventions), "pooled": self.pooled.to_dict(),
                          "codes": [c.to_dict() for c in self.codes],
                          "disagreements": [d.to_dict() for d in self.disagreements],
                          "confusion": self.confusion, "characters": [c.to_dict() for c in self.characters]})

    def to_frame(self) -> pd.DataFrame:
        """One row per code and a pooled row: each coefficient's value and its interval as
        ``<name>_low``/``<name>_high``, at full precision (NaN where undefined or not computed)."""
        import pandas as pd

        records = []
        for item in (*self.codes, self.pooled):
            rec: dict[str, Any] = {"code": item.code, "label": item.label, "units": item.n_units}
            for name in COEFFICIENTS:
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
        """Codes and the pooled row with the usual coefficients; warnings and conventions after."""
        names = [n for n in SHOWN if not (n == "fleiss_kappa" and len(self.coders) == 2)
                 and not (n == "cohen_kappa" and len(self.coders) > 2)]
        # An auto coder scored against a human reference: its precision, recall and F1 are
        # what the user came for, so the table shows them too.
        scored = bool(self.settings.get("scored")) and len(self.coders) == 2
        rows = []
        for item in (*self.codes, self.pooled):
            cells: list[Cell] = [Interval(est.value, est.ci_low, est.ci_high)
                                 for est in (item.estimates[n] for n in names)]
            if scored:
                cells += [Interval(item.precision), Interval(item.recall), Interval(item.f1)]
            rows.append(Row((item.code, item.label[:40], item.n_units, *cells),
                            section_end=item is self.codes[-1] if self.codes else False))
        columns = (Column("code"), Column("label"), Column("units", numeric=True),
                   *(Column(SHORT[n], numeric=True) for n in names),
                   *((Column("precision", numeric=True), Column("recall", numeric=True), Column("F1", numeric=True))
                     if scored else ()))
        notes = tuple(Note(f"{item.code}: {item.warning}", "warning")
                      for item in (*self.codes, self.pooled) if item.warning)
        notes += tuple(Note(line, "aside") for line in self.conventions)
        return TableView(f"Agreement of {', '.join(self.coders)} — unit: {self.unit}", columns, tuple(rows),
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
                  ("krippendorff_alpha", min_alpha)]
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


def _estimate_code(code: str, label: str, ratings: np.ndarray, n_categories: int | None, bootstrap: int,
                   seed: int) -> CodeAgreement:
    estimates = compute(ratings, n_categories, bootstrap=bootstrap, seed=seed)
    prevalence = bias = precision = recall = f1 = None
    if ratings.shape[1] == 2 and (ratings.size == 0 or int(ratings.max()) <= 1):
        prevalence, bias = prevalence_bias(ratings)
        tp = int(((ratings[:, 0] == 1) & (ratings[:, 1] == 1)).sum())
        fp = int(((ratings[:, 0] == 1) & (ratings[:, 1] == 0)).sum())
        fn = int(((ratings[:, 0] == 0) & (ratings[:, 1] == 1)).sum())
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return CodeAgreement(code, label, int(ratings.shape[0]), estimates, prevalence, bias,
                         kappa_paradox(estimates, ratings, ["absent", "present"] if n_categories == 2 else None),
                         precision, recall, f1)


def agree(codebook: Codebook, coders: Sequence[str], codings: Mapping[str, Sequence[Coding]],
          documents: Sequence[Document], segments: Sequence[Segment], unit: str = "document",
          codes: Sequence[str] | None = None, tolerance: float = 0.0, overlap: float = 0.9,
          exclude_uncoded: bool = False, bootstrap: int = 1000, seed: int = 12345,
          lang: str | None = None, progress: Progress = no_progress) -> AgreementReport:
    """Agreement of ``coders`` per code and pooled over codes, for one unit of comparison.

    ``progress`` is told each code done (the bootstrap makes this the long part)."""
    known = codebook.code_ids()
    if codes:
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise AgreementError(f"unknown code(s): {', '.join(unknown)}")
    selected = [c for c in known if (not codes or c in codes) and codebook.code(c).codable]
    tables = build_units(unit, coders, codings, selected, documents, segments, tolerance, overlap, exclude_uncoded)
    binary = unit in ("document", "case", "segment", "overlap")
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
    if unit in ("frequency", "coverage"):
        conventions.append(f"ratings within {tolerance} of the first coder's count as equal")
    if unit == "overlap":
        conventions.append(f"spans match when their common part is at least {overlap:.0%} of the longer span; "
                           "there are no 'neither' units, read percent agreement and the character table")
    characters = tuple(character_tables(coders, codings, selected, documents)) if unit == "overlap" else ()
    return AgreementReport(unit, tuple(coders), tuple(per_code), pooled, tuple(disagreements),
                           _confusion(tables, coders) if binary and len(coders) == 2 else {},
                           characters, tuple(conventions),
                           {"scored": binary and len(coders) == 2 and bool(codings.get(coders[0]))
                            and all(c.source == "auto" for c in codings[coders[0]]),
                            "tolerance": tolerance, "overlap": overlap, "exclude_uncoded": exclude_uncoded,
                            "bootstrap": bootstrap, "seed": seed, "codes": list(selected)})


def _disagreements(tables: Sequence[CodeUnits], coders: Sequence[str], unit: str) -> list[Disagreement]:
    """Units where ratings differ, grouped by unit, with what each coder applied there."""
    if unit != "overlap" and tables and all(t.units is tables[0].units for t in tables):
        return _shared_disagreements(tables, coders, unit)
    applied: dict[Unit, dict[str, list[str]]] = {}
    differs: set[Unit] = set()
    for table in tables:
        for u, row in zip(table.units, table.ratings):
            valid = row[row >= 0]
            if unit in ("document", "case", "segment", "overlap"):
                for coder, value in zip(coders, row):
                    if value == 1:
                        applied.setdefault(u, {c: [] for c in coders})[coder].append(table.code)
            else:
                for coder, value in zip(coders, row):
                    applied.setdefault(u, {c: [] for c in coders})[coder].append(f"{table.code}:{int(value)}")
            if valid.size >= 2 and (valid != valid[0]).any():
                differs.add(u)
    order = {u: i for t in tables for i, u in enumerate(t.units)}
    return [Disagreement(u, {c: tuple(v) for c, v in applied[u].items()})
            for u in sorted(differs, key=lambda u: (u.document, u.case, u.start or 0, order.get(u, 0)))]


def _shared_disagreements(tables: Sequence[CodeUnits], coders: Sequence[str], unit: str) -> list[Disagreement]:
    """:func:`_disagreements` when every code has the same units (all but ``overlap``), vectorised.

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
    found = sorted(np.flatnonzero(differs).tolist(),
                   key=lambda i: (units[i].document, units[i].case, units[i].start or 0, i))
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
    return [Disagreement(units[i], {c: tuple(v) for c, v in applied[i].items()}) for i in found]


def _confusion(tables: Sequence[CodeUnits], coders: Sequence[str]) -> dict[str, dict[str, int]]:
    """code A used -> code B used instead, on units where A applied a code B did not and vice versa."""
    if tables and all(t.units is tables[0].units for t in tables):
        # Every code has the same units: one matrix product counts the pairs of codes.
        a_alone = np.stack([(t.ratings[:, 0] == 1) & (t.ratings[:, 1] == 0) for t in tables]).astype(np.int64)
        b_alone = np.stack([(t.ratings[:, 0] == 0) & (t.ratings[:, 1] == 1) for t in tables]).astype(np.int64)
        pairs = a_alone @ b_alone.T
        return {x.code: {y.code: int(pairs[i, j]) for j, y in enumerate(tables) if pairs[i, j]}
                for i, x in enumerate(tables) if pairs[i].any()}
    only_a: dict[Unit, set[str]] = defaultdict(set)
    only_b: dict[Unit, set[str]] = defaultdict(set)
    for table in tables:
        for u, row in zip(table.units, table.ratings):
            if row[0] == 1 and row[1] == 0:
                only_a[u].add(table.code)
            elif row[0] == 0 and row[1] == 1:
                only_b[u].add(table.code)
    confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for u, codes_a in only_a.items():
        for x in codes_a:
            for y in only_b.get(u, ()):
                confusion[x][y] += 1
    return {x: dict(ys) for x, ys in confusion.items()}


def agree_table(frame: pd.DataFrame, categories: Sequence[str] | None = None, bootstrap: int = 1000,
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
    estimates = compute(ratings, n_categories, bootstrap=bootstrap, seed=seed)
    prevalence = bias = None
    if ratings.shape[1] == 2 and len(labels) <= 2 and (n_categories in (None, 2)):
        prevalence, bias = prevalence_bias(ratings) if ratings.size and int(ratings.max()) <= 1 else (None, None)
    pooled = CodeAgreement("(table)", "all units", int(ratings.shape[0]), estimates, prevalence, bias,
                           kappa_paradox(estimates, ratings, [str(x) for x in labels]))
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


def agree_in(codebook: Codebook, coders: Sequence[str], codings: Mapping[str, Sequence[Coding]],
             documents: Sequence[Document], segments: Sequence[Segment], unit: str = "document",
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
    if any(not codings[c] for c in coders):
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
    chosen = {c: [k for k in codings[c] if k.document in kept_docs] for c in coders}
    segs = [s for s in segments if s.document in kept_docs]
    if roles:
        segs = [s for s in segs if s.role in roles]
        kept = {s.ref for s in segs}
        by_doc: dict[str, list[Segment]] = {}
        for seg in segs:
            by_doc.setdefault(seg.document, []).append(seg)
        chosen = {c: [k for k in items if any(ref in kept for ref in segments_of(k, by_doc))]
                  for c, items in chosen.items()}
    return agree(codebook, list(coders), chosen, docs, segs, unit, codes, tolerance, overlap, exclude_uncoded,
                 bootstrap, seed, codebook.default_language, progress)


def _check_names(what: str, given: Sequence[str], known: set[str]) -> None:
    unknown = [g for g in given if g not in known]
    if unknown:
        raise NotFoundError(f"unknown {what}(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
