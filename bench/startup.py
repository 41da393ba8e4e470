"""Start-up benchmark: how long a researcher waits for the first line of a command.

Builds the demo project (the reference study: codebook, ten transcripts, profiles and the
consensus sheet) in a temporary folder, then times each command in a fresh process, side
by side with ``python -c pass`` (the interpreter's own start), and prints the overhead
against the targets of issue 12: < 0.3 s for ``--help``, < 0.5 s for the others. Wall and
CPU time are both printed; the verdict uses the CPU time, which other processes on a
busy machine do not inflate (on a quiet machine the two are within a few hundredths).

Then one TAB of shell completion (bash) for every kind of name an option or argument
takes (code, coder, case, case and code attribute, figure kind), as the shell runs it: the
installed ``qda`` script with ``_QDA_COMPLETE`` set. Target (issue 18): < 0.2 s of CPU per
TAB in all, start-up included, and none of typer, rich, pandas, numpy or spaCy imported.

Usage: python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "entry-postentry"
COMMANDS = [  # (command, target overhead in seconds)
    (["--help"], 0.3),
    (["status"], 0.5),
    (["codebook", "show"], 0.5),
    (["matrix", "case", "E1", "--coder", "consensus"], 0.5),
]


#: (words after ``qda -p PROJECT``, the kind of name completed); the last word is the one completed
COMPLETIONS = [
    (["retrieve", "--code", ""], "code"),
    (["matrix", "cross", "--coder", ""], "coder"),
    (["matrix", "case", ""], "case"),
    (["matrix", "cross", "--by", ""], "case attribute"),
    (["matrix", "split", "--code-attr", ""], "code attribute"),
    (["figure", ""], "figure kind"),
]
HEAVY = ("typer", "click", "rich", "pandas", "numpy", "spacy", "qda.project")


def completion_env(project: Path, words: list[str], env: dict[str, str]) -> dict[str, str]:
    line = " ".join(["qda", "-p", str(project), *words])
    return {**env, "_QDA_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) + 2)}


def heavy_imports(project: Path, env: dict[str, str]) -> list[str]:
    """The heavy modules a completion imports (run as the qda script would run, via `import qda`)."""
    code = ("import atexit, sys\nsys.argv = ['qda']\n"
            f"atexit.register(lambda: print(*[m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr))\n"
            "import qda\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=completion_env(project, ["agree", ""], env))
    return done.stderr.split()


def qda(*args: str, project: Path | None = None) -> list[str]:
    return [sys.executable, "-m", "qda", *(["-p", str(project)] if project else []), *args]


def best_of(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """The shortest wall time and CPU time (user + system) of ``runs`` runs: the least
    disturbed by other processes on a shared machine (the CPU time hardly depends on them)."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def build_demo(folder: Path, env: dict[str, str]) -> Path:
    project = folder / "project"
    steps = [
        qda("init", str(project), "--lang", "fr"),
        qda("codebook", "load", str(ROOT / "codebooks" / "communication-tools.yaml"), project=project),
        qda("import", "transcripts", *map(str, sorted((EXAMPLE / "transcripts").glob("*.txt"))), project=project),
        qda("import", "cases", str(EXAMPLE / "profiles.csv"), project=project),
        qda("code", "import", str(EXAMPLE / "consensus.xlsx"), "--coder", "consensus", project=project),
    ]
    for step in steps:
        subprocess.run(step, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command; the best is kept")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("QDA_PROJECT", None)
    with tempfile.TemporaryDirectory() as tmp:
        project = build_demo(Path(tmp), env)
        base, base_cpu = best_of([sys.executable, "-c", "pass"], args.runs, env)
        print(f"start-up of qda commands on the demo project (best of {args.runs} runs; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        print(f"{'command':<42} {'wall s':>7} {'overhead':>9} {'cpu s':>6} {'cpu overhead':>13} {'target':>7}  ok")
        print(f"{'python -c pass':<42} {base:>7.3f} {'':>9} {base_cpu:>6.3f}")
        failed = False
        for command, target in COMMANDS:
            seconds, cpu = best_of(qda(*command, project=None if command == ["--help"] else project), args.runs, env)
            overhead = seconds - base
            ok = cpu - base_cpu < target  # the wall time swings with the other processes of a shared machine
            failed |= not ok
            print(f"{'qda ' + ' '.join(command):<42} {seconds:>7.3f} {overhead:>9.3f} {cpu:>6.3f} "
                  f"{cpu - base_cpu:>13.3f} {target:>7.1f}  {'yes' if ok else 'NO'}")
        script = Path(sys.executable).parent / "qda"
        print(f"\none TAB of completion ({script}; target: < 0.2 s of CPU in all, start-up included)")
        print(f"{'words completed':<52} {'wall s':>7} {'cpu s':>6}  {'offered':<30} ok")
        for words, kind in COMPLETIONS:
            seconds, cpu = best_of([str(script)], args.runs, completion_env(project, words, env))
            offered = subprocess.run([str(script)], capture_output=True, text=True, cwd=ROOT,
                                     env=completion_env(project, words, env)).stdout.split()
            ok = cpu < 0.2 and bool(offered)
            failed |= not ok
            label = f"qda {' '.join(words[:-1])} <TAB> ({kind})"
            print(f"{label:<52} {seconds:>7.3f} {cpu:>6.3f}  {' '.join(offered)[:30]:<30} {'yes' if ok else 'NO'}")
        loaded = heavy_imports(project, env)
        failed |= bool(loaded)
        print(f"heavy modules a completion imports: {', '.join(loaded) or 'none'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
