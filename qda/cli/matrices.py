"""qda matrix case / cases / cross / split and qda export workbook."""

from __future__ import annotations

from pathlib import Path

import typer

from qda.cli.base import (
    ByOpt,
    CoderOpt,
    FormatOpt,
    LangOpt,
    LegacyPath,
    OutputOpt,
    SetOpt,
    complete,
    export_app,
    matrix_app,
    opened,
    output_path,
)
from qda.cli.output import render
from qda.models import CountMode, OutputFormat
from qda.results import Message

# ----------------------------------------------------------------------------- matrix

@matrix_app.command("case")
def matrix_case(ctx: typer.Context, case: str = typer.Argument(..., help="Case id.", autocompletion=complete("cases")),
                coder: str = CoderOpt,
                lang: str | None = LangOpt, document_set: str | None = SetOpt,
                fmt: OutputFormat = FormatOpt) -> None:
    """Intra-case matrix: codes used in one case, with counts and quotes."""
    with opened(ctx, document_set) as project:
        result = project.matrix_case(case, coder, lang)
    render(result, fmt)


@matrix_app.command("cases")
def matrix_cases(ctx: typer.Context, by: str = ByOpt,
                 coder: str = CoderOpt,
                 lang: str | None = typer.Option(
                     None, "--lang", help="Add a legend of the codes' labels in this language."),
                 document_set: str | None = SetOpt,
                 fmt: OutputFormat = FormatOpt) -> None:
    """Meta-matrix: case x code presence, cases grouped by an attribute."""
    with opened(ctx, document_set) as project:
        result = project.matrix_cases(by, coder, lang)
    render(result, fmt)


@matrix_app.command("cross")
def matrix_cross(ctx: typer.Context, by: str = typer.Option(..., "--by", help="Case attribute: one column per value.",
                                                             autocompletion=complete("case_attributes")),
                 coder: str = CoderOpt,
                 count: CountMode = typer.Option(CountMode.CASES, "--count",
                                                 help="cases (cases using the code) or segments."),
                 lang: str | None = LangOpt,
                 test: bool = typer.Option(False, "--test", help="Instead: each code's presence x --by, exact tests."),
                 alpha: float = typer.Option(0.05, "--alpha", help="--test: significance level."),
                 resamples: int = typer.Option(9999, "--resamples", help="--test, 3+ groups: Monte Carlo tables."),
                 seed: int = typer.Option(12345, "--seed", help="--test: seed of the Monte Carlo test."),
                 document_set: str | None = SetOpt,
                 fmt: OutputFormat = FormatOpt) -> None:
    """Cross-case table: codes under categories, subtotals with %, one column per group."""
    if test:
        from qda.cli.analysis import show_tests
        return show_tests(ctx, by, coder, alpha, resamples, seed, fmt, document_set)
    with opened(ctx, document_set) as project:
        result = project.matrix_cross(by, coder, count=count, lang=lang)
    render(result, fmt)


@matrix_app.command("split")
def matrix_split(ctx: typer.Context,
                 code_attr: str = typer.Option(..., "--code-attr", help="Code attribute (e.g. mode).",
                                               autocompletion=complete("code_attributes")),
                 by: str = ByOpt,
                 coder: str = CoderOpt,
                 count: CountMode = typer.Option(CountMode.CASES, "--count", help="cases or segments."),
                 where: list[str] = typer.Option([], "--where", help="Restrict codes, e.g. mode=direct (repeatable).",
                                                 autocompletion=complete("code_attributes", "=")),  # noqa: B008
                 lang: str | None = typer.Option(
                     None, "--lang", help="Add a legend of the codes' labels in this language."),
                 document_set: str | None = SetOpt,
                 fmt: OutputFormat = FormatOpt) -> None:
    """Uses, share and variety per code-attribute value and group of cases."""
    conditions: dict[str, str] = {}
    for item in where:
        if "=" not in item:
            raise typer.BadParameter(f"'{item}' is not ATTR=VALUE", param_hint="--where")
        key, value = item.split("=", 1)
        conditions[key.strip()] = value.strip()
    with opened(ctx, document_set) as project:
        result = project.matrix_split(code_attr, by, coder, count=count, where=conditions, lang=lang)
    render(result, fmt)


# ----------------------------------------------------------------------------- export

@export_app.command("workbook")
def export_workbook(ctx: typer.Context, file: Path | None = LegacyPath(),  # noqa: B008
                    output: Path | None = OutputOpt("The .xlsx to write."),  # noqa: B008
                    coder: str = CoderOpt, by: str = ByOpt,
                    code_attr: str | None = typer.Option(
                        None, "--code-attr", help="Code attribute of the split sheet (default: the first).",
                        autocompletion=complete("code_attributes")),
                    lang: str | None = LangOpt,
                    agree: list[str] = typer.Option(
                        [], "--agree", autocompletion=complete("coders"),  # noqa: B008
                        help="Add a Reliability sheet for these coders (repeat: --agree A --agree B)."),
                    document_set: str | None = SetOpt,
                    fmt: OutputFormat = FormatOpt) -> None:
    """Write the Excel synthesis workbook."""
    target = output_path(output, file)
    with opened(ctx, document_set) as project:
        path = project.export_workbook(target, coder, by, code_attr=code_attr, lang=lang, agreement=agree or None)
    render(Message(f"wrote {path}", {"file": str(path), "coder": coder, "by": by}), fmt)
