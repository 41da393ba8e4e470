"""Workspace benchmark (issues 9 and 16): document views in Chromium, comparison, coding under load.

Builds a project with one ~300,000-character synthetic French transcript, 2,000 codings of
coder ``viewer`` and 2,000 codings for each of three coders ``ana``, ``ben`` and ``cleo``
(ben's codings are ana's with moved edges and some other codes, as a second coder's are),
starts ``qda serve --unblind`` in its own process on 127.0.0.1 (loopback only), then:

1. ``view``: the document view in Chromium (Debian's, by path) with viewer's 2,000 codings:
   time from navigation to every highlight and margin stripe drawn
   (``performance.now()`` in the page), median of 3;
2. ``overlay``: the same transcript with ana, ben and cleo overlaid (6,000 codings). When the
   server has the coder overlay (``/api/documents/NAME?coders=a,b,c`` answers with the
   codings of several coders) the page is opened with ``#doc=NAME&coders=a,b,c``; otherwise
   the API payload of each coder and the current one-coder view of each are timed and summed.
   The table says which was measured;
3. ``compare``: the comparison of ana and ben on that document: ``Project.compare_regions``
   in process when the facade has it, else ``GET /api/compare`` (segments and overlap spans);
   the table says which;
4. ``load``: two coders each POSTing ``--rate`` codings/s for ``--seconds``;
5. ``burst``: ``--coders`` coders (default 6) POSTing at once, back to back, ``--burst`` codings each;
6. ``memory``: server RSS while the request count goes to ``--requests``.

For the POSTs: the server time of each request (its Server-Timing header) and the round trip
over loopback (p50/p95/max), every reply classified (201, each 4xx and 5xx with its message,
timeout, connection error), and every 201 checked to be a stored coding. Each coder codes
segments in a shuffled order without repeats: a coding the coder already has is refused (422,
"you already coded this passage") by design. ``--repeat-spans`` picks segments at random with
repeats, as the issue-9 version of this bench did: its "94 of 1,200 requests without a 201"
were these 422 replies (see the classification).

Beside each figure: the 1-minute load average when it was taken and the CPU seconds spent
by the server process (and by this script, which plays the coders) during it.

Usage: python bench/serve.py [--seconds 60] [--burst 100] [--coders 6] [--steps view,overlay,...]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qda.models import Coding  # noqa: E402
from qda.project import Project  # noqa: E402

WORDS = ("nous présentons nos produits aux foires commerciales et sur LinkedIn chaque année avec "
         "une démonstration du laser au client en Allemagne la production reste difficile depuis deux ans").split()
OVERLAY = ("ana", "ben", "cleo")
STEPS = ("view", "overlay", "compare", "load", "burst", "memory")
CLK_TCK = os.sysconf("SC_CLK_TCK")


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
    """The project: viewer's ``codings`` random spans, and ana/ben/cleo ``codings`` each."""
    rng = random.Random(7)
    source = folder.parent / "BIG.txt"
    source.write_text(transcript(chars, rng), encoding="utf-8")
    project = Project.init(folder)
    try:
        project.load_codebook(ROOT / "codebooks" / "communication-tools.yaml")
        project.import_transcripts([source])
        document, segments = project.workspace_document("BIG")
        length = len(document.text)
        codes = [c.id for c in project.codebook().codes if c.codable]

        def coding(coder: str, code: str, start: int, end: int) -> Coding:
            start = max(0, min(start, length - 1))
            return Coding(coder=coder, code=code, document="BIG", case="BIG", start=start,
                          end=max(start + 1, min(length, end)), source="bench")

        def random_spans(coder: str) -> list[Coding]:
            rows = []
            for i in range(codings):
                seg = segments[rng.randrange(len(segments))]
                start = rng.randrange(seg.start, seg.end - 1)
                rows.append(coding(coder, codes[i % len(codes)], start, start + rng.randint(5, 400)))
            return rows

        ana = random_spans("ana")
        ben = []  # a second coder: mostly the same passages, edges moved, some other codes
        for c in ana:
            if rng.random() < 0.1:
                seg = segments[rng.randrange(len(segments))]
                ben.append(coding("ben", rng.choice(codes), seg.start, seg.end))
                continue
            code = c.code if rng.random() < 0.85 else rng.choice(codes)
            ben.append(coding("ben", code, c.start + rng.randint(-30, 30), c.end + rng.randint(-30, 30)))
        rows = random_spans("viewer") + ana + ben + random_spans("cleo")
        unique = list({(c.coder, c.code, c.start, c.end): c for c in rows}.values())
        with project._store.transaction():
            project._store.insert_codings(unique)
        return length, len(segments)
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Context:
    """Load and CPU beside a figure: taken around the step that produced it."""

    load: float = 0.0
    server_cpu: float = 0.0
    bench_cpu: float = 0.0
    wall: float = 0.0

    def text(self) -> str:
        return f"load {self.load:4.1f}  cpu {self.server_cpu:5.1f}+{self.bench_cpu:.1f} s / {self.wall:.0f} s"


@contextmanager
def measured(server_pid: int, into: Context) -> Iterator[Context]:
    cpu0, mine0, wall0 = cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    try:
        yield into
    finally:
        into.server_cpu = cpu_seconds(server_pid) - cpu0
        into.bench_cpu = time.process_time() - mine0
        into.wall = time.perf_counter() - wall0
        into.load = os.getloadavg()[0]


@dataclass
class Replies:
    """Every reply to a batch of POSTs, classified; the times of the answered ones."""

    server_ms: list[float] = field(default_factory=list)
    round_trip_ms: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    created: dict[str, set[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, client: httpx.Client, coder: str, payload: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            answer = client.post("/api/codings", json=payload)
        except httpx.TimeoutException as exc:
            kind = f"timeout ({type(exc).__name__})"
        except httpx.TransportError as exc:
            kind = f"connection error ({type(exc).__name__}: {exc})"[:100]
        else:
            elapsed = (time.perf_counter() - started) * 1000
            timing = answer.headers.get("server-timing", "")
            with self.lock:
                self.round_trip_ms.append(elapsed)
                if "dur=" in timing:
                    self.server_ms.append(float(timing.split("dur=")[1]))
                if answer.status_code == 201:
                    self.created.setdefault(coder, set()).add(answer.json()["id"])
                    self.kinds["201"] += 1
                    return
            try:
                message = str(answer.json().get("error", {}).get("code", ""))  # {"error": {"code", "message"}}
            except ValueError:
                message = answer.text
            kind = f"{answer.status_code} {message[:70]}"
        with self.lock:
            self.kinds[kind] += 1

    @property
    def sent(self) -> int:
        return sum(self.kinds.values())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


def session(base: str, coder: str, timeout: float = 30) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=timeout)
    token = client.get("/api/session").json()["csrf"]
    client.headers["X-CSRF-Token"] = token
    assert client.post("/api/session", json={"coder": coder}).status_code == 200
    return client


class Browser:
    """One Chromium page signed in as a coder (localhost: picked, no password)."""

    def __init__(self, base: str) -> None:
        from playwright.sync_api import sync_playwright

        self.base = base
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        self.page = self.browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        self.page.goto(base)

    def coder(self, name: str) -> None:
        self.page.evaluate("""async (name) => {
            const s = await (await fetch('/api/session')).json();
            await fetch('/api/session', {method: 'POST', headers: {'Content-Type': 'application/json',
                'X-CSRF-Token': s.csrf}, body: JSON.stringify({coder: name})});
        }""", name)

    def draw(self, fragment: str, codings: int) -> tuple[float, int]:
        """Seconds from navigation to the transcript drawn, and the margin stripes drawn."""
        self.page.goto("about:blank")
        self.page.goto(self.base + fragment)
        deadline = time.monotonic() + 120
        # polled from here (the page's CSP forbids the eval of wait_for_function); drawnAt is
        # taken in the page, so the polling interval does not change the figure
        while not self.page.evaluate("(n) => !!(window.qda && window.qda.drawnAt && window.qda.codings "
                                     "&& window.qda.codings.length >= n)", codings):
            if time.monotonic() > deadline:
                held = self.page.evaluate("({codings: window.qda && window.qda.codings && window.qda.codings.length,"
                                          " drawnAt: window.qda && window.qda.drawnAt, hash: location.hash,"
                                          " message: (document.getElementById('message') || {}).textContent})")
                raise TimeoutError(f"the page did not draw {codings} codings within 120 s (it holds {held})")
            time.sleep(0.05)
        return self.page.evaluate("window.qda.drawnAt") / 1000, self.page.locator(".stripe").count()

    def close(self) -> None:
        self.browser.close()
        self.playwright.stop()


Row = tuple[str, str, str, str]  # measure, value, target, context


def step_view(browser: Browser, base: str, pid: int, runs: int) -> list[Row]:
    browser.coder("viewer")
    context = Context()
    with measured(pid, context):
        times = [browser.draw("#doc=BIG", 2000)[0] for _ in range(runs)]
    rows = [("document view, 1 coder, 2,000 codings (median of 3)", f"{statistics.median(times):.2f} s", "< 1 s",
             context.text())]
    # the part of the view spent in the server: the document's JSON
    with closing(session(base, "viewer")) as client:
        context = Context()
        with measured(pid, context):
            answers = [client.get("/api/documents/BIG") for _ in range(runs)]
        server = statistics.median(float(a.headers["server-timing"].split("dur=")[1]) for a in answers)
        rows.append((f"  of which GET /api/documents/BIG server time ({len(answers[0].content) / 1e6:.1f} MB JSON)",
                     f"{server:.0f} ms", "", context.text()))
    return rows


def overlay_supported(base: str) -> bool:
    """The leadview overlay: the document endpoint answers ?coders= with several coders' codings."""
    with closing(session(base, "probe")) as client:
        answer = client.get("/api/documents/BIG", params={"coders": ",".join(OVERLAY)})
        if answer.status_code != 200:
            return False
        return len({c.get("coder") for c in answer.json().get("codings", [])}) > 1


def step_overlay(browser: Browser, base: str, pid: int, runs: int, expected: int) -> list[Row]:
    rows: list[Row] = []
    with closing(session(base, "probe")) as client:
        payload = Context()
        if overlay_supported(base):
            with measured(pid, payload):
                started = time.perf_counter()
                answer = client.get("/api/documents/BIG", params={"coders": ",".join(OVERLAY)})
                seconds = time.perf_counter() - started
            rows.append((f"overlay API: ?coders={','.join(OVERLAY)} ({len(answer.content) / 1e6:.1f} MB JSON)",
                         f"{seconds * 1000:.0f} ms", "", payload.text()))
            # what the server holds for the three coders (the synthetic project's generator can
            # give two codings the same span; the store keeps one)
            expected = len(answer.json()["codings"])
            browser.coder(OVERLAY[0])
            context = Context()
            with measured(pid, context):
                drawn = [browser.draw(f"#doc=BIG&coders={','.join(OVERLAY)}", expected) for _ in range(runs)]
            rows.append((f"overlay view in the page, 3 coders, {expected:,} codings ({drawn[0][1]:,} stripes; median)",
                         f"{statistics.median(t for t, _ in drawn):.2f} s", "< 1 s", context.text()))
            return rows
        # no overlay yet: each coder's payload and one-coder view, summed
        total_seconds, total_bytes, total_view = 0.0, 0, 0.0
        context = Context()
        with measured(pid, context):
            for name in OVERLAY:
                started = time.perf_counter()
                answer = client.get("/api/documents/BIG", params={"coder": name})
                total_seconds += time.perf_counter() - started
                total_bytes += len(answer.content)
                browser.coder(name)
                total_view += statistics.median(browser.draw("#doc=BIG", len(answer.json()["codings"]))[0]
                                                for _ in range(runs))
        rows.append((f"NO OVERLAY on this server: 3 x GET ?coder= ({total_bytes / 1e6:.1f} MB JSON)",
                     f"{total_seconds * 1000:.0f} ms", "", context.text()))
        rows.append((f"NO OVERLAY: 3 one-coder views summed ({expected:,} codings)", f"{total_view:.2f} s",
                     "< 1 s", ""))
    return rows


def step_compare(folder: Path, base: str, pid: int) -> list[Row]:
    if hasattr(Project, "compare_regions"):
        context = Context()
        with Project.open(folder) as project, measured(os.getpid(), context):
            started = time.perf_counter()
            regions = project.compare_regions("BIG", "ana", "ben")
            seconds = time.perf_counter() - started
        size = len(regions) if hasattr(regions, "__len__") else len(getattr(regions, "regions", ()))
        return [(f"comparison ana/ben: Project.compare_regions, in process ({size:,} regions)",
                 f"{seconds:.2f} s", "< 1 s", f"load {context.load:4.1f}  cpu {context.bench_cpu:5.1f} s (in process)")]
    context = Context()
    with closing(session(base, "probe", timeout=300)) as client, measured(pid, context):
        started = time.perf_counter()
        answer = client.get("/api/compare", params={"a": "ana", "b": "ben", "document": "BIG"})
        seconds = time.perf_counter() - started
    body = answer.json()
    what = (f"{len(body.get('disagreements', [])):,} segments, {len(body.get('spans', [])):,} spans"
            if answer.status_code == 200 else f"HTTP {answer.status_code}")
    return [(f"comparison ana/ben: NO compare_regions, GET /api/compare ({what})", f"{seconds:.2f} s", "< 1 s",
             context.text())]


def coder_spans(spans: list[tuple[int, int]], coder: str, repeat: bool) -> Callable[[], tuple[int, int]]:
    """The segments a coder codes next: shuffled, no repeats (or random with repeats)."""
    rng = random.Random(coder)
    if repeat:
        return lambda: spans[rng.randrange(len(spans))]
    order = spans[:]
    rng.shuffle(order)
    picks = iter(order)
    return lambda: next(picks)


def post_rows(label: str, replies: Replies, context: Context, target: bool = True) -> list[Row]:
    rows: list[Row] = [
        (f"{label}: server time p50", f"{statistics.median(replies.server_ms):.1f} ms", "", context.text()),
        (f"{label}: server time p95", f"{pct(replies.server_ms, 0.95):.1f} ms", "< 50 ms" if target else "", ""),
        (f"{label}: server time max", f"{max(replies.server_ms):.1f} ms", "", ""),
        (f"{label}: round trip p50 / p95", f"{statistics.median(replies.round_trip_ms):.1f} / "
         f"{pct(replies.round_trip_ms, 0.95):.1f} ms", "", ""),
        (f"{label}: round trip max", f"{max(replies.round_trip_ms):.1f} ms", "", "")]
    return rows


def classification(label: str, replies: Replies, stored: dict[str, set[int]]) -> list[str]:
    created = sum(len(ids) for ids in replies.created.values())
    missing = sum(len(ids - stored.get(coder, set())) for coder, ids in replies.created.items())
    lines = [f"{label}: {replies.sent} requests sent, {replies.sent} replies classified:"]
    for kind, count in sorted(replies.kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"    {count:6}  {kind}")
    lines.append(f"    201 replies {created}, of which stored {created - missing}, lost {missing} (target 0 lost)")
    return lines


def stored_ids(folder: Path, coders: list[str]) -> dict[str, set[int]]:
    with Project.open(folder) as project:
        return {name: {c.id for c in project._store.codings(coder=name) if c.id is not None} for name in coders}


class Table:
    """The result table, each row printed as soon as it is measured (a long run stopped midway
    still shows what it measured)."""

    WIDTH = 92

    def __init__(self) -> None:
        print(f"\n{'measure':{self.WIDTH}}  {'value':>16}  {'target':>8}  load, CPU server+bench / wall", flush=True)

    def __iadd__(self, rows: list[Row]) -> Table:
        for measure, value, target, context_text in rows:
            print(f"{measure:{self.WIDTH}}  {value:>16}  {target:>8}  {context_text}", flush=True)
        return self

    def append(self, row: Row) -> None:
        self += [row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of the paced load (step 'load')")
    parser.add_argument("--rate", type=float, default=20.0, help="codings per second per coder (step 'load')")
    parser.add_argument("--coders", type=int, default=6, help="coders posting at once (step 'burst')")
    parser.add_argument("--burst", type=int, default=100, help="codings each burst coder posts back to back")
    parser.add_argument("--requests", type=int, default=3_000,
                        help="requests for the memory step (a third of them list the documents, which reads every "
                             "coding: slow with the 8,000 codings of this project)")
    parser.add_argument("--chars", type=int, default=300_000)
    parser.add_argument("--codings", type=int, default=2_000, help="codings of viewer, ana, ben and cleo (each)")
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout of each request (s)")
    parser.add_argument("--repeat-spans", action="store_true",
                        help="pick segments at random with repeats (the issue-9 bench): repeats are refused")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"which steps, of: {','.join(STEPS)}")
    args = parser.parse_args()
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "project"
        started = time.perf_counter()
        length, n_segments = build(folder, args.chars, args.codings)
        print(f"project: 1 transcript of {length:,} characters, {n_segments:,} segments, {args.codings:,} codings "
              f"each of viewer, {', '.join(OVERLAY)} (built in {time.perf_counter() - started:.0f} s); "
              f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        table = Table()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "qda", "-p", str(folder), "serve", "--unblind",
                                   "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(200):
                try:
                    httpx.get(base + "/api/session", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            pid = server.pid
            rss = [rss_kb(pid)]
            if {"view", "overlay"} & set(steps):
                browser = Browser(base)
                try:
                    if "view" in steps:
                        table += step_view(browser, base, pid, 3)
                    if "overlay" in steps:
                        table += step_overlay(browser, base, pid, 3, 3 * args.codings)
                finally:
                    browser.close()
            if "compare" in steps:
                table += step_compare(folder, base, pid)
            with closing(session(base, "probe")) as probe:
                turns = probe.get("/api/documents/BIG").json()["turns"]
            spans = [(s["start"], s["end"]) for t in turns for s in t["segments"]]

            def run_coders(names: list[str], count: int, interval: float, replies: Replies) -> None:
                barrier = threading.Barrier(len(names))

                def coder(name: str) -> None:
                    client = session(base, name, args.timeout)
                    pick = coder_spans(spans, name, args.repeat_spans)
                    barrier.wait()  # all coders start together
                    next_at = time.perf_counter()
                    for _ in range(count):  # bounded: exactly count requests
                        start, end = pick()
                        replies.post(client, name, {"document": "BIG", "start": start, "end": end, "code": "b"})
                        if interval:
                            next_at += interval
                            time.sleep(max(0.0, next_at - time.perf_counter()))
                    client.close()
                threads = [threading.Thread(target=coder, args=(name,)) for name in names]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()

            if "load" in steps:
                paced, context = Replies(), Context()
                per_coder = int(args.seconds * args.rate)
                with measured(pid, context):
                    run_coders(["alice", "bruno"], per_coder, 1.0 / args.rate, paced)
                table += post_rows(f"POST /api/codings, 2 coders x {args.rate:g}/s for {args.seconds} s", paced,
                                   context)
                notes += classification(f"2 coders x {args.rate:g}/s", paced, stored_ids(folder, ["alice", "bruno"]))
            if "burst" in steps:
                burst, context = Replies(), Context()
                names = [f"coder{i + 1}" for i in range(args.coders)]
                with measured(pid, context):
                    run_coders(names, args.burst, 0.0, burst)
                table += post_rows(f"POST /api/codings, {args.coders} coders at once", burst, context)
                notes += classification(f"{args.coders} coders at once, {args.burst} each back to back", burst,
                                        stored_ids(folder, names))
            rss.append(rss_kb(pid))
            if "memory" in steps:
                done = 0
                samples = []
                with closing(session(base, "memory")) as client:
                    while done < args.requests:  # bounded: stops at --requests
                        start, end = spans[done % len(spans)]
                        made = client.post("/api/codings", json={"document": "BIG", "start": start, "end": end,
                                                                 "code": "a"})
                        client.delete(f"/api/codings/{made.json()['id']}")
                        client.get("/api/documents")
                        done += 3
                        if done % 999 < 3:
                            samples.append(rss_kb(pid) // 1024)
                rss.append(rss_kb(pid))
                table.append((f"server RSS: start / after POSTs / after {args.requests:,} more requests",
                              " / ".join(f"{kb // 1024}" for kb in rss) + " MB", "flat",
                              f"load {os.getloadavg()[0]:4.1f}"))
                if samples:
                    notes.append("RSS every ~1,000 requests (MB): " + " ".join(map(str, samples)))
        finally:
            server.terminate()
            server.wait(10)
            errors = server.stderr.read().decode(errors="replace") if server.stderr else ""
    print()
    for line in notes:
        print(line)
    if errors.strip():
        print("\nserver stderr (last lines):\n" + "\n".join(errors.strip().splitlines()[-10:]))


if __name__ == "__main__":
    main()
