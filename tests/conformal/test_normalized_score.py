"""NormalizedResidualScore |y - y_hat| / sigma(x), in SplitConformalRegressor."""

import math

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import PredefinedSplit, ShuffleSplit, train_test_split
from sklearn.neighbors import KNeighborsRegressor

from skcalib.conformal import SplitConformalRegressor
from skcalib.conformal.scores import resolve_conformity_score
from skcalib.conformal.scores._regression import NormalizedResidualScore
from skcalib.metrics import interval_coverage_score
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace
from skcalib.utils.estimator_checks import _binomial_tolerance


def _noisy_where_far(n, seed=0):
    """Linear targets whose noise grows with |x_0|."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.2 + np.abs(X[:, 0]))
    return X, y


class _Exp(RegressorMixin, BaseEstimator):
    """``exp`` of a fitted regressor's prediction (a 'sigma' model for MAPIE)."""

    def __init__(self, log_model=None):
        self.log_model = log_model

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.exp(self.log_model.predict(X))


class _Quadratic(RegressorMixin, BaseEstimator):
    """A 'fitted model' predicting ``1 + x_0 ** 2`` (any namespace)."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return X[:, 0] * X[:, 0] + 1.0


def _sigma(model):
    return FrozenEstimator(model.fit(np.zeros((1, 1)), np.zeros(1)))


# --------------------------------------------------------------------------- #
# The score by hand
# --------------------------------------------------------------------------- #
def test_alias():
    score = resolve_conformity_score("normalized", task="regression")
    assert isinstance(score, NormalizedResidualScore)
    assert score.get_params() == {
        "sigma_estimator": None,
        "log_residuals": True,
        "beta": 0.0,
    }


def test_scores_and_intervals_by_hand():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y_pred = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([2.0, 0.0, 3.5, 4.0])
    sigma = 1.0 + X[:, 0] ** 2  # 1, 2, 5, 10
    score = NormalizedResidualScore(_sigma(_Quadratic()), log_residuals=False)
    np.testing.assert_allclose(score.difficulty(X), sigma)
    np.testing.assert_allclose(
        score.conformity_scores(y, y_pred, X=X), np.abs(y - y_pred) / sigma
    )
    intervals = score.intervals(y_pred, np.array([0.5, np.inf]), X=X)
    np.testing.assert_allclose(intervals[:, 0, 0], y_pred - 0.5 * sigma)
    np.testing.assert_allclose(intervals[:, 1, 0], y_pred + 0.5 * sigma)
    assert np.all(np.isneginf(intervals[:, 0, 1])) and np.all(
        np.isposinf(intervals[:, 1, 1])
    )
    # Per-sample thresholds are scaled too.
    per_sample = score.intervals(y_pred, np.full((4, 1), 2.0), X=X)
    np.testing.assert_allclose(per_sample[:, 1, 0] - per_sample[:, 0, 0], 4 * sigma)
    # log_residuals: sigma = exp(prediction); beta is added.
    log_score = NormalizedResidualScore(_sigma(_Quadratic()), beta=0.5)
    np.testing.assert_allclose(log_score.difficulty(X), np.exp(sigma) + 0.5)
    np.testing.assert_allclose(
        log_score.conformity_scores(y, y_pred, X=X),
        np.abs(y - y_pred) / (np.exp(sigma) + 0.5),
    )


def test_sigma_floor():
    X = np.array([[-1.0], [0.0], [2.0]])
    negative = LinearRegression().fit(X, X[:, 0])  # sigma model predicting x
    score = NormalizedResidualScore(FrozenEstimator(negative), log_residuals=False)
    np.testing.assert_allclose(score.difficulty(X), [1e-8, 1e-8, 2.0])
    scores = score.conformity_scores([1.0, 1.0, 1.0], np.zeros(3), X=X)
    assert np.all(np.isfinite(scores))
    np.testing.assert_allclose(scores, [1e8, 1e8, 0.5])


def test_tune_fits_the_difficulty_model_on_training_rows():
    X, y = _noisy_where_far(300)
    model = LinearRegression().fit(X, y)
    y_pred = model.predict(X)
    score = NormalizedResidualScore()
    tuned = score.tune(X, y, y_pred)
    assert score.sigma_estimator is None  # stateless: a new score is returned
    assert isinstance(tuned.sigma_estimator, FrozenEstimator)
    assert not tuned._needs_tuning() and score._needs_tuning()
    assert tuned.tune(X, y, y_pred) is tuned
    target = np.log(np.maximum(np.abs(y - y_pred), 1e-8))
    expected = LinearRegression().fit(X, target)
    np.testing.assert_allclose(tuned.sigma_estimator.estimator.coef_, expected.coef_)
    np.testing.assert_allclose(tuned.difficulty(X), np.exp(expected.predict(X)))
    # Absolute residuals, the given estimator (cloned) and sample weights.
    w = np.random.RandomState(0).uniform(0.1, 3, size=len(y))
    ridge = Ridge(alpha=3.0)
    tuned = NormalizedResidualScore(ridge, log_residuals=False, beta=0.1).tune(
        X, y, y_pred, sample_weight=w
    )
    assert not hasattr(ridge, "coef_")
    expected = Ridge(alpha=3.0).fit(X, np.abs(y - y_pred), sample_weight=w)
    np.testing.assert_allclose(tuned.sigma_estimator.estimator.coef_, expected.coef_)
    assert tuned.get_params()["beta"] == 0.1 and not tuned.log_residuals
    # An estimator without sample_weight in fit gets none.
    NormalizedResidualScore(KNeighborsRegressor()).tune(X, y, y_pred, sample_weight=w)


def test_errors():
    X = np.zeros((3, 1))
    with pytest.raises(ValueError, match="needs a fitted sigma_estimator"):
        NormalizedResidualScore().difficulty(X)
    score = NormalizedResidualScore(_sigma(_Quadratic()))
    with pytest.raises(ValueError, match="X must be passed"):
        score.conformity_scores([1.0, 2.0, 3.0], np.zeros(3))
    with pytest.raises(ValueError, match="X must be passed"):
        score.intervals(np.zeros(3), np.array([1.0]))
    with pytest.raises(ValueError, match="X has 3 samples but y_pred has 2"):
        score.conformity_scores([1.0, 2.0], np.zeros(2), X=X)
    X, y = _noisy_where_far(60)
    with pytest.raises(ValueError, match="beta"):
        SplitConformalRegressor(
            conformity_score=NormalizedResidualScore(beta=-1.0)
        ).fit(X, y)
    with pytest.raises(ValueError, match="sigma_estimator"):
        SplitConformalRegressor(
            conformity_score=NormalizedResidualScore(sigma_estimator="knn")
        ).fit(X, y)


@pytest.mark.parametrize("combination", array_api_combinations())
def test_score_array_api(combination):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y_pred = rng.normal(size=50)
    y = y_pred + rng.normal(size=50) * (1 + X[:, 0] ** 2)
    thresholds = np.array([0.5, 1.5])

    def run(X, y, y_pred, thresholds):
        out = []
        for log_residuals in (True, False):
            score = NormalizedResidualScore(
                _sigma(_Quadratic()), log_residuals=log_residuals, beta=0.1
            )
            out.append(score.conformity_scores(y, y_pred, X=X))
            out.append(score.intervals(y_pred, thresholds, X=X))
        return out

    assert_same_on_namespace(run, (X, y, y_pred, thresholds), combination=combination)


# --------------------------------------------------------------------------- #
# In SplitConformalRegressor
# --------------------------------------------------------------------------- #
def test_split_regressor_by_hand():
    X, y = _noisy_where_far(500)
    reg = SplitConformalRegressor(
        conformity_score="normalized", confidence_level=0.9, random_state=0
    ).fit(X, y)
    splitter = ShuffleSplit(
        n_splits=1, test_size=0.3, random_state=np.random.RandomState(0)
    )
    train, cal = next(splitter.split(X, y))
    model = LinearRegression().fit(X[train], y[train])
    residuals = np.abs(y[train] - model.predict(X[train]))
    log_sigma = LinearRegression().fit(X[train], np.log(residuals))
    sigma_cal = np.exp(log_sigma.predict(X[cal]))
    scores = np.abs(y[cal] - model.predict(X[cal])) / sigma_cal
    np.testing.assert_allclose(np.sort(reg.conformity_scores_), np.sort(scores))
    q = np.sort(scores)[math.ceil((len(cal) + 1) * 0.9) - 1]
    np.testing.assert_allclose(reg.quantiles_, q)
    half = q * np.exp(log_sigma.predict(X))
    y_hat = model.predict(X)
    np.testing.assert_allclose(
        reg.predict_interval(X), np.stack([y_hat - half, y_hat + half], axis=1)
    )
    np.testing.assert_allclose(
        reg.conformity_score_.sigma_estimator.estimator.coef_, log_sigma.coef_
    )
    assert reg.get_params()["conformity_score"] == "normalized"


def test_frozen_model_splits_only_for_the_difficulty_model():
    X, y = _noisy_where_far(400)
    model = LinearRegression().fit(X[:100], y[:100])
    reg = SplitConformalRegressor(
        FrozenEstimator(model), conformity_score="normalized", random_state=0
    ).fit(X[100:], y[100:])
    assert reg.conformity_scores_.shape == (90,)  # calibration_size=0.3 of 300
    np.testing.assert_array_equal(reg.estimator_.estimator.coef_, model.coef_)
    # A frozen difficulty model too: nothing to fit, every row calibrates.
    reg = SplitConformalRegressor(
        FrozenEstimator(model),
        conformity_score=reg.conformity_score_,
    ).fit(X[100:], y[100:])
    assert reg.conformity_scores_.shape == (300,)


def test_intervals_adapt_to_the_noise():
    X, y = _noisy_where_far(4000, seed=1)
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, random_state=0)
    covered, widths = {}, {}
    for name in ("absolute", "normalized"):
        reg = SplitConformalRegressor(
            conformity_score=NormalizedResidualScore(KNeighborsRegressor(50))
            if name == "normalized"
            else name,
            random_state=0,
        ).fit(X_fit, y_fit)
        intervals = reg.predict_interval(X_test)
        covered[name] = (intervals[:, 0] <= y_test) & (y_test <= intervals[:, 1])
        widths[name] = intervals[:, 1] - intervals[:, 0]
    far = np.abs(X_test[:, 0]) > 1.5
    near = np.abs(X_test[:, 0]) < 0.5
    assert widths["normalized"][far].mean() > 2 * widths["normalized"][near].mean()
    # Constant widths under-cover where the noise is large; sigma(x) fixes it.
    assert covered["absolute"][far].mean() < 0.8
    assert covered["normalized"][far].mean() > 0.85
    assert covered["normalized"][near].mean() > 0.85


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95])
def test_mapie_parity(level):
    pytest.importorskip("mapie.regression")
    from mapie.conformity_scores import ResidualNormalisedScore
    from mapie.regression import SplitConformalRegressor as MapieSplit

    X, y = _noisy_where_far(1400, seed=2)
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, train_size=600, random_state=0
    )
    X_cal, X_test, y_cal, _ = train_test_split(
        X_rest, y_rest, train_size=500, random_state=1
    )
    model = LinearRegression().fit(X_train, y_train)
    target = np.log(np.abs(y_train - model.predict(X_train)))
    log_sigma = LinearRegression().fit(X_train, target)

    # Prefit difficulty model: MAPIE's predicts sigma itself.
    mapie = MapieSplit(
        model,
        confidence_level=level,
        conformity_score=ResidualNormalisedScore(
            residual_estimator=_Exp(log_sigma).fit(X_train, target), prefit=True
        ),
        prefit=True,
    ).conformalize(X_cal, y_cal)
    _, expected = mapie.predict_interval(X_test)
    for score in (
        NormalizedResidualScore(FrozenEstimator(log_sigma)),
        NormalizedResidualScore(
            FrozenEstimator(_Exp(log_sigma).fit(X_train, target)), log_residuals=False
        ),
    ):
        ours = SplitConformalRegressor(
            FrozenEstimator(model), conformity_score=score, confidence_level=level
        ).fit(X_cal, y_cal)
        np.testing.assert_allclose(
            ours.predict_interval(X_test), expected[:, :, 0], rtol=0, atol=1e-8
        )

    # Not prefit: MAPIE fits the difficulty model on a random quarter of the
    # calibration rows; the same rows as our training rows give the same intervals.
    mapie = MapieSplit(
        model,
        confidence_level=level,
        conformity_score=ResidualNormalisedScore(random_state=5),
        prefit=True,
    ).conformalize(X_cal, y_cal)
    _, expected = mapie.predict_interval(X_test)
    cal_rows, _ = train_test_split(np.arange(len(y_cal)), random_state=5)
    test_fold = np.full(len(y_cal), -1)
    test_fold[cal_rows] = 0
    ours = SplitConformalRegressor(
        FrozenEstimator(model),
        conformity_score="normalized",
        confidence_level=level,
        calibration_size=PredefinedSplit(test_fold),
    ).fit(X_cal, y_cal)
    np.testing.assert_allclose(
        ours.predict_interval(X_test), expected[:, :, 0], rtol=0, atol=1e-8
    )


def test_integer_weights_equal_repeated_rows():
    X, y = _noisy_where_far(300)
    model = FrozenEstimator(LinearRegression().fit(X[:100], y[:100]))
    score = NormalizedResidualScore(
        FrozenEstimator(KNeighborsRegressor(20).fit(X[:100], np.abs(y[:100]))),
        log_residuals=False,
    )
    w = np.random.RandomState(0).randint(0, 4, size=200)
    reg = SplitConformalRegressor(
        model, conformity_score=score, confidence_level=[0.7, 0.9]
    )
    weighted = reg.fit(X[100:], y[100:], sample_weight=w).predict_interval(X[:10])
    repeated = reg.fit(
        np.repeat(X[100:], w, axis=0), np.repeat(y[100:], w)
    ).predict_interval(X[:10])
    np.testing.assert_allclose(weighted, repeated)


# --------------------------------------------------------------------------- #
# Coverage over random splits
# --------------------------------------------------------------------------- #
def _check_normalized_coverage(n_splits, level, n_cal=200, n_test=1000):
    """End to end: the model and sigma(x) are refitted on every random split."""
    X, y = _noisy_where_far(500 + n_cal + n_test, seed=21)
    covs = []
    for seed in range(n_splits):
        perm = np.random.RandomState(seed).permutation(len(y))
        fit, test = perm[: 500 + n_cal], perm[500 + n_cal :]
        reg = SplitConformalRegressor(
            conformity_score="normalized",
            confidence_level=level,
            calibration_size=n_cal,
            random_state=seed,
        ).fit(X[fit], y[fit])
        covs.append(interval_coverage_score(y[test], reg.predict_interval(X[test])))
    # Four standard deviations of the mean of the per-split coverages.
    tol = 4 / 3 * _binomial_tolerance(level, n_test, n_cal + 2) / math.sqrt(n_splits)
    mean = float(np.mean(covs))
    assert level - tol <= mean <= level + 1 / (n_cal + 1) + tol, (mean, level, tol)


def test_coverage_fast():
    _check_normalized_coverage(30, 0.9)


@pytest.mark.slow
@pytest.mark.parametrize("level", [0.8, 0.9, 0.95])
def test_coverage_many_splits(level):
    _check_normalized_coverage(250, level)
