"""A command-line process skips the collector's last scan; a server keeps collecting."""

from __future__ import annotations

import gc

import pytest

from qda import project
from qda.cli import base
from qda.project import _collector_paused


@pytest.fixture(autouse=True)
def restore() -> None:
    before = project.one_command, base._one_command
    yield
    project.one_command, base._one_command = before
    gc.unfreeze()


@pytest.mark.parametrize(("argv", "expected"), [(["qda", "status"], True), (["qda", "-p", "x", "report"], True),
                                                (["qda", "serve", "-p", "x"], False)])
def test_the_console_script_marks_one_command_processes_but_not_the_server(monkeypatch, argv, expected) -> None:
    seen = []
    monkeypatch.setattr(base.sys, "argv", argv)
    monkeypatch.setattr(base, "app", lambda: seen.append(base.api() and project.one_command))
    project.one_command = False
    base.main()
    assert seen == [expected]


def test_objects_of_a_paused_block_are_frozen_only_in_a_one_command_process() -> None:
    gc.unfreeze()
    project.one_command = False
    with _collector_paused():
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    project.one_command = True
    with _collector_paused():
        kept += [[i] for i in range(1000)]
    assert gc.get_freeze_count() >= 2000 and gc.isenabled()
