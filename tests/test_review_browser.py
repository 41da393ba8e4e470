"""The review queue in Chromium (Playwright), keyboard only (issue 21's "Review" benchmark line):
train on a fixture project, suggest, review 100 suggestions with a/r/c/s, then read the database
back: accepted -> the reviewer's codings with the model as origin, rejected -> negatives of the
next training, skipped untouched, the other coders' codings unchanged; u undoes one decision."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from qda.project import Project
from qda.suggest.corpus import load_corpus, segment_labels
from qda.suggest.results import term_label
from tests.conftest import EXAMPLE, example_project, run
from tests.test_suggest import copy_codings
from tests.test_suggest_review import TRAIN_DOCS, others
from tests.test_web_browser import Console, browser, serve, shot  # noqa: F401
from tests.webwait import answer_to

__all__ = ["browser", "serve"]  # fixtures, imported for pytest

REVIEWS = 100
#: Decision by position in the queue (period 10): 4 accepts, 3 rejects, 1 recode, 2 skips.
PATTERN = ("accept", "reject", "accept", "skip", "reject", "accept", "recode", "reject", "accept", "skip")


@pytest.fixture(scope="module")
def queue_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The study's ten transcripts and two copies of each (renamed: new documents the training
    coder never saw); 'trainer' coded six of the originals (the consensus's codings there), a model
    learnt from them (codes with 3 positives or more) suggests on all thirty: over 100 to review."""
    root = tmp_path_factory.mktemp("queue")
    copies = root / "transcripts"
    copies.mkdir()
    originals = sorted((EXAMPLE / "transcripts").glob("*.txt"))
    for k in (1, 2):
        for path in originals:
            shutil.copy(path, copies / f"R{k}{path.name}")
    folder = example_project(root / "project", [*originals, *sorted(copies.glob("*.txt"))])
    run(CliRunner(), "-p", folder, "code", "import", EXAMPLE / "consensus.xlsx", "--coder", "consensus")
    with Project.open(folder) as project:
        copy_codings(project, "consensus", "trainer", lambda c: c.document in TRAIN_DOCS)
        project.suggest_train("trainer", seed=1, bootstrap=0, params={"min_positives": 3})
        project.suggest_run()
    return folder


@pytest.fixture
def queue_project(queue_base: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    shutil.copytree(queue_base, folder)
    return folder


def open_review(browser: Browser, url: str, width: int = 1280) -> tuple[Page, Console]:
    page = browser.new_context(viewport={"width": width, "height": 860}).new_page()
    console = Console(page)
    page.goto(url.rstrip("/") + "/review")
    try:
        page.wait_for_function("() => window.qdaReview && window.qdaReview.ready", timeout=60_000)
    except Exception as exc:
        raise AssertionError(f"the review page did not load: {console.errors}") from exc
    return page, console


def recode_target(project: Project, code: str, segment: str) -> str:
    """A codable code other than ``code`` that the reviewer has not put on that segment."""
    taken = {c.code for c in project._store.codings(coder="trainer") if c.segment == segment}
    return next(c.id for c in project.codebook().codes if c.codable and c.id != code and c.id not in taken)


def project_coding_exists(folder: Path, coding_id: int | None) -> bool:
    with Project.open(folder) as project:
        return coding_id is not None and project._store.coding(coding_id) is not None


def test_review_100_suggestions_by_keyboard(browser: Browser, serve, queue_project: Path) -> None:  # noqa: F811
    with Project.open(queue_project) as project:
        queue = project.review_queue("trainer").items  # the page's order: most uncertain first
        before_others = others(project, "trainer")
        before_mine = sorted((c.id, c.code, c.segment) for c in project._store.codings(coder="trainer"))
        targets = {i.id: recode_target(project, i.code, i.segment) for i in queue[:REVIEWS]}
        model = project.review_model()[0]
        labels_of = {c.id: c.label(project.codebook().default_language) for c in project.codebook().codes}
    assert len(queue) >= REVIEWS
    page, console = open_review(browser, serve(queue_project, coder="trainer"))
    expect(page.locator("#rv-list li")).to_have_count(len(queue))
    assert [int(x) for x in page.locator("#rv-list li").evaluate_all("els => els.map(e => e.dataset.id)")] == \
        [i.id for i in queue]
    expect(page.locator("#rv-similar li")).to_have_count(3)
    with Project.open(queue_project) as project:  # the terms named as `qda suggest explain` names them
        why = project.suggest_explain(queue[0].id)
        named = [term_label(t) for t, _ in why.terms]
    shown = page.locator("#rv-terms li").evaluate_all("els => els.map(e => e.firstChild.textContent)")
    assert shown == named and not any(name.startswith("<") for name in shown)
    # what the nearest coded passages added, as `qda suggest explain` says it (the study's codes have the term)
    assert why.passages is not None
    expect(page.locator("#rv-passages")).to_be_visible()
    expect(page.locator("#rv-passages")).to_contain_text(f"{why.passages:.3f}".lstrip("-"))
    shot(page, "review-1280")
    decided: dict[int, str] = {}
    for k, item in enumerate(queue[:REVIEWS]):
        action = PATTERN[k % len(PATTERN)]
        focused = page.locator("#rv-list li.focused")
        expect(focused).to_have_attribute("data-id", str(item.id))
        if action == "recode":
            page.keyboard.press("c")
            expect(page.locator("#rv-picker-filter")).to_be_focused()
            page.keyboard.type(targets[item.id])
            options = page.locator("#rv-picker-list li").evaluate_all("els => els.map(e => e.dataset.code)")
            for _ in range(options.index(targets[item.id])):
                page.keyboard.press("ArrowDown")
            # each decision is a recorded write (a snapshot first): wait for its answer
            assert answer_to(page, "POST", "/api/review/decide", lambda: page.keyboard.press("Enter")).ok
        elif action == "skip":
            page.keyboard.press("s")  # nothing is written
        else:
            assert answer_to(page, "POST", "/api/review/decide", lambda key=action[0]: page.keyboard.press(key)).ok
        expect(page.locator(f"#rv-list li[data-id='{item.id}']")).to_have_attribute("data-state", action)
        decided[item.id] = action
    expect(page.locator("#message")).to_contain_text("Skipped")
    assert console.errors == []

    with Project.open(queue_project) as project:
        mine = {c.id: c for c in project._store.codings(coder="trainer")}
        reviews = {(r.code, r.segment): r for r in project._store.suggest_reviews(reviewer="trainer")}
        corpus = load_corpus(project._store)
        labels = segment_labels(project._store, corpus, "trainer")
        assert others(project, "trainer") == before_others
        where = corpus.position()
        for item in queue[:REVIEWS]:
            action = decided[item.id]
            review = reviews.get((item.code, item.segment))
            if action == "skip":
                assert review is None
                continue
            assert review is not None and review.action == action and review.model == model
            if action == "reject":
                assert review.coding is None and labels.negative[item.code][where[item.segment]]
            else:
                made = mine[review.coding]
                wanted = item.code if action == "accept" else targets[item.id]
                assert (made.code, made.segment, made.status, made.origin) == (wanted, item.segment, "ok", model)
                if action == "recode":
                    assert labels.negative[item.code][where[item.segment]]
        new = [c for c in mine.values() if c.origin]
        assert len(new) == sum(1 for a in decided.values() if a in ("accept", "recode"))
        assert sorted((c.id, c.code, c.segment) for c in mine.values() if not c.origin) == before_mine
        for item in queue[REVIEWS:]:
            assert (item.code, item.segment) not in reviews  # never reached: untouched

    # u takes the last decision back (the accept of the 99th: the 100th was a skip), in the page and in the database
    last = [i for i in queue[:REVIEWS] if decided[i.id] != "skip"][-1]
    assert decided[last.id] == "accept"
    accepted = reviews[(last.code, last.segment)]
    assert project_coding_exists(queue_project, accepted.coding)
    page.keyboard.press("u")
    expect(page.locator("#message")).to_contain_text(f"Undone — Accepted “{labels_of[last.code]}” at {last.segment}")
    expect(page.locator(f"#rv-list li[data-id='{last.id}']")).not_to_have_attribute("data-state", "accept")
    expect(page.locator("#rv-list li.focused")).to_have_attribute("data-id", str(last.id))
    assert not project_coding_exists(queue_project, accepted.coding)
    with Project.open(queue_project) as project:
        assert (last.code, last.segment) not in {(r.code, r.segment)
                                                  for r in project._store.suggest_reviews(reviewer="trainer")}
        assert any(c.command == f"review undo accept {last.code} {last.segment} --as trainer"
                   for c in project.history().entries)
        assert others(project, "trainer") == before_others
    assert console.errors == []


def test_review_page_at_800_px(browser: Browser, serve, queue_project: Path) -> None:  # noqa: F811
    page, console = open_review(browser, serve(queue_project, coder="trainer"), width=800)
    expect(page.locator("#rv-similar li")).to_have_count(3)
    page.keyboard.press("a")
    expect(page.locator("#message")).to_contain_text("Accepted")
    # nothing scrolls sideways, the focused suggestion and its passage are on screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    expect(page.locator("#rv-passage mark")).to_be_visible()
    shot(page, "review-800")
    assert console.errors == []
