"""Temperature scaling (Guo et al. 2017)."""

import math
from numbers import Integral, Real

from ..utils._array_api import softmax, temperature_nll_derivatives
from ..utils._sklearn_compat import Interval
from ._base import BaseScoreCalibrator

# Range of log(1 / T) searched: T in [exp(-15), exp(15)].
_LOG_INV_T_BOUND = 15.0
# Rows used for the warm start on large data sets.
_WARM_START_ROWS = 20_000
# A Newton step on log T below this is taken without evaluating its end point.
_FINAL_STEP = 1e-5


def _nll_derivatives(logits, y, sample_weight, *, xp):
    """``u -> (NLL, d/da, d2/da2)`` at ``a = exp(u) = 1 / T``, for Newton's method.

    The row-shifted logits and their squares are computed once, here.
    """
    shifted = logits - xp.max(logits, axis=1, keepdims=True)
    shifted_true = xp.take_along_axis(shifted, y[:, None], axis=1)[:, 0]
    shifted_sq = shifted * shifted

    def derivatives(u):
        return temperature_nll_derivatives(
            shifted,
            shifted_sq,
            shifted_true,
            math.exp(u),
            sample_weight=sample_weight,
            xp=xp,
        )

    return derivatives


class TemperatureScaling(BaseScoreCalibrator):
    """Temperature scaling: probabilities are ``softmax(logits / T)``.

    A single temperature ``T > 0`` is fitted by minimising the negative
    log-likelihood (Guo et al. 2017, "On Calibration of Modern Neural
    Networks"). It keeps the predicted label (argmax) unchanged and only
    softens (``T > 1``) or sharpens (``T < 1``) the probabilities.

    The NLL is convex in the inverse temperature ``a = 1 / T``; it is minimised
    by Newton's method on ``log a = -log T`` with backtracking, where each
    iteration makes one fused pass over the logits to get the value, gradient
    and Hessian (:func:`~skcalib.utils._array_api.temperature_nll_derivatives`)
    and only three scalars cross to the host. It converges in a handful of
    iterations, on any array-API device.

    Parameters
    ----------
    max_iter : int, default=100
        Maximum number of Newton iterations.
    tol : float, default=1e-8
        Stop when the Newton step on ``log T`` is below ``tol`` (the relative
        error of ``T`` is then about ``tol``).

    Attributes
    ----------
    temperature_ : float
        The fitted temperature ``T``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for binary
        decision values).
    n_iter_ : int
        Number of Newton iterations run.

    See Also
    --------
    sklearn.calibration.CalibratedClassifierCV : ``method="temperature"``
        fits the same model with a bounded scalar search.

    Notes
    -----
    Binary decision values ``x`` of shape (n,) are read as the logits
    ``[0, x]``, so ``T = 1`` leaves ``sigmoid(x)`` unchanged. (scikit-learn
    reads them as ``[-x, x]``, which halves its temperature; the calibrated
    probabilities are the same.) If the NLL keeps decreasing as ``T`` goes to
    0 or infinity (separable or uninformative scores), the search stops where
    the NLL no longer changes in floating point, and at most at ``exp(-15)``
    or ``exp(15)``.

    Examples
    --------
    >>> from skcalib.calibration import TemperatureScaling
    >>> from skcalib.datasets import make_classification_logits
    >>> logits, y = make_classification_logits(20000, 4, temperature=2.0,
    ...                                        random_state=0)
    >>> ts = TemperatureScaling().fit(logits, y)
    >>> round(ts.temperature_, 1)
    2.0
    >>> ts.predict_proba(logits[:2]).shape
    (2, 4)
    """

    _array_api_support = True
    _parameter_constraints: dict = {
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, max_iter=100, tol=1e-8):
        self.max_iter = max_iter
        self.tol = tol

    def _fit(self, logits, y, sample_weight, *, xp):
        warm_start = None
        stride = logits.shape[0] // _WARM_START_ROWS
        if stride >= 2:
            # Warm start on every stride-th row (deterministic): Newton then
            # needs only two or three passes over the full data.
            rows = slice(None, None, stride)
            warm_start = _nll_derivatives(
                logits[rows, ...],
                y[rows],
                None if sample_weight is None else sample_weight[rows],
                xp=xp,
            )
        derivatives = _nll_derivatives(logits, y, sample_weight, xp=xp)
        return self._fit_derivatives(derivatives, warm_start)

    def _fit_derivatives(self, derivatives, warm_start=None):
        """Set ``temperature_`` by Newton's method, given the NLL's derivatives.

        ``derivatives(u)`` returns the NLL and its first two derivatives in
        ``a = 1 / T`` at ``u = log a``; ``warm_start``, if given, is the same
        function on a subsample, minimised first. (For Dask arrays they are
        reductions over the row blocks, see :mod:`skcalib.utils._dask_fit`.)
        """
        u, n_iter = 0.0, 0
        if warm_start is not None:
            u, n_iter = self._newton(warm_start, u)
        u, n_full = self._newton(derivatives, u)
        self.temperature_ = math.exp(-u)
        self.n_iter_ = n_iter + n_full
        return self

    def _newton(self, derivatives, u):
        """Minimise the NLL over ``u = log(1 / T)`` from ``u``; return (u, n_iter)."""
        value, grad_a, hess_a = derivatives(u)
        for n_iter in range(1, self.max_iter + 1):
            a = math.exp(u)
            grad = a * grad_a  # chain rule: d/du = a d/da
            hess = a * a * hess_a + a * grad_a
            step = -grad / hess if hess > 0 else -math.copysign(1.0, grad)
            step = max(-2.0, min(2.0, step))
            u_new = max(-_LOG_INV_T_BOUND, min(_LOG_INV_T_BOUND, u + step))
            if hess > 0 and abs(u_new - u) <= max(self.tol, _FINAL_STEP):
                # Quadratic convergence: after a step this small the error is
                # of order step**2, far below tol; take it without a new pass.
                return u_new, n_iter
            # Backtracking: the objective must not increase (up to rounding).
            for _ in range(20):
                new = derivatives(u_new)
                if new[0] <= value + 1e-12 * abs(value):
                    break
                step /= 2
                u_new = max(-_LOG_INV_T_BOUND, min(_LOG_INV_T_BOUND, u + step))
            else:
                return u, n_iter  # no decrease along the Newton direction
            u, (value, grad_a, hess_a) = u_new, new
        return u, self.max_iter

    def _predict_proba(self, logits, *, xp):
        return softmax(logits / self.temperature_, xp=xp)
