"""Workspace benchmark (issue 9): document view in Chromium, coding under load, memory.

Builds a project with one ~300,000-character synthetic French transcript and 2,000
codings, starts ``qda serve`` in its own process on 127.0.0.1 (loopback only), then:

1. the document view in Chromium (Debian's, by path): time from navigation to every
   highlight and margin stripe drawn (``performance.now()`` in the page), median of 3;
2. two coders each POSTing 20 codings/s for ``--seconds`` (default 60): the server time
   of each request (its Server-Timing header) and the round trip over loopback,
   p50/p95/max, and that every 201 is a stored coding;
3. server memory (RSS) while the request count goes to ``--requests`` (default 10,000).

Usage: python bench/serve.py [--seconds 60] [--requests 10000] [--chars 300000]
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qda.models import Coding  # noqa: E402
from qda.project import Project  # noqa: E402

WORDS = ("nous présentons nos produits aux foires commerciales et sur LinkedIn chaque année avec "
         "une démonstration du laser au client en Allemagne la production reste difficile depuis deux ans").split()


def transcript(chars: int, rng: random.Random) -> str:
    turns, size = [], 0
    while size < chars:
        question = "Intervieweur : " + " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + " ?"
        answer = "Répondant : " + " ".join(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))).capitalize() + "."
            for _ in range(rng.randint(2, 6)))
        turns += [question, answer]
        size += len(question) + len(answer) + 4
    return "\n\n".join(turns)


def build(folder: Path, chars: int, codings: int) -> tuple[int, int]:
    rng = random.Random(7)
    source = folder.parent / "BIG.txt"
    source.write_text(transcript(chars, rng), encoding="utf-8")
    project = Project.init(folder)
    try:
        project.load_codebook(ROOT / "codebooks" / "communication-tools.yaml")
        project.import_transcripts([source])
        document, segments = project.workspace_document("BIG")
        codes = [c.id for c in project.codebook().codes if c.codable]
        rows = []
        for i in range(codings):
            seg = segments[rng.randrange(len(segments))]
            start = rng.randrange(seg.start, seg.end - 1)
            end = min(len(document.text), start + rng.randint(5, 400))
            rows.append(Coding(coder="viewer", code=codes[i % len(codes)], document="BIG", case="BIG", start=start,
                               end=end, source="bench"))
        with project.store.transaction():
            project.store.insert_codings(rows)
        return len(document.text), len(segments)
    finally:
        project.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def session(base: str, coder: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    token = client.get("/api/session").json()["csrf"]
    client.headers["X-CSRF-Token"] = token
    assert client.post("/api/session", json={"coder": coder}).status_code == 200
    return client


def view_times(base: str, runs: int = 3) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(base)
        page.evaluate("""async () => {
            const s = await (await fetch('/api/session')).json();
            await fetch('/api/session', {method: 'POST', headers: {'Content-Type': 'application/json',
                'X-CSRF-Token': s.csrf}, body: JSON.stringify({coder: 'viewer'})});
        }""")
        for _ in range(runs):
            page.goto("about:blank")
            page.goto(base + "#doc=BIG")
            page.locator(".stripe").nth(1999).wait_for(state="attached", timeout=60_000)
            times.append(page.evaluate("window.qda.drawnAt") / 1000)
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=float, default=20.0, help="codings per second per coder")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=300_000)
    parser.add_argument("--codings", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "project"
        started = time.perf_counter()
        length, n_segments = build(folder, args.chars, args.codings)
        print(f"project: 1 transcript of {length:,} characters, {n_segments:,} segments, {args.codings:,} codings "
              f"(built in {time.perf_counter() - started:.0f} s)")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "qda", "-p", str(folder), "serve", "--port", str(port)],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(200):
                try:
                    httpx.get(base + "/api/session", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            views = view_times(base)
            latencies: dict[str, list[float]] = {"alice": [], "bruno": []}
            created: dict[str, int] = {"alice": 0, "bruno": 0}
            rss = [rss_kb(server.pid)]
            turns = session(base, "probe").get("/api/documents/BIG").json()["turns"]
            spans = [(s["start"], s["end"]) for t in turns for s in t["segments"]]
            server_ms: list[float] = []

            def coder(name: str, count: int) -> None:
                client = session(base, name)
                rng = random.Random(name)
                interval = 1.0 / args.rate
                next_at = time.perf_counter()
                for _ in range(count):  # bounded: exactly count requests
                    start, end = spans[rng.randrange(len(spans))]
                    t0 = time.perf_counter()
                    answer = client.post("/api/codings", json={"document": "BIG", "start": start, "end": end,
                                                               "code": "b"})
                    latencies[name].append(time.perf_counter() - t0)
                    server_ms.append(float(answer.headers["server-timing"].split("dur=")[1]))
                    created[name] += answer.status_code == 201
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.perf_counter()))
                client.close()

            per_coder = int(args.seconds * args.rate)
            threads = [threading.Thread(target=coder, args=(name, per_coder)) for name in latencies]
            load_started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            load_seconds = time.perf_counter() - load_started
            rss.append(rss_kb(server.pid))
            done = 2 * per_coder + 8
            client = session(base, "memory")
            samples = []
            while done < args.requests:  # bounded: stops at --requests
                start, end = spans[done % len(spans)]
                made = client.post("/api/codings", json={"document": "BIG", "start": start, "end": end, "code": "a"})
                client.delete(f"/api/codings/{made.json()['id']}")
                client.get("/api/documents")
                done += 3
                if done % 999 < 3:
                    samples.append((done, rss_kb(server.pid)))
            rss.append(rss_kb(server.pid))
            with Project.open(folder) as project:
                stored = {name: project.store.count_codings(coder=name) for name in latencies}
        finally:
            server.terminate()
            server.wait(10)
    every = sorted(x for values in latencies.values() for x in values)
    p95 = every[int(0.95 * (len(every) - 1))] * 1000
    print()
    print(f"{'measure':58} {'value':>12} {'target':>12}")
    print(f"{'document view, navigation to highlights drawn (median of 3)':58} "
          f"{statistics.median(views):>10.2f} s {'< 1 s':>12}")
    server_ms.sort()
    print(f"{'POST /api/codings server time (Server-Timing) p50':58} {statistics.median(server_ms):>9.1f} ms")
    print(f"{'POST /api/codings server time (Server-Timing) p95':58} "
          f"{server_ms[int(0.95 * (len(server_ms) - 1))]:>9.1f} ms {'< 50 ms':>12}")
    print(f"{'POST /api/codings round trip p50':58} {statistics.median(every) * 1000:>9.1f} ms")
    print(f"{'POST /api/codings round trip p95':58} {p95:>9.1f} ms")
    print(f"{'POST /api/codings round trip max':58} {every[-1] * 1000:>9.1f} ms")
    load = f"load: requests, seconds (2 coders x {args.rate:g}/s)"
    print(f"{load:58} {len(every):>8} in {load_seconds:.0f} s")
    lost = sum(created.values()) - sum(stored.values())
    print(f"{'codings answered 201 / stored / lost':58} {sum(created.values()):>5} / {sum(stored.values())} / {lost}"
          f" {'0 lost':>9}")
    memory = f"server RSS: start, after load, after {args.requests} requests"
    print(f"{memory:58} "
          f"{rss[0] // 1024} / {rss[1] // 1024} / {rss[2] // 1024} MB {'flat':>6}")
    if samples:
        print("RSS every ~1,000 requests (MB): " + " ".join(str(kb // 1024) for _, kb in samples))


if __name__ == "__main__":
    main()
