"""The result contract for every result class in qda (issue 18 item 3).

Every class of the package with a ``to_dict`` is found by reading the source; each must be
made below from a real project (so a new result class without a line here fails), its
``to_dict`` must be plain JSON, a class with ``to_frame`` gives a DataFrame and a class with
``to_table`` a TableView; for the commands that show a result, the CLI's ``--format json``
is the API's ``to_dict()``.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook

from qda import Project
from qda.cli.doctor import LanguageTable, diagnose
from qda.codebook import CodebookView
from qda.coding.accounts import BlindView, SessionView
from qda.coding.workspace import MemoList, MemoOverview, NewCode, RemovedCodings, WorkspaceCoding, WorkspaceMemo
from qda.ingest.languages import languages
from qda.models import WritePlan
from qda.results import Message, TableView
from qda.suggest.review import ReviewModels

from conftest import CODEBOOK, EXAMPLE, FIXTURES, ROOT, run_json

PACKAGE = ROOT / "qda"


def result_classes() -> dict[str, str]:
    """Every class of qda that defines ``to_dict``: name -> module file (the Result protocol aside)."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.FunctionDef) and b.name == "to_dict"
                                                      for b in node.body):
                if node.name != "Result":  # the protocol itself
                    found[node.name] = str(path.relative_to(ROOT))
    return found


@pytest.fixture(scope="module")
def made(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """One instance (or a few) of every result class, from a copy of the example study."""
    tmp = tmp_path_factory.mktemp("contract")
    folder = tmp / "project"
    shutil.copytree(study_project, folder)
    book = tmp / "codebook.yaml"
    shutil.copy(CODEBOOK, book)
    got: dict[str, list[Any]] = {}

    def keep(*results: Any) -> None:
        for result in results:
            got.setdefault(type(result).__name__, []).append(result)

    with Project.open(folder) as p:
        keep(p.status(), p.speakers({}), CodebookView(p.codebook()), p.history(), p.backup_list(), p.check(),
             p.document_sets(), p.document_deletion("E1"))
        keep(p.matrix_case("P1", "consensus"), p.matrix_cases("group", "consensus"),
             p.matrix_cross("group", "consensus"), p.matrix_split("mode", "group", "consensus"))
        report = p.agree(["coder-a", "coder-b"], bootstrap=20)
        keep(report, report.disagreement_list(), *report.codes[:1], *report.disagreements[:1],
             *report.pooled.estimates.values())
        span = p.agree(["coder-a", "coder-b"], unit="span", bootstrap=0)
        assert span.unitizing is not None
        keep(*span.characters[:1], span.unitizing, span.unitizing.result)
        retrieval = p.retrieve(codes=["h"], coders=["consensus"])
        keep(retrieval, *retrieval.passages[:1], p.quotes("group", 2, coders=["consensus"]))
        cooccur = p.cooccurrence("consensus", level="case", cluster=True)
        keep(cooccur, cooccur.clustering, p.attribute_tests("group", "consensus", resamples=99))
        keep(p.words(by="group"), p.search("salon"), p.compare_regions(None, "coder-a", "coder-b"))
        keep(p.export_qdc(tmp / "book.qdc"), p.export_qdpx(tmp / "study.qdpx"))
        keep(p.export_taguette_codebook(tmp / "tags.csv"))
        p.write_coding_sheet("consensus", tmp / "sheet.xlsx")
        keep(p.import_codings(tmp / "sheet.xlsx", "again"))
        p.write_adjudication_sheet("coder-a", "coder-b", tmp / "adjudicate.xlsx")
        decide(tmp / "adjudicate.xlsx", "A")
        keep(p.adjudicate(tmp / "adjudicate.xlsx", "contract-adjudicated"))
        keep(p.undo_plan(), p.add_to_set("firsts", ["E1", "E2"]))
        p.add_user("lena", "a-long-password-1", "lead")
        keep(p.user_list(), p.blind_mode())
    # writes whose input comes from the command line, and the rest of the checks
    keep(LanguageTable(languages()), *languages()[:1], diagnose(folder), Message("wrote x", {"file": "x"}))
    with Project.open(folder) as p:
        keep(p.import_cases(EXAMPLE / "profiles.csv"), p.import_qdc(tmp / "book.qdc"))
        keep(p.auto_code(coder="auto"), p.code_search_hits("salon", "h", "searcher"))
        hits = p.workspace_search("salon")  # the workspace's search, and its hits coded in one write
        hits_coded = p.code_hits("browser", "h", [{k: h[k] for k in ("document", "start", "end")}
                                                  for h in hits.hits[:3]])
        keep(hits, hits_coded)
        keep(p.workspace_retrieve(["consensus"], ["h"]))
        keep(p.workspace_documents("browser", every_coder=True),
             p.workspace_view("E1", ["browser", "consensus"], memo_author=None), p.workspace_codebook("browser"))
        memo = p.add_memo("browser", "document", "E1", text="a first reading")
        keep(MemoList((memo,)), WorkspaceMemo(memo), WorkspaceCoding(hits_coded.coded[0]),
             BlindView(p.blind_mode(), unblind_server=True),
             MemoOverview(False, tuple(p.memo_overview())), p.compare_view("coder-a", "coder-b", "E1"),
             SessionView("browser", "lead", tuple(p.coders()), False, False, False, "token"))
        undone = p.code_hits("browser", "j", [{k: h[k] for k in ("document", "start", "end")} for h in hits.hits[:2]])
        keep(RemovedCodings(tuple(p.remove_codings("browser", [c.id for c in undone.coded if c.id is not None]))))
        keep(p.resplit_document("E2", unit="paragraph"))
    with Project.open(folder) as p:
        p.load_codebook(book)  # a copy: adding a code writes the file
        added = p.add_code("zz", {"fr": "Nouveau", "en": "New"})
        keep(added, NewCode(p.codebook().code(added.codes[0]), added.message()))
    fresh = tmp / "fresh"
    with Project.init(fresh, "fr") as p:
        keep(p.import_transcripts(sorted((EXAMPLE / "transcripts").glob("E*.txt"))[:1]))
    with Project.open(fresh) as p:
        imported = p.import_qdpx(tmp / "study.qdpx")
        keep(imported, *([imported.offsets] if imported.offsets else []))
    taguette = tmp / "taguette"
    with Project.init(taguette, "en") as p:
        p.import_transcripts(sorted((FIXTURES / "taguette").glob("Interview *.txt")))
        keep(p.import_taguette(FIXTURES / "taguette" / "highlights.csv", "remi"))
    suggestions(study_project, tmp, keep)
    return got


def suggestions(study_project: Path, tmp: Path, keep: Callable[..., None]) -> None:
    """The suggester's results (qda suggest, the review queue) on a copy of the study: a model
    learnt from the consensus on six documents, checked against a sample of the others."""
    folder = tmp / "suggested"
    shutil.copytree(study_project, folder)

    def copy(p: Project, source: str, target: str, keep_it: Callable[[Any], bool]) -> None:
        codings = tuple(dataclasses.replace(c, coder=target, id=None, status="ok", origin=None, score=None)
                        for c in p._store.codings(coder=source) if keep_it(c))
        p.commit(WritePlan(coders=(target,), codings=codings))

    with Project.open(folder) as p:
        copy(p, "consensus", "trainer", lambda c: c.document in ("E1", "E2", "E3", "P1", "P2", "P3"))
        trained = p.suggest_train("trainer", seed=1, bootstrap=0, params={"min_positives": 5})
        keep(trained, *[c.kappa for c in trained.codes if c.kappa is not None][:1])
        keep(p.suggest_curve("trainer", codes=["h"], sizes=(5, 10), bootstrap=0))
        keep(p.suggest_run())
        sample = p.suggest_sample(80, "val", seed=3)
        keep(sample)
        refs = set(sample.segments)
        copy(p, "consensus", "val", lambda c: c.segment in refs)
        keep(p.suggest_validate(bootstrap=50), p.suggest_bias("group"))
        keep(p.suggest_accept("h", reviewer="alice", min_kappa=-1.0, bootstrap=50))
        keep(p.suggest_provenance(["alice", "trainer"]))
        queue = p.review_queue("bob")
        keep(queue, p.suggest_explain(queue.items[0].id))
        keep(p.review_suggestion("bob", queue.items[0].id, "reject"), p.review_provenance())
        keep(ReviewModels.of(p.review_models(), p.codebook(), blind=False, coder="bob"), p.review_retrain(bootstrap=0))


def decide(sheet: Path, decision: str) -> None:
    """Fill every row's decision of an adjudication sheet, as the third person would in Excel."""
    book = load_workbook(sheet)
    rows = book["Adjudication"]
    column = [c.value for c in rows[1]].index("decision") + 1
    for row in range(2, rows.max_row + 1):
        rows.cell(row, column).value = decision
    book.save(sheet)


def test_every_result_class_is_made_here(made: dict[str, list[Any]]) -> None:
    missing = {name: where for name, where in result_classes().items() if name not in made}
    assert not missing, f"result classes no test makes (add them to 'made'): {missing}"


@pytest.mark.parametrize("name", sorted(result_classes()))
def test_the_result_keeps_the_contract(name: str, made: dict[str, list[Any]]) -> None:
    assert name in made, f"{name} is not made by the 'made' fixture"
    for result in made[name]:
        data = result.to_dict()
        assert isinstance(data, dict), name
        assert json.loads(json.dumps(data, allow_nan=False)) == data, f"{name}: to_dict is not plain JSON"
        if hasattr(result, "to_frame"):
            assert isinstance(result.to_frame(), pd.DataFrame), name
        if hasattr(result, "to_table"):
            view = result.to_table()
            assert isinstance(view, TableView) and (view.rows or view.lead or view.notes), name
            assert all(len(row.cells) == len(view.columns) for row in view.rows), name


#: command line -> how the API makes the same result (read-only commands, on the example study)
SAME: list[tuple[tuple[str, ...], Callable[[Project], Any]]] = [
    (("status",), lambda p: p.status()),
    (("speakers",), lambda p: p.speakers({})),
    (("codebook", "show"), lambda p: CodebookView(p.codebook())),
    (("matrix", "case", "P1", "--coder", "consensus"), lambda p: p.matrix_case("P1", "consensus")),
    (("matrix", "cases", "--by", "group", "--coder", "consensus"), lambda p: p.matrix_cases("group", "consensus")),
    (("matrix", "cross", "--by", "group", "--coder", "consensus"), lambda p: p.matrix_cross("group", "consensus")),
    (("matrix", "split", "--code-attr", "mode", "--by", "group", "--coder", "consensus"),
     lambda p: p.matrix_split("mode", "group", "consensus")),
    (("matrix", "cooccur", "--coder", "consensus"), lambda p: p.cooccurrence("consensus")),
    (("agree", "coder-a", "coder-b", "--bootstrap", "0"), lambda p: p.agree(["coder-a", "coder-b"], bootstrap=0)),
    (("retrieve", "--code", "h", "--coder", "consensus"), lambda p: p.retrieve(codes=["h"], coders=["consensus"])),
    (("words", "--by", "group"), lambda p: p.words(by="group")),
    (("search", "salon"), lambda p: p.search("salon")),
    (("set", "list"), lambda p: p.document_sets()),
    (("history",), lambda p: p.history()),
]


@pytest.mark.parametrize("args, make", SAME, ids=[" ".join(a) for a, _ in SAME])
def test_cli_json_is_the_api_to_dict(args: tuple[str, ...], make: Callable[[Project], Any], study_project: Path,
                                     runner) -> None:
    with Project.open(study_project) as p:
        expected = json.loads(json.dumps(make(p).to_dict()))
    assert run_json(runner, "-p", study_project, *args) == expected
