"""Shared pieces of the benchmark scripts (timing, memory, pass-through models)."""

import statistics
import time
import tracemalloc

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

MIB = 2**20


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


# Peak memory costs one more, traced call per side; the timed tests of CI
# (tests/test_benchmarks.py) switch it off to keep that step short.
TRACE_MEMORY = True


def peak_memory(func):
    """Peak traced memory of one call, in MiB, and its result.

    :mod:`tracemalloc` sees Python objects and every NumPy data buffer (NumPy
    registers its allocations with it), not memory that compiled libraries
    allocate on their own (BLAS work space, torch, CuPy). With
    ``TRACE_MEMORY`` off, ``func`` is not called: ``(nan, None)``.
    """
    if not TRACE_MEMORY:
        return float("nan"), None
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = func()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak / MIB, result


def measure(func, repeats):
    """``(median seconds, peak MiB, result)`` of ``func``.

    The peak is taken on one untimed call (tracing slows Python code), which
    also warms up caches and imports before the timed ``repeats``.
    """
    peak, _ = peak_memory(func)
    seconds, result = median_time(func, repeats)
    return seconds, peak, result
