"""Mixins and tags shared by the estimator families.

Every public skcalib estimator subclasses :class:`sklearn.base.BaseEstimator`
with one of the family mixins below on its left. The mixins set scikit-learn's
estimator type and declare, through :func:`get_skcalib_tags`, what the
estimator expects as ``X`` so that generic checks
(:mod:`skcalib.utils.estimator_checks`) can feed it suitable data.
"""

from dataclasses import dataclass

from sklearn.base import ClassifierMixin, OutlierMixin, RegressorMixin

from .utils._dask import wrap_rowwise_methods

__all__ = [
    "CalibratorMixin",
    "ConformalClassifierMixin",
    "ConformalRegressorMixin",
    "OODDetectorMixin",
    "SkcalibTags",
    "get_skcalib_tags",
]


@dataclass(frozen=True)
class SkcalibTags:
    """skcalib-specific estimator tags.

    Parameters
    ----------
    family : {"calibrator", "conformal_classifier", "conformal_regressor", \
"selective_classifier", "ood_detector", "uncertainty", None}
        Which family the estimator belongs to.
    input_kind : {"logits", "probabilities", "decision", "features", "pairs"}
        What ``X`` holds: logits (n, k), probabilities (n, k), binary decision
        values (n,) or (n, 1), generic features (n, d) passed to a wrapped
        estimator, or pairs of item indices (n, 2) compared with each other.
    binary_only : bool
        Whether the estimator only supports two classes.

    Examples
    --------
    >>> from skcalib.base import SkcalibTags, get_skcalib_tags
    >>> from skcalib.calibration import TemperatureScaling
    >>> get_skcalib_tags(TemperatureScaling())
    SkcalibTags(family='calibrator', input_kind='logits', binary_only=False)
    >>> SkcalibTags().family is None
    True
    """

    family: str | None = None
    input_kind: str = "features"
    binary_only: bool = False


def get_skcalib_tags(estimator):
    """Return the :class:`SkcalibTags` of ``estimator`` (defaults if it has none).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcalib.base import get_skcalib_tags
    >>> get_skcalib_tags(LogisticRegression()).family is None
    True
    """
    method = getattr(estimator, "__skcalib_tags__", None)
    return method() if method is not None else SkcalibTags()


class _SkcalibTagsMixin:
    _skcalib_family = None
    _skcalib_input_kind = "features"
    _skcalib_binary_only = False

    def __init_subclass__(cls, **kwargs):
        # Row-wise methods (predict_proba, predict_set, score_samples, ...)
        # return lazy Dask arrays for Dask inputs: see skcalib.utils._dask.
        super().__init_subclass__(**kwargs)
        wrap_rowwise_methods(cls)

    def __skcalib_tags__(self):
        return SkcalibTags(
            family=self._skcalib_family,
            input_kind=self._skcalib_input_kind,
            binary_only=self._skcalib_binary_only,
        )


class CalibratorMixin(_SkcalibTagsMixin, ClassifierMixin):
    """Mixin for score-space calibrators.

    ``fit(X, y)`` learns a map from scores ``X`` to calibrated probabilities;
    ``predict_proba(X)`` applies it and ``predict(X)`` returns the most probable
    label. Subclasses set ``_skcalib_input_kind`` to the kind of scores they
    expect ("logits", "probabilities" or "decision").

    Examples
    --------
    >>> from sklearn.base import is_classifier
    >>> from skcalib.base import CalibratorMixin, get_skcalib_tags
    >>> from skcalib.calibration import TemperatureScaling
    >>> issubclass(TemperatureScaling, CalibratorMixin)
    True
    >>> is_classifier(TemperatureScaling())
    True
    >>> get_skcalib_tags(TemperatureScaling()).input_kind
    'logits'
    """

    _skcalib_family = "calibrator"
    _skcalib_input_kind = "logits"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class ConformalClassifierMixin(_SkcalibTagsMixin, ClassifierMixin):
    """Mixin for conformal classifiers (``predict_set`` returns boolean sets).

    Examples
    --------
    >>> from sklearn.base import is_classifier
    >>> from skcalib.base import ConformalClassifierMixin, get_skcalib_tags
    >>> from skcalib.conformal import SplitConformalClassifier
    >>> issubclass(SplitConformalClassifier, ConformalClassifierMixin)
    True
    >>> is_classifier(SplitConformalClassifier())
    True
    >>> get_skcalib_tags(SplitConformalClassifier()).family
    'conformal_classifier'
    """

    _skcalib_family = "conformal_classifier"


class ConformalRegressorMixin(_SkcalibTagsMixin, RegressorMixin):
    """Mixin for conformal regressors (``predict_interval`` returns (n, 2)).

    Examples
    --------
    >>> from sklearn.base import is_regressor
    >>> from skcalib.base import ConformalRegressorMixin, get_skcalib_tags
    >>> from skcalib.conformal import SplitConformalRegressor
    >>> issubclass(SplitConformalRegressor, ConformalRegressorMixin)
    True
    >>> is_regressor(SplitConformalRegressor())
    True
    >>> get_skcalib_tags(SplitConformalRegressor()).family
    'conformal_regressor'
    """

    _skcalib_family = "conformal_regressor"


class OODDetectorMixin(_SkcalibTagsMixin, OutlierMixin):
    """Mixin for out-of-distribution detectors.

    Follows scikit-learn's outlier API: ``score_samples`` is higher for more
    in-distribution inputs, ``decision_function = score_samples - offset_`` and
    ``predict`` returns +1 (in-distribution) or -1 (out-of-distribution).

    Examples
    --------
    >>> from sklearn.base import is_outlier_detector
    >>> from skcalib.base import OODDetectorMixin, get_skcalib_tags
    >>> from skcalib.ood import EnergyDetector
    >>> issubclass(EnergyDetector, OODDetectorMixin)
    True
    >>> is_outlier_detector(EnergyDetector())
    True
    >>> get_skcalib_tags(EnergyDetector()).family
    'ood_detector'
    """

    _skcalib_family = "ood_detector"
