import numpy as np
import pytest
from _sklearn_reference import FROZEN_WEIGHTS, fitted_classifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.svm import LinearSVC

from skcalib.calibration import PlattScaling
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace


@FROZEN_WEIGHTS
@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("estimator", [LogisticRegression(), LinearSVC()], ids=repr)
@pytest.mark.parametrize("weighted", [False, True])
def test_same_probabilities_as_sklearn_sigmoid(n_classes, estimator, weighted):
    clf, X_cal, y_cal, X_test = fitted_classifier(estimator, n_classes)
    w = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y_cal))
    w = w if weighted else None
    sk = CalibratedClassifierCV(FrozenEstimator(clf), method="sigmoid")
    sk.fit(X_cal, y_cal, sample_weight=w)
    platt = PlattScaling().fit(clf.decision_function(X_cal), y_cal, sample_weight=w)
    np.testing.assert_allclose(
        platt.predict_proba(clf.decision_function(X_test)),
        sk.predict_proba(X_test),
        atol=1e-6,
    )
    for (a, b), ref in zip(
        platt.calibrators_, sk.calibrated_classifiers_[0].calibrators, strict=True
    ):
        assert a == pytest.approx(ref.a_, rel=1e-6)
        assert b == pytest.approx(ref.b_, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_same_as_sklearn_on_predict_proba_scores(n_classes):
    # Without decision_function, sklearn calibrates predict_proba (column 1
    # only for two classes): pass the same probabilities.
    clf, X_cal, y_cal, X_test = fitted_classifier(GaussianNB(), n_classes)
    sk = CalibratedClassifierCV(FrozenEstimator(clf), method="sigmoid")
    sk.fit(X_cal, y_cal)
    platt = PlattScaling().fit(clf.predict_proba(X_cal), y_cal)
    np.testing.assert_allclose(
        platt.predict_proba(clf.predict_proba(X_test)),
        sk.predict_proba(X_test),
        atol=1e-6,
    )


def test_same_as_sklearn_on_large_scores():
    # sklearn rescales scores above 30 before L-BFGS; Newton needs no rescaling.
    clf, X_cal, y_cal, X_test = fitted_classifier(LinearSVC(), 2)
    sk = CalibratedClassifierCV(FrozenEstimator(clf), method="sigmoid")
    sk.fit(X_cal, y_cal)
    platt = PlattScaling().fit(100 * clf.decision_function(X_cal), y_cal)
    np.testing.assert_allclose(
        platt.predict_proba(100 * clf.decision_function(X_test)),
        sk.predict_proba(X_test),
        atol=1e-6,
    )


@pytest.mark.parametrize("n_classes", [2, 4])
def test_lowers_calibration_error_against_truth(n_classes):
    logits, y, proba_true = make_classification_logits(
        8000, n_classes, temperature=3.0, return_proba=True, random_state=1
    )
    X = logits[:, 1] - logits[:, 0] if n_classes == 2 else logits
    fit, test = slice(0, 4000), slice(4000, None)
    platt = PlattScaling().fit(X[fit], y[fit])
    raw, calibrated = softmax(logits[test]), platt.predict_proba(X[test])
    assert expected_calibration_error(
        y[test], calibrated
    ) < 0.5 * expected_calibration_error(y[test], raw)
    truth = proba_true[test]
    assert np.abs(calibrated - truth).mean() < 0.5 * np.abs(raw - truth).mean()


def test_recovers_known_sigmoid():
    rng = np.random.default_rng(0)
    s = rng.normal(scale=2.0, size=50_000)
    y = (rng.uniform(size=s.size) < 1 / (1 + np.exp(1.5 * s - 0.5))).astype(int)
    ((a, b),) = PlattScaling().fit(s, y).calibrators_
    assert a == pytest.approx(1.5, abs=0.05)
    assert b == pytest.approx(-0.5, abs=0.05)


def test_loss_is_minimal_at_fitted_parameters():
    logits, y = make_classification_logits(3000, 2, temperature=2.0, random_state=3)
    s = logits[:, 1] - logits[:, 0]
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=s.size)
    platt = PlattScaling().fit(s, y, sample_weight=w)
    n_pos, n_neg = w[y == 1].sum(), w[y == 0].sum()
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(a, b):
        p = 1 / (1 + np.exp(a * s + b))
        return -np.sum(w * (t * np.log(p) + (1 - t) * np.log1p(-p)))

    ((a, b),) = platt.calibrators_
    best = loss(a, b)
    for da, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)]:
        assert best < loss(a + da, b + db)
    assert platt.n_iter_ <= 10


def test_sample_weight_equals_repetition():
    logits, y = make_classification_logits(500, 3, temperature=2.0, random_state=0)
    w = np.random.default_rng(0).integers(0, 4, size=500)
    weighted = PlattScaling().fit(logits, y, sample_weight=w)
    repeated = PlattScaling().fit(np.repeat(logits, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(
        weighted.calibrators_, repeated.calibrators_, rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(
        weighted.predict_proba(logits), repeated.predict_proba(logits), atol=1e-10
    )


def test_float32_preserved_and_accurate():
    logits, y = make_classification_logits(3000, 4, temperature=2.0, random_state=0)
    p64 = PlattScaling().fit(logits, y).predict_proba(logits)
    p32 = PlattScaling().fit(logits.astype(np.float32), y)
    p32 = p32.predict_proba(logits.astype(np.float32))
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, p64, atol=1e-5)


def test_extreme_scores_do_not_overflow():
    logits, y = make_classification_logits(1000, 3, temperature=2.0, random_state=0)
    expected = PlattScaling().fit(logits, y).predict_proba(logits)
    # Squares of these overflow float32; the fit rescales the scores first.
    huge = (1e18 * logits).astype(np.float32)
    proba = PlattScaling().fit(huge, y).predict_proba(huge)
    np.testing.assert_allclose(proba, expected, atol=1e-5)


def test_binary_decision_vector_column_and_logits_agree():
    logits, y = make_classification_logits(1000, 2, temperature=2.0, random_state=0)
    x = logits[:, 1] - logits[:, 0]
    expected = PlattScaling().fit(x, y).predict_proba(x)
    np.testing.assert_allclose(
        PlattScaling().fit(x[:, None], y).predict_proba(x[:, None]), expected
    )
    # (n, 2) input: only the positive-class column is calibrated.
    two_columns = np.stack([np.zeros_like(x), x], axis=1)
    np.testing.assert_allclose(
        PlattScaling().fit(two_columns, y).predict_proba(two_columns), expected
    )


def test_separable_scores_give_finite_optimum():
    s = np.r_[np.linspace(-3, -1, 20), np.linspace(1, 3, 20)]
    y = np.r_[np.zeros(20), np.ones(20)]
    platt = PlattScaling().fit(s, y)
    assert np.all(np.isfinite(platt.calibrators_))
    # The smoothed targets keep the optimum finite: the gradient vanishes.
    p = platt.predict_proba(s)[:, 1]
    t = np.where(y == 1, 21 / 22, 1 / 22)
    np.testing.assert_allclose([np.sum(p - t), np.sum((p - t) * s)], 0, atol=1e-9)


def test_constant_scores_give_smoothed_base_rate():
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    platt = PlattScaling().fit(np.full(8, 0.7), y)
    t_pos, t_neg = 6 / 7, 1 / 5
    expected = (5 * t_pos + 3 * t_neg) / 8
    np.testing.assert_allclose(
        platt.predict_proba(np.array([0.7]))[:, 1], expected, rtol=1e-9
    )


def test_string_labels():
    logits, y = make_classification_logits(600, 3, temperature=2.0, random_state=0)
    names = np.array(["ant", "bee", "cat"])
    platt = PlattScaling().fit(logits, names[y])
    np.testing.assert_array_equal(platt.classes_, names)
    proba = platt.predict_proba(logits)
    np.testing.assert_array_equal(platt.predict(logits), names[proba.argmax(axis=1)])


@pytest.mark.parametrize(
    "params, match",
    [({"max_iter": 0}, "max_iter"), ({"tol": -1.0}, "tol"), ({"tol": "x"}, "tol")],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        PlattScaling(**params).fit(np.array([0.0, 1.0]), [0, 1])


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.array([0.0, np.nan, 1.0]), [0, 1, 1], "NaN"),
        (np.array([0.0, np.inf, 1.0]), [0, 1, 1], "infinity"),
        (np.zeros((4, 3)), [0, 1, 0, 1], "one logit per class"),
        (np.zeros(4), [0, 1, 2, 1], "binary decision values"),
        (np.zeros(4), [1, 1, 1, 1], "one class only"),
    ],
)
def test_fit_errors(X, y, match):
    with pytest.raises(ValueError, match=match):
        PlattScaling().fit(X, y)


def test_predict_errors():
    platt = PlattScaling().fit(np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        platt.predict_proba(np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match="expecting 3 features"):
        platt.predict_proba(np.zeros((2, 4)))


@pytest.mark.parametrize("binary", [False, True], ids=["multiclass", "binary"])
@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_fit_predict(combination, binary):
    logits, y = make_classification_logits(400, 3, temperature=2.0, random_state=0)
    if binary:
        logits, y = logits[:, 1] - logits[:, 0], (y == 1).astype(np.int64)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=400)

    def fit_predict(X, y, w):
        platt = PlattScaling().fit(X, y, sample_weight=w)
        return platt.predict_proba(X), platt.calibrators_

    assert_same_on_namespace(
        fit_predict,
        [logits, y, w],
        combination=combination,
        rtol=1e-4 if combination[2] == "float32" else 1e-9,
    )
