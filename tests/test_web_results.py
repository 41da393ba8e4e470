"""The workspace API answers with the results' ``to_dict()`` (issue 18 item 2), equal to the
CLI's JSON where a command shows the same thing; and "code the search hits" is one write,
all or nothing, recorded as one page edit."""

from __future__ import annotations

import json
from pathlib import Path

from qda.project import Project
from tests.conftest import run_json, snapshot
from tests.test_web_api import client, token


def coded(folder: Path) -> None:
    with Project.open(folder) as project:
        segments = [s for s in project.segments(document="E1") if s.role == "respondent"]
        project.add_coding("alice", "E1", "a", start=segments[0].start, end=segments[0].end)
        project.add_coding("alice", "E1", "h", start=segments[0].start + 3, end=segments[0].end)
        project.add_coding("alice", "E1", "a", start=segments[2].start, end=segments[2].end)
        project.add_coding("bruno", "E1", "a", start=segments[2].start, end=segments[2].end)
        project.add_coding("bruno", "E1", "b", start=segments[4].start, end=segments[4].end)


def test_retrieve_answers_what_qda_retrieve_prints_plus_the_pages_rows(demo_project: Path, runner) -> None:
    coded(demo_project)
    web = client(demo_project, "alice")
    for params, args in (({"codes": "a,h"}, ("--code", "a", "--code", "h")),
                         ({"codes": "a,h", "mode": "all"}, ("--code", "a", "--code", "h", "--match", "all")),
                         ({"codes": "a", "not": "h"}, ("--code", "a", "--not", "h"))):
        answer = web.get("/api/retrieve", params=params).json()
        rows = answer.pop("rows")
        assert answer == run_json(runner, "-p", demo_project, "retrieve", *args, "--coder", "alice"), params
        assert [(r["document"], r["start"], r["end"]) for r in rows] == [
            (p["document"], p["start"], p["end"]) for p in answer["passages"]]
    assert answer["count"] == 1 and answer["exclude"] == ["h"]


def test_search_and_compare_answer_their_results_to_dict(demo_project: Path) -> None:
    coded(demo_project)
    web = client(demo_project, "lead", unblind=True)
    with Project.open(demo_project) as project:
        searched = json.loads(json.dumps(project.workspace_search("université").to_dict()))
        comparison = json.loads(json.dumps(project.compare_regions("E1", "alice", "bruno").to_dict()))
    assert web.get("/api/search", params={"q": "université"}).json() == searched
    assert searched["count"] == len(searched["hits"]) > 0 and searched["truncated"] is False
    shown = web.get("/api/compare", params={"a": "alice", "b": "bruno", "document": "E1"}).json()
    assert shown.pop("coders") == ["alice", "bruno"]
    # the page's view is the comparison's to_dict() with each region's text and context added
    for row in shown["regions"]:
        assert {"text", "context", "context_start"} <= set(row)
        for key in ("text", "context", "context_start"):
            row.pop(key)
    assert shown == comparison and comparison["regions"]


def hits_of(web, query: str, n: int) -> list[dict]:
    found = web.get("/api/search", params={"q": query}).json()["hits"][:n]
    assert len(found) == n
    return [{k: h[k] for k in ("document", "start", "end")} for h in found]


def test_search_hits_are_coded_in_one_write_all_or_nothing(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    hits = hits_of(web, "le", 5)
    before = snapshot(demo_project)
    bad = web.post("/api/codings/batch", json={"code": "a", "hits": [*hits[:4], {"document": "NOPE", "start": 0,
                                                                                 "end": 3}]}, headers=token(web))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_coding"
    assert "hit 5 (NOPE 0-3)" in bad.json()["problems"][0]
    assert snapshot(demo_project) == before  # four good hits and one bad: nothing stored
    first = web.post("/api/codings/batch", json={"code": "a", "hits": hits[:3]}, headers=token(web))
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["count"] == 3 and made["coder"] == "alice" and made["already"] == []
    assert [(c["document"], c["start"], c["end"]) for c in made["coded"]] == [tuple(h.values()) for h in hits[:3]]
    # hits already coded with the code are left as they were, the others coded
    again = web.post("/api/codings/batch", json={"code": "a", "hits": hits}, headers=token(web)).json()
    assert again["count"] == 2 and len(again["already"]) == 3
    with Project.open(demo_project) as project:
        assert len(project.codings("alice")) == 5
    # the page's undo: one request deletes them all; another coder's ids are refused, nothing deleted
    bruno = client(demo_project, "bruno")
    ids = [c["id"] for c in made["coded"]]
    refused = bruno.request("DELETE", "/api/codings/batch", json={"ids": ids}, headers=token(bruno))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    gone = web.request("DELETE", "/api/codings/batch", json={"ids": ids}, headers=token(web))
    assert gone.status_code == 200 and [c["id"] for c in gone.json()["deleted"]] == ids
    with Project.open(demo_project) as project:
        assert len(project.codings("alice")) == 2
        lines = [e["command"] for e in project.history().to_dict()["writes"]]
    assert lines[-1] == "page edits by alice: 3 deletions", lines  # one write, one line, counted per coding


def test_a_hit_over_a_speaker_label_is_asked_once_for_the_batch(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    label = hits_of(web, "Répondant", 1)
    plain = hits_of(web, "le", 2)
    before = snapshot(demo_project)
    asked = web.post("/api/codings/batch", json={"code": "a", "hits": [*plain, *label]}, headers=token(web))
    assert asked.status_code == 409 and asked.json()["error"]["code"] == "needs_confirmation"
    assert asked.json()["confirm"] == "across_turns" and snapshot(demo_project) == before
    done = web.post("/api/codings/batch", json={"code": "a", "hits": [*plain, *label], "across_turns": True},
                    headers=token(web))
    assert done.status_code == 201 and done.json()["count"] == 3
