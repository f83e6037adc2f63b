"""Conformity scores: how unusual a label (or a target value) looks for an input.

Scores are stateless: conformal predictors clone them in ``fit`` and store what
they learn from data. Classification scores take predicted probabilities;
every kernel runs on the array namespace and device of its inputs.
"""

from ._base import BaseConformityScore, resolve_conformity_score
from ._classification import (
    APSScore,
    BaseClassificationScore,
    LACScore,
    RAPSScore,
    TopKScore,
)
from ._regression import (
    AbsoluteResidualScore,
    BaseRegressionScore,
    CQRScore,
    GammaScore,
    NormalizedResidualScore,
)

__all__ = [
    "APSScore",
    "AbsoluteResidualScore",
    "BaseClassificationScore",
    "BaseConformityScore",
    "BaseRegressionScore",
    "CQRScore",
    "GammaScore",
    "LACScore",
    "NormalizedResidualScore",
    "RAPSScore",
    "TopKScore",
    "resolve_conformity_score",
]
