"""The HTML synthesis report: one self-contained file (inline CSS and SVG figures, no
JavaScript) with the study overview, the cross-case table, the split, the meta-matrix,
co-occurrence, code x attribute tests, illustrative quotes, distinctive words and the
reliability summary. Every text from the project is escaped by jinja2's autoescape."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from qda.agreement.coefficients import DISPLAY_NAMES
from qda.analysis import AttributeTests, Cooccurrence, QuoteTable, WordCounts
from qda.errors import ExportError
from qda.export import figures
from qda.export import typography as type_
from qda.export.tables import html_template
from qda.files import check_target, write_atomically
from qda.matrix import CrossCaseTable, MetaMatrix, SplitResult
from qda.models import Case, Codebook

if TYPE_CHECKING:  # the reliability modules bring openpyxl: imported when a report has a reliability section
    from qda.agreement.units import AgreementReport

TEMPLATE = "synthesis.html.j2"
_COMMENT = re.compile(r"<!--.*?-->", re.S)


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, computed beforehand (exporters never query the store)."""

    title: str
    project: str
    codebook: Codebook
    cases: Sequence[Case]
    documents: int
    segments: int
    coder: str
    by: str
    lang: str | None
    cross: CrossCaseTable
    meta: MetaMatrix
    split: SplitResult | None
    cooccur: Cooccurrence
    tests: AttributeTests | None
    quotes: QuoteTable
    words: WordCounts | None
    reliability: AgreementReport | None
    #: coder -> (documents they coded, documents in the project), printed as a coverage line
    coverage: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    provenance: Sequence[str] = ()  # which codings machine suggestions made (qda.suggest.provenance)


def _svg(fig: Any) -> Markup:
    # matplotlib's own SVG (text drawn as paths); comments dropped: they repeat labels
    return Markup(_COMMENT.sub("", figures.svg_text(fig)))


def _estimate(value: Any, digits: int = type_.RELIABILITY_DIGITS) -> Markup:
    """A coefficient with its 95 % interval below it when one was computed."""
    if value is None or value.value is None:
        return Markup('<span class="undefined">undefined</span>') if value is not None else Markup("")
    text = Markup.escape(type_.decimal(value.value, digits))
    if value.ci_low is not None and value.ci_high is not None:
        text += Markup('<span class="ci">[{}, {}]</span>').format(type_.decimal(value.ci_low, digits),
                                                                 type_.decimal(value.ci_high, digits))
    return text


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    return html_template(TEMPLATE, {"num": type_.decimal, "pct": type_.percent, "share": type_.with_share,
                                    "count": type_.count, "held": type_.hold_numbers, "estimate": _estimate})


def _method(report: AgreementReport) -> str:
    from qda.export.reliability import method_paragraph

    return method_paragraph(report)


def render_synthesis(data: ReportData) -> str:
    """The report as an HTML string."""
    attributes = sorted({k for c in data.cases for k in c.attributes})
    pairs = sorted((p for p in data.cooccur.tables[0].pairs if p.n_ab > 0),
                   key=lambda p: (-p.n_ab, -(p.jaccard or 0), p.a, p.b))
    labels = {c.id: c.label(data.lang) for c in data.codebook.codes}
    figs = {
        "meta": _svg(figures.meta_heatmap(data.meta)),
        "frequency": _svg(figures.frequency_bars(data.cross)),
        "split": _svg(figures.split_bars(data.split)) if data.split else None,
        "cooccur": _svg(figures.cooccurrence_heatmap(data.cooccur)),
        "dendrogram": _svg(figures.dendrogram(data.cooccur.clustering)) if data.cooccur.clustering else None,
    }
    by_group = [(t.group, t.units, sorted((p for p in t.pairs if p.n_ab > 0),
                                          key=lambda p: (-p.n_ab, -(p.jaccard or 0), p.a, p.b))[:10])
                for t in data.cooccur.tables[1:]]
    context = {
        "d": data, "attributes": attributes, "pairs": pairs[:25], "pair_count": len(pairs), "labels": labels,
        "by_group": by_group,
        "figs": figs,
        "method": _method(data.reliability) if data.reliability else None,
        "coverage": [type_.coverage(coder, coded, total) for coder, (coded, total) in data.coverage.items()],
        "typography": Markup(type_.css()),
        "agreement": [n for n in ("percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha",
                                  "gwet_ac1") if data.reliability and n in data.reliability.pooled.estimates],
        "names": DISPLAY_NAMES,
        "groups": [g for g, _ in data.cross.groups],
    }
    try:
        return type_.hold_html(_template().render(**context))
    except jinja2.TemplateError as exc:
        raise ExportError(f"cannot render the synthesis report: {exc}") from exc


def write_synthesis(path: str | Path, data: ReportData) -> Path:
    """Write the report to ``path`` (replacing it, atomically)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ExportError(f"the report is HTML: name the file like synthesis.html, not '{path.name}'")
    check_target(path, "synthesis.html")
    text = render_synthesis(data)
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
