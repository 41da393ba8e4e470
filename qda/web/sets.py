"""Document sets in the workspace: ``GET /api/sets`` lists the project's sets (``qda set
list``), which the document list offers as a filter (static/sets.js)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qda.project import Project

Handler = Callable[..., Awaitable[Response]]


def set_routes(api: Callable[[], Callable[[Handler], Handler]],
               in_project: Callable[[Callable[[Project], Any]], Awaitable[Any]]) -> list[Route]:
    """The routes of this module, given the app's request helpers (see ``create_app``).

    Which documents a set holds tells nothing about anyone's codings: every coder may
    read it, blind or not.
    """

    @api()
    async def sets(request: Request, coder: str) -> Response:
        return JSONResponse(await in_project(lambda p: p.document_sets().to_dict()))

    return [Route("/api/sets", sets)]
