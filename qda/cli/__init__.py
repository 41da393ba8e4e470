"""The ``qda`` command line: parse arguments, make one API call, render the result.

QdaError and its kin are caught in one place (:class:`QdaGroup`) and become a message
on stderr with exit code 1.
"""

from __future__ import annotations

import json
import math
import os
import sys
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from qda import __version__
from qda.cli.plain import LARGE_TABLE, plain_table
from qda.errors import EmptyInputError, QdaError
from qda.models import CountMode, NegationMode, OutputFormat, SegmentUnit
from qda.results import Interval, Message, Note, Result, Share, TableView

if TYPE_CHECKING:  # the API is imported when a command runs: `qda --help` stays fast
    from qda.project import Project


def api() -> type[Project]:
    """The Project class, imported on first use (it brings the codebook, store and matrices)."""
    from qda.project import Project

    return Project

# Piped output (logs, make demo) gets a wide table instead of rich's 80-column default.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True)


_METAVARS = {str: "TEXT", int: "INTEGER", float: "NUMBER", Path: "PATH"}


def readable_metavars(command: Any) -> None:
    """Give every parameter of ``command`` and its subcommands a readable type in help.

    typer 0.2x shows Python annotations (``<bool>``, ``<list[str]>``); a researcher reads
    ``TEXT``, ``PATH`` or the choices, and nothing after a flag. Metavars set by hand stay.
    """
    for sub in getattr(command, "commands", {}).values():
        readable_metavars(sub)
    helper = command.get_help_option(typer.Context(command))  # made once, then cached by the command
    for param in [*command.params, *([helper] if helper is not None else [])]:
        readable_metavar(param)


def readable_metavar(param: Any) -> None:
    """One parameter's readable type (see :func:`readable_metavars`)."""
    if param.metavar is not None:
        return
    desc = param.type_descriptor
    if getattr(param, "is_flag", False) or desc.annotation is bool:
        param.metavar = ""
    elif desc.is_choice:
        param.metavar = "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    else:
        element = (typing.get_args(desc.annotation) or (desc.annotation,))[0] if desc.is_list else desc.annotation
        param.metavar = _METAVARS.get(element, "TEXT")
    if param.param_type_name == "argument":
        # an argument's metavar is its name in help and usage; its type is a column of its own
        kind = param.metavar + ("..." if param.nargs != 1 else "")
        param.metavar = (param.name or "").upper()
        param.display_type_rich = lambda ctx, kind=kind: kind
        if param.hidden:  # an old spelling: it works, but usage lines no longer teach it
            param.get_usage_pieces = lambda ctx: []


class QdaGroup(TyperGroup):
    """Root command group: the one place where QdaError is turned into a message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        readable_metavars(self)

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:  # typer adds --install-completion and --show-completion after __init__
            readable_metavar(param)
        return params

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Researchers type "qda matrix cross ... -p out/project": accept the project
        # option (and --quiet) anywhere by moving it in front of the subcommand.
        moved: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":  # file names follow, whatever they look like
                rest += args[i:]
                break
            if arg in ("-p", "--project") and i + 1 < len(args):
                moved += [arg, args[i + 1]]
                i += 2
                continue
            if arg in ("-q", "--quiet"):  # the same for --quiet
                moved.append(arg)
                i += 1
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
            label = "[bold yellow]warning:[/bold yellow]" if isinstance(exc, EmptyInputError) else \
                "[bold red]error:[/bold red]"
            err.print(f"{label} {escape(exc.message)}")
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


app = typer.Typer(cls=QdaGroup, no_args_is_help=True, add_completion=True,
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


def complete(kind: str, suffix: str = "") -> Any:
    """A shell-completion callback offering the project's names of one kind (see Project.peek).

    It reads the project without writing and never raises: a completion that fails offers
    nothing rather than printing a traceback into the user's shell.
    """

    def names(ctx: typer.Context, incomplete: str) -> list[str]:
        try:
            if kind == "figure_kinds":  # not the project's: the figures qda draws
                from qda.export.figures import KINDS

                found = list(KINDS)
            else:
                found = api().peek(ctx.find_root().params.get("project"))[kind]
        except Exception:  # noqa: BLE001  (no project here, a damaged one...: nothing to offer)
            return []
        return [name + suffix for name in found if name.startswith(incomplete)]

    COMPLETERS[names] = (kind, suffix)
    return names


#: Each completion callback made by :func:`complete` -> (kind, suffix): what qda.completion's
#: table of the command tree records (a test rebuilds that table from the app).
COMPLETERS: dict[Any, tuple[str, str]] = {}


FormatOpt = typer.Option(OutputFormat.TABLE, "--format", "-f", help="Output: table, csv or json.")
CoderOpt = typer.Option(..., "--coder", "-c", help="Whose codings to use (e.g. consensus).",
                        autocompletion=complete("coders"))
CaseOpt = typer.Option(None, "--case", help="Only this case.", autocompletion=complete("cases"))
ByOpt = typer.Option(..., "--by", help="Case attribute to group by.", autocompletion=complete("case_attributes"))
LangOpt = typer.Option(None, "--lang", help="Language of the code labels (default: the codebook's first).")
SetOpt = typer.Option(None, "--set", help="Only the documents of this document set (qda set list).")


def OutputOpt(what: str) -> Any:  # noqa: N802  (reads as the Option it returns)
    """``-o/--output``: the one spelling of 'the file this command writes'."""
    return typer.Option(None, "--output", "-o", help=what)


def LegacyPath() -> Any:  # noqa: N802
    """The old positional spelling of ``-o FILE``, kept hidden so that scripts keep working."""
    return typer.Argument(None, hidden=True, help="Old spelling of -o/--output.")


def output_path(output: Path | None, legacy: Path | None) -> Path:
    """The file to write, given as ``-o FILE`` or (old spelling) as a positional path."""
    if output is not None and legacy is not None and output != legacy:
        raise typer.BadParameter(f"two files given ({legacy} and {output}): give one with -o",
                                 param_hint="-o/--output")
    path = output or legacy
    if path is None:
        raise typer.BadParameter("the file to write is missing (e.g. -o out.xlsx)", param_hint="-o/--output")
    return path


@app.callback()
def root(ctx: typer.Context,
         project: Path | None = typer.Option(
             None, "--project", "-p",
             help="Project folder (default: $QDA_PROJECT, else the nearest enclosing project)."),
         quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars during long steps."),
         csv_safe: bool = typer.Option(
             False, "--csv-safe",
             help="CSV output: put ' before text starting with = + - @ (a spreadsheet then never runs it)."),
         no_snapshot: bool = typer.Option(
             False, "--no-snapshot",
             help="Write even when the project is over the snapshot size cap (such a write cannot be undone).")
         ) -> None:
    """qda: qualitative data analysis."""
    ctx.obj = {"project": project, "quiet": quiet, "csv_safe": csv_safe, "no_snapshot": no_snapshot}
    CSV_SAFE[0] = csv_safe


class ProgressBars:
    """The CLI's :class:`qda.results.Progress`: rich bars on stderr, one per step.

    Drawn only on a terminal (never into a pipe, a log or a test) and not with --quiet;
    the bars are removed when the command ends, leaving its output alone.
    """

    def __init__(self, console: Console, enabled: bool) -> None:
        self.console = console
        self.enabled = enabled
        self.bars: Any = None
        self.tasks: dict[str, Any] = {}

    def __call__(self, step: str, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        if self.bars is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, transient=True)
            self.bars.start()
        if step not in self.tasks:
            self.tasks[step] = self.bars.add_task(step, total=total)
        self.bars.update(self.tasks[step], completed=done, total=total)

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.stop()


@contextmanager
def opened(ctx: typer.Context, document_set: str | None = None) -> Iterator[Project]:
    """The project of the command (``document_set``: seeing only that set's documents)."""
    project = api().open(ctx.obj.get("project") if ctx.obj else None)
    if ctx.obj and ctx.obj.get("no_snapshot"):
        project.write_without_snapshots()
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    try:
        with ProgressBars(err, enabled=err.is_terminal and not quiet) as bars, project.in_set(document_set):
            project.progress = bars
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
    if view.columns and len(view.rows) >= LARGE_TABLE:  # rich's layout: most of the time of 10,000 rows
        typer.echo(plain_table(view.title, [(c.name, c.numeric) for c in view.columns],
                               ([cell_text(c, markup=False) for c in row.cells] for row in view.rows),
                               [row.section_end for row in view.rows]))
    elif view.columns:
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


def cell_text(cell: Any, markup: bool = True) -> str:
    """A typed cell as terminal text: the display rounding of every table lives here
    (``markup``: escaped for rich; else plain, for :func:`qda.cli.plain.plain_table`)."""
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
    return escape(str(cell)) if markup else str(cell)


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
        rows = project.write_coding_sheet(coder, output, case, role or None)
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
        result = project.auto_code(coder, negation, fuzzy, threshold, role or None)
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
        result = project.matrix_cross(by, coder, count, lang)
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
        result = project.matrix_split(code_attr, by, coder, count, conditions, lang)
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
        path = project.export_workbook(target, coder, by, code_attr, lang, agree or None)
    render(Message(f"wrote {path}", {"file": str(path), "coder": coder, "by": by}), fmt)


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
from qda.cli import codes as _codes  # noqa: E402,F401  (registers codebook add, rename, merge)
from qda.cli import doctor as _doctor  # noqa: E402,F401  (registers qda doctor)
from qda.cli import document as _document  # noqa: E402,F401  (registers qda export document)
from qda.cli import documents as _documents  # noqa: E402,F401  (registers qda document delete and resplit)
from qda.cli import refi as _refi  # noqa: E402,F401  (registers the REFI-QDA commands)
from qda.cli import safety as _safety  # noqa: E402,F401  (registers check, history, undo, backup)
from qda.cli import serve as _serve  # noqa: E402,F401  (registers qda serve and qda users)
from qda.cli import sets as _sets  # noqa: E402,F401  (registers qda set add/list)
from qda.cli import suggest as _suggest  # noqa: E402,F401  (registers qda suggest ...)
