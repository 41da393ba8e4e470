"""What the history costs (issue 20 item 7): snapshots, page edits, recorded commands.

Builds a project from the example study (ten transcripts, three coders' sheets) and adds
codings of four more coders until it holds ``--codings`` codings (default 2,000), then times:

1. ``snapshot``: one copy of the database into backups/ (SQLite's online backup API);
2. ``page: first edit``: the first deletion of a user's page session (snapshot + history line);
3. ``page: later edit``: a deletion joining that session (its history line updated, no snapshot);
4. ``page: addition``: a coding added outside any session (no history line);
5. ``command``: ``delete_coder`` of a small coder: snapshot, write, every-column comparison
   with the snapshot, history line, all in one transaction;
6. ``undo``: restoring the snapshot before the last of those (every data table copied back in
   one transaction with its history line, after a snapshot of the current state).

Each figure is the median of ``--repeat`` runs, wall time and CPU time of this process.
Run: ``python bench/undo_cost.py [--codings 2000] [--repeat 7]``; report ``uptime`` beside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from qda.cli import app
from qda.project import Project

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "entry-postentry"
CODEBOOK = ROOT / "codebooks" / "communication-tools.yaml"


def build(folder: Path, codings: int) -> None:
    cli = CliRunner()
    for args in (["init", folder], ["-p", folder, "codebook", "load", CODEBOOK],
                 ["-p", folder, "import", "transcripts", *sorted((EXAMPLE / "transcripts").glob("*.txt"))],
                 *(["-p", folder, "code", "import", EXAMPLE / f"{c}.xlsx", "--coder", c]
                   for c in ("coder-a", "coder-b", "consensus"))):
        result = cli.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    with Project.open(folder) as project:
        segments = project.segments()
        codes = [c.id for c in project.codebook().codes if c.codable]
        have = sum(project._store.codings_per_coder().values())
        rows = [(f"bulk-{i % 4}", s, codes[(i * 7) % len(codes)]) for i, s in enumerate(segments * 4)]
        for coder, segment, code in rows[:max(0, codings - have)]:
            project.add_coding(coder, segment.document, code, start=segment.start, end=segment.end)


def timed(fn: Callable[[], object], repeat: int, setup: Callable[[], None] = lambda: None) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        setup()
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codings", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "project"
        build(folder, args.codings)
        with Project.open(folder) as project:
            total = sum(project._store.codings_per_coder().values())
            size = (folder / "project.qda").stat().st_size
            results: dict[str, tuple[float, float]] = {}
            results["snapshot"] = timed(lambda: project._store.backups.snapshot("bench", prune=False), args.repeat)
            shutil.rmtree(folder / "backups")
            ids = iter([c.id for c in project.codings("coder-a")] + [c.id for c in project.codings("coder-b")])
            users = iter(f"user{i}" for i in range(1000))

            def new_session() -> None:
                number = next(ids)
                user = project.coding_by_id(number).coder  # type: ignore[union-attr]
                # a command in between closes every open page session: the next deletion opens one
                project.speakers({next(iter(project._store.speakers()))[0]: next(users)})
                state["coder"], state["id"] = user, number

            state: dict[str, object] = {}
            results["page: first edit"] = timed(lambda: project.remove_coding(str(state["coder"]), int(state["id"])),
                                                args.repeat, new_session)
            coder_ids = [c.id for c in project.codings("coder-b")]
            project.remove_coding("coder-b", coder_ids.pop())
            results["page: later edit"] = timed(lambda: project.remove_coding("coder-b", coder_ids.pop()), args.repeat)
            segments = iter(project.segments())
            results["page: addition"] = timed(
                lambda: (lambda s: project.add_coding("adder", s.document, "a", start=s.start,
                                                      end=s.end))(next(segments)),
                args.repeat)
            victims = iter(f"bulk-{i}" for i in range(4))
            results["command"] = timed(lambda: project.delete_coder(next(victims)), min(args.repeat, 4))
            results["undo"] = timed(project.undo, 3)
    load = os.getloadavg()
    print(f"{total:,} codings, database {size / 1024:,.0f} KB; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'step':<20}{'wall ms':>10}{'cpu ms':>10}")
    for step, (wall, cpu) in results.items():
        print(f"{step:<20}{wall * 1000:>10.1f}{cpu * 1000:>10.1f}")


if __name__ == "__main__":
    main()
