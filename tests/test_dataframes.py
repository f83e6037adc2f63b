"""pandas and polars DataFrames: feature names kept, data passed on unchanged.

Every estimator from ``all_estimators()`` is fitted on a pandas and on a polars
DataFrame: ``feature_names_in_`` must be the column names, and every
prediction equal to the one from the same data as a NumPy array. Predicting on
a frame whose columns were renamed or reordered fails as in scikit-learn.

Meta-estimators wrap a pipeline whose ``ColumnTransformer`` selects columns by
name, which raises on a NumPy array: they must hand the DataFrame to their
inner estimator unchanged. Their NumPy twin selects the same columns by
position, so both fits see the same numbers.
"""

import warnings

import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor, VotingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_persistence import assert_same, prediction_outputs

from skcalib.utils.discovery import all_estimators
from skcalib.utils.estimator_checks import _data_for


def _select(columns, final):
    """``final`` after scaling ``columns`` (names need a DataFrame)."""
    return make_pipeline(
        ColumnTransformer([("scale", StandardScaler(), columns)]), final
    )


def _classifier(columns):
    return _select(columns, LogisticRegression())


def _regressor(columns):
    return _select(columns, Ridge())


def _ensemble(columns):
    members = [
        (f"m{i}", _select(columns, LogisticRegression(C=c)))
        for i, c in enumerate((0.1, 1.0, 10.0))
    ]
    return VotingClassifier(members, voting="soft")


# name -> function of the column selection (names or positions) giving the
# constructor parameters. Every estimator needs an entry (checked below).
CASES = {
    "BBQ": None,
    "BetaCalibration": None,
    "BradleyTerryConfidence": None,
    "CalibratedClassifierCV": lambda c: {"estimator": _classifier(c), "cv": 3},
    "ClassifierOODDetector": lambda c: {"estimator": _classifier(c)},
    "ConformalizedQuantileRegressor": lambda c: {
        "estimator": _select(
            c, HistGradientBoostingRegressor(loss="quantile", max_iter=20)
        )
    },
    "CorrectnessAwareCalibrator": None,
    "CrossConformalClassifier": lambda c: {"estimator": _classifier(c), "cv": 3},
    "CrossConformalRegressor": lambda c: {"estimator": _regressor(c), "cv": 3},
    "DEUPClassifier": lambda c: {"estimator": _classifier(c), "cv": 3},
    "DEUPRegressor": lambda c: {"estimator": _regressor(c), "cv": 3},
    "DataDifficultyScorer": lambda c: {
        "estimator": _classifier(c),
        "n_fits": 2,
        "cv": 3,
    },
    "DirichletCalibration": None,
    "EnergyDetector": None,
    "EnsembleUncertainty": lambda c: {"estimator": _ensemble(c)},
    "EntropyDetector": None,
    "GENDetector": None,
    "HistogramBinning": None,
    "InputDependentTemperatureScaling": None,
    "IsotonicCalibration": None,
    "KNNDetector": None,
    "LabelIssueDetector": lambda c: {"estimator": _classifier(c), "cv": 3},
    "LabelPowersetConformalClassifier": lambda c: {
        "estimator": _select(c, OneVsRestClassifier(LogisticRegression()))
    },
    "LearnedTemperatureEnergyDetector": None,
    "MSPDetector": None,
    "MahalanobisDetector": None,
    "MatrixScaling": None,
    "MaxLogitDetector": None,
    "OODRejectClassifier": lambda c: {"estimator": _classifier(c)},
    "PlattScaling": None,
    "RelativeMahalanobisDetector": None,
    "SelectiveConformalClassifier": lambda c: {"estimator": _classifier(c)},
    "SplitConformalClassifier": lambda c: {"estimator": _classifier(c)},
    "SplitConformalRegressor": lambda c: {"estimator": _regressor(c)},
    "SubjectiveLogicClassifier": None,
    "TemperatureScaling": None,
    "TopTwoCrowdAggregator": None,
    "TrustPipeline": lambda c: {"estimator": _classifier(c)},
    "VectorScaling": None,
    "VennAbersCalibrator": lambda c: {"estimator": _classifier(c)},
    "ViMDetector": None,
}
ESTIMATORS = dict(all_estimators())
FRAMES = {
    "pandas": lambda X, names: pd.DataFrame(X, columns=names),
    "polars": lambda X, names: pl.DataFrame(X, schema=names, orient="row"),
}

# Old scikit-learn (1.6) reads column names from pandas, and from other frames
# only through ``__dataframe__``, which polars 2 no longer has; newer releases
# read them through narwhals. Feature names of polars input need the latter.
SKLEARN_READS_POLARS_NAMES = hasattr(
    StandardScaler().fit(pl.DataFrame({"a": [0.0, 1.0]})), "feature_names_in_"
)
NAMED_FRAMES = [
    "pandas",
    pytest.param(
        "polars",
        marks=pytest.mark.skipif(
            not SKLEARN_READS_POLARS_NAMES,
            reason="this scikit-learn reads no column names from polars frames",
        ),
    ),
]


# Each distinct value of the crowd's answer matrix is an answer choice: new
# tasks would hold answers never seen in fit.
_PREDICT_ON_TRAINING_ROWS = {"TopTwoCrowdAggregator"}


def _build(name, columns):
    params = CASES[name]
    est = ESTIMATORS[name](**({} if params is None else params(columns)))
    if "random_state" in est.get_params():
        est.set_params(random_state=0)
    return est


def _data(name):
    """``(X, y, names)``: data suited to the estimator, one name per column."""
    X, y = _data_for(_build(name, ["x"]))
    X = X.reshape(X.shape[0], -1)
    return X, y, [f"col_{i}" for i in range(X.shape[1])]


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-data warnings of some fits
        return est.fit(X, y)


def test_cases_cover_every_estimator():
    assert set(CASES) == set(ESTIMATORS), (
        "add the new estimator to CASES (or remove a stale entry): "
        f"{sorted(set(CASES) ^ set(ESTIMATORS))}"
    )


@pytest.mark.parametrize("lib", NAMED_FRAMES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_dataframe_keeps_names_and_predictions(name, lib):
    X, y, names = _data(name)
    # Held-out rows: a training row scores (nearly) like its own calibration
    # score, and a last-bit difference would break that tie in p-values.
    test = slice(None) if name in _PREDICT_ON_TRAINING_ROWS else slice(200, None)
    fit = slice(None) if name in _PREDICT_ON_TRAINING_ROWS else slice(200)
    X_test, y_test = X[test], y[test]
    from_array = _fit(_build(name, list(range(X.shape[1]))), X[fit], y[fit])
    from_frame = _fit(_build(name, names), FRAMES[lib](X[fit], names), y[fit])
    assert list(from_frame.feature_names_in_) == names
    assert from_frame.n_features_in_ == X.shape[1]
    assert not hasattr(from_array, "feature_names_in_")
    expected = prediction_outputs(from_array, X_test, y_test)
    actual = prediction_outputs(from_frame, FRAMES[lib](X_test, names), y_test)
    actual.pop("feature_names_in_")
    assert expected and actual.keys() == expected.keys()
    for key in expected:
        # A frame converts to a Fortran-ordered array: BLAS may round the last
        # bit differently than on the C-ordered original.
        assert_same(
            actual[key], expected[key], f"{name}.{key} on a {lib} frame", rtol=1e-12
        )


_PREDICTORS = ("predict", "predict_proba", "score_samples", "decision_function")


def _predictors(cls):
    return [m for m in _PREDICTORS if hasattr(cls, m)]


@pytest.mark.parametrize("lib", NAMED_FRAMES)
@pytest.mark.parametrize("name", sorted(n for n in CASES if _predictors(ESTIMATORS[n])))
def test_other_columns_are_refused(name, lib):
    X, y, names = _data(name)
    est = _fit(_build(name, names), FRAMES[lib](X, names), y)
    renamed = FRAMES[lib](X, [f"other_{i}" for i in range(X.shape[1])])
    reordered = FRAMES[lib](X[:, ::-1], names[::-1])
    for method in _predictors(est):
        with pytest.raises(ValueError, match="feature names|columns are missing"):
            getattr(est, method)(renamed)
        if CASES[name] is None:  # meta-estimators: the inner pipeline decides
            with pytest.raises(ValueError, match="feature names should match"):
                getattr(est, method)(reordered)
            with pytest.warns(UserWarning, match="does not have valid feature names"):
                getattr(est, method)(X)


def test_inner_pipeline_refuses_arrays():
    # The column-name pipelines really need a DataFrame: a meta-estimator that
    # converted X to an array before passing it on would fail the tests above.
    X, y, names = _data("CalibratedClassifierCV")
    with pytest.raises(ValueError, match="only supported for dataframes"):
        _classifier(names).fit(X, y)


def _transformers():
    return sorted(n for n, cls in ESTIMATORS.items() if hasattr(cls, "transform"))


def check_set_output(est, X, y, names, lib):
    """``set_output(transform=lib)`` makes ``transform`` return a ``lib`` frame."""
    frame_type = {"pandas": pd.DataFrame, "polars": pl.DataFrame}[lib]
    fitted = _fit(clone(est).set_output(transform=lib), FRAMES[lib](X, names), y)
    out = fitted.transform(FRAMES[lib](X, names))
    assert isinstance(out, frame_type), (type(est).__name__, type(out))
    assert list(out.columns) == list(fitted.get_feature_names_out())


@pytest.mark.parametrize("lib", FRAMES)
def test_set_output_of_every_transformer(lib):
    # No skcalib estimator has ``transform`` today; any that gains one must
    # support set_output. StandardScaler shows the check itself works.
    X, y, names = _data("KNNDetector")
    check_set_output(StandardScaler(), X, y, names, lib)
    for name in _transformers():
        X, y, names = _data(name)
        check_set_output(_build(name, names), X, y, names, lib)
