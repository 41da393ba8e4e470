"""The lead's view of the workspace: several coders overlaid on a document, the memo
overview, the coded-document download (HTML or DOCX), comparing two coders and recording
adjudication decisions.

Blind mode is respected everywhere (the rules are :mod:`qda.coding.workspace`'s): while it
is on, a coder sees and exports only their own codings and memos (other coders: 404, as for
``?coder=``: what may not be seen is answered as if it were not there), and comparing or
adjudicating is refused.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qda.coding.workspace import MemoOverview, memo_author_filter, visible_coders
from qda.errors import BadRequestError
from qda.models import DocumentFormat
from qda.project import Project
from qda.results import Result
from qda.web.access import LEAD
from qda.web.context import answer, api, blind, body, in_project, unblinded, word

EXPORT_TYPES = {DocumentFormat.HTML: "text/html; charset=utf-8",
                DocumentFormat.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@api()
async def memo_overview(request: Request, coder: str) -> Response:
    """Every memo and coding memo the caller may see, newest first (``?author=&kind=&document=``)."""
    params = request.query_params

    def read(p: Project) -> MemoOverview:
        hidden = blind(request, p)
        rows = p.memo_overview(memo_author_filter(hidden, coder, params.get("author") or None),
                               params.get("kind") or None, params.get("document") or None)
        return MemoOverview(hidden, tuple(rows))
    return answer(await in_project(request, read))


@api()
async def export_document(request: Request, coder: str) -> Response:
    """The coded document as an HTML or DOCX download (``?format=html|docx&coders=a,b``)."""
    name = request.path_params["name"]
    fmt = word(DocumentFormat, request.query_params.get("format", "html"), "format")

    def read(p: Project) -> bytes:
        whose = visible_coders(blind(request, p), coder, request.query_params)
        return p.coded_document_bytes(name, whose, fmt)
    content = await in_project(request, read)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "document"
    return Response(content, headers={"Content-Type": EXPORT_TYPES[fmt],
                                      "Content-Disposition": f'attachment; filename="{safe}-coded.{fmt}"'})


@api(read=LEAD, write=LEAD)
async def compare(request: Request, coder: str) -> Response:
    """Where coders A and B differ, region by region, with the text around (``?a=&b=&document=``)."""
    a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
    document = request.query_params.get("document") or None

    def read(p: Project) -> Result:
        unblinded(request, p)
        if not a or not b or a == b:
            raise BadRequestError("choose two different coders A and B")
        return p.compare_view(a, b, document)
    return answer(await in_project(request, read))


@api(write=LEAD)
async def adjudicate(request: Request, coder: str) -> Response:
    """Record decisions on the regions of two coders as a consensus coder (one plan, recorded)."""
    from qda.coding import Decision

    data = await body(request)
    rows = data.get("decisions")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BadRequestError("'decisions' must be a list of {region, decision, other?, span?}")
    if not isinstance(data.get("replace", False), bool):
        raise BadRequestError("'replace' must be true or false")
    decisions = [Decision(f"decision {i + 1} ({r.get('region') or r.get('segment', '')})",
                          str(r.get("segment", "") or ""), str(r.get("decision", "")),
                          str(r.get("other", "") or ""), str(r.get("region", "") or ""),
                          str(r.get("span", "") or "")) for i, r in enumerate(rows)]

    def write(p: Project) -> Result:
        unblinded(request, p)
        return p.adjudicate_decisions(str(data.get("a", "")), str(data.get("b", "")), decisions,
                                      as_coder=str(data.get("as") or "consensus"),
                                      replace=bool(data.get("replace", False)))
    return answer(await in_project(request, write))


ROUTES = [
    Route("/api/memo-overview", memo_overview),
    Route("/api/documents/{name:str}/export", export_document),
    Route("/api/compare", compare),
    Route("/api/adjudicate", adjudicate, methods=["POST"]),
]
