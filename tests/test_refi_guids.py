"""Identity is checked, never guessed (issue 11): a REFI-QDA file in which two sources,
codes, users or selections share a GUID is refused with the GUIDs listed. Each case is
built from our own export of the study project."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from conftest import run, snapshot


@pytest.fixture(scope="module")
def exported(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from typer.testing import CliRunner

    qdpx = tmp_path_factory.mktemp("guids") / "study.qdpx"
    run(CliRunner(), "-p", study_project, "export", "qdpx", qdpx)
    return qdpx


def _share_guid(source: Path, target: Path, element: str) -> str:
    """A copy of ``source`` where the second ``element`` takes the GUID of the first
    (everywhere, references included); returns the shared GUID."""
    with zipfile.ZipFile(source) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    xml = entries["project.qde"].decode("utf-8")
    guids = re.findall(rf'<{element}\b[^>]*?\bguid="([^"]+)"', xml)
    assert len(guids) >= 2, element
    first, second = guids[0], guids[1]
    entries["project.qde"] = xml.replace(second, first).encode("utf-8")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return first


@pytest.mark.parametrize("element, kind", [("TextSource", "sources"), ("Code", "codes"), ("User", "users"),
                                           ("PlainTextSelection", "selections")])
def test_shared_guid_is_refused_with_the_guid(runner, exported: Path, tmp_path: Path, element: str,
                                              kind: str) -> None:
    # Before: two sources sharing a GUID imported with exit 0, E1's codings filed under E2;
    # shared code GUIDs put b's codings under c; shared user GUIDs merged two coders.
    bad = tmp_path / f"shared-{element}.qdpx"
    guid = _share_guid(exported, bad, element)
    project = tmp_path / "project"
    run(runner, "init", project)
    before = snapshot(project)
    result = run(runner, "-p", project, "import", "qdpx", bad, code=1)
    assert f"2 {kind} share the GUID {guid.strip('{}').lower()}" in result.output
    assert "nothing was imported" in result.output and "internal error" not in result.output
    assert snapshot(project) == before


def test_own_export_still_imports(runner, exported: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    run(runner, "init", project)
    run(runner, "-p", project, "import", "qdpx", exported)
