"""``qda suggest …``: code suggestions learned from the project's own human codings (docs/suggest.md)."""

from __future__ import annotations

import typer

from qda.cli import FormatOpt, app, complete, opened, render
from qda.models import OutputFormat

suggest_app = typer.Typer(no_args_is_help=True, help=(
    "Code suggestions learned from your coders (local, validated before they count): "
    "train, curve, run, explain, sample, validate, accept."))
app.add_typer(suggest_app, name="suggest")

CodesOpt = typer.Option([], "--code", help="Only these codes (repeatable; default: every code).",
                        autocompletion=complete("codes"))
FromOpt = typer.Option(..., "--from", help="The human coder (or consensus) to learn from.",
                       autocompletion=complete("coders"))
SeedOpt = typer.Option(1, "--seed", help="Seed of the folds and the bootstrap: same data and seed, same model.")
ModelOpt = typer.Option(None, "--model", help="The model (id, its start, or model:xxxxxx; default: the latest).")
BootstrapOpt = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the 95% intervals (0: none).")


@suggest_app.command("train")
def suggest_train(ctx: typer.Context, coder: str = FromOpt, code: list[str] = CodesOpt, seed: int = SeedOpt,
                  evaluate: bool = typer.Option(True, "--evaluate/--no-evaluate",
                                                help="Cross-validate each code (off: train only)."),
                  bootstrap: int = BootstrapOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Learn one classifier per code from a coder's codings; report cross-validated kappa, precision, recall, F1."""
    with opened(ctx) as project:
        result = project.suggest_train(coder, code or None, seed, None, evaluate, bootstrap)
    render(result, fmt)


@suggest_app.command("curve")
def suggest_curve(ctx: typer.Context, coder: str = FromOpt, code: list[str] = CodesOpt, seed: int = SeedOpt,
                  bootstrap: int = BootstrapOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Kappa per code with 25, 50, 100 and 200 positives: how many more codings each code needs."""
    with opened(ctx) as project:
        result = project.suggest_curve(coder, code or None, seed, bootstrap=bootstrap)
    render(result, fmt)


@suggest_app.command("run")
def suggest_run(ctx: typer.Context, model: str | None = ModelOpt, code: list[str] = CodesOpt,
                document: list[str] = typer.Option([], "--document", help="Only these documents (repeatable)."),
                uncoded: bool = typer.Option(False, "--uncoded",
                                             help="Only documents the model's training coder did not code."),
                fmt: OutputFormat = FormatOpt) -> None:
    """Store suggestions as codings of the machine coder model:xxxxxx (status suggested, counted only when named)."""
    with opened(ctx) as project:
        result = project.suggest_run(model, code or None, document or None, uncoded)
    render(result, fmt)


@suggest_app.command("explain")
def suggest_explain(ctx: typer.Context, coding: int = typer.Argument(..., help="The suggestion's coding id."),
                    fmt: OutputFormat = FormatOpt) -> None:
    """The terms that weighed most for a suggestion and the 3 closest passages a human coded with its code."""
    with opened(ctx) as project:
        result = project.suggest_explain(coding)
    render(result, fmt)
