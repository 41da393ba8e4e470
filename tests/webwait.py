"""Waiting in browser tests on what the page waits for: the server's answer.

An ``expect(...)`` assertion gives up after 5 s. A write that snapshots the project first
(a new code rewrites the YAML file and copies the database; a page's first edit copies it)
can take longer than that on a loaded machine (load 11+ in CI), and the assertion then fails
although nothing is wrong. :func:`answer_to` waits for the request's answer itself, with
Playwright's action timeout (30 s), and returns it, so that the next assertion checks a page
that has its data; no test sleeps or polls.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

from playwright.sync_api import Page, Response


def answer_to(page: Page, method: str, path: str, action: Callable[[], object]) -> Response:
    """Do ``action`` (a click, a key) and wait for the answer to the ``method`` request on ``path``
    it makes; the answer (its status and JSON are the test's to check)."""
    with page.expect_response(lambda r: r.request.method == method and urlparse(r.url).path == path) as info:
        action()
    return info.value
