"""The JSON API of the browser workspace (qda serve), in-process with Starlette's TestClient."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from qda.cli import app
from qda.project import Project
from qda.web import create_app
from tests.conftest import run, snapshot

BASE = "http://127.0.0.1"


def client(folder: Path, coder: str | None = None, **options) -> TestClient:
    web = TestClient(create_app(folder, **options), base_url=BASE)
    if coder:
        token = web.get("/api/session").json()["csrf"]
        answer = web.post("/api/session", json={"coder": coder}, headers={"X-CSRF-Token": token})
        assert answer.status_code == 200, answer.text
    return web


def token(web: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": web.get("/api/session").json()["csrf"]}


def post(web: TestClient, **data):
    return web.post("/api/codings", json=data, headers=token(web))


def first_segment(web: TestClient, name: str = "E1") -> dict:
    doc = web.get(f"/api/documents/{name}").json()
    return next(s for t in doc["turns"] if t["role"] == "respondent" for s in t["segments"])


def test_documents_codebook_and_a_new_coding_read_back(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    docs = web.get("/api/documents").json()["documents"]
    assert [d["name"] for d in docs] == ["E1", "E2", "P1"]
    e1 = docs[0]
    assert e1["case"] == "E1" and e1["attributes"]["group"] == "entry" and e1["words"] > 500
    assert e1["coded_segments"] == 0 and e1["segments"] > 10
    book = web.get("/api/codebook").json()
    assert [c["id"] for c in book["codes"]][:3] == ["a", "b", "c"] and "qda codebook load" in book["rule"]
    doc = web.get("/api/documents/E1").json()
    seg = first_segment(web)
    assert doc["text"][seg["start"]:seg["end"]] and doc["length"] == len(doc["text"])
    answer = post(web, document="E1", start=seg["start"], end=seg["start"] + 20, code="b", memo="démo")
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["id"] > 0 and stored["coder"] == "alice" and stored["memo"] == "démo"
    assert stored["text"] == doc["text"][seg["start"]:seg["start"] + 20].strip()
    whole = post(web, document="E1", start=seg["start"], end=seg["end"], code="a").json()
    assert whole["segment"] == seg["ref"]
    codings = web.get("/api/documents/E1").json()["codings"]
    assert {c["id"] for c in codings} == {stored["id"], whole["id"]}
    assert web.get("/api/codebook").json()["codes"][1]["count"] == 1
    with Project.open(demo_project) as project:
        assert {c.id for c in project.codings("alice")} == {stored["id"], whole["id"]}


def test_offsets_are_code_points(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    text = web.get("/api/documents/E1").json()["text"]
    start = text.index("Université")
    stored = post(web, document="E1", start=start, end=start + len("Université"), code="n").json()
    assert stored["text"] == "Université"


def test_change_and_delete_own_coding(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    seg = first_segment(web)
    made = post(web, document="E1", start=seg["start"], end=seg["end"], code="a").json()
    changed = web.patch(f"/api/codings/{made['id']}", json={"code": "b", "end": seg["end"] - 5, "memo": "m"},
                        headers=token(web))
    assert changed.status_code == 200, changed.text
    assert changed.json()["code"] == "b" and changed.json()["segment"] is None and changed.json()["memo"] == "m"
    gone = web.delete(f"/api/codings/{made['id']}", headers=token(web))
    assert gone.status_code == 200 and gone.json()["code"] == "b"
    assert web.get("/api/documents/E1").json()["codings"] == []
    assert web.delete(f"/api/codings/{made['id']}", headers=token(web)).status_code == 404


def test_the_same_code_on_the_same_span_twice_is_refused(demo_project: Path) -> None:
    """Issue 11: a second identical coding would count twice in matrices and agreement."""
    web = client(demo_project, "alice")
    seg = first_segment(web)
    made = post(web, document="E1", start=seg["start"], end=seg["end"], code="a").json()
    again = post(web, document="E1", start=seg["start"], end=seg["end"], code="a")
    assert again.status_code == 422 and "already coded this passage with 'a'" in again.json()["error"]["message"]
    assert again.json()["error"]["code"] == "duplicate_coding"  # what the page decides on, not the words
    other = post(web, document="E1", start=seg["start"], end=seg["end"], code="b").json()
    onto = web.patch(f"/api/codings/{other['id']}", json={"code": "a"}, headers=token(web))
    assert onto.status_code == 422 and onto.json()["error"]["code"] == "duplicate_coding"
    # another coder may code the same passage; one's own coding may be saved unchanged
    assert post(client(demo_project, "bruno"), document="E1", start=seg["start"], end=seg["end"],
                code="a").status_code == 201
    assert web.patch(f"/api/codings/{made['id']}", json={"memo": "m"}, headers=token(web)).status_code == 200
    assert sorted(c["code"] for c in web.get("/api/documents/E1").json()["codings"] if c["coder"] == "alice") == [
        "a", "b"]


@pytest.mark.parametrize("data, message", [
    ({"start": 0, "end": 10 ** 7, "code": "a"}, "outside the document"),
    ({"start": 50, "end": 50, "code": "a"}, "start must be before end"),
    ({"start": 60, "end": 50, "code": "a"}, "start must be before end"),
    ({"start": "0", "end": 50, "code": "a"}, "integer"),
    ({"start": 1.5, "end": 50, "code": "a"}, "integer"),
    ({"start": True, "end": 50, "code": "a"}, "integer"),
    ({"start": -1, "end": 50, "code": "a"}, "outside the document"),
    ({"start": 0, "end": 50, "code": "zz"}, "unknown code 'zz'"),
    ({"start": 0, "end": 50, "code": "digital"}, "unknown code"),
    ({"start": 0, "end": 50, "code": "a", "coder": "bruno"}, "the coder comes from the session"),
])
def test_bad_codings_are_422_and_change_nothing(demo_project: Path, data: dict, message: str) -> None:
    web = client(demo_project, "alice")
    before = snapshot(demo_project)
    answer = post(web, document="E1", **data)
    assert answer.status_code == 422 and message in answer.json()["error"]["message"], answer.text
    assert snapshot(demo_project) == before


def test_unknown_document_or_coding_is_404(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    before = snapshot(demo_project)
    assert web.get("/api/documents/NOPE").status_code == 404
    assert post(web, document="NOPE", start=0, end=5, code="a").status_code == 404
    assert web.patch("/api/codings/999", json={"code": "a"}, headers=token(web)).status_code == 404
    assert web.delete("/api/codings/abc", headers=token(web)).status_code == 404
    assert web.get("/api/nothing").status_code == 404
    assert snapshot(demo_project) == before


def test_another_coders_coding_answers_like_a_missing_one(demo_project: Path) -> None:
    alice = client(demo_project, "alice")
    seg = first_segment(alice)
    made = post(alice, document="E1", start=seg["start"], end=seg["end"], code="a").json()
    bruno = client(demo_project, "bruno")
    before = snapshot(demo_project)
    # 404 with the same words as for an id that does not exist: no existence oracle (issue 20)
    missing = bruno.patch("/api/codings/99999", json={"code": "b"}, headers=token(bruno))
    for answer in (bruno.patch(f"/api/codings/{made['id']}", json={"code": "b"}, headers=token(bruno)),
                   bruno.delete(f"/api/codings/{made['id']}", headers=token(bruno)),
                   bruno.get(f"/api/codings/{made['id']}")):
        assert answer.status_code == 404 and answer.json() == missing.json()
    assert snapshot(demo_project) == before


def test_writes_need_a_csrf_token_and_a_coder(demo_project: Path) -> None:
    web = client(demo_project)
    before = snapshot(demo_project)
    assert web.post("/api/codings", json={"document": "E1", "start": 0, "end": 9, "code": "a"},
                    headers=token(web)).status_code == 401
    web = client(demo_project, "alice")
    assert web.post("/api/codings", json={"document": "E1", "start": 0, "end": 9, "code": "a"}).status_code == 403
    assert web.post("/api/codings", json={"document": "E1", "start": 0, "end": 9, "code": "a"},
                    headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert snapshot(demo_project) == before


def test_blind_mode_hides_the_other_coder(demo_project: Path) -> None:
    alice, bruno = client(demo_project, "alice"), client(demo_project, "bruno")
    seg = first_segment(alice)
    mine = post(alice, document="E1", start=seg["start"], end=seg["end"], code="a").json()
    post(bruno, document="E1", start=seg["start"], end=seg["end"], code="b")
    assert alice.get("/api/session").json()["blind"] is True
    assert [c["coder"] for c in alice.get("/api/documents/E1").json()["codings"]] == ["alice"]
    assert alice.get("/api/documents/E1?coder=bruno").status_code == 404
    assert bruno.get(f"/api/codings/{mine['id']}").status_code == 404
    assert list(bruno.get("/api/documents").json()["documents"][0]["codings"]) == ["bruno"]
    lead = client(demo_project, "lead", unblind=True)
    assert lead.get("/api/session").json()["blind"] is False
    assert [c["code"] for c in lead.get("/api/documents/E1?coder=bruno").json()["codings"]] == ["b"]


def test_fixed_coder_cannot_be_switched(demo_project: Path) -> None:
    web = TestClient(create_app(demo_project, coder="alice"), base_url=BASE)
    assert web.get("/api/session").json()["coder"] == "alice"
    answer = web.post("/api/session", json={"coder": "bruno"}, headers=token(web))
    assert answer.status_code == 403


def test_big_or_malformed_bodies_are_refused(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    before = snapshot(demo_project)
    big = web.post("/api/codings", content=b"{" + b" " * 300_000 + b"}",
                   headers={**token(web), "Content-Type": "application/json"})
    assert big.status_code == 413
    bad = web.post("/api/codings", content=b"not json", headers={**token(web), "Content-Type": "application/json"})
    assert bad.status_code == 422
    assert snapshot(demo_project) == before


def test_no_url_reaches_the_file_system(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    for url in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2f..%2fproject.py",
                "/static//etc/passwd", "/api/documents/..%2f..%2fetc%2fpasswd", "/project.qda"):
        answer = web.get(url)
        assert answer.status_code == 404, url
        assert "create_app" not in answer.text and "root:" not in answer.text
    assert web.get("/static/workspace.js").status_code == 200


def test_other_hosts_are_refused_on_localhost(demo_project: Path) -> None:
    web = TestClient(create_app(demo_project), base_url="http://evil.example")
    assert web.get("/").status_code == 400


def test_page_escapes_and_sets_security_headers(demo_project: Path) -> None:
    web = TestClient(create_app(demo_project, coder="alice"), base_url=BASE)
    page = web.get("/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert 'name="csrf-token"' in page.text
    cookie = page.headers.get("set-cookie", "").lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


# ---------------------------------------------------------------------------- accounts (non-local --host)

def accounts_client(folder: Path) -> TestClient:
    return TestClient(create_app(folder, host="0.0.0.0"), base_url="http://qda.lab.example")


def login(web: TestClient, name: str, password: str):
    form = web.get("/login")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    return web.post("/login", data={"csrf": csrf, "name": name, "password": password}, follow_redirects=False)


def test_users_add_stores_a_scrypt_hash_only(demo_project: Path, runner) -> None:
    result = runner.invoke(app,
                           ["-p", str(demo_project), "users", "add", "alice", "--password-stdin"],
                           input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    dump = snapshot(demo_project).decode()
    assert "correct horse battery" not in dump and "scrypt$" in dump
    short = runner.invoke(app,
                          ["-p", str(demo_project), "users", "add", "bob", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output


def test_a_network_address_needs_accounts(demo_project: Path) -> None:
    from qda.errors import AuthError
    with pytest.raises(AuthError, match="qda users add"):
        create_app(demo_project, host="0.0.0.0")


def test_login_wrong_password_is_401_and_right_one_opens_a_session(demo_project: Path) -> None:
    with Project.open(demo_project) as project:
        project.add_user("alice", "correct horse battery")
    web = accounts_client(demo_project)
    assert web.get("/", follow_redirects=False).headers["location"] == "/login"
    assert web.get("/api/documents").status_code == 401
    assert login(web, "alice", "wrong password!").status_code == 401
    assert login(web, "mallory", "correct horse battery").status_code == 401
    assert web.get("/api/documents").status_code == 401
    answer = login(web, "alice", "correct horse battery")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    session = web.get("/api/session").json()
    assert session["coder"] == "alice" and session["accounts"] is True
    # the coder comes from the login: a session switch is refused
    assert web.post("/api/session", json={"coder": "bruno"},
                    headers={"X-CSRF-Token": session["csrf"]}).status_code == 403
    seg = first_segment(web)
    made = web.post("/api/codings", json={"document": "E1", "start": seg["start"], "end": seg["end"], "code": "a"},
                    headers={"X-CSRF-Token": session["csrf"]})
    assert made.status_code == 201 and made.json()["coder"] == "alice"


def test_login_form_needs_its_csrf_token(demo_project: Path) -> None:
    with Project.open(demo_project) as project:
        project.add_user("alice", "correct horse battery")
    web = accounts_client(demo_project)
    web.get("/login")
    answer = web.post("/login", data={"csrf": "forged", "name": "alice", "password": "correct horse battery"},
                      follow_redirects=False)
    assert answer.status_code == 403 and web.get("/api/documents").status_code == 401


# ---------------------------------------------------------------------------- retrieval and search

def test_retrieve_any_all_not_and_case_attributes(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    e1 = web.get("/api/documents/E1").json()
    p1 = web.get("/api/documents/P1").json()
    s1, s2 = [s for t in e1["turns"] if t["role"] == "respondent" for s in t["segments"]][:2]
    q1 = next(s for t in p1["turns"] if t["role"] == "respondent" for s in t["segments"])
    post(web, document="E1", start=s1["start"], end=s1["end"], code="a")
    post(web, document="E1", start=s1["start"] + 3, end=s1["end"], code="h")
    post(web, document="E1", start=s2["start"], end=s2["end"], code="a")
    post(web, document="E1", start=s2["start"], end=s2["end"], code="n")
    post(web, document="P1", start=q1["start"], end=q1["end"], code="a")

    def got(**params):
        answer = web.get("/api/retrieve", params=params)
        assert answer.status_code == 200, answer.text
        return [(r["document"], r["start"], r["code"]) for r in answer.json()["rows"]]

    assert len(got(codes="a")) == 3
    assert len(got(codes="a,h")) == 4
    # as `qda retrieve --match all`: the text coded with both codes (their intersection)
    assert got(codes="a,h", mode="all") == [("E1", s1["start"] + 3, "a, h")]
    assert got(codes="a", **{"not": "n"}) == [("E1", s1["start"], "a"), ("P1", q1["start"], "a")]
    assert got(codes="a", where="group=post-entry") == [("P1", q1["start"], "a")]
    assert got(codes="h", mode="all") == got(codes="h")  # "all" of one code is that code
    refused = web.get("/api/retrieve", params={"codes": "a,h", "mode": "most"})
    assert refused.status_code == 422 and refused.json()["error"] == {
        "code": "bad_request", "message": "unknown mode 'most' (use one of: any, all)"}
    # the page lists the passages `qda retrieve` gives for the same query
    with Project.open(demo_project) as project:
        for params, query in (({"codes": "a,h"}, {"codes": ["a", "h"]}),
                              ({"codes": "a,h", "mode": "all"}, {"codes": ["a", "h"], "match": "all"}),
                              ({"codes": "a", "not": "n"}, {"codes": ["a"], "exclude": ["n"]})):
            cli = project.retrieve(coders=["alice"], **query)
            page = web.get("/api/retrieve", params=params).json()["rows"]
            assert [(r["document"], r["start"], r["end"], r["codes"]) for r in page] == [
                (p.document, p.start, p.end, list(p.codes)) for p in cli.passages]
    row = web.get("/api/retrieve", params={"codes": "h"}).json()["rows"][0]
    assert row["overlapping"] == ["a"]
    assert (row["before"] + row["text"] + row["after"]) in e1["text"]
    csv = web.get("/api/retrieve", params={"codes": "a", "format": "csv"})
    assert csv.status_code == 200 and csv.text.lstrip("\ufeff").startswith("case,document,segment")
    assert csv.text.count("\nE1,") + csv.text.count("\nP1,") == 3
    xlsx = web.get("/api/retrieve", params={"codes": "a", "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert web.get("/api/retrieve", params={"codes": "zz"}).status_code == 422


def test_retrieve_other_coders_only_when_unblind(demo_project: Path) -> None:
    alice, bruno = client(demo_project, "alice"), client(demo_project, "bruno")
    seg = first_segment(alice)
    post(alice, document="E1", start=seg["start"], end=seg["end"], code="a")
    post(bruno, document="E1", start=seg["start"], end=seg["end"], code="a")
    assert alice.get("/api/retrieve", params={"codes": "a", "coder": "bruno"}).status_code == 404
    assert alice.get("/api/retrieve", params={"codes": "a", "coder": "*"}).status_code == 404
    lead = client(demo_project, "lead", unblind=True)
    assert {r["coder"] for r in lead.get("/api/retrieve", params={"codes": "a", "coder": "*"}).json()["rows"]} == {
        "alice", "bruno"}


def test_search_keyword_in_context(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    hits = web.get("/api/search", params={"q": "université"}).json()["hits"]
    text = web.get("/api/documents/E1").json()["text"]
    assert hits and all(h["match"].lower() == "université" for h in hits)
    first = next(h for h in hits if h["document"] == "E1")
    assert text[first["start"]:first["end"]] == first["match"]
    assert all(h["match"] == "(" for h in web.get("/api/search", params={"q": "("}).json()["hits"])
    assert web.get("/api/search", params={"q": "(", "regex": "1"}).status_code == 422
    assert web.get("/api/search", params={"q": " "}).status_code == 422


# ---------------------------------------------------------------------------- memos

def test_memos_reach_matrix_workbook_and_refi(demo_project: Path, runner, tmp_path: Path) -> None:
    web = client(demo_project, "alice")
    seg = first_segment(web)
    post(web, document="E1", start=seg["start"], end=seg["end"], code="a", memo="coding memo <i>")
    doc_memo = web.post("/api/memos", json={"about": "document", "target": "E1", "text": "long interview"},
                        headers=token(web))
    assert doc_memo.status_code == 201 and doc_memo.json()["author"] == "alice"
    assert web.post("/api/memos", json={"about": "code", "target": "a", "text": "social media memo"},
                    headers=token(web)).status_code == 201
    assert web.post("/api/memos", json={"about": "code", "target": "zz", "text": "x"},
                    headers=token(web)).status_code == 404
    assert web.post("/api/memos", json={"about": "coding", "target": "1", "text": "x"},
                    headers=token(web)).status_code == 422
    bruno = client(demo_project, "bruno")
    assert bruno.delete(f"/api/memos/{doc_memo.json()['id']}", headers=token(bruno)).status_code == 404
    assert [m["text"] for m in web.get("/api/documents/E1").json()["memos"]] == ["long interview"]
    matrix = json.loads(run(runner, "-p", demo_project, "matrix", "case", "E1", "--coder", "alice",
                            "--format", "json").stdout)
    assert matrix["codes"][0]["quotes"][0]["memo"] == "coding memo <i>"
    assert {(m["about"], m["text"]) for m in matrix["memos"]} == {("document", "long interview"),
                                                                  ("code", "social media memo")}
    table = run(runner, "-p", demo_project, "matrix", "case", "E1", "--coder", "alice").stdout
    assert "long interview" in table and "coding memo" in table
    book = tmp_path / "book.xlsx"
    run(runner, "-p", demo_project, "export", "workbook", book, "--coder", "alice", "--by", "group")
    from openpyxl import load_workbook
    cells = [str(c.value) for ws in load_workbook(book) for row in ws.iter_rows() for c in row if c.value]
    assert any("coding memo <i>" in c for c in cells) and "long interview" in cells
    qdpx = tmp_path / "p.qdpx"
    run(runner, "-p", demo_project, "export", "qdpx", qdpx)
    import zipfile
    xml = zipfile.ZipFile(qdpx).read("project.qde").decode()
    assert "long interview" in xml and "social media memo" in xml and "coding memo &lt;i&gt;" in xml


def test_a_write_while_another_command_holds_the_lock_is_503_and_retried_fine(demo_project: Path) -> None:
    import sqlite3

    web = client(demo_project, "alice")
    seg = first_segment(web)
    blocker = sqlite3.connect(demo_project / "project.qda", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        from qda import store
        original = store.sqlite3.connect

        def impatient(*args, **kwargs):  # the test need not wait the default 5 s
            return original(*args, **{**kwargs, "timeout": 0.2})
        store.sqlite3.connect = impatient
        try:
            busy = client(demo_project, "alice")
            answer = post(busy, document="E1", start=seg["start"], end=seg["end"], code="a")
        finally:
            store.sqlite3.connect = original
        assert answer.status_code == 503 and "busy" in answer.json()["error"]["message"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert post(web, document="E1", start=seg["start"], end=seg["end"], code="a").status_code == 201


# ---------------------------------------------------------------------------- the qda serve command

def test_qda_serve_starts_uvicorn_on_the_project(demo_project: Path) -> None:
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen([sys.executable, "-m", "qda", "-p", str(demo_project), "serve", "--port", str(port),
                               "--coder", "alice"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/session", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "qda serve did not answer"
                time.sleep(0.2)
        assert answer.json()["coder"] == "alice" and answer.json()["fixed"] is True
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "workspace.js" in page.text
    finally:
        server.terminate()
        server.wait(10)


def test_qda_serve_on_a_network_address_without_accounts_is_refused(demo_project: Path, runner) -> None:
    result = runner.invoke(app, ["-p", str(demo_project), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "qda users add" in result.output
    added = runner.invoke(app, ["-p", str(demo_project), "users", "add", "alice", "--password-stdin"],
                          input="correct horse battery\n")
    assert added.exit_code == 0
    listed = runner.invoke(app, ["-p", str(demo_project), "users", "list", "--format", "json"]).output
    assert [a["name"] for a in json.loads(listed)["accounts"]] == ["alice"]
    refused = runner.invoke(app, ["-p", str(demo_project), "serve", "--host", "0.0.0.0", "--coder", "alice"])
    assert refused.exit_code == 1 and "--coder is for localhost" in refused.output


def test_a_runaway_search_regex_is_refused_in_time_while_other_requests_are_answered(demo_project: Path,
                                                                                      monkeypatch) -> None:
    # Before: GET /api/search?regex=1&q=(.|.)*! held the interpreter lock: every other user
    # timed out, and SIGTERM was ignored.
    import threading
    import time

    from typer.testing import CliRunner

    transcript = demo_project.parent / "C1.txt"
    transcript.write_text("Intervieweur : Et ensuite ?\nRépondant : " + "a" * 80 + " et voilà.\n", encoding="utf-8")
    run(CliRunner(), "-p", demo_project, "import", "transcripts", transcript)
    monkeypatch.setenv("QDA_REGEX_TIMEOUT", "3")
    searcher, other = client(demo_project, "alice"), client(demo_project, "bruno")
    answered: dict[str, float] = {}

    def search() -> None:
        answer = searcher.get("/api/search", params={"q": "(?:a|a){30}c", "regex": "1"})
        answered["search"] = time.monotonic()
        answered["status"] = answer.status_code
        answered["error"] = answer.json()["error"]["message"]

    thread = threading.Thread(target=search)
    started = time.monotonic()
    thread.start()
    time.sleep(0.5)  # the search is running
    assert other.get("/api/documents").status_code == 200
    answered["other"] = time.monotonic()
    thread.join(60)
    assert answered["status"] == 422 and "took more than 3 s and was stopped" in answered["error"]
    assert answered["other"] < answered["search"]  # answered while the search still ran
    assert answered["search"] - started < 30
