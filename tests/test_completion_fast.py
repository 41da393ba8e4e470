"""Shell completion answered before typer loads (issue 18 item 5): the same answer, < 0.2 s.

qda.completion answers a TAB from a table of the command tree (``SPEC``) without importing
typer. The table is rebuilt here from the typer app (the test prints the new literal when a
command changed), and for many command lines and every shell the fast answer is compared
with typer's own.
"""

from __future__ import annotations

import os
import pprint
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from qda import completion
from qda.cli import COMPLETERS, app
from qda.export.figures import KINDS

ROOT = Path(__file__).resolve().parent.parent
QDA = Path(sys.executable).parent / "qda"


def _kind(callback) -> tuple[str, str] | None:
    """The (kind, suffix) of the qda completer that a typer-wrapped callback calls."""
    seen = set()
    todo = [callback]
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if fn in COMPLETERS:
            return COMPLETERS[fn]
        for cell in getattr(fn, "__closure__", None) or ():
            if callable(cell.cell_contents):
                todo.append(cell.cell_contents)
    return None


def build_spec() -> dict:
    root = typer.main.get_command(app)
    groups: dict[str, list[str]] = {}
    commands: dict[str, dict] = {}

    def walk(command, path: list[str]) -> None:
        if hasattr(command, "commands"):
            groups[" ".join(path)] = sorted(command.commands)
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
            return
        options: dict[str, list] = {}
        flags: list[str] = []
        arguments: list[list] = []
        for param in command.params:
            found = _kind(param._custom_shell_complete) if param._custom_shell_complete else None
            if param.param_type_name == "argument":
                arguments.append([found[0] if found else None, found[1] if found else "", param.nargs])
            elif param.is_flag or param.count:
                flags.extend([*param.opts, *param.secondary_opts])
            else:
                assert param.nargs == 1, (path, param.name)  # the table knows options of one value
                for opt in param.opts:
                    options[opt] = [found[0], found[1]] if found else [None, ""]
        flags.extend(["--help"])
        commands[" ".join(path)] = {"options": dict(sorted(options.items())), "flags": sorted(set(flags)),
                                    "arguments": arguments}

    walk(root, [])
    root_flags = sorted(o for p in root.params if p.param_type_name == "option" and (p.is_flag or p.count)
                        for o in [*p.opts, *p.secondary_opts]) + ["--help"]
    return {"groups": groups, "root_flags": root_flags, "commands": commands,
            "static": {"figure_kinds": list(KINDS)}}


def test_the_table_is_the_command_tree() -> None:
    spec = build_spec()
    literal = pprint.pformat(spec, width=110, sort_dicts=False)
    assert completion.SPEC == spec, f"qda/completion.py's SPEC is out of date; replace it with:\nSPEC = {literal}"


def _typer_answer(env: dict[str, str]) -> tuple[str, int]:
    result = typer.testing.CliRunner().invoke(app, [], prog_name="qda", env=env)
    return result.output, result.exit_code


def _env(shell: str, words: list[str]) -> dict[str, str]:
    line = " ".join(["qda", *words])
    if shell == "bash":
        return {"_QDA_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words))}
    env = {"_QDA_COMPLETE": f"complete_{shell}", "_TYPER_COMPLETE_ARGS": line}
    if shell == "fish":
        env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    if shell == "powershell":
        env["_TYPER_COMPLETE_WORD_TO_COMPLETE"] = words[-1]
    return env


LINES = [
    ["agree", "co"], ["agree", "coder-a", ""], ["matrix", "cross", "--coder", "cons"], ["matrix", "case", "P"],
    ["matrix", "case", "P1", "--coder", ""], ["matrix", "cross", "--by", "gr"], ["matrix", "split", "--code-attr", ""],
    ["matrix", "split", "--where", "m"], ["agree", "--code", "h"], ["code", "adjudicate", "x.xlsx", "--coder", "c"],
    ["retrieve", "--code", ""], ["retrieve", "--not", "h"], ["retrieve", "--where", ""], ["figure", ""],
    ["figure", "meta", "--by", ""], ["report", "--agree", ""], ["search", "salon", "--code", ""],
    ["matrix", "cooccur", "--code", "h", "--coder", "co"], ["export", "workbook", "--coder", ""],
    # lines typer answers alone (command names, options, choices, files): the fast path stays out
    ["mat"], ["matrix", ""], ["matrix", "case", "--"], ["agree", "--format", ""], ["figure", "meta", "-o", ""],
    ["import", "transcripts", ""], ["agree", "--unit", ""], ["-q", "agree", "coder-b", "--unit", "segment", ""],
]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_the_fast_answer_is_typers_answer(study_project: Path, shell: str) -> None:
    answered = 0
    for words in LINES:
        env = _env(shell, ["-p", str(study_project), *words])
        fast = completion.answer(env)
        expected = _typer_answer(env)
        if fast is None:
            continue
        answered += 1
        text, code = fast
        assert ((text + "\n") if text is not None else "", code) == expected, (shell, words)
    assert answered >= 15  # the value completions are answered without typer


def test_fish_is_args_and_no_project(tmp_path: Path, study_project: Path) -> None:
    env = _env("fish", ["-p", str(study_project), "agree", "co"]) | {"_TYPER_COMPLETE_FISH_ACTION": "is-args"}
    assert completion.answer(env) == (None, 0)
    env = _env("fish", ["-p", str(study_project), "agree", "zz"]) | {"_TYPER_COMPLETE_FISH_ACTION": "is-args"}
    assert completion.answer(env) == (None, 1)
    assert completion.answer(_env("bash", ["-p", str(tmp_path / "none"), "agree", ""])) == ("", 0)
    assert completion.answer(_env("bash", ["-p", str(tmp_path / "none"), "figure", "d"])) == ("dendrogram", 0)


def test_a_tab_takes_under_a_fifth_of_a_second_and_loads_no_heavy_module(study_project: Path) -> None:
    """The installed ``qda`` script, as the shell runs it; CPU time, which a busy machine inflates least."""
    if not QDA.exists():
        pytest.skip("the qda script is not installed beside this interpreter")
    heavy = ("typer", "click", "rich", "pandas", "numpy", "spacy", "qda.project")
    code = ("import atexit, sys\nsys.argv = ['qda']\n"
            f"atexit.register(lambda: print(*[m for m in {heavy!r} if m in sys.modules], file=sys.stderr))\n"
            "import qda\n")
    best = float("inf")
    for words in (["matrix", "case", "P"], ["agree", "--coder", ""], ["figure", ""], ["retrieve", "--code", "h"]):
        env = {**os.environ, "PYTHONPATH": str(ROOT), **_env("bash", ["-p", str(study_project), *words])}
        env.pop("QDA_PROJECT", None)
        for _ in range(3):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run([str(QDA)], env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            assert done.returncode == 0 and done.stdout.strip(), (words, done.stderr)
            best = min(best, cpu)
        assert best < 0.2, (words, best, wall)
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT),
                                 **_env("bash", ["-p", str(study_project), "agree", ""])}).stderr.split()
    assert loaded == [], loaded
