"""The inter-coder reliability report: a self-contained HTML page and an Excel sheet.

Renders an :class:`~qda.agreement.units.AgreementReport` already computed by
:func:`qda.agreement.units.agree` (or ``agree_table``); it never queries the store and
computes no agreement coefficient itself.

* :func:`write_reliability_html` — one HTML file, no script and no external resource
  (inline CSS, inline SVG chart), that prints like a journal appendix: header, pooled
  coefficients, per-code table, chart of Krippendorff's alpha and Gwet's AC1 with their
  intervals, kappa-paradox warnings, conventions, disagreements, confusion and
  character tables, and a "Method" paragraph to paste into a paper
  (:func:`method_paragraph`).
* :func:`add_reliability_sheet` / :func:`write_reliability_xlsx` — the same numbers in
  the house style of :mod:`qda.export.workbook` (real numbers formatted ``0.000``).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Border
from openpyxl.worksheet.worksheet import Worksheet

from qda.agreement.coefficients import COEFFICIENTS, DISPLAY_NAMES, Estimate
from qda.agreement.units import NO_NEITHER, AgreementReport, CodeAgreement, Disagreement
from qda.errors import ExportError
from qda.export import style as xl
from qda.export import typography as type_
from qda.export.style import BOLD, CENTER, DOUBLE, ITALIC, LABEL_WIDTH, NOTE, QUOTE_WIDTH, THIN, TITLE, TOP, WRAP
from qda.files import check_suffix

__all__ = [
    "CHART_COEFFICIENTS",
    "add_reliability_sheet",
    "method_paragraph",
    "render_reliability_html",
    "write_reliability_html",
    "write_reliability_xlsx",
]

#: The two coefficients drawn in the HTML chart.
CHART_COEFFICIENTS: tuple[str, ...] = ("unitizing_alpha", "krippendorff_alpha", "gwet_ac1")

#: The span unit's coefficients: unitizing alpha, then what span pairing measures without chance.
SPAN_COEFFICIENTS: tuple[str, ...] = ("unitizing_alpha", "percent_agreement", "holsti")

#: Coefficients defined for two coders only (left out of the per-code tables otherwise).
TWO_CODER: tuple[str, ...] = ("cohen_kappa", "scott_pi")

TEMPLATE = "reliability.html.j2"
SHEET = "Reliability"
DISAGREEMENTS_SHEET = "Disagreements"
VALUE = "0.000"
INDEX = "+0.00;-0.00;0.00"

_NUMBERS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine",
            10: "Ten"}

#: What one unit is, for each unit of comparison: (noun, plural, how it is rated).
_UNIT_NOUNS: dict[str, tuple[str, str, str]] = {
    "document": ("document", "documents", "code presence"),
    "case": ("case", "cases", "code presence"),
    "segment": ("segment", "segments", "code applied to the segment or not"),
    "frequency": ("document", "documents", "number of passages coded with each code"),
    "coverage": ("document", "documents", "share of the document's characters coded with each code, "
                                          "in percent points"),
    "overlap": ("coded passage", "coded passages", "matched spans"),
    "span": ("character", "characters", "characters coded with each code, by each coder"),
    "table": ("unit", "units", "categories assigned"),
}


# ----------------------------------------------------------------------------- public API

def write_reliability_html(path: Path, report: AgreementReport, *, title: str | None = None,
                           software: str = "qda <version>",
                           coverage: Mapping[str, tuple[int, int]] | None = None,
                           provenance: Sequence[str] = ()) -> Path:
    """Write the self-contained HTML reliability report to ``path`` (replacing it).

    ``software`` is named in the method paragraph; ``<version>`` in it is replaced by the
    installed qda version. ``coverage`` (coder -> documents coded, documents in the
    project) prints a line per coder under the header. Raises :class:`ExportError` when
    the file cannot be written.
    """
    path = Path(path)
    xl.check_target(path, "reliability.html")
    check_suffix(path, (".html", ".htm"), "an HTML report")
    html = render_reliability_html(report, title=title, software=software, coverage=coverage, provenance=provenance)
    _write_text(path, html)
    return path


def render_reliability_html(report: AgreementReport, *, title: str | None = None,
                            software: str = "qda <version>", date: _dt.date | None = None,
                            coverage: Mapping[str, tuple[int, int]] | None = None,
                            provenance: Sequence[str] = ()) -> str:
    """The HTML report as a string (what :func:`write_reliability_html` writes); ``provenance``:
    sentences saying which codings machine suggestions made (qda.suggest.provenance)."""
    context = _html_context(report, title=title, software=_software(software),
                            date=date or _dt.date.today())
    context.update(coverage=_coverage_lines(coverage), typography=Markup(type_.css()), family=type_.CSS_FAMILY)
    context["provenance"] = list(provenance)
    try:
        return type_.hold_html(_template().render(**context))
    except jinja2.TemplateError as exc:  # a broken installation, not a user error
        raise ExportError(f"cannot render the reliability report: {exc}") from exc


def method_paragraph(report: AgreementReport, software: str = "qda <version>") -> str:
    """A "Method" paragraph describing the agreement study, generated from the data.

    Plain text, ready to paste into a paper: who coded what, the unit of comparison and
    the number of units, the pooled Krippendorff's alpha and kappa (Cohen's for two
    coders, Fleiss' for more) with their 95% intervals, the range over codes, the
    kappa-paradox caveat when it applies, and the software used.
    """
    software = _software(software)
    coders = list(report.coders)
    m = len(coders)
    count = _NUMBERS.get(m, str(m)) if m != 1 else "One"
    who = f"{count} coder{'s' if m != 1 else ''} ({_join(coders)})"
    n_codes = len(report.codes)
    pooled = report.pooled
    noun, plural, rating = _UNIT_NOUNS.get(report.unit, ("unit", "units", report.unit))
    settings = report.settings
    per_item = _items_per_code(report)
    sentences: list[str] = []

    if report.unit == "table":
        sentences.append(f"{who} independently rated {_count(pooled.n_units, 'unit', 'units')}.")
    else:
        codebook = f"a codebook of {_count(n_codes, 'code', 'codes')}"
        if report.unit in ("span", "overlap") or per_item is None:
            what = f"independently coded the same material against {codebook}"
        else:
            items = _count(per_item, noun, plural)
            if report.unit == "case":
                items = f"the documents of {items}"
            what = f"independently coded {items} against {codebook}"
            if settings.get("exclude_uncoded"):
                what += f" ({plural} that no coder coded with any code were left out)"
        sentences.append(f"{who} {what}.")
        level = f"the {noun} ({rating})"
        if report.unit in ("frequency", "coverage") and settings.get("tolerance"):
            level = level[:-1] + f"; ratings within {_num(settings['tolerance'])} of each other counted as equal)"
        if report.unit == "span":
            level = ("the characters of the documents (each coder's coded passages against the text left "
                     "uncoded, for every pair of coders)")
        elif report.unit == "overlap":
            level = (f"the coded passage (two coders' spans match when their common part is at least "
                     f"{float(settings.get('overlap', 0.9)):.0%} of the longer span)")
        over = f"over {_count(pooled.n_units, 'unit', 'units')}"
        if report.unit == "span":
            over = (f"over {_count(int(settings.get('characters', 0)), 'character', 'characters')} in "
                    f"{_count(int(settings.get('documents', 0)), 'document', 'documents')}")
        if per_item is not None and n_codes > 1 and report.unit != "overlap":
            over += f" ({_thousands(per_item)} {plural} × {n_codes} codes)"
        sentences.append(f"Agreement was assessed at the level of {level}, {over}.")

    prefix = "pooled " if report.unit != "table" and n_codes > 1 else ""
    bootstrap = int(settings.get("bootstrap") or 0)
    method = f"percentile bootstrap, {_thousands(bootstrap)} resamples"
    est = pooled.estimates.get
    if report.unitizing is not None:
        r = report.unitizing.result
        method = f"percentile bootstrap over documents, {_thousands(bootstrap)} resamples"
        sentences += _results([(f"{prefix}Krippendorff's unitizing alpha (|uα; Krippendorff et al. 2016)",
                                est("unitizing_alpha"), False)], method)
        sentences += _results([("the coding alpha cuα (agreement on which code, where coded passages overlap)",
                                r.coding, False),
                               ("Cuα (the same over top-level codes)", r.domains, False)], None)
        if len(coders) == 2:
            sentences += _results([("percent agreement on matched spans", est("percent_agreement"), True)], None)
        headline = est("unitizing_alpha")
        if bootstrap == 0:
            sentences.append("No confidence intervals were computed.")
        elif headline is not None and headline.value is not None and headline.ci_low is None:
            sentences.append(f"No confidence interval was formed ({headline.note}).")
        ranged = _range_sentence(report, "unitizing_alpha")
        if ranged:
            sentences.append(ranged)
    elif report.unit == "overlap":
        sentences += _results([(f"{prefix}percent agreement on the coded passages",
                                est("percent_agreement"), True)], method)
        sentences.append("Chance-corrected coefficients are not interpretable at this level, since no "
                         "passage is left uncoded by both coders.")
    else:
        kappa = _kappa_name(report)
        main = [(f"{prefix}{DISPLAY_NAMES['krippendorff_alpha']}", est("krippendorff_alpha"), False)]
        if kappa in pooled.estimates:
            main.append((DISPLAY_NAMES[kappa], est(kappa), False))
        sentences += _results(main, method)
        extra = []
        if "gwet_ac1" in pooled.estimates:
            extra.append((DISPLAY_NAMES["gwet_ac1"], est("gwet_ac1"), False))
        if "percent_agreement" in pooled.estimates:
            extra.append(("percent agreement", est("percent_agreement"), True))
        method_given = any(e is not None and e.value is not None and e.ci_low is not None for _, e, _ in main)
        sentences += _results(extra, None if method_given else method)
        if bootstrap == 0:
            sentences.append("No confidence intervals were computed.")
        ranged = _range_sentence(report)
        if ranged:
            sentences.append(ranged)
    paradox = [c for c in (*report.codes, pooled) if c.warning] if report.unit not in ("span", "overlap") else []
    if paradox:
        names = [c.code for c in report.codes if c.warning]
        where = (f"for {_count(len(names), 'code', 'codes')} ({_join(names)})" if names
                 else "on the pooled data")
        alongside = ("Gwet's AC1 and the prevalence and bias indices are"
                     if any(c.prevalence is not None for c in paradox) else "Gwet's AC1 is")
        sentences.append(f"Percent agreement was high while kappa was low {where} because one rating "
                         f"dominates (the kappa paradox); {alongside} reported alongside.")
    sentences.append(f"Computed with {software}.")
    return " ".join(sentences)


def add_reliability_sheet(wb: Workbook, report: AgreementReport) -> Worksheet:
    """Add a ``Reliability`` sheet to ``wb`` and return it.

    One row per code and a pooled row: units, then for each coefficient its value and
    the low and high ends of its 95% interval (numbers formatted ``0.000``; an undefined
    value reads "undefined" and carries the reason as a cell comment), prevalence and
    bias indices and the kappa-paradox warning. Below: the disagreements (what each coder
    applied), the character table (overlap unit) and the conventions used.
    """
    if SHEET in wb.sheetnames:
        raise ExportError(f"the workbook already has a sheet named '{SHEET}'")
    ws: Worksheet = wb.create_sheet(SHEET)  # the stubs answer Any (a write-only sheet is possible)
    _reliability_sheet(ws, report)
    return ws


def write_reliability_xlsx(path: Path, report: AgreementReport,
                           coverage: Mapping[str, tuple[int, int]] | None = None) -> Path:
    """Write a workbook with the ``Reliability`` and ``Disagreements`` sheets to ``path``;
    ``coverage`` as in :func:`write_reliability_html` (lines under the sheet's title).

    Raises :class:`ExportError` when the file cannot be written.
    """
    path = Path(path)
    xl.check_target(path, "reliability.xlsx")
    wb = Workbook()
    wb.remove(wb.worksheets[0])  # the default sheet
    wb.properties.creator = "qda"
    wb.properties.title = f"Inter-coder agreement: {_join(list(report.coders))} ({report.unit})"
    ws = add_reliability_sheet(wb, report)
    lines = _coverage_lines(coverage)
    if lines:  # in the title's cell, under the title: the table's rows stay where they are
        xl.add_to_title(ws, "; ".join(lines))
    _disagreements_sheet(wb.create_sheet(DISAGREEMENTS_SHEET), report)
    xl.save(wb, path, "reliability.xlsx")
    return path


def _coverage_lines(coverage: Mapping[str, tuple[int, int]] | None) -> list[str]:
    return [type_.coverage(coder, coded, total) for coder, (coded, total) in (coverage or {}).items()]


# ----------------------------------------------------------------------------- files

def _write_text(path: Path, text: str) -> None:
    xl.write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    from qda.export.tables import html_template

    return html_template(TEMPLATE)


def _software(software: str) -> str:
    if "<version>" not in software:
        return software
    try:
        version = metadata.version("qda")
    except metadata.PackageNotFoundError:
        version = "(development version)"
    return software.replace("<version>", version)


# ----------------------------------------------------------------------------- formatting

def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _interval(est: Estimate | None, digits: int = 3) -> str:
    if est is None or est.value is None or est.ci_low is None or est.ci_high is None:
        return ""
    return f"[{est.ci_low:.{digits}f}, {est.ci_high:.{digits}f}]"


def _reason(est: Estimate | None) -> str:
    """Why an estimate is undefined, without the "undefined:" prefix."""
    if est is None:
        return "not computed"
    note = est.note.strip()
    if note.lower().startswith("undefined:"):
        note = note[len("undefined:"):].strip()
    elif note.lower() == "undefined":
        note = ""
    return note or "no usable data"


def _index(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _thousands(n: int) -> str:
    return f"{n:,}"


def _count(n: int, one: str, many: str) -> str:
    return f"{_thousands(n)} {one if n == 1 else many}"


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _join(items: Sequence[str]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _results(items: Sequence[tuple[str, Estimate | None, bool]], method: str | None) -> list[str]:
    """Sentences reporting estimates: the defined ones joined ("A was x (CI) and B y (CI)."),
    then one sentence per undefined one ("C was undefined because ...")."""
    defined = [(name, e, pct) for name, e, pct in items if e is not None and e.value is not None]
    sentences = []
    parts: list[str] = []
    for name, e, pct in defined:
        text = _prose(e, method, percent=pct)
        if method and e.ci_low is not None:
            method = None  # say how the intervals were formed once
        parts.append(f"{name} was {text}" if not parts else f"{name} {text}")
    if parts:
        sentences.append(_capital(" and ".join(parts)) + ".")
    for name, estimate, _ in items:
        if estimate is None or estimate.value is None:
            reason = _reason(estimate)
            because = "no data were usable" if reason in ("no usable data", "not computed") else reason
            sentences.append(_capital(f"{name} was undefined because {because}."))
    return sentences


def _prose(est: Estimate | None, method: str | None, *, percent: bool = False) -> str:
    """'0.939 (95% CI [0.88, 0.98], <method>)' or 'undefined (reason)' for the method paragraph."""
    if est is None:
        return "not computed"
    if est.value is None:
        return f"undefined ({_reason(est)})"
    if percent:
        value = _percent(est.value)
        ci = (f"[{100 * est.ci_low:.1f}%, {100 * est.ci_high:.1f}%]"
              if est.ci_low is not None and est.ci_high is not None else "")
    else:
        value = f"{est.value:.3f}"
        ci = _interval(est, _prose_digits(est))
    if ci:
        return f"{value} (95% CI {ci}{', ' + method if method else ''})"
    return value


def _prose_digits(est: Estimate) -> int:
    """Two decimals for an interval in prose, three when two would blur it (e.g. 0.999 in [1.00, 1.00])."""
    if est.value is None or est.ci_low is None or est.ci_high is None:
        return 2
    low, high, value = round(est.ci_low, 2), round(est.ci_high, 2), round(est.value, 3)
    return 2 if low < high and low <= value <= high else 3


def _kappa_name(report: AgreementReport) -> str:
    return "cohen_kappa" if len(report.coders) == 2 else "fleiss_kappa"


def _items_per_code(report: AgreementReport) -> int | None:
    """Documents (cases, segments) per code, when every code has the same number of units."""
    if report.unit in ("span", "overlap", "table") or not report.codes:
        return None
    counts = {c.n_units for c in report.codes}
    return counts.pop() if len(counts) == 1 else None


def _range_sentence(report: AgreementReport, name: str = "krippendorff_alpha") -> str:
    if len(report.codes) < 2:
        return ""
    defined = [(value, c.code) for c in report.codes
               if name in c.estimates and (value := c.estimates[name].value) is not None]
    undefined = len(report.codes) - len(defined)
    text = ""
    if len(defined) >= 2 and f"{min(defined)[0]:.3f}" == f"{max(defined)[0]:.3f}":
        every = "every code" if not undefined else "every code where it is defined"
        text = f"Per code, {DISPLAY_NAMES[name]} was {defined[0][0]:.3f} for {every}"
    elif len(defined) >= 2:
        low, high = min(v for v, _ in defined), max(v for v, _ in defined)
        text = (f"Per code, {DISPLAY_NAMES[name]} ranged from {low:.3f} ({_which(defined, low)}) "
                f"to {high:.3f} ({_which(defined, high)})")
    if undefined:
        tail = f"undefined for {_count(undefined, 'code', 'codes')} (see the per-code table)"
        text = f"{text}; it was {tail}" if text else f"Per code, {DISPLAY_NAMES[name]} was {tail}"
    return text + "." if text else ""


def _which(values: Sequence[tuple[float, str]], target: float) -> str:
    """The codes whose value prints as ``target`` (three decimals): named when few, else counted."""
    codes = [code for v, code in values if f"{v:.3f}" == f"{target:.3f}"]
    return _join(codes) if len(codes) <= 3 else f"{len(codes)} codes"


def _shown_coefficients(report: AgreementReport) -> list[str]:
    """The coefficients of the per-code tables: all but the two-coder ones with more coders."""
    rows = (*report.codes, report.pooled)
    if report.unitizing is not None:
        # Span pairing's chance-corrected figures are undefined by construction: not shown.
        return [n for n in SPAN_COEFFICIENTS
                if any(r.estimates.get(n) is not None and r.estimates[n].value is not None for r in rows)
                or n == "unitizing_alpha"]
    present = [n for n in COEFFICIENTS if any(n in r.estimates for r in rows)]
    if len(report.coders) != 2:
        present = [n for n in present if n not in TWO_CODER]
    return present


def _labels(report: AgreementReport) -> dict[str, str]:
    return {c.code: c.label for c in report.codes}


def _case_document(d: Disagreement) -> str:
    parts = [d.unit.case] if d.unit.case else []
    if d.unit.document and d.unit.document != d.unit.case:
        parts.append(d.unit.document)
    return " / ".join(parts)


def _unit_where(d: Disagreement) -> str:
    """The segment reference, or the character span of an overlap unit."""
    if d.unit.segment:
        return d.unit.segment
    if d.unit.start is not None and d.unit.end is not None:
        return f"{d.unit.start}–{d.unit.end}"
    return ""


# ----------------------------------------------------------------------------- HTML context

@dataclass
class _Cell:
    value: str
    ci: str = ""
    note: str = ""  # footnote mark of an undefined value
    title: str = ""


@dataclass
class _Row:
    code: str
    label: str
    n_units: int
    cells: list[_Cell]
    prevalence: str
    bias: str
    warning: bool
    anchor: str
    pooled: bool = False


@dataclass
class _Chart:
    width: float
    height: float
    label_x: float
    top: float
    bottom: float
    panels: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    row: float = 0.0  # height of one row (the shaded band)


def _html_context(report: AgreementReport, *, title: str | None, software: str,
                  date: _dt.date) -> dict[str, Any]:
    shown = _shown_coefficients(report)
    hidden = [n for n in COEFFICIENTS if n in report.pooled.estimates and n not in shown
              and report.unitizing is None]
    footnotes: dict[str, str] = {}

    def cell(est: Estimate | None) -> _Cell:
        if est is not None and est.value is not None:
            return _Cell(_fmt(est.value), _interval(est), title=est.note)
        reason = _reason(est)
        mark = footnotes.setdefault(reason, _mark(len(footnotes)))
        return _Cell("undefined", note=mark, title=reason)

    rows = []
    for i, item in enumerate((*report.codes, report.pooled)):
        pooled = item is report.pooled
        rows.append(_Row(item.code, item.label, item.n_units, [cell(item.estimates.get(n)) for n in shown],
                         _index(item.prevalence), _index(item.bias), bool(item.warning),
                         "warning-pooled" if pooled else f"warning-{i}", pooled))
    summary = []
    structural = []  # the span unit: figures undefined by construction, listed once
    for name in (*(["unitizing_alpha"] if report.unitizing is not None else []), *COEFFICIENTS):
        est = report.pooled.estimates.get(name)
        if est is None:
            continue
        if report.unitizing is not None and est.value is None and est.note == NO_NEITHER:
            structural.append(DISPLAY_NAMES.get(name, name))
            continue
        defined = est.value is not None
        summary.append({"name": _capital(DISPLAY_NAMES.get(name, name)),
                        "value": _fmt(est.value) if defined else f"undefined — {_reason(est)}",
                        "ci": _interval(est), "note": est.note if defined else "", "defined": defined})
    if report.unitizing is not None:
        for name, est in (("cuα (which code, where coded passages overlap)", report.unitizing.result.coding),
                          ("Cuα (which top-level code)", report.unitizing.result.domains)):
            defined = est.value is not None
            summary.insert(1 + (name[0] == "C"), {
                "name": name, "value": _fmt(est.value) if defined else f"undefined — {_reason(est)}",
                "ci": _interval(est), "note": est.note if defined else "", "defined": defined})
    if structural:
        summary.append({"name": f"{_join(structural)} of matched spans", "ci": "", "note": "", "defined": False,
                        "value": f"undefined — {_reason(Estimate(None, None, None, NO_NEITHER))}"})
    warnings = [{"code": c.code, "label": c.label, "text": c.warning,
                 "anchor": "warning-pooled" if c is report.pooled else f"warning-{i}"}
                for i, c in enumerate((*report.codes, report.pooled)) if c.warning]
    coders = list(report.coders)
    disagreements = []
    for d in report.disagreements:
        applied = [list(d.applied.get(c, ())) for c in coders]
        common = set(applied[0]).intersection(*applied[1:]) if applied else set()
        disagreements.append({
            "case": d.unit.case, "document": d.unit.document, "where": _unit_where(d), "text": d.unit.text,
            "applied": [[{"code": x, "differs": x not in common} for x in codes] for codes in applied]})
    noun, plural, rating = _UNIT_NOUNS.get(report.unit, ("unit", "units", report.unit))
    settings = report.settings
    bootstrap = int(settings.get("bootstrap") or 0)
    return {
        "title": title or "Inter-coder agreement report",
        "coders": coders,
        "coders_text": _join(coders),
        "unit": report.unit,
        "unit_text": rating,
        "n_units": (f"{_thousands(int(settings.get('characters', 0)))} characters in "
                    f"{_count(int(settings.get('documents', 0)), 'document', 'documents')}"
                    if report.unitizing is not None else _thousands(report.pooled.n_units)),
        "n_codes": len(report.codes),
        "per_code": None if _items_per_code(report) is None else _thousands(_items_per_code(report) or 0),
        "plural": plural,
        "bootstrap": (f"95% percentile bootstrap intervals, {_thousands(bootstrap)} resamples"
                      + (f", seed {settings['seed']}" if "seed" in settings else "")) if bootstrap
                     else "no confidence intervals (bootstrap 0)",
        "date": date.isoformat(),
        "software": software,
        "summary": summary,
        "pooled_label": "Table" if report.unit == "table" else "Pooled over codes",
        "columns": [_capital(DISPLAY_NAMES.get(n, n)) for n in shown],
        "hidden": (f"Not shown: {_join([DISPLAY_NAMES.get(n, n) for n in hidden])}, defined for two coders "
                   "only (Fleiss' kappa is their generalisation to more coders).") if hidden else "",
        "rows": rows,
        "footnotes": [{"mark": mark, "text": text} for text, mark in footnotes.items()],
        "has_indices": any(r.prevalence or r.bias for r in rows),
        "chart": _chart(report),
        "warnings": warnings,
        "conventions": list(report.conventions),
        "disagreements": disagreements,
        "confusion": _confusion(report),
        "characters": _characters(report),
        "method": method_paragraph(report, software),
    }


def _mark(i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[i] if i < len(letters) else str(i + 1)


def _confusion(report: AgreementReport) -> dict[str, Any] | None:
    if not report.confusion:
        return None
    order = {c.code: i for i, c in enumerate(report.codes)}
    key = lambda code: (order.get(code, len(order)), code)  # noqa: E731
    rows = sorted(report.confusion, key=key)
    cols = sorted({y for ys in report.confusion.values() for y in ys}, key=key)
    labels = _labels(report)
    a, b = (list(report.coders) + ["", ""])[:2]
    return {"coder_a": a, "coder_b": b, "columns": [{"code": c, "label": labels.get(c, "")} for c in cols],
            "rows": [{"code": x, "label": labels.get(x, ""),
                      "counts": [report.confusion[x].get(y, 0) or "" for y in cols],
                      "total": sum(report.confusion[x].values())} for x in rows]}


def _characters(report: AgreementReport) -> dict[str, Any] | None:
    if not report.characters:
        return None
    labels = _labels(report)
    a, b = (list(report.coders) + ["", ""])[:2]
    rows = []
    for t in report.characters:
        po, kappa = t.percent_agreement, t.kappa
        rows.append({"code": t.code, "label": labels.get(t.code, ""), "both": _thousands(t.both),
                     "a_only": _thousands(t.a_only), "b_only": _thousands(t.b_only),
                     "neither": _thousands(t.neither), "agreement": "" if po is None else _percent(po),
                     "kappa": "undefined" if kappa is None else f"{kappa:.3f}"})
    return {"coder_a": a, "coder_b": b, "rows": rows}


# ----------------------------------------------------------------------------- SVG chart

# Sized so that the chart's text prints at 8 pt or more once the SVG is scaled to the
# width of an A4 page (688 CSS px between 14 mm margins): three panels make 818 units,
# so 13-unit text prints at 13 x 688 / 818 = 10.9 px = 8.2 pt.
_ROW = 22.0
_TOP = 34.0
_BOTTOM = 38.0
_LABEL_W = 206.0
_PANEL_W = 172.0
_GAP = 32.0
_GRID = (0.0, 0.4, 0.6, 0.8, 1.0)


def _chart(report: AgreementReport) -> _Chart | None:
    """Geometry of the dot-and-whisker chart; the template draws it (labels escaped there)."""
    items: list[CodeAgreement] = [*report.codes, report.pooled]
    names = [n for n in CHART_COEFFICIENTS if any(n in c.estimates for c in items)]
    if report.unitizing is not None:
        names = ["unitizing_alpha"]  # span pairing's chance-corrected figures are undefined by construction
    if not names:
        return None
    lows = [x for c in items for n in names if n in c.estimates
            for x in (c.estimates[n].value, c.estimates[n].ci_low) if x is not None]
    x_min = min([-0.2, *(math.floor(v * 10 + 1e-9) / 10 for v in lows)])
    x_min = max(x_min, -1.0)
    span = 1.0 - x_min
    n_rows = len(items)
    gap_before_pooled = _ROW * 0.6 if report.codes else 0.0
    plot_h = n_rows * _ROW + gap_before_pooled
    width = _LABEL_W + len(names) * (_PANEL_W + _GAP)
    height = _TOP + plot_h + _BOTTOM
    chart = _Chart(round(width, 1), round(height, 1), _LABEL_W - 8, _TOP, round(_TOP + plot_h, 1))
    chart.row = _ROW
    ticks = sorted({x_min, *_GRID})
    for p, name in enumerate(names):
        x0 = _LABEL_W + _GAP / 2 + p * (_PANEL_W + _GAP)

        def x_of(v: float, x0: float = x0) -> float:
            return round(x0 + (min(max(v, x_min), 1.0) - x_min) / span * _PANEL_W, 1)

        chart.panels.append({
            "name": DISPLAY_NAMES.get(name, name), "x0": round(x0, 1), "x1": round(x0 + _PANEL_W, 1),
            "title_x": round(x0 + _PANEL_W / 2, 1),
            "grid": [{"x": x_of(t), "label": _tick(t), "major": t in _GRID, "zero": t == 0.0} for t in ticks],
        })
    y = _TOP
    for i, item in enumerate(items):
        pooled = item is report.pooled
        if pooled:
            y += gap_before_pooled
        cy = round(y + _ROW / 2, 1)
        marks = []
        for p, name in enumerate(names):
            x0 = chart.panels[p]["x0"]
            est = item.estimates.get(name)
            x_of = lambda v, x0=x0: round(x0 + (min(max(v, x_min), 1.0) - x_min) / span * _PANEL_W, 1)  # noqa: E731
            if est is None or est.value is None:
                marks.append({"defined": False, "x": round(x_of(0.0) + 5, 1),
                              "title": f"{DISPLAY_NAMES.get(name, name)}: undefined — {_reason(est)}"})
                continue
            whisker = None
            if est.ci_low is not None and est.ci_high is not None:
                whisker = {"x1": x_of(est.ci_low), "x2": x_of(est.ci_high)}
            marks.append({"defined": True, "x": x_of(est.value), "whisker": whisker,
                          "title": f"{DISPLAY_NAMES.get(name, name)}: {est.value:.3f} {_interval(est)}".strip()})
        if pooled:
            label = "All units" if report.unit == "table" else "Pooled (all codes)"
        else:
            label = item.code if not item.label or item.label == item.code else f"{item.code} — {item.label}"
        chart.rows.append({"y": round(y, 1), "cy": cy, "label": _shorten(label, 30), "full": label,
                           "pooled": pooled, "shade": i % 2 == 1 and not pooled, "marks": marks})
        y += _ROW
    chart.description = (f"Dot chart of {' and '.join(DISPLAY_NAMES.get(n, n) for n in names)} per code "
                         f"with 95% intervals, axis from {_tick(x_min)} to 1.")
    return chart


def _tick(v: float) -> str:
    text = f"{v:.1f}"
    return "0" if text in ("0.0", "-0.0") else ("1" if text == "1.0" else text)


def _shorten(text: str, n: int) -> str:
    """At most ``n`` characters, cut at a word boundary when there is one (not mid-word)."""
    if len(text) <= n:
        return text
    cut = text[:n - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > n // 2 else cut).rstrip(" —-,;:") + "…"


# ----------------------------------------------------------------------------- Excel

def _reliability_sheet(ws: Worksheet, report: AgreementReport) -> None:
    shown = _shown_coefficients(report)
    coders = list(report.coders)
    bootstrap = int(report.settings.get("bootstrap") or 0)
    xl.title(ws, f"Inter-coder agreement, unit: {report.unit} — coders {_join(coders)}; "
               f"{_count(report.pooled.n_units, 'unit', 'units')}; "
               + (f"95% percentile bootstrap intervals ({_thousands(bootstrap)} resamples)" if bootstrap
                  else "no confidence intervals"))
    first = 4  # first coefficient column
    after = first + 3 * len(shown)
    last = after + 2
    # two header rows: coefficient names over value / 95% low / 95% high
    xl.header(ws, 2, ["Code", "Label", "Units"])
    xl.header(ws, 3, ["", "", ""])
    for col in (1, 2, 3):
        ws.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
    for i, name in enumerate(shown):
        col = first + 3 * i
        xl.header(ws, 2, [_capital(DISPLAY_NAMES.get(name, name)), "", ""], first_col=col, center_from=col)
        ws.merge_cells(start_row=2, start_column=col, end_row=2, end_column=col + 2)
        xl.header(ws, 3, ["Value", "95% low", "95% high"], first_col=col, center_from=col)
    xl.header(ws, 2, ["Prevalence index", "Bias index", "Warning"], first_col=after, center_from=after)
    xl.header(ws, 3, ["", "", ""], first_col=after)
    for col in range(after, last + 1):
        ws.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
    ws.cell(row=3, column=3).alignment = CENTER

    row = 4
    for item in (*report.codes, report.pooled):
        pooled = item is report.pooled
        xl.put(ws, row, 1, item.code, align=TOP)
        xl.put(ws, row, 2, item.label, align=WRAP)
        xl.put(ws, row, 3, int(item.n_units), align=CENTER)
        for i, name in enumerate(shown):
            col = first + 3 * i
            est = item.estimates.get(name)
            if est is None or est.value is None:
                cell = xl.put(ws, row, col, "undefined", font=NOTE, align=CENTER)
                cell.comment = Comment(f"{DISPLAY_NAMES.get(name, name)} undefined: {_reason(est)}", "qda",
                                       width=300, height=90)
                continue
            xl.put(ws, row, col, est.value, align=CENTER, fmt=VALUE)
            xl.put(ws, row, col + 1, est.ci_low, align=CENTER, fmt=VALUE)
            xl.put(ws, row, col + 2, est.ci_high, align=CENTER, fmt=VALUE)
        xl.put(ws, row, after, item.prevalence, align=CENTER, fmt=INDEX)
        xl.put(ws, row, after + 1, item.bias, align=CENTER, fmt=INDEX)
        xl.put(ws, row, after + 2, item.warning, align=WRAP)
        if pooled:
            xl.style_row(ws, row, last, font=BOLD, border=Border(top=DOUBLE, bottom=THIN))
        row += 1

    # the disagreements: one row each, each coder's codes over three merged columns
    row += 1
    xl.put(ws, row, 1, f"Disagreements ({len(report.disagreements)} units where the coders differ)", font=TITLE)
    row += 1
    coder_cols = [first + 3 * i for i in range(len(coders))]
    xl.header(ws, row, ["Case / document", "Text", "Segment"])
    for coder, col in zip(coders, coder_cols):
        xl.header(ws, row, [f"Applied by {coder}", "", ""], first_col=col, center_from=col + 3)
        ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + 2)
    row += 1
    if not report.disagreements:
        xl.put(ws, row, 1, "(none: the coders agree on every unit)", font=NOTE)
        row += 1
    for d in report.disagreements:
        xl.put(ws, row, 1, _case_document(d), align=TOP)
        xl.put(ws, row, 2, d.unit.text, align=WRAP)
        xl.put(ws, row, 3, _unit_where(d), align=TOP)
        for coder, col in zip(coders, coder_cols):
            xl.put(ws, row, col, "; ".join(d.applied.get(coder, ())), align=WRAP)
            ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + 2)
        row += 1

    if report.characters:
        row += 1
        a, b = (coders + ["", ""])[:2]
        xl.put(ws, row, 1, "Characters coded (NVivo-style table)", font=TITLE)
        row += 1
        xl.header(ws, row, ["Code", "Label", "Both", f"{a} only", f"{b} only", "Neither", "Agreement", "Kappa"],
                center_from=3)
        row += 1
        labels = _labels(report)
        for t in report.characters:
            po, kappa = t.percent_agreement, t.kappa
            xl.put(ws, row, 1, t.code, align=TOP)
            xl.put(ws, row, 2, labels.get(t.code, ""), align=WRAP)
            for i, n in enumerate((t.both, t.a_only, t.b_only, t.neither)):
                xl.put(ws, row, 3 + i, int(n), align=CENTER, fmt="#,##0")
            xl.put(ws, row, 7, po, align=CENTER, fmt="0.0%")
            if kappa is None:
                xl.put(ws, row, 8, "undefined", font=NOTE, align=CENTER)
            else:
                xl.put(ws, row, 8, kappa, align=CENTER, fmt=VALUE)
            row += 1

    row += 1
    xl.put(ws, row, 1, "Conventions", font=TITLE)
    row += 1
    for text in report.conventions:
        xl.put(ws, row, 1, f"• {text}")
        row += 1
    if any(c.warning for c in (*report.codes, report.pooled)):
        xl.put(ws, row, 1, "• Warning column: the 'kappa paradox' (high agreement, low kappa when one category "
                         "dominates); read Gwet's AC1 and the prevalence index alongside kappa.", font=ITALIC)

    widths = {1: xl.fit(["Case / document", *(c.code for c in report.codes),
                       *(d.unit.document for d in report.disagreements)], 12, 24),
              2: LABEL_WIDTH, 3: xl.fit(["Units", *(_unit_where(d) for d in report.disagreements)], 8, 14)}
    widths.update({col: 9.5 for col in range(first, after)})
    widths.update({after: 11, after + 1: 9, after + 2: 60})
    xl.widths(ws, widths)
    ws.freeze_panes = "D4"
    xl.print_setup(ws, header_rows="2:3")


def _disagreements_sheet(ws: Worksheet, report: AgreementReport) -> None:
    coders = list(report.coders)
    headers = ["Case", "Document", "Segment", "Start", "End", *coders, "Text"]
    xl.header(ws, 1, headers)
    for row, d in enumerate(report.disagreements, start=2):
        xl.put(ws, row, 1, d.unit.case, align=TOP)
        xl.put(ws, row, 2, d.unit.document, align=TOP)
        xl.put(ws, row, 3, d.unit.segment, align=TOP)
        xl.put(ws, row, 4, d.unit.start, align=TOP)
        xl.put(ws, row, 5, d.unit.end, align=TOP)
        for i, coder in enumerate(coders):
            xl.put(ws, row, 6 + i, "; ".join(d.applied.get(coder, ())), align=WRAP)
        xl.put(ws, row, 6 + len(coders), d.unit.text, align=WRAP)
    units = [d.unit for d in report.disagreements]
    widths = {1: xl.fit(["Case", *(u.case for u in units)], 8, 24),
              2: xl.fit(["Document", *(u.document for u in units)], 10, 30),
              3: xl.fit(["Segment", *(u.segment for u in units)], 9, 16), 4: 8, 5: 8}
    widths.update({6 + i: xl.fit([c, *("; ".join(d.applied.get(c, ())) for d in report.disagreements)], 12, 30)
                   for i, c in enumerate(coders)})
    widths[6 + len(coders)] = QUOTE_WIDTH
    xl.widths(ws, widths)
    ws.freeze_panes = "A2"
    if report.disagreements:
        ws.auto_filter.ref = f"A1:{ws.cell(row=1 + len(units), column=len(headers)).coordinate}"
    xl.print_setup(ws, header_rows="1:1")
