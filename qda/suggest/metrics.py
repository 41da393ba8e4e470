"""Agreement of predictions with a human coder on one code: Cohen's kappa from qda's agreement
code, precision, recall and F1, each with a percentile bootstrap interval over segments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qda.agreement.coefficients import compute


@dataclass(frozen=True)
class Metric:
    """A value with its 95 % bootstrap interval (None when undefined on the data)."""

    value: float | None
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class BinaryAgreement:
    """Human (truth) against machine (predicted) on one code, segment by segment."""

    units: int
    human_positives: int
    machine_positives: int
    both: int
    kappa: Metric
    precision: Metric
    recall: Metric
    f1: Metric


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _metric(point: float, draws: np.ndarray) -> Metric:
    if not np.isfinite(point):
        return Metric(None)
    ok = draws[np.isfinite(draws)]
    if not len(ok):
        return Metric(float(point))
    low, high = np.quantile(ok, [0.025, 0.975])
    return Metric(float(point), float(low), float(high))


def binary_agreement(truth: np.ndarray, predicted: np.ndarray, *, bootstrap: int = 1000,
                     seed: int = 12345) -> BinaryAgreement:
    """Kappa (qda.agreement.coefficients.compute, the code behind ``qda agree``) and precision,
    recall, F1 (the human as reference) with percentile intervals from ``bootstrap`` resamples
    of the segments."""
    t = np.asarray(truth, dtype=bool)
    p = np.asarray(predicted, dtype=bool)
    n = len(t)
    tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())
    tn = n - tp - fp - fn
    if n:
        estimate = compute(np.column_stack([t, p]).astype(np.int64), n_categories=2, bootstrap=bootstrap,
                           seed=seed)["cohen_kappa"]
        kappa = Metric(estimate.value, estimate.ci_low, estimate.ci_high)
    else:
        kappa = Metric(None)
    cells = np.array([tp, fp, fn, tn], dtype=np.float64)
    if n and bootstrap:
        draws = np.random.default_rng(seed).multinomial(n, cells / n, size=bootstrap).astype(np.float64)
    else:
        draws = np.zeros((0, 4))
    btp, bfp, bfn = draws[:, 0], draws[:, 1], draws[:, 2]
    precision = _metric(float(_ratio(np.array(tp), np.array(tp + fp))), _ratio(btp, btp + bfp))
    recall = _metric(float(_ratio(np.array(tp), np.array(tp + fn))), _ratio(btp, btp + bfn))
    f1 = _metric(float(_ratio(np.array(2 * tp), np.array(2 * tp + fp + fn))), _ratio(2 * btp, 2 * btp + bfp + bfn))
    return BinaryAgreement(n, tp + fn, tp + fp, tp, kappa, precision, recall, f1)
