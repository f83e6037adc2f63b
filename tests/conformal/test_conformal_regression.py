"""SplitConformalRegressor and the regression conformity scores."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcalib.conformal import SplitConformalRegressor
from skcalib.conformal.scores import (
    AbsoluteResidualScore,
    GammaScore,
    resolve_conformity_score,
)
from skcalib.metrics import interval_coverage_score, mean_interval_width


def _positive_data(n=1500, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(1, 5, size=(n, 3))
    mean = X @ np.array([1.0, 2.0, 0.5]) + 1.0
    y = rng.gamma(shape=20.0, scale=mean / 20.0)
    return X, y


def test_aliases_resolve():
    assert isinstance(
        resolve_conformity_score("absolute", task="regression"), AbsoluteResidualScore
    )
    assert isinstance(resolve_conformity_score("gamma", task="regression"), GammaScore)
    with pytest.raises(ValueError, match="not a known regression"):
        resolve_conformity_score("lac", task="regression")


def test_gamma_zero_prediction_raises():
    with pytest.raises(ValueError, match="non-zero"):
        GammaScore().conformity_scores([1.0], np.array([0.0]))


@pytest.mark.parametrize("score", ["absolute", "gamma"])
@pytest.mark.parametrize("level", [0.8, 0.9, 0.95])
def test_mapie_parity(score, level):
    mapie_regression = pytest.importorskip("mapie.regression")
    from mapie.conformity_scores import AbsoluteConformityScore, GammaConformityScore

    X, y = _positive_data()
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, random_state=0)
    X_cal, X_test, y_cal, _ = train_test_split(X_rest, y_rest, random_state=1)
    model = LinearRegression().fit(X_train, y_train)
    mapie_score = (
        AbsoluteConformityScore()
        if score == "absolute"
        else GammaConformityScore(sym=True)
    )
    mapie = mapie_regression.SplitConformalRegressor(
        model, confidence_level=level, conformity_score=mapie_score, prefit=True
    )
    mapie.conformalize(X_cal, y_cal)
    _, expected = mapie.predict_interval(X_test)
    ours = SplitConformalRegressor(
        FrozenEstimator(model), conformity_score=score, confidence_level=level
    ).fit(X_cal, y_cal)
    np.testing.assert_allclose(ours.predict(X_test), model.predict(X_test))
    np.testing.assert_allclose(
        ours.predict_interval(X_test), expected[:, :, 0], rtol=0, atol=1e-8
    )


def _coverages(score, n_splits, level, n_cal=200):
    X, y = _positive_data(n=n_cal + 1000 + 300, seed=123)
    covs = []
    for seed in range(n_splits):
        X_train, X_rest, y_train, y_rest = train_test_split(
            X, y, train_size=300, random_state=seed
        )
        X_cal, X_test, y_cal, y_test = train_test_split(
            X_rest, y_rest, train_size=n_cal, random_state=seed
        )
        model = FrozenEstimator(Ridge().fit(X_train, y_train))
        reg = SplitConformalRegressor(
            model, conformity_score=score, confidence_level=level
        ).fit(X_cal, y_cal)
        covs.append(interval_coverage_score(y_test, reg.predict_interval(X_test)))
    return np.asarray(covs), n_cal


def _check_coverage(covs, n_cal, level):
    # Coverage conditional on the calibration set is Beta distributed, with
    # variance about level (1 - level) / (n_cal + 2); test noise adds to it.
    n_test = 1000
    sd = np.sqrt(level * (1 - level) * (1 / (n_cal + 2) + 1 / n_test) / len(covs))
    tol = 4 * sd
    mean = covs.mean()
    assert mean >= level - tol, (mean, level, tol)
    assert mean <= level + 1 / (n_cal + 1) + tol, (mean, level, tol)


@pytest.mark.parametrize("score", ["absolute", "gamma"])
def test_coverage_fast(score):
    covs, n_cal = _coverages(score, 50, 0.9)
    _check_coverage(covs, n_cal, 0.9)


@pytest.mark.slow
@pytest.mark.parametrize("score", ["absolute", "gamma"])
@pytest.mark.parametrize("level", [0.8, 0.9, 0.95])
def test_coverage_many_splits(score, level):
    covs, n_cal = _coverages(score, 250, level)
    _check_coverage(covs, n_cal, level)


def test_confidence_level_list_and_fit_time_quantiles():
    X, y = make_regression(n_samples=600, n_features=4, noise=5.0, random_state=0)
    reg = SplitConformalRegressor(confidence_level=0.9, random_state=0).fit(X, y)
    single = reg.predict_interval(X[:20])
    assert single.shape == (20, 2)
    assert np.ndim(reg.quantiles_) == 0
    reg.set_params(confidence_level=[0.5, 0.9, 0.99])
    stacked = reg.predict_interval(X[:20])
    assert stacked.shape == (20, 2, 3)
    np.testing.assert_allclose(stacked[:, :, 1], single)
    widths = mean_interval_width(stacked)
    assert np.all(np.diff(widths) > 0)
    assert np.all(stacked[:, 0, :] <= stacked[:, 1, :])


def test_too_small_calibration_warns_and_is_infinite():
    X, y = make_regression(n_samples=40, n_features=3, noise=1.0, random_state=0)
    reg = SplitConformalRegressor(
        confidence_level=0.99, calibration_size=10, random_state=0
    ).fit(X, y)
    with pytest.warns(UserWarning, match="too small"):
        intervals = reg.predict_interval(X[:5])
    assert np.all(np.isneginf(intervals[:, 0])) and np.all(np.isposinf(intervals[:, 1]))
    reg.set_params(confidence_level=0.8)
    with warnings_as_errors():
        assert np.all(np.isfinite(reg.predict_interval(X[:5])))


def warnings_as_errors():
    import warnings

    ctx = warnings.catch_warnings()

    class _Ctx:
        def __enter__(self):
            ctx.__enter__()
            warnings.simplefilter("error")

        def __exit__(self, *exc):
            return ctx.__exit__(*exc)

    return _Ctx()


def test_frozen_estimator_uses_all_rows_and_is_not_refitted():
    X, y = make_regression(n_samples=300, n_features=3, noise=1.0, random_state=0)
    model = LinearRegression().fit(X[:100], y[:100])
    reg = SplitConformalRegressor(FrozenEstimator(model)).fit(X[100:], y[100:])
    assert reg.conformity_scores_.shape == (200,)
    np.testing.assert_array_equal(reg.estimator_.estimator.coef_, model.coef_)


def test_integer_weights_equal_repeated_rows():
    X, y = make_regression(n_samples=200, n_features=3, noise=5.0, random_state=0)
    model = FrozenEstimator(LinearRegression().fit(X[:50], y[:50]))
    w = np.random.RandomState(0).randint(0, 4, size=150)
    weighted = SplitConformalRegressor(model, confidence_level=[0.7, 0.9]).fit(
        X[50:], y[50:], sample_weight=w
    )
    repeated = SplitConformalRegressor(model, confidence_level=[0.7, 0.9]).fit(
        np.repeat(X[50:], w, axis=0), np.repeat(y[50:], w)
    )
    np.testing.assert_allclose(
        weighted.predict_interval(X[:10]), repeated.predict_interval(X[:10])
    )


def test_clone_gridsearch_pipeline_smoke():
    X, y = make_regression(n_samples=400, n_features=4, noise=5.0, random_state=0)
    reg = SplitConformalRegressor(
        make_pipeline(StandardScaler(), Ridge()),
        conformity_score="absolute",
        random_state=0,
    )
    cloned = clone(reg)
    assert cloned.get_params()["conformity_score"] == "absolute"
    search = GridSearchCV(reg, {"estimator__ridge__alpha": [0.1, 10.0]}, cv=3).fit(X, y)
    assert search.best_estimator_.predict_interval(X[:3]).shape == (3, 2)
    pipe = make_pipeline(StandardScaler(), SplitConformalRegressor(random_state=0))
    pipe.fit(X, y)
    assert pipe.predict(X[:3]).shape == (3,)
    assert pipe[-1].predict_interval(X[:3]).shape == (3, 2)


def test_invalid_score_raises():
    X, y = make_regression(n_samples=50, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="conformity_score"):
        SplitConformalRegressor(conformity_score="lac").fit(X, y)
