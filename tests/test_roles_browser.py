"""Roles and blind mode as a team sees them in Chromium (Playwright): a coder and the lead
log in on a network-mode server; the bar shows the mode and the role, and the lead's
Compare tab is not offered to a coder."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from qda.project import Project
from tests.test_web_browser import browser, serve  # noqa: F401

PASSWORD = "correct horse battery"


def log_in(browser: Browser, url: str, name: str) -> Page:  # noqa: F811
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(url)
    expect(page).to_have_url(url + "login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#doc-table tbody tr").first).to_be_visible()
    return page


def test_a_coder_and_the_lead_see_their_role_and_the_blind_mode(browser: Browser, serve,  # noqa: F811
                                                                  demo_project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "team"
    shutil.copytree(demo_project, folder)
    with Project.open(folder) as project:
        project.add_user("lena", PASSWORD, "lead")
        project.add_user("alice", PASSWORD)
    url = serve(folder, host="0.0.0.0")  # network mode (accounts), listening on loopback for the test
    alice = log_in(browser, url, "alice")
    expect(alice.locator("#blind")).to_have_text("blind")
    expect(alice.locator("#role")).to_have_text("coder")
    expect(alice.locator("#nav-compare")).to_be_hidden()
    lena = log_in(browser, url, "lena")
    expect(lena.locator("#role")).to_have_text("lead")
    expect(lena.locator("#nav-compare")).to_be_visible()
    with Project.open(folder) as project:
        project.set_blind(False)
    alice.reload()
    expect(alice.locator("#blind")).to_have_text("not blind")
    expect(alice.locator("#nav-compare")).to_be_hidden()  # still the lead's
