"""``qda suggest …``: code suggestions learned from the project's own human codings (docs/suggest.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
ParamOpt = typer.Option([], "--param", metavar="KEY=VALUE",
                        help="A training setting (repeatable), e.g. C=2, max_negatives=40000, chars=false, "
                             "threshold=kappa: the list is in docs/suggest.md (the model id hashes them).")


def _params(items: list[str]) -> dict[str, Any] | None:
    """The ``--param`` words as the suggester's parameters (None: the defaults)."""
    if not items:
        return None
    from qda.suggest.settings import parse_params  # numpy and scipy: only when settings are given

    return parse_params(items)


@suggest_app.command("train")
def suggest_train(ctx: typer.Context, coder: str = FromOpt, code: list[str] = CodesOpt, seed: int = SeedOpt,
                  evaluate: bool = typer.Option(True, "--evaluate/--no-evaluate",
                                                help="Cross-validate each code (off: train only)."),
                  bootstrap: int = BootstrapOpt, param: list[str] = ParamOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Learn one classifier per code from a coder's codings; report cross-validated kappa, precision, recall, F1."""
    params = _params(param)  # checked before the project is opened
    with opened(ctx) as project:
        result = project.suggest_train(coder, codes=code or None, seed=seed, params=params, evaluate=evaluate,
                                       bootstrap=bootstrap)
    render(result, fmt)


@suggest_app.command("curve")
def suggest_curve(ctx: typer.Context, coder: str = FromOpt, code: list[str] = CodesOpt, seed: int = SeedOpt,
                  bootstrap: int = BootstrapOpt, param: list[str] = ParamOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Kappa per code with 25, 50, 100 and 200 positives: how many more codings each code needs."""
    params = _params(param)
    with opened(ctx) as project:
        result = project.suggest_curve(coder, codes=code or None, seed=seed, bootstrap=bootstrap, params=params)
    render(result, fmt)


@suggest_app.command("run")
def suggest_run(ctx: typer.Context, model: str | None = ModelOpt, code: list[str] = CodesOpt,
                document: list[str] = typer.Option([], "--document", help="Only these documents (repeatable)."),
                uncoded: bool = typer.Option(False, "--uncoded",
                                             help="Only documents the model's training coder did not code."),
                fmt: OutputFormat = FormatOpt) -> None:
    """Store suggestions as codings of the machine coder model:xxxxxx (status suggested, counted only when named)."""
    with opened(ctx) as project:
        result = project.suggest_run(model=model, codes=code or None, documents=document or None, uncoded=uncoded)
    render(result, fmt)


@suggest_app.command("explain")
def suggest_explain(ctx: typer.Context, coding: int = typer.Argument(..., help="The suggestion's coding id."),
                    fmt: OutputFormat = FormatOpt) -> None:
    """The terms that weighed most for a suggestion and the 3 closest passages a human coded with its code."""
    with opened(ctx) as project:
        result = project.suggest_explain(coding)
    render(result, fmt)


SampleOpt = typer.Option(None, "--sample", help="The validation sample's number (default: the model's latest).")
MinKappaOpt = typer.Option(0.6, "--min-kappa", help="The gate: lower 95% bound of kappa a code needs for bulk accept.")


@suggest_app.command("sample")
def suggest_sample(ctx: typer.Context, size: int = typer.Option(..., "--size", help="Segments to draw."),
                   coder: str = typer.Option(..., "--coder", help="Who codes the sample blind (a new coder name)."),
                   model: str | None = ModelOpt, code: list[str] = CodesOpt, seed: int = SeedOpt,
                   sheet: Path | None = typer.Option(None, "--sheet", help="Also write them as a blind coding sheet "
                                                     "(.xlsx) to fill in and import with qda code import."),
                   fmt: OutputFormat = FormatOpt) -> None:
    """Draw segments the model never trained on, stratified by score, for a human to code blind."""
    with opened(ctx) as project:
        result = project.suggest_sample(size, coder, model=model, seed=seed, codes=code or None, sheet=sheet)
    render(result, fmt)


@suggest_app.command("validate")
def suggest_validate(ctx: typer.Context, model: str | None = ModelOpt, sample: int | None = SampleOpt,
                     coder: str | None = typer.Option(None, "--coder", help="The human (default: the sample's coder)."),
                     min_kappa: float = MinKappaOpt, bootstrap: int = BootstrapOpt,
                     fmt: OutputFormat = FormatOpt) -> None:
    """Per code, the model against the blind human sample: kappa with its interval, and whether it passes the gate."""
    with opened(ctx) as project:
        result = project.suggest_validate(model=model, sample=sample, coder=coder, min_kappa=min_kappa,
                                          bootstrap=bootstrap)
    render(result, fmt)


@suggest_app.command("accept")
def suggest_accept(ctx: typer.Context, code: str = typer.Option(..., "--code", help="The code to accept.",
                                                                 autocompletion=complete("codes")),
                   reviewer: str | None = typer.Option(None, "--reviewer", help="Whose codings they become "
                                                       "(default: the sample's coder)."),
                   above: float | None = typer.Option(None, "--above", help="Only suggestions scoring at least this."),
                   model: str | None = ModelOpt, sample: int | None = SampleOpt, min_kappa: float = MinKappaOpt,
                   fmt: OutputFormat = FormatOpt) -> None:
    """Accept a code's suggestions in bulk, only if it passed the gate (else refused: review them one by one)."""
    with opened(ctx) as project:
        result = project.suggest_accept(code, model=model, reviewer=reviewer, above=above, min_kappa=min_kappa,
                                        sample=sample)
    render(result, fmt)


@suggest_app.command("bias")
def suggest_bias(ctx: typer.Context, by: str = typer.Option(..., "--by", help="Case attribute to compare groups by.",
                                                            autocompletion=complete("case_attributes")),
                 model: str | None = ModelOpt, sample: int | None = SampleOpt,
                 fmt: OutputFormat = FormatOpt) -> None:
    """Does the model err more often in some cases? Fisher's exact test per code on the sample, Holm-corrected."""
    with opened(ctx) as project:
        result = project.suggest_bias(by, model=model, sample=sample)
    render(result, fmt)


@suggest_app.command("provenance")
def suggest_provenance(ctx: typer.Context,
                       coders: list[str] = typer.Argument(..., help="The coders whose codings to trace.",
                                                          autocompletion=complete("coders")),
                       fmt: OutputFormat = FormatOpt) -> None:
    """Per code: the share of a coder's codings that came from suggestions, the model, its validated kappa."""
    with opened(ctx) as project:
        result = project.suggest_provenance(coders)
    render(result, fmt)
