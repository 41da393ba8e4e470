"""Concurrent writers at scale (issue 11): two 1 M-row coding sheets imported at once.

Builds a project of ~1 M segments, writes one coding sheet of ``--rows`` rows for each of
two new coders, runs both ``qda code import`` at the same time as separate processes,
then checks what the issue asks: each exits 0, or exits 1 with the clear busy message
("another qda command is writing this project; try again") and no traceback; and each
coder's codings in the database are exactly what its sheet holds when it landed, none
when it was refused. Prints rows, seconds, peak MB, exit code and counts expected/found.

The project is the N=1000 project of ``bench/workflow.py`` (136,247 segments; built
there, never here), copied, with its documents and segments replicated in SQL into
``--copies`` look-alike documents (``T0001-r2``...). That SQL is bench-only: it skips
the language pipeline, which is not what this measures (the tokens are not copied;
``code import`` does not read them).

Usage: python bench/concurrent_writers.py [--source /tmp/qda-bench-workflow/n1000] [--copies 8]
       [--rows 1000000] [--lock-timeout SECONDS] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODERS = ("C1", "C2")
BUSY = "another qda command is writing this project; try again"


def replicate(db_path: Path, copies: int) -> int:
    """Copy every document (with its case and segments) ``copies - 1`` times; returns the segments."""
    db = sqlite3.connect(db_path)
    with db:
        top = db.execute("SELECT MAX(id) FROM documents").fetchone()[0]
        for k in range(2, copies + 1):
            suffix = f"-r{k}"
            db.execute("INSERT INTO cases(name) SELECT c.name || ? FROM cases c WHERE c.id IN "
                       "(SELECT case_id FROM documents WHERE id <= ?)", (suffix, top))
            db.execute("INSERT INTO documents(name, case_id, text, sha256, source, language, imported_at) "
                       "SELECT d.name || ?, (SELECT n.id FROM cases n WHERE n.name = c.name || ?), d.text, d.sha256, "
                       "d.source, d.language, d.imported_at FROM documents d JOIN cases c ON c.id = d.case_id "
                       "WHERE d.id <= ? ORDER BY d.id", (suffix, suffix, top))
            db.execute('INSERT INTO segments(document_id, ordinal, turn, speaker_id, start, "end", timestamp) '
                       'SELECT n.id, s.ordinal, s.turn, s.speaker_id, s.start, s."end", s.timestamp '
                       "FROM segments s JOIN documents d ON d.id = s.document_id "
                       "JOIN documents n ON n.name = d.name || ? WHERE d.id <= ? ORDER BY n.id, s.ordinal",
                       (suffix, top))
    count = int(db.execute("SELECT COUNT(*) FROM segments").fetchone()[0])
    db.close()
    return count


def write_sheet(db_path: Path, path: Path, rows: int, seed: int) -> int:
    """A sheet of the first ``rows`` segments, a third coded with 1-2 codes; returns the codings it holds."""
    from openpyxl import Workbook

    db = sqlite3.connect(db_path)
    codes = [k for (k,) in db.execute("SELECT key FROM codes WHERE codable=1 ORDER BY position")]
    refs = db.execute("SELECT d.name || '#' || s.ordinal FROM segments s JOIN documents d ON d.id = s.document_id "
                      "ORDER BY d.name, s.ordinal LIMIT ?", (rows,))
    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Coding")
    ws.calculate_dimension = lambda: f"A1:B{rows + 1}"  # a size header, as Excel writes (see workflow.py)
    # Only the columns 'code import' requires: the text column (checked against the
    # project when present) would add ~60 MB of XML per sheet and nothing to the test.
    ws.append(["segment", "codes"])
    codings = 0
    for (ref,) in refs:
        applied = rng.sample(codes, rng.choice((1, 1, 2))) if rng.random() < 0.35 else []
        codings += len(applied)
        ws.append([ref, "; ".join(applied)])
    wb.save(path)
    db.close()
    return codings


def count_codings(db_path: Path) -> dict[str, int]:
    db = sqlite3.connect(db_path)
    found = dict(db.execute("SELECT r.name, COUNT(*) FROM codings c JOIN coders r ON r.id = c.coder_id GROUP BY 1"))
    db.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path(tempfile.gettempdir()) / "qda-bench-workflow" / "n1000",
                        help="a folder built by bench/workflow.py (its project/ is copied)")
    parser.add_argument("--copies", type=int, default=8, help="each document this many times (8: 1.09 M segments)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lock-timeout", type=float, help="QDA_LOCK_TIMEOUT for both imports (default: qda's)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    if not (args.source / "project" / "project.qda").exists():
        sys.exit(f"{args.source}/project not found: build it with python bench/workflow.py --sizes 1000")
    work = args.keep or Path(tempfile.mkdtemp(prefix="qda-concurrent-"))
    try:
        run(args, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def build(args: argparse.Namespace, work: Path) -> dict[str, int]:
    """The replicated project (``work/base``) and the two sheets; reused from an earlier run
    with the same settings in ``--keep``. Returns the codings each sheet holds."""
    marker = work / "built.txt"
    settings = f"{args.source.resolve()} {args.copies} {args.rows}"
    if marker.exists() and marker.read_text().splitlines()[0] == settings:
        return {coder: int(n) for coder, n in (line.split() for line in marker.read_text().splitlines()[1:])}
    base = work / "base"
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(args.source / "project", base, ignore=shutil.ignore_patterns("backups"))
    start = time.perf_counter()
    segments = replicate(base / "project.qda", args.copies)
    print(f"project: {segments:,} segments ({args.copies} copies of the N=1000 documents) "
          f"in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    expected = {}
    for seed, coder in enumerate(CODERS, start=1):
        start = time.perf_counter()
        expected[coder] = write_sheet(base / "project.qda", work / f"{coder}.xlsx", args.rows, seed)
        print(f"sheet {coder}: {args.rows:,} rows, {expected[coder]:,} codings, "
              f"{(work / f'{coder}.xlsx').stat().st_size / 1024 ** 2:.0f} MB, "
              f"written in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    marker.write_text("\n".join([settings, *(f"{c} {n}" for c, n in expected.items())]))
    return expected


def run(args: argparse.Namespace, work: Path) -> None:
    expected = build(args, work)
    coders = CODERS
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(work / "base", project)
    db_path = project / "project.qda"
    before = count_codings(db_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if args.lock_timeout is not None:
        env["QDA_LOCK_TIMEOUT"] = str(args.lock_timeout)
    procs = {}
    for coder in coders:
        command = [sys.executable, "-m", "qda", "-q", "-p", str(project), "code", "import", str(work / f"{coder}.xlsx"),
                   "--coder", coder]
        log = (work / f"{coder}.log").open("w")  # a file, not a pipe: a long error report cannot block the child
        procs[coder] = (time.perf_counter(), subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log))
    results = {}
    for coder, (began, proc) in procs.items():
        # wait4 gives this child's own peak memory (ru_maxrss, KB), as /usr/bin/time -v does
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        results[coder] = (seconds, usage.ru_maxrss / 1024, proc.returncode,
                          (work / f"{coder}.log").read_text(encoding="utf-8", errors="replace"))
    found = count_codings(db_path)
    print(f"\nQDA_LOCK_TIMEOUT={env.get('QDA_LOCK_TIMEOUT', 'default')}; both imports started at once\n")
    print("| coder | rows | seconds | peak MB | exit | outcome | codings expected | found |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    problems = []
    for coder in coders:
        seconds, peak, code, output = results[coder]
        landed = code == 0
        want = expected[coder] if landed else before.get(coder, 0)
        if code == 0:
            outcome = "landed"
        elif code == 1 and BUSY in output and "Traceback" not in output:
            outcome = "refused: busy"
        else:
            outcome = "FAILED"
            problems.append(f"{coder}: exit {code}: {output.strip()[-800:]}")
        if found.get(coder, 0) != want:
            problems.append(f"{coder}: {found.get(coder, 0):,} codings in the database, {want:,} expected")
        print(f"| {coder} | {args.rows:,} | {seconds:.0f} | {peak:.0f} | {code} | {outcome} | {want:,} | "
              f"{found.get(coder, 0):,} |")
    others = {c: n for c, n in found.items() if c not in coders}
    if others != {c: n for c, n in before.items() if c not in coders}:
        problems.append(f"the other coders' codings changed: {before} -> {found}")
    print()
    print("\n".join(problems) if problems else "OK: every import landed or was refused cleanly; counts exact")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
