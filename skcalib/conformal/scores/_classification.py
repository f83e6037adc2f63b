"""Conformity scores for classification: LAC, APS, RAPS and top-k.

Every score maps predicted probabilities ``y_prob`` of shape (n_samples,
n_classes) and labels to a number that is *large when the label looks
unlikely*. A prediction set at threshold ``t`` holds the labels whose
*label score* is at most ``t``; for the conformity scores of the calibration
data the same arithmetic is used, so a test label whose score equals a
calibration score is treated exactly like it.

Ties. The adaptive scores order the classes by decreasing probability, and
classes of *equal* probability share the rank of the first of them: a label
is in a set exactly when every label of the same probability is (as in MAPIE,
whose sets keep every label whose probability is at least that of the last
included label). The sets therefore do not depend on the order of the
columns.

All kernels run on the namespace and device of ``y_prob`` (sort, cumulative
sum, ``take_along_axis``); the uniform draws ``u`` of the randomised scores
are made by the caller (with NumPy, from its ``random_state``) and passed in.
"""

from numbers import Integral, Real

import numpy as np

from ...utils._array_api import (
    conformal_quantile,
    get_namespace_and_device,
    is_numpy_namespace,
    move_to,
    partition_rows,
)
from ...utils._parallel import by_row_blocks
from ...utils._sklearn_compat import Interval, StrOptions
from ...utils._validation import check_confidence_level
from ._base import BaseConformityScore

__all__ = [
    "APSScore",
    "BaseClassificationScore",
    "LACScore",
    "RAPSScore",
    "TopKScore",
]

# Penalties tried by RAPS when ``lambda_reg="auto"`` (Angelopoulos et al. 2021).
_RAPS_LAMBDA_GRID = (0.001, 0.01, 0.1, 0.2, 0.5)
# The conformity score of a calibration sample whose true label is among the
# _HEAD_WIDTH most probable labels only needs those labels sorted.
_HEAD_WIDTH = 128
# NumPy inputs go by row blocks of about this many entries (cache-sized), in
# threads; the kernels are row-wise, so the results do not change.
_BLOCK_ENTRIES = 1 << 18


# --------------------------------------------------------------------------- #
# validation and shared kernels
# --------------------------------------------------------------------------- #
def _check_proba(y_prob):
    xp, dev = get_namespace_and_device(y_prob)
    if not hasattr(y_prob, "ndim"):
        y_prob = xp.asarray(np.asarray(y_prob, dtype=float), device=dev)
    if y_prob.ndim != 2:
        raise ValueError(
            "y_prob must have shape (n_samples, n_classes), got shape "
            f"{tuple(y_prob.shape)}."
        )
    if not xp.isdtype(y_prob.dtype, "real floating"):
        y_prob = xp.astype(y_prob, xp.float64)
    return xp, dev, y_prob


def _check_labels(y, n_samples, n_classes, *, xp, device):
    """Integer column indices ``y`` on the device of ``y_prob``."""
    y = move_to(y if hasattr(y, "shape") else np.asarray(y), xp=xp, device=device)
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(
            f"y must have shape ({n_samples},) (one label per row of y_prob), got "
            f"shape {tuple(y.shape)}."
        )
    if not xp.isdtype(y.dtype, "integral"):
        raise ValueError(
            "y must hold integer column indices into y_prob (encode the labels "
            f"first), got dtype {y.dtype}."
        )
    if n_samples and (int(xp.min(y)) < 0 or int(xp.max(y)) >= n_classes):
        raise ValueError(
            f"y must hold column indices in [0, {n_classes}), got values in "
            f"[{int(xp.min(y))}, {int(xp.max(y))}]."
        )
    return xp.astype(y, xp.int64)


def _check_u(u, n_samples, dtype, *, xp, device, name):
    if u is None:
        raise ValueError(
            f"{name} is randomised: pass u, one uniform draw in [0, 1) per sample."
        )
    u = move_to(u if hasattr(u, "shape") else np.asarray(u), xp=xp, device=device)
    if u.ndim != 1 or u.shape[0] != n_samples:
        raise ValueError(
            f"u must have shape ({n_samples},), got shape {tuple(u.shape)}."
        )
    return xp.astype(u, dtype)


def _as_thresholds(thresholds, *, xp, device, dtype):
    """Thresholds as an array of ndim 1, 2 or 3 on the device of ``y_prob``."""
    t = move_to(
        thresholds if hasattr(thresholds, "shape") else np.asarray(thresholds),
        xp=xp,
        device=device,
    )
    if t.ndim not in (1, 2, 3):
        raise ValueError(
            "thresholds must have shape (n_levels,), (n_samples, n_levels) or "
            f"(n_samples, n_classes, n_levels), got shape {tuple(t.shape)}."
        )
    return xp.astype(t, dtype)


def _threshold_cube(thresholds):
    """View ``thresholds`` as (n_samples or 1, n_classes or 1, n_levels)."""
    if thresholds.ndim == 1:
        return thresholds[None, None, :]
    if thresholds.ndim == 2:
        return thresholds[:, None, :]
    return thresholds


def _sort_desc(y_prob, xp):
    # Values only, so stability is irrelevant; an ascending sort and a flip
    # (a view in NumPy) is about twice as fast as NumPy's descending sort.
    return xp.flip(xp.sort(y_prob, axis=1, stable=False), axis=1)


def _true_label_position(y_prob, y, xp):
    """0-based rank of each true label: the number of strictly larger probabilities."""
    p_y = xp.take_along_axis(y_prob, y[:, None], axis=1)
    return xp.astype(xp.count_nonzero(y_prob > p_y, axis=1), xp.int64), p_y[:, 0]


def _gather_kept(y_prob, keep, width, xp, device):
    """The entries of each row where ``keep`` is True, packed into ``width`` columns.

    Returns ``(head, count)``: ``head[i, :count[i]]`` holds the kept entries
    of row ``i`` in column order and zeros follow; rows with more than
    ``width`` kept entries are cut (their ``count`` says so). The kept entries
    are found through the positions of the ``True`` entries of the flattened
    mask, so only they are read: no row is sorted here.
    """
    n = y_prob.shape[0]
    count = xp.count_nonzero(keep, axis=1)
    # Kept entries in row-major order: those of row i start at first[i].
    flat = xp.nonzero(xp.reshape(keep, (-1,)))[0]
    values = xp.take(xp.reshape(y_prob, (-1,)), flat)
    first = xp.cumulative_sum(count) - count
    slot = xp.arange(width, device=device)[None, :]
    source = xp.clip(first[:, None] + slot, 0, max(values.shape[0] - 1, 0))
    head = xp.reshape(xp.take(values, xp.reshape(source, (-1,))), (n, width))
    return xp.where(slot < count[:, None], head, xp.zeros_like(head)), count


def _cumulative_at_rank(y_prob, rank, p_y, xp, device):
    """Sum of the ``rank + 1`` largest probabilities of each row, largest first.

    Bitwise equal to ``cumulative_sum(sort_desc(y_prob))[i, rank[i]]`` (the
    same values are added in the same order), without sorting whole rows: the
    labels at least as probable as the true one (few, usually) are gathered
    into ``_HEAD_WIDTH`` columns and only those are sorted. Rows with more
    such labels are sorted in full.
    """
    n, k = y_prob.shape
    if k <= 2 * _HEAD_WIDTH:
        cumulative = xp.cumulative_sum(_sort_desc(y_prob, xp), axis=1)
        return xp.take_along_axis(cumulative, rank[:, None], axis=1)[:, 0]
    head, count = _gather_kept(y_prob, y_prob >= p_y[:, None], _HEAD_WIDTH, xp, device)
    cumulative = xp.cumulative_sum(_sort_desc(head, xp), axis=1)
    index = xp.clip(rank, 0, _HEAD_WIDTH - 1)[:, None]
    out = xp.take_along_axis(cumulative, index, axis=1)[:, 0]
    wide = count > _HEAD_WIDTH
    if bool(xp.any(wide)):
        rows = xp.nonzero(wide)[0]
        full = xp.cumulative_sum(_sort_desc(xp.take(y_prob, rows, axis=0), xp), axis=1)
        full = xp.take_along_axis(full, xp.take(rank, rows)[:, None], axis=1)[:, 0]
        out = _merge_rows(wide, full, out, xp)
    return out


def _largest_sorted(y_prob, width, xp):
    """The ``width`` largest entries of each row, in decreasing order.

    A partition (selection) of each row and a sort of the selected entries
    only.
    """
    position = y_prob.shape[1] - width
    return _sort_desc(partition_rows(y_prob, position, xp=xp)[:, position:], xp)


def _merge_rows(mask, subset, out, xp):
    """``out`` with its rows where ``mask`` is True replaced by those of ``subset``.

    ``subset`` holds, in order, one row per True entry of ``mask`` (results
    computed on the ``xp.nonzero(mask)`` rows only): a gather, no scatter.
    """
    position = xp.clip(xp.cumulative_sum(xp.astype(mask, xp.int64)) - 1, 0, None)
    picked = xp.take(subset, position, axis=0)
    return xp.where(mask if picked.ndim == 1 else mask[:, None], picked, out)


def _label_positions(y_prob, sorted_prob, xp, device):
    """0-based rank of every label (ties share the rank of the first of them).

    A descending argsort and its inverse give each label's position in
    ``sorted_prob``; positions inside a run of equal probabilities are moved
    to the start of the run (so the order among ties does not matter).
    """
    n, k = y_prob.shape
    order = xp.argsort(y_prob, axis=1, descending=True, stable=False)
    position = xp.argsort(order, axis=1)
    new_run = sorted_prob[:, 1:] != sorted_prob[:, :-1]
    if bool(xp.all(new_run)):
        return position
    is_start = xp.concat(
        [xp.ones((n, 1), dtype=xp.bool, device=device), new_run], axis=1
    )
    flat = xp.reshape(is_start, (-1,))
    starts = xp.nonzero(flat)[0]
    run = xp.cumulative_sum(xp.astype(flat, xp.int64)) - 1
    offsets = xp.arange(n, dtype=xp.int64, device=device)[:, None] * k
    run_start = xp.reshape(xp.take(starts, run), (n, k)) - offsets
    return xp.take_along_axis(run_start, position, axis=1)


def _cut_values(sorted_prob, counts, xp, device):
    """Probability of the last label in each set, ``+inf`` for empty sets.

    ``sorted_prob`` holds (a prefix of) each row in decreasing order and
    ``counts`` the set sizes, shape (n_samples or 1, n_levels), at most its
    width. Returns shape (n_samples, n_levels).
    """
    n = sorted_prob.shape[0]
    counts = xp.broadcast_to(counts, (n, counts.shape[1]))
    index = xp.clip(counts - 1, 0, sorted_prob.shape[1] - 1)
    last = xp.take_along_axis(sorted_prob, index, axis=1)
    inf = xp.asarray(xp.inf, dtype=sorted_prob.dtype, device=device)
    return xp.where(counts > 0, last, inf)


def _sets_from_counts(y_prob, sorted_prob, counts, xp, device):
    """Sets holding the ``counts[:, l]`` most probable labels (and their ties).

    ``counts`` has shape (n_samples or 1, n_levels); a count of 0 is an empty
    set. Returns a boolean array of shape (n_samples, n_classes, n_levels).
    """
    return _sets_from_cuts(y_prob, _cut_values(sorted_prob, counts, xp, device), xp)


def _sets_from_cuts(y_prob, cuts, xp):
    """``y_prob[i, j] >= cuts[i, l]``, shape (n_samples, n_classes, n_levels)."""
    if cuts.shape[1] == 1:
        return (y_prob >= cuts)[:, :, None]
    levels = range(cuts.shape[1])
    return xp.stack([y_prob >= cuts[:, i : i + 1] for i in levels], axis=-1)


# --------------------------------------------------------------------------- #
# base class
# --------------------------------------------------------------------------- #
class BaseClassificationScore(BaseConformityScore):
    """Base class of the conformity scores for classification.

    Subclasses implement three array-API kernels, on probabilities of shape
    (n_samples, n_classes) and integer column indices ``y``:

    - :meth:`conformity_scores` ``(y_prob, y, u=None)``: the score of each
      sample's true label, shape (n_samples,);
    - :meth:`label_scores` ``(y_prob, u=None)``: the score of every candidate
      label, shape (n_samples, n_classes), such that label ``j`` is in the
      prediction set at threshold ``t`` exactly when
      ``label_scores[:, j] <= t``;
    - optionally :meth:`prediction_sets`, a faster equivalent of comparing
      :meth:`label_scores` with the thresholds.

    A split conformal predictor takes ``t`` as the finite-sample quantile of
    the calibration scores, so that the set covers the true label with
    probability at least the confidence level.

    Randomised scores use one uniform draw ``u`` in [0, 1) per sample; the
    predictors draw them with NumPy from their ``random_state`` and move them
    to the device, so every array library gives the same sets. Subclasses say
    whether they need them by overriding ``_needs_u_at_fit`` and
    ``_needs_u_at_predict``; scores with data-driven parameters override
    ``_tuning_size`` (fraction of the calibration data to hold out) and
    :meth:`tune`.

    Examples
    --------
    A new score needs only the two kernels, written with the array namespace
    ``xp``; here the negative log-probability of the label:

    >>> import numpy as np
    >>> from skcalib.conformal.scores import BaseClassificationScore
    >>> class NegLogScore(BaseClassificationScore):
    ...     def _conformity_scores(self, y_prob, y, u, *, xp, device):
    ...         p_y = xp.take_along_axis(y_prob, y[:, None], axis=1)[:, 0]
    ...         return -xp.log(p_y)
    ...     def _label_scores(self, y_prob, u, *, xp, device):
    ...         return -xp.log(y_prob)
    >>> proba = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])
    >>> NegLogScore().conformity_scores(proba, np.array([0, 1])).round(3)
    array([0.357, 1.05 ])
    >>> NegLogScore().prediction_sets(proba, np.array([1.1]))[:, :, 0]
    array([[ True, False, False],
           [ True,  True, False]])
    """

    def _needs_u_at_fit(self):
        return False

    def _needs_u_at_predict(self):
        return False

    def _tuning_size(self):
        """Fraction of the calibration data used by :meth:`tune` (0: none)."""
        return 0.0

    def tune(self, y_prob, y, confidence_level, *, u=None):
        """Return a score whose data-driven parameters are set from held-out data.

        The default returns ``self``: the score has no such parameters.

        Parameters
        ----------
        y_prob : array of shape (n_samples, n_classes)
            Probabilities of held-out (tuning) samples, disjoint from the
            calibration samples.
        y : array of shape (n_samples,)
            Their true labels as column indices.
        confidence_level : float or sequence of float
            The target level(s).
        u : array of shape (n_samples,), default=None
            Uniform draws of the tuning samples, for randomised scores.

        Returns
        -------
        score : BaseClassificationScore
        """
        return self

    def conformity_scores(self, y_prob, y, *, u=None):
        """Conformity score of each sample's true label.

        Parameters
        ----------
        y_prob : array of shape (n_samples, n_classes)
            Predicted probabilities.
        y : array of int of shape (n_samples,)
            True labels as column indices of ``y_prob``.
        u : array of shape (n_samples,), default=None
            Uniform draws in [0, 1), required by randomised scores.

        Returns
        -------
        scores : array of shape (n_samples,)
            In the namespace, device and floating dtype of ``y_prob``.
        """
        xp, dev, y_prob = _check_proba(y_prob)
        y = _check_labels(y, y_prob.shape[0], y_prob.shape[1], xp=xp, device=dev)
        if self._needs_u_at_fit():
            u = _check_u(
                u, y_prob.shape[0], y_prob.dtype, xp=xp, device=dev, name=repr(self)
            )
        return self._in_row_blocks(
            self._conformity_scores, y_prob, (y, u), (True, True), xp=xp, device=dev
        )

    def label_scores(self, y_prob, *, u=None):
        """Score of every candidate label, the statistic that prediction sets threshold.

        Parameters
        ----------
        y_prob : array of shape (n_samples, n_classes)
        u : array of shape (n_samples,), default=None
            Uniform draws, required when the sets are randomised.

        Returns
        -------
        scores : array of shape (n_samples, n_classes)
            Label ``j`` is in the set at threshold ``t`` when
            ``scores[:, j] <= t``.
        """
        xp, dev, y_prob = _check_proba(y_prob)
        if self._needs_u_at_predict():
            u = _check_u(
                u, y_prob.shape[0], y_prob.dtype, xp=xp, device=dev, name=repr(self)
            )
        return self._in_row_blocks(
            self._label_scores, y_prob, (u,), (True,), xp=xp, device=dev
        )

    def prediction_sets(self, y_prob, thresholds, *, u=None):
        """Prediction sets at one or several thresholds, vectorised on the device.

        Parameters
        ----------
        y_prob : array of shape (n_samples, n_classes)
        thresholds : array of shape (n_levels,), (n_samples, n_levels) or \
(n_samples or 1, n_classes, n_levels)
            One threshold per level, optionally per sample (Mondrian groups)
            and per candidate label (class-conditional coverage). ``+inf``
            gives the full set.
        u : array of shape (n_samples,), default=None
            Uniform draws, required when the sets are randomised.

        Returns
        -------
        sets : array of bool of shape (n_samples, n_classes, n_levels)
        """
        xp, dev, y_prob = _check_proba(y_prob)
        thresholds = _as_thresholds(thresholds, xp=xp, device=dev, dtype=y_prob.dtype)
        if self._needs_u_at_predict():
            u = _check_u(
                u, y_prob.shape[0], y_prob.dtype, xp=xp, device=dev, name=repr(self)
            )
        n = y_prob.shape[0]
        per_row = thresholds.ndim > 1 and thresholds.shape[0] == n
        return self._in_row_blocks(
            self._prediction_sets,
            y_prob,
            (thresholds, u),
            (per_row, True),
            xp=xp,
            device=dev,
        )

    def _in_row_blocks(self, kernel, y_prob, args, row_wise, *, xp, device):
        """``kernel(y_prob, *args, xp=xp, device=device)``, by row blocks with NumPy.

        Every kernel is row-wise, so the result is the same; large NumPy
        inputs go by blocks of about ``_BLOCK_ENTRIES`` entries, in threads
        (see :func:`~skcalib.utils._parallel.by_row_blocks`).
        """
        n, k = y_prob.shape
        if not is_numpy_namespace(xp) or n * k <= 2 * _BLOCK_ENTRIES:
            return kernel(y_prob, *args, xp=xp, device=device)
        return by_row_blocks(
            lambda *a: kernel(*a, xp=xp, device=device),
            (y_prob, *args),
            (True, *row_wise),
            n_rows=n,
            block_rows=max(1, _BLOCK_ENTRIES // k),
            xp=xp,
        )

    # kernels ------------------------------------------------------------- #
    def _conformity_scores(self, y_prob, y, u, *, xp, device):
        raise NotImplementedError

    def _label_scores(self, y_prob, u, *, xp, device):
        raise NotImplementedError

    def _prediction_sets(self, y_prob, thresholds, u, *, xp, device):
        scores = self._label_scores(y_prob, u, xp=xp, device=device)[:, :, None]
        return scores <= _threshold_cube(thresholds)


# --------------------------------------------------------------------------- #
# LAC
# --------------------------------------------------------------------------- #
class LACScore(BaseClassificationScore):
    """Least ambiguous set-valued classifier score: ``1 - p_y`` (LAC / THR).

    The prediction set at threshold ``t`` is ``{y : 1 - p_y(x) <= t}``: every
    label whose probability is at least ``1 - t``. It gives the smallest
    sets on average among the scores here (Sadinle et al. 2019), at the price
    of uneven coverage: hard samples are under-covered and easy ones
    over-covered. Sets may be empty.

    References
    ----------
    Sadinle, M., Lei, J. and Wasserman, L. (2019). Least ambiguous set-valued
    classifiers with bounded error levels. Journal of the American
    Statistical Association, 114(525), 223-234.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.conformal.scores import LACScore
    >>> proba = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])
    >>> LACScore().conformity_scores(proba, np.array([0, 1]))
    array([0.3 , 0.65])
    >>> LACScore().prediction_sets(proba, np.array([0.75]))[:, :, 0]
    array([[ True, False, False],
           [ True,  True,  True]])
    """

    def _conformity_scores(self, y_prob, y, u, *, xp, device):
        return xp.take_along_axis(1 - y_prob, y[:, None], axis=1)[:, 0]

    def _label_scores(self, y_prob, u, *, xp, device):
        return 1 - y_prob


# --------------------------------------------------------------------------- #
# APS and RAPS
# --------------------------------------------------------------------------- #
class APSScore(BaseClassificationScore):
    """Adaptive prediction sets: probability mass of the labels ranked above ``y``.

    With the probabilities sorted in decreasing order, ``c_r`` the cumulative
    sum of the ``r`` largest and ``r(y)`` the rank of label ``y`` (1 for the
    most probable), the conformity score of ``y`` is (Romano et al. 2020)

    - ``randomized=True``: ``c_{r(y)} - u * p_y`` with ``u ~ U[0, 1)``, which
      makes the scores continuous;
    - ``randomized=False``: ``c_{r(y)}``.

    Sets grow with the difficulty of the sample (adaptive coverage). Given a
    threshold ``t`` (the calibration quantile), ``include_last_label``
    decides what happens to the label whose cumulative mass crosses ``t``,
    exactly as in MAPIE:

    - ``True``: it is included: the set is the ``L`` most probable labels with
      ``L = min{j : c_j >= t}`` (all labels if none). Never empty; coverage
      at least the level, usually above it.
    - ``False``: it is excluded, but the most probable label is always kept:
      the labels with ``c_j <= t``, or just the top one. With
      ``randomized=False`` this is exactly ``{y : c_{r(y)} <= t}`` (plus the
      top label) and coverage is at least the level; with
      ``randomized=True`` it can fall below the level.
    - ``"randomized"``: the labels with ``c_j - u * p_(j) <= t`` for a fresh
      draw ``u`` per test sample: exactly the labels whose randomised score is
      below the threshold. With ``randomized=True`` the coverage is between
      the level and ``level + 1 / (n + 1)`` (``n`` calibration samples, no
      ties). Sets may be empty.

    Parameters
    ----------
    randomized : bool, default=True
        Whether the conformity scores of the calibration data include the
        random term ``-u * p_y``.
    include_last_label : bool or "randomized", default=True
        How the prediction sets treat the label that crosses the threshold.

    See Also
    --------
    RAPSScore : APS with a penalty on large ranks, for smaller sets.

    Notes
    -----
    Classes of equal probability share the rank of the first of them (see
    the module notes), so that they enter a set together; MAPIE orders them
    arbitrarily in its conformity scores but also keeps them together in its
    sets. MAPIE additionally skips labels of zero probability when they
    would be the last label of a set; here such labels are included when
    their score is below the threshold, which the coverage guarantee
    requires.

    References
    ----------
    Romano, Y., Sesia, M. and Candès, E. J. (2020). Classification with valid
    and adaptive coverage. NeurIPS 33.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.conformal.scores import APSScore
    >>> proba = np.array([[0.6, 0.3, 0.1]])
    >>> score = APSScore(randomized=False)
    >>> score.conformity_scores(proba, np.array([1]))  # 0.6 + 0.3
    array([0.9])
    >>> score.prediction_sets(proba, np.array([0.5, 0.8]))[0].T  # sets per level
    array([[ True, False, False],
           [ True,  True, False]])
    """

    _parameter_constraints: dict = {
        "randomized": ["boolean"],
        "include_last_label": ["boolean", StrOptions({"randomized"})],
    }

    def __init__(self, *, randomized=True, include_last_label=True):
        self.randomized = randomized
        self.include_last_label = include_last_label

    def _needs_u_at_fit(self):
        return bool(self.randomized)

    def _needs_u_at_predict(self):
        return self.include_last_label == "randomized"

    # penalty on ranks (none for APS) -------------------------------------- #
    def _penalty(self, n_classes, *, xp, device, dtype):
        """Penalty of each 0-based rank, shape (n_classes,), or None."""
        return None

    def _rank_penalty(self, rank, *, xp, dtype):
        """Penalty of 0-based ranks ``rank`` (any shape), or None."""
        return None

    # kernels ------------------------------------------------------------- #
    def _conformity_scores(self, y_prob, y, u, *, xp, device):
        rank, p_y = _true_label_position(y_prob, y, xp)
        cumulative = _cumulative_at_rank(y_prob, rank, p_y, xp, device)
        return self._scores_from_cumulative(cumulative, rank, p_y, u, xp=xp)

    def _scores_from_cumulative(self, scores, rank, p_y, u, *, xp):
        """Scores from the cumulative mass up to each true label (and its rank)."""
        if self.randomized:
            scores = scores - u * p_y
        penalty = self._rank_penalty(rank, xp=xp, dtype=scores.dtype)
        return scores if penalty is None else scores + penalty

    def _sorted_statistics(self, sorted_prob, cumulative, u, *, xp, device):
        """The statistic of each sorted position compared with the threshold.

        Non-decreasing along each row. ``"randomized"``: ``(c - u p) + pen``;
        ``True``/``False``: the penalised cumulative mass ``c + pen``, whose
        comparison with the threshold is shifted by one rank by
        :meth:`_counts` and :meth:`_label_scores`.
        """
        n, k = sorted_prob.shape
        penalty = self._penalty(k, xp=xp, device=device, dtype=sorted_prob.dtype)
        if self.include_last_label == "randomized":
            stat = u[:, None] * sorted_prob
            stat *= -1
            stat += cumulative
        else:
            stat = cumulative if penalty is None else xp.asarray(cumulative, copy=True)
        if penalty is not None:
            stat += penalty[None, :]
        return stat

    def _set_sizes(self, sorted_prob, u, thresholds, *, xp, device, cumulative=None):
        """Number of labels in each set, and whether each set ends in these ranks.

        ``sorted_prob`` holds the most probable labels of each row, in
        decreasing order (all of them, or the first ranks only);
        ``thresholds`` has shape (n_samples or 1, n_levels). Returns the sizes
        (n_samples, n_levels) and a boolean (n_samples,) that is True where
        no set can extend beyond the last rank given (the sizes are then
        those of the full rows). ``cumulative``, the cumulative sums of
        ``sorted_prob`` along the rows, may be given when already computed.
        """
        k = sorted_prob.shape[1]
        if cumulative is None:
            cumulative = xp.cumulative_sum(sorted_prob, axis=1)
        stat = self._sorted_statistics(sorted_prob, cumulative, u, xp=xp, device=device)
        # Zero probabilities sit at the end of the sorted rows.
        has_zeros = bool(xp.any(sorted_prob[:, -1] == 0))
        counts = []
        for level in range(thresholds.shape[1]):
            t = thresholds[:, level : level + 1]
            if self.include_last_label is True:
                # rank j + 1 enters when the mass up to rank j is below t (or
                # equal to it, for labels of zero probability: see _label_scores)
                before = stat[:, :-1]
                count = xp.count_nonzero(before < t, axis=1)
                if has_zeros:
                    at_t = (before == t) & (sorted_prob[:, 1:] == 0)
                    count = count + xp.count_nonzero(at_t, axis=1)
                count = xp.clip(count + 1, 0, k)
            elif self.include_last_label is False:
                count = xp.clip(xp.count_nonzero(stat <= t, axis=1), 1, k)
            else:
                count = xp.count_nonzero(stat <= t, axis=1)
            counts.append(xp.astype(count, xp.int64))
        # The statistic is non-decreasing along the row: once the last rank
        # given is beyond the threshold, no later rank enters (for True, the
        # next rank enters when this statistic is below the threshold).
        closed = stat[:, -1] > xp.max(thresholds, axis=1)
        return xp.stack(counts, axis=1), closed

    def _prediction_sets(self, y_prob, thresholds, u, *, xp, device):
        if thresholds.ndim == 3:  # per-label thresholds: compare label scores
            return super()._prediction_sets(y_prob, thresholds, u, xp=xp, device=device)
        t = thresholds[None, :] if thresholds.ndim == 1 else thresholds
        n, k = y_prob.shape
        if k <= 2 * _HEAD_WIDTH:
            sorted_prob = _sort_desc(y_prob, xp)
            counts, _ = self._set_sizes(sorted_prob, u, t, xp=xp, device=device)
            return _sets_from_counts(y_prob, sorted_prob, counts, xp, device)
        # A set is a prefix of its row sorted in decreasing order, most often
        # a short one: select the _HEAD_WIDTH largest probabilities of each
        # row (a partition, not a sort) and sort those only; their cumulative
        # sums are those of the full sorted row, so the sets are exact. Rows
        # whose set may go further are sorted in full.
        head = _largest_sorted(y_prob, _HEAD_WIDTH, xp)
        counts, closed = self._set_sizes(head, u, t, xp=xp, device=device)
        cuts = _cut_values(head, counts, xp, device)
        if not bool(xp.all(closed)):
            open_ = xp.logical_not(closed)
            rows = xp.nonzero(open_)[0]
            sorted_rows = _sort_desc(xp.take(y_prob, rows, axis=0), xp)
            full, _ = self._set_sizes(
                sorted_rows,
                None if u is None else xp.take(u, rows),
                t if t.shape[0] == 1 else xp.take(t, rows, axis=0),
                xp=xp,
                device=device,
            )
            cuts = _merge_rows(
                open_, _cut_values(sorted_rows, full, xp, device), cuts, xp
            )
        return _sets_from_cuts(y_prob, cuts, xp)

    def _label_scores(self, y_prob, u, *, xp, device):
        sorted_prob = _sort_desc(y_prob, xp)
        cumulative = xp.cumulative_sum(sorted_prob, axis=1)
        stat = self._sorted_statistics(sorted_prob, cumulative, u, xp=xp, device=device)
        rank = _label_positions(y_prob, sorted_prob, xp, device)
        if self.include_last_label == "randomized":
            return xp.take_along_axis(stat, rank, axis=1)
        minus_inf = xp.asarray(-xp.inf, dtype=stat.dtype, device=device)
        if self.include_last_label is False:
            # the mass up to the label must be at most t
            scores = xp.take_along_axis(stat, rank, axis=1)
            return xp.where(rank == 0, minus_inf, scores)
        # True: the mass above the label must be below t, i.e. its next float
        # at most t. A label of zero probability also enters when the mass
        # above it equals t: its randomised score is that mass whatever u, so
        # the coverage guarantee needs it (MAPIE leaves it out).
        above = xp.take_along_axis(stat, xp.clip(rank - 1, 0, None), axis=1)
        plus_inf = xp.asarray(xp.inf, dtype=stat.dtype, device=device)
        scores = xp.where(y_prob > 0, xp.nextafter(above, plus_inf), above)
        return xp.where(rank == 0, minus_inf, scores)


class RAPSScore(APSScore):
    """Regularised adaptive prediction sets: APS plus a penalty on large ranks.

    The conformity score of label ``y`` of rank ``r(y)`` is the APS score
    plus ``lambda_reg * max(0, r(y) - k_reg)`` (Angelopoulos et al. 2021), and
    prediction sets add the same penalty to the cumulative masses: labels
    ranked beyond ``k_reg`` cost ``lambda_reg`` each, which removes the long
    tail of unlikely labels that makes APS sets large.

    With ``"auto"``, the parameters are chosen on a held-out part
    (``tuning_size``) of the calibration data, as in Angelopoulos et al.
    (2021): ``k_reg`` is the conformal quantile of the true-label ranks at
    the confidence level, and ``lambda_reg`` the value of
    ``(0.001, 0.01, 0.1, 0.2, 0.5)`` whose split-conformal sets are the
    smallest on average on that part (calibrated and evaluated on it). The
    held-out part is not used for calibration, so the coverage guarantee is
    kept. With several confidence levels the highest one is used for
    ``k_reg`` and the mean set size is averaged over the levels. The chosen
    values are stored by the predictor in its ``conformity_score_``.

    Parameters
    ----------
    lambda_reg : float >= 0 or "auto", default="auto"
        Penalty per rank beyond ``k_reg``.
    k_reg : int >= 0 or "auto", default="auto"
        Number of labels free of penalty.
    randomized : bool, default=True
        Whether the calibration scores include the random term, as in
        :class:`APSScore`.
    include_last_label : bool or "randomized", default=True
        How prediction sets treat the label crossing the threshold, as in
        :class:`APSScore`.
    tuning_size : float in (0, 1), default=0.2
        Fraction of the calibration data held out to choose ``"auto"``
        parameters (unused when both are given).

    See Also
    --------
    APSScore : the score without penalty (``lambda_reg=0``).

    Notes
    -----
    With ``include_last_label="randomized"`` a label enters the set when its
    randomised RAPS score is below the threshold, as in the authors'
    implementation. MAPIE uses a different divisor in the randomisation for
    sets larger than ``k_reg + 1``, so its randomised RAPS sets differ there.
    MAPIE's automatic choice of ``lambda_reg`` also evaluates the candidate
    penalties with the rank offset ``lambda_reg`` in place of ``k_reg``, and
    MAPIE 1.x holds out 10% of the calibration data for it (its
    ``size_raps`` is reset in ``fit``); the choice here follows the paper.
    With given parameters the sets with ``include_last_label`` True or False
    are MAPIE's.

    References
    ----------
    Angelopoulos, A. N., Bates, S., Malik, J. and Jordan, M. I. (2021).
    Uncertainty sets for image classifiers using conformal prediction. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.conformal.scores import RAPSScore
    >>> proba = np.array([[0.5, 0.3, 0.2]])
    >>> score = RAPSScore(lambda_reg=0.1, k_reg=1, randomized=False)
    >>> score.conformity_scores(proba, np.array([2]))  # 1.0 + 0.1 * (3 - 1)
    array([1.2])
    """

    _parameter_constraints: dict = {
        **APSScore._parameter_constraints,
        "lambda_reg": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "k_reg": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "tuning_size": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        *,
        lambda_reg="auto",
        k_reg="auto",
        randomized=True,
        include_last_label=True,
        tuning_size=0.2,
    ):
        super().__init__(randomized=randomized, include_last_label=include_last_label)
        self.lambda_reg = lambda_reg
        self.k_reg = k_reg
        self.tuning_size = tuning_size

    def _needs_tuning(self):
        return self.lambda_reg == "auto" or self.k_reg == "auto"

    def _tuning_size(self):
        return float(self.tuning_size) if self._needs_tuning() else 0.0

    def _check_tuned(self):
        if self._needs_tuning():
            raise ValueError(
                "RAPSScore has lambda_reg or k_reg set to 'auto': choose them first "
                "with tune(...) (conformal predictors do this in fit), or pass "
                "numbers."
            )

    def _penalty(self, n_classes, *, xp, device, dtype):
        self._check_tuned()
        rank = xp.arange(1, n_classes + 1, dtype=dtype, device=device)
        return float(self.lambda_reg) * xp.clip(rank - float(self.k_reg), 0, None)

    def _rank_penalty(self, rank, *, xp, dtype):
        self._check_tuned()
        excess = xp.astype(rank + 1, dtype) - float(self.k_reg)
        return xp.clip(float(self.lambda_reg) * excess, 0, None)

    def tune(self, y_prob, y, confidence_level, *, u=None):
        """Choose ``"auto"`` parameters on held-out data (Angelopoulos et al. 2021).

        Parameters
        ----------
        y_prob : array of shape (n_samples, n_classes)
            Probabilities of the tuning samples.
        y : array of int of shape (n_samples,)
            Their true labels as column indices.
        confidence_level : float or sequence of float
            Target level(s); ``k_reg`` uses the highest.
        u : array of shape (n_samples,), default=None
            Uniform draws of the tuning samples (randomised scores).

        Returns
        -------
        score : RAPSScore
            A new score with numeric ``lambda_reg`` and ``k_reg``.
        """
        if not self._needs_tuning():
            return self
        xp, dev, y_prob = _check_proba(y_prob)
        n, k = y_prob.shape
        y = _check_labels(y, n, k, xp=xp, device=dev)
        needs_u = self._needs_u_at_fit() or self._needs_u_at_predict()
        if needs_u:
            u = _check_u(u, n, y_prob.dtype, xp=xp, device=dev, name=repr(self))
        levels = check_confidence_level(confidence_level)
        rank, p_y = _true_label_position(y_prob, y, xp)
        k_reg = self.k_reg
        if k_reg == "auto":
            q = float(
                conformal_quantile(
                    xp.astype(rank + 1, y_prob.dtype), float(levels.max()), xp=xp
                )
            )
            k_reg = k if not np.isfinite(q) else int(q)
        if self.lambda_reg != "auto":
            return self._with(self.lambda_reg, k_reg)
        sorted_prob = _sort_desc(y_prob, xp)
        cumulative = xp.cumulative_sum(sorted_prob, axis=1)
        best, best_size = None, np.inf
        for lambda_reg in _RAPS_LAMBDA_GRID:
            score = self._with(lambda_reg, k_reg)
            at_rank = xp.take_along_axis(cumulative, rank[:, None], axis=1)[:, 0]
            scores = score._scores_from_cumulative(at_rank, rank, p_y, u, xp=xp)
            thresholds = conformal_quantile(scores, levels, xp=xp)
            counts, _ = score._set_sizes(
                sorted_prob,
                u,
                thresholds[None, :],
                xp=xp,
                device=dev,
                cumulative=cumulative,
            )
            sets = _sets_from_counts(y_prob, sorted_prob, counts, xp, dev)
            size = float(xp.mean(xp.astype(xp.count_nonzero(sets, axis=1), xp.float64)))
            if size < best_size:
                best, best_size = lambda_reg, size
        return self._with(best, k_reg)

    def _with(self, lambda_reg, k_reg):
        params = self.get_params(deep=False)
        params.update(lambda_reg=float(lambda_reg), k_reg=int(k_reg))
        return type(self)(**params)


# --------------------------------------------------------------------------- #
# top-k
# --------------------------------------------------------------------------- #
class TopKScore(BaseClassificationScore):
    """Rank of the true label: sets are the ``k`` most probable labels.

    The conformity score of label ``y`` is its rank ``r(y)`` (1 for the most
    probable label; labels of equal probability share the smallest rank), so
    the prediction set at threshold ``t`` holds the ``floor(t)`` most
    probable labels, the same number for every sample. A non-adaptive
    baseline (Angelopoulos et al. 2021).

    References
    ----------
    Angelopoulos, A. N., Bates, S., Malik, J. and Jordan, M. I. (2021).
    Uncertainty sets for image classifiers using conformal prediction. ICLR.

    Notes
    -----
    MAPIE stores the 0-based rank; the scores here are 1-based, so that the
    threshold is the set size. The sets are the same.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.conformal.scores import TopKScore
    >>> proba = np.array([[0.1, 0.6, 0.3]])
    >>> TopKScore().conformity_scores(proba, np.array([2]))
    array([2.])
    >>> TopKScore().prediction_sets(proba, np.array([2.0]))[:, :, 0]
    array([[False,  True,  True]])
    """

    def _conformity_scores(self, y_prob, y, u, *, xp, device):
        rank, _ = _true_label_position(y_prob, y, xp)
        return xp.astype(rank + 1, y_prob.dtype)

    def _label_scores(self, y_prob, u, *, xp, device):
        sorted_prob = _sort_desc(y_prob, xp)
        rank = _label_positions(y_prob, sorted_prob, xp, device)
        return xp.astype(rank + 1, y_prob.dtype)

    def _prediction_sets(self, y_prob, thresholds, u, *, xp, device):
        if thresholds.ndim == 3:
            return super()._prediction_sets(y_prob, thresholds, u, xp=xp, device=device)
        k = y_prob.shape[1]
        t = thresholds[None, :] if thresholds.ndim == 1 else thresholds
        counts = xp.astype(xp.clip(xp.floor(xp.clip(t, 0, k)), 0, k), xp.int64)
        return _sets_from_counts(y_prob, _sort_desc(y_prob, xp), counts, xp, device)


#: Aliases accepted by ``conformity_score=`` in the conformal classifiers.
ALIASES = {"lac": LACScore, "aps": APSScore, "raps": RAPSScore, "topk": TopKScore}
BASE_CLASS = BaseClassificationScore
