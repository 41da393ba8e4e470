"""Names and dates shown in the workspace (issue 17), in Chromium: the coding editor gives
a coding's name (a quotation's name from another tool), who coded it and when, and who
changed it last and when; the memo overview gives the same for memos and coding memos.
An edit in the page becomes the coding's or memo's last change."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from playwright.sync_api import Browser, expect

from qda import Project
from tests.test_web_browser import Console, browser, codings, open_as, open_document, serve  # noqa: F401

__all__ = ["browser", "serve"]  # fixtures, imported for pytest

SHOTS = Path(os.environ.get("QDA_TEST_SHOTS", "/tmp"))


def named_and_changed(folder: Path) -> tuple[int, int]:
    """alice's coding named and last changed by carl (as ATLAS.ti files bring them), and a
    memo of hers on E1 that she edited once: their ids."""
    with Project.open(folder) as project:
        coding = project.add_coding("alice", "E1", "a", start=0, end=40, memo="first passage")
        with project._store.transaction():
            project._store.update_codings([dataclasses.replace(
                coding, name="Opening words", modified_by="carl", modified_at="2025-01-02T03:04:05+00:00")])
        memo = project.add_memo("alice", "document", "E1", text="a memo, first draft")
        project.change_memo("alice", memo.id, "a memo on E1")
    return coding.id or 0, memo.id or 0


def test_editor_and_memo_overview_show_names_and_dates(browser: Browser, serve, demo_project: Path) -> None:
    coding_id, memo_id = named_and_changed(demo_project)
    page, console = open_as(browser, serve(demo_project), "alice")
    open_document(page, "E1")
    page.locator(f".stripe[data-id='{coding_id}']").click()
    card = page.locator(f"#editor .card[data-id='{coding_id}']")
    meta = card.locator(".coding-meta")
    expect(meta).to_contain_text("“Opening words”")
    expect(meta).to_contain_text("changed by carl, 2025-01-02 03:04")
    created = next(c for c in codings(page) if c["id"] == coding_id)["created_at"]
    expect(meta).to_contain_text(f"alice, {created[:16].replace('T', ' ')}")
    page.screenshot(path=str(SHOTS / "qda-editor-names.png"))
    # editing the coding in the page makes alice its last changer, now
    card.locator("textarea[name=memo]").fill("first passage, revised")
    card.locator("button[type=submit]").click()
    expect(page.locator("#message")).to_contain_text("Saved coding a")
    expect(page.locator(f"#editor .card[data-id='{coding_id}'] .coding-meta")).to_contain_text("changed by alice")
    after = next(c for c in codings(page) if c["id"] == coding_id)
    assert after["modified_by"] == "alice" and after["modified_at"] > "2025-01-02T03:04:05+00:00"
    assert after["name"] == "Opening words"  # the name stays
    # the memo on the document, in the document's memo box: written by alice, changed by alice
    with Project.open(demo_project) as project:
        memo = project._store.memos(ids=[memo_id])[0]
    assert memo.modified_by == "alice" and memo.modified_at >= memo.created_at
    # the memo overview: the memo's change and the coding memo's name
    page.click("#nav-memos")
    cards = page.locator("#memo-list .memo-card")
    expect(cards).to_have_count(2)
    document_card = cards.filter(has_text="a memo on E1")
    expect(document_card).to_contain_text(f"changed by alice, {memo.modified_at[:16].replace('T', ' ')}")
    coding_card = cards.filter(has_text="first passage, revised")
    expect(coding_card).to_contain_text("“Opening words”")
    expect(coding_card).to_contain_text("changed by alice")
    page.screenshot(path=str(SHOTS / "qda-memo-overview-names.png"))
    assert console.errors == []
