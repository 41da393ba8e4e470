"""The command line's machinery: the app and its sub-apps, the error boundary (:class:`QdaGroup`),
the shared options, the project a command opens, progress bars and the entry point."""

from __future__ import annotations

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
from typer.core import TyperGroup

from qda.cli.output import CSV_SAFE, err
from qda.errors import EmptyInputError, QdaError
from qda.models import OutputFormat

if TYPE_CHECKING:  # the API is imported when a command runs: `qda --help` stays fast
    from qda.project import Project


#: Set by :func:`main`: this process runs one command and ends (see ``qda.project.one_command``).
_one_command = False


def api() -> type[Project]:
    """The Project class, imported on first use (it brings the codebook, store and matrices)."""
    from qda import project

    if _one_command:
        project.one_command = True
    return project.Project

# Piped output (logs, make demo) gets a wide table instead of rich's 80-column default.


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


def debug_enabled() -> bool:
    """QDA_DEBUG=1/true/yes/on shows tracebacks; 0, false, no, off or empty do not."""
    return os.environ.get("QDA_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def main() -> None:
    """Console-script entry point: a closed pipe exits quietly, Ctrl-C exits 130."""
    global _one_command
    _one_command = "serve" not in sys.argv[1:]  # every other command ends the process
    try:
        app()
    except KeyboardInterrupt:  # pressed outside a command (e.g. while parsing)
        sys.exit(130)
