"""The ``qda`` command line: parse arguments, make one API call, render the result.

QdaError and its kin are caught in one place (:class:`QdaGroup`) and become a message
on stderr with exit code 1.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, List, Optional

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from qda import __version__
from qda.errors import QdaError
from qda.project import Project

# Piped output (logs, make demo) gets a wide table instead of rich's 80-column default.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class QdaGroup(TyperGroup):
    """Root command group: the one place where QdaError is turned into a message."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Researchers type "qda matrix cross ... -p out/project": accept the project
        # option anywhere by moving it in front of the subcommand.
        moved: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg in ("-p", "--project") and i + 1 < len(args):
                moved += [arg, args[i + 1]]
                i += 2
                continue
            if arg.startswith("--project="):
                moved.append(arg)
            else:
                rest.append(arg)
            i += 1
        return super().parse_args(ctx, moved + rest)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except QdaError as exc:
            err.print(f"[bold red]error:[/bold red] {escape(exc.message)}")
            for problem in exc.problems:
                err.print(f"  {escape(str(problem))}")
            raise typer.Exit(1) from None
        # typer 0.2x ships its own copy of click, whose usage errors derive from
        # typer.TyperException, not from the click package's ClickException.
        except (typer.Exit, typer.Abort, typer.TyperException, click.exceptions.ClickException, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: say so plainly; QDA_DEBUG=1 shows the traceback
            if os.environ.get("QDA_DEBUG"):
                raise
            err.print(f"[bold red]internal error:[/bold red] {escape(type(exc).__name__)}: {escape(str(exc))}\n"
                      "  The project was not changed by the failed step. Please report this with the command "
                      "you ran (set QDA_DEBUG=1 to see the details).")
            raise typer.Exit(2) from None


app = typer.Typer(cls=QdaGroup, no_args_is_help=True, add_completion=False,
                  help="qda: qualitative data analysis — transcripts, codebooks, coders, agreement, matrices.")
import_app = typer.Typer(no_args_is_help=True, help="Import transcripts and case attributes.")
codebook_app = typer.Typer(no_args_is_help=True, help="Validate, load and show codebooks.")
code_app = typer.Typer(no_args_is_help=True, help="Coding sheets for named coders.")
matrix_app = typer.Typer(no_args_is_help=True, help="Intra-case, meta, cross-case and split matrices.")
export_app = typer.Typer(no_args_is_help=True, help="Excel synthesis workbook and other exports.")
app.add_typer(import_app, name="import")
app.add_typer(codebook_app, name="codebook")
app.add_typer(code_app, name="code")
app.add_typer(matrix_app, name="matrix")
app.add_typer(export_app, name="export")


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOpt = typer.Option(Format.table, "--format", "-f", help="Output: table, csv or json.")
CoderOpt = typer.Option(..., "--coder", "-c", help="Whose codings to use (e.g. consensus).")


@app.callback()
def root(ctx: typer.Context,
         project: Optional[Path] = typer.Option(None, "--project", "-p",
                                                help="Project folder (default: $QDA_PROJECT, else the nearest enclosing project).")) -> None:
    """qda: qualitative data analysis."""
    ctx.obj = {"project": project}


@contextmanager
def opened(ctx: typer.Context) -> Iterator[Project]:
    project = Project.open(ctx.obj.get("project") if ctx.obj else None)
    try:
        yield project
    finally:
        project.close()


def render(result: Any, fmt: Format, table: Any = None) -> None:
    """Print a result as JSON (its to_dict), CSV (its to_frame) or a terminal table."""
    if fmt is Format.json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif fmt is Format.csv:
        typer.echo(result.to_frame().to_csv(index=False), nl=False)
    else:
        out.print(table if table is not None else frame_table(result.to_frame()))


def frame_table(frame: Any, title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*("" if v is None or (isinstance(v, float) and v != v) else escape(str(v)) for v in row))
    return table


@app.command()
def version() -> None:
    """Print the version of qda."""
    typer.echo(__version__)


@app.command()
def init(folder: Path = typer.Argument(..., help="Folder of the new project."),
         language: str = typer.Option("fr", "--lang", help="Language of the transcripts (fr or en)."),
         unit: str = typer.Option("sentence", "--unit", help="What coders code: sentence, paragraph or turn.")) -> None:
    """Create a project folder holding its database."""
    project = Project.init(folder, language, unit)
    project.close()
    typer.echo(f"created qda project in {folder}")


@app.command()
def status(ctx: typer.Context, fmt: Format = FormatOpt) -> None:
    """What the project holds."""
    with opened(ctx) as project:
        result = project.status()
    if fmt is not Format.table:
        render(result, fmt)
        return
    for key, value in result.to_dict().items():
        if key == "coders":
            value = ", ".join(f"{name} ({n} codings)" for name, n in value.items()) or "none"
        typer.echo(f"{key}: {value}")


# ----------------------------------------------------------------------------- import

@import_app.command("transcripts")
def import_transcripts(ctx: typer.Context,
                       files: List[Path] = typer.Argument(..., help="Transcript files (.txt, .md, .docx)."),
                       case: Optional[str] = typer.Option(None, "--case", help="Case of every file (default: file name)."),
                       lang: Optional[str] = typer.Option(None, "--lang", help="Language (default: the project's)."),
                       replace: bool = typer.Option(False, "--replace",
                                                    help="A revised transcript: re-anchor its codings on the new text."),
                       jobs: int = typer.Option(1, "--jobs", help="Processes for the language pipeline."),
                       fmt: Format = FormatOpt) -> None:
    """Import transcripts: speaker turns, then segments (sentences by default)."""
    with opened(ctx) as project:
        report = project.import_transcripts(files, case=case, language=lang, replace=replace, jobs=jobs)
    render(report, fmt)
    for item in report.files:
        if item.notes and fmt is Format.table:
            out.print(f"{escape(item.document)}: {escape('; '.join(item.notes))}")
        if item.reanchored and fmt is Format.table:
            counts = ", ".join(f"{n} {status}" for status, n in item.reanchor_counts().items())
            out.print(f"{escape(item.document)}: codings re-anchored: {counts}")
            for move in item.reanchored:
                if move.status in ("changed", "orphaned"):
                    out.print(f"  {escape('[' + move.status + ']')} {escape(move.old_text[:70])} -> "
                              f"{escape(move.new_text[:70])}")


@import_app.command("survey")
def import_survey(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX, one row per respondent."),
                  text: List[str] = typer.Option(..., "--text", help="A column holding open answers (repeatable)."),
                  id_column: Optional[str] = typer.Option(None, "--id", help="Column with the respondent id."),
                  lang: Optional[str] = typer.Option(None, "--lang", help="Language (default: the project's)."),
                  fmt: Format = FormatOpt) -> None:
    """Import survey answers: one document per row, other columns as case attributes."""
    with opened(ctx) as project:
        report = project.import_survey(file, text, id_column, lang)
    render(report, fmt)


@import_app.command("cases")
def import_cases(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX with a 'case' column."),
                 fmt: Format = FormatOpt) -> None:
    """Import case attributes (one row per case)."""
    with opened(ctx) as project:
        result = project.import_cases(file)
    render(result, fmt)


@app.command("speakers")
def speakers(ctx: typer.Context,
             set_role: List[str] = typer.Option([], "--set-role", help="SPEAKER=ROLE, e.g. 'Intervieweur=interviewer' (repeatable)."),
             fmt: Format = FormatOpt) -> None:
    """List speakers with their role and number of segments; change roles."""
    with opened(ctx) as project:
        for item in set_role:
            if "=" not in item:
                raise typer.BadParameter(f"'{item}' is not SPEAKER=ROLE", param_hint="--set-role")
        result = project.speakers(dict(item.split("=", 1) for item in set_role))
    render(result, fmt)


# ----------------------------------------------------------------------------- codebook

def codebook_table(codebook: Any, lang: str | None) -> Table:
    table = Table(title=escape(codebook.name))
    table.add_column("code")
    table.add_column("label")
    for attr in codebook.attributes:
        table.add_column(attr.name)
    for depth, category, codes in codebook.walk():
        if category is not None:
            table.add_row("", f"{'  ' * depth}[bold]{escape(codebook.category_label(category.id, lang))}[/bold]",
                          *[""] * len(codebook.attributes))
        for code in codes:
            indent = "  " * (depth + 1 + codebook.code_depth(code.id))
            table.add_row(escape(code.id), f"{indent}{escape(code.label(lang))}",
                          *[escape(code.attributes.get(a.name, "")) for a in codebook.attributes])
    return table


class CodebookView:
    """Adapter giving a codebook the to_dict/to_frame of results."""

    def __init__(self, codebook: Any) -> None:
        self.codebook = codebook

    def to_dict(self) -> dict[str, Any]:
        from qda.codebook import codebook_to_dict
        return codebook_to_dict(self.codebook)

    def to_frame(self) -> Any:
        import pandas as pd
        cb = self.codebook
        return pd.DataFrame([{"code": c.id, "category": c.category or "", "parent": c.parent or "",
                              **{f"label_{k}": v for k, v in c.labels.items()}, **c.attributes,
                              "definition": c.definition} for c in cb.codes])


@codebook_app.command("validate")
def codebook_validate(file: Path = typer.Argument(..., help="Codebook YAML file.")) -> None:
    """Check a codebook file; report every problem with file:line."""
    codebook = Project.validate_codebook(file)
    typer.echo(f"{file}: ok — {len(codebook.codes)} codes in {len(codebook.categories)} categories, "
               f"languages {', '.join(codebook.languages)}")


@codebook_app.command("load")
def codebook_load(ctx: typer.Context, file: Path = typer.Argument(..., help="Codebook YAML file.")) -> None:
    """Load (or reload) the project's codebook."""
    with opened(ctx) as project:
        codebook = project.load_codebook(file)
    typer.echo(f"loaded codebook '{codebook.name}': {len(codebook.codes)} codes")


@codebook_app.command("show")
def codebook_show(ctx: typer.Context, lang: Optional[str] = typer.Option(None, "--lang"),
                  fmt: Format = FormatOpt) -> None:
    """Show the project's codebook."""
    with opened(ctx) as project:
        codebook = project.codebook()
    render(CodebookView(codebook), fmt, codebook_table(codebook, lang))


# ----------------------------------------------------------------------------- code

@code_app.command("sheet")
def code_sheet(ctx: typer.Context, coder: str = CoderOpt,
               output: Path = typer.Option(..., "--output", "-o", help="The .xlsx sheet to write."),
               case: Optional[str] = typer.Option(None, "--case", help="Only this case."),
               role: List[str] = typer.Option([], "--role", help="Only segments of speakers with this role (repeatable).")) -> None:
    """Write a coding sheet (one row per segment, a drop-down of codes)."""
    with opened(ctx) as project:
        rows = project.write_coding_sheet(coder, output, case, role or None)
    typer.echo(f"wrote {output}: {rows} segments for coder '{coder}'")


@code_app.command("auto")
def code_auto(ctx: typer.Context, coder: str = typer.Option("auto", "--coder", "-c", help="Name of the auto coder."),
              negation: str = typer.Option("skip", "--negation", help="Negated mentions: skip, flag or ignore."),
              fuzzy: bool = typer.Option(True, "--fuzzy/--no-fuzzy", help="Also find misspelt mentions."),
              threshold: float = typer.Option(90.0, "--threshold", help="Fuzzy score (0-100) a mention needs."),
              role: List[str] = typer.Option([], "--role", help="Only segments of speakers with this role (repeatable)."),
              fmt: Format = FormatOpt) -> None:
    """Dictionary auto-coding with the codebook's patterns (replaces that coder's codings)."""
    with opened(ctx) as project:
        result = project.auto_code(coder, negation, fuzzy, threshold, role or None)
    if fmt is Format.table:
        typer.echo(f"coder '{result.coder}': {result.codings} coded segments"
                   + (f", {result.flagged} negated mentions flagged" if result.flagged else ""))
    render(result, fmt)


@code_app.command("import")
def code_import(ctx: typer.Context, file: Path = typer.Argument(..., help="A filled coding sheet (.xlsx or .csv)."),
                coder: str = CoderOpt, fmt: Format = FormatOpt) -> None:
    """Import a coder's sheet; replaces that coder's codings on the segments the sheet lists."""
    with opened(ctx) as project:
        result = project.import_codings(file, coder)
    if fmt is Format.json:
        render(result, fmt)
    else:
        typer.echo(f"coder '{result.coder}': {result.codings} codings from {result.rows} rows "
                   f"in {len(result.documents)} documents ({result.replaced} previous codings replaced)")


# ----------------------------------------------------------------------------- matrix

def cross_table(result: Any) -> Table:
    what = "cases using each code" if result.count == "cases" else "coded segments"
    table = Table(title=f"Cross-case table — {what}, by {escape(result.by)} (coder: {escape(result.coder)})")
    table.add_column("code")
    table.add_column("label")
    for name in result.column_names():
        table.add_column(escape(name), justify="right")
    for row in result.rows:
        indent = "  " * row.depth
        if row.kind == "category":
            table.add_row("", f"{indent}[bold]{escape(row.label)}[/bold]", *[""] * (len(result.groups) + 1))
        elif row.kind == "code":
            table.add_row(escape(row.key), f"{indent}{escape(row.label)}", *[str(v) for v in row.counts],
                          str(row.total))
        else:
            cells = [f"{v} ({s * 100:.0f} %)" if s is not None else str(v)
                     for v, s in zip((*row.counts, row.total), (*row.shares, row.total_share))]
            style = "bold" if row.kind == "total" else "italic"
            table.add_row("", f"{indent}[{style}]{escape(row.label)}[/{style}]", *cells,
                          end_section=row.kind == "subtotal")
    return table


def split_table(result: Any) -> Table:
    table = Table(title=f"{escape(result.code_attr)} by {escape(result.by)} (coder: {escape(result.coder)})"
                        + (f" — codes with {', '.join(f'{k}={v}' for k, v in result.where.items())}" if result.where else ""))
    table.add_column(escape(result.code_attr))
    table.add_column(escape(result.by))
    for name in ("uses", "share", "variety"):
        table.add_column(name, justify="right")
    table.add_column("codes (count)")
    for value in result.values:
        for group, n in result.groups:
            cell = result.cells[value][group]
            share = "" if cell.share is None else f"{cell.share * 100:.0f} %"
            table.add_row(escape(value), f"{escape(group)} (n={n})", str(cell.uses), share, str(cell.variety),
                          ", ".join(f"{c} ({k})" for c, k in cell.codes))
    return table


@matrix_app.command("case")
def matrix_case(ctx: typer.Context, case: str = typer.Argument(..., help="Case id."), coder: str = CoderOpt,
                lang: Optional[str] = typer.Option(None, "--lang", help="Label language."),
                fmt: Format = FormatOpt) -> None:
    """Intra-case matrix: codes used in one case, with counts and quotes."""
    with opened(ctx) as project:
        result = project.matrix_case(case, coder, lang)
    table = Table(title=f"Case {escape(case)} (coder: {escape(coder)})", show_lines=True)
    for name in ("code", "label", "segments", "quotes"):
        table.add_column(name)
    for row in result.rows:
        quotes = "\n".join(escape(q.cited()) for q in row.quotes)
        table.add_row(escape(row.code), escape(row.label), str(row.segments), quotes)
    if result.memos:
        table.caption = "\n".join(escape(f"memo on {kind} {target}: {text}") for kind, target, text, _ in result.memos)
    render(result, fmt, table)


@matrix_app.command("cases")
def matrix_cases(ctx: typer.Context, by: str = typer.Option(..., "--by", help="Case attribute to group by."),
                 coder: str = CoderOpt, fmt: Format = FormatOpt) -> None:
    """Meta-matrix: case x code presence, cases grouped by an attribute."""
    with opened(ctx) as project:
        result = project.matrix_cases(by, coder)
    render(result, fmt)


@matrix_app.command("cross")
def matrix_cross(ctx: typer.Context, by: str = typer.Option(..., "--by", help="Case attribute: one column per value."),
                 coder: str = CoderOpt,
                 count: str = typer.Option("cases", "--count", help="cases (cases using the code) or segments."),
                 lang: Optional[str] = typer.Option(None, "--lang", help="Label language."),
                 fmt: Format = FormatOpt) -> None:
    """Cross-case table: codes under categories, subtotals with %, one column per group."""
    with opened(ctx) as project:
        result = project.matrix_cross(by, coder, count, lang)
    render(result, fmt, cross_table(result))


@matrix_app.command("split")
def matrix_split(ctx: typer.Context,
                 code_attr: str = typer.Option(..., "--code-attr", help="Code attribute (e.g. mode)."),
                 by: str = typer.Option(..., "--by", help="Case attribute to group by."),
                 coder: str = CoderOpt,
                 count: str = typer.Option("cases", "--count", help="cases or segments."),
                 where: List[str] = typer.Option([], "--where", help="Restrict codes, e.g. mode=direct (repeatable)."),
                 fmt: Format = FormatOpt) -> None:
    """Uses, share and variety per code-attribute value and group of cases."""
    conditions: dict[str, str] = {}
    for item in where:
        if "=" not in item:
            raise typer.BadParameter(f"'{item}' is not ATTR=VALUE", param_hint="--where")
        key, value = item.split("=", 1)
        conditions[key.strip()] = value.strip()
    with opened(ctx) as project:
        result = project.matrix_split(code_attr, by, coder, count, conditions)
    render(result, fmt, split_table(result))


# ----------------------------------------------------------------------------- export

@export_app.command("workbook")
def export_workbook(ctx: typer.Context, file: Path = typer.Argument(..., help="The .xlsx to write."),
                    coder: str = CoderOpt, by: str = typer.Option(..., "--by", help="Case attribute to group by."),
                    code_attr: Optional[str] = typer.Option(None, "--code-attr",
                                                            help="Code attribute of the split sheet (default: the first)."),
                    lang: Optional[str] = typer.Option(None, "--lang", help="Label language."),
                    agree: List[str] = typer.Option([], "--agree", help="Add a Reliability sheet for these coders (repeat: --agree A --agree B).")) -> None:
    """Write the Excel synthesis workbook."""
    with opened(ctx) as project:
        path = project.export_workbook(file, coder, by, code_attr, lang, agree or None)
    typer.echo(f"wrote {path}")


def main() -> None:
    """Console-script entry point."""
    app()
from qda.cli import agree as _agree  # noqa: E402,F401  (registers qda agree and adjudication)
from qda.cli import refi as _refi  # noqa: E402,F401  (registers the REFI-QDA commands)
from qda.cli import serve as _serve  # noqa: E402,F401  (registers qda serve and qda users)
