"""The review queue of code suggestions in the workspace: ``/review`` and ``/api/review/...``.

A reviewer goes through a model's suggestions with the keyboard (a accept, r reject, c recode,
s skip, u undo, j/k move). Every write is the logged-in coder's own (the session's coder), through
the Project facade (``review_*`` methods); the access rule
lives in :func:`qda.coding.workspace.check_review_access`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from qda.coding.workspace import check_review_access
from qda.errors import BadRequestError, NotFoundError
from qda.models import ReviewAction, ReviewOrder
from qda.project import Project
from qda.results import Result
from qda.suggest.review import ReviewModels
from qda.web.context import answer, api, blind, body, csrf, current_coder, in_project, page, word


def model_of(request: Request, p: Project, coder: str, model: str | None) -> tuple[str, str]:
    ident, trained_from = p.review_model(model or None)
    check_review_access(blind(request, p), coder, trained_from)
    return ident, trained_from


async def review_page(request: Request) -> Response:
    coder = await current_coder(request)
    if not coder:
        return RedirectResponse("/", 303)  # the workspace asks for the coder (or the login)
    return page(request, "review.html", csrf=csrf(request), coder=coder)


@api()
async def models(request: Request, coder: str) -> Response:
    def read(p: Project) -> Result:
        return ReviewModels.of(p.review_models(), p.codebook(), blind=blind(request, p), coder=coder)
    return answer(await in_project(request, read))


@api()
async def queue(request: Request, coder: str) -> Response:
    params = request.query_params

    def read(p: Project) -> Result:
        ident, _ = model_of(request, p, coder, params.get("model"))
        limit = params.get("limit", "")
        return p.review_queue(coder, code=params.get("code") or None, model=ident,
                              order=word(ReviewOrder, params.get("order") or "uncertainty", "order"),
                              limit=int(limit) if limit.isdigit() else None)
    return answer(await in_project(request, read))


@api()
async def explain(request: Request, coder: str) -> Response:
    raw = request.path_params["coding_id"]
    if not raw.isdigit():
        raise NotFoundError(f"unknown suggestion '{raw}'")

    def read(p: Project) -> Result:
        found = p.coding_by_id(int(raw))
        if found is None or not found.origin:
            raise NotFoundError(f"no suggestion {raw}")
        model_of(request, p, coder, found.origin)
        return p.suggest_explain(int(raw))
    return answer(await in_project(request, read))


@api()
async def decide(request: Request, coder: str) -> Response:
    data = await body(request)
    number = data.get("suggestion")
    if type(number) is not int:
        raise BadRequestError("'suggestion' must be the suggestion's id")

    def write(p: Project) -> Result:
        found = p.coding_by_id(number)
        if found is not None and found.origin:
            model_of(request, p, coder, found.origin)
        code = data.get("code")
        return p.review_suggestion(coder, number, word(ReviewAction, str(data.get("action") or ""), "action"),
                                   code=code if isinstance(code, str) else None)
    return answer(await in_project(request, write))


@api()
async def undo(request: Request, coder: str) -> Response:
    return answer(await in_project(request, lambda p: p.review_undo(coder)))


@api()
async def bulk(request: Request, coder: str) -> Response:
    data = await body(request)
    above = data.get("above")
    if above is not None and not isinstance(above, (int, float)):
        raise BadRequestError("'above' must be a score between 0 and 1")

    def write(p: Project) -> Result:
        ident, _ = model_of(request, p, coder, data.get("model"))
        return p.review_bulk_accept(coder, str(data.get("code") or ""), above=above, model=ident)
    return answer(await in_project(request, write))


@api()
async def retrain(request: Request, coder: str) -> Response:
    data = await body(request)

    def write(p: Project) -> Result:
        ident, _ = model_of(request, p, coder, data.get("model"))
        return p.review_retrain(ident)
    return answer(await in_project(request, write))


@api()
async def provenance(request: Request, coder: str) -> Response:
    def read(p: Project) -> Result:
        model = request.query_params.get("model") or None
        if model:
            model_of(request, p, coder, model)
        return p.review_provenance(model)
    return answer(await in_project(request, read))


ROUTES = [Route("/review", review_page),
          Route("/api/review/models", models),
          Route("/api/review/queue", queue),
          Route("/api/review/explain/{coding_id:str}", explain),
          Route("/api/review/decide", decide, methods=["POST"]),
          Route("/api/review/undo", undo, methods=["POST"]),
          Route("/api/review/bulk", bulk, methods=["POST"]),
          Route("/api/review/retrain", retrain, methods=["POST"]),
          Route("/api/review/provenance", provenance)]
