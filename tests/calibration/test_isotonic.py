import numpy as np
import pytest
from _sklearn_reference import FROZEN_WEIGHTS, fitted_classifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.svm import LinearSVC

from skcalib.calibration import IsotonicCalibration
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace


@FROZEN_WEIGHTS
@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("estimator", [LogisticRegression(), LinearSVC()], ids=repr)
@pytest.mark.parametrize("weighted", [False, True])
def test_same_probabilities_as_sklearn_isotonic(n_classes, estimator, weighted):
    clf, X_cal, y_cal, X_test = fitted_classifier(estimator, n_classes)
    # Integer weights with zeros: zero-weight rows must be ignored.
    w = np.random.default_rng(0).integers(0, 4, size=len(y_cal)).astype(float)
    w = w if weighted else None
    sk = CalibratedClassifierCV(FrozenEstimator(clf), method="isotonic")
    sk.fit(X_cal, y_cal, sample_weight=w)
    iso = IsotonicCalibration().fit(
        clf.decision_function(X_cal), y_cal, sample_weight=w
    )
    # Test rows fall between, on and beyond the knots.
    for X in (X_cal, X_test):
        np.testing.assert_allclose(
            iso.predict_proba(clf.decision_function(X)),
            sk.predict_proba(X),
            atol=1e-6,
        )


@pytest.mark.parametrize("n_classes", [2, 4])
def test_same_as_sklearn_on_predict_proba_scores(n_classes):
    # Without decision_function, sklearn calibrates predict_proba (column 1
    # only for two classes): pass the same probabilities.
    clf, X_cal, y_cal, X_test = fitted_classifier(GaussianNB(), n_classes)
    sk = CalibratedClassifierCV(FrozenEstimator(clf), method="isotonic")
    sk.fit(X_cal, y_cal)
    iso = IsotonicCalibration().fit(clf.predict_proba(X_cal), y_cal)
    np.testing.assert_allclose(
        iso.predict_proba(clf.predict_proba(X_test)),
        sk.predict_proba(X_test),
        atol=1e-6,
    )


def test_knots_are_sklearn_isotonic_regression_thresholds():
    logits, y = make_classification_logits(2000, 3, temperature=2.0, random_state=0)
    iso = IsotonicCalibration().fit(logits, y)
    for j, (thresholds, values) in enumerate(iso.calibrators_):
        ref = IsotonicRegression(out_of_bounds="clip").fit(logits[:, j], y == j)
        np.testing.assert_array_equal(thresholds, ref.X_thresholds_)
        np.testing.assert_array_equal(values, ref.y_thresholds_)


def test_binary_map_is_monotone_and_clipped():
    logits, y = make_classification_logits(2000, 2, temperature=2.0, random_state=0)
    s = logits[:, 1] - logits[:, 0]
    iso = IsotonicCalibration().fit(s, y)
    grid = np.linspace(s.min() - 5, s.max() + 5, 1001)
    p = iso.predict_proba(grid)[:, 1]
    assert np.all(np.diff(p) >= 0)
    thresholds, values = iso.calibrators_[0]
    assert p[0] == values[0] and p[-1] == values[-1]
    assert 0 <= p.min() and p.max() <= 1


@pytest.mark.parametrize("n_classes", [2, 4])
def test_lowers_calibration_error_against_truth(n_classes):
    logits, y, proba_true = make_classification_logits(
        8000, n_classes, temperature=3.0, return_proba=True, random_state=1
    )
    X = logits[:, 1] - logits[:, 0] if n_classes == 2 else logits
    fit, test = slice(0, 4000), slice(4000, None)
    iso = IsotonicCalibration().fit(X[fit], y[fit])
    raw, calibrated = softmax(logits[test]), iso.predict_proba(X[test])
    assert expected_calibration_error(
        y[test], calibrated
    ) < 0.5 * expected_calibration_error(y[test], raw)
    truth = proba_true[test]
    assert np.abs(calibrated - truth).mean() < 0.6 * np.abs(raw - truth).mean()


def test_sample_weight_equals_repetition():
    logits, y = make_classification_logits(500, 3, temperature=2.0, random_state=0)
    w = np.random.default_rng(0).integers(0, 4, size=500)
    weighted = IsotonicCalibration().fit(logits, y, sample_weight=w)
    repeated = IsotonicCalibration().fit(np.repeat(logits, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(
        weighted.predict_proba(logits), repeated.predict_proba(logits), atol=1e-12
    )


def test_float32_preserved():
    logits, y = make_classification_logits(2000, 3, temperature=2.0, random_state=0)
    p64 = IsotonicCalibration().fit(logits, y).predict_proba(logits)
    p32 = IsotonicCalibration().fit(logits.astype(np.float32), y)
    p32 = p32.predict_proba(logits.astype(np.float32))
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, p64, atol=1e-5)


def test_binary_decision_vector_column_and_logits_agree():
    logits, y = make_classification_logits(1000, 2, temperature=2.0, random_state=0)
    x = logits[:, 1] - logits[:, 0]
    expected = IsotonicCalibration().fit(x, y).predict_proba(x)
    np.testing.assert_array_equal(
        IsotonicCalibration().fit(x[:, None], y).predict_proba(x[:, None]), expected
    )
    # (n, 2) input: only the positive-class column is calibrated.
    two_columns = np.stack([np.zeros_like(x), x], axis=1)
    np.testing.assert_array_equal(
        IsotonicCalibration().fit(two_columns, y).predict_proba(two_columns), expected
    )


def test_constant_scores_give_weighted_base_rate():
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    w = np.array([1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 0.5, 0.5])
    iso = IsotonicCalibration().fit(np.full(8, 0.7), y, sample_weight=w)
    np.testing.assert_allclose(
        iso.predict_proba(np.array([-1.0, 0.7, 3.0]))[:, 1], 4 / 8, rtol=1e-12
    )


def test_all_zero_probabilities_fall_back_to_uniform():
    # Scores below every class's first positive give 0 for all classes.
    y = np.array([0, 1, 2, 0, 1, 2])
    X = np.eye(3)[y]
    iso = IsotonicCalibration().fit(X, y)
    np.testing.assert_allclose(iso.predict_proba(np.full((1, 3), -5.0)), 1 / 3)


def test_string_labels():
    logits, y = make_classification_logits(600, 3, temperature=2.0, random_state=0)
    names = np.array(["ant", "bee", "cat"])
    iso = IsotonicCalibration().fit(logits, names[y])
    np.testing.assert_array_equal(iso.classes_, names)
    proba = iso.predict_proba(logits)
    np.testing.assert_array_equal(iso.predict(logits), names[proba.argmax(axis=1)])


@pytest.mark.parametrize(
    "X, y, sample_weight, match",
    [
        (np.array([0.0, np.nan, 1.0]), [0, 1, 1], None, "NaN"),
        (np.zeros((4, 3)), [0, 1, 0, 1], None, "one logit per class"),
        (np.zeros(4), [0, 1, 2, 1], None, "binary decision values"),
        (np.zeros(3), [0, 1, 1], [1.0, -1.0, 1.0], "non-negative"),
    ],
)
def test_fit_errors(X, y, sample_weight, match):
    with pytest.raises(ValueError, match=match):
        IsotonicCalibration().fit(X, y, sample_weight=sample_weight)


def test_predict_errors():
    iso = IsotonicCalibration().fit(np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        iso.predict_proba(np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match="expecting 3 features"):
        iso.predict_proba(np.zeros((2, 4)))


@pytest.mark.parametrize("binary", [False, True], ids=["multiclass", "binary"])
@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_fit_predict(combination, binary):
    logits, y = make_classification_logits(400, 3, temperature=2.0, random_state=0)
    if binary:
        logits, y = logits[:, 1] - logits[:, 0], (y == 1).astype(np.int64)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=400)
    # Predict on scores beyond the training range and between the knots.
    X_new = np.r_[logits[:50], 3 * logits[50:60], logits[60:70] + 0.01]

    def fit_predict(X, y, w, X_new):
        iso = IsotonicCalibration().fit(X, y, sample_weight=w)
        return iso.predict_proba(X_new)

    assert_same_on_namespace(
        fit_predict,
        [logits, y, w, X_new],
        combination=combination,
        rtol=1e-4 if combination[2] == "float32" else 1e-9,
    )
