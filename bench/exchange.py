"""REFI-QDA import against transcript import of the same text (issue 17: within 1.1x).

Two inputs:

* the largest real ``.qdpx`` in ``../shared/realfiles/refi-qda/`` (read in place, never
  copied into the repository);
* the ``.qdpx`` export of the N = 1,000 project of ``bench/workflow.py`` (1,000 synthetic
  French interviews of ~1,000 words, one coder's sheet imported). That project is taken
  from the workflow benchmark's cache when it is there (copied first: opening it with this
  tree could migrate it under another tree's feet), else built the same way.

For each input, in two fresh processes: ``Project.import_qdpx`` of the file into a new
project, and ``Project.import_transcripts`` of the same texts written out as ``.txt``
files (one per source, named after it), both in the same language so that both run the
same spaCy pipeline, the pipeline loaded before the clock starts (model loading is not
import throughput). The table gives wall seconds, CPU seconds of the process during the
import, peak memory, the load average before the run, and the ratio REFI / transcripts
of wall and CPU time (the machine is shared: the CPU ratio is the steadier of the two).
Each step runs ``--runs`` times; the table gives the median.

Usage: python bench/exchange.py [--runs 3] [--real FILE.qdpx] [--n1000 PROJECT_FOLDER] [--skip-n1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_CACHE = Path(tempfile.gettempdir()) / "qda-bench-workflow" / "n1000"


def realfiles() -> Path | None:
    """``../shared/realfiles/refi-qda`` beside the checkout or beside the worktrees' folder."""
    for parent in ROOT.parents[:3]:
        candidate = parent / "shared" / "realfiles" / "refi-qda"
        if candidate.is_dir():
            return candidate
    return None


# --------------------------------------------------------------------------- child steps

def _report(seconds: float, cpu: float, extra: dict[str, object] | None = None) -> None:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb, **(extra or {})}))


def step_refi(path: str, folder: str, language: str) -> None:
    from qda import Project
    from qda.ingest.segment import pipeline

    project = Project.init(Path(folder) / "refi", language)
    pipeline(language)
    wall, cpu = time.perf_counter(), time.process_time()
    report = project.import_qdpx(path)
    seconds, used = time.perf_counter() - wall, time.process_time() - cpu
    project.close()
    _report(seconds, used, {"documents": report.imported.get("documents", 0),
                            "codings": report.imported.get("codings", 0)})


def step_transcripts(texts: str, folder: str, language: str) -> None:
    from qda import Project
    from qda.ingest.segment import pipeline

    project = Project.init(Path(folder) / "transcripts", language)
    paths = sorted(Path(texts).glob("*.txt"))
    pipeline(language)
    wall, cpu = time.perf_counter(), time.process_time()
    project.import_transcripts(paths, language=language)
    seconds, used = time.perf_counter() - wall, time.process_time() - cpu
    project.close()
    _report(seconds, used, {"documents": len(paths)})


STEPS = {"refi": step_refi, "transcripts": step_transcripts}


# --------------------------------------------------------------------------- parent

def child(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, __file__, "--step", *args], capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"step {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_texts(qdpx: Path, folder: Path) -> tuple[int, int]:
    """The sources' texts as .txt files named after the sources: (files, words)."""
    sys.path.insert(0, str(ROOT))
    from qda.refi.read import read_refi

    folder.mkdir(parents=True)
    files = words = 0
    taken: set[str] = set()
    for source in read_refi(qdpx).sources:
        if source.text is None:
            continue
        stem = Path(source.name).stem or source.guid
        while stem in taken:
            stem += "_"
        taken.add(stem)
        (folder / f"{stem}.txt").write_text(source.text, encoding="utf-8")
        files += 1
        words += len(source.text.split())
    return files, words


def n1000_export(work: Path, given: Path | None) -> Path:
    """The N = 1,000 project's .qdpx: from a copy of the workflow cache, else built."""
    project = work / "n1000-project"
    source = given or WORKFLOW_CACHE / "project"
    if not (source / "project.qda").exists():
        sys.path.insert(0, str(ROOT / "bench"))
        from workflow import build

        print(f"building the N = 1,000 project in {work / 'n1000'} (several minutes) ...", file=sys.stderr)
        build(1000, work / "n1000", ROOT)
        source = work / "n1000" / "project"
    shutil.copytree(source, project, ignore=shutil.ignore_patterns("backups"))
    target = work / "n1000.qdpx"
    subprocess.run([sys.executable, "-m", "qda", "-p", str(project), "export", "qdpx", "-o", str(target)],
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return target


def measure(label: str, qdpx: Path, language: str, work: Path, runs: int) -> dict[str, object]:
    texts = work / f"{label}-texts"
    files, words = write_texts(qdpx, texts)
    rows: dict[str, list[dict]] = {"refi": [], "transcripts": []}
    for run in range(runs):
        for step in ("refi", "transcripts"):
            folder = work / f"{label}-{step}-{run}"
            folder.mkdir()
            load = os.getloadavg()[0]
            result = child(step, str(qdpx) if step == "refi" else str(texts), str(folder), language)
            result["load"] = load
            rows[step].append(result)
            shutil.rmtree(folder, ignore_errors=True)

    def median(step: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in rows[step])

    return {"label": label, "file": str(qdpx), "files": files, "words": words,
            "codings": rows["refi"][0].get("codings", 0),
            **{f"{step}_{key}": median(step, key) for step in rows for key in ("seconds", "cpu", "peak_mb", "load")}}


def print_table(results: list[dict[str, object]]) -> None:
    print("| input | documents | words | codings | import | wall s | CPU s | peak MB | load avg |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in results:
        for step, name in (("refi", "REFI-QDA (qda import qdpx)"), ("transcripts", "transcripts (same text)")):
            print(f"| {r['label']} | {r['files']:,} | {r['words']:,} | {r['codings'] if step == 'refi' else 0:,} "
                  f"| {name} | {r[f'{step}_seconds']:.2f} | {r[f'{step}_cpu']:.2f} | {r[f'{step}_peak_mb']:.0f} "
                  f"| {r[f'{step}_load']:.1f} |")
    print()
    print("| input | REFI / transcripts, wall | REFI / transcripts, CPU | goal (CPU) |")
    print("|---|---:|---:|---|")
    for r in results:
        wall = float(r["refi_seconds"]) / float(r["transcripts_seconds"])
        cpu = float(r["refi_cpu"]) / float(r["transcripts_cpu"])
        # issue 17 asks for 1.10; 1.05 leaves a margin for a shared machine's noise
        verdict = "met with margin" if cpu <= 1.05 else "met, no margin" if cpu <= 1.1 else "NOT met"
        print(f"| {r['label']} | {wall:.2f} | {cpu:.2f} | <= 1.10 (margin <= 1.05): {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each import (median)")
    parser.add_argument("--real", type=Path, help="the real .qdpx (default: the largest under ../shared/realfiles)")
    parser.add_argument("--real-language", default="hu", help="language of the real file's texts (NVivo: Hungarian)")
    parser.add_argument("--n1000", type=Path, help="an N = 1,000 project folder (default: the workflow cache)")
    parser.add_argument("--skip-n1000", action="store_true", help="only the real file")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        STEPS[args.step[0]](*args.step[1:])
        return
    real = args.real
    if real is None:
        folder = realfiles()
        found = sorted((folder / "qdpx").glob("*.qdpx"), key=lambda p: p.stat().st_size) if folder else []
        real = found[-1] if found else None
    with tempfile.TemporaryDirectory(prefix="qda-bench-exchange-") as tmp:
        work = Path(tmp)
        results = []
        if real is not None:
            results.append(measure(real.name, real, args.real_language, work, args.runs))
        else:
            print("no real REFI-QDA file found (../shared/realfiles/refi-qda/qdpx): skipped", file=sys.stderr)
        if not args.skip_n1000:
            results.append(measure("N = 1,000 export", n1000_export(work, args.n1000), "fr", work, args.runs))
    print(f"cores: {os.cpu_count()}; load average at the end: {os.getloadavg()[0]:.1f}")
    print_table(results)


if __name__ == "__main__":
    main()
