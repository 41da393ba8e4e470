"""Progress of long steps: reported by the core through a callback, drawn by the CLI (issue 12)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from rich.console import Console

from qda.cli import ProgressBars
from qda.project import Project

from conftest import EXAMPLE, run


class Recorder:
    """A Progress that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int | None]] = []

    def __call__(self, step: str, done: int, total: int | None = None) -> None:
        self.calls.append((step, done, total))

    def steps(self) -> dict[str, list[int]]:
        seen: dict[str, list[int]] = {}
        for step, done, total in self.calls:
            if total is not None:
                seen.setdefault(step, []).append(done)
        return seen

    def finished(self, prefix: str) -> bool:
        """The step starting with ``prefix`` counted up without going back and reached its total."""
        for step, done, total in self.calls:
            if step.startswith(prefix) and total is not None and done == total:
                counts = self.steps()[step]
                return counts == sorted(counts) and counts[0] == 0
        return False


def test_import_auto_coding_and_agreement_report_progress(runner, tmp_path: Path) -> None:
    from conftest import CODEBOOK

    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", "fr")
    run(runner, "-p", folder, "codebook", "load", CODEBOOK)
    files = [shutil.copy(EXAMPLE / "transcripts" / f"{name}.txt", tmp_path) for name in ("E1", "E2", "P1")]
    recorder = Recorder()
    with Project.open(folder) as project:
        project.progress = recorder
        project.import_transcripts(files)
        assert recorder.finished("analysing 3 transcript(s)")
        assert recorder.steps()["analysing 3 transcript(s)"] == [0, 1, 2, 3]
        assert recorder.finished("reading 3 file(s)")
        project.auto_code()
        assert recorder.finished("auto-coding 3 transcript(s)")
        project.auto_code(coder="auto2", fuzzy=False)
        project.agree(["auto", "auto2"], bootstrap=20)
        assert recorder.finished("agreement per code (20 bootstrap resamples)")


def test_bars_are_drawn_only_on_a_terminal_and_not_when_quiet() -> None:
    def drawn(terminal: bool, enabled: bool) -> str:
        stream = io.StringIO()
        console = Console(file=stream, force_terminal=terminal, width=80)
        with ProgressBars(console, enabled=enabled and console.is_terminal) as bars:
            for done in range(4):
                bars("analysing 3 transcript(s)", done, 3)
        return stream.getvalue()

    assert "analysing 3 transcript(s)" in drawn(terminal=True, enabled=True)
    assert drawn(terminal=False, enabled=True) == ""
    assert drawn(terminal=True, enabled=False) == ""


def test_quiet_is_accepted_and_piped_output_has_no_bars(runner, small_project: Path) -> None:
    plain = run(runner, "-p", small_project, "status")
    quiet = run(runner, "-q", "-p", small_project, "status")
    assert plain.output == quiet.output
    assert "━" not in plain.output


def test_quiet_anywhere_on_the_line(runner, small_project: Path) -> None:
    assert run(runner, "status", "-q", "-p", small_project).output == run(runner, "-p", small_project,
                                                                             "status").output
