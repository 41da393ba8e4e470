"""Journal-ready figures with matplotlib (Agg backend: no display needed).

Vector output keeps its fonts (TrueType embedded in PDF, text as paths in SVG so the
file looks the same everywhere); sizes follow the usual single (89 mm) and double
(183 mm) column widths; the palette is Okabe & Ito's, distinguishable by colour-blind
readers, with hatching so that bars stay apart in greyscale, and heatmaps use a
white-to-blue ramp whose lightness falls monotonically (readable in greyscale). Constrained
layout keeps every label inside the canvas, and legends sit outside the plotting area
so that they never cover data. Figures carry no title: the caption belongs to the paper
(or to the report around them). Every function takes ``labels``, a mapping from code id
to the label printed instead of the id (``qda figure --labels``); fonts and sizes come
from :mod:`qda.export.typography`, shared with the reports and the workbook.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qda.errors import ExportError
from qda.export import typography as type_
from qda.files import check_target, write_atomically
from qda.matrix import CrossCaseTable, MetaMatrix, SplitResult

if TYPE_CHECKING:  # qda.analysis brings pandas (0.25 s), which the meta, frequency and split figures never use
    from qda.analysis import Clustering, Cooccurrence

KINDS = ("meta", "split", "cooccur", "dendrogram", "frequency")
FORMATS = ("svg", "pdf", "png")
WIDTHS = {"single": 3.5, "double": 7.2}  # inches: 89 mm and 183 mm
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
HATCHES = ("", "///", "...", "xxx", "\\\\\\", "ooo", "---", "+++")
HEATMAP = "Blues"  # white to dark blue: little ink, lightness monotonic (greyscale- and colour-blind-safe)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.fonttype": "path", "pdf.fonttype": 42, "ps.fonttype": 42,
        "font.family": _families(), "font.size": type_.FIGURE, "axes.labelsize": type_.FIGURE,
        "xtick.labelsize": type_.FIGURE_SMALL, "ytick.labelsize": type_.FIGURE_SMALL,
        "legend.fontsize": type_.FIGURE_SMALL, "legend.title_fontsize": type_.FIGURE_SMALL,
        "lines.linewidth": 0.8,
        "svg.hashsalt": "qda",  # identical input gives an identical SVG
    })
    return plt


def _families() -> list[str]:
    """The typography's families that matplotlib can find, best first (it warns for each
    missing family it is asked for, so only installed ones are named)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = [name for name in type_.FIGURE_FAMILIES if name in installed]
    return found or ["DejaVu Sans"]  # matplotlib's own font, always there


ROTATED = 40  # characters of a label printed upright under a bar or column (cut with "…" beyond)


def _names(codes: Sequence[str], labels: Mapping[str, str] | None, width: int = 28) -> list[str]:
    """What the axes print for each code: its id, or its label wrapped to ``width`` characters."""
    if not labels:
        return list(codes)
    return [textwrap.fill(labels.get(code) or code, width) for code in codes]


def _rotated(codes: Sequence[str], labels: Mapping[str, str] | None) -> list[str]:
    """Labels for a horizontal axis read bottom to top: one line each (wrapped ones ran into
    their neighbours), at most :data:`ROTATED` characters."""
    if not labels:
        return list(codes)
    names = [" ".join((labels.get(code) or code).split()) for code in codes]
    return [n if len(n) <= ROTATED else n[:ROTATED - 1].rstrip() + "…" for n in names]


def _label_room(codes: Sequence[str], labels: Mapping[str, str] | None) -> float:
    """Inches of height the upright labels of :func:`_rotated` need under the axes."""
    if not labels:
        return 0.0
    longest = max((len(n) for n in _rotated(codes, labels)), default=0)
    return longest * type_.FIGURE_SMALL * 0.5 / 72  # a character is about half its size wide


def _figure(size: str, height: float) -> tuple[Any, Any]:
    if size not in WIDTHS:
        raise ExportError(f"unknown figure size '{size}' (use single or double)")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(WIDTHS[size], height), layout="constrained")
    return fig, ax


def meta_heatmap(meta: MetaMatrix, size: str = "double", labels: Mapping[str, str] | None = None) -> Any:
    """Cases x codes presence, cases grouped (a line between groups)."""
    import numpy as np

    cases = [c for _, names in meta.groups for c in names]
    data = np.array([[1 if meta.presence[c].get(k, 0) > 0 else 0 for k in meta.codes] for c in cases])
    # one row per case up to a page height; past 60 cases rows get too thin to label
    fig, ax = _figure(size, min(9.0, max(1.6, 0.22 * len(cases) + 0.9)) + _label_room(meta.codes, labels))
    from matplotlib.colors import ListedColormap

    ax.imshow(data, cmap=ListedColormap(["#FFFFFF", "#1F3B73"]), vmin=0, vmax=1, aspect="auto",
              interpolation="nearest")
    if len(cases) <= 60:
        ax.set_xticks(np.arange(-0.5, len(meta.codes)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(cases)), minor=True)
        ax.grid(which="minor", color="#BBBBBB", linewidth=0.4)
    ax.set_xticks(range(len(meta.codes)), _rotated(meta.codes, labels), rotation=90 if labels else 0)
    if len(cases) <= 60:
        ax.set_yticks(range(len(cases)), list(cases))
    else:  # a thousand tick marks cost seconds and say nothing at this height
        ax.set_yticks([])
        ax.set_ylabel(f"{len(cases)} cases")
    row = 0
    for value, names in meta.groups:
        ax.text(len(meta.codes) - 0.4, row + (len(names) - 1) / 2, f" {value}", va="center", ha="left",
                fontsize=type_.FIGURE_SMALL, clip_on=False)
        row += len(names)
        if row < len(cases):
            ax.axhline(row - 0.5, color="black", linewidth=1.2)
    ax.set_xlabel("code (filled: used by the case)")
    ax.tick_params(which="both", length=0)
    return fig


def split_bars(split: SplitResult, size: str = "single", labels: Mapping[str, str] | None = None) -> Any:
    """Uses per code-attribute value (e.g. direct/indirect) in each group: grouped bars
    with the count and share on each bar."""
    import numpy as np

    groups = [g for g, _ in split.groups]
    fig, ax = _figure(size, 2.6)
    width = 0.8 / max(1, len(split.values))
    x = np.arange(len(groups))
    for i, value in enumerate(split.values):
        uses = [split.cells[value][g].uses for g in groups]
        bars = ax.bar(x + (i - (len(split.values) - 1) / 2) * width, uses, width, label=value,
                      color=OKABE_ITO[i % len(OKABE_ITO)], hatch=HATCHES[i % len(HATCHES)], edgecolor="black",
                      linewidth=0.5)
        texts = [f"{u}\n({type_.percent(split.cells[value][g].share)})"
                 if split.cells[value][g].share is not None else str(u) for u, g in zip(uses, groups)]
        ax.bar_label(bars, labels=texts, fontsize=type_.FIGURE_SMALL, padding=1)
    ax.set_xticks(x, [f"{g} (n={n})" for g, n in split.groups])
    ax.set_ylabel(f"uses ({split.count})")
    ax.margins(y=0.25)
    _legend_above(fig, split.code_attr, len(split.values))
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def cooccurrence_heatmap(result: Cooccurrence, *, group: str = "all", measure: str = "jaccard",
                         size: str = "double", labels: Mapping[str, str] | None = None) -> Any:
    """Code x code heatmap of a co-occurrence coefficient (codes in use only), with the counts
    below the diagonal."""
    import numpy as np

    if measure not in ("jaccard", "dice", "ochiai"):
        raise ExportError(f"unknown measure '{measure}' for the heatmap (use jaccard, dice or ochiai)")
    table = next((t for t in result.tables if t.group == group), None)
    if table is None:
        raise ExportError(f"no co-occurrence table for group '{group}' "
                          f"(groups: {', '.join(t.group for t in result.tables)})")
    codes = [c for c, n in table.frequencies.items() if n > 0]
    if result.clustering is not None:
        codes = [c for c in result.clustering.leaves if c in codes]
    values = table.grid(measure, codes)  # a copy: the diagonal is blanked below
    np.fill_diagonal(values, np.nan)  # a code with itself says nothing
    counts = table.grid("n_ab", codes)
    side = min(WIDTHS[size], max(2.5, 0.2 * len(codes) + 1.2)) if size in WIDTHS else 3
    fig, ax = _figure(size, side + _label_room(codes, labels))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=HEATMAP, vmin=0, vmax=1, interpolation="nearest")
    if len(codes) <= 30:
        # each pair's count once, below the diagonal: the table is symmetric, and the upper
        # half repeated every number (and cost half of a large report's drawing time)
        for i in range(len(codes)):
            for j in range(i):
                if counts[i, j] > 0:
                    # inside its cell: never moves the layout, which measures every text otherwise
                    ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=type_.FIGURE_TINY,
                            color="white" if values[i, j] > 0.6 else "black", in_layout=False)
    ax.set_xticks(range(len(codes)), _rotated(codes, labels), rotation=90 if labels else 0)
    ax.set_yticks(range(len(codes)), _rotated(codes, labels))  # one line: a row is one line high
    ax.tick_params(length=0)
    fig.colorbar(image, ax=ax, shrink=0.8, label=measure.capitalize())
    return fig


def dendrogram(clustering: Clustering, size: str = "single", labels: Mapping[str, str] | None = None) -> Any:
    """Dendrogram of the average-linkage clustering on Jaccard distance.

    Codes used by exactly the same cases merge at distance 0: every leaf gets a short
    stub left of 0, so such a merge draws as a bracket instead of a line hidden on the
    axis (where the leaves looked unattached).
    """
    import numpy as np
    from matplotlib.collections import LineCollection

    lines = sum(_names([c], labels)[0].count("\n") + 1 for c in clustering.codes) if labels else len(clustering.codes)
    fig, ax = _figure(size, max(2.2, 0.16 * max(lines, len(clustering.codes)) + 0.8))
    # drawn as scipy.cluster.hierarchy.dendrogram(orientation="right", color_threshold=0,
    # above_threshold_color="black") draws it, call for call (the same SVG; scipy.cluster
    # costs 0.2 s to import): leaf i at y = 5 + 10 i, one U per merge, in one collection
    n = len(clustering.codes)
    names = _names(clustering.codes, labels)
    x_lines, y_lines, order = _dendrogram_links(clustering.linkage, n)
    highest = max(row[2] for row in clustering.linkage)
    ax.set_xlim([0, highest + highest * 0.05])
    ax.set_ylim([0, n * 10])
    ax.set_yticks(np.arange(5, n * 10 + 5, 10))
    ax.yaxis.set_ticks_position("left")
    for tick in ax.get_yticklines():
        tick.set_visible(False)
    ax.set_yticklabels([names[i] for i in order], size=float(type_.FIGURE_SMALL))
    ax.add_collection(LineCollection([list(zip(xs, ys)) for xs, ys in zip(x_lines, y_lines)], colors=("black",)))
    stub = 0.03
    leaves = 5 + 10 * np.arange(n)
    ax.hlines(leaves, -stub, 0, color="black", linewidth=_pyplot().rcParams["lines.linewidth"])
    ax.set_xlabel("Jaccard distance (1 − J), average linkage")
    ax.set_xlim(-stub, 1.02)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.spines["bottom"].set_bounds(0, 1)
    ax.tick_params(axis="y", length=0)
    return fig


def _dendrogram_links(linkage: Sequence[Sequence[float]], n: int
                      ) -> tuple[list[list[float]], list[list[float]], list[int]]:
    """Each merge's U as (heights, positions) in drawing order (a merge after its two
    clusters), and the leaves in order: scipy's dendrogram layout, without scipy."""
    heights: list[list[float]] = []
    positions: list[list[float]] = []
    order: list[int] = []

    def walk(node: int, start: float) -> tuple[float, float, float]:  # (position, width, height)
        if node < n:
            order.append(node)
            return start + 5.0, 10.0, 0.0
        first, second, height = linkage[node - n][:3]
        at_a, width_a, height_a = walk(int(first), start)
        at_b, width_b, height_b = walk(int(second), start + width_a)
        positions.append([at_a, at_a, at_b, at_b])
        heights.append([height_a, height, height, height_b])
        return (at_a + at_b) / 2, width_a + width_b, height

    walk(2 * n - 2, 0.0)
    return heights, positions, order


def frequency_bars(cross: CrossCaseTable, size: str = "double", labels: Mapping[str, str] | None = None) -> Any:
    """Code frequencies per group (cases using each code, or segments), side by side."""
    import numpy as np

    rows = [r for r in cross.rows if r.kind == "code"]
    groups = [g for g, _ in cross.groups]
    fig, ax = _figure(size, 2.8 + _label_room([r.key for r in rows], labels))
    x = np.arange(len(rows))
    width = 0.8 / max(1, len(groups))
    for i, (group, n) in enumerate(cross.groups):
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, [r.counts[i] for r in rows], width,
               label=f"{group} (n={n})", color=OKABE_ITO[i % len(OKABE_ITO)], hatch=HATCHES[i % len(HATCHES)],
               edgecolor="black", linewidth=0.5)
    ax.set_xticks(x, _rotated([r.key for r in rows], labels), rotation=90 if labels else 0)
    ax.set_ylabel("cases using the code" if cross.count == "cases" else "coded segments")
    ax.yaxis.get_major_locator().set_params(integer=True)
    _legend_above(fig, cross.by, len(groups))
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _legend_above(fig: Any, title: str, entries: int) -> None:
    """The legend above the plotting area, outside it (constrained layout makes room):
    inside the axes it covered a bar whatever corner matplotlib chose."""
    fig.legend(title=title, frameon=False, loc="outside upper center", ncols=min(4, max(1, entries)))


def save(fig: Any, path: str | Path) -> Path:
    """Write a figure as SVG, PDF or PNG (600 dpi), chosen by the file's extension."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ExportError(f"cannot write a figure as '{path.suffix or path.name}' (use .svg, .pdf or .png)")
    check_target(path, f"figure.{suffix}")
    plt = _pyplot()
    try:
        if suffix == "svg":
            write_atomically(path, lambda tmp: _print_svg(fig, tmp, dpi=600))
        else:
            write_atomically(path, lambda tmp: fig.savefig(tmp, format=suffix, dpi=600))
    finally:
        plt.close(fig)
    return path


def svg_text(fig: Any) -> str:
    """The figure as an SVG document (for inline HTML), without the XML prologue."""
    plt = _pyplot()
    buffer = io.StringIO()
    try:
        _print_svg(fig, buffer, dpi=fig.dpi)
    finally:
        plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]



def _print_svg(fig: Any, target: Any, dpi: float) -> None:
    """Write ``fig`` as SVG (images at ``dpi``), drawing it once, as ``fig.savefig(target,
    format="svg", dpi=dpi, metadata={"Date": None})`` writes it, byte for byte.

    With a layout engine on, ``savefig`` draws the whole figure once without output to
    place its parts, then again to write it: the first pass resampled every image and
    measured every text (a 1,000-case heatmap, 600 counts in a co-occurrence map) for
    nothing. The layout needs only the texts' sizes, measured here by the same SVG
    renderer at the same 72 dpi; then the canvas prints the figure with the layout off.
    """
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    canvas = FigureCanvasSVG(fig)  # the figure's renderer becomes the SVG one
    original = fig.dpi
    try:
        engine = fig.get_layout_engine()
        if engine is not None:
            engine.execute(fig)
            fig.set_layout_engine("none")  # placed: drawing must not place again
        fig.dpi = dpi  # the SVG canvas takes the images' resolution from the figure's
        canvas.print_svg(target, metadata={"Date": None})  # type: ignore[no-untyped-call]  # matplotlib types its canvases loosely
    finally:
        fig.dpi = original  # the SVG canvas sets 72 while it measures and prints
