"""The one place where skcalib imports private scikit-learn names.

scikit-learn keeps its parameter-validation machinery and ``_fit_context`` in
private modules. Importing them only here means a scikit-learn refactoring
breaks one file, not the whole package.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    Options,
    RealNotInt,
    StrOptions,
    validate_params,
)

__all__ = [
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "validate_params",
]
