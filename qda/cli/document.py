"""``qda export document``: one transcript with its codings highlighted and the codes in the margin."""

from __future__ import annotations

from pathlib import Path

import typer

from qda.cli import FormatOpt, LangOpt, OutputOpt, complete, export_app, opened, output_path, render
from qda.models import OutputFormat
from qda.results import Message


@export_app.command("document")
def export_document(ctx: typer.Context,
                    name: str = typer.Argument(..., help="The document to export (its name, as in 'qda status')."),
                    coders: list[str] = typer.Option(  # noqa: B008
                        ..., "--coder", "-c", autocompletion=complete("coders"),
                        help="Whose codings to show (repeat to overlay: --coder alice --coder bob)."),
                    output: Path | None = OutputOpt("The .html or .docx to write."),  # noqa: B008
                    lang: str | None = LangOpt,
                    fmt: OutputFormat = FormatOpt) -> None:
    """Write a coded document: the transcript with highlights and the codes in the margin
    (.html: printable page; .docx: one Word comment per coding)."""
    target = output_path(output, None)
    with opened(ctx) as project:
        path = project.export_document(name, coders, target, lang=lang)
    render(Message(f"wrote {path}", {"file": str(path), "document": name, "coders": list(dict.fromkeys(coders))}),
           fmt)
