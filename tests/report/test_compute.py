"""The report's numbers equal direct calls of skcalib's metrics and calibrators."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ShuffleSplit, StratifiedKFold

from skcalib.calibration import TemperatureScaling
from skcalib.metrics import (
    adaptive_calibration_error,
    bootstrap_confidence_interval,
    brier_score,
    expected_calibration_error,
    negative_log_likelihood,
    smooth_ece,
)
from skcalib.report import ScoreModel, calibration_report, fit_score_calibrator
from skcalib.report._compute import METRICS, _calibrators, _conformal
from skcalib.utils._array_api import softmax
from skcalib.utils._validation import check_probabilities


def _data(n=240, k=3, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    logits = scale * (1.5 * np.eye(k)[y] + rng.normal(0, 1, (n, k)))
    return y, logits


@pytest.fixture(scope="module")
def report():
    y, logits = _data()
    ood = np.random.default_rng(1).normal(0, 1, (80, 3))
    return calibration_report(
        y,
        logits,
        logits=True,
        ood_score=ood,
        n_bootstrap=30,
        n_conformal_splits=4,
        random_state=0,
    )


def test_metrics_equal_direct_calls(report):
    y, logits = _data()
    proba = softmax(logits, axis=1)
    direct = {
        "accuracy": np.mean(proba.argmax(axis=1) == y),
        "NLL": negative_log_likelihood(y, proba),
        "Brier": brier_score(y, proba),
        "ECE": expected_calibration_error(y, proba),
        "ACE": adaptive_calibration_error(y, proba),
        "smooth ECE": smooth_ece(y, proba),
    }
    assert [r["metric"] for r in report.metrics] == list(direct)
    for row in report.metrics:
        assert row["estimate"] == pytest.approx(direct[row["metric"]], rel=1e-12)
        assert row["low"] <= row["estimate"] <= row["high"]
    # the intervals are bootstrap_confidence_interval's with the same draws
    rng = np.random.RandomState(0)
    first = bootstrap_confidence_interval(
        METRICS["accuracy"],
        y,
        proba,
        n_resamples=30,
        random_state=rng,
        labels=np.arange(3),
    )
    assert (report.metrics[0]["low"], report.metrics[0]["high"]) == (
        first.low,
        first.high,
    )


def test_calibrators_out_of_fold(report):
    y, logits = _data()
    rows = {r["method"]: r for r in report.calibrators}
    assert list(rows) == [
        "none",
        "temperature",
        "vector",
        "dirichlet",
        "isotonic",
        "histogram",
    ]
    proba = softmax(logits, axis=1)
    assert rows["none"]["NLL"] == pytest.approx(negative_log_likelihood(y, proba))
    oof = report.calibrated_proba["temperature"]
    assert rows["temperature"]["NLL"] == pytest.approx(
        negative_log_likelihood(y, oof), rel=1e-12
    )
    # overconfident logits (scale 3): temperature scaling must help out of fold
    assert rows["temperature"]["NLL"] < rows["none"]["NLL"] - 0.05
    assert report.best["NLL"] == min(rows.values(), key=lambda r: r["NLL"])["method"]
    assert report.best["ECE"] == min(rows.values(), key=lambda r: r["ECE"])["method"]
    for method, proba_m in report.calibrated_proba.items():
        check_probabilities(proba_m, name=method)


def test_cross_fitting_by_hand():
    y, logits = _data()
    proba = softmax(logits, axis=1)
    rows, best, oof = _calibrators(
        logits,
        y,
        proba,
        np.arange(3),
        ["temperature"],
        True,
        4,
        np.random.RandomState(5),
        lambda it, d, t: it,
    )
    seed = np.random.RandomState(5).randint(2**31)
    expected = np.zeros_like(proba)
    for train, test in StratifiedKFold(4, shuffle=True, random_state=seed).split(
        logits, y
    ):
        fitted = TemperatureScaling().fit(logits[train], y[train])
        expected[test] = fitted.predict_proba(logits[test])
    np.testing.assert_allclose(oof["temperature"], expected, rtol=1e-6)
    assert rows[1]["NLL"] == pytest.approx(negative_log_likelihood(y, expected))
    assert rows[1]["converged"]


def test_fit_score_calibrator_equals_calibrator():
    y, logits = _data()
    model = fit_score_calibrator(logits, y, method="temperature", logits=True)
    direct = TemperatureScaling().fit(logits, y)
    np.testing.assert_allclose(
        model.predict_proba(logits), direct.predict_proba(logits), rtol=1e-6
    )
    # probabilities in: temperature scaling sees their logarithm
    proba = softmax(logits, axis=1)
    model = fit_score_calibrator(proba, y, method="temperature")
    direct = TemperatureScaling().fit(np.log(proba + 1e-12), y)
    np.testing.assert_allclose(
        model.predict_proba(proba),
        direct.predict_proba(np.log(proba + 1e-12)),
        rtol=1e-6,
    )


def test_score_model_binary_decision():
    model = ScoreModel(logits=True).fit(np.zeros((2, 2)), [0, 1])
    np.testing.assert_allclose(model.decision_function([[1.0, 3.0]]), [2.0])
    assert not hasattr(ScoreModel(), "decision_function")


def test_conformal_matches_hand_computed_lac():
    y, logits = _data(n=101)
    proba = softmax(logits, axis=1)
    rng = np.random.RandomState(3)
    table, curves = _conformal(y, proba, np.arange(3), 1, rng, lambda it, d, t: it)
    # the split the function drew: replay the generator
    replay = np.random.RandomState(3)
    cal, test = next(
        ShuffleSplit(1, test_size=0.5, random_state=replay.randint(2**31)).split(proba)
    )
    scores = np.sort(1 - proba[cal, y[cal]])
    for row in (r for r in table if r["score"] == "LAC"):
        rank = math.ceil((len(cal) + 1) * row["level"])
        sets = 1 - proba[test] <= scores[rank - 1]
        assert row["coverage"] == pytest.approx(
            sets[np.arange(len(test)), y[test]].mean()
        )
        assert row["set_size"] == pytest.approx(sets.sum(axis=1).mean())


def test_conformal_coverage_close_to_level(report):
    # 4 splits of 120 test points: the mean coverage is within 3 standard errors
    for row in report.conformal:
        se = math.sqrt(row["level"] * (1 - row["level"]) / (4 * 120))
        assert row["coverage"] > row["level"] - 3 * se - 1 / 121
    levels, coverage, size = report.coverage_curves["APS"]
    assert levels[0] == 0.5 and np.all(np.diff(size) >= -1e-12)


def test_ood_auroc_equals_sklearn(report):
    y, logits = _data()
    ood = np.random.default_rng(1).normal(0, 1, (80, 3))
    msp = np.r_[softmax(logits, axis=1).max(axis=1), softmax(ood, axis=1).max(axis=1)]
    is_in = np.r_[np.ones(240), np.zeros(80)]
    rows = {r["detector"]: r for r in report.ood}
    assert set(rows) == {"MSP", "entropy", "GEN", "max logit", "energy"}
    assert rows["MSP"]["AUROC"] == pytest.approx(roc_auc_score(is_in, msp))
    assert rows["MSP"]["AUROC"] > 0.8


def test_probabilities_detectors_and_errors():
    y, logits = _data(n=60)
    proba = softmax(logits, axis=1)
    rep = calibration_report(
        y,
        proba,
        ood_score=proba[:10],
        n_bootstrap=5,
        n_conformal_splits=2,
        methods=["temperature"],
    )
    assert [r["detector"] for r in rep.ood] == ["MSP", "entropy", "GEN"]
    assert [r["method"] for r in rep.calibrators] == ["none", "temperature"]
    with pytest.raises(ValueError, match="at least 2 samples; class 2 has 1"):
        calibration_report(np.r_[y[y < 2], 2], proba[: (y < 2).sum() + 1])
    with pytest.raises(ValueError, match="ood_score has 2 columns"):
        calibration_report(y, proba, ood_score=proba[:, :2])
