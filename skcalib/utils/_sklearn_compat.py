"""The one place where skcalib imports private scikit-learn names.

scikit-learn keeps its parameter-validation machinery, ``_fit_context`` and the
helpers that index samples and sample-aligned fit parameters per
cross-validation fold in private modules. Importing them only here means a
scikit-learn refactoring breaks one file, not the whole package.
"""

import re

import sklearn
from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
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
from sklearn.utils.validation import _check_method_params

#: ``(major, minor)`` of the installed scikit-learn, for feature gates.
SKLEARN_VERSION = tuple(
    int(part) for part in re.findall(r"\d+", sklearn.__version__)[:2]
)

__all__ = [
    "SKLEARN_VERSION",
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_check_method_params",
    "_fit_context",
    "_safe_indexing",
    "validate_parameter_constraints",
    "validate_params",
]
