"""Platt scaling: a sigmoid of the decision values (Platt 1999)."""

import math
from numbers import Integral, Real

import numpy as np

from ..utils._array_api import (
    float_dtype,
    get_namespace_and_device,
    sigmoid,
    to_numpy,
)
from ..utils._sklearn_compat import Interval
from ._base import BaseOneVsRestCalibrator


def _platt_derivatives(scores, target, sample_weight, u, v, *, xp):
    """Weighted log-loss of ``sigmoid(u s + v)`` and its derivatives in (u, v).

    One fused pass over the scores: per row, the loss, the gradient terms and
    the Hessian terms are stacked and reduced together (in float64 where the
    device has it); only six scalars cross to the host.

    Returns
    -------
    value : float
    grad : ndarray of shape (2,)
    hess : ndarray of shape (2, 2)
    """
    _, dev = get_namespace_and_device(scores, xp=xp)
    z = u * scores + v
    e = xp.exp(-xp.abs(z))
    r = 1.0 / (1.0 + e)
    positive = z >= 0
    p = xp.where(positive, r, e * r)
    q = xp.where(positive, e * r, r)
    # log(1 + exp(z)) - t z, written without overflow.
    loss = xp.maximum(z, xp.zeros_like(z)) + xp.log1p(e) - target * z
    residual = p - target
    curvature = p * q
    if sample_weight is not None:
        loss = loss * sample_weight
        residual = residual * sample_weight
        curvature = curvature * sample_weight
    acc = float_dtype(xp, device=dev)
    stacked = xp.astype(
        xp.stack(
            [
                loss,
                residual * scores,
                residual,
                curvature * scores * scores,
                curvature * scores,
                curvature,
            ],
            axis=1,
        ),
        acc,
    )
    value, g_u, g_v, h_uu, h_uv, h_vv = (
        float(t) for t in to_numpy(xp.sum(stacked, axis=0))
    )
    return value, np.array([g_u, g_v]), np.array([[h_uu, h_uv], [h_uv, h_vv]])


def _newton_direction(grad, hess):
    """Newton direction, robust to bad scaling and to a singular Hessian.

    The system is solved after symmetric diagonal scaling with a
    pseudo-inverse, so constant scores (where only ``u s + v`` is identified)
    give the minimum-norm step.
    """
    diag = np.diag(hess)
    scale = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)
    scaled = hess * scale[:, None] * scale[None, :]
    return -scale * (np.linalg.pinv(scaled, hermitian=True) @ (scale * grad))


class PlattScaling(BaseOneVsRestCalibrator):
    """Platt scaling: a sigmoid of the decision values.

    The probability of the positive class is ``1 / (1 + exp(A s + B))`` for a
    decision value ``s`` (Platt 1999). ``A`` and ``B`` minimise the weighted
    log-loss against Platt's smoothed targets ``t+ = (N+ + 1) / (N+ + 2)`` for
    positive and ``t- = 1 / (N- + 2)`` for negative samples, where ``N+`` and
    ``N-`` are the (weighted) numbers of positive and negative samples -- the
    same model and objective as scikit-learn's
    ``CalibratedClassifierCV(method="sigmoid")``.

    The loss is convex in ``(A, B)``; it is minimised by Newton's method with
    backtracking from scikit-learn's starting point ``A = 0``,
    ``B = log((N- + 1) / (N+ + 1))``. Each iteration makes one fused pass over
    the scores to get the value, gradient and 2 x 2 Hessian, and only six
    scalars cross to the host, so the fit runs on any array-API device. The
    scores are first divided by their largest absolute value (scikit-learn
    does so above 30), so that extreme scores cannot overflow.

    With more than two classes, one sigmoid is fitted per class on its own
    column (class against the rest) and the probabilities are renormalised to
    sum to one, as in scikit-learn.

    Parameters
    ----------
    max_iter : int, default=100
        Maximum number of Newton iterations per sigmoid.
    tol : float, default=1e-5
        Stop when a Newton step changes the fitted logits ``A s + B`` by less
        than ``tol`` (root mean square over the samples). That step is taken,
        and Newton's quadratic convergence leaves an error of about ``tol**2``.

    Attributes
    ----------
    calibrators_ : list of tuple of float
        The fitted ``(A, B)`` of each sigmoid: one for two classes (the
        positive class), one per class otherwise.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for binary
        decision values).
    n_iter_ : int
        Largest number of Newton iterations run by one sigmoid.

    See Also
    --------
    IsotonicCalibration : Non-parametric monotone calibration.
    BetaCalibration : Three-parameter map for probabilities.
    sklearn.calibration.CalibratedClassifierCV : ``method="sigmoid"`` fits
        the same model with L-BFGS.

    Notes
    -----
    ``X`` holds decision values or logits: binary decision values of shape
    (n,) or (n, 1), or one column per class. For two classes given as
    (n, 2) logits, only the positive-class column is used (as scikit-learn
    does with ``decision_function``). Any monotone score works (decision
    values, logits, log-probabilities): the sigmoid is fitted on it as given.

    Because of the target smoothing the optimum is finite even when the scores
    separate the classes perfectly.

    References
    ----------
    .. [1] J. Platt, "Probabilistic Outputs for Support Vector Machines and
       Comparisons to Regularized Likelihood Methods", Advances in Large
       Margin Classifiers, 1999.
    .. [2] H.-T. Lin, C.-J. Lin and R. C. Weng, "A Note on Platt's
       Probabilistic Outputs for Support Vector Machines", Machine Learning
       68, 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.calibration import PlattScaling
    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(size=2000)
    >>> y = (rng.uniform(size=2000) < 1 / (1 + np.exp(-3 * s))).astype(int)
    >>> platt = PlattScaling().fit(s, y)
    >>> a, b = platt.calibrators_[0]
    >>> round(a, 1), round(b, 1)
    (-3.2, -0.1)
    >>> platt.predict_proba(np.array([0.0, 1.0])).round(2)
    array([[0.48, 0.52],
           [0.04, 0.96]])
    """

    _array_api_support = True
    _skcalib_input_kind = "decision"
    _parameter_constraints: dict = {
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, max_iter=100, tol=1e-5):
        self.max_iter = max_iter
        self.tol = tol

    def _fit(self, logits, y, sample_weight, *, xp):
        self.n_iter_ = 0
        return super()._fit(logits, y, sample_weight, xp=xp)

    def _fit_binary(self, scores, target, sample_weight, *, xp):
        _, dev = get_namespace_and_device(scores, xp=xp)
        acc = float_dtype(xp, device=dev)
        weight = xp.ones_like(target) if sample_weight is None else sample_weight
        n_pos, n_total = (
            float(t)
            for t in to_numpy(
                xp.sum(xp.astype(xp.stack([weight * target, weight]), acc), axis=1)
            )
        )
        n_neg = n_total - n_pos
        t_pos = (n_pos + 1.0) / (n_pos + 2.0)
        t_neg = 1.0 / (n_neg + 2.0)
        smoothed = target * (t_pos - t_neg) + t_neg
        # Fit on scores in [-1, 1] so that squares and sums cannot overflow;
        # Newton's method is invariant to the scale.
        scale = float(xp.max(xp.abs(scores)))
        scale = scale if scale > 0 else 1.0
        # p = sigmoid(u s / scale + v) with (u / scale, v) = (-A, -B).
        u, v = self._newton(
            scores / scale,
            smoothed,
            sample_weight,
            n_total,
            u=0.0,
            v=math.log((n_pos + 1.0) / (n_neg + 1.0)),
            xp=xp,
        )
        return -u / scale, -v

    def _newton(self, scores, target, sample_weight, n_total, *, u, v, xp):
        """Minimise the weighted log-loss over ``(u, v)``; return ``(u, v)``."""
        # The losses are summed from rows computed in the scores' dtype:
        # differences below its rounding are noise to the line search.
        eps = float(xp.finfo(scores.dtype).eps)
        value, grad, hess = _platt_derivatives(
            scores, target, sample_weight, u, v, xp=xp
        )
        for n_iter in range(1, self.max_iter + 1):
            self.n_iter_ = max(self.n_iter_, n_iter)
            du, dv = (float(d) for d in _newton_direction(grad, hess))
            decrement = -float(grad[0] * du + grad[1] * dv)  # g' H^-1 g >= 0
            # Root-mean-square change of the logits u s + v made by the step;
            # Newton's quadratic convergence leaves an error of about its square.
            if math.sqrt(max(decrement, 0.0) / n_total) <= self.tol:
                return u + du, v + dv
            for _ in range(30):  # Armijo backtracking
                new = _platt_derivatives(
                    scores, target, sample_weight, u + du, v + dv, xp=xp
                )
                if new[0] <= value - 1e-4 * decrement + 16 * eps * abs(value):
                    break
                du, dv, decrement = du / 2, dv / 2, decrement / 2
            else:
                return u, v  # no decrease along the Newton direction
            u, v = u + du, v + dv
            value, grad, hess = new
        return u, v

    def _predict_binary(self, state, scores, *, xp):
        a, b = state
        return sigmoid(-(a * scores + b), xp=xp)
