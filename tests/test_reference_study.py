"""The reference study end to end: every published number, from the CLI and the workbook.

Expected values come from the published Table 2 (tests/fixtures/table2-published.csv)
and the figures' numbers in the article, not from qda's output.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import FIXTURES, SHARED, run, run_json

PUBLISHED = {row["code"]: (int(row["entry"]), int(row["post_entry"]), int(row["total"]))
             for row in csv.DictReader((FIXTURES / "table2-published.csv").open(encoding="utf-8"))}
SUBTOTALS = {  # block: (entry, post-entry, total), and their rounded shares in %
    "digital": ((11, 9, 20), (39, 23, 30)),
    "events": ((8, 12, 20), (29, 31, 30)),
    "documentation": ((6, 7, 13), (21, 18, 19)),
    "relations": ((3, 11, 14), (11, 28, 21)),
}
TOTALS = (28, 39, 67)


def test_published_fixture_matches_the_study_folder() -> None:
    source = SHARED / "study" / "table2.csv"
    if not source.exists():
        pytest.skip("../shared/study is not beside this clone")
    study = {r["code"]: (int(r["entry"]), int(r["post_entry"]), int(r["total"]))
             for r in csv.DictReader(source.open(encoding="utf-8"))}
    assert study == PUBLISHED


@pytest.fixture(scope="module")
def cross(study_project: Path) -> dict:
    from typer.testing import CliRunner
    return run_json(CliRunner(), "-p", study_project, "matrix", "cross", "--by", "group", "--coder", "consensus")


def test_table2_every_code(cross: dict) -> None:
    assert cross["groups"] == [{"value": "entry", "n": 5}, {"value": "post-entry", "n": 5}]
    codes = {r["key"]: r for r in cross["rows"] if r["kind"] == "code"}
    assert list(codes) == list(PUBLISHED)
    for code, (entry, post, total) in PUBLISHED.items():
        row = codes[code]
        assert (row["counts"]["entry"], row["counts"]["post-entry"], row["total"]) == (entry, post, total), code


def test_table2_subtotals_shares_and_totals(cross: dict) -> None:
    subtotals = {r["key"]: r for r in cross["rows"] if r["kind"] == "subtotal"}
    assert list(subtotals) == list(SUBTOTALS)
    for block, (counts, shares) in SUBTOTALS.items():
        row = subtotals[block]
        assert (row["counts"]["entry"], row["counts"]["post-entry"], row["total"]) == counts
        got = (row["shares"]["entry"], row["shares"]["post-entry"], row["total_share"])
        assert tuple(round(100 * s) for s in got) == shares, block
    total = [r for r in cross["rows"] if r["kind"] == "total"][0]
    assert (total["counts"]["entry"], total["counts"]["post-entry"], total["total"]) == TOTALS


def test_direct_indirect_split(study_project: Path, runner) -> None:
    result = run_json(runner, "-p", study_project, "matrix", "split", "--code-attr", "mode", "--by", "group",
                      "--coder", "consensus")
    values = {v["value"]: v["groups"] for v in result["values"]}
    assert set(values) == {"direct", "indirect"}
    assert (values["direct"]["entry"]["uses"], values["direct"]["post-entry"]["uses"]) == (12, 26)
    assert (values["indirect"]["entry"]["uses"], values["indirect"]["post-entry"]["uses"]) == (16, 13)
    assert (values["direct"]["entry"]["variety"], values["direct"]["post-entry"]["variety"]) == (7, 12)
    assert (values["indirect"]["entry"]["variety"], values["indirect"]["post-entry"]["variety"]) == (11, 8)
    assert round(100 * values["direct"]["entry"]["share"]) == 43
    assert round(100 * values["direct"]["post-entry"]["share"]) == 67
    assert round(100 * values["indirect"]["entry"]["share"]) == 57
    assert round(100 * values["indirect"]["post-entry"]["share"]) == 33


def test_reach_of_post_entry_direct_uses(study_project: Path, runner) -> None:
    result = run_json(runner, "-p", study_project, "matrix", "split", "--code-attr", "reach", "--where",
                      "mode=direct", "--by", "group", "--coder", "consensus")
    values = {v["value"]: v["groups"]["post-entry"] for v in result["values"]}
    assert values["one-to-many"]["uses"] == 4
    assert set(values["one-to-many"]["codes"]) == {"j", "l"}
    assert values["one-to-one"]["uses"] == 22
    assert round(100 * values["one-to-one"]["share"], 1) == 84.6


def test_cross_csv_layout(study_project: Path, runner) -> None:
    text = run(runner, "-p", study_project, "matrix", "cross", "--by", "group", "--coder", "consensus",
               "--format", "csv").stdout
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["row", "category", "code", "label", "entry (n=5)", "entry (n=5) %", "post-entry (n=5)",
                       "post-entry (n=5) %", "total (n=10)", "total (n=10) %"]
    assert len(rows) == 1 + 25 + 4 + 1
    by_code = {r[2]: r for r in rows[1:] if r[0] == "code"}
    assert by_code["h"][4:9:2] == ["4", "5", "9"]
    subtotal = [r for r in rows if r[0] == "subtotal" and r[1] == "relations"][0]
    # The % columns hold full-precision percent points (issue 8): compared at one decimal.
    assert [round(float(v), 1) for v in subtotal[4:]] == [3, 10.7, 11, 28.2, 14, 20.9]
    assert rows[-1][0] == "total" and [round(float(v), 1) for v in rows[-1][4:]] == [28, 100.0, 39, 100.0, 67, 100.0]


def test_coders_disagree_somewhere_but_consensus_is_the_table(study_project: Path, runner) -> None:
    a = run_json(runner, "-p", study_project, "matrix", "cases", "--by", "group", "--coder", "coder-a")
    b = run_json(runner, "-p", study_project, "matrix", "cases", "--by", "group", "--coder", "coder-b")
    def presence(m: dict) -> dict:
        return {c["case"]: set(c["codes"]) for g in m["groups"] for c in g["cases"]}

    assert presence(a) != presence(b)


def test_workbook_cells(study_project: Path, runner, tmp_path: Path) -> None:
    path = tmp_path / "synthesis.xlsx"
    run(runner, "-p", study_project, "export", "workbook", path, "--coder", "consensus", "--by", "group",
        "--code-attr", "mode")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Codebook", "Cases", "Meta-matrix", "Cross-case table", "Split by mode",
                             "Intra-case", "Co-occurrence", "Quotes"]
    ws = wb["Cross-case table"]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    header = next(r for r in cells if r[0] == "Code")
    count_cols = [i for i, v in enumerate(header) if isinstance(v, str) and "(n=" in v]
    assert len(count_cols) == 3
    found = {r[0]: tuple(r[i] for i in count_cols) for r in cells if r[0] in PUBLISHED}
    assert found == PUBLISHED
    subtotal_rows = [r for r in ws.iter_rows() if r[0].value is None and r[count_cols[0]].value is not None
                     and r[count_cols[0] + 1].value is not None and r[count_cols[0] + 1].value < 1]
    shares = [tuple(round(100 * row[i + 1].value) for i in count_cols) for row in subtotal_rows]
    assert shares == [s for _, s in SUBTOTALS.values()]
    assert all("%" in row[count_cols[0] + 1].number_format for row in subtotal_rows)
    total_row = [r for r in cells if any(v == 67 for v in r if isinstance(v, int))][-1]
    assert tuple(total_row[i] for i in count_cols) == TOTALS

    split = wb["Split by mode"]
    values = [[c.value for c in row] for row in split.iter_rows()]
    flat = [v for row in values for v in row if v is not None]
    direct = next(r for r in values if r and r[0] == "direct")
    indirect = next(r for r in values if r and r[0] == "indirect")
    assert [v for v in direct if isinstance(v, int)] == [12, 7, 26, 12]
    assert [v for v in indirect if isinstance(v, int)] == [16, 11, 13, 8]
    assert split._charts, "the split sheet has a native bar chart"
    assert flat


def test_workbook_cooccurrence_and_quotes_sheets(study_project: Path, runner, tmp_path: Path) -> None:
    """Published Table 2: h (trade fairs) is used by all five post-entry firms and j by three,
    so the three j firms use both: Jaccard 3 / (5 + 3 - 3) = 0.6."""
    path = tmp_path / "synthesis.xlsx"
    run(runner, "-p", study_project, "export", "workbook", "-o", path, "--coder", "consensus", "--by", "group")
    wb = load_workbook(path)
    pairs = {(r[0], frozenset(r[1:3])): r[3:] for r in wb["Co-occurrence"].iter_rows(min_row=3, values_only=True)
             if r[1]}
    n_a, n_b, both, jaccard, dice, _ = pairs[("post-entry", frozenset({"h", "j"}))]
    assert sorted((n_a, n_b)) == [3, 5] and both == 3
    assert jaccard == pytest.approx(0.6) and dice == pytest.approx(2 * 3 / (5 + 3))
    quotes = [r for r in wb["Quotes"].iter_rows(min_row=3, values_only=True) if r[0]]
    assert {r[2] for r in quotes} == {"entry", "post-entry"}
    assert all(sum(1 for q in quotes if q[0] == code and q[2] == group) <= 2 for code, _, group, _, _ in quotes)
    h_quotes = [r[4] for r in quotes if r[0] == "h"]
    assert h_quotes and all(isinstance(text, str) and text.strip() for text in h_quotes)


def test_folder_codes_head_their_sub_codes() -> None:
    from qda.codebook import parse_codebook
    from qda.matrix import cross_case, meta_matrix
    from qda.models import Case, Coding

    codebook = parse_codebook(
        "name: T\nlanguages: [en]\ncategories:\n  - id: cat\n    label: Cat\n    codes:\n"
        "      - id: folder\n        label: Folder\n        codable: false\n        codes:\n"
        "          - {id: x, label: X}\n          - {id: y, label: Y}\n", "t.yaml")
    cases = [Case("A", {"g": "1"}), Case("B", {"g": "2"})]
    codings = [Coding("c", "x", "A", "A", 0, 5), Coding("c", "y", "B", "B", 0, 5)]
    rows = [(r.kind, r.key, r.depth, r.counts) for r in cross_case(codebook, cases, codings, by="g", coder="c").rows]
    assert rows == [("category", "cat", 0, ()), ("category", "folder", 1, ()), ("code", "x", 2, (1, 0)),
                    ("code", "y", 2, (0, 1)), ("subtotal", "cat", 0, (1, 1)), ("total", "total", 0, (1, 1))]
    assert meta_matrix(codebook, cases, codings, by="g", coder="c").codes == ("x", "y")
