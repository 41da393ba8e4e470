"""The span-level comparison and adjudication in a real browser (Playwright, Debian's Chromium).

The scenario of issue 16: two blind coders select partial sentences with the mouse
(including two codes only one of them applied, each under half a sentence); the lead sees
every difference as a region, decides and records; recording onto a coder who has codings
is refused until confirmed, and ``qda undo`` then restores every coding row exactly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from qda.models import Segment
from qda.project import Project
from tests.conftest import run
from tests.test_web_browser import browser, codings, open_as, open_document, serve, shot  # noqa: F401
from tests.webwait import answer_to


def drag_span(page: Page, start: int, end: int) -> None:
    """Select characters [start, end) (code points) with a real mouse drag, then wait for the picker."""
    rects: dict[str, Any] = page.evaluate("""([start, end]) => {
        const rect = (offset) => {
          const piece = [...document.querySelectorAll('#text span[data-s]')]
            .find((p) => Number(p.dataset.s) <= offset && offset < Number(p.dataset.e));
          piece.scrollIntoView({ block: 'center' });
          const node = piece.firstChild;
          const before = Array.from(node.textContent).slice(0, offset - Number(piece.dataset.s)).join('').length;
          const width = Array.from(node.textContent.slice(before))[0].length;
          const range = document.createRange();
          range.setStart(node, before); range.setEnd(node, before + width);
          return range.getBoundingClientRect();
        };
        const first = rect(start);
        const last = rect(end - 1);
        const again = rect(start);  // scrolling for the last character may move the first
        return { first: again.toJSON(), last: last.toJSON() };
    }""", [start, end])
    first, last = rects["first"], rects["last"]
    page.mouse.move(first["left"] + 1, first["top"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(last["right"] - 1, last["top"] + last["height"] / 2, steps=8)
    page.mouse.up()
    expect(page.locator("#picker")).to_be_visible()


def code_span(page: Page, start: int, end: int, code: str) -> dict[str, Any]:
    """Drag over [start, end), pick ``code`` in the picker; the stored coding."""
    count = len(codings(page))
    drag_span(page, start, end)
    page.keyboard.type(code)
    # the page stores the coding, then draws it: wait for the server's answer and the coding's
    # stripe in the margin (drawn once the page holds it), not a polling loop
    stored = answer_to(page, "POST", "/api/codings", lambda: page.keyboard.press("Enter"))
    assert stored.status == 201, stored.text()
    expect(page.locator(f".stripe[data-id='{stored.json()['id']}']").first).to_be_attached()
    assert len(codings(page)) == count + 1
    if page.locator("#picker").is_visible():  # a picker that stays open for more codes
        page.keyboard.press("Escape")
    made = codings(page)[-1]
    assert (made["code"], made["start"], made["end"]) == (code, start, end), made
    return made


def words(seg: Segment, first: int, count: int) -> tuple[int, int]:
    """The span of ``count`` words of a segment from word ``first`` (negative: from the end)."""
    found = list(re.finditer(r"\w+", seg.text))
    chosen = found[first:first + count] if first >= 0 else found[first - count + 1:len(found) + first + 1]
    return seg.start + chosen[0].start(), seg.start + chosen[-1].end()


def every_row(folder: Path) -> list[tuple[Any, ...]]:
    with Project.open(folder) as project:
        return sorted((c.id, c.coder, c.code, c.document, c.start, c.end, c.segment, c.created_at, c.source, c.note,
                       c.status) for c in project._store.codings())


def test_blind_coders_partial_spans_lead_adjudicates_regions_refused_then_undone(
        browser: Browser, serve, demo_project: Path) -> None:  # noqa: F811
    with Project.open(demo_project) as project:
        s1, s2, s3, s4 = [s for s in project.segments(document="E1")
                          if s.role == "respondent" and len(re.findall(r"\w+", s.text)) >= 12][:4]
        # an earlier adjudication: 5 codings of 'consensus' in 2 documents
        for seg in project.segments(document="E2")[:3] + project.segments(document="P1")[:2]:
            project.add_coding("consensus", seg.document, "c", start=seg.start, end=seg.end)
    whole = lambda seg: (seg.start, seg.end)  # noqa: E731
    half_of_s2 = words(s2, 0, len(re.findall(r"\w+", s2.text)) // 2)
    d_span, e_span = words(s3, 2, 3), words(s4, -1, 3)
    for seg, (start, end) in ((s3, d_span), (s4, e_span)):
        assert (end - start) * 2 < seg.end - seg.start  # each under half a sentence

    url = serve(demo_project)
    alice, alice_console = open_as(browser, url, "alice")
    open_document(alice, "E1")
    code_span(alice, *whole(s1), "a")
    code_span(alice, *half_of_s2, "b")
    code_span(alice, *d_span, "d")
    bruno, bruno_console = open_as(browser, url, "bruno")
    open_document(bruno, "E1")
    expect(bruno.locator("#blind")).to_be_visible()
    code_span(bruno, *whole(s1), "a")
    code_span(bruno, *whole(s2), "b")
    code_span(bruno, *e_span, "e")
    assert {c["coder"] for c in codings(bruno)} == {"bruno"}  # blind: bruno never saw alice's codings

    lead, console = open_as(browser, serve(demo_project, unblind=True), "lead")
    lead.click("#nav-compare")
    expect(lead.locator("#cmp-as")).to_have_value("consensus-2")  # an unused name, pre-filled
    lead.select_option("#cmp-a", "alice")
    lead.select_option("#cmp-b", "bruno")
    lead.click("#cmp-show")
    cards = lead.locator("#cmp-list .cmp-card")
    expect(cards).to_have_count(3)  # b on another span, alice's lone d, bruno's lone e: a is agreed
    expect(lead.locator("#cmp-summary")).to_contain_text("1 agreed coding(s) carried over")
    keys = [f"E1:{half_of_s2[0]}-{s2.end}", f"E1:{d_span[0]}-{d_span[1]}", f"E1:{e_span[0]}-{e_span[1]}"]
    assert [cards.nth(i).get_attribute("data-region") for i in range(3)] == keys
    label = {c["id"]: c["labels"] for c in lead.evaluate("window.qda.codebook.codes")}
    for card, code, side in ((cards.nth(0), "b", "a"), (cards.nth(1), "d", "a"), (cards.nth(2), "e", "b")):
        # each region: its sentence and the ones around, the coder's span highlighted, the code's label
        expect(card.locator(f".side-{side} mark[data-codes='{code}']")).to_have_count(1)
        expect(card.locator(f".side-{side} .cmp-legend")).to_contain_text(next(iter(label[code].values())))
        assert len(card.locator(f".side-{side} .cmp-context").inner_text()) > s3.end - s3.start
    expect(cards.nth(1).locator(".side-b .cmp-legend")).to_contain_text("no code in this region")
    assert lead.locator(f".cmp-card[data-region='{keys[1]}'] .side-a mark").inner_text() == s3.text[
        d_span[0] - s3.start:d_span[1] - s3.start]

    cards.nth(0).locator("input[value='B']").check()
    cards.nth(1).locator("input[value='A']").check()
    cards.nth(2).locator("input[value='other']").check()
    cards.nth(2).locator("input.other").fill("e")
    cards.nth(2).locator("input[aria-label='start of the span']").fill(str(s4.start))  # the whole sentence
    cards.nth(2).locator("input[aria-label='end of the span']").fill(str(s4.end))
    expect(cards.nth(2).locator(".cmp-preview")).to_have_text(s4.text)
    expect(lead.locator("#cmp-left")).to_contain_text("3 of 3 region(s) shown decided")
    cards.nth(0).scroll_into_view_if_needed()
    lead.evaluate("document.getElementById('compare').scrollIntoView()")
    shot(lead, "compare")

    before = every_row(demo_project)
    lead.fill("#cmp-as", "consensus")
    lead.click("#cmp-record")
    expect(lead.locator("#cmp-confirm")).to_be_visible()
    expect(lead.locator("#cmp-confirm-text")).to_have_text(
        "this replaces 5 codings of 'consensus' in 2 documents. Replace them?")
    assert every_row(demo_project) == before  # refused: nothing written
    lead.click("#cmp-confirm-yes")
    expect(lead.locator("#message")).to_contain_text("Recorded 3 decision(s) as consensus")
    expect(lead.locator("#message")).to_contain_text("Replaced 5 codings of 'consensus' in 2 documents")
    with Project.open(demo_project) as project:
        got = sorted((c.code, c.start, c.end) for c in project.codings("consensus"))
    assert got == sorted([("a", *whole(s1)), ("b", *whole(s2)), ("d", *d_span), ("e", *whole(s4))])

    history = run(CliRunner(), "-p", demo_project, "history").stdout
    assert "adjudicate in the browser alice bruno --coder consensus" in history
    run(CliRunner(), "-p", demo_project, "undo", "--yes")
    assert every_row(demo_project) == before
    # the refusal is an answer (409), which Chromium logs as a failed load: nothing else may appear
    assert [e for e in console.errors if "409 (Conflict)" not in e] == []
    assert alice_console.errors == [] and bruno_console.errors == []
