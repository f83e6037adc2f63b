"""Template base class of the score-space calibrators."""

from abc import ABCMeta, abstractmethod

import numpy as np
from array_api_compat import is_array_api_obj
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..base import CalibratorMixin
from ..utils._array_api import (
    get_namespace_and_device,
    move_to,
    to_numpy,
)
from ..utils._dask import is_dask_array
from ..utils._dask_fit import fit_calibrator_dask
from ..utils._sklearn_compat import _check_feature_names, _fit_context
from ..utils._validation import (
    check_consistent_length,
    check_probabilities,
    check_sample_weight,
    check_scores,
    encode_labels,
)


class BaseScoreCalibrator(CalibratorMixin, BaseEstimator, metaclass=ABCMeta):
    """Validate, encode labels, resolve the namespace, then call the kernels.

    Subclasses implement ``_fit(scores, y, sample_weight, xp)`` and
    ``_predict_proba(scores, xp)`` with array-API operations only, on logits
    of shape (n_samples, n_classes). The template handles:

    - ``X`` as logits (n, k) with one column per class, or, for two classes,
      binary decision values of shape (n,) or (n, 1), turned into the logits
      ``[0, x]`` (so ``softmax([0, x]) = sigmoid(x)``);
    - labels of any type: ``classes_`` is a sorted NumPy array, ``y`` is
      encoded to indices and moved to ``X``'s device;
    - ``sample_weight``, NaN/inf checks, a single-class ``y``, unseen shapes;
    - results in ``X``'s namespace, device and floating dtype.
    """

    _parameter_constraints: dict = {}
    #: True when fit and predict_proba run on any array-API namespace/device.
    _array_api_support = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = self._array_api_support
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the calibrator on scores ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Logits, or binary decision values for two classes.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; a weight of 2 counts a row twice.

        Returns
        -------
        self : object
            The fitted calibrator.
        """
        if is_dask_array(X):
            return fit_calibrator_dask(self, X, y, sample_weight)
        X, y_np, xp, device = self._validate_fit_data(X, y)
        self.n_features_in_ = 1 if X.ndim == 1 else X.shape[1]
        self._check_input_kind(X, xp=xp)
        logits = self._to_logits(X, xp=xp)
        y_idx = move_to(encode_labels(y_np, self.classes_), xp=xp, device=device)
        sample_weight = check_sample_weight(
            sample_weight, X.shape[0], xp=xp, device=device, dtype=logits.dtype
        )
        self._fit(logits, y_idx, sample_weight, xp=xp)
        return self

    def predict_proba(self, X):
        """Calibrated class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Scores of the same kind as in ``fit``.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
            In ``X``'s namespace, device and floating dtype.
        """
        logits, xp = self._validate_predict_scores(X)
        return self._predict_proba(logits, xp=xp)

    def predict(self, X):
        """Most probable label after calibration.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Labels from ``classes_`` (a NumPy array: labels may be strings).
        """
        proba = self.predict_proba(X)
        xp, _ = get_namespace_and_device(proba)
        return self.classes_[to_numpy(xp.argmax(proba, axis=1))]

    def _validate_fit_data(self, X, y, *, ndim=(1, 2)):
        """Validate ``fit``'s scores and labels; set ``classes_``.

        Returns ``(X, y, xp, device)`` with ``X`` finite scores in their own
        namespace and ``y`` a 1-D NumPy array of at least two classes.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        _check_feature_names(self, X, reset=True)
        xp, device = get_namespace_and_device(X)
        X = check_scores(X, name="X", ndim=ndim, xp=xp)
        y_np = to_numpy(y) if is_array_api_obj(y) else np.asarray(y)
        if y_np.ndim == 2 and y_np.shape[1] == 1:
            y_np = y_np.ravel()
        check_consistent_length(X=X, y=y_np)
        check_classification_targets(y_np)
        self.classes_ = np.unique(y_np)
        if self.classes_.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least two classes; y "
                f"contains one class only: {self.classes_.tolist()}."
            )
        return X, y_np, xp, device

    def _validate_predict_scores(self, X):
        """Check prediction-time scores against ``fit``; return ``(logits, xp)``."""
        check_is_fitted(self)
        _check_feature_names(self, X, reset=False)
        xp, _ = get_namespace_and_device(X)
        X = check_scores(X, name="X", xp=xp)
        n_features = 1 if X.ndim == 1 else X.shape[1]
        if n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input. Reshape your "
                "data: pass scores of the shape used in fit."
            )
        self._check_input_kind(X, xp=xp)
        return self._to_logits(X, xp=xp), xp

    def _check_input_kind(self, X, *, xp):
        """For ``input_kind="probabilities"``: X must hold probabilities.

        They must lie in [0, 1] and, with one column per class, rows must sum
        to one: logits passed by mistake raise a clear error instead of giving
        meaningless calibration. Called after the checks of ``y``.
        """
        if self._skcalib_input_kind == "probabilities":
            one_column = X.ndim == 1 or X.shape[1] == 1
            check_probabilities(
                xp.reshape(X, (-1,)) if one_column else X, name="X", xp=xp
            )

    def _to_logits(self, X, *, xp):
        n_classes = self.classes_.shape[0]
        if X.ndim == 1 or X.shape[1] == 1:
            if n_classes != 2:
                raise ValueError(
                    "X holds one score per sample (binary decision values), but y "
                    f"has {n_classes} classes; pass logits of shape (n_samples, "
                    f"{n_classes})."
                )
            x = xp.reshape(X, (-1,))
            return xp.stack([xp.zeros_like(x), x], axis=1)
        if X.shape[1] != n_classes:
            raise ValueError(
                f"X must hold one logit per class: it has {X.shape[1]} columns but y "
                f"has {n_classes} classes {self.classes_.tolist()[:10]}."
            )
        return X

    @abstractmethod
    def _fit(self, logits, y, sample_weight, *, xp):
        """Fit on logits (n, k), label indices (n,) and weights (n,) or None."""

    @abstractmethod
    def _predict_proba(self, logits, *, xp):
        """Calibrated probabilities from logits (n, k)."""


class BaseOneVsRestCalibrator(BaseScoreCalibrator):
    """Template of the binary calibrators applied one-vs-rest.

    Two classes: one binary calibrator on the scores of the positive class
    (column 1, or the decision values of shape (n,)); probabilities are
    ``[1 - p, p]``. More classes: one binary calibrator per class on its own
    column (class ``j`` against the rest), and the probabilities are
    renormalised to sum to one, with the uniform distribution where every
    class gets 0 -- exactly as scikit-learn's ``CalibratedClassifierCV``.

    Subclasses implement ``_fit_binary(scores, target, sample_weight, xp)``,
    returning the fitted state of one binary calibrator (target holds 0/1 in
    ``scores``' dtype), and ``_predict_binary(state, scores, xp)``, returning
    probabilities of the positive class. The states are kept, one per
    calibrated column, in the fitted attribute ``calibrators_``.
    """

    def _fit(self, logits, y, sample_weight, *, xp):
        n_classes = logits.shape[1]
        columns = [1] if n_classes == 2 else range(n_classes)
        self.calibrators_ = [
            self._fit_binary(
                logits[:, j],
                xp.astype(y == j, logits.dtype),
                sample_weight,
                xp=xp,
            )
            for j in columns
        ]
        return self

    def _predict_proba(self, logits, *, xp):
        n_classes = logits.shape[1]
        if n_classes == 2:
            p = self._predict_binary(self.calibrators_[0], logits[:, 1], xp=xp)
            p = xp.clip(p, 0.0, 1.0)
            return xp.stack([1.0 - p, p], axis=1)
        proba = xp.stack(
            [
                self._predict_binary(state, logits[:, j], xp=xp)
                for j, state in enumerate(self.calibrators_)
            ],
            axis=1,
        )
        proba = xp.clip(proba, 0.0, 1.0)
        total = xp.sum(proba, axis=1, keepdims=True)
        safe = xp.where(total > 0, total, xp.ones_like(total))
        uniform = xp.full_like(proba, 1.0 / n_classes)
        return xp.where(total > 0, proba / safe, uniform)

    @abstractmethod
    def _fit_binary(self, scores, target, sample_weight, *, xp):
        """Fit one binary calibrator; return its state."""

    @abstractmethod
    def _predict_binary(self, state, scores, *, xp):
        """Positive-class probabilities of one binary calibrator."""
