"""Out-of-distribution detectors: logit scores, feature-space distances, wrappers.

Every detector follows scikit-learn's outlier API: ``fit(X, y=None)`` on
in-distribution data, ``score_samples(X)`` (higher = more in-distribution),
``decision_function(X) = score_samples(X) - offset_`` and ``predict(X)`` in
{+1 (in-distribution), -1 (OOD)}, plus conformal p-values
(``score_pvalues``) and false-discovery-rate control (``predict_fdr``).
"""

from ._abet import LearnedTemperatureEnergyDetector
from ._knn import KNNDetector
from ._logits import (
    EnergyDetector,
    EntropyDetector,
    GENDetector,
    MaxLogitDetector,
    MSPDetector,
)
from ._mahalanobis import MahalanobisDetector, RelativeMahalanobisDetector
from ._vim import ViMDetector
from ._wrappers import ClassifierOODDetector, OODRejectClassifier

__all__ = [
    "ClassifierOODDetector",
    "EnergyDetector",
    "EntropyDetector",
    "GENDetector",
    "KNNDetector",
    "LearnedTemperatureEnergyDetector",
    "MSPDetector",
    "MahalanobisDetector",
    "MaxLogitDetector",
    "OODRejectClassifier",
    "RelativeMahalanobisDetector",
    "ViMDetector",
]
