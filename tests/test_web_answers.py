"""Every JSON answer of the workspace is a result of the Python API (issue 18 item 2): the
handlers return ``answer(result)`` (qda/web/context.py), which sends ``result.to_dict()``;
no handler builds its own JSON, so the API and ``--format json`` cannot drift apart."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "qda" / "web"


def json_responses(source: str) -> list[tuple[int, str | None]]:
    """(line, enclosing function) of every ``JSONResponse(...)`` call of a module."""
    found: list[tuple[int, str | None]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id == "JSONResponse":
                found.append((child.lineno, function))
            visit(child, name)

    visit(ast.parse(source), None)
    return found


def test_only_the_two_answer_shapes_build_json() -> None:
    made = {f"{path.name}:{line} in {function}" for path in sorted(WEB.glob("*.py"))
            for line, function in json_responses(path.read_text(encoding="utf-8"))}
    assert {m.split(" in ")[1] for m in made} == {"answer", "error_answer"}, sorted(made)
    assert all(m.startswith("context.py:") for m in made), sorted(made)


def test_the_check_sees_a_handler_that_builds_its_own_json() -> None:
    source = ("async def handler(request):\n"
              "    def read(p):\n"
              "        return {'a': 1}\n"
              "    return JSONResponse(await in_project(request, read))\n")
    assert json_responses(source) == [(4, "handler")]
