import numpy as np
import pytest

from skcalib.calibration import BetaCalibration
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

PARAMETERS = ["abm", "am", "ab"]


def _binary_probabilities(n_samples, temperature, random_state):
    logits, y = make_classification_logits(
        n_samples, 2, temperature=temperature, random_state=random_state
    )
    return softmax(logits)[:, 1], y


def _beta_data(a, b, c, n_samples=5000, random_state=0):
    """Scores s and labels drawn from logit(p) = a ln s - b ln(1 - s) + c."""
    rng = np.random.default_rng(random_state)
    s = rng.uniform(0.01, 0.99, size=n_samples)
    z = a * np.log(s) - b * np.log1p(-s) + c
    y = (rng.uniform(size=n_samples) < 1 / (1 + np.exp(-z))).astype(np.int64)
    return s, y


@pytest.mark.parametrize("parameters", PARAMETERS)
@pytest.mark.parametrize("temperature", [0.5, 2.0, 4.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_probabilities_as_betacal(parameters, temperature, weighted):
    betacal = pytest.importorskip("betacal")
    s, y = _binary_probabilities(1000, temperature, random_state=0)
    s_test, _ = _binary_probabilities(500, temperature, random_state=1)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=s.size) if weighted else None
    ref = betacal.BetaCalibration(parameters).fit(s, y, sample_weight=w)
    beta = BetaCalibration(parameters).fit(s, y, sample_weight=w)
    np.testing.assert_allclose(
        beta.predict_proba(s_test)[:, 1], ref.predict(s_test), atol=1e-6
    )


@pytest.mark.parametrize(
    "true_abc, fitted_zero",
    [((-0.5, 1.0, 0.0), 0), ((1.0, -0.5, 0.0), 1)],
    ids=["a<0", "b<0"],
)
def test_abm_refits_without_negative_parameter_like_betacal(true_abc, fitted_zero):
    betacal = pytest.importorskip("betacal")
    s, y = _beta_data(*true_abc)
    ref = betacal.BetaCalibration("abm").fit(s, y)
    beta = BetaCalibration("abm").fit(s, y)
    (abc,) = beta.calibrators_
    assert abc[fitted_zero] == 0.0
    assert ref.calibrator_.map_[fitted_zero] == 0
    np.testing.assert_allclose(beta.predict_proba(s)[:, 1], ref.predict(s), atol=1e-6)


@pytest.mark.parametrize("parameters", PARAMETERS)
def test_multiclass_is_renormalised_one_vs_rest_betacal(parameters):
    betacal = pytest.importorskip("betacal")
    logits, y = make_classification_logits(1500, 4, temperature=2.0, random_state=0)
    proba = softmax(logits)
    beta = BetaCalibration(parameters).fit(proba, y)
    columns = [
        betacal.BetaCalibration(parameters)
        .fit(proba[:, j], y == j)
        .predict(proba[:, j])
        for j in range(4)
    ]
    expected = np.stack(columns, axis=1)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(beta.predict_proba(proba), expected, atol=1e-6)


@pytest.mark.parametrize(
    "parameters, true_abc",
    [("abm", (2.0, 0.5, 0.3)), ("am", (1.5, 1.5, -0.4)), ("ab", (2.0, 0.5, 0.0))],
)
def test_recovers_known_parameters(parameters, true_abc):
    if parameters == "ab":  # m = 1/2: c = (a - b) ln 2
        true_abc = (*true_abc[:2], (true_abc[0] - true_abc[1]) * np.log(2))
    s, y = _beta_data(*true_abc, n_samples=50_000)
    (abc,) = BetaCalibration(parameters).fit(s, y).calibrators_
    np.testing.assert_allclose(abc, true_abc, atol=0.1)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_lowers_calibration_error_against_truth(n_classes):
    logits, y, proba_true = make_classification_logits(
        8000, n_classes, temperature=3.0, return_proba=True, random_state=1
    )
    raw = softmax(logits)
    fit, test = slice(0, 4000), slice(4000, None)
    beta = BetaCalibration().fit(raw[fit], y[fit])
    calibrated = beta.predict_proba(raw[test])
    assert expected_calibration_error(
        y[test], calibrated
    ) < 0.5 * expected_calibration_error(y[test], raw[test])
    truth = proba_true[test]
    assert np.abs(calibrated - truth).mean() < 0.5 * np.abs(raw[test] - truth).mean()


@pytest.mark.parametrize("parameters", PARAMETERS)
def test_sample_weight_equals_repetition(parameters):
    logits, y = make_classification_logits(500, 3, temperature=2.0, random_state=0)
    proba = softmax(logits)
    w = np.random.default_rng(0).integers(0, 4, size=500)
    weighted = BetaCalibration(parameters).fit(proba, y, sample_weight=w)
    repeated = BetaCalibration(parameters).fit(
        np.repeat(proba, w, axis=0), np.repeat(y, w)
    )
    np.testing.assert_allclose(
        weighted.predict_proba(proba), repeated.predict_proba(proba), atol=1e-6
    )


def test_float32_preserved():
    logits, y = make_classification_logits(2000, 3, temperature=2.0, random_state=0)
    proba = softmax(logits)
    p64 = BetaCalibration().fit(proba, y).predict_proba(proba)
    p32 = BetaCalibration().fit(proba.astype(np.float32), y)
    p32 = p32.predict_proba(proba.astype(np.float32))
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, p64, atol=1e-3)


def test_binary_vector_column_and_two_columns_agree():
    s, y = _binary_probabilities(1000, 2.0, random_state=0)
    expected = BetaCalibration().fit(s, y).predict_proba(s)
    np.testing.assert_allclose(
        BetaCalibration().fit(s[:, None], y).predict_proba(s[:, None]), expected
    )
    two_columns = np.stack([1 - s, s], axis=1)
    np.testing.assert_allclose(
        BetaCalibration().fit(two_columns, y).predict_proba(two_columns), expected
    )


def test_probabilities_of_exactly_zero_and_one_are_clipped():
    s, y = _beta_data(2.0, 0.5, 0.0)
    s[:3], s[3:6] = 0.0, 1.0
    beta = BetaCalibration().fit(s, y)
    p = beta.predict_proba(np.array([0.0, 1e-300, 1.0]))[:, 1]
    assert np.all(np.isfinite(p))
    # s = 0 is read as eps = 2.2e-16, like any smaller positive value.
    assert p[0] == p[1] and p[0] < 1e-6 and p[2] > 0.5


@pytest.mark.parametrize("parameters", PARAMETERS)
def test_identity_when_already_calibrated(parameters):
    s, y = _beta_data(1.0, 1.0, 0.0, n_samples=50_000)
    beta = BetaCalibration(parameters).fit(s, y)
    grid = np.linspace(0.05, 0.95, 19)
    np.testing.assert_allclose(beta.predict_proba(grid)[:, 1], grid, atol=0.03)


@pytest.mark.parametrize("parameters", ["abc", "", None, 3])
def test_invalid_parameters(parameters):
    with pytest.raises(ValueError, match="parameters"):
        BetaCalibration(parameters).fit(np.array([0.2, 0.8]), [0, 1])


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.array([0.1, np.nan, 0.9]), [0, 1, 1], "NaN"),
        (np.array([-0.1, 0.5, 0.9]), [0, 1, 1], r"probabilities in \[0, 1\]"),
        (np.array([0.1, 0.5, 2.0]), [0, 1, 1], r"values in \[0.1, 2\]"),
        (np.full((4, 3), 1 / 3), [0, 1, 0, 1], "one logit per class"),
        (np.full(4, 0.5), [0, 1, 2, 1], "binary decision values"),
    ],
)
def test_fit_errors(X, y, match):
    with pytest.raises(ValueError, match=match):
        BetaCalibration().fit(X, y)


def test_predict_rejects_non_probabilities():
    beta = BetaCalibration().fit(*_beta_data(2.0, 0.5, 0.0, n_samples=200))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        beta.predict_proba(np.array([0.5, 3.0]))


def test_string_labels():
    logits, y = make_classification_logits(600, 3, temperature=2.0, random_state=0)
    proba = softmax(logits)
    names = np.array(["ant", "bee", "cat"])
    beta = BetaCalibration().fit(proba, names[y])
    np.testing.assert_array_equal(beta.classes_, names)
    calibrated = beta.predict_proba(proba)
    np.testing.assert_array_equal(beta.predict(proba), names[calibrated.argmax(axis=1)])


@pytest.mark.parametrize("parameters", PARAMETERS)
@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_fit_predict(combination, parameters):
    logits, y = make_classification_logits(400, 3, temperature=2.0, random_state=0)
    proba = softmax(logits)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=400)

    def fit_predict(X, y, w):
        beta = BetaCalibration(parameters).fit(X, y, sample_weight=w)
        return beta.predict_proba(X), beta.calibrators_

    assert_same_on_namespace(
        fit_predict,
        [proba, y, w],
        combination=combination,
        rtol=1e-4 if combination[2] == "float32" else 1e-9,
    )
