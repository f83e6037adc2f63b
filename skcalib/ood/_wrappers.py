"""Detectors around a scikit-learn model: OOD scores and rejection of OOD inputs."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from ..base import get_skcalib_tags
from ..utils._array_api import get_namespace_and_device, to_numpy
from ..utils._sklearn_compat import (
    HasMethods,
    StrOptions,
    _check_feature_names,
    _fit_context,
)
from ._base import BaseLearnedOODDetector, BaseOODDetector
from ._logits import (
    EnergyDetector,
    EntropyDetector,
    GENDetector,
    MaxLogitDetector,
    MSPDetector,
)

__all__ = ["ClassifierOODDetector", "OODRejectClassifier"]

#: ``method`` aliases of the logit detectors.
METHODS = {
    "msp": MSPDetector,
    "max_logit": MaxLogitDetector,
    "energy": EnergyDetector,
    "entropy": EntropyDetector,
    "gen": GENDetector,
}


class ClassifierOODDetector(BaseLearnedOODDetector):
    """OOD detector on the outputs of a scikit-learn model.

    The wrapped ``estimator`` turns inputs into what the detector (``method``)
    scores:

    * logit detectors (``"msp"``, ``"max_logit"``, ``"energy"``,
      ``"entropy"``, ``"gen"`` or such an instance) read the estimator's
      ``decision_function`` (binary decision values ``d`` become the logits
      ``[0, d]``), or ``log(predict_proba)`` for classifiers without one --
      enough for MSP, entropy and GEN, which only depend on the softmax, but
      not for energy and max-logit, which are then refused;
    * feature detectors (:class:`MahalanobisDetector`, :class:`KNNDetector`,
      ...) read ``transform``: of the estimator if it is a transformer, or of
      the steps before the last of a pipeline (the features its final
      classifier receives).

    Fitting follows :class:`~sklearn.calibration.CalibratedClassifierCV`'s
    rules. A :class:`~sklearn.frozen.FrozenEstimator` is used as it is (it
    must have been fitted on other data) and ``fit(X, y)`` only fits the
    detector, on the estimator's outputs for ``X``. Any other estimator is
    cloned and fitted on a part of ``X``; the held-out ``calibration_size``
    part calibrates the thresholds, so that they hold for fresh data (a model
    is overconfident on its own training data). A detector that learns (class
    means, neighbours, ...) learns from the estimator's outputs on the
    training part.

    Parameters
    ----------
    estimator : estimator or None, default=None
        A classifier (logit detectors) or transformer (feature detectors),
        possibly a :class:`~sklearn.frozen.FrozenEstimator` or a pipeline.
        None means :class:`~sklearn.linear_model.LogisticRegression`.
    method : {"msp", "max_logit", "energy", "entropy", "gen"} or detector, \
default="energy"
        The detector, by name (logit detectors, default parameters) or as an
        unfitted skcalib detector instance. Its own ``tpr``,
        ``contamination``, ``calibration_size`` and ``random_state`` are
        replaced by the wrapper's.
    calibration_size : float in (0, 1) or int, default=0.2
        Part of ``X`` held out to calibrate ``offset_`` and the p-values when
        the estimator (or the detector) is fitted here. Ignored with a frozen
        estimator and a detector without learned parameters: all of ``X``
        calibrates.
    tpr : float, default=0.95
        Target true-positive rate: ``offset_`` is set so that a fresh
        in-distribution sample is accepted (``predict == 1``) with probability
        at least ``tpr``. Used when ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers; ``offset_`` is the ``contamination`` quantile of
        the scores of all fit data.
    random_state : int, RandomState instance or None, default=None
        Draws the calibration split.

    Attributes
    ----------
    estimator_ : estimator
        The fitted (or frozen) estimator.
    detector_ : detector
        The fitted detector, on the estimator's outputs.
    offset_ : float
        Threshold on ``score_samples`` (the detector's).
    calibration_scores_ : array of shape (n_calibration_samples,)
        Sorted scores of the calibration samples.
    classes_ : ndarray of shape (n_classes,)
        The estimator's classes, when it has them.
    n_features_in_ : int
        Number of features of ``X``, when the estimator exposes it.

    See Also
    --------
    OODRejectClassifier : Predicts labels and rejects OOD inputs.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skcalib.datasets import make_ood_features
    >>> from skcalib.metrics import ood_auroc
    >>> from skcalib.ood import ClassifierOODDetector, MahalanobisDetector
    >>> X, y = make_ood_features(2000, 200, n_features=8, random_state=0)
    >>> is_in = y != -1
    >>> model = make_pipeline(StandardScaler(), LogisticRegression())
    >>> detector = ClassifierOODDetector(model, method=MahalanobisDetector(),
    ...                                  random_state=0)
    >>> detector = detector.fit(X[is_in], y[is_in])
    >>> round(ood_auroc(is_in, detector.score_samples(X)), 3)
    1.0
    """

    _parameter_constraints: dict = {
        **BaseLearnedOODDetector._parameter_constraints,
        "estimator": [
            None,
            HasMethods(["fit", "decision_function"]),
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "transform"]),
        ],
        "method": [
            StrOptions(set(METHODS)),
            HasMethods(["fit", "score_samples"]),
        ],
    }
    _array_api_support = False
    _y_usage = "optional"

    def __init__(
        self,
        estimator=None,
        *,
        method="energy",
        calibration_size=0.2,
        tpr=0.95,
        contamination=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.method = method
        self.calibration_size = calibration_size
        self.tpr = tpr
        self.contamination = contamination
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        estimator = LogisticRegression() if self.estimator is None else self.estimator
        estimator_tags = get_tags(estimator)
        tags.target_tags.required = estimator_tags.target_tags.required
        # Logits of sparse inputs are dense; features (transform) may not be.
        tags.input_tags.sparse = estimator_tags.input_tags.sparse and (
            isinstance(self.method, str)
            or get_skcalib_tags(self.method).input_kind == "logits"
        )
        return tags

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the estimator (unless frozen) and the detector on its outputs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            In-distribution inputs of the estimator.
        y : array-like of shape (n_samples,), default=None
            Their labels, for the estimator and the detectors that use them.

        Returns
        -------
        self : object
            The fitted detector.
        """
        estimator = LogisticRegression() if self.estimator is None else self.estimator
        self.estimator_ = clone(estimator)
        method = self.method
        if not isinstance(method, (str, BaseOODDetector)):
            raise ValueError(
                "method must be one of "
                f"{sorted(METHODS)} or a skcalib OOD detector instance, got "
                f"{type(method).__name__}."
            )
        detector = METHODS[method]() if isinstance(method, str) else clone(method)
        detector.set_params(tpr=self.tpr, contamination=self.contamination)
        detector._validate_params()
        frozen = isinstance(self.estimator_, FrozenEstimator)
        learns = isinstance(detector, BaseLearnedOODDetector)
        if frozen and not learns:
            X_fit, y_fit, X_cal = X, y, X
        else:
            parts = self._split(X, y)
            X_fit, X_cal = parts[0], parts[1]
            y_fit = None if y is None else parts[2]
        if not frozen:
            self.estimator_.fit(X_fit, y_fit)
        self.detector_ = detector
        Z_fit = self._outputs(X_fit)
        xp, _ = get_namespace_and_device(Z_fit)
        Z_fit = detector._validate_X(Z_fit, xp=xp, reset=True)
        Z_cal = Z_fit
        if X_cal is not X_fit:
            Z_cal = detector._validate_X(self._outputs(X_cal), xp=xp, reset=False)
        y_fit = detector._validate_y(y_fit, Z_fit)
        detector._fit_calibrate(Z_fit, y_fit, Z_cal, xp=xp)
        self.offset_ = detector.offset_
        self.calibration_scores_ = detector.calibration_scores_
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        _check_feature_names(self, X, reset=True)
        return self

    def _split(self, X, y):
        """``[X_fit, X_cal, y_fit, y_cal]`` (or without y): a random split."""
        arrays = (X,) if y is None else (X, y)
        return train_test_split(
            *arrays, test_size=self.calibration_size, random_state=self.random_state
        )

    def _outputs(self, X):
        """The estimator's outputs that the detector scores."""
        estimator = self.estimator_
        if get_skcalib_tags(self.detector_).input_kind == "features":
            return self._features(X)
        if hasattr(estimator, "decision_function"):
            logits = estimator.decision_function(X)
            xp, _ = get_namespace_and_device(logits)
            if logits.ndim == 1:
                logits = xp.stack([xp.zeros_like(logits), logits], axis=1)
            return logits
        if isinstance(self.detector_, (EnergyDetector, MaxLogitDetector)):
            raise ValueError(
                f"method={type(self.detector_).__name__} needs logits, but "
                f"{type(estimator).__name__} has no decision_function (its "
                "log-probabilities are logits only up to a per-sample shift); use "
                "'msp', 'entropy' or 'gen', which are shift invariant."
            )
        proba = estimator.predict_proba(X)
        xp, _ = get_namespace_and_device(proba)
        return xp.log(xp.clip(proba, 1e-300, 1.0))

    def _features(self, X):
        """``transform`` of the estimator, or of a pipeline's steps but the last."""
        estimator = self.estimator_
        if isinstance(estimator, FrozenEstimator):
            estimator = estimator.estimator
        if not hasattr(estimator, "transform") and isinstance(estimator, Pipeline):
            estimator = estimator[:-1]
        if not hasattr(estimator, "transform"):
            raise ValueError(
                f"method={type(self.detector_).__name__} scores features, so "
                "estimator must be a transformer, or a pipeline whose steps before "
                f"the last give the features; got {type(estimator).__name__}."
            )
        return estimator.transform(X)

    def _detector_input(self, X):
        return self._outputs(X)

    def _validate_X(self, X, *, xp, reset):
        return self.detector_._validate_X(X, xp=xp, reset=reset)

    def _score(self, X, *, xp):
        return self.detector_._score(X, xp=xp)


class OODRejectClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Classifier that predicts labels and rejects out-of-distribution inputs.

    Fits a :class:`ClassifierOODDetector` around ``estimator``; ``predict``
    returns the estimator's label for inputs the detector accepts and
    ``reject_label`` for the others. With the default ``tpr=0.95``, about 5%
    of fresh in-distribution inputs are rejected too: the price of catching
    OOD inputs.

    Parameters
    ----------
    estimator : classifier or None, default=None
        The classifier, possibly a :class:`~sklearn.frozen.FrozenEstimator`.
        None means :class:`~sklearn.linear_model.LogisticRegression`.
    method : {"msp", "max_logit", "energy", "entropy", "gen"} or detector, \
default="energy"
        The OOD detector (see :class:`ClassifierOODDetector`).
    reject_label : int, float or str, default=-1
        Label returned for rejected inputs. It must not be a class.
    calibration_size : float in (0, 1) or int, default=0.2
        Held-out part of ``X`` that calibrates the detector when the
        classifier is fitted here (see :class:`ClassifierOODDetector`).
    tpr : float, default=0.95
        Target fraction of in-distribution inputs accepted.
    contamination : float in (0, 0.5] or None, default=None
        Alternative to ``tpr``: fraction of the fit data taken as outliers.
    random_state : int, RandomState instance or None, default=None
        Draws the calibration split.

    Attributes
    ----------
    detector_ : ClassifierOODDetector
        The fitted detector; ``detector_.estimator_`` is the classifier.
    classes_ : ndarray of shape (n_classes,)
        The classifier's classes.
    n_features_in_ : int
        Number of features of ``X``, when the classifier exposes it.

    See Also
    --------
    ClassifierOODDetector : The OOD scores and thresholds alone.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skcalib.datasets import make_ood_features
    >>> from skcalib.ood import MahalanobisDetector, OODRejectClassifier
    >>> X, y = make_ood_features(2000, 200, n_features=8, random_state=0)
    >>> is_in = y != -1
    >>> model = make_pipeline(StandardScaler(), LogisticRegression())
    >>> clf = OODRejectClassifier(model, method=MahalanobisDetector(),
    ...                           random_state=0)
    >>> clf = clf.fit(X[is_in], y[is_in])
    >>> clf.predict(X[:4])  # in-distribution: labels (or -1 for a few)
    array([1, 2, 0, 1])
    >>> clf.predict(X[~is_in][:4])  # OOD: rejected
    array([-1, -1, -1, -1])
    """

    _parameter_constraints: dict = {
        **ClassifierOODDetector._parameter_constraints,
        "reject_label": [Integral, float, str],
    }

    def __init__(
        self,
        estimator=None,
        *,
        method="energy",
        reject_label=-1,
        calibration_size=0.2,
        tpr=0.95,
        contamination=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.method = method
        self.reject_label = reject_label
        self.calibration_size = calibration_size
        self.tpr = tpr
        self.contamination = contamination
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        detector_tags = ClassifierOODDetector(
            self.estimator, method=self.method
        ).__sklearn_tags__()
        tags.input_tags.sparse = detector_tags.input_tags.sparse
        return tags

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the classifier (unless frozen) and its OOD detector.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            In-distribution training inputs.
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self.detector_ = ClassifierOODDetector(
            self.estimator,
            method=self.method,
            calibration_size=self.calibration_size,
            tpr=self.tpr,
            contamination=self.contamination,
            random_state=self.random_state,
        ).fit(X, y)
        self.classes_ = self.detector_.estimator_.classes_
        if np.isin(np.asarray([self.reject_label], dtype=object), self.classes_).any():
            raise ValueError(
                f"reject_label={self.reject_label!r} is one of the classes "
                f"{self.classes_.tolist()[:10]}; choose a label that is not."
            )
        if hasattr(self.detector_, "n_features_in_"):
            self.n_features_in_ = self.detector_.n_features_in_
        _check_feature_names(self, X, reset=True)
        return self

    def predict(self, X):
        """Predicted labels, ``reject_label`` for inputs flagged OOD.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The classifier's labels, with ``reject_label`` where the detector
            predicts -1 (object dtype when ``reject_label`` does not fit the
            classes' dtype).
        """
        check_is_fitted(self)
        labels = np.asarray(to_numpy(self.detector_.estimator_.predict(X)))
        rejected = to_numpy(self.detector_.predict(X)) == -1
        reject = np.asarray(self.reject_label)
        numeric = labels.dtype.kind in "biuf" and reject.dtype.kind in "biuf"
        dtype = np.result_type(labels, reject) if numeric else object
        return np.where(rejected, reject.astype(dtype), labels.astype(dtype))

    def score_samples(self, X):
        """In-distribution scores of the detector (higher = more in-distribution).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.detector_.score_samples(X)
