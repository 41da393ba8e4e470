"""Coding that feels direct, on screens from 800 to 1920 px (issue 16, parts 4 and 7):
Playwright driving Debian's Chromium, like tests/test_web_browser.py (same fixtures)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from qda.project import Project
from tests import test_web_browser as shared
from tests.test_web_browser import open_as, open_document, shot

# the Chromium and server fixtures of test_web_browser.py (pytest finds fixtures by name here)
browser = shared.browser
serve = shared.serve

# where a code point offset of the transcript is on the screen (the middle of that character)
POINT = """off => {
  const piece = [...document.querySelectorAll('#text span[data-s]')]
    .find(e => Number(e.dataset.s) <= off && off < Number(e.dataset.e));
  const node = piece.firstChild;
  const at = Array.from(node.textContent).slice(0, off - Number(piece.dataset.s)).join('').length;
  const range = document.createRange();
  range.setStart(node, at); range.setEnd(node, at + 1);
  const box = range.getClientRects()[0];
  return {x: box.left + box.width / 2, y: box.top + box.height / 2};
}"""
# how far (px) each margin stripe is from the top of the text it stands for
STRIPE_OFFSETS = """() => [...document.querySelectorAll('.stripe')].map(s => {
  const c = window.qda.codings.find(c => c.id === Number(s.dataset.id));
  return Math.abs(s.getBoundingClientRect().top - window.qda.pieceByStart.get(c.start).getBoundingClientRect().top);
})"""
NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"


def respondent_segments(project_folder: Path, document: str = "E1") -> list[Any]:
    with Project.open(project_folder) as project:
        return [s for s in project.segments(document=document) if s.role == "respondent"]


def stored(project_folder: Path, coder: str = "alice") -> list[Any]:
    with Project.open(project_folder) as project:
        return sorted(project._store.codings(coder=coder), key=lambda c: (c.start, c.code))


def cursor_to(page: Page, start: int) -> None:
    """Put the segment cursor on the segment starting at ``start`` with j presses."""
    index = page.evaluate(f"window.qda.segments.findIndex(s => s.start === {start})")
    assert index >= 0
    page.locator("#text").focus()
    for _ in range(index + 1):
        page.keyboard.press("j")
    assert page.evaluate("window.qda.cursor") == index


def serious(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]} {v['help']}"
            for v in found if v["impact"] in ("serious", "critical")]


def test_toast_announces_success_and_refusal_where_the_user_looks(browser: Browser, serve, demo_project: Path) -> None:
    seg = respondent_segments(demo_project)[-1]  # far down: the top of the page is out of sight
    page, console = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    region = page.locator("#message")
    assert region.get_attribute("role") == "status" and region.get_attribute("aria-atomic") == "true"
    cursor_to(page, seg.start)
    page.keyboard.press("1")
    expect(region).to_contain_text("as a.")
    assert page.evaluate("window.scrollY") > 300
    page.keyboard.press("1")  # the same code on the same passage: refused by the server (422)
    expect(region).to_contain_text("already coded this passage")
    assert region.get_attribute("aria-live") == "assertive"  # an error interrupts the screen reader
    box = page.locator("#toast").bounding_box()
    viewport = page.viewport_size
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"]
    page.click("#toast-close")
    expect(region).to_have_text("")
    assert len(stored(demo_project)) == 1
    assert [e for e in console.errors if "status of 422" not in e] == []


def test_picker_keeps_the_selection_and_takes_several_codes(browser: Browser, serve, demo_project: Path) -> None:
    seg = respondent_segments(demo_project)[1]
    page, console = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    cursor_to(page, seg.start)
    page.keyboard.press("Enter")
    expect(page.locator("#picker")).to_be_visible()
    expect(page.locator("#picker-span")).to_have_text(seg.text)
    assert page.evaluate("CSS.highlights.has('qda-pending')")
    assert page.evaluate("CSS.highlights.get('qda-pending').values().next().value.toString()") == seg.text
    for code in ("a", "h"):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        expect(page.locator(f"#picker-list li.applied[data-code='{code}']")).to_have_count(1)
    expect(page.locator("#picker")).to_be_visible()  # still open after two codes
    assert page.evaluate("CSS.highlights.has('qda-pending')")
    page.keyboard.type("a")
    page.keyboard.press("Enter")  # chosen again: taken off
    expect(page.locator("#picker-list li.applied")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page.locator("#picker")).to_be_hidden()
    assert not page.evaluate("CSS.highlights.has('qda-pending')")
    assert [(c.code, c.start, c.end) for c in stored(demo_project)] == [("h", seg.start, seg.end)]
    assert console.errors == []


def test_esc_in_the_picker_keeps_the_keyboard_cursor(browser: Browser, serve, demo_project: Path) -> None:
    page, _ = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    page.locator("#text").focus()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.locator("#picker")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#picker")).to_be_hidden()
    assert page.evaluate("window.qda.cursor") == 1
    assert page.evaluate("document.activeElement.id") == "text"
    page.keyboard.press("j")
    assert page.evaluate("window.qda.cursor") == 2
    page.keyboard.press("1")  # and the cursor still codes
    expect(page.locator(".stripe")).to_have_count(1)


def test_e_opens_the_editor_without_touching_its_fields(browser: Browser, serve, demo_project: Path) -> None:
    seg = respondent_segments(demo_project)[2]
    with Project.open(demo_project) as project:
        project.add_coding("alice", "E1", "k", start=seg.start, end=seg.end)
    page, console = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    cursor_to(page, seg.start)
    page.keyboard.press("e")
    card = page.locator("#editor .card")
    expect(card).to_have_count(1)
    expect(card.locator("select[name=code]")).to_have_value("k")  # the key did not land in the drop-down
    assert page.evaluate("document.activeElement.id") == "editor-title"
    page.keyboard.press("e")  # again: still nothing typed anywhere
    expect(card.locator("select[name=code]")).to_have_value("k")
    card.locator("button[type=submit]").click()
    expect(page.locator("#message")).to_contain_text("Nothing to save")
    card.locator("textarea[name=memo]").fill("only the memo")
    card.locator("button[type=submit]").click()
    expect(page.locator("#message")).to_contain_text("Saved coding k: memo.")
    [kept] = stored(demo_project)
    assert (kept.code, kept.start, kept.end, kept.note) == ("k", seg.start, seg.end, "only the memo")
    # Esc closes the editor, and so does its close button
    page.locator("#editor-title").focus()
    page.keyboard.press("Escape")
    expect(page.locator("#editor")).to_be_hidden()
    assert page.evaluate("window.qda.cursor") >= 0  # the cursor stays for the next Esc
    page.keyboard.press("e")
    expect(page.locator("#editor")).to_be_visible()
    page.click("#editor-close")
    expect(page.locator("#editor")).to_be_hidden()
    assert console.errors == []


def test_margin_stripes_follow_the_text_when_it_reflows(browser: Browser, serve, demo_project: Path) -> None:
    segs = respondent_segments(demo_project)
    with Project.open(demo_project) as project:
        for seg in segs[:6]:
            project.add_coding("alice", "E1", "a", start=seg.start, end=seg.end)
    page, _ = open_as(browser, serve(demo_project), "alice")
    page.set_viewport_size({"width": 1280, "height": 900})
    open_document(page, "E1")
    aligned = f"() => ({STRIPE_OFFSETS})().every(d => d < 2)"
    page.wait_for_function(aligned)
    page.locator(".stripe").first.click()  # the editor opens: the text column narrows and reflows
    expect(page.locator("#editor")).to_be_visible()
    page.wait_for_function(aligned)
    page.click("#editor-close")
    page.wait_for_function(aligned)
    page.set_viewport_size({"width": 820, "height": 900})
    page.wait_for_function(aligned)
    assert max(page.evaluate(STRIPE_OFFSETS)) < 2


@pytest.mark.parametrize("snap", ["word", "none"])
def test_drag_an_edge_with_a_live_preview_stores_the_new_offsets(browser: Browser, serve, demo_project: Path,
                                                                 snap: str) -> None:
    seg = next(s for s in respondent_segments(demo_project) if len(s.text) > 80)
    with Project.open(demo_project) as project:
        made = project.add_coding("alice", "E1", "a", start=seg.start, end=seg.end)
        text = project.workspace_document("E1")[0].text
    page, console = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    page.select_option("#snap", snap)
    page.locator(f".stripe[data-id='{made.id}']").click()
    handle = page.locator(".handle-end")
    expect(handle).to_have_count(1)
    target = seg.end - 12
    while not text[target].isalnum() or not text[target - 1].isalnum():
        target -= 1  # inside a word, so that the snap matters
    # the handles are drawn again whenever the text reflows (the editor just opened): wait
    # until the layout has settled, then take the handle where it is
    page.wait_for_function(f"() => ({STRIPE_OFFSETS})().every(d => d < 2)")
    expect(handle).to_be_visible()
    box = handle.bounding_box()
    assert box, "the handle was detached while it was measured"
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    spot = page.evaluate(POINT, target)
    page.mouse.move(spot["x"], spot["y"], steps=6)
    # the preview: a highlight of the new span and the handle at its new place, nothing stored yet
    assert page.evaluate("CSS.highlights.has('qda-preview')")
    moving = int(page.locator(".handle-end").get_attribute("aria-valuenow"))
    assert moving < seg.end and stored(demo_project)[0].end == seg.end
    page.mouse.up()
    expect(page.locator("#message")).to_contain_text("Saved coding a: span")
    expected = target if snap == "none" else target + re.match(r"\w*", text[target:]).end()
    [after] = stored(demo_project)
    assert (after.start, after.end) == (seg.start, expected) == (seg.start, moving)
    assert not page.evaluate("CSS.highlights.has('qda-preview')")
    # the start edge by keyboard: two words later, Enter stores it
    page.locator(".handle-start").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("CSS.highlights.has('qda-preview')")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_contain_text(f"span {seg.start}–{expected} →")
    [moved] = stored(demo_project)
    assert moved.start > seg.start and moved.end == expected and not text[moved.start].isspace()
    # Ctrl+Z puts both moves back, one at a time
    page.locator("#text").focus()
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    page.wait_for_function(f"() => window.qda.codings[0].end === {seg.end} "
                           f"&& window.qda.codings[0].start === {seg.start}")
    assert [(c.start, c.end) for c in stored(demo_project)] == [(seg.start, seg.end)]
    assert console.errors == []


def test_a_span_across_speakers_is_confirmed_before_it_is_stored(browser: Browser, serve, demo_project: Path) -> None:
    with Project.open(demo_project) as project:
        segs = project.segments(document="E1")
    question = next(s for s, n in zip(segs, segs[1:]) if s.role == "interviewer" and n.role == "respondent")
    page, console = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    cursor_to(page, question.start)
    page.keyboard.press("Shift+j")  # the cursor covers the question and the first sentence of the answer
    page.keyboard.press("Enter")
    page.keyboard.type("a")
    page.keyboard.press("Enter")
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("runs across a speaker turn")
    page.click("#confirm-no")
    expect(page.locator("#message")).to_contain_text("Nothing stored")
    assert stored(demo_project) == []
    page.keyboard.type("a")  # the picker is still open on the same selection
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.click("#confirm-yes")
    expect(page.locator("#message")).to_contain_text("as a.")
    [made] = stored(demo_project)
    assert made.start == question.start and made.end > question.end
    # undo and redo do not ask again: the span was confirmed when it was made
    page.keyboard.press("Escape")
    page.keyboard.press("Control+z")
    expect(page.locator(".stripe")).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    expect(page.locator(".stripe")).to_have_count(1)
    expect(dialog).to_be_hidden()
    assert [(c.start, c.end) for c in stored(demo_project)] == [(made.start, made.end)]
    assert [e for e in console.errors if "status of 409" not in e] == []


def test_layout_from_800_to_1920_px_and_no_serious_accessibility_finding(browser: Browser, serve,
                                                                          demo_project: Path) -> None:
    segs = respondent_segments(demo_project)
    with Project.open(demo_project) as project:
        for seg, codes in zip(segs[:5], ("a", "ah", "hbe", "c", "rb")):
            for i, code in enumerate(codes):
                project.add_coding("alice", "E1", code, start=seg.start + 4 * i, end=seg.end)
    page, console = open_as(browser, serve(demo_project), "alice")
    findings: dict[str, list[str]] = {}
    for width in (800, 1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(page.url.split("#")[0] + "#")
        expect(page.locator("#doc-table tbody tr").first).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"documents at {width}px"
        if width == 1280:
            findings["documents"] = serious(page)
        open_document(page, "E1")
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"document at {width}px"
        if width == 1280:
            findings["document"] = serious(page)
        # every code label whole where the panel is wide enough (no cut with an ellipsis)
        if width == 1920:
            cut = page.evaluate("[...document.querySelectorAll('#code-tree .clabel')]"
                                ".filter(l => l.scrollWidth > l.clientWidth + 1).length")
            assert cut == 0
        cursor_to(page, segs[6].start)
        page.keyboard.press("Enter")
        expect(page.locator("#picker")).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"picker at {width}px"
        picker = page.locator("#picker").bounding_box()
        assert picker and picker["x"] >= 0 and picker["x"] + picker["width"] <= width
        if width == 1280:
            findings["picker"] = serious(page)
        page.keyboard.press("Escape")
        page.locator(".stripe").nth(3).click()
        expect(page.locator("#editor")).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"editor at {width}px"
        # a readable line: the transcript never runs wider than about 80 characters
        line = page.evaluate("document.getElementById('text').getBoundingClientRect().width")
        assert 300 < line <= 720
        if width == 1280:
            findings["editor"] = serious(page)
        shot(page, f"layout-{width}")
    assert findings == {"documents": [], "document": [], "picker": [], "editor": []}
    assert console.errors == []


def test_coding_editing_and_moving_an_edge_with_the_keyboard_only(browser: Browser, serve, demo_project: Path) -> None:
    seg = next(s for s in respondent_segments(demo_project) if len(s.text) > 80)
    page, console = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    cursor_to(page, seg.start)
    page.keyboard.press("Enter")
    page.keyboard.type("b")
    page.keyboard.press("Enter")
    expect(page.locator(".stripe")).to_have_count(1)
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    expect(page.locator("#editor .card")).to_have_count(1)
    # the edges come just before the editor in the tab order
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.dataset.edge") == "end"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_contain_text("Saved coding b: span")
    [moved] = stored(demo_project)
    assert moved.start == seg.start and moved.end < seg.end
    # and the editor's close button follows its title
    page.locator("#editor-title").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "editor-close"
    page.keyboard.press("Enter")
    expect(page.locator("#editor")).to_be_hidden()
    assert console.errors == []
