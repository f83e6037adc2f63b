"""Confident learning: find mislabelled samples from out-of-sample probabilities.

Confident learning (Northcutt, Jiang and Chuang, 2021, "Confident Learning:
Estimating Uncertainty in Dataset Labels", JAIR 70) compares each sample's
given label with what a model, which did not see the sample, believes:

1. **Per-class thresholds.** ``t_j`` is the mean predicted probability of
   class ``j`` over the samples labelled ``j`` (the model's average
   self-confidence in class ``j``).
2. **Confident joint.** A sample labelled ``i`` is confidently counted as
   truly ``j`` when ``p_j(x) >= t_j``; when several classes pass their
   thresholds, the most probable of them wins (Eq. 2 of the paper).
   ``C[i, j]`` counts these samples; its off-diagonal holds the confident
   label errors.
3. **Calibration.** Each row of ``C`` is rescaled to the number of samples
   with that label, and the whole matrix to ``n`` (Eq. 3), giving an estimate
   of the joint distribution of given and true labels (times ``n``).
4. **Pruning.** The calibrated counts say how many samples of each
   (given, true) pair to flag; which ones is decided by a ranking
   (``filter_by``).

The same procedure found the label errors of "Pervasive Label Errors in Test
Sets Destabilize Machine Learning Benchmarks" (Northcutt, Athalye and Mueller,
2021) and is the default of cleanlab's ``cleanlab.filter.find_label_issues``,
whose options and conventions :func:`find_label_issues` reproduces (see its
Notes for the one deliberate difference).

Array API: the per-sample work (thresholds, confident assignment, rankings,
label quality scores) runs in the namespace and on the device of the
probabilities, with sorts only; the ``(n_classes, n_classes)`` integer
bookkeeping of the joint (calibration, rounding) is done on the host.
"""

import math
import warnings
from numbers import Integral, Real

import array_api_compat
import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import cross_val_predict

from ..metrics._calibration import _one_hot
from ..utils._array_api import (
    bincount,
    entr,
    get_namespace_and_device,
    move_to,
    to_numpy,
)
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    _check_feature_names,
    _fit_context,
)
from ..utils._validation import check_consistent_length, check_probabilities
from ._common import _CrossFittedClassifierMixin

__all__ = [
    "LabelIssueDetector",
    "confident_joint",
    "find_label_issues",
    "label_quality_scores",
]

#: ``filter_by`` options, as named by cleanlab.
FILTERS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
)
#: Label quality scores (``method`` / ``return_indices_ranked_by``).
QUALITY_METHODS = (
    "self_confidence",
    "normalized_margin",
    "confidence_weighted_entropy",
)

# Tolerance of the threshold comparisons and of "the model predicts the given
# label" (cleanlab's FLOATING_POINT_COMPARISON), and the floors of the
# thresholds and of the scores' denominators (its CONFIDENT_THRESHOLDS_LOWER_BOUND
# and CLIPPING_LOWER_BOUND).
_TOL = 1e-6
_THRESHOLD_FLOOR = 2e-6
_SCORE_FLOOR = 1e-6
# Threshold of a class nobody carries: no probability reaches it.
_ABSENT_THRESHOLD = 2.0


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _check_option(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}.")


def _check_labels(y, pred_proba, labels):
    """``(y_idx, proba, classes, xp, device)`` from labels and probabilities.

    ``pred_proba`` is (n_samples, n_classes) with at least two columns;
    ``classes`` (NumPy) is ``labels`` when given, ``range(n_classes)`` for
    integer labels in that range, else the sorted distinct labels of ``y``.
    """
    xp, dev = get_namespace_and_device(pred_proba)
    proba = check_probabilities(pred_proba, name="pred_proba", ndim=(2,), xp=xp)
    n_classes = proba.shape[1]
    if n_classes < 2:
        raise ValueError(
            f"pred_proba must have at least two columns (classes), got {n_classes}."
        )
    y = to_numpy(y) if array_api_compat.is_array_api_obj(y) else np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    check_consistent_length(y=y, pred_proba=proba)
    if labels is not None:
        classes = np.asarray(labels)
        if classes.shape != (n_classes,) or np.any(classes[1:] <= classes[:-1]):
            raise ValueError(
                f"labels must hold the {n_classes} classes of the columns of "
                f"pred_proba, distinct and sorted in increasing order; got {labels!r}."
            )
    elif y.dtype.kind in "iub" and y.min() >= 0 and y.max() < n_classes:
        classes = np.arange(n_classes)
    else:
        classes = np.unique(y)
        if classes.shape[0] != n_classes:
            raise ValueError(
                f"pred_proba has {n_classes} columns but y has {classes.shape[0]} "
                f"distinct labels {classes.tolist()[:10]}; pass labels= to say "
                "which class each column stands for."
            )
    unknown = ~np.isin(y, classes)
    if np.any(unknown):
        raise ValueError(
            f"y contains labels that are not classes of pred_proba: "
            f"{np.unique(y[unknown]).tolist()[:10]}; the classes are "
            f"{classes.tolist()[:10]}."
        )
    y_idx = np.searchsorted(classes, y).astype(np.int64)
    return move_to(y_idx, xp=xp, device=dev), proba, classes, xp, dev


# --------------------------------------------------------------------------
# Kernels (array API)
# --------------------------------------------------------------------------


def _class_counts(y_idx, n_classes, xp):
    """Number of samples of each label, as a NumPy int64 array."""
    return to_numpy(bincount(y_idx, minlength=n_classes, xp=xp)).astype(np.int64)


def _thresholds(y_idx, proba, xp, dev):
    """Per-class thresholds ``t_j`` = mean of ``p_j`` over the samples labelled j.

    A class that labels no sample gets a threshold of 2, which no probability
    reaches; thresholds are floored at 2e-6.
    """
    onehot = _one_hot(y_idx, proba.shape[1], proba.dtype, xp, dev)
    counts = xp.sum(onehot, axis=0)
    present = counts > 0
    means = xp.sum(onehot * proba, axis=0) / xp.where(
        present, counts, xp.ones_like(counts)
    )
    absent = xp.full_like(means, _ABSENT_THRESHOLD)
    return xp.clip(xp.where(present, means, absent), min=_THRESHOLD_FLOOR)


def _confident_assignment(proba, thresholds, xp):
    """``(confident, guess)``: rows above some threshold, and their true-label guess.

    The guess is the most probable class among those whose probability reaches
    their threshold (ties: the lowest class index).
    """
    above = proba >= thresholds[None, :] - _TOL
    confident = xp.any(above, axis=1)
    guess = xp.argmax(xp.where(above, proba, xp.full_like(proba, -1.0)), axis=1)
    return confident, xp.astype(guess, xp.int64)


def _predicts_given_label(y_idx, proba, onehot, xp):
    """Rows whose given label is (within ``_TOL``) the most probable class."""
    return xp.argmax(proba + _TOL * onehot, axis=1) == y_idx


def _self_confidence(y_idx, proba, xp):
    return xp.take_along_axis(proba, y_idx[:, None], axis=1)[:, 0]


def _quality_scores(y_idx, proba, method, xp, dev):
    """Label quality scores in [0, 1] (lower = more likely mislabelled)."""
    self_conf = _self_confidence(y_idx, proba, xp)
    if method == "self_confidence":
        return self_conf
    n_classes = proba.shape[1]
    if method == "normalized_margin":
        onehot = _one_hot(y_idx, n_classes, proba.dtype, xp, dev)
        best_other = xp.max(proba - 2 * onehot, axis=1)
        return (self_conf - best_other + 1) / 2
    # confidence_weighted_entropy: normalised entropy / self-confidence, mapped
    # to [0, 1] by s -> log(1 + s) / s.
    entropy = xp.sum(entr(proba, xp=xp), axis=1) / math.log(n_classes)
    ratio = entropy / xp.clip(self_conf, min=_SCORE_FLOOR)
    return xp.log(ratio + 1) / xp.clip(ratio, min=_SCORE_FLOOR)


def _adjusted_proba(proba, thresholds, xp):
    """Probabilities minus the class thresholds, shifted and renormalised."""
    adjusted = proba - thresholds[None, :] + xp.max(thresholds)
    return adjusted / xp.sum(adjusted, axis=1, keepdims=True)


def _flag_lowest_per_class(key, y_idx, n_flag, counts, xp, dev):
    """Flag, in each class ``c``, the ``n_flag[c]`` rows labelled c of lowest key.

    Ties go to the lowest row index. Three stable sorts: by key, then by label
    (grouping the classes while keeping the key order), then the inverse
    permutation back to the rows.
    """
    n = key.shape[0]
    order = xp.argsort(key, stable=True)
    order = xp.take(order, xp.argsort(xp.take(y_idx, order), stable=True))
    grouped_label = xp.take(y_idx, order)
    starts = move_to((np.cumsum(counts) - counts).astype(np.int64), xp=xp, device=dev)
    n_flag = move_to(np.asarray(n_flag, dtype=np.int64), xp=xp, device=dev)
    rank = xp.arange(n, dtype=xp.int64, device=dev) - xp.take(starts, grouped_label)
    flagged = rank < xp.take(n_flag, grouped_label)
    return xp.take(flagged, xp.argsort(order, stable=True))


# --------------------------------------------------------------------------
# Host bookkeeping of the (n_classes, n_classes) joint
# --------------------------------------------------------------------------


def _round_rows_preserving_totals(matrix):
    """Round each row to integers keeping its (rounded) total: largest remainders.

    Where the rounded entries miss the rounded row total, the entries with the
    largest remainders go up (or the smallest go down) by one, as cleanlab's
    ``round_preserving_row_totals`` does.
    """
    out = np.empty(matrix.shape, dtype=np.int64)
    for r, row in enumerate(matrix):
        ints = np.round(row)
        target = np.round(row.sum())
        while (gap := int(np.round(target - ints.sum()))) != 0:
            step = 1 if gap > 0 else -1
            order = np.argsort(row - ints)
            if step > 0:
                order = order[::-1]
            ints[order[: min(abs(gap), row.size)]] += step
        out[r] = ints
    return out


def _calibrate(raw_joint, counts):
    """Rows rescaled to the label counts, total to ``n``, rounded (Eq. 3)."""
    row_sums = np.clip(raw_joint.sum(axis=1), 1e-100, None)
    calibrated = raw_joint / row_sums[:, None] * counts[:, None]
    calibrated = calibrated / max(calibrated.sum(), 1e-100) * counts.sum()
    return _round_rows_preserving_totals(calibrated)


def _prune_counts(joint, min_examples_per_class, frac_noise):
    """How many samples of each (given, true) pair to flag.

    ``P[i, j]`` (``j != i``) samples labelled ``i`` are flagged as truly ``j``;
    ``P[i, i]`` of them are kept. The diagonal is raised to
    ``min_examples_per_class``, taking the difference evenly from the row's
    non-zero noise counts, then the noise counts are scaled by ``frac_noise``
    (the removed part moves to the diagonal) and truncated to integers.
    """
    joint = joint.astype(float)
    diag = np.diagonal(joint)
    new_diag = np.maximum(diag, min_examples_per_class)
    n_noise = np.maximum(np.count_nonzero(joint, axis=1) - 1.0, 1.0)
    prune = joint - ((new_diag - diag) / n_noise)[:, None]
    prune[prune < 0] = 0
    np.fill_diagonal(prune, new_diag)
    reduced = prune * frac_noise
    np.fill_diagonal(reduced, 0.0)
    off_removed = prune - reduced
    np.fill_diagonal(off_removed, 0.0)
    np.fill_diagonal(reduced, new_diag + off_removed.sum(axis=1))
    return reduced.astype(np.int64)


# --------------------------------------------------------------------------
# The whole procedure
# --------------------------------------------------------------------------


def _confident_learning(
    y_idx,
    proba,
    *,
    xp,
    device,
    filter_by="prune_by_noise_rate",
    frac_noise=1.0,
    min_examples_per_class=1,
):
    """Thresholds, joints and the label-issue mask, all from one pass.

    Returns a dict with ``thresholds`` (array), ``raw_joint`` and
    ``confident_joint`` (calibrated; NumPy int64) and, unless ``filter_by`` is
    None, ``issues`` (boolean array in ``xp``).
    """
    dev = device
    n_classes = proba.shape[1]
    counts = _class_counts(y_idx, n_classes, xp)
    thresholds = _thresholds(y_idx, proba, xp, dev)
    confident, guess = _confident_assignment(proba, thresholds, xp)
    weights = xp.astype(confident, proba.dtype)
    raw = bincount(y_idx * n_classes + guess, weights=weights, minlength=n_classes**2)
    raw = np.rint(to_numpy(raw)).astype(np.int64).reshape(n_classes, n_classes)
    # At least one correctly labelled sample per class (keeps rows non-empty).
    np.fill_diagonal(raw, np.maximum(np.diagonal(raw), 1))
    joint = _calibrate(raw, counts)
    result = {"thresholds": thresholds, "raw_joint": raw, "confident_joint": joint}
    if filter_by is None:
        return result
    onehot = _one_hot(y_idx, n_classes, proba.dtype, xp, dev)
    agrees = _predicts_given_label(y_idx, proba, onehot, xp)
    off_diagonal = confident & (guess != y_idx) & ~agrees
    if filter_by == "confident_learning":
        result["issues"] = off_diagonal
        return result
    if filter_by == "predicted_neq_given":
        result["issues"] = ~agrees
        return result
    if filter_by in ("low_self_confidence", "low_normalized_margin"):
        n_issues = int(xp.sum(xp.astype(off_diagonal, xp.int64)))
        scores = _quality_scores(y_idx, proba, filter_by[4:], xp, dev)
        order = xp.argsort(scores, stable=True)
        in_top = xp.arange(proba.shape[0], device=dev) < n_issues
        result["issues"] = xp.take(in_top, xp.argsort(order, stable=True))
        return result
    prune = _prune_counts(joint, min_examples_per_class, frac_noise)
    # cleanlab leaves classes with too few samples (and singletons) untouched.
    eligible = counts > max(min_examples_per_class, 1)
    for c in np.flatnonzero((counts <= min_examples_per_class) & (counts > 0)):
        warnings.warn(
            f"Class {c} has {counts[c]} sample(s), not more than "
            f"min_examples_per_class={min_examples_per_class}: none of its samples "
            "is flagged, so some label issues may be missed.",
            UserWarning,
            stacklevel=3,
        )
    self_conf = _self_confidence(y_idx, proba, xp)
    issues = xp.zeros(proba.shape[:1], dtype=xp.bool, device=dev)
    if filter_by in ("prune_by_class", "both"):
        n_flag = np.where(eligible, np.maximum(counts - np.diagonal(prune), 0), 0)
        issues = _flag_lowest_per_class(self_conf, y_idx, n_flag, counts, xp, dev)
    if filter_by in ("prune_by_noise_rate", "both"):
        by_noise = xp.zeros_like(issues)
        for j in range(n_classes):
            n_flag = np.where(eligible, prune[:, j], 0)
            n_flag[j] = 0
            if not n_flag.any():
                continue
            # Largest margin p_j - p_given first.
            key = self_conf - proba[:, j]
            by_noise = by_noise | _flag_lowest_per_class(
                key, y_idx, n_flag, counts, xp, dev
            )
        issues = by_noise if filter_by == "prune_by_noise_rate" else issues & by_noise
    result["issues"] = issues & ~agrees
    return result


def _ranked_indices(issues, scores, xp, dev):
    """Indices of the flagged rows, lowest label quality score first."""
    n_issues = int(xp.sum(xp.astype(issues, xp.int64)))
    keys = xp.where(issues, scores, xp.full_like(scores, xp.inf))
    return xp.argsort(keys, stable=True)[:n_issues]


# --------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------


def confident_joint(y, pred_proba, *, labels=None, calibrate=True):
    r"""Confident joint of given and true labels (Northcutt et al. 2021).

    With per-class thresholds :math:`t_j` (the mean of :math:`\hat p_j(x)`
    over the samples labelled :math:`j`), entry :math:`C[i, j]` counts the
    samples labelled :math:`i` whose probability of class :math:`j` reaches
    :math:`t_j` and is the largest among the classes that reach their
    thresholds (Eq. 2 of the paper). Samples that reach no threshold are not
    counted, and every diagonal entry is at least one. With
    ``calibrate=True`` each row is rescaled to the number of samples with
    that label and the matrix to ``n_samples``, then rounded keeping the row
    totals (Eq. 3): an estimate of ``n_samples`` times the joint distribution
    :math:`P(\tilde y = i, y^* = j)`.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Given (possibly noisy) labels.
    pred_proba : array-like of shape (n_samples, n_classes)
        Out-of-sample predicted probabilities (for example from
        :func:`~sklearn.model_selection.cross_val_predict` with
        ``method="predict_proba"``); in-sample probabilities hide label errors
        that the model has memorised.
    labels : array-like of shape (n_classes,), default=None
        The class of each column, sorted. By default ``range(n_classes)`` for
        integer labels in that range, else the sorted distinct labels of ``y``.
    calibrate : bool, default=True
        Whether to calibrate the counts (Eq. 3).

    Returns
    -------
    joint : ndarray of shape (n_classes, n_classes), dtype int64
        Rows: given label; columns: estimated true label. A NumPy array
        whatever the input namespace (it is a small table of counts).

    See Also
    --------
    find_label_issues : Flag the samples the joint counts as errors.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.uncertainty._label_issues import confident_joint
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> p1 = np.array([0.1, 0.2, 0.9, 0.8, 0.7, 0.6])  # P(class 1)
    >>> pred_proba = np.stack([1 - p1, p1], axis=1)
    >>> # t_0 = mean(.9, .8, .1) = .6 and t_1 = mean(.8, .7, .6) = .7: sample 2
    >>> # (labelled 0, p_1 = .9 >= .7) is confidently a 1.
    >>> confident_joint(y, pred_proba, calibrate=False)
    array([[2, 1],
           [0, 2]])
    >>> confident_joint(y, pred_proba)  # rows rescaled to 3 samples each
    array([[2, 1],
           [0, 3]])
    """
    y_idx, proba, _, xp, dev = _check_labels(y, pred_proba, labels)
    result = _confident_learning(y_idx, proba, xp=xp, device=dev, filter_by=None)
    return result["confident_joint"] if calibrate else result["raw_joint"]


def find_label_issues(
    y,
    pred_proba,
    *,
    labels=None,
    filter_by="prune_by_noise_rate",
    frac_noise=1.0,
    min_examples_per_class=1,
    return_indices_ranked_by=None,
):
    r"""Find the samples whose label is likely wrong, by confident learning.

    Computes the calibrated confident joint :math:`C` (see
    :func:`confident_joint`), which estimates how many samples labelled
    :math:`i` are truly :math:`j`, and flags that many samples, following
    cleanlab's ``filter_by`` rules:

    - ``"prune_by_noise_rate"`` (default): for every off-diagonal
      :math:`(i, j)`, the :math:`C[i, j]` samples labelled :math:`i` with the
      largest margin :math:`\hat p_j(x) - \hat p_i(x)`;
    - ``"prune_by_class"``: in each class :math:`i`, the
      :math:`n_i - C[i, i]` samples labelled :math:`i` with the smallest
      :math:`\hat p_i(x)`;
    - ``"both"``: the samples flagged by both rules;
    - ``"confident_learning"``: the off-diagonal samples of the (uncalibrated)
      confident joint;
    - ``"predicted_neq_given"``: the samples whose most probable class is not
      their label (a baseline);
    - ``"low_self_confidence"`` / ``"low_normalized_margin"``: as many samples
      as ``"confident_learning"`` finds, those of lowest label quality score.

    Except for the last two, a sample whose given label is the most probable
    class (within 1e-6) is never flagged.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Given (possibly noisy) labels.
    pred_proba : array-like of shape (n_samples, n_classes)
        Out-of-sample predicted probabilities (cross-validated), columns in
        the order of ``labels``.
    labels : array-like of shape (n_classes,), default=None
        The class of each column, sorted. By default ``range(n_classes)`` for
        integer labels in that range, else the sorted distinct labels of ``y``.
    filter_by : str, default="prune_by_noise_rate"
        Which samples to flag (see above): ``"prune_by_noise_rate"``,
        ``"prune_by_class"``, ``"both"``, ``"confident_learning"``,
        ``"predicted_neq_given"``, ``"low_self_confidence"`` or
        ``"low_normalized_margin"``.
    frac_noise : float in (0, 1], default=1.0
        Flag only this fraction of the estimated number of errors of each
        (given, true) pair (the most confident ones). Only used by the
        ``prune_by_*`` and ``"both"`` rules.
    min_examples_per_class : int, default=1
        Keep at least this many samples of each label unflagged; classes with
        at most this many samples (or a single one) are never flagged, with a
        warning. Only used by the ``prune_by_*`` and ``"both"`` rules.
    return_indices_ranked_by : str or None, default=None
        If None, return a boolean mask; otherwise (``"self_confidence"``,
        ``"normalized_margin"`` or ``"confidence_weighted_entropy"``) the
        indices of the flagged
        samples, sorted by increasing label quality score of this kind (most
        likely errors first; ties by index).

    Returns
    -------
    issues : array of shape (n_samples,), dtype bool, or (n_issues,), dtype int64
        The mask or the ranked indices, in the namespace and on the device of
        ``pred_proba``.

    See Also
    --------
    LabelIssueDetector : Cross-fits the probabilities of a model and runs this.
    label_quality_scores : Per-sample scores used for the rankings.

    Notes
    -----
    Matches ``cleanlab.filter.find_label_issues`` (cleanlab 2.9) on the same
    probabilities with one deliberate difference: when two or more classes
    reach their thresholds, the confident joint counts the sample in the most
    probable of *those* classes, as Eq. 2 of the paper defines, whereas
    cleanlab takes the most probable class overall, which may be one below
    its threshold. The two agree whenever that cannot happen, for example
    with two classes. Ties in the rankings go to the lowest index (stable
    sorts); cleanlab's unstable sorts may order exact ties differently.

    The probabilities should be out-of-sample: a model scored on its own
    training data has memorised part of the noise and finds fewer errors.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.uncertainty._label_issues import find_label_issues
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> p1 = np.array([0.1, 0.2, 0.9, 0.8, 0.7, 0.6])
    >>> pred_proba = np.stack([1 - p1, p1], axis=1)
    >>> find_label_issues(y, pred_proba)
    array([False, False,  True, False, False, False])
    >>> find_label_issues(y, pred_proba, filter_by="predicted_neq_given")
    array([False, False,  True, False, False, False])
    >>> find_label_issues(y, pred_proba, return_indices_ranked_by="self_confidence")
    array([2])
    """
    _check_option(filter_by, "filter_by", FILTERS)
    if return_indices_ranked_by is not None:
        _check_option(
            return_indices_ranked_by, "return_indices_ranked_by", QUALITY_METHODS
        )
    if (
        not isinstance(frac_noise, Real)
        or isinstance(frac_noise, bool)
        or not 0 < frac_noise <= 1
    ):
        raise ValueError(f"frac_noise must be a float in (0, 1], got {frac_noise!r}.")
    if (
        not isinstance(min_examples_per_class, Integral)
        or isinstance(min_examples_per_class, bool)
        or min_examples_per_class < 0
    ):
        raise ValueError(
            "min_examples_per_class must be a non-negative integer, got "
            f"{min_examples_per_class!r}."
        )
    y_idx, proba, _, xp, dev = _check_labels(y, pred_proba, labels)
    issues = _confident_learning(
        y_idx,
        proba,
        xp=xp,
        device=dev,
        filter_by=filter_by,
        frac_noise=frac_noise,
        min_examples_per_class=min_examples_per_class,
    )["issues"]
    if return_indices_ranked_by is None:
        return issues
    scores = _quality_scores(y_idx, proba, return_indices_ranked_by, xp, dev)
    return _ranked_indices(issues, scores, xp, dev)


def label_quality_scores(
    y, pred_proba, *, labels=None, method="self_confidence", adjust_pred_probs=False
):
    r"""Per-sample label quality scores in [0, 1]: lower = more likely mislabelled.

    With :math:`\hat p` the predicted probabilities and :math:`\tilde y` the
    given label:

    - ``"self_confidence"``: :math:`\hat p_{\tilde y}(x)`;
    - ``"normalized_margin"``: :math:`(\hat p_{\tilde y}(x) - \max_{k \ne
      \tilde y} \hat p_k(x) + 1) / 2`;
    - ``"confidence_weighted_entropy"``: with :math:`s = H(\hat p(x)) / (\log K
      \cdot \hat p_{\tilde y}(x))` (normalised entropy over self-confidence),
      :math:`\log(1 + s) / s` (denominators floored at 1e-6).

    These are cleanlab's ``cleanlab.rank.get_label_quality_scores``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Given (possibly noisy) labels.
    pred_proba : array-like of shape (n_samples, n_classes)
        Out-of-sample predicted probabilities.
    labels : array-like of shape (n_classes,), default=None
        The class of each column (see :func:`find_label_issues`).
    method : str, default="self_confidence"
        Which score: ``"self_confidence"``, ``"normalized_margin"`` or
        ``"confidence_weighted_entropy"``.
    adjust_pred_probs : bool, default=False
        Subtract the per-class thresholds of confident learning from the
        probabilities (then shift and renormalise) before scoring, which
        accounts for class imbalance. Not available with
        ``"confidence_weighted_entropy"``.

    Returns
    -------
    scores : array of shape (n_samples,)
        In the namespace, device and floating dtype of ``pred_proba``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.uncertainty._label_issues import label_quality_scores
    >>> pred_proba = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]])
    >>> label_quality_scores([0, 1], pred_proba)
    array([0.7, 0.2])
    >>> label_quality_scores([0, 1], pred_proba, method="normalized_margin")
    array([0.75, 0.25])
    """
    _check_option(method, "method", QUALITY_METHODS)
    if adjust_pred_probs and method == "confidence_weighted_entropy":
        raise ValueError(
            "adjust_pred_probs=True is not available with "
            "method='confidence_weighted_entropy'; use 'self_confidence' or "
            "'normalized_margin'."
        )
    y_idx, proba, _, xp, dev = _check_labels(y, pred_proba, labels)
    if adjust_pred_probs:
        proba = _adjusted_proba(proba, _thresholds(y_idx, proba, xp, dev), xp)
    return _quality_scores(y_idx, proba, method, xp, dev)


# --------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------


class LabelIssueDetector(
    _CrossFittedClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    """Find mislabelled training samples with a model's cross-fitted probabilities.

    ``fit(X, y)`` computes out-of-sample probabilities of every training
    sample with :func:`~sklearn.model_selection.cross_val_predict`
    (``method="predict_proba"``): each sample is scored by a clone of
    ``estimator`` fitted on the other folds. Confident learning
    (:func:`find_label_issues`) then flags the samples whose label is likely
    wrong. With a :class:`~sklearn.frozen.FrozenEstimator` the model's
    probabilities are used as they are: they are out-of-sample only if it
    was fitted on other data (a model scored on its own training data has
    memorised part of the noise and finds fewer errors).

    Parameters
    ----------
    estimator : classifier with ``predict_proba`` or None, default=None
        None means :class:`~sklearn.linear_model.LogisticRegression`.
    cv : int, cross-validation generator or iterable, default=5
        Folds for the cross-fitted probabilities, as in
        :func:`~sklearn.model_selection.cross_val_predict` (an integer means
        stratified folds without shuffling). Ignored with a frozen estimator.
    filter_by : str, default="prune_by_noise_rate"
        Rule that picks the flagged samples (see :func:`find_label_issues`).
    frac_noise : float in (0, 1], default=1.0
        Fraction of the estimated errors to flag (``prune_by_*`` and
        ``"both"``).
    min_examples_per_class : int, default=1
        Samples of each label never flagged (``prune_by_*`` and ``"both"``).
    rank_by : {"self_confidence", "normalized_margin", \
"confidence_weighted_entropy"}, default="self_confidence"
        The label quality score stored in ``label_quality_scores_`` and used to
        order ``issue_ranking_``.
    n_jobs : int or None, default=None
        Parallel fits of the folds.

    Attributes
    ----------
    pred_proba_ : array of shape (n_samples, n_classes)
        Out-of-sample (cross-fitted) probabilities of the training samples.
    label_issues_ : array of shape (n_samples,), dtype bool
        True for the samples flagged as mislabelled.
    label_quality_scores_ : array of shape (n_samples,)
        Label quality score of every training sample (lower = more likely
        wrong).
    issue_ranking_ : array of shape (n_issues,), dtype int64
        Indices of the flagged samples, most likely errors first.
    confident_joint_ : ndarray of shape (n_classes, n_classes), dtype int64
        Calibrated confident joint: rows given labels, columns estimated
        true labels.
    confident_thresholds_ : array of shape (n_classes,)
        Per-class thresholds ``t_j``.
    classes_ : ndarray of shape (n_classes,)
        The labels, in the order of the columns of ``pred_proba_``.
    n_features_in_ : int
        Number of features of ``X`` (when it is a 2-D array).

    See Also
    --------
    find_label_issues : The same on given probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from skcalib.uncertainty._label_issues import LabelIssueDetector
    >>> X, y = make_classification(500, n_features=5, n_informative=3,
    ...                            class_sep=2.0, random_state=0)
    >>> rng = np.random.default_rng(0)
    >>> flipped = rng.choice(500, size=25, replace=False)
    >>> y_noisy = y.copy()
    >>> y_noisy[flipped] = 1 - y_noisy[flipped]
    >>> detector = LabelIssueDetector().fit(X, y_noisy)
    >>> found = np.flatnonzero(detector.label_issues_)
    >>> precision = np.isin(found, flipped).mean()  # chance level: 25 / 500
    >>> recall = np.isin(flipped, found).mean()
    >>> print(f"{found.size} flagged, precision {precision:.2f}, recall {recall:.2f}")
    33 flagged, precision 0.67, recall 0.88
    >>> detector.confident_joint_  # rows: given label, columns: true label
    array([[235,  11],
           [ 22, 232]])
    """

    _parameter_constraints: dict = {
        "estimator": [None, HasMethods(["fit", "predict_proba"])],
        "cv": ["cv_object"],
        "filter_by": [StrOptions(set(FILTERS))],
        "frac_noise": [Interval(RealNotInt, 0, 1, closed="right")],
        "min_examples_per_class": [Interval(Integral, 0, None, closed="left")],
        "rank_by": [StrOptions(set(QUALITY_METHODS))],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        cv=5,
        filter_by="prune_by_noise_rate",
        frac_noise=1.0,
        min_examples_per_class=1,
        rank_by="self_confidence",
        n_jobs=None,
    ):
        self.estimator = estimator
        self.cv = cv
        self.filter_by = filter_by
        self.frac_noise = frac_noise
        self.min_examples_per_class = min_examples_per_class
        self.rank_by = rank_by
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Cross-fit the probabilities and flag the likely label errors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs of the estimator.
        y : array-like of shape (n_samples,)
            Given (possibly noisy) labels.
        **fit_params : dict
            Passed to the estimator's ``fit`` on every fold.

        Returns
        -------
        self : object
            The fitted detector.
        """
        y_np = self._host_labels(y)
        estimator = self._get_estimator()
        if isinstance(estimator, FrozenEstimator):
            proba = estimator.predict_proba(X)
            self.classes_ = np.asarray(estimator.classes_)
        else:
            proba = cross_val_predict(
                clone(estimator),
                X,
                y,
                cv=self.cv,
                method="predict_proba",
                n_jobs=self.n_jobs,
                params=fit_params or None,
            )
            self.classes_ = np.unique(y_np)
        if hasattr(X, "shape") and len(X.shape) == 2:
            self.n_features_in_ = int(X.shape[1])
        _check_feature_names(self, X, reset=True)
        y_idx, proba, _, xp, dev = _check_labels(y_np, proba, self.classes_)
        result = _confident_learning(
            y_idx,
            proba,
            xp=xp,
            device=dev,
            filter_by=self.filter_by,
            frac_noise=self.frac_noise,
            min_examples_per_class=self.min_examples_per_class,
        )
        self.pred_proba_ = proba
        self.confident_thresholds_ = result["thresholds"]
        self.confident_joint_ = result["confident_joint"]
        self.label_issues_ = result["issues"]
        self.label_quality_scores_ = _quality_scores(
            y_idx, proba, self.rank_by, xp, dev
        )
        self.issue_ranking_ = _ranked_indices(
            self.label_issues_, self.label_quality_scores_, xp, dev
        )
        return self
