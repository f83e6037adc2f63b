"""Find every public estimator and function of skcalib."""

import inspect
from importlib import import_module
from operator import itemgetter

from sklearn.base import BaseEstimator

from ..base import (
    CalibratorMixin,
    ConformalClassifierMixin,
    ConformalRegressorMixin,
    OODDetectorMixin,
)

__all__ = ["all_estimators", "all_functions"]

_FAMILIES = {
    "calibrator": CalibratorMixin,
    "conformal_classifier": ConformalClassifierMixin,
    "conformal_regressor": ConformalRegressorMixin,
    "ood_detector": OODDetectorMixin,
}
# scikit-learn's estimator types, matched on the estimator tags.
_SKLEARN_TYPES = (
    "classifier",
    "regressor",
    "outlier_detector",
    "transformer",
    "cluster",
)
# The public subpackages: what they list in ``__all__`` is the public API.
_PUBLIC_PACKAGES = (
    "calibration",
    "conformal",
    "datasets",
    "metrics",
    "ood",
    "pipeline",
    "uncertainty",
)


def _public_objects():
    for package in _PUBLIC_PACKAGES:
        module = import_module(f"skcalib.{package}")
        for name in getattr(module, "__all__", ()):
            yield name, getattr(module, name)


def all_estimators(type_filter=None):
    """List every public estimator class of skcalib.

    Parameters
    ----------
    type_filter : str, list of str or None, default=None
        Keep only some estimators. skcalib families: ``"calibrator"``,
        ``"conformal_classifier"``, ``"conformal_regressor"``,
        ``"ood_detector"``; scikit-learn types (from the estimator tags):
        ``"classifier"``, ``"regressor"``, ``"outlier_detector"``,
        ``"transformer"``, ``"cluster"``. A list keeps estimators matching any
        of its entries.

    Returns
    -------
    estimators : list of (name, class) tuples
        Sorted by name, each class listed once.

    Examples
    --------
    >>> from skcalib.utils.discovery import all_estimators
    >>> isinstance(all_estimators(type_filter="calibrator"), list)
    True
    """
    filters = [type_filter] if isinstance(type_filter, str) else type_filter
    if filters is not None:
        unknown = set(filters) - set(_FAMILIES) - set(_SKLEARN_TYPES)
        if unknown:
            raise ValueError(
                f"type_filter must be among {sorted(_FAMILIES) + list(_SKLEARN_TYPES)}"
                f" or None, got {sorted(unknown)}."
            )
    found = {
        name: obj
        for name, obj in _public_objects()
        if inspect.isclass(obj)
        and issubclass(obj, BaseEstimator)
        and not inspect.isabstract(obj)
    }
    estimators = sorted(found.items(), key=itemgetter(0))
    if filters is None:
        return estimators
    return [(n, c) for n, c in estimators if any(_matches(c, f) for f in filters)]


def _matches(cls, type_filter):
    if type_filter in _FAMILIES:
        return issubclass(cls, _FAMILIES[type_filter])
    try:
        tags = cls().__sklearn_tags__()
    except TypeError:  # required constructor arguments: fall back on mixins
        return False
    if type_filter == "transformer":
        return tags.transformer_tags is not None
    return tags.estimator_type == type_filter


def all_functions():
    """List every public function of skcalib (those in the subpackages' ``__all__``).

    Returns
    -------
    functions : list of (name, function) tuples, sorted by name

    Examples
    --------
    >>> from skcalib.utils.discovery import all_functions
    >>> "expected_calibration_error" in dict(all_functions())
    True
    """
    found = {name: obj for name, obj in _public_objects() if inspect.isfunction(obj)}
    return sorted(found.items(), key=itemgetter(0))
