"""``qda agree`` and the adjudication commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from qda.cli import FormatOpt, OutputOpt, SetOpt, api, app, code_app, complete, err, opened, output_path, render
from qda.errors import AgreementError
from qda.models import AgreementUnit, OutputFormat
from qda.results import Message


@app.command("agree")
def agree_command(
    ctx: typer.Context,
    coders: list[str] | None = typer.Argument(None, help="Two or more coder names.", autocompletion=complete("coders")),
    unit: AgreementUnit = typer.Option(AgreementUnit.DOCUMENT, "--unit",
                                       help="document, case, frequency, coverage, segment or span "
                                            "(unitizing alpha on the characters; old name: overlap)."),
    code: list[str] = typer.Option([], "--code", help="Only these codes (repeatable).",
                                   autocompletion=complete("codes")),
    case: list[str] = typer.Option([], "--case", help="Only these cases (repeatable).",
                                   autocompletion=complete("cases")),
    document: list[str] = typer.Option([], "--document", help="Only these documents (repeatable)."),
    role: list[str] = typer.Option([], "--role", help="Only segments of speakers with this role (repeatable)."),
    tolerance: float = typer.Option(0.0, "--tolerance", help="frequency/coverage: ratings this close count as equal."),
    overlap: float = typer.Option(0.9, "--overlap", help="span: share of the longer span two spans share to match."),
    exclude_uncoded: bool = typer.Option(False, "--exclude-uncoded", help="Drop units no coder coded at all."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the 95% intervals (0: none)."),
    seed: int = typer.Option(12345, "--seed", help="Seed of the bootstrap."),
    table_file: Path | None = typer.Option(
        None, "--table", help="A units x coders table (CSV/XLSX) instead of the project."),
    categories: str | None = typer.Option(
        None, "--categories", help="--table: the declared categories, comma-separated."),
    disagreements: bool = typer.Option(False, "--disagreements", help="List each disagreement."),
    min_kappa: float | None = typer.Option(None, "--min-kappa", help="Exit 1 if the pooled kappa is below."),
    min_alpha: float | None = typer.Option(None, "--min-alpha",
                                           help="Exit 1 if the pooled alpha (unitizing alpha for span) is below."),
    output: list[Path] = typer.Option(
        [], "--output", "-o",
        help="Also write the report: .html (self-contained page) or .xlsx (Reliability workbook); repeatable."),
    xlsx: Path | None = typer.Option(None, "--xlsx", hidden=True, help="Old spelling of -o FILE.xlsx."),
    html: Path | None = typer.Option(None, "--html", hidden=True, help="Old spelling of -o FILE.html."),
    document_set: str | None = SetOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Inter-coder agreement per code and pooled, with bootstrap intervals."""
    coverage: dict[str, tuple[int, int]] | None = None  # a --table has no documents to cover
    provenance: list[str] = []
    if table_file is not None:
        if coders:
            raise AgreementError("give either coder names or --table, not both")
        if document_set is not None:
            raise AgreementError("--set chooses documents of the project; a --table has none (filter its rows instead)")
        cats = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
        report = api().agree_table(table_file, categories=cats, bootstrap=bootstrap, seed=seed)
    else:
        if not coders or len(coders) < 2:
            raise AgreementError("name at least two coders (e.g. qda agree coder-a coder-b), or use --table FILE")
        with opened(ctx, document_set) as project:
            report = project.agree(coders, unit=unit, codes=code or None, cases=case or None,
                                   documents=document or None, tolerance=tolerance,
                                   overlap=overlap, exclude_uncoded=exclude_uncoded, bootstrap=bootstrap, seed=seed,
                                   roles=role or None)
            # the written reports' coverage line only: it reads every coding again (0.2 s at 1,000 interviews)
            coverage = project.coverage(coders) if output or html or xlsx else None
            # which codings machine suggestions made, for the written report (none: no section)
            provenance = project.suggest_provenance(coders).sentences() if output or html else []
    targets = [*output, *(p for p in (html, xlsx) if p is not None)]
    for target in targets:
        if target.suffix.lower() not in (".html", ".htm", ".xlsx"):
            raise typer.BadParameter(f"{target}: the report is written as .html or .xlsx", param_hint="-o/--output")
    if targets:
        from qda.export.reliability import write_reliability_html, write_reliability_xlsx
        for target in targets:
            if target.suffix.lower() == ".xlsx":
                write_reliability_xlsx(target, report, coverage)
            else:
                write_reliability_html(target, report, coverage=coverage, provenance=provenance)
            err.print(f"wrote {target}", highlight=False)  # stderr: a --format json report stays pure JSON
    # --disagreements: the list follows the table, and is the CSV; JSON holds it anyway.
    if not (disagreements and fmt is OutputFormat.CSV):
        render(report, fmt)
    if disagreements and (fmt is OutputFormat.CSV or fmt is OutputFormat.TABLE and report.disagreements):
        render(report.disagreement_list(), fmt)
    failures = report.threshold_failures(min_kappa, min_alpha)
    for failure in failures:
        err.print(f"[bold red]below threshold:[/bold red] {escape(failure)}")
    if failures:
        raise typer.Exit(1)


@code_app.command("adjudication-sheet")
def adjudication_sheet(ctx: typer.Context,
                       coder_a: str = typer.Argument(..., help="First coder (column A).",
                                                     autocompletion=complete("coders")),
                       coder_b: str = typer.Argument(..., help="Second coder (column B).",
                                                     autocompletion=complete("coders")),
                       output: Path | None = OutputOpt("The .xlsx to write."),
                       fmt: OutputFormat = FormatOpt) -> None:
    """Write the regions of text where two coders' codings differ, for a third person to decide."""
    output = output_path(output, None)
    with opened(ctx) as project:
        rows = project.write_adjudication_sheet(coder_a, coder_b, output)
    render(Message(f"wrote {output}: {rows} region(s) where {coder_a} and {coder_b} differ",
                   {"file": str(output), "coders": [coder_a, coder_b], "disagreements": rows}), fmt)


@code_app.command("adjudicate")
def adjudicate_command(ctx: typer.Context, file: Path = typer.Argument(..., help="A decided adjudication sheet."),
                       coder: str | None = typer.Option(
                           None, "--coder", "-c", help="Name of the adjudicated coder, e.g. consensus.",
                           autocompletion=complete("coders")),
                       as_coder: str | None = typer.Option(None, "--as", hidden=True, help="Old spelling of --coder."),
                       replace: bool = typer.Option(
                           False, "--replace",
                           help="Replace the codings the coder already has (refused without it; a snapshot is "
                                "taken first: qda undo brings them back)."),
                       fmt: OutputFormat = FormatOpt) -> None:
    """Record the decisions as a coder; the codings both coders agree on are carried over."""
    if coder and as_coder and coder != as_coder:
        raise typer.BadParameter(f"two names given ({coder} and {as_coder})", param_hint="--coder")
    name = coder or as_coder
    if not name:
        raise typer.BadParameter("name the adjudicated coder, e.g. --coder consensus", param_hint="--coder")
    with opened(ctx) as project:
        result = project.adjudicate(file, name, replace=replace)
    render(result, fmt)
