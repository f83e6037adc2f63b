"""Every array-API metric, estimator and display gives the NumPy numbers.

Registries guarantee coverage, so the array-API promise cannot silently
erode: ``METRIC_CASES`` holds one weighted case per public metric of
:mod:`skcalib.metrics`, ``ESTIMATOR_CASES`` one case per estimator whose
``array_api_support`` tag is True (fit, then every prediction method), and
``DISPLAY_CASES`` the ``from_predictions`` of every display; a test fails when
a metric, estimator or display is added without a case. The per-family test
modules exercise more options; this module is the registry. It also counts the
host transfers of fit and predict on array_api_strict's second device: they
must not grow with the number of rows, and grow with the number of classes or
optimiser iterations only within the documented budgets below.
"""

import collections
import contextlib
import inspect

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.utils import get_tags

import skcalib.metrics as metrics
from skcalib.base import get_skcalib_tags
from skcalib.calibration import (
    BBQ,
    BetaCalibration,
    CalibratedClassifierCV,
    CorrectnessAwareCalibrator,
    DirichletCalibration,
    HistogramBinning,
    InputDependentTemperatureScaling,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
    VennAbersCalibrator,
)
from skcalib.datasets import make_classification_logits, make_ood_features
from skcalib.ood import (
    EnergyDetector,
    EntropyDetector,
    GENDetector,
    KNNDetector,
    LearnedTemperatureEnergyDetector,
    MahalanobisDetector,
    MaxLogitDetector,
    MSPDetector,
    RelativeMahalanobisDetector,
    ViMDetector,
)
from skcalib.uncertainty import BradleyTerryConfidence, SubjectiveLogicClassifier
from skcalib.utils._testing import (
    array_api_combinations,
    assert_same_on_namespace,
    convert_inputs,
    requires_sklearn,
    skip_if_unavailable,
)
from skcalib.utils.discovery import all_estimators
from skcalib.utils.estimator_checks import _classification_data

# Functions of skcalib.metrics that take no arrays (scorer factories).
# Model-selection helpers, not metrics of arrays.
NOT_ARRAY_FUNCTIONS = {
    "coverage_constrained_refit",
    "get_scorer",
    "get_scorer_names",
    "make_scorer",
}

# Per-sample scores: nothing to weight.
UNWEIGHTED = {"el2n_score"}

N = 90
K = 4


def _data():
    rng = np.random.default_rng(42)
    logits = rng.normal(scale=2.0, size=(N, K))
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    y = rng.integers(0, K, size=N)
    y[:K] = np.arange(K)  # every class present
    y_bin = (rng.uniform(size=N) < 0.4).astype(np.int64)
    y_bin[:2] = [0, 1]
    p_bin = np.clip(0.6 * y_bin + rng.uniform(-0.3, 0.5, size=N), 0.01, 0.99)
    sets = rng.uniform(size=(N, K)) < 0.5
    sets[np.arange(N), y] |= rng.uniform(size=N) < 0.8
    y_reg = rng.normal(size=N)
    half = rng.uniform(0.1, 2.0, size=N)
    centre = y_reg + rng.normal(scale=0.8, size=N)
    interval = np.stack([centre - half, centre + half], axis=1)
    ood = np.r_[np.zeros(N // 2), np.ones(N - N // 2)].astype(np.int64)
    ood_score = rng.normal(size=N) + 1.2 * ood
    y_pred = np.argmax(proba, axis=1)
    confidence = proba.max(axis=1)
    accepted = confidence > np.median(confidence)
    weight = rng.uniform(0.5, 2.0, size=N)
    return dict(
        proba=proba,
        y=y,
        y_bin=y_bin,
        p_bin=p_bin,
        sets=sets,
        y_reg=y_reg,
        interval=interval,
        ood=ood,
        ood_score=ood_score,
        y_pred=y_pred,
        confidence=confidence,
        accepted=accepted,
        weight=weight,
    )


D = _data()


def _case(func_name, args, **kwargs):
    return pytest.param(func_name, args, kwargs, id=func_name)


METRIC_CASES = [
    _case("expected_calibration_error", ("y", "proba"), n_bins=5),
    _case("adaptive_calibration_error", ("y", "proba"), n_bins=5),
    _case("maximum_calibration_error", ("y_bin", "p_bin"), n_bins=5),
    _case("smooth_ece", ("y_bin", "p_bin")),
    _case("brier_score", ("y", "proba")),
    _case("brier_score_decomposition", ("y", "proba"), n_bins=5),
    _case("negative_log_likelihood", ("y", "proba")),
    _case("balance_score", ("y", "proba")),
    _case("reliability_curve", ("y_bin", "p_bin"), n_bins=5),
    _case("coverage_score", ("y", "sets")),
    _case("mean_set_size", ("sets",)),
    _case("size_stratified_coverage", ("y", "sets")),
    _case("classwise_coverage", ("y", "sets")),
    _case("interval_coverage_score", ("y_reg", "interval")),
    _case("mean_interval_width", ("interval",)),
    _case("ood_auroc", ("ood", "ood_score")),
    _case("fpr_at_tpr", ("ood", "ood_score")),
    _case("aupr_in", ("ood", "ood_score")),
    _case("aupr_out", ("ood", "ood_score")),
    _case("detection_error", ("ood", "ood_score")),
    _case("risk_coverage_curve", ("y", "y_pred", "confidence")),
    _case("aurc", ("y", "y_pred", "confidence")),
    _case("selective_auc", ("y", "y_pred", "confidence")),
    _case("el2n_score", ("y", "proba")),
    _case("selective_risk", ("y", "y_pred"), accepted="accepted"),
    _case("selective_coverage", ("y_pred",), accepted="accepted"),
    _case(
        "bootstrap_confidence_interval",
        ("y", "proba"),
        metric=metrics.brier_score,
        n_resamples=30,
        random_state=0,
    ),
]


def _public_array_metrics():
    return sorted(
        name
        for name in metrics.__all__
        if inspect.isfunction(getattr(metrics, name))
        and name not in NOT_ARRAY_FUNCTIONS
    )


def test_every_metric_has_an_array_api_case():
    covered = {case.values[0] for case in METRIC_CASES}
    missing = sorted(set(_public_array_metrics()) - covered)
    assert not missing, f"metrics without an array-API case: {missing}"


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("func_name, arg_names, kwargs", METRIC_CASES)
def test_metric_same_on_namespace(func_name, arg_names, kwargs, combination):
    func = getattr(metrics, func_name)
    kwargs = dict(kwargs)
    # Array-valued keyword arguments travel through the conversion, too.
    kwargs = {
        k: D[v] if isinstance(v, str) and v in D else v for k, v in kwargs.items()
    }
    if func_name == "bootstrap_confidence_interval":
        metric = kwargs.pop("metric")

        def call(*arrays, sample_weight):
            return func(metric, *arrays, sample_weight=sample_weight, **kwargs)

        # bootstrap resamples rows identically on every namespace (NumPy RNG),
        # so even this randomised metric must agree.
        assert_same_on_namespace(
            call,
            [D[name] for name in arg_names],
            {"sample_weight": D["weight"]},
            combination=combination,
        )
        return
    if func_name not in UNWEIGHTED:
        kwargs["sample_weight"] = D["weight"]
    assert_same_on_namespace(
        func, [D[name] for name in arg_names], kwargs, combination=combination
    )


# --------------------------------------------------------------------------
# Estimators: fit then every prediction method, on every namespace.
# --------------------------------------------------------------------------

# Prediction methods compared across namespaces (whichever each estimator has).
PREDICT_METHODS = (
    "predict",
    "predict_proba",
    "predict_set",
    "predict_interval",
    "score_samples",
    "decision_function",
    "predict_proba_interval",
    "score_pvalues",
)


def _estimator_data(estimator, n_samples=200, n_classes=3, random_state=0):
    """``(X, y)`` of the kind the estimator expects (its skcalib input kind)."""
    tags = get_skcalib_tags(estimator)
    if tags.family == "ood_detector" and tags.input_kind == "features":
        return make_ood_features(
            n_samples,
            0,
            n_features=6,
            n_classes=n_classes,
            random_state=random_state,
        )
    if tags.family == "ood_detector":
        return make_classification_logits(
            n_samples, n_classes + 2, temperature=2.0, random_state=random_state
        )
    return _classification_data(
        estimator,
        n_samples=n_samples,
        n_classes=n_classes,
        random_state=random_state,
    )


def _est_case(estimator, id=None, n_classes=3, marks=()):
    return pytest.param(
        estimator, n_classes, id=id or type(estimator).__name__, marks=marks
    )


# scikit-learn < 1.8 pins array_api_strict to the 2023.12 standard whenever
# its own estimators see such arrays, which lacks take_along_axis (2024.12),
# used by skcalib's kernels: a meta-estimator around a scikit-learn model
# cannot run on array_api_strict there.
SKLEARN_PINS_STRICT_2023 = requires_sklearn(
    "1.8", "scikit-learn < 1.8 pins array_api_strict to the 2023.12 standard"
)


# One case per array-API estimator (``array_api_support`` tag True), plus
# parameter variants whose code paths differ (binary inputs, meta-estimators).
ESTIMATOR_CASES = [
    _est_case(BBQ()),
    _est_case(BetaCalibration()),
    _est_case(BradleyTerryConfidence()),
    _est_case(CorrectnessAwareCalibrator()),
    _est_case(DirichletCalibration()),
    _est_case(EnergyDetector()),
    _est_case(EntropyDetector()),
    _est_case(GENDetector()),
    _est_case(HistogramBinning()),
    _est_case(HistogramBinning(strategy="quantile"), id="HistogramBinning-quantile"),
    _est_case(InputDependentTemperatureScaling()),
    _est_case(IsotonicCalibration()),
    _est_case(KNNDetector(random_state=0)),
    _est_case(LearnedTemperatureEnergyDetector(random_state=0)),
    _est_case(MSPDetector()),
    _est_case(MahalanobisDetector(random_state=0)),
    _est_case(MatrixScaling()),
    _est_case(MaxLogitDetector()),
    _est_case(PlattScaling()),
    _est_case(RelativeMahalanobisDetector(random_state=0)),
    _est_case(SubjectiveLogicClassifier()),
    _est_case(TemperatureScaling()),
    _est_case(VectorScaling()),
    _est_case(VennAbersCalibrator()),
    _est_case(ViMDetector(n_components=2, random_state=0)),
    # Two classes: 1-D decision values / probabilities, one calibrator.
    *(
        _est_case(est, id=f"{type(est).__name__}-binary", n_classes=2)
        for est in (
            BBQ(),
            BetaCalibration(),
            HistogramBinning(),
            IsotonicCalibration(),
            PlattScaling(),
            TemperatureScaling(),
            VennAbersCalibrator(),
        )
    ),
    # Meta-estimator: array-API when its classifier and calibrator both are.
    *(
        _est_case(
            CalibratedClassifierCV(LinearDiscriminantAnalysis(), method=method, cv=3),
            id=f"CalibratedClassifierCV-LDA-{method}",
            marks=SKLEARN_PINS_STRICT_2023,
        )
        for method in ("temperature", "sigmoid", "isotonic", "vector")
    ),
]


def _array_api_estimator_names():
    return sorted(
        name for name, cls in all_estimators() if get_tags(cls()).array_api_support
    )


def test_every_array_api_estimator_has_a_case():
    covered = {type(case.values[0]).__name__ for case in ESTIMATOR_CASES}
    missing = sorted(set(_array_api_estimator_names()) - covered)
    assert not missing, f"array-API estimators without a case: {missing}"
    # A case for an estimator that lost its tag would test a promise not made.
    for case in ESTIMATOR_CASES:
        assert get_tags(case.values[0]).array_api_support, case.id


def _tolerances(combination):
    if combination[2] == "float32":
        return {"rtol": 1e-3, "atol": 1e-4}
    return {"rtol": 1e-5, "atol": 1e-8}


def _check_float_dtypes(outputs, dtype):
    """Floating outputs keep the floating dtype of ``X`` (float32 stays float32)."""
    for name, out in outputs.items():
        out_dtype = getattr(out, "dtype", None)
        if out_dtype is not None and "float" in str(out_dtype):
            assert out_dtype == dtype, f"{name} returned {out_dtype}, X is {dtype}"


def _fit_and_predict(estimator):
    def run(X, y, X_test):
        fitted = clone(estimator).fit(X, y)
        outputs = {
            method: getattr(fitted, method)(X_test)
            for method in PREDICT_METHODS
            if hasattr(fitted, method)
        }
        if X.dtype != y.dtype:  # not pairs of integer item indices
            _check_float_dtypes(outputs, X.dtype)
        return outputs

    return run


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("estimator, n_classes", ESTIMATOR_CASES)
def test_estimator_same_on_namespace(estimator, n_classes, combination):
    X, y = _estimator_data(estimator, n_classes=n_classes)
    assert_same_on_namespace(
        _fit_and_predict(estimator),
        [X[:150], y[:150], X[150:]],
        combination=combination,
        **_tolerances(combination),
    )


# --------------------------------------------------------------------------
# Displays: ``from_predictions`` computes the same curves on every namespace.
# --------------------------------------------------------------------------


def _display_case(display_name, args, id, **kwargs):
    return pytest.param(display_name, args, kwargs, id=f"{display_name}-{id}")


DISPLAY_CASES = [
    _display_case(
        "ReliabilityDisplay",
        ("y", "proba"),
        "top_label",
        n_bins=5,
        sample_weight="weight",
    ),
    _display_case(
        "ReliabilityDisplay",
        ("y_bin", "p_bin"),
        "binary-smooth-bootstrap",
        smooth=True,
        n_bootstrap=20,
        random_state=0,
        sample_weight="weight",
    ),
    _display_case(
        "ReliabilityDisplay",
        ("y", "proba"),
        "classwise",
        multi_class="classwise",
        n_bins=4,
    ),
    _display_case("OODScoreDisplay", ("ood", "ood_score"), "tpr", tpr=0.9),
    _display_case(
        "CoverageDisplay",
        ("y", "sets"),
        "by_class",
        by="class",
        confidence_level=0.9,
    ),
    _display_case(
        "CoverageDisplay",
        ("y", "sets_levels"),
        "by_level",
        by="level",
        confidence_level=[0.5, 0.8],
    ),
]


def _display_values(display):
    """The computed data of a display (its parameters, not its artists)."""
    return {
        name: value
        for name, value in vars(display).items()
        if not name.endswith("_") and not isinstance(value, str) and value is not None
    }


def test_every_display_has_an_array_api_case():
    displays = {name for name in metrics.__all__ if name.endswith("Display")}
    covered = {case.values[0] for case in DISPLAY_CASES}
    assert displays, "no display found in skcalib.metrics"
    assert displays <= covered, f"displays without a case: {displays - covered}"


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("display_name, arg_names, kwargs", DISPLAY_CASES)
def test_display_same_on_namespace(display_name, arg_names, kwargs, combination):
    plt = pytest.importorskip("matplotlib.pyplot")
    display_cls = getattr(metrics, display_name)
    data = dict(D, sets_levels=np.stack([D["sets"], D["sets"] | D["sets"][::-1]], -1))
    kwargs = dict(kwargs)
    arrays = {k: data[v] for k, v in kwargs.items() if isinstance(v, str) and v in D}
    options = {k: v for k, v in kwargs.items() if k not in arrays}

    def call(*args, **array_kwargs):
        display = display_cls.from_predictions(*args, **array_kwargs, **options)
        plt.close(display.figure_)
        return _display_values(display)

    assert_same_on_namespace(
        call,
        [data[name] for name in arg_names],
        arrays,
        combination=combination,
        **_tolerances(combination),
    )


# --------------------------------------------------------------------------
# Host transfers: counted on array_api_strict's second device, they must not
# grow with the number of rows (nor, beyond a documented budget, with the
# number of classes or of optimiser iterations).
# --------------------------------------------------------------------------

# Every way an array_api_strict array reaches the host: DLPack/NumPy copies
# (``to_numpy``) and Python scalars (``float(x)``, ``if x:``, ``range(x)``).
_HOST_HOOKS = (
    "__array__",
    "__bool__",
    "__buffer__",
    "__complex__",
    "__dlpack__",
    "__float__",
    "__index__",
    "__int__",
    "__iter__",
)

# Host transfers allowed per optimiser iteration (``n_iter_``, summed over the
# nested calibrators): the scalars of a convergence test or of a line search,
# or the loss and gradient handed to scipy.optimize (one transfer of a small
# vector). Bradley-Terry solves each Newton step by conjugate gradients with
# three scalars per CG step, at most one CG step per item (20 items here).
PER_ITERATION_TRANSFERS = {"BradleyTerryConfidence": 4 + 3 * 20}
DEFAULT_PER_ITERATION_TRANSFERS = 3
# Estimators whose iterations run an inner solver (CG steps) that n_iter_ does
# not count: rounding may change the inner steps at equal n_iter_, so their
# fit transfers may differ by up to the per-iteration budget of every iteration.
INNER_SOLVER = {"BradleyTerryConfidence"}

# Host transfers allowed per class for one-vs-rest calibrators: each binary
# calibrator checks or reduces its own column (sums of weights and positives,
# a binned count, the isotonic fit that scikit-learn runs on the host), a
# bounded number of transfers of O(n_bins) values, never of one per row.
PER_CLASS_TRANSFERS = {
    "BBQ": 3,
    "BetaCalibration": 2,
    "CorrectnessAwareCalibrator": 2,
    "HistogramBinning": 2,
    "IsotonicCalibration": 2,
    # One Newton fit per class: two scalars plus one per Newton step (about six
    # here; ``n_iter_`` reports only the largest count over the classes).
    "PlattScaling": 8,
    "MatrixScaling": 1,
    "VectorScaling": 1,
}


@contextlib.contextmanager
def _count_host_transfers():
    """Count the host transfers of array_api_strict arrays inside the block."""
    import array_api_strict

    array_type = type(array_api_strict.asarray(0.0))
    counts = collections.Counter()
    originals = {hook: getattr(array_type, hook) for hook in _HOST_HOOKS}

    def counted(hook, method):
        def wrapper(self, *args, **kwargs):
            counts[hook] += 1
            return method(self, *args, **kwargs)

        return wrapper

    for hook, method in originals.items():
        setattr(array_type, hook, counted(hook, method))
    try:
        yield counts
    finally:
        for hook, method in originals.items():
            setattr(array_type, hook, method)


def _total_iterations(obj, seen=None):
    """``n_iter_`` summed over ``obj`` and the estimators nested in it."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        return sum(_total_iterations(o, seen) for o in obj)
    if not type(obj).__module__.startswith(("skcalib.", "sklearn.")):
        return 0
    n_iter = np.sum(getattr(obj, "n_iter_", 0))
    nested = vars(obj).values() if hasattr(obj, "__dict__") else ()
    return int(n_iter) + sum(_total_iterations(v, seen) for v in nested)


def _per_class_transfers(estimator):
    """Allowed fit transfers per class (one-vs-rest calibrators, per fold)."""
    if isinstance(estimator, CalibratedClassifierCV):
        calibrator = estimator._get_calibrator()
        return estimator.cv * PER_CLASS_TRANSFERS.get(type(calibrator).__name__, 0)
    return PER_CLASS_TRANSFERS.get(type(estimator).__name__, 0)


def _transfers(estimator, X, y, X_test):
    """(fit transfers, predict transfers, optimiser iterations) on device1."""
    import array_api_strict

    X, y, X_test = convert_inputs(
        [X, y, X_test], array_api_strict, array_api_strict.Device("device1"), "float64"
    )
    with config_context(array_api_dispatch=True), _count_host_transfers() as counts:
        fitted = clone(estimator).fit(X, y)
        n_fit = sum(counts.values())
        for method in PREDICT_METHODS:
            if hasattr(fitted, method):
                getattr(fitted, method)(X_test)
    return n_fit, sum(counts.values()) - n_fit, _total_iterations(fitted)


@pytest.mark.parametrize("estimator, n_classes", ESTIMATOR_CASES)
def test_host_transfers_do_not_grow_with_rows(estimator, n_classes):
    skip_if_unavailable("array_api_strict", "device1")
    X, y = _estimator_data(estimator, n_classes=n_classes)
    small = _transfers(estimator, X[:150], y[:150], X[150:])
    # The same rows ten times: the same fit (the same mean loss), ten times
    # the work; only the iteration count may change (rounding).
    large = _transfers(
        estimator,
        np.tile(X[:150], (10,) + (1,) * (X.ndim - 1)),
        np.tile(y[:150], 10),
        np.tile(X[150:], (10,) + (1,) * (X.ndim - 1)),
    )
    name = type(estimator).__name__
    per_iteration = PER_ITERATION_TRANSFERS.get(name, DEFAULT_PER_ITERATION_TRANSFERS)
    assert large[1] == small[1], f"predict transfers {small[1]} -> {large[1]}"
    allowed = per_iteration * abs(large[2] - small[2])
    if name in INNER_SOLVER:
        allowed = per_iteration * max(large[2], small[2])
    assert abs(large[0] - small[0]) <= allowed, (
        f"fit transfers {small[0]} (n=150, {small[2]} iterations) -> {large[0]} "
        f"(n=1500, {large[2]} iterations)"
    )


@pytest.mark.parametrize(
    "estimator",
    [
        pytest.param(case.values[0], id=case.id, marks=case.marks)
        for case in ESTIMATOR_CASES
        if case.values[1] == 3
    ],
)
def test_host_transfers_bounded_in_classes(estimator):
    skip_if_unavailable("array_api_strict", "device1")
    counts = {}
    for n_classes in (3, 6):
        X, y = _estimator_data(estimator, n_classes=n_classes)
        counts[n_classes] = _transfers(estimator, X[:150], y[:150], X[150:])
    name = type(estimator).__name__
    per_iteration = PER_ITERATION_TRANSFERS.get(name, DEFAULT_PER_ITERATION_TRANSFERS)
    assert counts[6][1] == counts[3][1], f"predict transfers: {counts}"
    allowed = per_iteration * abs(counts[6][2] - counts[3][2])
    allowed += 3 * _per_class_transfers(estimator)
    assert counts[6][0] - counts[3][0] <= allowed, f"fit transfers: {counts}"
