"""Template of the OOD detectors: thresholds, conformal p-values and FDR control.

Every detector computes a score that is **higher for more in-distribution**
inputs (scikit-learn's outlier convention). The template turns the scores of
held-out in-distribution *calibration* data into

* ``offset_``, the acceptance threshold (``decision_function = score_samples -
  offset_``, ``predict`` is +1 where it is >= 0 and -1 elsewhere), set for a
  target true-positive rate ``tpr`` or, scikit-learn style, a
  ``contamination`` of the fit data;
* conformal p-values (:meth:`BaseOODDetector.score_pvalues`) and the
  Benjamini-Hochberg selection built on them
  (:meth:`BaseOODDetector.predict_fdr`).

Which data calibrate depends on whether the detector *learns* from its fit
data. A detector with no learned parameters (the logit scores: the score of a
sample depends on that sample only) scores every fit sample exactly as it would
score a fresh one, so all of them calibrate. A detector that learns (class
means, a covariance, stored neighbours, a principal subspace, a temperature
head) scores its own training samples too favourably; it holds out a random
``calibration_size`` part of the fit data, learns on the rest and calibrates on
the held-out part, so that the calibration scores and the scores of fresh
in-distribution samples are exchangeable -- the condition for the guarantees
below.
"""

import math
import numbers
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from array_api_compat import is_array_api_obj
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..base import OODDetectorMixin
from ..utils._array_api import (
    conformal_quantile,
    get_namespace_and_device,
    is_numpy_namespace,
    move_to,
    to_numpy,
)
from ..utils._dask import is_dask_array
from ..utils._dask_fit import fit_ood_detector_dask
from ..utils._sklearn_compat import (
    Interval,
    RealNotInt,
    _check_feature_names,
    _fit_context,
)
from ..utils._validation import check_consistent_length, check_scores, encode_labels

__all__ = ["BaseLearnedOODDetector", "BaseOODDetector", "check_linear_head"]


def _lower_tail_threshold(sorted_scores, fraction):
    """Linear-interpolation ``fraction``-quantile of ascending ``sorted_scores``.

    The same rule as ``numpy.percentile(scores, 100 * fraction)`` (its default
    ``"linear"`` method), computed from the two neighbouring order statistics,
    so that exactly ``floor(fraction * (n - 1)) + 1`` untied scores fall below
    it when ``fraction * (n - 1)`` is not an integer.
    """
    n = sorted_scores.shape[0]
    position = fraction * (n - 1)
    low = math.floor(position)
    high = min(low + 1, n - 1)
    a, b = float(sorted_scores[low]), float(sorted_scores[high])
    return a + (position - low) * (b - a)


def _one_hot(labels, n_classes, *, dtype, xp, device):
    """Indicator matrix of shape (n_samples, n_classes) of label indices ``labels``."""
    classes = xp.arange(n_classes, device=device)
    return xp.astype(labels[:, None] == classes[None, :], dtype)


def _class_means(X, labels, n_classes, *, xp, device):
    """``(means, counts)`` of the rows of ``X`` in each class ``0..n_classes-1``.

    Computed with one one-hot product (no indexed assignment), in ``X``'s dtype.
    """
    one_hot = _one_hot(labels, n_classes, dtype=X.dtype, xp=xp, device=device)
    counts = xp.sum(one_hot, axis=0)
    return (one_hot.T @ X) / counts[:, None], counts


def check_linear_head(coef, intercept, n_features, *, xp, device, dtype):
    """Validate a classifier's last linear layer and move it to ``xp``/``device``.

    Parameters
    ----------
    coef : array-like of shape (n_classes, n_features) or (1, n_features)
        Weights, one row per class (scikit-learn's ``coef_``; a network's
        last-layer weight). A single row (binary scikit-learn models) stands
        for the logits ``[0, coef @ x + intercept]``.
    intercept : array-like of shape (n_classes,), float or None
        Biases; None means zeros.
    n_features : int
        Number of features the layer must accept.
    xp, device, dtype
        Where the returned arrays live.

    Returns
    -------
    W : array of shape (n_logits, n_features)
    b : array of shape (n_logits,)
    """
    W = to_numpy(coef) if is_array_api_obj(coef) else np.asarray(coef)
    W = np.atleast_2d(np.asarray(W, dtype=np.float64))
    if W.ndim != 2 or W.shape[1] != n_features:
        raise ValueError(
            f"coef must have shape (n_classes, {n_features}) to match the "
            f"{n_features} features of X, got shape {W.shape}."
        )
    if intercept is None:
        b = np.zeros(W.shape[0])
    else:
        b = to_numpy(intercept) if is_array_api_obj(intercept) else intercept
        b = np.atleast_1d(np.asarray(b, dtype=np.float64))
        if b.shape != (W.shape[0],):
            raise ValueError(
                f"intercept must have shape ({W.shape[0]},), one bias per row of "
                f"coef, got shape {b.shape}."
            )
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        raise ValueError("coef and intercept must be finite (no NaN or inf).")
    if W.shape[0] == 1:
        W = np.concatenate([np.zeros_like(W), W])
        b = np.concatenate([[0.0], b])
    W = xp.astype(move_to(W, xp=xp, device=device), dtype)
    b = xp.astype(move_to(b, xp=xp, device=device), dtype)
    return W, b


class BaseOODDetector(OODDetectorMixin, BaseEstimator, metaclass=ABCMeta):
    """Template of the OOD detectors without learned parameters.

    Subclasses implement ``_score(X, xp=xp)``, the in-distribution score of
    validated rows ``X`` written with array-API operations only, and may
    override ``_fit(X, y, xp=xp)`` (a no-op here). ``y`` reaches ``_fit`` as a
    NumPy array or ``None``; ``_y_usage`` says whether the detector ignores it
    (``"ignored"``), can use it (``"optional"``) or needs it (``"required"``).

    The template validates inputs, resolves the array namespace, fits, scores
    the calibration data and sets ``calibration_scores_`` and ``offset_``; it
    provides :meth:`score_samples`, :meth:`decision_function`, :meth:`predict`,
    :meth:`score_pvalues` and :meth:`predict_fdr`.
    """

    _parameter_constraints: dict = {
        "tpr": [Interval(Real, 0, 1, closed="neither")],
        "contamination": [None, Interval(Real, 0, 0.5, closed="right")],
    }
    #: Whether fit and scoring run on any array-API namespace and device.
    _array_api_support = True
    #: "ignored", "optional" or "required": what the detector does with ``y``.
    _y_usage = "ignored"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = self._array_api_support
        tags.target_tags.required = self._y_usage == "required"
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the detector on in-distribution data and set its thresholds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            In-distribution logits or features (see the class description).
        y : array-like of shape (n_samples,), default=None
            Class labels, for the detectors that use them; ignored otherwise.

        Returns
        -------
        self : object
            The fitted detector.
        """
        if is_dask_array(X):
            return fit_ood_detector_dask(self, X, y)
        xp, _ = get_namespace_and_device(X)
        X = self._validate_X(X, xp=xp, reset=True)
        y = self._validate_y(y, X)
        X_fit, y_fit, X_cal = self._calibration_split(X, y, xp=xp)
        self._fit_calibrate(X_fit, y_fit, X_cal, xp=xp)
        return self

    def fit_predict(self, X, y=None):
        """Fit on ``X`` (and ``y``), then predict +1 / -1 for ``X``.

        scikit-learn's ``OutlierMixin.fit_predict`` drops ``y``; detectors that
        learn from labels need it passed on.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : int64 array of shape (n_samples,)
        """
        return self.fit(X, y).predict(X)

    def score_samples(self, X):
        """In-distribution score of each sample (higher = more in-distribution).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data of the kind used in ``fit``.

        Returns
        -------
        scores : array of shape (n_samples,)
            In ``X``'s namespace, device and floating dtype. Negate them to get
            the "outlier scores" of libraries where higher means more OOD (such
            as pytorch-ood).
        """
        return self._checked_scores(X, "score_samples")

    def decision_function(self, X):
        """Shifted score ``score_samples(X) - offset_``: negative means OOD.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        decision : array of shape (n_samples,)
        """
        return self._checked_scores(X, "decision_function") - self.offset_

    def predict(self, X):
        """Predict +1 for in-distribution and -1 for out-of-distribution samples.

        A sample is in-distribution when ``decision_function(X) >= 0``. (pyod
        encodes the same decision as 0 = inlier, 1 = outlier: ``(1 - y) // 2``
        converts.)

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : int64 array of shape (n_samples,)
            In ``X``'s namespace and device.
        """
        return self._as_labels(self._checked_scores(X, "predict") >= self.offset_)

    def score_pvalues(self, X):
        """Conformal p-values of the samples against the calibration scores.

        For a test score ``s`` and calibration scores ``s_1, ..., s_n`` (of
        held-out in-distribution data),
        ``p = (1 + #{i : s_i <= s}) / (n + 1)``. A small p-value means that few
        in-distribution samples score as low: evidence that the sample is OOD.
        For an in-distribution sample exchangeable with the calibration data,
        ``P(p <= a) <= a`` for every ``a`` (Bates et al. 2023).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        pvalues : array of shape (n_samples,)
            In ``(0, 1]``, in ``X``'s namespace, device and floating dtype.

        References
        ----------
        Bates, S., Candes, E., Lei, L., Romano, Y. and Sesia, M. (2023).
        Testing for outliers with conformal p-values. Annals of Statistics,
        51(1), 149-178.
        """
        return self._pvalues(self._checked_scores(X, "score_pvalues"))

    def predict_fdr(self, X, fdr=0.1):
        """Flag OOD samples with the false discovery rate controlled at ``fdr``.

        Applies the Benjamini-Hochberg procedure to :meth:`score_pvalues`: with
        ``m`` samples and sorted p-values ``p_(1) <= ... <= p_(m)``, let ``k``
        be the largest index with ``p_(k) <= k * fdr / m``; the samples with
        ``p <= k * fdr / m`` are flagged OOD (-1), the others in-distribution
        (+1). Conformal p-values are positively dependent, so the expected
        fraction of in-distribution samples among the flagged ones is at most
        ``fdr`` (Bates et al. 2023, Theorem 3), over the calibration and test
        data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The batch of samples tested together.
        fdr : float, default=0.1
            Target false discovery rate, in (0, 1).

        Returns
        -------
        labels : int64 array of shape (n_samples,)
            +1 (in-distribution) or -1 (flagged OOD), in ``X``'s namespace.

        References
        ----------
        Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery
        rate: a practical and powerful approach to multiple testing. JRSS B,
        57(1), 289-300.

        Bates, S., Candes, E., Lei, L., Romano, Y. and Sesia, M. (2023).
        Testing for outliers with conformal p-values. Annals of Statistics,
        51(1), 149-178.
        """
        if (
            isinstance(fdr, (bool, np.bool_))
            or not isinstance(fdr, numbers.Real)
            or not 0 < fdr < 1
        ):
            raise ValueError(f"fdr must be a float in (0, 1), got {fdr!r}.")
        pvalues = self._pvalues(self._checked_scores(X, "predict_fdr"))
        xp, device = get_namespace_and_device(pvalues)
        m = pvalues.shape[0]
        ranks = xp.arange(1, m + 1, dtype=pvalues.dtype, device=device)
        below = xp.sort(pvalues) <= ranks * (fdr / m)
        n_flagged = int(xp.max(xp.where(below, ranks, xp.zeros_like(ranks))))
        # Every p-value <= k * fdr / m is among the k smallest (k is maximal).
        return self._as_labels(pvalues > n_flagged * fdr / m)

    # ------------------------------------------------------------------
    # Hooks and helpers for subclasses
    # ------------------------------------------------------------------

    def _checked_scores(self, X, method):
        """Scores of ``X`` for public ``method``, after the fitted-state checks."""
        check_is_fitted(self)
        X = self._detector_input(X)
        self._check_same_namespace(X, method)
        xp, _ = get_namespace_and_device(X, self.calibration_scores_)
        return self._score(self._validate_X(X, xp=xp, reset=False), xp=xp)

    def _detector_input(self, X):
        """What the detector scores, from the user's ``X`` (``X`` itself here)."""
        return X

    def _check_same_namespace(self, X, method):
        """Raise a ValueError unless ``X`` lives where the fit data lived."""
        fitted = self.calibration_scores_
        try:
            if is_array_api_obj(X):
                get_namespace_and_device(X, fitted)
            else:
                fit_xp, _ = get_namespace_and_device(fitted)
                if not is_numpy_namespace(fit_xp):
                    raise TypeError(
                        f"X is not an array but the detector was fitted on "
                        f"{fit_xp.__name__} arrays."
                    )
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Inputs passed to {type(self).__name__}.{method}() must use the "
                "same namespace and the same device as those passed to fit(). "
                f"{exc}"
            ) from exc

    def _pvalues(self, scores):
        """Conformal p-values of ``scores`` against ``calibration_scores_``."""
        xp, _ = get_namespace_and_device(scores)
        calibration = self.calibration_scores_
        counts = xp.searchsorted(
            calibration, xp.astype(scores, calibration.dtype), side="right"
        )
        return (xp.astype(counts, scores.dtype) + 1) / (calibration.shape[0] + 1)

    @abstractmethod
    def _score(self, X, *, xp):
        """In-distribution scores of validated rows ``X`` (n, n_features)."""

    def _fit(self, X, y, *, xp):
        """Learn from validated rows ``X`` and NumPy labels ``y`` (or None)."""

    def _calibration_split(self, X, y, *, xp):
        """``(X_fit, y_fit, X_cal)``: without learned parameters, all rows."""
        return X, y, X

    def _fit_calibrate(self, X_fit, y_fit, X_cal, *, xp):
        """Fit on ``X_fit`` / ``y_fit``, then set the thresholds from ``X_cal``."""
        self._fit(X_fit, y_fit, xp=xp)
        calibration = self._score(X_cal, xp=xp)
        fit_scores = None
        if self.contamination is not None and X_fit is not X_cal:
            fit_scores = self._score(X_fit, xp=xp)
        self._set_thresholds(calibration, fit_scores, xp=xp)

    def _set_thresholds(self, calibration_scores, fit_scores=None, *, xp):
        """Store the sorted calibration scores and set ``offset_``.

        With ``contamination=None``, ``offset_`` is the conformal threshold for
        ``tpr``: the ``floor((n + 1) (1 - tpr))``-th smallest of the ``n``
        calibration scores, so that a fresh in-distribution sample is accepted
        with probability at least ``tpr`` (and below ``tpr + 1 / (n + 1)``
        without ties). It is ``-inf`` (everything accepted, with a warning) when
        ``n < tpr / (1 - tpr)``. A sample is then accepted exactly when its
        p-value exceeds ``1 - tpr``. With a ``contamination``, ``offset_`` is
        the ``contamination`` quantile of the scores of all fit data
        (``fit_scores`` and the calibration scores), as in scikit-learn.
        """
        self.calibration_scores_ = xp.sort(calibration_scores)
        if self.contamination is None:
            upper = float(conformal_quantile(-self.calibration_scores_, self.tpr))
            if math.isinf(upper):
                self._warn_too_few(self.calibration_scores_.shape[0])
            self.offset_ = -upper
        else:
            scores = self.calibration_scores_
            if fit_scores is not None:
                scores = xp.sort(xp.concat([fit_scores, calibration_scores]))
            self.offset_ = _lower_tail_threshold(scores, float(self.contamination))

    def _warn_too_few(self, n_calibration):
        """Warn that ``n_calibration`` scores cannot give a finite ``tpr`` threshold."""
        warnings.warn(
            f"{type(self).__name__}: {n_calibration} calibration sample(s) are "
            f"too few to reach tpr={self.tpr} with a finite threshold (at least "
            "tpr / (1 - tpr) are needed); offset_ is -inf and every sample is "
            "predicted in-distribution.",
            UserWarning,
        )

    def _validate_X(self, X, *, xp, reset):
        """Validate ``X`` as a 2-D float array; set or check ``n_features_in_``.

        Also sets (``reset``) or checks ``feature_names_in_`` for DataFrames.
        """
        _check_feature_names(self, X, reset=reset)
        X = check_scores(X, name="X", ndim=(1, 2), xp=xp)
        if X.ndim == 1:
            raise ValueError(
                f"Expected a 2-D array for X, got an array of shape {tuple(X.shape)}."
                " Reshape your data either using array.reshape(-1, 1) if your data"
                " has a single feature or array.reshape(1, -1) if it contains a "
                "single sample."
            )
        n_features = int(X.shape[1])
        if reset:
            self.n_features_in_ = n_features
        elif n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        return X

    def _validate_y(self, y, X):
        """Labels as a 1-D NumPy array (or None), following ``_y_usage``."""
        if self._y_usage == "ignored":
            return None
        if y is None:
            if self._y_usage == "required":
                raise ValueError(
                    f"{type(self).__name__} requires y to be passed, but the "
                    "target y is None."
                )
            return None
        y = to_numpy(y) if is_array_api_obj(y) else np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got an array of shape {y.shape}.")
        check_consistent_length(X=X, y=y)
        check_classification_targets(y)
        return y

    def _encode_labels(self, y, n_samples, *, xp, device, require_two_classes=False):
        """Set ``classes_`` from labels ``y`` and return their indices on device.

        ``y=None`` (allowed for ``_y_usage="optional"``) makes one class, 0.
        With ``require_two_classes``, a ValueError is raised unless ``y`` has
        at least two classes.
        """
        if y is None:
            y = np.zeros(n_samples, dtype=np.int64)
        self.classes_ = np.unique(y)
        if require_two_classes and self.classes_.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least two classes in "
                f"y; got one class only: {self.classes_.tolist()}."
            )
        return move_to(encode_labels(y, self.classes_), xp=xp, device=device)

    @staticmethod
    def _as_labels(is_in):
        """+1 where ``is_in`` is True, -1 elsewhere, as int64."""
        xp, device = get_namespace_and_device(is_in)
        ones = xp.ones(is_in.shape, dtype=xp.int64, device=device)
        return xp.where(is_in, ones, -ones)


class BaseLearnedOODDetector(BaseOODDetector):
    """Template of the detectors that learn from their fit data.

    ``fit`` holds out ``calibration_size`` of the rows, drawn at random with
    ``random_state``; ``_fit`` learns on the others and the held-out rows
    calibrate the thresholds and p-values.
    """

    _parameter_constraints: dict = {
        **BaseOODDetector._parameter_constraints,
        "calibration_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state"],
    }

    def _calibration_split(self, X, y, *, xp):
        """``(X_fit, y_fit, X_cal)`` from a random held-out calibration part."""
        fit_idx, cal_idx = self._split_indices(X.shape[0])
        _, device = get_namespace_and_device(X)
        X_fit = xp.take(X, move_to(fit_idx, xp=xp, device=device), axis=0)
        X_cal = xp.take(X, move_to(cal_idx, xp=xp, device=device), axis=0)
        return X_fit, None if y is None else y[fit_idx], X_cal

    def _n_calibration(self, n_samples, n_fit=None):
        """Calibration rows of ``n_samples``; an error if none is left to fit on.

        ``n_fit``, when given, is the number of fitting rows actually drawn.
        """
        size = self.calibration_size
        if isinstance(size, Integral):
            n_cal = int(size)
        else:
            n_cal = math.ceil(size * n_samples)
        if n_cal >= n_samples or n_fit == 0:
            raise ValueError(
                f"{type(self).__name__} holds out calibration_size={size!r} of "
                f"the {n_samples} sample(s) to calibrate its thresholds, which "
                "leaves no sample to fit on; pass more samples or a smaller "
                "calibration_size."
            )
        return n_cal

    def _split_indices(self, n_samples):
        """Sorted NumPy indices of the fitting and the calibration rows."""
        n_cal = self._n_calibration(n_samples)
        permutation = check_random_state(self.random_state).permutation(n_samples)
        return np.sort(permutation[n_cal:]), np.sort(permutation[:n_cal])
