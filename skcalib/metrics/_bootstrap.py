"""Bootstrap confidence intervals for any metric (Raschka, 2018)."""

import numbers
from collections import namedtuple

import array_api_compat
import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.utils import check_random_state

from ..utils._array_api import move_to

__all__ = ["BootstrapResult", "bootstrap_confidence_interval"]

_METHODS = ("percentile", "basic", "bca")


class BootstrapResult(namedtuple("BootstrapResult", ["estimate", "low", "high"])):
    """Result of :func:`bootstrap_confidence_interval`.

    A named tuple ``(estimate, low, high)`` (so ``estimate, low, high = result``
    works) with one more attribute.

    Attributes
    ----------
    estimate : float or ndarray
        The metric on the original data.
    low, high : float or ndarray
        Bounds of the confidence interval.
    distribution : ndarray of shape (n_resamples,) or (n_resamples, ...)
        The metric on every bootstrap resample.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import bootstrap_confidence_interval, brier_score
    >>> rng = np.random.default_rng(0)
    >>> y_prob = rng.uniform(size=200)
    >>> y_true = (rng.uniform(size=200) < y_prob).astype(int)
    >>> result = bootstrap_confidence_interval(
    ...     brier_score, y_true, y_prob, n_resamples=100, random_state=0
    ... )
    >>> estimate, low, high = result
    >>> bool(low <= estimate <= high)
    True
    >>> result.distribution.shape
    (100,)
    """

    def __new__(cls, estimate, low, high, distribution=None):
        self = super().__new__(cls, estimate, low, high)
        self.distribution = distribution
        return self


def _as_value(x):
    """Metric output -> float (scalar) or float ndarray."""
    if array_api_compat.is_array_api_obj(x) and not isinstance(x, np.ndarray):
        from ..utils._array_api import to_numpy

        x = to_numpy(x)
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


class _Rows:
    """Row gathering for one array, in its own namespace and on its device."""

    def __init__(self, a):
        if array_api_compat.is_array_api_obj(a) and not isinstance(a, np.ndarray):
            self.xp = array_api_compat.array_namespace(a)
            self.device = array_api_compat.device(a)
        else:
            self.xp, self.device = None, None
            a = np.asarray(a)
        self.a = a
        self._arange = None

    def indices(self, idx):
        """Move NumPy row indices to the array's device (once per batch)."""
        if self.xp is None:
            return idx
        return move_to(idx, xp=self.xp, device=self.device)

    def take(self, idx):
        if self.xp is None:
            return np.take(self.a, idx, axis=0)
        return self.xp.take(self.a, idx, axis=0)

    def without(self, i):
        """All rows but row ``i`` (jackknife)."""
        if self._arange is None:
            self._arange = self.indices(np.arange(self.a.shape[0], dtype=np.int64))
        ar = self._arange
        concat = np.concatenate if self.xp is None else self.xp.concat
        return self.take(concat([ar[:i], ar[i + 1 :]]))


def _draw_indices(random_state, n_resamples, n_samples):
    if isinstance(random_state, np.random.Generator):
        return random_state.integers(0, n_samples, (n_resamples, n_samples))
    rng = check_random_state(random_state)
    return rng.randint(0, n_samples, size=(n_resamples, n_samples)).astype(np.int64)


def bootstrap_confidence_interval(
    metric,
    *arrays,
    n_resamples=1000,
    confidence_level=0.95,
    method="percentile",
    random_state=None,
    **metric_kwargs,
):
    """Bootstrap confidence interval for a metric computed on paired arrays.

    The rows of all ``arrays`` (and of a ``sample_weight`` keyword argument)
    are resampled jointly with replacement ``n_resamples`` times; the metric is
    evaluated on every resample, and the interval is read from this bootstrap
    distribution (Efron & Tibshirani, 1993; Raschka, 2018, section 2.4).
    Indices are drawn with NumPy from ``random_state``, moved once to each
    array's device and gathered with ``take``, so arrays of any array-API
    namespace stay where they are and every backend sees the same resamples.

    Parameters
    ----------
    metric : callable
        ``metric(*arrays, **metric_kwargs)`` returning a scalar (Python float,
        0-d array) or a 1-D array (one interval per entry).
    *arrays : array-like of shape (n_samples, ...)
        The inputs of ``metric`` (for example ``y_true, y_prob``); all must
        have the same number of rows.
    n_resamples : int, default=1000
        Number of bootstrap resamples.
    confidence_level : float in (0, 1), default=0.95
        Nominal coverage of the interval.
    method : {"percentile", "basic", "bca"}, default="percentile"
        With ``q_a`` the ``a``-quantile of the bootstrap distribution (linear
        interpolation, as :func:`numpy.quantile`), ``theta`` the estimate and
        ``alpha = 1 - confidence_level``:

        - ``"percentile"``: ``[q_{alpha/2}, q_{1 - alpha/2}]``;
        - ``"basic"`` (reverse percentile):
          ``[2 theta - q_{1 - alpha/2}, 2 theta - q_{alpha/2}]``;
        - ``"bca"``: bias-corrected and accelerated percentiles (Efron, 1987),
          the bias from the fraction of resamples below the estimate (ties
          counting one half) and the acceleration from the ``n_samples``
          leave-one-out (jackknife) values of the metric. Costs ``n_samples``
          more metric calls. Matches :func:`scipy.stats.bootstrap` with
          ``paired=True`` given the same resamples.
    random_state : int, RandomState instance, Generator or None, default=None
        Source of the resampling indices; fix it for reproducible intervals.
        A :class:`numpy.random.Generator` draws with ``integers(0, n, (B, n))``
        (the draws of :func:`scipy.stats.bootstrap`), anything else goes
        through :func:`sklearn.utils.check_random_state`.
    **metric_kwargs
        Passed to ``metric``; ``sample_weight``, if given as an array with
        ``n_samples`` rows, is resampled together with ``arrays``.

    Returns
    -------
    result : BootstrapResult
        Named tuple ``(estimate, low, high)`` of floats (NumPy arrays for a
        vector-valued metric), with the bootstrap values in
        ``result.distribution``.

    Raises
    ------
    ValueError
        On invalid parameters or arrays of different lengths. Errors raised by
        ``metric`` on a resample (for example a single-class resample for an
        AUROC) propagate.

    References
    ----------
    Raschka, S. (2018). Model evaluation, model selection, and algorithm
    selection in machine learning. arXiv:1811.12808.

    Efron, B. (1987). Better bootstrap confidence intervals. JASA 82(397).

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import bootstrap_confidence_interval, coverage_score
    >>> rng = np.random.default_rng(0)
    >>> y_true = rng.integers(0, 3, size=200)
    >>> y_pred_set = rng.random((200, 3)) < 0.8
    >>> res = bootstrap_confidence_interval(
    ...     coverage_score, y_true, y_pred_set, n_resamples=500, random_state=0)
    >>> res.estimate
    0.77
    >>> round(res.low, 3), round(res.high, 3)
    (0.715, 0.825)
    >>> estimate, low, high = res  # a named tuple
    >>> res.distribution.shape
    (500,)
    """
    if not callable(metric):
        raise ValueError(f"metric must be callable, got {metric!r}.")
    if not arrays:
        raise ValueError("Pass at least one array to resample.")
    if (
        isinstance(n_resamples, bool)
        or not isinstance(n_resamples, numbers.Integral)
        or n_resamples < 1
    ):
        raise ValueError(
            f"n_resamples must be a positive integer, got {n_resamples!r}."
        )
    if (
        isinstance(confidence_level, bool)
        or not isinstance(confidence_level, numbers.Real)
        or not 0 < confidence_level < 1
    ):
        raise ValueError(
            f"confidence_level must be a float in (0, 1), got {confidence_level!r}."
        )
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")

    arrays = [
        a if array_api_compat.is_array_api_obj(a) else np.asarray(a) for a in arrays
    ]
    lengths = [int(a.shape[0]) if a.ndim else -1 for a in arrays]
    n = lengths[0]
    if n < 1 or any(length != n for length in lengths):
        raise ValueError(
            f"All arrays must have the same, positive number of rows; got {lengths}."
        )
    kwargs = dict(metric_kwargs)
    sw = kwargs.pop("sample_weight", None)
    if sw is not None and not isinstance(sw, numbers.Number):
        sw = sw if array_api_compat.is_array_api_obj(sw) else np.asarray(sw)
        if sw.ndim != 1 or sw.shape[0] != n:
            raise ValueError(
                f"sample_weight must have shape ({n},), got {tuple(sw.shape)}."
            )
        resampled = [*arrays, sw]
    else:
        resampled = list(arrays)
        if sw is not None:
            kwargs["sample_weight"] = sw

    def evaluate(parts):
        if len(parts) > len(arrays):
            return _as_value(metric(*parts[:-1], sample_weight=parts[-1], **kwargs))
        return _as_value(metric(*parts, **kwargs))

    estimate = evaluate(resampled)
    indices = _draw_indices(random_state, n_resamples, n)
    rows = [_Rows(a) for a in resampled]
    pairs = [(r, r.indices(indices)) for r in rows]
    distribution = np.asarray(
        [
            evaluate([r.take(idx[b, ...]) for r, idx in pairs])
            for b in range(n_resamples)
        ],
        dtype=float,
    )

    alpha = (1 - confidence_level) / 2
    if method == "bca":
        probs = _bca_probabilities(estimate, distribution, rows, evaluate, alpha)
    else:
        probs = (alpha, 1 - alpha)
    if np.ndim(probs[0]) == 0:
        low, high = (np.quantile(distribution, p, axis=0) for p in probs)
    else:
        low, high = (
            np.array(
                [
                    np.quantile(distribution[:, j], p[j])
                    for j in range(distribution.shape[1])
                ]
            )
            for p in probs
        )
    if method == "basic":
        low, high = 2 * np.asarray(estimate) - high, 2 * np.asarray(estimate) - low
    return BootstrapResult(
        _as_value(estimate), _as_value(low), _as_value(high), distribution
    )


def _bca_probabilities(estimate, distribution, rows, evaluate, alpha):
    """Adjusted quantile levels of the BCa interval (Efron 1987; scipy's formulas)."""
    theta = np.asarray(estimate, dtype=float)
    n_res = distribution.shape[0]
    below = np.sum(distribution < theta, axis=0) + np.sum(distribution <= theta, axis=0)
    with np.errstate(divide="ignore"):
        z0 = ndtri(below / (2 * n_res))
    n = int(rows[0].a.shape[0])
    jack = np.asarray(
        [evaluate([r.without(i) for r in rows]) for i in range(n)], dtype=float
    )
    u = (n - 1) * (jack.mean(axis=0) - jack)
    num = np.sum(u**3, axis=0)
    den = np.sum(u**2, axis=0) ** 1.5
    with np.errstate(divide="ignore", invalid="ignore"):
        accel = np.where(den > 0, num / (6 * np.where(den > 0, den, 1)), 0.0)
    z_lo, z_hi = ndtri(alpha), ndtri(1 - alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_lo = ndtr(z0 + (z0 + z_lo) / (1 - accel * (z0 + z_lo)))
        p_hi = ndtr(z0 + (z0 + z_hi) / (1 - accel * (z0 + z_hi)))
    return p_lo, p_hi
