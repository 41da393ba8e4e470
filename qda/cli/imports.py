"""qda import transcripts / survey / cases, and qda speakers."""

from __future__ import annotations

from pathlib import Path

import typer

from qda.cli.base import (
    FormatOpt,
    app,
    import_app,
    opened,
)
from qda.cli.output import render
from qda.models import OutputFormat

# ----------------------------------------------------------------------------- import

@import_app.command("transcripts")
def import_transcripts(ctx: typer.Context,
                       files: list[Path] = typer.Argument(..., help="Transcript files (.txt, .md, .docx)."),
                       case: str | None = typer.Option(None, "--case", help="Case of every file (default: file name)."),
                       lang: str | None = typer.Option(
                           None, "--lang", help="Language of these files (default: each file's, detected; "
                                                "the project's when unsure)."),
                       replace: bool = typer.Option(
                           False, "--replace", help="A revised transcript: re-anchor its codings on the new text."),
                       jobs: int = typer.Option(1, "--jobs", help="Processes for the language pipeline."),
                       fast: bool = typer.Option(
                           False, "--fast", help="Rule-based sentences and lookup lemmas even in French "
                                                 "(faster; see docs/languages.md)."),
                       fmt: OutputFormat = FormatOpt) -> None:
    """Import transcripts: speaker turns, then segments (sentences by default)."""
    with opened(ctx) as project:
        report = project.import_transcripts(files, case=case, language=lang, replace=replace, jobs=jobs, fast=fast)
    render(report, fmt)


@import_app.command("survey")
def import_survey(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX, one row per respondent."),
                  text: list[str] = typer.Option(..., "--text", help="A column holding open answers (repeatable)."),
                  id_column: str | None = typer.Option(None, "--id", help="Column with the respondent id."),
                  lang: str | None = typer.Option(None, "--lang", help="Language (default: the project's)."),
                  fmt: OutputFormat = FormatOpt) -> None:
    """Import survey answers: one document per row, other columns as case attributes."""
    with opened(ctx) as project:
        report = project.import_survey(file, text, id_column=id_column, language=lang)
    render(report, fmt)


@import_app.command("cases")
def import_cases(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX with a 'case' column."),
                 fmt: OutputFormat = FormatOpt) -> None:
    """Import case attributes (one row per case)."""
    with opened(ctx) as project:
        result = project.import_cases(file)
    render(result, fmt)


@app.command("speakers")
def speakers(ctx: typer.Context,
             set_role: list[str] = typer.Option(
                 [], "--set-role", help="SPEAKER=ROLE, e.g. 'Intervieweur=interviewer' (repeatable)."),
             fmt: OutputFormat = FormatOpt) -> None:
    """List speakers with their role and number of segments; change roles."""
    with opened(ctx) as project:
        for item in set_role:
            if "=" not in item:
                raise typer.BadParameter(f"'{item}' is not SPEAKER=ROLE", param_hint="--set-role")
        result = project.speakers(dict(item.split("=", 1) for item in set_role))
    render(result, fmt)
