import math

import numpy as np
import pytest

from skcalib.calibration import HistogramBinning
from skcalib.calibration._bbq import BBQ, _n_bins_range
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace


def _proba_data(n_samples, n_classes, *, temperature=2.5, random_state=0):
    logits, y, proba_true = make_classification_logits(
        n_samples,
        n_classes,
        temperature=temperature,
        return_proba=True,
        random_state=random_state,
    )
    return softmax(logits), y, proba_true


def _loop_model(scores, target, weights, n_bins, strength):
    """One equal-frequency binning model of BBQ, from the definitions.

    Returns its inner edges, its log marginal likelihood and the posterior
    mean of each bin.
    """
    total = sum(weights)
    values = sorted(set(scores))
    # Edge b: the smallest score s whose weight at or below s reaches b / B.
    inner = []
    for b in range(1, n_bins):
        for v in values:
            below = sum(w for s, w in zip(scores, weights, strict=True) if s <= v)
            if below * n_bins >= b * total:
                inner.append(v)
                break
    bounds = [0.0] + inner + [1.0]
    log_score, means = 0.0, []
    c = strength / n_bins
    for b in range(n_bins):
        in_bin = [
            (t, w)
            for s, t, w in zip(scores, target, weights, strict=True)
            if (b == 0 or s > bounds[b]) and (b == n_bins - 1 or s <= bounds[b + 1])
        ]
        n_b = sum(w for _, w in in_bin)
        m_b = sum(w * t for t, w in in_bin)
        p_b = min(max((bounds[b] + bounds[b + 1]) / 2, 0.005), 0.995)
        alpha, beta = c * p_b, c * (1 - p_b)
        log_score += (
            math.lgamma(c)
            - math.lgamma(n_b + c)
            + math.lgamma(m_b + alpha)
            - math.lgamma(alpha)
            + math.lgamma(n_b - m_b + beta)
            - math.lgamma(beta)
        )
        means.append((m_b + alpha) / (n_b + c))
    return inner, log_score, means


def _loop_bbq(scores, target, weights, scores_new, n_bins_list, strength=2.0):
    models = [_loop_model(scores, target, weights, B, strength) for B in n_bins_list]
    log_scores = [score for _, score, _ in models]
    top = max(log_scores)
    unnormalised = [math.exp(s - top) for s in log_scores]
    model_weights = [u / sum(unnormalised) for u in unnormalised]
    predictions = []
    for s in scores_new:
        p = 0.0
        for (inner, _, means), w in zip(models, model_weights, strict=True):
            p += w * means[sum(1 for e in inner if e < s)]
        predictions.append(p)
    return np.array(log_scores), np.array(model_weights), np.array(predictions)


@pytest.mark.parametrize(
    "total, first, last",
    [
        (1, 1, 1),
        (5, 1, 1),
        (20, 1, 4),  # ceil(20 / 5) = 4 < ceil(10 * 20^(1/3)) = 28
        (1000, 1, 100),  # a perfect cube: N^(1/3) = 10 exactly
        (2000, 1, 126),
        (1e4, 2, 216),
        (1e6, 10, 1000),
    ],
)
def test_range_of_bin_counts(total, first, last):
    np.testing.assert_array_equal(
        _n_bins_range(total, 10.0), np.arange(first, last + 1)
    )


def test_single_bin_by_hand():
    # N = 5 gives one model with one bin [0, 1]: prior Beta(1, 1) (N' = 2,
    # midpoint 1/2), so the prediction is Laplace's (m + 1) / (N + 2) and
    # P(D | M) = m! n! / (N + 1)! = 2! 3! / 6! = 1 / 60.
    proba = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    y = np.array([0, 1, 0, 1, 0])
    bbq = BBQ().fit(proba, y)
    np.testing.assert_array_equal(bbq.n_bins_, [1])
    np.testing.assert_allclose(bbq.log_scores_, [[math.log(1 / 60)]])
    np.testing.assert_allclose(bbq.predict_proba(proba)[:, 1], 3 / 7)


@pytest.mark.parametrize("weighted", [False, True])
def test_matches_loop_implementation(weighted):
    rng = np.random.default_rng(0)
    n = 40
    scores = np.round(rng.beta(2, 2, size=n), 2)  # ties
    scores[:3] = [0.0, 0.0, 1.0]  # bins [0, 0] and [1, 1]: clipped prior means
    y = (rng.uniform(size=n) < scores).astype(int)
    w = rng.integers(0, 4, size=n).astype(float) if weighted else np.ones(n)
    scores_new = np.r_[np.linspace(0.0, 1.0, 61), scores]
    bbq = BBQ().fit(scores, y, sample_weight=w if weighted else None)
    log_scores, model_weights, expected = _loop_bbq(
        scores.tolist(), y.tolist(), w.tolist(), scores_new, bbq.n_bins_
    )
    assert bbq.n_bins_[-1] > 5
    np.testing.assert_allclose(bbq.log_scores_[0], log_scores, rtol=1e-10)
    np.testing.assert_allclose(bbq.model_weights_[0], model_weights, atol=1e-12)
    np.testing.assert_allclose(
        bbq.predict_proba(scores_new)[:, 1], np.clip(expected, 0, 1), atol=1e-12
    )


def test_one_model_is_quantile_histogram_binning():
    # N = 27, C = 1: the only model has N^(1/3) = 3 bins; a vanishing prior
    # leaves the fractions of positives of HistogramBinning's quantile bins.
    proba, y, _ = _proba_data(20, 2)
    w = np.random.default_rng(0).permutation([1.0] * 13 + [2.0] * 7)  # total 27
    bbq = BBQ(range_factor=1.0, prior_strength=1e-9).fit(proba, y, sample_weight=w)
    hb = HistogramBinning(n_bins=3, strategy="quantile")
    hb.fit(proba, y, sample_weight=w)
    np.testing.assert_array_equal(bbq.n_bins_, [3])
    np.testing.assert_allclose(
        bbq.predict_proba(proba), hb.predict_proba(proba), atol=1e-8
    )


@pytest.mark.parametrize("n_classes", [2, 4])
def test_lowers_calibration_error(n_classes):
    # Overconfident probabilities (temperature 2.5); labels drawn from the truth.
    proba, y, proba_true = _proba_data(25_000, n_classes)
    fit, test = slice(None, 5000), slice(5000, None)
    bbq = BBQ().fit(proba[fit], y[fit])
    calibrated = bbq.predict_proba(proba[test])
    ece_before = expected_calibration_error(y[test], proba[test])
    ece_after = expected_calibration_error(y[test], calibrated)
    # Measured: binary 0.064 -> 0.013, 4 classes 0.150 -> 0.007.
    assert ece_after < ece_before / 3
    # Closer to the true probabilities too (mean L1 distance per row): binary
    # 0.130 -> 0.047, 4 classes 0.309 -> 0.062.
    l1_before = np.abs(proba[test] - proba_true[test]).sum(axis=1).mean()
    l1_after = np.abs(calibrated - proba_true[test]).sum(axis=1).mean()
    assert l1_after < l1_before / 2


def test_sample_weight_equals_repetition():
    proba, y, _ = _proba_data(300, 3)
    w = np.random.default_rng(0).integers(0, 4, size=300)
    weighted = BBQ().fit(proba, y, sample_weight=w)
    repeated = BBQ().fit(np.repeat(proba, w, axis=0), np.repeat(y, w))
    np.testing.assert_array_equal(weighted.n_bins_, repeated.n_bins_)
    np.testing.assert_allclose(weighted.log_scores_, repeated.log_scores_, rtol=1e-10)
    np.testing.assert_allclose(
        weighted.predict_proba(proba), repeated.predict_proba(proba), rtol=1e-10
    )


def test_float32_preserved():
    proba, y, _ = _proba_data(2000, 3)
    bbq64 = BBQ().fit(proba, y)
    bbq32 = BBQ().fit(proba.astype(np.float32), y)
    p32 = bbq32.predict_proba(proba.astype(np.float32))
    assert p32.dtype == np.float32
    # Scores within float32 rounding of an edge may change bin: compare loosely.
    assert np.mean(np.abs(p32 - bbq64.predict_proba(proba)) < 1e-4) > 0.99


def test_binary_input_shapes_agree():
    proba, y, _ = _proba_data(1000, 2)
    p1 = proba[:, 1]
    expected = BBQ().fit(proba, y).predict_proba(proba)
    for X in (p1, p1[:, None]):
        np.testing.assert_array_equal(BBQ().fit(X, y).predict_proba(X), expected)


def test_ties_at_zero_and_one_stay_finite():
    # float32 softmax underflows to exactly 0 and rounds to exactly 1.
    logits, y = make_classification_logits(2000, 3, temperature=40.0, random_state=0)
    proba = softmax(logits.astype(np.float32))
    assert np.mean(proba == 0) > 0.1
    bbq = BBQ().fit(proba, y)
    assert np.all(np.isfinite(bbq.log_scores_))
    p = bbq.predict_proba(proba)
    assert np.all(np.isfinite(p)) and p.min() >= 0 and p.max() <= 1


def test_model_weights_are_a_distribution():
    proba, y, _ = _proba_data(3000, 3)
    bbq = BBQ().fit(proba, y)
    assert bbq.model_weights_.shape == bbq.log_scores_.shape == (3, len(bbq.n_bins_))
    np.testing.assert_allclose(bbq.model_weights_.sum(axis=1), 1.0)
    best = np.argmax(bbq.log_scores_, axis=1)
    np.testing.assert_array_equal(best, np.argmax(bbq.model_weights_, axis=1))


def test_deterministic():
    proba, y, _ = _proba_data(500, 3)
    first = BBQ().fit(proba, y).predict_proba(proba)
    second = BBQ().fit(proba, y).predict_proba(proba)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"range_factor": 0.5}, "range_factor"),
        ({"range_factor": "auto"}, "range_factor"),
        ({"prior_strength": 0.0}, "prior_strength"),
        ({"prior_strength": -1.0}, "prior_strength"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        BBQ(**params).fit(np.array([0.2, 0.8]), [0, 1])


@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_fit_predict(combination):
    proba, y, _ = _proba_data(400, 3)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=400)

    def fit_predict(proba, y, w):
        bbq = BBQ().fit(proba, y, sample_weight=w)
        return bbq.predict_proba(proba), bbq.log_scores_, bbq.model_weights_

    assert_same_on_namespace(fit_predict, [proba, y, w], combination=combination)


@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_single_bin(combination):
    proba = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    y = np.array([0, 1, 0, 1, 0])

    def fit_predict(proba, y):
        return BBQ().fit(proba, y).predict_proba(proba)

    result = assert_same_on_namespace(fit_predict, [proba, y], combination=combination)
    np.testing.assert_allclose(result[:, 1], 3 / 7, rtol=1e-6)
