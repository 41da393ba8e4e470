"""Code suggestions learned from a project's own human codings (``qda suggest``).

A supervised model per code (TF-IDF over the lemmas stored at import, class-weighted
logistic regression, scikit-learn, all local), evaluated by document-grouped
cross-validation, whose suggestions are stored as the codings of a machine coder
(``model:3f9c2a``, status ``suggested``) that counts only when named, and that a blind
human sample must validate before its codings can be accepted in bulk (the gate).

The names below are imported when first used: ``qda suggest run`` from the score cache
imports :mod:`qda.suggest.hits` only, never scipy or scikit-learn (0.2 s of CPU).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qda.suggest.hits import machine_coder, model_info
    from qda.suggest.learn import DEFAULTS, Model
    from qda.suggest.provenance import Provenance
    from qda.suggest.results import (
        AcceptReport,
        Explanation,
        LearningCurve,
        RunReport,
        SampleReport,
        TrainReport,
        ValidationReport,
    )
    from qda.suggest.suggester import CURVE_SIZES, curve, explain, load_model, plan_run, train

#: Each public name and the module that defines it.
_HOME = {"DEFAULTS": "learn", "Model": "learn", "machine_coder": "hits", "model_info": "hits",
         "Provenance": "provenance", "CURVE_SIZES": "suggester", "curve": "suggester", "explain": "suggester",
         "load_model": "suggester", "plan_run": "suggester", "train": "suggester",
         **{name: "results" for name in ("AcceptReport", "Explanation", "LearningCurve", "RunReport", "SampleReport",
                                         "TrainReport", "ValidationReport")}}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'qda.suggest' has no attribute '{name}'")
    return getattr(importlib.import_module(f"qda.suggest.{_HOME[name]}"), name)


__all__ = ["CURVE_SIZES", "DEFAULTS", "AcceptReport", "Explanation", "LearningCurve", "Model", "Provenance",
           "RunReport", "SampleReport", "TrainReport", "ValidationReport", "curve", "explain", "load_model",
           "machine_coder", "model_info", "plan_run", "train"]
