"""Planning the deletion of a document and its re-segmentation (nothing is written here).

``qda document delete`` removes a document with its segments, tokens, codings, memos and
earlier texts; ``qda document resplit`` segments a stored document again, in another
language (an English interview imported into a French project) or another unit. The
text does not change, so every coding keeps its exact characters: the re-anchoring
engine (:func:`qda.ingest.reanchor.reanchor`) confirms each span on the text and any it
could not place is reported, never dropped. Segment refs (``E1#12``) change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from qda.errors import NotFoundError
from qda.ingest import languages as langs
from qda.ingest.plan import Holdings, check_language, document_write
from qda.ingest.reanchor import Anchor, Reanchored, reanchor
from qda.ingest.segment import analyse_many
from qda.models import CodingStatus, Document, DocumentWrite, Memo, Segment, SegmentUnit, Turn, WritePlan
from qda.results import Note, TableView, json_dict

if TYPE_CHECKING:
    import pandas as pd


def _known(held: Holdings, name: str, names: Sequence[str]) -> Document:
    document = held.document(name)
    if document is None:
        shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
        raise NotFoundError(f"unknown document '{name}' (documents: {shown or 'none'})")
    return document


# ----------------------------------------------------------------------------- delete

@dataclass(frozen=True)
class DocumentDeletion:
    """What deleting a document removes (or removed): ``qda document delete``."""

    document: str
    case: str
    segments: int
    codings: dict[str, int]  # coder -> codings on this document
    memos: int  # memos written about the document
    versions: int  # earlier texts kept from revisions
    deleted: bool = False

    @property
    def total_codings(self) -> int:
        return sum(self.codings.values())

    def summary(self) -> str:
        """One sentence: what goes with the document."""
        coders = ", ".join(f"{n} of {coder}" for coder, n in sorted(self.codings.items()))
        parts = [f"{self.total_codings} coding(s) ({coders})" if self.codings else "no coding",
                 f"{self.memos} memo(s)", f"{self.segments} segment(s)"]
        if self.versions:
            parts.append(f"{self.versions} earlier text(s)")
        verb = "removed" if self.deleted else "removes"
        return f"document '{self.document}' (case {self.case}): {verb} " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return json_dict({**self.__dict__, "total_codings": self.total_codings})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([{"document": self.document, "coder": coder, "codings": n}
                             for coder, n in sorted(self.codings.items())], columns=["document", "coder", "codings"])

    def to_table(self) -> TableView:
        after = "'qda undo' brings it back" if self.deleted else "nothing changed yet"
        return TableView(lead=(Note(self.summary()), Note(after)))


def plan_document_deletion(held: Holdings, name: str, names: Sequence[str], *, memos: Sequence[Memo],
                           versions: int) -> tuple[WritePlan, DocumentDeletion]:
    """Delete document ``name``: the plan, and what it removes (its codings per coder).

    ``memos`` are the memos about the document (deleted with it: their target is gone),
    ``versions`` how many earlier texts the project keeps of it.
    """
    document = _known(held, name, names)
    per_coder: dict[str, int] = {}
    for coding in held.codings(document=name):
        per_coder[coding.coder] = per_coder.get(coding.coder, 0) + 1
    report = DocumentDeletion(name, document.case, len(held.segments(document=name)), per_coder, len(memos), versions)
    return WritePlan(documents=(DocumentWrite(document, "delete"),), tidy_cases=True), report


# ----------------------------------------------------------------------------- re-split

@dataclass(frozen=True)
class Resplit:
    """``qda document resplit``: the document's segments before and after, and its codings."""

    document: str
    language_before: str
    language: str
    unit: str
    segments_before: int
    segments: int
    codings: int  # codings of the document, all kept with their characters
    whole_before: int  # codings that were exactly one segment (coding sheets, segment agreement)
    whole_after: int
    unplaced: tuple[Reanchored, ...] = ()  # spans the re-anchoring could not confirm (kept, segment cleared)
    changed: bool = True  # False: the document was already split this way, nothing was written

    def to_dict(self) -> dict[str, Any]:
        return json_dict({**{k: v for k, v in self.__dict__.items() if k != "unplaced"},
                          "unplaced": [m.__dict__ for m in self.unplaced]})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([{k: v for k, v in self.to_dict().items() if k != "unplaced"}])

    def to_table(self) -> TableView:
        if not self.changed:
            return TableView(lead=(Note(f"document '{self.document}' is already split this way "
                                        f"({self.segments} segments, {self.language}, unit {self.unit}): "
                                        "nothing changed"),))
        lines = [Note(f"document '{self.document}': {self.segments_before} segment(s) -> {self.segments} "
                      f"({langs.name(self.language)} rules, unit {self.unit}); "
                      "segment refs changed")]
        if self.language != self.language_before:
            lines.append(Note(f"language {self.language_before} -> {self.language}"))
        lines.append(Note(f"{self.codings} coding(s) kept on the same characters; {self.whole_before} covered a "
                          f"whole segment before, {self.whole_after} now"))
        if self.whole_after < self.whole_before:
            lines.append(Note(f"warning: {self.whole_before - self.whole_after} coding(s) no longer cover a whole "
                              "segment; segment-based counts (agree --unit segment, coding sheets) now count them "
                              "by the partial-coding rule", "warning"))
        if self.unplaced:
            lines.append(Note(f"warning: {len(self.unplaced)} coding(s) could not be re-anchored; kept on their "
                              "characters without a segment:", "warning"))
            lines += [Note(f"  coding {m.key}: {m.old_text[:70]}", "warning") for m in self.unplaced]
        lines.append(Note("'qda undo' brings the previous segments back"))
        return TableView(lead=tuple(lines))


def stored_turns(segments: Sequence[Segment]) -> list[Turn]:
    """The speaker turns of a stored document, rebuilt from its segments (the file may be gone)."""
    turns: dict[int, Turn] = {}
    for seg in segments:
        found = turns.get(seg.turn)
        if found is None:
            turns[seg.turn] = Turn(seg.start, seg.end, seg.speaker, seg.timestamp)
        else:
            turns[seg.turn] = replace(found, start=min(found.start, seg.start), end=max(found.end, seg.end))
    return [turns[number] for number in sorted(turns)]


def plan_resplit(held: Holdings, name: str, names: Sequence[str], *, language: str | None, unit: SegmentUnit,
                 project_language: str) -> tuple[WritePlan, Resplit]:
    """Segment document ``name`` again with ``language``'s rules (default: the document's) by ``unit``.

    Every coding keeps its characters; its segment becomes the new segment it equals
    exactly, if any (the rule of codings made in the browser).
    """
    document = _known(held, name, names)
    language = check_language(language or document.language or project_language)
    old_segments = held.segments(document=name)
    analysis = analyse_many([(document.text, stored_turns(old_segments))], language=language, unit=unit)[0]
    write = document_write(replace(document, language=language), analysis, "resplit")
    if language == document.language and [(s.start, s.end, s.turn) for s in old_segments] == [
            (s.start, s.end, s.turn) for s in write.segments]:
        held_codings = held.codings(document=name)
        whole = sum(1 for c in held_codings if c.segment is not None)
        return WritePlan(), Resplit(name, language, language, unit, len(old_segments), len(old_segments),
                                    len(held_codings), whole, whole, changed=False)
    codings = held.codings(document=name)
    # codings orphaned by an earlier revision have no span to place: they stay as they are
    placeable = [c for c in codings if c.status != CodingStatus.ORPHANED]
    moves = reanchor(document.text, document.text, [Anchor(c.id or 0, c.start, c.end) for c in placeable])
    placed = {m.key for m in moves if m.status == "unchanged"}
    exact = {(seg.start, seg.end): seg.ref for seg in write.segments}
    moved = [replace(c, segment=exact.get((c.start, c.end)) if c.id in placed else None) for c in placeable]
    report = Resplit(name, document.language or project_language, language, unit, len(old_segments),
                     len(write.segments), len(codings), sum(1 for c in codings if c.segment is not None),
                     sum(1 for c in moved if c.segment is not None),
                     tuple(m for m in moves if m.key not in placed))
    return WritePlan(documents=(write,), moved=tuple(moved)), report
