"""Unitizing alpha (qda.agreement.unitizing): time, and a cross-check against another implementation.

1. Time of :func:`unitizing_alpha` (every coefficient, 1,000 bootstrap resamples) on
   3 coders x 2,000 random span codings of 25 codes: one 300,000-character document, and
   30 documents of 40,000 characters. Prints wall and CPU seconds and the load average.
2. With ``--crosscheck DIR``: |uα of one code, and uα over three codes and the gap,
   against the Python package ``krippendorff-unitized-alpha`` (an independent
   implementation of Krippendorff et al. 2016) on 200 random studies of 2 to 4 coders
   each, whose units often touch, printing the largest difference.
   The package pins numpy < 2 and pytest < 8, so it is not a dependency: install it
   aside first, ``pip install --no-deps --target DIR krippendorff-unitized-alpha``.

Run: ``python bench/unitizing.py [--crosscheck DIR]`` (from the repository root).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qda.agreement.unitizing import CoderSpans, unitizing_alpha, unitizing_alpha_nominal  # noqa: E402


def timing() -> None:
    rng = np.random.default_rng(1)

    def coder(n: int, docs: int, length: int, codes: int) -> CoderSpans:
        start = rng.integers(0, length - 200, n)
        return CoderSpans.of(rng.integers(0, codes, n), rng.integers(0, docs, n), start,
                             end=start + rng.integers(5, 200, n))

    print("| documents | characters each | codings | wall s | CPU s | load (1 min) |")
    print("|---|---|---|---|---|---|")
    for docs, length in ((1, 300_000), (30, 40_000)):
        spans = [coder(2000, docs, length, 25) for _ in range(3)]
        wall, cpu = time.perf_counter(), time.process_time()
        unitizing_alpha(spans, [length] * docs, 25, domains=[i // 5 for i in range(25)], bootstrap=1000)
        print(f"| {docs} | {length:,} | {3 * 2000:,} | {time.perf_counter() - wall:.2f} | "
              f"{time.process_time() - cpu:.2f} | {os.getloadavg()[0]:.1f} |")


def crosscheck(folder: str) -> None:
    sys.path.insert(0, folder)
    from krippendorff_unitized_alpha.krippendorffs_unitized_alpha import (  # type: ignore[import-not-found]
        EMPTY_TAG,
        KrippendorffUnitizedAlpha,
        Segment,
    )

    for n_values, name in ((1, "|uα of one code"), (3, "uα over 3 codes and the gap")):
        worst, compared = 0.0, 0
        for trial in range(200):
            rng = random.Random(trial)
            m, length = rng.choice([2, 3, 4]), rng.randrange(30, 200)
            data, columns = {}, []
            for i in range(m):
                # a tiling of the text: units of a code and gaps; neighbouring units of one code
                # stay two units (Krippendorff 2019, Fig. 12.11), for the package as for qda
                tiles: list[tuple[int, int, int]] = []
                x = 0
                while x < length:
                    n = min(length - x, rng.randrange(1, 25))
                    tiles.append((x, x + n, rng.randrange(n_values) if rng.random() < 0.5 else -1))
                    x += n
                data[f"coder{i}"] = [Segment(EMPTY_TAG if v < 0 else f"c{v}", s, e) for s, e, v in tiles]
                units = [(v, s, e) for s, e, v in tiles if v >= 0]
                columns.append(CoderSpans.of([v for v, _, _ in units], [0] * len(units), [s for _, s, _ in units],
                                             end=[e for _, _, e in units]))
            if n_values == 1:
                ours = unitizing_alpha(columns, [length], 1, bootstrap=0).codes[0].value
            else:
                ours = unitizing_alpha_nominal(columns, [length], n_values)
            if ours is None:
                continue
            theirs = KrippendorffUnitizedAlpha(data).result
            worst = max(worst, abs(theirs - ours))
            compared += 1
        print(f"{name}: {compared} studies compared; largest |difference| = {worst:.2e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crosscheck", metavar="DIR", help="folder holding krippendorff-unitized-alpha")
    args = parser.parse_args()
    timing()
    if args.crosscheck:
        crosscheck(args.crosscheck)
