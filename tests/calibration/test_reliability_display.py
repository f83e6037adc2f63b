"""Calibrators plug into ReliabilityDisplay.from_estimator."""

import matplotlib
import numpy as np
import pytest

from skcalib.calibration import (
    BetaCalibration,
    CalibratedClassifierCV,
    DirichletCalibration,
    HistogramBinning,
    PlattScaling,
    TemperatureScaling,
    VennAbersCalibrator,
)
from skcalib.datasets import make_classification_logits
from skcalib.metrics import ReliabilityDisplay, reliability_curve
from skcalib.utils._array_api import softmax

matplotlib.use("Agg")


@pytest.mark.parametrize(
    "calibrator",
    [
        TemperatureScaling(),
        PlattScaling(),
        DirichletCalibration(),
        BetaCalibration(),
        HistogramBinning(n_bins=10),
        VennAbersCalibrator(),
    ],
    ids=lambda c: type(c).__name__,
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_from_estimator_plots_the_calibrated_probabilities(calibrator, n_classes):
    import matplotlib.pyplot as plt

    logits, y = make_classification_logits(
        1500, n_classes, temperature=2.5, random_state=0
    )
    if n_classes == 2 and isinstance(calibrator, BetaCalibration):
        pytest.skip("BetaCalibration is binary on the positive-class probability")
    X = (
        softmax(logits)
        if type(calibrator)._skcalib_input_kind == "probabilities"
        else logits
    )
    calibrator.fit(X[:1000], y[:1000])
    display = ReliabilityDisplay.from_estimator(
        calibrator, X[1000:], y[1000:], n_bins=8, name="calibrated"
    )
    # The plotted curve is the curve of the calibrator's probabilities.
    proba = calibrator.predict_proba(X[1000:])
    expected = reliability_curve(
        y[1000:], proba[:, 1] if n_classes == 2 else proba, n_bins=8
    )
    np.testing.assert_allclose(display.prob_pred, expected[1])
    np.testing.assert_allclose(display.prob_true, expected[0])
    assert display.ax_.get_legend_handles_labels()[1]
    plt.close("all")


def test_from_estimator_with_calibrated_classifier_cv():
    import matplotlib.pyplot as plt
    from sklearn.datasets import make_classification
    from sklearn.naive_bayes import GaussianNB

    X, y = make_classification(600, n_classes=3, n_informative=4, random_state=0)
    clf = CalibratedClassifierCV(GaussianNB(), method="temperature", cv=3).fit(
        X[:400], y[:400]
    )
    display = ReliabilityDisplay.from_estimator(clf, X[400:], y[400:], n_bins=6)
    expected = reliability_curve(y[400:], clf.predict_proba(X[400:]), n_bins=6)
    np.testing.assert_allclose(display.prob_pred, expected[1])
    plt.close("all")
