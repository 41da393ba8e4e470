"""Pages a reviewer accepts (issue 18 item 4), checked as a reader gets them.

On the example study (25 codes, 10 documents, three coders): the figures carry no title,
keep their legends off the data and attach every dendrogram leaf; ``--labels`` prints
code labels; the HTML reports printed to PDF by Chromium and the workbooks printed by
LibreOffice show nothing below 8 pt, never end a page on a heading, repeat header rows
on every page, use one font family with the figures, hold counts together with no-break
spaces and say how much of the material each coder coded. Sizes, pages and fonts are
read from the PDFs (pypdf, poppler), never from the exporters' own estimates.
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from printcheck import (
    chromium_pdf,
    font_families,
    font_sizes,
    min_font_size,
    needs_chromium,
    needs_soffice,
    page_count,
    page_lines,
    soffice_pdf,
)

from qda import Project
from qda.export import figures

from conftest import run

MIN_PT = 7.95  # 8 pt, less what a PDF's rounding of the scale takes off (7.99)
A4_PORTRAIT = (595, 842)


def _figures(project: Project, size: str, labels: dict[str, str] | None = None):
    from qda import matrix

    codebook, cases, codings = project.codebook(), project.cases(), project.codings("consensus")
    co = project.cooccurrence("consensus", level="case", by="group", cluster=True)
    yield "meta", figures.meta_heatmap(matrix.meta_matrix(codebook, cases, codings, by="group", coder="consensus"),
                                       size,
                                       labels)
    yield "split", figures.split_bars(matrix.split(codebook, cases, codings, code_attr="mode", by="group",
                                                   coder="consensus"), size)
    yield "frequency", figures.frequency_bars(matrix.cross_case(codebook, cases, codings, by="group",
                                                                coder="consensus"),
                                              size, labels)
    yield "cooccur", figures.cooccurrence_heatmap(co, group="all", measure="jaccard", size=size, labels=labels)
    yield "dendrogram", figures.dendrogram(co.clustering, size, labels)


# ----------------------------------------------------------------------------- figures

@pytest.mark.parametrize("size", ["single", "double"])
def test_figures_have_no_title_and_no_legend_over_the_data(study_project: Path, size: str) -> None:
    import matplotlib.pyplot as plt

    with Project.open(study_project) as project:
        drawn = list(_figures(project, size))
    legends = 0
    for kind, fig in drawn:
        renderer = fig.canvas.get_renderer()
        fig.draw(renderer)
        assert not fig.texts and fig._suptitle is None, kind  # the caption belongs to the paper
        for ax in fig.axes:
            assert ax.get_title() == "" and ax.get_title("left") == "" and ax.get_title("right") == "", kind
        plot = fig.axes[0].get_window_extent(renderer)
        for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]:
            box = legend.get_window_extent(renderer)
            assert not box.overlaps(plot), (kind, box, plot)  # outside the plotting area: covers no bar
            legends += 1
        plt.close(fig)
    assert legends == 2  # split and frequency have one each


def test_dendrogram_attaches_every_leaf_even_at_distance_zero(study_project: Path) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    with Project.open(study_project) as project:
        co = project.cooccurrence("consensus", level="case", by="group", cluster=True)
    heights = [row[2] for row in co.clustering.linkage]
    assert min(heights) == 0  # the study has codes used by exactly the same cases: the case that failed
    fig = figures.dendrogram(co.clustering, "single")
    ax = fig.axes[0]
    fig.canvas.draw()
    to_points = ax.transData + fig.dpi_scale_trans.inverted()  # data -> inches
    stems: dict[float, float] = {}
    for collection in ax.collections:
        if not isinstance(collection, LineCollection):
            continue
        for path in collection.get_paths():
            points = to_points.transform(path.vertices) * 72  # points on the page
            data = path.vertices
            for (x0, y0), (x1, y1), (px0, _), (px1, _) in zip(data[:-1], data[1:], points[:-1], points[1:]):
                if y0 == y1 and y0 % 10 == 5 and min(x0, x1) <= 0:  # a horizontal line at a leaf, from x <= 0
                    stems[y0] = max(stems.get(y0, 0.0), abs(px1 - px0))
    leaves = [5 + 10 * i for i in range(len(co.clustering.codes))]
    assert all(stems.get(y, 0.0) >= 1.0 for y in leaves), {y: stems.get(y, 0.0) for y in leaves}
    plt.close(fig)


def test_labels_option_prints_code_labels(runner, study_project: Path, tmp_path: Path) -> None:
    import subprocess

    with Project.open(study_project) as project:
        label = project.codebook().code("h").label()  # 'Foires commerciales': the most used code
    for kind in ("frequency", "dendrogram", "cooccur"):
        with_labels, ids = tmp_path / f"{kind}-labels.pdf", tmp_path / f"{kind}-ids.pdf"
        run(runner, "-p", study_project, "figure", kind, "-o", with_labels, "--coder", "consensus", "--by", "group",
            "--labels")
        run(runner, "-p", study_project, "figure", kind, "-o", ids, "--coder", "consensus", "--by", "group")
        text = subprocess.run(["pdftotext", str(with_labels), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert label in " ".join(text.split()), kind
        plain = subprocess.run(["pdftotext", str(ids), "-"], capture_output=True, text=True, check=True).stdout
        assert label not in " ".join(plain.split()) and "consensus" not in plain, kind  # ids, and no title
        assert min_font_size(with_labels) >= 5.9  # heatmap counts at 6 pt, every other text 7-8 pt


# ----------------------------------------------------------------------------- HTML reports

@pytest.fixture(scope="module")
def reports(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from typer.testing import CliRunner

    folder = tmp_path_factory.mktemp("pages")
    cli = CliRunner()
    run(cli, "-p", study_project, "report", "-o", folder / "synthesis.html", "--coder", "consensus", "--by",
        "group", "--agree", "coder-a", "--agree", "coder-b")
    run(cli, "-p", study_project, "agree", "coder-a", "coder-b", "--bootstrap", "200", "-o",
        folder / "reliability.html", "-o", folder / "reliability.xlsx")
    run(cli, "-p", study_project, "export", "workbook", "-o", folder / "synthesis.xlsx", "--coder", "consensus",
        "--by", "group", "--agree", "coder-a", "--agree", "coder-b")
    run(cli, "-p", study_project, "figure", "frequency", "-o", folder / "frequency.pdf", "--coder", "consensus",
        "--by", "group")
    return {p.name: p for p in folder.iterdir()}


@pytest.fixture(scope="module")
def printed(reports: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """Each report printed once, when a test first asks (Chromium for HTML, LibreOffice for xlsx)."""
    folder = tmp_path_factory.mktemp("printed")
    done: dict[str, Path] = {}

    def pdf(name: str) -> Path:
        if name not in done:
            source = reports[name]
            done[name] = (chromium_pdf(source, folder / f"{source.stem}-html.pdf") if source.suffix == ".html"
                          else soffice_pdf(source, folder / "xlsx", folder / "profile"))
        return done[name]

    return pdf


def _visible_text(page: str) -> str:
    page = re.sub(r"<(style|svg|title)\b.*?</\1>", " ", page, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", page))


def _headings(page: str) -> list[str]:
    return [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", h)).split())
            for h in re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", page, re.S)]


@pytest.mark.parametrize("name", ["synthesis.html", "reliability.html"])
def test_counts_never_break_and_coverage_is_said(reports: dict[str, Path], name: str) -> None:
    page = reports[name].read_text(encoding="utf-8")
    text = _visible_text(page)
    nouns = r"(?:documents?|cases?|codes?|segments?|units?|codings?|resamples|characters?)\b"
    broken = re.findall(rf"\d (?:%|\(\d+[ \u00a0]%\)|of \d|{nouns})", text)
    assert not broken, broken[:10]
    assert re.search(rf"\d\u00a0{nouns}", text)  # held with a no-break space, not just absent
    coverage = re.findall(r"(?i:coder) ([\w-]+) coded (\d+)\u00a0of\u00a0(\d+)\u00a0documents", text)
    expected = [("coder-a", "10", "10"), ("coder-b", "10", "10")]
    assert coverage == ([("consensus", "10", "10")] if name == "synthesis.html" else []) + expected


@needs_chromium
@pytest.mark.parametrize("name", ["synthesis.html", "reliability.html"])
def test_html_report_prints_at_8_pt_with_headings_kept(reports: dict[str, Path], printed, name: str) -> None:
    pdf = printed(name)
    pages = page_count(pdf)
    assert 3 <= pages <= 25, pages
    small = [(page, size, text) for page, size, text in font_sizes(pdf) if size < MIN_PT]
    assert not small, small[:10]  # nothing printed below 8 pt (the reliability table once printed at 5-6)
    assert len(font_families(pdf)) == 1, font_families(pdf)  # one family, code ids included
    headings = set(_headings(reports[name].read_text(encoding="utf-8")))
    lines = page_lines(pdf)
    assert len(lines) == pages
    for number, page in enumerate(lines, start=1):
        assert page[-1] not in headings, (number, page[-3:])  # a heading never ends a page
    printed = " ".join(" ".join(page) for page in lines).lower()
    assert "coder coder-a coded 10 of 10 documents" in printed


@needs_chromium
def test_wide_reliability_table_gets_landscape_pages(printed) -> None:
    from pypdf import PdfReader

    pdf = printed("reliability.html")
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in PdfReader(pdf).pages]
    assert sizes[0] == A4_PORTRAIT
    assert (A4_PORTRAIT[1], A4_PORTRAIT[0]) in sizes  # the per-code table, 8 coefficients wide
    assert all(s in (A4_PORTRAIT, A4_PORTRAIT[::-1]) for s in sizes)


# ----------------------------------------------------------------------------- workbooks

@needs_soffice
@pytest.mark.parametrize("name", ["synthesis.xlsx", "reliability.xlsx"])
def test_workbook_prints_at_8_pt(printed, name: str) -> None:
    pdf = printed(name)
    small = [(page, size, text) for page, size, text in font_sizes(pdf) if size < MIN_PT]
    assert not small, small[:10]  # the codebook printed at about 4 pt, the reliability sheet at 2-3
    assert page_count(pdf) <= 60


@needs_soffice
def test_wide_sheet_runs_over_pages_with_its_headers_repeated(reports: dict[str, Path], tmp_path: Path) -> None:
    book = load_workbook(reports["reliability.xlsx"])
    del book["Disagreements"]
    one = tmp_path / "one.xlsx"
    book.save(one)
    pdf = soffice_pdf(one, tmp_path / "pdf", tmp_path / "profile")
    lines = page_lines(pdf)
    assert len(lines) >= 2  # too wide for one page at 8 pt: the columns run on
    first = [i for i, page in enumerate(lines) if any(line.startswith("Code") for line in page[:4])]
    assert len(first) == len(lines), [page[:3] for page in lines]  # header row and code column on every page
    assert any("Gwet" in " ".join(page) for page in lines[1:])  # later columns on later pages


def test_workbooks_say_coverage(reports: dict[str, Path]) -> None:
    title = load_workbook(reports["reliability.xlsx"])["Reliability"]["A1"].value
    assert "coder coder-a coded 10\u00a0of\u00a010\u00a0documents" in title
    book = load_workbook(reports["synthesis.xlsx"])
    for name in ("Meta-matrix", "Cross-case table", "Intra-case", "Quotes"):
        title = book[name]["A1"].value
        ten = "10\u00a0of\u00a010\u00a0documents"
        assert title.endswith(f"\ncoder consensus coded {ten}; coder coder-a coded {ten}; coder coder-b coded {ten}")


# ----------------------------------------------------------------------------- one identity

@needs_soffice
@needs_chromium
def test_reports_workbook_and_figures_share_one_family(reports: dict[str, Path], printed) -> None:
    families = {
        "report": font_families(printed("synthesis.html")),
        "reliability report": font_families(printed("reliability.html")),
        "workbook": font_families(printed("synthesis.xlsx")),
        "reliability workbook": font_families(printed("reliability.xlsx")),
        "figure": font_families(reports["frequency.pdf"]),
    }
    assert all(len(names) == 1 for names in families.values()), families
    assert len(set().union(*families.values())) == 1, families  # Carlito (or Calibri) in all three


def test_agreement_table_cuts_labels_between_words(study_project: Path) -> None:
    with Project.open(study_project) as project:
        report = project.agree(["coder-a", "coder-b"], bootstrap=0)
        labels = {c.id: " ".join(c.label().split()) for c in project.codebook().codes}
    view = report.to_table()
    shown = {row.cells[0]: row.cells[1] for row in view.rows if row.cells[0] in labels}
    cut = 0
    for code, text in shown.items():
        full = labels[code]
        if text == full:
            continue
        cut += 1
        kept = text.removesuffix("…")
        assert text.endswith("…") and full.startswith(kept) and full[len(kept)] == " ", (text, full)
        assert len(text) <= 40
    assert cut >= 10  # the study's labels are long: 'Médias sociaux (LinkedIn, Facebook, Twit' was cut mid-word


def test_synthesis_reliability_table_has_ac1_and_intervals(runner, study_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.html"
    run(runner, "-p", study_project, "report", "-o", out, "--coder", "consensus", "--by", "group",
        "--agree", "coder-a", "--agree", "coder-b", "--bootstrap", "200")
    page = out.read_text(encoding="utf-8")
    section = page[page.index('id="reliability"'):]
    assert "Gwet's AC1" in html_lib.unescape(section)  # the method paragraph names it: so does the table
    with Project.open(study_project) as project:
        report = project.agree(["coder-a", "coder-b"], bootstrap=200)
    pooled = report.pooled.estimates["gwet_ac1"]
    # the pooled row: value and its interval as the agreement layer computed them (same seed)
    assert f"{pooled.value:.3f}<span class=\"ci\">[{pooled.ci_low:.3f}, {pooled.ci_high:.3f}]</span>" in section
    assert section.count('class="ci"') >= 5 * (len(report.codes) + 1) - 5  # intervals in (nearly) every cell
    assert "No 95\u00a0% intervals" not in section
