"""The coding workspace in a real browser: Playwright driving Debian's Chromium.

Nothing downloads a browser: Chromium is launched by path. The tests skip only on a
developer machine without /usr/bin/chromium; under CI (``CI`` set) a missing Chromium
is a failure, so these tests always run there.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import run

CHROMIUM = Path(os.environ.get("QDA_CHROMIUM", "/usr/bin/chromium"))
DOC_SHOTS = Path(__file__).resolve().parent.parent / "docs" / "img"

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI: {CHROMIUM} is missing; .ci/run must install Debian's chromium")
    pytest.skip(f"no {CHROMIUM} on this machine (apt-get install chromium)", allow_module_level=True)

if not os.environ.get("CI"):
    pytest.importorskip("playwright.sync_api")
import uvicorn  # noqa: E402
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from qda.web import create_app  # noqa: E402
from tests.webwait import answer_to  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start the workspace on a free loopback port in a background thread; returns its URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(folder: Path, **options: Any) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(folder, **options), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}/"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


class Console:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def open_as(browser: Browser, url: str, coder: str) -> tuple[Page, Console]:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    console = Console(page)
    page.goto(url)
    page.fill("#coder-input", coder)
    page.press("#coder-input", "Enter")
    expect(page.locator("#message")).to_contain_text(f"Coding as {coder}")
    expect(page.locator("#doc-table tbody tr").first).to_be_visible()
    return page, console


def open_document(page: Page, name: str) -> None:
    page.click(f"#doc-table a:text-is('{name}')")
    expect(page.locator("#text span[data-s]").first).to_be_visible()


def codings(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.qda.codings")


def shot(page: Page, name: str) -> None:
    """Screenshots of each view for docs/serve.md, written when QDA_DOC_SHOTS=1."""
    if os.environ.get("QDA_DOC_SHOTS"):
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        path = DOC_SHOTS / f"{name}.png"
        page.screenshot(path=str(path), type="png")
        try:  # a 128-colour palette keeps the PNGs in the repository small
            from PIL import Image
        except ImportError:
            return
        Image.open(path).convert("RGB").quantize(128, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)


def drag_select(page: Page, locator: Any, dx: float = 260, dy: float = 0) -> None:
    # from the start of the element's own text (its first line box): the middle of a tall
    # element can fall between two lines, where a press starts no selection
    box = locator.evaluate("e => { const r = e.getClientRects()[0]; return {x: r.left, y: r.top, height: r.height}; }")
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 4, y)
    page.mouse.down()
    page.mouse.move(box["x"] + dx, y + dy, steps=5)
    page.mouse.up()


def keyboard_code(page: Page, moves: int, code: str) -> None:
    """Move the segment cursor, open the picker with Enter, type the code id, Enter."""
    page.locator("#text").focus()
    for _ in range(moves):
        page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.locator("#picker")).to_be_visible()
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_mouse_selection_shortcut_reload_and_matrix(browser: Browser, serve, demo_project: Path) -> None:
    url = serve(demo_project)
    page, console = open_as(browser, url, "alice")
    shot(page, "documents")
    open_document(page, "E1")
    respondent = page.locator("#text span.role-respondent").nth(2)
    drag_select(page, respondent)
    expect(page.locator("#picker")).to_be_visible()
    shot(page, "picker")
    page.keyboard.press("1")  # shortcut 1: the first code (no code used yet)
    expect(page.locator(".stripe")).to_have_count(1)
    made = codings(page)[0]
    assert made["code"] == "a" and made["coder"] == "alice" and len(made["text"]) > 10
    page.reload()
    expect(page.locator(f".stripe[data-id='{made['id']}']")).to_have_count(1)
    expect(page.locator("#text span.coded").first).to_be_visible()
    shot(page, "document")
    result = run(CliRunner(), "-p", demo_project, "matrix", "case", "E1", "--coder", "alice", "--format", "json")
    quotes = [q for row in json.loads(result.stdout)["codes"] for q in row["quotes"]]
    assert made["text"] in [q["text"] for q in quotes]
    assert console.errors == []


def test_two_coders_at_once_lose_nothing(browser: Browser, serve, demo_project: Path) -> None:
    url = serve(demo_project)
    alice, alice_console = open_as(browser, url, "alice")
    bruno, bruno_console = open_as(browser, url, "bruno")
    for page in (alice, bruno):
        open_document(page, "E2")
        page.locator("#text").focus()
    # interleaved keyboard codings, each page not waiting for the other's answers
    for _ in range(4):
        for page in (alice, bruno):
            page.keyboard.press("j")
            page.keyboard.press("2")  # shortcut 2: code b (codebook order until counts differ)
    bruno.keyboard.press("j")
    bruno.keyboard.press("Enter")
    bruno.keyboard.type("c")
    bruno.keyboard.press("Enter")
    expect(alice.locator(".stripe")).to_have_count(4)
    expect(bruno.locator(".stripe")).to_have_count(5)
    report = json.loads(run(CliRunner(), "-p", demo_project, "agree", "alice", "bruno", "--unit", "overlap",
                            "--format", "json").stdout)
    units = {c["code"]: c["n_units"] for c in report["codes"]}
    # 4 paired spans of b (one unit each, two codings) + bruno's lone c: all 9 codings counted
    assert units["b"] == 4 and units["c"] == 1
    assert alice_console.errors == [] and bruno_console.errors == []


def test_blind_mode_hides_the_other_coder(browser: Browser, serve, demo_project: Path) -> None:
    url = serve(demo_project)
    alice, _ = open_as(browser, url, "alice")
    open_document(alice, "E1")
    keyboard_code(alice, 2, "a")
    expect(alice.locator(".stripe")).to_have_count(1)
    bruno, _ = open_as(browser, url, "bruno")
    open_document(bruno, "E1")
    keyboard_code(bruno, 3, "b")
    expect(bruno.locator(".stripe")).to_have_count(1)
    bruno.reload()
    expect(bruno.locator("#blind")).to_be_visible()
    expect(bruno.locator(".stripe")).to_have_count(1)
    assert [c["coder"] for c in codings(bruno)] == ["bruno"]
    status = bruno.evaluate("fetch('/api/documents/E1?coder=alice').then(r => r.status)")
    assert status == 404  # hidden: answered as if not there
    lead = serve(demo_project, unblind=True)
    page, _ = open_as(browser, lead, "lead")
    assert page.evaluate("fetch('/api/documents/E1?coder=alice').then(r => r.json())")["codings"][0]["code"] == "a"


def test_keyboard_only_coding_with_undo_and_redo(browser: Browser, serve, demo_project: Path) -> None:
    url = serve(demo_project)
    page, console = open_as(browser, url, "alice")
    page.locator("#doc-table tbody tr").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#text span[data-s]").first).to_be_visible()
    page.locator("#text").focus()
    for _ in range(22):  # more than the 20 undo steps the workspace promises
        page.keyboard.press("j")
        page.keyboard.press("1")
    expect(page.locator(".stripe")).to_have_count(22)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.keyboard.type("démo")  # type-ahead on the label finds code b
    expect(page.locator("#picker-list li.active")).to_have_attribute("data-code", "b")
    page.keyboard.press("Enter")
    expect(page.locator(".stripe")).to_have_count(23)
    for left in range(22, -1, -1):  # each undo waits for the previous one to reach the server
        page.keyboard.press("Control+z")
        expect(page.locator(".stripe")).to_have_count(left)
    assert page.evaluate("fetch('/api/documents/E1').then(r => r.json())")["codings"] == []
    for done in (1, 2):
        page.keyboard.press("Control+Shift+z")
        expect(page.locator(".stripe")).to_have_count(done)
    assert len(page.evaluate("fetch('/api/documents/E1').then(r => r.json())")["codings"]) == 2
    assert console.errors == []


def test_unknown_code_and_bad_span_get_a_visible_message(browser: Browser, serve, demo_project: Path) -> None:
    url = serve(demo_project)
    page, _ = open_as(browser, url, "alice")
    open_document(page, "E1")
    keyboard_code(page, 2, "zz")
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).to_contain_text("Unknown code 'zz'")
    expect(page.locator("#message")).to_contain_text("qda codebook load")
    page.keyboard.press("Escape")
    keyboard_code(page, 1, "a")
    expect(page.locator(".stripe")).to_have_count(1)
    page.locator(".stripe").click()
    card = page.locator("#editor .card")
    card.locator("input[name=end]").fill("99999999")
    card.locator("button[type=submit]").click()
    expect(page.locator("#message")).to_contain_text("Bad span")
    card.locator("input[name=end]").fill(str(codings(page)[0]["start"]))
    card.locator("button[type=submit]").click()
    expect(page.locator("#message")).to_contain_text("Bad span")
    card.locator("select[name=code]").select_option("c")
    card.locator("input[name=end]").fill(str(codings(page)[0]["end"]))
    card.locator("button[title='end one word earlier']").click()  # drop the last word
    card.locator("button[title='end one word later']").click()  # and take it back
    card.locator("textarea[name=memo]").fill("a memo <b>kept</b>")
    card.locator("button[type=submit]").click()
    expect(page.locator("#message")).to_contain_text("Saved coding c")
    assert codings(page)[0]["code"] == "c" and codings(page)[0]["memo"] == "a memo <b>kept</b>"
    card = page.locator("#editor .card")
    before = codings(page)[0]
    card.locator("button[title='end one word earlier']").click()
    page.evaluate("document.querySelector('#message').textContent = ''")  # the same message comes again
    card.locator("button[type=submit]").click()
    expect(page.locator("#message")).to_contain_text("Saved coding c")
    after = codings(page)[0]
    assert after["start"] == before["start"] and after["end"] < before["end"]
    assert before["text"].startswith(after["text"]) and after["text"].split() == before["text"].split()[:-1]
    shot(page, "edit")


def test_transcript_markup_is_shown_as_text(browser: Browser, serve, demo_project: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "X1.txt"
    hostile.write_text("Intervieweur : Qu'avez-vous écrit ?\n\n"
                       "Répondant : <script>window.pwned = 1</script> & <img src=x onerror=\"window.pwned=2\"> "
                       "\"quotes\" 'single' <b>bold?</b>\n", encoding="utf-8")
    run(CliRunner(), "-p", demo_project, "import", "transcripts", hostile)
    url = serve(demo_project)
    page, console = open_as(browser, url, "alice")
    open_document(page, "X1")
    text = page.locator("#text").inner_text()
    assert "<script>window.pwned = 1</script>" in text and "<img src=x" in text
    assert page.locator("#text script, #text img, #text b").count() == 0
    assert page.evaluate("window.pwned") is None
    assert console.errors == []


def test_search_code_reviewed_hits_then_retrieve(browser: Browser, serve, demo_project: Path) -> None:
    page, console = open_as(browser, serve(demo_project), "alice")
    page.click("#nav-search")
    page.fill("#search-q", "démonstration")
    page.press("#search-q", "Enter")
    expect(page.locator("#search-list .hit").first).to_be_visible()
    total = page.locator("#search-list .hit").count()
    assert total >= 2
    page.fill("#search-code", "b")
    page.click("#search-apply")
    expect(page.locator("#message")).to_contain_text("Tick the hits")  # nothing coded unreviewed
    page.locator("#search-list input[type=checkbox]").nth(0).check()
    page.locator("#search-list input[type=checkbox]").nth(1).check()
    # one write, the page's first (a snapshot first): wait for its answer, then read the message
    assert answer_to(page, "POST", "/api/codings/batch", lambda: page.click("#search-apply")).status == 201
    expect(page.locator("#message")).to_contain_text("Coded 2 hit(s) as b")
    shot(page, "search")
    # the same hits ticked again are not coded twice
    page.press("#search-q", "Enter")
    page.locator("#search-list input[type=checkbox]").nth(0).check()
    page.locator("#search-list input[type=checkbox]").nth(1).check()
    assert answer_to(page, "POST", "/api/codings/batch", lambda: page.click("#search-apply")).status == 201
    expect(page.locator("#message")).to_contain_text("Coded 0 hit(s) as b. 2 already coded with b")
    page.click("#nav-retrieve")
    page.fill("#ret-codes", "b")
    page.click("#ret-form button[type=submit]")
    expect(page.locator("#ret-list .cmp-card")).to_have_count(2)
    expect(page.locator("#ret-list mark").first).to_have_text("démonstration", ignore_case=True)
    shot(page, "retrieve")
    href = page.locator("#ret-csv").get_attribute("href")
    csv = page.evaluate("url => fetch(url).then(r => r.text())", href)
    import csv as csv_module
    rows = list(csv_module.DictReader(csv.lstrip("\ufeff").splitlines(keepends=True)))
    assert len(rows) == 2 and all(r["text"].lower() == "démonstration" and r["code"] == "b" for r in rows)
    # hits already coded are reported by the one batch request, not refused one by one
    assert console.errors == []


def test_five_search_hits_coded_in_one_request_and_undone_in_one(browser: Browser, serve,
                                                                 demo_project: Path) -> None:
    page, console = open_as(browser, serve(demo_project), "alice")
    writes: list[tuple[str, str]] = []
    page.on("request", lambda r: writes.append((r.method, r.url)) if "/api/codings" in r.url else None)
    page.click("#nav-search")
    page.fill("#search-q", "le")
    page.press("#search-q", "Enter")
    expect(page.locator("#search-list .hit").nth(5)).to_be_visible()
    boxes = page.locator("#search-list input[type=checkbox]")
    for i in range(5):
        boxes.nth(i).check()
    page.fill("#search-code", "a")
    assert answer_to(page, "POST", "/api/codings/batch", lambda: page.click("#search-apply")).status == 201
    expect(page.locator("#message")).to_contain_text("Coded 5 hit(s) as a")
    shot(page, "search-batch")
    assert [m for m, _ in writes] == ["POST"] and writes[0][1].endswith("/api/codings/batch")
    stored = page.evaluate("fetch('/api/documents').then(r => r.json()).then(a => a.documents)")
    assert sum(d["codings"].get("alice", 0) for d in stored) == 5
    page.click("#undo")  # one undo takes the five back, in one request
    expect(page.locator("#message")).to_contain_text("Undone.")
    assert [m for m, _ in writes] == ["POST", "DELETE"] and writes[1][1].endswith("/api/codings/batch")
    stored = page.evaluate("fetch('/api/documents').then(r => r.json()).then(a => a.documents)")
    assert sum(d["codings"].get("alice", 0) for d in stored) == 0
    page.click("#redo")  # and redo codes them again, in one request
    expect(page.locator("#message")).to_contain_text("Redone.")
    stored = page.evaluate("fetch('/api/documents').then(r => r.json()).then(a => a.documents)")
    assert sum(d["codings"].get("alice", 0) for d in stored) == 5 and len(writes) == 3
    assert console.errors == []
