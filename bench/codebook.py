"""Benchmark of large codebooks (issue 11: `codebook show -f json` took 4 min 45 s on
34,489 codes, from a linear scan per code lookup).

Generates a codebook of N codes in categories of 100 (every tenth code with two
sub-codes), then times, each in its own process, ``qda codebook load`` and
``qda codebook show`` as JSON and as a table. Prints a Markdown table.

Run: ``python bench/codebook.py [--codes 1000 10000 30000]`` (from the repository root).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(path: Path, codes: int) -> None:
    lines = ["name: big", "languages: [en]", "categories:"]
    for c in range(codes // 100):
        lines.append(f"- id: cat{c}\n  label: Category {c}\n  codes:")
        for k in range(0, 100, 10):
            i = c * 100 + k
            lines.append(f"  - id: c{i}\n    label: Code {i}\n    definition: Definition {i}.")
            for j in range(1, 10):
                if j <= 2:  # nested sub-codes exercise the parent lookups
                    lines.append(f"    codes:\n    - id: c{i + j}\n      label: Code {i + j}" if j == 1 else
                                 f"    - id: c{i + j}\n      label: Code {i + j}")
            lines.extend(f"  - id: c{i + j}\n    label: Code {i + j}" for j in range(3, 10))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qda", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codes", type=int, nargs="+", default=[1000, 10000, 30000])
    args = parser.parse_args()
    rows = ["| codes | load s | show -f json s | show (table) s |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.codes:
            folder, book = Path(tmp) / f"p{n}", Path(tmp) / f"cb{n}.yaml"
            generate(book, n)
            subprocess.run([sys.executable, "-m", "qda", "init", str(folder)], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
            load = timed("-p", str(folder), "codebook", "load", str(book))
            json_s = timed("-p", str(folder), "codebook", "show", "-f", "json")
            table_s = timed("-p", str(folder), "codebook", "show")
            rows.append(f"| {n:,} | {load:.1f} | {json_s:.1f} | {table_s:.1f} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
