"""CrossConformalRegressor: CV+, jackknife+, jackknife+-after-bootstrap, min-max."""

import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn import config_context
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.datasets import make_regression
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, LeaveOneOut
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils._param_validation import InvalidParameterError

import skcalib.conformal._cross_regression as cross_module
import skcalib.utils._array_api as array_api_module
from skcalib.conformal._cross_regression import (
    CrossConformalRegressor,
    _row_quantiles,
)
from skcalib.conformal.scores import NormalizedResidualScore
from skcalib.metrics import interval_coverage_score, mean_interval_width
from skcalib.utils._array_api import get_namespace_and_device, move_to, to_numpy
from skcalib.utils._testing import array_api_combinations, skip_if_unavailable

LEVELS = [0.8, 0.9]


def _positive_data(n_fit=203, n_test=100, seed=0):
    """Positive targets with noise proportional to the mean (suits both scores)."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(1, 5, size=(n_fit + n_test, 3))
    mean = X @ np.array([1.0, 2.0, 0.5]) + 1.0
    y = rng.gamma(shape=20.0, scale=mean / 20.0)
    return X[:n_fit], y[:n_fit], X[n_fit:]


def _linear_data(seed, n_fit, n_test=500, n_features=5):
    """Well-specified linear model with Gaussian noise."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_fit + n_test, n_features))
    y = X @ np.linspace(1.0, 2.0, n_features) + rng.normal(size=n_fit + n_test)
    return X[:n_fit], y[:n_fit], X[n_fit:], y[n_fit:]


def _tree():
    return DecisionTreeRegressor(max_depth=4, random_state=0)


def _leave_out_matrix(reg, X):
    """``mu_{-i}(x)`` of every test row and calibration sample, by brute force."""
    P = np.column_stack([e.predict(X) for e in reg.estimators_])
    mask = reg.oob_mask_
    if reg.agg_function == "median":
        return np.stack(
            [np.median(P[:, row], axis=1) for row in mask], axis=1
        )  # (n_test, n_cal)
    return P @ (mask / mask.sum(axis=1, keepdims=True)).T


def _jackknife_plus_reference(reg, X, level, k_up=None):
    """Barber et al. (2021) jackknife+ bounds, one test point at a time.

    The upper bound is the ``k_up``-th smallest of ``mu_{-i}(x) + R_i`` (by
    default ``ceil(level (n + 1))``), the lower bound the
    ``(n + 1 - k_up)``-th smallest of ``mu_{-i}(x) - R_i``.
    """
    M = _leave_out_matrix(reg, X)
    R = np.asarray(reg.conformity_scores_)
    n = R.shape[0]
    if k_up is None:
        k_up = int(np.ceil(level * (n + 1) - 1e-9))
    k_low = n + 1 - k_up
    out = np.empty((X.shape[0], 2))
    for t in range(X.shape[0]):
        low, up = np.sort(M[t] - R), np.sort(M[t] + R)
        out[t, 0] = low[k_low - 1] if k_low >= 1 else -np.inf
        out[t, 1] = up[k_up - 1] if k_up <= n else np.inf
    return out


# --------------------------------------------------------------------------- #
# MAPIE parity
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("score", ["absolute", "gamma"])
@pytest.mark.parametrize(
    "method, agg_function",
    [("plus", "mean"), ("plus", None), ("minmax", "mean"), ("base", None)],
)
def test_mapie_parity_cv_plus(method, agg_function, score):
    mapie_regression = pytest.importorskip("mapie.regression")
    from mapie.conformity_scores import GammaConformityScore

    X, y, X_test = _positive_data()
    cv = KFold(5, shuffle=True, random_state=1)
    mapie = mapie_regression.CrossConformalRegressor(
        _tree(),
        confidence_level=LEVELS,
        conformity_score=GammaConformityScore(sym=True) if score == "gamma" else score,
        method=method,
        cv=cv,
    ).fit_conformalize(X, y)
    expected_point, expected = mapie.predict_interval(
        X_test, aggregate_point_predictions=agg_function
    )
    ours = CrossConformalRegressor(
        _tree(),
        conformity_score=score,
        confidence_level=LEVELS,
        method=method,
        cv=cv,
        agg_function=agg_function,
    ).fit(X, y)
    np.testing.assert_allclose(
        ours.conformity_scores_, mapie.conformity_scores, rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(
        ours.predict_interval(X_test), expected, rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(ours.predict(X_test), expected_point, atol=1e-8)


@pytest.mark.parametrize("method", ["plus", "minmax"])
def test_mapie_parity_jackknife_plus(method):
    mapie_regression = pytest.importorskip("mapie.regression")
    X, y, X_test = _positive_data(n_fit=61, n_test=40)
    mapie = mapie_regression.CrossConformalRegressor(
        Ridge(), confidence_level=LEVELS, method=method, cv=LeaveOneOut()
    ).fit_conformalize(X, y)
    expected_point, expected = mapie.predict_interval(X_test)
    ours = CrossConformalRegressor(
        Ridge(), confidence_level=LEVELS, method=method, cv="loo"
    ).fit(X, y)
    assert len(ours.estimators_) == 61
    np.testing.assert_allclose(
        ours.predict_interval(X_test), expected, rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(ours.predict(X_test), expected_point, atol=1e-8)


@pytest.mark.parametrize("agg_function", ["mean", "median"])
@pytest.mark.parametrize("method", ["plus", "minmax"])
def test_mapie_parity_after_bootstrap(method, agg_function):
    mapie_regression = pytest.importorskip("mapie.regression")
    from mapie.subsample import Subsample

    X, y, X_test = _positive_data()
    mapie = mapie_regression.JackknifeAfterBootstrapRegressor(
        _tree(),
        confidence_level=LEVELS,
        method=method,
        resampling=20,
        aggregation_method=agg_function,
        random_state=3,
    ).fit_conformalize(X, y)
    expected_point, expected = mapie.predict_interval(X_test)
    params = dict(confidence_level=LEVELS, method=method, agg_function=agg_function)
    # cv="bootstrap" draws MAPIE's bootstrap samples from the same seed; MAPIE's
    # Subsample is also accepted as a cv (any splitter with overlapping tests).
    for cv in ("bootstrap", Subsample(n_resamplings=20, random_state=3)):
        ours = CrossConformalRegressor(
            _tree(), cv=cv, n_resamplings=20, random_state=3, **params
        ).fit(X, y)
        scores = mapie.conformity_scores[ours.calibration_indices_]
        np.testing.assert_allclose(ours.conformity_scores_, scores, atol=1e-10)
        np.testing.assert_allclose(
            ours.predict_interval(X_test), expected, rtol=0, atol=1e-8
        )
        np.testing.assert_allclose(ours.predict(X_test), expected_point, atol=1e-8)


def test_mapie_rank_differs_where_the_level_times_n_plus_one_is_rounded():
    # 0.55 * 100 == 55.00000000000001 in floating point: MAPIE takes the 56th
    # smallest upper candidate (and the 44th smallest lower one), one rank
    # more conservative than ceil(0.55 * 100) = 55 used here.
    mapie_regression = pytest.importorskip("mapie.regression")
    X, y, X_test = _positive_data(n_fit=99, n_test=30, seed=3)
    cv = KFold(4, shuffle=True, random_state=0)
    mapie = mapie_regression.CrossConformalRegressor(
        _tree(), confidence_level=0.55, cv=cv
    ).fit_conformalize(X, y)
    ours = CrossConformalRegressor(_tree(), confidence_level=0.55, cv=cv).fit(X, y)
    intervals = ours.predict_interval(X_test)
    np.testing.assert_allclose(
        intervals, _jackknife_plus_reference(ours, X_test, 0.55, k_up=55)
    )
    np.testing.assert_allclose(
        mapie.predict_interval(X_test)[1][:, :, 0],
        _jackknife_plus_reference(ours, X_test, 0.55, k_up=56),
    )
    assert np.any(mapie.predict_interval(X_test)[1][:, 1, 0] > intervals[:, 1])


def test_median_point_prediction_is_the_median_of_leave_out_predictions():
    # MAPIE 1.6's CrossConformalRegressor.predict(aggregate_point_predictions=
    # "median") returns the mean (its ensemble keeps the fit-time "mean"), so
    # the median is checked against its definition instead.
    X, y, X_test = _positive_data()
    reg = CrossConformalRegressor(
        _tree(), cv=KFold(5, shuffle=True, random_state=1), agg_function="median"
    ).fit(X, y)
    P = np.column_stack([e.predict(X_test) for e in reg.estimators_])
    fold = np.argmax(reg.oob_mask_, axis=1)
    np.testing.assert_allclose(reg.predict(X_test), np.median(P[:, fold], axis=1))
    mean = clone(reg).set_params(agg_function="mean").fit(X, y)
    np.testing.assert_allclose(mean.predict(X_test), P[:, fold].mean(axis=1))
    # The jackknife+ interval contains the median of the mu_{-i}(x).
    intervals = reg.predict_interval(X_test)
    assert np.all(intervals[:, 0] <= reg.predict(X_test))
    assert np.all(reg.predict(X_test) <= intervals[:, 1])


# --------------------------------------------------------------------------- #
# definition (brute force, one test point at a time)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "params",
    [
        dict(cv=4),
        dict(cv="loo"),
        dict(cv="bootstrap", n_resamplings=15, agg_function="mean"),
        dict(cv="bootstrap", n_resamplings=15, agg_function="median"),
    ],
    ids=["cv+", "jackknife+", "jab-mean", "jab-median"],
)
def test_plus_matches_the_jackknife_plus_definition(params):
    # n = 79: the ranks (n + 1) * 0.8 = 64 and (n + 1) * 0.9 = 72 are integers.
    X, y, X_test = _positive_data(n_fit=79, n_test=30, seed=2)
    reg = CrossConformalRegressor(
        _tree(), confidence_level=LEVELS, random_state=0, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # samples never out of bag
        reg.fit(X, y)
    intervals = reg.predict_interval(X_test)
    for j, level in enumerate(LEVELS):
        np.testing.assert_allclose(
            intervals[:, :, j], _jackknife_plus_reference(reg, X_test, level)
        )


def test_minmax_and_base_definitions_and_nesting():
    X, y, X_test = _positive_data(seed=4)
    plus = CrossConformalRegressor(_tree(), cv=5).fit(X, y)
    minmax = CrossConformalRegressor(_tree(), cv=5, method="minmax").fit(X, y)
    base = CrossConformalRegressor(_tree(), cv=5, method="base", agg_function=None).fit(
        X, y
    )
    q = np.sort(minmax.conformity_scores_)[int(np.ceil(0.9 * (y.shape[0] + 1))) - 1]
    np.testing.assert_allclose(minmax.quantiles_, q)
    P = np.column_stack([e.predict(X_test) for e in minmax.estimators_])
    np.testing.assert_allclose(
        minmax.predict_interval(X_test), np.c_[P.min(1) - q, P.max(1) + q]
    )
    full_model = _tree().fit(X, y)
    np.testing.assert_allclose(base.predict(X_test), full_model.predict(X_test))
    np.testing.assert_allclose(
        base.predict_interval(X_test),
        np.c_[full_model.predict(X_test) - q, full_model.predict(X_test) + q],
    )
    # jackknife+ is inside jackknife-minmax (Barber et al. 2021).
    inner, outer = plus.predict_interval(X_test), minmax.predict_interval(X_test)
    assert np.all(outer[:, 0] <= inner[:, 0] + 1e-12)
    assert np.all(inner[:, 1] <= outer[:, 1] + 1e-12)


# --------------------------------------------------------------------------- #
# weights
# --------------------------------------------------------------------------- #
def test_weighted_row_quantiles_equal_repeated_columns():
    from array_api_compat import numpy as xp

    rng = np.random.RandomState(0)
    values = rng.normal(size=(7, 40))
    values[:, 5] = values[:, 6]  # ties
    w = rng.randint(0, 4, size=40)
    w[0] = 1
    levels = np.array([0.1, 0.5, 0.9, 0.97])
    weighted = _row_quantiles(values, levels, w.astype(float), xp=xp, device="cpu")
    repeated = _row_quantiles(
        np.repeat(values, w, axis=1), levels, None, xp=xp, device="cpu"
    )
    np.testing.assert_array_equal(weighted, repeated)
    assert np.all(np.isposinf(weighted[:, 3]) == (np.ceil(0.97 * (w.sum() + 1)) > 80))


def test_integer_weights_equal_repeated_rows_with_the_same_folds():
    X, y, X_test = _positive_data(n_fit=120, seed=5)
    w = np.random.RandomState(0).randint(1, 4, size=120)
    fold = np.arange(120) % 4
    folds = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(4)]
    source = np.repeat(np.arange(120), w)
    rep_folds = [
        (np.flatnonzero(fold[source] != k), np.flatnonzero(fold[source] == k))
        for k in range(4)
    ]
    params = dict(confidence_level=[0.7, 0.9], method="plus")
    weighted = CrossConformalRegressor(LinearRegression(), cv=folds, **params)
    weighted.fit(X, y, sample_weight=w)
    repeated = CrossConformalRegressor(LinearRegression(), cv=rep_folds, **params)
    repeated.fit(X[source], y[source])
    np.testing.assert_allclose(
        weighted.predict_interval(X_test), repeated.predict_interval(X_test)
    )
    np.testing.assert_allclose(weighted.quantiles_, repeated.quantiles_)


# --------------------------------------------------------------------------- #
# coverage (Barber et al. 2021: at least 1 - 2 alpha; about 1 - alpha here)
# --------------------------------------------------------------------------- #
_N_FIT = 100
_N_TEST = 500


def _coverages(params, n_splits, levels):
    covs = []
    for seed in range(n_splits):
        X, y, X_test, y_test = _linear_data(seed, _N_FIT, _N_TEST)
        reg = CrossConformalRegressor(
            confidence_level=levels, random_state=seed, **params
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            reg.fit(X, y)
        covs.append(interval_coverage_score(y_test, reg.predict_interval(X_test)))
    return np.asarray(covs)


def _check_coverage(covs, levels, *, guarantee="plus"):
    # The coverage of one split, given its training set, varies like that of a
    # split-conformal predictor with n calibration samples (Beta, variance
    # about level (1 - level) / (n + 2)); the test sample adds binomial noise.
    for level, mean in zip(levels, covs.mean(axis=0), strict=True):
        sd = np.sqrt(
            level * (1 - level) * (1 / (_N_FIT + 2) + 1 / _N_TEST) / covs.shape[0]
        )
        alpha = 1 - level
        bound = 1 - 2 * alpha if guarantee == "plus" else level
        assert mean >= bound - 3 * sd, (mean, level, guarantee)
        if guarantee == "plus":
            # Well-specified linear model: close to the nominal level.
            assert abs(mean - level) <= max(0.02, 3 * sd), (mean, level)


_COVERAGE_CASES = {
    "cv+": dict(cv=10),
    "jackknife+": dict(cv="loo"),
    "jackknife+-after-bootstrap": dict(cv="bootstrap", n_resamplings=30),
}


@pytest.mark.parametrize(
    "name, n_splits",
    [("cv+", 30), ("jackknife+", 8), ("jackknife+-after-bootstrap", 15)],
)
def test_coverage_fast(name, n_splits):
    covs = _coverages(_COVERAGE_CASES[name], n_splits, LEVELS)
    _check_coverage(covs, LEVELS)


def test_minmax_coverage_fast():
    covs = _coverages(dict(cv=10, method="minmax"), 30, LEVELS)
    _check_coverage(covs, LEVELS, guarantee="minmax")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(_COVERAGE_CASES))
def test_coverage_many_splits(name):
    levels = [0.8, 0.9, 0.95]
    covs = _coverages(_COVERAGE_CASES[name], 200, levels)
    _check_coverage(covs, levels)


@pytest.mark.slow
def test_minmax_coverage_many_splits():
    levels = [0.8, 0.9, 0.95]
    covs = _coverages(dict(cv=10, method="minmax"), 200, levels)
    _check_coverage(covs, levels, guarantee="minmax")


# --------------------------------------------------------------------------- #
# levels, warnings, errors
# --------------------------------------------------------------------------- #
def test_confidence_level_list_at_predict_time_and_fit_time_quantiles():
    X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=0)
    reg = CrossConformalRegressor(confidence_level=0.9).fit(X, y)
    single = reg.predict_interval(X[:20])
    assert single.shape == (20, 2)
    assert np.ndim(reg.quantiles_) == 0
    stacked = reg.set_params(confidence_level=[0.5, 0.9, 0.99]).predict_interval(X[:20])
    assert stacked.shape == (20, 2, 3)
    np.testing.assert_allclose(stacked[:, :, 1], single)
    reg.set_params(confidence_level=[0.5, 0.9, 0.99])
    np.testing.assert_array_equal(reg.predict_interval(X[:20]), stacked)
    assert np.all(np.diff(mean_interval_width(stacked)) > 0)
    assert np.all(stacked[:, 0, :] <= stacked[:, 1, :])
    assert reg.set_params(confidence_level=0.9).predict_interval(X[:20]).shape == (
        20,
        2,
    )
    with pytest.raises(ValueError, match="confidence_level"):
        reg.set_params(confidence_level=1.5).predict_interval(X[:2])


@pytest.mark.parametrize("method", ["plus", "minmax", "base"])
def test_too_small_calibration_warns_and_is_infinite(method):
    X, y = make_regression(n_samples=10, n_features=2, noise=1.0, random_state=0)
    reg = CrossConformalRegressor(
        cv="loo", method=method, confidence_level=0.95, agg_function=None
    ).fit(X, y)
    with pytest.warns(UserWarning, match="too small.*10 calibration samples"):
        intervals = reg.predict_interval(X[:5])
    assert np.all(np.isneginf(intervals[:, 0])) and np.all(np.isposinf(intervals[:, 1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(
            np.isfinite(reg.set_params(confidence_level=0.8).predict_interval(X[:5]))
        )


def test_bootstrap_samples_never_out_of_bag_warn_and_do_not_calibrate():
    X, y = make_regression(n_samples=100, n_features=3, noise=1.0, random_state=0)
    reg = CrossConformalRegressor(cv="bootstrap", n_resamplings=2, random_state=0)
    with pytest.warns(UserWarning, match="increase n_resamplings"):
        reg.fit(X, y)
    n_cal = reg.calibration_indices_.shape[0]
    assert 20 < n_cal < 100
    assert reg.conformity_scores_.shape == (n_cal,)
    assert reg.oob_mask_.shape == (n_cal, 2) and np.all(reg.oob_mask_.any(axis=1))


def test_errors_name_the_problem():
    X, y = make_regression(n_samples=60, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="agg_function=None needs splits"):
        CrossConformalRegressor(cv="bootstrap", agg_function=None).fit(X, y)
    with pytest.raises(ValueError, match="FrozenEstimator"):
        CrossConformalRegressor(FrozenEstimator(LinearRegression().fit(X, y))).fit(X, y)
    with pytest.raises(InvalidParameterError, match="method"):
        CrossConformalRegressor(method="jackknife").fit(X, y)
    with pytest.raises(InvalidParameterError, match="cv"):
        CrossConformalRegressor(cv="split").fit(X, y)
    with pytest.raises(ValueError, match="conformity_score"):
        CrossConformalRegressor(conformity_score="lac").fit(X, y)
    with pytest.raises(ValueError, match="conformity_score"):
        CrossConformalRegressor(conformity_score="normalized").fit(X, y)
    with pytest.raises(ValueError, match="does not support NormalizedResidualScore"):
        CrossConformalRegressor(conformity_score=NormalizedResidualScore()).fit(X, y)
    with pytest.raises(ValueError, match="requires y"):
        CrossConformalRegressor().fit(X, None)
    with pytest.raises(ValueError, match="No sample is in the test part"):
        CrossConformalRegressor(cv=[(np.arange(60), np.array([], dtype=int))]).fit(X, y)


# --------------------------------------------------------------------------- #
# splits, groups, parallelism, memory blocks
# --------------------------------------------------------------------------- #
def test_groups_reach_the_splitter_and_folds_follow_them():
    X, y = make_regression(n_samples=120, n_features=3, noise=3.0, random_state=0)
    groups = np.arange(120) // 10
    reg = CrossConformalRegressor(cv=GroupKFold(4)).fit(X, y, groups=groups)
    fold = np.argmax(reg.oob_mask_, axis=1)
    for g in np.unique(groups):
        assert np.unique(fold[groups == g]).shape == (1,)


def test_metadata_routing_and_dataframes():
    pd = pytest.importorskip("pandas")
    X, y = make_regression(n_samples=120, n_features=3, noise=3.0, random_state=0)
    groups = np.arange(120) // 10
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=120)
    expected = (
        CrossConformalRegressor(Ridge(), cv=GroupKFold(4))
        .fit(X, y, sample_weight=w, groups=groups)
        .predict_interval(X[:5])
    )
    with config_context(enable_metadata_routing=True):
        routed = CrossConformalRegressor(
            Ridge().set_fit_request(sample_weight=True), cv=GroupKFold(4)
        ).fit(X, y, sample_weight=w, groups=groups)
        np.testing.assert_allclose(routed.predict_interval(X[:5]), expected)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    reg = CrossConformalRegressor(cv=3).fit(df, pd.Series(y))
    assert list(reg.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_allclose(
        reg.predict_interval(df.iloc[:5]),
        CrossConformalRegressor(cv=3).fit(X, y).predict_interval(X[:5]),
    )


def test_parallel_fit_gives_the_same_intervals():
    X, y = make_regression(n_samples=150, n_features=3, noise=3.0, random_state=0)
    one = CrossConformalRegressor(cv="bootstrap", random_state=0).fit(X, y)
    with parallel_backend("threading"):
        two = CrossConformalRegressor(cv="bootstrap", random_state=0, n_jobs=2)
        two.fit(X, y)
    np.testing.assert_array_equal(one.predict_interval(X), two.predict_interval(X))


@pytest.mark.parametrize(
    "params",
    [
        dict(cv=5),
        dict(cv=5, method="minmax", agg_function="median"),
        dict(cv="bootstrap", agg_function="median", random_state=0),
        dict(cv="bootstrap", method="minmax", random_state=0),
    ],
    ids=repr,
)
def test_blocks_of_test_rows_give_the_same_result(params, monkeypatch):
    X, y = make_regression(n_samples=120, n_features=3, noise=3.0, random_state=0)
    reg = CrossConformalRegressor(**params).fit(X, y, sample_weight=np.arange(120) % 3)
    expected = reg.predict_interval(X), reg.predict(X)
    monkeypatch.setattr(cross_module, "_MAX_BLOCK", 7)
    got = reg.predict_interval(X), reg.predict(X)
    # Equal up to the last bit of a matrix product computed by blocks.
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-12)


def test_clone_gridsearch_pipeline_and_score():
    X, y = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=0)
    reg = CrossConformalRegressor(make_pipeline(StandardScaler(), Ridge()), cv=3)
    search = GridSearchCV(reg, {"estimator__ridge__alpha": [0.1, 10.0]}, cv=3)
    search.fit(X, y)
    assert search.best_estimator_.predict_interval(X[:3]).shape == (3, 2)
    pipe = make_pipeline(StandardScaler(), CrossConformalRegressor(cv=3)).fit(X, y)
    assert pipe.predict(X[:3]).shape == (3,)
    fitted = clone(reg).fit(X, y)
    assert fitted.score(X, y) > 0.9  # R^2 of the point prediction


def test_float32_stays_float32():
    X, y = make_regression(n_samples=200, n_features=3, noise=5.0, random_state=0)
    X = X.astype(np.float32)

    class Float32Ridge(Ridge):
        def predict(self, X):
            return super().predict(X).astype(np.float32)

    reg = CrossConformalRegressor(Float32Ridge()).fit(X, y)
    assert reg.conformity_scores_.dtype == np.float32
    assert reg.predict_interval(X).dtype == np.float32
    assert reg.predict(X).dtype == np.float32


# --------------------------------------------------------------------------- #
# array API: a ridge written with xp only, fitted and predicted on the device
# --------------------------------------------------------------------------- #
class XpRidge(RegressorMixin, BaseEstimator):
    """Ridge regression in any array namespace (y moved to X's namespace)."""

    def __init__(self, alpha=1e-3):
        self.alpha = alpha

    def fit(self, X, y, sample_weight=None):
        xp, dev = get_namespace_and_device(X)
        y = xp.astype(move_to(y, xp=xp, device=dev), X.dtype)
        ones = xp.ones((X.shape[0], 1), dtype=X.dtype, device=dev)
        A = xp.concat([X, ones], axis=1)
        At = xp.permute_dims(A, (1, 0))
        if sample_weight is not None:
            w = xp.astype(move_to(sample_weight, xp=xp, device=dev), X.dtype)
            At = At * w[None, :]
        gram = At @ A + self.alpha * xp.eye(A.shape[1], dtype=X.dtype, device=dev)
        self.coef_ = xp.linalg.solve(gram, (At @ y)[:, None])[:, 0]
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        return X @ self.coef_[:-1] + self.coef_[-1]


@pytest.mark.filterwarnings("ignore:.*no out-of-bag model:UserWarning")
@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize(
    "params",
    [
        dict(cv=5),
        dict(cv=5, method="minmax", conformity_score="gamma"),
        dict(cv="bootstrap", n_resamplings=10, agg_function="median"),
        dict(cv="bootstrap", n_resamplings=10, method="base"),
    ],
    ids=repr,
)
def test_same_on_namespace(combination, params):
    namespace, device_name, dtype_name = combination
    xp, device = skip_if_unavailable(namespace, device_name)
    X, y, X_test = _positive_data(n_fit=90, n_test=20)
    X, X_test = X.astype(dtype_name), X_test.astype(dtype_name)
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=90)
    kwargs = dict(confidence_level=LEVELS, random_state=0, **params)
    ref = CrossConformalRegressor(XpRidge(), **kwargs).fit(X, y, sample_weight=w)
    X_dev = xp.asarray(X, device=device)
    X_test_dev = xp.asarray(X_test, device=device)
    with config_context(array_api_dispatch=True):
        reg = CrossConformalRegressor(XpRidge(), **kwargs).fit(
            X_dev, y, sample_weight=w
        )
        intervals = reg.predict_interval(X_test_dev)
        point = reg.predict(X_test_dev)
    for out in (intervals, point, reg.conformity_scores_):
        assert type(out).__module__.split(".")[0] == namespace
    rtol = 1e-4 if dtype_name == "float32" else 1e-10
    np.testing.assert_allclose(
        to_numpy(intervals), ref.predict_interval(X_test), rtol=rtol, atol=rtol
    )
    np.testing.assert_allclose(to_numpy(point), ref.predict(X_test), rtol=rtol)
    assert to_numpy(intervals).dtype == np.dtype(dtype_name)


def test_selection_and_sort_paths_agree(monkeypatch):
    X, y, X_test = _positive_data(seed=6)
    reg = CrossConformalRegressor(_tree(), cv=5).fit(X, y)
    levels = [0.5, 0.6, 0.7, 0.8, 0.9]  # more levels than selections: one sort
    together = reg.set_params(confidence_level=levels).predict_interval(X_test)
    for j, level in enumerate(levels):
        np.testing.assert_array_equal(
            together[:, :, j],
            reg.set_params(confidence_level=level).predict_interval(X_test),
        )
    # array-api-extra < 0.9.1 has no partition: every path sorts.
    monkeypatch.delattr(array_api_module.xpx, "partition", raising=False)
    np.testing.assert_array_equal(
        reg.set_params(confidence_level=levels).predict_interval(X_test), together
    )
    for j, level in enumerate(levels):
        np.testing.assert_array_equal(
            together[:, :, j],
            reg.set_params(confidence_level=level).predict_interval(X_test),
        )
