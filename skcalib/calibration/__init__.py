"""Post-hoc calibrators that map a model's scores to calibrated probabilities."""

from ._temperature import TemperatureScaling

__all__ = ["TemperatureScaling"]
