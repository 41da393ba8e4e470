"""The architecture rules of docs/architecture.md, enforced on the source.

``violations(root)`` reads every ``*.py`` under a package directory with :mod:`ast` (nothing
is imported) and returns each broken rule with its file and line. The tests run it on the
real package, on an empty tree, and on temporary copies of the package that each hold one
deliberately wrong module, so the checker itself is shown to fail when it should.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qda"

#: A module imports only from layers strictly below its own (same level: no import).
LAYERS: dict[str, int] = {
    "errors": 0, "models": 0, "results": 0, "regexes": 0, "storage": 0,
    "codebook": 1, "files": 1, "ingest": 1, "agreement": 1, "matrix": 1, "analysis": 1, "store": 1,
    "coding": 2, "suggest": 2,
    "export": 3, "refi": 3,
    "project": 4, "peek": 4,
    "cli": 5, "web": 5, "completion": 5,
    "__main__": 6, "__init__": 6,
}

#: Modules a tree must have for the check to mean anything (an empty or moved tree fails).
REQUIRED = ("errors", "models", "codebook", "store", "coding", "export", "project", "cli")

#: Same-level imports allowed in one direction: `qda serve` (cli) starts the web app; web never imports cli.
#: The storage interface names the model objects its methods take (models never import it).
ALSO: dict[str, set[str]] = {"cli": {"web"}, "storage": {"models", "errors"}}

#: Lower layers a module may not import although they are below it.
FORBIDDEN: dict[str, set[str]] = {
    "export": {"store"},  # exporters are given their data, they never query the store
    "refi": {"store"},
    "cli": {"store"},  # the front ends reach the database through the facade only
    "web": {"store"},
}

#: Third-party packages that only some layers may import.
ONLY_IN: dict[str, set[str]] = {
    "sqlite3": {"store"},
    "typer": {"cli"}, "click": {"cli"}, "rich": {"cli"},
    "starlette": {"web"}, "uvicorn": {"web"}, "fastapi": {"web"},
}

#: Files that may open a transaction: the store, and the facade that commits a plan.
TRANSACTIONS = {"store.py", "project.py"}
SQL_TRANSACTION = re.compile(r"\b(BEGIN|COMMIT|ROLLBACK|SAVEPOINT)\b")

#: Layers that may call print(): the front ends. The core returns values.
PRINTS = {"cli", "web"}

#: Violations in files that other branches of issue 8 are rewriting, as (file, rule) without
#: the line. The lead deletes each entry once its fix is merged: an entry that no longer
#: occurs fails the test, so this list can only shrink.
KNOWN: set[tuple[str, str]] = set()

#: Files that hold the facade and the store: the only ones that may use their private members
#: (and Project's store) on an object other than ``self``.
SEALED = {"project.py", "store.py"}
#: Attributes that are the facade's store: reaching them from outside is reaching past the facade.
STORE_ATTRIBUTES = {"store", "_store"}
#: Classes whose private members only SEALED files may use (found in those files by name).
SEALED_CLASSES = {"Project", "Store", "Backups"}


@dataclass(frozen=True)
class Violation:
    path: str  # relative to the directory holding the package, e.g. qda/coding/sheets.py
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}"


def _dotted(path: Path, root: Path) -> str:
    """qda/coding/sheets.py -> qda.coding.sheets; qda/coding/__init__.py -> qda.coding."""
    parts = (root.name, *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass(frozen=True)
class _Import:
    line: int
    target: str  # dotted module of the package, e.g. qda.export.workbook
    name: str | None  # the name taken from it by `from target import name`, None for a module
    bound: str | None = None  # the local name of an imported module, for `module._private`


@functools.cache
def _nodes(source: str, filename: str) -> tuple[ast.AST, ...]:
    """Every node of a file, parsed once per content (the broken copies share most files)."""
    return tuple(ast.walk(ast.parse(source, filename=filename)))


def _package_imports(nodes: tuple[ast.AST, ...], dotted: str, is_init: bool, modules: set[str]) -> list[_Import]:
    """Every import of the package's own modules, relative ones resolved."""
    root = dotted.split(".")[0]
    package = dotted if is_init else dotted.rpartition(".")[0]
    found: list[_Import] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend(_Import(node.lineno, a.name, None, a.asname) for a in node.names
                         if a.name.split(".")[0] == root)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.split(".")[0] != root:
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if sub in modules:
                    found.append(_Import(node.lineno, sub, None, alias.asname or alias.name))
                else:
                    found.append(_Import(node.lineno, module, alias.name))
    return found


def _third_party(nodes: tuple[ast.AST, ...]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name.split(".")[0]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _docstrings(nodes: tuple[ast.AST, ...]) -> set[int]:
    """ids of the string constants that are docstrings (they may say COMMIT in prose)."""
    ids: set[int] = set()
    for node in nodes:
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    cycles = []
    for component in components:
        # walk from the first member inside the component until it closes
        members = set(component)
        path = [component[0]]
        while True:
            nxt = min(n for n in graph[path[-1]] if n in members)
            if nxt in path:
                cycles.append([*path[path.index(nxt):], nxt])
                break
            path.append(nxt)
    return cycles


def _sealed_members(root: Path) -> set[str]:
    """The private methods and attributes of Project, Store and Backups (read from their files)."""
    names: set[str] = set()
    for name in SEALED:
        path = root / name
        if not path.exists():
            continue
        for node in _nodes(path.read_text(encoding="utf-8"), name):
            if not (isinstance(node, ast.ClassDef) and node.name in SEALED_CLASSES):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(inner.name)
                elif isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) \
                        and inner.value.id == "self":
                    names.add(inner.attr)
    return {name for name in names if _is_private(name)}


def _reach_through(nodes: tuple[ast.AST, ...], sealed: set[str]) -> list[tuple[int, str]]:
    """Attribute access past the facade: ``x.store`` / ``x._store`` (the facade's store) and
    ``x._one(...)``-style use of a private member of Project/Store on anything but ``self``.
    Types are unknown to ``ast``, so the names decide; ``self``/``cls`` are a class's own."""
    found: list[tuple[int, str]] = []
    for node in nodes:
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
            continue
        if node.attr in STORE_ATTRIBUTES:
            found.append((node.lineno, f"reaches through the facade to its store (.{node.attr}): "
                                       "call a Project method"))
        elif node.attr in sealed:
            found.append((node.lineno, f"uses {node.attr}, a private member of the facade or the store"))
    return found


def violations(root: Path) -> list[Violation]:
    """Every broken rule in the package directory ``root`` (e.g. the real ``qda/``)."""
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    sealed = _sealed_members(root)
    rel = {p: p.relative_to(root.parent).as_posix() for p in files}
    dotted = {p: _dotted(p, root) for p in files}
    modules = set(dotted.values())
    found: list[Violation] = []

    present = {_layer(d) for d in modules if d != root.name}
    missing = [name for name in REQUIRED if name not in present]
    if missing:
        found.append(Violation(root.name, 0, f"found no module for the layers {', '.join(missing)}: "
                                             "is this the package directory?"))

    graph: dict[str, set[str]] = {}
    first_line: dict[tuple[str, str], int] = {}
    for path in files:
        here, where = dotted[path], rel[path]
        owner = _layer(here)
        nodes = _nodes(path.read_text(encoding="utf-8"), where)
        if owner not in LAYERS:
            found.append(Violation(where, 1, f"the module {owner} is in no layer (add it to LAYERS)"))
            continue

        imports = _package_imports(nodes, here, path.name == "__init__.py", modules)
        for imp in imports:
            target = _layer(imp.target)
            if imp.target == root.name and imp.name is not None and imp.name.startswith("__") \
                    and imp.name.endswith("__"):
                continue  # package metadata such as __version__
            if imp.name is not None and _is_private(imp.name) and imp.target != here:
                found.append(Violation(where, imp.line, f"imports the private name {imp.name} of {imp.target}"))
            if target != owner and target in LAYERS and LAYERS[target] >= LAYERS[owner] \
                    and target not in ALSO.get(owner, set()):
                found.append(Violation(where, imp.line, f"{owner} (layer {LAYERS[owner]}) imports {imp.target} "
                                                        f"(layer {LAYERS[target]})"))
            if target in FORBIDDEN.get(owner, set()):
                found.append(Violation(where, imp.line, f"{owner} may not import {imp.target}"))
            # a package's __init__ loading its own submodules registers them; that is no cycle
            if imp.target != here and not (path.name == "__init__.py" and imp.target.startswith(here + ".")):
                graph.setdefault(here, set()).add(imp.target)
                first_line.setdefault((here, imp.target), imp.line)

        for line, package in _third_party(nodes):
            allowed = ONLY_IN.get(package)
            if allowed is not None and owner not in allowed:
                found.append(Violation(where, line, f"imports {package}, which only {'/'.join(sorted(allowed))} "
                                                    "may import"))

        if path.relative_to(root).as_posix() not in SEALED:
            found.extend(Violation(where, line, rule) for line, rule in _reach_through(nodes, sealed))

        docstrings = _docstrings(nodes)
        aliases = {imp.bound: imp.target for imp in imports if imp.bound and imp.target != here}
        for node in nodes:
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _is_private(node.attr) \
                    and node.value.id in aliases:
                found.append(Violation(where, node.lineno,
                                       f"uses the private name {node.attr} of {aliases[node.value.id]}"))
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id == "print" and owner not in PRINTS:
                    found.append(Violation(where, node.lineno, "print() in the core (return a value instead)"))
                if isinstance(func, ast.Attribute) and func.attr == "transaction" \
                        and path.relative_to(root).as_posix() not in TRANSACTIONS:
                    found.append(Violation(where, node.lineno,
                                           "opens a transaction (.transaction()) outside the store and the facade"))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                    and SQL_TRANSACTION.search(node.value) \
                    and path.relative_to(root).as_posix() not in TRANSACTIONS:
                found.append(Violation(where, node.lineno,
                                       "writes SQL transaction control outside the store and the facade"))

    path_of = {d: p for p, d in dotted.items()}
    for cycle in _cycles(graph):
        start = path_of[cycle[0]]
        found.append(Violation(rel[start], first_line[(cycle[0], cycle[1])], f"import cycle: {' -> '.join(cycle)}"))
    return found


def _copy(tmp_path: Path) -> Path:
    """A copy of the real package to break on purpose."""
    copy = tmp_path / PACKAGE.name
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@functools.lru_cache(maxsize=1)
def _real() -> tuple[Violation, ...]:
    return tuple(violations(PACKAGE))


def test_the_package_keeps_its_layers() -> None:
    found = _real()
    keys = {(v.path, v.rule) for v in found}
    new = [str(v) for v in found if (v.path, v.rule) not in KNOWN]
    assert not new, "\n".join(new)
    fixed = sorted(KNOWN - keys)
    assert not fixed, "fixed, delete from KNOWN in tests/test_layers.py:\n" + "\n".join(map(str, fixed))


def test_the_check_reads_the_modules() -> None:
    files = [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts]
    assert len(files) >= 20
    source = (PACKAGE / "project.py").read_text(encoding="utf-8")
    imports = _package_imports(_nodes(source, "project.py"), "qda.project", False, {_dotted(p, PACKAGE) for p in files})
    assert {"qda.store", "qda.models", "qda.coding"} <= {i.target for i in imports}


def test_an_empty_tree_fails(tmp_path: Path) -> None:
    empty = tmp_path / "qda"
    empty.mkdir()
    found = violations(empty)
    assert [v.rule for v in found] == [f"found no module for the layers {', '.join(REQUIRED)}: "
                                       "is this the package directory?"]


WRONG = {
    "relative import upwards": (
        "coding/bad.py", "from ..export import workbook\n",
        "qda/coding/bad.py:1: coding (layer 2) imports qda.export.workbook (layer 3)"),
    "relative name from a package": (
        "coding/bad.py", "from .. import project\n",
        "qda/coding/bad.py:1: coding (layer 2) imports qda.project (layer 4)"),
    "absolute import upwards": (
        "ingest/bad.py", "from qda.coding.auto import compile_dictionary\n",
        "qda/ingest/bad.py:1: ingest (layer 1) imports qda.coding.auto (layer 2)"),
    "module in no layer": (
        "extras.py", "",
        "qda/extras.py:1: the module extras is in no layer (add it to LAYERS)"),
    "same layer": (
        "agreement/bad.py", "import qda.matrix\n",
        "qda/agreement/bad.py:1: agreement (layer 1) imports qda.matrix (layer 1)"),
    "name re-exported by the package root": (
        "web/bad.py", "from qda import Project\n",
        "qda/web/bad.py:1: web (layer 5) imports qda (layer 6)"),
    "web app importing the CLI": (
        "web/bad.py", "from qda.cli import render\n",
        "qda/web/bad.py:1: web (layer 5) imports qda.cli (layer 5)"),
    "CLI starting the web app (allowed)": (
        "cli/bad_serve.py", "def serve():\n    from qda.web import app\n",
        None),
    "private name across modules": (
        "export/bad.py", "from .workbook import _fit\n",
        "qda/export/bad.py:1: imports the private name _fit of qda.export.workbook"),
    "private attribute of an imported module": (
        "cli/bad.py", "from qda import matrix as m\n\nm._pct\n",
        "qda/cli/bad.py:3: uses the private name _pct of qda.matrix"),
    "exporter queries the store": (
        "refi/bad.py", "from qda.store import Store\n",
        "qda/refi/bad.py:1: refi may not import qda.store"),
    "transaction in coding": (
        "coding/bad.py", "def f(store):\n    with store.transaction():\n        pass\n",
        "qda/coding/bad.py:2: opens a transaction (.transaction()) outside the store and the facade"),
    "SQL transaction in web": (
        "web/bad.py", "def f(db):\n    db.execute('COMMIT')\n",
        "qda/web/bad.py:2: writes SQL transaction control outside the store and the facade"),
    "sqlite outside the store": (
        "agreement/bad.py", "import sqlite3\n",
        "qda/agreement/bad.py:1: imports sqlite3, which only store may import"),
    "sqlite in the web app": (
        "web/db.py", "import sqlite3\n",
        "qda/web/db.py:1: imports sqlite3, which only store may import"),
    "ASGI stack in the CLI": (
        "cli/bad_serve.py", "from starlette.applications import Starlette\n",
        "qda/cli/bad_serve.py:1: imports starlette, which only web may import"),
    "print in the core": (
        "ingest/bad.py", "def f():\n    print('done')\n",
        "qda/ingest/bad.py:2: print() in the core (return a value instead)"),
    "the facade's store reached from the web app": (
        "web/bad.py", "def f(project):\n    return project._store.codings()\n",
        "qda/web/bad.py:2: reaches through the facade to its store (._store): call a Project method"),
    "the old public store name in the CLI": (
        "cli/bad.py", "def f(p):\n    return p.store.documents()\n",
        "qda/cli/bad.py:2: reaches through the facade to its store (.store): call a Project method"),
    "a private store query in a planner": (
        "coding/bad.py", "def f(store):\n    return store._one('SELECT 1')\n",
        "qda/coding/bad.py:2: uses _one, a private member of the facade or the store"),
    "a private facade method from the web app": (
        "web/bad.py", "def f(project):\n    with project._recorded('x'):\n        pass\n",
        "qda/web/bad.py:2: uses _recorded, a private member of the facade or the store"),
    "a class's own private store (allowed)": (
        "ingest/bad_scope.py", "class Scope:\n    def __init__(self, store):\n        self._store = store\n"
        "        self._one = store\n",
        None),
    "cycle inside a package": (
        "ingest/bad.py", "from qda.ingest import segment\n",
        None),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_a_wrong_module_fails(tmp_path: Path, case: str) -> None:
    name, source, expected = WRONG[case]
    copy = _copy(tmp_path)
    target = copy / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(source, encoding="utf-8")
    if case == "cycle inside a package":
        segment = copy / "ingest" / "segment.py"
        segment.write_text(segment.read_text(encoding="utf-8") + "\nfrom qda.ingest import bad\n", encoding="utf-8")
        expected = "qda/ingest/bad.py:1: import cycle: qda.ingest.bad -> qda.ingest.segment -> qda.ingest.bad"
    new = sorted({str(v) for v in violations(copy)} - {str(v) for v in _real()})
    assert new == ([] if expected is None else [expected])
    assert not (PACKAGE / name).exists()  # the real tree is untouched


def test_the_docstring_points_to_files_that_exist() -> None:
    mentioned = re.findall(r"[\w./-]+\.(?:md|py)\b", __doc__ or "")
    assert mentioned
    repo = PACKAGE.parent
    assert [m for m in mentioned if not (repo / m).exists() and not (repo / "tests" / m).exists()] == []
