"""The review queue: a human decides on a model's suggestions one by one (``/review`` in the workspace).

A suggestion is a coding of the machine coder (status ``suggested``, with its score and the
model id as origin). The reviewer accepts it (it becomes the reviewer's own coding, origin
kept), rejects it (no coding; the next ``qda suggest train`` from the reviewer reads it as a
negative of that code, see :func:`qda.suggest.corpus.reviewed_negatives`), recodes it (the
reviewer's coding of another code; a negative of the suggested code) or skips it (nothing
written). Each decision is a :class:`qda.models.SuggestReview` row, kept by code and segment,
so a decided passage does not come back when the model is run again or retrained.

This module plans and reads; :class:`qda.project.Project` writes (one transaction per decision).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qda.errors import InvalidCodingError, NotFoundError, SuggestError
from qda.models import Codebook, Coding, CodingStatus, ReviewAction, ReviewOrder, SuggestReview, counting_statuses
from qda.results import Column, Note, Row, TableView, json_dict
from qda.storage import ProjectReads
from qda.suggest.learn import Model
from qda.suggest.results import TrainReport

if TYPE_CHECKING:
    import pandas as pd

ORDERS = ("uncertainty", "score")
#: Characters of the transcript shown either side of a suggested passage.
CONTEXT = 240
#: A bulk accept's review rows: one per coding it made (not a human's one-by-one review).
BULK = "bulk accept"


@dataclass(frozen=True)
class QueueItem:
    """One suggestion waiting for a decision, with its passage in context."""

    id: int  # the suggestion (the machine coder's coding)
    code: str
    label: str
    document: str
    case: str
    segment: str
    start: int
    end: int
    score: float
    threshold: float
    uncertainty: float  # |score - threshold|: the smaller, the more a decision teaches the model
    text: str
    before: str
    after: str


@dataclass(frozen=True)
class ReviewModels:
    """The stored suggestion models and what the review page needs to name codes
    (``GET /api/review/models``): each code's label, the codes a suggestion may be recoded to."""

    models: tuple[dict[str, Any], ...]  # Project.review_models(): id, machine_coder, created_at, from, codes
    labels: dict[str, str]
    codable: tuple[dict[str, str], ...]  # {id, label} of the codes that can be coded
    blind: bool
    coder: str

    @classmethod
    def of(cls, models: Sequence[dict[str, Any]], codebook: Codebook, *, blind: bool, coder: str) -> ReviewModels:
        labels = {c.id: c.label(codebook.default_language) for c in codebook.codes}
        codable = tuple({"id": c.id, "label": labels[c.id]} for c in codebook.codes if c.codable)
        return cls(tuple(models), labels, codable, blind, coder)

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{**m, "codes": ", ".join(m.get("codes", []))} for m in self.models],
                            columns=["id", "machine_coder", "created_at", "from", "codes"])

    def to_table(self) -> TableView:
        rows = tuple(Row((m["machine_coder"], m["created_at"], m["from"], len(m.get("codes", []))))
                     for m in self.models)
        return TableView(f"{len(self.models)} suggestion model(s)",
                         (Column("model"), Column("created"), Column("learnt from"), Column("codes", True)), rows,
                         lead=() if rows else (Note("no model yet: qda suggest train --from CODER"),))


@dataclass(frozen=True)
class Retrained:
    """A model trained again after reviews (same coder, codes, seed and settings) and its
    suggestions stored (``POST /api/review/retrain``); ``train``: the training report."""

    previous: str
    model: str
    machine_coder: str
    created: bool
    training_coder: str
    counts: dict[str, int]  # code -> suggestions stored
    train: TrainReport  # kept out of to_dict: the page shows the counts

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"previous": self.previous, "model": self.model, "machine_coder": self.machine_coder,
                          "created": self.created, "from": self.training_coder,
                          "suggestions": sum(self.counts.values()), "counts": dict(self.counts)})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(sorted(self.counts.items()), columns=["code", "suggestions"])

    def to_table(self) -> TableView:
        return TableView(f"{self.machine_coder} retrained from {self.training_coder} (was {self.previous[:6]})",
                         (Column("code"), Column("suggestions", True)),
                         tuple(Row(r) for r in sorted(self.counts.items())))


@dataclass(frozen=True)
class ReviewQueue:
    """A model's undecided suggestions (of one code, or all), most informative first or by score."""

    model: str
    machine_coder: str
    training_coder: str
    reviewer: str
    code: str | None
    order: ReviewOrder
    items: tuple[QueueItem, ...]
    decided: int  # suggestions of this model (and code) the reviewer has decided on already
    codes: dict[str, int]  # code -> undecided suggestions, for the code chooser

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([json_dict(i) for i in self.items])

    def to_table(self) -> TableView:
        rows = tuple(Row((i.id, i.code, i.segment, round(i.score, 3), round(i.uncertainty, 3), i.text[:60]))
                     for i in self.items)
        return TableView(f"review queue of {self.machine_coder} for {self.reviewer} ({self.order})",
                         (Column("suggestion", True), Column("code"), Column("segment"), Column("score", True),
                          Column("|score - threshold|", True), Column("passage")), rows,
                         notes=(Note(f"{self.decided} decided already"),))


@dataclass(frozen=True)
class ReviewDecision:
    """What one review write did (or what an undo took back)."""

    review: int
    action: str
    reviewer: str
    model: str
    code: str
    segment: str
    coded: str | None
    coding: int | None  # the reviewer's coding made (accept, recode) or removed (undo)
    undone: bool = False
    codings: int = 0  # a bulk accept: how many codings it made (or its undo removed)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def to_table(self) -> TableView:
        return TableView(lead=(Note(self.message),))


@dataclass(frozen=True)
class CodeReviewTally:
    code: str
    codings: int  # human codings of the code that count
    from_suggestions: int  # of which came from a suggestion (they keep the model id as origin)
    share: float | None
    reviewed: int  # suggestions a human decided on one by one (accept, reject, recode)
    accepted: int
    rejected: int
    recoded: int
    bulk_accepted: int  # accepted in bulk after the gate, not one by one


@dataclass(frozen=True)
class ReviewTally:
    """Per code: how much of the human coding came from suggestions, and how many a human reviewed."""

    model: str | None
    codes: tuple[CodeReviewTally, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([json_dict(c) for c in self.codes])

    def to_table(self) -> TableView:
        rows = tuple(Row((c.code, c.codings, c.from_suggestions, None if c.share is None else round(c.share, 3),
                          c.reviewed, c.accepted, c.rejected, c.recoded, c.bulk_accepted)) for c in self.codes)
        return TableView("provenance of the codings", (
            Column("code"), Column("codings", True), Column("from suggestions", True), Column("share", True),
            Column("reviewed", True), Column("accepted", True), Column("rejected", True), Column("recoded", True),
            Column("bulk accepted", True)), rows)


def check_reviewer(reviewer: str) -> str:
    """A human reviewer's name (a machine coder never reviews); the facade checks it is a valid coder name."""
    if reviewer.strip().startswith("model:"):
        raise SuggestError(f"'{reviewer}' is a machine coder: a suggestion is reviewed by a human coder")
    return reviewer.strip()


def decided_pairs(store: ProjectReads, reviewer: str) -> set[tuple[str, str]]:
    """(code, segment) the reviewer has decided on, by any model: such a passage is not asked again."""
    return {(r.code, r.segment) for r in store.suggest_reviews(reviewer=reviewer)}


def build_queue(store: ProjectReads, codebook: Codebook, model: Model, *, reviewer: str, code: str | None = None,
                order: ReviewOrder = ReviewOrder.UNCERTAINTY, limit: int | None = None) -> ReviewQueue:
    """The reviewer's queue of ``model``'s suggestions (of ``code``, or of every code).

    Left out: suggestions the reviewer decided on already, and passages the reviewer has
    coded with that code (by hand, or in a bulk accept). ``uncertainty`` puts first the
    suggestions whose score is closest to the code's threshold (active learning: the
    decisions that teach the model most); ``score`` the most confident first.
    """
    if order not in ORDERS:
        raise InvalidCodingError(f"unknown order '{order}' (uncertainty or score)")
    if code is not None and code not in model.codes:
        raise SuggestError(f"the model has no classifier for '{code}' (trained: {', '.join(model.codes)})")
    suggestions = [c for c in store.codings(coder=model.machine_coder)
                   if c.status == CodingStatus.SUGGESTED and c.segment]
    decided = decided_pairs(store, reviewer)
    mine = ({(c.code, c.segment) for c in store.codings(coder=reviewer)} if reviewer in store.coders() else set())
    open_ = [c for c in suggestions if (c.code, c.segment) not in decided and (c.code, c.segment) not in mine]
    counts: dict[str, int] = {}
    for c in open_:
        counts[c.code] = counts.get(c.code, 0) + 1
    chosen = [c for c in open_ if code is None or c.code == code]
    threshold = {c: float(model.threshold[k]) for k, c in enumerate(model.codes)}

    def uncertainty(c: Coding) -> float:
        return abs((c.score or 0.0) - threshold.get(c.code, 0.5))

    if order == "uncertainty":
        chosen.sort(key=uncertainty)  # stable: ties stay in reading order
    else:
        chosen.sort(key=lambda c: -(c.score or 0.0))
    if limit is not None:
        chosen = chosen[:limit]
    texts = {d.name: d.text for d in store.documents()} if chosen else {}
    language = codebook.default_language
    known = codebook.code_ids()

    def item(c: Coding) -> QueueItem:
        text = texts[c.document]
        return QueueItem(c.id or 0, c.code, codebook.code(c.code).label(language) if c.code in known else c.code,
                         c.document, c.case, c.segment or "", c.start, c.end, float(c.score or 0.0),
                         threshold.get(c.code, 0.5), round(uncertainty(c), 6), c.text,
                         text[max(0, c.start - CONTEXT):c.start], text[c.end:c.end + CONTEXT])
    items = tuple(item(c) for c in chosen)
    done = sum(1 for c in suggestions if (code is None or c.code == code) and (c.code, c.segment) in decided)
    return ReviewQueue(model.id, model.machine_coder, model.coder, reviewer, code, ReviewOrder(order), items, done,
                       counts)


def plan_decision(store: ProjectReads, codebook: Codebook, suggestion: Coding | None, *, reviewer: str,
                  action: ReviewAction,
                  recode_to: str | None = None) -> tuple[Coding | None, SuggestReview]:
    """The reviewer's coding a decision makes (None for a rejection) and its review row, checked."""
    if suggestion is None:
        raise NotFoundError("no such suggestion (reload the queue: it may have been replaced by a new run)")
    if suggestion.status != CodingStatus.SUGGESTED or not suggestion.origin or not suggestion.segment:
        raise SuggestError(f"coding {suggestion.id} is not a machine suggestion")
    try:
        chosen = ReviewAction(action)
    except ValueError:
        raise InvalidCodingError(f"unknown decision '{action}' (accept, reject or recode)") from None
    if (suggestion.code, suggestion.segment) in decided_pairs(store, reviewer):
        raise SuggestError(f"you have decided on '{suggestion.code}' at {suggestion.segment} already "
                           "(undo that decision first)")
    coded: str | None = None
    if chosen is ReviewAction.ACCEPT:
        coded = suggestion.code
    elif chosen is ReviewAction.RECODE:
        if not recode_to:
            raise InvalidCodingError("recode: choose the code the passage should have")
        if recode_to not in codebook.code_ids() or not codebook.code(recode_to).codable:
            raise NotFoundError(f"unknown or non-codable code '{recode_to}' (see the codebook)")
        if recode_to == suggestion.code:
            raise InvalidCodingError("recode to the same code is an accept (press a)")
        coded = recode_to
    made = None
    if coded is not None:
        same_span = store.codings(coder=reviewer, document=suggestion.document, start=suggestion.start,
                                  end=suggestion.end) if reviewer in store.coders() else []
        already = [c for c in same_span if c.code == coded]
        if already:
            raise SuggestError(f"you have coded {suggestion.segment} as '{coded}' already")
        made = Coding(reviewer, coded, suggestion.document, suggestion.case, suggestion.start, suggestion.end,
                      suggestion.segment, source="suggest", status=str(CodingStatus.OK), score=suggestion.score,
                      origin=suggestion.origin)
    review = SuggestReview(reviewer, suggestion.origin, suggestion.code, suggestion.document, suggestion.segment,
                           str(chosen), coded, None, suggestion.score)
    return made, review


def decision_message(review: SuggestReview, undone: bool = False) -> str:
    """The toast's sentence for a decision."""
    what = {"accept": f"accepted '{review.code}'", "reject": f"rejected '{review.code}'",
            "recode": f"recoded '{review.code}' as '{review.coded}'"}.get(review.action, review.action)
    return f"{'Undone: ' if undone else ''}{what} at {review.segment}"


def provenance(store: ProjectReads, model: str | None = None) -> ReviewTally:
    """Per code: human codings that count, how many came from suggestions, and the review decisions."""
    counting = set(counting_statuses(coder_named=True)) - {str(CodingStatus.SUGGESTED)}
    rows: dict[str, dict[str, int]] = {}

    def row(code: str) -> dict[str, int]:
        return rows.setdefault(code, dict.fromkeys(("codings", "from", "reviewed", "accept", "reject", "recode",
                                                    "bulk"), 0))

    for c in store.codings():
        if c.coder.startswith("model:") or c.status not in counting:
            continue
        r = row(c.code)
        r["codings"] += 1
        if c.origin and (model is None or c.origin == model):
            r["from"] += 1
    for review in store.suggest_reviews(model=model):
        r = row(review.code)
        if review.action == BULK:
            r["bulk"] += 1
            continue
        r["reviewed"] += 1
        r[review.action] = r.get(review.action, 0) + 1
    out = tuple(CodeReviewTally(code, r["codings"], r["from"], r["from"] / r["codings"] if r["codings"] else None,
                               r["reviewed"], r["accept"], r["reject"], r["recode"], r["bulk"])
                for code, r in sorted(rows.items()) if r["from"] or r["reviewed"] or r["bulk"])
    return ReviewTally(model, out)


def bulk_reviews(codings: Sequence[Coding], model: Model, reviewer: str, *, at: str) -> list[SuggestReview]:
    """The review rows of a bulk accept (one per coding made, all with the same time: undone together)."""
    return [SuggestReview(reviewer, model.id, c.code, c.document, c.segment or "", BULK, c.code, c.id, c.score, at)
            for c in codings]
