"""Document sets: named groups of documents (MAXQDA's document sets, ATLAS.ti's document
groups, REFI-QDA ``Set`` elements of sources), planned like every other write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qda.errors import IngestError, NotFoundError, Problem
from qda.models import Document, DocumentSet, WritePlan
from qda.results import Note, TableView, frame_view

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
