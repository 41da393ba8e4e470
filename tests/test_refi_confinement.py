"""A REFI-QDA import reads only what it was given (issue 20 item 6 and the XML bomb of item 8).

A ``.qdpx`` is self-contained: a ``relative://`` or absolute ``plainTextPath`` once read a
file beside the download (``.ssh/id_rsa``) into a document that then travelled in every
export. A bare ``.qde`` followed symlinks in ``sources/`` anywhere. The XML inside a
``.qdpx`` is counted as it inflates, so a zip bomb is a named error, not a MemoryError.
"""

from __future__ import annotations

import os
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from qda import Project
from qda.errors import InteropError
from qda.refi import read as refi_read
from qda.refi.read import read_refi

from conftest import run, snapshot

USER = "8CA3A2C1-8B7A-41C3-A9DD-A8FB46CAA645"
CODE = "8baf0c83-56c4-4dc8-9e5b-cf6d6073bdb5"
SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- not for export"


def _source(name: str, path: str, guid: str, inline: str | None = None) -> str:
    content = f"<PlainTextContent>{inline}</PlainTextContent>" if inline is not None else ""
    return (f'<TextSource guid="{guid}" name="{name}" plainTextPath="{path}">{content}'
            f'<PlainTextSelection guid="a{guid[1:]}" startPosition="0" endPosition="4" creatingUser="{USER}" '
            f'creationDateTime="2025-06-11T16:31:16Z"><Coding guid="b{guid[1:]}" creatingUser="{USER}" '
            f'creationDateTime="2025-06-11T16:31:16Z"><CodeRef targetGUID="{CODE}"/></Coding>'
            f'</PlainTextSelection></TextSource>')


def _project(sources: str, notes: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="p" '
            f'origin="ATLAS.ti 9"><Users><User guid="{USER}" name="ana"/></Users>'
            f'<CodeBook><Codes><Code guid="{CODE}" name="Target" isCodable="true"/></Codes></CodeBook>'
            f'<Sources>{sources}</Sources>{notes}</Project>')


HERE = _source("Here", "internal://here.txt", "56a79789-d535-4fb8-bedd-a915504c0001")


def _qdpx(path: Path, qde: str, files: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", qde)
        archive.writestr("sources/here.txt", b"Here is the text.")
        for name, data in (files or {}).items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def download(tmp_path: Path) -> Path:
    """A download folder holding a private key beside the .qdpx, as in the audit."""
    folder = tmp_path / "Downloads"
    (folder / ".ssh").mkdir(parents=True)
    (folder / ".ssh" / "id_rsa").write_text(SECRET, encoding="utf-8")
    return folder


def _refused_everywhere(runner, project: Path, path: Path, *words: str) -> None:
    """The CLI names every refused path and writes nothing."""
    before = snapshot(project)
    result = run(runner, "-p", project, "import", "qdpx", path, code=1)
    assert "traceback" not in result.output.lower()
    for word in words:
        assert word in result.output, result.output
    assert snapshot(project) == before
    assert SECRET not in result.output


def test_a_qdpx_pointing_beside_itself_is_refused_naming_source_and_path(runner, small_project: Path,
                                                                           download: Path) -> None:
    qde = _project(HERE + _source("Key", "relative://.ssh/id_rsa", "56a79789-d535-4fb8-bedd-a915504c0002"))
    path = _qdpx(download / "study.qdpx", qde)
    with pytest.raises(InteropError) as info:
        read_refi(path)
    assert "outside" in info.value.message and "nothing was imported" in info.value.message
    [problem] = info.value.problems
    assert "source 'Key'" in problem.location and "relative://.ssh/id_rsa" in problem.message
    assert "--allow-outside" in problem.hint
    _refused_everywhere(runner, small_project, path, "source 'Key'", "relative://.ssh/id_rsa", "--allow-outside")


def test_absolute_paths_and_memo_paths_are_refused_all_at_once(download: Path, tmp_path: Path) -> None:
    key = download / ".ssh" / "id_rsa"
    notes = ('<Notes><Note guid="a1b2c3d4-0000-4000-8000-00000000000a" name="Read me" '
             'plainTextPath="relative:///.ssh/id_rsa"/></Notes>')
    qde = _project(HERE + _source("Abs", f"file://{key}", "56a79789-d535-4fb8-bedd-a915504c0003")
                   + _source("Bare", str(key.with_name("other")), "56a79789-d535-4fb8-bedd-a915504c0004"), notes)
    with pytest.raises(InteropError) as info:
        read_refi(_qdpx(download / "abs.qdpx", qde))
    said = {(p.location.split(": ", 1)[1], p.message) for p in info.value.problems}
    assert said == {("source 'Abs'", f"'file://{key}' is outside the .qdpx"),
                    ("source 'Bare'", f"'{key.with_name('other')}' is outside the .qdpx"),
                    ("memo 'Read me'", "'relative:///.ssh/id_rsa' is outside the .qdpx")}


def test_allow_outside_reads_them_and_says_so(runner, download: Path, tmp_path: Path) -> None:
    qde = _project(HERE + _source("Key", "relative://.ssh/id_rsa", "56a79789-d535-4fb8-bedd-a915504c0002"))
    path = _qdpx(download / "study.qdpx", qde)
    folder = tmp_path / "p"
    run(runner, "init", folder)
    result = run(runner, "-p", folder, "import", "qdpx", path, "--allow-outside")
    assert "read beside the file" in result.output
    with Project.open(folder) as project:
        assert {d.name: d.text for d in project._store.documents()}["Key"] == SECRET


def test_inline_text_is_used_without_reading_outside(download: Path) -> None:
    source = _source("Inline", "relative://.ssh/id_rsa", "56a79789-d535-4fb8-bedd-a915504c0005", inline="Kept text")
    refi = read_refi(_qdpx(download / "inline.qdpx", _project(HERE + source)))
    assert {s.name: s.text for s in refi.sources}["Inline"] == "Kept text"


def test_real_atlas_media_paths_are_references_not_reads() -> None:
    """ATLAS.ti writes relative:// paths for recordings it does not carry: they are kept as
    references (never read), so the real file still imports without --allow-outside."""
    from test_refi import REAL

    path = REAL / "qdpx" / "atlasti8.4mac_skyloom_TestProject.qdpx"
    if not path.exists():
        pytest.skip("real REFI-QDA files not available")
    refi = read_refi(path)
    assert refi.counts["sources"] > 0


# ----------------------------------------------------------------------------- a bare .qde

def _bare(folder: Path, path: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    qde = folder / "project.qde"
    qde.write_text(_project(_source("Linked", path, "56a79789-d535-4fb8-bedd-a915504c0006")), encoding="utf-8")
    return qde


def test_a_bare_qde_refuses_a_symlink_leaving_its_folder(download: Path, tmp_path: Path) -> None:
    qde = _bare(tmp_path / "export", "internal://linked.txt")
    (tmp_path / "export" / "sources").mkdir()
    os.symlink(download / ".ssh" / "id_rsa", tmp_path / "export" / "sources" / "linked.txt")
    with pytest.raises(InteropError) as info:
        read_refi(qde)
    [problem] = info.value.problems
    assert "source 'Linked'" in problem.location
    assert problem.message == "'internal://linked.txt' is a link leading out of the folder of the file"
    assert {s.name: s.text for s in read_refi(qde, allow_outside=True).sources}["Linked"] == SECRET


def test_a_bare_qde_follows_a_symlink_that_stays_inside(tmp_path: Path) -> None:
    qde = _bare(tmp_path / "export", "internal://linked.txt")
    sources = tmp_path / "export" / "sources"
    sources.mkdir()
    (tmp_path / "export" / "texts").mkdir()
    (tmp_path / "export" / "texts" / "real.txt").write_text("Text kept inside the folder.", encoding="utf-8")
    os.symlink(tmp_path / "export" / "texts" / "real.txt", sources / "linked.txt")
    assert {s.name: s.text for s in read_refi(qde).sources}["Linked"] == "Text kept inside the folder."


@pytest.mark.parametrize("path", ["relative://../secret.txt", "relative:///../secret.txt", "file:///etc/hostname"])
def test_a_bare_qde_refuses_paths_leaving_its_folder(tmp_path: Path, path: str) -> None:
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    qde = _bare(tmp_path / "export", path)
    with pytest.raises(InteropError, match="outside the file") as info:
        read_refi(qde)
    assert path in info.value.problems[0].message


# ----------------------------------------------------------------------------- size as it inflates

def _bomb(path: Path, inflated: int, entry: str = "project.qde") -> Path:
    """A valid project whose XML is padded with ``inflated`` bytes of white space: a few KB on disk."""
    head, tail = _project(HERE).split("<Sources>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(entry, "w", force_zip64=True) as stream:
            stream.write(head.encode())
            block = b" " * 1024 ** 2
            for _ in range(inflated // len(block)):
                stream.write(block)
            stream.write(("<Sources>" + tail).encode())
        archive.writestr("sources/here.txt", b"Here is the text.")
    return path


def test_xml_bomb_is_refused_as_it_inflates_not_after(runner, small_project: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refi_read, "MAX_XML_BYTES", 4 * 1024 ** 2)
    path = _bomb(tmp_path / "bomb.qdpx", 64 * 1024 ** 2)
    assert path.stat().st_size < 200_000  # small on disk, 64 MB once inflated
    tracemalloc.start()
    try:
        with pytest.raises(InteropError) as info:
            read_refi(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 ** 2, f"{peak:,} bytes held before refusing"  # never the whole 64 MB
    assert "project.qde: refused: inflates to more than 4,194,304 bytes" in info.value.message
    assert info.value.problems[0].location.endswith("bomb.qdpx:project.qde")
    _refused_everywhere(runner, small_project, path, "inflates to more than")


def test_a_source_entry_that_inflates_too_far_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refi_read, "MAX_SOURCE_BYTES", 1024 ** 2)
    qde = _project(HERE + _source("Big", "internal://big.txt", "56a79789-d535-4fb8-bedd-a915504c0007"))
    path = _qdpx(tmp_path / "big.qdpx", qde, {"sources/big.txt": b"word " * 1024 ** 2})
    with pytest.raises(InteropError, match="big.txt: refused: inflates to more than 1,048,576 bytes"):
        read_refi(path)


def test_an_xml_just_under_the_limit_still_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refi_read, "MAX_XML_BYTES", 4 * 1024 ** 2)
    refi = read_refi(_bomb(tmp_path / "fine.qdpx", 3 * 1024 ** 2))
    assert [s.text for s in refi.sources] == ["Here is the text."]


def test_codebook_import_of_a_qdpx_follows_the_same_rule(runner, small_project: Path, download: Path) -> None:
    qde = _project(HERE + _source("Key", "relative://.ssh/id_rsa", "56a79789-d535-4fb8-bedd-a915504c0002"))
    path = _qdpx(download / "codes.qdpx", qde)
    result = run(runner, "-p", small_project, "codebook", "import", path, code=1)
    assert "relative://.ssh/id_rsa" in result.output and "--allow-outside" in result.output
    run(runner, "-p", small_project, "codebook", "import", path, "--allow-outside")
