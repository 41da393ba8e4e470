"""docs/cli-reference.md is generated from the commands and must not go stale (issue 12)."""

from __future__ import annotations

import typer.main

from qda.cli import app
from qda.cli.reference import PAGE, commands, render_page


def test_the_reference_page_matches_the_commands() -> None:
    # Stale after adding or changing a command or option: run `python -m qda.cli.reference`.
    assert PAGE.read_text(encoding="utf-8") == render_page()


def test_the_reference_lists_every_command_and_option() -> None:
    page = render_page()
    for path, command, ctx in commands(typer.main.get_command(app)):
        assert f"## `{' '.join(('qda', *path))}`" in page
        for param in command.get_params(ctx):
            if param.param_type_name == "option" and not param.hidden:
                assert f"`{param.opts[0]}`" in page
    assert "--html" not in page and "`--as`" not in page  # hidden old spellings stay out
