"""Routes are module-level handlers (issue 18 item 2): each can be mounted alone on a minimal
Starlette app that holds only its route and the state :func:`qda.web.context.prepare` puts
there, without ``create_app``'s middleware or route table."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Route
from starlette.testclient import TestClient

from qda.project import Project
from qda.web import codings, documents, sets
from qda.web.context import Settings, prepare
from tests.conftest import snapshot

BASE = "http://127.0.0.1"


def alone(route: Route, folder: Path, coder: str | None = "alice", session: bool = False) -> TestClient:
    """An app holding one route; ``coder`` fixed as by ``qda serve --coder``."""
    middleware = [Middleware(SessionMiddleware, secret_key="test")] if session else []
    app = prepare(Starlette(routes=[route], middleware=middleware), Settings(folder, coder=coder))
    return TestClient(app, base_url=BASE)


def test_the_document_list_handler_alone(demo_project: Path) -> None:
    with Project.open(demo_project) as project:
        seg = project.segments(document="E1")[3]
        project.add_coding("alice", "E1", "a", start=seg.start, end=seg.end)
        project.add_coding("bruno", "E1", "b", start=seg.start, end=seg.end)
    web = alone(Route("/docs", documents.documents), demo_project)
    answered = web.get("/docs").json()
    with Project.open(demo_project) as project:  # the answer is the result's to_dict()
        assert answered == project.workspace_documents("alice", every_coder=False).to_dict()
    rows = {r["name"]: r for r in answered["documents"]}
    assert set(rows) == {"E1", "E2", "P1"} and answered["coder"] == "alice"
    # blind mode (the default): only alice's own codings are counted, and one segment is covered
    assert rows["E1"]["codings"] == {"alice": 1} and rows["E1"]["coded_segments"] == 1
    assert web.get("/docs").headers["server-timing"].startswith("app;dur=")  # the api() checks ran


def test_the_sets_handler_alone_answers_the_results_to_dict(demo_project: Path) -> None:
    with Project.open(demo_project) as project:
        project.add_to_set("pilot", ["E1", "E2"])
        expected = project.document_sets().to_dict()
    web = alone(Route("/sets", sets.sets), demo_project)
    assert web.get("/sets").json() == expected
    assert alone(Route("/sets", sets.sets), demo_project, coder=None, session=True).get("/sets").status_code == 401


def test_a_write_handler_alone_refuses_a_write_without_the_csrf_token(demo_project: Path) -> None:
    before = snapshot(demo_project)
    web = alone(Route("/codings", codings.create_coding, methods=["POST"]), demo_project, session=True)
    refused = web.post("/codings", json={"document": "E1", "start": 0, "end": 5, "code": "a"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    assert snapshot(demo_project) == before
