"""Conformal prediction: prediction sets and intervals with guaranteed coverage.

Conformal predictors wrap any scikit-learn model; one ``fit`` trains it and
calibrates its conformity scores, and ``confidence_level`` is read when
predicting. Conformity scores live in :mod:`skcalib.conformal.scores`.
"""

from ._classification import CrossConformalClassifier, SplitConformalClassifier
from ._cross_regression import CrossConformalRegressor
from ._multilabel import LabelPowersetConformalClassifier
from ._quantile_regression import ConformalizedQuantileRegressor
from ._regression import SplitConformalRegressor
from ._selective import SelectiveConformalClassifier, bidirectional_preference_entropy

__all__ = [
    "ConformalizedQuantileRegressor",
    "CrossConformalClassifier",
    "CrossConformalRegressor",
    "LabelPowersetConformalClassifier",
    "SelectiveConformalClassifier",
    "SplitConformalClassifier",
    "SplitConformalRegressor",
    "bidirectional_preference_entropy",
]
