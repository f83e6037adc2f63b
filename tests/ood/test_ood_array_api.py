"""Every OOD detector gives the NumPy results on every array-API namespace."""

import numpy as np
import pytest
from sklearn import config_context

from skcalib.datasets import make_classification_logits, make_ood_features
from skcalib.ood import (
    EnergyDetector,
    EntropyDetector,
    GENDetector,
    KNNDetector,
    LearnedTemperatureEnergyDetector,
    MahalanobisDetector,
    MaxLogitDetector,
    MSPDetector,
    RelativeMahalanobisDetector,
    ViMDetector,
)
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

LOGIT_DETECTORS = [
    MSPDetector(temperature=2.0),
    MaxLogitDetector(),
    EnergyDetector(temperature=0.5),
    EntropyDetector(),
    GENDetector(n_top=3),
    EnergyDetector(contamination=0.1),
]


FEATURE_DETECTORS = [
    MahalanobisDetector(random_state=0),
    MahalanobisDetector(shrinkage="auto", random_state=0),
    MahalanobisDetector(contamination=0.1, random_state=0),
    RelativeMahalanobisDetector(shrinkage=0.1, random_state=0),
    KNNDetector(n_neighbors=5, batch_size=17, random_state=0),
    ViMDetector(n_components=2, random_state=0),
    ViMDetector(
        coef=np.random.default_rng(0).normal(size=(3, 6)),
        intercept=np.array([3.0, 4.0, 5.0]),
        random_state=0,
    ),
    LearnedTemperatureEnergyDetector(random_state=0),
    LearnedTemperatureEnergyDetector(
        coef=np.random.default_rng(1).normal(size=(3, 6)), alpha=0.1, random_state=0
    ),
]


def _tolerance(combination):
    """Distances of order 10 agree to ~1e-5 in float32 (matrix products)."""
    return {"atol": 1e-3} if combination[2] == "float32" else {}


def _feature_data():
    X, y = make_ood_features(
        300, 40, n_features=6, n_classes=3, shift="near", random_state=0
    )
    A = np.random.default_rng(0).normal(size=(6, 6))
    X = X @ A
    return X[:200], y[:200], X[200:]


def _logit_data():
    X_in, _ = make_classification_logits(300, 5, temperature=2.0, random_state=0)
    X_out, _ = make_classification_logits(
        40, 5, temperature=2.0, class_sep=0.0, random_state=1
    )
    return X_in[:200], np.concatenate([X_in[200:], X_out])


def _outputs(detector):
    def run(X_fit, X_test, y_fit=None):
        fitted = detector.fit(X_fit, y_fit)
        return {
            "score_samples": fitted.score_samples(X_test),
            "decision_function": fitted.decision_function(X_test),
            "predict": fitted.predict(X_test),
            "score_pvalues": fitted.score_pvalues(X_test),
            "predict_fdr": fitted.predict_fdr(X_test, fdr=0.2),
            "offset_": fitted.offset_,
            "calibration_scores_": fitted.calibration_scores_,
        }

    return run


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("detector", LOGIT_DETECTORS, ids=repr)
def test_logit_detectors_same_on_namespace(detector, combination):
    X_fit, X_test = _logit_data()
    assert_same_on_namespace(
        _outputs(detector), [X_fit, X_test], combination=combination
    )


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("detector", FEATURE_DETECTORS, ids=repr)
def test_feature_detectors_same_on_namespace(detector, combination):
    X_fit, y_fit, X_test = _feature_data()
    assert_same_on_namespace(
        _outputs(detector),
        [X_fit, X_test, y_fit],
        combination=combination,
        **_tolerance(combination),
    )


@pytest.mark.parametrize("combination", array_api_combinations())
def test_mahalanobis_partial_fit_same_on_namespace(combination):
    X_fit, y_fit, X_test = _feature_data()

    def run(X_fit, y_fit, X_test):
        detector = MahalanobisDetector(random_state=0)
        detector.fit(X_fit[:120, ...], y_fit[:120] % 2)
        detector.partial_fit(X_fit[120:, ...], y_fit[120:])
        return {
            "means_": detector.means_,
            "class_count_": detector.class_count_,
            "score_samples": detector.score_samples(X_test),
            "offset_": detector.offset_,
        }

    assert_same_on_namespace(
        run, [X_fit, y_fit, X_test], combination=combination, **_tolerance(combination)
    )


@pytest.mark.parametrize("detector", LOGIT_DETECTORS + FEATURE_DETECTORS, ids=repr)
def test_array_api_support_tag(detector):
    assert detector.__sklearn_tags__().array_api_support


def test_mixing_namespaces_is_a_clear_error():
    xp = pytest.importorskip("array_api_strict")
    X_fit, X_test = _logit_data()
    with config_context(array_api_dispatch=True):
        detector = EnergyDetector().fit(xp.asarray(X_fit))
        with pytest.raises(ValueError, match=r"EnergyDetector.predict\(\) must use"):
            detector.predict(X_test)
        with pytest.raises(ValueError, match="same device"):
            detector.score_samples(xp.asarray(X_test, device=xp.Device("device1")))
