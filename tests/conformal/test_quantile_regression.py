"""ConformalizedQuantileRegressor and CQRScore (Romano, Patterson and Candès 2019)."""

import warnings

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, QuantileRegressor
from sklearn.model_selection import GridSearchCV, PredefinedSplit, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcalib.conformal._quantile_regression import ConformalizedQuantileRegressor
from skcalib.conformal.scores._regression import CQRScore
from skcalib.metrics import interval_coverage_score, mean_interval_width
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace
from skcalib.utils.estimator_checks import _binomial_tolerance

N_TEST = 1000


def _heteroscedastic(n, seed=0):
    """Targets whose noise grows with the first feature."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(0, 4, size=(n, 2))
    y = X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.1 + X[:, 0])
    return X, y


def _train_cal_test(n_train=500, n_cal=400, n_test=300, seed=0):
    X, y = _heteroscedastic(n_train + n_cal + n_test, seed)
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, train_size=n_train, random_state=seed
    )
    X_cal, X_test, y_cal, _ = train_test_split(
        X_rest, y_rest, train_size=n_cal, random_state=seed + 1
    )
    return X_train, y_train, X_cal, y_cal, X_test


def _split_as(X_train, y_train, X_cal, y_cal):
    """Stacked data and a splitter whose split is exactly (train, calibration)."""
    X = np.vstack([X_train, X_cal])
    y = np.concatenate([y_train, y_cal])
    test_fold = np.r_[np.full(len(y_train), -1), np.zeros(len(y_cal))]
    return X, y, PredefinedSplit(test_fold)


def _empty_as_midpoint(intervals):
    """MAPIE's intervals with the empty (inverted) ones as their midpoint."""
    lower, upper = intervals[:, 0].copy(), intervals[:, 1].copy()
    empty = lower > upper
    mid = (lower + upper) / 2
    lower[empty], upper[empty] = mid[empty], mid[empty]
    return np.stack([lower, upper], axis=1)


# --------------------------------------------------------------------------- #
# CQRScore by hand
# --------------------------------------------------------------------------- #
def test_cqr_score_by_hand():
    bands = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 4.0], [-1.0, 1.0]])
    y = np.array([0.5, 1.5, -1.0, 0.9])
    np.testing.assert_allclose(
        CQRScore().conformity_scores(y, bands), [-0.5, 0.5, 3.0, -0.1]
    )
    np.testing.assert_allclose(
        CQRScore(symmetric=False).conformity_scores(y, bands),
        [[-0.5, -0.5], [-1.5, 0.5], [3.0, -5.0], [-1.9, -0.1]],
    )
    # n = 4: level 0.6 -> rank ceil(5 * 0.6) = 3; asymmetric: level 0.8 -> rank 4.
    np.testing.assert_allclose(
        CQRScore().thresholds(CQRScore().conformity_scores(y, bands), 0.6), [0.5, 0.5]
    )
    scores = CQRScore(symmetric=False).conformity_scores(y, bands)
    np.testing.assert_allclose(
        CQRScore(symmetric=False).thresholds(scores, [0.6, 0.9]),
        [[3.0, np.inf], [0.5, np.inf]],
    )
    intervals = CQRScore().intervals(bands, np.array([[0.5, -0.25], [0.5, -0.25]]))
    np.testing.assert_allclose(intervals[0], [[-0.5, 0.25], [1.5, 0.75]])
    # An empty set (correction below minus half the band) is its midpoint.
    empty = CQRScore().intervals(bands[:1], np.array([-0.75, -0.75]))
    np.testing.assert_allclose(empty[:, :, 0], [[0.5, 0.5]])
    infinite = CQRScore().intervals(bands[:1], np.array([np.inf, np.inf]))
    assert np.isneginf(infinite[0, 0, 0]) and np.isposinf(infinite[0, 1, 0])


def test_cqr_score_validation():
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        CQRScore().conformity_scores([1.0, 2.0], np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="same length"):
        CQRScore().conformity_scores([1.0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="thresholds must have shape"):
        CQRScore().intervals(np.zeros((2, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="symmetric"):
        ConformalizedQuantileRegressor(conformity_score=CQRScore(symmetric="yes")).fit(
            *_heteroscedastic(50)
        )


@pytest.mark.parametrize("combination", array_api_combinations())
def test_cqr_score_array_api(combination):
    rng = np.random.default_rng(0)
    lower = rng.normal(size=40)
    bands = np.stack([lower, lower + rng.uniform(0.5, 2, size=40)], axis=1)
    y = lower + rng.normal(size=40)
    weight = rng.uniform(0.5, 2, size=40)

    def run(y, bands, weight):
        out = []
        for symmetric in (True, False):
            score = CQRScore(symmetric=symmetric)
            scores = score.conformity_scores(y, bands)
            t = score.thresholds(scores, [0.5, 0.9], sample_weight=weight)
            out.extend([scores, t, score.intervals(bands, t)])
        return out

    assert_same_on_namespace(run, (y, bands, weight), combination=combination)


# --------------------------------------------------------------------------- #
# MAPIE parity
# --------------------------------------------------------------------------- #
_ESTIMATORS = {
    "linear": QuantileRegressor(alpha=0.0, solver="highs"),
    "boosting": GradientBoostingRegressor(
        loss="quantile", n_estimators=50, random_state=0
    ),
}


@pytest.mark.parametrize("model", sorted(_ESTIMATORS))
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("level", [0.8, 0.9])
def test_mapie_parity(model, symmetric, level):
    mapie_regression = pytest.importorskip("mapie.regression")
    estimator = _ESTIMATORS[model]
    X_train, y_train, X_cal, y_cal, X_test = _train_cal_test()
    mapie = mapie_regression.ConformalizedQuantileRegressor(
        estimator, confidence_level=level
    )
    mapie.fit(X_train, y_train).conformalize(X_cal, y_cal)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MAPIE warns on crossing quantiles
        expected_point, expected = mapie.predict_interval(
            X_test, symmetric_correction=symmetric
        )
    expected = expected[:, :, 0]
    if model == "linear":  # no empty set here: the raw intervals agree
        assert np.all(expected[:, 0] <= expected[:, 1])
    X, y, split = _split_as(X_train, y_train, X_cal, y_cal)
    ours = ConformalizedQuantileRegressor(
        estimator,
        conformity_score=CQRScore(symmetric=symmetric),
        confidence_level=level,
        calibration_size=split,
    ).fit(X, y)
    np.testing.assert_allclose(ours.predict(X_test), expected_point, atol=1e-8)
    np.testing.assert_allclose(
        ours.predict_interval(X_test), _empty_as_midpoint(expected), rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(
        ours.conformity_scores_.T if not symmetric else ours.conformity_scores_,
        mapie.conformity_scores[:2] if not symmetric else mapie.conformity_scores[2],
        atol=1e-12,
    )
    # Prefit: the same three models, frozen; all the calibration rows calibrate.
    models = mapie._mapie_quantile_regressor.estimators_
    prefit = mapie_regression.ConformalizedQuantileRegressor(
        models, confidence_level=level, prefit=True
    ).conformalize(X_cal, y_cal)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, expected_prefit = prefit.predict_interval(
            X_test, symmetric_correction=symmetric
        )
    frozen = ConformalizedQuantileRegressor(
        [FrozenEstimator(m) for m in models],
        conformity_score=CQRScore(symmetric=symmetric),
        confidence_level=level,
    ).fit(X_cal, y_cal)
    np.testing.assert_allclose(
        frozen.predict_interval(X_test),
        _empty_as_midpoint(expected_prefit[:, :, 0]),
        rtol=0,
        atol=1e-8,
    )


def test_mapie_parity_default_estimator():
    mapie_regression = pytest.importorskip("mapie.regression")
    X_train, y_train, X_cal, y_cal, X_test = _train_cal_test(seed=3)
    mapie = mapie_regression.ConformalizedQuantileRegressor(confidence_level=0.85)
    mapie.fit(X_train, y_train).conformalize(X_cal, y_cal)
    point, expected = mapie.predict_interval(X_test, symmetric_correction=True)
    X, y, split = _split_as(X_train, y_train, X_cal, y_cal)
    ours = ConformalizedQuantileRegressor(
        confidence_level=0.85, calibration_size=split
    ).fit(X, y)
    np.testing.assert_allclose(ours.predict(X_test), point, atol=1e-8)
    np.testing.assert_allclose(
        ours.predict_interval(X_test), expected[:, :, 0], rtol=0, atol=1e-8
    )


# --------------------------------------------------------------------------- #
# Levels, models, predictions
# --------------------------------------------------------------------------- #
def test_levels_at_predict_time_without_refit():
    X, y = _heteroscedastic(1200)
    reg = ConformalizedQuantileRegressor(confidence_level=0.8, random_state=0)
    reg.fit(X[:900], y[:900])
    assert reg.nominal_level_ == 0.8
    assert [m.quantile for m in reg.estimators_] == [0.1, 0.9, 0.5]
    assert reg.quantiles_.shape == (2,)
    models = list(reg.estimators_)
    single = reg.predict_interval(X[900:])
    reg.set_params(confidence_level=[0.5, 0.8, 0.95])
    stacked = reg.predict_interval(X[900:])
    assert all(a is b for a, b in zip(models, reg.estimators_, strict=True))
    assert stacked.shape == (300, 2, 3)
    np.testing.assert_allclose(stacked[:, :, 1], single)
    assert np.all(stacked[:, 0, 2] <= stacked[:, 0, 1])
    assert np.all(stacked[:, 1, 1] <= stacked[:, 1, 2])
    assert np.all(np.diff(mean_interval_width(stacked)) > 0)
    # A list at fit time: the models are fitted for the highest level.
    reg = ConformalizedQuantileRegressor(
        confidence_level=[0.5, 0.9], random_state=0
    ).fit(X[:900], y[:900])
    assert reg.nominal_level_ == 0.9 and reg.quantiles_.shape == (2, 2)
    reg = ConformalizedQuantileRegressor(nominal_level=0.6, random_state=0)
    assert [m.quantile for m in reg.fit(X, y).estimators_] == [0.2, 0.8, 0.5]


def test_intervals_adapt_to_the_noise():
    X, y = _heteroscedastic(3000, seed=1)
    reg = ConformalizedQuantileRegressor(random_state=0).fit(X[:2000], y[:2000])
    intervals = reg.predict_interval(X[2000:])
    width = intervals[:, 1] - intervals[:, 0]
    low_noise, high_noise = X[2000:, 0] < 1, X[2000:, 0] > 3
    assert width[high_noise].mean() > 3 * width[low_noise].mean()
    # Coverage holds in both regions (adaptive), roughly.
    covered = (intervals[:, 0] <= y[2000:]) & (y[2000:] <= intervals[:, 1])
    assert covered[low_noise].mean() > 0.8 and covered[high_noise].mean() > 0.8


def test_point_prediction():
    X, y = _heteroscedastic(600)
    median = ConformalizedQuantileRegressor(random_state=0).fit(X, y)
    np.testing.assert_allclose(median.predict(X), median.estimators_[2].predict(X))
    mid = ConformalizedQuantileRegressor(
        point_prediction="midpoint", random_state=0
    ).fit(X, y)
    assert len(mid.estimators_) == 2
    bands = np.stack([m.predict(X) for m in mid.estimators_], axis=1)
    np.testing.assert_allclose(mid.predict(X), bands.mean(axis=1))
    np.testing.assert_allclose(mid.predict_interval(X), median.predict_interval(X))
    assert mid.score(X, y) > 0.2


def test_frozen_models_use_all_rows_and_are_not_refitted():
    X_train, y_train, X_cal, y_cal, X_test = _train_cal_test()
    models = [
        QuantileRegressor(alpha=0.0, quantile=q).fit(X_train, y_train)
        for q in (0.05, 0.95)
    ]
    coefs = [m.coef_.copy() for m in models]
    reg = ConformalizedQuantileRegressor(
        [FrozenEstimator(m) for m in models], point_prediction="midpoint"
    ).fit(X_cal, y_cal)
    assert reg.conformity_scores_.shape == (len(y_cal),)
    assert reg.nominal_level_ is None
    for model, coef in zip(reg.estimators_, coefs, strict=True):
        np.testing.assert_array_equal(model.estimator.coef_, coef)
    # By hand: the conformal quantile of max(lo - y, y - hi), ceil(401 * 0.9) = 361.
    lo, hi = (m.predict(X_cal) for m in models)
    q = np.sort(np.maximum(lo - y_cal, y_cal - hi))[360]
    expected = np.stack(
        [models[0].predict(X_test) - q, models[1].predict(X_test) + q], axis=1
    )
    np.testing.assert_allclose(reg.predict_interval(X_test), expected)


def test_estimator_errors():
    X, y = _heteroscedastic(100)
    model = QuantileRegressor(alpha=0.0).fit(X, y)
    with pytest.raises(ValueError, match="single FrozenEstimator"):
        ConformalizedQuantileRegressor(FrozenEstimator(model)).fit(X, y)
    with pytest.raises(ValueError, match="wrapped in FrozenEstimator"):
        ConformalizedQuantileRegressor([model, FrozenEstimator(model)]).fit(X, y)
    with pytest.raises(ValueError, match="wrapped in FrozenEstimator"):
        ConformalizedQuantileRegressor([FrozenEstimator(model)] * 4).fit(X, y)
    with pytest.raises(ValueError, match="point_prediction='median' needs"):
        ConformalizedQuantileRegressor([FrozenEstimator(model)] * 2).fit(X, y)
    with pytest.raises(ValueError, match="loss='quantile'"):
        ConformalizedQuantileRegressor(GradientBoostingRegressor()).fit(X, y)
    with pytest.raises(ValueError, match="pass its name as quantile_param"):
        ConformalizedQuantileRegressor(LinearRegression()).fit(X, y)
    with pytest.raises(ValueError, match="nominal_level"):
        ConformalizedQuantileRegressor(nominal_level=1.5).fit(X, y)
    with pytest.raises(ValueError, match="point_prediction"):
        ConformalizedQuantileRegressor(point_prediction="mean").fit(X, y)
    with pytest.raises(ValueError, match="conformity_score"):
        ConformalizedQuantileRegressor(conformity_score="absolute").fit(X, y)


class _ShiftedQuantile(RegressorMixin, BaseEstimator):
    """A regressor whose quantile is set by a parameter of another name."""

    def __init__(self, tau=0.5):
        self.tau = tau

    def fit(self, X, y):
        self.offset_ = np.quantile(y - X[:, 0], self.tau)
        return self

    def predict(self, X):
        return X[:, 0] + self.offset_


def test_quantile_param_pipeline_and_custom():
    X, y = _heteroscedastic(600)
    pipe = make_pipeline(
        StandardScaler(), HistGradientBoostingRegressor(loss="quantile", max_iter=10)
    )
    reg = ConformalizedQuantileRegressor(pipe, random_state=0).fit(X, y)
    taus = [m[-1].quantile for m in reg.estimators_]
    assert taus == [0.05, 0.95, 0.5]
    assert pipe[-1].quantile is None  # the user's estimator is not modified
    reg = ConformalizedQuantileRegressor(
        _ShiftedQuantile(), quantile_param="tau", random_state=0
    ).fit(X, y)
    assert [m.tau for m in reg.estimators_] == [0.05, 0.95, 0.5]


def test_too_small_calibration_warns_and_is_infinite():
    X, y = _heteroscedastic(60)
    reg = ConformalizedQuantileRegressor(
        confidence_level=0.9, calibration_size=12, random_state=0
    ).fit(X, y)
    assert np.all(np.isfinite(reg.predict_interval(X[:3])))
    # Asymmetric: each side at level 0.95 needs 19 samples.
    reg.set_params(conformity_score=CQRScore(symmetric=False)).fit(X, y)
    with pytest.warns(UserWarning, match="confidence_level=0.9 needs at least 19"):
        intervals = reg.predict_interval(X[:3])
    assert np.all(np.isneginf(intervals[:, 0])) and np.all(np.isposinf(intervals[:, 1]))
    reg.set_params(confidence_level=[0.8, 0.95])
    with pytest.warns(UserWarning, match="0.95 needs at least 39") as record:
        intervals = reg.predict_interval(X[:3])
    assert "0.8 needs" not in str(record[0].message)
    assert np.all(np.isfinite(intervals[:, :, 0]))
    assert np.all(np.isinf(intervals[:, :, 1]))


def test_integer_weights_equal_repeated_rows():
    X_train, y_train, X_cal, y_cal, X_test = _train_cal_test(n_cal=150)
    models = [
        FrozenEstimator(QuantileRegressor(alpha=0.0, quantile=q).fit(X_train, y_train))
        for q in (0.1, 0.9, 0.5)
    ]
    w = np.random.RandomState(0).randint(0, 4, size=len(y_cal))
    for score in (CQRScore(), CQRScore(symmetric=False)):
        reg = ConformalizedQuantileRegressor(
            models, conformity_score=score, confidence_level=[0.7, 0.9]
        )
        weighted = clone(reg).fit(X_cal, y_cal, sample_weight=w)
        repeated = clone(reg).fit(np.repeat(X_cal, w, axis=0), np.repeat(y_cal, w))
        np.testing.assert_allclose(
            weighted.predict_interval(X_test), repeated.predict_interval(X_test)
        )


def test_sample_weight_reaches_the_quantile_models():
    X, y = _heteroscedastic(400)
    w = np.where(X[:, 0] > 2, 5.0, 1.0)
    split = PredefinedSplit(np.r_[np.full(300, -1), np.zeros(100)])
    reg = ConformalizedQuantileRegressor(calibration_size=split).fit(
        X, y, sample_weight=w
    )
    expected = QuantileRegressor(alpha=0.0, quantile=0.05).fit(
        X[:300], y[:300], sample_weight=w[:300]
    )
    np.testing.assert_allclose(reg.estimators_[0].coef_, expected.coef_)


def test_metadata_routing_of_sample_weight():
    X, y = _heteroscedastic(300)
    w = np.where(X[:, 0] > 2, 5.0, 1.0)
    expected = ConformalizedQuantileRegressor(random_state=0).fit(X, y, sample_weight=w)
    with config_context(enable_metadata_routing=True):
        requested = QuantileRegressor(alpha=0.0).set_fit_request(sample_weight=True)
        routed = ConformalizedQuantileRegressor(requested, random_state=0)
        routed.fit(X, y, sample_weight=w)
        with pytest.raises(UnsetMetadataPassedError):
            ConformalizedQuantileRegressor(random_state=0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(
        routed.predict_interval(X), expected.predict_interval(X), atol=1e-10
    )


def test_clone_gridsearch_pipeline_deterministic():
    X, y = _heteroscedastic(500)
    reg = ConformalizedQuantileRegressor(
        GradientBoostingRegressor(loss="quantile", n_estimators=20, random_state=0),
        random_state=0,
    )
    assert clone(reg).get_params()["conformity_score"] == "cqr"
    search = GridSearchCV(reg, {"estimator__max_depth": [1, 2]}, cv=3).fit(X, y)
    assert search.best_estimator_.predict_interval(X[:3]).shape == (3, 2)
    pipe = make_pipeline(StandardScaler(), clone(reg)).fit(X, y)
    assert pipe.predict(X[:3]).shape == (3,)
    np.testing.assert_array_equal(
        clone(reg).fit(X, y).predict_interval(X),
        clone(reg).fit(X, y).predict_interval(X),
    )


class _Column(RegressorMixin, BaseEstimator):
    """A 'fitted model' predicting one column of its input (any namespace)."""

    def __init__(self, column=0):
        self.column = column

    def fit(self, X, y):
        return self

    def predict(self, X):
        return X[:, self.column]


@pytest.mark.parametrize("combination", array_api_combinations())
def test_predictor_array_api(combination):
    rng = np.random.default_rng(0)
    lower = rng.normal(size=120)
    X = np.stack([lower, lower + 1.0, lower + 0.5], axis=1)
    y = lower + rng.uniform(-0.5, 1.5, size=120)
    models = [FrozenEstimator(_Column(j).fit(X, y)) for j in range(3)]

    def run(X, y):
        out = []
        for score in (CQRScore(), CQRScore(symmetric=False)):
            reg = ConformalizedQuantileRegressor(
                models, conformity_score=score, confidence_level=[0.6, 0.9]
            ).fit(X[:80, ...], y[:80])
            out.extend([reg.predict(X[80:, ...]), reg.predict_interval(X[80:, ...])])
        return out

    assert_same_on_namespace(run, (X, y), combination=combination)


# --------------------------------------------------------------------------- #
# Coverage over random splits
# --------------------------------------------------------------------------- #
def _assert_mean_coverage(covs, level, n_cal, slack):
    """Mean coverage in [level, level + slack] up to 4 sd of the split mean."""
    tol = 4 / 3 * _binomial_tolerance(level, N_TEST, n_cal + 2) / np.sqrt(len(covs))
    mean = float(np.mean(covs))
    assert mean >= level - tol, (mean, level, tol)
    assert mean <= level + slack + tol, (mean, level, slack, tol)


def _slack(score, n_cal):
    """Excess coverage allowed without ties: 1 / (n + 1) per calibrated side."""
    return (1 if score.symmetric else 2) / (n_cal + 1)


def _refitted_coverages(symmetric, n_splits, level=0.9, n_cal=200):
    """Coverage with the quantile models refitted on every random split."""
    X, y = _heteroscedastic(500 + n_cal + N_TEST, seed=7)
    score = CQRScore(symmetric=symmetric)
    covs = []
    for seed in range(n_splits):
        perm = np.random.RandomState(seed).permutation(len(y))
        fit, test = perm[: 500 + n_cal], perm[500 + n_cal :]
        reg = ConformalizedQuantileRegressor(
            conformity_score=score,
            confidence_level=level,
            point_prediction="midpoint",
            calibration_size=n_cal,
            random_state=seed,
        ).fit(X[fit], y[fit])
        covs.append(interval_coverage_score(y[test], reg.predict_interval(X[test])))
    _assert_mean_coverage(covs, level, n_cal, _slack(score, n_cal))


@pytest.mark.parametrize("symmetric", [True, False])
def test_coverage_fast(symmetric):
    _refitted_coverages(symmetric, 30)


@pytest.mark.slow
@pytest.mark.parametrize("symmetric", [True, False])
def test_coverage_many_refitted_splits(symmetric):
    _refitted_coverages(symmetric, 250)


@pytest.mark.slow
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("level", [0.8, 0.9, 0.95])
def test_coverage_many_splits(symmetric, level):
    """Fixed (frozen) quantile models, 300 random calibration/test splits."""
    n_cal = 200
    X_train, y_train = _heteroscedastic(500, seed=11)
    models = [
        FrozenEstimator(
            GradientBoostingRegressor(
                loss="quantile", alpha=q, n_estimators=50, random_state=0
            ).fit(X_train, y_train)
        )
        for q in (0.1, 0.9)  # deliberately not the target level's quantiles
    ]
    X, y = _heteroscedastic(n_cal + N_TEST, seed=12)
    score = CQRScore(symmetric=symmetric)
    bands = np.stack([m.predict(X) for m in models], axis=1)
    reg = ConformalizedQuantileRegressor(
        models,
        conformity_score=score,
        confidence_level=level,
        point_prediction="midpoint",
    )
    covs = []
    for seed in range(300):
        perm = np.random.RandomState(seed).permutation(len(y))
        cal, test = perm[:n_cal], perm[n_cal:]
        reg.fit(X[cal], y[cal])
        covs.append(interval_coverage_score(y[test], reg.predict_interval(X[test])))
    assert np.all(bands[:, 0] <= bands[:, 1])
    _assert_mean_coverage(covs, level, n_cal, _slack(score, n_cal))
