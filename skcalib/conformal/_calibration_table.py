"""Calibration scores grouped by category: marginal, Mondrian and class-conditional.

A conformal predictor compares the score of a test label with calibration
scores of the same *category*. Marginal coverage uses one category; Mondrian
conformal prediction (Vovk et al. 2005) one per group (``groups`` at fit and
predict time), class-conditional coverage one per class (the calibration
sample's true label, the test sample's candidate label), and both together
one per (group, class) pair: category ``g * n_label_categories + c``.

:class:`ScoreTable` keeps the sorted scores and cumulative weights of every
category on the device and answers the two questions the predictors ask:
the conformal quantile of each category at some levels, and the (weighted)
number of calibration scores that a test statistic does not exceed, from
which conformal p-values follow.
"""

import warnings

import array_api_compat
import numpy as np

from ..utils._array_api import conformal_quantile, move_to, to_numpy
from ._common import calibration_size_text, min_calibration_size

__all__ = [
    "CategoryLayout",
    "ScoreTable",
    "encode_categories",
    "sets_from_mass",
    "warn_small_categories",
]


def encode_categories(values, known, *, n_samples, name="groups"):
    """Index of each value in ``known`` (sorted); unseen values get ``len(known)``.

    Raises
    ------
    ValueError
        If ``values`` is not 1-D with ``n_samples`` entries (the message names
        the parameter ``name``).
    """
    values = to_numpy(values) if hasattr(values, "__array_namespace__") else values
    values = np.asarray(values)
    if values.ndim != 1 or values.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have shape ({n_samples},), one entry per sample, got "
            f"shape {values.shape}."
        )
    index = np.searchsorted(known, values)
    clipped = np.clip(index, 0, len(known) - 1)
    seen = (index < len(known)) & (known[clipped] == values)
    return np.where(seen, index, len(known))


class ScoreTable:
    """Sorted calibration scores (and cumulative weights) of each category.

    Parameters
    ----------
    scores : array of shape (n_samples,)
        Conformity scores, on the device they were computed on.
    categories : ndarray of int of shape (n_samples,)
        Category of each score, in ``range(n_categories)``.
    n_categories : int
    sample_weight : array of shape (n_samples,) or None
        Weights of the calibration samples, on the device of ``scores``.
    xp : namespace
    device : device
    """

    def __init__(self, scores, categories, n_categories, sample_weight, *, xp, device):
        self.sorted_scores, self.weights, self.cumulative = [], [], []
        self.totals = np.zeros(n_categories)
        for category in range(n_categories):
            rows = move_to(np.flatnonzero(categories == category), xp=xp, device=device)
            s = xp.take(scores, rows)
            order = xp.argsort(s, stable=True)
            self.sorted_scores.append(xp.take(s, order))
            if sample_weight is None:
                self.weights.append(None)
                self.cumulative.append(None)
                self.totals[category] = s.shape[0]
                continue
            w = xp.take(xp.take(sample_weight, rows), order)
            zero = xp.zeros((1,), dtype=w.dtype, device=device)
            cumulative = xp.concat([zero, xp.cumulative_sum(w)])
            self.weights.append(w)
            self.cumulative.append(cumulative)
            self.totals[category] = float(cumulative[-1])

    @property
    def dtype(self):
        """Dtype of the scores (not stored: skops does not trust ``numpy.dtype``)."""
        return self.sorted_scores[0].dtype

    def quantiles(self, levels):
        """Conformal quantile of every category: array of shape (n_categories, L).

        ``+inf`` where a category is too small for a level (or empty).
        """
        xp = array_api_compat.array_namespace(self.sorted_scores[0])
        rows = [
            conformal_quantile(s, levels, sample_weight=w, xp=xp)
            for s, w in zip(self.sorted_scores, self.weights, strict=True)
        ]
        return xp.stack(rows, axis=0)

    def test_weighted_quantiles(self, category, levels, test_weight):
        """Quantiles of one category when every test point has its own weight.

        For covariate shift (Tibshirani et al. 2019): the smallest calibration
        score ``s`` with ``sum_{s_i <= s} w_i >= level * (W + w_test)``, as
        :func:`~skcalib.utils._array_api.conformal_quantile` computes it with
        ``test_weight``, for every test weight at once.

        Parameters
        ----------
        category : int
        levels : ndarray of shape (n_levels,)
        test_weight : array of shape (n_test,)
            On the device of the table.

        Returns
        -------
        quantiles : array of shape (n_test, n_levels)
            ``+inf`` where no calibration score is large enough.
        """
        sorted_scores = self.sorted_scores[category]
        xp = array_api_compat.array_namespace(sorted_scores)
        dev = array_api_compat.device(sorted_scores)
        n = sorted_scores.shape[0]
        inf = xp.asarray(xp.inf, dtype=self.dtype, device=dev)
        shape = (test_weight.shape[0], levels.shape[0])
        if n == 0:
            return xp.full(shape, xp.inf, dtype=self.dtype, device=dev)
        cumulative = self.cumulative[category]
        cumulative = (
            xp.arange(1, n + 1, dtype=self.dtype, device=dev)
            if cumulative is None
            else cumulative[1:]
        )
        scaled = xp.asarray(levels * (1 - 1e-12), dtype=cumulative.dtype, device=dev)
        total = float(self.totals[category]) + xp.astype(test_weight, cumulative.dtype)
        target = xp.reshape(total[:, None] * scaled[None, :], (-1,))
        index = xp.reshape(xp.searchsorted(cumulative, target, side="left"), shape)
        q = xp.reshape(
            xp.take(sorted_scores, xp.reshape(xp.clip(index, 0, n - 1), (-1,))), shape
        )
        return xp.where(index < n, q, inf)

    def mass_at_least(self, category, statistic):
        """Calibration mass of ``category`` that each test statistic does not exceed.

        The number (or total weight) of calibration scores ``s`` of the
        category with ``s >= v`` for every entry
        ``v`` of ``statistic`` (any shape): the calibration samples whose
        prediction set, thresholded at their own score, would contain the test
        label. Returned on the device of ``statistic``, in the table's dtype.
        """
        sorted_scores = self.sorted_scores[category]
        xp = array_api_compat.array_namespace(sorted_scores)
        n = sorted_scores.shape[0]
        if n == 0:
            return xp.zeros(
                statistic.shape,
                dtype=self.dtype,
                device=array_api_compat.device(sorted_scores),
            )
        index = xp.searchsorted(sorted_scores, statistic, side="left")
        cumulative = self.cumulative[category]
        if cumulative is None:
            return xp.astype(n - index, self.dtype)
        below = xp.reshape(xp.take(cumulative, xp.reshape(index, (-1,))), index.shape)
        return xp.astype(self.totals[category] - below, self.dtype)


class CategoryLayout:
    """How test entries (sample ``i``, candidate label ``j``) map to categories.

    Parameters
    ----------
    n_groups : int
        Number of groups seen at fit (1 without groups); the category block of
        index ``n_groups`` is kept empty for groups unseen at fit.
    n_classes : int
    class_conditional : bool
    """

    def __init__(self, n_groups, n_classes, class_conditional):
        self.n_groups = n_groups
        self.n_label_categories = n_classes if class_conditional else 1
        self.n_categories = (n_groups + 1) * self.n_label_categories

    def calibration_categories(self, group_index, y):
        """Category of each calibration sample (host ints)."""
        label = y if self.n_label_categories > 1 else np.zeros_like(y)
        return group_index * self.n_label_categories + label

    def thresholds(self, table_quantiles, group_index, *, xp, device):
        """Per-sample / per-label thresholds in the layout of ``prediction_sets``.

        ``table_quantiles`` has shape (n_categories, L). Returns (L,) for
        marginal coverage, (n, L) with groups and (n or 1, K, L) for
        class-conditional coverage.
        """
        q = xp.reshape(
            table_quantiles,
            (self.n_groups + 1, self.n_label_categories, table_quantiles.shape[1]),
        )
        if group_index is None:
            q = q[0, ...]
            return q[0, ...] if self.n_label_categories == 1 else q[None, ...]
        q = xp.take(q, move_to(group_index, xp=xp, device=device), axis=0)
        return q[:, 0, :] if self.n_label_categories == 1 else q

    def totals(self, totals, group_index):
        """Calibration mass of the categories of the test entries (host array).

        Shape (1 or n_samples, 1 or n_classes), broadcastable to the entries.
        """
        t = totals.reshape(self.n_groups + 1, self.n_label_categories)
        return t[:1] if group_index is None else t[group_index]

    def _per_entry(self, compute, group_index, *, xp, device):
        """Assemble ``compute(category, label)`` over the test entries.

        ``compute`` returns an array whose first axis runs over the test
        samples: for every sample the rows of its group's category are kept.
        With one label category ``label`` is None and the result is returned
        as is; otherwise one result per label is stacked on axis 1.
        """
        groups = [0] if group_index is None else np.unique(group_index)

        def by_group(label):
            out = None
            for g in groups:
                value = compute(g * self.n_label_categories + (label or 0), label)
                if out is None:
                    out = value
                else:
                    mask = move_to(group_index == g, xp=xp, device=device)
                    mask = xp.reshape(mask, (-1,) + (1,) * (value.ndim - 1))
                    out = xp.where(mask, value, out)
            return out

        if self.n_label_categories == 1:
            return by_group(None)
        return xp.stack([by_group(j) for j in range(self.n_label_categories)], axis=1)

    def mass_at_least(self, table, statistic, group_index, *, xp, device):
        """:meth:`ScoreTable.mass_at_least` of every test entry, shape (n, K)."""
        if self.n_label_categories == 1:
            per_label = None
        else:
            # One contiguous row per candidate label (searchsorted wants them).
            n = statistic.shape[0]
            flat = xp.reshape(xp.permute_dims(statistic, (1, 0)), (-1,))
            per_label = [flat[j * n : (j + 1) * n] for j in range(statistic.shape[1])]

        def compute(category, label):
            values = statistic if label is None else per_label[label]
            return table.mass_at_least(category, values)

        return self._per_entry(compute, group_index, xp=xp, device=device)

    def test_weighted_thresholds(
        self, table, levels, test_weight, group_index, *, xp, device
    ):
        """Thresholds per test sample (and label) for per-sample test weights.

        Shape (n, L) for marginal or group-conditional coverage, (n, K, L)
        for class-conditional coverage.
        """

        def compute(category, label):
            return table.test_weighted_quantiles(category, levels, test_weight)

        return self._per_entry(compute, group_index, xp=xp, device=device)

    def describe(self, category, groups, classes):
        """Human-readable name of a category for warnings."""
        g, c = divmod(int(category), self.n_label_categories)
        parts = []
        if groups is not None:
            parts.append(
                f"group {groups[g].tolist()!r}"
                if g < len(groups)
                else "groups unseen at fit"
            )
        if self.n_label_categories > 1:
            parts.append(f"class {classes[c].tolist()!r}")
        return ("in " + " and ".join(parts) + ", ") if parts else ""


def sets_from_mass(mass, totals, levels, *, xp, device):
    """Prediction sets from the calibration mass each test label does not exceed.

    Label ``j`` is in the set at level ``l`` when the calibration mass *below*
    its statistic, ``totals - mass``, is less than ``l * (totals + 1)``: the
    conformal p-value ``(mass + 1) / (totals + 1)`` exceeds ``1 - l``. This is
    the set given by thresholding at
    :func:`~skcalib.utils._array_api.conformal_quantile` (with the same
    guard against floating-point noise at integer ranks).

    Parameters
    ----------
    mass : array of shape (n_samples, n_classes)
    totals : array broadcastable to ``mass``
    levels : ndarray of shape (n_levels,)

    Returns
    -------
    sets : array of bool of shape (n_samples, n_classes, n_levels)
    """
    below = (totals - mass)[..., None]
    target = (totals + 1)[..., None] * xp.asarray(
        levels * (1 - 1e-12), dtype=mass.dtype, device=device
    )
    return below < target


def warn_small_categories(quantiles, used, levels, describe, totals):
    """Warn when a used category is too small for a level (full prediction sets).

    Parameters
    ----------
    quantiles : array of shape (n_categories, n_levels)
    used : ndarray of int
        Categories the test samples fall in.
    levels : ndarray of shape (n_levels,)
    describe : callable
        ``describe(category) -> str`` naming a category in the message.
    totals : ndarray of shape (n_categories,)
        Number (or total weight) of calibration samples per category.
    """
    infinite = ~np.isfinite(to_numpy(quantiles)[used])
    if not infinite.any():
        return
    messages = []
    for row, level in zip(*np.nonzero(infinite), strict=True):
        category = used[row]
        have = calibration_size_text(totals[category])
        messages.append(
            f"{describe(category)}{have} calibration samples for "
            f"confidence_level={float(levels[level]):g} "
            f"(at least {min_calibration_size(levels[level])} needed)"
        )
    shown = "; ".join(messages[:3])
    more = len(messages) - 3
    warnings.warn(
        "The calibration set is too small for the requested confidence level: "
        f"{shown}{f'; and {more} more' if more > 0 else ''}. The prediction sets "
        "there contain every class.",
        UserWarning,
        stacklevel=3,
    )
