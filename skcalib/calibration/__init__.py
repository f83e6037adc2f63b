"""Post-hoc calibrators that map a model's scores to calibrated probabilities.

Score-space calibrators take the scores of an already trained model (logits,
decision values or probabilities, as each declares through its ``input_kind``
tag) and return calibrated probabilities:

- one-parameter and affine maps of the logits: :class:`TemperatureScaling`,
  :class:`VectorScaling`, :class:`MatrixScaling`, :class:`DirichletCalibration`;
- binary maps applied one-vs-rest: :class:`PlattScaling`,
  :class:`IsotonicCalibration`, :class:`BetaCalibration`,
  :class:`HistogramBinning`, :class:`BBQ`;
- :class:`VennAbersCalibrator`, with its (p0, p1) probability interval;
- per-sample temperatures: :class:`InputDependentTemperatureScaling` and
  :class:`CorrectnessAwareCalibrator`.

:class:`CalibratedClassifierCV` wraps a classifier and any of them, as a drop-in
superset of scikit-learn's class of the same name.
"""

from ._bbq import BBQ
from ._beta import BetaCalibration
from ._calibrated_classifier_cv import CalibratedClassifierCV
from ._correctness_aware import CorrectnessAwareCalibrator
from ._histogram import HistogramBinning
from ._input_dependent_temperature import InputDependentTemperatureScaling
from ._isotonic import IsotonicCalibration
from ._matrix_scaling import DirichletCalibration, MatrixScaling, VectorScaling
from ._platt import PlattScaling
from ._temperature import TemperatureScaling
from ._venn_abers import VennAbersCalibrator

__all__ = [
    "BBQ",
    "BetaCalibration",
    "CalibratedClassifierCV",
    "CorrectnessAwareCalibrator",
    "DirichletCalibration",
    "HistogramBinning",
    "InputDependentTemperatureScaling",
    "IsotonicCalibration",
    "MatrixScaling",
    "PlattScaling",
    "TemperatureScaling",
    "VectorScaling",
    "VennAbersCalibrator",
]
