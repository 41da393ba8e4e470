"""How the workspace draws highlights and the lead's overlay (issue 16's drawing time), in Chromium:
the pieces take their colours from shared classes (no inline style per piece, which made a
long transcript slow to style), the colours are still each code's, and the overlay's lanes
follow the text when it reflows."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.test_lead_view import two_coders
from tests.test_web_browser import browser, open_as, open_document, serve  # noqa: F401

__all__ = ["browser", "serve"]  # fixtures, imported for pytest

MISPLACED = """() => window.qda.codings.map(c => {
    const stripe = document.querySelector(`.stripe[data-id='${c.id}']`).getBoundingClientRect();
    const first = window.qda.pieceByStart.get(c.start), last = window.qda.pieceByEnd.get(c.end);
    const range = document.createRange();
    range.setStartBefore(first); range.setEndAfter(last);
    const text = range.getBoundingClientRect();
    return [c.id, Math.round(stripe.top - text.top), Math.round(stripe.bottom - text.bottom)];
}).filter(([, top, bottom]) => Math.abs(top) > 2 || Math.abs(bottom) > 2)"""


def tint(hex_colour: str) -> str:
    """The highlight of a code: its colour mixed 62 % towards white (written again here from the rule)."""
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "rgb({}, {}, {})".format(*(round(x + (255 - x) * 0.62) for x in rgb))


def test_highlights_come_from_classes_in_each_codes_colour(browser: Browser, serve, demo_project: Path) -> None:
    a, b, a2 = two_coders(demo_project)
    page, console = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    pieces = page.evaluate("""() => window.qda.pieces.filter(p => p.codings.length).map(p => {
        const style = getComputedStyle(p);
        const codes = p.codings.map(id => window.qda.codings.find(c => c.id === id).code);
        return {inline: p.getAttribute('style'), codes, background: style.backgroundColor, bars: style.boxShadow,
                overlap: p.classList.contains('overlap')};
    })""")
    colours = page.evaluate("Object.fromEntries(window.qda.colors)")
    assert pieces, "alice's codings drew no highlighted piece"
    assert all(p["inline"] is None for p in pieces)  # no inline style on any piece
    for piece in pieces:
        last = piece["codes"][-1]
        assert piece["background"] == tint(colours[last]), piece
        bars = piece["bars"]
        # one inset bar per code (up to three), each in its code's full colour
        for code in piece["codes"][-3:]:
            red, green, blue = (int(colours[code][i:i + 2], 16) for i in (1, 3, 5))
            assert f"rgb({red}, {green}, {blue})" in bars and "inset" in bars, piece
        assert piece["overlap"] == (len(piece["codes"]) > 1)
    assert {tuple(p["codes"]) for p in pieces} >= {("a",), ("a", "h")}
    assert console.errors == []


def test_overlay_lanes_follow_the_text_when_it_reflows(browser: Browser, serve, demo_project: Path) -> None:
    two_coders(demo_project)
    url = serve(demo_project, unblind=True)
    page, console = open_as(browser, url, "lead")
    # opened straight at the overlay (a link, a reload): no one-coder view drawn before it
    page.goto(url + "#doc=E1&coders=alice,bruno")
    page.reload()
    expect(page.locator(".stripe")).to_have_count(3)
    assert page.evaluate(MISPLACED) == []
    lines = page.evaluate("document.getElementById('text').getClientRects()[0].height")
    page.set_viewport_size({"width": 820, "height": 900})  # split screen: the text wraps onto more lines
    for _ in range(100):  # polled: the page's CSP forbids the eval of wait_for_function
        if page.evaluate("document.getElementById('text').getClientRects()[0].height") > lines:
            break
        page.wait_for_timeout(50)
    else:
        raise AssertionError("the text did not reflow at 820 px")
    expect(page.locator(".stripe")).to_have_count(3)
    for _ in range(100):  # the stripes are placed again on an animation frame after the reflow
        if page.evaluate(MISPLACED) == []:
            break
        page.wait_for_timeout(50)
    assert page.evaluate(MISPLACED) == []
    assert console.errors == []
