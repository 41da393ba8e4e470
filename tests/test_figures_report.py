"""Figures (qda figure) and the HTML synthesis report (qda report) on the reference study."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from qda import Project
from qda.cli import app
from qda.export import figures
from qda.models import FigureKind

from conftest import EXAMPLE, run

KINDS = ("meta", "split", "cooccur", "dendrogram", "frequency")


@pytest.mark.parametrize("kind", KINDS)
def test_every_figure_writes_vector_and_raster_files(runner, study_project: Path, tmp_path: Path, kind: str) -> None:
    svg = tmp_path / f"{kind}.svg"
    run(runner, "-p", study_project, "figure", kind, "-o", svg, "--coder", "consensus", "--by", "group")
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and "<text" not in text  # glyphs drawn as paths: no font needed to view it
    pdf = tmp_path / f"{kind}.pdf"
    run(runner, "-p", study_project, "figure", kind, "-o", pdf, "--coder", "consensus", "--by", "group")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"/FontFile2" in data  # TrueType (Type 42) fonts embedded
    png = tmp_path / f"{kind}.png"
    run(runner, "-p", study_project, "figure", kind, "-o", png, "--coder", "consensus", "--by", "group",
        "--size", "single")
    from PIL import Image
    with Image.open(png) as image:
        assert image.size[0] == round(3.5 * 600)  # single column, 89 mm at 600 dpi


def _figures(project: Project):
    codebook, cases, codings = project.codebook(), project.cases(), project.codings("consensus")
    from qda import matrix
    co = project.cooccurrence("consensus", level="case", by="group", cluster=True)
    for size in ("single", "double"):
        yield figures.meta_heatmap(matrix.meta_matrix(codebook, cases, codings, by="group", coder="consensus"), size)
        yield figures.split_bars(matrix.split(codebook, cases, codings, code_attr="mode", by="group",
                                              coder="consensus"), size)
        yield figures.frequency_bars(matrix.cross_case(codebook, cases, codings, by="group", coder="consensus"), size)
        yield figures.cooccurrence_heatmap(co, group="post-entry", measure="jaccard", size=size)
        yield figures.dendrogram(co.clustering, size)


def test_no_label_is_cut_at_either_column_width(study_project: Path) -> None:
    from matplotlib.text import Text

    with Project.open(study_project) as project:
        for fig in _figures(project):
            renderer = fig.canvas.get_renderer()
            fig.draw(renderer)
            box = fig.bbox
            # the box of everything drawn (titles, tick labels in view, bar labels, legends)
            drawn = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)
            assert drawn.x0 >= box.x0 - 1 and drawn.x1 <= box.x1 + 1, (fig.axes[0].get_title(), drawn, box)
            assert drawn.y0 >= box.y0 - 1 and drawn.y1 <= box.y1 + 1, (fig.axes[0].get_title(), drawn, box)
            texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
            assert texts
            import matplotlib.pyplot as plt
            plt.close(fig)


def _luminance(rgba) -> float:
    r, g, b = rgba[:3]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_bar_series_stay_apart_in_greyscale(study_project: Path) -> None:
    from matplotlib.patches import Rectangle

    with Project.open(study_project) as project:
        fig = list(_figures(project))[1]  # split bars
    styles = {(round(_luminance(p.get_facecolor()), 2), p.get_hatch())
              for p in fig.axes[0].patches if isinstance(p, Rectangle)}
    assert len(styles) == 2
    assert len({lum for lum, _ in styles}) == 2 and len({h for _, h in styles}) == 2


def test_figure_rejects_unknown_kind_and_format(runner, study_project: Path, tmp_path: Path) -> None:
    result = run(runner, "-p", study_project, "figure", "pie", "-o", tmp_path / "x.svg", "--coder", "consensus",
                 "--by", "group", code=2)
    assert "'pie' is not one of 'meta', 'split', 'cooccur', 'dendrogram', 'frequency'" in \
        " ".join(result.output.replace("│", " ").split())
    assert [k.value for k in FigureKind] == list(figures.KINDS)  # the CLI's choices are the figures drawn
    result = run(runner, "-p", study_project, "figure", "meta", "-o", tmp_path / "x.jpg", "--coder", "consensus",
                 "--by", "group", code=1)
    assert ".svg, .pdf or .png" in result.output
    result = run(runner, "-p", study_project, "figure", "cooccur", "-o", tmp_path / "x.svg", "--coder", "consensus",
                 "--by", "group", "--measure", "lift", code=2)
    # an Enum option: click refuses the word and lists the choices before anything is read
    said = " ".join(result.output.replace("│", " ").split())
    assert "'lift' is not one of 'jaccard', 'dice', 'ochiai'" in said
    result = run(runner, "-p", study_project, "figure", "meta", "-o", tmp_path / "x.svg", "--coder", "consensus",
                 "--by", "group", "--size", "triple", code=2)
    assert "'triple' is not one of 'single', 'double'" in " ".join(result.output.replace("│", " ").split())
    result = run(runner, "-p", study_project, "figure", "cooccur", "-o", tmp_path / "x.svg", "--coder", "consensus",
                 "--by", "group", "--group", "mid-entry", code=1)
    assert "no co-occurrence table for group 'mid-entry'" in result.output
    assert not (tmp_path / "x.jpg").exists()


# ----------------------------------------------------------------------------- report

@pytest.fixture(scope="module")
def report_file(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from typer.testing import CliRunner

    out = tmp_path_factory.mktemp("report") / "synthesis.html"
    run(CliRunner(), "-p", study_project, "report", "-o", out, "--coder", "consensus", "--by", "group",
        "--agree", "coder-a", "--agree", "coder-b")
    return out


def test_report_has_every_section_with_the_published_numbers(report_file: Path) -> None:
    html = report_file.read_text(encoding="utf-8")
    for anchor in ("overview", "cross", "split", "meta", "cooccur", "tests", "quotes", "words", "reliability"):
        assert f'id="{anchor}"' in html
    # Table 2 subtotals as published (study README): digital 11 (39 %) entry, 9 (23 %) post-entry
    # (no-break spaces: a count and its share never break across lines in print)
    assert "11\u00a0(39\u00a0%)" in html and "9\u00a0(23\u00a0%)" in html and "67\u00a0(100\u00a0%)" in html
    # split: direct 12 / 26 uses, 43 % / 67 %
    split = html[html.index('id="split"'):html.index('id="meta"')]
    assert re.search(r"<td>direct</td><td class=\"n\">12</td><td class=\"n\">43\u00a0%</td><td class=\"n\">7</td>"
                     r"<td class=\"n\">26</td><td class=\"n\">67\u00a0%</td><td class=\"n\">12</td>", split)
    assert "too small to conclude" in html
    assert "Within entry (5\u00a0cases)" in html and "Within post-entry (5\u00a0cases)" in html
    assert html.count("<svg") == 5
    assert "Krippendorff" in html  # the method paragraph


def test_report_is_self_contained_and_escapes_project_text(runner, study_project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(study_project, copy)
    with (EXAMPLE / "profiles.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["age_years"] = "<script>alert(1)</script>"
    cases = tmp_path / "cases.csv"
    with cases.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    run(runner, "-p", copy, "import", "cases", cases)
    out = tmp_path / "s.html"
    run(runner, "-p", copy, "report", "-o", out, "--coder", "consensus", "--by", "group")
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html) and "<link" not in html
    result = run(runner, "-p", copy, "report", "-o", tmp_path / "s.pdf", "--coder", "consensus", "--by", "group",
                 code=1)
    assert "synthesis.html" in result.output


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_report_renders_in_chromium_without_horizontal_overflow(report_file: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "shot.png"
    # --dump-dom after layout: a script-free way to read the page width is a screenshot
    # at 1280 px whose right-most column must be background, and a non-blank page.
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1280,2400", report_file.as_uri()],
                   check=True, capture_output=True, timeout=120)
    with Image.open(shot) as image:
        grey = image.convert("L")
        assert grey.getextrema()[0] < 100  # text was drawn
        width, height = grey.size
        assert width == 1280
        right = [grey.getpixel((width - 3, y)) for y in range(0, height, 4)]
        assert min(right) > 240  # nothing reaches the right edge


def test_figure_help_lists_the_closed_choices(runner) -> None:
    shown = " ".join(run(runner, "figure", "--help").output.split())
    assert "jaccard|dice|ochiai" in shown and "single|double" in shown
    assert "any|all" in " ".join(run(runner, "retrieve", "--help").output.split())


@pytest.mark.parametrize("words, offered", [
    (("figure", "meta", "--measure", ""), ["jaccard", "dice", "ochiai"]),
    (("figure", "meta", "--size", "s"), ["single"]),
    (("figure", "de"), ["dendrogram"]),
    (("retrieve", "--match", "a"), ["any", "all"]),
])
def test_completion_offers_the_closed_choices(runner, words: tuple[str, ...], offered: list[str]) -> None:
    line = ["qda", *words]
    result = runner.invoke(app, [], prog_name="qda", env={
        "_QDA_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(line), "COMP_CWORD": str(len(line) - 1)})
    assert result.exit_code == 0 and [w for w in result.output.split("\n") if w] == offered
