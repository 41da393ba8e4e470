"""Shell completion of coders, codes, cases and attribute names from the project (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qda.cli import app

from conftest import snapshot


def complete(runner, *words: str) -> list[str]:
    """What bash completion offers for the last word of ``qda WORDS``."""
    line = ["qda", *words]
    result = runner.invoke(app, [], prog_name="qda", env={
        "_QDA_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(line), "COMP_CWORD": str(len(line) - 1)})
    assert result.exit_code == 0, result.output
    return [w for w in result.output.split("\n") if w]


@pytest.mark.parametrize("words, expected", [
    (("agree", "co"), ["coder-a", "coder-b", "consensus"]),
    (("matrix", "cross", "--coder", "cons"), ["consensus"]),
    (("matrix", "case", "P"), ["P1", "P2", "P3", "P4", "P5"]),
    (("matrix", "cross", "--by", "gr"), ["group"]),
    (("matrix", "split", "--code-attr", ""), ["mode", "reach"]),
    (("matrix", "split", "--where", "m"), ["mode="]),
    (("agree", "--code", "h"), ["h"]),
    (("code", "adjudicate", "x.xlsx", "--coder", "coder-"), ["coder-a", "coder-b"]),
])
def test_names_come_from_the_project(runner, study_project: Path, words, expected) -> None:
    assert complete(runner, "-p", str(study_project), *words) == expected


def test_completion_writes_nothing_and_never_fails(runner, study_project: Path, tmp_path: Path) -> None:
    before = snapshot(study_project)
    complete(runner, "-p", str(study_project), "agree", "")
    assert snapshot(study_project) == before
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "project.qda").write_bytes(b"not a database" * 100)
    assert complete(runner, "-p", str(damaged), "agree", "") == []
    assert complete(runner, "-p", str(tmp_path / "missing"), "matrix", "case", "") == []


def test_install_and_show_completion_exist(runner) -> None:
    shown = runner.invoke(app, ["--show-completion", "bash"], prog_name="qda")
    # what the command printed, should it ever fail (it failed once in a full local run, never alone)
    assert shown.exit_code == 0 and "_QDA_COMPLETE=complete_bash" in shown.output, (shown.output,
                                                                                    repr(shown.exception))
    assert "--install-completion" in runner.invoke(app, ["--help"]).output
