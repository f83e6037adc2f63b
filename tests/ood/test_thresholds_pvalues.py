"""Thresholds, conformal p-values and FDR control shared by every detector.

The statistical guarantees are checked over many random calibration/test
splits drawn from large pools of in-distribution (ID) and OOD samples; the
long versions carry the ``slow`` marker.
"""

import math

import numpy as np
import pytest

from skcalib.datasets import make_classification_logits
from skcalib.ood import EnergyDetector, MaxLogitDetector, MSPDetector


def _pools(n_in=20_000, n_out=5_000):
    X_in, _ = make_classification_logits(n_in, 4, temperature=2.0, random_state=0)
    X_out, _ = make_classification_logits(
        n_out, 4, temperature=2.0, class_sep=0.0, random_state=1
    )
    return X_in, X_out


X_IN, X_OUT = _pools()


def _bh_reference(pvalues, fdr):
    """Benjamini-Hochberg written with a Python loop: True = rejected."""
    m = len(pvalues)
    order = np.argsort(pvalues)
    k = 0
    for rank, idx in enumerate(order, start=1):
        if pvalues[idx] <= rank * fdr / m:
            k = rank
    rejected = np.zeros(m, dtype=bool)
    rejected[order[:k]] = True
    return rejected


@pytest.mark.parametrize("n_cal, tpr", [(200, 0.95), (99, 0.9), (1000, 0.8)])
def test_offset_is_the_conformal_order_statistic(n_cal, tpr):
    X = X_IN[:n_cal]
    detector = MaxLogitDetector(tpr=tpr).fit(X)
    scores = np.sort(X.max(axis=1))
    k = math.floor((n_cal + 1) * (1 - tpr) + 1e-9)
    assert detector.offset_ == scores[k - 1]
    np.testing.assert_array_equal(detector.calibration_scores_, scores)


def test_predict_accepts_exactly_when_pvalue_exceeds_one_minus_tpr():
    detector = EnergyDetector(tpr=0.9).fit(X_IN[:500])
    X = np.concatenate([X_IN[500:1500], X_OUT[:500]])
    accepted = detector.predict(X) == 1
    np.testing.assert_array_equal(accepted, detector.score_pvalues(X) > 1 - 0.9)
    np.testing.assert_array_equal(accepted, detector.decision_function(X) >= 0)


def test_too_few_calibration_samples_accept_everything_with_a_warning():
    with pytest.warns(UserWarning, match="too few to reach tpr=0.95"):
        detector = MaxLogitDetector().fit(X_IN[:18])
    assert detector.offset_ == -np.inf
    assert np.all(detector.predict(X_OUT[:50]) == 1)
    # 19 calibration samples are enough for tpr=0.95: rank ceil(20 * 0.95) = 19.
    assert np.isfinite(MaxLogitDetector().fit(X_IN[:19]).offset_)


@pytest.mark.parametrize("contamination", [0.1, 0.05, 0.5])
def test_contamination_matches_sklearn_convention(contamination):
    X = X_IN[:300]
    detector = EnergyDetector(contamination=contamination).fit(X)
    scores = detector.score_samples(X)
    assert detector.offset_ == pytest.approx(
        np.percentile(scores, 100 * contamination), rel=1e-12
    )
    n_out = int(np.sum(detector.predict(X) == -1))
    assert n_out == math.floor(contamination * (len(X) - 1)) + 1


def test_pvalues_match_their_definition_with_ties():
    # Integer-valued logits make many ties between test and calibration scores.
    rng = np.random.default_rng(0)
    X_cal = rng.integers(0, 6, size=(40, 3)).astype(float)
    X_test = rng.integers(0, 6, size=(30, 3)).astype(float)
    detector = MaxLogitDetector().fit(X_cal)
    cal, test = X_cal.max(axis=1), X_test.max(axis=1)
    expected = [(1 + np.sum(cal <= s)) / (len(cal) + 1) for s in test]
    np.testing.assert_allclose(detector.score_pvalues(X_test), expected)


@pytest.mark.parametrize("fdr", [0.05, 0.1, 0.3])
def test_predict_fdr_is_benjamini_hochberg(fdr):
    detector = EnergyDetector().fit(X_IN[:2000])
    X = np.concatenate([X_IN[2000:2160], X_OUT[:40]])
    pvalues = detector.score_pvalues(X)
    flagged = detector.predict_fdr(X, fdr=fdr) == -1
    np.testing.assert_array_equal(flagged, _bh_reference(pvalues, fdr))
    assert flagged.any()


@pytest.mark.parametrize("fdr", [0, 1, 1.5, -0.1, "0.1", True])
def test_predict_fdr_rejects_invalid_fdr(fdr):
    detector = MSPDetector().fit(X_IN[:100])
    with pytest.raises(ValueError, match="fdr must be a float in"):
        detector.predict_fdr(X_IN[:10], fdr=fdr)


def test_no_rejection_when_nothing_is_significant():
    detector = MaxLogitDetector().fit(X_IN[:50])
    labels = detector.predict_fdr(X_IN[50:60], fdr=0.01)
    np.testing.assert_array_equal(labels, 1)
    assert labels.dtype == np.int64


# ---------------------------------------------------------------------------
# Guarantees over random splits
# ---------------------------------------------------------------------------


def _fresh_split(rng, n_cal, n_test_in, n_test_out):
    perm_in = rng.permutation(len(X_IN))
    X_cal = X_IN[perm_in[:n_cal]]
    X_test_in = X_IN[perm_in[n_cal : n_cal + n_test_in]]
    X_test_out = X_OUT[rng.permutation(len(X_OUT))[:n_test_out]]
    return X_cal, X_test_in, X_test_out


def _fdr_over_splits(make_detector, n_splits, fdr=0.1, n_cal=300, seed=0):
    rng = np.random.default_rng(seed)
    fdps, powers = [], []
    for _ in range(n_splits):
        X_cal, X_in, X_out = _fresh_split(rng, n_cal, 80, 20)
        detector = make_detector().fit(X_cal)
        flagged = detector.predict_fdr(np.concatenate([X_in, X_out]), fdr=fdr) == -1
        false = int(flagged[:80].sum())
        fdps.append(false / max(int(flagged.sum()), 1))
        powers.append(flagged[80:].mean())
    return np.array(fdps), np.array(powers)


def _assert_fdr_controlled(fdps, fdr):
    # Monte-Carlo tolerance: three standard errors of the mean FDP.
    tolerance = 3 * fdps.std(ddof=1) / math.sqrt(len(fdps))
    assert fdps.mean() <= fdr + tolerance, (fdps.mean(), tolerance)


def test_fdr_controlled_fast():
    fdps, powers = _fdr_over_splits(EnergyDetector, n_splits=60)
    _assert_fdr_controlled(fdps, 0.1)
    assert powers.mean() > 0.3  # and it does find OOD samples


@pytest.mark.slow
@pytest.mark.parametrize("detector", [EnergyDetector, MaxLogitDetector])
@pytest.mark.parametrize("fdr", [0.05, 0.1, 0.2])
def test_fdr_controlled_over_many_splits(detector, fdr):
    fdps, powers = _fdr_over_splits(detector, n_splits=500, fdr=fdr, n_cal=1000, seed=1)
    _assert_fdr_controlled(fdps, fdr)
    assert powers.mean() > 0.05


def _tpr_over_splits(make_detector, n_splits, n_cal=200, tpr=0.95, seed=0):
    rng = np.random.default_rng(seed)
    tprs, small_pvalue = [], []
    for _ in range(n_splits):
        X_cal, X_in, _ = _fresh_split(rng, n_cal, 4000, 0)
        detector = make_detector(tpr=tpr).fit(X_cal)
        tprs.append(np.mean(detector.predict(X_in) == 1))
        small_pvalue.append(np.mean(detector.score_pvalues(X_in) <= 0.1))
    return np.array(tprs), np.array(small_pvalue)


def _assert_tpr(tprs, n_cal, tpr):
    # Exchangeability gives E[TPR] = 1 - floor((n + 1)(1 - tpr)) / (n + 1)
    # exactly (continuous scores), in [tpr, tpr + 1 / (n + 1)).
    expected = 1 - math.floor((n_cal + 1) * (1 - tpr)) / (n_cal + 1)
    tolerance = 4 * tprs.std(ddof=1) / math.sqrt(len(tprs))
    assert abs(tprs.mean() - expected) <= tolerance, (tprs.mean(), expected)
    assert tprs.mean() >= tpr - tolerance


def test_tpr_of_offset_on_fresh_data_fast():
    tprs, small = _tpr_over_splits(EnergyDetector, n_splits=40)
    _assert_tpr(tprs, 200, 0.95)
    # p-values of ID samples are super-uniform: P(p <= 0.1) <= 0.1.
    assert small.mean() <= 0.1 + 4 * small.std(ddof=1) / math.sqrt(len(small))


@pytest.mark.slow
@pytest.mark.parametrize("tpr", [0.8, 0.95])
def test_tpr_of_offset_on_fresh_data_many_splits(tpr):
    tprs, small = _tpr_over_splits(MSPDetector, n_splits=400, tpr=tpr, seed=2)
    _assert_tpr(tprs, 200, tpr)
    assert small.mean() <= 0.1 + 4 * small.std(ddof=1) / math.sqrt(len(small))
