"""Every public metric gives the NumPy numbers on every array-API namespace.

``METRIC_CASES`` holds one weighted case per public metric of
:mod:`skcalib.metrics`; :func:`test_every_metric_has_an_array_api_case` fails
when a metric is added without one, so the array-API promise of the metrics
module cannot silently erode. The per-family test modules under
``tests/metrics`` exercise more options per metric; this module is the
registry that guarantees coverage.
"""

import inspect

import numpy as np
import pytest

import skcalib.metrics as metrics
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

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
