"""skcalib: trustworthy predictions as scikit-learn estimators.

Probability calibrators, conformal predictors and out-of-distribution detectors,
plus the metrics and displays to judge them. Importing :mod:`skcalib` is cheap:
subpackages are imported on first use.
"""

import importlib

__version__ = "0.1.0.dev0"

_SUBMODULES = [
    "base",
    "calibration",
    "conformal",
    "datasets",
    "metrics",
    "ood",
    "pipeline",
    "report",
    "uncertainty",
    "utils",
]

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"skcalib.{name}")
    raise AttributeError(f"module 'skcalib' has no attribute {name!r}")


def __dir__():
    return __all__
