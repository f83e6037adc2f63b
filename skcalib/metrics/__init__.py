"""Metrics and displays to judge calibrators, conformal predictors and OOD detectors.

Names follow scikit-learn: ``*_score`` is higher-is-better, ``*_error`` and
``*_loss`` lower-is-better. Every metric returns a Python float (or a NumPy
array for per-class / per-level breakdowns) and accepts arrays of any
array-API namespace under ``sklearn.config_context(array_api_dispatch=True)``.
Submodules are imported on first use, so ``import skcalib.metrics`` is cheap.
"""

import importlib

_LAZY = {
    # calibration
    "expected_calibration_error": "_calibration",
    "adaptive_calibration_error": "_calibration",
    "maximum_calibration_error": "_calibration",
    "smooth_ece": "_calibration",
    "brier_score": "_calibration",
    "brier_score_decomposition": "_calibration",
    "BrierDecomposition": "_calibration",
    "negative_log_likelihood": "_calibration",
    "balance_score": "_calibration",
    "reliability_curve": "_calibration",
    # conformal
    "coverage_score": "_conformal",
    "mean_set_size": "_conformal",
    "size_stratified_coverage": "_conformal",
    "classwise_coverage": "_conformal",
    "mean_interval_width": "_conformal",
    "interval_coverage_score": "_conformal",
    # out-of-distribution detection
    "ood_auroc": "_ood",
    "fpr_at_tpr": "_ood",
    "aupr_in": "_ood",
    "aupr_out": "_ood",
    "detection_error": "_ood",
    # selective prediction
    "risk_coverage_curve": "_selective",
    "aurc": "_selective",
    "selective_risk": "_selective",
    "selective_coverage": "_selective",
    "selective_auc": "_selective",
    # data quality
    "el2n_score": "_data_quality",
    # uncertainty on metrics
    "bootstrap_confidence_interval": "_bootstrap",
    "BootstrapResult": "_bootstrap",
    # scorers
    "coverage_constrained_refit": "_scorers",
    "get_scorer": "_scorers",
    "get_scorer_names": "_scorers",
    "make_scorer": "_scorers",
    # displays
    "ReliabilityDisplay": "_plot.reliability",
    "OODScoreDisplay": "_plot.ood",
    "CoverageDisplay": "_plot.coverage",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f"skcalib.metrics.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'skcalib.metrics' has no attribute {name!r}")


def __dir__():
    return __all__
