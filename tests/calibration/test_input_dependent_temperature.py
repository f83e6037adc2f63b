import warnings

import numpy as np
import pytest
from array_api_compat import numpy as np_xp
from sklearn.exceptions import ConvergenceWarning

from skcalib.calibration import TemperatureScaling
from skcalib.calibration._input_dependent_temperature import (
    InputDependentTemperatureScaling,
    _log_linear_objective,
    _logit_features,
    _nll_rows,
)
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error, negative_log_likelihood
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace
from skcalib.utils.estimator_checks import check_skcalib_estimator


def _two_temperature_groups(n_per_group, n_classes, random_state):
    """Half the rows miscalibrated by T=1 (calibrated), half by T=4.

    Returns the logits, labels and true probabilities, rows shuffled: the
    right temperature depends on the input (through the scale of its logits).
    """
    cold, y_cold, p_cold = make_classification_logits(
        n_per_group,
        n_classes,
        temperature=1.0,
        return_proba=True,
        random_state=random_state,
    )
    hot, y_hot, p_hot = make_classification_logits(
        n_per_group,
        n_classes,
        temperature=4.0,
        return_proba=True,
        random_state=random_state + 1,
    )
    logits = np.vstack([cold, hot])
    y = np.r_[y_cold, y_hot]
    proba = np.vstack([p_cold, p_hot])
    perm = np.random.default_rng(random_state).permutation(len(y))
    return logits[perm], y[perm], proba[perm]


def _true_top_label_error(proba, true_proba):
    """Mean |confidence - true probability of the predicted class|."""
    top = proba.argmax(axis=1)
    rows = np.arange(len(top))
    return float(np.mean(np.abs(proba[rows, top] - true_proba[rows, top])))


def test_nll_row_derivative_matches_finite_differences():
    logits, y = make_classification_logits(50, 4, temperature=3.0, random_state=0)
    rows = _nll_rows(logits, y, xp=np_xp)
    a = np.random.default_rng(0).uniform(0.1, 3.0, size=50)
    h = 1e-6
    values, derivative = rows(a)
    numeric = (rows(a + h)[0] - rows(a - h)[0]) / (2 * h)
    np.testing.assert_allclose(derivative, numeric, rtol=1e-6, atol=1e-8)
    # The values are the NLL of softmax(a z).
    p = softmax(a[:, None] * logits)
    np.testing.assert_allclose(values, -np.log(p[np.arange(50), y]), rtol=1e-8)


def test_logit_features():
    logits = np.array([[2.0, -1.0, 0.5], [1.0, 1.0, -3.0]])  # row 1: tied top
    features = _logit_features(logits, xp=np_xp)
    p = softmax(logits)
    expected = np.c_[
        np.log1p(logits.std(axis=1)),
        np.log1p([1.5, 0.0]),
        p.max(axis=1),
        -(p * np.log(p)).sum(axis=1) / np.log(3),
    ]
    np.testing.assert_allclose(features, expected, rtol=1e-12)
    # Shift-invariant: adding a constant to a row changes nothing.
    np.testing.assert_allclose(_logit_features(logits + 7.0, xp=np_xp), features)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_objective_gradient_matches_finite_differences(alpha):
    logits, y = make_classification_logits(200, 5, temperature=2.0, random_state=1)
    features = _logit_features(logits, xp=np_xp)
    standardised = (features - features.mean(0)) / features.std(0)
    weight = np.random.default_rng(1).uniform(0.2, 2.0, size=200)
    objective = _log_linear_objective(
        standardised,
        _nll_rows(logits, y, xp=np_xp),
        weight / weight.sum(),
        alpha,
        xp=np_xp,
    )
    theta = np.array([0.3, -0.2, 0.1, 0.25, 0.4])
    _, grad = objective(theta)
    h = 1e-6
    numeric = [
        (objective(theta + h * e)[0] - objective(theta - h * e)[0]) / (2 * h)
        for e in np.eye(5)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_beats_global_temperature_when_temperature_depends_on_input():
    X, y, _ = _two_temperature_groups(3000, 5, random_state=0)
    X_test, y_test, p_test = _two_temperature_groups(20_000, 5, random_state=10)
    idts = InputDependentTemperatureScaling().fit(X, y)
    ts = TemperatureScaling().fit(X, y)
    p_idts, p_ts = idts.predict_proba(X_test), ts.predict_proba(X_test)
    nll_idts = negative_log_likelihood(y_test, p_idts)
    nll_ts = negative_log_likelihood(y_test, p_ts)
    ece_idts = expected_calibration_error(y_test, p_idts)
    ece_ts = expected_calibration_error(y_test, p_ts)
    err_idts = _true_top_label_error(p_idts, p_test)
    err_ts = _true_top_label_error(p_ts, p_test)
    # Measured: NLL 0.795 vs 0.938 (truth 0.768, uncalibrated 1.287), binned
    # ECE 0.012 vs 0.196 (the global T over-softens the calibrated half: worse
    # than the uncalibrated 0.109), true top-label error 0.066 vs 0.213.
    assert nll_idts < nll_ts - 0.05
    assert ece_idts < ece_ts / 4
    assert err_idts < err_ts / 2
    # The hot group (logits 4x too large) gets the larger temperatures.
    t = idts.predict_temperature(X_test)
    hot = np.std(X_test, axis=1) > np.median(np.std(X_test, axis=1))
    assert np.median(t[hot]) > 2 * np.median(t[~hot])


def test_huge_alpha_recovers_temperature_scaling():
    logits, y = make_classification_logits(4000, 4, temperature=2.5, random_state=3)
    ts = TemperatureScaling().fit(logits, y)
    idts = InputDependentTemperatureScaling(alpha=1e8).fit(logits, y)
    np.testing.assert_allclose(
        idts.predict_temperature(logits), ts.temperature_, rtol=1e-4
    )
    np.testing.assert_allclose(
        idts.predict_proba(logits), ts.predict_proba(logits), atol=1e-5
    )


def test_unregularised_fit_is_at_least_as_good_as_temperature_scaling():
    # Global temperature scaling is the model with coef = 0: the fitted
    # objective (the training NLL when alpha = 0) cannot be larger.
    X, y, _ = _two_temperature_groups(1000, 3, random_state=4)
    idts = InputDependentTemperatureScaling(alpha=0.0).fit(X, y)
    ts = TemperatureScaling().fit(X, y)
    assert negative_log_likelihood(y, idts.predict_proba(X)) <= (
        negative_log_likelihood(y, ts.predict_proba(X)) + 1e-9
    )


def test_sample_weight_equals_repetition():
    X, y, _ = _two_temperature_groups(300, 3, random_state=5)
    w = np.random.default_rng(0).integers(0, 4, size=len(y))
    weighted = InputDependentTemperatureScaling().fit(X, y, sample_weight=w)
    repeated = InputDependentTemperatureScaling().fit(
        np.repeat(X, w, axis=0), np.repeat(y, w)
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-8)
    assert weighted.intercept_ == pytest.approx(repeated.intercept_, rel=1e-6)


def test_float32_preserved_and_accurate():
    X, y, _ = _two_temperature_groups(500, 4, random_state=6)
    fit64 = InputDependentTemperatureScaling().fit(X, y)
    fit32 = InputDependentTemperatureScaling().fit(X.astype(np.float32), y)
    np.testing.assert_allclose(fit32.coef_, fit64.coef_, rtol=1e-4, atol=1e-5)
    proba32 = fit32.predict_proba(X.astype(np.float32))
    assert proba32.dtype == np.float32
    assert fit32.predict_temperature(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(proba32, fit64.predict_proba(X), atol=1e-5)


def test_argmax_unchanged_and_string_labels():
    X, y, _ = _two_temperature_groups(400, 3, random_state=7)
    names = np.array(["cat", "dog", "eel"])
    idts = InputDependentTemperatureScaling().fit(X, names[y])
    np.testing.assert_array_equal(idts.classes_, names)
    np.testing.assert_array_equal(idts.predict(X), names[X.argmax(axis=1)])
    np.testing.assert_allclose(idts.predict_proba(X).sum(axis=1), 1.0)


def test_binary_decision_values_are_logits_zero_x():
    logits, y = make_classification_logits(1000, 2, temperature=3.0, random_state=0)
    x = logits[:, 1] - logits[:, 0]
    fit_1d = InputDependentTemperatureScaling().fit(x, y)
    fit_2d = InputDependentTemperatureScaling().fit(np.c_[np.zeros_like(x), x], y)
    np.testing.assert_allclose(fit_1d.coef_, fit_2d.coef_, rtol=1e-10)
    np.testing.assert_allclose(
        fit_1d.predict_proba(x), fit_2d.predict_proba(np.c_[np.zeros_like(x), x])
    )


def test_deterministic_and_input_not_modified():
    X, y, _ = _two_temperature_groups(300, 4, random_state=8)
    copy = X.copy()
    first = InputDependentTemperatureScaling().fit(X, y).predict_proba(X)
    second = InputDependentTemperatureScaling().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(X, copy)


def test_convergence_warning_when_max_iter_too_small():
    X, y, _ = _two_temperature_groups(300, 4, random_state=9)
    with pytest.warns(ConvergenceWarning, match="max_iter=1 "):
        idts = InputDependentTemperatureScaling(max_iter=1).fit(X, y)
    assert idts.n_iter_ == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        InputDependentTemperatureScaling().fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "'alpha' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
        ({"tol": "small"}, "'tol' parameter"),
    ],
)
def test_invalid_parameters(params, match):
    logits, y = make_classification_logits(50, 3, random_state=0)
    with pytest.raises(ValueError, match=match):
        InputDependentTemperatureScaling(**params).fit(logits, y)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.zeros((4, 3)), [0, 0, 0, 0], "one class only"),
        (np.zeros((4, 3)), [0, 1, 0, 1], "one logit per class"),
        (np.zeros(4), [0, 1, 2, 1], "binary decision values"),
        (np.zeros((4, 3, 2)), [0, 1, 2, 1], "1 or 2 dimension"),
        (np.array([[np.inf, 0.0], [0.0, 1.0]]), [0, 1], "infinity"),
    ],
)
def test_fit_errors(X, y, match):
    with pytest.raises(ValueError, match=match):
        InputDependentTemperatureScaling().fit(X, y)


def test_predict_wrong_width():
    logits, y = make_classification_logits(60, 3, random_state=0)
    idts = InputDependentTemperatureScaling().fit(logits, y)
    for method in (idts.predict_proba, idts.predict_temperature):
        with pytest.raises(ValueError, match="expecting 3 features"):
            method(np.zeros((2, 4)))


def test_skcalib_checks():
    check_skcalib_estimator(InputDependentTemperatureScaling())


@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_fit_predict(combination):
    X, y, _ = _two_temperature_groups(200, 3, random_state=0)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))

    def fit_predict(X, y, w):
        idts = InputDependentTemperatureScaling().fit(X, y, sample_weight=w)
        return idts.predict_proba(X), idts.predict_temperature(X), idts.coef_

    # Fitting runs in float64 on every float64-capable device, whatever the
    # input dtype; float32 predictions round in float32.
    assert_same_on_namespace(
        fit_predict,
        [X, y, w],
        combination=combination,
        rtol=1e-5 if combination[2] == "float32" else 1e-7,
        atol=1e-6 if combination[2] == "float32" else 1e-9,
    )
