"""The README tour and the tutorial run as written, in a fresh folder, in order (issue 12).

Every ``bash``/``console`` block is run: in a console block, ``$ `` lines are commands and
the lines after them the sample output, which must not contradict what the command prints.
qda commands run in-process (spaCy loads once); ``cd`` and ``export`` are followed;
``source`` and ``make`` (which build a virtual environment) are not run. A sample starting
with ``error:`` or ``warning:`` shows a command that is meant to fail with exit code 1.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qda.cli import app

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {"source", "make"}
BOX = re.compile(r"[\u2500-\u257f]")  # rich's table borders


@dataclass
class Step:
    where: str  # file:line, for the failure message
    command: str
    sample: list[str]


def steps(path: Path) -> list[Step]:
    """The commands of a Markdown file's bash and console blocks, with their sample output."""
    found: list[Step] = []
    lang = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            lang = line[3:].strip() if lang is None else None
            continue
        if lang == "console":
            if line.startswith("$ "):
                found.append(Step(f"{path.name}:{number}", line[2:], []))
            elif found and line.strip():
                found[-1].sample.append(line)
        elif lang in ("bash", "sh") and line.strip() and not line.lstrip().startswith("#"):
            found.append(Step(f"{path.name}:{number}", line, []))
    return found


def normalise(text: str) -> str:
    return " ".join(BOX.sub(" ", text).split())


class Shell:
    """Just enough of a shell for the documentation: qda, cd, export, &&, globs, comments."""

    def __init__(self, folder: Path) -> None:
        self.cwd = folder
        self.env = {"QDA_PROJECT": ""}
        self.runner = CliRunner()

    def run(self, step: Step, monkeypatch: pytest.MonkeyPatch) -> None:
        words = shlex.split(step.command, comments=True)
        commands: list[list[str]] = [[]]
        for word in words:
            if word == "&&":
                commands.append([])
            else:
                commands[-1].append(word)
        output = ""
        expect_failure = bool(step.sample) and step.sample[0].startswith(("error:", "warning:"))
        for command in filter(None, commands):
            name, args = command[0], command[1:]
            if name in SKIPPED:
                continue
            if name == "cd":
                self.cwd = (self.cwd / args[0]).resolve()
            elif name == "export":
                key, value = args[0].split("=", 1)
                self.env[key] = value
            elif name == "qda":
                monkeypatch.chdir(self.cwd)
                for key, value in self.env.items():
                    monkeypatch.setenv(key, value) if value else monkeypatch.delenv(key, raising=False)
                expanded = [a for arg in args for a in (sorted(glob.glob(arg)) if glob.has_magic(arg) else [arg])]
                result = self.runner.invoke(app, expanded, prog_name="qda")
                output += result.output
                expected = 1 if expect_failure else 0
                assert result.exit_code == expected, (
                    f"{step.where}: `{step.command}` exited {result.exit_code}\n{result.output}{result.exception!r}")
            else:
                raise AssertionError(f"{step.where}: the test does not know how to run `{name}`")
        shown = normalise(output)
        for line in step.sample:
            if "..." in line or "…" in line or not normalise(line):
                continue  # an elision: rows left out of the sample
            assert normalise(line) in shown, (
                f"{step.where}: `{step.command}` printed something else than the sample line\n"
                f"  {line.strip()}\n--- printed:\n{output}")


def fresh_folder(tmp_path: Path) -> Path:
    """A folder laid out like the repository root, with nothing generated in it."""
    for name in ("codebooks", "examples"):
        os.symlink(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("page", ["README.md", "docs/tutorial.md"])
def test_the_page_runs_as_written(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = steps(ROOT / page)
    assert len(found) > 10
    shell = Shell(fresh_folder(tmp_path))
    for step in found:
        shell.run(step, monkeypatch)


def test_a_sample_that_contradicts_the_output_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shell = Shell(tmp_path)
    shell.run(Step("x.md:1", "qda init p --lang fr", ["created qda project in p (language: fr)"]), monkeypatch)
    with pytest.raises(AssertionError, match="something else than the sample"):
        shell.run(Step("x.md:2", "qda init q --lang fr", ["created qda project in q (language: en)"]), monkeypatch)
    with pytest.raises(AssertionError, match="exited 1"):
        shell.run(Step("x.md:3", "qda init p", []), monkeypatch)  # already a project
