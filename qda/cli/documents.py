"""``qda document delete`` and ``qda document resplit``: remove a document, or split it into
segments again (another language's rules, another unit). Both take a snapshot first."""

from __future__ import annotations

import typer

from qda.cli import FormatOpt, app, err, opened, render
from qda.models import OutputFormat, SegmentUnit

document_app = typer.Typer(no_args_is_help=True,
                           help="Delete a document, or split it into segments again (snapshot first: 'qda undo').")
app.add_typer(document_app, name="document")


@document_app.command("delete")
def delete(ctx: typer.Context, name: str = typer.Argument(..., help="The document (its name, e.g. E1)."),
           yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
           fmt: OutputFormat = FormatOpt) -> None:
    """Delete a document with its segments, codings, memos and earlier texts ('qda undo' brings it back).

    A document that has codings or memos is deleted only once confirmed (or with --yes).
    """
    with opened(ctx) as project:
        preview = project.document_deletion(name)
        if (preview.total_codings or preview.memos) and not yes:
            err.print(preview.summary())
            try:
                confirmed = typer.confirm("delete it?", default=False, err=True)
            except typer.Abort:  # no terminal to answer on (a script): same as "no"
                confirmed = False
            if not confirmed:
                err.print("nothing changed (--yes deletes without asking)")
                raise typer.Exit(1)
        result = project.delete_document(name)
    render(result, fmt)


@document_app.command("resplit")
def resplit(ctx: typer.Context, name: str = typer.Argument(..., help="The document (its name, e.g. E1)."),
            lang: str | None = typer.Option(None, "--lang",
                                            help="Split by this language's rules (see qda doctor --languages; "
                                                 "default: the document's)."),
            unit: SegmentUnit | None = typer.Option(
                None, "--unit", help="sentence, paragraph or turn (default: the project's unit)."),
            fmt: OutputFormat = FormatOpt) -> None:
    """Split a document into segments again; every coding keeps its characters, segment refs change."""
    with opened(ctx) as project:
        result = project.resplit_document(name, lang, unit)
    render(result, fmt)
