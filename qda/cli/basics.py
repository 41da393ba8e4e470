"""qda version, qda init, qda status."""

from __future__ import annotations

from pathlib import Path

import typer

from qda import __version__
from qda.cli.base import (
    FormatOpt,
    api,
    app,
    opened,
)
from qda.cli.output import render
from qda.models import OutputFormat, SegmentUnit
from qda.results import Message


@app.command()
def version() -> None:
    """Print the version of qda."""
    typer.echo(__version__)


@app.command()
def init(folder: Path = typer.Argument(..., help="Folder of the new project."),
         language: str | None = typer.Option(
             None, "--lang", help="Language of the transcripts: an ISO 639-1 code spaCy knows (fr, en, es, de, ar…; "
                                  "qda doctor lists them; default: detected at the first import)."),
         unit: SegmentUnit = typer.Option(SegmentUnit.SENTENCE, "--unit",
                                          help="What coders code: sentence, paragraph or turn."),
         fmt: OutputFormat = FormatOpt) -> None:
    """Create a project folder holding its database."""
    project = api().init(folder, language, unit)
    project.close()
    said = language or "detected from the first transcripts imported"
    render(Message(f"created qda project in {folder} (language: {said})",
                   {"folder": str(folder), "language": language, "unit": unit}), fmt)


@app.command()
def status(ctx: typer.Context, fmt: OutputFormat = FormatOpt) -> None:
    """What the project holds."""
    with opened(ctx) as project:
        result = project.status()
    render(result, fmt)
