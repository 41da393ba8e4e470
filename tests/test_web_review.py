"""The review queue's endpoints (qda/web/review.py): the session's coder writes only their own
decisions, blind mode keeps another coder's model hidden, errors are 4xx with the reason."""

from __future__ import annotations

from pathlib import Path

from qda.project import Project
from tests.test_suggest_review import trained  # noqa: F401  (fixture)
from tests.test_web_api import client, token


def test_endpoints_write_as_the_session_coder(trained: Path) -> None:  # noqa: F811
    web = client(trained, "trainer")
    assert web.get("/review").status_code == 200
    models = web.get("/api/review/models").json()
    assert models["blind"] and models["models"][-1]["from"] == "trainer"
    queue = web.get("/api/review/queue", params={"code": "h"}).json()
    first = queue["items"][0]
    why = web.get(f"/api/review/explain/{first['id']}").json()
    assert why["code"] == "h" and len(why["similar"]) == 3 and why["terms"]
    # no CSRF token: refused
    assert web.post("/api/review/decide", json={"suggestion": first["id"], "action": "accept"}).status_code == 403
    done = web.post("/api/review/decide", json={"suggestion": first["id"], "action": "accept"}, headers=token(web))
    assert done.status_code == 200, done.text
    bad = web.post("/api/review/decide", json={"suggestion": first["id"], "action": "maybe"}, headers=token(web))
    assert bad.status_code == 422 and bad.json()["error"] == {
        "code": "bad_request", "message": "unknown action 'maybe' (use one of: accept, reject, recode)"}
    wrong_order = web.get("/api/review/queue", params={"order": "random"})
    assert wrong_order.status_code == 422 and wrong_order.json()["error"] == {
        "code": "bad_request", "message": "unknown order 'random' (use one of: uncertainty, score)"}
    twice = web.post("/api/review/decide", json={"suggestion": first["id"], "action": "reject"}, headers=token(web))
    assert 400 <= twice.status_code < 500 and "decided" in twice.json()["error"]["message"]
    with Project.open(trained) as project:
        made = project._store.coding(done.json()["coding"])
        assert made.coder == "trainer" and made.origin == queue["model"]
    refused = web.post("/api/review/bulk", json={"code": "h", "above": 0.5}, headers=token(web))
    assert 400 <= refused.status_code < 500 and "no validation sample" in refused.json()["error"]["message"]
    assert web.post("/api/review/undo", json={}, headers=token(web)).json()["undone"] is True
    prov = web.get("/api/review/provenance").json()
    assert prov["codes"] == []  # the only decision was undone


def test_blind_mode_hides_another_coders_model(trained: Path) -> None:  # noqa: F811
    other = client(trained, "bruno")
    answer = other.get("/api/review/queue")
    assert answer.status_code == 403 and "learnt from trainer" in answer.json()["error"]["message"]
    lead = client(trained, "bruno", unblind=True)
    assert lead.get("/api/review/queue").status_code == 200


def test_retrain_from_the_page_reports_the_new_model(trained: Path) -> None:  # noqa: F811
    web = client(trained, "trainer")
    assert 'href="/review"' in web.get("/").text  # the workspace links to the review page
    queue = web.get("/api/review/queue", params={"code": "h", "order": "score"}).json()
    rejected = web.post("/api/review/decide", json={"suggestion": queue["items"][0]["id"], "action": "reject"},
                        headers=token(web))
    assert rejected.status_code == 200, rejected.text
    done = web.post("/api/review/retrain", json={"model": queue["model"]}, headers=token(web)).json()
    assert done["previous"] == queue["model"] and done["model"] != queue["model"] and done["created"]
    with Project.open(trained) as project:
        assert project.review_model()[0] == done["model"]  # the latest model now
        assert len(project._store.codings(coder=done["machine_coder"])) == done["suggestions"]
    again = web.get("/api/review/queue", params={"model": done["model"], "code": "h"}).json()
    assert queue["items"][0]["segment"] not in {i["segment"] for i in again["items"]}
