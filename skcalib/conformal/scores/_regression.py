"""Conformity scores for regression: absolute, gamma, normalized residuals and CQR.

A regression score maps a target ``y`` and a point prediction ``y_pred`` to a
non-negative number that is *large when ``y`` is far from the prediction*.
The prediction interval at threshold ``q`` (the conformal quantile of the
calibration scores) is the set of targets whose score is at most ``q``:
``[y_pred - q, y_pred + q]`` for :class:`AbsoluteResidualScore`,
``[y_pred - q |y_pred|, y_pred + q |y_pred|]`` for :class:`GammaScore`,
``[y_pred - q sigma(x), y_pred + q sigma(x)]`` for
:class:`NormalizedResidualScore`. :class:`CQRScore` scores a pair of
predicted quantiles instead of a point prediction.

Every kernel runs on the namespace and device of ``y_pred``.
"""

from abc import abstractmethod
from numbers import Real

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import has_fit_parameter

from ...utils._array_api import (
    conformal_quantile,
    get_namespace_and_device,
    move_to,
)
from ...utils._sklearn_compat import HasMethods, Interval
from ._base import BaseConformityScore

__all__ = [
    "AbsoluteResidualScore",
    "BaseRegressionScore",
    "CQRScore",
    "GammaScore",
    "NormalizedResidualScore",
]

# Floor of the residuals (before their log is taken) and of the predicted
# difficulty sigma(x), so that scores never divide by zero (MAPIE's EPSILON).
_EPS = 1e-8


def _as_float_1d(values, name, *, xp, device, dtype=None):
    values = move_to(
        values if hasattr(values, "shape") else np.asarray(values, dtype=float),
        xp=xp,
        device=device,
    )
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"{name} must have shape (n_samples,), got shape {tuple(values.shape)}."
        )
    if dtype is None:
        dtype = values.dtype if xp.isdtype(values.dtype, "real floating") else None
        dtype = xp.float64 if dtype is None else dtype
    return xp.astype(values, dtype)


class BaseRegressionScore(BaseConformityScore):
    """Base class of the regression conformity scores.

    Subclasses implement ``_conformity_scores(y, y_pred, xp=...)`` (the score
    of each calibration pair) and ``_half_width(y_pred, q, xp=...)`` (how far
    the interval extends on each side of ``y_pred`` at threshold ``q``); the
    interval is ``[y_pred - half_width, y_pred + half_width]``.

    Scores that depend on the inputs ``X`` (such as
    :class:`NormalizedResidualScore`) take them as the ``X`` argument of
    :meth:`conformity_scores` and :meth:`intervals`; scores with a model of
    their own to fit override ``_needs_tuning`` and :meth:`tune`, which the
    conformal predictor calls with its training rows.

    Examples
    --------
    The squared residual, whose intervals are ``y_pred ± sqrt(q)``:

    >>> import numpy as np
    >>> from skcalib.conformal.scores import BaseRegressionScore
    >>> class SquaredResidualScore(BaseRegressionScore):
    ...     def _conformity_scores(self, y, y_pred, *, xp):
    ...         return (y - y_pred) ** 2
    ...     def _half_width(self, y_pred, q, *, xp):
    ...         return xp.sqrt(q)
    >>> score = SquaredResidualScore()
    >>> score.conformity_scores(np.array([1.0, 2.0]), np.array([1.5, 0.0]))
    array([0.25, 4.  ])
    >>> score.intervals(np.array([1.5, 0.0]), [4.0])[:, :, 0]
    array([[-0.5,  3.5],
           [-2. ,  2. ]])
    """

    def _needs_tuning(self):
        """Whether :meth:`tune` must be called before the score is used."""
        return False

    def tune(self, X, y, y_pred, *, sample_weight=None):
        """Return a score whose data-driven parts are learned from training rows.

        The default returns ``self``: the score learns nothing from data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs of training rows, disjoint from the calibration rows.
        y : array-like of shape (n_samples,)
            Their targets.
        y_pred : array of shape (n_samples,)
            The point predictions of the fitted model on them.
        sample_weight : array-like of shape (n_samples,), default=None
            Their weights.

        Returns
        -------
        score : BaseRegressionScore
        """
        return self

    def conformity_scores(self, y, y_pred, *, X=None):
        """Conformity score of each pair ``(y[i], y_pred[i])``.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Observed targets.
        y_pred : array of shape (n_samples,)
            Point predictions; the scores come back in its namespace and on its
            device.
        X : array-like of shape (n_samples, n_features), default=None
            The inputs, for scores that depend on them (ignored by the others).

        Returns
        -------
        scores : array of shape (n_samples,)
        """
        xp, dev = get_namespace_and_device(y_pred)
        y_pred = _as_float_1d(y_pred, "y_pred", xp=xp, device=dev)
        y = _as_float_1d(y, "y", xp=xp, device=dev, dtype=y_pred.dtype)
        if y.shape[0] != y_pred.shape[0]:
            raise ValueError(
                f"y and y_pred must have the same length, got {y.shape[0]} and "
                f"{y_pred.shape[0]}."
            )
        return self._conformity_scores(y, y_pred, xp=xp)

    def intervals(self, y_pred, quantiles, *, X=None):
        """Prediction intervals ``[lower, upper]`` around ``y_pred``.

        Parameters
        ----------
        y_pred : array of shape (n_samples,)
            Point predictions.
        quantiles : array-like of shape (n_levels,) or (n_samples, n_levels)
            Thresholds of the score (one per level, or one per sample and
            level); ``+inf`` gives infinite bounds.
        X : array-like of shape (n_samples, n_features), default=None
            The inputs, for scores that depend on them (ignored by the others).

        Returns
        -------
        intervals : array of shape (n_samples, 2, n_levels)
            ``[:, 0, :]`` the lower and ``[:, 1, :]`` the upper bounds.
        """
        xp, dev = get_namespace_and_device(y_pred)
        y_pred = _as_float_1d(y_pred, "y_pred", xp=xp, device=dev)
        q = _as_thresholds(quantiles, xp=xp, device=dev, dtype=y_pred.dtype)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2:
            raise ValueError(
                "quantiles must have shape (n_levels,) or (n_samples, n_levels), "
                f"got shape {tuple(q.shape)}."
            )
        finite = xp.isfinite(q)
        half = self._half_width(y_pred[:, None], xp.where(finite, q, 0.0), xp=xp)
        inf = xp.asarray(xp.inf, dtype=y_pred.dtype, device=dev)
        lower = xp.where(finite, y_pred[:, None] - half, -inf)
        upper = xp.where(finite, y_pred[:, None] + half, inf)
        return xp.stack([lower, upper], axis=1)

    @abstractmethod
    def _conformity_scores(self, y, y_pred, *, xp):
        """Scores of float arrays ``y`` and ``y_pred`` of shape (n_samples,)."""

    @abstractmethod
    def _half_width(self, y_pred, q, *, xp):
        """Half-width of the intervals; ``y_pred`` (n, 1), ``q`` (n or 1, n_levels)."""


def _as_thresholds(quantiles, *, xp, device, dtype):
    q = move_to(
        quantiles if hasattr(quantiles, "shape") else np.asarray(quantiles),
        xp=xp,
        device=device,
    )
    return xp.astype(q, dtype)


class AbsoluteResidualScore(BaseRegressionScore):
    """Absolute residual ``|y - y_pred|``: intervals ``y_pred ± q`` of constant width.

    The standard split-conformal regression score (Lei et al. 2018; MAPIE's
    ``AbsoluteConformityScore``): every interval has the same width ``2 q``.

    References
    ----------
    Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J. and Wasserman, L.
    (2018). Distribution-free predictive inference for regression. Journal
    of the American Statistical Association, 113(523), 1094-1111.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.conformal.scores import AbsoluteResidualScore
    >>> AbsoluteResidualScore().conformity_scores([1.0, 2.0], np.array([1.5, 1.0]))
    array([0.5, 1. ])
    >>> score = AbsoluteResidualScore()
    >>> score.intervals(np.array([1.5, 1.0]), np.array([0.5]))[:, :, 0]
    array([[1. , 2. ],
           [0.5, 1.5]])
    """

    def _conformity_scores(self, y, y_pred, *, xp):
        return xp.abs(y - y_pred)

    def _half_width(self, y_pred, q, *, xp):
        return xp.broadcast_to(q, (y_pred.shape[0], q.shape[1]))


class GammaScore(BaseRegressionScore):
    """Relative residual ``|y - y_pred| / |y_pred|``: intervals ``y_pred ± q |y_pred|``.

    The interval width grows with the magnitude of the prediction, which
    suits targets whose noise is proportional to their level (e.g. Gamma or
    log-normal distributed, positive targets). Calibration predictions must
    be non-zero. For positive predictions this is MAPIE's
    ``GammaConformityScore(sym=True)``; MAPIE's default (``sym=False``)
    calibrates the two sides of the interval separately.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.conformal.scores import GammaScore
    >>> GammaScore().conformity_scores([1.0, 3.0], np.array([2.0, 2.0]))
    array([0.5, 0.5])
    >>> GammaScore().intervals(np.array([2.0, 10.0]), np.array([0.5]))[:, :, 0]
    array([[ 1.,  3.],
           [ 5., 15.]])
    """

    def _conformity_scores(self, y, y_pred, *, xp):
        if bool(xp.any(y_pred == 0)):
            raise ValueError(
                "GammaScore divides by |y_pred|: the predictions of the "
                "calibration samples must be non-zero."
            )
        return xp.abs(y - y_pred) / xp.abs(y_pred)

    def _half_width(self, y_pred, q, *, xp):
        return q * xp.abs(y_pred)


class NormalizedResidualScore(BaseRegressionScore):
    """Normalized residual ``|y - y_pred| / sigma(x)``: interval width ``2 q sigma(x)``.

    ``sigma(x)`` estimates how hard ``x`` is to predict, so the intervals are
    wide where the model errs much and narrow where it errs little (the
    normalized nonconformity measure of Papadopoulos et al. 2008, the locally
    weighted split conformal of Lei et al. 2018). It is learned by a second
    regressor, ``sigma_estimator``, from the absolute residuals of the model
    on the *training* rows of the conformal predictor (it must not see the
    calibration rows, so that the calibration scores stay exchangeable with
    the test score and the coverage guarantee holds whatever ``sigma``).
    With ``log_residuals=True`` it is fitted to ``log max(|y - y_pred|, 1e-8)``
    and ``sigma(x) = exp(g(x))``, which is always positive; otherwise to
    ``|y - y_pred|`` with ``sigma(x) = max(g(x), 1e-8)``. ``beta`` is added
    to ``sigma``: a larger ``beta`` makes the intervals less adaptive and
    less sensitive to very small ``sigma`` (Papadopoulos et al. 2011).

    The score is stateless: :class:`~skcalib.conformal.SplitConformalRegressor`
    calls :meth:`tune`, which returns a new score whose ``sigma_estimator``
    is the fitted model wrapped in :class:`~sklearn.frozen.FrozenEstimator`.
    Pass a ``FrozenEstimator`` yourself to use an already fitted difficulty
    model as is (it must predict ``log sigma`` when ``log_residuals=True``,
    ``sigma`` otherwise).

    Parameters
    ----------
    sigma_estimator : estimator with ``fit`` and ``predict``, default=None
        The difficulty model. ``None`` uses
        :class:`~sklearn.linear_model.LinearRegression` (as MAPIE's
        ``ResidualNormalisedScore``). A ``FrozenEstimator`` is used as is.
    log_residuals : bool, default=True
        Whether ``sigma_estimator`` models the log of the absolute residuals
        (``sigma = exp(prediction)``) or the absolute residuals themselves.
    beta : float >= 0, default=0.0
        Added to ``sigma(x)``.

    See Also
    --------
    AbsoluteResidualScore : intervals of constant width.

    Notes
    -----
    Fitted on in-sample residuals, a flexible model (a deep tree, a forest)
    sees residuals smaller than on new data; the guarantee still holds, but
    ``sigma`` is then a poorer guide of the difficulty. A smoother
    ``sigma_estimator``, or a model trained on out-of-fold residuals and
    passed frozen, works better.

    MAPIE's ``ResidualNormalisedScore`` with ``prefit=True`` equals this
    score with a frozen ``sigma_estimator`` and ``log_residuals=False``
    (MAPIE's prefit model predicts ``sigma``). Without ``prefit``, MAPIE
    fits the difficulty model on a random part of the *calibration* data;
    :class:`~skcalib.conformal.SplitConformalRegressor` fits it on the
    training rows, and on the rows its ``calibration_size`` holds out when
    the model is a ``FrozenEstimator``.

    References
    ----------
    Papadopoulos, H., Gammerman, A. and Vovk, V. (2008). Normalized
    nonconformity measures for regression conformal prediction. AIA 2008.

    Papadopoulos, H., Vovk, V. and Gammerman, A. (2011). Regression
    conformal prediction with nearest neighbours. JAIR, 40, 815-840.

    Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J. and Wasserman, L.
    (2018). Distribution-free predictive inference for regression. JASA.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LinearRegression
    >>> from skcalib.conformal.scores import NormalizedResidualScore
    >>> X = np.array([[1.0], [2.0], [4.0]])
    >>> sigma = LinearRegression().fit(X, X[:, 0])  # sigma(x) = x
    >>> score = NormalizedResidualScore(FrozenEstimator(sigma), log_residuals=False)
    >>> score.conformity_scores([2.0, 0.0, 6.0], np.zeros(3), X=X)
    array([2. , 0. , 1.5])
    >>> score.intervals(np.zeros(3), np.array([1.0]), X=X)[:, :, 0]
    array([[-1.,  1.],
           [-2.,  2.],
           [-4.,  4.]])
    """

    _parameter_constraints: dict = {
        "sigma_estimator": [HasMethods(["fit", "predict"]), None],
        "log_residuals": ["boolean"],
        "beta": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, sigma_estimator=None, *, log_residuals=True, beta=0.0):
        self.sigma_estimator = sigma_estimator
        self.log_residuals = log_residuals
        self.beta = beta

    def _needs_tuning(self):
        return not isinstance(self.sigma_estimator, FrozenEstimator)

    def tune(self, X, y, y_pred, *, sample_weight=None):
        """Fit the difficulty model on training rows; return the tuned score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs of training rows (disjoint from the calibration rows).
        y : array-like of shape (n_samples,)
            Their targets.
        y_pred : array of shape (n_samples,)
            The point predictions of the fitted model on them.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to ``sigma_estimator.fit`` when it accepts weights.

        Returns
        -------
        score : NormalizedResidualScore
            A new score whose ``sigma_estimator`` is the fitted model in a
            :class:`~sklearn.frozen.FrozenEstimator`; ``self`` if it is frozen
            already.
        """
        if not self._needs_tuning():
            return self
        residuals = AbsoluteResidualScore().conformity_scores(y, y_pred)
        xp, dev = get_namespace_and_device(residuals)
        if self.log_residuals:
            eps = xp.asarray(_EPS, dtype=residuals.dtype, device=dev)
            residuals = xp.log(xp.maximum(residuals, eps))
        model = clone(
            LinearRegression() if self.sigma_estimator is None else self.sigma_estimator
        )
        params = {}
        if sample_weight is not None and has_fit_parameter(model, "sample_weight"):
            params["sample_weight"] = sample_weight
        model.fit(X, residuals, **params)
        return type(self)(
            FrozenEstimator(model), log_residuals=self.log_residuals, beta=self.beta
        )

    def difficulty(self, X):
        """The difficulty ``sigma(x)`` of each input.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs accepted by ``sigma_estimator``.

        Returns
        -------
        sigma : array of shape (n_samples,)
            Positive values, in the namespace and on the device of the
            difficulty model's predictions.
        """
        if X is None:
            raise ValueError(
                f"{type(self).__name__} depends on the inputs: X must be passed."
            )
        if self._needs_tuning():
            raise ValueError(
                f"{type(self).__name__} needs a fitted sigma_estimator: wrap a "
                "fitted model in sklearn.frozen.FrozenEstimator, or call tune() "
                "(conformal predictors do so on their training rows)."
            )
        g = self.sigma_estimator.predict(X)
        xp, dev = get_namespace_and_device(g)
        g = _as_float_1d(g, "sigma_estimator.predict(X)", xp=xp, device=dev)
        if self.log_residuals:
            g = xp.exp(g)
        eps = xp.asarray(_EPS, dtype=g.dtype, device=dev)
        return xp.maximum(g, eps) + self.beta

    def _sigma(self, X, like):
        xp, dev = get_namespace_and_device(like)
        sigma = _as_float_1d(
            self.difficulty(X), "sigma", xp=xp, device=dev, dtype=like.dtype
        )
        if sigma.shape[0] != like.shape[0]:
            raise ValueError(
                f"X has {sigma.shape[0]} samples but y_pred has {like.shape[0]}."
            )
        return sigma

    def conformity_scores(self, y, y_pred, *, X=None):
        residuals = super().conformity_scores(y, y_pred)
        return residuals / self._sigma(X, residuals)

    conformity_scores.__doc__ = BaseRegressionScore.conformity_scores.__doc__

    def intervals(self, y_pred, quantiles, *, X=None):
        xp, dev = get_namespace_and_device(y_pred)
        y_pred = _as_float_1d(y_pred, "y_pred", xp=xp, device=dev)
        q = _as_thresholds(quantiles, xp=xp, device=dev, dtype=y_pred.dtype)
        sigma = self._sigma(X, y_pred)
        # Per-sample thresholds q * sigma(x): inf stays inf (sigma > 0).
        q = (q[None, :] if q.ndim == 1 else q) * sigma[:, None]
        return super().intervals(y_pred, q)

    intervals.__doc__ = BaseRegressionScore.intervals.__doc__

    _conformity_scores = AbsoluteResidualScore._conformity_scores
    _half_width = AbsoluteResidualScore._half_width


class CQRScore(BaseConformityScore):
    """Conformalized quantile regression score ``max(q_lo(x) - y, y - q_hi(x))``.

    Scores a pair of predicted quantiles ``(q_lo(x), q_hi(x))`` (Romano,
    Patterson and Candès 2019): negative inside the band, the distance to
    the band outside it. At threshold ``Q`` (the conformal quantile of the
    calibration scores at the confidence level) the interval is
    ``[q_lo(x) - Q, q_hi(x) + Q]``; ``Q`` may be negative, which shrinks
    a band that covers too much.

    With ``symmetric=False`` the two sides are calibrated separately (Romano
    et al. 2019, Theorem 2): ``Q_lo`` is the conformal quantile of
    ``q_lo(x) - y`` and ``Q_hi`` that of ``y - q_hi(x)``, each at level
    ``(1 + confidence_level) / 2``; the interval is
    ``[q_lo(x) - Q_lo, q_hi(x) + Q_hi]``. This also controls the miscoverage
    of each side (at most ``(1 - confidence_level) / 2``), at the price of
    wider intervals.

    Where the correction is negative and larger than half the gap between
    the quantiles (or the quantile models cross) the conformal set is empty;
    it is returned as the zero-width interval at the midpoint of the two
    bounds, so that ``lower <= upper`` always holds.

    Parameters
    ----------
    symmetric : bool, default=True
        One correction for both sides (Romano et al.'s CQR) or one per side.

    See Also
    --------
    skcalib.conformal.ConformalizedQuantileRegressor : the predictor using it.

    Notes
    -----
    ``symmetric=True`` is MAPIE's ``predict_interval(...,
    symmetric_correction=True)``; ``symmetric=False`` is MAPIE's default
    (``symmetric_correction=False``).

    References
    ----------
    Romano, Y., Patterson, E. and Candès, E. (2019). Conformalized quantile
    regression. Advances in Neural Information Processing Systems 32.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.conformal.scores import CQRScore
    >>> bands = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    >>> CQRScore().conformity_scores([0.5, 1.5, -2.0], bands)
    array([-0.5,  0.5,  2. ])
    >>> CQRScore().intervals(bands[:1], np.array([0.5, 0.5]))[:, :, 0]
    array([[-0.5,  1.5]])
    """

    _parameter_constraints: dict = {"symmetric": ["boolean"]}

    def __init__(self, *, symmetric=True):
        self.symmetric = symmetric

    def score_levels(self, confidence_level):
        """Levels at which the calibration scores' quantiles are taken.

        Parameters
        ----------
        confidence_level : float or array-like of float
            Target coverage(s).

        Returns
        -------
        levels : ndarray
            ``confidence_level`` (symmetric) or ``(1 + confidence_level) / 2``.
        """
        levels = np.asarray(confidence_level, dtype=float)
        return levels if self.symmetric else (1 + levels) / 2

    def conformity_scores(self, y, y_pred):
        """Conformity scores of targets ``y`` against quantile bands ``y_pred``.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Observed targets.
        y_pred : array of shape (n_samples, 2)
            Predicted lower and upper quantiles; the scores come back in its
            namespace and on its device.

        Returns
        -------
        scores : array of shape (n_samples,) or (n_samples, 2)
            ``max(q_lo - y, y - q_hi)``, or both columns ``q_lo - y`` and
            ``y - q_hi`` when ``symmetric=False``.
        """
        xp, dev, y_pred = _check_bands(y_pred)
        y = _as_float_1d(y, "y", xp=xp, device=dev, dtype=y_pred.dtype)
        if y.shape[0] != y_pred.shape[0]:
            raise ValueError(
                f"y and y_pred must have the same length, got {y.shape[0]} and "
                f"{y_pred.shape[0]}."
            )
        scores = xp.stack([y_pred[:, 0] - y, y - y_pred[:, 1]], axis=1)
        return xp.max(scores, axis=1) if self.symmetric else scores

    def thresholds(self, scores, confidence_level, *, sample_weight=None):
        """Corrections of the lower and upper quantiles at ``confidence_level``.

        Parameters
        ----------
        scores : array of shape (n_samples,) or (n_samples, 2)
            Calibration scores from :meth:`conformity_scores`.
        confidence_level : float or sequence of float in (0, 1)
            Target coverage(s).
        sample_weight : array of shape (n_samples,), default=None
            Weights of the calibration samples.

        Returns
        -------
        thresholds : array of shape (2,) or (2, n_levels)
            ``Q_lo`` and ``Q_hi`` (equal when symmetric); ``+inf`` where the
            calibration set is too small for the level.
        """
        xp, _ = get_namespace_and_device(scores)
        levels = self.score_levels(confidence_level)
        levels = levels.tolist() if levels.ndim else float(levels)
        columns = [scores] if self.symmetric else [scores[:, 0], scores[:, 1]]
        out = [
            conformal_quantile(col, levels, sample_weight=sample_weight)
            for col in columns
        ]
        return xp.stack([out[0], out[-1]])

    def intervals(self, y_pred, thresholds):
        """Prediction intervals ``[q_lo - Q_lo, q_hi + Q_hi]``.

        Parameters
        ----------
        y_pred : array of shape (n_samples, 2)
            Predicted lower and upper quantiles.
        thresholds : array-like of shape (2,) or (2, n_levels)
            Corrections from :meth:`thresholds`; ``+inf`` gives infinite
            bounds.

        Returns
        -------
        intervals : array of shape (n_samples, 2, n_levels)
            ``[:, 0, :]`` the lower and ``[:, 1, :]`` the upper bounds; an
            empty set is the zero-width interval at its midpoint.
        """
        xp, dev, y_pred = _check_bands(y_pred)
        t = _as_thresholds(thresholds, xp=xp, device=dev, dtype=y_pred.dtype)
        if t.ndim == 1:
            t = t[:, None]
        if t.ndim != 2 or t.shape[0] != 2:
            raise ValueError(
                "thresholds must have shape (2,) or (2, n_levels), got shape "
                f"{tuple(t.shape)}."
            )
        lower = y_pred[:, 0:1] - t[0:1, :]
        upper = y_pred[:, 1:2] + t[1:2, :]
        empty = lower > upper  # never where a bound is infinite
        mid = (xp.where(empty, lower, 0.0) + xp.where(empty, upper, 0.0)) / 2
        lower = xp.where(empty, mid, lower)
        upper = xp.where(empty, mid, upper)
        return xp.stack([lower, upper], axis=1)


def _check_bands(y_pred):
    xp, dev = get_namespace_and_device(y_pred)
    y_pred = move_to(
        y_pred if hasattr(y_pred, "shape") else np.asarray(y_pred, dtype=float),
        xp=xp,
        device=dev,
    )
    if y_pred.ndim != 2 or y_pred.shape[1] != 2:
        raise ValueError(
            "y_pred must hold the lower and upper quantiles, shape (n_samples, 2), "
            f"got shape {tuple(y_pred.shape)}."
        )
    if not xp.isdtype(y_pred.dtype, "real floating"):
        y_pred = xp.astype(y_pred, xp.float64)
    return xp, dev, y_pred


ALIASES = {
    "absolute": AbsoluteResidualScore,
    "gamma": GammaScore,
    "normalized": NormalizedResidualScore,
}
BASE_CLASS = BaseRegressionScore
# Scores of predicted quantile bands (ConformalizedQuantileRegressor).
QUANTILE_ALIASES = {"cqr": CQRScore}
