"""Every OOD detector gives the NumPy results on every array-API namespace."""

import numpy as np
import pytest
from sklearn import config_context

from skcalib.datasets import make_classification_logits
from skcalib.ood import (
    EnergyDetector,
    EntropyDetector,
    GENDetector,
    MaxLogitDetector,
    MSPDetector,
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


def _logit_data():
    X_in, _ = make_classification_logits(300, 5, temperature=2.0, random_state=0)
    X_out, _ = make_classification_logits(
        40, 5, temperature=2.0, class_sep=0.0, random_state=1
    )
    return X_in[:200], np.concatenate([X_in[200:], X_out])


def _outputs(detector):
    def run(X_fit, X_test):
        fitted = detector.fit(X_fit)
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


@pytest.mark.parametrize("detector", LOGIT_DETECTORS, ids=repr)
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
