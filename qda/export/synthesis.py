"""The HTML synthesis report: one self-contained file (inline CSS and SVG figures, no
JavaScript) with the study overview, the cross-case table, the split, the meta-matrix,
co-occurrence, code x attribute tests, illustrative quotes, distinctive words and the
reliability summary. Every text from the project is escaped by jinja2's autoescape."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from qda.agreement.units import AgreementReport
from qda.analysis import AttributeTests, Cooccurrence, QuoteTable, WordCounts
from qda.errors import ExportError
from qda.export import figures
from qda.export.reliability import method_paragraph
from qda.export.style import check_target, write_atomically
from qda.export.tables import html_template
from qda.matrix import CrossCaseTable, MetaMatrix, SplitResult
from qda.models import Case, Codebook

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
    provenance: Sequence[str] = ()  # which codings machine suggestions made (qda.suggest.provenance)


def _svg(fig: Any) -> Markup:
    # matplotlib's own SVG (text drawn as paths); comments dropped: they repeat labels
    return Markup(_COMMENT.sub("", figures.svg_text(fig)))


def _num(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f} %"


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    return html_template(TEMPLATE, {"num": _num, "pct": _pct})


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
        "figs": figs, "method": method_paragraph(data.reliability) if data.reliability else None,
        "groups": [g for g, _ in data.cross.groups],
    }
    try:
        return _template().render(**context)
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
