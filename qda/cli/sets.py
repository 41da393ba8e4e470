"""``qda set add NAME DOC...`` and ``qda set list``: named sets of documents."""

from __future__ import annotations

import typer

from qda.cli import FormatOpt, app, opened, render
from qda.models import OutputFormat

set_app = typer.Typer(no_args_is_help=True, help="Document sets: named groups of documents (REFI-QDA Sets).")
app.add_typer(set_app, name="set")


@set_app.command("add")
def set_add(ctx: typer.Context, name: str = typer.Argument(..., help="The set's name (created if new)."),
            documents: list[str] = typer.Argument(..., help="Documents to put in it."),
            fmt: OutputFormat = FormatOpt) -> None:
    """Put documents in a set (created if new), then list every set."""
    with opened(ctx) as project:
        result = project.add_to_set(name, documents)
    render(result, fmt)


@set_app.command("list")
def set_list(ctx: typer.Context, fmt: OutputFormat = FormatOpt) -> None:
    """List the document sets and their documents."""
    with opened(ctx) as project:
        result = project.document_sets()
    render(result, fmt)
