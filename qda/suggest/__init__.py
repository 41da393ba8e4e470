"""Code suggestions learned from a project's own human codings (``qda suggest``).

A supervised model per code (TF-IDF over the lemmas stored at import, class-weighted
logistic regression, scikit-learn, all local), evaluated by document-grouped
cross-validation, whose suggestions are stored as the codings of a machine coder
(``model:3f9c2a``, status ``suggested``) that counts only when named, and that a blind
human sample must validate before its codings can be accepted in bulk (the gate).
"""

from qda.suggest.learn import DEFAULTS, Model, machine_coder
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
from qda.suggest.suggester import CURVE_SIZES, curve, explain, load_model, model_info, plan_run, train

__all__ = ["CURVE_SIZES", "DEFAULTS", "AcceptReport", "Explanation", "LearningCurve", "Model", "Provenance",
           "RunReport", "SampleReport", "TrainReport", "ValidationReport", "curve", "explain", "load_model",
           "machine_coder", "model_info", "plan_run", "train"]
