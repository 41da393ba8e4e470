"""qda codebook validate / load / show and qda code sheet / auto / import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from qda.cli.base import (
    CaseOpt,
    CoderOpt,
    FormatOpt,
    LangOpt,
    OutputOpt,
    api,
    code_app,
    codebook_app,
    complete,
    opened,
    output_path,
)
from qda.cli.output import render
from qda.models import NegationMode, OutputFormat
from qda.results import Message

# ----------------------------------------------------------------------------- codebook

def _codebook_data(file: Path, codebook: Any) -> dict[str, Any]:
    return {"file": str(file), "name": codebook.name, "codes": len(codebook.codes),
            "categories": len(codebook.categories), "languages": list(codebook.languages)}


@codebook_app.command("validate")
def codebook_validate(file: Path = typer.Argument(..., help="Codebook YAML file."),
                      fmt: OutputFormat = FormatOpt) -> None:
    """Check a codebook file; report every problem with file:line."""
    codebook = api().validate_codebook(file)
    render(Message(f"{file}: ok — {len(codebook.codes)} codes in {len(codebook.categories)} categories, "
                   f"languages {', '.join(codebook.languages)}", _codebook_data(file, codebook)), fmt)


@codebook_app.command("load")
def codebook_load(ctx: typer.Context, file: Path = typer.Argument(..., help="Codebook YAML file."),
                  fmt: OutputFormat = FormatOpt) -> None:
    """Load (or reload) the project's codebook."""
    with opened(ctx) as project:
        codebook = project.load_codebook(file)
    render(Message(f"loaded codebook '{codebook.name}': {len(codebook.codes)} codes",
                   _codebook_data(file, codebook)), fmt)


@codebook_app.command("show")
def codebook_show(ctx: typer.Context, lang: str | None = LangOpt,
                  fmt: OutputFormat = FormatOpt) -> None:
    """Show the project's codebook."""
    with opened(ctx) as project:
        codebook = project.codebook()
    from qda.codebook import CodebookView

    render(CodebookView(codebook, lang), fmt)


# ----------------------------------------------------------------------------- code

@code_app.command("sheet")
def code_sheet(ctx: typer.Context, coder: str = CoderOpt,
               output: Path | None = OutputOpt("The .xlsx sheet to write."),  # noqa: B008
               case: str | None = CaseOpt,
               role: list[str] = typer.Option(
                   [], "--role", help="Only segments of speakers with this role (repeatable)."),
               fmt: OutputFormat = FormatOpt) -> None:
    """Write a coding sheet (one row per segment, a drop-down of codes)."""
    output = output_path(output, None)
    with opened(ctx) as project:
        rows = project.write_coding_sheet(coder, output, case=case, roles=role or None)
    render(Message(f"wrote {output}: {rows} segments for coder '{coder}'",
                   {"file": str(output), "coder": coder, "segments": rows}), fmt)


@code_app.command("auto")
def code_auto(ctx: typer.Context, coder: str = typer.Option("auto", "--coder", "-c", help="Name of the auto coder.",
                                                          autocompletion=complete("coders")),
              negation: NegationMode = typer.Option(NegationMode.SKIP, "--negation",
                                                    help="Negated mentions: skip, flag or ignore."),
              fuzzy: bool = typer.Option(True, "--fuzzy/--no-fuzzy", help="Also find misspelt mentions."),
              threshold: float = typer.Option(90.0, "--threshold", help="Fuzzy score (0-100) a mention needs."),
              role: list[str] = typer.Option(
                  [], "--role", help="Only segments of speakers with this role (repeatable)."),
              fmt: OutputFormat = FormatOpt) -> None:
    """Dictionary auto-coding with the codebook's patterns (replaces that coder's codings)."""
    with opened(ctx) as project:
        result = project.auto_code(coder=coder, negation=negation, fuzzy=fuzzy, fuzzy_threshold=threshold,
                                   roles=role or None)
    render(result, fmt)


@code_app.command("import")
def code_import(ctx: typer.Context, file: Path = typer.Argument(..., help="A filled coding sheet (.xlsx or .csv)."),
                coder: str = CoderOpt,
                allow_empty: bool = typer.Option(
                    False, "--allow-empty",
                    help="Import a sheet with no code filled in (clears the coder's codings on its segments)."),
                fmt: OutputFormat = FormatOpt) -> None:
    """Import a coder's sheet; replaces that coder's codings on the segments the sheet lists."""
    with opened(ctx) as project:
        result = project.import_codings(file, coder, allow_empty)
    render(result, fmt)
