"""What the ``qda suggest`` commands return: results keeping the :class:`qda.results.Result` contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qda.results import Column, Interval, Note, Row, TableView, json_dict

if TYPE_CHECKING:  # annotations only: a run's report imports no NumPy (see qda.suggest.hits)
    import pandas as pd

    from qda.suggest.metrics import Metric


def _interval(metric: Metric | None) -> Interval | None:
    """An interval cell; an empty cell where nothing was measured (a code not trained)."""
    return Interval(metric.value, metric.low, metric.high) if metric is not None else None


def _flat(prefix: str, metric: Metric | None) -> dict[str, float | None]:
    if metric is None:
        return {prefix: None, f"{prefix}_low": None, f"{prefix}_high": None}
    return {prefix: metric.value, f"{prefix}_low": metric.low, f"{prefix}_high": metric.high}


@dataclass(frozen=True)
class CodeEvaluation:
    """One code of a training: its positives and, when trained, the cross-validated agreement
    of the model with the training coder (document-grouped folds)."""

    code: str
    label: str
    positives: int
    trained: bool
    reason: str = ""  # why not trained, or why not evaluated
    threshold: float | None = None  # the final model's, chosen on the training data only
    kappa: Metric | None = None
    precision: Metric | None = None
    recall: Metric | None = None
    f1: Metric | None = None
    fold_thresholds: tuple[float, ...] = ()


@dataclass(frozen=True)
class TrainReport:
    """A trained model, and per code how well it agrees with the coder it learned from."""

    model: str
    machine_coder: str
    coder: str
    seed: int
    documents: int  # documents the coder coded (the labelled ones)
    segments: int  # segments in them
    folds: int
    params: dict[str, Any]
    codes: tuple[CodeEvaluation, ...]
    created: bool = True  # False: the same training was stored already (same id)

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"code": c.code, "label": c.label, "positives": c.positives, "trained": c.trained,
                              "threshold": c.threshold, **_flat("kappa", c.kappa), **_flat("precision", c.precision),
                              **_flat("recall", c.recall), **_flat("f1", c.f1), "note": c.reason}
                             for c in self.codes])

    def to_table(self) -> TableView:
        columns = (Column("code"), Column("positives", True), Column("threshold", True), Column("kappa", True),
                   Column("precision", True), Column("recall", True), Column("F1", True), Column("note"))
        rows = tuple(Row((c.code, c.positives, c.threshold, _interval(c.kappa), _interval(c.precision),
                          _interval(c.recall), _interval(c.f1), c.reason)) for c in self.codes)
        trained = sum(c.trained for c in self.codes)
        lead = (Note(f"model {self.model[:12]} (coder {self.machine_coder}) learned from {self.coder}: "
                     f"{trained} of {len(self.codes)} codes trained on {self.segments} segments of "
                     f"{self.documents} documents"),)
        notes: tuple[Note, ...] = (Note(
            f"kappa, precision, recall, F1: {self.folds}-fold cross-validation grouped by document "
            "(a document never trains and tests its own segments), 95 % bootstrap intervals over "
                      "segments; each fold's threshold chosen on its training part only", "aside"),)
        if not self.created:
            notes += (Note("the same training was stored already: model unchanged", "aside"),)
        return TableView("suggester training", columns, rows, lead, notes)


@dataclass(frozen=True)
class CurvePoint:
    positives: int
    kappa: Metric | None  # None: fewer positives than that in a fold's training part


@dataclass(frozen=True)
class CodeCurve:
    code: str
    positives: int
    points: tuple[CurvePoint, ...]
    all_data: Metric | None


@dataclass(frozen=True)
class LearningCurve:
    """Cross-validated kappa per code with the training part cut to 25, 50, 100, 200 positives."""

    coder: str
    sizes: tuple[int, ...]
    codes: tuple[CodeCurve, ...]
    medians: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = []
        for c in self.codes:
            row: dict[str, Any] = {"code": c.code, "positives": c.positives}
            for p in c.points:
                row.update(_flat(f"kappa_{p.positives}", p.kappa))
            row.update(_flat("kappa_all", c.all_data))
            rows.append(row)
        return pd.DataFrame(rows)

    def to_table(self) -> TableView:
        columns = (Column("code"), Column("positives", True),
                   *(Column(f"κ at {s}", True) for s in self.sizes), Column("κ all", True))
        rows = [Row((c.code, c.positives, *(_interval(p.kappa) for p in c.points), _interval(c.all_data)))
                for c in self.codes]
        rows.append(Row(("median", None, *(Interval(self.medians.get(str(s))) for s in self.sizes),
                         Interval(self.medians.get("all"))), "total"))
        return TableView(f"learning curve ({self.coder})", columns, tuple(rows), notes=(
            Note("each cell: document-grouped cross-validated kappa when the training part of every fold is cut "
                 "to the first documents (in a random order) that hold that many positives; empty where a fold has "
                 "fewer. A code whose kappa still rises at its last size needs more codings.", "aside"),))


@dataclass(frozen=True)
class RunReport:
    """Suggestions stored by one run of a model."""

    model: str
    machine_coder: str
    documents: int
    segments: int
    counts: dict[str, int]  # code -> suggestions stored
    replaced: int

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"code": k, "suggestions": v} for k, v in self.counts.items()])

    def to_table(self) -> TableView:
        rows = tuple(Row((k, v)) for k, v in self.counts.items())
        return TableView("suggestions", (Column("code"), Column("suggestions", True)), rows, (
            Note(f"{sum(self.counts.values())} suggestions of {self.machine_coder} on {self.segments} segments of "
                 f"{self.documents} documents (status suggested: counted only when {self.machine_coder} is named); "
                 f"{self.replaced} earlier suggestions of this model on these segments replaced "
                 "(identical ones are kept as they were, with their ids)"),))


@dataclass(frozen=True)
class Similar:
    ref: str
    text: str
    similarity: float


#: The marks :class:`qda.suggest.learn.Terms` puts before a term that is not a word of the
#: segment itself, and what each means to a reader (longest marks first: ``<prole>`` before ``<p>``).
TERM_MARKS = (("<prole>", "previous speaker: {}"), ("<role>", "speaker: {}"), ("<len>", "length: {} words"),
              ("<p>", "{} (previous segment)"), ("<o>", "{} (the turn answered)"), ("<n>", "{} (next segment)"))


def term_label(term: str) -> str:
    """A model's term as a reader understands it: ``<o>salon`` -> ``salon (the turn answered)``,
    ``<c> sal`` (character n-gram) -> ``sal… (letters at the start of a word)``. The review page and
    ``qda suggest explain`` both show these, so the names are made here once."""
    if term == "<prole><start>":
        return "first segment of the document"
    if term == "<turn>":
        return "opens a turn (the speaker changes)"
    if term == "<empty>":
        return "an empty segment"
    if term.startswith("<c>"):  # scikit-learn's char_wb pads each word with one space on both sides
        gram = term[3:]
        inner = gram.strip()
        if gram.startswith(" ") and gram.endswith(" "):
            return f"{inner} (a whole word, in letters)"
        if gram.startswith(" "):
            return f"{inner}… (letters at the start of a word)"
        if gram.endswith(" "):
            return f"…{inner} (letters at the end of a word)"
        return f"…{inner}… (letters inside a word)"
    for mark, shown in TERM_MARKS:
        if term.startswith(mark):
            return shown.format(term[len(mark):])
    return term


@dataclass(frozen=True)
class Explanation:
    """Why a suggestion was made: the terms that weighed most, and the closest passages a human coded."""

    coding: int
    code: str
    model: str
    score: float | None
    threshold: float | None
    terms: tuple[tuple[str, float], ...]  # (term, coefficient x tf-idf)
    similar: tuple[Similar, ...]
    # what the nearest coded passages added to the decision value (None: the code's score has no such term)
    passages: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = json_dict(self)
        data["terms"] = [{"term": t, "label": term_label(t), "weight": w} for t, w in self.terms]
        return data

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"term": t, "label": term_label(t), "weight": w} for t, w in self.terms],
                            columns=["term", "label", "weight"])

    def to_table(self) -> TableView:
        rows = tuple(Row((term_label(t), w)) for t, w in self.terms)
        notes = tuple(Note(f"similar ({s.similarity:.2f}) {s.ref}: {s.text}", "aside") for s in self.similar)
        heading = [Note(f"score {self.score} (threshold {self.threshold}), model {self.model[:12]}")]
        if self.passages is not None:
            heading.append(Note(f"likeness to the nearest coded passages: {self.passages:+.3f} to the decision value "
                                "(beside the terms' weights)"))
        return TableView(f"suggestion {self.coding}: {self.code}", (Column("term"), Column("weight", True)), rows,
                         tuple(heading), notes)


@dataclass(frozen=True)
class SampleReport:
    """A validation sample: segments for a human to code blind."""

    sample: int
    model: str
    coder: str
    segments: tuple[str, ...]
    strata: dict[str, int]  # stratum -> segments drawn
    sheet: str | None
    planning: str

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"stratum": k, "segments": v} for k, v in self.strata.items()])

    def to_table(self) -> TableView:
        lead = [Note(f"sample {self.sample}: {len(self.segments)} segments for {self.coder} to code blind "
                     f"(model {self.model[:12]})")]
        if self.sheet:
            lead.append(Note(f"wrote {self.sheet}: import it with `qda code import {self.sheet} --coder {self.coder}`"))
        return TableView("validation sample", (Column("stratum"), Column("segments", True)),
                         tuple(Row((k, v)) for k, v in self.strata.items()), tuple(lead),
                         (Note(self.planning, "aside"),))


@dataclass(frozen=True)
class CodeValidation:
    code: str
    agreement: Any  # BinaryAgreement
    passes: bool


@dataclass(frozen=True)
class ValidationReport:
    """The model against a human's blind coding of a sample, per code, and the gate."""

    model: str
    machine_coder: str
    coder: str
    sample: int
    segments: int  # sample segments the human coded
    min_kappa: float
    codes: tuple[CodeValidation, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"code": c.code, "segments": c.agreement.units,
                              "human_positives": c.agreement.human_positives,
                              "machine_positives": c.agreement.machine_positives, **_flat("kappa", c.agreement.kappa),
                              **_flat("precision", c.agreement.precision), **_flat("recall", c.agreement.recall),
                              **_flat("f1", c.agreement.f1), "passes": c.passes} for c in self.codes])

    def to_table(self) -> TableView:
        columns = (Column("code"), Column("human +", True), Column("model +", True), Column("kappa", True),
                   Column("precision", True), Column("recall", True), Column("F1", True), Column("gate"))
        rows = tuple(Row((c.code, c.agreement.human_positives, c.agreement.machine_positives,
                          _interval(c.agreement.kappa), _interval(c.agreement.precision),
                          _interval(c.agreement.recall), _interval(c.agreement.f1),
                          "bulk accept allowed" if c.passes else "review one by one")) for c in self.codes)
        return TableView(f"validation of {self.machine_coder} against {self.coder}", columns, rows, (
            Note(f"sample {self.sample}: {self.segments} segments coded blind by {self.coder}"),), (
            Note(f"gate: bulk accept only where the lower 95 % bound of kappa is at least {self.min_kappa}", "aside"),))


@dataclass(frozen=True)
class AcceptReport:
    """Suggestions of one code that became a reviewer's codings."""

    model: str
    code: str
    reviewer: str
    above: float | None
    kappa_low: float | None
    accepted: int
    already: int  # the reviewer had coded that segment with that code already

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def to_table(self) -> TableView:
        return TableView(lead=(Note(
            f"accepted {self.accepted} suggestions of '{self.code}' as codings of {self.reviewer} "
            f"(origin: model {self.model[:12]}); {self.already} were coded by {self.reviewer} already; "
            "`qda undo` takes them back"),))
