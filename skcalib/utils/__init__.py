"""Utilities: array-API core, validation, estimator discovery and checks."""

from ._array_api import get_namespace, get_namespace_and_device, move_to, to_numpy
from ._estimator_device import move_estimator
from ._persistence import get_skops_trusted_types

__all__ = [
    "get_namespace",
    "get_namespace_and_device",
    "get_skops_trusted_types",
    "move_estimator",
    "move_to",
    "to_numpy",
]
