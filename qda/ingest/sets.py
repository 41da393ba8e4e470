"""Document sets: named groups of documents (MAXQDA's document sets, ATLAS.ti's document
groups, REFI-QDA ``Set`` elements of sources), planned like every other write."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from qda.errors import IngestError, NotFoundError, Problem
from qda.models import Case, Coding, Document, DocumentSet, Memo, Segment, SuggestReview, WritePlan
from qda.results import Note, TableView, frame_view
from qda.storage import ProjectReads, ProjectStorage

if TYPE_CHECKING:
    import pandas as pd

MAX_NAME = 100


def plan_document_set(name: str, documents: Sequence[str], known: Sequence[Document]) -> WritePlan:
    """A plan adding ``documents`` to the set ``name`` (created if new); every unknown
    document is reported at once, with the names the project has."""
    clean = " ".join((name or "").split())
    if not clean or len(clean) > MAX_NAME:
        raise IngestError(f"a set needs a name of 1 to {MAX_NAME} characters, not '{name}'")
    if not documents:
        raise IngestError(f"set '{clean}': name at least one document to put in it")
    names = {d.name for d in known}
    unknown = [d for d in documents if d not in names]
    if unknown:
        sample = ", ".join(sorted(names)[:8]) or "none yet"
        raise NotFoundError(f"set '{clean}': {len(unknown)} unknown document(s)", [
            Problem(d, "no such document in this project", f"use a document name ({sample})") for d in unknown])
    return WritePlan(document_sets=(DocumentSet(clean, tuple(dict.fromkeys(documents))),))


@dataclass(frozen=True)
class DocumentSets:
    """The project's document sets (``qda set list``)."""

    sets: tuple[DocumentSet, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"sets": [{"name": s.name, "documents": list(s.documents), "description": s.description}
                         for s in self.sets]}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"set": s.name, "documents": len(s.documents), "members": ", ".join(s.documents)}
                             for s in self.sets], columns=["set", "documents", "members"])

    def to_table(self) -> TableView:
        if not self.sets:  # an empty table says nothing: say what there is and how to make one
            return TableView(lead=(Note("no document set yet (qda set add NAME DOCUMENT...)"),))
        return frame_view(self.to_frame())


def find_document_set(name: str, sets: Sequence[DocumentSet]) -> DocumentSet:
    """The set called ``name``; an unknown name is an error listing the project's sets."""
    for found in sets:
        if found.name == name:
            return found
    known = ", ".join(s.name for s in sets) or "none yet (qda set add NAME DOC...)"
    raise NotFoundError(f"unknown document set '{name}' (sets: {known})", [
        Problem(name, "no such document set in this project", f"use one of: {known}")])


class SetScope:
    """A read-only view of a store that sees only the documents of one set.

    Analyses run unchanged on it (the facade swaps it in for the store while one
    command runs): documents, segments, codings, tokens and memos of other documents
    disappear, and a case is in the set when one of its documents is, so that matrices
    count the cases of the set and only them. A store method this class does not know
    how to filter raises instead of answering for the whole project: a number computed on
    documents outside the set would be silently wrong.
    """

    #: Store reads that say nothing about which documents exist: answered by the store itself.
    UNSCOPED = frozenset({"codebook", "coders", "variables", "get_meta", "speakers", "users",
                          "codebook_source", "path", "readonly", "backups", "schema_version",
                          # suggestion models are learnt from the whole project; their codings are filtered
                          "suggest_models", "suggest_model_bytes", "suggest_samples"})

    def __init__(self, store: ProjectReads, documents: Sequence[str]) -> None:
        self._store = store
        self.names = frozenset(documents)
        self._case_names = frozenset(d.case for d in store.documents() if d.name in self.names)

    def __getattr__(self, name: str) -> Any:
        if name in self.UNSCOPED:
            return getattr(self._store, name)
        raise NotImplementedError(f"Store.{name} is not filtered by document set: add it to SetScope")

    def segments_signature(self) -> str:
        """The project's segments' signature and this set's documents: what is kept of a corpus read
        through this view (qda.suggest's per-process cache) is never taken for the whole project's."""
        whole = cast(ProjectStorage, self._store).segments_signature()
        return hashlib.sha256("\x1e".join([whole, *sorted(self.names)]).encode()).hexdigest()

    def document_sets(self) -> list[DocumentSet]:
        """The sets, each cut to its documents inside this one (an export holds no reference to
        a document it does not carry); sets left empty are dropped."""
        kept = [replace(s, documents=tuple(d for d in s.documents if d in self.names))
                for s in self._store.document_sets()]
        return [s for s in kept if s.documents]

    def suggest_reviews(self, reviewer: str | None = None, model: str | None = None,
                        undone: bool = False) -> list[SuggestReview]:
        return [r for r in self._store.suggest_reviews(reviewer, model, undone) if r.document in self.names]

    def documents(self) -> list[Document]:
        return [d for d in self._store.documents() if d.name in self.names]

    def document(self, name: str) -> Document | None:
        return self._store.document(name) if name in self.names else None

    def sizes(self) -> dict[str, int]:
        return {"documents": len(self.documents()), "cases": len(self.cases()),
                "segments": len(self._store.segments(text=False, documents=self.names))}

    def document_cases(self) -> list[tuple[str, str]]:
        return [(name, case) for name, case in self._store.document_cases() if name in self.names]

    def cases(self) -> list[Case]:
        return [c for c in self._store.cases() if c.name in self._case_names]

    def segments(self, document: str | None = None, case: str | None = None, *, text: bool = True,
                 documents: Collection[str] | None = None) -> list[Segment]:
        return [s for s in self._store.segments(document, case, text=text, documents=documents)
                if s.document in self.names]

    def codings(self, coder: str | None = None, case: str | None = None, document: str | None = None,
                ids: Sequence[int] | None = None, start: int | None = None, end: int | None = None,
                codes: Sequence[str] | None = None, cases: Sequence[str] | None = None) -> list[Coding]:
        return [c for c in self._store.codings(coder, case, document, ids, start, end, codes, cases)
                if c.document in self.names]

    def coding_columns(self, coder: str, statuses: Sequence[str] | None = None) -> dict[str, list[Any]]:
        return self._keep(self._store.coding_columns(coder, statuses))

    def segment_columns(self) -> dict[str, list[Any]]:
        return self._keep(self._store.segment_columns())

    def role_spans(self, roles: Sequence[str]) -> dict[str, tuple[list[int], list[int]]]:
        return {name: spans for name, spans in self._store.role_spans(roles).items() if name in self.names}

    def coding_tallies(self, coder: str, statuses: Sequence[str]) -> list[tuple[str, str, int, int]]:
        return [row for row in self._store.coding_tallies(coder, statuses) if row[0] in self.names]

    def quote_rows(self, coder: str, statuses: Sequence[str]) -> list[tuple[Any, ...]]:
        return [row for row in self._store.quote_rows(coder, statuses) if row[2] in self.names]

    def _keep(self, columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
        rows = [i for i, document in enumerate(columns["document"]) if document in self.names]
        return {key: [values[i] for i in rows] for key, values in columns.items()}

    def tokens(self) -> Iterator[tuple[str, str, str, bytes, bytes, list[str], list[str]]]:
        return (row for row in self._store.tokens() if row[0] in self.names)

    def memos(self, target_kind: str | None = None, target: str | None = None,
              ids: Sequence[int] | None = None) -> list[Memo]:
        def inside(memo: Memo) -> bool:
            if memo.target_kind == "document":
                return memo.target in self.names
            if memo.target_kind == "case":
                return memo.target in self._case_names
            return True  # memos on codes and on the project are about every document
        return [m for m in self._store.memos(target_kind, target, ids) if inside(m)]
