"""The result contract (qda.results): every result gives JSON-safe to_dict, a typed to_frame
and a table; the CLI's JSON equals to_dict; vocabularies keep their words."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qda import Project
from qda.cli import app, cell_text
from qda.codebook import CodebookView
from qda.models import AgreementUnit, CodingStatus, NegationMode, OutputFormat
from qda.results import Interval, Result, Share, TableView, jsonable

from conftest import run, run_json


def _results(project: Project) -> dict[str, Result]:
    return {
        "status": project.status(),
        "speakers": project.speakers({}),
        "codebook": CodebookView(project.codebook()),
        "case": project.matrix_case("P1", "consensus"),
        "cases": project.matrix_cases("group", "consensus"),
        "cross": project.matrix_cross("group", "consensus"),
        "split": project.matrix_split("mode", "group", "consensus"),
        "agree": project.agree(["coder-a", "coder-b"], bootstrap=20),
        "disagreements": project.agree(["coder-a", "coder-b"], bootstrap=0).disagreement_list(),
    }


def test_every_result_keeps_the_contract(study_project: Path) -> None:
    with Project.open(study_project) as project:
        results = _results(project)
    for name, result in results.items():
        assert isinstance(result, Result), name
        data = result.to_dict()
        assert json.loads(json.dumps(data, allow_nan=False)) == data, f"{name}: to_dict is not plain JSON"
        assert isinstance(result.to_frame(), pd.DataFrame), name
        view = result.to_table()
        assert isinstance(view, TableView) and (view.rows or view.lead), name
        assert all(len(row.cells) == len(view.columns) for row in view.rows), name


def test_agreement_frame_is_typed_at_full_precision(study_project: Path) -> None:
    with Project.open(study_project) as project:
        report = project.agree(["coder-a", "coder-b"], bootstrap=50)
    frame = report.to_frame()
    assert "cohen_kappa_ci" not in frame.columns
    for column in ("cohen_kappa", "cohen_kappa_low", "cohen_kappa_high", "prevalence_index"):
        assert frame[column].dtype == np.float64, column
    pooled = frame[frame["code"] == "(pooled)"].iloc[0]
    estimate = report.pooled.estimates["cohen_kappa"]
    assert (pooled["cohen_kappa"], pooled["cohen_kappa_low"], pooled["cohen_kappa_high"]) == \
        (estimate.value, estimate.ci_low, estimate.ci_high)
    assert report.to_dict()["pooled"]["coefficients"]["cohen_kappa"]["value"] == estimate.value


def test_cross_case_percentages_are_not_rounded(study_project: Path) -> None:
    with Project.open(study_project) as project:
        table = project.matrix_cross("group", "consensus")
    frame = table.to_frame()
    subtotal = next(r for r in table.rows if r.kind == "subtotal")
    row = frame[(frame["row"] == "subtotal") & (frame["category"] == subtotal.category)].iloc[0]
    name = table.column_names()[0]
    assert row[f"{name} %"] == 100 * subtotal.shares[0]


def test_cli_json_is_the_api_to_dict(study_project: Path, runner) -> None:
    with Project.open(study_project) as project:
        expected = project.matrix_split("mode", "group", "consensus").to_dict()
        agreement = project.agree(["coder-a", "coder-b"], unit="segment", bootstrap=0).to_dict()
    assert run_json(runner, "-p", study_project, "matrix", "split", "--code-attr", "mode", "--by", "group",
                    "--coder", "consensus") == expected
    assert run_json(runner, "-p", study_project, "agree", "coder-a", "coder-b", "--unit", "segment",
                    "--bootstrap", "0") == agreement


def test_every_format_works_on_summary_commands(study_project: Path, runner, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(study_project, folder)
    sheet = Path(__file__).parent.parent / "examples" / "entry-postentry" / "coder-a.xlsx"
    text = run(runner, "-p", folder, "code", "import", sheet, "--coder", "again", "--format", "csv").stdout
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns) == ["coder", "file", "rows", "codings", "documents", "replaced", "duplicates"]
    assert frame.loc[0, "codings"] == 103 and frame.loc[0, "documents"] == 10
    table = run(runner, "-p", folder, "code", "import", sheet, "--coder", "again").stdout
    # the same sheet again: its 103 codings are kept as they are, none replaced (they used to be counted as replaced)
    assert "coder 'again': 103 codings from 667 rows in 10 documents (0 previous codings replaced)" in table


def test_display_rounding_is_the_renderers() -> None:
    assert cell_text(Interval(0.81234, 0.7012, 0.95)) == "0.812 [0.70, 0.95]"
    assert cell_text(Interval(None)) == "undef."
    assert cell_text(Share(3 / 28, 3)) == "3 (11 %)"
    assert cell_text(Share(2 / 3)) == "67 %"
    assert cell_text(Share(None)) == ""
    assert cell_text(2.0) == "2" and cell_text(1 / 3) == "0.333" and cell_text(float("nan")) == ""
    assert cell_text("[b]x[/b]") == "\\[b]x\\[/b]"  # markup in data is shown, not interpreted


def test_jsonable() -> None:
    data = {"a": np.float64(0.5), "b": float("nan"), "c": (1, np.int64(2)), "d": AgreementUnit.SEGMENT,
            "e": Path("x/y"), "f": {NegationMode.FLAG: math.inf}}
    assert jsonable(data) == {"a": 0.5, "b": None, "c": [1, 2], "d": "segment", "e": "x/y", "f": {"flag": None}}
    assert type(jsonable(data)["d"]) is str


def test_vocabularies_are_their_words() -> None:
    assert f"{AgreementUnit.OVERLAP}" == str(AgreementUnit.OVERLAP) == "overlap"
    assert {"ok": 1}[CodingStatus.OK] == 1 and CodingStatus("negated") is CodingStatus.NEGATED
    assert json.dumps([OutputFormat.CSV]) == '["csv"]'
    assert AgreementUnit.words() == "document, case, frequency, coverage, segment, span, overlap"


@pytest.mark.parametrize("args", [["agree", "a", "b", "--unit", "sentence"],
                                  ["code", "auto", "--negation", "maybe"],
                                  ["matrix", "cross", "--by", "group", "-c", "x", "--count", "words"]])
def test_enum_options_reject_unknown_words(runner, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "Invalid value" in result.output
