"""Conformalized quantile regression (Romano, Patterson and Candès 2019)."""

from decimal import Decimal
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import QuantileRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

from ..base import ConformalRegressorMixin
from ..utils._array_api import get_namespace_and_device, move_to
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _safe_indexing,
)
from ._common import CALIBRATION_SIZE_CONSTRAINT, _CalibrationSplitMixin
from ._regression import _ConformalRegressionMixin, _predict
from .scores._regression import QUANTILE_ALIASES, CQRScore

__all__ = ["ConformalizedQuantileRegressor"]

# Estimator class name -> (parameter setting the quantile, (loss parameter, the
# value it needs) or None). Pipelines are looked through to their last step.
_QUANTILE_PARAMS = {
    "QuantileRegressor": ("quantile", None),
    "GradientBoostingRegressor": ("alpha", ("loss", "quantile")),
    "HistGradientBoostingRegressor": ("quantile", ("loss", "quantile")),
    "LGBMRegressor": ("alpha", ("objective", "quantile")),
}


def _quantile_param(estimator, quantile_param):
    """Name of the (``set_params``) parameter setting the quantile of ``estimator``."""
    if quantile_param is not None:
        return quantile_param
    prefix, final = "", estimator
    while isinstance(final, Pipeline):
        name, final = final.steps[-1]
        prefix += f"{name}__"
    entry = _QUANTILE_PARAMS.get(type(final).__name__)
    if entry is None:
        raise ValueError(
            f"Cannot tell which parameter of {type(final).__name__} sets the "
            f"quantile it estimates (known: {sorted(_QUANTILE_PARAMS)}); pass its "
            "name as quantile_param."
        )
    param, loss = entry
    if loss is not None and final.get_params().get(loss[0]) != loss[1]:
        raise ValueError(
            f"{type(final).__name__} estimates quantiles only with "
            f"{loss[0]}={loss[1]!r}, got {loss[0]}={final.get_params().get(loss[0])!r}."
        )
    return prefix + param


class ConformalizedQuantileRegressor(
    _CalibrationSplitMixin,
    _ConformalRegressionMixin,
    ConformalRegressorMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """Conformalized quantile regression (CQR): adaptive intervals with coverage.

    One ``fit(X, y)`` trains quantile regressors for the lower and upper
    quantiles ``q_lo`` and ``q_hi`` on part of the data and scores the other,
    held-out *calibration* part with ``max(q_lo(x) - y, y - q_hi(x))``
    (Romano, Patterson and Candès 2019). For a confidence level
    ``1 - alpha``, ``predict_interval(X)`` returns ``[q_lo(x) - Q, q_hi(x) +
    Q]``, with ``Q`` the ``ceil((n + 1)(1 - alpha))``-th smallest of the
    ``n`` calibration scores: for exchangeable data ``P(y in interval) >= 1 -
    alpha`` whatever the quantile models, and the intervals inherit their
    adaptivity (wide where the noise is large). ``confidence_level`` is read
    when predicting: changing it needs no refit, and a list of levels gives
    all the intervals at once.

    The quantile models themselves are fitted for one level, ``nominal_level``
    (by default the ``confidence_level`` set at fit time): they estimate the
    ``(1 - nominal_level) / 2`` and ``(1 + nominal_level) / 2`` quantiles, and
    ``Q`` corrects them to any other level. Intervals are narrowest at levels
    near ``nominal_level``; refit with another ``nominal_level`` to target a
    level far from it.

    With fitted models wrapped in :class:`~sklearn.frozen.FrozenEstimator`,
    passed as a list ``[lower, upper]`` or ``[lower, upper, median]``, nothing
    is refitted and all of ``X`` calibrates.

    Parameters
    ----------
    estimator : estimator, or list of FrozenEstimator, default=None
        A quantile regressor, cloned and fitted once per quantile with its
        quantile parameter (``quantile_param``) set: the lower, the upper and,
        with ``point_prediction="median"``, the median. ``None`` uses
        :class:`~sklearn.linear_model.QuantileRegressor` without penalty
        (``alpha=0``, linear quantiles; prefer
        :class:`~sklearn.ensemble.HistGradientBoostingRegressor` with
        ``loss="quantile"`` for non-linear or large data). Or a list of two or
        three fitted models in :class:`~sklearn.frozen.FrozenEstimator`:
        lower, upper and optionally median quantile, used as they are.
    conformity_score : "cqr" or CQRScore, default="cqr"
        The score: ``"cqr"`` is :class:`~skcalib.conformal.scores.CQRScore`
        (one correction for both sides); ``CQRScore(symmetric=False)``
        calibrates each side separately at level ``(1 + confidence_level) /
        2``.
    confidence_level : float or array-like of float in (0, 1), default=0.9
        Target coverage, read at prediction time. With a list, the intervals
        of all levels are stacked on a last axis.
    nominal_level : float in (0, 1), default=None
        Coverage the quantile models are fitted for. ``None``: the
        ``confidence_level`` at fit time (the highest of a list). Unused with
        frozen models.
    point_prediction : {"median", "midpoint"}, default="median"
        What :meth:`predict` returns: the prediction of a third model fitted
        for the median (the third frozen model), or the midpoint of the two
        quantiles (no third model is fitted).
    quantile_param : str, default=None
        Name of the estimator's parameter that sets the quantile it estimates,
        as :meth:`~sklearn.base.BaseEstimator.set_params` takes it (e.g.
        ``"regressor__quantile"``). ``None`` knows
        :class:`~sklearn.linear_model.QuantileRegressor` (``quantile``),
        :class:`~sklearn.ensemble.GradientBoostingRegressor` (``alpha``),
        :class:`~sklearn.ensemble.HistGradientBoostingRegressor`
        (``quantile``) and LightGBM's ``LGBMRegressor`` (``alpha``), also as
        the last step of a :class:`~sklearn.pipeline.Pipeline`; the boosting
        models must have the quantile loss.
    calibration_size : float, int or cross-validation splitter, default=0.3
        The rows that calibrate (unused with frozen models): a fraction in
        (0, 1) or a number of rows drawn at random with ``random_state``, or a
        splitter whose first split gives the training and calibration rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the calibration split.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted (or frozen) models of the lower quantile, the upper
        quantile and, when there is one, the median.
    nominal_level_ : float or None
        The level the quantile models were fitted for (``None`` when frozen).
    n_features_in_ : int
        Number of features seen during ``fit`` (when ``X`` has columns).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.
    conformity_score_ : CQRScore
        The score used.
    conformity_scores_ : array of shape (n_calibration,) or (n_calibration, 2)
        Scores of the calibration samples (two columns, lower and upper side,
        when the score is not symmetric), in the namespace and device of the
        models' predictions.
    quantiles_ : array
        Corrections ``(Q_lo, Q_hi)`` of the lower and upper quantiles at the
        ``confidence_level`` set at fit time: shape ``(2,)`` for one level,
        ``(2, n_levels)`` for a list. ``predict_interval`` recomputes them
        when the level changes.

    See Also
    --------
    SplitConformalRegressor : intervals around a point prediction.
    skcalib.conformal.scores.CQRScore : the conformity score.

    Notes
    -----
    **Empty sets.** ``Q`` is negative when the quantile band covers more than
    needed. Where it is more negative than half the band is wide (or where
    the quantile models cross) the conformal set is empty; it is returned as
    the zero-width interval at the midpoint, so that ``lower <= upper``.

    **Weights.** With ``sample_weight``, ``Q`` is the weighted conformal
    quantile (as in :class:`SplitConformalRegressor`), and the weights are
    passed to the quantile models' ``fit`` when they accept them.

    **Small calibration sets.** With fewer than ``level / (1 - level)``
    calibration samples (``(1 + level) / (1 - level)`` for the asymmetric
    score) the finite-sample quantile does not exist: a warning is raised and
    the intervals are infinite.

    **MAPIE.** The intervals and point predictions equal those of MAPIE's
    ``ConformalizedQuantileRegressor`` fitted on the same training rows (or
    with ``prefit=True`` and the same three models), with
    ``predict_interval(..., symmetric_correction=True)`` for ``"cqr"`` and
    MAPIE's default ``symmetric_correction=False`` for
    ``CQRScore(symmetric=False)``. MAPIE fits its models for the one
    confidence level given at construction and returns inverted intervals for
    empty sets (it warns); it fits ``QuantileRegressor(solver="highs-ds")`` by
    default.

    References
    ----------
    Romano, Y., Patterson, E. and Candès, E. (2019). Conformalized quantile
    regression. Advances in Neural Information Processing Systems 32.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.conformal import ConformalizedQuantileRegressor
    >>> from skcalib.metrics import interval_coverage_score, mean_interval_width
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(0, 4, size=(2000, 1))
    >>> y = X[:, 0] + rng.normal(scale=0.1 + X[:, 0])  # noise grows with x
    >>> reg = ConformalizedQuantileRegressor(random_state=0).fit(X[:1500], y[:1500])
    >>> intervals = reg.predict_interval(X[1500:])
    >>> intervals.shape
    (500, 2)
    >>> float(interval_coverage_score(y[1500:], intervals))
    0.884
    >>> reg.predict_interval(np.array([[0.5], [3.5]])).round(1)  # adaptive widths
    array([[-0.5,  1.4],
           [-2.4,  9.2]])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), list, tuple, None],
        "conformity_score": [StrOptions(set(QUANTILE_ALIASES)), CQRScore],
        "confidence_level": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "nominal_level": [Interval(Real, 0, 1, closed="neither"), None],
        "point_prediction": [StrOptions({"median", "midpoint"})],
        "quantile_param": [str, None],
        "calibration_size": CALIBRATION_SIZE_CONSTRAINT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        conformity_score="cqr",
        confidence_level=0.9,
        nominal_level=None,
        point_prediction="median",
        quantile_param=None,
        calibration_size=0.3,
        random_state=None,
    ):
        self.estimator = estimator
        self.conformity_score = conformity_score
        self.confidence_level = confidence_level
        self.nominal_level = nominal_level
        self.point_prediction = point_prediction
        self.quantile_param = quantile_param
        self.calibration_size = calibration_size
        self.random_state = random_state

    def _default_estimator(self):
        return QuantileRegressor(alpha=0.0, solver="highs")

    def _get_estimator(self):
        # A list of frozen models lends the tags (and routing) of its first one.
        if isinstance(self.estimator, list | tuple):
            return self.estimator[0] if self.estimator else self._default_estimator()
        return super()._get_estimator()

    def _frozen_models(self):
        """The list of frozen models, or None when the models are to be fitted."""
        estimator = self.estimator
        if isinstance(estimator, FrozenEstimator):
            raise ValueError(
                "A single FrozenEstimator cannot give two quantiles: pass the fitted "
                "models as a list, estimator=[FrozenEstimator(lower), "
                "FrozenEstimator(upper), FrozenEstimator(median)] (the median is "
                "optional with point_prediction='midpoint')."
            )
        if not isinstance(estimator, list | tuple):
            return None
        if len(estimator) not in (2, 3) or not all(
            isinstance(model, FrozenEstimator) for model in estimator
        ):
            raise ValueError(
                "estimator given as a list must hold two or three fitted models "
                "wrapped in FrozenEstimator (lower quantile, upper quantile and "
                f"optionally median), got {estimator!r}. To fit the models here, "
                "pass one quantile regressor."
            )
        if len(estimator) == 2 and self.point_prediction == "median":
            raise ValueError(
                "point_prediction='median' needs a third (median) model in "
                "estimator; pass three models or point_prediction='midpoint'."
            )
        return list(estimator)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the quantile models on part of the data and calibrate on the rest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples: weighted conformal quantile, and passed to
            the quantile models' ``fit`` when they accept them.
        **fit_params : dict
            Passed to the quantile models' ``fit`` (or routed, with metadata
            routing enabled).

        Returns
        -------
        self : object
            The fitted predictor.
        """
        X, y, sw = self._validate_fit_data(X, y, sample_weight)
        rng = check_random_state(self.random_state)
        score = (
            QUANTILE_ALIASES[self.conformity_score]()
            if isinstance(self.conformity_score, str)
            else clone(self.conformity_score)
        )
        score._check_params()
        models = self._frozen_models()
        if models is not None:
            self.estimators_ = models
            self.nominal_level_ = None
            rows = np.arange(y.shape[0])
            X_cal = X
        else:
            estimator = self._get_estimator()
            name = _quantile_param(estimator, self.quantile_param)
            level = self.nominal_level
            if level is None:
                level = float(np.max(self._levels()[0]))
            # In decimal, so that 0.9 gives the quantiles 0.05 and 0.95 exactly.
            decimal_level = Decimal(str(level))
            taus = [float((1 - decimal_level) / 2), float((1 + decimal_level) / 2)]
            if self.point_prediction == "median":
                taus.append(0.5)
            train, rows, params = self._split(
                X, y, sample_weight, None, fit_params, rng
            )
            self.estimators_ = [
                self._fit_estimator(X, y, params, train, **{name: tau}) for tau in taus
            ]
            self.nominal_level_ = level
            X_cal = _safe_indexing(X, rows)
        self._calibrate(score, y, self._bands(X_cal), sw, rows)
        return self

    def _bands(self, X):
        """Predicted lower and upper quantiles, shape (n_samples, 2)."""
        lower = _predict(self.estimators_[0], X)
        xp, dev = get_namespace_and_device(lower)
        upper = move_to(_predict(self.estimators_[1], X), xp=xp, device=dev)
        return xp.stack([lower, xp.astype(upper, lower.dtype)], axis=1)

    def _quantiles(self, levels):
        """Corrections of the lower and upper quantiles, shape (2, n_levels)."""
        return self.conformity_score_.thresholds(
            self.conformity_scores_,
            [float(level) for level in levels],
            sample_weight=self._calibration_weight,
        )

    def _score_levels(self, levels):
        return self.conformity_score_.score_levels(levels)

    def predict(self, X):
        """Point prediction: the median model, or the midpoint of the quantiles.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        y_pred : array of shape (n_samples,)
        """
        self._check_X(X)
        if self.point_prediction == "median":
            return _predict(self.estimators_[2], X)
        bands = self._bands(X)
        return (bands[:, 0] + bands[:, 1]) / 2

    def _interval_inputs(self, X):
        self._check_X(X)
        return self._bands(X)

    def _intervals(self, X, bands, levels, quantiles):
        return self.conformity_score_.intervals(bands, quantiles)
