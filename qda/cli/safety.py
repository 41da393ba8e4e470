"""Safety commands: ``qda check``, ``qda history``, ``qda undo``, ``qda backup list/restore/config``,
``qda code delete-coder``."""

from __future__ import annotations

import typer

from qda.cli import FormatOpt, api, app, code_app, err, opened, print_view, render
from qda.errors import ProjectError
from qda.models import OutputFormat
from qda.results import Message

backup_app = typer.Typer(no_args_is_help=True, help="Snapshots of the project taken before risky writes.")
app.add_typer(backup_app, name="backup")


@app.command("check")
def check(ctx: typer.Context, fmt: OutputFormat = FormatOpt) -> None:
    """Check the project database in full (SQLite integrity check); exit 1 if it is damaged."""
    with opened(ctx) as project:
        result = project.check()
    render(result, fmt)


@app.command("history")
def history(ctx: typer.Context, fmt: OutputFormat = FormatOpt) -> None:
    """The writes that replaced, edited or deleted data: when, which command, codings per coder
    (edits in the browser: one line per user's session)."""
    with opened(ctx) as project:
        result = project.history()
    render(result, fmt)


def _confirm(question: str, yes: bool) -> None:
    if not yes and not typer.confirm(question, err=True):
        err.print("nothing changed")
        raise typer.Exit(1)


@app.command("undo")
def undo(ctx: typer.Context, yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
         include_others: bool = typer.Option(
             False, "--include-others",
             help="Also take back the other writes the snapshot does not hold (another user's page edits, "
                  "a write not in the history); without it such an undo asks, or with --yes is refused."),
         fmt: OutputFormat = FormatOpt) -> None:
    """Restore the state before the last write that replaced, edited or deleted data (says what first)."""
    with opened(ctx) as project:
        plan = project.undo_plan()
        if not yes:
            err.print("undo:")
            print_view(plan.to_table())
        if plan.warnings and not include_others and not yes:
            _confirm("this also takes back the other changes above; bring this state back?", False)
            include_others = True
        else:
            _confirm("bring this state back?", yes)
        result = project.undo(include_others=include_others)
    render(result, fmt)


@backup_app.command("list")
def backup_list(ctx: typer.Context, fmt: OutputFormat = FormatOpt) -> None:
    """Snapshots in backups/, oldest first, with the write each one preceded."""
    with opened(ctx) as project:
        result = project.backup_list()
    render(result, fmt)


@backup_app.command("restore")
def backup_restore(ctx: typer.Context, name: str = typer.Argument(..., help="Snapshot name (see qda backup list)."),
                   yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
                   fmt: OutputFormat = FormatOpt) -> None:
    """Bring the project back to a snapshot (the current state is snapshotted first).

    Also works when the project database is damaged: the damaged file is kept beside it.
    """
    folder = ctx.obj.get("project") if ctx.obj else None
    try:
        project = api().open(folder)
    except ProjectError as exc:
        if "damaged" not in exc.message and "cannot open" not in exc.message:
            raise
        err.print(f"the project database cannot be opened: {exc.message}", markup=False)
        _confirm(f"replace it by snapshot {name} (the damaged file is kept)?", yes)
        result = api().restore_damaged(folder, name)
    else:
        try:
            _confirm(f"bring the project back to snapshot {name}?", yes)
            result = project.restore_backup(name)
        finally:
            project.close()
    render(result, fmt)


@backup_app.command("config")
def backup_config(ctx: typer.Context,
                  keep: int | None = typer.Option(None, "--keep", help="How many snapshots to keep."),
                  max_mb: int | None = typer.Option(None, "--max-mb", help="Size cap of backups/ in MB."),
                  yes: bool = typer.Option(False, "--yes", "-y",
                                           help="Delete the snapshots the new limits leave out without asking."),
                  fmt: OutputFormat = FormatOpt) -> None:
    """Show or set how many snapshots are kept and the size cap of backups/ (asks before deleting any)."""
    with opened(ctx) as project:
        doomed = project.backup_policy_deletes(keep, max_mb)
        if doomed and not yes:
            err.print(f"these limits delete {len(doomed)} snapshot(s):", markup=False)
            for name in doomed:
                err.print(f"  {name}", markup=False)
            _confirm("delete them?", False)
        result = project.set_backup_policy(keep, max_mb, confirmed=True)
    render(result, fmt)


@code_app.command("delete-coder")
def delete_coder(ctx: typer.Context, coder: str = typer.Argument(..., help="The coder to remove."),
                 yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
                 fmt: OutputFormat = FormatOpt) -> None:
    """Remove a coder and all their codings (a snapshot is taken first: 'qda undo' brings them back)."""
    with opened(ctx) as project:
        _confirm(f"delete coder '{coder}' and all their codings?", yes)
        deleted = project.delete_coder(coder)
    render(Message(f"deleted coder '{coder}' and {deleted} coding(s); 'qda undo' brings them back",
                   {"coder": coder, "deleted_codings": deleted}), fmt)
