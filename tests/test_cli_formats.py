"""Every command that prints numbers takes --format table|csv|json, and its CSV and JSON are the
result's own to_frame() and to_dict() (issue 18: "7 of 42 commands have no --format",
"matrix cooccur builds its own CSV")."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import typer

from qda.cli import app, csv_text
from qda.cli.reference import commands
from qda.project import Project
from tests.conftest import run, run_json

#: Commands without --format, each printing no number: what it prints.
NO_NUMBERS = {
    "version": "the version string",
    "figure": "'wrote FILE' (the figure is the output)",
    "report": "'wrote FILE' (the report is the output)",
    "serve": "the address of the workspace, then the server's log",
    "users add": "'account NAME ready (ROLE)'",
    "users password": "'new password for NAME'",
    "users role": "'NAME is now a ROLE'",
    "users disable": "'NAME is disabled'",
    "users unlock": "'NAME may log in again'",
    "users remove": "'account NAME removed'",
}


def _leaf_commands() -> dict[str, object]:
    root = typer.main.get_command(app)
    return {" ".join(path): command for path, command, _ctx in commands(root)
            if not getattr(command, "commands", None)}


def test_only_commands_without_numbers_lack_format() -> None:
    leaves = _leaf_commands()
    assert len(leaves) > 60
    without = {name for name, command in leaves.items()
               if "--format" not in {o for p in command.params for o in getattr(p, "opts", [])}}  # type: ignore[attr-defined]
    assert without == set(NO_NUMBERS)


@pytest.mark.parametrize("all_pairs", [False, True])
def test_cooccur_csv_is_the_results_frame(runner, study_project: Path, all_pairs: bool) -> None:
    extra = ("--all-pairs",) if all_pairs else ()
    printed = run(runner, "-p", study_project, "matrix", "cooccur", "--coder", "consensus", "--by", "group", *extra,
                  "--format", "csv").stdout
    with Project.open(study_project) as project:
        result = project.cooccurrence("consensus", by="group", all_pairs=all_pairs)
    assert printed == csv_text(result.to_frame())
    frame = pd.read_csv(io.StringIO(printed))
    tables = result.to_dict()["tables"]
    assert len(frame) == len([p for t in tables for p in t["pairs"] if all_pairs or p["n_ab"]])
    if all_pairs:
        assert (frame["n ab"] == 0).any()  # the study has codes that never meet
    else:
        assert (frame["n ab"] > 0).all()
    # full precision: the CSV's coefficients are the JSON's, not rounded to three decimals
    group = tables[0]["group"]
    exact = {(p["a"], p["b"]): p["jaccard"] for p in tables[0]["pairs"] if p["jaccard"] is not None}
    rows = frame[frame["group"] == group].dropna(subset=["jaccard"])
    assert len(rows) > 5
    assert any(abs(v * 1000 - round(v * 1000)) > 1e-9 for v in rows["jaccard"])
    for a, b, jaccard in zip(rows["code a"], rows["code b"], rows["jaccard"], strict=True):
        assert jaccard == pytest.approx(exact[(a, b)], abs=1e-12)


def test_cooccur_json_is_the_results_dict(runner, study_project: Path) -> None:
    printed = run_json(runner, "-p", study_project, "matrix", "cooccur", "--coder", "consensus")
    with Project.open(study_project) as project:
        assert printed == json.loads(json.dumps(project.cooccurrence("consensus").to_dict()))


def test_delete_coder_reports_its_count(runner, demo_project: Path) -> None:
    with Project.open(demo_project) as project:
        segments = project.segments(document="E1")[:3]
        for coder, chosen in (("ann", segments), ("bob", segments[:2])):
            for segment in chosen:
                project.add_coding(coder, segment.document, "b", start=segment.start, end=segment.end)
    data = run_json(runner, "-p", demo_project, "code", "delete-coder", "ann", "--yes")
    assert data == {"coder": "ann", "deleted_codings": 3}
    table = run(runner, "-p", demo_project, "code", "delete-coder", "bob", "--yes").stdout
    assert table.strip() == "deleted coder 'bob' and 2 coding(s); 'qda undo' brings them back"
