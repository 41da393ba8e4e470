"""The ``qda`` command line: parse arguments, make one API call, render the result.

QdaError and its kin are caught in one place (:class:`QdaGroup`) and become a message
on stderr with exit code 1.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from qda import __version__
from qda.codebook import CodebookView
from qda.errors import QdaError
from qda.models import CountMode, NegationMode, OutputFormat, SegmentUnit
from qda.project import Project
from qda.results import Interval, Note, Result, Share, TableView

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
        ctx.meta["qda_argv"] = list(args)
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
        except typer.TyperException as exc:
            _hint_dash_file(exc, ctx.meta.get("qda_argv", []))
            raise
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise
        except KeyboardInterrupt:
            # click would turn Ctrl-C into "Aborted!" and exit 1; the shell convention is 130.
            err.print("interrupted: the project was not changed by the unfinished step")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # `qda status | head -2`: the reader went away, which is not an error of ours; keep
            # Python's flush at exit from complaining about the closed pipe.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as exc:  # a bug: say so plainly; QDA_DEBUG=1 shows the traceback
            if debug_enabled():
                raise
            err.print(f"[bold red]internal error:[/bold red] {escape(type(exc).__name__)}: {escape(str(exc))}\n"
                      "  The project was not changed by the failed step. Please report this with the command "
                      "you ran (set QDA_DEBUG=1 to see the details).")
            raise typer.Exit(2) from None


def _hint_dash_file(exc: Exception, argv: list[str]) -> None:
    """Add to "No such option: -d" the fix when the word was a file named ``-dash.txt``."""
    option = getattr(exc, "option_name", None)
    message = getattr(exc, "message", None)
    if not option or not isinstance(message, str):
        return
    words = [w for w in argv if w.startswith(option) and w != option and not w.startswith("--")]
    if words:
        exc.message = (f"{message}. If '{words[0]}' is a file name, put -- before the file names "  # type: ignore[attr-defined]
                       f"(… -- {words[0]}) or write it as ./{words[0]}")


app = typer.Typer(cls=QdaGroup, no_args_is_help=True, add_completion=False,
                  help="qda: qualitative data analysis — transcripts, codebooks, coders, agreement, matrices.")
import_app = typer.Typer(no_args_is_help=True, help="Import transcripts and case attributes.")
codebook_app = typer.Typer(no_args_is_help=True, help="Validate, load and show codebooks.")
code_app = typer.Typer(no_args_is_help=True, help="Coding sheets for named coders.")
matrix_app = typer.Typer(no_args_is_help=True, help="Intra-case, meta, cross-case, split and co-occurrence matrices.")
export_app = typer.Typer(no_args_is_help=True, help="Excel synthesis workbook and other exports.")
app.add_typer(import_app, name="import")
app.add_typer(codebook_app, name="codebook")
app.add_typer(code_app, name="code")
app.add_typer(matrix_app, name="matrix")
app.add_typer(export_app, name="export")


FormatOpt = typer.Option(OutputFormat.TABLE, "--format", "-f", help="Output: table, csv or json.")
CoderOpt = typer.Option(..., "--coder", "-c", help="Whose codings to use (e.g. consensus).")


@app.callback()
def root(ctx: typer.Context,
         project: Path | None = typer.Option(
             None, "--project", "-p",
             help="Project folder (default: $QDA_PROJECT, else the nearest enclosing project)."),
         csv_safe: bool = typer.Option(
             False, "--csv-safe",
             help="CSV output: put ' before text starting with = + - @ (a spreadsheet then never runs it).")) -> None:
    """qda: qualitative data analysis."""
    ctx.obj = {"project": project, "csv_safe": csv_safe}
    CSV_SAFE[0] = csv_safe


@contextmanager
def opened(ctx: typer.Context) -> Iterator[Project]:
    project = Project.open(ctx.obj.get("project") if ctx.obj else None)
    try:
        yield project
    finally:
        project.close()


#: Set by the root option --csv-safe for the command being run.
CSV_SAFE = [False]


def csv_text(frame: Any) -> str:
    """A frame as CSV, with leading = + - @ neutralised when --csv-safe was given."""
    if CSV_SAFE[0]:
        from qda.files import csv_safe

        frame = frame.map(csv_safe)
    return str(frame.to_csv(index=False))


def render(result: Result, fmt: OutputFormat) -> None:
    """Print any result: JSON is its to_dict(), CSV its to_frame(), a table its to_table().

    The one place where ``--format`` is interpreted, so it means the same on every command.
    """
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif fmt is OutputFormat.CSV:
        typer.echo(csv_text(result.to_frame()), nl=False)
    else:
        print_view(result.to_table())


_ROW_STYLES = {"heading": "bold", "subtotal": "italic", "total": "bold"}


def print_view(view: TableView) -> None:
    """Print a table view: its lead lines, the table, then the notes after it."""
    for note in view.lead:  # sentences, printed whole like echo
        out.print(_note(note), soft_wrap=True)
    if view.columns:
        table = Table(title=escape(view.title) if view.title else None, show_lines=view.lines)
        for column in view.columns:
            table.add_column(escape(column.name), justify="right" if column.numeric else "left")
        for row in view.rows:
            table.add_row(*(cell_text(c) for c in row.cells), style=_ROW_STYLES.get(row.kind),
                          end_section=row.section_end)
        out.print(table)
    for note in view.notes:
        out.print(_note(note))


def _note(note: Note) -> str:
    if note.kind == "warning":
        return f"[yellow]{escape(note.text)}[/yellow]"
    if note.kind == "aside":
        return f"[dim]· {escape(note.text)}[/dim]"
    return escape(note.text)


def cell_text(cell: Any) -> str:
    """A typed cell as terminal text: the display rounding of every table lives here."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return ""
    if isinstance(cell, Interval):
        if cell.value is None:
            return "undef."
        text = f"{cell.value:.3f}"
        if cell.low is not None and cell.high is not None:
            text += f" [{cell.low:.2f}, {cell.high:.2f}]"
        return text
    if isinstance(cell, Share):
        if cell.share is None:
            return "" if cell.count is None else str(cell.count)
        percent = f"{cell.share * 100:.0f} %"
        return percent if cell.count is None else f"{cell.count} ({percent})"
    if isinstance(cell, float) and not isinstance(cell, bool):
        return str(int(cell)) if cell.is_integer() else f"{cell:.3f}"
    return escape(str(cell))


@app.command()
def version() -> None:
    """Print the version of qda."""
    typer.echo(__version__)


@app.command()
def init(folder: Path = typer.Argument(..., help="Folder of the new project."),
         language: str = typer.Option("fr", "--lang", help="Language of the transcripts (fr or en)."),
         unit: SegmentUnit = typer.Option(SegmentUnit.SENTENCE, "--unit",
                                          help="What coders code: sentence, paragraph or turn.")) -> None:
    """Create a project folder holding its database."""
    project = Project.init(folder, language, unit)
    project.close()
    typer.echo(f"created qda project in {folder}")


@app.command()
def status(ctx: typer.Context, fmt: OutputFormat = FormatOpt) -> None:
    """What the project holds."""
    with opened(ctx) as project:
        result = project.status()
    render(result, fmt)


# ----------------------------------------------------------------------------- import

@import_app.command("transcripts")
def import_transcripts(ctx: typer.Context,
                       files: list[Path] = typer.Argument(..., help="Transcript files (.txt, .md, .docx)."),
                       case: str | None = typer.Option(None, "--case", help="Case of every file (default: file name)."),
                       lang: str | None = typer.Option(None, "--lang", help="Language (default: the project's)."),
                       replace: bool = typer.Option(
                           False, "--replace", help="A revised transcript: re-anchor its codings on the new text."),
                       jobs: int = typer.Option(1, "--jobs", help="Processes for the language pipeline."),
                       fmt: OutputFormat = FormatOpt) -> None:
    """Import transcripts: speaker turns, then segments (sentences by default)."""
    with opened(ctx) as project:
        report = project.import_transcripts(files, case=case, language=lang, replace=replace, jobs=jobs)
    render(report, fmt)


@import_app.command("survey")
def import_survey(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX, one row per respondent."),
                  text: list[str] = typer.Option(..., "--text", help="A column holding open answers (repeatable)."),
                  id_column: str | None = typer.Option(None, "--id", help="Column with the respondent id."),
                  lang: str | None = typer.Option(None, "--lang", help="Language (default: the project's)."),
                  fmt: OutputFormat = FormatOpt) -> None:
    """Import survey answers: one document per row, other columns as case attributes."""
    with opened(ctx) as project:
        report = project.import_survey(file, text, id_column, lang)
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


# ----------------------------------------------------------------------------- codebook

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
def codebook_show(ctx: typer.Context, lang: str | None = typer.Option(None, "--lang"),
                  fmt: OutputFormat = FormatOpt) -> None:
    """Show the project's codebook."""
    with opened(ctx) as project:
        codebook = project.codebook()
    render(CodebookView(codebook, lang), fmt)


# ----------------------------------------------------------------------------- code

@code_app.command("sheet")
def code_sheet(ctx: typer.Context, coder: str = CoderOpt,
               output: Path = typer.Option(..., "--output", "-o", help="The .xlsx sheet to write."),
               case: str | None = typer.Option(None, "--case", help="Only this case."),
               role: list[str] = typer.Option(
                   [], "--role", help="Only segments of speakers with this role (repeatable).")) -> None:
    """Write a coding sheet (one row per segment, a drop-down of codes)."""
    with opened(ctx) as project:
        rows = project.write_coding_sheet(coder, output, case, role or None)
    typer.echo(f"wrote {output}: {rows} segments for coder '{coder}'")


@code_app.command("auto")
def code_auto(ctx: typer.Context, coder: str = typer.Option("auto", "--coder", "-c", help="Name of the auto coder."),
              negation: NegationMode = typer.Option(NegationMode.SKIP, "--negation",
                                                    help="Negated mentions: skip, flag or ignore."),
              fuzzy: bool = typer.Option(True, "--fuzzy/--no-fuzzy", help="Also find misspelt mentions."),
              threshold: float = typer.Option(90.0, "--threshold", help="Fuzzy score (0-100) a mention needs."),
              role: list[str] = typer.Option(
                  [], "--role", help="Only segments of speakers with this role (repeatable)."),
              fmt: OutputFormat = FormatOpt) -> None:
    """Dictionary auto-coding with the codebook's patterns (replaces that coder's codings)."""
    with opened(ctx) as project:
        result = project.auto_code(coder, negation, fuzzy, threshold, role or None)
    render(result, fmt)


@code_app.command("import")
def code_import(ctx: typer.Context, file: Path = typer.Argument(..., help="A filled coding sheet (.xlsx or .csv)."),
                coder: str = CoderOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Import a coder's sheet; replaces that coder's codings on the segments the sheet lists."""
    with opened(ctx) as project:
        result = project.import_codings(file, coder)
    render(result, fmt)


# ----------------------------------------------------------------------------- matrix

@matrix_app.command("case")
def matrix_case(ctx: typer.Context, case: str = typer.Argument(..., help="Case id."), coder: str = CoderOpt,
                lang: str | None = typer.Option(None, "--lang", help="Label language."),
                fmt: OutputFormat = FormatOpt) -> None:
    """Intra-case matrix: codes used in one case, with counts and quotes."""
    with opened(ctx) as project:
        result = project.matrix_case(case, coder, lang)
    render(result, fmt)


@matrix_app.command("cases")
def matrix_cases(ctx: typer.Context, by: str = typer.Option(..., "--by", help="Case attribute to group by."),
                 coder: str = CoderOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Meta-matrix: case x code presence, cases grouped by an attribute."""
    with opened(ctx) as project:
        result = project.matrix_cases(by, coder)
    render(result, fmt)


@matrix_app.command("cross")
def matrix_cross(ctx: typer.Context, by: str = typer.Option(..., "--by", help="Case attribute: one column per value."),
                 coder: str = CoderOpt,
                 count: CountMode = typer.Option(CountMode.CASES, "--count",
                                                 help="cases (cases using the code) or segments."),
                 lang: str | None = typer.Option(None, "--lang", help="Label language."),
                 test: bool = typer.Option(False, "--test", help="Instead: each code's presence x --by, exact tests."),
                 alpha: float = typer.Option(0.05, "--alpha", help="--test: significance level."),
                 resamples: int = typer.Option(9999, "--resamples", help="--test, 3+ groups: Monte Carlo tables."),
                 seed: int = typer.Option(12345, "--seed", help="--test: seed of the Monte Carlo test."),
                 fmt: OutputFormat = FormatOpt) -> None:
    """Cross-case table: codes under categories, subtotals with %, one column per group."""
    if test:
        from qda.cli.analysis import show_tests
        return show_tests(ctx, by, coder, alpha, resamples, seed, fmt)
    with opened(ctx) as project:
        result = project.matrix_cross(by, coder, count, lang)
    render(result, fmt)


@matrix_app.command("split")
def matrix_split(ctx: typer.Context,
                 code_attr: str = typer.Option(..., "--code-attr", help="Code attribute (e.g. mode)."),
                 by: str = typer.Option(..., "--by", help="Case attribute to group by."),
                 coder: str = CoderOpt,
                 count: CountMode = typer.Option(CountMode.CASES, "--count", help="cases or segments."),
                 where: list[str] = typer.Option([], "--where", help="Restrict codes, e.g. mode=direct (repeatable)."),
                 fmt: OutputFormat = FormatOpt) -> None:
    """Uses, share and variety per code-attribute value and group of cases."""
    conditions: dict[str, str] = {}
    for item in where:
        if "=" not in item:
            raise typer.BadParameter(f"'{item}' is not ATTR=VALUE", param_hint="--where")
        key, value = item.split("=", 1)
        conditions[key.strip()] = value.strip()
    with opened(ctx) as project:
        result = project.matrix_split(code_attr, by, coder, count, conditions)
    render(result, fmt)


# ----------------------------------------------------------------------------- export

@export_app.command("workbook")
def export_workbook(ctx: typer.Context, file: Path = typer.Argument(..., help="The .xlsx to write."),
                    coder: str = CoderOpt, by: str = typer.Option(..., "--by", help="Case attribute to group by."),
                    code_attr: str | None = typer.Option(
                        None, "--code-attr", help="Code attribute of the split sheet (default: the first)."),
                    lang: str | None = typer.Option(None, "--lang", help="Label language."),
                    agree: list[str] = typer.Option(
                        [], "--agree",
                        help="Add a Reliability sheet for these coders (repeat: --agree A --agree B).")) -> None:
    """Write the Excel synthesis workbook."""
    with opened(ctx) as project:
        path = project.export_workbook(file, coder, by, code_attr, lang, agree or None)
    typer.echo(f"wrote {path}")


def debug_enabled() -> bool:
    """QDA_DEBUG=1/true/yes/on shows tracebacks; 0, false, no, off or empty do not."""
    return os.environ.get("QDA_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def main() -> None:
    """Console-script entry point: a closed pipe exits quietly, Ctrl-C exits 130."""
    try:
        app()
    except KeyboardInterrupt:  # pressed outside a command (e.g. while parsing)
        sys.exit(130)
from qda.cli import agree as _agree  # noqa: E402,F401  (registers qda agree and adjudication)
from qda.cli import analysis as _analysis  # noqa: E402,F401  (registers retrieve, words, search, figure, report)
from qda.cli import refi as _refi  # noqa: E402,F401  (registers the REFI-QDA commands)
from qda.cli import safety as _safety  # noqa: E402,F401  (registers check, history, undo, backup)
from qda.cli import serve as _serve  # noqa: E402,F401  (registers qda serve and qda users)
