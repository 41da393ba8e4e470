"""The browser coding workspace (``qda serve``): a Starlette app over one project.

Every request opens the project on its own SQLite connection in a worker thread
(sqlite connections cannot cross threads) and closes it after; writes go through the
Project facade, each in one ``BEGIN IMMEDIATE`` transaction, so two browsers and the CLI
writing at once wait for each other instead of losing work.

The acting coder always comes from the session (chosen in the page or by ``--coder`` on
localhost, or the logged-in account elsewhere), never from a request body. On a network
the cookie holds a server-side session id (revoked at logout, password reset, removal or
disabling) and every request reads the account's role; each endpoint declares the access
it needs (``qda/web/access.py``). Every write
carries the session's CSRF token in the ``X-CSRF-Token`` header. Transcript text leaves
the server as JSON only and is put in the page with ``textContent``, so it is never
interpreted as HTML.
"""

from __future__ import annotations

import errno
import importlib
import json
import secrets
import socket
import threading
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qda.errors import (
    AccessError,
    AuthError,
    BusyError,
    InvalidCodingError,
    NeedsConfirmation,
    NotFoundError,
    QdaError,
    ServeError,
    ThrottledError,
    WouldReplaceError,
)
from qda.ingest.languages import direction as text_direction
from qda.models import Coding, Role, color_problem, is_counted
from qda.project import Project
from qda.web.access import ANYONE, LARGEST_ID, LEAD, LEVELS, READ, WRITE, AddressThrottle, ApiHeaders, Caller, refusal
from qda.web.codes import code_routes
from qda.web.lead import routes as lead_routes
from qda.web.lead import visible_coders
from qda.web.review import routes as review_routes
from qda.web.sets import set_routes

HERE = Path(__file__).resolve().parent
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 256 * 1024  # a coding or a memo is small; nothing bigger is accepted
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class Settings:
    """How the app was started."""

    folder: Path
    coder: str | None = None  # fixed by --coder on localhost
    unblind: bool = False  # --unblind: blind mode off for this server, whatever the project's setting
    accounts: bool = False  # True off localhost: every request needs a logged-in user
    secure_cookies: bool = False  # the cookie travels over HTTPS only (behind an HTTPS proxy)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    throttle: AddressThrottle = field(default_factory=AddressThrottle)  # failed logins per address


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (413), whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await PlainTextResponse("request too large", status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await PlainTextResponse("request too large", status_code=413)(scope, receive, send)


class _TooLarge(Exception):
    pass


STATUS = ((NotFoundError, 404), (AccessError, 403), (ThrottledError, 429), (AuthError, 401), (InvalidCodingError, 422),
          (BusyError, 503), (WouldReplaceError, 409), (NeedsConfirmation, 409))


def error_response(exc: QdaError) -> JSONResponse:
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 422)
    answer: dict[str, Any] = {"error": exc.message, "problems": [str(p) for p in exc.problems]}
    if isinstance(exc, WouldReplaceError):  # the page asks, then sends the same request with replace: true
        answer.update(code=exc.code, replaces={"coder": exc.coder, "codings": exc.codings,
                                               "documents": exc.documents})
    if isinstance(exc, NeedsConfirmation):
        answer["confirm"] = exc.flag  # the same request with this field true does it
    return JSONResponse(answer, status_code=status)


def shown(coding: Coding) -> bool:
    """Whether the workspace shows and counts a coding of a coder it names (``STATUS_RULES``):
    negated and orphaned codings stay in the project but are not the coder's codes on the page."""
    return is_counted(coding, coder_named=True)


def coded_segment_count(segments: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> int:
    """How many of ``segments`` overlap at least one of ``spans`` (start, end pairs).

    A bisection per segment over the spans sorted by start, with the furthest end reached
    so far: testing every span against every segment took 7 s of the document list for a
    coder with 2,000 codings on a 3,000-segment transcript (bench/serve.py).
    """
    ordered = sorted(spans)
    starts = [start for start, _ in ordered]
    reach = list(accumulate((end for _, end in ordered), max))
    count = 0
    for start, end in segments:
        last = bisect_left(starts, end) - 1  # the last span starting before the segment ends
        if last >= 0 and reach[last] > start:
            count += 1
    return count


def coding_json(c: Coding) -> dict[str, Any]:
    return {"id": c.id, "coder": c.coder, "code": c.code, "document": c.document, "case": c.case,
            "start": c.start, "end": c.end, "segment": c.segment, "text": c.text, "memo": c.note,
            "source": c.source, "status": c.status, "created_at": c.created_at,
            "name": c.name, "modified_by": c.modified_by, "modified_at": c.modified_at}


def create_app(folder: str | Path, coder: str | None = None, unblind: bool = False, host: str = "127.0.0.1",
               allowed_hosts: list[str] | None = None, secure_cookies: bool = False) -> Starlette:
    """The workspace app on the project in ``folder``.

    On a non-local ``host`` the app asks for accounts (``qda users add``) and ``coder``
    cannot be fixed. ``allowed_hosts`` (Host header values) defaults to the loopback
    names on localhost, which stops DNS-rebinding pages from reaching the project; on a
    network address, any Host unless given. ``secure_cookies``: the session cookie is
    ``Secure`` (sent over HTTPS only).
    """
    settings = Settings(Path(folder), coder=coder, unblind=unblind, accounts=host not in LOCAL_HOSTS,
                        secure_cookies=secure_cookies)
    with Project.open(settings.folder) as project:
        if settings.accounts and not project.users():
            raise AuthError(f"serving on {host} needs accounts: create one with 'qda users add NAME'")
        if settings.accounts and coder:
            raise AccessError("--coder is for localhost; on a network address each user logs in")
        if coder:
            from qda.coding.workspace import check_user_name
            settings.coder = check_user_name(coder)
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True)
    # Imported now, not by the first coding request: it brings numpy and pandas (1.4 s, the
    # 1-second worst case of bench/serve.py's coding requests).
    importlib.import_module("qda.coding.workspace")

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status,
                            headers={"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                     "style-src 'self'; script-src 'self'; frame-ancestors 'none'",
                                     "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    async def caller(request: Request) -> Caller | None:
        """Who is asking: on a network, the account of a live server-side session (read on
        every request, so a logout, a reset, a removal or a role change counts at once);
        on localhost without accounts, the single user, who is the lead."""
        if not settings.accounts:
            name = settings.coder or request.session.get("coder")
            return Caller(name, Role.LEAD.value) if name else None
        token = request.session.get("sid")
        if not isinstance(token, str) or not token:
            return None
        account = await in_project(lambda p: p.session_account(token))
        return None if account is None else Caller(account.name, account.role)

    async def current_coder(request: Request) -> str | None:
        who = await caller(request)
        return who.name if who else None

    def csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = request.session["csrf"] = secrets.token_urlsafe(24)
        return token

    # One connection per worker thread, kept open: sqlite connections cannot cross threads,
    # and closing the last connection of a WAL database checkpoints it (tens of ms a request).
    local = threading.local()

    async def in_project(fn: Callable[[Project], Any]) -> Any:
        def work() -> Any:
            project = getattr(local, "project", None)
            if project is None:
                project = local.project = Project.open(settings.folder)
            return fn(project)
        return await run_in_threadpool(work)

    Handler = Callable[..., Awaitable[Response]]

    def api(read: str = READ, write: str = WRITE) -> Callable[[Handler], Handler]:
        """Common checks of /api endpoints: CSRF on writes, a coder, the caller's role against
        the access the endpoint needs (``read`` for GET, ``write`` for the other methods, see
        qda/web/access.py), QdaError -> 4xx."""
        def wrap(handler: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                if request.method not in SAFE_METHODS:
                    given = request.headers.get("x-csrf-token", "")
                    if not given or not secrets.compare_digest(given, str(request.session.get("csrf", ""))):
                        return JSONResponse({"error": "missing or wrong CSRF token: reload the page"}, 403)
                who = await caller(request)
                coder = who.name if who else None
                level = read if request.method in SAFE_METHODS else write
                if level != ANYONE and who is None:
                    return JSONResponse({"error": "log in first" if settings.accounts else
                                         "pick a coder first"}, 401)
                if who is not None and who.role not in LEVELS[level]:
                    return JSONResponse({"error": refusal(who.role, level)}, 403)
                request.state.role = who.role if who else None
                started = time.perf_counter()
                try:
                    response = await handler(request, coder)
                except QdaError as exc:
                    response = error_response(exc)
                # the time spent in the app, for bench/serve.py and the browser's network panel
                response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
                return response
            return endpoint
        return wrap

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise InvalidCodingError("the request body is not JSON") from None
        except RecursionError:  # [[[[... thousands deep
            raise InvalidCodingError("the request body is nested too deeply") from None
        if not isinstance(data, dict):
            raise InvalidCodingError("the request body must be a JSON object")
        return data

    def blind(project: Project) -> bool:
        """Blind mode: the project's setting (qda blind on|off, on by default), unless --unblind;
        never inferred from who has coded."""
        return not settings.unblind and project.blind_mode().blind

    # ------------------------------------------------------------------ pages
    async def index(request: Request) -> Response:
        who = await caller(request)
        if settings.accounts and who is None:
            return RedirectResponse("/login", 303)
        return page("workspace.html", csrf=csrf(request), coder=who.name if who else "",
                    fixed=bool(settings.coder or settings.accounts), accounts=settings.accounts,
                    role=who.role if who else "")

    def same_token(given: object, request: Request) -> bool:
        """The form's CSRF token matches the session's; an empty one never does."""
        expected = request.session.get("csrf")
        return (isinstance(given, str) and isinstance(expected, str) and bool(given) and bool(expected)
                and secrets.compare_digest(given, expected))

    # scrypt at N = 2^17 takes 128 MiB for ~0.4 s: two logins at a time bound the memory
    logins = threading.BoundedSemaphore(2)

    def checked(name: str, password: str) -> Callable[[Project], Any]:
        def check(p: Project) -> Any:
            with logins:
                return p.check_user(name, password)
        return check

    async def login_page(request: Request) -> Response:
        if request.method == "GET":
            return page("login.html", csrf=csrf(request), message="")
        form = await request.form()
        if not same_token(form.get("csrf"), request):
            return page("login.html", 403, csrf=csrf(request), message="The form expired: try again.")
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        address = request.client.host if request.client else ""
        wait = settings.throttle.wait(address)
        if wait:
            return page("login.html", 429, csrf=csrf(request),
                        message=f"Too many failed logins from this address: try again in {wait / 60:.0f} minutes.")
        try:
            account = await in_project(checked(name, password))
        except ThrottledError as exc:
            return page("login.html", 429, csrf=csrf(request), message=exc.message)
        except AuthError:
            settings.throttle.failed(address)
            return page("login.html", 401, csrf=csrf(request), message="Unknown user or wrong password.")
        token = await in_project(lambda p: p.start_session(account.name))
        request.session.clear()
        request.session["sid"] = token
        csrf(request)
        return RedirectResponse("/", 303)

    async def logout(request: Request) -> Response:
        form = await request.form()
        if same_token(form.get("csrf"), request):
            token = request.session.get("sid")
            if isinstance(token, str) and token:
                await in_project(lambda p: p.end_session(token))
            request.session.clear()
        return RedirectResponse("/login" if settings.accounts else "/", 303)

    # ------------------------------------------------------------------ API
    @api(read=ANYONE, write=ANYONE)
    async def session(request: Request, coder: str | None) -> Response:
        if request.method == "POST":
            if settings.accounts or settings.coder:
                raise AccessError("the coder is fixed for this server")
            from qda.coding.workspace import check_user_name
            request.session["coder"] = check_user_name(str((await body(request)).get("coder", "")))
            coder = request.session["coder"]
        role = (Role.LEAD.value if coder else None) if not settings.accounts else request.state.role

        def read(p: Project) -> dict[str, Any]:
            hidden = blind(p)
            # on a network in blind mode, not even the other coders' names (localhost lists them to pick one)
            coders = [coder] if settings.accounts and hidden and coder else p.coders()
            return {"coder": coder, "role": role, "coders": coders, "blind": hidden,
                    "fixed": bool(settings.coder), "accounts": settings.accounts, "csrf": csrf(request)}
        return JSONResponse(await in_project(read))

    @api()
    async def documents(request: Request, coder: str) -> Response:
        def read(p: Project) -> list[dict[str, Any]]:
            hide = blind(p)
            attrs = {c.name: c.attributes for c in p.cases()}
            segs: dict[str, list[tuple[int, int]]] = {}
            for seg in p.store.segment_spans():
                segs.setdefault(seg.document, []).append((seg.start, seg.end))
            per: dict[str, dict[str, int]] = {}
            mine: dict[str, list[tuple[int, int]]] = {}
            for c in filter(shown, p.store.codings(coder=coder if hide else None)):
                per.setdefault(c.document, {}).setdefault(c.coder, 0)
                per[c.document][c.coder] += 1
                if c.coder == coder:
                    mine.setdefault(c.document, []).append((c.start, c.end))
            rows = []
            for d in p.store.documents():
                spans = segs.get(d.name, [])
                done = coded_segment_count(spans, mine.get(d.name, []))
                rows.append({"name": d.name, "case": d.case, "attributes": attrs.get(d.case, {}),
                             "words": len(d.text.split()), "segments": len(spans), "coded_segments": done,
                             "codings": per.get(d.name, {})})
            return rows
        return JSONResponse(await in_project(read))

    @api()
    async def document(request: Request, coder: str) -> Response:
        name = request.path_params["name"]

        def read(p: Project) -> dict[str, Any]:
            doc, segments = p.workspace_document(name)
            whose = visible_coders(blind(p), coder, request.query_params)  # ?coders=a,b overlays (qda/web/lead.py)
            turns: list[dict[str, Any]] = []
            for s in segments:
                if not turns or turns[-1]["turn"] != s.turn:
                    turns.append({"turn": s.turn, "speaker": s.speaker, "role": s.role, "start": s.start,
                                  "end": s.end, "segments": []})
                turns[-1]["end"] = s.end
                turns[-1]["segments"].append({"ref": s.ref, "start": s.start, "end": s.end})
            memos = [memo_json(m) for m in p.memos_about("document", name, coder if blind(p) else None)]
            return {"name": doc.name, "case": doc.case, "language": doc.language, "text": doc.text,
                    "direction": text_direction(doc.language),  # the transcript's dir: rtl for Arabic, Hebrew…
                    "length": len(doc.text), "attributes": next((c.attributes for c in p.cases()
                                                                 if c.name == doc.case), {}),
                    "turns": turns, "coder": whose[0], "coders": whose, "memos": memos,
                    # each coding's text is a slice of "text", and its case the document's: not sent
                    # again for each of (possibly thousands of) codings
                    "codings": [{k: v for k, v in coding_json(c).items() if k not in ("text", "case", "source")}
                                for who in whose for c in p.store.codings(coder=who, document=name) if shown(c)]}
        return JSONResponse(await in_project(read))

    @api()
    async def codebook(request: Request, coder: str) -> Response:
        def read(p: Project) -> dict[str, Any]:
            book = p.codebook()
            counts: dict[str, int] = {}
            for c in filter(shown, p.store.codings(coder=coder)):
                counts[c.code] = counts.get(c.code, 0) + 1
            return {"name": book.name, "languages": list(book.languages),
                    "categories": [{"id": c.id, "labels": c.labels, "parent": c.parent,
                                    "description": c.description} for c in book.categories],
                    "codes": [{"id": c.id, "labels": c.labels, "category": c.category, "parent": c.parent,
                               "definition": c.definition, "include": c.include, "exclude": c.exclude,
                               # a project loaded before colours were checked may hold CSS in disguise
                               "color": c.color if c.color and color_problem(c.color) is None else None,
                               "codable": c.codable, "count": counts.get(c.id, 0)}
                              for c in book.codes],
                    "rule": "The YAML codebook is the source of truth: add a code with 'New code' in the picker "
                            "(it is written into the file), or edit the file, run 'qda codebook load FILE.yaml' "
                            "and reload this page."}
        return JSONResponse(await in_project(read))

    @api()
    async def create_coding(request: Request, coder: str) -> Response:
        data = await body(request)
        extra = sorted(set(data) - {"document", "start", "end", "code", "memo", "snap", "across_turns"})
        if extra:
            raise InvalidCodingError(f"unknown field(s): {', '.join(extra)} (the coder comes from the session)")
        stored = await in_project(lambda p: p.add_coding(coder, data.get("document"), data.get("code"),
                                                         data.get("start"), data.get("end"), data.get("memo"),
                                                         str(data.get("snap") or "none"),
                                                         data.get("across_turns") is True))
        return JSONResponse(coding_json(stored), 201)

    def coding_id(request: Request) -> int:
        raw = request.path_params["coding_id"]
        if not raw.isascii() or not raw.isdigit() or int(raw) > LARGEST_ID:
            raise NotFoundError(f"unknown coding '{raw[:30]}'")
        return int(raw)

    @api()
    async def one_coding(request: Request, coder: str) -> Response:
        number = coding_id(request)
        if request.method == "GET":
            def read(p: Project) -> dict[str, Any]:
                from qda.coding.workspace import check_owner
                found = p.coding_by_id(number)
                if found is not None and found.coder != coder and not blind(p):
                    return coding_json(found)
                return coding_json(check_owner(found, coder))  # another's in blind mode: 404, as a missing one
            return JSONResponse(await in_project(read))
        if request.method == "DELETE":
            return JSONResponse(coding_json(await in_project(lambda p: p.remove_coding(coder, number))))
        changes = await body(request)
        snap = str(changes.pop("snap", None) or "none")
        across = changes.pop("across_turns", None) is True
        return JSONResponse(coding_json(await in_project(lambda p: p.change_coding(coder, number, changes, snap,
                                                                                   across))))

    def unblinded(p: Project) -> None:
        """Refuse while blind mode is on (the role check is the endpoint's own, see ``api``):
        comparing coders, adjudicating, renaming and merging codes all show other coders' work."""
        if blind(p):
            raise AccessError("this shows other coders' work: it needs blind mode lifted ('qda blind off', "
                              "or qda serve --unblind)")

    @api(read=LEAD, write=LEAD)
    async def compare(request: Request, coder: str) -> Response:
        a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
        document = request.query_params.get("document") or None

        def read(p: Project) -> dict[str, Any]:
            unblinded(p)
            if not a or not b or a == b:
                raise InvalidCodingError("choose two different coders A and B")
            return {**p.compare_view(a, b, document), "coders": p.coders()}
        return JSONResponse(await in_project(read))

    @api(write=LEAD)
    async def adjudicate(request: Request, coder: str) -> Response:
        from qda.coding import Decision

        data = await body(request)
        rows = data.get("decisions")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidCodingError("'decisions' must be a list of {region, decision, other?, span?}")
        if not isinstance(data.get("replace", False), bool):
            raise InvalidCodingError("'replace' must be true or false")
        decisions = [Decision(f"decision {i + 1} ({r.get('region') or r.get('segment', '')})",
                              str(r.get("segment", "") or ""), str(r.get("decision", "")),
                              str(r.get("other", "") or ""), str(r.get("region", "") or ""),
                              str(r.get("span", "") or "")) for i, r in enumerate(rows)]

        def write(p: Project) -> dict[str, Any]:
            unblinded(p)
            return p.adjudicate_decisions(str(data.get("a", "")), str(data.get("b", "")), decisions,
                                          str(data.get("as") or "consensus"),
                                          replace=bool(data.get("replace", False))).to_dict()
        return JSONResponse(await in_project(write))

    def split(value: str | None) -> list[str]:
        return [v.strip() for v in (value or "").replace(";", ",").split(",") if v.strip()]

    def retrieval(p: Project, me: str, params: Any) -> list[dict[str, Any]]:
        asked = params.get("coder") or me
        coders = p.coders() if asked == "*" else [asked]
        if asked != me and blind(p):
            raise NotFoundError("blind mode: you can retrieve only your own codings until the lead lifts it")
        where = {}
        for item in params.getlist("where"):
            name, _, value = item.partition("=")
            if name and value:
                where[name] = value
        return p.workspace_retrieve(coders, split(params.get("codes")), params.get("mode", "any"),
                                    split(params.get("not")), where)

    @api()
    async def retrieve(request: Request, coder: str) -> Response:
        params = request.query_params
        rows = await in_project(lambda p: retrieval(p, coder, params))
        fmt = params.get("format", "json")
        if fmt == "json":
            return JSONResponse(rows)
        from qda.web.exports import rows_to_csv, rows_to_xlsx
        columns = ["case", "document", "segment", "coder", "code", "overlapping", "start", "end", "before", "text",
                   "after", "memo"]
        table = [[", ".join(r[c]) if isinstance(r[c], list) else r[c] for c in columns] for r in rows]
        if fmt == "csv":
            return Response(rows_to_csv(columns, table), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="retrieval.csv"'})
        if fmt == "xlsx":
            return Response(rows_to_xlsx(columns, table), headers={
                "Content-Disposition": 'attachment; filename="retrieval.xlsx"',
                "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
        raise InvalidCodingError(f"unknown format '{fmt}' (json, csv or xlsx)")

    @api()
    async def search(request: Request, coder: str) -> Response:
        query = request.query_params.get("q", "")
        regex = request.query_params.get("regex") == "1"
        return JSONResponse(await in_project(lambda p: p.workspace_search(query, regex)))

    def memo_json(m: Any) -> dict[str, Any]:
        return {"id": m.id, "about": m.target_kind, "target": m.target, "text": m.text, "author": m.author,
                "created_at": m.created_at, "modified_by": m.modified_by, "modified_at": m.modified_at}

    @api()
    async def memos(request: Request, coder: str) -> Response:
        if request.method == "GET":
            kind, target = request.query_params.get("about", ""), request.query_params.get("target", "")

            def read(p: Project) -> list[dict[str, Any]]:
                return [memo_json(m) for m in p.memos_about(kind, target, coder if blind(p) else None)]
            return JSONResponse(await in_project(read))
        data = await body(request)
        made = await in_project(lambda p: p.add_memo(coder, data.get("about"), data.get("target"), data.get("text")))
        return JSONResponse(memo_json(made), 201)

    @api()
    async def one_memo(request: Request, coder: str) -> Response:
        raw = request.path_params["memo_id"]
        if not raw.isascii() or not raw.isdigit() or int(raw) > LARGEST_ID:
            raise NotFoundError(f"unknown memo '{raw[:30]}'")
        if request.method == "DELETE":
            return JSONResponse(memo_json(await in_project(lambda p: p.remove_memo(coder, int(raw)))))
        data = await body(request)
        return JSONResponse(memo_json(await in_project(lambda p: p.change_memo(coder, int(raw), data.get("text")))))

    @api(write=LEAD)
    async def blind_setting(request: Request, coder: str) -> Response:
        if request.method == "GET":
            return JSONResponse(await in_project(lambda p: {**p.blind_mode().to_dict(), "blind": blind(p),
                                                            "unblind_server": settings.unblind}))
        wanted = (await body(request)).get("blind")
        if not isinstance(wanted, bool):
            raise InvalidCodingError("'blind' must be true or false")
        return JSONResponse(await in_project(lambda p: {**p.set_blind(wanted).to_dict(), "blind": not settings.unblind
                                                        and wanted, "unblind_server": settings.unblind}))

    async def not_found(request: Request) -> Response:
        return JSONResponse({"error": "no such API endpoint"}, 404)

    routes = [
        Route("/", index),
        Route("/login", login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/api/session", session, methods=["GET", "POST"]),
        Route("/api/documents", documents),
        Route("/api/documents/{name:str}", document),
        Route("/api/codebook", codebook),
        Route("/api/codings", create_coding, methods=["POST"]),
        Route("/api/codings/{coding_id:str}", one_coding, methods=["GET", "PATCH", "DELETE"]),
        Route("/api/memos", memos, methods=["GET", "POST"]),
        Route("/api/memos/{memo_id:str}", one_memo, methods=["PATCH", "DELETE"]),
        Route("/api/compare", compare),
        Route("/api/retrieve", retrieve),
        Route("/api/search", search),
        Route("/api/adjudicate", adjudicate, methods=["POST"]),
        Route("/api/blind", blind_setting, methods=["GET", "POST"]),
        *lead_routes(api, in_project, blind),
        *code_routes(api, in_project, body, unblinded),  # codes born while coding (qda/web/codes.py)
        *set_routes(api, in_project),  # document sets as a filter of the document list (qda/web/sets.py)
        *review_routes(api, in_project, body, blind, page, csrf, current_coder),  # suggestions (qda/web/review.py)
        Route("/api/{rest:path}", not_found, methods=["GET", "POST", "PATCH", "DELETE"]),
        # StaticFiles serves only files inside this package folder (it refuses ../ and symlinks out)
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    if settings.accounts:
        hosts = list(allowed_hosts or ["*"])
    else:  # names added on localhost never replace the loopback ones
        hosts = list(LOCAL_HOSTS) + ["[::1]"] + list(allowed_hosts or [])
    middleware = [
        Middleware(BodyLimit),
        Middleware(TrustedHostMiddleware, allowed_hosts=hosts),
        Middleware(ApiHeaders),
        Middleware(SessionMiddleware, secret_key=settings.secret, session_cookie="qda_session",
                   same_site="strict", max_age=12 * 3600, https_only=settings.secure_cookies),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.settings = settings
    return app


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, or a ServeError saying in one line what to do instead.

    Binding here, before uvicorn starts, turns a busy port or a foreign address into a
    message with a hint rather than uvicorn's log lines or a traceback.
    """
    if not 0 < port < 65536:
        raise ServeError(f"port {port} is not a TCP port (use 1-65535, e.g. --port 8765)")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ServeError(f"cannot listen on '{host}': not an address of this machine ({exc}); "
                         "use --host 127.0.0.1, or an address 'ip addr' lists") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} is already in use (another qda serve?): "
                             f"stop it, or pick another port with --port {port + 1}") from None
        if exc.errno == errno.EACCES:
            raise ServeError(f"port {port} needs administrator rights: use a port above 1023, "
                             "e.g. --port 8765") from None
        raise ServeError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                         "use --host 127.0.0.1, or an address 'ip addr' lists") from None
    return sock


def run(app: Starlette, sock: socket.socket, proxy: bool = False) -> None:
    """Serve ``app`` with uvicorn on the bound ``sock`` (see :func:`listen`) until Ctrl+C.

    ``proxy``: behind a reverse proxy on this machine, whose X-Forwarded-For and
    X-Forwarded-Proto give the client's address (for the login throttle) and scheme;
    otherwise those headers are ignored, so no client can pretend to be another address.
    """
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=proxy,
                                           forwarded_allow_ips="127.0.0.1,::1" if proxy else None))
    server.run(sockets=[sock])
