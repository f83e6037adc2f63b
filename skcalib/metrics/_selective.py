"""Selective prediction (classification with a reject option) metrics.

A selective classifier predicts ``y_pred`` together with a ``confidence``; it
accepts the samples whose confidence is at least a threshold ``t`` and abstains
on the others (Geifman & El-Yaniv, 2017). At threshold ``t``

* the **coverage** ``c(t)`` is the (weighted) fraction of samples accepted, and
* the **selective risk** ``r(t)`` is the (weighted) error rate, with the 0/1
  loss ``y_pred != y_true``, among the accepted samples.

All samples sharing a confidence value are accepted or rejected together, so
every metric here is invariant to the order of ties. The tie-aware cumulative
sums come from the kernel shared with the OOD metrics
(:func:`skcalib.metrics._ood._tie_aware_cumsums`).

Summaries of the risk-coverage curve: :func:`aurc` and :func:`selective_auc`.
For a fixed decision (an acceptance mask or an abstain label):
:func:`selective_risk` and :func:`selective_coverage`.
"""

import numbers
import warnings

import array_api_compat
import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from ..utils._array_api import (
    float_dtype,
    get_namespace_and_device,
    move_to,
    to_numpy,
)
from ..utils._validation import check_sample_weight, check_scores
from ._ood import _tie_aware_cumsums

__all__ = [
    "aurc",
    "risk_coverage_curve",
    "selective_auc",
    "selective_coverage",
    "selective_risk",
]


def _as_array(a):
    return a if array_api_compat.is_array_api_obj(a) else np.asarray(a)


def _is_numeric_device_array(a):
    """Arrays that take part in namespace resolution (NumPy strings do not)."""
    if a is None or not array_api_compat.is_array_api_obj(a):
        return False
    return not isinstance(a, np.ndarray) or a.dtype.kind in "biuf"


def _check_1d(a, name, n_samples=None):
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(a.shape)}.")
    if n_samples is not None and a.shape[0] != n_samples:
        raise ValueError(
            f"Inconsistent numbers of samples: {name} has {a.shape[0]}, expected "
            f"{n_samples}."
        )


def _prediction_errors(y_true, y_pred, n_samples, *, xp, device):
    """Boolean mask ``y_pred != y_true`` on ``device``.

    Numeric labels are compared in ``xp``; other labels (strings, objects) are
    compared in NumPy and the mask is moved to ``device``.
    """
    y_true, y_pred = _as_array(y_true), _as_array(y_pred)
    _check_1d(y_true, "y_true", n_samples)
    _check_1d(y_pred, "y_pred", n_samples)
    host = any(
        isinstance(a, np.ndarray) and a.dtype.kind not in "biuf"
        for a in (y_true, y_pred)
    )
    if host:
        errors = np.asarray(to_numpy(y_true) != to_numpy(y_pred), dtype=bool)
        return move_to(errors, xp=xp, device=device)
    yt = move_to(y_true, xp=xp, device=device)
    yp = move_to(y_pred, xp=xp, device=device)
    if yt.dtype != yp.dtype:
        dtype = float_dtype(xp, device=device)
        yt, yp = xp.astype(yt, dtype), xp.astype(yp, dtype)
    return yt != yp


def _curve_sums(y_true, y_pred, confidence, sample_weight):
    """Validate and return the tie-aware accepted weight / error sums.

    Returns ``(xp, dtype, sorted_confidence, group_end, accepted, errors,
    weight_sorted, total)`` where ``accepted[i]`` / ``errors[i]`` are the
    weight / weighted errors of the samples with confidence >= the ``i``-th
    largest confidence, ``weight_sorted`` the weights in that order and
    ``total`` the total weight.
    """
    xp, dev = get_namespace_and_device(confidence)
    confidence = check_scores(
        confidence, name="confidence", ndim=(1,), allow_inf=True, xp=xp
    )
    n = confidence.shape[0]
    errors = _prediction_errors(y_true, y_pred, n, xp=xp, device=dev)
    dtype = float_dtype(xp, confidence, device=dev)
    sw = check_sample_weight(sample_weight, n, xp=xp, device=dev, dtype=dtype)
    if sw is None:
        weight = xp.ones((n,), dtype=xp.int64, device=dev)
        err = xp.astype(errors, xp.int64)
    else:
        weight = sw
        err = xp.where(errors, sw, xp.zeros_like(sw))
    order, sorted_conf, group_end, (acc, err_cum) = _tie_aware_cumsums(
        confidence, weight, err, xp=xp
    )
    acc = xp.astype(acc, dtype)
    err_cum = xp.astype(err_cum, dtype)
    weight_sorted = xp.astype(xp.take(weight, order), dtype)
    return xp, dtype, sorted_conf, group_end, acc, err_cum, weight_sorted, acc[-1]


def risk_coverage_curve(y_true, y_pred, confidence, *, sample_weight=None):
    """Selective risk against coverage, one point per distinct confidence value.

    For every distinct value ``t`` of ``confidence`` (in decreasing order) the
    samples with ``confidence >= t`` are accepted; the point records the
    fraction accepted (coverage) and the error rate among them (selective risk)
    (Geifman & El-Yaniv, 2017). Tied confidences enter together, so the curve
    does not depend on the order of ties. Samples of zero weight do not create
    points.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    confidence : array-like of shape (n_samples,)
        Confidence in each prediction (higher = accepted first), for example
        the maximum predicted probability.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    coverage : ndarray of shape (n_thresholds,)
        Increasing, ending at 1.
    risk : ndarray of shape (n_thresholds,)
        Selective risk (0/1 loss) at each coverage.
    thresholds : ndarray of shape (n_thresholds,)
        Decreasing confidence thresholds.

    See Also
    --------
    aurc : area under this curve.

    References
    ----------
    Geifman, Y. and El-Yaniv, R. (2017). Selective classification for deep
    neural networks. NeurIPS.

    Examples
    --------
    >>> from skcalib.metrics import risk_coverage_curve
    >>> y_true = [0, 1, 1, 0]
    >>> y_pred = [0, 1, 0, 1]
    >>> confidence = [0.9, 0.8, 0.8, 0.6]
    >>> coverage, risk, thresholds = risk_coverage_curve(y_true, y_pred, confidence)
    >>> coverage
    array([0.25, 0.75, 1.  ])
    >>> risk
    array([0.        , 0.33333333, 0.5       ])
    >>> thresholds
    array([0.9, 0.8, 0.6])
    """
    xp, dtype, sorted_conf, group_end, acc, err, _, total = _curve_sums(
        y_true, y_pred, confidence, sample_weight
    )
    group_end = to_numpy(group_end)
    acc, err = to_numpy(acc), to_numpy(err)
    sorted_conf, total = to_numpy(sorted_conf), to_numpy(total)
    ends = np.flatnonzero(group_end == np.arange(group_end.shape[0]))
    acc, err, thresholds = acc[ends], err[ends], sorted_conf[ends]
    keep = acc > np.concatenate([[0], acc[:-1]])  # groups with positive weight
    acc, err, thresholds = acc[keep], err[keep], thresholds[keep]
    return acc / total, err / acc, thresholds


def _area(y_true, y_pred, confidence, sample_weight, *, accuracy):
    xp, dtype, _, _, acc, err, weight, total = _curve_sums(
        y_true, y_pred, confidence, sample_weight
    )
    positive = acc > 0
    safe = xp.where(positive, acc, xp.ones_like(acc))
    value = (acc - err) / safe if accuracy else err / safe
    value = xp.where(positive, value, xp.zeros_like(value))
    return float(xp.sum(weight * value) / total)


def aurc(y_true, y_pred, confidence, *, sample_weight=None):
    """Area under the risk-coverage curve (lower is better).

    The selective risk averaged over the ``n`` coverage levels ``1/n, 2/n, ...,
    1``: sort the samples by decreasing confidence and average, over
    ``k = 1 .. n``, the error rate among the ``k`` most confident samples
    (Geifman et al., 2019, "Bias-reduced uncertainty estimation for deep neural
    classifiers", definition of AURC). Equivalently it is the step-function
    (right Riemann) integral of :func:`risk_coverage_curve`,
    ``sum_t (c(t) - c(t_prev)) * r(t)``.

    Ties: the ``k`` most confident samples are ill-defined inside a group of
    equal confidences, so all coverage levels a tie group spans get the risk at
    the end of the group (the risk of accepting the whole group); the result is
    the same whatever the order of ties, and a duplicated row counts like a
    weight of 2. With ``sample_weight`` each sample spans a coverage interval
    equal to its weight share. Without ties this is exactly the
    mean-over-``k`` definition above.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    confidence : array-like of shape (n_samples,)
        Confidence in each prediction (higher = accepted first).
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    aurc : float
        In [0, 1].

    See Also
    --------
    selective_auc : the area under the accuracy-coverage curve, ``1 - aurc``.

    References
    ----------
    Geifman, Y., Uziel, G. and El-Yaniv, R. (2019). Bias-reduced uncertainty
    estimation for deep neural classifiers. ICLR.

    Examples
    --------
    >>> from skcalib.metrics import aurc
    >>> y_true = [0, 1, 1, 0]
    >>> y_pred = [0, 1, 0, 1]
    >>> aurc(y_true, y_pred, [0.9, 0.8, 0.7, 0.6])  # mean(0, 0, 1/3, 1/2)
    0.20833333333333331
    >>> aurc(y_true, y_pred, [0.9, 0.8, 0.8, 0.6])  # (0 + 2 * 1/3 + 1/2) / 4
    0.29166666666666663
    """
    return _area(y_true, y_pred, confidence, sample_weight, accuracy=False)


def selective_auc(y_true, y_pred, confidence, *, sample_weight=None):
    """Area under the accuracy-coverage curve (higher is better).

    The selective accuracy (1 - selective risk) averaged over the coverage
    levels, with the same tie handling as :func:`aurc`; hence
    ``selective_auc = 1 - aurc`` exactly (up to rounding). Without ties it is
    the mean over ``k`` of the accuracy among the ``k`` most confident samples
    (the "area under the accuracy-rejection curve" of Nadeem et al., 2009,
    as computed by MAPIE's ``auarc``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    confidence : array-like of shape (n_samples,)
        Confidence in each prediction (higher = accepted first).
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    auc : float
        In [0, 1].

    References
    ----------
    Nadeem, M. S. A., Zucker, J.-D. and Hanczar, B. (2009). Accuracy-rejection
    curves (ARCs) for comparing classification methods with a reject option.
    MLSB.

    Examples
    --------
    >>> from skcalib.metrics import selective_auc
    >>> y_true = [0, 1, 1, 0]
    >>> y_pred = [0, 1, 0, 1]
    >>> selective_auc(y_true, y_pred, [0.9, 0.8, 0.7, 0.6])  # mean(1, 1, 2/3, 1/2)
    0.7916666666666666
    """
    return _area(y_true, y_pred, confidence, sample_weight, accuracy=True)


def _acceptance(y_pred, accepted, abstain_label, n_samples, *, xp, device):
    """Boolean acceptance mask on ``device``."""
    mask = xp.ones((n_samples,), dtype=xp.bool, device=device)
    if accepted is not None:
        accepted = _as_array(accepted)
        _check_1d(accepted, "accepted", n_samples)
        accepted = move_to(accepted, xp=xp, device=device)
        if not xp.isdtype(accepted.dtype, "bool"):
            raise ValueError(
                f"accepted must be a boolean mask, got dtype {accepted.dtype}."
            )
        mask = accepted
    if abstain_label is not None:
        if y_pred is None:
            raise ValueError("abstain_label needs y_pred.")
        y_pred = _as_array(y_pred)
        _check_1d(y_pred, "y_pred", n_samples)
        if isinstance(y_pred, np.ndarray) and y_pred.dtype.kind not in "biuf":
            abstain = move_to(
                np.asarray(y_pred == abstain_label, dtype=bool), xp=xp, device=device
            )
        elif isinstance(abstain_label, numbers.Number):
            abstain = move_to(y_pred, xp=xp, device=device) == abstain_label
        else:
            raise ValueError(
                f"abstain_label={abstain_label!r} cannot be compared with numeric "
                "y_pred; use a number."
            )
        mask = mask & ~abstain
    return mask


def _decision_inputs(y_pred, accepted, abstain_label, sample_weight):
    """Namespace from ``y_pred`` / ``accepted``; ``y_true`` is moved there."""
    arrays = [a for a in (y_pred, accepted) if _is_numeric_device_array(a)]
    xp, dev = get_namespace_and_device(*arrays)
    first = next((a for a in (y_pred, accepted) if a is not None), None)
    if first is None:
        raise ValueError("Pass y_pred or accepted.")
    n = int(_as_array(first).shape[0]) if hasattr(first, "shape") else len(first)
    mask = _acceptance(y_pred, accepted, abstain_label, n, xp=xp, device=dev)
    dtype = float_dtype(xp, sample_weight, device=dev)
    sw = check_sample_weight(sample_weight, n, xp=xp, device=dev, dtype=dtype)
    w = xp.ones((n,), dtype=dtype, device=dev) if sw is None else sw
    return xp, dev, n, mask, w


def selective_risk(
    y_true, y_pred, *, accepted=None, abstain_label=None, sample_weight=None
):
    """Error rate among the accepted predictions.

    ``sum_i w_i [accepted_i] [y_pred_i != y_true_i] / sum_i w_i [accepted_i]``.
    A sample is accepted when ``accepted[i]`` is True (all samples by default)
    and ``y_pred[i] != abstain_label`` (when ``abstain_label`` is given, the
    predictions equal to it are abstentions).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels, possibly holding ``abstain_label``.
    accepted : array-like of bool, shape (n_samples,), default=None
        Which predictions are accepted.
    abstain_label : object, default=None
        The label ``y_pred`` uses to abstain (for example ``-1``).
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    risk : float
        NaN (with an :class:`~sklearn.exceptions.UndefinedMetricWarning`) when
        nothing is accepted.

    Examples
    --------
    >>> from skcalib.metrics import selective_risk
    >>> y_true = [0, 1, 1, 0]
    >>> y_pred = [0, 1, -1, 1]
    >>> selective_risk(y_true, y_pred, abstain_label=-1)  # 1 error in 3 accepted
    0.3333333333333333
    >>> selective_risk(y_true, y_pred, accepted=[True, True, False, False])
    0.0
    """
    xp, dev, n, mask, w = _decision_inputs(
        y_pred, accepted, abstain_label, sample_weight
    )
    errors = _prediction_errors(y_true, y_pred, n, xp=xp, device=dev)
    zero = xp.zeros_like(w)
    accepted_w = xp.sum(xp.where(mask, w, zero))
    if not float(accepted_w) > 0:
        warnings.warn(
            "No prediction is accepted: the selective risk is undefined (NaN).",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return float("nan")
    return float(xp.sum(xp.where(mask & errors, w, zero)) / accepted_w)


def selective_coverage(
    y_pred=None, *, accepted=None, abstain_label=None, sample_weight=None
):
    """Fraction of predictions accepted (not abstained on).

    ``sum_i w_i [accepted_i] / sum_i w_i`` with acceptance defined as in
    :func:`selective_risk`.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,), default=None
        Predicted labels, possibly holding ``abstain_label``.
    accepted : array-like of bool, shape (n_samples,), default=None
        Which predictions are accepted.
    abstain_label : object, default=None
        The label ``y_pred`` uses to abstain.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    coverage : float
        In [0, 1].

    Examples
    --------
    >>> from skcalib.metrics import selective_coverage
    >>> selective_coverage([0, 1, -1, 1], abstain_label=-1)
    0.75
    >>> selective_coverage(accepted=[True, False, False, False])
    0.25
    """
    if y_pred is None and accepted is None:
        raise ValueError("Pass y_pred (with abstain_label) or accepted.")
    xp, dev, n, mask, w = _decision_inputs(
        y_pred, accepted, abstain_label, sample_weight
    )
    return float(xp.sum(xp.where(mask, w, xp.zeros_like(w))) / xp.sum(w))
