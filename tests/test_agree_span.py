"""``qda agree --unit span`` (unitizing alpha as headline) and the one segment rule of ``--unit segment``.

The project is tiny and made here: two coders select partial sentences of A1 with the
mouse (the scenario of issue 16), including two codes that only one coder applied, each
on less than half a sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_unitizing import brute_binary

from qda.models import SEGMENT_RULE, Segment, assign_segments, coding_segment_pairs
from qda.project import Project

from conftest import run, run_json

SPANS = [  # (coder, code, quoted words)
    ("ana", "h", "trois foires commerciales"),
    ("bob", "h", "Nous allons à trois foires commerciales par année."),
    ("ana", "b", "démonstrations du produit"),
    ("bob", "b", "démonstrations"),
    ("ana", "a", "pas sur Facebook"),
    ("ana", "d", "Un ingénieur d'application"),  # only ana, under half of its sentence
    ("bob", "k", "rend aussi visite"),  # only bob, under half of its sentence
]
CODES = ["a", "b", "d", "h", "k"]


@pytest.fixture
def coded(small_project: Path) -> Path:
    with Project.open(small_project) as project:
        text = project._store.document("A1").text
        for coder, code, words in SPANS:
            start = text.index(words)
            project.add_coding(coder, "A1", code, start=start, end=start + len(words))
    return small_project


def _agree(runner, project: Path, unit: str, *extra: str) -> dict:
    codes = [x for c in CODES for x in ("--code", c)]
    return run_json(runner, "-p", project, "agree", "ana", "bob", "--unit", unit, *codes, "--bootstrap", "0", *extra)


def test_span_json_equals_the_api_and_overlap_is_its_old_name(coded: Path, runner) -> None:
    data = _agree(runner, coded, "span")
    with Project.open(coded) as project:
        api = project.agree(["ana", "bob"], unit="span", codes=CODES, bootstrap=0).to_dict()
    assert data == json.loads(json.dumps(api))
    assert _agree(runner, coded, "overlap") == data
    assert data["unit"] == "span" and data["unitizing"]["codes"][0]["code"] == "a"


def test_span_alpha_is_the_character_brute_force(coded: Path, runner) -> None:
    data = _agree(runner, coded, "span")
    with Project.open(coded) as project:
        docs = project._store.documents()
        lengths = [len(d.text) for d in docs]
        names = [d.name for d in docs]
        coders = [[(CODES.index(c.code), names.index(c.document), c.start, c.end)
                   for c in project.codings(name) if c.code in CODES] for name in ("ana", "bob")]
    for i, entry in enumerate(data["unitizing"]["codes"]):
        assert entry["binary_alpha"]["value"] == pytest.approx(brute_binary(coders, lengths, i), abs=1e-9)
    # per code, the report row carries the same figure
    assert [c["coefficients"]["unitizing_alpha"]["value"] for c in data["codes"]] == \
        [e["binary_alpha"]["value"] for e in data["unitizing"]["codes"]]


def test_span_table_prints_alpha_characters_and_no_misleading_kappa(coded: Path, runner) -> None:
    codes = [x for c in CODES for x in ("--code", c)]
    out = run(runner, "-p", coded, "agree", "ana", "bob", "--unit", "span", *codes, "--bootstrap", "0").stdout
    assert "|uα" in out and "chars both" in out and "ana only" in out and "neither" in out
    assert "cuα" in out and "Cuα" in out
    assert "undefined: no 'neither' units" in " ".join(out.split())
    data = _agree(runner, coded, "span")
    for item in (*data["codes"], data["pooled"]):
        for name in ("cohen_kappa", "scott_pi", "krippendorff_alpha", "gwet_ac1", "brennan_prediger"):
            coefficient = item["coefficients"][name]
            assert coefficient["value"] is None and coefficient["note"].startswith("undefined: no 'neither'")
    # the character table: both coders coded h on 'trois foires commerciales' (25 characters)
    h = next(t for t in data["characters"] if t["code"] == "h")
    assert h["both"] == len("trois foires commerciales") and h["a_only"] == 0


def test_span_with_three_coders_and_min_alpha(coded: Path, runner) -> None:
    with Project.open(coded) as project:
        text = project._store.document("A1").text
        start = text.index("trois foires")
        project.add_coding("cy", "A1", "h", start=start, end=start + 30)
    data = run_json(runner, "-p", coded, "agree", "ana", "bob", "cy", "--unit", "span", "--code", "h",
                    "--bootstrap", "0")
    h = data["codes"][0]["coefficients"]
    assert h["unitizing_alpha"]["value"] is not None
    assert h["percent_agreement"]["value"] is None and "two coders" in h["percent_agreement"]["note"]
    pooled = data["pooled"]["coefficients"]["unitizing_alpha"]["value"]
    run(runner, "-p", coded, "agree", "ana", "bob", "cy", "--unit", "span", "--code", "h", "--bootstrap", "0",
        "--min-alpha", str(round(pooled + 0.01, 3)), code=1)
    run(runner, "-p", coded, "agree", "ana", "bob", "cy", "--unit", "span", "--code", "h", "--bootstrap", "0",
        "--min-alpha", str(round(pooled - 0.01, 3)))


# ----------------------------------------------------------------------------- the segment rule

def _segments(text: str, cuts: list[tuple[int, int]]) -> list[Segment]:
    return [Segment(f"D#{i + 1}", "D", "D", 1, i + 1, s, e, text[s:e]) for i, (s, e) in enumerate(cuts)]


def test_rule_partial_codings_count_whitespace_does_not() -> None:
    text = "One two three. Four five six.  Seven."
    cuts = [(0, 14), (15, 29), (31, 37)]
    starts = [0, 4, 13, 14, 29]
    ends = [3, 18, 15, 15, 31]  # under half; across two; '.' + space; a space; spaces between segments
    coding, segment = coding_segment_pairs(text, starts, ends, segment_starts=[s for s, _ in cuts],
                                           segment_ends=[e for _, e in cuts])
    assert list(zip(coding.tolist(), segment.tolist())) == [(0, 0), (1, 0), (1, 1), (2, 0)]
    assert "non-space" in SEGMENT_RULE


def test_assign_segments_matches_the_vectorised_rule() -> None:
    from qda.models import Coding

    text = "Alpha beta gamma. Delta epsilon. Zeta eta theta iota."
    cuts = [(0, 17), (18, 32), (33, 53)]
    segs = _segments(text, cuts)
    codings = [Coding("x", "k", "D", "D", s, e) for s, e in [(2, 5), (10, 20), (17, 18), (40, 53)]]
    codings.append(Coding("x", "k", "D", "D", 0, 17, segment="D#1"))
    assert assign_segments(codings, segs) == [["D#1"], ["D#1", "D#2"], [], ["D#3"], ["D#1"]]


def test_segment_unit_counts_partial_codings_and_says_so(coded: Path, runner) -> None:
    data = _agree(runner, coded, "segment")
    partial = data["settings"]["partial_codings"]
    assert partial["ana"]["partial"] == 4 and partial["ana"]["not_counted"] == 0
    assert partial["bob"]["span_codings"] == 2  # bob's whole sentence was stored on its segment
    codes = [x for c in CODES for x in ("--code", c)]
    out = " ".join(run(runner, "-p", coded, "agree", "ana", "bob", "--unit", "segment", *codes,
                       "--bootstrap", "0").stdout.split())
    assert "ana: 4 span coding(s); 4 cover part of a segment" in out
    # d and k, each under half a sentence, now count: one coder applied them, so they disagree
    d = next(c for c in data["codes"] if c["code"] == "d")
    assert d["coefficients"]["percent_agreement"]["value"] < 1


def test_adjudication_rows_hold_codes_under_half_a_sentence(coded: Path) -> None:
    with Project.open(coded) as project:
        regions = project.compare_regions(None, "ana", "bob").regions
    applied = {code for region in regions for code in region.codes}
    assert {"d", "k"} <= applied


def test_span_with_role_keeps_only_those_speakers_turns(coded: Path, runner) -> None:
    data = run_json(runner, "-p", coded, "agree", "ana", "bob", "--unit", "span", *[x for c in CODES for x in
                    ("--code", c)], "--role", "respondent", "--bootstrap", "0")
    with Project.open(coded) as project:
        stretches = []  # (document, start, end): runs of consecutive respondent segments
        for doc in project._store.documents():
            previous = False
            for seg in sorted(project._store.segments(document=doc.name), key=lambda s: s.start):
                kept = seg.role == "respondent"
                if kept and previous:
                    stretches[-1] = (doc.name, stretches[-1][1], seg.end)
                elif kept:
                    stretches.append((doc.name, seg.start, seg.end))
                previous = kept
        coders = []
        for name in ("ana", "bob"):
            spans = []
            for c in project.codings(name):
                for k, (doc, s, e) in enumerate(stretches):
                    if c.code in CODES and c.document == doc and min(c.end, e) > max(c.start, s):
                        spans.append((CODES.index(c.code), k, max(c.start, s) - s, min(c.end, e) - s))
            coders.append(spans)
    lengths = [e - s for _, s, e in stretches]
    assert data["settings"]["characters"] == sum(lengths)
    for i, entry in enumerate(data["unitizing"]["codes"]):
        assert entry["binary_alpha"]["value"] == pytest.approx(brute_binary(coders, lengths, i), abs=1e-9)


def test_span_csv_has_unitizing_alpha_columns(coded: Path, runner) -> None:
    import csv
    import io

    out = run(runner, "-p", coded, "agree", "ana", "bob", "--unit", "span", "--code", "h", "--code", "b",
              "--bootstrap", "0", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    data = _agree(runner, coded, "span")
    by_code = {e["code"]: e["binary_alpha"]["value"] for e in data["unitizing"]["codes"]}
    assert {"unitizing_alpha", "unitizing_alpha_low", "unitizing_alpha_high"} <= set(rows[0])
    for row in rows[:-1]:
        assert float(row["unitizing_alpha"]) == pytest.approx(by_code[row["code"]])
    assert rows[-1]["code"] == "(pooled)" and rows[-1]["cohen_kappa"] == ""
