"""Document sets in the workspace: ``GET /api/sets`` lists the project's sets (``qda set
list``), which the document list offers as a filter (static/sets.js)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qda.web.context import answer, api, in_project


@api()
async def sets(request: Request, coder: str) -> Response:
    """The project's document sets (``DocumentSets.to_dict()``, as ``qda set list --format json``).

    Which documents a set holds tells nothing about anyone's codings: every coder may read
    it, blind or not."""
    return answer(await in_project(request, lambda p: p.document_sets()))


ROUTES = [Route("/api/sets", sets)]
