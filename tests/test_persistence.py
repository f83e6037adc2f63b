"""Every estimator survives pickle, joblib and skops round trips unchanged.

Each estimator from ``all_estimators()`` is fitted once on small data suited to
it; the reloaded copy must give exactly the same output from every prediction
method and the same fitted arrays. With ``skops.io``, the types a saved
estimator needs beyond skops' defaults must all be listed by
``get_skops_trusted_types``.
"""

import inspect
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone

from skcalib.utils._persistence import get_skops_trusted_types
from skcalib.utils.discovery import all_estimators
from skcalib.utils.estimator_checks import _data_for

# name -> constructor parameters: every estimator needs an entry (checked below),
# so a new estimator cannot go untested. ``random_state`` is fixed to 0 where
# the estimator has one. Defaults keep the default inner models (their types
# are part of what skops must trust); slow defaults are shrunk.
CASES = {
    "BBQ": {},
    "BetaCalibration": {},
    "BradleyTerryConfidence": {},
    "CalibratedClassifierCV": {},
    "ClassifierOODDetector": {},
    "ConformalizedQuantileRegressor": {},
    "CorrectnessAwareCalibrator": {},
    "CrossConformalClassifier": {"cv": 3},
    "CrossConformalRegressor": {"cv": 3},
    "DEUPClassifier": {"cv": 3},
    "DEUPRegressor": {"cv": 2},
    "DataDifficultyScorer": {"n_fits": 2, "cv": 3},
    "DirichletCalibration": {},
    "EnergyDetector": {},
    "EnsembleUncertainty": {},
    "EntropyDetector": {},
    "GENDetector": {},
    "HistogramBinning": {},
    "InputDependentTemperatureScaling": {},
    "IsotonicCalibration": {},
    "KNNDetector": {},
    "LabelIssueDetector": {"cv": 3},
    "LabelPowersetConformalClassifier": {},
    "LearnedTemperatureEnergyDetector": {},
    "MSPDetector": {},
    "MahalanobisDetector": {},
    "MatrixScaling": {},
    "MaxLogitDetector": {},
    "OODRejectClassifier": {},
    "PlattScaling": {},
    "RelativeMahalanobisDetector": {},
    "SelectiveConformalClassifier": {},
    "SplitConformalClassifier": {},
    "SplitConformalRegressor": {},
    "SubjectiveLogicClassifier": {},
    "TemperatureScaling": {},
    "TopTwoCrowdAggregator": {},
    "TrustPipeline": {},
    "VectorScaling": {},
    "VennAbersCalibrator": {},
    "ViMDetector": {},
}
ESTIMATORS = dict(all_estimators())
# Methods that only read the fitted state (fit_predict would refit).
_EXTRA_METHODS = ("decision_function", "score_samples", "score_pvalues", "transform")


def _build(name):
    est = ESTIMATORS[name](**CASES[name])
    if "random_state" in est.get_params():
        est.set_params(random_state=0)
    return est


_FITTED = {}


def _fitted(name):
    """The fitted estimator and its data, fitted once per test session."""
    if name not in _FITTED:
        est = _build(name)
        X, y = _data_for(est)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-data warnings of some fits
            est.fit(X, y)
        _FITTED[name] = est, X, y
    return _FITTED[name]


def prediction_outputs(est, X, y):
    """name -> output of every prediction method (and every fitted array)."""
    outputs = {}
    for method in sorted(dir(est)):
        is_prediction = method.startswith("predict") or method in _EXTRA_METHODS
        if not is_prediction or not hasattr(est, method):
            continue
        func = getattr(est, method)
        required = [
            p
            for p in inspect.signature(func).parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        # predict_pvalues of the label-powerset predictor scores given label sets.
        args = (X,) if len(required) == 1 else (X, y)
        outputs[method] = func(*args)
    for attr, value in vars(est).items():
        if attr.endswith("_") and not attr.startswith("_"):
            if isinstance(value, np.ndarray):
                outputs[attr] = value
    return outputs


def assert_same(actual, expected, where, *, rtol=0.0):
    """Equality of nested arrays, sequences, dicts and scalars.

    Exact, except float arrays with ``rtol > 0`` (for results of the same data
    in another memory layout, where BLAS may round the last bit differently).
    """
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), where
        assert actual.dtype == expected.dtype, where
        if rtol and expected.dtype.kind == "f":
            np.testing.assert_allclose(
                actual, expected, rtol=rtol, atol=rtol, err_msg=where
            )
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, list | tuple):
        assert type(actual) is type(expected) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{i}]", rtol=rtol)
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}[{key!r}]", rtol=rtol)
    else:
        assert type(actual) is type(expected), where
        assert actual == expected or (actual != actual and expected != expected), where


def _pickle(est):
    return pickle.loads(pickle.dumps(est))


def _joblib(est):
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def _skops(est):
    return sio.loads(sio.dumps(est), trusted=get_skops_trusted_types())


ROUND_TRIPS = {"pickle": _pickle, "joblib": _joblib, "skops": _skops}


def test_cases_cover_every_estimator():
    assert set(CASES) == set(ESTIMATORS), (
        "add the new estimator to CASES (or remove a stale entry): "
        f"{sorted(set(CASES) ^ set(ESTIMATORS))}"
    )


@pytest.mark.parametrize("fmt", ROUND_TRIPS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_gives_identical_predictions(name, fmt):
    est, X, y = _fitted(name)
    expected = prediction_outputs(est, X, y)
    assert expected, f"{name} has no prediction method and no fitted array"
    loaded = ROUND_TRIPS[fmt](est)
    assert type(loaded) is type(est)
    assert loaded.get_params().keys() == est.get_params().keys()
    actual = prediction_outputs(loaded, X, y)
    assert actual.keys() == expected.keys()
    for key in expected:
        assert_same(actual[key], expected[key], f"{name}.{key} after {fmt}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_skops_needs_only_documented_types(name):
    est, _, _ = _fitted(name)
    untrusted = sio.get_untrusted_types(data=sio.dumps(est))
    # Its own class at least: skops does not trust skcalib by default ...
    assert f"{type(est).__module__}.{type(est).__qualname__}" in untrusted
    # ... and everything it needs is vouched for.
    assert set(untrusted) <= set(get_skops_trusted_types()), (
        f"{name} needs types skcalib does not list: "
        f"{sorted(set(untrusted) - set(get_skops_trusted_types()))}"
    )


def test_skops_refuses_skcalib_types_unless_trusted():
    est, X, _ = _fitted("SplitConformalClassifier")
    data = sio.dumps(est)
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(data)
    np.testing.assert_array_equal(
        sio.loads(data, trusted=get_skops_trusted_types()).predict_set(X),
        est.predict_set(X),
    )


def test_trusted_types_name_real_classes():
    names = get_skops_trusted_types()
    assert names == sorted(set(names))
    for name in names:
        module_name, _, qualname = name.rpartition(".")
        module = __import__(module_name, fromlist=[qualname])
        assert inspect.isclass(getattr(module, qualname)), name
    for estimator_name, cls in ESTIMATORS.items():
        assert f"{cls.__module__}.{cls.__qualname__}" in names, estimator_name


def test_unfitted_clone_round_trips():
    # Parameters only: an unfitted estimator reloads with equal parameters.
    for name in ("CalibratedClassifierCV", "SplitConformalClassifier"):
        est = clone(_build(name))
        loaded = _skops(est)
        assert repr(loaded.get_params()) == repr(est.get_params())


@pytest.mark.parametrize("fmt", ROUND_TRIPS)
def test_feature_names_survive_round_trip(fmt):
    pd = pytest.importorskip("pandas")
    est = _build("MahalanobisDetector")
    X, y = _data_for(est)
    frame = pd.DataFrame(X, columns=[f"col_{i}" for i in range(X.shape[1])])
    est.fit(frame, y)
    loaded = ROUND_TRIPS[fmt](est)
    assert_same(loaded.feature_names_in_, est.feature_names_in_, "feature_names_in_")
    assert_same(loaded.score_samples(frame), est.score_samples(frame), fmt)
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.score_samples(frame[frame.columns[::-1]])
