"""qda agree on projects and tables: units, reference implementations, adjudication."""

from __future__ import annotations

import shutil
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from openpyxl import load_workbook
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from qda import Project
from qda.agreement.units import build_units
from qda.models import Coding, Document, Segment

from conftest import EXAMPLE, run, run_json, snapshot

CODES = list("abcdefghijklmnopqrstuvwxy")


def presence_table(project: Path, coder: str) -> dict[tuple[str, str], int]:
    """(document, code) -> 1/0, read straight from the coder's sheet (independent of qda's units)."""
    sheet = load_workbook(EXAMPLE / f"{coder}.xlsx")["Coding"]
    used = set()
    for row in sheet.iter_rows(min_row=2, values_only=True):
        for code in str(row[6] or "").replace(",", ";").split(";"):
            if code.strip():
                used.add((row[1], code.strip()))
    docs = [f"E{i}" for i in range(1, 6)] + [f"P{i}" for i in range(1, 6)]
    return {(d, c): int((d, c) in used) for d in docs for c in CODES}


def test_document_unit_matches_reference_implementations(study_project: Path, runner) -> None:
    report = run_json(runner, "-p", study_project, "agree", "coder-a", "coder-b", "--unit", "document",
                      "--bootstrap", "200")
    a, b = presence_table(study_project, "coder-a"), presence_table(study_project, "coder-b")
    keys = sorted(a)
    x = np.array([a[k] for k in keys])
    y = np.array([b[k] for k in keys])
    pooled = report["pooled"]["coefficients"]
    assert report["pooled"]["n_units"] == 250
    assert pooled["cohen_kappa"]["value"] == pytest.approx(cohen_kappa_score(x, y), abs=1e-9)
    assert pooled["krippendorff_alpha"]["value"] == pytest.approx(
        krippendorff.alpha(reliability_data=np.vstack([x, y]), level_of_measurement="nominal"), abs=1e-9)
    counts, _ = aggregate_raters(np.column_stack([x, y]))
    assert pooled["fleiss_kappa"]["value"] == pytest.approx(fleiss_kappa(counts), abs=1e-9)
    assert pooled["percent_agreement"]["value"] == pytest.approx(np.mean(x == y), abs=1e-9)
    for entry in pooled.values():
        assert entry["value"] is None or entry["ci_low"] <= entry["value"] <= entry["ci_high"]
    by_code = {c["code"]: c for c in report["codes"]}
    for code in ("a", "h", "o"):
        xs = np.array([a[(d, code)] for d, c in keys if c == code])
        ys = np.array([b[(d, code)] for d, c in keys if c == code])
        assert by_code[code]["coefficients"]["krippendorff_alpha"]["value"] == pytest.approx(
            krippendorff.alpha(reliability_data=np.vstack([xs, ys]), level_of_measurement="nominal"), abs=1e-9)
        assert by_code[code]["coefficients"]["cohen_kappa"]["value"] == pytest.approx(
            cohen_kappa_score(xs, ys), abs=1e-9)


def test_the_written_disagreements_show_up(study_project: Path, runner) -> None:
    report = run_json(runner, "-p", study_project, "agree", "coder-a", "coder-b", "--unit", "segment",
                      "--bootstrap", "0")
    found = {(d["segment"], tuple(d["applied"]["coder-a"]), tuple(d["applied"]["coder-b"]))
             for d in report["disagreements"]}
    assert ("E3#21", ("i",), ("h",)) in found
    assert ("P3#19", ("n",), ("q",)) in found
    assert len(found) == 10
    assert report["confusion"]["i"] == {"h": 1}
    assert report["pooled"]["coefficients"]["cohen_kappa"]["ci_low"] is None


def test_three_coders_use_fleiss_and_cohen_is_undefined(study_project: Path, runner) -> None:
    report = run_json(runner, "-p", study_project, "agree", "coder-a", "coder-b", "consensus", "--bootstrap", "0")
    pooled = report["pooled"]["coefficients"]
    assert pooled["cohen_kappa"]["value"] is None and "two coders" in pooled["cohen_kappa"]["note"]
    assert 0.8 < pooled["fleiss_kappa"]["value"] <= 1


def test_thresholds_exit_one(study_project: Path, runner) -> None:
    run(runner, "-p", study_project, "agree", "coder-a", "coder-b", "--bootstrap", "0", "--min-kappa", "0.5")
    result = run(runner, "-p", study_project, "agree", "coder-a", "coder-b", "--bootstrap", "0",
                 "--min-alpha", "0.99", code=1)
    assert "below 0.99" in result.output


def test_unknown_coder_is_a_clear_error(study_project: Path, runner) -> None:
    result = run(runner, "-p", study_project, "agree", "coder-a", "nobody", code=1)
    assert "unknown coder 'nobody' (coders: coder-a, coder-b, consensus" in result.output


def _doc(name: str, text: str) -> Document:
    return Document(name, name, text, "x")


def test_overlap_unit_and_character_table() -> None:
    doc = _doc("D", "x" * 100)
    a = [Coding("A", "k", "D", "D", 0, 10), Coding("A", "k", "D", "D", 50, 60)]
    b = [Coding("B", "k", "D", "D", 0, 10), Coding("B", "k", "D", "D", 52, 70)]
    [table] = build_units("overlap", ["A", "B"], {"A": a, "B": b}, codes=["k"], documents=[doc], segments=[],
                          overlap=0.9)
    assert table.ratings.tolist() == [[1, 1], [1, 0], [0, 1]]
    [table] = build_units("overlap", ["A", "B"], {"A": a, "B": b}, codes=["k"], documents=[doc], segments=[],
                          overlap=0.4)
    assert table.ratings.tolist() == [[1, 1], [1, 1]]


def test_frequency_tolerance_and_exclude_uncoded() -> None:
    docs = [_doc("D1", "a" * 50), _doc("D2", "b" * 50), _doc("D3", "c" * 50)]
    a = [Coding("A", "k", "D1", "D1", 0, 5), Coding("A", "k", "D1", "D1", 10, 15), Coding("A", "k", "D2", "D2", 0, 5)]
    b = [Coding("B", "k", "D1", "D1", 0, 5), Coding("B", "k", "D2", "D2", 0, 5), Coding("B", "k", "D2", "D2", 9, 12)]
    [strict] = build_units("frequency", ["A", "B"], {"A": a, "B": b}, codes=["k"], documents=docs, segments=[])
    assert strict.ratings.tolist() == [[2, 1], [1, 2], [0, 0]]
    [loose] = build_units("frequency", ["A", "B"], {"A": a, "B": b}, codes=["k"], documents=docs, segments=[],
                          tolerance=1)
    assert loose.ratings.tolist() == [[2, 2], [1, 1], [0, 0]]
    [kept] = build_units("document", ["A", "B"], {"A": a, "B": b}, codes=["k"], documents=docs, segments=[],
                         exclude_uncoded=True)
    assert [u.document for u in kept.units] == ["D1", "D2"]


def test_segment_unit_maps_spans_to_segments() -> None:
    doc = _doc("D", "One two. Three four. Five.")
    segments = [Segment("D#1", "D", "D", 1, 1, 0, 8, "One two."), Segment("D#2", "D", "D", 1, 2, 9, 20, "Three four."),
                Segment("D#3", "D", "D", 1, 3, 21, 26, "Five.")]
    a = [Coding("A", "k", "D", "D", 0, 20)]  # a span over the first two sentences
    b = [Coding("B", "k", "D", "D", 9, 20, segment="D#2")]
    [table] = build_units("segment", ["A", "B"], {"A": a, "B": b}, codes=["k"], documents=[doc], segments=segments)
    assert table.ratings.tolist() == [[1, 0], [1, 1], [0, 0]]


def test_table_input_with_declared_categories(runner, tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    rows = ["unit,ann,ben,cid", "1,pos,pos,pos", "2,neg,neg,pos", "3,neu,neu,neu", "4,pos,,pos", "5,neg,neg,neg"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = run_json(runner, "agree", "--table", path, "--categories", "pos,neg,neu,other", "--bootstrap", "0")
    coefficients = report["pooled"]["coefficients"]
    assert set(coefficients) == {"percent_agreement", "cohen_kappa", "scott_pi", "krippendorff_alpha",
                                 "brennan_prediger", "gwet_ac1", "fleiss_kappa", "holsti"}
    data = np.array([[0, 0, 0], [1, 1, 0], [2, 2, 2], [0, np.nan, 0], [1, 1, 1]]).T
    assert coefficients["krippendorff_alpha"]["value"] == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-9)
    assert coefficients["cohen_kappa"]["value"] is None
    assert report["settings"]["categories"] == ["pos", "neg", "neu", "other"]


def test_adjudication_round_trip_gives_the_consensus(study_project: Path, runner, tmp_path: Path) -> None:
    # a copy: the session's study project is shared, and pages of docs/ print its coders
    study_project = Path(shutil.copytree(study_project, tmp_path / "study"))
    sheet = tmp_path / "adj.xlsx"
    run(runner, "-p", study_project, "code", "adjudication-sheet", "coder-a", "coder-b", "-o", sheet)
    assert load_workbook(sheet)["Adjudication"].max_row == 11
    result = run_json(runner, "-p", study_project, "code", "adjudicate", EXAMPLE / "adjudication.xlsx", "--as",
                      "adjudicated")
    assert result["decided"] == 10
    with Project.open(study_project) as project:
        got = {(c.segment, c.code) for c in project.codings("adjudicated")}
        want = {(c.segment, c.code) for c in project.codings("consensus")}
    assert got == want


def test_undecided_adjudication_records_nothing(study_project: Path, runner, tmp_path: Path) -> None:
    sheet = tmp_path / "adj.xlsx"
    run(runner, "-p", study_project, "code", "adjudication-sheet", "coder-a", "coder-b", "-o", sheet)
    before = snapshot(study_project)
    result = run(runner, "-p", study_project, "code", "adjudicate", sheet, "--as", "third", code=1)
    assert "row 2: no decision" in result.output
    assert snapshot(study_project) == before


def test_workbook_gets_a_reliability_sheet(study_project: Path, runner, tmp_path: Path) -> None:
    path = tmp_path / "synthesis.xlsx"
    run(runner, "-p", study_project, "export", "workbook", path, "--coder", "consensus", "--by", "group",
        "--agree", "coder-a", "--agree", "coder-b")
    wb = load_workbook(path)
    assert wb.sheetnames[-1] == "Reliability" or "Reliability" in wb.sheetnames
    a, b = presence_table(study_project, "coder-a"), presence_table(study_project, "coder-b")
    keys = sorted(a)
    expected = krippendorff.alpha(reliability_data=np.array([[a[k] for k in keys], [b[k] for k in keys]]),
                                  level_of_measurement="nominal")
    values = [c for row in wb["Reliability"].iter_rows(values_only=True) for c in row if isinstance(c, float)]
    assert any(abs(v - expected) < 1e-9 for v in values)


def test_roles_restrict_the_units(study_project: Path, runner) -> None:
    speakers = run_json(runner, "-p", study_project, "speakers")["speakers"]
    roles = {s["speaker"]: s["role"] for s in speakers}
    assert roles["Intervieweur"] == "interviewer" and roles["Répondant"] == "respondent"
    everything = run_json(runner, "-p", study_project, "agree", "coder-a", "coder-b", "--unit", "segment",
                          "--bootstrap", "0")
    respondents = run_json(runner, "-p", study_project, "agree", "coder-a", "coder-b", "--unit", "segment",
                           "--bootstrap", "0", "--role", "respondent")
    assert respondents["pooled"]["n_units"] < everything["pooled"]["n_units"]
    assert len(respondents["disagreements"]) == len(everything["disagreements"])  # nobody coded questions


def test_the_overlap_report_does_not_depend_on_the_hash_seed(small_project: Path, runner) -> None:
    """The same project gives the same report: the confusion table once followed set order."""
    import json
    import os
    import subprocess
    import sys

    with Project.open(small_project) as project:
        refs = [s.ref for s in project.segments()][:6]
    for coder, codes in (("ana", "a; b; c; d"), ("bob", "e; f; g; h")):  # every segment: 4 x 4 swaps
        sheet = small_project.parent / f"{coder}.csv"
        sheet.write_text("segment,codes\n" + "".join(f'{ref},"{codes}"\n' for ref in refs), encoding="utf-8")
        run(runner, "-p", small_project, "code", "import", sheet, "--coder", coder)
    root = Path(__file__).resolve().parent.parent
    outputs = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        done = subprocess.run([sys.executable, "-m", "qda", "-p", str(small_project), "agree", "ana", "bob",
                               "--unit", "overlap", "--bootstrap", "0", "--format", "json"],
                              capture_output=True, text=True, env=env, check=True)
        outputs.add(done.stdout)
    assert len(outputs) == 1
    confusion = json.loads(outputs.pop())["confusion"]
    assert list(confusion) == ["a", "b", "c", "d"] and list(confusion["a"].items()) == [
        ("e", 6), ("f", 6), ("g", 6), ("h", 6)]
