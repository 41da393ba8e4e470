"""Document sets in the workspace (issue 17 item 4): ``GET /api/sets`` and the document
list's set menu, in a real browser (Playwright on Debian's Chromium)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.conftest import run
from tests.test_web_browser import browser, open_as, serve, shot  # noqa: F401


def visible_documents(page) -> list[str]:
    return page.eval_on_selector_all("#doc-table tbody tr[data-doc]",
                                     "rows => rows.filter(r => !r.hidden).map(r => r.dataset.doc)")


def test_the_document_list_filters_by_set(browser: Browser, serve, demo_project: Path,  # noqa: F811
                                          runner) -> None:
    run(runner, "-p", demo_project, "set", "add", "entry firms", "E1", "E2")
    run(runner, "-p", demo_project, "set", "add", "pilot", "P1")
    url = serve(demo_project)
    page, console = open_as(browser, url, "alice")
    expect(page.locator("#set-bar")).to_be_visible()
    assert page.eval_on_selector_all("#doc-set option", "o => o.map(x => x.textContent)") == [
        "all documents", "entry firms (2)", "pilot (1)"]
    assert visible_documents(page) == ["E1", "E2", "P1"]
    page.select_option("#doc-set", "entry firms")
    assert visible_documents(page) == ["E1", "E2"]
    expect(page.locator("#set-count")).to_have_text("2 of 3 documents")
    shot(page, "document-sets")
    # the choice survives a visit to a document and a reload of the page
    page.click("#doc-table a:text-is('E1')")
    expect(page.locator("#text span[data-s]").first).to_be_visible()
    page.click("#nav-documents")
    expect(page.locator("#doc-table tbody tr").first).to_be_attached()
    expect(page.locator("#doc-table tbody tr[data-doc]:not([hidden])")).to_have_count(2)
    assert visible_documents(page) == ["E1", "E2"]
    page.reload()
    expect(page.locator("#doc-table tbody tr[data-doc]:not([hidden])")).to_have_count(2)
    page.select_option("#doc-set", "")
    assert visible_documents(page) == ["E1", "E2", "P1"]
    assert console.errors == []


def test_no_sets_no_menu(browser: Browser, serve, demo_project: Path) -> None:  # noqa: F811
    url = serve(demo_project)
    page, console = open_as(browser, url, "alice")
    # the sets are read (none), not a pause that may end before they are
    expect(page.locator("#set-bar")).to_have_attribute("data-sets", "0")
    expect(page.locator("#set-bar")).to_be_hidden()
    assert visible_documents(page) == ["E1", "E2", "P1"]
    assert console.errors == []
