import numpy as np
import pytest
from sklearn import config_context

from skcalib.calibration import HistogramBinning
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

STRATEGIES = ["uniform", "quantile"]


def _proba_data(n_samples, n_classes, *, temperature=2.5, random_state=0):
    logits, y, proba_true = make_classification_logits(
        n_samples,
        n_classes,
        temperature=temperature,
        return_proba=True,
        random_state=random_state,
    )
    return softmax(logits), y, proba_true


def _loop_inner_edges(scores, weights, n_bins, strategy):
    """Inner edges written from the definitions, one edge at a time."""
    if strategy == "uniform":
        return [b / n_bins for b in range(1, n_bins)]
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    total = sum(weights)
    edges = []
    for b in range(1, n_bins):
        cumulative = 0.0
        for i in order:  # smallest score whose cumulative weight reaches b / B
            cumulative += weights[i]
            if cumulative * n_bins >= b * total:
                edges.append(scores[i])
                break
    return edges


def _loop_histogram(scores, target, weights, n_bins, strategy):
    """Inner edges and bin probabilities of one class, by explicit loops."""
    inner = _loop_inner_edges(scores, weights, n_bins, strategy)
    w_sum = [0.0] * n_bins
    pos_sum = [0.0] * n_bins
    for s, t, w in zip(scores, target, weights, strict=True):
        b = sum(1 for e in inner if e < s)  # bins closed on the right
        w_sum[b] += w
        pos_sum[b] += w * t
    bounds = [0.0] + [min(max(e, 0.0), 1.0) for e in inner] + [1.0]
    values = [
        pos_sum[b] / w_sum[b] if w_sum[b] > 0 else (bounds[b] + bounds[b + 1]) / 2
        for b in range(n_bins)
    ]
    return inner, values


def _loop_predict(proba_fit, y, weights, proba_new, n_bins, strategy):
    """One-vs-rest histogram binning with sklearn's renormalisation, by loops."""
    n_classes = proba_fit.shape[1]
    columns = [1] if n_classes == 2 else range(n_classes)
    out = np.zeros((proba_new.shape[0], len(columns)))
    for c, j in enumerate(columns):
        inner, values = _loop_histogram(
            proba_fit[:, j].tolist(),
            (y == j).astype(float).tolist(),
            list(weights),
            n_bins,
            strategy,
        )
        for i, s in enumerate(proba_new[:, j]):
            out[i, c] = values[sum(1 for e in inner if e < s)]
    if n_classes == 2:
        return np.c_[1 - out[:, 0], out[:, 0]]
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1), 1 / n_classes)


def test_two_bins_by_hand():
    proba = np.array([0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95])
    y = np.array([0, 0, 1, 0, 1, 1, 1, 0, 1, 1])
    hb = HistogramBinning(n_bins=2).fit(proba, y)
    np.testing.assert_array_equal(hb.bin_edges_, [[0.0, 0.5, 1.0]])
    np.testing.assert_allclose(hb.bin_probabilities_, [[2 / 5, 4 / 5]])
    # 0.5 belongs to the first bin: bins are closed on the right.
    p = hb.predict_proba(np.array([0.0, 0.5, 0.5000001, 1.0]))
    np.testing.assert_allclose(p[:, 1], [0.4, 0.4, 0.8, 0.8])
    np.testing.assert_allclose(p[:, 0], 1 - p[:, 1])


def test_quantile_two_bins_by_hand():
    proba = np.array([0.9, 0.1, 0.3, 0.2, 0.8, 0.7, 0.4, 0.6, 0.5, 0.35])
    y = np.array([1, 0, 0, 1, 1, 0, 0, 1, 1, 1])
    hb = HistogramBinning(n_bins=2, strategy="quantile").fit(proba, y)
    # The edge is the 5th smallest probability: bins {0.1 .. 0.4} and {0.5 .. 0.9}.
    np.testing.assert_array_equal(hb.bin_edges_, [[0.0, 0.4, 1.0]])
    np.testing.assert_allclose(hb.bin_probabilities_, [[2 / 5, 4 / 5]])


def test_empty_bins_predict_their_midpoint():
    proba = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.45])
    y = np.array([0, 0, 1, 0, 1, 1])
    hb = HistogramBinning(n_bins=4).fit(proba, y)
    np.testing.assert_allclose(hb.bin_probabilities_, [[1 / 3, 2 / 3, 0.625, 0.875]])
    # Ties at the top leave the last equal-mass bin (0.9, 1] empty.
    hb = HistogramBinning(n_bins=2, strategy="quantile").fit(
        np.array([0.1, 0.9, 0.9, 0.9]), np.array([0, 1, 0, 1])
    )
    np.testing.assert_allclose(hb.bin_edges_, [[0.0, 0.9, 1.0]])
    np.testing.assert_allclose(hb.bin_probabilities_, [[0.5, 0.95]])
    np.testing.assert_allclose(hb.predict_proba(np.array([0.95]))[:, 1], [0.95])


def test_zero_weight_bin_counts_as_empty():
    proba = np.array([0.1, 0.2, 0.7, 0.8])
    y = np.array([0, 1, 1, 1])
    hb = HistogramBinning(n_bins=2).fit(proba, y, sample_weight=[1, 3, 0, 0])
    np.testing.assert_allclose(hb.bin_probabilities_, [[0.75, 0.75]])


def test_one_bin_is_the_weighted_base_rate():
    proba, y, _ = _proba_data(500, 2)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=500)
    hb = HistogramBinning(n_bins=1).fit(proba, y, sample_weight=w)
    np.testing.assert_allclose(hb.predict_proba(proba)[:, 1], np.average(y, weights=w))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_matches_loop_implementation(strategy, n_classes):
    proba, y, _ = _proba_data(120, n_classes, random_state=1)
    # Integer-valued weights keep the weighted quantiles exact in both codes.
    w = np.random.default_rng(1).integers(0, 4, size=120).astype(float)
    proba_new, _, _ = _proba_data(60, n_classes, random_state=2)
    corner_last = [0.0] * (n_classes - 1) + [1.0]
    proba_new[:3] = corner_last, [1.0] + [0.0] * (n_classes - 1), proba[0]
    hb = HistogramBinning(n_bins=6, strategy=strategy).fit(proba, y, sample_weight=w)
    np.testing.assert_allclose(
        hb.predict_proba(proba_new),
        _loop_predict(proba, y, w, proba_new, 6, strategy),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_lowers_calibration_error(strategy, n_classes):
    # Overconfident probabilities (temperature 2.5); labels drawn from the truth.
    proba, y, proba_true = _proba_data(25_000, n_classes)
    fit, test = slice(None, 5000), slice(5000, None)
    hb = HistogramBinning(strategy=strategy).fit(proba[fit], y[fit])
    calibrated = hb.predict_proba(proba[test])
    ece_before = expected_calibration_error(y[test], proba[test])
    ece_after = expected_calibration_error(y[test], calibrated)
    # Measured: binary 0.064 -> 0.013 (uniform) / 0.011 (quantile); 4 classes
    # 0.150 -> 0.015 / 0.011.
    assert ece_after < ece_before / 3
    # Closer to the true probabilities too (mean L1 distance per row).
    l1_before = np.abs(proba[test] - proba_true[test]).sum(axis=1).mean()
    l1_after = np.abs(calibrated - proba_true[test]).sum(axis=1).mean()
    assert l1_after < 0.8 * l1_before


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sample_weight_equals_repetition(strategy):
    proba, y, _ = _proba_data(300, 3)
    w = np.random.default_rng(0).integers(0, 4, size=300)
    weighted = HistogramBinning(n_bins=8, strategy=strategy)
    weighted.fit(proba, y, sample_weight=w)
    repeated = HistogramBinning(n_bins=8, strategy=strategy)
    repeated.fit(np.repeat(proba, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.bin_edges_, repeated.bin_edges_)
    np.testing.assert_allclose(
        weighted.bin_probabilities_, repeated.bin_probabilities_, rtol=1e-12
    )
    np.testing.assert_allclose(
        weighted.predict_proba(proba), repeated.predict_proba(proba), rtol=1e-12
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_float32_preserved(strategy):
    proba, y, _ = _proba_data(2000, 3)
    hb64 = HistogramBinning(strategy=strategy).fit(proba, y)
    hb32 = HistogramBinning(strategy=strategy).fit(proba.astype(np.float32), y)
    p32 = hb32.predict_proba(proba.astype(np.float32))
    assert p32.dtype == np.float32
    assert hb32.bin_probabilities_.dtype == np.float32
    assert hb32.bin_edges_.dtype == np.float32
    # Scores within float32 rounding of an edge may change bin: compare loosely.
    assert np.mean(np.abs(p32 - hb64.predict_proba(proba)) < 1e-5) > 0.99


def test_binary_input_shapes_agree():
    proba, y, _ = _proba_data(1000, 2)
    p1 = proba[:, 1]
    expected = HistogramBinning().fit(proba, y).predict_proba(proba)
    for X in (p1, p1[:, None]):
        hb = HistogramBinning().fit(X, y)
        assert hb.n_features_in_ == 1
        np.testing.assert_array_equal(hb.predict_proba(X), expected)


def test_string_labels_and_predict():
    proba, y, _ = _proba_data(1000, 3)
    names = np.array(["ant", "bee", "cat"])
    hb = HistogramBinning().fit(proba, names[y])
    np.testing.assert_array_equal(hb.classes_, names)
    np.testing.assert_array_equal(
        hb.predict(proba), names[hb.predict_proba(proba).argmax(axis=1)]
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_deterministic(strategy):
    proba, y, _ = _proba_data(500, 3)
    first = HistogramBinning(strategy=strategy).fit(proba, y).predict_proba(proba)
    second = HistogramBinning(strategy=strategy).fit(proba, y).predict_proba(proba)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_bins": 0}, "n_bins"),
        ({"n_bins": 2.5}, "n_bins"),
        ({"strategy": "kmeans"}, "strategy"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        HistogramBinning(**params).fit(np.array([0.2, 0.8]), [0, 1])


def test_predict_in_another_namespace_raises():
    torch = pytest.importorskip("torch")
    proba, y, _ = _proba_data(100, 2)
    hb = HistogramBinning().fit(proba, y)
    with config_context(array_api_dispatch=True):
        with pytest.raises(TypeError, match="same array namespace"):
            hb.predict_proba(torch.asarray(proba))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_fit_predict(combination, strategy):
    proba, y, _ = _proba_data(400, 3)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=400)

    def fit_predict(proba, y, w):
        hb = HistogramBinning(n_bins=7, strategy=strategy)
        hb.fit(proba, y, sample_weight=w)
        return hb.predict_proba(proba), hb.bin_edges_, hb.bin_probabilities_

    assert_same_on_namespace(fit_predict, [proba, y, w], combination=combination)
