"""``qda agree`` and the adjudication commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from qda.cli import Format, FormatOpt, app, code_app, err, frame_table, opened, out
from qda.errors import AgreementError
from qda.project import Project

SHOWN = ("percent_agreement", "cohen_kappa", "krippendorff_alpha", "gwet_ac1", "brennan_prediger", "fleiss_kappa")
SHORT = {"percent_agreement": "% agree", "cohen_kappa": "kappa", "krippendorff_alpha": "alpha",
         "gwet_ac1": "AC1", "brennan_prediger": "BP", "fleiss_kappa": "Fleiss"}


def _cell(estimate: Any) -> str:
    if estimate.value is None:
        return "undef."
    text = f"{estimate.value:.3f}"
    if estimate.ci_low is not None:
        text += f" [{estimate.ci_low:.2f}, {estimate.ci_high:.2f}]"
    return text


def agreement_table(report: Any) -> Table:
    names = [n for n in SHOWN if not (n == "fleiss_kappa" and len(report.coders) == 2)
             and not (n == "cohen_kappa" and len(report.coders) > 2)]
    table = Table(title=f"Agreement of {', '.join(map(escape, report.coders))} — unit: {report.unit}")
    table.add_column("code")
    table.add_column("label")
    table.add_column("units", justify="right")
    for name in names:
        table.add_column(SHORT[name], justify="right")
    for item in (*report.codes, report.pooled):
        table.add_row(escape(item.code), escape(item.label[:40]), str(item.n_units),
                      *[_cell(item.estimates[n]) for n in names],
                      end_section=item is report.codes[-1] if report.codes else False)
    return table


@app.command("agree")
def agree_command(
    ctx: typer.Context,
    coders: list[str] | None = typer.Argument(None, help="Two or more coder names."),
    unit: str = typer.Option("document", "--unit", help="document, case, frequency, coverage, segment or overlap."),
    code: list[str] = typer.Option([], "--code", help="Only these codes (repeatable)."),
    case: list[str] = typer.Option([], "--case", help="Only these cases (repeatable)."),
    document: list[str] = typer.Option([], "--document", help="Only these documents (repeatable)."),
    role: list[str] = typer.Option([], "--role", help="Only segments of speakers with this role (repeatable)."),
    tolerance: float = typer.Option(0.0, "--tolerance", help="frequency/coverage: ratings this close count as equal."),
    overlap: float = typer.Option(0.9, "--overlap", help="overlap: share of the longer span two spans must share."),
    exclude_uncoded: bool = typer.Option(False, "--exclude-uncoded", help="Drop units no coder coded at all."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the 95% intervals (0: none)."),
    seed: int = typer.Option(12345, "--seed", help="Seed of the bootstrap."),
    table_file: Path | None = typer.Option(
        None, "--table", help="A units x coders table (CSV/XLSX) instead of the project."),
    categories: str | None = typer.Option(
        None, "--categories", help="--table: the declared categories, comma-separated."),
    disagreements: bool = typer.Option(False, "--disagreements", help="List each disagreement."),
    min_kappa: float | None = typer.Option(None, "--min-kappa", help="Exit 1 if the pooled kappa is below."),
    min_alpha: float | None = typer.Option(None, "--min-alpha", help="Exit 1 if the pooled alpha is below."),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="Also write a Reliability workbook."),
    html: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML report."),
    fmt: Format = FormatOpt,
) -> None:
    """Inter-coder agreement per code and pooled, with bootstrap intervals."""
    if table_file is not None:
        if coders:
            raise AgreementError("give either coder names or --table, not both")
        cats = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
        report = Project.agree_table(table_file, cats, bootstrap, seed)
    else:
        if not coders or len(coders) < 2:
            raise AgreementError("name at least two coders (e.g. qda agree coder-a coder-b), or use --table FILE")
        with opened(ctx) as project:
            report = project.agree(coders, unit, code or None, case or None, document or None, tolerance,
                                   overlap, exclude_uncoded, bootstrap, seed, role or None)
    if html is not None or xlsx is not None:
        from qda.export.reliability import write_reliability_html, write_reliability_xlsx
        if html is not None:
            write_reliability_html(html, report)
        if xlsx is not None:
            write_reliability_xlsx(xlsx, report)
    if fmt is Format.json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif fmt is Format.csv:
        frame = report.disagreements_frame() if disagreements else report.to_frame()
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        out.print(agreement_table(report))
        for item in (*report.codes, report.pooled):
            if item.warning:
                out.print(f"[yellow]{escape(item.code)}:[/yellow] {escape(item.warning)}")
        for line in report.conventions:
            out.print(f"[dim]· {escape(line)}[/dim]")
        if disagreements and report.disagreements:
            out.print(frame_table(report.disagreements_frame(), title=f"{len(report.disagreements)} disagreement(s)"))
    failures = report.threshold_failures(min_kappa, min_alpha)
    for failure in failures:
        err.print(f"[bold red]below threshold:[/bold red] {escape(failure)}")
    if failures:
        raise typer.Exit(1)


@code_app.command("adjudication-sheet")
def adjudication_sheet(ctx: typer.Context, coder_a: str = typer.Argument(...), coder_b: str = typer.Argument(...),
                       output: Path = typer.Option(..., "--output", "-o", help="The .xlsx to write.")) -> None:
    """Write the segments where two coders differ, for a third person to decide."""
    with opened(ctx) as project:
        rows = project.write_adjudication_sheet(coder_a, coder_b, output)
    typer.echo(f"wrote {output}: {rows} disagreement(s) between {coder_a} and {coder_b}")


@code_app.command("adjudicate")
def adjudicate_command(ctx: typer.Context, file: Path = typer.Argument(..., help="A decided adjudication sheet."),
                       as_coder: str = typer.Option(..., "--as", help="Name of the adjudicated coder, e.g. consensus."),
                       fmt: Format = FormatOpt) -> None:
    """Record the decisions as a new coder; agreed codings are carried over unchanged."""
    with opened(ctx) as project:
        result = project.adjudicate(file, as_coder)
    if fmt is Format.json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(f"coder '{result.coder}': {result.decided} decisions, {result.carried_over} agreed codings "
                   f"carried over from {result.coder_a}, {result.codings} codings in all")
