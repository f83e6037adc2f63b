import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

from skcalib.calibration import TemperatureScaling
from skcalib.datasets import make_classification_logits
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import (
    array_api_combinations,
    assert_same_on_namespace,
    requires_sklearn,
)

TEMPERATURE_REFERENCE = requires_sklearn(
    "1.8", 'the reference is CalibratedClassifierCV(method="temperature")'
)


@pytest.mark.parametrize("true_temperature", [0.5, 2.0, 5.0])
def test_recovers_known_temperature(true_temperature):
    logits, y = make_classification_logits(
        40_000, 5, temperature=true_temperature, random_state=0
    )
    ts = TemperatureScaling().fit(logits, y)
    # MLE of a one-parameter model on 40k rows: a few percent at most.
    assert ts.temperature_ == pytest.approx(true_temperature, rel=0.03)


@TEMPERATURE_REFERENCE
def test_same_optimum_as_sklearn_temperature_method():
    X, y = make_classification(
        n_samples=3000, n_features=10, n_informative=6, n_classes=4, random_state=0
    )
    clf = LogisticRegression(C=100.0, max_iter=1000).fit(X[:1000], y[:1000])
    X_cal, y_cal = X[1000:], y[1000:]
    sk = CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")
    sk.fit(X_cal, y_cal)
    sk_temperature = 1 / float(sk.calibrated_classifiers_[0].calibrators[0].beta_)
    ts = TemperatureScaling().fit(clf.decision_function(X_cal), y_cal)
    assert abs(ts.temperature_ - sk_temperature) / sk_temperature < 1e-4
    np.testing.assert_allclose(
        ts.predict_proba(clf.decision_function(X_cal)),
        sk.predict_proba(X_cal),
        atol=1e-5,
    )


def test_nll_is_minimal_at_fitted_temperature():
    logits, y = make_classification_logits(5000, 3, temperature=3.0, random_state=1)
    ts = TemperatureScaling().fit(logits, y)

    def nll(t):
        p = softmax(logits / t)
        return -np.mean(np.log(p[np.arange(len(y)), y]))

    best = nll(ts.temperature_)
    for factor in [0.99, 1.01, 0.9, 1.1]:
        assert best < nll(ts.temperature_ * factor)


def test_large_data_warm_start_matches_plain_newton():
    logits, y = make_classification_logits(60_000, 4, temperature=2.5, random_state=2)
    fast = TemperatureScaling().fit(logits, y)
    # max_iter=1 per phase would not converge; compare with a float64 grid refine
    ts_small = TemperatureScaling().fit(logits[:19_999], y[:19_999])  # no warm start
    assert fast.n_iter_ >= 2
    grid = np.linspace(0.99, 1.01, 201) * fast.temperature_
    nlls = [-np.mean(np.log(softmax(logits / t)[np.arange(len(y)), y])) for t in grid]
    assert abs(grid[int(np.argmin(nlls))] / fast.temperature_ - 1) <= 1e-4
    assert ts_small.temperature_ == pytest.approx(fast.temperature_, rel=0.05)


def test_float32_preserved_and_accurate():
    logits, y = make_classification_logits(3000, 4, temperature=2.0, random_state=0)
    ts64 = TemperatureScaling().fit(logits, y)
    ts32 = TemperatureScaling().fit(logits.astype(np.float32), y)
    assert ts32.temperature_ == pytest.approx(ts64.temperature_, rel=1e-5)
    assert ts32.predict_proba(logits.astype(np.float32)).dtype == np.float32


def test_sample_weight_equals_repetition():
    logits, y = make_classification_logits(500, 3, temperature=2.0, random_state=0)
    w = np.random.default_rng(0).integers(0, 4, size=500)
    weighted = TemperatureScaling().fit(logits, y, sample_weight=w)
    repeated = TemperatureScaling().fit(np.repeat(logits, w, axis=0), np.repeat(y, w))
    assert weighted.temperature_ == pytest.approx(repeated.temperature_, rel=1e-8)


def test_binary_decision_values_are_logits_zero_x():
    logits, y = make_classification_logits(2000, 2, temperature=3.0, random_state=0)
    x = logits[:, 1] - logits[:, 0]
    ts_1d = TemperatureScaling().fit(x, y)
    ts_2d = TemperatureScaling().fit(np.stack([np.zeros_like(x), x], axis=1), y)
    assert ts_1d.temperature_ == pytest.approx(ts_2d.temperature_, rel=1e-10)
    np.testing.assert_allclose(
        ts_1d.predict_proba(x[:5, None]), ts_2d.predict_proba(np.c_[np.zeros(5), x[:5]])
    )


def test_string_labels_and_argmax_unchanged():
    logits, y = make_classification_logits(1000, 3, temperature=2.0, random_state=0)
    names = np.array(["cat", "dog", "eel"])
    ts = TemperatureScaling().fit(logits, names[y])
    np.testing.assert_array_equal(ts.classes_, names)
    np.testing.assert_array_equal(ts.predict(logits), names[logits.argmax(axis=1)])


def test_input_not_modified():
    logits, y = make_classification_logits(300, 3, random_state=0)
    copy = logits.copy()
    TemperatureScaling().fit(logits, y).predict_proba(logits)
    np.testing.assert_array_equal(logits, copy)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.zeros((4, 3)), [0, 0, 0, 0], "one class only"),
        (np.zeros((4, 3)), [0, 1, 0, 1], "one logit per class"),
        (np.zeros(4), [0, 1, 2, 1], "binary decision values"),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), [0, 1], "NaN"),
        (np.zeros((2, 2)), None, "requires y"),
    ],
)
def test_fit_errors(X, y, match):
    with pytest.raises(ValueError, match=match):
        TemperatureScaling().fit(X, y)


def test_predict_wrong_width():
    ts = TemperatureScaling().fit(np.eye(3) * 2, [0, 1, 2])
    with pytest.raises(ValueError, match="expecting 3 features"):
        ts.predict_proba(np.zeros((2, 4)))


def test_separable_scores_stop_at_bound():
    logits = np.array([[5.0, 0.0], [0.0, 5.0]] * 10)
    y = np.array([0, 1] * 10)
    ts = TemperatureScaling().fit(logits, y)
    assert np.exp(-15.0) <= ts.temperature_ < 0.1
    np.testing.assert_allclose(ts.predict_proba(logits), np.eye(2)[y], atol=1e-12)


@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_fit_predict(combination):
    logits, y = make_classification_logits(400, 3, temperature=2.0, random_state=0)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=400)

    def fit_predict(z, y, w):
        ts = TemperatureScaling().fit(z, y, sample_weight=w)
        return ts.predict_proba(z), ts.temperature_

    assert_same_on_namespace(
        fit_predict,
        [logits, y, w],
        combination=combination,
        rtol=1e-4 if combination[2] == "float32" else 1e-9,
    )
