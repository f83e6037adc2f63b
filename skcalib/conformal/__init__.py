"""Conformal prediction: prediction sets and intervals with guaranteed coverage.

Conformal predictors wrap any scikit-learn model; one ``fit`` trains it and
calibrates its conformity scores, and ``confidence_level`` is read when
predicting. Conformity scores live in :mod:`skcalib.conformal.scores`.
"""

from ._classification import CrossConformalClassifier, SplitConformalClassifier
from ._regression import SplitConformalRegressor

__all__ = [
    "CrossConformalClassifier",
    "SplitConformalClassifier",
    "SplitConformalRegressor",
]
