"""Comparison and adjudication on spans (qda/coding/regions.py), and recording that never
replaces a coder's work without saying so (CLI --replace, the page's 409 would_replace)."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

from openpyxl import load_workbook
from starlette.testclient import TestClient
from typer.testing import CliRunner

from qda.coding import Decision
from qda.coding.regions import RegionChoice, compare_codings, consensus_codings, context_bounds, trimmed
from qda.models import Coding
from qda.project import Project
from qda.web import create_app
from tests.conftest import run

TEXT = "Alpha beta gamma. Delta epsilon zeta eta. Theta iota kappa lambda."


def coding(coder: str, code: str, start: int, end: int, document: str = "D", text: str = TEXT) -> Coding:
    return Coding(coder=coder, code=code, document=document, case=document, start=start, end=end,
                  text=text[start:end])


def test_a_partial_coding_of_one_coder_is_a_region_however_short() -> None:
    # A codes "beta" (4 characters of a 17-character sentence); B codes nothing there
    a = [coding("A", "a", 0, 17), coding("A", "d", 6, 10)]
    b = [coding("B", "a", 0, 17)]
    found = compare_codings("A", "B", a, codings_b=b)
    assert [(x.code, y.code) for x, y in found.agreed] == [("a", "a")]
    assert [(r.start, r.end, r.codes) for r in found.regions] == [(6, 10, ("d",))]
    assert found.regions[0].agreed == ("a",) and found.regions[0].b == ()


def test_same_span_apart_from_blanks_and_punctuation_is_agreed_and_anything_else_a_region() -> None:
    a = [coding("A", "a", 0, 17), coding("A", "b", 18, 41)]  # "Alpha beta gamma." / "Delta ... eta."
    b = [coding("B", "a", 0, 16), coding("B", "b", 18, 36)]  # "Alpha beta gamma" / "Delta epsilon zeta"
    assert trimmed(a[0]) == trimmed(b[0]) == (0, 16)
    found = compare_codings("A", "B", a, codings_b=b)
    assert len(found.agreed) == 1 and found.regions[0].codes == ("b",)
    region = found.regions[0]
    assert (region.start, region.end, [c.end for c in region.a], [c.end for c in region.b]) == (18, 41, [41], [36])
    # the agreed pair is carried over once, on the union of its spans
    consensus = consensus_codings(found, {region.key: RegionChoice("B")}, "C")
    assert sorted((c.code, c.start, c.end) for c in consensus) == [("a", 0, 17), ("b", 18, 36)]


def test_overlapping_differences_of_any_code_form_one_region() -> None:
    a = [coding("A", "a", 0, 17), coding("A", "c", 42, 53)]
    b = [coding("B", "b", 6, 30), coding("B", "c", 48, 64)]
    found = compare_codings("A", "B", a, codings_b=b)
    assert [(r.start, r.end, r.codes) for r in found.regions] == [(0, 30, ("a", "b")), (42, 64, ("c",))]


def test_every_coding_is_agreed_or_in_exactly_one_region() -> None:
    rng = random.Random(7)
    for _ in range(200):
        def some(coder: str) -> list[Coding]:
            out = []
            for _ in range(rng.randint(0, 8)):
                s = rng.randrange(0, len(TEXT) - 1)
                out.append(coding(coder, rng.choice("abc"), s, rng.randint(s + 1, min(len(TEXT), s + 20))))
            return out
        a, b = some("A"), some("B")
        found = compare_codings("A", "B", a, codings_b=b)
        seen = [x for pair in found.agreed for x in pair] + [c for r in found.regions for c in r.a + r.b]
        assert sorted(map(id, seen)) == sorted(map(id, a + b))
        for r in found.regions:
            assert all(r.start <= c.start and c.end <= r.end for c in r.a + r.b)
        for first, second in zip(found.regions, found.regions[1:]):
            assert first.end <= second.start  # regions never overlap
        for x, y in found.agreed:
            assert x.code == y.code and trimmed(x) == trimmed(y)


def test_each_decision_gives_its_codings() -> None:
    a = [coding("A", "a", 0, 17), coding("A", "b", 6, 16)]
    b = [coding("B", "a", 6, 41), coding("B", "c", 18, 23)]
    found = compare_codings("A", "B", a, codings_b=b)
    (region,) = found.regions
    assert (region.start, region.end) == (0, 41)

    def decide(choice: RegionChoice) -> list[tuple[str, int, int]]:
        return sorted((c.code, c.start, c.end) for c in consensus_codings(found, {region.key: choice}, "C"))
    assert decide(RegionChoice("A")) == [("a", 0, 17), ("b", 6, 16)]
    assert decide(RegionChoice("B")) == [("a", 6, 41), ("c", 18, 23)]
    assert decide(RegionChoice("both")) == [("a", 0, 41), ("b", 6, 16), ("c", 18, 23)]  # a: one union
    assert decide(RegionChoice("neither")) == []
    assert decide(RegionChoice("other", ("h", "h"))) == [("h", 0, 41)]
    assert decide(RegionChoice("other", ("h",), (18, 23))) == [("h", 18, 23)]


def test_context_is_the_sentences_around() -> None:
    bounds = [(0, 17), (18, 41), (42, 66), (67, 80)]
    assert context_bounds(bounds, 20, 25) == (0, 66)
    assert context_bounds(bounds, 0, 5) == (0, 41)
    assert context_bounds(bounds, 43, 70, around=0) == (42, 80)
    assert context_bounds([], 3, 9) == (3, 9)


def test_300000_characters_6000_codings_compare_in_well_under_a_second() -> None:
    rng = random.Random(1)
    per = {name: [] for name in ("A", "B", "C")}
    for name in per:
        for _ in range(2000):
            s = rng.randrange(0, 299_000)
            per[name].append(Coding(coder=name, code=rng.choice("abcdefgh"), document="D", case="D", start=s,
                                    end=s + rng.randint(5, 600), text=""))
    began = time.process_time()
    found = compare_codings("A", "B", per["A"], codings_b=per["B"])
    spent = time.process_time() - began
    assert found.regions and spent < 1.0, spent


# ----------------------------------------------------------------------------- on a project

def two_coders(folder: Path) -> dict[str, object]:
    """alice and bruno on E1: one agreed, one same code on another span, one code each under half a sentence."""
    with Project.open(folder) as project:
        s1, s2, s3, s4 = [s for s in project.segments(document="E1") if s.role == "respondent"
                          and len(s.text) > 40][:4]
        for coder in ("alice", "bruno"):
            project.add_coding(coder, "E1", "a", start=s1.start, end=s1.end)
        project.add_coding("alice", "E1", "b", start=s2.start, end=s2.start + (s2.end - s2.start) // 2)
        project.add_coding("bruno", "E1", "b", start=s2.start, end=s2.end)
        project.add_coding("alice", "E1", "d", start=s3.start + 3, end=s3.start + 15, snap="word")
        project.add_coding("bruno", "E1", "e", start=s4.end - 15, end=s4.end - 2, snap="word")
    return {"s1": s1, "s2": s2, "s3": s3, "s4": s4}


def rows(folder: Path) -> list[tuple[object, ...]]:
    """Every stored coding, every field."""
    with Project.open(folder) as project:
        return sorted((c.id, c.coder, c.code, c.document, c.start, c.end, c.segment, c.created_at, c.source, c.note,
                       c.status) for c in project._store.codings())


def test_the_page_and_the_sheet_give_the_same_consensus(demo_project: Path, tmp_path: Path) -> None:
    segs = two_coders(demo_project)
    with Project.open(demo_project) as project:
        comparison = project.compare_regions("E1", "alice", "bruno")
        keys = [r.key for r in comparison.regions]
        assert [r.codes for r in comparison.regions] == [("b",), ("d",), ("e",)]
        s4 = segs["s4"]
        choices = {keys[0]: ("B", "", ""), keys[1]: ("A", "", ""), keys[2]: ("other", "e; h", f"{s4.start}-{s4.end}")}
        decisions = [Decision(f"page {k}", "", d, other, k, span) for k, (d, other, span) in choices.items()]
        result = project.adjudicate_decisions("alice", "bruno", decisions, as_coder="by-page")
        assert (result.decided, result.carried_over, result.replaced) == (3, 1, 0)
    sheet = tmp_path / "adjudication.xlsx"
    run(CliRunner(), "-p", demo_project, "code", "adjudication-sheet", "alice", "bruno", "-o", sheet)
    book = load_workbook(sheet)
    table = book["Adjudication"]
    header = [c.value for c in table[1]]
    assert [r[header.index("region")].value for r in table.iter_rows(min_row=2)] == keys
    assert "⟦" in table.cell(2, header.index("context") + 1).value
    for row in table.iter_rows(min_row=2):
        decision, other, span = choices[row[header.index("region")].value]
        row[header.index("decision")].value = decision
        row[header.index("other codes")].value = other or None
        row[header.index("span")].value = span or None
    book.save(sheet)
    run(CliRunner(), "-p", demo_project, "code", "adjudicate", sheet, "--coder", "by-sheet")
    with Project.open(demo_project) as project:
        def key(c: Coding) -> tuple[object, ...]:
            return c.code, c.document, c.start, c.end, c.segment
        page, by_sheet = sorted(map(key, project.codings("by-page"))), sorted(map(key, project.codings("by-sheet")))
        d = next(c for c in project.codings("alice") if c.code == "d")
    assert page == by_sheet
    s1, s2 = segs["s1"], segs["s2"]
    assert page == sorted([("a", "E1", s1.start, s1.end, s1.ref), ("b", "E1", s2.start, s2.end, s2.ref),
                           ("d", "E1", d.start, d.end, None), ("e", "E1", s4.start, s4.end, s4.ref),
                           ("h", "E1", s4.start, s4.end, s4.ref)])


def test_recording_onto_a_coder_with_codings_is_refused_until_confirmed_then_undone_exactly(
        demo_project: Path, tmp_path: Path) -> None:
    two_coders(demo_project)
    with Project.open(demo_project) as project:
        for seg in project.segments(document="E2")[:3] + project.segments(document="P1")[:2]:
            project.add_coding("consensus", seg.document, "c", start=seg.start, end=seg.end)
        keys = [r.key for r in project.compare_regions(None, "alice", "bruno").regions]
    web = TestClient(create_app(demo_project, unblind=True), base_url="http://127.0.0.1")
    csrf = web.get("/api/session").json()["csrf"]
    headers = {"X-CSRF-Token": csrf}
    web.post("/api/session", json={"coder": "lead"}, headers=headers)
    view = web.get("/api/compare?a=alice&b=bruno").json()
    assert [r["key"] for r in view["regions"]] == keys and view["agreed"] == 1
    region = view["regions"][1]
    assert region["a_spans"][0]["code"] == "d" and region["b_spans"] == []
    assert region["context"].index(region["text"]) == region["start"] - region["context_start"]
    before = rows(demo_project)
    body = {"a": "alice", "b": "bruno", "as": "consensus",
            "decisions": [{"region": k, "decision": "both"} for k in keys]}
    refused = web.post("/api/adjudicate", json=body, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "would_replace"
    assert refused.json()["error"]["message"] == "this replaces 5 codings of 'consensus' in 2 documents"
    assert refused.json()["replaces"] == {"coder": "consensus", "codings": 5, "documents": 2}
    assert rows(demo_project) == before
    done = web.post("/api/adjudicate", json={**body, "replace": True}, headers=headers)
    assert done.status_code == 200, done.text
    assert (done.json()["replaced"], done.json()["replaced_documents"]) == (5, 2)
    after = rows(demo_project)
    assert after != before
    history = run(CliRunner(), "-p", demo_project, "history").stdout
    assert "adjudicate in the browser alice bruno --coder consensus" in history
    run(CliRunner(), "-p", demo_project, "undo", "--yes")
    assert rows(demo_project) == before


def test_cli_adjudicate_needs_replace_and_says_what_it_replaced(demo_project: Path, tmp_path: Path) -> None:
    two_coders(demo_project)
    sheet = tmp_path / "adj.xlsx"
    run(CliRunner(), "-p", demo_project, "code", "adjudication-sheet", "alice", "bruno", "-o", sheet)
    book = load_workbook(sheet)
    header = [c.value for c in book["Adjudication"][1]]
    for row in book["Adjudication"].iter_rows(min_row=2):
        row[header.index("decision")].value = "both"
    book.save(sheet)
    first = run(CliRunner(), "-p", demo_project, "code", "adjudicate", sheet, "--coder", "consensus")
    assert "replaced" not in first.output
    before = rows(demo_project)
    for row in book["Adjudication"].iter_rows(min_row=2):
        row[header.index("decision")].value = "neither"
    book.save(sheet)
    refused = run(CliRunner(), "-p", demo_project, "code", "adjudicate", sheet, "--coder", "consensus", code=1)
    assert "this replaces 4 codings of 'consensus' in 1 document" in refused.output
    assert "--replace" in refused.output
    assert rows(demo_project) == before
    done = run(CliRunner(), "-p", demo_project, "code", "adjudicate", sheet, "--coder", "consensus", "--replace")
    # "neither": only the agreed a is kept; b, d and e are replaced
    assert "replaced 3 codings of 'consensus' in 1 document" in done.output
    run(CliRunner(), "-p", demo_project, "undo", "--yes")
    assert rows(demo_project) == before


def test_a_sheet_written_before_regions_is_still_read(study_project: Path, tmp_path: Path) -> None:
    # tests/fixtures/adjudication-by-segment.xlsx: the example's sheet as qda wrote it before
    # regions (one row per segment, no 'region' column), decided to give the study's consensus
    study_project = Path(shutil.copytree(study_project, tmp_path / "study"))  # the session's is shared
    old = Path(__file__).parent / "fixtures" / "adjudication-by-segment.xlsx"
    result = run(CliRunner(), "-p", study_project, "code", "adjudicate", old, "--coder", "from-old-sheet")
    assert "10 decisions" in result.output
    with Project.open(study_project) as project:
        got = sorted((c.document, c.start, c.end, c.code) for c in project.codings("from-old-sheet"))
        want = sorted((c.document, c.start, c.end, c.code) for c in project.codings("consensus"))
    assert got == want
