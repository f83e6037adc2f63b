"""The ``skcalib`` command as a library: read scores, compute the report, render it.

:func:`calibration_report` computes everything ``skcalib report`` shows
(metrics with bootstrap intervals, cross-validated calibrators, conformal
coverage and set sizes, OOD detection) and returns a
:class:`CalibrationReport`, whose ``to_html`` writes one self-contained HTML
file. :func:`read_scores` and :func:`write_probabilities` handle the CSV,
Parquet, NPY and NPZ files of the command; :func:`fit_score_calibrator` fits
any ``CalibratedClassifierCV`` method on stored scores.
"""

from ._calibrate import ScoreModel, fit_score_calibrator
from ._compute import CalibrationReport, calibration_report
from ._demo import DEMO_DESCRIPTION, demo_scores
from ._io import InputError, ScoreData, read_scores, write_probabilities

__all__ = [
    "DEMO_DESCRIPTION",
    "CalibrationReport",
    "InputError",
    "ScoreData",
    "ScoreModel",
    "calibration_report",
    "demo_scores",
    "fit_score_calibrator",
    "read_scores",
    "write_probabilities",
]
