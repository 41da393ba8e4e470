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

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qda.errors import InvalidCodingError, NotFoundError
from qda.project import Project

Handler = Callable[..., Awaitable[Response]]
EXPORT_TYPES = {"html": "text/html; charset=utf-8",
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def names(value: str | None) -> list[str]:
    """``"a, b;c"`` -> ``["a", "b", "c"]`` (each name once, in order)."""
    return list(dict.fromkeys(v.strip() for v in (value or "").replace(";", ",").split(",") if v.strip()))


def visible_coders(is_blind: bool, me: str, params: Mapping[str, str]) -> list[str]:
    """The coders whose codings a request asks for (``?coders=a,b`` or ``?coder=a``; default:
    the session's coder). In blind mode asking for anyone else is refused (NotFoundError: 404)."""
    asked = names(params.get("coders")) or names(params.get("coder")) or [me]
    others = [name for name in asked if name != me]
    if others and is_blind:
        raise NotFoundError(f"blind mode: the codings of {', '.join(repr(o) for o in others)} are hidden until the "
                            "lead lifts it (qda blind off)")
    return asked


def routes(api: Callable[..., Callable[[Handler], Handler]], in_project: Callable[..., Awaitable[Any]],
           blind: Callable[[Project], bool]) -> list[Route]:
    """The lead's-view endpoints, to be placed before the app's catch-all ``/api/...`` route."""

    @api()
    async def memo_overview(request: Request, coder: str) -> Response:
        params = request.query_params

        def read(p: Project) -> dict[str, Any]:
            hidden = blind(p)
            author = params.get("author") or None
            if hidden and author not in (None, coder):
                raise NotFoundError("blind mode: you see only your own memos until the lead lifts it")
            rows = p.memo_overview(coder if hidden else author, params.get("kind") or None,
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
