"""Codes born while coding, in the browser: ``POST /api/codes`` adds a code to the codebook
(the project and its YAML file, through :meth:`qda.project.Project.add_code`);
``POST /api/codes/rename`` and ``/api/codes/merge`` are the lead's (blind mode off).

Any coder may add a code (see docs/serve.md, "New codes while coding"): the code is written
at once into the YAML file, with the coder's name in a comment above it, and the lead
renames or merges codes afterwards with ``qda codebook rename`` / ``qda codebook merge``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qda.coding.workspace import NewCode
from qda.errors import BadRequestError
from qda.project import Project
from qda.results import Result
from qda.web.access import LEAD
from qda.web.context import answer, api, body, in_project, unblinded

FIELDS = {"id", "label", "labels", "parent", "definition"}


@api()
async def create_code(request: Request, coder: str) -> Response:
    """Add a code to the codebook and its YAML file (any coder; the lead renames or merges later)."""
    data = await body(request)
    extra = sorted(set(data) - FIELDS)
    if extra:
        raise BadRequestError(f"unknown field(s): {', '.join(extra)} (allowed: {', '.join(sorted(FIELDS))})")
    labels = data.get("labels")
    if labels is None:
        labels = {"": data.get("label")}
    if not isinstance(labels, dict) or not all(isinstance(v, str) or v is None for v in labels.values()):
        raise BadRequestError("'labels' must be an object {language: label}")
    texts = {"id": data.get("id"), "parent": data.get("parent"), "definition": data.get("definition")}
    wrong = [name for name, value in texts.items() if value is not None and not isinstance(value, str)]
    if wrong:
        raise BadRequestError(f"{', '.join(wrong)}: must be text")

    def write(p: Project) -> NewCode:
        given = {str(k): v or "" for k, v in labels.items()}
        if "" in given:  # a bare label is in the codebook's first language
            given[p.codebook().default_language or ""] = given.pop("")
        edit = p.add_code(str(texts["id"] or "").strip(), given, parent=str(texts["parent"] or "").strip() or None,
                          definition=str(texts["definition"] or ""), author=coder)
        return NewCode(p.codebook().code(edit.codes[0]), edit.message())
    return answer(await in_project(request, write), 201)


# Renaming and merging change every coder's codings: the lead's only, and like comparing
# coders they need blind mode lifted (``qda blind off``).
@api(write=LEAD)
async def rename_code(request: Request, coder: str) -> Response:
    """Rename a code's id or label in the codebook, its file and every coding."""
    data = await body(request)

    def write(p: Project) -> Result:
        unblinded(request, p)
        return p.rename_code(str(data.get("code") or ""), new_id=text_or_none(data.get("new")),
                             label=text_or_none(data.get("label")), lang=text_or_none(data.get("lang")))
    return answer(await in_project(request, write))


@api(write=LEAD)
async def merge_codes(request: Request, coder: str) -> Response:
    """Merge codes into one (every coding of the sources becomes the target's)."""
    data = await body(request)
    sources = data.get("sources")
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise BadRequestError("'sources' must be a list of code ids")

    def write(p: Project) -> Result:
        unblinded(request, p)
        return p.merge_codes(sources, str(data.get("into") or ""))
    return answer(await in_project(request, write))


def text_or_none(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


ROUTES = [Route("/api/codes", create_code, methods=["POST"]),
          Route("/api/codes/rename", rename_code, methods=["POST"]),
          Route("/api/codes/merge", merge_codes, methods=["POST"])]
