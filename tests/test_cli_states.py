"""Empty states are errors or warnings, never silence (issue 12)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qda.cli import app

from conftest import run, snapshot


@pytest.fixture
def study_copy(study_project: Path, tmp_path: Path) -> Path:
    """A copy of the study project that a test may change."""
    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    return folder


def test_an_untouched_sheet_warns_exits_1_and_imports_nothing(runner, study_copy, tmp_path) -> None:
    sheet = tmp_path / "alice.xlsx"
    run(runner, "-p", study_copy, "code", "sheet", "--coder", "alice", "-o", sheet)
    before = snapshot(study_copy)
    result = run(runner, "-p", study_copy, "code", "import", sheet, "--coder", "alice", code=1)
    assert "warning:" in result.output and "no code is filled in (667 segments)" in result.output
    assert "--allow-empty" in result.output
    assert snapshot(study_copy) == before


def test_an_empty_sheet_over_codings_needs_allow_empty_and_then_clears_them(runner, study_copy, tmp_path) -> None:
    sheet = tmp_path / "blank.xlsx"
    run(runner, "-p", study_copy, "code", "sheet", "--coder", "nobody", "--case", "E1", "-o", sheet)
    run(runner, "-p", study_copy, "code", "import", sheet, "--coder", "coder-a", code=1)
    result = run(runner, "-p", study_copy, "code", "import", sheet, "--coder", "coder-a", "--allow-empty")
    assert "coder 'coder-a': 0 codings from 74 rows" in result.output
    left = run(runner, "-p", study_copy, "matrix", "case", "E1", "--coder", "coder-a")
    assert "Démonstration" not in left.output


def test_agree_with_a_coder_without_codings_names_every_coder_and_count(runner, study_copy, tmp_path) -> None:
    sheet = tmp_path / "alice.xlsx"
    run(runner, "-p", study_copy, "code", "sheet", "--coder", "alice", "-o", sheet)
    run(runner, "-p", study_copy, "code", "import", sheet, "--coder", "alice", "--allow-empty")
    result = run(runner, "-p", study_copy, "agree", "consensus", "alice", code=1)
    assert "a coder has no codings (consensus: 103, alice: 0)" in result.output
    assert "paradox" not in result.output
    missing = run(runner, "-p", study_copy, "agree", "consensus", "bob", code=1)
    assert "unknown coder 'bob'" in missing.output and "consensus" in missing.output


def test_agree_auto_shows_precision_recall_f1_in_the_table(runner, study_copy) -> None:
    from conftest import run_json

    run(runner, "-p", study_copy, "code", "auto")
    table = run(runner, "-p", study_copy, "agree", "auto", "consensus", "--unit", "segment", "--bootstrap", "0")
    header = next(line for line in table.output.splitlines() if "precision" in line)
    assert "recall" in header and "F1" in header
    data = run_json(runner, "-p", study_copy, "agree", "auto", "consensus", "--unit", "segment", "--bootstrap", "0")
    pooled = next(line for line in table.output.splitlines() if "(pooled)" in line)
    # the table's last three cells are the pooled P, R and F1 of the JSON, rounded for display
    cells = [c.strip() for c in pooled.split("│") if c.strip()]
    assert cells[-3:] == [f"{data['pooled'][k]:.3f}" for k in ("precision", "recall", "f1")]
    human = run(runner, "-p", study_copy, "agree", "coder-a", "coder-b", "--bootstrap", "0")
    assert "precision" not in human.output  # two people: neither is the reference


def test_where_with_an_unknown_value_is_an_error_not_zeros(runner, study_project) -> None:
    base = ["-p", study_project, "matrix", "split", "--code-attr", "reach", "--by", "group", "--coder", "consensus"]
    result = run(runner, *base, "--where", "mode=dirct", code=1)
    assert "'dirct' is not a value of the code attribute 'mode' (values: direct, indirect)" in result.output
    bad = run(runner, *base, "--where", "bad", code=2)
    assert "is not ATTR=VALUE" in bad.output and "internal error" not in bad.output


def test_init_where_no_folder_can_be_made_is_a_clear_error(runner) -> None:
    result = runner.invoke(app, ["init", "/proc/x/project"])
    assert result.exit_code == 1
    assert "cannot create a project there" in result.output and "internal error" not in result.output


def test_status_of_an_empty_project_says_how_to_load_a_codebook_and_leaves_no_wal(runner, tmp_path) -> None:
    folder = tmp_path / "empty"
    run(runner, "init", folder, "--lang", "fr")
    result = run(runner, "-p", folder, "status")
    assert "codebook: None" not in result.output
    assert "codebook: none loaded (qda codebook load FILE.yaml)" in result.output
    assert run(runner, "-p", folder, "status", "--format", "json").output.count('"codebook": null') == 1
    assert sorted(p.name for p in folder.iterdir()) == ["project.qda"]


def test_every_output_option_says_what_it_wrote(runner, study_project: Path, tmp_path: Path) -> None:
    report = tmp_path / "reliability.html"
    result = run(runner, "-p", study_project, "agree", "coder-a", "coder-b", "--unit", "document",
                 "--bootstrap", "0", "-o", report)
    assert f"wrote {report}" in result.output and report.exists()
    exported = tmp_path / "study.qdpx"
    result = run(runner, "-p", study_project, "export", "qdpx", "-o", exported)
    assert result.output.startswith(f"wrote {exported}") and "code_elements" not in result.output
