"""CoverageDisplay: values equal the conformal metrics; drawing and errors."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from skcalib.conformal import SplitConformalClassifier
from skcalib.metrics import (
    CoverageDisplay,
    classwise_coverage,
    coverage_score,
    mean_set_size,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def fitted():
    X, y = make_classification(
        900, 6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    labels = np.array(["a", "b", "c"])[y]
    clf = SplitConformalClassifier(LinearDiscriminantAnalysis(), random_state=0)
    return clf.fit(X[:600], labels[:600]), X[600:], labels[600:]


def test_by_level_matches_the_metrics(fitted):
    clf, X, y = fitted
    levels = [0.6, 0.8, 0.95]
    display = CoverageDisplay.from_estimator(clf, X, y, confidence_level=levels)
    sets = clf.set_params(confidence_level=levels).predict_set(X)
    np.testing.assert_allclose(
        display.coverage, coverage_score(y, sets, labels=clf.classes_)
    )
    np.testing.assert_allclose(display.set_size, mean_set_size(sets))
    np.testing.assert_array_equal(display.strata, levels)
    assert display.ax_.shape == (2,) and display.figure_ is display.ax_[0].figure
    assert len(display.coverage_artist_.get_xdata()) == 3
    plt.close("all")


def test_estimator_is_not_modified(fitted):
    clf, X, y = fitted
    clf.set_params(confidence_level=0.9)
    CoverageDisplay.from_estimator(clf, X, y, confidence_level=[0.5, 0.7])
    assert clf.confidence_level == 0.9
    plt.close("all")


def test_by_class_and_by_group(fitted):
    clf, X, y = fitted
    clf.set_params(confidence_level=0.9)
    sets = clf.predict_set(X)
    display = CoverageDisplay.from_predictions(
        y, sets, confidence_level=0.9, by="class", labels=clf.classes_, name="LAC"
    )
    np.testing.assert_allclose(
        display.coverage, classwise_coverage(y, sets, labels=clf.classes_)
    )
    np.testing.assert_allclose(
        display.set_size, [sets[y == c].sum(axis=1).mean() for c in clf.classes_]
    )
    groups = (X[:, 0] > 0).astype(int)
    display = CoverageDisplay.from_estimator(clf, X, y, by="group", groups=groups)
    np.testing.assert_array_equal(display.strata, [0, 1])
    expected = [
        coverage_score(y[groups == g], sets[groups == g], labels=clf.classes_)
        for g in (0, 1)
    ]
    np.testing.assert_allclose(display.coverage, expected)
    # two displays can share axes
    display.plot(ax=display.ax_, name="again", alpha=0.5)
    plt.close("all")


def test_mondrian_estimator_gets_its_groups():
    X, y = make_classification(600, 6, n_informative=4, n_classes=3, random_state=1)
    groups = (X[:, 1] > 0).astype(int)
    clf = SplitConformalClassifier(LinearDiscriminantAnalysis(), random_state=0)
    clf.fit(X[:400], y[:400], groups=groups[:400])
    display = CoverageDisplay.from_estimator(
        clf, X[400:], y[400:], by="group", groups=groups[400:]
    )
    assert display.coverage.shape == (2,)
    plt.close("all")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"by": "row"}, "by must be one of"),
        ({"by": "level"}, "stacked over several levels"),
        ({"by": "group"}, "needs groups"),
        ({"by": "group", "groups": np.zeros(3)}, "groups must have shape"),
    ],
)
def test_errors(kwargs, match):
    sets = np.ones((10, 3), dtype=bool)
    with pytest.raises(ValueError, match=match):
        CoverageDisplay.from_predictions(np.zeros(10, dtype=int), sets, **kwargs)


def test_level_errors_and_axes():
    sets = np.ones((10, 3, 2), dtype=bool)
    y = np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match="1 level"):
        CoverageDisplay.from_predictions(y, sets, confidence_level=0.9)
    with pytest.raises(ValueError, match="one level"):
        CoverageDisplay.from_predictions(
            y, sets, confidence_level=[0.8, 0.9], by="class"
        )
    with pytest.raises(ValueError, match="two matplotlib Axes"):
        _, ax = plt.subplots()
        CoverageDisplay.from_predictions(y, sets, confidence_level=[0.8, 0.9], ax=[ax])
    with pytest.raises(ValueError, match="predict_set"):
        CoverageDisplay.from_estimator(LinearDiscriminantAnalysis(), sets, y)
    plt.close("all")
