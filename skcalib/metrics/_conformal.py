"""Metrics for conformal prediction sets (classification) and intervals (regression).

Prediction sets are boolean arrays of shape ``(n_samples, n_classes)``: entry
``[i, j]`` says whether class ``j`` is in the set of sample ``i``. Intervals are
arrays of shape ``(n_samples, 2)`` holding ``[lower, upper]``; they are
**closed**, so ``y`` is covered when ``lower <= y <= upper``. Results for
several confidence levels at once are given by stacking the levels on a last
axis, ``(n_samples, n_classes, n_levels)`` or ``(n_samples, 2, n_levels)``, as
returned by skcalib's conformal predictors when given a list of levels; the
metrics then return a NumPy array with one value per level.

Columns of a set stand for the classes ``labels`` (sorted, typically the
predictor's ``classes_``); without ``labels``, ``y_true`` must hold integer
column indices in ``range(n_classes)``.
"""

import array_api_compat
import numpy as np
from sklearn.utils import Bunch

from ..utils._array_api import (
    bincount,
    float_dtype,
    get_namespace_and_device,
    move_to,
    to_numpy,
)
from ..utils._validation import (
    check_consistent_length,
    check_sample_weight,
    check_scores,
    encode_labels,
)

__all__ = [
    "classwise_coverage",
    "coverage_score",
    "interval_coverage_score",
    "mean_interval_width",
    "mean_set_size",
    "size_stratified_coverage",
]


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #
def _check_pred_set(y_pred_set):
    """Return ``(xp, device, y_pred_set, stacked)``; the set is boolean, 2-D or 3-D."""
    xp, dev = get_namespace_and_device(y_pred_set)
    if not array_api_compat.is_array_api_obj(y_pred_set):
        y_pred_set = np.asarray(y_pred_set)
    if y_pred_set.ndim not in (2, 3):
        raise ValueError(
            "y_pred_set must have shape (n_samples, n_classes) or (n_samples, "
            f"n_classes, n_levels), got shape {tuple(y_pred_set.shape)}."
        )
    y_pred_set = move_to(y_pred_set, xp=xp, device=dev)
    if not xp.isdtype(y_pred_set.dtype, "bool"):
        raise ValueError(
            "y_pred_set must be a boolean array (True where the class is in the "
            f"set), got dtype {y_pred_set.dtype}."
        )
    if y_pred_set.shape[0] == 0:
        raise ValueError("y_pred_set is empty: at least one sample is needed.")
    return xp, dev, y_pred_set, y_pred_set.ndim == 3


def _encode_set_targets(y_true, n_classes, labels, *, xp, device):
    """Column index (int64 on ``device``) of each true label."""
    if labels is not None:
        classes = np.asarray(labels)
        if classes.ndim != 1 or classes.shape[0] != n_classes:
            raise ValueError(
                f"labels must have one entry per column of y_pred_set ({n_classes}), "
                f"got shape {classes.shape}."
            )
        if n_classes > 1 and not np.all(classes[1:] > classes[:-1]):
            raise ValueError("labels must be sorted in increasing order, no repeats.")
        y_np = (
            to_numpy(y_true)
            if array_api_compat.is_array_api_obj(y_true)
            else np.asarray(y_true)
        )
        if y_np.ndim != 1:
            raise ValueError(f"y_true must be 1-D, got shape {y_np.shape}.")
        idx = encode_labels(y_np, classes, name="y_true").astype(np.int64)
        return move_to(idx, xp=xp, device=device)
    if not array_api_compat.is_array_api_obj(y_true):
        y_true = np.asarray(y_true)
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {tuple(y_true.shape)}.")
    if isinstance(y_true, np.ndarray) and y_true.dtype.kind not in "iu":
        raise ValueError(
            "Without labels, y_true must hold integer column indices of y_pred_set; "
            f"got dtype {y_true.dtype}. Pass labels (the classes of the columns, "
            "for example the predictor's classes_)."
        )
    y = move_to(y_true, xp=xp, device=device)
    if not xp.isdtype(y.dtype, "integral"):
        raise ValueError(
            "Without labels, y_true must hold integer column indices of y_pred_set; "
            f"got dtype {y.dtype}. Pass labels (the classes of the columns)."
        )
    if y.shape[0] and (int(xp.min(y)) < 0 or int(xp.max(y)) >= n_classes):
        raise ValueError(
            f"y_true holds values outside range({n_classes}) (the columns of "
            "y_pred_set); pass labels to map labels to columns."
        )
    return xp.astype(y, xp.int64)


def _set_inputs(y_true, y_pred_set, labels, sample_weight):
    xp, dev, sets, stacked = _check_pred_set(y_pred_set)
    check_consistent_length(y_true=y_true, y_pred_set=sets)
    y_idx = _encode_set_targets(y_true, sets.shape[1], labels, xp=xp, device=dev)
    dtype = float_dtype(xp, sample_weight, device=dev)
    sw = check_sample_weight(
        sample_weight, sets.shape[0], xp=xp, device=dev, dtype=dtype
    )
    return xp, dev, sets, stacked, y_idx, sw, dtype


def _covered(sets, y_idx, *, xp, device):
    """Boolean (n_samples, n_levels): whether the true class is in each set."""
    if sets.ndim == 2:
        sets = sets[:, :, None]
    classes = xp.arange(sets.shape[1], dtype=xp.int64, device=device)
    one_hot = y_idx[:, None] == classes[None, :]
    return xp.any(sets & one_hot[:, :, None], axis=1)


def _weighted_mean(values, sw, *, xp, dtype):
    """Mean over axis 0 of ``values`` (n_samples, ...), weighted by ``sw``."""
    values = xp.astype(values, dtype)
    if sw is None:
        return xp.mean(values, axis=0)
    shape = (sw.shape[0],) + (1,) * (values.ndim - 1)
    return xp.sum(values * xp.reshape(sw, shape), axis=0) / xp.sum(sw)


def _per_level(values, stacked):
    """Python float for one level, NumPy array (n_levels,) for stacked levels."""
    values = to_numpy(values)
    if stacked:
        return np.asarray(values, dtype=float)
    return float(values.reshape(-1)[0])


# --------------------------------------------------------------------------- #
# prediction sets
# --------------------------------------------------------------------------- #
def coverage_score(y_true, y_pred_set, *, labels=None, sample_weight=None):
    """Fraction of samples whose prediction set contains the true label.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred_set : array-like of bool, shape (n_samples, n_classes) or \
(n_samples, n_classes, n_levels)
        Prediction sets; ``y_pred_set[i, j]`` is True when class ``j`` belongs
        to the set of sample ``i``. A third axis stacks several confidence levels.
    labels : array-like of shape (n_classes,), default=None
        The sorted classes the columns stand for (a conformal predictor's
        ``classes_``). By default ``y_true`` must hold column indices
        ``0 .. n_classes - 1``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    coverage : float or ndarray of shape (n_levels,)
        Weighted fraction of covered samples; one value per level when
        ``y_pred_set`` is 3-D. Higher is better, and at least the nominal
        confidence level is what a conformal predictor guarantees on average.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import coverage_score
    >>> y_pred_set = np.array([[True, False, False],
    ...                        [True, True, False],
    ...                        [False, False, True],
    ...                        [False, True, True]])
    >>> coverage_score([0, 2, 2, 1], y_pred_set)
    0.75
    >>> coverage_score(["a", "c", "c", "b"], y_pred_set, labels=["a", "b", "c"])
    0.75
    """
    xp, dev, sets, stacked, y_idx, sw, dtype = _set_inputs(
        y_true, y_pred_set, labels, sample_weight
    )
    covered = _covered(sets, y_idx, xp=xp, device=dev)
    return _per_level(_weighted_mean(covered, sw, xp=xp, dtype=dtype), stacked)


def mean_set_size(y_pred_set, *, sample_weight=None):
    """Average number of classes in the prediction sets (lower is better).

    Parameters
    ----------
    y_pred_set : array-like of bool, shape (n_samples, n_classes) or \
(n_samples, n_classes, n_levels)
        Prediction sets; a third axis stacks several confidence levels.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    size : float or ndarray of shape (n_levels,)

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import mean_set_size
    >>> mean_set_size(np.array([[True, False, False], [True, True, True]]))
    2.0
    """
    xp, dev, sets, stacked = _check_pred_set(y_pred_set)
    dtype = float_dtype(xp, sample_weight, device=dev)
    sw = check_sample_weight(
        sample_weight, sets.shape[0], xp=xp, device=dev, dtype=dtype
    )
    sizes = xp.sum(xp.astype(sets, dtype), axis=1)
    return _per_level(_weighted_mean(sizes, sw, xp=xp, dtype=dtype), stacked)


def _size_strata(n_classes, n_bins):
    """First set size of each stratum: ``0 .. n_classes`` split in ``n_bins``."""
    if n_bins is None:
        return np.arange(n_classes + 1)
    if (
        isinstance(n_bins, bool)
        or not isinstance(n_bins, (int, np.integer))
        or n_bins < 1
    ):
        raise ValueError(f"n_bins must be a positive integer or None, got {n_bins!r}.")
    if n_bins > n_classes + 1:
        raise ValueError(
            f"n_bins={n_bins} exceeds the number of possible set sizes "
            f"(0 .. {n_classes}, i.e. {n_classes + 1})."
        )
    return np.array([b[0] for b in np.array_split(np.arange(n_classes + 1), n_bins)])


def size_stratified_coverage(
    y_true,
    y_pred_set,
    *,
    n_bins=None,
    labels=None,
    sample_weight=None,
    return_details=False,
):
    """Worst coverage over strata of prediction-set size (SSC metric).

    Samples are grouped by the size of their prediction set and the coverage is
    computed within each group; the metric is the minimum over the non-empty
    groups (Angelopoulos et al., 2021, "size-stratified coverage"). A predictor
    whose coverage holds only on average (for example by giving large sets to
    easy samples and small, often wrong, sets to hard ones) has an SSC well
    below the nominal level; adaptive methods (APS, RAPS) aim to keep it close.

    With ``n_bins=None`` there is one stratum per possible size
    ``0, 1, ..., n_classes``. Otherwise the sizes ``0 .. n_classes`` are split
    into ``n_bins`` consecutive ranges of (nearly) equal length, as
    ``numpy.array_split`` does, which matches MAPIE's ``classification_ssc``.
    Empty strata are ignored.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred_set : array-like of bool, shape (n_samples, n_classes) or \
(n_samples, n_classes, n_levels)
        Prediction sets; a third axis stacks several confidence levels.
    n_bins : int, default=None
        Number of size strata; ``None`` for one per set size.
    labels : array-like of shape (n_classes,), default=None
        Sorted classes of the columns; by default ``y_true`` holds column
        indices.
    sample_weight : array-like of shape (n_samples,), default=None
    return_details : bool, default=False
        Also return the per-stratum breakdown.

    Returns
    -------
    ssc : float or ndarray of shape (n_levels,)
        Minimum coverage over the non-empty strata (higher is better).
    details : :class:`~sklearn.utils.Bunch`
        Only with ``return_details=True``. ``size_low`` / ``size_high``
        (int ndarrays of shape (n_strata,)): the range of set sizes of each
        stratum (inclusive); ``coverage``: coverage per stratum, NaN when
        empty; ``n_samples``: (weighted) number of samples per stratum. The
        last two have shape ``(n_strata,)``, or ``(n_strata, n_levels)`` for
        stacked levels.

    References
    ----------
    Angelopoulos, A. N., Bates, S., Malik, J. and Jordan, M. I. (2021).
    Uncertainty sets for image classifiers using conformal prediction. ICLR.

    Angelopoulos, A. N. and Bates, S. (2021). A gentle introduction to
    conformal prediction and distribution-free uncertainty quantification.
    arXiv:2107.07511.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import size_stratified_coverage
    >>> y_pred_set = np.array([[True, False, False],
    ...                        [False, True, False],
    ...                        [True, True, False],
    ...                        [False, True, True]])
    >>> y_true = [0, 0, 0, 1]
    >>> size_stratified_coverage(y_true, y_pred_set)  # size 1: 1/2, size 2: 2/2
    0.5
    >>> ssc, details = size_stratified_coverage(
    ...     y_true, y_pred_set, return_details=True)
    >>> details.coverage
    array([nan, 0.5, 1. , nan])
    >>> details.n_samples
    array([0., 2., 2., 0.])
    """
    xp, dev, sets, stacked, y_idx, sw, dtype = _set_inputs(
        y_true, y_pred_set, labels, sample_weight
    )
    n_samples, n_classes = sets.shape[0], sets.shape[1]
    starts = _size_strata(n_classes, n_bins)
    n_strata = starts.shape[0]
    sets3 = sets if stacked else sets[:, :, None]
    n_levels = sets3.shape[2]
    sizes = xp.sum(xp.astype(sets3, xp.int64), axis=1)  # (n, L)
    starts_dev = xp.asarray(starts, dtype=xp.int64, device=dev)
    stratum = xp.searchsorted(starts_dev, xp.reshape(sizes, (-1,)), side="right") - 1
    stratum = xp.reshape(stratum, (n_samples, n_levels))
    level = xp.arange(n_levels, dtype=xp.int64, device=dev)
    flat = xp.reshape(level[None, :] * n_strata + stratum, (-1,))
    covered = xp.astype(_covered(sets3, y_idx, xp=xp, device=dev), dtype)
    w = (
        xp.ones((n_samples, n_levels), dtype=dtype, device=dev)
        if sw is None
        else xp.broadcast_to(sw[:, None], (n_samples, n_levels))
    )
    minlength = n_strata * n_levels
    counts = bincount(flat, weights=xp.reshape(w, (-1,)), minlength=minlength, xp=xp)
    hits = bincount(
        flat, weights=xp.reshape(w * covered, (-1,)), minlength=minlength, xp=xp
    )
    counts = xp.reshape(counts, (n_levels, n_strata))
    hits = xp.reshape(hits, (n_levels, n_strata))
    nonempty = counts > 0
    safe = xp.where(nonempty, counts, xp.ones_like(counts))
    rate = hits / safe
    inf = xp.asarray(xp.inf, dtype=dtype, device=dev)
    worst = xp.min(xp.where(nonempty, rate, inf), axis=1)
    result = _per_level(worst, stacked)
    if not return_details:
        return result
    nan = xp.asarray(xp.nan, dtype=dtype, device=dev)
    coverage = to_numpy(xp.where(nonempty, rate, nan)).T
    counts_np = to_numpy(counts).T
    if not stacked:
        coverage, counts_np = coverage[:, 0], counts_np[:, 0]
    ends = np.append(starts[1:] - 1, n_classes)
    details = Bunch(
        size_low=starts,
        size_high=ends,
        coverage=np.asarray(coverage, dtype=float),
        n_samples=np.asarray(counts_np, dtype=float),
    )
    return result, details


def classwise_coverage(
    y_true, y_pred_set, *, average=None, labels=None, sample_weight=None
):
    """Coverage among the samples of each true class.

    Class-conditional coverage: for class ``c``, the fraction of samples with
    ``y_true == c`` whose prediction set contains ``c``. Marginal conformal
    guarantees do not extend to every class; Mondrian (class-conditional)
    predictors aim at the nominal level for each one.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred_set : array-like of bool, shape (n_samples, n_classes) or \
(n_samples, n_classes, n_levels)
        Prediction sets; a third axis stacks several confidence levels.
    average : {None, "min", "macro"}, default=None
        ``None``: the coverage of every class; ``"min"``: the worst class;
        ``"macro"``: the unweighted mean over classes. Classes absent from
        ``y_true`` (or with zero total weight) get NaN and are left out of
        ``"min"`` and ``"macro"``.
    labels : array-like of shape (n_classes,), default=None
        Sorted classes of the columns; by default ``y_true`` holds column
        indices.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    coverage : ndarray of shape (n_classes,) or (n_classes, n_levels), or float \
or ndarray of shape (n_levels,)
        Per-class coverages as a NumPy array for ``average=None`` (the level on
        the last axis when stacked), else one value (per level).

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import classwise_coverage
    >>> y_pred_set = np.array([[True, False, False],
    ...                        [False, True, False],
    ...                        [True, True, False],
    ...                        [False, True, True]])
    >>> y_true = [0, 0, 0, 1]
    >>> classwise_coverage(y_true, y_pred_set)  # class 2 never occurs
    array([0.66666667, 1.        ,        nan])
    >>> classwise_coverage(y_true, y_pred_set, average="min")
    0.6666666666666666
    >>> classwise_coverage(y_true, y_pred_set, average="macro")
    0.8333333333333333
    """
    if average not in (None, "min", "macro"):
        raise ValueError(f"average must be None, 'min' or 'macro', got {average!r}.")
    xp, dev, sets, stacked, y_idx, sw, dtype = _set_inputs(
        y_true, y_pred_set, labels, sample_weight
    )
    n_classes = sets.shape[1]
    covered = xp.astype(_covered(sets, y_idx, xp=xp, device=dev), dtype)  # (n, L)
    classes = xp.arange(n_classes, dtype=xp.int64, device=dev)
    member = xp.astype(y_idx[:, None] == classes[None, :], dtype)  # (n, k)
    if sw is not None:
        member = member * sw[:, None]
    counts = xp.sum(member, axis=0)  # (k,)
    hits = xp.sum(member[:, :, None] * covered[:, None, :], axis=0)  # (k, L)
    present = counts > 0
    safe = xp.where(present, counts, xp.ones_like(counts))
    rate = hits / safe[:, None]
    if average is None:
        nan = xp.asarray(xp.nan, dtype=dtype, device=dev)
        out = to_numpy(xp.where(present[:, None], rate, nan))
        return np.asarray(out if stacked else out[:, 0], dtype=float)
    if average == "min":
        inf = xp.asarray(xp.inf, dtype=dtype, device=dev)
        agg = xp.min(xp.where(present[:, None], rate, inf), axis=0)
    else:
        zero = xp.zeros_like(rate)
        n_present = xp.sum(xp.astype(present, dtype))
        agg = xp.sum(xp.where(present[:, None], rate, zero), axis=0) / n_present
    return _per_level(agg, stacked)


# --------------------------------------------------------------------------- #
# prediction intervals
# --------------------------------------------------------------------------- #
def _check_intervals(y_interval):
    """Return ``(xp, device, lower, upper, stacked)`` with lower <= upper checked."""
    xp, dev = get_namespace_and_device(y_interval)
    y_interval = check_scores(
        y_interval, name="y_interval", ndim=(2, 3), allow_inf=True, xp=xp
    )
    if y_interval.shape[1] != 2:
        raise ValueError(
            "y_interval must have shape (n_samples, 2) or (n_samples, 2, n_levels) "
            f"holding [lower, upper], got shape {tuple(y_interval.shape)}."
        )
    lower, upper = y_interval[:, 0, ...], y_interval[:, 1, ...]
    bad = lower > upper
    if bool(xp.any(bad)):
        n_bad = int(xp.sum(xp.astype(bad, xp.int64)))
        raise ValueError(
            f"y_interval has {n_bad} interval(s) whose lower bound exceeds the "
            "upper bound; columns must be [lower, upper]."
        )
    return xp, dev, lower, upper, y_interval.ndim == 3


def mean_interval_width(y_interval, *, sample_weight=None):
    """Average width ``upper - lower`` of prediction intervals (lower is better).

    Parameters
    ----------
    y_interval : array-like of shape (n_samples, 2) or (n_samples, 2, n_levels)
        Closed intervals ``[lower, upper]``; a third axis stacks several
        confidence levels. Infinite bounds are allowed (and give an infinite
        width); ``lower > upper`` is an error.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    width : float or ndarray of shape (n_levels,)

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import mean_interval_width
    >>> mean_interval_width(np.array([[0.0, 1.0], [2.0, 5.0]]))
    2.0
    """
    xp, dev, lower, upper, stacked = _check_intervals(y_interval)
    dtype = float_dtype(xp, lower, sample_weight, device=dev)
    sw = check_sample_weight(
        sample_weight, lower.shape[0], xp=xp, device=dev, dtype=dtype
    )
    return _per_level(_weighted_mean(upper - lower, sw, xp=xp, dtype=dtype), stacked)


def interval_coverage_score(y_true, y_interval, *, sample_weight=None):
    """Fraction of targets inside their (closed) prediction interval.

    ``y_true[i]`` is covered when ``lower[i] <= y_true[i] <= upper[i]``: both
    bounds count as inside, as in MAPIE's ``regression_coverage_score`` and the
    split-conformal construction ``[y_hat - q, y_hat + q]``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True target values.
    y_interval : array-like of shape (n_samples, 2) or (n_samples, 2, n_levels)
        Closed intervals ``[lower, upper]``; a third axis stacks several
        confidence levels. Infinite bounds are allowed.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    coverage : float or ndarray of shape (n_levels,)

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import interval_coverage_score
    >>> y_interval = np.array([[0.0, 1.0], [2.0, 5.0], [0.0, 0.5]])
    >>> interval_coverage_score([1.0, 3.0, 0.7], y_interval)  # 1.0 is covered
    0.6666666666666666
    """
    xp, dev, lower, upper, stacked = _check_intervals(y_interval)
    check_consistent_length(y_true=y_true, y_interval=lower)
    if not array_api_compat.is_array_api_obj(y_true):
        y_true = np.asarray(y_true)
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {tuple(y_true.shape)}.")
    y = check_scores(
        move_to(y_true, xp=xp, device=dev), name="y_true", ndim=(1,), xp=xp
    )
    dtype = float_dtype(xp, lower, sample_weight, device=dev)
    sw = check_sample_weight(
        sample_weight, lower.shape[0], xp=xp, device=dev, dtype=dtype
    )
    y = y[:, None] if stacked else y
    covered = (lower <= y) & (y <= upper)
    return _per_level(_weighted_mean(covered, sw, xp=xp, dtype=dtype), stacked)
