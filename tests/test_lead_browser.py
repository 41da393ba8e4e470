"""The lead's view in Chromium (Playwright): coders overlaid in lanes, refused in blind mode;
retrieval results, search hits and memos open the document at the passage, highlighted."""

from __future__ import annotations

import io
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.test_lead_view import Marks, two_coders
from tests.test_web_api import client, post, token
from tests.test_web_browser import Console, browser, codings, open_as, open_document, serve, shot  # noqa: F401

__all__ = ["browser", "serve"]  # fixtures, imported for pytest


def late_passage(folder: Path) -> dict:
    """alice codes a respondent's sentence near the end of E1 (off-screen when E1 opens) as 'k'."""
    alice = client(folder, "alice")
    doc = alice.get("/api/documents/E1").json()
    seg = [s for t in doc["turns"] if t["role"] == "respondent" for s in t["segments"]][-3]
    made = post(alice, document="E1", start=seg["start"] + 3, end=seg["end"], code="k", memo="late, on fairs")
    assert made.status_code == 201, made.text
    return made.json() | {"full": doc["text"]}


def passage_shown(page: Page, start: int, end: int, text: str) -> None:
    """The passage is marked (CSS highlight of exactly its text) and inside the viewport."""
    expect(page.locator("#text .jumped").first).to_be_visible()
    marked = page.evaluate("""() => {
        const h = CSS.highlights.get('qda-jump');
        if (!h) return null;
        const range = [...h][0];
        const box = range.getBoundingClientRect();
        return {text: range.toString(), top: box.top, bottom: box.bottom, height: innerHeight,
                jump: window.qda.jump};
    }""")
    assert marked is not None, "no passage highlighted"
    assert marked["text"] == text and (marked["jump"]["start"], marked["jump"]["end"]) == (start, end)
    assert 0 <= marked["top"] and marked["bottom"] <= marked["height"], marked


def test_overlay_of_two_coders_in_separate_lanes(browser: Browser, serve, demo_project: Path) -> None:
    a, b, a2 = two_coders(demo_project)
    page, console = open_as(browser, serve(demo_project, unblind=True), "lead")
    open_document(page, "E1")
    expect(page.locator("#blind")).to_have_text("not blind")  # the page always shows the mode (issue 20)
    expect(page.locator("#role")).to_have_text("lead")  # the single user on localhost is the lead
    expect(page.locator(".stripe")).to_have_count(0)  # the lead's own codings: none yet
    chooser = page.locator("#lead-bar .coder-chooser")
    chooser.locator("input[data-coder='alice']").check()
    expect(page.locator(".stripe")).to_have_count(2)
    chooser.locator("input[data-coder='bruno']").check()
    expect(page.locator(".stripe")).to_have_count(3)
    assert "coders=lead%2Calice%2Cbruno" in page.evaluate("location.hash")
    chooser.locator("input[data-coder='lead']").uncheck()
    expect(page.locator(".stripe")).to_have_count(3)
    shown = sorted((c["coder"], c["code"], c["start"], c["end"]) for c in codings(page))
    assert shown == sorted((c["coder"], c["code"], c["start"], c["end"]) for c in (a, b, a2))
    # one lane group per coder: no stripe of alice shares a lane (horizontal place) with one of bruno
    lanes = page.evaluate("""() => [...document.querySelectorAll('.stripe')].map(s =>
        [s.dataset.coder, s.getBoundingClientRect().left, getComputedStyle(s).backgroundColor])""")
    alice_x = {x for who, x, _ in lanes if who == "alice"}
    bruno_x = {x for who, x, _ in lanes if who == "bruno"}
    assert len(alice_x) == 2 and len(bruno_x) == 1 and not alice_x & bruno_x  # alice's two overlap: two lanes
    # each stripe runs from the first line of its coding to the last (a coding over a whole paragraph too)
    misplaced = page.evaluate("""() => window.qda.codings.map(c => {
        const stripe = document.querySelector(`.stripe[data-id='${c.id}']`).getBoundingClientRect();
        const first = window.qda.pieceByStart.get(c.start), last = window.qda.pieceByEnd.get(c.end);
        const range = document.createRange();
        range.setStartBefore(first); range.setEndAfter(last);
        const text = range.getBoundingClientRect();
        return [c.id, Math.round(stripe.top - text.top), Math.round(stripe.bottom - text.bottom)];
    }).filter(([, top, bottom]) => Math.abs(top) > 2 || Math.abs(bottom) > 2)""")
    assert misplaced == []
    assert len({color for who, _, color in lanes if who == "alice"}) == 1
    assert {color for who, _, color in lanes if who == "alice"} != {color for who, _, color in lanes if who == "bruno"}
    legend = page.locator("#lead-bar .coder-legend")
    expect(legend).to_contain_text("alice")
    expect(legend).to_contain_text("bruno")
    # text coded by both coders carries both coders' underlines
    underlines = """n => window.qda.pieces.filter(p => p.overlay && new Set(p.overlay.map(c => c.coder)).size == n)
        .map(p => getComputedStyle(p).backgroundImage)"""
    both, alone = page.evaluate(underlines, 2), page.evaluate(underlines, 1)
    assert both and all(lines.count("linear-gradient") == 2 for lines in both)
    assert alone and all(lines.count("linear-gradient") == 1 for lines in alone)
    shot(page, "overlay")
    # another coder's coding is shown, not editable
    page.locator(f".stripe[data-id='{b['id']}']").click()
    expect(page.locator("#message")).to_contain_text("not editable")
    expect(page.locator("#editor")).to_be_hidden()
    # the download link exports what is shown
    href = page.locator("#export-html").get_attribute("href")
    assert href and "coders=alice%2Cbruno" in href
    exported = page.evaluate("url => fetch(url).then(r => r.text())", href)
    marks = Marks()
    marks.feed(exported)
    assert set(marks.margin) == {str(a["id"]), str(b["id"]), str(a2["id"])}
    assert console.errors == []


def test_overlay_is_refused_in_blind_mode(browser: Browser, serve, demo_project: Path) -> None:
    two_coders(demo_project)
    url = serve(demo_project)
    page, console = open_as(browser, url, "alice")
    open_document(page, "E1")
    expect(page.locator("#blind")).to_have_text("blind")
    expect(page.locator("#lead-bar")).to_be_visible()
    expect(page.locator("#lead-bar .coder-chooser")).to_have_count(0)  # nothing to choose while blind
    page.goto(url + "#doc=E1&coders=alice,bruno")
    expect(page.locator("#message")).to_contain_text("blind mode")
    assert {c["coder"] for c in codings(page)} == {"alice"}
    assert page.evaluate("fetch('/api/documents/E1?coders=alice,bruno').then(r => r.status)") == 404
    assert page.evaluate("fetch('/api/documents/E1/export?coders=bruno').then(r => r.status)") == 404


def test_retrieval_result_opens_the_document_at_the_passage(browser: Browser, serve, demo_project: Path) -> None:
    made = late_passage(demo_project)
    page, console = open_as(browser, serve(demo_project), "alice")
    page.click("#nav-retrieve")
    page.fill("#ret-codes", "k")
    page.click("#ret-form button[type=submit]")
    link = page.locator("#ret-list a").first
    expect(link).to_have_attribute("href", f"#doc=E1&at={made['start']}-{made['end']}")
    link.click()
    expect(page.locator("#docview")).to_be_visible()
    passage_shown(page, made["start"], made["end"], made["full"][made["start"]:made["end"]])
    assert page.evaluate("window.scrollY") > 0  # it had to scroll: the passage is near the end
    shot(page, "passage")
    # a search hit does the same
    page.click("#nav-search")
    page.fill("#search-q", "Laval")
    page.click("#search-form button[type=submit]")
    hit = page.locator("#search-list a").first
    target = hit.get_attribute("href")
    assert target and target.startswith("#doc=")
    start, end = (int(x) for x in target.split("at=")[1].split("-"))
    hit.click()
    name = target.split("&")[0][len("#doc="):]
    text = client(demo_project, "alice").get(f"/api/documents/{name}").json()["text"]
    passage_shown(page, start, end, text[start:end])
    assert text[start:end] == "Laval"
    assert console.errors == []


def test_memo_overview_filters_and_opens_the_place(browser: Browser, serve, demo_project: Path) -> None:
    made = late_passage(demo_project)
    bruno = client(demo_project, "bruno")
    post(bruno, document="E2", start=0, end=30, code="b")
    for about, target, text in (("document", "E2", "bruno on E2"), ("code", "k", "what counts as a mission")):
        assert bruno.post("/api/memos", json={"about": about, "target": target, "text": text},
                          headers=token(bruno)).status_code == 201
    page, console = open_as(browser, serve(demo_project, unblind=True), "lead")
    page.click("#nav-memos")
    cards = page.locator("#memo-list .memo-card")
    expect(cards).to_have_count(3)
    page.select_option("#memo-author", "bruno")
    expect(cards).to_have_count(2)
    page.select_option("#memo-kind", "code")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("what counts as a mission")
    page.select_option("#memo-author", "")
    page.select_option("#memo-kind", "coding")
    expect(cards).to_have_count(1)
    shot(page, "memos")
    cards.first.locator("a.memo-place").click()
    expect(page.locator("#docview")).to_be_visible()
    passage_shown(page, made["start"], made["end"], made["full"][made["start"]:made["end"]])
    # alice's coding memo, opened by the lead: her codings are shown with it
    assert {c["coder"] for c in codings(page)} == {"alice"}
    # a code memo opens the retrieval of that code
    page.click("#nav-memos")
    page.select_option("#memo-kind", "code")
    page.locator("#memo-list a.memo-place").first.click()
    expect(page.locator("#retrieve")).to_be_visible()
    expect(page.locator("#ret-codes")).to_have_value("k")
    assert console.errors == []


def test_download_links_give_the_docx(browser: Browser, serve, demo_project: Path) -> None:
    from docx import Document

    a, _, a2 = two_coders(demo_project)
    page, _ = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    with page.expect_download() as info:
        page.click("#export-docx")
    download = info.value
    assert download.suggested_filename == "E1-coded.docx"
    book = Document(io.BytesIO(Path(download.path()).read_bytes()))
    assert sorted(c.author for c in book.comments) == ["alice", "alice"]
