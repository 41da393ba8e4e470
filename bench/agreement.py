"""Benchmark of the agreement engine (qda.agreement.coefficients).

Prints a Markdown table: time for all eight coefficients without bootstrap, the
same with a 1,000-resample percentile bootstrap (10^5-unit data sets), and the
time of the ``krippendorff`` package computing alpha alone on the same data,
with the ratio package / qda, and the peak memory (tracemalloc, separate run)
of each. Data: random binary codes, 2 coders x 10^4, 10^5 and 10^6 units, and
3 coders x 10^5 units, ~80 % agreement.

The package was expected to need ~16 GB at 10^6 units; krippendorff 0.9.0
measured here needs well under 1 GB, so it is run at every size. Pass
``--skip-package-above N`` to leave it out above N units (older versions).

Run: ``python bench/agreement.py`` (from the repository root).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qda.agreement.coefficients import compute  # noqa: E402

try:
    import krippendorff
except ImportError:  # pragma: no cover - optional
    krippendorff = None

REPEATS = 3
BOOTSTRAP = 1000


def best_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_memory(fn: Callable[[], object]) -> float:
    """Peak bytes allocated (numpy included) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        return float(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def make_data(units: int, coders: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = (rng.random(units) < 0.3).astype(np.int64)
    ratings = np.repeat(truth[:, None], coders, axis=1)
    flip = rng.random((units, coders)) < 0.1
    ratings[flip] = 1 - ratings[flip]
    return ratings


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_mb(size: float) -> str:
    mb = size / 2**20
    return f"{mb:.1f} MB" if mb < 10 else f"{mb:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-package-above",
        type=int,
        default=None,
        metavar="N",
        help="do not run the krippendorff package on data sets above N units",
    )
    args = parser.parse_args()
    cases = [(2, 10_000), (2, 100_000), (2, 1_000_000), (3, 100_000)]
    header = (
        "| data | qda: all 8 coefficients | qda: + bootstrap 1,000 | "
        "krippendorff pkg: alpha only | ratio pkg / qda | peak memory qda / pkg |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    for coders, units in cases:
        data = make_data(units, coders)
        t_all = best_time(lambda: compute(data, bootstrap=0))
        t_boot: float | None = None
        if units == 100_000:
            t_boot = best_time(lambda: compute(data, bootstrap=BOOTSTRAP), repeats=1)
        mem_text = fmt_mb(peak_memory(lambda: compute(data, bootstrap=0)))
        if krippendorff is None:
            pkg_text, ratio_text = "not installed", "—"
        elif args.skip_package_above is not None and units > args.skip_package_above:
            pkg_text, ratio_text = "skipped (--skip-package-above)", "—"
        else:
            reliability = data.T.astype(float)  # the package wants coders x units

            def run_package() -> object:
                return krippendorff.alpha(
                    reliability_data=reliability, level_of_measurement="nominal"
                )

            t_pkg = best_time(run_package)
            pkg_text, ratio_text = fmt(t_pkg), f"{t_pkg / t_all:.0f}x"
            mem_text += f" / {fmt_mb(peak_memory(run_package))}"
        lines.append(
            f"| {coders} coders x {units:,} units | {fmt(t_all)} | {fmt(t_boot)} | "
            f"{pkg_text} | {ratio_text} | {mem_text} |"
        )
    print("\n".join(lines))
    print(
        f"\nBest of {REPEATS} runs (bootstrap: 1 run), numpy {np.__version__}; "
        "'ratio' = krippendorff package time for alpha alone / qda time for all 8 coefficients."
    )


if __name__ == "__main__":
    main()
