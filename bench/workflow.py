"""Workflow benchmark: every step of a two-coder study at 10, 100 and 1,000 documents.

Generates synthetic projects of French interviews of ~1,000 words (the generator of
``bench/ingest.py``), imports them, and has two coders code about a third of the
segments with ~80 % agreement (sheets filled by the script, like the example study).
Each command then runs as ``python -m qda ...`` in its own process, so that its time
includes the start-up imports and its peak memory is its own; the table gives the
median of ``--runs`` runs next to an anchor doing the same work with a bare library:

* import transcripts — the bare spaCy pipeline qda uses, over the same turn texts;
* ``code sheet`` — a plain openpyxl (write-only) write of the same rows;
* ``code import`` — openpyxl (read-only) reading the same sheet back;
* ``agree`` — the ``krippendorff`` package computing alpha alone on the pooled table
  of the segment unit (every segment x every code);
* ``matrix cross`` — ``pandas.crosstab`` of the coder's codings (case attribute x code)
  read from the database.

Building a project runs spaCy over the corpus (~70 s at 1,000 documents), so each
size is built once and cached under ``--cache`` (default: a folder in the temp dir);
``--fresh`` rebuilds. Import time and its anchor are measured once, while building.

* ``export workbook`` — openpyxl writing the same cells (values only, no style) into a
  plain workbook (issue 18: the export may cost at most twice that).

Times are CPU seconds (user + system of the command's process, which other processes on a
busy machine inflate least), with the wall time beside them.

Targets checked at the largest size (issues 12 and 18): every agreement unit < 2 s without
bootstrap and < 5 s with 1,000 resamples; sheet write / import < 3 s and a re-import no
slower than the first import; ``code auto`` < 3 s; ``status`` < 0.5 s; every analysis
(retrieve, words, search, report, figure, matrices, co-occurrence) < 2 s; ``export
workbook`` <= 2 x its anchor; no step more than linear from the second largest to the
largest size (time ratio <= size ratio x 1.25, for noise). ``--readme`` writes the table
of the largest size into README.md ("How large a project can be").

Usage: python bench/workflow.py [--sizes 10,100,1000] [--runs 3] [--units document,segment] [--readme]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from ingest import generate, step_spacy  # noqa: E402  (the corpus and spaCy step of the ingest benchmark)

UNITS = ("document", "case", "frequency", "coverage", "segment", "overlap")
CACHE_VERSION = "2"
SHEET_COLUMNS = ("case", "document", "segment", "turn", "speaker", "text", "codes", "memo")


# --------------------------------------------------------------------------- measuring

def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run a process to completion: (CPU seconds, its peak resident memory in MB, wall seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(args)}\n{proc.stderr.read().decode()[-3000:]}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, seconds


def qda(code_root: Path, project: Path, *args: str) -> tuple[float, float, float]:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    return run([sys.executable, "-m", "qda", "-p", str(project), *args], code_root, env)


def anchor(name: str, *args: str) -> tuple[float, float, float]:
    """An anchor step in a child process; it reports its own timing of the work (CPU, MB, wall)."""
    out = subprocess.run([sys.executable, __file__, "--anchor", name, *args], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result.get("cpu", result["seconds"]), result["peak_mb"], result["seconds"]


def child_report(seconds: float, cpu_start: float | None = None) -> None:
    """Print the anchor's timing: wall ``seconds`` of the work, and its CPU time since ``cpu_start``
    (``time.process_time()`` when the work began; by default the wall time stands for it)."""
    import resource

    cpu = time.process_time() - cpu_start if cpu_start is not None else seconds
    print(json.dumps({"seconds": seconds, "cpu": cpu,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


# --------------------------------------------------------------------------- anchors (child processes)

def anchor_sheet_write(rows_file: str, out: str) -> None:
    from openpyxl import Workbook

    rows = json.loads(Path(rows_file).read_text(encoding="utf-8"))
    cpu, start = time.process_time(), time.perf_counter()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Coding")
    ws.append(list(SHEET_COLUMNS))
    for row in rows:
        ws.append(row)
    wb.save(out)
    child_report(time.perf_counter() - start, cpu)


def anchor_sheet_read(path: str) -> None:
    from openpyxl import load_workbook

    cpu, start = time.process_time(), time.perf_counter()
    wb = load_workbook(path, read_only=True)
    rows = list(wb["Coding"].iter_rows(values_only=True))
    wb.close()
    assert rows
    child_report(time.perf_counter() - start, cpu)


def anchor_alpha(project: str) -> None:
    import sqlite3

    import krippendorff
    import numpy as np

    db = sqlite3.connect(Path(project) / "project.qda")
    n_segments = db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
    codes = [k for (k,) in db.execute("SELECT key FROM codes WHERE codable=1 ORDER BY position")]
    row_of = {sid: i for i, (sid,) in enumerate(db.execute("SELECT id FROM segments ORDER BY id"))}
    col_of = {k: j for j, k in enumerate(codes)}
    table = np.zeros((2, n_segments * len(codes)))
    for coder_index, coder in enumerate(("A", "B")):
        for seg, code in db.execute("SELECT k.segment_id, c.key FROM codings k JOIN codes c ON c.id=k.code_id "
                                    "JOIN coders o ON o.id=k.coder_id WHERE o.name=?", (coder,)):
            table[coder_index, col_of[code] * n_segments + row_of[seg]] = 1
    cpu, start = time.process_time(), time.perf_counter()
    krippendorff.alpha(reliability_data=table, level_of_measurement="nominal")
    child_report(time.perf_counter() - start, cpu)


def anchor_crosstab(project: str) -> None:
    import sqlite3

    import pandas as pd

    cpu, start = time.process_time(), time.perf_counter()
    db = sqlite3.connect(Path(project) / "project.qda")
    frame = pd.read_sql(
        "SELECT a.value AS grp, c.key AS code, d.case_id AS case_id FROM codings k "
        "JOIN codes c ON c.id=k.code_id JOIN documents d ON d.id=k.document_id "
        "JOIN coders o ON o.id=k.coder_id JOIN case_attributes a ON a.case_id=d.case_id AND a.name='group' "
        "WHERE o.name='A'", db)
    pd.crosstab(frame.drop_duplicates()["code"], frame.drop_duplicates()["grp"])
    child_report(time.perf_counter() - start, cpu)


def anchor_workbook_write(workbook: str, out: str) -> None:
    """openpyxl writing the cells of qda's synthesis workbook (values only) in a plain workbook."""
    from openpyxl import Workbook, load_workbook

    source = load_workbook(workbook, read_only=True)
    sheets = {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in source.worksheets}
    source.close()
    cpu, start = time.process_time(), time.perf_counter()
    wb = Workbook()
    wb.remove(wb.worksheets[0])
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
    wb.save(out)
    child_report(time.perf_counter() - start, cpu)


ANCHORS = {"spacy": lambda folder: step_spacy(folder, 1), "sheet_write": anchor_sheet_write,
           "sheet_read": anchor_sheet_read,
           "alpha": anchor_alpha, "crosstab": anchor_crosstab, "workbook_write": anchor_workbook_write}


# --------------------------------------------------------------------------- building a project

def _write_sheet(path: Path, rows: list[list[object]]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Coding")
    # A size header, as Excel and LibreOffice write (and qda's sheets): openpyxl reads
    # a sheet without one twice.
    ws.calculate_dimension = lambda: f"A1:H{len(rows) + 1}"
    ws.append(list(SHEET_COLUMNS))
    for row in rows:
        ws.append(row)
    wb.save(path)


def build(size: int, folder: Path, code_root: Path) -> dict[str, object]:
    """A project of ``size`` interviews, its filled sheets, and the import timings."""
    marker = folder / "built.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("version") == CACHE_VERSION:
            return info
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "texts").mkdir(parents=True)
    print(f"building the project of {size} documents in {folder} ...", file=sys.stderr)
    generate(folder / "texts", size * 1000, size)
    project = folder / "project"
    run([sys.executable, "-m", "qda", "init", str(project)], code_root, {**os.environ, "PYTHONPATH": str(code_root)})
    qda(code_root, project, "codebook", "load", str(ROOT / "codebooks" / "communication-tools.yaml"))
    texts = sorted(str(p) for p in (folder / "texts").glob("*.txt"))
    import_time, import_mb, _ = qda(code_root, project, "import", "transcripts", *texts)
    spacy_time, spacy_mb, _ = anchor("spacy", str(folder / "texts"))

    # Case attributes for the matrices, then two coders' sheets: the coders agree on ~80 %.
    import sqlite3

    db = sqlite3.connect(project / "project.qda")
    cases = [name for (name,) in db.execute("SELECT name FROM cases ORDER BY name")]
    rng = random.Random(size)
    with open(folder / "cases.csv", "w", encoding="utf-8") as fh:
        fh.write("case,group\n")
        for name in cases:
            fh.write(f"{name},{rng.choice(['entry', 'post-entry', 'mature'])}\n")
    qda(code_root, project, "import", "cases", str(folder / "cases.csv"))
    codes = [k for (k,) in db.execute("SELECT key FROM codes WHERE codable=1 ORDER BY position")]
    segments = list(db.execute(
        'SELECT c.name, d.name, d.name || "#" || s.ordinal, s.turn, COALESCE(sp.name, ""), '
        'substr(d.text, s.start + 1, s."end" - s.start) FROM segments s JOIN documents d ON d.id=s.document_id '
        "JOIN cases c ON c.id=d.case_id LEFT JOIN speakers sp ON sp.id=s.speaker_id ORDER BY d.name, s.ordinal"))
    db.close()
    sheet_a, sheet_b, sheet_a2 = [], [], []
    for case, doc, ref, turn, speaker, text in segments:
        applied = rng.sample(codes, rng.choice((1, 1, 2))) if rng.random() < 0.35 else []
        other = [c if rng.random() < 0.8 else rng.choice(codes) for c in applied]
        if not applied and rng.random() < 0.05:
            other = [rng.choice(codes)]
        corrected = [c if rng.random() < 0.9 else rng.choice(codes) for c in applied]
        base = [case, doc, ref, turn, speaker, text]
        sheet_a.append([*base, "; ".join(applied), ""])
        sheet_b.append([*base, "; ".join(dict.fromkeys(other)), ""])
        sheet_a2.append([*base, "; ".join(dict.fromkeys(corrected)), "corrigé" if corrected != applied else ""])
    _write_sheet(folder / "A.xlsx", sheet_a)
    _write_sheet(folder / "B.xlsx", sheet_b)
    _write_sheet(folder / "A-corrected.xlsx", sheet_a2)
    (folder / "rows.json").write_text(json.dumps([r[:6] + ["", ""] for r in sheet_a], ensure_ascii=False),
                                      encoding="utf-8")
    qda(code_root, project, "code", "import", str(folder / "B.xlsx"), "--coder", "B")
    words = sum(len(Path(p).read_text(encoding="utf-8").split()) for p in texts)
    info = {"version": CACHE_VERSION, "documents": size, "segments": len(segments), "words": words,
            "import": [import_time, import_mb], "spacy": [spacy_time, spacy_mb]}
    marker.write_text(json.dumps(info))
    return info


# --------------------------------------------------------------------------- one size

#: The analyses of issue 18 item 6, each run as a command (``{work}``: the run's folder).
ANALYSES = [
    ("status", ["status"]),
    ("retrieve one code", ["retrieve", "--code", "a", "--coder", "A"]),
    ("retrieve quotes", ["retrieve", "--coder", "A", "--by", "group"]),
    ("words", ["words", "--by", "group"]),
    ("search", ["search", "clients"]),
    ("search --mode lemma", ["search", "client", "--mode", "lemma"]),
    ("matrix cases", ["matrix", "cases", "--by", "group", "--coder", "A"]),
    ("matrix cooccur", ["matrix", "cooccur", "--coder", "A"]),
    ("figure meta", ["figure", "meta", "-o", "{work}/meta.svg", "--coder", "A", "--by", "group"]),
    ("report", ["report", "-o", "{work}/report.html", "--coder", "A", "--by", "group"]),
    ("export workbook", ["export", "workbook", "-o", "{work}/synthesis.xlsx", "--coder", "A", "--by", "group"]),
]
#: CPU seconds, peak MB, the anchor's CPU seconds and MB (or None), wall seconds
Timing = tuple[float, float, "float | None", "float | None", float]


def measure(size: int, folder: Path, code_root: Path, runs: int, units: list[str],
            boot_runs: int) -> tuple[dict[str, object], dict[str, Timing]]:
    info = build(size, folder, code_root)
    results: dict[str, list[tuple[float, float, float]]] = {}

    def add(step: str, value: tuple[float, float, float]) -> None:
        results.setdefault(step, []).append(value)

    work = folder / "work"
    for r in range(runs):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(folder / "project", work / "project")
        project = work / "project"
        add("qda --help", run([sys.executable, "-m", "qda", "--help"], code_root,
                              {**os.environ, "PYTHONPATH": str(code_root)}))
        add("code sheet", qda(code_root, project, "code", "sheet", "--coder", "A", "-o", str(work / "sheet-A.xlsx")))
        add("code import (first)", qda(code_root, project, "code", "import", str(folder / "A.xlsx"), "--coder", "A"))
        add("code import (re-import)", qda(code_root, project, "code", "import", str(folder / "A-corrected.xlsx"),
                                           "--coder", "A"))
        add("code auto", qda(code_root, project, "code", "auto"))
        add("matrix cross", qda(code_root, project, "matrix", "cross", "--by", "group", "--coder", "A"))
        for step, args in ANALYSES:
            add(step, qda(code_root, project, *[a.replace("{work}", str(work)) for a in args]))
        for unit in units:
            add(f"agree --unit {unit} --bootstrap 0",
                qda(code_root, project, "agree", "A", "B", "--unit", unit, "--bootstrap", "0"))
            if r < boot_runs:
                add(f"agree --unit {unit} (bootstrap 1000)", qda(code_root, project, "agree", "A", "B", "--unit", unit))
        if r == 0:
            add("@sheet_write", anchor("sheet_write", str(folder / "rows.json"), str(work / "anchor.xlsx")))
            add("@sheet_read", anchor("sheet_read", str(folder / "A.xlsx")))
            add("@alpha", anchor("alpha", str(project)))
            add("@crosstab", anchor("crosstab", str(project)))
            add("@workbook_write", anchor("workbook_write", str(work / "synthesis.xlsx"), str(work / "plain.xlsx")))
    shutil.rmtree(work, ignore_errors=True)

    def med(step: str) -> tuple[float, float, float]:
        values = results[step]
        return (statistics.median(v[0] for v in values), max(v[1] for v in values),
                statistics.median(v[2] for v in values))

    anchors = {"import transcripts": tuple(info["spacy"]), "code sheet": med("@sheet_write"),
               "code import (first)": med("@sheet_read"), "code import (re-import)": med("@sheet_read"),
               "matrix cross": med("@crosstab"), "export workbook": med("@workbook_write")}
    table: dict[str, Timing] = {}
    imp = info["import"]
    spacy = anchors["import transcripts"]  # built before CPU times were kept: wall seconds stand for them
    table["import transcripts (1 run)"] = (imp[0], imp[1], spacy[0], spacy[1], imp[0])
    for step in results:
        if step.startswith("@"):
            continue
        seconds, mb, wall = med(step)
        ref = anchors.get(step) or (med("@alpha") if step.startswith("agree") else None)
        table[step] = (seconds, mb, ref[0] if ref else None, ref[1] if ref else None, wall)
    return info, table


# --------------------------------------------------------------------------- report

def targets(sizes: list[int], tables: dict[int, dict[str, Timing]]) -> list[str]:
    big = tables[sizes[-1]]
    lines = []

    def check(label: str, ok: bool) -> None:
        lines.append(f"- [{'x' if ok else ' '}] {label}")

    if sizes[-1] >= 1000:
        for step, (seconds, *_rest) in big.items():
            if step.startswith("agree"):
                limit = 5.0 if "bootstrap 1000" in step else 2.0
                check(f"`{step}` < {limit:g} s at N = {sizes[-1]}: {seconds:.2f} s", seconds < limit)
        for step in ("code sheet", "code import (first)", "code auto"):
            check(f"`{step}` < 3 s at N = {sizes[-1]}: {big[step][0]:.2f} s", big[step][0] < 3.0)
        check(f"`status` < 0.5 s at N = {sizes[-1]}: {big['status'][0]:.2f} s", big["status"][0] < 0.5)
        for step, _args in ANALYSES:
            if step not in ("status", "export workbook"):
                check(f"`{step}` < 2 s at N = {sizes[-1]}: {big[step][0]:.2f} s", big[step][0] < 2.0)
        ours, _mb, plain, *_rest = big["export workbook"]
        ratio = f" = {ours / plain:.2f} x" if plain else ""
        check(f"`export workbook` <= 2 x openpyxl writing its cells: {ours:.2f} s vs {plain or 0:.2f} s{ratio}",
              plain is not None and ours <= 2 * plain)
        first, again = big["code import (first)"][0], big["code import (re-import)"][0]
        check(f"re-import ({again:.2f} s) no slower than the first import ({first:.2f} s, +10 % for noise)",
              again <= first * 1.1)
    if len(sizes) >= 2:
        small, large = tables[sizes[-2]], big
        factor = sizes[-1] / sizes[-2]
        worse = []
        for step, (seconds, *_rest) in large.items():
            # Above start-up cost only (qda --help at that size): a 1 s step is mostly imports.
            base = small.get(step, (None,))[0]
            if base is None or step == "qda --help":
                continue
            work_small = max(base - small["qda --help"][0], 0.05)
            work_large = seconds - large["qda --help"][0]
            if work_large > work_small * factor * 1.25 + 0.2:
                worse.append(f"{step} ({base:.2f} -> {seconds:.2f} s)")
        check(f"no step more than linear from N = {sizes[-2]} to {sizes[-1]}"
              + (f": {', '.join(worse)}" if worse else ""), not worse)
    return lines


def table_text(sizes: list[int], tables: dict[int, dict[str, Timing]]) -> str:
    """The timings as a Markdown table, one pair of columns (qda, anchor) per size."""
    head = " | ".join(f"N = {n}: qda | N = {n}: anchor" for n in sizes)
    lines = [f"| step | {head} |", "|---|" + "---:|---:|" * len(sizes)]
    for step in tables[sizes[-1]]:
        cells = []
        for n in sizes:
            seconds, mb, ref_s, ref_mb, wall = tables[n].get(step, (float("nan"), 0, None, None, float("nan")))
            cells.append(f"{seconds:.2f} s ({wall:.2f}) / {mb:.0f} MB")
            cells.append("—" if ref_s is None else f"{ref_s:.2f} s / {ref_mb:.0f} MB")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


README_START = "<!-- bench/workflow.py --readme: from here -->"
README_END = "<!-- bench/workflow.py --readme: to here -->"


def write_readme(table: str, info: dict[str, object], load: float) -> None:
    """Replace the table of README.md's "How large a project can be" with this run's."""
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise SystemExit(f"README.md has no {README_START} ... {README_END} block to replace")
    before, _, rest = text.partition(README_START)
    _, _, after = rest.partition(README_END)
    block = (f"{README_START}\n{info['documents']:,} interviews, {info['words']:,} words, {info['segments']:,} "
             f"segments, two coders; CPU seconds of each command's process (wall seconds in brackets, at load "
             f"{load:.1f}) and its peak memory; the anchor does the same work with a bare library.\n\n"
             f"{table}\n{README_END}")
    readme.write_text(before + block + after, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="comma-separated numbers of documents")
    parser.add_argument("--runs", type=int, default=3, help="runs per command (median)")
    parser.add_argument("--bootstrap-runs", type=int, default=None,
                        help="runs of the agreement commands with bootstrap (default: --runs)")
    parser.add_argument("--units", default=",".join(UNITS), help="agreement units to run")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "qda-bench-workflow")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached projects")
    parser.add_argument("--code", type=Path, default=ROOT, help="the qda source tree to measure (default: this one)")
    parser.add_argument("--readme", action="store_true", help="write the largest size's table into README.md")
    parser.add_argument("--anchor", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.anchor:
        sys.path.insert(0, str(ROOT))
        ANCHORS[args.anchor[0]](*args.anchor[1:])
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    units = [u for u in args.units.split(",") if u]
    if args.fresh:
        shutil.rmtree(args.cache, ignore_errors=True)
    # an installed qda runs from compiled bytecode (pip compiles on install); without this, an
    # environment with PYTHONDONTWRITEBYTECODE set recompiles every module in every measured
    # process (0.1-0.3 s CPU per command) that a user never pays
    import compileall

    compileall.compile_dir(str(args.code.resolve() / "qda"), quiet=1)
    tables = {}
    infos = {}
    for size in sizes:
        infos[size], tables[size] = measure(size, args.cache / f"n{size}", args.code.resolve(), args.runs, units,
                                            args.runs if args.bootstrap_runs is None else args.bootstrap_runs)
    print("corpora: " + "; ".join(f"N = {n}: {i['words']:,} words, {i['segments']:,} segments"
                                  for n, i in infos.items()))
    print(f"median of {args.runs} run(s) per command (import: 1 run, wall time), CPU s (wall s) / peak MB; "
          f"anchor = the same work with a bare library; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores at the end; qda's bytecode compiled first, as pip install does\n")
    print(table_text(sizes, tables))
    if args.readme:
        write_readme(table_text(sizes[-1:], tables), infos[sizes[-1]], os.getloadavg()[0])
    print("\nanchors: import = bare spaCy pipeline; code sheet = openpyxl write_only; code import = openpyxl "
          "read_only; agree = krippendorff package, alpha on the pooled segment x code table; "
          "matrix cross = pandas.crosstab")
    print("\ntargets:")
    print("\n".join(targets(sizes, tables)))


if __name__ == "__main__":
    main()
