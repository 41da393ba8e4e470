"""Many coders at once, and other qda commands beside a running server: every request is
answered and every answered coding is stored, seen by every other process.

bench/serve.py found codings that the server had answered 201 and that another process
never saw (then "disk I/O error"): opening a second connection read the file header with
Python's open(), and closing that descriptor dropped the SQLite locks of the process's
first connection (POSIX), so the next command to close the project deleted the WAL under
the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from qda.project import Project
from qda.web import create_app
from tests.test_web_browser import serve  # noqa: F401  (a workspace on a free loopback port)

ROOT = Path(__file__).resolve().parent.parent


def other_process(folder: Path, *args: str) -> dict:
    """``qda -p FOLDER ARGS --format json`` in its own process (another command of the researcher)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "qda", "-p", str(folder), *args, "--format", "json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_second_connection_keeps_the_first_ones_write_visible_to_other_processes(demo_project: Path) -> None:
    first = Project.open(demo_project)
    try:
        first._store.count_codings()  # a read: the connection now holds its WAL lock
        second = Project.open(demo_project)  # used to open and close the file itself
        other_process(demo_project, "status")  # opens and closes the project
        segment = first.segments(document="E1")[3]
        first.add_coding("zoe", "E1", "a", start=segment.start, end=segment.end)
        assert other_process(demo_project, "status")["coders"] == {"zoe": 1}
        second.close()
    finally:
        first.close()
    assert other_process(demo_project, "status")["coders"] == {"zoe": 1}


@pytest.fixture
def server(serve, demo_project: Path) -> str:  # noqa: F811  (the browser tests' server fixture)
    return serve(demo_project).rstrip("/")


def signed_in(base: str, coder: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf"]
    assert client.post("/api/session", json={"coder": coder}).status_code == 200
    return client


def test_six_coders_posting_at_once_beside_other_commands_all_answered_and_stored(server: str,
                                                                                   demo_project: Path) -> None:
    with Project.open(demo_project) as project:
        spans = [(s.document, s.start, s.end) for s in project.segments()]
    coders = [f"coder{i}" for i in range(1, 7)]
    per_coder = 12
    assert len(spans) >= per_coder
    replies: dict[str, Counter[int]] = {name: Counter() for name in coders}
    created: dict[str, set[int]] = {name: set() for name in coders}
    halfway = threading.Barrier(len(coders) + 1)
    resume = threading.Event()

    def code(name: str) -> None:
        with closing(signed_in(server, name)) as client:
            for i, (document, start, end) in enumerate(spans[:per_coder]):
                if i == per_coder // 2:
                    halfway.wait(60)
                    resume.wait(60)
                answer = client.post("/api/codings", json={"document": document, "start": start, "end": end,
                                                           "code": "a"})
                replies[name][answer.status_code] += 1
                if answer.status_code == 201:
                    created[name].add(answer.json()["id"])

    threads = [threading.Thread(target=code, args=(name,)) for name in coders]
    for thread in threads:
        thread.start()
    halfway.wait(60)
    # the researcher runs commands while the team codes: each opens and closes the project
    middle = other_process(demo_project, "status")["coders"]
    resume.set()
    for thread in threads:
        thread.join(120)
    assert middle == {name: per_coder // 2 for name in coders}
    assert replies == {name: Counter({201: per_coder}) for name in coders}
    # every coding answered 201 is stored, and another process sees all of them
    assert other_process(demo_project, "status")["coders"] == {name: per_coder for name in coders}
    with Project.open(demo_project) as project:
        for name in coders:
            assert {c.id for c in project._store.codings(coder=name)} == created[name]


def test_a_write_queued_behind_a_longer_write_of_the_server_is_503_after_the_lock_timeout(
        demo_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers of one process queue on a lock before SQLite's; the wait is bounded as SQLite's is."""
    from starlette.testclient import TestClient

    monkeypatch.setenv("QDA_LOCK_TIMEOUT", "0.3")
    web = TestClient(create_app(demo_project), base_url="http://127.0.0.1")
    web.headers["X-CSRF-Token"] = web.get("/api/session").json()["csrf"]
    assert web.post("/api/session", json={"coder": "ann"}).status_code == 200
    with Project.open(demo_project) as project:
        seg = project.segments(document="E1")[2]
    holding, release = threading.Event(), threading.Event()

    def long_write() -> None:
        with Project.open(demo_project) as holder, holder._store.transaction():
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=long_write)
    thread.start()
    try:
        assert holding.wait(30)
        started = time.monotonic()
        answer = web.post("/api/codings", json={"document": "E1", "start": seg.start, "end": seg.end, "code": "a"})
        assert answer.status_code == 503 and "busy" in answer.json()["error"]["message"]
        assert time.monotonic() - started < 20
    finally:
        release.set()
        thread.join(30)
    answer = web.post("/api/codings", json={"document": "E1", "start": seg.start, "end": seg.end, "code": "a"})
    assert answer.status_code == 201
