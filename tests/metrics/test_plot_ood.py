"""OODScoreDisplay: histograms, ROC curve and the FPR@TPR point."""

import matplotlib
import numpy as np
import pytest
from sklearn.metrics import roc_curve

from skcalib.datasets import make_ood_features
from skcalib.metrics import OODScoreDisplay, fpr_at_tpr, ood_auroc
from skcalib.ood import MahalanobisDetector

matplotlib.use("Agg")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y_score = np.r_[rng.normal(2, 1, 300), rng.normal(0, 1, 100)]
    y_true = np.r_[np.ones(300, dtype=int), -np.ones(100, dtype=int)]
    return y_true, y_score


def test_from_predictions_matches_the_metrics(data):
    import matplotlib.pyplot as plt

    y_true, y_score = data
    display = OODScoreDisplay.from_predictions(y_true, y_score, tpr=0.9, name="d")
    assert display.auroc == pytest.approx(ood_auroc(y_true, y_score))
    assert display.fpr_at_target == fpr_at_tpr(y_true, y_score, tpr=0.9)
    fpr, tpr, _ = roc_curve(y_true == 1, y_score, drop_intermediate=False)
    assert display.fpr[-1] == 1 and display.tpr[-1] == 1
    # Every point of scikit-learn's curve lies on ours.
    ours = set(zip(display.fpr.round(12), display.tpr.round(12), strict=True))
    assert set(zip(fpr.round(12), tpr.round(12), strict=True)) <= ours
    # The threshold accepts 90% of the in-distribution scores.
    assert np.mean(display.scores_in >= display.threshold) >= 0.9
    assert np.mean(display.scores_out >= display.threshold) == pytest.approx(
        display.fpr_at_target
    )
    np.testing.assert_array_equal(display.scores_in, y_score[:300])
    assert display.ax_.shape == (2,)
    assert display.point_.get_xdata()[0] == display.fpr_at_target
    assert "d (AUROC" in display.roc_line_.get_label()
    plt.close("all")


def test_from_estimator_and_given_axes():
    import matplotlib.pyplot as plt

    X, y = make_ood_features(600, 100, n_features=4, random_state=0)
    detector = MahalanobisDetector(random_state=0).fit(X[y != -1])
    fig, axes = plt.subplots(1, 2)
    display = OODScoreDisplay.from_estimator(detector, X, y != -1, ax=axes)
    assert display.figure_ is fig
    assert "MahalanobisDetector" in display.roc_line_.get_label()
    assert display.auroc == pytest.approx(ood_auroc(y != -1, detector.score_samples(X)))
    plt.close("all")


def test_errors(data):
    import matplotlib.pyplot as plt

    y_true, y_score = data
    with pytest.raises(ValueError, match="tpr must be a float"):
        OODScoreDisplay.from_predictions(y_true, y_score, tpr=0)
    with pytest.raises(ValueError, match="score_samples"):
        OODScoreDisplay.from_estimator(object(), y_score[:, None], y_true)
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="two matplotlib Axes"):
        OODScoreDisplay.from_predictions(y_true, y_score, ax=ax)
    with pytest.raises(ValueError, match="both in-distribution and OOD"):
        OODScoreDisplay.from_predictions(np.ones(10), np.arange(10.0))
    plt.close("all")
