"""One vocabulary across commands: -o/--output, --coder, --format, --lang, readable help (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main

from qda.cli import app

from conftest import CODEBOOK, run, run_json


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group of the CLI with its words, the root first."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, (*path, name))


def commands() -> list[tuple[tuple[str, ...], Any]]:
    return list(walk(typer.main.get_command(app)))


def test_every_parameter_of_every_command_has_a_help_line() -> None:
    missing = [f"qda {' '.join(path)} {param.name}" for path, command in commands()
               for param in command.params if not param.hidden and not (param.help or "").strip()]
    assert missing == []
    assert len(commands()) > 25  # the walk reaches the subcommands


@pytest.mark.parametrize("path", [p for p, _ in commands()], ids=lambda p: " ".join(p) or "qda")
def test_help_shows_readable_types(runner, path) -> None:
    result = run(runner, *path, "--help")
    for python_type in ("<bool>", "<list[", "<str>", "<int>", "<float>", "<Path>", "<path>"):
        assert python_type not in result.output


def test_commands_that_write_a_file_take_o(runner, study_project, tmp_path) -> None:
    p = ["-p", study_project]
    run(runner, *p, "export", "workbook", "-o", tmp_path / "new.xlsx", "--coder", "consensus", "--by", "group")
    run(runner, *p, "codebook", "export", "-o", tmp_path / "new.qdc")
    run(runner, *p, "export", "qdpx", "-o", tmp_path / "new.qdpx")
    run(runner, *p, "agree", "coder-a", "coder-b", "--bootstrap", "0", "-o", tmp_path / "r.html", "-o",
        tmp_path / "r.xlsx")
    for name in ("new.xlsx", "new.qdc", "new.qdpx", "r.html", "r.xlsx"):
        assert (tmp_path / name).stat().st_size > 0, name
    wrong = run(runner, *p, "agree", "coder-a", "coder-b", "--bootstrap", "0", "-o", tmp_path / "r.pdf", code=2)
    assert ".html or .xlsx" in " ".join(wrong.output.split())
    none = run(runner, *p, "export", "workbook", "--coder", "consensus", "--by", "group", code=2)
    assert "the file to write is missing" in " ".join(none.output.split())


def test_old_spellings_still_work_but_are_hidden(runner, study_project, tmp_path) -> None:
    p = ["-p", study_project]
    run(runner, *p, "export", "workbook", tmp_path / "old.xlsx", "--coder", "consensus", "--by", "group")
    run(runner, *p, "codebook", "export", tmp_path / "old.qdc")
    run(runner, *p, "agree", "coder-a", "coder-b", "--bootstrap", "0", "--html", tmp_path / "old.html",
        "--xlsx", tmp_path / "old-r.xlsx")
    for name in ("old.xlsx", "old.qdc", "old.html", "old-r.xlsx"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "--html" not in run(runner, "agree", "--help").output
    assert "--as " not in run(runner, "code", "adjudicate", "--help").output


def test_adjudicate_takes_coder_and_the_old_as(runner, study_project, tmp_path) -> None:
    import shutil

    from conftest import EXAMPLE

    folder = tmp_path / "p"
    shutil.copytree(study_project, folder)
    sheet = EXAMPLE / "adjudication.xlsx"
    new = run_json(runner, "-p", folder, "code", "adjudicate", sheet, "--coder", "settled")
    old = run_json(runner, "-p", folder, "code", "adjudicate", sheet, "--as", "settled-too")
    assert new["coder"] == "settled" and old["coder"] == "settled-too"
    assert {k: v for k, v in new.items() if k != "coder"} == {k: v for k, v in old.items() if k != "coder"}
    run(runner, "-p", folder, "code", "adjudicate", sheet, code=2)


def test_format_json_on_commands_that_report(runner, study_project, tmp_path) -> None:
    checked = run_json(runner, "codebook", "validate", CODEBOOK)
    assert checked["codes"] == 25 and checked["categories"] == 5 and checked["languages"] == ["fr", "en"]
    sheet = run_json(runner, "-p", study_project, "code", "sheet", "--coder", "x", "--case", "E1",
                     "-o", tmp_path / "x.xlsx")
    assert sheet == {"file": str(tmp_path / "x.xlsx"), "coder": "x", "segments": 74}
    book = run_json(runner, "-p", study_project, "export", "workbook", "-o", tmp_path / "b.xlsx",
                    "--coder", "consensus", "--by", "group")
    assert book["file"] == str(tmp_path / "b.xlsx")
    csv = run(runner, "codebook", "validate", CODEBOOK, "--format", "csv").stdout
    assert csv.splitlines()[0] == "file,name,codes,categories,languages"


def test_lang_on_every_matrix_command(runner, study_project) -> None:
    for path, command in commands():
        if path[:1] == ("matrix",) and len(path) == 2:
            assert any("--lang" in p.opts for p in command.params), path
    p = ["-p", study_project]
    meta = run(runner, *p, "matrix", "cases", "--by", "group", "--coder", "consensus", "--lang", "en")
    assert "h: Trade fairs" in meta.output
    split = run_json(runner, *p, "matrix", "split", "--code-attr", "mode", "--by", "group", "--coder",
                     "consensus", "--lang", "en")
    assert split["labels"]["h"] == "Trade fairs"
    plain = run_json(runner, *p, "matrix", "cases", "--by", "group", "--coder", "consensus")
    assert "labels" not in plain  # unchanged without --lang
    assert json.loads(json.dumps(plain)) == plain
