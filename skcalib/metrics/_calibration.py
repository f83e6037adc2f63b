"""Calibration metrics: binned and smooth calibration errors, proper scores.

All metrics take ``y_true`` (labels of any type) and ``y_prob``: either the
probability of the positive class, shape ``(n_samples,)``, or a probability
matrix, shape ``(n_samples, n_classes)``, whose columns stand for ``labels``
(by default the sorted labels, see
:func:`skcalib.utils._validation.check_proba_targets`). They run on NumPy and,
under ``sklearn.config_context(array_api_dispatch=True)``, on any array-API
namespace and device, in the floating dtype of ``y_prob`` (float32 stays
float32), and return Python floats (or NumPy arrays for curves).

The binning conventions shared by every binned metric are described in
:mod:`skcalib.metrics._binning`: equal-width bins ``(b / B, (b + 1) / B]``
closed on the right (``p = 0`` goes to the first bin), or equal-mass bins from
weighted inverted-CDF quantiles, closed on the right, ties kept together.
"""

import numbers
from collections import namedtuple

import numpy as np

from ..utils._array_api import get_namespace_and_device, to_numpy
from ..utils._dask import is_dask_array
from ..utils._dask_fit import dask_binned_calibration_error
from ..utils._validation import check_proba_targets
from ._binning import (
    _RELPLOT_DENSITY_EPS,
    _bin_statistics,
    _calibration_error_from_stats,
    _kernel_apply,
    _smooth_ece_search,
)

__all__ = [
    "BrierDecomposition",
    "adaptive_calibration_error",
    "balance_score",
    "brier_score",
    "brier_score_decomposition",
    "expected_calibration_error",
    "maximum_calibration_error",
    "negative_log_likelihood",
    "reliability_curve",
    "smooth_ece",
]

_STRATEGIES = ("uniform", "quantile")
_NORMS = ("l1", "l2", "max")
_MULTI_CLASS = ("top_label", "classwise", "marginal")

BrierDecomposition = namedtuple(
    "BrierDecomposition", ["reliability", "resolution", "uncertainty"]
)
BrierDecomposition.__doc__ = """Murphy (1973) decomposition of the Brier score.

``brier = reliability - resolution + uncertainty`` when the forecasts are
constant within each bin (see :func:`brier_score_decomposition`).

Examples
--------
>>> import numpy as np
>>> from skcalib.metrics import brier_score, brier_score_decomposition
>>> y_true, y_prob = np.array([0, 0, 1, 1]), np.array([0.2, 0.2, 0.8, 0.8])
>>> parts = brier_score_decomposition(y_true, y_prob)
>>> [round(v, 3) for v in parts]
[0.04, 0.25, 0.25]
>>> round(parts.reliability - parts.resolution + parts.uncertainty, 3)
0.04
>>> round(brier_score(y_true, y_prob), 3)
0.04
"""


# --------------------------------------------------------------------------
# Validation and preparation
# --------------------------------------------------------------------------


def _check_n_bins(n_bins):
    if (
        not isinstance(n_bins, numbers.Integral)
        or isinstance(n_bins, bool)
        or n_bins < 1
    ):
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    return int(n_bins)


def _check_option(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}."
        )
    return value


def _input_ndim(y_prob):
    ndim = getattr(y_prob, "ndim", None)
    return np.ndim(y_prob) if ndim is None else ndim


def _prepare(y_true, y_prob, labels, pos_label, sample_weight):
    """Validate and return ``xp, device, y_idx, proba, is_binary_1d, weight``.

    ``proba`` is (n, k) (a 1-D input becomes ``[1 - p, p]``); ``weight`` is
    None when ``sample_weight`` is None, else a (n,) array in proba's dtype.
    """
    is_1d = _input_ndim(y_prob) == 1
    xp, device = get_namespace_and_device(y_prob)
    y_idx, proba, _, sw = check_proba_targets(
        y_true,
        y_prob,
        labels=labels,
        pos_label=pos_label,
        sample_weight=sample_weight,
        xp=xp,
    )
    return xp, device, y_idx, proba, is_1d, sw


def _one_hot(y_idx, n_classes, dtype, xp, device):
    classes = xp.arange(n_classes, dtype=y_idx.dtype, device=device)
    return xp.astype(y_idx[:, None] == classes[None, :], dtype)


def _top_label(proba, y_idx, xp):
    """Top-label confidence and correctness (ties: lowest class index)."""
    conf = xp.max(proba, axis=1)
    correct = xp.astype(xp.argmax(proba, axis=1) == y_idx, proba.dtype)
    return conf, correct


def _confidence_outcome(
    proba, y_idx, weight, is_1d, multi_class, xp, device, class_index=None
):
    """(C, m) confidences and 0/1 outcomes, and weights, for the binned metrics.

    Each of the C rows is binned on its own. ``weight`` is None, (1, m) or
    (C, m).
    """
    n, k = proba.shape
    dtype = proba.dtype
    row = None if weight is None else weight[None, :]
    if is_1d:
        class_index = 1
    if class_index is not None:
        column = xp.asarray([class_index], dtype=y_idx.dtype, device=device)
        conf = xp.reshape(xp.take(proba, column, axis=1), (1, n))
        outcome = xp.astype(y_idx == class_index, dtype)[None, :]
        return conf, outcome, row
    if multi_class == "top_label":
        conf, correct = _top_label(proba, y_idx, xp)
        return conf[None, :], correct[None, :], row
    if multi_class == "classwise":
        classes = xp.arange(k, dtype=y_idx.dtype, device=device)
        outcome = xp.astype(classes[:, None] == y_idx[None, :], dtype)
        return xp.permute_dims(proba, (1, 0)), outcome, row
    # marginal: one binning over all n * k (p_ic, 1[y_i = c]) pairs
    onehot = _one_hot(y_idx, k, dtype, xp, device)
    if weight is not None:
        weight = xp.reshape(xp.broadcast_to(weight[:, None], (n, k)), (1, n * k))
    return (xp.reshape(proba, (1, n * k)), xp.reshape(onehot, (1, n * k)), weight)


def _weighted_mean(values, weight, xp):
    if weight is None:
        return xp.mean(values)
    return xp.sum(values * weight) / xp.sum(weight)


# --------------------------------------------------------------------------
# Binned calibration errors
# --------------------------------------------------------------------------


def _binned_calibration_error(
    y_true,
    y_prob,
    *,
    n_bins,
    strategy,
    norm,
    multi_class,
    labels,
    pos_label,
    sample_weight,
):
    n_bins = _check_n_bins(n_bins)
    _check_option(strategy, "strategy", _STRATEGIES)
    _check_option(norm, "norm", _NORMS)
    _check_option(multi_class, "multi_class", _MULTI_CLASS)
    if is_dask_array(y_prob):
        # Per-block bin sums, added up: the data never reach the client.
        return dask_binned_calibration_error(
            y_true,
            y_prob,
            n_bins=n_bins,
            strategy=strategy,
            norm=norm,
            multi_class=multi_class,
            labels=labels,
            pos_label=pos_label,
            sample_weight=sample_weight,
        )
    xp, device, y_idx, proba, is_1d, weight = _prepare(
        y_true, y_prob, labels, pos_label, sample_weight
    )
    conf, outcome, weights = _confidence_outcome(
        proba, y_idx, weight, is_1d, multi_class, xp, device
    )
    stats = _bin_statistics(
        conf, outcome, weights, n_bins=n_bins, strategy=strategy, xp=xp, device=device
    )
    per_column = _calibration_error_from_stats(*stats, norm=norm, xp=xp)
    return float(xp.mean(per_column))


def expected_calibration_error(
    y_true,
    y_prob,
    *,
    n_bins=15,
    strategy="uniform",
    norm="l1",
    multi_class="top_label",
    labels=None,
    pos_label=None,
    sample_weight=None,
):
    r"""Expected calibration error (ECE) with equal-width or equal-mass bins.

    The confidences are grouped in bins; in each bin ``b`` the mean outcome
    ``acc_b`` (the accuracy) is compared with the mean confidence ``conf_b``,
    both weighted by ``sample_weight``. With ``w_b`` the fraction of the total
    weight that falls in bin ``b``:

    - ``norm="l1"``: :math:`\sum_b w_b |acc_b - conf_b|` (Naeini et al. 2015;
      Guo et al. 2017);
    - ``norm="l2"``: :math:`\sqrt{\sum_b w_b (acc_b - conf_b)^2}`;
    - ``norm="max"``: :math:`\max_b |acc_b - conf_b|` over the non-empty bins
      (the maximum calibration error, MCE).

    Lower is better; 0 means perfectly calibrated at the resolution of the bins.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted probabilities. A 1-D array is the probability of the positive
        class (``pos_label``): the metric then measures the calibration of that
        probability against the outcome ``y_true == pos_label``, whatever
        ``multi_class`` says (as :func:`sklearn.calibration.calibration_curve`
        does). A 2-D array holds one column per class of ``labels``.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        ``"uniform"``: equal-width bins ``(b / n_bins, (b + 1) / n_bins]``,
        closed on the right as in Guo et al. (2017) and MAPIE, the first bin
        also holding 0. ``"quantile"``: equal-mass bins whose edges are the
        weighted (inverted-CDF) quantiles of the confidences at levels
        ``b / n_bins``, closed on the right; tied confidences share a bin, so
        with many ties fewer bins are non-empty.
    norm : {"l1", "l2", "max"}, default="l1"
        How the per-bin gaps are combined (see above).
    multi_class : {"top_label", "classwise", "marginal"}, default="top_label"
        How a 2-D ``y_prob`` is reduced to (confidence, outcome) pairs:

        - ``"top_label"``: confidence ``max_k p_k``, outcome ``argmax_k p_k ==
          y`` (the "confidence ECE" of Guo et al. 2017; ties go to the lowest
          column). Note that MAPIE's ``top_label_ece`` (Gupta & Ramdas 2021)
          additionally conditions on the predicted class; this one does not.
        - ``"classwise"``: for each class ``c`` the ECE of ``p_c`` against
          ``1[y = c]`` with its own bins, averaged over the classes (the static
          calibration error, SCE, of Nixon et al. 2019; classwise-ECE of Kull
          et al. 2019).
        - ``"marginal"``: all ``n_samples * n_classes`` pairs ``(p_ic, 1[y_i =
          c])`` binned together in one binning, each pair carrying its row's
          weight (``w_b`` is then the fraction of the ``n_classes * sum(w)``
          total weight).

        Ignored for a 1-D ``y_prob``.
    labels : array-like of shape (n_classes,), default=None
        The sorted classes the columns of ``y_prob`` stand for.
    pos_label : int, float, bool or str, default=None
        Positive class for a 1-D ``y_prob``; by default 1 (or True).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights. An integer weight ``w`` is exactly
        equivalent to repeating the row ``w`` times, for both strategies.

    Returns
    -------
    ece : float

    See Also
    --------
    adaptive_calibration_error : Classwise ECE with equal-mass bins (ACE).
    maximum_calibration_error : ``norm="max"``.
    smooth_ece : Binning-free smooth calibration error.
    reliability_curve : The per-bin accuracies and confidences.

    References
    ----------
    .. [1] Naeini, Cooper and Hauskrecht, "Obtaining Well Calibrated
       Probabilities Using Bayesian Binning", AAAI 2015.
    .. [2] Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural
       Networks", ICML 2017.
    .. [3] Nixon, Dusenberry, Zhang, Jerfel and Tran, "Measuring Calibration in
       Deep Learning", CVPR Workshops 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import expected_calibration_error
    >>> y_true = np.array([0, 1, 1, 0])
    >>> y_prob = np.array([0.2, 0.9, 0.7, 0.6])
    >>> # 2 bins: [0, 0.5] holds 0.2 (outcome 0), (0.5, 1] holds 0.9, 0.7, 0.6
    >>> # ECE = 1/4 * |0 - 0.2| + 3/4 * |2/3 - 0.7333...| = 0.1
    >>> round(expected_calibration_error(y_true, y_prob, n_bins=2), 6)
    0.1
    >>> round(expected_calibration_error(y_true, y_prob, n_bins=2, norm="max"), 6)
    0.2
    >>> proba = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]])
    >>> # top label: 0.7 right in (0.6, 0.8]; 0.6 wrong and 0.6 right in (0.4, 0.6]
    >>> # ECE = 1/3 * |1 - 0.7| + 2/3 * |0.5 - 0.6| = 0.1666...
    >>> round(expected_calibration_error([0, 2, 2], proba, n_bins=5), 6)
    0.166667
    """
    return _binned_calibration_error(
        y_true,
        y_prob,
        n_bins=n_bins,
        strategy=strategy,
        norm=norm,
        multi_class=multi_class,
        labels=labels,
        pos_label=pos_label,
        sample_weight=sample_weight,
    )


def adaptive_calibration_error(
    y_true,
    y_prob,
    *,
    n_bins=15,
    norm="l1",
    multi_class="classwise",
    labels=None,
    pos_label=None,
    sample_weight=None,
):
    r"""Adaptive calibration error (ACE) of Nixon et al. (2019).

    ACE is the calibration error over *all* class probabilities (classwise by
    default, as in the paper) with *adaptive*, equal-mass ranges: for each class
    ``k`` the predictions ``p_k`` are sorted and split into ``n_bins`` ranges
    holding the same weight, and

    .. math::

        \mathrm{ACE} = \frac{1}{K} \sum_{k=1}^{K} \sum_{r=1}^{R}
            w_{r,k} \, |acc(r, k) - conf(r, k)|

    with ``w_{r,k}`` the weight fraction in range ``r`` of class ``k``. The
    paper writes ``1 / (K R)`` in place of ``w_{r,k} / K``: the two coincide
    when each range holds exactly ``n / R`` samples, and weighting by mass keeps
    the estimate well defined when ties or a sample count not divisible by
    ``R`` make the ranges unequal. This is
    ``expected_calibration_error(..., strategy="quantile",
    multi_class="classwise")``. Nixon et al.'s thresholded variant (TACE)
    additionally discards predictions below a threshold; it is not applied here.

    A 1-D ``y_prob`` (binary) measures the positive-class probability only.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
    n_bins : int, default=15
        Number of equal-mass ranges ``R`` per class.
    norm : {"l1", "l2", "max"}, default="l1"
    multi_class : {"classwise", "top_label", "marginal"}, default="classwise"
        See :func:`expected_calibration_error`.
    labels : array-like of shape (n_classes,), default=None
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    ace : float

    References
    ----------
    .. [1] Nixon, Dusenberry, Zhang, Jerfel and Tran, "Measuring Calibration in
       Deep Learning", CVPR Workshops 2019, Section 4 (adaptivity).

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import adaptive_calibration_error
    >>> y_true = np.array([0, 0, 1, 1])
    >>> y_prob = np.array([0.1, 0.3, 0.6, 0.8])
    >>> # 2 equal-mass bins {0.1, 0.3} and {0.6, 0.8}:
    >>> # 1/2 * |0 - 0.2| + 1/2 * |1 - 0.7| = 0.25
    >>> round(adaptive_calibration_error(y_true, y_prob, n_bins=2), 6)
    0.25
    """
    return _binned_calibration_error(
        y_true,
        y_prob,
        n_bins=n_bins,
        strategy="quantile",
        norm=norm,
        multi_class=multi_class,
        labels=labels,
        pos_label=pos_label,
        sample_weight=sample_weight,
    )


def maximum_calibration_error(
    y_true,
    y_prob,
    *,
    n_bins=15,
    strategy="uniform",
    multi_class="top_label",
    labels=None,
    pos_label=None,
    sample_weight=None,
):
    r"""Maximum calibration error (MCE): the largest gap over non-empty bins.

    :math:`\max_b |acc_b - conf_b|` (Naeini et al. 2015), i.e.
    ``expected_calibration_error(..., norm="max")``; with
    ``multi_class="classwise"`` the per-class maxima are averaged.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
    n_bins : int, default=15
    strategy : {"uniform", "quantile"}, default="uniform"
    multi_class : {"top_label", "classwise", "marginal"}, default="top_label"
    labels : array-like of shape (n_classes,), default=None
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None
        A bin holding only zero-weight samples counts as empty.

    Returns
    -------
    mce : float

    See Also
    --------
    expected_calibration_error : All parameters are documented there.

    Examples
    --------
    >>> from skcalib.metrics import maximum_calibration_error
    >>> round(maximum_calibration_error([0, 1, 1, 0], [0.2, 0.9, 0.7, 0.6],
    ...                                 n_bins=2), 6)
    0.2
    """
    return _binned_calibration_error(
        y_true,
        y_prob,
        n_bins=n_bins,
        strategy=strategy,
        norm="max",
        multi_class=multi_class,
        labels=labels,
        pos_label=pos_label,
        sample_weight=sample_weight,
    )


def reliability_curve(
    y_true,
    y_prob,
    *,
    n_bins=15,
    strategy="uniform",
    multi_class="top_label",
    class_index=None,
    labels=None,
    pos_label=None,
    sample_weight=None,
):
    """Per-bin mean outcome, mean confidence and weight (reliability diagram).

    Uses the same binning as :func:`expected_calibration_error`, so that
    ``sum(bin_weight * abs(prob_true - prob_pred))`` is its ``norm="l1"``
    value for the same arguments.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        A 1-D array is the positive-class probability (``multi_class`` and
        ``class_index`` are then ignored).
    n_bins : int, default=15
    strategy : {"uniform", "quantile"}, default="uniform"
        See :func:`expected_calibration_error`.
    multi_class : {"top_label", "classwise", "marginal"}, default="top_label"
        ``"top_label"``: confidence of the predicted class vs correctness.
        ``"classwise"``: the curve of column ``class_index`` (``p_c`` vs
        ``1[y = c]``); ``class_index`` is then required. ``"marginal"``: all
        (probability, outcome) pairs binned together.
    class_index : int, default=None
        Column of ``y_prob`` for ``multi_class="classwise"``.
    labels : array-like of shape (n_classes,), default=None
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    prob_true : ndarray of shape (n_nonempty_bins,)
        Weighted mean outcome (accuracy) in each non-empty bin.
    prob_pred : ndarray of shape (n_nonempty_bins,)
        Weighted mean confidence in each non-empty bin, increasing.
    bin_weight : ndarray of shape (n_nonempty_bins,)
        Fraction of the total weight in each bin (sums to one).

    Examples
    --------
    >>> from skcalib.metrics import reliability_curve
    >>> prob_true, prob_pred, bin_weight = reliability_curve(
    ...     [0, 1, 1, 0], [0.2, 0.9, 0.7, 0.6], n_bins=2)
    >>> prob_true.round(4).tolist(), prob_pred.round(4).tolist()
    ([0.0, 0.6667], [0.2, 0.7333])
    >>> bin_weight.tolist()
    [0.25, 0.75]
    """
    n_bins = _check_n_bins(n_bins)
    _check_option(strategy, "strategy", _STRATEGIES)
    _check_option(multi_class, "multi_class", _MULTI_CLASS)
    xp, device, y_idx, proba, is_1d, weight = _prepare(
        y_true, y_prob, labels, pos_label, sample_weight
    )
    if is_1d:
        class_index = None
    elif multi_class == "classwise":
        n_classes = proba.shape[1]
        if (
            not isinstance(class_index, numbers.Integral)
            or isinstance(class_index, bool)
            or not 0 <= class_index < n_classes
        ):
            raise ValueError(
                "class_index must be an integer in [0, n_classes) = "
                f"[0, {n_classes}) with multi_class='classwise'; got "
                f"{class_index!r}."
            )
        class_index = int(class_index)
    elif class_index is not None:
        raise ValueError(
            "class_index is only used with multi_class='classwise'; got "
            f"multi_class={multi_class!r}."
        )
    conf, outcome, weights = _confidence_outcome(
        proba,
        y_idx,
        weight,
        is_1d,
        multi_class,
        xp,
        device,
        class_index=class_index,
    )
    w_sum, conf_sum, out_sum = (
        to_numpy(s)[0]
        for s in _bin_statistics(
            conf,
            outcome,
            weights,
            n_bins=n_bins,
            strategy=strategy,
            xp=xp,
            device=device,
        )
    )
    nonempty = w_sum > 0
    w = w_sum[nonempty]
    return out_sum[nonempty] / w, conf_sum[nonempty] / w, w / w_sum.sum()


# --------------------------------------------------------------------------
# Smooth ECE (Blasiok & Nakkiran 2023), reproducing relplot
# --------------------------------------------------------------------------


def _smooth_inputs(y_true, y_prob, labels, pos_label, sample_weight):
    xp, device, y_idx, proba, is_1d, weight = _prepare(
        y_true, y_prob, labels, pos_label, sample_weight
    )
    if is_1d:
        f = proba[:, 1]
        outcome = xp.astype(y_idx == 1, proba.dtype)
    else:
        f, outcome = _top_label(proba, y_idx, xp)
    if weight is None:
        weight = xp.ones(f.shape[0], dtype=f.dtype, device=device)
    return xp, device, f, outcome, weight


def smooth_ece(
    y_true,
    y_prob,
    *,
    labels=None,
    pos_label=None,
    sample_weight=None,
    eps=0.001,
    return_bandwidth=False,
):
    r"""Smooth expected calibration error (smECE) of Blasiok & Nakkiran (2023).

    A binning-free calibration error: the residuals ``f_i - y_i`` are
    kernel-smoothed over the predictions ``f`` with a Gaussian kernel of
    bandwidth ``sigma``, reflected at 0 and 1, and

    .. math::

        \mathrm{smECE}_\sigma = \frac{\int |\hat r_\sigma(t)| \,
            \hat\delta_\sigma(t) \, dt}{\int \hat\delta_\sigma(t) \, dt},

    where :math:`\hat\delta_\sigma` is the kernel density of the predictions and
    :math:`\hat r_\sigma` the smoothed residual. The bandwidth is chosen
    automatically as the fixed point ``sigma = smECE_sigma`` (found by
    bisection), which makes smECE a consistent calibration measure.

    The computation reproduces ``relplot.smECE(f, y)`` (Apple's reference
    implementation) step by step: predictions are linearly split onto a grid of
    ``max(2000, round(20 / sigma)) // 2 + 1`` points, reflected, convolved with
    the Gaussian (here through an FFT), read back by linear interpolation on
    ``max(round(10 / sigma), 200)`` evaluation points, the density regularised
    by ``1e-4``; the bandwidth search is relplot's: ``sigma = 1`` if
    ``1 < smECE_1``, else ten bisection steps on ``[0, 1]`` keeping the last
    ``sigma`` with ``sigma >= smECE_sigma`` (values below ``eps`` count as
    satisfied).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        A 1-D array is the positive-class probability and is compared with
        ``y_true == pos_label`` (binary smECE). A 2-D array is reduced to the
        top-label confidence ``max_k p_k`` against the correctness
        ``argmax_k p_k == y`` (as ``relplot.multiclass_logits_to_confidences``).
    labels : array-like of shape (n_classes,), default=None
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None
        Weights enter the kernel sums as counts, so an integer weight equals a
        repeated row exactly (relplot itself has no weights).
    eps : float, default=0.001
        Bandwidths below ``eps`` are accepted without evaluation (relplot's
        ``eps``).
    return_bandwidth : bool, default=False
        Also return the bandwidth ``sigma`` that was chosen.

    Returns
    -------
    smece : float
    sigma : float
        Only when ``return_bandwidth=True``.

    References
    ----------
    .. [1] Blasiok and Nakkiran, "Smooth ECE: Principled Reliability Diagrams
       via Kernel Smoothing", ICLR 2024 (arXiv:2309.12236).

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import smooth_ece
    >>> rng = np.random.default_rng(0)
    >>> f = rng.uniform(size=2000)
    >>> y = rng.uniform(size=2000) < f  # perfectly calibrated
    >>> round(smooth_ece(y, f), 3)
    0.025
    >>> round(smooth_ece(y, f ** 3), 3)  # forecasts biased low
    0.262
    >>> value, sigma = smooth_ece(y, f ** 3, return_bandwidth=True)
    >>> sigma  # the bandwidth: a dyadic fraction, from the bisection
    0.2626953125
    """
    if not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"eps must be a positive float, got {eps!r}.")
    xp, device, f, outcome, weight = _smooth_inputs(
        y_true, y_prob, labels, pos_label, sample_weight
    )
    value, sigma = _smooth_ece_search(
        f, outcome, weight, eps=float(eps), xp=xp, device=device
    )
    if return_bandwidth:
        return float(value), sigma
    return float(value)


def _smooth_reliability_curve(
    confidence, outcome, *, sample_weight=None, bandwidth=None, n_points=200
):
    """Kernel-smoothed reliability curve with relplot's automatic bandwidth.

    Reproduces relplot's ``prepare_rel_diagram`` main line without bootstrap
    (``KernelSmoother(ReflectedGaussianKernel(sigma))``) and its density
    (``ReflectedGaussianKernel(sigma).kde``).

    Parameters
    ----------
    confidence : array of shape (n_samples,)
        Predictions in [0, 1] (positive-class probability or top-label
        confidence), in any array-API namespace.
    outcome : array of shape (n_samples,)
        0/1 outcomes (``y == pos_label`` or correctness), same namespace.
    sample_weight : array of shape (n_samples,), default=None
    bandwidth : float, default=None
        Kernel bandwidth ``sigma``; by default the smooth-ECE fixed point (as
        :func:`smooth_ece`, so the curve and the reported smECE agree).
    n_points : int, default=200
        Size of the evaluation grid ``linspace(0, 1, n_points)``.

    Returns
    -------
    grid : ndarray of shape (n_points,)
    mean_outcome : ndarray of shape (n_points,)
        Smoothed ``E[outcome | confidence = grid]``.
    density : ndarray of shape (n_points,)
        Kernel density of the confidences on ``grid`` (integrates to about 1).
    bandwidth : float
    """
    xp, device = get_namespace_and_device(confidence, outcome, sample_weight)
    f = confidence
    if not xp.isdtype(f.dtype, "real floating"):
        f = xp.astype(f, xp.float64)
    y = xp.astype(outcome, f.dtype)
    if sample_weight is None:
        w = xp.ones(f.shape[0], dtype=f.dtype, device=device)
    else:
        w = xp.astype(sample_weight, f.dtype)
    if bandwidth is None:
        _, bandwidth = _smooth_ece_search(f, y, w, eps=0.001, xp=xp, device=device)
    t = xp.linspace(0.0, 1.0, int(n_points), dtype=f.dtype, device=device)
    out = _kernel_apply(f, xp.stack([y * w, w]), t, float(bandwidth), xp, device)
    mean_outcome = out[0, :] / (out[1, :] + _RELPLOT_DENSITY_EPS)
    density = out[1, :] / xp.sum(w)
    return (to_numpy(t), to_numpy(mean_outcome), to_numpy(density), float(bandwidth))


# --------------------------------------------------------------------------
# Proper scores
# --------------------------------------------------------------------------


def brier_score(y_true, y_prob, *, labels=None, pos_label=None, sample_weight=None):
    r"""Brier score: mean squared distance between probabilities and outcomes.

    For a probability matrix ``y_prob`` of shape (n_samples, n_classes) this is
    Brier's (1950) original multiclass score

    .. math::

        \mathrm{BS} = \frac{1}{\sum_i w_i} \sum_i w_i \sum_{k} (p_{ik} -
            1[y_i = k])^2 \in [0, 2].

    For a 1-D ``y_prob`` (probability of the positive class) it is the usual
    binary score :math:`\frac{1}{\sum_i w_i}\sum_i w_i (p_i - 1[y_i =
    \mathrm{pos}])^2 \in [0, 1]`, i.e. half of the two-column value.

    Relation to :func:`sklearn.metrics.brier_score_loss` (scikit-learn 1.9):
    with a 1-D ``y_prob``, or a 2-D one with three or more columns, both give
    the same value by default; with a two-column ``y_prob`` this function
    returns ``brier_score_loss(..., scale_by_half=False)`` (twice the default of
    scikit-learn, which halves two-column inputs). In every case it equals
    ``brier_score_loss(..., scale_by_half=False)`` for 2-D inputs.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
    labels : array-like of shape (n_classes,), default=None
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    brier : float
        Lower is better.

    Examples
    --------
    >>> from skcalib.metrics import brier_score
    >>> round(brier_score([0, 1, 1], [0.1, 0.8, 0.6]), 6)  # (.01 + .04 + .16) / 3
    0.07
    >>> # ((0.5 - 1)^2 + 0.5^2 + 0^2 + 0.2^2 + 0.2^2 + (0.6 - 1)^2) / 2
    >>> round(brier_score([0, 2], [[0.5, 0.5, 0.0], [0.2, 0.2, 0.6]]), 6)
    0.37
    """
    xp, device, y_idx, proba, is_1d, weight = _prepare(
        y_true, y_prob, labels, pos_label, sample_weight
    )
    onehot = _one_hot(y_idx, proba.shape[1], proba.dtype, xp, device)
    sq = (proba - onehot) ** 2
    per_sample = sq[:, 1] if is_1d else xp.sum(sq, axis=1)
    return float(_weighted_mean(per_sample, weight, xp))


def brier_score_decomposition(
    y_true,
    y_prob,
    *,
    n_bins=10,
    strategy="uniform",
    labels=None,
    pos_label=None,
    sample_weight=None,
):
    r"""Murphy (1973) decomposition of the Brier score by binning the forecasts.

    For one class with outcome ``o_i = 1[y_i = c]``, overall (weighted) mean
    outcome :math:`\bar o`, and in each bin ``b`` the weight fraction ``w_b``,
    mean forecast :math:`\bar f_b` and mean outcome :math:`\bar o_b`:

    - reliability :math:`= \sum_b w_b (\bar f_b - \bar o_b)^2` (lower is better),
    - resolution :math:`= \sum_b w_b (\bar o_b - \bar o)^2` (higher is better),
    - uncertainty :math:`= \bar o (1 - \bar o)`.

    For a 2-D ``y_prob`` each term is summed over the classes (each class binned
    on its own); for a 1-D ``y_prob`` only the positive class is used, matching
    the two definitions of :func:`brier_score`. Then
    ``reliability - resolution + uncertainty == brier_score(...)`` exactly (up
    to rounding) whenever the forecasts are constant within each bin, e.g. when
    they take at most ``n_bins`` distinct values falling in distinct bins;
    otherwise the difference is the within-bin variance and covariance terms
    (Stephenson et al. 2008).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
    n_bins : int, default=10
    strategy : {"uniform", "quantile"}, default="uniform"
        Binning, as in :func:`expected_calibration_error`.
    labels : array-like of shape (n_classes,), default=None
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    decomposition : BrierDecomposition
        Named tuple ``(reliability, resolution, uncertainty)`` of floats.

    References
    ----------
    .. [1] Murphy, "A New Vector Partition of the Probability Score", Journal
       of Applied Meteorology 12, 1973.

    Examples
    --------
    >>> from skcalib.metrics import brier_score, brier_score_decomposition
    >>> y_true = [0, 1, 1, 0, 1]
    >>> y_prob = [0.2, 0.8, 0.8, 0.2, 0.2]
    >>> rel, res, unc = brier_score_decomposition(y_true, y_prob)
    >>> round(rel, 6), round(res, 6), round(unc, 6)
    (0.026667, 0.106667, 0.24)
    >>> round(rel - res + unc, 6), round(brier_score(y_true, y_prob), 6)
    (0.16, 0.16)
    """
    n_bins = _check_n_bins(n_bins)
    _check_option(strategy, "strategy", _STRATEGIES)
    xp, device, y_idx, proba, is_1d, weight = _prepare(
        y_true, y_prob, labels, pos_label, sample_weight
    )
    conf, outcome, weights = _confidence_outcome(
        proba, y_idx, weight, is_1d, "classwise", xp, device
    )
    w_sum, conf_sum, out_sum = _bin_statistics(
        conf,
        outcome,
        weights,
        n_bins=n_bins,
        strategy=strategy,
        xp=xp,
        device=device,
    )
    total = xp.sum(w_sum, axis=1, keepdims=True)
    base_rate = xp.sum(out_sum, axis=1, keepdims=True) / total
    nonempty = w_sum > 0
    safe_w = xp.where(nonempty, w_sum, xp.ones_like(w_sum))
    zero = xp.zeros_like(w_sum)
    rel = xp.where(nonempty, (conf_sum - out_sum) ** 2 / safe_w, zero) / total
    res = xp.where(nonempty, w_sum * (out_sum / safe_w - base_rate) ** 2, zero)
    res = res / total
    unc = base_rate * (1 - base_rate)
    return BrierDecomposition(
        float(xp.sum(rel)), float(xp.sum(res)), float(xp.sum(unc))
    )


def negative_log_likelihood(
    y_true, y_prob, *, labels=None, pos_label=None, sample_weight=None, eps="auto"
):
    r"""Mean negative log-likelihood (log loss, cross-entropy) of the true class.

    :math:`-\frac{1}{\sum_i w_i}\sum_i w_i \log \mathrm{clip}(p_{i, y_i},
    \epsilon, 1 - \epsilon)`; equal to :func:`sklearn.metrics.log_loss` on the
    same inputs (which clips with the machine epsilon of the dtype).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        A 1-D array is the probability of ``pos_label``.
    labels : array-like of shape (n_classes,), default=None
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None
    eps : float or "auto", default="auto"
        Probabilities are clipped to ``[eps, 1 - eps]`` so that a zero
        probability of the true class gives a finite loss; ``"auto"`` is the
        machine epsilon of ``y_prob``'s dtype, as scikit-learn.

    Returns
    -------
    nll : float
        Lower is better.

    Examples
    --------
    >>> from skcalib.metrics import negative_log_likelihood
    >>> # -(log(0.8) + log(0.6)) / 2
    >>> round(negative_log_likelihood([0, 1], [[0.8, 0.2], [0.4, 0.6]]), 6)
    0.366985
    """
    xp, device, y_idx, proba, is_1d, weight = _prepare(
        y_true, y_prob, labels, pos_label, sample_weight
    )
    if isinstance(eps, str) and eps == "auto":
        eps = float(xp.finfo(proba.dtype).eps)
    elif not isinstance(eps, numbers.Real) or not 0 <= eps < 0.5:
        raise ValueError(f"eps must be 'auto' or a float in [0, 0.5), got {eps!r}.")
    p_true = xp.take_along_axis(proba, y_idx[:, None], axis=1)[:, 0]
    p_true = xp.clip(p_true, float(eps), 1 - float(eps))
    return float(_weighted_mean(-xp.log(p_true), weight, xp))


def balance_score(y_true, y_prob, *, labels=None, pos_label=None, sample_weight=None):
    r"""Balance score of Choi, Kim and Lee (2023): accuracy minus confidence.

    Binary definition of the paper (win-probability estimation): with ``p_i``
    the predicted probability of the positive class, the predicted class
    :math:`\hat y_i = 1[p_i \ge 0.5]` and the per-sample gain/loss

    .. math::

        g(p_i, y_i) = \begin{cases}
            1 - p_i & p_i \ge 0.5,\ y_i = 1 \quad \text{(gain)}\\
            p_i & p_i < 0.5,\ y_i = 0 \quad \text{(gain)}\\
            -p_i & p_i \ge 0.5,\ y_i = 0 \quad \text{(loss)}\\
            -(1 - p_i) & p_i < 0.5,\ y_i = 1 \quad \text{(loss)}
        \end{cases}

    the Balance score is :math:`\frac{1}{n}\sum_i g(p_i, y_i)`, i.e.
    :math:`\frac1n\sum_i (1[\hat y_i = y_i] - \max(p_i, 1 - p_i))`: accuracy
    minus mean confidence of the predicted class. Its ideal value is 0 (in
    expectation 0 for a calibrated model, since :math:`E[g(q, y)] = \pm(p - q)`
    when the true probability is ``p``); it lies in ``[-1, 0.5]``; a positive
    value means under-confidence (the favoured side wins more often than
    predicted), a negative value over-confidence. It is signed: compare models
    by ``abs(balance_score)``.

    The paper only defines the binary case. A 2-D ``y_prob`` with two columns
    uses its second column as ``p``; with three or more columns the same
    formula is applied to the top label (``1[argmax_k p_k = y] - max_k p_k``,
    ties to the lowest column), an extension that is not in the paper.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        A 1-D array is the probability of ``pos_label``.
    labels : array-like of shape (n_classes,), default=None
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None
        Weighted mean instead of the plain mean.

    Returns
    -------
    score : float
        In ``[-1, 0.5]``; 0 is best.

    References
    ----------
    .. [1] Choi, Kim and Lee, "Rethinking Evaluation Metric for Probability
       Estimation Models Using Esports Data", arXiv:2309.06248, 2023 (Section
       on the proposed Balance score).

    Examples
    --------
    >>> from skcalib.metrics import balance_score
    >>> # gains 1 - 0.8 and 0.3, loss -0.6: (0.2 + 0.3 - 0.6) / 3
    >>> round(balance_score([1, 0, 0], [0.8, 0.3, 0.6]), 6)
    -0.033333
    """
    xp, device, y_idx, proba, is_1d, weight = _prepare(
        y_true, y_prob, labels, pos_label, sample_weight
    )
    if proba.shape[1] == 2:
        p = proba[:, 1]
        predicted_pos = p >= 0.5
        conf = xp.where(predicted_pos, p, 1 - p)
        correct = xp.astype(predicted_pos == (y_idx == 1), proba.dtype)
    else:
        conf, correct = _top_label(proba, y_idx, xp)
    return float(_weighted_mean(correct - conf, weight, xp))
