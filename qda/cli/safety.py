"""Safety commands: ``qda check``, ``qda history``, ``qda undo``, ``qda backup list/restore/config``,
``qda code delete-coder``."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape

from qda.cli import Format, FormatOpt, app, code_app, err, opened, out, render
from qda.errors import ProjectError
from qda.project import Project

backup_app = typer.Typer(no_args_is_help=True, help="Snapshots of the project taken before risky writes.")
app.add_typer(backup_app, name="backup")


@app.command("check")
def check(ctx: typer.Context, fmt: Format = FormatOpt) -> None:
    """Check the project database in full (SQLite integrity check); exit 1 if it is damaged."""
    with opened(ctx) as project:
        result = project.check()
    if fmt is Format.table:
        typer.echo(f"ok: {result.database} passed the integrity check ({result.bytes:,} bytes"
                   f"{', read-only' if result.readonly else ''}); {result.snapshots} snapshot(s) in backups/")
        return
    render(result, fmt)


@app.command("history")
def history(ctx: typer.Context, fmt: Format = FormatOpt) -> None:
    """The writes that replaced or deleted codings: when, which command, codings per coder."""
    with opened(ctx) as project:
        result = project.history()
    render(result, fmt)


def _show_plan(plan, verb: str) -> None:
    err.print(f"{verb} '{escape(plan.entry.command)}'" + (f" of {plan.entry.at}" if plan.entry.at else ""))
    for line in plan.changes() or ["the coding counts are the same; other changes are undone too"]:
        err.print(f"  {escape(line)}")


@app.command("undo")
def undo(ctx: typer.Context, yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
         fmt: Format = FormatOpt) -> None:
    """Restore the state before the last write that replaced or deleted codings."""
    with opened(ctx) as project:
        plan = project.undo_plan()
        _show_plan(plan, "undo")
        if not yes and not typer.confirm("bring this state back?", err=True):
            raise typer.Exit(1)
        result = project.undo()
    if fmt is Format.table:
        out.print(f"undone: {escape(result.entry.command)} (the undo itself is in 'qda history')")
        return
    render(result, fmt)


@backup_app.command("list")
def backup_list(ctx: typer.Context, fmt: Format = FormatOpt) -> None:
    """Snapshots in backups/, oldest first, with the write each one preceded."""
    with opened(ctx) as project:
        result = project.backup_list()
    if fmt is Format.table:
        out.print(f"{escape(result.folder)}: keep {result.keep} snapshot(s), at most {result.max_mb} MB")
    render(result, fmt)


@backup_app.command("restore")
def backup_restore(ctx: typer.Context, name: str = typer.Argument(..., help="Snapshot name (see qda backup list)."),
                   yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
                   fmt: Format = FormatOpt) -> None:
    """Bring the project back to a snapshot (the current state is snapshotted first).

    Also works when the project database is damaged: the damaged file is kept beside it.
    """
    folder = ctx.obj.get("project") if ctx.obj else None
    try:
        project = Project.open(folder)
    except ProjectError as exc:
        if "damaged" not in exc.message and "cannot open" not in exc.message:
            raise
        err.print(f"the project database cannot be opened ({escape(exc.message)})")
        if not yes and not typer.confirm(f"replace it by snapshot {name} (the damaged file is kept)?", err=True):
            raise typer.Exit(1)
        result = Project.restore_damaged(folder, name)
    else:
        try:
            if not yes and not typer.confirm(f"bring the project back to snapshot {name}?", err=True):
                raise typer.Exit(1)
            result = project.restore_backup(name)
        finally:
            project.close()
    if fmt is Format.table:
        out.print(f"restored: {escape(result.entry.command)}")
        for line in result.changes():
            out.print(f"  {escape(line)}")
        return
    render(result, fmt)


@backup_app.command("config")
def backup_config(ctx: typer.Context,
                  keep: Optional[int] = typer.Option(None, "--keep", help="How many snapshots to keep."),
                  max_mb: Optional[int] = typer.Option(None, "--max-mb", help="Size cap of backups/ in MB."),
                  fmt: Format = FormatOpt) -> None:
    """Show or set how many snapshots are kept and the size cap of backups/."""
    with opened(ctx) as project:
        result = project.set_backup_policy(keep, max_mb)
    if fmt is Format.table:
        typer.echo(f"keep {result.keep} snapshot(s), at most {result.max_mb} MB in {result.folder}")
        return
    render(result, fmt)


@code_app.command("delete-coder")
def delete_coder(ctx: typer.Context, coder: str = typer.Argument(..., help="The coder to remove."),
                 yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Remove a coder and all their codings (a snapshot is taken first: 'qda undo' brings them back)."""
    with opened(ctx) as project:
        if not yes and not typer.confirm(f"delete coder '{coder}' and all their codings?", err=True):
            raise typer.Exit(1)
        deleted = project.delete_coder(coder)
    typer.echo(f"deleted coder '{coder}' and {deleted} coding(s); 'qda undo' brings them back")
