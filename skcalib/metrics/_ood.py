"""Out-of-distribution detection metrics: AUROC, FPR at a TPR, AUPR, detection error.

Convention (the one used by every skcalib OOD detector and by scikit-learn's
outlier detectors): a **higher score means more in-distribution**, and the
in-distribution (ID) samples are the *positives*. A detector accepts a sample
as in-distribution when its score is at least a threshold ``t``; then

* the true-positive rate ``TPR(t)`` is the (weighted) fraction of ID samples
  accepted, and
* the false-positive rate ``FPR(t)`` is the (weighted) fraction of OOD samples
  accepted.

``y_true`` marks the ID samples. Accepted encodings:

============================  =====================  ==================
encoding                      in-distribution        out-of-distribution
============================  =====================  ==================
boolean                       ``True``               ``False``
``{0, 1}`` (ints or floats)   ``1``                  ``0``
``{-1, +1}`` (scikit-learn)   ``+1``                 ``-1``
============================  =====================  ==================

All ROC and precision-recall quantities come from one kernel,
:func:`_tie_aware_cumsums`: the scores are sorted once (descending), cumulative
sums of the ID and OOD weights are taken, and every sample is mapped to the end
of its group of tied scores with ``searchsorted``. The curve therefore has one
point per sample (the ``n + 1`` points include the origin); the points of a tie
group coincide, which adds nothing to areas and does not move a minimum or a
first crossing, so no data-dependent compaction is needed and the same code runs
on every array-API namespace and device.
"""

import numbers

import array_api_compat
import numpy as np

from ..utils._array_api import float_dtype, get_namespace_and_device, move_to
from ..utils._validation import check_sample_weight, check_scores

__all__ = ["aupr_in", "aupr_out", "detection_error", "fpr_at_tpr", "ood_auroc"]


def _tie_aware_cumsums(score, *values, xp):
    """Descending-score cumulative sums with tie groups collapsed.

    Sorts ``score`` in decreasing order and, for every sorted position ``i``,
    returns ``sum_j values[j]`` over all samples ``j`` whose score is greater
    than or equal to the score at position ``i``. Positions holding tied scores
    all get the value at the end of their tie group, so the result does not
    depend on how the sort orders ties. This is the one implementation of
    tie-aware cumulative counts in skcalib (ROC/PR curves here, risk-coverage
    curves in :mod:`skcalib.metrics._selective`).

    Parameters
    ----------
    score : array of shape (n_samples,)
        Floating-point scores without NaN.
    *values : arrays of shape (n_samples,)
        Non-negative quantities to accumulate (counts or weights).
    xp : namespace

    Returns
    -------
    order : int array of shape (n_samples,)
        Permutation sorting ``score`` in decreasing order.
    sorted_score : array of shape (n_samples,)
    group_end : int array of shape (n_samples,)
        Index (in sorted order) of the last element of each position's tie group.
    cumsums : list of arrays of shape (n_samples,)
        One tie-aware cumulative sum per entry of ``values``.
    """
    order = xp.argsort(score, descending=True)
    sorted_score = xp.take(score, order)
    ascending = -sorted_score
    group_end = xp.searchsorted(ascending, ascending, side="right") - 1
    cumsums = [xp.take(xp.cumulative_sum(xp.take(v, order)), group_end) for v in values]
    return order, sorted_score, group_end, cumsums


def _check_id_indicator(y_true, n_samples, *, xp, device):
    """Map ``y_true`` to a boolean in-distribution mask on ``device``."""
    if not array_api_compat.is_array_api_obj(y_true):
        y_true = np.asarray(y_true)
    if isinstance(y_true, np.ndarray) and y_true.dtype.kind not in "biuf":
        raise ValueError(
            "y_true must mark in-distribution samples with 1 / True and OOD samples "
            f"with 0 / False or -1, got an array of dtype {y_true.dtype}."
        )
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {tuple(y_true.shape)}.")
    if y_true.shape[0] != n_samples:
        raise ValueError(
            f"Inconsistent numbers of samples: y_true has {y_true.shape[0]}, "
            f"y_score has {n_samples}."
        )
    y = move_to(y_true, xp=xp, device=device)
    if xp.isdtype(y.dtype, "bool"):
        return y
    is_in = y == 1
    is_zero = y == 0
    is_neg = y == -1
    if not bool(xp.all(is_in | is_zero | is_neg)) or (
        bool(xp.any(is_zero)) and bool(xp.any(is_neg))
    ):
        raise ValueError(
            "y_true must use one encoding of in-distribution (ID) vs OOD samples: "
            "booleans (True = ID), {0, 1} (1 = ID) or {-1, 1} (1 = ID, "
            "scikit-learn's outlier convention)."
        )
    return is_in


def _ood_counts(y_true, y_score, sample_weight):
    """Validate inputs and return ``(xp, dtype, is_in, y_score, pos, neg)``.

    ``pos`` / ``neg`` are the per-sample ID / OOD weights (int64 counts without
    ``sample_weight``).
    """
    xp, dev = get_namespace_and_device(y_score)
    y_score = check_scores(y_score, name="y_score", ndim=(1,), allow_inf=True, xp=xp)
    n = y_score.shape[0]
    is_in = _check_id_indicator(y_true, n, xp=xp, device=dev)
    dtype = float_dtype(xp, y_score, device=dev)
    sw = check_sample_weight(sample_weight, n, xp=xp, device=dev, dtype=dtype)
    if sw is None:
        pos = xp.astype(is_in, xp.int64)
        neg = 1 - pos
    else:
        zero = xp.zeros_like(sw)
        pos = xp.where(is_in, sw, zero)
        neg = xp.where(is_in, zero, sw)
    return xp, dtype, is_in, y_score, pos, neg


def _roc_points(score, pos, neg, *, xp, dtype, names=("in-distribution", "OOD")):
    """``(tp, fp, tpr, fpr)`` at every threshold, the origin first.

    ``tp`` / ``fp`` have ``n_samples`` entries (thresholds at the sorted scores);
    ``tpr`` / ``fpr`` have ``n_samples + 1`` (the origin prepended). ``names``
    are the names of the positive and negative samples for error messages.
    """
    _, _, _, (tp, fp) = _tie_aware_cumsums(score, pos, neg, xp=xp)
    for total, name in ((tp[-1], names[0]), (fp[-1], names[1])):
        if not float(total) > 0:
            raise ValueError(
                "y_true must contain both in-distribution and OOD samples (with "
                f"positive sample_weight); got no {name} samples."
            )
    tp = xp.astype(tp, dtype)
    fp = xp.astype(fp, dtype)
    zero = xp.zeros((1,), dtype=dtype, device=array_api_compat.device(tp))
    tpr = xp.concat([zero, tp / tp[-1]])
    fpr = xp.concat([zero, fp / fp[-1]])
    return tp, fp, tpr, fpr


def _average_precision(tp, fp, *, xp):
    """``sum_k (R_k - R_{k-1}) P_k`` over the thresholds (scikit-learn's AP)."""
    recall = tp / tp[-1]
    predicted = tp + fp
    safe = xp.where(predicted > 0, predicted, xp.ones_like(predicted))
    precision = xp.where(predicted > 0, tp / safe, xp.zeros_like(tp))
    zero = xp.zeros((1,), dtype=tp.dtype, device=array_api_compat.device(tp))
    previous = xp.concat([zero, recall[:-1]])
    return xp.sum((recall - previous) * precision)


def ood_auroc(y_true, y_score, *, sample_weight=None):
    """Area under the ROC curve of an OOD detector, in-distribution as positive.

    The probability that a random in-distribution sample scores higher than a
    random OOD sample, ties counting one half (the trapezoidal area under the
    curve of ``TPR`` against ``FPR``). Equal to
    ``sklearn.metrics.roc_auc_score(y_true == ID, y_score)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        In-distribution indicator: ``True`` / ``1`` for in-distribution samples,
        ``False`` / ``0`` or ``-1`` for OOD samples (see the module docstring).
    y_score : array-like of shape (n_samples,)
        Detector scores, higher meaning more in-distribution (for example
        ``score_samples`` of a skcalib or scikit-learn outlier detector).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    auroc : float
        In [0, 1]; 0.5 for an uninformative detector.

    Raises
    ------
    ValueError
        If ``y_true`` holds only one kind of sample, uses an unknown encoding, or
        the shapes disagree.

    See Also
    --------
    fpr_at_tpr, aupr_in, aupr_out, detection_error

    References
    ----------
    Hendrycks, D. and Gimpel, K. (2017). A baseline for detecting misclassified
    and out-of-distribution examples in neural networks. ICLR.

    Examples
    --------
    >>> from skcalib.metrics import ood_auroc
    >>> y_true = [1, 1, 1, 0, 0]          # 1 = in-distribution
    >>> y_score = [0.9, 0.8, 0.4, 0.5, 0.1]
    >>> ood_auroc(y_true, y_score)  # 5 of the 6 (ID, OOD) pairs are ordered
    0.8333333333333333
    """
    xp, dtype, _, y_score, pos, neg = _ood_counts(y_true, y_score, sample_weight)
    _, _, tpr, fpr = _roc_points(y_score, pos, neg, xp=xp, dtype=dtype)
    area = xp.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1])) / 2
    return float(area)


def fpr_at_tpr(y_true, y_score, *, tpr=0.95, sample_weight=None):
    """False-positive rate on OOD samples when the TPR on ID samples reaches ``tpr``.

    The threshold is lowered through the distinct score values until the
    fraction of in-distribution samples accepted (score >= threshold) first
    reaches ``tpr``; the returned value is the fraction of OOD samples accepted
    at that threshold. Ties are handled exactly: all samples sharing a score are
    accepted together, so this equals the FPR at the first point of
    ``sklearn.metrics.roc_curve(y_true == ID, y_score, drop_intermediate=False)``
    whose TPR is ``>= tpr``. ``fpr_at_tpr(..., tpr=0.95)`` is the usual
    "FPR95" (lower is better).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        In-distribution indicator (``True`` / ``1`` in-distribution, ``False`` /
        ``0`` / ``-1`` OOD).
    y_score : array-like of shape (n_samples,)
        Detector scores, higher meaning more in-distribution.
    tpr : float in (0, 1], default=0.95
        Target true-positive rate on the in-distribution samples.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    fpr : float
        In [0, 1].

    References
    ----------
    Liang, S., Li, Y. and Srikant, R. (2018). Enhancing the reliability of
    out-of-distribution image detection in neural networks. ICLR.

    Examples
    --------
    >>> from skcalib.metrics import fpr_at_tpr
    >>> y_true = [1, 1, 1, 1, 0, 0]
    >>> y_score = [0.9, 0.8, 0.7, 0.3, 0.5, 0.1]
    >>> fpr_at_tpr(y_true, y_score, tpr=0.75)  # threshold 0.7 accepts no OOD
    0.0
    >>> fpr_at_tpr(y_true, y_score, tpr=0.95)  # threshold 0.3 accepts 0.5
    0.5
    """
    if (
        isinstance(tpr, bool)
        or not isinstance(tpr, numbers.Real)
        or not 0 < float(tpr) <= 1
    ):
        raise ValueError(f"tpr must be a float in (0, 1], got {tpr!r}.")
    xp, dtype, _, y_score, pos, neg = _ood_counts(y_true, y_score, sample_weight)
    _, _, tpr_curve, fpr_curve = _roc_points(y_score, pos, neg, xp=xp, dtype=dtype)
    dev = array_api_compat.device(tpr_curve)
    target = xp.asarray([float(tpr)], dtype=dtype, device=dev)
    # tpr_curve is non-decreasing and ends at exactly 1: the first index with
    # tpr_curve >= target always exists.
    idx = xp.searchsorted(tpr_curve, target, side="left")
    return float(xp.take(fpr_curve, idx)[0])


def aupr_in(y_true, y_score, *, sample_weight=None):
    """Area under the precision-recall curve with in-distribution as positive.

    Average precision, ``sum_k (R_k - R_{k-1}) P_k`` over the distinct score
    thresholds (no interpolation), with in-distribution samples as the positive
    class and ``y_score`` as the ranking. Equal to
    ``sklearn.metrics.average_precision_score(y_true == ID, y_score)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        In-distribution indicator (``True`` / ``1`` in-distribution, ``False`` /
        ``0`` / ``-1`` OOD).
    y_score : array-like of shape (n_samples,)
        Detector scores, higher meaning more in-distribution.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    aupr : float
        In [0, 1]; higher is better.

    See Also
    --------
    aupr_out : OOD samples as the positive class.

    Examples
    --------
    >>> from skcalib.metrics import aupr_in
    >>> y_true = [1, 0, 1, 0]
    >>> y_score = [0.9, 0.8, 0.7, 0.1]
    >>> aupr_in(y_true, y_score)  # 0.5 * 1 + 0.5 * 2/3
    0.8333333333333333
    """
    xp, dtype, _, y_score, pos, neg = _ood_counts(y_true, y_score, sample_weight)
    tp, fp, _, _ = _roc_points(y_score, pos, neg, xp=xp, dtype=dtype)
    return float(_average_precision(tp, fp, xp=xp))


def aupr_out(y_true, y_score, *, sample_weight=None):
    """Area under the precision-recall curve with OOD samples as positive.

    Average precision of detecting the OOD samples, ranked by ``-y_score``.
    Equal to ``sklearn.metrics.average_precision_score(y_true != ID, -y_score)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        In-distribution indicator (``True`` / ``1`` in-distribution, ``False`` /
        ``0`` / ``-1`` OOD).
    y_score : array-like of shape (n_samples,)
        Detector scores, higher meaning more in-distribution.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    aupr : float
        In [0, 1]; higher is better.

    See Also
    --------
    aupr_in : in-distribution samples as the positive class.

    Examples
    --------
    >>> from skcalib.metrics import aupr_out
    >>> y_true = [1, 0, 1, 0]
    >>> y_score = [0.9, 0.8, 0.7, 0.1]
    >>> aupr_out(y_true, y_score)  # 0.5 * 1 + 0.5 * 2/3
    0.8333333333333333
    """
    xp, dtype, _, y_score, pos, neg = _ood_counts(y_true, y_score, sample_weight)
    tp, fp, _, _ = _roc_points(
        -y_score, neg, pos, xp=xp, dtype=dtype, names=("OOD", "in-distribution")
    )
    return float(_average_precision(tp, fp, xp=xp))


def detection_error(y_true, y_score, *, sample_weight=None):
    """Minimum misclassification probability of a thresholded OOD detector.

    ``min_t 0.5 * (1 - TPR(t)) + 0.5 * FPR(t)`` over all thresholds (including
    accepting nothing and accepting everything, where it is 0.5), i.e. the best
    error rate when in-distribution and OOD samples are equally likely
    (Liang et al., 2018). Lower is better.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        In-distribution indicator (``True`` / ``1`` in-distribution, ``False`` /
        ``0`` / ``-1`` OOD).
    y_score : array-like of shape (n_samples,)
        Detector scores, higher meaning more in-distribution.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    error : float
        In [0, 0.5].

    References
    ----------
    Liang, S., Li, Y. and Srikant, R. (2018). Enhancing the reliability of
    out-of-distribution image detection in neural networks. ICLR.

    Examples
    --------
    >>> from skcalib.metrics import detection_error
    >>> y_true = [1, 1, 1, 1, 0, 0]
    >>> y_score = [0.9, 0.8, 0.7, 0.3, 0.5, 0.1]
    >>> detection_error(y_true, y_score)  # threshold 0.7: 0.5 * 0.25 + 0.5 * 0
    0.125
    """
    xp, dtype, _, y_score, pos, neg = _ood_counts(y_true, y_score, sample_weight)
    _, _, tpr, fpr = _roc_points(y_score, pos, neg, xp=xp, dtype=dtype)
    return float(xp.min(0.5 * (1 - tpr) + 0.5 * fpr))
