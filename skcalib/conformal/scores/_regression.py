"""Conformity scores for regression: absolute residual and gamma (relative) residual.

A regression score maps a target ``y`` and a point prediction ``y_pred`` to a
non-negative number that is *large when ``y`` is far from the prediction*.
The prediction interval at threshold ``q`` (the conformal quantile of the
calibration scores) is the set of targets whose score is at most ``q``:
``[y_pred - q, y_pred + q]`` for :class:`AbsoluteResidualScore`,
``[y_pred - q |y_pred|, y_pred + q |y_pred|]`` for :class:`GammaScore`.

Every kernel runs on the namespace and device of ``y_pred``.
"""

from abc import abstractmethod

import numpy as np

from ...utils._array_api import get_namespace_and_device, move_to
from ._base import BaseConformityScore

__all__ = ["AbsoluteResidualScore", "BaseRegressionScore", "GammaScore"]


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
    """

    def conformity_scores(self, y, y_pred):
        """Conformity score of each pair ``(y[i], y_pred[i])``.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Observed targets.
        y_pred : array of shape (n_samples,)
            Point predictions; the scores come back in its namespace and on its
            device.

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

    def intervals(self, y_pred, quantiles):
        """Prediction intervals ``[lower, upper]`` around ``y_pred``.

        Parameters
        ----------
        y_pred : array of shape (n_samples,)
            Point predictions.
        quantiles : array-like of shape (n_levels,) or (n_samples, n_levels)
            Thresholds of the score (one per level, or one per sample and
            level); ``+inf`` gives infinite bounds.

        Returns
        -------
        intervals : array of shape (n_samples, 2, n_levels)
            ``[:, 0, :]`` the lower and ``[:, 1, :]`` the upper bounds.
        """
        xp, dev = get_namespace_and_device(y_pred)
        y_pred = _as_float_1d(y_pred, "y_pred", xp=xp, device=dev)
        q = move_to(
            quantiles if hasattr(quantiles, "shape") else np.asarray(quantiles),
            xp=xp,
            device=dev,
        )
        q = xp.astype(q, y_pred.dtype)
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


ALIASES = {"absolute": AbsoluteResidualScore, "gamma": GammaScore}
BASE_CLASS = BaseRegressionScore
