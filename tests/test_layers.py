"""The layer rules of DEVELOPERS.md, enforced on the source."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qda"

LAYERS = {
    "errors": 0, "models": 0,
    "codebook": 1, "ingest": 1, "agreement": 1, "matrix": 1, "store": 1,
    "coding": 2,
    "export": 3,
    "project": 4,
    "web": 5,  # the qda serve app; above the facade, below the CLI that starts it
    "cli": 6, "__main__": 7, "__init__": 7,
}


def _module_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qda"):
            parts = node.module.split(".")
            if len(parts) == 1:
                found.extend((node.lineno, alias.name) for alias in node.names)
            else:
                found.append((node.lineno, parts[1]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name.split(".")[1]) for a in node.names
                         if a.name.startswith("qda.") and len(a.name.split(".")) > 1)
    return found


def test_every_module_has_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert _module_of(path) in LAYERS, f"{path} is in no layer"


def test_modules_import_only_lower_layers() -> None:
    violations = []
    for path in PACKAGE.rglob("*.py"):
        owner = _module_of(path)
        if owner == "__init__":
            continue  # the package root re-exports the facade
        for line, target in _imports(path):
            if target == owner or target not in LAYERS:
                continue
            if LAYERS[target] >= LAYERS[owner]:
                violations.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {owner} imports {target}")
    assert not violations, "\n".join(violations)


def test_only_store_touches_sqlite_and_only_cli_prints() -> None:
    for path in PACKAGE.rglob("*.py"):
        owner = _module_of(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    root = name.split(".")[0]
                    if root == "sqlite3":
                        assert owner == "store", f"{path}: sqlite3 outside the store"
                    if root in ("typer", "rich"):
                        assert owner == "cli", f"{path}: {root} outside the CLI"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                assert owner == "cli", f"{path}:{node.lineno}: print() in the core"
