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
import socket
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# qda.coding.workspace brings numpy and pandas (1.4 s): loaded with the app, not by the first
# coding request (the 1-second worst case of bench/serve.py's coding requests)
from qda.coding.workspace import check_user_name
from qda.errors import AccessError, AuthError, ServeError
from qda.project import Project
from qda.web import codes, codings, documents, lead, review, session, sets
from qda.web.access import ApiHeaders
from qda.web.context import HERE, TOO_LARGE, Settings, error_answer, not_found, prepare

__all__ = ["Settings", "create_app", "listen", "run"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 256 * 1024  # a coding or a memo is small; nothing bigger is accepted


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
            await too_large(self.limit)(scope, receive, send)
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
            await too_large(self.limit)(scope, receive, send)


class _TooLarge(Exception):
    pass


def too_large(limit: int) -> Response:
    return error_answer(TOO_LARGE, f"request too large (at most {limit // 1024} KiB)", 413)


def create_app(folder: str | Path, coder: str | None = None, unblind: bool = False, host: str = "127.0.0.1",
               allowed_hosts: list[str] | None = None, secure_cookies: bool = False) -> Starlette:
    """The workspace app on the project in ``folder``: its state, middleware and route table
    (the handlers are module-level, one module per topic).

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
            settings.coder = check_user_name(coder)

    routes = [
        *session.ROUTES,  # the page, login, logout, who is working
        *documents.ROUTES,  # documents, codebook, memos, retrieval, search, blind mode
        *codings.ROUTES,  # one coding at a time, and the search hits in one plan
        *lead.ROUTES,  # overlays, memo overview, coded-document download, compare, adjudicate
        *codes.ROUTES,  # codes born while coding
        *sets.ROUTES,  # document sets as a filter of the document list
        *review.ROUTES,  # the review queue of suggestions
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
    return prepare(Starlette(routes=routes, middleware=middleware), settings)


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
