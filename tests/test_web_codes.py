"""A code created from the picker in a real browser (Playwright on Debian's Chromium) lands in
the YAML file and in 'qda codebook show', and codes the selection."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Browser, expect

from qda.codebook import parse_codebook
from qda.project import Project
from tests.conftest import CODEBOOK, run_json
from tests.test_codebook_edit import shown_codes
from tests.test_web_browser import browser, codings, drag_select, open_as, open_document, serve, shot  # noqa: F401
from tests.webwait import answer_to


def test_new_code_from_the_picker_lands_in_the_yaml_and_the_codebook(browser: Browser, serve,  # noqa: F811
                                                                     demo_project: Path, runner) -> None:
    shutil.copy(CODEBOOK, demo_project / "codebook.yaml")
    with Project.open(demo_project) as p:
        p.load_codebook(demo_project / "codebook.yaml")
    url = serve(demo_project)
    page, console = open_as(browser, url, "alice")
    open_document(page, "E1")
    drag_select(page, page.locator("#text span[data-s]").nth(3))
    expect(page.locator("#picker")).to_be_visible()
    expect(page.locator("#picker-input")).to_be_focused()  # typed into the picker, not the text's shortcuts
    page.keyboard.type("Distributeurs")
    page.click("#new-code")
    expect(page.locator("#new-code-form")).to_be_visible()
    expect(page.locator("#nc-label")).to_have_value("Distributeurs")
    expect(page.locator("#nc-id")).to_have_value("distributeurs")
    page.select_option("#nc-parent", "events")
    page.fill("#nc-definition", "Foreign distributors who sell the product.")
    shot(page, "new-code")
    # the code is written into the YAML file and the project (a snapshot first), then the
    # selection is coded: wait for that second answer, not for a 5-second assertion
    assert answer_to(page, "POST", "/api/codings", lambda: page.click("#nc-create")).status == 201
    expect(page.locator("#message")).to_contain_text("Coded")
    assert [c["code"] for c in codings(page)] == ["distributeurs"]

    text = (demo_project / "codebook.yaml").read_text(encoding="utf-8")
    book = parse_codebook(text)
    assert book.code("distributeurs").category == "events" and "# qda: added by alice" in text
    assert "distributeurs" in shown_codes(run_json(runner, "-p", demo_project, "codebook", "show"))

    # the picker stays open for more codes (several codes per selection): Done closes it
    page.click("#picker-done")
    expect(page.locator("#picker")).to_be_hidden()

    # a clash is refused next to the form, with every problem, and nothing is written
    drag_select(page, page.locator("#text span[data-s]:not(.coded)").nth(12))
    expect(page.locator("#picker")).to_be_visible()
    page.click("#new-code")
    page.fill("#nc-label", "Again")
    page.fill("#nc-id", "distributeurs")
    assert answer_to(page, "POST", "/api/codes", lambda: page.click("#nc-create")).status == 422
    expect(page.locator("#nc-problems")).to_contain_text("already a code")
    assert (demo_project / "codebook.yaml").read_text(encoding="utf-8") == text
    page.keyboard.press("Escape")
    expect(page.locator("#new-code-form")).to_be_hidden()
    assert not [e for e in console.errors if "422" not in e]
