"""Every error answer of the workspace API carries a machine-readable code (issue 18 item 2):
``{"error": {"code": "<snake_case>", "message": "..."}, "problems": [...]}``, with the extra
fields the page asks on (``confirm``, ``replaces``) beside it. The page decides on the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qda import errors
from qda.project import Project
from tests.test_web_api import client, first_segment, post, token

SNAKE = re.compile(r"[a-z]+(_[a-z]+)*")


def error_of(answer, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    data = answer.json()
    assert set(data["error"]) == {"code", "message"}, data
    assert data["error"]["code"] == code and data["error"]["message"], data
    assert isinstance(data["problems"], list)
    return data


def test_every_qda_error_class_has_its_own_snake_case_code() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.QdaError)]
    codes = {c: c.code for c in classes}
    assert all(SNAKE.fullmatch(code) for code in codes.values()), codes
    assert len(set(codes.values())) == len(classes), "two error classes share a code"
    assert errors.DuplicateCodingError.code == "duplicate_coding" and issubclass(errors.DuplicateCodingError,
                                                                                 errors.InvalidCodingError)


def test_each_refusal_of_the_api_answers_with_its_code(demo_project: Path) -> None:
    anonymous = client(demo_project)
    error_of(anonymous.get("/api/documents"), 401, "auth_required")
    web = client(demo_project, "alice")
    error_of(web.post("/api/codings", json={"document": "E1"}), 403, "csrf")
    error_of(web.get("/api/nothing/here"), 404, "unknown_endpoint")
    error_of(web.get("/api/documents/NOPE"), 404, "not_found")
    error_of(web.get("/api/codings/123456"), 404, "not_found")
    error_of(web.post("/api/codings", content=b"not json", headers=token(web)), 422, "bad_request")
    error_of(post(web, document="E1", start=0, end=5, code="a", coder="bruno"), 422, "bad_request")
    error_of(post(web, document="E1", start=5, end=0, code="a"), 422, "invalid_coding")
    error_of(web.post("/api/codings", content=b"x" * (300 * 1024), headers={**token(web),
                                                                           "Content-Type": "application/json"}),
             413, "too_large")
    seg = first_segment(web)
    assert post(web, document="E1", start=seg["start"], end=seg["end"], code="a").status_code == 201
    twice = error_of(post(web, document="E1", start=seg["start"], end=seg["end"], code="a"), 422, "duplicate_coding")
    assert "already coded" in twice["error"]["message"]  # the words are for people; the code for the page
    error_of(web.get("/api/compare?a=alice&b=bruno"), 403, "access_denied")  # blind mode is on by default
    error_of(web.get("/api/search?q=(&regex=1"), 422, "invalid_coding")


def test_answers_the_page_asks_on_keep_their_fields_beside_the_code(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    doc = web.get("/api/documents/E1").json()
    asking, answer = next((t, u) for t, u in zip(doc["turns"], doc["turns"][1:])
                          if t["role"] == "interviewer" and u["role"] == "respondent")
    across = post(web, document="E1", start=asking["segments"][-1]["start"], end=answer["segments"][0]["end"],
                  code="a")
    data = error_of(across, 409, "needs_confirmation")
    assert data["confirm"] == "across_turns" and data["problems"]
    with Project.open(demo_project) as project:
        segments = project.segments(document="E1")
        for coder, code in (("alice", "a"), ("bruno", "a"), ("consensus", "c")):  # A and B agree
            project.add_coding(coder, "E1", code, start=segments[3].start, end=segments[3].end)
    web.post("/api/blind", json={"blind": False}, headers=token(web))
    replacing = web.post("/api/adjudicate", json={"a": "alice", "b": "bruno", "as": "consensus", "decisions": []},
                         headers=token(web))
    data = error_of(replacing, 409, "would_replace")
    assert data["replaces"]["coder"] == "consensus" and data["replaces"]["codings"] == 1


@pytest.mark.parametrize("path", ["/api/documents", "/api/review/models", "/api/sets"])
def test_the_review_and_topic_modules_answer_the_same_shape(demo_project: Path, path: str) -> None:
    error_of(client(demo_project).get(path), 401, "auth_required")
