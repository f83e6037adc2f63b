"""skcalib's own estimator checks must pass good estimators and catch bad ones."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from skcalib.base import (
    CalibratorMixin,
    ConformalClassifierMixin,
    ConformalRegressorMixin,
    OODDetectorMixin,
    get_skcalib_tags,
)
from skcalib.utils._array_api import conformal_quantile, softmax
from skcalib.utils.estimator_checks import (
    check_conformal_coverage,
    check_conformal_nested_sets,
    check_deterministic_given_random_state,
    check_inputs_not_modified,
    check_ood_score_direction,
    check_predict_proba_simplex,
    check_skcalib_estimator,
    yield_skcalib_checks,
)


class SoftmaxCalibrator(CalibratorMixin, BaseEstimator):
    """Identity calibrator on logits: probabilities are softmax(X)."""

    def __init__(self, normalise=True):
        self.normalise = normalise

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        p = softmax(np.asarray(X, dtype=float))
        return p if self.normalise else p * 0.9

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class LACConformal(ConformalClassifierMixin, BaseEstimator):
    """Minimal split conformal classifier; ``shift`` lowers the level (a bug)."""

    def __init__(self, confidence_level=0.9, shift=0.0, nested=True):
        self.confidence_level = confidence_level
        self.shift = shift
        self.nested = nested

    def fit(self, X, y):
        half = X.shape[0] // 2
        self.classes_ = np.unique(y)
        self.model_ = LogisticRegression().fit(X[:half], y[:half])
        proba = self.model_.predict_proba(X[half:])
        col = np.searchsorted(self.classes_, y[half:])
        self.scores_ = 1 - proba[np.arange(len(col)), col]
        return self

    def predict_set(self, X):
        level = self.confidence_level - self.shift
        if not self.nested:
            level = 1.5 - level  # higher requested level -> smaller sets
        q = conformal_quantile(self.scores_, min(max(level, 0.01), 0.99))
        return 1 - self.model_.predict_proba(X) <= q

    def predict(self, X):
        return self.model_.predict(X)


class IntervalConformal(ConformalRegressorMixin, BaseEstimator):
    def __init__(self, confidence_level=0.9):
        self.confidence_level = confidence_level

    def fit(self, X, y):
        from sklearn.linear_model import LinearRegression

        half = X.shape[0] // 2
        self.model_ = LinearRegression().fit(X[:half], y[:half])
        self.scores_ = np.abs(y[half:] - self.model_.predict(X[half:]))
        return self

    def predict_interval(self, X):
        q = conformal_quantile(self.scores_, self.confidence_level)
        pred = self.model_.predict(X)
        return np.stack([pred - q, pred + q], axis=1)

    def predict(self, X):
        return self.model_.predict(X)


class DistanceOOD(OODDetectorMixin, BaseEstimator):
    def __init__(self, reverse=False):
        self.reverse = reverse

    def fit(self, X, y=None):
        self.mean_ = X.mean(axis=0)
        self.offset_ = np.quantile(self.score_samples(X), 0.05)
        return self

    def score_samples(self, X):
        d = np.linalg.norm(X - self.mean_, axis=1)
        return d if self.reverse else -d

    def decision_function(self, X):
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        return np.where(self.decision_function(X) >= 0, 1, -1)


class InPlaceCalibrator(SoftmaxCalibrator):
    def fit(self, X, y):
        X -= X.max(axis=1, keepdims=True)  # modifies the user's array
        return super().fit(X, y)


class NoisyCalibrator(SoftmaxCalibrator):
    def __init__(self, random_state=None):
        self.random_state = random_state

    def predict_proba(self, X):
        noise = np.random.default_rng().normal(scale=0.1, size=np.shape(X))
        return softmax(np.asarray(X) + noise)


def test_good_estimators_pass_all_checks():
    for est in [
        SoftmaxCalibrator(),
        LACConformal(),
        IntervalConformal(),
        DistanceOOD(),
        LogisticRegression(),
    ]:
        check_skcalib_estimator(est)


def test_checks_selected_by_family():
    assert check_predict_proba_simplex in list(
        yield_skcalib_checks(SoftmaxCalibrator())
    )
    assert check_conformal_coverage in list(yield_skcalib_checks(LACConformal()))
    assert check_ood_score_direction in list(yield_skcalib_checks(DistanceOOD()))
    assert check_ood_score_direction not in list(yield_skcalib_checks(LACConformal()))
    assert get_skcalib_tags(SoftmaxCalibrator()).input_kind == "logits"


@pytest.mark.parametrize(
    "check, estimator, match",
    [
        (check_predict_proba_simplex, SoftmaxCalibrator(normalise=False), "sum to one"),
        (check_conformal_coverage, LACConformal(shift=0.15), "covers"),
        (check_conformal_nested_sets, LACConformal(nested=False), "does not contain"),
        (check_ood_score_direction, DistanceOOD(reverse=True), "higher"),
        (check_inputs_not_modified, InPlaceCalibrator(), "modified X"),
        (check_deterministic_given_random_state, NoisyCalibrator(), "deterministic"),
    ],
)
def test_checks_catch_broken_estimators(check, estimator, match):
    with pytest.raises(AssertionError, match=match):
        check(type(estimator).__name__, estimator)
