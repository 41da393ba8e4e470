"""Who is working: the workspace page, login and logout (network mode) and ``/api/session``
(who the session's coder is, and choosing one on localhost)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from qda.coding.accounts import SessionView
from qda.coding.workspace import check_user_name, listed_coders
from qda.errors import AccessError, AuthError, ThrottledError
from qda.models import Role
from qda.project import Project
from qda.web.access import ANYONE
from qda.web.context import answer, api, blind, body, caller, csrf, in_project, page, same_token, settings_of


async def index(request: Request) -> Response:
    """The workspace page (the login page first on a network)."""
    settings = settings_of(request)
    who = await caller(request)
    if settings.accounts and who is None:
        return RedirectResponse("/login", 303)
    return page(request, "workspace.html", csrf=csrf(request), coder=who.name if who else "",
                fixed=bool(settings.coder or settings.accounts), accounts=settings.accounts,
                role=who.role if who else "")


async def login_page(request: Request) -> Response:
    """The login form (GET) and its check (POST): a server-side session on success."""
    if request.method == "GET":
        return page(request, "login.html", csrf=csrf(request), message="")
    settings = settings_of(request)
    form = await request.form()
    if not same_token(form.get("csrf"), request):
        return page(request, "login.html", 403, csrf=csrf(request), message="The form expired: try again.")
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    address = request.client.host if request.client else ""
    wait = settings.throttle.wait(address)
    if wait:
        return page(request, "login.html", 429, csrf=csrf(request),
                    message=f"Too many failed logins from this address: try again in {wait / 60:.0f} minutes.")
    logins = request.app.state.logins

    def check(p: Project) -> Any:
        with logins:
            return p.check_user(name, password)
    try:
        account = await in_project(request, check)
    except ThrottledError as exc:
        return page(request, "login.html", 429, csrf=csrf(request), message=exc.message)
    except AuthError:
        settings.throttle.failed(address)
        return page(request, "login.html", 401, csrf=csrf(request), message="Unknown user or wrong password.")
    token = await in_project(request, lambda p: p.start_session(account.name))
    request.session.clear()
    request.session["sid"] = token
    csrf(request)
    return RedirectResponse("/", 303)


async def logout(request: Request) -> Response:
    """End the server-side session (the form carries the CSRF token)."""
    form = await request.form()
    if same_token(form.get("csrf"), request):
        token = request.session.get("sid")
        if isinstance(token, str) and token:
            await in_project(request, lambda p: p.end_session(token))
        request.session.clear()
    return RedirectResponse("/login" if settings_of(request).accounts else "/", 303)


@api(read=ANYONE, write=ANYONE)
async def session(request: Request, coder: str | None) -> Response:
    """Who the session's coder is, their role, the coders the page offers and the CSRF token;
    POST ``{"coder": name}`` chooses the coder on localhost."""
    settings = settings_of(request)
    if request.method == "POST":
        if settings.accounts or settings.coder:
            raise AccessError("the coder is fixed for this server")
        request.session["coder"] = check_user_name(str((await body(request)).get("coder", "")))
        coder = request.session["coder"]
    role = (Role.LEAD.value if coder else None) if not settings.accounts else request.state.role

    def read(p: Project) -> SessionView:
        hidden = blind(request, p)
        return SessionView(coder, role, tuple(listed_coders(settings.accounts, hidden, coder, every=p.coders())),
                           hidden, bool(settings.coder), settings.accounts, csrf(request))
    return answer(await in_project(request, read))


ROUTES = [
    Route("/", index),
    Route("/login", login_page, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/api/session", session, methods=["GET", "POST"]),
]
