"""Utilities: array-API core, validation, estimator discovery and checks."""

from ._array_api import get_namespace, get_namespace_and_device, move_to, to_numpy
from ._estimator_device import move_estimator

__all__ = [
    "get_namespace",
    "get_namespace_and_device",
    "move_estimator",
    "move_to",
    "to_numpy",
]
