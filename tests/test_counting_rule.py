"""One counting rule (qda.models.STATUS_RULES) read by every reader and writer.

Each test builds a small project where alice and bob both code A1#3 with ``a`` (ok) and
A1#7 with ``b``; bob's ``b`` is ok, alice's ``b`` is in the status under test. Whether
alice's ``b`` shows up in matrices, retrieval, agreement, sheets, REFI-QDA, adjudication,
the workspace and ``qda status`` is written out below by hand (``EXPECTED``), not derived
from the rule, so that a reader that ignores the rule fails here.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient
from typer.testing import CliRunner

from qda.cli.reference import SAFETY, with_status_rules
from qda.models import STATUS_RULES, Coding, WritePlan
from qda.project import Project
from qda.web import create_app
from tests.conftest import CODEBOOK, FIXTURES, run, run_json

STATUSES = ("ok", "changed", "negated", "orphaned", "suggested")
# status: counts when every coder is taken, counts when alice is named, in her sheet,
# exported to REFI-QDA, compared for adjudication
EXPECTED = {
    "ok": (True, True, True, True, True),
    "changed": (True, True, True, True, True),
    "negated": (False, False, False, False, False),
    "orphaned": (False, False, False, False, False),
    "suggested": (False, True, True, False, True),
}


def expected(status: str) -> dict[str, bool]:
    return dict(zip(("all_coders", "named", "sheet", "exported", "adjudicated"), EXPECTED[status], strict=True))


def build(folder: Path, status: str) -> Path:
    """The two-coder project described in the module docstring, alice's ``b`` in ``status``."""
    docs = folder / "docs"
    docs.mkdir(parents=True)
    for name in ("A1.txt", "B1.txt"):
        shutil.copy(FIXTURES / name, docs / name)
    (docs / "cases.csv").write_text("case,sector\nA1,x\nB1,y\n", encoding="utf-8")
    project = folder / "project"
    runner = CliRunner()
    run(runner, "init", project)
    run(runner, "-p", project, "codebook", "load", CODEBOOK)
    run(runner, "-p", project, "import", "transcripts", docs / "A1.txt", docs / "B1.txt")
    run(runner, "-p", project, "import", "cases", docs / "cases.csv")
    with Project.open(project) as p:
        segments = {s.ref: s for s in p._store.segments()}

        def coding(coder: str, code: str, ref: str, state: str = "ok") -> Coding:
            s = segments[ref]
            if state == "orphaned":  # a revision lost its text: no place in the transcript
                return Coding(coder, code, s.document, s.case, 0, 0, None, source="manual", status=state)
            return Coding(coder, code, s.document, s.case, s.start, s.end, ref, status=state)

        p.commit(WritePlan(coders=("alice", "bob"), codings=(
            coding("alice", "a", "A1#3"), coding("alice", "b", "A1#7", status),
            coding("bob", "a", "A1#3"), coding("bob", "b", "A1#7"))))
    return project


@pytest.fixture(params=STATUSES)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    return request.param, build(tmp_path, request.param)


def alice_b(project: Path) -> list[Coding]:
    with Project.open(project) as p:
        return [c for c in p._store.codings(coder="alice") if c.code == "b"]


def test_the_rule_is_the_one_these_tests_expect() -> None:
    rows = {str(s): (r.counts and not r.only_when_named, r.counts, r.in_sheets, r.exported, r.adjudicated)
            for s, r in STATUS_RULES.items()}
    assert rows == EXPECTED


def test_matrices_retrieval_and_cooccurrence(case: tuple[str, Path]) -> None:
    status, project = case
    want = expected(status)
    with Project.open(project) as p:
        cross = p.matrix_cross("sector", "alice").to_frame()
        assert int(cross.loc[cross["code"] == "b", "total (n=2)"].iloc[0]) == int(want["named"])
        pairs = p.cooccurrence("alice", level="document").to_frame()
        ab = pairs[(pairs["code a"] == "a") & (pairs["code b"] == "b")]
        assert int(ab["n ab"].iloc[0]) == int(want["named"])
        everyone = {(x["coder"], x["segment"]) for x in p.retrieve(codes=["b"]).to_dict()["passages"]}
        assert (("alice", "A1#7") in everyone) == want["all_coders"]
        named = {(x["coder"], x["segment"]) for x in p.retrieve(codes=["b"], coders=["alice"]).to_dict()["passages"]}
        assert (("alice", "A1#7") in named) == want["named"]
        assert p.status().coders["alice"] == 1 + want["named"]


def test_agreement_by_segment_and_by_span(case: tuple[str, Path], runner) -> None:
    status, project = case
    agree = expected(status)["named"]  # agreement names its coders
    for unit, disagree in (("segment", 1 - 1 / 175 / 2), ("span", 0.5)):
        report = run_json(runner, "-p", project, "agree", "alice", "bob", "--unit", unit, "--bootstrap", "0")
        value = report["pooled"]["coefficients"]["percent_agreement"]["value"]
        if agree:
            assert value == 1.0, (unit, status)
        else:
            assert value < 1.0 and value == pytest.approx(disagree, abs=0.01), (unit, status)


def test_coding_sheet_shows_and_keeps_what_the_rule_says(case: tuple[str, Path], runner, tmp_path: Path) -> None:
    status, project = case
    sheet = tmp_path / "alice.xlsx"
    run(runner, "-p", project, "code", "sheet", "--coder", "alice", "-o", sheet)
    rows = list(load_workbook(sheet, read_only=True)["Coding"].iter_rows(values_only=True))
    header = rows[0]
    codes = {r[header.index("segment")]: r[header.index("codes")] for r in rows[1:]}
    assert codes["A1#3"] == "a"
    assert (codes["A1#7"] == "b") == expected(status)["sheet"]
    before = alice_b(project)
    # the sheet imported again as it is: nothing replaced, nothing lost, statuses unchanged
    result = run_json(runner, "-p", project, "code", "import", sheet, "--coder", "alice")
    assert result["replaced"] == 0
    after = alice_b(project)
    assert [(c.status, c.start, c.end, c.id) for c in after] == [(c.status, c.start, c.end, c.id) for c in before]


def test_refi_export_and_import_back(case: tuple[str, Path], runner, tmp_path: Path) -> None:
    status, project = case
    exported = expected(status)["exported"]
    target = tmp_path / "p.qdpx"
    report = run_json(runner, "-p", project, "export", "qdpx", "-o", target)
    assert report["codings"] == 3 + exported
    assert report.get(f"not_exported_{status}", 0) == (0 if exported else 1)
    with zipfile.ZipFile(target) as archive:
        assert archive.read("project.qde").decode().count("<Coding ") == 3 + exported
    # into a new project: what the file holds
    fresh = tmp_path / "fresh"
    run(runner, "init", fresh)
    run(runner, "-p", fresh, "import", "qdpx", target)
    with Project.open(fresh) as p:
        assert len(p._store.codings(coder="alice")) == 1 + exported
    # into the same project: the codings the file could not hold stay as they were
    before = alice_b(project)
    run(runner, "-p", project, "import", "qdpx", target)
    after = alice_b(project)
    assert [(c.status, c.start, c.end) for c in after] == [(c.status, c.start, c.end) for c in before]


def test_adjudication_compares_what_the_rule_says(case: tuple[str, Path], runner, tmp_path: Path) -> None:
    status, project = case
    with Project.open(project) as p:
        comparison = p.compare_regions(None, "alice", "bob").to_dict()
    assert comparison["agreed"] == 1 + expected(status)["adjudicated"]
    assert len(comparison["regions"]) == (0 if expected(status)["adjudicated"] else 1)
    sheet = tmp_path / "adjudicate.xlsx"
    written = run_json(runner, "-p", project, "code", "adjudication-sheet", "alice", "bob", "-o", sheet)
    assert json.dumps(written)  # the sheet was written; its rows are the regions above
    rows = list(load_workbook(sheet, read_only=True)["Adjudication"].iter_rows(values_only=True))
    assert len([r for r in rows[1:] if any(r)]) == len(comparison["regions"])


def test_workspace_shows_and_counts_what_the_rule_says(case: tuple[str, Path]) -> None:
    status, project = case
    shown = expected(status)["named"]  # the page names its coder
    web = TestClient(create_app(project), base_url="http://127.0.0.1")
    csrf = web.get("/api/session").json()["csrf"]
    assert web.post("/api/session", json={"coder": "alice"}, headers={"X-CSRF-Token": csrf}).status_code == 200
    codings = web.get("/api/documents/A1").json()["codings"]
    assert sorted(c["code"] for c in codings if c["coder"] == "alice") == ["a", "b"][:1 + shown]
    book = {c["id"]: c["count"] for c in web.get("/api/codebook").json()["codes"]}
    assert book["b"] == int(shown)
    listed = {d["name"]: d for d in web.get("/api/documents").json()["documents"]}
    assert listed["A1"]["codings"]["alice"] == 1 + shown
    assert listed["A1"]["coded_segments"] == 1 + shown


def test_status_lists_the_codings_that_do_not_count(case: tuple[str, Path], runner) -> None:
    status, project = case
    answer = run_json(runner, "-p", project, "status")
    assert answer["statuses"] == ({} if status == "ok" else {status: 1})
    text = run(runner, "-p", project, "status").stdout
    if status in ("negated", "orphaned"):
        assert f"1 {status} (kept, not counted)" in text


def test_a_revised_transcript_keeps_its_changed_coding_through_an_unedited_sheet(runner, tmp_path: Path) -> None:
    """The issue's report: after ``--replace``, a re-anchored coding is "changed"; the sheet
    left it out, so importing that same sheet deleted it ("replaced 2" for 1 coding)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(FIXTURES / "A1.txt", docs / "A1.txt")
    project = tmp_path / "project"
    run(runner, "init", project)
    run(runner, "-p", project, "codebook", "load", CODEBOOK)
    run(runner, "-p", project, "import", "transcripts", docs / "A1.txt")
    first = tmp_path / "first.csv"
    with first.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["segment", "codes"], ["A1#3", "a"], ["A1#7", "b"]])
    run(runner, "-p", project, "code", "import", first, "--coder", "alice")
    text = (docs / "A1.txt").read_text(encoding="utf-8")
    (docs / "A1.txt").write_text(text.replace("trois foires", "trois grandes foires"), encoding="utf-8")
    run(runner, "-p", project, "import", "transcripts", "--replace", docs / "A1.txt")
    with Project.open(project) as p:
        assert sorted((c.code, c.status) for c in p._store.codings()) == [("a", "changed"), ("b", "ok")]
    sheet = tmp_path / "again.xlsx"
    run(runner, "-p", project, "code", "sheet", "--coder", "alice", "-o", sheet)
    result = run_json(runner, "-p", project, "code", "import", sheet, "--coder", "alice")
    assert (result["codings"], result["replaced"]) == (2, 0)
    with Project.open(project) as p:
        assert sorted((c.code, c.status) for c in p._store.codings()) == [("a", "changed"), ("b", "ok")]
    exported = run_json(runner, "-p", project, "export", "qdpx", "-o", tmp_path / "x.qdpx")
    assert exported["codings"] == 2 and not any(k.startswith("not_exported") for k in exported)


def test_a_sheet_replaces_a_code_taken_out_but_not_negated_mentions(runner, tmp_path: Path) -> None:
    """A code removed in the sheet is removed; a negated mention on that segment (never in
    the sheet) stays, and the count says what was really deleted."""
    project = build(tmp_path, "negated")
    with Project.open(project) as p:
        segment = next(s for s in p._store.segments() if s.ref == "A1#3")
        p.commit(WritePlan(codings=(Coding("alice", "c", "A1", "A1", segment.start, segment.end, "A1#3",
                                           source="auto", status="negated"),)))
    sheet = tmp_path / "s.csv"
    with sheet.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["segment", "codes"], ["A1#3", ""], ["A1#7", "d"]])
    result = run_json(runner, "-p", project, "code", "import", sheet, "--coder", "alice")
    assert result["replaced"] == 1  # alice's a on A1#3
    with Project.open(project) as p:
        assert sorted((c.code, c.segment, c.status) for c in p._store.codings(coder="alice")) == [
            ("b", "A1#7", "negated"), ("c", "A1#3", "negated"), ("d", "A1#7", "ok")]


def test_the_rule_table_in_the_docs_is_generated_from_the_rule() -> None:
    # Stale after changing STATUS_RULES: run `python -m qda.cli.reference`.
    page = SAFETY.read_text(encoding="utf-8")
    assert page == with_status_rules(page)
    assert "| `suggested` | only when its coder is named | yes | no | yes |" in page


@pytest.mark.parametrize("status", ["negated", "orphaned", "suggested"])
def test_a_taguette_import_leaves_what_an_exchange_file_cannot_hold(status: str, runner, tmp_path: Path) -> None:
    """Importing Taguette highlights replaces the coder's codings in their documents, but
    only the statuses an exchange file holds: a flagged or suggested coding there stays."""
    taguette = FIXTURES / "taguette"
    project = tmp_path / "p"
    run(runner, "init", project, "--lang", "en")
    run(runner, "-p", project, "import", "transcripts", taguette / "Interview Alma.txt",
        taguette / "Interview Bruno.txt")
    run(runner, "-p", project, "import", "taguette", taguette / "highlights.csv", "--coder", "remi")
    with Project.open(project) as p:
        first = p._store.codings(coder="remi")[0]
        p.commit(WritePlan(codings=(Coding("remi", first.code, first.document, first.case, 0, 0 if status == "orphaned"
                                           else 5, None, source="manual", status=status),)))
        before = len(p._store.codings(coder="remi"))
    again = run_json(runner, "-p", project, "import", "taguette", taguette / "highlights.csv", "--coder", "remi")
    assert again["replaced"] == before - 1  # every ok coding, not the one in status
    with Project.open(project) as p:
        assert [c.status for c in p._store.codings(coder="remi") if c.status != "ok"] == [status]
