"""The review queue of code suggestions in the workspace: ``/review`` and ``/api/review/...``.

A reviewer goes through a model's suggestions with the keyboard (a accept, r reject, c recode,
s skip, u undo, j/k move). Every write is the logged-in coder's own (the session's coder), through
the Project facade (``review_*`` methods); the access rule lives in :func:`check_review_access`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from qda.errors import AccessError, InvalidCodingError, NotFoundError
from qda.project import Project

Handler = Callable[..., Awaitable[Response]]


def check_review_access(is_blind: bool, me: str, training_coder: str) -> None:
    """Blind mode: a model learnt from another coder's codings shows that coder's judgement (its
    suggestions, and the passages that coder coded), so only the coder it learnt from reviews
    it until the lead lifts blind mode (``qda serve --unblind``). The one place this rule lives."""
    if is_blind and training_coder != me:
        raise AccessError(f"blind mode: this model learnt from {training_coder}'s codings; review it as "
                          f"{training_coder}, or after the lead lifts blind mode (qda serve --unblind)")


def routes(api: Callable[..., Callable[[Handler], Handler]], in_project: Callable[..., Awaitable[Any]],
           body: Callable[[Request], Awaitable[dict[str, Any]]], blind: Callable[[Project], bool],
           page: Callable[..., Response], csrf: Callable[[Request], str],
           current_coder: Callable[[Request], Awaitable[str | None]]) -> list[Route]:
    """The review page and its endpoints, given the app's helpers (see ``create_app``)."""

    def model_of(p: Project, coder: str, model: str | None) -> tuple[str, str]:
        ident, trained_from = p.review_model(model or None)
        check_review_access(blind(p), coder, trained_from)
        return ident, trained_from

    async def review_page(request: Request) -> Response:
        coder = await current_coder(request)
        if not coder:
            return RedirectResponse("/", 303)  # the workspace asks for the coder (or the login)
        return page("review.html", csrf=csrf(request), coder=coder)

    @api()
    async def models(request: Request, coder: str) -> Response:
        def read(p: Project) -> dict[str, Any]:
            rows = p.review_models()
            labels = {c.id: c.label(p.codebook().default_language) for c in p.codebook().codes}
            codable = [{"id": c.id, "label": labels[c.id]} for c in p.codebook().codes if c.codable]
            return {"models": rows, "labels": labels, "codable": codable, "blind": blind(p), "coder": coder}
        return JSONResponse(await in_project(read))

    @api()
    async def queue(request: Request, coder: str) -> Response:
        params = request.query_params

        def read(p: Project) -> dict[str, Any]:
            ident, _ = model_of(p, coder, params.get("model"))
            limit = params.get("limit", "")
            return p.review_queue(coder, code=params.get("code") or None, model=ident,
                                  order=params.get("order") or "uncertainty",
                                  limit=int(limit) if limit.isdigit() else None).to_dict()
        return JSONResponse(await in_project(read))

    @api()
    async def explain(request: Request, coder: str) -> Response:
        raw = request.path_params["coding_id"]
        if not raw.isdigit():
            raise NotFoundError(f"unknown suggestion '{raw}'")

        def read(p: Project) -> dict[str, Any]:
            found = p.coding_by_id(int(raw))
            if found is None or not found.origin:
                raise NotFoundError(f"no suggestion {raw}")
            model_of(p, coder, found.origin)
            return p.suggest_explain(int(raw)).to_dict()
        return JSONResponse(await in_project(read))

    @api()
    async def decide(request: Request, coder: str) -> Response:
        data = await body(request)
        number = data.get("suggestion")
        if type(number) is not int:
            raise InvalidCodingError("'suggestion' must be the suggestion's id")

        def write(p: Project) -> dict[str, Any]:
            found = p.coding_by_id(number)
            if found is not None and found.origin:
                model_of(p, coder, found.origin)
            code = data.get("code")
            return p.review_suggestion(coder, number, str(data.get("action") or ""),
                                       code=code if isinstance(code, str) else None).to_dict()
        return JSONResponse(await in_project(write))

    @api()
    async def undo(request: Request, coder: str) -> Response:
        return JSONResponse((await in_project(lambda p: p.review_undo(coder))).to_dict())

    @api()
    async def bulk(request: Request, coder: str) -> Response:
        data = await body(request)
        above = data.get("above")
        if above is not None and not isinstance(above, (int, float)):
            raise InvalidCodingError("'above' must be a score between 0 and 1")

        def write(p: Project) -> dict[str, Any]:
            ident, _ = model_of(p, coder, data.get("model"))
            return p.review_bulk_accept(coder, str(data.get("code") or ""), above=above, model=ident).to_dict()
        return JSONResponse(await in_project(write))

    @api()
    async def retrain(request: Request, coder: str) -> Response:
        data = await body(request)

        def write(p: Project) -> dict[str, Any]:
            ident, _ = model_of(p, coder, data.get("model"))
            done = p.review_retrain(ident)
            done.pop("train", None)
            return done
        return JSONResponse(await in_project(write))

    @api()
    async def provenance(request: Request, coder: str) -> Response:
        def read(p: Project) -> dict[str, Any]:
            model = request.query_params.get("model") or None
            if model:
                model_of(p, coder, model)
            return p.review_provenance(model).to_dict()
        return JSONResponse(await in_project(read))

    return [Route("/review", review_page),
            Route("/api/review/models", models),
            Route("/api/review/queue", queue),
            Route("/api/review/explain/{coding_id:str}", explain),
            Route("/api/review/decide", decide, methods=["POST"]),
            Route("/api/review/undo", undo, methods=["POST"]),
            Route("/api/review/bulk", bulk, methods=["POST"]),
            Route("/api/review/retrain", retrain, methods=["POST"]),
            Route("/api/review/provenance", provenance)]
