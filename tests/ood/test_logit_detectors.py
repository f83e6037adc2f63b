"""Logit-space detectors: parity with the published formulas, options, errors."""

import numpy as np
import pytest

from skcalib.datasets import make_classification_logits
from skcalib.ood import (
    EnergyDetector,
    EntropyDetector,
    GENDetector,
    MaxLogitDetector,
    MSPDetector,
)

LOGIT_DETECTORS = [
    MSPDetector,
    MaxLogitDetector,
    EnergyDetector,
    EntropyDetector,
    GENDetector,
]


def _logits(n=300, k=5, random_state=0):
    logits, _ = make_classification_logits(
        n, k, temperature=3.0, random_state=random_state
    )
    return logits


# Reference formulas written row by row with plain NumPy, independently of the
# array-API kernels (pytorch-ood's formulas, with its sign flipped).


def _ref_softmax(row):
    e = np.exp(row - row.max())
    return e / e.sum()


def _ref_msp(row, T):
    return _ref_softmax(row / T).max()


def _ref_energy(row, T):
    m = (row / T).max()
    return T * (m + np.log(np.sum(np.exp(row / T - m))))


def _ref_entropy(row):
    p = _ref_softmax(row)
    return float(np.sum([q * np.log(q) for q in p if q > 0]))


def _ref_gen(row, gamma, n_top):
    p = np.sort(_ref_softmax(row))[::-1][:n_top]
    return -float(np.sum(p**gamma * (1 - p) ** gamma))


@pytest.mark.parametrize("temperature", [1.0, 1000.0, 0.3])
def test_msp_parity(temperature):
    X = _logits()
    scores = MSPDetector(temperature=temperature).fit(X).score_samples(X)
    expected = [_ref_msp(row, temperature) for row in X]
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("temperature", [1.0, 10.0, 0.05])
def test_energy_parity(temperature):
    X = _logits()
    scores = EnergyDetector(temperature=temperature).fit(X).score_samples(X)
    expected = [_ref_energy(row, temperature) for row in X]
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-12)


def test_max_logit_parity():
    X = _logits()
    scores = MaxLogitDetector().fit(X).score_samples(X)
    np.testing.assert_allclose(scores, [max(row) for row in X], rtol=1e-6)


def test_entropy_parity():
    X = _logits()
    scores = EntropyDetector().fit(X).score_samples(X)
    np.testing.assert_allclose(
        scores, [_ref_entropy(row) for row in X], rtol=1e-6, atol=1e-12
    )


@pytest.mark.parametrize("gamma, n_top", [(0.1, 100), (0.5, 3), (1.0, 1)])
def test_gen_parity(gamma, n_top):
    X = _logits(k=7)
    scores = GENDetector(gamma=gamma, n_top=n_top).fit(X).score_samples(X)
    expected = [_ref_gen(row, gamma, min(n_top, 7)) for row in X]
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-12)


def test_energy_tends_to_max_logit_and_msp_to_uniform():
    X = _logits()
    np.testing.assert_allclose(
        EnergyDetector(temperature=1e-4).fit(X).score_samples(X),
        X.max(axis=1),
        atol=1e-3,
    )
    # A huge temperature flattens the softmax: MSP -> 1 / K.
    msp = MSPDetector(temperature=1e8).fit(X).score_samples(X)
    np.testing.assert_allclose(msp, 1 / X.shape[1], rtol=1e-6)


def test_extreme_logits_are_finite():
    X = np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0], [-1e4, -1e4, -1e4]])
    for cls in LOGIT_DETECTORS:
        with pytest.warns(UserWarning, match="too few"):
            detector = cls().fit(X)
        assert np.all(np.isfinite(detector.score_samples(X))), cls.__name__


@pytest.mark.parametrize("cls", LOGIT_DETECTORS)
def test_float32_preserved(cls):
    X = _logits().astype(np.float32)
    detector = cls().fit(X)
    for out in (
        detector.score_samples(X),
        detector.decision_function(X),
        detector.score_pvalues(X),
    ):
        assert out.dtype == np.float32
    scores64 = cls().fit(X.astype(np.float64)).score_samples(X.astype(np.float64))
    np.testing.assert_allclose(
        detector.score_samples(X), scores64, rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize("cls", LOGIT_DETECTORS)
def test_score_orders_confident_above_uniform(cls):
    X = _logits()
    detector = cls().fit(X)
    confident = np.array([[8.0, 0.0, 0.0, 0.0, 0.0]])
    uniform = np.zeros((1, 5))
    assert detector.score_samples(confident)[0] > detector.score_samples(uniform)[0]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"tpr": 1.0}, "tpr"),
        ({"contamination": 0.6}, "contamination"),
    ],
)
def test_invalid_parameters_name_the_parameter(params, match):
    with pytest.raises(ValueError, match=match):
        MSPDetector(**params).fit(_logits())


@pytest.mark.parametrize(
    "params, match", [({"gamma": 0.0}, "gamma"), ({"n_top": 0}, "n_top")]
)
def test_gen_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        GENDetector(**params).fit(_logits())


def test_wrong_number_of_columns_at_predict():
    detector = EnergyDetector().fit(_logits(k=5))
    with pytest.raises(ValueError, match="X has 3 features, but EnergyDetector"):
        detector.score_samples(_logits(k=3))


def test_y_is_ignored():
    X = _logits()
    a = EnergyDetector().fit(X).score_samples(X)
    b = EnergyDetector().fit(X, np.arange(X.shape[0]) % 5).score_samples(X)
    np.testing.assert_array_equal(a, b)


def test_gen_keeps_confident_terms_in_float32():
    # p_max rounds to 1 in float32 here, yet (1 - p_max)^0.1 is about 0.02.
    X = np.array([[40.0, 0.0, 0.0], [30.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    fit = np.repeat(X, 10, axis=0)
    s64 = GENDetector().fit(fit).score_samples(X)
    s32 = GENDetector().fit(fit.astype(np.float32)).score_samples(X.astype(np.float32))
    expected = [
        -np.sum(
            [
                (np.exp(row[j] - np.logaddexp.reduce(row))) ** 0.1
                * (
                    np.exp(
                        np.logaddexp.reduce(np.delete(row, j))
                        - np.logaddexp.reduce(row)
                    )
                )
                ** 0.1
                for j in range(3)
            ]
        )
        for row in X
    ]
    np.testing.assert_allclose(s64, expected, rtol=1e-10)
    np.testing.assert_allclose(s32, expected, rtol=1e-5)
    assert s64[0] < -0.01  # the top class still contributes
