"""Histogram binning (Zadrozny & Elkan 2001)."""

from numbers import Integral

from ..metrics._binning import _quantile_edges
from ..utils._array_api import bincount, get_namespace_and_device
from ..utils._sklearn_compat import Interval, StrOptions
from ._base import BaseOneVsRestCalibrator


def _bin_midpoints(inner_edges, *, xp):
    """Midpoints of the bins ``[0, e_1], (e_1, e_2], ..., (e_{B-1}, 1]``.

    ``inner_edges`` holds the ``B - 1`` inner edges ``e_b`` (clipped to [0, 1]
    here, so scores outside [0, 1] cannot push a midpoint out of it).
    """
    _, dev = get_namespace_and_device(inner_edges, xp=xp)
    dtype = inner_edges.dtype
    edges = xp.concat(
        [
            xp.zeros((1,), dtype=dtype, device=dev),
            xp.clip(inner_edges, 0.0, 1.0),
            xp.ones((1,), dtype=dtype, device=dev),
        ]
    )
    return (edges[:-1] + edges[1:]) / 2


def bin_values(inner_edges, w_sum, pos_sum, *, xp):
    """Weighted fraction of positives per bin; the bin's midpoint where empty."""
    nonempty = w_sum > 0
    safe = xp.where(nonempty, w_sum, xp.ones_like(w_sum))
    return xp.where(nonempty, pos_sum / safe, _bin_midpoints(inner_edges, xp=xp))


def _contiguous(column, *, xp):
    """A contiguous copy of a column of the score matrix.

    ``torch.searchsorted`` warns (and copies anyway) on strided values.
    """
    return xp.asarray(column, copy=True)


def _predict_histogram(inner_edges, values, scores, *, xp):
    """Value of the bin of each score: a piecewise-constant map.

    ``inner_edges`` holds ``B - 1`` sorted edges ``e_1 <= ... <= e_{B-1}`` and
    ``values`` one value per bin; a score ``s`` falls in bin ``b`` (0-based)
    when ``e_b < s <= e_{b+1}``, with ``e_0 = -inf`` and ``e_B = +inf``: bins
    are closed on the right, the convention of :mod:`skcalib.metrics`.
    """
    # Raises a clear error when the scores are not in the namespace / on the
    # device used at fit (with array-API dispatch on).
    get_namespace_and_device(scores, inner_edges, xp=None)
    idx = xp.searchsorted(
        xp.astype(inner_edges, scores.dtype), _contiguous(scores, xp=xp), side="left"
    )
    return xp.astype(xp.take(values, idx), scores.dtype)


class HistogramBinning(BaseOneVsRestCalibrator):
    """Histogram binning: each bin predicts the fraction of positives in it.

    The scores of one class (a predicted probability) are split into
    ``n_bins`` bins; the calibrated probability of a score is the (weighted)
    fraction of training samples of that class among those in its bin
    (Zadrozny & Elkan 2001). Two classes: one histogram on the probability of
    the positive class. More classes: one histogram per class on its own
    probability (one-vs-rest), and the calibrated probabilities are
    renormalised to sum to one, as scikit-learn's ``CalibratedClassifierCV``
    does.

    Parameters
    ----------
    n_bins : int, default=15
        Number of bins (>= 1).
    strategy : {"uniform", "quantile"}, default="uniform"
        How the bins are chosen, with the conventions of
        :func:`skcalib.metrics.expected_calibration_error`:

        - ``"uniform"``: equal-width bins ``(b / n_bins, (b + 1) / n_bins]``
          on [0, 1] (the first bin also holds 0);
        - ``"quantile"``: equal-mass bins, fitted for each class separately;
          the inner edges are the weighted (inverted-CDF) quantiles of the
          training probabilities at levels ``b / n_bins`` and bins are closed
          on the right, so tied probabilities share a bin (with many ties some
          bins are then empty).

    Attributes
    ----------
    bin_edges_ : array of shape (n_calibrators, n_bins + 1)
        Edges of the bins of each calibrated class, from 0 to 1 (one row for
        two classes, the positive class; one row per class otherwise). Scores
        below 0 or above 1 fall in the first or last bin.
    bin_probabilities_ : array of shape (n_calibrators, n_bins)
        Calibrated probability of each bin: the weighted fraction of positives
        in it, or the bin's midpoint where the bin received no (or zero)
        weight.
    calibrators_ : list of tuple
        One ``(inner_edges, bin_probabilities)`` pair per calibrated class,
        ``inner_edges`` holding the ``n_bins - 1`` inner edges.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for the
        probability of the positive class).

    See Also
    --------
    BBQ : Bayesian averaging of equal-mass histograms of many sizes.
    sklearn.calibration.CalibratedClassifierCV : Platt and isotonic
        calibration, renormalised one-vs-rest in the same way.

    Notes
    -----
    ``X`` holds predicted probabilities: an array of shape (n_samples,
    n_classes), or for two classes the probability of the positive class, of
    shape (n_samples,) or (n_samples, 1). The bins live on [0, 1]; values
    outside it, or rows that do not sum to one, raise a ``ValueError`` (apply a
    softmax to logits first).

    A bin that received no training weight predicts its midpoint, i.e. the
    uncalibrated probability at the centre of the bin: where there is no data
    the scores are trusted as they are. (With ``"uniform"`` bins this is
    ``(b + 0.5) / n_bins``; it is also the prior mean of a bin in
    :class:`BBQ`.) Sample weights enter as weighted counts, so an integer
    weight ``w`` gives exactly the model fitted on the row repeated ``w``
    times.

    References
    ----------
    .. [1] B. Zadrozny and C. Elkan, "Obtaining calibrated probability
       estimates from decision trees and naive Bayesian classifiers",
       ICML 2001.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.calibration import HistogramBinning
    >>> proba = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    >>> y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    >>> hb = HistogramBinning(n_bins=2).fit(proba, y)
    >>> hb.bin_probabilities_
    array([[0.25, 0.75]])
    >>> hb.predict_proba(np.array([0.05, 0.95]))
    array([[0.75, 0.25],
           [0.25, 0.75]])
    """

    _array_api_support = True
    _skcalib_input_kind = "probabilities"
    _parameter_constraints: dict = {
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"uniform", "quantile"})],
    }

    def __init__(self, n_bins=15, *, strategy="uniform"):
        self.n_bins = n_bins
        self.strategy = strategy

    def _fit(self, logits, y, sample_weight, *, xp):
        super()._fit(logits, y, sample_weight, xp=xp)
        return self._stack_bins(xp=xp)

    def _stack_bins(self, *, xp):
        """Set ``bin_edges_`` and ``bin_probabilities_`` from ``calibrators_``."""
        inner = self.calibrators_[0][0]
        _, dev = get_namespace_and_device(inner, xp=xp)
        zero = xp.zeros((1,), dtype=inner.dtype, device=dev)
        one = xp.ones((1,), dtype=inner.dtype, device=dev)
        self.bin_edges_ = xp.stack(
            [xp.concat([zero, inner, one]) for inner, _ in self.calibrators_]
        )
        self.bin_probabilities_ = xp.stack([values for _, values in self.calibrators_])
        return self

    def _fit_binary(self, scores, target, sample_weight, *, xp):
        _, dev = get_namespace_and_device(scores, xp=xp)
        n_bins = self.n_bins
        if self.strategy == "uniform" or n_bins == 1:
            inner = xp.arange(1, n_bins, dtype=scores.dtype, device=dev) / n_bins
        else:
            weight = None if sample_weight is None else sample_weight[None, :]
            inner = _quantile_edges(scores[None, :], weight, n_bins, xp, dev)[0, :]
        bins = xp.searchsorted(inner, _contiguous(scores, xp=xp), side="left")
        if sample_weight is None:
            counts = bincount(bins, minlength=n_bins, xp=xp)
            w_sum = xp.astype(counts, scores.dtype)
            pos_sum = bincount(bins, weights=target, minlength=n_bins, xp=xp)
        else:
            w_sum = bincount(bins, weights=sample_weight, minlength=n_bins, xp=xp)
            pos_sum = bincount(
                bins, weights=sample_weight * target, minlength=n_bins, xp=xp
            )
        return inner, bin_values(inner, w_sum, pos_sum, xp=xp)

    def _predict_binary(self, state, scores, *, xp):
        inner_edges, bin_probabilities = state
        return _predict_histogram(inner_edges, bin_probabilities, scores, xp=xp)
