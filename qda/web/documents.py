"""Reading the project in the workspace: the document list and one document, the codebook,
memos, retrieval and search, and the blind-mode setting. Every decision (coverage, turns,
who may see whom) is the core's (:mod:`qda.coding.workspace`); these handlers render it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qda.coding.accounts import BlindView
from qda.coding.workspace import (
    RETRIEVAL_COLUMNS,
    MemoList,
    WorkspaceDocument,
    WorkspaceMemo,
    WorkspaceRetrieval,
    memo_author_filter,
    names,
    retrieval_coders,
    visible_coders,
)
from qda.errors import BadRequestError, NotFoundError
from qda.models import CodeMatch
from qda.project import Project
from qda.web.access import LARGEST_ID, LEAD
from qda.web.context import answer, api, blind, body, in_project, settings_of, word


@api()
async def documents(request: Request, coder: str) -> Response:
    """The document list with the session coder's coverage (and the others' counts, blind mode
    off): ``DocumentList.to_dict()``."""
    return answer(await in_project(request, lambda p: p.workspace_documents(coder, every_coder=not blind(request, p))))


@api()
async def document(request: Request, coder: str) -> Response:
    """One document: its text, turns, memos and the codings of the coders asked for
    (``?coders=a,b``): ``WorkspaceDocument.to_dict()``."""
    name = request.path_params["name"]

    def read(p: Project) -> WorkspaceDocument:
        hidden = blind(request, p)
        whose = visible_coders(hidden, coder, request.query_params)  # ?coders=a,b overlays (qda/web/lead.py)
        return p.workspace_view(name, whose, memo_author=memo_author_filter(hidden, coder))
    return answer(await in_project(request, read))


@api()
async def codebook(request: Request, coder: str) -> Response:
    """The codebook with the session coder's count of codings per code: ``WorkspaceCodebook.to_dict()``."""
    return answer(await in_project(request, lambda p: p.workspace_codebook(coder)))


def retrieval(request: Request, p: Project, me: str) -> WorkspaceRetrieval:
    params = request.query_params
    coders = retrieval_coders(blind(request, p), me, params.get("coder"), every=p.coders())
    where = {}
    for item in params.getlist("where"):
        name, _, value = item.partition("=")
        if name and value:
            where[name] = value
    return p.workspace_retrieve(coders, names(params.get("codes")),
                                mode=word(CodeMatch, params.get("mode", "any"), "mode"),
                                exclude=names(params.get("not")), where=where)


@api()
async def retrieve(request: Request, coder: str) -> Response:
    """Coded passages by code(s), coder and attribute: the result's ``to_dict()`` (``qda retrieve
    --format json`` of the same query, plus the page's ``rows``), or a CSV or XLSX download."""
    found: WorkspaceRetrieval = await in_project(request, lambda p: retrieval(request, p, coder))
    fmt = request.query_params.get("format", "json")
    if fmt == "json":
        return answer(found)
    from qda.web.exports import rows_to_csv, rows_to_xlsx
    columns = list(RETRIEVAL_COLUMNS)
    table = [[", ".join(r[c]) if isinstance(r[c], list) else r[c] for c in columns] for r in found.rows]
    if fmt == "csv":
        return Response(rows_to_csv(columns, table), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="retrieval.csv"'})
    if fmt == "xlsx":
        return Response(rows_to_xlsx(columns, table), headers={
            "Content-Disposition": 'attachment; filename="retrieval.xlsx"',
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    raise BadRequestError(f"unknown format '{fmt}' (json, csv or xlsx)")


@api()
async def search(request: Request, coder: str) -> Response:
    """Keyword in context across every document (``?q=...&regex=1``): ``SearchHits.to_dict()``."""
    query = request.query_params.get("q", "")
    regex = request.query_params.get("regex") == "1"
    return answer(await in_project(request, lambda p: p.workspace_search(query, regex)))


@api()
async def memos(request: Request, coder: str) -> Response:
    """GET the memos about a document, code or case (``?about=&target=``); POST a new one."""
    if request.method == "GET":
        kind, target = request.query_params.get("about", ""), request.query_params.get("target", "")

        def read(p: Project) -> MemoList:
            return MemoList(tuple(p.memos_about(kind, target, memo_author_filter(blind(request, p), coder))))
        return answer(await in_project(request, read))
    data = await body(request)
    made = await in_project(request, lambda p: p.add_memo(coder, data.get("about"), data.get("target"),
                                                          text=data.get("text")))
    return answer(WorkspaceMemo(made), 201)


@api()
async def one_memo(request: Request, coder: str) -> Response:
    """PATCH the text of one of the session coder's memos, or DELETE it."""
    raw = request.path_params["memo_id"]
    if not raw.isascii() or not raw.isdigit() or int(raw) > LARGEST_ID:
        raise NotFoundError(f"unknown memo '{raw[:30]}'")
    if request.method == "DELETE":
        return answer(WorkspaceMemo(await in_project(request, lambda p: p.remove_memo(coder, int(raw)))))
    data = await body(request)
    return answer(WorkspaceMemo(await in_project(request, lambda p: p.change_memo(coder, int(raw), data.get("text")))))


@api(write=LEAD)
async def blind_setting(request: Request, coder: str) -> Response:
    """Blind mode: GET it (everyone), POST ``{"blind": bool}`` (the lead)."""
    unblind = settings_of(request).unblind
    if request.method == "GET":
        return answer(BlindView(await in_project(request, lambda p: p.blind_mode()), unblind))
    wanted = (await body(request)).get("blind")
    if not isinstance(wanted, bool):
        raise BadRequestError("'blind' must be true or false")
    return answer(BlindView(await in_project(request, lambda p: p.set_blind(wanted)), unblind))


ROUTES = [
    Route("/api/documents", documents),
    Route("/api/documents/{name:str}", document),
    Route("/api/codebook", codebook),
    Route("/api/memos", memos, methods=["GET", "POST"]),
    Route("/api/memos/{memo_id:str}", one_memo, methods=["PATCH", "DELETE"]),
    Route("/api/retrieve", retrieve),
    Route("/api/search", search),
    Route("/api/blind", blind_setting, methods=["GET", "POST"]),
]
