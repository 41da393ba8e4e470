"""A team server (issue 20 items 1-4): roles on every endpoint, blind mode as the project's
setting, sessions the server can revoke, login throttling and today's password hashing.

The network-mode app is driven in-process (Starlette's TestClient with a Host of the lab's
server); accounts are made once per module (each scrypt hash takes ~0.4 s) and copied.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from qda.cli import app
from qda.coding import accounts
from qda.errors import AuthError, NotFoundError, ThrottledError
from qda.project import Project
from qda.web import create_app
from qda.web.access import AddressThrottle
from tests.conftest import CODEBOOK, run, snapshot

PASSWORD = "correct horse battery"
TEAM = {"lena": "lead", "alice": "coder", "bruno": "coder", "vera": "viewer"}
HOST = "http://qda.lab.example"


@pytest.fixture(scope="module")
def team_template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("team") / "project"
    shutil.copytree(demo_template, folder)
    with Project.open(folder) as project:
        for name, role in TEAM.items():
            project.add_user(name, PASSWORD, role)
    return folder


@pytest.fixture
def team(team_template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    shutil.copytree(team_template, folder)
    return folder


def network(folder: Path, **options) -> TestClient:
    return TestClient(create_app(folder, host="0.0.0.0", **options), base_url=HOST)


def login_form(web: TestClient, name: str, password: str = PASSWORD, csrf: str | None = None):
    page = web.get("/login")
    token = page.text.split('name="csrf" value="')[1].split('"')[0] if csrf is None else csrf
    return web.post("/login", data={"csrf": token, "name": name, "password": password}, follow_redirects=False)


def logged_in(folder: Path, name: str, web: TestClient | None = None) -> TestClient:
    web = web or network(folder)
    answer = login_form(web, name)
    assert answer.status_code == 303, answer.text
    return web


def headers(web: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": web.get("/api/session").json()["csrf"]}


def first_segment(web: TestClient, name: str = "E1") -> dict:
    doc = web.get(f"/api/documents/{name}").json()
    return next(s for t in doc["turns"] if t["role"] == "respondent" for s in t["segments"])


def code(web: TestClient, code_id: str = "a", shift: int = 0, document: str = "E1") -> dict:
    seg = first_segment(web, document)
    made = web.post("/api/codings", json={"document": document, "start": seg["start"] + shift, "end": seg["end"],
                                          "code": code_id}, headers=headers(web))
    assert made.status_code == 201, made.text
    return made.json()


ROLE_REFUSAL = re.compile(r"only the lead may|reads but does not write")
ERROR_CODE = re.compile(r"[a-z]+(_[a-z]+)*")

# ---------------------------------------------------------------------------- 1. the role x endpoint matrix
# Who gets through each route and method: written here from the rules, not read from
# the app. A route the app has and this table lacks fails the test: a new endpoint needs a rule.
EVERYONE = {"anonymous", "lead", "coder", "viewer"}
LOGGED_IN = {"lead", "coder", "viewer"}
WRITERS = {"lead", "coder"}
LEAD_ONLY = {"lead"}
MATRIX: dict[tuple[str, str], set[str]] = {
    ("/", "GET"): EVERYONE,  # the page (a redirect to /login when not logged in)
    ("/login", "GET"): EVERYONE,
    ("/login", "POST"): EVERYONE,
    ("/logout", "POST"): EVERYONE,
    ("/api/session", "GET"): EVERYONE,
    ("/api/session", "POST"): set(),  # choosing a coder is for localhost: on a network, the login decides
    ("/api/documents", "GET"): LOGGED_IN,
    ("/api/documents/{name:str}", "GET"): LOGGED_IN,
    ("/api/documents/{name:str}/export", "GET"): LOGGED_IN,
    ("/api/codebook", "GET"): LOGGED_IN,
    ("/api/codings", "POST"): WRITERS,
    ("/api/codings/batch", "POST"): WRITERS,  # search hits coded in one write
    ("/api/codings/batch", "DELETE"): WRITERS,  # and deleted in one (the page's undo): one's own only
    ("/api/codings/{coding_id:str}", "GET"): LOGGED_IN,
    ("/api/codings/{coding_id:str}", "PATCH"): WRITERS,
    ("/api/codings/{coding_id:str}", "DELETE"): WRITERS,
    ("/api/memos", "GET"): LOGGED_IN,
    ("/api/memos", "POST"): WRITERS,
    ("/api/memos/{memo_id:str}", "PATCH"): WRITERS,
    ("/api/memos/{memo_id:str}", "DELETE"): WRITERS,
    ("/api/memo-overview", "GET"): LOGGED_IN,
    ("/api/compare", "GET"): LEAD_ONLY,
    ("/api/retrieve", "GET"): LOGGED_IN,
    ("/api/search", "GET"): LOGGED_IN,
    ("/api/adjudicate", "POST"): LEAD_ONLY,
    ("/api/blind", "GET"): LOGGED_IN,
    ("/api/blind", "POST"): LEAD_ONLY,
    ("/api/codes", "POST"): WRITERS,
    ("/api/codes/rename", "POST"): LEAD_ONLY,
    ("/api/codes/merge", "POST"): LEAD_ONLY,
    ("/api/sets", "GET"): LOGGED_IN,
    ("/review", "GET"): EVERYONE,  # the review page (back to the workspace, which asks who you are)
    ("/api/review/models", "GET"): LOGGED_IN,
    ("/api/review/queue", "GET"): LOGGED_IN,
    ("/api/review/explain/{coding_id:str}", "GET"): LOGGED_IN,
    ("/api/review/provenance", "GET"): LOGGED_IN,
    ("/api/review/decide", "POST"): WRITERS,  # a decision becomes the reviewer's own coding
    ("/api/review/undo", "POST"): WRITERS,
    ("/api/review/bulk", "POST"): WRITERS,  # and only past the gate (tests/test_suggest_review.py)
    ("/api/review/retrain", "POST"): WRITERS,
    ("/api/{rest:path}", "GET"): EVERYONE,  # the catch-all: 404 for everyone
    ("/api/{rest:path}", "POST"): EVERYONE,
    ("/api/{rest:path}", "PATCH"): EVERYONE,
    ("/api/{rest:path}", "DELETE"): EVERYONE,
}
BODIES = {
    "/api/codings": {"document": "E1", "start": 0, "end": 5, "code": "a"},
    "/api/codings/{coding_id:str}": {"memo": "a note"},
    "/api/codings/batch": {"code": "a", "hits": [{"document": "E1", "start": 0, "end": 5}]},
    "/api/memos": {"about": "document", "target": "E1", "text": "a memo"},
    "/api/memos/{memo_id:str}": {"text": "changed"},
    "/api/adjudicate": {"a": "alice", "b": "bruno", "as": "consensus", "decisions": []},
    "/api/blind": {"blind": False},
    "/api/codes": {"id": "a", "label": "Taken"},  # refused (the id exists): nothing written into the YAML file
    "/api/codes/rename": {"code": "zz", "new": "yy"},
    "/api/codes/merge": {"sources": ["zz"], "into": "a"},
}


def app_routes(web: TestClient) -> list[tuple[str, str]]:
    found = []
    for route in web.app.routes:
        if isinstance(route, Mount):
            continue  # /static: files of the package, the same for everyone
        assert isinstance(route, Route), route
        found += [(route.path, method) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def test_every_route_has_a_rule_and_every_role_gets_exactly_what_it_may(team: Path) -> None:
    with Project.open(team) as project:
        project.set_blind(False)  # roles alone decide here; blind mode has its own tests below
    clients = {"anonymous": network(team)}
    for name, role in TEAM.items():
        clients[role] = logged_in(team, name)
    routes = app_routes(clients["lead"])
    assert set(routes) == set(MATRIX), ("routes without a rule in MATRIX (or rules for routes that are gone)",
                                        set(routes) ^ set(MATRIX))
    owner = {"lead": "lead", "coder": "coder", "viewer": "coder"}  # whose coding/memo each role asks about
    made = {role: code(clients[role]) for role in ("lead", "coder")}
    memos = {role: clients[role].post("/api/memos", json={"about": "document", "target": "E1", "text": role},
                                      headers=headers(clients[role])).json() for role in ("lead", "coder")}
    codebook_file = CODEBOOK.read_bytes()  # the demo project's YAML codebook is the repository's
    order = {"GET": 0, "POST": 1, "PATCH": 2, "DELETE": 3}  # a coding is deleted after it was read and changed
    checked = 0
    codes_seen: set[str] = set()
    for role, web in clients.items():
        before = snapshot(team)
        token = headers(web)
        for path, method in sorted(routes, key=lambda r: (order[r[1]], r[0])):
            url = (path.replace("{name:str}", "E1").replace("{rest:path}", "nothing")
                   .replace("{coding_id:str}", str(made[owner.get(role, "coder")]["id"]))
                   .replace("{memo_id:str}", str(memos[owner.get(role, "coder")]["id"])))
            if path == "/api/compare":
                url += "?a=alice&b=bruno"
            if path == "/logout":
                continue  # logging out would end the session the rest of the walk needs; see the session tests
            answer = web.request(method, url, json=BODIES.get(path) if method != "GET" else None, headers=token,
                                 follow_redirects=False)
            data = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
            error = ""
            if answer.status_code >= 400 and path.startswith("/api"):
                # every error answer of the API: {"error": {"code": snake_case, "message": text}, "problems": [...]}
                assert ERROR_CODE.fullmatch(data["error"]["code"]), (role, method, path, answer.text)
                assert data["error"]["message"] and isinstance(data["problems"], list), (role, method, path)
                error = data["error"]["message"]
                codes_seen.add(data["error"]["code"])
            if role in MATRIX[(path, method)]:
                assert answer.status_code != 401 and not ROLE_REFUSAL.search(error), (role, method, path, answer.text)
            elif role == "anonymous":
                assert answer.status_code in (401, 403), (role, method, path, answer.status_code)
            else:
                assert answer.status_code == 403, (role, method, path, answer.status_code, answer.text)
                assert ROLE_REFUSAL.search(error) or path == "/api/session", (role, method, path, error)
            checked += 1
        if role in ("viewer", "anonymous"):
            assert snapshot(team) == before, f"a {role} changed the project"
    assert checked == (len(routes) - 1) * len(clients)
    assert {"auth_required", "role_refused", "unknown_endpoint"} <= codes_seen, codes_seen
    assert CODEBOOK.read_bytes() == codebook_file


def test_the_single_user_on_localhost_without_accounts_is_the_lead(demo_project: Path) -> None:
    with Project.open(demo_project) as project:
        seg = project.segments(document="E1")[3]
        project.add_coding("alice", "E1", "a", start=seg.start, end=seg.end)
        project.add_coding("bruno", "E1", "b", start=seg.start, end=seg.end)
    web = TestClient(create_app(demo_project, coder="alice"), base_url="http://127.0.0.1")
    assert web.get("/api/session").json()["role"] == "lead"
    answer = web.post("/api/blind", json={"blind": False}, headers=headers(web))
    assert answer.status_code == 200 and answer.json()["blind"] is False
    assert web.get("/api/compare?a=alice&b=bruno").status_code == 200


def test_only_the_lead_records_decisions_as_another_coder(team: Path) -> None:
    """The intern of issue 20 who overwrote 'consensus' through Record decisions."""
    with Project.open(team) as project:
        project.set_blind(False)
    alice, bruno = logged_in(team, "alice"), logged_in(team, "bruno")
    code(alice, "a")
    code(bruno, "b", shift=3)
    before = snapshot(team)
    body = {"a": "alice", "b": "bruno", "as": "consensus", "decisions": [], "replace": True}
    refused = alice.post("/api/adjudicate", json=body, headers=headers(alice))
    assert refused.status_code == 403 and "only the lead" in refused.json()["error"]["message"]
    assert snapshot(team) == before
    lena = logged_in(team, "lena")
    keys = [r["key"] for r in lena.get("/api/compare?a=alice&b=bruno").json()["regions"]]
    body["decisions"] = [{"region": k, "decision": "a"} for k in keys]
    assert lena.post("/api/adjudicate", json=body, headers=headers(lena)).status_code == 200


def test_users_commands_roles_list_and_errors(demo_project: Path, runner) -> None:
    p = str(demo_project)
    added = runner.invoke(app, ["-p", p, "users", "add", "lena", "--role", "lead", "--password-stdin"],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0 and "(lead)" in added.output
    runner.invoke(app, ["-p", p, "users", "add", "vera", "--password-stdin"], input=PASSWORD + "\n")
    listed = json.loads(run(runner, "-p", p, "users", "list", "--format", "json").output)
    assert [(a["name"], a["role"], a["state"]) for a in listed["accounts"]] == [("lena", "lead", "active"),
                                                                                 ("vera", "coder", "active")]
    assert "password" not in json.dumps(listed) and "scrypt" not in json.dumps(listed)
    run(runner, "-p", p, "users", "role", "vera", "viewer")
    table = run(runner, "-p", p, "users", "list").output
    assert "viewer" in table and "lead" in table
    wrong = runner.invoke(app, ["-p", p, "users", "role", "vera", "boss"])
    assert wrong.exit_code == 2 and "'boss' is not one of" in " ".join(wrong.output.split())
    nobody = runner.invoke(app, ["-p", p, "users", "role", "nobody", "coder"])
    assert nobody.exit_code == 1 and "qda users list" in nobody.output
    # a password reset keeps the role
    runner.invoke(app, ["-p", p, "users", "add", "vera", "--password-stdin"], input="another password\n")
    with Project.open(demo_project) as project:
        assert project.account("vera").role == "viewer"


# ---------------------------------------------------------------------------- 2. blind mode, a setting
def test_a_fresh_blind_study_hides_everything_of_the_other_coder(team: Path) -> None:
    """Only bruno has coded: alice (who has not) reads nothing of his (was: blind off until two coders)."""
    bruno = logged_in(team, "bruno")
    mine = code(bruno, "b")
    memo = bruno.post("/api/memos", json={"about": "document", "target": "E1", "text": "bruno's note"},
                      headers=headers(bruno)).json()
    alice = logged_in(team, "alice")
    assert alice.get("/api/session").json()["blind"] is True
    assert alice.get("/api/session").json()["coders"] == ["alice"]  # not even bruno's name
    for url in ("/api/documents/E1?coder=bruno", "/api/documents/E1?coders=alice,bruno",
                "/api/retrieve?codes=b&coder=bruno", "/api/retrieve?codes=b&coder=*",
                f"/api/codings/{mine['id']}", "/api/memo-overview?author=bruno",
                "/api/documents/E1/export?coders=bruno"):
        assert alice.get(url).status_code == 404, url
    assert alice.get("/api/documents/E1").json()["codings"] == []
    assert alice.get("/api/documents/E1").json()["memos"] == []
    assert alice.get("/api/memos?about=document&target=E1").json() == {"memos": []}
    assert alice.patch(f"/api/memos/{memo['id']}", json={"text": "x"}, headers=headers(alice)).status_code == 404
    assert list(alice.get("/api/documents").json()["documents"][0]["codings"]) == []
    # compare and adjudicate: closed to non-leads, and to the lead too until blind mode is lifted
    assert alice.get("/api/compare?a=alice&b=bruno").status_code == 403
    lena = logged_in(team, "lena")
    closed = lena.get("/api/compare?a=alice&b=bruno")
    assert closed.status_code == 403 and "qda blind off" in closed.json()["error"]["message"]
    # a viewer reads what blind mode allows: nobody's codings
    vera = logged_in(team, "vera")
    assert vera.get("/api/documents/E1?coder=bruno").status_code == 404


def test_blind_mode_is_never_inferred_from_who_coded(team: Path, runner) -> None:
    alice, bruno = logged_in(team, "alice"), logged_in(team, "bruno")
    made = code(alice, "a")
    code(bruno, "b")
    assert alice.delete(f"/api/codings/{made['id']}", headers=headers(alice)).status_code == 200
    # alice deleted all her codings: still blind (was: off again with one coder left)
    assert alice.get("/api/session").json()["blind"] is True
    assert alice.get("/api/documents/E1?coder=bruno").status_code == 404
    shown = json.loads(run(runner, "-p", team, "blind", "--format", "json").output)
    assert shown == {"blind": True, "source": "default"}
    assert "blind mode is on" in run(runner, "-p", team, "blind").output
    run(runner, "-p", team, "blind", "off")
    assert alice.get("/api/session").json()["blind"] is False
    assert [c["coder"] for c in alice.get("/api/documents/E1?coder=bruno").json()["codings"]] == ["bruno"]
    assert alice.get("/api/compare?a=alice&b=bruno").status_code == 403  # still the lead's
    assert logged_in(team, "lena").get("/api/compare?a=alice&b=bruno").status_code == 200
    run(runner, "-p", team, "blind", "on")
    assert alice.get("/api/documents/E1?coder=bruno").status_code == 404
    assert runner.invoke(app, ["-p", str(team), "blind", "maybe"]).exit_code == 2


def test_the_lead_lifts_blind_mode_in_the_page_and_unblind_still_works(team: Path) -> None:
    alice, lena = logged_in(team, "alice"), logged_in(team, "lena")
    refused = alice.post("/api/blind", json={"blind": False}, headers=headers(alice))
    assert refused.status_code == 403
    assert lena.post("/api/blind", json={"blind": "no"}, headers=headers(lena)).status_code == 422
    lifted = lena.post("/api/blind", json={"blind": False}, headers=headers(lena))
    assert lifted.status_code == 200 and lifted.json()["blind"] is False
    with Project.open(team) as project:
        assert project.blind_mode().blind is False and project.blind_mode().source == "setting"
        project.set_blind(True)
    # --unblind: off for that server only, the project's setting untouched
    web = TestClient(create_app(team, unblind=True, coder="lena"), base_url="http://127.0.0.1")
    assert web.get("/api/session").json()["blind"] is False
    with Project.open(team) as project:
        assert project.blind_mode().blind is True


def test_the_page_shows_blind_mode_and_role(team: Path) -> None:
    alice = logged_in(team, "alice")
    assert 'id="role"' in alice.get("/").text and ">coder<" in alice.get("/").text
    session = alice.get("/api/session").json()
    assert session["role"] == "coder" and session["blind"] is True
    script = (Path(__file__).resolve().parent.parent / "qda/web/static/workspace.js").read_text()
    assert '"not blind"' in script and "function showMode" in script


# ---------------------------------------------------------------------------- 3. sessions the server revokes
def cookie_of(web: TestClient) -> str:
    return web.cookies.get("qda_session")


def with_cookie(folder: Path, cookie: str, web: TestClient | None = None) -> TestClient:
    other = TestClient(web.app if web else create_app(folder, host="0.0.0.0"), base_url=HOST)
    other.cookies.set("qda_session", cookie)
    return other


def test_a_copied_cookie_is_refused_after_logout(team: Path) -> None:
    alice = logged_in(team, "alice")
    copied = cookie_of(alice)
    thief = with_cookie(team, copied, alice)
    assert thief.get("/api/documents").status_code == 200
    form = alice.get("/")
    token = form.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert alice.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert thief.get("/api/documents").status_code == 401
    assert thief.post("/api/codings", json={"document": "E1", "start": 0, "end": 5, "code": "a"},
                      headers=headers(thief)).status_code == 401
    # and on a server restarted with the same secret? the session id is gone from the project
    assert with_cookie(team, copied).get("/api/documents").status_code == 401


@pytest.mark.parametrize("command", [["users", "add", "alice", "--password-stdin"],
                                     ["users", "password", "alice", "--password-stdin"]])
def test_a_password_reset_ends_every_session_of_the_account(team: Path, runner, command: list[str]) -> None:
    alice, bruno = logged_in(team, "alice"), logged_in(team, "bruno")
    thief = with_cookie(team, cookie_of(alice), alice)
    result = runner.invoke(app, ["-p", str(team), *command], input="a brand new password\n")
    assert result.exit_code == 0, result.output
    assert alice.get("/api/documents").status_code == 401 and thief.get("/api/documents").status_code == 401
    assert bruno.get("/api/documents").status_code == 200  # another account's session stays
    assert login_form(network(team), "alice").status_code == 401
    assert login_form(network(team), "alice", "a brand new password").status_code == 303


@pytest.mark.parametrize("command", [["users", "disable", "alice"], ["users", "remove", "alice"],
                                     ["users", "role", "alice", "viewer"]])
def test_disabling_removing_or_changing_a_role_ends_the_sessions(team: Path, runner, command: list[str]) -> None:
    alice = logged_in(team, "alice")
    code(alice, "a")
    run(runner, "-p", team, *command)
    assert alice.get("/api/documents").status_code == 401
    again = login_form(network(team), "alice")
    if command[1] == "role":
        assert again.status_code == 303  # logs in again, now as a viewer
    else:
        assert again.status_code == 401
    with Project.open(team) as project:
        assert project._store.count_codings(coder="alice") == 1  # the coder's work stays
    if command[1] == "disable":
        run(runner, "-p", team, "users", "disable", "alice", "--enable")
        assert login_form(network(team), "alice").status_code == 303


def test_sessions_are_kept_as_digests_and_expire(team: Path) -> None:
    with Project.open(team) as project:
        token = project.start_session("alice", at=datetime.now(timezone.utc) - timedelta(hours=13))
        assert project.session_account(token) is None  # older than a working day
        token = project.start_session("alice")
        assert project.session_account(token).name == "alice"
        assert project.session_account("forged") is None and project.session_account("") is None
    dump = snapshot(team)
    assert token.encode() not in dump and hashlib.sha256(token.encode()).hexdigest().encode() in dump


# ---------------------------------------------------------------------------- 4. throttling and hashing
def test_failed_logins_back_off_then_lock_until_the_lead_unlocks(team: Path, runner) -> None:
    start = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)
    with Project.open(team) as project:
        for i in range(accounts.BACKOFF_AFTER):
            with pytest.raises(AuthError):
                project.check_user("alice", "wrong password", at=start + timedelta(seconds=10 * i))
        late = start + timedelta(seconds=10 * (accounts.BACKOFF_AFTER - 1))
        # back-off: even the right password waits (the password is not even tried)
        with pytest.raises(ThrottledError, match="wait"):
            project.check_user("alice", PASSWORD, at=late + timedelta(milliseconds=500))
        right_after = late + timedelta(seconds=accounts.BACKOFF_SECONDS + 1)
        assert project.check_user("alice", PASSWORD, at=right_after).failures == 0  # reset
        at = right_after
        for _ in range(accounts.LOCK_AFTER):
            at += timedelta(hours=1)  # slower than any back-off: only the count locks
            with pytest.raises(AuthError):
                project.check_user("alice", "wrong password", at=at)
        with pytest.raises(ThrottledError, match="qda users unlock alice"):
            project.check_user("alice", PASSWORD, at=at + timedelta(minutes=10))
        assert project.account("alice").failures == accounts.LOCK_AFTER
        assert project.check_user("alice", PASSWORD, at=at + timedelta(minutes=16)).name == "alice"
        # locked again (as above, without spending ten more scrypt checks), now for the lead to lift
        at = datetime.now(timezone.utc)
        project._store.update_account(dataclasses.replace(project.account("alice"), failures=accounts.LOCK_AFTER,
                                                         locked_until=(at + accounts.LOCK_FOR).isoformat()))
        with pytest.raises(ThrottledError):
            project.check_user("alice", PASSWORD, at=at)
    assert "locked until" in run(runner, "-p", team, "users", "list").output
    run(runner, "-p", team, "users", "unlock", "alice")
    with Project.open(team) as project:
        assert project.check_user("alice", PASSWORD, at=at + timedelta(seconds=1)).name == "alice"


def test_the_login_page_answers_429_after_failures_of_an_account(team: Path, monkeypatch) -> None:
    monkeypatch.setattr(accounts, "BACKOFF_SECONDS", 600.0)  # however slow the machine, the next try is too soon
    web = network(team)
    for _ in range(accounts.BACKOFF_AFTER):
        assert login_form(web, "alice", "wrong password").status_code == 401
    throttled = login_form(web, "alice")  # the right password, too soon
    assert throttled.status_code == 429 and "wait" in throttled.text
    assert web.get("/api/documents").status_code == 401


def test_the_login_page_throttles_an_address_trying_many_names(team: Path) -> None:
    web = network(team)
    web.app.state.settings.throttle = AddressThrottle(limit=3)
    for name in ("mallory", "eve", "trent"):  # unknown names: no account to count on
        assert login_form(web, name, "guess guess").status_code == 401
    blocked = login_form(web, "alice")
    assert blocked.status_code == 429 and "this address" in blocked.text


def test_passwords_are_hashed_with_scrypt_at_owasp_parameters_and_old_hashes_rehashed(team: Path) -> None:
    with Project.open(team) as project:
        stored = project.account("alice").password_hash
        n, r, p = (int(v) for v in stored.split("$")[1:4])
        assert n >= 2 ** 17 and r == 8 and p == 1
        # an account from before: scrypt N = 2^14
        salt = b"0123456789abcdef"
        old = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2 ** 14, r=8, p=1, dklen=32)
        weak = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(old).decode()}"
        project._store.update_account(dataclasses.replace(project.account("alice"), password_hash=weak))
        with pytest.raises(AuthError):
            project.check_user("alice", "wrong password")
        assert project.account("alice").password_hash == weak  # a wrong password rehashes nothing
        assert project.check_user("alice", PASSWORD).name == "alice"
        rehashed = project.account("alice").password_hash
        assert rehashed != weak and rehashed.startswith("scrypt$131072$8$1$")
        assert accounts.verify_password(rehashed, PASSWORD)
        with pytest.raises(NotFoundError):
            project.account("nobody")


# ---------------------------------------------------------------------------- 5. HTTP hardening
def test_secure_cookies_on_request_and_behind_an_https_proxy(team: Path, monkeypatch, runner) -> None:
    plain = login_form(network(team), "alice")
    assert "secure" not in plain.headers["set-cookie"].lower()
    secure = login_form(TestClient(create_app(team, host="0.0.0.0", secure_cookies=True), base_url="https://qda.lab"),
                        "alice")
    assert "; secure" in secure.headers["set-cookie"].lower()
    seen = {}

    def fake_run(web, sock, proxy=False) -> None:
        seen.update(secure=web.user_middleware, proxy=proxy)
        sock.close()

    import qda.web
    monkeypatch.setattr(qda.web, "run", fake_run)
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(app, ["-p", str(team), "serve", "--host", "0.0.0.0", "--port", str(port),
                                 "--behind-https-proxy", "--allowed-host", "qda.lab.example"])
    assert result.exit_code == 0, result.output
    session = next(m for m in seen["secure"] if m.cls.__name__ == "SessionMiddleware")
    hosts = next(m for m in seen["secure"] if m.cls.__name__ == "TrustedHostMiddleware")
    assert session.kwargs["https_only"] is True and seen["proxy"] is True
    assert hosts.kwargs["allowed_hosts"] == ["qda.lab.example"]
    # the old --unblind keeps working, for that server only, and says so
    old = runner.invoke(app, ["-p", str(team), "serve", "--coder", "lena", "--unblind", "--port", str(port)])
    assert old.exit_code == 0 and "for this server only" in " ".join(old.output.split())
    with Project.open(team) as project:
        assert project.blind_mode().blind is True


def test_allowed_hosts_in_network_mode(team: Path) -> None:
    folder_app = create_app(team, host="0.0.0.0", allowed_hosts=["qda.lab.example"])
    assert TestClient(folder_app, base_url="http://evil.example").get("/login").status_code == 400
    assert TestClient(folder_app, base_url="http://qda.lab.example").get("/login").status_code == 200


def test_api_answers_are_nosniff_and_no_store(team: Path) -> None:
    alice = logged_in(team, "alice")
    for answer in (alice.get("/api/documents"), alice.get("/api/documents/NOPE"), alice.get("/api/nothing"),
                   network(team).get("/api/documents"), alice.get("/login")):
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url
        assert answer.headers["cache-control"] == "no-store", answer.url


def test_an_empty_csrf_token_is_refused_at_login(team: Path) -> None:
    web = network(team)  # no page loaded: the session has no token, and '' must not match ''
    answer = web.post("/login", data={"csrf": "", "name": "alice", "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 403 and web.get("/api/documents").status_code == 401
    assert login_form(web, "alice", csrf="").status_code == 403


def test_malformed_input_is_422_or_404_never_500(team: Path) -> None:
    alice = logged_in(team, "alice")
    made = code(alice, "a")
    h = {**headers(alice), "Content-Type": "application/json"}
    deep = alice.post("/api/codings", content=b"[" * 50_000 + b"]" * 50_000, headers=h)
    assert deep.status_code == 422 and "nested" in deep.json()["error"]["message"]
    deep_object = alice.patch(f"/api/codings/{made['id']}", content=b'{"memo":' + b"[" * 60_000 + b"]" * 60_000 + b"}",
                              headers=h)
    assert deep_object.status_code == 422
    for data in ({"document": "E1", "start": 0, "end": 10 ** 30, "code": "a"},
                 {"document": "E1", "start": -10 ** 30, "end": 5, "code": "a"}):
        assert alice.post("/api/codings", json=data, headers=h).status_code == 422, data
    assert alice.patch(f"/api/codings/{made['id']}", json={"end": 10 ** 30}, headers=h).status_code == 422
    huge = "9" * 20
    assert alice.get(f"/api/codings/{huge}").status_code == 404
    assert alice.patch(f"/api/codings/{huge}", json={"memo": "x"}, headers=h).status_code == 404
    assert alice.delete(f"/api/codings/{huge}", headers=h).status_code == 404
    assert alice.patch(f"/api/memos/{huge}", json={"text": "x"}, headers=h).status_code == 404
    assert alice.delete(f"/api/memos/{huge}", headers=h).status_code == 404
    assert alice.get("/api/codings/\u0661\u0662").status_code == 404  # Arabic-Indic digits: isdigit() yet no id
    memo = alice.post("/api/memos", json={"about": "coding", "target": huge, "text": "x"}, headers=h)
    assert memo.status_code in (404, 422)


def test_a_project_with_accounts_from_before_roles_opens_its_users_are_coders_and_log_in(demo_project: Path) -> None:
    """The upgrade path: the users table of the previous schema (name, password, created_at),
    an N = 2^14 hash; after the migration the account is a coder, logs in, and is rehashed."""
    import sqlite3

    from qda.store import MIGRATIONS, SCHEMA_VERSION

    before = next(i for i, sql in enumerate(MIGRATIONS) if "CREATE TABLE IF NOT EXISTS sessions" in sql)
    salt = b"0123456789abcdef"
    old = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2 ** 14, r=8, p=1, dklen=32)
    weak = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(old).decode()}"
    db = sqlite3.connect(demo_project / "project.qda")
    db.execute("DROP TABLE IF EXISTS sessions")
    for column in ("role", "disabled", "failures", "locked_until"):
        db.execute(f"ALTER TABLE users DROP COLUMN {column}")
    db.execute("INSERT INTO users(name, password, created_at) VALUES ('alice', ?, '2026-01-01')", (weak,))
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(before),))
    db.commit()
    db.close()
    web = network(demo_project)
    assert login_form(web, "alice").status_code == 303
    assert web.get("/api/session").json()["role"] == "coder"
    with Project.open(demo_project) as project:
        assert project._store.schema_version() == SCHEMA_VERSION
        assert project.account("alice").password_hash.startswith("scrypt$131072$")


def test_undo_leaves_accounts_sessions_and_blind_mode_as_they_are(tmp_path: Path) -> None:
    """A restore copies data tables only: a password reset, a revoked session and the blind
    setting made after a snapshot survive the undo of an older write."""
    from qda.project import Project as P

    with P.init(tmp_path / "p") as project:
        project.add_user("alice", "first-password-1")
        token = project.start_session("alice")
        project.load_codebook(Path(__file__).parent.parent / "codebooks" / "communication-tools.yaml")
        code = project.codebook().code_ids()[0]
        memo = project.add_memo("alice", "code", code, text="before the undo")
        project.remove_memo("alice", memo.id)  # a page deletion: a history line with a snapshot
        project.add_user("alice", "second-password-2")  # a reset: the session ends
        project.set_blind(False)
        project.undo(include_others=True)
        assert [m.text for m in project.memos_about("code", code)] == ["before the undo"]
        assert project.session_account(token) is None
        project.check_user("alice", "second-password-2")
        assert not project.blind_mode().blind
