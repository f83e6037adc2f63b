"""Split conformal regressor: prediction intervals with guaranteed coverage."""

import warnings
from numbers import Real

import numpy as np
from array_api_compat import is_array_api_obj
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.linear_model import LinearRegression
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, column_or_1d

from ..base import ConformalRegressorMixin
from ..utils._array_api import (
    conformal_quantile,
    get_namespace_and_device,
    move_to,
    to_numpy,
)
from ..utils._dask import is_dask_array
from ..utils._dask_fit import fit_split_conformal_regressor_dask
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _safe_indexing,
)
from ._common import (
    CALIBRATION_SIZE_CONSTRAINT,
    _CalibrationSplitMixin,
    _ConformalFitMixin,
    calibration_size_text,
    host_sample_weight,
    min_calibration_size,
    weights_like,
)
from .scores import BaseRegressionScore, resolve_conformity_score
from .scores._regression import ALIASES

__all__ = ["SplitConformalRegressor"]


def _predict(estimator, X):
    """``estimator.predict(X)`` as a 1-D floating array (its namespace and device)."""
    y_pred = estimator.predict(X)
    xp, dev = get_namespace_and_device(y_pred)
    if not hasattr(y_pred, "shape"):
        y_pred = xp.asarray(np.asarray(y_pred, dtype=float), device=dev)
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred[:, 0]
    if y_pred.ndim != 1:
        raise ValueError(
            f"{type(estimator).__name__}.predict must return an array of shape "
            f"(n_samples,), got shape {tuple(y_pred.shape)}."
        )
    if not xp.isdtype(y_pred.dtype, "real floating"):
        y_pred = xp.astype(y_pred, xp.float64)
    return y_pred


class _ConformalRegressionMixin(_ConformalFitMixin):
    """Fit validation, calibration, thresholds and intervals of the regressors.

    Shared by :class:`SplitConformalRegressor`,
    :class:`~skcalib.conformal.CrossConformalRegressor` and
    :class:`~skcalib.conformal.ConformalizedQuantileRegressor`: ``fit`` ends
    with :meth:`_calibrate`, and subclasses define ``_interval_inputs(X)``
    (checks ``X`` and predicts what the intervals are built from) and
    ``_intervals(X, inputs, levels, quantiles)`` (the intervals, with a last
    axis of levels).
    """

    def _default_estimator(self):
        return LinearRegression()

    def _validate_fit_data(self, X, y, sample_weight):
        """``X`` (indexable), ``y`` as float64 NumPy and host weights (or None)."""
        X, y = self._check_fit_X_y(X, y)
        y = check_array(
            to_numpy(y) if is_array_api_obj(y) else y,
            ensure_2d=False,
            dtype="numeric",
            input_name="y",
        )
        y = column_or_1d(y, warn=True).astype(np.float64, copy=False)
        return X, y, host_sample_weight(sample_weight, y.shape[0])

    def _calibrate(self, score, y, predictions, sample_weight, rows, **score_params):
        """Score the calibration ``rows``; store the scores, weights and thresholds.

        ``predictions`` are those of the calibration rows; the scores live in
        their namespace and device. ``score_params`` go to the score's
        ``conformity_scores``.
        """
        xp, dev = get_namespace_and_device(predictions)
        self.conformity_score_ = score
        self.conformity_scores_ = score.conformity_scores(
            move_to(y[rows], xp=xp, device=dev), predictions, **score_params
        )
        self._calibration_weight = weights_like(
            sample_weight, rows, self.conformity_scores_
        )
        levels, scalar = self._levels()
        quantiles = self._quantiles(levels)
        self.quantiles_ = quantiles[..., 0] if scalar else quantiles

    def _quantiles(self, levels):
        """Conformal quantiles of the calibration scores, shape (n_levels,)."""
        if is_dask_array(self.conformity_scores_) or self.conformity_scores_ is None:
            # Fitted on Dask arrays (None: a copy shipped to a worker).
            return self._dask_table.quantiles(levels)[0]
        return conformal_quantile(
            self.conformity_scores_,
            [float(level) for level in levels],
            sample_weight=self._calibration_weight,
        )

    def _score_levels(self, levels):
        """Levels at which the scores' quantiles are taken for ``levels``."""
        return levels

    def _warn_if_infinite(self, quantiles, levels):
        """Warn for the levels whose thresholds (last axis) are infinite."""
        infinite = ~np.isfinite(to_numpy(quantiles))
        infinite = infinite.reshape(-1, infinite.shape[-1]).any(axis=0)
        if not infinite.any():
            return
        score_levels = self._score_levels(levels)
        shipped = self.conformity_scores_ is None  # fitted on Dask, on a worker
        n = self._dask_table.totals[0] if shipped else self.conformity_scores_.shape[0]
        total = (
            n
            if self._calibration_weight is None
            else np.sum(to_numpy(self._calibration_weight))
        )
        parts = [
            f"confidence_level={float(level):g} needs at least "
            f"{min_calibration_size(score_level)}"
            for level, score_level in zip(
                levels[infinite], score_levels[infinite], strict=True
            )
        ]
        warnings.warn(
            "The calibration set is too small for the requested confidence level: "
            f"{calibration_size_text(total)} calibration samples, and "
            f"{'; '.join(parts)}. The prediction intervals there are infinite.",
            UserWarning,
            stacklevel=3,
        )

    def predict_interval(self, X):
        """Prediction intervals at ``confidence_level``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        intervals : array of shape (n_samples, 2) or (n_samples, 2, n_levels)
            ``[:, 0]`` the lower and ``[:, 1]`` the upper bounds (closed); the
            last axis stacks the levels when ``confidence_level`` is a list.
            In the namespace and device of the model predictions.
        """
        inputs = self._interval_inputs(X)
        levels, scalar = self._levels()
        quantiles = self._quantiles(levels)
        self._warn_if_infinite(quantiles, levels)
        intervals = self._intervals(X, inputs, levels, quantiles)
        return intervals[:, :, 0] if scalar else intervals


class SplitConformalRegressor(
    _CalibrationSplitMixin,
    _ConformalRegressionMixin,
    ConformalRegressorMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """Split (inductive) conformal regressor: intervals with guaranteed coverage.

    One ``fit(X, y)`` trains the estimator on part of the data and computes
    the conformity scores of the other, held-out *calibration* part. For a
    confidence level ``1 - alpha``, ``predict_interval(X)`` returns the
    targets whose score is at most ``q``, the ``ceil((n + 1)(1 - alpha))``-th
    smallest of the ``n`` calibration scores (Lei et al. 2018): with the
    absolute residual, ``[y_hat - q, y_hat + q]``. For exchangeable data
    ``P(y in interval) >= 1 - alpha`` whatever the model and the
    distribution (and at most ``1 - alpha + 1 / (n + 1)`` without ties).
    ``confidence_level`` is read when predicting: changing it needs no refit,
    and a list of levels gives all the intervals at once.

    With a :class:`~sklearn.frozen.FrozenEstimator` (an already fitted model)
    nothing is refitted and all of ``X`` calibrates (unless the conformity
    score has a model of its own to fit, see ``calibration_size``).

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``predict``, default=None
        The regressor. ``None`` uses
        :class:`~sklearn.linear_model.LinearRegression`. Wrap a fitted model
        in :class:`~sklearn.frozen.FrozenEstimator` to use it as is.
    conformity_score : {"absolute", "gamma", "normalized"} or \
BaseRegressionScore, default="absolute"
        The conformity score, by alias or as an instance (cloned in ``fit``):
        :class:`~skcalib.conformal.scores.AbsoluteResidualScore` (intervals
        of constant width), :class:`~skcalib.conformal.scores.GammaScore`
        (width proportional to ``|y_hat|``) or
        :class:`~skcalib.conformal.scores.NormalizedResidualScore` (width
        proportional to a difficulty ``sigma(x)`` learned on the training
        rows).
    confidence_level : float or array-like of float in (0, 1), default=0.9
        Target coverage, read at prediction time. With a list, the intervals
        of all levels are stacked on a last axis.
    calibration_size : float, int or cross-validation splitter, default=0.3
        The rows that calibrate: a fraction in (0, 1) or a number of rows
        drawn at random with ``random_state``, or a splitter whose first
        split gives the training and calibration rows. Unused with a
        ``FrozenEstimator``, unless the score has a model of its own to fit
        (``"normalized"``): the training rows then fit that model only.
    random_state : int, RandomState instance or None, default=None
        Seeds the calibration split.

    Attributes
    ----------
    estimator_ : estimator
        The fitted (or frozen) regressor.
    n_features_in_ : int
        Number of features seen during ``fit`` (when ``X`` has columns).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.
    conformity_score_ : BaseRegressionScore
        The score used (tuned on the training rows when it has a model of its
        own, e.g. with the fitted difficulty model of
        :class:`~skcalib.conformal.scores.NormalizedResidualScore`).
    conformity_scores_ : array of shape (n_calibration,)
        Scores of the calibration samples, in the namespace and device of the
        estimator's predictions.
    quantiles_ : array
        Thresholds at the ``confidence_level`` set at fit time: 0-d for one
        level, shape ``(n_levels,)`` for a list. ``predict_interval``
        recomputes them when the level changes.

    See Also
    --------
    SplitConformalClassifier : prediction sets for classification.
    skcalib.metrics.interval_coverage_score : fraction of targets covered.
    skcalib.metrics.mean_interval_width : average interval width.

    Notes
    -----
    **Weights.** With ``sample_weight``, the threshold is the weighted
    conformal quantile: the smallest score ``s`` with
    ``sum_{s_i <= s} w_i >= level * (sum_i w_i + 1)``; integer weights give
    the quantile of the rows repeated. The weights are also passed to the
    estimator's ``fit`` when it accepts them.

    **Small calibration sets.** With fewer than ``level / (1 - level)``
    calibration samples the finite-sample quantile does not exist: a warning
    is raised and the intervals are infinite.

    The intervals equal those of MAPIE's ``SplitConformalRegressor`` with
    ``prefit=True`` on the same model and calibration data (for ``"gamma"``,
    MAPIE's ``GammaConformityScore(sym=True)``).

    References
    ----------
    Vovk, V., Gammerman, A. and Shafer, G. (2005). Algorithmic Learning in a
    Random World. Springer.

    Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J. and Wasserman, L.
    (2018). Distribution-free predictive inference for regression. JASA.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import train_test_split
    >>> from skcalib.conformal import SplitConformalRegressor
    >>> from skcalib.metrics import interval_coverage_score
    >>> X, y = make_regression(n_samples=2000, n_features=4, noise=10.0,
    ...                        random_state=0)
    >>> X_fit, X_test, y_fit, y_test = train_test_split(X, y, random_state=0)
    >>> reg = SplitConformalRegressor(confidence_level=0.9, random_state=0)
    >>> reg.fit(X_fit, y_fit).predict_interval(X_test).shape
    (500, 2)
    >>> intervals = reg.set_params(confidence_level=[0.8, 0.95]).predict_interval(
    ...     X_test)
    >>> intervals.shape
    (500, 2, 2)
    >>> interval_coverage_score(y_test, intervals)
    array([0.826, 0.97 ])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "conformity_score": [StrOptions(set(ALIASES)), BaseRegressionScore],
        "confidence_level": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "calibration_size": CALIBRATION_SIZE_CONSTRAINT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        conformity_score="absolute",
        confidence_level=0.9,
        calibration_size=0.3,
        random_state=None,
    ):
        self.estimator = estimator
        self.conformity_score = conformity_score
        self.confidence_level = confidence_level
        self.calibration_size = calibration_size
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train the estimator on part of the data and calibrate on the rest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples: weighted conformal quantile, and passed to
            the estimator's ``fit`` when it accepts them.
        **fit_params : dict
            Passed to the estimator's ``fit`` (or routed, with metadata
            routing enabled).

        Returns
        -------
        self : object
            The fitted predictor.
        """
        if is_dask_array(X):
            return fit_split_conformal_regressor_dask(self, X, y, sample_weight)
        X, y, sw = self._validate_fit_data(X, y, sample_weight)
        rng = check_random_state(self.random_state)
        score = resolve_conformity_score(self.conformity_score, task="regression")
        needs_tuning = score._needs_tuning()
        # The training rows fit the estimator and/or the score's own model.
        train, rows, X_cal = self._fit_split(
            X, y, sample_weight, None, fit_params, rng, split_frozen=needs_tuning
        )
        if needs_tuning:
            X_train = _safe_indexing(X, train)
            score = score.tune(
                X_train,
                y[train],
                _predict(self.estimator_, X_train),
                sample_weight=None if sw is None else sw[train],
            )
        self._calibrate(score, y, _predict(self.estimator_, X_cal), sw, rows, X=X_cal)
        return self

    def predict(self, X):
        """Point prediction of the underlying model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        y_pred : array of shape (n_samples,)
        """
        self._check_X(X)
        return _predict(self.estimator_, X)

    def _interval_inputs(self, X):
        return self.predict(X)

    def _intervals(self, X, y_pred, levels, quantiles):
        return self.conformity_score_.intervals(y_pred, quantiles, X=X)
