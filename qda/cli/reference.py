"""The CLI reference page (docs/cli-reference.md), generated from the commands themselves.

    python -m qda.cli.reference            # rewrite docs/cli-reference.md
    python -m qda.cli.reference --check    # exit 1 if the page is stale (what the tests do)

Every command registered on ``qda`` is listed, with its help, usage and options, so a new
command or option appears here by running the first line again.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import typer
import typer.main

from qda.cli import app

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli-reference.md"
HEADER = """# Command-line reference

Every `qda` command with its options, generated from the commands' own help by
`python -m qda.cli.reference` (do not edit by hand: a test fails when this page and the
commands differ). The guides in this folder explain when to use each one.

Global options (`-p/--project`, `-q/--quiet`) may be written anywhere on the line.
"""


def commands(command: Any, path: tuple[str, ...] = (),
             parent: Any = None) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Every command and group with its words and its click context, the root first."""
    ctx = typer.Context(command, info_name=path[-1] if path else "qda", parent=parent)
    yield path, command, ctx
    for name in sorted(getattr(command, "commands", {})):
        sub = command.commands[name]
        if not getattr(sub, "hidden", False):
            yield from commands(sub, (*path, name), ctx)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(param: Any) -> str:
    value = param.default
    if value is None or value == [] or value == () or param.required or getattr(param, "is_flag", False) \
            and value is False or callable(value):
        return ""
    if isinstance(value, Enum):
        value = value.value
    return f"`{value}`"


def section(path: tuple[str, ...], command: Any, ctx: Any) -> str:
    name = " ".join(("qda", *path))
    lines = [f"## `{name}`", ""]
    if command.help:
        lines += [command.help.strip(), ""]
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines += ["```", f"{name} {usage}".rstrip(), "```", ""]
    params = [p for p in command.get_params(ctx) if not p.hidden]
    if params:
        lines += ["| argument or option | value | default | what it does |", "|---|---|---|---|"]
        for p in params:
            names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts]) if p.param_type_name == "option" \
                else f"`{p.metavar or (p.name or '').upper()}`"
            value = p.display_type_rich(ctx) if p.param_type_name == "argument" else (p.metavar or "")
            required = " (required)" if p.required else ""
            lines.append(f"| {names}{required} | {_cell(value or '')} | {_default(p)} | {_cell(p.help or '')} |")
        lines.append("")
    if getattr(command, "commands", None):
        lines += ["Commands: " + ", ".join(f"`{name} {sub}`" for sub in sorted(command.commands)
                                           if not getattr(command.commands[sub], "hidden", False)), ""]
    return "\n".join(lines)


def render_page() -> str:
    """The whole page, as the commands registered now describe themselves."""
    root = typer.main.get_command(app)
    return HEADER + "\n" + "\n".join(section(*item) for item in commands(root))


SAFETY = PAGE.parent / "safety.md"
RULES_BEGIN = "<!-- status-rules: generated from qda.models.STATUS_RULES by python -m qda.cli.reference -->"
RULES_END = "<!-- status-rules: end -->"


def status_rules_table() -> str:
    """The counting rule (``qda.models.STATUS_RULES``) as a Markdown table, for docs/safety.md."""
    from qda.models import status_rule_rows

    lines = ["| status | counts in matrices, agreement, reports | in coding and adjudication sheets "
             "| exported (REFI-QDA) | compared for adjudication |", "|---|---|---|---|---|"]
    lines += [f"| `{status}` | {counts} | {sheets} | {exported} | {adjudicated} |"
              for status, counts, sheets, exported, adjudicated in status_rule_rows()]
    return "\n".join(lines)


def with_status_rules(page: str) -> str:
    """``page`` (docs/safety.md) with the table between its status-rules markers regenerated."""
    head, begin, rest = page.partition(RULES_BEGIN)
    _, end, tail = rest.partition(RULES_END)
    if not begin or not end:
        raise ValueError(f"{SAFETY}: the status-rules markers are missing")
    return head + RULES_BEGIN + "\n" + status_rules_table() + "\n" + RULES_END + tail


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    page = render_page()
    if "--check" in args:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE} is stale: run python -m qda.cli.reference", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    SAFETY.write_text(with_status_rules(SAFETY.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the status table of {SAFETY}")
    from qda.ingest.languages import reference as languages_page  # docs/languages.md, generated too

    (PAGE.parent / "languages.md").write_text(languages_page(), encoding="utf-8")
    print(f"wrote {PAGE.parent / 'languages.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
