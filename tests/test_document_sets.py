"""``--set NAME`` on every analysis command (issue 17 item 4).

The oracle is not our filter: a copy of the project from which the documents outside the
set were deleted (``qda document delete``, which also drops cases left without a
document). Every analysis run with ``--set`` on the whole project must equal the same
analysis on that copy, number for number.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from qda import Project

from conftest import run, run_json

IN_SET = ("E1", "E2", "P1", "P3")  # both groups, so that group comparisons have something to compare
OUTSIDE = ("E3", "E4", "E5", "P2", "P4", "P5")

#: Every analysis command that prints numbers, as the user types it.
ANALYSES = {
    "matrix case": ("matrix", "case", "E1", "--coder", "consensus"),
    "matrix cases": ("matrix", "cases", "--by", "group", "--coder", "consensus"),
    "matrix cross": ("matrix", "cross", "--by", "group", "--coder", "consensus"),
    "matrix cross segments": ("matrix", "cross", "--by", "group", "--coder", "consensus", "--count", "segments"),
    "matrix cross --test": ("matrix", "cross", "--by", "group", "--coder", "consensus", "--test",
                            "--resamples", "200"),
    "matrix split": ("matrix", "split", "--code-attr", "mode", "--by", "group", "--coder", "consensus"),
    "matrix cooccur": ("matrix", "cooccur", "--coder", "consensus", "--level", "document"),
    "matrix cooccur near": ("matrix", "cooccur", "--coder", "consensus", "--level", "near", "--by", "group"),
    "agree document": ("agree", "coder-a", "coder-b", "--bootstrap", "50"),
    "agree segment": ("agree", "coder-a", "coder-b", "--unit", "segment", "--bootstrap", "50"),
    "agree span": ("agree", "coder-a", "coder-b", "--unit", "span", "--bootstrap", "0"),
    "retrieve": ("retrieve", "--coder", "consensus"),
    "retrieve quotes": ("retrieve", "--by", "group", "--per-code", "1"),
    "words": ("words", "--by", "case"),
    "search": ("search", "clients", "--by", "group"),
}


@pytest.fixture(scope="module")
def projects(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the whole study with a set 'mixed' of four documents, the study holding only those four)."""
    root = tmp_path_factory.mktemp("sets")
    whole, only = root / "whole" / "study", root / "only" / "study"  # one folder name: reports name it
    shutil.copytree(study_project, whole, ignore=shutil.ignore_patterns("backups"))
    shutil.copytree(study_project, only, ignore=shutil.ignore_patterns("backups"))
    from typer.testing import CliRunner

    cli = CliRunner()
    run(cli, "-p", whole, "set", "add", "mixed", *IN_SET)
    run(cli, "-p", whole, "set", "add", "other", "E3")
    for name in OUTSIDE:
        run(cli, "-p", only, "document", "delete", name, "--yes")
    # The profiles keep a case without documents; a set holds documents, so it has no such case.
    with Project.open(only) as project, project._store.transaction():
        orphan = "(SELECT id FROM cases WHERE id NOT IN (SELECT case_id FROM documents))"
        project._store.db.execute(f"DELETE FROM case_attributes WHERE case_id IN {orphan}")
        project._store.db.execute(f"DELETE FROM cases WHERE id IN {orphan}")
        assert sorted(c.name for c in project._store.cases()) == sorted(IN_SET)
    return whole, only


@pytest.mark.parametrize("name", list(ANALYSES))
def test_every_analysis_with_set_equals_the_project_holding_only_that_set(runner, projects, name: str) -> None:
    whole, only = projects
    args = ANALYSES[name]
    in_set = run_json(runner, "-p", whole, *args, "--set", "mixed")
    assert in_set == run_json(runner, "-p", only, *args)
    if name != "matrix case":  # one case, one document: the same inside the set; outside it, see below
        assert in_set != run_json(runner, "-p", whole, *args)  # the filter changed something


def test_the_workbook_with_set_equals_the_workbook_of_the_set(runner, projects, tmp_path: Path) -> None:
    whole, only = projects
    common = ("--coder", "consensus", "--by", "group", "--agree", "coder-a", "--agree", "coder-b")
    run(runner, "-p", whole, "export", "workbook", "-o", tmp_path / "set.xlsx", *common, "--set", "mixed")
    run(runner, "-p", only, "export", "workbook", "-o", tmp_path / "only.xlsx", *common)

    def cells(path: Path) -> dict[str, list[tuple]]:
        book = load_workbook(path, read_only=True)
        return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}

    got, expected = cells(tmp_path / "set.xlsx"), cells(tmp_path / "only.xlsx")
    assert got.keys() == expected.keys()
    for sheet in expected:
        assert got[sheet] == expected[sheet], sheet
    assert got != cells_of_whole(runner, whole, tmp_path, common)


def cells_of_whole(runner, whole: Path, tmp_path: Path, common: tuple[str, ...]) -> dict[str, list[tuple]]:
    run(runner, "-p", whole, "export", "workbook", "-o", tmp_path / "all.xlsx", *common)
    book = load_workbook(tmp_path / "all.xlsx", read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_the_report_and_a_figure_with_set(runner, projects, tmp_path: Path) -> None:
    whole, only = projects
    common = ("--coder", "consensus", "--by", "group")
    run(runner, "-p", whole, "report", "-o", tmp_path / "set.html", *common, "--set", "mixed")
    run(runner, "-p", only, "report", "-o", tmp_path / "only.html", *common)
    run(runner, "-p", whole, "report", "-o", tmp_path / "all.html", *common)
    got = (tmp_path / "set.html").read_text(encoding="utf-8")
    assert got == (tmp_path / "only.html").read_text(encoding="utf-8")
    assert got != (tmp_path / "all.html").read_text(encoding="utf-8")
    for kind in ("meta", "frequency"):
        run(runner, "-p", whole, "figure", kind, "-o", tmp_path / f"{kind}.svg", *common, "--set", "mixed")
        run(runner, "-p", only, "figure", kind, "-o", tmp_path / f"{kind}-only.svg", *common)
        assert (tmp_path / f"{kind}.svg").read_bytes() == (tmp_path / f"{kind}-only.svg").read_bytes()


def test_an_unknown_set_names_the_known_ones(runner, projects) -> None:
    whole, _ = projects
    for args in (ANALYSES["matrix cross"], ANALYSES["agree document"], ANALYSES["words"]):
        result = run(runner, "-p", whole, *args, "--set", "wave 9", code=1)
        assert "unknown document set 'wave 9' (sets: mixed, other)" in result.output
        assert "traceback" not in result.output.lower()


def test_a_case_outside_the_set_is_not_in_the_matrices(runner, projects) -> None:
    whole, _ = projects
    cases = run_json(runner, "-p", whole, "matrix", "cases", "--by", "group", "--coder", "consensus",
                     "--set", "other")
    assert [c["case"] for group in cases["groups"] for c in group["cases"]] == ["E3"]
    result = run(runner, "-p", whole, "matrix", "case", "E4", "--coder", "consensus", "--set", "other", code=1)
    assert "unknown case 'E4' (cases: E3)" in result.output


def test_search_with_set_does_not_write(runner, projects) -> None:
    whole, _ = projects
    result = run(runner, "-p", whole, "search", "export", "--code", "b", "--coder", "x", "--set", "mixed", code=2)
    assert "--set" in result.output


def test_the_set_view_refuses_what_it_cannot_filter(projects) -> None:
    """A store method the view does not filter fails loudly instead of answering for every document."""
    from qda.ingest.sets import SetScope

    whole, _ = projects
    with Project.open(whole) as project:
        scope = SetScope(project._store, IN_SET)
        assert [d.name for d in scope.documents()] == list(IN_SET)
        assert scope.coders() == project._store.coders()  # says nothing about documents: passed through
        with pytest.raises(NotImplementedError, match="segment_index"):
            scope.segment_index()
        with pytest.raises(NotImplementedError, match="replace_codings"):
            scope.replace_codings([], [])


def test_a_report_of_a_machine_coder_with_set(runner, study_project: Path, tmp_path: Path) -> None:
    """The report's provenance section reads the suggestion models, samples and reviews: a set
    filters the model's codings, not the models (they learnt from the whole project)."""
    folder = tmp_path / "project"
    shutil.copytree(study_project, folder)
    with Project.open(folder) as project:
        project.suggest_train("consensus", seed=1, bootstrap=0)
        machine = project.suggest_run().machine_coder
        project.add_to_set("firsts", ["E1", "E2"])
    run(runner, "-p", folder, "report", "-o", tmp_path / "r.html", "--coder", machine, "--by", "group",
        "--agree", machine, "--agree", "consensus", "--set", "firsts")
    assert "Machine suggestions" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_qdpx_export_of_a_set_carries_only_its_documents(runner, projects, tmp_path: Path) -> None:
    """``export qdpx --set``: the set's documents with their codings and cases, schema-valid, and
    no Set member pointing at a source the file does not carry (set 'other' falls away)."""
    import zipfile

    from lxml import etree

    whole, only = projects
    qdpx = tmp_path / "mixed.qdpx"
    run(runner, "-p", whole, "export", "qdpx", "-o", qdpx, "--set", "mixed")
    with zipfile.ZipFile(qdpx) as archive:
        xml = archive.read("project.qde")
    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "fixtures" / "refi" / "Project.xsd")))
    assert schema.validate(etree.fromstring(xml)), schema.error_log
    fresh = tmp_path / "fresh"
    with Project.init(fresh, "fr") as project:
        project.import_qdpx(qdpx)
        documents = sorted(d.name for d in project._store.documents())
        sets = {s.name: s.documents for s in project._store.document_sets()}
        codings = sorted((c.coder, c.code, c.document, c.start, c.end) for c in project._store.codings())
    with Project.open(only) as project:
        expected = sorted((c.coder, c.code, c.document, c.start, c.end) for c in project._store.codings())
    assert documents == sorted(IN_SET)
    assert set(sets) == {"mixed"} and sorted(sets["mixed"]) == sorted(IN_SET)
    assert codings == expected
