"""`mypy` as configured in pyproject.toml is `mypy --strict` on every module of qda/.

The strict flags live in a per-module override (mypy ignores `strict = true` there), so a
module left out of it, or a flag dropped from it, would quietly check less. This test reads
the configuration the way mypy does (no type checking runs: it takes a second) and compares
each module's options with those `--strict` gives.
"""

from __future__ import annotations

import os
from pathlib import Path

import mypy.main as mypy_main
import pytest
from mypy.options import PER_MODULE_OPTIONS

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "qda"


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _strict_flags() -> dict[str, object]:
    """The per-module options --strict changes, with the values it sets."""
    _, strict = mypy_main.process_options(["--strict", "--config-file", os.devnull, "x.py"])
    _, plain = mypy_main.process_options(["--config-file", os.devnull, "x.py"])
    return {name: getattr(strict, name) for name in PER_MODULE_OPTIONS
            if getattr(strict, name) != getattr(plain, name)}


def test_every_module_is_checked_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    _, configured = mypy_main.process_options(["--config-file", str(REPO / "pyproject.toml"), "qda"])
    flags = _strict_flags()
    assert {"disallow_untyped_defs", "warn_return_any", "disallow_any_generics"} <= set(flags)
    modules = _modules()
    assert "qda.web.app" in modules and "qda.cli" in modules
    weaker = {}
    for module in modules:
        options = configured.clone_for_module(module)
        off = sorted(name for name, value in flags.items() if getattr(options, name) != value)
        if off:
            weaker[module] = off
    assert weaker == {}


def test_the_global_strict_flags_are_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """--strict's flags that are not per module (unused ignores, redundant casts...)."""
    monkeypatch.chdir(REPO)
    _, configured = mypy_main.process_options(["--config-file", str(REPO / "pyproject.toml"), "qda"])
    for name in ("warn_unused_configs", "warn_redundant_casts", "warn_unused_ignores", "check_untyped_defs"):
        assert getattr(configured, name) is True, name
