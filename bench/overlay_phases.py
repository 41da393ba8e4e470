"""Where the overlay's drawing time goes (issue 16): phases of one document view in Chromium.

Builds bench/serve.py's project (one ~300,000-character transcript; ana, ben and cleo with
2,000 codings each), serves it with ``qda serve --unblind``, opens
``#doc=BIG&coders=ana,ben,cleo`` ``--runs`` times and prints, per phase, the median time
from the page's ``performance.mark`` calls (workspace.js and lead.js), the resource timing
of the document's JSON, and Chromium's own counters (CDP ``Performance.getMetrics``: script,
style, layout and task seconds of the renderer for the whole view); then one view traced (the
renderer main thread's CPU time per kind of work, and each large style/layout pass with the
number of elements it styled) and one under V8's sampling profiler (self time per function).
The CPU figures of the trace change little with the machine's load; the wall times do. With ``--screenshots DIR``
it also saves the top of the document and a region where the three coders overlap at 1280 px.

Usage: python bench/overlay_phases.py [--runs 5] [--code CHECKOUT] [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import OVERLAY, ROOT, build, free_port  # noqa: E402

MARKS = ("qda:doc-asked", "qda:doc-parsed", "qda:pieces-built", "qda:text-attached", "qda:text-laid-out",
         "qda:stripes-placed", "qda:margin-drawn", "qda:painted")
TRACED = ("RunTask", "FunctionCall", "EvaluateScript", "V8.ParseOnBackground", "ParseHTML", "UpdateLayoutTree",
          "Layout", "PrePaint", "Paint", "Layerize", "HitTest")
METRICS = ("TaskDuration", "ScriptDuration", "RecalcStyleDuration", "LayoutDuration")


def view(page, cdp, base: str) -> dict[str, float]:
    """One drawing of the overlay: the phase ends (ms since navigation) and the renderer's counters."""
    page.goto("about:blank")
    before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    page.goto(base + "#doc=BIG&coders=" + ",".join(OVERLAY))
    deadline = time.monotonic() + 120
    while not page.evaluate("!!(window.qda && window.qda.drawnAt)"):
        if time.monotonic() > deadline:
            raise TimeoutError("the overlay was not drawn within 120 s")
        time.sleep(0.05)
    # and the frame after it (laid out and painted); a checkout without the marks has this too
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done)))")
    after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    found = page.evaluate("""(names) => {
        const out = {};
        for (const n of names) {
            const e = performance.getEntriesByName(n);
            if (e.length) out[n] = e[e.length - 1].startTime;
        }
        const doc = performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/documents/BIG'));
        if (doc.length) { out['json:requested'] = doc[0].requestStart; out['json:received'] = doc[0].responseEnd; }
        out['drawnAt'] = window.qda.drawnAt;
        out['stripes'] = document.querySelectorAll('#margin .stripe').length;
        out['pieces'] = document.querySelectorAll('#text span[data-s]').length;
        return out;
    }""", list(MARKS))
    for name in METRICS:
        found["cdp:" + name] = (after.get(name, 0) - before.get(name, 0)) * 1000
    return found


PHASES = [("navigation → document asked", None, "qda:doc-asked"),
          ("  JSON on the wire (server + transfer)", "json:requested", "json:received"),
          ("JSON parsed (+ codebook wait)", "json:received", "qda:doc-parsed"),
          ("pieces built (detached DOM)", "qda:doc-parsed", "qda:pieces-built"),
          ("text attached (+ cursor)", "qda:pieces-built", "qda:text-attached"),
          ("style + layout of the text (first read)", "qda:text-attached", "qda:text-laid-out"),
          ("stripe positions read, stripes built", "qda:text-laid-out", "qda:stripes-placed"),
          ("stripes attached", "qda:stripes-placed", "qda:margin-drawn"),
          ("= drawnAt (what bench/serve.py reports)", None, "drawnAt"),
          ("frame after: style, layout, paint", "qda:margin-drawn", "qda:painted")]


def print_phases(runs: list[dict[str, float]]) -> None:
    """Median wall time of each phase, and of Chromium's counters, over the runs."""
    for label, start, end in PHASES:
        values = [r[end] - (r[start] if start else 0) for r in runs if end in r and (start is None or start in r)]
        if values:
            print(f"  {label:<44} {statistics.median(values):8.0f} ms")
    for name in METRICS:
        print(f"  renderer {name:<35} {statistics.median(r['cdp:' + name] for r in runs):8.0f} ms")


def print_trace(browser: Any, page: Any, cdp: Any, base: str) -> None:
    """One view traced: the renderer main thread's own CPU time (tdur) per kind of work, which
    the load of other processes on the machine inflates far less than the wall time."""
    browser.start_tracing(page=page, categories=["devtools.timeline", "disabled-by-default-devtools.timeline"])
    view(page, cdp, base)
    trace = json.loads(browser.stop_tracing())
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    main = {(e["pid"], e["tid"]) for e in events
            if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"}
    mine = [e for e in events if (e.get("pid"), e.get("tid")) in main and e.get("ph") == "X"]
    wall: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)
    print("  traced view, the large style and layout passes (wall / CPU ms, elements or objects):")
    for e in sorted(mine, key=lambda e: e.get("ts", 0)):
        if e["name"] in TRACED:
            wall[e["name"]] += e.get("dur", 0) / 1000
            cpu[e["name"]] += e.get("tdur", 0) / 1000
        if e["name"] in ("UpdateLayoutTree", "Layout") and e.get("dur", 0) > 5000:
            args = e.get("args", {})
            size = args.get("elementCount") or args.get("beginData", {}).get("dirtyObjects")
            print(f"    {e['name']:<40} {e['dur'] / 1000:8.0f} / {e.get('tdur', 0) / 1000:6.0f}  {size}")
    print("  traced view, renderer main thread totals (wall / CPU ms; RunTask holds the others):")
    for name in TRACED:
        if wall[name]:
            print(f"    {name:<40} {wall[name]:8.0f} / {cpu[name]:6.0f}")


def print_profile(page: Any, cdp: Any, base: str) -> None:
    """One view under V8's sampling profiler: self time per function (forced style and layout
    count as the self time of the function whose read forced them)."""
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    cdp.send("Profiler.start")
    view(page, cdp, base)
    profile = cdp.send("Profiler.stop")["profile"]
    where = {}
    for node in profile["nodes"]:
        frame = node["callFrame"]
        script = frame["url"].rsplit("/", 1)[-1]
        where[node["id"]] = f"{frame['functionName'] or '(anonymous)'} {script}:{frame['lineNumber'] + 1}"
    self_ms: dict[str, float] = defaultdict(float)
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        self_ms[where[sample]] += delta / 1000
    print("  profiled view, self time by function (ms, sampled):")
    for name, ms in sorted(self_ms.items(), key=lambda kv: -kv[1])[:14]:
        print(f"    {name:<60} {ms:6.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="serve the page of this checkout of qda (e.g. an older one, to compare)")
    parser.add_argument("--screenshots", type=Path, help="save overlay-top.png and overlay-overlap.png here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "project"
        build(folder, 300_000, 2_000)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "qda", "-p", str(folder), "serve", "--unblind", "--port",
                                   str(port)], cwd=args.code, env={**os.environ, "PYTHONPATH": str(args.code)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    httpx.get(base + "/api/session", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(base)
                page.evaluate("""async () => {
                    const s = await (await fetch('/api/session')).json();
                    await fetch('/api/session', {method: 'POST', headers: {'Content-Type': 'application/json',
                        'X-CSRF-Token': s.csrf}, body: JSON.stringify({coder: 'ana'})});
                }""")
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                runs = [view(page, cdp, base) for _ in range(args.runs)]
                print(f"{args.runs} views of #doc=BIG&coders={','.join(OVERLAY)}: {runs[0]['pieces']:,} pieces, "
                      f"{runs[0]['stripes']:,} stripes; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
                print_phases(runs)
                print_trace(browser, page, cdp, base)
                print_profile(page, cdp, base)
                if args.screenshots:
                    args.screenshots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(args.screenshots / "overlay-top.png"))
                    # a region where all three coders have a coding: the first piece with three underlines
                    page.evaluate("""() => { const p = window.qda.pieces.find((s) => s.mask === 7);
                                             if (p) p.scrollIntoView({block: 'center'}); }""")
                    time.sleep(0.3)
                    page.screenshot(path=str(args.screenshots / "overlay-overlap.png"))
                browser.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
