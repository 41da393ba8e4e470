"""Public core functions and Project methods with more than three parameters take the rest by
keyword (`def f(a, b, *, c, d)`): a call names what it passes, so two adjacent floats
(tolerance, overlap) or two coder names cannot be swapped silently.

The rule, checked with `ast` on qda/ (the front ends qda/cli and qda/web excluded: typer and
starlette call them): a public function or method with more than three parameters besides
``self``/``cls`` has at most three positional ones, and none of them has a default.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qda"

#: put(ws, row, col, value): a cell's address and its value, written that way thousands of times.
EXEMPT = {("export/style.py", "put")}
#: The storage interface keeps one signature across Store, its Protocols, SetScope and Holdings.
EXEMPT_CLASSES = {"Store", "Backups", "ProjectReads", "ProjectStorage", "ProjectBackups", "SetScope", "Holdings"}
FRONT_ENDS = ("cli/", "web/", "completion.py")


def offenders(source: str, rel: str) -> list[str]:
    """Functions of one module that pass the limit positionally, as ``file:line name``."""
    found: list[str] = []

    def visit(body: list[ast.stmt], owner: str | None) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and node.name not in EXEMPT_CLASSES:
                visit(node.body, node.name)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_") \
                    and (rel, node.name) not in EXEMPT and node.args.vararg is None:
                args = node.args
                positional = [a.arg for a in args.posonlyargs + args.args]
                if owner and positional[:1] in (["self"], ["cls"]):
                    positional = positional[1:]
                if len(positional) + len(args.kwonlyargs) <= 3:
                    continue
                if len(positional) > 3 or args.defaults:
                    name = f"{owner}.{node.name}" if owner else node.name
                    found.append(f"qda/{rel}:{node.lineno} {name}({', '.join(positional)}, ...)")

    visit(ast.parse(source).body, None)
    return found


def test_long_signatures_take_keywords() -> None:
    found: list[str] = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50
    for path in files:
        rel = path.relative_to(PACKAGE).as_posix()
        if not rel.startswith(FRONT_ENDS):
            found += offenders(path.read_text(encoding="utf-8"), rel)
    assert found == []


def test_the_check_finds_positional_parameters() -> None:
    source = (
        "def ok(a, b, *, c, d=1): ...\n"
        "def short(a, b=1, c=2): ...\n"
        "def floats(a, tolerance=0.0, overlap=0.9, bootstrap=1000): ...\n"
        "def many(a, b, c, d): ...\n"
        "class Project:\n"
        "    def agree(self, coders, unit='segment', codes=None, cases=None): ...\n"
        "    def fine(self, coders, *, unit='segment', codes=None, cases=None): ...\n"
        "def _private(a, b, c, d): ...\n"
    )
    assert offenders(source, "x.py") == [
        "qda/x.py:3 floats(a, tolerance, overlap, bootstrap, ...)",
        "qda/x.py:4 many(a, b, c, d, ...)",
        "qda/x.py:6 Project.agree(coders, unit, codes, cases, ...)",
    ]


#: Parameters that take a word of a closed set: the facade types them with the Vocabulary Enum the
#: CLI uses as the option's type (qda/models.py), never a bare str.
CLOSED_SETS = {"unit", "count", "level", "negation", "mode", "match", "fmt", "measure", "size", "order", "action"}
#: Closed sets only the browser passes (checked by the web layer's own answers), not CLI Enums: none
#: left (the web layer turns its query words into the core's Enums, see qda.web.context.word).
WEB_ONLY: set[tuple[str, str]] = set()


def bare_strings(source: str) -> list[str]:
    """Project methods whose closed-set parameters are typed ``str``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "Project":
            for method in node.body:
                if not isinstance(method, ast.FunctionDef) or method.name.startswith("_"):
                    continue
                for arg in method.args.args + method.args.kwonlyargs:
                    if arg.arg in CLOSED_SETS and (method.name, arg.arg) not in WEB_ONLY and arg.annotation is not None:
                        words = set(ast.unparse(arg.annotation).replace("|", " ").split())
                        if words & {"str", "'str'"}:
                            found.append(f"Project.{method.name}({arg.arg}: {ast.unparse(arg.annotation)})")
    return found


def test_the_facade_takes_enums_for_closed_sets() -> None:
    source = (PACKAGE / "project.py").read_text(encoding="utf-8")
    assert "unit: AgreementUnit" in source and "count: CountMode" in source
    assert bare_strings(source) == []
    wrong = "class Project:\n    def words(self, *, unit: str = 'word', by: str = 'case'): ...\n"
    assert bare_strings(wrong) == ["Project.words(unit: str)"]
