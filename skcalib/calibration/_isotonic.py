"""Isotonic calibration (Zadrozny & Elkan 2002)."""

from sklearn.isotonic import IsotonicRegression

from ..utils._array_api import get_namespace_and_device, move_to, to_numpy
from ._base import BaseOneVsRestCalibrator


def _interpolate(thresholds, values, scores, *, xp):
    """Piecewise-linear interpolation through ``(thresholds, values)``.

    ``scores`` outside ``[thresholds[0], thresholds[-1]]`` get the end values.
    The same arithmetic as :class:`scipy.interpolate.interp1d` (which
    :class:`sklearn.isotonic.IsotonicRegression` uses), written with array-API
    operations so that it runs on the scores' device.

    Parameters
    ----------
    thresholds : ndarray of shape (n_thresholds,)
        Increasing knots, on the host.
    values : ndarray of shape (n_thresholds,)
        Values at the knots, on the host.
    scores : array of shape (n_samples,)
    xp : namespace

    Returns
    -------
    array of shape (n_samples,)
        In the namespace, device and dtype of ``scores``.
    """
    _, dev = get_namespace_and_device(scores, xp=xp)
    if thresholds.shape[0] == 1:
        return xp.full(scores.shape, float(values[0]), dtype=scores.dtype, device=dev)
    x = xp.astype(move_to(thresholds, xp=xp, device=dev), scores.dtype)
    y = xp.astype(move_to(values, xp=xp, device=dev), scores.dtype)
    s = xp.clip(scores, float(thresholds[0]), float(thresholds[-1]))
    hi = xp.clip(xp.searchsorted(x, s, side="left"), 1, x.shape[0] - 1)
    lo = hi - 1
    x_lo, x_hi = xp.take(x, lo), xp.take(x, hi)
    y_lo, y_hi = xp.take(y, lo), xp.take(y, hi)
    return (y_hi - y_lo) / (x_hi - x_lo) * (s - x_lo) + y_lo


class IsotonicCalibration(BaseOneVsRestCalibrator):
    """Isotonic calibration: a non-decreasing step-and-ramp map of the scores.

    The probability of the positive class is the non-decreasing function of
    the score that best fits the 0/1 outcomes in weighted squared error
    (isotonic regression by pool-adjacent-violators; Zadrozny & Elkan 2002),
    linearly interpolated between its knots and held constant beyond the
    smallest and largest training scores -- the same model as scikit-learn's
    ``CalibratedClassifierCV(method="isotonic")``. It makes no parametric
    assumption, so it needs more data than :class:`PlattScaling` (a thousand
    samples or more per class is a common rule of thumb) and can overfit
    small calibration sets.

    With more than two classes, one isotonic map is fitted per class on its
    own column (class against the rest) and the probabilities are
    renormalised to sum to one (the uniform distribution where every class
    gets 0), as in scikit-learn.

    Attributes
    ----------
    calibrators_ : list of tuple of ndarray
        The ``(thresholds, values)`` knots of each isotonic map, as NumPy
        arrays: one map for two classes (the positive class), one per class
        otherwise. These are the ``X_thresholds_`` and ``y_thresholds_`` of
        :class:`sklearn.isotonic.IsotonicRegression`.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for binary
        decision values).

    See Also
    --------
    PlattScaling : Parametric (sigmoid) calibration of decision values.
    sklearn.calibration.CalibratedClassifierCV : ``method="isotonic"`` fits
        the same model.

    Notes
    -----
    ``X`` holds any scores whose order matters: decision values or logits
    (binary decision values of shape (n,) or (n, 1), or one column per class)
    or probabilities. For two classes given as (n, 2), only the
    positive-class column is used.

    The pool-adjacent-violators fit is sequential: it runs on the host with
    :class:`sklearn.isotonic.IsotonicRegression` (``out_of_bounds="clip"``,
    ``y_min=0``, ``y_max=1``; rows of zero weight are ignored), which moves
    the scores of each column to host memory once. The knots are kept as
    NumPy arrays, and ``predict_proba`` interpolates on the device of its
    input, returning probabilities in its namespace, device and dtype.

    References
    ----------
    .. [1] B. Zadrozny and C. Elkan, "Transforming Classifier Scores into
       Accurate Multiclass Probability Estimates", KDD 2002.
    .. [2] M. Ayer, H. D. Brunk, G. M. Ewing, W. T. Reid and E. Silverman,
       "An Empirical Distribution Function for Sampling with Incomplete
       Information", Annals of Mathematical Statistics 26, 1955.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.calibration import IsotonicCalibration
    >>> s = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    >>> y = np.array([0, 1, 0, 1, 1, 1])
    >>> iso = IsotonicCalibration().fit(s, y)
    >>> iso.calibrators_[0]
    (array([-2., -1.,  0.,  1.,  3.]), array([0. , 0.5, 0.5, 1. , 1. ]))
    >>> iso.predict_proba(np.array([-5.0, -1.5, 0.5]))[:, 1]
    array([0.  , 0.25, 0.75])
    """

    _array_api_support = True
    _skcalib_input_kind = "decision"

    def _fit_binary(self, scores, target, sample_weight, *, xp):
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(
            to_numpy(scores),
            to_numpy(target),
            sample_weight=None if sample_weight is None else to_numpy(sample_weight),
        )
        return iso.X_thresholds_, iso.y_thresholds_

    def _predict_binary(self, state, scores, *, xp):
        thresholds, values = state
        return _interpolate(thresholds, values, scores, xp=xp)
