"""Every output file is written to a temporary file and renamed (issue 11): on a full disk
no writer leaves a 0-byte or partial file, and the message says the disk is full; an
output path's extension must match its format."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import qda.files

from conftest import run

C = ("--coder", "consensus")
COMMANDS = [
    ("sheet.xlsx", ("code", "sheet", "--coder", "coder-a", "-o")),
    ("adjudication.xlsx", ("code", "adjudication-sheet", "coder-a", "coder-b", "-o")),
    ("workbook.xlsx", ("export", "workbook", *C, "--by", "group")),
    ("report.html", ("report", *C, "--by", "group", "-o")),
    ("quotes.csv", ("retrieve", *C, "-o")),
    ("quotes.html", ("retrieve", *C, "-o")),
    ("quotes.xlsx", ("retrieve", *C, "-o")),
    ("figure.svg", ("figure", "meta", *C, "--by", "group", "-o")),
    ("figure.png", ("figure", "meta", *C, "--by", "group", "-o")),
    ("reliability.xlsx", ("agree", "coder-a", "coder-b", "--bootstrap", "0", "--xlsx")),
    ("reliability.html", ("agree", "coder-a", "coder-b", "--bootstrap", "0", "--html")),
    ("project.qdpx", ("export", "qdpx")),
    ("codebook.qdc", ("codebook", "export")),
]


def _args(name: str, command: tuple[str, ...], out: Path) -> list[str]:
    if command[-1].startswith("-"):  # the path follows an option
        return [*command, str(out)]
    if command[0] == "export" and command[1] == "workbook":
        return ["export", "workbook", str(out), *command[2:]]
    return [*command, str(out)]


@pytest.mark.parametrize("name, command", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_full_disk_leaves_no_file_and_says_so(runner, study_project: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, name: str,
                                              command: tuple[str, ...]) -> None:
    # Before: disk full gave 'internal error: disk is full' and left 0-byte or partial .xlsx files.
    real_replace = os.replace

    def full(src, dst):
        if Path(src).parent == tmp_path:
            assert Path(src).stat().st_size > 0  # the whole file went to the temporary one first
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(qda.files.os, "replace", full)
    out = tmp_path / name
    result = run(runner, "-p", study_project, *_args(name, command, out), code=1)
    assert "disk is full" in result.output and "internal error" not in result.output
    assert os.listdir(tmp_path) == []  # neither the target nor the temporary file


@pytest.mark.parametrize("command, wanted, code", [
    (("export", "workbook", "{out}", *C, "--by", "group"), ".xlsx", 1),
    (("code", "sheet", "--coder", "coder-a", "-o", "{out}"), ".xlsx", 1),
    (("export", "qdpx", "{out}"), ".qdpx", 1),
    (("codebook", "export", "{out}"), ".qdc", 1),
    # agree picks the report's format from -o's extension: another one is a usage error (exit 2)
    (("agree", "coder-a", "coder-b", "--bootstrap", "0", "--xlsx", "{out}"), ".xlsx", 2),
    (("agree", "coder-a", "coder-b", "--bootstrap", "0", "--html", "{out}"), ".html", 2),
])
def test_extension_must_match_the_format(runner, study_project: Path, tmp_path: Path,
                                         command: tuple[str, ...], wanted: str, code: int) -> None:
    # Before: 'export workbook out.txt' wrote an xlsx named out.txt.
    out = tmp_path / "out.txt"
    result = run(runner, "-p", study_project, *[str(out) if a == "{out}" else a for a in command], code=code)
    assert wanted in result.output and "out.txt" in result.output
    assert not out.exists()


def test_outputs_get_the_permissions_of_an_ordinary_write(tmp_path: Path) -> None:
    # The temporary file of an atomic write is private (0600); the output must not stay so.
    import stat

    from qda.files import write_atomically

    mask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.csv"
        write_atomically(fresh, lambda p: p.write_text("a,b\n", encoding="utf-8"))
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        shared = tmp_path / "shared.csv"
        shared.write_text("old", encoding="utf-8")
        shared.chmod(0o664)
        write_atomically(shared, lambda p: p.write_text("new", encoding="utf-8"))
        assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and shared.read_text(encoding="utf-8") == "new"
    finally:
        os.umask(mask)
