"""The one place where skcalib imports private scikit-learn names.

scikit-learn keeps its parameter-validation machinery, ``_fit_context`` and the
helpers that index samples and sample-aligned fit parameters per
cross-validation fold in private modules. Importing them only here means a
scikit-learn refactoring breaks one file, not the whole package.
"""

import re

import array_api_compat
import numpy as np
import sklearn
from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing as _sklearn_safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    Options,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.validation import _check_feature_names, _check_method_params

#: ``(major, minor)`` of the installed scikit-learn, for feature gates.
SKLEARN_VERSION = tuple(
    int(part) for part in re.findall(r"\d+", sklearn.__version__)[:2]
)


def _safe_indexing(X, indices, *, axis=0):
    """scikit-learn's ``_safe_indexing``, also for array-API arrays on old versions.

    scikit-learn < 1.7 hands NumPy (or list) indices of an array-API array to
    ``xp.take`` unchanged, which strict namespaces refuse; they are moved to
    the array's namespace and device here first.
    """
    if (
        SKLEARN_VERSION < (1, 7)
        and array_api_compat.is_array_api_obj(X)
        and not isinstance(X, np.ndarray)
        and not isinstance(indices, (int, slice))
    ):
        from ._array_api import get_namespace_and_device

        xp, device = get_namespace_and_device(X)
        indices = xp.asarray(np.asarray(indices), device=device)
        if xp.isdtype(indices.dtype, "bool"):
            indices = xp.nonzero(indices)[0]
        return xp.take(X, indices, axis=axis)
    return _sklearn_safe_indexing(X, indices, axis=axis)


__all__ = [
    "SKLEARN_VERSION",
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_check_feature_names",
    "_check_method_params",
    "_fit_context",
    "_safe_indexing",
    "validate_parameter_constraints",
    "validate_params",
]
