"""Exchange commands: ``qda codebook import/export FILE.qdc``, ``qda export qdpx``, ``qda import qdpx``,
``qda import taguette``, ``qda export taguette-codebook``."""

from __future__ import annotations

from pathlib import Path

import typer

from qda.cli import (
    FormatOpt,
    LegacyPath,
    OutputOpt,
    SetOpt,
    codebook_app,
    export_app,
    import_app,
    opened,
    output_path,
    render,
)
from qda.models import OutputFormat

AllowOutsideOpt = typer.Option(
    False, "--allow-outside",
    help="Also read files the REFI-QDA file points at outside itself (relative:// or absolute paths, "
         "links out of a .qde's folder). Refused by default: a .qdpx should carry its sources.")


@codebook_app.command("import")
def codebook_import(ctx: typer.Context,
                    file: Path = typer.Argument(..., help="A REFI-QDA codebook (.qdc), or a .qdpx/.qde."),
                    allow_outside: bool = AllowOutsideOpt,
                    fmt: OutputFormat = FormatOpt) -> None:
    """Load a REFI-QDA codebook (from NVivo, ATLAS.ti, MAXQDA...) as the project's codebook."""
    with opened(ctx) as project:
        report = project.import_qdc(file, allow_outside=allow_outside)
    render(report, fmt)


@codebook_app.command("export")
def codebook_export(ctx: typer.Context, file: Path | None = LegacyPath(),
                    output: Path | None = OutputOpt("The .qdc to write."),
                    fmt: OutputFormat = FormatOpt) -> None:
    """Write the project's codebook as a REFI-QDA codebook (.qdc)."""
    with opened(ctx) as project:
        result = project.export_qdc(output_path(output, file))
    render(result, fmt)


@export_app.command("qdpx")
def export_qdpx(ctx: typer.Context, file: Path | None = LegacyPath(),
                output: Path | None = OutputOpt("The .qdpx to write."),
                fmt: OutputFormat = FormatOpt,
                document_set: str | None = SetOpt) -> None:
    """Write the project as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA, QualCoder...
    (``--set``: only that set's documents, with their cases, codings and memos)."""
    with opened(ctx, document_set) as project:
        result = project.export_qdpx(output_path(output, file))
    render(result, fmt)


@import_app.command("qdpx")
def import_qdpx(ctx: typer.Context,
                file: Path = typer.Argument(..., help="A REFI-QDA project (.qdpx, or .qde with its sources)."),
                coder: str | None = typer.Option(
                    None, "--coder", "-c", help="Import every coding as this coder (default: the file's users)."),
                allow_outside: bool = AllowOutsideOpt,
                fmt: OutputFormat = FormatOpt) -> None:
    """Import a REFI-QDA project: everything into an empty project, or a coder's codings
    on the documents this project shares with the file."""
    with opened(ctx) as project:
        report = project.import_qdpx(file, coder=coder, allow_outside=allow_outside)
    render(report, fmt)


@import_app.command("taguette")
def import_taguette(ctx: typer.Context,
                    file: Path = typer.Argument(..., help="Taguette's highlights export (.csv or .xlsx)."),
                    coder: str = typer.Option(..., "--coder", "-c", help="Whose highlights these are."),
                    fmt: OutputFormat = FormatOpt) -> None:
    """Import Taguette highlights as a coder's codings: each highlight is placed on the text of
    the document of the same name (exact, normalised, then fuzzy; never guessed), tags become codes."""
    with opened(ctx) as project:
        result = project.import_taguette(file, coder)
    render(result, fmt)


@export_app.command("taguette-codebook")
def export_taguette_codebook(ctx: typer.Context, file: Path | None = LegacyPath(),
                             output: Path | None = OutputOpt("The .csv to write."),
                             fmt: OutputFormat = FormatOpt) -> None:
    """Write the codebook as a CSV that Taguette's "Import codebook" reads (tag, description)."""
    with opened(ctx) as project:
        result = project.export_taguette_codebook(output_path(output, file))
    render(result, fmt)
