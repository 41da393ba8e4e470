"""Where the test suite waits: ``pytest -p tests.waits`` (issue 18: wall time far above CPU time).

For every test phase (setup, call, teardown) it records the wall time and the CPU time of
the pytest process and of the child processes it reaped (a browser, LibreOffice, ``python
-m qda``), and prints at the end the tests whose wall time is least explained by CPU: a
sleep, a timeout, a server start-up, a browser waiting for a page. On a loaded machine
every test also waits for a core; the load average is printed beside the figures so that
the two can be told apart.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator

import pytest

_rows: list[tuple[float, float, float, str]] = []  # idle, wall, cpu, test and phase


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measure(item: pytest.Item, phase: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), _cpu()
    yield
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    _rows.append((wall - cpu, wall, cpu, f"{item.nodeid} [{phase}]"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield from _measure(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield from _measure(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield from _measure(item, "teardown")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    wall = sum(r[1] for r in _rows)
    cpu = sum(r[2] for r in _rows)
    report = terminalreporter
    report.section("where the tests wait (wall - CPU of pytest and reaped children)")
    report.write_line(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
                      f"tests: {wall:.1f} s wall, {cpu:.1f} s CPU, {wall - cpu:.1f} s not on a CPU")
    for idle, w, c, name in sorted(_rows, reverse=True)[:int(os.environ.get("QDA_WAITS_TOP", "30"))]:
        report.write_line(f"{idle:7.2f} s idle {w:7.2f} s wall {c:6.2f} s CPU  {name}")
