"""Cross-conformal regressor: CV+, jackknife+, jackknife+-after-bootstrap, min-max."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import LeaveOneOut, check_cv
from sklearn.utils import check_random_state

from ..base import ConformalRegressorMixin
from ..utils._array_api import (
    _conformal_rank,
    float_dtype,
    get_namespace_and_device,
    move_to,
    partition_rows,
)
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _safe_indexing,
)
from ._regression import _ConformalRegressionMixin, _predict
from .scores import BaseRegressionScore, resolve_conformity_score
from .scores._regression import ALIASES

__all__ = ["CrossConformalRegressor"]

# Largest (test rows x calibration rows [x models]) block built at once when
# predicting: bounds the memory of the jackknife+ candidate matrices.
_MAX_BLOCK = 2**22


def _row_blocks(n_rows, n_cols):
    """Slices of at most ``_MAX_BLOCK // n_cols`` rows covering ``range(n_rows)``."""
    step = max(1, _MAX_BLOCK // max(n_cols, 1))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def _masked_median(values, mask, counts, *, xp, device):
    """Median over the last axis of the entries of ``values`` where ``mask`` holds.

    ``values`` has shape ``(..., n, B)`` (or broadcasts to it), ``mask`` the
    shape ``(n, B)`` and ``counts`` (a host int array) its row sums, all at
    least 1. Even counts average the two middle values, as
    :func:`numpy.nanmedian` does.
    """
    inf = xp.asarray(xp.inf, dtype=values.dtype, device=device)
    ordered = xp.sort(xp.where(mask, values, inf), axis=-1)
    position = xp.arange(mask.shape[1], device=device)[None, :]
    zero = xp.asarray(0.0, dtype=values.dtype, device=device)
    middle = []
    for rank in ((counts - 1) // 2, counts // 2):
        pick = position == move_to(rank, xp=xp, device=device)[:, None]
        middle.append(xp.sum(xp.where(pick, ordered, zero), axis=-1))
    return (middle[0] + middle[1]) / 2


def _row_quantiles(values, levels, weight, *, xp, device):
    """Conformal quantile of each row of ``values``, shape ``(n_rows, n_levels)``.

    Row-wise version of :func:`~skcalib.utils._array_api.conformal_quantile`:
    the ``ceil((n + 1) level)``-th smallest entry of the row, or with weights
    ``w`` (one per column) the smallest entry ``v`` of the row with
    ``sum_{values <= v} w >= level (sum w + 1)``; ``+inf`` where that does
    not exist.
    """
    n_rows, n = values.shape
    inf = xp.full((n_rows,), xp.inf, dtype=values.dtype, device=device)
    if weight is None:
        ranks = [max(1, _conformal_rank(n, float(level))) for level in levels]
        if len(ranks) <= 4:
            # One O(n) selection per level beats a sort of every row (a sort
            # per level without array-api-extra's partition).
            return xp.stack(
                [
                    partition_rows(values, r - 1, xp=xp)[:, r - 1] if r <= n else inf
                    for r in ranks
                ],
                axis=1,
            )
        ordered = xp.sort(values, axis=1)
        return xp.stack([ordered[:, r - 1] if r <= n else inf for r in ranks], axis=1)
    order = xp.argsort(values, axis=1, stable=True)
    w = xp.take(weight, xp.reshape(order, (-1,)))
    w = xp.astype(xp.reshape(w, (n_rows, n)), float_dtype(xp, device=device))
    cum = xp.cumulative_sum(w, axis=1)
    total = float(xp.sum(weight)) + 1.0
    start = xp.arange(n_rows, dtype=order.dtype, device=device) * n
    ordered = xp.take(
        xp.reshape(values, (-1,)), xp.reshape(order + start[:, None], (-1,))
    )
    out = []
    for level in levels:
        # The tolerance of conformal_quantile: integer weights give the rank.
        below = xp.astype(cum < float(level) * total * (1 - 1e-12), xp.int64)
        index = xp.sum(below, axis=1)
        found = index < n
        picked = xp.take(
            ordered, start + xp.astype(xp.where(found, index, 0 * index), start.dtype)
        )
        out.append(xp.where(found, picked, inf))
    return xp.stack(out, axis=1)


class CrossConformalRegressor(
    _ConformalRegressionMixin,
    ConformalRegressorMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """Cross-conformal regressor: CV+, jackknife+ and jackknife+-after-bootstrap.

    One ``fit(X, y)`` splits the data with ``cv``, fits a clone of the
    estimator on the training part of every split and predicts each sample
    ``i`` with the models that did not see it: the leave-out prediction
    ``mu_{-i}(x_i)`` and the conformity score ``R_i`` (for the absolute
    residual, ``|y_i - mu_{-i}(x_i)|``). Every sample trains and calibrates.
    For a test input ``x`` and a confidence level ``1 - alpha``, with ``n``
    calibration samples, ``method`` gives the interval (Barber et al. 2021):

    - ``"plus"`` (CV+, jackknife+ with ``cv="loo"``): from the
      ``floor(alpha (n + 1))``-th smallest of ``mu_{-i}(x) - R_i`` to the
      ``ceil((1 - alpha)(n + 1))``-th smallest of ``mu_{-i}(x) + R_i``.
      Coverage is at least ``1 - 2 alpha`` for exchangeable data (minus a
      term of order ``1 / n`` for K-fold CV+), and about ``1 - alpha`` in
      practice.
    - ``"minmax"`` (CV-minmax, jackknife-minmax): from
      ``min_i mu_{-i}(x) - q`` to ``max_i mu_{-i}(x) + q``, with ``q`` the
      ``ceil((1 - alpha)(n + 1))``-th smallest ``R_i``. Coverage at least
      ``1 - alpha``, with wider intervals.
    - ``"base"`` (the jackknife / cross-validation interval):
      ``predict(x) -+ q``. No guarantee when the model is unstable.

    With ``cv="bootstrap"`` the models are fitted on ``n_resamplings``
    bootstrap samples and ``mu_{-i}`` aggregates (``agg_function``) those
    whose sample misses ``i``: the jackknife+-after-bootstrap of Kim, Xu and
    Barber (2020), also at least ``1 - 2 alpha`` (their guarantee draws the
    number of resamplings at random; a fixed number is the usual practice,
    as in MAPIE). Any ``cv`` whose test parts overlap (e.g.
    :class:`~sklearn.model_selection.ShuffleSplit`, subsampling without
    replacement) is aggregated the same way.

    ``confidence_level`` is read when predicting: changing it needs no refit,
    and a list of levels gives all the intervals at once.

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``predict``, default=None
        The regressor, cloned for every split. ``None`` uses
        :class:`~sklearn.linear_model.LinearRegression`.
    conformity_score : {"absolute", "gamma"} or BaseRegressionScore, \
default="absolute"
        The conformity score, by alias or as an instance (cloned in ``fit``):
        :class:`~skcalib.conformal.scores.AbsoluteResidualScore` or
        :class:`~skcalib.conformal.scores.GammaScore` (``mu_{-i}(x) -+ R_i``
        becomes ``mu_{-i}(x) -+ R_i |mu_{-i}(x)|``).
    confidence_level : float or array-like of float in (0, 1), default=0.9
        Target coverage, read at prediction time. With a list, the intervals
        of all levels are stacked on a last axis.
    method : {"plus", "minmax", "base"}, default="plus"
        How the leave-out models give the interval (see above).
    cv : int, cross-validation generator, iterable, "loo" or "bootstrap", \
default=5
        The splits. An int is the number of folds of
        :class:`~sklearn.model_selection.KFold` (without shuffling, as in
        scikit-learn), ``"loo"`` is
        :class:`~sklearn.model_selection.LeaveOneOut` (jackknife+; ``n``
        fits), ``"bootstrap"`` draws ``n_resamplings`` bootstrap samples
        with ``random_state``. The samples in the test part of a split are
        those its model did not see; samples in no test part do not
        calibrate.
    n_resamplings : int, default=30
        Number of bootstrap samples with ``cv="bootstrap"`` (unused
        otherwise).
    agg_function : {"mean", "median"} or None, default="mean"
        How predictions of several models are combined: ``mu_{-i}`` of a
        sample that is out of the training part of several splits (with
        bootstrap or overlapping test parts), and the point prediction
        ``predict(x)``, the mean or median over the calibration samples of
        ``mu_{-i}(x)``. ``None`` fits one more model on all the data for
        ``predict`` (and ``method="base"``); it needs splits whose test
        parts are disjoint.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap samples of ``cv="bootstrap"``.
    n_jobs : int, default=None
        Number of models fitted in parallel (joblib); ``None`` means 1.

    Attributes
    ----------
    estimators_ : list of estimators
        The model of each split.
    estimator_ : estimator or None
        The model fitted on all the data with ``agg_function=None``, else
        None.
    n_features_in_ : int
        Number of features seen during ``fit`` (when ``X`` has columns).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.
    conformity_score_ : BaseRegressionScore
        The score used.
    conformity_scores_ : array of shape (n_calibration,)
        Leave-out scores ``R_i`` of the calibration samples, in the namespace
        and device of the estimator's predictions.
    calibration_indices_ : ndarray of int of shape (n_calibration,)
        Rows of the training data that calibrate (in the test part of at
        least one split), in increasing order.
    oob_mask_ : ndarray of bool of shape (n_calibration, n_estimators)
        ``oob_mask_[i, b]`` is True when ``estimators_[b]`` did not see
        calibration sample ``i`` (one True per row for K-fold and
        leave-one-out).
    quantiles_ : array
        Split-conformal quantiles ``q`` of ``conformity_scores_`` at the
        ``confidence_level`` of fit time (the thresholds of ``"minmax"`` and
        ``"base"``): 0-d for one level, shape ``(n_levels,)`` for a list.

    See Also
    --------
    SplitConformalRegressor : one model, one held-out calibration set.
    CrossConformalClassifier : CV+ prediction sets for classification.
    skcalib.metrics.interval_coverage_score : fraction of targets covered.

    Notes
    -----
    **Cost.** ``fit`` fits one model per split (``n`` for the jackknife+);
    ``predict_interval`` predicts with every model and, for ``"plus"``,
    sorts ``n`` candidate bounds per test row, in blocks of rows of bounded
    memory.

    **Weights.** ``sample_weight`` is passed to each model's ``fit`` (when it
    accepts it) and weighs the calibration samples: the ``k``-th smallest
    above becomes the smallest value ``v`` whose calibration weight
    ``sum_{values <= v} w_i`` reaches ``(1 - alpha)(sum_i w_i + 1)`` (and
    symmetrically for the lower bound), which for integer weights equals
    repeating the samples. The point prediction is not weighted.

    **Small calibration sets.** With fewer than ``level / (1 - level)``
    calibration samples the ranks above exceed ``n``: a warning is raised and
    the intervals are infinite.

    **MAPIE.** The intervals equal those of MAPIE's
    ``CrossConformalRegressor`` (same ``cv`` splitter, ``method``,
    ``aggregate_point_predictions=agg_function``) and
    ``JackknifeAfterBootstrapRegressor`` (``resampling=n_resamplings``, same
    ``random_state`` and ``aggregation_method``), with three differences.
    The ranks here are exact when ``level (n + 1)`` is an integer, while
    MAPIE's ``ceil`` of the floating-point product can take one more (e.g.
    ``0.55 * 100 = 55.00000000000001``: the 56th instead of the 55th).
    ``method="base"`` is centred on ``predict(x)`` (MAPIE always uses the
    model fitted on all the data, as ``agg_function=None`` does here). And
    ``agg_function="median"`` gives the median of the ``mu_{-i}(x)``, where
    MAPIE 1.6's ``CrossConformalRegressor`` returns their mean for
    ``aggregate_point_predictions="median"``. The point prediction with
    ``"mean"`` is, as in MAPIE, the mean over calibration samples of
    ``mu_{-i}(x)`` (for K-fold, the fold models weighted by fold size).

    References
    ----------
    Barber, R. F., Candès, E. J., Ramdas, A. and Tibshirani, R. J. (2021).
    Predictive inference with the jackknife+. Annals of Statistics, 49(1),
    486-507.

    Kim, B., Xu, C. and Barber, R. F. (2020). Predictive inference is free
    with the jackknife+-after-bootstrap. NeurIPS 33.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import train_test_split
    >>> from skcalib.conformal import CrossConformalRegressor
    >>> from skcalib.metrics import interval_coverage_score
    >>> X, y = make_regression(n_samples=2000, n_features=4, noise=10.0,
    ...                        random_state=0)
    >>> X_fit, X_test, y_fit, y_test = train_test_split(X, y, random_state=0)
    >>> reg = CrossConformalRegressor(cv=10, confidence_level=0.9).fit(X_fit, y_fit)
    >>> reg.predict_interval(X_test).shape
    (500, 2)
    >>> reg = reg.set_params(confidence_level=[0.8, 0.95])  # no refit
    >>> intervals = reg.predict_interval(X_test)
    >>> intervals.shape
    (500, 2, 2)
    >>> interval_coverage_score(y_test, intervals)
    array([0.784, 0.96 ])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "conformity_score": [
            StrOptions(set(ALIASES) - {"normalized"}),
            BaseRegressionScore,
        ],
        "confidence_level": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "method": [StrOptions({"plus", "minmax", "base"})],
        "cv": ["cv_object", StrOptions({"loo", "bootstrap"})],
        "n_resamplings": [Interval(Integral, 1, None, closed="left")],
        "agg_function": [StrOptions({"mean", "median"}), None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        conformity_score="absolute",
        confidence_level=0.9,
        method="plus",
        cv=5,
        n_resamplings=30,
        agg_function="mean",
        random_state=None,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.conformity_score = conformity_score
        self.confidence_level = confidence_level
        self.method = method
        self.cv = cv
        self.n_resamplings = n_resamplings
        self.agg_function = agg_function
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _splitter(self):
        if isinstance(self.cv, str):
            return LeaveOneOut() if self.cv == "loo" else None
        return check_cv(self.cv)

    def _splits(self, X, y, n_samples, split_params):
        """``(train, test)`` row indices of every split."""
        splitter = self._splitter()
        if splitter is not None:
            return [
                (train, test) for train, test in splitter.split(X, y, **split_params)
            ]
        rng = check_random_state(self.random_state)
        rows = np.arange(n_samples)
        splits = []
        for _ in range(self.n_resamplings):
            # sklearn.utils.resample's draw (and so MAPIE's Subsample's).
            train = rng.randint(0, n_samples, size=n_samples)
            splits.append((train, np.setdiff1d(rows, train)))
        return splits

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, groups=None, **fit_params):
        """Fit one model per split and compute the leave-out conformity scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples: weighted calibration, and passed to each
            model's ``fit`` when the estimator accepts them.
        groups : array-like of shape (n_samples,), default=None
            Passed to ``cv.split`` (e.g. for
            :class:`~sklearn.model_selection.GroupKFold`).
        **fit_params : dict
            Passed to the estimator's ``fit`` (or routed, with metadata
            routing enabled).

        Returns
        -------
        self : object
            The fitted predictor.
        """
        X, y, sw = self._validate_fit_data(X, y, sample_weight)
        if isinstance(self._get_estimator(), FrozenEstimator):
            raise ValueError(
                "CrossConformalRegressor fits one model per split and cannot use a "
                "FrozenEstimator; use SplitConformalRegressor for a fitted model."
            )
        n_samples = y.shape[0]
        if n_samples < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to cross-fit, got "
                f"n_samples={n_samples}."
            )
        score = resolve_conformity_score(self.conformity_score, task="regression")
        if score._needs_tuning():
            raise ValueError(
                f"{type(self).__name__} does not support {score!r}: it fits a "
                "model of its own on training rows, which cross-conformal "
                "prediction does not set apart. Use SplitConformalRegressor, or "
                "pass a score whose model is already fitted (FrozenEstimator)."
            )
        routed = self._route(sample_weight, groups, fit_params, self._splitter())
        splits = self._splits(X, y, n_samples, routed.splitter.split)
        mask = np.zeros((n_samples, len(splits)), dtype=bool)
        for b, (_, test) in enumerate(splits):
            mask[test, b] = True
        counts = mask.sum(axis=1)
        rows = np.flatnonzero(counts)
        if rows.shape[0] == 0:
            raise ValueError(
                "No sample is in the test part of any split of cv, so no sample can "
                "calibrate; use a cv whose test parts cover the data."
            )
        disjoint = bool(counts.max() == 1)
        if not disjoint and self.agg_function is None:
            raise ValueError(
                "agg_function=None needs splits whose test parts are disjoint; with "
                "cv='bootstrap' (or overlapping test parts) the models that did not "
                "see a sample are aggregated: use agg_function='mean' or 'median'."
            )
        if not disjoint and rows.shape[0] < n_samples:
            warnings.warn(
                f"{n_samples - rows.shape[0]} of the {n_samples} samples are in the "
                "training part of every split (no out-of-bag model) and do not "
                "calibrate; increase n_resamplings.",
                UserWarning,
                stacklevel=3,
            )
        trains = [train for train, _ in splits]
        if self.agg_function is None:
            trains.append(np.arange(n_samples))
        models = Parallel(n_jobs=self.n_jobs)(
            delayed(self._fit_estimator)(X, y, routed.estimator.fit, train)
            for train in trains
        )
        self.estimators_ = models[: len(splits)]
        self.estimator_ = models[-1] if self.agg_function is None else None
        self.calibration_indices_ = rows
        self.oob_mask_ = mask[rows]
        self._method, self._agg_function = self.method, self.agg_function
        oof = self._fit_leave_out(X, splits, n_samples, disjoint)
        self._calibrate(score, y, oof, sw, rows)
        return self

    def _fit_leave_out(self, X, splits, n_samples, disjoint):
        """Leave-out predictions ``mu_{-i}(x_i)`` of the calibration rows.

        Each model predicts the rows of its test part. Also stores, on the
        predictions' device, what ``predict`` needs to build ``mu_{-i}(x)``
        from the models' predictions: the split of each calibration row
        (disjoint test parts), or the out-of-bag weights and mask.
        """
        n_cal, n_models = self.oob_mask_.shape
        fitted = [
            (b, test, _predict(self.estimators_[b], _safe_indexing(X, test)))
            for b, (_, test) in enumerate(splits)
            if test.shape[0]
        ]
        xp, dev = get_namespace_and_device(fitted[0][2])
        dtype = fitted[0][2].dtype
        counts = self.oob_mask_.sum(axis=1)
        self._counts, self._mask, self._oob_weight = counts, None, None
        if disjoint:
            fold_of = np.argmax(self.oob_mask_, axis=1)
            share = np.bincount(fold_of, minlength=n_models) / n_cal
            self._fold_of = move_to(fold_of, xp=xp, device=dev)
            self._used_models = move_to(np.unique(fold_of), xp=xp, device=dev)
            self._mean_weight = xp.astype(move_to(share, xp=xp, device=dev), dtype)
            tests = np.concatenate([test for _, test, _ in fitted])
            order = move_to(np.argsort(tests, kind="stable"), xp=xp, device=dev)
            return xp.take(xp.concat([v for _, _, v in fitted], axis=0), order)
        self._fold_of = None
        self._mask = move_to(self.oob_mask_, xp=xp, device=dev)
        self._oob_weight = (
            xp.astype(self._mask, dtype)
            / xp.astype(move_to(counts, xp=xp, device=dev), dtype)[:, None]
        )
        # The share of each model in the mean over calibration rows.
        self._mean_weight = xp.mean(self._oob_weight, axis=0)
        # One column per model: its predictions on its out-of-bag rows, 0
        # elsewhere (gathered from the predictions padded with a 0).
        position = np.full(n_samples, -1)
        position[self.calibration_indices_] = np.arange(n_cal)
        columns = [xp.zeros((n_cal,), dtype=dtype, device=dev)] * n_models
        for b, test, values in fitted:
            where = np.full(n_cal, test.shape[0])
            where[position[test]] = np.arange(test.shape[0])
            padded = xp.concat([values, xp.zeros((1,), dtype=dtype, device=dev)])
            columns[b] = xp.take(padded, move_to(where, xp=xp, device=dev))
        predictions = xp.stack(columns, axis=1)
        if self.agg_function == "median":
            return _masked_median(predictions, self._mask, counts, xp=xp, device=dev)
        return xp.sum(predictions * self._oob_weight, axis=1)

    # ------------------------------------------------------------------ #
    # prediction
    # ------------------------------------------------------------------ #
    def _model_predictions(self, X):
        """Predictions of every split's model, shape (n_samples, n_estimators)."""
        self._check_X(X)
        predictions = [_predict(e, X) for e in self.estimators_]
        xp, _ = get_namespace_and_device(predictions[0])
        return xp.stack(predictions, axis=1)

    def _leave_out(self, predictions):
        """``mu_{-i}(x)`` for every row of ``predictions`` and calibration ``i``."""
        xp, dev = get_namespace_and_device(predictions)
        if self._fold_of is not None:
            return xp.take(predictions, self._fold_of, axis=1)
        if self._agg_function == "mean":
            return predictions @ xp.permute_dims(self._oob_weight, (1, 0))
        return _masked_median(
            predictions[:, None, :], self._mask, self._counts, xp=xp, device=dev
        )

    def _blocks(self, n_rows):
        n_cols = self.oob_mask_.shape[0]
        if self._fold_of is None and self._agg_function == "median":
            n_cols *= self.oob_mask_.shape[1]
        return _row_blocks(n_rows, n_cols)

    def _over_calibration(self, predictions, reduce):
        """``reduce(mu_{-i}(x) block)`` stacked over blocks of test rows."""
        xp, _ = get_namespace_and_device(predictions)
        return xp.concat(
            [
                reduce(self._leave_out(predictions[block, :]))
                for block in self._blocks(predictions.shape[0])
            ],
            axis=0,
        )

    def _point(self, X, predictions):
        if self._agg_function is None:
            return _predict(self.estimator_, X)
        if self._agg_function == "mean":
            return predictions @ self._mean_weight
        xp, _ = get_namespace_and_device(predictions)
        n_cal = self.oob_mask_.shape[0]

        def median(leave_out):
            ordered = xp.sort(leave_out, axis=1)
            return (ordered[:, (n_cal - 1) // 2] + ordered[:, n_cal // 2]) / 2

        return self._over_calibration(predictions, median)

    def predict(self, X):
        """Point prediction: ``agg_function`` of the leave-out predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        y_pred : array of shape (n_samples,)
            The mean or median over the calibration samples ``i`` of
            ``mu_{-i}(x)``, or the prediction of the model fitted on all the
            data with ``agg_function=None``.
        """
        return self._point(X, self._model_predictions(X))

    def _interval_inputs(self, X):
        return self._model_predictions(X)

    def _intervals(self, X, predictions, levels, quantiles):
        """Intervals of ``method`` from the predictions of every split's model."""
        xp, dev = get_namespace_and_device(predictions)
        score = self.conformity_score_
        if self._method == "base":
            return score.intervals(self._point(X, predictions), quantiles)
        if self._method == "plus":
            return self._over_calibration(
                predictions, lambda m: self._plus_bounds(m, levels, xp=xp, device=dev)
            )
        if self._fold_of is not None:  # the models that predict some mu_{-i}
            leave_out = xp.take(predictions, self._used_models, axis=1)
            low, high = xp.min(leave_out, axis=1), xp.max(leave_out, axis=1)
        else:
            extremes = self._over_calibration(
                predictions,
                lambda m: xp.stack([xp.min(m, axis=1), xp.max(m, axis=1)], axis=1),
            )
            low, high = extremes[:, 0], extremes[:, 1]
        return xp.stack(
            [
                score.intervals(low, quantiles)[:, 0, :],
                score.intervals(high, quantiles)[:, 1, :],
            ],
            axis=1,
        )

    def _plus_bounds(self, leave_out, levels, *, xp, device):
        """Jackknife+ bounds from the ``mu_{-i}(x)`` block, (n_rows, 2, n_levels)."""
        scores = self.conformity_scores_
        half = self.conformity_score_._half_width(leave_out, scores[None, :], xp=xp)
        weight = self._calibration_weight
        lower = -_row_quantiles(half - leave_out, levels, weight, xp=xp, device=device)
        upper = _row_quantiles(leave_out + half, levels, weight, xp=xp, device=device)
        return xp.stack([lower, upper], axis=1)
