import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from skcalib.metrics import (
    aurc,
    risk_coverage_curve,
    selective_auc,
    selective_coverage,
    selective_risk,
)
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace


def _data(seed, n=200, n_levels=None, weighted=False):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 3, size=n)
    confidence = rng.random(n)
    correct = rng.random(n) < 0.3 + 0.6 * confidence
    y_pred = np.where(correct, y_true, (y_true + 1) % 3)
    if n_levels is not None:
        confidence = np.round(confidence * n_levels) / n_levels
    sw = rng.uniform(0.1, 3.0, size=n) if weighted else None
    return y_true, y_pred, confidence, sw


def _naive_aurc(y_true, y_pred, confidence):
    """Geifman et al. (2019): mean over k of the risk of the k most confident."""
    order = np.argsort(-confidence, kind="stable")
    errors = (np.asarray(y_true) != np.asarray(y_pred))[order]
    return np.mean(np.cumsum(errors) / np.arange(1, len(errors) + 1))


# --------------------------------------------------------------------------- #
# hand-computed values
# --------------------------------------------------------------------------- #
def test_hand_computed():
    y_true = [0, 1, 1, 0]
    y_pred = [0, 1, 0, 1]
    conf = [0.9, 0.8, 0.7, 0.6]
    coverage, risk, thresholds = risk_coverage_curve(y_true, y_pred, conf)
    np.testing.assert_allclose(coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(risk, [0, 0, 1 / 3, 0.5])
    np.testing.assert_allclose(thresholds, conf)
    assert aurc(y_true, y_pred, conf) == pytest.approx((1 / 3 + 1 / 2) / 4)
    assert selective_auc(y_true, y_pred, conf) == pytest.approx(
        (1 + 1 + 2 / 3 + 1 / 2) / 4
    )
    # ties: the group {0.8, 0.8} enters at once, both its levels get risk 1/3
    conf = [0.9, 0.8, 0.8, 0.6]
    coverage, risk, thresholds = risk_coverage_curve(y_true, y_pred, conf)
    np.testing.assert_allclose(coverage, [0.25, 0.75, 1.0])
    np.testing.assert_allclose(risk, [0, 1 / 3, 0.5])
    np.testing.assert_allclose(thresholds, [0.9, 0.8, 0.6])
    assert aurc(y_true, y_pred, conf) == pytest.approx((2 / 3 + 1 / 2) / 4)
    # string labels
    labels = np.array(["a", "b"])
    assert aurc(labels[y_true], labels[y_pred], conf) == aurc(y_true, y_pred, conf)


def test_perfect_and_worst_ranking():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 0, 0, 0])  # last two wrong
    assert aurc(y_true, y_pred, [4, 3, 2, 1]) == pytest.approx((1 / 3 + 2 / 4) / 4)
    assert aurc(y_true, y_pred, [1, 2, 3, 4]) == pytest.approx(
        (1 + 1 + 2 / 3 + 2 / 4) / 4
    )
    assert aurc(y_true, y_true, [1, 2, 3, 4]) == 0.0
    assert selective_auc(y_true, y_true, [1, 2, 3, 4]) == 1.0


def test_matches_naive_definition_without_ties():
    y_true, y_pred, conf, _ = _data(0)
    assert len(np.unique(conf)) == len(conf)
    assert aurc(y_true, y_pred, conf) == pytest.approx(
        _naive_aurc(y_true, y_pred, conf), abs=1e-12
    )


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_levels", [None, 5])
def test_selective_auc_is_one_minus_aurc(n_levels, weighted):
    y_true, y_pred, conf, sw = _data(1, n_levels=n_levels, weighted=weighted)
    assert selective_auc(y_true, y_pred, conf, sample_weight=sw) == pytest.approx(
        1 - aurc(y_true, y_pred, conf, sample_weight=sw), abs=1e-12
    )


def test_aurc_is_step_integral_of_curve():
    y_true, y_pred, conf, sw = _data(2, n_levels=7, weighted=True)
    coverage, risk, _ = risk_coverage_curve(y_true, y_pred, conf, sample_weight=sw)
    area = np.sum(np.diff(np.r_[0, coverage]) * risk)
    assert aurc(y_true, y_pred, conf, sample_weight=sw) == pytest.approx(
        area, abs=1e-12
    )


def test_tie_order_invariance():
    y_true, y_pred, conf, _ = _data(3, n_levels=4)
    perm = np.random.default_rng(3).permutation(len(conf))
    for func in (aurc, selective_auc):
        assert func(y_true, y_pred, conf) == pytest.approx(
            func(y_true[perm], y_pred[perm], conf[perm]), abs=1e-14
        )
    for a, b in zip(
        risk_coverage_curve(y_true, y_pred, conf),
        risk_coverage_curve(y_true[perm], y_pred[perm], conf[perm]),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-14)


@pytest.mark.parametrize("n_levels", [None, 6])
def test_sample_weight_equals_duplication(n_levels):
    y_true, y_pred, conf, _ = _data(4, n=80, n_levels=n_levels)
    w = np.random.default_rng(4).integers(0, 4, size=80)
    dup = np.repeat(np.arange(80), w)
    for func in (aurc, selective_auc):
        assert func(y_true, y_pred, conf, sample_weight=w) == pytest.approx(
            func(y_true[dup], y_pred[dup], conf[dup]), abs=1e-12
        )
    for a, b in zip(
        risk_coverage_curve(y_true, y_pred, conf, sample_weight=w),
        risk_coverage_curve(y_true[dup], y_pred[dup], conf[dup]),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    accepted = conf > 0.5
    assert selective_risk(
        y_true, y_pred, accepted=accepted, sample_weight=w
    ) == pytest.approx(selective_risk(y_true[dup], y_pred[dup], accepted=accepted[dup]))
    assert selective_coverage(accepted=accepted, sample_weight=w) == pytest.approx(
        selective_coverage(accepted=accepted[dup])
    )


def test_curve_properties():
    y_true, y_pred, conf, _ = _data(5, n_levels=10)
    coverage, risk, thresholds = risk_coverage_curve(y_true, y_pred, conf)
    assert np.all(np.diff(coverage) > 0) and coverage[-1] == 1.0
    assert np.all(np.diff(thresholds) < 0)
    assert len(thresholds) == len(np.unique(conf))
    assert risk[-1] == pytest.approx(np.mean(y_true != y_pred))


def test_parity_mapie_auarc():
    uncertainty = pytest.importorskip("mapie.metrics.uncertainty")
    for seed in range(3):
        y_true, y_pred, conf, _ = _data(seed)
        assert selective_auc(y_true, y_pred, conf) == pytest.approx(
            uncertainty.auarc((y_true == y_pred).astype(int), conf), abs=1e-12
        )


def test_selective_risk_and_coverage():
    y_true = [0, 1, 1, 0, 2]
    y_pred = [0, 1, -1, 1, -1]
    assert selective_risk(y_true, y_pred, abstain_label=-1) == pytest.approx(1 / 3)
    assert selective_coverage(y_pred, abstain_label=-1) == 0.6
    accepted = [True, False, True, True, True]
    # accepted & not abstained: rows 0 and 3 -> one error in two
    assert selective_risk(y_true, y_pred, accepted=accepted, abstain_label=-1) == 0.5
    assert selective_coverage(y_pred, accepted=accepted, abstain_label=-1) == 0.4
    # no abstention: plain error rate
    assert selective_risk(y_true, y_pred) == 0.6
    assert selective_coverage(y_pred) == 1.0
    # string labels and abstain label
    yt = np.array(["a", "b", "b"])
    yp = np.array(["a", "?", "a"])
    assert selective_risk(yt, yp, abstain_label="?") == 0.5
    assert selective_coverage(yp, abstain_label="?") == pytest.approx(2 / 3)
    w = [1.0, 1.0, 2.0, 1.0, 1.0]
    # accepted rows 0, 2, 3, 4 (weight 5); -1 counts as a wrong label here
    assert selective_risk(y_true, y_pred, accepted=accepted, sample_weight=w) == (
        pytest.approx(4 / 5)
    )
    assert selective_coverage(accepted=accepted, sample_weight=w) == pytest.approx(
        5 / 6
    )


def test_nothing_accepted_warns():
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(selective_risk([0, 1], [0, 1], accepted=[False, False]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert selective_coverage(accepted=[False, False]) == 0.0


def test_errors():
    with pytest.raises(ValueError, match="Inconsistent numbers of samples"):
        aurc([0, 1], [0, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="confidence"):
        aurc([0, 1], [0, 1], [[0.1, 0.2], [0.1, 0.2]])
    with pytest.raises(ValueError, match="NaN"):
        risk_coverage_curve([0, 1], [0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="accepted must be a boolean"):
        selective_risk([0, 1], [0, 1], accepted=[1, 0])
    with pytest.raises(ValueError, match="accepted"):
        selective_risk([0, 1], [0, 1], accepted=[True])
    with pytest.raises(ValueError, match="Pass y_pred"):
        selective_coverage()
    with pytest.raises(ValueError, match="sample_weight"):
        aurc([0, 1], [0, 1], [0.1, 0.2], sample_weight=[1.0, -1.0])


# --------------------------------------------------------------------------- #
# array API
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("weighted", [False, True])
def test_array_api(combination, weighted):
    y_true, y_pred, conf, sw = _data(6, n=100, n_levels=8, weighted=weighted)
    for func in (aurc, selective_auc, risk_coverage_curve):
        assert_same_on_namespace(
            lambda yt, yp, c, w, func=func: func(yt, yp, c, sample_weight=w),
            (y_true, y_pred, conf, sw),
            combination=combination,
        )
    accepted = conf > 0.4
    assert_same_on_namespace(
        lambda yt, yp, a, w: selective_risk(yt, yp, accepted=a, sample_weight=w),
        (y_true, y_pred, accepted, sw),
        combination=combination,
    )
    assert_same_on_namespace(
        lambda yp, w: selective_risk(y_true, yp, abstain_label=2, sample_weight=w),
        (y_pred, sw),
        combination=combination,
    )
    assert_same_on_namespace(
        lambda yp, a, w: selective_coverage(
            yp, accepted=a, abstain_label=2, sample_weight=w
        ),
        (y_pred, accepted, sw),
        combination=combination,
    )
    # string labels stay NumPy, the confidence lives on the device
    labels = np.array(["x", "y", "z"])
    assert_same_on_namespace(
        lambda c: aurc(labels[y_true], labels[y_pred], c),
        (conf,),
        combination=combination,
    )
