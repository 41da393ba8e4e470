"""The gate: a blind human sample validates a model before its suggestions can be accepted in bulk.

1. :func:`draw_sample` draws segments the model never trained on, stratified by score for each
   code (suggested, just under the threshold, the rest), so that every code has positives
   and borderline cases in the sample. A human codes them blind (a coding sheet without the
   model's codes, or the workspace).
2. :func:`validate` compares the model with that human on the sample, per code: Cohen's kappa
   with a bootstrap interval, precision, recall, F1.
3. :func:`plan_accept` turns a code's suggestions into the reviewer's codings only when the
   lower 95 % bound of that code's kappa reaches the threshold; otherwise it refuses and says why.

:func:`planned_size` is the sample-size planning the docs explain; :func:`bias_check` asks
whether the model errs more often in one group of cases than another.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qda.errors import NotFoundError, SuggestError
from qda.models import Case, Coding, CodingStatus, WritePlan
from qda.results import Column, Note, Row, TableView, json_dict
from qda.storage import ProjectReads, ProjectStorage
from qda.suggest.corpus import Corpus, segment_labels
from qda.suggest.learn import Model
from qda.suggest.metrics import binary_agreement
from qda.suggest.results import AcceptReport, CodeValidation, ValidationReport
from qda.suggest.suggester import corpus_of, model_scores

#: How one code's share of the sample is split over its score strata.
STRATA = (("suggested", 0.5), ("near threshold", 0.25), ("rest", 0.25))
DEFAULT_MIN_KAPPA = 0.6


def kappa_variance(kappa: float, prevalence: float) -> float:
    """N x the large-sample variance of kappa for two raters and one binary code (Bloch & Kraemer
    1989, the intraclass kappa): ``(1-k)[(1-k)(1-2k) + k(2-k) / (2p(1-p))]``."""
    k, p = kappa, prevalence
    return (1 - k) * ((1 - k) * (1 - 2 * k) + k * (2 - k) / (2 * p * (1 - p)))


def planned_size(*, kappa: float = 0.75, prevalence: float = 0.3, half_width: float = 0.1, z: float = 1.96) -> int:
    """Segments needed for a 95 % interval of kappa about ``half_width`` either side of the
    value, when kappa is about ``kappa`` and the code marks a ``prevalence`` share of the sample."""
    if not (0 < prevalence < 1 and half_width > 0):
        raise SuggestError("prevalence must be between 0 and 1 and the half-width positive")
    return math.ceil(z * z * kappa_variance(kappa, prevalence) / (half_width * half_width))


def planning_note(size: int, codes: int) -> str:
    """What a sample of ``size`` buys, in words (the docs explain the formula)."""
    examples = ", ".join(f"±{w} needs {planned_size(kappa=0.75, prevalence=p, half_width=w)} at prevalence {p}"
                         for w, p in ((0.1, 0.3), (0.15, 0.3), (0.1, 0.1)))
    return (f"{size} segments over {codes} codes. Planning (kappa about 0.75, Bloch & Kraemer 1989): "
            f"a 95 % interval of {examples}. Stratifying by score raises each code's prevalence in the sample, "
            "which narrows its interval; kappa is then measured on the sample, not on the whole project.")


def draw_sample(corpus: Corpus, model: Model, candidates: np.ndarray, *, size: int, seed: int,
                codes: Sequence[str] | None = None) -> list[tuple[int, str]]:
    """(corpus position, stratum) of ``size`` segments among ``candidates``, stratified per code by score."""
    wanted = list(codes) if codes else list(model.codes)
    if size < 1:
        raise SuggestError("the sample needs at least one segment (--size)")
    if not len(candidates):
        raise SuggestError("no segment to sample: every document was used to train the model "
                           "(validate on documents the training coder did not code)")
    rng = np.random.default_rng(seed)
    scores = scores_at(model, corpus, candidates, codes=wanted)
    taken: dict[int, str] = {}
    shares = [size // len(wanted) + (1 if k < size % len(wanted) else 0) for k in range(len(wanted))]
    for j, code in enumerate(wanted):
        threshold = float(model.threshold[model.codes.index(code)])
        s = scores[:, j]
        pools = {"suggested": np.flatnonzero(s >= threshold),
                 "near threshold": np.flatnonzero((s < threshold) & (s >= threshold / 2)),
                 "rest": np.flatnonzero(s < threshold / 2)}
        left = shares[j]
        for k, (name, share) in enumerate(STRATA):
            quota = left if k == len(STRATA) - 1 else min(left, round(shares[j] * share))
            pool = np.array([i for i in rng.permutation(pools[name]).tolist() if int(candidates[i]) not in taken],
                            dtype=np.int64)
            for i in pool[:quota].tolist():
                taken[int(candidates[i])] = f"{code}: {name}"
            left -= min(quota, len(pool))
    if len(taken) < min(size, len(candidates)):  # strata ran short: fill with random candidates
        rest = [int(i) for i in rng.permutation(candidates).tolist() if int(i) not in taken]
        for i in rest[:min(size, len(candidates)) - len(taken)]:
            taken[i] = "fill"
    return sorted(taken.items())


def sample_of(store: ProjectReads, model: Model, sample: int | None) -> tuple[int, str, list[dict[str, str]]]:
    """(id, coder, [{ref, stratum}]) of a stored sample of ``model`` (the latest when None)."""
    samples = store.suggest_samples(model.id)
    if sample is not None:
        samples = [s for s in samples if s[0] == sample]
    if not samples:
        raise NotFoundError(f"no validation sample{f' {sample}' if sample is not None else ''} for "
                            f"{model.machine_coder}: draw one with `qda suggest sample --size N --coder NAME`")
    ident, _model, coder, _created, segments = samples[-1]
    return ident, coder, json.loads(segments)


def scores_at(model: Model, corpus: Corpus, positions: np.ndarray, *, codes: Sequence[str]) -> np.ndarray:
    """The model's scores (segments x ``codes``) of the corpus ``positions``
    (:func:`qda.suggest.suggester.model_scores`: from the corpus' kept term counts)."""
    return model_scores(model, corpus, positions, codes=codes)


def validate(store: ProjectStorage, model: Model, *, sample: int | None = None, coder: str | None = None,
             min_kappa: float = DEFAULT_MIN_KAPPA, bootstrap: int = 1000, seed: int = 12345,
             corpus: Corpus | None = None) -> tuple[ValidationReport, dict[str, Any]]:
    """The model against the human's blind coding of the sample, per code (and the data behind it)."""
    ident, sample_coder, items = sample_of(store, model, sample)
    human = coder or sample_coder
    if human not in store.coders():
        raise SuggestError(f"'{human}' has not coded the sample {ident} yet: code its segments blind "
                           f"(its sheet, or the workspace) as '{human}', then validate")
    corpus = corpus or corpus_of(store, english_terms=model.english_terms)
    where = corpus.position()
    positions = np.array([where[item["ref"]] for item in items if item["ref"] in where], dtype=np.int64)
    if not len(positions):
        raise SuggestError(f"the segments of sample {ident} are gone (transcripts re-imported)")
    labels = segment_labels(store, corpus, human, codes=model.codes)
    coded = labels.known[positions]
    if not coded.any():
        raise SuggestError(f"'{human}' has no codings on the segments of sample {ident} yet: code them, then validate")
    positions = positions[coded]
    scores = scores_at(model, corpus, positions, codes=model.codes)
    rows, data = [], {}
    for j, code in enumerate(model.codes):
        truth = labels.positive.get(code, np.zeros(len(corpus), dtype=bool))[positions]
        predicted = scores[:, j] >= model.threshold[j]
        agreement = binary_agreement(truth, predicted, bootstrap=bootstrap, seed=seed)
        low = agreement.kappa.low
        rows.append(CodeValidation(code, agreement, low is not None and low >= min_kappa))
        data[code] = (truth, predicted)
    report = ValidationReport(model.id, model.machine_coder, human, ident, len(positions), min_kappa, tuple(rows))
    return report, {"positions": positions, "pairs": data, "corpus": corpus}


def plan_accept(store: ProjectReads, model: Model, code: str, *, reviewer: str, validation: ValidationReport,
                above: float | None = None) -> tuple[WritePlan, AcceptReport]:
    """The model's stored suggestions of ``code`` (score >= ``above``) as codings of ``reviewer``,
    with the model id as origin; refused unless the code passed the gate."""
    found = next((c for c in validation.codes if c.code == code), None)
    if found is None:
        raise SuggestError(f"the model has no classifier for '{code}' (trained: {', '.join(model.codes)})")
    kappa = found.agreement.kappa
    if not found.passes:
        shown = "undefined" if kappa.value is None else (
            f"{kappa.value:.3f} [{kappa.low:.3f}, {kappa.high:.3f}]" if kappa.low is not None else f"{kappa.value:.3f}")
        raise SuggestError(
            f"bulk accept refused for '{code}': its kappa against {validation.coder} on sample {validation.sample} is "
            f"{shown}, and the lower 95 % bound must be at least {validation.min_kappa}; review its suggestions one "
            "by one, or code a larger sample")
    suggestions = [c for c in store.codings(coder=model.machine_coder) if c.code == code
                   and c.status == CodingStatus.SUGGESTED and (above is None or (c.score or 0) >= above)]
    mine = {c.segment for c in store.codings(coder=reviewer) if c.code == code} if reviewer in store.coders() else set()
    fresh = [Coding(reviewer, code, c.document, c.case, c.start, c.end, c.segment, source="suggest",
                    note=c.note, status=str(CodingStatus.OK), score=c.score, origin=c.origin)
             for c in suggestions if c.segment not in mine]
    plan = WritePlan(coders=(reviewer,), codings=tuple(fresh))
    return plan, AcceptReport(model.id, code, reviewer, above, kappa.low, len(fresh), len(suggestions) - len(fresh))


# ----------------------------------------------------------------------------- fairness

@dataclass(frozen=True)
class BiasTest:
    code: str
    group: str  # the attribute value compared with the other cases
    errors_in: int
    n_in: int
    errors_out: int
    n_out: int
    p: float | None
    p_holm: float | None


@dataclass(frozen=True)
class BiasCheck:
    """Does the model's error rate against the validation sample differ across a case attribute?
    Fisher's exact test per code (each value against the other cases), Holm-corrected over all tests."""

    model: str
    attribute: str
    tests: tuple[BiasTest, ...]
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([json_dict(t) for t in self.tests])

    def to_table(self) -> TableView:
        columns = (Column("code"), Column(self.attribute), Column("errors here", True),
                   Column("errors elsewhere", True), Column("p", True), Column("p (Holm)", True))
        rows = tuple(Row((t.code, t.group, f"{t.errors_in}/{t.n_in}", f"{t.errors_out}/{t.n_out}", t.p, t.p_holm))
                     for t in self.tests)
        flagged = [f"{t.code} ({t.group})" for t in self.tests if t.p_holm is not None and t.p_holm < self.alpha]
        return TableView(f"bias check: errors of the model by {self.attribute}", columns, rows, notes=(
            Note("error: the model and the human disagree on the segment for that code; Fisher's exact test, "
                 "two-sided, Holm-corrected over every row"),
            Note(f"error rates differ (Holm p < {self.alpha}): {', '.join(flagged)}" if flagged
                 else f"no difference at Holm p < {self.alpha} (a small sample detects only large ones)",
                 "warning" if flagged else "aside")))


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None)."""
    present = [(p, i) for i, p in enumerate(pvalues) if p is not None]
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    m = len(present)
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def bias_check(model: Model, corpus: Corpus, positions: np.ndarray,
               *, pairs: Mapping[str, tuple[np.ndarray, np.ndarray]], cases: Sequence[Case], attribute: str,
               alpha: float = 0.05) -> BiasCheck:
    """Per code and attribute value: the model's errors on the sample's segments of those cases
    against its errors elsewhere (Fisher's exact test), Holm-corrected."""
    from scipy.stats import fisher_exact

    values = {c.name: c.attributes.get(attribute) for c in cases}
    if not any(v for v in values.values()):
        known = sorted({k for c in cases for k in c.attributes})
        raise NotFoundError(f"no case has the attribute '{attribute}' (attributes: {', '.join(known) or 'none'})")
    group = np.array([values.get(corpus.cases[int(corpus.document[i])]) or "" for i in positions.tolist()])
    raw: list[tuple[str, str, int, int, int, int, float | None]] = []
    for code, (truth, predicted) in pairs.items():
        wrong = truth != predicted
        for value in sorted(set(group.tolist()) - {""}):
            here = group == value
            there = (group != value) & (group != "")
            a, n_a, b, n_b = int(wrong[here].sum()), int(here.sum()), int(wrong[there].sum()), int(there.sum())
            p = float(fisher_exact([[a, n_a - a], [b, n_b - b]])[1]) if n_a and n_b else None
            raw.append((code, value, a, n_a, b, n_b, p))
            if len(set(group.tolist()) - {""}) == 2:
                break  # two groups: one test says it all
    adjusted = holm([r[6] for r in raw])
    return BiasCheck(model.id, attribute, tuple(BiasTest(*r, adjusted[k]) for k, r in enumerate(raw)), alpha)
