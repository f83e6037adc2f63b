"""Shared helpers of the conformal tests."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from skcalib.utils._array_api import get_namespace


class PassThroughProba(ClassifierMixin, BaseEstimator):
    """A 'fitted model' whose ``predict_proba`` is its input (any namespace)."""

    def fit(self, X, y):
        self.classes_ = np.unique(np.asarray(y))
        return self

    def predict_proba(self, X):
        return X

    def predict(self, X):
        xp = get_namespace(X)
        return self.classes_[np.asarray(xp.argmax(X, axis=1))]


@pytest.fixture
def passthrough():
    return PassThroughProba
