"""Affine-softmax calibrators: vector scaling, matrix scaling, Dirichlet calibration.

All three fit the multinomial logistic model ``p = softmax(x W^T + b)`` on one
feature vector ``x`` per sample -- the logits for vector and matrix scaling
(Guo et al. 2017), the log-probabilities for Dirichlet calibration (Kull et al.
2019) -- and differ only in the structure of ``W`` (diagonal or full) and in
the penalty. One private kernel, :class:`_AffineSoftmaxLoss`, computes the
penalised weighted NLL and its analytic gradient on the data's device, and one
private base, :class:`_AffineSoftmaxCalibrator`, minimises it with L-BFGS.
"""

import warnings
from abc import abstractmethod
from numbers import Integral, Real

import array_api_compat
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
from ..utils._sklearn_compat import Interval, StrOptions
from ._base import BaseScoreCalibrator

# L-BFGS stops when the objective decreases by less than this many machine
# epsilons (relative) in one iteration: the gradient tolerance ``tol`` is then
# the criterion that matters, as in scikit-learn's LogisticRegression.
_FTOL_EPS = 64


def _affine(features, coef, intercept, *, xp):
    """``features W^T + b``, or ``features * w + b`` for a diagonal ``coef``."""
    if coef.ndim == 1:
        return features * coef + intercept
    return xp.matmul(features, xp.matrix_transpose(coef)) + intercept


def _best_shift(deviation, weight):
    """The ``s`` minimising ``sum(weight * (deviation + s) ** 2, axis=0)``.

    A weighted mean (0 where the weights sum to 0: nothing is penalised).
    """
    total = np.sum(weight, axis=0)
    weighted = np.sum(weight * deviation, axis=0)
    return -np.divide(weighted, total, out=np.zeros_like(total), where=total > 0)


class _AffineSoftmaxLoss:
    """Penalised mean NLL of ``softmax(features W^T + b)`` and its gradient.

    The parameters travel as one flat float64 NumPy vector ``theta``: the
    entries of ``W`` (``k * k`` row-major, or ``k`` for a diagonal ``W``)
    followed by the ``k`` intercepts. :meth:`nll` computes, on the features'
    device and in the compute dtype (float64 where the device has it),

    - the weighted mean NLL ``-sum_i w_i log p_{i, y_i} / sum_i w_i``;
    - its gradient: with ``G_i = w_i (p_i - onehot(y_i)) / sum_i w_i``,
      ``dW = G^T X`` (``sum_i G_ij X_ij`` for a diagonal ``W``) and
      ``db = sum_i G_i``;

    only ``theta``, one scalar and the gradient cross the device boundary.
    :meth:`penalty` is the quadratic ``sum_m c_m (theta_m - theta0_m)^2``
    around the identity map ``theta0`` (``W = I``, ``b = 0``), a function of
    ``theta`` alone evaluated in float64 on the host. With ``k`` classes:

    - ``"odir"`` (off-diagonal and intercept regularisation, Kull et al. 2019):
      ``reg_lambda / (k (k - 1)) * sum_{i != j} W_ij^2 + reg_mu / k * sum_j
      b_j^2``; the diagonal of ``W`` is not penalised (a diagonal ``W`` has
      no off-diagonal entries, so only the intercept term remains);
    - ``"l2"``: ``reg_lambda / k^2 * ||W - I||_F^2 + reg_mu / k * sum_j b_j^2``
      (``reg_lambda`` divided by the number of entries of ``W``), a ridge
      penalty centred on the identity map.

    Calling the object returns the objective, NLL plus penalty; the fit
    minimises the equivalent :meth:`reduced` objective.

    Parameters
    ----------
    features : array of shape (n_samples, n_classes)
    y : integer array of shape (n_samples,)
        Class indices.
    sample_weight : array of shape (n_samples,) or None
    diagonal : bool
        Whether ``W`` is diagonal (a vector of length ``k``).
    regularization : {"odir", "l2"}
    reg_lambda, reg_mu : float
        Non-negative penalty strengths.
    xp : namespace
    """

    def __init__(
        self,
        features,
        y,
        sample_weight,
        *,
        diagonal,
        regularization,
        reg_lambda,
        reg_mu,
        xp,
    ):
        self.xp = xp
        _, self.device = get_namespace_and_device(features, xp=xp)
        self.dtype = float_dtype(xp, device=self.device)
        self.host_dtype = np.float32 if self.dtype == xp.float32 else np.float64
        self.features = xp.astype(features, self.dtype)
        n_samples, k = features.shape
        self.n_classes, self.diagonal = k, diagonal
        if sample_weight is None:
            weight = xp.full(
                (n_samples,), 1.0 / n_samples, dtype=self.dtype, device=self.device
            )
        else:
            weight = xp.astype(sample_weight, self.dtype)
            weight = weight / xp.sum(weight)
        self.weight = weight[:, None]
        classes = xp.arange(k, dtype=y.dtype, device=self.device)
        onehot = xp.astype(y[:, None] == classes[None, :], self.dtype)
        self.weighted_onehot = onehot * self.weight
        # Weighted mean of the squared features, per column (for the scaling).
        self.mean_square = np.asarray(
            to_numpy(xp.sum(self.weight * self.features**2, axis=0)), dtype=np.float64
        )
        # The penalty: per-parameter coefficient c around theta0.
        if diagonal:
            coef_centre, off_diagonal = np.ones(k), np.zeros(k, dtype=bool)
        else:
            coef_centre = np.eye(k).ravel()
            off_diagonal = ~np.eye(k, dtype=bool).ravel()
        if regularization == "odir":
            coef_penalty = np.where(off_diagonal, reg_lambda / (k * (k - 1)), 0.0)
        else:
            coef_penalty = np.full(coef_centre.size, reg_lambda / coef_centre.size)
        self.centre = np.concatenate([coef_centre, np.zeros(k)])
        self.penalty_coef = np.concatenate([coef_penalty, np.full(k, reg_mu / k)])

    def initial_params(self):
        """The identity map ``W = I``, ``b = 0`` (the uncalibrated model)."""
        return self.centre.copy()

    def unpack(self, theta):
        """Split ``theta`` into ``W`` (``(k, k)`` or ``(k,)``) and ``b``."""
        k = self.n_classes
        n_coef = k if self.diagonal else k * k
        coef = theta[:n_coef]
        return (coef if self.diagonal else coef.reshape(k, k)), theta[n_coef:]

    def penalty(self, theta):
        """Value and gradient of the penalty at ``theta`` (float64, on the host)."""
        deviation = theta - self.centre
        return (
            float(np.sum(self.penalty_coef * deviation**2)),
            2 * self.penalty_coef * deviation,
        )

    def curvature_bound(self):
        """Bound on the diagonal of the Hessian, for every ``theta`` (host).

        The NLL's second derivative in ``W_jl`` is ``E_w[p_j (1 - p_j) x_l^2]
        <= E_w[x_l^2] / 4`` and in ``b_j`` at most ``1 / 4``; the penalty adds
        ``2 c``. Parameters with no curvature at all (a column of zeros, as in
        the binary logits ``[0, x]``) get 1: their gradient is always zero.
        """
        k = self.n_classes
        data = self.mean_square if self.diagonal else np.tile(self.mean_square, k)
        bound = np.concatenate([data / 4, np.full(k, 0.25)]) + 2 * self.penalty_coef
        return np.where(bound > 0, bound, 1.0)

    def project(self, theta):
        """Move ``theta`` along the directions that leave every ``p`` unchanged.

        ``softmax`` ignores a constant added to all logits of a row, so the
        NLL does not change when the same ``c_l`` is added to every row of
        column ``l`` of a full ``W`` or the same constant to every intercept.
        Along these directions only the penalty varies; each shift is chosen
        in closed form to minimise it (a weighted mean), and ``theta`` is
        returned with the shifts applied.
        """
        deviation = theta - self.centre
        coef_dev, intercept_dev = self.unpack(deviation)
        coef_pen, intercept_pen = self.unpack(self.penalty_coef)
        intercept_dev = intercept_dev + _best_shift(intercept_dev, intercept_pen)
        if not self.diagonal:
            coef_dev = coef_dev + _best_shift(coef_dev, coef_pen)  # per column
        return self.centre + np.concatenate([np.ravel(coef_dev), intercept_dev])

    def nll(self, theta):
        """Weighted mean NLL (float) and its gradient (float64) at ``theta``."""
        xp = self.xp
        # Cast on the host: a device may have no float64 at all.
        coef, intercept = (
            move_to(a.astype(self.host_dtype), xp=xp, device=self.device)
            for a in self.unpack(theta)
        )
        log_proba = log_softmax(
            _affine(self.features, coef, intercept, xp=xp), axis=1, xp=xp
        )
        nll = -xp.sum(self.weighted_onehot * log_proba)
        residual = xp.exp(log_proba) * self.weight - self.weighted_onehot
        if self.diagonal:
            grad_coef = xp.sum(residual * self.features, axis=0)
        else:
            grad_coef = xp.reshape(
                xp.matmul(xp.matrix_transpose(residual), self.features), (-1,)
            )
        packed = xp.concat([xp.reshape(nll, (1,)), grad_coef, xp.sum(residual, axis=0)])
        packed = np.asarray(to_numpy(packed), dtype=np.float64)
        return float(packed[0]), packed[1:]

    def __call__(self, theta):
        """The objective (NLL plus penalty) and its gradient at ``theta``."""
        value, grad = self.nll(theta)
        penalty, penalty_grad = self.penalty(theta)
        return value + penalty, grad + penalty_grad

    def reduced(self, theta):
        """The objective at ``project(theta)``, and its gradient in ``theta``.

        Along the invariance directions the objective is curved by the penalty
        alone, often much more weakly than along the others, which slows
        L-BFGS down; here those directions are minimised exactly instead. The
        minimisers of ``reduced``, projected, are those of the objective.
        """
        value, grad = self.nll(theta)
        # Envelope theorem: the gradient of min_s penalty(theta + s) is the
        # penalty's gradient at the minimiser.
        penalty, penalty_grad = self.penalty(self.project(theta))
        return value + penalty, grad + penalty_grad


class _AffineSoftmaxCalibrator(BaseScoreCalibrator):
    """Private base: fit ``p = softmax(x W^T + b)`` by L-BFGS on ``_AffineSoftmaxLoss``.

    Subclasses say through :meth:`_model` whether ``W`` is diagonal and which
    penalty applies; the features ``x`` are what :meth:`_to_logits` returns.
    """

    _array_api_support = True
    _parameter_constraints: dict = {
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    @abstractmethod
    def _model(self):
        """``(diagonal, regularization, reg_lambda, reg_mu)`` of the fit."""

    def _loss_params(self):
        """The keyword arguments of :class:`_AffineSoftmaxLoss` for this model."""
        keys = ("diagonal", "regularization", "reg_lambda", "reg_mu")
        return dict(zip(keys, self._model(), strict=True))

    def _fit(self, logits, y, sample_weight, *, xp):
        loss = _AffineSoftmaxLoss(
            logits, y, sample_weight, **self._loss_params(), xp=xp
        )
        host_dtype = np.float32 if logits.dtype == xp.float32 else np.float64
        return self._minimise(loss, host_dtype, xp=xp)

    def _minimise(self, loss, host_dtype, *, xp):
        """Minimise ``loss`` by L-BFGS; set ``coef_`` (``host_dtype``) and the rest.

        ``loss`` is an :class:`_AffineSoftmaxLoss`, or one whose ``nll`` is a
        reduction over the row blocks of Dask arrays
        (:mod:`skcalib.utils._dask_fit`).
        """
        # Diagonal preconditioning: L-BFGS runs on u = theta * sqrt(h), where h
        # bounds each parameter's curvature, so that strong penalties on some
        # entries (ODIR with a large reg_lambda) or features of very different
        # scales do not make the problem ill-conditioned.
        scale = 1.0 / np.sqrt(loss.curvature_bound())

        def scaled_loss(u):
            value, grad = loss.reduced(scale * u)
            return value, scale * grad

        result = minimize(
            scaled_loss,
            loss.initial_params() / scale,
            jac=True,
            method="L-BFGS-B",
            options={
                "maxiter": self.max_iter,
                "gtol": self.tol,
                "ftol": _FTOL_EPS * float(xp.finfo(loss.dtype).eps),
            },
        )
        if result.status == 1:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter="
                f"{self.max_iter} L-BFGS iterations (largest scaled gradient entry "
                f"{np.max(np.abs(result.jac)):.3g} > tol={self.tol:g}). Increase "
                "max_iter, or regularise (separable scores drive the weights to "
                "infinity).",
                ConvergenceWarning,
                stacklevel=5,
            )
        self.coef_, self.intercept_ = (
            move_to(a.astype(host_dtype), xp=xp, device=loss.device)
            for a in loss.unpack(loss.project(scale * result.x))
        )
        self.n_iter_ = int(result.nit)
        return self

    def _predict_proba(self, logits, *, xp):
        fitted_xp = array_api_compat.array_namespace(self.coef_)
        fitted_device = array_api_compat.device(self.coef_)
        _, device = get_namespace_and_device(logits, xp=xp)
        if fitted_xp.__name__ != xp.__name__ or fitted_device != device:
            raise ValueError(
                f"{type(self).__name__} was fitted on {fitted_xp.__name__} arrays "
                f"on device {fitted_device!r}, but X is a {xp.__name__} array on "
                f"device {device!r}. Pass X in the namespace and on the device used "
                "in fit (for example with skcalib.utils.move_to), or refit."
            )
        coef = xp.astype(self.coef_, logits.dtype)
        intercept = xp.astype(self.intercept_, logits.dtype)
        return softmax(_affine(logits, coef, intercept, xp=xp), axis=1, xp=xp)


_REG_PARAMETERS: dict = {
    "reg_lambda": [Interval(Real, 0, None, closed="left")],
    "reg_mu": [Interval(Real, 0, None, closed="left"), None],
}


class VectorScaling(_AffineSoftmaxCalibrator):
    """Vector scaling: probabilities are ``softmax(logits * w + b)``.

    One scale ``w_j`` and one offset ``b_j`` per class are fitted by minimising
    the (weighted) negative log-likelihood (Guo et al. 2017, "On Calibration of
    Modern Neural Networks"). It generalises
    :class:`~skcalib.calibration.TemperatureScaling` (``w = 1 / T``, ``b = 0``)
    and may change the predicted label.

    The model starts at the identity (``w = 1``, ``b = 0``, the uncalibrated
    probabilities) and is fitted by L-BFGS with the analytic gradient computed
    on the scores' device; only the ``2 k`` parameters, the loss and its
    gradient cross to the host per iteration.

    Parameters
    ----------
    max_iter : int, default=1000
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-6
        Stop when every entry of the gradient of the objective, each divided
        by the square root of a bound on the objective's curvature along that
        parameter (which makes ``tol`` independent of the scale of ``X``), is
        below ``tol`` in absolute value.

    Attributes
    ----------
    coef_ : array of shape (n_classes,)
        The per-class scales ``w``, in the namespace, device and floating dtype
        of ``X`` at fit.
    intercept_ : array of shape (n_classes,)
        The per-class offsets ``b``. Adding a constant to all of them leaves the
        probabilities unchanged; the fit starts at zero and its gradient sums to
        zero over the classes, so ``intercept_`` sums to zero (up to rounding).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for binary
        decision values).
    n_iter_ : int
        Number of L-BFGS iterations run.

    See Also
    --------
    TemperatureScaling : One shared scale, no offsets.
    MatrixScaling : A full matrix instead of per-class scales.

    Notes
    -----
    Binary decision values ``x`` of shape (n,) are read as the logits
    ``[0, x]``, so vector scaling reduces to Platt scaling
    ``sigmoid(w_1 x + b_1 - b_0)``. The fit computes in float64 where the
    device supports it (float32 otherwise), whatever the dtype of ``X``, so
    that L-BFGS sees a smooth objective; ``coef_``, ``intercept_`` and
    ``predict_proba`` keep the dtype of ``X``. Scores that separate the
    classes perfectly drive the scales to infinity: the fit then stops at
    ``max_iter`` with a :class:`~sklearn.exceptions.ConvergenceWarning`.

    References
    ----------
    .. [1] C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On Calibration of
       Modern Neural Networks", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.calibration import VectorScaling
    >>> from skcalib.datasets import make_classification_logits
    >>> logits, y = make_classification_logits(20000, 3, temperature=1.0,
    ...                                        random_state=0)
    >>> scales = np.array([2.0, 1.0, 0.5])
    >>> vs = VectorScaling().fit(logits * scales, y)
    >>> np.round(vs.coef_ * scales, 1)
    array([1., 1., 1.])
    >>> vs.predict_proba(logits[:2] * scales).shape
    (2, 3)
    """

    def __init__(self, *, max_iter=1000, tol=1e-6):
        self.max_iter = max_iter
        self.tol = tol

    def _model(self):
        return True, "odir", 0.0, 0.0


class MatrixScaling(_AffineSoftmaxCalibrator):
    """Matrix scaling: probabilities are ``softmax(logits W^T + b)``.

    A full ``k x k`` matrix ``W`` and ``k`` offsets ``b`` are fitted by
    minimising the (weighted) mean negative log-likelihood plus a penalty
    (Guo et al. 2017; the ODIR penalty is from Kull et al. 2019). Unpenalised,
    it is multinomial logistic regression on the logits and overfits small
    calibration sets when ``k`` is large; the penalty fixes that.

    With ``k`` classes and ``I`` the identity matrix, the objective is the
    weighted mean NLL plus

    - ``regularization="odir"`` (off-diagonal and intercept regularisation):
      ``reg_lambda / (k (k - 1)) * sum_{i != j} W_ij^2 + reg_mu / k *
      sum_j b_j^2``. The diagonal is free, so a large ``reg_lambda`` turns
      matrix scaling into vector scaling;
    - ``regularization="l2"``: ``reg_lambda / k^2 * ||W - I||_F^2 + reg_mu /
      k * sum_j b_j^2``, a ridge penalty centred on the identity, so large
      penalties return the uncalibrated ``softmax(logits)``.

    Each sum is divided by the number of entries it penalises, so the same
    ``reg_lambda`` means the same per-entry strength for any ``k``. The model
    starts at the identity (``W = I``, ``b = 0``) and is fitted by L-BFGS with
    the analytic gradient computed on the scores' device.

    Parameters
    ----------
    regularization : {"odir", "l2"}, default="odir"
        Penalty on ``W`` (see above).
    reg_lambda : float, default=0.0
        Strength of the penalty on ``W`` (>= 0). The default 0 is Guo et al.'s
        unregularised matrix scaling; tune it by cross-validation (Kull et al.
        search powers of ten), for example with
        :class:`~sklearn.model_selection.GridSearchCV` and
        ``scoring="neg_log_loss"``.
    reg_mu : float or None, default=None
        Strength of the penalty on the intercepts (>= 0); ``None`` uses
        ``reg_lambda``.
    max_iter : int, default=1000
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-6
        Stop when every entry of the gradient of the objective, each divided
        by the square root of a bound on the objective's curvature along that
        parameter (which makes ``tol`` independent of the scale of ``X``), is
        below ``tol`` in absolute value.

    Attributes
    ----------
    coef_ : array of shape (n_classes, n_classes)
        The matrix ``W``, in the namespace, device and floating dtype of ``X``
        at fit.
    intercept_ : array of shape (n_classes,)
        The offsets ``b``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for binary
        decision values).
    n_iter_ : int
        Number of L-BFGS iterations run.

    See Also
    --------
    VectorScaling : Diagonal ``W``.
    DirichletCalibration : The same model on log-probabilities.

    Notes
    -----
    Binary decision values ``x`` of shape (n,) are read as the logits
    ``[0, x]``; the first column of ``W`` then multiplies zeros and keeps its
    initial value. The fit computes in float64 where the device supports it
    (float32 otherwise), whatever the dtype of ``X``; ``coef_``,
    ``intercept_`` and ``predict_proba`` keep the dtype of ``X``.

    Adding the same constant ``c_l`` to every entry of column ``l`` of ``W``,
    or the same constant to every ``b_j``, shifts all logits of a sample
    equally and leaves the probabilities unchanged. Among these equivalent
    solutions the fit returns the one of least penalty (these directions are
    minimised in closed form, which also keeps L-BFGS well conditioned):
    ``intercept_`` sums to zero, and the columns of ``W - I`` sum to zero --
    only their off-diagonal entries with ``"odir"`` and ``reg_lambda > 0``.

    References
    ----------
    .. [1] C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On Calibration of
       Modern Neural Networks", ICML 2017.
    .. [2] M. Kull, M. Perello-Nieto, M. Kängsepp, T. Silva Filho, H. Song and
       P. Flach, "Beyond temperature scaling: Obtaining well-calibrated
       multiclass probabilities with Dirichlet calibration", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.calibration import MatrixScaling
    >>> from skcalib.datasets import make_classification_logits
    >>> logits, y = make_classification_logits(5000, 4, temperature=2.0,
    ...                                        random_state=0)
    >>> ms = MatrixScaling(reg_lambda=1e-2).fit(logits, y)
    >>> ms.coef_.shape, ms.intercept_.shape
    ((4, 4), (4,))
    >>> np.round(np.diag(ms.coef_), 1)  # about 1 / temperature
    array([0.5, 0.5, 0.5, 0.5])
    """

    _parameter_constraints: dict = {
        **_AffineSoftmaxCalibrator._parameter_constraints,
        **_REG_PARAMETERS,
        "regularization": [StrOptions({"odir", "l2"})],
    }

    def __init__(
        self,
        *,
        regularization="odir",
        reg_lambda=0.0,
        reg_mu=None,
        max_iter=1000,
        tol=1e-6,
    ):
        self.regularization = regularization
        self.reg_lambda = reg_lambda
        self.reg_mu = reg_mu
        self.max_iter = max_iter
        self.tol = tol

    def _model(self):
        reg_mu = self.reg_lambda if self.reg_mu is None else self.reg_mu
        return False, self.regularization, self.reg_lambda, reg_mu


class DirichletCalibration(_AffineSoftmaxCalibrator):
    """Dirichlet calibration: probabilities are ``softmax(ln(q) W^T + b)``.

    Kull et al. (2019) model the class-conditional distributions of the
    predicted probability vectors ``q`` as Dirichlet distributions; the
    resulting calibration map is multinomial logistic regression on the
    log-probabilities ``ln(q)``, fitted by minimising the (weighted) mean
    negative log-likelihood plus the ODIR penalty (off-diagonal and intercept
    regularisation)

    ``reg_lambda / (k (k - 1)) * sum_{i != j} W_ij^2 + reg_mu / k * sum_j b_j^2``

    for ``k`` classes. The model starts at the identity (``W = I``, ``b = 0``),
    where ``softmax(ln q) = q`` leaves the probabilities unchanged, and is
    fitted by L-BFGS with the analytic gradient computed on the device of
    ``X``. With two classes it is beta calibration (Kull et al. 2017).

    Parameters
    ----------
    matrix_type : {"full", "diagonal"}, default="full"
        Structure of ``W``. ``"diagonal"`` fits one exponent per class (it has
        no off-diagonal entries, so ``reg_lambda`` has no effect).
    reg_lambda : float, default=0.0
        Strength of the off-diagonal penalty (>= 0). The default 0 is the
        unregularised model (the default of the authors' ``dirichletcal``
        package); Kull et al. tune ``reg_lambda`` and ``reg_mu`` by
        cross-validation over powers of ten, for example with
        :class:`~sklearn.model_selection.GridSearchCV` and
        ``scoring="neg_log_loss"``.
    reg_mu : float or None, default=None
        Strength of the intercept penalty (>= 0); ``None`` uses
        ``reg_lambda``.
    max_iter : int, default=1000
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-6
        Stop when every entry of the gradient of the objective is below
        ``tol`` in absolute value.

    Attributes
    ----------
    coef_ : array of shape (n_classes, n_classes) or (n_classes,)
        The matrix ``W`` (its diagonal for ``matrix_type="diagonal"``), in the
        namespace, device and floating dtype of ``X`` at fit.
    intercept_ : array of shape (n_classes,)
        The offsets ``b``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for the
        positive-class probabilities of a binary problem).
    n_iter_ : int
        Number of L-BFGS iterations run.

    See Also
    --------
    MatrixScaling : The same model on logits.

    Notes
    -----
    ``X`` holds probabilities: rows of shape (n, k) summing to one, or, for
    two classes, the probability ``p`` of the second class (``classes_[1]``)
    of shape (n,) or (n, 1), read as ``[1 - p, p]``. Logits passed by mistake
    raise a ``ValueError``. Before the logarithm, probabilities are clipped
    below at the smallest positive normal number of their dtype (about
    ``2.2e-308`` in float64, ``1.2e-38`` in float32), as the reference
    implementation does, so that zero probabilities give large negative but
    finite features. The fit computes in float64 where the device supports
    it (float32 otherwise), whatever the dtype of ``X``; ``coef_``,
    ``intercept_`` and ``predict_proba`` keep the dtype of ``X``.

    Adding the same constant to every ``b_j``, or (full ``W``) the same
    constant ``c_l`` to every entry of column ``l`` of ``W``, shifts all
    logits of a sample equally and leaves the probabilities unchanged. Among
    these equivalent solutions the fit returns the one of least penalty
    (these directions are minimised in closed form, which also keeps L-BFGS
    well conditioned): ``intercept_`` sums to zero, and the columns of a full
    ``W - I`` sum to zero -- only their off-diagonal entries when
    ``reg_lambda > 0``.

    References
    ----------
    .. [1] M. Kull, M. Perello-Nieto, M. Kängsepp, T. Silva Filho, H. Song and
       P. Flach, "Beyond temperature scaling: Obtaining well-calibrated
       multiclass probabilities with Dirichlet calibration", NeurIPS 2019.
    .. [2] M. Kull, T. Silva Filho and P. Flach, "Beta calibration: a
       well-founded and easily implemented improvement on logistic calibration
       for binary classifiers", AISTATS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.calibration import DirichletCalibration
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.utils._array_api import softmax
    >>> logits, y = make_classification_logits(5000, 3, temperature=2.0,
    ...                                        random_state=0)
    >>> proba = softmax(logits)
    >>> dc = DirichletCalibration(reg_lambda=1e-3).fit(proba, y)
    >>> dc.coef_.shape
    (3, 3)
    >>> np.round(np.diag(dc.coef_), 1)  # about 1 / temperature
    array([0.5, 0.5, 0.5])
    >>> proba[:1].round(2)  # overconfident
    array([[0.97, 0.03, 0.  ]])
    >>> dc.predict_proba(proba[:1]).round(2)  # true: softmax(logits / 2)
    array([[0.86, 0.13, 0.01]])
    >>> softmax(logits[:1] / 2.0).round(2)
    array([[0.84, 0.15, 0.01]])
    """

    _skcalib_input_kind = "probabilities"
    _parameter_constraints: dict = {
        **_AffineSoftmaxCalibrator._parameter_constraints,
        **_REG_PARAMETERS,
        "matrix_type": [StrOptions({"full", "diagonal"})],
    }

    def __init__(
        self,
        *,
        matrix_type="full",
        reg_lambda=0.0,
        reg_mu=None,
        max_iter=1000,
        tol=1e-6,
    ):
        self.matrix_type = matrix_type
        self.reg_lambda = reg_lambda
        self.reg_mu = reg_mu
        self.max_iter = max_iter
        self.tol = tol

    def _model(self):
        reg_mu = self.reg_lambda if self.reg_mu is None else self.reg_mu
        return self.matrix_type == "diagonal", "odir", self.reg_lambda, reg_mu

    def _to_logits(self, X, *, xp):
        """Probabilities ``(n, k)`` (or ``(n,)`` binary) to ``ln(q)``.

        The base class has already checked that they are probabilities.
        """
        n_classes = self.classes_.shape[0]
        if X.ndim == 2 and X.shape[1] == 1:
            X = xp.reshape(X, (-1,))
        if X.ndim == 1:
            if n_classes != 2:
                raise ValueError(
                    "X holds one probability per sample (the positive class of a "
                    f"binary problem), but y has {n_classes} classes; pass "
                    f"probabilities of shape (n_samples, {n_classes})."
                )
            X = xp.stack([1.0 - X, X], axis=1)
        elif X.shape[1] != n_classes:
            raise ValueError(
                f"X must hold one probability per class: it has {X.shape[1]} "
                f"columns but y has {n_classes} classes "
                f"{self.classes_.tolist()[:10]}."
            )
        return xp.log(xp.clip(X, min=xp.finfo(X.dtype).smallest_normal))
