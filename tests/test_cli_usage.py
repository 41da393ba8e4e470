"""Usage errors are typer's own messages with exit 2, never an 'internal error'."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from qda.cli import app


@pytest.mark.parametrize("args, expected", [
    (["matrx"], "Did you mean 'matrix'"),
    (["matrix", "crosss"], "No such command"),
    (["status", "--formt", "json"], "No such option"),
    (["status", "--format", "xml"], "Invalid value"),
])
def test_usage_errors_exit_2_with_a_usage_message(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert expected in result.output
    assert "internal error" not in result.output


def test_ctrl_c_during_an_import_exits_130_and_changes_nothing(small_project, tmp_path, monkeypatch) -> None:
    import qda.ingest.segment as segment

    from conftest import snapshot

    before = snapshot(small_project)
    new = tmp_path / "C1.txt"
    new.write_text("Intervieweur : Bonjour.\nC1 : Nous utilisons les salons.\n", encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(segment, "analyse_many", interrupted)
    monkeypatch.setattr("qda.project.analyse_many", interrupted, raising=False)
    monkeypatch.setattr("qda.ingest.plan.analyse_many", interrupted)  # where transcripts are planned
    result = CliRunner().invoke(app, ["-p", str(small_project), "import", "transcripts", str(new)])
    assert result.exit_code == 130
    assert "interrupted" in result.output
    assert snapshot(small_project) == before


def test_qda_debug_0_does_not_show_tracebacks(monkeypatch) -> None:
    from qda.cli import debug_enabled

    for value, expected in (("0", False), ("", False), ("off", False), ("1", True), ("yes", True)):
        monkeypatch.setenv("QDA_DEBUG", value)
        assert debug_enabled() is expected


def test_a_closed_pipe_exits_quietly(tmp_path) -> None:
    import subprocess
    import sys
    from pathlib import Path

    codebook = Path(__file__).resolve().parent.parent / "codebooks" / "communication-tools.yaml"
    qda = [sys.executable, "-m", "qda"]
    subprocess.run([*qda, "init", str(tmp_path / "p")], check=True, capture_output=True)
    subprocess.run([*qda, "-p", str(tmp_path / "p"), "codebook", "load", str(codebook)], check=True,
                   capture_output=True)
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before qda writes anything (as `| head` after it exits)
    try:
        writer = subprocess.run([*qda, "-p", str(tmp_path / "p"), "codebook", "show", "--format", "csv"],
                                stdout=write_end, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)
    assert writer.returncode == 0, writer.stderr
    assert "Error" not in writer.stderr and "internal error" not in writer.stderr


HEAVY = ("numpy", "pandas", "scipy", "spacy", "openpyxl", "lxml", "matplotlib")


@pytest.mark.parametrize("args", [["--help"], ["status"], ["codebook", "show"],
                                  ["matrix", "case", "A1", "--coder", "ana"]])
def test_quick_commands_do_not_import_heavy_libraries(small_project, tmp_path, args) -> None:
    """Start-up time is measured in bench/startup.py; this keeps its cause from coming back."""
    import subprocess
    import sys
    from pathlib import Path

    from conftest import run as run_cli

    sheet = tmp_path / "ana.csv"
    sheet.write_text("segment,codes\nA1#3,h\n", encoding="utf-8")
    run_cli(CliRunner(), "-p", small_project, "code", "import", sheet, "--coder", "ana")
    probe = ("import sys, runpy\n"
             "try:\n    runpy.run_module('qda', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", probe, "-p", str(small_project), *args], capture_output=True,
                          text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_serve_on_a_busy_or_foreign_address_is_one_line_with_a_hint(small_project) -> None:
    import socket

    runner = CliRunner()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        result = runner.invoke(app, ["-p", str(small_project), "serve", "--port", str(port)])
    finally:
        busy.close()
    assert result.exit_code == 1, result.output
    assert f"port {port} is already in use" in result.output and f"--port {port + 1}" in result.output
    assert "workspace on" not in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1

    result = runner.invoke(app, ["-p", str(small_project), "serve", "--port", "70000"])
    assert result.exit_code == 1 and "port 70000 is not a TCP port" in result.output
    assert len(result.output.strip().splitlines()) == 1
    from qda.errors import ServeError
    from qda.web import listen

    # a documentation-only address (RFC 5737) is on no machine: refused before anything listens
    with pytest.raises(ServeError, match=r"cannot listen on 192\.0\.2\.1:8765 .*--host 127\.0\.0\.1"):
        listen("192.0.2.1", 8765)
    with pytest.raises(ServeError, match="cannot listen on 'no such host.invalid'"):
        listen("no such host.invalid", 8765)
