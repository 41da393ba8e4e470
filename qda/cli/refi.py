"""REFI-QDA commands: ``qda codebook import/export FILE.qdc``, ``qda export qdpx``, ``qda import qdpx``."""

from __future__ import annotations

from pathlib import Path

import typer

from qda.cli import FormatOpt, codebook_app, export_app, import_app, opened, render
from qda.models import OutputFormat


@codebook_app.command("import")
def codebook_import(ctx: typer.Context,
                    file: Path = typer.Argument(..., help="A REFI-QDA codebook (.qdc), or a .qdpx/.qde."),
                    fmt: OutputFormat = FormatOpt) -> None:
    """Load a REFI-QDA codebook (from NVivo, ATLAS.ti, MAXQDA...) as the project's codebook."""
    with opened(ctx) as project:
        report = project.import_qdc(file)
    render(report, fmt)


@codebook_app.command("export")
def codebook_export(ctx: typer.Context, file: Path = typer.Argument(..., help="The .qdc to write."),
                    fmt: OutputFormat = FormatOpt) -> None:
    """Write the project's codebook as a REFI-QDA codebook (.qdc)."""
    with opened(ctx) as project:
        result = project.export_qdc(file)
    render(result, fmt)


@export_app.command("qdpx")
def export_qdpx(ctx: typer.Context, file: Path = typer.Argument(..., help="The .qdpx to write."),
                fmt: OutputFormat = FormatOpt) -> None:
    """Write the project as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA, QualCoder..."""
    with opened(ctx) as project:
        result = project.export_qdpx(file)
    render(result, fmt)


@import_app.command("qdpx")
def import_qdpx(ctx: typer.Context,
                file: Path = typer.Argument(..., help="A REFI-QDA project (.qdpx, or .qde with its sources)."),
                coder: str | None = typer.Option(
                    None, "--coder", "-c", help="Import every coding as this coder (default: the file's users)."),
                fmt: OutputFormat = FormatOpt) -> None:
    """Import a REFI-QDA project: everything into an empty project, or a coder's codings
    on the documents this project shares with the file."""
    with opened(ctx) as project:
        report = project.import_qdpx(file, coder=coder)
    render(report, fmt)
