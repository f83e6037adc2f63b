"""Shared data for the parity tests against scikit-learn's CalibratedClassifierCV."""

import pytest
from sklearn.datasets import make_classification

# FrozenEstimator.fit takes no sample_weight: sklearn warns that the weights
# only reach the calibrator, which is exactly the comparison we want.
FROZEN_WEIGHTS = pytest.mark.filterwarnings(
    "ignore:Since FrozenEstimator does not appear to accept sample_weight"
)


def fitted_classifier(estimator, n_classes, random_state=0):
    """Fit ``estimator`` on 1000 rows; return it, calibration and test data."""
    X, y = make_classification(
        n_samples=3000,
        n_features=10,
        n_informative=6,
        n_classes=n_classes,
        random_state=random_state,
    )
    clf = estimator.fit(X[:1000], y[:1000])
    return clf, X[1000:2000], y[1000:2000], X[2000:]
