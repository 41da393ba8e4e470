"""What every handler of the workspace shares, read from ``request.app.state``.

Handlers are module-level async functions (in ``session``, ``documents``, ``codings``,
``codes``, ``lead``, ``review``, ``sets``), so each can be mounted and tested alone on a
minimal Starlette app: :func:`prepare` puts the settings, the templates and the per-thread
project connections on the app's state, and the helpers here read them from the request.

Every JSON error answer has one shape, ``{"error": {"code": ..., "message": ...},
"problems": [...]}`` (plus ``replaces`` or ``confirm`` where the page can ask and send the
request again); ``code`` is the ``QdaError`` subclass's, or one of the codes below for what
the app refuses before the core runs. The page decides on the code, never on the words.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from qda.coding.workspace import check_unblinded, effective_blind
from qda.errors import (
    AccessError,
    AuthError,
    BadRequestError,
    BusyError,
    InvalidCodingError,
    NeedsConfirmation,
    NotFoundError,
    QdaError,
    ThrottledError,
    WouldReplaceError,
)
from qda.models import Role, Vocabulary
from qda.project import Project
from qda.results import Result
from qda.web.access import ANYONE, LEVELS, READ, WRITE, AddressThrottle, Caller, refusal

HERE = Path(__file__).resolve().parent
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Codes of the refusals the app makes itself (the core's errors carry their class's code).
CSRF = "csrf"  # a write without the session's token
AUTH_REQUIRED = "auth_required"  # no logged-in user (network) or no coder chosen (localhost)
ROLE_REFUSED = "role_refused"  # the caller's role may not call this endpoint
UNKNOWN_ENDPOINT = "unknown_endpoint"
TOO_LARGE = "too_large"  # a request body over the app's limit

STATUS = ((NotFoundError, 404), (AccessError, 403), (ThrottledError, 429), (AuthError, 401), (InvalidCodingError, 422),
          (BusyError, 503), (WouldReplaceError, 409), (NeedsConfirmation, 409))


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


def prepare(app: Starlette, settings: Settings) -> Starlette:
    """Put what the handlers read on ``app.state``: the settings, the page templates, one
    project connection per worker thread and the bound on concurrent password checks."""
    app.state.settings = settings
    app.state.templates = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True)
    # One connection per worker thread, kept open: sqlite connections cannot cross threads,
    # and closing the last connection of a WAL database checkpoints it (tens of ms a request).
    app.state.projects = threading.local()
    # scrypt at N = 2^17 takes 128 MiB for ~0.4 s: two logins at a time bound the memory
    app.state.logins = threading.BoundedSemaphore(2)
    return app


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def answer(result: Result, status: int = 200) -> JSONResponse:
    """The one shape of a successful answer: a result of the Python API as its ``to_dict()``
    (what ``--format json`` prints where a command shows the same result)."""
    return JSONResponse(result.to_dict(), status_code=status)


def error_answer(code: str, message: str, status: int, **extra: Any) -> JSONResponse:
    """The one shape of an error answer: ``{"error": {"code", "message"}, "problems": [], ...}``."""
    return JSONResponse({"error": {"code": code, "message": message}, "problems": [], **extra}, status_code=status)


def error_response(exc: QdaError) -> JSONResponse:
    """A QdaError as an answer: its class's code, its message, its located problems."""
    status = next((number for kind, number in STATUS if isinstance(exc, kind)), 422)
    extra: dict[str, Any] = {"problems": [str(p) for p in exc.problems]}
    if isinstance(exc, WouldReplaceError):  # the page asks, then sends the same request with replace: true
        extra["replaces"] = {"coder": exc.coder, "codings": exc.codings, "documents": exc.documents}
    if isinstance(exc, NeedsConfirmation):
        extra["confirm"] = exc.flag  # the same request with this field true does it
    return error_answer(exc.code, exc.message, status, **extra)


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of ``templates/`` under the workspace's content security policy."""
    templates: Environment = request.app.state.templates
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status,
                        headers={"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                 "style-src 'self'; script-src 'self'; frame-ancestors 'none'",
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


async def in_project(request: Request, fn: Callable[[Project], Any]) -> Any:
    """Run ``fn`` on this worker thread's open project (opened on first use)."""
    local = request.app.state.projects
    folder = settings_of(request).folder

    def work() -> Any:
        project = getattr(local, "project", None)
        if project is None:
            project = local.project = Project.open(folder)
        return fn(project)
    return await run_in_threadpool(work)


async def caller(request: Request) -> Caller | None:
    """Who is asking: on a network, the account of a live server-side session (read on
    every request, so a logout, a reset, a removal or a role change counts at once);
    on localhost without accounts, the single user, who is the lead."""
    settings = settings_of(request)
    if not settings.accounts:
        name = settings.coder or request.session.get("coder")
        return Caller(name, Role.LEAD.value) if name else None
    token = request.session.get("sid")
    if not isinstance(token, str) or not token:
        return None
    account = await in_project(request, lambda p: p.session_account(token))
    return None if account is None else Caller(account.name, account.role)


async def current_coder(request: Request) -> str | None:
    who = await caller(request)
    return who.name if who else None


def csrf(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def same_token(given: object, request: Request) -> bool:
    """The form's CSRF token matches the session's; an empty one never does."""
    expected = request.session.get("csrf")
    return (isinstance(given, str) and isinstance(expected, str) and bool(given) and bool(expected)
            and secrets.compare_digest(given, expected))


async def body(request: Request) -> dict[str, Any]:
    """The request's JSON object (BadRequestError, a 422, for anything else)."""
    try:
        data = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError("the request body is not JSON") from None
    except RecursionError:  # [[[[... thousands deep
        raise BadRequestError("the request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequestError("the request body must be a JSON object")
    return data


V = TypeVar("V", bound=Vocabulary)


def word(vocabulary: type[V], given: str, name: str) -> V:
    """A query parameter that takes one word of a closed set, as its Enum; an unknown word is
    a ``bad_request`` naming the parameter and the words it takes."""
    try:
        return vocabulary(given)
    except ValueError:
        raise BadRequestError(f"unknown {name} '{given[:40]}' (use one of: {vocabulary.words()})") from None


def blind(request: Request, project: Project) -> bool:
    """Blind mode for this request: the project's setting (qda blind on|off, on by default),
    unless the server runs with --unblind (:func:`qda.coding.workspace.effective_blind`)."""
    return effective_blind(project.blind_mode().blind, settings_of(request).unblind)


def unblinded(request: Request, project: Project) -> None:
    """Refuse while blind mode is on (the role check is the endpoint's own, see :func:`api`)."""
    check_unblinded(blind(request, project))


Handler = Callable[[Request, Any], Awaitable[Response]]


def api(read: str = READ, write: str = WRITE) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Common checks of /api endpoints: CSRF on writes, a coder, the caller's role against
    the access the endpoint needs (``read`` for GET, ``write`` for the other methods, see
    qda/web/access.py), QdaError -> 4xx with its code. The handler gets the request and the
    session's coder."""
    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if request.method not in SAFE_METHODS:
                given = request.headers.get("x-csrf-token", "")
                if not given or not secrets.compare_digest(given, str(request.session.get("csrf", ""))):
                    return error_answer(CSRF, "missing or wrong CSRF token: reload the page", 403)
            who = await caller(request)
            coder = who.name if who else None
            level = read if request.method in SAFE_METHODS else write
            if level != ANYONE and who is None:
                return error_answer(AUTH_REQUIRED, "log in first" if settings_of(request).accounts
                                    else "pick a coder first", 401)
            if who is not None and who.role not in LEVELS[level]:
                return error_answer(ROLE_REFUSED, refusal(who.role, level), 403)
            request.state.role = who.role if who else None
            started = time.perf_counter()
            try:
                response = await handler(request, coder)
            except QdaError as exc:
                response = error_response(exc)
            # the time spent in the app, for bench/serve.py and the browser's network panel
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
            return response
        endpoint.__name__ = getattr(handler, "__name__", "endpoint")
        endpoint.__doc__ = handler.__doc__
        return endpoint
    return wrap


async def not_found(request: Request) -> Response:
    """The catch-all of /api: an unknown endpoint is a 404 in the error shape."""
    return error_answer(UNKNOWN_ENDPOINT, "no such API endpoint", 404)
