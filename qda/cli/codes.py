"""Codes born while coding: ``qda codebook add``, ``qda codebook rename``, ``qda codebook merge``.

Each changes the project's codebook and the YAML file it was loaded from, together
(see qda.coding.codes); the browser workspace adds codes through the same facade method.
"""

from __future__ import annotations

import re

import typer

from qda.cli import FormatOpt, codebook_app, complete, opened, render
from qda.models import OutputFormat

_LANG_LABEL = re.compile(r"^([a-z]{2,3}(?:-[A-Za-z]{2,4})?)=(.*)$", re.S)


def _labels(items: list[str]) -> dict[str, str]:
    """``--label TEXT`` (the codebook's first language) and ``--label en=TEXT``."""
    labels: dict[str, str] = {}
    for item in items:
        found = _LANG_LABEL.match(item)
        labels[found.group(1) if found else ""] = found.group(2) if found else item
    return labels


@codebook_app.command("add")
def codebook_add(ctx: typer.Context,
                 code: str = typer.Argument(..., help="Id of the new code (a short token, e.g. distributors)."),
                 label: list[str] = typer.Option(
                     ..., "--label", "-l",
                     help="Label in the codebook's first language; 'en=TEXT' for another language (repeatable). "
                          "A language not given takes the first label."),
                 parent: str | None = typer.Option(
                     None, "--parent", help="A code or category to put it under (default: the top level).",
                     autocompletion=complete("codes")),
                 definition: str = typer.Option("", "--definition", help="What the code means (optional)."),
                 fmt: OutputFormat = FormatOpt) -> None:
    """Add a code to the project's codebook and to its YAML file (both, or neither)."""
    with opened(ctx) as project:
        labels = _labels(label)
        if "" in labels:
            labels[project.codebook().default_language or ""] = labels.pop("")
        result = project.add_code(code, labels, parent=parent, definition=definition)
    render(result, fmt)


@codebook_app.command("rename")
def codebook_rename(ctx: typer.Context,
                    old: str = typer.Argument(..., help="The code's id now.", autocompletion=complete("codes")),
                    new: str | None = typer.Argument(None, help="Its new id (leave out to change the label only)."),
                    label: str | None = typer.Option(None, "--label", "-l", help="Its new label."),
                    lang: str | None = typer.Option(
                        None, "--lang", help="Language of --label (default: the codebook's first)."),
                    fmt: OutputFormat = FormatOpt) -> None:
    """Give a code a new id and/or label, in the project and its YAML file; its codings and memos follow."""
    with opened(ctx) as project:
        result = project.rename_code(old, new_id=new, label=label, lang=lang)
    render(result, fmt)


@codebook_app.command("merge")
def codebook_merge(ctx: typer.Context,
                   sources: list[str] = typer.Argument(..., help="Codes to merge (they leave the codebook).",
                                                       autocompletion=complete("codes")),
                   into: str = typer.Option(..., "--into", help="The code that takes their codings.",
                                            autocompletion=complete("codes")),
                   fmt: OutputFormat = FormatOpt) -> None:
    """Merge codes into one: every coder's codings move to it, duplicates become one; snapshot first (qda undo)."""
    with opened(ctx) as project:
        result = project.merge_codes(sources, into)
    render(result, fmt)
