"""Fitting and metrics on Dask arrays: reductions of per-block statistics.

Nothing here gathers the data on the client. Every function makes passes
over the row blocks of Dask arrays in which each block returns a few numbers
(sums of NLL derivatives, bin counts and sums, histogram counts, moments);
only those cross to the client, where they are added in block order with
:func:`~skcalib.utils._dask.reduce_row_blocks`. The per-block maths is the
NumPy code of the estimator or metric itself, so results equal NumPy's up to
the order of the floating-point sums (and exactly for the conformal
quantile, an order statistic found by :func:`dask_conformal_quantile`).

The estimators call in here when ``X`` is a Dask array (see
:func:`~skcalib.utils._dask.is_dask_array`).
"""

import numpy as np
from array_api_compat import numpy as np_compat

from ._array_api import _conformal_rank
from ._dask import (
    as_row_chunked,
    map_row_blocks,
    reduce_row_blocks,
    rows_like,
    shippable,
)
from ._validation import (
    _BINARY_LABEL_SETS,
    check_confidence_level,
    check_scores,
    encode_labels,
)

__all__ = [
    "DaskScoreTable",
    "dask_binned_calibration_error",
    "dask_conformal_quantile",
    "fit_calibrator_dask",
    "fit_ood_detector_dask",
    "fit_split_conformal_classifier_dask",
    "fit_split_conformal_regressor_dask",
    "order_statistics",
    "quantile_edges",
]

# Histogram bins per selection round, and the largest number of candidate
# rows gathered on the client once the rank's bin is small enough.
_SELECTION_BINS = 4096
_MAX_CANDIDATES = 1 << 17


def dask_unique(values):
    """Sorted unique values of a Dask array (per-block uniques, merged)."""
    import dask

    parts = dask.compute(*[dask.delayed(np.unique)(b) for b in values.to_delayed()])
    return np.unique(np.concatenate(parts)) if parts else np.empty(0)


def _require_y(name, y):
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")


def _conformal_inputs(name, X, y, unsupported):
    """Row-chunked ``X`` and ``y`` for a conformal fit on Dask data.

    ``unsupported`` maps each requirement of the Dask path to whether the
    call violates it; any violation is a clear error.
    """
    needed = [need for need, violated in unsupported.items() if violated]
    if needed:
        raise ValueError(
            f"{name} on Dask arrays needs {', '.join(needed)}; compute X first "
            "(X.compute()) for the other options."
        )
    _require_y(name, y)
    X = as_row_chunked(X)
    return X, rows_like(y, X, name="y")


def _lazy_scores(block_scores, X, y):
    """Conformity scores of every row, lazily, from ``block_scores(X, y)``."""
    dtype = block_scores(X[:1].compute(), y[:1].compute()).dtype
    return map_row_blocks(block_scores, [X, y], (), dtype, token="conformity")


def _fit_inputs(estimator, X, y, sample_weight):
    """Row-chunked ``X``, label indices and weights; sets ``classes_``."""
    name = type(estimator).__name__
    _require_y(name, y)
    X = as_row_chunked(X)
    y = rows_like(y, X, name="y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    estimator.classes_ = dask_unique(y)
    if estimator.classes_.shape[0] < 2:
        raise ValueError(
            f"{name} needs samples of at least two classes; y contains one class "
            f"only: {estimator.classes_.tolist()}."
        )
    classes = estimator.classes_
    y_idx = map_row_blocks(
        lambda b: encode_labels(b, classes), [y], (), np.int64, token="encode-labels"
    )
    w = rows_like(sample_weight, X, name="sample_weight")
    estimator.n_features_in_ = 1 if X.ndim == 1 else X.shape[1]
    return X, y_idx, w


def _checked_block(X_block):
    """One block of ``X`` after NumPy's checks of its values (no NaN or inf).

    An empty block (a chunk of zero rows) has nothing to check.
    """
    X_block = np.asarray(X_block)
    if X_block.shape[0] == 0:
        return X_block
    return check_scores(X_block, name="X", ndim=(X_block.ndim,))


def _block_logits(estimator, X_block):
    """The estimator's NumPy logits of one block, after its own input checks."""
    X_block = _checked_block(X_block)
    estimator._check_input_kind(X_block, xp=np_compat)
    return estimator._to_logits(X_block, xp=np_compat)


def fit_calibrator_dask(estimator, X, y, sample_weight=None):
    """Fit a score calibrator on Dask arrays without gathering them.

    :class:`~skcalib.calibration.TemperatureScaling`: Newton's method on the
    NLL, each iteration one pass whose blocks return the weighted sums of the
    value, gradient and Hessian
    (:func:`~skcalib.utils._array_api.temperature_nll_derivatives`).
    :class:`~skcalib.calibration.HistogramBinning` (``strategy="uniform"``):
    one pass summing per-bin weights and positives.

    Parameters
    ----------
    estimator : BaseScoreCalibrator
    X : dask.array.Array of shape (n_samples, n_classes) or (n_samples,)
    y, sample_weight : array-like or dask.array.Array of shape (n_samples,)

    Returns
    -------
    estimator : the fitted estimator
    """
    from ..calibration._histogram import HistogramBinning
    from ..calibration._matrix_scaling import _AffineSoftmaxCalibrator
    from ..calibration._temperature import TemperatureScaling

    if isinstance(estimator, TemperatureScaling):
        return _fit_temperature(estimator, X, y, sample_weight)
    if isinstance(estimator, HistogramBinning):
        return _fit_histogram(estimator, X, y, sample_weight)
    if isinstance(estimator, _AffineSoftmaxCalibrator):
        return _fit_affine_softmax(estimator, X, y, sample_weight)
    raise TypeError(
        f"{type(estimator).__name__} cannot be fitted on Dask arrays yet (only "
        "TemperatureScaling, VectorScaling, MatrixScaling, DirichletCalibration "
        "and HistogramBinning can); fit it on a NumPy sample, X.compute(), and "
        "score Dask arrays lazily afterwards."
    )


def _fit_temperature(estimator, X, y, sample_weight):
    from ..calibration._temperature import _WARM_START_ROWS

    X, y_idx, w = _fit_inputs(estimator, X, y, sample_weight)
    arrays = [X, y_idx] + ([] if w is None else [w])

    def block_sums(u, X_block, y_block, w_block=None):
        # Means over the block, times its weight: sums that add up over blocks.
        total = y_block.shape[0] if w_block is None else float(np.sum(w_block))
        if total == 0:
            # An empty block (or one of zero weight): its means are NaN.
            return np.zeros(4)
        derivatives = _block_derivatives(estimator, X_block, y_block, w_block)
        return [total * v for v in derivatives(u)] + [total]

    def derivatives(u):
        sums = reduce_row_blocks(lambda *blocks: block_sums(u, *blocks), arrays)
        if not (np.all(np.isfinite(sums)) and sums[3] > 0):
            raise ValueError(
                f"{type(estimator).__name__}: the NLL of the Dask data at "
                f"temperature {np.exp(-u):.6g} is not finite (sums of its "
                f"derivatives {sums[:3].tolist()} over a total weight of "
                f"{sums[3]:.6g}); check sample_weight (finite, non-negative, "
                "with a positive sum)."
            )
        return tuple(float(v) for v in sums[:3] / sums[3])

    warm_start = None
    stride = X.shape[0] // _WARM_START_ROWS
    if stride >= 2:
        # NumPy's warm start: every stride-th row (about 20,000), gathered.
        warm_start = _block_derivatives(
            estimator, *(a[::stride].compute() for a in arrays)
        )
    return estimator._fit_derivatives(derivatives, warm_start)


def _block_derivatives(estimator, X_block, y_block, w_block=None):
    """NumPy's derivative closure (a function of ``log(1 / T)``) on one block."""
    from ..calibration._temperature import _nll_derivatives

    logits = _block_logits(estimator, X_block)
    return _nll_derivatives(logits, y_block, w_block, xp=np_compat)


def _fit_affine_softmax(estimator, X, y, sample_weight):
    """Vector / matrix scaling and Dirichlet calibration by L-BFGS on Dask data.

    The estimator's own minimiser runs on the client with the NumPy path's
    start, penalty, preconditioning and tolerances; each evaluation of the
    NLL and its gradient is one pass whose blocks return their weighted sums
    (the NumPy :class:`~skcalib.calibration._matrix_scaling._AffineSoftmaxLoss`
    of the block, times the block's weight). A first pass gives the
    weighted mean squared features that set the preconditioner.
    """
    from ..calibration._matrix_scaling import _AffineSoftmaxLoss

    X, y_idx, w = _fit_inputs(estimator, X, y, sample_weight)
    arrays = [X, y_idx] + ([] if w is None else [w])
    params = estimator._loss_params()

    def block_sums(theta, X_block, y_block, w_block=None):
        # Means over the block, times its weight: sums that add up over blocks.
        total = y_block.shape[0] if w_block is None else float(np.sum(w_block))
        if total == 0:
            n_terms = loss.mean_square.shape[0] if theta is None else 1 + theta.size
            return np.zeros(1 + n_terms)
        features = _block_logits(estimator, X_block)
        block = _AffineSoftmaxLoss(features, y_block, w_block, **params, xp=np_compat)
        if theta is None:
            return total * np.concatenate([[1.0], block.mean_square])
        value, grad = block.nll(theta)
        return total * np.concatenate([[1.0, value], grad])

    # The penalty, its centre and the parameter layout depend on the number
    # of classes only: a loss on one row holds them, and its data terms are
    # replaced by those of all the rows.
    logits, y_probe = _block_logits(estimator, X[:1].compute()), y_idx[:1].compute()
    loss = _AffineSoftmaxLoss(logits, y_probe, None, **params, xp=np_compat)
    moments = reduce_row_blocks(lambda *b: block_sums(None, *b), arrays)
    loss.mean_square = moments[1:] / moments[0]

    def nll(theta):
        sums = reduce_row_blocks(lambda *b: block_sums(theta, *b), arrays)
        return float(sums[1] / sums[0]), sums[2:] / sums[0]

    loss.nll = nll
    host_dtype = np.float32 if X.dtype == np.float32 else np.float64
    return estimator._minimise(loss, host_dtype, xp=np_compat)


def _fit_histogram(estimator, X, y, sample_weight):
    from ..calibration._histogram import bin_values

    X, y_idx, w = _fit_inputs(estimator, X, y, sample_weight)
    n_bins = estimator.n_bins
    n_classes = estimator.classes_.shape[0]
    columns = [1] if n_classes == 2 else list(range(n_classes))
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    if estimator.strategy == "uniform" or n_bins == 1:
        inner = [np.arange(1, n_bins, dtype=dtype) / dtype(n_bins)] * len(columns)
    else:
        if w is not None:
            raise ValueError(
                "HistogramBinning(strategy='quantile') with sample_weight is not "
                "available for Dask arrays (equal-mass bins of weighted rows); use "
                "strategy='uniform' or compute the arrays first."
            )
        scores = map_row_blocks(
            lambda b: _block_logits(estimator, b)[:, columns],
            [X],
            (len(columns),),
            dtype,
            token="scores",
        )
        inner = [quantile_edges(scores[:, c], n_bins) for c in range(len(columns))]

    def block_counts(X_block, y_block, w_block=None):
        logits = _block_logits(estimator, X_block)
        weight = np.ones(y_block.shape[0]) if w_block is None else w_block
        out = []
        for c, j in enumerate(columns):
            bins = np.searchsorted(inner[c], logits[:, j], side="left")
            out.append(np.bincount(bins, weights=weight, minlength=n_bins))
            out.append(
                np.bincount(bins, weights=weight * (y_block == j), minlength=n_bins)
            )
        return np.concatenate(out)

    arrays = [X, y_idx] + ([] if w is None else [w])
    sums = reduce_row_blocks(block_counts, arrays).astype(dtype)
    sums = sums.reshape(len(columns), 2, n_bins)
    estimator.calibrators_ = [
        (edges, bin_values(edges, w_sum, pos_sum, xp=np_compat))
        for edges, (w_sum, pos_sum) in zip(inner, sums, strict=True)
    ]
    return estimator._stack_bins(xp=np_compat)


# --------------------------------------------------------------------------
# Exact conformal quantile: distributed selection by histogram refinement
# --------------------------------------------------------------------------


def _finite_range(scores):
    """``(min, max)`` of the finite scores and the counts of -inf and +inf."""

    def block(s):
        s = np.asarray(s, dtype=np.float64)
        finite = s[np.isfinite(s)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (np.inf, -np.inf)
        return [lo, -hi, -np.sum(s == -np.inf), -np.sum(s == np.inf)]

    extremes = reduce_row_blocks(block, [scores], combine=np.minimum)
    lo, neg_hi, neg_inf, pos_inf = extremes
    return lo, -neg_hi, int(-neg_inf), int(-pos_inf)


def _in_interval(s, lo, hi):
    s = np.asarray(s, dtype=np.float64)
    return s[(s >= lo) & (s <= hi)]


def _kth_smallest(scores, ks, lo, hi, below):
    """The ``k``-th smallest scores (1-based), for each ``k`` in ``ks``.

    They are known to lie in ``[lo, hi]``, and ``below`` scores are smaller
    than ``lo``. Each round counts the scores of every block in
    ``_SELECTION_BINS`` equal-width bins of each rank's interval, with the
    smallest and largest score of each bin, and narrows the interval to the
    range of the scores in the bin holding the rank (all the ranks in the
    same passes); once that bin holds few scores (or all its scores are
    equal), its distinct values and their counts are gathered and the rank
    read off exactly.
    """
    import dask

    n_bins = _SELECTION_BINS
    # Per rank: [lo, hi, number of scores below lo].
    state = {i: [lo, hi, below] for i in range(len(ks))}
    refining = list(state)
    while refining:
        edges = {i: np.linspace(*state[i][:2], n_bins + 1) for i in refining}
        refining = [i for i in refining if np.all(np.diff(edges[i]) > 0)]
        if not refining:
            break
        stacked = np.stack([edges[i] for i in refining])

        def block(s, stacked=stacked):
            out = []
            for e in stacked:
                v = _in_interval(s, e[0], e[-1])
                idx = np.clip(np.searchsorted(e, v, side="right") - 1, 0, n_bins - 1)
                lowest = np.full(n_bins, np.inf)
                negated_highest = np.full(n_bins, np.inf)
                np.minimum.at(lowest, idx, v)
                np.minimum.at(negated_highest, idx, -v)
                out += [np.bincount(idx, minlength=n_bins), lowest, negated_highest]
            return np.concatenate(out)

        stats = reduce_row_blocks(block, [scores], combine=_add_counts_min)
        stats = stats.reshape(len(refining), 3, n_bins)
        crowded = []
        for i, (counts, lowest, negated_highest) in zip(refining, stats, strict=True):
            cumulative = np.cumsum(counts)
            j = int(np.searchsorted(cumulative, ks[i] - state[i][2], side="left"))
            below_j = state[i][2] + (int(cumulative[j - 1]) if j else 0)
            # The next interval is the range of the scores in bin j: it
            # adapts to how they are spread (far outliers, clusters).
            state[i] = [lowest[j], -negated_highest[j], below_j]
            if counts[j] > _MAX_CANDIDATES:
                crowded.append(i)
        refining = crowded
    intervals = [state[i][:2] for i in range(len(ks))]
    parts = dask.compute(
        *[
            dask.delayed(_value_counts)(b, intervals)
            for b in scores.to_delayed().ravel()
        ]
    )
    out = []
    for i, k in enumerate(ks):
        values = np.concatenate([p[i][0] for p in parts])
        counts = np.concatenate([p[i][1] for p in parts])
        unique, inverse = np.unique(values, return_inverse=True)
        cumulative = state[i][2] + np.cumsum(np.bincount(inverse, weights=counts))
        out.append(unique[int(np.searchsorted(cumulative, k, side="left"))])
    return out


def _add_counts_min(a, b):
    """Combine ``[counts, minima, -maxima]`` rows of two blocks (_kth_smallest)."""
    n_bins = _SELECTION_BINS
    a, b = a.reshape(-1, 3, n_bins), b.reshape(-1, 3, n_bins)
    counts = a[:, :1] + b[:, :1]
    return np.concatenate([counts, np.minimum(a[:, 1:], b[:, 1:])], axis=1).ravel()


def _value_counts(s, intervals):
    return [
        np.unique(_in_interval(s, lo, hi), return_counts=True) for lo, hi in intervals
    ]


def dask_conformal_quantile(scores, confidence_level):
    """Exact conformal quantile of Dask ``scores``, without sorting them.

    The same value as :func:`~skcalib.utils._array_api.conformal_quantile`
    (unweighted): the ``ceil((n + 1) * level)``-th smallest score, ``+inf``
    when that rank exceeds ``n``. It is found by distributed selection: one
    pass for the range, then passes counting the scores of each block in 4096
    bins, narrowing to the bin that holds the rank, until the bin is small
    enough to gather its distinct values (usually one histogram pass for
    ``10^8`` scores). The client only ever holds counts and the few
    candidates of one bin.

    Parameters
    ----------
    scores : dask.array.Array of shape (n_samples,)
        Conformity scores (no NaN).
    confidence_level : float or sequence of float in (0, 1)

    Returns
    -------
    quantile : ndarray
        0-d for a scalar level, else shape ``(n_levels,)``; in ``scores``'
        dtype.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skcalib.utils._dask_fit import dask_conformal_quantile
    >>> scores = da.from_array(np.arange(9.0, 0.0, -1.0), chunks=4)  # n = 9
    >>> float(dask_conformal_quantile(scores, 0.8))  # ceil(10 * 0.8) = 8th
    8.0
    """
    levels = check_confidence_level(confidence_level)
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {tuple(scores.shape)}.")
    n = int(scores.shape[0])
    ranks = [max(1, _conformal_rank(n, float(level))) for level in levels]
    result = order_statistics(scores, ranks, n).astype(scores.dtype)
    return result[0] if np.ndim(confidence_level) == 0 else result


def order_statistics(scores, ranks, n_valid):
    """The ``k``-th smallest non-NaN Dask ``scores``, for each ``k`` in ``ranks``.

    ``+inf`` where ``k > n_valid`` (the number of non-NaN scores). NaN
    entries are ignored, so a NaN marks a row left out (for example one that
    does not calibrate). See :func:`_kth_smallest`.
    """
    if not n_valid:
        return np.full(len(ranks), np.inf)
    lo, hi, n_neg_inf, n_pos_inf = _finite_range(scores)
    out = np.empty(len(ranks))
    out[[k > n_valid - n_pos_inf for k in ranks]] = np.inf
    out[[k <= n_neg_inf for k in ranks]] = -np.inf
    finite = [i for i, k in enumerate(ranks) if n_neg_inf < k <= n_valid - n_pos_inf]
    if finite:
        out[finite] = _kth_smallest(
            scores, [ranks[i] for i in finite], lo, hi, n_neg_inf
        )
    return out


def quantile_edges(values, n_bins):
    """Equal-mass inner bin edges of the Dask ``values``, as NumPy's binning.

    The ``B - 1`` edges of :func:`~skcalib.metrics._binning._quantile_edges`
    (unweighted): edge ``b`` is the value of rank ``max(ceil(b n / B), 1)``,
    found by exact distributed selection (:func:`order_statistics`).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skcalib.utils._dask_fit import quantile_edges
    >>> quantile_edges(da.from_array(np.arange(10.0)[::-1], chunks=3), 4)
    array([2., 4., 7.])
    """
    n = int(values.shape[0])
    ranks = [max(-(-b * n // n_bins), 1) for b in range(1, n_bins)]
    return order_statistics(values, ranks, n).astype(values.dtype)


class DaskScoreTable:
    """The calibration table of a conformal predictor fitted on Dask scores.

    One category of scores (no groups, not class-conditional), unweighted,
    plus the empty category of unseen groups of :class:`CategoryLayout`. It keeps
    the lazy Dask scores and computes the quantile of each requested level by
    :func:`dask_conformal_quantile` the first time it is asked for, then
    caches it: ``confidence_level`` can still change after ``fit``. Pickled
    copies (those shipped to Dask workers) keep only the cached quantiles.
    """

    def __init__(self, scores):
        self.scores = scores
        self.dtype = scores.dtype
        # The second category is the (empty) one of groups unseen at fit.
        self.totals = np.asarray([float(scores.shape[0]), 0.0])
        self._cache = {}

    def __getstate__(self):
        return {**self.__dict__, "scores": None}

    def quantiles(self, levels):
        """Conformal quantiles, shape (2, n_levels) (row 1: unseen groups, +inf)."""
        missing = [float(lev) for lev in levels if float(lev) not in self._cache]
        if missing:
            if self.scores is None:
                raise ValueError(
                    f"confidence_level {missing} was not computed before the "
                    "predictor was copied; predict once on the client first."
                )
            found = dask_conformal_quantile(self.scores, missing)
            self._cache.update(zip(missing, found, strict=True))
        found = [self._cache[float(lev)] for lev in levels]
        return np.asarray([found, [np.inf] * len(found)], dtype=self.dtype)

    def _unsupported(self, *args, **kwargs):
        raise NotImplementedError(
            "p-values and test weights need every calibration score; a conformal "
            "predictor fitted on Dask arrays only provides prediction sets."
        )

    test_weighted_quantiles = mass_at_least = _unsupported


def fit_split_conformal_classifier_dask(estimator, X, y, sample_weight, groups):
    """Calibrate a :class:`~skcalib.conformal.SplitConformalClassifier` on Dask data.

    The model must be a :class:`~sklearn.frozen.FrozenEstimator` (all the
    rows calibrate, nothing is trained on Dask data). The conformity scores
    are computed block by block and stay lazy; the quantile is an exact
    distributed selection (:class:`DaskScoreTable`).
    """
    from sklearn.frozen import FrozenEstimator
    from sklearn.utils import check_random_state

    from ..conformal._calibration_table import CategoryLayout
    from ..conformal._classification import _predict_proba
    from ..conformal.scores import resolve_conformity_score

    name = type(estimator).__name__
    model = estimator._get_estimator()
    score = resolve_conformity_score(estimator.conformity_score)
    unsupported = {
        "a FrozenEstimator as estimator": not isinstance(model, FrozenEstimator),
        "no sample_weight": sample_weight is not None,
        "no groups": groups is not None,
        "class_conditional=False": estimator.class_conditional,
        "a conformity score without tuning or randomisation": (
            score._tuning_size() > 0 or score._needs_u_at_fit()
        ),
    }
    X, y = _conformal_inputs(name, X, y, unsupported)
    estimator.estimator_ = model
    estimator.classes_ = np.asarray(model.classes_)
    estimator.n_features_in_ = X.shape[1]
    classes = estimator.classes_

    def block_scores(X_block, y_block):
        proba = _predict_proba(model, X_block, classes)
        return score.conformity_scores(proba, encode_labels(y_block, classes), u=None)

    scores = _lazy_scores(block_scores, X, y)
    estimator.conformity_score_ = score
    estimator.conformity_scores_ = scores
    estimator.groups_ = None
    estimator._layout = CategoryLayout(1, classes.shape[0], False)
    estimator._table = DaskScoreTable(scores)
    rng = check_random_state(estimator.random_state)
    estimator._predict_seed = int(rng.randint(np.iinfo(np.int32).max))
    estimator.quantiles_ = estimator._fitted_quantiles()
    return estimator


def fit_split_conformal_regressor_dask(estimator, X, y, sample_weight):
    """Calibrate a :class:`~skcalib.conformal.SplitConformalRegressor` on Dask data.

    As :func:`fit_split_conformal_classifier_dask`: the model must be a
    :class:`~sklearn.frozen.FrozenEstimator` (all the rows calibrate), its
    predictions and the residual scores are computed block by block and stay
    lazy, and the conformal quantile is an exact distributed selection
    (:class:`DaskScoreTable`), equal to NumPy's.
    """
    from sklearn.frozen import FrozenEstimator

    from ..conformal._regression import _predict
    from ..conformal.scores import resolve_conformity_score

    name = type(estimator).__name__
    model = estimator._get_estimator()
    score = resolve_conformity_score(estimator.conformity_score, task="regression")
    unsupported = {
        "a FrozenEstimator as estimator": not isinstance(model, FrozenEstimator),
        "no sample_weight": sample_weight is not None,
        "a conformity score without a model of its own": score._needs_tuning(),
    }
    X, y = _conformal_inputs(name, X, y, unsupported)
    estimator.estimator_ = model
    estimator.n_features_in_ = X.shape[1]

    def block_scores(X_block, y_block):
        y_pred = _predict(model, X_block)
        target = np.asarray(y_block, dtype=np.float64).reshape(-1)
        return score.conformity_scores(target, y_pred, X=X_block)

    scores = _lazy_scores(block_scores, X, y)
    estimator.conformity_score_ = score
    estimator.conformity_scores_ = scores
    estimator._calibration_weight = None
    estimator._dask_table = DaskScoreTable(scores)
    levels, scalar = estimator._levels()
    quantiles = estimator._quantiles(levels)
    estimator.quantiles_ = quantiles[..., 0] if scalar else quantiles
    return estimator


def dask_binned_calibration_error(
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
    """Binned calibration error of Dask predictions.

    One pass: every block returns its per-bin sums of weights, confidences
    and outcomes (the NumPy metric's own ``_bin_statistics``), which add up
    over blocks; the error is computed from the totals. Labels are resolved
    globally first (one pass over ``y_true``), as the NumPy metric does. The
    equal-mass bins of ``strategy="quantile"`` (unweighted) have the NumPy
    edges, order statistics of all the confidences found by exact
    distributed selection (:func:`quantile_edges`), before that pass.
    """
    from ..metrics._binning import _bin_statistics, _calibration_error_from_stats
    from ..metrics._calibration import _confidence_outcome, _prepare

    y_prob = as_row_chunked(y_prob)
    y_true = rows_like(y_true, y_prob, name="y_true")
    seen = dask_unique(y_true)
    if y_prob.ndim == 2 and labels is None:
        k = y_prob.shape[1]
        integers = seen.dtype.kind in "iub" and np.all((seen >= 0) & (seen < k))
        labels = np.arange(k) if integers else seen
    if y_prob.ndim == 1 and pos_label is None:
        present = set(seen.tolist())
        if any(present <= s for s in _BINARY_LABEL_SETS):
            # As check_proba_targets decides from all the labels (a block may
            # hold one label only).
            pos_label = True if seen.dtype == bool else 1
    weight = rows_like(sample_weight, y_prob, name="sample_weight")
    arrays = [y_true, y_prob] + ([] if weight is None else [weight])

    def block_confidence(y_block, p_block, w_block=None):
        xp, dev, y_idx, proba, is_1d, w = _prepare(
            y_block, p_block, labels, pos_label, w_block
        )
        return _confidence_outcome(proba, y_idx, w, is_1d, multi_class, xp, dev)

    edges = None
    if strategy == "quantile" and n_bins > 1:
        if weight is not None:
            raise ValueError(
                "strategy='quantile' with sample_weight is not available for Dask "
                "arrays (equal-mass bins of weighted rows); use strategy='uniform' "
                "or compute the arrays first."
            )
        # One column of confidences per binned set (classes for "classwise");
        # the marginal binning pools all the (row, class) entries.
        pooled = multi_class == "marginal" and y_prob.ndim == 2

        def columns(*blocks):
            conf = block_confidence(*blocks)[0]
            return conf.reshape(blocks[0].shape[0], -1) if pooled else conf.T

        probe = columns(*(a[:1].compute() for a in arrays))
        conf = map_row_blocks(
            columns, arrays, probe.shape[1:], probe.dtype, token="confidence"
        )
        if pooled:
            conf = conf.reshape(-1, 1)
        edges = np.stack(
            [quantile_edges(conf[:, c], n_bins) for c in range(conf.shape[1])]
        )

    def block_stats(*blocks):
        conf, outcome, weights = block_confidence(*blocks)
        stats = _bin_statistics(
            conf,
            outcome,
            weights,
            n_bins=n_bins,
            strategy=strategy,
            xp=np_compat,
            device="cpu",
            edges=edges,
        )
        return np.stack(stats)

    w_sum, conf_sum, out_sum = reduce_row_blocks(block_stats, arrays)
    per_column = _calibration_error_from_stats(
        w_sum, conf_sum, out_sum, norm=norm, xp=np_compat
    )
    return float(np.mean(per_column))


def fit_ood_detector_dask(estimator, X, y=None):
    """Fit an OOD detector and its threshold on Dask arrays.

    Detectors without learned parameters (logit scores: energy, MSP, ...)
    score every row lazily and take ``offset_`` from the exact distributed
    selection of the same order statistic as NumPy. For
    :class:`~skcalib.ood.MahalanobisDetector`, a random ``calibration_size``
    fraction of the rows (a Bernoulli draw per row from ``random_state``, so
    their number is close to, not exactly, NumPy's) calibrates; the others
    give the class means and the tied covariance from per-block sums (counts
    and class sums in one pass, then ``X_c^T X_c`` and ``sum ||x_c||^4`` of
    the centred rows in a second), with Ledoit-Wolf shrinkage as in NumPy.

    ``calibration_scores_`` is then the lazy Dask array of the calibration
    scores (NaN on the other rows): p-values (``score_pvalues``,
    ``predict_fdr``) need them all and are not available.
    """
    from sklearn.utils import check_random_state

    from ..ood._base import BaseOODDetector
    from ..ood._mahalanobis import MahalanobisDetector, RelativeMahalanobisDetector

    name = type(estimator).__name__
    learned = type(estimator)._fit is not BaseOODDetector._fit
    gaussian = (MahalanobisDetector, RelativeMahalanobisDetector)
    if learned and type(estimator) not in gaussian:
        raise TypeError(
            f"{name} cannot be fitted on Dask arrays yet (MahalanobisDetector, "
            "RelativeMahalanobisDetector and the detectors without learned "
            "parameters can); fit it on a NumPy sample, X.compute(), and score "
            "Dask arrays lazily afterwards."
        )
    if estimator._y_usage == "required":
        _require_y(name, y)
    X = as_row_chunked(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array for X, got shape {tuple(X.shape)}.")
    estimator.n_features_in_ = int(X.shape[1])
    n = int(X.shape[0])
    calibrates = None
    if learned:
        size = estimator.calibration_size
        estimator._n_calibration(n)  # an error if no row is left to fit on
        fraction = size / n if isinstance(size, int | np.integer) else float(size)
        seed = check_random_state(estimator.random_state).randint(2**31 - 1)
        import dask.array as da

        draws = da.random.default_rng(seed).random(n, chunks=X.chunks[0])
        calibrates = draws < fraction
        _fit_mahalanobis(estimator, X, y, ~calibrates)

    fitted = shippable(estimator)

    def block_scores(X_block, calibrates_block=None):
        scores = fitted._score(_checked_block(X_block), xp=np_compat)
        if calibrates_block is None:
            return scores
        return np.where(calibrates_block, scores, np.nan)

    arrays = [X] + ([] if calibrates is None else [calibrates])
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    scores = map_row_blocks(block_scores, arrays, (), dtype, token="ood-scores")
    n_cal = n if calibrates is None else int(calibrates.sum().compute())
    estimator.calibration_scores_ = scores
    if estimator.contamination is None:
        rank = max(1, _conformal_rank(n_cal, estimator.tpr))
        (upper,) = order_statistics(-scores, [rank], n_cal)
        if np.isinf(upper):
            estimator._warn_too_few(n_cal)
        estimator.offset_ = -float(upper)
        return estimator
    # NumPy's _lower_tail_threshold on the scores of every fit row.
    if calibrates is not None:
        scores = map_row_blocks(block_scores, [X], (), dtype, token="ood-scores")
    position = float(estimator.contamination) * (n - 1)
    low = int(np.floor(position))
    a, b = order_statistics(scores, [low + 1, min(low + 2, n)], n)
    estimator.offset_ = float(a + (position - low) * (b - a))
    return estimator


def _fit_mahalanobis(estimator, X, y, fits):
    """Class means and tied covariance of the rows where ``fits``, by moments."""
    from ..ood._mahalanobis import (
        RelativeMahalanobisDetector,
        _covariance_from_moments,
        _gaussian,
    )

    if y is not None:
        y = rows_like(y, X, name="y")
        estimator.classes_ = dask_unique(y)
        classes = estimator.classes_
        y_idx = map_row_blocks(
            lambda b: encode_labels(b, classes), [y], (), np.int64, token="encode"
        )
    else:
        estimator.classes_ = np.zeros(1, dtype=np.int64)
        y_idx = map_row_blocks(
            lambda b: np.zeros(b.shape[0], np.int64), [X], (), np.int64, token="zeros"
        )
    k, d = estimator.classes_.shape[0], X.shape[1]

    def sums(X_block, y_block, fits_block):
        x = _checked_block(X_block).astype(np.float64)[fits_block]
        labels = y_block[fits_block]
        counts = np.bincount(labels, minlength=k)
        class_sums = np.zeros((k, d))
        np.add.at(class_sums, labels, x)
        return np.concatenate([counts, class_sums.ravel()])

    first = reduce_row_blocks(sums, [X, y_idx, fits])
    counts, class_sums = first[:k], first[k:].reshape(k, d)
    n_fit = counts.sum()
    estimator._n_calibration(X.shape[0], n_fit=n_fit)
    means = class_sums / np.where(counts > 0, counts, 1)[:, None]

    location = class_sums.sum(axis=0) / n_fit
    # RelativeMahalanobisDetector: the background Gaussian of all the rows too.
    relative = isinstance(estimator, RelativeMahalanobisDetector)

    def moments(X_block, y_block, fits_block):
        x = np.asarray(X_block, dtype=np.float64)[fits_block]
        centred = [x - means[y_block[fits_block]]]
        if relative:
            centred.append(x - location)
        out = []
        for c in centred:
            norms = np.sum(c * c, axis=1)
            out += [(c.T @ c).ravel(), [norms @ norms]]
        return np.concatenate(out)

    second = reduce_row_blocks(moments, [X, y_idx, fits]).reshape(-1, d * d + 1)
    dtype = np.float32 if X.dtype == np.float32 else np.float64

    def gaussian(sums):
        gram, fourth = sums[:-1].reshape(d, d), sums[-1]
        covariance, shrinkage = _covariance_from_moments(
            gram, n_fit, estimator.shrinkage, lambda: fourth, xp=np_compat
        )
        return _gaussian(covariance, shrinkage, dtype, xp=np_compat)

    estimator.covariance_, estimator._whitening, estimator.shrinkage_ = gaussian(
        second[0]
    )
    if relative:
        estimator.background_covariance_, estimator._background_whitening, _ = gaussian(
            second[1]
        )
    estimator.means_ = means.astype(dtype)
    estimator.class_count_ = counts.astype(np.int64)
    estimator.location_ = location.astype(dtype)
    estimator._update_projection(xp=np_compat)
