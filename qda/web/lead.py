"""The lead's view of the workspace: several coders overlaid on a document, the memo
overview, and the coded-document download (HTML or DOCX).

Routes are module-level handlers built by :func:`routes` from the app's own helpers
(``api`` for the checks every endpoint shares, ``in_project`` for the worker-thread
project, ``blind`` for the blind-mode rule), so the rules are the app's, not a copy.
Blind mode is respected everywhere: while it is on, a coder sees and exports only their
own codings and memos (other coders: 404, as for ``?coder=``: what may not be seen is
answered as if it were not there).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qda.coding.workspace import memo_author_filter, visible_coders
from qda.errors import InvalidCodingError
from qda.project import Project

Handler = Callable[..., Awaitable[Response]]
EXPORT_TYPES = {"html": "text/html; charset=utf-8",
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def routes(api: Callable[..., Callable[[Handler], Handler]], in_project: Callable[..., Awaitable[Any]],
           blind: Callable[[Project], bool]) -> list[Route]:
    """The lead's-view endpoints, to be placed before the app's catch-all ``/api/...`` route."""

    @api()
    async def memo_overview(request: Request, coder: str) -> Response:
        params = request.query_params

        def read(p: Project) -> dict[str, Any]:
            hidden = blind(p)
            rows = p.memo_overview(memo_author_filter(hidden, coder, params.get("author") or None),
                                   params.get("kind") or None,
                                   params.get("document") or None)
            return {"blind": hidden, "memos": rows}
        return JSONResponse(await in_project(read))

    @api()
    async def export_document(request: Request, coder: str) -> Response:
        name, fmt = request.path_params["name"], request.query_params.get("format", "html")
        if fmt not in EXPORT_TYPES:
            raise InvalidCodingError(f"unknown format '{fmt}': html or docx")

        def read(p: Project) -> bytes:
            whose = visible_coders(blind(p), coder, request.query_params)
            return p.coded_document_bytes(name, whose, fmt)
        content = await in_project(read)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "document"
        return Response(content, headers={"Content-Type": EXPORT_TYPES[fmt],
                                          "Content-Disposition": f'attachment; filename="{safe}-coded.{fmt}"'})

    return [Route("/api/memo-overview", memo_overview),
            Route("/api/documents/{name:str}/export", export_document)]
