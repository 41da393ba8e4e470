"""Every shell block of the README and of docs/ runs as written, in order (issues 12, 18).

The README tour and the tutorial run in a fresh folder; every other page of docs/ runs in
a folder holding the example study (``out/project``, the project of ``QDA_PROJECT``:
codebook, ten transcripts, profiles, coder-a, coder-b and consensus), as the pages assume.

Every ``bash``/``sh``/``shell``/``console`` block is run: in a console block, ``$ `` lines
are commands and the lines after them the sample output, which must not contradict what
the command prints. qda commands run in-process (spaCy loads once); ``cd``, ``export`` and
``> FILE`` are followed; ``source`` and ``make`` (which build a virtual environment) are
not run. A sample starting with ``error:`` or ``warning:`` shows a command that is meant
to fail with exit code 1. A block that cannot run as written (it needs a file the page
only shows, a server, a question answered) carries ``<!-- not run: REASON -->`` on the
line before its fence; an unmarked block that fails, or a mark without a reason, fails.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qda.cli import app

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {"source", "make"}
SHELL = ("bash", "sh", "shell", "console")
NOT_RUN = re.compile(r"<!--\s*not run:(.*?)-->")
BOX = re.compile(r"[\u2500-\u257f]")  # rich's table borders


@dataclass
class Step:
    where: str  # file:line, for the failure message
    command: str
    sample: list[str]


def not_run(path: Path) -> dict[int, str]:
    """The shell blocks marked ``<!-- not run: REASON -->`` (line of the fence -> reason)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    marked: dict[int, str] = {}
    fenced = False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            if not fenced and line[3:].strip() in SHELL and number > 1:
                found = NOT_RUN.search(lines[number - 2])
                if found:
                    marked[number] = found.group(1).strip()
            fenced = not fenced
    return marked


def steps(path: Path) -> list[Step]:
    """The commands of a Markdown file's shell blocks, with their sample output (blocks
    marked not run are left out)."""
    found: list[Step] = []
    lang = None
    skipped = not_run(path)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            lang = line[3:].strip() if lang is None else None
            if number in skipped:
                lang = "not run"
            continue
        if lang == "console":
            if line.startswith("$ "):
                found.append(Step(f"{path.name}:{number}", line[2:], []))
            elif found and line.strip():
                found[-1].sample.append(line)
        elif lang in ("bash", "sh", "shell") and line.strip() and not line.lstrip().startswith("#"):
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
        target: Path | None = None
        for word, following in zip(words, [*words[1:], None], strict=True):
            if word == "&&":
                commands.append([])
            elif word == ">" and following:
                target = self.cwd / following  # the output of the line goes to a file
            elif target is None:
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
            elif name == "qda" and "serve" in args:
                raise AssertionError(f"{step.where}: `qda serve` does not return: mark the block "
                                     "'<!-- not run: REASON -->' (tests/test_web_*.py run the server)")
            elif name == "qda":
                monkeypatch.chdir(self.cwd)
                for key, value in self.env.items():
                    monkeypatch.setenv(key, value) if value else monkeypatch.delenv(key, raising=False)
                # as a shell does: a pattern that matches nothing stays as it is ("linked\s?in")
                expanded = [a for arg in args
                            for a in ((sorted(glob.glob(arg)) or [arg]) if glob.has_magic(arg) else [arg])]
                result = self.runner.invoke(app, expanded, prog_name="qda")
                output += result.output
                expected = 1 if expect_failure else 0
                assert result.exit_code == expected, (
                    f"{step.where}: `{step.command}` exited {result.exit_code}\n{result.output}{result.exception!r}")
            else:
                raise AssertionError(f"{step.where}: the test does not know how to run `{name}`")
        if target is not None:
            target.write_text(output, encoding="utf-8")
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


def shell_blocks(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines()
               if line.startswith("```") and line[3:].strip() in SHELL)


def study_folder(tmp_path: Path, study_project: Path) -> Path:
    """A folder with the examples, a copy of codebooks/ and the example study in out/project,
    whose codebook file is that copy (the pages add and merge codes: the repository's
    codebook must not change)."""
    os.symlink(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "codebooks", tmp_path / "codebooks")
    shutil.copytree(study_project, tmp_path / "out" / "project")
    result = CliRunner().invoke(app, ["-p", str(tmp_path / "out" / "project"), "codebook", "load",
                                      str(tmp_path / "codebooks" / "communication-tools.yaml")])
    assert result.exit_code == 0, result.output
    return tmp_path


DOC_PAGES = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "tutorial.md" and shell_blocks(p))


@pytest.mark.parametrize("page", DOC_PAGES)
def test_every_docs_page_runs_as_written(page: str, study_project: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "docs" / page
    reasons = not_run(path)
    assert all(reasons.values()), f"{page}: a '<!-- not run: REASON -->' mark without a reason"
    folder = study_folder(tmp_path, study_project)
    shell = Shell(folder)
    shell.env["QDA_PROJECT"] = "out/project"
    found = steps(path)
    assert found or len(reasons) == shell_blocks(path)
    for step in found:
        shell.run(step, monkeypatch)


def test_a_block_is_run_unless_marked_with_a_reason(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- not run: needs a server -->\n```bash\nqda serve\n```\n\n```bash\nqda status\n```\n"
                    "<!-- not run: -->\n```console\n$ qda undo\n```\n", encoding="utf-8")
    assert [s.command for s in steps(page)] == ["qda status"]
    assert not_run(page) == {2: "needs a server", 10: ""}
    assert shell_blocks(page) == 3
