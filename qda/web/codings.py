"""One coder's codings in the workspace: ``POST /api/codings`` codes a passage,
``/api/codings/{id}`` reads, changes or deletes one, ``/api/codings/batch`` codes search hits
(and deletes them again) in one write. The coder is always the session's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qda.coding.workspace import RemovedCodings, WorkspaceCoding, check_owner
from qda.errors import BadRequestError, NotFoundError
from qda.project import Project
from qda.web.access import LARGEST_ID
from qda.web.context import answer, api, blind, body, in_project

FIELDS = {"document", "start", "end", "code", "memo", "snap", "across_turns"}
BATCH_FIELDS = {"code", "hits", "snap", "across_turns"}


def coding_id(request: Request) -> int:
    raw = request.path_params["coding_id"]
    if not raw.isascii() or not raw.isdigit() or int(raw) > LARGEST_ID:
        raise NotFoundError(f"unknown coding '{raw[:30]}'")
    return int(raw)


@api()
async def create_coding(request: Request, coder: str) -> Response:
    """Code a passage: ``{document, start, end, code, memo?, snap?, across_turns?}``."""
    data = await body(request)
    extra = sorted(set(data) - FIELDS)
    if extra:
        raise BadRequestError(f"unknown field(s): {', '.join(extra)} (the coder comes from the session)")
    stored = await in_project(request, lambda p: p.add_coding(coder, data.get("document"), data.get("code"),
                                                              start=data.get("start"), end=data.get("end"),
                                                              memo=data.get("memo"),
                                                              snap=str(data.get("snap") or "none"),
                                                              across_turns=data.get("across_turns") is True))
    return answer(WorkspaceCoding(stored), 201)


@api()
async def one_coding(request: Request, coder: str) -> Response:
    """GET one coding (another coder's only with blind mode off), PATCH its code, span or memo,
    DELETE it (the session coder's own only)."""
    number = coding_id(request)
    if request.method == "GET":
        def read(p: Project) -> WorkspaceCoding:
            found = p.coding_by_id(number)
            if found is not None and found.coder != coder and not blind(request, p):
                return WorkspaceCoding(found)
            return WorkspaceCoding(check_owner(found, coder))  # another's in blind mode: 404, as a missing one
        return answer(await in_project(request, read))
    if request.method == "DELETE":
        return answer(WorkspaceCoding(await in_project(request, lambda p: p.remove_coding(coder, number))))
    changes = await body(request)
    snap = str(changes.pop("snap", None) or "none")
    across = changes.pop("across_turns", None) is True
    return answer(WorkspaceCoding(await in_project(request, lambda p: p.change_coding(coder, number, changes,
                                                                                      snap=snap,
                                                                                      across_turns=across))))


@api()
async def batch(request: Request, coder: str) -> Response:
    """Search hits in one write, all or nothing. POST ``{code, hits: [{document, start, end}],
    snap?, across_turns?}`` codes them (201, ``CodedHits.to_dict()``; hits already coded with
    that code are listed in ``already``, not coded twice); DELETE ``{ids: [...]}`` deletes
    those codings of the session coder (the page's undo of a batch)."""
    data = await body(request)
    if request.method == "DELETE":
        ids = data.get("ids")
        if (not isinstance(ids, list) or not ids
                or not all(type(i) is int and 0 < i <= LARGEST_ID for i in ids)):
            raise BadRequestError("'ids' must be a non-empty list of coding ids")
        gone = await in_project(request, lambda p: p.remove_codings(coder, ids))
        return answer(RemovedCodings(tuple(gone)))
    extra = sorted(set(data) - BATCH_FIELDS)
    if extra:
        raise BadRequestError(f"unknown field(s): {', '.join(extra)} (the coder comes from the session)")
    made = await in_project(request, lambda p: p.code_hits(coder, data.get("code"), data.get("hits"),
                                                           snap=str(data.get("snap") or "none"),
                                                           across_turns=data.get("across_turns") is True))
    return answer(made, 201)


ROUTES = [
    Route("/api/codings/batch", batch, methods=["POST", "DELETE"]),  # before {coding_id}, which would take it
    Route("/api/codings", create_coding, methods=["POST"]),
    Route("/api/codings/{coding_id:str}", one_coding, methods=["GET", "PATCH", "DELETE"]),
]
