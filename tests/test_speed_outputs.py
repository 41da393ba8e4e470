"""The speedups of issue 18 item 6 (second round) change no output.

Each fast path is held against the straightforward one it replaced, on the example study:
figures drawn once against matplotlib's own ``savefig`` (which places the parts in a first
full draw), coverage counted from document names against coverage counted from codings.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from qda import matrix
from qda.export import figures
from qda.models import is_counted
from qda.project import Project


def _every_figure(project: Project, labels: bool):
    codebook, cases, codings = project.codebook(), project.cases(), project.codings("consensus")
    names = {c.id: c.label("fr") for c in codebook.codes} if labels else None
    co = project.cooccurrence("consensus", level="case", by="group", cluster=True)
    for size in ("single", "double"):
        yield figures.meta_heatmap(matrix.meta_matrix(codebook, cases, codings, by="group", coder="consensus"), size,
                                   names)
        yield figures.split_bars(matrix.split(codebook, cases, codings, code_attr="mode", by="group",
                                              coder="consensus"), size, names)
        yield figures.frequency_bars(matrix.cross_case(codebook, cases, codings, by="group", coder="consensus"), size,
                                     names)
        yield figures.cooccurrence_heatmap(co, group="all", measure="jaccard", size=size, labels=names)
        yield figures.dendrogram(co.clustering, size, names)


@pytest.mark.parametrize("labels", [False, True])
def test_svg_drawn_once_is_the_svg_savefig_writes(study_project: Path, tmp_path: Path, labels: bool) -> None:
    with Project.open(study_project) as project:
        made = list(zip(_every_figure(project, labels), _every_figure(project, labels)))
    plt = figures._pyplot()
    for n, (fast, slow) in enumerate(made):
        expected = io.StringIO()
        slow.savefig(expected, format="svg", metadata={"Date": None})  # matplotlib's way: lays out, then draws
        plt.close(slow)
        inline = figures.svg_text(fast)  # closes the figure
        assert inline == expected.getvalue()[expected.getvalue().index("<svg"):], n
    # the file written by save() (images at 600 dpi) too
    with Project.open(study_project) as project:
        fast, slow = next(_every_figure(project, labels)), next(_every_figure(project, labels))
    figures.save(fast, tmp_path / "fast.svg")
    slow.savefig(tmp_path / "slow.svg", format="svg", dpi=600, metadata={"Date": None})
    plt.close(slow)
    assert (tmp_path / "fast.svg").read_bytes() == (tmp_path / "slow.svg").read_bytes()


def test_a_figure_saved_as_svg_can_be_saved_again(study_project: Path, tmp_path: Path) -> None:
    """Drawing once switches the layout engine off: a second save gives the same file."""
    with Project.open(study_project) as project:
        fig = next(_every_figure(project, False))
    figures._print_svg(fig, tmp_path / "one.svg", dpi=600)
    figures._print_svg(fig, tmp_path / "two.svg", dpi=600)
    assert (tmp_path / "one.svg").read_bytes() == (tmp_path / "two.svg").read_bytes()
    assert fig.dpi == 100  # matplotlib's default, restored after the SVG canvas set 72


def test_coverage_counts_the_documents_of_the_codings_that_count(study_project: Path) -> None:
    with Project.open(study_project) as project:
        coders = project.coders()
        total = len(project._store.documents())
        expected = {c: (len({k.document for k in project._store.codings(coder=c) if is_counted(k, coder_named=True)}),
                        total) for c in coders}
        assert project.coverage(coders) == expected
        assert all(0 < coded <= total for coded, total in expected.values())


def test_smallest_font_reads_the_cells_that_exist_and_creates_none(study_project: Path) -> None:
    from qda.export import style as xl
    from qda.export.workbook import build_workbook, synthesis_data

    with Project.open(study_project) as project:
        codebook, cases, codings = project.codebook(), project.cases(), project.codings("consensus")
        data = synthesis_data(codebook, cases, codings, coder="consensus", by="group", code_attr=None, lang=None,
                              reliability=None,
                              cooccurrence=project.cooccurrence("consensus", level="case", by="group"), quotes=None)
    wb = build_workbook(data)
    sizes = set()
    for ws in wb.worksheets:
        before = len(ws._cells)
        fast = xl.smallest_font(ws)
        assert len(ws._cells) == before  # no empty cell made (they were saved in the file)
        slow = min((float(c.font.sz or 11) for row in ws.iter_rows() for c in row if c.value is not None), default=11.0)
        if getattr(ws, "_charts", None):
            slow = min(slow, xl.CHART_FONT)
        assert fast == slow, ws.title
        sizes.add(fast)
    assert len(sizes) > 1  # sheets differ: the test compares something


def test_codings_read_in_bulk_are_the_codings_the_constructor_makes(study_project: Path) -> None:
    import dataclasses

    from qda.models import Coding
    from qda.store import codings_from_fields

    assert not hasattr(Coding, "__post_init__")  # filling the dict would skip it
    with Project.open(study_project) as project:
        read = project._store.codings()
    assert len(read) > 100 and any(c.segment for c in read) and any(c.speaker for c in read)
    for coding in read:
        built = Coding(**{f.name: getattr(coding, f.name) for f in dataclasses.fields(Coding)})
        assert coding == built and hash(coding) == hash(built) and coding.__dict__ == built.__dict__
    with pytest.raises(dataclasses.FrozenInstanceError):
        read[0].code = "x"  # type: ignore[misc]
    assert codings_from_fields([]) == []


def test_segments_read_in_bulk_are_the_segments_the_constructor_makes(study_project: Path) -> None:
    import dataclasses

    from qda.models import Segment

    assert not hasattr(Segment, "__post_init__")
    with Project.open(study_project) as project:
        read = project._store.segments() + project._store.segments(text=False)
    assert len(read) > 100 and any(s.speaker for s in read) and any(s.text for s in read)
    for segment in read:
        built = Segment(**{f.name: getattr(segment, f.name) for f in dataclasses.fields(Segment)})
        assert segment == built and hash(segment) == hash(built) and segment.__dict__ == built.__dict__


def test_the_workbook_says_the_coverage_coverage_computes(study_project: Path, tmp_path: Path) -> None:
    """export_workbook() counts the coder's documents from the codings it read: the same line."""
    from openpyxl import load_workbook

    from qda.export import typography

    with Project.open(study_project) as project:
        project.export_workbook(tmp_path / "w.xlsx", "consensus", "group", agreement=["coder-a", "consensus"])
        expected = project.coverage(["consensus", "coder-a"])
    assert list(expected) == ["consensus", "coder-a"]
    lines = "; ".join(typography.coverage(coder, coded, total) for coder, (coded, total) in expected.items())
    title = load_workbook(tmp_path / "w.xlsx")["Meta-matrix"]["A1"].value
    assert title.endswith("\n" + lines), title


def test_quotes_made_at_once_are_the_quotes_the_constructor_makes(study_project: Path) -> None:
    import dataclasses

    from qda.matrix import Quote, _quote

    assert not hasattr(Quote, "__post_init__")  # filling the dict would skip it
    assert [f.name for f in dataclasses.fields(Quote)] == ["document", "segment", "speaker", "start", "end", "text",
                                                           "memo", "segments"]
    with Project.open(study_project) as project:
        codings = project.codings("consensus")
    assert len(codings) > 100 and any(c.speaker for c in codings)
    for c in codings:
        fast, slow = (_quote(c.document, c.segment, c.speaker, c.start, c.end, c.text, c.note),
                      Quote(c.document, c.segment, c.speaker, c.start, c.end, c.text, c.note))
        assert fast == slow and hash(fast) == hash(slow) and fast.__dict__ == slow.__dict__
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.text = "x"  # type: ignore[misc]
