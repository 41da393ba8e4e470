"""Shared fixtures: a CLI runner and the reference-study project built once per session."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qda.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = ROOT / "examples" / "entry-postentry"
CODEBOOK = ROOT / "codebooks" / "communication-tools.yaml"
SHARED = ROOT.parent / "shared"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """In CI a test that needs ../shared fails instead of skipping when it is missing.

    CI clones the project with a copy of shared/ beside it; a test that quietly skips there
    proves nothing, so its skip is turned into a failure that says what was missing.
    """
    outcome = yield
    report = outcome.get_result()
    if not (os.environ.get("CI") and report.skipped and isinstance(report.longrepr, tuple)):
        return
    reason = str(report.longrepr[2])
    if str(SHARED) in reason or "shared" in reason.split("/") or "../shared" in reason:
        report.outcome = "failed"
        report.longrepr = f"CI needs ../shared beside the clone, but this test skipped: {reason}"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0):
    """Invoke the CLI in-process and check its exit code."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


def run_json(runner: CliRunner, *args: str):
    return json.loads(run(runner, *args, "--format", "json").stdout)


def example_project(folder: Path, transcripts: list[Path]) -> Path:
    """A new project with the example's codebook, these transcripts and the case profiles."""
    cli = CliRunner()
    run(cli, "init", folder)
    run(cli, "-p", folder, "codebook", "load", CODEBOOK)
    run(cli, "-p", folder, "import", "transcripts", *transcripts)
    run(cli, "-p", folder, "import", "cases", EXAMPLE / "profiles.csv")
    return folder


@pytest.fixture(scope="session")
def study_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project: codebook, ten transcripts, profiles and three coders' sheets."""
    folder = example_project(tmp_path_factory.mktemp("study") / "project",
                             sorted((EXAMPLE / "transcripts").glob("*.txt")))
    cli = CliRunner()
    for coder in ("coder-a", "coder-b", "consensus"):
        run(cli, "-p", folder, "code", "import", EXAMPLE / f"{coder}.xlsx", "--coder", coder)
    return folder


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """A fresh project with the communication-tools codebook and two tiny transcripts."""
    folder = tmp_path / "proj"
    cli = CliRunner()
    run(cli, "init", folder)
    run(cli, "-p", folder, "codebook", "load", CODEBOOK)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("A1.txt", "B1.txt"):
        shutil.copy(FIXTURES / name, docs / name)
    run(cli, "-p", folder, "import", "transcripts", docs / "A1.txt", docs / "B1.txt")
    return folder


def snapshot(folder: Path) -> bytes:
    """A dump of the project's database, to show that a failed command changed nothing."""
    import sqlite3

    db = sqlite3.connect(folder / "project.qda")
    try:
        return "\n".join(db.iterdump()).encode()
    finally:
        db.close()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small uncoded project from the demo: three transcripts, the codebook, the profiles."""
    return example_project(tmp_path_factory.mktemp("demo") / "project",
                           [EXAMPLE / "transcripts" / f"{n}.txt" for n in ("E1", "E2", "P1")])


@pytest.fixture
def demo_project(demo_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo template for one test."""
    folder = tmp_path / "project"
    shutil.copytree(demo_template, folder)
    return folder


def study_with_uncounted_codings(study_project: Path, folder: Path, coders: tuple[str, ...]) -> Path:
    """A copy of the example study with auto-coding's codings as well, and codings no command
    makes in it: some of each coder's negated and orphaned (they do not count) and one span of
    zero characters (a use, never a quote) -- what the fast counting paths must get right."""
    from qda.project import Project

    shutil.copytree(study_project, folder, ignore=shutil.ignore_patterns("backups"))
    run(CliRunner(), "-p", folder, "code", "auto")
    with Project.open(folder) as project, project._store.transaction():
        db = project._store.db
        for coder in coders:
            ids = [i for (i,) in db.execute("SELECT k.id FROM codings k JOIN coders o ON o.id=k.coder_id "
                                            "WHERE o.name=? ORDER BY k.id", (coder,))]
            db.executemany("UPDATE codings SET status='negated' WHERE id=?", [(i,) for i in ids[::7]])
            db.executemany("UPDATE codings SET status='orphaned' WHERE id=?", [(i,) for i in ids[3::11]])
            db.execute('UPDATE codings SET "end"=start WHERE id=?', (ids[1],))
    return folder
