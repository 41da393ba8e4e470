"""Where codings came from: per coder and code, the share that machine suggestions made, the
model, its training size, its validated kappa, and how many suggestions a human accepted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qda.errors import NotFoundError, QdaError
from qda.models import CodingStatus, ReviewAction, counting_statuses
from qda.results import Column, Interval, Note, Row, Share, TableView, json_dict
from qda.storage import ProjectStorage
from qda.suggest.hits import machine_coder
from qda.suggest.metrics import Metric

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class CodeProvenance:
    coder: str
    code: str
    codings: int  # the coder's counting codings of the code
    from_suggestions: int  # of them, made by a model (suggested, or accepted with the model as origin)
    model: str  # the model id ("" when none)
    training_segments: int | None
    training_coder: str
    validated_kappa: Metric | None  # against the model's latest blind sample
    validated_by: str
    sample_size: int | None
    accepted: int  # suggestions a human accepted (codings of a human with this origin)
    reviewed: int = 0  # suggestions a human decided on one by one in the review queue (accepted, rejected, recoded)

    @property
    def share(self) -> float | None:
        return self.from_suggestions / self.codings if self.codings else None


@dataclass(frozen=True)
class Provenance:
    """Per coder and code: how many codings machine suggestions made (only rows where they made any)."""

    coders: tuple[str, ...]
    rows: tuple[CodeProvenance, ...]

    def to_dict(self) -> dict[str, Any]:
        data = json_dict(self)
        for row, item in zip(self.rows, data["rows"]):
            item["share"] = row.share
        return data

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{**{k: v for k, v in json_dict(r).items() if k != "validated_kappa"}, "share": r.share,
                              "validated_kappa": r.validated_kappa.value if r.validated_kappa else None,
                              "validated_kappa_low": r.validated_kappa.low if r.validated_kappa else None,
                              "validated_kappa_high": r.validated_kappa.high if r.validated_kappa else None}
                             for r in self.rows])

    def to_table(self) -> TableView:
        columns = (Column("coder"), Column("code"), Column("from suggestions", True), Column("model"),
                   Column("trained on", True), Column("validated κ", True), Column("accepted", True),
                   Column("reviewed", True))
        rows = tuple(Row((r.coder, r.code, Share(r.share, r.from_suggestions), machine_coder(r.model),
                          r.training_segments,
                          Interval(r.validated_kappa.value, r.validated_kappa.low, r.validated_kappa.high)
                          if r.validated_kappa else None, r.accepted, r.reviewed)) for r in self.rows)
        lead = () if self.rows else (Note(f"no coding of {', '.join(self.coders)} came from a machine suggestion"),)
        return TableView("provenance of the codings", columns, rows, lead,
                         (Note("validated κ: the model against a human's blind coding of its sample "
                               "(qda suggest validate), 95 % bootstrap interval", "aside"),) if self.rows else ())

    def sentences(self) -> list[str]:
        """The provenance in words, for reports (empty when no coding came from a model)."""
        out = []
        for r in self.rows:
            validated = "not validated on a blind sample"
            k = r.validated_kappa
            if k is not None and k.value is not None:
                interval = f" [95% CI {k.low:.2f}, {k.high:.2f}]" if k.low is not None and k.high is not None else ""
                validated = (f"validated kappa {k.value:.2f}{interval} against {r.validated_by} "
                             f"on {r.sample_size} segments")
            share = f" ({r.share:.0%})" if r.share is not None else ""
            out.append(f"{r.coder}, code {r.code}: {r.from_suggestions} of {r.codings} codings{share} from "
                       f"suggestions of model {r.model[:6]} (trained on {r.training_segments} segments coded by "
                       f"{r.training_coder}; {validated}; {r.accepted} suggestions accepted by a human, "
                       f"{r.reviewed} reviewed one by one).")
        return out


def provenance(store: ProjectStorage, coders: Sequence[str], bootstrap: int = 1000) -> Provenance:
    """Provenance of the codings of ``coders`` (see :class:`Provenance`)."""
    from qda.suggest.gate import validate
    from qda.suggest.hits import model_info
    from qda.suggest.suggester import corpus_of, load_model

    known = store.coders()
    for coder in coders:
        if coder not in known:
            raise NotFoundError(f"unknown coder '{coder}' (coders: {', '.join(known) or 'none yet'})")
    models = {m[0]: m for m in store.suggest_models()}
    counting = set(counting_statuses(coder_named=True))
    accepted: dict[tuple[str, str], int] = {}
    codings_of = {}
    for coder in known:
        found = [c for c in store.codings(coder=coder) if c.status in counting]
        codings_of[coder] = found
        if not coder.startswith("model:"):
            for c in found:
                if c.origin:
                    accepted[(c.origin, c.code)] = accepted.get((c.origin, c.code), 0) + 1
    reviewed: dict[tuple[str, str], int] = {}  # the review queue's one-by-one decisions (qda/suggest/review.py)
    for review in store.suggest_reviews():
        if review.action in set(ReviewAction):
            reviewed[(review.model, review.code)] = reviewed.get((review.model, review.code), 0) + 1
    validations: dict[str, dict[str, Any]] = {}
    rows = []
    for coder in coders:
        per_code: dict[tuple[str, str], list[int]] = {}
        totals: dict[str, int] = {}
        for c in codings_of[coder]:
            totals[c.code] = totals.get(c.code, 0) + 1
            if c.origin or c.status == CodingStatus.SUGGESTED:
                key = (c.code, c.origin or "")
                per_code.setdefault(key, [0])[0] += 1
        for (code, origin), (count,) in sorted(per_code.items()):
            info = models.get(origin)
            if origin and origin not in validations and info is not None:
                try:
                    model, _ = load_model(store, origin)
                    # the model's own terms (corpus_of keeps the corpus while they are the same)
                    report, _data = validate(store, model, bootstrap=bootstrap,
                                             corpus=corpus_of(store, english_terms=model.english_terms))
                    validations[origin] = {"report": report}
                except QdaError:
                    validations[origin] = {}
            check = validations.get(origin, {}).get("report")
            row = next((v for v in check.codes if v.code == code), None) if check is not None else None
            details = model_info(store, origin)[3] if info is not None else {}
            rows.append(CodeProvenance(coder, code, totals[code], count, origin, details.get("segments"),
                                       info[2] if info else "", row.agreement.kappa if row else None,
                                       check.coder if check is not None else "",
                                       check.segments if check is not None else None,
                                       accepted.get((origin, code), 0), reviewed.get((origin, code), 0)))
    return Provenance(tuple(coders), tuple(rows))
