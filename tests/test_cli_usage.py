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
