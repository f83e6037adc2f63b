"""Tests of the calibration metrics (skcalib.metrics._calibration)."""

import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss

from skcalib.metrics import (
    adaptive_calibration_error,
    balance_score,
    brier_score,
    brier_score_decomposition,
    expected_calibration_error,
    maximum_calibration_error,
    negative_log_likelihood,
    reliability_curve,
    smooth_ece,
)
from skcalib.metrics._calibration import _smooth_reliability_curve
from skcalib.utils._testing import (
    array_api_combinations,
    assert_same_on_namespace,
    requires_sklearn,
)

COMBINATIONS = array_api_combinations()
STRATEGIES = ["uniform", "quantile"]
NORMS = ["l1", "l2", "max"]
MULTI_CLASS = ["top_label", "classwise", "marginal"]


def _binary(n=300, seed=0, power=1.0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, size=n)
    y = (rng.uniform(size=n) < p**power).astype(np.int64)
    return y, p


def _multiclass(n=300, k=4, seed=0, temperature=1.0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, k))
    true = np.exp(logits - logits.max(1, keepdims=True))
    true /= true.sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in true])
    shown = np.exp(logits / temperature - (logits / temperature).max(1, keepdims=True))
    return y, shown / shown.sum(1, keepdims=True)


# --------------------------------------------------------------------------
# Independent plain-Python reference for the binned errors
# --------------------------------------------------------------------------


def _ref_bin_indices(values, weights, n_bins, strategy):
    """Bin of each value: number of inner edges strictly below it."""
    if strategy == "uniform":
        edges = [b / n_bins for b in range(1, n_bins)]
    else:  # weighted inverted-CDF quantiles at b / n_bins
        order = sorted(range(len(values)), key=lambda i: values[i])
        total = sum(weights)
        edges = []
        for b in range(1, n_bins):
            target = b * total / n_bins
            cum = 0.0
            for i in order:
                cum += weights[i]
                if cum >= target:
                    edges.append(values[i])
                    break
    return [sum(1 for e in edges if v > e) for v in values]


def _ref_column_error(values, outcomes, weights, n_bins, strategy, norm):
    bins = _ref_bin_indices(values, weights, n_bins, strategy)
    total = sum(weights)
    err = 0.0
    for b in range(n_bins):
        members = [i for i in range(len(values)) if bins[i] == b]
        w = sum(weights[i] for i in members)
        if w == 0:
            continue
        acc = sum(weights[i] * outcomes[i] for i in members) / w
        conf = sum(weights[i] * values[i] for i in members) / w
        gap = abs(acc - conf)
        if norm == "l1":
            err += w / total * gap
        elif norm == "l2":
            err += w / total * gap**2
        else:
            err = max(err, gap)
    return math.sqrt(err) if norm == "l2" else err


def _ref_ece(y, proba, n_bins, strategy, norm, multi_class, weights=None):
    n = len(y)
    weights = [1.0] * n if weights is None else [float(w) for w in weights]
    proba = np.asarray(proba)
    if proba.ndim == 1:
        columns = [([float(v) for v in proba], [float(t == 1) for t in y], weights)]
    elif multi_class == "top_label":
        conf = [float(max(row)) for row in proba]
        correct = [
            float(int(np.argmax(row)) == t) for row, t in zip(proba, y, strict=True)
        ]
        columns = [(conf, correct, weights)]
    elif multi_class == "classwise":
        columns = [
            ([float(row[c]) for row in proba], [float(t == c) for t in y], weights)
            for c in range(proba.shape[1])
        ]
    else:
        vals, outs, ws = [], [], []
        for row, t, w in zip(proba, y, weights, strict=True):
            for c, v in enumerate(row):
                vals.append(float(v))
                outs.append(float(t == c))
                ws.append(w)
        columns = [(vals, outs, ws)]
    errors = [_ref_column_error(v, o, w, n_bins, strategy, norm) for v, o, w in columns]
    return sum(errors) / len(errors)


# --------------------------------------------------------------------------
# Hand-computed values
# --------------------------------------------------------------------------


def test_ece_hand_computed_binary():
    y = [0, 1, 1, 0]
    p = [0.2, 0.9, 0.7, 0.6]
    # bins [0, .5] and (.5, 1]: gaps 0.2 (weight 1/4) and 0.0667 (weight 3/4)
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.1)
    l2 = math.sqrt(0.25 * 0.2**2 + 0.75 * (0.7333333333333333 - 2 / 3) ** 2)
    assert expected_calibration_error(y, p, n_bins=2, norm="l2") == pytest.approx(l2)
    assert expected_calibration_error(y, p, n_bins=2, norm="max") == pytest.approx(0.2)
    assert maximum_calibration_error(y, p, n_bins=2) == pytest.approx(0.2)
    # one bin: |mean(y) - mean(p)| = |0.5 - 0.6|
    assert expected_calibration_error(y, p, n_bins=1) == pytest.approx(0.1)


def test_ece_uniform_bins_are_closed_on_the_right():
    # 0.5 belongs to (0, 0.5] with 2 bins; 0.0 to the first bin; 1.0 to the last.
    y = [1, 0, 1]
    p = [0.5, 0.0, 1.0]
    # bin 0: {0.5 (y=1), 0.0 (y=0)}: acc 0.5, conf 0.25; bin 1: {1.0 (y=1)}: gap 0
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(2 / 3 * 0.25)
    prob_true, prob_pred, w = reliability_curve(y, p, n_bins=2)
    np.testing.assert_allclose(prob_true, [0.5, 1.0])
    np.testing.assert_allclose(prob_pred, [0.25, 1.0])
    np.testing.assert_allclose(w, [2 / 3, 1 / 3])
    # 0.3 is in (0.2, 0.3] with 10 bins, as 0.30000000000000004 is not
    _, pred, _ = reliability_curve([1, 1], [0.3, 0.30000000000000004], n_bins=10)
    assert len(pred) == 2


def test_ece_hand_computed_quantile_and_ties():
    y = [0, 0, 1, 1, 1]
    p = [0.1, 0.3, 0.6, 0.8, 0.9]
    # equal-mass bins with 5 samples and 2 bins: the median (inverted CDF) is
    # the 3rd value, bins closed on the right -> ranks 1-3 and 4-5
    expected = 3 / 5 * abs(1 / 3 - (0.1 + 0.3 + 0.6) / 3) + 2 / 5 * abs(1 - 0.85)
    assert expected_calibration_error(
        y, p, n_bins=2, strategy="quantile"
    ) == pytest.approx(expected)
    # tied confidences always share a bin
    prob_true, prob_pred, w = reliability_curve(
        [0, 1, 0, 1], [0.4, 0.4, 0.4, 0.9], n_bins=2, strategy="quantile"
    )
    np.testing.assert_allclose(prob_pred, [0.4, 0.9])
    np.testing.assert_allclose(w, [0.75, 0.25])
    np.testing.assert_allclose(prob_true, [1 / 3, 1.0])


def test_ece_hand_computed_multiclass():
    proba = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]])
    y = [0, 2, 2]
    # top label: 0.7 right in (.6, .8], {0.6 wrong, 0.6 right} in (.4, .6]
    assert expected_calibration_error(y, proba, n_bins=5) == pytest.approx(
        1 / 3 * 0.3 + 2 / 3 * 0.1
    )
    # classwise, 2 bins: class 0 -> [0, .5]: {.3, .2} acc 0 conf .25; (.5, 1]: {.7}
    # acc 1 gap .3; class 1 -> [0, .5]: {.2, .2} gap .2, (.5, 1]: {.6} gap .6;
    # class 2 -> [0, .5]: {.1, .1} (y=0, y=1) acc .5 gap .4; (.5, 1]: {.6} gap .4
    c0 = 2 / 3 * 0.25 + 1 / 3 * 0.3
    c1 = 2 / 3 * 0.2 + 1 / 3 * 0.6
    c2 = 2 / 3 * 0.4 + 1 / 3 * 0.4
    assert expected_calibration_error(
        y, proba, n_bins=2, multi_class="classwise"
    ) == pytest.approx((c0 + c1 + c2) / 3)
    # marginal, 1 bin: mean prob is 1/3 = mean outcome
    assert expected_calibration_error(
        y, proba, n_bins=1, multi_class="marginal"
    ) == pytest.approx(0.0, abs=1e-15)
    # marginal, 2 bins: [0, .5] holds 6 of the 9 pairs, probabilities summing
    # to 1.1 with one positive (p = .1 of row 1); (.5, 1] holds .7 (positive),
    # .6 (negative), .6 (positive): 6/9 * .1/6 + 3/9 * .1/3 = .2/9
    assert expected_calibration_error(
        y, proba, n_bins=2, multi_class="marginal"
    ) == pytest.approx(0.2 / 9)


def test_ace_hand_computed_and_definition():
    y = [0, 0, 1, 1]
    p = [0.1, 0.3, 0.6, 0.8]
    assert adaptive_calibration_error(y, p, n_bins=2) == pytest.approx(0.25)
    y, proba = _multiclass(n=120, k=3, seed=3)
    assert adaptive_calibration_error(y, proba, n_bins=6) == pytest.approx(
        expected_calibration_error(
            y, proba, n_bins=6, strategy="quantile", multi_class="classwise"
        )
    )
    # with n divisible by R and no ties every range holds n / R samples, so
    # the mass-weighted ACE equals Nixon et al.'s 1 / (K R) sum
    stats = []
    for c in range(3):
        order = np.argsort(proba[:, c])
        for chunk in np.array_split(order, 6):
            stats.append(abs(np.mean(y[chunk] == c) - np.mean(proba[chunk, c])))
    assert adaptive_calibration_error(y, proba, n_bins=6) == pytest.approx(
        np.sum(stats) / (3 * 6), rel=1e-12
    )


def test_brier_hand_computed():
    assert brier_score([0, 1, 1], [0.1, 0.8, 0.6]) == pytest.approx(0.07)
    proba = [[0.5, 0.5, 0.0], [0.2, 0.2, 0.6]]
    assert brier_score([0, 2], proba) == pytest.approx(0.37)
    # two columns: twice the 1-D (positive-class) value
    assert brier_score([0, 1], [[0.9, 0.1], [0.2, 0.8]]) == pytest.approx(
        2 * brier_score([0, 1], [0.1, 0.8])
    )
    assert brier_score([0, 1], [0.1, 0.8], sample_weight=[3, 1]) == pytest.approx(
        (3 * 0.01 + 0.04) / 4
    )


def test_nll_hand_computed():
    assert negative_log_likelihood([0, 1], [[0.8, 0.2], [0.4, 0.6]]) == pytest.approx(
        -(math.log(0.8) + math.log(0.6)) / 2
    )
    assert negative_log_likelihood(["a", "b"], [0.3, 0.9], pos_label="b") == (
        pytest.approx(-(math.log(0.7) + math.log(0.9)) / 2)
    )
    # clipping keeps a zero probability finite
    assert negative_log_likelihood([1], [0.0], eps=1e-3) == pytest.approx(
        -math.log(1e-3)
    )


def test_balance_score_hand_computed():
    # p >= 0.5 & y = 1: 1 - p; p < 0.5 & y = 0: p; p >= .5 & y = 0: -p;
    # p < .5 & y = 1: -(1 - p)
    y = [1, 0, 0, 1]
    p = [0.8, 0.3, 0.6, 0.1]
    expected = (0.2 + 0.3 - 0.6 - 0.9) / 4
    assert balance_score(y, p) == pytest.approx(expected)
    # threshold: p = 0.5 predicts the positive class
    assert balance_score([1], [0.5]) == pytest.approx(0.5)
    assert balance_score([0], [0.5]) == pytest.approx(-0.5)
    # 2 columns use the second column as p (same as 1-D, including p = 0.5)
    assert balance_score([0, 1], [[0.5, 0.5], [0.3, 0.7]]) == pytest.approx(
        balance_score([0, 1], [0.5, 0.7])
    )
    # top-label extension for 3+ classes: accuracy - mean confidence
    proba = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]])
    assert balance_score([0, 2, 2], proba) == pytest.approx(2 / 3 - 1.9 / 3)
    # weights: weighted mean
    assert balance_score(y, p, sample_weight=[1, 0, 0, 1]) == pytest.approx(
        (0.2 - 0.9) / 2
    )


def test_balance_score_is_zero_in_expectation_when_calibrated():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=200_000)
    y = rng.uniform(size=p.size) < p
    assert abs(balance_score(y, p)) < 3e-3
    # over-confident forecasts give a negative score, under-confident positive
    sharp = np.clip(0.5 + 1.5 * (p - 0.5), 0, 1)
    flat = 0.5 + 0.5 * (p - 0.5)
    assert balance_score(y, sharp) < -0.05
    assert balance_score(y, flat) > 0.05


def test_brier_decomposition_hand_computed():
    y = [0, 1, 1, 0, 1]
    p = [0.2, 0.8, 0.8, 0.2, 0.2]
    rel, res, unc = brier_score_decomposition(y, p)
    # bins {0.2: y = 0, 0, 1} and {0.8: y = 1, 1}; base rate 0.6
    assert rel == pytest.approx(3 / 5 * (0.2 - 1 / 3) ** 2 + 2 / 5 * 0.2**2)
    assert res == pytest.approx(3 / 5 * (1 / 3 - 0.6) ** 2 + 2 / 5 * 0.4**2)
    assert unc == pytest.approx(0.24)


@pytest.mark.parametrize("weighted", [False, True])
def test_brier_decomposition_exact_when_forecasts_binned_exactly(weighted):
    rng = np.random.default_rng(0)
    n = 400
    weights = rng.integers(0, 4, size=n).astype(float) if weighted else None
    # binary: 10 distinct values in 10 distinct uniform bins
    p = rng.choice(np.arange(10) / 10 + 0.05, size=n)
    y = (rng.uniform(size=n) < p**1.5).astype(int)
    rel, res, unc = brier_score_decomposition(y, p, n_bins=10, sample_weight=weights)
    bs = brier_score(y, p, sample_weight=weights)
    assert rel - res + unc == pytest.approx(bs, rel=1e-12, abs=1e-14)
    # multiclass: per column the 4 rows' values fall in distinct bins
    rows = np.array(
        [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.25, 0.35, 0.4], [0.45, 0.05, 0.5]]
    )
    proba = rows[rng.integers(0, 4, size=n)]
    y = rng.integers(0, 3, size=n)
    rel, res, unc = brier_score_decomposition(
        y, proba, n_bins=10, sample_weight=weights
    )
    bs = brier_score(y, proba, sample_weight=weights)
    assert rel - res + unc == pytest.approx(bs, rel=1e-12, abs=1e-14)
    # continuous forecasts: no longer exact
    y, proba = _multiclass(n=300, k=3)
    rel, res, unc = brier_score_decomposition(y, proba, n_bins=10)
    assert rel - res + unc != pytest.approx(brier_score(y, proba), rel=1e-6)


def test_reliability_curve_matches_ece_and_sklearn():
    y, p = _binary(n=500, seed=2)
    prob_true, prob_pred, w = reliability_curve(y, p, n_bins=10)
    # sklearn's bins are closed on the left: identical for continuous data
    sk_true, sk_pred = calibration_curve(y, p, n_bins=10)
    np.testing.assert_allclose(prob_true, sk_true, rtol=1e-12)
    np.testing.assert_allclose(prob_pred, sk_pred, rtol=1e-12)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(np.diff(prob_pred) > 0)
    for strategy in STRATEGIES:
        for multi_class, kwargs in [
            ("top_label", {}),
            ("marginal", {}),
            ("classwise", {"class_index": 2}),
        ]:
            yk, proba = _multiclass(n=200, k=4, seed=5)
            prob_true, prob_pred, w = reliability_curve(
                yk,
                proba,
                n_bins=8,
                strategy=strategy,
                multi_class=multi_class,
                **kwargs,
            )
            curve_ece = np.sum(w * np.abs(prob_true - prob_pred))
            if multi_class == "classwise":
                ece = _ref_column_error(
                    list(proba[:, 2]),
                    list((yk == 2).astype(float)),
                    [1.0] * 200,
                    8,
                    strategy,
                    "l1",
                )
            else:
                ece = expected_calibration_error(
                    yk, proba, n_bins=8, strategy=strategy, multi_class=multi_class
                )
            assert curve_ece == pytest.approx(ece, rel=1e-12)
    assert isinstance(prob_true, np.ndarray)


# --------------------------------------------------------------------------
# Independent reference implementation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("multi_class", MULTI_CLASS)
def test_ece_matches_plain_python_reference(strategy, norm, multi_class):
    y, proba = _multiclass(n=150, k=3, seed=7, temperature=0.6)
    got = expected_calibration_error(
        y, proba, n_bins=7, strategy=strategy, norm=norm, multi_class=multi_class
    )
    ref = _ref_ece(y, proba, 7, strategy, norm, multi_class)
    assert got == pytest.approx(ref, rel=1e-12, abs=1e-15)
    # with random weights (integer and real) and with rounded, tie-heavy data
    rng = np.random.default_rng(1)
    for weights in (rng.integers(0, 4, size=150), rng.exponential(size=150)):
        got = expected_calibration_error(
            y,
            proba,
            n_bins=7,
            strategy=strategy,
            norm=norm,
            multi_class=multi_class,
            sample_weight=weights,
        )
        ref = _ref_ece(y, proba, 7, strategy, norm, multi_class, weights=weights)
        assert got == pytest.approx(ref, rel=1e-12, abs=1e-15)
    rounded = np.round(proba, 1)
    rounded[:, -1] = 1 - rounded[:, :-1].sum(1)
    rounded = np.clip(rounded, 0, 1)
    got = expected_calibration_error(
        y, rounded, n_bins=5, strategy=strategy, norm=norm, multi_class=multi_class
    )
    ref = _ref_ece(y, rounded, 5, strategy, norm, multi_class)
    assert got == pytest.approx(ref, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n_bins", [1, 2, 9, 250])
def test_ece_binary_matches_reference(strategy, norm, n_bins):
    y, p = _binary(n=200, seed=4, power=2.0)
    got = expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy, norm=norm)
    ref = _ref_ece(y, p, n_bins, strategy, norm, None)
    assert got == pytest.approx(ref, rel=1e-12)
    w = np.random.default_rng(0).integers(0, 3, size=200)
    got = expected_calibration_error(
        y, p, n_bins=n_bins, strategy=strategy, norm=norm, sample_weight=w
    )
    assert got == pytest.approx(
        _ref_ece(y, p, n_bins, strategy, norm, None, weights=w), rel=1e-12
    )


def test_quantile_bins_have_equal_mass():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=100)
    y = rng.integers(0, 2, size=100)
    _, _, w = reliability_curve(y, p, n_bins=10, strategy="quantile")
    np.testing.assert_allclose(w, 0.1)
    _, _, w = reliability_curve(y, p, n_bins=3, strategy="quantile")
    # ranks 1-34, 35-67, 68-100: bin b ends at rank ceil((b + 1) n / B)
    np.testing.assert_allclose(w, [0.34, 0.33, 0.33])


# --------------------------------------------------------------------------
# Reference libraries
# --------------------------------------------------------------------------


def test_ece_matches_mapie():
    mapie_cal = pytest.importorskip("mapie.metrics.calibration")
    # MAPIE's num_bins are edges linspace(0, 1, num_bins) with bins closed on
    # the right and a separate bin for exactly 0: num_bins = n_bins + 1 gives
    # our bins whenever no probability is exactly 0.
    for seed in range(3):
        y, p = _binary(n=400, seed=seed, power=1.5)
        for n_bins in (5, 10, 15):
            ours = expected_calibration_error(y, p, n_bins=n_bins)
            theirs = mapie_cal.expected_calibration_error(
                y, p, num_bins=n_bins + 1, split_strategy="uniform"
            )
            assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-15)
        yk, proba = _multiclass(n=400, k=5, seed=seed, temperature=0.7)
        correct = (proba.argmax(1) == yk).astype(int)
        # confidence ECE
        ours = expected_calibration_error(yk, proba, n_bins=15)
        theirs = mapie_cal.expected_calibration_error(
            correct, proba, num_bins=16, split_strategy="uniform"
        )
        assert ours == pytest.approx(theirs, rel=1e-12)
        # classwise ECE
        ours = expected_calibration_error(yk, proba, n_bins=15, multi_class="classwise")
        theirs = mapie_cal.expected_calibration_error(
            correct,
            proba,
            num_bins=16,
            split_strategy="uniform",
            classwise=True,
            class_labels=yk,
        )
        assert ours == pytest.approx(theirs, rel=1e-12)
        # MAPIE's top_label_ece (Gupta & Ramdas) conditions on the predicted
        # class: the mean over predicted classes of our binary ECE.
        pred, conf = proba.argmax(1), proba.max(1)
        ours = np.mean(
            [
                expected_calibration_error(
                    (yk[pred == c] == c).astype(int), conf[pred == c], n_bins=15
                )
                for c in np.unique(pred)
            ]
        )
        theirs = mapie_cal.top_label_ece(
            yk, proba, num_bins=16, split_strategy="uniform"
        )
        assert ours == pytest.approx(theirs, rel=1e-12)


def _relplot_cases():
    rng = np.random.default_rng(42)
    cases = []
    f = rng.uniform(size=1000)
    cases.append(("binary calibrated", (rng.uniform(size=1000) < f), f))
    f = rng.beta(0.5, 0.5, size=500)
    y = rng.uniform(size=500) < 0.5 + 0.3 * (f - 0.5)
    cases.append(("binary overconfident", y, f))
    f = rng.uniform(size=300)
    cases.append(("binary anti-calibrated", rng.uniform(size=300) > f, f))
    f = np.full(200, 0.99)
    cases.append(("binary constant wrong", np.zeros(200, dtype=bool), f))
    f = rng.uniform(0.2, 0.4, size=5000)
    cases.append(("binary large, narrow", rng.uniform(size=5000) < f, f))
    return cases


@pytest.mark.parametrize("case", _relplot_cases(), ids=lambda c: c[0])
def test_smooth_ece_matches_relplot_binary(case):
    relplot = pytest.importorskip("relplot")
    _, y, f = case
    ours, sigma = smooth_ece(y.astype(int), f, return_bandwidth=True)
    theirs, width = relplot.smECE(f, y.astype(float), return_width=True)
    assert sigma == width
    assert abs(ours - theirs) < 1e-6
    assert ours == pytest.approx(float(theirs), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("temperature", [0.3, 1.0, 3.0])
def test_smooth_ece_matches_relplot_multiclass(temperature):
    relplot = pytest.importorskip("relplot")
    y, proba = _multiclass(n=800, k=5, seed=11, temperature=temperature)
    conf, correct = relplot.multiclass_logits_to_confidences(proba, y, probs=True)
    ours = smooth_ece(y, proba)
    theirs = relplot.smECE(conf, correct)
    assert abs(ours - theirs) < 1e-6
    assert ours == pytest.approx(float(theirs), rel=1e-9, abs=1e-12)


def test_smooth_reliability_curve_matches_relplot():
    pytest.importorskip("relplot")
    from relplot.estimators import KernelSmoother
    from relplot.kernels import ReflectedGaussianKernel
    from relplot.metrics import smECE

    rng = np.random.default_rng(3)
    f = rng.beta(2, 5, size=700)
    y = (rng.uniform(size=700) < np.sqrt(f)).astype(float)
    grid, mu, density, sigma = _smooth_reliability_curve(f, y)
    _, width = smECE(f, y, return_width=True)
    assert sigma == width
    t = np.linspace(0, 1, 200)
    kernel = ReflectedGaussianKernel(width)
    ref_mu = KernelSmoother(kernel).fit(f[:, None], y).predict(t[:, None])
    np.testing.assert_allclose(grid, t)
    np.testing.assert_allclose(mu, ref_mu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(density, kernel.kde(f, t), rtol=1e-9, atol=1e-12)
    # fixed bandwidth, other grid size
    grid, mu, density, sigma = _smooth_reliability_curve(
        f, y, bandwidth=0.05, n_points=50
    )
    ref_mu = (
        KernelSmoother(ReflectedGaussianKernel(0.05))
        .fit(f[:, None], y)
        .predict(grid[:, None])
    )
    assert sigma == 0.05 and grid.shape == (50,)
    np.testing.assert_allclose(mu, ref_mu, rtol=1e-9, atol=1e-12)


def test_nll_matches_sklearn_log_loss():
    y, p = _binary(n=200, seed=1)
    w = np.random.default_rng(0).exponential(size=200)
    assert negative_log_likelihood(y, p) == pytest.approx(log_loss(y, p), rel=1e-12)
    assert negative_log_likelihood(y, p, sample_weight=w) == pytest.approx(
        log_loss(y, p, sample_weight=w), rel=1e-12
    )
    yk, proba = _multiclass(n=200, k=4, seed=1, temperature=0.2)
    proba[0] = [1.0, 0.0, 0.0, 0.0]  # a zero probability for the true class
    yk[0] = 3
    assert negative_log_likelihood(yk, proba) == pytest.approx(
        log_loss(yk, proba), rel=1e-12
    )
    labels = np.array(["ant", "bee", "cat", "dog"])
    assert negative_log_likelihood(labels[yk], proba) == pytest.approx(
        log_loss(labels[yk], proba), rel=1e-12
    )
    # float32 clipping uses float32's epsilon, as scikit-learn
    p32 = np.array([0.0, 1.0], dtype=np.float32)
    assert negative_log_likelihood([1, 0], p32) == pytest.approx(
        log_loss([1, 0], p32), rel=1e-6
    )


@requires_sklearn("1.7", "multiclass brier_score_loss and scale_by_half")
def test_brier_matches_sklearn():
    y, p = _binary(n=200, seed=1)
    w = np.random.default_rng(0).exponential(size=200)
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p), rel=1e-12)
    assert brier_score(y, p, sample_weight=w) == pytest.approx(
        brier_score_loss(y, p, sample_weight=w), rel=1e-12
    )
    two_col = np.stack([1 - p, p], axis=1)
    assert brier_score(y, two_col) == pytest.approx(
        brier_score_loss(y, two_col, scale_by_half=False), rel=1e-12
    )
    yk, proba = _multiclass(n=200, k=4, seed=1)
    assert brier_score(yk, proba, sample_weight=w) == pytest.approx(
        brier_score_loss(yk, proba, sample_weight=w), rel=1e-12
    )
    assert brier_score(yk, proba) == pytest.approx(
        brier_score_loss(yk, proba, scale_by_half=False), rel=1e-12
    )


# --------------------------------------------------------------------------
# Sample weights, dtypes, inputs
# --------------------------------------------------------------------------


def _all_metric_calls():
    calls = []
    for strategy in STRATEGIES:
        for multi_class in MULTI_CLASS:
            for norm in NORMS:
                calls.append(
                    (
                        expected_calibration_error,
                        dict(
                            n_bins=6,
                            strategy=strategy,
                            norm=norm,
                            multi_class=multi_class,
                        ),
                    )
                )
    calls += [
        (adaptive_calibration_error, dict(n_bins=5)),
        (maximum_calibration_error, dict(n_bins=5)),
        (smooth_ece, {}),
        (brier_score, {}),
        (brier_score_decomposition, dict(n_bins=5)),
        (brier_score_decomposition, dict(n_bins=5, strategy="quantile")),
        (negative_log_likelihood, {}),
        (balance_score, {}),
        (reliability_curve, dict(n_bins=5, strategy="quantile")),
        (reliability_curve, dict(n_bins=5, multi_class="classwise", class_index=1)),
    ]
    return calls


def _assert_result_close(a, b, rtol):
    for x, z in zip(
        np.atleast_1d(np.asarray(a, dtype=object)),
        np.atleast_1d(np.asarray(b, dtype=object)),
        strict=True,
    ):
        np.testing.assert_allclose(
            np.asarray(x, float), np.asarray(z, float), rtol=rtol, atol=1e-12
        )


@pytest.mark.parametrize(
    "func, kwargs",
    _all_metric_calls(),
    ids=lambda v: v.__name__ if callable(v) else "-".join(map(str, v.values())),
)
def test_sample_weight_equals_duplicated_rows(func, kwargs):
    y, proba = _multiclass(n=60, k=3, seed=9, temperature=0.5)
    rng = np.random.default_rng(2)
    w = rng.integers(0, 4, size=60)
    w[:3] = [0, 2, 3]
    rep = np.repeat(np.arange(60), w)
    weighted = func(y, proba, sample_weight=w.astype(float), **kwargs)
    duplicated = func(y[rep], proba[rep], **kwargs)
    _assert_result_close(weighted, duplicated, rtol=1e-10)
    # unit weights change nothing; scaling the weights changes nothing
    if func is not smooth_ece:  # smECE's 1e-4 regulariser is on the count scale
        _assert_result_close(
            func(y, proba, sample_weight=np.full(60, 2.5), **kwargs),
            func(y, proba, **kwargs),
            rtol=1e-10,
        )
    _assert_result_close(
        func(y, proba, sample_weight=np.ones(60), **kwargs),
        func(y, proba, **kwargs),
        rtol=1e-12,
    )


def test_sample_weight_binary_1d_duplicated():
    y, p = _binary(n=80, seed=6)
    w = np.random.default_rng(1).integers(0, 3, size=80)
    rep = np.repeat(np.arange(80), w)
    for func, kwargs in [
        (expected_calibration_error, dict(strategy="quantile")),
        (expected_calibration_error, dict(norm="l2")),
        (smooth_ece, {}),
        (balance_score, {}),
        (brier_score, {}),
        (negative_log_likelihood, {}),
    ]:
        assert func(y, p, sample_weight=w, **kwargs) == pytest.approx(
            func(y[rep], p[rep], **kwargs), rel=1e-10
        )


@pytest.mark.parametrize(
    "func, kwargs",
    _all_metric_calls(),
    ids=lambda v: v.__name__ if callable(v) else "-".join(map(str, v.values())),
)
def test_float32_close_to_float64(func, kwargs):
    y, proba = _multiclass(n=200, k=3, seed=13)
    r64 = func(y, proba, **kwargs)
    r32 = func(y, proba.astype(np.float32), **kwargs)
    if isinstance(r64, float):
        assert isinstance(r32, float)
        # binning can move a sample across an edge by float32 rounding
        assert r32 == pytest.approx(r64, abs=2e-3, rel=1e-3)
    elif func is reliability_curve:
        for a, b in zip(r32, r64, strict=True):
            np.testing.assert_allclose(a, b, atol=2e-3)


def test_returns_python_floats_and_does_not_modify_inputs():
    y, proba = _multiclass(n=50, k=3)
    y_copy, proba_copy = y.copy(), proba.copy()
    w = np.ones(50)
    for func, kwargs in _all_metric_calls():
        res = func(y, proba, sample_weight=w, **kwargs)
        if func not in (reliability_curve, brier_score_decomposition):
            assert type(res) is float
        if func is brier_score_decomposition:
            assert all(type(v) is float for v in res)
            assert res._fields == ("reliability", "resolution", "uncertainty")
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(proba, proba_copy)
    np.testing.assert_array_equal(w, np.ones(50))


def test_labels_and_pos_label():
    y, p = _binary(n=100, seed=3)
    names = np.array(["neg", "pos"])[y]
    assert expected_calibration_error(names, p, pos_label="pos") == pytest.approx(
        expected_calibration_error(y, p)
    )
    yk, proba = _multiclass(n=100, k=3, seed=3)
    labels = np.array(["a", "b", "c"])
    for func in (expected_calibration_error, smooth_ece, brier_score, balance_score):
        assert func(labels[yk], proba, labels=labels) == pytest.approx(func(yk, proba))
    # a 1-D y_prob ignores multi_class
    for mc in MULTI_CLASS:
        assert expected_calibration_error(y, p, multi_class=mc) == pytest.approx(
            expected_calibration_error(y, p)
        )


def test_smooth_ece_properties():
    rng = np.random.default_rng(0)
    f = rng.uniform(size=3000)
    y = rng.uniform(size=3000) < f
    calibrated = smooth_ece(y, f)
    assert calibrated < 0.05
    assert smooth_ece(y, np.clip(f + 0.3, 0, 1)) > 0.2
    assert smooth_ece(np.zeros(100, dtype=int), np.full(100, 0.99)) > 0.95
    _, sigma = smooth_ece(y, f, return_bandwidth=True)
    assert 0 < sigma <= 1


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "func",
    [
        expected_calibration_error,
        adaptive_calibration_error,
        maximum_calibration_error,
        reliability_curve,
        brier_score_decomposition,
    ],
)
@pytest.mark.parametrize("n_bins", [0, -3, 2.5, True, "10", None])
def test_bad_n_bins(func, n_bins):
    with pytest.raises(ValueError, match="n_bins"):
        func([0, 1], [0.2, 0.7], n_bins=n_bins)


def test_bad_options():
    y, p = [0, 1], [0.2, 0.7]
    with pytest.raises(ValueError, match="strategy"):
        expected_calibration_error(y, p, strategy="kmeans")
    with pytest.raises(ValueError, match="strategy"):
        reliability_curve(y, p, strategy=None)
    with pytest.raises(ValueError, match="strategy"):
        brier_score_decomposition(y, p, strategy="equal")
    with pytest.raises(ValueError, match="norm"):
        expected_calibration_error(y, p, norm="l3")
    with pytest.raises(ValueError, match="norm"):
        adaptive_calibration_error(y, p, norm=1)
    with pytest.raises(ValueError, match="multi_class"):
        expected_calibration_error(y, p, multi_class="ovr")
    with pytest.raises(ValueError, match="multi_class"):
        maximum_calibration_error(y, p, multi_class="top-label")
    with pytest.raises(ValueError, match="eps"):
        smooth_ece(y, p, eps=0)
    with pytest.raises(ValueError, match="eps"):
        negative_log_likelihood(y, p, eps=0.7)
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    with pytest.raises(ValueError, match="class_index"):
        reliability_curve(y, proba, multi_class="classwise")
    with pytest.raises(ValueError, match="class_index"):
        reliability_curve(y, proba, multi_class="classwise", class_index=2)
    with pytest.raises(ValueError, match="class_index"):
        reliability_curve(y, proba, class_index=0)


@pytest.mark.parametrize(
    "func",
    [
        expected_calibration_error,
        smooth_ece,
        brier_score,
        negative_log_likelihood,
        balance_score,
        reliability_curve,
    ],
)
def test_bad_inputs(func):
    with pytest.raises(ValueError, match="y_prob"):
        func([0, 1], [0.2, 1.7])
    with pytest.raises(ValueError, match="sum to one"):
        func([0, 1], [[0.2, 0.7], [0.5, 0.5]])
    with pytest.raises(ValueError, match="Inconsistent"):
        func([0, 1, 1], [0.2, 0.7])
    with pytest.raises(ValueError, match="sample_weight"):
        func([0, 1], [0.2, 0.7], sample_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="pos_label"):
        func(["a", "b"], [0.2, 0.7])


# --------------------------------------------------------------------------
# Array API
# --------------------------------------------------------------------------


def _array_api_cases():
    y, proba = _multiclass(n=90, k=3, seed=21, temperature=0.5)
    yb, p = _binary(n=90, seed=21)
    w = np.random.default_rng(0).integers(0, 3, size=90).astype(float)
    cases = []
    for strategy in STRATEGIES:
        for multi_class in MULTI_CLASS:
            cases.append(
                (
                    "ece-" + strategy + "-" + multi_class,
                    expected_calibration_error,
                    (y, proba),
                    dict(
                        n_bins=6,
                        strategy=strategy,
                        norm="l2",
                        multi_class=multi_class,
                        sample_weight=w,
                    ),
                )
            )
    cases += [
        ("ece-binary", expected_calibration_error, (yb, p), dict(strategy="quantile")),
        ("ace", adaptive_calibration_error, (y, proba), dict(n_bins=5)),
        ("mce", maximum_calibration_error, (y, proba), dict(sample_weight=w)),
        ("smece-binary", smooth_ece, (yb, p), {}),
        ("smece-multiclass", smooth_ece, (y, proba), dict(sample_weight=w)),
        ("brier", brier_score, (y, proba), dict(sample_weight=w)),
        ("brier-binary", brier_score, (yb, p), {}),
        (
            "brier-decomposition",
            brier_score_decomposition,
            (y, proba),
            dict(sample_weight=w),
        ),
        ("nll", negative_log_likelihood, (y, proba), dict(sample_weight=w)),
        ("nll-binary", negative_log_likelihood, (yb, p), {}),
        ("balance", balance_score, (y, proba), {}),
        ("balance-binary", balance_score, (yb, p), dict(sample_weight=w)),
        (
            "reliability-curve",
            reliability_curve,
            (y, proba),
            dict(n_bins=5, strategy="quantile"),
        ),
        (
            "reliability-curve-classwise",
            reliability_curve,
            (y, proba),
            dict(n_bins=5, multi_class="classwise", class_index=1, sample_weight=w),
        ),
    ]
    return cases


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda c: "-".join(c))
@pytest.mark.parametrize("case", _array_api_cases(), ids=lambda c: c[0])
def test_array_api(case, combination):
    _, func, args, kwargs = case
    kwargs = dict(kwargs)
    weight = kwargs.pop("sample_weight", None)

    def call(y, prob, sw=None):
        result = func(y, prob, sample_weight=sw, **kwargs)
        # plain tuple: _testing._as_numpy_tree cannot rebuild a namedtuple
        return tuple(result) if isinstance(result, tuple) else result

    args = args if weight is None else (*args, weight)
    assert_same_on_namespace(call, args, combination=combination)


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda c: "-".join(c))
def test_smooth_reliability_curve_array_api(combination):
    rng = np.random.default_rng(0)
    f = rng.beta(2, 3, size=120)
    y = (rng.uniform(size=120) < f).astype(float)
    w = rng.integers(1, 3, size=120).astype(float)
    assert_same_on_namespace(
        lambda a, b, c: _smooth_reliability_curve(a, b, sample_weight=c),
        (f, y, w),
        combination=combination,
    )
