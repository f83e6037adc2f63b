"""Input-dependent temperature scaling: a regularised log-linear temperature model.

The temperature of each sample is ``T(x) = exp(phi(x) @ coef_ + intercept_)``,
fitted on a validation set by L-BFGS with an analytic gradient. The fitting
kernel :func:`_fit_log_linear_temperature` is shared with
:class:`~skcalib.calibration._correctness_aware.CorrectnessAwareCalibrator`,
which plugs in another per-sample loss and other features.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from ..utils._array_api import (
    float_dtype,
    get_namespace_and_device,
    log_softmax,
    move_to,
    softmax,
    to_numpy,
)
from ..utils._sklearn_compat import Interval
from ._base import BaseScoreCalibrator

# log T is clipped to [-15, 15], the range TemperatureScaling searches.
_LOG_T_BOUND = 15.0
# Relative decrease of the objective below which L-BFGS stops (the gradient
# tolerance ``tol`` is the criterion that matters; this one only ends runs
# that sit at the floating-point floor).
_FTOL = 1e-13


def _top_two(logits, *, xp):
    """Mask of each row's (first) largest logit, that logit, and the runner-up.

    Two passes over the logits instead of a sort; a tie at the top gives a
    runner-up equal to the top.
    """
    _, dev = get_namespace_and_device(logits, xp=xp)
    n_classes = logits.shape[1]
    is_top = (
        xp.argmax(logits, axis=1)[:, None] == xp.arange(n_classes, device=dev)[None, :]
    )
    top = xp.max(logits, axis=1)
    runner_up = xp.max(xp.where(is_top, -xp.inf, logits), axis=1)
    return is_top, top, runner_up


def _logit_features(logits, *, xp):
    """Four shift-invariant statistics of each row of logits, shape (n, 4).

    ``log(1 + std_j z_j)`` (the scale of the logits), ``log(1 + z_(1) -
    z_(2))`` (the margin between the two largest logits), ``max_j softmax(z)_j``
    and the entropy of ``softmax(z)`` divided by ``log(n_classes)``.
    """
    _, top, runner_up = _top_two(logits, xp=xp)
    logp = log_softmax(logits, axis=1, xp=xp)
    proba = xp.exp(logp)
    return xp.stack(
        [
            xp.log1p(xp.std(logits, axis=1)),
            xp.log1p(top - runner_up),
            xp.max(proba, axis=1),
            -xp.sum(proba * logp, axis=1) / math.log(logits.shape[1]),
        ],
        axis=1,
    )


def _nll_rows(logits, y, *, xp):
    """Per-row NLL of ``softmax(a_i z_i)`` and its derivative in ``a_i``.

    Returns a function of the inverse temperatures ``a`` (n,) giving the
    losses ``log sum_j exp(a_i d_ij) - a_i d_iy`` and their derivatives
    ``E_p[d_i] - d_iy`` (expected minus true shifted logit), with
    ``d = z - max_j z_j`` so that nothing overflows.
    """
    shifted = logits - xp.max(logits, axis=1, keepdims=True)
    shifted_true = xp.take_along_axis(shifted, y[:, None], axis=1)[:, 0]

    def rows(a):
        e = xp.exp(a[:, None] * shifted)
        s0 = xp.sum(e, axis=1)
        mean_shifted = xp.vecdot(e, shifted, axis=-1) / s0
        return xp.log(s0) - a * shifted_true, mean_shifted - shifted_true

    return rows


def _weighted_standardisation(features, sample_weight, *, xp):
    """Weighted mean and standard deviation of each column (scale 1 if constant)."""
    if sample_weight is None:
        mean = xp.mean(features, axis=0)
        var = xp.mean((features - mean) ** 2, axis=0)
    else:
        w = sample_weight / xp.sum(sample_weight)
        mean = xp.sum(features * w[:, None], axis=0)
        var = xp.sum((features - mean) ** 2 * w[:, None], axis=0)
    scale = xp.sqrt(var)
    tiny = 1e-12 * (1.0 + xp.abs(mean))
    return mean, xp.where(scale > tiny, scale, xp.ones_like(scale))


def _log_linear_objective(standardised, row_loss, row_weight, alpha, *, xp):
    """Objective of the log-linear temperature model and its gradient.

    ``theta = (c, b)`` gives ``log T_i = clip(standardised_i @ c + b, -15, 15)``
    and the objective ``sum_i row_weight_i L_i(1 / T_i) + alpha / 2 ||c||^2``,
    with ``L_i`` and ``dL_i / da`` given by ``row_loss`` at the inverse
    temperatures ``a``. The rows stay on their device: each call sends
    ``theta`` there and brings ``n_features + 2`` numbers back.

    Returns
    -------
    objective : callable
        ``theta`` (float64 NumPy array) -> ``(value, gradient)`` on the host.
    """
    _, dev = get_namespace_and_device(standardised, xp=xp)
    dtype = standardised.dtype
    n_features = standardised.shape[1]

    def objective(theta):
        coef = xp.asarray(theta[:n_features], dtype=dtype, device=dev)
        log_t = xp.matmul(standardised, coef) + float(theta[n_features])
        inside = xp.astype(xp.abs(log_t) < _LOG_T_BOUND, dtype)
        a = xp.exp(-xp.clip(log_t, -_LOG_T_BOUND, _LOG_T_BOUND))
        losses, dloss_da = row_loss(a)
        # Chain rule: d a / d log T = -a (zero where log T is clipped).
        g = -row_weight * dloss_da * a * inside
        out = to_numpy(
            xp.concat(
                [
                    xp.reshape(xp.sum(row_weight * losses), (1,)),
                    xp.matmul(g, standardised),
                    xp.reshape(xp.sum(g), (1,)),
                ]
            )
        ).astype(np.float64)
        w = theta[:n_features]
        value = out[0] + 0.5 * alpha * float(w @ w)
        grad = out[1:].copy()
        grad[:n_features] += alpha * w
        return value, grad

    return objective


def _fit_log_linear_temperature(
    features, row_loss, sample_weight, *, alpha, max_iter, tol, estimator_name, xp
):
    """Fit ``log T_i = features_i @ coef + intercept`` by L-BFGS.

    Minimises ``sum_i w_i L_i(1 / T_i) / sum_i w_i + alpha / 2 * ||c||^2``,
    where ``L_i`` is the per-row loss given by ``row_loss`` (a function of the
    inverse temperatures returning the losses and their derivatives) and ``c``
    the coefficients of the standardised features (weighted mean 0, standard
    deviation 1), so that ``alpha`` does not depend on the features' units.
    The start is the identity calibrator ``T = 1``.

    Returns
    -------
    coef : ndarray of shape (n_features,)
        Coefficients of the raw (unstandardised) features, float64 NumPy.
    intercept : float
    n_iter : int
        Number of L-BFGS iterations.
    """
    _, dev = get_namespace_and_device(features, xp=xp)
    mean, scale = _weighted_standardisation(features, sample_weight, xp=xp)
    n_samples, n_features = features.shape
    if sample_weight is None:
        row_weight = xp.full(
            (n_samples,), 1.0 / n_samples, dtype=features.dtype, device=dev
        )
    else:
        row_weight = sample_weight / xp.sum(sample_weight)
    objective = _log_linear_objective(
        (features - mean) / scale, row_loss, row_weight, alpha, xp=xp
    )
    result = minimize(
        objective,
        np.zeros(n_features + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tol, "ftol": _FTOL},
    )
    if result.status == 1:
        warnings.warn(
            f"{estimator_name} did not converge in max_iter={max_iter} L-BFGS "
            f"iterations (largest gradient component "
            f"{np.max(np.abs(result.jac)):.2e} > tol={tol}); increase max_iter "
            "or alpha.",
            ConvergenceWarning,
        )
    w_std, b_std = result.x[:n_features], float(result.x[n_features])
    coef = w_std / to_numpy(scale).astype(np.float64)
    intercept = b_std - float(coef @ to_numpy(mean).astype(np.float64))
    return coef, intercept, int(result.nit)


def _temperatures(features, coef, intercept, *, xp):
    """Per-row temperatures from raw features and fitted (NumPy) parameters."""
    _, dev = get_namespace_and_device(features, xp=xp)
    coef = xp.asarray(move_to(coef, xp=xp, device=dev), dtype=features.dtype)
    log_t = xp.matmul(features, coef) + intercept
    return xp.exp(xp.clip(log_t, -_LOG_T_BOUND, _LOG_T_BOUND))


class InputDependentTemperatureScaling(BaseScoreCalibrator):
    """Temperature scaling with a per-sample temperature predicted from the logits.

    A small regularised model maps statistics of each row of logits ``z`` to
    its own temperature, and the probabilities are ``softmax(z / T(z))``, so
    the predicted label (argmax) never changes. The model is log-linear,

    ``log T(z) = phi(z) @ coef_ + intercept_``,

    on four shift-invariant features ``phi(z)``: ``log(1 + std(z))`` (the
    logit scale), ``log(1 + z_(1) - z_(2))`` (the top-two margin), the maximum
    softmax probability and the normalised softmax entropy. It is fitted by
    minimising the (weighted) mean negative log-likelihood plus ``alpha / 2``
    times the squared norm of the coefficients of the standardised features,
    by L-BFGS with an analytic gradient, starting from ``T = 1``.

    This is a linear, post-hoc version of the temperature network (TempNet) of
    Qiu et al. (2024). With ``alpha`` large the coefficients vanish and the
    model is global temperature scaling
    (:class:`~skcalib.calibration.TemperatureScaling`).

    Parameters
    ----------
    alpha : float, default=1e-2
        L2 penalty (>= 0) on the coefficients of the standardised features.
        ``alpha=0`` is unregularised; ``alpha -> inf`` gives one global
        temperature.
    max_iter : int, default=1000
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-6
        L-BFGS stops when every component of the gradient is below ``tol``.

    Attributes
    ----------
    coef_ : ndarray of shape (4,)
        Coefficients of the features ``phi(z)`` (in their own units, in the
        order given above) in ``log T``.
    intercept_ : float
        Intercept of ``log T``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for binary
        decision values).
    n_iter_ : int
        Number of L-BFGS iterations run.

    See Also
    --------
    TemperatureScaling : One temperature for every sample.
    CorrectnessAwareCalibrator : Per-sample temperature fitted with a loss on
        the correctness of the predictions, from several views of each sample.

    Notes
    -----
    TempNet (Qiu et al. 2024) is a small neural network that reads the
    (normalised) logits of a large foundation model and outputs a temperature
    in a bounded range, trained with a robust loss derived from KL-constrained
    distributionally robust optimisation, ``tau * CE(z / tau) + (rho - log K)
    * tau``, together with the model or on its own for a frozen one. This
    class keeps the idea -- a per-sample temperature predicted from the
    model's own outputs, which keeps the argmax -- in the post-hoc calibration
    setting: the temperature model is log-linear on fixed logit statistics
    instead of a network on the full logit vector, and it is fitted on the
    negative log-likelihood (a proper scoring rule) instead of the DRO loss.
    ``log T`` is clipped to ``[-15, 15]``.

    Binary decision values ``x`` of shape (n,) are read as the logits
    ``[0, x]``, as in :class:`~skcalib.calibration.TemperatureScaling`.

    References
    ----------
    Z.-H. Qiu, S. Guo, M. Xu, T. Zhao, L. Zhang and T. Yang, "To Cool or not
    to Cool? Temperature Network Meets Large Foundation Models via DRO",
    ICML 2024, arXiv:2404.04575.

    C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On Calibration of Modern
    Neural Networks", ICML 2017, arXiv:1706.04599.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.calibration import InputDependentTemperatureScaling
    >>> from skcalib.datasets import make_classification_logits
    >>> cold, y_cold = make_classification_logits(3000, 4, temperature=1.0,
    ...                                           random_state=0)
    >>> hot, y_hot = make_classification_logits(3000, 4, temperature=4.0,
    ...                                         random_state=1)
    >>> logits, y = np.vstack([cold, hot]), np.r_[y_cold, y_hot]
    >>> idts = InputDependentTemperatureScaling().fit(logits, y)
    >>> t = idts.predict_temperature(logits)
    >>> bool(np.median(t[3000:]) > 2 * np.median(t[:3000]))
    True
    >>> idts.predict_proba(logits[:2]).shape
    (2, 4)
    """

    _array_api_support = True
    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, alpha=1e-2, max_iter=1000, tol=1e-6):
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    def _fit(self, logits, y, sample_weight, *, xp):
        _, dev = get_namespace_and_device(logits, xp=xp)
        dtype = float_dtype(xp, device=dev)
        logits = xp.astype(logits, dtype)
        if sample_weight is not None:
            sample_weight = xp.astype(sample_weight, dtype)
        self.coef_, self.intercept_, self.n_iter_ = _fit_log_linear_temperature(
            _logit_features(logits, xp=xp),
            _nll_rows(logits, y, xp=xp),
            sample_weight,
            alpha=self.alpha,
            max_iter=self.max_iter,
            tol=self.tol,
            estimator_name=type(self).__name__,
            xp=xp,
        )
        return self

    def _row_temperatures(self, logits, *, xp):
        _, dev = get_namespace_and_device(logits, xp=xp)
        features = _logit_features(
            xp.astype(logits, float_dtype(xp, device=dev)), xp=xp
        )
        return _temperatures(features, self.coef_, self.intercept_, xp=xp)

    def _predict_proba(self, logits, *, xp):
        t = xp.astype(self._row_temperatures(logits, xp=xp), logits.dtype)
        return softmax(logits / t[:, None], xp=xp)

    def predict_temperature(self, X):
        """Temperature of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Scores of the same kind as in ``fit``.

        Returns
        -------
        temperature : array of shape (n_samples,)
            ``T(x) > 0``, in ``X``'s namespace and device; the calibrated
            probabilities are ``softmax(logits / T(x))``.
        """
        logits, xp = self._validate_predict_scores(X)
        return xp.astype(self._row_temperatures(logits, xp=xp), logits.dtype)
