import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn import config_context
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from skcalib.datasets import make_classification_logits
from skcalib.metrics import (
    ReliabilityDisplay,
    expected_calibration_error,
    reliability_curve,
    smooth_ece,
)
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import convert_inputs, skip_if_unavailable

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def multiclass_data():
    logits, y = make_classification_logits(600, 3, temperature=2.0, random_state=0)
    return y, softmax(logits)


@pytest.fixture(scope="module")
def binary_data():
    rng = np.random.RandomState(0)
    p = rng.uniform(size=500)
    y = (rng.uniform(size=500) < p**1.5).astype(int)
    return y, p


def test_binary_attributes_and_curve(binary_data):
    y, p = binary_data
    disp = ReliabilityDisplay.from_predictions(y, p, n_bins=8, name="model")
    prob_true, prob_pred, bin_weight = reliability_curve(y, p, n_bins=8)
    np.testing.assert_allclose(disp.prob_true, prob_true)
    np.testing.assert_allclose(disp.prob_pred, prob_pred)
    np.testing.assert_allclose(disp.bin_weight, bin_weight)
    np.testing.assert_allclose(disp.line_.get_xdata(), prob_pred)
    np.testing.assert_allclose(disp.line_.get_ydata(), prob_true)
    assert disp.ece == pytest.approx(expected_calibration_error(y, p, n_bins=8))
    assert disp.pos_label == 1
    assert disp.ax_.figure is disp.figure_
    assert disp.hist_ax_ is not None and disp.hist_ax_.figure is disp.figure_
    assert disp.hist_ is not None
    assert disp.band_ is None and disp.points_ is None and disp.smece is None
    assert disp.line_.get_label() == f"model (ECE = {disp.ece:.3f})"
    assert "positive class: 1" in disp.ax_.get_ylabel()
    assert "positive class: 1" in disp.hist_ax_.get_xlabel()
    # The histogram counts the predictions in n_bins equal-width bins.
    counts = disp.hist_.get_data().values
    np.testing.assert_array_equal(counts, np.histogram(p, np.linspace(0, 1, 9))[0])


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_top_label_matches_reliability_curve(multiclass_data, strategy):
    y, proba = multiclass_data
    disp = ReliabilityDisplay.from_predictions(y, proba, strategy=strategy)
    prob_true, prob_pred, bin_weight = reliability_curve(y, proba, strategy=strategy)
    np.testing.assert_allclose(disp.line_.get_xdata(), prob_pred)
    np.testing.assert_allclose(disp.line_.get_ydata(), prob_true)
    np.testing.assert_allclose(disp.bin_weight, bin_weight)
    assert disp.ece == pytest.approx(
        expected_calibration_error(y, proba, strategy=strategy)
    )
    assert disp.ax_.get_ylabel() == "Accuracy"
    np.testing.assert_allclose(disp.confidence, proba.max(axis=1))


def test_classwise_one_line_per_class(multiclass_data):
    y, proba = multiclass_data
    _, ax = plt.subplots()
    disp = ReliabilityDisplay.from_predictions(
        y, proba, multi_class="classwise", n_bins=10, ax=ax
    )
    assert isinstance(disp.line_, list) and len(disp.line_) == 3
    assert len(disp.hist_) == 3
    assert len({line.get_color() for line in disp.line_}) == 3
    for k, line in enumerate(disp.line_):
        prob_true, prob_pred, _ = reliability_curve(
            y, proba, n_bins=10, multi_class="classwise", class_index=k
        )
        np.testing.assert_allclose(line.get_xdata(), prob_pred)
        np.testing.assert_allclose(line.get_ydata(), prob_true)
        assert line.get_label().startswith(f"Class {k} (ECE = ")
    assert np.mean(disp.ece) == pytest.approx(
        expected_calibration_error(y, proba, n_bins=10, multi_class="classwise")
    )
    # The curves (plus the reference line) are on the given axes.
    assert disp.ax_ is ax and len(ax.get_lines()) == 4

    sub = ReliabilityDisplay.from_predictions(
        y, proba, multi_class="classwise", class_index=[2], n_bins=10
    )
    assert isinstance(sub.line_, list) and len(sub.line_) == 1
    np.testing.assert_allclose(sub.prob_true[0], disp.prob_true[2])


def test_smooth_curve(multiclass_data):
    y, proba = multiclass_data
    disp = ReliabilityDisplay.from_predictions(y, proba, smooth=True, name="m")
    assert disp.smece == pytest.approx(smooth_ece(y, proba))
    assert disp.smooth_grid.shape == disp.smooth_prob_true.shape
    xdata, ydata = disp.line_.get_xdata(), disp.line_.get_ydata()
    np.testing.assert_allclose(xdata, disp.smooth_grid)
    shown = np.isfinite(ydata)
    # Regions without predictions (top-label confidence < 1/3) are not drawn.
    assert shown.any() and not shown[0]
    np.testing.assert_allclose(ydata[shown], disp.smooth_prob_true[shown])
    # The binned points stay visible as markers.
    np.testing.assert_allclose(disp.points_.get_xdata(), disp.prob_pred)
    assert "smECE = " in disp.line_.get_label() and "ECE = " in disp.line_.get_label()


@pytest.mark.parametrize("smooth", [False, True])
def test_bootstrap_band_deterministic(binary_data, smooth):
    y, p = binary_data
    kw = {"n_bins": 8, "smooth": smooth, "n_bootstrap": 30, "show_histogram": False}
    d1 = ReliabilityDisplay.from_predictions(y, p, random_state=0, **kw)
    d2 = ReliabilityDisplay.from_predictions(y, p, random_state=0, **kw)
    d3 = ReliabilityDisplay.from_predictions(y, p, random_state=1, **kw)
    assert d1.band_ is not None
    assert d1.confidence_level == 0.9
    np.testing.assert_array_equal(d1.band_low, d2.band_low)
    np.testing.assert_array_equal(d1.band_high, d2.band_high)
    assert not np.array_equal(d1.band_high, d3.band_high)
    x = d1.smooth_grid if smooth else d1.prob_pred
    assert d1.band_low.shape == d1.band_high.shape == x.shape
    assert np.all(d1.band_low <= d1.band_high + 1e-12)
    curve = d1.smooth_prob_true if smooth else d1.prob_true
    inside = (d1.band_low - 1e-9 <= curve) & (curve <= d1.band_high + 1e-9)
    assert inside.mean() > 0.8
    wider = ReliabilityDisplay.from_predictions(
        y, p, random_state=0, confidence_level=0.99, **kw
    )
    assert np.all(
        wider.band_high - wider.band_low >= d1.band_high - d1.band_low - 1e-12
    )


def test_bootstrap_classwise(multiclass_data):
    y, proba = multiclass_data
    disp = ReliabilityDisplay.from_predictions(
        y,
        proba,
        multi_class="classwise",
        n_bootstrap=10,
        random_state=0,
        n_bins=5,
    )
    assert len(disp.band_) == 3 and len(disp.band_low) == 3


def test_from_estimator_binary_and_multiclass():
    X, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    disp = ReliabilityDisplay.from_estimator(clf, X, y, n_bins=5)
    np.testing.assert_allclose(
        disp.prob_true, reliability_curve(y, clf.predict_proba(X), n_bins=5)[0]
    )
    assert disp.line_.get_label().startswith("LogisticRegression (ECE = ")

    y_str = np.where(y == 2, "virginica", "other")
    clf = LogisticRegression(max_iter=1000).fit(X, y_str)
    disp = ReliabilityDisplay.from_estimator(clf, X, y_str, n_bins=5, name="lr")
    p = clf.predict_proba(X)[:, 1]
    np.testing.assert_allclose(
        disp.prob_true,
        reliability_curve(y_str, p, n_bins=5, pos_label="virginica")[0],
    )
    assert disp.pos_label == "virginica"
    assert disp.line_.get_label().startswith("lr (ECE = ")
    disp = ReliabilityDisplay.from_estimator(clf, X, y_str, pos_label="other")
    np.testing.assert_allclose(disp.confidence, 1 - p)


def test_plot_twice_on_same_axes(multiclass_data):
    y, proba = multiclass_data
    d1 = ReliabilityDisplay.from_predictions(y, proba, name="a")
    d2 = ReliabilityDisplay.from_predictions(
        y, proba**2 / (proba**2).sum(1)[:, None], name="b", ax=d1.ax_
    )
    assert d2.ax_ is d1.ax_ and d2.hist_ax_ is d1.hist_ax_
    labels = d1.ax_.get_legend_handles_labels()[1]
    assert labels.count("Perfectly calibrated") == 1
    assert len(labels) == 3
    assert d1.line_.get_color() != d2.line_.get_color()
    assert len(d1.hist_ax_.patches) == 4  # filled + outline per display
    # Re-plotting a computed display works too.
    d1.plot(ax=d1.ax_, name="again", show_histogram=False)
    assert len(d1.ax_.get_legend_handles_labels()[1]) == 4


def test_plot_options(binary_data):
    y, p = binary_data
    _, ax = plt.subplots()
    disp = ReliabilityDisplay.from_predictions(
        y,
        p,
        show_histogram=False,
        ref_line=False,
        ax=ax,
        color="red",
        linestyle="--",
    )
    assert disp.hist_ax_ is None and disp.hist_ is None
    assert len(ax.get_lines()) == 1
    assert disp.line_.get_color() == "red" and disp.line_.get_linestyle() == "--"
    assert len(disp.figure_.axes) == 1


def test_no_legend_warning_without_labels(binary_data):
    y, p = binary_data
    prob_true, prob_pred, bin_weight = reliability_curve(y, p)
    disp = ReliabilityDisplay(prob_true, prob_pred, bin_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        disp.plot(show_histogram=False, ref_line=False)
    assert disp.ax_.get_legend() is None


def test_constructor_then_plot(binary_data):
    y, p = binary_data
    prob_true, prob_pred, bin_weight = reliability_curve(y, p)
    disp = ReliabilityDisplay(prob_true, prob_pred, bin_weight)
    with pytest.raises(ValueError, match="show_histogram"):
        disp.plot()
    disp.plot(show_histogram=False)
    # No name and no ECE: only the reference line is in the legend.
    assert disp.ax_.get_legend_handles_labels()[1] == ["Perfectly calibrated"]
    np.testing.assert_allclose(disp.line_.get_ydata(), prob_true)


def test_sample_weight_equals_repetition(binary_data):
    y, p = binary_data
    w = np.arange(len(y)) % 3
    d_w = ReliabilityDisplay.from_predictions(y, p, sample_weight=w, smooth=True)
    rep = np.repeat(np.arange(len(y)), w)
    d_r = ReliabilityDisplay.from_predictions(y[rep], p[rep], smooth=True)
    np.testing.assert_allclose(d_w.prob_true, d_r.prob_true)
    np.testing.assert_allclose(d_w.ece, d_r.ece)
    np.testing.assert_allclose(d_w.smece, d_r.smece)
    np.testing.assert_allclose(d_w.hist_.get_data().values, d_r.hist_.get_data().values)


def test_inputs_not_modified(multiclass_data):
    y, proba = multiclass_data
    y0, p0 = y.copy(), proba.copy()
    w = np.ones(len(y))
    ReliabilityDisplay.from_predictions(
        y, proba, smooth=True, n_bootstrap=5, sample_weight=w, random_state=0
    )
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(proba, p0)
    np.testing.assert_array_equal(w, 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_bins": 0}, "n_bins"),
        ({"n_bins": 2.5}, "n_bins"),
        ({"strategy": "equal"}, "strategy"),
        ({"multi_class": "marginal"}, "multi_class"),
        ({"smooth": "yes"}, "smooth"),
        ({"n_bootstrap": -1}, "n_bootstrap"),
        ({"confidence_level": 1.0}, "confidence_level"),
        ({"show_histogram": None}, "show_histogram"),
        ({"ref_line": 1}, "ref_line"),
        ({"class_index": 1}, "class_index"),
        ({"multi_class": "classwise", "class_index": 3}, "class_index"),
        ({"multi_class": "classwise", "class_index": []}, "class_index"),
    ],
)
def test_from_predictions_errors(multiclass_data, kwargs, match):
    y, proba = multiclass_data
    with pytest.raises(ValueError, match=match):
        ReliabilityDisplay.from_predictions(y, proba, **kwargs)


def test_input_errors(multiclass_data):
    y, proba = multiclass_data
    with pytest.raises(ValueError, match="y_prob"):
        ReliabilityDisplay.from_predictions(y, proba[:, :, None])
    with pytest.raises(ValueError):
        ReliabilityDisplay.from_predictions(y, proba + 1)  # not probabilities
    with pytest.raises(ValueError, match="pos_label"):
        ReliabilityDisplay.from_predictions(["a", "b"] * 2, [0.1, 0.9, 0.2, 0.8])


def test_from_estimator_errors():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(NotFittedError):
        ReliabilityDisplay.from_estimator(LogisticRegression(), X, y)
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    with pytest.raises(ValueError, match="response_method"):
        ReliabilityDisplay.from_estimator(clf, X, y, response_method="predict_probs")
    with pytest.raises(ValueError, match="shape"):
        ReliabilityDisplay.from_estimator(clf, X, y, response_method="predict")
    with pytest.raises(ValueError, match="pos_label"):
        ReliabilityDisplay.from_estimator(clf, X, y, pos_label=1)
    clf2 = LogisticRegression().fit(X, y == 2)
    with pytest.raises(ValueError, match="pos_label"):
        ReliabilityDisplay.from_estimator(clf2, X, y == 2, pos_label="yes")


def test_matplotlib_imported_lazily():
    code = (
        "import sys\n"
        "import skcalib.metrics\n"
        "from skcalib.metrics import ReliabilityDisplay, reliability_curve\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "namespace, device_name", [("array_api_strict", "CPU_DEVICE"), ("torch", "cpu")]
)
def test_array_api_inputs(multiclass_data, namespace, device_name):
    y, proba = multiclass_data
    xp, dev = skip_if_unavailable(namespace, device_name)
    ref = ReliabilityDisplay.from_predictions(
        y, proba, smooth=True, n_bootstrap=5, random_state=0, show_histogram=False
    )
    y_xp, proba_xp = convert_inputs([y, proba], xp, dev, "float64")
    with config_context(array_api_dispatch=True):
        disp = ReliabilityDisplay.from_predictions(
            y_xp,
            proba_xp,
            smooth=True,
            n_bootstrap=5,
            random_state=0,
            show_histogram=False,
        )
    for attr in ("prob_true", "prob_pred", "smooth_prob_true", "band_low"):
        assert isinstance(getattr(disp, attr), np.ndarray)
        np.testing.assert_allclose(getattr(disp, attr), getattr(ref, attr))
    assert disp.ece == pytest.approx(ref.ece)
