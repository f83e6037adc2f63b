"""Shared pieces of the benchmark scripts (timing, pass-through models)."""

import statistics
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class PassThroughProba(ClassifierMixin, BaseEstimator):
    """A 'fitted model' whose ``predict_proba`` is its input.

    Wrapped in ``FrozenEstimator``, it lets scikit-learn's
    ``CalibratedClassifierCV`` calibrate exactly the scores a skcalib
    calibrator receives, so only the calibration itself is timed.
    """

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return X

    def predict(self, X):
        return self.classes_[np.argmax(X, axis=1)]


class PassThroughLogits(PassThroughProba):
    """A 'fitted model' whose ``decision_function`` is its input (logits)."""

    def decision_function(self, X):
        return X


def median_time(func, repeats):
    """Median wall time of ``repeats`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
